//! Discovery controller: Connect, properties, Identify, log page reads, AEN masking, DIM,
//! keep-alive enforcement.

use std::net::SocketAddr;
use std::time::Duration;

use libnvme_rs::admin::dim::{DimHostEntry, DimTask};
use libnvme_rs::spec::disclog::{DiscoveryLog, DiscoveryLogHeader, adrfam, subtype};
use libnvme_rs::spec::identify::IdentifyController;
use libnvme_rs::tcp::Sqe;
use nvme_sim::{
    AEN_DISC_LOG_CHANGE, CmdKey, DcType, DimMode, SimConfig, Simulator, Status, referral_entry,
    tcp_entry,
};

use crate::client::{
    Client, DISC_NQN, HOSTID, HOSTNQN, RecvError, WAIT, admin_session, eventually, log_sqe, status,
};

/// `n` made-up subsystem entries.
pub fn entries(n: usize) -> Vec<libnvme_rs::spec::disclog::DiscoveryLogEntry> {
    (0..n)
        .map(|i| {
            let addr = SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8 + 1], 4420));
            tcp_entry(
                addr,
                subtype::NVME,
                &format!("nqn.2024-01.io.example:sub{i}"),
            )
        })
        .collect()
}

/// libnvme's procedure: header (RAE=1), entries in `chunk`-byte reads (RAE=1), header
/// again with RAE=0, which clears the AEN mask.
pub async fn read_log(c: &mut Client, chunk: u32) -> DiscoveryLog {
    let (cqe, hdr) = c.get_log(0x70, 0, 20, true).await.unwrap();
    assert!(cqe.is_success(), "{:?}", status(&cqe));
    let h = DiscoveryLogHeader::decode(&hdr).unwrap();
    let total = 1024 + h.numrec * 1024;
    let mut img = hdr.clone();
    img.resize(1024, 0);
    let mut off = 1024u64;
    while off < total {
        let n = chunk.min((total - off) as u32);
        let (cqe, part) = c.get_log(0x70, off, n, true).await.unwrap();
        assert!(cqe.is_success(), "{:?}", status(&cqe));
        img.extend_from_slice(&part);
        off += u64::from(n);
    }
    let (_, hdr2) = c.get_log(0x70, 0, 20, false).await.unwrap();
    assert_eq!(DiscoveryLogHeader::decode(&hdr2).unwrap().genctr, h.genctr);
    DiscoveryLog::decode(&img).unwrap()
}

async fn set_aec(c: &mut Client, value: u32) -> libnvme_rs::tcp::Cqe {
    c.admin(0x09, 0x0b, value).await
}

