//! The D-Bus client of one daemon: upstream's members (compat §2.2) and our typed
//! `Controllers1` interface, on the system bus (`DBUS_SYSTEM_BUS_ADDRESS` is honoured, as
//! by the daemons).

use std::collections::{BTreeMap, HashMap};

use zbus::Connection;
use zbus::{OwnedVariant, Variant};

use super::error::CtlError;
use crate::pprint::PyValue;

/// Which daemon a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// `stafd` (`org.nvmexpress.staf`).
    Stafd,
    /// `stacd` (`org.nvmexpress.stac`).
    Stacd,
}

impl Daemon {
    /// The program name (`stafd`).
    pub fn prog(self) -> &'static str {
        match self {
            Daemon::Stafd => "stafd",
            Daemon::Stacd => "stacd",
        }
    }

    /// Well-known bus name, which is also the main interface.
    pub fn bus_name(self) -> &'static str {
        match self {
            Daemon::Stafd => crate::dbus::STAFD_NAME,
            Daemon::Stacd => crate::dbus::STACD_NAME,
        }
    }

    /// The only object path.
    pub fn path(self) -> &'static str {
        match self {
            Daemon::Stafd => crate::dbus::STAFD_PATH,
            Daemon::Stacd => crate::dbus::STACD_PATH,
        }
    }

    /// The debug interface (`tron`, `process_info`, `controller_info`).
    pub fn debug_iface(self) -> &'static str {
        match self {
            Daemon::Stafd => crate::dbus::STAFD_DEBUG_IFACE,
            Daemon::Stacd => crate::dbus::STACD_DEBUG_IFACE,
        }
    }

    /// Our typed interface (statistics, runtime add/remove).
    pub fn typed_iface(self) -> &'static str {
        match self {
            Daemon::Stafd => "org.nvmexpress.staf.Controllers1",
            Daemon::Stacd => "org.nvmexpress.stac.Controllers1",
        }
    }

    /// Both daemons.
    pub const ALL: [Daemon; 2] = [Daemon::Stafd, Daemon::Stacd];
}

/// A controller's seven identity strings, in the order of the D-Bus methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerId {
    /// `tcp`, `rdma`, `fc`, `loop`.
    pub transport: String,
    /// Transport address.
    pub traddr: String,
    /// Transport service id.
    pub trsvcid: String,
    /// Subsystem NQN.
    pub subsysnqn: String,
    /// Host transport address.
    pub host_traddr: String,
    /// Host interface.
    pub host_iface: String,
    /// Host NQN.
    pub host_nqn: String,
}

impl ControllerId {
    /// The identity of a controller dictionary (`list_controllers` keys).
    pub fn of_dict(d: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| d.get(k).cloned().unwrap_or_default();
        Self {
            transport: get("transport"),
            traddr: get("traddr"),
            trsvcid: get("trsvcid"),
            subsysnqn: get("subsysnqn"),
            host_traddr: get("host-traddr"),
            host_iface: get("host-iface"),
            host_nqn: crate::dbus::host_nqn_of(|k| d.get(k).map(String::as_str))
                .unwrap_or("")
                .to_owned(),
        }
    }

    /// The seven strings as D-Bus arguments.
    pub fn args(&self) -> (&str, &str, &str, &str, &str, &str, &str) {
        (
            &self.transport,
            &self.traddr,
            &self.trsvcid,
            &self.subsysnqn,
            &self.host_traddr,
            &self.host_iface,
            &self.host_nqn,
        )
    }
}

impl std::fmt::Display for ControllerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({}, {}, {}, {}, {}, {}, {})",
            self.transport,
            self.traddr,
            self.trsvcid,
            self.subsysnqn,
            self.host_traddr,
            self.host_iface,
            self.host_nqn
        )
    }
}

/// A string dictionary as the daemons send it (`a{ss}`), keys sorted.
pub type StrDict = BTreeMap<String, String>;

/// A string dictionary as a Python dict (what `dasbus` hands upstream's tools).
pub fn dict_value(d: &StrDict) -> PyValue {
    PyValue::Dict(
        d.iter()
            .map(|(k, v)| (k.clone(), PyValue::Str(v.clone())))
            .collect(),
    )
}

/// A list of string dictionaries as the Python list upstream's tools print.
pub fn dict_list(list: &[StrDict]) -> PyValue {
    PyValue::List(list.iter().map(dict_value).collect())
}

/// Opens the system bus (the bus named by `DBUS_SYSTEM_BUS_ADDRESS` when set). Without a
/// bus there is no daemon to talk to: [`CtlError::NotRunning`].
pub async fn system_bus(daemon: Daemon) -> Result<Connection, CtlError> {
    Connection::system()
        .await
        .map_err(|_| CtlError::NotRunning {
            daemon: daemon.prog(),
        })
}

/// A client of one daemon on a bus connection.
#[derive(Debug, Clone)]
pub struct Client {
    conn: Connection,
    daemon: Daemon,
}

impl Client {
    /// A client of `daemon` on `conn`.
    pub fn new(conn: Connection, daemon: Daemon) -> Self {
        Self { conn, daemon }
    }

    /// A client of `daemon` on the system bus.
    pub async fn connect(daemon: Daemon) -> Result<Self, CtlError> {
        Ok(Self::new(system_bus(daemon).await?, daemon))
    }

    /// The daemon.
    pub fn daemon(&self) -> Daemon {
        self.daemon
    }

