//! NVMe Boot Firmware Table (NBFT, ACPI) parser (compat spec §4.15; NVM Express Boot
//! Specification 1.0, the layout libnvme's `nbft.h` describes).
//!
//! The firmware leaves the table in `/sys/firmware/acpi/tables/NBFT*`. It holds the host
//! identity the pre-OS driver used, its host fabric interfaces (HFIs, with MAC and IP), the
//! discovery controllers (as `nvme+tcp://host:port/` URIs) and the subsystem namespaces
//! (SSNS) it booted from.
//!
//! Layout: a 64-byte ACPI-style header (`NBFT` signature, length, revision, checksum, heap
//! location), a 64-byte control descriptor at offset 64 (location of the host descriptor and
//! of the HFI, SSNS, security and discovery descriptor lists), the descriptors, and a heap
//! holding variable-size objects (strings, HFI transport info, address bytes) referenced by
//! `(offset from table start, length)` pairs.
//!
//! Parsing is bounded and validated: every offset and length is checked against the table
//! (64-bit arithmetic, no overflow), heap references must lie inside the heap, the whole
//! table must sum to zero (ACPI checksum), and nothing panics. As in libnvme, a problem in
//! the header, control or host descriptor rejects the table, while a bad HFI, discovery or
//! SSNS descriptor is only skipped (recorded in [`Nbft::skipped`]); descriptors whose
//! "valid" flag is clear are reserved and ignored.
//!
//! Differences from libnvme (all lenient, none reads out of bounds): any minor revision is
//! accepted (minor revisions are backward compatible by definition); heap strings end at
//! their length or first NUL (a terminator is not required); a discovery descriptor without
//! an NQN uses the well-known discovery NQN (as the Boot specification says; libnvme drops
//! the entry); HFI references resolve by the descriptors' index field; a subsystem address
//! stored as text is accepted when it is an IP literal. The checksum covers the header's
//! `length` bytes (ACPI), not trailing file bytes.
//!
//! [`Nbft::discovery_controllers`] / [`Nbft::subsystem_controllers`] give what `stafd` /
//! `stacd` use. [`Nbft::to_bytes`] serializes a model back to a valid table (tests, tools).

use std::fs;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::spec::WELL_KNOWN_DISC_NQN;

/// Table signature.
pub const SIGNATURE: &[u8; 4] = b"NBFT";
/// Default directory of the firmware tables.
pub const DEFAULT_ACPI_TABLES_DIR: &str = "/sys/firmware/acpi/tables";
/// Largest table read from a file (real tables are a few KiB).
pub const MAX_TABLE_LEN: usize = 1 << 20;

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

const ID_CONTROL: u8 = 1;
const ID_HOST: u8 = 2;
const ID_HFI: u8 = 3;
const ID_SSNS: u8 = 4;
const ID_DISCOVERY: u8 = 6;
const ID_HFI_TRINFO: u8 = 7;
const ID_SSNS_EXT: u8 = 9;

/// NBFT transport type of NVMe/TCP (the only one defined).
pub const TRTYPE_TCP: u8 = 3;

const CONTROL_VALID: u8 = 1;
const HOST_VALID: u8 = 1;
const HOST_ID_CONFIGURED: u8 = 1 << 1;
const HOST_NQN_CONFIGURED: u8 = 1 << 2;
const HOST_PRIMARY_SHIFT: u8 = 3;
const HFI_VALID: u8 = 1;
const HFI_TCP_VALID: u8 = 1;
const HFI_TCP_GLOBAL_ROUTE: u8 = 1 << 1;
const HFI_TCP_DHCP_OVERRIDE: u8 = 1 << 2;
const SSNS_VALID: u16 = 1;
const SSNS_NON_BOOTABLE: u16 = 1 << 1;
const SSNS_EXTENDED_INFO_IN_USE: u16 = 1 << 4;
const SSNS_DISCOVERED: u16 = 1 << 6;
const SSNS_UNAVAIL_SHIFT: u16 = 7;
const SSNS_TRFLAG_VALID: u16 = 1;
const SSNS_HDR_DIGEST: u16 = 1 << 1;
const SSNS_DATA_DIGEST: u16 = 1 << 2;
const SSNS_EXT_VALID: u32 = 1;
const SSNS_EXT_ADMIN_ASQSZ: u32 = 1 << 1;
const DISCOVERY_VALID: u8 = 1;

/// Why a table (or one of its descriptors) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NbftError {
    /// Fewer bytes than the header and control descriptor need.
    #[error("table too short: {len} bytes, at least {min} needed")]
    TooShort {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        min: usize,
    },
    /// The signature is not `NBFT`.
    #[error("bad signature {0:02x?} (expected \"NBFT\")")]
    BadSignature([u8; 4]),
    /// The header's length is larger than the data.
    #[error("header length {header} exceeds the {actual} bytes available")]
    LengthExceedsData {
        /// Length in the header.
        header: u32,
        /// Bytes available.
        actual: usize,
    },
    /// The table bytes do not sum to zero.
    #[error("bad checksum (the table sums to {0:#04x}, not 0)")]
    BadChecksum(u8),
    /// Major revision other than 1.
    #[error("unsupported major revision {0}")]
    UnsupportedRevision(u8),
    /// A structure or list lies (partly) outside the table.
    #[error("{what} at offset {offset} (+{len} bytes) exceeds the table length {table}")]
    OutOfBounds {
        /// What was located.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// Table length.
        table: usize,
    },
    /// A descriptor's structure ID is wrong.
    #[error("{what}: structure ID {found}, expected {expected}")]
    BadStructureId {
        /// The descriptor.
        what: &'static str,
        /// ID found.
        found: u8,
        /// ID expected.
        expected: u8,
    },
    /// A descriptor's version is unsupported.
    #[error("{what}: unsupported version {found}")]
    BadVersion {
        /// The descriptor.
        what: &'static str,
        /// Version found.
        found: u8,
    },
    /// The declared descriptor length is shorter than the structure.
    #[error("{what}: descriptor length {stride} is shorter than {min} bytes")]
    DescriptorTooShort {
        /// The list.
        what: &'static str,
        /// Declared length.
        stride: u16,
        /// Structure size.
        min: usize,
    },
    /// The host descriptor's valid flag is clear.
    #[error("host descriptor is not marked valid")]
    HostNotValid,
    /// A required heap object is absent (zero length).
    #[error("{what}: missing {field}")]
    Missing {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A heap reference points outside the heap.
    #[error("{what}: {field} (offset {offset}, {length} bytes) lies outside the heap")]
    HeapObjectOutOfBounds {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its offset.
        offset: u32,
        /// Its length.
        length: u16,
    },
    /// A heap object is shorter than the structure it should hold.
    #[error("{what}: {field} is {len} bytes, at least {min} needed")]
    HeapObjectTooShort {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// Needed length.
        min: usize,
    },
    /// A heap string is not UTF-8 or an address is malformed.
    #[error("{what}: {field} is malformed")]
    Malformed {
        /// The descriptor.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
    /// Transport type other than NVMe/TCP.
    #[error("{what}: unsupported transport type {trtype}")]
    UnsupportedTransport {
        /// The descriptor.
        what: &'static str,
        /// The type.
        trtype: u8,
    },
    /// A sub-structure's valid flag is clear.
    #[error("{what} is not marked valid")]
    NotValid {
        /// The structure.
        what: &'static str,
    },
    /// A referenced HFI does not exist (or was skipped).
    #[error("{what}: HFI {index} not found")]
    HfiNotFound {
        /// The descriptor.
        what: &'static str,
        /// The HFI index.
        index: u8,
    },
    /// A discovery controller URI cannot be used.
    #[error("discovery URI \"{uri}\": {reason}")]
    BadUri {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Errors reading a table file.
#[derive(Debug, thiserror::Error)]
pub enum NbftReadError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file is larger than [`MAX_TABLE_LEN`].
    #[error("{} is larger than {MAX_TABLE_LEN} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The table is invalid.
    #[error("invalid NBFT {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: NbftError,
    },
}

/// Which list a skipped descriptor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorKind {
    /// Host fabric interface.
    Hfi,
    /// Discovery controller.
    Discovery,
    /// Subsystem namespace.
    Subsystem,
}

/// A descriptor that was present and marked valid but could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The list.
    pub kind: DescriptorKind,
    /// Position in the list (0-based).
    pub position: usize,
    /// Why.
    pub error: NbftError,
}

/// The host descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftHost {
    /// Host ID (raw UUID bytes).
    pub id: [u8; 16],
    /// Host NQN.
    pub nqn: String,
    /// The host ID was set by an administrator (else a driver default).
    pub id_configured: bool,
    /// The host NQN was set by an administrator (else a driver default).
    pub nqn_configured: bool,
    /// Primary administrative host flag (0 not indicated, 1 unselected, 2 selected, 3 reserved).
    pub primary_admin: u8,
}

impl NbftHost {
    /// The host ID as a canonical UUID string.
    pub fn id_string(&self) -> String {
        crate::host::format_uuid(&self.id)
    }
}

