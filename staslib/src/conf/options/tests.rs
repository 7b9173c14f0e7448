use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use libnvme_rs::trid::Transport;

use super::*;
use crate::conf::generation::Generation;

const F: &str = "/tmp/stas-test.conf";

fn load(daemon: Daemon, text: &str) -> LoadedConfig {
    parse_service_config(daemon, text, Path::new(F), ConfFormat::Ini)
}

fn load_toml(daemon: Daemon, text: &str) -> LoadedConfig {
    parse_service_config(
        daemon,
        text,
        Path::new("/tmp/stas-test.toml"),
        ConfFormat::Toml,
    )
}

fn messages(l: &LoadedConfig) -> Vec<String> {
    l.diagnostics.iter().map(|d| d.message.clone()).collect()
}

/// upstream test/test-config.py, first file.
const UPSTREAM_TEST_CONF: &str = "[Global]
tron=true
kato=200
ip-family=ipv6

[I/O controller connection management]
disconnect-scope = joe
disconnect-trtypes = bob
connect-attempts-on-ncc = 1

[Controllers]
controller=transport=tcp;traddr=100.100.100.100;host-iface=enp0s8
controller=transport=tcp;traddr=100.100.100.200;host-iface=enp0s7;dhchap-ctrl-secret=super-secret;hdr-digest=true;data-digest=true;nr-io-queues=8;nr-write-queues=6;nr-poll-queues=4;queue-size=400;kato=71;reconnect-delay=13;ctrl-loss-tmo=666;disable-sqflow=true
exclude=transport=tcp;traddr=10.10.10.10
";

#[test]
fn upstream_test_config_stacd() {
    let l = load(Daemon::Stacd, UPSTREAM_TEST_CONF);
    let c = &l.config;
    assert!(c.global.tron.value);
    assert!(!c.global.hdr_digest.value);
    assert!(!c.global.data_digest.value);
    assert!(!c.global.ignore_iface.value);
    assert_eq!(c.global.kato.value, Some(200));
    assert_eq!(c.global.kato.source, Source::File(Some(3)));
    assert_eq!(c.global.ip_family.value, IpFamily::IPV6);
    let s = c.stacd().unwrap();
    assert_eq!(
        s.disconnect_scope.value,
        DisconnectScope::OnlyStasConnections
    );
    assert_eq!(s.disconnect_scope.source, Source::InvalidDefault(Some(7)));
    assert_eq!(s.disconnect_trtypes.value, BTreeSet::from([Transport::Tcp]));
    assert_eq!(s.connect_attempts_on_ncc.value, 2);
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [I/O controller connection management]: disconnect-scope \
             - Text check found invalid value \"['joe']\". Default will be used",
            "File:/tmp/stas-test.conf [I/O controller connection management]: \
             disconnect-trtypes - List checker found invalid item \"bob\" will be ignored.",
            // stacd needs an NQN: both controllers are dropped (upstream drops them at
            // reconcile time, silently).
            "File:/tmp/stas-test.conf [Controllers]: controller - Entry ignored: no subsysnqn \
             (mandatory for I/O controllers)",
            "File:/tmp/stas-test.conf [Controllers]: controller - Entry ignored: no subsysnqn \
             (mandatory for I/O controllers)",
        ]
    );
    assert_eq!(l.diagnostics[0].line, Some(7));
    assert!(l.diagnostics.iter().all(|d| d.level == Level::Warning));
    assert!(c.controllers.is_empty());
    assert_eq!(c.exclusions.len(), 1);
    assert_eq!(
        c.exclusions[0].pairs,
        vec![
            ("transport".to_owned(), "tcp".to_owned()),
            ("traddr".to_owned(), "10.10.10.10".to_owned())
        ]
    );

    // Second file of the upstream test.
    let l = load(
        Daemon::Stacd,
        "[I/O controller connection management]\ndisconnect-trtypes = tcp+rdma+fc\n\
         connect-attempts-on-ncc = hello\n",
    );
    let s = l.config.stacd().unwrap();
    assert_eq!(s.connect_attempts_on_ncc.value, 0);
    assert_eq!(
        s.disconnect_trtypes.value,
        BTreeSet::from([Transport::Tcp, Transport::Rdma, Transport::Fc])
    );
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [I/O controller connection management]: \
          connect-attempts-on-ncc - Data converter found invalid value \"['hello']\". Default \
          will be used"
        ]
    );
    for (text, fam) in [
        ("ipv4", IpFamily::IPV4),
        ("ipv4+ipv6", IpFamily::BOTH),
        ("ipv6+ipv4", IpFamily::BOTH),
    ] {
        let l = load(Daemon::Stacd, &format!("[Global]\nip-family={text}\n"));
        assert_eq!(l.config.global.ip_family.value, fam);
    }
}

