//! The controller interface's contract (`crate::contract`) against Linux nvmet, on the kernel
//! and the native backends: the same cases the host tier runs against nvme-sim.

use std::collections::BTreeSet;
use std::time::Duration;

use libnvme_rs::admin::dim::DimHostEntry;
use libnvme_rs::controller::Backend;
use libnvme_rs::host::HostIdentity;
use libnvme_rs::spec::disclog::adrfam;
use libnvme_rs::trid::{Transport, TransportId};

use super::Scenario;
use super::common::{EVENT_TIMEOUT, PORT, TRADDR, hex_uuid, nqn, target_with};
use super::guest::{Ctx, HOSTID, HOSTNQN};
use super::nvmet::{Nvmet, Port, Target};
use crate::contract::{self, Rig};

pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario {
        name: "contract_kernel_and_native_backends_against_nvmet",
        target: contract_target,
        run: contract_both_backends,
    }]
}

/// Port 1 lists subsystem 0 (with a namespace, for the I/O cases); subsystem 1 exists and is
/// linked and unlinked to change the log.
fn contract_target() -> Target {
    let mut t = target_with(2, 16 << 20);
    t.ports[0].subsystems = vec![nqn(0)];
    t
}

struct NvmetRig {
    nvmet: Nvmet,
}

const PORT_ID: u16 = 1;

impl Rig for NvmetRig {
    fn dc(&self) -> TransportId {
        TransportId::new_discovery(Transport::Tcp, TRADDR, PORT, "").with_host_nqn(HOSTNQN)
    }

    fn ioc(&self) -> TransportId {
        TransportId::new(Transport::Tcp, TRADDR, PORT, &nqn(0)).with_host_nqn(HOSTNQN)
    }

    fn listed(&self) -> Result<BTreeSet<String>, String> {
        let linked = self.nvmet.linked(PORT_ID).map_err(|e| e.to_string())?;
        Ok(linked.into_iter().collect())
    }

    fn change_log(&self) -> Result<(), String> {
        let other = nqn(1);
        let r = if self.listed()?.contains(&other) {
            self.nvmet.unlink(PORT_ID, &other)
        } else {
            self.nvmet.link(PORT_ID, &other)
        };
        r.map_err(|e| e.to_string())
    }

    fn take_down(&self) -> Result<(), String> {
        self.nvmet
            .remove_port(PORT_ID)
            .map_err(|e| format!("removing port {PORT_ID}: {e}"))
    }

    fn bring_back(&self) -> Result<(), String> {
        let mut port = Port::tcp(PORT_ID, TRADDR, PORT);
        port.subsystems = vec![nqn(0)];
        self.nvmet
            .add_port(&port)
            .map_err(|e| format!("re-creating port {PORT_ID}: {e}"))
    }

    fn event_timeout(&self) -> Duration {
        EVENT_TIMEOUT
    }

    fn dim_host(&self) -> DimHostEntry {
        DimHostEntry {
            hostnqn: HOSTNQN.into(),
            hostid: hex_uuid(HOSTID).unwrap_or_default(),
            entity_name: "stas-vm".into(),
            entity_version: "Linux".into(),
            adrfam: adrfam::IPV4,
            symname: None,
        }
    }
}

fn contract_both_backends(ctx: &mut Ctx) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let rig = NvmetRig {
        nvmet: ctx.nvmet.clone(),
    };
    let host = HostIdentity {
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID.into(),
        hostkey: None,
    };
    rt.block_on(async {
        for kernel in [true, false] {
            let backend = if kernel {
                Backend::kernel(&host).await
            } else {
                Backend::native(&host)
            }
            .map_err(|e| e.chain())?;
            let mut log = Vec::new();
            let dc = contract::discovery_controller(&backend, &rig, &mut log).await;
            let io = match dc {
                Ok(()) => contract::io_controller(&backend, &rig, &mut log).await,
                Err(e) => Err(e),
            };
            for line in log {
                ctx.log(line);
            }
            io.map_err(|e| format!("{} backend: {e}", backend.name()))?;
            // The outage may have left subsystem 1 linked: every backend starts alike.
            let _ = rig.nvmet.unlink(PORT_ID, &nqn(1));
        }
        Ok(())
    })
}
