//! Runs the built `stafctl` binary and checks its command-line behaviour against upstream.

use std::process::Output;

use staslib::testing::text;

const BIN: &str = env!("CARGO_BIN_EXE_stafctl");
const USAGE: &str = "usage: stafctl [-h] [-v] {tron,troff,status,ls,dlp,adlp} ...\n";

fn run(args: &[&str]) -> Output {
    staslib::testing::run(BIN, args)
}

fn assert_usage_error(args: &[&str]) {
    staslib::testing::assert_usage_error(BIN, args);
}

/// The command line is accepted and the tool tries to reach stafd: exit 3 without a bus.
fn assert_daemon_absent(args: &[&str]) {
    staslib::testing::assert_daemon_absent(BIN, "stafd", args);
}

#[test]
fn version_prints_one_line_and_exits_0() {
    // A subcommand after -v is parsed but not run, as upstream.
    for args in [&["--version"][..], &["-v"], &["--vers"], &["-v", "tron"]] {
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
    assert_usage_error(&["bogus"]);
    assert_usage_error(&["help"]);
    assert_usage_error(&["ls", "--version"]);
    assert_usage_error(&["status", "extra"]);
    // argparse never abbreviates subcommand names.
    assert_usage_error(&["stat"]);
}

#[test]
fn dlp_requires_traddr_and_trsvcid() {
    assert_usage_error(&["dlp"]);
    assert_usage_error(&["dlp", "-a", "1.2.3.4"]);
    assert_usage_error(&["dlp", "-s", "8009"]);
    let err = text(&run(&["dlp"]).stderr);
    assert!(
        err.contains("--traddr") && err.contains("--trsvcid"),
        "{err}"
    );
}

#[test]
fn dlp_transport_choices_are_enforced() {
    for bad in ["udp", "TCP"] {
        assert_usage_error(&["dlp", "-a", "1.2.3.4", "-s", "8009", "-t", bad]);
    }
    for good in ["tcp", "rdma", "fc", "loop"] {
        assert_daemon_absent(&["dlp", "-a", "1.2.3.4", "-s", "8009", "-t", good]);
    }
}

#[test]
fn dlp_accepts_argparse_abbreviations() {
    assert_daemon_absent(&["dlp", "--tradd", "1.2.3.4", "--trs", "8009"]);
    assert_daemon_absent(&[
        "dlp",
        "--traddr=1.2.3.4",
        "--trsvcid=8009",
        "--host-tr",
        "10.0.0.1",
        "--host-i",
        "eth0",
        "--host-n",
        "q",
        "--n",
        "n",
        "--transp",
        "rdma",
    ]);
    // Ambiguous, exactly as argparse: --tra could match --transport, --traddr.
    assert_usage_error(&["dlp", "--tra", "1.2.3.4", "--trs", "8009"]);
}

#[test]
fn every_subcommand_parses_and_fails_loudly() {
    assert_daemon_absent(&["tron"]);
    assert_daemon_absent(&["troff"]);
    assert_daemon_absent(&["status"]);
    assert_daemon_absent(&["ls"]);
    assert_daemon_absent(&["ls", "-d"]);
    assert_daemon_absent(&["ls", "--det"]);
    assert_daemon_absent(&["adlp", "--detailed"]);
    assert_daemon_absent(&[
        "dlp", "-t", "tcp", "-a", "a", "-s", "s", "-w", "w", "-f", "f", "-q", "q", "-n", "n",
    ]);
}

#[test]
fn help_names_every_subcommand_and_option() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "tron",
        "troff",
        "status",
        "ls",
        "dlp",
        "adlp",
        "-v, --version",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    let out = run(&["dlp", "-h"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "-t, --transport <trtype>",
        "-a, --traddr <traddr>",
        "-s, --trsvcid <trsvcid>",
        "-w, --host-traddr <traddr>",
        "-f, --host-iface <iface>",
        "-q, --host-nqn <nqn>",
        "-n, --nqn <nqn>",
        "nqn.2014-08.org.nvmexpress.discovery",
        "rdma",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}
