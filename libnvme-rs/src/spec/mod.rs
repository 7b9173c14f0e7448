//! NVMe / NVMe-oF wire structures and constants (protocol reference §2–§3).

pub mod disclog;
pub mod identify;
pub mod status;

/// The well-known discovery subsystem NQN.
pub const WELL_KNOWN_DISC_NQN: &str = "nqn.2014-08.org.nvmexpress.discovery";

/// Largest NQN in bytes, without the terminating NUL (NVMF_NQN_SIZE is 223 with it... the
/// NVMe spec allows 223 bytes of NQN in a 256-byte field; upstream nvme-stas rejects > 223).
pub const NQN_MAX_LEN: usize = 223;
