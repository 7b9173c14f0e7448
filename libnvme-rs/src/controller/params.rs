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
}

/// KATO of a persistent discovery connection when none is configured.
pub const DEFAULT_DISCOVERY_KATO: Duration = Duration::from_secs(30);
