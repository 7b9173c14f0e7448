//! NVMe / NVMe-oF wire structures and constants (protocol reference §2–§3).

pub mod disclog;
pub mod fabrics;
pub mod identify;
pub mod namespace;
pub mod status;

/// The well-known discovery subsystem NQN.
pub const WELL_KNOWN_DISC_NQN: &str = "nqn.2014-08.org.nvmexpress.discovery";

/// AEN DW0 of a Discovery Log Page Change notice (Notice, Discovery Log Page Change, LID
/// 0x70), as an AER completion carries it and as the kernel reports it in `NVME_AEN`.
pub const AEN_DISCOVERY_LOG_CHANGE: u32 = 0x0070_f002;

/// Largest NQN in bytes, without the terminating NUL (NVMF_NQN_SIZE is 223 with it... the
/// NVMe spec allows 223 bytes of NQN in a 256-byte field; upstream nvme-stas rejects > 223).
pub const NQN_MAX_LEN: usize = 223;