#[test]
fn upstream_test_config_stafd_keeps_controllers() {
    let l = load(Daemon::Stafd, UPSTREAM_TEST_CONF);
    let c = &l.config;
    assert_eq!(c.controllers.len(), 2);
    assert_eq!(c.controllers[0].host_iface, "enp0s8");
    assert_eq!(
        c.controllers[0].subsysnqn,
        libnvme_rs::spec::WELL_KNOWN_DISC_NQN
    );
    assert_eq!(c.controllers[1].overrides.kato, Some(71));
    assert_eq!(c.controllers[1].line, Some(13));
    // The stacd section is invalid in stafd.conf and not read.
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf contains invalid sections: {'I/O controller connection \
          management'}"
        ]
    );
    assert_eq!(l.diagnostics[0].level, Level::Error);
    assert_eq!(l.diagnostics[0].line, Some(6));
    assert!(l.has_errors());
    let s = c.stafd().unwrap();
    assert!(s.zeroconf.value && s.persistent_connections.value);
    assert!(c.global.pleo.value);
}

#[test]
fn per_daemon_defaults() {
    let f = ServiceConfig::defaults(Daemon::Stafd, Path::new(F));
    assert_eq!(f.global.kato.value, Some(30));
    let s = f.stafd().unwrap();
    assert_eq!(s.zeroconf_connections_persistence.value, 259_200.0);
    assert_eq!(s.stypes(), ["_nvme-disc._tcp", "_nvme-disc._udp"]);
    assert!(f.stacd().is_none());
    let c = ServiceConfig::defaults(Daemon::Stacd, Path::new(F));
    assert_eq!(c.global.kato.value, None);
    let p = c.global.connect_params();
    assert_eq!(p.hdr_digest, Some(false));
    assert_eq!(p.disable_sqflow, None);
    assert_eq!(p.queue_size, None);
    let s = c.stacd().unwrap();
    assert_eq!(s.disconnect_scope.value.as_str(), "only-stas-connections");
    assert_eq!(s.connect_attempts_on_ncc.value, 0);
    // An empty file is all defaults, without diagnostics.
    for d in [Daemon::Stafd, Daemon::Stacd] {
        let l = load(d, "");
        assert!(l.diagnostics.is_empty());
        assert_eq!(l.config, ServiceConfig::defaults(d, Path::new(F)));
    }
}

#[test]
fn invalid_sections_and_options_are_errors() {
    let text = "[global]\ntron=true\n[DEFAULT]\n[Global]\nip-family : ipv4\nnr-io-queues=4\n\
                pleo=disabled\n[Service Discovery]\nzeroconf=disabled\n";
    let l = load(Daemon::Stafd, text);
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf contains invalid sections: {'global'}",
            "File:/tmp/stas-test.conf contains invalid sections: {'DEFAULT'}",
            "File:/tmp/stas-test.conf [Global] contains invalid options: {'ip-family : ipv4'}",
            "File:/tmp/stas-test.conf [Global] contains invalid options: {'nr-io-queues'}",
        ]
    );
    let lines: Vec<_> = l.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [Some(1), Some(3), Some(5), Some(6)]);
    // `[global]` is ignored; nr-io-queues is invalid in stafd.conf but still read.
    assert!(!l.config.global.tron.value);
    assert_eq!(l.config.global.nr_io_queues.value, Some(4));
    assert!(!l.config.global.pleo.value);
    assert!(!l.config.stafd().unwrap().zeroconf.value);
    assert_eq!(l.config.stafd().unwrap().stypes(), [] as [&str; 0]);

    // pleo is invalid in stacd.conf and not read; the stafd sections are invalid.
    let l = load(
        Daemon::Stacd,
        "[Global]\npleo=bogus\n[Service Discovery]\nzeroconf=enabled\n",
    );
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [Global] contains invalid options: {'pleo'}",
            "File:/tmp/stas-test.conf contains invalid sections: {'Service Discovery'}",
        ]
    );
}

