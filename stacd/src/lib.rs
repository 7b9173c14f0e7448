//! `stacd`, the connection daemon: connects the I/O controllers configured in stacd.conf
//! and those the discovery controllers' log pages name (read from stafd over D-Bus), keeps
//! them connected, and serves the upstream D-Bus API.
//!
//! * [`core`] — the decisions, pure and table-tested;
//! * [`stafd_client`] — reading stafd's answers;
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
pub mod stafd_client;
pub mod state;

use std::process::ExitCode;

use staslib::conf::options::{BackendChoice, Daemon};
pub use staslib::daemon_cli::{DaemonCli as Cli, STACD as SPEC};

/// Runs `stacd` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    if cli.version || cli.check_config.is_some() {
        return staslib::daemon_cli::preflight(&SPEC, cli).unwrap_or(ExitCode::SUCCESS);
    }
    let log = staslib::service::init_logging(SPEC.prog, cli.syslog, cli.tron);
    let Some(cfg) = staslib::service::setup::load_config(Daemon::Stacd, &cli.conf_file) else {
        return ExitCode::FAILURE;
    };
    // Root and /dev/nvme-fabrics are needed by the kernel backend only.
    if cfg.global.backend_choice() == BackendChoice::Kernel
        && let Some(code) = staslib::daemon_cli::preflight(&SPEC, cli)
    {
        return code;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stacd: cannot start the event loop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = daemon::Options {
        conf_file: cli.conf_file.clone(),
        tron: cli.tron,
        log,
    };
    match runtime.block_on(daemon::run(opts, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(daemon::StartError(msg)) => {
            tracing::error!("stacd: {msg}");
            ExitCode::FAILURE
        }
    }
}
