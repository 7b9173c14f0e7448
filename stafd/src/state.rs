//! What the D-Bus adapter reads: one record per DC object, updated by the DC tasks and the
//! reconcile loop under a short `std` mutex that is never held across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use libnvme_rs::trid::TransportId;
use staslib::dbus::TimerView;
use staslib::dlpe::DlpeDict;
pub use staslib::service::process::ProcessView;

use crate::core::{FIRST_RETRY, Origin};

/// Identify data the details dictionary shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifySummary {
    /// Model number.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// `ddc`, `cdc`, `none`.
    pub dctype: String,
    /// `discovery`, `io`, ...
    pub cntrltype: String,
}

/// Per-DC counters of the typed interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcStats {
    /// Successful connects (first and re-).
    pub connects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Re-established associations after a loss.
    pub reconnects: u64,
    /// Discovery Log Page Change notices received.
    pub aens: u64,
    /// Successful log page fetches.
    pub log_page_fetches: u64,
    /// Entries in the last log page.
    pub entries: u64,
    /// DLPEs dropped because they could alter a fabrics option string.
    pub rejected_entries: u64,
    /// The last error and when it happened.
    pub last_error: Option<(String, SystemTime)>,
}

/// One DC object.
#[derive(Debug, Clone)]
pub struct DcState {
    /// Its identity.
    pub tid: TransportId,
    /// Where it came from.
    pub origin: Origin,
    /// Extra keys of the `controller=` line, shown in the identity dictionary.
    pub extras: Vec<(String, String)>,
    /// Added over D-Bus at run time (its `controller=` pairs), not from a file.
    pub runtime: Option<Vec<(String, String)>>,
    /// Kernel device, when bound to one.
    pub device: Option<String>,
    /// An association is up.
    pub connected: bool,
    /// Disconnected on purpose until the next EPCSD poll (spec 3.x §4): its cached log page
    /// is still served and it is not lost.
    pub parked: bool,
    /// Connect attempts since the last success.
    pub connect_attempts: u32,
    /// The connect retry timer.
    pub retry: TimerView,
    /// The cached log page, as served.
    pub log_pages: Vec<DlpeDict>,
    /// From Identify Controller, once connected.
    pub identify: Option<IdentifySummary>,
    /// Counters.
    pub stats: DcStats,
    /// Discovered DC no longer reported (zeroconf aging, §4.8).
    pub lost: bool,
    /// When a lost discovered DC is removed unless restored.
    pub unresponsive_deadline: Option<Instant>,
}

impl DcState {
    /// A new, not yet connected DC.
    pub fn new(tid: TransportId, origin: Origin, extras: Vec<(String, String)>) -> Self {
        Self {
            tid,
            origin,
            extras,
            runtime: None,
            device: None,
            connected: false,
            parked: false,
            connect_attempts: 0,
            retry: TimerView::off(FIRST_RETRY),
            log_pages: Vec::new(),
            identify: None,
            stats: DcStats::default(),
            lost: false,
            unresponsive_deadline: None,
        }
    }

    /// Records an error for the statistics.
    pub fn error(&mut self, text: String) {
        self.stats.last_error = Some((text, SystemTime::now()));
    }

    /// Arms the retry timer.
    pub fn arm_retry(&mut self, delay: Duration) {
        self.retry = TimerView {
            interval: delay,
            deadline: Some(Instant::now() + delay),
        };
    }
}

/// Everything the adapters share.
#[derive(Debug, Default)]
pub struct State {
    /// DC objects by identity.
    pub dcs: BTreeMap<TransportId, DcState>,
    /// The trace flag.
    pub tron: bool,
    /// The D-Bus spelling (2.x or 3.x keys and words).
    pub spelling: staslib::dbus::Spelling,
    /// Process-wide values.
    pub process: ProcessView,
    /// DNS-SD service types browsed (empty: zeroconf off).
    pub avahi_stypes: Vec<String>,
    /// Known mDNS services: upstream's key text and data.
    pub avahi_services: Vec<(String, Vec<(String, String)>)>,
}

/// The shared state handle.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<State>>);

impl Shared {
    /// Locks the state; a poisoned lock (a panicking holder) still yields the data, which is
    /// never left half-updated by the short critical sections here.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on one DC's record, if it still exists.
    pub fn with_dc<R>(&self, tid: &TransportId, f: impl FnOnce(&mut DcState) -> R) -> Option<R> {
        self.lock().dcs.get_mut(tid).map(f)
    }
}
