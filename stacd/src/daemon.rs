//! The imperative shell of stacd: configuration, host identity, D-Bus (its own object and
//! stafd as a client), signals and the reconcile loop. Decisions come from [`crate::core`];
//! I/O controllers are driven by [`crate::ioc`] tasks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use libnvme_rs::controller::{Backend, ConnectParams};
use libnvme_rs::host::HostIdentity;
use libnvme_rs::trid::TransportId;
use serde_json::Value;
use staslib::conf::controller::resolve;
use staslib::conf::controller::{ControllerEntry, remove_excluded_tids};
use staslib::conf::options::{Daemon, ServiceConfig};
use staslib::service::event_loop::{self, Request, Signals};
use staslib::service::setup::{Started, configured, host_and_backend};
use staslib::service::{LogHandle, Notifier, state_file, watchdog_interval};
use tokio::sync::mpsc;
use zbus::{Connection, MatchRule, MessageStream};

use crate::core::{self, LogPages, Source};
use crate::dbus::{SetTron, Stac, StacDebug};
use crate::ioc::{IocContext, IocHandle};
use crate::state::{IocState, Shared};
use staslib::dlpe::answer;

/// Longest reconcile soak of a burst of triggers (upstream: 1.5 s after every trigger).
const SOAK: Duration = Duration::from_millis(1500);
/// Soak after a kernel `add` event before the connection audit (§4.11-2).
const AUDIT_SOAK: Duration = Duration::from_secs(1);
/// How often everything is checked against sysfs and stafd, whatever events said
/// (`$STAS_AUDIT_PERIOD` seconds overrides it).
const AUDIT_PERIOD: Duration = Duration::from_secs(60);

/// The audit period in effect.
pub fn audit_period() -> Duration {
    staslib::service::setup::env_number("STAS_AUDIT_PERIOD")
        .map_or(AUDIT_PERIOD, Duration::from_secs)
}
/// File name of the last-known state in the runtime directory.
const LKC_FILE: &str = "last-known-config.json";
const LKC_FORMAT: &str = "stacd-last-known-state-1";

/// How the daemon was started.
pub use staslib::daemon_cli::DaemonOptions as Options;

/// Why the daemon could not start.
#[derive(Debug)]
pub struct StartError(pub String);

/// What stafd reports, or `Unknown` when it is not on the bus or does not answer (fix 7).
async fn log_pages(conn: &Connection) -> Result<answer::LogPages, String> {
    let reply = conn
        .call_method(
            Some(staslib::dbus::STAFD_NAME),
            staslib::dbus::STAFD_PATH,
            Some(staslib::dbus::STAFD_NAME),
            "get_all_log_pages",
            &(true,),
        )
        .await
        .map_err(|e| e.to_string())?;
    // Read in place: at a thousand entries the answer is ~0.6 MB.
    let body = reply.body();
    let text: &str = body.deserialize().map_err(|e| e.to_string())?;
    answer::parse_all_log_pages(text)
}

/// One remembered IOC as written: borrowed, so saving the state at every reconcile builds no
/// JSON tree (a thousand IOCs would be ~20,000 short-lived allocations each time). The
/// fields are in the order a JSON object's keys sort, as the state file has always had them.
#[derive(serde::Serialize)]
struct LkcIoc<'a> {
    #[serde(rename = "host-iface")]
    host_iface: &'a str,
    #[serde(rename = "host-nqn")]
    host_nqn: &'a str,
    #[serde(rename = "host-traddr")]
    host_traddr: &'a str,
    runtime: &'a Option<Vec<(String, String)>>,
    subsysnqn: &'a str,
    traddr: &'a str,
    transport: &'a str,
    trsvcid: &'a str,
}

#[derive(serde::Serialize)]
struct Lkc<'a> {
    format: &'static str,
    iocs: Vec<LkcIoc<'a>>,
}

