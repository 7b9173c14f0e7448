//! Typed configuration of `stafd.conf`, `stacd.conf` (compat spec §1.2–§1.6, §1.9) and
//! `sys.conf` (§1.7).
//!
//! [`ServiceConfig::from_raw`] validates a [`RawConfig`] (from the INI reader or the TOML
//! loader) for one [`Daemon`]: each option goes through upstream's text check, converter,
//! range and list checks, and falls back to the daemon's default with upstream's WARNING
//! text; unknown sections and options get upstream's ERROR texts. Every value remembers
//! where it came from ([`Source`]).
//!
//! Decisions (see also [`crate::conf::controller`]):
//! * a bare key (no `=`) is a warning and the default (fix 2; upstream crashes);
//! * an unparsable `zeroconf-connections-persistence` is a warning and the default
//!   (upstream stores "null" and crashes later);
//! * deprecated aliases of §1.9 are accepted with a warning: `[Controllers] blacklist=` (as
//!   `exclude=`) and, for stafd, `[Global] persistent-connections` (combined with the new
//!   option as v2.4.1 did: the explicit values OR-ed);
//! * the options removed earlier (`udev-rule`, `sticky-connections`, `duplicate-connect`)
//!   are invalid options, reported with a hint;
//! * values are validated once per load (upstream re-validates, and re-warns, at every use);
//! * invalid sections/options are one ERROR diagnostic per item (upstream logs one line per
//!   section with a set), each with its line;
//! * an empty `controller=`/`exclude=` item that only comes from a blank line after the key
//!   (configparser continuation) is skipped silently; upstream turns it into an empty entry
//!   (an empty exclusion excluding every controller).

mod build;
mod load;
mod raw;
mod sys;
#[cfg(test)]
mod tests;
pub(crate) mod value;

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use libnvme_rs::trid::Transport;

pub use load::{
    ConfFormat, LoadedConfig, load_service_config, load_service_config_as, parse_service_config,
    parse_service_config_as,
};
pub use raw::{RawConfig, RawKind, RawOption, RawSection, RawValue};
pub use sys::{HostValue, SysConfig};
pub use value::{py_list_repr, py_repr, py_set_repr, python_int};

use super::controller::{ControllerEntry, Exclusion};
use super::generation::Generation;

/// `[Global]`.
pub const GLOBAL: &str = "Global";
/// `[Service Discovery]` (stafd).
pub const SERVICE_DISCOVERY: &str = "Service Discovery";
/// `[Discovery controller connection management]` (stafd).
pub const DC_MANAGEMENT: &str = "Discovery controller connection management";
/// `[I/O controller connection management]` (stacd).
pub const IOC_MANAGEMENT: &str = "I/O controller connection management";
/// `[Controllers]`.
pub const CONTROLLERS: &str = "Controllers";

/// `zeroconf-connections-persistence` default: 72 hours.
pub const DEFAULT_ZEROCONF_PERSISTENCE: f64 = 259_200.0;

/// Which daemon's rules (valid sections/options, defaults) apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Daemon {
    /// The discovery daemon.
    Stafd,
    /// The connector daemon.
    Stacd,
}

const STAFD_GLOBAL: &[&str] = &[
    "tron",
    "hdr-digest",
    "data-digest",
    "kato",
    "queue-size",
    "reconnect-delay",
    "ctrl-loss-tmo",
    "disable-sqflow",
    "ignore-iface",
    "ip-family",
    "pleo",
    "backend",
];
const STACD_GLOBAL: &[&str] = &[
    "tron",
    "hdr-digest",
    "data-digest",
    "kato",
    "nr-io-queues",
    "nr-write-queues",
    "nr-poll-queues",
    "queue-size",
    "reconnect-delay",
    "ctrl-loss-tmo",
    "disable-sqflow",
    "ignore-iface",
    "ip-family",
    "backend",
];
const CONTROLLERS_OPTS: &[&str] = &["controller", "exclude"];

