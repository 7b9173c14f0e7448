//! `stacctl`'s command line, parsed as upstream's argparse parser
//! (`stacctl [-h] [-v] {tron,troff,status,ls} ...`), plus our subcommands and output options.

use clap::Parser;
use staslib::cli::ArgparseTool;
use staslib::ctl::OutputArgs;

/// Name used in messages when `argv[0]` has no usable file name.
pub const PROG: &str = "stacctl";

/// The command line of `stacctl` (upstream `stacctl.py`).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    name = "stacctl",
    about = "STorage Appliance Connector (STAC)",
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

/// `stacctl`'s subcommands: those it shares with `stafctl`.
pub use staslib::cli::{CtlCommand as Command, DetailedArgs};

impl ArgparseTool for Cli {
    const PROG: &'static str = PROG;

    /// The argparse usage text (without its `usage: ` prefix), wrapped as argparse wraps it.
    fn usage(prog: &str) -> String {
        staslib::argparse_usage(prog, &["[-h]", "[-v]"], &["{tron,troff,status,ls}", "..."])
    }

    /// As the default, but an I/O controller's `-n/--nqn` has no default: `add` and
    /// `remove` require it.
    fn argparse_command(prog: &str) -> clap::Command {
        let require_nqn = |s: clap::Command| s.mut_arg("nqn", |a| a.required(true));
        <Self as clap::CommandFactory>::command()
            .override_usage(Self::usage(prog))
            .mut_subcommand("add", require_nqn)
            .mut_subcommand("remove", require_nqn)
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

    #[test]
    fn clap_definition_is_consistent() {
        Cli::argparse_command(PROG).debug_assert();
    }

    #[test]
    fn subcommands() {
        assert_eq!(parse(&[]).unwrap().command, None);
        assert_eq!(parse(&["tron"]).unwrap().command, Some(Command::Tron));
        assert_eq!(parse(&["troff"]).unwrap().command, Some(Command::Troff));
        assert_eq!(parse(&["status"]).unwrap().command, Some(Command::Status));
        assert_eq!(
            parse(&["ls"]).unwrap().command,
            Some(Command::Ls(DetailedArgs { detailed: false }))
        );
        assert_eq!(
            parse(&["ls", "--d", "-d"]).unwrap().command,
            Some(Command::Ls(DetailedArgs { detailed: true }))
        );
        let cli = parse(&["--v", "ls"]).unwrap();
        assert!(cli.version);
        for name in ["tron", "troff", "status", "ls"] {
            assert_eq!(parse(&[name]).unwrap().command.unwrap().name(), name);
        }
    }

    #[test]
    fn bad_command_lines_exit_2() {
        for args in [
            &["--bogus"][..],
            &["dlp"],
            &["adlp"],
            &["help"],
            &["sta"],
            &["ls", "-v"],
            &["ls", "--detailed=yes"],
            &["-V"],
        ] {
            assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }
}
