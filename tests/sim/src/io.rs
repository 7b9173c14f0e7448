//! I/O commands on the RAM namespaces (protocol reference §4).

use crate::conn::{Completion, Conn, Outcome, Request};
use crate::fault::CmdKey;
use crate::status::Status;

/// NVM command set opcodes.
pub mod opcode {
    pub const FLUSH: u8 = 0x00;
    pub const WRITE: u8 = 0x01;
    pub const READ: u8 = 0x02;
    pub const WRITE_ZEROES: u8 = 0x08;
    pub const DSM: u8 = 0x09;
}

impl Conn {
    pub(crate) fn io(&mut self, req: &Request) -> Outcome {
        let CmdKey::Io(op) = req.key else {
            return Status::INVALID_OPCODE.into();
        };
        let Some(q) = &self.q else {
            return Status::CMD_SEQ_ERROR.into();
        };
        let Some(sub) = q.subsystem.clone() else {
            return Status::INVALID_OPCODE.into();
        };
        let ready = self
            .shared
            .lock()
            .controllers
            .get(&q.cntlid)
            .is_some_and(|c| c.ready());
        if !ready {
            return Status::CMD_SEQ_ERROR.into();
        }
        if !matches!(
            op,
            opcode::FLUSH | opcode::WRITE | opcode::READ | opcode::WRITE_ZEROES | opcode::DSM
        ) {
            return Status::INVALID_OPCODE.into();
        }
        let Some(ns) = sub.namespaces.get(&req.sqe.nsid.get()) else {
            return Status::INVALID_NS.into();
        };
        if matches!(op, opcode::FLUSH | opcode::DSM) {
            return Completion::ok().into();
        }
        let slba = (u64::from(req.sqe.cdw11.get()) << 32) | u64::from(req.sqe.cdw10.get());
        let nlb = u64::from(req.sqe.cdw12.get() & 0xffff) + 1;
        if slba
            .checked_add(nlb)
            .is_none_or(|end| end > ns.config.blocks)
        {
            return Status::LBA_RANGE.into();
        }
        let bs = ns.config.block_size();
        let offset = slba * bs;
        let len = nlb * bs;
        if op == opcode::WRITE_ZEROES {
            // No data moves; the length is only bounded by the namespace.
            ns.write(offset, None, len as usize);
            return Completion::ok().into();
        }
        if len != u64::from(req.xfer_len) {
            return Status::SGL_INVALID_DATA.into();
        }
        let len = req.xfer_len as usize;
        if op == opcode::WRITE {
            ns.write(offset, Some(&req.data), len);
            Completion::ok().into()
        } else {
            Completion::data(ns.read(offset, len)).into()
        }
    }
}
