//! Kernel uevents of nvme devices: controller add/remove, AENs, (re)connects.
//!
//! [`UeventSource`] is the seam daemons consume; [`NetlinkUevents`] reads the kernel's
//! `NETLINK_KOBJECT_UEVENT` multicast group directly (pure Rust, works without udevd), and
//! [`ChannelUevents`] lets tests inject events. The nvme core puts everything we need in the
//! kernel event itself (`NVME_AEN`, `NVME_EVENT`, `NVME_TR*`), so udev rule processing adds
//! nothing here.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recvfrom, setsockopt,
    socket, sockopt,
};

/// Largest uevent we accept; the kernel's own buffer (UEVENT_BUFFER_SIZE) is 2048 bytes.
pub const MAX_UEVENT_LEN: usize = 8192;

pub use crate::spec::AEN_DISCOVERY_LOG_CHANGE;

/// What happened to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `add`: a device appeared.
    Add,
    /// `remove`: a device went away.
    Remove,
    /// `change`: a device changed (e.g. an AEN or a reconnect).
    Change,
    /// Any other action (`bind`, `move`, ...), kept verbatim.
    Other(String),
}

/// One parsed uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// The action, from the part before `@`.
    pub action: Action,
    /// The sysfs device path (under `/sys`), from the part after `@`.
    pub devpath: String,
    /// All `KEY=VALUE` properties, including `SUBSYSTEM`, `DEVNAME`, `NVME_*`.
    pub props: BTreeMap<String, String>,
}

impl Uevent {
    /// The device's kernel name (`nvme3`): last component of the devpath.
    pub fn sysname(&self) -> &str {
        self.devpath.rsplit('/').next().unwrap_or_default()
    }

    /// The `SUBSYSTEM` property (`nvme` for controllers).
    pub fn subsystem(&self) -> Option<&str> {
        self.props.get("SUBSYSTEM").map(String::as_str)
    }

    /// `NVME_AEN` parsed from its `%#08x` form.
    pub fn aen(&self) -> Option<u32> {
        let v = self.props.get("NVME_AEN")?;
        let hex = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X"))?;
        u32::from_str_radix(hex, 16).ok()
    }

    /// `SEQNUM`: the kernel numbers its uevents in the order it sends them.
    pub fn seqnum(&self) -> Option<u64> {
        self.props.get("SEQNUM")?.parse().ok()
    }

    /// `NVME_EVENT` (`connected`, `rediscover`).
    pub fn nvme_event(&self) -> Option<&str> {
        self.props.get("NVME_EVENT").map(String::as_str)
    }

    /// An `NVME_*` address property, with the kernel's `none` meaning unset.
    pub fn nvme_prop(&self, key: &str) -> Option<&str> {
        self.props
            .get(key)
            .map(String::as_str)
            .filter(|v| *v != "none" && !v.is_empty())
    }
}

