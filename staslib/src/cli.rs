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

/// Subcommands `stafctl` and `stacctl` share (upstream defines the first four twice; the
/// others are ours).
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
    /// Show per-controller statistics (typed Controllers1 interface)
    Stats,
    /// Add a controller at run time (root only)
    Add(AddArgs),
    /// Remove a controller added at run time (root only)
    Remove(ControllerArgs),
    /// Print the daemons' signals as they happen, one line each
    Monitor(MonitorArgs),
    /// Print a shell completion script (bash, zsh, fish) on stdout
    #[command(hide = true)]
    Completions(CompletionsArgs),
}

impl CtlCommand {
    /// The subcommand's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            CtlCommand::Tron => "tron",
            CtlCommand::Troff => "troff",
            CtlCommand::Status => "status",
            CtlCommand::Ls(_) => "ls",
            CtlCommand::Stats => "stats",
            CtlCommand::Add(_) => "add",
            CtlCommand::Remove(_) => "remove",
            CtlCommand::Monitor(_) => "monitor",
            CtlCommand::Completions(_) => "completions",
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

/// The transports a controller identity accepts (argparse `choices` of `stafctl dlp`).
pub const TRANSPORTS: [&str; 4] = ["tcp", "rdma", "fc", "loop"];

/// A controller's identity on the command line (`add`, `remove`), options as `stafctl dlp`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ControllerArgs {
    /// NVMe-over-Fabrics fabric type
    #[arg(
        short = 't',
        long = "transport",
        value_name = "trtype",
        value_parser = TRANSPORTS,
        default_value = "tcp"
    )]
    pub transport: String,
    /// Controller's network address
    #[arg(
        short = 'a',
        long = "traddr",
        value_name = "traddr",
        required = true,
        allow_negative_numbers = true
    )]
    pub traddr: String,
    /// Transport service id [default: the daemon's (8009 for stafd, 4420 for stacd with tcp)]
    #[arg(
        short = 's',
        long = "trsvcid",
        value_name = "trsvcid",
        default_value = "",
        hide_default_value = true,
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
    /// Network interface used on the host to connect to the Controller
    #[arg(
        short = 'f',
        long = "host-iface",
        value_name = "iface",
        default_value = "",
        allow_negative_numbers = true
    )]
    pub host_iface: String,
    /// Host NQN [default: the host NQN configured in sys.conf]
    #[arg(
        short = 'q',
        long = "host-nqn",
        // nvme-stas 3.x's stafctl spells it --hostnqn.
        visible_alias = "hostnqn",
        value_name = "nqn",
        allow_negative_numbers = true
    )]
    pub host_nqn: Option<String>,
    /// Subsystem NQN [stafctl: default nqn.2014-08.org.nvmexpress.discovery; stacctl: required]
    #[arg(
        short = 'n',
        long = "nqn",
        value_name = "nqn",
        allow_negative_numbers = true
    )]
    pub nqn: Option<String>,
}

/// `add`: the identity plus further `controller=` keys.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct AddArgs {
    /// The controller's identity.
    #[command(flatten)]
    pub id: ControllerArgs,
    /// Another key of a controller= line (e.g. dhchap-secret=..., kato=30); repeatable
    #[arg(short = 'o', long = "option", value_name = "key=value")]
    pub options: Vec<String>,
}

/// `monitor`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorArgs {
    /// Exit after this many events (default: run until interrupted)
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
}

/// `completions`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
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
