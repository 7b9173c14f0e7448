//! Codec errors. Decode errors carry what a TermReq needs (FES, FEI) so the queue pair can
//! tell the peer why it is closing the connection.

use std::fmt;

use bytes::Bytes;

use super::pdu::{PduType, TermReq};
use super::wire::{MAX_TERM_REQ_DATA, fes, offset};

/// Which of the two digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    /// HDGST: CRC32C over the PDU header.
    Header,
    /// DDGST: CRC32C over the PDU data.
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
    /// Which digest failed.
    pub kind: DigestKind,
    /// The digest value carried by the PDU.
    pub received: u32,
    /// The CRC32C computed over the received bytes.
    pub computed: u32,
    /// For a data digest: the command the data belongs to (CapsuleCmd CID or CCCID), so a
    /// host can fail just that command instead of the connection.
    pub cccid: Option<u16>,
}

/// Why a received PDU was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// PDU-Type is reserved or unknown (0x08, 0x0A and above).
    #[error("unknown PDU type {0:#04x}")]
    UnknownType(u8),
    /// HLEN is not the fixed header length of the PDU type.
    #[error("HLEN {hlen} is invalid for {pdu_type:?}")]
    InvalidHlen {
        /// Type of the PDU.
        pdu_type: PduType,
        /// The HLEN received.
        hlen: u8,
    },
    /// FLAGS has bits set that the PDU type may not carry.
    #[error("FLAGS {flags:#04x} are invalid for {pdu_type:?}")]
    InvalidFlags {
        /// Type of the PDU.
        pdu_type: PduType,
        /// The FLAGS byte received.
        flags: u8,
    },
    /// C2HData has SUCCESS set without LAST_PDU.
    #[error("C2HData SUCCESS flag without LAST_PDU")]
    SuccessWithoutLast,
    /// HDGSTF or DDGSTF disagrees with what ICReq/ICResp negotiated.
    #[error("{kind} digest flag is {}, but the connection negotiated it {}",
        if *negotiated { "clear" } else { "set" },
        if *negotiated { "on" } else { "off" })]
    DigestFlagMismatch {
        /// Which digest flag.
        kind: DigestKind,
        /// Whether that digest was negotiated on.
        negotiated: bool,
    },
    /// PDO is wrong: below HLEN plus header digest, past the negotiated alignment, or non-zero on a PDU without data.
    #[error("PDO {pdo} is invalid for {pdu_type:?} (HLEN {hlen})")]
    InvalidPdo {
        /// Type of the PDU.
        pdu_type: PduType,
        /// HLEN of the PDU.
        hlen: u8,
        /// The PDO received.
        pdo: u8,
    },
    /// PLEN is inconsistent with the PDU's header, digests and data.
    #[error("PLEN {plen} is invalid for {pdu_type:?}")]
    InvalidPlen {
        /// Type of the PDU.
        pdu_type: PduType,
        /// The PLEN received, in bytes.
        plen: u32,
    },
    /// PLEN exceeds the configured [`Limits::max_plen`](crate::tcp::Limits::max_plen).
    #[error("PLEN {plen} exceeds the limit of {max} bytes")]
    PlenTooLarge {
        /// The PLEN received, in bytes.
        plen: u32,
        /// The limit, in bytes.
        max: u32,
    },
    /// The buffer holds less than the whole header or PDU.
    #[error("truncated PDU: {have} of {need} bytes")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// DATAL does not match the data length PLEN and PDO leave.
    #[error("DATAL {datal} does not match the {actual} data bytes PLEN leaves")]
    InvalidDatal {
        /// The DATAL received, in bytes.
        datal: u32,
        /// The data bytes the PDU really carries.
        actual: u32,
    },
    /// The PDU carries more data than [`Limits::max_data`](crate::tcp::Limits::max_data).
    #[error("{len} data bytes exceed the limit of {max}")]
    DataTooLarge {
        /// Data bytes carried.
        len: u32,
        /// The limit, in bytes.
        max: u32,
    },
    /// A header or data digest did not match.
    #[error("PDU digest check failed")]
    Digest(#[source] DigestError),
    /// ICReq/ICResp PFV is not 0.
    #[error("unsupported PDU format version {0}")]
    UnsupportedPfv(u16),
    /// HPDA/CPDA above 31 (0's based dwords).
    #[error("PDU data alignment {0} is above 31")]
    InvalidPda(u8),
    /// ICResp MAXH2CDATA is below 4096 or not a multiple of 4.
    #[error("MAXH2CDATA {0} is below 4096 or not a multiple of 4")]
    InvalidMaxH2cData(u32),
    /// A valid PDU that is not allowed in the current state (raised by the queue pair).
    #[error("unexpected {0:?} PDU")]
    UnexpectedPdu(PduType),
    /// Data offset/length outside the command's buffer (raised by the queue pair, or by
    /// the codec when DATAO + DATAL overflows).
    #[error("data transfer out of range for CID {cccid}: offset {offset}, length {len}")]
    DataOutOfRange {
        /// CCCID of the command.
        cccid: u16,
        /// DATAO (or R2TO), bytes.
        offset: u32,
        /// DATAL (or R2TL), bytes.
        len: u32,
    },
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
    /// HPDA/CPDA above 31 (0's based dwords).
    #[error("PDU data alignment {0} is above 31")]
    InvalidPda(u8),
    /// MAXH2CDATA below 4096 or not a multiple of 4.
    #[error("MAXH2CDATA {0} is below 4096 or not a multiple of 4")]
    InvalidMaxH2cData(u32),
    /// TermReq data longer than 128 bytes; carries the length in bytes.
    #[error("TermReq carries {0} bytes, at most 128 are allowed")]
    TermReqDataTooLong(usize),
    /// C2HData with SUCCESS but without LAST_PDU.
    #[error("C2HData SUCCESS flag requires LAST_PDU")]
    SuccessWithoutLast,
    /// DATAO + DATAL does not fit 32 bits.
    #[error("data offset {offset} + length {len} overflows 32 bits")]
    OffsetOverflow {
        /// DATAO, bytes.
        offset: u32,
        /// DATAL, bytes.
        len: u32,
    },
    /// The PDU length in bytes does not fit PLEN (32 bits) or PDO (8 bits).
    #[error("PDU of {0} bytes does not fit PLEN")]
    TooLarge(usize),
}
