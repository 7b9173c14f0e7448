use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::resolve::*;
use super::*;

fn ctx(daemon: Daemon) -> ItemContext<'static> {
    ItemContext {
        daemon,
        file: Path::new("/etc/stas/test.conf"),
        line: Some(7),
        option: "controller",
    }
}

fn xctx() -> ItemContext<'static> {
    ItemContext {
        option: "exclude",
        ..ctx(Daemon::Stafd)
    }
}

fn entry(daemon: Daemon, text: &str) -> (Option<ControllerEntry>, Vec<Diagnostic>) {
    ControllerEntry::parse(&ctx(daemon), text)
}

fn ok_entry(daemon: Daemon, text: &str) -> ControllerEntry {
    let (e, d) = entry(daemon, text);
    e.unwrap_or_else(|| panic!("{text:?} dropped: {d:?}"))
}

fn ex(text: &str) -> Option<Exclusion> {
    Exclusion::parse(&xctx(), text).0
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// --- tokenisation (§1.4) ------------------------------------------------------------------

#[test]
fn tokenize_reference_examples() {
    let t = tokenize("transport=tcp;traddr=localhost;trsvcid=8009");
    assert_eq!(
        t.pairs,
        pairs(&[
            ("transport", "tcp"),
            ("traddr", "localhost"),
            ("trsvcid", "8009")
        ])
    );
    let t = tokenize("transport = tcp ; traddr = 10.0.0.1 ; ; kato=31");
    assert_eq!(
        t.pairs,
        pairs(&[("transport", "tcp"), ("traddr", "10.0.0.1"), ("kato", "31")])
    );
    assert!(t.rejected.is_empty());
    let t = tokenize("transport=tcp;traddr=2001:db8::370:7334;host-iface=enp0s8;nqn=nqn.x");
    assert_eq!(t.pairs[1], ("traddr".into(), "2001:db8::370:7334".into()));
    assert_eq!(t.pairs[3], ("nqn".into(), "nqn.x".into()));
    assert_eq!(
        tokenize("a=1; ; ;b=2").pairs,
        pairs(&[("a", "1"), ("b", "2")])
    );
    assert_eq!(tokenize(""), Tokens::default());
}

#[test]
fn tokenize_upstream_unit_cases() {
    // test-config.py TestParseController, except the deliberate fix 1 case.
    assert!(tokenize("").pairs.is_empty());
    let t = tokenize("noequalsign");
    assert!(t.pairs.is_empty());
    assert_eq!(t.rejected, vec!["noequalsign".to_owned()]);
    let t = tokenize("transport=tcp;noequalsign;traddr=10.10.10.10");
    assert_eq!(
        t.pairs,
        pairs(&[("transport", "tcp"), ("traddr", "10.10.10.10")])
    );
}

#[test]
fn fix1_split_on_first_equal_sign() {
    // Upstream drops `key=val=extra`; we keep it.
    assert_eq!(
        tokenize("key=val=extra").pairs,
        pairs(&[("key", "val=extra")])
    );
    let secret = "DHHC-1:01:dW5pdHRlc3RzZWNyZXQxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTA=:";
    let e = ok_entry(
        Daemon::Stacd,
        &format!(
            "transport=tcp;traddr=10.0.0.1;nqn=nqn.io;dhchap-secret = {secret} ;dhchap-ctrl-secret={secret}"
        ),
    );
    assert_eq!(e.dhchap_secret.as_deref(), Some(secret));
    assert_eq!(e.dhchap_ctrl_secret.as_deref(), Some(secret));
    // 64-byte keys end with "==:" padding.
    let t = tokenize("dhchap-secret=DHHC-1:03:abcd==:");
    assert_eq!(t.pairs, pairs(&[("dhchap-secret", "DHHC-1:03:abcd==:")]));
    // Whitespace after the first '=' is stripped, inside the value kept.
    assert_eq!(tokenize("k =  a = b ").pairs, pairs(&[("k", "a = b")]));
}

#[test]
fn tokenize_rejects_empty_keys_and_keeps_dict_order() {
    let t = tokenize("=v;a=1;b=2;a=3; = x");
    assert_eq!(t.pairs, pairs(&[("a", "3"), ("b", "2")]));
    assert_eq!(t.rejected, vec!["=v".to_owned(), "= x".to_owned()]);
    // Keys are case-sensitive.
    assert_eq!(tokenize("A=1;a=2").pairs.len(), 2);
}

#[test]
fn nqn_renamed_to_subsysnqn_and_wins() {
    assert_eq!(
        normalize(pairs(&[("nqn", "a"), ("x", "1")])),
        pairs(&[("x", "1"), ("subsysnqn", "a")])
    );
    assert_eq!(
        normalize(pairs(&[("subsysnqn", "b"), ("nqn", "a")])),
        pairs(&[("subsysnqn", "a")])
    );
    assert_eq!(
        normalize(pairs(&[("nqn", "a"), ("subsysnqn", "b")])),
        pairs(&[("subsysnqn", "a")])
    );
}

// --- golden vector §9.3 ---------------------------------------------------------------------

const GOLDEN: &str = "transport=tcp;traddr=100.100.100.200;host-iface=enp0s7;dhchap-ctrl-secret=super-secret;hdr-digest=true;data-digest=true;nr-io-queues=8;nr-write-queues=6;nr-poll-queues=4;queue-size=400;kato=71;reconnect-delay=13;ctrl-loss-tmo=666;disable-sqflow=true";

#[test]
fn golden_controller_line_typed_dict() {
    let dict = typed_params(&normalize(tokenize(GOLDEN).pairs));
    assert_eq!(
        dict,
        pairs(&[
            ("transport", "tcp"),
            ("traddr", "100.100.100.200"),
            ("host-iface", "enp0s7"),
            ("dhchap-ctrl-secret", "super-secret"),
            ("hdr-digest", "True"),
            ("data-digest", "True"),
            ("nr-io-queues", "8"),
            ("nr-write-queues", "6"),
            ("nr-poll-queues", "4"),
            ("queue-size", "400"),
            ("kato", "71"),
            ("reconnect-delay", "13"),
            ("ctrl-loss-tmo", "666"),
            ("disable-sqflow", "True"),
        ])
    );
    // The same line as a typed entry (with the NQN stacd requires).
    let e = ok_entry(Daemon::Stacd, &format!("{GOLDEN};nqn=nqn.io"));
    assert_eq!(e.transport, Transport::Tcp);
    assert_eq!(e.traddr, "100.100.100.200");
    assert_eq!(e.trsvcid, "8009");
    assert_eq!(e.host_iface, "enp0s7");
    assert_eq!(e.dhchap_ctrl_secret.as_deref(), Some("super-secret"));
    assert_eq!(
        e.overrides,
        ConnectParams {
            kato: Some(71),
            queue_size: Some(400),
            reconnect_delay: Some(13),
            ctrl_loss_tmo: Some(666),
            nr_io_queues: Some(8),
            nr_write_queues: Some(6),
            nr_poll_queues: Some(4),
            hdr_digest: Some(true),
            data_digest: Some(true),
            disable_sqflow: Some(true),
        }
    );
    assert!(e.extra.is_empty());
    let extras = e.identity_extras();
    assert_eq!(
        extras[0],
        ("dhchap-ctrl-secret".into(), "super-secret".into())
    );
    assert_eq!(
        extras.last().unwrap(),
        &("disable-sqflow".into(), "True".into())
    );
    assert_eq!(extras.len(), 11);
}

// --- entries --------------------------------------------------------------------------------

#[test]
fn trsvcid_defaults_even_in_stacd() {
    let e = ok_entry(Daemon::Stacd, "transport=tcp;traddr=1.2.3.4;nqn=n");
    assert_eq!(e.trsvcid, "8009");
    let e = ok_entry(
        Daemon::Stacd,
        "transport=rdma;traddr=1.2.3.4;nqn=n;trsvcid=",
    );
    assert_eq!(e.trsvcid, "4420");
    let e = ok_entry(Daemon::Stafd, "transport=tcp;traddr=1.2.3.4;trsvcid=4420");
    assert_eq!(e.trsvcid, "4420");
    assert_eq!(e.subsysnqn, WELL_KNOWN_DISC_NQN);
}

#[test]
fn fix4_fc_and_loop_entries_are_kept() {
    for daemon in [Daemon::Stafd, Daemon::Stacd] {
        let (e, d) = entry(
            daemon,
            "transport=fc;traddr=nn-0x20000090fa942779:pn-0x10000090fa942779;\
             host-traddr=nn-0x20000090fae0b5f5:pn-0x10000090fae0b5f5;nqn=nqn.fc",
        );
        let e = e.expect("fc kept");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(e.transport, Transport::Fc);
        assert_eq!(e.trsvcid, "");
        let tid = e.tid("nqn.host", false);
        assert_eq!(tid.trsvcid(), "");
        assert_eq!(
            tid.host_traddr(),
            "nn-0x20000090fae0b5f5:pn-0x10000090fae0b5f5"
        );

        // A loop entry needs no traddr.
        let e = ok_entry(daemon, "transport=loop;nqn=nqn.loop");
        assert_eq!(e.transport, Transport::Loop);
        assert_eq!(e.traddr, "");
    }
    // A port given for fc is ignored with a warning.
    let (e, d) = entry(Daemon::Stafd, "transport=fc;traddr=a;trsvcid=4420");
    assert_eq!(e.unwrap().trsvcid, "");
    assert_eq!(
        d[0].message,
        "File:/etc/stas/test.conf [Controllers]: controller - trsvcid '4420' ignored: \
         transport fc has no port"
    );
}

#[test]
fn dropped_entries_warn() {
    let cases = [
        (
            Daemon::Stafd,
            "traddr=1.2.3.4",
            "Entry ignored: no transport",
        ),
        (
            Daemon::Stafd,
            "transport=TCP;traddr=1.2.3.4",
            "Invalid transport TCP: entry ignored",
        ),
        (Daemon::Stafd, "transport=tcp", "Entry ignored: no traddr"),
        (
            Daemon::Stafd,
            "transport=fc;traddr=",
            "Entry ignored: no traddr",
        ),
        (
            Daemon::Stacd,
            "transport=tcp;traddr=1.2.3.4",
            "Entry ignored: no subsysnqn (mandatory for I/O controllers)",
        ),
        (Daemon::Stafd, "", "Entry ignored: no transport"),
    ];
    for (daemon, text, want) in cases {
        let (e, d) = entry(daemon, text);
        assert!(e.is_none(), "{text}");
        assert_eq!(d.len(), 1, "{text}: {d:?}");
        assert_eq!(d[0].level, Level::Warning);
        assert_eq!(d[0].line, Some(7));
        assert_eq!(
            d[0].message,
            format!("File:/etc/stas/test.conf [Controllers]: controller - {want}")
        );
    }
    let (_, d) = entry(Daemon::Stafd, "transport=tcp;bogus;traddr=1.1.1.1");
    assert_eq!(
        d[0].message,
        "File:/etc/stas/test.conf [Controllers]: controller - Token 'bogus' ignored: expected \
         key=value"
    );
}

#[test]
fn fix5_invalid_override_falls_back_to_global() {
    let global = ConnectParams {
        kato: Some(45),
        queue_size: Some(64),
        hdr_digest: Some(true),
        ..ConnectParams::default()
    };
    let (e, d) = entry(
        Daemon::Stafd,
        "transport=tcp;traddr=1.2.3.4;kato=abc;queue-size=5;hdr-digest=maybe;ctrl-loss-tmo=-1",
    );
    let e = e.unwrap();
    let p = e.connect_params(&global);
    // Upstream would use the built-in default (kato 30) instead of [Global].
    assert_eq!(p.kato, Some(45));
    assert_eq!(p.queue_size, Some(64));
    assert_eq!(p.hdr_digest, Some(true));
    assert_eq!(p.ctrl_loss_tmo, Some(-1));
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "File:/etc/stas/test.conf [Controllers]: controller - kato: Data converter found \
             invalid value \"abc\". The [Global] value will be used",
            "File:/etc/stas/test.conf [Controllers]: controller - queue-size: \"5\" is not \
             within range 16..1024. The [Global] value will be used",
            "File:/etc/stas/test.conf [Controllers]: controller - hdr-digest: Text check found \
             invalid value \"maybe\". The [Global] value will be used",
        ]
    );
    // Invalid overrides are not in the identity dict either.
    let keys: Vec<String> = e.identity_extras().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["ctrl-loss-tmo"]);
    // A valid override wins over [Global].
    let e = ok_entry(Daemon::Stafd, "transport=tcp;traddr=1.2.3.4;kato=5");
    assert_eq!(e.connect_params(&global).kato, Some(5));
}

