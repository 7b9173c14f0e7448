//! Discovery Log Page (LID 0x70): wire layout, validated owned form, decoder and encoder
//! (protocol reference §3.4, compat §5.5).
//!
//! Decoding is strict: string fields must be printable ASCII up to the first NUL (trailing
//! spaces are stripped); anything else is a [`DecodeError`], never a lossy conversion, because
//! these strings end up in connect option strings and D-Bus replies.

use zerocopy::little_endian::{U16, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Log Identifier of the Discovery Log Page.
pub const LID_DISCOVERY: u8 = 0x70;
/// Size of the log page header; entries start at this byte offset.
pub const HEADER_SIZE: usize = 1024;
/// Bytes of the header that carry information (GENCTR, NUMREC, RECFMT, rounded to dwords).
pub const HEADER_READ_LEN: usize = 20;
/// Size of one discovery log entry.
pub const ENTRY_SIZE: usize = 1024;

/// Size of the TRSVCID field of a discovery log entry.
pub const TRSVCID_SIZE: usize = 32;
/// Size of the SUBNQN field.
pub const SUBNQN_SIZE: usize = 256;
/// Size of the TRADDR field.
pub const TRADDR_SIZE: usize = 256;
/// Size of the TSAS field.
pub const TSAS_SIZE: usize = 256;

/// Log Specific Parameter bits for LID 0x70 (NVMe 2.0); only set when advertised in LID 0.
pub mod lsp {
    /// Extended discovery log page entries.
    pub const EXTDLPE: u8 = 0x01;
    /// Port-local entries only.
    pub const PLEO: u8 = 0x02;
    /// All NVM subsystem entries.
    pub const ALLSUBE: u8 = 0x04;
}

/// TRTYPE values.
pub mod trtype {
    /// RDMA transport (RoCE, iWARP, InfiniBand).
    pub const RDMA: u8 = 1;
    /// Fibre Channel transport.
    pub const FC: u8 = 2;
    /// NVMe/TCP transport.
    pub const TCP: u8 = 3;
    /// Intra-host (loop) transport.
    pub const LOOP: u8 = 0xfe;
}

/// ADRFAM values.
pub mod adrfam {
    /// PCI Express address.
    pub const PCI: u8 = 0;
    /// IPv4 address.
    pub const IPV4: u8 = 1;
    /// IPv6 address.
    pub const IPV6: u8 = 2;
    /// InfiniBand address.
    pub const IB: u8 = 3;
    /// Fibre Channel address.
    pub const FC: u8 = 4;
    /// Intra-host (loop) address.
    pub const LOOP: u8 = 0xfe;
}

/// SUBTYPE values.
pub mod subtype {
    /// Referral to another discovery service.
    pub const REFERRAL: u8 = 1;
    /// NVM subsystem.
    pub const NVME: u8 = 2;
    /// The discovery subsystem being read (TP8013).
    pub const CURRENT_DISCOVERY: u8 = 3;
}

/// TREQ bits.
pub mod treq {
    /// Bits 1:0: secure channel requirement.
    pub const SECURE_CHANNEL_MASK: u8 = 0x03;
    /// Secure channel requirement not specified.
    pub const NOT_SPECIFIED: u8 = 0;
    /// Secure channel (TLS) required.
    pub const REQUIRED: u8 = 1;
    /// Secure channel not required.
    pub const NOT_REQUIRED: u8 = 2;
    /// SQ flow control disable supported.
    pub const DISABLE_SQFLOW: u8 = 0x04;
}

/// EFLAGS bits.
pub mod eflags {
    /// Duplicate returned information.
    pub const DUPRETINFO: u16 = 0x0001;
    /// Explicit persistent connection support for discovery.
    pub const EPCSD: u16 = 0x0002;
    /// No CDC connectivity.
    pub const NCC: u16 = 0x0004;
}

/// TCP TSAS SECTYPE values.
pub mod sectype {
    /// No security.
    pub const NONE: u8 = 0;
    /// TLS 1.2 (obsolete).
    pub const TLS12: u8 = 1;
    /// TLS 1.3.
    pub const TLS13: u8 = 2;
}

/// Transport type name as libnvme/nvme-cli print it.
pub fn trtype_name(value: u8) -> &'static str {
    match value {
        trtype::RDMA => "rdma",
        trtype::FC => "fc",
        trtype::TCP => "tcp",
        trtype::LOOP => "loop",
        _ => "unrecognized",
    }
}

