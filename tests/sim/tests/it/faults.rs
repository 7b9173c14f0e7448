//! Every injectable fault, observed from the client side; and the simulator's own
//! robustness against malformed client PDUs.

use std::time::Duration;

use libnvme_rs::spec::disclog::DiscoveryLogHeader;
use libnvme_rs::tcp::wire::fes;
use libnvme_rs::tcp::{CapsuleCmd, DigestKind, H2CData, Pdu, PduError, Sqe, TermReq};
use nvme_sim::{
    CmdMatch, Fault, FaultRule, FaultTarget, MalformedPdu, SimConfig, Simulator, Status,
};

use crate::client::{Client, DISC_NQN, HOSTNQN, RecvError, admin_session, eventually, status};

async fn started() -> nvme_sim::SimHandle {
    Simulator::start(SimConfig::default()).await.unwrap()
}

#[tokio::test]
async fn drop_after_commands_on_one_connection() {
    let sim = started().await;
    let id = sim.next_connection_id();
    sim.inject(FaultRule::on_connection(id, Fault::DropAfterCommands(2)));
    let mut c = Client::connect(sim.addr()).await;
    c.ic(false, false).await;
    assert!(
        c.connect_queue(DISC_NQN, 0, 0xffff, 0, 0)
            .await
            .unwrap()
            .is_success()
    );
    assert!(c.prop_get(0, true).await.is_success());
    let sqe = Sqe {
        opcode: 0x18,
        ..Sqe::default()
    };
    let err = c.submit(sqe, None, false, 0).await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    // Other connections are not affected.
    let (mut other, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    for _ in 0..3 {
        assert!(other.keep_alive().await.is_success());
    }
    assert_eq!(sim.counters().faults_fired, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_on_command_and_never_answer_and_fail() {
    let sim = started().await;
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    // Never answer Get Log Page; the rest flows.
    let never = sim.inject(FaultRule::global(Fault::NeverAnswer(CmdMatch::Admin(0x02))));
    let cid = c
        .post(crate::client::log_sqe(0x70, 0, 20, false), None, false, 20)
        .await;
    assert!(c.keep_alive().await.is_success());
    assert!(matches!(
        c.wait_cqe(cid, Duration::from_millis(150)).await,
        Err(RecvError::Timeout)
    ));
    assert!(sim.remove_fault(never));
    // Fail Identify with a chosen status.
    sim.inject(
        FaultRule::global(Fault::FailCommand {
            cmd: CmdMatch::Admin(0x06),
            status: Status::INTERNAL,
        })
        .times(1),
    );
    assert_eq!(status(&c.identify(1, 0).await.unwrap().0), (0, 0x06, false));
    assert!(c.identify(1, 0).await.unwrap().0.is_success());
    assert!(sim.faults().is_empty());
    // Drop the connection on Identify.
    sim.inject(FaultRule::global(Fault::DropOnCommand(CmdMatch::Admin(
        0x06,
    ))));
    assert!(c.identify(1, 0).await.unwrap_err().is_closed());
    eventually("controller gone", || sim.controllers().is_empty()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn delayed_response_overtaken() {
    let sim = started().await;
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    sim.inject(FaultRule::global(Fault::Delay {
        cmd: CmdMatch::Admin(0x06),
        delay: Duration::from_millis(300),
    }));
    let start = tokio::time::Instant::now();
    let slow = c
        .post(
            Sqe {
                opcode: 0x06,
                cdw10: 1.into(),
                ..Sqe::default()
            },
            None,
            false,
            4096,
        )
        .await;
    // The Keep Alive sent after it completes first (`finish` would reject the Identify
    // data arriving before it).
    assert!(c.keep_alive().await.is_success());
    let (cqe, data) = c.finish(slow, None, 4096).await.unwrap();
    assert!(cqe.is_success());
    assert_eq!(data[111], 2);
    assert!(start.elapsed() >= Duration::from_millis(300));
    sim.shutdown().await;
}

#[tokio::test]
async fn corrupted_digests() {
    let sim = started().await;
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, true).await;
    sim.inject(FaultRule::global(Fault::CorruptHeaderDigest(CmdMatch::Admin(0x18))).times(1));
    match c
        .submit(
            Sqe {
                opcode: 0x18,
                ..Sqe::default()
            },
            None,
            false,
            0,
        )
        .await
    {
        Err(RecvError::Pdu(PduError::Digest(d))) => assert_eq!(d.kind, DigestKind::Header),
        other => panic!("{other:?}"),
    }
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, true).await;
    sim.inject(FaultRule::global(Fault::CorruptDataDigest(CmdMatch::Admin(0x06))).times(1));
    match c.identify(1, 0).await {
        Err(RecvError::Pdu(PduError::Digest(d))) => assert_eq!(d.kind, DigestKind::Data),
        other => panic!("{other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_pdus_reach_the_host() {
    let sim = started().await;
    let kinds = [
        MalformedPdu::UnknownType,
        MalformedPdu::BadHlen,
        MalformedPdu::PlenTooLarge,
        MalformedPdu::BadPdo,
        MalformedPdu::DigestFlagMismatch,
        MalformedPdu::SuccessWithoutLast,
        MalformedPdu::DataOutOfRange,
        MalformedPdu::UnexpectedR2t,
        MalformedPdu::UnknownCid,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let digests = i % 2 == 0;
        let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, digests).await;
        let conn = sim.connections().last().map(|c| c.id).unwrap();
        sim.inject(FaultRule::on_connection(
            conn,
            Fault::Malformed {
                cmd: CmdMatch::Admin(0x06),
                kind,
            },
        ));
        let cid = c
            .post(
                Sqe {
                    opcode: 0x06,
                    cdw10: 1.into(),
                    ..Sqe::default()
                },
                None,
                false,
                4096,
            )
            .await;
        let got = c.recv().await;
        let ok = match (kind, &got) {
            (MalformedPdu::UnknownType, Err(RecvError::Pdu(PduError::UnknownType(8)))) => true,
            (MalformedPdu::BadHlen, Err(RecvError::Pdu(PduError::InvalidHlen { .. }))) => true,
            (MalformedPdu::PlenTooLarge, Err(RecvError::Pdu(PduError::PlenTooLarge { .. }))) => {
                true
            }
            (MalformedPdu::BadPdo, Err(RecvError::Pdu(PduError::InvalidPdo { .. }))) => true,
            (
                MalformedPdu::DigestFlagMismatch,
                Err(RecvError::Pdu(PduError::DigestFlagMismatch { .. })),
            ) => true,
            (
                MalformedPdu::SuccessWithoutLast,
                Err(RecvError::Pdu(PduError::SuccessWithoutLast)),
            ) => true,
            (MalformedPdu::DataOutOfRange, Ok(Pdu::C2HData(d))) => {
                d.cccid == cid && d.datao >= 4096
            }
            (MalformedPdu::UnexpectedR2t, Ok(Pdu::R2t(r))) => r.cccid == cid,
            (MalformedPdu::UnknownCid, Ok(Pdu::CapsuleResp(r))) => r.cqe.cid() != cid,
            _ => false,
        };
        assert!(ok, "{kind:?}: {got:?}");
        // The host answers with an H2CTermReq, which the simulator records.
        let term = match got {
            Err(RecvError::Pdu(e)) => e.term_req(&c.last_frame),
            _ => TermReq {
                fes: fes::PDU_SEQUENCE_ERROR,
                fei: 0,
                data: Default::default(),
            },
        };
        let fes_sent = term.fes;
        c.send(&Pdu::H2CTermReq(term)).await;
        c.expect_closed().await;
        eventually("term req recorded", || {
            sim.term_reqs()
                .iter()
                .any(|t| t.connection == conn && t.fes == fes_sent)
        })
        .await;
    }
    assert_eq!(sim.counters().term_reqs_received, 9);
    sim.shutdown().await;
}

#[tokio::test]
async fn refused_connect_then_accepted() {
    let sim = started().await;
    sim.inject(FaultRule::global(Fault::RefuseConnect(Status::CONNECT_CTRL_BUSY)).times(1));
    let mut c = Client::connect(sim.addr()).await;
    c.ic(false, false).await;
    let cqe = c.connect_queue(DISC_NQN, 0, 0xffff, 0, 0).await.unwrap();
    assert_eq!(status(&cqe), (1, 0x81, false));
    assert!(sim.controllers().is_empty());
    // The retry goes through.
    let cqe = c.connect_queue(DISC_NQN, 0, 0xffff, 0, 0).await.unwrap();
    assert!(cqe.is_success());

    // Per host NQN: another host is refused, ours is not.
    sim.inject(
        FaultRule::global(Fault::RefuseConnect(Status::CONNECT_INVALID_HOST)).target(FaultTarget {
            hostnqn: Some("nqn.2024-01.io.example:someone-else".into()),
            ..FaultTarget::default()
        }),
    );
    let (_c2, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    assert!(sim.controllers().iter().all(|c| c.hostnqn == HOSTNQN));
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_on_accept() {
    let sim = started().await;
    sim.inject(FaultRule::global(Fault::ResetOnAccept).times(1));
    let mut c = Client::connect(sim.addr()).await;
    c.send(&Pdu::IcReq(Default::default())).await;
    let err = c.recv().await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    assert_eq!(sim.counters().connections_reset, 1);
    // The next connection is served.
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    assert!(c.keep_alive().await.is_success());
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_on_connect() {
    let sim = started().await;
    sim.inject(FaultRule::global(Fault::ResetOnCommand(CmdMatch::Fabrics(0x01))).times(1));
    let mut c = Client::connect(sim.addr()).await;
    c.ic(false, false).await;
    match c.connect_queue(DISC_NQN, 0, 0xffff, 0, 0).await {
        Err(RecvError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        other => panic!("expected RST, got {other:?}"),
    }
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    assert!(c.keep_alive().await.is_success());
    sim.shutdown().await;
}

#[tokio::test]
async fn ignored_keep_alive() {
    let sim = started().await;
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 400, false).await;
    sim.inject(FaultRule::global(Fault::IgnoreKeepAlive));
    for _ in 0..4 {
        let cid = c
            .post(
                Sqe {
                    opcode: 0x18,
                    ..Sqe::default()
                },
                None,
                false,
                0,
            )
            .await;
        let r = c.wait_cqe(cid, Duration::from_millis(150)).await;
        assert!(matches!(r, Err(RecvError::Timeout)), "{r:?}");
    }
    // Received keep-alives still count for KATO: the controller lives past 400 ms.
    assert!(c.identify(1, 0).await.unwrap().0.is_success());
    assert_eq!(sim.counters().keep_alives, 4);
    assert_eq!(sim.counters().kato_expirations, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn unstable_genctr() {
    let sim = started().await;
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    sim.inject(FaultRule::global(Fault::UnstableGenctr));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, h) = c.get_log(0x70, 0, 20, false).await.unwrap();
        seen.push(DiscoveryLogHeader::decode(&h).unwrap().genctr);
    }
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
    sim.shutdown().await;
}

/// The simulator rejects a bad client PDU with a C2HTermReq and closes, never panics.
#[tokio::test]
async fn malformed_client_pdus() {
    let sim = started().await;
    let expect_term = |fes_want: u16| {
        move |p: Result<Pdu, RecvError>| match p {
            Ok(Pdu::C2HTermReq(t)) => assert_eq!(t.fes, fes_want, "{t:?}"),
            other => panic!("expected C2HTermReq, got {other:?}"),
        }
    };

    // Reserved PDU type.
    let mut c = Client::connect(sim.addr()).await;
    c.send_raw(&[0x08, 0, 24, 0, 24, 0, 0, 0]).await;
    expect_term(fes::INVALID_HEADER_FIELD)(c.recv().await);
    c.expect_closed().await;

    // CapsuleCmd before ICReq.
    let mut c = Client::connect(sim.addr()).await;
    c.send(&Pdu::CapsuleCmd(CapsuleCmd {
        sqe: Sqe::default(),
        data: Default::default(),
    }))
    .await;
    expect_term(fes::PDU_SEQUENCE_ERROR)(c.recv().await);
    c.expect_closed().await;

    // A second ICReq; a PLEN far above the limits; a wrong HLEN.
    for (bad, want) in [
        (None, fes::PDU_SEQUENCE_ERROR),
        (
            Some(vec![0x04, 0, 72, 0, 0xff, 0xff, 0xff, 0x7f]),
            fes::INVALID_HEADER_FIELD,
        ),
        (
            Some(vec![0x04, 0, 70, 0, 70, 0, 0, 0]),
            fes::INVALID_HEADER_FIELD,
        ),
    ] {
        let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
        match bad {
            None => c.send(&Pdu::IcReq(Default::default())).await,
            Some(b) => c.send_raw(&b).await,
        }
        expect_term(want)(c.recv().await);
        c.expect_closed().await;
    }

    // H2CData for a transfer that does not exist.
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    c.send(&Pdu::H2CData(H2CData {
        cccid: 1,
        ttag: 77,
        datao: 0,
        last: true,
        data: vec![0u8; 16].into(),
    }))
    .await;
    match c.recv().await {
        Ok(Pdu::C2HTermReq(t)) => assert_eq!((t.fes, t.fei), (fes::INVALID_HEADER_FIELD, 10)),
        other => panic!("{other:?}"),
    }
    c.expect_closed().await;

    // A capsule whose data digest is wrong fails only that command.
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, true).await;
    let payload = vec![0u8; 1100];
    let sqe = Sqe {
        opcode: 0x21,
        flags: Sqe::PSDT_SGL,
        cid: 99.into(),
        dptr: libnvme_rs::tcp::SglDescriptor::in_capsule(1100),
        ..Sqe::default()
    };
    let mut bytes = libnvme_rs::tcp::encode(
        &Pdu::CapsuleCmd(CapsuleCmd {
            sqe,
            data: payload.into(),
        }),
        &c.neg,
    )
    .unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    c.send_raw(&bytes).await;
    let cqe = c.wait_cqe(99, crate::client::WAIT).await.unwrap();
    assert_eq!(status(&cqe), (0, 0x22, false));
    assert!(c.keep_alive().await.is_success());
    assert_eq!(sim.counters().data_digest_errors, 1);

    // Junk of every shape: never a panic, the simulator keeps serving.
    for seed in 0u32..40 {
        let mut c = Client::connect(sim.addr()).await;
        let len = 8 + (seed as usize * 37) % 300;
        let junk: Vec<u8> = (0..len)
            .map(|i| (seed.wrapping_mul(2654435761).wrapping_add(i as u32 * 40503) >> 13) as u8)
            .collect();
        c.send_raw(&junk).await;
        drop(c);
    }
    let (mut c, _) = admin_session(sim.addr(), DISC_NQN, 0, false).await;
    assert!(c.keep_alive().await.is_success());
    assert!(sim.counters().term_reqs_sent >= 6);
    sim.shutdown().await;
}
