//! The kernel backend: discovery controllers through the Linux initiator. Connect or adopt
//! through `/dev/nvme-fabrics` and sysfs, admin commands through the passthru ioctl, events
//! from uevents. Every blocking kernel call runs in `spawn_blocking` under a time limit.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::error::{Cause, ControllerError, Operation};
use super::kernel_events::{DeviceEvent, DeviceEvents, UeventRouter};
use super::params::{ConnectParams, DEFAULT_DISCOVERY_KATO};
use super::{AEN_DISCOVERY_LOG_CHANGE, DcEvent};
use crate::admin::dim::{DimHostEntry, DimOutcome, DimTask, dim};
use crate::admin::discovery::{DiscoveryLogOptions, read_discovery_log};
use crate::admin::identify::{SupportedLogPages, identify_controller, supported_log_pages};
use crate::admin::{AdminError, block_on};
use crate::host::HostIdentity;
use crate::kernel::adopt::{ControllerKind, KernelConnection, connect_or_adopt_except};
use crate::kernel::fabrics::Fabrics;
use crate::kernel::options::{ConnectOptions, KernelCapabilities};
use crate::kernel::passthru::AdminDevice;
use crate::kernel::registry::{Claim, Registry};
use crate::kernel::sysfs::{ControllerInfo, SysfsRoot};
use crate::kernel::uevent::Action;
use crate::spec::disclog::DiscoveryLog;
use crate::spec::identify::IdentifyController;
use crate::trid::TransportId;

/// Bound on one fabrics connect (the kernel's own connect timeout is shorter).
const CONNECT_LIMIT: Duration = Duration::from_secs(60);
/// Connects of one process in flight at once. The kernel serializes every write to
/// `/dev/nvme-fabrics` (`nvmf_dev_mutex` is held for the whole connect), so more only adds
/// blocked threads, and time spent queued in the kernel would count against
/// [`CONNECT_LIMIT`]; a few let one connect's sysfs search overlap another's kernel work.
const CONNECTS_IN_FLIGHT: usize = 4;
/// Bound on one admin procedure (a log page is many commands, each under the kernel's
/// admin timeout).
const ADMIN_LIMIT: Duration = Duration::from_secs(120);

/// What [`KernelBackend::io_controllers`] found.
#[derive(Debug, Clone, Default)]
pub struct KernelInventory {
    /// Device name and the kernel's identity of each live I/O controller.
    pub controllers: Vec<(String, crate::kernel::adopt::KernelConnection)>,
    /// The host's interfaces and addresses when they were listed.
    pub ifaces: crate::kernel::adopt::InterfaceAddrs,
}

/// Settings of the kernel backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelOptions {
    /// Receive buffer of the uevent socket, in bytes. Overruns are detected and followed by
    /// a resync from sysfs, so a small buffer costs work, not correctness.
    pub uevent_buffer: usize,
    /// The owner recorded in libnvme 3's ownership registry (`None`: leave the registry
    /// alone). Used only on a host that has the registry (see
    /// [`Registry::in_use`](crate::kernel::registry::Registry::in_use)).
    pub owner: Option<String>,
    /// The registry's directory.
    pub registry_dir: PathBuf,
    /// Controllers the NBFT lists: left alone on a host that uses the registry.
    pub nbft_listed: Vec<crate::kernel::protected::NbftListed>,
}

impl Default for KernelOptions {
    fn default() -> Self {
        Self {
            uevent_buffer: crate::kernel::uevent::DEFAULT_UEVENT_BUFFER,
            owner: None,
            registry_dir: PathBuf::from(crate::kernel::registry::DEFAULT_DIR),
            nbft_listed: Vec::new(),
        }
    }
}

/// The kernel initiator, its capabilities and the process's uevent router. Shared: every
/// controller handle holds one, and a thousand copies of the paths, host identity and
/// capabilities added up.
#[derive(Debug, Clone)]
pub struct KernelBackend(std::sync::Arc<Shared>);

