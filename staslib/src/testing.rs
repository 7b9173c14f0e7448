//! Checks of the programs' command lines, shared by their integration tests; the daemons get
//! whole tests (`staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stafd"), staslib::daemon_cli::STAFD);`).

use std::process::{Command, Output};

/// What a test needs to build a daemon's per-controller task and measure its future: a
/// runtime (enter it first; the native backend needs one), a host identity, the native
/// backend and an empty exclusion list.
pub struct TaskProbe {
    pub rt: tokio::runtime::Runtime,
    pub host: libnvme_rs::host::HostIdentity,
}

impl TaskProbe {
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let host = libnvme_rs::host::HostIdentity {
            hostnqn: "nqn.2014-08.org.nvmexpress:uuid:5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21".into(),
            hostid: "5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21".into(),
            hostkey: None,
        };
        Self { rt, host }
    }

    /// The native backend (call inside `rt.enter()`).
    pub fn backend(&self) -> libnvme_rs::controller::Backend {
        libnvme_rs::controller::Backend::native(&self.host).expect("native backend")
    }

    pub fn exclusions(&self) -> crate::exclusions::HostExclusions {
        crate::exclusions::HostExclusions::with_list(
            libnvme_rs::kernel::exclusion::ExclusionList::new("/nonexistent"),
            &self.host,
        )
    }
}

impl Default for TaskProbe {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `bin` with `args` and no `COLUMNS` (argparse-style wrapping depends on it).
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("run binary")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn euid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A bad command line: exit 2, clap's `error: ...` on stderr, nothing on stdout.
pub fn assert_usage_error(bin: &str, args: &[&str]) {
    let out = run(bin, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

/// A ctl subcommand run with no bus to reach (`DBUS_SYSTEM_BUS_ADDRESS` names a socket that
/// does not exist, sys.conf names a host NQN): exit 3 and upstream's one line naming
/// `daemon`, nothing on stdout.
pub fn assert_daemon_absent(bin: &str, daemon: &str, args: &[&str]) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("stas-ctl-absent-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sys_conf = dir.join("sys.conf");
    std::fs::write(
        &sys_conf,
        "[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21\n",
    )
    .expect("sys.conf");
    let out = Command::new(bin)
        .args(args)
        .env_remove("COLUMNS")
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!("unix:path={}/no-bus", dir.display()),
        )
        .env("STAS_SYS_CONF_FILE", &sys_conf)
        .output()
        .expect("run binary");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{args:?}: {}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stderr),
        format!("Unable to communicate with {daemon} over D-Bus. Is {daemon} running?\n"),
        "{args:?}"
    );
    assert!(out.stdout.is_empty(), "{args:?}");
}