#[test]
fn value_warnings_quote_upstream_texts() {
    let l = load(
        Daemon::Stacd,
        "[Global]\nqueue-size=5\nkato=\nhdr-digest=yes\nip-family=IPv4\nctrl-loss-tmo=1.5\n",
    );
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [Global]: queue-size - \"5\" is not within range \
             16..1024. Default will be used",
            "File:/tmp/stas-test.conf [Global]: kato - Data converter found invalid value \
             \"['']\". Default will be used",
            "File:/tmp/stas-test.conf [Global]: hdr-digest - Text check found invalid value \
             \"['yes']\". Default will be used",
            "File:/tmp/stas-test.conf [Global]: ip-family - Text check found invalid value \
             \"['IPv4']\". Default will be used",
            "File:/tmp/stas-test.conf [Global]: ctrl-loss-tmo - Data converter found invalid \
             value \"['1.5']\". Default will be used",
        ]
    );
    let g = &l.config.global;
    assert_eq!(g.queue_size.value, None);
    assert_eq!(g.queue_size.source, Source::InvalidDefault(Some(2)));
    assert_eq!(g.ip_family.value, IpFamily::BOTH);
    // stafd falls back to its own default.
    let l = load(Daemon::Stafd, "[Global]\nkato=abc\n");
    assert_eq!(l.config.global.kato.value, Some(30));
}

#[test]
fn fix2_bare_keys_are_a_warning_and_the_default() {
    let l = load(
        Daemon::Stafd,
        "[Global]\ntron\nkato\n[Discovery controller connection management]\n\
         zeroconf-connections-persistence\n[Controllers]\nexclude\n",
    );
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [Global]: tron - Text check found invalid value \"None\". \
             Default will be used",
            "File:/tmp/stas-test.conf [Global]: kato - Data converter found invalid value \
             \"None\". Default will be used",
            "File:/tmp/stas-test.conf [Discovery controller connection management]: \
             zeroconf-connections-persistence - Data converter found invalid value \"None\". \
             Default will be used",
            "File:/tmp/stas-test.conf [Controllers]: exclude - No value given: ignored",
        ]
    );
    assert!(!l.config.global.tron.value);
    assert_eq!(l.config.global.kato.value, Some(30));
    assert!(l.config.exclusions.is_empty());
    assert!(!l.has_errors());
    let l = load(
        Daemon::Stacd,
        "[I/O controller connection management]\ndisconnect-trtypes\n",
    );
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(
        l.config.stacd().unwrap().disconnect_trtypes.value,
        BTreeSet::from([Transport::Tcp])
    );
}

#[test]
fn ini_dialect_consequences() {
    // Option names case-insensitive, boolean values case-insensitive, the last occurrence
    // and the last physical line count, `%` literal, inline comments are part of the value.
    let l = load(
        Daemon::Stacd,
        "[Global]\nKATO=5\nTRON=TRUE\nkato=7\nqueue-size=100\n    200\n\
         [Controllers]\nexclude = host-iface=eth0 # x\n\
         controller=transport=tcp;traddr=1.1.1.1;nqn=n%1\n    transport=tcp;traddr=2.2.2.2;nqn=n2\n\
         [Global]\nignore-iface=True\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let c = &l.config;
    assert_eq!(c.global.kato.value, Some(7));
    assert_eq!(c.global.kato.source, Source::File(Some(4)));
    assert!(c.global.tron.value);
    assert_eq!(c.global.queue_size.value, Some(200));
    assert!(c.global.ignore_iface.value);
    assert_eq!(c.exclusions[0].pairs[0].1, "eth0 # x");
    assert_eq!(
        c.controllers.len(),
        2,
        "a continuation line is a second entry"
    );
    assert_eq!(c.controllers[0].subsysnqn, "n%1");
    assert_eq!(c.controllers[1].traddr, "2.2.2.2");

    // Repeated keys: the warning shows every occurrence as a Python list.
    let l = load(Daemon::Stacd, "[Global]\nkato=1\nkato=abc\n");
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [Global]: kato - Data converter found invalid value \
          \"['1', 'abc']\". Default will be used"
        ]
    );
    assert_eq!(l.diagnostics[0].line, Some(3));
}

