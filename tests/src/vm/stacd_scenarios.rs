//! stacd end to end in the guest, beyond the basic lifecycle of
//! [`super::stafd_scenarios`]: lost uevents with 200 IOCs, DH-HMAC-CHAP, option injection
//! through a log page, the connection audit (compat §4.11), and the native backend.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use libnvme_rs::kernel::uevent::{Action, NetlinkUevents, UeventError, UeventSource};
use serde_json::Value;
use staslib::testing::PrivateBus;

use super::Scenario;
use super::common::*;
use super::guest::{Ctx, HOSTNQN, ensure, wait_for};
use super::nvmet::{Port, Referral, Subsystem, Target};
use super::stafd_scenarios::{
    Daemon, WORK, conf_for, established_to, expect_nqns, repo, stac_iocs,
};

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "stacd_kernel_200_iocs_converge_after_lost_uevents",
            target: || target_with(MANY, 0),
            run: lost_events,
        },
        Scenario {
            name: "stacd_kernel_dhchap_keys_from_config",
            target: dhchap_target,
            run: dhchap,
        },
        Scenario {
            name: "stacd_kernel_injection_never_reaches_fabrics_and_audit",
            target: injection_target,
            run: injection_and_audit,
        },
        Scenario {
            name: "stacd_kernel_host_exclusion_list",
            target: || target_with(3, 0),
            run: exclusion_list,
        },
        Scenario {
            name: "stacd_kernel_ownership_registry",
            target: || target_with(4, 0),
            run: ownership_registry,
        },
        Scenario {
            name: "stafd_stacd_kernel_nvme_stas_3x_layout",
            target: || target_with(3, 0),
            run: layout_3x,
        },
        Scenario {
            name: "stacd_native_iocs_against_nvmet",
            target: || target_with(3, 16 << 20),
            run: native,
        },
    ]
}

/// IOCs of the lost-events scenario.
const MANY: usize = 200;
/// The audit period stacd runs with in these scenarios (`$STAS_AUDIT_PERIOD`).
const AUDIT_SECS: u64 = 10;

/// Fresh work directory with stafd's (kernel backend, DC on port 4420) and stacd's config.
pub(super) fn setup(stacd_conf: &str) -> Result<PrivateBus, String> {
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stafd.conf"), conf_for("kernel")).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stacd.conf"), stacd_conf).map_err(|e| e.to_string())?;
    PrivateBus::start(&Path::new(WORK).join("bus"), &repo())
}

/// The tail of each daemon log, as evidence.
pub(super) fn log_tails(ctx: &mut Ctx, names: &[&str]) {
    for name in names {
        if let Ok(text) = std::fs::read_to_string(format!("{WORK}/{name}.log")) {
            let lines: Vec<&str> = text.lines().collect();
            for l in &lines[lines.len().saturating_sub(15)..] {
                ctx.log(format!("{name}: {l}"));
            }
        }
    }
}

/// Every kernel I/O controller: subsysnqn → (device, state).
pub(super) fn kernel_io_state() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir("/sys/class/nvme")
        .into_iter()
        .flatten()
        .flatten()
    {
        let read = |a: &str| {
            std::fs::read_to_string(e.path().join(a))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        if read("cntrltype") == "io" {
            out.insert(
                read("subsysnqn"),
                (e.file_name().to_string_lossy().into_owned(), read("state")),
            );
        }
    }
    out
}

/// stacd's `list_controllers(true)` as JSON dicts.
pub(super) fn stac_detailed(bus: &PrivateBus) -> Option<Vec<Value>> {
    let out = Command::new("busctl")
        .arg(format!("--address={}", bus.address))
        .args(["--json=short", "call", "org.nvmexpress.stac"])
        .args(["/org/nvmexpress/stac", "org.nvmexpress.stac"])
        .args(["list_controllers", "b", "true"])
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["data"][0].as_array().cloned()
}

