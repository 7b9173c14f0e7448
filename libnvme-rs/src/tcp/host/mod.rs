//! Native asynchronous NVMe/TCP host on tokio (protocol reference §1–§4).
//!
//! Layers, bottom up:
//! * [`QueuePair`] / [`QueueHandle`] — one TCP connection per queue: ICReq/ICResp, a reader
//!   task framing PDUs with the strict codec, a writer task, CIDs, the in-flight table,
//!   per-command timeouts, C2HData (incl. the SUCCESS flag), R2T → H2CData, in-capsule data,
//!   H2CTermReq on anything malformed.
//! * [`fabrics`] — Connect, Property Get/Set, the enable / shutdown sequences, Disconnect.
//! * [`AdminController`] — admin association with Identify, Set Features, keep-alive at
//!   KATO/2 and outstanding AERs; an [`AdminTransport`](crate::admin::AdminTransport), so the
//!   shared admin procedures (discovery log, DIM, Supported Log Pages) run on it.
//! * [`DiscoverySession`] and [`IoController`] for the two kinds of controllers.
//!
//! Every future is `Send`; a current-thread runtime is enough.

mod admin;
mod discovery;
mod error;
pub mod fabrics;
mod ic;
mod inflight;
mod io;
mod options;
mod queue;
mod reader;
mod socket;
mod tasks;
mod writer;

pub use admin::{ADMIN_IN_CAPSULE, AdminController, AdminQueue, EVENT_CAPACITY};
pub use discovery::DiscoverySession;
pub use error::{IcError, TcpError};
pub use inflight::{Completion, Transfer};
pub use io::{IoController, Namespace};
pub use options::{ControllerOptions, HostId, IoOptions, TransportOptions};
pub use queue::{QueueHandle, QueuePair};

#[cfg(test)]
mod tests;