impl Daemon {
    /// Program name.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Stafd => "stafd",
            Daemon::Stacd => "stacd",
        }
    }

    /// Default configuration file.
    pub fn default_conf_file(self) -> &'static Path {
        Path::new(match self {
            Daemon::Stafd => crate::STAFD_CONF_FILE,
            Daemon::Stacd => crate::STACD_CONF_FILE,
        })
    }

    /// The valid sections, in documentation order.
    pub fn sections(self) -> &'static [&'static str] {
        match self {
            Daemon::Stafd => &[GLOBAL, SERVICE_DISCOVERY, DC_MANAGEMENT, CONTROLLERS],
            Daemon::Stacd => &[GLOBAL, IOC_MANAGEMENT, CONTROLLERS],
        }
    }

    /// The valid options of `section` in a 3.x daemon file, or `None` if the section is not
    /// one of 3.x's.
    pub fn valid_options_v3(self, section: &str) -> Option<&'static [&'static str]> {
        match (self, section) {
            // `backend` is ours (not upstream's) in both generations.
            (Daemon::Stafd, GLOBAL) => {
                Some(&["tron", "ignore-iface", "ip-family", "pleo", "backend"])
            }
            (Daemon::Stacd, GLOBAL) => Some(&["tron", "ignore-iface", "ip-family", "backend"]),
            (Daemon::Stafd, SERVICE_DISCOVERY) => Some(&["zeroconf"]),
            (Daemon::Stafd, DC_MANAGEMENT) => {
                Some(&["epcsd-poll-interval-minutes", "dc-giveup-timeout"])
            }
            (Daemon::Stacd, IOC_MANAGEMENT) => {
                Some(&["honor-fabric-zoning", "connect-attempts-on-ncc"])
            }
            _ => None,
        }
    }

    /// The valid options of `section`, or `None` if the section is invalid for this daemon.
    pub fn valid_options(self, section: &str) -> Option<&'static [&'static str]> {
        match (self, section) {
            (Daemon::Stafd, GLOBAL) => Some(STAFD_GLOBAL),
            (Daemon::Stacd, GLOBAL) => Some(STACD_GLOBAL),
            (Daemon::Stafd, SERVICE_DISCOVERY) => Some(&["zeroconf"]),
            (Daemon::Stafd, DC_MANAGEMENT) => {
                Some(&["persistent-connections", "zeroconf-connections-persistence"])
            }
            (Daemon::Stacd, IOC_MANAGEMENT) => Some(&[
                "disconnect-scope",
                "disconnect-trtypes",
                "connect-attempts-on-ncc",
            ]),
            (_, CONTROLLERS) => Some(CONTROLLERS_OPTS),
            _ => None,
        }
    }
}

/// Severity of a [`Diagnostic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Logged at WARNING; the configuration still works (defaults apply).
    Warning,
    /// Logged at ERROR: an invalid section/option, or a file that could not be read/parsed.
    Error,
}

/// One finding about a configuration file. `message` is the log text (upstream's where one
/// exists, starting with `File:<path>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Severity.
    pub level: Level,
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The log text.
    pub message: String,
}

/// `<file>:<line>: warning|error: <message>`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Warning => "warning",
            Level::Error => "error",
        };
        match self.line {
            Some(l) => write!(f, "{}:{l}: {level}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {level}: {}", self.file.display(), self.message),
        }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Not in the file: the daemon's default.
    Default,
    /// Read from the file (line of the occurrence used, when known).
    File(Option<usize>),
    /// In the file but invalid: the default applies.
    InvalidDefault(Option<usize>),
}

/// An effective value and its [`Source`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Setting<T> {
    /// A default value.
    pub fn default_value(value: T) -> Self {
        Setting {
            value,
            source: Source::Default,
        }
    }
}

/// Enabled IP families (`ip-family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpFamily {
    /// IPv4 enabled.
    pub ipv4: bool,
    /// IPv6 enabled.
    pub ipv6: bool,
}

impl IpFamily {
    /// `ipv4`.
    pub const IPV4: IpFamily = IpFamily {
        ipv4: true,
        ipv6: false,
    };
    /// `ipv6`.
    pub const IPV6: IpFamily = IpFamily {
        ipv4: false,
        ipv6: true,
    };
    /// `ipv4+ipv6` (the default).
    pub const BOTH: IpFamily = IpFamily {
        ipv4: true,
        ipv6: true,
    };

