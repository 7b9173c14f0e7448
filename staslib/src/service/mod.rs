//! Service plumbing both daemons share: systemd notifications, logging with a runtime
//! trace switch (`tron`), and the runtime directory for the last-known state.

pub mod event_loop;
mod logging;
mod notify;
pub mod process;
pub mod setup;
pub mod state_file;

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

/// `time.ctime()` of Python (upstream's log texts): local time as `Tue Apr  7 12:39:43 2026`.
pub fn ctime(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value for localtime_r to overwrite.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is thread-safe.
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return secs.to_string();
    }
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS.get(tm.tm_wday as usize).unwrap_or(&"???"),
        MONTHS.get(tm.tm_mon as usize).unwrap_or(&"???"),
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year + 1900
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn ctime_matches_python() {
        // TZ is not touched (tests share the process): compare with Python in the same zone.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_775_565_583);
        let ours = super::ctime(t);
        if let Ok(out) = std::process::Command::new("python3")
            .args(["-c", "import time; print(time.ctime(1775565583))"])
            .output()
        {
            assert_eq!(ours, String::from_utf8_lossy(&out.stdout).trim());
        }
        assert_eq!(ours.len(), "Tue Apr  7 12:39:43 2026".len());
    }
}
