//! Tests of the libnvme INI connection configuration reader: the rules one by one
//! ([`golden`]), libnvme's own `tests/config-ini.c` cases ([`libnvme`]), the file system
//! side ([`files`]), malformed input ([`malformed`]) and the comparison with libnvme's parser
//! built from source ([`differential`]).

mod differential;
mod files;
mod golden;
mod libnvme;
mod malformed;

use std::path::Path;

use super::*;

/// The main file every in-memory test uses.
pub(super) const MAIN: &str = "/etc/nvme/nvme-stas.conf";

/// A drop-in's path.
pub(super) fn dropin(name: &str) -> String {
    format!("{MAIN}.d/{name}")
}

/// Parses a main file and drop-ins (`(file name, text)`, already in read order).
pub(super) fn try_load(
    main: Option<&str>,
    dropins: &[(&str, &str)],
) -> Result<ConnConfig, ConnConfError> {
    let paths: Vec<String> = dropins.iter().map(|(n, _)| dropin(n)).collect();
    let dropins: Vec<(&Path, &[u8])> = paths
        .iter()
        .zip(dropins)
        .map(|(p, (_, text))| (Path::new(p.as_str()), text.as_bytes()))
        .collect();
    parse(Path::new(MAIN), main.map(str::as_bytes), &dropins)
}

/// Parses a main file alone, which must be accepted.
pub(super) fn load(main: &str) -> ConnConfig {
    try_load(Some(main), &[]).unwrap_or_else(|e| panic!("refused: {e}"))
}

/// Parses a main file alone, which must be refused.
pub(super) fn load_err(main: &str) -> ConnConfError {
    match try_load(Some(main), &[]) {
        Ok(c) => panic!("accepted: {c:#?}"),
        Err(e) => e,
    }
}

/// The error's location as `name:line` relative to `/etc/nvme`.
pub(super) fn at(e: &ConnConfError) -> String {
    let file = e.location.file.to_string_lossy();
    let file = file.strip_prefix("/etc/nvme/").unwrap_or(&file).to_owned();
    match e.location.line {
        Some(line) => format!("{file}:{line}"),
        None => file,
    }
}

/// The only path of the only subsystem.
pub(super) fn only_ioc(c: &ConnConfig) -> &ConnPath {
    assert_eq!(c.subsystems.len(), 1, "{c:#?}");
    assert_eq!(c.subsystems[0].paths.len(), 1, "{c:#?}");
    &c.subsystems[0].paths[0]
}

/// The only path of the only discovery controller.
pub(super) fn only_dc(c: &ConnConfig) -> &ConnPath {
    assert_eq!(c.discovery.len(), 1, "{c:#?}");
    assert_eq!(c.discovery[0].paths.len(), 1, "{c:#?}");
    &c.discovery[0].paths[0]
}

/// The value in effect for `key`, as text: `<reset>` for a reset, `None` when no level
/// wrote it. Integers in decimal, booleans `true`/`false`, secrets exposed.
pub(super) fn value(s: &Settings, key: &str) -> Option<String> {
    s.origin(key)?;
    let t = &s.tunables;
    let sec = &s.security;
    let int = |v: Option<i32>| v.map(|v| v.to_string());
    let boolean = |v: Option<bool>| v.map(|v| v.to_string());
    let text = match key {
        "nr-io-queues" => int(t.nr_io_queues),
        "nr-write-queues" => int(t.nr_write_queues),
        "nr-poll-queues" => int(t.nr_poll_queues),
        "queue-size" => int(t.queue_size),
        "keep-alive-tmo" => int(t.keep_alive_tmo),
        "reconnect-delay" => int(t.reconnect_delay),
        "ctrl-loss-tmo" => int(t.ctrl_loss_tmo),
        "fast-io-fail-tmo" => int(t.fast_io_fail_tmo),
        "tos" => int(t.tos),
        "duplicate-connect" => boolean(t.duplicate_connect),
        "disable-sqflow" => boolean(t.disable_sqflow),
        "hdr-digest" => boolean(t.hdr_digest),
        "data-digest" => boolean(t.data_digest),
        "persistent" => s.persistent.map(|p| p.as_str().to_owned()),
        "tls" => boolean(sec.tls),
        "concat" => boolean(sec.concat),
        "tls-key" => sec.tls_key.as_ref().map(|v| v.expose().to_owned()),
        "tls-key-identity" => sec.tls_key_identity.clone(),
        "keyring" => sec.keyring.clone(),
        "kxchap-secret" => sec.kxchap_secret.as_ref().map(|v| v.expose().to_owned()),
        "kxchap-ctrl-secret" => sec
            .kxchap_ctrl_secret
            .as_ref()
            .map(|v| v.expose().to_owned()),
        other => panic!("no such key {other}"),
    };
    Some(text.unwrap_or_else(|| "<reset>".to_owned()))
}

