//! The writer task: the only place that writes to the socket, so PDUs never interleave.
//! Submitters and the reader task (H2CData answering R2T, H2CTermReq) queue jobs to it.

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use super::error::TcpError;
use super::queue::Shared;
use crate::tcp::EncodedHead;

/// Bytes gathered before a write syscall when PDUs queue up.
const WRITE_BUFFER: usize = 64 * 1024;

pub(crate) enum WriteJob {
    /// An encoded header; the PDU's data and data digest follow it on the wire.
    Pdu { head: EncodedHead, data: Bytes },
    /// Write this PDU (an H2CTermReq), close the write side and stop.
    Terminate { head: EncodedHead, data: Bytes },
    /// Flush, close the write side and stop.
    Shutdown,
}

pub(crate) async fn run<W: AsyncWrite + Unpin>(
    w: W,
    mut rx: mpsc::UnboundedReceiver<WriteJob>,
    shared: Arc<Shared>,
) {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, w);
    let result = async {
        while let Some(job) = rx.recv().await {
            match job {
                WriteJob::Pdu { head, data } => {
                    put(&mut out, &head, &data).await?;
                    // Flush only when idle, so bursts share syscalls.
                    if rx.is_empty() {
                        out.flush().await?;
                    }
                }
                WriteJob::Terminate { head, data } => {
                    put(&mut out, &head, &data).await?;
                    return out.shutdown().await;
                }
                WriteJob::Shutdown => return out.shutdown().await,
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // A no-op if the queue was already failed for another reason.
        shared.fail(TcpError::io(e));
    }
}

async fn put<W: AsyncWrite + Unpin>(
    out: &mut BufWriter<W>,
    head: &EncodedHead,
    data: &[u8],
) -> std::io::Result<()> {
    out.write_all(head.head()).await?;
    out.write_all(data).await?;
    if let Some(d) = head.ddgst() {
        out.write_all(&d).await?;
    }
    Ok(())
}
