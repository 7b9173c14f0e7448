//! libnvme's own tests (`libnvme/tests/config-ini.c` at nvme-cli `e117ee68`), one test per
//! libnvme test function, named after it; plus its shipped examples
//! (`Documentation/nvme-fabrics.conf.txt`, `etc/nvme-fabrics.conf.sample.in`).

use super::super::keys::{Class, Value, check_value, lookup};
use super::*;

const NVME_DISC_SUBSYS_NAME: &str = "nqn.2014-08.org.nvmexpress.discovery";

#[test]
fn libnvme_test_params_tristate() {
    let c = load(
        "[I/O Controller Defaults]\nctrl-loss-tmo = 600\nkeep-alive-tmo = 30\n\
         ctrl-loss-tmo = 1800\nkeep-alive-tmo =\n",
    );
    let s = c.runtime_defaults(ControllerKind::Io);
    assert_eq!(
        s.origin("fast-io-fail-tmo"),
        None,
        "absent key reads as unset"
    );
    assert_eq!(
        s.tunables.ctrl_loss_tmo,
        Some(1800),
        "set + overwrite (last wins)"
    );
    assert_eq!(s.tunables.keep_alive_tmo, None);
    assert!(
        s.origin("keep-alive-tmo").is_some(),
        "reset is distinct from unset"
    );
}

#[test]
fn libnvme_test_params_merge() {
    let c = load(
        "[I/O Controller Defaults]\nctrl-loss-tmo = 600\ntls = true\n\
         [Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:m\nctrl-loss-tmo = 1800\n\
         keep-alive-tmo =\n\
         controller = transport=tcp;traddr=192.0.2.1\n\
         controller = transport=tcp;traddr=192.0.2.2;tos=3\n",
    );
    let [p1, p2] = &c.subsystems[0].paths[..] else {
        panic!("{c:#?}")
    };
    let s = &p1.settings;
    assert_eq!(s.tunables.ctrl_loss_tmo, Some(1800), "src wins");
    assert_eq!(s.security.tls, Some(true), "dst-only keys survive");
    assert_eq!(
        value(s, "keep-alive-tmo").as_deref(),
        Some("<reset>"),
        "reset carries"
    );
    let order: Vec<&str> = s.origins().map(|(k, _)| k).collect();
    assert_eq!(
        order,
        ["ctrl-loss-tmo", "tls", "keep-alive-tmo"],
        "iteration preserves first-insertion order"
    );
    assert_eq!(
        (p1.settings.tunables.tos, p2.settings.tunables.tos),
        (None, Some(3))
    );
}

#[test]
fn libnvme_test_key_table() {
    for (name, class) in [
        ("ctrl-loss-tmo", Class::Tunable),
        ("hdr-digest", Class::Tunable),
        ("persistent", Class::DcTunable),
        ("tls-key", Class::Security),
        ("kxchap-secret", Class::Security),
        ("hostnqn", Class::Identity),
        ("hostsymname", Class::Identity),
        ("nqn", Class::Nqn),
        ("controller", Class::Controller),
    ] {
        assert_eq!(lookup(name).map(|k| k.class), Some(class), "{name}");
    }
    for alias in [
        "fast_io_fail_tmo",
        "subsysnqn",
        "bogus",
        "dhchap-secret",
        "epcsd",
    ] {
        assert!(lookup(alias).is_none(), "{alias}");
    }
    assert!(lookup("fast-io-fail-tmo").is_some());
}