    /// Whether IP version `v` (4 or 6) is enabled.
    pub fn allows_version(self, v: u8) -> bool {
        match v {
            4 => self.ipv4,
            6 => self.ipv6,
            _ => false,
        }
    }

    /// Whether `addr`'s family is enabled.
    pub fn allows(self, addr: &IpAddr) -> bool {
        if addr.is_ipv4() { self.ipv4 } else { self.ipv6 }
    }
}

impl fmt::Display for IpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.ipv4, self.ipv6) {
            (true, true) => "ipv4+ipv6",
            (true, false) => "ipv4",
            (false, true) => "ipv6",
            (false, false) => "none",
        })
    }
}

/// `disconnect-scope` (stacd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectScope {
    /// `only-stas-connections` (default).
    OnlyStasConnections,
    /// `all-connections-matching-disconnect-trtypes`.
    AllConnectionsMatchingDisconnectTrtypes,
    /// `no-disconnect`.
    NoDisconnect,
}

impl DisconnectScope {
    /// Case-sensitive parse.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "only-stas-connections" => Some(Self::OnlyStasConnections),
            "all-connections-matching-disconnect-trtypes" => {
                Some(Self::AllConnectionsMatchingDisconnectTrtypes)
            }
            "no-disconnect" => Some(Self::NoDisconnect),
            _ => None,
        }
    }

    /// Configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnlyStasConnections => "only-stas-connections",
            Self::AllConnectionsMatchingDisconnectTrtypes => {
                "all-connections-matching-disconnect-trtypes"
            }
            Self::NoDisconnect => "no-disconnect",
        }
    }
}

/// Connect-time parameters of `[Global]` and their per-controller overrides; `None` means
/// "not given" (the kernel default applies, or the `[Global]` value for an override).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectParams {
    /// `kato` (seconds).
    pub kato: Option<i64>,
    /// `queue-size` (16..1024).
    pub queue_size: Option<i64>,
    /// `reconnect-delay` (seconds).
    pub reconnect_delay: Option<i64>,
    /// `ctrl-loss-tmo` (seconds, −1 = forever).
    pub ctrl_loss_tmo: Option<i64>,
    /// `nr-io-queues`.
    pub nr_io_queues: Option<i64>,
    /// `nr-write-queues`.
    pub nr_write_queues: Option<i64>,
    /// `nr-poll-queues`.
    pub nr_poll_queues: Option<i64>,
    /// `hdr-digest`.
    pub hdr_digest: Option<bool>,
    /// `data-digest`.
    pub data_digest: Option<bool>,
    /// `disable-sqflow`.
    pub disable_sqflow: Option<bool>,
}

impl ConnectParams {
    /// The parameters that are set, as `(2.x key, 3.x key, value)` in one fixed order: the
    /// 2.x `controller=`/`[Global]` spelling and nvme-stas 3.x's (`kato` is `keep-alive-tmo`).
    pub fn keyed(&self) -> Vec<(&'static str, &'static str, String)> {
        let nums = [
            ("kato", "keep-alive-tmo", self.kato),
            ("queue-size", "queue-size", self.queue_size),
            ("reconnect-delay", "reconnect-delay", self.reconnect_delay),
            ("ctrl-loss-tmo", "ctrl-loss-tmo", self.ctrl_loss_tmo),
            ("nr-io-queues", "nr-io-queues", self.nr_io_queues),
            ("nr-write-queues", "nr-write-queues", self.nr_write_queues),
            ("nr-poll-queues", "nr-poll-queues", self.nr_poll_queues),
        ];
        let flags = [
            ("hdr-digest", "hdr-digest", self.hdr_digest),
            ("data-digest", "data-digest", self.data_digest),
            ("disable-sqflow", "disable-sqflow", self.disable_sqflow),
        ];
        let nums = nums
            .into_iter()
            .filter_map(|(v2, v3, v)| Some((v2, v3, v?.to_string())));
        let flags = flags
            .into_iter()
            .filter_map(|(v2, v3, v)| Some((v2, v3, v?.to_string())));
        nums.chain(flags).collect()
    }

