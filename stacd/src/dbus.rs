//! The D-Bus adapter: `org.nvmexpress.stac` and `org.nvmexpress.stac.debug` at
//! `/org/nvmexpress/stac`, as upstream (compat §2.2–§2.4). Reads [`Shared`] only.

// Upstream's signatures pass the seven identity strings as separate arguments.
#![allow(clippy::too_many_arguments)]

use std::time::Instant;

use libnvme_rs::trid::{Transport, TransportId};
use staslib::conf::options::py_repr;
use staslib::dbus::{ControllerDict, caller_is_root, id_dict, json_dict, require_root, wire_dict};
use staslib::py_json::PyJson;
use zbus::message::Header;
use zbus::{Connection, fdo};

use crate::state::{IocState, Shared};

pub use staslib::dbus::WireDict;

fn id_of(ioc: &IocState) -> ControllerDict {
    id_dict(&ioc.tid, &ioc.extras, ioc.device.as_deref())
}

fn info_of(ioc: &IocState, now: Instant) -> ControllerDict {
    let mut d = id_of(ioc);
    d.push(("connect attempts".into(), ioc.connect_attempts.to_string()));
    d.push(("retry connect timer".into(), ioc.retry.render(now)));
    if !ioc.connected {
        d.push((
            "connect operation".into(),
            format!(
                "{{'fail count': {}, 'completed': False, 'alive': True}}",
                ioc.connect_attempts.saturating_sub(1)
            ),
        ));
    }
    d
}

/// A sysfs attribute of the device, `''` when unknown (and for `(efault)`), as upstream.
fn sysfs_attr(device: Option<&str>, attr: &str) -> String {
    let Some(dev) = device else {
        return String::new();
    };
    std::fs::read_to_string(format!("/sys/class/nvme/{dev}/{attr}"))
        .map(|v| v.trim().to_owned())
        .ok()
        .filter(|v| v != "(efault)")
        .unwrap_or_default()
}

fn details_of(ioc: &IocState, now: Instant) -> ControllerDict {
    let mut d = info_of(ioc, now);
    let dev = ioc.device.as_deref();
    for attr in [
        "hostid",
        "hostnqn",
        "model",
        "serial",
        "dctype",
        "cntrltype",
    ] {
        d.push((attr.into(), sysfs_attr(dev, attr)));
    }
    d.push((
        "connected".into(),
        if ioc.connected { "True" } else { "False" }.into(),
    ));
    let dlpe = ioc.dlpe.as_ref().map_or_else(
        || "None".to_owned(),
        |e| {
            let items: Vec<String> = e
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        },
    );
    d.push(("dlpe".into(), dlpe));
    let ncc = crate::core::ncc(ioc.dlpe.as_ref());
    d.push((
        "dlpe.eflags.ncc".into(),
        if ncc { "True" } else { "False" }.into(),
    ));
    d
}

/// `org.nvmexpress.stac`.
#[derive(Debug)]
pub struct Stac {
    /// The daemon's state.
    pub shared: Shared,
}

#[zbus::interface(name = "org.nvmexpress.stac", introspection_docs = false)]
impl Stac {
    /// One dictionary per I/O controller object.
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
            .iocs
            .values()
            .map(|i| {
                wire_dict(
                    if detailed {
                        details_of(i, now)
                    } else {
                        id_of(i)
                    },
                    root,
                    state.spelling,
                )
            })
            .collect()
    }
}

/// `tron` changes for the daemon's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetTron(pub bool);

/// `org.nvmexpress.stac.debug`.
#[derive(Debug)]
pub struct StacDebug {
    /// The daemon's state.
    pub shared: Shared,
    /// Where `tron` changes go.
    pub commands: tokio::sync::mpsc::UnboundedSender<SetTron>,
}

#[zbus::interface(name = "org.nvmexpress.stac.debug", introspection_docs = false)]
impl StacDebug {
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
        let _ = self.commands.send(SetTron(value));
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
        info.push(("backend".into(), PyJson::Str(state.process.backend.into())));
        PyJson::Obj(info).dumps()
    }

    /// The info dictionary of one IOC as JSON, `{}` if unknown.
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
        let Ok(t) = transport.parse::<Transport>() else {
            return "{}".into();
        };
        let tid = TransportId::new(t, traddr, trsvcid, subsysnqn)
            .with_host_traddr(host_traddr)
            .with_host_iface(host_iface)
            .with_host_nqn(host_nqn);
        let state = self.shared.lock();
        match state.iocs.get(&tid) {
            Some(i) => json_dict(info_of(i, Instant::now()), root, state.spelling).dumps(),
            None => "{}".into(),
        }
    }
}
