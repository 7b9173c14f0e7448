//! Background duties of an admin queue: Keep Alive (§3.5) and outstanding AERs (§3.6).

use std::time::Duration;

use tokio::sync::mpsc;

use super::error::TcpError;
use super::inflight::Transfer;
use super::queue::QueueHandle;
use crate::admin::{AdminCommand, opcode};
use crate::tcp::{SglDescriptor, Sqe};

fn admin_sqe(opcode: u8) -> Sqe {
    let cmd = AdminCommand {
        opcode,
        ..AdminCommand::default()
    };
    Sqe::from_admin(&cmd, 0, SglDescriptor::default())
}

/// Sends Keep Alive every `period`; one that fails or takes longer than `timeout` ends the
/// association with [`TcpError::KeepAlive`].
pub(crate) async fn keep_alive(q: QueueHandle, period: Duration, timeout: Duration) {
    // `interval` rejects a zero period (KATO below 2 ns).
    let period = period.max(Duration::from_millis(1));
    let start = tokio::time::Instant::now() + period;
    let mut tick = tokio::time::interval_at(start, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = q.closed() => return,
        }
        let sqe = admin_sqe(opcode::KEEP_ALIVE);
        let result = q.submit(sqe, Transfer::None, Some(timeout)).await;
        let failure = match result {
            Ok(c) => c.cqe.status().map(TcpError::Status),
            Err(e) => Some(e),
        };
        if let Some(e) = failure {
            if q.close_reason().is_none() {
                tracing::warn!("keep-alive failed ({e}): ending the association");
            }
            // A no-op when the queue already ended for another reason.
            q.fail(TcpError::KeepAlive(Box::new(e)));
            return;
        }
        tracing::trace!("keep-alive answered");
    }
}

/// Keeps one AER outstanding, without a timeout, re-arming it after every completion and
/// forwarding completion DW0. Stops when the queue ends or the controller refuses the AER
/// (e.g. Asynchronous Event Request Limit Exceeded). A full `events` channel delays the
/// re-arm (back-pressure); a dropped receiver only discards events.
pub(crate) async fn async_events(q: QueueHandle, events: mpsc::Sender<u32>) {
    let mut dropped = 0u64;
    loop {
        let sqe = admin_sqe(opcode::ASYNC_EVENT_REQUEST);
        let Ok(c) = q.submit(sqe, Transfer::None, None).await else {
            return;
        };
        if let Some(status) = c.cqe.status() {
            tracing::debug!("the controller refused an AER ({status}); one fewer outstanding");
            return;
        }
        let dw0 = c.cqe.dw0();
        tracing::debug!(aen = format_args!("{dw0:#010x}"), "asynchronous event");
        if events.send(dw0).await.is_err() {
            // Said once, then counted: nobody listens any more.
            dropped += 1;
            if dropped == 1 {
                tracing::warn!(
                    aen = format_args!("{dw0:#010x}"),
                    "asynchronous event dropped: its receiver is gone"
                );
            } else {
                tracing::debug!(dropped, "asynchronous event dropped");
            }
        }
    }
}
