//! Kernel-backend scenarios (issue: workspace, test tiers and the kernel backend).
//!
//! Each runs in the guest against Linux nvmet on loopback, with the kernel initiator driven
//! only through libnvme-rs; Debian's `nvme-cli` in the same VM is the independent reference.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use libnvme_rs::admin::dim::{DimHostEntry, DimOutcome, DimTask, dim};
use libnvme_rs::admin::discovery::{
    DiscoveryLogOptions, NSID_ALL, get_log_page_nsid, read_discovery_log,
};
use libnvme_rs::admin::identify::{identify_controller, supported_log_pages};
use libnvme_rs::admin::{AdminCommand, AdminError, AdminTransport, DataPhase, block_on};
use libnvme_rs::kernel::adopt::{ControllerKind, connect_or_adopt};
use libnvme_rs::kernel::fabrics::{Fabrics, FabricsError};
use libnvme_rs::kernel::options::ConnectOptions;
use libnvme_rs::kernel::passthru::AdminDevice;
use libnvme_rs::kernel::sysfs::SysfsRoot;
use libnvme_rs::kernel::uevent::{AEN_DISCOVERY_LOG_CHANGE, NetlinkUevents, Uevent, UeventSource};
use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
use libnvme_rs::spec::disclog::{DiscoveryLog, trtype_name};
use libnvme_rs::spec::status::SC_INVALID_FIELD;
use libnvme_rs::trid::{Transport, TransportId};

use super::Scenario;
use super::common::*;
use super::guest::{Ctx, HOSTID, HOSTNQN, ensure, wait_for};

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "kernel_dc_log_page_matches_nvme_cli",
            target: target_with_referral,
            run: dc_log_page_matches_nvme_cli,
        },
        Scenario {
            name: "kernel_log_page_120_subsystems",
            target: || target_with(120, 0),
            run: log_page_120_subsystems,
        },
        Scenario {
            name: "kernel_ioc_connect_sysfs_disconnect",
            target: || target_with(1, 16 << 20),
            run: ioc_connect_sysfs_disconnect,
        },
        Scenario {
            name: "kernel_aen_on_each_unlink_relink",
            target: || target_with(6, 0),
            run: aen_on_each_unlink_relink,
        },
        Scenario {
            name: "kernel_aen_stays_masked_while_rae_kept",
            target: || target_with(6, 0),
            run: aen_stays_masked_while_rae_kept,
        },
        Scenario {
            name: "kernel_identify_supported_logs_dim",
            target: || target_with(1, 16 << 20),
            run: identify_supported_logs_dim,
        },
        Scenario {
            name: "kernel_second_connect_refused_or_adopted",
            target: || target_with(1, 16 << 20),
            run: second_connect_refused_or_adopted,
        },
    ]
}

/// Wraps a transport and records every command, to check chunking and RAE on the real path.
struct Recording<'a> {
    inner: &'a mut AdminDevice,
    commands: Vec<AdminCommand>,
}

impl AdminTransport for Recording<'_> {
    async fn submit(&mut self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, AdminError> {
        self.commands.push(*cmd);
        self.inner.submit(cmd, data).await
    }

    fn max_transfer(&self) -> usize {
        self.inner.max_transfer()
    }
}

fn open_admin(device: &str) -> Result<AdminDevice, String> {
    let path = format!("/dev/{device}");
    wait_for(Duration::from_secs(10), || {
        Path::new(&path).exists().then_some(())
    })
    .ok_or_else(|| format!("{path} did not appear"))?;
    AdminDevice::open(&path).map_err(|e| format!("open {path}: {e}"))
}

/// Reads the discovery log through the passthru ioctl; returns it and the commands sent.
fn read_log(device: &str) -> Result<(DiscoveryLog, Vec<AdminCommand>), String> {
    read_log_with(device, &DiscoveryLogOptions::default())
}

fn read_log_with(
    device: &str,
    opts: &DiscoveryLogOptions,
) -> Result<(DiscoveryLog, Vec<AdminCommand>), String> {
    let mut dev = open_admin(device)?;
    let mut rec = Recording {
        inner: &mut dev,
        commands: Vec::new(),
    };
    let log = block_on(read_discovery_log(&mut rec, opts))
        .map_err(|e| format!("read_discovery_log on {device}: {}", chain(&e)))?;
    Ok((log, rec.commands))
}

