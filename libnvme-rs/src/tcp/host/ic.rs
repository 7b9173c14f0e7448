//! ICReq/ICResp (protocol reference §1.4): HPDA 0 and MAXR2T 0 (nvmet rejects anything
//! else), digests as configured; a digest is on only if ICResp enables it, and enabling one
//! we did not ask for is refused. Any CPDA is accepted: the encoder pads H2C data to it.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::{IcError, TcpError};
use super::options::TransportOptions;
use crate::tcp::wire::{CH_LEN, MAX_TERM_REQ_DATA};
use crate::tcp::{
    DigestKind, IcReq, Limits, Negotiated, Pdu, PduError, PduType, decode, encode, peek_header,
};

/// Runs the exchange on a fresh connection; returns what was negotiated and MAXH2CDATA.
pub(crate) async fn initialize<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    opts: &TransportOptions,
) -> Result<(Negotiated, u32), TcpError> {
    let req = IcReq {
        hpda: 0,
        hdgst: opts.hdgst,
        ddgst: opts.ddgst,
        maxr2t: 0,
    };
    let bytes = encode(&Pdu::IcReq(req), &Negotiated::default()).map_err(TcpError::Encode)?;
    stream.write_all(&bytes).await.map_err(TcpError::io)?;
    let pdu = tokio::time::timeout(opts.connect_timeout, read_pdu(stream))
        .await
        .map_err(|_| TcpError::IcTimeout(opts.connect_timeout))??;
    match pdu {
        Pdu::IcResp(resp) => {
            if resp.hdgst && !req.hdgst {
                return Err(TcpError::IcNegotiation(IcError::UnrequestedDigest(
                    DigestKind::Header,
                )));
            }
            if resp.ddgst && !req.ddgst {
                return Err(TcpError::IcNegotiation(IcError::UnrequestedDigest(
                    DigestKind::Data,
                )));
            }
            Ok((Negotiated::from_exchange(&req, &resp), resp.maxh2cdata))
        }
        Pdu::C2HTermReq(t) => Err(TcpError::Terminated {
            fes: t.fes,
            fei: t.fei,
        }),
        other => {
            let e = PduError::UnexpectedPdu(other.pdu_type());
            terminate(stream, &e, &[]).await;
            Err(TcpError::IcNegotiation(IcError::UnexpectedPdu(
                other.pdu_type(),
            )))
        }
    }
}

/// Reads one PDU before anything is negotiated (only ICResp or a C2HTermReq make sense).
async fn read_pdu<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Result<Pdu, TcpError> {
    let limits = Limits::new(MAX_TERM_REQ_DATA as u32);
    let mut ch = [0u8; CH_LEN];
    stream.read_exact(&mut ch).await.map_err(eof_or_io)?;
    let info = match peek_header(&ch, &limits) {
        Ok(Some(info)) => info,
        Ok(None) => return Err(TcpError::ConnectionClosed),
        Err(e) => return Err(invalid(stream, e, &ch).await),
    };
    if info.pdu_type != PduType::IcResp && info.pdu_type != PduType::C2HTermReq {
        let e = PduError::UnexpectedPdu(info.pdu_type);
        return Err(invalid(stream, e, &ch).await);
    }
    // Bounded by the limits peek_header applied (≤ 387 bytes), and at least HLEN.
    let mut frame = ch.to_vec();
    frame.resize(info.frame_len().max(CH_LEN), 0);
    if let Some(rest) = frame.get_mut(CH_LEN..) {
        stream.read_exact(rest).await.map_err(eof_or_io)?;
    }
    match decode(&frame, &Negotiated::default(), &limits) {
        Ok(pdu) => Ok(pdu),
        Err(e) => {
            let header = frame.get(..usize::from(info.hlen)).unwrap_or(&frame);
            Err(invalid(stream, e, header).await)
        }
    }
}

fn eof_or_io(e: std::io::Error) -> TcpError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        TcpError::ConnectionClosed
    } else {
        TcpError::io(e)
    }
}

async fn invalid<S: AsyncWrite + Unpin>(stream: &mut S, e: PduError, header: &[u8]) -> TcpError {
    terminate(stream, &e, header).await;
    TcpError::IcNegotiation(match e {
        PduError::UnexpectedPdu(t) => IcError::UnexpectedPdu(t),
        other => IcError::Invalid(other),
    })
}

/// Best effort: the connection is being abandoned anyway.
async fn terminate<S: AsyncWrite + Unpin>(stream: &mut S, e: &PduError, header: &[u8]) {
    if let Ok(bytes) = encode(&Pdu::H2CTermReq(e.term_req(header)), &Negotiated::default()) {
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    }
}
