//! Runs the built `stasadm` binary and checks its command-line behaviour against upstream.

use std::process::{Command, Output};

use staslib::testing::text;

const BIN: &str = env!("CARGO_BIN_EXE_stasadm");
/// Python argparse's `print_usage()` with an 80-column default width.
const USAGE: &str = "usage: stasadm [-h] [-v] [-c FILE]\n               {hostnqn,hostid,set-symname,clear-symname,migrate} ...\n";

fn run(args: &[&str]) -> Output {
    staslib::testing::run(BIN, args)
}

fn assert_usage_error(args: &[&str]) {
    staslib::testing::assert_usage_error(BIN, args);
}

/// Runs a subcommand against a scratch directory, with every system path redirected there.
fn run_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("COLUMNS")
        .env("STAS_MACHINE_ID_FILE", dir.join("machine-id"))
        .env("STAS_DMI_PRODUCT_UUID_FILE", dir.join("product_uuid"))
        .env("STAS_DT_PARTITION_UUID_FILE", dir.join("partition-uuid"))
        .env("STAS_ETC_NVME_DIR", dir.join("etc-nvme"))
        .output()
        .expect("run binary")
}

fn assert_succeeds_silently(dir: &std::path::Path, args: &[&str]) {
    let out = run_in(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{args:?}");
    assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
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
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("machine-id"),
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
    )
    .unwrap();
    let conf = d.path().join("sys.conf");
    let conf = conf.to_str().unwrap();
    assert_succeeds_silently(d.path(), &["-c", conf, "hostnqn"]);
    assert_succeeds_silently(
        d.path(),
        &[&format!("--conf-file={conf}"), "hostid", "-f", "id"],
    );
    assert_succeeds_silently(d.path(), &["--conf", conf, "clear-symname"]);
    let text = std::fs::read_to_string(conf).unwrap();
    assert!(text.starts_with(
        "[Host]\nnqn = nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964\nid = file://"
    ), "{text}");
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
fn every_subcommand_runs_and_prints_nothing() {
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("sys.conf");
    let c = conf.to_str().unwrap();
    assert_succeeds_silently(d.path(), &["-c", c, "hostnqn"]);
    assert_succeeds_silently(d.path(), &["-c", c, "hostnqn", "-f", "hostnqn"]);
    assert_succeeds_silently(d.path(), &["-c", c, "hostid", "--file", "hostid"]);
    assert_succeeds_silently(d.path(), &["-c", c, "hostid", "--from-nqn"]);
    assert_succeeds_silently(d.path(), &["-c", c, "set-symname", "Luke Sky"]);
    assert_succeeds_silently(d.path(), &["-c", c, "set-symname", "-f", "s", "Luke"]);
    assert_succeeds_silently(d.path(), &["-c", c, "set-symname", "--", "-x"]);
    assert_succeeds_silently(d.path(), &["-c", c, "clear-symname"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(!text.contains("symname"), "{text}");
    assert_eq!(text.matches("[Host]").count(), 1, "{text}");
}

#[test]
fn help_documents_from_nqn_and_the_environment() {
    let out = run(&["hostid", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--from-nqn"));
    let out = run(&["--help"]);
    assert!(text(&out.stdout).contains("STAS_MACHINE_ID_FILE"));
}
