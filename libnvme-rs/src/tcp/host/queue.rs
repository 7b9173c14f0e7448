//! One NVMe/TCP queue pair: a TCP connection after ICReq/ICResp, with a reader task, a
//! writer task and the in-flight table between them.
//!
//! [`QueuePair`] owns the tasks (close joins them, drop aborts them); [`QueueHandle`]s are
//! cheap clones used to submit commands from any task. Any fatal event (protocol violation,
//! C2HTermReq, EOF, socket error, keep-alive failure, close) fails every outstanding command
//! with the same [`TcpError`] and refuses new ones.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::error::TcpError;
use super::ic;
use super::inflight::{Completion, Done, Slot, Table, Transfer};
use super::options::TransportOptions;
use super::writer::WriteJob;
use super::{reader, socket, writer};
use crate::tcp::{CapsuleCmd, Limits, Negotiated, Pdu, SglDescriptor, Sqe, encode_head};

/// How long `close` lets the writer flush before aborting it.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Per-queue parameters fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueParams {
    /// How errors name the controller: `<subsystem NQN> at <address>`.
    pub controller: Arc<str>,
    pub qid: u16,
    /// Entries; at most `queue_size - 1` commands are outstanding (SQ flow control, §1.6).
    pub queue_size: u16,
    /// Largest host-to-controller transfer sent in-capsule.
    pub in_capsule_limit: usize,
}

/// State shared by the handles and the two tasks.
pub(crate) struct Shared {
    controller: Arc<str>,
    qid: u16,
    pub(crate) neg: Negotiated,
    pub(crate) maxh2cdata: u32,
    in_capsule_limit: usize,
    max_transfer: usize,
    command_timeout: Duration,
    permits: Arc<Semaphore>,
    table: Mutex<Table>,
    pub(crate) tx: mpsc::UnboundedSender<WriteJob>,
    closed: watch::Sender<Option<TcpError>>,
}

impl Shared {
    pub(crate) fn table(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent across a panic of another holder (no multi-step
        // invariants span an unlock), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn closed_receiver(&self) -> watch::Receiver<Option<TcpError>> {
        self.closed.subscribe()
    }

    fn close_reason(&self) -> TcpError {
        self.table().closed().cloned().unwrap_or(TcpError::Closed)
    }

    /// Ends the queue: every outstanding command fails with `reason` (named with the
    /// controller and queue unless it already names one), new ones are refused, and the
    /// writer closes the socket's write side. Only the first call has an effect.
    pub(crate) fn fail(&self, reason: TcpError) {
        let reason = match reason {
            named @ TcpError::QueueFailed { .. } => named,
            other => TcpError::QueueFailed {
                controller: Arc::clone(&self.controller),
                qid: self.qid,
                source: Box::new(other),
            },
        };
        let Some(slots) = self.table().close(reason.clone()) else {
            return;
        };
        self.permits.close();
        self.closed.send_replace(Some(reason.clone()));
        for slot in slots {
            Done::fail(slot, reason.clone()).deliver();
        }
        // The writer may be gone already (after a TermReq).
        let _ = self.tx.send(WriteJob::Shutdown);
    }
}

/// The owner of a queue's connection and tasks.
pub struct QueuePair {
    handle: QueueHandle,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for QueuePair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuePair")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl QueuePair {
    /// TCP connect and ICReq/ICResp, then starts the tasks.
    pub(crate) async fn connect(
        opts: &TransportOptions,
        params: QueueParams,
    ) -> Result<Self, TcpError> {
        let mut stream = socket::connect(opts).await?;
        let (neg, maxh2cdata) = ic::initialize(&mut stream, opts).await?;
        Ok(Self::start(
            stream.into_split(),
            neg,
            maxh2cdata,
            opts,
            params,
        ))
    }

    /// Starts the tasks on an initialized connection's halves.
    pub(crate) fn start<R, W>(
        (r, w): (R, W),
        neg: Negotiated,
        maxh2cdata: u32,
        opts: &TransportOptions,
        params: QueueParams,
    ) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        // Identify and friends move 4 KiB; a smaller bound would make the host unusable.
        let max_transfer32 = opts.max_transfer.max(4096);
        let max_transfer = usize::try_from(max_transfer32).unwrap_or(usize::MAX);
        let depth = params.queue_size.saturating_sub(1).max(1);
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            controller: params.controller,
            qid: params.qid,
            neg,
            maxh2cdata,
            in_capsule_limit: params.in_capsule_limit.min(max_transfer),
            max_transfer,
            command_timeout: opts.command_timeout,
            permits: Arc::new(Semaphore::new(usize::from(depth))),
            table: Mutex::new(Table::new(depth)),
            tx,
            closed: watch::channel(None).0,
        });
        // Our own transfers are bounded by max_transfer; in-capsule data from a controller
        // is never expected, so one PDU never needs more.
        let limits = Limits::new(max_transfer32);
        // The tasks log in the span of whoever started the queue (the association's).
        let reader = tokio::spawn(reader::run(r, Arc::clone(&shared), limits).in_current_span());
        let writer = tokio::spawn(writer::run(w, rx, Arc::clone(&shared)).in_current_span());
        Self {
            handle: QueueHandle { shared },
            reader: Some(reader),
            writer: Some(writer),
        }
    }

    /// A cloneable handle for submitting commands on this queue.
    pub fn handle(&self) -> &QueueHandle {
        &self.handle
    }

    /// Fails outstanding commands with [`TcpError::Closed`] (unless the queue already
    /// failed), lets the writer close the connection, and joins both tasks.
    pub async fn close(&mut self) {
        self.handle.shared.fail(TcpError::Closed);
        if let Some(mut w) = self.writer.take()
            && tokio::time::timeout(CLOSE_GRACE, &mut w).await.is_err()
        {
            w.abort();
            let _ = w.await;
        }
        if let Some(r) = self.reader.take() {
            r.abort();
            let _ = r.await;
        }
    }

    /// True once both tasks have ended (after [`close`](Self::close), or after a failure
    /// once the reader noticed it).
    pub fn is_finished(&self) -> bool {
        self.reader.as_ref().is_none_or(JoinHandle::is_finished)
            && self.writer.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for QueuePair {
    fn drop(&mut self) {
        self.handle.shared.fail(TcpError::Closed);
        for task in [self.reader.take(), self.writer.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
    }
}

/// Submits commands on one queue; clone freely.
#[derive(Clone)]
pub struct QueueHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for QueueHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueHandle")
            .field("qid", &self.shared.qid)
            .field("neg", &self.shared.neg)
            .finish_non_exhaustive()
    }
}

