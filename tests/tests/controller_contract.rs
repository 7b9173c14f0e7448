//! The controller interface's contract (`stas_tests::contract`) on the native backend against
//! nvme-sim on loopback; the vm tier runs the same cases on the kernel and native backends
//! against Linux nvmet (`contract_kernel_and_native_backends_against_nvmet`).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use libnvme_rs::admin::dim::DimHostEntry;
use libnvme_rs::controller::Backend;
use libnvme_rs::host::HostIdentity;
use libnvme_rs::spec::disclog::{adrfam, subtype};
use libnvme_rs::trid::{Transport, TransportId};
use nvme_sim::{
    Fault, FaultId, FaultRule, SimConfig, SimHandle, Simulator, SubsystemConfig, tcp_entry,
};
use stas_tests::contract::{self, Rig};

const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f";
const HOSTID: &str = "7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f";
const SUBNQN: &str = "nqn.2024-01.io.example:contract";
const OTHER: &str = "nqn.2024-01.io.example:contract-other";

fn backend() -> Backend {
    Backend::native(&HostIdentity {
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID.into(),
        hostkey: None,
    })
    .unwrap()
}

/// nvme-sim as the contract's target: the log toggles between one and two entries, an
/// outage is "reset every new connection" plus cutting the open ones.
struct SimRig {
    sim: SimHandle,
    down: Mutex<Option<FaultId>>,
}

impl SimRig {
    async fn start() -> Self {
        let mut cfg = SimConfig::default();
        cfg.subsystems.push(SubsystemConfig::new(SUBNQN));
        cfg.subsystems.push(SubsystemConfig::new(OTHER));
        let sim = Simulator::start(cfg).await.unwrap();
        sim.set_discovery_log(vec![tcp_entry(sim.addr(), subtype::NVME, SUBNQN)])
            .unwrap();
        Self {
            sim,
            down: Mutex::new(None),
        }
    }

    fn port(&self) -> String {
        self.sim.addr().port().to_string()
    }
}

impl Rig for SimRig {
    fn dc(&self) -> TransportId {
        TransportId::new_discovery(Transport::Tcp, "127.0.0.1", &self.port(), "")
            .with_host_nqn(HOSTNQN)
    }

    fn ioc(&self) -> TransportId {
        TransportId::new(Transport::Tcp, "127.0.0.1", &self.port(), SUBNQN).with_host_nqn(HOSTNQN)
    }

    fn listed(&self) -> Result<BTreeSet<String>, String> {
        Ok(self
            .sim
            .discovery_log()
            .entries
            .iter()
            .filter(|e| e.subtype == subtype::NVME)
            .map(|e| e.subnqn.clone())
            .collect())
    }

    fn change_log(&self) -> Result<(), String> {
        let mut entries = self.sim.discovery_log().entries;
        if entries.len() > 1 {
            entries.pop();
        } else {
            entries.push(tcp_entry(self.sim.addr(), subtype::NVME, OTHER));
        }
        self.sim
            .set_discovery_log(entries)
            .map_err(|e| e.to_string())
    }

    fn take_down(&self) -> Result<(), String> {
        let id = self.sim.inject(FaultRule::global(Fault::ResetOnAccept));
        *self.down.lock().unwrap() = Some(id);
        self.sim.disconnect_all();
        Ok(())
    }

    fn bring_back(&self) -> Result<(), String> {
        if let Some(id) = self.down.lock().unwrap().take() {
            self.sim.remove_fault(id);
        }
        Ok(())
    }

    fn event_timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn dim_host(&self) -> DimHostEntry {
        DimHostEntry {
            hostnqn: HOSTNQN.into(),
            hostid: [
                0x7b, 0x1f, 0x0c, 0x2e, 0x5d, 0x4a, 0x4e, 0x8b, 0x9c, 0x3f, 0x2a, 0x1b, 0x0c, 0x9d,
                0x8e, 0x7f,
            ],
            entity_name: "contract".into(),
            entity_version: "Linux".into(),
            adrfam: adrfam::IPV4,
            symname: None,
        }
    }

    fn io_queues_of(&self, subnqn: &str) -> Option<usize> {
        let conns = self.sim.connections();
        Some(
            conns
                .iter()
                .filter(|c| c.subnqn.as_deref() == Some(subnqn) && c.qid.is_some_and(|q| q > 0))
                .count(),
        )
    }
}

#[tokio::test]
async fn discovery_controller_contract() {
    let rig = SimRig::start().await;
    let mut log = Vec::new();
    let r = contract::discovery_controller(&backend(), &rig, &mut log).await;
    assert!(r.is_ok(), "{r:?}\n{}", log.join("\n"));
    rig.sim.shutdown().await;
}

#[tokio::test]
async fn io_controller_contract() {
    let rig = SimRig::start().await;
    let mut log = Vec::new();
    let r = contract::io_controller(&backend(), &rig, &mut log).await;
    assert!(r.is_ok(), "{r:?}\n{}", log.join("\n"));
    rig.sim.shutdown().await;
}
