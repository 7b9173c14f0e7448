//! Host-name resolution of configured controllers (compat spec §4.3) and the address /
//! ip-family filter applied to every candidate controller (upstream
//! `remove_invalid_addresses`).
//!
//! The resolver is a trait so the daemons can run the blocking system resolver off the event
//! loop and tests can inject answers.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

use libnvme_rs::trid::{IpLiteral, TransportId};

use super::ControllerEntry;
use crate::conf::options::IpFamily;

/// Resolves a host name to addresses, in the resolver's order.
pub trait Resolver {
    /// All addresses of `host`.
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo` through [`ToSocketAddrs`]). Blocking: run it in a
/// worker thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let mut out: Vec<IpAddr> = Vec::new();
        for sa in (host, 0u16).to_socket_addrs()? {
            if !out.contains(&sa.ip()) {
                out.push(sa.ip());
            }
        }
        Ok(out)
    }
}

/// A resolver with fixed answers, for tests. Unknown names fail with `NotFound`.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    answers: HashMap<String, Result<Vec<IpAddr>, String>>,
}

impl StaticResolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `host` with `addrs`.
    #[must_use]
    pub fn with(mut self, host: &str, addrs: &[IpAddr]) -> Self {
        self.answers.insert(host.to_owned(), Ok(addrs.to_vec()));
        self
    }

    /// Fails `host` with `message`.
    #[must_use]
    pub fn failing(mut self, host: &str, message: &str) -> Self {
        self.answers
            .insert(host.to_owned(), Err(message.to_owned()));
        self
    }
}

impl Resolver for StaticResolver {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        match self.answers.get(host) {
            Some(Ok(a)) => Ok(a.clone()),
            Some(Err(m)) => Err(io::Error::other(m.clone())),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host}: Name or service not known"),
            )),
        }
    }
}

/// §4.3 step 3: the first IPv4 address if IPv4 is enabled, else the first IPv6 address if
/// IPv6 is enabled. IPv4-mapped IPv6 answers count as IPv6, as upstream.
pub fn pick_address(addrs: &[IpAddr], family: IpFamily) -> Option<IpAddr> {
    let first = |v4: bool| addrs.iter().copied().find(|a| a.is_ipv4() == v4);
    family
        .ipv4
        .then(|| first(true))
        .flatten()
        .or_else(|| family.ipv6.then(|| first(false)).flatten())
}

/// What happened to one configured entry during resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveOutcome {
    /// Kept as is: not an IP transport, or an IP literal of an enabled family.
    Kept(ControllerEntry),
    /// A host name resolved; the entry carries the address.
    Resolved {
        /// The name that was resolved.
        host: String,
        /// The entry with its `traddr` replaced.
        entry: ControllerEntry,
    },
    /// An IP literal of a disabled family (WARNING upstream).
    FamilyDisabled(String),
    /// The name resolved, but to no address of an enabled family (DEBUG upstream).
    NoUsableAddress(String),
    /// Resolution failed (ERROR upstream, with the resolver's message).
    Failed {
        /// The name.
        host: String,
        /// The resolver's message.
        error: String,
    },
}

impl ResolveOutcome {
    /// The entry to use, if any.
    pub fn entry(&self) -> Option<&ControllerEntry> {
        match self {
            ResolveOutcome::Kept(e) | ResolveOutcome::Resolved { entry: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The log line upstream writes for a dropped entry, if any (WARNING for a disabled
    /// family, ERROR for a failure).
    pub fn message(&self) -> Option<String> {
        match self {
            ResolveOutcome::FamilyDisabled(a) => Some(format!(
                "Excluding configured IP address {a} based on \"ip-family\" setting"
            )),
            ResolveOutcome::Failed { error, .. } => Some(error.clone()),
            ResolveOutcome::NoUsableAddress(h) => {
                Some(format!("No address of an enabled IP family for {h}"))
            }
            _ => None,
        }
    }
}

/// The IP version upstream's `ipaddress.ip_address()` reports for a literal (4 or 6;
/// IPv4-mapped IPv6 is 6), or `None` if `s` is not an IP literal.
pub fn ip_version(s: &str) -> Option<u8> {
    IpLiteral::parse(s)?;
    let addr = s.split('%').next().unwrap_or(s);
    Some(if addr.parse::<Ipv4Addr>().is_ok() {
        4
    } else {
        6
    })
}

/// Resolves one configured entry (§4.3 steps 2, 3, 5).
pub fn resolve_entry(
    entry: &ControllerEntry,
    family: IpFamily,
    resolver: &dyn Resolver,
) -> ResolveOutcome {
    if !entry.transport.is_ip() {
        return ResolveOutcome::Kept(entry.clone());
    }
    match ip_version(&entry.traddr) {
        Some(v) if family.allows_version(v) => ResolveOutcome::Kept(entry.clone()),
        Some(_) => ResolveOutcome::FamilyDisabled(entry.traddr.clone()),
        None => match resolver.resolve(&entry.traddr) {
            Ok(addrs) => match pick_address(&addrs, family) {
                Some(a) => ResolveOutcome::Resolved {
                    host: entry.traddr.clone(),
                    entry: entry.with_traddr(&a.to_string()),
                },
                None => ResolveOutcome::NoUsableAddress(entry.traddr.clone()),
            },
            Err(e) => ResolveOutcome::Failed {
                host: entry.traddr.clone(),
                error: e.to_string(),
            },
        },
    }
}

/// Resolves every entry, in order.
pub fn resolve_entries(
    entries: &[ControllerEntry],
    family: IpFamily,
    resolver: &dyn Resolver,
) -> Vec<ResolveOutcome> {
    entries
        .iter()
        .map(|e| resolve_entry(e, family, resolver))
        .collect()
}

/// Verdict of the address filter on one candidate identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressCheck {
    /// Keep it.
    Valid,
    /// tcp/rdma with a `traddr` that is not an IP literal (WARNING `<tid> IP address is not
    /// valid`).
    InvalidAddress,
    /// The address family is disabled by `ip-family` (DEBUG upstream).
    FamilyDisabled(u8),
}

