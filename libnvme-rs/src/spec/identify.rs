//! Identify Controller data structure (CNS 0x01, 4096 bytes; protocol reference §3.2).

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::disclog::ascii_field;

/// Identify CNS values: which data structure Identify returns.
pub mod cns {
    /// CNS 0x00: Identify Namespace for the NSID in the SQE.
    pub const NAMESPACE: u8 = 0x00;
    /// CNS 0x01: Identify Controller.
    pub const CONTROLLER: u8 = 0x01;
    /// CNS 0x02: active namespace ID list, NSIDs above the one in the SQE.
    pub const ACTIVE_NAMESPACES: u8 = 0x02;
    /// CNS 0x03: Namespace Identification Descriptor list.
    pub const NS_ID_DESCRIPTORS: u8 = 0x03;
}

/// Size of the Identify Controller data structure.
pub const IDENTIFY_SIZE: usize = 4096;

/// CNTRLTYPE values.
pub mod cntrltype {
    /// Controller type not reported (pre-NVMe 1.4 controllers).
    pub const NOT_REPORTED: u8 = 0;
    /// I/O controller.
    pub const IO: u8 = 1;
    /// Discovery controller.
    pub const DISCOVERY: u8 = 2;
    /// Administrative controller.
    pub const ADMIN: u8 = 3;
}

/// DCTYPE values (TP8010).
pub mod dctype {
    /// Discovery controller type not reported (not a TP8010 DC, or an I/O controller).
    pub const NOT_REPORTED: u8 = 0;
    /// Direct discovery controller.
    pub const DDC: u8 = 1;
    /// Centralized discovery controller.
    pub const CDC: u8 = 2;
}

/// OAES bit: Discovery Log Page Change notices supported.
pub const OAES_DISCOVERY_LOG_CHANGE: u32 = 1 << 31;
/// CTRATT bit: traffic based keep alive.
pub const CTRATT_TBKAS: u32 = 1 << 6;
/// LPA bit: extended data for Get Log Page (NUMDU and LPO).
pub const LPA_EXTENDED_DATA: u8 = 1 << 2;
/// SGLS bit: SGL address may be an offset (in-capsule data).
pub const SGLS_SAOS: u32 = 1 << 20;
/// OFCS bit: Disconnect command supported.
pub const OFCS_DISCONNECT: u16 = 1 << 0;

