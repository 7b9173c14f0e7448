//! Admin commands, independent of how they reach the controller.
//!
//! A backend implements [`AdminTransport`] (one 64-byte submission, data in or out, CQE DW0
//! back); the procedures in the submodules build on it, so they are unit-tested against a
//! scripted transport and run unchanged on the kernel passthru path and the native host.

pub mod dim;
pub mod discovery;
pub mod identify;

use crate::spec::status::NvmeStatus;

/// Admin opcodes used by the host (NVMe base spec; protocol reference §3.1).
pub mod opcode {
    /// Get Log Page (0x02).
    pub const GET_LOG_PAGE: u8 = 0x02;
    /// Identify (0x06).
    pub const IDENTIFY: u8 = 0x06;
    /// Set Features (0x09).
    pub const SET_FEATURES: u8 = 0x09;
    /// Get Features (0x0A).
    pub const GET_FEATURES: u8 = 0x0A;
    /// Asynchronous Event Request (0x0C).
    pub const ASYNC_EVENT_REQUEST: u8 = 0x0C;
    /// Keep Alive (0x18).
    pub const KEEP_ALIVE: u8 = 0x18;
    /// Discovery Information Management (0x21, TP8010).
    pub const DISCOVERY_INFO_MGMT: u8 = 0x21;
}

/// Feature identifiers (Get/Set Features CDW10 bits 7:0) the host and the simulator use.
pub mod fid {
    /// FID 0x07 Number of Queues: CDW11 NSQR (bits 15:0) and NCQR (bits 31:16), both 0's based.
    pub const NUMBER_OF_QUEUES: u8 = 0x07;
    /// FID 0x0B Asynchronous Event Configuration: CDW11 is the notice enable bitmask (bit 31 Discovery Log Page Change).
    pub const ASYNC_EVENT_CONFIG: u8 = 0x0b;
    /// FID 0x0F Keep Alive Timer: CDW11 is KATO in milliseconds.
    pub const KEEP_ALIVE_TIMER: u8 = 0x0f;
}

/// One admin submission: the fields a host sets (the transport builds the SGL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminCommand {
    /// OPC: admin command opcode, see [`opcode`].
    pub opcode: u8,
    /// NSID: namespace ID (0 when the command does not use one).
    pub nsid: u32,
    /// CDW10: command specific dword 10.
    pub cdw10: u32,
    /// CDW11: command specific dword 11.
    pub cdw11: u32,
    /// CDW12: command specific dword 12.
    pub cdw12: u32,
    /// CDW13: command specific dword 13.
    pub cdw13: u32,
    /// CDW14: command specific dword 14.
    pub cdw14: u32,
    /// CDW15: command specific dword 15.
    pub cdw15: u32,
}

/// Data phase of an admin command.
#[derive(Debug)]
pub enum DataPhase<'a> {
    /// No data transfer.
    None,
    /// Controller to host (e.g. Get Log Page): the buffer's length is the transfer length.
    FromController(&'a mut [u8]),
    /// Host to controller (e.g. DIM).
    ToController(&'a [u8]),
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The controller completed the command with a non-zero status.
    #[error("controller returned status {0}")]
    Status(NvmeStatus),
    /// The kernel transport failed (the passthru ioctl's errno, the device could not be opened).
    #[error("admin command transport failed")]
    Transport(#[source] std::io::Error),
    /// The native NVMe/TCP host failed (lost connection, timeout, protocol violation); the
    /// typed error, with the controller it names, is kept as it is.
    #[error(transparent)]
    Tcp(Box<crate::tcp::host::TcpError>),
    /// The controller's answer does not make sense (bad log page, wrong sizes).
    #[error("invalid data from controller: {0}")]
    InvalidData(String),
    /// The caller asked for something no controller can do (unaligned offset, bad length).
    #[error("invalid admin request: {0}")]
    InvalidArgument(String),
    /// The discovery log kept changing while it was read.
    #[error("discovery log changed on each of {0} reads (generation counter unstable)")]
    GenerationUnstable(u32),
    /// The generation counter stayed but the number of records changed (libnvme: EBADSLT).
    #[error("discovery log record count changed from {before} to {after} without a new generation")]
    NumrecChanged {
        /// NUMREC of the first header read.
        before: u64,
        /// NUMREC of the second header read.
        after: u64,
    },
}

/// A way to submit admin commands to one controller.
///
/// The procedures built on it are `async` so the native NVMe/TCP host and the kernel share
/// them; the kernel's passthru future completes synchronously (a blocking ioctl), so kernel
/// callers drive it with [`block_on`] on a thread that may block (`spawn_blocking`).
pub trait AdminTransport: Send {
    /// Submits `cmd` with `data` and returns CQE DW0 on success.
    fn submit(
        &mut self,
        cmd: &AdminCommand,
        data: DataPhase<'_>,
    ) -> impl Future<Output = Result<u32, AdminError>> + Send;

    /// Largest data transfer of one command, in bytes (MDTS, or what the transport allows).
    fn max_transfer(&self) -> usize {
        4096
    }
}

/// Runs a future to completion on the current thread, parking it while the future waits.
///
/// For the blocking kernel path and for tests; async code awaits the procedures instead.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
