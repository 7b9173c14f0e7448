//! One controller interface for the daemons: discovery controllers reached through either
//! backend, named by their [`TransportId`].
//!
//! The interface is an **enum over backends**, not a trait object. The set of backends is
//! closed and owned by this crate (kernel, native NVMe/TCP, later RDMA), an enum keeps every
//! future `Send` without boxing, and a `match` makes adding a backend a compile error at each
//! place that must learn about it. Tests that need faults run the native backend against the
//! `nvme-sim` target instead of a mock backend, so the daemons' code paths are the real ones.
//!
//! ```no_run
//! use libnvme_rs::controller::{Backend, ConnectParams, DiscoveryController, DcEvent};
//! use libnvme_rs::host::HostIdentity;
//! use libnvme_rs::spec::disclog::subtype;
//! use libnvme_rs::trid::{Transport, TransportId};
//!
//! # async fn demo() -> Result<(), libnvme_rs::controller::ControllerError> {
//! let host = HostIdentity {
//!     hostnqn: "nqn.2014-08.org.nvmexpress:uuid:6e4e4a0c-3b6e-4b8a-8d2a-0d2f4f3a9e11".into(),
//!     hostid: "6e4e4a0c-3b6e-4b8a-8d2a-0d2f4f3a9e11".into(),
//!     hostkey: None,
//! };
//! let backend = Backend::native(&host)?;
//! let tid = TransportId::new_discovery(Transport::Tcp, "127.0.0.1", "8009", "");
//! let mut dc = DiscoveryController::connect(&backend, &tid, &ConnectParams::default()).await?;
//! println!("connected to {} ({})", dc.tid(), dc.identify().dctype_name());
//! loop {
//!     let log = dc.log_page(Default::default()).await?;
//!     for e in log.entries.iter().filter(|e| e.subtype == subtype::NVME) {
//!         println!("  {} {}:{} {}", e.trtype, e.traddr, e.trsvcid, e.subnqn);
//!     }
//!     match dc.next_event().await {
//!         DcEvent::LogPageChanged => continue,          // re-read on the change notice
//!         DcEvent::Aen(other) => println!("AEN {other:#x}"),
//!         DcEvent::Resync => {}                         // re-read (and re-register)
//!         DcEvent::ConnectionLost(why) => {
//!             println!("lost: {why}");
//!             dc.reconnect().await?;
//!         }
//!     }
//! }
//! # }
//! ```

mod error;
mod io;
mod kernel;
mod kernel_events;
mod native;
mod params;

pub use error::{Cause, ControllerError, Operation};
pub use io::IoController;
pub use kernel::{KernelBackend, KernelInventory, KernelOptions};
pub use native::NativeBackend;
pub use params::{ConnectParams, TlsParams};

use crate::admin::dim::{DimHostEntry, DimOutcome, DimTask};
use crate::admin::discovery::DiscoveryLogOptions;
use crate::host::HostIdentity;
use crate::spec::disclog::DiscoveryLog;
use crate::spec::identify::IdentifyController;
use crate::trid::TransportId;

pub use crate::spec::AEN_DISCOVERY_LOG_CHANGE;

/// Which host implementation carries the connections.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Our userspace NVMe/TCP host: needs neither root nor kernel NVMe support.
    Native(native::NativeBackend),
    /// The Linux initiator: `/dev/nvmeN` devices that outlive this process.
    Kernel(kernel::KernelBackend),
}

impl Backend {
    /// The native NVMe/TCP backend with this host identity (the host ID must be a UUID).
    pub fn native(host: &HostIdentity) -> Result<Self, ControllerError> {
        Ok(Backend::Native(native::NativeBackend::new(host)?))
    }

    /// The kernel backend (probes `/dev/nvme-fabrics`, opens the uevent socket).
    pub async fn kernel(host: &HostIdentity) -> Result<Self, ControllerError> {
        Self::kernel_with(host, &KernelOptions::default()).await
    }

    /// The kernel backend with non-default settings.
    pub async fn kernel_with(
        host: &HostIdentity,
        opts: &KernelOptions,
    ) -> Result<Self, ControllerError> {
        Ok(Backend::Kernel(
            kernel::KernelBackend::new(host, opts).await?,
        ))
    }

    /// Whether a discovery controller can be reached by its unique NQN (TP8013): always on
    /// the native host, on the kernel when it knows the `discovery` option.
    pub fn supports_unique_discovery_nqn(&self) -> bool {
        match self {
            Backend::Native(_) => true,
            Backend::Kernel(k) => k.capabilities().discovery(),
        }
    }

    /// Whether connections can be bound to a host interface (`host-iface`): always on the
    /// native host (SO_BINDTODEVICE), on the kernel when it knows the `host_iface` option.
    pub fn supports_host_iface(&self) -> bool {
        match self {
            Backend::Native(_) => true,
            Backend::Kernel(k) => k.capabilities().host_iface(),
        }
    }

    /// Changes the host identity for connections made from now on (existing ones keep
    /// theirs).
    pub fn set_host(&mut self, host: &HostIdentity) -> Result<(), ControllerError> {
        match self {
            Backend::Native(n) => *n = native::NativeBackend::new(host)?,
            Backend::Kernel(k) => k.set_host(host),
        }
        Ok(())
    }

    /// Short name for logs and D-Bus (`native`, `kernel`).
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Native(_) => "native",
            Backend::Kernel(_) => "kernel",
        }
    }
}

