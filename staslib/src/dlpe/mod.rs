//! Discovery log page entries as upstream caches and serves them over D-Bus: ordered
//! string dictionaries (compat §2.5), plus the TP8010 support and NCC helpers.

use libnvme_rs::spec::disclog::DiscoveryLogEntry;

pub mod answer;
mod packed;
pub use packed::Packed;

/// A DLPE dictionary: upstream's keys in upstream's order, every value a string.
pub type DlpeDict = Vec<(&'static str, String)>;

/// Every key a DLPE dictionary may have, in upstream's order (`tsas` only for tcp/rdma).
pub const KEYS: [&str; 12] = [
    "trtype", "adrfam", "traddr", "trsvcid", "subnqn", "subtype", "treq", "tsas", "portid",
    "cntlid", "asqsz", "eflags",
];

/// A dictionary read back from outside (JSON from stafd or a state file): only the known
/// keys are kept, in upstream's order; values must be strings; nvme-stas 3.x's words for
/// `subtype` and `treq` are read as 2.x's.
pub fn from_pairs<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> DlpeDict {
    KEYS.iter()
        .filter_map(|k| lookup(k).map(|v| (*k, crate::dbus::dlpe_value_as_v2(k, v))))
        .collect()
}

fn named(value: u8, names: &[(u8, &str)]) -> String {
    names
        .iter()
        .find(|(v, _)| *v == value)
        .map_or_else(|| value.to_string(), |(_, n)| (*n).to_owned())
}

/// Converts a decoded entry into upstream's dictionary (`tsas` only for tcp and rdma).
pub fn dlpe_dict(e: &DiscoveryLogEntry) -> DlpeDict {
    let mut d: DlpeDict = vec![
        (
            "trtype",
            named(
                e.trtype,
                &[
                    (0, "unspecified"),
                    (1, "rdma"),
                    (2, "fc"),
                    (3, "tcp"),
                    (254, "loop"),
                ],
            ),
        ),
        (
            "adrfam",
            named(
                e.adrfam,
                &[
                    (0, "pci"),
                    (1, "ipv4"),
                    (2, "ipv6"),
                    (3, "infiniband"),
                    (4, "fc"),
                ],
            ),
        ),
        ("traddr", e.traddr.trim().to_owned()),
        ("trsvcid", e.trsvcid.trim().to_owned()),
        ("subnqn", e.subnqn.trim().to_owned()),
        (
            "subtype",
            named(e.subtype, &[(1, "referral"), (2, "nvme"), (3, "discovery")]),
        ),
        (
            "treq",
            named(
                e.treq,
                &[
                    (0, "not specified"),
                    (1, "required"),
                    (2, "not required"),
                    (4, "disable sqflow"),
                ],
            ),
        ),
    ];
    match e.trtype {
        3 => {
            let sectype = named(e.tsas[0], &[(0, "none"), (1, "tls"), (2, "tls1.3")]);
            let sectype = if e.tsas[0] > 2 {
                "reserved".to_owned()
            } else {
                sectype
            };
            d.push(("tsas", format!("{{'sectype': '{sectype}'}}")));
        }
        1 => {
            let or_reserved = |v: u8, names: &[(u8, &str)]| {
                names
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map_or("reserved", |(_, s)| s)
                    .to_owned()
            };
            let qptype = or_reserved(e.tsas[0], &[(1, "connected"), (2, "datagram")]);
            let prtype = or_reserved(
                e.tsas[1],
                &[
                    (1, "not specified"),
                    (2, "infiniband"),
                    (3, "roce"),
                    (4, "rocev2"),
                    (5, "iwarp"),
                ],
            );
            let cms = or_reserved(e.tsas[2], &[(1, "cm")]);
            d.push((
                "tsas",
                format!("{{'qptype': '{qptype}', 'prtype': '{prtype}', 'cms': '{cms}'}}"),
            ));
        }
        _ => {}
    }
    d.extend([
        ("portid", e.portid.to_string()),
        ("cntlid", e.cntlid.to_string()),
        ("asqsz", e.asqsz.to_string()),
        ("eflags", e.eflags.to_string()),
    ]);
    d
}

/// Upstream drops entries whose address is a wildcard or empty on reception.
pub fn is_usable(d: &DlpeDict) -> bool {
    get(d, "traddr").is_some_and(|a| !matches!(a, "" | "0.0.0.0" | "::"))
}

/// The value of `key`, if present.
pub fn get<'a>(d: &'a DlpeDict, key: &str) -> Option<&'a str> {
    d.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
}

/// "Not connected to a CDC": bit 2 of the decimal `eflags` string (missing or unparsable: no).
pub fn ncc(d: &DlpeDict) -> bool {
    eflags_ncc(get(d, "eflags"))
}

/// [`ncc`] of an `eflags` value, as upstream's `int()` reads it (spaces around are allowed).
pub fn eflags_ncc(eflags: Option<&str>) -> bool {
    eflags
        .and_then(|v| v.trim().parse::<u16>().ok())
        .is_some_and(|f| f & 0x4 != 0)
}

