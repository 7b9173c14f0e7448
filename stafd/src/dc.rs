//! The task that drives one discovery controller: connect with the 3 s / 60 s retry
//! schedule, register (TP8010), fetch the log page (retry every 20 s), re-fetch on each
//! change notice, reconnect when the association is lost, and on stop deregister and
//! disconnect as told. It reports into [`Shared`] and tells the main loop what changed.

use std::time::Duration;

use libnvme_rs::admin::dim::{DimHostEntry, DimOutcome};
use libnvme_rs::controller::{
    Backend, ConnectParams, ControllerError, DcEvent, DiscoveryController,
};
use libnvme_rs::spec::disclog::DiscoveryLog;
use libnvme_rs::spec::identify::IdentifyController;
use libnvme_rs::trid::TransportId;
use staslib::dlpe::{self, DlpeDict};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use staslib::exclusions::{HostExclusions, wait_while_excluded};

use crate::core;
use crate::state::{IdentifySummary, Shared};

/// How a DC is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopMode {
    /// Leave the kernel connection in place (`persistent-connections` at shutdown).
    pub keep_connection: bool,
    /// Send a DIM deregistration first, where the DC was registered.
    pub deregister: bool,
}

/// What a DC task tells the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcNotice {
    /// A log page was fetched (upstream signals every fetch, changed or not).
    LogPages {
        /// The DC.
        tid: TransportId,
        /// Its device name, `nvme?` style when there is none.
        device: String,
        /// The set of referrals in it changed: reconcile.
        referrals_changed: bool,
    },
}

/// Everything a DC task needs.
#[derive(Debug, Clone)]
pub struct DcContext {
    /// The backend.
    pub backend: Backend,
    /// Connect parameters.
    pub params: ConnectParams,
    /// DIM host entry (`None`: never register).
    pub dim: Option<DimHostEntry>,
    /// `[Global] pleo`: ask DDCs for port-local entries only where they support it.
    pub pleo: bool,
    /// Shared state.
    pub shared: Shared,
    /// Notices to the main loop.
    pub notices: mpsc::UnboundedSender<DcNotice>,
    /// The host's exclusion list, checked before every attempt.
    pub exclusions: HostExclusions,
    /// Whether the connection is kept, or parked between EPCSD polls.
    pub persistence: core::Persistence,
    /// How often a parked DC is polled.
    pub epcsd_poll: Duration,
    /// EFLAGS of the referral entry that led to this DC (EPCSD when it has no self entry).
    pub referral_eflags: Option<u16>,
}

/// A running DC task.
#[derive(Debug)]
pub struct DcHandle {
    stop: Option<oneshot::Sender<StopMode>>,
    task: JoinHandle<()>,
}

