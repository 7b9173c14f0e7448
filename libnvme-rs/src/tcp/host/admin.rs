//! The admin controller: admin queue connect (TCP, IC, Connect, enable, Identify), an
//! [`AdminTransport`] so the shared admin procedures (`read_discovery_log`, `dim`,
//! `identify_controller`, ...) run on it unchanged, Set Features, keep-alive and AERs.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::error::TcpError;
use super::fabrics::{self, Cap, ConnectCommand};
use super::inflight::Transfer;
use super::options::ControllerOptions;
use super::queue::{QueueHandle, QueuePair, QueueParams};
use super::tasks;
use crate::admin::identify::identify_controller;
use crate::admin::{AdminCommand, AdminError, AdminTransport, DataPhase, opcode};
use crate::spec::fabrics::CNTLID_DYNAMIC;
use crate::spec::identify::{IDENTIFY_SIZE, IdentifyController};
use crate::tcp::{Negotiated, SglDescriptor, Sqe};

/// In-capsule limit of the admin queue and Fabrics commands (Linux NVME_TCP_ADMIN_CCSZ).
pub const ADMIN_IN_CAPSULE: usize = 8192;
/// AEN values buffered before the AER tasks wait for the consumer.
pub const EVENT_CAPACITY: usize = 64;
/// Upper bound on the shutdown wait at close (Linux `shutdown_timeout`).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

use crate::admin::fid;

/// An admin queue as an [`AdminTransport`]. Cheap to clone; commands may run concurrently.
#[derive(Debug, Clone)]
pub struct AdminQueue {
    q: QueueHandle,
    max_transfer: usize,
}

impl AdminQueue {
    /// The queue pair's handle, for submitting raw SQEs.
    pub fn handle(&self) -> &QueueHandle {
        &self.q
    }

    /// Runs one admin command with the queue's timeout; returns CQE DW0.
    pub async fn command(&self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, TcpError> {
        let sqe = Sqe::from_admin(cmd, 0, SglDescriptor::default());
        match data {
            DataPhase::None => Ok(self.q.execute(sqe, Transfer::None).await?.cqe.dw0()),
            DataPhase::ToController(buf) => {
                let transfer = Transfer::Write(Bytes::copy_from_slice(buf));
                Ok(self.q.execute(sqe, transfer).await?.cqe.dw0())
            }
            DataPhase::FromController(buf) => {
                let c = self.q.execute(sqe, Transfer::Read(buf.len())).await?;
                // The in-flight table only completes a read once all of it arrived.
                let n = buf.len().min(c.data.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), c.data.get(..n)) {
                    dst.copy_from_slice(src);
                }
                Ok(c.cqe.dw0())
            }
        }
    }
}

impl AdminTransport for AdminQueue {
    async fn submit(&mut self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, AdminError> {
        self.command(cmd, data).await.map_err(AdminError::from)
    }

    fn max_transfer(&self) -> usize {
        self.max_transfer
    }
}

/// A connected, enabled, identified controller with keep-alive and AERs running.
///
/// Everything, closing included, works through `&self`, so the controller can sit in an
/// `Arc` shared by tasks. The locks inside are never held across an await.
pub struct AdminController {
    /// `None` once closed.
    queue: Mutex<Option<QueuePair>>,
    admin: AdminQueue,
    cntlid: u16,
    cap: Cap,
    cc: u32,
    id: IdentifyController,
    /// The keep-alive timeout the controller applied (see [`applied_kato`]).
    kato: Duration,
    opts: ControllerOptions,
    events: Mutex<Option<mpsc::Receiver<u32>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for AdminController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminController")
            .field("addr", &self.opts.transport.addr)
            .field("subnqn", &self.opts.subnqn)
            .field("cntlid", &self.cntlid)
            .finish_non_exhaustive()
    }
}

impl AdminController {
    /// TCP + ICReq/ICResp + Connect + enable + Identify Controller + Set Features (AEC),
    /// then starts keep-alive (half the KATO the controller applied) and the AERs; AENs arrive on [`Self::take_events`].
    pub async fn connect(opts: ControllerOptions) -> Result<Self, TcpError> {
        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let ctrl = Self::connect_with_events(opts, tx).await?;
        *lock(&ctrl.events) = Some(rx);
        Ok(ctrl)
    }

    /// Like [`Self::connect`], delivering AENs to `events` (kept across reconnects).
    pub async fn connect_with_events(
        opts: ControllerOptions,
        events: mpsc::Sender<u32>,
    ) -> Result<Self, TcpError> {
        let span = association_span(&opts);
        let result = Self::connect_in(opts, events, span.clone())
            .instrument(span.clone())
            .await;
        match &result {
            Ok(c) => tracing::debug!(
                parent: &span,
                cntlid = c.cntlid,
                kato_ms = c.kato.as_millis() as u64,
                "connected"
            ),
            Err(e) => tracing::debug!(parent: &span, "connect failed: {e}"),
        }
        result
    }

