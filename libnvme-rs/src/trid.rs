//! Transport identities (compat spec §1.4, §4 "TID", §4.12).
//!
//! A [`TransportId`] names one controller connection: transport, target address and port,
//! subsystem NQN, and the host side (source address, interface, host NQN). Two identities are
//! equal iff all seven strings are equal (exact, no IP normalisation), as upstream nvme-stas.
//!
//! [`matches_existing`] decides whether an existing kernel connection can be adopted for a
//! candidate identity (§4.12 step 4); its golden cases are those of upstream `test-udev.py`
//! (§9.5). Interface data is injected through [`InterfaceAddrs`] so it can be faked in tests.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::spec::WELL_KNOWN_DISC_NQN;

/// Default port of an NVMe/TCP discovery controller; upstream applies it to every tcp TID
/// without a port, even in stacd (§1.4).
pub const TCP_DEFAULT_TRSVCID: &str = "8009";
/// Default port for RDMA (§1.4).
pub const RDMA_DEFAULT_TRSVCID: &str = "4420";

/// An NVMe-oF transport type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// NVMe/TCP.
    Tcp,
    /// NVMe/RDMA (RoCE, iWARP, InfiniBand).
    Rdma,
    /// NVMe/FC.
    Fc,
    /// The Linux loopback target.
    Loop,
}

impl Transport {
    /// The kernel / configuration spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Rdma => "rdma",
            Transport::Fc => "fc",
            Transport::Loop => "loop",
        }
    }

    /// Whether addresses of this transport are IP literals (tcp, rdma).
    pub const fn is_ip(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Rdma)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transport name that is not one of `tcp`, `rdma`, `fc`, `loop`.
///
/// The message is upstream's warning text (`Invalid transport <t>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid transport {0}")]
pub struct UnknownTransport(pub String);

/// Longest `traddr` accepted from outside (a discovery log entry's field is 256 bytes).
pub const MAX_TRADDR: usize = 255;
/// Longest `trsvcid` (the field is 32 bytes).
pub const MAX_TRSVCID: usize = 32;
/// Longest NQN (NVMe base specification: 223 bytes).
pub const MAX_NQN: usize = 223;

/// Why a value from outside (discovery log entry, mDNS, D-Bus) cannot name a controller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TidError {
    /// The value does not fit its field.
    #[error("{field} is {len} bytes long (at most {max})")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value could change a `/dev/nvme-fabrics` option string (`,` `=`), or is not
    /// printable ASCII.
    #[error("{field} {value:?} contains {found:?}")]
    BadCharacter {
        /// Which field.
        field: &'static str,
        /// The value as received.
        value: String,
        /// The first offending character.
        found: char,
    },
    /// A discovery log entry's TRTYPE is none of rdma, fc, tcp, loop.
    #[error("transport type {0} is not one we know")]
    UnknownTrtype(u8),
    /// A discovery log entry's SUBTYPE names neither an NVM subsystem nor a discovery
    /// controller.
    #[error("entry subtype {0} names no controller")]
    UnknownSubtype(u8),
}

/// Checks one value from outside that ends up in a `/dev/nvme-fabrics` option string: at
/// most `max` bytes, printable ASCII, no `,` or `=`.
pub fn check_field(field: &'static str, value: &str, max: usize) -> Result<(), TidError> {
    if value.len() > max {
        return Err(TidError::TooLong {
            field,
            len: value.len(),
            max,
        });
    }
    match value
        .chars()
        .find(|c| matches!(c, ',' | '=') || !c.is_ascii_graphic())
    {
        Some(found) => Err(TidError::BadCharacter {
            field,
            value: value.to_owned(),
            found,
        }),
        None => Ok(()),
    }
}

impl FromStr for Transport {
    type Err = UnknownTransport;

    /// Case-sensitive, as upstream compares transport strings exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Transport::Tcp),
            "rdma" => Ok(Transport::Rdma),
            "fc" => Ok(Transport::Fc),
            "loop" => Ok(Transport::Loop),
            other => Err(UnknownTransport(other.to_owned())),
        }
    }
}

/// A controller identity ("TID"). Empty strings mean "unset".
///
/// Construction applies the defaulting of §1.4: a missing tcp port becomes `8009`, a missing
/// rdma port `4420`, and fc/loop ports are forced empty. Equality, ordering and hashing use all
/// seven fields verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId {
    transport: Transport,
    traddr: String,
    trsvcid: String,
    subsysnqn: String,
    host_traddr: String,
    host_iface: String,
    host_nqn: String,
}

/// A discovery log entry as a controller identity, validated: an NVM subsystem entry gives
/// an I/O controller, a referral or current-discovery entry a discovery controller. The host
/// side is the caller's (usually that of the reporting DC: [`TransportId::with_host_of`]).
impl TryFrom<&crate::spec::disclog::DiscoveryLogEntry> for TransportId {
    type Error = TidError;

