//! `stasadm`, the configuration utility for STAS (host NQN, host ID, symbolic name;
//! compat spec §3.4).
//!
//! The command line is parsed as upstream's argparse parser
//! (`stasadm [-h] [-v] [-c FILE] {hostnqn,hostid,set-symname,clear-symname,migrate} ...`; `migrate` is ours).
//!
//! * `hostnqn [-f FILE]` — `nqn.2014-08.org.nvmexpress:uuid:<UUID>`, the UUID derived
//!   bit-exactly as upstream (machine ID, SMBIOS UUID, device tree, random; see
//!   [`libnvme_rs::host::derive_host_uuid`]).
//! * `hostid [-f FILE] [--from-nqn]` — a random UUIDv4, or with `--from-nqn` (our addition)
//!   the UUID of the configured UUID-based host NQN, so that ID and NQN match.
//! * `set-symname [-f FILE] SYMNAME`, `clear-symname`.
//!
//! Storage (all "set" commands): with `-f FILE` the value and a newline are written to
//! FILE, then the `-c` file (default `/etc/stas/sys.conf`) gets `[Host] <option> =
//! file://FILE` (FILE made absolute), else the value itself. `clear-symname` removes
//! `symname`. An empty `-c ''` leaves the configuration file alone and an empty `-f ''` is
//! "no file", as upstream. Unlike upstream, the configuration file is edited in place
//! ([`sysconf_edit`]): comments, blank lines, ordering and unknown entries survive.
//!
//! Errors print one line on stderr (`stasadm: <what>: <why>`) and exit with status 1;
//! the DMI case prints upstream's exact `Permission denied. Root privileges required.`.
//!
//! Testing aids (environment variables, read by [`Paths::from_env`]):
//! `STAS_MACHINE_ID_FILE`, `STAS_DMI_PRODUCT_UUID_FILE`, `STAS_DT_PARTITION_UUID_FILE`,
//! `STAS_RANDOM_SOURCE` and `STAS_ETC_NVME_DIR` replace `/etc/machine-id`,
//! `/sys/class/dmi/id/product_uuid`, `/proc/device-tree/ibm,partition-uuid`, `/dev/urandom`
//! and `/etc/nvme`.

pub mod sysconf_edit;

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use libnvme_rs::host::{self, GenerateError, HostError, HostSources, UuidSources};
use sysconf_edit::SysConfError;

use clap::{Args, Parser, Subcommand};
use staslib::cli::ArgparseTool;

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
    subcommand_help_heading = "Commands",
    after_long_help = ENV_HELP
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
    Hostid(HostidArgs),
    /// Set the host symbolic name
    SetSymname(SetSymnameArgs),
    /// Clear the host symbolic name
    ClearSymname,
    /// Write the nvme-stas 3.x configuration from this 2.x one (not in upstream)
    Migrate(MigrateArgs),
}

/// Options of `migrate`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct MigrateArgs {
    /// Directory of the 2.x stafd.conf and stacd.conf (sys.conf is the -c file)
    #[arg(long = "from", value_name = "DIR", default_value = "/etc/stas",
          value_parser = path_value_parser())]
    pub from: PathBuf,

    /// Directory the 3.x files are written to (nvme-stas.conf, nvme-stas.conf.d/, stafd.conf,
    /// stacd.conf)
    #[arg(long = "to", value_name = "DIR", default_value = "/etc/nvme",
          value_parser = path_value_parser())]
    pub to: PathBuf,

    /// Print what would be written and how it differs from what is there; write nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Replace 3.x files that already exist with other contents
    #[arg(long = "force")]
    pub force: bool,
}

impl Command {
    /// The subcommand's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hostnqn(_) => "hostnqn",
            Command::Hostid(_) => "hostid",
            Command::SetSymname(_) => "set-symname",
            Command::ClearSymname => "clear-symname",
            Command::Migrate(_) => "migrate",
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

/// Options of `hostid`.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct HostidArgs {
    // Upstream treats an empty FILE (`-f ''`) as not given.
    /// Optional file where to save the ID.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        value_parser = path_value_parser(),
        allow_negative_numbers = true
    )]
    pub file: Option<PathBuf>,

    /// Derive the ID from the host NQN's UUID instead of generating a random one
    ///
    /// The host NQN is `[Host] nqn` of the -c file, else /etc/nvme/hostnqn; it must have the
    /// form nqn.2014-08.org.nvmexpress:uuid:<UUID>. Host ID and host NQN then match, as
    /// nvme-cli derives them. (Not in upstream nvme-stas.)
    #[arg(long = "from-nqn")]
    pub from_nqn: bool,
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