/// Address family name as libnvme/nvme-cli print it.
pub fn adrfam_name(value: u8) -> &'static str {
    match value {
        adrfam::PCI => "pci",
        adrfam::IPV4 => "ipv4",
        adrfam::IPV6 => "ipv6",
        adrfam::IB => "infiniband",
        adrfam::FC => "fibre-channel",
        adrfam::LOOP => "loop",
        _ => "unrecognized",
    }
}

/// Subsystem type name as libnvme/nvme-cli print it.
pub fn subtype_name(value: u8) -> &'static str {
    match value {
        subtype::REFERRAL => "discovery subsystem referral",
        subtype::NVME => "nvme subsystem",
        subtype::CURRENT_DISCOVERY => "current discovery subsystem",
        _ => "unrecognized",
    }
}

/// Wire layout of the 1024-byte discovery log page header.
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawDiscoveryLogHeader {
    /// GENCTR: generation counter, changes whenever the log changes (bytes 0-7).
    pub genctr: U64,
    /// NUMREC: number of records (bytes 8-15).
    pub numrec: U64,
    /// RECFMT: record format, 0 (bytes 16-17).
    pub recfmt: U16,
    /// Bytes 18-1023, reserved.
    pub rsvd18: [u8; 1006],
}

const _: () = assert!(size_of::<RawDiscoveryLogHeader>() == HEADER_SIZE);

/// Wire layout of one 1024-byte discovery log entry (also the first 1024 bytes of an
/// extended DIE in TP8010).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawDiscoveryLogEntry {
    /// TRTYPE: transport type, see [`trtype`] (byte 0).
    pub trtype: u8,
    /// ADRFAM: address family, see [`adrfam`] (byte 1).
    pub adrfam: u8,
    /// SUBTYPE: subsystem type, see [`subtype`] (byte 2).
    pub subtype: u8,
    /// TREQ: transport requirements, see [`treq`] (byte 3).
    pub treq: u8,
    /// PORTID: NVM subsystem port ID (bytes 4-5).
    pub portid: U16,
    /// CNTLID: controller ID; 0xFFFF dynamic model, 0xFFFE static model any controller (bytes 6-7).
    pub cntlid: U16,
    /// ASQSZ: maximum admin submission queue size, in entries (bytes 8-9).
    pub asqsz: U16,
    /// EFLAGS: entry flags, see [`eflags`] (bytes 10-11).
    pub eflags: U16,
    /// Bytes 12-31, reserved.
    pub rsvd12: [u8; 20],
    /// TRSVCID: transport service ID (TCP port), ASCII, space/NUL padded (bytes 32-63).
    pub trsvcid: [u8; TRSVCID_SIZE],
    /// Bytes 64-255, reserved.
    pub rsvd64: [u8; 192],
    /// SUBNQN: NVM subsystem NQN, NUL terminated (bytes 256-511).
    pub subnqn: [u8; SUBNQN_SIZE],
    /// TRADDR: transport address (IP address text), ASCII, space/NUL padded (bytes 512-767).
    pub traddr: [u8; TRADDR_SIZE],
    /// TSAS: transport specific address subtype; for TCP byte 0 is SECTYPE, see [`sectype`] (bytes 768-1023).
    pub tsas: [u8; TSAS_SIZE],
}

const _: () = assert!(size_of::<RawDiscoveryLogEntry>() == ENTRY_SIZE);

