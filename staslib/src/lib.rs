//! Shared pieces of the nvme-stas programs: version strings and program identity.
//!
//! Configuration, D-Bus payloads and service plumbing join this crate as they are built.

/// The version every program reports (`-v/--version`).
pub const STAS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// First line of every program's `--version` output, as upstream prints it.
pub fn version_line() -> String {
    format!("nvme-stas {STAS_VERSION}")
}

/// Second line of the daemons' `--version` output (upstream prints the libnvme version).
pub fn libnvme_version_line() -> String {
    format!("libnvme-rs {}", libnvme_rs::VERSION)
}
