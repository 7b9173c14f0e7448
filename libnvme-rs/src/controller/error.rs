//! Errors of the controller interface: every one names the controller and the operation.

use std::fmt;

use crate::tcp::host::TcpError;
use crate::trid::TransportId;

/// The operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Connect, adopt or reconnect.
    Connect,
    /// Get Log Page (discovery log procedure).
    GetLogPage,
    /// DIM register.
    Register,
    /// DIM deregister.
    Deregister,
    /// Disconnect.
    Disconnect,
    /// Listing the kernel's controllers for an audit.
    Audit,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Connect => "connect",
            Operation::GetLogPage => "get log page",
            Operation::Register => "DIM register",
            Operation::Deregister => "DIM deregister",
            Operation::Disconnect => "disconnect",
            Operation::Audit => "audit",
        })
    }
}

/// What went wrong underneath.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// The native NVMe/TCP host failed (transport, protocol or NVMe status).
    #[error(transparent)]
    Tcp(TcpError),
    /// The identity or parameters cannot be used with this backend.
    #[error("{0}")]
    InvalidArgument(String),
    /// An admin command through the kernel failed.
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    /// Connecting or adopting through the kernel failed.
    #[error(transparent)]
    Attach(#[from] crate::kernel::adopt::AttachError),
    /// `/dev/nvme-fabrics` or sysfs failed.
    #[error(transparent)]
    Fabrics(#[from] crate::kernel::fabrics::FabricsError),
    /// The kernel's event socket failed.
    #[error("kernel events: {0}")]
    Uevents(crate::kernel::uevent::UeventError),
    /// A TLS key could not be prepared (nothing was written to the kernel).
    #[error(transparent)]
    Tls(crate::kernel::tls::TlsError),
    /// The kernel refused a connect that asked for TLS or concat.
    #[error("connect with TLS failed: {0}")]
    TlsConnect(Box<Cause>),
    /// A blocking kernel call did not return in time (it goes on in its thread).
    #[error("kernel call did not return within {0:?}")]
    KernelTimeout(std::time::Duration),
}

/// [`ControllerError`] names the controller already: the queue naming is left out.
impl From<TcpError> for Cause {
    fn from(e: TcpError) -> Self {
        match e {
            TcpError::QueueFailed { source, .. } => Self::from(*source),
            other => Cause::Tcp(other),
        }
    }
}

impl Cause {
    /// Attaches the controller and the operation.
    pub(crate) fn at(self, tid: &TransportId, op: Operation) -> ControllerError {
        ControllerError {
            controller: tid.to_string(),
            op,
            source: self,
        }
    }
}

/// A failed operation on one controller.
#[derive(Debug, thiserror::Error)]
#[error("{controller}: {op} failed")]
pub struct ControllerError {
    /// The controller's printable identity (`(tcp, 10.0.0.1, 8009, nqn...)`).
    pub controller: String,
    /// What was being done.
    pub op: Operation,
    /// Why it failed.
    #[source]
    pub source: Cause,
}

impl ControllerError {
    /// The error with its whole cause chain on one line (see [`crate::error_chain`]).
    pub fn chain(&self) -> String {
        crate::error_chain(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trid::Transport;

    #[test]
    fn errors_name_the_controller_operation_and_cause() {
        let tid = TransportId::new_discovery(Transport::Tcp, "192.0.2.1", "", "");
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = Cause::Tcp(TcpError::Connect {
            addr: "192.0.2.1:8009".parse().unwrap(),
            source: std::sync::Arc::new(io),
        })
        .at(&tid, Operation::Connect);
        assert_eq!(
            err.chain(),
            "(tcp, 192.0.2.1, 8009, nqn.2014-08.org.nvmexpress.discovery): connect failed: \
             connecting to 192.0.2.1:8009 failed: connection refused"
        );
    }
}
