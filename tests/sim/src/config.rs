//! Simulator configuration. Defaults follow Linux nvmet where a choice matters to a host.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use libnvme_rs::spec::disclog::DiscoveryLogEntry;

use crate::status::Status;

/// Largest single data transfer the simulator accepts when MDTS is 0 ("no limit"), so one
/// command can never make it allocate more.
pub const MAX_TRANSFER_CAP: u32 = 8 << 20;
/// Admin queue (and Fabrics) in-capsule data limit, as the Linux host and nvmet use.
pub const ADMIN_INLINE_DATA: u32 = 8192;
/// Most AERs a controller holds at once (AERL + 1), as nvmet.
pub const MAX_AERS: usize = 4;

/// Discovery controller type reported in Identify Controller DCTYPE (TP8010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DcType {
    /// 0: not reported (nvmet).
    #[default]
    None,
    /// 1: direct discovery controller.
    Ddc,
    /// 2: centralized discovery controller.
    Cdc,
}

impl DcType {
    pub fn value(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Ddc => 1,
            Self::Cdc => 2,
        }
    }
}

/// How the discovery controller answers Discovery Information Management (opcode 0x21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DimMode {
    /// Accept register / deregister / update when DCTYPE is DDC or CDC, Invalid Opcode
    /// otherwise (what a DC without TP8010 does).
    #[default]
    Auto,
    /// Always parse and record.
    Accept,
    /// Always Invalid Opcode (nvmet).
    InvalidOpcode,
    /// Parse and record, then fail with this status.
    Fail(Status),
}

/// When a read's last C2HData carries the SUCCESS flag instead of a CapsuleResp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum C2hSuccess {
    /// Always send a CapsuleResp.
    Never,
    /// Only when the host disabled SQ flow control at Connect (nvmet).
    #[default]
    WhenSqFlowDisabled,
    /// Whenever the command succeeds (SPDK and some userspace DCs do this).
    Always,
}

/// ICReq/ICResp policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcConfig {
    /// MAXH2CDATA announced in ICResp (≥ 4096, multiple of 4).
    pub maxh2cdata: u32,
    /// CPDA announced in ICResp (0's based dwords); H2C data must then be aligned to it.
    pub cpda: u8,
    /// Refuse an ICReq with HPDA ≠ 0 (nvmet). Otherwise C2H data is padded as asked.
    pub reject_nonzero_hpda: bool,
}

impl Default for IcConfig {
    fn default() -> Self {
        Self {
            maxh2cdata: 128 * 1024,
            cpda: 0,
            reject_nonzero_hpda: false,
        }
    }
}

/// The discovery controller.
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// Answer Connects to the discovery NQNs at all.
    pub enabled: bool,
    /// TP8013 unique discovery NQN: reported in Identify SUBNQN and accepted by Connect in
    /// addition to the well-known NQN.
    pub unique_nqn: Option<String>,
    pub dctype: DcType,
    pub dim: DimMode,
    /// OAES bit 31 (Discovery Log Page Change notices).
    pub aen_supported: bool,
    /// Answer Get Log Page LID 0x00 (Supported Log Pages).
    pub supported_log_pages: bool,
    /// Report PLEOS (port-local entries only) for LID 0x70 in Supported Log Pages (TP8010).
    pub pleo_supported: bool,
    /// Initial log entries (referrals included: subtype 1).
    pub log: Vec<DiscoveryLogEntry>,
    /// Add one subtype-2 entry per configured subsystem, pointing at the bound address.
    pub advertise_subsystems: bool,
    /// Add a subtype-3 "current discovery subsystem" entry for the simulator itself.
    pub current_discovery_entry: bool,
    pub initial_genctr: u64,
    /// Host NQNs allowed to connect (`None` = any).
    pub allowed_hosts: Option<Vec<String>>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            unique_nqn: None,
            dctype: DcType::None,
            dim: DimMode::Auto,
            aen_supported: true,
            supported_log_pages: true,
            pleo_supported: false,
            log: Vec::new(),
            advertise_subsystems: false,
            current_discovery_entry: false,
            initial_genctr: 1,
            allowed_hosts: None,
        }
    }
}

