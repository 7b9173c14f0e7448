//! Admin controller: Connect + enable + Identify, properties, the shared discovery-log
//! procedure over our transport, AENs, keep-alive, timeouts and protocol faults.

use crate::spec::AEN_DISCOVERY_LOG_CHANGE;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::target::{Action, Event, Peer, SimConfig, Target, resp, status};
use super::*;
use crate::admin::discovery::{DiscoveryLogOptions, get_log_page, read_discovery_log};
use crate::admin::identify::supported_log_pages;
use crate::admin::{AdminError, opcode};
use crate::spec::WELL_KNOWN_DISC_NQN;
use crate::spec::fabrics::{fctype, property};
use crate::tcp::host::queue::{QueuePair, QueueParams};
use crate::tcp::host::{AdminController, TcpError, TransportOptions, tasks};
use crate::tcp::wire::fes;
use crate::tcp::{C2HData, Negotiated, Pdu, PduError, TermReq, encode};

fn plain() -> SimConfig {
    SimConfig {
        offer_hdgst: false,
        offer_ddgst: false,
        ..SimConfig::default()
    }
}

fn hook(f: impl Fn(u16, &crate::tcp::Sqe) -> Action + Send + Sync + 'static) -> SimConfig {
    SimConfig {
        hook: Some(Arc::new(f)),
        ..plain()
    }
}

