//! Admin commands through the kernel: `NVME_IOCTL_ADMIN_CMD` on `/dev/nvmeN`.
//!
//! The kernel builds the SGL and runs the command on the controller's admin queue; we only set
//! opcode, NSID, CDW10..15 and the data buffer. Every call blocks until the controller answers or
//! the kernel's admin timeout expires.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::admin::{AdminCommand, AdminError, AdminTransport, DataPhase};
use crate::spec::status::NvmeStatus;

/// `struct nvme_passthru_cmd` from `<linux/nvme_ioctl.h>` (protocol reference §5.5).
#[repr(C)]
#[derive(Debug, Default)]
struct PassthruCmd {
    opcode: u8,
    flags: u8,
    rsvd1: u16,
    nsid: u32,
    cdw2: u32,
    cdw3: u32,
    metadata: u64,
    addr: u64,
    metadata_len: u32,
    data_len: u32,
    cdw10: u32,
    cdw11: u32,
    cdw12: u32,
    cdw13: u32,
    cdw14: u32,
    cdw15: u32,
    timeout_ms: u32,
    result: u32,
}

const _: () = assert!(size_of::<PassthruCmd>() == 72);

// _IOWR('N', 0x41, struct nvme_passthru_cmd) == 0xC0484E41
nix::ioctl_readwrite!(nvme_ioctl_admin_cmd, b'N', 0x41, PassthruCmd);

/// Largest single transfer we ask of the kernel; libnvme splits log pages into 4 KiB too.
const DEFAULT_MAX_TRANSFER: usize = 4096;

/// An open controller character device (`/dev/nvmeN`) that submits admin commands.
#[derive(Debug)]
pub struct AdminDevice {
    file: File,
    timeout_ms: u32,
}

impl AdminDevice {
    /// Opens a controller device, e.g. `/dev/nvme3`. Needs CAP_SYS_ADMIN for most commands.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Self {
            file,
            timeout_ms: 0,
        })
    }

    /// Sets the per-command timeout; 0 (the default) leaves the kernel's admin timeout.
    pub fn with_timeout_ms(mut self, timeout_ms: u32) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }
}

impl AdminTransport for AdminDevice {
    /// Completes without ever returning `Pending`: the ioctl blocks the calling thread.
    async fn submit(&mut self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, AdminError> {
        let (addr, len) = match data {
            DataPhase::None => (0u64, 0usize),
            DataPhase::FromController(buf) => (buf.as_mut_ptr() as u64, buf.len()),
            // The kernel only reads a host-to-controller buffer (direction comes from the
            // opcode's low bits), so handing it a pointer derived from `&[u8]` is sound.
            DataPhase::ToController(buf) => (buf.as_ptr() as u64, buf.len()),
        };
        let data_len = u32::try_from(len)
            .map_err(|_| AdminError::InvalidData(format!("transfer of {len} bytes too large")))?;
        let mut raw = PassthruCmd {
            opcode: cmd.opcode,
            nsid: cmd.nsid,
            addr,
            data_len,
            cdw10: cmd.cdw10,
            cdw11: cmd.cdw11,
            cdw12: cmd.cdw12,
            cdw13: cmd.cdw13,
            cdw14: cmd.cdw14,
            cdw15: cmd.cdw15,
            timeout_ms: self.timeout_ms,
            ..Default::default()
        };
        // SAFETY: `raw` is a correctly sized `nvme_passthru_cmd` that outlives the call, and
        // `addr`/`data_len` describe a live buffer borrowed for the duration of this call (the
        // `data` borrow); the kernel writes at most `data_len` bytes into it.
        let ret = unsafe { nvme_ioctl_admin_cmd(self.file.as_raw_fd(), &mut raw) };
        match ret {
            Ok(0) => Ok(raw.result),
            Ok(status) => Err(AdminError::Status(NvmeStatus::from_passthru(status as u32))),
            Err(errno) => Err(AdminError::Transport(std::io::Error::from(errno))),
        }
    }

    fn max_transfer(&self) -> usize {
        DEFAULT_MAX_TRANSFER
    }
}
