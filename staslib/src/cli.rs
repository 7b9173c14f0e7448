//! Command-line plumbing shared by the five programs.

/// Parses `args` (including `argv[0]`) with `cmd`, an already customised clap command
/// (argparse-style usage line, per-program defaults). Errors exit with status 2 through
/// [`clap::Error::exit`], as argparse does.
pub fn try_parse_with<C, I, T>(mut cmd: clap::Command, args: I) -> Result<C, clap::Error>
where
    C: clap::FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = cmd.try_get_matches_from_mut(args)?;
    C::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// The start shared by the subcommand tools (`stafctl`, `stacctl`, `stasadm`): `-v` prints
/// the version and exits 0 whatever follows; no subcommand prints argparse's usage line on
/// stdout and exits 1. `Ok` carries the subcommand to run.
pub fn version_or_command<'a, C>(
    version: bool,
    command: Option<&'a C>,
    usage: &str,
) -> Result<&'a C, std::process::ExitCode> {
    if version {
        println!("{}", crate::version_line());
        return Err(std::process::ExitCode::SUCCESS);
    }
    command.ok_or_else(|| {
        println!("usage: {usage}");
        std::process::ExitCode::FAILURE
    })
}

/// What a subcommand whose D-Bus client is not built yet does: say so and fail.
pub fn not_implemented(prog: &str, subcommand: &str) -> std::process::ExitCode {
    eprintln!("{prog}: {subcommand} is not implemented in this build yet");
    std::process::ExitCode::FAILURE
}

/// Subcommands `stafctl` and `stacctl` share (upstream defines them twice).
#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum CtlCommand {
    /// Trace ON
    Tron,
    /// Trace OFF
    Troff,
    /// Show runtime status information
    Status,
    /// List controllers
    Ls(DetailedArgs),
}

impl CtlCommand {
    /// The subcommand's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            CtlCommand::Tron => "tron",
            CtlCommand::Troff => "troff",
            CtlCommand::Status => "status",
            CtlCommand::Ls(_) => "ls",
        }
    }
}

/// `-d/--detailed` of `ls` (and `stafctl adlp`).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailedArgs {
    /// Print detailed info
    #[arg(short = 'd', long = "detailed")]
    pub detailed: bool,
}

/// A program whose command line imitates an argparse parser: clap parses it, argparse's
/// usage line is shown, and a bad command line exits with status 2.
pub trait ArgparseTool: clap::Parser {
    /// Name used in messages when `argv[0]` has no usable file name.
    const PROG: &'static str;

    /// The argparse usage text (without its `usage: ` prefix) for program name `prog`.
    fn usage(prog: &str) -> String;

    /// The clap command, with the argparse-style usage line.
    fn argparse_command(prog: &str) -> clap::Command {
        <Self as clap::CommandFactory>::command().override_usage(Self::usage(prog))
    }

    /// Parses `args` (including `argv[0]`).
    fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        try_parse_with(Self::argparse_command(&crate::prog_name(Self::PROG)), args)
    }

    /// Parses the process's own command line; prints usage and exits with status 2 on error.
    fn parse_args() -> Self {
        Self::try_parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }
}
