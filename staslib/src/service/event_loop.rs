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
/// waits at least 1.5 s. Here a trigger with nothing pending is acted on at once, or
/// [`SOAK_QUIET`] after the last pass if that was more recent; later triggers of a burst wait
/// until triggers have been quiet for [`SOAK_QUIET`], and at the latest `max` after the
/// burst's first. So an isolated change (an AEN, the first log page) costs no wait, passes
/// are at least [`SOAK_QUIET`] apart, and a burst costs two passes.
#[derive(Debug, Clone, Copy)]
pub struct Soak {
    max: Duration,
    /// The first trigger of the pending burst.
    first: Option<Instant>,
    /// When the triggers so far make the pass due.
    soaked: Option<Instant>,
    /// The latest time [`Soak::by`] asked for.
    deadline: Option<Instant>,
    last_pass: Option<Instant>,
}

impl Soak {
    /// No pass pending; a burst is cut off `max` after its first trigger.
    pub fn new(max: Duration) -> Self {
        Self {
            max,
            first: None,
            soaked: None,
            deadline: None,
            last_pass: None,
        }
    }

    /// A trigger at `now`; returns when the pass is due.
    pub fn trigger(&mut self, now: Instant) -> Instant {
        let pending = self.due().is_some();
        let first = *self.first.get_or_insert(now);
        self.soaked = Some(if pending {
            (now + SOAK_QUIET).min(first + self.max)
        } else {
            // The hold-off after a pass counts from the pass, not from this trigger.
            self.last_pass.map_or(now, |at| (at + SOAK_QUIET).max(now))
        });
        self.due().unwrap_or(now)
    }

    /// The pass is due at `at` at the latest (start-up, SIGHUP, a kernel `add`).
    pub fn by(&mut self, at: Instant) {
        self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
    }

    /// When the pending pass is due.
    pub fn due(&self) -> Option<Instant> {
        match (self.soaked, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The pass ran at `now`.
    pub fn done(&mut self, now: Instant) {
        self.first = None;
        self.soaked = None;
        self.deadline = None;
        self.last_pass = Some(now);
    }
}

/// How long a main loop must have been idle before freed heap is handed back.
pub const TRIM_IDLE: Duration = Duration::from_secs(1);

/// Hands freed heap back to the kernel once the loop has been idle for [`TRIM_IDLE`]. A burst
/// (a log page of a thousand entries parsed and served, a thousand connects) frees its
/// buffers into glibc's per-thread arenas, whose pages stay resident until trimmed. Only when
/// idle: a busy loop would fault the same pages straight back in.
#[derive(Debug, Default)]
pub struct IdleTrim {
    at: Option<Instant>,
}

impl IdleTrim {
    /// The loop handled something at `now`.
    pub fn activity(&mut self, now: Instant) {
        self.at = Some(now + TRIM_IDLE);
    }

    /// When the trim is due (none until there was activity).
    pub fn due(&self) -> Option<Instant> {
        self.at
    }

    /// Trims now; the next trim waits for new activity.
    pub fn run(&mut self) {
        self.at = None;
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim(3) only walks the allocator's own free lists, under its locks;
        // it takes no pointer and has no precondition.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Block size from which glibc maps an allocation on its own (its initial default, kept).
#[cfg(target_env = "gnu")]
const MMAP_THRESHOLD: i32 = 128 << 10;

/// Sets glibc's allocator up for a daemon that stays resident. Call before starting threads.
///
/// - One arena for every thread. A daemon runs its work on one thread; its other threads
///   (blocking connects and reads, the uevent reader) are short bursts. With an arena each,
///   the memory they freed stays spread over arenas whose partly used pages no trim hands
///   back: at 1,000 controllers that was 1.4 MiB (stacd) and 2.0 MiB (stafd) outside the
///   main heap.
/// - Large blocks (a D-Bus answer with a thousand log page entries, the state file's text)
///   are always mapped on their own and unmapped when freed. By default glibc raises the
///   threshold to the size of each mapped block freed, and from then on such buffers come
///   from the heap, where the small long-lived allocations made next to them keep it from
///   shrinking.
pub fn tune_malloc() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt(3) only sets an allocator parameter; M_ARENA_MAX takes any count.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        // SAFETY: as above; M_MMAP_THRESHOLD takes any size up to 32 MiB.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
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
    fn trim_waits_for_idle_and_runs_once_per_activity() {
        let t0 = Instant::now();
        let mut t = IdleTrim::default();
        assert_eq!(t.due(), None, "nothing to trim before any activity");
        t.activity(t0);
        t.activity(t0 + Duration::from_millis(300));
        assert_eq!(
            t.due(),
            Some(t0 + Duration::from_millis(300) + TRIM_IDLE),
            "each activity pushes the trim back"
        );
        t.run();
        assert_eq!(t.due(), None, "one trim per idle spell");
    }

    #[test]
    fn soak_batches_bursts_and_acts_on_isolated_triggers() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Soak::new(ms(1500));
        assert_eq!(s.due(), None);
        // An isolated trigger: acted on at once.
        assert_eq!(s.trigger(t0), t0);
        s.done(t0);
        // Right after a pass, a trigger waits until the quiet time after that pass.
        assert_eq!(s.trigger(t0 + ms(20)), t0 + SOAK_QUIET);
        s.done(t0 + SOAK_QUIET);
        // A burst every 50 ms: its first trigger (after a quiet spell) at once, the rest
        // keep postponing one pass, but never past 1.5 s after the burst's start.
        let t1 = t0 + ms(1000);
        assert_eq!(s.trigger(t1), t1);
        s.done(t1);
        let mut due = t1;
        for i in 1..100 {
            due = s.trigger(t1 + ms(50 * i));
        }
        assert_eq!(due, t1 + ms(50) + ms(1500));
        s.done(due);
        // With a pass pending (start-up's), a trigger soaks and never delays it.
        let t2 = due + ms(1000);
        s.by(t2 + ms(50));
        assert_eq!(s.trigger(t2), t2 + ms(50));
        assert_eq!(s.trigger(t2 + ms(40)), t2 + ms(50));
        s.done(t2 + ms(50));
        // `by` only brings a pass forward.
        s.trigger(t2 + ms(60));
        s.by(t2 + ms(1000));
        assert_eq!(s.due(), Some(t2 + ms(50) + SOAK_QUIET));
        s.by(t2 + ms(70));
        assert_eq!(s.due(), Some(t2 + ms(70)));
    }
}
