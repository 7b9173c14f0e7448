//! Process-wide values both daemons show in `process_info()` (compat §2.4), and the keys
//! they have in common, in upstream's order.

use std::time::{Duration, Instant};

use libnvme_rs::host::HostIdentity;

use crate::dbus::{REDACTED, TimerView};
use crate::py_json::PyJson;
use crate::service::setup::Started;

/// What `process_info` shows about the process.
#[derive(Debug, Clone, Default)]
pub struct ProcessView {
    /// Host NQN.
    pub hostnqn: String,
    /// Host ID.
    pub hostid: String,
    /// Host key (a secret: root only).
    pub hostkey: Option<String>,
    /// Symbolic name.
    pub symname: Option<String>,
    /// Where the last-known state is written.
    pub lkc_file: String,
    /// The backend carrying the connections.
    pub backend: &'static str,
    /// The reconcile soak period.
    pub soak_interval: Duration,
    /// When the reconcile soak timer fires, if armed.
    pub soak: Option<Instant>,
    /// The backend reaches a DC by its unique NQN (TP8013).
    pub tp8013: bool,
    /// The backend binds connections to `host-iface`.
    pub host_iface: bool,
}

fn py_bool(b: bool) -> PyJson {
    PyJson::Str(if b { "True" } else { "False" }.into())
}

impl ProcessView {
    /// The view of a daemon `started` with its host identity and backend, writing its
    /// last-known state to `lkc_file`, with a reconcile soak of `soak_interval`.
    pub fn new(started: &Started, lkc_file: &std::path::Path, soak_interval: Duration) -> Self {
        let Started {
            host,
            symname,
            backend,
        } = started;
        let mut view = Self {
            lkc_file: lkc_file.display().to_string(),
            backend: backend.name(),
            soak_interval,
            tp8013: backend.supports_unique_discovery_nqn(),
            host_iface: backend.supports_host_iface(),
            ..Self::default()
        };
        view.set_host(host, symname.clone());
        view
    }

    /// Shows a new host identity.
    pub fn set_host(&mut self, host: &HostIdentity, symname: Option<String>) {
        self.hostnqn = host.hostnqn.clone();
        self.hostid = host.hostid.clone();
        self.hostkey = host.hostkey.clone();
        self.symname = symname;
    }

    /// The keys upstream's daemons share, in order: `tron`, `log-level`, the host identity,
    /// `last known config file`, `config soak timer`, `kernel support.*`.
    pub fn common_info(&self, tron: bool, caller_is_root: bool) -> Vec<(String, PyJson)> {
        let opt = |v: &Option<String>| v.clone().map_or(PyJson::Null, PyJson::Str);
        let hostkey = match &self.hostkey {
            Some(_) if !caller_is_root => PyJson::Str(REDACTED.into()),
            other => opt(other),
        };
        let soak = TimerView {
            interval: self.soak_interval,
            deadline: self.soak,
        };
        vec![
            ("tron".into(), PyJson::Bool(tron)),
            (
                "log-level".into(),
                PyJson::Str(if tron { "DEBUG" } else { "INFO" }.into()),
            ),
            ("hostnqn".into(), PyJson::Str(self.hostnqn.clone())),
            ("hostid".into(), PyJson::Str(self.hostid.clone())),
            ("hostkey".into(), hostkey),
            ("symname".into(), opt(&self.symname)),
            (
                "last known config file".into(),
                PyJson::Str(self.lkc_file.clone()),
            ),
            (
                "config soak timer".into(),
                PyJson::Str(soak.render(Instant::now())),
            ),
            ("kernel support.TP8013".into(), py_bool(self.tp8013)),
            ("kernel support.host_iface".into(), py_bool(self.host_iface)),
        ]
    }
}

/// The `log_level` property: Python's level name.
pub fn log_level(tron: bool) -> &'static str {
    if tron { "DEBUG" } else { "INFO" }
}
