//! Host-side scale of the whole product: nvme-sim serving N subsystems behind one
//! discovery controller, stafd and stacd on the native backend on a private dbus-daemon.
//! Prints the time from starting both daemons to all N IOCs connected (as stacd reports on
//! D-Bus and as the simulator counts them), the time from a subsystem added (AEN) to its IOC
//! connected, and each daemon's VmRSS and CPU time.
//!
//! `stas-scalebench [N ...]` (default 1000). Uses `target/release/{stafd,stacd}` when built
//! (`cargo build --release -p stafd -p stacd`), else the binaries next to this one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use libnvme_rs::spec::disclog::subtype;
use nvme_sim::{SimConfig, SimHandle, Simulator, SubsystemConfig, tcp_entry};
use stas_tests::procfs;
use stas_tests::workspace::repo;
use staslib::testing::PrivateBus;

const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b";
const HOSTID: &str = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b";

fn nqn(i: usize) -> String {
    format!("nqn.2024-01.io.example:scale-{i:04}")
}

fn daemon_bin(name: &str) -> Result<PathBuf, String> {
    let release = repo().join("target/release").join(name);
    if release.exists() {
        return Ok(release);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe.with_file_name(name);
    bin.exists()
        .then_some(bin)
        .ok_or(format!("{name} is not built (cargo build --workspace)"))
}

struct Daemon(Child);

impl Daemon {
    fn start(name: &str, dir: &Path, bus: &PrivateBus) -> Result<Self, String> {
        let child = Command::new(daemon_bin(name)?)
            .args(["-f", &dir.join(format!("{name}.conf")).to_string_lossy()])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("STAS_SYS_CONF_FILE", dir.join("sys.conf"))
            .env("RUNTIME_DIRECTORY", dir.join(format!("run-{name}")))
            .env_remove("NOTIFY_SOCKET")
            .stderr(
                std::fs::File::create(dir.join(format!("{name}.log")))
                    .map_err(|e| e.to_string())?,
            )
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Self(child))
    }

    fn cpu_ticks(&self) -> Option<u64> {
        procfs::cpu_ticks(self.0.id())
    }

    fn figures(&self) -> String {
        let pid = self.0.id();
        format!(
            "VmRSS {:.1} MiB (VmHWM {:.1}), CPU {:.2} s",
            procfs::status_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0,
            procfs::status_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0,
            procfs::cpu_seconds(pid)
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's PID.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// IOCs the simulator holds (the target's view).
fn sim_iocs(sim: &SimHandle) -> usize {
    sim.controllers().iter().filter(|c| !c.discovery).count()
}

async fn stac_connected(conn: &zbus::Connection) -> usize {
    let reply = conn
        .call_method(
            Some("org.nvmexpress.stac"),
            "/org/nvmexpress/stac",
            Some("org.nvmexpress.stac"),
            "list_controllers",
            &(true,),
        )
        .await;
    let Ok(reply) = reply else { return 0 };
    let list: Vec<std::collections::HashMap<String, String>> =
        reply.body().deserialize().unwrap_or_default();
    list.iter()
        .filter(|c| c.get("connected").map(String::as_str) == Some("True"))
        .count()
}

async fn wait_until(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if done().await {
            return Some(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn one(n: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let d = dir.path();
    let bus = PrivateBus::start(&d.join("bus"), &repo())?;
    let cfg = SimConfig {
        subsystems: (0..n).map(|i| SubsystemConfig::new(nqn(i))).collect(),
        ..Default::default()
    };
    let sim = Simulator::start(cfg).await.map_err(|e| e.to_string())?;
    let a = sim.addr();
    sim.set_discovery_log(
        (0..n)
            .map(|i| tcp_entry(a, subtype::NVME, &nqn(i)))
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    let write =
        |name: &str, text: String| std::fs::write(d.join(name), text).map_err(|e| e.to_string());
    write("sys.conf", format!("[Host]\nnqn={HOSTNQN}\nid={HOSTID}\n"))?;
    write(
        "stafd.conf",
        format!(
            "[Global]\nbackend=native\n\n[Controllers]\ncontroller=transport=tcp;traddr=127.0.0.1;trsvcid={}\n",
            a.port()
        ),
    )?;
    write("stacd.conf", "[Global]\nbackend=native\n".into())?;
    let conn = zbus::connection::Builder::address(bus.address.as_str())
        .build()
        .await
        .map_err(|e| e.to_string())?;

    let t0 = Instant::now();
    let stafd = Daemon::start("stafd", d, &bus)?;
    let stacd = Daemon::start("stacd", d, &bus)?;
    let limit = Duration::from_secs(60 + n as u64 / 10);
    let on_target = wait_until(limit, async || sim_iocs(&sim) == n)
        .await
        .ok_or(format!(
            "N={n}: the simulator holds {} IOCs",
            sim_iocs(&sim)
        ))?;
    wait_until(limit, async || stac_connected(&conn).await == n)
        .await
        .ok_or(format!(
            "N={n}: stacd shows {} connected",
            stac_connected(&conn).await
        ))?;
    let on_dbus = t0.elapsed();
    println!(
        "N={n:<5} start -> all IOCs held by the target {:>7.0} ms, all shown connected on D-Bus {:>7.0} ms",
        on_target.as_secs_f64() * 1000.0,
        on_dbus.as_secs_f64() * 1000.0
    );
    println!("        stafd {}", stafd.figures());
    println!("        stacd {}", stacd.figures());

    // A subsystem added and advertised: the AEN → log page → stacd → connected.
    let extra = nqn(n);
    sim.add_subsystem(SubsystemConfig::new(extra), true)
        .map_err(|e| e.to_string())?;
    let aen = wait_until(Duration::from_secs(20), async || sim_iocs(&sim) == n + 1)
        .await
        .ok_or(format!("N={n}: the added subsystem was not connected"))?;
    println!(
        "        subsystem added (AEN) -> its IOC connected {:.0} ms",
        aen.as_secs_f64() * 1000.0
    );
    let (s0, c0) = (stafd.cpu_ticks(), stacd.cpu_ticks());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let hz = procfs::ticks_per_second() as f64;
    let idle = |a: Option<u64>, b: Option<u64>| {
        b.unwrap_or(0).saturating_sub(a.unwrap_or(0)) as f64 / hz * 1000.0
    };
    // Both read again once idle: right after the burst, a daemon has not handed its freed
    // heap back yet (it trims after 1 s without activity).
    println!(
        "        idle 10 s: stafd {:.0} ms CPU, stacd {:.0} ms CPU; stafd {}; stacd {}",
        idle(s0, stafd.cpu_ticks()),
        idle(c0, stacd.cpu_ticks()),
        stafd.figures(),
        stacd.figures()
    );
    drop(stacd);
    drop(stafd);
    sim.shutdown().await;
    Ok(())
}

fn main() -> Result<(), String> {
    staslib::daemon_cli::raise_fd_limit();
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().map_err(|e| format!("N: {e}")))
        .collect::<Result<_, _>>()?;
    let ns = if ns.is_empty() { vec![1000] } else { ns };
    println!(
        "stafd + stacd (native backend, {}) -> nvme-sim on loopback, private dbus-daemon",
        if repo().join("target/release/stacd").exists() {
            "release build"
        } else {
            "debug build"
        }
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    for n in ns {
        rt.block_on(one(n))?;
    }
    Ok(())
}
