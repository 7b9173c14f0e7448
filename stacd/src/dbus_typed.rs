//! `org.nvmexpress.stac.Controllers1`, ours (upstream has no such interface): the I/O
//! controllers with typed values and statistics (`aa{sv}`), and root-only runtime addition
//! and removal for orchestrators. Documented in stacd(8).

// `Remove` takes the seven identity strings, as upstream's methods do.
#![allow(clippy::too_many_arguments)]

use std::collections::HashMap;

use libnvme_rs::trid::{Transport, TransportId};
use staslib::conf::controller::ControllerEntry;
use staslib::conf::options::Daemon;
use staslib::dbus::require_root;
use tokio::sync::{mpsc, oneshot};
use zbus::message::Header;
use zbus::{Connection, OwnedVariant, Variant, fdo};

use crate::state::{IocState, Shared};

/// What the interface asks of the daemon's loop.
#[derive(Debug)]
pub enum Command {
    /// Add an IOC (validated entry).
    Add(Box<ControllerEntry>, oneshot::Sender<Result<(), String>>),
    /// Remove an IOC added at run time.
    Remove(TransportId, oneshot::Sender<Result<(), String>>),
}

fn typed(i: &IocState) -> HashMap<String, OwnedVariant> {
    let t = &i.tid;
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
    put("device", Variant::from(i.device.as_deref().unwrap_or("")));
    put("connected", Variant::from(i.connected));
    put("runtime", Variant::from(i.runtime.is_some()));
    put("ncc", Variant::from(crate::core::ncc(i.dlpe.as_ref())));
    put("retries-stopped", Variant::from(i.ncc_stopped));
    put("connect-attempts", Variant::from(i.connect_attempts));
    put("connects", Variant::from(i.connects));
    put("connect-failures", Variant::from(i.connect_failures));
    put("removals", Variant::from(i.removals));
    let (err, when) = i.last_error.clone().unwrap_or_default();
    put("last-error", Variant::from(err.as_str()));
    put("last-error-time-usec", Variant::from(when));
    m
}

/// `org.nvmexpress.stac.Controllers1`.
#[derive(Debug)]
pub struct Controllers {
    /// The daemon's state.
    pub shared: Shared,
    /// Where additions and removals go.
    pub commands: mpsc::UnboundedSender<Command>,
}

impl Controllers {
    async fn send(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Command,
    ) -> fdo::Result<()> {
        let (tx, rx) = oneshot::channel();
        let stopping = || fdo::Error::Failed("stacd is stopping".into());
        self.commands.send(make(tx)).map_err(|_| stopping())?;
        rx.await
            .map_err(|_| stopping())?
            .map_err(fdo::Error::InvalidArgs)
    }
}

#[zbus::interface(name = "org.nvmexpress.stac.Controllers1", introspection_docs = false)]
impl Controllers {
    /// Every I/O controller with typed values and statistics.
    #[zbus(out_args("controllers"))]
    fn list(&self) -> Vec<HashMap<String, OwnedVariant>> {
        self.shared.lock().iocs.values().map(typed).collect()
    }

    /// Adds an I/O controller as a `controller=` line of stacd.conf would. Root only.
    async fn add(
        &self,
        params: HashMap<String, String>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<()> {
        require_root(conn, &header, "add controllers").await?;
        let pairs =
            staslib::dbus::check_controller_pairs(&params).map_err(fdo::Error::InvalidArgs)?;
        let entry = staslib::dbus::controller_entry(Daemon::Stacd, pairs)
            .map_err(fdo::Error::InvalidArgs)?;
        self.send(|tx| Command::Add(Box::new(entry), tx)).await
    }

    /// Removes an I/O controller that `Add` added (it is disconnected). Root only.
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
        let t: Transport = transport
            .parse()
            .map_err(|_| fdo::Error::InvalidArgs(format!("invalid transport {transport:?}")))?;
        let tid = TransportId::new(t, traddr, trsvcid, subsysnqn)
            .with_host_traddr(host_traddr)
            .with_host_iface(host_iface)
            .with_host_nqn(host_nqn);
        self.send(|tx| Command::Remove(tid, tx)).await
    }
}
