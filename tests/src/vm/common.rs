//! Pieces shared by the vm tier scenarios: the standard target, nvme-cli's view of a
//! discovery log, kernel connects, error rendering.

use std::collections::BTreeSet;
use std::time::Duration;

use libnvme_rs::kernel::fabrics::{Connected, Fabrics};
use libnvme_rs::kernel::options::ConnectOptions;
use libnvme_rs::kernel::sysfs::SysfsRoot;
use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
use libnvme_rs::spec::disclog::{DiscoveryLogEntry, adrfam_name, subtype_name, trtype_name};
use libnvme_rs::trid::Transport;

use super::guest::{Ctx, HOSTID, HOSTNQN, wait_for};
use super::nvmet::{Port, Referral, Subsystem, Target};

pub(crate) const TRADDR: &str = "127.0.0.1";
pub(crate) const PORT: &str = "4420";
/// Slow TCG guests still see an AEN within a few seconds; this bounds a hang, not a speed.
pub(crate) const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn nqn(i: usize) -> String {
    format!("nqn.2014-08.org.example:stas-vm-{i:03}")
}

/// `n` subsystems on one tcp port, each with a namespace of `ns_size` bytes when non-zero.
pub(crate) fn target_with(n: usize, ns_size: u64) -> Target {
    let subsystems: Vec<Subsystem> = (0..n)
        .map(|i| {
            let s = Subsystem::open(nqn(i));
            if ns_size > 0 {
                s.with_namespace(1, ns_size)
            } else {
                s
            }
        })
        .collect();
    let mut port = Port::tcp(1, TRADDR, PORT);
    port.subsystems = subsystems.iter().map(|s| s.nqn.clone()).collect();
    Target {
        hosts: Vec::new(),
        subsystems,
        ports: vec![port],
    }
}

pub(crate) fn target_with_referral() -> Target {
    let mut t = target_with(2, 0);
    t.ports[0].referrals.push(Referral {
        name: "r1".into(),
        trtype: "tcp".into(),
        adrfam: "ipv4".into(),
        traddr: "127.0.0.2".into(),
        trsvcid: "8009".into(),
        portid: 7,
    });
    t
}

pub(crate) fn dc_options(kato: u32) -> ConnectOptions {
    ConnectOptions {
        traddr: TRADDR.into(),
        trsvcid: PORT.into(),
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID.into(),
        keep_alive_tmo: Some(kato),
        ..ConnectOptions::new(Transport::Tcp, WELL_KNOWN_DISC_NQN)
    }
}

pub(crate) fn connect(ctx: &mut Ctx, opts: &ConnectOptions) -> Result<Connected, String> {
    let fabrics = Fabrics::default();
    let caps = fabrics
        .probe_capabilities()
        .map_err(|e| format!("capability probe: {}", chain(&e)))?;
    let args = opts
        .build(&caps)
        .map_err(|e| format!("options: {}", chain(&e)))?;
    ctx.log(format!("connect: {}", args.as_str()));
    let c = fabrics
        .connect(&args)
        .map_err(|e| format!("connect: {}", chain(&e)))?;
    ctx.log(format!("connected: {} cntlid={:?}", c.device, c.cntlid));
    Ok(c)
}

/// An error and its sources on one line.
pub(crate) use libnvme_rs::error_chain as chain;

/// The comparable part of a record, spelled as nvme-cli prints it.
pub(crate) type Record = (String, String, String, u64, String, String, String);

pub(crate) fn record_of(e: &DiscoveryLogEntry) -> Record {
    (
        trtype_name(e.trtype).to_owned(),
        adrfam_name(e.adrfam).to_owned(),
        subtype_name(e.subtype).to_owned(),
        u64::from(e.portid),
        e.trsvcid.clone(),
        e.subnqn.clone(),
        e.traddr.clone(),
    )
}

/// Records from `nvme discover -o json` (Debian's nvme-cli, same VM, its own DC connection).
pub(crate) fn nvme_cli_records(ctx: &mut Ctx) -> Result<BTreeSet<Record>, String> {
    let out = ctx.sh(&format!(
        "nvme discover -t tcp -a {TRADDR} -s {PORT} -o json"
    ))?;
    let v: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("nvme-cli JSON: {e}: {out}"))?;
    let recs = v["records"]
        .as_array()
        .ok_or_else(|| format!("nvme-cli JSON has no records: {out}"))?;
    let s = |r: &serde_json::Value, k: &str| -> Result<String, String> {
        r[k].as_str()
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| format!("nvme-cli record without {k}: {r}"))
    };
    recs.iter()
        .map(|r| {
            Ok((
                s(r, "trtype")?,
                s(r, "adrfam")?,
                s(r, "subtype")?,
                r["portid"]
                    .as_u64()
                    .ok_or("nvme-cli record without portid")?,
                s(r, "trsvcid")?,
                s(r, "subnqn")?,
                s(r, "traddr")?,
            ))
        })
        .collect()
}

pub(crate) use crate::contract::nvm_nqns;

pub(crate) fn expected_nqns(n: usize) -> BTreeSet<String> {
    (0..n).map(nqn).collect()
}

pub(crate) fn rec(subtype: &str, portid: u64, trsvcid: &str, nqn: &str, traddr: &str) -> Record {
    (
        "tcp".into(),
        "ipv4".into(),
        subtype.into(),
        portid,
        trsvcid.into(),
        nqn.into(),
        traddr.into(),
    )
}

pub(crate) fn hex_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    (hex.len() == 32).then_some(out)
}

/// Kernel connect options for an I/O controller of the standard target.
pub(crate) fn ioc_options(subnqn: &str) -> ConnectOptions {
    ConnectOptions {
        traddr: TRADDR.into(),
        trsvcid: PORT.into(),
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID.into(),
        ..ConnectOptions::new(Transport::Tcp, subnqn)
    }
}

/// Connects `subnqn` with the kernel initiator and waits for its namespace's block device;
/// returns the controller and the block device name (`nvmeXnY`).
pub(crate) fn kernel_block_device(
    ctx: &mut Ctx,
    subnqn: &str,
) -> Result<(Connected, String), String> {
    let kc = connect(ctx, &ioc_options(subnqn))?;
    let block = wait_for(Duration::from_secs(15), || {
        SysfsRoot::new("/sys")
            .controller(&kc.device)
            .ok()
            .flatten()
            .and_then(|c| c.namespaces.first().map(|n| n.block_device.clone()))
            .filter(|b| std::path::Path::new(&format!("/dev/{b}")).exists())
    })
    .ok_or("kernel block device did not appear")?;
    Ok((kc, block))
}
