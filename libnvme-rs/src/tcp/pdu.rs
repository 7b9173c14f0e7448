//! Decoded PDUs and the per-connection parameters the codec needs.

use bytes::Bytes;

use super::wire::{Cqe, MAX_PDA, Sqe, flags, hlen};

/// PDU-Type values (protocol reference §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PduType {
    /// 0x00 ICReq: Initialize Connection Request (host to controller).
    IcReq = 0x00,
    /// 0x01 ICResp: Initialize Connection Response (controller to host).
    IcResp = 0x01,
    /// 0x02 H2CTermReq: host to controller Terminate Connection Request.
    H2CTermReq = 0x02,
    /// 0x03 C2HTermReq: controller to host Terminate Connection Request.
    C2HTermReq = 0x03,
    /// 0x04 CapsuleCmd: command capsule (SQE and optional in-capsule data).
    CapsuleCmd = 0x04,
    /// 0x05 CapsuleResp: response capsule (CQE).
    CapsuleResp = 0x05,
    /// 0x06 H2CData: host to controller data, answering an R2T.
    H2CData = 0x06,
    /// 0x07 C2HData: controller to host data.
    C2HData = 0x07,
    /// 0x09 R2T: Ready to Transfer, the controller asks for write data.
    R2t = 0x09,
}

impl PduType {
    /// `None` for reserved values (0x08, ≥ 0x0A).
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x00 => Self::IcReq,
            0x01 => Self::IcResp,
            0x02 => Self::H2CTermReq,
            0x03 => Self::C2HTermReq,
            0x04 => Self::CapsuleCmd,
            0x05 => Self::CapsuleResp,
            0x06 => Self::H2CData,
            0x07 => Self::C2HData,
            0x09 => Self::R2t,
            _ => return None,
        })
    }

    /// The only HLEN this type may have.
    pub const fn hlen(self) -> u8 {
        match self {
            Self::IcReq | Self::IcResp => hlen::IC,
            Self::H2CTermReq | Self::C2HTermReq => hlen::TERM_REQ,
            Self::CapsuleCmd => hlen::CAPSULE_CMD,
            Self::CapsuleResp => hlen::CAPSULE_RESP,
            Self::H2CData | Self::C2HData => hlen::DATA,
            Self::R2t => hlen::R2T,
        }
    }

    /// Whether a negotiated header digest applies (never to ICReq/ICResp/TermReq).
    pub const fn has_header_digest(self) -> bool {
        !matches!(
            self,
            Self::IcReq | Self::IcResp | Self::H2CTermReq | Self::C2HTermReq
        )
    }

    /// Types whose data is located by PDO and covered by the data digest.
    pub const fn has_pdo_data(self) -> bool {
        matches!(self, Self::CapsuleCmd | Self::H2CData | Self::C2HData)
    }

    /// Sent by the host (data alignment is then the controller's CPDA).
    pub const fn is_h2c(self) -> bool {
        matches!(
            self,
            Self::IcReq | Self::H2CTermReq | Self::CapsuleCmd | Self::H2CData
        )
    }

    /// FLAGS bits this type may carry.
    pub const fn allowed_flags(self) -> u8 {
        match self {
            Self::IcReq | Self::IcResp | Self::H2CTermReq | Self::C2HTermReq => 0,
            Self::CapsuleResp | Self::R2t => flags::HDGSTF,
            Self::CapsuleCmd => flags::HDGSTF | flags::DDGSTF,
            Self::H2CData => flags::HDGSTF | flags::DDGSTF | flags::LAST_PDU,
            Self::C2HData => flags::HDGSTF | flags::DDGSTF | flags::LAST_PDU | flags::SUCCESS,
        }
    }
}

/// Initialize Connection Request. PFV is always 0 and not represented.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IcReq {
    /// Host PDU data alignment, 0's based dwords (0..=31); send 0 (nvmet rejects others).
    pub hpda: u8,
    /// DGST bit 0: ask for header digests (CRC32C).
    pub hdgst: bool,
    /// DGST bit 1: ask for data digests (CRC32C).
    pub ddgst: bool,
    /// Max outstanding R2Ts per command, 0's based.
    pub maxr2t: u32,
}

/// Initialize Connection Response. PFV is always 0 and not represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcResp {
    /// Controller PDU data alignment, 0's based dwords (0..=31).
    pub cpda: u8,
    /// Digests enabled for the connection.
    pub hdgst: bool,
    /// Data digests (CRC32C) enabled (DGST bit 1); `hdgst` is bit 0.
    pub ddgst: bool,
    /// Max data bytes per H2CData PDU (not 0's based; ≥ 4096, multiple of 4).
    pub maxh2cdata: u32,
}

/// H2CTermReq / C2HTermReq body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermReq {
    /// Fatal Error Status (see [`super::wire::fes`]); kept raw, unknown values included.
    pub fes: u16,
    /// Fatal Error Information (field offset for FES 0x01/0x06).
    pub fei: u32,
    /// Copy of the offending PDU header, at most 128 bytes.
    pub data: Bytes,
}

/// Command capsule: SQE plus optional in-capsule data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsuleCmd {
    /// The 64-byte submission queue entry.
    pub sqe: Sqe,
    /// In-capsule data; empty when the command carries none.
    pub data: Bytes,
}

/// Response capsule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapsuleResp {
    /// The 16-byte completion queue entry.
    pub cqe: Cqe,
}