/// Why a uevent could not be received or parsed.
#[derive(Debug, thiserror::Error)]
pub enum UeventError {
    /// The datagram is not a well-formed uevent; the text says what is wrong.
    #[error("malformed uevent: {0}")]
    Malformed(&'static str),
    /// Receiving from the netlink uevent socket failed.
    #[error("uevent socket failed")]
    Socket(#[source] std::io::Error),
    /// The socket's receive buffer overflowed: events were lost, callers should rescan sysfs.
    #[error("uevents were lost (receive buffer overrun)")]
    Overrun,
    /// The uevent source has stopped; no more events will come.
    #[error("uevent source closed")]
    Closed,
}

/// Parses one kernel uevent datagram: `action@devpath\0KEY=VALUE\0...`.
pub fn parse_uevent(buf: &[u8]) -> Result<Uevent, UeventError> {
    if buf.len() > MAX_UEVENT_LEN {
        return Err(UeventError::Malformed("message too long"));
    }
    let mut fields = buf.split(|b| *b == 0).filter(|f| !f.is_empty());
    let head = fields
        .next()
        .ok_or(UeventError::Malformed("empty message"))?;
    let head = std::str::from_utf8(head).map_err(|_| UeventError::Malformed("header not UTF-8"))?;
    let (action, devpath) = head
        .split_once('@')
        .ok_or(UeventError::Malformed("header has no '@'"))?;
    let mut props = BTreeMap::new();
    for field in fields {
        let field =
            std::str::from_utf8(field).map_err(|_| UeventError::Malformed("property not UTF-8"))?;
        let (k, v) = field
            .split_once('=')
            .ok_or(UeventError::Malformed("property without '='"))?;
        props.insert(k.to_owned(), v.to_owned());
    }
    // The ACTION/DEVPATH properties are authoritative when present; the header must agree.
    if props.get("ACTION").is_some_and(|a| a != action) {
        return Err(UeventError::Malformed(
            "ACTION property disagrees with header",
        ));
    }
    let action = match action {
        "add" => Action::Add,
        "remove" => Action::Remove,
        "change" => Action::Change,
        other => Action::Other(other.to_owned()),
    };
    Ok(Uevent {
        action,
        devpath: devpath.to_owned(),
        props,
    })
}

/// A stream of nvme uevents. Implementations block for at most `timeout` (`None`: forever).
pub trait UeventSource {
    /// The next nvme event, or `Ok(None)` when the timeout expired.
    fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Uevent>, UeventError>;
}

/// Kernel uevents from a `NETLINK_KOBJECT_UEVENT` socket, filtered to `SUBSYSTEM=nvme`.
#[derive(Debug)]
pub struct NetlinkUevents {
    fd: OwnedFd,
    buf: Vec<u8>,
}

/// Receive buffer of the uevent socket: room for thousands of events while the reader is
/// busy.
pub const DEFAULT_UEVENT_BUFFER: usize = 4 << 20;

/// Multicast group of kernel-originated events (group 2 is udevd's re-broadcast).
const KERNEL_GROUP: u32 = 1;

impl NetlinkUevents {
    /// Opens and binds the socket with [`DEFAULT_UEVENT_BUFFER`]; events that happen after
    /// this returns are seen.
    pub fn open() -> Result<Self, UeventError> {
        Self::open_with_buffer(DEFAULT_UEVENT_BUFFER)
    }

    /// As [`Self::open`] with a receive buffer of `bytes`. With `CAP_NET_ADMIN` the size is
    /// forced past `net.core.rmem_max` (otherwise the kernel silently caps it there).
    pub fn open_with_buffer(bytes: usize) -> Result<Self, UeventError> {
        let sock = |e: Errno| UeventError::Socket(e.into());
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkKObjectUEvent,
        )
        .map_err(sock)?;
        // A burst of add/change events (connect-all of many controllers) must not overrun.
        if setsockopt(&fd, sockopt::RcvBufForce, &bytes).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &bytes);
        }
        bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &NetlinkAddr::new(0, KERNEL_GROUP),
        )
        .map_err(sock)?;
        Ok(Self {
            fd,
            buf: vec![0; MAX_UEVENT_LEN + 1],
        })
    }
}

