//! The command line shared by `stafd` and `stacd`: upstream's argparse parser
//! (`[-h] [-f FILE] [-s] [--tron] [-v]`) plus our `--check-config [FILE]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::conf::options::Daemon;

/// What differs between the two daemons' command lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonSpec {
    /// Name used when `argv[0]` has no usable file name.
    pub prog: &'static str,
    pub about: &'static str,
    pub default_conf: &'static str,
    pub daemon: Daemon,
}

pub const STAFD: DaemonSpec = DaemonSpec {
    prog: "stafd",
    about: "STorage Appliance Finder (STAF). Must be root to run this program.",
    default_conf: crate::STAFD_CONF_FILE,
    daemon: Daemon::Stafd,
};

pub const STACD: DaemonSpec = DaemonSpec {
    prog: "stacd",
    about: "STorage Appliance Connector (STAC). Must be root to run this program.",
    default_conf: crate::STACD_CONF_FILE,
    daemon: Daemon::Stacd,
};

/// A parsed daemon command line (upstream `stafd.py`/`stacd.py: parse_args()`).
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    disable_version_flag = true,
    infer_long_args = true,
    args_override_self = true
)]
pub struct DaemonCli {
    /// Configuration file
    #[arg(
        short = 'f',
        long = "conf-file",
        value_name = "FILE",
        value_parser = path_value_parser(),
        allow_negative_numbers = true,
        // Each daemon sets its own default in `command()`.
        required = false
    )]
    pub conf_file: PathBuf,

    /// nvme-stas 3.x connection configuration file (libnvme INI format, plus FILE.d/*.conf);
    /// selects the 3.x layout
    #[arg(
        short = 'c',
        long = "conn-conf-file",
        value_name = "FILE",
        value_parser = path_value_parser()
    )]
    pub conn_conf_file: Option<PathBuf>,

    /// D-Bus spelling: 2 (nvme-stas 2.x: host-nqn, nvme) or 3 (3.x: hostnqn, nvme subsystem);
    /// default: the configuration's generation
    #[arg(long = "dbus-api", value_name = "VERSION",
          value_parser = |s: &str| crate::dbus::Spelling::parse(s))]
    pub dbus_api: Option<crate::dbus::Spelling>,

    /// Send messages to syslog instead of stdout. Use this when running the daemon as a
    /// service.
    #[arg(short = 's', long = "syslog")]
    pub syslog: bool,

    /// Trace ON.
    #[arg(long = "tron")]
    pub tron: bool,

    /// Print version, then exit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    /// Read the configuration (FILE, else the -f file), print every warning with its file and
    /// line and the effective configuration, then exit: 0 when usable, 1 on errors.
    #[arg(long = "check-config", value_name = "FILE", num_args = 0..=1,
          value_parser = path_value_parser())]
    pub check_config: Option<Option<PathBuf>>,
}

impl DaemonCli {
    /// The configuration files named on the command line (`-f` equal to the 2.x default
    /// counts as not given: with the 3.x layout the 3.x daemon file is read then).
    pub fn files(&self, spec: &DaemonSpec) -> crate::service::setup::ConfFiles {
        crate::service::setup::ConfFiles {
            conf_file: self.conf_file.clone(),
            conf_explicit: self.conf_file != Path::new(spec.default_conf),
            conn_conf_file: self.conn_conf_file.clone(),
        }
    }
}

/// File arguments are taken verbatim, as argparse's `type=str` does: an empty value is
/// accepted (clap's default `PathBuf` parser rejects it).
fn path_value_parser() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

/// The argparse usage text (without its `usage: ` prefix), wrapped as argparse wraps it.
pub fn usage(prog: &str) -> String {
    crate::argparse_usage(
        prog,
        &[
            "[-h]",
            "[-f FILE]",
            "[-c FILE]",
            "[--dbus-api VERSION]",
            "[-s]",
            "[--tron]",
            "[-v]",
            "[--check-config [FILE]]",
        ],
        &[],
    )
}