#[test]
fn unused_global_keys_and_unknown_keys_are_extras() {
    let (e, d) = entry(
        Daemon::Stafd,
        "transport=tcp;traddr=1.2.3.4;tron=bad;pleo=enabled;Foo=Bar;host-nqn=nqn.h",
    );
    let e = e.unwrap();
    assert_eq!(
        e.extra,
        pairs(&[("tron", "bad"), ("pleo", "enabled"), ("Foo", "Bar")])
    );
    assert_eq!(d.len(), 2);
    assert!(d[0].message.ends_with(
        "tron: Text check found invalid value \"bad\". Ignored: no effect in a controller entry"
    ));
    assert!(
        d[1].message
            .ends_with("pleo: Ignored: no effect in a controller entry")
    );
    assert_eq!(
        e.identity_extras(),
        pairs(&[
            ("tron", "bad"),
            ("pleo", "True"),
            ("Foo", "Bar"),
            ("host-nqn", "nqn.h")
        ])
    );
}

#[test]
fn tid_applies_host_nqn_default_and_ignore_iface() {
    let e = ok_entry(
        Daemon::Stafd,
        "transport=tcp;traddr=1.2.3.4;host-iface=eth0",
    );
    let t = e.tid("nqn.sys", false);
    assert_eq!(t.host_nqn(), "nqn.sys");
    assert_eq!(t.host_iface(), "eth0");
    assert_eq!(e.tid("nqn.sys", true).host_iface(), "");
    let e = ok_entry(
        Daemon::Stafd,
        "transport=tcp;traddr=1.2.3.4;host-nqn=nqn.own",
    );
    assert_eq!(e.tid("nqn.sys", false).host_nqn(), "nqn.own");
    assert_eq!(
        e.tid("nqn.sys", false).to_string(),
        "(tcp, 1.2.3.4, 8009, nqn.2014-08.org.nvmexpress.discovery)"
    );
}

