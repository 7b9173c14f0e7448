//! Runs the built `stafd` binary and checks its command-line behaviour against upstream.

staslib::daemon_binary_tests!(env!("CARGO_BIN_EXE_stafd"), staslib::daemon_cli::STAFD);

mod preflight {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use staslib::testing::{euid, text};

    const BIN: &str = env!("CARGO_BIN_EXE_stafd");

    fn conf(dir: &std::path::Path, backend: &str) -> std::path::PathBuf {
        let path = dir.join("stafd.conf");
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
                "Permission denied. You need root privileges to run stafd.\n"
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
                "Permission denied. You need root privileges to run stafd.\n"
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
            err.contains("D-Bus: cannot take org.nvmexpress.staf"),
            "{err}"
        );
        assert!(!err.contains("Permission denied"), "{err}");
    }
}
