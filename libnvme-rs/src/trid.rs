//! Transport identities (compat spec §1.4, §4 "TID", §4.12).
//!
//! A [`TransportId`] names one controller connection: transport, target address and port,
//! subsystem NQN, and the host side (source address, interface, host NQN). Two identities are
//! equal iff all seven strings are equal (exact, no IP normalisation), as upstream nvme-stas.
//!
//! IP literals are parsed and compared here ([`IpLiteral`], [`ip_addr_eq`], [`traddr_eq`]);
//! whether an existing kernel connection can be adopted for an identity (§4.12) is decided in
//! [`crate::kernel::adopt`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

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
///
/// The fields are shared: a daemon holds each identity in several places (its tables, the
/// task driving the controller, the controller itself), and a clone is one reference count,
/// not seven strings.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId(Arc<Fields>);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Fields {
    transport: Transport,
    traddr: String,
    trsvcid: String,
    subsysnqn: String,
    host_traddr: String,
    host_iface: String,
    host_nqn: String,
}

impl fmt::Debug for TransportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &*self.0;
        f.debug_struct("TransportId")
            .field("transport", &t.transport)
            .field("traddr", &t.traddr)
            .field("trsvcid", &t.trsvcid)
            .field("subsysnqn", &t.subsysnqn)
            .field("host_traddr", &t.host_traddr)
            .field("host_iface", &t.host_iface)
            .field("host_nqn", &t.host_nqn)
            .finish()
    }
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
        TransportId(Arc::new(Fields {
            transport,
            traddr: traddr.to_owned(),
            trsvcid: trsvcid.to_owned(),
            subsysnqn: subsysnqn.to_owned(),
            host_traddr: String::new(),
            host_iface: String::new(),
            host_nqn: String::new(),
        }))
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
        Arc::make_mut(&mut self.0).host_traddr = host_traddr.to_owned();
        self
    }

    /// Sets the host interface. Callers honouring `ignore-iface=true` pass `""`.
    #[must_use]
    pub fn with_host_iface(mut self, host_iface: &str) -> Self {
        Arc::make_mut(&mut self.0).host_iface = host_iface.to_owned();
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
        Arc::make_mut(&mut self.0).host_nqn = host_nqn.to_owned();
        self
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.0.transport
    }
    /// Target address.
    pub fn traddr(&self) -> &str {
        &self.0.traddr
    }
    /// Target port (after defaulting).
    pub fn trsvcid(&self) -> &str {
        &self.0.trsvcid
    }
    /// Subsystem NQN.
    pub fn subsysnqn(&self) -> &str {
        &self.0.subsysnqn
    }
    /// Host source address.
    pub fn host_traddr(&self) -> &str {
        &self.0.host_traddr
    }
    /// Host interface.
    pub fn host_iface(&self) -> &str {
        &self.0.host_iface
    }
    /// Host NQN of the identity.
    pub fn host_nqn(&self) -> &str {
        &self.0.host_nqn
    }

    /// Whether the subsystem NQN is the well-known discovery NQN.
    pub fn is_well_known_discovery(&self) -> bool {
        self.0.subsysnqn == WELL_KNOWN_DISC_NQN
    }

    /// A copy whose `traddr` and `host_traddr` are in canonical IP form (see [`canonical_ip`])
    /// when they are IP literals of an IP transport; other values are kept verbatim.
    #[must_use]
    pub fn canonicalized(&self) -> Self {
        let mut out = self.clone();
        if self.0.transport.is_ip() {
            if let Some(c) = canonical_ip(&self.0.traddr) {
                Arc::make_mut(&mut out.0).traddr = c;
            }
            if let Some(c) = canonical_ip(&self.0.host_traddr) {
                Arc::make_mut(&mut out.0).host_traddr = c;
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
        write!(
            f,
            "({}, {}, {}",
            self.0.transport, self.0.traddr, self.0.trsvcid
        )?;
        for part in [&self.0.subsysnqn, &self.0.host_iface, &self.0.host_traddr] {
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
}