#[test]
fn blank_lines_between_list_keys_add_no_entries() {
    // configparser turns the blank line into an empty `exclude` item (which upstream
    // matches against everything); it is skipped silently here.
    let l = load(
        Daemon::Stafd,
        "[Controllers]\nexclude=traddr=1.1.1.1\n\nexclude=traddr=2.2.2.2\n\n\
         controller=transport=tcp;traddr=3.3.3.3\n\ncontroller=transport=tcp;traddr=4.4.4.4\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.config.exclusions.len(), 2);
    assert_eq!(l.config.controllers.len(), 2);
}

#[test]
fn fix3_empty_exclude_line() {
    let l = load(Daemon::Stafd, "[Controllers]\nexclude=\nexclude = ;;\n");
    assert!(l.config.exclusions.is_empty());
    assert_eq!(l.diagnostics.len(), 2);
    assert_eq!(
        l.diagnostics[0].message,
        "File:/tmp/stas-test.conf [Controllers]: exclude - Empty exclusion ignored (upstream \
         nvme-stas would exclude every controller)"
    );
    assert_eq!(l.diagnostics[1].line, Some(3));
}

#[test]
fn deprecated_aliases_are_accepted_with_a_warning() {
    // blacklist= (1.x–2.4.1) in both daemons.
    for d in [Daemon::Stafd, Daemon::Stacd] {
        let l = load(
            d,
            "[Controllers]\nblacklist=traddr=1.1.1.1\nexclude=traddr=2.2.2.2\n",
        );
        assert_eq!(
            messages(&l),
            [
                "File:/tmp/stas-test.conf [Controllers]: blacklist - deprecated alias of \
              \"exclude\" (removed in nvme-stas 3.0); accepted, please use \"exclude\""
            ]
        );
        assert_eq!(l.diagnostics[0].level, Level::Warning);
        let traddrs: Vec<&str> = l
            .config
            .exclusions
            .iter()
            .map(|e| e.pairs[0].1.as_str())
            .collect();
        assert_eq!(traddrs, ["1.1.1.1", "2.2.2.2"]);
    }

    // [Global] persistent-connections (stafd ≤ 2.4.1): explicit values OR-ed.
    let pc = |text: &str| {
        let l = load(Daemon::Stafd, text);
        (l.config.stafd().unwrap().persistent_connections, l)
    };
    let dc = "[Discovery controller connection management]\n";
    let (s, l) = pc("[Global]\npersistent-connections=false\n");
    assert!(!s.value);
    assert_eq!(s.source, Source::File(Some(2)));
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [Global]: persistent-connections - deprecated location \
          (removed in nvme-stas 3.0); accepted, please move it to [Discovery controller \
          connection management]"
        ]
    );
    let (s, _) = pc(&format!(
        "[Global]\npersistent-connections=true\n{dc}persistent-connections=false\n"
    ));
    assert!(s.value);
    assert_eq!(s.source, Source::File(Some(2)));
    let (s, _) = pc(&format!(
        "[Global]\npersistent-connections=false\n{dc}persistent-connections=false\n"
    ));
    assert!(!s.value);
    assert_eq!(s.source, Source::File(Some(4)));
    let (s, _) = pc(&format!("{dc}persistent-connections=FALSE\n"));
    assert!(!s.value);
    let (s, _) = pc("");
    assert!(s.value);
    assert_eq!(s.source, Source::Default);

    // In stacd it is just an invalid option.
    let l = load(Daemon::Stacd, "[Global]\npersistent-connections=false\n");
    assert_eq!(l.diagnostics[0].level, Level::Error);
}

#[test]
fn removed_options_are_invalid_with_a_hint() {
    let l = load(
        Daemon::Stacd,
        "[Global]\nudev-rule=enabled\nsticky-connections=disabled\n",
    );
    assert_eq!(
        messages(&l),
        [
            "File:/tmp/stas-test.conf [Global] contains invalid options: {'udev-rule'} \
             (removed in nvme-stas 2.1.3)",
            "File:/tmp/stas-test.conf [Global] contains invalid options: \
             {'sticky-connections'} (replaced in nvme-stas 2.0 by [I/O controller connection \
             management] disconnect-scope and disconnect-trtypes)",
        ]
    );
    assert!(l.has_errors());
}

#[test]
fn zeroconf_persistence_time_spans() {
    let p = |v: &str| {
        let l = load(
            Daemon::Stafd,
            &format!(
                "[Discovery controller connection management]\n\
                 zeroconf-connections-persistence={v}\n"
            ),
        );
        (
            l.config
                .stafd()
                .unwrap()
                .zeroconf_connections_persistence
                .value,
            l.diagnostics.len(),
        )
    };
    assert_eq!(p("1 day 2 hours"), (93_600.0, 0));
    assert_eq!(p("72hours"), (259_200.0, 0));
    assert_eq!(p("-1"), (-1.0, 0));
    assert_eq!(p("0"), (0.0, 0));
    assert_eq!(p("0.5"), (0.5, 0));
    // Upstream keeps "null" and crashes later.
    assert_eq!(p("blah"), (259_200.0, 1));
}

