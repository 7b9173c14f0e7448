//! The README's first command, run as a new user would (not root: as `nobody` when the
//! tests run as root): it shows both daemons' output and the picked-up change, exits 0 and
//! leaves no process behind.

use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::time::Duration;

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; its state is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

#[test]
fn the_demo_runs_end_to_end_without_root_and_cleans_up() {
    if Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_err()
    {
        assert_ne!(
            std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref(),
            Ok("1"),
            "dbus-daemon missing and STAS_REQUIRE_SYSTEM_TESTS=1"
        );
        println!("SKIPPED: dbus-daemon is not installed");
        return;
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stas-demo"));
    cmd.current_dir("/tmp")
        .env_remove("DBUS_SYSTEM_BUS_ADDRESS");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534).env("HOME", "/nonexistent");
    }
    let t = std::time::Instant::now();
    let out = cmd.output().expect("the demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
    for want in [
        "stacd connected all 3 I/O controllers",
        "$ stafctl ls",
        "$ stacctl ls",
        "$ stacctl status",
        "connected (referral)",
        "nqn.2014-08.org.example.demo:vol-3",
        "stacd connected vol-4",
        "backend                    native",
    ] {
        assert!(stdout.contains(want), "{want:?} missing from:\n{stdout}");
    }
    // The last `stacctl ls` lists vol-4 connected.
    let last = stdout.rsplit("$ stacctl ls").next().unwrap_or_default();
    assert!(
        last.lines()
            .any(|l| l.contains("connected") && l.contains("vol-4")),
        "{last}"
    );
    // Every process it names is gone.
    let stopped = stdout
        .lines()
        .find(|l| l.starts_with("Stopped "))
        .unwrap_or_else(|| panic!("no Stopped line:\n{stdout}"));
    let pids: Vec<u32> = stopped
        .split("(pid ")
        .skip(1)
        .filter_map(|s| s.split(')').next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 3, "{stopped}");
    for pid in pids {
        assert!(!alive(pid), "pid {pid} is still running: {stopped}");
    }
}
