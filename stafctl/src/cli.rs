//! `stafctl`'s command line, parsed as upstream's argparse parser
//! (`stafctl [-h] [-v] {tron,troff,status,ls,dlp,adlp} ...`), plus our subcommands and
//! output options.

use clap::{Args, Parser, Subcommand};
use staslib::cli::ArgparseTool;
use staslib::ctl::OutputArgs;

/// Name used in messages when `argv[0]` has no usable file name.
pub const PROG: &str = "stafctl";

/// The transports `dlp -t/--transport` accepts (argparse `choices`).
pub use staslib::cli::TRANSPORTS;

/// The command line of `stafctl` (upstream `stafctl.py`).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    name = "stafctl",
    about = "STorage Appliance Finder (STAF)",
    disable_version_flag = true,
    disable_help_subcommand = true,
    infer_long_args = true,
    args_override_self = true,
    subcommand_help_heading = "Commands",
    after_help = staslib::ctl::error::EXIT_STATUS_HELP
)]
pub struct Cli {
    /// Print version, then exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// `--json` / `--pprint`.
    #[command(flatten)]
    pub output: OutputArgs,

    /// The subcommand; upstream does not require one (it then prints the usage and exits 1).
    #[command(subcommand)]
    pub command: Option<Command>,
}

pub use staslib::cli::{CtlCommand, DetailedArgs};

/// `stafctl`'s subcommands: the ones shared with `stacctl`, then the log page queries.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    #[command(flatten)]
    Common(CtlCommand),
    /// Show discovery log pages
    Dlp(DlpArgs),
    /// Show all discovery log pages
    Adlp(DetailedArgs),
}

impl Command {
    /// The subcommand's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Common(c) => c.name(),
            Command::Dlp(_) => "dlp",
            Command::Adlp(_) => "adlp",
        }
    }
}

/// Options of `dlp`: the identity of the discovery controller whose log pages are wanted.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DlpArgs {
    /// NVMe-over-Fabrics fabric type
    #[arg(
        short = 't',
        long = "transport",
        value_name = "trtype",
        value_parser = TRANSPORTS,
        default_value = "tcp"
    )]
    pub transport: String,

    /// Discovery Controller's network address
    #[arg(
        short = 'a',
        long = "traddr",
        value_name = "traddr",
        required = true,
        allow_negative_numbers = true
    )]
    pub traddr: String,

    /// Transport service id (for IP addressing, e.g. tcp, rdma, this field is the port number)
    #[arg(
        short = 's',
        long = "trsvcid",
        value_name = "trsvcid",
        required = true,
        allow_negative_numbers = true
    )]
    pub trsvcid: String,

    /// Network address used on the host to connect to the Controller
    #[arg(
        short = 'w',
        long = "host-traddr",
        value_name = "traddr",
        default_value = "",
        allow_negative_numbers = true
    )]
    pub host_traddr: String,

    /// This field specifies the network interface used on the host to connect to the Controller
    #[arg(
        short = 'f',
        long = "host-iface",
        value_name = "iface",
        default_value = "",
        allow_negative_numbers = true
    )]
    pub host_iface: String,

    // `None` means "not given": upstream's default is the system host NQN (sys.conf, else
    // /etc/nvme/hostnqn), which the command resolves when it runs.
    /// This field specifies the host NQN [default: the host NQN configured in sys.conf]
    #[arg(
        short = 'q',
        long = "host-nqn",
        // nvme-stas 3.x spells it --hostnqn.
        visible_alias = "hostnqn",
        value_name = "nqn",
        allow_negative_numbers = true
    )]
    pub host_nqn: Option<String>,

    /// This field specifies the discovery controller's NQN
    #[arg(
        short = 'n',
        long = "nqn",
        value_name = "nqn",
        default_value = staslib::WELL_KNOWN_DISC_NQN,
        allow_negative_numbers = true
    )]
    pub nqn: String,
}

impl ArgparseTool for Cli {
    const PROG: &'static str = PROG;

    /// The argparse usage text (without its `usage: ` prefix), wrapped as argparse wraps it.
    fn usage(prog: &str) -> String {
        staslib::argparse_usage(
            prog,
            &["[-h]", "[-v]"],
            &["{tron,troff,status,ls,dlp,adlp}", "..."],
        )
    }
}