/// D-Bus agrees with sysfs: `want` IOCs, each connected, bound to the device sysfs shows
/// live for its subsystem.
fn converged(bus: &PrivateBus, want: &[String]) -> Result<(), String> {
    let kernel = kernel_io_state();
    let live: Vec<&String> = kernel
        .iter()
        .filter(|(_, (_, state))| state == "live")
        .map(|(n, _)| n)
        .collect();
    let missing: Vec<&String> = want.iter().filter(|n| !live.contains(n)).collect();
    if !missing.is_empty() || live.len() != want.len() {
        return Err(format!(
            "sysfs: {} live IOCs, {} wanted; missing {:?}",
            live.len(),
            want.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        ));
    }
    let dbus = stac_iocs(bus).ok_or("stacd does not answer")?;
    let bad: Vec<_> = dbus
        .iter()
        .filter(|(n, d, c)| {
            c != "True"
                || kernel
                    .get(n)
                    .is_none_or(|(dev, state)| dev != d || state != "live")
        })
        .collect();
    if dbus.len() != want.len() || !bad.is_empty() {
        return Err(format!(
            "D-Bus: {} IOCs, {} wanted; disagreeing with sysfs: {:?}",
            dbus.len(),
            want.len(),
            bad.iter().take(5).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

fn wait_converged(bus: &PrivateBus, want: &[String], limit: Duration) -> Result<Duration, String> {
    let t = Instant::now();
    let mut last = String::new();
    wait_for(limit, || match converged(bus, want) {
        Ok(()) => Some(()),
        Err(e) => {
            last = e;
            std::thread::sleep(Duration::from_millis(200));
            None
        }
    })
    .map(|()| t.elapsed())
    .ok_or(last)
}

/// Acceptance 8: 200 IOCs; stacd's uevent buffer is forced tiny and stacd is frozen while
/// IOCs are disconnected behind its back and subsystems unlinked, so the `remove` events
/// overflow the socket. Once it runs again the state on D-Bus converges to sysfs within
/// one audit period and every IOC that should be connected is.
fn lost_events(ctx: &mut Ctx) -> Result<(), String> {
    let bus = setup("[Global]\nbackend=kernel\n")?;
    let r = lost_events_run(ctx, &bus);
    log_tails(ctx, &["stafd-1", "stacd-1"]);
    r
}

fn lost_events_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    let all: Vec<String> = (0..MANY).map(nqn).collect();
    let t0 = Instant::now();
    let stafd = Daemon::start(bus, 1)?;
    let audit = AUDIT_SECS.to_string();
    let env = [
        ("STAS_UEVENT_BUFFER", "1"),
        ("STAS_AUDIT_PERIOD", audit.as_str()),
    ];
    let stacd = Daemon::start_stacd_with(bus, 1, &env, None)?;
    let took = wait_converged(bus, &all, Duration::from_secs(240))
        .map_err(|e| format!("the {MANY} IOCs never all connected: {e}"))?;
    ctx.log(format!(
        "start -> {MANY} kernel IOCs connected, D-Bus = sysfs, in {} ms (stafd started {} ms before)",
        took.as_millis(),
        t0.elapsed().as_millis() - took.as_millis()
    ));

    // Freeze stacd; change things behind its back.
    stacd.signal("STOP")?;
    let state = kernel_io_state();
    let manual: Vec<String> = (10..30).map(nqn).collect();
    for n in &manual {
        let (dev, _) = state.get(n).ok_or(format!("{n}: no kernel IOC"))?;
        ctx.sh(&format!("nvme disconnect -d {dev} >/dev/null"))?;
    }
    let unlinked: Vec<String> = (0..5).map(nqn).collect();
    for n in &unlinked {
        ctx.nvmet.unlink(1, n).map_err(|e| e.to_string())?;
    }
    // Let stafd see the change and publish it while stacd is still frozen.
    std::thread::sleep(Duration::from_secs(3));
    stacd.signal("CONT")?;
    let t = Instant::now();
    let want: Vec<String> = all
        .iter()
        .filter(|n| !unlinked.contains(n))
        .cloned()
        .collect();
    let limit = Duration::from_secs(AUDIT_SECS + 20);
    let took = wait_converged(bus, &want, limit)
        .map_err(|e| format!("not converged {} s after SIGCONT: {e}", limit.as_secs()))?;
    ctx.log(format!(
        "20 IOCs disconnected + 5 subsystems unlinked while frozen -> converged {} ms after SIGCONT",
        took.as_millis()
    ));
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    ensure(log.contains("uevents were lost"), || {
        "the uevent buffer did not overflow: the scenario tested nothing".into()
    })?;
    let resynced = log.matches("found after lost uevents").count()
        + log.matches("found by the audit of sysfs").count();
    ctx.log(format!(
        "stacd found {resynced} vanished controllers by resync/audit, removal events seen for {}",
        log.matches("Received \"remove\" event").count()
    ));
    ensure(t.elapsed() < limit + Duration::from_secs(1), || {
        "converged too late".into()
    })?;

    // Relink: back to all of them.
    for n in &unlinked {
        ctx.nvmet.link(1, n).map_err(|e| e.to_string())?;
    }
    let took = wait_converged(bus, &all, Duration::from_secs(60))
        .map_err(|e| format!("relinked subsystems not reconnected: {e}"))?;
    ctx.log(format!("relink 5 -> all {MANY} in {} ms", took.as_millis()));
    stacd.stop()?;
    stafd.stop()
}

const DHCHAP_NQNS: [usize; 3] = [0, 1, 2];

fn dhchap_target() -> Target {
    let mut t = target_with(3, 0);
    t.hosts = vec![HOSTNQN.into()];
    for s in &mut t.subsystems {
        s.allow_any_host = false;
        s.allowed_hosts = vec![HOSTNQN.into()];
    }
    t
}

fn gen_key(ctx: &mut Ctx) -> Result<String, String> {
    Ok(ctx
        .sh(&format!("nvme gen-dhchap-key -n {HOSTNQN}"))?
        .trim()
        .to_owned())
}

/// Acceptance 5: subsystems that require DH-HMAC-CHAP; stacd connects with the keys of its
/// configuration (one-way and bidirectional); a wrong key fails with a clear error and is
/// retried on the 3 s / 60 s schedule.
fn dhchap(ctx: &mut Ctx) -> Result<(), String> {
    let host_key = gen_key(ctx)?;
    let ctrl_key = gen_key(ctx)?;
    let wrong_key = gen_key(ctx)?;
    let host_dir = Path::new(super::nvmet::NVMET_ROOT)
        .join("hosts")
        .join(HOSTNQN);
    std::fs::write(host_dir.join("dhchap_key"), &host_key).map_err(|e| e.to_string())?;
    std::fs::write(host_dir.join("dhchap_ctrl_key"), &ctrl_key).map_err(|e| e.to_string())?;
    let entry = |i: usize, extra: &str| {
        format!(
            "controller=transport=tcp;traddr={TRADDR};trsvcid={PORT};subsysnqn={}{extra}\n",
            nqn(i)
        )
    };
    let conf = format!(
        "[Global]\nbackend=kernel\n\n[Controllers]\n{}{}{}",
        entry(DHCHAP_NQNS[0], &format!(";dhchap-secret={host_key}")),
        entry(
            DHCHAP_NQNS[1],
            &format!(";dhchap-secret={host_key};dhchap-ctrl-secret={ctrl_key}")
        ),
        entry(DHCHAP_NQNS[2], &format!(";dhchap-secret={wrong_key}")),
    );
    let bus = setup(&conf)?;
    let r = dhchap_run(ctx, &bus);
    log_tails(ctx, &["stacd-1"]);
    r
}

fn dhchap_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    // stacd alone: configured IOCs need no stafd.
    let t0 = Instant::now();
    let stacd = Daemon::start_stacd(bus, 1)?;
    let good = expect_nqns(&DHCHAP_NQNS[..2]);
    wait_for(Duration::from_secs(30), || {
        let k = kernel_io_state();
        good.iter()
            .all(|n| k.get(n).is_some_and(|(_, s)| s == "live"))
            .then_some(())
    })
    .ok_or_else(|| format!("keyed IOCs not connected: {:?}", kernel_io_state()))?;
    ctx.log(format!(
        "one-way and bidirectional DH-HMAC-CHAP IOCs live in {} ms",
        t0.elapsed().as_millis()
    ));
    // The kernel really authenticated them.
    for n in &good {
        let (dev, _) = kernel_io_state().get(n).cloned().unwrap_or_default();
        let secret = std::fs::read_to_string(format!("/sys/class/nvme/{dev}/dhchap_secret"))
            .unwrap_or_default();
        ensure(secret.trim().starts_with("DHHC-1:"), || {
            format!("{dev} has no DH-HMAC-CHAP secret: {secret:?}")
        })?;
    }
    let wrong = nqn(DHCHAP_NQNS[2]);
    ensure(!kernel_io_state().contains_key(&wrong), || {
        "the IOC with the wrong key is connected".into()
    })?;
    // Two attempts (at 0 and ~3 s), then the 60 s timer.
    let attempts = |bus: &PrivateBus| {
        stac_detailed(bus)?
            .into_iter()
            .find(|d| d["subsysnqn"] == wrong.as_str())
            .map(|d| {
                (
                    d["connect attempts"].as_str().unwrap_or("").to_owned(),
                    d["retry connect timer"].as_str().unwrap_or("").to_owned(),
                    d["connected"].as_str().unwrap_or("").to_owned(),
                )
            })
    };
    let seen = wait_for(Duration::from_secs(15), || {
        attempts(bus).filter(|(a, timer, _)| a == "2" && timer.contains("60.0s"))
    })
    .ok_or_else(|| {
        format!(
            "wrong key: not on the 3 s / 60 s schedule: {:?}",
            attempts(bus)
        )
    })?;
    ctx.log(format!(
        "wrong key: attempts {}, timer {:?}, connected {}",
        seen.0, seen.1, seen.2
    ));
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    let line = log
        .lines()
        .find(|l| l.contains(&wrong) && l.contains("Failed to connect"))
        .ok_or("no error line for the wrong key")?;
    ensure(line.contains("authentication"), || {
        format!("the error does not say authentication failed: {line}")
    })?;
    ctx.log(format!("wrong key error: {line}"));
    stacd.stop()
}

/// A subsystem NQN and a referral address that would add options to a fabrics connect
/// string if they reached it, next to a normal subsystem; a second port with a subsystem no
/// log page names (for the audit).
const EVIL_NQN: &str = "nqn.2014-08.org.example:evil,hostnqn=nqn.evil";
const EVIL_TRADDR: &str = "127.0.0.1,host_iface=evil";
const PORT2: &str = "4421";

fn injection_target() -> Target {
    let mut t = target_with(1, 0);
    t.subsystems.push(Subsystem::open(EVIL_NQN));
    t.ports[0].subsystems.push(EVIL_NQN.into());
    t.ports[0].referrals.push(Referral {
        name: "evil".into(),
        trtype: "tcp".into(),
        adrfam: "ipv4".into(),
        traddr: EVIL_TRADDR.into(),
        trsvcid: "8009".into(),
        portid: 9,
    });
    t.subsystems.push(Subsystem::open(nqn(7)));
    let mut p2 = Port::tcp(2, TRADDR, PORT2);
    p2.subsystems = vec![nqn(7)];
    t.ports.push(p2);
    t
}

/// Acceptance 6 and the audit of §4.11: stafd and stacd run under strace, which records
/// every write to `/dev/nvme-fabrics`; the DC's log page lists the injecting NQN and
/// referral, and none of it is ever written. Then a connection made by someone else to a
/// subsystem no log page names is left alone under the default `disconnect-scope` and
/// torn down once the scope is `all-connections-matching-disconnect-trtypes`; one to a
/// subsystem that is wanted is adopted, not torn down.
fn injection_and_audit(ctx: &mut Ctx) -> Result<(), String> {
    let bus = setup("[Global]\nbackend=kernel\n")?;
    let r = injection_run(ctx, &bus);
    log_tails(ctx, &["stafd-1", "stacd-1"]);
    r
}

pub(super) fn fabrics_writes(trace: &Path) -> Vec<String> {
    std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("write("))
        .map(str::to_owned)
        .collect()
}

fn injection_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    let staf_trace = Path::new(WORK).join("stafd.strace");
    let stac_trace = Path::new(WORK).join("stacd.strace");
    let stafd = Daemon::start_traced(bus, 1, &staf_trace)?;
    let stacd = Daemon::start_stacd_with(bus, 1, &[], Some(&stac_trace))?;
    let good = nqn(0);
    wait_for(Duration::from_secs(60), || {
        kernel_io_state().contains_key(&good).then_some(())
    })
    .ok_or_else(|| {
        format!(
            "the normal subsystem was not connected: {:?}",
            kernel_io_state()
        )
    })?;
    // Give the daemons time to act on the rest of the page (the referral is retried too).
    std::thread::sleep(Duration::from_secs(5));
    let writes: Vec<String> = fabrics_writes(&staf_trace)
        .into_iter()
        .chain(fabrics_writes(&stac_trace))
        .collect();
    ensure(writes.iter().any(|w| w.contains(&good)), || {
        format!("strace saw no connect of the normal subsystem: {writes:?}")
    })?;
    ensure(
        writes
            .iter()
            .any(|w| w.contains("nqn.2014-08.org.nvmexpress.discovery")),
        || format!("strace saw no DC connect: {writes:?}"),
    )?;
    let evil: Vec<&String> = writes.iter().filter(|w| w.contains("evil")).collect();
    ensure(evil.is_empty(), || {
        format!("injected fields reached /dev/nvme-fabrics: {evil:?}")
    })?;
    ctx.log(format!(
        "{} writes to /dev/nvme-fabrics, none carrying the injected NQN or traddr",
        writes.len()
    ));
    ensure(!kernel_io_state().contains_key(EVIL_NQN), || {
        "a controller for the injecting NQN exists".into()
    })?;

    // The audit. Default scope: someone else's connection is left alone.
    let foreign = nqn(7);
    ctx.sh(&format!(
        "nvme connect -t tcp -a {TRADDR} -s {PORT2} -n {foreign} >/dev/null"
    ))?;
    std::thread::sleep(Duration::from_secs(4));
    ensure(kernel_io_state().contains_key(&foreign), || {
        "only-stas-connections: a foreign connection was disconnected".into()
    })?;
    std::fs::write(
        format!("{WORK}/stacd.conf"),
        "[Global]\nbackend=kernel\n\n[I/O controller connection management]\n\
         disconnect-scope=all-connections-matching-disconnect-trtypes\ndisconnect-trtypes=tcp\n",
    )
    .map_err(|e| e.to_string())?;
    stacd.signal("HUP")?;
    let t = Instant::now();
    wait_for(Duration::from_secs(15), || {
        (!kernel_io_state().contains_key(&foreign)).then_some(())
    })
    .ok_or("all-connections scope: the foreign connection was not torn down")?;
    ctx.log(format!(
        "audit: foreign connection torn down {} ms after SIGHUP",
        t.elapsed().as_millis()
    ));
    // A new foreign connection is found through its `add` event (1 s soak).
    ctx.sh(&format!(
        "nvme connect -t tcp -a {TRADDR} -s {PORT2} -n {foreign} >/dev/null"
    ))?;
    let t = Instant::now();
    wait_for(Duration::from_secs(15), || {
        (!kernel_io_state().contains_key(&foreign)).then_some(())
    })
    .ok_or("all-connections scope: a new foreign connection was not torn down")?;
    ctx.log(format!(
        "audit: new foreign connection torn down {} ms after it was made",
        t.elapsed().as_millis()
    ));
    // The wanted IOC stays (same device), no duplicate.
    let k = kernel_io_state();
    ensure(k.len() == 1 && k.contains_key(&good), || {
        format!("after the audit: {k:?}")
    })?;
    stacd.stop()?;
    stafd.stop()
}

