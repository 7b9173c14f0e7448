//! Wire layouts of the NVMe/TCP PDU headers (protocol reference §1.2–§1.9) and the 64-byte
//! SQE / 16-byte CQE they carry, shared by the codec and the queue pair.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::admin::AdminCommand;
use crate::spec::status::NvmeStatus;

/// Length of the common header (CH).
pub const CH_LEN: usize = 8;
/// Length of a header or data digest.
pub const DIGEST_LEN: usize = 4;
/// Largest PDU data alignment field value (0's based dwords, so 128 bytes).
pub const MAX_PDA: u8 = 31;
/// Smallest MAXH2CDATA a controller may announce.
pub const MIN_MAXH2CDATA: u32 = 4096;
/// Largest copy of an offending header a TermReq may carry.
pub const MAX_TERM_REQ_DATA: usize = 128;

/// HLEN of each PDU type (CH included, header digest excluded).
pub mod hlen {
    /// ICReq / ICResp: 128 bytes.
    pub const IC: u8 = 128;
    /// H2CTermReq / C2HTermReq: 24 bytes.
    pub const TERM_REQ: u8 = 24;
    /// CapsuleCmd: 8-byte CH + 64-byte SQE = 72 bytes.
    pub const CAPSULE_CMD: u8 = 72;
    /// CapsuleResp: 8-byte CH + 16-byte CQE = 24 bytes.
    pub const CAPSULE_RESP: u8 = 24;
    /// H2CData / C2HData: 24 bytes.
    pub const DATA: u8 = 24;
    /// R2T: 24 bytes.
    pub const R2T: u8 = 24;
}

/// Common header FLAGS bits.
pub mod flags {
    /// A header digest follows the header.
    pub const HDGSTF: u8 = 0x01;
    /// A data digest follows the data.
    pub const DDGSTF: u8 = 0x02;
    /// Last data PDU of a transfer (H2CData, C2HData).
    pub const LAST_PDU: u8 = 0x04;
    /// C2HData only: command done, no CapsuleResp follows.
    pub const SUCCESS: u8 = 0x08;
}

/// ICReq/ICResp DGST bits.
pub mod dgst {
    /// Bit 0: header digest (CRC32C) requested (ICReq) or enabled (ICResp).
    pub const HDGST_ENABLE: u8 = 0x01;
    /// Bit 1: data digest (CRC32C) requested (ICReq) or enabled (ICResp).
    pub const DDGST_ENABLE: u8 = 0x02;
}

/// Byte offsets reported in a TermReq's FEI.
pub mod offset {
    /// Common header PDU-Type.
    pub const PDU_TYPE: u32 = 0;
    /// Common header FLAGS.
    pub const FLAGS: u32 = 1;
    /// Common header HLEN.
    pub const HLEN: u32 = 2;
    /// Common header PDO.
    pub const PDO: u32 = 3;
    /// Common header PLEN.
    pub const PLEN: u32 = 4;
    /// ICReq/ICResp PFV.
    pub const PFV: u32 = 8;
    /// ICReq HPDA / ICResp CPDA.
    pub const PDA: u32 = 10;
    /// ICResp MAXH2CDATA.
    pub const MAXH2CDATA: u32 = 12;
    /// H2CData/C2HData DATAO (R2T: R2TO).
    pub const DATAO: u32 = 12;
    /// H2CData/C2HData DATAL (R2T: R2TL).
    pub const DATAL: u32 = 16;
}

/// Fatal Error Status values of H2CTermReq / C2HTermReq.
pub mod fes {
    /// 0x01 Invalid PDU Header Field; FEI is the byte offset of the bad field.
    pub const INVALID_HEADER_FIELD: u16 = 0x01;
    /// 0x02 PDU Sequence Error: a PDU arrived that was not expected in this state.
    pub const PDU_SEQUENCE_ERROR: u16 = 0x02;
    /// 0x03 Header Digest Error.
    pub const HEADER_DIGEST_ERROR: u16 = 0x03;
    /// 0x04 Data Transfer Out of Range: data outside the command's buffer.
    pub const DATA_OUT_OF_RANGE: u16 = 0x04;
    /// 0x05 Data Transfer Limit Exceeded (also R2T Limit Exceeded).
    pub const DATA_LIMIT_EXCEEDED: u16 = 0x05;
    /// 0x06 Unsupported Parameter; FEI is the byte offset of the field.
    pub const UNSUPPORTED_PARAMETER: u16 = 0x06;
}