/// Upstream `remove_invalid_addresses` for one identity: fc/loop are always valid.
pub fn check_address(tid: &TransportId, family: IpFamily) -> AddressCheck {
    if !tid.transport().is_ip() {
        return AddressCheck::Valid;
    }
    match ip_version(tid.traddr()) {
        None => AddressCheck::InvalidAddress,
        Some(v) if family.allows_version(v) => AddressCheck::Valid,
        Some(v) => AddressCheck::FamilyDisabled(v),
    }
}

impl AddressCheck {
    /// Upstream's log line for a rejected identity (`conf_file` as in the DEBUG line).
    pub fn message(&self, tid: &TransportId, conf_file: &str) -> Option<String> {
        match self {
            AddressCheck::Valid => None,
            AddressCheck::InvalidAddress => Some(format!("{tid} IP address is not valid")),
            AddressCheck::FamilyDisabled(v) => Some(format!(
                "{tid} ignored because IPv{v} is disabled in {conf_file}"
            )),
        }
    }
}

/// Keeps the identities that pass [`check_address`], in order.
pub fn remove_invalid_addresses(tids: Vec<TransportId>, family: IpFamily) -> Vec<TransportId> {
    tids.into_iter()
        .filter(|t| check_address(t, family) == AddressCheck::Valid)
        .collect()
}

/// Keeps the identities whose transport is in `allowed` (e.g. `disconnect-trtypes`).
pub fn retain_transports(
    tids: Vec<TransportId>,
    allowed: &std::collections::BTreeSet<libnvme_rs::trid::Transport>,
) -> Vec<TransportId> {
    tids.into_iter()
        .filter(|t| allowed.contains(&t.transport()))
        .collect()
}
