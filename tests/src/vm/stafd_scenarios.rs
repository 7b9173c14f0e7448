//! stafd end to end in the guest: the real `stafd` binary on the kernel backend against Linux
//! nvmet, on a private `dbus-daemon` started in the guest, observed with `busctl` and
//! `dbus-monitor` (independent clients) and through sysfs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use staslib::testing::PrivateBus;

use crate::procfs::{cpu_ticks, status_kib as proc_status, ticks_per_second};
pub(super) use crate::workspace::repo;

use super::Scenario;
use super::common::*;
use super::guest::{Ctx, HOSTNQN, ensure, wait_for};
use super::nvmet::{Port, Referral, Target};

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "stafd_kernel_dc_on_dbus_aen_adoption_persistence",
            target: || target_with(3, 0),
            run: stafd_kernel,
        },
        Scenario {
            name: "stafd_native_dc_aen_referral_followed_and_dropped",
            target: two_ports,
            run: stafd_native,
        },
        Scenario {
            name: "stacd_kernel_iocs_follow_the_log_page_and_survive_restarts",
            target: || target_with(3, 16 << 20),
            run: stacd_kernel,
        },
        Scenario {
            name: "stafd_kernel_nvme_cli_interop_udev_rule",
            target: || {
                // Port 2 keeps a subsystem when one is unlinked, so it keeps listening.
                let mut t = two_ports();
                t.ports[1].subsystems.push(nqn(1));
                t
            },
            run: stafd_interop,
        },
    ]
}

const PORT2: &str = "4421";

/// Port 1 (the configured DC) with subsystems 0 and 1; port 2, which a referral will name,
/// with subsystem 2 (a port listens only once a subsystem is linked).
fn two_ports() -> Target {
    let mut t = target_with(3, 0);
    t.ports[0].subsystems.retain(|n| *n != nqn(2));
    let mut p2 = Port::tcp(2, TRADDR, PORT2);
    p2.subsystems = vec![nqn(2)];
    t.ports.push(p2);
    t
}

fn referral() -> Referral {
    Referral {
        name: "to-port-2".into(),
        trtype: "tcp".into(),
        adrfam: "ipv4".into(),
        traddr: TRADDR.into(),
        trsvcid: PORT2.into(),
        portid: 2,
    }
}

pub(super) const WORK: &str = "/run/stafd-vm";
const DLPE_KEYS: [&str; 12] = [
    "trtype", "adrfam", "traddr", "trsvcid", "subnqn", "subtype", "treq", "tsas", "portid",
    "cntlid", "asqsz", "eflags",
];

/// The `stafd` binary built next to this one.
pub(super) fn stafd_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe.with_file_name("stafd");
    ensure(bin.exists(), || {
        format!("{} not built (cargo build --workspace)", bin.display())
    })?;
    Ok(bin)
}

