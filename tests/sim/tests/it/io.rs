//! I/O subsystem: Identify, queues, Read/Write with in-capsule data, R2T/H2CData, C2HData
//! (SUCCESS flag), digests, PDU alignment.

use libnvme_rs::spec::identify::IdentifyController;
use libnvme_rs::tcp::{IcReq, Pdu, Sqe};
use nvme_sim::{C2hSuccess, SimConfig, Simulator, SubsystemConfig};

use crate::client::{Client, admin_session, status};

pub const SUBNQN: &str = "nqn.2024-01.io.example:disk1";

pub fn rw_sqe(opcode: u8, slba: u64, nlb: u32) -> Sqe {
    Sqe {
        opcode,
        nsid: 1.into(),
        cdw10: (slba as u32).into(),
        cdw11: ((slba >> 32) as u32).into(),
        cdw12: (nlb - 1).into(),
        ..Sqe::default()
    }
}

pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

/// IC + I/O Connect (QID 1) for controller `cntlid`.
pub async fn io_queue(
    sim_addr: std::net::SocketAddr,
    cntlid: u16,
    digests: bool,
    cattr: u8,
) -> Client {
    let mut q = Client::connect(sim_addr).await;
    q.ic(digests, digests).await;
    let cqe = q.connect_queue(SUBNQN, 1, cntlid, 0, cattr).await.unwrap();
    assert!(cqe.is_success(), "{:?}", status(&cqe));
    q
}

fn config() -> SimConfig {
    let mut sub = SubsystemConfig::new(SUBNQN);
    sub.inline_data_size = 4096;
    sub.max_io_queues = 2;
    let mut cfg = SimConfig {
        c2h_chunk: 5000,
        r2t_chunk: Some(16 * 1024),
        ..SimConfig::default()
    };
    cfg.ic.maxh2cdata = 4096;
    cfg.subsystems.push(sub);
    cfg
}