    /// Each field of `self`, else of `fallback`.
    pub fn or(&self, fallback: &ConnectParams) -> ConnectParams {
        ConnectParams {
            kato: self.kato.or(fallback.kato),
            queue_size: self.queue_size.or(fallback.queue_size),
            reconnect_delay: self.reconnect_delay.or(fallback.reconnect_delay),
            ctrl_loss_tmo: self.ctrl_loss_tmo.or(fallback.ctrl_loss_tmo),
            nr_io_queues: self.nr_io_queues.or(fallback.nr_io_queues),
            nr_write_queues: self.nr_write_queues.or(fallback.nr_write_queues),
            nr_poll_queues: self.nr_poll_queues.or(fallback.nr_poll_queues),
            hdr_digest: self.hdr_digest.or(fallback.hdr_digest),
            data_digest: self.data_digest.or(fallback.data_digest),
            disable_sqflow: self.disable_sqflow.or(fallback.disable_sqflow),
        }
    }

    /// The typed parameters of libnvme-rs's controller interface. Values out of their
    /// range (negative counts, queue sizes above 65535) are left to the backend's default.
    pub fn controller_params(&self) -> libnvme_rs::controller::ConnectParams {
        let secs = |v: Option<i64>| {
            v.and_then(|s| u64::try_from(s).ok())
                .map(std::time::Duration::from_secs)
        };
        let count = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
        libnvme_rs::controller::ConnectParams {
            kato: secs(self.kato),
            queue_size: self.queue_size.and_then(|q| u16::try_from(q).ok()),
            hdr_digest: self.hdr_digest.unwrap_or(false),
            data_digest: self.data_digest.unwrap_or(false),
            connect_timeout: None,
            nr_io_queues: count(self.nr_io_queues),
            nr_write_queues: count(self.nr_write_queues),
            nr_poll_queues: count(self.nr_poll_queues),
            reconnect_delay: secs(self.reconnect_delay),
            ctrl_loss_tmo: self.ctrl_loss_tmo.and_then(|t| i32::try_from(t).ok()),
            disable_sqflow: self.disable_sqflow.unwrap_or(false),
            dhchap_secret: None,
            dhchap_ctrl_secret: None,
            tls: Default::default(),
            fast_io_fail_tmo: None,
            tos: None,
            duplicate_connect: false,
        }
    }
}

/// `[Global]` (both daemons; options invalid for a daemon keep their default unless the
/// daemon still reads them, as stafd does for `nr-*-queues`).
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalOptions {
    /// `tron`.
    pub tron: Setting<bool>,
    /// `hdr-digest`.
    pub hdr_digest: Setting<bool>,
    /// `data-digest`.
    pub data_digest: Setting<bool>,
    /// `kato`: stafd 30, stacd unset.
    pub kato: Setting<Option<i64>>,
    /// `queue-size`.
    pub queue_size: Setting<Option<i64>>,
    /// `reconnect-delay`.
    pub reconnect_delay: Setting<Option<i64>>,
    /// `ctrl-loss-tmo`.
    pub ctrl_loss_tmo: Setting<Option<i64>>,
    /// `disable-sqflow`.
    pub disable_sqflow: Setting<Option<bool>>,
    /// `nr-io-queues`.
    pub nr_io_queues: Setting<Option<i64>>,
    /// `nr-write-queues`.
    pub nr_write_queues: Setting<Option<i64>>,
    /// `nr-poll-queues`.
    pub nr_poll_queues: Setting<Option<i64>>,
    /// `ignore-iface`.
    pub ignore_iface: Setting<bool>,
    /// `ip-family`.
    pub ip_family: Setting<IpFamily>,
    /// `pleo` (stafd).
    pub pleo: Setting<bool>,
    /// `[Global] backend` (ours; upstream has only the kernel).
    pub backend: Setting<BackendChoice>,
}

impl GlobalOptions {
    /// The backend `backend` selects on this host (`auto`: the kernel where
    /// `/dev/nvme-fabrics` exists).
    pub fn backend_choice(&self) -> BackendChoice {
        self.backend
            .value
            .resolve(std::path::Path::new(crate::NVME_FABRICS_DEV).exists())
    }

