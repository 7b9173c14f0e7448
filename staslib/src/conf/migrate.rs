//! `stasadm migrate`: writes the nvme-stas 3.x files from a 2.x setup (upstream has no such
//! tool). The 3.x set reads back to the same typed model ([`ServiceConfig`]) as the 2.x one,
//! except what 3.x cannot say, which is listed in [`Migration::notes`]:
//!
//! * `exclude=` entries: 3.x has only the host-wide `/etc/nvme/exclusions.conf` (it would
//!   also hide the controllers from nvme-cli), so they are not moved;
//! * `disconnect-trtypes` and `disconnect-scope = all-connections-matching-disconnect-trtypes`:
//!   3.x's `honor-fabric-zoning` only says yes or no;
//! * `persistent-connections`: removed in 3.x. DCs are given `persistent = force` (through
//!   `[Discovery Controller Defaults]`) so they stay connected as they did under 2.x.
//!
//! Controllers with their own `host-nqn` go to a drop-in with that `[Host]` (a 3.x persona);
//! secrets go to their endpoint section (3.x never takes them on a path line).

use std::fmt::Write as _;

use super::controller::ControllerEntry;
use super::options::{
    ConnectParams, DisconnectScope, GlobalOptions, ServiceConfig, Source, StacdOptions,
    StafdOptions, SysConfig,
};

/// What `migrate` writes, by file name relative to `/etc/nvme`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// `(relative path, contents)`, in writing order.
    pub files: Vec<(String, String)>,
    /// What could not be carried over, one line each.
    pub notes: Vec<String>,
}

/// Builds the 3.x files from the 2.x configurations of both daemons and sys.conf.
pub fn migrate(stafd: &ServiceConfig, stacd: &ServiceConfig, sys: &SysConfig) -> Migration {
    let mut notes = Vec::new();
    let mut files = vec![
        ("stafd.conf".to_owned(), stafd_conf(stafd, &mut notes)),
        ("stacd.conf".to_owned(), stacd_conf(stacd, &mut notes)),
    ];
    let mut main = String::from(HEADER);
    host_section(sys, &mut main, &mut notes);
    let dc_defaults = stafd.global.connect_params();
    let _ = writeln!(main, "[Discovery Controller Defaults]");
    // 2.x kept every DC connected; `auto` would park those without EPCSD.
    let _ = writeln!(main, "persistent = force");
    tunables(&dc_defaults, &mut main);
    let _ = writeln!(main, "\n[I/O Controller Defaults]");
    tunables(&stacd.global.connect_params(), &mut main);
    let mut personas: Vec<(String, String)> = Vec::new();
    for (cfg, section) in [(stafd, "Discovery Controller"), (stacd, "Subsystem")] {
        for e in &cfg.controllers {
            match &e.host_nqn {
                None => endpoint(section, e, &mut main),
                Some(nqn) => {
                    let at = match personas.iter().position(|(n, _)| n == nqn) {
                        Some(i) => i,
                        None => {
                            personas
                                .push((nqn.clone(), format!("{HEADER}[Host]\nhostnqn = {nqn}\n")));
                            personas.len() - 1
                        }
                    };
                    if let Some((_, text)) = personas.get_mut(at) {
                        endpoint(section, e, text);
                    }
                }
            }
        }
        if !cfg.exclusions.is_empty() {
            notes.push(format!(
                "{}: {} exclude= entr{} not migrated: nvme-stas 3.x has only the host-wide \
                 /etc/nvme/exclusions.conf (which also applies to nvme-cli)",
                cfg.file.display(),
                cfg.exclusions.len(),
                if cfg.exclusions.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            ));
        }
    }
    files.push(("nvme-stas.conf".to_owned(), main));
    for (i, (_, text)) in personas.into_iter().enumerate() {
        files.push((
            format!("nvme-stas.conf.d/50-migrated-host-{}.conf", i + 1),
            text,
        ));
    }
    Migration { files, notes }
}

const HEADER: &str = "# Written by `stasadm migrate` from the nvme-stas 2.x configuration.\n\n";

fn written(source: Source) -> bool {
    matches!(source, Source::File(_))
}