/// `bin`, or `bin` under strace recording its writes to `/dev/nvme-fabrics` into `trace`.
fn traced(bin: &Path, trace: Option<&Path>) -> Command {
    match trace {
        Some(out) => {
            let mut c = Command::new("strace");
            c.args(["-f", "-qq", "-s", "4096", "-e", "trace=write"])
                .args(["-P", "/dev/nvme-fabrics", "-o"])
                .arg(out)
                .arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

pub(super) struct Daemon {
    pub(super) child: Child,
    /// Run under strace: signals go to strace's child, the daemon.
    traced: bool,
}

impl Daemon {
    pub(super) fn start(bus: &PrivateBus, n: usize) -> Result<Self, String> {
        Self::start_with_path(bus, n, &std::env::var("PATH").unwrap_or_default())
    }

    fn start_with_path(bus: &PrivateBus, n: usize, path: &str) -> Result<Self, String> {
        Self::stafd(bus, n, path, None)
    }

    /// stafd under strace, recording every write to `/dev/nvme-fabrics` into `trace`.
    pub(super) fn start_traced(bus: &PrivateBus, n: usize, trace: &Path) -> Result<Self, String> {
        Self::stafd(
            bus,
            n,
            &std::env::var("PATH").unwrap_or_default(),
            Some(trace),
        )
    }

    fn stafd(bus: &PrivateBus, n: usize, path: &str, trace: Option<&Path>) -> Result<Self, String> {
        let log =
            std::fs::File::create(format!("{WORK}/stafd-{n}.log")).map_err(|e| e.to_string())?;
        let child = traced(&stafd_bin()?, trace)
            .env("PATH", path)
            .args(["-f", &format!("{WORK}/stafd.conf")])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("RUNTIME_DIRECTORY", format!("{WORK}/run"))
            .env_remove("NOTIFY_SOCKET")
            .stderr(log)
            .spawn()
            .map_err(|e| format!("stafd: {e}"))?;
        Ok(Self {
            child,
            traced: trace.is_some(),
        })
    }

    /// stacd with `{WORK}/stacd.conf`, its own runtime directory and log.
    pub(super) fn start_stacd(bus: &PrivateBus, n: usize) -> Result<Self, String> {
        Self::start_stacd_with(bus, n, &[], None)
    }

    /// [`Self::start_stacd`] with extra environment, optionally under `strace` recording
    /// every write to `/dev/nvme-fabrics` into `trace`.
    pub(super) fn start_stacd_with(
        bus: &PrivateBus,
        n: usize,
        env: &[(&str, &str)],
        trace: Option<&Path>,
    ) -> Result<Self, String> {
        let log =
            std::fs::File::create(format!("{WORK}/stacd-{n}.log")).map_err(|e| e.to_string())?;
        let mut cmd = traced(&stafd_bin()?.with_file_name("stacd"), trace);
        cmd.envs(env.iter().copied());
        let child = cmd
            .args(["-f", &format!("{WORK}/stacd.conf")])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("RUNTIME_DIRECTORY", format!("{WORK}/run-stacd"))
            .env_remove("NOTIFY_SOCKET")
            .stderr(log)
            .spawn()
            .map_err(|e| format!("stacd: {e}"))?;
        Ok(Self {
            child,
            traced: trace.is_some(),
        })
    }

    /// The daemon's own PID (strace's child when traced).
    pub(super) fn pid(&self) -> u32 {
        let id = self.child.id();
        if !self.traced {
            return id;
        }
        wait_for(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{id}/task/{id}/children"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(id)
    }

    pub(super) fn signal(&self, sig: &str) -> Result<(), String> {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        ensure(st.success(), || format!("kill -{sig} failed"))
    }

    pub(super) fn stop(mut self) -> Result<(), String> {
        self.signal("TERM")?;
        let status = wait_for(Duration::from_secs(20), || {
            self.child.try_wait().ok().flatten()
        })
        .ok_or("stafd did not stop within 20 s of SIGTERM")?;
        ensure(status.success(), || format!("stafd exited with {status}"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.traced && self.child.try_wait().ok().flatten().is_none() {
            let _ = self.signal("KILL");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `busctl call` on the private bus; the reply's JSON `data` array.
fn busctl(
    bus: &PrivateBus,
    iface: &str,
    method: &str,
    sig: &str,
    args: &[&str],
) -> Result<Value, String> {
    let out = Command::new("busctl")
        .arg(format!("--address={}", bus.address))
        .args([
            "--json=short",
            "call",
            "org.nvmexpress.staf",
            "/org/nvmexpress/staf",
            iface,
            method,
        ])
        .args((!sig.is_empty()).then_some(sig))
        .args(args)
        .output()
        .map_err(|e| format!("busctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "busctl {method}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok(v["data"].clone())
}

/// `get_all_log_pages(false)`, the JSON text as sent.
fn all_log_pages_text(bus: &PrivateBus) -> Result<String, String> {
    let data = busctl(
        bus,
        "org.nvmexpress.staf",
        "get_all_log_pages",
        "b",
        &["false"],
    )?;
    data[0]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "get_all_log_pages: not a string".into())
}

fn parse_log_pages(text: &str) -> Result<Vec<Value>, String> {
    serde_json::from_str(text).map_err(|e| format!("get_all_log_pages JSON: {e}: {text}"))
}

/// `get_all_log_pages(false)`, parsed.
fn all_log_pages(bus: &PrivateBus) -> Result<Vec<Value>, String> {
    parse_log_pages(&all_log_pages_text(bus)?)
}

/// The one DC's device and the subsystem NQNs of its cached log page, sorted.
fn dc_view(bus: &PrivateBus) -> Option<(String, Vec<String>)> {
    let all = all_log_pages(bus).ok()?;
    let [dc] = all.as_slice() else { return None };
    view_of(dc)
}

/// The DC on `port`: its id dictionary and its subsystem NQNs, sorted.
fn dc_on_port(bus: &PrivateBus, port: &str) -> Option<(Value, Vec<String>)> {
    let all = all_log_pages(bus).ok()?;
    let dc = all
        .iter()
        .find(|d| d["discovery-controller"]["trsvcid"] == port)?;
    let (_, nqns) = view_of(dc)?;
    Some((dc["discovery-controller"].clone(), nqns))
}

fn view_of(dc: &Value) -> Option<(String, Vec<String>)> {
    let device = dc["discovery-controller"]["device"].as_str()?.to_owned();
    let nqns = dc["log-pages"]
        .as_array()?
        .iter()
        .filter(|e| e["subtype"] == "nvme")
        .filter_map(|e| e["subnqn"].as_str().map(str::to_owned))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Some((device, nqns))
}

/// The log pages as served: the DC's id dictionary has upstream's keys (host-nqn ours), and
/// the first entry's keys appear in upstream's order in the JSON text as sent.
fn check_upstream_keys(bus: &PrivateBus) -> Result<(), String> {
    let text = all_log_pages_text(bus)?;
    let all = parse_log_pages(&text)?;
    let dc = &all[0]["discovery-controller"];
    for key in [
        "traddr",
        "trsvcid",
        "transport",
        "subsysnqn",
        "host-iface",
        "host-traddr",
        "host-nqn",
        "device",
    ] {
        ensure(dc[key].is_string(), || format!("id dict lacks {key}: {dc}"))?;
    }
    ensure(dc["host-nqn"] == HOSTNQN, || {
        format!("host-nqn {}", dc["host-nqn"])
    })?;
    // serde_json sorts keys: check the order in the text as sent.
    let first = &text[text
        .find("\"log-pages\": [{")
        .ok_or("no log page entries")?..];
    // First occurrences after the opening brace all belong to the first entry.
    let positions: Vec<Option<usize>> = DLPE_KEYS
        .iter()
        .map(|k| first.find(&format!("\"{k}\": ")))
        .collect();
    ensure(
        positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]),
        || format!("DLPE keys not in upstream order: {first}"),
    )?;
    Ok(())
}

/// Established TCP connections whose local end is 127.0.0.1:`port` (nvmet's side: one per
/// queue of every association on that port).
pub(super) fn established_to(port: u16) -> usize {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // state 01 = ESTABLISHED.
            f.len() > 3 && f[1] == local && f[3] == "01"
        })
        .count()
}

/// Discovery controllers the kernel has for our port.
fn kernel_dcs() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/class/nvme")
        .into_iter()
        .flatten()
        .flatten()
    {
        let read = |a: &str| std::fs::read_to_string(e.path().join(a)).unwrap_or_default();
        if read("cntrltype").trim() == "discovery"
            && read("address").contains(&format!("trsvcid={PORT}"))
        {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

pub(super) fn conf_for(backend: &str) -> String {
    format!(
        "[Global]\nbackend={backend}\n\n[Controllers]\ncontroller=transport=tcp;traddr={TRADDR};trsvcid={PORT}\n"
    )
}

fn conf() -> String {
    conf_for("kernel")
}

fn signals_seen(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .matches("member=log_pages_changed")
        .count()
}

pub(super) fn expect_nqns(n: &[usize]) -> Vec<String> {
    n.iter().map(|i| nqn(*i)).collect()
}

fn stafd_kernel(ctx: &mut Ctx) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stafd.conf"), conf()).map_err(|e| e.to_string())?;
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let monitor_file = PathBuf::from(WORK).join("monitor.txt");
    let mut monitor = Command::new("dbus-monitor")
        .args([
            "--address",
            &bus.address,
            "type='signal',interface='org.nvmexpress.staf'",
        ])
        .stdout(std::fs::File::create(&monitor_file).map_err(|e| e.to_string())?)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("dbus-monitor: {e}"))?;
    let result = run(ctx, &bus, &monitor_file);
    let _ = monitor.kill();
    let _ = monitor.wait();
    for n in 1..=3 {
        if let Ok(text) = std::fs::read_to_string(format!("{WORK}/stafd-{n}.log")) {
            for l in text
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                ctx.log(format!("stafd-{n}: {l}"));
            }
        }
    }
    result
}

fn run(ctx: &mut Ctx, bus: &PrivateBus, monitor: &Path) -> Result<(), String> {
    // Start: the configured DC connects and its log page is served with upstream's keys.
    let t0 = Instant::now();
    let stafd = Daemon::start(bus, 1)?;
    let (device, nqns) = wait_for(Duration::from_secs(30), || {
        dc_view(bus).filter(|(d, n)| d != "nvme?" && n.len() == 3)
    })
    .ok_or("no log page with 3 subsystems on D-Bus within 30 s")?;
    ctx.log(format!(
        "start -> log page on D-Bus: {} ms ({device})",
        t0.elapsed().as_millis()
    ));
    ensure(nqns == expect_nqns(&[0, 1, 2]), || {
        format!("log page lists {nqns:?}")
    })?;
    check_upstream_keys(bus)?;
    ensure(kernel_dcs() == [device.clone()], || {
        format!("kernel DCs {:?}", kernel_dcs())
    })?;
    let details = busctl(
        bus,
        "org.nvmexpress.staf",
        "list_controllers",
        "b",
        &["true"],
    )?;
    ctx.log(format!("list_controllers(true): {details}"));

    // Unlink / relink a subsystem: log_pages_changed with the new content within 2 s.
    for (relink, want) in [(false, vec![1, 2]), (true, vec![0, 1, 2])] {
        let before = signals_seen(monitor);
        let t = Instant::now();
        if relink {
            ctx.nvmet.link(1, &nqn(0)).map_err(|e| e.to_string())?;
        } else {
            ctx.nvmet.unlink(1, &nqn(0)).map_err(|e| e.to_string())?;
        }
        let what = if relink { "relink" } else { "unlink" };
        wait_for(Duration::from_secs(2), || {
            (signals_seen(monitor) > before
                && dc_view(bus).is_some_and(|(_, n)| n == expect_nqns(&want)))
            .then_some(())
        })
        .ok_or_else(|| format!("{what}: no log_pages_changed with the new content within 2 s"))?;
        ctx.log(format!(
            "{what}: log_pages_changed + new content after {} ms",
            t.elapsed().as_millis()
        ));
    }

    // SIGTERM with persistent-connections=true (the default): the kernel DC stays.
    stafd.stop()?;
    ensure(kernel_dcs() == [device.clone()], || {
        format!("after SIGTERM, kernel DCs {:?}", kernel_dcs())
    })?;
    ctx.log(format!(
        "SIGTERM with persistent-connections=true: {device} kept"
    ));

    // Restart: the connection is adopted, no new kernel controller.
    let t = Instant::now();
    let stafd = Daemon::start(bus, 2)?;
    wait_for(Duration::from_secs(30), || {
        dc_view(bus).filter(|(d, n)| *d == device && n.len() == 3)
    })
    .ok_or("after restart the DC is not bound to the same device")?;
    ctx.log(format!(
        "restart -> adopted {device} in {} ms",
        t.elapsed().as_millis()
    ));
    ensure(kernel_dcs() == [device.clone()], || {
        format!("after restart, kernel DCs {:?}", kernel_dcs())
    })?;
    let log2 = std::fs::read_to_string(format!("{WORK}/stafd-2.log")).unwrap_or_default();
    ensure(
        log2.contains("Adopted the existing kernel connection"),
        || "stafd did not log the adoption".into(),
    )?;

    // The cache is served before the first new fetch: with the kernel DC gone and the port
    // not listening (no subsystem linked), a restarted stafd serves the cached page at once
    // and fetches only once the port is back.
    stafd.stop()?;
    std::fs::write(format!("/sys/class/nvme/{device}/delete_controller"), "1")
        .map_err(|e| e.to_string())?;
    wait_for(Duration::from_secs(10), || {
        kernel_dcs().is_empty().then_some(())
    })
    .ok_or("the kernel DC did not go")?;
    for i in 0..3 {
        ctx.nvmet.unlink(1, &nqn(i)).map_err(|e| e.to_string())?;
    }
    let before = signals_seen(monitor);
    let stafd = Daemon::start(bus, 3)?;
    let (first_device, first_nqns) = wait_for(Duration::from_secs(30), || dc_view(bus))
        .ok_or("stafd did not come back on the bus")?;
    ensure(
        first_device == "nvme?"
            && first_nqns == expect_nqns(&[0, 1, 2])
            && signals_seen(monitor) == before,
        || format!("not the cached page: {first_device} {first_nqns:?}"),
    )?;
    for i in 0..3 {
        ctx.nvmet.link(1, &nqn(i)).map_err(|e| e.to_string())?;
    }
    let t = Instant::now();
    let (device, _) = wait_for(Duration::from_secs(20), || {
        dc_view(bus).filter(|(d, n)| d != "nvme?" && n.len() == 3)
    })
    .ok_or("stafd did not reconnect once the port listened again")?;
    // The device is bound (and shown with the cached page) before the fresh page is fetched
    // and signalled, and the monitor writes the signal down a moment later still.
    wait_for(Duration::from_secs(5), || {
        (signals_seen(monitor) > before).then_some(())
    })
    .ok_or("no log_pages_changed within 5 s of the reconnect")?;
    ctx.log(format!(
        "cache served while the DC was unreachable; reconnected as {device} {} ms after the port came back",
        t.elapsed().as_millis()
    ));

    // persistent-connections=false (SIGHUP reload), then SIGTERM: the DC is disconnected.
    std::fs::write(
        format!("{WORK}/stafd.conf"),
        format!(
            "{}\n[Discovery controller connection management]\npersistent-connections=false\n",
            conf()
        ),
    )
    .map_err(|e| e.to_string())?;
    stafd.signal("HUP")?;
    std::thread::sleep(Duration::from_millis(500));
    ensure(kernel_dcs() == [device.clone()], || {
        "SIGHUP alone must not disconnect".into()
    })?;
    stafd.stop()?;
    wait_for(Duration::from_secs(10), || {
        kernel_dcs().is_empty().then_some(())
    })
    .ok_or_else(|| {
        format!(
            "with persistent-connections=false the DC stayed: {:?}",
            kernel_dcs()
        )
    })?;
    ctx.log("SIGTERM with persistent-connections=false: DC disconnected");
    Ok(())
}

/// The native backend in the guest against the same nvmet: AENs followed by fresh log
/// pages, a referral followed to a second DC and dropped when the referral goes.
fn stafd_native(ctx: &mut Ctx) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stafd.conf"), conf_for("native")).map_err(|e| e.to_string())?;
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let result = native_run(ctx, &bus);
    if let Ok(text) = std::fs::read_to_string(format!("{WORK}/stafd-1.log")) {
        for l in text
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            ctx.log(format!("stafd-1: {l}"));
        }
    }
    result
}

fn native_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    let t0 = Instant::now();
    let stafd = Daemon::start(bus, 1)?;
    wait_for(Duration::from_secs(30), || {
        dc_on_port(bus, PORT).filter(|(_, n)| *n == expect_nqns(&[0, 1]))
    })
    .ok_or("no log page of port 1 on D-Bus within 30 s")?;
    ctx.log(format!(
        "native: start -> log page on D-Bus: {} ms",
        t0.elapsed().as_millis()
    ));
    ensure(kernel_dcs().is_empty(), || {
        format!(
            "the native backend made kernel controllers: {:?}",
            kernel_dcs()
        )
    })?;

    // A change notice leads to a fresh log page (unlink, then relink).
    for (relink, want) in [(false, vec![1]), (true, vec![0, 1])] {
        let t = Instant::now();
        if relink {
            ctx.nvmet.link(1, &nqn(0)).map_err(|e| e.to_string())?;
        } else {
            ctx.nvmet.unlink(1, &nqn(0)).map_err(|e| e.to_string())?;
        }
        wait_for(Duration::from_secs(2), || {
            dc_on_port(bus, PORT).filter(|(_, n)| *n == expect_nqns(&want))
        })
        .ok_or("native: the change did not show within 2 s")?;
        ctx.log(format!(
            "native: change -> new content in {} ms",
            t.elapsed().as_millis()
        ));
    }

    // A referral added to port 1 is followed to port 2 (upstream #438: by AEN, at once).
    let t = Instant::now();
    ctx.nvmet
        .add_referral(1, &referral())
        .map_err(|e| e.to_string())?;
    let (id, _) = wait_for(Duration::from_secs(10), || {
        dc_on_port(bus, PORT2).filter(|(_, n)| *n == expect_nqns(&[2]))
    })
    .ok_or("the referred DC on port 2 did not show its log page within 10 s")?;
    ensure(
        id["subsysnqn"] == libnvme_rs::spec::WELL_KNOWN_DISC_NQN,
        || format!("referral DC {id}"),
    )?;
    let details = busctl(
        bus,
        "org.nvmexpress.staf",
        "list_controllers",
        "b",
        &["true"],
    )?;
    let origin_referral = details[0]
        .as_array()
        .into_iter()
        .flatten()
        .any(|d| d["trsvcid"] == PORT2 && d["origin"] == "referral");
    ensure(origin_referral, || {
        format!("no DC with origin referral: {details}")
    })?;
    ctx.log(format!(
        "referral added -> DC on port 2 serving its log page in {} ms",
        t.elapsed().as_millis()
    ));

    // The referral removed: the DC it made goes (after the 1.5 s soak).
    let t = Instant::now();
    ctx.nvmet
        .remove_referral(1, "to-port-2")
        .map_err(|e| e.to_string())?;
    wait_for(Duration::from_secs(10), || {
        dc_on_port(bus, PORT2).is_none().then_some(())
    })
    .ok_or("the DC of a removed referral was not dropped within 10 s")?;
    ctx.log(format!(
        "referral removed -> DC dropped in {} ms",
        t.elapsed().as_millis()
    ));
    ensure(dc_on_port(bus, PORT).is_some(), || {
        "the configured DC went too".into()
    })?;
    check_upstream_keys(bus)?;

    // SIGTERM: a native association lives in the daemon, so it closes whatever
    // persistent-connections says (stafd(8)); nothing is left behind for a restart to adopt.
    let port: u16 = PORT.parse().map_err(|_| "port")?;
    ensure(established_to(port) >= 1, || {
        "no association to port 1 seen in /proc/net/tcp".into()
    })?;
    stafd.stop()?;
    wait_for(Duration::from_secs(5), || {
        (established_to(port) == 0).then_some(())
    })
    .ok_or("the native association outlived stafd")?;
    ctx.log("SIGTERM: the native association closed");

    // Restart while port 1 does not listen (no subsystem linked): the cached page is served
    // at once; once the port is back the page is fetched again (new content: subsystem 1 only).
    for i in [0, 1] {
        ctx.nvmet.unlink(1, &nqn(i)).map_err(|e| e.to_string())?;
    }
    let t = Instant::now();
    let stafd = Daemon::start(bus, 2)?;
    wait_for(Duration::from_secs(30), || {
        dc_on_port(bus, PORT).filter(|(_, n)| *n == expect_nqns(&[0, 1]))
    })
    .ok_or("after restart the cached page of port 1 was not served")?;
    ensure(established_to(port) == 0, || {
        "port 1 was meant not to listen".into()
    })?;
    ctx.log(format!(
        "restart, DC unreachable: cached page served after {} ms",
        t.elapsed().as_millis()
    ));
    ctx.nvmet.link(1, &nqn(1)).map_err(|e| e.to_string())?;
    let t = Instant::now();
    wait_for(Duration::from_secs(20), || {
        dc_on_port(bus, PORT).filter(|(_, n)| *n == expect_nqns(&[1]))
    })
    .ok_or("the page was not fetched again once port 1 listened")?;
    ctx.log(format!(
        "port back -> fresh page after {} ms (retry timer 3 s)",
        t.elapsed().as_millis()
    ));
    stafd.stop()
}

/// Benchmarks of stafd in the guest (kernel backend, Linux nvmet): measurements printed as
/// evidence, not tests. Uses `target/release/stafd` when it exists (build it first with
/// `cargo build --release -p stafd`), else the debug binary, and says which.
pub fn benchmarks() -> Vec<Scenario> {
    vec![Scenario {
        name: "bench_stafd_start_rss_idle_cpu",
        target: || ports_with_one_subsystem(100),
        run: bench_stafd,
    }]
}

/// `n` tcp ports 4420.. on loopback, each with the same one subsystem: `n` discovery
/// controllers.
fn ports_with_one_subsystem(n: u16) -> Target {
    let mut t = target_with(1, 0);
    for i in 1..n {
        let mut p = Port::tcp(i + 1, TRADDR, &(4420 + i).to_string());
        p.subsystems = vec![nqn(0)];
        t.ports.push(p);
    }
    t
}

fn bench_conf(dcs: u16) -> String {
    let mut c = String::from("[Global]\nbackend=kernel\n\n[Controllers]\n");
    for i in 0..dcs {
        c.push_str(&format!(
            "controller=transport=tcp;traddr={TRADDR};trsvcid={}\n",
            4420 + i
        ));
    }
    c
}

fn bench_stafd(ctx: &mut Ctx) -> Result<(), String> {
    let release = stafd_bin()?.with_file_name("..").join("release/stafd");
    let (bin, build) = if release.exists() {
        (release, "release")
    } else {
        (stafd_bin()?, "debug")
    };
    ctx.log(format!("stafd binary: {} ({build} build)", bin.display()));
    for dcs in [1u16, 10, 100] {
        let _ = std::fs::remove_dir_all(WORK);
        std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
        std::fs::write(format!("{WORK}/stafd.conf"), bench_conf(dcs)).map_err(|e| e.to_string())?;
        let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
        let monitor_file = PathBuf::from(WORK).join("monitor.txt");
        let mut monitor = Command::new("dbus-monitor")
            .args([
                "--address",
                &bus.address,
                "type='signal',interface='org.nvmexpress.staf'",
            ])
            .stdout(std::fs::File::create(&monitor_file).map_err(|e| e.to_string())?)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("dbus-monitor: {e}"))?;
        std::thread::sleep(Duration::from_millis(500));
        let t0 = Instant::now();
        let mut child = Command::new(&bin)
            .args(["-f", &format!("{WORK}/stafd.conf")])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("RUNTIME_DIRECTORY", format!("{WORK}/run"))
            .stderr(std::fs::File::create(format!("{WORK}/stafd.log")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| e.to_string())?;
        let pid = child.id();
        let first = wait_for(Duration::from_secs(60), || {
            (signals_seen(&monitor_file) >= 1).then(|| t0.elapsed())
        });
        let all = wait_for(Duration::from_secs(300), || {
            (signals_seen(&monitor_file) >= usize::from(dcs)).then(|| t0.elapsed())
        });
        std::thread::sleep(Duration::from_secs(2));
        let rss = proc_status(pid, "VmRSS:");
        let hwm = proc_status(pid, "VmHWM:");
        let threads = proc_status(pid, "Threads:");
        ctx.log(format!(
            "{dcs} DCs: start -> first log_pages_changed {first:?}, -> all {dcs} {all:?}; VmRSS {rss:?} KiB, VmHWM {hwm:?} KiB, threads {threads:?}"
        ));
        if dcs == 100 {
            // tokio's blocking threads (one per kernel connect in flight) exit after 10 s
            // idle: what stays after that is the daemon's own memory.
            std::thread::sleep(Duration::from_secs(15));
            ctx.log(format!(
                "100 DCs, settled (15 s later): VmRSS {:?} KiB, threads {:?}",
                proc_status(pid, "VmRSS:"),
                proc_status(pid, "Threads:")
            ));
        }
        if dcs == 10 {
            let before = cpu_ticks(pid);
            std::thread::sleep(Duration::from_secs(60));
            let after = cpu_ticks(pid);
            let hz = ticks_per_second();
            ctx.log(format!(
                "10 DCs idle 60 s: CPU {:?} ms (the kernel carries the keep-alives)",
                before.zip(after).map(|(b, a)| (a - b) * 1000 / hz)
            ));
        }
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
        let _ = child.kill();
        let _ = monitor.kill();
        let _ = monitor.wait();
        // Disconnect what persistent-connections left, before the next round.
        for e in std::fs::read_dir("/sys/class/nvme")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::write(e.path().join("delete_controller"), "1");
        }
        wait_for(Duration::from_secs(60), || {
            std::fs::read_dir("/sys/class/nvme")
                .map_or(true, |mut d| d.next().is_none())
                .then_some(())
        });
    }
    Ok(())
}

const RULE: &str = "/run/udev/rules.d/70-nvmf-autoconnect.rules";

/// nvme-cli interoperability (compat §4.16) on the kernel backend: the shadowing udev rule
/// (ours removed at stop, taken over after a crash, an administrator's left alone) and
/// `nvmf-connect@` started for a DC that nvme-cli made, never for ours. systemctl is a stub
/// on PATH that records its arguments (no systemd runs in the guest).
fn stafd_interop(ctx: &mut Ctx) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(WORK);
    let bin = PathBuf::from(WORK).join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    let calls = PathBuf::from(WORK).join("systemctl.calls");
    std::fs::write(
        bin.join("systemctl"),
        format!("#!/bin/sh\necho \"$@\" >> {}\n", calls.display()),
    )
    .map_err(|e| e.to_string())?;
    ctx.sh(&format!("chmod +x {}/systemctl", bin.display()))?;
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::fs::write(format!("{WORK}/stafd.conf"), conf()).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(RULE);
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let result = interop_run(ctx, &bus, &path, &calls);
    for n in 1..=4 {
        if let Ok(text) = std::fs::read_to_string(format!("{WORK}/stafd-{n}.log")) {
            for l in text
                .lines()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                ctx.log(format!("stafd-{n}: {l}"));
            }
        }
    }
    let _ = std::fs::remove_file(RULE);
    result
}

