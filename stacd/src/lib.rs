//! `stacd`, the connection daemon: connects the I/O controllers configured in stacd.conf
//! and those the discovery controllers' log pages name (read from stafd over D-Bus with
//! [`staslib::dlpe::answer`]), keeps them connected, and serves the upstream D-Bus API.
//!
//! * [`core`] — the decisions, pure and table-tested;
//! * [`ioc`] — the task driving one I/O controller;
//! * [`state`] — what the D-Bus adapter reads;
//! * [`dbus`] — the D-Bus adapter (upstream's interfaces);
//! * [`dbus_typed`] — our typed interface: statistics, runtime add/remove;
//! * [`daemon`] — the loop that ties them together.

pub mod core;
pub mod daemon;
pub mod dbus;
pub mod dbus_typed;
pub mod ioc;
pub mod state;

use std::process::ExitCode;

pub use staslib::daemon_cli::{DaemonCli as Cli, STACD as SPEC};

/// Runs `stacd` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    staslib::daemon_cli::run_daemon(&SPEC, cli, |opts, cfg| async move {
        daemon::run(opts, cfg)
            .await
            .map_err(|daemon::StartError(msg)| msg)
    })
}
