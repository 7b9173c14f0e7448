//! The vm tier: scenarios that run inside a real Linux 6.12 kernel (virtme-ng, TCG) against
//! Linux nvmet, booted once per batch.
//!
//! The host side ([`host::run`]) boots the VM with this same binary as the guest command; the
//! guest side ([`guest::run`]) sets up nvmet for each scenario from its [`nvmet::Target`],
//! runs the scenario, and appends one JSON line per scenario to a results file on a shared
//! directory, so a crash or hang still leaves the results of the scenarios before it.

mod common;
pub mod contract_scenarios;
pub mod guest;
pub mod host;
pub mod kernel_scenarios;
pub mod native_scenarios;
pub mod nvmet;
pub mod stacd_scenarios;
pub mod stafd_scenarios;
pub mod systemd_scenarios;
pub mod tls_scenarios;

use serde::{Deserialize, Serialize};

/// One scenario: a target to build and a test to run against it.
pub struct Scenario {
    pub name: &'static str,
    pub target: fn() -> nvmet::Target,
    pub run: fn(&mut guest::Ctx) -> Result<(), String>,
}

/// What the guest reports for one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    pub passed: bool,
    pub duration_ms: u64,
    /// Why it failed (empty when passed).
    pub detail: String,
    /// The scenario's own log plus guest state captured on failure.
    pub evidence: Vec<String>,
    /// Packet captures (file names in the results directory) the host must find free of
    /// malformed NVMe/TCP PDUs, checked with tshark after the VM exits.
    #[serde(default)]
    pub captures: Vec<String>,
}

/// Every scenario of the tier, in run order.
pub fn all_scenarios() -> Vec<Scenario> {
    let mut all = kernel_scenarios::scenarios();
    all.extend(native_scenarios::scenarios());
    all.extend(contract_scenarios::scenarios());
    all.extend(stafd_scenarios::scenarios());
    all.extend(stacd_scenarios::scenarios());
    all.extend(tls_scenarios::scenarios());
    all.extend(systemd_scenarios::scenarios());
    all
}

/// Benchmarks run in the VM (`stas-vmtest --bench`): measurements, not tests; their evidence
/// holds the figures.
pub fn bench_scenarios() -> Vec<Scenario> {
    let mut all = native_scenarios::benchmarks();
    all.extend(stafd_scenarios::benchmarks());
    all.extend(stacd_scenarios::benchmarks());
    all
}