// ---------------------------------------------------------------------------------------------

/// Acceptance 1: DC connect (well-known NQN, keep_alive_tmo), log page via the ioctl path,
/// exactly the records nvmet serves, identical to nvme-cli's.
fn dc_log_page_matches_nvme_cli(ctx: &mut Ctx) -> Result<(), String> {
    let dc = connect(ctx, &dc_options(30))?;
    let sysfs = SysfsRoot::new("/sys");
    let info = sysfs
        .controller(&dc.device)
        .map_err(|e| chain(&e))?
        .ok_or("DC missing from sysfs")?;
    ensure(info.cntrltype.as_deref() == Some("discovery"), || {
        format!("cntrltype {:?}, want discovery", info.cntrltype)
    })?;
    ensure(info.kato == Some(30), || {
        format!("kato {:?}, want 30", info.kato)
    })?;

    let (log, _) = read_log(&dc.device)?;
    let ours: BTreeSet<Record> = log.entries.iter().map(record_of).collect();
    for r in &ours {
        ctx.log(format!("ours: {r:?}"));
    }
    ensure(log.numrec as usize == log.entries.len(), || {
        format!("numrec {} but {} entries", log.numrec, log.entries.len())
    })?;
    // What nvmet was told to serve: two subsystems and one referral on port 1 (a newer nvmet
    // may add its own "current discovery subsystem" entry, which nvme-cli must show too).
    let mut want: BTreeSet<Record> = (0..2)
        .map(|i| rec("nvme subsystem", 1, PORT, &nqn(i), TRADDR))
        .collect();
    want.insert(rec(
        "discovery subsystem referral",
        7,
        "8009",
        WELL_KNOWN_DISC_NQN,
        "127.0.0.2",
    ));
    let served: BTreeSet<Record> = ours
        .iter()
        .filter(|r| r.2 != "current discovery subsystem")
        .cloned()
        .collect();
    ensure(served == want, || {
        format!("records differ from the nvmet configuration:\n ours {served:?}\n want {want:?}")
    })?;
    let theirs = nvme_cli_records(ctx)?;
    ensure(ours == theirs, || {
        format!("records differ from nvme-cli:\n ours {ours:?}\n nvme-cli {theirs:?}")
    })?;
    Fabrics::default()
        .disconnect(&dc.device)
        .map_err(|e| chain(&e))
}

/// Acceptance 2: 120 subsystems on one port, every entry comes back (chunked reads).
fn log_page_120_subsystems(ctx: &mut Ctx) -> Result<(), String> {
    let dc = connect(ctx, &dc_options(30))?;
    let (log, cmds) = read_log(&dc.device)?;
    ctx.log(format!(
        "{} entries, {} admin commands, genctr {}",
        log.entries.len(),
        cmds.len(),
        log.genctr
    ));
    ensure(nvm_nqns(&log) == expected_nqns(120), || {
        format!(
            "got {} NVM entries, want the 120 configured",
            nvm_nqns(&log).len()
        )
    })?;
    // 120 KiB of entries cannot come in one 4 KiB command; the last command must clear RAE.
    ensure(cmds.len() >= 30, || {
        format!("only {} commands for 120 entries", cmds.len())
    })?;
    let rae = |c: &AdminCommand| c.cdw10 & (1 << 15) != 0;
    ensure(cmds.last().is_some_and(|c| !rae(c)), || {
        "last read kept RAE set".into()
    })?;
    ensure(cmds[..cmds.len() - 1].iter().all(rae), || {
        "an early read cleared RAE".into()
    })?;
    let theirs = nvme_cli_records(ctx)?;
    let ours: BTreeSet<Record> = log.entries.iter().map(record_of).collect();
    ensure(ours == theirs, || {
        format!(
            "{} records here, {} from nvme-cli, or contents differ",
            ours.len(),
            theirs.len()
        )
    })?;
    Ok(())
}