/// The 8-byte common header.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct CommonHeader {
    /// PDU-Type (byte 0), see [`PduType`](crate::tcp::PduType).
    pub pdu_type: u8,
    /// FLAGS (byte 1), see [`flags`].
    pub flags: u8,
    /// HLEN (byte 2): header length in bytes including this CH, excluding the header digest.
    pub hlen: u8,
    /// PDO (byte 3): PDU data offset, bytes from PDU start to the data; 0 if no data.
    pub pdo: u8,
    /// PLEN (bytes 4-7): total PDU length in bytes, header, digests, padding and data included.
    pub plen: U32,
}
const _: () = assert!(size_of::<CommonHeader>() == CH_LEN);

/// ICReq (128 bytes).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawIcReq {
    /// Common header (type 0x00, HLEN = PLEN = 128).
    pub ch: CommonHeader,
    /// PFV: PDU format version, must be 0.
    pub pfv: U16,
    /// HPDA: host PDU data alignment for C2H data, 0's based in dwords (0-31).
    pub hpda: u8,
    /// DGST: digests the host asks for, see [`dgst`].
    pub dgst: u8,
    /// MAXR2T: maximum outstanding R2Ts per command, 0's based.
    pub maxr2t: U32,
    /// Bytes 16-127, reserved (zero).
    pub rsvd16: [u8; 112],
}
const _: () = assert!(size_of::<RawIcReq>() == hlen::IC as usize);

/// ICResp (128 bytes).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawIcResp {
    /// Common header (type 0x01, HLEN = PLEN = 128).
    pub ch: CommonHeader,
    /// PFV: PDU format version, 0.
    pub pfv: U16,
    /// CPDA: controller PDU data alignment required for H2C data, 0's based in dwords (0-31).
    pub cpda: u8,
    /// DGST: digests enabled for the connection, see [`dgst`].
    pub dgst: u8,
    /// MAXH2CDATA: maximum data bytes in one H2CData PDU (not 0's based; at least 4096, multiple of 4).
    pub maxh2cdata: U32,
    /// Bytes 16-127, reserved.
    pub rsvd16: [u8; 112],
}
const _: () = assert!(size_of::<RawIcResp>() == hlen::IC as usize);

/// H2CTermReq / C2HTermReq header (24 bytes); the offending header copy follows.
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawTermReqHeader {
    /// Common header (type 0x02 or 0x03, HLEN 24).
    pub ch: CommonHeader,
    /// FES: fatal error status, see [`fes`].
    pub fes: U16,
    /// FEI: fatal error information (for FES 0x01 / 0x06 the byte offset of the bad field).
    pub fei: U32,
    /// Bytes 14-23, reserved.
    pub rsvd14: [u8; 10],
}
const _: () = assert!(size_of::<RawTermReqHeader>() == hlen::TERM_REQ as usize);

/// CapsuleCmd header: CH + SQE (72 bytes).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawCapsuleCmdHeader {
    /// Common header (type 0x04, HLEN 72).
    pub ch: CommonHeader,
    /// The 64-byte submission queue entry.
    pub sqe: Sqe,
}
const _: () = assert!(size_of::<RawCapsuleCmdHeader>() == hlen::CAPSULE_CMD as usize);

/// CapsuleResp: CH + CQE (24 bytes).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawCapsuleRespHeader {
    /// Common header (type 0x05, HLEN 24).
    pub ch: CommonHeader,
    /// The 16-byte completion queue entry.
    pub cqe: Cqe,
}
const _: () = assert!(size_of::<RawCapsuleRespHeader>() == hlen::CAPSULE_RESP as usize);

