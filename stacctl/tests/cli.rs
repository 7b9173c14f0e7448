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
fn every_subcommand_needs_its_daemon() {
    assert_daemon_absent(&["tron"]);
    assert_daemon_absent(&["troff"]);
    assert_daemon_absent(&["status"]);
    assert_daemon_absent(&["ls"]);
    assert_daemon_absent(&["ls", "-d"]);
    assert_daemon_absent(&["ls", "--deta"]);
}

fn man_page() -> (std::path::PathBuf, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../man/stacctl.1");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn man_page_documents_every_command_option_and_exit_status() {
    use staslib::cli::ArgparseTool;
    let (_, man) = man_page();
    let cmd = stacctl::Cli::argparse_command("stacctl");
    if let Err(e) = staslib::ctl::testing::check_man_page(&cmd, &man) {
        panic!("man/stacctl.1 is out of sync with the command line: {e}");
    }
    let stale = man.replace("Cm monitor", "Cm watch");
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
fn help_documents_exit_statuses() {
    let help = text(&run(&["--help"]).stdout);
    for needle in [
        "--json",
        "--pprint",
        "stats",
        "monitor",
        "3  the daemon is not running",
        "4  permission denied",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[test]
fn completions_for_bash_zsh_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains("stacctl"), "{shell}");
        assert!(
            script.contains("monitor") && !script.contains("adlp"),
            "{shell}"
        );
    }
    assert_usage_error(&["completions", "tcsh"]);
}

#[test]
fn add_and_remove_need_the_subsystem_nqn() {
    assert_usage_error(&["add", "-a", "1.2.3.4"]);
    assert_usage_error(&["remove", "-a", "1.2.3.4", "-s", "4420"]);
    assert_daemon_absent(&["add", "-a", "1.2.3.4", "-n", "nqn.x"]);
    assert_daemon_absent(&["--json", "remove", "-a", "1.2.3.4", "-n", "nqn.x"]);
    assert_daemon_absent(&["stats"]);
    assert_daemon_absent(&["monitor"]);
}