fn global(g: &GlobalOptions, out: &mut String, stafd: bool) {
    let _ = writeln!(out, "[Global]");
    if written(g.tron.source) {
        let _ = writeln!(out, "tron = {}", g.tron.value);
    }
    if written(g.ignore_iface.source) {
        let _ = writeln!(out, "ignore-iface = {}", g.ignore_iface.value);
    }
    if written(g.ip_family.source) {
        let _ = writeln!(out, "ip-family = {}", g.ip_family.value);
    }
    if stafd && written(g.pleo.source) {
        let on = if g.pleo.value { "enabled" } else { "disabled" };
        let _ = writeln!(out, "pleo = {on}");
    }
    if written(g.backend.source) {
        let _ = writeln!(out, "backend = {}", g.backend.value.as_str());
    }
}

fn stafd_conf(cfg: &ServiceConfig, notes: &mut Vec<String>) -> String {
    let mut out = String::from(HEADER);
    global(&cfg.global, &mut out, true);
    let defaults = StafdOptions::defaults();
    let o = cfg.stafd().unwrap_or(&defaults);
    let _ = writeln!(out, "\n[Service Discovery]");
    if written(o.zeroconf.source) {
        let on = if o.zeroconf.value {
            "enabled"
        } else {
            "disabled"
        };
        let _ = writeln!(out, "zeroconf = {on}");
    }
    let _ = writeln!(out, "\n[Discovery controller connection management]");
    if written(o.zeroconf_connections_persistence.source) {
        let v = o.zeroconf_connections_persistence.value;
        let span = if v < 0.0 {
            "infinity".to_owned()
        } else {
            // Whole milliseconds: systemd spans take `ms`.
            format!("{}ms", (v * 1000.0).round() as i64)
        };
        let _ = writeln!(out, "dc-giveup-timeout = {span}");
    }
    if written(o.persistent_connections.source) {
        notes.push(format!(
            "{}: persistent-connections is gone in nvme-stas 3.x (DCs get persistent = force)",
            cfg.file.display()
        ));
    }
    out
}

fn stacd_conf(cfg: &ServiceConfig, notes: &mut Vec<String>) -> String {
    let mut out = String::from(HEADER);
    global(&cfg.global, &mut out, false);
    let defaults = StacdOptions::defaults();
    let o = cfg.stacd().unwrap_or(&defaults);
    let _ = writeln!(out, "\n[I/O controller connection management]");
    if written(o.disconnect_scope.source) {
        let zoning = match o.disconnect_scope.value {
            DisconnectScope::NoDisconnect => "no",
            DisconnectScope::OnlyStasConnections => "yes",
            DisconnectScope::AllConnectionsMatchingDisconnectTrtypes => {
                notes.push(format!(
                    "{}: disconnect-scope = all-connections-matching-disconnect-trtypes has no \
                     nvme-stas 3.x equivalent: honor-fabric-zoning = yes (only nvme-stas's own \
                     connections are disconnected)",
                    cfg.file.display()
                ));
                "yes"
            }
        };
        let _ = writeln!(out, "honor-fabric-zoning = {zoning}");
    }
    if written(o.disconnect_trtypes.source) {
        notes.push(format!(
            "{}: disconnect-trtypes is gone in nvme-stas 3.x",
            cfg.file.display()
        ));
    }
    if written(o.connect_attempts_on_ncc.source) {
        let _ = writeln!(
            out,
            "connect-attempts-on-ncc = {}",
            o.connect_attempts_on_ncc.value
        );
    }
    out
}

