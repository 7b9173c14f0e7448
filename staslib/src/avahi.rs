//! A small Avahi client over D-Bus (TP8009, compat §4.7): browse DNS-SD service types,
//! resolve each service found, report additions and goodbyes, and follow avahi-daemon
//! appearing, disappearing and restarting. Upstream talks to Avahi the same way.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath};

const AVAHI: &str = "org.freedesktop.Avahi";
const SERVER: &str = "org.freedesktop.Avahi.Server";
const BROWSER: &str = "org.freedesktop.Avahi.ServiceBrowser";
const RESOLVER: &str = "org.freedesktop.Avahi.ServiceResolver";
/// `AVAHI_IF_UNSPEC`, `AVAHI_PROTO_UNSPEC`.
const UNSPEC: i32 = -1;
/// `AVAHI_LOOKUP_USE_MULTICAST`.
const USE_MULTICAST: u32 = 2;
/// How often an absent avahi-daemon is looked for again (§4.7-3).
pub const WAKE_UP: Duration = Duration::from_secs(60);
/// After a daemon appears but refuses to browse, how soon and how often to try again.
const QUICK_RETRY: Duration = Duration::from_secs(1);
const QUICK_RETRIES: u32 = 10;

/// One service as Avahi names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    /// Interface index.
    pub interface: i32,
    /// `0` IPv4, `1` IPv6.
    pub protocol: i32,
    /// Instance name.
    pub name: String,
    /// Service type (`_nvme-disc._tcp`).
    pub stype: String,
    /// Domain (`local`).
    pub domain: String,
}

/// A resolved service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Which service.
    pub key: ServiceKey,
    /// Interface name (`eth0`), empty if the index is unknown.
    pub ifname: String,
    /// Address as Avahi prints it.
    pub address: String,
    /// Port.
    pub port: u16,
    /// TXT items, raw.
    pub txt: Vec<Vec<u8>>,
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvahiEvent {
    /// avahi-daemon is there and browsing started.
    Available,
    /// avahi-daemon went away: every service is forgotten (no goodbyes come).
    Gone,
    /// A service was resolved (again).
    Resolved(Resolved),
    /// A service said goodbye.
    Removed(ServiceKey),
}

fn ifname(index: i32) -> String {
    let Ok(index) = u32::try_from(index) else {
        return String::new();
    };
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname(3) requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Decodes an `ItemNew`/`ItemRemove` body.
fn item(msg: &Message) -> Option<ServiceKey> {
    let (interface, protocol, name, stype, domain, _flags): (
        i32,
        i32,
        String,
        String,
        String,
        u32,
    ) = msg.body().deserialize().ok()?;
    Some(ServiceKey {
        interface,
        protocol,
        name,
        stype,
        domain,
    })
}

type FoundBody = (
    i32,
    i32,
    String,
    String,
    String,
    String,
    i32,
    String,
    u16,
    Vec<Vec<u8>>,
    u32,
);

/// Decodes a resolver's `Found` body.
fn found(msg: &Message) -> Option<Resolved> {
    let (interface, protocol, name, stype, domain, _host, _aproto, address, port, txt, _flags): FoundBody =
        msg.body().deserialize().ok()?;
    Some(Resolved {
        ifname: ifname(interface),
        key: ServiceKey {
            interface,
            protocol,
            name,
            stype,
            domain,
        },
        address,
        port,
        txt,
    })
}

struct Browsing {
    stypes: Vec<String>,
    browsers: Vec<OwnedObjectPath>,
    resolvers: HashMap<ServiceKey, OwnedObjectPath>,
}

impl Browsing {
    async fn call<R>(
        conn: &Connection,
        path: &str,
        iface: &str,
        method: &str,
        body: &(impl serde::Serialize + zbus::wire::DynamicType),
    ) -> zbus::Result<R>
    where
        R: for<'d> serde::Deserialize<'d> + zbus::wire::Type,
    {
        conn.call_method(Some(AVAHI), path, Some(iface), method, body)
            .await?
            .body()
            .deserialize()
    }

    async fn start(&mut self, conn: &Connection) -> zbus::Result<()> {
        for stype in self.stypes.clone() {
            let path: OwnedObjectPath = Self::call(
                conn,
                "/",
                SERVER,
                "ServiceBrowserNew",
                &(UNSPEC, UNSPEC, stype.as_str(), "local", USE_MULTICAST),
            )
            .await?;
            self.browsers.push(path);
        }
        Ok(())
    }

    async fn free(conn: &Connection, path: &OwnedObjectPath, iface: &str) {
        let _: zbus::Result<()> = Self::call(conn, path.as_str(), iface, "Free", &()).await;
    }

    async fn stop(&mut self, conn: &Connection) {
        for p in std::mem::take(&mut self.browsers) {
            Self::free(conn, &p, BROWSER).await;
        }
        for (_, p) in std::mem::take(&mut self.resolvers) {
            Self::free(conn, &p, RESOLVER).await;
        }
    }

    /// The daemon went away: its objects are gone with it.
    fn forget(&mut self) {
        self.browsers.clear();
        self.resolvers.clear();
    }

    async fn item_new(&mut self, conn: &Connection, key: ServiceKey) {
        if !self.stypes.contains(&key.stype) || self.resolvers.contains_key(&key) {
            return;
        }
        let r: zbus::Result<OwnedObjectPath> = Self::call(
            conn,
            "/",
            SERVER,
            "ServiceResolverNew",
            &(
                key.interface,
                key.protocol,
                key.name.as_str(),
                key.stype.as_str(),
                key.domain.as_str(),
                UNSPEC,
                USE_MULTICAST,
            ),
        )
        .await;
        match r {
            Ok(path) => {
                self.resolvers.insert(key, path);
            }
            Err(e) => tracing::error!("Avahi ServiceResolverNew({}) failed: {e}", key.name),
        }
    }
}

/// The unique name currently owning Avahi's well-known name.
async fn name_owner(conn: &Connection) -> Option<String> {
    conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "GetNameOwner",
        &(AVAHI,),
    )
    .await
    .ok()?
    .body()
    .deserialize()
    .ok()
}

