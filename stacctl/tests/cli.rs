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

fn assert_not_implemented(args: &[&str], subcommand: &str) {
    staslib::testing::assert_not_implemented(BIN, "stacctl", args, subcommand);
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
    assert_not_implemented(&["tron"], "tron");
    assert_not_implemented(&["troff"], "troff");
    assert_not_implemented(&["status"], "status");
    assert_not_implemented(&["ls"], "ls");
    assert_not_implemented(&["ls", "-d"], "ls");
    assert_not_implemented(&["ls", "--deta"], "ls");
}
