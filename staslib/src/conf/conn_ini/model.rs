//! The resolved model: what the daemons see, with every value typed and every cascade level
//! applied. Nothing here says which section a value came from except [`Settings::origin`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use libnvme_rs::trid::Transport;

use super::error::Warning;

/// Where something was written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file, as it was named when read.
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A secret value (`tls-key`, `kxchap-secret`, `kxchap-ctrl-secret`). Its `Debug` output is
/// redacted; [`Secret::expose`] is the only way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(super) fn new(text: String) -> Self {
        Secret(text)
    }

    /// The secret text, for the connect call and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which kind of controller an endpoint (or a controller found at runtime) is; it selects the
/// type defaults section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControllerKind {
    /// A discovery controller: `[Discovery Controller]`, `[Discovery Controller Defaults]`.
    Discovery,
    /// An I/O controller: `[Subsystem]`, `[I/O Controller Defaults]`.
    Io,
}

/// A discovery controller's `persistent` mode, as written (case-insensitive `no`, `auto`,
/// `force`). Unset is `None` in [`Settings::persistent`]; what unset means is the daemon's
/// decision (nvme-stas: `auto`; libnvme: `no`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persistent {
    /// Never keep the connection.
    No,
    /// Keep it when the controller reports EPCSD.
    Auto,
    /// Always keep it.
    Force,
}

impl Persistent {
    /// The canonical (lower-case) spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Persistent::No => "no",
            Persistent::Auto => "auto",
            Persistent::Force => "force",
        }
    }
}

/// The connection tunables. `None` = not set anywhere, or reset with `key =`: the kernel
/// default applies (the option is left out of the connect string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tunables {
    /// `nr-io-queues`.
    pub nr_io_queues: Option<i32>,
    /// `nr-write-queues`.
    pub nr_write_queues: Option<i32>,
    /// `nr-poll-queues`.
    pub nr_poll_queues: Option<i32>,
    /// `queue-size`.
    pub queue_size: Option<i32>,
    /// `keep-alive-tmo` (seconds).
    pub keep_alive_tmo: Option<i32>,
    /// `reconnect-delay` (seconds).
    pub reconnect_delay: Option<i32>,
    /// `ctrl-loss-tmo` (seconds, -1 = forever).
    pub ctrl_loss_tmo: Option<i32>,
    /// `fast-io-fail-tmo` (seconds).
    pub fast_io_fail_tmo: Option<i32>,
    /// `tos`.
    pub tos: Option<i32>,
    /// `duplicate-connect`.
    pub duplicate_connect: Option<bool>,
    /// `disable-sqflow`.
    pub disable_sqflow: Option<bool>,
    /// `hdr-digest`.
    pub hdr_digest: Option<bool>,
    /// `data-digest`.
    pub data_digest: Option<bool>,
}

/// TLS and KX-HMAC-CHAP settings. `None` = not set or reset. Secrets are [`Secret`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// `tls`.
    pub tls: Option<bool>,
    /// `concat` (secure concatenation).
    pub concat: Option<bool>,
    /// `tls-key`: a key serial or a PSK in interchange format.
    pub tls_key: Option<Secret>,
    /// `tls-key-identity`.
    pub tls_key_identity: Option<String>,
    /// `keyring`.
    pub keyring: Option<String>,
    /// `kxchap-secret` (the host's secret).
    pub kxchap_secret: Option<Secret>,
    /// `kxchap-ctrl-secret` (the controller's secret, for mutual authentication).
    pub kxchap_ctrl_secret: Option<Secret>,
}

/// The resolved parameters of one connection (or one scope of defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Connection tunables.
    pub tunables: Tunables,
    /// `persistent`; only ever set for discovery controllers.
    pub persistent: Option<Persistent>,
    /// TLS / KX-HMAC-CHAP.
    pub security: Security,
    /// For every key some level wrote (a value or a reset), where the winning line is, in
    /// order of first appearance in the cascade.
    pub(super) origins: Vec<(&'static str, Origin)>,
}

impl Settings {
    /// Where the value in effect for `key` (a configuration key name such as
    /// `ctrl-loss-tmo`) was written. `Some` with a `None` value means it was reset there;
    /// `None` means no level mentioned the key.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.iter().find(|(k, _)| *k == key).map(|(_, o)| o)
    }

    /// Every key some level wrote, with the origin of the value in effect.
    pub fn origins(&self) -> impl Iterator<Item = (&'static str, &Origin)> {
        self.origins.iter().map(|(k, o)| (*k, o))
    }
}

/// A `[Host]` section as written in one file (identity and the parameters it sets; those
/// parameters are already folded into the endpoints of the same file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSection {
    /// The `[Host]` header line.
    pub origin: Origin,
    /// `hostnqn` (`None` when absent or reset).
    pub hostnqn: Option<String>,
    /// `hostid`, a non-zero UUID (`None` when absent or reset).
    pub hostid: Option<String>,
    /// `hostsymname`, for TP8010 DIM (`None` when absent or reset).
    pub hostsymname: Option<String>,
    /// The tunables and security keys written in this section (not cascaded).
    pub settings: Settings,
}

