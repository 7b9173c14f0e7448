//! A persistent discovery session over the native host: connect to a DC, register with
//! DIM, read the discovery log, receive Discovery Log Page Change AENs, and reconnect.
//!
//! Policy (when to reconnect, re-register after a reconnect — pitfall 18 — or re-read the
//! log) is the caller's: [`DiscoverySession::closed`] says when the association ended.

use tokio::sync::mpsc;

use super::admin::{AdminController, EVENT_CAPACITY};
use super::error::TcpError;
use super::options::ControllerOptions;
use crate::admin::dim::{DimHostEntry, DimOutcome, DimTask, dim};
use crate::admin::discovery::{DiscoveryLogOptions, read_discovery_log};
use crate::spec::disclog::DiscoveryLog;
use crate::spec::identify::IdentifyController;

/// One DC association that can be re-established; AENs of every association arrive on
/// the same stream.
#[derive(Debug)]
pub struct DiscoverySession {
    opts: ControllerOptions,
    ctrl: Option<AdminController>,
    events_tx: mpsc::Sender<u32>,
    events_rx: Option<mpsc::Receiver<u32>>,
}

impl DiscoverySession {
    /// Connects (see [`ControllerOptions::discovery`] for the usual options).
    pub async fn connect(opts: ControllerOptions) -> Result<Self, TcpError> {
        let (events_tx, events_rx) = mpsc::channel(EVENT_CAPACITY);
        let ctrl = AdminController::connect_with_events(opts.clone(), events_tx.clone()).await?;
        Ok(Self {
            opts,
            ctrl: Some(ctrl),
            events_tx,
            events_rx: Some(events_rx),
        })
    }

    fn ctrl(&mut self) -> Result<&mut AdminController, TcpError> {
        self.ctrl.as_mut().ok_or(TcpError::Closed)
    }

    /// The admin controller of the current association.
    pub fn controller(&mut self) -> Option<&mut AdminController> {
        self.ctrl.as_mut()
    }

    /// Identify Controller data of the current association, `None` while disconnected.
    pub fn identify(&self) -> Option<&IdentifyController> {
        self.ctrl.as_ref().map(AdminController::identify)
    }

    /// The keep-alive timeout the controller of the current association applied, `None`
    /// while disconnected.
    pub fn keep_alive_timeout(&self) -> Option<std::time::Duration> {
        self.ctrl.as_ref().map(AdminController::keep_alive_timeout)
    }

    /// The AEN stream (DW0 values); taken once, it survives reconnects.
    pub fn events(&mut self) -> Option<mpsc::Receiver<u32>> {
        self.events_rx.take()
    }

    /// Waits until the current association ends and returns why ([`TcpError::Closed`]
    /// at once when there is none).
    pub async fn closed(&self) -> TcpError {
        match &self.ctrl {
            Some(c) => c.closed().await,
            None => TcpError::Closed,
        }
    }

    /// Reads a consistent discovery log (the shared procedure; RAE=0 on the final header
    /// read unless `opts.retain_aen`, which re-arms the change notice).
    pub async fn log_page(&mut self, opts: &DiscoveryLogOptions) -> Result<DiscoveryLog, TcpError> {
        Ok(read_discovery_log(self.ctrl()?, opts).await?)
    }

    /// DIM register; [`DimOutcome::NotSupported`] without sending anything when the DC's
    /// DCTYPE does not allow DIM (pitfall 13).
    pub async fn register(&mut self, host: &DimHostEntry) -> Result<DimOutcome, TcpError> {
        self.dim(DimTask::Register, host).await
    }

    /// DIM deregister (before a planned disconnect).
    pub async fn deregister(&mut self, host: &DimHostEntry) -> Result<DimOutcome, TcpError> {
        self.dim(DimTask::Deregister, host).await
    }

    async fn dim(&mut self, task: DimTask, host: &DimHostEntry) -> Result<DimOutcome, TcpError> {
        let ctrl = self.ctrl()?;
        if !ctrl.identify().supports_dim() {
            return Ok(DimOutcome::NotSupported);
        }
        let payload = host
            .payload()
            .map_err(|e| TcpError::InvalidArgument(e.to_string()))?;
        Ok(dim(ctrl, task, &payload).await?)
    }

    /// Closes the current association (if any) and establishes a new one; keep-alive and
    /// AERs restart and AENs keep flowing to the same stream.
    pub async fn reconnect(&mut self) -> Result<(), TcpError> {
        if let Some(old) = self.ctrl.take() {
            // Best effort: the old association is usually dead already.
            if let Err(e) = old.close().await {
                tracing::debug!(addr = %self.opts.transport.addr, "closing the old association: {e}");
            }
        }
        tracing::info!(
            addr = %self.opts.transport.addr,
            subnqn = %self.opts.subnqn,
            "reconnecting the discovery association"
        );
        let ctrl =
            AdminController::connect_with_events(self.opts.clone(), self.events_tx.clone()).await?;
        self.ctrl = Some(ctrl);
        Ok(())
    }

    /// Closes the association and joins its tasks.
    pub async fn close(mut self) -> Result<(), TcpError> {
        match self.ctrl.take() {
            Some(ctrl) => ctrl.close().await,
            None => Ok(()),
        }
    }
}
