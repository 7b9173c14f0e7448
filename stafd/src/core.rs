//! stafd's decisions as pure functions (compat §4.2, §4.4, §4.5): which discovery
//! controllers should exist and with which origin, when to retry, what a referral is.
//! No I/O, no clocks: the adapters feed inputs in and carry the decisions out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use libnvme_rs::trid::TransportId;
use staslib::dlpe::{self, DlpeDict};

/// Where a DC came from; precedence `Configured` > `Referral` > `Discovered` (§4.4-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A `controller=` entry or the NBFT.
    Configured,
    /// A referral entry in another DC's log page.
    Referral,
    /// mDNS (TP8009).
    Discovered,
}

impl Origin {
    /// Upstream's spelling on D-Bus and in the last-known state.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Configured => "configured",
            Origin::Referral => "referral",
            Origin::Discovered => "discovered",
        }
    }

    /// Parses [`Origin::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Origin::Configured, Origin::Referral, Origin::Discovered]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// The inputs of one reconcile pass, each list already through exclusions and the
/// address / ip-family filter.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// Configured (and NBFT) DCs.
    pub configured: Vec<TransportId>,
    /// Referrals from current DCs' cached log pages.
    pub referrals: Vec<TransportId>,
    /// Reachable mDNS services.
    pub discovered: Vec<TransportId>,
    /// Candidates the filters dropped (excluded or invalid): a discovered DC among them must
    /// go even though mDNS DCs are otherwise kept (§4.4-5).
    pub filtered_out: BTreeSet<TransportId>,
    /// Discovered DCs whose zeroconf persistence ran out (§4.8-3).
    pub unresponsive: BTreeSet<TransportId>,
}

/// What a reconcile pass decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// New DC objects to create.
    pub add: Vec<TransportId>,
    /// DC objects to delete (and disconnect).
    pub remove: Vec<TransportId>,
    /// The origin of every DC that stays or is added, where one of the lists names it.
    pub origins: BTreeMap<TransportId, Origin>,
}

/// §4.4 steps 4–8: `current` maps each existing DC to its origin.
pub fn reconcile(wanted: &Wanted, current: &BTreeMap<TransportId, Origin>) -> Plan {
    let mut origins = BTreeMap::new();
    // Lowest precedence first, so higher ones overwrite.
    for (list, origin) in [
        (&wanted.discovered, Origin::Discovered),
        (&wanted.referrals, Origin::Referral),
        (&wanted.configured, Origin::Configured),
    ] {
        for tid in list {
            origins.insert(tid.clone(), origin);
        }
    }
    let must_remove =
        |tid: &TransportId| wanted.filtered_out.contains(tid) || wanted.unresponsive.contains(tid);
    let remove = current
        .iter()
        .filter(|(tid, origin)| {
            !origins.contains_key(*tid) && (**origin != Origin::Discovered || must_remove(tid))
        })
        .map(|(tid, _)| tid.clone())
        .collect();
    let add = origins
        .keys()
        .filter(|tid| !current.contains_key(*tid))
        .cloned()
        .collect();
    Plan {
        add,
        remove,
        origins,
    }
}

/// The referrals in a DC's log page (§4.4-3): transport, address, port and NQN from the
/// entry, host side inherited from the referring DC. Entries that are not referrals, use a
/// transport we do not know, or fail the option-string check are skipped.
pub fn referrals(dc: &TransportId, log_pages: &[DlpeDict]) -> Vec<TransportId> {
    log_pages
        .iter()
        .filter(|d| dlpe::get(d, "subtype") == Some("referral"))
        .filter_map(|d| Some(dlpe::tid(d).ok()?.with_host_of(dc)))
        .collect()
}

/// First connect retry after one failure (§4.2-4).
pub const FIRST_RETRY: Duration = Duration::from_secs(3);
/// Connect retry period from the second failure on.
pub const LATER_RETRY: Duration = Duration::from_secs(60);
/// Get Log Page retry period after a failure (§4.5-4).
pub const LOG_PAGE_RETRY: Duration = Duration::from_secs(20);
/// DIM registration retry period after a transport failure (§4.5-2).
pub const REGISTER_RETRY: Duration = Duration::from_secs(5);
/// `zeroconf-connections-persistence` default: 72 hours.
pub const DEFAULT_PERSISTENCE: f64 = 259_200.0;
/// Longest reconcile soak of a burst of triggers (§4.4; upstream restarts a 1.5 s soak at
/// every trigger, see [`staslib::service::event_loop::Soak`]).
pub const RECONCILE_SOAK: Duration = Duration::from_millis(1500);

