//! The D-Bus adapter: `org.nvmexpress.staf` and `org.nvmexpress.staf.debug` at
//! `/org/nvmexpress/staf`, member names, signatures and payloads as upstream (compat §2).
//! It only reads [`Shared`] (short locks, never across an await) and forwards `tron`.

// Upstream's signatures pass the seven identity strings as separate arguments, and the
// interface macro generates code outside the impl blocks.
#![allow(clippy::too_many_arguments)]

use std::time::Instant;

use libnvme_rs::trid::{Transport, TransportId};
use staslib::dbus::{
    ControllerDict, Spelling, caller_is_root, id_dict, json_dict, require_root, respell_dlpe,
    wire_dict,
};
use staslib::py_json::PyJson;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, fdo};

use crate::state::{DcState, Shared};

pub use staslib::dbus::WireDict;

/// Looks a DC up by the 7-tuple of the D-Bus methods, with the config's defaulting
/// (compat §2.2): exact string equality on all seven fields.
pub(crate) fn lookup_tid(
    transport: &str,
    traddr: &str,
    trsvcid: &str,
    subsysnqn: &str,
    host_traddr: &str,
    host_iface: &str,
    host_nqn: &str,
) -> Option<TransportId> {
    let transport: Transport = transport.parse().ok()?;
    Some(
        TransportId::new(transport, traddr, trsvcid, subsysnqn)
            .with_host_traddr(host_traddr)
            .with_host_iface(host_iface)
            .with_host_nqn(host_nqn),
    )
}

/// The identity dictionary of a DC.
pub fn id_of(dc: &DcState) -> ControllerDict {
    id_dict(&dc.tid, &dc.extras, dc.device.as_deref())
}

/// Python's repr of the pending-operation dict upstream shows while connecting.
fn connect_operation(dc: &DcState) -> Option<String> {
    (!dc.connected).then(|| {
        format!(
            "{{'fail count': {}, 'completed': False, 'alive': True}}",
            dc.connect_attempts.saturating_sub(1)
        )
    })
}

/// The info dictionary (`controller_info`).
pub fn info_of(dc: &DcState, now: Instant) -> ControllerDict {
    let mut d = id_of(dc);
    d.push(("connect attempts".into(), dc.connect_attempts.to_string()));
    d.push(("retry connect timer".into(), dc.retry.render(now)));
    if let Some(op) = connect_operation(dc) {
        d.push(("connect operation".into(), op));
    }
    d.push(("origin".into(), dc.origin.as_str().into()));
    d
}

/// The details dictionary (`list_controllers(true)`).
/// `hostid` is the one sent at connect (what sysfs shows for the device).
pub fn details_of(dc: &DcState, now: Instant, hostid: &str) -> ControllerDict {
    let mut d = info_of(dc, now);
    let id = dc.identify.clone().unwrap_or_default();
    // Upstream reads these from the device's sysfs: empty while not connected.
    let (hostnqn, hostid) = if dc.connected {
        (dc.tid.host_nqn().to_owned(), hostid.to_owned())
    } else {
        (String::new(), String::new())
    };
    for (k, v) in [
        ("hostid", hostid),
        ("hostnqn", hostnqn),
        ("model", id.model),
        ("serial", id.serial),
        (
            "dctype",
            if id.dctype == "none" {
                String::new()
            } else {
                id.dctype
            },
        ),
        ("cntrltype", id.cntrltype),
        (
            "connected",
            if dc.connected { "True" } else { "False" }.to_owned(),
        ),
    ] {
        d.push((k.into(), v));
    }
    d
}