impl UeventSource for NetlinkUevents {
    fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Uevent>, UeventError> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let wait = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                        .unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, wait) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(UeventError::Socket(e.into())),
            }
            let raw = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
            let (n, from) = match recvfrom::<NetlinkAddr>(raw, &mut self.buf) {
                Ok(r) => r,
                Err(Errno::EINTR | Errno::EAGAIN) => continue,
                Err(Errno::ENOBUFS) => return Err(UeventError::Overrun),
                Err(e) => return Err(UeventError::Socket(e.into())),
            };
            // Only the kernel (port id 0) is trusted; a datagram filling the whole buffer was
            // truncated and is dropped rather than half-parsed.
            if from.is_none_or(|a| a.pid() != 0) || n > MAX_UEVENT_LEN {
                continue;
            }
            match parse_uevent(&self.buf[..n]) {
                Ok(ev) if ev.subsystem() == Some("nvme") => return Ok(Some(ev)),
                Ok(_) | Err(UeventError::Malformed(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Events injected through a channel, for tests of the code that consumes uevents.
#[derive(Debug)]
pub struct ChannelUevents(pub mpsc::Receiver<Uevent>);

impl UeventSource for ChannelUevents {
    fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Uevent>, UeventError> {
        match timeout {
            None => self.0.recv().map(Some).map_err(|_| UeventError::Closed),
            Some(t) => match self.0.recv_timeout(t) {
                Ok(ev) => Ok(Some(ev)),
                Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(UeventError::Closed),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AEN_EVENT: &[u8] = b"change@/devices/virtual/nvme-fabrics/ctl/nvme0\0ACTION=change\0\
DEVPATH=/devices/virtual/nvme-fabrics/ctl/nvme0\0SUBSYSTEM=nvme\0NVME_AEN=0x70f002\0\
NVME_TRTYPE=tcp\0NVME_TRADDR=127.0.0.1\0NVME_TRSVCID=4420\0NVME_HOST_TRADDR=none\0\
NVME_HOST_IFACE=none\0MAJOR=241\0MINOR=0\0DEVNAME=nvme0\0SEQNUM=4242\0";

    #[test]
    fn parses_a_discovery_aen() {
        let ev = parse_uevent(AEN_EVENT).unwrap();
        assert_eq!(ev.action, Action::Change);
        assert_eq!(ev.sysname(), "nvme0");
        assert_eq!(ev.subsystem(), Some("nvme"));
        assert_eq!(ev.aen(), Some(AEN_DISCOVERY_LOG_CHANGE));
        assert_eq!(ev.nvme_prop("NVME_TRADDR"), Some("127.0.0.1"));
        assert_eq!(ev.nvme_prop("NVME_HOST_TRADDR"), None, "'none' means unset");
        assert_eq!(ev.nvme_event(), None);
        assert_eq!(ev.seqnum(), Some(4242));
    }

    #[test]
    fn rejects_malformed_messages() {
        let cases: &[&[u8]] = &[
            b"",
            b"\0\0",
            b"no-at-sign\0A=B\0",
            b"add@/x\0novalue\0",
            b"add@/x\0ACTION=remove\0",
            b"add@/x\0K=\xff\xfe\0",
            b"\xffadd@/x\0",
        ];
        for c in cases {
            assert!(
                matches!(parse_uevent(c), Err(UeventError::Malformed(_))),
                "{c:?}"
            );
        }
        let long = vec![b'a'; MAX_UEVENT_LEN + 1];
        assert!(parse_uevent(&long).is_err());
    }

    #[test]
    fn aen_rejects_non_hex() {
        let mut ev = parse_uevent(AEN_EVENT).unwrap();
        ev.props.insert("NVME_AEN".into(), "70f002".into());
        assert_eq!(ev.aen(), None);
        ev.props.insert("NVME_AEN".into(), "0xzz".into());
        assert_eq!(ev.aen(), None);
    }

    #[test]
    fn seqnum_is_a_decimal_number_or_none() {
        let mut ev = parse_uevent(AEN_EVENT).unwrap();
        for bad in ["", "-1", "0x10", "12 ", "18446744073709551616"] {
            ev.props.insert("SEQNUM".into(), bad.into());
            assert_eq!(ev.seqnum(), None, "{bad:?}");
        }
        ev.props.remove("SEQNUM");
        assert_eq!(ev.seqnum(), None);
    }

    #[test]
    fn channel_source_times_out_and_closes() {
        let (tx, rx) = mpsc::channel();
        let mut src = ChannelUevents(rx);
        assert!(
            src.next_event(Some(Duration::from_millis(1)))
                .unwrap()
                .is_none()
        );
        tx.send(parse_uevent(AEN_EVENT).unwrap()).unwrap();
        assert!(src.next_event(None).unwrap().is_some());
        drop(tx);
        assert!(matches!(src.next_event(None), Err(UeventError::Closed)));
    }
}