fn lkc_to_json<'a>(iocs: impl IntoIterator<Item = &'a IocState>) -> String {
    let iocs = iocs
        .into_iter()
        .map(|i| {
            let t = &i.tid;
            LkcIoc {
                host_iface: t.host_iface(),
                host_nqn: t.host_nqn(),
                host_traddr: t.host_traddr(),
                runtime: &i.runtime,
                subsysnqn: t.subsysnqn(),
                traddr: t.traddr(),
                transport: t.transport().as_str(),
                trsvcid: t.trsvcid(),
            }
        })
        .collect();
    let state = Lkc {
        format: LKC_FORMAT,
        iocs,
    };
    // Serializing borrowed strings and string pairs cannot fail.
    serde_json::to_string(&state).unwrap_or_default()
}

/// A remembered IOC and, for one added over D-Bus, its `controller=` pairs.
type Remembered = (TransportId, Option<Vec<(String, String)>>);

fn lkc_from_json(text: &str) -> Result<Vec<Remembered>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v.get("format").and_then(Value::as_str) != Some(LKC_FORMAT) {
        return Err("unknown format".into());
    }
    v.get("iocs")
        .and_then(Value::as_array)
        .ok_or("no iocs")?
        .iter()
        .map(|i| {
            let s = |k: &str| {
                i.get(k)
                    .and_then(Value::as_str)
                    .ok_or(format!("missing {k}"))
            };
            let transport = s("transport")?.parse().map_err(|e| format!("{e}"))?;
            let tid = TransportId::new(transport, s("traddr")?, s("trsvcid")?, s("subsysnqn")?)
                .with_host_traddr(s("host-traddr")?)
                .with_host_iface(s("host-iface")?)
                .with_host_nqn(s("host-nqn")?);
            let runtime = match i.get("runtime") {
                None | Some(Value::Null) => None,
                Some(r) => Some(serde_json::from_value(r.clone()).map_err(|e| e.to_string())?),
            };
            Ok((tid, runtime))
        })
        .collect()
}

struct Stacd {
    cfg: ServiceConfig,
    files: staslib::service::setup::ConfFiles,
    /// `--dbus-api`.
    dbus_api: Option<staslib::dbus::Spelling>,
    shared: Shared,
    backend: Backend,
    host: HostIdentity,
    handles: HashMap<TransportId, IocHandle>,
    entries: BTreeMap<TransportId, ControllerEntry>,
    /// IOCs added over D-Bus.
    runtime: BTreeMap<TransportId, ControllerEntry>,
    lkc_path: PathBuf,
    log: LogHandle,
    audit_period: Duration,
    /// The context the last IOC task was given (see `ioc_context`).
    last_context: Option<Arc<IocContext>>,
}

impl Stacd {
    fn params_for(&self, tid: &TransportId) -> ConnectParams {
        let global = self.cfg.global.connect_params();
        match self.entries.get(tid) {
            Some(e) => {
                let mut p = e.connect_params(&global).controller_params();
                p.dhchap_secret = e.dhchap_secret.clone();
                p.dhchap_ctrl_secret = e.dhchap_ctrl_secret.clone();
                e.v3.apply(&mut p);
                p
            }
            None => global.controller_params(),
        }
    }

    fn start_ioc(&mut self, tid: &TransportId) {
        let ctx = self.ioc_context(tid);
        self.handles
            .insert(tid.clone(), IocHandle::spawn(ctx, tid.clone()));
    }

    /// The context for a new IOC task: the last one made when the parameters are the same
    /// (every IOC of a log page shares one), else a new one.
    fn ioc_context(&mut self, tid: &TransportId) -> Arc<IocContext> {
        let params = self.params_for(tid);
        let attempts_on_ncc = self
            .cfg
            .stacd()
            .map_or(0, |o| o.connect_attempts_on_ncc.value);
        if let Some(c) = &self.last_context
            && c.params == params
            && c.attempts_on_ncc == attempts_on_ncc
        {
            return c.clone();
        }
        let c = Arc::new(IocContext {
            audit_period: self.audit_period,
            backend: self.backend.clone(),
            params,
            shared: self.shared.clone(),
            attempts_on_ncc,
            exclusions: staslib::exclusions::HostExclusions::new(&self.host),
        });
        self.last_context = Some(c.clone());
        c
    }

