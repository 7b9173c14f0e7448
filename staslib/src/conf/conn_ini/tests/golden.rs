//! Golden tests, one rule each (module documentation of `conn_ini`).

use super::*;

const SUB: &str = "[Subsystem]\nnqn = nqn.2014-08.org.example:vol1\n";
const PATH: &str = "controller = transport=tcp;traddr=192.0.2.1;trsvcid=4420\n";

/// Recognises an expected error.
type Expect = fn(&ErrorKind) -> bool;

/// A persona case: name, main file, drop-ins, where the error is.
type PersonaCase = (
    &'static str,
    Option<String>,
    Vec<(&'static str, String)>,
    &'static str,
);

fn kind(e: &ConnConfError) -> &ErrorKind {
    &e.kind
}

// ---- lines ----------------------------------------------------------------------------

#[test]
fn comments_blank_lines_and_crlf() {
    let c = load(&format!(
        "# comment\r\n\r\n   # indented comment\r\n{}{}",
        SUB.replace('\n', "\r\n"),
        PATH.replace('\n', "\r\n")
    ));
    let p = only_ioc(&c);
    assert_eq!(p.origin.line, 6);
    assert_eq!(p.trsvcid.as_deref(), Some("4420"));
    assert_eq!(c.subsystems[0].nqn, "nqn.2014-08.org.example:vol1");
}

#[test]
fn no_inline_comments() {
    let e = load_err("[I/O Controller Defaults]\nkeep-alive-tmo = 30 # the default\n");
    assert!(
        matches!(
            kind(&e),
            ErrorKind::InvalidValue {
                key: "keep-alive-tmo",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(at(&e), "nvme-stas.conf:2");
    let c = load("[Host]\nhostsymname = lab # not a comment\n");
    assert_eq!(
        c.host.and_then(|h| h.hostsymname).as_deref(),
        Some("lab # not a comment")
    );
}

#[test]
fn section_header_forms() {
    let c = load("[ Host ]\nhostsymname = x\n");
    assert_eq!(c.host.and_then(|h| h.hostsymname).as_deref(), Some("x"));
    for (text, line) in [
        ("[Host] # comment\n", 1),
        ("[]\n", 1),
        ("[   ]\n", 1),
        ("[Host\n", 1),
        ("\n[Host]]\n", 2),
    ] {
        let e = load_err(text);
        assert!(
            matches!(kind(&e), ErrorKind::MalformedLine(_)),
            "{text:?}: {e}"
        );
        assert_eq!(e.location.line, Some(line), "{text:?}");
    }
}

#[test]
fn section_names_are_case_and_space_sensitive() {
    let c = load("[host]\nhostnqn = nqn.2014-08.org.example:h\n[Discovery  Controller]\n");
    assert!(c.host.is_none());
    let unknown: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        unknown,
        [
            "/etc/nvme/nvme-stas.conf:1: unknown section [\"host\"] ignored",
            "/etc/nvme/nvme-stas.conf:3: unknown section [\"Discovery  Controller\"] ignored",
        ]
    );
}

#[test]
fn junk_lines_are_errors_in_every_section() {
    for text in [
        "[Host]\nwhat is this\n",
        "[Host]\n= value\n",
        "[Some Future Section]\njunk without equals\n",
    ] {
        let e = load_err(text);
        assert!(
            matches!(kind(&e), ErrorKind::MalformedLine(_)),
            "{text:?}: {e}"
        );
        assert_eq!(at(&e), "nvme-stas.conf:2");
    }
}

#[test]
fn key_before_any_section_is_an_error_even_unknown() {
    for text in ["ctrl-loss-tmo = 5\n", "# c\nbogus = 1\n[Host]\n"] {
        let e = load_err(text);
        assert!(matches!(kind(&e), ErrorKind::KeyBeforeSection(_)), "{e}");
    }
}

#[test]
fn keys_are_case_sensitive_and_split_at_the_first_equals() {
    let c = load("[Host]\nKeep-Alive-Tmo = 5\nhostsymname = a=b\n");
    let h = c.host.unwrap_or_else(|| panic!("no host"));
    assert_eq!(h.settings.tunables.keep_alive_tmo, None);
    assert_eq!(h.hostsymname.as_deref(), Some("a=b"));
    assert!(matches!(
        &c.warnings[0].kind,
        WarningKind::UnknownKey(k) if k == "Keep-Alive-Tmo"
    ));
}

// ---- sections -------------------------------------------------------------------------

#[test]
fn second_host_in_one_file_is_an_error() {
    let e = load_err("[Host]\nhostsymname = a\n[Subsystem]\n[Host]\n");
    assert!(matches!(kind(&e), ErrorKind::SecondHost));
    assert_eq!(at(&e), "nvme-stas.conf:4");
}

#[test]
fn repeated_defaults_sections_merge_with_a_warning() {
    let c = load(&format!(
        "[I/O Controller Defaults]\nkeep-alive-tmo = 5\ntos = 1\n\
         [I/O Controller Defaults]\ntos = 2\n{SUB}{PATH}"
    ));
    let s = &only_ioc(&c).settings.tunables;
    assert_eq!((s.keep_alive_tmo, s.tos), (Some(5), Some(2)));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(
        c.warnings[0].to_string(),
        "/etc/nvme/nvme-stas.conf:4: repeated [I/O Controller Defaults] section (merged)"
    );
}

#[test]
fn unknown_section_is_ignored_with_everything_in_it() {
    let c = load(&format!(
        "[Future]\ncontroller = not even parsed\nhostnqn = bad\npersistent = maybe\n\
         {SUB}{PATH}"
    ));
    assert_eq!(c.warnings.len(), 1);
    assert!(matches!(&c.warnings[0].kind, WarningKind::UnknownSection(s) if s == "Future"));
    assert_eq!(c.subsystems.len(), 1);
}

#[test]
fn discovery_controller_nqn_defaults_to_the_well_known_nqn() {
    let c = load("[Discovery Controller]\ncontroller = transport=tcp;traddr=192.0.2.1\n");
    assert_eq!(c.discovery[0].nqn, "nqn.2014-08.org.nvmexpress.discovery");
    assert_eq!(c.discovery[0].kind, ControllerKind::Discovery);
    let c = load(
        "[Discovery Controller]\nnqn = nqn.2014-08.org.example:cdc\n\
         nqn = nqn.2014-08.org.example:cdc2\ncontroller = transport=tcp;traddr=192.0.2.1\n",
    );
    assert_eq!(
        c.discovery[0].nqn, "nqn.2014-08.org.example:cdc2",
        "last nqn wins"
    );
}

#[test]
fn subsystem_without_nqn_is_an_error_at_its_header() {
    let e = load_err(&format!("{SUB}{PATH}\n[Subsystem]\n{PATH}"));
    assert!(matches!(kind(&e), ErrorKind::SubsystemWithoutNqn));
    assert_eq!(at(&e), "nvme-stas.conf:5");
}

#[test]
fn nqn_syntax() {
    let long_ok = format!("nqn.2014-08.org.example:{}", "x".repeat(223 - 24));
    assert_eq!(long_ok.len(), 223);
    for good in [
        "nqn.2014-08.org.nvmexpress:uuid:46ba5037-7ce5-41fa-9452-48477bf00080",
        "nqn.2014-01.x",
        "nqn.9999-12.x",
        &long_ok,
    ] {
        let c = load(&format!("[Subsystem]\nnqn = {good}\n{PATH}"));
        assert_eq!(c.subsystems[0].nqn, good);
    }
    let too_long = format!("{long_ok}y");
    for bad in [
        "not-an-nqn",
        "nqn.2014-13.org.example",
        "nqn.2014-00.org.example",
        "nqn.2014-08.",
        "nqn.2014-8.org.example",
        "nqn.201a-08.org.example",
        "nqn.2014-08.org.ex ample",
        "nqn.2014-08.org.exämple",
        "NQN.2014-08.org.example",
        &too_long,
    ] {
        let e = load_err(&format!("[Subsystem]\nnqn = {bad}\n"));
        assert!(
            matches!(kind(&e), ErrorKind::InvalidNqn { key: "nqn", .. }),
            "{bad}: {e}"
        );
    }
    let e = load_err("[Subsystem]\nnqn =\n");
    assert!(matches!(kind(&e), ErrorKind::EmptyNqn));
    // Ours: printable, but would split the option string.
    let e = load_err("[Subsystem]\nnqn = nqn.2014-08.org.example:a,b\n");
    assert!(
        matches!(kind(&e), ErrorKind::UnsafeValue { key: "nqn", .. }),
        "{e}"
    );
}

// ---- placement ------------------------------------------------------------------------

/// Which section accepts which kind of key (libnvme `conf_kv`).
#[test]
fn key_placement_table() {
    let sections = [
        ("Host", ""),
        ("Discovery Controller Defaults", ""),
        ("I/O Controller Defaults", ""),
        ("Discovery Controller", ""),
        ("Subsystem", "nqn = nqn.2014-08.org.example:s\n"),
    ];
    // key line, then which of the five sections accept it.
    let table: [(&str, [bool; 5]); 7] = [
        ("ctrl-loss-tmo = 5", [true; 5]),
        ("tls = yes", [true; 5]),
        ("kxchap-secret = DHHC-1:00:abc=:", [true; 5]),
        ("persistent = auto", [false, true, false, true, false]),
        (
            "hostnqn = nqn.2014-08.org.example:h",
            [true, false, false, false, false],
        ),
        (
            "nqn = nqn.2014-08.org.example:x",
            [false, false, false, true, true],
        ),
        (
            "controller = transport=tcp;traddr=192.0.2.1",
            [false, false, false, true, true],
        ),
    ];
    for (line, accepted) in table {
        for ((section, prefix), ok) in sections.iter().zip(accepted) {
            let text = format!("[{section}]\n{prefix}{line}\n");
            match try_load(Some(&text), &[]) {
                Ok(_) => assert!(ok, "{section} accepted {line}"),
                Err(e) => {
                    assert!(!ok, "{section} refused {line}: {e}");
                    assert!(
                        matches!(kind(&e), ErrorKind::NotValidInSection { .. }),
                        "{section} / {line}: {e}"
                    );
                    assert_eq!(e.location.line, Some(2 + prefix.lines().count()));
                }
            }
        }
    }
}

// ---- cascade --------------------------------------------------------------------------

#[test]
fn type_defaults_are_chosen_by_controller_kind() {
    let c = load(&format!(
        "[Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\
         [I/O Controller Defaults]\nkeep-alive-tmo = 5\n\
         [Discovery Controller]\ncontroller = transport=tcp;traddr=192.0.2.9\n{SUB}{PATH}"
    ));
    assert_eq!(only_dc(&c).settings.tunables.keep_alive_tmo, Some(30));
    assert_eq!(only_ioc(&c).settings.tunables.keep_alive_tmo, Some(5));
}

/// Every rung: defaults < [Host] < endpoint < path line, each winning over the one below.
#[test]
fn cascade_at_each_level() {
    let c = load(
        "[I/O Controller Defaults]\n\
         ctrl-loss-tmo = 10\nreconnect-delay = 10\nfast-io-fail-tmo = 10\ntos = 10\n\
         [Host]\n\
         reconnect-delay = 20\nfast-io-fail-tmo = 20\ntos = 20\n\
         [Subsystem]\nnqn = nqn.2014-08.org.example:a\n\
         fast-io-fail-tmo = 30\ntos = 30\n\
         controller = transport=tcp;traddr=192.0.2.1;tos=40\n\
         controller = transport=tcp;traddr=192.0.2.2\n",
    );
    let paths = &c.subsystems[0].paths;
    let t0 = &paths[0].settings.tunables;
    let t1 = &paths[1].settings.tunables;
    assert_eq!(
        (
            t0.ctrl_loss_tmo,
            t0.reconnect_delay,
            t0.fast_io_fail_tmo,
            t0.tos
        ),
        (Some(10), Some(20), Some(30), Some(40))
    );
    assert_eq!(t1.tos, Some(30), "a path override stays on its path");
    // The origin of each value is the line that won.
    let s = &paths[0].settings;
    let lines: Vec<usize> = [
        "ctrl-loss-tmo",
        "reconnect-delay",
        "fast-io-fail-tmo",
        "tos",
    ]
    .iter()
    .map(|k| s.origin(k).map_or(0, |o| o.line))
    .collect();
    assert_eq!(lines, [2, 7, 12, 14]);
    assert_eq!(s.origin("keep-alive-tmo"), None);
}

/// `key =` resets to the kernel default at every level, and a higher level can set again.
#[test]
fn reset_at_each_level() {
    let c = load(
        "[I/O Controller Defaults]\n\
         ctrl-loss-tmo = 600\nkeep-alive-tmo = 5\ntos = 1\nhdr-digest = yes\n\
         keyring = .nvme\nqueue-size = 64\n\
         [Host]\nctrl-loss-tmo =\nkeyring =\n\
         [Subsystem]\nnqn = nqn.2014-08.org.example:a\nkeep-alive-tmo =\nqueue-size =\n\
         queue-size = 32\n\
         controller = transport=tcp;traddr=192.0.2.1;tos=;hdr-digest=\n",
    );
    let s = &only_ioc(&c).settings;
    assert_eq!(s.tunables.ctrl_loss_tmo, None, "reset in [Host]");
    assert_eq!(s.security.keyring, None, "string reset in [Host]");
    assert_eq!(s.tunables.keep_alive_tmo, None, "reset in the endpoint");
    assert_eq!(s.tunables.tos, None, "reset on the path line");
    assert_eq!(s.tunables.hdr_digest, None, "bool reset on the path line");
    assert_eq!(s.tunables.queue_size, Some(32), "set again after a reset");
    assert_eq!(s.origin("ctrl-loss-tmo").map(|o| o.line), Some(9));
    assert_eq!(s.origin("tos").map(|o| o.line), Some(16));
    assert_eq!(value(s, "ctrl-loss-tmo").as_deref(), Some("<reset>"));
}

#[test]
fn dropin_defaults_overlay_the_main_files_for_that_file_only() {
    let main = "[I/O Controller Defaults]\nkeep-alive-tmo = 5\ntos = 1\n\
                [Subsystem]\nnqn = nqn.2014-08.org.example:main\n\
                controller = transport=tcp;traddr=192.0.2.1\n";
    let a = "[I/O Controller Defaults]\ntos = 7\nctrl-loss-tmo =\n\
             [Subsystem]\nnqn = nqn.2014-08.org.example:a\n\
             controller = transport=tcp;traddr=192.0.2.2\n";
    let b = "[Subsystem]\nnqn = nqn.2014-08.org.example:b\n\
             controller = transport=tcp;traddr=192.0.2.3\n";
    let c = try_load(Some(main), &[("10-a.conf", a), ("20-b.conf", b)])
        .unwrap_or_else(|e| panic!("{e}"));
    let tos: Vec<_> = c
        .subsystems
        .iter()
        .map(|e| {
            let t = &e.paths[0].settings.tunables;
            (e.nqn.as_str(), t.tos, t.keep_alive_tmo)
        })
        .collect();
    assert_eq!(
        tos,
        [
            ("nqn.2014-08.org.example:main", Some(1), Some(5)),
            ("nqn.2014-08.org.example:a", Some(7), Some(5)),
            ("nqn.2014-08.org.example:b", Some(1), Some(5)),
        ]
    );
    // The drop-in's defaults never reach runtime controllers.
    assert_eq!(c.runtime_defaults(ControllerKind::Io).tunables.tos, Some(1));
}

#[test]
fn a_files_host_applies_to_that_file_only() {
    let main = "[Host]\nhostnqn = nqn.2014-08.org.example:main\n\
                hostid = 46ba5037-7ce5-41fa-9452-48477bf00080\n\
                hostsymname = main-host\nkxchap-secret = DHHC-1:00:main:\n\
                [Subsystem]\nnqn = nqn.2014-08.org.example:m\n\
                controller = transport=tcp;traddr=192.0.2.1\n";
    let plain = "[Subsystem]\nnqn = nqn.2014-08.org.example:p\n\
                 controller = transport=tcp;traddr=192.0.2.2\n";
    let persona = "[Host]\nhostnqn = nqn.2014-08.org.example:other\n\
                   [Subsystem]\nnqn = nqn.2014-08.org.example:o\n\
                   controller = transport=tcp;traddr=192.0.2.3\n";
    let c = try_load(
        Some(main),
        &[("10-plain.conf", plain), ("20-p.conf", persona)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let [m, p, o] = &c.subsystems[..] else {
        panic!("{c:#?}")
    };
    assert_eq!(
        m.identity.hostnqn.as_deref(),
        Some("nqn.2014-08.org.example:main")
    );
    assert_eq!(m.identity.hostsymname.as_deref(), Some("main-host"));
    assert!(!m.identity.dropin_persona);
    assert!(m.paths[0].settings.security.kxchap_secret.is_some());
    assert_eq!(p.identity, HostIdentity::default(), "default persona");
    assert!(p.paths[0].settings.security.kxchap_secret.is_none());
    assert_eq!(
        o.identity.hostnqn.as_deref(),
        Some("nqn.2014-08.org.example:other")
    );
    assert_eq!(o.identity.hostid, None);
    assert!(o.identity.dropin_persona);
    assert_eq!(c.personas.len(), 1);
    assert_eq!(
        c.host.as_ref().and_then(|h| h.hostid.as_deref()),
        Some("46ba5037-7ce5-41fa-9452-48477bf00080")
    );
}

#[test]
fn endpoints_keep_main_then_dropin_order() {
    let ep = |n: &str| {
        format!(
            "[Discovery Controller]\nnqn = nqn.2014-08.org.example:{n}\n\
             controller = transport=tcp;traddr=192.0.2.1\n"
        )
    };
    let c = try_load(
        Some(&ep("main")),
        &[("00-z.conf", &ep("z")), ("10-a.conf", &ep("a"))],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let order: Vec<&str> = c.discovery.iter().map(|e| &e.nqn[24..]).collect();
    assert_eq!(order, ["main", "z", "a"]);
    assert_eq!(c.files.len(), 3);
}

// ---- personas -------------------------------------------------------------------------

const ID_A: &str = "46ba5037-7ce5-41fa-9452-48477bf00080";
const ID_B: &str = "ffffffff-7ce5-41fa-9452-48477bf00080";

fn host(nqn: &str, id: Option<&str>) -> String {
    let mut s = format!("[Host]\nhostnqn = nqn.2014-08.org.example:{nqn}\n");
    if let Some(id) = id {
        s.push_str(&format!("hostid = {id}\n"));
    }
    s
}

#[test]
fn persona_errors() {
    let cases: [PersonaCase; 5] = [
        (
            "hostnqn in the main file and a drop-in",
            Some(host("a", Some(ID_A))),
            vec![("10-a.conf", host("a", Some(ID_B)))],
            "nvme-stas.conf.d/10-a.conf:2",
        ),
        (
            "hostnqn in two drop-ins, one without hostid",
            None,
            vec![
                ("10-a.conf", host("a", Some(ID_A))),
                ("20-b.conf", host("a", None)),
            ],
            "nvme-stas.conf.d/20-b.conf:2",
        ),
        (
            "one hostid, two personas",
            None,
            vec![
                ("10-a.conf", host("a", Some(ID_A))),
                ("20-b.conf", host("b", Some(ID_A))),
            ],
            "nvme-stas.conf.d/20-b.conf:3",
        ),
        (
            "drop-in [Host] without hostnqn",
            None,
            vec![("10-a.conf", format!("# x\n[Host]\nhostid = {ID_A}\n"))],
            "nvme-stas.conf.d/10-a.conf:2",
        ),
        (
            "drop-in [Host] whose hostnqn is reset",
            None,
            vec![("10-a.conf", "[Host]\nhostnqn =\n".to_owned())],
            "nvme-stas.conf.d/10-a.conf:1",
        ),
    ];
    for (name, main, dropins, where_) in cases {
        let dropins: Vec<(&str, &str)> = dropins.iter().map(|(n, t)| (*n, t.as_str())).collect();
        match try_load(main.as_deref(), &dropins) {
            Ok(c) => panic!("{name}: accepted {c:#?}"),
            Err(e) => {
                assert!(
                    matches!(
                        kind(&e),
                        ErrorKind::HostnqnReused { .. }
                            | ErrorKind::HostidReused { .. }
                            | ErrorKind::DropInHostWithoutHostnqn
                    ),
                    "{name}: {e}"
                );
                assert_eq!(at(&e), where_, "{name}");
            }
        }
    }
}

#[test]
fn persona_cases_libnvme_accepts() {
    // Main [Host] without hostnqn (default persona) sharing a hostid with a drop-in
    // persona: libnvme only compares hostids of two named personas.
    let main = format!("[Host]\nhostid = {ID_A}\n");
    let c = try_load(Some(&main), &[("10-a.conf", &host("a", Some(ID_A)))]);
    assert!(c.is_ok(), "{c:?}");
    // Different personas, different hostids.
    let c = try_load(
        Some(&host("a", Some(ID_A))),
        &[("10-b.conf", &host("b", Some(ID_B)))],
    );
    assert!(c.is_ok(), "{c:?}");
}

/// Spec §3 (PR #4040) says hostnqn without hostid is refused; libnvme's source accepts it.
#[test]
fn hostnqn_without_hostid_is_accepted_with_a_warning() {
    let c = load(&host("a", None));
    assert_eq!(
        c.host.as_ref().and_then(|h| h.hostnqn.as_deref()),
        Some("nqn.2014-08.org.example:a")
    );
    assert!(c.warnings.iter().any(|w| w.kind == WarningKind::NoHostId));
}

#[test]
fn hostid_syntax() {
    for good in [ID_A, "46BA5037-7CE5-41FA-9452-48477BF00080"] {
        let c = load(&format!("[Host]\nhostid = {good}\n"));
        assert_eq!(c.host.and_then(|h| h.hostid).as_deref(), Some(good));
    }
    let c = load("[Host]\nhostid =\n");
    assert_eq!(c.host.map(|h| h.hostid), Some(None), "reset");
    for bad in [
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "46ba50377ce541fa945248477bf00080",
        // libnvme's sscanf accepts this one; the kernel's uuid_parse does not.
        "46ba5037-7ce5-41fa-9452-48477bf00080trailing",
    ] {
        let e = load_err(&format!("[Host]\nhostid = {bad}\n"));
        assert!(
            matches!(kind(&e), ErrorKind::InvalidHostId(_)),
            "{bad}: {e}"
        );
    }
    let e = load_err("[Host]\nhostnqn = nqn.bad\n");
    assert!(matches!(
        kind(&e),
        ErrorKind::InvalidNqn { key: "hostnqn", .. }
    ));
}

// ---- persistent -----------------------------------------------------------------------

#[test]
fn persistent_values_and_cascade() {
    let c = load(
        "[Discovery Controller Defaults]\npersistent = Force\n\
         [Discovery Controller]\ncontroller = transport=tcp;traddr=192.0.2.1\n\
         [Discovery Controller]\npersistent = NO\n\
         controller = transport=tcp;traddr=192.0.2.2\n\
         controller = transport=tcp;traddr=192.0.2.3;persistent=auto\n\
         controller = transport=tcp;traddr=192.0.2.4;persistent=\n",
    );
    let modes: Vec<Option<Persistent>> = c
        .discovery
        .iter()
        .flat_map(|e| &e.paths)
        .map(|p| p.settings.persistent)
        .collect();
    assert_eq!(
        modes,
        [
            Some(Persistent::Force),
            Some(Persistent::No),
            Some(Persistent::Auto),
            None
        ]
    );
    assert_eq!(
        c.runtime_defaults(ControllerKind::Discovery).persistent,
        Some(Persistent::Force)
    );
    assert_eq!(c.runtime_defaults(ControllerKind::Io).persistent, None);
    let dc = &c.discovery[1];
    assert_eq!(
        dc.discovered_defaults(ControllerKind::Discovery)
            .and_then(|s| s.persistent),
        Some(Persistent::Force),
        "referrals get the file's DC defaults, not this DC's own"
    );
}

#[test]
fn persistent_placement() {
    let ok = [
        "[Discovery Controller Defaults]\npersistent = auto\n",
        "[Discovery Controller]\npersistent = auto\n",
        "[Discovery Controller]\ncontroller = transport=tcp;traddr=192.0.2.1;persistent=force\n",
    ];
    for text in ok {
        assert!(try_load(Some(text), &[]).is_ok(), "{text}");
    }
    let refused: [(&str, Expect); 4] = [
        ("[Host]\npersistent = auto\n", |k| {
            matches!(
                k,
                ErrorKind::NotValidInSection {
                    key: "persistent",
                    ..
                }
            )
        }),
        ("[I/O Controller Defaults]\npersistent = auto\n", |k| {
            matches!(
                k,
                ErrorKind::NotValidInSection {
                    key: "persistent",
                    ..
                }
            )
        }),
        (
            "[Subsystem]\nnqn = nqn.2014-08.org.example:s\npersistent = auto\n",
            |k| {
                matches!(
                    k,
                    ErrorKind::NotValidInSection {
                        key: "persistent",
                        ..
                    }
                )
            },
        ),
        (
            "[Subsystem]\nnqn = nqn.2014-08.org.example:s\n\
             controller = transport=tcp;traddr=192.0.2.1;persistent=auto\n",
            |k| matches!(k, ErrorKind::DcOnlyOnPath("persistent")),
        ),
    ];
    for (text, expected) in refused {
        let e = load_err(text);
        assert!(expected(&e.kind), "{text}: {e}");
    }
    for bad in ["maybe", "yes", "1", "epcsd"] {
        let e = load_err(&format!("[Discovery Controller]\npersistent = {bad}\n"));
        assert!(
            matches!(
                kind(&e),
                ErrorKind::InvalidValue {
                    key: "persistent",
                    ..
                }
            ),
            "{bad}"
        );
    }
}

// ---- security -------------------------------------------------------------------------

const SECURITY: [(&str, &str); 7] = [
    ("tls", "yes"),
    ("concat", "no"),
    (
        "tls-key",
        "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:",
    ),
    (
        "tls-key-identity",
        "NVMe1R01 nqn.2014-08.org.example:h nqn.2014-08.org.example:s x",
    ),
    ("keyring", ".nvme"),
    (
        "kxchap-secret",
        "DHHC-1:01:rWV3ljeKHPX7LMmWc+KQD8QZIM0M/z/tJD9PgNWPc8Ar8v7L:",
    ),
    (
        "kxchap-ctrl-secret",
        "DHHC-1:03:cGFkZGVkIHNlY3JldCBvZiA0OCBieXRlcyBwYWRkZWQgc2VjcmV0IG9mIA==:",
    ),
];

#[test]
fn security_keys_resolve_in_every_section_never_per_path() {
    for section in [
        "Host",
        "Discovery Controller Defaults",
        "I/O Controller Defaults",
        "Discovery Controller",
    ] {
        let mut text = format!("[{section}]\n");
        for (k, v) in SECURITY {
            text.push_str(&format!("{k} = {v}\n"));
        }
        // An endpoint of the kind the section applies to, unless it is the endpoint.
        match section {
            "Discovery Controller" => {}
            "I/O Controller Defaults" => text.push_str(SUB),
            _ => text.push_str("[Discovery Controller]\n"),
        }
        text.push_str("controller = transport=tcp;traddr=192.0.2.1\n");
        let c = load(&text);
        let ep = c.discovery.iter().chain(&c.subsystems).next();
        let s = &ep.unwrap_or_else(|| panic!("no endpoint")).paths[0].settings;
        for (k, v) in SECURITY {
            let expected = match v {
                "yes" => "true",
                "no" => "false",
                v => v,
            };
            assert_eq!(value(s, k).as_deref(), Some(expected), "{section}: {k}");
        }
    }
    for (k, v) in SECURITY {
        let e = load_err(&format!(
            "[Discovery Controller]\ncontroller = transport=tcp;traddr=192.0.2.1;{k}={v}\n"
        ));
        assert!(
            matches!(kind(&e), ErrorKind::SecurityOnPath(key) if *key == k),
            "{e}"
        );
    }
}

#[test]
fn security_cascade() {
    let c = load(&format!(
        "[I/O Controller Defaults]\nkeyring = .default\n\
         [Host]\ntls = yes\nkxchap-secret = DHHC-1:00:host:\n\
         {SUB}tls = no\nkxchap-secret =\n{PATH}"
    ));
    let s = &only_ioc(&c).settings.security;
    assert_eq!(s.tls, Some(false));
    assert_eq!(s.kxchap_secret, None);
    assert_eq!(s.keyring.as_deref(), Some(".default"));
}

#[test]
fn secrets_are_redacted_in_debug_and_errors() {
    let secret = "DHHC-1:00:c2VjcmV0LXZhbHVlLW5ldmVyLXNob3duMTIzNDU2Nzg5MA==:";
    let c = load(&format!(
        "[Host]\nkxchap-secret = {secret}\n{SUB}tls-key = {secret}\n\
         kxchap-ctrl-secret = {secret}\n{PATH}"
    ));
    let debug = format!("{c:?} {c:#?}");
    assert!(!debug.contains("c2VjcmV0"), "{debug}");
    assert!(debug.contains("<redacted>"));
    assert_eq!(
        only_ioc(&c)
            .settings
            .security
            .tls_key
            .as_ref()
            .map(Secret::expose),
        Some(secret)
    );
    // A secret our checks refuse is not quoted either.
    let e = load_err(&format!("[Host]\nkxchap-secret = {secret},x\n"));
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("c2VjcmV0"), "{shown}");
    assert!(matches!(
        kind(&e),
        ErrorKind::UnsafeValue {
            key: "kxchap-secret",
            ..
        }
    ));
}

#[test]
fn stray_secrets_are_not_quoted() {
    let secret = "DHHC-1:00:c2VjcmV0LXZhbHVlLW5ldmVyLXNob3duMTIzNDU2Nzg5MA==:";
    // A line that lost its key splits at the padding: an unknown key.
    let c = load(&format!("[Host]\n{secret}\n"));
    let shown = format!("{} {:?}", c.warnings[0], c.warnings);
    assert!(
        !shown.contains("c2VjcmV0") && shown.contains("redacted"),
        "{shown}"
    );
    for text in [
        // Missing '=': split at the padding, an unknown key.
        format!("[Host]\nkxchap-secret {secret}\n"),
        format!("[Host]\n{}\n", "NVMeTLSkey-1:01:abc"),
        format!("{SUB}controller = transport=tcp;traddr=192.0.2.1;{secret}\n"),
        format!("{SUB}controller = transport=tcp;traddr=192.0.2.1;NVMeTLSkey-1:01:abc\n"),
    ] {
        let r = try_load(Some(&text), &[]);
        let shown = match &r {
            Ok(c) => format!(
                "{c:?} {}",
                c.warnings.iter().map(|w| w.to_string()).collect::<String>()
            ),
            Err(e) => format!("{e} {e:?}"),
        };
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("01:abc"),
            "{shown}"
        );
        assert!(shown.contains("looks like a secret"), "{shown}");
    }
}

/// One spelling per key: the 2.x / pre-rename spellings are unknown keys (a warning in a
/// section, an error on a controller line).
#[test]
fn renamed_keys_are_unknown() {
    let c = load(&format!(
        "{SUB}dhchap-secret = DHHC-1:00:x:\nkato = 30\nepcsd = yes\n{PATH}"
    ));
    let unknown: Vec<&WarningKind> = c.warnings.iter().map(|w| &w.kind).collect();
    assert_eq!(unknown.len(), 3, "{unknown:?}");
    assert_eq!(only_ioc(&c).settings, Settings::default());
    let e = load_err(&format!(
        "{SUB}controller = transport=tcp;traddr=192.0.2.1;host_traddr=192.0.2.2\n"
    ));
    assert!(matches!(kind(&e), ErrorKind::UnknownPathKey(k) if k == "host_traddr"));
}

// ---- controller lines -----------------------------------------------------------------

#[test]
fn path_line_tokens() {
    let c = load(&format!(
        "{SUB}controller = ;; transport = tcp ; traddr = 192.0.2.1;trsvcid=4420;\
         host-traddr=192.0.2.100;host-iface=eth0;keep-alive-tmo=0x10;;\n"
    ));
    let p = only_ioc(&c);
    assert_eq!(
        (
            p.transport,
            p.traddr.as_str(),
            p.trsvcid.as_deref(),
            p.host_traddr.as_deref(),
            p.host_iface.as_deref()
        ),
        (
            libnvme_rs::trid::Transport::Tcp,
            "192.0.2.1",
            Some("4420"),
            Some("192.0.2.100"),
            Some("eth0")
        )
    );
    assert_eq!(p.settings.tunables.keep_alive_tmo, Some(16));
    // Host names and FC addresses are kept as written.
    let c = load(&format!(
        "{SUB}controller = transport=fc;traddr=nn-0x20000090fa942779:pn-0x10000090fa942779\n\
         controller = transport=tcp;traddr=storage.example.com\n"
    ));
    let t: Vec<&str> = c.subsystems[0]
        .paths
        .iter()
        .map(|p| p.traddr.as_str())
        .collect();
    assert_eq!(
        t,
        [
            "nn-0x20000090fa942779:pn-0x10000090fa942779",
            "storage.example.com"
        ]
    );
}

#[test]
fn path_line_errors() {
    let cases: [(&str, Expect); 17] = [
        ("transport=tcp", |k| {
            matches!(k, ErrorKind::MissingTransportOrTraddr)
        }),
        ("traddr=192.0.2.1", |k| {
            matches!(k, ErrorKind::MissingTransportOrTraddr)
        }),
        ("", |k| matches!(k, ErrorKind::MissingTransportOrTraddr)),
        ("transport=tcp;traddr=", |k| {
            matches!(k, ErrorKind::EmptyAddress("traddr"))
        }),
        ("transport=tcp;traddr=192.0.2.1;trsvcid=1;trsvcid=2", |k| {
            matches!(k, ErrorKind::RepeatedAddress("trsvcid"))
        }),
        (
            "transport=tcp;traddr=192.0.2.1;bogus=1",
            |k| matches!(k, ErrorKind::UnknownPathKey(key) if key == "bogus"),
        ),
        ("Transport=tcp;traddr=192.0.2.1", |k| {
            matches!(k, ErrorKind::UnknownPathKey(_))
        }),
        ("transport=tcp;traddr=192.0.2.1;tcp", |k| {
            matches!(k, ErrorKind::MalformedToken(_))
        }),
        ("transport=tcp;=x;traddr=192.0.2.1", |k| {
            matches!(k, ErrorKind::MalformedToken(_))
        }),
        (
            "transport=tcp;traddr=192.0.2.1;nqn=nqn.2014-08.org.example:x",
            |k| matches!(k, ErrorKind::NotOnPath("nqn")),
        ),
        (
            "transport=tcp;traddr=192.0.2.1;hostnqn=nqn.2014-08.org.example:x",
            |k| matches!(k, ErrorKind::NotOnPath("hostnqn")),
        ),
        ("transport=tcp;traddr=192.0.2.1;keep-alive-tmo=ten", |k| {
            matches!(
                k,
                ErrorKind::InvalidValue {
                    key: "keep-alive-tmo",
                    ..
                }
            )
        }),
        // Ours from here on.
        ("transport=tpc;traddr=192.0.2.1", |k| {
            matches!(k, ErrorKind::UnknownTransport(_))
        }),
        ("transport=tcp;traddr=192.0.2.1,nr_io_queues=1", |k| {
            matches!(k, ErrorKind::UnsafeValue { key: "traddr", .. })
        }),
        ("transport=tcp;traddr=a=b", |k| {
            matches!(k, ErrorKind::UnsafeValue { key: "traddr", .. })
        }),
        ("transport=tcp;traddr=192.0.2.1;host-iface=eth0:1", |k| {
            matches!(
                k,
                ErrorKind::UnsafeValue {
                    key: "host-iface",
                    ..
                }
            )
        }),
        (
            "transport=tcp;traddr=192.0.2.1;trsvcid=123456789012345678901234567890123",
            |k| matches!(k, ErrorKind::UnsafeValue { key: "trsvcid", .. }),
        ),
    ];
    for (line, expected) in cases {
        let e = load_err(&format!("{SUB}\ncontroller = {line}\n"));
        assert!(expected(&e.kind), "{line:?}: {e}");
        assert_eq!(at(&e), "nvme-stas.conf:4", "{line:?}");
    }
}

// ---- values ---------------------------------------------------------------------------

#[test]
fn integer_syntax_is_strtol_base_0_within_int() {
    for (text, expected) in [
        ("600", 600),
        ("-1", -1),
        ("+5", 5),
        ("0", 0),
        ("0x1E", 30),
        ("0X1e", 30),
        ("030", 24),
        ("-0x10", -16),
        ("2147483647", i32::MAX),
        ("-2147483648", i32::MIN),
    ] {
        let c = load(&format!("[Host]\nctrl-loss-tmo = {text}\n"));
        let got = c.host.and_then(|h| h.settings.tunables.ctrl_loss_tmo);
        assert_eq!(got, Some(expected), "{text}");
    }
    for bad in [
        "2147483648",
        "-2147483649",
        "99999999999999999999999",
        "08",
        "0x",
        "0xg",
        "12x",
        "1.5",
        "ten",
        "--1",
        "+-1",
        "- 1",
        "0x-1",
        "1 2",
    ] {
        let e = load_err(&format!("[Host]\nctrl-loss-tmo = {bad}\n"));
        assert!(
            matches!(kind(&e), ErrorKind::InvalidValue { .. }),
            "{bad}: {e}"
        );
    }
}

#[test]
fn boolean_syntax() {
    for (text, expected) in [
        ("1", true),
        ("yes", true),
        ("Y", true),
        ("TRUE", true),
        ("t", true),
        ("On", true),
        ("0", false),
        ("no", false),
        ("N", false),
        ("False", false),
        ("f", false),
        ("OFF", false),
    ] {
        let c = load(&format!("[Host]\nhdr-digest = {text}\n"));
        let got = c.host.and_then(|h| h.settings.tunables.hdr_digest);
        assert_eq!(got, Some(expected), "{text}");
    }
    for bad in ["maybe", "2", "enabled", "yess"] {
        let e = load_err(&format!("[Host]\nhdr-digest = {bad}\n"));
        assert!(matches!(kind(&e), ErrorKind::InvalidValue { .. }), "{bad}");
    }
}

#[test]
fn every_tunable_resolves_to_its_field() {
    let keys = [
        "nr-io-queues",
        "nr-write-queues",
        "nr-poll-queues",
        "queue-size",
        "keep-alive-tmo",
        "reconnect-delay",
        "ctrl-loss-tmo",
        "fast-io-fail-tmo",
        "tos",
    ];
    let mut text = SUB.to_owned();
    for (i, k) in keys.iter().enumerate() {
        text.push_str(&format!("{k} = {}\n", i + 1));
    }
    let bools = [
        "duplicate-connect",
        "disable-sqflow",
        "hdr-digest",
        "data-digest",
    ];
    for k in bools {
        text.push_str(&format!("{k} = on\n"));
    }
    text.push_str(PATH);
    let c = load(&text);
    let s = &only_ioc(&c).settings;
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(value(s, k), Some((i + 1).to_string()), "{k}");
    }
    let t = &s.tunables;
    assert_eq!(
        (
            t.nr_io_queues,
            t.nr_write_queues,
            t.nr_poll_queues,
            t.queue_size
        ),
        (Some(1), Some(2), Some(3), Some(4))
    );
    assert_eq!(
        (
            t.keep_alive_tmo,
            t.reconnect_delay,
            t.ctrl_loss_tmo,
            t.fast_io_fail_tmo,
            t.tos
        ),
        (Some(5), Some(6), Some(7), Some(8), Some(9))
    );
    assert_eq!(
        (
            t.duplicate_connect,
            t.disable_sqflow,
            t.hdr_digest,
            t.data_digest
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
}

#[test]
fn string_values_that_could_inject_options_are_refused() {
    for (line, key) in [
        ("keyring = .nvme,tls", "keyring"),
        ("keyring = a=b", "keyring"),
        ("tls-key = NVMeTLSkey-1:01:abc ,x", "tls-key"),
        ("kxchap-ctrl-secret = DHHC-1:00:a\tb:", "kxchap-ctrl-secret"),
        ("tls-key-identity = id\u{7}", "tls-key-identity"),
    ] {
        let e = load_err(&format!("[Host]\n{line}\n"));
        assert!(
            matches!(kind(&e), ErrorKind::UnsafeValue { key: k, .. } if *k == key),
            "{line}: {e}"
        );
    }
    let e = load_err(&format!("[Host]\nhostsymname = {}\n", "x".repeat(257)));
    assert!(matches!(
        kind(&e),
        ErrorKind::UnsafeValue {
            key: "hostsymname",
            ..
        }
    ));
    let e = load_err(&format!("[Host]\ntls-key = {}\n", "k".repeat(513)));
    assert!(matches!(
        kind(&e),
        ErrorKind::UnsafeValue { key: "tls-key", .. }
    ));
    // A carriage return inside a value (libnvme's only check on strings).
    let e = load_err("[Host]\nkeyring = a\rb\n");
    assert!(
        matches!(kind(&e), ErrorKind::InvalidValue { key: "keyring", .. }),
        "{e}"
    );
}

// ---- warnings and runtime scopes ------------------------------------------------------

#[test]
fn unknown_keys_are_warnings_with_file_and_line() {
    let c = try_load(
        Some(&format!("{SUB}bogus = 1\n{PATH}")),
        &[(
            "10-a.conf",
            "[Host]\nhostnqn = nqn.2014-08.org.example:a\nfuture-key =\n",
        )],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = c
        .warnings
        .iter()
        .filter(|w| w.kind.is_libnvme_warning())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "/etc/nvme/nvme-stas.conf:3: unknown key \"bogus\" ignored",
            "/etc/nvme/nvme-stas.conf.d/10-a.conf:3: unknown key \"future-key\" ignored",
        ]
    );
}

#[test]
fn endpoint_without_paths_is_a_warning() {
    let c = load(SUB);
    assert!(c.is_empty());
    assert_eq!(
        c.warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["/etc/nvme/nvme-stas.conf:1: [Subsystem] has no controller line; nothing to connect"]
    );
}

#[test]
fn runtime_defaults_are_the_main_files_defaults_and_host() {
    let main = "[Discovery Controller Defaults]\nkeep-alive-tmo = 30\n\
                [I/O Controller Defaults]\nkeep-alive-tmo = 5\nctrl-loss-tmo = 600\n\
                [Host]\ntls = yes\nctrl-loss-tmo = 900\n";
    let dropin = "[I/O Controller Defaults]\nkeep-alive-tmo = 7\n\
                  [Host]\nhostnqn = nqn.2014-08.org.example:d\nhostid = \
                  46ba5037-7ce5-41fa-9452-48477bf00080\nreconnect-delay = 3\n\
                  [Discovery Controller]\nkeep-alive-tmo = 99\n\
                  controller = transport=tcp;traddr=192.0.2.1\n";
    let c = try_load(Some(main), &[("10-d.conf", dropin)]).unwrap_or_else(|e| panic!("{e}"));
    let dc = c.runtime_defaults(ControllerKind::Discovery);
    let ioc = c.runtime_defaults(ControllerKind::Io);
    assert_eq!(dc.tunables.keep_alive_tmo, Some(30));
    assert_eq!(dc.security.tls, Some(true), "main [Host] parameters apply");
    assert_eq!(
        (ioc.tunables.keep_alive_tmo, ioc.tunables.ctrl_loss_tmo),
        (Some(5), Some(900))
    );
    assert_eq!(
        ioc.tunables.reconnect_delay, None,
        "drop-ins never contribute"
    );
    // Through the drop-in's DC: main defaults < drop-in defaults < drop-in [Host]; never
    // the DC's own section.
    let via = &c.discovery[0];
    let ioc = via.discovered_defaults(ControllerKind::Io);
    let dc = via.discovered_defaults(ControllerKind::Discovery);
    assert_eq!(
        ioc.map(|s| (
            s.tunables.keep_alive_tmo,
            s.tunables.ctrl_loss_tmo,
            s.tunables.reconnect_delay
        )),
        Some((Some(7), Some(600), Some(3)))
    );
    assert_eq!(dc.and_then(|s| s.tunables.keep_alive_tmo), Some(30));
    assert_eq!(
        dc.and_then(|s| s.security.tls),
        None,
        "main [Host] is not this file's"
    );
    assert_eq!(via.paths[0].settings.tunables.keep_alive_tmo, Some(99));
    assert!(c.subsystems.is_empty());
    assert!(
        c.discovery[0]
            .discovered_defaults(ControllerKind::Io)
            .is_some()
            && load(&format!("{SUB}{PATH}")).subsystems[0]
                .discovered_defaults(ControllerKind::Io)
                .is_none()
    );
}