/// Acceptance 3: an I/O controller from a DLPE; namespace appears; sysfs model; disconnect.
fn ioc_connect_sysfs_disconnect(ctx: &mut Ctx) -> Result<(), String> {
    let dc = connect(ctx, &dc_options(30))?;
    let (log, _) = read_log(&dc.device)?;
    let dlpe = log
        .entries
        .iter()
        .find(|e| e.subnqn == nqn(0))
        .ok_or("subsystem missing from the discovery log")?
        .clone();
    let transport: Transport = trtype_name(dlpe.trtype)
        .parse()
        .map_err(|e| format!("DLPE transport: {e:?}"))?;
    let opts = ConnectOptions {
        traddr: dlpe.traddr.clone(),
        trsvcid: dlpe.trsvcid.clone(),
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID.into(),
        ..ConnectOptions::new(transport, &dlpe.subnqn)
    };
    let ioc = connect(ctx, &opts)?;
    let sysfs = SysfsRoot::new("/sys");
    // Namespace scanning finishes asynchronously after the connect write returns.
    let info = wait_for(Duration::from_secs(15), || {
        sysfs
            .controller(&ioc.device)
            .ok()
            .flatten()
            .filter(|c| c.state.as_deref() == Some("live") && !c.namespaces.is_empty())
    })
    .ok_or("controller never became live with a namespace")?;
    ctx.log(format!("sysfs: {info:?}"));
    let addr = info.address.clone().unwrap_or_default();
    ensure(info.transport.as_deref() == Some("tcp"), || {
        "transport".into()
    })?;
    ensure(addr.traddr.as_deref() == Some(TRADDR), || {
        format!("traddr {:?}", addr.traddr)
    })?;
    ensure(addr.trsvcid.as_deref() == Some(PORT), || {
        format!("trsvcid {:?}", addr.trsvcid)
    })?;
    ensure(info.subsysnqn.as_deref() == Some(nqn(0).as_str()), || {
        "subsysnqn".into()
    })?;
    ensure(info.hostnqn.as_deref() == Some(HOSTNQN), || {
        format!("hostnqn {:?}", info.hostnqn)
    })?;
    ensure(info.hostid.as_deref() == Some(HOSTID), || {
        format!("hostid {:?}", info.hostid)
    })?;
    ensure(info.cntrltype.as_deref() == Some("io"), || {
        "cntrltype".into()
    })?;
    let block = info.namespaces[0].block_device.clone();
    let dev = format!("/dev/{block}");
    wait_for(Duration::from_secs(10), || {
        Path::new(&dev).exists().then_some(())
    })
    .ok_or_else(|| format!("{dev} did not appear"))?;
    // The multipath head gets its capacity when the path goes live, a moment after the node.
    let size_path = format!("/sys/block/{block}/size");
    let sectors = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&size_path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    })
    .unwrap_or(0);
    ensure(sectors * 512 == 16 << 20, || {
        format!("{dev} has {sectors} sectors")
    })?;

    Fabrics::default()
        .disconnect(&ioc.device)
        .map_err(|e| chain(&e))?;
    wait_for(Duration::from_secs(10), || {
        (sysfs.controller(&ioc.device).ok().flatten().is_none() && !Path::new(&dev).exists())
            .then_some(())
    })
    .ok_or("controller or block device still present after disconnect")?;
    Ok(())
}

