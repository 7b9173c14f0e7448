//! `org.nvmexpress.staf.Controllers1`, ours (upstream has no such interface): the DCs with
//! typed values and their statistics (`aa{sv}`, no JSON to parse), and root-only runtime
//! addition and removal of DCs for orchestrators. Documented in stafd(8).

// `Remove` takes the seven identity strings, as upstream's methods do.
#![allow(clippy::too_many_arguments)]

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use staslib::conf::controller::ControllerEntry;
use staslib::conf::options::Daemon;
use tokio::sync::{mpsc, oneshot};
use zbus::message::Header;
use zbus::{Connection, OwnedVariant, Variant, fdo};

use crate::dbus::{DebugCommand, lookup_tid};
use crate::state::{DcState, Shared};
use staslib::dbus::require_root;

/// The interface name.
pub const INTERFACE: &str = "org.nvmexpress.staf.Controllers1";

/// Checks D-Bus arguments (see [`staslib::dbus::check_controller_pairs`]).
pub fn check_pairs(pairs: &HashMap<String, String>) -> Result<Vec<(String, String)>, String> {
    staslib::dbus::check_controller_pairs(pairs)
}

/// Parses checked pairs as a stafd `controller=` entry would be.
pub fn entry_from_pairs(pairs: Vec<(String, String)>) -> Result<ControllerEntry, String> {
    staslib::dbus::controller_entry(Daemon::Stafd, pairs)
}

fn typed(dc: &DcState) -> HashMap<String, OwnedVariant> {
    let t = &dc.tid;
    let s = &dc.stats;
    let mut m: HashMap<String, OwnedVariant> = HashMap::new();
    let mut put = |k: &str, v: Variant<'_>| {
        if let Ok(v) = v.try_to_owned() {
            m.insert(k.to_owned(), v);
        }
    };
    put("transport", Variant::from(t.transport().as_str()));
    put("traddr", Variant::from(t.traddr()));
    put("trsvcid", Variant::from(t.trsvcid()));
    put("subsysnqn", Variant::from(t.subsysnqn()));
    put("host-traddr", Variant::from(t.host_traddr()));
    put("host-iface", Variant::from(t.host_iface()));
    put("host-nqn", Variant::from(t.host_nqn()));
    put("origin", Variant::from(dc.origin.as_str()));
    put("runtime", Variant::from(dc.runtime.is_some()));
    put("device", Variant::from(dc.device.as_deref().unwrap_or("")));
    put("connected", Variant::from(dc.connected));
    put("parked", Variant::from(dc.parked));
    put("connect-attempts", Variant::from(dc.connect_attempts));
    put("connects", Variant::from(s.connects));
    put("connect-failures", Variant::from(s.connect_failures));
    put("reconnects", Variant::from(s.reconnects));
    put("aens", Variant::from(s.aens));
    put("log-page-fetches", Variant::from(s.log_page_fetches));
    put("entries", Variant::from(s.entries));
    put("rejected-entries", Variant::from(s.rejected_entries));
    let (err, when) = s
        .last_error
        .clone()
        .map_or((String::new(), 0u64), |(e, t)| {
            let usec = t
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            (e, usec)
        });
    put("last-error", Variant::from(err.as_str()));
    put("last-error-time-usec", Variant::from(when));
    m
}

/// `org.nvmexpress.staf.Controllers1`.
#[derive(Debug)]
pub struct Controllers {
    /// The daemon's state.
    pub shared: Shared,
    /// Where additions and removals go.
    pub commands: mpsc::UnboundedSender<DebugCommand>,
}

impl Controllers {
    async fn send(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), String>>) -> DebugCommand,
    ) -> fdo::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| fdo::Error::Failed("stafd is stopping".into()))?;
        rx.await
            .map_err(|_| fdo::Error::Failed("stafd is stopping".into()))?
            .map_err(fdo::Error::InvalidArgs)
    }
}

#[zbus::interface(name = "org.nvmexpress.staf.Controllers1", introspection_docs = false)]
impl Controllers {
    /// Every DC with typed values and statistics.
    #[zbus(out_args("controllers"))]
    fn list(&self) -> Vec<HashMap<String, OwnedVariant>> {
        self.shared.lock().dcs.values().map(typed).collect()
    }

    /// Adds a DC as a `controller=` line would (keys as in stafd.conf). Root only.
    async fn add(
        &self,
        params: HashMap<String, String>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<()> {
        require_root(conn, &header, "add controllers").await?;
        let pairs = check_pairs(&params).map_err(fdo::Error::InvalidArgs)?;
        let entry = entry_from_pairs(pairs).map_err(fdo::Error::InvalidArgs)?;
        self.send(|tx| DebugCommand::AddController(Box::new(entry), tx))
            .await
    }

    /// Removes a DC that [`Self::add`] added, by its seven identity strings. Root only.
    async fn remove(
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
    ) -> fdo::Result<()> {
        require_root(conn, &header, "remove controllers").await?;
        let tid = lookup_tid(
            transport,
            traddr,
            trsvcid,
            subsysnqn,
            host_traddr,
            host_iface,
            host_nqn,
        )
        .ok_or_else(|| fdo::Error::InvalidArgs(format!("invalid transport {transport:?}")))?;
        self.send(|tx| DebugCommand::RemoveController(tid, tx))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn arguments_are_validated() {
        let ok = check_pairs(&pairs(&[
            ("traddr", "192.0.2.1"),
            ("transport", "tcp"),
            ("dhchap-secret", "DHHC-1:00:abc=:"),
        ]))
        .unwrap();
        assert_eq!(ok[0].0, "transport");
        let entry = entry_from_pairs(ok).unwrap();
        assert_eq!(entry.trsvcid, "8009");
        for bad in [
            pairs(&[("transport", "tcp"), ("traddr", "192.0.2.1,host_traddr=x")]),
            pairs(&[
                ("transport", "tcp"),
                ("traddr", "192.0.2.1"),
                ("subsysnqn", "nqn.a=b"),
            ]),
            pairs(&[("transport", "tcp"), ("traddr", "192.0.2.1\n")]),
            pairs(&[
                ("transport", "tcp"),
                ("traddr", "192.0.2.1"),
                ("bogus", "1"),
            ]),
            pairs(&[("transport", "tcp"), ("traddr", "a".repeat(600).as_str())]),
        ] {
            assert!(check_pairs(&bad).is_err(), "{bad:?}");
        }
        assert!(
            entry_from_pairs(check_pairs(&pairs(&[("traddr", "192.0.2.1")])).unwrap()).is_err()
        );
        assert!(
            entry_from_pairs(
                check_pairs(&pairs(&[("transport", "walmart"), ("traddr", "x")])).unwrap()
            )
            .is_err()
        );
    }
}