/// Acceptance 7 in the VM: stafd and stacd on the native backend against nvmet — IOCs held
/// in userspace. Connected (nvmet's side counted in its TCP connections: this kernel has
/// no nvmet debugfs), unlink → closed, relink → back; kill -9 + restart → reconnected without
/// duplicates; stafd stopped: nothing dropped.
fn native(ctx: &mut Ctx) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stafd.conf"), conf_for("native")).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stacd.conf"), "[Global]\nbackend=native\n")
        .map_err(|e| e.to_string())?;
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let r = native_run(ctx, &bus);
    log_tails(ctx, &["stafd-1", "stacd-1", "stacd-2"]);
    r
}

fn native_view(bus: &PrivateBus, n: usize) -> Option<Vec<(String, String, String)>> {
    stac_iocs(bus).filter(|l| l.len() == n && l.iter().all(|(_, _, c)| c == "True"))
}

fn native_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    let t0 = Instant::now();
    let stafd = Daemon::start(bus, 1)?;
    let stacd = Daemon::start_stacd(bus, 1)?;
    wait_for(Duration::from_secs(60), || native_view(bus, 3))
        .ok_or_else(|| format!("native IOCs: {:?}", stac_iocs(bus)))?;
    ensure(kernel_io_state().is_empty(), || {
        "the native backend made kernel controllers".into()
    })?;
    // nvmet's side: the DC's socket plus the same number of queues per IOC.
    std::thread::sleep(Duration::from_millis(500));
    let all = established_to(4420);
    let per_ioc = all.saturating_sub(1) / 3;
    ensure(per_ioc >= 2 && all == 1 + 3 * per_ioc, || {
        format!("{all} sockets at nvmet's port for 1 DC + 3 IOCs")
    })?;
    ctx.log(format!(
        "start -> 3 native IOCs in {} ms; nvmet holds {all} connections ({per_ioc} queues per IOC)",
        t0.elapsed().as_millis()
    ));
    let script = repo().join("tests/bus/check_stacd.py");
    ctx.sh(&format!(
        "DBUS_SYSTEM_BUS_ADDRESS='{}' /usr/bin/python3 {} root 3 >/dev/null",
        bus.address,
        script.display()
    ))
    .map_err(|e| format!("python3-dbus check of stacd: {e}"))?;

    let t = Instant::now();
    ctx.nvmet.unlink(1, &nqn(0)).map_err(|e| e.to_string())?;
    wait_for(Duration::from_secs(3), || {
        (stac_iocs(bus).is_some_and(|l| l.len() == 2) && established_to(4420) == all - per_ioc)
            .then_some(())
    })
    .ok_or_else(|| {
        format!(
            "unlink: {:?}, {} sockets",
            stac_iocs(bus),
            established_to(4420)
        )
    })?;
    ctx.log(format!(
        "unlink -> closed in {} ms",
        t.elapsed().as_millis()
    ));
    let t = Instant::now();
    ctx.nvmet.link(1, &nqn(0)).map_err(|e| e.to_string())?;
    wait_for(Duration::from_secs(3), || {
        native_view(bus, 3).filter(|_| established_to(4420) == all)
    })
    .ok_or_else(|| {
        format!(
            "relink: {:?}, {} sockets",
            stac_iocs(bus),
            established_to(4420)
        )
    })?;
    ctx.log(format!(
        "relink -> connected in {} ms",
        t.elapsed().as_millis()
    ));

    // kill -9: a userspace association dies with the process; the restart reconnects every
    // IOC once (no adoption on this backend) and nvmet is left with one controller each.
    drop(stacd);
    let t = Instant::now();
    let stacd = Daemon::start_stacd(bus, 2)?;
    wait_for(Duration::from_secs(30), || {
        native_view(bus, 3).filter(|_| established_to(4420) == all)
    })
    .ok_or_else(|| {
        format!(
            "restart: {:?}, {} sockets",
            stac_iocs(bus),
            established_to(4420)
        )
    })?;
    ctx.log(format!(
        "kill -9 + restart -> 3 IOCs again in {} ms, {all} connections at nvmet",
        t.elapsed().as_millis()
    ));

    // stafd away for 30 s: nothing is dropped (fix 7); back: nothing churns. (Its DC's
    // socket goes and comes back.)
    stafd.stop()?;
    std::thread::sleep(Duration::from_secs(30));
    ensure(
        native_view(bus, 3).is_some() && established_to(4420) == all - 1,
        || {
            format!(
                "stafd away: {:?}, {} sockets",
                stac_iocs(bus),
                established_to(4420)
            )
        },
    )?;
    let stafd = Daemon::start(bus, 2)?;
    // Its DC's socket comes back once it has connected (seconds under TCG); the IOCs must
    // not churn meanwhile (checked in stacd's log below).
    let t = Instant::now();
    wait_for(Duration::from_secs(20), || {
        (native_view(bus, 3).is_some() && established_to(4420) == all).then_some(())
    })
    .ok_or_else(|| {
        let log = std::fs::read_to_string(format!("{WORK}/stafd-2.log")).unwrap_or_default();
        format!(
            "stafd back: {:?}, {} sockets; stafd-2:\n{log}",
            stac_iocs(bus),
            established_to(4420)
        )
    })?;
    ctx.log(format!(
        "stafd back: its DC connected in {} ms",
        t.elapsed().as_millis()
    ));
    let log = std::fs::read_to_string(format!("{WORK}/stacd-2.log")).unwrap_or_default();
    ensure(log.matches("Connection established").count() == 3, || {
        "IOCs churned while stafd was away or came back".into()
    })?;
    ctx.log("stafd stopped 30 s and restarted: no IOC dropped or remade");
    stacd.stop()?;
    stafd.stop()
}