/// Acceptance 4: log > 4 KiB, persistent DC; three unlink/relink rounds; every change
/// delivers NVME_AEN=0x70f002 and every re-read shows it. Also: the kernel numbers its
/// `connected` uevent before the connect write returns.
fn aen_on_each_unlink_relink(ctx: &mut Ctx) -> Result<(), String> {
    let mut events = NetlinkUevents::open().map_err(|e| chain(&e))?;
    let dc = connect(ctx, &dc_options(30))?;
    // libnvme-rs's kernel backend takes a new controller's events from the number read here
    // on: the kernel must have sent its own `connected` before the connect write returned,
    // or a backend would miss a reconnect (or take this one for a reconnect).
    let seen = SysfsRoot::new("/sys")
        .uevent_seqnum()
        .ok_or("/sys/kernel/uevent_seqnum unreadable")?;
    let connected = wait_uevent(
        &mut events,
        &dc.device,
        "NVME_EVENT=connected",
        EVENT_TIMEOUT,
        |ev| ev.nvme_event() == Some("connected"),
    )?;
    ensure(connected.seqnum().is_some_and(|n| n <= seen), || {
        format!(
            "`connected` is uevent {:?}, after {seen} read when the connect returned",
            connected.seqnum()
        )
    })?;
    ctx.log(format!(
        "`connected` is uevent {:?}, at or before {seen}",
        connected.seqnum()
    ));
    let (log, _) = read_log(&dc.device)?;
    ensure(
        log.entries.len() >= 5 && (1 + log.entries.len()) * 1024 > 4096,
        || format!("log page has only {} entries", log.entries.len()),
    )?;
    ensure(nvm_nqns(&log) == expected_nqns(6), || "initial log".into())?;

    for round in 0..3 {
        let victim = nqn(round);
        for relink in [false, true] {
            let t0 = Instant::now();
            if relink {
                ctx.nvmet.link(1, &victim).map_err(|e| e.to_string())?;
            } else {
                ctx.nvmet.unlink(1, &victim).map_err(|e| e.to_string())?;
            }
            let what = if relink { "relink" } else { "unlink" };
            wait_aen(&mut events, &dc.device, EVENT_TIMEOUT)
                .map_err(|e| format!("round {round} {what}: {e}"))?;
            ctx.log(format!(
                "round {round} {what} {victim}: AEN after {} ms",
                t0.elapsed().as_millis()
            ));
            let (log, _) = read_log(&dc.device)?;
            let mut want = expected_nqns(6);
            if !relink {
                want.remove(&victim);
            }
            ensure(nvm_nqns(&log) == want, || {
                format!("round {round} {what}: re-read shows {:?}", nvm_nqns(&log))
            })?;
        }
    }
    Ok(())
}

/// Negative control for the scenario above: a host that keeps RAE set on its last read (the
/// libnvme bug) gets the first AEN and then none, so the AEN scenario can tell the difference.
fn aen_stays_masked_while_rae_kept(ctx: &mut Ctx) -> Result<(), String> {
    let keep = DiscoveryLogOptions {
        retain_aen: true,
        ..DiscoveryLogOptions::default()
    };
    let mut events = NetlinkUevents::open().map_err(|e| chain(&e))?;
    let dc = connect(ctx, &dc_options(30))?;
    read_log_with(&dc.device, &keep)?;
    ctx.nvmet.unlink(1, &nqn(0)).map_err(|e| e.to_string())?;
    wait_aen(&mut events, &dc.device, EVENT_TIMEOUT).map_err(|e| format!("first change: {e}"))?;
    let (log, _) = read_log_with(&dc.device, &keep)?;
    ensure(!nvm_nqns(&log).contains(&nqn(0)), || {
        "unlink not visible".into()
    })?;
    ctx.nvmet.link(1, &nqn(0)).map_err(|e| e.to_string())?;
    // nvmet masks the notice until a read with RAE=0: no event may come now.
    if wait_aen(&mut events, &dc.device, Duration::from_secs(3)).is_ok() {
        return Err("AEN delivered although every read kept RAE set".into());
    }
    ctx.log("second change: no AEN while RAE kept (as nvmet specifies)");
    // One read with RAE=0 re-arms the notice; the next change is announced again.
    read_log(&dc.device)?;
    ctx.nvmet.unlink(1, &nqn(1)).map_err(|e| e.to_string())?;
    wait_aen(&mut events, &dc.device, EVENT_TIMEOUT)
        .map_err(|e| format!("change after RAE=0 read: {e}"))?;
    Ok(())
}

