//! The systemd units in `systemd/`: `systemd-analyze verify` is clean (with ExecStart
//! pointed at the binaries built here, since nothing is installed), and the services'
//! `systemd-analyze security` exposure is well below upstream's units (8.3 for their
//! hardening set, measured the same way).

use std::process::Command;

use stas_tests::workspace::{bin_dir, have_tool, repo};

/// The directory holding the workspace's binaries (this test runs from `deps/`).
/// Copies of the units with ExecStart= on the built binaries.
fn staged_units() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = bin_dir();
    for stafd_like in ["stafd", "stacd", "stasadm"] {
        assert!(
            bins.join(stafd_like).exists(),
            "{stafd_like} not built in {}",
            bins.display()
        );
    }
    for e in std::fs::read_dir(repo().join("systemd")).expect("systemd/") {
        let e = e.expect("entry");
        let text = std::fs::read_to_string(e.path()).expect("unit");
        let text = text
            .replace("/usr/sbin/", &format!("{}/", bins.display()))
            .replace("/usr/bin/stasadm", &bins.join("stasadm").to_string_lossy());
        std::fs::write(dir.path().join(e.file_name()), text).expect("write");
    }
    dir
}

#[test]
fn units_verify_clean() {
    if !have_tool("systemd-analyze") {
        return;
    }
    let dir = staged_units();
    let out = Command::new("systemd-analyze")
        .current_dir(dir.path())
        .args(["verify", "--man=no"])
        .args([
            "stafd.service",
            "stacd.service",
            "stas-config.target",
            "stas-config@hostnqn.service",
        ])
        .output()
        .expect("systemd-analyze runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn services_are_hardened_beyond_upstream() {
    if !have_tool("systemd-analyze") {
        return;
    }
    let dir = staged_units();
    for unit in ["stafd.service", "stacd.service"] {
        let out = Command::new("systemd-analyze")
            .current_dir(dir.path())
            .args(["security", "--offline=true", "--no-pager", unit])
            .output()
            .expect("systemd-analyze runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let level: f64 = text
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level for {unit}:\n{text}"));
        assert!(
            level <= 4.0,
            "{unit}: exposure {level} (upstream's units: 8.3)"
        );
    }
}
