//! Codec errors. Decode errors carry what a TermReq needs (FES, FEI) so the queue pair can
//! tell the peer why it is closing the connection.

use std::fmt;

use bytes::Bytes;

use super::pdu::{PduType, TermReq};
use super::wire::{MAX_TERM_REQ_DATA, fes, offset};

/// Which of the two digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    Header,
    Data,
}

impl fmt::Display for DigestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Data => "data",
        })
    }
}

/// A received digest that does not match the computed CRC32C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} digest mismatch: received {received:#010x}, computed {computed:#010x}")]
pub struct DigestError {
    pub kind: DigestKind,
    pub received: u32,
    pub computed: u32,
    /// For a data digest: the command the data belongs to (CapsuleCmd CID or CCCID), so a
    /// host can fail just that command instead of the connection.
    pub cccid: Option<u16>,
}

/// Why a received PDU was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("unknown PDU type {0:#04x}")]
    UnknownType(u8),
    #[error("HLEN {hlen} is invalid for {pdu_type:?}")]
    InvalidHlen { pdu_type: PduType, hlen: u8 },
    #[error("FLAGS {flags:#04x} are invalid for {pdu_type:?}")]
    InvalidFlags { pdu_type: PduType, flags: u8 },
    #[error("C2HData SUCCESS flag without LAST_PDU")]
    SuccessWithoutLast,
    #[error("{kind} digest flag is {}, but the connection negotiated it {}",
        if *negotiated { "clear" } else { "set" },
        if *negotiated { "on" } else { "off" })]
    DigestFlagMismatch { kind: DigestKind, negotiated: bool },
    #[error("PDO {pdo} is invalid for {pdu_type:?} (HLEN {hlen})")]
    InvalidPdo {
        pdu_type: PduType,
        hlen: u8,
        pdo: u8,
    },
    #[error("PLEN {plen} is invalid for {pdu_type:?}")]
    InvalidPlen { pdu_type: PduType, plen: u32 },
    #[error("PLEN {plen} exceeds the limit of {max} bytes")]
    PlenTooLarge { plen: u32, max: u32 },
    #[error("truncated PDU: {have} of {need} bytes")]
    Truncated { need: usize, have: usize },
    #[error("DATAL {datal} does not match the {actual} data bytes PLEN leaves")]
    InvalidDatal { datal: u32, actual: u32 },
    #[error("{len} data bytes exceed the limit of {max}")]
    DataTooLarge { len: u32, max: u32 },
    #[error("PDU digest check failed")]
    Digest(#[source] DigestError),
    #[error("unsupported PDU format version {0}")]
    UnsupportedPfv(u16),
    #[error("PDU data alignment {0} is above 31")]
    InvalidPda(u8),
    #[error("MAXH2CDATA {0} is below 4096 or not a multiple of 4")]
    InvalidMaxH2cData(u32),
    /// A valid PDU that is not allowed in the current state (raised by the queue pair).
    #[error("unexpected {0:?} PDU")]
    UnexpectedPdu(PduType),
    /// Data offset/length outside the command's buffer (raised by the queue pair, or by
    /// the codec when DATAO + DATAL overflows).
    #[error("data transfer out of range for CID {cccid}: offset {offset}, length {len}")]
    DataOutOfRange { cccid: u16, offset: u32, len: u32 },
}

impl PduError {
    /// TermReq Fatal Error Status for this error.
    pub fn fes(&self) -> u16 {
        match self {
            Self::UnexpectedPdu(_) => fes::PDU_SEQUENCE_ERROR,
            Self::Digest(_) => fes::HEADER_DIGEST_ERROR,
            Self::DataOutOfRange { .. } => fes::DATA_OUT_OF_RANGE,
            Self::DataTooLarge { .. } => fes::DATA_LIMIT_EXCEEDED,
            Self::UnsupportedPfv(_) => fes::UNSUPPORTED_PARAMETER,
            _ => fes::INVALID_HEADER_FIELD,
        }
    }

    /// TermReq Fatal Error Information: the byte offset of the offending field for FES 0x01
    /// and 0x06, reserved (0) otherwise.
    pub fn fei(&self) -> u32 {
        match self {
            Self::UnknownType(_) => offset::PDU_TYPE,
            Self::InvalidFlags { .. }
            | Self::SuccessWithoutLast
            | Self::DigestFlagMismatch { .. } => offset::FLAGS,
            Self::InvalidHlen { .. } => offset::HLEN,
            Self::InvalidPdo { .. } => offset::PDO,
            Self::InvalidPlen { .. } | Self::PlenTooLarge { .. } | Self::Truncated { .. } => {
                offset::PLEN
            }
            Self::InvalidDatal { .. } => offset::DATAL,
            Self::UnsupportedPfv(_) => offset::PFV,
            Self::InvalidPda(_) => offset::PDA,
            Self::InvalidMaxH2cData(_) => offset::MAXH2CDATA,
            Self::Digest(_)
            | Self::UnexpectedPdu(_)
            | Self::DataOutOfRange { .. }
            | Self::DataTooLarge { .. } => 0,
        }
    }

    /// False only for a data digest error: the spec (and the Linux host) fail just the
    /// command then and keep the connection.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::Digest(DigestError {
                kind: DigestKind::Data,
                ..
            })
        )
    }

    /// The TermReq body to send for this error; `offending_header` is the received header
    /// (only its first 128 bytes are copied).
    pub fn term_req(&self, offending_header: &[u8]) -> TermReq {
        let copy = offending_header
            .get(..MAX_TERM_REQ_DATA)
            .unwrap_or(offending_header);
        TermReq {
            fes: self.fes(),
            fei: self.fei(),
            data: Bytes::copy_from_slice(copy),
        }
    }
}

impl From<DigestError> for PduError {
    fn from(e: DigestError) -> Self {
        Self::Digest(e)
    }
}

/// Why a PDU cannot be encoded (the encoder never emits what the decoder would reject).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("PDU data alignment {0} is above 31")]
    InvalidPda(u8),
    #[error("MAXH2CDATA {0} is below 4096 or not a multiple of 4")]
    InvalidMaxH2cData(u32),
    #[error("TermReq carries {0} bytes, at most 128 are allowed")]
    TermReqDataTooLong(usize),
    #[error("C2HData SUCCESS flag requires LAST_PDU")]
    SuccessWithoutLast,
    #[error("data offset {offset} + length {len} overflows 32 bits")]
    OffsetOverflow { offset: u32, len: u32 },
    #[error("PDU of {0} bytes does not fit PLEN")]
    TooLarge(usize),
}
