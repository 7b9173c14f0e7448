//! PDU framing: [`peek_header`] once 8 bytes are buffered, [`decode`] once PLEN bytes are,
//! and [`encode`] / [`encode_head`] for sending. No I/O: the queue pair drives a stream.
//!
//! Receiving is strict on sizes, flags, offsets and digests and lenient on reserved bytes
//! (and on pad contents). PDO is accepted anywhere from HLEN+HDGST up to the next multiple
//! of the negotiated alignment, because senders disagree on how to round (SPDK uses
//! `max(HLEN+HDGST, alignment)`, the spec a round-up); the encoder always rounds up.

use std::ops::Range;

use bytes::{BufMut, Bytes};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::digest::crc32c;
use super::error::{DigestError, DigestKind, EncodeError, PduError};
use super::pdu::{
    C2HData, CapsuleCmd, CapsuleResp, H2CData, IcReq, IcResp, Limits, Negotiated, Pdu, PduType,
    R2t, TermReq,
};
use super::wire::{
    CH_LEN, CommonHeader, DIGEST_LEN, MAX_PDA, MAX_TERM_REQ_DATA, MIN_MAXH2CDATA,
    RawCapsuleCmdHeader, RawCapsuleRespHeader, RawDataHeader, RawIcReq, RawIcResp,
    RawTermReqHeader, dgst, flags,
};

/// What the common header says about the PDU being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// PDU-Type.
    pub pdu_type: PduType,
    /// FLAGS byte.
    pub flags: u8,
    /// HLEN: header length in bytes (CH included, header digest excluded).
    pub hlen: u8,
    /// PDO: offset of the data from the PDU start in bytes, 0 if none.
    pub pdo: u8,
    /// PLEN: total PDU length in bytes.
    pub plen: u32,
}

impl FrameInfo {
    /// Bytes to buffer before calling [`decode`] (PLEN, already bounded by the limits).
    pub fn frame_len(&self) -> usize {
        self.plen as usize
    }
}

/// Reads the common header: `Ok(None)` until 8 bytes are there. Checks what needs no
/// negotiated state (type, HLEN, PLEN bounds), so a stream can reject a PDU before
/// buffering it.
pub fn peek_header(buf: &[u8], limits: &Limits) -> Result<Option<FrameInfo>, PduError> {
    let Ok((ch, _)) = CommonHeader::read_from_prefix(buf) else {
        return Ok(None);
    };
    let pdu_type = PduType::from_u8(ch.pdu_type).ok_or(PduError::UnknownType(ch.pdu_type))?;
    if ch.hlen != pdu_type.hlen() {
        return Err(PduError::InvalidHlen {
            pdu_type,
            hlen: ch.hlen,
        });
    }
    let plen = ch.plen.get();
    if plen > limits.max_plen {
        return Err(PduError::PlenTooLarge {
            plen,
            max: limits.max_plen,
        });
    }
    let hlen = u32::from(ch.hlen);
    let digest = DIGEST_LEN as u32;
    let plausible = match pdu_type {
        PduType::IcReq | PduType::IcResp => plen == hlen,
        PduType::H2CTermReq | PduType::C2HTermReq => {
            (hlen..=hlen + MAX_TERM_REQ_DATA as u32).contains(&plen)
        }
        PduType::CapsuleResp | PduType::R2t => plen == hlen || plen == hlen + digest,
        PduType::CapsuleCmd | PduType::H2CData | PduType::C2HData => plen >= hlen,
    };
    if !plausible {
        return Err(PduError::InvalidPlen { pdu_type, plen });
    }
    Ok(Some(FrameInfo {
        pdu_type,
        flags: ch.flags,
        hlen: ch.hlen,
        pdo: ch.pdo,
        plen,
    }))
}

/// Decodes the PDU at the start of `buf`, which must hold at least its PLEN bytes (bytes
/// after it are ignored). Data is copied into the result, at most `limits.max_data` bytes.
pub fn decode(buf: &[u8], neg: &Negotiated, limits: &Limits) -> Result<Pdu, PduError> {
    decode_with(buf, neg, limits, |r| buf.get(r).map(Bytes::copy_from_slice))
}