// --- exclusions (§1.5) ----------------------------------------------------------------------

fn cand() -> TransportId {
    TransportId::new(Transport::Tcp, "10.10.10.10", "", "nqn.sub")
        .with_host_iface("eth0")
        .with_host_traddr("10.0.0.2")
        .with_host_nqn("nqn.host")
}

#[test]
fn exclusion_every_key_must_match() {
    let none: [(&str, &str); 0] = [];
    let m = |text: &str| ex(text).unwrap().matches(&cand(), none);
    assert!(m("transport=tcp;traddr=10.10.10.10"));
    assert!(m("trsvcid=8009"), "compares the defaulted port");
    assert!(m("nqn=nqn.sub"), "nqn is renamed");
    assert!(m("host-iface=eth0;host-nqn=nqn.host"));
    assert!(!m("transport=tcp;traddr=10.10.10.11"));
    assert!(!m("traddr=::ffff:10.10.10.10"), "no IP normalisation");
    assert!(!m("transport=TCP"), "case-sensitive");
    assert!(!m("kato=30"), "a key the candidate lacks never matches");
    // host-traddr is removed from exclusions.
    let e = ex("traddr=10.10.10.10;host-traddr=9.9.9.9").unwrap();
    assert_eq!(e.pairs, pairs(&[("traddr", "10.10.10.10")]));
    assert!(e.matches(&cand(), none));
    // `host-iface=` (empty) matches candidates without an interface.
    let no_iface = TransportId::new(Transport::Tcp, "1.1.1.1", "", "n");
    assert!(ex("host-iface=").unwrap().matches(&no_iface, none));
    assert!(!ex("host-iface=").unwrap().matches(&cand(), none));
}