fn dlpe_wire(d: &staslib::dlpe::DlpeDict, spelling: Spelling) -> WireDict {
    respell_dlpe(d, spelling)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// `org.nvmexpress.staf`.
#[derive(Debug)]
pub struct Staf {
    /// The daemon's state.
    pub shared: Shared,
}

#[zbus::interface(name = "org.nvmexpress.staf", introspection_docs = false)]
impl Staf {
    /// One dictionary per DC object.
    #[zbus(name = "list_controllers", out_args("controller_list"))]
    async fn list_controllers(
        &self,
        detailed: bool,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Vec<WireDict> {
        let root = caller_is_root(conn, &header).await;
        let now = Instant::now();
        let state = self.shared.lock();
        state
            .dcs
            .values()
            .map(|dc| {
                wire_dict(
                    if detailed {
                        details_of(dc, now, &state.process.hostid)
                    } else {
                        id_of(dc)
                    },
                    root,
                    state.spelling,
                )
            })
            .collect()
    }

    /// The cached log page of one DC (`[]` if unknown).
    #[zbus(name = "get_log_pages", out_args("log_pages"))]
    fn get_log_pages(
        &self,
        transport: &str,
        traddr: &str,
        trsvcid: &str,
        subsysnqn: &str,
        host_traddr: &str,
        host_iface: &str,
        host_nqn: &str,
    ) -> Vec<WireDict> {
        let Some(tid) = lookup_tid(
            transport,
            traddr,
            trsvcid,
            subsysnqn,
            host_traddr,
            host_iface,
            host_nqn,
        ) else {
            return Vec::new();
        };
        let state = self.shared.lock();
        state
            .dcs
            .get(&tid)
            .map(|dc| {
                dc.log_pages
                    .iter()
                    .map(|d| dlpe_wire(d, state.spelling))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every DC with its log page, as a JSON string.
    #[zbus(name = "get_all_log_pages", out_args("log_pages_json"))]
    async fn get_all_log_pages(
        &self,
        detailed: bool,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> String {
        let root = caller_is_root(conn, &header).await;
        let now = Instant::now();
        let state = self.shared.lock();
        PyJson::Arr(
            state
                .dcs
                .values()
                .map(|dc| {
                    let id = if detailed {
                        details_of(dc, now, &state.process.hostid)
                    } else {
                        id_of(dc)
                    };
                    PyJson::Obj(vec![
                        (
                            "discovery-controller".into(),
                            json_dict(id, root, state.spelling),
                        ),
                        (
                            "log-pages".into(),
                            PyJson::Arr(
                                dc.log_pages
                                    .iter()
                                    .map(|d| {
                                        let d = respell_dlpe(d, state.spelling);
                                        PyJson::str_dict(d.iter().map(|(k, v)| (*k, v.as_str())))
                                    })
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect(),
        )
        .dumps()
    }

    /// Emitted after every successful Get Discovery Log Page.
    #[zbus(signal, name = "log_pages_changed")]
    pub async fn log_pages_changed(
        emitter: &SignalEmitter<'_>,
        transport: &str,
        traddr: &str,
        trsvcid: &str,
        subsysnqn: &str,
        host_traddr: &str,
        host_iface: &str,
        host_nqn: &str,
        device: &str,
    ) -> zbus::Result<()>;

    /// Emitted once per reconcile pass that deleted DC objects.
    #[zbus(signal, name = "dc_removed")]
    pub async fn dc_removed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// Commands the D-Bus interfaces send to the daemon's loop.
#[derive(Debug)]
pub enum DebugCommand {
    /// Set the trace flag.
    SetTron(bool),
    /// Add a DC at run time (validated entry); the reply says whether it is new.
    AddController(
        Box<staslib::conf::controller::ControllerEntry>,
        tokio::sync::oneshot::Sender<Result<(), String>>,
    ),
    /// Remove a DC added at run time.
    RemoveController(
        TransportId,
        tokio::sync::oneshot::Sender<Result<(), String>>,
    ),
}

/// `org.nvmexpress.staf.debug`.
#[derive(Debug)]
pub struct StafDebug {
    /// The daemon's state.
    pub shared: Shared,
    /// Where `tron` changes go.
    pub commands: tokio::sync::mpsc::UnboundedSender<DebugCommand>,
}

#[zbus::interface(name = "org.nvmexpress.staf.debug", introspection_docs = false)]
impl StafDebug {
    #[zbus(property(emits_changed_signal = "false"), name = "tron")]
    fn tron(&self) -> bool {
        self.shared.lock().tron
    }

    #[zbus(property, name = "tron")]
    async fn set_tron(
        &self,
        value: bool,
        #[zbus(header)] header: Option<Header<'_>>,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<()> {
        if let Some(h) = &header {
            require_root(conn, h, "set tron").await?;
        }
        self.shared.lock().tron = value;
        let _ = self.commands.send(DebugCommand::SetTron(value));
        Ok(())
    }

    #[zbus(property(emits_changed_signal = "false"), name = "log_level")]
    fn log_level(&self) -> String {
        staslib::service::process::log_level(self.shared.lock().tron).to_owned()
    }

    /// Process-wide state as JSON (compat §2.4).
    #[zbus(name = "process_info", out_args("info_json"))]
    async fn process_info(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> String {
        let root = caller_is_root(conn, &header).await;
        let state = self.shared.lock();
        let mut info = state.process.common_info(state.tron, root);
        info.extend([
            // stafd never defers a disconnect (a DC task finishes its operation first), so
            // upstream's terminator timer is never armed.
            (
                "terminator.audit timer".into(),
                PyJson::Str("30.0s [off]".into()),
            ),
            (
                "avahi".into(),
                PyJson::Obj(vec![
                    (
                        "service types".into(),
                        PyJson::Arr(
                            state
                                .avahi_stypes
                                .iter()
                                .map(|s| PyJson::Str(s.clone()))
                                .collect(),
                        ),
                    ),
                    (
                        "services".into(),
                        PyJson::Obj(
                            state
                                .avahi_services
                                .iter()
                                .map(|(k, d)| {
                                    (
                                        k.clone(),
                                        PyJson::str_dict(
                                            d.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                                        ),
                                    )
                                })
                                .collect(),
                        ),
                    ),
                ]),
            ),
            ("backend".into(), PyJson::Str(state.process.backend.into())),
        ]);
        PyJson::Obj(info).dumps()
    }

    /// The info dictionary of one DC as JSON, `{}` if unknown.
    #[zbus(name = "controller_info", out_args("info_json"))]
    async fn controller_info(
        &self,
        transport: &str,
        traddr: &str,
        trsvcid: &str,
        subsysnqn: &str,
        host_traddr: &str,
        host_iface: &str,
        host_nqn: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> String {
        let root = caller_is_root(conn, &header).await;
        let Some(tid) = lookup_tid(
            transport,
            traddr,
            trsvcid,
            subsysnqn,
            host_traddr,
            host_iface,
            host_nqn,
        ) else {
            return "{}".into();
        };
        let state = self.shared.lock();
        match state.dcs.get(&tid) {
            Some(dc) => json_dict(info_of(dc, Instant::now()), root, state.spelling).dumps(),
            None => "{}".into(),
        }
    }
}
