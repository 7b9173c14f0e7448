//! `stasadm`, the configuration utility for STAS (host NQN, host ID, symbolic name).
//!
//! Only the command line exists so far. It is parsed exactly as upstream's argparse parser
//! (`stasadm [-h] [-v] [-c FILE] {hostnqn,hostid,set-symname,clear-symname} ...`) and
//! `-v/--version` works; the subcommands are not built yet, so [`run`] fails loudly for them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Name used in messages when `argv[0]` has no usable file name.
pub const PROG: &str = "stasadm";

/// The command line of `stasadm` (upstream `stasadm.py: get_parser()`).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    name = "stasadm",
    about = "Configuration utility for STAS.",
    disable_version_flag = true,
    disable_help_subcommand = true,
    infer_long_args = true,
    args_override_self = true,
    subcommand_help_heading = "Commands"
)]
pub struct Cli {
    /// Print version, then exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// Configuration file. It must be given before the subcommand.
    #[arg(
        short = 'c',
        long = "conf-file",
        value_name = "FILE",
        default_value = staslib::SYS_CONF_FILE,
        value_parser = path_value_parser(),
        allow_negative_numbers = true
    )]
    pub conf_file: PathBuf,

    /// The subcommand; upstream does not require one (it then prints the usage and exits 1).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `stasadm`'s subcommands.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Configure the host NQN. The NQN is auto-generated.
    Hostnqn(FileArgs),
    /// Configure the host ID. The ID is auto-generated.
    Hostid(FileArgs),
    /// Set the host symbolic name
    SetSymname(SetSymnameArgs),
    /// Clear the host symbolic name
    ClearSymname,
}

impl Command {
    /// The subcommand's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hostnqn(_) => "hostnqn",
            Command::Hostid(_) => "hostid",
            Command::SetSymname(_) => "set-symname",
            Command::ClearSymname => "clear-symname",
        }
    }
}

/// Options of `hostnqn` and `hostid`.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct FileArgs {
    // Upstream treats an empty FILE (`-f ''`) as not given.
    /// Optional file where to save the value.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        value_parser = path_value_parser(),
        allow_negative_numbers = true
    )]
    pub file: Option<PathBuf>,
}

/// Arguments of `set-symname`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct SetSymnameArgs {
    // Upstream treats an empty FILE (`-f ''`) as not given.
    /// Optional file where to save the symbolic name.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        value_parser = path_value_parser(),
        allow_negative_numbers = true
    )]
    pub file: Option<PathBuf>,

    /// Symbolic name
    #[arg(value_name = "SYMNAME", allow_negative_numbers = true)]
    pub symname: String,
}

/// File arguments are taken verbatim, as argparse's `type=str` does: an empty value is
/// accepted (clap's default `PathBuf` parser rejects it).
fn path_value_parser() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

/// The argparse usage text (without its `usage: ` prefix), wrapped as argparse wraps it.
pub fn usage(prog: &str) -> String {
    staslib::argparse_usage(
        prog,
        &["[-h]", "[-v]", "[-c FILE]"],
        &["{hostnqn,hostid,set-symname,clear-symname}", "..."],
    )
}

/// The clap command, with the argparse-style usage line.
pub fn command(prog: &str) -> clap::Command {
    Cli::command().override_usage(usage(prog))
}

/// Parses `args` (including `argv[0]`). Errors exit with status 2 through
/// [`clap::Error::exit`], as argparse does.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command(&staslib::prog_name(PROG));
    let matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// Parses the process's own command line; prints usage and exits with status 2 on error.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// Runs `stasadm` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    if cli.version {
        println!("{}", staslib::version_line());
        return ExitCode::SUCCESS;
    }
    let prog = staslib::prog_name(PROG);
    let Some(command) = &cli.command else {
        println!("usage: {}", usage(&prog));
        return ExitCode::FAILURE;
    };
    eprintln!(
        "{prog}: {} is not implemented in this build yet",
        command.name()
    );
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        try_parse_from(std::iter::once(PROG).chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        command(PROG).debug_assert();
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]).unwrap(),
            Cli {
                version: false,
                conf_file: PathBuf::from("/etc/stas/sys.conf"),
                command: None,
            }
        );
    }

    #[test]
    fn subcommands() {
        let cli = parse(&["-c", "/tmp/sys.conf", "hostnqn", "-f", "/tmp/hostnqn"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/tmp/sys.conf"));
        assert_eq!(
            cli.command,
            Some(Command::Hostnqn(FileArgs {
                file: Some("/tmp/hostnqn".into())
            }))
        );
        assert_eq!(
            parse(&["hostid"]).unwrap().command,
            Some(Command::Hostid(FileArgs { file: None }))
        );
        assert_eq!(
            parse(&["--conf", "/x", "hostid", "--fi", "/y"])
                .unwrap()
                .command,
            Some(Command::Hostid(FileArgs {
                file: Some("/y".into())
            }))
        );
        assert_eq!(
            parse(&["set-symname", "Luke Sky"]).unwrap().command,
            Some(Command::SetSymname(SetSymnameArgs {
                file: None,
                symname: "Luke Sky".into()
            }))
        );
        assert_eq!(
            parse(&["set-symname", "x", "-f", "/f"]).unwrap().command,
            Some(Command::SetSymname(SetSymnameArgs {
                file: Some("/f".into()),
                symname: "x".into()
            }))
        );
        assert_eq!(
            parse(&["set-symname", "--", "-dash"]).unwrap().command,
            Some(Command::SetSymname(SetSymnameArgs {
                file: None,
                symname: "-dash".into()
            }))
        );
        assert_eq!(
            parse(&["clear-symname"]).unwrap().command,
            Some(Command::ClearSymname)
        );
        // The last -c wins, as in argparse.
        let cli = parse(&["-c", "/1", "-c", "/2", "clear-symname"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/2"));
        for (args, name) in [
            (&["hostnqn"][..], "hostnqn"),
            (&["hostid"], "hostid"),
            (&["set-symname", "s"], "set-symname"),
            (&["clear-symname"], "clear-symname"),
        ] {
            assert_eq!(parse(args).unwrap().command.unwrap().name(), name);
        }
    }

    #[test]
    fn values_are_taken_as_argparse_takes_them() {
        assert_eq!(
            parse(&["-c", "", "set-symname", "-f", "", "-1"]).unwrap(),
            Cli {
                version: false,
                conf_file: PathBuf::new(),
                command: Some(Command::SetSymname(SetSymnameArgs {
                    file: Some(PathBuf::new()),
                    symname: "-1".into()
                })),
            }
        );
        assert_eq!(
            parse(&["-cx", "hostid", "-f-2"]).unwrap(),
            Cli {
                version: false,
                conf_file: PathBuf::from("x"),
                command: Some(Command::Hostid(FileArgs {
                    file: Some("-2".into())
                })),
            }
        );
    }

    #[test]
    fn bad_command_lines_exit_2() {
        for args in [
            &["--bogus"][..],
            &["-c"],
            &["hostnqn", "-c", "/x"],
            &["set-symname"],
            &["set-symname", "a", "b"],
            &["clear-symname", "-f", "/x"],
            &["host"],
            &["help"],
            &["-V"],
        ] {
            assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }
}
