//! TP8010 Discovery Information Management: host registration with a DDC/CDC
//! (protocol reference §3.8; compat §5.6).
//!
//! The payload is what libnvme's `nvmf_register_ctrl` sends: a DIM header describing the
//! host followed by one extended Discovery Information Entry with an empty TRADDR (the DC
//! takes the address from the socket), a HOSTID EXAT and an optional SYMNAME EXAT.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use super::{AdminCommand, AdminError, AdminTransport, DataPhase, opcode};
use crate::spec::NQN_MAX_LEN;
use crate::spec::disclog::{RawDiscoveryLogEntry, adrfam, trtype};
use crate::spec::status::NvmeStatus;

/// Size of the DIM data header.
pub const DIM_HEADER_SIZE: usize = 1024;
/// Size of an extended DIE before its extended attributes.
pub const EXT_DIE_FIXED_SIZE: usize = 1032;
/// Size of an extended attribute's type and length.
pub const EXAT_HEADER_SIZE: usize = 4;
/// HOSTID value length.
pub const HOSTID_LEN: usize = 16;
/// Largest symbolic name accepted (our bound; keeps the payload far below in-capsule limits).
pub const SYMNAME_MAX_LEN: usize = 256;
/// Largest DIM payload the admin queue carries in-capsule.
pub const DIM_MAX_PAYLOAD: usize = 8192;
/// ENAME field size.
pub const ENAME_SIZE: usize = 256;
/// EVER field size.
pub const EVER_SIZE: usize = 64;

/// ENTFMT: extended entries.
pub const ENTFMT_EXTENDED: u16 = 2;
/// ETYPE: host.
pub const ETYPE_HOST: u16 = 1;
/// EKTYPE for host registrations (libnvme: "must be 0x5F per specs").
pub const EKTYPE_HOST: u16 = 0x5f;
/// EXAT type: host identifier.
pub const EXATTYPE_HOSTID: u16 = 1;
/// EXAT type: symbolic name.
pub const EXATTYPE_SYMNAME: u16 = 2;

/// Command-specific (SCT 1) DIM status codes.
pub mod sc {
    /// 0x2F Invalid Discovery Information.
    pub const INVALID_DISCOVERY_INFORMATION: u8 = 0x2f;
    /// 0x30 Zoning Data Structure Locked.
    pub const ZONING_DATA_STRUCTURE_LOCKED: u8 = 0x30;
    /// 0x31 Zoning Data Structure Not Found.
    pub const ZONING_DATA_STRUCTURE_NOT_FOUND: u8 = 0x31;
    /// 0x32 Insufficient Discovery Resources.
    pub const INSUFFICIENT_DISCOVERY_RESOURCES: u8 = 0x32;
    /// 0x33 Requested Function Disabled.
    pub const REQUESTED_FUNCTION_DISABLED: u8 = 0x33;
    /// 0x34 ZoneGroup Originator Invalid.
    pub const ZONEGROUP_ORIGINATOR_INVALID: u8 = 0x34;
}

/// Names a DIM command-specific status for logs.
pub fn dim_status_name(status: &NvmeStatus) -> Option<&'static str> {
    if status.sct != 1 {
        return None;
    }
    Some(match status.sc {
        sc::INVALID_DISCOVERY_INFORMATION => "invalid discovery information",
        sc::ZONING_DATA_STRUCTURE_LOCKED => "zoning data structure locked",
        sc::ZONING_DATA_STRUCTURE_NOT_FOUND => "zoning data structure not found",
        sc::INSUFFICIENT_DISCOVERY_RESOURCES => "insufficient discovery resources",
        sc::REQUESTED_FUNCTION_DISABLED => "requested function disabled",
        sc::ZONEGROUP_ORIGINATOR_INVALID => "zonegroup originator invalid",
        _ => return None,
    })
}