impl ArgparseTool for Cli {
    const PROG: &'static str = PROG;

    /// The argparse usage text (without its `usage: ` prefix), wrapped as argparse wraps it.
    fn usage(prog: &str) -> String {
        staslib::argparse_usage(
            prog,
            &["[-h]", "[-v]", "[-c FILE]"],
            &["{hostnqn,hostid,set-symname,clear-symname,migrate}", "..."],
        )
    }
}

/// Parses the process's own command line; prints usage and exits with status 2 on error.
pub fn parse() -> Cli {
    Cli::parse_args()
}

/// `--help` epilogue: the testing aids.
const ENV_HELP: &str = "\
Environment (testing aids): STAS_MACHINE_ID_FILE, STAS_DMI_PRODUCT_UUID_FILE,
STAS_DT_PARTITION_UUID_FILE, STAS_RANDOM_SOURCE and STAS_ETC_NVME_DIR replace
/etc/machine-id, /sys/class/dmi/id/product_uuid, /proc/device-tree/ibm,partition-uuid,
/dev/urandom and /etc/nvme.";

/// Where `stasadm` reads the machine identity and the default host files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Sources of the host NQN UUID and of random UUIDs.
    pub uuid: UuidSources,
    /// Directory of `hostnqn` / `hostid` (for `hostid --from-nqn`).
    pub etc_nvme: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            uuid: UuidSources::default(),
            etc_nvme: host::DEFAULT_ETC_NVME.into(),
        }
    }
}

impl Paths {
    /// The defaults, each overridable by its environment variable (see the crate docs).
    pub fn from_env() -> Self {
        let var = |name: &str, default: PathBuf| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map_or(default, PathBuf::from)
        };
        let d = Paths::default();
        Paths {
            uuid: UuidSources {
                machine_id: var("STAS_MACHINE_ID_FILE", d.uuid.machine_id),
                dmi_product_uuid: var("STAS_DMI_PRODUCT_UUID_FILE", d.uuid.dmi_product_uuid),
                dt_partition_uuid: var("STAS_DT_PARTITION_UUID_FILE", d.uuid.dt_partition_uuid),
                random: var("STAS_RANDOM_SOURCE", d.uuid.random),
            },
            etc_nvme: var("STAS_ETC_NVME_DIR", d.etc_nvme),
        }
    }
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The host NQN UUID or a random UUID could not be produced.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// `-f FILE` could not be written.
    #[error("cannot write {}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The configuration file could not be read or written.
    #[error(transparent)]
    SysConf(#[from] SysConfError),
    /// `hostid --from-nqn`: the host NQN could not be read.
    #[error(transparent)]
    Host(#[from] HostError),
    /// `migrate`: a 2.x file has errors; nothing is written.
    #[error("{0} has errors (see `--check-config`): nothing migrated")]
    MigrateSource(PathBuf),
    /// `migrate`: 3.x files exist with other contents and `--force` was not given.
    #[error("{0} exists with other contents: nothing written (--force replaces it)")]
    MigrateExists(PathBuf),
    /// `hostid --from-nqn`: the host NQN carries no UUID.
    #[error(
        "cannot derive the host ID from host NQN \"{0}\": it is not of the form nqn.2014-08.org.nvmexpress:uuid:<UUID>"
    )]
    NqnWithoutUuid(String),
}

impl AdminError {
    /// The line printed on stderr: upstream's exact text for the DMI permission case,
    /// else `<prog>: <error>: <cause>: ...`.
    pub fn report(&self, prog: &str) -> String {
        if matches!(
            self,
            AdminError::Generate(GenerateError::RootRequired { .. })
        ) {
            return self.to_string();
        }
        format!("{prog}: {}", libnvme_rs::error_chain(self))
    }
}

/// What a successful subcommand wants said on stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Warning lines (without the program prefix).
    pub warnings: Vec<String>,
}

fn non_empty(p: &Option<PathBuf>) -> Option<&Path> {
    p.as_deref().filter(|p| !p.as_os_str().is_empty())
}

/// Storage rules 1–2 of compat spec §3.4: `value` + newline to `file` (if any), then
/// `[Host] option` in `conf` (unless empty) = `file://<absolute file>` or `value`.
fn save(conf: &Path, option: &str, value: &str, file: Option<&Path>) -> Result<(), AdminError> {
    if let Some(file) = file {
        std::fs::write(file, format!("{value}\n")).map_err(|source| AdminError::WriteFile {
            path: file.to_owned(),
            source,
        })?;
    }
    if conf.as_os_str().is_empty() {
        return Ok(());
    }
    let stored = match file {
        Some(f) => {
            let abs = std::path::absolute(f).unwrap_or_else(|_| f.to_owned());
            format!("file://{}", abs.display())
        }
        None => value.to_owned(),
    };
    sysconf_edit::set_host_option(conf, option, &stored)?;
    Ok(())
}