/// Why a discovery log page could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer than [`HEADER_READ_LEN`] bytes of header.
    /// Fewer than [`HEADER_READ_LEN`] bytes of header.
    #[error("discovery log header needs {HEADER_READ_LEN} bytes, got {len}")]
    ShortHeader {
        /// Length of the buffer that was given, in bytes.
        len: usize,
    },
    /// NUMREC entries do not fit in the data that was read.
    #[error(
        "discovery log numrec {numrec} needs {needed} bytes of entries, only {available} available"
    )]
    Truncated {
        /// NUMREC from the header.
        numrec: u64,
        /// Bytes of entries NUMREC requires (NUMREC × [`ENTRY_SIZE`]).
        needed: u64,
        /// Bytes of entries actually present after the header.
        available: usize,
    },
    /// NUMREC too large to address in memory.
    /// NUMREC too large to address in memory.
    #[error("discovery log numrec {numrec} is too large")]
    TooManyRecords {
        /// NUMREC from the header.
        numrec: u64,
    },
    /// A string field holds a byte that is not printable ASCII.
    #[error(
        "discovery log entry {entry}: {field} has non-printable byte {byte:#04x} at offset {offset}"
    )]
    NotPrintable {
        /// Index of the entry (0-based).
        entry: usize,
        /// Name of the field (`trsvcid`, `subnqn`, `traddr`).
        field: &'static str,
        /// Byte offset of the bad byte within that field.
        offset: usize,
        /// The offending byte value.
        byte: u8,
    },
}

/// Why an owned entry or log could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The string does not fit its fixed-size field.
    #[error("{field} is {len} bytes, the field holds at most {max}")]
    TooLong {
        /// Name of the field.
        field: &'static str,
        /// Length of the string, in bytes.
        len: usize,
        /// Size of the field, in bytes.
        max: usize,
    },
    /// The string holds a byte that is not printable ASCII.
    /// The string holds a byte that is not printable ASCII.
    #[error("{field} contains a byte that is not printable ASCII")]
    NotPrintable {
        /// Name of the field.
        field: &'static str,
    },
    /// An entry of a log failed to encode.
    #[error("discovery log entry {index}: {source}")]
    Entry {
        /// Index of the entry in the log (0-based).
        index: usize,
        /// Why that entry failed.
        #[source]
        source: Box<EncodeError>,
    },
}

/// The informative part of the discovery log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiscoveryLogHeader {
    /// GENCTR: generation counter, changes whenever the log changes.
    pub genctr: u64,
    /// NUMREC: number of records in the log.
    pub numrec: u64,
    /// RECFMT: record format, 0.
    pub recfmt: u16,
}

impl DiscoveryLogHeader {
    /// Decodes the first [`HEADER_READ_LEN`] (or more) bytes of the log page.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let short = || DecodeError::ShortHeader { len: buf.len() };
        if buf.len() < HEADER_READ_LEN {
            return Err(short());
        }
        let (genctr, rest) = U64::read_from_prefix(buf).map_err(|_| short())?;
        let (numrec, rest) = U64::read_from_prefix(rest).map_err(|_| short())?;
        let (recfmt, _) = U16::read_from_prefix(rest).map_err(|_| short())?;
        Ok(Self {
            genctr: genctr.get(),
            numrec: numrec.get(),
            recfmt: recfmt.get(),
        })
    }

    /// Encodes the full 1024-byte header.
    pub fn encode(&self) -> Vec<u8> {
        let mut raw = RawDiscoveryLogHeader::new_zeroed();
        raw.genctr.set(self.genctr);
        raw.numrec.set(self.numrec);
        raw.recfmt.set(self.recfmt);
        raw.as_bytes().to_vec()
    }
}

/// One validated discovery log entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiscoveryLogEntry {
    /// TRTYPE: transport type, see [`trtype`].
    pub trtype: u8,
    /// ADRFAM: address family, see [`adrfam`].
    pub adrfam: u8,
    /// SUBTYPE: subsystem type, see [`subtype`].
    pub subtype: u8,
    /// TREQ: transport requirements, see [`treq`].
    pub treq: u8,
    /// PORTID: NVM subsystem port ID.
    pub portid: u16,
    /// CNTLID: controller ID; 0xFFFF dynamic model, 0xFFFE static model any controller.
    pub cntlid: u16,
    /// ASQSZ: maximum admin submission queue size, in entries.
    pub asqsz: u16,
    /// EFLAGS: entry flags, see [`eflags`].
    pub eflags: u16,
    /// Trailing spaces stripped.
    pub trsvcid: String,
    /// SUBNQN: NVM subsystem NQN (for a referral, the discovery NQN).
    pub subnqn: String,
    /// Trailing spaces stripped; for FC a `,` separator is rewritten to `:` as libnvme does.
    pub traddr: String,
    /// Transport specific address subtype, raw.
    pub tsas: [u8; TSAS_SIZE],
}