fn host_section(sys: &SysConfig, out: &mut String, notes: &mut Vec<String>) {
    let mut lines = Vec::new();
    let literal = |v: &Option<super::options::HostValue>| {
        v.as_ref()
            .map(|h| h.value.trim().to_owned())
            .filter(|v| !v.is_empty() && !v.starts_with("file://"))
    };
    if let Some(nqn) = literal(&sys.nqn) {
        lines.push(format!("hostnqn = {nqn}"));
    }
    if let Some(id) = literal(&sys.id) {
        lines.push(format!("hostid = {id}"));
    }
    if let Some(name) = literal(&sys.symname) {
        lines.push(format!("hostsymname = {name}"));
    }
    for (what, v) in [("nqn", &sys.nqn), ("id", &sys.id), ("key", &sys.key)] {
        if let Some(h) = v
            && let Some(path) = h.value.trim().strip_prefix("file://")
            && !path.starts_with("/etc/nvme/")
        {
            notes.push(format!(
                "{}: [Host] {what} points to {path}: nvme-stas 3.x reads /etc/nvme/host{what}",
                sys.file.display()
            ));
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "[Host]\n{}\n", lines.join("\n"));
    }
}

/// One 2.x `controller=` entry as a 3.x endpoint section with one path.
fn endpoint(section: &str, e: &ControllerEntry, out: &mut String) {
    let _ = writeln!(out, "\n[{section}]");
    let _ = writeln!(out, "nqn = {}", e.subsysnqn);
    if let Some(s) = &e.dhchap_secret {
        let _ = writeln!(out, "kxchap-secret = {s}");
    }
    if let Some(s) = &e.dhchap_ctrl_secret {
        let _ = writeln!(out, "kxchap-ctrl-secret = {s}");
    }
    let mut path = format!(
        "transport={};traddr={};trsvcid={}",
        e.transport.as_str(),
        e.traddr,
        e.trsvcid
    );
    if !e.host_traddr.is_empty() {
        let _ = write!(path, ";host-traddr={}", e.host_traddr);
    }
    if !e.host_iface.is_empty() {
        let _ = write!(path, ";host-iface={}", e.host_iface);
    }
    for (_, k, v) in e.overrides.keyed() {
        let _ = write!(path, ";{k}={v}");
    }
    let _ = writeln!(out, "controller = {path}");
}

