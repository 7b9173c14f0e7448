//! `stafd --check-config` / `stacd --check-config [FILE]`: validate a configuration file and
//! print every diagnostic and the effective configuration.
//!
//! `ok` is false when there is any error: a file that exists but cannot be read or parsed,
//! an invalid section, or an invalid option. Upstream logs those at ERROR and goes on with
//! defaults, but they nearly always mean a setting silently has no effect (`[global]`,
//! `ip-family : ipv4`, `nr-io-queues` in stafd.conf). Warnings (invalid values falling back
//! to defaults, deprecated aliases, ignored entries) keep `ok` true. A missing file is not
//! an error (the daemon runs on defaults), but the report says so.
//!
//! Secrets (`dhchap-secret`, `dhchap-ctrl-secret`, the host key) are masked.

use std::fmt::Write as _;
use std::path::Path;

use super::controller::{ControllerEntry, render_pairs};
use super::options::{
    ConfFormat, DC_MANAGEMENT, Daemon, Diagnostic, GLOBAL, HostValue, IOC_MANAGEMENT, Level,
    LoadedConfig, SERVICE_DISCOVERY, Setting, Source, SysConfig, load_service_config,
};

/// The outcome of a check (serialisable for a `--json` output).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// Human-readable report (ends with a newline).
    pub text: String,
    /// False when any error was found.
    pub ok: bool,
    /// The diagnostics listed in `text`.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks `path` as `daemon`'s configuration file.
pub fn check_config(daemon: Daemon, path: &Path) -> CheckReport {
    report(daemon, path, &load_service_config(daemon, path))
}

/// Checks the configuration of whichever generation `layout` says the host uses: the
/// report starts with the generation, why, and the files read (and any ignored).
pub fn check_layout(daemon: Daemon, layout: &super::generation::Layout) -> CheckReport {
    let loaded = super::layout::load(daemon, layout);
    let mut r = report(daemon, &layout.daemon_conf, &loaded);
    let (info, warnings) = layout.announce();
    let mut head = format!("{info}\n");
    for w in warnings {
        let _ = writeln!(head, "warning: {w}");
    }
    r.text.insert_str(0, &head);
    r
}

/// Formats the report of an already loaded configuration.
pub fn report(daemon: Daemon, path: &Path, loaded: &LoadedConfig) -> CheckReport {
    let mut out = String::new();
    let format = match loaded.format {
        ConfFormat::Ini => "INI",
        ConfFormat::Toml => "TOML",
    };
    let _ = writeln!(
        out,
        "{} configuration file: {} ({format})",
        daemon.name(),
        path.display()
    );
    if !loaded.found {
        let _ = writeln!(out, "File not found: built-in defaults apply.");
    }
    write_diagnostics(&mut out, &loaded.diagnostics);
    out.push_str("\nEffective configuration:\n");
    write_effective(&mut out, daemon, loaded);
    let ok = !loaded.has_errors();
    write_summary(&mut out, &loaded.diagnostics, 0, ok);
    CheckReport {
        text: out,
        ok,
        diagnostics: loaded.diagnostics.clone(),
    }
}

fn write_diagnostics(out: &mut String, diags: &[Diagnostic]) {
    if diags.is_empty() {
        return;
    }
    out.push('\n');
    for d in diags {
        let _ = writeln!(out, "{d}");
    }
}

fn write_summary(out: &mut String, diags: &[Diagnostic], extra_errors: usize, ok: bool) {
    let file_errors = diags.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diags.len() - file_errors;
    let errors = file_errors + extra_errors;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "\nResult: {} ({errors} error{}, {warnings} warning{})",
        if ok { "OK" } else { "FAILED" },
        plural(errors),
        plural(warnings)
    );
}

fn origin(source: Source) -> String {
    let at = |l: Option<usize>| l.map_or_else(String::new, |l| format!(" at line {l}"));
    match source {
        Source::Default => "default".to_owned(),
        Source::File(None) => "file".to_owned(),
        Source::File(Some(l)) => format!("line {l}"),
        Source::InvalidDefault(l) => format!("default; invalid value{}", at(l)),
    }
}

fn line(out: &mut String, key: &str, value: &str, source: Source) {
    let _ = writeln!(
        out,
        "{:<48} ({})",
        format!("{key} = {value}"),
        origin(source)
    );
}

fn opt<T: ToString>(s: &Setting<Option<T>>) -> String {
    s.value
        .as_ref()
        .map_or_else(|| "(unset)".to_owned(), ToString::to_string)
}

