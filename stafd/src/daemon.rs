//! The imperative shell: configuration, host identity, D-Bus, signals and the reconcile
//! loop. Decisions come from [`crate::core`]; DCs are driven by [`crate::dc`] tasks.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libnvme_rs::admin::dim::DimHostEntry;
use libnvme_rs::controller::{Backend, ConnectParams};
use libnvme_rs::host::{HostIdentity, parse_uuid};
use libnvme_rs::trid::TransportId;
use staslib::conf::controller::resolve;
use staslib::conf::controller::{ControllerEntry, remove_excluded_tids};
use staslib::conf::options::{Daemon, ServiceConfig};
use staslib::service::event_loop::{self, Request, Signals};
use staslib::service::setup::{Started, configured, host_and_backend, load_host};
use staslib::service::{LogHandle, Notifier, watchdog_interval};
use tokio::sync::mpsc;
use zbus::Connection;

use crate::core::{self, Origin, Wanted};
use crate::dbus::{DebugCommand, Staf, StafDebug};
use crate::dc::{DcContext, DcHandle, DcNotice, StopMode};
use crate::lkc;
use crate::state::{DcState, Shared};
use crate::zeroconf::Zeroconf;
use staslib::avahi::{AvahiEvent, ServiceKey};

/// How the daemon was started.
pub use staslib::daemon_cli::DaemonOptions as Options;

/// Why the daemon could not start.
#[derive(Debug)]
pub struct StartError(pub String);

/// The NBFT's discovery controllers as configured entries (§4.15): read once per process;
/// corrupt tables yield nothing (logged).
pub fn nbft_entries(dir: &Path) -> Vec<ControllerEntry> {
    let tables = libnvme_rs::nbft::read_dir(dir);
    if tables.is_empty() {
        return Vec::new();
    }
    let paths: Vec<String> = tables
        .iter()
        .map(|(p, _)| format!("'{}'", p.display()))
        .collect();
    tracing::info!("NBFT location(s): [{}]", paths.join(", "));
    let by_mac = |mac: &[u8; 6]| libnvme_rs::nbft::iface_by_mac(Path::new("/sys/class/net"), mac);
    let mut out = Vec::new();
    for (path, table) in tables {
        let table = match table {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("{}", libnvme_rs::error_chain(&e));
                continue;
            }
        };
        for c in table.discovery_controllers(&by_mac) {
            let mut pairs = vec![
                ("transport".to_owned(), c.transport.clone()),
                ("traddr".to_owned(), c.traddr.clone()),
                ("nqn".to_owned(), c.subsysnqn.clone()),
            ];
            pairs.extend(c.trsvcid.clone().map(|p| ("trsvcid".to_owned(), p)));
            pairs.extend(c.host_iface.clone().map(|i| ("host-iface".to_owned(), i)));
            pairs.extend(c.host_nqn.clone().map(|n| ("host-nqn".to_owned(), n)));
            // Firmware data is outside input too: the same checks as a D-Bus addition.
            let checked = crate::dbus_typed::check_pairs(&pairs.iter().cloned().collect());
            match checked.and_then(crate::dbus_typed::entry_from_pairs) {
                Ok(e) => out.push(e),
                Err(why) => tracing::error!("{}: discovery entry ignored: {why}", path.display()),
            }
        }
    }
    out
}

fn dim_entry(host: &HostIdentity, symname: Option<String>) -> Option<DimHostEntry> {
    let mut name = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, which is what we pass.
    let rc = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) };
    let entity_name = if rc == 0 {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    } else {
        String::new()
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Some(DimHostEntry {
        hostnqn: host.hostnqn.clone(),
        hostid: parse_uuid(&host.hostid)?,
        entity_name,
        entity_version: format!("Linux {}", release.trim()),
        adrfam: libnvme_rs::spec::disclog::adrfam::IPV4,
        symname,
    })
}