    /// The bus connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    async fn call<B, R>(
        &self,
        iface: &str,
        method: &str,
        what: &str,
        body: &B,
    ) -> Result<R, CtlError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
        R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
    {
        let prog = self.daemon.prog();
        let reply = self
            .conn
            .call_method(
                Some(self.daemon.bus_name()),
                self.daemon.path(),
                Some(iface),
                method,
                body,
            )
            .await
            .map_err(|e| CtlError::from_zbus(prog, what, e))?;
        reply.body().deserialize().map_err(|e| CtlError::BadReply {
            daemon: prog,
            detail: format!("{method}: {e}"),
        })
    }

    fn parse_json(&self, method: &str, text: &str) -> Result<PyValue, CtlError> {
        serde_json::from_str(text).map_err(|e| CtlError::BadReply {
            daemon: self.daemon.prog(),
            detail: format!("{method}: {e}"),
        })
    }

    /// Sets the `tron` property (root only, by the bus policy) and reads it back.
    pub async fn set_tron(&self, on: bool, what: &str) -> Result<bool, CtlError> {
        let props = "org.freedesktop.DBus.Properties";
        let () = self
            .call(
                props,
                "Set",
                what,
                &(self.daemon.debug_iface(), "tron", Variant::from(on)),
            )
            .await?;
        let v: OwnedVariant = self
            .call(props, "Get", what, &(self.daemon.debug_iface(), "tron"))
            .await?;
        bool::try_from(&*v).map_err(|e| CtlError::BadReply {
            daemon: self.daemon.prog(),
            detail: format!("tron: {e}"),
        })
    }

    /// `process_info()`, parsed.
    pub async fn process_info(&self) -> Result<PyValue, CtlError> {
        let text: String = self
            .call(self.daemon.debug_iface(), "process_info", "status", &())
            .await?;
        self.parse_json("process_info", &text)
    }

    /// `controller_info(id)`, parsed (`{}` when unknown).
    pub async fn controller_info(&self, id: &ControllerId) -> Result<PyValue, CtlError> {
        let text: String = self
            .call(
                self.daemon.debug_iface(),
                "controller_info",
                "status",
                &id.args(),
            )
            .await?;
        self.parse_json("controller_info", &text)
    }

    /// `list_controllers(detailed)`.
    pub async fn list_controllers(&self, detailed: bool) -> Result<Vec<StrDict>, CtlError> {
        let v: Vec<HashMap<String, String>> = self
            .call(
                self.daemon.bus_name(),
                "list_controllers",
                "ls",
                &(detailed,),
            )
            .await?;
        Ok(v.into_iter().map(|d| d.into_iter().collect()).collect())
    }

    /// `get_log_pages(id)` (stafd).
    pub async fn get_log_pages(&self, id: &ControllerId) -> Result<Vec<StrDict>, CtlError> {
        let v: Vec<HashMap<String, String>> = self
            .call(self.daemon.bus_name(), "get_log_pages", "dlp", &id.args())
            .await?;
        Ok(v.into_iter().map(|d| d.into_iter().collect()).collect())
    }

    /// `get_all_log_pages(detailed)` (stafd), parsed.
    pub async fn get_all_log_pages(&self, detailed: bool) -> Result<PyValue, CtlError> {
        let text: String = self
            .call(
                self.daemon.bus_name(),
                "get_all_log_pages",
                "adlp",
                &(detailed,),
            )
            .await?;
        self.parse_json("get_all_log_pages", &text)
    }

    /// `Controllers1.List`: typed values as Python values (str, bool, int).
    pub async fn stats(&self) -> Result<Vec<Vec<(String, PyValue)>>, CtlError> {
        let v: Vec<HashMap<String, OwnedVariant>> = self
            .call(self.daemon.typed_iface(), "List", "stats", &())
            .await?;
        Ok(v.into_iter()
            .map(|d| {
                let mut pairs: Vec<(String, PyValue)> =
                    d.into_iter().map(|(k, v)| (k, variant_value(&v))).collect();
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                pairs
            })
            .collect())
    }

    /// `Controllers1.Add(params)` (root only).
    pub async fn add(&self, params: &HashMap<String, String>) -> Result<(), CtlError> {
        self.call(self.daemon.typed_iface(), "Add", "add", &(params,))
            .await
    }

    /// `Controllers1.Remove(id)` (root only).
    pub async fn remove(&self, id: &ControllerId) -> Result<(), CtlError> {
        self.call(self.daemon.typed_iface(), "Remove", "remove", &id.args())
            .await
    }
}

/// A D-Bus value of `Controllers1.List` as a Python value.
pub fn variant_value(v: &Variant<'_>) -> PyValue {
    match v {
        Variant::Bool(b) => PyValue::Bool(*b),
        Variant::U8(n) => PyValue::from(*n),
        Variant::U16(n) => PyValue::from(*n),
        Variant::U32(n) => PyValue::from(*n),
        Variant::U64(n) => PyValue::from(*n),
        Variant::I16(n) => PyValue::from(*n),
        Variant::I32(n) => PyValue::from(*n),
        Variant::I64(n) => PyValue::from(*n),
        Variant::F64(f) => PyValue::Float(*f),
        Variant::Str(s) => PyValue::str(s.as_str()),
        Variant::Variant(inner) => variant_value(inner),
        other => PyValue::str(other.to_string()),
    }
}