/// Seconds as Python prints a float, without the `.0` noise for whole numbers.
fn seconds(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn write_effective(out: &mut String, daemon: Daemon, loaded: &LoadedConfig) {
    let cfg = &loaded.config;
    let g = &cfg.global;
    let _ = writeln!(out, "[{GLOBAL}]");
    let b = |s: &Setting<bool>| s.value.to_string();
    line(out, "tron", &b(&g.tron), g.tron.source);
    line(out, "hdr-digest", &b(&g.hdr_digest), g.hdr_digest.source);
    line(out, "data-digest", &b(&g.data_digest), g.data_digest.source);
    line(out, "kato", &opt(&g.kato), g.kato.source);
    line(out, "queue-size", &opt(&g.queue_size), g.queue_size.source);
    line(
        out,
        "reconnect-delay",
        &opt(&g.reconnect_delay),
        g.reconnect_delay.source,
    );
    line(
        out,
        "ctrl-loss-tmo",
        &opt(&g.ctrl_loss_tmo),
        g.ctrl_loss_tmo.source,
    );
    line(
        out,
        "disable-sqflow",
        &opt(&g.disable_sqflow),
        g.disable_sqflow.source,
    );
    for (key, s) in [
        ("nr-io-queues", &g.nr_io_queues),
        ("nr-write-queues", &g.nr_write_queues),
        ("nr-poll-queues", &g.nr_poll_queues),
    ] {
        // Invalid in stafd.conf but still read: shown when the file sets them.
        if daemon == Daemon::Stacd || s.source != Source::Default {
            line(out, key, &opt(s), s.source);
        }
    }
    line(
        out,
        "ignore-iface",
        &b(&g.ignore_iface),
        g.ignore_iface.source,
    );
    line(
        out,
        "ip-family",
        &g.ip_family.value.to_string(),
        g.ip_family.source,
    );
    line(out, "backend", g.backend.value.as_str(), g.backend.source);
    let enabled = |s: &Setting<bool>| if s.value { "enabled" } else { "disabled" };
    if let Some(o) = cfg.stafd() {
        line(out, "pleo", enabled(&g.pleo), g.pleo.source);
        let _ = writeln!(out, "\n[{SERVICE_DISCOVERY}]");
        line(out, "zeroconf", enabled(&o.zeroconf), o.zeroconf.source);
        let _ = writeln!(out, "\n[{DC_MANAGEMENT}]");
        line(
            out,
            "persistent-connections",
            &b(&o.persistent_connections),
            o.persistent_connections.source,
        );
        let p = &o.zeroconf_connections_persistence;
        line(
            out,
            "zeroconf-connections-persistence",
            &seconds(p.value),
            p.source,
        );
    }
    if let Some(o) = cfg.stacd() {
        let _ = writeln!(out, "\n[{IOC_MANAGEMENT}]");
        let s = &o.disconnect_scope;
        line(out, "disconnect-scope", s.value.as_str(), s.source);
        let t = &o.disconnect_trtypes;
        let trtypes: Vec<&str> = t.value.iter().map(|t| t.as_str()).collect();
        line(out, "disconnect-trtypes", &trtypes.join("+"), t.source);
        let n = &o.connect_attempts_on_ncc;
        line(
            out,
            "connect-attempts-on-ncc",
            &n.value.to_string(),
            n.source,
        );
    }
    let _ = writeln!(out, "\n[Controllers]");
    if cfg.controllers.is_empty() && cfg.exclusions.is_empty() {
        out.push_str("(none)\n");
    }
    for c in &cfg.controllers {
        let _ = writeln!(
            out,
            "controller = {}    ({})",
            render_controller(c),
            at_line(c.line)
        );
    }
    for e in &cfg.exclusions {
        let pairs = e.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let _ = writeln!(
            out,
            "exclude = {}    ({})",
            render_pairs(pairs, true),
            at_line(e.line)
        );
    }
}

fn at_line(l: Option<usize>) -> String {
    l.map_or_else(|| "file".to_owned(), |l| format!("line {l}"))
}

/// A controller entry in `key=value;` form with its effective identity fields, typed
/// overrides and extra keys; secrets masked.
pub fn render_controller(c: &ControllerEntry) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("transport".into(), c.transport.to_string()),
        ("traddr".into(), c.traddr.clone()),
        ("trsvcid".into(), c.trsvcid.clone()),
        ("subsysnqn".into(), c.subsysnqn.clone()),
    ];
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            pairs.push((k.to_owned(), v));
        }
    };
    push("host-traddr", Some(c.host_traddr.clone()));
    push("host-iface", Some(c.host_iface.clone()));
    push("host-nqn", c.host_nqn.clone());
    push("dhchap-secret", c.dhchap_secret.clone());
    push("dhchap-ctrl-secret", c.dhchap_ctrl_secret.clone());
    let o = &c.overrides;
    let s = |v: Option<i64>| v.map(|v| v.to_string());
    let bs = |v: Option<bool>| v.map(|v| v.to_string());
    push("hdr-digest", bs(o.hdr_digest));
    push("data-digest", bs(o.data_digest));
    push("nr-io-queues", s(o.nr_io_queues));
    push("nr-write-queues", s(o.nr_write_queues));
    push("nr-poll-queues", s(o.nr_poll_queues));
    push("queue-size", s(o.queue_size));
    push("kato", s(o.kato));
    push("reconnect-delay", s(o.reconnect_delay));
    push("ctrl-loss-tmo", s(o.ctrl_loss_tmo));
    push("disable-sqflow", bs(o.disable_sqflow));
    for (k, v) in &c.extra {
        pairs.push((k.clone(), v.clone()));
    }
    render_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), true)
}

