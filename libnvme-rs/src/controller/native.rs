//! The native backend: discovery controllers over our own NVMe/TCP host.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use tokio::sync::mpsc;

use super::error::{Cause, ControllerError, Operation};
use super::params::{ConnectParams, DEFAULT_DISCOVERY_KATO};
use super::{AEN_DISCOVERY_LOG_CHANGE, DcEvent};
use crate::admin::dim::{DimHostEntry, DimOutcome};
use crate::admin::discovery::DiscoveryLogOptions;
use crate::admin::identify::{SupportedLogPages, supported_log_pages};
use crate::host::HostIdentity;
use crate::spec::disclog::DiscoveryLog;
use crate::spec::identify::IdentifyController;
use crate::tcp::host::{
    ControllerOptions, DiscoverySession, HostId, IoController, IoOptions, TcpError,
};
use crate::trid::{IpLiteral, Transport, TransportId};

/// I/O associations being set up at once. A target's listen queue is finite (nvmet's takes
/// 128 connections): a thousand connects at once overflowed even nvme-sim's 1,024, and each
/// dropped SYN cost its connect a 1 s retransmission.
const CONNECTS_IN_FLIGHT: usize = 32;

/// Host identity in the form the native host sends at Connect, and the admission of
/// I/O connects.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    host: HostId,
    connects: std::sync::Arc<tokio::sync::Semaphore>,
}

