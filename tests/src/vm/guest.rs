//! Guest side of the vm tier: prepare the kernel, then build, test and tear down each scenario.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::nvmet::{NVMET_ROOT, Nvmet};
use super::{Scenario, ScenarioResult};

/// Host identity every scenario uses (written to the guest's `/etc/nvme`, an overlay).
pub const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964";
pub const HOSTID: &str = "3da64a01-16c5-4e10-ac46-397e2372b964";

/// Where namespace backing files live inside the guest (a tmpfs mounted by [`prepare`]).
const BACKING_DIR: &str = "/run/stas-vm-backing";

/// What a scenario works with.
pub struct Ctx {
    pub nvmet: Nvmet,
    log: Vec<String>,
    out_dir: PathBuf,
    captures: Vec<String>,
}

/// A running `dumpcap` on the guest's loopback.
pub struct Capture {
    child: std::process::Child,
    file: PathBuf,
}

impl Ctx {
    /// Records a line of evidence (shown when the scenario fails).
    pub fn log(&mut self, line: impl Into<String>) {
        self.log.push(line.into());
    }

    /// Starts capturing TCP port `port` on loopback; returns once dumpcap is capturing.
    pub fn capture_start(&mut self, name: &str, port: u16) -> Result<Capture, String> {
        let file = PathBuf::from(BACKING_DIR).join(format!("{name}.pcapng"));
        let log = PathBuf::from(BACKING_DIR).join(format!("{name}.dumpcap.log"));
        let child = Command::new("dumpcap")
            .args(["-q", "-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("dumpcap: {e}"))?;
        // dumpcap announces the file once it captures; traffic before that would be lost.
        let started = wait_for(Duration::from_secs(30), || {
            fs::read_to_string(&log)
                .ok()
                .filter(|l| l.contains("File:"))
                .map(|_| ())
        });
        let mut cap = Capture { child, file };
        if started.is_none() {
            let _ = cap.child.kill();
            return Err(format!(
                "dumpcap did not start: {}",
                fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        Ok(cap)
    }

    /// Stops the capture and hands the file to the host for the tshark check.
    pub fn capture_finish(&mut self, mut cap: Capture) -> Result<(), String> {
        // SIGINT makes dumpcap flush and close the file properly.
        let status = Command::new("kill")
            .args(["-INT", &cap.child.id().to_string()])
            .status()
            .map_err(|e| format!("stop dumpcap: {e}"))?;
        if !status.success() {
            return Err(format!("stop dumpcap: kill {status}"));
        }
        cap.child.wait().map_err(|e| e.to_string())?;
        let name = cap
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        fs::copy(&cap.file, self.out_dir.join(&name)).map_err(|e| format!("copy capture: {e}"))?;
        let _ = fs::remove_file(&cap.file);
        self.log(format!("capture {name} handed to the host"));
        self.captures.push(name);
        Ok(())
    }

    /// The results directory shared with the host.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Runs a command and returns its stdout; a failure carries stderr.
    pub fn sh(&mut self, cmdline: &str) -> Result<String, String> {
        run_sh(Command::new("sh").args(["-c", cmdline]), cmdline)
    }
}

/// Runs `cmd` (which runs `cmdline` through a shell) and returns its stdout; a failure
/// carries the status, stdout and stderr.
pub fn run_sh(cmd: &mut Command, cmdline: &str) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmdline}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "`{cmdline}` failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Polls `cond` every 50 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `Err(msg)` unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

fn prepare() -> Result<(), String> {
    let run = |c: &str| -> Result<(), String> {
        let st = Command::new("sh")
            .args(["-c", c])
            .status()
            .map_err(|e| e.to_string())?;
        if st.success() {
            Ok(())
        } else {
            Err(format!("`{c}` failed: {st}"))
        }
    };
    run("modprobe -a nvmet nvmet-tcp nvme-tcp nvme-fabrics")?;
    run("mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config")?;
    run("ip link set lo up")?;
    // nvmet takes a file namespace's LBA size from the inode's block bits, which virtme-ng's
    // overlayfs reports as 0 (1-byte LBAs the host refuses); tmpfs reports 4 KiB.
    run(&format!(
        "mkdir -p {BACKING_DIR} && (mountpoint -q {BACKING_DIR} || mount -t tmpfs -o size=512M none {BACKING_DIR})"
    ))?;
    fs::create_dir_all("/etc/nvme").map_err(|e| e.to_string())?;
    fs::write("/etc/nvme/hostnqn", format!("{HOSTNQN}\n")).map_err(|e| e.to_string())?;
    fs::write("/etc/nvme/hostid", format!("{HOSTID}\n")).map_err(|e| e.to_string())?;
    Ok(())
}

/// Deletes every fabrics controller (leftovers of a failed scenario must not leak into the next).
fn disconnect_all() {
    let Ok(rd) = fs::read_dir("/sys/class/nvme") else {
        return;
    };
    for e in rd.flatten() {
        let _ = fs::write(e.path().join("delete_controller"), "1");
    }
    wait_for(Duration::from_secs(10), || {
        fs::read_dir("/sys/class/nvme")
            .map(|mut rd| rd.next().is_none())
            .unwrap_or(true)
            .then_some(())
    });
}

fn evidence_of_state(log: &mut Vec<String>) {
    let mut push_cmd = |c: &str| {
        log.push(format!("$ {c}"));
        match Command::new("sh").args(["-c", c]).output() {
            Ok(o) => {
                for l in String::from_utf8_lossy(&o.stdout).lines() {
                    log.push(l.to_owned());
                }
            }
            Err(e) => log.push(format!("({e})")),
        }
    };
    push_cmd(
        "ls /sys/class/nvme/ 2>&1; for c in /sys/class/nvme/nvme*; do [ -e $c ] && echo $c: $(cat $c/state $c/subsysnqn $c/address 2>/dev/null); done",
    );
    push_cmd("dmesg | grep -i nvme | tail -n 25");
}

fn run_one(s: &Scenario, backing: &Path, out: &Path) -> ScenarioResult {
    let nvmet = Nvmet::new(NVMET_ROOT, backing);
    let mut ctx = Ctx {
        nvmet: nvmet.clone(),
        log: Vec::new(),
        out_dir: out.to_owned(),
        captures: Vec::new(),
    };
    let started = Instant::now();
    let outcome = nvmet
        .clear()
        .map_err(|e| format!("clearing nvmet: {e}"))
        .and_then(|()| {
            nvmet
                .apply(&(s.target)())
                .map_err(|e| format!("nvmet setup: {e}"))
        })
        .and_then(|()| (s.run)(&mut ctx));
    let duration_ms = started.elapsed().as_millis() as u64;
    let mut evidence = std::mem::take(&mut ctx.log);
    if outcome.is_err() {
        evidence_of_state(&mut evidence);
    }
    disconnect_all();
    if let Err(e) = nvmet.clear() {
        evidence.push(format!("teardown: {e}"));
    }
    ScenarioResult {
        name: s.name.to_owned(),
        passed: outcome.is_ok(),
        duration_ms,
        detail: outcome.err().unwrap_or_default(),
        evidence,
        captures: ctx.captures,
    }
}

/// Runs every scenario matching `filter`, appending results to `<out>/results.jsonl`.
pub fn run(out: &Path, filter: Option<&str>, scenarios: &[Scenario]) -> std::io::Result<()> {
    let results_path = out.join("results.jsonl");
    let mut results = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results_path)?;
    let backing = PathBuf::from(BACKING_DIR);
    let prep = prepare();
    for s in scenarios
        .iter()
        .filter(|s| filter.is_none_or(|f| f.split(',').any(|f| s.name.contains(f))))
    {
        let r = match &prep {
            Ok(()) => run_one(s, &backing, out),
            Err(e) => ScenarioResult {
                name: s.name.to_owned(),
                passed: false,
                duration_ms: 0,
                detail: format!("guest preparation failed: {e}"),
                evidence: Vec::new(),
                captures: Vec::new(),
            },
        };
        println!(
            "STAS-VM {} {}",
            if r.passed { "PASS" } else { "FAIL" },
            r.name
        );
        writeln!(
            results,
            "{}",
            serde_json::to_string(&r).map_err(std::io::Error::other)?
        )?;
        results.flush()?;
    }
    Ok(())
}
