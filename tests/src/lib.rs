//! Test-tier support code.