#[test]
fn stacd_disconnect_policy_helpers() {
    let policy = |scope: &str, trtypes: &str| {
        let l = load(
            Daemon::Stacd,
            &format!(
                "[I/O controller connection management]\ndisconnect-scope={scope}\n\
                 disconnect-trtypes={trtypes}\n"
            ),
        );
        l.config.stacd().unwrap().clone()
    };
    let p = policy("only-stas-connections", "tcp");
    assert!(!p.keep_connection_on_removal(Transport::Rdma));
    let p = policy("no-disconnect", "tcp");
    assert!(p.keep_connection_on_removal(Transport::Tcp));
    let p = policy("all-connections-matching-disconnect-trtypes", "tcp+rdma");
    assert!(!p.keep_connection_on_removal(Transport::Tcp));
    assert!(!p.keep_connection_on_removal(Transport::Rdma));
    assert!(p.keep_connection_on_removal(Transport::Fc));
    assert!(p.trtype_selected(Transport::Rdma));
    // Case-sensitive, no spaces: nothing valid left → default tcp.
    let l = load(
        Daemon::Stacd,
        "[I/O controller connection management]\ndisconnect-trtypes=TCP+loop\n",
    );
    assert_eq!(l.diagnostics.len(), 2);
    assert_eq!(
        l.config.stacd().unwrap().disconnect_trtypes.value,
        BTreeSet::from([Transport::Tcp])
    );
}

#[test]
fn fix5_via_the_file() {
    let l = load(
        Daemon::Stafd,
        "[Global]\nkato=45\n[Controllers]\ncontroller=transport=tcp;traddr=1.1.1.1;kato=abc\n",
    );
    let c = &l.config;
    let p = c.controllers[0].connect_params(&c.global.connect_params());
    assert_eq!(p.kato, Some(45), "upstream: 30 (the built-in default)");
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(l.diagnostics[0].line, Some(4));
}

#[test]
fn unparsable_ini_is_an_error_and_defaults() {
    let l = load(Daemon::Stafd, "tron=true\n[Global]\n");
    assert!(l.has_errors());
    assert_eq!(l.diagnostics[0].line, Some(1));
    assert!(
        l.diagnostics[0]
            .message
            .starts_with("File:/tmp/stas-test.conf cannot be parsed: "),
        "{}",
        l.diagnostics[0].message
    );
    assert_eq!(
        l.config,
        ServiceConfig::defaults(Daemon::Stafd, Path::new(F))
    );
}

#[test]
fn diagnostic_display() {
    let d = Diagnostic {
        level: Level::Warning,
        file: F.into(),
        line: Some(3),
        message: "m".into(),
    };
    assert_eq!(d.to_string(), "/tmp/stas-test.conf:3: warning: m");
    let d = Diagnostic {
        level: Level::Error,
        line: None,
        ..d
    };
    assert_eq!(d.to_string(), "/tmp/stas-test.conf: error: m");
}

// --- TOML -----------------------------------------------------------------------------------

const TOML_CONF: &str = r#"
[Global]
tron = true
kato = 200
ip-family = "ipv6"
queue-size = 0x40

[Controllers]
exclude = [{ transport = "tcp", traddr = "10.10.10.10" }, "host-iface=eth9"]

[[Controllers.controller]]
transport = "tcp"
traddr = "100.100.100.200"
nqn = "nqn.io"
host-iface = "enp0s7"
dhchap-secret = "DHHC-1:00:abc==:"
hdr-digest = true
kato = 71

[[Controllers.controller]]
transport = "fc"
traddr = "nn-0x1:pn-0x2"
nqn = "nqn.fc"
"#;

#[test]
fn toml_form_matches_ini_form() {
    let t = load_toml(Daemon::Stacd, TOML_CONF);
    assert!(t.diagnostics.is_empty(), "{:?}", t.diagnostics);
    assert_eq!(t.format, ConfFormat::Toml);
    let ini = load(
        Daemon::Stacd,
        "[Global]\ntron=true\nkato=200\nip-family=ipv6\nqueue-size=64\n[Controllers]\n\
         exclude=transport=tcp;traddr=10.10.10.10\nexclude=host-iface=eth9\n\
         controller=transport=tcp;traddr=100.100.100.200;nqn=nqn.io;host-iface=enp0s7;\
         dhchap-secret=DHHC-1:00:abc==:;hdr-digest=true;kato=71\n\
         controller=transport=fc;traddr=nn-0x1:pn-0x2;nqn=nqn.fc\n",
    );
    let (a, b) = (&t.config, &ini.config);
    assert_eq!(a.global.tron.value, b.global.tron.value);
    assert_eq!(a.global.kato.value, b.global.kato.value);
    assert_eq!(a.global.ip_family.value, b.global.ip_family.value);
    assert_eq!(a.global.queue_size.value, Some(64));
    assert_eq!(a.exclusions.len(), 2);
    assert_eq!(a.exclusions[0].pairs, b.exclusions[0].pairs);
    assert_eq!(a.exclusions[1].pairs, b.exclusions[1].pairs);
    assert_eq!(a.controllers.len(), 2);
    for (x, y) in a.controllers.iter().zip(&b.controllers) {
        assert_eq!(x.tid("h", false), y.tid("h", false));
        assert_eq!(x.overrides, y.overrides);
        assert_eq!(x.dhchap_secret, y.dhchap_secret);
    }
    assert_eq!(a.controllers[0].line, Some(11));
    assert_eq!(a.global.kato.source, Source::File(Some(4)));
}

