//! The controller interface's contract (libnvme-rs `controller`), run through the public API
//! only: the native backend against nvme-sim on loopback here; the kernel and native backends
//! against Linux nvmet run the same steps in the vm tier (`stafd_scenarios`).

use std::time::{Duration, Instant};

use libnvme_rs::controller::{Backend, ConnectParams, DcEvent, DiscoveryController, IoController};
use libnvme_rs::host::HostIdentity;
use libnvme_rs::spec::disclog::subtype;
use libnvme_rs::trid::{Transport, TransportId};
use nvme_sim::{SimConfig, Simulator, SubsystemConfig, tcp_entry};

const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f";
const SUBNQN: &str = "nqn.2024-01.io.example:contract";

fn backend() -> Backend {
    Backend::native(&HostIdentity {
        hostnqn: HOSTNQN.into(),
        hostid: "7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f".into(),
        hostkey: None,
    })
    .unwrap()
}

async fn within<F: std::future::Future>(limit: Duration, what: &str, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {limit:?}"))
}

#[tokio::test]
async fn discovery_controller_contract() {
    let mut cfg = SimConfig::default();
    cfg.subsystems.push(SubsystemConfig::new(SUBNQN));
    let sim = Simulator::start(cfg).await.unwrap();
    let a = sim.addr();
    sim.set_discovery_log(vec![tcp_entry(a, subtype::NVME, SUBNQN)])
        .unwrap();
    let tid = TransportId::new_discovery(Transport::Tcp, "127.0.0.1", &a.port().to_string(), "")
        .with_host_nqn(HOSTNQN);
    let b = backend();
    let mut dc = DiscoveryController::connect(&b, &tid, &ConnectParams::default())
        .await
        .unwrap();
    assert_eq!(dc.tid(), &tid);
    assert!(dc.identify().is_discovery_controller());
    assert_eq!(
        dc.keep_alive_interval(),
        Some(Duration::from_secs(15)),
        "half the 30 s KATO"
    );
    let log = dc.log_page(Default::default()).await.unwrap();
    assert_eq!(log.entries.len(), 1);

    // A change → LogPageChanged → the new page.
    sim.set_discovery_log(vec![]).unwrap();
    let ev = within(Duration::from_secs(2), "change notice", dc.next_event()).await;
    assert_eq!(ev, DcEvent::LogPageChanged);
    assert!(
        dc.log_page(Default::default())
            .await
            .unwrap()
            .entries
            .is_empty()
    );

    // A cut connection is reported within a second, with a reason; reconnect restores it.
    let t = Instant::now();
    sim.disconnect_all();
    let ev = within(Duration::from_secs(1), "connection lost", dc.next_event()).await;
    assert!(
        matches!(ev, DcEvent::ConnectionLost(ref why) if !why.is_empty()),
        "{ev:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    dc.reconnect().await.unwrap();
    assert!(
        dc.log_page(Default::default())
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    dc.disconnect(false).await.unwrap();

    // Errors name the controller and the operation.
    let dead =
        TransportId::new_discovery(Transport::Tcp, "127.0.0.1", "1", "").with_host_nqn(HOSTNQN);
    let err = DiscoveryController::connect(&b, &dead, &ConnectParams::default())
        .await
        .unwrap_err();
    let text = err.chain();
    assert!(
        text.starts_with(
            "(tcp, 127.0.0.1, 1, nqn.2014-08.org.nvmexpress.discovery): connect failed: "
        ),
        "{text}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn io_controller_contract() {
    let mut cfg = SimConfig::default();
    cfg.subsystems.push(SubsystemConfig::new(SUBNQN));
    let sim = Simulator::start(cfg).await.unwrap();
    let a = sim.addr();
    let tid = TransportId::new(Transport::Tcp, "127.0.0.1", &a.port().to_string(), SUBNQN)
        .with_host_nqn(HOSTNQN);
    let params = ConnectParams {
        nr_io_queues: Some(2),
        ..Default::default()
    };
    let mut ioc = IoController::connect(&backend(), &tid, &params)
        .await
        .unwrap();
    assert_eq!(ioc.state().as_deref(), Some("live"));
    assert_eq!(
        ioc.device(),
        None,
        "the native backend has no kernel device"
    );
    assert!(!ioc.adopted());
    let ctrl = sim.controllers();
    assert!(
        ctrl.iter()
            .any(|c| c.subnqn == SUBNQN && c.io_queues.len() == 2),
        "{ctrl:?}"
    );

    // The controller going away is reported within a second.
    sim.disconnect_all();
    let why = within(Duration::from_secs(1), "removal", ioc.removed()).await;
    assert!(!why.is_empty());
    assert_eq!(ioc.state().as_deref(), Some("dead"));
    ioc.disconnect(false).await.unwrap();

    // A clean disconnect leaves nothing on the target.
    let ioc = IoController::connect(&backend(), &tid, &params)
        .await
        .unwrap();
    ioc.disconnect(false).await.unwrap();
    within(
        Duration::from_secs(1),
        "target sees the disconnect",
        async {
            while !sim.connections().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        },
    )
    .await;
    sim.shutdown().await;
}
