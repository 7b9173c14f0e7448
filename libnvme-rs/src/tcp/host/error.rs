//! Errors of the native NVMe/TCP host.
//!
//! [`TcpError`] is `Clone` (I/O errors are shared behind an `Arc`) because one failure of a
//! connection is reported to every command that was in flight on it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::AdminError;
use crate::spec::status::NvmeStatus;
use crate::tcp::{DigestKind, EncodeError, PduError, PduType};

/// Why ICReq/ICResp did not produce a usable connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcError {
    /// Digests may only be enabled when the host asked for them.
    #[error("controller enabled the {0} digest, which the host did not request")]
    UnrequestedDigest(DigestKind),
    /// The controller answered ICReq with a PDU other than ICResp.
    #[error("expected ICResp, received {0:?}")]
    UnexpectedPdu(PduType),
    /// The ICResp failed validation (PFV, CPDA, MAXH2CDATA, framing).
    #[error("invalid ICResp")]
    Invalid(#[source] PduError),
}

/// Everything that can go wrong on a native NVMe/TCP association.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TcpError {
    /// The TCP connect to the controller failed.
    #[error("connecting to {addr} failed")]
    Connect {
        /// Address of the controller.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The TCP connect did not complete in time.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout {
        /// Address of the controller.
        addr: SocketAddr,
        /// The connect timeout that expired.
        timeout: Duration,
    },
    /// Socket creation, source binding, interface binding or TCP_NODELAY failed.
    #[error("socket setup failed: {what}")]
    Socket {
        /// Which setup step failed.
        what: &'static str,
        /// The socket error.
        #[source]
        source: Arc<io::Error>,
    },
    /// No ICResp arrived within the given time after ICReq.
    #[error("no ICResp within {0:?}")]
    IcTimeout(Duration),
    /// ICReq/ICResp negotiation failed.
    #[error("NVMe/TCP connection initialization failed")]
    IcNegotiation(#[source] IcError),
    /// The controller sent a malformed or unexpected PDU; we answered with an H2CTermReq.
    #[error("protocol violation by the controller, connection terminated")]
    Pdu(#[source] PduError),
    /// The controller ended the connection with a C2HTermReq.
    #[error("controller terminated the connection (FES {fes:#04x}, FEI {fei:#x})")]
    Terminated {
        /// FES: fatal error status from the C2HTermReq.
        fes: u16,
        /// FEI: fatal error information (byte offset of the bad field for FES 0x01/0x06).
        fei: u32,
    },
    /// The controller closed the TCP connection.
    #[error("connection closed by the controller")]
    ConnectionClosed,
    /// The host closed the queue (explicitly, or because the owner went away).
    #[error("queue closed by the host")]
    Closed,
    /// A read or write on the socket failed.
    #[error("socket I/O failed")]
    Io(#[source] Arc<io::Error>),
    /// A command did not complete within its timeout.
    #[error("command {opcode:#04x} timed out after {timeout:?}")]
    Timeout {
        /// Opcode of the command (0x7F for fabrics commands).
        opcode: u8,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// A Keep Alive failed or timed out; the association was ended.
    #[error("keep alive failed")]
    KeepAlive(#[source] Box<TcpError>),
    /// The command completed with an error status (SCT/SC) in its CQE.
    #[error("controller returned status {0}")]
    Status(NvmeStatus),
    /// Received data failed its CRC32C; only the command fails (protocol reference §1.5).
    #[error("data digest mismatch in data of command {cid}")]
    DataDigest {
        /// CID of the command whose data failed.
        cid: u16,
    },
    /// The command completed before all its C2H data arrived.
    #[error("short data transfer for command {cid}: {received} of {expected} bytes")]
    ShortTransfer {
        /// CID of the command.
        cid: u16,
        /// Bytes the command asked for.
        expected: usize,
        /// Bytes received before the completion.
        received: usize,
    },
    /// Connect status 0x82: `ipo` is a byte offset in the SQE or (iattr) in the Connect data.
    #[error("Connect rejected: invalid parameter at offset {ipo} of the {}", if *iattr { "Connect data" } else { "SQE" })]
    ConnectInvalidParameters {
        /// IPO: byte offset of the invalid parameter.
        ipo: u16,
        /// IATTR: the offset is in the Connect data (true) or in the SQE (false).
        iattr: bool,
    },
    /// Connect succeeded with ATR set; DH-HMAC-CHAP is not implemented by the native host.
    #[error("controller requires in-band authentication, which the native host does not support")]
    AuthenticationRequired,
    /// CSTS did not reach the awaited state (RDY on enable, SHST complete on shutdown) within the given time.
    #[error("controller not ready within {0:?}")]
    NotReady(Duration),
    /// The controller set CSTS.CFS (controller fatal status).
    #[error("controller fatal status (CSTS.CFS) set")]
    ControllerFatal,
    /// A PDU could not be encoded.
    #[error("encoding a PDU failed")]
    Encode(#[source] EncodeError),
    /// The caller passed a request that cannot be sent; the text says why.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The controller returned data that could not be decoded; the text says why.
    #[error("invalid data from controller: {0}")]
    InvalidData(String),
    /// An admin procedure failed for a reason that is not a transport error.
    #[error(transparent)]
    Admin(Arc<AdminError>),
    /// The queue's connection ended: every command in flight on it and every later one fails
    /// with this error, which names the controller and the queue; `source` says why.
    #[error("{controller}, queue {qid}")]
    QueueFailed {
        /// The controller: `<subsystem NQN> at <address>`.
        controller: Arc<str>,
        /// The queue (0 = admin queue).
        qid: u16,
        /// Why the queue ended ([`TcpError::ConnectionClosed`], [`TcpError::KeepAlive`], …).
        #[source]
        source: Box<TcpError>,
    },
}

impl TcpError {
    pub(crate) fn io(e: io::Error) -> Self {
        Self::Io(Arc::new(e))
    }

    /// What went wrong, without the [`TcpError::QueueFailed`] naming around it.
    pub fn cause(&self) -> &TcpError {
        match self {
            Self::QueueFailed { source, .. } => source.cause(),
            other => other,
        }
    }

    /// True for errors that ended the association (as opposed to one failed command).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::Status(_)
                | Self::DataDigest { .. }
                | Self::ShortTransfer { .. }
                | Self::Timeout { .. }
                | Self::InvalidArgument(_)
                | Self::InvalidData(_)
                | Self::Admin(_)
        )
    }
}

/// The shared admin procedures carry our errors as they are: statuses as statuses,
/// everything else as [`AdminError::Tcp`].
impl From<TcpError> for AdminError {
    fn from(e: TcpError) -> Self {
        match e {
            TcpError::Status(s) => AdminError::Status(s),
            other => AdminError::Tcp(Box::new(other)),
        }
    }
}

/// The inverse of `From<TcpError> for AdminError`: a transport error comes back unchanged,
/// a procedure's own failure (bad data, unstable generation) becomes [`TcpError::Admin`].
impl From<AdminError> for TcpError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Status(s) => TcpError::Status(s),
            AdminError::Tcp(tcp) => *tcp,
            other => TcpError::Admin(Arc::new(other)),
        }
    }
}