#[test]
fn libnvme_test_value_check() {
    let int = lookup("ctrl-loss-tmo").unwrap_or_else(|| panic!("key"));
    let boolean = lookup("tls").unwrap_or_else(|| panic!("key"));
    let string = lookup("tls-key").unwrap_or_else(|| panic!("key"));
    assert_eq!(check_value(int, "600").ok(), Some(Value::Int(600)));
    assert_eq!(check_value(int, "-1").ok(), Some(Value::Int(-1)));
    for bad in ["12x", "1.5", "tomorrow"] {
        assert!(check_value(int, bad).is_err(), "{bad}");
    }
    assert_eq!(check_value(int, "0x1E").ok(), Some(Value::Int(30)));
    assert_eq!(check_value(int, "030").ok(), Some(Value::Int(24)));
    for good in [
        "1", "yes", "Y", "TRUE", "t", "On", "0", "no", "N", "False", "f", "OFF",
    ] {
        assert!(check_value(boolean, good).is_ok(), "{good}");
    }
    for bad in ["maybe", "2"] {
        assert!(check_value(boolean, bad).is_err(), "{bad}");
    }
    for key in [int, boolean, string] {
        assert_eq!(
            check_value(key, "").ok(),
            Some(Value::Reset),
            "{}",
            key.name
        );
    }
}

#[test]
fn libnvme_test_parse_model() {
    let c = load(
        "# a complete single-persona file\n\
         [Discovery Controller Defaults]\nkeep-alive-tmo = 30\nctrl-loss-tmo = 600\n\n\
         [I/O Controller Defaults]\nkeep-alive-tmo = 5\nctrl-loss-tmo = 600\n\n\
         [Host]\nhostnqn = nqn.2014-08.org.nvmexpress:host\n\
         hostid = 46ba5037-7ce5-41fa-9452-48477bf00080\nkxchap-secret = DHHC-1:00:abc\n\n\
         [Discovery Controller]\npersistent = auto\n\
         controller = transport=tcp;traddr=10.0.0.5;trsvcid=8009\n\n\
         [Subsystem]\n\
         nqn           = nqn.2014-08.org.nvmexpress:vol1\n\
         tls           = true\n\
         ctrl-loss-tmo = 1800\n\
         controller    = transport=tcp;traddr=10.0.0.9;trsvcid=4420;host-iface=eth0\n\
         controller    = transport=tcp;traddr=10.0.0.10;trsvcid=4420;keep-alive-tmo=10\n",
    );
    let dcd = c.runtime_defaults(ControllerKind::Discovery);
    let iocd = c.runtime_defaults(ControllerKind::Io);
    assert_eq!(
        (dcd.tunables.keep_alive_tmo, iocd.tunables.keep_alive_tmo),
        (Some(30), Some(5))
    );
    let host = c.host.as_ref().unwrap_or_else(|| panic!("no [Host]"));
    assert_eq!(
        host.hostnqn.as_deref(),
        Some("nqn.2014-08.org.nvmexpress:host")
    );
    assert_eq!(
        host.hostid.as_deref(),
        Some("46ba5037-7ce5-41fa-9452-48477bf00080")
    );
    assert_eq!(
        host.settings
            .security
            .kxchap_secret
            .as_ref()
            .map(Secret::expose),
        Some("DHHC-1:00:abc")
    );
    assert_eq!((c.discovery.len(), c.subsystems.len()), (1, 1));
    assert_eq!(c.discovery[0].nqn, NVME_DISC_SUBSYS_NAME);
    assert_eq!(only_dc(&c).settings.persistent, Some(Persistent::Auto));
    let ss = &c.subsystems[0];
    assert_eq!(ss.nqn, "nqn.2014-08.org.nvmexpress:vol1");
    let [p1, p2] = &ss.paths[..] else {
        panic!("{ss:#?}")
    };
    assert_eq!(p1.settings.security.tls, Some(true));
    assert_eq!(p1.settings.tunables.ctrl_loss_tmo, Some(1800));
    assert_eq!(
        (p1.traddr.as_str(), p1.host_iface.as_deref()),
        ("10.0.0.9", Some("eth0"))
    );
    assert_eq!(
        p1.settings.tunables.keep_alive_tmo,
        Some(5),
        "no per-path override"
    );
    assert_eq!(p2.traddr, "10.0.0.10");
    assert_eq!(p2.settings.tunables.keep_alive_tmo, Some(10));
}

#[test]
fn libnvme_test_parse_hostname() {
    let c = load(
        "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:vol1\n\
         controller = transport=tcp;traddr=storage.example.com;trsvcid=4420\n",
    );
    assert_eq!(only_ioc(&c).traddr, "storage.example.com");
}