/// H2CData / C2HData / R2T header (24 bytes): the three share one layout (for R2T, `datao`
/// and `datal` are R2TO and R2TL; for C2HData, `ttag` is reserved).
#[repr(C)]
#[derive(Debug, Clone, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawDataHeader {
    /// Common header (type 0x06, 0x07 or 0x09, HLEN 24).
    pub ch: CommonHeader,
    /// CCCID: command capsule CID of the command the data belongs to.
    pub cccid: U16,
    /// TTAG: transfer tag chosen by the controller in R2T, echoed in H2CData; reserved in C2HData.
    pub ttag: U16,
    /// DATAO (R2T: R2TO): byte offset of this data within the command's buffer.
    pub datao: U32,
    /// DATAL (R2T: R2TL): data length in bytes.
    pub datal: U32,
    /// Bytes 20-23, reserved.
    pub rsvd20: [u8; 4],
}
const _: () = assert!(size_of::<RawDataHeader>() == hlen::DATA as usize);

/// SGL descriptor (SQE bytes 24-39; protocol reference §1.7).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct SglDescriptor {
    /// Address (bytes 0-7): offset into in-capsule data, or 0 for a transport data block.
    pub addr: U64,
    /// Length of the data in bytes.
    pub length: U32,
    /// Reserved bytes 12-14.
    pub rsvd: [u8; 3],
    /// Descriptor type (bits 7:4) and subtype (bits 3:0).
    pub id: u8,
}
const _: () = assert!(size_of::<SglDescriptor>() == 16);

impl SglDescriptor {
    /// Data Block, subtype Offset: the data is in the capsule.
    pub const ID_IN_CAPSULE: u8 = 0x01;
    /// Transport SGL Data Block: data moves by C2HData or R2T/H2CData.
    pub const ID_TRANSPORT: u8 = 0x5A;

    /// Data of `len` bytes at offset 0 of the in-capsule data.
    pub fn in_capsule(len: u32) -> Self {
        Self {
            length: len.into(),
            id: Self::ID_IN_CAPSULE,
            ..Self::default()
        }
    }

    /// Data of `len` bytes moved by data PDUs (also used with 0 for "no data", as Linux does).
    pub fn transport(len: u32) -> Self {
        Self {
            length: len.into(),
            id: Self::ID_TRANSPORT,
            ..Self::default()
        }
    }
}

/// A 64-byte submission queue entry. Fabrics commands (opcode 0x7F) overlay their own
/// fields from byte 4 on; build those with [`Sqe::from_bytes`] / [`IntoBytes::as_bytes`].
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct Sqe {
    /// OPC: command opcode (byte 0).
    pub opcode: u8,
    /// FUSE (bits 1:0) and PSDT (bits 7:6); always [`Sqe::PSDT_SGL`] over fabrics.
    pub flags: u8,
    /// CID: command identifier, unique among the queue's outstanding commands (bytes 2-3).
    pub cid: U16,
    /// NSID: namespace ID (bytes 4-7).
    pub nsid: U32,
    /// CDW2: command dword 2 (bytes 8-11).
    pub cdw2: U32,
    /// CDW3: command dword 3 (bytes 12-15).
    pub cdw3: U32,
    /// MPTR: metadata pointer (bytes 16-23); unused over fabrics.
    pub mptr: U64,
    /// DPTR: data pointer, SGL descriptor (bytes 24-39).
    pub dptr: SglDescriptor,
    /// CDW10: command specific dword 10 (bytes 40-43).
    pub cdw10: U32,
    /// CDW11: command specific dword 11 (bytes 44-47).
    pub cdw11: U32,
    /// CDW12: command specific dword 12 (bytes 48-51).
    pub cdw12: U32,
    /// CDW13: command specific dword 13 (bytes 52-55).
    pub cdw13: U32,
    /// CDW14: command specific dword 14 (bytes 56-59).
    pub cdw14: U32,
    /// CDW15: command specific dword 15 (bytes 60-63).
    pub cdw15: U32,
}
const _: () = assert!(size_of::<Sqe>() == 64);