/// `key=value` for every key written, sorted (the differential harness's form).
pub(super) fn render_settings(s: &Settings) -> String {
    let mut kv: Vec<String> = s
        .origins()
        .map(|(k, _)| format!("{k}={}", value(s, k).unwrap_or_default()))
        .collect();
    kv.sort();
    kv.iter().map(|kv| format!(" {kv}")).collect()
}

/// A path relative to `root` (as the harness prints it).
fn rel(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The canonical text of a result, the same form `tests/scripts/libnvme-ini-diff.sh`
/// prints for libnvme's: libnvme's warnings and error by location only, connections in
/// file order with their resolved parameters, the discovered-controller scopes.
pub(super) fn render(result: &Result<ConnConfig, ConnConfError>, root: &Path) -> String {
    let mut out = String::new();
    let conf = match result {
        Err(e) => {
            use ErrorKind as K;
            let file = rel(&e.location.file, root);
            match (&e.kind, e.location.line) {
                // File-level problems: libnvme returns an errno without a message.
                (
                    K::Io(_)
                    | K::IsDirectory
                    | K::NotRegularFile
                    | K::TooLarge { .. }
                    | K::NulByte
                    | K::TooManyDropIns { .. },
                    _,
                ) => {}
                // Relational checks: libnvme names the file only.
                (
                    K::DropInHostWithoutHostnqn | K::HostnqnReused { .. } | K::HostidReused { .. },
                    _,
                ) => out.push_str(&format!("E {file}\n")),
                (_, Some(line)) => out.push_str(&format!("E {file}:{line}\n")),
                (_, None) => out.push_str(&format!("E {file}\n")),
            }
            out.push_str("result error\n");
            return out;
        }
        Ok(conf) => conf,
    };
    for w in conf.warnings.iter().filter(|w| w.kind.is_libnvme_warning()) {
        out.push_str(&format!(
            "W {}:{}\n",
            rel(&w.origin.file, root),
            w.origin.line
        ));
    }
    let file_index = |p: &Path| conf.files.iter().position(|f| &**f == p);
    let mut conns: Vec<(&Endpoint, &ConnPath)> = conf
        .discovery
        .iter()
        .chain(&conf.subsystems)
        .flat_map(|ep| ep.paths.iter().map(move |p| (ep, p)))
        .collect();
    conns.sort_by_key(|(_, p)| (file_index(&p.origin.file), p.origin.line));
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_owned());
    for (ep, p) in conns {
        out.push_str(&format!(
            "conn {} {}:{} {} {} {} {} {} {} {} {} {}\n",
            match ep.kind {
                ControllerKind::Discovery => "dc",
                ControllerKind::Io => "ioc",
            },
            rel(&p.origin.file, root),
            p.origin.line,
            p.transport,
            p.traddr,
            opt(&p.trsvcid),
            opt(&p.host_traddr),
            opt(&p.host_iface),
            ep.nqn,
            opt(&ep.identity.hostnqn),
            opt(&ep.identity.hostid),
            opt(&ep.identity.hostsymname),
        ));
        out.push_str(&format!("  params{}\n", render_settings(&p.settings)));
        if let (Some(dc), Some(ioc)) = (
            ep.discovered_defaults(ControllerKind::Discovery),
            ep.discovered_defaults(ControllerKind::Io),
        ) {
            out.push_str(&format!("  dlp_dc{}\n", render_settings(dc)));
            out.push_str(&format!("  dlp_ioc{}\n", render_settings(ioc)));
        }
    }
    out.push_str(&format!(
        "top_dc{}\ntop_ioc{}\nresult ok\n",
        render_settings(conf.runtime_defaults(ControllerKind::Discovery)),
        render_settings(conf.runtime_defaults(ControllerKind::Io)),
    ));
    out
}
