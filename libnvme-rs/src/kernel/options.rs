//! Kernel capability set and the `/dev/nvme-fabrics` connect option string (compat spec §5.1).
//!
//! Pure: no I/O. [`KernelCapabilities`] is parsed from the first line the kernel returns when
//! `/dev/nvme-fabrics` is read; [`ConnectOptions::build`] validates every value and produces
//! the exact string and token order libnvme 1.x writes, leaving out (and reporting) options the
//! kernel does not list.
//!
//! Validation policy: anything that could change the meaning of the comma-separated string
//! (`,`, `\n`, NUL, other control characters, whitespace, and `=` outside DH-HMAC-CHAP secrets)
//! is rejected, and so are values the kernel would refuse anyway (bad NQN length, port, UUID,
//! interface name, queue size, TOS). For tcp/rdma the target and host addresses must be **IP
//! literals**: the kernel does not resolve names, so host names must be resolved by the caller
//! first; a well-formed host name gets its own error ([`OptionsError::TraddrIsHostName`]).

use std::collections::BTreeSet;
use std::fmt;

use crate::spec::{NQN_MAX_LEN, WELL_KNOWN_DISC_NQN};
use crate::trid::{IpLiteral, Transport};

/// Option names the kernel accepts, as listed on the first line of `/dev/nvme-fabrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelCapabilities {
    names: BTreeSet<String>,
}

/// libnvme's `default_supported_options`: the kernel's option table when the read interface
/// was added, used for kernels whose read of `/dev/nvme-fabrics` fails with EINVAL.
/// (No dhchap, tls, keyring, tls_key, concat; instance/cntlid are result fields.)
const HISTORICAL_DEFAULT: &[&str] = &[
    "ctrl_loss_tmo",
    "data_digest",
    "disable_sqflow",
    "discovery",
    "duplicate_connect",
    "fast_io_fail_tmo",
    "hdr_digest",
    "host_iface",
    "host_traddr",
    "hostid",
    "hostnqn",
    "keep_alive_tmo",
    "nqn",
    "nr_io_queues",
    "nr_poll_queues",
    "nr_write_queues",
    "queue_size",
    "reconnect_delay",
    "tos",
    "traddr",
    "transport",
    "trsvcid",
];

impl KernelCapabilities {
    /// Parses the capability text: only its first line is used; tokens are separated by `,`
    /// and are either `name` or `name=<format>`. Empty tokens are skipped; unknown names are
    /// kept (they are harmless and show up in debug output).
    pub fn parse(text: &str) -> Self {
        let first_line = text.split('\n').next().unwrap_or("");
        let names = first_line
            .split(',')
            // libnvme cuts a token at '=' or ' '.
            .filter_map(|tok| tok.trim().split(['=', ' ']).next())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        KernelCapabilities { names }
    }