impl std::ops::Deref for KernelBackend {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Shared {
    fabrics: Fabrics,
    sysfs: SysfsRoot,
    caps: KernelCapabilities,
    host: HostIdentity,
    events: UeventRouter,
    dev_dir: PathBuf,
    /// The registry and the owner name to record, when asked for.
    ownership: Option<std::sync::Arc<(Registry, String)>>,
    /// Controllers the NBFT lists.
    nbft_listed: std::sync::Arc<Vec<crate::kernel::protected::NbftListed>>,
    /// Admits [`CONNECTS_IN_FLIGHT`] connects; a connect's time limit starts once admitted.
    connects: std::sync::Arc<tokio::sync::Semaphore>,
}

/// The owner of `device` in `registry` when it is not `ours` (`registry`: the registry
/// and our owner name, on a host that uses it).
fn foreign_owner(registry: Option<(&Registry, &str)>, device: &str) -> Option<String> {
    let (reg, ours) = registry?;
    reg.owned_by_another(device, ours)
}

/// Runs a blocking kernel call off the event loop, bounded by `limit`.
async fn blocking<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> Result<T, Cause> + Send + 'static,
) -> Result<T, Cause> {
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(Cause::InvalidArgument(format!(
            "kernel call panicked: {join}"
        ))),
        Err(_) => Err(Cause::KernelTimeout(limit)),
    }
}