/// Wire layout of the DIM data header.
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawDimHeader {
    /// TDL: total data length in bytes, header and all entries (bytes 0-3).
    pub tdl: U32,
    /// Bytes 4-7, reserved.
    pub rsvd4: [u8; 4],
    /// NUMENT: number of entries that follow (bytes 8-15).
    pub nument: U64,
    /// ENTFMT: entry format, 1 basic, 2 extended (bytes 16-17).
    pub entfmt: U16,
    /// ETYPE: entity type, 1 host, 2 DDC, 3 CDC (bytes 18-19).
    pub etype: U16,
    /// PORTLCL: port local (byte 20).
    pub portlcl: u8,
    /// Byte 21, reserved.
    pub rsvd21: u8,
    /// EKTYPE: entry key type; 0x5F for hosts (bytes 22-23).
    pub ektype: U16,
    /// EID: entity identifier, the host NQN, NUL padded (bytes 24-279).
    pub eid: [u8; 256],
    /// ENAME: entity name, the host name (bytes 280-535).
    pub ename: [u8; ENAME_SIZE],
    /// EVER: entity version, e.g. an OS/kernel string (bytes 536-599).
    pub ever: [u8; EVER_SIZE],
    /// Bytes 600-1023, reserved.
    pub rsvd600: [u8; 424],
}

const _: () = assert!(size_of::<RawDimHeader>() == DIM_HEADER_SIZE);

/// Wire layout of an extended DIE up to its first extended attribute.
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawExtDie {
    /// Laid out like a discovery log entry (NQN in `subnqn`).
    pub entry: RawDiscoveryLogEntry,
    /// TEL: total entry length in bytes, extended attributes included (bytes 1024-1027).
    pub tel: U32,
    /// NUMEXAT: number of extended attributes (bytes 1028-1029).
    pub numexat: U16,
    /// Bytes 1030-1031, reserved.
    pub rsvd1030: [u8; 2],
}

const _: () = assert!(size_of::<RawExtDie>() == EXT_DIE_FIXED_SIZE);

/// Wire layout of an extended attribute header (the value follows, padded to 4 bytes).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawExat {
    /// EXATTYPE: extended attribute type, 1 HOSTID, 2 SYMNAME.
    pub exattype: U16,
    /// EXATLEN: length of the value in bytes, before padding to a multiple of 4.
    pub exatlen: U16,
}

const _: () = assert!(size_of::<RawExat>() == EXAT_HEADER_SIZE);

/// TAS field of CDW10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimTask {
    /// TAS 0: register the host with the discovery controller.
    Register = 0,
    /// TAS 1: remove the host's registration.
    Deregister = 1,
    /// TAS 2: update the host's registration.
    Update = 2,
}

/// What the host registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimHostEntry {
    /// EID and the DIE's NQN.
    pub hostnqn: String,
    /// HOSTID: the host identifier (16-byte UUID), sent as a HOSTID EXAT.
    pub hostid: [u8; HOSTID_LEN],
    /// ENAME: the host name (`gethostname()`).
    pub entity_name: String,
    /// EVER: `"<ostype> <osrelease> <distro>"`.
    pub entity_version: String,
    /// ADRFAM of the connection to the DC: IPv4 or IPv6.
    pub adrfam: u8,
    /// Optional SYMNAME; empty counts as absent (as in libnvme).
    pub symname: Option<String>,
}

/// Why a DIM payload could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DimError {
    /// A string does not fit its field or our bound.
    #[error("DIM {field} is {len} bytes, at most {max} allowed")]
    TooLong {
        /// Name of the field.
        field: &'static str,
        /// Length of the string, in bytes.
        len: usize,
        /// Largest length allowed, in bytes.
        max: usize,
    },
    /// A string holds a byte that is not printable ASCII.
    #[error("DIM {field} must be printable ASCII")]
    NotPrintable {
        /// Name of the field.
        field: &'static str,
    },
    /// The host NQN is empty.
    #[error("DIM host NQN is empty")]
    EmptyHostNqn,
    /// The address family is neither IPv4 (1) nor IPv6 (2).
    #[error("DIM address family {0} is neither IPv4 nor IPv6")]
    BadAdrfam(u8),
}

