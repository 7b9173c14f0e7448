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

use staslib::conf::options::BackendChoice;
pub use staslib::daemon_cli::{DaemonCli as Cli, STAFD as SPEC};

/// Runs `stafd` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    if cli.version || cli.check_config.is_some() {
        return staslib::daemon_cli::preflight(&SPEC, cli).unwrap_or(ExitCode::SUCCESS);
    }
    let log = staslib::service::init_logging(SPEC.prog, cli.syslog, cli.tron);
    let Some(cfg) =
        staslib::service::setup::load_config(staslib::conf::options::Daemon::Stafd, &cli.conf_file)
    else {
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
            eprintln!("stafd: cannot start the event loop: {e}");
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
            tracing::error!("stafd: {msg}");
            ExitCode::FAILURE
        }
    }
}