/// One RAM-backed namespace (sparse: only written 64 KiB chunks use memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceConfig {
    pub nsid: u32,
    /// Size in logical blocks.
    pub blocks: u64,
    /// log2 of the logical block size (9 = 512 B, 12 = 4 KiB).
    pub lbads: u8,
}

impl NamespaceConfig {
    /// A namespace of `bytes` bytes with 4 KiB blocks.
    pub fn with_size(nsid: u32, bytes: u64) -> Self {
        Self {
            nsid,
            blocks: bytes >> 12,
            lbads: 12,
        }
    }

    pub fn block_size(&self) -> u64 {
        1u64 << self.lbads
    }
}

/// One NVM subsystem with its namespaces.
#[derive(Debug, Clone)]
pub struct SubsystemConfig {
    pub nqn: String,
    pub namespaces: Vec<NamespaceConfig>,
    /// I/O queues a controller may create (Connect QID 1..=this).
    pub max_io_queues: u16,
    /// In-capsule data bytes on I/O queues; IOCCSZ = (this + 64) / 16. nvmet: 16 KiB.
    pub inline_data_size: u32,
    /// Host NQNs allowed to connect (`None` = any).
    pub allowed_hosts: Option<Vec<String>>,
}

impl SubsystemConfig {
    /// A subsystem with one 64 MiB namespace (NSID 1, 4 KiB blocks).
    pub fn new(nqn: impl Into<String>) -> Self {
        Self {
            nqn: nqn.into(),
            namespaces: vec![NamespaceConfig::with_size(1, 64 << 20)],
            max_io_queues: 8,
            inline_data_size: 16 * 1024,
            allowed_hosts: None,
        }
    }
}

/// Everything [`crate::Simulator::start`] needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    pub ic: IcConfig,
    pub discovery: DiscoveryConfig,
    pub subsystems: Vec<SubsystemConfig>,
    /// CAP.MQES (0's based largest queue size).
    pub mqes: u16,
    /// Identify MDTS (2^MDTS × 4 KiB; 0 = no limit, capped at [`MAX_TRANSFER_CAP`]).
    pub mdts: u8,
    /// Largest data in one C2HData PDU (reads are split into PDUs of this size).
    pub c2h_chunk: u32,
    pub c2h_success: C2hSuccess,
    /// Largest R2TL; writes above it take several R2Ts in turn (nvmet: one R2T).
    pub r2t_chunk: Option<u32>,
    /// CTRATT.TBKAS: any admin command resets the keep-alive timer, not only Keep Alive.
    pub traffic_based_keep_alive: bool,
    /// Discovery controllers connected with KATO 0 are dropped after this (nvmet: 120 s).
    pub discovery_kato_zero_timeout: Option<Duration>,
    /// CSTS reads that still show RDY = 0 after CC.EN is set (exercises host polling).
    pub ready_delay_polls: u32,
    /// Bound on write data buffered per connection while R2T transfers are in flight.
    pub max_pending_write_bytes: usize,
    /// Identify SN / MN / FR.
    pub serial: String,
    pub model: String,
    pub firmware: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ic: IcConfig::default(),
            discovery: DiscoveryConfig::default(),
            subsystems: Vec::new(),
            mqes: 127,
            mdts: 0,
            c2h_chunk: 128 * 1024,
            c2h_success: C2hSuccess::default(),
            r2t_chunk: None,
            traffic_based_keep_alive: false,
            discovery_kato_zero_timeout: Some(Duration::from_secs(120)),
            ready_delay_polls: 0,
            max_pending_write_bytes: 64 << 20,
            serial: "nvmesim0001".into(),
            model: "nvme-sim".into(),
            firmware: "0.1".into(),
        }
    }
}

impl SimConfig {
    /// Largest data transfer of one command, in bytes.
    pub fn max_transfer(&self) -> u32 {
        if self.mdts == 0 {
            MAX_TRANSFER_CAP
        } else {
            4096u32
                .checked_shl(u32::from(self.mdts))
                .unwrap_or(MAX_TRANSFER_CAP)
                .min(MAX_TRANSFER_CAP)
        }
    }
}