/// NVMe/TCP details of an HFI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftHfiTcp {
    /// PCI segment/bus/device/function of the NIC.
    pub pci_sbdf: u32,
    /// MAC address.
    pub mac: [u8; 6],
    /// VLAN ID (0 = none).
    pub vlan: u16,
    /// IP origin (Windows `NL_PREFIX_ORIGIN`).
    pub ip_origin: u8,
    /// Interface address.
    pub ipaddr: IpAddr,
    /// Prefix length.
    pub subnet_mask_prefix: u8,
    /// Gateway (`None` when all-zero).
    pub gateway: Option<IpAddr>,
    /// Route metric.
    pub route_metric: u16,
    /// Primary DNS server.
    pub primary_dns: Option<IpAddr>,
    /// Secondary DNS server.
    pub secondary_dns: Option<IpAddr>,
    /// DHCP server (only when `dhcp_override`).
    pub dhcp_server: Option<IpAddr>,
    /// Host name from DHCP or configuration.
    pub host_name: Option<String>,
    /// The configuration came from DHCP.
    pub dhcp_override: bool,
    /// This HFI was the default route.
    pub default_route: bool,
}

impl NbftHfiTcp {
    /// `aa:bb:cc:dd:ee:ff`.
    pub fn mac_string(&self) -> String {
        format_mac(&self.mac)
    }

    /// PCI address as libnvme prints it (`segment:bus:device.function`, hex, no padding).
    pub fn pci_address(&self) -> String {
        let s = self.pci_sbdf;
        format!(
            "{:x}:{:x}:{:x}.{:x}",
            (s & 0xffff_0000) >> 16,
            (s & 0x0000_ff00) >> 8,
            (s & 0x0000_00f8) >> 3,
            s & 0x7
        )
    }
}

/// A host fabric interface (only NVMe/TCP exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftHfi {
    /// HFI descriptor index (what other descriptors reference).
    pub index: u8,
    /// NVMe/TCP details.
    pub tcp: NbftHfiTcp,
}

/// A discovery controller descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftDiscovery {
    /// Discovery descriptor index.
    pub index: u8,
    /// Index of the HFI it is reached through.
    pub hfi_index: u8,
    /// Security profile index (0 = none).
    pub security_index: u8,
    /// Controller URI, e.g. `nvme+tcp://192.168.1.10:8009/`.
    pub uri: String,
    /// Discovery controller NQN (the well-known one when the table gives none).
    pub nqn: String,
    /// Transport from the URI scheme (`nvme+tcp` → `tcp`).
    pub transport: String,
    /// Host part of the URI (brackets of IPv6 literals removed, lower-cased).
    pub traddr: String,
    /// Port of the URI, if any.
    pub trsvcid: Option<String>,
}

/// SSNS extended information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftSsnsExt {
    /// Controller ID of the first controller.
    pub controller_id: u16,
    /// Admin submission queue size, when administratively set.
    pub asqsz: Option<u16>,
    /// DHCP root path string.
    pub dhcp_root_path: Option<String>,
}

/// A subsystem namespace descriptor (what the firmware booted from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftSubsystem {
    /// SSNS descriptor index.
    pub index: u16,
    /// Subsystem transport address (an IP literal for TCP).
    pub traddr: String,
    /// Subsystem transport service ID (port).
    pub trsvcid: String,
    /// Subsystem NQN.
    pub subsys_nqn: String,
    /// Subsystem port ID.
    pub subsys_port_id: u16,
    /// Namespace ID (0 = unspecified).
    pub nsid: u32,
    /// Namespace identifier type (1 EUI-64, 2 NGUID, 3 UUID).
    pub nid_type: u8,
    /// Namespace identifier.
    pub nid: [u8; 16],
    /// Header digest required.
    pub hdr_digest: bool,
    /// Data digest required.
    pub data_digest: bool,
    /// Primary discovery controller index (0 = none).
    pub primary_discovery_index: u8,
    /// Security profile index (0 = none).
    pub security_index: u8,
    /// HFI indexes: primary first, then resolvable secondaries.
    pub hfi_indexes: Vec<u8>,
    /// Administrative, not necessarily bootable, namespace.
    pub non_bootable: bool,
    /// Acquired through discovery.
    pub discovered: bool,
    /// Availability hint (0 not indicated, 1 available, 2 unavailable).
    pub unavailable: u8,
    /// Extended information, when present and valid.
    pub extended: Option<NbftSsnsExt>,
}

/// A parsed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nbft {
    /// Major revision (always 1).
    pub major_revision: u8,
    /// Minor revision.
    pub minor_revision: u8,
    /// OEM ID (trailing NULs and spaces removed).
    pub oem_id: String,
    /// OEM table ID.
    pub oem_table_id: String,
    /// Host descriptor; `None` when the control descriptor is not marked valid (an empty
    /// table: every list is then empty too).
    pub host: Option<NbftHost>,
    /// Valid HFIs.
    pub hfis: Vec<NbftHfi>,
    /// Number of security profile descriptors (not decoded, as in libnvme).
    pub security_count: u8,
    /// Valid discovery descriptors.
    pub discovery: Vec<NbftDiscovery>,
    /// Valid subsystem namespace descriptors.
    pub subsystems: Vec<NbftSubsystem>,
    /// Descriptors marked valid but unusable.
    pub skipped: Vec<Skipped>,
}

/// A controller candidate taken from the table, the fields `stafd`/`stacd` build a
/// controller identity from (compat spec §4.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbftController {
    /// Transport (`tcp`).
    pub transport: String,
    /// Target address.
    pub traddr: String,
    /// Target port; `None` when a discovery URI has no port (upstream then uses the
    /// string `None`; callers apply their transport default instead).
    pub trsvcid: Option<String>,
    /// Subsystem NQN.
    pub subsysnqn: String,
    /// The table's host NQN, only when it was administratively configured.
    pub host_nqn: Option<String>,
    /// The table's host ID, only when it was administratively configured.
    pub host_id: Option<String>,
    /// MAC of the HFI the firmware used.
    pub hfi_mac: Option<[u8; 6]>,
    /// Address of that HFI (a possible `host-traddr`; upstream does not use it).
    pub hfi_ipaddr: Option<IpAddr>,
    /// Interface with the HFI's MAC, when the lookup found one.
    pub host_iface: Option<String>,
    /// Header digest required (subsystems only).
    pub hdr_digest: bool,
    /// Data digest required (subsystems only).
    pub data_digest: bool,
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

// ---------------------------------------------------------------------------------------------
// Bounded little-endian field access. Callers slice a descriptor after checking its bounds,
// so these never miss; a miss would read as zero rather than panic.

fn rd_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

fn rd_u16(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(off..off + 2) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}

fn rd_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn rd_array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = b.get(off..off + N) {
        a.copy_from_slice(s);
    }
    a
}

/// A heap object reference.
#[derive(Debug, Clone, Copy)]
struct HeapObj {
    offset: u32,
    length: u16,
}

fn rd_obj(b: &[u8], off: usize) -> HeapObj {
    HeapObj {
        offset: rd_u32(b, off),
        length: rd_u16(b, off + 4),
    }
}

/// Converts a 16-byte address field: IPv4-mapped → IPv4, else IPv6.
fn ip_from_bytes(b: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(b);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

fn ip_to_bytes(ip: &IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn non_zero_ip(b: [u8; 16]) -> Option<IpAddr> {
    (b != [0u8; 16]).then(|| ip_from_bytes(b))
}

fn trim_text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default())
        .trim_end()
        .to_owned()
}

/// The table being parsed, with its validated heap bounds.
struct Table<'a> {
    data: &'a [u8],
    heap_start: u64,
    heap_end: u64,
}

impl<'a> Table<'a> {
    /// `len` bytes at `offset`, or [`NbftError::OutOfBounds`].
    fn slice(&self, what: &'static str, offset: u64, len: u64) -> Result<&'a [u8], NbftError> {
        let oob = || NbftError::OutOfBounds {
            what,
            offset,
            len,
            table: self.data.len(),
        };
        let end = offset.checked_add(len).ok_or_else(oob)?;
        let start = usize::try_from(offset).map_err(|_| oob())?;
        let end = usize::try_from(end).map_err(|_| oob())?;
        self.data.get(start..end).ok_or_else(oob)
    }

    /// The bytes of a heap object; `None` for a zero-length (absent) object.
    fn heap(
        &self,
        what: &'static str,
        field: &'static str,
        obj: HeapObj,
    ) -> Result<Option<&'a [u8]>, NbftError> {
        if obj.length == 0 {
            return Ok(None);
        }
        let start = u64::from(obj.offset);
        let end = start + u64::from(obj.length);
        if start < self.heap_start || end > self.heap_end {
            return Err(NbftError::HeapObjectOutOfBounds {
                what,
                field,
                offset: obj.offset,
                length: obj.length,
            });
        }
        self.slice(what, start, u64::from(obj.length)).map(Some)
    }

    /// A heap string: up to its length or first NUL, UTF-8.
    fn heap_str(
        &self,
        what: &'static str,
        field: &'static str,
        obj: HeapObj,
    ) -> Result<Option<String>, NbftError> {
        let Some(bytes) = self.heap(what, field, obj)? else {
            return Ok(None);
        };
        let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
        let text = std::str::from_utf8(bytes.get(..end).unwrap_or_default())
            .map_err(|_| NbftError::Malformed { what, field })?;
        Ok(Some(text.to_owned()))
    }

