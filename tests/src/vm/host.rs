//! Host side of the vm tier: find the kernel and virtme-ng, boot once, collect results.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ScenarioResult;
use super::stacd_scenarios::NO_ASLR_VAR;

/// Options of one vm tier run.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Only scenarios whose name contains this.
    pub filter: Option<String>,
    /// Directory shared with the guest for results (created).
    pub out_dir: PathBuf,
    /// Whole-VM time limit.
    pub timeout: Duration,
    /// Run the benchmark list instead of the tests, and print every scenario's figures.
    pub bench: bool,
}

/// Outcome of the tier, for the caller's exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum TierOutcome {
    Passed,
    Failed,
    Skipped(String),
}

/// The newest installed Debian 6.12 kernel image, or `STAS_VM_KERNEL`.
pub fn find_kernel() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("STAS_VM_KERNEL") {
        return Some(PathBuf::from(k));
    }
    let mut found: Vec<PathBuf> = fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-6.12."))
        })
        .collect();
    found.sort();
    found.pop()
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Boots the VM with `guest_exe guest ...` and reports every scenario.
pub fn run(guest_exe: &Path, expected: &[&str], opts: &HostOptions) -> TierOutcome {
    let Some(kernel) = find_kernel() else {
        return TierOutcome::Skipped(
            "no /boot/vmlinuz-6.12.* kernel (run tests/scripts/install-deps.sh)".into(),
        );
    };
    for tool in [
        "vng",
        "qemu-system-x86_64",
        "busybox",
        "nvme",
        "tshark",
        "dumpcap",
        "fio",
        "strace",
    ] {
        if !have(tool) {
            return TierOutcome::Skipped(format!(
                "{tool} not installed (run tests/scripts/install-deps.sh)"
            ));
        }
    }
    if let Err(e) = fs::create_dir_all(&opts.out_dir) {
        return TierOutcome::Skipped(format!("cannot create {}: {e}", opts.out_dir.display()));
    }
    let results_path = opts.out_dir.join("results.jsonl");
    let console_path = opts.out_dir.join("console.log");
    let _ = fs::remove_file(&results_path);

    if expected.iter().any(|n| n.starts_with("systemd_")) {
        if !have("dpkg-deb") {
            return TierOutcome::Skipped(
                "dpkg-deb not installed (run tests/scripts/install-deps.sh)".into(),
            );
        }
        if let Err(e) = build_deb(
            guest_exe,
            &opts.out_dir.join(super::systemd_scenarios::DEB_DIR),
        ) {
            println!("vm tier: FAILED to build the .deb for the systemd scenarios: {e}");
            return TierOutcome::Failed;
        }
    }
    let mut guest_cmd = format!(
        "{} guest --out {}",
        shell_quote(&guest_exe.to_string_lossy()),
        shell_quote(&opts.out_dir.to_string_lossy())
    );
    if let Some(f) = &opts.filter {
        guest_cmd.push_str(&format!(" --filter {}", shell_quote(f)));
    }
    if opts.bench {
        guest_cmd.push_str(" --bench");
    }
    // The guest starts with a fresh environment: pass on the benchmark's switches (address
    // space randomisation, profiling).
    if let Ok(v) = std::env::var(NO_ASLR_VAR) {
        guest_cmd = format!("{NO_ASLR_VAR}={} {guest_cmd}", shell_quote(&v));
    }
    if let Ok(p) = std::env::var("STAS_BENCH_PROFILE") {
        guest_cmd = format!("STAS_BENCH_PROFILE={} {guest_cmd}", shell_quote(&p));
    }
    println!(
        "vm tier: booting {} under TCG (virtme-ng)",
        kernel.display()
    );
    let mut boot = boot_vm(&kernel, &guest_cmd, &console_path, opts);
    // A VM that ends at once having printed nothing at all never ran the guest (seen once
    // in CI: vng exited after 9 s with an empty console); that is the harness failing to
    // start, not a scenario result, so it is booted once more, and said so.
    if let Boot::Ended { status, secs } = &boot
        && *secs < 60.0
        && read_results(&results_path).is_empty()
        && fs::metadata(&console_path).map_or(true, |m| m.len() == 0)
    {
        println!(
            "vm tier: the VM ended after {secs:.0} s without any output ({status}); booting it again"
        );
        boot = boot_vm(&kernel, &guest_cmd, &console_path, opts);
    }
    let started_secs = match &boot {
        Boot::Failed => return TierOutcome::Failed,
        Boot::Skipped(why) => return TierOutcome::Skipped(why.clone()),
        Boot::Ended { secs, .. } | Boot::TimedOut { secs } => *secs,
    };
    let timed_out = matches!(boot, Boot::TimedOut { .. });
    let vng_status = match &boot {
        Boot::Ended { status, .. } => format!(", vng {status}"),
        _ => String::new(),
    };
    // A leftover qemu would hold the CPU; vng's own children go with it when it is killed.
    let mut results = read_results(&results_path);
    for r in results.values_mut().filter(|r| r.passed) {
        for cap in &r.captures {
            if let Err(why) = tshark_check(&opts.out_dir.join(cap)) {
                r.passed = false;
                r.detail = format!("capture {cap}: {why}");
            } else {
                r.evidence.push(format!("tshark: {cap} decodes cleanly"));
                // Large; kept only when it shows a problem.
                let _ = fs::remove_file(opts.out_dir.join(cap));
            }
        }
    }
    let mut passed = 0;
    let mut failed = 0;
    for name in expected {
        match results.get(*name) {
            Some(r) if r.passed => {
                passed += 1;
                println!("PASS {name} ({:.1} s)", r.duration_ms as f64 / 1000.0);
                if opts.bench {
                    for line in &r.evidence {
                        println!("    | {line}");
                    }
                }
            }
            Some(r) => {
                failed += 1;
                println!(
                    "FAIL {name} ({:.1} s): {}",
                    r.duration_ms as f64 / 1000.0,
                    r.detail
                );
                for line in &r.evidence {
                    println!("    | {line}");
                }
            }
            None => {
                failed += 1;
                println!("FAIL {name}: no result from the guest");
            }
        }
    }
    if timed_out || results.len() < expected.len() {
        println!(
            "vm tier: guest {} after {:.0} s{vng_status}; last console lines ({}):",
            if timed_out {
                "timed out"
            } else {
                "ended early"
            },
            started_secs,
            console_path.display()
        );
        for line in tail(&console_path, 40) {
            println!("    > {line}");
        }
    }
    println!(
        "vm tier: {} scenarios in {:.0} s",
        expected.len(),
        started_secs
    );
    println!("{passed} passed, {failed} failed");
    if failed == 0 && passed == expected.len() {
        TierOutcome::Passed
    } else {
        TierOutcome::Failed
    }
}