/// Identify, Supported Log Pages and DIM through the passthru path, checked against nvme-cli's
/// view of the same controller and against what nvmet implements.
fn identify_supported_logs_dim(ctx: &mut Ctx) -> Result<(), String> {
    let dc = connect(ctx, &dc_options(30))?;
    let mut dev = open_admin(&dc.device)?;
    let id = block_on(identify_controller(&mut dev))
        .map_err(|e| format!("identify DC: {}", chain(&e)))?;
    ctx.log(format!(
        "DC identify: cntlid={} cntrltype={} dctype={} subnqn={} mn={:?} sn={:?} fr={:?} kas={} oaes={:#x}",
        id.cntlid, id.cntrltype, id.dctype, id.subnqn, id.mn, id.sn, id.fr, id.kas, id.oaes
    ));
    ensure(id.cntrltype == 2, || {
        format!("cntrltype {}, want 2 (discovery)", id.cntrltype)
    })?;
    ensure(id.subnqn == WELL_KNOWN_DISC_NQN, || {
        format!("subnqn {}", id.subnqn)
    })?;
    ensure(id.oaes & (1 << 31) != 0, || {
        "DC does not announce discovery log change notices".into()
    })?;
    let cli = ctx.sh(&format!("nvme id-ctrl /dev/{} -o json", dc.device))?;
    let v: serde_json::Value =
        serde_json::from_str(&cli).map_err(|e| format!("nvme-cli JSON: {e}: {cli}"))?;
    let cli_str = |k: &str| {
        v[k].as_str()
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    ensure(
        cli_str("sn") == id.sn && cli_str("mn") == id.mn && cli_str("fr") == id.fr,
        || format!("sn/mn/fr differ from nvme-cli: {cli}"),
    )?;
    ensure(v["cntlid"].as_u64() == Some(u64::from(id.cntlid)), || {
        format!("cntlid {} vs nvme-cli {}", id.cntlid, v["cntlid"])
    })?;
    ensure(cli_str("subnqn") == id.subnqn, || {
        "subnqn differs from nvme-cli".into()
    })?;

    // nvmet's discovery controller serves only LID 0x70: Supported Log Pages is refused with a
    // status, which must come back typed (not as a transport error).
    match block_on(supported_log_pages(&mut dev)) {
        Err(AdminError::Status(st)) => ctx.log(format!("DC supported log pages: status {st}")),
        Ok(p) => ensure(p.lid_supported(0x70), || "DC lists no discovery log".into())?,
        Err(e) => return Err(format!("DC supported log pages: {}", chain(&e))),
    }

    // nvmet does not implement TP8010 DIM: the DC must answer Invalid Opcode = not supported.
    let hostid: [u8; 16] = hex_uuid(HOSTID).ok_or("bad HOSTID constant")?;
    let payload = DimHostEntry {
        hostnqn: HOSTNQN.into(),
        hostid,
        entity_name: "stas-vm".into(),
        entity_version: "Linux test".into(),
        adrfam: 1,
        symname: Some("vm tier".into()),
    }
    .payload()
    .map_err(|e| chain(&e))?;
    let outcome = block_on(dim(&mut dev, DimTask::Register, &payload))
        .map_err(|e| format!("DIM: {}", chain(&e)))?;
    ensure(outcome == DimOutcome::NotSupported, || {
        format!("DIM on nvmet: {outcome:?}")
    })?;

    // An I/O controller's Identify and Supported Log Pages, same device path.
    let opts = ioc_options(&nqn(0));
    let ioc = connect(ctx, &opts)?;
    let mut iodev = open_admin(&ioc.device)?;
    let id = block_on(identify_controller(&mut iodev))
        .map_err(|e| format!("identify IOC: {}", chain(&e)))?;
    ensure(
        id.cntrltype == 1 && id.subnqn == nqn(0) && id.nn >= 1,
        || {
            format!(
                "IOC identify: cntrltype {} subnqn {} nn {}",
                id.cntrltype, id.subnqn, id.nn
            )
        },
    )?;
    // nvmet 6.12 implements no Supported Log Pages (LID 0x00) log: we must report the same
    // Invalid Field status nvme-cli gets from it, typed.
    let ours = block_on(supported_log_pages(&mut iodev));
    let theirs = ctx.sh(&format!("nvme supported-log-pages /dev/{}", ioc.device));
    ctx.log(format!(
        "IOC supported log pages: ours {ours:?}, nvme-cli {theirs:?}"
    ));
    match (&ours, &theirs) {
        (Err(AdminError::Status(st)), Err(cli)) => ensure(
            st.sct == 0 && st.sc == SC_INVALID_FIELD && cli.contains("Invalid Field"),
            || format!("statuses differ: {st} vs {cli}"),
        )?,
        (Ok(p), Ok(_)) => ensure(p.lid_supported(0x00), || "LID 0 not listed".into())?,
        _ => return Err("supported log pages: we and nvme-cli disagree".into()),
    }
    // A log page nvmet does serve on an I/O controller, through the same chunked path.
    let mut smart = [0u8; 512];
    block_on(get_log_page_nsid(
        &mut iodev, NSID_ALL, 0x02, 0, 0, &mut smart, false,
    ))
    .map_err(|e| format!("SMART log: {}", chain(&e)))?;
    Ok(())
}

fn wait_aen(events: &mut NetlinkUevents, device: &str, timeout: Duration) -> Result<(), String> {
    wait_uevent(events, device, "NVME_AEN=0x70f002", timeout, |ev| {
        ev.aen() == Some(AEN_DISCOVERY_LOG_CHANGE)
    })
    .map(drop)
}

/// The first uevent of `device` that `want` accepts (`what` names it in the error).
fn wait_uevent(
    events: &mut NetlinkUevents,
    device: &str,
    what: &str,
    timeout: Duration,
    want: impl Fn(&Uevent) -> bool,
) -> Result<Uevent, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no {what} for {device} within {timeout:?}"));
        }
        match events.next_event(Some(left)) {
            Ok(Some(ev)) if ev.sysname() == device && want(&ev) => return Ok(ev),
            Ok(_) => {}
            Err(e) => return Err(chain(&e)),
        }
    }
}

