//! What the D-Bus adapter reads: one record per IOC object, updated by the IOC tasks and the
//! reconcile loop under a short mutex never held across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use libnvme_rs::trid::TransportId;
use staslib::dbus::TimerView;
use staslib::dlpe::Packed;
pub use staslib::service::process::ProcessView;

use crate::core::Source;

/// One IOC object.
#[derive(Debug, Clone)]
pub struct IocState {
    /// Its identity.
    pub tid: TransportId,
    /// Configured or from a log page.
    pub source: Source,
    /// Extra keys of its `controller=` line.
    pub extras: Vec<(String, String)>,
    /// The log page entry that produced it (NCC lives in its `eflags`).
    pub dlpe: Option<Packed>,
    /// Kernel device when bound.
    pub device: Option<String>,
    /// Connected (bound), as upstream's "connected".
    pub connected: bool,
    /// Connect attempts since the last success.
    pub connect_attempts: u32,
    /// The retry timer.
    pub retry: TimerView,
    /// Retries stopped by the NCC rule (§4.10-8).
    pub ncc_stopped: bool,
    /// Last error, and when (microseconds since the epoch).
    pub last_error: Option<(String, u64)>,
    /// Successful connects (first, after a removal, adoptions included).
    pub connects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Times the controller was removed under us (udev `remove`, `nvme disconnect`).
    pub removals: u64,
    /// Added over D-Bus at run time (its `controller=` pairs).
    pub runtime: Option<Vec<(String, String)>>,
}

impl IocState {
    /// A new, unconnected IOC.
    pub fn new(tid: TransportId, source: Source, extras: Vec<(String, String)>) -> Self {
        Self {
            tid,
            source,
            extras,
            dlpe: None,
            device: None,
            connected: false,
            connect_attempts: 0,
            retry: TimerView::off(Duration::from_secs(3)),
            ncc_stopped: false,
            last_error: None,
            connects: 0,
            connect_failures: 0,
            removals: 0,
            runtime: None,
        }
    }

    /// Records an error for the statistics.
    pub fn error(&mut self, text: String) {
        let usec = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        self.last_error = Some((text, usec));
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
    /// IOC objects by identity.
    pub iocs: BTreeMap<TransportId, IocState>,
    /// The trace flag.
    pub tron: bool,
    /// The D-Bus spelling (2.x or 3.x keys and words).
    pub spelling: staslib::dbus::Spelling,
    /// Process-wide values.
    pub process: ProcessView,
}

/// The shared state handle.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<State>>);

impl Shared {
    /// Locks the state (a poisoned lock still yields the data).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on one IOC's record, if it still exists.
    pub fn with_ioc<R>(&self, tid: &TransportId, f: impl FnOnce(&mut IocState) -> R) -> Option<R> {
        self.lock().iocs.get_mut(tid).map(f)
    }
}