/// Decodes a capture with tshark's NVMe/TCP dissector (an implementation independent of
/// ours): it must see NVMe/TCP PDUs and mark none of them malformed or in error.
pub fn tshark_check(pcap: &Path) -> Result<(), String> {
    let count = |filter: &str| -> Result<usize, String> {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(pcap)
            .args([
                "-d",
                "tcp.port==4420,nvme-tcp",
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.number",
            ])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("tshark: {e}"))?;
        if !out.status.success() {
            return Err(format!("tshark failed: {}", out.status));
        }
        Ok(out
            .stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count())
    };
    let pdus = count("nvme-tcp")?;
    let bad = count("_ws.malformed || _ws.expert.severity >= \"error\"")?;
    if pdus == 0 {
        return Err("tshark found no NVMe/TCP PDUs".into());
    }
    if bad > 0 {
        return Err(format!(
            "tshark marks {bad} of {pdus} frames malformed or in error"
        ));
    }
    Ok(())
}

/// How one boot of the VM ended.
enum Boot {
    Ended { status: String, secs: f64 },
    TimedOut { secs: f64 },
    Failed,
    Skipped(String),
}

fn boot_vm(kernel: &Path, guest_cmd: &str, console_path: &Path, opts: &HostOptions) -> Boot {
    let console = match fs::File::create(console_path) {
        Ok(f) => f,
        Err(e) => return Boot::Skipped(format!("cannot create console log: {e}")),
    };
    let started = Instant::now();
    let child = Command::new("vng")
        .arg("--run")
        .arg(kernel)
        .args(["--disable-kvm", "--memory", "2G", "--cpus", "2", "--rwdir"])
        .arg(&opts.out_dir)
        .arg("--exec")
        .arg(guest_cmd)
        .stdin(Stdio::null())
        .stdout(console.try_clone().expect("dup console fd"))
        .stderr(console)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            println!("vm tier: FAILED to start vng: {e}");
            return Boot::Failed;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Boot::Ended {
                    status: status.to_string(),
                    secs: started.elapsed().as_secs_f64(),
                };
            }
            Ok(None) if started.elapsed() > opts.timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Boot::TimedOut {
                    secs: started.elapsed().as_secs_f64(),
                };
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => {
                return Boot::Ended {
                    status: format!("wait failed: {e}"),
                    secs: started.elapsed().as_secs_f64(),
                };
            }
        }
    }
}

/// The package the systemd scenarios install, from the binaries next to `guest_exe`.
fn build_deb(guest_exe: &Path, dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    let bin_dir = guest_exe
        .parent()
        .ok_or("no directory of the vm tier binary")?;
    let out = Command::new(crate::workspace::repo().join("packaging/deb/build.sh"))
        .arg(dir)
        .env("BUILD", bin_dir)
        .output()
        .map_err(|e| format!("packaging/deb/build.sh: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "packaging/deb/build.sh failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn read_results(path: &Path) -> BTreeMap<String, ScenarioResult> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<ScenarioResult>(l).ok())
        .map(|r| (r.name.clone(), r))
        .collect()
}

fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
