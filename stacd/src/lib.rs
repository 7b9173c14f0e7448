//! `stacd`: only the command line exists so far (upstream's parser plus `--check-config`);
//! the daemon itself is not built yet, so [`run`] fails loudly after the pre-flight checks.

pub use staslib::daemon_cli::{DaemonCli as Cli, STACD as SPEC};

/// Runs `stacd` with an already parsed command line.
pub fn run(cli: &Cli) -> std::process::ExitCode {
    staslib::daemon_cli::run(&SPEC, cli)
}
