//! Runs the built `stacd` binary and checks its command-line behaviour against upstream.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_stacd");
const PROG: &str = "stacd";
const DEFAULT_CONF: &str = "/etc/stas/stacd.conf";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("run binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_prints_two_lines_and_exits_0() {
    for flag in ["--version", "-v", "--vers"] {
        let out = run(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert_eq!(
            text(&out.stdout),
            format!(
                "{}\n{}\n",
                staslib::version_line(),
                staslib::libnvme_version_line()
            )
        );
        assert!(text(&out.stdout).starts_with("nvme-stas "));
        assert!(out.stderr.is_empty());
    }
    // Other options are parsed but ignored when -v is given.
    let out = run(&["-f", "/nonexistent", "--tron", "-s", "-v"]);
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
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_exits_0_and_names_every_option() {
    let out = run(&["-h"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "-f, --conf-file <FILE>",
        "-s, --syslog",
        "--tron",
        "-v, --version",
        DEFAULT_CONF,
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// After parsing, the upstream pre-flight checks run; the daemon itself is not built yet, so
/// the program must never exit 0.
#[test]
fn preflight_then_not_implemented() {
    let out = run(&["--conf-file", "/nonexistent", "--tron"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let expected = if euid() != 0 {
        format!("Permission denied. You need root privileges to run {PROG}.\n")
    } else if !std::path::Path::new("/dev/nvme-fabrics").exists() {
        "Fatal error: missing nvme-tcp kernel module\n".to_owned()
    } else {
        format!("{PROG}: the daemon is not implemented in this build yet\n")
    };
    assert_eq!(err, expected);
}

/// When the test runs as root, also check the non-root path by dropping privileges.
#[test]
fn non_root_is_refused() {
    use std::os::unix::process::CommandExt;
    if euid() != 0 {
        let out = run(&[]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            text(&out.stderr),
            format!("Permission denied. You need root privileges to run {PROG}.\n")
        );
        return;
    }
    let out = Command::new(BIN)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run binary as nobody");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("Permission denied. You need root privileges to run {PROG}.\n")
    );
    // --version works without root.
    let out = Command::new(BIN)
        .arg("-v")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run binary as nobody");
    assert_eq!(out.status.code(), Some(0));
}