    /// The set assumed when reading `/dev/nvme-fabrics` returns EINVAL (kernels < ~5.17).
    pub fn historical_default() -> Self {
        KernelCapabilities {
            names: HISTORICAL_DEFAULT.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// A set listing every option [`ConnectOptions::build`] can emit (for tests and tools).
    pub fn all() -> Self {
        let mut caps = Self::historical_default();
        caps.names.insert("dhchap_secret".into());
        caps.names.insert("dhchap_ctrl_secret".into());
        caps
    }

    /// Whether the kernel lists option `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The listed names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// True if nothing was listed (e.g. an empty capability line).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// TP8013 unique discovery NQN support (§1.8).
    pub fn discovery(&self) -> bool {
        self.supports("discovery")
    }
    /// `host_iface` support (§1.8).
    pub fn host_iface(&self) -> bool {
        self.supports("host_iface")
    }
    /// Host DH-HMAC-CHAP key support (§1.8).
    pub fn dhchap_secret(&self) -> bool {
        self.supports("dhchap_secret")
    }
    /// Controller DH-HMAC-CHAP key support (§1.8).
    pub fn dhchap_ctrl_secret(&self) -> bool {
        self.supports("dhchap_ctrl_secret")
    }
}

/// Why a [`ConnectOptions`] was refused. Nothing is written to the kernel in that case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// `nqn` is empty.
    #[error("subsystem NQN is empty")]
    EmptyNqn,
    /// `nqn` or `hostnqn` exceeds 223 bytes.
    #[error("{option} is {len} bytes long (max {NQN_MAX_LEN})")]
    NqnTooLong {
        /// `nqn` or `hostnqn`.
        option: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// A value contains `,`, `\n` or `=` (the kernel's separators).
    #[error("{option} value contains the separator {ch:?}")]
    Separator {
        /// Option name.
        option: &'static str,
        /// The offending character.
        ch: char,
    },
    /// A value contains NUL, another control character or whitespace.
    #[error("{option} value contains a control or whitespace character {ch:?}")]
    ControlOrSpace {
        /// Option name.
        option: &'static str,
        /// The offending character.
        ch: char,
    },
    /// tcp/rdma without a target address.
    #[error("traddr is required for {0}")]
    MissingTraddr(Transport),
    /// tcp/rdma `traddr` is a host name; the kernel needs an IP literal (resolve it first).
    #[error("traddr {0:?} is a host name; {1} needs an IP address (resolve it first)")]
    TraddrIsHostName(String, Transport),
    /// tcp/rdma `traddr` is neither an IP literal nor a host name.
    #[error("traddr {0:?} is not a valid IP address")]
    InvalidTraddr(String),
    /// tcp/rdma `host_traddr` is not an IP literal.
    #[error("host_traddr {0:?} is not a valid IP address")]
    InvalidHostTraddr(String),
    /// tcp/rdma `trsvcid` is not a decimal port in 1..=65535.
    #[error("trsvcid {0:?} is not a port number (1-65535)")]
    InvalidTrsvcid(String),
    /// `hostid` is not a UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
    #[error("hostid {0:?} is not a UUID")]
    InvalidHostId(String),
    /// `host_iface` is not a valid Linux interface name.
    #[error("host_iface {0:?} is not a valid interface name")]
    InvalidHostIface(String),
    /// `queue_size` outside 16..=1024.
    #[error("queue_size {0} is outside 16-1024")]
    InvalidQueueSize(u32),
    /// `tos` outside 0..=255.
    #[error("tos {0} is outside 0-255")]
    InvalidTos(i32),
    /// `ctrl_loss_tmo` below -1.
    #[error("ctrl_loss_tmo {0} is below -1")]
    InvalidCtrlLossTmo(i32),
    /// The whole string exceeds [`MAX_ARGS_LEN`] (long DH-HMAC-CHAP secrets).
    #[error("option string is {0} bytes long (max {MAX_ARGS_LEN})")]
    TooLong(usize),
    /// An integer option above `i32::MAX` (the kernel parses `%d`).
    #[error("{option} value {value} is too large")]
    IntegerTooLarge {
        /// Option name.
        option: &'static str,
        /// The value.
        value: u32,
    },
}

/// What to write to `/dev/nvme-fabrics`. `None` / empty / `"none"` strings mean unset, as in
/// libnvme. Start from [`ConnectOptions::new`] and set fields (struct-update syntax works).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Transport (required).
    pub transport: Transport,
    /// Target address: IP literal for tcp/rdma, WWNN/WWPN for fc, unused for loop.
    pub traddr: String,
    /// Target port.
    pub trsvcid: String,
    /// Subsystem NQN (required).
    pub nqn: String,
    /// Host source address.
    pub host_traddr: String,
    /// Host interface (tcp only in the kernel).
    pub host_iface: String,
    /// Host NQN. Upstream always sends the *system* host NQN (§1.4 `host-nqn`).
    pub hostnqn: String,
    /// Host ID (UUID).
    pub hostid: String,
    /// This is a discovery controller. With a unique (non well-known) NQN the `discovery`
    /// token is sent (TP8013); with the well-known NQN the controller is a DC regardless.
    pub discovery: bool,
    /// Host DH-HMAC-CHAP key (`DHHC-1:…`); sent to I/O controllers only (libnvme 1.x).
    pub dhchap_secret: String,
    /// Controller DH-HMAC-CHAP key; I/O controllers only.
    pub dhchap_ctrl_secret: String,
    /// I/O queues; I/O controllers only, sent when > 0.
    pub nr_io_queues: Option<u32>,
    /// Write queues; I/O controllers only, sent when > 0.
    pub nr_write_queues: Option<u32>,
    /// Poll queues; I/O controllers only, sent when > 0.
    pub nr_poll_queues: Option<u32>,
    /// I/O queue depth 16..=1024; I/O controllers only.
    pub queue_size: Option<u32>,
    /// Keep-alive timeout in seconds; sent when > 0.
    pub keep_alive_tmo: Option<u32>,
    /// Reconnect delay in seconds; sent when > 0.
    pub reconnect_delay: Option<u32>,
    /// Controller loss timeout; -1 = forever; not for loop. Default `Some(600)`, always sent.
    pub ctrl_loss_tmo: Option<i32>,
    /// Fast I/O fail timeout; not for loop; sent when > 0.
    pub fast_io_fail_tmo: Option<u32>,
    /// IP type of service 0..=255; not for loop.
    pub tos: Option<i32>,
    /// Allow a duplicate connection.
    pub duplicate_connect: bool,
    /// Disable SQ flow control.
    pub disable_sqflow: bool,
    /// TCP header digest (tcp only).
    pub hdr_digest: bool,
    /// TCP data digest (tcp only).
    pub data_digest: bool,
}

/// The kernel refuses writes longer than a page (ENOMEM); 4 KiB is the smallest page size.
pub const MAX_ARGS_LEN: usize = 4096;

/// libnvme's `NVMF_DEF_CTRL_LOSS_TMO`.
pub const DEFAULT_CTRL_LOSS_TMO: i32 = 600;

impl ConnectOptions {
    /// Options with libnvme's defaults (`ctrl_loss_tmo=600`, everything else unset).
    pub fn new(transport: Transport, nqn: &str) -> Self {
        ConnectOptions {
            transport,
            traddr: String::new(),
            trsvcid: String::new(),
            nqn: nqn.to_owned(),
            host_traddr: String::new(),
            host_iface: String::new(),
            hostnqn: String::new(),
            hostid: String::new(),
            discovery: false,
            dhchap_secret: String::new(),
            dhchap_ctrl_secret: String::new(),
            nr_io_queues: None,
            nr_write_queues: None,
            nr_poll_queues: None,
            queue_size: None,
            keep_alive_tmo: None,
            reconnect_delay: None,
            ctrl_loss_tmo: Some(DEFAULT_CTRL_LOSS_TMO),
            fast_io_fail_tmo: None,
            tos: None,
            duplicate_connect: false,
            disable_sqflow: false,
            hdr_digest: false,
            data_digest: false,
        }
    }