    fn required_str(
        &self,
        what: &'static str,
        field: &'static str,
        obj: HeapObj,
    ) -> Result<String, NbftError> {
        self.heap_str(what, field, obj)?
            .filter(|s| !s.is_empty())
            .ok_or(NbftError::Missing { what, field })
    }
}

fn check_id(what: &'static str, found: u8, expected: u8) -> Result<(), NbftError> {
    if found == expected {
        Ok(())
    } else {
        Err(NbftError::BadStructureId {
            what,
            found,
            expected,
        })
    }
}

/// A descriptor list: `count` entries of `stride` bytes at `offset`.
fn list<'a>(
    t: &Table<'a>,
    what: &'static str,
    offset: u32,
    stride: u16,
    count: u8,
    min: usize,
) -> Result<Vec<&'a [u8]>, NbftError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    // libnvme indexes with the structure size; a zero length is read the same way.
    let stride_len = if stride == 0 {
        min
    } else {
        usize::from(stride)
    };
    if stride_len < min {
        return Err(NbftError::DescriptorTooShort { what, stride, min });
    }
    let total = stride_len as u64 * u64::from(count);
    t.slice(what, u64::from(offset), total)?;
    (0..usize::from(count))
        .map(|i| {
            t.slice(
                what,
                u64::from(offset) + (i * stride_len) as u64,
                min as u64,
            )
        })
        .collect()
}

impl Nbft {
    /// Parses and validates a table (see the module documentation).
    pub fn parse(data: &[u8]) -> Result<Nbft, NbftError> {
        let min = HEADER_LEN + CONTROL_LEN;
        if data.len() < min {
            return Err(NbftError::TooShort {
                len: data.len(),
                min,
            });
        }
        let sig: [u8; 4] = rd_array(data, 0);
        if &sig != SIGNATURE {
            return Err(NbftError::BadSignature(sig));
        }
        let length = rd_u32(data, 4);
        let table_len = usize::try_from(length).unwrap_or(usize::MAX);
        if table_len > data.len() {
            return Err(NbftError::LengthExceedsData {
                header: length,
                actual: data.len(),
            });
        }
        if table_len < min {
            return Err(NbftError::TooShort {
                len: table_len,
                min,
            });
        }
        let data = data.get(..table_len).unwrap_or_default();
        let sum = data.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        if sum != 0 {
            return Err(NbftError::BadChecksum(sum));
        }
        let major_revision = rd_u8(data, 8);
        if major_revision != 1 {
            return Err(NbftError::UnsupportedRevision(major_revision));
        }
        let heap_offset = rd_u32(data, 36);
        let heap_length = rd_u32(data, 40);
        let heap_start = u64::from(heap_offset);
        let heap_end = heap_start + u64::from(heap_length);
        if heap_end > table_len as u64 {
            return Err(NbftError::OutOfBounds {
                what: "heap",
                offset: heap_start,
                len: u64::from(heap_length),
                table: table_len,
            });
        }
        let t = Table {
            data,
            heap_start,
            heap_end,
        };
        let mut nbft = Nbft {
            major_revision,
            minor_revision: rd_u8(data, 50),
            oem_id: trim_text(data.get(10..16).unwrap_or_default()),
            oem_table_id: trim_text(data.get(16..24).unwrap_or_default()),
            host: None,
            hfis: Vec::new(),
            security_count: 0,
            discovery: Vec::new(),
            subsystems: Vec::new(),
            skipped: Vec::new(),
        };

        let control = t.slice("control descriptor", HEADER_LEN as u64, CONTROL_LEN as u64)?;
        if rd_u8(control, 6) & CONTROL_VALID == 0 {
            return Ok(nbft);
        }
        check_id("control descriptor", rd_u8(control, 0), ID_CONTROL)?;

        let hdesc = rd_u32(control, 8);
        let host = t.slice("host descriptor", u64::from(hdesc), HOST_LEN as u64)?;
        nbft.host = Some(parse_host(&t, host)?);

        let hfis = list(
            &t,
            "HFI descriptor list",
            rd_u32(control, 16),
            rd_u16(control, 20),
            rd_u8(control, 23),
            HFI_LEN,
        )?;
        let ssns = list(
            &t,
            "SSNS descriptor list",
            rd_u32(control, 24),
            rd_u16(control, 28),
            rd_u8(control, 31),
            SSNS_LEN,
        )?;
        let security = list(
            &t,
            "security descriptor list",
            rd_u32(control, 32),
            rd_u16(control, 36),
            rd_u8(control, 39),
            SECURITY_LEN,
        )?;
        nbft.security_count = u8::try_from(security.len()).unwrap_or(u8::MAX);
        let discovery = list(
            &t,
            "discovery descriptor list",
            rd_u32(control, 40),
            rd_u16(control, 44),
            rd_u8(control, 47),
            DISCOVERY_LEN,
        )?;

        for (position, d) in hfis.into_iter().enumerate() {
            match parse_hfi(&t, d) {
                Ok(Some(h)) => nbft.hfis.push(h),
                Ok(None) => {}
                Err(error) => nbft.skipped.push(Skipped {
                    kind: DescriptorKind::Hfi,
                    position,
                    error,
                }),
            }
        }
        for (position, d) in discovery.into_iter().enumerate() {
            match parse_discovery(&t, d) {
                Ok(Some(x)) => nbft.discovery.push(x),
                Ok(None) => {}
                Err(error) => nbft.skipped.push(Skipped {
                    kind: DescriptorKind::Discovery,
                    position,
                    error,
                }),
            }
        }
        for (position, d) in ssns.into_iter().enumerate() {
            match parse_ssns(&t, d, &nbft.hfis) {
                Ok(Some(x)) => nbft.subsystems.push(x),
                Ok(None) => {}
                Err(error) => nbft.skipped.push(Skipped {
                    kind: DescriptorKind::Subsystem,
                    position,
                    error,
                }),
            }
        }
        Ok(nbft)
    }

    /// The HFI with descriptor index `index`.
    pub fn hfi(&self, index: u8) -> Option<&NbftHfi> {
        self.hfis.iter().find(|h| h.index == index)
    }

    fn configured_host(&self) -> (Option<String>, Option<String>) {
        match &self.host {
            Some(h) => (
                h.nqn_configured.then(|| h.nqn.clone()),
                h.id_configured.then(|| h.id_string()),
            ),
            None => (None, None),
        }
    }

    fn hfi_fields(
        &self,
        index: Option<u8>,
        iface_for_mac: &dyn Fn(&[u8; 6]) -> Option<String>,
    ) -> (Option<[u8; 6]>, Option<IpAddr>, Option<String>) {
        match index.and_then(|i| self.hfi(i)) {
            Some(h) => (
                Some(h.tcp.mac),
                Some(h.tcp.ipaddr),
                iface_for_mac(&h.tcp.mac),
            ),
            None => (None, None, None),
        }
    }

    /// Discovery controllers for `stafd` (compat spec §4.15-2): transport/traddr/trsvcid
    /// from the URI, subsysnqn = the descriptor's NQN, host NQN/ID only when configured,
    /// host interface from `iface_for_mac` applied to the HFI's MAC (see [`iface_by_mac`]).
    pub fn discovery_controllers(
        &self,
        iface_for_mac: &dyn Fn(&[u8; 6]) -> Option<String>,
    ) -> Vec<NbftController> {
        let (host_nqn, host_id) = self.configured_host();
        self.discovery
            .iter()
            .map(|d| {
                let (hfi_mac, hfi_ipaddr, host_iface) =
                    self.hfi_fields(Some(d.hfi_index), iface_for_mac);
                NbftController {
                    transport: d.transport.clone(),
                    traddr: d.traddr.clone(),
                    trsvcid: d.trsvcid.clone(),
                    subsysnqn: d.nqn.clone(),
                    host_nqn: host_nqn.clone(),
                    host_id: host_id.clone(),
                    hfi_mac,
                    hfi_ipaddr,
                    host_iface,
                    hdr_digest: false,
                    data_digest: false,
                }
            })
            .collect()
    }

    /// Subsystem (I/O controller) candidates (compat spec §4.15-4; upstream parses but does
    /// not use them): the primary HFI gives the interface.
    pub fn subsystem_controllers(
        &self,
        iface_for_mac: &dyn Fn(&[u8; 6]) -> Option<String>,
    ) -> Vec<NbftController> {
        let (host_nqn, host_id) = self.configured_host();
        self.subsystems
            .iter()
            .map(|s| {
                let (hfi_mac, hfi_ipaddr, host_iface) =
                    self.hfi_fields(s.hfi_indexes.first().copied(), iface_for_mac);
                NbftController {
                    transport: "tcp".to_owned(),
                    traddr: s.traddr.clone(),
                    trsvcid: Some(s.trsvcid.clone()),
                    subsysnqn: s.subsys_nqn.clone(),
                    host_nqn: host_nqn.clone(),
                    host_id: host_id.clone(),
                    hfi_mac,
                    hfi_ipaddr,
                    host_iface,
                    hdr_digest: s.hdr_digest,
                    data_digest: s.data_digest,
                }
            })
            .collect()
    }
}

