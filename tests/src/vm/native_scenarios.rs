//! Native NVMe/TCP host scenarios (issue: libnvme-rs native host): our userspace initiator
//! against Linux nvmet in the VM, cross-checked with Debian's nvme-cli, the kernel initiator
//! and tshark's dissector.

use libnvme_rs::spec::AEN_DISCOVERY_LOG_CHANGE;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libnvme_rs::admin::discovery::DiscoveryLogOptions;
use libnvme_rs::kernel::fabrics::Fabrics;
use libnvme_rs::tcp::Bytes;
use libnvme_rs::tcp::host::{
    ControllerOptions, DiscoverySession, HostId, IoController, IoOptions, Namespace,
};
use tokio::runtime::Runtime;

use super::Scenario;
use super::common::*;
use super::guest::{Ctx, HOSTID, HOSTNQN, ensure};
use crate::iobench::{ReadLoad, run_reads};

/// Size of the namespace the I/O scenarios write: 64 MiB of patterned data.
const IO_BYTES: u64 = 64 << 20;

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "native_discovery_matches_nvme_cli",
            target: target_with_referral,
            run: discovery_matches_nvme_cli,
        },
        Scenario {
            name: "native_aen_within_a_second_of_each_change",
            target: || target_with(6, 0),
            run: aen_within_a_second_of_each_change,
        },
        Scenario {
            name: "native_keep_alive_holds_3x_kato",
            target: || target_with(1, 0),
            run: keep_alive_holds_3x_kato,
        },
        Scenario {
            name: "native_io_64mib_verified_by_kernel_and_tshark",
            target: || target_with(1, IO_BYTES),
            run: io_64mib_verified_by_kernel_and_tshark,
        },
    ]
}

pub fn benchmarks() -> Vec<Scenario> {
    vec![Scenario {
        name: "bench_native_vs_kernel_io",
        target: || target_with(1, IO_BYTES),
        run: bench_native_vs_kernel_io,
    }]
}

fn runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn host() -> HostId {
    HostId {
        hostnqn: HOSTNQN.into(),
        hostid: hex_uuid(HOSTID).unwrap_or_default(),
    }
}

fn target_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4420))
}

// ---------------------------------------------------------------------------------------------

/// Acceptance 1 (part): native discovery connect, Identify, log page identical to nvme-cli's.
fn discovery_matches_nvme_cli(ctx: &mut Ctx) -> Result<(), String> {
    let rt = runtime()?;
    let (id, log) = rt.block_on(async {
        let mut s = DiscoverySession::connect(ControllerOptions::discovery(target_addr(), host()))
            .await
            .map_err(|e| format!("connect: {}", chain(&e)))?;
        let id = s.identify().cloned().ok_or("no identify data")?;
        let log = s
            .log_page(&DiscoveryLogOptions::default())
            .await
            .map_err(|e| format!("log page: {}", chain(&e)))?;
        s.close()
            .await
            .map_err(|e| format!("close: {}", chain(&e)))?;
        Ok::<_, String>((id, log))
    })?;
    ctx.log(format!(
        "identify: cntlid={} cntrltype={} subnqn={} mn={:?}",
        id.cntlid, id.cntrltype, id.subnqn, id.mn
    ));
    ensure(id.cntrltype == 2, || format!("cntrltype {}", id.cntrltype))?;
    let ours: BTreeSet<Record> = log.entries.iter().map(record_of).collect();
    let theirs = nvme_cli_records(ctx)?;
    ensure(ours == theirs, || {
        format!("records differ from nvme-cli:\n ours {ours:?}\n nvme-cli {theirs:?}")
    })?;
    ensure(ours.len() >= 3, || format!("only {} records", ours.len()))
}

/// Acceptance 1 (part): log > 4 KiB; an AEN within a second of each of three unlink/relink
/// changes, each followed by a correct re-read.
fn aen_within_a_second_of_each_change(ctx: &mut Ctx) -> Result<(), String> {
    let rt = runtime()?;
    let nvmet = ctx.nvmet.clone();
    let lines = rt.block_on(async {
        let mut lines = Vec::new();
        let mut s = DiscoverySession::connect(ControllerOptions::discovery(target_addr(), host()))
            .await
            .map_err(|e| format!("connect: {}", chain(&e)))?;
        let mut events = s.events().ok_or("no event stream")?;
        let opts = DiscoveryLogOptions::default();
        let log = s.log_page(&opts).await.map_err(|e| chain(&e))?;
        ensure((1 + log.entries.len()) * 1024 > 4096, || {
            "log page too small".into()
        })?;
        ensure(nvm_nqns(&log) == expected_nqns(6), || "initial log".into())?;
        for round in 0..3 {
            let victim = nqn(round);
            for relink in [false, true] {
                let t0 = Instant::now();
                if relink {
                    nvmet.link(1, &victim).map_err(|e| e.to_string())?;
                } else {
                    nvmet.unlink(1, &victim).map_err(|e| e.to_string())?;
                }
                let what = if relink { "relink" } else { "unlink" };
                let aen = tokio::time::timeout(EVENT_TIMEOUT, events.recv())
                    .await
                    .map_err(|_| format!("round {round} {what}: no AEN within {EVENT_TIMEOUT:?}"))?
                    .ok_or("event stream closed")?;
                let latency = t0.elapsed();
                lines.push(format!(
                    "round {round} {what}: AEN {aen:#x} after {latency:?}"
                ));
                ensure(aen == AEN_DISCOVERY_LOG_CHANGE, || {
                    format!("unexpected AEN {aen:#x}")
                })?;
                ensure(latency <= Duration::from_secs(1), || {
                    format!("round {round} {what}: AEN took {latency:?}")
                })?;
                let log = s.log_page(&opts).await.map_err(|e| chain(&e))?;
                let mut want = expected_nqns(6);
                if !relink {
                    want.remove(&victim);
                }
                ensure(nvm_nqns(&log) == want, || {
                    format!("round {round} {what}: re-read shows {:?}", nvm_nqns(&log))
                })?;
            }
        }
        s.close().await.map_err(|e| chain(&e))?;
        Ok::<_, String>(lines)
    })?;
    for l in lines {
        ctx.log(l);
    }
    Ok(())
}