impl DcHandle {
    /// Starts the task for `tid`.
    pub fn spawn(ctx: DcContext, tid: TransportId) -> Self {
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(ctx, tid, stop_rx));
        Self {
            stop: Some(stop_tx),
            task,
        }
    }

    /// Stops the task and waits for it (bounded by `limit`).
    pub async fn stop(mut self, mode: StopMode, limit: Duration) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(mode);
        }
        if tokio::time::timeout(limit, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

fn device_of(dc: &DiscoveryController) -> String {
    dc.device().unwrap_or("nvme?").to_owned()
}

fn summary(id: &IdentifyController) -> IdentifySummary {
    IdentifySummary {
        model: id.mn.clone(),
        serial: id.sn.clone(),
        dctype: id.dctype_name().to_owned(),
        cntrltype: id.cntrltype_name().to_owned(),
    }
}

/// Converts a fetched log page into the served dictionaries: wildcard addresses dropped as
/// upstream does, entries that could alter a fabrics option string dropped with a warning.
pub fn served_entries(tid: &TransportId, log: &DiscoveryLog) -> (Vec<DlpeDict>, u64) {
    let mut rejected = 0;
    let entries = log
        .entries
        .iter()
        .map(dlpe::dlpe_dict)
        .filter(dlpe::is_usable)
        .filter(|d| match dlpe::check_fabrics_safe(d) {
            Ok(()) => true,
            Err(why) => {
                rejected += 1;
                tracing::warn!("{tid} - Discovery log entry dropped: {why}");
                false
            }
        })
        .collect();
    (entries, rejected)
}

/// EFLAGS of the DC's own entry (subtype 3) in its log page: the one with its address and
/// port, else the first.
pub fn self_eflags(tid: &TransportId, log: &DiscoveryLog) -> Option<u16> {
    let own = log
        .entries
        .iter()
        .filter(|e| e.subtype == libnvme_rs::spec::disclog::subtype::CURRENT_DISCOVERY);
    own.clone()
        .find(|e| e.traddr == tid.traddr() && e.trsvcid == tid.trsvcid())
        .or_else(|| own.clone().next())
        .map(|e| e.eflags)
}

/// How a connected stretch of a DC's life ended.
enum SessionEnd {
    /// Stopped (the DC is removed or the daemon stops).
    Stopped,
    /// Disconnected on purpose until the next EPCSD poll.
    Parked,
}

async fn run(ctx: DcContext, tid: TransportId, mut stop: oneshot::Receiver<StopMode>) {
    loop {
        let Some(dc) = Box::pin(connect(&ctx, &tid, &mut stop)).await else {
            return;
        };
        match session(&ctx, &tid, dc, &mut stop).await {
            SessionEnd::Stopped => return,
            SessionEnd::Parked => {
                ctx.shared.with_dc(&tid, |s| {
                    s.parked = true;
                    s.connected = false;
                    s.device = None;
                    s.arm_retry(ctx.epcsd_poll);
                });
                // Stopped while parked: nothing is open, nothing to undo.
                tokio::select! {
                    () = tokio::time::sleep(ctx.epcsd_poll) => {}
                    _ = &mut stop => return,
                }
                tracing::info!("{tid} - Polling the parked DC");
            }
        }
    }
}

/// One connection to the DC: register, fetch, follow events, reconnect when lost; ends when
/// stopped or when the DC is parked.
async fn session(
    ctx: &DcContext,
    tid: &TransportId,
    mut dc: DiscoveryController,
    stop: &mut oneshot::Receiver<StopMode>,
) -> SessionEnd {
    let mut registered = false;
    loop {
        // Freshly (re)connected: register, then fetch.
        on_connected(ctx, &dc);
        registered = Box::pin(register(ctx, &mut dc)).await || registered;
        let mut lsp = Box::pin(log_page_lsp(ctx, &mut dc)).await;
        let mut fetch_pending = true;
        loop {
            if fetch_pending {
                match Box::pin(fetch(ctx, &mut dc, lsp)).await {
                    None => {}
                    Some(own) => {
                        fetch_pending = false;
                        if parks_now(ctx, tid, &dc, own) {
                            // The cached log page stays; the poll reconnects.
                            if let Err(e) = Box::pin(dc.disconnect(false)).await {
                                tracing::warn!("{}", e.chain());
                            }
                            return SessionEnd::Parked;
                        }
                    }
                }
            }
            let retry = tokio::time::sleep(if fetch_pending {
                core::LOG_PAGE_RETRY
            } else {
                Duration::MAX / 4
            });
            tokio::select! {
                mode = &mut *stop => {
                    Box::pin(shutdown(ctx, dc, mode.unwrap_or(StopMode { keep_connection: false, deregister: false }), registered)).await;
                    return SessionEnd::Stopped;
                }
                () = retry => {}
                event = dc.next_event() => match event {
                    DcEvent::LogPageChanged => {
                        tracing::info!("{tid} | {} - Received AEN: Change of Discovery Log Page (0x70f002)", device_of(&dc));
                        ctx.shared.with_dc(tid, |s| s.stats.aens += 1);
                        fetch_pending = true;
                    }
                    DcEvent::Aen(dw0) => {
                        tracing::info!("{tid} | {} - Received AEN: {dw0:#x}", device_of(&dc));
                    }
                    DcEvent::Resync => {
                        // §4.5-6: the kernel reconnected (or events were lost): register
                        // again, then re-read.
                        tracing::info!("{tid} | {} - Resync: registering and re-reading the log page", device_of(&dc));
                        registered = Box::pin(register(ctx, &mut dc)).await || registered;
                        lsp = Box::pin(log_page_lsp(ctx, &mut dc)).await;
                        fetch_pending = true;
                    }
                    DcEvent::ConnectionLost(why) => {
                        tracing::warn!("{tid} | {} - Connection lost: {why}", device_of(&dc));
                        ctx.shared.with_dc(tid, |s| {
                            s.connected = false;
                            s.error(why);
                        });
                        if !Box::pin(reconnect(ctx, tid, &mut dc, stop)).await {
                            return SessionEnd::Stopped;
                        }
                        ctx.shared.with_dc(tid, |s| s.stats.reconnects += 1);
                        break;
                    }
                }
            }
        }
    }
}

/// Counts one connect attempt in the DC's record.
fn begin_attempt(ctx: &DcContext, tid: &TransportId) {
    ctx.shared.with_dc(tid, |s| {
        s.connect_attempts += 1;
        s.retry.deadline = None;
    });
}

/// After the `failures`-th failure in a row: log as upstream (§4.2-4), record it, and wait
/// out the 3 s / 60 s schedule; `false` when stopped while waiting.
async fn after_failure(
    ctx: &DcContext,
    tid: &TransportId,
    failures: u32,
    e: &ControllerError,
    stop: &mut oneshot::Receiver<StopMode>,
) -> bool {
    let delay = core::connect_retry_delay(failures);
    if core::log_connect_failure(failures) {
        tracing::error!("{tid} Failed to connect to controller. {}", e.chain());
    } else {
        tracing::debug!("{tid} connect attempt failed: {}", e.chain());
    }
    ctx.shared.with_dc(tid, |s| {
        s.stats.connect_failures += 1;
        s.error(e.chain());
        s.arm_retry(delay);
    });
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = &mut *stop => false,
    }
}