fn interop_run(ctx: &mut Ctx, bus: &PrivateBus, path: &str, calls: &Path) -> Result<(), String> {
    let stafd = Daemon::start_with_path(bus, 1, path)?;
    let (device, _) = wait_for(Duration::from_secs(30), || {
        dc_view(bus).filter(|(d, _)| d != "nvme?")
    })
    .ok_or("stafd's DC did not connect")?;
    let rule = std::fs::read_to_string(RULE).map_err(|e| format!("{RULE}: {e}"))?;
    let stub = format!(
        "{WORK}/bin/systemctl --no-block restart nvmf-connect@--device\\x3dnone\\x09--transport\\x3dfc"
    );
    ensure(
        rule.starts_with("# Written by stafd") && rule.contains(&stub),
        || format!("rule file: {rule}"),
    )?;

    // nvme-cli's own persistent DC on port 2: its change notice starts nvmf-connect@ for it.
    ctx.sh(&format!(
        "nvme discover -t tcp -a {TRADDR} -s {PORT2} --persistent -q {HOSTNQN} >/dev/null"
    ))?;
    let theirs = wait_for(Duration::from_secs(10), || {
        std::fs::read_dir("/sys/class/nvme")
            .ok()?
            .flatten()
            .find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let addr = std::fs::read_to_string(e.path().join("address")).unwrap_or_default();
                (addr.contains(&format!("trsvcid={PORT2}"))).then_some(name)
            })
    })
    .ok_or("nvme discover --persistent made no controller")?;
    ctx.log(format!("ours {device}, nvme-cli's {theirs}"));
    ctx.nvmet.unlink(1, &nqn(0)).map_err(|e| e.to_string())?;
    ctx.nvmet.unlink(2, &nqn(2)).map_err(|e| e.to_string())?;
    let want = format!("--quiet --no-block restart nvmf-connect@--device\\x3d{theirs}.service");
    let got = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(calls)
            .ok()
            .filter(|c| c.contains(&want))
    })
    .ok_or_else(|| {
        format!(
            "no `systemctl {want}`: {:?}",
            std::fs::read_to_string(calls)
        )
    })?;
    ensure(!got.contains(&format!("x3d{device}.service")), || {
        format!("nvmf-connect@ started for stafd's own DC: {got}")
    })?;
    let log = std::fs::read_to_string(format!("{WORK}/stafd-1.log")).unwrap_or_default();
    ensure(
        log.contains(&format!(
            "{theirs} - Received AEN: Change of Discovery Log Page (0x70f002)"
        )),
        || "the unmanaged DC's AEN was not logged".into(),
    )?;
    stafd.stop()?;
    ensure(!Path::new(RULE).exists(), || {
        "the rule file outlived stafd".into()
    })?;

    // A crash leaves the rule; the next start takes it over and its stop removes it.
    let crashed = Daemon::start_with_path(bus, 2, path)?;
    wait_for(Duration::from_secs(20), || {
        Path::new(RULE).exists().then_some(())
    })
    .ok_or("no rule file at the second start")?;
    drop(crashed); // SIGKILL
    ensure(Path::new(RULE).exists(), || {
        "SIGKILL cannot remove the rule".into()
    })?;
    let again = Daemon::start_with_path(bus, 3, path)?;
    wait_for(Duration::from_secs(20), || {
        dc_view(bus).filter(|(d, _)| d != "nvme?")
    })
    .ok_or("stafd did not come back")?;
    again.stop()?;
    ensure(!Path::new(RULE).exists(), || {
        "a stale rule of ours survived the next stop".into()
    })?;

    // An administrator's file is neither replaced nor removed.
    std::fs::write(RULE, "# the administrator's\n").map_err(|e| e.to_string())?;
    let admin = Daemon::start_with_path(bus, 4, path)?;
    wait_for(Duration::from_secs(20), || {
        dc_view(bus).filter(|(d, _)| d != "nvme?")
    })
    .ok_or("stafd did not come back")?;
    admin.stop()?;
    let text = std::fs::read_to_string(RULE).unwrap_or_default();
    ensure(text == "# the administrator's\n", || {
        format!("administrator's rule changed: {text:?}")
    })?;
    libnvme3_host(ctx, bus, path, calls, &theirs)
}