/// A DC's `persistent` mode: the 2.x layout has none, and its DCs stay connected as 2.x's
/// did (`force`); on the 3.x layout the path's resolved `persistent` for a configured DC,
/// `[Discovery Controller Defaults]`' for one found at run time, else `auto` (spec 3.x §4).
fn persistence(cfg: &ServiceConfig, entry: Option<&ControllerEntry>) -> core::Persistence {
    if cfg.generation == staslib::conf::generation::Generation::V2 {
        return core::Persistence::Force;
    }
    // A configured DC's own (resolved) mode, else [Discovery Controller Defaults]'.
    let mode = match entry {
        Some(e) => e
            .extra
            .iter()
            .find(|(k, _)| k == "persistent")
            .map(|(_, v)| v.as_str()),
        None => cfg
            .stafd()
            .and_then(|o| o.runtime_persistent)
            .map(|p| p.as_str()),
    };
    match mode {
        Some("no") => core::Persistence::No,
        Some("force") => core::Persistence::Force,
        _ => core::Persistence::Auto,
    }
}

/// Connect parameters from `[Global]` and a line's overrides.
fn connect_params(cfg: &ServiceConfig, entry: Option<&ControllerEntry>) -> ConnectParams {
    let global = cfg.global.connect_params();
    let mut p = entry
        .map_or(global, |e| e.connect_params(&global))
        .controller_params();
    // A DC of nvme-stas.conf may use TLS etc. like any path (nvme-stas 3.x passes them on).
    if let Some(e) = entry {
        e.v3.apply(&mut p);
    }
    p
}

struct Stafd {
    cfg: ServiceConfig,
    files: staslib::service::setup::ConfFiles,
    /// `--dbus-api`.
    dbus_api: Option<staslib::dbus::Spelling>,
    shared: Shared,
    backend: Backend,
    dim: Option<DimHostEntry>,
    host: HostIdentity,
    symname: Option<String>,
    handles: HashMap<TransportId, DcHandle>,
    entries: BTreeMap<TransportId, ControllerEntry>,
    /// DCs added over D-Bus, by identity.
    runtime: BTreeMap<TransportId, ControllerEntry>,
    /// The NBFT's discovery controllers (read once at start).
    nbft: Vec<ControllerEntry>,
    notices_tx: mpsc::UnboundedSender<DcNotice>,
    lkc_path: PathBuf,
    log: LogHandle,
    /// mDNS services and their candidates.
    zeroconf: Zeroconf,
    /// The running Avahi browser and the service types it browses.
    avahi: Option<(tokio::sync::oneshot::Sender<()>, Vec<String>)>,
    avahi_tx: mpsc::UnboundedSender<AvahiEvent>,
    /// When the next discovered DC's persistence runs out.
    next_aging: Option<Instant>,
}

impl Stafd {
    fn start_dc(&mut self, tid: &TransportId) {
        let params = connect_params(&self.cfg, self.entries.get(tid));
        let ctx = DcContext {
            backend: self.backend.clone(),
            params,
            dim: self.dim.clone(),
            pleo: self.cfg.global.pleo.value,
            shared: self.shared.clone(),
            notices: self.notices_tx.clone(),
            exclusions: staslib::exclusions::HostExclusions::new(&self.host),
            persistence: persistence(&self.cfg, self.entries.get(tid)),
            epcsd_poll: self.cfg.stafd().map_or(core::DEFAULT_EPCSD_POLL, |o| {
                Duration::from_secs(60 * o.epcsd_poll_minutes.value.max(1).unsigned_abs())
            }),
            referral_eflags: {
                let state = self.shared.lock();
                core::referral_eflags(
                    tid,
                    state.dcs.values().map(|d| (&d.tid, d.log_pages.as_slice())),
                )
            },
        };
        self.handles
            .insert(tid.clone(), DcHandle::spawn(ctx, tid.clone()));
    }

