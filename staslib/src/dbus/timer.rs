//! Timer rendering as upstream shows it (`60.0s [off]`, `3.0s [2.98s]`, compat §2.6).

use std::time::{Duration, Instant};

/// A timer as the D-Bus dictionaries show it: its period and, when armed, its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerView {
    /// The period.
    pub interval: Duration,
    /// When it fires, if armed.
    pub deadline: Option<Instant>,
}

impl TimerView {
    /// A disarmed timer with this period.
    pub const fn off(interval: Duration) -> Self {
        Self {
            interval,
            deadline: None,
        }
    }

    /// Renders the timer at `now`.
    pub fn render(&self, now: Instant) -> String {
        render_timer(
            self.interval,
            self.deadline.map(|d| d.saturating_duration_since(now)),
        )
    }
}

/// Python's `repr(float)`: the shortest round-trip text, with `.0` on whole numbers.
fn py_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// `<interval>s [off]` when not armed, else `<interval>s [<remaining>s]`, where an expired
/// but not yet dispatched timer shows `0`.
pub fn render_timer(interval: Duration, remaining: Option<Duration>) -> String {
    let iv = py_float(interval.as_secs_f64());
    match remaining {
        None => format!("{iv}s [off]"),
        Some(r) if r.is_zero() => format!("{iv}s [0s]"),
        // Upstream divides whole microseconds by 1e6.
        Some(r) => format!("{iv}s [{}s]", py_float(r.as_micros() as f64 / 1e6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_upstream() {
        let s = Duration::from_secs_f64;
        for (interval, remaining, want) in [
            (s(60.0), None, "60.0s [off]"),
            (s(1.5), None, "1.5s [off]"),
            (s(3.0), Some(s(2.345678)), "3.0s [2.345678s]"),
            (s(1.0), Some(Duration::ZERO), "1.0s [0s]"),
            (s(30.0), Some(s(12.0)), "30.0s [12.0s]"),
            (
                s(0.5),
                Some(Duration::from_nanos(1_234_567_891)),
                "0.5s [1.234567s]",
            ),
        ] {
            assert_eq!(render_timer(interval, remaining), want);
        }
    }
}
