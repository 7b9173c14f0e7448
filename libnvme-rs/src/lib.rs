//! `libnvme-rs`: a pure-Rust NVMe over Fabrics host library.
//!
//! * [`spec`] — wire structures (size-asserted), constants and decoders shared by every backend.
//! * [`admin`] — admin command set over any [`admin::AdminTransport`] (kernel passthru today,
//!   the native NVMe/TCP host later): Identify, Get Log Page with the discovery-log procedure,
//!   Supported Log Pages, TP8010 DIM.
//! * [`controller`] — the one async interface the daemons use: discovery controllers on either
//!   backend, errors that name the controller and the operation.
//! * [`trid`] — transport identities, their defaulting and canonical forms.
//! * [`kernel`] — the Linux initiator: `/dev/nvme-fabrics`, sysfs, admin passthru, uevents.
//! * [`host`] — host NQN / ID / key from `/etc/nvme`.
//! * [`tcp`] — NVMe/TCP PDU codec (wire structs, digests, strict framing) for a native host.
//!
//! Every call into the kernel is **blocking** (a fabrics connect can take seconds); async
//! callers run them in `spawn_blocking`.

#![warn(missing_docs)]

pub mod admin;
pub mod controller;
mod error;
pub mod host;
pub mod kernel;
pub mod nbft;
pub mod spec;
pub mod tcp;
pub mod trid;

pub use error::error_chain;

/// Version of this library, printed by the daemons' `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
