//! The I/O controller (protocol reference §4): admin association, Number of Queues, one
//! connection per I/O queue, Identify Namespace / active namespace list, Read and Write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tracing::Instrument;

use super::admin::AdminController;
use super::error::TcpError;
use super::fabrics::{self, ConnectCommand};
use super::inflight::Transfer;
use super::options::{ControllerOptions, IoOptions};
use super::queue::{QueueHandle, QueuePair, QueueParams};
use crate::admin::AdminCommand;
use crate::admin::fid;
use crate::spec::namespace::{IdentifyNamespace, nvm_opcode};
use crate::tcp::{SglDescriptor, Sqe};

/// Bound on the Disconnect sent to each I/O queue at close.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// An active namespace to read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace {
    /// NSID: namespace ID.
    pub nsid: u32,
    /// Logical block (LBA data) size in bytes.
    pub block_size: u32,
    /// NSZE.
    pub blocks: u64,
}

/// An I/O controller with its admin association and I/O queues.
///
/// Everything works through `&self` — I/O, the admin controller ([`Self::admin`]: Identify,
/// Get/Set Features, [`AdminController::closed`]) and [`Self::close`] — so one controller in
/// an `Arc` serves many tasks and any of them can close it.
#[derive(Debug)]
pub struct IoController {
    admin: AdminController,
    /// Emptied by [`Self::close`].
    queues: std::sync::Mutex<Vec<QueuePair>>,
    handles: Vec<QueueHandle>,
    next: AtomicUsize,
    queue_size: u16,
    max_transfer: usize,
}

impl IoController {
    /// Admin connect, Set Features Number of Queues, then one TCP connection + IC +
    /// Connect per granted I/O queue.
    pub async fn connect(opts: ControllerOptions, io: IoOptions) -> Result<Self, TcpError> {
        if io.queues == 0 || io.queue_size < 2 {
            return Err(TcpError::InvalidArgument(format!(
                "need at least one I/O queue of two entries, got {} × {}",
                io.queues, io.queue_size
            )));
        }
        let span = super::admin::association_span(&opts);
        let admin = AdminController::connect(opts).await?;
        match connect_queues(&admin, io).instrument(span).await {
            Ok((queues, queue_size)) => {
                let handles = queues.iter().map(|q| q.handle().clone()).collect();
                let own =
                    usize::try_from(admin.options().transport.max_transfer).unwrap_or(usize::MAX);
                let max_transfer = admin
                    .identify()
                    .max_transfer_bytes(admin.cap().mpsmin_bytes())
                    .unwrap_or(usize::MAX)
                    .min(own);
                Ok(Self {
                    admin,
                    queues: std::sync::Mutex::new(queues),
                    handles,
                    next: AtomicUsize::new(0),
                    queue_size,
                    max_transfer,
                })
            }
            Err(e) => {
                let _ = admin.close().await;
                Err(e)
            }
        }
    }

    /// The admin controller of this association.
    pub fn admin(&self) -> &AdminController {
        &self.admin
    }

    /// I/O queues in use.
    pub fn queue_count(&self) -> usize {
        self.handles.len()
    }

    /// Entries of each I/O queue (depth is one less).
    pub fn queue_size(&self) -> u16 {
        self.queue_size
    }

    /// Largest transfer of one Read or Write.
    pub fn max_transfer(&self) -> usize {
        self.max_transfer
    }

    /// The I/O queue handles (e.g. to pin a workload to one queue).
    pub fn queues(&self) -> &[QueueHandle] {
        &self.handles
    }

    /// Identify Namespace (CNS 0) for `nsid`; an inactive NSID decodes to all zeros.
    pub async fn identify_namespace(&self, nsid: u32) -> Result<IdentifyNamespace, TcpError> {
        let mut q = self.admin.admin_queue().clone();
        Ok(crate::admin::identify::identify_namespace(&mut q, nsid).await?)
    }

    /// Active NSIDs in ascending order (CNS 2, paged by the last NSID returned).
    pub async fn active_namespaces(&self) -> Result<Vec<u32>, TcpError> {
        let mut q = self.admin.admin_queue().clone();
        Ok(crate::admin::identify::active_namespaces(&mut q).await?)
    }

    /// Identify `nsid` and check that it is active with a usable block size.
    pub async fn namespace(&self, nsid: u32) -> Result<Namespace, TcpError> {
        let id = self.identify_namespace(nsid).await?;
        if !id.is_active() {
            return Err(TcpError::InvalidArgument(format!(
                "namespace {nsid} is not active"
            )));
        }
        let block_size = id.block_size().ok_or_else(|| {
            TcpError::InvalidData(format!("namespace {nsid} has no usable LBA format"))
        })?;
        Ok(Namespace {
            nsid,
            block_size,
            blocks: id.nsze,
        })
    }