#[test]
fn libnvme_test_parse_errors() {
    let cases = [
        ("second [Host]", "[Host]\n[Host]\n"),
        ("key before any section", "ctrl-loss-tmo = 5\n"),
        (
            "identity key in [Discovery Controller Defaults]",
            "[Discovery Controller Defaults]\nhostnqn = x\n",
        ),
        (
            "security key per-path",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\n\
             controller = transport=tcp;traddr=1.2.3.4;tls-key=k\n",
        ),
        (
            "unknown key on a controller line",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\n\
             controller = transport=tcp;traddr=1.2.3.4;bogus=1\n",
        ),
        (
            "controller line without traddr",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\ncontroller = transport=tcp\n",
        ),
        (
            "repeated addressing key on a controller line",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\n\
             controller = transport=tcp;traddr=1.2.3.4;traddr=5.6.7.8\n",
        ),
        ("empty nqn", "[Subsystem]\nnqn =\n"),
        (
            "junk line",
            "[Discovery Controller Defaults]\nwhat is this\n",
        ),
        (
            "[Subsystem] without an nqn",
            "[Subsystem]\ncontroller = transport=tcp;traddr=1.2.3.4\n",
        ),
        (
            "bad integer value",
            "[Discovery Controller Defaults]\nctrl-loss-tmo = ten\n",
        ),
        (
            "bad boolean value",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\ntls = maybe\n",
        ),
        (
            "malformed nqn (no date component)",
            "[Subsystem]\nnqn = not-an-nqn\n",
        ),
        (
            "malformed nqn (bad month)",
            "[Subsystem]\nnqn = nqn.2014-13.org.nvmexpress:test\n",
        ),
        ("malformed hostnqn", "[Host]\nhostnqn = not-an-nqn\n"),
        (
            "zero hostid",
            "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:h\n\
             hostid = 00000000-0000-0000-0000-000000000000\n",
        ),
        (
            "malformed hostid",
            "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:h\nhostid = not-a-uuid\n",
        ),
        (
            "persistent in [I/O Controller Defaults]",
            "[I/O Controller Defaults]\npersistent = auto\n",
        ),
        (
            "persistent in [Subsystem]",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\npersistent = auto\n",
        ),
        (
            "persistent as a [Subsystem] per-path override",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:test\n\
             controller = transport=tcp;traddr=1.2.3.4;persistent=auto\n",
        ),
        (
            "bad persistent value",
            "[Discovery Controller]\npersistent = maybe\n",
        ),
    ];
    for (name, text) in cases {
        match try_load(Some(text), &[]) {
            Ok(c) => panic!("{name}: not rejected: {c:#?}"),
            // Every one of them names a line of the file.
            Err(e) => assert!(
                e.location
                    .line
                    .is_some_and(|l| l >= 1 && l <= text.lines().count()),
                "{name}: {e}"
            ),
        }
    }
}

#[test]
fn libnvme_test_parse_hygiene() {
    let c = load(
        "[Discovery Controller Defaults]\nunknown-knob = 7\n[SomeFutureSection]\n\
         whatever = x\n[Discovery Controller Defaults]\nreconnect-delay = 20\n\
         [Host]\nhostid =\n",
    );
    let dcd = c.runtime_defaults(ControllerKind::Discovery);
    assert_eq!(
        dcd.origin("unknown-knob"),
        None,
        "unknown key warned + ignored"
    );
    assert_eq!(
        dcd.tunables.reconnect_delay,
        Some(20),
        "repeated section merges"
    );
    assert_eq!(
        c.host.as_ref().map(|h| h.hostid.clone()),
        Some(None),
        "hostid reset"
    );
    let kinds: Vec<&WarningKind> = c.warnings.iter().map(|w| &w.kind).collect();
    assert!(matches!(
        kinds[..],
        [
            WarningKind::UnknownKey(_),
            WarningKind::UnknownSection(_),
            WarningKind::RepeatedSection(_)
        ]
    ));
}