    async fn connect_in(
        opts: ControllerOptions,
        events: mpsc::Sender<u32>,
        span: tracing::Span,
    ) -> Result<Self, TcpError> {
        if opts.queue_size < 2 {
            return Err(TcpError::InvalidArgument(format!(
                "admin queue size {} is below 2",
                opts.queue_size
            )));
        }
        let params = QueueParams {
            controller: opts.name(),
            qid: 0,
            queue_size: opts.queue_size,
            in_capsule_limit: ADMIN_IN_CAPSULE,
        };
        let mut queue = QueuePair::connect(&opts.transport, params).await?;
        let setup = setup(queue.handle(), &opts).await;
        let (cntlid, cap, cc, id, admin, kato) = match setup {
            Ok(v) => v,
            Err(e) => {
                queue.close().await;
                return Err(e);
            }
        };
        let mut ctrl = Self {
            queue: Mutex::new(Some(queue)),
            admin,
            cntlid,
            cap,
            cc,
            id,
            kato,
            opts,
            events: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        };
        ctrl.start_tasks(events, &span);
        Ok(ctrl)
    }

    fn start_tasks(&mut self, events: mpsc::Sender<u32>, span: &tracing::Span) {
        let q = self.admin.q.clone();
        let kato = self.kato;
        let tasks = self.tasks.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !kato.is_zero() {
            let timeout = kato.min(self.opts.transport.command_timeout);
            tasks.push(tokio::spawn(
                tasks::keep_alive(q.clone(), kato / 2, timeout).instrument(span.clone()),
            ));
        }
        // AERL is 0's based; leave at least one slot for other commands.
        let slots = self.opts.queue_size.saturating_sub(2);
        let aers = u16::from(self.opts.max_aers)
            .min(u16::from(self.id.aerl) + 1)
            .min(slots);
        for _ in 0..aers {
            tasks.push(tokio::spawn(
                tasks::async_events(q.clone(), events.clone()).instrument(span.clone()),
            ));
        }
    }

    /// The Identify Controller data read during setup.
    pub fn identify(&self) -> &IdentifyController {
        &self.id
    }

    /// CNTLID: the controller ID the admin Connect returned.
    pub fn cntlid(&self) -> u16 {
        self.cntlid
    }

    /// CAP: controller capabilities read during setup.
    pub fn cap(&self) -> Cap {
        self.cap
    }

    /// The keep-alive timeout the controller applied, which may differ from the requested
    /// one (nvmet rounds up to whole seconds); keep-alives go out every half of it. Zero when
    /// keep-alive is off.
    pub fn keep_alive_timeout(&self) -> Duration {
        self.kato
    }

    /// The options the controller was created with.
    pub fn options(&self) -> &ControllerOptions {
        &self.opts
    }

    /// The digests and data alignments ICReq/ICResp settled on the admin queue.
    pub fn negotiated(&self) -> Negotiated {
        self.admin.q.negotiated()
    }

    /// Largest transfer of one admin command: MDTS, MAXH2CDATA and our own bound.
    pub fn max_transfer(&self) -> usize {
        self.admin.max_transfer
    }

    /// The admin queue, e.g. to run admin procedures from another task.
    pub fn admin_queue(&self) -> &AdminQueue {
        &self.admin
    }

    /// The AEN stream (DW0 values, e.g. [`AEN_DISCOVERY_LOG_CHANGE`](crate::spec::AEN_DISCOVERY_LOG_CHANGE)); `None` after the
    /// first call or when the events go to a caller-provided channel.
    pub fn take_events(&self) -> Option<mpsc::Receiver<u32>> {
        lock(&self.events).take()
    }

    /// Why the association ended, `None` while it is up.
    pub fn close_reason(&self) -> Option<TcpError> {
        self.admin.q.close_reason()
    }

    /// Waits until the association ends (keep-alive failure, controller gone, ...).
    pub async fn closed(&self) -> TcpError {
        self.admin.q.closed().await
    }

    /// Set Features `fid` with CDW11 `value`; returns DW0.
    pub async fn set_features(&self, fid: u8, value: u32) -> Result<u32, TcpError> {
        set_features(&self.admin, fid, value).await
    }

    /// Get Features `fid` (current value); returns DW0.
    pub async fn get_features(&self, fid: u8) -> Result<u32, TcpError> {
        let cmd = AdminCommand {
            opcode: opcode::GET_FEATURES,
            cdw10: u32::from(fid),
            ..AdminCommand::default()
        };
        self.admin.command(&cmd, DataPhase::None).await
    }

    /// One Keep Alive now (the timer sends them anyway).
    pub async fn keep_alive(&self) -> Result<(), TcpError> {
        let cmd = AdminCommand {
            opcode: opcode::KEEP_ALIVE,
            ..AdminCommand::default()
        };
        self.admin.command(&cmd, DataPhase::None).await.map(drop)
    }

    /// Property Get at byte `offset` (see [`crate::spec::fabrics::property`]); `eight_bytes` for 8-byte properties such as CAP.
    pub async fn property_get(&self, offset: u32, eight_bytes: bool) -> Result<u64, TcpError> {
        fabrics::property_get(&self.admin.q, offset, eight_bytes).await
    }