    fn pick(&self) -> Result<&QueueHandle, TcpError> {
        // The I/O queues live only as long as the admin association, as in Linux: once it
        // has ended (keep-alive failure, controller gone) every queue is failed with its
        // reason instead of carrying on without keep-alives.
        if let Some(why) = self.admin.close_reason() {
            for h in &self.handles {
                h.fail(why.clone());
            }
            return Err(why);
        }
        let n = self.handles.len().max(1);
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        self.handles.get(i).ok_or(TcpError::Closed)
    }

    fn rw_sqe(&self, op: u8, ns: &Namespace, slba: u64, len: usize) -> Result<Sqe, TcpError> {
        Self::check_range(ns, slba, len)?;
        let bs = usize::try_from(ns.block_size).unwrap_or(usize::MAX).max(1);
        let blocks = len / bs;
        if blocks > 1 << 16 {
            return Err(TcpError::InvalidArgument(format!(
                "{len} bytes is more than 65536 blocks of {bs} bytes"
            )));
        }
        if len > self.max_transfer {
            return Err(TcpError::InvalidArgument(format!(
                "{len} bytes exceeds the maximum transfer of {} bytes",
                self.max_transfer
            )));
        }
        let cmd = AdminCommand {
            opcode: op,
            nsid: ns.nsid,
            // SLBA split over CDW10/11; NLB is 0's based (checked ≤ 65536 above).
            cdw10: slba as u32,
            cdw11: (slba >> 32) as u32,
            cdw12: (blocks - 1) as u32,
            ..AdminCommand::default()
        };
        Ok(Sqe::from_admin(&cmd, 0, SglDescriptor::default()))
    }

    /// The largest command [`Self::read`] and [`Self::write`] split a transfer into, in
    /// bytes and in blocks: the maximum transfer rounded down to whole blocks, at most
    /// 65,536 blocks.
    fn chunk(&self, ns: &Namespace) -> Result<(usize, u64), TcpError> {
        let bs = usize::try_from(ns.block_size).unwrap_or(usize::MAX).max(1);
        let blocks = (self.max_transfer / bs).min(1 << 16);
        if blocks == 0 {
            return Err(TcpError::InvalidArgument(format!(
                "block size {bs} exceeds the maximum transfer of {} bytes",
                self.max_transfer
            )));
        }
        Ok((blocks * bs, blocks as u64))
    }

    /// Whole blocks inside the namespace: checked for a whole transfer before any of it is
    /// sent, and for each command.
    fn check_range(ns: &Namespace, slba: u64, len: usize) -> Result<(), TcpError> {
        let bs = u64::from(ns.block_size).max(1);
        let len = len as u64;
        if len == 0 || !len.is_multiple_of(bs) {
            return Err(TcpError::InvalidArgument(format!(
                "{len} bytes is not a whole number of {bs}-byte blocks"
            )));
        }
        if slba.checked_add(len / bs).is_none_or(|end| end > ns.blocks) {
            return Err(TcpError::InvalidArgument(format!(
                "blocks {slba}+{} exceed namespace {} of {} blocks",
                len / bs,
                ns.nsid,
                ns.blocks
            )));
        }
        Ok(())
    }

    /// Reads `blocks` blocks at `slba` (data arrives in C2HData PDUs); a transfer above the
    /// controller's maximum is split into commands that run concurrently.
    pub async fn read(&self, ns: &Namespace, slba: u64, blocks: u32) -> Result<Vec<u8>, TcpError> {
        let len =
            usize::try_from(u64::from(blocks) * u64::from(ns.block_size)).unwrap_or(usize::MAX);
        if len <= self.chunk(ns)?.0 {
            let sqe = self.rw_sqe(nvm_opcode::READ, ns, slba, len)?;
            return Ok(self.pick()?.execute(sqe, Transfer::Read(len)).await?.data);
        }
        let mut buf = vec![0u8; len];
        self.read_into(ns, slba, &mut buf).await?;
        Ok(buf)
    }

    /// Reads `buf.len()` bytes (whole blocks) at `slba` into the caller's buffer, split into
    /// commands of at most the maximum transfer that run concurrently. On error the
    /// buffer's contents are unspecified.
    pub async fn read_into(
        &self,
        ns: &Namespace,
        slba: u64,
        buf: &mut [u8],
    ) -> Result<(), TcpError> {
        Self::check_range(ns, slba, buf.len())?;
        let (step, step_blocks) = self.chunk(ns)?;
        let parts = buf.chunks_mut(step).enumerate().map(|(i, dst)| async move {
            let lba = slba + i as u64 * step_blocks;
            let sqe = self.rw_sqe(nvm_opcode::READ, ns, lba, dst.len())?;
            let data = self
                .pick()?
                .execute(sqe, Transfer::Read(dst.len()))
                .await?
                .data;
            if data.len() != dst.len() {
                return Err(TcpError::InvalidData(format!(
                    "read of {} bytes returned {}",
                    dst.len(),
                    data.len()
                )));
            }
            dst.copy_from_slice(&data);
            Ok(())
        });
        join_all(parts.collect()).await.into_iter().collect()
    }