    fn try_from(e: &crate::spec::disclog::DiscoveryLogEntry) -> Result<Self, TidError> {
        use crate::spec::disclog::{subtype, trtype};
        let transport = match e.trtype {
            trtype::RDMA => Transport::Rdma,
            trtype::FC => Transport::Fc,
            trtype::TCP => Transport::Tcp,
            trtype::LOOP => Transport::Loop,
            other => return Err(TidError::UnknownTrtype(other)),
        };
        let discovery = match e.subtype {
            subtype::NVME => false,
            subtype::REFERRAL | subtype::CURRENT_DISCOVERY => true,
            other => return Err(TidError::UnknownSubtype(other)),
        };
        TransportId::from_entry(transport, discovery, &e.traddr, &e.trsvcid, &e.subnqn)
    }
}

impl TransportId {
    /// An identity with the port defaulted per transport and no host-side fields.
    pub fn new(transport: Transport, traddr: &str, trsvcid: &str, subsysnqn: &str) -> Self {
        let trsvcid = match transport {
            Transport::Tcp if trsvcid.is_empty() => TCP_DEFAULT_TRSVCID,
            Transport::Rdma if trsvcid.is_empty() => RDMA_DEFAULT_TRSVCID,
            Transport::Tcp | Transport::Rdma => trsvcid,
            // Upstream forces fc/loop ports empty "whatever was written".
            Transport::Fc | Transport::Loop => "",
        };
        TransportId {
            transport,
            traddr: traddr.to_owned(),
            trsvcid: trsvcid.to_owned(),
            subsysnqn: subsysnqn.to_owned(),
            host_traddr: String::new(),
            host_iface: String::new(),
            host_nqn: String::new(),
        }
    }

    /// A discovery controller identity: an empty `subsysnqn` becomes the well-known discovery
    /// NQN (stafd's default, §1.4).
    pub fn new_discovery(
        transport: Transport,
        traddr: &str,
        trsvcid: &str,
        subsysnqn: &str,
    ) -> Self {
        let nqn = if subsysnqn.is_empty() {
            WELL_KNOWN_DISC_NQN
        } else {
            subsysnqn
        };
        Self::new(transport, traddr, trsvcid, nqn)
    }

    /// Sets the host source address (tcp/rdma IP, fc WWNN/WWPN).
    #[must_use]
    pub fn with_host_traddr(mut self, host_traddr: &str) -> Self {
        self.host_traddr = host_traddr.to_owned();
        self
    }

    /// Sets the host interface. Callers honouring `ignore-iface=true` pass `""`.
    #[must_use]
    pub fn with_host_iface(mut self, host_iface: &str) -> Self {
        self.host_iface = host_iface.to_owned();
        self
    }

    /// An identity from the fields of a discovery log entry (decoded or as upstream's string
    /// dictionary), each checked with [`check_field`] first.
    pub fn from_entry(
        transport: Transport,
        discovery: bool,
        traddr: &str,
        trsvcid: &str,
        subnqn: &str,
    ) -> Result<Self, TidError> {
        check_field("traddr", traddr, MAX_TRADDR)?;
        check_field("trsvcid", trsvcid, MAX_TRSVCID)?;
        check_field("subnqn", subnqn, MAX_NQN)?;
        Ok(if discovery {
            Self::new_discovery(transport, traddr, trsvcid, subnqn)
        } else {
            Self::new(transport, traddr, trsvcid, subnqn)
        })
    }

    /// The host side (source address, interface, host NQN) taken from `other`, e.g. the DC
    /// whose log page listed this controller.
    #[must_use]
    pub fn with_host_of(self, other: &TransportId) -> Self {
        self.with_host_traddr(other.host_traddr())
            .with_host_iface(other.host_iface())
            .with_host_nqn(other.host_nqn())
    }

    /// Sets the host NQN that is part of the identity (default: the system host NQN, which the
    /// caller supplies; this library does not read it implicitly).
    #[must_use]
    pub fn with_host_nqn(mut self, host_nqn: &str) -> Self {
        self.host_nqn = host_nqn.to_owned();
        self
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }
    /// Target address.
    pub fn traddr(&self) -> &str {
        &self.traddr
    }
    /// Target port (after defaulting).
    pub fn trsvcid(&self) -> &str {
        &self.trsvcid
    }
    /// Subsystem NQN.
    pub fn subsysnqn(&self) -> &str {
        &self.subsysnqn
    }
    /// Host source address.
    pub fn host_traddr(&self) -> &str {
        &self.host_traddr
    }
    /// Host interface.
    pub fn host_iface(&self) -> &str {
        &self.host_iface
    }
    /// Host NQN of the identity.
    pub fn host_nqn(&self) -> &str {
        &self.host_nqn
    }

    /// Whether the subsystem NQN is the well-known discovery NQN.
    pub fn is_well_known_discovery(&self) -> bool {
        self.subsysnqn == WELL_KNOWN_DISC_NQN
    }

