//! The host's network interfaces and their addresses, as adoption matching needs them
//! (compat §4.12 step 6): which interface owns a source address, and each interface's
//! primary address per family.

use std::net::IpAddr;

/// Local interfaces and their addresses, in the kernel's order (the first address of each
/// family is the interface's "primary" one, used as default source address).
///
/// The daemon fills it from one netlink `RTM_GETADDR` dump per search that reaches a
/// candidate controller (§4.12 step 6, [`LazyInterfaces`]); tests build it by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceAddrs {
    entries: Vec<(String, Vec<IpAddr>)>,
}

impl InterfaceAddrs {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends addresses to interface `name` (created on first use). IPv4-mapped IPv6
    /// addresses are folded to IPv4.
    pub fn add(&mut self, name: &str, addrs: impl IntoIterator<Item = IpAddr>) {
        let addrs = addrs.into_iter().map(fold_mapped);
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some((_, list)) => list.extend(addrs),
            None => self.entries.push((name.to_owned(), addrs.collect())),
        }
    }

    /// Builder form of [`InterfaceAddrs::add`].
    #[must_use]
    pub fn with(mut self, name: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.add(name, addrs);
        self
    }

    /// All addresses of `name`, in order (empty if unknown).
    pub fn addresses(&self, name: &str) -> &[IpAddr] {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[], |(_, a)| a.as_slice())
    }

    /// The first address of `name` in the same family as `like`.
    pub fn primary_address(&self, name: &str, ipv4: bool) -> Option<IpAddr> {
        self.addresses(name)
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == ipv4)
    }

    /// The interface owning `addr` (first in table order), if any.
    pub fn interface_of(&self, addr: &IpAddr) -> Option<&str> {
        let addr = fold_mapped(*addr);
        self.entries
            .iter()
            .find(|(_, list)| list.contains(&addr))
            .map(|(n, _)| n.as_str())
    }

    /// Iterates over `(interface, addresses)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[IpAddr])> {
        self.entries.iter().map(|(n, a)| (n.as_str(), a.as_slice()))
    }
}

fn fold_mapped(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// The interfaces a search consults, read on first use: a search whose cached keys rule
/// every controller out (the usual case: a new controller) makes no netlink dump.
pub struct LazyInterfaces {
    cell: std::cell::OnceCell<InterfaceAddrs>,
    read: fn() -> std::io::Result<InterfaceAddrs>,
}

impl LazyInterfaces {
    /// The host's, by [`system_interfaces`] when first needed.
    pub fn system() -> Self {
        Self {
            cell: std::cell::OnceCell::new(),
            read: system_interfaces,
        }
    }

    /// A fixed table (tests).
    pub fn given(table: InterfaceAddrs) -> Self {
        Self {
            cell: std::cell::OnceCell::from(table),
            read: || Ok(InterfaceAddrs::new()),
        }
    }

    /// One whose reading fails (tests: shows when it is read).
    #[cfg(test)]
    pub(crate) fn unreadable() -> Self {
        Self {
            cell: std::cell::OnceCell::new(),
            read: || Err(std::io::Error::other("interfaces read")),
        }
    }

    /// The table, read now if it was not yet.
    pub fn get(&self) -> std::io::Result<&InterfaceAddrs> {
        if let Some(t) = self.cell.get() {
            return Ok(t);
        }
        let table = (self.read)()?;
        Ok(self.cell.get_or_init(|| table))
    }
}

/// The host's interfaces and their addresses, in kernel order (the first of each family is the
/// "primary" one the legacy matching rules use).
pub fn system_interfaces() -> std::io::Result<InterfaceAddrs> {
    let mut table = InterfaceAddrs::new();
    for ifa in nix::ifaddrs::getifaddrs()? {
        let Some(addr) = ifa.address else { continue };
        let ip: Option<IpAddr> = if let Some(v4) = addr.as_sockaddr_in() {
            Some(IpAddr::V4(v4.ip()))
        } else {
            addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
        };
        if let Some(ip) = ip {
            table.add(&ifa.interface_name, [ip]);
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interface_table() {
        let t = InterfaceAddrs::new()
            .with("lo", [ip("127.0.0.1"), ip("::1")])
            .with("eth0", [ip("fe80::1"), ip("10.0.0.1"), ip("10.0.0.2")])
            .with("eth0", [ip("::ffff:10.0.0.3")]);
        assert_eq!(t.primary_address("eth0", true), Some(ip("10.0.0.1")));
        assert_eq!(t.primary_address("eth0", false), Some(ip("fe80::1")));
        assert_eq!(t.primary_address("lo", false), Some(ip("::1")));
        assert_eq!(t.primary_address("nope", true), None);
        assert_eq!(t.interface_of(&ip("10.0.0.3")), Some("eth0"));
        assert_eq!(t.interface_of(&ip("::ffff:127.0.0.1")), Some("lo"));
        assert_eq!(t.interface_of(&ip("10.9.9.9")), None);
        assert_eq!(t.addresses("eth0").len(), 4);
        assert_eq!(t.iter().count(), 2);
    }

    #[test]
    fn system_interfaces_lists_loopback() {
        let t = system_interfaces().unwrap();
        assert!(t.interface_of(&IpAddr::from([127, 0, 0, 1])).is_some());
    }
}
