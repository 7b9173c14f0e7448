//! Logging to stderr (journald captures it under systemd) with the `tron` switch: DEBUG
//! while tracing is on, INFO otherwise.

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

/// Switches the log level at run time.
#[derive(Clone)]
pub struct LogHandle {
    handle: Option<reload::Handle<LevelFilter, tracing_subscriber::Registry>>,
}

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHandle").finish_non_exhaustive()
    }
}

impl LogHandle {
    /// Sets DEBUG (`tron`) or INFO.
    pub fn set_tron(&self, tron: bool) {
        if let Some(h) = &self.handle {
            let _ = h.modify(|f| *f = level(tron));
        }
    }
}

fn level(tron: bool) -> LevelFilter {
    if tron {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    }
}

/// Installs the global subscriber. `syslog` drops timestamps and colours, as journald adds
/// its own; `tron` is the initial trace flag.
pub fn init_logging(prog: &str, syslog: bool, tron: bool) -> LogHandle {
    let (filter, handle) = reload::Layer::new(level(tron));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let result = if syslog {
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt.without_time().with_level(true))
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init()
    };
    if result.is_err() {
        // A subscriber is already installed (tests): keep it.
        return LogHandle { handle: None };
    }
    tracing::debug!("{prog}: logging initialised");
    LogHandle {
        handle: Some(handle),
    }
}
