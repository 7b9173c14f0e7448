//! Start-up pieces both daemons share: the configuration file with its diagnostics logged,
//! the host identity from sys.conf, and the configured controllers of one reconcile pass
//! (exclusions, name resolution off the event loop, the address / ip-family filter).

use std::path::{Path, PathBuf};

use libnvme_rs::host::HostIdentity;
use libnvme_rs::trid::TransportId;

use crate::conf::controller::resolve::{self, SystemResolver};
use crate::conf::controller::{ControllerEntry, remove_excluded_entries};
use crate::conf::generation::{Explicit, Layout};
use crate::conf::options::{Daemon, Level, ServiceConfig, SysConfig};

/// Where the system configuration is read from (`$STAS_SYS_CONF_FILE` overrides it, for
/// unprivileged runs and tests).
pub fn sys_conf_path() -> PathBuf {
    std::env::var_os("STAS_SYS_CONF_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::SYS_CONF_FILE))
}

/// The configuration files a daemon was told about on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFiles {
    /// `-f/--conf-file` (or the 2.x default).
    pub conf_file: PathBuf,
    /// Whether `-f` named something else than the 2.x default.
    pub conf_explicit: bool,
    /// `-c/--conn-conf-file`.
    pub conn_conf_file: Option<PathBuf>,
}

impl ConfFiles {
    /// Decides the generation and files now (at start and on every SIGHUP).
    pub fn layout(&self, daemon: Daemon) -> Layout {
        crate::conf::generation::detect(
            daemon,
            Explicit {
                conf_file: self.conf_explicit.then_some(self.conf_file.as_path()),
                conn_conf_file: self.conn_conf_file.as_deref(),
            },
            Path::exists,
        )
    }
}

/// Logs which generation and files [`load_config`] reads (the daemons call it at start,
/// once the preflight checks passed, and on every SIGHUP).
pub fn announce_layout(daemon: Daemon, files: &ConfFiles) {
    let (info, warnings) = files.layout(daemon).announce();
    tracing::info!("{info}");
    for w in warnings {
        tracing::warn!("{w}");
    }
}

/// What a reload puts in force for the D-Bus adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloaded {
    /// `tron`.
    pub tron: bool,
    /// The D-Bus spelling: `dbus_api` (`--dbus-api`), else the configuration's generation.
    pub spelling: crate::dbus::Spelling,
}

/// SIGHUP: announces the layout, reloads into `cfg` and applies `tron` to `log`; with
/// errors the previous configuration stays (logged).
pub fn reload_config(
    daemon: Daemon,
    files: &ConfFiles,
    cfg: &mut ServiceConfig,
    log: &crate::service::LogHandle,
    dbus_api: Option<crate::dbus::Spelling>,
) -> Reloaded {
    announce_layout(daemon, files);
    match load_config(daemon, files) {
        Some(new) => {
            *cfg = new;
            log.set_tron(cfg.global.tron.value);
        }
        None => tracing::error!("configuration has errors, keeping the previous one"),
    }
    Reloaded {
        tron: cfg.global.tron.value,
        spelling: crate::dbus::Spelling::chosen(dbus_api, cfg.generation),
    }
}

/// Loads `daemon`'s configuration of whichever generation the host uses, logging the
/// diagnostics; `None` when it has errors.
pub fn load_config(daemon: Daemon, files: &ConfFiles) -> Option<ServiceConfig> {
    let layout = files.layout(daemon);
    let loaded = crate::conf::layout::load(daemon, &layout);
    for d in &loaded.diagnostics {
        let line = d.line.map(|l| format!(":{l}")).unwrap_or_default();
        match d.level {
            Level::Error => tracing::error!("{}{line}: {}", d.file.display(), d.message),
            _ => tracing::warn!("{}{line}: {}", d.file.display(), d.message),
        }
    }
    (!loaded.has_errors()).then_some(loaded.config)
}

/// The host identity: on the 2.x layout sys.conf and the files it points to; on the 3.x
/// layout (no sys.conf) `/etc/nvme/hostnqn` and `hostid`, with `hostnqn`, `hostid` and
/// `hostsymname` of nvme-stas.conf's `[Host]` taking precedence. Also the symbolic name;
/// `Err` says why not.
pub fn load_host(cfg: &ServiceConfig) -> Result<(HostIdentity, Option<String>), String> {
    let (sources, symname) = host_sources(cfg);
    let host = sources.load().map_err(|e| libnvme_rs::error_chain(&e))?;
    Ok((host, symname))
}

/// The host NQN alone, as the ctl tools need it for a default (upstream's `SysConf.hostnqn`):
/// a missing host ID is no error here.
pub fn load_hostnqn(cfg: &ServiceConfig) -> Result<String, String> {
    host_sources(cfg)
        .0
        .hostnqn()
        .map_err(|e| libnvme_rs::error_chain(&e))
}

/// Where the host identity comes from (3.x: the config's host declaration; 2.x: sys.conf),
/// and the host symbolic name.
fn host_sources(cfg: &ServiceConfig) -> (libnvme_rs::host::HostSources, Option<String>) {
    if cfg.generation == crate::conf::generation::Generation::V3 {
        let decl = cfg.host.clone().unwrap_or_default();
        let sources = libnvme_rs::host::HostSources {
            etc_nvme: PathBuf::from("/etc/nvme"),
            nqn: decl.hostnqn,
            id: decl.hostid,
            key: None,
        };
        return (sources, decl.hostsymname);
    }
    let (sys, diags) = SysConfig::load(&sys_conf_path());
    for d in diags {
        tracing::warn!("{}: {}", d.file.display(), d.message);
    }
    let symname = sys.resolve_symname().unwrap_or_else(|w| {
        tracing::warn!("{w}");
        None
    });
    (sys.host_sources(Path::new("/etc/nvme")), symname)
}

