//! `cargo run --release -p stas-demo`: the whole product on one machine, with no root and no
//! storage network. Two simulated NVMe/TCP targets (nvme-sim) listen on loopback: the first
//! is a discovery controller that lists two subsystems and a referral to the second, which
//! lists a third. stafd and stacd run on the native backend on a private D-Bus that this
//! program starts; what they did is shown with `stafctl` and `stacctl`. Then one subsystem
//! is added to the first target, which announces it with an AEN, and the demo shows it
//! connected. Everything started is stopped at the end.
//!
//! The daemons and control tools are this same binary, run again with `STAS_DEMO_ROLE` set
//! (they are libraries with thin `main`s), so `cargo run -p stas-demo` builds all it needs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use libnvme_rs::spec::disclog::subtype;
use nvme_sim::{SimConfig, SimHandle, Simulator, SubsystemConfig, referral_entry, tcp_entry};
use staslib::testing::PrivateBus;

const ROLE: &str = "STAS_DEMO_ROLE";
const NQN_PREFIX: &str = "nqn.2014-08.org.example.demo:vol-";

fn main() -> ExitCode {
    match std::env::var(ROLE).as_deref() {
        Ok("stafd") => return stafd::run(&staslib::daemon_cli::parse(&stafd::SPEC)),
        Ok("stacd") => return stacd::run(&staslib::daemon_cli::parse(&stacd::SPEC)),
        Ok("stafctl") => return stafctl::run(&stafctl::parse()),
        Ok("stacctl") => return stacctl::run(&stacctl::parse()),
        _ => {}
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stas-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(demo()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stas-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn nqn(i: usize) -> String {
    format!("{NQN_PREFIX}{i}")
}

/// The repository (for the private bus's configuration template).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// A daemon started from this binary; stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon {
    name: &'static str,
    child: Child,
}

impl Daemon {
    fn start(name: &'static str, dir: &Path, bus: &PrivateBus) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join(format!("{name}.log")))
            .map_err(|e| format!("{name}.log: {e}"))?;
        let child = Command::new(exe)
            .env(ROLE, name)
            .args(["-f", &dir.join(format!("{name}.conf")).to_string_lossy()])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("STAS_SYS_CONF_FILE", dir.join("sys.conf"))
            .env("RUNTIME_DIRECTORY", dir.join(format!("run-{name}")))
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Self { name, child })
    }

    /// SIGTERM and wait; `Err` if it does not exit cleanly within 10 s. Waits without
    /// blocking the runtime: the simulated targets run on it and the daemons' goodbyes
    /// need their answers.
    async fn stop(mut self) -> Result<u32, String> {
        let pid = self.child.id();
        terminate(pid);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return if status.success() {
                    Ok(pid)
                } else {
                    Err(format!("{} exited with {status}", self.name))
                };
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not stop within 10 s", self.name));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn terminate(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) on the PID of our own child, which we have not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
}

/// Runs `stafctl`/`stacctl` (this binary in that role) and prints the command and output.
fn show(tool: &str, args: &[&str], bus: &PrivateBus) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .env(ROLE, tool)
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .map_err(|e| format!("{tool}: {e}"))?;
    println!("$ {tool} {}", args.join(" "));
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    println!();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{tool} {} failed: {}", args.join(" "), out.status))
    }
}

/// IOCs stacd shows connected, read over D-Bus.
async fn connected(conn: &zbus::Connection) -> Vec<String> {
    let reply = conn
        .call_method(
            Some(staslib::dbus::STACD_NAME),
            staslib::dbus::STACD_PATH,
            Some(staslib::dbus::STACD_NAME),
            "list_controllers",
            &(true,),
        )
        .await;
    let Ok(reply) = reply else {
        return Vec::new();
    };
    let list: Vec<std::collections::HashMap<String, String>> =
        reply.body().deserialize().unwrap_or_default();
    let mut out: Vec<String> = list
        .into_iter()
        .filter(|c| c.get("connected").map(String::as_str) == Some("True"))
        .filter_map(|c| c.get("subsysnqn").cloned())
        .collect();
    out.sort();
    out
}