#[test]
fn toml_diagnostics_have_lines() {
    let t = load_toml(
        Daemon::Stafd,
        "[Global]\nkato = \"abc\"\npleo = false\nbogus = 1\n[\"Service Discovery\"]\n\
         zeroconf = \"disabled\"\n[global]\nx = 1\n[Controllers]\ncontroller = 5\n\
         [[Controllers.exclude]]\nhost-traddr = \"1.1.1.1\"\n",
    );
    let got: Vec<(Option<usize>, Level, String)> = t
        .diagnostics
        .iter()
        .map(|d| (d.line, d.level, d.message.clone()))
        .collect();
    let w = Level::Warning;
    let e = Level::Error;
    let toml = "/tmp/stas-test.toml";
    assert_eq!(
        got,
        [
            (
                Some(2),
                w,
                format!(
                    "File:{toml} [Global]: kato - Data converter found invalid value \"['abc']\". \
                     Default will be used"
                )
            ),
            (
                Some(4),
                e,
                format!("File:{toml} [Global] contains invalid options: {{'bogus'}}")
            ),
            (
                Some(7),
                e,
                format!("File:{toml} contains invalid sections: {{'global'}}")
            ),
            (
                Some(10),
                w,
                format!(
                    "File:{toml} [Controllers]: controller - Token '5' ignored: expected \
                     key=value"
                )
            ),
            (
                Some(10),
                w,
                format!("File:{toml} [Controllers]: controller - Entry ignored: no transport")
            ),
            (
                Some(11),
                w,
                format!(
                    "File:{toml} [Controllers]: exclude - Exclusion ignored: host-traddr is not \
                     matched and nothing else is given (upstream nvme-stas would exclude every \
                     controller)"
                )
            ),
        ]
    );
    assert!(!t.config.global.pleo.value);
    assert!(!t.config.stafd().unwrap().zeroconf.value);

    let t = load_toml(Daemon::Stafd, "[Global]\nkato = 1\nkato = 2\n");
    assert!(t.has_errors());
    assert_eq!(t.diagnostics[0].line, Some(3));
    let t = load_toml(Daemon::Stafd, "tron = true\n[Global]\ntron = false\n");
    assert_eq!(
        t.diagnostics[0].message,
        "File:/tmp/stas-test.toml contains an option outside any section: 'tron'"
    );
    let t = load_toml(
        Daemon::Stafd,
        "[Global]\ntron = [true, {a = 1}]\nkato = [1, 2]\n",
    );
    assert!(t.config.global.tron.value);
    assert_eq!(t.config.global.kato.value, Some(2));
    assert_eq!(t.diagnostics.len(), 1);
}

// --- loading files --------------------------------------------------------------------------

#[test]
fn load_files_by_extension_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.conf");
    let l = load_service_config(Daemon::Stafd, &missing);
    assert!(!l.found && l.diagnostics.is_empty());
    assert_eq!(l.config, ServiceConfig::defaults(Daemon::Stafd, &missing));

    let l = load_service_config(Daemon::Stafd, dir.path());
    assert!(l.found && l.has_errors());

    let toml = dir.path().join("stacd.TOML");
    std::fs::write(&toml, "[Global]\nkato = 9\n").unwrap();
    let l = load_service_config(Daemon::Stacd, &toml);
    assert_eq!(l.format, ConfFormat::Toml);
    assert_eq!(l.config.global.kato.value, Some(9));

    let ini = dir.path().join("stacd.conf");
    std::fs::write(&ini, b"[Global]\nkato=9\n[\xff\xfe]\n").unwrap();
    let l = load_service_config(Daemon::Stacd, &ini);
    assert_eq!(l.format, ConfFormat::Ini);
    assert_eq!(l.config.global.kato.value, Some(9));
    assert!(l.diagnostics[0].message.contains("not valid UTF-8"));
}