impl Sqe {
    /// PSDT = 01b (SGL), mandatory over fabrics.
    pub const PSDT_SGL: u8 = 0x40;

    /// An admin submission with command identifier `cid` and data pointer `dptr`.
    pub fn from_admin(cmd: &AdminCommand, cid: u16, dptr: SglDescriptor) -> Self {
        Self {
            opcode: cmd.opcode,
            flags: Self::PSDT_SGL,
            cid: cid.into(),
            nsid: cmd.nsid.into(),
            dptr,
            cdw10: cmd.cdw10.into(),
            cdw11: cmd.cdw11.into(),
            cdw12: cmd.cdw12.into(),
            cdw13: cmd.cdw13.into(),
            cdw14: cmd.cdw14.into(),
            cdw15: cmd.cdw15.into(),
            ..Self::default()
        }
    }

    /// Reinterprets 64 raw bytes (e.g. a Fabrics command built elsewhere).
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self::read_from_bytes(bytes).unwrap_or_default()
    }

    /// CID: command identifier.
    pub fn cid(&self) -> u16 {
        self.cid.get()
    }

    /// Sets the CID (command identifier).
    pub fn set_cid(&mut self, cid: u16) {
        self.cid = cid.into();
    }
}

/// A 16-byte completion queue entry.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct Cqe {
    /// DW0: command specific result (bytes 0-3).
    pub dw0: U32,
    /// DW1: command specific result (bytes 4-7).
    pub dw1: U32,
    /// SQHD: submission queue head pointer (bytes 8-9).
    pub sqhd: U16,
    /// SQID: submission queue the command was on (bytes 10-11).
    pub sqid: U16,
    /// CID: identifier of the completed command (bytes 12-13).
    pub cid: U16,
    /// Phase tag (bit 0) and status field (bits 15:1).
    pub status: U16,
}
const _: () = assert!(size_of::<Cqe>() == 16);

impl Cqe {
    /// CID: identifier of the completed command.
    pub fn cid(&self) -> u16 {
        self.cid.get()
    }

    /// Command-specific result (e.g. Connect's CNTLID and ATR bits).
    pub fn dw0(&self) -> u32 {
        self.dw0.get()
    }

    /// DW1: second command specific result dword (e.g. upper half of an 8-byte Property Get).
    pub fn dw1(&self) -> u32 {
        self.dw1.get()
    }

    /// SQ head pointer; meaningless when SQ flow control is disabled.
    pub fn sqhd(&self) -> u16 {
        self.sqhd.get()
    }

    /// SQID: submission queue ID the command was submitted to.
    pub fn sqid(&self) -> u16 {
        self.sqid.get()
    }

    /// Phase tag; carries no meaning over fabrics but is kept for completeness.
    pub fn phase(&self) -> bool {
        self.status.get() & 1 != 0
    }

    /// The 15-bit status field (SC, SCT, CRD, M, DNR) without the phase tag.
    pub fn status_field(&self) -> u16 {
        self.status.get() >> 1
    }

    /// The error status, or `None` when the command succeeded.
    pub fn status(&self) -> Option<NvmeStatus> {
        NvmeStatus::from_cqe_dw3(u32::from(self.status.get()) << 16)
    }

    /// SCT and SC are both 0 (Successful Completion).
    pub fn is_success(&self) -> bool {
        self.status_field() & 0x7ff == 0
    }

    /// More information available in the Error Information log.
    pub fn more(&self) -> bool {
        self.status_field() & (1 << 13) != 0
    }

    /// Do Not Retry.
    pub fn dnr(&self) -> bool {
        self.status_field() & (1 << 14) != 0
    }

    /// Command Retry Delay index (0 = retry at once).
    pub fn crd(&self) -> u8 {
        ((self.status_field() >> 11) & 0x3) as u8
    }
}