/// Like [`decode`], but the data shares `frame`'s allocation instead of being copied.
pub fn decode_bytes(frame: &Bytes, neg: &Negotiated, limits: &Limits) -> Result<Pdu, PduError> {
    decode_with(frame, neg, limits, |r| {
        (r.start <= r.end && r.end <= frame.len()).then(|| frame.slice(r))
    })
}

/// Where the data sits in a validated frame.
struct DataLayout {
    range: Range<usize>,
    ddgst: bool,
}

fn decode_with(
    buf: &[u8],
    neg: &Negotiated,
    limits: &Limits,
    data_of: impl Fn(Range<usize>) -> Option<Bytes>,
) -> Result<Pdu, PduError> {
    let info = peek_header(buf, limits)?.ok_or(PduError::Truncated {
        need: CH_LEN,
        have: buf.len(),
    })?;
    let plen = info.frame_len();
    let frame = buf.get(..plen).ok_or(PduError::Truncated {
        need: plen,
        have: buf.len(),
    })?;
    let pdu_type = info.pdu_type;
    let hlen = usize::from(info.hlen);
    let pdo = usize::from(info.pdo);
    let invalid_plen = PduError::InvalidPlen {
        pdu_type,
        plen: info.plen,
    };
    let invalid_pdo = PduError::InvalidPdo {
        pdu_type,
        hlen: info.hlen,
        pdo: info.pdo,
    };

    if info.flags & !pdu_type.allowed_flags() != 0 {
        return Err(PduError::InvalidFlags {
            pdu_type,
            flags: info.flags,
        });
    }
    if info.flags & flags::SUCCESS != 0 && info.flags & flags::LAST_PDU == 0 {
        return Err(PduError::SuccessWithoutLast);
    }
    let hdgst = pdu_type.has_header_digest() && {
        let set = info.flags & flags::HDGSTF != 0;
        if set != neg.hdgst {
            return Err(PduError::DigestFlagMismatch {
                kind: DigestKind::Header,
                negotiated: neg.hdgst,
            });
        }
        set
    };
    let header_end = hlen + if hdgst { DIGEST_LEN } else { 0 };
    let ddgst_flag = info.flags & flags::DDGSTF != 0;

    let data = if pdu_type.has_pdo_data() && pdo != 0 {
        if ddgst_flag != neg.ddgst {
            return Err(PduError::DigestFlagMismatch {
                kind: DigestKind::Data,
                negotiated: neg.ddgst,
            });
        }
        let max_pdo = header_end.next_multiple_of(neg.alignment(pdu_type));
        if pdo < header_end || pdo > max_pdo {
            return Err(invalid_pdo);
        }
        let end = plen
            .checked_sub(if ddgst_flag { DIGEST_LEN } else { 0 })
            .filter(|&end| end > pdo)
            .ok_or(invalid_plen)?;
        Some(DataLayout {
            range: pdo..end,
            ddgst: ddgst_flag,
        })
    } else if matches!(pdu_type, PduType::H2CTermReq | PduType::C2HTermReq) {
        // Senders leave PDO 0 (SPDK) although the copy starts at HLEN; accept both.
        if pdo != 0 && pdo != hlen {
            return Err(invalid_pdo);
        }
        Some(DataLayout {
            range: hlen..plen,
            ddgst: false,
        })
    } else {
        if pdo != 0 {
            return Err(invalid_pdo);
        }
        if ddgst_flag {
            return Err(PduError::InvalidFlags {
                pdu_type,
                flags: info.flags,
            });
        }
        if plen != header_end {
            return Err(invalid_plen);
        }
        None
    };

    if hdgst {
        let header = frame.get(..hlen).unwrap_or_default();
        verify(
            DigestKind::Header,
            header,
            frame.get(hlen..header_end),
            None,
        )?;
    }

    let data_len = data.as_ref().map_or(0, |d| d.range.len());
    let data_len32 = u32::try_from(data_len).unwrap_or(u32::MAX);
    if data_len32 > limits.max_data && pdu_type.has_pdo_data() {
        return Err(PduError::DataTooLarge {
            len: data_len32,
            max: limits.max_data,
        });
    }
    let truncated = || PduError::Truncated {
        need: plen,
        have: frame.len(),
    };
    let payload = match &data {
        Some(d) => data_of(d.range.clone()).ok_or_else(truncated)?,
        None => Bytes::new(),
    };

    let (pdu, cccid) = match pdu_type {
        PduType::IcReq => {
            let (raw, _) = RawIcReq::read_from_prefix(frame).map_err(|_| truncated())?;
            check_ic(raw.pfv.get(), raw.hpda)?;
            let pdu = Pdu::IcReq(IcReq {
                hpda: raw.hpda,
                hdgst: raw.dgst & dgst::HDGST_ENABLE != 0,
                ddgst: raw.dgst & dgst::DDGST_ENABLE != 0,
                maxr2t: raw.maxr2t.get(),
            });
            (pdu, None)
        }
        PduType::IcResp => {
            let (raw, _) = RawIcResp::read_from_prefix(frame).map_err(|_| truncated())?;
            check_ic(raw.pfv.get(), raw.cpda)?;
            let maxh2cdata = raw.maxh2cdata.get();
            if !valid_maxh2cdata(maxh2cdata) {
                return Err(PduError::InvalidMaxH2cData(maxh2cdata));
            }
            let pdu = Pdu::IcResp(IcResp {
                cpda: raw.cpda,
                hdgst: raw.dgst & dgst::HDGST_ENABLE != 0,
                ddgst: raw.dgst & dgst::DDGST_ENABLE != 0,
                maxh2cdata,
            });
            (pdu, None)
        }
        PduType::H2CTermReq | PduType::C2HTermReq => {
            let (raw, _) = RawTermReqHeader::read_from_prefix(frame).map_err(|_| truncated())?;
            let term = TermReq {
                fes: raw.fes.get(),
                fei: raw.fei.get(),
                data: payload,
            };
            let pdu = if pdu_type == PduType::H2CTermReq {
                Pdu::H2CTermReq(term)
            } else {
                Pdu::C2HTermReq(term)
            };
            (pdu, None)
        }
        PduType::CapsuleCmd => {
            let (raw, _) = RawCapsuleCmdHeader::read_from_prefix(frame).map_err(|_| truncated())?;
            let cid = raw.sqe.cid();
            let pdu = Pdu::CapsuleCmd(CapsuleCmd {
                sqe: raw.sqe,
                data: payload,
            });
            (pdu, Some(cid))
        }
        PduType::CapsuleResp => {
            let (raw, _) =
                RawCapsuleRespHeader::read_from_prefix(frame).map_err(|_| truncated())?;
            (Pdu::CapsuleResp(CapsuleResp { cqe: raw.cqe }), None)
        }
        PduType::H2CData | PduType::C2HData | PduType::R2t => {
            let (raw, _) = RawDataHeader::read_from_prefix(frame).map_err(|_| truncated())?;
            let cccid = raw.cccid.get();
            let (offset, len) = (raw.datao.get(), raw.datal.get());
            if offset.checked_add(len).is_none() {
                return Err(PduError::DataOutOfRange { cccid, offset, len });
            }
            if pdu_type != PduType::R2t && len != data_len32 {
                return Err(PduError::InvalidDatal {
                    datal: len,
                    actual: data_len32,
                });
            }
            let last = info.flags & flags::LAST_PDU != 0;
            let pdu = match pdu_type {
                PduType::H2CData => Pdu::H2CData(H2CData {
                    cccid,
                    ttag: raw.ttag.get(),
                    datao: offset,
                    last,
                    data: payload,
                }),
                PduType::C2HData => Pdu::C2HData(C2HData {
                    cccid,
                    datao: offset,
                    last,
                    success: info.flags & flags::SUCCESS != 0,
                    data: payload,
                }),
                _ => Pdu::R2t(R2t {
                    cccid,
                    ttag: raw.ttag.get(),
                    r2to: offset,
                    r2tl: len,
                }),
            };
            (pdu, Some(cccid))
        }
    };

    if let Some(d) = data.filter(|d| d.ddgst) {
        let end = d.range.end;
        verify(
            DigestKind::Data,
            frame.get(d.range).unwrap_or_default(),
            frame.get(end..end + DIGEST_LEN),
            cccid,
        )?;
    }
    Ok(pdu)
}