async fn wait_connected(
    conn: &zbus::Connection,
    want: &[String],
    within: Duration,
) -> Result<Duration, String> {
    let t = Instant::now();
    loop {
        let now = connected(conn).await;
        if now == want {
            return Ok(t.elapsed());
        }
        if t.elapsed() > within {
            return Err(format!(
                "stacd shows {now:?} connected after {} s, expected {want:?}",
                within.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn host_uuid() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("/proc/sys/kernel/random/uuid: {e}"))
}

async fn start_sim(subsystems: &[String]) -> Result<SimHandle, String> {
    let cfg = SimConfig {
        subsystems: subsystems
            .iter()
            .map(|n| SubsystemConfig::new(n.as_str()))
            .collect(),
        ..Default::default()
    };
    Simulator::start(cfg)
        .await
        .map_err(|e| format!("simulated target: {e}"))
}

fn print_log_tails(dir: &Path) {
    for name in ["stafd", "stacd"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.log"))) {
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- last lines of {name}'s log:");
            for l in &lines[lines.len().saturating_sub(10)..] {
                eprintln!("    {l}");
            }
        }
    }
}

async fn demo() -> Result<(), String> {
    let t0 = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("stas-demo-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let d = dir.path();
    let result = run(d).await;
    if result.is_err() {
        print_log_tails(d);
    }
    result?;
    println!(
        "Demo finished in {:.1} s; everything it started has been stopped.",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(d: &Path) -> Result<(), String> {
    // Two simulated targets: A is a discovery controller with vol-1, vol-2 and a referral
    // to B, a discovery controller with vol-3.
    let sim_b = start_sim(&[nqn(3)]).await?;
    let b = sim_b.addr();
    sim_b
        .set_discovery_log(vec![tcp_entry(b, subtype::NVME, &nqn(3))])
        .map_err(|e| e.to_string())?;
    let sim_a = start_sim(&[nqn(1), nqn(2)]).await?;
    let a = sim_a.addr();
    sim_a
        .set_discovery_log(vec![
            tcp_entry(a, subtype::NVME, &nqn(1)),
            tcp_entry(a, subtype::NVME, &nqn(2)),
            referral_entry(b),
        ])
        .map_err(|e| e.to_string())?;

    let uuid = host_uuid()?;
    let write = |name: &str, text: String| {
        std::fs::write(d.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    write(
        "sys.conf",
        format!("[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:{uuid}\nid={uuid}\n"),
    )?;
    write(
        "stafd.conf",
        format!(
            "[Global]\nbackend=native\n\n[Controllers]\ncontroller=transport=tcp;traddr={};trsvcid={}\n",
            a.ip(),
            a.port()
        ),
    )?;
    write("stacd.conf", "[Global]\nbackend=native\n".into())?;

    println!("nvme-stas demo: no root, no storage network, nothing on the host touched.");
    println!(
        "  simulated target A (discovery controller): {a}, lists vol-1, vol-2 and a referral to B"
    );
    println!("  simulated target B (discovery controller): {b}, lists vol-3");
    println!("  stafd and stacd on the native NVMe/TCP backend, on a private D-Bus");
    println!("  work directory: {}", d.display());
    println!();

    let bus = PrivateBus::start_open(&d.join("bus"), &repo()).map_err(|e| {
        format!("cannot start a private dbus-daemon ({e}); install the dbus package")
    })?;
    let conn = zbus::connection::Builder::address(bus.address.as_str())
        .build()
        .await
        .map_err(|e| format!("private bus: {e}"))?;
    let stafd = Daemon::start("stafd", d, &bus)?;
    let stacd = Daemon::start("stacd", d, &bus)?;
    let three: Vec<String> = (1..=3).map(nqn).collect();
    let took = wait_connected(&conn, &three, Duration::from_secs(30)).await?;
    println!(
        "stafd found both discovery controllers and stacd connected all 3 I/O controllers in {:.2} s.\n",
        took.as_secs_f64()
    );
    show("stafctl", &["ls"], &bus)?;
    show("stacctl", &["ls"], &bus)?;
    show("stacctl", &["status"], &bus)?;

    println!("Adding vol-4 to target A: it sends a Discovery Log Page Change AEN ...");
    let t = Instant::now();
    sim_a
        .add_subsystem(SubsystemConfig::new(nqn(4)), true)
        .map_err(|e| e.to_string())?;
    let four: Vec<String> = (1..=4).map(nqn).collect();
    wait_connected(&conn, &four, Duration::from_secs(20)).await?;
    println!(
        "... stafd re-read the log page and stacd connected vol-4 {:.2} s later.\n",
        t.elapsed().as_secs_f64()
    );
    show("stacctl", &["ls"], &bus)?;

    let stacd_pid = stacd.stop().await?;
    let stafd_pid = stafd.stop().await?;
    let bus_pid = bus.pid();
    drop(bus);
    sim_a.shutdown().await;
    sim_b.shutdown().await;
    println!(
        "Stopped stacd (pid {stacd_pid}), stafd (pid {stafd_pid}), dbus-daemon (pid {bus_pid}) and both simulated targets."
    );
    Ok(())
}