    /// Whether the kernel will treat this as a discovery controller (flag set, or the
    /// well-known discovery NQN). I/O-only options are not sent for discovery controllers.
    pub fn is_discovery(&self) -> bool {
        self.discovery || self.nqn == WELL_KNOWN_DISC_NQN
    }

    /// Validates every field, then builds the option string in libnvme's order (compat §5.1
    /// table), emitting only options listed in `caps`. `nqn=` is always first and always
    /// emitted, as in libnvme.
    pub fn build(&self, caps: &KernelCapabilities) -> Result<ConnectArgs, OptionsError> {
        self.validate()?;

        let discovery = self.is_discovery();
        let io = !discovery;
        let not_loop = self.transport != Transport::Loop;
        let tcp = self.transport == Transport::Tcp;

        let mut b = ArgsBuilder {
            out: format!("nqn={}", self.nqn),
            dropped: Vec::new(),
            caps,
        };
        b.string("transport", self.transport.as_str());
        b.string("traddr", &self.traddr);
        b.string("host_traddr", &self.host_traddr);
        b.string("host_iface", &self.host_iface);
        b.string("trsvcid", &self.trsvcid);
        b.string("hostnqn", &self.hostnqn);
        b.string("hostid", &self.hostid);
        b.flag("discovery", discovery && self.nqn != WELL_KNOWN_DISC_NQN);
        if io {
            b.string("dhchap_secret", &self.dhchap_secret);
            b.string("dhchap_ctrl_secret", &self.dhchap_ctrl_secret);
            b.positive("nr_io_queues", self.nr_io_queues);
            b.positive("nr_write_queues", self.nr_write_queues);
            b.positive("nr_poll_queues", self.nr_poll_queues);
            b.positive("queue_size", self.queue_size);
        }
        b.positive("keep_alive_tmo", self.keep_alive_tmo);
        b.positive("reconnect_delay", self.reconnect_delay);
        if not_loop {
            // Validation guarantees ≥ -1.
            b.int("ctrl_loss_tmo", self.ctrl_loss_tmo);
            b.positive("fast_io_fail_tmo", self.fast_io_fail_tmo);
            b.int("tos", self.tos);
        }
        // keyring / tls_key (rows 21-22) are never used by stas.
        b.flag("duplicate_connect", self.duplicate_connect);
        b.flag("disable_sqflow", self.disable_sqflow);
        b.flag("hdr_digest", tcp && self.hdr_digest);
        b.flag("data_digest", tcp && self.data_digest);
        // tls / concat (rows 27-28) are never used by stas.

        if b.out.len() > MAX_ARGS_LEN {
            return Err(OptionsError::TooLong(b.out.len()));
        }
        Ok(ConnectArgs {
            args: b.out,
            dropped: b.dropped,
        })
    }

    fn validate(&self) -> Result<(), OptionsError> {
        if self.nqn.is_empty() {
            return Err(OptionsError::EmptyNqn);
        }
        for (option, value) in [("nqn", &self.nqn), ("hostnqn", &self.hostnqn)] {
            if value.len() > NQN_MAX_LEN {
                return Err(OptionsError::NqnTooLong {
                    option,
                    len: value.len(),
                });
            }
        }
        for (option, value, allow_eq) in [
            ("nqn", &self.nqn, false),
            ("traddr", &self.traddr, false),
            ("trsvcid", &self.trsvcid, false),
            ("host_traddr", &self.host_traddr, false),
            ("host_iface", &self.host_iface, false),
            ("hostnqn", &self.hostnqn, false),
            ("hostid", &self.hostid, false),
            // Base64 padding of 48/64-byte keys ends in '='; the kernel's "%s" pattern takes
            // the rest of the token, so '=' is safe (and necessary) here.
            ("dhchap_secret", &self.dhchap_secret, true),
            ("dhchap_ctrl_secret", &self.dhchap_ctrl_secret, true),
        ] {
            check_chars(option, value, allow_eq)?;
        }

        if self.transport.is_ip() {
            if is_unset(&self.traddr) {
                return Err(OptionsError::MissingTraddr(self.transport));
            }
            if IpLiteral::parse(&self.traddr).is_none() {
                return Err(if is_dns_host_name(&self.traddr) {
                    OptionsError::TraddrIsHostName(self.traddr.clone(), self.transport)
                } else {
                    OptionsError::InvalidTraddr(self.traddr.clone())
                });
            }
            if !is_unset(&self.host_traddr) && IpLiteral::parse(&self.host_traddr).is_none() {
                return Err(OptionsError::InvalidHostTraddr(self.host_traddr.clone()));
            }
            if !is_unset(&self.trsvcid) && !is_port(&self.trsvcid) {
                return Err(OptionsError::InvalidTrsvcid(self.trsvcid.clone()));
            }
        }
        if !is_unset(&self.hostid) && !is_uuid(&self.hostid) {
            return Err(OptionsError::InvalidHostId(self.hostid.clone()));
        }
        if !is_unset(&self.host_iface) && !is_valid_ifname(&self.host_iface) {
            return Err(OptionsError::InvalidHostIface(self.host_iface.clone()));
        }
        if let Some(q) = self.queue_size
            && !(16..=1024).contains(&q)
        {
            return Err(OptionsError::InvalidQueueSize(q));
        }
        if let Some(t) = self.tos
            && !(0..=255).contains(&t)
        {
            return Err(OptionsError::InvalidTos(t));
        }
        if let Some(t) = self.ctrl_loss_tmo
            && t < -1
        {
            return Err(OptionsError::InvalidCtrlLossTmo(t));
        }
        for (option, value) in [
            ("nr_io_queues", self.nr_io_queues),
            ("nr_write_queues", self.nr_write_queues),
            ("nr_poll_queues", self.nr_poll_queues),
            ("keep_alive_tmo", self.keep_alive_tmo),
            ("reconnect_delay", self.reconnect_delay),
            ("fast_io_fail_tmo", self.fast_io_fail_tmo),
        ] {
            if let Some(value) = value
                && i32::try_from(value).is_err()
            {
                return Err(OptionsError::IntegerTooLarge { option, value });
            }
        }
        Ok(())
    }
}

/// A validated option string, ready for one write to `/dev/nvme-fabrics`. Only
/// [`ConnectOptions::build`] creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectArgs {
    args: String,
    dropped: Vec<&'static str>,
}