impl QueueHandle {
    /// QID: the queue ID (0 = admin queue).
    pub fn qid(&self) -> u16 {
        self.shared.qid
    }

    /// Digests and alignments in force.
    pub fn negotiated(&self) -> Negotiated {
        self.shared.neg
    }

    /// MAXH2CDATA from ICResp.
    pub fn maxh2cdata(&self) -> u32 {
        self.shared.maxh2cdata
    }

    /// Largest write in bytes sent as in-capsule data; larger writes wait for R2T.
    pub fn in_capsule_limit(&self) -> usize {
        self.shared.in_capsule_limit
    }

    /// Timeout applied to each command on this queue.
    pub fn command_timeout(&self) -> Duration {
        self.shared.command_timeout
    }

    /// Why the queue ended, or `None` while it is usable.
    pub fn close_reason(&self) -> Option<TcpError> {
        self.shared.table().closed().cloned()
    }

    /// Waits until the queue ends and returns why.
    pub async fn closed(&self) -> TcpError {
        let mut rx = self.shared.closed_receiver();
        match rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or(TcpError::Closed),
            Err(_) => TcpError::Closed,
        }
    }

    /// Ends the queue with `reason` (e.g. a failed keep-alive).
    pub fn fail(&self, reason: TcpError) {
        self.shared.fail(reason);
    }

    /// Submits with the queue's command timeout; a non-success status is an error.
    pub async fn execute(&self, sqe: Sqe, transfer: Transfer) -> Result<Completion, TcpError> {
        let c = self
            .submit(sqe, transfer, Some(self.shared.command_timeout))
            .await?;
        match c.cqe.status() {
            None => Ok(c),
            Some(status) => Err(TcpError::Status(status)),
        }
    }

    /// Submits `sqe` (its CID and SGL are filled in here) and waits for the completion,
    /// whatever its status. `timeout` covers waiting for a free slot too; `None` waits
    /// forever (AERs). A timed-out command keeps its CID until the controller answers.
    pub async fn submit(
        &self,
        sqe: Sqe,
        transfer: Transfer,
        timeout: Option<Duration>,
    ) -> Result<Completion, TcpError> {
        let opcode = sqe.opcode;
        match timeout {
            None => self.submit_untimed(sqe, transfer).await,
            Some(t) => tokio::time::timeout(t, self.submit_untimed(sqe, transfer))
                .await
                .unwrap_or(Err(TcpError::Timeout { opcode, timeout: t })),
        }
    }

    async fn submit_untimed(
        &self,
        mut sqe: Sqe,
        transfer: Transfer,
    ) -> Result<Completion, TcpError> {
        let s = &*self.shared;
        let too_large = |len: usize| {
            TcpError::InvalidArgument(format!(
                "transfer of {len} bytes exceeds the queue's limit of {} bytes",
                s.max_transfer
            ))
        };
        let sgl_len = |len: usize| u32::try_from(len).map_err(|_| too_large(len));
        let (dptr, capsule, read_len, r2t_data) = match transfer {
            Transfer::Read(n) if n > 0 => {
                if n > s.max_transfer {
                    return Err(too_large(n));
                }
                (
                    SglDescriptor::transport(sgl_len(n)?),
                    Bytes::new(),
                    Some(n),
                    None,
                )
            }
            Transfer::Write(d) if !d.is_empty() => {
                if d.len() > s.max_transfer {
                    return Err(too_large(d.len()));
                }
                let len = sgl_len(d.len())?;
                if d.len() <= s.in_capsule_limit {
                    (SglDescriptor::in_capsule(len), d, None, None)
                } else {
                    (SglDescriptor::transport(len), Bytes::new(), None, Some(d))
                }
            }
            _ => (SglDescriptor::transport(0), Bytes::new(), None, None),
        };
        let permit = Arc::clone(&s.permits)
            .acquire_owned()
            .await
            .map_err(|_| s.close_reason())?;
        let (tx, rx) = oneshot::channel();
        // From here to the send there is no await, so cancellation cannot strand the slot.
        let cid = s
            .table()
            .insert(Slot::new(tx, read_len, r2t_data, permit))?;
        sqe.set_cid(cid);
        sqe.flags = (sqe.flags & 0x3f) | Sqe::PSDT_SGL;
        sqe.dptr = dptr;
        let pdu = Pdu::CapsuleCmd(CapsuleCmd { sqe, data: capsule });
        let job = match encode_head(&pdu, &s.neg) {
            Ok(head) => WriteJob::Pdu {
                head,
                data: pdu.data().clone(),
            },
            Err(e) => {
                s.table().remove(cid);
                return Err(TcpError::Encode(e));
            }
        };
        if s.tx.send(job).is_err() {
            s.table().remove(cid);
            return Err(s.close_reason());
        }
        rx.await.unwrap_or_else(|_| Err(s.close_reason()))
    }
}