/// Host-to-controller data answering an R2T.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H2CData {
    /// CCCID: CID of the command the data belongs to.
    pub cccid: u16,
    /// Transfer tag copied from the R2T.
    pub ttag: u16,
    /// DATAO: byte offset of this data within the command's buffer.
    pub datao: u32,
    /// Last PDU answering this R2T.
    pub last: bool,
    /// The data bytes (DATAL bytes).
    pub data: Bytes,
}

/// Controller-to-host data (TTAG is reserved here and ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2HData {
    /// CCCID: CID of the command the data belongs to.
    pub cccid: u16,
    /// DATAO: byte offset of this data within the command's buffer.
    pub datao: u32,
    /// Last PDU of the command's data.
    pub last: bool,
    /// Command completed successfully, no CapsuleResp follows (requires `last`).
    pub success: bool,
    /// The data bytes (DATAL bytes).
    pub data: Bytes,
}

/// Ready to Transfer: the controller asks for `r2tl` bytes at `r2to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct R2t {
    /// CCCID: CID of the write command.
    pub cccid: u16,
    /// TTAG: transfer tag the host must echo in its H2CData PDUs.
    pub ttag: u16,
    /// R2TO: byte offset within the command's buffer of the requested data.
    pub r2to: u32,
    /// R2TL: number of bytes requested.
    pub r2tl: u32,
}

/// One NVMe/TCP PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    /// ICReq (0x00).
    IcReq(IcReq),
    /// ICResp (0x01).
    IcResp(IcResp),
    /// H2CTermReq (0x02).
    H2CTermReq(TermReq),
    /// C2HTermReq (0x03).
    C2HTermReq(TermReq),
    /// CapsuleCmd (0x04).
    CapsuleCmd(CapsuleCmd),
    /// CapsuleResp (0x05).
    CapsuleResp(CapsuleResp),
    /// H2CData (0x06).
    H2CData(H2CData),
    /// C2HData (0x07).
    C2HData(C2HData),
    /// R2T (0x09).
    R2t(R2t),
}

impl Pdu {
    /// The PDU-Type value of this PDU.
    pub fn pdu_type(&self) -> PduType {
        match self {
            Self::IcReq(_) => PduType::IcReq,
            Self::IcResp(_) => PduType::IcResp,
            Self::H2CTermReq(_) => PduType::H2CTermReq,
            Self::C2HTermReq(_) => PduType::C2HTermReq,
            Self::CapsuleCmd(_) => PduType::CapsuleCmd,
            Self::CapsuleResp(_) => PduType::CapsuleResp,
            Self::H2CData(_) => PduType::H2CData,
            Self::C2HData(_) => PduType::C2HData,
            Self::R2t(_) => PduType::R2t,
        }
    }

    /// The data the PDU carries (empty for types without data).
    pub fn data(&self) -> &Bytes {
        static EMPTY: Bytes = Bytes::new();
        match self {
            Self::H2CTermReq(t) | Self::C2HTermReq(t) => &t.data,
            Self::CapsuleCmd(c) => &c.data,
            Self::H2CData(d) => &d.data,
            Self::C2HData(d) => &d.data,
            Self::IcReq(_) | Self::IcResp(_) | Self::CapsuleResp(_) | Self::R2t(_) => &EMPTY,
        }
    }
}

/// What ICReq/ICResp settled for a connection; both directions use the same value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// Header digests (CRC32C) are enabled on the connection.
    pub hdgst: bool,
    /// Data digests (CRC32C) are enabled on the connection.
    pub ddgst: bool,
    /// Alignment of data in H2C PDUs (from ICResp), 0's based dwords.
    pub cpda: u8,
    /// Alignment of data in C2H PDUs (from ICReq), 0's based dwords.
    pub hpda: u8,
}

impl Negotiated {
    /// The digests are the ones the controller enabled; checking them against the request
    /// is the queue pair's business.
    pub fn from_exchange(req: &IcReq, resp: &IcResp) -> Self {
        Self {
            hdgst: resp.hdgst,
            ddgst: resp.ddgst,
            cpda: resp.cpda,
            hpda: req.hpda,
        }
    }

    /// The PDA field governing data of `pdu_type`.
    pub fn pda(&self, pdu_type: PduType) -> u8 {
        if pdu_type.is_h2c() {
            self.cpda
        } else {
            self.hpda
        }
    }

    /// Data alignment in bytes for `pdu_type` ((PDA+1)*4; PDA clamped to 31).
    pub fn alignment(&self, pdu_type: PduType) -> usize {
        (usize::from(self.pda(pdu_type).min(MAX_PDA)) + 1) * 4
    }
}

/// Receive bounds: the decoder never accepts (nor asks the caller to buffer) more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest PLEN accepted.
    pub max_plen: u32,
    /// Largest data payload of one PDU (in-capsule, H2CData or C2HData).
    pub max_data: u32,
}

impl Limits {
    /// Bytes a PDU may add around its data: PDO (≤ 255) plus a data digest.
    pub const MAX_OVERHEAD: u32 = 255 + 4;
    /// Default data bound, above the transfer sizes a discovery host issues.
    pub const DEFAULT_MAX_DATA: u32 = 1 << 20;

    /// Limits allowing `max_data` bytes of data in any framing.
    pub const fn new(max_data: u32) -> Self {
        Self {
            max_plen: max_data.saturating_add(Self::MAX_OVERHEAD),
            max_data,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_DATA)
    }
}