    async fn reconcile(&mut self, conn: &Connection) {
        let family = self.cfg.global.ip_family.value;
        let entries = self
            .cfg
            .controllers
            .iter()
            .chain(self.runtime.values())
            .cloned()
            .collect();
        let configured = configured(&self.cfg, &self.host.hostnqn, entries).await;
        let (discovered, dlpes) = match log_pages(conn).await {
            Ok(pages) => {
                let found = core::discovered(pages);
                let keep: BTreeSet<TransportId> = resolve::remove_invalid_addresses(
                    remove_excluded_tids(found.keys().cloned().collect(), &self.cfg.exclusions),
                    family,
                )
                .into_iter()
                .collect();
                let dlpes: BTreeMap<_, _> = found
                    .into_iter()
                    .filter(|(t, _)| keep.contains(t))
                    .collect();
                (LogPages::Known(keep), dlpes)
            }
            Err(e) => {
                tracing::debug!("stafd's log pages are not available: {e}");
                (LogPages::Unknown, BTreeMap::new())
            }
        };
        self.entries = configured.iter().cloned().collect();
        let configured: BTreeSet<TransportId> = configured.into_iter().map(|(t, _)| t).collect();
        let current: BTreeMap<TransportId, Source> = self
            .shared
            .lock()
            .iocs
            .iter()
            .map(|(t, i)| (t.clone(), i.source))
            .collect();
        let opts = self.cfg.stacd().cloned();
        let plan = core::reconcile(&configured, &discovered, &current, |t| {
            opts.as_ref()
                .is_some_and(|o| o.keep_connection_on_removal(t))
        });
        if let LogPages::Known(found) = &discovered {
            let wanted: BTreeSet<TransportId> = configured.union(found).cloned().collect();
            self.audit_connections(&wanted).await;
        }
        for (tid, keep) in &plan.remove {
            self.shared.lock().iocs.remove(tid);
            if let Some(h) = self.handles.remove(tid) {
                tokio::spawn(h.stop(*keep, Duration::from_secs(30)));
            }
        }
        {
            let mut state = self.shared.lock();
            for tid in &plan.add {
                let source = if configured.contains(tid) {
                    Source::Configured
                } else {
                    Source::Discovered
                };
                let extras = self
                    .entries
                    .get(tid)
                    .map(ControllerEntry::identity_extras)
                    .unwrap_or_default();
                state
                    .iocs
                    .insert(tid.clone(), IocState::new(tid.clone(), source, extras));
            }
            // §4.10-6, -9: refresh each discovered IOC's DLPE; an NCC 1→0 retries at once.
            for (tid, dlpe) in dlpes {
                if let Some(ioc) = state.iocs.get_mut(&tid) {
                    // An unchanged entry keeps its allocation (no churn at every pass).
                    if ioc.dlpe.as_ref() == Some(&dlpe) {
                        continue;
                    }
                    let was = core::ncc(ioc.dlpe.as_ref());
                    let now = core::ncc(Some(&dlpe));
                    ioc.dlpe = Some(dlpe);
                    if core::ncc_cleared(was, now, ioc.connected) {
                        ioc.connect_attempts = 0;
                        if let Some(h) = self.handles.get(&tid) {
                            h.kick();
                        }
                    }
                }
            }
            for tid in &configured {
                if let Some(ioc) = state.iocs.get_mut(tid) {
                    ioc.source = Source::Configured;
                    ioc.runtime = self.runtime.get(tid).map(|e| e.params.clone());
                }
            }
        }
        for tid in &plan.add {
            self.start_ioc(tid);
        }
        self.save_state();
    }