/// The end-to-end benchmark of the stacd issue (acceptance 9), `stas-vmtest --bench --filter
/// e2e`: nvmet port 1 (127.0.0.1:8009) holds an anchor subsystem our host may not see and a
/// referral to port 2 (127.0.0.1:4420), which holds N subsystems with a 16 MiB namespace
/// each; stafd is configured with the DC at 8009 only. For N = 1, 10, 100, 1000: start of
/// both daemons → all N IOCs live, median of 3, next to `nvme connect-all` on the same target
/// in the same boot; a subsystem linked (AEN) → its IOC live; VmRSS and CPU of each daemon.
pub fn benchmarks() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "bench_e2e_1_ioc",
            target: || e2e_target(1),
            run: |ctx| e2e(ctx, 1),
        },
        Scenario {
            name: "bench_e2e_10_iocs",
            target: || e2e_target(10),
            run: |ctx| e2e(ctx, 10),
        },
        Scenario {
            name: "bench_e2e_100_iocs",
            target: || e2e_target(100),
            run: |ctx| e2e(ctx, 100),
        },
        Scenario {
            name: "bench_e2e_1000_iocs",
            target: || e2e_target(1000),
            run: |ctx| e2e(ctx, 1000),
        },
    ]
}

const ANCHOR: &str = "nqn.2014-08.org.example:stas-vm-anchor";
const DC_PORT: &str = "8009";

/// Subsystems 0..n linked to port 2, subsystem n created but not linked (the AEN probe).
fn e2e_target(n: usize) -> Target {
    let mut subsystems: Vec<Subsystem> = (0..=n)
        .map(|i| Subsystem::open(nqn(i)).with_namespace(1, 16 << 20))
        .collect();
    let mut anchor = Subsystem::open(ANCHOR);
    anchor.allow_any_host = false;
    subsystems.push(anchor);
    let mut p1 = Port::tcp(1, TRADDR, DC_PORT);
    p1.subsystems = vec![ANCHOR.into()];
    p1.referrals.push(Referral {
        name: "to-io-port".into(),
        trtype: "tcp".into(),
        adrfam: "ipv4".into(),
        traddr: TRADDR.into(),
        trsvcid: PORT.into(),
        portid: 2,
    });
    let mut p2 = Port::tcp(2, TRADDR, PORT);
    p2.subsystems = (0..n).map(nqn).collect();
    Target {
        hosts: Vec::new(),
        subsystems,
        ports: vec![p1, p2],
    }
}

/// Counts live kernel I/O controllers. Polled every few tens of ms while a benchmark runs
/// in a 2-vCPU guest, so each poll reads one attribute per controller: whether a device is
/// an I/O controller is read once per kernel object (the directory entry's inode).
///
/// Below 100 controllers it also counts again on each `NVME_EVENT=connected` uevent, which
/// the kernel sends once a controller is live: the last one is seen when it happens, not at
/// the next poll, as `nvme connect-all`'s is (its run is over when its process is). Without
/// this, ours carried up to one poll interval (50 ms) that connect-all's did not. The
/// uevents seen are kept with their time for the start-up timeline.
struct LiveCounter {
    is_io: HashMap<(String, u64), bool>,
    events: Option<NetlinkUevents>,
    /// `(time from the start, "nvme0 add")`, the first few.
    seen: Vec<(Duration, String)>,
}

impl LiveCounter {
    /// Listening to uevents from now on when `n` is small (at scale, thousands of events
    /// would each cost a count in the guest the daemons run in).
    fn new(n: usize) -> Result<Self, String> {
        let events = if n < 100 {
            Some(NetlinkUevents::open().map_err(|e| format!("uevent socket: {e}"))?)
        } else {
            None
        };
        Ok(Self {
            is_io: HashMap::new(),
            events,
            seen: Vec::new(),
        })
    }

    /// Waits up to `poll` for a uevent; true when a controller went live.
    fn next_event(&mut self, t0: Instant, poll: Duration) -> bool {
        let Some(events) = self.events.as_mut() else {
            std::thread::sleep(poll);
            return false;
        };
        match events.next_event(Some(poll)) {
            Ok(Some(ev)) => {
                let what = ev.nvme_event().unwrap_or(match ev.action {
                    Action::Add => "add",
                    Action::Remove => "remove",
                    Action::Change => "change",
                    Action::Other(_) => "other",
                });
                if self.seen.len() < 32 {
                    self.seen
                        .push((t0.elapsed(), format!("{} {what}", ev.sysname())));
                }
                ev.nvme_event() == Some("connected")
            }
            Ok(None) => false,
            // Lost events: count now.
            Err(UeventError::Overrun) => true,
            Err(_) => {
                self.events = None;
                false
            }
        }
    }