    /// A copy whose `traddr` and `host_traddr` are in canonical IP form (see [`canonical_ip`])
    /// when they are IP literals of an IP transport; other values are kept verbatim.
    #[must_use]
    pub fn canonicalized(&self) -> Self {
        let mut out = self.clone();
        if self.transport.is_ip() {
            if let Some(c) = canonical_ip(&self.traddr) {
                out.traddr = c;
            }
            if let Some(c) = canonical_ip(&self.host_traddr) {
                out.host_traddr = c;
            }
        }
        out
    }
}

/// Upstream's printable form (§4): `(<transport>, <traddr>, <trsvcid>[, <subsysnqn>]
/// [, <host-iface>][, <host-traddr>])`, optional parts only when non-empty, host NQN never
/// shown. Used in log lines and as `process_info` keys, so it must stay byte-identical.
impl fmt::Display for TransportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}, {}", self.transport, self.traddr, self.trsvcid)?;
        for part in [&self.subsysnqn, &self.host_iface, &self.host_traddr] {
            if !part.is_empty() {
                write!(f, ", {part}")?;
            }
        }
        f.write_str(")")
    }
}

// ---------------------------------------------------------------------------------------------
// IP literals
// ---------------------------------------------------------------------------------------------

/// A parsed IP literal: the address with IPv4-mapped IPv6 folded to IPv4, plus an optional
/// IPv6 `%scope` (interface name or index), kept verbatim.
///
/// Equality compares address and scope, as Python's `ipaddress` (which upstream uses) does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpLiteral {
    /// The address (never an IPv4-mapped IPv6 address).
    pub addr: IpAddr,
    /// The IPv6 zone, without the `%`.
    pub scope: Option<String>,
}

impl IpLiteral {
    /// Parses `a.b.c.d`, an IPv6 literal, or an IPv6 literal with a non-empty `%scope`.
    /// Returns `None` for anything else (host names, bracketed forms, IPv4 with a scope).
    pub fn parse(s: &str) -> Option<Self> {
        let (addr_part, scope) = match s.split_once('%') {
            None => (s, None),
            // Python's ipaddress rejects an empty scope or a second '%'.
            Some((a, sc)) if !sc.is_empty() && !sc.contains('%') => (a, Some(sc.to_owned())),
            Some(_) => return None,
        };
        if let Ok(v4) = addr_part.parse::<Ipv4Addr>() {
            return scope.is_none().then_some(IpLiteral {
                addr: IpAddr::V4(v4),
                scope: None,
            });
        }
        let v6 = addr_part.parse::<Ipv6Addr>().ok()?;
        Some(match v6.to_ipv4_mapped() {
            // The scope of a mapped address has no IPv4 meaning; upstream drops it too.
            Some(v4) => IpLiteral {
                addr: IpAddr::V4(v4),
                scope: None,
            },
            None => IpLiteral {
                addr: IpAddr::V6(v6),
                scope,
            },
        })
    }

    /// Whether this is an IPv4 address (after folding).
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

/// Canonical text: dotted IPv4, RFC 5952 lower-case compressed IPv6, `%scope` appended.
impl fmt::Display for IpLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if let Some(scope) = &self.scope {
            write!(f, "%{scope}")?;
        }
        Ok(())
    }
}

/// Canonical form of an IP literal (`::FFFF:1.2.3.4` → `1.2.3.4`, `FE80::AAAA%eth0` →
/// `fe80::aaaa%eth0`), or `None` if `s` is not an IP literal.
pub fn canonical_ip(s: &str) -> Option<String> {
    IpLiteral::parse(s).map(|ip| ip.to_string())
}

