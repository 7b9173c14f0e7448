//! mDNS-discovered DCs (TP8009, compat §4.7): resolved Avahi services become DC candidates
//! once a TCP connection to them succeeds (retried 5, 10, 30, 60, 300, 600, 600 … seconds
//! later); goodbyes are remembered so the aging of §4.8 can start (upstream #378).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use libnvme_rs::trid::{Transport, TransportId};
use staslib::avahi::{Resolved, ServiceKey};
use staslib::conf::options::py_repr;
use staslib::dlpe::{MAX_NQN, MAX_TRADDR, check_field};
use staslib::mdns_txt::{parse_txt, transport_from_txt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Waits between reachability checks after the first failure (upstream's list without its
/// first value, which it never uses).
pub const CHECK_BACKOFF: [u64; 6] = [5, 10, 30, 60, 300, 600];

/// Python's repr of the parsed TXT dictionary, for upstream's error text.
fn txt_repr(txt: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = txt
        .iter()
        .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// The DC a resolved service stands for (§4.7-5, -6, §4.6-1), or upstream's error text.
pub fn candidate(
    r: &Resolved,
    hostnqn: &str,
    unique_nqn_supported: bool,
) -> Result<TransportId, String> {
    let txt = parse_txt(&r.txt);
    let address = r.address.trim();
    let Some(transport) = transport_from_txt(&txt) else {
        return Err(format!(
            "Received invalid/undefined protocol in mDNS TXT field: address={address}, iface={}, TXT={}",
            r.ifname,
            txt_repr(&txt)
        ));
    };
    let nqn = match txt.get("nqn") {
        Some(n) if unique_nqn_supported => n.as_str(),
        _ => "",
    };
    // Nothing from the network reaches a fabrics option string unchecked.
    for (key, v, max) in [
        ("address", address, MAX_TRADDR),
        ("nqn", nqn, MAX_NQN),
        ("iface", r.ifname.as_str(), 15),
    ] {
        check_field(key, v, max)
            .map_err(|why| format!("mDNS service {} ignored: {why}", r.key.name))?;
    }
    let host_iface = if transport == Transport::Tcp {
        r.ifname.as_str()
    } else {
        ""
    };
    Ok(
        TransportId::new_discovery(transport, address, &r.port.to_string(), nqn)
            .with_host_iface(host_iface)
            .with_host_nqn(hostnqn),
    )
}

/// An IP seen on more than one interface (§4.7-9): upstream's error text, if any.
pub fn duplicate_ip<'a>(
    services: impl IntoIterator<Item = &'a Resolved>,
    ip: &str,
) -> Option<String> {
    let ifaces: BTreeSet<&str> = services
        .into_iter()
        .filter(|r| r.address.trim() == ip)
        .map(|r| r.ifname.as_str())
        .collect();
    (ifaces.len() > 1).then(|| {
        format!(
            "IP address {ip} was found on multiple interfaces: {}",
            ifaces.into_iter().collect::<Vec<_>>().join(",")
        )
    })
}

/// A service and what we know of it.
#[derive(Debug)]
struct Service {
    resolved: Resolved,
    candidate: Option<TransportId>,
    reachable: bool,
    checker: Option<JoinHandle<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(c) = self.checker.take() {
            c.abort();
        }
    }
}

/// The mDNS side of stafd.
#[derive(Debug, Default)]
pub struct Zeroconf {
    services: BTreeMap<ServiceKey, Service>,
    /// DCs whose service said goodbye and has not come back.
    goodbyes: BTreeSet<TransportId>,
}

impl Zeroconf {
    /// A (re)resolved service; starts its reachability check. `true` when the set of usable
    /// candidates may have changed.
    pub fn resolved(
        &mut self,
        r: Resolved,
        hostnqn: &str,
        unique_nqn_supported: bool,
        reachable_tx: &mpsc::UnboundedSender<ServiceKey>,
    ) -> bool {
        let candidate = match candidate(&r, hostnqn, unique_nqn_supported) {
            Ok(c) => Some(c),
            Err(text) => {
                tracing::error!("{text}");
                None
            }
        };
        let key = r.key.clone();
        if let Some(old) = self.services.get(&key)
            && old.candidate == candidate
            && old.resolved == r
        {
            return false;
        }
        if let Some(c) = &candidate {
            self.goodbyes.remove(c);
        }
        let all: Vec<Resolved> = self
            .services
            .values()
            .map(|s| s.resolved.clone())
            .chain(std::iter::once(r.clone()))
            .collect();
        if let Some(text) = duplicate_ip(&all, r.address.trim()) {
            tracing::error!("{text}");
        }
        // rdma services are usable at once; tcp ones after a successful connect.
        let (reachable, checker) = match &candidate {
            Some(c) if c.transport() == Transport::Tcp => (
                false,
                Some(tokio::spawn(check(
                    key.clone(),
                    r.clone(),
                    reachable_tx.clone(),
                ))),
            ),
            Some(_) => (true, None),
            None => (false, None),
        };
        self.services.insert(
            key,
            Service {
                resolved: r,
                candidate,
                reachable,
                checker,
            },
        );
        reachable
    }

    /// The check of `key` succeeded.
    pub fn reachable(&mut self, key: &ServiceKey) -> bool {
        match self.services.get_mut(key) {
            Some(s) if !s.reachable => {
                s.reachable = true;
                true
            }
            _ => false,
        }
    }

    /// A goodbye: the service is forgotten and its DC starts aging.
    pub fn removed(&mut self, key: &ServiceKey) -> bool {
        match self.services.remove(key) {
            Some(s) => {
                if let Some(c) = &s.candidate {
                    self.goodbyes.insert(c.clone());
                }
                true
            }
            None => false,
        }
    }

    /// avahi-daemon went away (or zeroconf was switched off): services forgotten, no
    /// goodbyes (connected mDNS DCs are kept, §4.4-5).
    pub fn forget_all(&mut self) {
        self.services.clear();
    }

    /// Usable candidates, for the reconcile.
    pub fn discovered(&self) -> Vec<TransportId> {
        self.services
            .values()
            .filter(|s| s.reachable)
            .filter_map(|s| s.candidate.clone())
            .collect()
    }

    /// Whether `tid` said goodbye and has not come back.
    pub fn said_goodbye(&self, tid: &TransportId) -> bool {
        self.goodbyes.contains(tid)
    }

    /// Forgets a goodbye once its DC is gone.
    pub fn dc_removed(&mut self, tid: &TransportId) {
        self.goodbyes.remove(tid);
    }

    /// The services for `process_info`: key text → data (upstream's shape).
    pub fn services_view(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.services
            .values()
            .map(|s| {
                let k = &s.resolved.key;
                let proto = if k.protocol == 1 { "IPv6" } else { "IPv4" };
                let key = format!(
                    "({}, {proto}, {}.{}, {})",
                    s.resolved.ifname, k.name, k.domain, k.stype
                );
                let mut data = Vec::new();
                if let Some(c) = &s.candidate {
                    data.push(("transport".into(), c.transport().as_str().into()));
                    data.push(("traddr".into(), c.traddr().into()));
                    data.push(("trsvcid".into(), c.trsvcid().into()));
                    data.push(("host-iface".into(), c.host_iface().into()));
                    data.push(("subsysnqn".into(), c.subsysnqn().into()));
                }
                data.push((
                    "reachable".into(),
                    if s.reachable { "True" } else { "False" }.into(),
                ));
                (key, data)
            })
            .collect()
    }
}

/// A TCP connect to the service bound to its interface (§4.7-7); retried on the back-off
/// schedule until it succeeds, then reported once.
async fn check(key: ServiceKey, r: Resolved, tx: mpsc::UnboundedSender<ServiceKey>) {
    let Ok(ip) = r.address.trim().parse::<IpAddr>() else {
        tracing::error!("{} is not an IP address", r.address);
        return;
    };
    // IPv4-mapped IPv6 addresses are dialled as IPv4.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let addr = SocketAddr::new(ip, r.port);
    let mut waits = CHECK_BACKOFF.iter().copied().chain(std::iter::repeat(600));
    let mut first = true;
    loop {
        match connect(addr, &r.ifname).await {
            Ok(()) => {
                let _ = tx.send(key);
                return;
            }
            Err(e) => {
                if first {
                    tracing::info!(
                        "Unable to verify TCP connectivity  - ({}, {}, {}): {e}",
                        r.ifname,
                        r.address,
                        r.port
                    );
                    first = false;
                }
                let wait = waits.next().unwrap_or(600);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
        }
    }
}

async fn connect(addr: SocketAddr, ifname: &str) -> std::io::Result<()> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if !ifname.is_empty()
        && let Err(e) = sock.bind_device(Some(ifname.as_bytes()))
    {
        // Binding to an interface needs CAP_NET_RAW; unprivileged runs check the route.
        tracing::debug!("SO_BINDTODEVICE {ifname}: {e}");
    }
    match tokio::time::timeout(Duration::from_secs(5), sock.connect(addr)).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "timed out",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(ifname: &str, address: &str, txt: &[&[u8]]) -> Resolved {
        Resolved {
            key: ServiceKey {
                interface: 1,
                protocol: 0,
                name: "dc".into(),
                stype: "_nvme-disc._tcp".into(),
                domain: "local".into(),
            },
            ifname: ifname.into(),
            address: address.into(),
            port: 8009,
            txt: txt.iter().map(|t| t.to_vec()).collect(),
        }
    }

    #[test]
    fn candidates_from_txt() {
        let wk = libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
        let tcp = candidate(
            &resolved("eth0", "192.0.2.1", &[b"p=tcp", b"nqn=nqn.unique"]),
            "nqn.h",
            true,
        )
        .unwrap();
        assert_eq!(
            tcp,
            TransportId::new_discovery(Transport::Tcp, "192.0.2.1", "8009", "nqn.unique")
                .with_host_iface("eth0")
                .with_host_nqn("nqn.h")
        );
        // Without TP8013 support the well-known NQN is used.
        let no8013 = candidate(
            &resolved("eth0", "192.0.2.1", &[b"p=TCP ", b"nqn=nqn.unique"]),
            "nqn.h",
            false,
        )
        .unwrap();
        assert_eq!(no8013.subsysnqn(), wk);
        // rdma: no host-iface.
        let rdma = candidate(&resolved("eth0", "192.0.2.1", &[b"P=roce"]), "nqn.h", true).unwrap();
        assert_eq!((rdma.transport(), rdma.host_iface()), (Transport::Rdma, ""));
        for (txt, shown) in [
            (&[&b"p=walmart"[..]][..], "{'p': 'walmart'}"),
            (&[&b"nqn=x"[..]][..], "{'nqn': 'x'}"),
            (&[&b"p=t\x01cp"[..]][..], "{}"),
        ] {
            let err = candidate(&resolved("lo", "127.0.0.1", txt), "nqn.h", true).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "Received invalid/undefined protocol in mDNS TXT field: address=127.0.0.1, iface=lo, TXT={shown}"
                )
            );
        }
    }

    #[test]
    fn injected_fields_are_refused() {
        let err = candidate(
            &resolved("lo", "127.0.0.1", &[b"p=tcp", b"nqn=nqn.x,ctrl_loss_tmo:1"]),
            "nqn.h",
            true,
        )
        .unwrap_err();
        assert!(err.starts_with("mDNS service dc ignored: nqn"), "{err}");
    }

    #[test]
    fn duplicate_ips_are_reported() {
        let a = resolved("eth0", "192.0.2.1", &[]);
        let b = resolved("eth1", "192.0.2.1", &[]);
        let c = resolved("eth1", "192.0.2.2", &[]);
        assert_eq!(
            duplicate_ip([&a, &b, &c], "192.0.2.1").as_deref(),
            Some("IP address 192.0.2.1 was found on multiple interfaces: eth0,eth1")
        );
        assert_eq!(duplicate_ip([&a, &c], "192.0.2.1"), None);
    }
}