impl Default for DiscoveryLogEntry {
    fn default() -> Self {
        Self {
            trtype: 0,
            adrfam: 0,
            subtype: 0,
            treq: 0,
            portid: 0,
            cntlid: 0,
            asqsz: 0,
            eflags: 0,
            trsvcid: String::new(),
            subnqn: String::new(),
            traddr: String::new(),
            tsas: [0; TSAS_SIZE],
        }
    }
}

/// Decodes a fixed-size ASCII field: up to the first NUL, trailing spaces stripped, the rest
/// must be printable ASCII. On failure returns the offending offset and byte.
pub(crate) fn ascii_field(raw: &[u8]) -> Result<String, (usize, u8)> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let mut text = &raw[..end];
    while let [rest @ .., b' '] = text {
        text = rest;
    }
    if let Some(pos) = text.iter().position(|b| !(0x20..=0x7e).contains(b)) {
        return Err((pos, text[pos]));
    }
    // Every byte is ASCII, so this is a plain copy.
    Ok(text.iter().map(|&b| char::from(b)).collect())
}

fn put_ascii(dst: &mut [u8], field: &'static str, value: &str) -> Result<(), EncodeError> {
    let bytes = value.as_bytes();
    if bytes.len() > dst.len() {
        return Err(EncodeError::TooLong {
            field,
            len: bytes.len(),
            max: dst.len(),
        });
    }
    if bytes.iter().any(|b| !(0x20..=0x7e).contains(b)) {
        return Err(EncodeError::NotPrintable { field });
    }
    dst[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

impl DiscoveryLogEntry {
    /// Decodes and validates one raw entry; `index` only labels errors.
    pub fn decode(raw: &RawDiscoveryLogEntry, index: usize) -> Result<Self, DecodeError> {
        let field = |name: &'static str, bytes: &[u8]| {
            ascii_field(bytes).map_err(|(offset, byte)| DecodeError::NotPrintable {
                entry: index,
                field: name,
                offset,
                byte,
            })
        };
        let trsvcid = field("trsvcid", &raw.trsvcid)?;
        let subnqn = field("subnqn", &raw.subnqn)?;
        let mut traddr = field("traddr", &raw.traddr)?;
        if raw.trtype == trtype::FC {
            // libnvme reports FC addresses as nn-0x..:pn-0x.. and fixes the first ','.
            if let Some(pos) = traddr.find(',') {
                traddr.replace_range(pos..=pos, ":");
            }
        }
        Ok(Self {
            trtype: raw.trtype,
            adrfam: raw.adrfam,
            subtype: raw.subtype,
            treq: raw.treq,
            portid: raw.portid.get(),
            cntlid: raw.cntlid.get(),
            asqsz: raw.asqsz.get(),
            eflags: raw.eflags.get(),
            trsvcid,
            subnqn,
            traddr,
            tsas: raw.tsas,
        })
    }

    /// Decodes one entry from a byte slice of at least [`ENTRY_SIZE`] bytes.
    pub fn decode_bytes(buf: &[u8], index: usize) -> Result<Self, DecodeError> {
        let (raw, _) =
            RawDiscoveryLogEntry::ref_from_prefix(buf).map_err(|_| DecodeError::Truncated {
                numrec: index as u64 + 1,
                needed: ENTRY_SIZE as u64,
                available: buf.len(),
            })?;
        Self::decode(raw, index)
    }

    /// Builds the wire form, checking that the strings fit their fields.
    pub fn to_raw(&self) -> Result<RawDiscoveryLogEntry, EncodeError> {
        let mut raw = RawDiscoveryLogEntry::new_zeroed();
        raw.trtype = self.trtype;
        raw.adrfam = self.adrfam;
        raw.subtype = self.subtype;
        raw.treq = self.treq;
        raw.portid.set(self.portid);
        raw.cntlid.set(self.cntlid);
        raw.asqsz.set(self.asqsz);
        raw.eflags.set(self.eflags);
        put_ascii(&mut raw.trsvcid, "trsvcid", &self.trsvcid)?;
        put_ascii(&mut raw.subnqn, "subnqn", &self.subnqn)?;
        put_ascii(&mut raw.traddr, "traddr", &self.traddr)?;
        raw.tsas = self.tsas;
        Ok(raw)
    }

    /// Encodes to the 1024-byte wire form (NUL padded).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        Ok(self.to_raw()?.as_bytes().to_vec())
    }

    /// Transport type name ("tcp", "rdma", "fc", "loop", else "unrecognized").
    pub fn trtype_name(&self) -> &'static str {
        trtype_name(self.trtype)
    }

    /// Address family name ("ipv4", "ipv6", ...).
    pub fn adrfam_name(&self) -> &'static str {
        adrfam_name(self.adrfam)
    }

    /// Subsystem type name ("nvme subsystem", ...).
    pub fn subtype_name(&self) -> &'static str {
        subtype_name(self.subtype)
    }

    /// TCP security type (TSAS byte 0); meaningful only when `trtype` is TCP.
    pub fn sectype(&self) -> u8 {
        self.tsas[0]
    }

    /// RDMA QP type, provider type and connection management method (TSAS bytes 0..3);
    /// meaningful only when `trtype` is RDMA.
    pub fn rdma_qptype_prtype_cms(&self) -> (u8, u8, u8) {
        (self.tsas[0], self.tsas[1], self.tsas[2])
    }

    /// Secure channel requirement (TREQ bits 1:0).
    pub fn secure_channel(&self) -> u8 {
        self.treq & treq::SECURE_CHANNEL_MASK
    }

    /// The controller supports disabling SQ flow control (TREQ bit 2).
    pub fn sqflow_disable_supported(&self) -> bool {
        self.treq & treq::DISABLE_SQFLOW != 0
    }

    /// EFLAGS.EPCSD: explicit persistent connections to this DC are supported.
    pub fn epcsd(&self) -> bool {
        self.eflags & eflags::EPCSD != 0
    }

    /// EFLAGS.NCC: the DC is not connected to a CDC.
    pub fn ncc(&self) -> bool {
        self.eflags & eflags::NCC != 0
    }

    /// EFLAGS.DUPRETINFO: the same information is returned through other entries.
    pub fn dupretinfo(&self) -> bool {
        self.eflags & eflags::DUPRETINFO != 0
    }

    /// The entry refers to another discovery controller.
    pub fn is_referral(&self) -> bool {
        self.subtype == subtype::REFERRAL
    }

    /// The entry describes the discovery controller being read.
    pub fn is_current_discovery(&self) -> bool {
        self.subtype == subtype::CURRENT_DISCOVERY
    }
}