/// Acceptance 5: a second connect of the same identity is refused (EALREADY mapped) for an
/// I/O controller and adopted by `connect_or_adopt`; nothing half-connected is left behind.
fn second_connect_refused_or_adopted(ctx: &mut Ctx) -> Result<(), String> {
    let opts = ioc_options(&nqn(0));
    let first = connect(ctx, &opts)?;
    let fabrics = Fabrics::default();
    let caps = fabrics.probe_capabilities().map_err(|e| chain(&e))?;
    let args = opts.build(&caps).map_err(|e| chain(&e))?;
    match fabrics.connect(&args) {
        Err(FabricsError::AlreadyConnected) => ctx.log("second connect: EALREADY (mapped)"),
        other => {
            return Err(format!(
                "second connect: want AlreadyConnected, got {other:?}"
            ));
        }
    }
    let sysfs = SysfsRoot::new("/sys");
    let count = |nqn: &str| -> Result<Vec<String>, String> {
        Ok(sysfs
            .controllers()
            .map_err(|e| chain(&e))?
            .into_iter()
            .filter(|c| c.subsysnqn.as_deref() == Some(nqn))
            .map(|c| c.name)
            .collect())
    };
    let iocs = count(&nqn(0))?;
    ensure(iocs == vec![first.device.clone()], || {
        format!("controllers after refusal: {iocs:?}")
    })?;

    let tid = TransportId::new(Transport::Tcp, TRADDR, PORT, &nqn(0)).with_host_nqn(HOSTNQN);
    wait_for(Duration::from_secs(10), || {
        sysfs
            .controller(&first.device)
            .ok()
            .flatten()
            .filter(|c| !c.namespaces.is_empty())
    })
    .ok_or("IOC never showed its namespace")?;
    let adopted = connect_or_adopt(&fabrics, &sysfs, &tid, ControllerKind::Io, &args)
        .map_err(|e| chain(&e))?;
    ensure(
        adopted.adopted && adopted.controller.device == first.device,
        || format!("IOC not adopted: {adopted:?}"),
    )?;

    // The well-known discovery NQN implies duplicate_connect in the kernel: without adoption a
    // second DC connect would create a second controller.
    let dc_opts = dc_options(30);
    let dc_args = dc_opts.build(&caps).map_err(|e| chain(&e))?;
    let dc_tid =
        TransportId::new_discovery(Transport::Tcp, TRADDR, PORT, "").with_host_nqn(HOSTNQN);
    let a = connect_or_adopt(
        &fabrics,
        &sysfs,
        &dc_tid,
        ControllerKind::Discovery,
        &dc_args,
    )
    .map_err(|e| chain(&e))?;
    let b = connect_or_adopt(
        &fabrics,
        &sysfs,
        &dc_tid,
        ControllerKind::Discovery,
        &dc_args,
    )
    .map_err(|e| chain(&e))?;
    ctx.log(format!("DC: first {a:?}, second {b:?}"));
    ensure(
        !a.adopted && b.adopted && a.controller.device == b.controller.device,
        || "second DC connect was not adopted".into(),
    )?;
    let dcs = count(WELL_KNOWN_DISC_NQN)?;
    ensure(dcs.len() == 1, || format!("discovery controllers: {dcs:?}"))?;
    Ok(())
}
