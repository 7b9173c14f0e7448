//! Runs the built `stasadm` binary and checks its command-line behaviour against upstream.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_stasadm");
/// Python argparse's `print_usage()` with an 80-column default width.
const USAGE: &str = "usage: stasadm [-h] [-v] [-c FILE]\n               {hostnqn,hostid,set-symname,clear-symname} ...\n";

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

fn assert_usage_error(args: &[&str]) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

fn assert_not_implemented(args: &[&str], subcommand: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert_eq!(
        text(&out.stderr),
        format!("stasadm: {subcommand} is not implemented in this build yet\n"),
        "{args:?}"
    );
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[test]
fn version_prints_one_line_and_exits_0() {
    for args in [
        &["--version"][..],
        &["-v"],
        &["--v"],
        &["-c", "/nonexistent/sys.conf", "-v", "clear-symname"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(text(&out.stdout), format!("{}\n", staslib::version_line()));
        assert!(text(&out.stdout).starts_with("nvme-stas "));
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn no_subcommand_prints_usage_on_stdout_and_exits_1() {
    for args in [&[][..], &["-c", "/tmp/sys.conf"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stdout), USAGE);
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn conf_file_is_a_global_option_before_the_subcommand() {
    assert_not_implemented(&["-c", "/tmp/sys.conf", "hostnqn"], "hostnqn");
    assert_not_implemented(
        &["--conf-file=/tmp/sys.conf", "hostid", "-f", "/tmp/id"],
        "hostid",
    );
    assert_not_implemented(
        &["--conf", "/tmp/sys.conf", "clear-symname"],
        "clear-symname",
    );
    // After the subcommand it is unknown, as in argparse.
    assert_usage_error(&["hostnqn", "-c", "/tmp/sys.conf"]);
    assert_usage_error(&["-c"]);
}

#[test]
fn bad_arguments_exit_2() {
    assert_usage_error(&["--bogus"]);
    assert_usage_error(&["bogus"]);
    assert_usage_error(&["help"]);
    assert_usage_error(&["set-symname"]);
    assert_usage_error(&["set-symname", "a", "b"]);
    assert_usage_error(&["clear-symname", "x"]);
    assert_usage_error(&["hostnqn", "-v"]);
    // argparse never abbreviates subcommand names.
    assert_usage_error(&["set-sym", "x"]);
}

#[test]
fn every_subcommand_parses_and_fails_loudly() {
    assert_not_implemented(&["hostnqn"], "hostnqn");
    assert_not_implemented(&["hostnqn", "-f", "/tmp/hostnqn"], "hostnqn");
    assert_not_implemented(&["hostid", "--file", "/tmp/hostid"], "hostid");
    assert_not_implemented(&["set-symname", "Luke Sky"], "set-symname");
    assert_not_implemented(&["set-symname", "-f", "/tmp/s", "Luke"], "set-symname");
    assert_not_implemented(&["set-symname", "--", "-x"], "set-symname");
    assert_not_implemented(&["clear-symname"], "clear-symname");
}