fn check_ic(pfv: u16, pda: u8) -> Result<(), PduError> {
    if pfv != 0 {
        return Err(PduError::UnsupportedPfv(pfv));
    }
    if pda > MAX_PDA {
        return Err(PduError::InvalidPda(pda));
    }
    Ok(())
}

fn valid_maxh2cdata(value: u32) -> bool {
    value >= MIN_MAXH2CDATA && value.is_multiple_of(4)
}

fn verify(
    kind: DigestKind,
    covered: &[u8],
    digest: Option<&[u8]>,
    cccid: Option<u16>,
) -> Result<(), DigestError> {
    let received = digest
        .and_then(|d| <[u8; DIGEST_LEN]>::try_from(d).ok())
        .map_or(0, u32::from_le_bytes);
    let computed = crc32c(covered);
    if received == computed {
        Ok(())
    } else {
        Err(DigestError {
            kind,
            received,
            computed,
            cccid: cccid.filter(|_| kind == DigestKind::Data),
        })
    }
}

/// Longest header + digest + pad an encoder produces (PDO is a byte).
pub const MAX_HEAD_LEN: usize = 256;

/// An encoded PDU split for vectored writes: `head()`, then the PDU's data
/// ([`Pdu::data`]), then `ddgst()` if present. Avoids copying large payloads.
#[derive(Clone)]
pub struct EncodedHead {
    buf: [u8; MAX_HEAD_LEN],
    len: usize,
    ddgst: Option<[u8; DIGEST_LEN]>,
    plen: u32,
}