/// The clap command of one daemon.
pub fn command(spec: &DaemonSpec, prog: &str) -> clap::Command {
    DaemonCli::command()
        .name(spec.prog)
        .about(spec.about)
        .override_usage(usage(prog))
        .mut_arg("conf_file", |a| a.default_value(spec.default_conf))
}

/// Parses `args` (including `argv[0]`); errors exit with status 2 via [`clap::Error::exit`].
pub fn try_parse_from<I, T>(spec: &DaemonSpec, args: I) -> Result<DaemonCli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    crate::cli::try_parse_with(command(spec, &crate::prog_name(spec.prog)), args)
}

/// Parses the process's own command line; prints usage and exits with status 2 on error.
pub fn parse(spec: &DaemonSpec) -> DaemonCli {
    try_parse_from(spec, std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// The two `-v/--version` lines.
pub fn version_text() -> String {
    format!(
        "{}\n{}\n",
        crate::version_line(),
        crate::libnvme_version_line()
    )
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

/// What the command line asks for before any daemon work: `Some(status)` when it is done
/// (version, configuration check, refused pre-flight), `None` when the daemon should run.
pub fn preflight(spec: &DaemonSpec, cli: &DaemonCli) -> Option<ExitCode> {
    if cli.version {
        print!("{}", version_text());
        return Some(ExitCode::SUCCESS);
    }
    if let Some(file) = &cli.check_config {
        // Checking a file needs neither root nor the kernel modules.
        let mut files = cli.files(spec);
        if let Some(f) = file {
            files.conf_file = f.clone();
            files.conf_explicit = true;
        }
        let report = crate::conf::check::check_layout(spec.daemon, &files.layout(spec.daemon));
        print!("{}", report.text);
        return Some(if report.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let prog = crate::prog_name(spec.prog);
    let fabrics = Path::new(crate::NVME_FABRICS_DEV).exists();
    if let Err(msg) = crate::check_if_allowed_to_continue(&prog, effective_uid(), fabrics) {
        eprintln!("{msg}");
        return Some(ExitCode::FAILURE);
    }
    None
}

/// How a daemon's loop was started.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// `-f/--conf-file` and `-c/--conn-conf-file`.
    pub files: crate::service::setup::ConfFiles,
    /// `--tron`.
    pub tron: bool,
    /// The log switch.
    pub log: crate::service::LogHandle,
    /// `--dbus-api`.
    pub dbus_api: Option<crate::dbus::Spelling>,
}

impl DaemonOptions {
    /// The D-Bus spelling for `cfg`: `--dbus-api`, else the configuration's generation.
    pub fn spelling(&self, cfg: &crate::conf::options::ServiceConfig) -> crate::dbus::Spelling {
        crate::dbus::Spelling::chosen(self.dbus_api, cfg.generation)
    }
}

/// Raises the soft limit on open files to the hard one: every native connection is a
/// socket per queue, so a thousand controllers need more than the usual 1,024 (systemd's
/// advice for services that need many descriptors).
pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit with a valid pointer to a local rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0
        || lim.rlim_cur >= lim.rlim_max
    {
        return;
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit with a valid pointer to a local rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        tracing::debug!("cannot raise the open-files limit");
    }
}

/// A daemon's `main` after parsing: `-v` and `--check-config`, logging, the configuration,
/// upstream's root and `/dev/nvme-fabrics` checks for the kernel backend only, then `main`
/// on a current-thread runtime. `Err` from `main` is logged and exits 1.
pub fn run_daemon<Fut>(
    spec: &DaemonSpec,
    cli: &DaemonCli,
    main: impl FnOnce(DaemonOptions, crate::conf::options::ServiceConfig) -> Fut,
) -> ExitCode
where
    Fut: std::future::Future<Output = Result<(), String>>,
{
    if cli.version || cli.check_config.is_some() {
        return preflight(spec, cli).unwrap_or(ExitCode::SUCCESS);
    }
    let log = crate::service::init_logging(spec.prog, cli.syslog, cli.tron);
    let files = cli.files(spec);
    let Some(cfg) = crate::service::setup::load_config(spec.daemon, &files) else {
        return ExitCode::FAILURE;
    };
    if cfg.global.backend_choice() == crate::conf::options::BackendChoice::Kernel
        && let Some(code) = preflight(spec, cli)
    {
        return code;
    }
    raise_fd_limit();
    crate::service::event_loop::tune_malloc();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start the event loop: {e}", spec.prog);
            return ExitCode::FAILURE;
        }
    };
    let opts = DaemonOptions {
        files,
        tron: cli.tron,
        log,
        dbus_api: cli.dbus_api,
    };
    match runtime.block_on(main(opts, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            tracing::error!("{}: {msg}", spec.prog);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &DaemonSpec, args: &[&str]) -> Result<DaemonCli, clap::Error> {
        try_parse_from(spec, std::iter::once(spec.prog).chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        for spec in [STAFD, STACD] {
            command(&spec, spec.prog).debug_assert();
        }
    }

    #[test]
    fn defaults_differ_per_daemon() {
        for (spec, conf) in [
            (STAFD, "/etc/stas/stafd.conf"),
            (STACD, "/etc/stas/stacd.conf"),
        ] {
            assert_eq!(
                parse(&spec, &[]).unwrap(),
                DaemonCli {
                    conf_file: PathBuf::from(conf),
                    conn_conf_file: None,
                    dbus_api: None,
                    syslog: false,
                    tron: false,
                    version: false,
                    check_config: None,
                }
            );
        }
    }

    #[test]
    fn dbus_api_takes_2_or_3() {
        use crate::dbus::Spelling;
        let cli = parse(&STAFD, &["--dbus-api", "3"]).unwrap();
        assert_eq!(cli.dbus_api, Some(Spelling::V3));
        let cli = parse(&STACD, &["--dbus-api=2.x"]).unwrap();
        assert_eq!(cli.dbus_api, Some(Spelling::V2));
        assert!(parse(&STAFD, &["--dbus-api", "4"]).is_err());
    }

    #[test]
    fn all_options() {
        let cli = parse(&STAFD, &["-f", "/tmp/x.conf", "-s", "--tron", "-v"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/tmp/x.conf"));
        assert!(cli.syslog && cli.tron && cli.version);
        let cli = parse(&STAFD, &["--conf-file=/a", "--syslog"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/a"));
        assert!(cli.syslog);
        let cli = parse(&STACD, &["-sv", "-f/b"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/b"));
        assert!(cli.syslog && cli.version);
    }

    #[test]
    fn check_config_takes_an_optional_file() {
        assert_eq!(
            parse(&STAFD, &["--check-config"]).unwrap().check_config,
            Some(None)
        );
        assert_eq!(
            parse(&STACD, &["--check-config", "/x.conf"])
                .unwrap()
                .check_config,
            Some(Some(PathBuf::from("/x.conf")))
        );
        assert_eq!(
            parse(&STACD, &["--check-config=/y.toml"])
                .unwrap()
                .check_config,
            Some(Some(PathBuf::from("/y.toml")))
        );
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
                parse(&STAFD, args).unwrap().conf_file,
                PathBuf::from(file),
                "{args:?}"
            );
        }
    }

    #[test]
    fn abbreviations_and_repeats() {
        let cli = parse(&STAFD, &["--conf", "/c", "--sys", "--tr", "--vers"]).unwrap();
        assert_eq!(cli.conf_file, PathBuf::from("/c"));
        assert!(cli.syslog && cli.tron && cli.version);
        // argparse lets the last occurrence win.
        let cli = parse(&STAFD, &["-f", "/1", "-f", "/2", "--tron", "--tron"]).unwrap();
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
            let err = parse(&STACD, args).unwrap_err();
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