/// When to retry after `failures` consecutive failed connects (≥ 1).
pub fn connect_retry_delay(failures: u32) -> Duration {
    if failures <= 1 {
        FIRST_RETRY
    } else {
        LATER_RETRY
    }
}

/// Whether a failure is logged at ERROR: upstream logs the second one only (§4.2-4).
pub fn log_connect_failure(failures: u32) -> bool {
    failures == 2
}

/// §4.5-3: PLEO is considered when enabled and the DC is not a CDC (DDC or not reported).
pub fn wants_pleo(pleo_enabled: bool, dctype: u8) -> bool {
    pleo_enabled && dctype != libnvme_rs::spec::identify::dctype::CDC
}

/// The LSP for Get Discovery Log Page from the LID-specific bits of LID 0x70 in Supported
/// Log Pages (bit 1: PLEOS).
pub fn lsp_from_support(lid_specific: u16) -> u8 {
    if lid_specific & 0x2 != 0 {
        libnvme_rs::spec::disclog::lsp::PLEO
    } else {
        0
    }
}

/// What the zeroconf aging (§4.8) does to a discovered DC in one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aging {
    /// Nothing changes.
    Unchanged,
    /// Reported again or connected again: the loss is forgotten.
    Clear,
    /// Lost: remove it after this long unless restored.
    Arm(Duration),
    /// Lost, but persistence is −1: never removed, retried forever.
    Forever,
}

/// How a DC's connection is kept (nvme-stas 3.x `persistent`, spec 3.x §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Always parked between polls (`persistent = no`).
    No,
    /// Parked when the DC does not announce EPCSD (`auto`, 3.x's default).
    Auto,
    /// Never parked (`force`; what 2.x always did, and our choice on the 2.x layout).
    Force,
}

/// `epcsd-poll-interval-minutes` default: a parked DC is polled every 15 minutes.
pub const DEFAULT_EPCSD_POLL: Duration = Duration::from_secs(15 * 60);

/// EPCSD as nvme-stas 3.x takes it: EFLAGS bit 1 of the DC's own entry (subtype 3) in its
/// log page; without one, of the referral entry that led to it; without either, clear.
pub fn epcsd(self_eflags: Option<u16>, referral_eflags: Option<u16>) -> bool {
    self_eflags
        .or(referral_eflags)
        .is_some_and(|f| f & libnvme_rs::spec::disclog::eflags::EPCSD != 0)
}

/// Whether the DC's connection is dropped until the next poll.
pub fn parks(mode: Persistence, epcsd: bool) -> bool {
    match mode {
        Persistence::Force => false,
        Persistence::Auto => !epcsd,
        Persistence::No => true,
    }
}

/// EFLAGS of the referral entry, in any known DC's cached log page, that names `tid`.
pub fn referral_eflags<'a>(
    tid: &TransportId,
    pages: impl IntoIterator<Item = (&'a TransportId, &'a [DlpeDict])>,
) -> Option<u16> {
    pages.into_iter().find_map(|(dc, entries)| {
        entries
            .iter()
            .filter(|d| dlpe::get(d, "subtype") == Some("referral"))
            .find(|d| dlpe::tid(d).is_ok_and(|t| &t.with_host_of(dc) == tid))
            .and_then(|d| dlpe::get(d, "eflags")?.parse().ok())
    })
}