/// Decodes `count` entries from `buf`, which starts at the first entry (log offset 1024).
pub fn decode_entries(buf: &[u8], count: u64) -> Result<Vec<DiscoveryLogEntry>, DecodeError> {
    let needed = count
        .checked_mul(ENTRY_SIZE as u64)
        .ok_or(DecodeError::TooManyRecords { numrec: count })?;
    let truncated = DecodeError::Truncated {
        numrec: count,
        needed,
        available: buf.len(),
    };
    if u64::try_from(buf.len()).unwrap_or(u64::MAX) < needed {
        return Err(truncated);
    }
    let count =
        usize::try_from(count).map_err(|_| DecodeError::TooManyRecords { numrec: count })?;
    let (raws, _) =
        <[RawDiscoveryLogEntry]>::ref_from_prefix_with_elems(buf, count).map_err(|_| truncated)?;
    raws.iter()
        .enumerate()
        .map(|(index, raw)| DiscoveryLogEntry::decode(raw, index))
        .collect()
}

/// A complete, consistent discovery log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiscoveryLog {
    /// GENCTR: generation counter the entries were read under.
    pub genctr: u64,
    /// NUMREC: number of records the header announced.
    pub numrec: u64,
    /// RECFMT: record format, 0.
    pub recfmt: u16,
    /// The decoded entries, in log order.
    pub entries: Vec<DiscoveryLogEntry>,
}