/// The configured host NQN (`[Host] nqn` of `conf`, else `<etc_nvme>/hostnqn`), validated.
fn configured_hostnqn(conf: &Path, paths: &Paths) -> Result<String, AdminError> {
    let nqn = if conf.as_os_str().is_empty() {
        None
    } else {
        sysconf_edit::get_host_option(conf, "nqn")?.flatten()
    };
    let sources = HostSources {
        nqn,
        ..HostSources::new(&paths.etc_nvme)
    };
    Ok(sources.hostnqn()?)
}

/// Runs one subcommand against the configuration file `conf` (pure apart from the files).
pub fn execute(conf: &Path, command: &Command, paths: &Paths) -> Result<Outcome, AdminError> {
    let mut outcome = Outcome::default();
    match command {
        Command::Migrate(args) => {
            return migrate(conf, args, &mut std::io::stdout().lock())
                .map(|notes| Outcome { warnings: notes });
        }
        Command::Hostnqn(args) => {
            let nqn = host::generate_hostnqn(&paths.uuid)?;
            save(conf, "nqn", &nqn, non_empty(&args.file))?;
        }
        Command::Hostid(args) => {
            let id = if args.from_nqn {
                let nqn = configured_hostnqn(conf, paths)?;
                host::hostid_from_nqn(&nqn).ok_or(AdminError::NqnWithoutUuid(nqn))?
            } else {
                host::random_uuid_v4(&paths.uuid.random)?
            };
            save(conf, "id", &id, non_empty(&args.file))?;
        }
        Command::SetSymname(args) => {
            if args.symname.contains(['\n', '\r']) {
                return Err(SysConfError::MultiLineValue {
                    option: "symname".into(),
                }
                .into());
            }
            let file = non_empty(&args.file);
            if file.is_some() && args.symname.split_whitespace().count() > 1 {
                outcome.warnings.push(format!(
                    "a symbolic name read from a file is cut at the first blank: \"{}\" will be read as \"{}\"",
                    args.symname,
                    args.symname.split_whitespace().next().unwrap_or_default()
                ));
            }
            save(conf, "symname", &args.symname, file)?;
        }
        Command::ClearSymname => {
            if !conf.as_os_str().is_empty() {
                sysconf_edit::clear_host_option(conf, "symname")?;
            }
        }
    }
    Ok(outcome)
}

/// `migrate`: reads the 2.x files, writes (or with `--dry-run` prints) the 3.x set, and
/// returns what could not be carried over.
pub fn migrate(
    sys_conf: &Path,
    args: &MigrateArgs,
    out: &mut impl io::Write,
) -> Result<Vec<String>, AdminError> {
    use staslib::conf::options::{Daemon, SysConfig, load_service_config};
    let load = |daemon: Daemon| {
        let path = args.from.join(format!("{}.conf", daemon.name()));
        let loaded = load_service_config(daemon, &path);
        if loaded.has_errors() {
            return Err(AdminError::MigrateSource(path));
        }
        Ok(loaded.config)
    };
    let stafd = load(Daemon::Stafd)?;
    let stacd = load(Daemon::Stacd)?;
    let (sys, _) = SysConfig::load(sys_conf);
    let m = staslib::conf::migrate::migrate(&stafd, &stacd, &sys);
    let write_err = |path: &Path, source: io::Error| AdminError::WriteFile {
        path: path.to_owned(),
        source,
    };
    let mut plan = Vec::new();
    for (name, text) in &m.files {
        let path = args.to.join(name);
        let old = std::fs::read_to_string(&path).ok();
        let state = match &old {
            None => "new",
            Some(o) if o == text => "unchanged",
            Some(_) => "changed",
        };
        if args.dry_run {
            writeln!(out, "=== {} ({state})", path.display()).map_err(|e| write_err(&path, e))?;
            for line in text.lines() {
                let mark = match &old {
                    Some(o) if o.lines().any(|l| l == line) => ' ',
                    _ => '+',
                };
                writeln!(out, "{mark} {line}").map_err(|e| write_err(&path, e))?;
            }
            if let Some(o) = &old {
                for line in o.lines().filter(|l| !text.lines().any(|t| t == *l)) {
                    writeln!(out, "- {line}").map_err(|e| write_err(&path, e))?;
                }
            }
        } else if state == "changed" && !args.force {
            return Err(AdminError::MigrateExists(path));
        }
        plan.push((path, text, state));
    }
    if !args.dry_run {
        for (path, text, state) in plan {
            if state == "unchanged" {
                continue;
            }
            // A file holding DH-HMAC-CHAP secrets is readable by root only, from the start.
            let mode = if text.contains("kxchap-") {
                0o600
            } else {
                0o644
            };
            write_new_file(&path, text, mode).map_err(|e| write_err(&path, e))?;
        }
    }
    Ok(m.notes)
}