impl EncodedHead {
    /// CH, PDU-specific header, header digest and pad.
    pub fn head(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Data digest to send after the data.
    pub fn ddgst(&self) -> Option<[u8; DIGEST_LEN]> {
        self.ddgst
    }

    /// Total PDU length.
    pub fn plen(&self) -> u32 {
        self.plen
    }
}

impl std::fmt::Debug for EncodedHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedHead")
            .field("head", &self.head())
            .field("ddgst", &self.ddgst)
            .field("plen", &self.plen)
            .finish()
    }
}

/// Encodes `pdu` into a new buffer of exactly PLEN bytes.
pub fn encode(pdu: &Pdu, neg: &Negotiated) -> Result<Vec<u8>, EncodeError> {
    let head = encode_head(pdu, neg)?;
    let mut out = Vec::with_capacity(head.plen as usize);
    put(&head, pdu, &mut out);
    Ok(out)
}

/// Appends the encoded `pdu` to `out` (a `Vec<u8>` or `BytesMut`).
pub fn encode_into(pdu: &Pdu, neg: &Negotiated, out: &mut impl BufMut) -> Result<(), EncodeError> {
    let head = encode_head(pdu, neg)?;
    put(&head, pdu, out);
    Ok(())
}

fn put(head: &EncodedHead, pdu: &Pdu, out: &mut impl BufMut) {
    out.put_slice(head.head());
    out.put_slice(pdu.data());
    if let Some(d) = head.ddgst {
        out.put_slice(&d);
    }
}

