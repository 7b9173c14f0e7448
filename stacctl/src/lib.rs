//! `stacctl`, the STorage Appliance Connector control utility.
//!
//! Only the command line exists so far. It is parsed exactly as upstream's argparse parser
//! (`stacctl [-h] [-v] {tron,troff,status,ls} ...`) and `-v/--version` works; the D-Bus client
//! behind the subcommands is not built yet, so [`run`] fails loudly for them.

use std::process::ExitCode;

use clap::Parser;
use staslib::cli::ArgparseTool;

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
    subcommand_help_heading = "Commands"
)]
pub struct Cli {
    /// Print version, then exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

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
}

/// Parses the process's own command line; prints usage and exits with status 2 on error.
pub fn parse() -> Cli {
    Cli::parse_args()
}

/// Runs `stacctl` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    let prog = staslib::prog_name(PROG);
    match staslib::cli::version_or_command(cli.version, cli.command.as_ref(), &Cli::usage(&prog)) {
        Ok(command) => staslib::cli::not_implemented(&prog, command.name()),
        Err(code) => code,
    }
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
