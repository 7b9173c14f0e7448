//! Connection parameters that apply to every backend.

use std::time::Duration;

/// Typed connect parameters; `None` means "the backend's default for this kind of
/// controller" (discovery: KATO 30 s, as nvme-cli's persistent discovery connections).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectParams {
    /// Keep Alive Timeout requested at Connect.
    pub kato: Option<Duration>,
    /// Admin / I/O queue entries.
    pub queue_size: Option<u16>,
    /// Request the header digest.
    pub hdr_digest: bool,
    /// Request the data digest.
    pub data_digest: bool,
    /// Bound on establishing the connection (TCP connect, ICResp, Fabrics Connect).
    pub connect_timeout: Option<Duration>,
    /// I/O queues wanted (I/O controllers; kernel `nr_io_queues`).
    pub nr_io_queues: Option<u32>,
    /// Dedicated write queues (kernel only).
    pub nr_write_queues: Option<u32>,
    /// Polling queues (kernel only).
    pub nr_poll_queues: Option<u32>,
    /// Delay between the kernel's reconnect attempts (kernel only).
    pub reconnect_delay: Option<Duration>,
    /// How long the kernel keeps trying before removing the controller; `Some(-1)` forever
    /// (kernel only).
    pub ctrl_loss_tmo: Option<i32>,
    /// Disable SQ flow control (kernel only).
    pub disable_sqflow: bool,
    /// DH-HMAC-CHAP host secret for this controller (kernel only; the native host has no
    /// in-band authentication).
    pub dhchap_secret: Option<String>,
    /// DH-HMAC-CHAP controller secret (bidirectional authentication; kernel only).
    pub dhchap_ctrl_secret: Option<String>,
}

/// KATO of a persistent discovery connection when none is configured.
pub const DEFAULT_DISCOVERY_KATO: Duration = Duration::from_secs(30);