/// Parses the process's own command line; prints usage and exits with status 2 on error.
pub fn parse() -> Cli {
    Cli::parse_args()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_args(std::iter::once(PROG).chain(args.iter().copied()))
    }

    fn dlp(args: &[&str]) -> Result<DlpArgs, clap::Error> {
        let mut full = vec!["dlp"];
        full.extend_from_slice(args);
        match parse(&full)?.command {
            Some(Command::Dlp(dlp)) => Ok(dlp),
            other => panic!("not dlp: {other:?}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::argparse_command(PROG).debug_assert();
    }

    #[test]
    fn subcommands() {
        assert_eq!(parse(&[]).unwrap().command, None);
        assert_eq!(
            parse(&["tron"]).unwrap().command,
            Some(Command::Common(CtlCommand::Tron))
        );
        assert_eq!(
            parse(&["troff"]).unwrap().command,
            Some(Command::Common(CtlCommand::Troff))
        );
        assert_eq!(
            parse(&["status"]).unwrap().command,
            Some(Command::Common(CtlCommand::Status))
        );
        assert_eq!(
            parse(&["ls"]).unwrap().command,
            Some(Command::Common(CtlCommand::Ls(DetailedArgs {
                detailed: false
            })))
        );
        assert_eq!(
            parse(&["ls", "--det"]).unwrap().command,
            Some(Command::Common(CtlCommand::Ls(DetailedArgs {
                detailed: true
            })))
        );
        assert_eq!(
            parse(&["adlp", "-d", "-d"]).unwrap().command,
            Some(Command::Adlp(DetailedArgs { detailed: true }))
        );
        let cli = parse(&["-v", "tron"]).unwrap();
        assert!(cli.version);
        for name in ["tron", "troff", "status", "ls", "dlp", "adlp"] {
            let args: &[&str] = if name == "dlp" {
                &["dlp", "-a", "x", "-s", "1"]
            } else {
                &[name]
            };
            assert_eq!(parse(args).unwrap().command.unwrap().name(), name);
        }
    }

    #[test]
    fn dlp_defaults() {
        assert_eq!(
            dlp(&["-a", "1.2.3.4", "-s", "8009"]).unwrap(),
            DlpArgs {
                transport: "tcp".into(),
                traddr: "1.2.3.4".into(),
                trsvcid: "8009".into(),
                host_traddr: String::new(),
                host_iface: String::new(),
                host_nqn: None,
                nqn: "nqn.2014-08.org.nvmexpress.discovery".into(),
            }
        );
    }

    #[test]
    fn dlp_all_options() {
        let args = dlp(&[
            "-t", "rdma", "-a", "a", "-s", "s", "-w", "w", "-f", "f", "-q", "q", "-n", "n",
        ])
        .unwrap();
        assert_eq!(
            args,
            DlpArgs {
                transport: "rdma".into(),
                traddr: "a".into(),
                trsvcid: "s".into(),
                host_traddr: "w".into(),
                host_iface: "f".into(),
                host_nqn: Some("q".into()),
                nqn: "n".into(),
            }
        );
        let long = dlp(&[
            "--transport=fc",
            "--traddr=a",
            "--trsvcid",
            "s",
            "--host-traddr",
            "w",
            "--host-iface=f",
            "--host-nqn",
            "q",
            "--nqn",
            "n",
        ])
        .unwrap();
        assert_eq!(
            long,
            DlpArgs {
                transport: "fc".into(),
                ..args
            }
        );
    }

    #[test]
    fn dlp_abbreviations_follow_argparse() {
        let args = dlp(&[
            "--tradd", "1.2.3.4", "--trs", "8009", "--n", "x", "--host-i", "e",
        ])
        .unwrap();
        assert_eq!(args.traddr, "1.2.3.4");
        assert_eq!(args.trsvcid, "8009");
        assert_eq!(args.nqn, "x");
        assert_eq!(args.host_iface, "e");
        // Ambiguous prefixes are errors in argparse too (--tra: --transport or --traddr).
        for bad in [
            &["--tra", "1", "-s", "1"][..],
            &["-a", "1", "-s", "1", "--host", "x"],
        ] {
            assert_eq!(dlp(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn dlp_values_are_taken_as_argparse_takes_them() {
        let args = dlp(&["-a", "-1.5", "-s2", "-tfc", "-q", ""]).unwrap();
        assert_eq!(args.traddr, "-1.5");
        assert_eq!(args.trsvcid, "2");
        assert_eq!(args.transport, "fc");
        assert_eq!(args.host_nqn.as_deref(), Some(""));
    }

    #[test]
    fn dlp_requires_traddr_and_trsvcid() {
        for args in [&[][..], &["-a", "1"], &["-s", "1"]] {
            assert_eq!(dlp(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn dlp_transport_choices() {
        for t in TRANSPORTS {
            assert_eq!(dlp(&["-a", "1", "-s", "1", "-t", t]).unwrap().transport, t);
        }
        for t in ["TCP", "udp", "", "tc"] {
            assert_eq!(
                dlp(&["-a", "1", "-s", "1", "-t", t])
                    .unwrap_err()
                    .exit_code(),
                2,
                "{t:?}"
            );
        }
    }

    #[test]
    fn bad_command_lines_exit_2() {
        for args in [
            &["--bogus"][..],
            &["bogus"],
            &["help"],
            &["st"],
            &["ls", "-v"],
            &["tron", "extra"],
            &["-V"],
        ] {
            assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }
}