/// Acceptance 1 (part): keep-alive keeps an idle association alive for 3× KATO (nvmet drops
/// a controller whose host stays silent past KATO).
fn keep_alive_holds_3x_kato(ctx: &mut Ctx) -> Result<(), String> {
    let kato = Duration::from_secs(3);
    let rt = runtime()?;
    rt.block_on(async {
        let mut opts = ControllerOptions::discovery(target_addr(), host());
        opts.kato = kato;
        let mut s = DiscoverySession::connect(opts)
            .await
            .map_err(|e| format!("connect: {}", chain(&e)))?;
        let idle = kato * 3 + Duration::from_secs(1);
        if let Ok(why) = tokio::time::timeout(idle, s.closed()).await {
            return Err(format!("association ended while idle: {}", chain(&why)));
        }
        let log = s
            .log_page(&DiscoveryLogOptions::default())
            .await
            .map_err(|e| format!("log page after {idle:?} idle: {}", chain(&e)))?;
        ensure(!log.entries.is_empty(), || "empty log".into())?;
        s.close().await.map_err(|e| chain(&e))
    })?;
    let dmesg = ctx.sh("dmesg | grep -i 'keep-alive' || true")?;
    ensure(!dmesg.contains("expired"), || {
        format!("nvmet reports expiry: {dmesg}")
    })
}

/// The pattern at absolute byte offset `off`: every 8-byte word names its own offset, so a
/// misplaced or stale block is caught wherever it lands.
fn fill_pattern(buf: &mut [u8], off: u64) {
    for (i, word) in buf.chunks_exact_mut(8).enumerate() {
        let at = off + 8 * i as u64;
        word.copy_from_slice(&(at.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5a5a).to_le_bytes());
    }
}

fn first_mismatch(buf: &[u8], off: u64) -> Option<u64> {
    let mut want = vec![0u8; buf.len()];
    fill_pattern(&mut want, off);
    buf.iter()
        .zip(&want)
        .position(|(a, b)| a != b)
        .map(|p| off + p as u64)
}

/// Writes then reads back `[start, start+len)` with `io` bytes per command and `qd` commands
/// in flight; returns the elapsed time of the write and the read phases.
async fn write_read_verify(
    ctrl: &Arc<IoController>,
    ns: Namespace,
    start: u64,
    len: u64,
    io: u64,
    qd: usize,
) -> Result<(Duration, Duration), String> {
    let bs = u64::from(ns.block_size);
    let mut phases = [Duration::ZERO; 2];
    for (phase, write) in [(0, true), (1, false)] {
        let t0 = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..qd as u64 {
            let ctrl = Arc::clone(ctrl);
            workers.spawn(async move {
                let mut off = start + w * io;
                while off < start + len {
                    if write {
                        let mut buf = vec![0u8; io as usize];
                        fill_pattern(&mut buf, off);
                        ctrl.write(&ns, off / bs, Bytes::from(buf))
                            .await
                            .map_err(|e| format!("write at {off}: {}", chain(&e)))?;
                    } else {
                        let data = ctrl
                            .read(&ns, off / bs, (io / bs) as u32)
                            .await
                            .map_err(|e| format!("read at {off}: {}", chain(&e)))?;
                        if let Some(bad) = first_mismatch(&data, off) {
                            return Err(format!("read back differs at byte {bad}"));
                        }
                    }
                    off += io * qd as u64;
                }
                Ok::<(), String>(())
            });
        }
        while let Some(r) = workers.join_next().await {
            r.map_err(|e| format!("worker: {e}"))??;
        }
        phases[phase] = t0.elapsed();
    }
    Ok((phases[0], phases[1]))
}