/// Checks `sys.conf` at `path` and the host identity it points to (default files under
/// `etc_nvme`, normally `/etc/nvme`). `ok` is false when the daemons would refuse to start
/// (host NQN or host ID missing or invalid) or the file has errors.
pub fn check_sys_config(path: &Path, etc_nvme: &Path) -> CheckReport {
    let (sys, diags) = SysConfig::load(path);
    let mut out = String::new();
    let _ = writeln!(out, "sys.conf file: {}", path.display());
    write_diagnostics(&mut out, &diags);
    let mut identity_errors = 0;
    out.push_str("\nEffective configuration:\n[Host]\n");
    let sources = sys.host_sources(etc_nvme);
    let shown = |v: &Option<HostValue>, default: Option<&str>| match v {
        Some(h) => (h.value.clone(), Source::File(h.line)),
        None => (
            default.map_or_else(
                || "(unset)".to_owned(),
                |d| format!("file://{}", etc_nvme.join(d).display()),
            ),
            Source::Default,
        ),
    };
    let (v, s) = shown(&sys.nqn, Some("hostnqn"));
    line(&mut out, "nqn", &v, s);
    let (v, s) = shown(&sys.id, Some("hostid"));
    line(&mut out, "id", &v, s);
    let (v, s) = shown(&sys.key, Some("hostkey"));
    let v = if v.starts_with("file://") {
        v
    } else {
        "********".to_owned()
    };
    line(&mut out, "key", &v, s);
    let (v, s) = shown(&sys.symname, None);
    line(&mut out, "symname", &v, s);

    out.push_str("\nHost identity:\n");
    match sources.hostnqn() {
        Ok(nqn) => {
            let _ = writeln!(out, "host NQN: {nqn}");
        }
        Err(e) => {
            identity_errors += 1;
            let _ = writeln!(out, "host NQN: {}", error_chain(&e));
        }
    }
    match sources.hostid() {
        Ok(id) => {
            let _ = writeln!(out, "host ID: {id}");
        }
        Err(e) => {
            identity_errors += 1;
            let _ = writeln!(out, "host ID: {}", error_chain(&e));
        }
    }
    match sources.hostkey() {
        Ok(Some(_)) => out.push_str("host key: ******** (set)\n"),
        Ok(None) => out.push_str("host key: (none)\n"),
        Err(e) => {
            let _ = writeln!(out, "host key: {}", error_chain(&e));
        }
    }
    match sys.resolve_symname() {
        Ok(Some(n)) => {
            let _ = writeln!(out, "symbolic name: {n}");
        }
        Ok(None) => out.push_str("symbolic name: (none)\n"),
        Err(w) => {
            let _ = writeln!(out, "symbolic name: {w}");
        }
    }
    let ok = identity_errors == 0 && !diags.iter().any(|d| d.level == Level::Error);
    write_summary(&mut out, &diags, identity_errors, ok);
    CheckReport {
        text: out,
        ok,
        diagnostics: diags,
    }
}

// `error: source: source...`, as upstream prints `<message>: <OS error>`.
use libnvme_rs::error_chain;

#[cfg(test)]
mod tests;
