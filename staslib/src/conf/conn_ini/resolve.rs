//! Main file and drop-ins into the resolved model, as libnvme's `config-resolve.c`:
//! persona checks (`check_personas`), then the cascade per file (`build_base`,
//! `resolve_path`): type defaults (main, then the file's own) < the file's `[Host]` <
//! endpoint section < `controller =` line.

use std::path::Path;
use std::sync::Arc;

use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;

use super::error::{ConnConfError, ErrorKind, Warning};
use super::keys::Value;
use super::model::{
    ConnConfig, ConnPath, ControllerKind, Endpoint, HostIdentity, HostSection, Settings,
};
use super::parse::{IdentityValue, Params, RawFile, RawHost};

/// Checks the personas and resolves `files` (main file first; an absent main file is an
/// empty [`RawFile`]). `read` lists the files that exist.
pub(super) fn resolve(
    files: &[RawFile],
    read: Vec<Arc<Path>>,
    warnings: Vec<Warning>,
) -> Result<ConnConfig, ConnConfError> {
    check_personas(files)?;
    let mut conf = ConnConfig {
        warnings,
        files: read,
        ..ConnConfig::default()
    };
    let Some(top) = files.first() else {
        return Ok(conf);
    };
    for (index, file) in files.iter().enumerate() {
        let is_top = index == 0;
        let dc_base = base(top, file, is_top, ControllerKind::Discovery);
        let ioc_base = base(top, file, is_top, ControllerKind::Io);
        let identity = identity(file.host.as_ref(), !is_top);
        for ep in &file.endpoints {
            let base = match ep.kind {
                ControllerKind::Discovery => &dc_base,
                ControllerKind::Io => &ioc_base,
            };
            let paths = ep
                .paths
                .iter()
                .map(|path| {
                    let mut params = base.clone();
                    params.merge(&ep.params);
                    params.merge(&path.overrides);
                    ConnPath {
                        origin: path.origin.clone(),
                        transport: path.transport,
                        traddr: path.traddr.clone(),
                        trsvcid: path.trsvcid.clone(),
                        host_traddr: path.host_traddr.clone(),
                        host_iface: path.host_iface.clone(),
                        settings: settings(&params),
                    }
                })
                .collect();
            let endpoint = Endpoint {
                kind: ep.kind,
                origin: ep.origin.clone(),
                nqn: ep
                    .nqn
                    .clone()
                    .unwrap_or_else(|| WELL_KNOWN_DISC_NQN.to_owned()),
                identity: identity.clone(),
                paths,
                discovered: (ep.kind == ControllerKind::Discovery)
                    .then(|| Box::new((settings(&dc_base), settings(&ioc_base)))),
            };
            match ep.kind {
                ControllerKind::Discovery => conf.discovery.push(endpoint),
                ControllerKind::Io => conf.subsystems.push(endpoint),
            }
        }
        if let Some(host) = &file.host {
            let section = host_section(host);
            if is_top {
                conf.host = Some(section);
            } else {
                conf.personas.push(section);
            }
        }
    }
    conf.runtime_dc = settings(&base(top, top, true, ControllerKind::Discovery));
    conf.runtime_ioc = settings(&base(top, top, true, ControllerKind::Io));
    Ok(conf)
}

/// libnvme `check_personas`: a drop-in `[Host]` names its `hostnqn`; a `hostnqn` belongs
/// to one file; one `hostid` is not shared by two different `hostnqn`s.
fn check_personas(files: &[RawFile]) -> Result<(), ConnConfError> {
    for (index, file) in files.iter().enumerate() {
        let Some(host) = &file.host else { continue };
        let hostnqn = IdentityValue::real(&host.hostnqn);
        if index > 0 && hostnqn.is_none() {
            return Err(ConnConfError::at(
                &host.origin,
                ErrorKind::DropInHostWithoutHostnqn,
            ));
        }
        for other in files[..index].iter().filter_map(|f| f.host.as_ref()) {
            let other_nqn = IdentityValue::real(&other.hostnqn);
            if let (Some(mine), Some(theirs)) = (hostnqn, other_nqn)
                && mine.text == theirs.text
            {
                return Err(ConnConfError::at(
                    &mine.origin,
                    ErrorKind::HostnqnReused {
                        hostnqn: mine.text.clone(),
                        other: theirs.origin.clone(),
                    },
                ));
            }
            if let (Some(id), Some(other_id), Some(_), Some(theirs)) = (
                IdentityValue::real(&host.hostid),
                IdentityValue::real(&other.hostid),
                hostnqn,
                other_nqn,
            ) && id.text == other_id.text
            {
                // The hostnqns differ: equal ones were refused above.
                return Err(ConnConfError::at(
                    &id.origin,
                    ErrorKind::HostidReused {
                        hostid: id.text.clone(),
                        other_hostnqn: theirs.text.clone(),
                        other: other_id.origin.clone(),
                    },
                ));
            }
        }
    }
    Ok(())
}

