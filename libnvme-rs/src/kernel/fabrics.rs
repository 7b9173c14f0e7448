//! Connect and disconnect through `/dev/nvme-fabrics` and sysfs (compat spec §5.1, §5.4).
//!
//! **Every method blocks**: a connect write returns only once the controller is connected and
//! identified (seconds, bounded by transport timeouts). Async callers use `spawn_blocking`.
//!
//! Paths are configurable ([`Fabrics::with_paths`]) so tests point at temporary files.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::options::{ConnectArgs, KernelCapabilities, ResponseError, parse_connect_response};
use super::sysfs::parse_controller_name;

/// The fabrics control device.
pub const DEFAULT_FABRICS_DEV: &str = "/dev/nvme-fabrics";
/// The sysfs mount point.
pub const DEFAULT_SYSFS_ROOT: &str = "/sys";

/// The kernel answers with one short line; libnvme reads at most 4095 bytes.
const READ_CAP: usize = 4095;

/// Errors from the kernel fabrics interface.
#[derive(Debug, thiserror::Error)]
pub enum FabricsError {
    /// `/dev/nvme-fabrics` does not exist.
    #[error("{0} not found (is the nvme-fabrics module loaded?)")]
    ModuleNotLoaded(PathBuf),
    /// Opening the device needs privileges (upstream treats this as fatal).
    #[error("permission denied opening {path}")]
    PermissionDenied {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// EALREADY: an identical connection exists (and `duplicate_connect` was not given).
    #[error("already connected")]
    AlreadyConnected,
    /// ECONNREFUSED: the target refused the connection.
    #[error("connection refused by the target")]
    ConnectionRefused,
    /// ETIMEDOUT: the target did not answer in time.
    #[error("connection to the target timed out")]
    TimedOut,
    /// EHOSTUNREACH: no route to the target.
    #[error("target host unreachable")]
    HostUnreachable,
    /// EADDRINUSE.
    #[error("address already in use")]
    AddressInUse,
    /// EADDRNOTAVAIL: `host_traddr` is not a local address.
    #[error("host address not available")]
    AddressNotAvailable,
    /// ENODEV: `host_iface` does not exist (or the transport module is missing).
    #[error("no such device (host interface or transport)")]
    NoSuchDevice,
    /// EOPNOTSUPP.
    #[error("operation not supported by the kernel")]
    NotSupported,
    /// ENOKEY: authentication or TLS key required but not available.
    #[error("authentication key not available")]
    AuthKeyMissing,
    /// EKEYREJECTED: authentication failed.
    #[error("authentication key rejected")]
    AuthRejected,
    /// ESRCH: the kernel found no user-space agent to run the TLS handshake (it hands it to
    /// `tlshd` from ktls-utils over the netlink handshake family).
    #[error("no TLS handshake agent is running (the kernel needs tlshd from ktls-utils)")]
    NoHandshakeAgent,
    /// EINVAL: the kernel refused the options (unknown/invalid option, host NQN/ID mismatch).
    #[error("kernel rejected the connect options")]
    InvalidOptions,
    /// EIO: transport or protocol failure (details in dmesg).
    #[error("I/O error while connecting")]
    TransportIo,
    /// The write consumed only part of the string.
    #[error("short write to {path}: {written} of {len} bytes")]
    ShortWrite {
        /// The device path.
        path: PathBuf,
        /// Bytes written.
        written: usize,
        /// Bytes requested.
        len: usize,
    },
    /// The connect write succeeded but the response held no instance: a controller may now
    /// exist that the caller cannot name.
    #[error("connect succeeded but the response could not be parsed")]
    BadResponse(#[source] ResponseError),
    /// A controller name that is neither `nvmeN` nor `N`.
    #[error("invalid controller name {0:?}")]
    InvalidControllerName(String),
    /// The controller's sysfs entry does not exist.
    #[error("controller {0} not found")]
    ControllerNotFound(String),
    /// EBUSY on `delete_controller` (controller still starting, on newer kernels).
    #[error("controller {0} is busy")]
    ControllerBusy(String),
    /// Any other I/O failure.
    #[error("{op} {path}")]
    Io {
        /// What was being done ("open", "read", ...).
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// A new controller created by [`Fabrics::connect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// Controller instance number.
    pub instance: u32,
    /// Controller ID, if the kernel reported one.
    pub cntlid: Option<u16>,
    /// Device name, `nvme<instance>`.
    pub device: String,
}

/// Handle on the kernel fabrics interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fabrics {
    dev: PathBuf,
    sysfs: PathBuf,
}

impl Default for Fabrics {
    fn default() -> Self {
        Self::with_paths(DEFAULT_FABRICS_DEV, DEFAULT_SYSFS_ROOT)
    }
}

impl Fabrics {
    /// The real kernel paths.
    pub fn new() -> Self {
        Self::default()
    }

    /// Custom fabrics device and sysfs root (tests).
    pub fn with_paths(dev: impl Into<PathBuf>, sysfs_root: impl Into<PathBuf>) -> Self {
        Fabrics {
            dev: dev.into(),
            sysfs: sysfs_root.into(),
        }
    }

    /// The fabrics device path.
    pub fn dev_path(&self) -> &Path {
        &self.dev
    }

    /// The sysfs root.
    pub fn sysfs_root(&self) -> &Path {
        &self.sysfs
    }

    /// Reads the kernel's option list (blocking), as libnvme: a read failing with EINVAL
    /// (kernels < ~5.17) yields [`KernelCapabilities::historical_default`].
    pub fn probe_capabilities(&self) -> Result<KernelCapabilities, FabricsError> {
        capabilities_from_read(self.read_option_line()?, &self.dev)
    }

    /// Reads the kernel's option list (blocking), as upstream nvme-stas: every failure is an
    /// error, EINVAL of kernels that print no list included (nvme-stas then warns and goes by
    /// the kernel release alone).
    pub fn read_option_list(&self) -> Result<KernelCapabilities, FabricsError> {
        let bytes = self
            .read_option_line()?
            .map_err(|source| FabricsError::Io {
                op: "read",
                path: self.dev.clone(),
                source,
            })?;
        Ok(KernelCapabilities::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Opens the device (open errors mapped) and reads it once: the kernel returns the whole
    /// option line at once (libnvme reads it the same way). The read's own error is returned
    /// unmapped, for the two readings of EINVAL above.
    fn read_option_line(&self) -> Result<io::Result<Vec<u8>>, FabricsError> {
        let mut file = File::open(&self.dev).map_err(|e| open_error(e, &self.dev))?;
        let mut buf = vec![0u8; READ_CAP];
        Ok(file.read(&mut buf).map(|n| {
            buf.truncate(n);
            buf
        }))
    }

    /// Creates a controller (blocking, possibly for seconds): opens the device read-write,
    /// writes the whole option string in one `write`, then reads `instance=N,cntlid=M` back
    /// from the same descriptor.
    pub fn connect(&self, args: &ConnectArgs) -> Result<Connected, FabricsError> {
        let resp = self.connect_raw(args.as_str())?;
        Ok(Connected {
            instance: resp.instance,
            cntlid: resp.cntlid,
            device: format!("nvme{}", resp.instance),
        })
    }

    fn connect_raw(&self, args: &str) -> Result<super::options::ConnectResponse, FabricsError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.dev)
            .map_err(|e| open_error(e, &self.dev))?;
        // The kernel accepts exactly one write per descriptor: no retry loop.
        let written = file
            .write(args.as_bytes())
            .map_err(|e| connect_write_error(e, &self.dev))?;
        if written != args.len() {
            return Err(FabricsError::ShortWrite {
                path: self.dev.clone(),
                written,
                len: args.len(),
            });
        }
        let mut buf = vec![0u8; READ_CAP];
        let n = file.read(&mut buf).map_err(|source| FabricsError::Io {
            op: "read connect response from",
            path: self.dev.clone(),
            source,
        })?;
        parse_connect_response(&String::from_utf8_lossy(buf.get(..n).unwrap_or_default()))
            .map_err(FabricsError::BadResponse)
    }

    /// Deletes controller `name` (`nvmeN` or `N`) by writing `1` to its `delete_controller`
    /// attribute (blocking). The kernel then removes the device and emits a `remove` uevent.
    pub fn disconnect(&self, name: &str) -> Result<(), FabricsError> {
        let instance = parse_controller_name(name)
            .or_else(|| {
                if name.bytes().all(|b| b.is_ascii_digit()) {
                    name.parse().ok()
                } else {
                    None
                }
            })
            .ok_or_else(|| FabricsError::InvalidControllerName(name.to_owned()))?;
        self.disconnect_instance(instance)
    }

    /// [`Fabrics::disconnect`] by instance number.
    pub fn disconnect_instance(&self, instance: u32) -> Result<(), FabricsError> {
        let device = format!("nvme{instance}");
        let path = self
            .sysfs
            .join("class/nvme")
            .join(&device)
            .join("delete_controller");
        // No create: a missing attribute means a missing controller, never a new file.
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|source| {
                if source.kind() == io::ErrorKind::NotFound {
                    FabricsError::ControllerNotFound(device.clone())
                } else {
                    FabricsError::Io {
                        op: "open",
                        path: path.clone(),
                        source,
                    }
                }
            })?;
        file.write_all(b"1").map_err(|source| {
            match Errno::from_raw(source.raw_os_error().unwrap_or(0)) {
                Errno::EBUSY => FabricsError::ControllerBusy(device.clone()),
                Errno::ENODEV | Errno::ENOENT => FabricsError::ControllerNotFound(device.clone()),
                _ => FabricsError::Io {
                    op: "write",
                    path: path.clone(),
                    source,
                },
            }
        })
    }
}

/// Interprets the probe read: text → parsed set; EINVAL (old kernels) → the historical set.
fn capabilities_from_read(
    read: io::Result<Vec<u8>>,
    path: &Path,
) -> Result<KernelCapabilities, FabricsError> {
    match read {
        Ok(bytes) => Ok(KernelCapabilities::parse(&String::from_utf8_lossy(&bytes))),
        Err(e) if e.raw_os_error() == Some(Errno::EINVAL as i32) => {
            Ok(KernelCapabilities::historical_default())
        }
        Err(source) => Err(FabricsError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

fn open_error(source: io::Error, path: &Path) -> FabricsError {
    match source.kind() {
        io::ErrorKind::NotFound => FabricsError::ModuleNotLoaded(path.to_owned()),
        io::ErrorKind::PermissionDenied => FabricsError::PermissionDenied {
            path: path.to_owned(),
            source,
        },
        _ => FabricsError::Io {
            op: "open",
            path: path.to_owned(),
            source,
        },
    }
}

/// Maps the errno of the connect `write` (pure; libnvme's table extended with the errnos the
/// protocol reference lists).
pub fn connect_write_error(source: io::Error, path: &Path) -> FabricsError {
    let Some(raw) = source.raw_os_error() else {
        return FabricsError::Io {
            op: "write",
            path: path.to_owned(),
            source,
        };
    };
    match Errno::from_raw(raw) {
        Errno::EALREADY => FabricsError::AlreadyConnected,
        Errno::ECONNREFUSED => FabricsError::ConnectionRefused,
        Errno::ETIMEDOUT => FabricsError::TimedOut,
        Errno::EHOSTUNREACH => FabricsError::HostUnreachable,
        Errno::EADDRINUSE => FabricsError::AddressInUse,
        Errno::EADDRNOTAVAIL => FabricsError::AddressNotAvailable,
        Errno::ENODEV => FabricsError::NoSuchDevice,
        Errno::EOPNOTSUPP => FabricsError::NotSupported,
        Errno::ENOKEY => FabricsError::AuthKeyMissing,
        Errno::EKEYREJECTED => FabricsError::AuthRejected,
        Errno::ESRCH => FabricsError::NoHandshakeAgent,
        Errno::EINVAL => FabricsError::InvalidOptions,
        Errno::EIO => FabricsError::TransportIo,
        _ => FabricsError::Io {
            op: "write",
            path: path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::options::ConnectOptions;
    use crate::trid::Transport;
    use std::fs;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn probe_reads_first_line_of_fake_device() {
        let d = tmp();
        let dev = d.path().join("nvme-fabrics");
        fs::write(
            &dev,
            "instance=-1,cntlid=-1,transport=%s,host_iface=%s,discovery\nignored,dhchap_secret\n",
        )
        .unwrap();
        let caps = Fabrics::with_paths(&dev, d.path())
            .probe_capabilities()
            .unwrap();
        assert!(caps.host_iface() && caps.discovery());
        assert!(!caps.dhchap_secret());
        assert!(!caps.supports("ignored"));
    }

    #[test]
    fn probe_empty_and_garbage() {
        let d = tmp();
        let dev = d.path().join("nvme-fabrics");
        fs::write(&dev, "").unwrap();
        assert!(
            Fabrics::with_paths(&dev, d.path())
                .probe_capabilities()
                .unwrap()
                .is_empty()
        );
        fs::write(&dev, [0xffu8, 0xfe, b',', b'x']).unwrap();
        let caps = Fabrics::with_paths(&dev, d.path())
            .probe_capabilities()
            .unwrap();
        assert!(caps.supports("x") && !caps.discovery());
    }

    #[test]
    fn probe_missing_device() {
        let d = tmp();
        let dev = d.path().join("absent");
        let err = Fabrics::with_paths(&dev, d.path())
            .probe_capabilities()
            .unwrap_err();
        assert!(matches!(err, FabricsError::ModuleNotLoaded(p) if p == dev));
    }

    #[test]
    fn probe_directory_is_io_error() {
        let d = tmp();
        // Reading a directory fails with EISDIR: neither EINVAL nor an open error.
        let err = Fabrics::with_paths(d.path(), d.path())
            .probe_capabilities()
            .unwrap_err();
        assert!(
            matches!(err, FabricsError::Io { op: "read", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn read_option_list_is_strict() {
        let d = tmp();
        let dev = d.path().join("nvme-fabrics");
        fs::write(&dev, "transport=%s,host_iface=%s\ndiscovery\n").unwrap();
        let caps = Fabrics::with_paths(&dev, d.path())
            .read_option_list()
            .unwrap();
        assert!(caps.host_iface() && !caps.discovery());
        // A read error is an error here (probe_capabilities maps EINVAL to a default set).
        let err = Fabrics::with_paths(d.path(), d.path())
            .read_option_list()
            .unwrap_err();
        assert!(
            matches!(err, FabricsError::Io { op: "read", .. }),
            "{err:?}"
        );
        let err = Fabrics::with_paths(d.path().join("absent"), d.path())
            .read_option_list()
            .unwrap_err();
        assert!(matches!(err, FabricsError::ModuleNotLoaded(_)), "{err:?}");
    }

    #[test]
    fn probe_einval_means_historical_default() {
        let p = Path::new("/dev/nvme-fabrics");
        let einval = io::Error::from_raw_os_error(Errno::EINVAL as i32);
        let caps = capabilities_from_read(Err(einval), p).unwrap();
        assert_eq!(caps, KernelCapabilities::historical_default());
        let eio = io::Error::from_raw_os_error(Errno::EIO as i32);
        assert!(matches!(
            capabilities_from_read(Err(eio), p),
            Err(FabricsError::Io { op: "read", .. })
        ));
        let caps = capabilities_from_read(Ok(b"discovery,tos=%d\n".to_vec()), p).unwrap();
        assert!(caps.discovery() && caps.supports("tos"));
    }

    #[test]
    fn defaults() {
        let f = Fabrics::new();
        assert_eq!(f.dev_path(), Path::new("/dev/nvme-fabrics"));
        assert_eq!(f.sysfs_root(), Path::new("/sys"));
    }

    fn fifo(d: &tempfile::TempDir) -> PathBuf {
        let p = d.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        p
    }

    #[test]
    fn connect_writes_once_and_reads_back_on_same_fd() {
        // A FIFO opened read-write echoes what was written: the read sees exactly one write.
        let d = tmp();
        let f = Fabrics::with_paths(fifo(&d), d.path());
        let resp = f.connect_raw("instance=7,cntlid=3\n").unwrap();
        assert_eq!(resp.instance, 7);
        assert_eq!(resp.cntlid, Some(3));

        let args = ConnectOptions {
            traddr: "10.0.0.1".into(),
            ..ConnectOptions::new(Transport::Tcp, "nqn.s")
        }
        .build(&KernelCapabilities::all())
        .unwrap();
        match f.connect(&args).unwrap_err() {
            FabricsError::BadResponse(ResponseError(echo)) => assert_eq!(echo, args.as_str()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_missing_device() {
        let d = tmp();
        let args = ConnectOptions::new(Transport::Loop, "nqn.s")
            .build(&KernelCapabilities::all())
            .unwrap();
        let err = Fabrics::with_paths(d.path().join("nope"), d.path())
            .connect(&args)
            .unwrap_err();
        assert!(matches!(err, FabricsError::ModuleNotLoaded(_)));
    }

    #[test]
    fn connect_errno_table() {
        let p = Path::new("/dev/nvme-fabrics");
        let table: &[(Errno, &str)] = &[
            (Errno::EALREADY, "AlreadyConnected"),
            (Errno::ESRCH, "NoHandshakeAgent"),
            (Errno::ECONNREFUSED, "ConnectionRefused"),
            (Errno::ETIMEDOUT, "TimedOut"),
            (Errno::EHOSTUNREACH, "HostUnreachable"),
            (Errno::EADDRINUSE, "AddressInUse"),
            (Errno::EADDRNOTAVAIL, "AddressNotAvailable"),
            (Errno::ENODEV, "NoSuchDevice"),
            (Errno::EOPNOTSUPP, "NotSupported"),
            (Errno::ENOKEY, "AuthKeyMissing"),
            (Errno::EKEYREJECTED, "AuthRejected"),
            (Errno::EINVAL, "InvalidOptions"),
            (Errno::EIO, "TransportIo"),
            (Errno::ENOMEM, "Io"),
            (Errno::EPERM, "Io"),
        ];
        for (errno, want) in table {
            let e = connect_write_error(io::Error::from_raw_os_error(*errno as i32), p);
            let got = format!("{e:?}");
            assert!(got.starts_with(want), "{errno}: {got}");
        }
        let e = connect_write_error(io::Error::other("x"), p);
        assert!(matches!(e, FabricsError::Io { op: "write", .. }));
        let e = connect_write_error(io::Error::from_raw_os_error(Errno::ENOMEM as i32), p);
        assert!(std::error::Error::source(&e).is_some());
    }

    fn fake_ctrl(d: &tempfile::TempDir, name: &str) -> PathBuf {
        let dir = d.path().join("class/nvme").join(name);
        fs::create_dir_all(&dir).unwrap();
        let attr = dir.join("delete_controller");
        fs::write(&attr, "").unwrap();
        attr
    }

    #[test]
    fn disconnect_writes_one() {
        let d = tmp();
        let attr = fake_ctrl(&d, "nvme4");
        let f = Fabrics::with_paths("/nonexistent", d.path());
        f.disconnect("nvme4").unwrap();
        assert_eq!(fs::read_to_string(&attr).unwrap(), "1");
        fs::write(&attr, "").unwrap();
        f.disconnect("4").unwrap();
        assert_eq!(fs::read_to_string(&attr).unwrap(), "1");
        fs::write(&attr, "").unwrap();
        f.disconnect_instance(4).unwrap();
        assert_eq!(fs::read_to_string(&attr).unwrap(), "1");
    }

    #[test]
    fn disconnect_errors() {
        let d = tmp();
        let f = Fabrics::with_paths("/nonexistent", d.path());
        assert!(
            matches!(f.disconnect("nvme9"), Err(FabricsError::ControllerNotFound(n)) if n == "nvme9")
        );
        assert!(!d.path().join("class/nvme/nvme9/delete_controller").exists());
        for bad in [
            "",
            "nvme",
            "nvme1n1",
            "../nvme1",
            "nvme-fabrics",
            "-1",
            "nvme 1",
            "+1",
        ] {
            assert!(
                matches!(
                    f.disconnect(bad),
                    Err(FabricsError::InvalidControllerName(_))
                ),
                "{bad:?}"
            );
        }
    }
}