/// Generates the command-line tests of one daemon binary.
#[macro_export]
macro_rules! daemon_binary_tests {
    ($bin:expr, $spec:expr) => {
        use $crate::testing::{run, text};

        const BIN: &str = $bin;
        const SPEC: $crate::daemon_cli::DaemonSpec = $spec;

        #[test]
        fn version_prints_two_lines_and_exits_0() {
            for flag in ["--version", "-v", "--vers"] {
                let out = run(BIN, &[flag]);
                assert_eq!(out.status.code(), Some(0), "{flag}");
                assert_eq!(text(&out.stdout), $crate::daemon_cli::version_text());
                assert!(out.stderr.is_empty());
            }
            // Other options are parsed but ignored when -v is given.
            let out = run(BIN, &["-f", "/nonexistent", "--tron", "-s", "-v"]);
            assert_eq!(out.status.code(), Some(0));
        }

        #[test]
        fn bad_arguments_exit_2() {
            for args in [
                &["--bogus"][..],
                &["-f"],
                &["extra"],
                &["-V"],
                &["--tron=yes"],
            ] {
                let out = run(BIN, args);
                assert_eq!(out.status.code(), Some(2), "{args:?}");
                let err = text(&out.stderr);
                assert!(err.starts_with("error: "), "{args:?}: {err}");
                assert!(out.stdout.is_empty());
            }
        }

        #[test]
        fn help_exits_0_and_names_every_option() {
            let out = run(BIN, &["-h"]);
            assert_eq!(out.status.code(), Some(0));
            let help = text(&out.stdout);
            for needle in [
                "-f, --conf-file <FILE>",
                "-s, --syslog",
                "--tron",
                "-v, --version",
                "--check-config [<FILE>]",
                SPEC.default_conf,
            ] {
                assert!(help.contains(needle), "{needle} missing from:\n{help}");
            }
        }

        #[test]
        fn check_config_reports_file_and_line() {
            let dir =
                std::env::temp_dir().join(format!("stas-cli-{}-{}", SPEC.prog, std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let conf = dir.join("x.conf");
            std::fs::write(&conf, "[Global]\ntron=maybe\n[Bogus]\n").unwrap();
            let conf_s = conf.to_str().unwrap();
            let out = run(BIN, &["--check-config", conf_s]);
            let stdout = text(&out.stdout);
            assert!(stdout.contains(&format!("{conf_s}:2")), "{stdout}");
            assert!(stdout.contains("Bogus"), "{stdout}");
            // The -f file is checked when --check-config has no FILE of its own.
            let out2 = run(BIN, &["-f", conf_s, "--check-config"]);
            assert_eq!(text(&out2.stdout), stdout);
            assert_eq!(out.status.code(), out2.status.code());
            std::fs::remove_dir_all(&dir).unwrap();
        }
    };
}

/// The start-up checks of a daemon (`daemon_preflight_tests!(BIN, "stafd")`): the kernel
/// backend needs root and `/dev/nvme-fabrics` (upstream's messages); the native backend
/// needs neither and says when it cannot take its bus name.
#[macro_export]
macro_rules! daemon_preflight_tests {
    ($bin:expr, $prog:expr) => {
mod preflight {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use staslib::testing::{euid, text};

    const BIN: &str = $bin;
    const PROG: &str = $prog;

    fn conf(dir: &std::path::Path, backend: &str) -> std::path::PathBuf {
        let path = dir.join(format!("{PROG}.conf"));
        std::fs::write(&path, format!("[Global]\nbackend={backend}\n")).unwrap();
        std::fs::write(
            dir.join("sys.conf"),
            "[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21\n\
             id=5a1c3e0e-8c1d-4a57-9b8e-2f6a9d7c4b21\n",
        )
        .unwrap();
        path
    }

    /// The kernel backend keeps upstream's checks: root first, then `/dev/nvme-fabrics`.
    #[test]
    fn kernel_backend_needs_root_and_the_fabrics_device() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let path = conf(dir.path(), "kernel");
        let run = |nobody: bool| {
            let mut cmd = Command::new(BIN);
            cmd.args(["-f", path.to_str().unwrap()]);
            if nobody && euid() == 0 {
                cmd.uid(65534).gid(65534);
            }
            cmd.output().unwrap()
        };
        if euid() == 0 {
            let out = run(true);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                text(&out.stderr),
                format!("Permission denied. You need root privileges to run {PROG}.\n")
            );
        }
        if euid() == 0 && !std::path::Path::new("/dev/nvme-fabrics").exists() {
            let out = run(false);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                text(&out.stderr),
                "Fatal error: missing nvme-tcp kernel module\n"
            );
        }
        if euid() != 0 {
            let out = run(false);
            assert_eq!(
                text(&out.stderr),
                format!("Permission denied. You need root privileges to run {PROG}.\n")
            );
        }
    }

    /// The native backend needs neither root nor the fabrics device; without a bus it says
    /// so and exits 1.
    #[test]
    fn native_backend_runs_unprivileged_and_names_a_missing_bus() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let path = conf(dir.path(), "native");
        let mut cmd = Command::new(BIN);
        cmd.args(["-f", path.to_str().unwrap()])
            .env("STAS_SYS_CONF_FILE", dir.path().join("sys.conf"))
            .env("RUNTIME_DIRECTORY", dir.path().join("run"))
            .env(
                "DBUS_SYSTEM_BUS_ADDRESS",
                format!("unix:path={}/no-bus", dir.path().display()),
            );
        if euid() == 0 {
            cmd.uid(65534).gid(65534);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains("native backend"), "{err}");
        assert!(
            err.contains("D-Bus: cannot take org.nvmexpress."),
            "{err}"
        );
        assert!(!err.contains("Permission denied"), "{err}");
    }
}
    };
}

/// A private `dbus-daemon` of type system in `dir` (no host service is touched), with the
/// repository's bus configuration and the bus policy we ship. Killed on drop.
#[derive(Debug)]
pub struct PrivateBus {
    child: std::process::Child,
    /// The address clients use (`DBUS_SYSTEM_BUS_ADDRESS`).
    pub address: String,
}

impl PrivateBus {
    /// Starts the bus; `repo` is the repository root (for `tests/bus/system-bus.conf.in` and
    /// `etc/dbus-1/system.d`). `Err` says why it could not start (e.g. no `dbus-daemon`).
    pub fn start(dir: &std::path::Path, repo: &std::path::Path) -> Result<Self, String> {
        Self::start_with_policy(dir, repo, &repo.join("etc/dbus-1/system.d"))
    }

    /// A bus where anyone may own any name: the shipped policy lets only root own the
    /// daemons' names, and the demo runs without root.
    pub fn start_open(dir: &std::path::Path, repo: &std::path::Path) -> Result<Self, String> {
        let none = dir.join("no-policy");
        std::fs::create_dir_all(&none).map_err(|e| format!("{}: {e}", none.display()))?;
        Self::start_with_policy(dir, repo, &none)
    }

    fn start_with_policy(
        dir: &std::path::Path,
        repo: &std::path::Path,
        policy_dir: &std::path::Path,
    ) -> Result<Self, String> {
        use std::io::BufRead;
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Unprivileged clients connect too.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let template = repo.join("tests/bus/system-bus.conf.in");
        let conf = std::fs::read_to_string(&template)
            .map_err(|e| format!("{}: {e}", template.display()))?
            .replace("@DIR@", &dir.display().to_string())
            .replace("@POLICY_DIR@", &policy_dir.display().to_string());
        let conf_path = dir.join("bus.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf_path.display()))
            .args(["--nofork", "--print-address=1", "--nopidfile"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("dbus-daemon cannot be started: {e}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let address = line.trim().to_owned();
        if !address.starts_with("unix:") {
            let _ = child.kill();
            return Err(format!("dbus-daemon printed {address:?}"));
        }
        Ok(Self { child, address })
    }
}

impl PrivateBus {
    /// The dbus-daemon's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
