//! `stacd`: only the command line exists so far (upstream's parser plus `--check-config`);
//! the daemon itself is not built yet, so [`run`] fails loudly after the pre-flight checks.

use std::process::ExitCode;

pub use staslib::daemon_cli::{DaemonCli as Cli, STACD as SPEC};

/// Runs `stacd` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    if let Some(code) = staslib::daemon_cli::preflight(&SPEC, cli) {
        return code;
    }
    eprintln!(
        "{}: the daemon is not implemented in this build yet",
        staslib::prog_name(SPEC.prog)
    );
    ExitCode::FAILURE
}