/// The host identity an endpoint connects with: its own file's `[Host]`. All `None` = the
/// default persona (`/etc/nvme/hostnqn`, `/etc/nvme/hostid`). libnvme gives a drop-in
/// without `[Host]` the default persona too, not the main file's `[Host]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostIdentity {
    /// `hostnqn` of the file's `[Host]`.
    pub hostnqn: Option<String>,
    /// `hostid` of the file's `[Host]`. In a drop-in persona (`hostnqn` set in a drop-in) a
    /// missing `hostid` is left to the kernel: libnvme's CONFIG.md says there is no
    /// `/etc/nvme/hostid` fallback for drop-ins.
    pub hostid: Option<String>,
    /// `hostsymname` of the file's `[Host]`.
    pub hostsymname: Option<String>,
    /// Whether this identity comes from a drop-in's `[Host]` (a distinct persona).
    pub dropin_persona: bool,
}

/// One `controller =` line: one path to an endpoint, with everything resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnPath {
    /// The `controller =` line.
    pub origin: Origin,
    /// `transport`.
    pub transport: Transport,
    /// `traddr` (an IP literal, a host name, or an FC address; not resolved here).
    pub traddr: String,
    /// `trsvcid`.
    pub trsvcid: Option<String>,
    /// `host-traddr`.
    pub host_traddr: Option<String>,
    /// `host-iface`.
    pub host_iface: Option<String>,
    /// The resolved parameters: path line > endpoint section > `[Host]` > type defaults
    /// (drop-in's over main file's) > kernel default.
    pub settings: Settings,
}

/// A `[Discovery Controller]` or `[Subsystem]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Discovery or I/O.
    pub kind: ControllerKind,
    /// The section header line.
    pub origin: Origin,
    /// The subsystem NQN; for a discovery controller without `nqn =`, the well-known
    /// discovery NQN.
    pub nqn: String,
    /// The identity of the endpoint's file.
    pub identity: HostIdentity,
    /// Its paths, in file order. May be empty (then a warning was given).
    pub paths: Vec<ConnPath>,
    /// Discovery controllers only: the defaults for controllers learned through this one
    /// (referrals, then I/O controllers of its log page): its file's scope without any
    /// endpoint level.
    pub(super) discovered: Option<Box<(Settings, Settings)>>,
}

impl Endpoint {
    /// For a discovery controller, the settings a controller of `kind` found in its log page
    /// starts from (libnvme's `dlp_dc_params` / `dlp_ioc_params`): main file's type defaults,
    /// this file's type defaults, this file's `[Host]`. `None` for a subsystem.
    pub fn discovered_defaults(&self, kind: ControllerKind) -> Option<&Settings> {
        self.discovered.as_deref().map(|(dc, ioc)| match kind {
            ControllerKind::Discovery => dc,
            ControllerKind::Io => ioc,
        })
    }
}

/// The whole resolved connection configuration (main file plus drop-ins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnConfig {
    /// The main file's `[Host]`, if it has one.
    pub host: Option<HostSection>,
    /// The drop-ins' `[Host]` sections (one persona per file), in read order.
    pub personas: Vec<HostSection>,
    /// `[Discovery Controller]` sections: main file first, then drop-ins in sorted order,
    /// each in file order.
    pub discovery: Vec<Endpoint>,
    /// `[Subsystem]` sections, in the same order.
    pub subsystems: Vec<Endpoint>,
    /// Everything ignored (unknown keys and sections, repeated defaults sections) and other
    /// hygiene findings, each with file and line, for the daemon to log.
    pub warnings: Vec<Warning>,
    /// The files read, main file first (absent files are not listed).
    pub files: Vec<Arc<Path>>,
    pub(super) runtime_dc: Settings,
    pub(super) runtime_ioc: Settings,
}

impl ConnConfig {
    /// The settings a controller found at runtime with no configured origin (an mDNS-found
    /// DC, or an I/O controller of such a DC) starts from: the main file's type defaults for
    /// `kind` with the main file's `[Host]` parameters on top (libnvme's `top_dc_params` /
    /// `top_ioc_params`). Drop-ins never contribute.
    pub fn runtime_defaults(&self, kind: ControllerKind) -> &Settings {
        match kind {
            ControllerKind::Discovery => &self.runtime_dc,
            ControllerKind::Io => &self.runtime_ioc,
        }
    }

    /// Whether there is nothing to connect.
    pub fn is_empty(&self) -> bool {
        self.discovery.iter().all(|e| e.paths.is_empty())
            && self.subsystems.iter().all(|e| e.paths.is_empty())
    }
}
