//! Loading either generation into the one typed model ([`ServiceConfig`]), so the daemons
//! never see which file a value came from (issue #10).
//!
//! * 2.x: `/etc/stas/<daemon>.conf`, as before.
//! * 3.x: the 3.x daemon file (3.x keys only) plus the connection file
//!   ([`conn_ini`], `nvme-stas.conf` + `.d/`). stafd takes its `[Discovery Controller]`
//!   sections, stacd its `[Subsystem]` sections; every `controller =` path becomes one
//!   [`ControllerEntry`], built through the same validation as a 2.x `controller=` line
//!   with the path's fully resolved settings (`keep-alive-tmo` is 2.x's `kato`,
//!   `kxchap-*` the kernel's `dhchap-*`), and `persistent` kept as the entry's `persistent`
//!   pair. The type defaults of the main file become `[Global]`'s connect parameters, which
//!   controllers found at run time (referrals, mDNS, log pages) use (spec 3.x §3).
//! * What a path sets beyond the 2.x model — TLS (`tls`, `concat`, `keyring`, `tls-key`,
//!   `tls-key-identity`), `fast-io-fail-tmo`, `tos`, `duplicate-connect` — goes to its
//!   entry's [`V3Params`](super::controller::V3Params) (kernel backend).

use std::path::Path;

use super::conn_ini::{self, ConnConfig, ConnPath, ControllerKind, Endpoint, Settings};
use super::controller::{ControllerEntry, ItemContext};
use super::generation::{CONN_CONF_FILE, Generation, Layout};
use super::options::{
    ConnectParams, Daemon, Diagnostic, Level, LoadedConfig, ServiceConfig, Setting, Source,
    load_service_config, load_service_config_as,
};

/// Reads the files of `layout` for `daemon`. Never fails: problems are diagnostics (errors
/// make the daemon keep its last good configuration).
pub fn load(daemon: Daemon, layout: &Layout) -> LoadedConfig {
    match layout.generation {
        Generation::V2 => load_service_config(daemon, &layout.daemon_conf),
        Generation::V3 => {
            let mut loaded = load_service_config_as(daemon, &layout.daemon_conf, Generation::V3);
            let conn = layout
                .conn_conf
                .as_deref()
                .unwrap_or(Path::new(CONN_CONF_FILE));
            match conn_ini::read(conn) {
                Ok(cc) => apply(daemon, &cc, &mut loaded.config, &mut loaded.diagnostics),
                Err(e) => loaded.diagnostics.push(Diagnostic {
                    level: Level::Error,
                    file: e.location.file.to_path_buf(),
                    line: e.location.line,
                    message: e.kind.to_string(),
                }),
            }
            loaded.diagnostics.sort_by_key(|d| d.line);
            loaded
        }
    }
}

/// Maps a read connection configuration into `cfg` (module doc).
pub fn apply(
    daemon: Daemon,
    cc: &ConnConfig,
    cfg: &mut ServiceConfig,
    diags: &mut Vec<Diagnostic>,
) {
    for w in &cc.warnings {
        diags.push(Diagnostic {
            level: Level::Warning,
            file: w.origin.file.to_path_buf(),
            line: Some(w.origin.line),
            message: w.kind.to_string(),
        });
    }
    cfg.host = cc.host.as_ref().map(|h| super::options::HostDecl {
        hostnqn: h.hostnqn.clone(),
        hostid: h.hostid.clone(),
        hostsymname: h.hostsymname.clone(),
    });
    let (kind, endpoints) = match daemon {
        Daemon::Stafd => (ControllerKind::Discovery, &cc.discovery),
        Daemon::Stacd => (ControllerKind::Io, &cc.subsystems),
    };
    runtime_defaults(cc.runtime_defaults(kind), cfg);
    if let super::options::DaemonOptions::Stafd(o) = &mut cfg.options {
        o.runtime_persistent = cc.runtime_defaults(kind).persistent;
    }
    for endpoint in endpoints {
        for path in &endpoint.paths {
            let ctx = ItemContext {
                daemon,
                file: &path.origin.file,
                line: Some(path.origin.line),
                option: "controller",
            };
            let (entry, d) = ControllerEntry::from_pairs(&ctx, pairs(endpoint, path));
            diags.extend(d);
            cfg.controllers.extend(entry.map(|mut e| {
                e.v3 = v3_params(&path.settings);
                e
            }));
        }
    }
}