// --- robustness -----------------------------------------------------------------------------

#[test]
fn malformed_configs_never_panic_and_are_fast() {
    let mut garbage = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..65_536 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        garbage.push((x >> 24) as u8);
    }
    let garbage = String::from_utf8_lossy(&garbage).into_owned();
    let with_header = format!("[Global]\n{garbage}\n[Controllers]\ncontroller={garbage}\n");
    let big_line = format!(
        "[Controllers]\ncontroller=transport=tcp;traddr={}\n",
        "x".repeat(1 << 20)
    );
    let repeated_ok = format!("[Global]\n{}", "kato=5\n".repeat(100_000));
    let repeated_bad = format!("[Global]\n{}", "kato=abc\n".repeat(100_000));
    let repeated_ctrl = format!(
        "[Controllers]\n{}",
        "controller=transport=tcp;traddr=1.1.1.1\n".repeat(100_000)
    );
    let start = Instant::now();
    for daemon in [Daemon::Stafd, Daemon::Stacd] {
        for text in [&garbage, &with_header, &big_line] {
            let _ = load(daemon, text);
            let _ = load_toml(daemon, text);
            let _ = SysConfig::parse(text, Path::new("/etc/stas/sys.conf"));
        }
        let _ = load_toml(daemon, &repeated_ctrl);
    }
    let l = load(Daemon::Stafd, &repeated_ok);
    assert_eq!(l.config.global.kato.value, Some(5));
    let l = load(Daemon::Stafd, &repeated_bad);
    assert_eq!(l.diagnostics.len(), 1);
    let l = load(Daemon::Stafd, &repeated_ctrl);
    assert_eq!(l.config.controllers.len(), 100_000);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn any_text_loads(s in "(\\PC|\n|\\[|\\]|=|;){0,300}") {
            for d in [Daemon::Stafd, Daemon::Stacd] {
                let l = load(d, &s);
                prop_assert!(l.diagnostics.iter().all(|x| x.message.starts_with("File:")));
                let _ = load_toml(d, &s);
            }
        }

        #[test]
        fn any_value_of_any_option(section in "(Global|Service Discovery|Discovery controller connection management|I/O controller connection management|Controllers)",
                                   key in "(tron|kato|queue-size|ip-family|pleo|zeroconf|persistent-connections|zeroconf-connections-persistence|disconnect-scope|disconnect-trtypes|connect-attempts-on-ncc|controller|exclude|blacklist)",
                                   value in "\\PC{0,40}") {
            for d in [Daemon::Stafd, Daemon::Stacd] {
                let _ = load(d, &format!("[{section}]\n{key}={value}\n"));
                let _ = load(d, &format!("[{section}]\n{key}\n"));
            }
        }
    }
}

// --- sys.conf -------------------------------------------------------------------------------

#[test]
fn sys_conf_host_section() {
    let nqn = "nqn.2014-08.org.nvmexpress:uuid:9aae2691-b275-4b64-8bfe-5da429a2bab9";
    let text = format!(
        "[Host]\nnqn={nqn}\nid=56529e15-0f3e-4ede-87e2-63932a4adb99\nkey=DHHC-1:03:x:\n\
         symname=Bart Simpson\n[Other]\nfoo\n"
    );
    let (s, d) = SysConfig::parse(&text, Path::new("/etc/stas/sys.conf"));
    assert!(d.is_empty(), "unknown sections are not reported: {d:?}");
    assert_eq!(s.nqn.as_ref().unwrap().value, nqn);
    assert_eq!(s.nqn.as_ref().unwrap().line, Some(2));
    assert_eq!(s.resolve_symname(), Ok(Some("Bart Simpson".into())));
    let hs = s.host_sources(Path::new("/nonexistent"));
    assert_eq!(hs.hostnqn().unwrap(), nqn);
    assert_eq!(hs.hostkey().unwrap().as_deref(), Some("DHHC-1:03:x:"));

    let (s, d) = SysConfig::parse(
        "[Host]\nnqn\nsymname=file:///nonexistent/symname\n",
        Path::new("/etc/stas/sys.conf"),
    );
    assert_eq!(d.len(), 1);
    assert!(s.nqn.is_none());
    assert!(
        s.resolve_symname()
            .unwrap_err()
            .starts_with("Error reading host symbolic name (will remain undefined): ")
    );
    let (s, _) = SysConfig::load(Path::new("/nonexistent/sys.conf"));
    assert_eq!(s.host_sources(Path::new("/e")).etc_nvme, Path::new("/e"));
    assert!(s.id.is_none() && s.key.is_none() && s.symname.is_none());
}