#[test]
fn exclusion_matches_extra_keys_of_configured_entries() {
    let e = ok_entry(
        Daemon::Stafd,
        "transport=tcp;traddr=1.2.3.4;site=paris;kato=30",
    );
    let tid = e.tid("nqn.h", false);
    let x = ex("site=paris").unwrap();
    assert!(x.matches(&tid, e.extras()));
    assert!(!x.matches(&tid, std::iter::empty()));
    assert!(ex("kato=30").unwrap().matches(&tid, e.extras()));
    let kept = remove_excluded_entries(vec![e.clone()], std::slice::from_ref(&x), "nqn.h", false);
    assert!(kept.is_empty());
    let kept = remove_excluded_entries(vec![e], &[ex("site=rome").unwrap()], "nqn.h", false);
    assert_eq!(kept.len(), 1);
    let tids = remove_excluded_tids(vec![cand(), tid], &[ex("traddr=1.2.3.4").unwrap()]);
    assert_eq!(tids, vec![cand()]);
}

#[test]
fn fix3_empty_exclusion_is_ignored_with_a_warning() {
    for text in ["", "   ", "garbage", ";;", "host-traddr=1.2.3.4"] {
        let (x, d) = Exclusion::parse(&xctx(), text);
        assert!(x.is_none(), "{text:?}");
        let last = d.last().unwrap();
        assert_eq!(last.level, Level::Warning);
        assert!(
            last.message
                .starts_with("File:/etc/stas/test.conf [Controllers]: exclude - ")
                && last
                    .message
                    .ends_with("(upstream nvme-stas would exclude every controller)"),
            "{}",
            last.message
        );
    }
    assert!(!is_excluded(&[], &cand(), std::iter::empty()));
}

