//! `stacd`: the command line (upstream's parser plus `--check-config`), the decisions of the
//! connection daemon ([`core`]) and the reading of stafd's answers ([`stafd_client`]). The
//! daemon itself is not built yet, so [`run`] fails loudly after the pre-flight checks.

pub mod core;
pub mod stafd_client;

pub use staslib::daemon_cli::{DaemonCli as Cli, STACD as SPEC};

/// Runs `stacd` with an already parsed command line.
pub fn run(cli: &Cli) -> std::process::ExitCode {
    staslib::daemon_cli::run(&SPEC, cli)
}