/// The 2.x `controller=` pairs of one resolved path.
fn pairs(endpoint: &Endpoint, path: &ConnPath) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| p.push((k.to_owned(), v));
    put("transport", path.transport.as_str().to_owned());
    put("traddr", path.traddr.clone());
    if let Some(s) = &path.trsvcid {
        put("trsvcid", s.clone());
    }
    put("subsysnqn", endpoint.nqn.clone());
    if let Some(s) = &path.host_traddr {
        put("host-traddr", s.clone());
    }
    if let Some(s) = &path.host_iface {
        put("host-iface", s.clone());
    }
    // The main file's [Host] is the host's own identity (as sys.conf was); a drop-in's
    // [Host] is a persona of its own, the 2.x per-controller host-nqn.
    if endpoint.identity.dropin_persona
        && let Some(nqn) = &endpoint.identity.hostnqn
    {
        put("host-nqn", nqn.clone());
    }
    for (k, _, v) in connect_params(&path.settings.tunables).keyed() {
        put(k, v);
    }
    let sec = &path.settings.security;
    if let Some(s) = &sec.kxchap_secret {
        put("dhchap-secret", s.expose().to_owned());
    }
    if let Some(s) = &sec.kxchap_ctrl_secret {
        put("dhchap-ctrl-secret", s.expose().to_owned());
    }
    if let Some(m) = path.settings.persistent {
        put("persistent", m.as_str().to_owned());
    }
    p
}

/// What a resolved path sets beyond the 2.x model: TLS (`tls-key` a serial or an
/// interchange-format PSK, checked at connect time as libnvme does), `fast-io-fail-tmo`,
/// `tos` (libnvme sends neither when negative) and `duplicate-connect`.
fn v3_params(s: &Settings) -> super::controller::V3Params {
    let (sec, t) = (&s.security, &s.tunables);
    super::controller::V3Params {
        tls: libnvme_rs::controller::TlsParams {
            tls: sec.tls.unwrap_or(false),
            concat: sec.concat.unwrap_or(false),
            keyring: sec.keyring.clone(),
            key: sec.tls_key.as_ref().map(|k| k.expose().to_owned()),
            identity: sec.tls_key_identity.clone(),
        },
        fast_io_fail_tmo: t.fast_io_fail_tmo.and_then(|v| u32::try_from(v).ok()),
        tos: t.tos.filter(|v| *v >= 0),
        duplicate_connect: t.duplicate_connect.unwrap_or(false),
    }
}

/// The 3.x tunables the 2.x model has, in its types.
fn connect_params(t: &conn_ini::Tunables) -> ConnectParams {
    let n = |v: Option<i32>| v.map(i64::from);
    ConnectParams {
        kato: n(t.keep_alive_tmo),
        queue_size: n(t.queue_size),
        reconnect_delay: n(t.reconnect_delay),
        ctrl_loss_tmo: n(t.ctrl_loss_tmo),
        nr_io_queues: n(t.nr_io_queues),
        nr_write_queues: n(t.nr_write_queues),
        nr_poll_queues: n(t.nr_poll_queues),
        hdr_digest: t.hdr_digest,
        data_digest: t.data_digest,
        disable_sqflow: t.disable_sqflow,
    }
}

