//! The typed connect parameters ([`ConnectOptions`]) and libnvme's defaults.

use crate::spec::WELL_KNOWN_DISC_NQN;
use crate::trid::Transport;

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
    /// Serial of the keyring holding the TLS PSK (`keyring=0x%08x`); sent when set.
    pub keyring: Option<i32>,
    /// Serial of the TLS PSK (`tls_key=0x%08x`, tcp only); sent when set.
    pub tls_key: Option<i32>,
    /// TLS 1.3 (tcp only).
    pub tls: bool,
    /// Secure channel concatenation (tcp only; needs `dhchap_secret`).
    pub concat: bool,
}

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
            keyring: None,
            tls_key: None,
            tls: false,
            concat: false,
        }
    }

    /// Whether the kernel will treat this as a discovery controller (flag set, or the
    /// well-known discovery NQN). I/O-only options are not sent for discovery controllers.
    pub fn is_discovery(&self) -> bool {
        self.discovery || self.nqn == WELL_KNOWN_DISC_NQN
    }
}

/// libnvme treats empty and the literal `none` as "not set".
pub(super) fn is_unset(v: &str) -> bool {
    v.is_empty() || v == "none"
}
