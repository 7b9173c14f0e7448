//! Opening the TCP connection of one queue.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::sync::Arc;

use nix::sys::socket::{setsockopt, sockopt};
use tokio::net::{TcpSocket, TcpStream};

use super::error::TcpError;
use super::options::TransportOptions;

fn socket_error(what: &'static str) -> impl FnOnce(std::io::Error) -> TcpError {
    move |e| TcpError::Socket {
        what,
        source: Arc::new(e),
    }
}

/// Connects with the options' source address, interface binding and timeout; sets
/// TCP_NODELAY (PDUs are small and latency bound, as in the Linux host).
pub(crate) async fn connect(opts: &TransportOptions) -> Result<TcpStream, TcpError> {
    let addr = opts.addr;
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(socket_error("socket"))?;
    if let Some(iface) = &opts.host_iface {
        setsockopt(&socket, sockopt::BindToDevice, &OsString::from(iface))
            .map_err(|e| socket_error("SO_BINDTODEVICE")(e.into()))?;
    }
    if let Some(src) = opts.host_traddr {
        socket
            .bind(SocketAddr::new(src, 0))
            .map_err(socket_error("bind to host_traddr"))?;
    }
    socket
        .set_nodelay(true)
        .map_err(socket_error("TCP_NODELAY"))?;
    match tokio::time::timeout(opts.connect_timeout, socket.connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(TcpError::Connect {
            addr,
            source: Arc::new(e),
        }),
        Err(_) => Err(TcpError::ConnectTimeout {
            addr,
            timeout: opts.connect_timeout,
        }),
    }
}