    /// The uevents seen, on one line.
    fn timeline(&self) -> String {
        self.seen
            .iter()
            .map(|(t, what)| format!("+{:.3} {what}", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn count(&mut self) -> usize {
        use std::os::unix::fs::DirEntryExt;
        let mut live = 0;
        for e in std::fs::read_dir("/sys/class/nvme")
            .into_iter()
            .flatten()
            .flatten()
        {
            let key = (e.file_name().to_string_lossy().into_owned(), e.ino());
            let read = |a: &str| std::fs::read_to_string(e.path().join(a)).unwrap_or_default();
            let is_io = match self.is_io.get(&key) {
                Some(&known) => known,
                None => {
                    let cntrltype = read("cntrltype");
                    // `reserved` while the kernel is still identifying it: ask again.
                    if !matches!(cntrltype.trim(), "io" | "discovery" | "admin") {
                        continue;
                    }
                    let io = cntrltype.trim() == "io";
                    self.is_io.insert(key, io);
                    io
                }
            };
            if is_io && read("state").trim() == "live" {
                live += 1;
            }
        }
        live
    }

    /// Waits until `n` are live, at most `limit` after `t0`, logging progress and each
    /// daemon's CPU every minute. The time from `t0`, or how many were live.
    fn wait(
        &mut self,
        ctx: &mut Ctx,
        n: usize,
        (t0, limit): (Instant, Duration),
        daemons: &[(&str, &Proc)],
    ) -> Result<Duration, usize> {
        let poll = Duration::from_millis(if n >= 100 { 250 } else { 50 });
        let mut report = t0 + Duration::from_secs(60);
        loop {
            let live = self.count();
            if live == n {
                return Ok(t0.elapsed());
            }
            if t0.elapsed() > limit {
                return Err(live);
            }
            if Instant::now() >= report {
                report += Duration::from_secs(60);
                let cpu: Vec<String> = daemons
                    .iter()
                    .map(|(name, p)| format!("{name} CPU {:.1} s", p.figures().1))
                    .collect();
                ctx.log(format!(
                    "  {:.0} s: {live} of {n} live; {}",
                    t0.elapsed().as_secs_f64(),
                    cpu.join(", ")
                ));
            }
            // A controller that went live is counted at once; others wait for the poll.
            let until = Instant::now() + poll;
            while !self.next_event(t0, until.saturating_duration_since(Instant::now())) {
                if Instant::now() >= until {
                    break;
                }
            }
        }
    }
}

/// Runs the end-to-end benchmark with the guest's address space randomisation off.
pub(crate) const NO_ASLR_VAR: &str = "STAS_BENCH_NO_ASLR";

fn no_aslr() -> bool {
    std::env::var(NO_ASLR_VAR).is_ok_and(|v| v == "1")
}

/// The release binary when built (`cargo build --release -p stafd -p stacd`), else debug.
fn bench_bin(name: &str) -> Result<(PathBuf, &'static str), String> {
    let debug = super::stafd_scenarios::stafd_bin()?.with_file_name(name);
    let release = debug.with_file_name("..").join("release").join(name);
    Ok(if release.exists() {
        (release, "release")
    } else {
        (debug, "debug")
    })
}

struct Proc(std::process::Child);

/// `STAS_BENCH_PROFILE=perf` samples each daemon's CPU (where start-up time goes);
/// `=heaptrack` records its heap (what the resident memory is); `=strace` logs each
/// daemon's first system calls with timestamps (what start-up waits for). One run, then
/// the scenario fails: profiled figures are not the benchmark's.
#[derive(Debug, Clone, Copy)]
enum Profiler {
    Perf,
    Heaptrack,
    Strace,
}

impl Profiler {
    const VAR: &str = "STAS_BENCH_PROFILE";

    fn from_env() -> Option<Self> {
        match std::env::var(Self::VAR).ok()?.as_str() {
            "perf" => Some(Self::Perf),
            "heaptrack" => Some(Self::Heaptrack),
            "strace" => Some(Self::Strace),
            _ => None,
        }
    }

    fn wrap(self, bin: &Path, name: &str) -> Command {
        let mut c = match self {
            Self::Perf => {
                let mut c = Command::new("perf");
                c.args(["record", "-q", "-e", "cpu-clock", "-F", "2000", "-o"]);
                c
            }
            Self::Heaptrack => {
                let mut c = Command::new("heaptrack");
                c.arg("-o");
                c
            }
            Self::Strace => {
                let mut c = Command::new("strace");
                c.args(["-f", "-tt", "-e", "trace=!futex,mmap,munmap,mprotect,brk,madvise,rt_sigprocmask,sigaltstack,getrandom,statx,close", "-o"]);
                c
            }
        };
        c.arg(format!("{WORK}/{name}.{}", self.ext())).arg(bin);
        c
    }

    fn ext(self) -> &'static str {
        match self {
            Self::Perf => "perf",
            Self::Heaptrack => "heaptrack",
            Self::Strace => "strace",
        }
    }

    /// A shell command printing the profile's summary.
    fn report(self, name: &str) -> String {
        let file = format!("{WORK}/{name}.{}", self.ext());
        match self {
            Self::Perf => {
                format!("perf report -q -i {file} --stdio --sort dso,sym 2>/dev/null | head -n 40")
            }
            Self::Strace => format!("cut -c1-200 {file} | head -n 400"),
            // heaptrack appends the compression suffix to `-o`.
            Self::Heaptrack => format!(
                "heaptrack_print -f {file}.zst -p 1 -a 0 -T 0 -n 12 -s 2 2>&1 | grep -v '^$' | head -n 150; heaptrack_print -f {file}.zst -p 0 -a 0 -T 0 2>&1 | tail -n 12"
            ),
        }
    }
}

impl Proc {
    fn start(bin: &Path, name: &str, bus: &PrivateBus) -> Result<Self, String> {
        let log = std::fs::File::create(format!("{WORK}/{name}.log")).map_err(|e| e.to_string())?;
        let mut cmd = match Profiler::from_env() {
            Some(p) => p.wrap(bin, name),
            None => Command::new(bin),
        };
        cmd.args(["-f", &format!("{WORK}/{name}.conf")])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .env("RUNTIME_DIRECTORY", format!("{WORK}/run-{name}"))
            .env_remove("NOTIFY_SOCKET")
            .stderr(log)
            .spawn()
            .map(Proc)
            .map_err(|e| format!("{name}: {e}"))
    }

    fn figures(&self) -> (f64, f64) {
        (self.mib("VmRSS:"), crate::procfs::cpu_seconds(self.0.id()))
    }

    /// A size from `/proc/PID/status` (`VmRSS:`, `RssAnon:`, `VmHWM:`), in MiB.
    fn mib(&self, key: &str) -> f64 {
        crate::procfs::status_kib(self.0.id(), key).unwrap_or(0) as f64 / 1024.0
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(Profiler::from_env(), Some(Profiler::Heaptrack)) {
            // heaptrack's wrapper script drops the recording when signalled itself: stop
            // the daemon under it, so that it writes its data at exit.
            let _ = Command::new("pkill")
                .args(["-TERM", "-P", &self.0.id().to_string(), "-f", "/sta[fc]d "])
                .status();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        if wait_for(Duration::from_secs(20), || self.0.try_wait().ok().flatten()).is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn reset(ctx: &mut Ctx) -> Result<(), String> {
    ctx.sh("nvme disconnect-all >/dev/null 2>&1 || true")?;
    wait_for(Duration::from_secs(120), || {
        std::fs::read_dir("/sys/class/nvme")
            .map_or(true, |d| d.count() == 0)
            .then_some(())
    })
    .ok_or("controllers left after disconnect-all")?;
    Ok(())
}

fn e2e(ctx: &mut Ctx, n: usize) -> Result<(), String> {
    let (stafd_bin, build) = bench_bin("stafd")?;
    let (stacd_bin, _) = bench_bin("stacd")?;
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    // The guest reads the host's files over 9p, page by page, each page fault a round trip
    // through the emulator; a host runs its daemons from a local disk. So the three
    // programs compared run from the guest's memory (tmpfs), each the same way.
    let local = |bin: &Path| -> Result<PathBuf, String> {
        let name = bin.file_name().ok_or("no file name")?;
        let to = Path::new(WORK).join(name);
        std::fs::copy(bin, &to).map_err(|e| format!("{}: {e}", bin.display()))?;
        Ok(to)
    };
    let (stafd_bin, stacd_bin) = (local(&stafd_bin)?, local(&stacd_bin)?);
    if no_aslr() {
        // QEMU 7.2's TCG finds a translated block by its virtual address, so each process
        // whose code lands elsewhere translates all it runs anew. This shows how much of a
        // start-up is that: every program compared, ours and nvme's, then runs at fixed
        // addresses and reuses the translations of earlier runs.
        ctx.sh("echo 0 > /proc/sys/kernel/randomize_va_space")?;
        ctx.log(format!(
            "  {NO_ASLR_VAR}: address space randomisation off in the guest (a diagnosis, not the benchmark's figures)"
        ));
    }
    let nvme = local(Path::new(ctx.sh("command -v nvme")?.trim()))?;
    let fs = ctx.sh(&format!("stat -f -c %T {WORK}"))?;
    ctx.log(format!("  programs run from {WORK} ({})", fs.trim()));
    std::fs::write(
        format!("{WORK}/stafd.conf"),
        format!(
            "[Global]\nbackend=kernel\n\n[Controllers]\ncontroller=transport=tcp;traddr={TRADDR};trsvcid={DC_PORT}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stacd.conf"), "[Global]\nbackend=kernel\n")
        .map_err(|e| e.to_string())?;
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let reps = if n >= 1000 { 1 } else { 3 };
    // Kernel connects are serialized (one at a time, whoever asks) and slow down as the
    // guest's keep-alive traffic grows: seconds each at a thousand.
    let limit = Duration::from_secs(120 + 3 * n as u64);
    let (mut ours, mut theirs, mut aen) = (Vec::new(), Vec::new(), Vec::new());
    let mut figures = String::new();
    let mut probe_failed = None;
    for rep in 0..reps {
        reset(ctx)?;
        // A cold start, as after boot: without the last run's last-known state, stafd would
        // reconnect the referred DC and stacd its IOCs at once, skipping the discovery hops
        // that `nvme connect-all` makes.
        for name in ["stafd", "stacd"] {
            let _ = std::fs::remove_dir_all(format!("{WORK}/run-{name}"));
        }
        let mut live = LiveCounter::new(n)?;
        let wall = ctx.sh("date -u +%H:%M:%S.%N")?;
        let t0 = Instant::now();
        let stafd = Proc::start(&stafd_bin, "stafd", &bus)?;
        let stacd = Proc::start(&stacd_bin, "stacd", &bus)?;
        let took = live
            .wait(ctx, n, (t0, limit), &[("stafd", &stafd), ("stacd", &stacd)])
            .map_err(|k| {
                log_tails(ctx, &["stafd", "stacd"]);
                format!("N={n}: {k} of {n} IOCs live")
            })?;
        if let Some(profiler) = Profiler::from_env() {
            std::thread::sleep(Duration::from_secs(1));
            // Stopped first: heaptrack writes its data at exit.
            drop((stacd, stafd));
            for name in ["stafd", "stacd"] {
                for l in ctx.sh(&profiler.report(name))?.lines() {
                    ctx.log(format!("  {profiler:?} {name}: {l}"));
                }
            }
            return Err(format!("{}: profiled one run, no figures", Profiler::VAR));
        }
        ours.push(took.as_secs_f64());
        ctx.log(format!(
            "N={n} run {}: stafd+stacd start -> all {n} IOCs live {:.2} s",
            rep + 1,
            took.as_secs_f64()
        ));
        if n <= 10 {
            // A controller's `add` is its connect write beginning.
            ctx.log(format!("  uevents: {}", live.timeline()));
        }
        if rep == 0 && n <= 10 {
            // Where the time goes at small N: each daemon's log and the kernel's, on one clock.
            ctx.log(format!(
                "  timeline: both daemons spawned at {}",
                wall.trim()
            ));
            for name in ["stafd", "stacd"] {
                let text =
                    std::fs::read_to_string(format!("{WORK}/{name}.log")).unwrap_or_default();
                for l in text.lines().take(12) {
                    ctx.log(format!("  {name}: {l}"));
                }
            }
            let kernel = ctx.sh("dmesg --time-format iso | grep -E 'nvme' | tail -n 12")?;
            for l in kernel.lines() {
                ctx.log(format!("  kernel: {l}"));
            }
        }
        // AEN → connected: link the probe subsystem.
        ctx.nvmet.link(2, &nqn(n)).map_err(|e| e.to_string())?;
        match live.wait(
            ctx,
            n + 1,
            (Instant::now(), Duration::from_secs(120)),
            &[("stafd", &stafd), ("stacd", &stacd)],
        ) {
            Ok(a) => aen.push(a.as_secs_f64()),
            Err(_) => {
                // Say where it stopped, and still measure `nvme connect-all`.
                log_tails(ctx, &["stafd", "stacd"]);
                for line in ctx.sh("dmesg | tail -n 15").unwrap_or_default().lines() {
                    ctx.log(format!("dmesg: {line}"));
                }
                probe_failed = Some(format!(
                    "N={n} run {}: the linked subsystem's IOC did not come within 120 s",
                    rep + 1
                ));
            }
        }
        if rep == reps - 1 {
            // Resident memory once both daemons are idle with N + 1 IOCs (what an
            // administrator sees), and the peak (VmHWM) of the whole run beside it.
            std::thread::sleep(Duration::from_secs(2));
            // System time includes the kernel's own connect work, done in the writer's
            // context (as it is in `nvme connect-all`'s).
            let split = |p: &Proc| {
                let hz = crate::procfs::ticks_per_second() as f64;
                crate::procfs::user_system_ticks(p.0.id()).map_or_else(String::new, |(u, s)| {
                    format!(" (user {:.2}, system {:.2})", u as f64 / hz, s as f64 / hz)
                })
            };
            let (frss, fcpu) = stafd.figures();
            let (crss, ccpu) = stacd.figures();
            figures = format!(
                "stafd VmRSS {frss:.1} MiB (anonymous {:.1}, peak {:.1}), CPU {fcpu:.2} s{}; stacd VmRSS {crss:.1} MiB (anonymous {:.1}, peak {:.1}), CPU {ccpu:.2} s{}",
                stafd.mib("RssAnon:"),
                stafd.mib("VmHWM:"),
                split(&stafd),
                stacd.mib("RssAnon:"),
                stacd.mib("VmHWM:"),
                split(&stacd)
            );
            // Where the resident memory is: the heap, other anonymous mappings (threads'
            // stacks, malloc arenas), program text and libraries.
            for (name, p) in [("stafd", &stafd), ("stacd", &stacd)] {
                let parts: Vec<String> = crate::procfs::rss_by_mapping(p.0.id())
                    .iter()
                    .take(8)
                    .map(|(m, kib)| format!("{m} {kib} KiB"))
                    .collect();
                ctx.log(format!(
                    "  N={n} {name} resident by mapping: {}",
                    parts.join(", ")
                ));
            }
        }
        ctx.nvmet.unlink(2, &nqn(n)).map_err(|e| e.to_string())?;
        drop(stacd);
        drop(stafd);
        // nvme connect-all on the same target.
        reset(ctx)?;
        let mut live = LiveCounter::new(n)?;
        // Spawned and timed as the daemons are: from the spawn to the last controller live.
        let t0 = Instant::now();
        let mut connect_all = Command::new(&nvme)
            .args(["connect-all", "-t", "tcp", "-a", TRADDR, "-s", DC_PORT])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", nvme.display()))?;
        let took = live.wait(ctx, n, (t0, limit), &[]);
        // Its status does not matter (a controller it found connected is an error to it).
        let _ = connect_all.wait();
        let took = took.map_err(|k| format!("connect-all N={n}: {k} of {n} IOCs live"))?;
        theirs.push(took.as_secs_f64());
        if n <= 10 {
            ctx.log(format!(
                "N={n} run {}: nvme connect-all -> all {n} IOCs live {:.2} s; uevents: {}",
                rep + 1,
                took.as_secs_f64(),
                live.timeline()
            ));
        }
    }
    reset(ctx)?;
    let (m_ours, m_theirs) = (median(ours.clone()), median(theirs.clone()));
    ctx.log(format!(
        "N={n} ({build} build, {reps} run{}): start -> all {n} IOCs live: stafd+stacd {m_ours:.2} s {ours:.2?} | nvme connect-all {m_theirs:.2} s {theirs:.2?} | ratio {:.2}",
        if reps > 1 { "s, median" } else { "" },
        m_ours / m_theirs
    ));
    let aen_median = if aen.is_empty() {
        "-".to_owned()
    } else {
        format!("{:.2} s", median(aen.clone()))
    };
    ctx.log(format!(
        "N={n}: subsystem linked (AEN) -> its IOC live {aen_median} {aen:.2?}; {figures}"
    ));
    probe_failed.map_or(Ok(()), Err)
}

/// libnvme 3's host-wide exclusion list, removed again however the scenario ends (the
/// guest's `/etc` outlives a scenario).
struct ExclusionFiles;

impl ExclusionFiles {
    const MAIN: &str = "/etc/nvme/exclusions.conf";
    const DROPIN_DIR: &str = "/etc/nvme/exclusions.conf.d";

    fn write_main(text: &str) -> Result<ExclusionFiles, String> {
        std::fs::write(Self::MAIN, text).map_err(|e| format!("{}: {e}", Self::MAIN))?;
        Ok(ExclusionFiles)
    }

    fn write_dropin(&self, name: &str, text: &str) -> Result<PathBuf, String> {
        std::fs::create_dir_all(Self::DROPIN_DIR).map_err(|e| e.to_string())?;
        let path = Path::new(Self::DROPIN_DIR).join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for ExclusionFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(Self::MAIN);
        let _ = std::fs::remove_dir_all(Self::DROPIN_DIR);
    }
}

/// #10 acceptance 3: a log page entry the host's exclusion list covers is never connected;
/// an exclusion added at run time (as `nvme disconnect -x` does) keeps a controller from
/// being reconnected on its next attempt.
fn exclusion_list(ctx: &mut Ctx) -> Result<(), String> {
    let files = ExclusionFiles::write_main(&format!(
        "# written by the vm tier\n[exclusions]\nexclusion = transport=tcp;traddr=::ffff:{TRADDR};nqn={}\n",
        nqn(1)
    ))?;
    let bus = setup("[Global]\nbackend=kernel\n")?;
    let r = exclusion_run(ctx, &bus, &files);
    log_tails(ctx, &["stacd-1"]);
    r
}

fn exclusion_run(ctx: &mut Ctx, bus: &PrivateBus, files: &ExclusionFiles) -> Result<(), String> {
    let stafd = Daemon::start(bus, 1)?;
    let stacd = Daemon::start_stacd(bus, 1)?;
    let wanted = [nqn(0), nqn(2)];
    let t = Instant::now();
    wait_for(Duration::from_secs(60), || {
        let k = kernel_io_state();
        wanted.iter().all(|n| k.contains_key(n)).then_some(())
    })
    .ok_or_else(|| {
        format!(
            "the two allowed IOCs not connected: {:?}",
            kernel_io_state()
        )
    })?;
    // The excluded one stays away through the first retry (3 s) too.
    std::thread::sleep(Duration::from_secs(5));
    let k = kernel_io_state();
    ensure(!k.contains_key(&nqn(1)), || {
        format!("{} is excluded but connected: {k:?}", nqn(1))
    })?;
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    let why = format!("not connecting: excluded by {}:3", ExclusionFiles::MAIN);
    ensure(log.contains(&why), || format!("stacd did not say {why:?}"))?;
    ctx.log(format!(
        "{} and {} connected in {} ms; {} never (stacd: \"{why}\")",
        nqn(0),
        nqn(2),
        t.elapsed().as_millis(),
        nqn(1)
    ));

    // Excluded at run time, then disconnected: stacd's reconnect 3 s later finds the entry.
    let dropin = files.write_dropin(
        "ops.conf",
        &format!("[exclusions]\nexclusion = nqn={}\n", nqn(2)),
    )?;
    let (dev, _) = kernel_io_state()
        .get(&nqn(2))
        .cloned()
        .ok_or("no device for the IOC to disconnect")?;
    ctx.sh(&format!("nvme disconnect -d {dev} >/dev/null"))?;
    std::thread::sleep(Duration::from_secs(8));
    let k = kernel_io_state();
    ensure(!k.contains_key(&nqn(2)) && k.contains_key(&nqn(0)), || {
        format!("after the run-time exclusion of {}: {k:?}", nqn(2))
    })?;
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    let why = format!("excluded by {}:2", dropin.display());
    ensure(log.contains(&why), || format!("stacd did not say {why:?}"))?;
    ctx.log(format!(
        "{} excluded at run time in {} and disconnected: not reconnected 8 s later ({why})",
        nqn(2),
        dropin.display()
    ));
    stacd.stop()?;
    stafd.stop()
}

/// libnvme 3's registry directory, present for the scenario (a libnvme 3 host) and removed
/// however it ends.
struct RegistryDir;

impl RegistryDir {
    const DIR: &str = "/run/nvme/registry";

    fn create() -> Result<RegistryDir, String> {
        let _ = std::fs::remove_dir_all(Self::DIR);
        std::fs::create_dir_all(Self::DIR).map_err(|e| format!("{}: {e}", Self::DIR))?;
        Ok(RegistryDir)
    }

    fn owner(dev: &str) -> Option<String> {
        std::fs::read_to_string(format!("{}/{dev}/owner", Self::DIR)).ok()
    }
}

impl Drop for RegistryDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all("/run/nvme");
    }
}

/// #10 acceptance 2 (the part Debian's nvme-cli 2.3 can play): on a host with the registry,
/// stacd records its fresh connections as libnvme does (`owner` = `stas\n`, `seqnum` = the
/// kernel's uevent counter), adopts and claims a connection made by hand with `nvme connect`
/// (no owner), and neither adopts nor disconnects one that another owner holds.
fn ownership_registry(ctx: &mut Ctx) -> Result<(), String> {
    let _reg = RegistryDir::create()?;
    // By hand, before stacd: nqn 1 unowned, nqn 2 owned by nvme-discoverd, nqn 3 unowned
    // but listed in the NBFT (a boot device an old initramfs connected).
    for i in [1, 2, 3] {
        ctx.sh(&format!(
            "nvme connect -t tcp -a {TRADDR} -s {PORT} -n {} >/dev/null",
            nqn(i)
        ))?;
    }
    let manual = kernel_io_state();
    let dev = |i: usize| -> Result<String, String> {
        manual
            .get(&nqn(i))
            .map(|(d, _)| d.clone())
            .ok_or_else(|| format!("nvme connect made no controller for {}", nqn(i)))
    };
    let (dev1, dev2, dev3) = (dev(1)?, dev(2)?, dev(3)?);
    std::fs::create_dir_all(format!("{}/{dev2}", RegistryDir::DIR)).map_err(|e| e.to_string())?;
    std::fs::write(format!("{}/{dev2}/owner", RegistryDir::DIR), "discoverd\n")
        .map_err(|e| e.to_string())?;
    // stacd is told about all four (configured), and audits all connections it matches.
    let conf = format!(
        "[Global]\nbackend=kernel\n\n[I/O controller connection management]\ndisconnect-scope=all-connections-matching-disconnect-trtypes\n\n[Controllers]\n{}",
        (0..4)
            .map(|i| format!(
                "controller=transport=tcp;traddr={TRADDR};trsvcid={PORT};subsysnqn={}\n",
                nqn(i)
            ))
            .collect::<String>()
    );
    let bus = setup(&conf)?;
    let tables = Path::new(WORK).join("acpi-tables");
    std::fs::create_dir_all(&tables).map_err(|e| e.to_string())?;
    std::fs::write(tables.join("NBFT"), boot_table(&nqn(3)).to_bytes())
        .map_err(|e| e.to_string())?;
    let r = registry_run(ctx, &bus, &tables, [&dev1, &dev2, &dev3]);
    log_tails(ctx, &["stacd-1"]);
    r
}

/// An NBFT whose one subsystem namespace descriptor names `nqn` on our port.
fn boot_table(nqn: &str) -> libnvme_rs::nbft::Nbft {
    use libnvme_rs::nbft::{Nbft, NbftHfi, NbftHfiTcp, NbftHost, NbftSubsystem};
    Nbft {
        major_revision: 1,
        minor_revision: 0,
        oem_id: "STASRS".into(),
        oem_table_id: "VMTIER".into(),
        host: Some(NbftHost {
            id: [0x11; 16],
            nqn: super::guest::HOSTNQN.into(),
            id_configured: false,
            nqn_configured: false,
            primary_admin: 0,
        }),
        hfis: vec![NbftHfi {
            index: 1,
            tcp: NbftHfiTcp {
                pci_sbdf: 0x0300,
                mac: [0x02, 0x00, 0x5e, 0x10, 0x20, 0x31],
                vlan: 0,
                ip_origin: 3,
                ipaddr: TRADDR.parse().expect("an IP"),
                subnet_mask_prefix: 8,
                gateway: None,
                route_metric: 0,
                primary_dns: None,
                secondary_dns: None,
                dhcp_server: None,
                host_name: None,
                dhcp_override: false,
                default_route: false,
            },
        }],
        security_count: 0,
        discovery: vec![],
        subsystems: vec![NbftSubsystem {
            index: 1,
            traddr: TRADDR.into(),
            trsvcid: PORT.into(),
            subsys_nqn: nqn.into(),
            subsys_port_id: 1,
            nsid: 1,
            nid_type: 0,
            nid: [0; 16],
            hdr_digest: false,
            data_digest: false,
            primary_discovery_index: 0,
            security_index: 0,
            hfi_indexes: vec![1],
            non_bootable: false,
            discovered: false,
            unavailable: 0,
            extended: None,
        }],
        skipped: vec![],
    }
}

fn registry_run(
    ctx: &mut Ctx,
    bus: &PrivateBus,
    tables: &Path,
    [dev1, dev2, dev3]: [&str; 3],
) -> Result<(), String> {
    // With stafd's pages known, stacd's connection audit runs (compat §4.11).
    let stafd = Daemon::start(bus, 1)?;
    let nbft_dir = tables.to_string_lossy().into_owned();
    let stacd = Daemon::start_stacd_with(bus, 1, &[("STAS_NBFT_DIR", nbft_dir.as_str())], None)?;
    let fresh = wait_for(Duration::from_secs(30), || {
        let k = kernel_io_state();
        k.get(&nqn(0))
            .filter(|(_, s)| s == "live")
            .map(|(d, _)| d.clone())
            .filter(|d| RegistryDir::owner(d).is_some())
    })
    .ok_or_else(|| format!("no recorded fresh IOC: {:?}", kernel_io_state()))?;
    let entry = Path::new(RegistryDir::DIR).join(&fresh);
    let mut files: Vec<String> = std::fs::read_dir(&entry)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let owner = std::fs::read(entry.join("owner")).map_err(|e| e.to_string())?;
    let seqnum = std::fs::read_to_string(entry.join("seqnum")).map_err(|e| e.to_string())?;
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    };
    ensure(
        files == ["owner", "seqnum"]
            && owner == b"stas\n"
            && seqnum.ends_with('\n')
            && seqnum.trim().parse::<u64>().is_ok()
            && mode(&entry) == 0o755
            && mode(&entry.join("owner")) == 0o644
            && mode(&entry.join("seqnum")) == 0o644,
        || format!("{fresh}: {files:?} owner {owner:?} seqnum {seqnum:?}"),
    )?;
    ctx.log(format!(
        "fresh connect {fresh}: registry entry owner=\"stas\\n\" seqnum={:?} (0755/0644), as libnvme writes it",
        seqnum.trim()
    ));
    // The hand-made unowned one: adopted and claimed.
    wait_for(Duration::from_secs(20), || {
        (RegistryDir::owner(dev1).as_deref() == Some("stas\n")).then_some(())
    })
    .ok_or_else(|| format!("{dev1} (nvme connect, no owner) not claimed"))?;
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    ensure(
        log.contains(&format!("{dev1} - Adopted the existing kernel connection")),
        || format!("{dev1} was not adopted"),
    )?;
    ctx.log(format!(
        "{dev1} (nvme connect, unowned): adopted and claimed (owner=stas)"
    ));
    // The discoverd-owned one: still there, still discoverd's, not adopted; stacd's own
    // attempt is refused by the kernel as a duplicate and retried.
    std::thread::sleep(Duration::from_secs(5));
    let k = kernel_io_state();
    ensure(
        k.get(&nqn(2))
            .is_some_and(|(d, s)| d == dev2 && s == "live")
            && RegistryDir::owner(dev2).as_deref() == Some("discoverd\n"),
        || format!("{dev2} (owned by discoverd) was touched: {k:?}"),
    )?;
    let log = std::fs::read_to_string(format!("{WORK}/stacd-1.log")).unwrap_or_default();
    ensure(!log.contains(&format!("{dev2} - Adopted")), || {
        format!("{dev2} (owned by discoverd) was adopted")
    })?;
    let why = format!("{dev2} exists and is owned by \"discoverd\" in the ownership registry");
    ensure(log.contains(&why), || format!("stacd did not say {why:?}"))?;
    ctx.log(format!(
        "{dev2} (owner discoverd): neither adopted, claimed nor disconnected by the audit"
    ));
    // The NBFT-listed one, unowned: the same (nvme-stas 3.x's protected()).
    let k = kernel_io_state();
    ensure(
        k.get(&nqn(3))
            .is_some_and(|(d, s)| d == dev3 && s == "live")
            && RegistryDir::owner(dev3).is_none(),
        || format!("{dev3} (listed in the NBFT) was touched: {k:?}"),
    )?;
    ensure(!log.contains(&format!("{dev3} - Adopted")), || {
        format!("{dev3} (listed in the NBFT) was adopted")
    })?;
    let why = format!("{dev3} exists and is listed in the NBFT");
    ensure(log.contains(&why), || format!("stacd did not say {why:?}"))?;
    ctx.log(format!(
        "{dev3} (unowned, listed in the NBFT): neither adopted, claimed nor disconnected by the audit"
    ));
    stacd.stop()?;
    stafd.stop()
}

/// `/etc/nvme/nvme-stas.conf`, present for the scenario (a 3.x host) and removed however it
/// ends.
pub(super) struct ConnConfFile;

impl ConnConfFile {
    const PATH: &str = "/etc/nvme/nvme-stas.conf";

    pub(super) fn write(text: &str) -> Result<ConnConfFile, String> {
        std::fs::write(Self::PATH, text).map_err(|e| format!("{}: {e}", Self::PATH))?;
        Ok(ConnConfFile)
    }
}

impl Drop for ConnConfFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(Self::PATH);
    }
}

