//! The table layout of the NVM Express Boot Specification 1.0 (libnvme's `nbft.h`): sizes of
//! the header and descriptors (public), structure IDs and flag bits (for the parser and the
//! serializer).

/// Table signature.
pub const SIGNATURE: &[u8; 4] = b"NBFT";
/// Header size.
pub const HEADER_LEN: usize = 64;
/// Control descriptor size (it follows the header).
pub const CONTROL_LEN: usize = 64;
/// Host descriptor size.
pub const HOST_LEN: usize = 32;
/// HFI descriptor size.
pub const HFI_LEN: usize = 32;
/// HFI transport info (NVMe/TCP) size.
pub const HFI_TCP_LEN: usize = 128;
/// Subsystem namespace descriptor size.
pub const SSNS_LEN: usize = 128;
/// SSNS extended info descriptor size.
pub const SSNS_EXT_LEN: usize = 18;
/// Security profile descriptor size.
pub const SECURITY_LEN: usize = 64;
/// Discovery descriptor size.
pub const DISCOVERY_LEN: usize = 32;

pub(super) const ID_CONTROL: u8 = 1;
pub(super) const ID_HOST: u8 = 2;
pub(super) const ID_HFI: u8 = 3;
pub(super) const ID_SSNS: u8 = 4;
pub(super) const ID_DISCOVERY: u8 = 6;
pub(super) const ID_HFI_TRINFO: u8 = 7;
pub(super) const ID_SSNS_EXT: u8 = 9;

/// NBFT transport type of NVMe/TCP (the only one defined).
pub const TRTYPE_TCP: u8 = 3;

pub(super) const CONTROL_VALID: u8 = 1;
pub(super) const HOST_VALID: u8 = 1;
pub(super) const HOST_ID_CONFIGURED: u8 = 1 << 1;
pub(super) const HOST_NQN_CONFIGURED: u8 = 1 << 2;
pub(super) const HOST_PRIMARY_SHIFT: u8 = 3;
pub(super) const HFI_VALID: u8 = 1;
pub(super) const HFI_TCP_VALID: u8 = 1;
pub(super) const HFI_TCP_GLOBAL_ROUTE: u8 = 1 << 1;
pub(super) const HFI_TCP_DHCP_OVERRIDE: u8 = 1 << 2;
pub(super) const SSNS_VALID: u16 = 1;
pub(super) const SSNS_NON_BOOTABLE: u16 = 1 << 1;
pub(super) const SSNS_EXTENDED_INFO_IN_USE: u16 = 1 << 4;
pub(super) const SSNS_DISCOVERED: u16 = 1 << 6;
pub(super) const SSNS_UNAVAIL_SHIFT: u16 = 7;
pub(super) const SSNS_HDR_DIGEST: u16 = 1 << 1;
pub(super) const SSNS_DATA_DIGEST: u16 = 1 << 2;
pub(super) const SSNS_EXT_VALID: u32 = 1;
pub(super) const SSNS_EXT_ADMIN_ASQSZ: u32 = 1 << 1;
pub(super) const DISCOVERY_VALID: u8 = 1;