/// [`wait_while_excluded`] with the DC's state noted; `false` when stopped first.
async fn excluded_wait(
    ctx: &DcContext,
    tid: &TransportId,
    stop: &mut oneshot::Receiver<StopMode>,
) -> bool {
    wait_while_excluded(&ctx.exclusions, tid, stop, None, |m, delay| {
        ctx.shared.with_dc(tid, |s| {
            s.error(format!("excluded by {m}"));
            s.arm_retry(delay);
        });
    })
    .await
}

/// Connects with the retry schedule; `None` when stopped first.
async fn connect(
    ctx: &DcContext,
    tid: &TransportId,
    stop: &mut oneshot::Receiver<StopMode>,
) -> Option<DiscoveryController> {
    for failures in 1.. {
        if !excluded_wait(ctx, tid, stop).await {
            return None;
        }
        begin_attempt(ctx, tid);
        let result = tokio::select! {
            r = DiscoveryController::connect(&ctx.backend, tid, &ctx.params) => r,
            _ = &mut *stop => return None,
        };
        match result {
            Ok(dc) => return Some(dc),
            Err(e) if after_failure(ctx, tid, failures, &e, stop).await => {}
            Err(_) => return None,
        }
    }
    None
}

/// Re-establishes a lost association with the same schedule; `false` when stopped first.
async fn reconnect(
    ctx: &DcContext,
    tid: &TransportId,
    dc: &mut DiscoveryController,
    stop: &mut oneshot::Receiver<StopMode>,
) -> bool {
    for failures in 1.. {
        if !excluded_wait(ctx, tid, stop).await {
            return false;
        }
        begin_attempt(ctx, tid);
        let result = tokio::select! {
            r = dc.reconnect() => r,
            _ = &mut *stop => return false,
        };
        match result {
            Ok(()) => return true,
            Err(e) if after_failure(ctx, tid, failures, &e, stop).await => {}
            Err(_) => return false,
        }
    }
    false
}

fn on_connected(ctx: &DcContext, dc: &DiscoveryController) {
    let tid = dc.tid();
    if dc.adopted() {
        tracing::info!(
            "{tid} | {} - Adopted the existing kernel connection",
            device_of(dc)
        );
    }
    tracing::info!("{tid} | {} - Connection established!", device_of(dc));
    let ident = summary(dc.identify());
    let device = dc.device().map(str::to_owned);
    ctx.shared.with_dc(tid, |s| {
        s.connected = true;
        s.device = device;
        s.connect_attempts = 0;
        s.retry.deadline = None;
        s.identify = Some(ident);
        s.stats.connects += 1;
    });
}

/// DIM registration where the DC supports it; `true` when registered.
async fn register(ctx: &DcContext, dc: &mut DiscoveryController) -> bool {
    let Some(host) = &ctx.dim else { return false };
    if !dc.identify().supports_dim() {
        return false;
    }
    let tid = dc.tid().clone();
    match dc.register(host).await {
        Ok(DimOutcome::Completed(_)) => {
            tracing::debug!("{tid} | {} - Registered with the DC", device_of(dc));
            true
        }
        Ok(DimOutcome::NotSupported) => false,
        Err(e) => {
            tracing::warn!(
                "{tid} | {} - Registration error. {}.",
                device_of(dc),
                e.chain()
            );
            ctx.shared.with_dc(&tid, |s| s.error(e.chain()));
            false
        }
    }
}

/// One Get Log Page; `true` on success.
/// The LSP of this DC's Get Discovery Log Page (§4.5-3): PLEO where it is wanted and the
/// Supported Log Pages log says the DC takes it, else 0. A DC that cannot tell (nvmet has no
/// LID 0) is read without PLEO rather than not at all.
async fn log_page_lsp(ctx: &DcContext, dc: &mut DiscoveryController) -> u8 {
    if !core::wants_pleo(ctx.pleo, dc.identify().dctype) {
        return 0;
    }
    match dc.supported_log_pages().await {
        Ok(s) => core::lsp_from_support(s.lid_specific(libnvme_rs::spec::disclog::LID_DISCOVERY)),
        Err(e) => {
            tracing::debug!(
                "{} | {} - Supported Log Pages not available, reading without PLEO: {}",
                dc.tid(),
                device_of(dc),
                e.chain()
            );
            0
        }
    }
}