/// A kernel controller's sysfs attribute, by subsystem NQN.
fn io_attr(nqn: &str, attr: &str) -> Option<String> {
    let (dev, _) = kernel_io_state().get(nqn).cloned()?;
    std::fs::read_to_string(format!("/sys/class/nvme/{dev}/{attr}"))
        .ok()
        .map(|v| v.trim().to_owned())
}

/// Whether the kernel holds a discovery controller.
fn kernel_dc_present() -> bool {
    std::fs::read_dir("/sys/class/nvme")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            std::fs::read_to_string(e.path().join("cntrltype"))
                .is_ok_and(|t| t.trim() == "discovery")
        })
}

/// #10: both daemons on the nvme-stas 3.x layout on a real kernel, found by the presence of
/// `/etc/nvme/nvme-stas.conf` (3.x daemon files with `-f`): the DC from its
/// `[Discovery Controller]` section, the I/O defaults and a `[Subsystem]` path's own tunable
/// in the kernel's controllers, and EPCSD parking decided from what nvmet reports.
fn layout_3x(ctx: &mut Ctx) -> Result<(), String> {
    let _conn = ConnConfFile::write(&format!(
        "# written by the vm tier\n\
         [Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\n\
         [I/O Controller Defaults]\nqueue-size = 64\n\n\
         [Discovery Controller]\ncontroller = transport=tcp;traddr={TRADDR};trsvcid={PORT}\n\n\
         [Subsystem]\nnqn = {}\ncontroller = transport=tcp;traddr={TRADDR};trsvcid={PORT};nr-io-queues=1;fast-io-fail-tmo=20\n",
        nqn(0)
    ))?;
    let _ = std::fs::remove_dir_all(WORK);
    std::fs::create_dir_all(WORK).map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stafd.conf"), "[Global]\nbackend=kernel\n")
        .map_err(|e| e.to_string())?;
    std::fs::write(format!("{WORK}/stacd.conf"), "[Global]\nbackend=kernel\n")
        .map_err(|e| e.to_string())?;
    let bus = PrivateBus::start(&Path::new(WORK).join("bus"), &repo())?;
    let r = layout_3x_run(ctx, &bus);
    log_tails(ctx, &["stafd-1", "stacd-1"]);
    r
}