/// A positive number from the environment (`$STAS_UEVENT_BUFFER`, `$STAS_AUDIT_PERIOD`:
/// tuning knobs documented in stafd(8)/stacd(8)); anything else is ignored with a warning.
pub fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let n = positive_number(&text);
    if n.is_none() {
        tracing::warn!("${name}={text:?} is not a positive number: ignored");
    }
    n
}

/// A positive decimal number, surrounding white space allowed.
fn positive_number(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|n| *n > 0)
}

/// Where NBFT tables are looked for (`$STAS_NBFT_DIR` overrides it, for tests).
pub fn nbft_dir() -> std::path::PathBuf {
    std::env::var_os("STAS_NBFT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(libnvme_rs::nbft::DEFAULT_ACPI_TABLES_DIR))
}

/// Every controller the NBFT tables in `dir` list (discovery and subsystem descriptors);
/// unreadable tables add nothing (the daemon that uses them logs why).
pub fn nbft_listed(dir: &std::path::Path) -> Vec<libnvme_rs::kernel::protected::NbftListed> {
    let no_iface = |_: &[u8; 6]| None;
    libnvme_rs::nbft::read_dir(dir)
        .into_iter()
        .filter_map(|(_, t)| t.ok())
        .flat_map(|t| {
            let mut all = t.discovery_controllers(&no_iface);
            all.extend(t.subsystem_controllers(&no_iface));
            all
        })
        .map(|c| libnvme_rs::kernel::protected::NbftListed {
            transport: c.transport,
            traddr: c.traddr,
            trsvcid: c.trsvcid.unwrap_or_default(),
            subsysnqn: c.subsysnqn,
        })
        .collect()
}

/// What a daemon starts from ([`host_and_backend`]).
pub struct Started {
    /// The host identity ([`load_host`]).
    pub host: HostIdentity,
    /// The host's symbolic name, if configured.
    pub symname: Option<String>,
    /// The backend the configuration chooses.
    pub backend: libnvme_rs::controller::Backend,
}

/// The host identity with its symbolic name and the backend `cfg` chooses, logged as
/// "PROG: NAME backend".
pub async fn host_and_backend(prog: &str, cfg: &ServiceConfig) -> Result<Started, String> {
    let (host, symname) = load_host(cfg)?;
    let backend = backend(cfg.global.backend_choice(), &host).await?;
    tracing::info!("{prog}: {} backend", backend.name());
    Ok(Started {
        host,
        symname,
        backend,
    })
}

/// The backend `choice` names (after [`crate::conf::options::GlobalOptions::backend_choice`]).
pub async fn backend(
    choice: crate::conf::options::BackendChoice,
    host: &HostIdentity,
) -> Result<libnvme_rs::controller::Backend, String> {
    use libnvme_rs::controller::{Backend, KernelOptions};
    match choice {
        crate::conf::options::BackendChoice::Kernel => {
            // On a libnvme 3 host, connections are recorded as nvme-stas's in the ownership
            // registry and other owners' are left alone (nvme-stas 3.x spec §1).
            let mut opts = KernelOptions {
                owner: Some(libnvme_rs::kernel::registry::STAS_OWNER.to_owned()),
                nbft_listed: nbft_listed(&nbft_dir()),
                ..KernelOptions::default()
            };
            if let Some(bytes) = env_number("STAS_UEVENT_BUFFER") {
                opts.uevent_buffer = usize::try_from(bytes).unwrap_or(usize::MAX);
            }
            Backend::kernel_with(host, &opts).await
        }
        _ => Backend::native(host),
    }
    .map_err(|e| e.chain())
}

/// The configured controllers of one pass (§4.4-1, §4.10-1, §4.3): `entries` less the
/// excluded ones, host names resolved in a worker thread, addresses of a disabled family
/// or not valid dropped with upstream's messages.
pub async fn configured(
    cfg: &ServiceConfig,
    hostnqn: &str,
    entries: Vec<ControllerEntry>,
) -> Vec<(TransportId, ControllerEntry)> {
    let ignore_iface = cfg.global.ignore_iface.value;
    let family = cfg.global.ip_family.value;
    let entries = remove_excluded_entries(entries, &cfg.exclusions, hostnqn, ignore_iface);
    let outcomes = tokio::task::spawn_blocking(move || {
        resolve::resolve_entries(&entries, family, &SystemResolver)
    })
    .await
    .unwrap_or_default();
    let mut out = Vec::new();
    for o in outcomes {
        if let Some(msg) = o.message() {
            tracing::warn!("{msg}");
        }
        if let Some(e) = o.entry() {
            let tid = e.tid(hostnqn, ignore_iface);
            if resolve::check_address(&tid, family) == resolve::AddressCheck::Valid {
                out.push((tid, e.clone()));
            } else {
                tracing::warn!("{tid} IP address is not valid");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn positive_numbers_only() {
        for (text, want) in [
            ("60", Some(60)),
            (" 4194304\n", Some(4_194_304)),
            ("0", None),
            ("-5", None),
            ("1e3", None),
            ("", None),
            ("99999999999999999999999", None),
            ("12abc", None),
        ] {
            assert_eq!(super::positive_number(text), want, "{text:?}");
        }
    }
}
