//! NVMe completion status values the simulator returns.

use std::fmt;

/// A completion status: status code type, status code and Do Not Retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    pub sct: u8,
    pub sc: u8,
    pub dnr: bool,
}

impl Status {
    /// Successful completion.
    pub const SUCCESS: Self = Self::generic(0x00);
    /// Invalid Command Opcode (DNR).
    pub const INVALID_OPCODE: Self = Self::generic(0x01).with_dnr();
    /// Invalid Field in Command (DNR).
    pub const INVALID_FIELD: Self = Self::generic(0x02).with_dnr();
    /// Command ID Conflict (DNR).
    pub const CID_CONFLICT: Self = Self::generic(0x03).with_dnr();
    /// Internal Error.
    pub const INTERNAL: Self = Self::generic(0x06);
    /// Invalid Namespace or Format (DNR).
    pub const INVALID_NS: Self = Self::generic(0x0b).with_dnr();
    /// Command Sequence Error (DNR).
    pub const CMD_SEQ_ERROR: Self = Self::generic(0x0c).with_dnr();
    /// Data SGL Length Invalid (DNR).
    pub const SGL_INVALID_DATA: Self = Self::generic(0x0f).with_dnr();
    /// SGL Descriptor Type Invalid (DNR).
    pub const SGL_INVALID_TYPE: Self = Self::generic(0x11).with_dnr();
    /// SGL Offset Invalid (DNR).
    pub const SGL_INVALID_OFFSET: Self = Self::generic(0x16).with_dnr();
    /// Transient Transport Error (retryable).
    pub const TRANSIENT_TRANSPORT: Self = Self::generic(0x22);
    /// LBA Out of Range (DNR).
    pub const LBA_RANGE: Self = Self::generic(0x80).with_dnr();
    /// Asynchronous Event Request Limit Exceeded (DNR).
    pub const AER_LIMIT: Self = Self::specific(0x05).with_dnr();
    /// Connect Incompatible Format (DNR).
    pub const CONNECT_INCOMPATIBLE_FORMAT: Self = Self::specific(0x80).with_dnr();
    /// Connect Controller Busy.
    pub const CONNECT_CTRL_BUSY: Self = Self::specific(0x81);
    /// Connect Invalid Parameters (DNR); DW0 carries IPO/IATTR.
    pub const CONNECT_INVALID_PARAM: Self = Self::specific(0x82).with_dnr();
    /// Connect Restart Discovery.
    pub const CONNECT_RESTART_DISCOVERY: Self = Self::specific(0x83);
    /// Connect Invalid Host (DNR).
    pub const CONNECT_INVALID_HOST: Self = Self::specific(0x84).with_dnr();
    /// Invalid Queue Type (DNR), e.g. Disconnect on the admin queue.
    pub const INVALID_QUEUE_TYPE: Self = Self::specific(0x85).with_dnr();
    /// TP8010 Invalid Discovery Information (DNR).
    pub const INVALID_DISCOVERY_INFO: Self = Self::specific(0x2f).with_dnr();

    /// Generic (SCT 0) status `sc`, DNR clear.
    pub const fn generic(sc: u8) -> Self {
        Self {
            sct: 0,
            sc,
            dnr: false,
        }
    }

    /// Command specific (SCT 1) status `sc`, DNR clear.
    pub const fn specific(sc: u8) -> Self {
        Self {
            sct: 1,
            sc,
            dnr: false,
        }
    }

    /// The same status with DNR set.
    pub const fn with_dnr(self) -> Self {
        Self { dnr: true, ..self }
    }

    pub const fn is_success(&self) -> bool {
        self.sct == 0 && self.sc == 0
    }

    /// The CQE status word (phase tag 0): SC bits 8:1, SCT 11:9, DNR 15.
    pub const fn to_cqe_status(self) -> u16 {
        ((self.sc as u16) << 1) | (((self.sct & 0x7) as u16) << 9) | ((self.dnr as u16) << 15)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sct={:#x} sc={:#04x}", self.sct, self.sc)?;
        if self.dnr {
            f.write_str(" dnr")?;
        }
        Ok(())
    }
}