#[tokio::test]
async fn identify_features_and_queue_rules() {
    let sim = Simulator::start(config()).await.unwrap();
    let mut a = Client::connect(sim.addr()).await;
    a.ic(false, false).await;
    let cqe = a.connect_queue(SUBNQN, 0, 0xffff, 5000, 0).await.unwrap();
    let cntlid = cqe.dw0() as u16;

    // No I/O queue before the controller is enabled.
    let mut q = Client::connect(sim.addr()).await;
    q.ic(false, false).await;
    assert_eq!(
        status(&q.connect_queue(SUBNQN, 1, cntlid, 0, 0).await.unwrap()),
        (0, 0x0c, true)
    );
    drop(q);
    assert_eq!(a.enable().await, 1);

    let (_, id) = a.identify(1, 0).await.unwrap();
    let id = IdentifyController::decode(&id).unwrap();
    assert_eq!(id.cntrltype_name(), "io");
    assert_eq!((id.nn, id.ioccsz, id.cntlid), (1, (4096 + 64) / 16, cntlid));
    assert_eq!(id.subnqn, SUBNQN);
    assert!(id.disconnect_supported() && id.sgl_offset_supported());
    let (_, ns) = a.identify(0, 1).await.unwrap();
    assert_eq!(
        u64::from_le_bytes(ns[0..8].try_into().unwrap()),
        (64 << 20) / 4096
    );
    assert_eq!(ns[130], 12);
    let (_, list) = a.identify(2, 0).await.unwrap();
    assert_eq!(&list[..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
    let (_, descs) = a.identify(3, 1).await.unwrap();
    assert_eq!((descs[0], descs[1]), (2, 16));
    assert_eq!(status(&a.identify(3, 9).await.unwrap().0), (0, 0x0b, true));
    // Number of Queues: the subsystem maximum (0's based) whatever was asked.
    assert_eq!(a.admin(0x09, 0x07, 0x0007_0007).await.dw0(), 0x0001_0001);
    assert_eq!(status(&a.admin(0x09, 0x07, 0xffff).await), (0, 0x02, true));
    // Disconnect is for I/O queues only.
    let (cqe, _) = a
        .submit(crate::client::fabrics_sqe(0x08), None, false, 0)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (1, 0x85, true));

    let addr = sim.addr();
    let bad = |qid, cntlid| async move {
        let mut q = Client::connect(addr).await;
        q.ic(false, false).await;
        q.connect_queue(SUBNQN, qid, cntlid, 0, 0).await.unwrap()
    };
    let cqe = bad(1, cntlid + 1).await;
    assert_eq!((status(&cqe), cqe.dw0()), ((1, 0x82, true), 16 | (1 << 16)));
    let cqe = bad(3, cntlid).await;
    assert_eq!((status(&cqe), cqe.dw0()), ((1, 0x82, true), 42));
    let mut q1 = io_queue(sim.addr(), cntlid, false, 0).await;
    assert_eq!(status(&bad(1, cntlid).await), (1, 0x82, true), "QID in use");
    assert_eq!(sim.controllers()[0].io_queues, vec![1]);

    // Disconnect on an I/O queue completes, then the connection closes.
    let (cqe, _) = q1
        .submit(crate::client::fabrics_sqe(0x08), None, false, 0)
        .await
        .unwrap();
    assert!(cqe.is_success());
    q1.expect_closed().await;
    crate::client::eventually("queue freed", || sim.controllers()[0].io_queues.is_empty()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn enable_sequence_cfs_and_ready_delay() {
    let mut cfg = config();
    cfg.ready_delay_polls = 3;
    let sim = Simulator::start(cfg).await.unwrap();
    let mut a = Client::connect(sim.addr()).await;
    a.ic(false, false).await;
    a.connect_queue(SUBNQN, 0, 0xffff, 0, 0).await.unwrap();
    // IOSQES 7 on an I/O controller: CSTS.CFS.
    assert!(a.prop_set(0x14, 0x0047_0001).await.is_success());
    assert_eq!(a.prop_get(0x1c, false).await.dw0(), 2);
    // Disable, then enable properly: RDY only after three CSTS reads.
    assert!(a.prop_set(0x14, 0).await.is_success());
    assert!(a.prop_set(0x14, 0x0046_0001).await.is_success());
    let polls: Vec<u32> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(a.prop_get(0x1c, false).await.dw0());
        }
        v
    };
    assert_eq!(polls, vec![0, 0, 1, 1]);
    // Normal shutdown notification: SHST complete.
    assert!(a.prop_set(0x14, 0x0046_4001).await.is_success());
    assert_eq!(a.prop_get(0x1c, false).await.dw0(), 0b1001);
    // Only CC is writable, and only with a 4-byte attribute.
    assert_eq!(status(&a.prop_set(0x1c, 1).await), (0, 0x02, true));
    sim.shutdown().await;
}

#[tokio::test]
async fn write_read_in_capsule_and_r2t_with_digests() {
    let sim = Simulator::start(config()).await.unwrap();
    let (a, cntlid) = admin_session(sim.addr(), SUBNQN, 0, true).await;
    let mut q = io_queue(sim.addr(), cntlid, true, 0).await;

    // 4 KiB in-capsule write.
    let small = pattern(4096, 1);
    let (cqe, _) = q
        .submit(rw_sqe(0x01, 0, 1), Some(&small), true, 0)
        .await
        .unwrap();
    assert!(cqe.is_success(), "{:?}", status(&cqe));
    // In-capsule above IOCCSZ is refused.
    let two = pattern(8192, 2);
    let (cqe, _) = q
        .submit(rw_sqe(0x01, 0, 2), Some(&two), true, 0)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (0, 0x0f, true));
    // 64 KiB through R2T: 4 R2Ts of 16 KiB, each answered by 4 H2CData of 4 KiB.
    let r2ts = sim.counters().r2ts_sent;
    let big = pattern(64 * 1024, 3);
    let (cqe, _) = q
        .submit(rw_sqe(0x01, 10, 16), Some(&big), false, 0)
        .await
        .unwrap();
    assert!(cqe.is_success(), "{:?}", status(&cqe));
    assert_eq!(sim.counters().r2ts_sent - r2ts, 4);

    // Read back, split into 5000-byte C2HData PDUs.
    let (cqe, back) = q
        .submit(rw_sqe(0x02, 10, 16), None, false, 64 * 1024)
        .await
        .unwrap();
    assert!(cqe.is_success());
    assert_eq!(back, big);
    let (_, back) = q
        .submit(rw_sqe(0x02, 0, 1), None, false, 4096)
        .await
        .unwrap();
    assert_eq!(back, small);
    assert_eq!(
        sim.read_namespace(SUBNQN, 1, 10 * 4096, 64 * 1024).unwrap(),
        big
    );

    // Write Zeroes, Flush, errors.
    let (cqe, _) = q.submit(rw_sqe(0x08, 10, 2), None, false, 0).await.unwrap();
    assert!(cqe.is_success());
    assert!(
        sim.read_namespace(SUBNQN, 1, 10 * 4096, 8192)
            .unwrap()
            .iter()
            .all(|&b| b == 0)
    );
    assert!(
        q.submit(rw_sqe(0x00, 0, 1), None, false, 0)
            .await
            .unwrap()
            .0
            .is_success()
    );
    let blocks = (64u64 << 20) / 4096;
    let (cqe, _) = q
        .submit(rw_sqe(0x02, blocks - 1, 2), None, false, 8192)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (0, 0x80, true));
    let mut sqe = rw_sqe(0x02, 0, 1);
    sqe.nsid = 5.into();
    assert_eq!(
        status(&q.submit(sqe, None, false, 4096).await.unwrap().0),
        (0, 0x0b, true)
    );
    let (cqe, _) = q
        .submit(rw_sqe(0x02, 0, 2), None, false, 4096)
        .await
        .unwrap();
    assert_eq!(status(&cqe), (0, 0x0f, true), "NLB vs SGL length");
    assert_eq!(
        status(
            &q.submit(rw_sqe(0x7e, 0, 1), None, false, 0)
                .await
                .unwrap()
                .0
        ),
        (0, 1, true)
    );
    drop(a);
    sim.shutdown().await;
}