/// Names of the discovery-log LID-specific support bits (Supported Log Pages, LID 0x70):
/// bit 0 EXTDLPES, bit 1 PLEOS, bit 2 ALLSUBES.
pub fn dlp_supp_opts(bits: u16) -> Vec<&'static str> {
    [(0x1, "EXTDLPES"), (0x2, "PLEOS"), (0x4, "ALLSUBES")]
        .into_iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| n)
        .collect()
}

/// [`dlp_supp_opts`] joined as upstream logs it.
pub fn dlp_supp_opts_as_string(bits: u16) -> String {
    dlp_supp_opts(bits).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> DiscoveryLogEntry {
        DiscoveryLogEntry {
            trtype: 3,
            adrfam: 2,
            subtype: 2,
            treq: 4,
            portid: 1,
            cntlid: 65535,
            asqsz: 32,
            eflags: 0,
            trsvcid: "8009".into(),
            subnqn: "nqn.2014-08.org.example:s1".into(),
            traddr: "::1".into(),
            ..DiscoveryLogEntry::default()
        }
    }

    #[test]
    fn golden_dict_of_compat_2_5() {
        let d = dlpe_dict(&entry());
        let keys: Vec<&str> = d.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "trtype", "adrfam", "traddr", "trsvcid", "subnqn", "subtype", "treq", "tsas",
                "portid", "cntlid", "asqsz", "eflags"
            ]
        );
        for (k, v) in [
            ("adrfam", "ipv6"),
            ("asqsz", "32"),
            ("cntlid", "65535"),
            ("portid", "1"),
            ("subtype", "nvme"),
            ("traddr", "::1"),
            ("treq", "disable sqflow"),
            ("trsvcid", "8009"),
            ("trtype", "tcp"),
            ("tsas", "{'sectype': 'none'}"),
        ] {
            assert_eq!(get(&d, k), Some(v), "{k}");
        }
    }

    #[test]
    fn numbers_without_names_stay_decimal() {
        let e = DiscoveryLogEntry {
            trtype: 9,
            adrfam: 254,
            subtype: 7,
            treq: 5,
            ..entry()
        };
        let d = dlpe_dict(&e);
        assert_eq!(get(&d, "trtype"), Some("9"));
        assert_eq!(get(&d, "adrfam"), Some("254"));
        assert_eq!(get(&d, "subtype"), Some("7"));
        assert_eq!(get(&d, "treq"), Some("5"));
        assert_eq!(get(&d, "tsas"), None, "tsas only for tcp and rdma");
    }

    #[test]
    fn rdma_tsas_and_tls() {
        let mut e = DiscoveryLogEntry {
            trtype: 1,
            ..entry()
        };
        e.tsas[..3].copy_from_slice(&[1, 4, 1]);
        assert_eq!(
            get(&dlpe_dict(&e), "tsas"),
            Some("{'qptype': 'connected', 'prtype': 'rocev2', 'cms': 'cm'}")
        );
        let mut e = entry();
        e.tsas[0] = 2;
        assert_eq!(get(&dlpe_dict(&e), "tsas"), Some("{'sectype': 'tls1.3'}"));
        e.tsas[0] = 9;
        assert_eq!(get(&dlpe_dict(&e), "tsas"), Some("{'sectype': 'reserved'}"));
    }

    #[test]
    fn wildcard_addresses_are_not_usable() {
        for (addr, usable) in [
            ("::", false),
            ("0.0.0.0", false),
            ("", false),
            ("10.0.0.1", true),
        ] {
            let e = DiscoveryLogEntry {
                traddr: addr.into(),
                ..entry()
            };
            assert_eq!(is_usable(&dlpe_dict(&e)), usable, "{addr:?}");
        }
    }

    #[test]
    fn golden_vectors_of_compat_9_3() {
        assert_eq!(dlp_supp_opts(0x7), ["EXTDLPES", "PLEOS", "ALLSUBES"]);
        assert_eq!(dlp_supp_opts_as_string(0x7), "EXTDLPES, PLEOS, ALLSUBES");
        assert!(dlp_supp_opts(0).is_empty());
        let with_eflags = |v: Option<&str>| -> DlpeDict {
            v.map(|v| vec![("eflags", v.to_owned())])
                .unwrap_or_default()
        };
        assert!(ncc(&with_eflags(Some("4"))));
        assert!(ncc(&with_eflags(Some("6"))));
        assert!(!ncc(&with_eflags(Some("3"))));
        assert!(!ncc(&with_eflags(None)));
        assert!(!ncc(&with_eflags(Some("x"))));
        // Read as upstream's int() reads it.
        assert!(ncc(&with_eflags(Some(" 4\n"))));
        assert!(!eflags_ncc(Some("")));
    }
}

pub use libnvme_rs::trid::{MAX_NQN, MAX_TRADDR, MAX_TRSVCID};
use libnvme_rs::trid::{Transport, TransportId};