impl KernelBackend {
    /// Probes `/dev/nvme-fabrics` and opens the uevent socket.
    pub(super) async fn new(
        host: &HostIdentity,
        opts: &KernelOptions,
    ) -> Result<Self, ControllerError> {
        let at = |c: Cause| ControllerError {
            controller: "kernel backend".into(),
            op: Operation::Connect,
            source: c,
        };
        let fabrics = Fabrics::new();
        let f = fabrics.clone();
        let caps = blocking(CONNECT_LIMIT, move || Ok(f.probe_capabilities()?))
            .await
            .map_err(at)?;
        let events = UeventRouter::start(opts.uevent_buffer).map_err(|e| at(Cause::Uevents(e)))?;
        Ok(Self(std::sync::Arc::new(Shared {
            fabrics,
            sysfs: SysfsRoot::default(),
            caps,
            host: host.clone(),
            events,
            dev_dir: PathBuf::from("/dev"),
            ownership: opts
                .owner
                .clone()
                .map(|o| std::sync::Arc::new((Registry::new(&opts.registry_dir), o))),
            nbft_listed: std::sync::Arc::new(opts.nbft_listed.clone()),
            connects: std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT)),
        })))
    }

    /// Whether this host coordinates through libnvme 3's ownership registry (then nvme-stas
    /// 3.x writes no udev override and starts no `nvmf-connect@`: owners decide).
    pub fn uses_registry(&self) -> bool {
        self.registry().is_some()
    }

    /// The controllers the NBFT lists (given in [`KernelOptions::nbft_listed`]).
    pub fn nbft_listed(&self) -> &[crate::kernel::protected::NbftListed] {
        &self.nbft_listed
    }

    /// The registry and our owner name on a host that uses the registry.
    fn registry(&self) -> Option<(&Registry, &str)> {
        self.ownership
            .as_deref()
            .filter(|(r, _)| r.in_use())
            .map(|(r, o)| (r, o.as_str()))
    }

    /// Why `device` (kernel identity `conn`) is not ours to adopt, audit or disconnect on a
    /// libnvme 3 host: another owner, or listed in the NBFT; `None` on other hosts.
    /// `registry` is [`Self::registry`], looked up once by the caller (it stats files).
    fn protection(
        &self,
        registry: Option<(&Registry, &str)>,
        device: &str,
        conn: Option<&KernelConnection>,
    ) -> Option<String> {
        let registry = registry?;
        crate::kernel::protected::reason(
            foreign_owner(Some(registry), device),
            &self.nbft_listed,
            conn,
        )
    }

    /// Records a fresh connection, or claims an adopted one; a registry error never fails
    /// the connect (as libnvme).
    fn note_ownership(&self, device: &str, adopted: bool) {
        let Some((reg, owner)) = self.registry() else {
            return;
        };
        let result = if adopted {
            reg.claim(device, owner).map(|c| {
                if let Claim::OwnedBy(other) = c {
                    tracing::warn!("{device}: adopted but owned by {other:?} in the registry");
                }
            })
        } else {
            reg.record(device, owner)
        };
        if let Err(e) = result {
            tracing::warn!("{device}: ownership registry {}: {e}", reg.dir().display());
        }
    }

    /// Uevents of nvme devices no controller of this backend owns (nvme-cli's, other
    /// daemons'); replaces an earlier receiver.
    pub fn unmanaged_events(&self) -> mpsc::UnboundedReceiver<crate::kernel::uevent::Uevent> {
        self.events.unrouted()
    }

    /// Which kernel object `device` is now: the sysfs directory's inode. kernfs numbers its
    /// nodes cyclically, so a controller deleted and another created under the same `nvmeN`
    /// get different numbers.
    fn instance_of(&self, device: &str) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(self.sysfs.controller_dir(device))
            .ok()
            .map(|m| m.ino())
    }

    /// The kernel's live I/O controllers (upstream's IOC heuristic, not being deleted), each
    /// with the identity the kernel reports, and the host's interfaces to match them with
    /// ([`crate::kernel::adopt::matches_existing`]): what a connection audit (compat §4.11) compares
    /// with the controllers it wants. Read off the event loop.
    pub async fn io_controllers(&self) -> Result<KernelInventory, ControllerError> {
        let sysfs = self.sysfs.clone();
        let me = self.clone();
        blocking(CONNECT_LIMIT, move || {
            let registry = me.registry();
            let ifaces = crate::kernel::adopt::system_interfaces()
                .map_err(|e| Cause::InvalidArgument(format!("interfaces: {e}")))?;
            let controllers = sysfs
                .controllers()
                .map_err(|e| Cause::InvalidArgument(e.to_string()))?
                .into_iter()
                // Another owner's or the NBFT's controllers are not ours to audit (libnvme 3).
                .filter(|c| {
                    c.is_io_controller()
                        && !crate::kernel::adopt::is_going_away(c)
                        && me
                            .protection(registry, &c.name, Some(&c.connection()))
                            .is_none()
                })
                .map(|c| (c.name.clone(), c.connection()))
                .collect();
            Ok(KernelInventory {
                controllers,
                ifaces,
            })
        })
        .await
        .map_err(|c| ControllerError {
            controller: "kernel backend".into(),
            op: Operation::Audit,
            source: c,
        })
    }

    /// Disconnects a kernel controller by device name (`nvme4`): for one this process did
    /// not connect, found by an audit.
    pub async fn disconnect_device(&self, device: &str) -> Result<(), ControllerError> {
        let (me, dev) = (self.clone(), device.to_owned());
        blocking(CONNECT_LIMIT, move || {
            // Only a libnvme 3 host protects anything: read sysfs only there.
            if let Some(registry) = me.registry() {
                let conn = me
                    .sysfs
                    .controller(&dev)
                    .ok()
                    .flatten()
                    .map(|c| c.connection());
                if let Some(why) = me.protection(Some(registry), &dev, conn.as_ref()) {
                    return Err(Cause::InvalidArgument(format!("{why}: left alone")));
                }
            }
            Ok(me.fabrics.disconnect(&dev)?)
        })
        .await
        .map_err(|c| ControllerError {
            controller: device.to_owned(),
            op: Operation::Disconnect,
            source: c,
        })
    }

    pub(super) fn set_host(&mut self, host: &HostIdentity) {
        std::sync::Arc::make_mut(&mut self.0).host = host.clone();
    }

    /// What the kernel's fabrics module accepts.
    pub fn capabilities(&self) -> &KernelCapabilities {
        &self.caps
    }

    /// The `/dev/nvme-fabrics` options for `tid` (compat §5.1); `ConnectOptions::build`
    /// drops what the kind of controller or the kernel does not take.
    fn options(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
        kind: ControllerKind,
    ) -> ConnectOptions {
        let discovery = kind == ControllerKind::Discovery;
        let kato = if discovery {
            Some(params.kato.unwrap_or(DEFAULT_DISCOVERY_KATO))
        } else {
            params.kato
        };
        let secs = |d: Option<Duration>| d.and_then(|d| u32::try_from(d.as_secs()).ok());
        // §4.14: the host key wins over a per-controller `dhchap-secret` (libnvme 1.x).
        let dhchap_secret = self
            .host
            .hostkey
            .clone()
            .or_else(|| params.dhchap_secret.clone())
            .unwrap_or_default();
        let base = ConnectOptions::new(tid.transport(), tid.subsysnqn());
        ConnectOptions {
            discovery,
            keep_alive_tmo: secs(kato),
            nr_io_queues: params.nr_io_queues,
            nr_write_queues: params.nr_write_queues,
            nr_poll_queues: params.nr_poll_queues,
            queue_size: params.queue_size.map(u32::from),
            reconnect_delay: secs(params.reconnect_delay),
            ctrl_loss_tmo: params.ctrl_loss_tmo.or(base.ctrl_loss_tmo),
            disable_sqflow: params.disable_sqflow,
            dhchap_secret: if self.caps.dhchap_secret() {
                dhchap_secret
            } else {
                String::new()
            },
            dhchap_ctrl_secret: if self.caps.dhchap_ctrl_secret() {
                params.dhchap_ctrl_secret.clone().unwrap_or_default()
            } else {
                String::new()
            },
            traddr: tid.traddr().to_owned(),
            trsvcid: tid.trsvcid().to_owned(),
            host_traddr: tid.host_traddr().to_owned(),
            host_iface: if self.caps.host_iface() {
                tid.host_iface().to_owned()
            } else {
                String::new()
            },
            hostnqn: if tid.host_nqn().is_empty() {
                self.host.hostnqn.clone()
            } else {
                tid.host_nqn().to_owned()
            },
            hostid: self.host.hostid.clone(),
            hdr_digest: params.hdr_digest,
            data_digest: params.data_digest,
            tls: params.tls.tls,
            concat: params.tls.concat,
            fast_io_fail_tmo: params.fast_io_fail_tmo,
            tos: params.tos,
            duplicate_connect: params.duplicate_connect,
            ..base
        }
    }

    /// Connects or adopts; blocking parts off the event loop.
    async fn attach(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
        kind: ControllerKind,
    ) -> Result<Attached, Cause> {
        // Admitted first, the rest boxed: at start-up a thousand connects wait here, each
        // holding only this small future instead of the whole connect's state.
        let admitted = self
            .connects
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Cause::InvalidArgument("the connect queue is closed".into()))?;
        Box::pin(self.attach_admitted(tid, params, kind, admitted)).await
    }

    async fn attach_admitted(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
        kind: ControllerKind,
        admitted: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<Attached, Cause> {
        let mut opts = self.options(tid, params, kind);
        let tls = &params.tls;
        // libnvme's checks before any keyring work.
        opts.check_tls(&self.caps)
            .map_err(|e| Cause::InvalidArgument(e.to_string()))?;
        if tls.tls {
            // As libnvme: the key is (re)loaded into the keyring before every connect.
            let (t, host, nqn) = (tls.clone(), opts.hostnqn.clone(), opts.nqn.clone());
            let serials = blocking(CONNECT_LIMIT, move || {
                crate::kernel::tls::import_for_connect(&t, &host, &nqn).map_err(Cause::Tls)
            })
            .await?;
            opts.keyring = Some(serials.keyring);
            opts.tls_key = Some(serials.tls_key);
        }
        let args = opts
            .build(&self.caps)
            .map_err(|e| Cause::InvalidArgument(e.to_string()))?;
        // Adoption compares the kernel's hostnqn: the identity must carry the one we send.
        let key = tid.clone().with_host_nqn(&opts.hostnqn);
        let (fabrics, sysfs) = (self.fabrics.clone(), self.sysfs.clone());
        let me = self.clone();
        let tls_asked = opts.tls || opts.concat;
        blocking(CONNECT_LIMIT, move || {
            // Held until the kernel answers, even past the time limit: the write is still
            // in the kernel then.
            let _admitted = admitted;
            let registry = me.registry();
            let refuse =
                |c: &ControllerInfo| me.protection(registry, &c.name, Some(&c.connection()));
            let attached = connect_or_adopt_except(&fabrics, &sysfs, &key, kind, &args, &refuse)
                .map_err(|e| {
                    if tls_asked {
                        Cause::TlsConnect(Box::new(Cause::from(e)))
                    } else {
                        Cause::from(e)
                    }
                })?;
            me.note_ownership(&attached.controller.device, attached.adopted);
            Ok(Attached {
                // Read once the write has returned: the kernel's `connected` for this
                // controller is numbered at or below it.
                seen_events: sysfs.uevent_seqnum(),
                device: attached.controller.device,
                adopted: attached.adopted,
            })
        })
        .await
    }

    pub(super) async fn connect_ioc(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<KernelIoc, ControllerError> {
        let Attached {
            device,
            adopted,
            seen_events,
        } = self
            .attach(tid, params, ControllerKind::Io)
            .await
            .map_err(|c| c.at(tid, Operation::Connect))?;
        tracing::debug!(controller = %tid, device, adopted, "kernel I/O controller");
        let events = self.events.subscribe(&device, seen_events);
        let instance = self.instance_of(&device);
        Ok(KernelIoc {
            backend: self.clone(),
            device,
            instance,
            adopted,
            events,
            lost: false,
        })
    }

    pub(super) async fn connect_dc(
        &self,
        tid: &TransportId,
        params: &ConnectParams,
    ) -> Result<KernelDc, ControllerError> {
        let at = |c: Cause| c.at(tid, Operation::Connect);
        let Attached {
            device,
            adopted,
            seen_events,
        } = self
            .attach(tid, params, ControllerKind::Discovery)
            .await
            .map_err(at)?;
        tracing::debug!(controller = %tid, device, adopted, "kernel discovery controller");
        let events = self.events.subscribe(&device, seen_events);
        let instance = self.instance_of(&device);
        let path = self.dev_dir.join(&device);
        let identify = blocking(ADMIN_LIMIT, move || {
            let mut dev =
                AdminDevice::open(&path).map_err(|e| Cause::Admin(AdminError::Transport(e)))?;
            Ok(block_on(identify_controller(&mut dev))?)
        })
        .await
        .map_err(at)?;
        Ok(KernelDc {
            backend: self.clone(),
            tid: tid.clone(),
            params: params.clone(),
            device,
            instance,
            adopted,
            identify,
            events,
            lost: false,
        })
    }
}

/// One kernel discovery controller bound to `/dev/nvmeN`.
#[derive(Debug)]
pub(super) struct KernelDc {
    backend: KernelBackend,
    tid: TransportId,
    params: ConnectParams,
    device: String,
    /// [`KernelBackend::instance_of`] when connected.
    instance: Option<u64>,
    adopted: bool,
    identify: IdentifyController,
    events: DeviceEvents,
    lost: bool,
}

impl KernelDc {
    pub(super) fn device(&self) -> &str {
        &self.device
    }

    pub(super) fn adopted(&self) -> bool {
        self.adopted
    }

    pub(super) fn identify(&self) -> &IdentifyController {
        &self.identify
    }

    /// The kernel sends the keep-alives itself: every KATO/2, KATO/4 when the controller
    /// does traffic-based keep-alive (`nvme_keep_alive_work_period`), KATO from sysfs.
    pub(super) fn keep_alive_interval(&self) -> Option<Duration> {
        let path = self.backend.sysfs.controller_dir(&self.device).join("kato");
        let kato: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
        let divisor = if self.identify.traffic_based_keep_alive() {
            4
        } else {
            2
        };
        (kato > 0).then(|| Duration::from_secs(kato) / divisor)
    }

    async fn admin<T: Send + 'static>(
        &self,
        f: impl AsyncFnOnce(&mut AdminDevice) -> Result<T, AdminError> + Send + 'static,
    ) -> Result<T, Cause> {
        let path = self.backend.dev_dir.join(&self.device);
        blocking(ADMIN_LIMIT, move || {
            let mut dev =
                AdminDevice::open(&path).map_err(|e| Cause::Admin(AdminError::Transport(e)))?;
            Ok(block_on(f(&mut dev))?)
        })
        .await
    }

    pub(super) async fn log_page(
        &mut self,
        opts: &DiscoveryLogOptions,
    ) -> Result<DiscoveryLog, Cause> {
        let opts = *opts;
        self.admin(async move |dev: &mut AdminDevice| read_discovery_log(dev, &opts).await)
            .await
    }

    pub(super) async fn supported_log_pages(&mut self) -> Result<SupportedLogPages, Cause> {
        self.admin(async move |dev: &mut AdminDevice| supported_log_pages(dev).await)
            .await
    }

    pub(super) async fn dim(
        &mut self,
        task: DimTask,
        host: &DimHostEntry,
    ) -> Result<DimOutcome, Cause> {
        if !self.identify.supports_dim() {
            return Ok(DimOutcome::NotSupported);
        }
        let payload = host
            .payload()
            .map_err(|e| Cause::InvalidArgument(e.to_string()))?;
        self.admin(async move |dev: &mut AdminDevice| dim(dev, task, &payload).await)
            .await
    }

    pub(super) async fn next_event(&mut self) -> DcEvent {
        loop {
            if self.lost {
                return std::future::pending().await;
            }
            let Some(event) = self.events.recv().await else {
                self.lost = true;
                return DcEvent::ConnectionLost("uevent source closed".into());
            };
            let ev = match event {
                DeviceEvent::Resync => {
                    // A lost "remove" would leave us bound to nothing, or to another
                    // controller that took the name: look at sysfs.
                    if self.backend.instance_of(&self.device) != self.instance {
                        self.lost = true;
                        return DcEvent::ConnectionLost(format!(
                            "{} is gone (found after lost uevents)",
                            self.device
                        ));
                    }
                    return DcEvent::Resync;
                }
                DeviceEvent::Uevent(ev) => ev,
            };
            match &ev.action {
                Action::Remove => {
                    self.lost = true;
                    return DcEvent::ConnectionLost(format!(
                        "{} - Received \"remove\" event",
                        self.device
                    ));
                }
                Action::Change => {
                    if let Some(aen) = ev.aen() {
                        return if aen == AEN_DISCOVERY_LOG_CHANGE {
                            DcEvent::LogPageChanged
                        } else {
                            DcEvent::Aen(aen)
                        };
                    }
                    // The kernel re-established the association, or was asked to
                    // rediscover: registration and log page must be redone (§4.5-6).
                    if matches!(ev.nvme_event(), Some("connected" | "rediscover")) {
                        return DcEvent::Resync;
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) async fn reconnect(&mut self) -> Result<(), Cause> {
        let fresh = self
            .backend
            .connect_dc(&self.tid, &self.params)
            .await
            .map_err(|e| e.source)?;
        *self = fresh;
        Ok(())
    }

    pub(super) async fn close(self, keep: bool) -> Result<(), Cause> {
        drop(self.events);
        self.backend.events.unsubscribe_dropped(&self.device);
        if keep || self.lost {
            return Ok(());
        }
        let (fabrics, device) = (self.backend.fabrics.clone(), self.device.clone());
        blocking(CONNECT_LIMIT, move || Ok(fabrics.disconnect(&device)?)).await
    }
}

/// A controller connected or adopted.
struct Attached {
    /// `nvmeN`.
    device: String,
    /// It existed before: adopted, not connected.
    adopted: bool,
    /// The last uevent the kernel had sent by then: the subscription starts after it.
    seen_events: Option<u64>,
}

/// One kernel I/O controller bound to `/dev/nvmeN`.
#[derive(Debug)]
pub(super) struct KernelIoc {
    backend: KernelBackend,
    device: String,
    /// [`KernelBackend::instance_of`] when connected.
    instance: Option<u64>,
    adopted: bool,
    events: DeviceEvents,
    lost: bool,
}

impl KernelIoc {
    pub(super) fn device(&self) -> &str {
        &self.device
    }

    pub(super) fn adopted(&self) -> bool {
        self.adopted
    }

    /// The kernel's state of the controller (`live`, `connecting`, ...), from sysfs.
    pub(super) fn state(&self) -> Option<String> {
        let path = self
            .backend
            .sysfs
            .controller_dir(&self.device)
            .join("state");
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// Why the controller is no longer the one connected, read from sysfs: its directory
    /// is gone or belongs to another kernel object. `None` while it is still there.
    pub(super) fn vanished(&mut self) -> Option<String> {
        if self.lost {
            return None;
        }
        let why = match self.backend.instance_of(&self.device) {
            None => format!("{} is gone (found by the audit of sysfs)", self.device),
            Some(now) if Some(now) != self.instance => format!(
                "{} was replaced by another controller (found by the audit of sysfs)",
                self.device
            ),
            Some(_) => return None,
        };
        self.lost = true;
        Some(why)
    }

    /// Waits until the controller is removed (udev `remove`, or gone after lost events).
    pub(super) async fn removed(&mut self) -> String {
        loop {
            if self.lost {
                return std::future::pending().await;
            }
            match self.events.recv().await {
                None => {
                    self.lost = true;
                    return "uevent source closed".to_owned();
                }
                Some(DeviceEvent::Uevent(ev)) if ev.action == Action::Remove => {
                    self.lost = true;
                    return format!("{} - Received \"remove\" event", self.device);
                }
                Some(DeviceEvent::Resync) => {
                    if let Some(why) = self.vanished() {
                        return why;
                    }
                }
                Some(_) => {}
            }
        }
    }

    pub(super) async fn close(self, keep: bool) -> Result<(), Cause> {
        drop(self.events);
        self.backend.events.unsubscribe_dropped(&self.device);
        if keep || self.lost {
            return Ok(());
        }
        let (fabrics, device) = (self.backend.fabrics.clone(), self.device.clone());
        blocking(CONNECT_LIMIT, move || Ok(fabrics.disconnect(&device)?)).await
    }
}
