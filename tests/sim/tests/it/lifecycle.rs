//! Control API effects on live connections, and shutdown leaving no task behind.

use std::time::Duration;

use libnvme_rs::tcp::Sqe;
use nvme_sim::{
    AEN_DISC_LOG_CHANGE, CmdMatch, Fault, FaultRule, SimConfig, Simulator, SubsystemConfig,
};

use crate::client::{Client, DISC_NQN, WAIT, admin_session, eventually};
use crate::io::{SUBNQN, io_queue};

#[tokio::test]
async fn shutdown_joins_every_task() {
    let baseline = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let mut cfg = SimConfig::default();
    cfg.subsystems.push(SubsystemConfig::new(SUBNQN));
    let sim = Simulator::start(cfg).await.unwrap();
    assert_eq!(sim.live_tasks(), 1);

    // Idle before ICReq; a discovery session with an AER held; an I/O controller with a
    // queue and a response held back by a delay; a write waiting for H2CData.
    let mut idle = Client::connect(sim.addr()).await;
    let (mut disc, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    disc.admin(0x09, 0x0b, 1 << 31).await;
    disc.post_aer().await;
    let (mut adm, cntlid) = admin_session(sim.addr(), SUBNQN, 0, false).await;
    let mut q = io_queue(sim.addr(), cntlid, false, 0).await;
    sim.inject(FaultRule::global(Fault::Delay {
        cmd: CmdMatch::Admin(0x18),
        delay: Duration::from_secs(60),
    }));
    adm.post(
        Sqe {
            opcode: 0x18,
            ..Sqe::default()
        },
        None,
        false,
        0,
    )
    .await;
    let write = Sqe {
        opcode: 0x01,
        nsid: 1.into(),
        cdw12: 255.into(),
        ..Sqe::default()
    };
    let data = vec![0u8; 1 << 20];
    q.post(write, Some(&data), false, 0).await;
    eventually("all connections up", || sim.live_tasks() == 5).await;
    assert_eq!(sim.counters().connections_active, 4);

    let started = tokio::time::Instant::now();
    sim.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        baseline
    );
    for c in [&mut idle, &mut disc, &mut adm, &mut q] {
        c.expect_closed().await;
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_the_simulator() {
    let baseline = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    drop(sim);
    c.expect_closed().await;
    eventually("tasks gone", || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
            == baseline
    })
    .await;
}

#[tokio::test]
async fn subsystems_come_and_go() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (mut d, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    assert!(d.admin(0x09, 0x0b, 1 << 31).await.is_success());
    let aer = d.post_aer().await;

    // Adding an advertised subsystem changes the log and raises the AEN.
    let genctr = sim.discovery_log().genctr;
    sim.add_subsystem(SubsystemConfig::new(SUBNQN), true)
        .unwrap();
    assert!(
        sim.add_subsystem(SubsystemConfig::new(SUBNQN), false)
            .is_err()
    );
    assert_eq!(
        d.wait_cqe(aer, WAIT).await.unwrap().dw0(),
        AEN_DISC_LOG_CHANGE
    );
    let log = crate::discovery::read_log(&mut d, 4096).await;
    assert_eq!(log.genctr, genctr + 1);
    assert_eq!(log.entries, vec![sim.subsystem_entry(SUBNQN)]);

    // Connect to it, then remove it: its controller is dropped, the log shrinks.
    let (mut a, cntlid) = admin_session(sim.addr(), SUBNQN, 0, false).await;
    let mut q = io_queue(sim.addr(), cntlid, false, 0).await;
    let aer = d.post_aer().await;
    assert!(sim.remove_subsystem(SUBNQN));
    assert!(!sim.remove_subsystem(SUBNQN));
    a.expect_closed().await;
    q.expect_closed().await;
    assert_eq!(
        d.wait_cqe(aer, WAIT).await.unwrap().dw0(),
        AEN_DISC_LOG_CHANGE
    );
    assert!(sim.discovery_log().entries.is_empty());
    assert_eq!(sim.controllers().len(), 1);

    // disconnect_all closes the rest.
    sim.disconnect_all();
    d.expect_closed().await;
    eventually("no connections", || sim.connections().is_empty()).await;
    assert_eq!(sim.counters().connections_active, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_queue_loss_tears_down_io_queues() {
    let mut cfg = SimConfig::default();
    cfg.subsystems.push(SubsystemConfig::new(SUBNQN));
    let sim = Simulator::start(cfg).await.unwrap();
    let (a, cntlid) = admin_session(sim.addr(), SUBNQN, 0, false).await;
    let mut q = io_queue(sim.addr(), cntlid, false, 0).await;
    drop(a);
    q.expect_closed().await;
    eventually("controller removed", || sim.controllers().is_empty()).await;
    sim.shutdown().await;
}
