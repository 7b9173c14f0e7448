//! Pieces of the daemons' main loops: optional timers as futures (pending while unset) and
//! the three signals a daemon reacts to.

use std::time::{Duration, Instant};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::time::Interval;

/// Sleeps until `at`; never completes when there is none.
pub async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// How long triggers must have been quiet before a reconcile runs.
pub const SOAK_QUIET: Duration = Duration::from_millis(100);

/// The reconcile soak: upstream restarts a 1.5 s timer at every trigger, so each change
/// waits at least 1.5 s. Here a pass runs once triggers have been quiet for [`SOAK_QUIET`],
/// and at the latest `max` after the first trigger of a burst: bursts are still batched,
/// an isolated change (an AEN) is acted on at once.
#[derive(Debug, Clone, Copy)]
pub struct Soak {
    max: Duration,
    first: Option<Instant>,
    due: Option<Instant>,
}

impl Soak {
    /// No pass pending; a burst is cut off `max` after its first trigger.
    pub fn new(max: Duration) -> Self {
        Self {
            max,
            first: None,
            due: None,
        }
    }

    /// A trigger at `now`; returns when the pass is due.
    pub fn trigger(&mut self, now: Instant) -> Instant {
        let first = *self.first.get_or_insert(now);
        let due = (now + SOAK_QUIET).min(first + self.max);
        self.due = Some(due);
        due
    }

    /// The pass is due at `at` at the latest (start-up, SIGHUP, a kernel `add`).
    pub fn by(&mut self, at: Instant) {
        self.first.get_or_insert(at);
        self.due = Some(self.due.map_or(at, |d| d.min(at)));
    }

    /// When the pending pass is due.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The pass ran.
    pub fn done(&mut self) {
        self.first = None;
        self.due = None;
    }
}

/// The next tick of `interval`; never completes when there is none.
pub async fn tick(interval: Option<&mut Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGHUP: reload.
    Reload,
    /// SIGTERM or SIGINT: stop.
    Stop,
}

/// SIGHUP, SIGTERM and SIGINT, installed together (compat §4.1-4).
#[derive(Debug)]
pub struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next request.
    pub async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.hup.recv() => Request::Reload,
            _ = self.term.recv() => Request::Stop,
            _ = self.int.recv() => Request::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soak_batches_bursts_and_acts_on_isolated_triggers() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Soak::new(ms(1500));
        assert_eq!(s.due(), None);
        // An isolated trigger: due after the quiet time.
        assert_eq!(s.trigger(t0), t0 + SOAK_QUIET);
        s.done();
        // A burst every 50 ms keeps postponing, but never past 1.5 s after its start.
        let mut due = t0;
        for i in 0..100 {
            due = s.trigger(t0 + ms(50 * i));
        }
        assert_eq!(due, t0 + ms(1500));
        s.done();
        // `by` only brings a pass forward.
        s.trigger(t0);
        s.by(t0 + ms(1000));
        assert_eq!(s.due(), Some(t0 + SOAK_QUIET));
        s.done();
        s.by(t0);
        assert_eq!(s.due(), Some(t0));
    }
}
