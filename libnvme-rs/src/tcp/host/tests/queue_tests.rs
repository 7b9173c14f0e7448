//! Connection level: TCP connect, ICReq/ICResp negotiation (digests, CPDA), data digests,
//! and task hygiene on close and drop.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;

use super::target::{Action, Event, Peer, SimConfig, Target, resp};
use super::*;
use crate::admin::discovery::{DiscoveryLogOptions, get_log_page, read_discovery_log};
use crate::admin::opcode;
use crate::tcp::host::{AdminController, IcError, TcpError};
use crate::tcp::wire::fes;
use crate::tcp::{C2HData, DigestKind, IcResp, Negotiated, Pdu, encode};

#[tokio::test(start_paused = true)]
async fn digests_and_cpda_negotiated_and_used() {
    let cfg = SimConfig {
        cpda: 7,
        c2h_chunk: 700,
        ..SimConfig::default()
    };
    let t = Target::start(cfg, disclog(3, 9)).await;
    let mut o = disc_opts(t.addr);
    o.transport.hdgst = true;
    o.transport.ddgst = true;
    let mut ctrl = within(AdminController::connect(o)).await.unwrap();
    assert_eq!(
        ctrl.negotiated(),
        Negotiated {
            hdgst: true,
            ddgst: true,
            cpda: 7,
            hpda: 0
        }
    );
    // Every PDU both ways passed the strict decoder with digests and 32-byte H2C padding.
    let log = within(read_discovery_log(
        &mut ctrl,
        &DiscoveryLogOptions::default(),
    ))
    .await
    .unwrap();
    assert_eq!(log.entries.len(), 3);
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn declined_digests_stay_off() {
    let cfg = SimConfig {
        offer_hdgst: false,
        offer_ddgst: false,
        ..SimConfig::default()
    };
    let t = Target::start(cfg, disclog(1, 1)).await;
    let mut o = disc_opts(t.addr);
    o.transport.hdgst = true;
    o.transport.ddgst = true;
    let mut ctrl = within(AdminController::connect(o)).await.unwrap();
    assert_eq!(ctrl.negotiated(), Negotiated::default());
    within(read_discovery_log(
        &mut ctrl,
        &DiscoveryLogOptions::default(),
    ))
    .await
    .unwrap();
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

/// A raw peer answering ICReq with `resp` bytes, returning what it receives next.
async fn ic_peer(answer: Vec<u8>) -> (std::net::SocketAddr, tokio::task::JoinHandle<Option<Pdu>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Peer::new(stream);
        let Some(Pdu::IcReq(req)) = peer.recv().await else {
            panic!("no ICReq")
        };
        assert_eq!((req.hpda, req.maxr2t), (0, 0));
        peer.send_raw(&answer).await;
        peer.recv().await
    });
    (addr, task)
}

