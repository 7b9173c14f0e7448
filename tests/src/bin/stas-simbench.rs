//! The native NVMe/TCP initiator against the simulated target on loopback (no kernel, no VM):
//! 4 KiB random read QD32 and 128 KiB sequential read QD8, figures on stdout.
//!
//! `stas-simbench [SECONDS]` (default 5). The simulator runs on its own thread and runtime so
//! the two sides do not share a scheduler.

use std::sync::Arc;
use std::time::Duration;

use libnvme_rs::tcp::host::{ControllerOptions, HostId, IoController, IoOptions};
use nvme_sim::{SimConfig, Simulator, SubsystemConfig};
use stas_tests::iobench::{ReadLoad, run_reads};

const NQN: &str = "nqn.2014-08.org.example:simbench";
const SPAN: u64 = 64 << 20;

fn main() -> Result<(), String> {
    let secs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().map_err(|e| format!("SECONDS: {e}")))
        .transpose()?
        .unwrap_or(5);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sim_thread = std::thread::spawn(move || -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut cfg = SimConfig::default();
            cfg.subsystems.push(SubsystemConfig::new(NQN));
            let sim = Simulator::start(cfg).await.map_err(|e| e.to_string())?;
            addr_tx.send(sim.addr()).map_err(|e| e.to_string())?;
            let _ = stop_rx.await;
            sim.shutdown().await;
            Ok(())
        })
    });
    let addr = addr_rx.recv().map_err(|_| "simulator did not start")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        let host = HostId {
            hostnqn: "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964".into(),
            hostid: [0x3d; 16],
        };
        let ctrl = IoController::connect(
            ControllerOptions::new(addr, host, NQN),
            IoOptions {
                queues: 2,
                queue_size: 64,
            },
        )
        .await
        .map_err(|e| format!("connect: {e}"))?;
        let ns = ctrl.namespace(1).await.map_err(|e| e.to_string())?;
        let ctrl = Arc::new(ctrl);
        println!("native initiator -> nvme-sim on {addr}, {secs} s per workload");
        for (name, bs, qd, random) in [
            ("4k-randread-qd32", 4096, 32, true),
            ("128k-seqread-qd8", 131_072, 8, false),
        ] {
            let load = ReadLoad {
                bs,
                qd,
                random,
                span: SPAN,
                duration: Duration::from_secs(secs),
            };
            let (ops, t) = run_reads(Arc::clone(&ctrl), ns, load).await?;
            let iops = ops as f64 / t;
            println!(
                "  {name:<18} {iops:>10.0} IOPS {:>9.1} MiB/s",
                iops * bs as f64 / f64::from(1 << 20)
            );
        }
        ctrl.close().await.map_err(|e| e.to_string())
    });
    let _ = stop_tx.send(());
    sim_thread
        .join()
        .map_err(|_| "simulator thread panicked")??;
    result
}
