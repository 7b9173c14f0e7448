//! Checks of the programs' command lines, shared by their integration tests; the daemons get
//! whole tests (`staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stafd"), staslib::daemon_cli::STAFD);`).

use std::process::{Command, Output};

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

/// A subcommand whose service is not built yet: exit 1 with one line saying so.
pub fn assert_not_implemented(bin: &str, prog: &str, args: &[&str], subcommand: &str) {
    let out = run(bin, args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert_eq!(
        text(&out.stderr),
        format!("{prog}: {subcommand} is not implemented in this build yet\n"),
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

/// The pre-flight tests of a daemon that is still a stub (root and `/dev/nvme-fabrics`
/// checked, then "not implemented").
#[macro_export]
macro_rules! daemon_stub_tests {
    ($bin:expr, $spec:expr) => {
        use $crate::testing::{euid, run, text};
        const BIN: &str = $bin;
        const SPEC: $crate::daemon_cli::DaemonSpec = $spec;

        /// After parsing, the upstream pre-flight checks run; the daemon itself is not built
        /// yet, so the program must never exit 0.
        #[test]
        fn preflight_then_not_implemented() {
            let out = run(BIN, &["--conf-file", "/nonexistent", "--tron"]);
            assert_eq!(out.status.code(), Some(1));
            let prog = SPEC.prog;
            let expected = if euid() != 0 {
                format!("Permission denied. You need root privileges to run {prog}.\n")
            } else if !std::path::Path::new("/dev/nvme-fabrics").exists() {
                "Fatal error: missing nvme-tcp kernel module\n".to_owned()
            } else {
                format!("{prog}: the daemon is not implemented in this build yet\n")
            };
            assert_eq!(text(&out.stderr), expected);
        }

        /// When the test runs as root, also check the non-root path by dropping privileges.
        #[test]
        fn non_root_is_refused_but_may_ask_version_and_check_config() {
            use std::os::unix::process::CommandExt;
            let as_nobody = |args: &[&str]| {
                let mut cmd = std::process::Command::new(BIN);
                cmd.args(args);
                if euid() == 0 {
                    cmd.uid(65534).gid(65534);
                }
                cmd.output().expect("run binary as nobody")
            };
            let out = as_nobody(&[]);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                text(&out.stderr),
                format!(
                    "Permission denied. You need root privileges to run {}.\n",
                    SPEC.prog
                )
            );
            assert_eq!(as_nobody(&["-v"]).status.code(), Some(0));
            // A missing file is all defaults, upstream's rule: the check passes.
            let out = as_nobody(&["--check-config", "/nonexistent/x.conf"]);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
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
            .replace(
                "@POLICY_DIR@",
                &repo.join("etc/dbus-1/system.d").display().to_string(),
            );
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

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
