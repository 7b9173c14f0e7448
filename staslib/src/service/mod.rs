//! Service plumbing both daemons share: systemd notifications, logging with a runtime
//! trace switch (`tron`), and the runtime directory for the last-known state.

mod logging;
mod notify;

pub use logging::{LogHandle, init_logging};
pub use notify::{Notifier, watchdog_interval};

use std::path::PathBuf;

/// `$RUNTIME_DIRECTORY` (set by systemd's `RuntimeDirectory=`), else `/run/<prog>`.
pub fn runtime_dir(prog: &str) -> PathBuf {
    std::env::var_os("RUNTIME_DIRECTORY")
        .filter(|v| !v.is_empty())
        // systemd passes a colon-separated list when several directories are configured.
        .map(|v| PathBuf::from(v.to_string_lossy().split(':').next().unwrap_or_default()))
        .unwrap_or_else(|| PathBuf::from(format!("/run/{prog}")))
}