/// IP-aware address equality: if both strings are IP literals they are compared as addresses
/// (mapped IPv4 folded, IPv6 case-insensitive); otherwise as exact strings.
///
/// Upstream compares `ipaddress` objects and so treats two *different* non-IP strings as equal
/// (`None == None`); falling back to exact comparison avoids that accidental match.
pub fn ip_addr_eq(a: &str, b: &str) -> bool {
    match (IpLiteral::parse(a), IpLiteral::parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Target-address equality per transport (§4.12 step 4): IP-aware for tcp/rdma,
/// case-insensitive string equality for fc and loop.
pub fn traddr_eq(transport: Transport, a: &str, b: &str) -> bool {
    if transport.is_ip() {
        ip_addr_eq(a, b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

// ---------------------------------------------------------------------------------------------
// Interfaces
// ---------------------------------------------------------------------------------------------

/// Local interfaces and their addresses, in the kernel's order (the first address of each
/// family is the interface's "primary" one, used as default source address).
///
/// The daemon fills it from one netlink `RTM_GETADDR` dump per search (§4.12 step 6); tests
/// build it by hand.
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

/// A scoped literal never equals an interface address (which carries no scope), mirroring
/// Python; unscoped literals compare by address.
fn unscoped(ip: &IpLiteral) -> Option<IpAddr> {
    ip.scope.is_none().then_some(ip.addr)
}

// ---------------------------------------------------------------------------------------------
// Adoption of existing kernel connections (§4.12)
// ---------------------------------------------------------------------------------------------

/// The kernel's view of an existing controller connection ("cid" upstream).
///
/// Values the kernel reports as `none` must be passed as `""`. `src_addr` is the actual local
/// address of a tcp connection (sysfs `address`, kernel ≥ 6.1, only while live), else `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConnection {
    /// Transport as the kernel spells it (`tcp`, `rdma`, `fc`, `loop`, `pcie`, ...).
    pub transport: String,
    /// Target address.
    pub traddr: String,
    /// Target port.
    pub trsvcid: String,
    /// Kernel `subsysnqn` (may be a unique NQN even if connected with the well-known one).
    pub subsysnqn: String,
    /// `host_traddr` given at connect time.
    pub host_traddr: String,
    /// `host_iface` given at connect time.
    pub host_iface: String,
    /// Kernel `hostnqn` of the connection.
    pub host_nqn: String,
    /// Actual source address (modern kernels), `""` if unknown.
    pub src_addr: String,
}

/// Step-1 pre-filter of §4.12: transport, traddr and trsvcid equal **as exact strings**
/// (upstream looks devices up by udev property value). Run before [`matches_existing`].
pub fn is_candidate_device(candidate: &TransportId, kernel: &KernelConnection) -> bool {
    candidate.transport.as_str() == kernel.transport
        && candidate.traddr == kernel.traddr
        && candidate.trsvcid == kernel.trsvcid
}

/// Whether the existing kernel connection can be adopted for `candidate` (§4.12 step 4).
///
/// * transport, trsvcid and host NQN must be equal (exact);
/// * the candidate's subsysnqn must be the well-known discovery NQN (TP8013 DCs may answer with
///   a unique NQN) or equal the kernel's;
/// * traddr per [`traddr_eq`];
/// * tcp: host-traddr / host-iface checked against `src_addr` when known, else by the legacy
///   inference rules; fc: host-traddr mandatory and compared case-insensitively; rdma:
///   host-traddr compared as IP when the candidate has one.
pub fn matches_existing(
    candidate: &TransportId,
    kernel: &KernelConnection,
    ifaces: &InterfaceAddrs,
) -> bool {
    if candidate.transport.as_str() != kernel.transport
        || candidate.trsvcid != kernel.trsvcid
        || candidate.host_nqn != kernel.host_nqn
    {
        return false;
    }
    if candidate.subsysnqn != WELL_KNOWN_DISC_NQN && candidate.subsysnqn != kernel.subsysnqn {
        return false;
    }
    if !traddr_eq(candidate.transport, &candidate.traddr, &kernel.traddr) {
        return false;
    }
    match candidate.transport {
        Transport::Tcp => {
            if candidate.host_traddr.is_empty() && candidate.host_iface.is_empty() {
                return true;
            }
            match IpLiteral::parse(&kernel.src_addr) {
                Some(src) => tcp_matches_modern(candidate, &src, ifaces),
                None => tcp_matches_legacy(candidate, kernel, ifaces),
            }
        }
        Transport::Fc => candidate.host_traddr.to_lowercase() == kernel.host_traddr.to_lowercase(),
        Transport::Rdma => {
            candidate.host_traddr.is_empty()
                || ip_addr_eq(&candidate.host_traddr, &kernel.host_traddr)
        }
        Transport::Loop => true,
    }
}

/// Kernel ≥ 6.1: `src_addr` is the real source address of the connection.
fn tcp_matches_modern(candidate: &TransportId, src: &IpLiteral, ifaces: &InterfaceAddrs) -> bool {
    if !candidate.host_traddr.is_empty()
        && IpLiteral::parse(&candidate.host_traddr).as_ref() != Some(src)
    {
        return false;
    }
    if !candidate.host_iface.is_empty() {
        let owner = unscoped(src).and_then(|a| ifaces.interface_of(&a));
        if owner != Some(candidate.host_iface.as_str()) {
            return false;
        }
    }
    true
}

/// Legacy kernels (no `src_addr`): infer from the connect-time host_traddr / host_iface; when
/// neither is known, optimistically assume a match (as upstream).
fn tcp_matches_legacy(
    candidate: &TransportId,
    kernel: &KernelConnection,
    ifaces: &InterfaceAddrs,
) -> bool {
    let kernel_host_traddr = IpLiteral::parse(&kernel.host_traddr);

    if !candidate.host_traddr.is_empty() {
        let wanted = IpLiteral::parse(&candidate.host_traddr);
        if let Some(k) = &kernel_host_traddr {
            if wanted.as_ref() != Some(k) {
                return false;
            }
        } else if !kernel.host_iface.is_empty() {
            // Without host_traddr the kernel used the interface's primary address.
            let Some(wanted) = wanted else {
                // Not an IP literal: cannot be the source address (upstream would crash here).
                return false;
            };
            if let Some(primary) = ifaces.primary_address(&kernel.host_iface, wanted.is_ipv4())
                && unscoped(&wanted) != Some(primary)
            {
                return false;
            }
        }
    }

    if !candidate.host_iface.is_empty() {
        if !kernel.host_iface.is_empty() {
            if candidate.host_iface != kernel.host_iface {
                return false;
            }
        } else if let Some(k) = &kernel_host_traddr {
            let owner = unscoped(k).and_then(|a| ifaces.interface_of(&a));
            if owner != Some(candidate.host_iface.as_str()) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_log_entries_become_validated_identities() {
        use crate::spec::disclog::{DiscoveryLogEntry, subtype, trtype};
        let entry = |tr: u8, st: u8, traddr: &str, trsvcid: &str, subnqn: &str| DiscoveryLogEntry {
            trtype: tr,
            adrfam: 1,
            subtype: st,
            treq: 0,
            portid: 1,
            cntlid: 0xffff,
            asqsz: 32,
            eflags: 0,
            trsvcid: trsvcid.into(),
            subnqn: subnqn.into(),
            traddr: traddr.into(),
            tsas: [0; 256],
        };
        let dc = TransportId::new_discovery(Transport::Tcp, "10.0.0.1", "", "")
            .with_host_traddr("10.0.0.9")
            .with_host_iface("eth1")
            .with_host_nqn("nqn.host");
        let ok = |e: DiscoveryLogEntry| TransportId::try_from(&e).map(|t| t.with_host_of(&dc));
        assert_eq!(
            ok(entry(
                trtype::TCP,
                subtype::NVME,
                "10.0.0.2",
                "4420",
                "nqn.io"
            )),
            Ok(
                TransportId::new(Transport::Tcp, "10.0.0.2", "4420", "nqn.io")
                    .with_host_traddr("10.0.0.9")
                    .with_host_iface("eth1")
                    .with_host_nqn("nqn.host")
            )
        );
        // A referral without a port gets the discovery default; its NQN defaults too.
        let referral = ok(entry(trtype::TCP, subtype::REFERRAL, "10.0.0.3", "", "")).unwrap();
        assert_eq!(
            (referral.trsvcid(), referral.subsysnqn()),
            ("8009", WELL_KNOWN_DISC_NQN)
        );
        for (e, err) in [
            (
                entry(
                    trtype::TCP,
                    subtype::NVME,
                    "1.2.3.4,host_iface=x",
                    "4420",
                    "nqn.io",
                ),
                "traddr \"1.2.3.4,host_iface=x\" contains ','",
            ),
            (
                entry(trtype::TCP, subtype::NVME, "1.2.3.4", "4420", "nqn.a=b"),
                "subnqn \"nqn.a=b\" contains '='",
            ),
            (
                entry(trtype::TCP, subtype::NVME, "1.2.3.4", "44 20", "nqn.io"),
                "trsvcid \"44 20\" contains ' '",
            ),
            (
                entry(
                    trtype::TCP,
                    subtype::NVME,
                    "1.2.3.4",
                    "4420",
                    &"n".repeat(224),
                ),
                "subnqn is 224 bytes long (at most 223)",
            ),
            (
                entry(9, subtype::NVME, "1.2.3.4", "4420", "nqn.io"),
                "transport type 9 is not one we know",
            ),
            (
                entry(trtype::TCP, 7, "1.2.3.4", "4420", "nqn.io"),
                "entry subtype 7 names no controller",
            ),
        ] {
            assert_eq!(TransportId::try_from(&e).unwrap_err().to_string(), err);
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn transport_parse_display() {
        for (s, t) in [
            ("tcp", Transport::Tcp),
            ("rdma", Transport::Rdma),
            ("fc", Transport::Fc),
            ("loop", Transport::Loop),
        ] {
            assert_eq!(s.parse::<Transport>(), Ok(t));
            assert_eq!(t.to_string(), s);
        }
        let err = "TCP".parse::<Transport>().unwrap_err();
        assert_eq!(err, UnknownTransport("TCP".into()));
        assert_eq!(err.to_string(), "Invalid transport TCP");
        assert!("".parse::<Transport>().is_err());
        assert!("pcie".parse::<Transport>().is_err());
    }

    #[test]
    fn trsvcid_defaulting() {
        assert_eq!(
            TransportId::new(Transport::Tcp, "1.2.3.4", "", "n").trsvcid(),
            "8009"
        );
        assert_eq!(
            TransportId::new(Transport::Tcp, "1.2.3.4", "4420", "n").trsvcid(),
            "4420"
        );
        assert_eq!(
            TransportId::new(Transport::Rdma, "1.2.3.4", "", "n").trsvcid(),
            "4420"
        );
        assert_eq!(
            TransportId::new(Transport::Rdma, "1.2.3.4", "1", "n").trsvcid(),
            "1"
        );
        assert_eq!(
            TransportId::new(Transport::Fc, "nn-1:pn-2", "4420", "n").trsvcid(),
            ""
        );
        assert_eq!(
            TransportId::new(Transport::Loop, "", "8009", "n").trsvcid(),
            ""
        );
    }

    #[test]
    fn discovery_constructor_defaults_nqn() {
        let t = TransportId::new_discovery(Transport::Tcp, "10.0.0.1", "", "");
        assert_eq!(t.subsysnqn(), WELL_KNOWN_DISC_NQN);
        assert!(t.is_well_known_discovery());
        assert_eq!(t.trsvcid(), "8009");
        let t = TransportId::new_discovery(Transport::Tcp, "10.0.0.1", "", "nqn.x:cdc");
        assert_eq!(t.subsysnqn(), "nqn.x:cdc");
        assert!(!t.is_well_known_discovery());
    }

    #[test]
    fn display_form() {
        let t = TransportId::new(Transport::Tcp, "10.10.10.10", "", "");
        assert_eq!(t.to_string(), "(tcp, 10.10.10.10, 8009)");
        let t = TransportId::new(Transport::Tcp, "10.10.10.10", "", "nqn.a")
            .with_host_traddr("1.2.3.4")
            .with_host_iface("wlp0s20f3")
            .with_host_nqn("nqn.host");
        assert_eq!(
            t.to_string(),
            "(tcp, 10.10.10.10, 8009, nqn.a, wlp0s20f3, 1.2.3.4)"
        );
        let t = TransportId::new(Transport::Tcp, "::1", "4420", "").with_host_traddr("::2");
        assert_eq!(t.to_string(), "(tcp, ::1, 4420, ::2)");
        let t = TransportId::new(Transport::Fc, "ABC", "x", "hello");
        assert_eq!(t.to_string(), "(fc, ABC, , hello)");
    }

    #[test]
    fn equality_is_exact_on_all_seven_fields() {
        let base = TransportId::new(Transport::Tcp, "1.2.3.4", "", "n")
            .with_host_traddr("5.6.7.8")
            .with_host_iface("eth0")
            .with_host_nqn("h");
        assert_eq!(base, base.clone());
        assert_ne!(base, base.clone().with_host_nqn("h2"));
        assert_ne!(base, base.clone().with_host_iface(""));
        assert_ne!(base, base.clone().with_host_traddr("::ffff:5.6.7.8"));
        let other = TransportId::new(Transport::Tcp, "01.2.3.4", "", "n");
        assert_ne!(other.traddr(), base.traddr());
        let mut set = std::collections::HashSet::new();
        set.insert(base.clone());
        assert!(set.contains(&base.clone()));
    }

    #[test]
    fn canonical_ip_forms() {
        for (input, want) in [
            ("1.2.3.4", Some("1.2.3.4")),
            ("::ffff:1.2.3.4", Some("1.2.3.4")),
            ("::FFFF:1.2.3.4", Some("1.2.3.4")),
            ("FE80::AAAA", Some("fe80::aaaa")),
            ("fe80:0:0:0:0:0:0:aaaa", Some("fe80::aaaa")),
            (
                "FE80::aaaa:BBBB:cccc:dddd",
                Some("fe80::aaaa:bbbb:cccc:dddd"),
            ),
            ("fe80::1%eth0", Some("fe80::1%eth0")),
            ("FE80::1%Eth0", Some("fe80::1%Eth0")),
            ("2001:db8:0:0:1:0:0:1", Some("2001:db8::1:0:0:1")),
            ("fe80::1%", None),
            ("fe80::1%a%b", None),
            ("1.2.3.4%eth0", None),
            ("01.2.3.4", None),
            ("[::1]", None),
            ("localhost", None),
            ("", None),
        ] {
            assert_eq!(canonical_ip(input).as_deref(), want, "input {input:?}");
        }
    }

    #[test]
    fn ip_aware_equality() {
        assert!(ip_addr_eq("::ffff:1.2.3.4", "1.2.3.4"));
        assert!(ip_addr_eq("FE80::AAAA", "fe80::aaaa"));
        assert!(!ip_addr_eq("fe80::aaaa%eth0", "fe80::aaaa"));
        assert!(ip_addr_eq("fe80::aaaa%eth0", "FE80::AAAA%eth0"));
        assert!(!ip_addr_eq("1.2.3.4", "4.3.2.1"));
        assert!(ip_addr_eq("host", "host"));
        assert!(!ip_addr_eq("host", "other"));
        assert!(!ip_addr_eq("", "1.2.3.4"));
        assert!(traddr_eq(
            Transport::Fc,
            "nn-0xAB:pn-0xCD",
            "NN-0xab:PN-0xcd"
        ));
        assert!(!traddr_eq(Transport::Tcp, "nn-0xAB", "NN-0xab"));
    }

    #[test]
    fn canonicalized_tid() {
        let t =
            TransportId::new(Transport::Tcp, "::FFFF:1.2.3.4", "", "n").with_host_traddr("FE80::1");
        let c = t.canonicalized();
        assert_eq!(c.traddr(), "1.2.3.4");
        assert_eq!(c.host_traddr(), "fe80::1");
        let f = TransportId::new(Transport::Fc, "::FFFF:1.2.3.4", "", "n");
        assert_eq!(f.canonicalized().traddr(), "::FFFF:1.2.3.4");
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

    // --- §9.5 golden cases (upstream test-udev.py) ---------------------------------------

    const T4: &str = "1.2.3.4";
    const T4_REV: &str = "4.3.2.1";
    const T6: &str = "FE80::aaaa:BBBB:cccc:dddd";
    const T6_REV: &str = "fe80::DDDD:cccc:bbbb:AAAA";

    /// Interfaces used by the golden tests: `eth1` has two IPv4 addresses so that the
    /// primary-address rule (case G vs F) is exercised with a non-primary address too.
    fn ifaces() -> InterfaceAddrs {
        InterfaceAddrs::new()
            .with("lo", [ip("127.0.0.1"), ip("::1")])
            .with(
                "eth0",
                [ip("192.168.1.50"), ip("2001:db8::50"), ip("fe80::50")],
            )
            .with("eth1", [ip("10.1.1.1"), ip("10.1.1.2"), ip("fd00::1")])
    }

    fn tid(traddr: &str, host_traddr: &str, host_iface: &str) -> TransportId {
        TransportId::new(Transport::Tcp, traddr, "8009", "hello")
            .with_host_traddr(host_traddr)
            .with_host_iface(host_iface)
    }

    fn kernel(traddr: &str, host_traddr: &str, host_iface: &str, src: &str) -> KernelConnection {
        KernelConnection {
            transport: "tcp".into(),
            traddr: traddr.into(),
            trsvcid: "8009".into(),
            subsysnqn: "hello".into(),
            host_traddr: host_traddr.into(),
            host_iface: host_iface.into(),
            host_nqn: String::new(),
            src_addr: src.into(),
        }
    }

    /// Cases 1–12 of §9.5 for one (family, source address S, interface I): candidate, expected.
    fn numbered_cases(v4: bool, s: &str, i: &str) -> Vec<(&'static str, TransportId, bool)> {
        let (t, rev) = if v4 { (T4, T4_REV) } else { (T6, T6_REV) };
        let mut transport_differs = tid(t, s, i);
        transport_differs.transport = Transport::Rdma;
        vec![
            ("1", tid(t, s, i), true),
            ("2", transport_differs, false),
            ("3", tid(rev, s, i), false),
            (
                "4",
                TransportId::new(Transport::Tcp, t, "8010", "hello")
                    .with_host_traddr(s)
                    .with_host_iface(i),
                false,
            ),
            ("5", tid(t, "255.255.255.255", i), false),
            ("6", tid(t, s, "blah"), false),
            (
                "7",
                TransportId::new(Transport::Tcp, t, "8009", "bob")
                    .with_host_traddr(s)
                    .with_host_iface(i),
                false,
            ),
            ("8", tid(t, "", i), true),
            ("9", tid(t, s, ""), true),
            ("10", tid(t, "", ""), true),
            ("11", tid(t, s, i), true),
            ("12", tid(t, "", i), true),
        ]
    }

    #[test]
    fn golden_numbered_cases_modern_and_legacy() {
        let ifs = ifaces();
        let mut checked = 0;
        for (name, addrs) in ifs.iter() {
            for a in addrs {
                let v4 = a.is_ipv4();
                let s = a.to_string();
                let t = if v4 { T4 } else { T6 };
                let modern = kernel(t, &s, name, &s);
                let legacy = kernel(t, &s, name, "");
                for (case, cand, want) in numbered_cases(v4, &s, name) {
                    assert_eq!(
                        matches_existing(&cand, &modern, &ifs),
                        want,
                        "modern case {case} {name} {s}"
                    );
                    assert_eq!(
                        matches_existing(&cand, &legacy, &ifs),
                        want,
                        "legacy case {case} {name} {s}"
                    );
                    checked += 2;
                }
            }
        }
        assert_eq!(checked, 8 * 12 * 2);
    }

    #[test]
    fn golden_kernel_transport_mismatch() {
        // Case 2 seen from the other side: a kernel transport string we do not know.
        let ifs = ifaces();
        let mut k = kernel(T4, "192.168.1.50", "eth0", "192.168.1.50");
        k.transport = "blah".into();
        assert!(!matches_existing(
            &tid(T4, "192.168.1.50", "eth0"),
            &k,
            &ifs
        ));
    }

    #[test]
    fn golden_legacy_only_cases() {
        let ifs = ifaces();
        for (name, addrs) in ifs.iter() {
            for a in addrs {
                let v4 = a.is_ipv4();
                let s = a.to_string();
                let t = if v4 { T4 } else { T6 };
                let (other, other2) = if v4 {
                    ("1.1.1.1", "1.1.1.1")
                } else {
                    ("AAAA::FFFF", "AAA::BBB")
                };
                let cases: Vec<(&str, KernelConnection, TransportId, bool)> = vec![
                    ("A.1", kernel(t, "", "", ""), tid(t, other, ""), true),
                    ("A.2", kernel(t, "", name, ""), tid(t, "", ""), true),
                    ("B", kernel(t, &s, "", ""), tid(t, other, ""), false),
                    ("C", kernel(t, &s, "", ""), tid(t, "", "blah"), false),
                    ("D", kernel(t, &s, "", ""), tid(t, "", name), true),
                    ("E", kernel(t, "", name, ""), tid(t, other, "blah"), false),
                    ("F", kernel(t, "", name, ""), tid(t, other2, ""), false),
                ];
                for (case, k, cand, want) in cases {
                    assert_eq!(
                        matches_existing(&cand, &k, &ifs),
                        want,
                        "legacy {case} {name} {s}"
                    );
                }
                // G: the interface's primary address of that family matches, any other of its
                // addresses does not (the kernel used the primary one).
                let primary = ifs.primary_address(name, v4).map(|p| p.to_string());
                let want = primary.as_deref() == Some(s.as_str());
                let k = kernel(t, "", name, "");
                assert_eq!(
                    matches_existing(&tid(t, &s, ""), &k, &ifs),
                    want,
                    "legacy G {name} {s}"
                );
            }
        }
        // G with an interface lacking an address of the family: skipped → match.
        let k = kernel(T6, "", "v4only", "");
        let ifs = InterfaceAddrs::new().with("v4only", [ip("10.0.0.1")]);
        assert!(matches_existing(&tid(T6, "fe80::9", ""), &k, &ifs));
    }

    #[test]
    fn golden_fc_and_rdma() {
        let ifs = ifaces();
        let fc_kernel = KernelConnection {
            transport: "fc".into(),
            traddr: "ABC".into(),
            trsvcid: String::new(),
            subsysnqn: "hello".into(),
            host_traddr: "AAA::BBBB".into(),
            ..Default::default()
        };
        let fc = |h: &str| TransportId::new(Transport::Fc, "ABC", "", "hello").with_host_traddr(h);
        assert!(matches_existing(&fc("AAA::BBBB"), &fc_kernel, &ifs), "FC-1");
        assert!(
            !matches_existing(&fc("BBBB::AAA"), &fc_kernel, &ifs),
            "FC-2"
        );
        assert!(
            matches_existing(&fc("aaa::bbbb"), &fc_kernel, &ifs),
            "FC case-insensitive"
        );
        assert!(
            !matches_existing(&fc(""), &fc_kernel, &ifs),
            "FC host-traddr mandatory"
        );
        let fc_lower =
            TransportId::new(Transport::Fc, "abc", "", "hello").with_host_traddr("AAA::BBBB");
        assert!(
            matches_existing(&fc_lower, &fc_kernel, &ifs),
            "FC traddr case-insensitive"
        );

        let rdma_kernel = KernelConnection {
            transport: "rdma".into(),
            traddr: "2.3.4.5".into(),
            trsvcid: "4444".into(),
            subsysnqn: "hello".into(),
            host_traddr: "5.4.3.2".into(),
            ..Default::default()
        };
        let rdma = |h: &str| {
            TransportId::new(Transport::Rdma, "2.3.4.5", "4444", "hello").with_host_traddr(h)
        };
        assert!(
            matches_existing(&rdma("5.4.3.2"), &rdma_kernel, &ifs),
            "RDMA-1"
        );
        assert!(
            !matches_existing(&rdma("5.5.6.6"), &rdma_kernel, &ifs),
            "RDMA-2"
        );
        assert!(matches_existing(&rdma(""), &rdma_kernel, &ifs), "RDMA-3");
        assert!(
            matches_existing(&rdma("::ffff:5.4.3.2"), &rdma_kernel, &ifs),
            "RDMA mapped"
        );
    }

    #[test]
    fn well_known_nqn_matches_unique_kernel_nqn_and_host_nqn_is_exact() {
        let ifs = ifaces();
        let k = KernelConnection {
            transport: "tcp".into(),
            traddr: "10.0.0.9".into(),
            trsvcid: "8009".into(),
            subsysnqn: "nqn.vendor:cdc".into(),
            host_nqn: "nqn.host".into(),
            ..Default::default()
        };
        let dc = TransportId::new_discovery(Transport::Tcp, "10.0.0.9", "", "")
            .with_host_nqn("nqn.host");
        assert!(matches_existing(&dc, &k, &ifs));
        assert!(!matches_existing(
            &dc.clone().with_host_nqn("nqn.other"),
            &k,
            &ifs
        ));
        let io =
            TransportId::new(Transport::Tcp, "10.0.0.9", "", "nqn.other").with_host_nqn("nqn.host");
        assert!(!matches_existing(&io, &k, &ifs));
        let mapped = TransportId::new_discovery(Transport::Tcp, "::ffff:10.0.0.9", "", "")
            .with_host_nqn("nqn.host");
        assert!(matches_existing(&mapped, &k, &ifs));
        // …but the step-1 pre-filter compares exact strings.
        assert!(is_candidate_device(&dc, &k));
        assert!(!is_candidate_device(&mapped, &k));
    }
}
