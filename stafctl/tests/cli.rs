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
fn every_subcommand_needs_its_daemon() {
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

fn man_page() -> (std::path::PathBuf, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../man/stafctl.1");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn man_page_documents_every_command_option_and_exit_status() {
    use staslib::cli::ArgparseTool;
    let (_, man) = man_page();
    let cmd = stafctl::Cli::argparse_command("stafctl");
    if let Err(e) = staslib::ctl::testing::check_man_page(&cmd, &man) {
        panic!("man/stafctl.1 is out of sync with the command line: {e}");
    }
    // The check itself fails on a page that lacks something.
    let stale = man.replace("Fl \\-pprint", "Fl \\-pretty");
    assert!(staslib::ctl::testing::check_man_page(&cmd, &stale).is_err());
}

#[test]
fn man_page_is_lint_clean() {
    let (path, _) = man_page();
    match staslib::ctl::testing::mandoc_lint(&path) {
        Some(r) => r.unwrap(),
        None => {
            assert_ne!(
                std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref(),
                Ok("1"),
                "mandoc is not installed and STAS_REQUIRE_SYSTEM_TESTS=1"
            );
            println!("SKIPPED: mandoc is not installed");
        }
    }
}

#[test]
fn help_documents_exit_statuses_and_output_forms() {
    let help = text(&run(&["--help"]).stdout);
    for needle in [
        "--json",
        "--pprint",
        "stats",
        "add",
        "remove",
        "monitor",
        "3  the daemon is not running",
        "4  permission denied",
        "5  unknown controller",
        "6  the daemon rejected",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
    // completions is there but hidden.
    assert!(!help.contains("completions"), "{help}");
}

#[test]
fn completions_for_bash_zsh_fish() {
    for (shell, first) in [
        ("bash", "_stafctl() {"),
        ("zsh", "#compdef stafctl"),
        ("fish", "complete -c stafctl"),
    ] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains(first), "{shell}: {script}");
        for word in ["adlp", "monitor", "host-nqn", "json"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    assert_usage_error(&["completions", "csh"]);
    assert_usage_error(&["completions"]);
}

#[test]
fn new_subcommands_check_their_arguments() {
    assert_usage_error(&["--json", "--pprint", "ls"]);
    assert_usage_error(&["ls", "--json", "--pprint"]);
    assert_usage_error(&["add"]);
    assert_usage_error(&["add", "-a", "1.2.3.4", "-t", "udp"]);
    assert_usage_error(&["remove", "-s", "8009"]);
    assert_usage_error(&["monitor", "--count", "many"]);
    assert_usage_error(&["stats", "-d"]);
    // A value clap cannot check: exit 2 before any bus is touched.
    let out = run(&["add", "-a", "1.2.3.4", "-o", "kato"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: invalid value 'kato' for '--option <key=value>': no '='\n"
    );
    // Output options go before or after the subcommand.
    assert_daemon_absent(&["--json", "stats"]);
    assert_daemon_absent(&["stats", "--pprint"]);
    assert_daemon_absent(&["add", "-a", "1.2.3.4", "-o", "kato=30"]);
    assert_daemon_absent(&["remove", "-a", "1.2.3.4"]);
    assert_daemon_absent(&["monitor", "-c", "1"]);
}

#[test]
fn an_unknown_host_nqn_is_one_line_and_exit_1() {
    // dlp without -q needs the system host NQN, as upstream; sys.conf points at a missing file.
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys.conf");
    std::fs::write(&sys, "[Host]\nnqn=file:///nonexistent/hostnqn\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["dlp", "-a", "1.2.3.4", "-s", "8009"])
        .env("STAS_SYS_CONF_FILE", &sys)
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("Error reading mandatory Host NQN"), "{err}");
}