fn put(dst: &mut [u8], field: &'static str, value: &str, max: usize) -> Result<(), DimError> {
    let bytes = value.as_bytes();
    if bytes.len() > max.min(dst.len()) {
        return Err(DimError::TooLong {
            field,
            len: bytes.len(),
            max: max.min(dst.len()),
        });
    }
    if bytes.iter().any(|b| !(0x20..=0x7e).contains(b)) {
        return Err(DimError::NotPrintable { field });
    }
    dst[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

fn round_up4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn exat(out: &mut Vec<u8>, exattype: u16, padded_len: usize) {
    let hdr = RawExat {
        exattype: U16::new(exattype),
        // Bounded by SYMNAME_MAX_LEN / HOSTID_LEN, far below u16::MAX.
        exatlen: U16::new(u16::try_from(padded_len).unwrap_or(u16::MAX)),
    };
    out.extend_from_slice(hdr.as_bytes());
}

impl DimHostEntry {
    /// Builds the DIM payload (header + one extended DIE); its length is the TDL.
    pub fn payload(&self) -> Result<Vec<u8>, DimError> {
        if self.hostnqn.is_empty() {
            return Err(DimError::EmptyHostNqn);
        }
        if !matches!(self.adrfam, adrfam::IPV4 | adrfam::IPV6) {
            return Err(DimError::BadAdrfam(self.adrfam));
        }
        let symname = self.symname.as_deref().filter(|s| !s.is_empty());
        if let Some(s) = symname {
            if s.len() > SYMNAME_MAX_LEN {
                return Err(DimError::TooLong {
                    field: "symname",
                    len: s.len(),
                    max: SYMNAME_MAX_LEN,
                });
            }
            if s.bytes().any(|b| !(0x20..=0x7e).contains(&b)) {
                return Err(DimError::NotPrintable { field: "symname" });
            }
        }

        let mut tel = EXT_DIE_FIXED_SIZE + EXAT_HEADER_SIZE + HOSTID_LEN;
        if let Some(s) = symname {
            tel += EXAT_HEADER_SIZE + round_up4(s.len());
        }
        let tdl = DIM_HEADER_SIZE + tel;
        // Bounded by the checks above (≤ 2336 bytes), so these conversions cannot fail.
        let tel32 = u32::try_from(tel).unwrap_or(u32::MAX);
        let tdl32 = u32::try_from(tdl).unwrap_or(u32::MAX);

        let mut hdr = RawDimHeader::new_zeroed();
        hdr.tdl.set(tdl32);
        hdr.nument.set(1);
        hdr.entfmt.set(ENTFMT_EXTENDED);
        hdr.etype.set(ETYPE_HOST);
        hdr.portlcl = 0;
        hdr.ektype.set(EKTYPE_HOST);
        put(&mut hdr.eid, "host NQN", &self.hostnqn, NQN_MAX_LEN)?;
        put(&mut hdr.ename, "entity name", &self.entity_name, ENAME_SIZE)?;
        put(
            &mut hdr.ever,
            "entity version",
            &self.entity_version,
            EVER_SIZE,
        )?;

        let mut die = RawExtDie::new_zeroed();
        die.entry.trtype = trtype::TCP;
        die.entry.adrfam = self.adrfam;
        put(
            &mut die.entry.subnqn,
            "host NQN",
            &self.hostnqn,
            NQN_MAX_LEN,
        )?;
        // TRADDR stays empty: the DC infers the host address from the socket.
        die.tel.set(tel32);
        die.numexat.set(if symname.is_some() { 2 } else { 1 });

        let mut out = Vec::with_capacity(tdl);
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(die.as_bytes());
        exat(&mut out, EXATTYPE_HOSTID, HOSTID_LEN);
        out.extend_from_slice(&self.hostid);
        if let Some(s) = symname {
            let padded = round_up4(s.len());
            exat(&mut out, EXATTYPE_SYMNAME, padded);
            out.extend_from_slice(s.as_bytes());
            // ASCII strings are space padded per the base spec (libnvme does the same).
            out.resize(out.len() + padded - s.len(), b' ');
        }
        debug_assert_eq!(out.len(), tdl);
        if out.len() > DIM_MAX_PAYLOAD {
            return Err(DimError::TooLong {
                field: "payload",
                len: out.len(),
                max: DIM_MAX_PAYLOAD,
            });
        }
        Ok(out)
    }
}

/// Result of a DIM command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimOutcome {
    /// The DC accepted the command; CQE DW0.
    Completed(u32),
    /// The DC answered Invalid Opcode: it does not implement DIM.
    NotSupported,
}

/// Sends Discovery Information Management with task `tas` and `payload` (host → DC).
pub async fn dim<T: AdminTransport>(
    t: &mut T,
    tas: DimTask,
    payload: &[u8],
) -> Result<DimOutcome, AdminError> {
    let cmd = AdminCommand {
        opcode: opcode::DISCOVERY_INFO_MGMT,
        cdw10: (tas as u32) & 0xf,
        ..AdminCommand::default()
    };
    match t.submit(&cmd, DataPhase::ToController(payload)).await {
        Ok(dw0) => Ok(DimOutcome::Completed(dw0)),
        Err(AdminError::Status(s)) if s.is_invalid_opcode() => Ok(DimOutcome::NotSupported),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(t: &mut FakeTransport, task: DimTask, payload: &[u8]) -> Result<DimOutcome, AdminError> {
        crate::admin::block_on(super::dim(t, task, payload))
    }
    use crate::admin::discovery::fake::FakeTransport;
    use core::mem::offset_of;

    const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:3d0ac3fc-1d3a-4c4c-9d1c-6d2e4a5a7b10";
    const HOSTID: [u8; 16] = [
        0x3d, 0x0a, 0xc3, 0xfc, 0x1d, 0x3a, 0x4c, 0x4c, 0x9d, 0x1c, 0x6d, 0x2e, 0x4a, 0x5a, 0x7b,
        0x10,
    ];

    fn host(symname: Option<&str>) -> DimHostEntry {
        DimHostEntry {
            hostnqn: HOSTNQN.into(),
            hostid: HOSTID,
            entity_name: "host1.example.com".into(),
            entity_version: "Linux 6.12.0-31-amd64 Debian GNU/Linux 12 (bookworm)".into(),
            adrfam: adrfam::IPV6,
            symname: symname.map(str::to_string),
        }
    }

    fn le16(b: &[u8], off: usize) -> u16 {
        u16::from_le_bytes([b[off], b[off + 1]])
    }
    fn le32(b: &[u8], off: usize) -> u32 {
        u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
    }

    #[test]
    fn layout_offsets() {
        assert_eq!(offset_of!(RawDimHeader, nument), 8);
        assert_eq!(offset_of!(RawDimHeader, entfmt), 16);
        assert_eq!(offset_of!(RawDimHeader, etype), 18);
        assert_eq!(offset_of!(RawDimHeader, portlcl), 20);
        assert_eq!(offset_of!(RawDimHeader, ektype), 22);
        assert_eq!(offset_of!(RawDimHeader, eid), 24);
        assert_eq!(offset_of!(RawDimHeader, ename), 280);
        assert_eq!(offset_of!(RawDimHeader, ever), 536);
        assert_eq!(offset_of!(RawExtDie, tel), 1024);
        assert_eq!(offset_of!(RawExtDie, numexat), 1028);
    }

    #[test]
    fn payload_without_symname_is_2076_bytes() {
        let p = host(None).payload().unwrap();
        assert_eq!(p.len(), 2076);
        // Header.
        assert_eq!(le32(&p, 0), 2076);
        assert_eq!(&p[4..8], &[0; 4]);
        assert_eq!(u64::from_le_bytes(p[8..16].try_into().unwrap()), 1);
        assert_eq!(le16(&p, 16), 2);
        assert_eq!(le16(&p, 18), 1);
        assert_eq!(p[20], 0);
        assert_eq!(le16(&p, 22), 0x5f);
        assert_eq!(&p[24..24 + HOSTNQN.len()], HOSTNQN.as_bytes());
        assert!(p[24 + HOSTNQN.len()..280].iter().all(|&b| b == 0));
        assert_eq!(&p[280..297], b"host1.example.com");
        assert_eq!(p[297], 0);
        assert!(p[536..600].starts_with(b"Linux 6.12.0-31-amd64"));
        assert!(p[600..1024].iter().all(|&b| b == 0));
        // Extended DIE.
        let die = 1024;
        assert_eq!(p[die], 3, "trtype tcp");
        assert_eq!(p[die + 1], 2, "adrfam ipv6");
        assert_eq!(&p[die + 2..die + 12], &[0; 10]);
        assert_eq!(&p[die + 256..die + 256 + HOSTNQN.len()], HOSTNQN.as_bytes());
        assert!(
            p[die + 512..die + 768].iter().all(|&b| b == 0),
            "TRADDR empty"
        );
        assert_eq!(le32(&p, die + 1024), 1052, "TEL");
        assert_eq!(le16(&p, die + 1028), 1, "NUMEXAT");
        // HOSTID EXAT at DIE + 1032.
        assert_eq!(le16(&p, 2056), 1);
        assert_eq!(le16(&p, 2058), 16);
        assert_eq!(&p[2060..2076], &HOSTID);
    }

    #[test]
    fn payload_with_symname_is_space_padded() {
        let p = host(Some("Luke Sky")).payload().unwrap();
        // 8 bytes: already a multiple of 4.
        assert_eq!(p.len(), 2076 + 4 + 8);
        assert_eq!(le32(&p, 0) as usize, p.len());
        assert_eq!(le32(&p, 2048), 1052 + 12);
        assert_eq!(le16(&p, 2052), 2);
        assert_eq!(le16(&p, 2076), 2);
        assert_eq!(le16(&p, 2078), 8);
        assert_eq!(&p[2080..2088], b"Luke Sky");

        let p = host(Some("R2D2-C")).payload().unwrap();
        assert_eq!(p.len(), 2076 + 4 + 8);
        assert_eq!(le16(&p, 2078), 8);
        assert_eq!(&p[2080..2088], b"R2D2-C  ");
    }

    #[test]
    fn empty_symname_is_absent() {
        assert_eq!(
            host(Some("")).payload().unwrap(),
            host(None).payload().unwrap()
        );
    }

    #[test]
    fn field_validation() {
        let mut h = host(None);
        h.hostnqn = "n".repeat(224);
        assert_eq!(
            h.payload(),
            Err(DimError::TooLong {
                field: "host NQN",
                len: 224,
                max: 223
            })
        );
        let mut h = host(None);
        h.hostnqn.clear();
        assert_eq!(h.payload(), Err(DimError::EmptyHostNqn));
        let mut h = host(None);
        h.entity_version = "v".repeat(65);
        assert!(matches!(
            h.payload(),
            Err(DimError::TooLong {
                field: "entity version",
                ..
            })
        ));
        let mut h = host(None);
        h.entity_version = "v".repeat(64);
        assert!(h.payload().is_ok());
        let mut h = host(None);
        h.entity_name = "h".repeat(257);
        assert!(h.payload().is_err());
        let mut h = host(Some(&"s".repeat(257)));
        assert!(matches!(
            h.payload(),
            Err(DimError::TooLong {
                field: "symname",
                ..
            })
        ));
        h.symname = Some("caf\u{e9}".into());
        assert_eq!(
            h.payload(),
            Err(DimError::NotPrintable { field: "symname" })
        );
        let mut h = host(None);
        h.entity_name = "a\nb".into();
        assert!(matches!(h.payload(), Err(DimError::NotPrintable { .. })));
        let mut h = host(None);
        h.adrfam = adrfam::FC;
        assert_eq!(h.payload(), Err(DimError::BadAdrfam(4)));
        let h = host(Some(&"s".repeat(256)));
        assert_eq!(h.payload().unwrap().len(), 2076 + 4 + 256);
    }

    #[test]
    fn dim_command_fields() {
        let mut t = FakeTransport::with_log(0, vec![]);
        t.dw0 = 0x1234;
        let payload = host(None).payload().unwrap();
        let out = dim(&mut t, DimTask::Register, &payload).unwrap();
        assert_eq!(out, DimOutcome::Completed(0x1234));
        let c = t.commands[0];
        assert_eq!((c.opcode, c.cdw10, c.nsid), (0x21, 0, 0));
        assert_eq!(t.sent, vec![payload.clone()]);
        dim(&mut t, DimTask::Deregister, &payload).unwrap();
        dim(&mut t, DimTask::Update, &payload).unwrap();
        assert_eq!(t.commands[1].cdw10, 1);
        assert_eq!(t.commands[2].cdw10, 2);
    }

    #[test]
    fn invalid_opcode_is_not_supported() {
        let mut t = FakeTransport::with_log(0, vec![]);
        t.status = Some(NvmeStatus::from_passthru(0x4001));
        assert_eq!(
            dim(&mut t, DimTask::Register, &[0; 4]).unwrap(),
            DimOutcome::NotSupported
        );
        let status = NvmeStatus::from_passthru(0x0132);
        t.status = Some(status);
        match dim(&mut t, DimTask::Register, &[0; 4]) {
            Err(AdminError::Status(s)) => {
                assert_eq!(
                    dim_status_name(&s),
                    Some("insufficient discovery resources")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dim_status_name(&NvmeStatus::from_passthru(0x0002)), None);
    }
}
