//! NVMe/TCP PDU codec (protocol reference §1): wire structs, CRC32C digests, a strict,
//! allocation-bounded decoder and an encoder. Synchronous and I/O-free; the async queue
//! pair frames a socket with [`peek_header`] / [`decode`] and writes [`encode`]d PDUs.

mod codec;
pub mod digest;
mod error;
pub mod host;
mod pdu;
pub mod wire;

/// Re-exported because PDU data and [`decode_bytes`] use it.
pub use bytes::Bytes;
pub use codec::{
    EncodedHead, FrameInfo, MAX_HEAD_LEN, decode, decode_bytes, encode, encode_head, encode_into,
    peek_header,
};
pub use error::{DigestError, DigestKind, EncodeError, PduError};
pub use pdu::{
    C2HData, CapsuleCmd, CapsuleResp, H2CData, IcReq, IcResp, Limits, Negotiated, Pdu, PduType,
    R2t, TermReq,
};
pub use wire::{Cqe, SglDescriptor, Sqe};

#[cfg(test)]
mod tests;
