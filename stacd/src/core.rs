//! stacd's decisions as pure functions (compat §4.10): which I/O controllers should exist,
//! which go and whether their kernel connection is kept, and the NCC retry rules. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use libnvme_rs::kernel::adopt::{InterfaceAddrs, KernelConnection, matches_existing};
use libnvme_rs::trid::{Transport, TransportId};
pub use staslib::dlpe::answer::ReportingDc;
use staslib::dlpe::{self, Packed};

/// The IOCs the DCs' log pages name (§4.10-2): every entry of subtype `nvme` with a
/// transport we know, fields that cannot alter a fabrics option string, and the host side of
/// its DC. Duplicates collapse; the last entry wins, as upstream.
pub fn discovered(pages: Vec<(ReportingDc, Vec<Packed>)>) -> BTreeMap<TransportId, Packed> {
    let mut out = BTreeMap::new();
    for (dc, entries) in pages {
        for e in entries {
            if e.get("subtype") != Some("nvme") {
                continue;
            }
            let Ok(tid) = dlpe::tid_of(|k| e.get(k)) else {
                continue;
            };
            let tid = tid
                .with_host_traddr(&dc.host_traddr)
                .with_host_iface(&dc.host_iface)
                .with_host_nqn(&dc.host_nqn);
            out.insert(tid, e);
        }
    }
    out
}

/// What stacd knows of the DCs' log pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPages {
    /// stafd answered: these are all the IOCs the DCs report.
    Known(BTreeSet<TransportId>),
    /// stafd is not on the bus or did not answer: nothing is known (deliberate fix 7:
    /// unlike upstream this is not "no log pages", so no discovered IOC is removed).
    Unknown,
}

/// Where an IOC comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A `controller=` entry.
    Configured,
    /// A log page entry.
    Discovered,
}

/// One reconcile's decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// New IOC objects.
    pub add: Vec<TransportId>,
    /// IOC objects to drop, each with whether its kernel connection is kept.
    pub remove: Vec<(TransportId, bool)>,
}

/// §4.10 steps 3–5. `configured` and the known discovered set are already filtered
/// (exclusions, ip-family); `current` maps each IOC object to where it came from;
/// `keep_on_removal` is the `disconnect-scope` / `disconnect-trtypes` rule.
pub fn reconcile(
    configured: &BTreeSet<TransportId>,
    discovered: &LogPages,
    current: &BTreeMap<TransportId, Source>,
    keep_on_removal: impl Fn(Transport) -> bool,
) -> Plan {
    let wanted = |tid: &TransportId| {
        configured.contains(tid)
            || match discovered {
                LogPages::Known(d) => d.contains(tid),
                LogPages::Unknown => false,
            }
    };
    // Fix 7: while the log pages are unknown, a discovered IOC stays.
    let kept_while_unknown =
        |source: &Source| *source == Source::Discovered && *discovered == LogPages::Unknown;
    let remove = current
        .iter()
        .filter(|(tid, source)| !(wanted(tid) || kept_while_unknown(source)))
        .map(|(tid, _)| (tid.clone(), keep_on_removal(tid.transport())))
        .collect();
    let mut add: Vec<TransportId> = configured
        .iter()
        .filter(|t| !current.contains_key(*t))
        .cloned()
        .collect();
    if let LogPages::Known(d) = discovered {
        add.extend(
            d.iter()
                .filter(|t| !current.contains_key(*t) && !configured.contains(*t))
                .cloned(),
        );
    }
    Plan { add, remove }
}

/// §4.11: the kernel I/O controllers a connection audit disconnects — of a transport the
/// audit covers (`covered`), not bound to one of stacd's IOCs (`ours`), and not one that any
/// wanted IOC would adopt. Deliberate difference from upstream (§4.11-5): a connection is
/// compared with the wanted IOCs by the adoption rules, not by an identity rebuilt from
/// sysfs, so a connection whose kernel identity carries a host-iface the log page entry
/// lacks is kept, not torn down and remade.
pub fn audit_victims(
    kernel: &[(String, KernelConnection)],
    ifaces: &InterfaceAddrs,
    wanted: &BTreeSet<TransportId>,
    ours: &BTreeSet<String>,
    covered: impl Fn(Transport) -> bool,
) -> Vec<String> {
    kernel
        .iter()
        .filter(|(device, conn)| {
            conn.transport.parse::<Transport>().is_ok_and(&covered)
                && !ours.contains(device)
                && !wanted.iter().any(|t| matches_existing(t, conn, ifaces))
        })
        .map(|(device, _)| device.clone())
        .collect()
}

