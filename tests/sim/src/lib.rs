//! `nvme-sim`: a simulated NVMe/TCP target for tests and the demo.
//!
//! One listener serves a discovery controller (well-known or unique NQN, configurable log
//! page with referrals and thousands of entries, AEN on change with nvmet's masking, TP8010
//! DIM with a record of registrations) and any number of RAM-backed NVM subsystems (Identify,
//! Read/Write with in-capsule data, R2T/H2CData and C2HData, optional C2HData SUCCESS).
//! Every connection is one tokio task; [`SimHandle::shutdown`] joins them all.
//!
//! The simulator exists for what no real peer produces on demand: faults ([`Fault`]) can
//! drop connections, delay or withhold answers, corrupt digests, send malformed PDUs, refuse
//! connects and ignore keep-alives, globally or per connection. It never replaces a real
//! target (Linux nvmet) in acceptance tests.
//!
//! Wire handling reuses `libnvme_rs::tcp` (strict PDU codec) and `libnvme_rs::spec`
//! (discovery log and Identify layouts). A malformed PDU from a client ends its connection
//! with a C2HTermReq; nothing a client sends can panic the simulator or make it allocate
//! more than the negotiated limits.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nvme_sim::SimError> {
//! use nvme_sim::{Fault, FaultRule, SimConfig, Simulator, SubsystemConfig};
//! let mut cfg = SimConfig::default();
//! cfg.subsystems.push(SubsystemConfig::new("nqn.2024-01.io.example:disk"));
//! cfg.discovery.advertise_subsystems = true;
//! let sim = Simulator::start(cfg).await?;
//! sim.inject(FaultRule::global(Fault::IgnoreKeepAlive).times(1));
//! println!("listening on {}", sim.addr());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod config;
mod conn;
mod dim;
mod fabrics;
mod fault;
mod identify;
mod io;
mod server;
mod state;
mod status;

pub use admin::opcode as admin_opcode;
pub use config::{
    ADMIN_INLINE_DATA, C2hSuccess, DcType, DimMode, DiscoveryConfig, IcConfig, MAX_AERS,
    MAX_TRANSFER_CAP, NamespaceConfig, SimConfig, SubsystemConfig,
};
pub use fault::{CmdKey, CmdMatch, Fault, FaultId, FaultRule, FaultTarget, MalformedPdu};
pub use io::opcode as io_opcode;
pub use server::{SimError, SimHandle, Simulator, referral_entry, tcp_entry};
pub use state::{
    AEN_DISC_LOG_CHANGE, ConnectionInfo, ControllerInfo, Counters, DimEntry, DimRecord,
    TermReqRecord,
};
pub use status::Status;