#[test]
fn render_masks_secrets() {
    let p = pairs(&[
        ("traddr", "1.2.3.4"),
        ("dhchap-secret", "DHHC-1:00:x:"),
        ("dhchap-ctrl-secret", ""),
    ]);
    let s = render_pairs(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), true);
    assert_eq!(
        s,
        "traddr=1.2.3.4;dhchap-secret=********;dhchap-ctrl-secret="
    );
    assert!(is_secret_key("DHCHAP-SECRET") && is_secret_key("tls-key") && !is_secret_key("kato"));
}

// --- resolution and address filters (§4.3) ---------------------------------------------------

#[test]
fn pick_address_prefers_ipv4() {
    let addrs = [
        ip("fe80::1"),
        ip("10.0.0.1"),
        ip("10.0.0.2"),
        ip("2001:db8::1"),
    ];
    assert_eq!(pick_address(&addrs, IpFamily::BOTH), Some(ip("10.0.0.1")));
    assert_eq!(pick_address(&addrs, IpFamily::IPV4), Some(ip("10.0.0.1")));
    assert_eq!(pick_address(&addrs, IpFamily::IPV6), Some(ip("fe80::1")));
    assert_eq!(pick_address(&addrs[..1], IpFamily::IPV4), None);
    assert_eq!(pick_address(&[], IpFamily::BOTH), None);
}