/// Builds everything but the data: computes HLEN, PDO (padding to the negotiated
/// alignment), PLEN, FLAGS and both digests.
pub fn encode_head(pdu: &Pdu, neg: &Negotiated) -> Result<EncodedHead, EncodeError> {
    let pdu_type = pdu.pdu_type();
    let hlen = usize::from(pdu_type.hlen());
    let data = pdu.data();
    let mut fl = 0u8;

    let hdgst = pdu_type.has_header_digest() && neg.hdgst;
    if hdgst {
        fl |= flags::HDGSTF;
    }
    let header_end = hlen + if hdgst { DIGEST_LEN } else { 0 };
    let mut pdo = 0usize;
    let mut ddgst = false;
    if pdu_type.has_pdo_data() && !data.is_empty() {
        let pda = neg.pda(pdu_type);
        if pda > MAX_PDA {
            return Err(EncodeError::InvalidPda(pda));
        }
        pdo = header_end.next_multiple_of(neg.alignment(pdu_type));
        ddgst = neg.ddgst;
        if ddgst {
            fl |= flags::DDGSTF;
        }
    }
    let head_len = if pdo != 0 { pdo } else { header_end };
    let total = head_len + data.len() + if ddgst { DIGEST_LEN } else { 0 };
    let plen = u32::try_from(total).map_err(|_| EncodeError::TooLarge(total))?;

    let mut ch = CommonHeader {
        pdu_type: pdu_type as u8,
        flags: fl,
        hlen: pdu_type.hlen(),
        // pdo ≤ 128 + 128: PDA ≤ 31 was checked above.
        pdo: u8::try_from(pdo).map_err(|_| EncodeError::TooLarge(total))?,
        plen: plen.into(),
    };
    let mut buf = [0u8; MAX_HEAD_LEN];
    match pdu {
        Pdu::IcReq(r) => {
            if r.hpda > MAX_PDA {
                return Err(EncodeError::InvalidPda(r.hpda));
            }
            let mut raw = RawIcReq::new_zeroed();
            raw.ch = ch;
            raw.hpda = r.hpda;
            raw.dgst = dgst_bits(r.hdgst, r.ddgst);
            raw.maxr2t = r.maxr2t.into();
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::IcResp(r) => {
            if r.cpda > MAX_PDA {
                return Err(EncodeError::InvalidPda(r.cpda));
            }
            if !valid_maxh2cdata(r.maxh2cdata) {
                return Err(EncodeError::InvalidMaxH2cData(r.maxh2cdata));
            }
            let mut raw = RawIcResp::new_zeroed();
            raw.ch = ch;
            raw.cpda = r.cpda;
            raw.dgst = dgst_bits(r.hdgst, r.ddgst);
            raw.maxh2cdata = r.maxh2cdata.into();
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::H2CTermReq(t) | Pdu::C2HTermReq(t) => {
            if t.data.len() > MAX_TERM_REQ_DATA {
                return Err(EncodeError::TermReqDataTooLong(t.data.len()));
            }
            let mut raw = RawTermReqHeader::new_zeroed();
            raw.ch = ch;
            raw.fes = t.fes.into();
            raw.fei = t.fei.into();
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::CapsuleCmd(c) => {
            let raw = RawCapsuleCmdHeader { ch, sqe: c.sqe };
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::CapsuleResp(c) => {
            let raw = RawCapsuleRespHeader { ch, cqe: c.cqe };
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::H2CData(d) => {
            if d.last {
                ch.flags |= flags::LAST_PDU;
            }
            let raw = data_header(ch, d.cccid, d.ttag, d.datao, plen_data(data))?;
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::C2HData(d) => {
            if d.success && !d.last {
                return Err(EncodeError::SuccessWithoutLast);
            }
            if d.last {
                ch.flags |= flags::LAST_PDU;
            }
            if d.success {
                ch.flags |= flags::SUCCESS;
            }
            let raw = data_header(ch, d.cccid, 0, d.datao, plen_data(data))?;
            copy_head(&mut buf, raw.as_bytes());
        }
        Pdu::R2t(r) => {
            let raw = data_header(ch, r.cccid, r.ttag, r.r2to, r.r2tl)?;
            copy_head(&mut buf, raw.as_bytes());
        }
    }
    if hdgst {
        let digest = crc32c(buf.get(..hlen).unwrap_or_default()).to_le_bytes();
        if let Some(slot) = buf.get_mut(hlen..header_end) {
            slot.copy_from_slice(&digest);
        }
    }
    Ok(EncodedHead {
        buf,
        len: head_len,
        ddgst: ddgst.then(|| crc32c(data).to_le_bytes()),
        plen,
    })
}

/// Data lengths fit DATAL: the whole PDU length was checked to fit a u32 before.
fn plen_data(data: &[u8]) -> u32 {
    u32::try_from(data.len()).unwrap_or(u32::MAX)
}

fn dgst_bits(hdgst: bool, ddgst: bool) -> u8 {
    (if hdgst { dgst::HDGST_ENABLE } else { 0 }) | (if ddgst { dgst::DDGST_ENABLE } else { 0 })
}

fn data_header(
    ch: CommonHeader,
    cccid: u16,
    ttag: u16,
    offset: u32,
    len: u32,
) -> Result<RawDataHeader, EncodeError> {
    if offset.checked_add(len).is_none() {
        return Err(EncodeError::OffsetOverflow { offset, len });
    }
    Ok(RawDataHeader {
        ch,
        cccid: cccid.into(),
        ttag: ttag.into(),
        datao: offset.into(),
        datal: len.into(),
        rsvd20: [0; 4],
    })
}

fn copy_head(buf: &mut [u8; MAX_HEAD_LEN], header: &[u8]) {
    if let Some(dst) = buf.get_mut(..header.len()) {
        dst.copy_from_slice(header);
    }
}