/// Writes `text` to `path` atomically (temporary file with `mode`, fsync, rename).
fn write_new_file(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".stasadm-tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Runs `stasadm` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    let prog = staslib::prog_name(PROG);
    let command = match staslib::cli::version_or_command(
        cli.version,
        cli.command.as_ref(),
        &Cli::usage(&prog),
    ) {
        Ok(command) => command,
        Err(code) => return code,
    };
    match execute(&cli.conf_file, command, &Paths::from_env()) {
        Ok(outcome) => {
            for w in outcome.warnings {
                eprintln!("{prog}: warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.report(&prog));
            ExitCode::FAILURE
        }
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
            Some(Command::Hostid(HostidArgs {
                file: None,
                from_nqn: false
            }))
        );
        assert_eq!(
            parse(&["--conf", "/x", "hostid", "--fi", "/y"])
                .unwrap()
                .command,
            Some(Command::Hostid(HostidArgs {
                file: Some("/y".into()),
                from_nqn: false
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
    fn hostid_from_nqn_flag() {
        assert_eq!(
            parse(&["hostid", "--from-nqn", "-f", "/id"])
                .unwrap()
                .command,
            Some(Command::Hostid(HostidArgs {
                file: Some("/id".into()),
                from_nqn: true
            }))
        );
        // Long options may be abbreviated, as argparse allows.
        assert_eq!(
            parse(&["hostid", "--from"]).unwrap().command,
            Some(Command::Hostid(HostidArgs {
                file: None,
                from_nqn: true
            }))
        );
        assert_eq!(
            parse(&["hostnqn", "--from-nqn"]).unwrap_err().exit_code(),
            2
        );
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
                command: Some(Command::Hostid(HostidArgs {
                    file: Some("-2".into()),
                    from_nqn: false
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

    #[test]
    fn migrate_writes_dry_runs_and_never_clobbers_silently() {
        use std::os::unix::fs::PermissionsExt;
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::write(from.path().join("stafd.conf"), "[Global]\ntron=true\n").unwrap();
        std::fs::write(
            from.path().join("stacd.conf"),
            "[Controllers]\ncontroller=transport=tcp;traddr=192.0.2.3;\
             subsysnqn=nqn.2024-01.io.example:a;\
             dhchap-secret=DHHC-1:00:9tDsumlAMVGhNRy2zEWbl8eqhaZzHFu8WxZZb8D6cF/C01Ky:\n",
        )
        .unwrap();
        let sys = from.path().join("sys.conf");
        let args = |dry_run: bool, force: bool| MigrateArgs {
            from: from.path().to_owned(),
            to: to.path().to_owned(),
            dry_run,
            force,
        };
        let mut out = Vec::new();
        migrate(&sys, &args(true, false), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("nvme-stas.conf (new)"), "{text}");
        assert!(text.contains("+ tron = true"), "{text}");
        assert!(
            std::fs::read_dir(to.path()).unwrap().next().is_none(),
            "dry run wrote"
        );

        migrate(&sys, &args(false, false), &mut Vec::new()).unwrap();
        let main = to.path().join("nvme-stas.conf");
        let mode = std::fs::metadata(&main).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "secrets: root only");
        let stafd = to.path().join("stafd.conf");
        assert_eq!(
            std::fs::metadata(&stafd).unwrap().permissions().mode() & 0o777,
            0o644
        );
        // Again: everything unchanged, nothing to do.
        let mut out = Vec::new();
        migrate(&sys, &args(true, false), &mut out).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("(changed)"));
        // Edited since: refused without --force, replaced with it.
        std::fs::write(&stafd, "# mine\n").unwrap();
        let e = migrate(&sys, &args(false, false), &mut Vec::new()).unwrap_err();
        assert!(
            matches!(e, AdminError::MigrateExists(ref p) if *p == stafd),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&stafd).unwrap(), "# mine\n");
        migrate(&sys, &args(false, true), &mut Vec::new()).unwrap();
        assert!(
            std::fs::read_to_string(&stafd)
                .unwrap()
                .contains("tron = true")
        );
    }
}