impl ConnectArgs {
    /// The string to write (no trailing newline).
    pub fn as_str(&self) -> &str {
        &self.args
    }

    /// Options that applied but were left out because the kernel does not list them, in
    /// emission order (the daemon logs them; libnvme logs them at debug/notice level).
    pub fn dropped(&self) -> &[&'static str] {
        &self.dropped
    }
}

impl fmt::Display for ConnectArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.args)
    }
}

struct ArgsBuilder<'a> {
    out: String,
    dropped: Vec<&'static str>,
    caps: &'a KernelCapabilities,
}

impl ArgsBuilder<'_> {
    fn allowed(&mut self, name: &'static str) -> bool {
        let ok = self.caps.supports(name);
        if !ok {
            self.dropped.push(name);
        }
        ok
    }

    fn string(&mut self, name: &'static str, value: &str) {
        if !is_unset(value) && self.allowed(name) {
            self.out.push_str(&format!(",{name}={value}"));
        }
    }

    fn positive(&mut self, name: &'static str, value: Option<u32>) {
        if let Some(v) = value.filter(|v| *v > 0)
            && self.allowed(name)
        {
            self.out.push_str(&format!(",{name}={v}"));
        }
    }

    fn int(&mut self, name: &'static str, value: Option<i32>) {
        if let Some(v) = value
            && self.allowed(name)
        {
            self.out.push_str(&format!(",{name}={v}"));
        }
    }

    fn flag(&mut self, name: &'static str, on: bool) {
        if on && self.allowed(name) {
            self.out.push(',');
            self.out.push_str(name);
        }
    }
}

/// libnvme treats empty and the literal `none` as "not set".
fn is_unset(v: &str) -> bool {
    v.is_empty() || v == "none"
}

fn check_chars(option: &'static str, value: &str, allow_eq: bool) -> Result<(), OptionsError> {
    for ch in value.chars() {
        if ch == ',' || ch == '\n' || (ch == '=' && !allow_eq) {
            return Err(OptionsError::Separator { option, ch });
        }
        if ch.is_control() || ch.is_whitespace() {
            return Err(OptionsError::ControlOrSpace { option, ch });
        }
    }
    Ok(())
}

/// A decimal port 1..=65535 (ASCII digits only, no sign).
fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

/// The kernel's `uuid_parse` format: 36 characters, hex digits with dashes at 8, 13, 18, 23.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The kernel's `dev_valid_name`: 1..=15 bytes, not `.`/`..`, no `/`, `:` or whitespace
/// (`eth0:1` is an address label, not an interface).
pub fn is_valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

/// An RFC 1123 host name: dot-separated labels of 1..=63 letters, digits and `-` (not at
/// either end), at most 253 bytes, optional trailing dot. An all-numeric last label is refused
/// so that malformed IPv4 literals (`1.2.3.256`) are not mistaken for names.
pub fn is_dns_host_name(s: &str) -> bool {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    labels_ok
        && name
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// The result of a successful connect: `instance=N,cntlid=M\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectResponse {
    /// Controller instance: the device is `nvme<instance>`.
    pub instance: u32,
    /// Controller ID, if reported and parsable (upstream ignores it).
    pub cntlid: Option<u16>,
}

/// The connect response held no parsable `instance=` token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no instance in /dev/nvme-fabrics response {0:?}")]
pub struct ResponseError(pub String);