fn layout_3x_run(ctx: &mut Ctx, bus: &PrivateBus) -> Result<(), String> {
    let stafd = Daemon::start(bus, 1)?;
    let stacd = Daemon::start_stacd(bus, 1)?;
    let all = [nqn(0), nqn(1), nqn(2)];
    let t = wait_converged(bus, &all, Duration::from_secs(60))?;
    ctx.log(format!("3 IOCs live in {} ms", t.as_millis()));
    for d in ["stafd-1", "stacd-1"] {
        let log = std::fs::read_to_string(format!("{WORK}/{d}.log")).unwrap_or_default();
        let want = "nvme-stas 3.x layout (/etc/nvme/nvme-stas.conf exists)";
        ensure(log.contains(want), || format!("{d} did not log {want:?}"))?;
    }
    // [I/O Controller Defaults] queue-size = 64 for all; nr-io-queues=1 on nqn(0)'s path.
    for n in &all {
        let sq = io_attr(n, "sqsize");
        ensure(sq.as_deref() == Some("63"), || {
            format!("{n}: sqsize {sq:?}")
        })?;
    }
    let qc = io_attr(&nqn(0), "queue_count");
    ensure(qc.as_deref() == Some("2"), || {
        format!(
            "{}: queue_count {qc:?} (admin + 1 I/O queue wanted)",
            nqn(0)
        )
    })?;
    let fio = io_attr(&nqn(0), "fast_io_fail_tmo");
    ensure(fio.as_deref() == Some("20"), || {
        format!("{}: fast_io_fail_tmo {fio:?} (20 configured)", nqn(0))
    })?;
    ctx.log("sysfs: sqsize 63 on all three (queue-size 64), queue_count 2 and fast_io_fail_tmo 20 on the configured one");

    // EPCSD: parked unless nvmet's page carries a self entry with EPCSD.
    std::thread::sleep(Duration::from_secs(3));
    let log = std::fs::read_to_string(format!("{WORK}/stafd-1.log")).unwrap_or_default();
    let parked = log.contains("No persistent connection (EPCSD 0");
    let dc = kernel_dc_present();
    ensure(parked != dc, || {
        format!("stafd parked: {parked}, kernel DC present: {dc}")
    })?;
    if parked {
        // Its cached page still feeds stacd: nothing is dropped.
        std::thread::sleep(Duration::from_secs(5));
        converged(bus, &all)?;
        ctx.log("nvmet reports no EPCSD: the DC is parked (kernel DC gone), its cached page keeps the 3 IOCs");
    } else {
        ctx.log("nvmet reports EPCSD: the DC stays connected");
    }
    stacd.stop()?;
    stafd.stop()
}