/// After a fetch: whether the DC is parked now (spec 3.x §4), logged when it is.
fn parks_now(
    ctx: &DcContext,
    tid: &TransportId,
    dc: &DiscoveryController,
    own: Option<u16>,
) -> bool {
    let epcsd = core::epcsd(own, ctx.referral_eflags);
    if !core::parks(ctx.persistence, epcsd) {
        ctx.shared.with_dc(tid, |s| s.parked = false);
        return false;
    }
    tracing::info!(
        "{tid} | {} - No persistent connection (EPCSD {}, persistent={:?}): parked for {:?}",
        device_of(dc),
        u8::from(epcsd),
        ctx.persistence,
        ctx.epcsd_poll
    );
    true
}

/// One Get Log Page; the EFLAGS of the DC's own entry (`Some(None)` without one) on
/// success, `None` on failure.
async fn fetch(ctx: &DcContext, dc: &mut DiscoveryController, lsp: u8) -> Option<Option<u16>> {
    let tid = dc.tid().clone();
    let device = device_of(dc);
    let opts = libnvme_rs::admin::discovery::DiscoveryLogOptions {
        lsp,
        ..Default::default()
    };
    match dc.log_page(opts).await {
        Ok(log) => {
            let own = self_eflags(&tid, &log);
            let (entries, rejected) = served_entries(&tid, &log);
            tracing::info!(
                "{tid} | {device} - Received discovery log pages (num records={}).",
                entries.len()
            );
            let new_refs = core::referrals(&tid, &entries);
            let referrals_changed = ctx
                .shared
                .with_dc(&tid, |s| {
                    let old_refs = core::referrals(&tid, &s.log_pages);
                    s.stats.log_page_fetches += 1;
                    s.stats.entries = entries.len() as u64;
                    s.stats.rejected_entries += rejected;
                    s.log_pages = entries;
                    old_refs != new_refs
                })
                .unwrap_or(false);
            let _ = ctx.notices.send(DcNotice::LogPages {
                tid,
                device,
                referrals_changed,
            });
            Some(own)
        }
        Err(e) => {
            tracing::error!(
                "{tid} | {device} - Failed to retrieve log pages. {}",
                e.chain()
            );
            ctx.shared.with_dc(&tid, |s| s.error(e.chain()));
            None
        }
    }
}

async fn shutdown(ctx: &DcContext, mut dc: DiscoveryController, mode: StopMode, registered: bool) {
    let tid = dc.tid().clone();
    if mode.deregister
        && registered
        && let Some(host) = &ctx.dim
        && let Err(e) = dc.deregister(host).await
    {
        tracing::warn!(
            "{tid} | {} - Deregistration failed. {}",
            device_of(&dc),
            e.chain()
        );
    }
    if !mode.keep_connection {
        tracing::info!("{tid} | {} - Disconnect initiated", device_of(&dc));
    }
    if let Err(e) = dc.disconnect(mode.keep_connection).await {
        tracing::warn!("{}", e.chain());
    }
}

#[cfg(test)]
mod size_probe {
    #[test]
    fn dc_task_future_stays_small() {
        let probe = staslib::testing::TaskProbe::new();
        let _g = probe.rt.enter();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = super::DcContext {
            backend: probe.backend(),
            params: Default::default(),
            dim: None,
            pleo: true,
            shared: Default::default(),
            notices: tx,
            exclusions: probe.exclusions(),
            persistence: crate::core::Persistence::Auto,
            epcsd_poll: crate::core::DEFAULT_EPCSD_POLL,
            referral_eflags: None,
        };
        let (_s, r) = tokio::sync::oneshot::channel();
        let tid = libnvme_rs::trid::TransportId::new_discovery(
            libnvme_rs::trid::Transport::Tcp,
            "127.0.0.1",
            "",
            "",
        );
        let f = super::run(ctx, tid, r);
        // One of these per DC, resident while it is connected: hundreds of DCs must stay
        // cheap. The session's one-off steps are boxed (13,000 bytes before, 4,224 after).
        let size = std::mem::size_of_val(&f);
        eprintln!("DC task future: {size} bytes");
        assert!(size < 6 * 1024, "DC task future is {size} bytes");
    }
}