/// Wire layout of Identify Controller, with the fields a fabrics host uses named and the
/// rest kept as reserved byte runs (named after their offset).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawIdentifyController {
    /// VID: PCI vendor ID (bytes 0-1).
    pub vid: U16,
    /// SSVID: PCI subsystem vendor ID (bytes 2-3).
    pub ssvid: U16,
    /// SN: serial number, ASCII, space padded (bytes 4-23).
    pub sn: [u8; 20],
    /// MN: model number, ASCII, space padded (bytes 24-63).
    pub mn: [u8; 40],
    /// FR: firmware revision, ASCII, space padded (bytes 64-71).
    pub fr: [u8; 8],
    /// RAB: recommended arbitration burst, a power of two in commands (byte 72).
    pub rab: u8,
    /// IEEE: organizationally unique identifier (OUI) of the vendor (bytes 73-75).
    pub ieee: [u8; 3],
    /// CMIC: controller multi-path I/O and namespace sharing capabilities (byte 76).
    pub cmic: u8,
    /// MDTS: maximum data transfer size, a power of two in units of the minimum memory page size (CAP.MPSMIN); 0 = no limit (byte 77).
    pub mdts: u8,
    /// CNTLID: controller ID within the NVM subsystem (bytes 78-79).
    pub cntlid: U16,
    /// VER: NVMe version supported, major in bits 31:16, minor 15:8, tertiary 7:0 (bytes 80-83).
    pub ver: U32,
    /// RTD3R: RTD3 resume latency in microseconds (bytes 84-87).
    pub rtd3r: U32,
    /// RTD3E: RTD3 entry latency in microseconds (bytes 88-91).
    pub rtd3e: U32,
    /// OAES: optional asynchronous events supported; bit 31 = Discovery Log Page Change notices (bytes 92-95).
    pub oaes: U32,
    /// CTRATT: controller attributes; bit 6 = TBKAS traffic based keep alive (bytes 96-99).
    pub ctratt: U32,
    /// Bytes 100-110 (RRLS and reserved); not decoded.
    pub rsvd100: [u8; 11],
    /// CNTRLTYPE: controller type, see [`cntrltype`] (byte 111).
    pub cntrltype: u8,
    /// Bytes 112-255 (FGUID, CRDT1-3, NVMe-MI area); not decoded.
    pub rsvd112: [u8; 144],
    /// OACS: optional admin command support bitmask (bytes 256-257).
    pub oacs: U16,
    /// ACL: abort command limit, 0's based (byte 258).
    pub acl: u8,
    /// AERL: asynchronous event request limit, 0's based (byte 259).
    pub aerl: u8,
    /// FRMW: firmware updates capabilities (byte 260).
    pub frmw: u8,
    /// LPA: log page attributes; bit 2 = extended data for Get Log Page (byte 261).
    pub lpa: u8,
    /// Bytes 262-319 (ELPE, NPSS, AVSCC, APSTA, temperature thresholds, HMB sizes, ...); not decoded.
    pub rsvd262: [u8; 58],
    /// KAS: keep alive support granularity in units of 100 ms; 0 = keep alive not supported (bytes 320-321).
    pub kas: U16,
    /// Bytes 322-511 (HCTMA, SANICAP, ANA fields, PELS, ...); not decoded.
    pub rsvd322: [u8; 190],
    /// SQES: submission queue entry size, bits 3:0 required and 7:4 maximum, as powers of two in bytes (byte 512).
    pub sqes: u8,
    /// CQES: completion queue entry size, bits 3:0 required and 7:4 maximum, as powers of two in bytes (byte 513).
    pub cqes: u8,
    /// MAXCMD: maximum outstanding commands on one queue; 0 = not reported (bytes 514-515).
    pub maxcmd: U16,
    /// NN: number of namespaces, i.e. the largest valid NSID (bytes 516-519).
    pub nn: U32,
    /// ONCS: optional NVM command support bitmask (bytes 520-521).
    pub oncs: U16,
    /// Bytes 522-524 (FUSES, FNA); not decoded.
    pub rsvd522: [u8; 3],
    /// VWC: volatile write cache present (bit 0) (byte 525).
    pub vwc: u8,
    /// Bytes 526-535 (AWUN, AWUPF, ICSVSCC, NWPC, ACWU, CDFS); not decoded.
    pub rsvd526: [u8; 10],
    /// SGLS: SGL support; bits 1:0 SGLs supported, bit 2 keyed SGL, bit 20 SAOS offset addressing (bytes 536-539).
    pub sgls: U32,
    /// Bytes 540-767 (MNAN, MAXDNA, MAXCNA, ...); not decoded.
    pub rsvd540: [u8; 228],
    /// SUBNQN: NVM subsystem NQN, NUL padded; for a TP8013 discovery controller its unique NQN (bytes 768-1023).
    pub subnqn: [u8; 256],
    /// Bytes 1024-1791, reserved.
    pub rsvd1024: [u8; 768],
    /// IOCCSZ: I/O queue command capsule size in 16-byte units, including the 64-byte SQE (bytes 1792-1795).
    pub ioccsz: U32,
    /// IORCSZ: I/O queue response capsule size in 16-byte units (bytes 1796-1799).
    pub iorcsz: U32,
    /// ICDOFF: in-capsule data offset in 16-byte units (bytes 1800-1801).
    pub icdoff: U16,
    /// FCATT: fabrics controller attributes; bit 0 = static controller model (byte 1802).
    pub fcatt: u8,
    /// MSDBD: maximum SGL data block descriptors per command; 1 for TCP (byte 1803).
    pub msdbd: u8,
    /// OFCS: optional fabrics commands supported; bit 0 = Disconnect (bytes 1804-1805).
    pub ofcs: U16,
    /// DCTYPE: discovery controller type (TP8010), see [`dctype`] (byte 1806).
    pub dctype: u8,
    /// Bytes 1807-2047, reserved.
    pub rsvd1807: [u8; 241],
    /// PSD0-PSD31: power state descriptors, 32 bytes each (bytes 2048-3071).
    pub psd: [u8; 1024],
    /// Vendor specific area (bytes 3072-4095).
    pub vs: [u8; 1024],
}