/// Parses the text read back after a connect. Tokens are split on `,` and `\n`; the first
/// `instance=<decimal>` wins.
pub fn parse_connect_response(text: &str) -> Result<ConnectResponse, ResponseError> {
    let mut instance = None;
    let mut cntlid = None;
    for tok in text.split([',', '\n']).map(str::trim) {
        if let Some(v) = tok.strip_prefix("instance=") {
            if instance.is_none() {
                instance = v.parse::<u32>().ok();
            }
        } else if let Some(v) = tok.strip_prefix("cntlid=") {
            cntlid = cntlid.or_else(|| v.parse::<u16>().ok());
        }
    }
    match instance {
        Some(instance) => Ok(ConnectResponse { instance, cntlid }),
        None => Err(ResponseError(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL_LINE: &str = "instance=-1,cntlid=-1,transport=%s,traddr=%s,trsvcid=%s,nqn=%s,queue_size=%d,nr_io_queues=%d,reconnect_delay=%d,ctrl_loss_tmo=%d,keep_alive_tmo=%d,hostnqn=%s,host_traddr=%s,host_iface=%s,hostid=%s,disable_sqflow,hdr_digest,data_digest,nr_write_queues=%d,nr_poll_queues=%d,tos=%d,fast_io_fail_tmo=%d,discovery,dhchap_secret=%s,dhchap_ctrl_secret=%s\n";
    const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:4b4c4c45-0044-4d10-8039-b6c04f4c3333";
    const HOSTID: &str = "4b4c4c45-0044-4d10-8039-b6c04f4c3333";

    fn caps() -> KernelCapabilities {
        KernelCapabilities::parse(FULL_LINE)
    }

    fn tcp(nqn: &str, traddr: &str) -> ConnectOptions {
        ConnectOptions {
            traddr: traddr.into(),
            hostnqn: HOSTNQN.into(),
            hostid: HOSTID.into(),
            ..ConnectOptions::new(Transport::Tcp, nqn)
        }
    }

    #[test]
    fn parse_capability_line() {
        let c = caps();
        for n in [
            "instance",
            "cntlid",
            "transport",
            "discovery",
            "dhchap_ctrl_secret",
            "tos",
            "disable_sqflow",
        ] {
            assert!(c.supports(n), "{n}");
        }
        assert!(!c.supports("tls"));
        assert!(!c.supports("%s"));
        assert!(c.discovery() && c.host_iface() && c.dhchap_secret() && c.dhchap_ctrl_secret());
        assert_eq!(c.iter().count(), 25);
    }

    #[test]
    fn parse_capability_edge_cases() {
        assert!(KernelCapabilities::parse("").is_empty());
        assert!(KernelCapabilities::parse("\n").is_empty());
        assert!(KernelCapabilities::parse(",,,").is_empty());
        // Only the first line counts.
        let c = KernelCapabilities::parse("a,b=%d\nc,d");
        assert_eq!(c.iter().collect::<Vec<_>>(), ["a", "b"]);
        // Garbage is kept as unknown names; known options are absent.
        let g = KernelCapabilities::parse("blah blah garbage");
        assert!(!g.discovery() && !g.host_iface());
        assert!(g.supports("blah"));
        let s = KernelCapabilities::parse(" host_iface = %s , discovery\r\n");
        assert!(s.host_iface());
        assert!(s.discovery());
    }

    #[test]
    fn historical_default_set() {
        let d = KernelCapabilities::historical_default();
        assert!(d.discovery() && d.host_iface());
        assert!(!d.dhchap_secret() && !d.dhchap_ctrl_secret());
        assert!(!d.supports("tls") && !d.supports("instance"));
        assert_eq!(d.iter().count(), 22);
        let all = KernelCapabilities::all();
        assert!(all.dhchap_secret() && all.dhchap_ctrl_secret());
    }

    #[test]
    fn golden_stafd_mdns_dc() {
        let o = ConnectOptions {
            host_iface: "eth0".into(),
            trsvcid: "8009".into(),
            discovery: true,
            keep_alive_tmo: Some(30),
            // I/O-only options must not leak into a DC connect.
            nr_io_queues: Some(4),
            queue_size: Some(128),
            dhchap_secret: "DHHC-1:00:abc=:".into(),
            ..tcp("nqn.1988-11.com.vendor:cdc:1", "192.168.1.10")
        };
        let args = o.build(&caps()).unwrap();
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.1988-11.com.vendor:cdc:1,transport=tcp,traddr=192.168.1.10,host_iface=eth0,trsvcid=8009,hostnqn={HOSTNQN},hostid={HOSTID},discovery,keep_alive_tmo=30,ctrl_loss_tmo=600"
            )
        );
        assert!(args.dropped().is_empty());
        assert_eq!(args.to_string(), args.as_str());
    }

    #[test]
    fn golden_stacd_ioc() {
        let o = ConnectOptions {
            host_iface: "eth0".into(),
            trsvcid: "4420".into(),
            ..tcp("nqn.1988-11.com.vendor:subsys:1", "192.168.1.20")
        };
        assert_eq!(
            o.build(&caps()).unwrap().as_str(),
            format!(
                "nqn=nqn.1988-11.com.vendor:subsys:1,transport=tcp,traddr=192.168.1.20,host_iface=eth0,trsvcid=4420,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600"
            )
        );
    }

    #[test]
    fn well_known_nqn_is_discovery_without_flag() {
        let o = ConnectOptions {
            keep_alive_tmo: Some(30),
            nr_io_queues: Some(2),
            ..tcp(WELL_KNOWN_DISC_NQN, "::1")
        };
        assert!(o.is_discovery());
        assert_eq!(
            o.build(&caps()).unwrap().as_str(),
            format!(
                "nqn={WELL_KNOWN_DISC_NQN},transport=tcp,traddr=::1,hostnqn={HOSTNQN},hostid={HOSTID},keep_alive_tmo=30,ctrl_loss_tmo=600"
            )
        );
    }

    #[test]
    fn full_order_of_all_rows() {
        let o = ConnectOptions {
            trsvcid: "4420".into(),
            host_traddr: "10.0.0.2".into(),
            host_iface: "eth1".into(),
            dhchap_secret: "DHHC-1:01:aGVsbG8=:".into(),
            dhchap_ctrl_secret: "DHHC-1:02:d29ybGQ=:".into(),
            nr_io_queues: Some(4),
            nr_write_queues: Some(2),
            nr_poll_queues: Some(1),
            queue_size: Some(128),
            keep_alive_tmo: Some(5),
            reconnect_delay: Some(10),
            ctrl_loss_tmo: Some(-1),
            fast_io_fail_tmo: Some(20),
            tos: Some(0),
            duplicate_connect: true,
            disable_sqflow: true,
            hdr_digest: true,
            data_digest: true,
            ..tcp("nqn.s", "10.0.0.1")
        };
        let args = o.build(&KernelCapabilities::all()).unwrap();
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.s,transport=tcp,traddr=10.0.0.1,host_traddr=10.0.0.2,host_iface=eth1,trsvcid=4420,hostnqn={HOSTNQN},hostid={HOSTID},dhchap_secret=DHHC-1:01:aGVsbG8=:,dhchap_ctrl_secret=DHHC-1:02:d29ybGQ=:,nr_io_queues=4,nr_write_queues=2,nr_poll_queues=1,queue_size=128,keep_alive_tmo=5,reconnect_delay=10,ctrl_loss_tmo=-1,fast_io_fail_tmo=20,tos=0,duplicate_connect,disable_sqflow,hdr_digest,data_digest"
            )
        );
        // The historical set lacks the dhchap options: dropped and reported.
        let args = o.build(&KernelCapabilities::historical_default()).unwrap();
        assert_eq!(args.dropped(), ["dhchap_secret", "dhchap_ctrl_secret"]);
        assert!(!args.as_str().contains("dhchap"));
    }

    #[test]
    fn per_transport_rules() {
        // Digests are tcp-only; loop gets no ctrl_loss_tmo / fast_io_fail_tmo / tos.
        let rdma = ConnectOptions {
            hdr_digest: true,
            data_digest: true,
            tos: Some(3),
            ..ConnectOptions {
                transport: Transport::Rdma,
                ..tcp("nqn.s", "10.0.0.1")
            }
        };
        assert_eq!(
            rdma.build(&caps()).unwrap().as_str(),
            format!(
                "nqn=nqn.s,transport=rdma,traddr=10.0.0.1,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600,tos=3"
            )
        );
        let lp = ConnectOptions {
            tos: Some(3),
            fast_io_fail_tmo: Some(1),
            ..ConnectOptions::new(Transport::Loop, "nqn.s")
        };
        assert_eq!(
            lp.build(&caps()).unwrap().as_str(),
            "nqn=nqn.s,transport=loop"
        );
        let fc = ConnectOptions {
            traddr: "nn-0x20000090fa942779:pn-0x10000090fa942779".into(),
            host_traddr: "nn-0x20000090fae0b5f5:pn-0x10000090fae0b5f5".into(),
            ..ConnectOptions::new(Transport::Fc, "nqn.s")
        };
        assert_eq!(
            fc.build(&caps()).unwrap().as_str(),
            "nqn=nqn.s,transport=fc,traddr=nn-0x20000090fa942779:pn-0x10000090fa942779,host_traddr=nn-0x20000090fae0b5f5:pn-0x10000090fae0b5f5,ctrl_loss_tmo=600"
        );
        // "none" and zero values are unset; ctrl_loss_tmo None is omitted.
        let o = ConnectOptions {
            host_traddr: "none".into(),
            nr_io_queues: Some(0),
            keep_alive_tmo: Some(0),
            ctrl_loss_tmo: None,
            hostnqn: String::new(),
            hostid: String::new(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(
            o.build(&caps()).unwrap().as_str(),
            "nqn=nqn.s,transport=tcp,traddr=1.2.3.4"
        );
    }

    #[test]
    fn dropped_options_reported() {
        let caps = KernelCapabilities::parse(
            "nqn=%s,transport=%s,traddr=%s,trsvcid=%s,hostnqn=%s,hostid=%s,ctrl_loss_tmo=%d",
        );
        let o = ConnectOptions {
            host_iface: "eth0".into(),
            trsvcid: "8009".into(),
            discovery: true,
            keep_alive_tmo: Some(30),
            ..tcp("nqn.x:cdc", "1.2.3.4")
        };
        let args = o.build(&caps).unwrap();
        assert_eq!(
            args.dropped(),
            ["host_iface", "discovery", "keep_alive_tmo"]
        );
        assert_eq!(
            args.as_str(),
            format!(
                "nqn=nqn.x:cdc,transport=tcp,traddr=1.2.3.4,trsvcid=8009,hostnqn={HOSTNQN},hostid={HOSTID},ctrl_loss_tmo=600"
            )
        );
        // Even an empty set keeps nqn= (libnvme never checks it).
        let args = o.build(&KernelCapabilities::default()).unwrap();
        assert_eq!(args.as_str(), "nqn=nqn.x:cdc");
    }

    fn err(o: ConnectOptions) -> OptionsError {
        o.build(&caps()).unwrap_err()
    }

    #[test]
    fn rejects_bad_nqns() {
        assert_eq!(err(tcp("", "1.2.3.4")), OptionsError::EmptyNqn);
        let long = format!("nqn.{}", "a".repeat(220));
        assert_eq!(
            err(tcp(&long, "1.2.3.4")),
            OptionsError::NqnTooLong {
                option: "nqn",
                len: 224
            }
        );
        let ok = format!("nqn.{}", "a".repeat(219));
        assert!(tcp(&ok, "1.2.3.4").build(&caps()).is_ok());
        let o = ConnectOptions {
            hostnqn: long.clone(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(
            err(o),
            OptionsError::NqnTooLong {
                option: "hostnqn",
                len: 224
            }
        );
    }

    #[test]
    fn rejects_separators_and_control_chars() {
        let cases: Vec<(ConnectOptions, OptionsError)> = vec![
            (
                tcp("nqn.a,b", "1.2.3.4"),
                OptionsError::Separator {
                    option: "nqn",
                    ch: ',',
                },
            ),
            (
                tcp("nqn.a=b", "1.2.3.4"),
                OptionsError::Separator {
                    option: "nqn",
                    ch: '=',
                },
            ),
            (
                tcp("nqn.a\nb", "1.2.3.4"),
                OptionsError::Separator {
                    option: "nqn",
                    ch: '\n',
                },
            ),
            (
                tcp("nqn.a\0b", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\0',
                },
            ),
            (
                tcp("nqn.a b", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: ' ',
                },
            ),
            (
                tcp("nqn.a\tb", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\t',
                },
            ),
            (
                tcp("nqn.a\u{7f}", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\u{7f}',
                },
            ),
            (
                tcp("nqn.a\u{a0}", "1.2.3.4"),
                OptionsError::ControlOrSpace {
                    option: "nqn",
                    ch: '\u{a0}',
                },
            ),
            (
                tcp("nqn.s", "1.2.3.4,x"),
                OptionsError::Separator {
                    option: "traddr",
                    ch: ',',
                },
            ),
            (
                ConnectOptions {
                    hostnqn: "nqn.h,tos=1".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "hostnqn",
                    ch: ',',
                },
            ),
            (
                ConnectOptions {
                    dhchap_secret: "DHHC-1:00:a,b:".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "dhchap_secret",
                    ch: ',',
                },
            ),
            (
                ConnectOptions {
                    dhchap_ctrl_secret: "DHHC-1:00:a\nb:".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "dhchap_ctrl_secret",
                    ch: '\n',
                },
            ),
            (
                ConnectOptions {
                    dhchap_secret: "DHHC-1:00:a b:".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::ControlOrSpace {
                    option: "dhchap_secret",
                    ch: ' ',
                },
            ),
            (
                ConnectOptions {
                    host_iface: "et\nh0".into(),
                    ..tcp("nqn.s", "1.2.3.4")
                },
                OptionsError::Separator {
                    option: "host_iface",
                    ch: '\n',
                },
            ),
        ];
        for (o, want) in cases {
            assert_eq!(err(o), want);
        }
        // '=' is fine inside DH-HMAC-CHAP secrets (base64 padding).
        let o = ConnectOptions {
            dhchap_secret: "DHHC-1:03:YWJjZA==:".into(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert!(
            o.build(&caps())
                .unwrap()
                .as_str()
                .contains(",dhchap_secret=DHHC-1:03:YWJjZA==:")
        );
    }

    #[test]
    fn rejects_bad_addresses() {
        assert_eq!(
            err(tcp("nqn.s", "")),
            OptionsError::MissingTraddr(Transport::Tcp)
        );
        assert_eq!(
            err(tcp("nqn.s", "none")),
            OptionsError::MissingTraddr(Transport::Tcp)
        );
        assert_eq!(
            err(tcp("nqn.s", "array.example.com")),
            OptionsError::TraddrIsHostName("array.example.com".into(), Transport::Tcp)
        );
        assert_eq!(
            err(ConnectOptions {
                transport: Transport::Rdma,
                ..tcp("nqn.s", "localhost")
            }),
            OptionsError::TraddrIsHostName("localhost".into(), Transport::Rdma)
        );
        for bad in [
            "1.2.3.256",
            "-host",
            "a..b",
            "[::1]",
            "1.2.3.4%eth0",
            "fe80::1%",
            "_x.example",
        ] {
            assert_eq!(
                err(tcp("nqn.s", bad)),
                OptionsError::InvalidTraddr(bad.into()),
                "{bad}"
            );
        }
        for good in [
            "1.2.3.4",
            "::1",
            "fe80::1%eth0",
            "FE80::AAAA",
            "::ffff:1.2.3.4",
        ] {
            assert!(tcp("nqn.s", good).build(&caps()).is_ok(), "{good}");
        }
        let o = ConnectOptions {
            host_traddr: "myhost".into(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(err(o), OptionsError::InvalidHostTraddr("myhost".into()));
        // fc/loop addresses are not IP literals.
        let fc = ConnectOptions {
            traddr: "nn-0x1:pn-0x2".into(),
            ..ConnectOptions::new(Transport::Fc, "nqn.s")
        };
        assert!(fc.build(&caps()).is_ok());
    }

    #[test]
    fn rejects_bad_trsvcid() {
        for bad in [
            "0", "65536", "99999", "123456", "abc", "+80", "-1", "80a", "0x50",
        ] {
            let o = ConnectOptions {
                trsvcid: bad.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidTrsvcid(bad.into()), "{bad}");
        }
        for good in ["1", "4420", "8009", "65535"] {
            let o = ConnectOptions {
                trsvcid: good.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert!(o.build(&caps()).is_ok());
        }
        let o = ConnectOptions {
            trsvcid: "abc".into(),
            transport: Transport::Rdma,
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(err(o), OptionsError::InvalidTrsvcid("abc".into()));
    }

    #[test]
    fn rejects_bad_hostid() {
        for bad in [
            "not-a-uuid",
            "4b4c4c45-0044-4d10-8039-b6c04f4c333",
            "4b4c4c45-0044-4d10-8039-b6c04f4c33333",
            "4b4c4c450044-4d10-8039-b6c04f4c3333-",
            "4b4c4c45-0044-4d10-8039-b6c04f4c333g",
            "{4b4c4c45-0044-4d10-8039-b6c04f4c33}",
        ] {
            let o = ConnectOptions {
                hostid: bad.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidHostId(bad.into()), "{bad}");
        }
        let o = ConnectOptions {
            hostid: "4B4C4C45-0044-4D10-8039-B6C04F4C3333".into(),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert!(o.build(&caps()).is_ok());
    }

    #[test]
    fn rejects_bad_host_iface() {
        for bad in ["eth0:1", "a/b", ".", "..", "abcdefghijklmnop"] {
            let o = ConnectOptions {
                host_iface: bad.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidHostIface(bad.into()), "{bad}");
        }
        for good in [
            "eth0",
            "enp0s8",
            "abcdefghijklmno",
            "br-lan.10",
            "wlp0s20f3",
        ] {
            let o = ConnectOptions {
                host_iface: good.into(),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert!(o.build(&caps()).is_ok(), "{good}");
        }
    }

    #[test]
    fn rejects_out_of_range_numbers() {
        for q in [0, 15, 1025] {
            let o = ConnectOptions {
                queue_size: Some(q),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidQueueSize(q));
        }
        for q in [16, 1024] {
            assert!(
                ConnectOptions {
                    queue_size: Some(q),
                    ..tcp("nqn.s", "1.2.3.4")
                }
                .build(&caps())
                .is_ok()
            );
        }
        for t in [-1, 256, i32::MIN] {
            let o = ConnectOptions {
                tos: Some(t),
                ..tcp("nqn.s", "1.2.3.4")
            };
            assert_eq!(err(o), OptionsError::InvalidTos(t));
        }
        let o = ConnectOptions {
            ctrl_loss_tmo: Some(-2),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(err(o), OptionsError::InvalidCtrlLossTmo(-2));
        let o = ConnectOptions {
            keep_alive_tmo: Some(u32::MAX),
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert_eq!(
            err(o),
            OptionsError::IntegerTooLarge {
                option: "keep_alive_tmo",
                value: u32::MAX
            }
        );
    }

    #[test]
    fn rejects_overlong_string() {
        let key = format!("DHHC-1:00:{}:", "A".repeat(4000));
        let o = ConnectOptions {
            dhchap_secret: key,
            ..tcp("nqn.s", "1.2.3.4")
        };
        assert!(matches!(err(o), OptionsError::TooLong(n) if n > MAX_ARGS_LEN));
    }

    #[test]
    fn host_name_and_helpers() {
        for good in [
            "localhost",
            "a",
            "a-b.example.com",
            "example.com.",
            "x1",
            "1a.example",
        ] {
            assert!(is_dns_host_name(good), "{good}");
        }
        let long_label = "a".repeat(64);
        for bad in [
            "",
            ".",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "1.2.3.4",
            "1.2.3.256",
            long_label.as_str(),
            "a b",
        ] {
            assert!(!is_dns_host_name(bad), "{bad}");
        }
        assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(is_valid_ifname("lo"));
        assert!(!is_valid_ifname(""));
    }

    #[test]
    fn connect_response() {
        assert_eq!(
            parse_connect_response("instance=5,cntlid=1\n"),
            Ok(ConnectResponse {
                instance: 5,
                cntlid: Some(1)
            })
        );
        assert_eq!(
            parse_connect_response("cntlid=7\ninstance=12"),
            Ok(ConnectResponse {
                instance: 12,
                cntlid: Some(7)
            })
        );
        assert_eq!(
            parse_connect_response("instance=0"),
            Ok(ConnectResponse {
                instance: 0,
                cntlid: None
            })
        );
        assert_eq!(
            parse_connect_response("instance=3,cntlid=70000\n"),
            Ok(ConnectResponse {
                instance: 3,
                cntlid: None
            })
        );
        for bad in [
            "",
            "\n",
            "cntlid=1",
            "instance=-1,cntlid=-1",
            "instance=x",
            "instance=",
            "instances=1",
        ] {
            assert_eq!(
                parse_connect_response(bad),
                Err(ResponseError(bad.into())),
                "{bad:?}"
            );
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the field contents, a built string splits into exactly the emitted
            /// tokens: no value can smuggle in another option.
            #[test]
            fn no_option_injection(
                nqn in "\\PC{0,40}",
                traddr in "\\PC{0,20}",
                iface in "\\PC{0,20}",
                key in "\\PC{0,20}",
            ) {
                let o = ConnectOptions {
                    traddr, host_iface: iface, dhchap_secret: key,
                    ..ConnectOptions::new(Transport::Tcp, &nqn)
                };
                if let Ok(args) = o.build(&KernelCapabilities::all()) {
                    let s = args.as_str();
                    prop_assert!(!s.contains('\n') && !s.contains('\0'));
                    let names: Vec<&str> = s.split(',').map(|t| t.split('=').next().unwrap_or("")).collect();
                    let mut want = vec!["nqn", "transport", "traddr"];
                    if !is_unset(&o.host_iface) { want.push("host_iface"); }
                    if !is_unset(&o.dhchap_secret) { want.push("dhchap_secret"); }
                    want.push("ctrl_loss_tmo");
                    prop_assert_eq!(names, want);
                }
            }

            #[test]
            fn capability_parse_never_panics(s in "\\PC{0,200}") {
                let c = KernelCapabilities::parse(&s);
                prop_assert!(c.iter().all(|n| !n.is_empty() && !n.contains(',')));
            }

            #[test]
            fn response_parse_never_panics(s in "\\PC{0,64}") {
                let _ = parse_connect_response(&s);
            }
        }
    }
}