/// `eflags` bit 2: Not Connected to CDC.
pub fn ncc(dlpe: Option<&Packed>) -> bool {
    staslib::dlpe::eflags_ncc(dlpe.and_then(|d| d.get("eflags")))
}

/// §4.10-8: whether an IOC stops retrying. With NCC set and `connect-attempts-on-ncc` = N > 0
/// it stops once `attempts` ≥ N (N = 1 behaves as 2); N = 0 never stops.
pub fn stop_retrying(attempts: u32, ncc: bool, attempts_on_ncc: i64) -> bool {
    if !ncc || attempts_on_ncc <= 0 {
        return false;
    }
    let limit = attempts_on_ncc.max(2);
    i64::from(attempts) >= limit
}

/// §4.10-9: an NCC 1 → 0 transition of an unconnected IOC resets its attempts and connects at
/// once.
pub fn ncc_cleared(was: bool, now: bool, connected: bool) -> bool {
    was && !now && !connected
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "nqn.host";

    fn ioc(addr: &str, nqn: &str) -> TransportId {
        TransportId::new(Transport::Tcp, addr, "4420", nqn).with_host_nqn(H)
    }

    fn entry(subtype: &str, trtype: &str, traddr: &str, subnqn: &str, eflags: &str) -> Packed {
        Packed::new(&vec![
            ("trtype", trtype.into()),
            ("adrfam", "ipv4".into()),
            ("traddr", traddr.into()),
            ("trsvcid", "4420".into()),
            ("subnqn", subnqn.into()),
            ("subtype", subtype.into()),
            ("eflags", eflags.into()),
        ])
    }

    #[test]
    fn log_pages_to_iocs() {
        let dc = ReportingDc {
            host_traddr: "10.0.0.100".into(),
            host_iface: "eth1".into(),
            host_nqn: H.into(),
        };
        let pages = vec![(
            dc,
            vec![
                entry("nvme", "tcp", "10.0.0.1", "nqn.a", "0"),
                entry("referral", "tcp", "10.0.0.2", "nqn.disc", "0"),
                entry("discovery", "tcp", "10.0.0.3", "nqn.disc", "0"),
                entry("nvme", "walmart", "10.0.0.4", "nqn.b", "0"),
                entry("nvme", "tcp", "10.0.0.5", "nqn.c,hostnqn=x", "0"),
                entry("nvme", "tcp", "10.0.0.1", "nqn.a", "4"),
            ],
        )];
        let got = discovered(pages);
        let want = ioc("10.0.0.1", "nqn.a")
            .with_host_traddr("10.0.0.100")
            .with_host_iface("eth1");
        assert_eq!(got.keys().cloned().collect::<Vec<_>>(), vec![want.clone()]);
        // The last duplicate wins (NCC set there).
        assert!(ncc(got.get(&want)));
    }

    #[test]
    fn reconcile_table() {
        let (a, b, c) = (
            ioc("10.0.0.1", "nqn.a"),
            ioc("10.0.0.2", "nqn.b"),
            ioc("10.0.0.3", "nqn.c"),
        );
        let set = |v: &[&TransportId]| v.iter().map(|t| (*t).clone()).collect::<BTreeSet<_>>();
        let cur = |v: &[(&TransportId, Source)]| {
            v.iter()
                .map(|(t, s)| ((*t).clone(), *s))
                .collect::<BTreeMap<_, _>>()
        };
        let never_keep = |_: Transport| false;
        struct Case {
            name: &'static str,
            configured: BTreeSet<TransportId>,
            discovered: LogPages,
            current: BTreeMap<TransportId, Source>,
            add: Vec<TransportId>,
            remove: Vec<(TransportId, bool)>,
        }
        for case in [
            Case {
                name: "configured and discovered are added",
                configured: set(&[&a]),
                discovered: LogPages::Known(set(&[&b])),
                current: cur(&[]),
                add: vec![a.clone(), b.clone()],
                remove: vec![],
            },
            Case {
                name: "a withdrawn log page entry is removed",
                configured: set(&[]),
                discovered: LogPages::Known(set(&[&b])),
                current: cur(&[(&b, Source::Discovered), (&c, Source::Discovered)]),
                add: vec![],
                remove: vec![(c.clone(), false)],
            },
            Case {
                name: "stafd absent is not 'no log pages' (fix 7)",
                configured: set(&[&a]),
                discovered: LogPages::Unknown,
                current: cur(&[(&a, Source::Configured), (&b, Source::Discovered)]),
                add: vec![],
                remove: vec![],
            },
            Case {
                name: "stafd absent still removes an unconfigured controller",
                configured: set(&[]),
                discovered: LogPages::Unknown,
                current: cur(&[(&a, Source::Configured)]),
                add: vec![],
                remove: vec![(a.clone(), false)],
            },
        ] {
            let plan = reconcile(
                &case.configured,
                &case.discovered,
                &case.current,
                never_keep,
            );
            assert_eq!(plan.add, case.add, "{}", case.name);
            assert_eq!(plan.remove, case.remove, "{}", case.name);
        }
        // disconnect-scope decides whether the kernel connection is kept.
        let plan = reconcile(
            &set(&[]),
            &LogPages::Known(set(&[])),
            &cur(&[(&a, Source::Discovered)]),
            |_| true,
        );
        assert_eq!(plan.remove, vec![(a.clone(), true)]);
    }

    #[test]
    fn audit_table() {
        let conn = |dev: &str, transport: &str, traddr: &str, nqn: &str, iface: &str| {
            (
                dev.to_owned(),
                KernelConnection {
                    transport: transport.into(),
                    traddr: traddr.into(),
                    trsvcid: "4420".into(),
                    subsysnqn: nqn.into(),
                    host_iface: iface.into(),
                    host_nqn: H.into(),
                    ..Default::default()
                },
            )
        };
        let kernel = vec![
            conn("nvme1", "tcp", "10.0.0.1", "nqn.a", ""), // wanted
            conn("nvme2", "tcp", "10.0.0.2", "nqn.x", ""), // external: torn down
            conn("nvme3", "rdma", "10.0.0.3", "nqn.y", ""), // transport not covered
            conn("nvme4", "tcp", "10.0.0.4", "nqn.z", ""), // ours
            conn("nvme5", "tcp", "10.0.0.5", "nqn.e", "eth0"), // wanted, kernel has an iface
            conn("nvme6", "fc", "nn-0x1:pn-0x2", "nqn.f", ""), // fc not covered
        ];
        let wanted: BTreeSet<_> = [ioc("10.0.0.1", "nqn.a"), ioc("10.0.0.5", "nqn.e")].into();
        let ours: BTreeSet<String> = ["nvme4".to_owned()].into();
        let ifaces = InterfaceAddrs::new();
        let victims = audit_victims(&kernel, &ifaces, &wanted, &ours, |t| t == Transport::Tcp);
        assert_eq!(victims, ["nvme2"]);
        // Nothing is covered: nothing goes.
        assert!(audit_victims(&kernel, &ifaces, &wanted, &ours, |_| false).is_empty());
    }

    #[test]
    fn ncc_rules() {
        for (attempts, ncc, n, stop) in [
            (1, true, 1, false), // N = 1 behaves as 2
            (2, true, 1, true),
            (2, true, 3, false),
            (3, true, 3, true),
            (9, true, 0, false), // 0: never stop
            (9, false, 3, false),
        ] {
            assert_eq!(
                stop_retrying(attempts, ncc, n),
                stop,
                "{attempts} {ncc} {n}"
            );
        }
        assert!(ncc_cleared(true, false, false));
        assert!(!ncc_cleared(true, false, true));
        assert!(!ncc_cleared(false, false, false));
    }
}