/// libnvme `build_base`: main file's type defaults, the file's own (for a drop-in), the
/// file's `[Host]` parameters.
fn base(top: &RawFile, file: &RawFile, is_top: bool, kind: ControllerKind) -> Params {
    let mut params = Params::default();
    if let Some(d) = top.defaults(kind) {
        params.merge(d);
    }
    if !is_top && let Some(d) = file.defaults(kind) {
        params.merge(d);
    }
    if let Some(host) = &file.host {
        params.merge(&host.params);
    }
    params
}

fn real_text(v: &Option<IdentityValue>) -> Option<String> {
    IdentityValue::real(v).map(|v| v.text.clone())
}

fn identity(host: Option<&RawHost>, dropin: bool) -> HostIdentity {
    match host {
        Some(h) => HostIdentity {
            hostnqn: real_text(&h.hostnqn),
            hostid: real_text(&h.hostid),
            hostsymname: real_text(&h.hostsymname),
            dropin_persona: dropin,
        },
        None => HostIdentity::default(),
    }
}

fn host_section(host: &RawHost) -> HostSection {
    HostSection {
        origin: host.origin.clone(),
        hostnqn: real_text(&host.hostnqn),
        hostid: real_text(&host.hostid),
        hostsymname: real_text(&host.hostsymname),
        settings: settings(&host.params),
    }
}

/// Typed settings from a merged parameter store; a reset leaves the field `None` but keeps
/// its origin.
fn settings(params: &Params) -> Settings {
    let mut s = Settings::default();
    for e in &params.entries {
        s.origins.push((e.key.name, e.origin.clone()));
        let t = &mut s.tunables;
        let sec = &mut s.security;
        match (e.key.name, &e.value) {
            (_, Value::Reset) => {}
            ("nr-io-queues", Value::Int(v)) => t.nr_io_queues = Some(*v),
            ("nr-write-queues", Value::Int(v)) => t.nr_write_queues = Some(*v),
            ("nr-poll-queues", Value::Int(v)) => t.nr_poll_queues = Some(*v),
            ("queue-size", Value::Int(v)) => t.queue_size = Some(*v),
            ("keep-alive-tmo", Value::Int(v)) => t.keep_alive_tmo = Some(*v),
            ("reconnect-delay", Value::Int(v)) => t.reconnect_delay = Some(*v),
            ("ctrl-loss-tmo", Value::Int(v)) => t.ctrl_loss_tmo = Some(*v),
            ("fast-io-fail-tmo", Value::Int(v)) => t.fast_io_fail_tmo = Some(*v),
            ("tos", Value::Int(v)) => t.tos = Some(*v),
            ("duplicate-connect", Value::Bool(v)) => t.duplicate_connect = Some(*v),
            ("disable-sqflow", Value::Bool(v)) => t.disable_sqflow = Some(*v),
            ("hdr-digest", Value::Bool(v)) => t.hdr_digest = Some(*v),
            ("data-digest", Value::Bool(v)) => t.data_digest = Some(*v),
            ("persistent", Value::Persistent(p)) => s.persistent = Some(*p),
            ("tls", Value::Bool(v)) => sec.tls = Some(*v),
            ("concat", Value::Bool(v)) => sec.concat = Some(*v),
            ("tls-key", Value::Secret(v)) => sec.tls_key = Some(v.clone()),
            ("tls-key-identity", Value::Text(v)) => sec.tls_key_identity = Some(v.clone()),
            ("keyring", Value::Text(v)) => sec.keyring = Some(v.clone()),
            ("kxchap-secret", Value::Secret(v)) => sec.kxchap_secret = Some(v.clone()),
            ("kxchap-ctrl-secret", Value::Secret(v)) => {
                sec.kxchap_ctrl_secret = Some(v.clone());
            }
            // check_value() gives every key its own value type; nothing else is stored.
            _ => {}
        }
    }
    s
}