    /// Property Set of the 4-byte property at byte `offset` (e.g. CC).
    pub async fn property_set(&self, offset: u32, value: u32) -> Result<(), TcpError> {
        fabrics::property_set(&self.admin.q, offset, value).await
    }

    /// Stops keep-alive and AERs, shuts the controller down (if configured and the
    /// association is still up), closes the connection and joins every task. Works through
    /// a shared reference (e.g. an `Arc`); calls after the first return `Ok(())` at once.
    pub async fn close(&self) -> Result<(), TcpError> {
        let Some(mut queue) = lock(&self.queue).take() else {
            return Ok(());
        };
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        let mut result = Ok(());
        if self.opts.shutdown_on_close && self.close_reason().is_none() {
            let timeout = self.cap.ready_timeout().min(SHUTDOWN_TIMEOUT);
            result = fabrics::shutdown(&self.admin.q, self.cc, timeout).await;
        }
        queue.close().await;
        result
    }

    /// True once every task of the controller has ended.
    pub fn is_finished(&self) -> bool {
        lock(&self.queue)
            .as_ref()
            .is_none_or(QueuePair::is_finished)
            && lock(&self.tasks).iter().all(JoinHandle::is_finished)
    }
}

/// The controller's locks guard plain data and are never held across an await, so a
/// poisoned one still holds consistent data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for AdminController {
    fn drop(&mut self) {
        for task in lock(&self.tasks).iter() {
            task.abort();
        }
    }
}

impl AdminTransport for AdminController {
    async fn submit(&mut self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, AdminError> {
        self.admin
            .command(cmd, data)
            .await
            .map_err(AdminError::from)
    }

    fn max_transfer(&self) -> usize {
        self.admin.max_transfer
    }
}

async fn set_features(admin: &AdminQueue, fid: u8, value: u32) -> Result<u32, TcpError> {
    let cmd = AdminCommand {
        opcode: opcode::SET_FEATURES,
        cdw10: u32::from(fid),
        cdw11: value,
        ..AdminCommand::default()
    };
    admin.command(&cmd, DataPhase::None).await
}

/// The span every event of one admin association (and its tasks) is recorded in: the
/// controller's address and subsystem NQN.
pub(crate) fn association_span(opts: &ControllerOptions) -> tracing::Span {
    tracing::debug_span!(
        "nvme_tcp",
        addr = %opts.transport.addr,
        subnqn = %opts.subnqn
    )
}

type Setup = (u16, Cap, u32, IdentifyController, AdminQueue, Duration);

async fn setup(q: &QueueHandle, opts: &ControllerOptions) -> Result<Setup, TcpError> {
    let cntlid = fabrics::connect(
        q,
        &ConnectCommand {
            qid: 0,
            queue_size: opts.queue_size,
            kato: opts.kato,
            cntlid: CNTLID_DYNAMIC,
            host: &opts.host,
            subnqn: &opts.subnqn,
        },
    )
    .await?;
    let (cap, cc) = fabrics::enable(q).await?;
    let mut admin = AdminQueue {
        q: q.clone(),
        max_transfer: IDENTIFY_SIZE,
    };
    let id = identify_controller(&mut admin).await?;
    let own = usize::try_from(opts.transport.max_transfer).unwrap_or(usize::MAX);
    let h2c = usize::try_from(q.maxh2cdata()).unwrap_or(usize::MAX);
    admin.max_transfer = id
        .max_transfer_bytes(cap.mpsmin_bytes())
        .unwrap_or(usize::MAX)
        .min(own)
        .min(h2c);
    if let Some(mask) = opts.async_event_config {
        let supported = mask & id.oaes;
        if supported != 0 {
            set_features(&admin, fid::ASYNC_EVENT_CONFIG, supported).await?;
        }
    }
    let kato = if opts.kato.is_zero() {
        Duration::ZERO
    } else {
        let cmd = AdminCommand {
            opcode: opcode::GET_FEATURES,
            cdw10: u32::from(fid::KEEP_ALIVE_TIMER),
            ..AdminCommand::default()
        };
        let reported = admin.command(&cmd, DataPhase::None).await;
        if let Err(e) = &reported {
            tracing::warn!(
                addr = %opts.transport.addr,
                subnqn = %opts.subnqn,
                "Get Features KATO failed ({e}); keep-alive paced on the requested timeout"
            );
        }
        applied_kato(opts.kato, reported.ok(), id.kas)
    };
    Ok((cntlid, cap, cc, id, admin, kato))
}

/// The keep-alive timeout the controller runs: what Get Features KATO reports (nvmet rounds
/// the requested value up to whole seconds), else the requested one rounded up to the
/// controller's timer granularity (Identify KAS, 100 ms units). The keep-alive cadence is
/// half of it.
pub fn applied_kato(requested: Duration, reported_ms: Option<u32>, kas: u16) -> Duration {
    match reported_ms {
        Some(ms) if ms > 0 => Duration::from_millis(ms.into()),
        _ => {
            let unit = u128::from(kas) * 100;
            let ms = requested.as_millis();
            let ms = if unit == 0 {
                ms
            } else {
                ms.div_ceil(unit) * unit
            };
            Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
        }
    }
}