#[tokio::test]
async fn c2h_success_flag_paths() {
    for (policy, cattr, want_success) in [
        (C2hSuccess::WhenSqFlowDisabled, 0, false),
        (C2hSuccess::WhenSqFlowDisabled, 4, true),
        (C2hSuccess::Always, 0, true),
        (C2hSuccess::Never, 4, false),
    ] {
        let mut cfg = config();
        cfg.c2h_success = policy;
        let sim = Simulator::start(cfg).await.unwrap();
        sim.write_namespace(SUBNQN, 1, 0, &pattern(8192, 9));
        let (_a, cntlid) = admin_session(sim.addr(), SUBNQN, 0, false).await;
        let mut q = io_queue(sim.addr(), cntlid, false, cattr).await;
        let (cqe, data) = q
            .submit(rw_sqe(0x02, 0, 2), None, false, 8192)
            .await
            .unwrap();
        assert!(cqe.is_success());
        assert_eq!(data, pattern(8192, 9));
        let last = &q.last_frame;
        assert_eq!(last[0] == 0x07, want_success, "{policy:?} cattr {cattr}");
        if want_success {
            assert_eq!(last[1] & 0x0c, 0x0c, "LAST_PDU | SUCCESS");
        } else if cattr == 4 {
            assert_eq!(
                cqe.sqhd(),
                0xffff,
                "SQHD meaningless without SQ flow control"
            );
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn hpda_padding_and_cpda() {
    let mut cfg = config();
    cfg.ic.cpda = 3; // H2C data aligned to 16 bytes
    cfg.c2h_success = C2hSuccess::Always;
    let sim = Simulator::start(cfg).await.unwrap();
    let mut a = Client::connect(sim.addr()).await;
    let req = IcReq {
        hpda: 7, // C2H data aligned to 32 bytes
        hdgst: true,
        ddgst: false,
        maxr2t: 0,
    };
    let resp = a.ic_with(req).await.unwrap();
    assert_eq!(resp.cpda, 3);
    let cqe = a.connect_queue(SUBNQN, 0, 0xffff, 0, 0).await.unwrap();
    assert!(cqe.is_success());
    a.enable().await;
    let (cqe, _) = a.identify(1, 0).await.unwrap();
    assert!(cqe.is_success());
    // The last C2HData (SUCCESS, no CapsuleResp): CH(24) + HDGST(4) padded to 32.
    assert_eq!((a.last_frame[0], a.last_frame[3]), (0x07, 32));

    // nvmet's behaviour: HPDA ≠ 0 refused with a C2HTermReq (Unsupported Parameter).
    let mut cfg = config();
    cfg.ic.reject_nonzero_hpda = true;
    let sim2 = Simulator::start(cfg).await.unwrap();
    let mut b = Client::connect(sim2.addr()).await;
    b.send(&Pdu::IcReq(req)).await;
    match b.recv().await.unwrap() {
        Pdu::C2HTermReq(t) => assert_eq!((t.fes, t.fei), (0x06, 10)),
        other => panic!("{other:?}"),
    }
    b.expect_closed().await;
    sim.shutdown().await;
    sim2.shutdown().await;
}