    /// The built-in defaults of `daemon`.
    pub fn defaults(daemon: Daemon) -> Self {
        fn d<T>(v: T) -> Setting<T> {
            Setting::default_value(v)
        }
        GlobalOptions {
            tron: d(false),
            hdr_digest: d(false),
            data_digest: d(false),
            kato: d(match daemon {
                Daemon::Stafd => Some(30),
                Daemon::Stacd => None,
            }),
            queue_size: d(None),
            reconnect_delay: d(None),
            ctrl_loss_tmo: d(None),
            disable_sqflow: d(None),
            nr_io_queues: d(None),
            nr_write_queues: d(None),
            nr_poll_queues: d(None),
            ignore_iface: d(false),
            ip_family: d(IpFamily::BOTH),
            pleo: d(true),
            backend: d(BackendChoice::Auto),
        }
    }

    /// The connect parameters of `[Global]`.
    pub fn connect_params(&self) -> ConnectParams {
        ConnectParams {
            kato: self.kato.value,
            queue_size: self.queue_size.value,
            reconnect_delay: self.reconnect_delay.value,
            ctrl_loss_tmo: self.ctrl_loss_tmo.value,
            nr_io_queues: self.nr_io_queues.value,
            nr_write_queues: self.nr_write_queues.value,
            nr_poll_queues: self.nr_poll_queues.value,
            hdr_digest: Some(self.hdr_digest.value),
            data_digest: Some(self.data_digest.value),
            disable_sqflow: self.disable_sqflow.value,
        }
    }
}

/// Which host implementation carries the daemons' connections (`[Global] backend`,
/// ours; upstream has only the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// The kernel where `/dev/nvme-fabrics` exists, else the native host.
    Auto,
    /// The Linux initiator (root, `/dev/nvme-fabrics`).
    Kernel,
    /// The userspace NVMe/TCP host (no root, no kernel NVMe support needed).
    Native,
}

impl BackendChoice {
    /// Parses `auto`, `kernel`, `native` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "kernel" => Some(Self::Kernel),
            "native" => Some(Self::Native),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Kernel => "kernel",
            Self::Native => "native",
        }
    }

    /// `Auto` decided by whether the kernel's fabrics device exists.
    pub fn resolve(self, fabrics_present: bool) -> Self {
        match self {
            Self::Auto if fabrics_present => Self::Kernel,
            Self::Auto => Self::Native,
            other => other,
        }
    }
}

/// stafd-only options.
#[derive(Debug, Clone, PartialEq)]
pub struct StafdOptions {
    /// `[Service Discovery] zeroconf`.
    pub zeroconf: Setting<bool>,
    /// `[Discovery controller connection management] persistent-connections`.
    pub persistent_connections: Setting<bool>,
    /// `zeroconf-connections-persistence` in seconds (−1 forever, 0 immediately); 3.x's
    /// `dc-giveup-timeout`.
    pub zeroconf_connections_persistence: Setting<f64>,
    /// 3.x `epcsd-poll-interval-minutes`: how often a parked DC is polled.
    pub epcsd_poll_minutes: Setting<i64>,
    /// 3.x `persistent` of nvme-stas.conf's `[Discovery Controller Defaults]`: the mode of
    /// DCs found at run time (referrals, mDNS).
    pub runtime_persistent: Option<super::conn_ini::Persistent>,
}

impl StafdOptions {
    /// Defaults.
    pub fn defaults() -> Self {
        StafdOptions {
            zeroconf: Setting::default_value(true),
            persistent_connections: Setting::default_value(true),
            zeroconf_connections_persistence: Setting::default_value(DEFAULT_ZEROCONF_PERSISTENCE),
            epcsd_poll_minutes: Setting::default_value(15),
            runtime_persistent: None,
        }
    }

    /// The DNS-SD service types to browse (empty when zeroconf is disabled).
    pub fn stypes(&self) -> &'static [&'static str] {
        if self.zeroconf.value {
            &["_nvme-disc._tcp", "_nvme-disc._udp"]
        } else {
            &[]
        }
    }
}

/// stacd-only options.
#[derive(Debug, Clone, PartialEq)]
pub struct StacdOptions {
    /// `disconnect-scope`.
    pub disconnect_scope: Setting<DisconnectScope>,
    /// `disconnect-trtypes` (never empty).
    pub disconnect_trtypes: Setting<BTreeSet<Transport>>,
    /// `connect-attempts-on-ncc` (0 = never stop; 1 already raised to 2).
    pub connect_attempts_on_ncc: Setting<i64>,
}