/// Browses `stypes` until `stop` fires, reporting on `events`. Never fails: an absent or
/// vanishing avahi-daemon is waited for (checked every [`WAKE_UP`] and whenever it takes
/// its bus name).
pub async fn browse(
    conn: Connection,
    stypes: Vec<String>,
    events: mpsc::UnboundedSender<AvahiEvent>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let avahi_rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(AVAHI)
        .build();
    let owner_rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, AVAHI)
        .build();
    let (Ok(avahi_rule), Ok(owner_rule)) = (avahi_rule, owner_rule) else {
        tracing::error!("cannot build the Avahi match rules");
        return;
    };
    // Subscribe before any browser exists: Avahi may signal before ServiceBrowserNew returns.
    let size = NonZeroUsize::new(1024);
    let (Ok(mut signals), Ok(mut owners)) = (
        MessageStream::for_match_rule(avahi_rule, &conn, size).await,
        MessageStream::for_match_rule(owner_rule, &conn, size).await,
    ) else {
        tracing::error!("cannot subscribe to Avahi's signals");
        return;
    };
    let mut b = Browsing {
        stypes,
        browsers: Vec::new(),
        resolvers: HashMap::new(),
    };
    let mut available = false;
    let mut warned = false;
    let mut wake = tokio::time::interval(WAKE_UP);
    // The unique name of the daemon we browse with.
    let mut owner: Option<String> = None;
    // Quick retries are for a daemon that just took its name; none at start.
    let mut quick_retries = 0;
    loop {
        let mut retry_soon = false;
        if !available && !b.stypes.is_empty() {
            let version: zbus::Result<String> =
                Browsing::call(&conn, "/", SERVER, "GetVersionString", &()).await;
            match version {
                Ok(v) => match b.start(&conn).await {
                    Ok(()) => {
                        available = true;
                        warned = false;
                        owner = name_owner(&conn).await;
                        tracing::info!("avahi-daemon service available, zeroconf supported.");
                        tracing::debug!("Avahi version {v}");
                        let _ = events.send(AvahiEvent::Available);
                    }
                    Err(e) => {
                        if !warned {
                            warned = true;
                            tracing::warn!(
                                "avahi-daemon not available, operating w/o mDNS discovery. ({e})"
                            );
                        }
                        b.stop(&conn).await;
                        // A daemon that just took its name may still be starting: look
                        // again soon rather than after the full wake-up period.
                        if quick_retries > 0 {
                            quick_retries -= 1;
                            retry_soon = true;
                        }
                    }
                },
                Err(_) => {
                    if !warned {
                        warned = true;
                        tracing::warn!("avahi-daemon not available, zeroconf not supported.");
                    }
                    // Its name appeared but it does not answer yet: look again soon.
                    if quick_retries > 0 {
                        quick_retries -= 1;
                        retry_soon = true;
                    }
                }
            }
        }
        tokio::select! {
            _ = &mut stop => {
                b.stop(&conn).await;
                return;
            }
            _ = wake.tick() => {}
            () = tokio::time::sleep(QUICK_RETRY), if retry_soon => {}
            Some(Ok(msg)) = owners.next() => {
                quick_retries = QUICK_RETRIES;
                let (_, _old, new): (String, String, String) = match msg.body().deserialize() {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                if new.is_empty() {
                    if available {
                        tracing::warn!("avahi-daemon left the bus: mDNS services forgotten");
                        let _ = events.send(AvahiEvent::Gone);
                    }
                    available = false;
                    b.forget();
                } else if !(available && owner.as_deref() == Some(new.as_str())) {
                    // A (re)started daemon: browse again from scratch. (The daemon we
                    // already browse with is announced late when a retry won the race.)
                    available = false;
                    b.forget();
                }
            }
            Some(Ok(msg)) = signals.next() => {
                let header = msg.header();
                let (Some(iface), Some(member)) = (header.interface(), header.member()) else { continue };
                match (iface.as_str(), member.as_str()) {
                    (BROWSER, "ItemNew") => {
                        if let Some(key) = item(&msg) {
                            b.item_new(&conn, key).await;
                        }
                    }
                    (BROWSER, "ItemRemove") => {
                        if let Some(key) = item(&msg)
                            && b.stypes.contains(&key.stype)
                        {
                            if let Some(p) = b.resolvers.remove(&key) {
                                Browsing::free(&conn, &p, RESOLVER).await;
                            }
                            let _ = events.send(AvahiEvent::Removed(key));
                        }
                    }
                    (BROWSER, "Failure") => {
                        let err: String = msg.body().deserialize().unwrap_or_default();
                        tracing::error!("Avahi service browser failure: {err}");
                    }
                    (RESOLVER, "Found") => {
                        if let Some(r) = found(&msg)
                            && b.resolvers.contains_key(&r.key)
                        {
                            let _ = events.send(AvahiEvent::Resolved(r));
                        }
                    }
                    (RESOLVER, "Failure") => {
                        let err: String = msg.body().deserialize().unwrap_or_default();
                        // Timeouts are routine (a service that went quiet); upstream is silent too.
                        if !err.contains("Timeout") {
                            tracing::error!("Avahi service resolver failure: {err}");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