fn parse_host(t: &Table<'_>, d: &[u8]) -> Result<NbftHost, NbftError> {
    const WHAT: &str = "host descriptor";
    let flags = rd_u8(d, 1);
    if flags & HOST_VALID == 0 {
        return Err(NbftError::HostNotValid);
    }
    check_id(WHAT, rd_u8(d, 0), ID_HOST)?;
    Ok(NbftHost {
        id: rd_array(d, 2),
        nqn: t.required_str(WHAT, "host NQN", rd_obj(d, 18))?,
        id_configured: flags & HOST_ID_CONFIGURED != 0,
        nqn_configured: flags & HOST_NQN_CONFIGURED != 0,
        primary_admin: (flags >> HOST_PRIMARY_SHIFT) & 0x3,
    })
}

fn parse_hfi(t: &Table<'_>, d: &[u8]) -> Result<Option<NbftHfi>, NbftError> {
    const WHAT: &str = "HFI descriptor";
    const TCP: &str = "HFI transport info";
    if rd_u8(d, 2) & HFI_VALID == 0 {
        return Ok(None);
    }
    check_id(WHAT, rd_u8(d, 0), ID_HFI)?;
    let trtype = rd_u8(d, 3);
    if trtype != TRTYPE_TCP {
        return Err(NbftError::UnsupportedTransport { what: WHAT, trtype });
    }
    let info = t
        .heap(WHAT, "transport info", rd_obj(d, 16))?
        .ok_or(NbftError::Missing {
            what: WHAT,
            field: "transport info",
        })?;
    if info.len() < HFI_TCP_LEN {
        return Err(NbftError::HeapObjectTooShort {
            what: WHAT,
            field: "transport info",
            len: info.len(),
            min: HFI_TCP_LEN,
        });
    }
    let flags = rd_u8(info, 6);
    if flags & HFI_TCP_VALID == 0 {
        return Err(NbftError::NotValid { what: TCP });
    }
    check_id(TCP, rd_u8(info, 0), ID_HFI_TRINFO)?;
    let version = rd_u8(info, 1);
    if version != 1 {
        return Err(NbftError::BadVersion {
            what: TCP,
            found: version,
        });
    }
    let dhcp_override = flags & HFI_TCP_DHCP_OVERRIDE != 0;
    Ok(Some(NbftHfi {
        index: rd_u8(d, 1),
        tcp: NbftHfiTcp {
            pci_sbdf: rd_u32(info, 7),
            mac: rd_array(info, 11),
            vlan: rd_u16(info, 17),
            ip_origin: rd_u8(info, 19),
            ipaddr: ip_from_bytes(rd_array(info, 20)),
            subnet_mask_prefix: rd_u8(info, 36),
            gateway: non_zero_ip(rd_array(info, 37)),
            route_metric: rd_u16(info, 54),
            primary_dns: non_zero_ip(rd_array(info, 56)),
            secondary_dns: non_zero_ip(rd_array(info, 72)),
            dhcp_server: if dhcp_override {
                non_zero_ip(rd_array(info, 88))
            } else {
                None
            },
            // Optional and informational: a bad reference is ignored, as in libnvme.
            host_name: t
                .heap_str(TCP, "host name", rd_obj(info, 104))
                .ok()
                .flatten()
                .filter(|s| !s.is_empty()),
            dhcp_override,
            default_route: flags & HFI_TCP_GLOBAL_ROUTE != 0,
        },
    }))
}

/// `(transport, host, port)` of a discovery URI `nvme+<transport>://host[:port][/...]`,
/// following Python's `urlparse` (scheme and host lower-cased, userinfo dropped, IPv6 in
/// brackets, port canonicalised as a number 0..=65535).
pub fn parse_discovery_uri(uri: &str) -> Result<(String, String, Option<String>), NbftError> {
    let bad = |reason| NbftError::BadUri {
        uri: uri.to_owned(),
        reason,
    };
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    let transport = scheme
        .split('+')
        .nth(1)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or_else(|| bad("scheme is not nvme+<transport>"))?
        .to_owned();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
        };
        (h, port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            let digits = p.trim_start_matches('0');
            let n: u32 = match digits {
                "" => 0,
                d if d.len() > 5 => return Err(bad("port out of range")),
                d => d.parse().map_err(|_| bad("bad port"))?,
            };
            if n > 65535 {
                return Err(bad("port out of range"));
            }
            Some(n.to_string())
        }
        Some(_) => return Err(bad("bad port")),
    };
    Ok((transport, host.to_lowercase(), port))
}

fn parse_discovery(t: &Table<'_>, d: &[u8]) -> Result<Option<NbftDiscovery>, NbftError> {
    const WHAT: &str = "discovery descriptor";
    if rd_u8(d, 1) & DISCOVERY_VALID == 0 {
        return Ok(None);
    }
    check_id(WHAT, rd_u8(d, 0), ID_DISCOVERY)?;
    let uri = t.required_str(WHAT, "controller URI", rd_obj(d, 6))?;
    let nqn = t
        .heap_str(WHAT, "controller NQN", rd_obj(d, 12))?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| WELL_KNOWN_DISC_NQN.to_owned());
    let (transport, traddr, trsvcid) = parse_discovery_uri(&uri)?;
    Ok(Some(NbftDiscovery {
        index: rd_u8(d, 2),
        hfi_index: rd_u8(d, 3),
        security_index: rd_u8(d, 4),
        uri,
        nqn,
        transport,
        traddr,
        trsvcid,
    }))
}

