//! The discovery session API: DIM, log page, AEN stream, closed() and reconnect.

use crate::spec::AEN_DISCOVERY_LOG_CHANGE;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::target::{Action, Event, SimConfig, Target, identify_image};
use super::*;
use crate::admin::dim::{DimHostEntry, DimOutcome};
use crate::admin::discovery::DiscoveryLogOptions;
use crate::admin::opcode;
use crate::spec::disclog::adrfam;
use crate::tcp::host::{DiscoverySession, TcpError};

fn dim_host() -> DimHostEntry {
    DimHostEntry {
        hostnqn: HOSTNQN.into(),
        hostid: HOSTID,
        entity_name: "host1".into(),
        entity_version: "Linux 6.12".into(),
        adrfam: adrfam::IPV4,
        symname: Some("rack-1".into()),
    }
}

#[tokio::test(start_paused = true)]
async fn session_dim_log_events_and_reconnect() {
    let drop_next_ka = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&drop_next_ka);
    let cfg = SimConfig {
        offer_hdgst: false,
        offer_ddgst: false,
        identify: identify_image(|r| r.dctype = 2),
        hook: Some(Arc::new(move |_, sqe| {
            if sqe.opcode == opcode::KEEP_ALIVE && flag.swap(false, Ordering::SeqCst) {
                Action::Close
            } else {
                Action::Default
            }
        })),
        ..SimConfig::default()
    };
    let t = Target::start(cfg, disclog(2, 5)).await;
    let mut o = disc_opts(t.addr);
    o.kato = Duration::from_millis(200);
    let mut s = within(DiscoverySession::connect(o)).await.unwrap();
    let mut events = s.events().expect("AEN stream");
    assert_eq!(s.identify().map(|id| id.dctype), Some(2));

    let host = dim_host();
    assert!(matches!(
        within(s.register(&host)).await.unwrap(),
        DimOutcome::Completed(0)
    ));
    let log = within(s.log_page(&DiscoveryLogOptions::default()))
        .await
        .unwrap();
    assert_eq!((log.genctr, log.entries.len()), (5, 2));
    t.wait_for("AER", |st| st.pending_aers == 1).await;
    t.send_aen(AEN_DISCOVERY_LOG_CHANGE);
    assert_eq!(within(events.recv()).await, Some(AEN_DISCOVERY_LOG_CHANGE));

    // The DC drops the connection: closed() reports it, reconnect() restores everything.
    drop_next_ka.store(true, Ordering::SeqCst);
    let reason = within(s.closed()).await;
    assert!(
        matches!(reason.cause(), TcpError::ConnectionClosed),
        "{reason:?}"
    );
    within(s.reconnect()).await.unwrap();
    assert_eq!(t.state().connections, 2);
    t.wait_for("AER re-armed", |st| st.pending_aers == 1).await;
    t.send_aen(AEN_DISCOVERY_LOG_CHANGE);
    assert_eq!(within(events.recv()).await, Some(AEN_DISCOVERY_LOG_CHANGE));
    within(s.register(&host)).await.unwrap();
    within(s.deregister(&host)).await.unwrap();
    {
        let st = t.state();
        let dims: Vec<&Event> = st
            .events
            .iter()
            .filter(|e| matches!(e, Event::Dim(_)))
            .collect();
        assert_eq!(dims.len(), 3);
        assert_eq!(dims[0], &Event::Dim(host.payload().unwrap()));
        let tasks: Vec<u32> = st
            .commands(opcode::DISCOVERY_INFO_MGMT)
            .iter()
            .map(|e| match e {
                Event::Command { cdw10, sgl, .. } => {
                    assert_eq!(sgl.0, 0x01, "in-capsule");
                    *cdw10
                }
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(tasks, [0, 0, 1]);
    }
    within(s.close()).await.unwrap();
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn dim_is_not_sent_to_a_dc_without_dctype() {
    let t = Target::start(SimConfig::default(), disclog(0, 1)).await;
    let mut s = within(DiscoverySession::connect(disc_opts(t.addr)))
        .await
        .unwrap();
    assert_eq!(
        within(s.register(&dim_host())).await.unwrap(),
        DimOutcome::NotSupported
    );
    assert!(t.state().commands(opcode::DISCOVERY_INFO_MGMT).is_empty());
    within(s.close()).await.unwrap();
    t.stop().await;
}
