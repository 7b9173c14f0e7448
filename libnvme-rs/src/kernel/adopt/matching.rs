//! Whether an existing kernel connection is the controller a [`TransportId`] names (compat
//! §4.12 steps 1 and 4). The golden cases are those of upstream `test-udev.py` (§9.5);
//! interface data comes in through [`InterfaceAddrs`] so tests fake it.

use std::net::IpAddr;

use super::interfaces::InterfaceAddrs;
use crate::kernel::sysfs::ControllerKey;
use crate::spec::WELL_KNOWN_DISC_NQN;
use crate::trid::{IpLiteral, Transport, TransportId, ip_addr_eq, traddr_eq};

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
    same_port(
        candidate,
        &kernel.transport,
        &kernel.traddr,
        &kernel.trsvcid,
    )
}

fn same_port(candidate: &TransportId, transport: &str, traddr: &str, trsvcid: &str) -> bool {
    candidate.transport().as_str() == transport
        && candidate.traddr() == traddr
        && candidate.trsvcid() == trsvcid
}

/// [`is_candidate_device`] and [`same_host_and_subsystem`] on the attributes cached per
/// controller; a key without `subsysnqn` (not yet identified) is not ruled out.
pub fn key_may_match(candidate: &TransportId, key: &ControllerKey) -> bool {
    same_port(candidate, &key.transport, &key.traddr, &key.trsvcid)
        && (key.subsysnqn.is_empty() || same_host_and_nqn(candidate, &key.host_nqn, &key.subsysnqn))
}

/// The host NQN rule and the subsystem NQN rule of [`matches_existing`]: equal host NQNs,
/// and the candidate's subsysnqn the well-known discovery NQN (TP8013 DCs may answer with a
/// unique NQN) or equal to the kernel's.
fn same_host_and_subsystem(candidate: &TransportId, kernel: &KernelConnection) -> bool {
    same_host_and_nqn(candidate, &kernel.host_nqn, &kernel.subsysnqn)
}

fn same_host_and_nqn(candidate: &TransportId, host_nqn: &str, subsysnqn: &str) -> bool {
    candidate.host_nqn() == host_nqn
        && (candidate.subsysnqn() == WELL_KNOWN_DISC_NQN || candidate.subsysnqn() == subsysnqn)
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
    if candidate.transport().as_str() != kernel.transport
        || candidate.trsvcid() != kernel.trsvcid
        || !same_host_and_subsystem(candidate, kernel)
    {
        return false;
    }
    if !traddr_eq(candidate.transport(), candidate.traddr(), &kernel.traddr) {
        return false;
    }
    match candidate.transport() {
        Transport::Tcp => {
            if candidate.host_traddr().is_empty() && candidate.host_iface().is_empty() {
                return true;
            }
            match IpLiteral::parse(&kernel.src_addr) {
                Some(src) => tcp_matches_modern(candidate, &src, ifaces),
                None => tcp_matches_legacy(candidate, kernel, ifaces),
            }
        }
        Transport::Fc => {
            candidate.host_traddr().to_lowercase() == kernel.host_traddr.to_lowercase()
        }
        Transport::Rdma => {
            candidate.host_traddr().is_empty()
                || ip_addr_eq(candidate.host_traddr(), &kernel.host_traddr)
        }
        Transport::Loop => true,
    }
}

/// Kernel ≥ 6.1: `src_addr` is the real source address of the connection.
fn tcp_matches_modern(candidate: &TransportId, src: &IpLiteral, ifaces: &InterfaceAddrs) -> bool {
    if !candidate.host_traddr().is_empty()
        && IpLiteral::parse(candidate.host_traddr()).as_ref() != Some(src)
    {
        return false;
    }
    if !candidate.host_iface().is_empty() {
        let owner = unscoped(src).and_then(|a| ifaces.interface_of(&a));
        if owner != Some(candidate.host_iface()) {
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

    if !candidate.host_traddr().is_empty() {
        let wanted = IpLiteral::parse(candidate.host_traddr());
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

    if !candidate.host_iface().is_empty() {
        if !kernel.host_iface.is_empty() {
            if candidate.host_iface() != kernel.host_iface {
                return false;
            }
        } else if let Some(k) = &kernel_host_traddr {
            let owner = unscoped(k).and_then(|a| ifaces.interface_of(&a));
            if owner != Some(candidate.host_iface()) {
                return false;
            }
        }
    }
    true
}

/// A scoped literal never equals an interface address (which carries no scope), mirroring
/// Python; unscoped literals compare by address.
fn unscoped(ip: &IpLiteral) -> Option<IpAddr> {
    ip.scope.is_none().then_some(ip.addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
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
        let transport_differs = TransportId::new(Transport::Rdma, t, "8009", "hello")
            .with_host_traddr(s)
            .with_host_iface(i);
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

    #[test]
    fn cached_keys_rule_out_as_the_full_rules_do() {
        let key = ControllerKey {
            transport: "tcp".into(),
            traddr: "10.0.0.9".into(),
            trsvcid: "4420".into(),
            subsysnqn: "nqn.io.1".into(),
            host_nqn: "nqn.host".into(),
        };
        let io = |nqn: &str| {
            TransportId::new(Transport::Tcp, "10.0.0.9", "4420", nqn).with_host_nqn("nqn.host")
        };
        assert!(key_may_match(&io("nqn.io.1"), &key));
        assert!(!key_may_match(&io("nqn.io.2"), &key));
        assert!(!key_may_match(
            &io("nqn.io.1").with_host_nqn("nqn.other"),
            &key
        ));
        assert!(!key_may_match(
            &TransportId::new(Transport::Tcp, "10.0.0.8", "4420", "nqn.io.1")
                .with_host_nqn("nqn.host"),
            &key
        ));
        // Not identified yet: only the full read can tell.
        let connecting = ControllerKey {
            subsysnqn: String::new(),
            ..key.clone()
        };
        assert!(key_may_match(&io("nqn.io.2"), &connecting));
        // A DC asked for by the well-known NQN may hold a unique one.
        let dc = TransportId::new_discovery(Transport::Tcp, "10.0.0.9", "4420", "")
            .with_host_nqn("nqn.host");
        assert!(key_may_match(&dc, &key));
    }
}