fn parse_ssns(
    t: &Table<'_>,
    d: &[u8],
    hfis: &[NbftHfi],
) -> Result<Option<NbftSubsystem>, NbftError> {
    const WHAT: &str = "SSNS descriptor";
    let flags = rd_u16(d, 3);
    if flags & SSNS_VALID == 0 {
        return Ok(None);
    }
    check_id(WHAT, rd_u8(d, 0), ID_SSNS)?;
    let index = rd_u16(d, 1);
    let trtype = rd_u8(d, 5);
    if trtype != TRTYPE_TCP {
        return Err(NbftError::UnsupportedTransport { what: WHAT, trtype });
    }
    let trflags = rd_u16(d, 6);
    let addr = t
        .heap(WHAT, "transport address", rd_obj(d, 10))?
        .ok_or(NbftError::Missing {
            what: WHAT,
            field: "transport address",
        })?;
    let traddr = match <[u8; 16]>::try_from(addr) {
        Ok(raw) => ip_from_bytes(raw).to_string(),
        Err(_) => {
            // Not 16 address bytes: accept an IP literal written as text.
            let end = addr.iter().position(|&c| c == 0).unwrap_or(addr.len());
            std::str::from_utf8(addr.get(..end).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .map(|ip| ip.to_string())
                .ok_or(NbftError::Malformed {
                    what: WHAT,
                    field: "transport address",
                })?
        }
    };
    let trsvcid = t.required_str(WHAT, "transport service ID", rd_obj(d, 16))?;
    let primary = rd_u8(d, 46);
    if !hfis.iter().any(|h| h.index == primary) {
        return Err(NbftError::HfiNotFound {
            what: WHAT,
            index: primary,
        });
    }
    let mut hfi_indexes = vec![primary];
    if let Some(secondary) = t.heap(WHAT, "secondary HFI associations", rd_obj(d, 48))? {
        hfi_indexes.extend(
            secondary
                .iter()
                .copied()
                .filter(|i| hfis.iter().any(|h| h.index == *i)),
        );
    }
    let subsys_nqn = t.required_str(WHAT, "subsystem NQN", rd_obj(d, 54))?;
    let extended = if flags & SSNS_EXTENDED_INFO_IN_USE != 0 {
        // Informational, as in libnvme: a bad extension is ignored.
        parse_ssns_ext(t, rd_obj(d, 60), index).ok().flatten()
    } else {
        None
    };
    Ok(Some(NbftSubsystem {
        index,
        traddr,
        trsvcid,
        subsys_nqn,
        subsys_port_id: rd_u16(d, 22),
        nsid: rd_u32(d, 24),
        nid_type: rd_u8(d, 28),
        nid: rd_array(d, 29),
        hdr_digest: trflags & SSNS_HDR_DIGEST != 0,
        data_digest: trflags & SSNS_DATA_DIGEST != 0,
        primary_discovery_index: rd_u8(d, 8),
        security_index: rd_u8(d, 45),
        hfi_indexes,
        non_bootable: flags & SSNS_NON_BOOTABLE != 0,
        discovered: flags & SSNS_DISCOVERED != 0,
        unavailable: u8::try_from((flags >> SSNS_UNAVAIL_SHIFT) & 0x3).unwrap_or(0),
        extended,
    }))
}

fn parse_ssns_ext(
    t: &Table<'_>,
    obj: HeapObj,
    ssns_index: u16,
) -> Result<Option<NbftSsnsExt>, NbftError> {
    const WHAT: &str = "SSNS extended info";
    let Some(e) = t.heap(WHAT, "descriptor", obj)? else {
        return Ok(None);
    };
    if e.len() < SSNS_EXT_LEN {
        return Err(NbftError::HeapObjectTooShort {
            what: WHAT,
            field: "descriptor",
            len: e.len(),
            min: SSNS_EXT_LEN,
        });
    }
    check_id(WHAT, rd_u8(e, 0), ID_SSNS_EXT)?;
    if rd_u8(e, 1) != 1 || rd_u16(e, 2) != ssns_index {
        return Ok(None);
    }
    let flags = rd_u32(e, 4);
    if flags & SSNS_EXT_VALID == 0 {
        return Ok(None);
    }
    Ok(Some(NbftSsnsExt {
        controller_id: rd_u16(e, 8),
        asqsz: (flags & SSNS_EXT_ADMIN_ASQSZ != 0).then(|| rd_u16(e, 10)),
        dhcp_root_path: t
            .heap_str(WHAT, "DHCP root path", rd_obj(e, 12))
            .ok()
            .flatten(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Files and interfaces

/// Reads and parses one table file (at most [`MAX_TABLE_LEN`] bytes).
pub fn read_file(path: &Path) -> Result<Nbft, NbftReadError> {
    let io_err = |source| NbftReadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut data = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(MAX_TABLE_LEN as u64 + 1).read_to_end(&mut data))
        .map_err(io_err)?;
    if data.len() > MAX_TABLE_LEN {
        return Err(NbftReadError::TooLarge {
            path: path.to_owned(),
        });
    }
    Nbft::parse(&data).map_err(|source| NbftReadError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Every `NBFT*` file of `dir` (normally [`DEFAULT_ACPI_TABLES_DIR`]), sorted by name, with
/// its parse result. A missing or unreadable directory yields nothing.
pub fn read_dir(dir: &Path) -> Vec<(PathBuf, Result<Nbft, NbftReadError>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("NBFT"))
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let r = read_file(&p);
            (p, r)
        })
        .collect()
}

/// Parses `aa:bb:cc:dd:ee:ff` (either case).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.trim().split(':');
    for o in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The interface of `sys_class_net` (normally `/sys/class/net`) whose MAC is `mac`, among
/// Ethernet and loopback links (ARPHRD 1 and 772, as upstream's netlink lookup); the first
/// by name when several match.
pub fn iface_by_mac(sys_class_net: &Path, mac: &[u8; 6]) -> Option<String> {
    let mut names: Vec<String> = fs::read_dir(sys_class_net)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().find(|name| {
        let dir = sys_class_net.join(name);
        let ty = fs::read_to_string(dir.join("type")).unwrap_or_default();
        let addr = fs::read_to_string(dir.join("address")).unwrap_or_default();
        matches!(ty.trim(), "1" | "772") && parse_mac(&addr).as_ref() == Some(mac)
    })
}

// ---------------------------------------------------------------------------------------------
// Serializer (tests and tools): the inverse of `Nbft::parse` for the modelled fields.

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(off..off + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Heap being assembled: objects are appended NUL-terminated (the length excludes the NUL).
struct HeapWriter {
    base: usize,
    bytes: Vec<u8>,
}

impl HeapWriter {
    fn add(&mut self, data: &[u8], nul: bool) -> [u8; 6] {
        let offset = u32::try_from(self.base + self.bytes.len()).unwrap_or(u32::MAX);
        let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
        self.bytes
            .extend_from_slice(data.get(..usize::from(length)).unwrap_or_default());
        if nul {
            self.bytes.push(0);
        }
        obj_bytes(offset, length)
    }

    fn add_str(&mut self, s: &str) -> [u8; 6] {
        self.add(s.as_bytes(), true)
    }
}

fn obj_bytes(offset: u32, length: u16) -> [u8; 6] {
    let mut o = [0u8; 6];
    put(&mut o, 0, &offset.to_le_bytes());
    put(&mut o, 4, &length.to_le_bytes());
    o
}

impl Nbft {
    /// Serializes the model to a valid table: header, control, host, HFI, discovery and SSNS
    /// lists, then the heap; checksum fixed. Skipped descriptors are not written; with no
    /// host the control descriptor is marked not valid. `Nbft::parse(&n.to_bytes())` gives
    /// `n` back for any model whose references resolve.
    pub fn to_bytes(&self) -> Vec<u8> {
        let host_off = HEADER_LEN + CONTROL_LEN;
        let hfi_off = host_off + HOST_LEN;
        let disc_off = hfi_off + HFI_LEN * self.hfis.len();
        let ssns_off = disc_off + DISCOVERY_LEN * self.discovery.len();
        let heap_off = if self.host.is_some() {
            ssns_off + SSNS_LEN * self.subsystems.len()
        } else {
            host_off
        };
        let mut buf = vec![0u8; heap_off];
        let mut heap = HeapWriter {
            base: heap_off,
            bytes: Vec::new(),
        };

        put(&mut buf, 0, SIGNATURE);
        buf[8] = self.major_revision;
        let mut oem = [0u8; 6];
        put(
            &mut oem,
            0,
            self.oem_id
                .as_bytes()
                .get(..6.min(self.oem_id.len()))
                .unwrap_or_default(),
        );
        put(&mut buf, 10, &oem);
        let mut oem_table = [0u8; 8];
        put(
            &mut oem_table,
            0,
            self.oem_table_id
                .as_bytes()
                .get(..8.min(self.oem_table_id.len()))
                .unwrap_or_default(),
        );
        put(&mut buf, 16, &oem_table);
        buf[50] = self.minor_revision;

        let c = HEADER_LEN;
        buf[c] = ID_CONTROL;
        buf[c + 1] = 1;
        put(&mut buf, c + 4, &(CONTROL_LEN as u16).to_le_bytes());
        if let Some(host) = &self.host {
            buf[c + 6] = CONTROL_VALID;
            put(
                &mut buf,
                c + 8,
                &obj_bytes(host_off as u32, HOST_LEN as u16),
            );
            buf[c + 14] = 1;
            let count = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
            for (at, off, len, n) in [
                (16, hfi_off, HFI_LEN, self.hfis.len()),
                (24, ssns_off, SSNS_LEN, self.subsystems.len()),
                (40, disc_off, DISCOVERY_LEN, self.discovery.len()),
            ] {
                put(&mut buf, c + at, &(off as u32).to_le_bytes());
                put(&mut buf, c + at + 4, &(len as u16).to_le_bytes());
                buf[c + at + 6] = 1;
                buf[c + at + 7] = count(n);
            }

            let h = host_off;
            buf[h] = ID_HOST;
            buf[h + 1] = HOST_VALID
                | if host.id_configured {
                    HOST_ID_CONFIGURED
                } else {
                    0
                }
                | if host.nqn_configured {
                    HOST_NQN_CONFIGURED
                } else {
                    0
                }
                | ((host.primary_admin & 0x3) << HOST_PRIMARY_SHIFT);
            put(&mut buf, h + 2, &host.id);
            let o = heap.add_str(&host.nqn);
            put(&mut buf, h + 18, &o);

            for (i, hfi) in self.hfis.iter().enumerate() {
                let d = hfi_off + i * HFI_LEN;
                buf[d] = ID_HFI;
                buf[d + 1] = hfi.index;
                buf[d + 2] = HFI_VALID;
                buf[d + 3] = TRTYPE_TCP;
                let info_at = heap.bytes.len();
                let o = heap.add(&hfi_tcp_bytes(hfi), false);
                put(&mut buf, d + 16, &o);
                // Host name: appended after the info, which is patched to point at it.
                if let Some(name) = &hfi.tcp.host_name {
                    let name_obj = heap.add_str(name);
                    put(&mut heap.bytes, info_at + 104, &name_obj);
                }
            }
            for (i, disc) in self.discovery.iter().enumerate() {
                let d = disc_off + i * DISCOVERY_LEN;
                buf[d] = ID_DISCOVERY;
                buf[d + 1] = DISCOVERY_VALID;
                buf[d + 2] = disc.index;
                buf[d + 3] = disc.hfi_index;
                buf[d + 4] = disc.security_index;
                let o = heap.add_str(&disc.uri);
                put(&mut buf, d + 6, &o);
                let o = heap.add_str(&disc.nqn);
                put(&mut buf, d + 12, &o);
            }
            for (i, s) in self.subsystems.iter().enumerate() {
                let d = ssns_off + i * SSNS_LEN;
                buf[d] = ID_SSNS;
                put(&mut buf, d + 1, &s.index.to_le_bytes());
                let flags = SSNS_VALID
                    | if s.non_bootable { SSNS_NON_BOOTABLE } else { 0 }
                    | if s.discovered { SSNS_DISCOVERED } else { 0 }
                    | if s.extended.is_some() {
                        SSNS_EXTENDED_INFO_IN_USE
                    } else {
                        0
                    }
                    | (u16::from(s.unavailable & 0x3) << SSNS_UNAVAIL_SHIFT);
                put(&mut buf, d + 3, &flags.to_le_bytes());
                buf[d + 5] = TRTYPE_TCP;
                let trflags = SSNS_TRFLAG_VALID
                    | if s.hdr_digest { SSNS_HDR_DIGEST } else { 0 }
                    | if s.data_digest { SSNS_DATA_DIGEST } else { 0 };
                put(&mut buf, d + 6, &trflags.to_le_bytes());
                buf[d + 8] = s.primary_discovery_index;
                let o = match s.traddr.parse::<IpAddr>() {
                    Ok(ip) => heap.add(&ip_to_bytes(&ip), false),
                    Err(_) => heap.add_str(&s.traddr),
                };
                put(&mut buf, d + 10, &o);
                let o = heap.add_str(&s.trsvcid);
                put(&mut buf, d + 16, &o);
                put(&mut buf, d + 22, &s.subsys_port_id.to_le_bytes());
                put(&mut buf, d + 24, &s.nsid.to_le_bytes());
                buf[d + 28] = s.nid_type;
                put(&mut buf, d + 29, &s.nid);
                buf[d + 45] = s.security_index;
                buf[d + 46] = s.hfi_indexes.first().copied().unwrap_or(0);
                if let Some(rest) = s.hfi_indexes.get(1..).filter(|r| !r.is_empty()) {
                    let o = heap.add(rest, false);
                    put(&mut buf, d + 48, &o);
                }
                let o = heap.add_str(&s.subsys_nqn);
                put(&mut buf, d + 54, &o);
                if let Some(ext) = &s.extended {
                    let root = ext.dhcp_root_path.as_deref().map(|p| heap.add_str(p));
                    let mut e = [0u8; SSNS_EXT_LEN];
                    e[0] = ID_SSNS_EXT;
                    e[1] = 1;
                    put(&mut e, 2, &s.index.to_le_bytes());
                    let eflags = SSNS_EXT_VALID
                        | if ext.asqsz.is_some() {
                            SSNS_EXT_ADMIN_ASQSZ
                        } else {
                            0
                        };
                    put(&mut e, 4, &eflags.to_le_bytes());
                    put(&mut e, 8, &ext.controller_id.to_le_bytes());
                    put(&mut e, 10, &ext.asqsz.unwrap_or(0).to_le_bytes());
                    if let Some(r) = root {
                        put(&mut e, 12, &r);
                    }
                    let o = heap.add(&e, false);
                    put(&mut buf, d + 60, &o);
                }
            }
        }

        let heap_len = heap.bytes.len();
        buf.extend_from_slice(&heap.bytes);
        let total = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        put(&mut buf, 4, &total.to_le_bytes());
        put(&mut buf, 36, &(heap_off as u32).to_le_bytes());
        put(&mut buf, 40, &(heap_len as u32).to_le_bytes());
        fix_checksum(&mut buf);
        buf
    }
}

/// The 128-byte NVMe/TCP transport info of `hfi` (host name reference left empty).
fn hfi_tcp_bytes(hfi: &NbftHfi) -> [u8; HFI_TCP_LEN] {
    let t = &hfi.tcp;
    let mut b = [0u8; HFI_TCP_LEN];
    b[0] = ID_HFI_TRINFO;
    b[1] = 1;
    b[2] = TRTYPE_TCP;
    b[3] = 1;
    put(&mut b, 4, &u16::from(hfi.index).to_le_bytes());
    b[6] = HFI_TCP_VALID
        | if t.default_route {
            HFI_TCP_GLOBAL_ROUTE
        } else {
            0
        }
        | if t.dhcp_override {
            HFI_TCP_DHCP_OVERRIDE
        } else {
            0
        };
    put(&mut b, 7, &t.pci_sbdf.to_le_bytes());
    put(&mut b, 11, &t.mac);
    put(&mut b, 17, &t.vlan.to_le_bytes());
    b[19] = t.ip_origin;
    put(&mut b, 20, &ip_to_bytes(&t.ipaddr));
    b[36] = t.subnet_mask_prefix;
    let opt = |ip: &Option<IpAddr>| ip.as_ref().map_or([0u8; 16], ip_to_bytes);
    put(&mut b, 37, &opt(&t.gateway));
    put(&mut b, 54, &t.route_metric.to_le_bytes());
    put(&mut b, 56, &opt(&t.primary_dns));
    put(&mut b, 72, &opt(&t.secondary_dns));
    put(&mut b, 88, &opt(&t.dhcp_server));
    b
}

/// Sets byte 9 so that the table sums to zero.
pub fn fix_checksum(table: &mut [u8]) {
    if let Some(c) = table.get_mut(9) {
        *c = 0;
    }
    let sum = table.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    if let Some(c) = table.get_mut(9) {
        *c = 0u8.wrapping_sub(sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC1: [u8; 6] = [0xb0, 0x26, 0x28, 0xe8, 0x7c, 0x0e];
    const MAC2: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A table with two HFIs (IPv4 + IPv6), two discovery and two subsystem descriptors.
    pub(super) fn sample() -> Nbft {
        Nbft {
            major_revision: 1,
            minor_revision: 0,
            oem_id: "STAS".into(),
            oem_table_id: "NBFTTEST".into(),
            host: Some(NbftHost {
                id: [
                    0x44, 0x45, 0x4c, 0x4c, 0x34, 0x00, 0x10, 0x36, 0x80, 0x38, 0xb2, 0xc0, 0x4f,
                    0x31, 0x32, 0x33,
                ],
                nqn: "nqn.1988-11.com.example:host.1234567".into(),
                id_configured: true,
                nqn_configured: true,
                primary_admin: 2,
            }),
            hfis: vec![
                NbftHfi {
                    index: 1,
                    tcp: NbftHfiTcp {
                        pci_sbdf: 0x4000,
                        mac: MAC1,
                        vlan: 0,
                        ip_origin: 82,
                        ipaddr: ip("192.168.10.232"),
                        subnet_mask_prefix: 24,
                        gateway: Some(ip("192.168.10.254")),
                        route_metric: 500,
                        primary_dns: Some(ip("192.168.0.5")),
                        secondary_dns: None,
                        dhcp_server: Some(ip("192.168.10.254")),
                        host_name: Some("boot-host".into()),
                        dhcp_override: true,
                        default_route: true,
                    },
                },
                NbftHfi {
                    index: 2,
                    tcp: NbftHfiTcp {
                        pci_sbdf: 0x0001_8109,
                        mac: MAC2,
                        vlan: 42,
                        ip_origin: 1,
                        ipaddr: ip("2001:db8::232"),
                        subnet_mask_prefix: 64,
                        gateway: None,
                        route_metric: 0,
                        primary_dns: None,
                        secondary_dns: Some(ip("2001:db8::53")),
                        dhcp_server: None,
                        host_name: None,
                        dhcp_override: false,
                        default_route: false,
                    },
                },
            ],
            security_count: 0,
            discovery: vec![
                NbftDiscovery {
                    index: 1,
                    hfi_index: 1,
                    security_index: 0,
                    uri: "nvme+tcp://192.168.10.50:8009/".into(),
                    nqn: WELL_KNOWN_DISC_NQN.into(),
                    transport: "tcp".into(),
                    traddr: "192.168.10.50".into(),
                    trsvcid: Some("8009".into()),
                },
                NbftDiscovery {
                    index: 2,
                    hfi_index: 2,
                    security_index: 0,
                    uri: "nvme+tcp://[2001:DB8::50]/".into(),
                    nqn: "nqn.2014-08.org.nvmexpress.discovery:uuid:1".into(),
                    transport: "tcp".into(),
                    traddr: "2001:db8::50".into(),
                    trsvcid: None,
                },
            ],
            subsystems: vec![
                NbftSubsystem {
                    index: 1,
                    traddr: "192.168.10.48".into(),
                    trsvcid: "4420".into(),
                    subsys_nqn: "nqn.1988-11.com.example:array:00:2a64abf1".into(),
                    subsys_port_id: 0,
                    nsid: 148,
                    nid_type: 2,
                    nid: [0xc8; 16],
                    hdr_digest: false,
                    data_digest: false,
                    primary_discovery_index: 1,
                    security_index: 0,
                    hfi_indexes: vec![1],
                    non_bootable: false,
                    discovered: true,
                    unavailable: 1,
                    extended: Some(NbftSsnsExt {
                        controller_id: 5,
                        asqsz: None,
                        dhcp_root_path: None,
                    }),
                },
                NbftSubsystem {
                    index: 2,
                    traddr: "2001:db8::48".into(),
                    trsvcid: "4420".into(),
                    subsys_nqn: "nqn.1988-11.com.example:array:00:2a64abf1".into(),
                    subsys_port_id: 3,
                    nsid: 0,
                    nid_type: 3,
                    nid: [0x11; 16],
                    hdr_digest: true,
                    data_digest: true,
                    primary_discovery_index: 0,
                    security_index: 0,
                    hfi_indexes: vec![2, 1],
                    non_bootable: true,
                    discovered: false,
                    unavailable: 0,
                    extended: Some(NbftSsnsExt {
                        controller_id: 4166,
                        asqsz: Some(32),
                        dhcp_root_path: Some("nvme+tcp://[2001:db8::48]:4420/x".into()),
                    }),
                },
            ],
            skipped: vec![],
        }
    }

    // Offsets in sample().to_bytes().
    const HOST: usize = 128;
    const HFI0: usize = 160;
    const DISC0: usize = HFI0 + 2 * HFI_LEN;
    const SSNS0: usize = DISC0 + 2 * DISCOVERY_LEN;
    const HEAP: usize = SSNS0 + 2 * SSNS_LEN;

    fn patched(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut b = sample().to_bytes();
        edit(&mut b);
        fix_checksum(&mut b);
        b
    }

    fn set_u32(b: &mut [u8], off: usize, v: u32) {
        put(b, off, &v.to_le_bytes());
    }

    fn set_u16(b: &mut [u8], off: usize, v: u16) {
        put(b, off, &v.to_le_bytes());
    }

    #[test]
    fn round_trip() {
        let model = sample();
        let bytes = model.to_bytes();
        assert_eq!(rd_u32(&bytes, 36) as usize, HEAP);
        assert_eq!(rd_u32(&bytes, 4) as usize, bytes.len());
        assert_eq!(bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b)), 0);
        assert_eq!(Nbft::parse(&bytes), Ok(model.clone()));
        // Trailing bytes past the header length are ignored.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0xaa; 7]);
        assert_eq!(Nbft::parse(&longer), Ok(model));
    }

    #[test]
    fn accessors() {
        let n = sample();
        let host = n.host.as_ref().unwrap();
        assert_eq!(host.id_string(), "44454c4c-3400-1036-8038-b2c04f313233");
        let t = &n.hfi(1).unwrap().tcp;
        assert_eq!(t.mac_string(), "b0:26:28:e8:7c:0e");
        assert_eq!(t.pci_address(), "0:40:0.0");
        assert_eq!(n.hfi(2).unwrap().tcp.pci_address(), "1:81:1.1");
        assert!(n.hfi(3).is_none());
    }

    #[test]
    fn controllers_for_stafd_and_stacd() {
        let n = sample();
        let lookup = |mac: &[u8; 6]| (*mac == MAC1).then(|| "eth0".to_owned());
        let dcs = n.discovery_controllers(&lookup);
        assert_eq!(
            dcs,
            vec![
                NbftController {
                    transport: "tcp".into(),
                    traddr: "192.168.10.50".into(),
                    trsvcid: Some("8009".into()),
                    subsysnqn: WELL_KNOWN_DISC_NQN.into(),
                    host_nqn: Some("nqn.1988-11.com.example:host.1234567".into()),
                    host_id: Some("44454c4c-3400-1036-8038-b2c04f313233".into()),
                    hfi_mac: Some(MAC1),
                    hfi_ipaddr: Some(ip("192.168.10.232")),
                    host_iface: Some("eth0".into()),
                    hdr_digest: false,
                    data_digest: false,
                },
                NbftController {
                    transport: "tcp".into(),
                    traddr: "2001:db8::50".into(),
                    trsvcid: None,
                    subsysnqn: "nqn.2014-08.org.nvmexpress.discovery:uuid:1".into(),
                    host_nqn: Some("nqn.1988-11.com.example:host.1234567".into()),
                    host_id: Some("44454c4c-3400-1036-8038-b2c04f313233".into()),
                    hfi_mac: Some(MAC2),
                    hfi_ipaddr: Some(ip("2001:db8::232")),
                    host_iface: None,
                    hdr_digest: false,
                    data_digest: false,
                },
            ]
        );
        let iocs = n.subsystem_controllers(&lookup);
        assert_eq!(iocs.len(), 2);
        assert_eq!(iocs[0].traddr, "192.168.10.48");
        assert_eq!(iocs[0].trsvcid.as_deref(), Some("4420"));
        assert_eq!(iocs[0].host_iface.as_deref(), Some("eth0"));
        assert!(!iocs[0].hdr_digest && !iocs[0].data_digest);
        // Primary HFI 2 (no interface with its MAC here).
        assert_eq!(iocs[1].hfi_mac, Some(MAC2));
        assert_eq!(iocs[1].host_iface, None);
        assert!(iocs[1].hdr_digest && iocs[1].data_digest);

        // The host NQN/ID are only passed on when administratively configured.
        let mut n = sample();
        if let Some(h) = n.host.as_mut() {
            h.nqn_configured = false;
            h.id_configured = false;
        }
        let n = Nbft::parse(&n.to_bytes()).unwrap();
        for c in n
            .discovery_controllers(&|_| None)
            .into_iter()
            .chain(n.subsystem_controllers(&|_| None))
        {
            assert_eq!((c.host_nqn, c.host_id), (None, None));
        }
    }

    #[test]
    fn empty_table_when_control_is_not_valid() {
        let n = Nbft {
            host: None,
            hfis: vec![],
            discovery: vec![],
            subsystems: vec![],
            ..sample()
        };
        let bytes = n.to_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + CONTROL_LEN);
        let parsed = Nbft::parse(&bytes).unwrap();
        assert_eq!(parsed, n);
        assert!(parsed.discovery_controllers(&|_| None).is_empty());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for len in 0..bytes.len() {
            let e = Nbft::parse(&bytes[..len]).unwrap_err();
            assert!(
                matches!(
                    e,
                    NbftError::TooShort { .. } | NbftError::LengthExceedsData { .. }
                ),
                "{len}: {e}"
            );
        }
    }

    #[test]
    fn header_errors() {
        let mut b = sample().to_bytes();
        b[100] ^= 0x01;
        assert!(matches!(Nbft::parse(&b), Err(NbftError::BadChecksum(_))));

        let b = patched(|b| b[0] = b'X');
        assert_eq!(Nbft::parse(&b), Err(NbftError::BadSignature(*b"XBFT")));

        let b = patched(|b| b[8] = 2);
        assert_eq!(Nbft::parse(&b), Err(NbftError::UnsupportedRevision(2)));
        // Any minor revision is accepted.
        let b = patched(|b| b[50] = 7);
        assert_eq!(Nbft::parse(&b).unwrap().minor_revision, 7);

        let b = patched(|b| {
            let l = b.len() as u32;
            set_u32(b, 4, l + 1);
        });
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::LengthExceedsData { .. })
        ));
        let b = patched(|b| set_u32(b, 4, 100));
        assert!(matches!(Nbft::parse(&b), Err(NbftError::TooShort { .. })));
        let b = patched(|b| set_u32(b, 4, u32::MAX));
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::LengthExceedsData { .. })
        ));
    }

    #[test]
    fn heap_and_list_bounds() {
        // Heap past the end, including values that overflow 32 bits when added.
        for (off, len) in [(HEAP as u32, 1 << 20), (u32::MAX, u32::MAX), (0, u32::MAX)] {
            let b = patched(|b| {
                set_u32(b, 36, off);
                set_u32(b, 40, len);
            });
            assert!(
                matches!(
                    Nbft::parse(&b),
                    Err(NbftError::OutOfBounds { what: "heap", .. })
                ),
                "{off} {len}"
            );
        }
        // Host descriptor past the end.
        let b = patched(|b| set_u32(b, HEADER_LEN + 8, u32::MAX - 3));
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::OutOfBounds {
                what: "host descriptor",
                ..
            })
        ));
        // HFI list offset past the end, and a count running past the end.
        let b = patched(|b| set_u32(b, HEADER_LEN + 16, u32::MAX));
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::OutOfBounds { .. })
        ));
        let b = patched(|b| b[HEADER_LEN + 23] = 255);
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::OutOfBounds { .. })
        ));
        // Stride shorter than the structure; huge stride × count past the end.
        let b = patched(|b| set_u16(b, HEADER_LEN + 28, 64));
        assert_eq!(
            Nbft::parse(&b),
            Err(NbftError::DescriptorTooShort {
                what: "SSNS descriptor list",
                stride: 64,
                min: SSNS_LEN
            })
        );
        let b = patched(|b| set_u16(b, HEADER_LEN + 44, u16::MAX));
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::OutOfBounds { .. })
        ));
        // A zero stride reads as the structure size (libnvme).
        let b = patched(|b| set_u16(b, HEADER_LEN + 20, 0));
        assert_eq!(Nbft::parse(&b).unwrap(), sample());
        // Security descriptors are bounds-checked though not decoded.
        let b = patched(|b| {
            set_u32(b, HEADER_LEN + 32, 10_000);
            b[HEADER_LEN + 39] = 1;
        });
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn host_errors_reject_the_table() {
        let b = patched(|b| b[HOST + 1] &= !HOST_VALID);
        assert_eq!(Nbft::parse(&b), Err(NbftError::HostNotValid));
        let b = patched(|b| b[HOST] = 9);
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::BadStructureId { found: 9, .. })
        ));
        let b = patched(|b| set_u32(b, HOST + 18, 3));
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::HeapObjectOutOfBounds {
                field: "host NQN",
                ..
            })
        ));
        let b = patched(|b| set_u16(b, HOST + 22, 0));
        assert_eq!(
            Nbft::parse(&b),
            Err(NbftError::Missing {
                what: "host descriptor",
                field: "host NQN"
            })
        );
        // Object running one byte past the heap end.
        let b = patched(|b| {
            let end = b.len() as u32;
            set_u32(b, HOST + 18, end - 4);
            set_u16(b, HOST + 22, 5);
        });
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::HeapObjectOutOfBounds { .. })
        ));
        // Non-UTF-8 NQN.
        let b = patched(|b| {
            let at = rd_u32(b, HOST + 18) as usize;
            b[at] = 0xff;
        });
        assert!(matches!(Nbft::parse(&b), Err(NbftError::Malformed { .. })));
        let b = patched(|b| b[HEADER_LEN] = 5);
        assert!(matches!(
            Nbft::parse(&b),
            Err(NbftError::BadStructureId {
                what: "control descriptor",
                ..
            })
        ));
    }

    fn skipped(b: &[u8]) -> (Nbft, Vec<(DescriptorKind, usize, NbftError)>) {
        let n = Nbft::parse(b).unwrap();
        let s = n
            .skipped
            .iter()
            .map(|s| (s.kind, s.position, s.error.clone()))
            .collect();
        (n, s)
    }

    #[test]
    fn bad_descriptors_are_skipped_not_fatal() {
        // Discovery URI outside the heap.
        let (n, s) = skipped(&patched(|b| set_u32(b, DISC0 + 6, 0)));
        assert_eq!(n.discovery.len(), 1);
        assert_eq!(n.discovery[0].index, 2);
        assert!(matches!(
            s.as_slice(),
            [(
                DescriptorKind::Discovery,
                0,
                NbftError::HeapObjectOutOfBounds { .. }
            )]
        ));
        assert_eq!(n.subsystems.len(), 2);

        // Unusable URI scheme.
        let (n, s) = skipped(&patched(|b| {
            let at = rd_u32(b, DISC0 + 6) as usize;
            put(b, at + 4, b"-");
        }));
        assert_eq!(n.discovery.len(), 1);
        assert!(matches!(s.as_slice(), [(_, 0, NbftError::BadUri { .. })]));

        // HFI with another transport: skipped, and the SSNS whose primary HFI it was too.
        let (n, s) = skipped(&patched(|b| b[HFI0 + HFI_LEN + 3] = 2));
        assert_eq!(n.hfis.len(), 1);
        assert_eq!(n.subsystems.len(), 1);
        assert_eq!(
            s,
            vec![
                (
                    DescriptorKind::Hfi,
                    1,
                    NbftError::UnsupportedTransport {
                        what: "HFI descriptor",
                        trtype: 2
                    }
                ),
                (
                    DescriptorKind::Subsystem,
                    1,
                    NbftError::HfiNotFound {
                        what: "SSNS descriptor",
                        index: 2
                    }
                ),
            ]
        );
        // The discovery entry through the missing HFI stays, without interface data.
        let dcs = n.discovery_controllers(&|_| Some("x".into()));
        assert_eq!(dcs[1].hfi_mac, None);
        assert_eq!(dcs[1].host_iface, None);

        // Transport info heap object too short / not valid / wrong version.
        let (_, s) = skipped(&patched(|b| set_u16(b, HFI0 + 20, 100)));
        assert!(matches!(
            s[0],
            (
                DescriptorKind::Hfi,
                0,
                NbftError::HeapObjectTooShort { len: 100, .. }
            )
        ));
        let info = |b: &[u8]| rd_u32(b, HFI0 + 16) as usize;
        let (_, s) = skipped(&patched(|b| {
            let i = info(b);
            b[i + 6] = 0;
        }));
        assert!(matches!(s[0], (_, 0, NbftError::NotValid { .. })));
        let (_, s) = skipped(&patched(|b| {
            let i = info(b);
            b[i + 1] = 2;
        }));
        assert!(matches!(
            s[0],
            (_, 0, NbftError::BadVersion { found: 2, .. })
        ));

        // SSNS without NQN, with a bad address object, with an unknown transport.
        let (n, s) = skipped(&patched(|b| set_u16(b, SSNS0 + 58, 0)));
        assert_eq!(n.subsystems.len(), 1);
        assert!(matches!(
            s[0],
            (
                DescriptorKind::Subsystem,
                0,
                NbftError::Missing {
                    field: "subsystem NQN",
                    ..
                }
            )
        ));
        let (_, s) = skipped(&patched(|b| set_u16(b, SSNS0 + 14, 5)));
        assert!(matches!(s[0], (_, 0, NbftError::Malformed { .. })));
        let (_, s) = skipped(&patched(|b| b[SSNS0 + 5] = 1));
        assert!(matches!(
            s[0],
            (_, 0, NbftError::UnsupportedTransport { trtype: 1, .. })
        ));
    }

    #[test]
    fn reserved_descriptors_and_lenient_fields() {
        // Valid flag clear: silently ignored.
        let (n, s) = skipped(&patched(|b| {
            b[DISC0 + 1] = 0;
            set_u16(b, SSNS0 + SSNS_LEN + 3, 0);
            b[HFI0 + 2] = 0;
        }));
        assert!(s.iter().all(|(k, _, _)| *k == DescriptorKind::Subsystem));
        assert_eq!(n.discovery.len(), 1);
        assert_eq!(n.hfis.len(), 1);
        // SSNS 0's primary HFI (1) is gone now: skipped; SSNS 1 was reserved.
        assert_eq!(n.subsystems.len(), 0);

        // Discovery without NQN → well-known NQN.
        let n = Nbft::parse(&patched(|b| set_u16(b, DISC0 + DISCOVERY_LEN + 16, 0))).unwrap();
        assert_eq!(n.discovery[1].nqn, WELL_KNOWN_DISC_NQN);

        // Bad host name and bad extended info are ignored, the descriptor kept.
        let n = Nbft::parse(&patched(|b| {
            let i = rd_u32(b, HFI0 + 16) as usize;
            set_u32(b, i + 104, 1);
            set_u32(b, SSNS0 + 60, 2);
        }))
        .unwrap();
        assert_eq!(n.hfis[0].tcp.host_name, None);
        assert_eq!(n.subsystems[0].extended, None);

        // Subsystem address written as text.
        let mut model = sample();
        model.subsystems.truncate(1);
        let mut b = model.to_bytes();
        let ssns0 = HFI0 + 2 * HFI_LEN + 2 * DISCOVERY_LEN;
        let nqn = rd_obj(&b, ssns0 + 54);
        // Point the address at a text literal placed where the NQN is.
        let text = b"10.0.0.1\0";
        put(&mut b, nqn.offset as usize, text);
        set_u32(&mut b, ssns0 + 10, nqn.offset);
        set_u16(&mut b, ssns0 + 14, 8);
        fix_checksum(&mut b);
        let n = Nbft::parse(&b).unwrap();
        assert_eq!(n.subsystems.len(), 1, "{:?}", n.skipped);
        assert_eq!(n.subsystems[0].traddr, "10.0.0.1");
    }

    #[test]
    fn discovery_uris() {
        let ok = [
            (
                "nvme+tcp://100.71.103.50:8009/",
                ("tcp", "100.71.103.50", Some("8009")),
            ),
            (
                "NVME+TCP://Host.Example:08009",
                ("tcp", "host.example", Some("8009")),
            ),
            (
                "nvme+tcp://[FE80::1]:4420/path?q#f",
                ("tcp", "fe80::1", Some("4420")),
            ),
            ("nvme+tcp://[fe80::1]", ("tcp", "fe80::1", None)),
            ("nvme+tcp://user:pw@h:1/", ("tcp", "h", Some("1"))),
            ("nvme+tcp://h:/", ("tcp", "h", None)),
            ("nvme+rdma://h:0", ("rdma", "h", Some("0"))),
            ("nvme+tcp://h:65535", ("tcp", "h", Some("65535"))),
        ];
        for (uri, (t, h, p)) in ok {
            assert_eq!(
                parse_discovery_uri(uri).unwrap(),
                (t.to_owned(), h.to_owned(), p.map(str::to_owned)),
                "{uri}"
            );
        }
        for uri in [
            "nvme://h:1",
            "tcp://h",
            "nvme+://h",
            "nvme+tcp://:8009/",
            "nvme+tcp://h:65536",
            "nvme+tcp://h:99999999999999999999",
            "nvme+tcp://h:abc",
            "nvme+tcp://h:-1",
            "nvme+tcp://[::1",
            "nvme+tcp://[::1]x",
            "nvme+tcp://fe80::1/",
            "no-scheme",
            "",
        ] {
            assert!(
                matches!(parse_discovery_uri(uri), Err(NbftError::BadUri { .. })),
                "{uri}"
            );
        }
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("B0:26:28:e8:7c:0e\n"), Some(MAC1));
        assert_eq!(format_mac(&MAC1), "b0:26:28:e8:7c:0e");
        for bad in [
            "",
            "b0:26:28:e8:7c",
            "b0:26:28:e8:7c:0e:00",
            "b0:26:28:e8:7c:0",
            "zz:26:28:e8:7c:0e",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let base = sample().to_bytes();
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        runner
            .run(
                &(
                    proptest::collection::vec((0..base.len(), any::<u8>()), 1..8),
                    any::<bool>(),
                ),
                |(edits, fix)| {
                    let mut b = base.clone();
                    for (at, v) in edits {
                        b[at] = v;
                    }
                    if fix {
                        fix_checksum(&mut b);
                    }
                    if let Ok(n) = Nbft::parse(&b) {
                        let _ = n.discovery_controllers(&|_| None);
                        let _ = n.subsystem_controllers(&|_| None);
                        let _ = n.to_bytes();
                    }
                    Ok(())
                },
            )
            .unwrap();
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..600), |mut b| {
                if b.len() >= 10 {
                    put(&mut b, 0, SIGNATURE);
                    let l = b.len() as u32;
                    put(&mut b, 4, &l.to_le_bytes());
                    b[8] = 1;
                    fix_checksum(&mut b);
                }
                let _ = Nbft::parse(&b);
                Ok(())
            })
            .unwrap();
    }
}