    /// §4.11: with `disconnect-scope = all-connections-matching-disconnect-trtypes`, kernel
    /// I/O connections of those transports that nothing wants — made by someone else — are
    /// disconnected. Only run when stafd's log pages are known (fix 7).
    async fn audit_connections(&self, wanted: &BTreeSet<TransportId>) {
        let Some(opts) = self.cfg.stacd() else { return };
        let Backend::Kernel(kernel) = &self.backend else {
            return;
        };
        if !self.audits_connections() {
            return;
        }
        let inventory = match kernel.io_controllers().await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!("connection audit skipped: {}", e.chain());
                return;
            }
        };
        let ours: BTreeSet<String> = self
            .shared
            .lock()
            .iocs
            .values()
            .filter_map(|i| i.device.clone())
            .collect();
        let victims = core::audit_victims(
            &inventory.controllers,
            &inventory.ifaces,
            wanted,
            &ours,
            |t| opts.trtype_selected(t),
        );
        for device in victims {
            tracing::info!(
                "{device} - Disconnect initiated (connection audit: neither configured nor in a log page)"
            );
            let kernel = kernel.clone();
            tokio::spawn(async move {
                if let Err(e) = kernel.disconnect_device(&device).await {
                    tracing::warn!("{}", e.chain());
                }
            });
        }
    }

    /// Whether `disconnect-scope` asks for the connection audit of §4.11 (kernel backend).
    fn audits_connections(&self) -> bool {
        use staslib::conf::options::DisconnectScope;
        matches!(self.backend, Backend::Kernel(_))
            && self.cfg.stacd().is_some_and(|o| {
                o.disconnect_scope.value == DisconnectScope::AllConnectionsMatchingDisconnectTrtypes
            })
    }

    fn save_state(&self) {
        let text = lkc_to_json(self.shared.lock().iocs.values());
        if let Err(e) = state_file::write_atomic(&self.lkc_path, &text) {
            tracing::error!("Unable to save last known config: {e}");
        }
    }

    fn reload(&mut self) {
        let r = staslib::service::setup::reload_config(
            Daemon::Stacd,
            &self.files,
            &mut self.cfg,
            &self.log,
            self.dbus_api,
        );
        let mut s = self.shared.lock();
        s.tron = r.tron;
        s.spelling = r.spelling;
        drop(s);
        // §4.18-2: every unconnected IOC tries at once.
        let unconnected: Vec<TransportId> = self
            .shared
            .lock()
            .iocs
            .values()
            .filter(|i| !i.connected)
            .map(|i| i.tid.clone())
            .collect();
        for tid in unconnected {
            if let Some(h) = self.handles.get(&tid) {
                h.kick();
            }
        }
    }

    fn add_runtime(&mut self, entry: ControllerEntry) -> Result<(), String> {
        let tid = entry.tid(&self.host.hostnqn, self.cfg.global.ignore_iface.value);
        if self.runtime.contains_key(&tid) || self.entries.contains_key(&tid) {
            return Err(format!("{tid} is already configured"));
        }
        tracing::info!("{tid} added over D-Bus");
        self.runtime.insert(tid, entry);
        Ok(())
    }

    fn remove_runtime(&mut self, tid: &TransportId) -> Result<(), String> {
        match self.runtime.remove(tid) {
            Some(_) => {
                tracing::info!("{tid} removed over D-Bus");
                Ok(())
            }
            None => Err(format!("{tid} was not added at run time")),
        }
    }

    /// §4.19: I/O connections always survive a stacd stop.
    async fn stop_all(&mut self) {
        self.save_state();
        // All at once: a native association's shutdown waits for its controller.
        let mut stops = tokio::task::JoinSet::new();
        for (_, h) in self.handles.drain() {
            stops.spawn(h.stop(true, Duration::from_secs(5)));
        }
        while stops.join_next().await.is_some() {}
    }
}