impl StacdOptions {
    /// Defaults.
    pub fn defaults() -> Self {
        StacdOptions {
            disconnect_scope: Setting::default_value(DisconnectScope::OnlyStasConnections),
            disconnect_trtypes: Setting::default_value(BTreeSet::from([Transport::Tcp])),
            connect_attempts_on_ncc: Setting::default_value(0),
        }
    }

    /// Whether `transport` is listed in `disconnect-trtypes`.
    pub fn trtype_selected(&self, transport: Transport) -> bool {
        self.disconnect_trtypes.value.contains(&transport)
    }

    /// §4.10 step 4: whether a removed IOC's kernel connection is kept.
    pub fn keep_connection_on_removal(&self, transport: Transport) -> bool {
        match self.disconnect_scope.value {
            DisconnectScope::NoDisconnect => true,
            DisconnectScope::AllConnectionsMatchingDisconnectTrtypes => {
                !self.trtype_selected(transport)
            }
            DisconnectScope::OnlyStasConnections => false,
        }
    }
}

/// The daemon-specific part of a [`ServiceConfig`].
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonOptions {
    /// stafd.
    Stafd(StafdOptions),
    /// stacd.
    Stacd(StacdOptions),
}

/// The effective configuration of one daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// The daemon.
    pub daemon: Daemon,
    /// The configuration generation the values were read as.
    pub generation: Generation,
    /// The file it was read from (or would have been).
    pub file: PathBuf,
    /// `[Global]`.
    pub global: GlobalOptions,
    /// Daemon-specific sections.
    pub options: DaemonOptions,
    /// Valid `controller=` entries, in file order.
    pub controllers: Vec<ControllerEntry>,
    /// Non-empty `exclude=` (and deprecated `blacklist=`) entries, in file order.
    pub exclusions: Vec<Exclusion>,
    /// 3.x: the host identity declared in nvme-stas.conf's `[Host]`.
    pub host: Option<HostDecl>,
}

/// A host identity declared in a configuration file (3.x `[Host]`); unset parts come from
/// `/etc/nvme`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostDecl {
    /// `hostnqn`.
    pub hostnqn: Option<String>,
    /// `hostid`.
    pub hostid: Option<String>,
    /// `hostsymname`.
    pub hostsymname: Option<String>,
}

impl ServiceConfig {
    /// All defaults.
    pub fn defaults(daemon: Daemon, file: &Path) -> Self {
        ServiceConfig {
            daemon,
            generation: Generation::V2,
            file: file.to_owned(),
            global: GlobalOptions::defaults(daemon),
            options: match daemon {
                Daemon::Stafd => DaemonOptions::Stafd(StafdOptions::defaults()),
                Daemon::Stacd => DaemonOptions::Stacd(StacdOptions::defaults()),
            },
            controllers: Vec::new(),
            exclusions: Vec::new(),
            host: None,
        }
    }

    /// The stafd options (`None` for stacd).
    pub fn stafd(&self) -> Option<&StafdOptions> {
        match &self.options {
            DaemonOptions::Stafd(o) => Some(o),
            DaemonOptions::Stacd(_) => None,
        }
    }

    /// The stacd options (`None` for stafd).
    pub fn stacd(&self) -> Option<&StacdOptions> {
        match &self.options {
            DaemonOptions::Stacd(o) => Some(o),
            DaemonOptions::Stafd(_) => None,
        }
    }

    /// Validates `raw` for `daemon`. Diagnostics are sorted by line (stable).
    pub fn from_raw(daemon: Daemon, raw: &RawConfig) -> (Self, Vec<Diagnostic>) {
        build::build(daemon, raw)
    }

    /// Validates `raw` as a 3.x daemon file (`/etc/nvme/stafd.conf`, `stacd.conf`): only the
    /// keys 3.x kept, nothing from 2.x aliased (spec 3.x §3).
    pub fn from_raw_v3(daemon: Daemon, raw: &RawConfig) -> (Self, Vec<Diagnostic>) {
        build::build_v3(daemon, raw)
    }
}
