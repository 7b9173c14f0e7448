//! EPCSD-driven parking (nvme-stas 3.x, spec 3.x §4) of one DC task against nvme-sim, on
//! tokio's paused clock: parking, polling every `epcsd-poll-interval`, unparking when EPCSD
//! appears, the cached log page served meanwhile, and the EPCSD order (own entry, then the
//! referral's).

use std::time::Duration;

use libnvme_rs::host::HostIdentity;
use libnvme_rs::kernel::exclusion::ExclusionList;
use libnvme_rs::spec::disclog::{DiscoveryLogEntry, eflags, subtype};
use libnvme_rs::trid::{Transport, TransportId};
use nvme_sim::{SimConfig, SimHandle, Simulator, SubsystemConfig, tcp_entry};
use stafd::core::{Origin, Persistence};
use stafd::dc::{DcContext, DcHandle, StopMode};
use stafd::state::{DcState, Shared};
use staslib::exclusions::HostExclusions;

const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:1f0c4e2a-7b3d-4c5e-8f6a-9b0c1d2e3f40";
const SUBNQN: &str = "nqn.2024-01.io.example:epcsd";
const POLL: Duration = Duration::from_secs(15 * 60);

fn host() -> HostIdentity {
    HostIdentity {
        hostnqn: HOSTNQN.into(),
        hostid: "1f0c4e2a-7b3d-4c5e-8f6a-9b0c1d2e3f40".into(),
        hostkey: None,
    }
}

/// The DC's log page: its own entry (with `own_eflags`, or none) and one subsystem.
fn page(sim: &SimHandle, own_eflags: Option<u16>) -> Vec<DiscoveryLogEntry> {
    let mut entries = vec![tcp_entry(sim.addr(), subtype::NVME, SUBNQN)];
    if let Some(f) = own_eflags {
        let mut own = tcp_entry(sim.addr(), subtype::CURRENT_DISCOVERY, "");
        own.subnqn = libnvme_rs::spec::WELL_KNOWN_DISC_NQN.into();
        own.eflags = f;
        entries.push(own);
    }
    entries
}

struct Rig {
    sim: SimHandle,
    shared: Shared,
    tid: TransportId,
    handle: DcHandle,
}

async fn start(mode: Persistence, own: Option<u16>, referral: Option<u16>) -> Rig {
    let mut cfg = SimConfig::default();
    cfg.subsystems.push(SubsystemConfig::new(SUBNQN));
    let sim = Simulator::start(cfg).await.unwrap();
    sim.set_discovery_log(page(&sim, own)).unwrap();
    let tid = TransportId::new_discovery(
        Transport::Tcp,
        "127.0.0.1",
        &sim.addr().port().to_string(),
        "",
    )
    .with_host_nqn(HOSTNQN);
    let shared = Shared::default();
    shared.lock().dcs.insert(
        tid.clone(),
        DcState::new(tid.clone(), Origin::Configured, Vec::new()),
    );
    let (notices, _rx) = tokio::sync::mpsc::unbounded_channel();
    std::mem::forget(_rx);
    let ctx = DcContext {
        backend: libnvme_rs::controller::Backend::native(&host()).unwrap(),
        params: Default::default(),
        dim: None,
        pleo: false,
        shared: shared.clone(),
        notices,
        exclusions: HostExclusions::with_list(ExclusionList::new("/nonexistent"), &host()),
        persistence: mode,
        epcsd_poll: POLL,
        referral_eflags: referral,
    };
    let handle = DcHandle::spawn(ctx, tid.clone());
    Rig {
        sim,
        shared,
        tid,
        handle,
    }
}

impl Rig {
    fn state(&self) -> DcState {
        self.shared.lock().dcs[&self.tid].clone()
    }

    /// Waits (virtual time) until `cond` holds; panics after `limit`.
    async fn until(&self, limit: Duration, what: &str, cond: impl Fn(&DcState) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !cond(&self.state()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {limit:?}: {:?}",
                self.state()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn accepted(&self) -> u64 {
        self.sim.counters().connections_accepted
    }

    async fn stop(self) {
        self.handle
            .stop(
                StopMode {
                    keep_connection: false,
                    deregister: false,
                },
                Duration::from_secs(5),
            )
            .await;
        self.sim.shutdown().await;
    }
}

fn served(s: &DcState) -> bool {
    s.log_pages
        .iter()
        .any(|d| staslib::dlpe::get(d, "subnqn") == Some(SUBNQN))
}

#[tokio::test(start_paused = true)]
async fn parked_without_epcsd_polled_on_schedule_and_unparked_when_it_appears() {
    let rig = start(Persistence::Auto, Some(0), None).await;
    rig.until(Duration::from_secs(5), "parked", |s| s.parked && served(s))
        .await;
    let parked_at = tokio::time::Instant::now();
    assert!(!rig.state().connected);
    let connections = rig.accepted();
    let fetches = rig.state().stats.log_page_fetches;
    // Nothing happens before the poll; the cached page is served all along.
    tokio::time::sleep(POLL - Duration::from_secs(5)).await;
    assert_eq!(rig.accepted(), connections, "no connection before the poll");
    assert!(rig.sim.connections().is_empty());
    assert!(served(&rig.state()) && rig.state().parked);
    // The poll reconnects, re-reads, and parks again (EPCSD still clear).
    rig.until(Duration::from_secs(10), "polled", |s| {
        s.stats.log_page_fetches == fetches + 1
    })
    .await;
    let polled = parked_at.elapsed();
    assert!(
        polled >= POLL && polled < POLL + Duration::from_secs(5),
        "{polled:?}"
    );
    assert_eq!(rig.accepted(), connections + 1);
    rig.until(Duration::from_secs(5), "parked again", |s| {
        s.parked && !s.connected
    })
    .await;
    // EPCSD appears: the next poll unparks and the connection stays.
    rig.sim
        .set_discovery_log(page(&rig.sim, Some(eflags::EPCSD)))
        .unwrap();
    rig.until(POLL + Duration::from_secs(10), "unparked", |s| {
        !s.parked && s.connected
    })
    .await;
    tokio::time::sleep(POLL * 2).await;
    let s = rig.state();
    assert!(s.connected && !s.parked && served(&s), "{s:?}");
    assert_eq!(rig.sim.connections().len(), 1, "one association kept");
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn epcsd_set_or_force_keeps_the_connection_and_no_always_parks() {
    for (mode, own, referral, parked) in [
        (Persistence::Auto, Some(eflags::EPCSD), None, false),
        // No own entry: the referral entry's EPCSD decides.
        (Persistence::Auto, None, Some(eflags::EPCSD), false),
        (Persistence::Auto, None, Some(0), true),
        // The own entry wins over the referral's.
        (Persistence::Auto, Some(0), Some(eflags::EPCSD), true),
        (Persistence::Auto, None, None, true),
        (Persistence::Force, Some(0), None, false),
        (Persistence::No, Some(eflags::EPCSD), None, true),
    ] {
        let rig = start(mode, own, referral).await;
        rig.until(Duration::from_secs(5), "first log page", served)
            .await;
        // Give a parking decision time to show.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let s = rig.state();
        assert_eq!(
            (s.parked, s.connected),
            (parked, !parked),
            "{mode:?} own {own:?} referral {referral:?}"
        );
        rig.stop().await;
    }
}