/// §4.8 for one DC of origin `discovered`. A DC is lost when Avahi does not report it and
/// either it is not connected or its service said goodbye (upstream #378: a goodbye starts
/// the removal even while the connection is up). `armed` says a loss is already recorded.
pub fn aging(
    reported: bool,
    connected: bool,
    goodbye: bool,
    persistence_secs: f64,
    armed: bool,
) -> Aging {
    let lost = !reported && (!connected || goodbye);
    match (lost, armed) {
        (false, true) => Aging::Clear,
        (false, false) | (true, true) => Aging::Unchanged,
        (true, false) if persistence_secs < 0.0 => Aging::Forever,
        (true, false) => Aging::Arm(Duration::from_secs_f64(persistence_secs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epcsd_order_and_parking() {
        const ON: u16 = libnvme_rs::spec::disclog::eflags::EPCSD;
        // The self entry wins over the referral entry; neither: clear.
        for (own, referral, want) in [
            (Some(ON), None, true),
            (Some(0), Some(ON), false),
            (None, Some(ON), true),
            (None, Some(0x0004), false),
            (None, None, false),
            (Some(ON | 0x0004), Some(0), true),
        ] {
            assert_eq!(epcsd(own, referral), want, "{own:?} {referral:?}");
        }
        for (mode, epcsd, want) in [
            (Persistence::Force, false, false),
            (Persistence::Force, true, false),
            (Persistence::Auto, false, true),
            (Persistence::Auto, true, false),
            (Persistence::No, true, true),
            (Persistence::No, false, true),
        ] {
            assert_eq!(parks(mode, epcsd), want, "{mode:?} {epcsd}");
        }
    }
    use libnvme_rs::trid::Transport;

    fn dc(addr: &str) -> TransportId {
        TransportId::new_discovery(Transport::Tcp, addr, "", "").with_host_nqn("nqn.host")
    }

    fn set(tids: &[&TransportId]) -> BTreeSet<TransportId> {
        tids.iter().map(|t| (*t).clone()).collect()
    }

    #[test]
    fn reconcile_table() {
        let (a, b, c, m) = (
            dc("10.0.0.1"),
            dc("10.0.0.2"),
            dc("10.0.0.3"),
            dc("10.0.0.4"),
        );
        struct Case {
            name: &'static str,
            wanted: Wanted,
            current: Vec<(TransportId, Origin)>,
            add: Vec<TransportId>,
            remove: Vec<TransportId>,
            origin_of_a: Option<Origin>,
        }
        let cases = vec![
            Case {
                name: "start: configured DC is added",
                wanted: Wanted {
                    configured: vec![a.clone()],
                    ..Default::default()
                },
                current: vec![],
                add: vec![a.clone()],
                remove: vec![],
                origin_of_a: Some(Origin::Configured),
            },
            Case {
                name: "configured beats referral beats discovered",
                wanted: Wanted {
                    configured: vec![a.clone()],
                    referrals: vec![a.clone(), b.clone()],
                    discovered: vec![a.clone(), b.clone(), c.clone()],
                    ..Default::default()
                },
                current: vec![(a.clone(), Origin::Discovered)],
                add: vec![b.clone(), c.clone()],
                remove: vec![],
                origin_of_a: Some(Origin::Configured),
            },
            Case {
                name: "a referral that went away is removed",
                wanted: Wanted {
                    configured: vec![a.clone()],
                    ..Default::default()
                },
                current: vec![
                    (a.clone(), Origin::Configured),
                    (b.clone(), Origin::Referral),
                ],
                add: vec![],
                remove: vec![b.clone()],
                origin_of_a: Some(Origin::Configured),
            },
            Case {
                name: "an mDNS DC that merely disappeared from mDNS is kept",
                wanted: Wanted::default(),
                current: vec![(m.clone(), Origin::Discovered)],
                add: vec![],
                remove: vec![],
                origin_of_a: None,
            },
            Case {
                name: "an excluded mDNS DC is removed",
                wanted: Wanted {
                    filtered_out: set(&[&m]),
                    ..Default::default()
                },
                current: vec![(m.clone(), Origin::Discovered)],
                add: vec![],
                remove: vec![m.clone()],
                origin_of_a: None,
            },
            Case {
                name: "an unresponsive mDNS DC is removed (aging)",
                wanted: Wanted {
                    unresponsive: set(&[&m]),
                    ..Default::default()
                },
                current: vec![(m.clone(), Origin::Discovered)],
                add: vec![],
                remove: vec![m.clone()],
                origin_of_a: None,
            },
            Case {
                name: "a configured DC removed from the file goes",
                wanted: Wanted::default(),
                current: vec![(a.clone(), Origin::Configured)],
                add: vec![],
                remove: vec![a.clone()],
                origin_of_a: None,
            },
            Case {
                name: "a DC both configured and discovered keeps existing when unconfigured",
                wanted: Wanted {
                    discovered: vec![a.clone()],
                    ..Default::default()
                },
                current: vec![(a.clone(), Origin::Configured)],
                add: vec![],
                remove: vec![],
                origin_of_a: Some(Origin::Discovered),
            },
        ];
        for case in cases {
            let current = case.current.into_iter().collect();
            let plan = reconcile(&case.wanted, &current);
            assert_eq!(plan.add, case.add, "{}", case.name);
            assert_eq!(plan.remove, case.remove, "{}", case.name);
            assert_eq!(
                plan.origins.get(&a).copied(),
                case.origin_of_a,
                "{}",
                case.name
            );
        }
    }

    fn entry(subtype: &str, trtype: &str, traddr: &str, trsvcid: &str, subnqn: &str) -> DlpeDict {
        vec![
            ("trtype", trtype.to_owned()),
            ("adrfam", "ipv4".to_owned()),
            ("traddr", traddr.to_owned()),
            ("trsvcid", trsvcid.to_owned()),
            ("subnqn", subnqn.to_owned()),
            ("subtype", subtype.to_owned()),
        ]
    }

    #[test]
    fn referrals_inherit_the_host_side_and_skip_the_rest() {
        let parent = TransportId::new_discovery(Transport::Tcp, "10.0.0.1", "", "")
            .with_host_traddr("10.0.0.100")
            .with_host_iface("eth1")
            .with_host_nqn("nqn.host");
        let wk = libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
        let pages = vec![
            entry("referral", "tcp", "10.0.0.2", "8009", wk),
            entry("nvme", "tcp", "10.0.0.3", "4420", "nqn.io"),
            entry("discovery", "tcp", "10.0.0.1", "8009", wk),
            entry("referral", "rdma", "10.0.0.5", "", "nqn.unique"),
            entry("referral", "walmart", "10.0.0.6", "8009", wk),
            entry("referral", "tcp", "10.0.0.7,hostnqn=x", "8009", wk),
        ];
        let got = referrals(&parent, &pages);
        let want = vec![
            TransportId::new_discovery(Transport::Tcp, "10.0.0.2", "8009", wk)
                .with_host_traddr("10.0.0.100")
                .with_host_iface("eth1")
                .with_host_nqn("nqn.host"),
            TransportId::new_discovery(Transport::Rdma, "10.0.0.5", "4420", "nqn.unique")
                .with_host_traddr("10.0.0.100")
                .with_host_iface("eth1")
                .with_host_nqn("nqn.host"),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn pleo_table() {
        use libnvme_rs::spec::identify::dctype::{CDC, DDC, NOT_REPORTED};
        for (enabled, dctype, want) in [
            (true, DDC, true),
            (true, NOT_REPORTED, true),
            (true, CDC, false),
            (false, DDC, false),
        ] {
            assert_eq!(wants_pleo(enabled, dctype), want, "{enabled} {dctype}");
        }
        assert_eq!(lsp_from_support(0b010), 2);
        assert_eq!(lsp_from_support(0b101), 0);
        assert_eq!(lsp_from_support(0), 0);
    }

    #[test]
    fn aging_table() {
        let h72 = 259_200.0;
        for (reported, connected, goodbye, persistence, armed, want) in [
            (true, true, false, h72, false, Aging::Unchanged),
            (true, false, false, h72, true, Aging::Clear),
            (false, true, false, h72, false, Aging::Unchanged), // Avahi restart: kept
            (
                false,
                true,
                true,
                h72,
                false,
                Aging::Arm(Duration::from_secs(259_200)),
            ), // #378
            (
                false,
                false,
                false,
                2.0,
                false,
                Aging::Arm(Duration::from_secs(2)),
            ),
            (false, false, false, 0.0, false, Aging::Arm(Duration::ZERO)),
            (false, false, false, -1.0, false, Aging::Forever),
            (false, false, false, 2.0, true, Aging::Unchanged),
            (false, true, false, 2.0, true, Aging::Clear), // connected again
        ] {
            assert_eq!(
                aging(reported, connected, goodbye, persistence, armed),
                want,
                "{reported} {connected} {goodbye} {persistence} {armed}"
            );
        }
    }

    #[test]
    fn retry_schedule_is_3s_then_60s() {
        let got: Vec<u64> = (1..=4).map(|n| connect_retry_delay(n).as_secs()).collect();
        assert_eq!(got, [3, 60, 60, 60]);
        let logged: Vec<bool> = (1..=4).map(log_connect_failure).collect();
        assert_eq!(logged, [false, true, false, false]);
    }
}
