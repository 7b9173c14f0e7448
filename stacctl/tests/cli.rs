//! Runs the built `stacctl` binary and checks its command-line behaviour against upstream.

use std::process::Output;

use staslib::testing::text;

const BIN: &str = env!("CARGO_BIN_EXE_stacctl");
const USAGE: &str = "usage: stacctl [-h] [-v] {tron,troff,status,ls} ...\n";

fn run(args: &[&str]) -> Output {
    staslib::testing::run(BIN, args)
}

fn assert_usage_error(args: &[&str]) {
    staslib::testing::assert_usage_error(BIN, args);
}

/// The command line is accepted and the tool tries to reach stacd: exit 3 without a bus.
fn assert_daemon_absent(args: &[&str]) {
    staslib::testing::assert_daemon_absent(BIN, "stacd", args);
}

#[test]
fn version_prints_one_line_and_exits_0() {
    for args in [&["--version"][..], &["-v"], &["--ver"], &["-v", "ls", "-d"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(text(&out.stdout), format!("{}\n", staslib::version_line()));
        assert!(text(&out.stdout).starts_with("nvme-stas "));
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn no_subcommand_prints_usage_on_stdout_and_exits_1() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), USAGE);
    assert!(out.stderr.is_empty());
}

#[test]
fn bad_arguments_exit_2() {
    assert_usage_error(&["--bogus"]);
    assert_usage_error(&["dlp", "-a", "1", "-s", "2"]);
    assert_usage_error(&["adlp"]);
    assert_usage_error(&["help"]);
    assert_usage_error(&["ls", "-v"]);
    assert_usage_error(&["tr"]);
}

#[test]
fn every_subcommand_parses_and_fails_loudly() {
    assert_daemon_absent(&["tron"]);
    assert_daemon_absent(&["troff"]);
    assert_daemon_absent(&["status"]);
    assert_daemon_absent(&["ls"]);
    assert_daemon_absent(&["ls", "-d"]);
    assert_daemon_absent(&["ls", "--deta"]);
}
