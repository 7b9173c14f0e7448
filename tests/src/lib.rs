//! Test-tier support code: the vm tier harness (virtme-ng + Linux nvmet) and I/O workloads.

pub mod contract;
pub mod iobench;
pub mod procfs;
pub mod vm;
pub mod workspace;
