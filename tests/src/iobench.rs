//! Read workloads for the native initiator, shared by the in-VM benchmark (against nvmet)
//! and `stas-simbench` (against the simulator).

use std::sync::Arc;
use std::time::{Duration, Instant};

use libnvme_rs::tcp::host::{IoController, Namespace};

/// A fixed-size read workload.
#[derive(Debug, Clone, Copy)]
pub struct ReadLoad {
    /// Bytes per command.
    pub bs: u64,
    /// Commands in flight.
    pub qd: usize,
    /// Random offsets (else sequential).
    pub random: bool,
    /// Bytes of the namespace to cover.
    pub span: u64,
    pub duration: Duration,
}

/// Runs `load` with `qd` concurrent workers; returns (commands completed, elapsed seconds).
pub async fn run_reads(
    ctrl: Arc<IoController>,
    ns: Namespace,
    load: ReadLoad,
) -> Result<(u64, f64), String> {
    let slots = (load.span / load.bs).max(1);
    let blocks = u32::try_from(load.bs / u64::from(ns.block_size)).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..load.qd as u64 {
        let ctrl = Arc::clone(&ctrl);
        workers.spawn(async move {
            let mut done = 0u64;
            // A per-worker LCG spreads random reads; sequential workers stride by qd.
            let mut x = w.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut i = w;
            while start.elapsed() < load.duration {
                let slot = if load.random {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (x >> 17) % slots
                } else {
                    i = (i + load.qd as u64) % slots;
                    i
                };
                let lba = slot * load.bs / u64::from(ns.block_size);
                ctrl.read(&ns, lba, blocks)
                    .await
                    .map_err(|e| format!("read at LBA {lba}: {e}"))?;
                done += 1;
            }
            Ok::<u64, String>(done)
        });
    }
    let mut total = 0;
    while let Some(r) = workers.join_next().await {
        total += r.map_err(|e| e.to_string())??;
    }
    Ok((total, start.elapsed().as_secs_f64()))
}