fn tunables(p: &ConnectParams, out: &mut String) {
    for (_, k, v) in p.keyed() {
        let _ = writeln!(out, "{k} = {v}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::conf::generation::{Explicit, Generation, detect};
    use crate::conf::options::{Daemon, load_service_config};

    /// What both generations must agree on: every controller with its effective connect
    /// parameters and secrets, and the daemon options.
    fn model(cfg: &ServiceConfig) -> String {
        let g = cfg.global.connect_params();
        let mut out = format!(
            "tron={} ignore-iface={} ip-family={} pleo={} backend={:?}\n",
            cfg.global.tron.value,
            cfg.global.ignore_iface.value,
            cfg.global.ip_family.value,
            cfg.global.pleo.value,
            cfg.global.backend.value
        );
        let _ = writeln!(out, "global {g:?}");
        if let Some(o) = cfg.stafd() {
            let _ = writeln!(
                out,
                "zeroconf={} giveup={}",
                o.zeroconf.value, o.zeroconf_connections_persistence.value
            );
        }
        if let Some(o) = cfg.stacd() {
            let _ = writeln!(
                out,
                "scope={:?} ncc={}",
                o.disconnect_scope.value, o.connect_attempts_on_ncc.value
            );
        }
        let mut entries: Vec<String> = cfg
            .controllers
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {} {} {} {:?} {:?} {:?} {:?}",
                    e.transport.as_str(),
                    e.traddr,
                    e.trsvcid,
                    e.subsysnqn,
                    e.host_traddr,
                    e.host_iface,
                    e.host_nqn,
                    e.dhchap_secret,
                    e.dhchap_ctrl_secret,
                    e.overrides.or(&g)
                )
            })
            .collect();
        entries.sort();
        out + &entries.join("\n")
    }

    fn roundtrip(dir: &Path, stafd: &Path, stacd: &Path, sys: &Path) -> Migration {
        let v2f = load_service_config(Daemon::Stafd, stafd);
        let v2c = load_service_config(Daemon::Stacd, stacd);
        assert!(!v2f.has_errors() && !v2c.has_errors());
        let (sysconf, _) = SysConfig::load(sys);
        let m = migrate(&v2f.config, &v2c.config, &sysconf);
        for (name, text) in &m.files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        for (daemon, v2) in [(Daemon::Stafd, &v2f), (Daemon::Stacd, &v2c)] {
            let conf = dir.join(format!("{}.conf", daemon.name()));
            let conn = dir.join("nvme-stas.conf");
            let layout = detect(
                daemon,
                Explicit {
                    conf_file: Some(&conf),
                    conn_conf_file: Some(&conn),
                },
                Path::exists,
            );
            let v3 = crate::conf::layout::load(daemon, &layout);
            assert!(
                !v3.has_errors(),
                "{:?}\n{}",
                v3.diagnostics,
                m.files
                    .iter()
                    .map(|(n, t)| format!("== {n}\n{t}"))
                    .collect::<String>()
            );
            assert_eq!(v3.config.generation, Generation::V3);
            assert_eq!(model(&v3.config), model(&v2.config), "{}", daemon.name());
        }
        m
    }

    #[test]
    fn the_shipped_2x_examples_migrate_to_the_same_model() {
        let etc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../etc/stas");
        let dir = tempfile::tempdir().unwrap();
        let m = roundtrip(
            dir.path(),
            &etc.join("stafd.conf"),
            &etc.join("stacd.conf"),
            &etc.join("sys.conf"),
        );
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }

    #[test]
    fn a_full_2x_setup_migrates_to_the_same_model() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::write(
            s.join("stafd.conf"),
            "[Global]\ntron=true\nkato=45\nip-family=ipv4\npleo=disabled\nhdr-digest=true\n\
             [Service Discovery]\nzeroconf=disabled\n\
             [Discovery controller connection management]\n\
             zeroconf-connections-persistence=2h\npersistent-connections=false\n\
             [Controllers]\n\
             controller=transport=tcp;traddr=192.0.2.1;trsvcid=8009;kato=60\n\
             controller=transport=tcp;traddr=192.0.2.2;host-iface=eth1;\
             host-nqn=nqn.2014-08.org.nvmexpress:uuid:0c4f5d3e-1b7a-4f0e-9d51-6a2e8b7c9f10\n\
             exclude=transport=tcp;traddr=192.0.2.99\n",
        )
        .unwrap();
        std::fs::write(
            s.join("stacd.conf"),
            "[Global]\nnr-io-queues=4\nctrl-loss-tmo=-1\n\
             [I/O controller connection management]\n\
             disconnect-scope=no-disconnect\ndisconnect-trtypes=tcp+rdma\nconnect-attempts-on-ncc=3\n\
             [Controllers]\n\
             controller=transport=tcp;traddr=192.0.2.3;trsvcid=4420;\
             subsysnqn=nqn.2024-01.io.example:a;queue-size=64;data-digest=true;\
             dhchap-secret=DHHC-1:00:9tDsumlAMVGhNRy2zEWbl8eqhaZzHFu8WxZZb8D6cF/C01Ky:\n",
        )
        .unwrap();
        std::fs::write(
            s.join("sys.conf"),
            "[Host]\nnqn=nqn.2014-08.org.nvmexpress:uuid:7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f\n\
             id=7b1f0c2e-5d4a-4e8b-9c3f-2a1b0c9d8e7f\nsymname=lab-host\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let m = roundtrip(
            dir.path(),
            &s.join("stafd.conf"),
            &s.join("stacd.conf"),
            &s.join("sys.conf"),
        );
        let names: Vec<&str> = m.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "stafd.conf",
                "stacd.conf",
                "nvme-stas.conf",
                "nvme-stas.conf.d/50-migrated-host-1.conf"
            ]
        );
        let main = &m.files[2].1;
        assert!(main.contains("[Host]\nhostnqn = nqn.2014-08.org.nvmexpress:uuid:7b1f0c2e"));
        assert!(main.contains("hostsymname = lab-host"));
        assert!(
            main.contains("kxchap-secret = DHHC-1:"),
            "secrets in the endpoint section"
        );
        let notes = m.notes.join("\n");
        for what in [
            "persistent-connections",
            "disconnect-trtypes",
            "1 exclude= entry",
        ] {
            assert!(notes.contains(what), "{what}: {notes}");
        }
    }
}