fn ic_resp(hdgst: bool, maxh2cdata: u32) -> Vec<u8> {
    let r = IcResp {
        cpda: 0,
        hdgst,
        ddgst: false,
        maxh2cdata,
    };
    encode(&Pdu::IcResp(r), &Negotiated::default()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn unrequested_digest_is_refused() {
    let (addr, peer) = ic_peer(ic_resp(true, 4096)).await;
    let e = within(AdminController::connect(disc_opts(addr)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            TcpError::IcNegotiation(IcError::UnrequestedDigest(DigestKind::Header))
        ),
        "{e:?}"
    );
    assert_eq!(within(peer).await.unwrap(), None, "connection closed");
}

#[tokio::test(start_paused = true)]
async fn invalid_icresp_gets_term_req() {
    let mut bad = ic_resp(false, 4096);
    bad[12..16].copy_from_slice(&100u32.to_le_bytes());
    let (addr, peer) = ic_peer(bad).await;
    let e = within(AdminController::connect(disc_opts(addr)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, TcpError::IcNegotiation(IcError::Invalid(_))),
        "{e:?}"
    );
    let Some(Pdu::H2CTermReq(t)) = within(peer).await.unwrap() else {
        panic!("expected H2CTermReq")
    };
    assert_eq!((t.fes, t.fei), (fes::INVALID_HEADER_FIELD, 12));
    assert_eq!(t.data.len(), 128, "offending header copied");
}

#[tokio::test(start_paused = true)]
async fn icresp_timeout_and_refused_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut o = disc_opts(listener.local_addr().unwrap());
    o.transport.connect_timeout = Duration::from_millis(100);
    let e = within(AdminController::connect(o.clone()))
        .await
        .unwrap_err();
    assert!(matches!(e, TcpError::IcTimeout(_)), "{e:?}");
    drop(listener);
    let e = within(AdminController::connect(o)).await.unwrap_err();
    assert!(matches!(e, TcpError::Connect { .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn data_digest_error_fails_only_that_command() {
    // Only the data digest is negotiated; the hook answers one Get Log Page with a C2HData
    // whose data was altered after the digest was computed.
    let neg = Negotiated {
        ddgst: true,
        ..Negotiated::default()
    };
    let cfg = SimConfig {
        offer_hdgst: false,
        hook: Some(Arc::new(move |_, sqe| {
            if sqe.opcode == opcode::GET_LOG_PAGE && sqe.cdw12.get() == 8 {
                let pdu = Pdu::C2HData(C2HData {
                    cccid: sqe.cid(),
                    datao: 0,
                    last: true,
                    success: false,
                    data: Bytes::from(vec![0x55u8; 8]),
                });
                let mut b = encode(&pdu, &neg).unwrap();
                b[24] ^= 1;
                b.extend(encode(&resp(sqe.cid(), 0, 0, 0), &neg).unwrap());
                Action::Raw(b)
            } else {
                Action::Default
            }
        })),
        ..SimConfig::default()
    };
    let t = Target::start(cfg, disclog(1, 1)).await;
    let mut o = disc_opts(t.addr);
    o.transport.ddgst = true;
    let mut ctrl = within(AdminController::connect(o)).await.unwrap();
    let mut buf = [0u8; 8];
    let e = within(get_log_page(&mut ctrl, 0x70, 0, 8, &mut buf, true))
        .await
        .unwrap_err();
    assert!(matches!(TcpError::from(e), TcpError::DataDigest { .. }));
    // The connection survives: the next read works.
    within(read_discovery_log(
        &mut ctrl,
        &DiscoveryLogOptions::default(),
    ))
    .await
    .unwrap();
    assert!(ctrl.close_reason().is_none());
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn close_leaks_no_task() {
    let t = Target::start(SimConfig::default(), disclog(0, 1)).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    t.wait_for("AER outstanding", |s| s.pending_aers == 1).await;
    // reader, writer, keep-alive, one AER, plus the target's connection task.
    assert_eq!(metrics.num_alive_tasks(), baseline + 5);
    assert!(!ctrl.is_finished());
    within(ctrl.close()).await.unwrap();
    t.wait_for("EOF", |s| s.events.contains(&Event::Eof { qid: 0 }))
        .await;
    assert_eq!(settled_alive_tasks(baseline).await, baseline);
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn drop_aborts_tasks_and_closes_the_connection() {
    let t = Target::start(SimConfig::default(), disclog(0, 1)).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    drop(ctrl);
    t.wait_for("EOF", |s| s.events.contains(&Event::Eof { qid: 0 }))
        .await;
    assert_eq!(settled_alive_tasks(baseline).await, baseline);
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn header_digest_error_is_fatal_with_fes_3() {
    let neg = Negotiated {
        hdgst: true,
        ..Negotiated::default()
    };
    let cfg = SimConfig {
        offer_ddgst: false,
        hook: Some(Arc::new(move |_, sqe| {
            if sqe.opcode == opcode::GET_FEATURES {
                let mut b = encode(&resp(sqe.cid(), 0, 0, 0), &neg).unwrap();
                b[24] ^= 0xff;
                Action::Raw(b)
            } else {
                Action::Default
            }
        })),
        ..SimConfig::default()
    };
    let t = Target::start(cfg, disclog(0, 1)).await;
    let mut o = disc_opts(t.addr);
    o.transport.hdgst = true;
    let ctrl = within(AdminController::connect(o)).await.unwrap();
    assert!(ctrl.negotiated().hdgst);
    let e = within(ctrl.get_features(0x0f)).await.unwrap_err();
    assert!(
        matches!(e.cause(), TcpError::Pdu(crate::tcp::PduError::Digest(d)) if d.kind == DigestKind::Header),
        "{e:?}"
    );
    t.wait_for("H2CTermReq FES 3", |s| {
        s.events.contains(&Event::TermReq {
            fes: fes::HEADER_DIGEST_ERROR,
            fei: 0,
        })
    })
    .await;
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn source_address_and_interface_binding() {
    let t = Target::start(SimConfig::default(), disclog(0, 1)).await;
    let mut o = disc_opts(t.addr);
    o.transport.host_traddr = Some("127.0.0.1".parse().unwrap());
    let ctrl = within(AdminController::connect(o.clone())).await.unwrap();
    within(ctrl.close()).await.unwrap();
    // Binding to "lo" needs CAP_NET_RAW; without it the failure must still be typed.
    o.transport.host_iface = Some("lo".into());
    match within(AdminController::connect(o.clone())).await {
        Ok(ctrl) => within(ctrl.close()).await.unwrap(),
        Err(e) => assert!(
            matches!(
                e,
                TcpError::Socket {
                    what: "SO_BINDTODEVICE",
                    ..
                }
            ),
            "{e:?}"
        ),
    }
    o.transport.host_iface = Some("nonexistent0".into());
    let e = within(AdminController::connect(o)).await.unwrap_err();
    assert!(
        matches!(
            e,
            TcpError::Socket {
                what: "SO_BINDTODEVICE",
                ..
            }
        ),
        "{e:?}"
    );
    t.stop().await;
}