/// The main file's type defaults as `[Global]`'s connect parameters.
fn runtime_defaults(s: &Settings, cfg: &mut ServiceConfig) {
    let at = |key: &str| Source::File(s.origin(key).map(|o| o.line));
    let t = &s.tunables;
    let g = &mut cfg.global;
    for (setting, value, key) in [
        (&mut g.kato, t.keep_alive_tmo, "keep-alive-tmo"),
        (&mut g.queue_size, t.queue_size, "queue-size"),
        (&mut g.reconnect_delay, t.reconnect_delay, "reconnect-delay"),
        (&mut g.ctrl_loss_tmo, t.ctrl_loss_tmo, "ctrl-loss-tmo"),
        (&mut g.nr_io_queues, t.nr_io_queues, "nr-io-queues"),
        (&mut g.nr_write_queues, t.nr_write_queues, "nr-write-queues"),
        (&mut g.nr_poll_queues, t.nr_poll_queues, "nr-poll-queues"),
    ] {
        if let Some(v) = value {
            *setting = Setting {
                value: Some(i64::from(v)),
                source: at(key),
            };
        }
    }
    if let Some(v) = t.hdr_digest {
        g.hdr_digest = Setting {
            value: v,
            source: at("hdr-digest"),
        };
    }
    if let Some(v) = t.data_digest {
        g.data_digest = Setting {
            value: v,
            source: at("data-digest"),
        };
    }
    if let Some(v) = t.disable_sqflow {
        g.disable_sqflow = Setting {
            value: Some(v),
            source: at("disable-sqflow"),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::conf::generation::Explicit;

    fn layout_in(dir: &Path, daemon: Daemon) -> Layout {
        let conn = dir.join("nvme-stas.conf");
        let conf = dir.join(format!("{}.conf", daemon.name()));
        crate::conf::generation::detect(
            daemon,
            Explicit {
                conf_file: Some(&conf),
                conn_conf_file: Some(&conn),
            },
            Path::exists,
        )
    }

    const CONN: &str = "\
[Discovery Controller Defaults]
keep-alive-tmo = 30

[I/O Controller Defaults]
nr-io-queues = 4

[Discovery Controller]
nqn = nqn.2014-08.org.nvmexpress.discovery
persistent = force
controller = transport=tcp;traddr=192.0.2.1;trsvcid=8009
controller = transport=tcp;traddr=192.0.2.2;keep-alive-tmo=60

[Subsystem]
nqn = nqn.2024-01.io.example:sub1
kxchap-secret = DHHC-1:00:9tDsumlAMVGhNRy2zEWbl8eqhaZzHFu8WxZZb8D6cF/C01Ky:
controller = transport=tcp;traddr=192.0.2.3;trsvcid=4420;nr-io-queues=8
tls = yes
";

    #[test]
    fn a_3x_layout_loads_into_the_typed_model() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nvme-stas.conf"), CONN).unwrap();
        std::fs::write(
            dir.path().join("stafd.conf"),
            "[Discovery controller connection management]\nepcsd-poll-interval-minutes=3\n",
        )
        .unwrap();

        let l = load(Daemon::Stafd, &layout_in(dir.path(), Daemon::Stafd));
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let c = &l.config;
        assert_eq!(c.generation, Generation::V3);
        assert_eq!(c.stafd().unwrap().epcsd_poll_minutes.value, 3);
        // The DC defaults are what controllers found at run time get.
        assert_eq!(c.global.kato.value, Some(30));
        assert_eq!(c.controllers.len(), 2, "stafd takes the two DC paths only");
        assert_eq!(
            c.stafd().unwrap().runtime_persistent,
            None,
            "the DC defaults set no persistent"
        );
        let dc1 = &c.controllers[0];
        assert_eq!(
            (
                dc1.traddr.as_str(),
                dc1.trsvcid.as_str(),
                dc1.overrides.kato
            ),
            ("192.0.2.1", "8009", Some(30))
        );
        assert_eq!(c.controllers[1].overrides.kato, Some(60), "path line wins");
        assert!(
            dc1.extra
                .iter()
                .any(|(k, v)| k == "persistent" && v == "force"),
            "{:?}",
            dc1.extra
        );

        let l = load(Daemon::Stacd, &layout_in(dir.path(), Daemon::Stacd));
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let c = &l.config;
        assert_eq!(c.global.nr_io_queues.value, Some(4));
        assert_eq!(c.controllers.len(), 1);
        let ioc = &c.controllers[0];
        assert_eq!(ioc.subsysnqn, "nqn.2024-01.io.example:sub1");
        assert_eq!(ioc.overrides.nr_io_queues, Some(8));
        assert!(
            ioc.dhchap_secret
                .as_deref()
                .is_some_and(|s| s.starts_with("DHHC-1:"))
        );
        // The subsystem's TLS settings reach its entry; no warning about them.
        assert!(ioc.v3.tls.tls && !ioc.v3.tls.concat && ioc.v3.tls.key.is_none());
        assert!(
            !l.diagnostics.iter().any(|d| d.message.contains("tls")),
            "{:?}",
            l.diagnostics
        );
    }

    #[test]
    fn kernel_settings_beyond_2x_reach_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nvme-stas.conf"),
            "[I/O Controller Defaults]\nfast-io-fail-tmo = 20\n\n\
             [Subsystem]\nnqn = nqn.2024-01.io.example:a\ntos = 8\nduplicate-connect = yes\n\
             tls = yes\ntls-key = 0x2a\nkeyring = .nvme\n\
             controller = transport=tcp;traddr=192.0.2.3\n\
             controller = transport=tcp;traddr=192.0.2.4;tos=-1;fast-io-fail-tmo=-1\n",
        )
        .unwrap();
        let l = load(Daemon::Stacd, &layout_in(dir.path(), Daemon::Stacd));
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        assert!(
            l.diagnostics.is_empty(),
            "nothing left unapplied: {:?}",
            l.diagnostics
        );
        let (a, b) = (&l.config.controllers[0].v3, &l.config.controllers[1].v3);
        assert_eq!(
            (a.fast_io_fail_tmo, a.tos, a.duplicate_connect),
            (Some(20), Some(8), true)
        );
        assert_eq!(
            (b.fast_io_fail_tmo, b.tos),
            (None, None),
            "negative is unset"
        );
        assert!(a.tls.tls && a.tls.key.as_deref() == Some("0x2a"));
        assert_eq!(a.tls.keyring.as_deref(), Some(".nvme"));
        let mut p = libnvme_rs::controller::ConnectParams::default();
        a.apply(&mut p);
        assert_eq!(
            (p.fast_io_fail_tmo, p.tos, p.duplicate_connect),
            (Some(20), Some(8), true)
        );
        assert_eq!(p.tls, a.tls);
    }

    #[test]
    fn the_main_host_section_is_the_hosts_identity() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nvme-stas.conf"),
            "[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:uuid:7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f\n\
             hostid = 7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f\nhostsymname = lab\n\n\
             [Subsystem]\nnqn = nqn.2024-01.io.example:a\ncontroller = transport=tcp;traddr=192.0.2.3\n",
        )
        .unwrap();
        let l = load(Daemon::Stacd, &layout_in(dir.path(), Daemon::Stacd));
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        let h = l.config.host.clone().unwrap();
        assert_eq!(
            h.hostid.as_deref(),
            Some("7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f")
        );
        assert_eq!(h.hostsymname.as_deref(), Some("lab"));
        // Not a per-controller persona: the controller uses the host's identity.
        assert_eq!(l.config.controllers[0].host_nqn, None);
    }

    #[test]
    fn a_bad_connection_file_is_an_error_with_its_location() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nvme-stas.conf"),
            "[Host]\nhostsymname = a\n[Host]\nhostsymname = b\n",
        )
        .unwrap();
        let l = load(Daemon::Stafd, &layout_in(dir.path(), Daemon::Stafd));
        assert!(l.has_errors());
        let e = l
            .diagnostics
            .iter()
            .find(|d| d.level == Level::Error)
            .unwrap();
        assert_eq!(e.file, dir.path().join("nvme-stas.conf"));
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn the_2x_layout_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let conf: PathBuf = dir.path().join("stafd.conf");
        std::fs::write(
            &conf,
            "[Controllers]\ncontroller=transport=tcp;traddr=192.0.2.9\n",
        )
        .unwrap();
        let layout = crate::conf::generation::detect(
            Daemon::Stafd,
            Explicit {
                conf_file: Some(&conf),
                conn_conf_file: None,
            },
            |_| false,
        );
        let l = load(Daemon::Stafd, &layout);
        assert_eq!(l.config.generation, Generation::V2);
        assert_eq!(l.config.controllers.len(), 1);
    }
}