/// Acceptance 2 and 3: 64 MiB of patterned data written and read back natively at QD32 with
/// 4 KiB and 128 KiB I/O, digests on and off (a quarter each); the kernel's block device on
/// the same namespace must see the same bytes; tshark must decode our PDUs cleanly.
fn io_64mib_verified_by_kernel_and_tshark(ctx: &mut Ctx) -> Result<(), String> {
    let cap = ctx.capture_start("native_io", 4420)?;
    let rt = runtime()?;
    let quarter = IO_BYTES / 4;
    let combos = [
        (4096u64, true),
        (131_072, false),
        (4096, false),
        (131_072, true),
    ];
    let mut lines = Vec::new();
    for (i, (io, digests)) in combos.into_iter().enumerate() {
        let line = rt.block_on(async {
            let mut opts = ControllerOptions::new(target_addr(), host(), nqn(0));
            opts.transport.hdgst = digests;
            opts.transport.ddgst = digests;
            let ctrl = IoController::connect(
                opts,
                IoOptions {
                    queues: 2,
                    queue_size: 64,
                },
            )
            .await
            .map_err(|e| format!("connect (digests {digests}): {}", chain(&e)))?;
            let ns = ctrl.namespace(1).await.map_err(|e| chain(&e))?;
            ensure(ns.blocks * u64::from(ns.block_size) >= IO_BYTES, || {
                format!("namespace too small: {ns:?}")
            })?;
            let ctrl = Arc::new(ctrl);
            let (w, r) = write_read_verify(&ctrl, ns, i as u64 * quarter, quarter, io, 32).await?;
            ctrl.close().await.map_err(|e| chain(&e))?;
            Ok::<_, String>(format!(
                "{} KiB I/O, digests {digests}: 16 MiB written in {w:?}, read back in {r:?}",
                io / 1024
            ))
        })?;
        lines.push(line);
    }
    for l in lines {
        ctx.log(l);
    }
    ctx.capture_finish(cap)?;

    // The kernel initiator on the same namespace must read exactly what we wrote.
    let (kc, block) = kernel_block_device(ctx, &nqn(0))?;
    let data =
        std::fs::read(format!("/dev/{block}")).map_err(|e| format!("read /dev/{block}: {e}"))?;
    ensure(data.len() as u64 >= IO_BYTES, || {
        format!("/dev/{block} is {} bytes", data.len())
    })?;
    if let Some(bad) = first_mismatch(&data[..IO_BYTES as usize], 0) {
        return Err(format!(
            "kernel block device differs from what we wrote at byte {bad}"
        ));
    }
    ctx.log(format!("/dev/{block}: all 64 MiB match"));
    Fabrics::default()
        .disconnect(&kc.device)
        .map_err(|e| chain(&e))
}

/// Same namespace, same VM: fio on the kernel's block device against our native initiator,
/// 4 KiB random read QD32 and 128 KiB sequential read QD8.
fn bench_native_vs_kernel_io(ctx: &mut Ctx) -> Result<(), String> {
    let secs = 10u64;
    let (kc, block) = kernel_block_device(ctx, &nqn(0))?;
    let mut results = Vec::new();
    for (name, rw, bs, qd) in [
        ("4k-randread-qd32", "randread", 4096u64, 32usize),
        ("128k-seqread-qd8", "read", 131_072, 8),
    ] {
        let fio = ctx.sh(&format!(
            "fio --name={name} --filename=/dev/{block} --rw={rw} --bs={bs} --iodepth={qd} \
             --ioengine=libaio --direct=1 --runtime={secs} --time_based --output-format=json"
        ))?;
        let v: serde_json::Value =
            serde_json::from_str(&fio).map_err(|e| format!("fio JSON: {e}"))?;
        let kernel_iops = v["jobs"][0]["read"]["iops"]
            .as_f64()
            .ok_or("fio: no iops")?;
        let native_iops = native_read_iops(bs, qd, rw == "randread", Duration::from_secs(secs))?;
        results.push(format!(
            "{name}: kernel (fio) {kernel_iops:.0} IOPS, native {native_iops:.0} IOPS, ratio native/kernel {:.2}",
            native_iops / kernel_iops
        ));
    }
    Fabrics::default()
        .disconnect(&kc.device)
        .map_err(|e| chain(&e))?;
    for r in results {
        ctx.log(r);
    }
    Ok(())
}

fn native_read_iops(bs: u64, qd: usize, random: bool, dur: Duration) -> Result<f64, String> {
    let rt = runtime()?;
    rt.block_on(async {
        let opts = ControllerOptions::new(target_addr(), host(), nqn(0));
        let ctrl = IoController::connect(
            opts,
            IoOptions {
                queues: 2,
                queue_size: 64,
            },
        )
        .await
        .map_err(|e| chain(&e))?;
        let ns = ctrl.namespace(1).await.map_err(|e| chain(&e))?;
        let ctrl = Arc::new(ctrl);
        let load = ReadLoad {
            bs,
            qd,
            random,
            span: IO_BYTES,
            duration: dur,
        };
        let (ops, secs) = run_reads(Arc::clone(&ctrl), ns, load).await?;
        ctrl.close().await.map_err(|e| chain(&e))?;
        Ok(ops as f64 / secs)
    })
}