impl NativeBackend {
    pub(super) fn new(host: &HostIdentity) -> Result<Self, ControllerError> {
        let host = HostId::try_from(host).map_err(|e| ControllerError {
            controller: "native backend".to_owned(),
            op: Operation::Connect,
            source: Cause::InvalidArgument(format!("{e} (the native host sends it at Connect)")),
        })?;
        Ok(Self {
            host,
            connects: std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT)),
        })
    }

    fn options(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<ControllerOptions, Cause> {
        let addr = socket_addr(tid)?;
        let mut host = self.host.clone();
        if !tid.host_nqn().is_empty() {
            host.hostnqn = tid.host_nqn().to_owned();
        }
        let mut opts = ControllerOptions::discovery(addr, host);
        opts.subnqn = tid.subsysnqn().to_owned();
        opts.kato = params.kato.unwrap_or(DEFAULT_DISCOVERY_KATO);
        if let Some(q) = params.queue_size {
            opts.queue_size = q;
        }
        opts.transport.hdgst = params.hdr_digest;
        opts.transport.ddgst = params.data_digest;
        if let Some(t) = params.connect_timeout {
            opts.transport.connect_timeout = t;
        }
        if !tid.host_traddr().is_empty() {
            let ip = IpLiteral::parse(tid.host_traddr()).ok_or_else(|| {
                Cause::InvalidArgument(format!(
                    "host-traddr {:?} is not an IP address",
                    tid.host_traddr()
                ))
            })?;
            opts.transport.host_traddr = Some(ip.addr);
        }
        if !tid.host_iface().is_empty() {
            opts.transport.host_iface = Some(tid.host_iface().to_owned());
        }
        // A discovery association has no I/O to drain; closing needs no CC.SHN round trip.
        opts.shutdown_on_close = false;
        Ok(opts)
    }

    pub(super) async fn connect_dc(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<NativeDc, ControllerError> {
        let opts = self
            .options(tid, params)
            .map_err(|e| e.at(tid, Operation::Connect))?;
        let mut session = DiscoverySession::connect(opts)
            .await
            .map_err(|e| Cause::from(e).at(tid, Operation::Connect))?;
        let events = session
            .events()
            .expect("a new session still has its event stream");
        Ok(NativeDc {
            session,
            events,
            lost: false,
        })
    }
}

/// The target address of a tcp identity; only IP literals (names are resolved earlier).
fn socket_addr(tid: &TransportId) -> Result<SocketAddr, Cause> {
    if tid.transport() != Transport::Tcp {
        return Err(Cause::InvalidArgument(format!(
            "the native backend carries tcp only, not {}",
            tid.transport()
        )));
    }
    let ip = IpLiteral::parse(tid.traddr()).ok_or_else(|| {
        Cause::InvalidArgument(format!("traddr {:?} is not an IP address", tid.traddr()))
    })?;
    let port: u16 = tid.trsvcid().parse().map_err(|_| {
        Cause::InvalidArgument(format!("trsvcid {:?} is not a port number", tid.trsvcid()))
    })?;
    Ok(match (ip.addr, ip.scope) {
        (IpAddr::V6(v6), Some(scope)) => {
            let index = scope_index(&scope)
                .ok_or_else(|| Cause::InvalidArgument(format!("unknown IPv6 scope {scope:?}")))?;
            SocketAddr::V6(SocketAddrV6::new(v6, port, 0, index))
        }
        (addr, _) => SocketAddr::new(addr, port),
    })
}

/// An IPv6 zone as an interface index (numeric, or an interface name).
fn scope_index(scope: &str) -> Option<u32> {
    if let Ok(n) = scope.parse::<u32>() {
        return Some(n);
    }
    let name = std::ffi::CString::new(scope).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// One discovery association on the native host.
#[derive(Debug)]
pub(super) struct NativeDc {
    session: DiscoverySession,
    events: mpsc::Receiver<u32>,
    /// The association ended and was reported; the next report waits for a reconnect.
    lost: bool,
}

impl NativeDc {
    pub(super) fn identify(&self) -> &IdentifyController {
        self.session
            .identify()
            .expect("a connected session has Identify data")
    }

    pub(super) fn keep_alive_interval(&self) -> Option<Duration> {
        // What the controller applied (Get Features KATO), which nvmet rounds up to seconds.
        self.session
            .keep_alive_timeout()
            .filter(|k| !k.is_zero())
            .map(|k| k / 2)
    }

    pub(super) async fn log_page(
        &mut self,
        opts: &DiscoveryLogOptions,
    ) -> Result<DiscoveryLog, Cause> {
        Ok(self.session.log_page(opts).await?)
    }

    pub(super) async fn supported_log_pages(&mut self) -> Result<SupportedLogPages, Cause> {
        let ctrl = self
            .session
            .controller()
            .ok_or(Cause::Tcp(TcpError::Closed))?;
        Ok(supported_log_pages(ctrl).await.map_err(TcpError::from)?)
    }

    pub(super) async fn register(&mut self, host: &DimHostEntry) -> Result<DimOutcome, Cause> {
        Ok(self.session.register(host).await?)
    }

    pub(super) async fn deregister(&mut self, host: &DimHostEntry) -> Result<DimOutcome, Cause> {
        Ok(self.session.deregister(host).await?)
    }

    pub(super) async fn next_event(&mut self) -> DcEvent {
        if self.lost {
            // Reported once; nothing more happens until the caller reconnects.
            return std::future::pending().await;
        }
        tokio::select! {
            Some(dw0) = self.events.recv() => {
                tracing::debug!(dw0 = format_args!("{dw0:#x}"), "AEN");
                if dw0 == AEN_DISCOVERY_LOG_CHANGE {
                    DcEvent::LogPageChanged
                } else {
                    DcEvent::Aen(dw0)
                }
            }
            why = self.session.closed() => {
                self.lost = true;
                let why = crate::error_chain(why.cause());
                tracing::info!(reason = %why, "discovery association lost");
                DcEvent::ConnectionLost(why)
            }
        }
    }

    pub(super) async fn reconnect(&mut self) -> Result<(), Cause> {
        self.session.reconnect().await?;
        self.lost = false;
        Ok(())
    }

    pub(super) async fn close(self) -> Result<(), Cause> {
        match self.session.close().await {
            // Closing an association the controller already ended is not a failure.
            Err(e) if !matches!(e.cause(), TcpError::Closed | TcpError::ConnectionClosed) => {
                Err(e.into())
            }
            _ => Ok(()),
        }
    }
}

impl NativeBackend {
    pub(super) async fn connect_ioc(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<NativeIoc, ControllerError> {
        // Admitted first, the rest boxed (as on the kernel backend): a connect waiting its
        // turn holds only this small future. The semaphore is never closed.
        let _admitted = self.connects.acquire().await;
        Box::pin(self.connect_ioc_admitted(tid, params)).await
    }

    async fn connect_ioc_admitted(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<NativeIoc, ControllerError> {
        let mut opts = self
            .options(tid, params)
            .map_err(|e| e.at(tid, Operation::Connect))?;
        // An I/O association: Linux's 5 s default KATO, no discovery events.
        opts.kato = params.kato.unwrap_or(std::time::Duration::from_secs(5));
        opts.async_event_config = None;
        opts.shutdown_on_close = true;
        let io = IoOptions {
            queues: params
                .nr_io_queues
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(1),
            queue_size: params.queue_size.unwrap_or(IoOptions::default().queue_size),
        };
        let ctrl = IoController::connect(opts, io)
            .await
            .map_err(|e| Cause::from(e).at(tid, Operation::Connect))?;
        Ok(NativeIoc { ctrl, lost: false })
    }
}

/// One I/O association held by the native host.
#[derive(Debug)]
pub(super) struct NativeIoc {
    ctrl: IoController,
    lost: bool,
}

impl NativeIoc {
    pub(super) fn state(&self) -> &'static str {
        if self.lost { "dead" } else { "live" }
    }

    pub(super) async fn removed(&mut self) -> String {
        if self.lost {
            return std::future::pending().await;
        }
        let why = self.ctrl.admin().closed().await;
        self.lost = true;
        crate::error_chain(why.cause())
    }

    pub(super) async fn close(self) -> Result<(), Cause> {
        match self.ctrl.close().await {
            Err(e) if !matches!(e.cause(), TcpError::Closed | TcpError::ConnectionClosed) => {
                Err(e.into())
            }
            _ => Ok(()),
        }
    }
}