const _: () = assert!(size_of::<RawIdentifyController>() == IDENTIFY_SIZE);

/// Why Identify Controller data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyDecodeError {
    /// The buffer is shorter than [`IDENTIFY_SIZE`] bytes.
    #[error("identify controller data needs {IDENTIFY_SIZE} bytes, got {len}")]
    Short {
        /// Length of the buffer that was given, in bytes.
        len: usize,
    },
    /// A text field (SN, MN, FR, SUBNQN) holds a byte that is not printable ASCII.
    #[error("identify controller {field} has non-printable byte {byte:#04x} at offset {offset}")]
    NotPrintable {
        /// Name of the text field (`sn`, `mn`, `fr`, `subnqn`).
        field: &'static str,
        /// Byte offset of the bad byte within that field.
        offset: usize,
        /// The offending byte value.
        byte: u8,
    },
}

/// Decoded Identify Controller fields relevant to NVMe-oF hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyController {
    /// VID: PCI vendor ID.
    pub vid: u16,
    /// SSVID: PCI subsystem vendor ID.
    pub ssvid: u16,
    /// Serial number, trailing spaces stripped.
    pub sn: String,
    /// Model number, trailing spaces stripped.
    pub mn: String,
    /// Firmware revision, trailing spaces stripped.
    pub fr: String,
    /// Maximum data transfer size, as a power of two of the minimum page size (0 = no limit).
    pub mdts: u8,
    /// CNTLID: controller ID within the NVM subsystem.
    pub cntlid: u16,
    /// VER: NVMe version, see [`IdentifyController::version`].
    pub ver: u32,
    /// OAES: optional asynchronous events supported bitmask.
    pub oaes: u32,
    /// CTRATT: controller attributes bitmask.
    pub ctratt: u32,
    /// CNTRLTYPE: controller type, see [`cntrltype`].
    pub cntrltype: u8,
    /// OACS: optional admin command support bitmask.
    pub oacs: u16,
    /// 0's based number of outstanding AERs.
    pub aerl: u8,
    /// LPA: log page attributes bitmask.
    pub lpa: u8,
    /// Keep alive granularity in 100 ms units.
    pub kas: u16,
    /// SQES: required (bits 3:0) and maximum (bits 7:4) SQ entry size as powers of two in bytes.
    pub sqes: u8,
    /// CQES: required (bits 3:0) and maximum (bits 7:4) CQ entry size as powers of two in bytes.
    pub cqes: u8,
    /// MAXCMD: maximum outstanding commands per queue; 0 = not reported.
    pub maxcmd: u16,
    /// NN: number of namespaces (largest valid NSID).
    pub nn: u32,
    /// ONCS: optional NVM command support bitmask.
    pub oncs: u16,
    /// VWC: volatile write cache present (bit 0).
    pub vwc: u8,
    /// SGLS: SGL support bitmask.
    pub sgls: u32,
    /// SUBNQN: NVM subsystem NQN, cut at the first NUL, trailing spaces stripped.
    pub subnqn: String,
    /// I/O queue command capsule size in 16-byte units.
    pub ioccsz: u32,
    /// I/O queue response capsule size in 16-byte units.
    pub iorcsz: u32,
    /// In-capsule data offset in 16-byte units.
    pub icdoff: u16,
    /// FCATT: fabrics controller attributes; bit 0 = static controller model.
    pub fcatt: u8,
    /// MSDBD: maximum SGL data block descriptors per command.
    pub msdbd: u8,
    /// OFCS: optional fabrics commands supported bitmask.
    pub ofcs: u16,
    /// DCTYPE: discovery controller type, see [`dctype`].
    pub dctype: u8,
}