impl DiscoveryLog {
    /// Decodes a whole log page image: 1024-byte header followed by NUMREC entries.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let header = DiscoveryLogHeader::decode(buf)?;
        let entries_buf = buf.get(HEADER_SIZE..).unwrap_or(&[]);
        let entries = decode_entries(entries_buf, header.numrec)?;
        Ok(Self {
            genctr: header.genctr,
            numrec: header.numrec,
            recfmt: header.recfmt,
            entries,
        })
    }

    /// Encodes the header (with `self.numrec` as is, so simulators can lie) and the entries.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let header = DiscoveryLogHeader {
            genctr: self.genctr,
            numrec: self.numrec,
            recfmt: self.recfmt,
        };
        let mut out = header.encode();
        out.reserve(self.entries.len() * ENTRY_SIZE);
        for (index, entry) in self.entries.iter().enumerate() {
            let raw = entry.to_raw().map_err(|e| EncodeError::Entry {
                index,
                source: Box::new(e),
            })?;
            out.extend_from_slice(raw.as_bytes());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_entry() -> DiscoveryLogEntry {
        let mut tsas = [0u8; TSAS_SIZE];
        tsas[0] = sectype::TLS13;
        DiscoveryLogEntry {
            trtype: trtype::TCP,
            adrfam: adrfam::IPV4,
            subtype: subtype::NVME,
            treq: treq::NOT_REQUIRED | treq::DISABLE_SQFLOW,
            portid: 1,
            cntlid: 0xffff,
            asqsz: 32,
            eflags: eflags::EPCSD | eflags::NCC,
            trsvcid: "4420".into(),
            subnqn: "nqn.2014-08.org.example:sub1".into(),
            traddr: "192.168.1.10".into(),
            tsas,
        }
    }

    #[test]
    fn layout_offsets() {
        use core::mem::offset_of;
        assert_eq!(offset_of!(RawDiscoveryLogHeader, numrec), 8);
        assert_eq!(offset_of!(RawDiscoveryLogHeader, recfmt), 16);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, portid), 4);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, cntlid), 6);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, asqsz), 8);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, eflags), 10);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, trsvcid), 32);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, subnqn), 256);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, traddr), 512);
        assert_eq!(offset_of!(RawDiscoveryLogEntry, tsas), 768);
    }

    #[test]
    fn decodes_hand_built_entry() {
        let mut buf = vec![0u8; ENTRY_SIZE];
        buf[0] = 3;
        buf[1] = 2;
        buf[2] = 3;
        buf[3] = 4;
        buf[4..6].copy_from_slice(&7u16.to_le_bytes());
        buf[6..8].copy_from_slice(&0xfffeu16.to_le_bytes());
        buf[8..10].copy_from_slice(&128u16.to_le_bytes());
        buf[10..12].copy_from_slice(&4u16.to_le_bytes());
        // Space padding the way nvmet fills trsvcid/traddr.
        buf[32..64].fill(b' ');
        buf[32..36].copy_from_slice(b"8009");
        let nqn = b"nqn.2014-08.org.nvmexpress.discovery";
        buf[256..256 + nqn.len()].copy_from_slice(nqn);
        buf[512..768].fill(b' ');
        buf[512..515].copy_from_slice(b"::1");
        buf[768] = 1;
        let e = DiscoveryLogEntry::decode_bytes(&buf, 0).unwrap();
        assert_eq!(e.trtype_name(), "tcp");
        assert_eq!(e.adrfam_name(), "ipv6");
        assert_eq!(e.subtype_name(), "current discovery subsystem");
        assert_eq!((e.portid, e.cntlid, e.asqsz, e.eflags), (7, 0xfffe, 128, 4));
        assert!(e.ncc() && !e.epcsd() && !e.dupretinfo());
        assert!(e.sqflow_disable_supported());
        assert_eq!(e.secure_channel(), treq::NOT_SPECIFIED);
        assert_eq!(e.trsvcid, "8009");
        assert_eq!(e.traddr, "::1");
        assert_eq!(e.subnqn, "nqn.2014-08.org.nvmexpress.discovery");
        assert_eq!(e.sectype(), 1);
        assert!(e.is_current_discovery() && !e.is_referral());
    }

    #[test]
    fn names_match_nvme_cli() {
        assert_eq!(trtype_name(1), "rdma");
        assert_eq!(trtype_name(2), "fc");
        assert_eq!(trtype_name(0xfe), "loop");
        assert_eq!(trtype_name(9), "unrecognized");
        assert_eq!(adrfam_name(0), "pci");
        assert_eq!(adrfam_name(1), "ipv4");
        assert_eq!(adrfam_name(3), "infiniband");
        assert_eq!(adrfam_name(4), "fibre-channel");
        assert_eq!(subtype_name(1), "discovery subsystem referral");
        assert_eq!(subtype_name(2), "nvme subsystem");
        assert_eq!(subtype_name(0), "unrecognized");
    }

    #[test]
    fn fc_traddr_comma_fixed() {
        let mut e = sample_entry();
        e.trtype = trtype::FC;
        e.adrfam = adrfam::FC;
        e.traddr = "nn-0x1000000044001123,pn-0x2000000055001123".into();
        let d = DiscoveryLogEntry::decode_bytes(&e.encode().unwrap(), 0).unwrap();
        assert_eq!(d.traddr, "nn-0x1000000044001123:pn-0x2000000055001123");
        // Only FC addresses are rewritten.
        e.trtype = trtype::TCP;
        e.traddr = "a,b".into();
        let d = DiscoveryLogEntry::decode_bytes(&e.encode().unwrap(), 0).unwrap();
        assert_eq!(d.traddr, "a,b");
    }

    #[test]
    fn bytes_after_nul_are_ignored() {
        let mut buf = sample_entry().encode().unwrap();
        buf[512 + 20] = 0xff;
        let d = DiscoveryLogEntry::decode_bytes(&buf, 0).unwrap();
        assert_eq!(d.traddr, "192.168.1.10");
    }

    #[test]
    fn non_ascii_padding_is_an_error() {
        let mut buf = sample_entry().encode().unwrap();
        // 0xff padding right after the value, before any NUL.
        buf[32 + 4..64].fill(0xff);
        let err = DiscoveryLogEntry::decode_bytes(&buf, 5).unwrap_err();
        assert_eq!(
            err,
            DecodeError::NotPrintable {
                entry: 5,
                field: "trsvcid",
                offset: 4,
                byte: 0xff
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("entry 5") && msg.contains("trsvcid"), "{msg}");
    }

    #[test]
    fn control_and_utf8_bytes_rejected() {
        for (off, field) in [(256usize, "subnqn"), (512, "traddr")] {
            for bad in [0x01u8, 0x7f, 0xc3, b'\t'] {
                let mut buf = sample_entry().encode().unwrap();
                buf[off + 2] = bad;
                match DiscoveryLogEntry::decode_bytes(&buf, 0) {
                    Err(DecodeError::NotPrintable { field: f, byte, .. }) => {
                        assert_eq!((f, byte), (field, bad));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn full_width_fields_without_nul() {
        let mut e = sample_entry();
        e.trsvcid = "9".repeat(TRSVCID_SIZE);
        e.subnqn = "n".repeat(SUBNQN_SIZE);
        e.traddr = "a".repeat(TRADDR_SIZE);
        let d = DiscoveryLogEntry::decode_bytes(&e.encode().unwrap(), 0).unwrap();
        assert_eq!(d, e);
    }

    #[test]
    fn short_header_is_an_error() {
        for len in [0, 8, 16, 19] {
            assert_eq!(
                DiscoveryLogHeader::decode(&vec![0; len]),
                Err(DecodeError::ShortHeader { len })
            );
        }
        let mut buf = vec![0u8; 20];
        buf[0] = 9;
        buf[8] = 2;
        buf[16] = 0;
        let h = DiscoveryLogHeader::decode(&buf).unwrap();
        assert_eq!((h.genctr, h.numrec, h.recfmt), (9, 2, 0));
    }

    #[test]
    fn truncated_entries_are_an_error() {
        let one = sample_entry().encode().unwrap();
        assert!(matches!(
            decode_entries(&one[..1023], 1),
            Err(DecodeError::Truncated {
                numrec: 1,
                needed: 1024,
                available: 1023
            })
        ));
        assert!(matches!(
            decode_entries(&one, 2),
            Err(DecodeError::Truncated { numrec: 2, .. })
        ));
        assert!(matches!(
            decode_entries(&one, u64::MAX),
            Err(DecodeError::TooManyRecords { .. })
        ));
        assert_eq!(decode_entries(&[], 0), Ok(vec![]));
        assert_eq!(decode_entries(&one[..5], 0), Ok(vec![]));
    }

    #[test]
    fn numrec_larger_than_page_is_an_error() {
        let log = DiscoveryLog {
            genctr: 1,
            numrec: 3,
            recfmt: 0,
            entries: vec![sample_entry(), sample_entry()],
        };
        let bytes = log.encode().unwrap();
        assert!(matches!(
            DiscoveryLog::decode(&bytes),
            Err(DecodeError::Truncated { numrec: 3, .. })
        ));
        // Header only, with records claimed.
        assert!(matches!(
            DiscoveryLog::decode(&bytes[..20]),
            Err(DecodeError::Truncated { available: 0, .. })
        ));
    }

    #[test]
    fn encoder_validates_strings() {
        let mut e = sample_entry();
        e.trsvcid = "1".repeat(33);
        assert_eq!(
            e.encode(),
            Err(EncodeError::TooLong {
                field: "trsvcid",
                len: 33,
                max: 32
            })
        );
        let mut e = sample_entry();
        e.subnqn = "nqn\u{e9}".into();
        assert_eq!(
            e.encode(),
            Err(EncodeError::NotPrintable { field: "subnqn" })
        );
        let mut e = sample_entry();
        e.traddr = "a\0b".into();
        assert!(e.encode().is_err());
        let log = DiscoveryLog {
            genctr: 0,
            numrec: 2,
            recfmt: 0,
            entries: vec![sample_entry(), e],
        };
        let err = log.encode().unwrap_err();
        assert!(matches!(err, EncodeError::Entry { index: 1, .. }));
        assert!(err.to_string().contains("entry 1"));
    }

    fn ascii_no_trailing_space(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("([ -~]{{0,{}}}[!-~])?", max - 1))
            .expect("valid regex")
    }

    prop_compose! {
        fn arb_entry()(
            trtype in prop_oneof![Just(1u8), Just(3u8), Just(0xfeu8), any::<u8>()],
            adrfam in any::<u8>(),
            subtype in any::<u8>(),
            treq in any::<u8>(),
            portid in any::<u16>(),
            cntlid in any::<u16>(),
            asqsz in any::<u16>(),
            eflags in any::<u16>(),
            trsvcid in ascii_no_trailing_space(TRSVCID_SIZE),
            subnqn in ascii_no_trailing_space(SUBNQN_SIZE),
            traddr in ascii_no_trailing_space(TRADDR_SIZE),
            tsas in proptest::collection::vec(any::<u8>(), TSAS_SIZE),
        ) -> DiscoveryLogEntry {
            let mut t = [0u8; TSAS_SIZE];
            t.copy_from_slice(&tsas);
            // FC addresses are rewritten on decode; keep commas out for those.
            let traddr = if trtype == trtype::FC { traddr.replace(',', ":") } else { traddr };
            DiscoveryLogEntry {
                trtype, adrfam, subtype, treq, portid, cntlid, asqsz, eflags,
                trsvcid, subnqn, traddr, tsas: t,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn entry_round_trip(e in arb_entry()) {
            let bytes = e.encode().unwrap();
            prop_assert_eq!(bytes.len(), ENTRY_SIZE);
            prop_assert_eq!(DiscoveryLogEntry::decode_bytes(&bytes, 0).unwrap(), e);
        }

        #[test]
        fn log_round_trip(
            genctr in any::<u64>(),
            recfmt in any::<u16>(),
            entries in proptest::collection::vec(arb_entry(), 0..6),
        ) {
            let log = DiscoveryLog { genctr, numrec: entries.len() as u64, recfmt, entries };
            let bytes = log.encode().unwrap();
            prop_assert_eq!(bytes.len(), HEADER_SIZE + log.entries.len() * ENTRY_SIZE);
            prop_assert_eq!(DiscoveryLog::decode(&bytes).unwrap(), log);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000),
                                count in 0u64..4) {
            let _ = DiscoveryLogHeader::decode(&bytes);
            let _ = decode_entries(&bytes, count);
            let _ = DiscoveryLog::decode(&bytes);
        }
    }
}
