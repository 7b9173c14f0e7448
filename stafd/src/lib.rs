//! `stafd`, the discovery daemon: finds discovery controllers (configured, referrals),
//! keeps connections to them, caches their log pages and serves them on D-Bus as upstream
//! nvme-stas does.
//!
//! * [`core`] — the decisions, pure and table-tested;
//! * [`dc`] — the task driving one discovery controller;
//! * [`state`] — what the D-Bus adapter reads;
//! * [`dbus`] — the D-Bus adapter (upstream's interfaces);
//! * [`dbus_typed`] — our typed interface: statistics, runtime add/remove;
//! * [`lkc`] — the last-known state;
//! * [`udev_rule`] — nvme-cli interoperability on the kernel backend;
//! * [`zeroconf`] — DCs found with mDNS (Avahi);
//! * [`daemon`] — the loop that ties them together.

pub mod core;
pub mod daemon;
pub mod dbus;
pub mod dbus_typed;
pub mod dc;
pub mod lkc;
pub mod state;
pub mod udev_rule;
pub mod zeroconf;

use std::process::ExitCode;

pub use staslib::daemon_cli::{DaemonCli as Cli, STAFD as SPEC};

/// Runs `stafd` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    staslib::daemon_cli::run_daemon(&SPEC, cli, |opts, cfg| async move {
        daemon::run(opts, cfg)
            .await
            .map_err(|daemon::StartError(msg)| msg)
    })
}
