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
    /// NVMe/TCP TLS and secure channel concatenation (kernel only).
    pub tls: TlsParams,
    /// Seconds before I/O fails while the kernel reconnects (kernel only).
    pub fast_io_fail_tmo: Option<u32>,
    /// IP type of service, 0-255 (kernel only).
    pub tos: Option<i32>,
    /// Allow a second connection to the same controller (kernel only).
    pub duplicate_connect: bool,
}

/// TLS settings of a connection, as nvme-cli's `--tls --concat --keyring --tls-key
/// --tls-key-identity` and nvme-stas 3.x's `tls concat keyring tls-key tls-key-identity`.
/// `Debug` never shows the key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsParams {
    /// Use TLS 1.3 with a PSK.
    pub tls: bool,
    /// Secure channel concatenation (TLS keyed by DH-HMAC-CHAP; needs a host secret).
    pub concat: bool,
    /// Keyring: a description (`.nvme` when unset) or a serial number.
    pub keyring: Option<String>,
    /// PSK: interchange format (`NVMeTLSkey-1:…`, imported into the keyring at each
    /// connect) or the serial number of a key already there.
    pub key: Option<String>,
    /// The identity an interchange key is stored under (otherwise derived, as libnvme).
    pub identity: Option<String>,
}

impl std::fmt::Debug for TlsParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsParams")
            .field("tls", &self.tls)
            .field("concat", &self.concat)
            .field("keyring", &self.keyring)
            .field("key", &self.key.as_ref().map(|_| "<secret>"))
            .field("identity", &self.identity)
            .finish()
    }
}

/// KATO of a persistent discovery connection when none is configured.
pub const DEFAULT_DISCOVERY_KATO: Duration = Duration::from_secs(30);
