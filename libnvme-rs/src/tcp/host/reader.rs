//! The reader task: frames PDUs with the strict codec and dispatches them to the in-flight
//! table. Anything malformed or unexpected ends the connection with an H2CTermReq.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::error::TcpError;
use super::queue::Shared;
use super::writer::WriteJob;
use crate::tcp::wire::{CH_LEN, MAX_TERM_REQ_DATA, flags};
use crate::tcp::{
    DigestKind, FrameInfo, H2CData, Limits, Pdu, PduError, PduType, R2t, decode_bytes, encode_head,
    peek_header,
};

/// Spare receive capacity kept before each read.
const READ_CHUNK: usize = 64 * 1024;

/// Why receiving stopped.
enum Stop {
    /// The controller broke the protocol: we send an H2CTermReq about this header.
    Violation(PduError, Bytes),
    Ended(TcpError),
}

pub(crate) async fn run<R: AsyncRead + Unpin>(r: R, shared: Arc<Shared>, limits: Limits) {
    let mut closed = shared.closed_receiver();
    let stop = tokio::select! {
        biased;
        _ = closed.wait_for(Option::is_some) => return,
        stop = receive(r, &shared, &limits) => stop,
    };
    let reason = match stop {
        Stop::Violation(e, header) => {
            tracing::warn!(
                "protocol violation by the controller ({e}): terminating the connection"
            );
            send_term_req(&shared, &e, &header);
            TcpError::Pdu(e)
        }
        Stop::Ended(reason) => reason,
    };
    shared.fail(reason);
}

fn send_term_req(shared: &Shared, e: &PduError, header: &[u8]) {
    let pdu = Pdu::H2CTermReq(e.term_req(header));
    if let Ok(head) = encode_head(&pdu, &shared.neg) {
        let _ = shared.tx.send(WriteJob::Terminate {
            head,
            data: pdu.data().clone(),
        });
    }
}

async fn receive<R: AsyncRead + Unpin>(mut r: R, shared: &Shared, limits: &Limits) -> Stop {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        let (info, frame) = match read_frame(&mut r, &mut buf, limits).await {
            Ok(Some(f)) => f,
            Ok(None) => return Stop::Ended(TcpError::ConnectionClosed),
            Err(stop) => return stop,
        };
        let header = frame.slice(..usize::from(info.hlen).min(frame.len()));
        let result = match decode_bytes(&frame, &shared.neg, limits) {
            Ok(pdu) => dispatch(shared, pdu),
            // Only a C2HData data digest spares the connection (§1.5, as Linux does).
            Err(PduError::Digest(d))
                if d.kind == DigestKind::Data
                    && info.pdu_type == PduType::C2HData
                    && d.cccid.is_some() =>
            {
                let cid = d.cccid.unwrap_or_default();
                let success = info.flags & flags::SUCCESS != 0;
                shared
                    .table()
                    .on_data_digest_error(cid, success)
                    .map(|done| done.map_or((), super::inflight::Done::deliver))
                    .map_err(Dispatch::Violation)
            }
            Err(e) => Err(Dispatch::Violation(e)),
        };
        match result {
            Ok(()) => {}
            Err(Dispatch::Violation(e)) => return Stop::Violation(e, header),
            Err(Dispatch::Ended(e)) => return Stop::Ended(e),
        }
    }
}

/// Reads until one whole PDU is buffered; `None` at end of stream. The common header is
/// checked before buffering, so at most PLEN ≤ `limits.max_plen` bytes are ever reserved.
async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<(FrameInfo, Bytes)>, Stop> {
    loop {
        match peek_header(buf, limits) {
            Err(e) => {
                let header = Bytes::copy_from_slice(buf.get(..CH_LEN).unwrap_or(buf));
                return Err(Stop::Violation(e, header));
            }
            Ok(Some(info)) if buf.len() >= info.frame_len() => {
                let frame = buf.split_to(info.frame_len()).freeze();
                return Ok(Some((info, frame)));
            }
            Ok(Some(info)) => buf.reserve(info.frame_len() - buf.len()),
            Ok(None) => {}
        }
        if buf.capacity() - buf.len() < MAX_TERM_REQ_DATA {
            buf.reserve(READ_CHUNK);
        }
        match r.read_buf(buf).await {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(Stop::Ended(TcpError::io(e))),
        }
    }
}

enum Dispatch {
    Violation(PduError),
    Ended(TcpError),
}

impl From<PduError> for Dispatch {
    fn from(e: PduError) -> Self {
        Self::Violation(e)
    }
}

fn dispatch(shared: &Shared, pdu: Pdu) -> Result<(), Dispatch> {
    match pdu {
        Pdu::CapsuleResp(resp) => {
            let done = shared.table().on_resp(resp.cqe)?;
            done.deliver();
        }
        Pdu::C2HData(data) => {
            let done = shared.table().on_c2h(&data)?;
            if let Some(done) = done {
                done.deliver();
            }
        }
        Pdu::R2t(r2t) => {
            let data = shared.table().on_r2t(&r2t)?;
            send_h2c(shared, &r2t, data)?;
        }
        Pdu::C2HTermReq(t) => {
            return Err(Dispatch::Ended(TcpError::Terminated {
                fes: t.fes,
                fei: t.fei,
            }));
        }
        other => return Err(PduError::UnexpectedPdu(other.pdu_type()).into()),
    }
    Ok(())
}

/// Answers one R2T with H2CData PDUs of at most MAXH2CDATA bytes each.
fn send_h2c(shared: &Shared, r2t: &R2t, data: Bytes) -> Result<(), Dispatch> {
    let chunk = usize::try_from(shared.maxh2cdata)
        .unwrap_or(usize::MAX)
        .max(1);
    let total = data.len();
    let mut done = 0usize;
    while done < total {
        let n = chunk.min(total - done);
        // done < total ≤ r2tl, so the offset fits the u32 the R2T carried.
        let offset = u32::try_from(done).unwrap_or(u32::MAX);
        let pdu = Pdu::H2CData(H2CData {
            cccid: r2t.cccid,
            ttag: r2t.ttag,
            datao: r2t.r2to.saturating_add(offset),
            last: done + n == total,
            data: data.slice(done..done + n),
        });
        let head =
            encode_head(&pdu, &shared.neg).map_err(|e| Dispatch::Ended(TcpError::Encode(e)))?;
        let job = WriteJob::Pdu {
            head,
            data: pdu.data().clone(),
        };
        if shared.tx.send(job).is_err() {
            return Err(Dispatch::Ended(TcpError::Closed));
        }
        done += n;
    }
    Ok(())
}