    /// Starts, restarts or stops browsing as `[Service Discovery] zeroconf` says.
    fn configure_avahi(&mut self, conn: &Connection) {
        let stypes: Vec<String> = self
            .cfg
            .stafd()
            .map(|o| o.stypes().iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        if self.avahi.as_ref().is_some_and(|(_, s)| *s == stypes) {
            return;
        }
        if let Some((stop, _)) = self.avahi.take() {
            let _ = stop.send(());
            self.zeroconf.forget_all();
        }
        if stypes.is_empty() {
            return;
        }
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(staslib::avahi::browse(
            conn.clone(),
            stypes.clone(),
            self.avahi_tx.clone(),
            stop_rx,
        ));
        self.avahi = Some((stop_tx, stypes));
    }

    /// An Avahi event; `true` when the reconcile should run.
    fn avahi_event(
        &mut self,
        ev: AvahiEvent,
        reachable_tx: &mpsc::UnboundedSender<ServiceKey>,
    ) -> bool {
        match ev {
            AvahiEvent::Available => false,
            AvahiEvent::Gone => {
                self.zeroconf.forget_all();
                true
            }
            AvahiEvent::Resolved(r) => {
                let unique = self.backend.supports_unique_discovery_nqn();
                self.zeroconf
                    .resolved(r, &self.host.hostnqn, unique, reachable_tx)
            }
            AvahiEvent::Removed(key) => self.zeroconf.removed(&key),
        }
    }

    /// §4.8 over every discovered DC; returns those whose persistence ran out.
    fn age(&mut self, reported: &[TransportId]) -> std::collections::BTreeSet<TransportId> {
        let persistence = self
            .cfg
            .stafd()
            .map_or(crate::core::DEFAULT_PERSISTENCE, |o| {
                o.zeroconf_connections_persistence.value
            });
        let now = Instant::now();
        let mut expired = std::collections::BTreeSet::new();
        let mut next: Option<Instant> = None;
        let mut state = self.shared.lock();
        for dc in state
            .dcs
            .values_mut()
            .filter(|d| d.origin == Origin::Discovered)
        {
            let goodbye = self.zeroconf.said_goodbye(&dc.tid);
            let device = dc.device.clone().unwrap_or_else(|| "nvme?".into());
            match core::aging(
                reported.contains(&dc.tid),
                // A parked DC is not lost (spec 3.x §4).
                dc.connected || dc.parked,
                goodbye,
                persistence,
                dc.lost,
            ) {
                core::Aging::Unchanged => {}
                core::Aging::Clear => {
                    dc.lost = false;
                    dc.unresponsive_deadline = None;
                }
                core::Aging::Forever => {
                    dc.lost = true;
                    tracing::info!(
                        "{} | {device} - Controller not responding. Retrying...",
                        dc.tid
                    );
                }
                core::Aging::Arm(after) => {
                    dc.lost = true;
                    dc.unresponsive_deadline = Some(now + after);
                    let when = std::time::SystemTime::now() + after;
                    tracing::info!(
                        "{} | {device} - Controller is not responding. Will be removed by {} unless restored",
                        dc.tid,
                        staslib::service::ctime(when)
                    );
                }
            }
            match dc.unresponsive_deadline {
                Some(d) if d <= now => {
                    expired.insert(dc.tid.clone());
                }
                Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
                None => {}
            }
        }
        self.next_aging = next;
        expired
    }

    async fn reconcile(&mut self, conn: &Connection) {
        let entries = self
            .cfg
            .controllers
            .iter()
            .chain(&self.nbft)
            .chain(self.runtime.values())
            .cloned()
            .collect();
        let configured = configured(&self.cfg, &self.host.hostnqn, entries).await;
        let family = self.cfg.global.ip_family.value;
        let mdns = self.zeroconf.discovered();
        let discovered = resolve::remove_invalid_addresses(
            remove_excluded_tids(mdns.clone(), &self.cfg.exclusions),
            family,
        );
        let unresponsive = self.age(&mdns);
        let (current, referral_candidates) = {
            let state = self.shared.lock();
            let current: BTreeMap<TransportId, Origin> = state
                .dcs
                .iter()
                .map(|(t, d)| (t.clone(), d.origin))
                .collect();
            let refs: Vec<TransportId> = state
                .dcs
                .values()
                .flat_map(|d| core::referrals(&d.tid, &d.log_pages))
                .collect();
            (current, refs)
        };
        let referrals_kept =
            remove_excluded_tids(referral_candidates.clone(), &self.cfg.exclusions);
        let referrals = resolve::remove_invalid_addresses(referrals_kept, family);
        let filtered_out = referral_candidates
            .into_iter()
            .filter(|t| !referrals.contains(t))
            .chain(mdns.into_iter().filter(|t| !discovered.contains(t)))
            .collect();
        let wanted = Wanted {
            configured: configured.iter().map(|(t, _)| t.clone()).collect(),
            referrals,
            discovered,
            filtered_out,
            unresponsive,
        };
        self.entries = configured.into_iter().collect();
        let plan = core::reconcile(&wanted, &current);
        for tid in &plan.remove {
            self.shared.lock().dcs.remove(tid);
            self.zeroconf.dc_removed(tid);
            if let Some(h) = self.handles.remove(tid) {
                let mode = StopMode {
                    keep_connection: false,
                    deregister: true,
                };
                tokio::spawn(h.stop(mode, Duration::from_secs(10)));
            }
        }
        if !plan.remove.is_empty()
            && let Err(e) = conn
                .emit_signal(
                    None::<()>,
                    staslib::dbus::STAFD_PATH,
                    staslib::dbus::STAFD_NAME,
                    "dc_removed",
                    &(),
                )
                .await
        {
            tracing::warn!("dc_removed signal not sent: {e}");
        }
        {
            let mut state = self.shared.lock();
            for tid in &plan.add {
                let origin = plan.origins[tid];
                let extras = self
                    .entries
                    .get(tid)
                    .map(ControllerEntry::identity_extras)
                    .unwrap_or_default();
                state
                    .dcs
                    .insert(tid.clone(), DcState::new(tid.clone(), origin, extras));
            }
            for (tid, origin) in &plan.origins {
                if let Some(dc) = state.dcs.get_mut(tid) {
                    dc.origin = *origin;
                    dc.runtime = self.runtime.get(tid).map(|e| e.params.clone());
                }
            }
        }
        // DCs restored from the last-known state have objects but no task yet.
        let missing: Vec<TransportId> = self
            .shared
            .lock()
            .dcs
            .keys()
            .filter(|t| !self.handles.contains_key(*t))
            .cloned()
            .collect();
        for tid in &missing {
            self.start_dc(tid);
        }
        self.save_state();
    }

    fn save_state(&self) {
        let text = lkc::to_json(self.shared.lock().dcs.values());
        if let Err(e) = lkc::save(&self.lkc_path, &text) {
            tracing::error!("Unable to save last known config: {e}");
        }
    }

    fn reload(&mut self) {
        let r = staslib::service::setup::reload_config(
            Daemon::Stafd,
            &self.files,
            &mut self.cfg,
            &self.log,
            self.dbus_api,
        );
        let mut s = self.shared.lock();
        s.tron = r.tron;
        s.spelling = r.spelling;
        drop(s);
        // Upstream re-reads only stafd.conf; a changed host identity takes effect too.
        match load_host(&self.cfg).map_err(StartError) {
            Ok((host, symname)) if (&host, &symname) != (&self.host, &self.symname) => {
                match self.backend.set_host(&host) {
                    Ok(()) => {
                        tracing::info!("host identity changed: {}", host.hostnqn);
                        self.dim = dim_entry(&host, symname.clone());
                        self.shared.lock().process.set_host(&host, symname.clone());
                        self.host = host;
                        self.symname = symname;
                    }
                    Err(e) => tracing::error!(
                        "new host identity not usable, keeping the old one: {}",
                        e.chain()
                    ),
                }
            }
            Ok(_) => {}
            Err(StartError(e)) => {
                tracing::error!("host identity: {e}; keeping the previous one")
            }
        }
    }

    /// Runtime addition (D-Bus, root): the entry joins the configured ones.
    fn add_runtime(&mut self, entry: ControllerEntry) -> Result<(), String> {
        let tid = entry.tid(&self.host.hostnqn, self.cfg.global.ignore_iface.value);
        if self.runtime.contains_key(&tid) || self.entries.contains_key(&tid) {
            return Err(format!("{tid} is already configured"));
        }
        tracing::info!("{tid} added over D-Bus");
        self.runtime.insert(tid, entry);
        Ok(())
    }

    /// Runtime removal: only what was added at run time.
    fn remove_runtime(&mut self, tid: &TransportId) -> Result<(), String> {
        match self.runtime.remove(tid) {
            Some(_) => {
                tracing::info!("{tid} removed over D-Bus");
                Ok(())
            }
            None => Err(format!("{tid} was not added at run time")),
        }
    }

    async fn stop_all(&mut self) {
        let keep = self
            .cfg
            .stafd()
            .is_none_or(|o| o.persistent_connections.value);
        self.save_state();
        let mode = StopMode {
            keep_connection: keep,
            deregister: true,
        };
        let stops: Vec<_> = self
            .handles
            .drain()
            .map(|(_, h)| h.stop(mode, Duration::from_secs(5)))
            .collect();
        for s in stops {
            s.await;
        }
    }
}

/// Runs stafd until SIGTERM/SIGINT. `cfg` is the already loaded configuration.
pub async fn run(opts: Options, cfg: ServiceConfig) -> Result<(), StartError> {
    staslib::service::setup::announce_layout(Daemon::Stafd, &opts.files);
    let notifier = Notifier::from_env().map_err(|e| StartError(format!("NOTIFY_SOCKET: {e}")))?;
    let shared = Shared::default();
    let mut runtime = BTreeMap::new();
    let lkc_path = lkc::path_in(&staslib::service::runtime_dir("stafd"));
    let (debug_tx, mut debug_rx) = mpsc::unbounded_channel();
    let service = staslib::dbus::service_connection()
        .serve_at(
            staslib::dbus::STAFD_PATH,
            Staf {
                shared: shared.clone(),
            },
        )
        .serve_at(
            staslib::dbus::STAFD_PATH,
            StafDebug {
                shared: shared.clone(),
                commands: debug_tx.clone(),
            },
        )
        .serve_at(
            staslib::dbus::STAFD_PATH,
            crate::dbus_typed::Controllers {
                shared: shared.clone(),
                commands: debug_tx,
            },
        );
    // Read while the bus handshake runs; the state is set up before the name is taken.
    let setup = host_and_backend("stafd", &cfg);
    let ready = |started: &Started| {
        let mut s = shared.lock();
        s.tron = opts.tron || cfg.global.tron.value;
        s.spelling = opts.spelling(&cfg);
        s.process =
            staslib::service::process::ProcessView::new(started, &lkc_path, core::RECONCILE_SOAK);
        // §4.1-3: cached log pages are served at once, before any connection.
        match lkc::load(&lkc_path) {
            Ok(dcs) => {
                for r in dcs {
                    let mut dc = DcState::new(r.tid.clone(), r.origin, r.extras);
                    dc.log_pages = r.log_pages;
                    // DCs added over D-Bus survive a restart.
                    if let Some(params) = r.runtime {
                        match crate::dbus_typed::entry_from_pairs(params.clone()) {
                            Ok(entry) => {
                                runtime.insert(r.tid.clone(), entry);
                                dc.runtime = Some(params);
                            }
                            Err(e) => tracing::warn!("{}: runtime entry dropped: {e}", r.tid),
                        }
                    }
                    s.dcs.insert(r.tid, dc);
                }
            }
            Err(e) => tracing::warn!("{}: ignored ({e})", lkc_path.display()),
        }
        opts.log.set_tron(s.tron);
    };
    let (
        conn,
        Started {
            host,
            symname,
            backend,
        },
    ) = staslib::dbus::start_service(service, staslib::dbus::STAFD_NAME, setup, ready)
        .await
        .map_err(StartError)?;

    let mut signals = Signals::install().map_err(|e| StartError(e.to_string()))?;
    // §4.16, once nothing can fail before the loop: on the kernel backend, shadow
    // nvme-cli's auto-connect rule while we run.
    let interop = match &backend {
        Backend::Kernel(k) => Some(crate::udev_rule::Interop::start(k)),
        Backend::Native(_) => None,
    };
    // On a libnvme 3 host the NBFT's controllers are nvme-cli's (`connect-all --nbft`,
    // owner=nbft) and protected from us; elsewhere they are DCs as in nvme-stas 2.x (§4.15).
    let nbft = match &backend {
        Backend::Kernel(k) if k.uses_registry() => {
            // The backend read the tables already (KernelOptions::nbft_listed).
            let listed = k.nbft_listed().len();
            if listed > 0 {
                tracing::info!(
                    "libnvme 3 host: the NBFT's {listed} controller(s) are left to nvme-cli (owner nbft)"
                );
            }
            Vec::new()
        }
        _ => nbft_entries(&staslib::service::setup::nbft_dir()),
    };
    let (notices_tx, mut notices_rx) = mpsc::unbounded_channel();
    let (avahi_tx, mut avahi_rx) = mpsc::unbounded_channel();
    let (reachable_tx, mut reachable_rx) = mpsc::unbounded_channel();
    let mut d = Stafd {
        dim: dim_entry(&host, symname.clone()),
        host: host.clone(),
        symname,
        cfg,
        files: opts.files.clone(),
        dbus_api: opts.dbus_api,
        shared: shared.clone(),
        backend,
        handles: HashMap::new(),
        entries: BTreeMap::new(),
        runtime,
        nbft,
        notices_tx,
        lkc_path,
        log: opts.log.clone(),
        zeroconf: Zeroconf::default(),
        avahi: None,
        avahi_tx,
        next_aging: None,
    };
    d.configure_avahi(&conn);

    notifier.notify("READY=1");
    let mut watchdog = watchdog_interval().map(tokio::time::interval);

    // Upstream (§4.1-6) runs the first reconcile one soak (1.5 s) after start. The soak
    // batches triggers; at start there is nothing to batch, so the configuration loaded
    // above is acted on at once. DCs restored from the last-known state reconnect at once
    // too (that is how they are adopted).
    let mut soak = event_loop::Soak::new(core::RECONCILE_SOAK);
    soak.by(Instant::now());
    d.shared.lock().process.soak = soak.due();
    let restored: Vec<TransportId> = d.shared.lock().dcs.keys().cloned().collect();
    for tid in &restored {
        d.start_dc(tid);
    }
    let mut trim = event_loop::IdleTrim::default();
    loop {
        let mut trigger = false;
        tokio::select! {
            () = event_loop::sleep_until(trim.due()) => {
                trim.run();
                continue;
            }
            () = event_loop::sleep_until(soak.due()) => {
                soak.done(Instant::now());
                d.shared.lock().process.soak = None;
                d.reconcile(&conn).await;
            }
            request = signals.next() => {
                if request == Request::Stop {
                    break;
                }
                notifier.notify("RELOADING=1");
                d.reload();
                d.configure_avahi(&conn);
                trigger = true;
                notifier.notify("READY=1");
            }
            () = event_loop::tick(watchdog.as_mut()) => notifier.notify("WATCHDOG=1"),
            Some(ev) = avahi_rx.recv() => trigger = d.avahi_event(ev, &reachable_tx),
            Some(key) = reachable_rx.recv() => trigger = d.zeroconf.reachable(&key),
            () = event_loop::sleep_until(d.next_aging) => {
                // Fired once; the reconcile computes the next deadline.
                d.next_aging = None;
                trigger = true;
            }
            Some(cmd) = debug_rx.recv() => match cmd {
                DebugCommand::SetTron(on) => d.log.set_tron(on),
                DebugCommand::AddController(entry, reply) => {
                    let r = d.add_runtime(*entry);
                    if r.is_ok() {
                        // Acted on at once, like the configuration at start.
                        soak.by(Instant::now());
                    }
                    let _ = reply.send(r);
                }
                DebugCommand::RemoveController(tid, reply) => {
                    let r = d.remove_runtime(&tid);
                    if r.is_ok() {
                        soak.by(Instant::now());
                    }
                    let _ = reply.send(r);
                }
            },
            Some(notice) = notices_rx.recv() => match notice {
                DcNotice::LogPages { tid, device, referrals_changed } => {
                    let r = conn.emit_signal(
                        None::<()>,
                        staslib::dbus::STAFD_PATH,
                        staslib::dbus::STAFD_NAME,
                        "log_pages_changed",
                        &(
                            tid.transport().as_str(), tid.traddr(), tid.trsvcid(), tid.subsysnqn(),
                            tid.host_traddr(), tid.host_iface(), tid.host_nqn(), device.as_str(),
                        ),
                    ).await;
                    if let Err(e) = r {
                        tracing::warn!("log_pages_changed signal not sent: {e}");
                    }
                    trigger = referrals_changed;
                    if !referrals_changed {
                        d.save_state();
                    }
                }
            },
        }
        {
            let mut s = d.shared.lock();
            s.avahi_stypes = d.avahi.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
            s.avahi_services = d.zeroconf.services_view();
        }
        if trigger {
            let at = soak.trigger(Instant::now());
            d.shared.lock().process.soak = Some(at);
        }
        trim.activity(Instant::now());
    }
    notifier.notify("STOPPING=1");
    tracing::info!("stafd: stopping");
    d.stop_all().await;
    if let Some(i) = interop {
        i.stop();
    }
    drop(conn);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use staslib::conf::conn_ini::Persistent;
    use staslib::conf::controller::ItemContext;
    use staslib::conf::generation::Generation;

    fn entry(pairs: &[(&str, &str)]) -> ControllerEntry {
        let ctx = ItemContext {
            daemon: Daemon::Stafd,
            file: std::path::Path::new("/etc/nvme/nvme-stas.conf"),
            line: Some(1),
            option: "controller",
        };
        let pairs = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        ControllerEntry::from_pairs(&ctx, pairs).0.unwrap()
    }

    #[test]
    fn persistence_per_generation_and_origin() {
        use crate::core::Persistence::{Auto, Force, No};
        let base = [("transport", "tcp"), ("traddr", "192.0.2.1")];
        let with = |mode: &str| {
            let mut p = base.to_vec();
            p.push(("persistent", mode));
            entry(&p)
        };
        let mut v2 = ServiceConfig::defaults(Daemon::Stafd, std::path::Path::new("/x"));
        assert_eq!(
            persistence(&v2, Some(&with("no"))),
            Force,
            "2.x: always force"
        );
        v2.generation = Generation::V3;
        let v3 = v2;
        assert_eq!(persistence(&v3, Some(&with("no"))), No);
        assert_eq!(persistence(&v3, Some(&with("force"))), Force);
        assert_eq!(persistence(&v3, Some(&entry(&base))), Auto);
        assert_eq!(persistence(&v3, None), Auto, "run time, no defaults");
        let mut v3d = v3.clone();
        if let staslib::conf::options::DaemonOptions::Stafd(o) = &mut v3d.options {
            o.runtime_persistent = Some(Persistent::Force);
        }
        assert_eq!(persistence(&v3d, None), Force, "run time: the DC defaults'");
        assert_eq!(
            persistence(&v3d, Some(&entry(&base))),
            Auto,
            "configured: its own"
        );
    }
}