/// nvme-stas 3.x on a libnvme 3 host (spec 3.x §9): with the ownership registry in use, a
/// stale override left by nvme-stas 2.x is removed, none is written, no `nvmf-connect@` is
/// started for nvme-cli's DC, and stafd's DC is recorded `owner=stas`.
fn libnvme3_host(
    ctx: &mut Ctx,
    bus: &PrivateBus,
    path: &str,
    calls: &Path,
    theirs: &str,
) -> Result<(), String> {
    const REGISTRY: &str = "/run/nvme/registry";
    std::fs::create_dir_all(REGISTRY).map_err(|e| e.to_string())?;
    // nvme-stas 2.x's override, as its stafd leaves it after a crash.
    std::fs::write(
        RULE,
        "\nACTION==\"change\", SUBSYSTEM==\"fc\", ENV{FC_EVENT}==\"nvmediscovery\", \\\n  \
         ENV{NVMEFC_HOST_TRADDR}==\"*\",  ENV{NVMEFC_TRADDR}==\"*\", \\\n  \
         RUN+=\"/usr/bin/systemctl --no-block restart nvmf-connect@--device\\x3dnone\\x09--transport\\x3dfc\\x09--traddr\\x3d$env{NVMEFC_TRADDR}\\x09--trsvcid\\x3dnone\\x09--host-traddr\\x3d$env{NVMEFC_HOST_TRADDR}.service\"\n",
    )
    .map_err(|e| e.to_string())?;
    let r = (|| {
        let calls_before = std::fs::read_to_string(calls).unwrap_or_default();
        let stafd = Daemon::start_with_path(bus, 5, path)?;
        let (device, _) = wait_for(Duration::from_secs(30), || {
            dc_view(bus).filter(|(d, _)| d != "nvme?")
        })
        .ok_or("stafd's DC did not come back")?;
        ensure(!Path::new(RULE).exists(), || {
            "the stale nvme-stas 2.x override was not removed".into()
        })?;
        let owner = std::fs::read_to_string(format!("{REGISTRY}/{device}/owner"))
            .map_err(|e| format!("{REGISTRY}/{device}/owner: {e}"))?;
        ensure(owner == "stas\n", || format!("{device} owner {owner:?}"))?;
        // A change notice on nvme-cli's DC: nobody starts nvmf-connect@ for it now.
        ctx.nvmet.link(2, &nqn(2)).map_err(|e| e.to_string())?;
        let log = || std::fs::read_to_string(format!("{WORK}/stafd-5.log")).unwrap_or_default();
        std::thread::sleep(Duration::from_secs(3));
        let calls_after = std::fs::read_to_string(calls).unwrap_or_default();
        ensure(calls_after == calls_before, || {
            format!(
                "systemctl called on a libnvme 3 host: {:?}",
                &calls_after[calls_before.len()..]
            )
        })?;
        ensure(!Path::new(RULE).exists(), || {
            "an override was written".into()
        })?;
        ensure(log().contains("libnvme 3 host: no udev override"), || {
            "stafd did not say why it wrote no override".into()
        })?;
        stafd.stop()?;
        ctx.log(format!(
            "libnvme 3 host: stale 2.x override removed, none written, {device} owner=stas, no nvmf-connect@ for {theirs}"
        ));
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(REGISTRY);
    r
}

/// stacd's IOCs as `list_controllers(true)` shows them: (subsysnqn, device, connected).
pub(super) fn stac_iocs(bus: &PrivateBus) -> Option<Vec<(String, String, String)>> {
    let out = Command::new("busctl")
        .arg(format!("--address={}", bus.address))
        .args([
            "--json=short",
            "call",
            "org.nvmexpress.stac",
            "/org/nvmexpress/stac",
        ])
        .args(["org.nvmexpress.stac", "list_controllers", "b", "true"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let mut l: Vec<(String, String, String)> = v["data"][0]
        .as_array()?
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            (s("subsysnqn"), s("device"), s("connected"))
        })
        .collect();
    l.sort();
    Some(l)
}

/// Kernel I/O controllers on our port: (subsysnqn, device), sorted.
pub(super) fn kernel_iocs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/class/nvme")
        .into_iter()
        .flatten()
        .flatten()
    {
        let read = |a: &str| std::fs::read_to_string(e.path().join(a)).unwrap_or_default();
        if read("cntrltype").trim() == "io" && read("address").contains(&format!("trsvcid={PORT}"))
        {
            out.push((
                read("subsysnqn").trim().to_owned(),
                e.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    out.sort();
    out
}

/// stafd + stacd on the kernel backend (stacd issue, acceptance 1–4 in part): every
/// subsystem of the DC's log page becomes a connected IOC with a block device; unlink →
/// disconnected, relink → reconnected; stacd killed and restarted adopts them all (no
/// duplicate, none dropped); a manual `nvme disconnect` of a managed IOC is undone.
fn stacd_kernel(ctx: &mut Ctx) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stafd.conf"), conf()).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stacd.conf"), "[Global]\nbackend=kernel\n")
        .map_err(|e| e.to_string())?;
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let result = stacd_run(ctx, &bus);
    for name in ["stacd-1", "stacd-2"] {
        if let Ok(text) = std::fs::read_to_string(format!("{WORK}/{name}.log")) {
            for l in text
                .lines()
                .rev()
                .take(12)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                ctx.log(format!("{name}: {l}"));
            }
        }
    }
    result
}

fn stacd_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    let t0 = Instant::now();
    let stafd = Daemon::start(bus, 1)?;
    let stacd = Daemon::start_stacd(bus, 1)?;
    let all = expect_nqns(&[0, 1, 2]);
    let iocs = wait_for(Duration::from_secs(60), || {
        let k = kernel_iocs();
        (k.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>() == all).then_some(k)
    })
    .ok_or_else(|| format!("not all 3 IOCs connected: {:?}", kernel_iocs()))?;
    ctx.log(format!(
        "start -> 3 kernel IOCs in {} ms: {iocs:?}",
        t0.elapsed().as_millis()
    ));
    // The kernel scans namespaces after the controller appears: wait for each block device.
    for (_, dev) in &iocs {
        let block = format!("/sys/class/nvme/{dev}");
        let has_ns = wait_for(Duration::from_secs(10), || {
            std::fs::read_dir(&block)
                .ok()?
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("nvme"))
                .then_some(())
        });
        ensure(has_ns.is_some(), || {
            format!("{dev} has no namespace block device after 10 s")
        })?;
    }
    let dbus = wait_for(Duration::from_secs(10), || {
        stac_iocs(bus)
            .filter(|l| l.len() == 3 && l.iter().all(|(_, d, c)| d != "nvme?" && c == "True"))
    })
    .ok_or_else(|| format!("stacd's D-Bus view: {:?}", stac_iocs(bus)))?;
    ensure(
        dbus.iter()
            .map(|(n, d, _)| (n.clone(), d.clone()))
            .collect::<Vec<_>>()
            == iocs,
        || format!("D-Bus {dbus:?} vs sysfs {iocs:?}"),
    )?;
    // The calls upstream's stacctl makes, by python3-dbus.
    let script = repo().join("tests/bus/check_stacd.py");
    ctx.sh(&format!(
        "DBUS_SYSTEM_BUS_ADDRESS='{}' /usr/bin/python3 {} root 3 >/dev/null",
        bus.address,
        script.display()
    ))
    .map_err(|e| format!("python3-dbus check of stacd: {e}"))?;

    // Unlink → its IOC is disconnected; relink → reconnected.
    let t = Instant::now();
    ctx.nvmet.unlink(1, &nqn(0)).map_err(|e| e.to_string())?;
    wait_for(Duration::from_secs(10), || {
        (!kernel_iocs().iter().any(|(n, _)| *n == nqn(0))).then_some(())
    })
    .ok_or("the unlinked subsystem's IOC was not disconnected within 10 s")?;
    ctx.log(format!(
        "unlink -> IOC disconnected in {} ms",
        t.elapsed().as_millis()
    ));
    let t = Instant::now();
    ctx.nvmet.link(1, &nqn(0)).map_err(|e| e.to_string())?;
    wait_for(Duration::from_secs(10), || {
        kernel_iocs()
            .iter()
            .any(|(n, _)| *n == nqn(0))
            .then_some(())
    })
    .ok_or("the relinked subsystem's IOC was not reconnected within 10 s")?;
    ctx.log(format!(
        "relink -> IOC reconnected in {} ms",
        t.elapsed().as_millis()
    ));
    let iocs = kernel_iocs();

    // kill -9 stacd and start it again: everything adopted, nothing disconnected or doubled.
    drop(stacd);
    std::thread::sleep(Duration::from_millis(500));
    ensure(kernel_iocs() == iocs, || {
        "IOCs changed when stacd died".into()
    })?;
    let stacd = Daemon::start_stacd(bus, 2)?;
    wait_for(Duration::from_secs(30), || {
        stac_iocs(bus)
            .filter(|l| l.len() == 3 && l.iter().all(|(_, d, c)| d != "nvme?" && c == "True"))
    })
    .ok_or_else(|| format!("after restart stacd shows {:?}", stac_iocs(bus)))?;
    std::thread::sleep(Duration::from_secs(2));
    ensure(kernel_iocs() == iocs, || {
        format!(
            "restart changed the IOCs: {:?} -> {:?}",
            iocs,
            kernel_iocs()
        )
    })?;
    let log2 = std::fs::read_to_string(format!("{WORK}/stacd-2.log")).unwrap_or_default();
    ensure(
        log2.matches("Adopted the existing kernel connection")
            .count()
            == 3,
        || "stacd did not adopt all three".into(),
    )?;

    // stafd away for 30 s: no IOC is disconnected (fix 7); back: nothing churns.
    stafd.stop()?;
    std::thread::sleep(Duration::from_secs(30));
    ensure(kernel_iocs() == iocs, || {
        format!("stafd away 30 s: {:?} -> {:?}", iocs, kernel_iocs())
    })?;
    let stafd = Daemon::start(bus, 2)?;
    wait_for(Duration::from_secs(20), || {
        dc_view(bus).filter(|(d, _)| d != "nvme?")
    })
    .ok_or("stafd did not come back")?;
    std::thread::sleep(Duration::from_secs(4));
    ensure(kernel_iocs() == iocs, || {
        format!("stafd back: {:?} -> {:?}", iocs, kernel_iocs())
    })?;
    let log2 = std::fs::read_to_string(format!("{WORK}/stacd-2.log")).unwrap_or_default();
    ensure(
        !log2.contains("Disconnect initiated")
            && log2.matches("Connection established").count() == 3,
        || "IOCs churned while stafd was away or when it came back".into(),
    )?;
    ctx.log("stafd stopped 30 s and restarted: no IOC dropped or remade");

    // `nvme disconnect` of a managed IOC is undone (upstream behaviour).
    let (victim_nqn, victim_dev) = iocs[1].clone();
    ctx.sh(&format!("nvme disconnect -d {victim_dev} >/dev/null"))?;
    let t = Instant::now();
    // `nvme disconnect` returns once the kernel has deleted the controller.
    ensure(!kernel_iocs().iter().any(|(n, _)| *n == victim_nqn), || {
        "nvme disconnect left the IOC in place".into()
    })?;
    wait_for(Duration::from_secs(15), || {
        kernel_iocs()
            .iter()
            .any(|(n, _)| *n == victim_nqn)
            .then_some(())
    })
    .ok_or("a manually disconnected IOC was not restored")?;
    ctx.log(format!(
        "nvme disconnect {victim_dev} -> restored in {} ms",
        t.elapsed().as_millis()
    ));

    // An `exclude=` added with SIGHUP disconnects that IOC, and it stays disconnected.
    std::fs::write(
        format!("{WORK}/stacd.conf"),
        format!(
            "[Global]\nbackend=kernel\n\n[Controllers]\nexclude=nqn={}\n",
            nqn(2)
        ),
    )
    .map_err(|e| e.to_string())?;
    stacd.signal("HUP")?;
    let t = Instant::now();
    wait_for(Duration::from_secs(10), || {
        (!kernel_iocs().iter().any(|(n, _)| *n == nqn(2))).then_some(())
    })
    .ok_or("the excluded IOC was not disconnected")?;
    ctx.log(format!(
        "exclude= + SIGHUP -> disconnected in {} ms",
        t.elapsed().as_millis()
    ));
    std::thread::sleep(Duration::from_secs(4));
    ensure(!kernel_iocs().iter().any(|(n, _)| *n == nqn(2)), || {
        "the excluded IOC came back".into()
    })?;

    // SIGTERM: IOC connections always survive a stacd stop.
    let before = kernel_iocs();
    stacd.stop()?;
    ensure(kernel_iocs() == before, || {
        "SIGTERM of stacd dropped IOCs".into()
    })?;
    stafd.stop()
}