    /// Writes whole blocks at `slba`: in-capsule when they fit the controller's IOCCSZ,
    /// else on R2T with H2CData PDUs of at most MAXH2CDATA bytes; a transfer above the
    /// controller's maximum is split (without copying) into commands that run concurrently.
    pub async fn write(&self, ns: &Namespace, slba: u64, data: Bytes) -> Result<(), TcpError> {
        let (step, step_blocks) = self.chunk(ns)?;
        if data.len() <= step {
            let sqe = self.rw_sqe(nvm_opcode::WRITE, ns, slba, data.len())?;
            return self
                .pick()?
                .execute(sqe, Transfer::Write(data))
                .await
                .map(drop);
        }
        Self::check_range(ns, slba, data.len())?;
        let parts = (0..data.len().div_ceil(step)).map(|i| {
            let part = data.slice(i * step..((i + 1) * step).min(data.len()));
            async move {
                let lba = slba + i as u64 * step_blocks;
                let sqe = self.rw_sqe(nvm_opcode::WRITE, ns, lba, part.len())?;
                self.pick()?
                    .execute(sqe, Transfer::Write(part))
                    .await
                    .map(drop)
            }
        });
        join_all(parts.collect()).await.into_iter().collect()
    }

    /// [`Self::write`] from a borrowed slice (copied once into the PDU buffers).
    pub async fn write_from(&self, ns: &Namespace, slba: u64, data: &[u8]) -> Result<(), TcpError> {
        self.write(ns, slba, Bytes::copy_from_slice(data)).await
    }

    /// Disconnects (when OFCS allows) and closes every I/O queue, then the admin queue.
    /// Works through a shared reference; I/O still in flight fails with
    /// [`TcpError::Closed`], and calls after the first return `Ok(())` at once.
    pub async fn close(&self) -> Result<(), TcpError> {
        let disconnect = self.admin.identify().disconnect_supported();
        let mut queues = std::mem::take(
            &mut *self
                .queues
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for q in &mut queues {
            if disconnect && q.handle().close_reason().is_none() {
                let sqe = fabrics::disconnect_sqe();
                let timeout = q.handle().command_timeout().min(DISCONNECT_TIMEOUT);
                let _ = q.handle().submit(sqe, Transfer::None, Some(timeout)).await;
            }
            q.close().await;
        }
        self.admin.close().await
    }
}

/// Polls every future until all are done (the parts of a split transfer share the queues'
/// depth, which bounds how many are in flight).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futures.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// In-capsule limit of I/O queues: IOCCSZ × 16 − 64, none when ICDOFF ≠ 0 (we always put
/// data at offset 0).
fn io_in_capsule_limit(ioccsz: u32, icdoff: u16) -> usize {
    if icdoff != 0 {
        return 0;
    }
    usize::try_from(ioccsz)
        .unwrap_or(0)
        .saturating_mul(16)
        .saturating_sub(64)
}

async fn connect_queues(
    admin: &AdminController,
    io: IoOptions,
) -> Result<(Vec<QueuePair>, u16), TcpError> {
    let want = u32::from(io.queues - 1);
    let granted = admin
        .set_features(fid::NUMBER_OF_QUEUES, want | (want << 16))
        .await?;
    // NSQA / NCQA are 0's based.
    let nsqa = (granted & 0xffff) + 1;
    let ncqa = (granted >> 16) + 1;
    let count = u32::from(io.queues).min(nsqa).min(ncqa);
    let queue_size = io
        .queue_size
        .min(admin.cap().mqes().saturating_add(1))
        .max(2);
    let id = admin.identify();
    let opts = admin.options();
    let controller = opts.name();
    let params = |qid| QueueParams {
        controller: std::sync::Arc::clone(&controller),
        qid,
        queue_size,
        in_capsule_limit: io_in_capsule_limit(id.ioccsz, id.icdoff),
    };
    let mut queues: Vec<QueuePair> = Vec::new();
    for qid in 1..=count {
        let qid = u16::try_from(qid).unwrap_or(u16::MAX);
        let result = async {
            let mut q = QueuePair::connect(&opts.transport, params(qid)).await?;
            let connect = ConnectCommand {
                qid,
                queue_size,
                kato: Duration::ZERO,
                cntlid: admin.cntlid(),
                host: &opts.host,
                subnqn: &opts.subnqn,
            };
            match fabrics::connect(q.handle(), &connect).await {
                Ok(_) => Ok(q),
                Err(e) => {
                    q.close().await;
                    Err(e)
                }
            }
        }
        .await;
        match result {
            Ok(q) => queues.push(q),
            Err(e) => {
                for q in &mut queues {
                    q.close().await;
                }
                return Err(e);
            }
        }
    }
    Ok((queues, queue_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_capsule_limit() {
        assert_eq!(io_in_capsule_limit(1028, 0), 16384);
        assert_eq!(io_in_capsule_limit(4, 0), 0);
        assert_eq!(io_in_capsule_limit(0, 0), 0);
        assert_eq!(io_in_capsule_limit(1028, 1), 0);
    }
}