#[test]
fn resolve_entries_with_a_fake_resolver() {
    let r = StaticResolver::new()
        .with("dual.example", &[ip("2001:db8::5"), ip("192.0.2.5")])
        .with("v6.example", &[ip("2001:db8::6")])
        .failing("broken.example", "Temporary failure in name resolution");
    let e = |traddr: &str| ok_entry(Daemon::Stafd, &format!("transport=tcp;traddr={traddr}"));

    let out = resolve_entry(&e("dual.example"), IpFamily::BOTH, &r);
    assert_eq!(out.entry().unwrap().traddr, "192.0.2.5");
    assert_eq!(out.entry().unwrap().params[1].1, "192.0.2.5");
    let out = resolve_entry(&e("dual.example"), IpFamily::IPV6, &r);
    assert_eq!(out.entry().unwrap().traddr, "2001:db8::5");
    let out = resolve_entry(&e("v6.example"), IpFamily::IPV4, &r);
    assert_eq!(out, ResolveOutcome::NoUsableAddress("v6.example".into()));
    let out = resolve_entry(&e("broken.example"), IpFamily::BOTH, &r);
    assert_eq!(
        out.message().unwrap(),
        "Temporary failure in name resolution"
    );
    assert!(out.entry().is_none());
    let out = resolve_entry(&e("unknown.example"), IpFamily::BOTH, &r);
    assert!(matches!(out, ResolveOutcome::Failed { .. }));

    // Literals are not resolved; a disabled family is dropped with upstream's warning.
    let out = resolve_entry(&e("10.1.1.1"), IpFamily::BOTH, &r);
    assert!(matches!(out, ResolveOutcome::Kept(_)));
    let out = resolve_entry(&e("10.1.1.1"), IpFamily::IPV6, &r);
    assert_eq!(
        out.message().unwrap(),
        "Excluding configured IP address 10.1.1.1 based on \"ip-family\" setting"
    );
    // fc is never resolved.
    let fc = ok_entry(Daemon::Stafd, "transport=fc;traddr=nn-1:pn-2");
    assert!(!fc.needs_resolution());
    assert!(matches!(
        resolve_entry(&fc, IpFamily::IPV6, &r),
        ResolveOutcome::Kept(_)
    ));
    assert!(e("host.example").needs_resolution());
    assert_eq!(
        resolve_entries(&[e("10.1.1.1"), fc], IpFamily::BOTH, &r).len(),
        2
    );
}

#[test]
fn system_resolver_resolves_literals() {
    let a = SystemResolver.resolve("127.0.0.1").unwrap();
    assert_eq!(a, vec![ip("127.0.0.1")]);
}

