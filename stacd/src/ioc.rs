//! The task that drives one I/O controller: connect (or adopt) with the 3 s / 60 s retry
//! schedule and the NCC rule, reconnect 3 s after the controller is removed (udev `remove`:
//! upstream's behaviour, a manual `nvme disconnect` is undone), and on stop disconnect or
//! keep the kernel connection as told.

use std::sync::Arc;
use std::time::Duration;

use libnvme_rs::controller::{Backend, ConnectParams, IoController};
use libnvme_rs::trid::TransportId;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use staslib::exclusions::{HostExclusions, wait_while_excluded};

use crate::core;
use crate::state::Shared;

/// First retry after one failure, and the delay after a removal (§4.2-4, -5).
const FIRST_RETRY: Duration = Duration::from_secs(3);
/// Retry period from the second failure on.
const LATER_RETRY: Duration = Duration::from_secs(60);

/// Everything an IOC task needs; shared by the IOCs that have the same parameters.
#[derive(Debug)]
pub struct IocContext {
    /// How often a connected IOC is checked against sysfs (lost events).
    pub audit_period: Duration,
    /// The backend.
    pub backend: Backend,
    /// Connect parameters.
    pub params: ConnectParams,
    /// Shared state.
    pub shared: Shared,
    /// `connect-attempts-on-ncc`.
    pub attempts_on_ncc: i64,
    /// The host's exclusion list, checked before every attempt.
    pub exclusions: HostExclusions,
}

/// A running IOC task.
#[derive(Debug)]
pub struct IocHandle {
    stop: Option<oneshot::Sender<bool>>,
    kick: Arc<Notify>,
    task: JoinHandle<()>,
}

impl IocHandle {
    /// Starts the task for `tid`.
    pub fn spawn(ctx: Arc<IocContext>, tid: TransportId) -> Self {
        let (stop_tx, stop_rx) = oneshot::channel();
        let kick = Arc::new(Notify::new());
        let task = tokio::spawn(run(ctx, tid, stop_rx, kick.clone()));
        Self {
            stop: Some(stop_tx),
            kick,
            task,
        }
    }

    /// Makes an unconnected IOC try at once (SIGHUP, NCC cleared, §4.10-9).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Stops the task, keeping the kernel connection or not; waits at most `limit`.
    pub async fn stop(mut self, keep_connection: bool, limit: Duration) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(keep_connection);
        }
        if tokio::time::timeout(limit, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

fn device_of(ioc: &IoController) -> String {
    ioc.device().unwrap_or("nvme?").to_owned()
}

async fn run(
    ctx: Arc<IocContext>,
    tid: TransportId,
    mut stop: oneshot::Receiver<bool>,
    kick: Arc<Notify>,
) {
    loop {
        // Boxed: a connected IOC (most of them, for most of the time) holds only what
        // watching it takes, not the retry loop's state.
        let Some(mut ioc) = Box::pin(connect(&ctx, &tid, &mut stop, &kick)).await else {
            return;
        };
        let device = device_of(&ioc);
        if ioc.adopted() {
            tracing::info!("{tid} | {device} - Adopted the existing kernel connection");
        }
        tracing::info!("{tid} | {device} - Connection established!");
        ctx.shared.with_ioc(&tid, |s| {
            s.connected = true;
            s.device = ioc.device().map(str::to_owned);
            s.connect_attempts = 0;
            s.retry.deadline = None;
            s.ncc_stopped = false;
            s.connects += 1;
        });
        tokio::select! {
            keep = &mut stop => {
                let keep = keep.unwrap_or(true);
                if !keep {
                    tracing::info!("{tid} | {device} - Disconnect initiated");
                }
                if let Err(e) = Box::pin(ioc.disconnect(keep)).await {
                    tracing::warn!("{}", e.chain());
                }
                return;
            }
            why = gone(&mut ioc, ctx.audit_period) => {
                tracing::info!("{tid} | {why}");
                let _ = Box::pin(ioc.disconnect(true)).await;
                ctx.shared.with_ioc(&tid, |s| {
                    s.removals += 1;
                    s.error(why.clone());
                    s.connected = false;
                    s.device = None;
                    s.connect_attempts = 0;
                    s.arm_retry(FIRST_RETRY);
                });
                tokio::select! {
                    () = tokio::time::sleep(FIRST_RETRY) => {}
                    _ = &mut stop => return,
                }
            }
        }
    }
}

/// Waits until the controller goes away: its removal event, or a periodic check of sysfs
/// (the audit that finds what lost events did not say).
async fn gone(ioc: &mut IoController, period: Duration) -> String {
    let mut audit = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    audit.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            why = ioc.removed() => return why,
            _ = audit.tick() => {
                if let Some(why) = ioc.vanished() {
                    return why;
                }
            }
        }
    }
}