impl IdentifyController {
    /// Decodes the 4096-byte Identify Controller data structure.
    pub fn decode(buf: &[u8]) -> Result<Self, IdentifyDecodeError> {
        let (raw, _) = RawIdentifyController::ref_from_prefix(buf)
            .map_err(|_| IdentifyDecodeError::Short { len: buf.len() })?;
        Self::from_raw(raw)
    }

    /// Decodes an already laid out structure.
    pub fn from_raw(raw: &RawIdentifyController) -> Result<Self, IdentifyDecodeError> {
        let text = |field: &'static str, bytes: &[u8]| {
            ascii_field(bytes).map_err(|(offset, byte)| IdentifyDecodeError::NotPrintable {
                field,
                offset,
                byte,
            })
        };
        Ok(Self {
            vid: raw.vid.get(),
            ssvid: raw.ssvid.get(),
            sn: text("sn", &raw.sn)?,
            mn: text("mn", &raw.mn)?,
            fr: text("fr", &raw.fr)?,
            mdts: raw.mdts,
            cntlid: raw.cntlid.get(),
            ver: raw.ver.get(),
            oaes: raw.oaes.get(),
            ctratt: raw.ctratt.get(),
            cntrltype: raw.cntrltype,
            oacs: raw.oacs.get(),
            aerl: raw.aerl,
            lpa: raw.lpa,
            kas: raw.kas.get(),
            sqes: raw.sqes,
            cqes: raw.cqes,
            maxcmd: raw.maxcmd.get(),
            nn: raw.nn.get(),
            oncs: raw.oncs.get(),
            vwc: raw.vwc,
            sgls: raw.sgls.get(),
            subnqn: text("subnqn", &raw.subnqn)?,
            ioccsz: raw.ioccsz.get(),
            iorcsz: raw.iorcsz.get(),
            icdoff: raw.icdoff.get(),
            fcatt: raw.fcatt,
            msdbd: raw.msdbd,
            ofcs: raw.ofcs.get(),
            dctype: raw.dctype,
        })
    }

    /// VER as (major, minor, tertiary).
    pub fn version(&self) -> (u16, u8, u8) {
        (
            (self.ver >> 16) as u16,
            (self.ver >> 8) as u8,
            self.ver as u8,
        )
    }

    /// CNTRLTYPE says discovery controller.
    pub fn is_discovery_controller(&self) -> bool {
        self.cntrltype == cntrltype::DISCOVERY
    }

    /// DCTYPE is DDC or CDC, i.e. TP8010 DIM may be sent.
    pub fn supports_dim(&self) -> bool {
        matches!(self.dctype, dctype::DDC | dctype::CDC)
    }

    /// DCTYPE name as the kernel and libnvme spell it ("none", "ddc", "cdc", "reserved").
    pub fn dctype_name(&self) -> &'static str {
        match self.dctype {
            dctype::NOT_REPORTED => "none",
            dctype::DDC => "ddc",
            dctype::CDC => "cdc",
            _ => "reserved",
        }
    }

    /// CNTRLTYPE name as the kernel and libnvme spell it ("io", "discovery", "admin", ...).
    pub fn cntrltype_name(&self) -> &'static str {
        match self.cntrltype {
            cntrltype::IO => "io",
            cntrltype::DISCOVERY => "discovery",
            cntrltype::ADMIN => "admin",
            _ => "reserved",
        }
    }

    /// OAES: Discovery Log Page Change notices can be enabled.
    pub fn discovery_log_change_notices(&self) -> bool {
        self.oaes & OAES_DISCOVERY_LOG_CHANGE != 0
    }

    /// CTRATT.TBKAS: any command resets the keep-alive timer.
    pub fn traffic_based_keep_alive(&self) -> bool {
        self.ctratt & CTRATT_TBKAS != 0
    }

    /// LPA bit 2: Get Log Page supports NUMDU and offsets.
    pub fn log_page_extended_data(&self) -> bool {
        self.lpa & LPA_EXTENDED_DATA != 0
    }

    /// SGLS.SAOS: in-capsule data is supported.
    pub fn sgl_offset_supported(&self) -> bool {
        self.sgls & SGLS_SAOS != 0
    }

    /// OFCS bit 0: the Disconnect fabrics command is supported.
    pub fn disconnect_supported(&self) -> bool {
        self.ofcs & OFCS_DISCONNECT != 0
    }

    /// Maximum data transfer in bytes for a given minimum memory page size, `None` if
    /// unlimited (MDTS = 0) or not representable.
    pub fn max_transfer_bytes(&self, mpsmin_bytes: usize) -> Option<usize> {
        if self.mdts == 0 {
            return None;
        }
        1usize
            .checked_shl(u32::from(self.mdts))
            .and_then(|pages| pages.checked_mul(mpsmin_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use zerocopy::FromZeros;

    #[test]
    fn layout_offsets_match_spec() {
        type R = RawIdentifyController;
        let cases = [
            (offset_of!(R, ssvid), 2),
            (offset_of!(R, sn), 4),
            (offset_of!(R, mn), 24),
            (offset_of!(R, fr), 64),
            (offset_of!(R, rab), 72),
            (offset_of!(R, cmic), 76),
            (offset_of!(R, mdts), 77),
            (offset_of!(R, cntlid), 78),
            (offset_of!(R, ver), 80),
            (offset_of!(R, oaes), 92),
            (offset_of!(R, ctratt), 96),
            (offset_of!(R, cntrltype), 111),
            (offset_of!(R, oacs), 256),
            (offset_of!(R, aerl), 259),
            (offset_of!(R, lpa), 261),
            (offset_of!(R, kas), 320),
            (offset_of!(R, sqes), 512),
            (offset_of!(R, cqes), 513),
            (offset_of!(R, maxcmd), 514),
            (offset_of!(R, nn), 516),
            (offset_of!(R, oncs), 520),
            (offset_of!(R, vwc), 525),
            (offset_of!(R, sgls), 536),
            (offset_of!(R, subnqn), 768),
            (offset_of!(R, ioccsz), 1792),
            (offset_of!(R, iorcsz), 1796),
            (offset_of!(R, icdoff), 1800),
            (offset_of!(R, fcatt), 1802),
            (offset_of!(R, msdbd), 1803),
            (offset_of!(R, ofcs), 1804),
            (offset_of!(R, dctype), 1806),
            (offset_of!(R, psd), 2048),
            (offset_of!(R, vs), 3072),
        ];
        for (i, (got, want)) in cases.iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
    }

    /// An nvmet-like discovery controller image, built byte by byte from spec offsets.
    fn nvmet_discovery_image() -> Vec<u8> {
        let mut b = vec![0u8; IDENTIFY_SIZE];
        b[0..2].copy_from_slice(&0x1b36u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x1af4u16.to_le_bytes());
        b[4..24].fill(b' ');
        b[4..20].copy_from_slice(b"9d3e2c1b0a998877");
        b[24..64].fill(b' ');
        b[24..29].copy_from_slice(b"Linux");
        b[64..72].copy_from_slice(b"6.12.0  ");
        b[77] = 0;
        b[78..80].copy_from_slice(&1u16.to_le_bytes());
        b[80..84].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        b[92..96].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        b[96..100].copy_from_slice(&(1u32 << 6).to_le_bytes());
        b[111] = 2;
        b[256..258].copy_from_slice(&0u16.to_le_bytes());
        b[259] = 3;
        b[261] = 0x07;
        b[320..322].copy_from_slice(&10u16.to_le_bytes());
        b[512] = 0x66;
        b[513] = 0x44;
        b[514..516].copy_from_slice(&128u16.to_le_bytes());
        b[516..520].copy_from_slice(&0u32.to_le_bytes());
        b[536..540].copy_from_slice(&((1u32 << 20) | 0x5).to_le_bytes());
        let nqn = b"nqn.2014-08.org.nvmexpress.discovery";
        b[768..768 + nqn.len()].copy_from_slice(nqn);
        b[1792..1796].copy_from_slice(&4u32.to_le_bytes());
        b[1796..1800].copy_from_slice(&1u32.to_le_bytes());
        b[1800..1802].copy_from_slice(&0u16.to_le_bytes());
        b[1802] = 1;
        b[1803] = 1;
        b[1804..1806].copy_from_slice(&1u16.to_le_bytes());
        b[1806] = 1;
        b
    }

    #[test]
    fn decodes_discovery_controller() {
        let id = IdentifyController::decode(&nvmet_discovery_image()).unwrap();
        assert_eq!((id.vid, id.ssvid), (0x1b36, 0x1af4));
        assert_eq!(id.sn, "9d3e2c1b0a998877");
        assert_eq!(id.mn, "Linux");
        assert_eq!(id.fr, "6.12.0");
        assert_eq!(id.cntlid, 1);
        assert_eq!(id.version(), (2, 0, 0));
        assert!(id.discovery_log_change_notices());
        assert!(id.traffic_based_keep_alive());
        assert!(id.is_discovery_controller());
        assert_eq!(id.cntrltype_name(), "discovery");
        assert_eq!((id.aerl, id.lpa, id.kas), (3, 7, 10));
        assert!(id.log_page_extended_data());
        assert_eq!((id.sqes, id.cqes, id.maxcmd, id.nn), (0x66, 0x44, 128, 0));
        assert!(id.sgl_offset_supported());
        assert_eq!(id.subnqn, "nqn.2014-08.org.nvmexpress.discovery");
        assert_eq!((id.ioccsz, id.iorcsz, id.icdoff), (4, 1, 0));
        assert_eq!((id.fcatt, id.msdbd), (1, 1));
        assert!(id.disconnect_supported());
        assert!(id.supports_dim());
        assert_eq!(id.dctype_name(), "ddc");
        assert_eq!(id.max_transfer_bytes(4096), None);
    }

    #[test]
    fn raw_and_bytes_agree() {
        let img = nvmet_discovery_image();
        let raw = RawIdentifyController::read_from_bytes(&img).unwrap();
        assert_eq!(raw.as_bytes(), &img[..]);
        assert_eq!(
            IdentifyController::from_raw(&raw).unwrap(),
            IdentifyController::decode(&img).unwrap()
        );
    }

    #[test]
    fn short_buffer_is_an_error() {
        assert_eq!(
            IdentifyController::decode(&[0u8; 4095]),
            Err(IdentifyDecodeError::Short { len: 4095 })
        );
        assert!(IdentifyController::decode(&[]).is_err());
    }

    #[test]
    fn non_printable_string_is_an_error() {
        let mut img = nvmet_discovery_image();
        img[24 + 5] = 0x80;
        let err = IdentifyController::decode(&img).unwrap_err();
        assert_eq!(
            err,
            IdentifyDecodeError::NotPrintable {
                field: "mn",
                offset: 5,
                byte: 0x80
            }
        );
        assert!(err.to_string().contains("mn"));
    }

    #[test]
    fn zeroed_image_decodes_to_defaults() {
        let raw = RawIdentifyController::new_zeroed();
        let id = IdentifyController::from_raw(&raw).unwrap();
        assert_eq!(id.sn, "");
        assert!(!id.supports_dim());
        assert_eq!(id.dctype_name(), "none");
        assert_eq!(id.cntrltype_name(), "reserved");
    }

    #[test]
    fn mdts_to_bytes() {
        let mut raw = RawIdentifyController::new_zeroed();
        raw.mdts = 5;
        let id = IdentifyController::from_raw(&raw).unwrap();
        assert_eq!(id.max_transfer_bytes(4096), Some(128 * 1024));
        raw.mdts = 200;
        let id = IdentifyController::from_raw(&raw).unwrap();
        assert_eq!(id.max_transfer_bytes(4096), None);
    }
}