#[tokio::test(start_paused = true)]
async fn connect_enable_identify_and_close() {
    let t = Target::start(plain(), disclog(0, 1)).await;
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    assert_eq!(ctrl.cntlid(), 1);
    assert_eq!(ctrl.identify().mn, "SimCtrl");
    assert!(ctrl.identify().is_discovery_controller());
    assert_eq!(ctrl.cap().mqes(), 127);
    assert_eq!(
        ctrl.max_transfer(),
        1 << 20,
        "MDTS 0: bounded by our own limit"
    );
    t.wait_for("AER outstanding", |s| s.pending_aers == 1).await;
    {
        let st = t.state();
        assert_eq!(
            st.events[0],
            Event::Command {
                qid: 0,
                opcode: 0x7f,
                fctype: fctype::CONNECT,
                // The Fabrics layout overlays these: FCTYPE @4, QID @42, SQSIZE @44, KATO @48.
                nsid: u32::from(fctype::CONNECT),
                cdw10: 0,
                cdw11: 31,
                cdw12: 10_000,
                sgl: (0x01, 1024),
                capsule_len: 1024,
            }
        );
        assert_eq!(
            st.events[1],
            Event::Connect {
                qid: 0,
                sqsize: 31,
                kato: 10_000,
                cntlid: 0xffff,
                hostid: HOSTID,
                hostnqn: HOSTNQN.into(),
                subnqn: WELL_KNOWN_DISC_NQN.into(),
            }
        );
        let props: Vec<&Event> = st
            .events
            .iter()
            .filter(|e| matches!(e, Event::PropertyGet { .. } | Event::PropertySet { .. }))
            .collect();
        assert_eq!(
            props[..4],
            [
                &Event::PropertyGet {
                    offset: property::CAP,
                    eight: true
                },
                &Event::PropertySet {
                    offset: property::CC,
                    value: 0x0046_0000
                },
                &Event::PropertySet {
                    offset: property::CC,
                    value: 0x0046_0001
                },
                &Event::PropertyGet {
                    offset: property::CSTS,
                    eight: false
                },
            ]
        );
        let identify = st.commands(opcode::IDENTIFY);
        assert!(matches!(
            identify[..],
            [Event::Command {
                cdw10: 1,
                sgl: (0x5a, 4096),
                capsule_len: 0,
                ..
            }]
        ));
        // Discovery Log Page Change notices requested because OAES advertises them.
        assert!(matches!(
            st.commands(opcode::SET_FEATURES)[..],
            [Event::Command {
                cdw10: 0x0b,
                cdw11: 0x8000_0000,
                ..
            }]
        ));
    }
    within(ctrl.close()).await.unwrap();
    t.wait_for("EOF", |s| s.events.contains(&Event::Eof { qid: 0 }))
        .await;
    // Shutdown requested before closing.
    assert!(t.state().events.contains(&Event::PropertySet {
        offset: property::CC,
        value: 0x0046_4001
    }));
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn property_get_and_set() {
    let t = Target::start(plain(), disclog(0, 1)).await;
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    assert_eq!(
        ctrl.property_get(property::VS, false).await.unwrap(),
        0x0002_0000
    );
    assert_eq!(
        ctrl.property_get(property::CAP, true).await.unwrap(),
        SimConfig::default().cap
    );
    ctrl.property_set(property::CC, 0x0046_0001).await.unwrap();
    assert_eq!(
        ctrl.property_get(property::CC, false).await.unwrap(),
        0x0046_0001
    );
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn multi_chunk_discovery_log_through_shared_procedure() {
    let cfg = SimConfig {
        c2h_chunk: 1000,
        ..plain()
    };
    let t = Target::start(cfg, disclog(10, 42)).await;
    let mut ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    let log = within(read_discovery_log(
        &mut ctrl,
        &DiscoveryLogOptions::default(),
    ))
    .await
    .unwrap();
    assert_eq!((log.genctr, log.numrec, log.entries.len()), (42, 10, 10));
    assert_eq!(log.entries[7], entry(7));
    let glp: Vec<(u32, u32, u32)> = t
        .state()
        .commands(opcode::GET_LOG_PAGE)
        .iter()
        .map(|e| match e {
            Event::Command {
                cdw10, cdw12, sgl, ..
            } => (*cdw10 & 0x80ff, *cdw12, sgl.1),
            _ => unreachable!(),
        })
        .collect();
    // Header (RAE), three entry chunks of ≤ 4096 bytes (RAE), header again with RAE=0.
    assert_eq!(
        glp,
        [
            (0x8070, 0, 20),
            (0x8070, 1024, 4096),
            (0x8070, 5120, 4096),
            (0x8070, 9216, 2048),
            (0x0070, 0, 20),
        ]
    );
    // Supported Log Pages rides the same transport.
    let slp = within(supported_log_pages(&mut ctrl)).await.unwrap();
    assert!(!slp.lid_supported(0x70), "sim serves zeros for LID 0");
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn aen_delivered_and_rearmed() {
    let t = Target::start(plain(), disclog(1, 1)).await;
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    let mut events = ctrl.take_events().expect("events stream");
    assert!(ctrl.take_events().is_none());
    for round in 1..=3 {
        t.wait_for("AER outstanding", |s| s.pending_aers == 1).await;
        t.send_aen(AEN_DISCOVERY_LOG_CHANGE);
        assert_eq!(within(events.recv()).await, Some(0x0070_f002));
        t.wait_for("AER re-armed", |s| {
            s.pending_aers == 1 && s.commands(opcode::ASYNC_EVENT_REQUEST).len() == round + 1
        })
        .await;
    }
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn keep_alive_runs_at_half_kato_on_a_socket() {
    let t = Target::start(plain(), disclog(0, 1)).await;
    let mut o = disc_opts(t.addr);
    o.kato = Duration::from_millis(300);
    let ctrl = within(AdminController::connect(o)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let kas = t.state().keep_alives();
    assert!((4..=8).contains(&kas.len()), "{} keep-alives", kas.len());
    let span = *kas.last().unwrap() - kas[0];
    let mean = span / u32::try_from(kas.len() - 1).unwrap();
    // Paused time: the cadence is exact, whatever else the machine is doing.
    assert_eq!(
        mean,
        Duration::from_millis(150),
        "{} keep-alives",
        kas.len()
    );
    assert!(ctrl.close_reason().is_none());
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

/// nvmet rounds KATO up to whole seconds: the cadence follows what the controller applied
/// (Get Features KATO), not what was asked for.
#[tokio::test(start_paused = true)]
async fn keep_alive_follows_the_kato_the_controller_applied() {
    let mut cfg = plain();
    cfg.kato_round_ms = 1000;
    let t = Target::start(cfg, disclog(0, 1)).await;
    let mut o = disc_opts(t.addr);
    o.kato = Duration::from_millis(300);
    let ctrl = within(AdminController::connect(o)).await.unwrap();
    assert_eq!(ctrl.keep_alive_timeout(), Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let kas = t.state().keep_alives();
    let span = *kas.last().unwrap() - kas[0];
    let mean = span / u32::try_from(kas.len() - 1).unwrap();
    assert_eq!(
        mean,
        Duration::from_millis(500),
        "{} keep-alives",
        kas.len()
    );
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[test]
fn applied_kato_table() {
    use crate::tcp::host::admin::applied_kato;
    let ms = Duration::from_millis;
    for (requested, reported, kas, want) in [
        (ms(300), Some(300), 10, ms(300)),
        (ms(300), Some(1000), 10, ms(1000)),
        (ms(1500), Some(2000), 0, ms(2000)),
        // Get Features failed or said 0: the request, rounded up to the KAS granularity.
        (ms(300), None, 10, ms(1000)),
        (ms(1500), Some(0), 10, ms(2000)),
        (ms(250), None, 1, ms(300)),
        (ms(250), None, 0, ms(250)),
        (ms(30_000), None, 10, ms(30_000)),
    ] {
        assert_eq!(
            applied_kato(requested, reported, kas),
            want,
            "{requested:?} {reported:?} kas {kas}"
        );
    }
}

/// A target that never answers Keep Alive, and options for it.
async fn silent_keep_alive_target() -> (Target, ControllerOptions) {
    let cfg = hook(|_, sqe| {
        if sqe.opcode == opcode::KEEP_ALIVE {
            Action::Ignore
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let o = disc_opts(t.addr);
    (t, o)
}

/// Log lines of this thread (the current-thread test runtime runs every task on it).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let w = self.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(sub)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// #8 item 6: what used to be swallowed is logged — the connect, AENs, an AEN nobody
/// receives any more, a failed keep-alive — inside a span that names the controller.
#[tokio::test(start_paused = true)]
async fn association_events_are_logged_in_a_span_naming_the_controller() {
    let logs = Captured::default();
    let _guard = logs.install();
    let (t, mut o) = silent_keep_alive_target().await;
    o.kato = Duration::from_millis(400);
    let ctrl = within(AdminController::connect(o)).await.unwrap();
    drop(ctrl.take_events());
    t.send_aen(AEN_DISCOVERY_LOG_CHANGE);
    t.send_aen(AEN_DISCOVERY_LOG_CHANGE);
    let _ = within(ctrl.closed()).await;
    within(ctrl.close()).await.unwrap();
    let span = format!("nvme_tcp{{addr={} subnqn=", t.addr);
    t.stop().await;
    let text = logs.text();
    for want in [
        "connected cntlid=",
        "asynchronous event aen=0x",
        "asynchronous event dropped: its receiver is gone",
        "keep-alive failed",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(want))
            .unwrap_or_else(|| panic!("no {want:?} in:\n{text}"));
        assert!(
            line.contains(&span),
            "{want:?} outside the controller's span: {line}"
        );
    }
    assert_eq!(
        text.matches("asynchronous event dropped: its receiver is gone")
            .count(),
        1,
        "said once:\n{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn missed_keep_alive_ends_the_association() {
    let (t, mut o) = silent_keep_alive_target().await;
    o.kato = Duration::from_millis(200);
    let ctrl = within(AdminController::connect(o)).await.unwrap();
    let mut events = ctrl.take_events().unwrap();
    let reason = within(ctrl.closed()).await;
    assert!(
        matches!(reason.cause(), TcpError::KeepAlive(inner) if matches!(**inner, TcpError::Timeout { opcode: 0x18, .. })),
        "{reason:?}"
    );
    // The AER task ended with the association: nothing more arrives.
    t.wait_for("connection closed", |s| {
        s.events.contains(&Event::Eof { qid: 0 })
    })
    .await;
    let e = ctrl.keep_alive().await.unwrap_err();
    assert!(matches!(e.cause(), TcpError::KeepAlive(_)), "{e:?}");
    // Later commands name the controller and the queue that failed.
    assert_eq!(
        crate::error_chain(&e),
        format!(
            "nqn.2014-08.org.nvmexpress.discovery at {}, queue 0: keep alive failed: \
             command 0x18 timed out after 200ms",
            t.addr
        )
    );
    within(ctrl.close()).await.unwrap();
    assert_eq!(
        within(events.recv()).await,
        None,
        "stream ends with the tasks"
    );
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn keep_alive_period_with_paused_time() {
    let (host_io, target_io) = tokio::io::duplex(64 * 1024);
    let opts = TransportOptions::new("127.0.0.1:8009".parse().unwrap());
    let params = QueueParams {
        controller: "nqn.2014-08.org.nvmexpress.discovery at 127.0.0.1:8009".into(),
        qid: 0,
        queue_size: 32,
        in_capsule_limit: 8192,
    };
    let mut qp = QueuePair::start(
        tokio::io::split(host_io),
        Negotiated::default(),
        4096,
        &opts,
        params,
    );
    let start = tokio::time::Instant::now();
    let target = tokio::spawn(async move {
        let mut peer = Peer::new(target_io);
        let mut seen = Vec::new();
        while let Some(Pdu::CapsuleCmd(c)) = peer.recv().await {
            assert_eq!(c.sqe.opcode, opcode::KEEP_ALIVE);
            seen.push(tokio::time::Instant::now());
            if seen.len() <= 5 {
                peer.send(&resp(c.sqe.cid(), 0, 0, 0)).await;
            }
        }
        seen
    });
    let period = Duration::from_millis(100);
    let ka = tokio::spawn(tasks::keep_alive(qp.handle().clone(), period, period));
    let reason = qp.handle().closed().await;
    assert!(matches!(
        reason.cause(),
        TcpError::KeepAlive(inner) if matches!(**inner, TcpError::Timeout { .. })
    ));
    // Five answered at 100 ms steps, the sixth (at 600 ms) timed out 100 ms later.
    assert_eq!(start.elapsed(), Duration::from_millis(700));
    ka.await.unwrap();
    qp.close().await;
    let seen = target.await.unwrap();
    let offsets: Vec<u128> = seen.iter().map(|t| (*t - start).as_millis()).collect();
    assert_eq!(offsets, [100, 200, 300, 400, 500, 600]);
    assert!(qp.is_finished());
}

#[tokio::test(start_paused = true)]
async fn command_timeout_is_typed_and_the_queue_survives() {
    let cfg = hook(|_, sqe| {
        if sqe.opcode == opcode::GET_FEATURES {
            Action::Ignore
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let mut o = disc_opts(t.addr);
    o.transport.command_timeout = Duration::from_millis(150);
    let ctrl = within(AdminController::connect(o)).await.unwrap();
    let e = within(ctrl.get_features(0x0f)).await.unwrap_err();
    assert!(
        matches!(e, TcpError::Timeout { opcode: 0x0a, timeout } if timeout == Duration::from_millis(150)),
        "{e:?}"
    );
    assert!(!e.is_fatal());
    ctrl.keep_alive().await.unwrap();
    assert!(ctrl.close_reason().is_none());
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

fn bad_hlen_resp(cid: u16) -> Vec<u8> {
    let mut b = encode(&resp(cid, 0, 0, 0), &Negotiated::default()).unwrap();
    b[2] = 25;
    b
}

#[tokio::test(start_paused = true)]
async fn malformed_pdu_gets_h2c_term_req_and_typed_error() {
    let cfg = hook(|_, sqe| {
        if sqe.opcode == opcode::GET_FEATURES {
            Action::Raw(bad_hlen_resp(sqe.cid()))
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    let e = within(ctrl.get_features(0x0f)).await.unwrap_err();
    assert!(
        matches!(
            e.cause(),
            TcpError::Pdu(PduError::InvalidHlen { hlen: 25, .. })
        ),
        "{e:?}"
    );
    t.wait_for("H2CTermReq", |s| {
        s.events.contains(&Event::TermReq {
            fes: fes::INVALID_HEADER_FIELD,
            fei: 2,
        })
    })
    .await;
    // Every command after it fails the same way, and the association is over.
    assert!(matches!(
        ctrl.keep_alive().await.unwrap_err().cause(),
        TcpError::Pdu(_)
    ));
    assert!(matches!(
        within(ctrl.closed()).await.cause(),
        TcpError::Pdu(_)
    ));
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn c2h_data_out_of_range_gets_fes_4() {
    let cfg = hook(|_, sqe| {
        if sqe.opcode == opcode::GET_LOG_PAGE {
            let pdu = Pdu::C2HData(C2HData {
                cccid: sqe.cid(),
                datao: 2048,
                last: true,
                success: false,
                data: Bytes::from(vec![0u8; 4096]),
            });
            Action::Raw(encode(&pdu, &Negotiated::default()).unwrap())
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let mut ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let e = within(get_log_page(&mut ctrl, 0x70, 0, 0, &mut buf, true))
        .await
        .unwrap_err();
    // The shared procedure carries our typed error as it is, naming the controller.
    let AdminError::Tcp(tcp) = e else {
        panic!("{e:?}")
    };
    assert!(
        matches!(
            tcp.cause(),
            TcpError::Pdu(PduError::DataOutOfRange {
                offset: 2048,
                len: 4096,
                ..
            })
        ),
        "{tcp:?}"
    );
    assert!(
        tcp.to_string()
            .ends_with(&format!(" at {}, queue 0", t.addr)),
        "{tcp}"
    );
    assert!(matches!(
        TcpError::from(AdminError::Tcp(tcp)).cause(),
        TcpError::Pdu(_)
    ));
    t.wait_for("H2CTermReq FES 4", |s| {
        s.events.contains(&Event::TermReq {
            fes: fes::DATA_OUT_OF_RANGE,
            fei: 0,
        })
    })
    .await;
    within(ctrl.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn c2h_term_req_from_the_controller() {
    let cfg = hook(|_, sqe| {
        if sqe.opcode == opcode::GET_FEATURES {
            let pdu = Pdu::C2HTermReq(TermReq {
                fes: fes::PDU_SEQUENCE_ERROR,
                fei: 0,
                data: Bytes::new(),
            });
            Action::Raw(encode(&pdu, &Negotiated::default()).unwrap())
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let ctrl = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    let e = within(ctrl.get_features(0x0f)).await.unwrap_err();
    assert!(
        matches!(e.cause(), TcpError::Terminated { fes: 2, fei: 0 }),
        "{e:?}"
    );
    within(ctrl.close()).await.unwrap();
    // We do not answer a TermReq with another one.
    assert!(
        !t.state()
            .events
            .iter()
            .any(|e| matches!(e, Event::TermReq { .. }))
    );
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn connect_rejections_are_typed() {
    let cfg = hook(|_, sqe| {
        if sqe.opcode == 0x7f && sqe.nsid.get() & 0xff == u32::from(fctype::CONNECT) {
            Action::Status(status(1, 0x82))
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let e = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            TcpError::ConnectInvalidParameters {
                ipo: 0,
                iattr: false
            }
        ),
        "{e:?}"
    );
    t.stop().await;

    let cfg = hook(|_, sqe| {
        if sqe.opcode == 0x7f && sqe.nsid.get() & 0xff == u32::from(fctype::CONNECT) {
            let b = encode(
                &resp(sqe.cid(), 1 | (1 << 17), 0, 0),
                &Negotiated::default(),
            );
            Action::Raw(b.unwrap())
        } else {
            Action::Default
        }
    });
    let t = Target::start(cfg, disclog(0, 1)).await;
    let e = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap_err();
    assert!(matches!(e, TcpError::AuthenticationRequired), "{e:?}");
    t.wait_for("connection closed", |s| {
        s.events.contains(&Event::Eof { qid: 0 })
    })
    .await;
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn controller_not_ready_is_typed() {
    // CAP.TO = 0 (500 ms); CSTS never reports RDY because the hook swallows CC writes.
    let cfg = SimConfig {
        cap: (1 << 37) | 127,
        ..hook(|_, sqe| {
            if sqe.opcode == 0x7f && sqe.nsid.get() & 0xff == u32::from(fctype::PROPERTY_SET) {
                Action::Status(0)
            } else {
                Action::Default
            }
        })
    };
    let t = Target::start(cfg, disclog(0, 1)).await;
    let e = within(AdminController::connect(disc_opts(t.addr)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, TcpError::NotReady(d) if d == Duration::from_millis(500)),
        "{e:?}"
    );
    t.stop().await;
}