#[tokio::test]
async fn connect_properties_identify() {
    let mut cfg = SimConfig::default();
    cfg.discovery.dctype = DcType::Ddc;
    let sim = Simulator::start(cfg).await.unwrap();
    let mut c = Client::connect(sim.addr()).await;
    let ic = c.ic(true, true).await;
    assert!(ic.hdgst && ic.ddgst);
    assert_eq!((ic.cpda, ic.maxh2cdata), (0, 128 * 1024));

    // Nothing but Connect before Connect.
    assert_eq!(status(&c.keep_alive().await), (0, 0x0c, true));
    let cqe = c.connect_queue(DISC_NQN, 0, 0xffff, 0, 0).await.unwrap();
    assert!(cqe.is_success());
    let cntlid = cqe.dw0() as u16;
    // Admin commands need CC.EN / CSTS.RDY.
    assert_eq!(status(&c.identify(1, 0).await.unwrap().0), (0, 0x0c, true));

    let cap = c.prop_get(0x00, true).await;
    assert_eq!(cap.dw0() & 0xffff, 127);
    assert_ne!(cap.dw1() & (1 << 5), 0, "CAP.CSS NVM");
    assert_eq!(status(&c.prop_get(0x00, false).await), (0, 0x02, true));
    assert_eq!(c.prop_get(0x08, false).await.dw0(), 0x0002_0000);
    assert_eq!(c.enable().await, 1);
    assert_eq!(c.prop_get(0x14, false).await.dw0(), 0x0046_0001);

    let (cqe, data) = c.identify(1, 0).await.unwrap();
    assert!(cqe.is_success());
    let id = IdentifyController::decode(&data).unwrap();
    assert!(id.is_discovery_controller());
    assert_eq!(id.dctype_name(), "ddc");
    assert!(id.discovery_log_change_notices());
    assert_eq!(id.subnqn, DISC_NQN);
    assert_eq!(id.cntlid, cntlid);
    // Only CNS 1 on a discovery controller.
    assert_eq!(status(&c.identify(0, 1).await.unwrap().0), (0, 0x02, true));

    let ctrls = sim.controllers();
    assert_eq!(ctrls.len(), 1);
    assert!(ctrls[0].discovery);
    assert_eq!(
        (ctrls[0].hostnqn.as_str(), ctrls[0].hostid),
        (HOSTNQN, HOSTID)
    );
    let conns = sim.connections();
    assert_eq!(conns[0].qid, Some(0));
    assert!(conns[0].hdgst && conns[0].ddgst);
    let n = sim.counters();
    assert_eq!(n.commands_of(CmdKey::Fabrics(0x01)), 1);
    assert_eq!(n.commands_of(CmdKey::Admin(0x06)), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn connect_rejections() {
    let mut cfg = SimConfig::default();
    cfg.discovery.allowed_hosts = Some(vec!["nqn.2024-01.io.example:other".into()]);
    let sim = Simulator::start(cfg).await.unwrap();
    let mut c = Client::connect(sim.addr()).await;
    c.ic(false, false).await;
    // Unknown subsystem: Invalid Parameters, IPO 256 in the data.
    let cqe = c
        .connect_queue("nqn.2024-01.io.example:nope", 0, 0xffff, 0, 0)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (1, 0x82, true));
    assert_eq!(cqe.dw0(), 256 | (1 << 16));
    // Host not allowed.
    let cqe = c.connect_queue(DISC_NQN, 0, 0xffff, 0, 0).await.unwrap();
    assert_eq!(status(&cqe), (1, 0x84, true));
    assert!(sim.controllers().is_empty());
    sim.shutdown().await;

    // A discovery controller has no I/O queues.
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (_admin, cntlid) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    let mut q = Client::connect(sim.addr()).await;
    q.ic(false, false).await;
    let cqe = q.connect_queue(DISC_NQN, 1, cntlid, 0, 0).await.unwrap();
    assert_eq!((status(&cqe), cqe.dw0()), ((1, 0x82, true), 42));
    // Admin Connect must ask for a dynamic controller.
    let cqe = q.connect_queue(DISC_NQN, 0, 5, 0, 0).await.unwrap();
    assert_eq!((status(&cqe), cqe.dw0()), ((1, 0x82, true), 16 | (1 << 16)));
    sim.shutdown().await;
}

#[tokio::test]
async fn log_page_chunks_and_aen_masking() {
    let mut cfg = SimConfig::default();
    cfg.discovery.log = entries(10);
    cfg.discovery
        .log
        .push(referral_entry(SocketAddr::from(([10, 9, 9, 9], 8009))));
    let sim = Simulator::start(cfg).await.unwrap();
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;

    // Only the discovery change notice may be enabled.
    assert_eq!(status(&set_aec(&mut c, 1 << 8).await), (0, 0x02, true));
    assert!(set_aec(&mut c, 1 << 31).await.is_success());
    assert_eq!(c.admin(0x0a, 0x0b, 0).await.dw0(), 1 << 31);

    let aer = c.post_aer().await;
    let log = read_log(&mut c, 4096).await;
    assert_eq!(log, sim.discovery_log());
    assert_eq!(log.entries.len(), 11);
    assert!(log.entries[10].is_referral());
    assert_eq!(log.entries[10].subnqn, DISC_NQN);

    // A change completes the outstanding AER.
    sim.set_discovery_log(entries(3)).unwrap();
    assert_eq!(
        c.wait_cqe(aer, WAIT).await.unwrap().dw0(),
        AEN_DISC_LOG_CHANGE
    );

    // Masked until a Get Log Page with RAE=0: no AEN for further changes.
    let aer = c.post_aer().await;
    sim.bump_genctr();
    let short = Duration::from_millis(150);
    assert!(matches!(
        c.wait_cqe(aer, short).await,
        Err(RecvError::Timeout)
    ));
    // RAE=1 keeps it masked.
    assert!(c.get_log(0x70, 0, 20, true).await.unwrap().0.is_success());
    sim.bump_genctr();
    assert!(matches!(
        c.wait_cqe(aer, short).await,
        Err(RecvError::Timeout)
    ));
    // RAE=0 re-arms it.
    assert!(c.get_log(0x70, 0, 20, false).await.unwrap().0.is_success());
    sim.bump_genctr();
    assert_eq!(
        c.wait_cqe(aer, WAIT).await.unwrap().dw0(),
        AEN_DISC_LOG_CHANGE
    );

    // With no AER outstanding the event waits for the next AER.
    let log = read_log(&mut c, 4096).await;
    assert_eq!(log.entries.len(), 3);
    sim.bump_genctr();
    let aer = c.post_aer().await;
    assert_eq!(
        c.wait_cqe(aer, WAIT).await.unwrap().dw0(),
        AEN_DISC_LOG_CHANGE
    );
    assert_eq!(sim.counters().aens_sent, 3);

    // AERL + 1 = 4 outstanding at most.
    for _ in 0..4 {
        c.post_aer().await;
    }
    let cqe = c.admin(0x0c, 0, 0).await;
    assert_eq!(status(&cqe), (1, 0x05, true));
    sim.shutdown().await;
}

#[tokio::test]
async fn large_log_mdts_and_offsets() {
    let mut cfg = SimConfig::default();
    cfg.discovery.log = entries(3000);
    cfg.mdts = 3; // 32 KiB
    let sim = Simulator::start(cfg).await.unwrap();
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, true).await;
    let (_, id) = c.identify(1, 0).await.unwrap();
    assert_eq!(IdentifyController::decode(&id).unwrap().mdts, 3);

    let log = read_log(&mut c, 32 * 1024).await;
    assert_eq!(log.entries.len(), 3000);
    assert_eq!(log, sim.discovery_log());

    // Above MDTS, unaligned offset, offset past the end, NUMD not matching the SGL.
    assert_eq!(
        status(&c.get_log(0x70, 0, 64 * 1024, false).await.unwrap().0),
        (0, 2, true)
    );
    assert_eq!(
        status(&c.get_log(0x70, 2, 20, false).await.unwrap().0),
        (0, 2, true)
    );
    let end = 1024 + 3000 * 1024;
    assert_eq!(
        status(&c.get_log(0x70, end + 4, 4, false).await.unwrap().0),
        (0, 2, true)
    );
    let (cqe, _) = c
        .submit(log_sqe(0x70, 0, 4096, true), None, false, 8192)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (0, 0x0f, true));
    // Reading across the end is zero filled.
    let (cqe, tail) = c.get_log(0x70, end - 1024, 4096, true).await.unwrap();
    assert!(cqe.is_success());
    assert!(tail[1024..].iter().all(|&b| b == 0));
    // Supported Log Pages lists LID 0x00 and 0x70; other LIDs are invalid.
    let (cqe, lp) = c.get_log(0x00, 0, 1024, false).await.unwrap();
    assert!(cqe.is_success());
    assert_eq!((lp[0], lp[0x70 * 4], lp[4]), (1, 1, 0));
    assert_eq!(
        status(&c.get_log(0x05, 0, 512, false).await.unwrap().0),
        (0, 2, true)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unique_nqn_and_current_discovery_entry() {
    let unique = "nqn.2024-01.io.example:dc1";
    let mut cfg = SimConfig::default();
    cfg.discovery.unique_nqn = Some(unique.into());
    cfg.discovery.current_discovery_entry = true;
    let sim = Simulator::start(cfg).await.unwrap();
    let (mut c, _) = admin_session(sim.addr(), unique, 0, false).await;
    let (_, id) = c.identify(1, 0).await.unwrap();
    assert_eq!(IdentifyController::decode(&id).unwrap().subnqn, unique);
    let log = read_log(&mut c, 4096).await;
    assert_eq!(log.entries.len(), 1);
    let e = &log.entries[0];
    assert!(e.is_current_discovery() && e.epcsd());
    assert_eq!((e.subnqn.as_str(), e.adrfam), (unique, adrfam::IPV4));
    assert_eq!(e.trsvcid, sim.addr().port().to_string());
    // The well-known NQN is still accepted.
    let (_c2, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    assert_eq!(sim.controllers().len(), 2);
    sim.shutdown().await;
}

fn dim_sqe(task: DimTask) -> Sqe {
    Sqe {
        opcode: 0x21,
        cdw10: (task as u32).into(),
        ..Sqe::default()
    }
}

fn host_entry(symname: &str) -> DimHostEntry {
    DimHostEntry {
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID,
        entity_name: "testhost".into(),
        entity_version: "Linux 6.12.0 Debian".into(),
        adrfam: adrfam::IPV4,
        symname: Some(symname.into()),
    }
}

#[tokio::test]
async fn dim_registrations_are_recorded() {
    let mut cfg = SimConfig::default();
    cfg.discovery.dctype = DcType::Cdc;
    let sim = Simulator::start(cfg).await.unwrap();
    let (mut c, cntlid) = admin_session(sim.addr(), DISC_NQN, 0, true).await;

    let payload = host_entry("rack-1").payload().unwrap();
    let (cqe, _) = c
        .submit(dim_sqe(DimTask::Register), Some(&payload), true, 0)
        .await
        .unwrap();
    assert!(cqe.is_success(), "{:?}", status(&cqe));
    let regs = sim.registrations();
    assert_eq!(regs.len(), 1);
    let r = &regs[0];
    assert_eq!(
        (r.task, r.cntlid, r.eid.as_str()),
        (DimTask::Register, cntlid, HOSTNQN)
    );
    assert_eq!(
        (r.ename.as_str(), r.connect_hostnqn.as_str()),
        ("testhost", HOSTNQN)
    );
    assert_eq!(r.entries[0].hostid, Some(HOSTID));
    assert_eq!(r.entries[0].symname.as_deref(), Some("rack-1"));

    // Update (sent through R2T this time) replaces it; deregister removes it.
    let payload = host_entry("rack-2").payload().unwrap();
    let (cqe, _) = c
        .submit(dim_sqe(DimTask::Update), Some(&payload), false, 0)
        .await
        .unwrap();
    assert!(cqe.is_success());
    assert_eq!(
        sim.registrations()[0].entries[0].symname.as_deref(),
        Some("rack-2")
    );
    let (cqe, _) = c
        .submit(dim_sqe(DimTask::Deregister), Some(&payload), true, 0)
        .await
        .unwrap();
    assert!(cqe.is_success());
    assert!(sim.registrations().is_empty());
    assert_eq!(sim.dim_history().len(), 3);

    // Garbage is Invalid Discovery Information; an unknown task is Invalid Field.
    let mut bad = payload.clone();
    bad[0..4].copy_from_slice(&9999u32.to_le_bytes());
    let (cqe, _) = c
        .submit(dim_sqe(DimTask::Register), Some(&bad), true, 0)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (1, 0x2f, true));
    let mut sqe = dim_sqe(DimTask::Register);
    sqe.cdw10 = 7.into();
    let (cqe, _) = c.submit(sqe, Some(&payload), true, 0).await.unwrap();
    assert_eq!(status(&cqe), (0, 0x02, true));
    sim.shutdown().await;
}

#[tokio::test]
async fn dim_not_supported_modes() {
    for (dctype, mode, want) in [
        (DcType::None, DimMode::Auto, (0, 0x01, true)),
        (DcType::Cdc, DimMode::InvalidOpcode, (0, 0x01, true)),
        (
            DcType::Ddc,
            DimMode::Fail(Status::specific(0x32)),
            (1, 0x32, false),
        ),
    ] {
        let mut cfg = SimConfig::default();
        cfg.discovery.dctype = dctype;
        cfg.discovery.dim = mode;
        let sim = Simulator::start(cfg).await.unwrap();
        let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
        let payload = host_entry("x").payload().unwrap();
        let (cqe, _) = c
            .submit(dim_sqe(DimTask::Register), Some(&payload), true, 0)
            .await
            .unwrap();
        assert_eq!(status(&cqe), want, "{dctype:?} {mode:?}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn keep_alive_timeout_drops_the_controller() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 300, false).await;
    // Keep-alives every 100 ms keep it for well over KATO.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(c.keep_alive().await.is_success());
    }
    assert_eq!(sim.counters().keep_alives, 8);
    // Other commands do not count without TBKAS.
    let start = tokio::time::Instant::now();
    let mut closed = false;
    while start.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match c.identify(1, 0).await {
            Ok((cqe, _)) => assert!(cqe.is_success()),
            Err(e) => {
                assert!(e.is_closed(), "{e:?}");
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "connection outlived KATO");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    eventually("controller removed", || sim.controllers().is_empty()).await;
    assert_eq!(sim.counters().kato_expirations, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn kato_zero_timeout_tbkas_and_set_features() {
    let cfg = SimConfig {
        discovery_kato_zero_timeout: Some(Duration::from_millis(200)),
        traffic_based_keep_alive: true,
        ..SimConfig::default()
    };
    let sim = Simulator::start(cfg).await.unwrap();
    // KATO 0 on a discovery controller: dropped after the configured timeout.
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    c.expect_closed().await;
    // TBKAS: any admin command keeps the controller alive.
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 250, false).await;
    let (_, id) = c.identify(1, 0).await.unwrap();
    assert!(
        IdentifyController::decode(&id)
            .unwrap()
            .traffic_based_keep_alive()
    );
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(c.get_log(0x70, 0, 20, false).await.unwrap().0.is_success());
    }
    // Set Features KATO shortens the timer; Get Features reads it back.
    assert_eq!(c.admin(0x09, 0x0f, 100).await.dw0(), 100);
    assert_eq!(c.admin(0x0a, 0x0f, 0).await.dw0(), 100);
    c.expect_closed().await;
    assert_eq!(sim.counters().kato_expirations, 2);
    sim.shutdown().await;
}