#[test]
fn libnvme_test_resolve_empty() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = read(&dir.path().join("nvme-fabrics.conf")).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.is_empty() && c.files.is_empty() && c.warnings.is_empty());
}

#[test]
fn libnvme_test_resolve_hostname() {
    let c = load(
        "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:vol1\n\
         controller = transport=tcp;traddr=storage.example.com\n",
    );
    assert_eq!(only_ioc(&c).traddr, "storage.example.com");
}

#[test]
fn libnvme_test_resolve_cascade() {
    let main = "[Discovery Controller Defaults]\nkeep-alive-tmo = 30\nctrl-loss-tmo = 600\n\
                reconnect-delay = 10\ntos = 1\n\
                [I/O Controller Defaults]\nkeep-alive-tmo = 5\nctrl-loss-tmo = 600\n\
                reconnect-delay = 10\ntos = 1\n\
                [Host]\nhostnqn = nqn.2014-08.org.nvmexpress:main-host\n\
                [Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:main-vol\n\
                controller = transport=tcp;traddr=192.0.2.1;trsvcid=4420\n";
    let prod = "[Discovery Controller Defaults]\ntos = 7\n[I/O Controller Defaults]\ntos = 7\n\
                [Host]\nhostnqn = nqn.2014-08.org.nvmexpress:prod-host\n\
                hostid = 46ba5037-7ce5-41fa-9452-48477bf00080\n\
                kxchap-secret = DHHC-1:00:abc\n\
                [Discovery Controller]\n\
                controller = transport=tcp;traddr=10.0.0.5;trsvcid=8009\n\
                [Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:prod-vol\n\
                ctrl-loss-tmo = 1800\nreconnect-delay =\n\
                controller = transport=tcp;traddr=10.0.0.9;keep-alive-tmo=99\n\
                controller = transport=tcp;traddr=10.0.0.10\n";
    let c = try_load(Some(main), &[("10-prod.conf", prod)]).unwrap_or_else(|e| panic!("{e}"));
    // 4 connections, main first then the drop-in.
    let mv = &c.subsystems[0];
    let dc = &c.discovery[0];
    let pv = &c.subsystems[1];
    assert_eq!(
        (c.discovery.len(), c.subsystems.len(), pv.paths.len()),
        (1, 2, 2)
    );
    // Main-file subsystem: main scope only.
    let s = &mv.paths[0].settings.tunables;
    assert_eq!(mv.nqn, "nqn.2014-08.org.nvmexpress:main-vol");
    assert_eq!(
        mv.identity.hostnqn.as_deref(),
        Some("nqn.2014-08.org.nvmexpress:main-host")
    );
    assert_eq!(mv.identity.hostid, None);
    assert_eq!(
        (s.ctrl_loss_tmo, s.keep_alive_tmo, s.tos),
        (Some(600), Some(5), Some(1))
    );
    // Drop-in DC: default NQN, prod persona, overlaid tos, DC kato.
    let s = &dc.paths[0].settings;
    assert_eq!(dc.nqn, NVME_DISC_SUBSYS_NAME);
    assert_eq!(
        dc.identity.hostnqn.as_deref(),
        Some("nqn.2014-08.org.nvmexpress:prod-host")
    );
    assert_eq!(
        dc.identity.hostid.as_deref(),
        Some("46ba5037-7ce5-41fa-9452-48477bf00080")
    );
    assert_eq!(
        (s.tunables.keep_alive_tmo, s.tunables.tos),
        (Some(30), Some(7))
    );
    assert_eq!(
        s.security.kxchap_secret.as_ref().map(Secret::expose),
        Some("DHHC-1:00:abc")
    );
    // DLP blocks: what a controller discovered via this DC would get.
    let ioc = dc.discovered_defaults(ControllerKind::Io);
    let ddc = dc.discovered_defaults(ControllerKind::Discovery);
    assert_eq!(
        ioc.map(|s| (s.tunables.keep_alive_tmo, s.tunables.tos)),
        Some((Some(5), Some(7)))
    );
    assert_eq!(ddc.and_then(|s| s.tunables.keep_alive_tmo), Some(30));
    // Paths: endpoint > defaults; per-path override; explicit reset.
    let (p1, p2) = (&pv.paths[0].settings, &pv.paths[1].settings);
    assert_eq!(p1.tunables.ctrl_loss_tmo, Some(1800));
    assert_eq!(p1.tunables.keep_alive_tmo, Some(99));
    assert_eq!(p2.tunables.keep_alive_tmo, Some(5));
    assert_eq!(value(p1, "reconnect-delay").as_deref(), Some("<reset>"));
    assert_eq!(pv.nqn, "nqn.2014-08.org.nvmexpress:prod-vol");
    // Top-level scope blocks: main file only, no drop-in leakage.
    assert_eq!(c.runtime_defaults(ControllerKind::Io).tunables.tos, Some(1));
    assert_eq!(
        c.runtime_defaults(ControllerKind::Discovery)
            .tunables
            .keep_alive_tmo,
        Some(30)
    );
    // Provenance.
    assert!(dc.paths[0].origin.file.ends_with("10-prod.conf"));
    assert!(mv.paths[0].origin.file.ends_with("nvme-stas.conf"));
}

