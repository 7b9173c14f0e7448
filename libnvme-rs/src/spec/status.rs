//! NVMe completion status (CQE DW3 bits 31:17, or the passthru ioctl's positive return).

use std::fmt;

/// A non-zero NVMe status: status code type, status code and the DNR bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmeStatus {
    /// Status Code Type (0 generic, 1 command specific, 2 media, 3 path, 7 vendor).
    pub sct: u8,
    /// Status Code.
    pub sc: u8,
    /// Do Not Retry.
    pub dnr: bool,
}

/// Generic status: Invalid Command Opcode (what a DC without DIM answers).
pub const SC_INVALID_OPCODE: u8 = 0x01;
/// Generic status: Invalid Field in Command.
pub const SC_INVALID_FIELD: u8 = 0x02;

impl NvmeStatus {
    /// Decodes the 15-bit status field as the Linux passthru ioctl returns it
    /// (bits 7:0 SC, 10:8 SCT, 12:11 CRD, 13 MORE, 14 DNR).
    pub fn from_passthru(value: u32) -> Self {
        Self {
            sc: (value & 0xff) as u8,
            sct: ((value >> 8) & 0x7) as u8,
            dnr: value & (1 << 14) != 0,
        }
    }

    /// Decodes CQE DW3 (status field in bits 31:17, phase tag in bit 16).
    pub fn from_cqe_dw3(dw3: u32) -> Option<Self> {
        let sf = (dw3 >> 17) & 0x7fff;
        (sf & 0x7ff != 0).then(|| Self::from_passthru(sf))
    }

    /// True for Invalid Command Opcode: the controller does not implement the command.
    pub fn is_invalid_opcode(&self) -> bool {
        self.sct == 0 && self.sc == SC_INVALID_OPCODE
    }
}

impl fmt::Display for NvmeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sct={:#x} sc={:#04x}", self.sct, self.sc)?;
        if self.dnr {
            f.write_str(" dnr")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthru_status_decodes_fields() {
        let s = NvmeStatus::from_passthru(0x4002);
        assert_eq!((s.sct, s.sc, s.dnr), (0, 2, true));
        let s = NvmeStatus::from_passthru(0x0130);
        assert_eq!((s.sct, s.sc, s.dnr), (1, 0x30, false));
        assert!(NvmeStatus::from_passthru(0x4001).is_invalid_opcode());
    }

    #[test]
    fn cqe_dw3_without_error_is_none() {
        assert_eq!(NvmeStatus::from_cqe_dw3(1 << 16), None);
        assert_eq!(
            NvmeStatus::from_cqe_dw3((0x4002 << 17) | (1 << 16)).map(|s| s.sc),
            Some(2)
        );
    }
}