/// Checks that the fields of a DLPE that end up in a `/dev/nvme-fabrics` option string
/// (`traddr`, `trsvcid`, `subnqn`) cannot change that string: no `,` or `=`, no whitespace
/// or control characters, printable ASCII only, and within the field sizes. `Err` says
/// which field is bad and why, for a warning naming the DC.
pub fn check_fabrics_safe(d: &DlpeDict) -> Result<(), String> {
    for (key, max) in [
        ("traddr", MAX_TRADDR),
        ("trsvcid", MAX_TRSVCID),
        ("subnqn", MAX_NQN),
    ] {
        check_field(key, get(d, key).unwrap_or(""), max)?;
    }
    Ok(())
}

/// The check of [`check_fabrics_safe`] for one value from outside (mDNS, D-Bus).
pub fn check_field(key: &'static str, v: &str, max: usize) -> Result<(), String> {
    libnvme_rs::trid::check_field(key, v, max).map_err(|e| e.to_string())
}

/// The controller a DLPE names (an NVM subsystem, or a discovery controller for a referral),
/// validated as [`TransportId::from_entry`]; the host side is the caller's
/// ([`TransportId::with_host_of`] the reporting DC).
pub fn tid(d: &DlpeDict) -> Result<TransportId, String> {
    tid_of(|k| get(d, k))
}

/// [`tid`] of an entry read through `get` (a [`Packed`] entry's, say).
pub fn tid_of<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<TransportId, String> {
    let transport: Transport = get("trtype")
        .unwrap_or("")
        .parse()
        .map_err(|e: libnvme_rs::trid::UnknownTransport| e.to_string())?;
    let discovery = match get("subtype") {
        Some("nvme") => false,
        Some("referral" | "discovery") => true,
        other => return Err(format!("subtype {other:?} names no controller")),
    };
    TransportId::from_entry(
        transport,
        discovery,
        get("traddr").unwrap_or(""),
        get("trsvcid").unwrap_or(""),
        get("subnqn").unwrap_or(""),
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod fabrics_safety_tests {
    use super::*;

    fn dict(traddr: &str, trsvcid: &str, subnqn: &str) -> DlpeDict {
        vec![
            ("traddr", traddr.to_owned()),
            ("trsvcid", trsvcid.to_owned()),
            ("subnqn", subnqn.to_owned()),
        ]
    }

    #[test]
    fn option_injection_is_refused() {
        let nqn = "nqn.2014-08.org.example:disk1";
        assert!(check_fabrics_safe(&dict("192.0.2.1", "4420", nqn)).is_ok());
        assert!(check_fabrics_safe(&dict("fe80::1%eth0", "4420", nqn)).is_ok());
        for (traddr, trsvcid, subnqn) in [
            ("192.0.2.1,host_traddr=1.2.3.4", "4420", nqn),
            ("192.0.2.1", "4420,ctrl_loss_tmo=-1", nqn),
            ("192.0.2.1", "4420", "nqn.x,hostnqn=evil"),
            ("192.0.2.1", "4420", "nqn.x=y"),
            ("192.0.2.1\n", "4420", nqn),
            ("192.0.2.1", "44 20", nqn),
            ("192.0.2.1", "4420", "nqn.\u{1}x"),
            ("192.0.2.1", "4420", "nqn.é"),
        ] {
            assert!(
                check_fabrics_safe(&dict(traddr, trsvcid, subnqn)).is_err(),
                "{traddr:?} {trsvcid:?} {subnqn:?}"
            );
        }
        let long = format!("nqn.{}", "a".repeat(220));
        assert!(check_fabrics_safe(&dict("192.0.2.1", "4420", &long)).is_err());
    }

    #[test]
    fn a_dlpe_names_a_controller_only_when_valid() {
        let with = |trtype: &str, subtype: &str, traddr: &str| {
            let mut d = dict(traddr, "", "nqn.x");
            d.push(("trtype", trtype.to_owned()));
            d.push(("subtype", subtype.to_owned()));
            tid(&d)
        };
        assert_eq!(
            with("tcp", "nvme", "192.0.2.1"),
            Ok(TransportId::new(Transport::Tcp, "192.0.2.1", "", "nqn.x"))
        );
        assert_eq!(
            with("rdma", "referral", "192.0.2.1"),
            Ok(TransportId::new_discovery(
                Transport::Rdma,
                "192.0.2.1",
                "",
                "nqn.x"
            ))
        );
        assert_eq!(
            with("tcp", "nvme", "192.0.2.1,host_iface=x"),
            Err("traddr \"192.0.2.1,host_iface=x\" contains ','".into())
        );
        assert_eq!(
            with("7", "nvme", "192.0.2.1"),
            Err("Invalid transport 7".into())
        );
        assert_eq!(
            with("tcp", "9", "192.0.2.1"),
            Err("subtype Some(\"9\") names no controller".into())
        );
    }
}