#[test]
fn libnvme_test_resolve_personas() {
    let a = "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:a\n\
             hostid = 46ba5037-7ce5-41fa-9452-48477bf00080\n";
    let fails: [(&str, &str, Option<&str>); 4] = [
        (
            "drop-in [Host] without hostnqn",
            "[Host]\nhostid = 46ba5037-7ce5-41fa-9452-48477bf00080\n",
            None,
        ),
        (
            "same hostid, two personas",
            a,
            Some(
                "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:b\n\
                 hostid = 46ba5037-7ce5-41fa-9452-48477bf00080\n",
            ),
        ),
        (
            "one hostnqn, two explicit hostids",
            a,
            Some(
                "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:a\n\
                 hostid = ffffffff-7ce5-41fa-9452-48477bf00080\n",
            ),
        ),
        (
            "one hostnqn, only one file sets a hostid",
            a,
            Some("[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:a\n"),
        ),
    ];
    for (name, first, second) in fails {
        let mut dropins = vec![("10-a.conf", first)];
        dropins.extend(second.map(|s| ("20-b.conf", s)));
        let r = try_load(None, &dropins);
        assert!(r.is_err(), "{name}: not rejected");
    }
    // A hostnqn reused between the top-level file and a drop-in.
    let h = "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:a\n";
    assert!(try_load(Some(h), &[("10-a.conf", h)]).is_err());
    // A drop-in with no [Host] is the default persona: legal.
    let c = try_load(
        None,
        &[(
            "10-a.conf",
            "[Subsystem]\nnqn = nqn.2014-08.org.nvmexpress:x\n\
             controller = transport=tcp;traddr=192.0.2.9\n",
        )],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(only_ioc(&c).traddr, "192.0.2.9");
    assert_eq!(c.subsystems[0].identity.hostnqn, None);
}

/// `Documentation/nvme-fabrics.conf.txt`, EXAMPLE.
#[test]
fn libnvme_man_page_example() {
    let c = load(
        "# @SYSCONFDIR@/nvme/nvme-fabrics.conf\n\n\
         [Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\n\
         [I/O Controller Defaults]\nkeep-alive-tmo = 5\n\n\
         [Host]\nhostsymname = lab-host-01\n\n\
         [Discovery Controller]\ncontroller = transport=tcp;traddr=192.168.1.10;trsvcid=8009\n\n\
         [Subsystem]\nnqn        = nqn.2024-01.com.example:data.vol1\n\
         controller = transport=tcp;traddr=192.168.1.20;trsvcid=4420\n\
         controller = transport=tcp;traddr=192.168.1.21;trsvcid=4420\n",
    );
    assert_eq!(only_dc(&c).settings.tunables.keep_alive_tmo, Some(30));
    assert_eq!(
        c.discovery[0].identity.hostsymname.as_deref(),
        Some("lab-host-01")
    );
    let kato: Vec<_> = c.subsystems[0]
        .paths
        .iter()
        .map(|p| (p.traddr.as_str(), p.settings.tunables.keep_alive_tmo))
        .collect();
    assert_eq!(kato, [("192.168.1.20", Some(5)), ("192.168.1.21", Some(5))]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

/// `etc/nvme-fabrics.conf.sample.in` writes comments after values
/// (`keep-alive-tmo = 30   # DC keep-alive default`); libnvme's parser has no inline
/// comments and refuses it at line 13. Without those comments it is accepted.
#[test]
fn libnvme_sample_with_inline_comments() {
    let sample = "# Example NVMe-oF connection configuration.\n#\n# (header)\n#\n#\n#\n#\n\
                  #\n#\n\n# Type defaults: applied unless a more specific scope below \
                  overrides them.\n[Discovery Controller Defaults]\n\
                  keep-alive-tmo = 30                  # DC keep-alive default\n\
                  ctrl-loss-tmo  = 600\n\n[I/O Controller Defaults]\n\
                  keep-alive-tmo = 5                   # IOC keep-alive default (kernel default)\n\
                  ctrl-loss-tmo  = 600\n\n[Host]\nhostsymname = lab-host-01\n\n\
                  [Discovery Controller]\nnqn        = nqn.2014-08.org.example:cdc.main\n\
                  controller = transport=tcp;traddr=192.168.1.10;trsvcid=8009\n\n\
                  [Discovery Controller]\n\
                  controller = transport=tcp;traddr=192.168.1.11;trsvcid=8009\n\n\
                  [Subsystem]\nnqn        = nqn.2024-01.com.example:data.vol1\n\
                  controller = transport=tcp;traddr=192.168.1.20;trsvcid=4420\n\n\
                  [Subsystem]\nnqn           = nqn.2024-01.com.example:data.vol2\n\
                  ctrl-loss-tmo = 1800\n\
                  controller    = transport=tcp;traddr=192.168.1.21;trsvcid=4420\n\
                  controller    = transport=tcp;traddr=192.168.1.22;trsvcid=4420\n";
    let e = load_err(sample);
    assert_eq!(at(&e), "nvme-stas.conf:13");
    assert!(matches!(
        e.kind,
        ErrorKind::InvalidValue {
            key: "keep-alive-tmo",
            ..
        }
    ));

    let stripped: String = sample
        .lines()
        .map(|l| match l.split_once(" #") {
            Some((v, _)) if !l.starts_with('#') => format!("{v}\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    let c = load(&stripped);
    let dcs: Vec<_> = c
        .discovery
        .iter()
        .map(|e| (e.nqn.as_str(), e.paths[0].settings.tunables.keep_alive_tmo))
        .collect();
    assert_eq!(
        dcs,
        [
            ("nqn.2014-08.org.example:cdc.main", Some(30)),
            (NVME_DISC_SUBSYS_NAME, Some(30))
        ]
    );
    let clt: Vec<_> = c
        .subsystems
        .iter()
        .flat_map(|e| &e.paths)
        .map(|p| p.settings.tunables.ctrl_loss_tmo)
        .collect();
    assert_eq!(clt, [Some(600), Some(1800), Some(1800)]);
}

/// nvme-stas 3.x's shipped default (spec §3): unique-NQN DCs get 30 s, not the kernel's 5 s.
#[test]
fn nvme_stas_shipped_default() {
    let c = load(
        "[Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\
         [Discovery Controller]\nnqn = nqn.2014-08.org.example:cdc\n\
         controller = transport=tcp;traddr=192.0.2.1;trsvcid=8009\n",
    );
    assert_eq!(only_dc(&c).settings.tunables.keep_alive_tmo, Some(30));
    assert_eq!(
        c.runtime_defaults(ControllerKind::Discovery)
            .tunables
            .keep_alive_tmo,
        Some(30),
        "mDNS-found DCs too"
    );
}