/// What happened on a discovery controller association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcEvent {
    /// A Discovery Log Page Change notice (0x70f002): the log page should be re-read.
    LogPageChanged,
    /// Any other asynchronous event (DW0).
    Aen(u32),
    /// The association ended; the text says why. [`DiscoveryController::reconnect`] re-opens it.
    ConnectionLost(String),
    /// The association was re-established underneath (the kernel reconnected) or events
    /// may have been lost: register again and re-read the log page.
    Resync,
}

/// A connected discovery controller.
#[derive(Debug)]
pub struct DiscoveryController {
    tid: TransportId,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    // Boxed, as an IoController's: either state is large next to the handle.
    Native(Box<native::NativeDc>),
    Kernel(Box<kernel::KernelDc>),
}

impl DiscoveryController {
    /// Connects to (or, on the kernel backend, adopts) the discovery controller `tid`.
    pub async fn connect(
        backend: &Backend,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<Self, ControllerError> {
        let inner = match backend {
            Backend::Native(b) => Inner::Native(Box::new(b.connect_dc(tid, params).await?)),
            Backend::Kernel(b) => Inner::Kernel(Box::new(b.connect_dc(tid, params).await?)),
        };
        tracing::debug!(controller = %tid, backend = backend.name(), "discovery controller connected");
        Ok(Self {
            tid: tid.clone(),
            inner,
        })
    }

    /// The identity this controller was connected with.
    pub fn tid(&self) -> &TransportId {
        &self.tid
    }

    /// The kernel device name (`nvme3`), if the connection is a kernel one.
    pub fn device(&self) -> Option<&str> {
        match &self.inner {
            Inner::Native(_) => None,
            Inner::Kernel(dc) => Some(dc.device()),
        }
    }

    /// Whether connecting adopted a connection that already existed (kernel backend).
    pub fn adopted(&self) -> bool {
        match &self.inner {
            Inner::Native(_) => false,
            Inner::Kernel(dc) => dc.adopted(),
        }
    }

    /// Identify Controller data read at connect time.
    pub fn identify(&self) -> &IdentifyController {
        match &self.inner {
            Inner::Native(dc) => dc.identify(),
            Inner::Kernel(dc) => dc.identify(),
        }
    }

    /// The keep-alive period in use (from the KATO the controller applied), if any.
    pub fn keep_alive_interval(&self) -> Option<std::time::Duration> {
        match &self.inner {
            Inner::Native(dc) => dc.keep_alive_interval(),
            Inner::Kernel(dc) => dc.keep_alive_interval(),
        }
    }

    /// Reads the discovery log page (the generation-consistent procedure).
    pub async fn log_page(
        &mut self,
        opts: DiscoveryLogOptions,
    ) -> Result<DiscoveryLog, ControllerError> {
        let r = match &mut self.inner {
            Inner::Native(dc) => dc.log_page(&opts).await,
            Inner::Kernel(dc) => dc.log_page(&opts).await,
        };
        r.map_err(|e| e.at(&self.tid, Operation::GetLogPage))
    }

    /// The Supported Log Pages log (LID 0x00), e.g. to learn whether the DC takes PLEO.
    pub async fn supported_log_pages(
        &mut self,
    ) -> Result<crate::admin::identify::SupportedLogPages, ControllerError> {
        let r = match &mut self.inner {
            Inner::Native(dc) => dc.supported_log_pages().await,
            Inner::Kernel(dc) => dc.supported_log_pages().await,
        };
        r.map_err(|e| e.at(&self.tid, Operation::GetLogPage))
    }

    /// TP8010 DIM registration; [`DimOutcome::NotSupported`] when the DC does not do DIM.
    pub async fn register(&mut self, host: &DimHostEntry) -> Result<DimOutcome, ControllerError> {
        let r = match &mut self.inner {
            Inner::Native(dc) => dc.register(host).await,
            Inner::Kernel(dc) => dc.dim(DimTask::Register, host).await,
        };
        r.map_err(|e| e.at(&self.tid, Operation::Register))
    }

    /// TP8010 DIM deregistration.
    pub async fn deregister(&mut self, host: &DimHostEntry) -> Result<DimOutcome, ControllerError> {
        let r = match &mut self.inner {
            Inner::Native(dc) => dc.deregister(host).await,
            Inner::Kernel(dc) => dc.dim(DimTask::Deregister, host).await,
        };
        r.map_err(|e| e.at(&self.tid, Operation::Deregister))
    }

    /// Waits for the next event. Cancel-safe: dropping the future loses nothing.
    pub async fn next_event(&mut self) -> DcEvent {
        match &mut self.inner {
            Inner::Native(dc) => dc.next_event().await,
            Inner::Kernel(dc) => dc.next_event().await,
        }
    }

    /// Re-establishes a lost association (keep-alive and AENs restart).
    pub async fn reconnect(&mut self) -> Result<(), ControllerError> {
        let r = match &mut self.inner {
            Inner::Native(dc) => dc.reconnect().await,
            Inner::Kernel(dc) => dc.reconnect().await,
        };
        r.map_err(|e| e.at(&self.tid, Operation::Connect))
    }

    /// Ends the association. On the kernel backend `keep` leaves the kernel connection in
    /// place (persistent connections survive the daemon); the native one always closes.
    pub async fn disconnect(self, keep: bool) -> Result<(), ControllerError> {
        let tid = self.tid;
        let r = match self.inner {
            // A native association cannot outlive the process: it always closes.
            Inner::Native(dc) => dc.close().await,
            Inner::Kernel(dc) => dc.close(keep).await,
        };
        r.map_err(|e| e.at(&tid, Operation::Disconnect))
    }
}