#[test]
fn address_filter() {
    let t = |tr: Transport, a: &str| TransportId::new(tr, a, "", "n");
    assert_eq!(
        check_address(&t(Transport::Tcp, "1.2.3.4"), IpFamily::BOTH),
        AddressCheck::Valid
    );
    let bad = t(Transport::Tcp, "host.example");
    assert_eq!(
        check_address(&bad, IpFamily::BOTH),
        AddressCheck::InvalidAddress
    );
    assert_eq!(
        check_address(&bad, IpFamily::BOTH)
            .message(&bad, "/etc/stas/stafd.conf")
            .unwrap(),
        "(tcp, host.example, 8009, n) IP address is not valid"
    );
    // IPv4-mapped IPv6 is version 6, as Python's ipaddress says.
    let mapped = t(Transport::Rdma, "::ffff:1.2.3.4");
    assert_eq!(
        check_address(&mapped, IpFamily::IPV4),
        AddressCheck::FamilyDisabled(6)
    );
    assert_eq!(
        check_address(&mapped, IpFamily::IPV4)
            .message(&mapped, "f.conf")
            .unwrap(),
        "(rdma, ::ffff:1.2.3.4, 4420, n) ignored because IPv6 is disabled in f.conf"
    );
    assert_eq!(
        check_address(&t(Transport::Fc, "x"), IpFamily::IPV4),
        AddressCheck::Valid
    );
    assert_eq!(ip_version("fe80::1%eth0"), Some(6));
    assert_eq!(ip_version("1.2.3.4%eth0"), None);
    let kept = remove_invalid_addresses(
        vec![t(Transport::Tcp, "1.2.3.4"), t(Transport::Tcp, "::1"), bad],
        IpFamily::IPV4,
    );
    assert_eq!(kept, vec![t(Transport::Tcp, "1.2.3.4")]);
    let allowed = std::collections::BTreeSet::from([Transport::Fc, Transport::Rdma]);
    let kept = retain_transports(
        vec![
            t(Transport::Tcp, "1.2.3.4"),
            t(Transport::Fc, "x"),
            t(Transport::Loop, ""),
        ],
        &allowed,
    );
    assert_eq!(kept, vec![t(Transport::Fc, "x")]);
}

// --- robustness -----------------------------------------------------------------------------

#[test]
fn malformed_lines_never_panic_and_are_fast() {
    let garbage: String = (0u32..4096)
        .map(|i| char::from_u32((i * 7919) % 0x11_0000).unwrap_or('\u{fffd}'))
        .collect();
    for daemon in [Daemon::Stafd, Daemon::Stacd] {
        let _ = entry(daemon, &garbage);
        let _ = Exclusion::parse(&xctx(), &garbage);
    }
    let start = Instant::now();
    // 1 MiB of distinct keys, of one repeated key, and one 1 MiB value.
    let distinct: String = (0..80_000).map(|i| format!("k{i}=v;")).collect();
    let t = tokenize(&distinct);
    assert_eq!(t.pairs.len(), 80_000);
    let repeated = "kato=1;".repeat(150_000);
    let (e, _) = entry(
        Daemon::Stafd,
        &format!("transport=tcp;traddr=1.1.1.1;{repeated}"),
    );
    assert_eq!(e.unwrap().overrides.kato, Some(1));
    let long = format!("transport=tcp;traddr={}", "a".repeat(1 << 20));
    let (e, _) = entry(Daemon::Stafd, &long);
    assert_eq!(e.unwrap().traddr.len(), 1 << 20);
    let (_, d) = entry(Daemon::Stafd, &";".repeat(1 << 20));
    assert_eq!(d.len(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn tokenize_invariants(s in ".{0,200}") {
            let t = tokenize(&s);
            for (k, v) in &t.pairs {
                prop_assert!(!k.is_empty() && !k.contains(';') && !k.contains('='));
                prop_assert_eq!(k.trim(), k.as_str());
                prop_assert_eq!(v.trim(), v.as_str());
                prop_assert!(!v.contains(';'));
            }
            let _ = entry(Daemon::Stafd, &s);
            let _ = entry(Daemon::Stacd, &s);
            let _ = Exclusion::parse(&xctx(), &s);
        }

        #[test]
        fn pairs_round_trip(kv in proptest::collection::vec(("[a-z][a-z-]{0,8}", "[!-:<-~]{0,12}"), 0..8)) {
            let text: String = kv.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
            let t = tokenize(&text);
            prop_assert!(t.rejected.is_empty());
            let mut want: Vec<(String, String)> = Vec::new();
            for (k, v) in &kv {
                match want.iter_mut().find(|(wk, _)| wk == k) {
                    Some(e) => e.1 = v.trim().to_owned(),
                    None => want.push((k.clone(), v.trim().to_owned())),
                }
            }
            prop_assert_eq!(t.pairs, want);
        }
    }
}
