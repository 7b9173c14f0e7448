//! Connection parameters of the native host.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::spec::WELL_KNOWN_DISC_NQN;

/// How to open one NVMe/TCP connection (each queue has its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportOptions {
    /// Controller address; always explicit (pitfall 1: no 8009/4420 guessing here).
    pub addr: SocketAddr,
    /// Source address to bind (`host_traddr`).
    pub host_traddr: Option<IpAddr>,
    /// Interface to bind with SO_BINDTODEVICE (`host_iface`; needs CAP_NET_RAW).
    pub host_iface: Option<String>,
    /// Bound on the TCP connect and, separately, on the wait for ICResp (Linux: 10 s).
    pub connect_timeout: Duration,
    /// Request the header digest (enabled only if ICResp confirms).
    pub hdgst: bool,
    /// Request the data digest (enabled only if ICResp confirms).
    pub ddgst: bool,
    /// Per-command timeout; AERs are exempt.
    pub command_timeout: Duration,
    /// Largest data transfer of one command we issue or accept, in bytes; also bounds the
    /// receive buffer of one PDU.
    pub max_transfer: u32,
}

impl TransportOptions {
    /// Defaults: 10 s connect, 30 s commands, no digests, 1 MiB transfers.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            host_traddr: None,
            host_iface: None,
            connect_timeout: Duration::from_secs(10),
            hdgst: false,
            ddgst: false,
            command_timeout: Duration::from_secs(30),
            max_transfer: 1 << 20,
        }
    }
}

/// The host identity sent in every Fabrics Connect; it must be the same on all
/// connections of a host (pitfall 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostId {
    /// HOSTNQN: the host NQN (at most 223 bytes).
    pub hostnqn: String,
    /// 128-bit host identifier, bytes in textual UUID order.
    pub hostid: [u8; 16],
}

/// The host identity of `/etc/nvme` as Connect sends it; the host ID must be a UUID. The host
/// key is not part of it (the native host has no in-band authentication).
impl TryFrom<&crate::host::HostIdentity> for HostId {
    type Error = crate::host::HostError;

    fn try_from(h: &crate::host::HostIdentity) -> Result<Self, Self::Error> {
        let hostid = crate::host::parse_uuid(&h.hostid)
            .ok_or_else(|| crate::host::HostError::HostIdNotUuid(h.hostid.clone()))?;
        Ok(Self {
            hostnqn: h.hostnqn.clone(),
            hostid,
        })
    }
}

/// The inverse of `TryFrom<&HostIdentity>`: the host ID as the canonical UUID text, no key.
impl From<&HostId> for crate::host::HostIdentity {
    fn from(h: &HostId) -> Self {
        Self {
            hostnqn: h.hostnqn.clone(),
            hostid: crate::host::format_uuid(&h.hostid),
            hostkey: None,
        }
    }
}

/// Parameters of one controller association (admin queue and, for I/O, its queues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerOptions {
    /// Where and how to connect (address, digests, timeouts).
    pub transport: TransportOptions,
    /// HOSTNQN and HOSTID sent in the Connect data.
    pub host: HostId,
    /// SUBNQN: the NVM subsystem or discovery NQN to connect to.
    pub subnqn: String,
    /// Keep Alive Timeout sent in the admin Connect; zero disables keep-alive.
    pub kato: Duration,
    /// Admin queue entries (Connect SQSIZE is this minus one; Linux uses 32).
    pub queue_size: u16,
    /// AERs kept outstanding, further bounded by the controller's AERL.
    pub max_aers: u8,
    /// Asynchronous Event Configuration (Set Features 0x0B) to request; masked with the
    /// controller's OAES, skipped when nothing remains.
    pub async_event_config: Option<u32>,
    /// Shut the controller down (CC.SHN) before closing.
    pub shutdown_on_close: bool,
}

impl ControllerOptions {
    /// An I/O controller association: KATO 5 s (Linux default), one AER, no event config.
    pub fn new(addr: SocketAddr, host: HostId, subnqn: impl Into<String>) -> Self {
        Self {
            transport: TransportOptions::new(addr),
            host,
            subnqn: subnqn.into(),
            kato: Duration::from_secs(5),
            queue_size: 32,
            max_aers: 1,
            async_event_config: None,
            shutdown_on_close: true,
        }
    }

    /// How errors and logs name this controller: `<subsystem NQN> at <address>`.
    pub fn name(&self) -> std::sync::Arc<str> {
        format!("{} at {}", self.subnqn, self.transport.addr).into()
    }

    /// A persistent discovery association: well-known NQN, KATO 30 s (nvme-cli's persistent
    /// discovery value; nvmet drops KATO=0 discovery connections after 120 s), Discovery Log
    /// Page Change notices requested.
    pub fn discovery(addr: SocketAddr, host: HostId) -> Self {
        Self {
            kato: Duration::from_secs(30),
            async_event_config: Some(crate::spec::identify::OAES_DISCOVERY_LOG_CHANGE),
            ..Self::new(addr, host, WELL_KNOWN_DISC_NQN)
        }
    }
}

/// I/O queue parameters of an [`super::IoController`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoOptions {
    /// I/O queues wanted; fewer are used if the controller grants fewer.
    pub queues: u16,
    /// Entries per I/O queue (Connect SQSIZE is this minus one), capped by CAP.MQES + 1.
    pub queue_size: u16,
}

impl Default for IoOptions {
    fn default() -> Self {
        Self {
            queues: 1,
            queue_size: 128,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HostError, HostIdentity};

    #[test]
    fn host_identity_converts_losslessly() {
        let identity = HostIdentity {
            hostnqn: "nqn.2014-08.org.nvmexpress:uuid:6e4e4a0c-3b6e-4b8a-8d2a-0d2f4f3a9e11".into(),
            hostid: "6e4e4a0c-3b6e-4b8a-8d2a-0d2f4f3a9e11".into(),
            hostkey: None,
        };
        let id = HostId::try_from(&identity).unwrap();
        assert_eq!(id.hostid[..4], [0x6e, 0x4e, 0x4a, 0x0c]);
        assert_eq!(HostIdentity::from(&id), identity);
        let bad = HostIdentity {
            hostid: "not-a-uuid".into(),
            ..identity
        };
        assert!(matches!(
            HostId::try_from(&bad),
            Err(HostError::HostIdNotUuid(ref s)) if s == "not-a-uuid"
        ));
    }
}
