//! Test-tier support code: the vm tier harness (virtme-ng + Linux nvmet).

pub mod vm;