async fn next_foreign(
    rx: Option<&mut mpsc::UnboundedReceiver<libnvme_rs::kernel::uevent::Uevent>>,
) -> Option<libnvme_rs::kernel::uevent::Uevent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs stacd until SIGTERM/SIGINT.
pub async fn run(opts: Options, cfg: ServiceConfig) -> Result<(), StartError> {
    staslib::service::setup::announce_layout(Daemon::Stacd, &opts.files);
    let notifier = Notifier::from_env().map_err(|e| StartError(format!("NOTIFY_SOCKET: {e}")))?;
    let shared = Shared::default();
    let mut runtime = BTreeMap::new();
    let lkc_path = staslib::service::runtime_dir("stacd").join(LKC_FILE);
    let (tron_tx, mut tron_rx) = mpsc::unbounded_channel();
    let (typed_tx, mut typed_rx) = mpsc::unbounded_channel();
    let service = staslib::dbus::service_connection()
        .serve_at(
            staslib::dbus::STACD_PATH,
            Stac {
                shared: shared.clone(),
            },
        )
        .serve_at(
            staslib::dbus::STACD_PATH,
            StacDebug {
                shared: shared.clone(),
                commands: tron_tx,
            },
        )
        .serve_at(
            staslib::dbus::STACD_PATH,
            crate::dbus_typed::Controllers {
                shared: shared.clone(),
                commands: typed_tx,
            },
        );
    // Read while the bus handshake runs; the state is set up before the name is taken.
    let setup = host_and_backend("stacd", &cfg);
    let mut restored = Vec::new();
    let ready = |started: &Started| {
        restored = match state_file::read_bounded(&lkc_path, 16 << 20) {
            Ok(Some(text)) => lkc_from_json(&text).unwrap_or_else(|e| {
                tracing::warn!("{}: ignored ({e})", lkc_path.display());
                Vec::new()
            }),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!("{}: ignored ({e})", lkc_path.display());
                Vec::new()
            }
        };
        let mut s = shared.lock();
        s.tron = opts.tron || cfg.global.tron.value;
        s.spelling = opts.spelling(&cfg);
        s.process = staslib::service::process::ProcessView::new(started, &lkc_path, SOAK);
        // Remembered IOCs come back as discovered: kept until stafd says otherwise (fix 7),
        // and adopted where the kernel still has them.
        for (tid, params) in &restored {
            let mut ioc = IocState::new(tid.clone(), Source::Discovered, Vec::new());
            // IOCs added over D-Bus survive a restart.
            if let Some(params) = params {
                match staslib::dbus::controller_entry(Daemon::Stacd, params.clone()) {
                    Ok(entry) => {
                        runtime.insert(tid.clone(), entry);
                        ioc.runtime = Some(params.clone());
                    }
                    Err(e) => tracing::warn!("{tid}: runtime entry dropped: {e}"),
                }
            }
            s.iocs.insert(tid.clone(), ioc);
        }
        opts.log.set_tron(s.tron);
    };
    let (conn, Started { host, backend, .. }) =
        staslib::dbus::start_service(service, staslib::dbus::STACD_NAME, setup, ready)
            .await
            .map_err(StartError)?;

    // stafd as a client: its signals and its name coming and going (§2.8).
    let size = NonZeroUsize::new(256);
    let staf_rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(staslib::dbus::STAFD_NAME)
        .path(staslib::dbus::STAFD_PATH)
        .build();
    let owner_rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, staslib::dbus::STAFD_NAME)
        .build();
    let (Ok(staf_rule), Ok(owner_rule)) = (staf_rule, owner_rule) else {
        return Err(StartError("cannot build the stafd match rules".into()));
    };
    let mut staf_signals = MessageStream::for_match_rule(staf_rule, &conn, size)
        .await
        .map_err(|e| StartError(format!("D-Bus: {e}")))?;
    let mut owners = MessageStream::for_match_rule(owner_rule, &conn, size)
        .await
        .map_err(|e| StartError(format!("D-Bus: {e}")))?;

    let mut signals = Signals::install().map_err(|e| StartError(e.to_string()))?;

    let mut d = Stacd {
        cfg,
        files: opts.files.clone(),
        dbus_api: opts.dbus_api,
        shared: shared.clone(),
        backend,
        host,
        handles: HashMap::new(),
        entries: BTreeMap::new(),
        runtime,
        lkc_path,
        log: opts.log.clone(),
        audit_period: audit_period(),
        last_context: None,
    };
    // Kernel controllers nobody in this process owns: an `add` may be a connection the
    // audit of §4.11 has to look at.
    let mut foreign = match &d.backend {
        Backend::Kernel(k) => Some(k.unmanaged_events()),
        Backend::Native(_) => None,
    };
    let mut audit =
        tokio::time::interval_at(tokio::time::Instant::now() + d.audit_period, d.audit_period);
    audit.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for (tid, _) in &restored {
        d.start_ioc(tid);
    }
    notifier.notify("READY=1");
    let mut watchdog = watchdog_interval().map(tokio::time::interval);
    let mut soak = event_loop::Soak::new(SOAK);
    soak.by(Instant::now());
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
                trigger = true;
                notifier.notify("READY=1");
            }
            () = event_loop::tick(watchdog.as_mut()) => notifier.notify("WATCHDOG=1"),
            Some(SetTron(on)) = tron_rx.recv() => d.log.set_tron(on),
            Some(cmd) = typed_rx.recv() => {
                let (r, reply) = match cmd {
                    crate::dbus_typed::Command::Add(entry, reply) => (d.add_runtime(*entry), reply),
                    crate::dbus_typed::Command::Remove(tid, reply) => (d.remove_runtime(&tid), reply),
                };
                if r.is_ok() {
                    soak.by(Instant::now());
                }
                let _ = reply.send(r);
            }
            Some(Ok(_)) = staf_signals.next() => trigger = true,
            Some(Ok(_)) = owners.next() => trigger = true,
            _ = audit.tick() => {
                tracing::debug!("periodic audit");
                soak.by(Instant::now());
            }
            Some(ev) = next_foreign(foreign.as_mut()) => {
                // Each of our own connects shows up here too (the device appears before
                // the connect returns): without the audit, a pass per `add` is wasted work
                // that a thousand-IOC start pays a thousand times.
                if ev.action == libnvme_rs::kernel::uevent::Action::Add && d.audits_connections() {
                    soak.by(Instant::now() + AUDIT_SOAK);
                }
            }
        }
        if trigger {
            let at = soak.trigger(Instant::now());
            d.shared.lock().process.soak = Some(at);
        }
        trim.activity(Instant::now());
    }
    notifier.notify("STOPPING=1");
    tracing::info!("stacd: stopping");
    d.stop_all().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use libnvme_rs::trid::Transport;

    #[test]
    fn last_known_state_round_trip() {
        let tid = TransportId::new(Transport::Tcp, "10.0.0.1", "4420", "nqn.io")
            .with_host_iface("eth0")
            .with_host_nqn("nqn.h");
        let text = lkc_to_json([&IocState::new(tid.clone(), Source::Discovered, vec![])]);
        assert_eq!(lkc_from_json(&text).unwrap(), vec![(tid.clone(), None)]);
        // Byte for byte what the JSON tree of earlier versions wrote (sorted keys).
        let mut added = IocState::new(tid.clone(), Source::Configured, vec![]);
        added.runtime = Some(vec![("traddr".into(), "10.0.0.1".into())]);
        let text = lkc_to_json([&added]);
        let tree = serde_json::json!({ "format": LKC_FORMAT, "iocs": [{
            "transport": "tcp", "traddr": "10.0.0.1", "trsvcid": "4420", "subsysnqn": "nqn.io",
            "host-traddr": "", "host-iface": "eth0", "host-nqn": "nqn.h",
            "runtime": [["traddr", "10.0.0.1"]],
        }]});
        assert_eq!(text, tree.to_string());
        assert_eq!(
            lkc_from_json(&text).unwrap(),
            vec![(tid, Some(vec![("traddr".into(), "10.0.0.1".into())]))]
        );
        for bad in [
            "",
            "{}",
            r#"{"format":"x","iocs":[]}"#,
            r#"{"format":"stacd-last-known-state-1","iocs":[{}]}"#,
        ] {
            assert!(lkc_from_json(bad).is_err(), "{bad:?}");
        }
    }
}