fn load_v3(daemon: Daemon, text: &str) -> LoadedConfig {
    parse_service_config_as(daemon, text, Path::new(F), Generation::V3)
}

#[test]
fn v3_daemon_files_keep_only_the_keys_3x_kept() {
    let l = load_v3(
        Daemon::Stafd,
        "[Global]\ntron=true\nip-family=ipv4\npleo=disabled\n\
         [Service Discovery]\nzeroconf=disabled\n\
         [Discovery controller connection management]\n\
         epcsd-poll-interval-minutes=5\ndc-giveup-timeout=1M\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let c = &l.config;
    assert_eq!(c.generation, Generation::V3);
    assert!(c.global.tron.value);
    assert_eq!(c.global.ip_family.value, IpFamily::IPV4);
    assert!(!c.global.pleo.value);
    let o = c.stafd().unwrap();
    assert!(!o.zeroconf.value);
    assert_eq!(o.epcsd_poll_minutes.value, 5);
    // systemd's M is a month (2.x's timeparse read it as minutes).
    assert_eq!(o.zeroconf_connections_persistence.value, 2_629_800.0);
    let l = load_v3(
        Daemon::Stafd,
        "[Discovery controller connection management]\ndc-giveup-timeout=infinity\n",
    );
    assert_eq!(
        l.config
            .stafd()
            .unwrap()
            .zeroconf_connections_persistence
            .value,
        -1.0
    );

    let l = load_v3(
        Daemon::Stacd,
        "[I/O controller connection management]\nhonor-fabric-zoning=no\nconnect-attempts-on-ncc=1\n",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let o = l.config.stacd().unwrap();
    assert_eq!(o.disconnect_scope.value, DisconnectScope::NoDisconnect);
    assert_eq!(o.connect_attempts_on_ncc.value, 2);
    let l = load_v3(Daemon::Stacd, "");
    assert_eq!(
        l.config.stacd().unwrap().disconnect_scope.value,
        DisconnectScope::OnlyStasConnections,
        "honor-fabric-zoning defaults to yes"
    );
}

#[test]
fn v3_daemon_files_reject_2x_keys_and_say_where_they_went() {
    let l = load_v3(
        Daemon::Stafd,
        "[Global]\nkato=30\ntron=true\n\
         [Discovery controller connection management]\n\
         zeroconf-connections-persistence=2h\nepcsd-poll-interval-minutes=0\n\
         [Controllers]\ncontroller=transport=tcp;traddr=10.0.0.1\n",
    );
    let m = messages(&l);
    assert_eq!(
        m,
        [
            format!(
                "File:{F} [Global] contains invalid options: {{'kato'}} (moved to \
                 nvme-stas.conf as keep-alive-tmo)"
            ),
            format!(
                "File:{F} [Discovery controller connection management] contains invalid \
                 options: {{'zeroconf-connections-persistence'}} (renamed dc-giveup-timeout \
                 in nvme-stas 3.0 (a systemd time span))"
            ),
            format!(
                "File:{F} [Discovery controller connection management]: \
                 epcsd-poll-interval-minutes - \"0\" is not within range 1..9223372036854775807. \
                 Default will be used"
            ),
            format!(
                "File:{F} contains invalid sections: {{'Controllers'}} (removed in nvme-stas \
                 3.0: controllers are defined in nvme-stas.conf; these entries are ignored)"
            ),
        ],
        "{m:#?}"
    );
    let c = &l.config;
    assert!(c.global.tron.value, "valid keys still apply");
    assert_eq!(
        c.global.kato.source,
        Source::Default,
        "a 2.x key is not applied"
    );
    assert!(c.controllers.is_empty());
    assert_eq!(c.stafd().unwrap().epcsd_poll_minutes.value, 15);
    let l = load_v3(
        Daemon::Stacd,
        "[I/O controller connection management]\ndisconnect-scope=no-disconnect\nhonor-fabric-zoning=maybe\n",
    );
    let m = messages(&l);
    assert!(
        m[0].ends_with("(replaced by honor-fabric-zoning in nvme-stas 3.0)"),
        "{m:?}"
    );
    assert!(
        m[1].contains("honor-fabric-zoning - Text check found invalid value"),
        "{m:?}"
    );
}
