//! `stafd`, the STorage Appliance Finder daemon.
//!
//! Only the command line exists so far: it is parsed exactly as upstream's argparse parser
//! (`stafd [-h] [-f FILE] [-s] [--tron] [-v]`), `-v/--version` works, and the upstream
//! start-up checks run. The daemon itself is not built yet, so [`run`] then fails loudly.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

/// Name used in messages when `argv[0]` has no usable file name.
pub const PROG: &str = "stafd";

/// The command line of `stafd` (upstream `stafd.py: parse_args()`).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    name = "stafd",
    about = "STorage Appliance Finder (STAF). Must be root to run this program.",
    disable_version_flag = true,
    infer_long_args = true,
    args_override_self = true
)]
pub struct Cli {
    /// Configuration file
    #[arg(
        short = 'f',
        long = "conf-file",
        value_name = "FILE",
        default_value = staslib::STAFD_CONF_FILE,
        value_parser = path_value_parser(),
        allow_negative_numbers = true
    )]
    pub conf_file: PathBuf,

    /// Send messages to syslog instead of stdout. Use this when running stafd as a daemon.
    #[arg(short = 's', long = "syslog")]
    pub syslog: bool,

    /// Trace ON.
    #[arg(long = "tron")]
    pub tron: bool,

    /// Print version, then exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,
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
        &["[-h]", "[-f FILE]", "[-s]", "[--tron]", "[-v]"],
        &[],
    )
}

/// The clap command, with the argparse-style usage line.
pub fn command(prog: &str) -> clap::Command {
    Cli::command().override_usage(usage(prog))
}

/// Parses `args` (including `argv[0]`); on a bad command line the error exits with status 2
/// when [`clap::Error::exit`] is called, as argparse does.
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

/// The two `-v/--version` lines.
pub fn version_text() -> String {
    format!(
        "{}\n{}\n",
        staslib::version_line(),
        staslib::libnvme_version_line()
    )
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

/// Runs `stafd` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    if cli.version {
        print!("{}", version_text());
        return ExitCode::SUCCESS;
    }

    let prog = staslib::prog_name(PROG);
    let fabrics = std::path::Path::new(staslib::NVME_FABRICS_DEV).exists();
    if let Err(msg) = staslib::check_if_allowed_to_continue(&prog, effective_uid(), fabrics) {
        eprintln!("{msg}");
        return ExitCode::FAILURE;
    }

    eprintln!("{prog}: the daemon is not implemented in this build yet");
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
        let cli = parse(&[]).unwrap();
        assert_eq!(
            cli,
            Cli {
                conf_file: PathBuf::from("/etc/stas/stafd.conf"),
                syslog: false,
                tron: false,
                version: false,
            }
        );
    }

    #[test]
    fn all_options() {
        let cli = parse(&["-f", "/tmp/x.conf", "-s", "--tron", "-v"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/tmp/x.conf"));
        assert!(cli.syslog && cli.tron && cli.version);
        let cli = parse(&["--conf-file=/a", "--syslog"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/a"));
        assert!(cli.syslog);
        let cli = parse(&["-sv", "-f/b"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/b"));
        assert!(cli.syslog && cli.version);
    }

    #[test]
    fn values_are_taken_as_argparse_takes_them() {
        for (args, file) in [
            (&["-f=x"][..], "x"),
            (&["-fx"], "x"),
            (&["-sfx"], "x"),
            (&["--conf=x"], "x"),
            (&["-f", "-1"], "-1"),
            (&["-f", ""], ""),
        ] {
            assert_eq!(
                parse(args).unwrap().conf_file,
                PathBuf::from(file),
                "{args:?}"
            );
        }
    }

    #[test]
    fn abbreviations_and_repeats() {
        let cli = parse(&["--conf", "/c", "--sys", "--tr", "--vers"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/c"));
        assert!(cli.syslog && cli.tron && cli.version);
        // argparse lets the last occurrence win.
        let cli = parse(&["-f", "/1", "-f", "/2", "--tron", "--tron"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/2"));
    }

    #[test]
    fn bad_command_lines_exit_2() {
        for args in [
            &["--bogus"][..],
            &["-f"],
            &["extra"],
            &["--tron=1"],
            &["-V"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn version_text_has_two_lines() {
        let text = version_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("nvme-stas "));
        assert!(lines[1].starts_with("libnvme-rs "));
    }
}