/// Connects with the retry schedule and the NCC rule; `None` when stopped first.
async fn connect(
    ctx: &IocContext,
    tid: &TransportId,
    stop: &mut oneshot::Receiver<bool>,
    kick: &Notify,
) -> Option<IoController> {
    let mut failures: u32 = 0;
    loop {
        let excluded = wait_while_excluded(&ctx.exclusions, tid, stop, Some(kick), |m, delay| {
            ctx.shared.with_ioc(tid, |s| {
                s.error(format!("excluded by {m}"));
                s.arm_retry(delay);
            });
        });
        if !excluded.await {
            return None;
        }
        let attempts = ctx
            .shared
            .with_ioc(tid, |s| {
                s.connect_attempts += 1;
                s.retry.deadline = None;
                s.connect_attempts
            })
            .unwrap_or(1);
        // Boxed, as the disconnects below: their state machines (several KiB) would
        // otherwise size every IOC's task.
        let mut attempt = Box::pin(IoController::connect(&ctx.backend, tid, &ctx.params));
        let result = tokio::select! {
            r = &mut attempt => r,
            keep = &mut *stop => {
                // Deferred disconnect (§4.13): a kernel connect in flight cannot be called
                // back; let it finish, then undo it unless the connection is to be kept.
                if let Ok(ioc) = attempt.await
                    && !keep.unwrap_or(true)
                {
                    tracing::info!("{tid} | {} - Disconnect initiated", device_of(&ioc));
                    if let Err(e) = Box::pin(ioc.disconnect(false)).await {
                        tracing::warn!("{}", e.chain());
                    }
                }
                return None;
            }
        };
        let e = match result {
            Ok(ioc) => return Some(ioc),
            Err(e) => e,
        };
        failures += 1;
        if failures == 2 {
            tracing::error!("{tid} Failed to connect to controller. {}", e.chain());
        } else {
            tracing::debug!("{tid} connect attempt failed: {}", e.chain());
        }
        let ncc = ctx
            .shared
            .with_ioc(tid, |s| core::ncc(s.dlpe.as_ref()))
            .unwrap_or(false);
        let delay = if failures <= 1 {
            FIRST_RETRY
        } else {
            LATER_RETRY
        };
        let stopped = core::stop_retrying(attempts, ncc, ctx.attempts_on_ncc);
        ctx.shared.with_ioc(tid, |s| {
            s.error(e.chain());
            s.connect_failures += 1;
            s.ncc_stopped = stopped;
            if !stopped {
                s.arm_retry(delay);
            }
        });
        let wait = async {
            if stopped {
                std::future::pending::<()>().await;
            } else {
                tokio::time::sleep(delay).await;
            }
        };
        tokio::select! {
            () = wait => {}
            () = kick.notified() => {}
            _ = &mut *stop => return None,
        }
    }
}

#[cfg(test)]
mod size_probe {
    #[test]
    fn ioc_task_future_stays_small() {
        let probe = staslib::testing::TaskProbe::new();
        let _g = probe.rt.enter();
        let ctx = super::IocContext {
            audit_period: std::time::Duration::from_secs(60),
            backend: probe.backend(),
            params: Default::default(),
            shared: Default::default(),
            attempts_on_ncc: 0,
            exclusions: probe.exclusions(),
        };
        let (_s, r) = tokio::sync::oneshot::channel();
        let tid = libnvme_rs::trid::TransportId::new(
            libnvme_rs::trid::Transport::Tcp,
            "127.0.0.1",
            "4420",
            "nqn.io",
        );
        // Boxed per IOC and held while it waits for admission to the kernel's connect queue.
        let connect =
            libnvme_rs::controller::IoController::connect(&ctx.backend, &tid, &ctx.params);
        let connect_size = std::mem::size_of_val(&connect);
        drop(connect);
        eprintln!("connect future: {connect_size} bytes");
        assert!(
            connect_size <= 256,
            "connect future is {connect_size} bytes"
        );
        let f = super::run(std::sync::Arc::new(ctx), tid, r, Default::default());
        // One of these per IOC, resident while connected: a thousand IOCs must stay cheap.
        let size = std::mem::size_of_val(&f);
        eprintln!("IOC task future: {size} bytes");
        assert!(size <= 1024, "IOC task future is {size} bytes");
    }
}
