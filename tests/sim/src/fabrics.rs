//! Fabrics commands: Connect, Property Get/Set (with the CC/CSTS enable sequence),
//! Disconnect (protocol reference §2).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use libnvme_rs::spec::fabrics::property::{CAP, CC, CSTS, VS};
use libnvme_rs::spec::fabrics::{CATTR_DISABLE_SQFLOW, CONNECT_DATA_SIZE, cc, csts, fctype};
use libnvme_rs::spec::{NQN_MAX_LEN, WELL_KNOWN_DISC_NQN};
use zerocopy::IntoBytes;

use crate::config::ADMIN_INLINE_DATA;
use crate::conn::{Completion, Conn, Outcome, Queue, Request};
use crate::fault::CmdKey;
use crate::identify::VERSION;
use crate::state::Controller;
use crate::status::Status;

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Connect Invalid Parameters with IPO (offset) and IATTR (in the data, not the SQE).
fn invalid_param(ipo: u16, in_data: bool) -> Outcome {
    Completion {
        dw0: u32::from(ipo) | (u32::from(in_data) << 16),
        ..Completion::status(Status::CONNECT_INVALID_PARAM)
    }
    .into()
}

/// A NUL-terminated, printable, non-empty NQN from a 256-byte Connect data field.
pub(crate) fn nqn(field: &[u8]) -> Option<String> {
    let end = field.iter().position(|&b| b == 0)?;
    let s = field.get(..end)?;
    if s.is_empty() || s.len() > NQN_MAX_LEN || s.iter().any(|b| !(0x21..=0x7e).contains(b)) {
        return None;
    }
    Some(s.iter().map(|&b| char::from(b)).collect())
}

impl Conn {
    pub(crate) fn fabrics(&mut self, req: &Request) -> Outcome {
        let CmdKey::Fabrics(fctype) = req.key else {
            return Status::INVALID_OPCODE.into();
        };
        if fctype == fctype::CONNECT {
            return self.connect(req);
        }
        let Some(q) = &self.q else {
            return Status::CMD_SEQ_ERROR.into();
        };
        match fctype {
            fctype::PROPERTY_GET if q.qid == 0 => self.property_get(req),
            fctype::PROPERTY_SET if q.qid == 0 => self.property_set(req),
            fctype::DISCONNECT if q.qid == 0 => Status::INVALID_QUEUE_TYPE.into(),
            fctype::DISCONNECT => Completion {
                close_after: true,
                ..Completion::ok()
            }
            .into(),
            _ => Status::INVALID_OPCODE.into(),
        }
    }

    fn connect(&mut self, req: &Request) -> Outcome {
        if self.q.is_some() {
            return Status::CMD_SEQ_ERROR.into();
        }
        if req.data.len() != CONNECT_DATA_SIZE {
            return Status::SGL_INVALID_DATA.into();
        }
        let sqe = req.sqe.as_bytes();
        let (recfmt, qid, sqsize) = (le16(sqe, 40), le16(sqe, 42), le16(sqe, 44));
        let cattr = sqe.get(46).copied().unwrap_or(0);
        let kato_ms = le32(sqe, 48);
        if recfmt != 0 {
            return Status::CONNECT_INCOMPATIBLE_FORMAT.into();
        }
        let d = &req.data;
        let mut hostid = [0u8; 16];
        hostid.copy_from_slice(&d[..16]);
        let cntlid = le16(d, 16);
        let Some(subnqn) = nqn(&d[256..512]) else {
            return invalid_param(256, true);
        };
        let Some(hostnqn) = nqn(&d[512..768]) else {
            return invalid_param(512, true);
        };
        let cfg = &self.shared.config;
        if sqsize == 0 || sqsize > cfg.mqes {
            return invalid_param(44, false);
        }
        let is_disc =
            subnqn == WELL_KNOWN_DISC_NQN || cfg.discovery.unique_nqn.as_deref() == Some(&subnqn);

        let shared = self.shared.clone();
        let mut guard = shared.lock();
        let st = &mut *guard;
        let subsystem = if is_disc {
            if !cfg.discovery.enabled {
                return invalid_param(256, true);
            }
            let allowed = cfg
                .discovery
                .allowed_hosts
                .as_ref()
                .is_none_or(|h| h.contains(&hostnqn));
            if !allowed {
                return Status::CONNECT_INVALID_HOST.into();
            }
            None
        } else {
            let Some(sub) = st.subsystems.get(&subnqn) else {
                return invalid_param(256, true);
            };
            if !sub.host_allowed(&hostnqn) {
                return Status::CONNECT_INVALID_HOST.into();
            }
            Some(sub.clone())
        };
        let sqflow_disabled = cattr & CATTR_DISABLE_SQFLOW != 0;
        let inline_limit = subsystem
            .as_ref()
            .filter(|_| qid != 0)
            .map_or(ADMIN_INLINE_DATA, |s| s.config.inline_data_size);

        if qid == 0 {
            if cntlid != 0xffff && cntlid != 0xfffe {
                return invalid_param(16, true);
            }
            let Some(id) = st.alloc_cntlid() else {
                return Status::CONNECT_CTRL_BUSY.into();
            };
            let kato = if kato_ms > 0 {
                Some(Duration::from_millis(kato_ms.into()))
            } else if is_disc {
                cfg.discovery_kato_zero_timeout
            } else {
                None
            };
            st.controllers.insert(
                id,
                Controller {
                    cntlid: id,
                    subsystem: subsystem.clone(),
                    subnqn: subnqn.clone(),
                    hostnqn: hostnqn.clone(),
                    hostid,
                    kato_ms,
                    cc: 0,
                    csts: 0,
                    ready_polls_left: 0,
                    aen_enabled: 0,
                    aen_masked: 0,
                    events: VecDeque::new(),
                    admin_conn: self.id,
                    io_queues: BTreeMap::new(),
                },
            );
            drop(guard);
            self.set_queue(Queue {
                qid,
                cntlid: id,
                sqsize,
                sqhd: (1 % (u32::from(sqsize) + 1)) as u16,
                sqflow_disabled,
                hostnqn,
                subnqn,
                subsystem,
                inline_limit,
                kato,
            });
            return Completion::dw0(u32::from(id)).into();
        }

        let Some(sub) = subsystem else {
            // The discovery controller has no I/O queues.
            return invalid_param(42, false);
        };
        let Some(ctrl) = st
            .controllers
            .get_mut(&cntlid)
            .filter(|c| c.subnqn == subnqn && c.hostnqn == hostnqn)
        else {
            return invalid_param(16, true);
        };
        if !ctrl.ready() {
            return Status::CMD_SEQ_ERROR.into();
        }
        if qid > sub.config.max_io_queues || ctrl.io_queues.contains_key(&qid) {
            return invalid_param(42, false);
        }
        ctrl.io_queues.insert(qid, self.id);
        drop(guard);
        self.set_queue(Queue {
            qid,
            cntlid,
            sqsize,
            sqhd: (1 % (u32::from(sqsize) + 1)) as u16,
            sqflow_disabled,
            hostnqn,
            subnqn,
            subsystem: Some(sub),
            inline_limit,
            kato: None,
        });
        Completion::dw0(u32::from(cntlid)).into()
    }

    fn cap(&self) -> u64 {
        // MQES, CQR, TO = 15 × 500 ms, CSS bit 37 (NVM command set); MPSMIN = MPSMAX = 0.
        u64::from(self.shared.config.mqes) | (1 << 16) | (15 << 24) | (1 << 37)
    }

    fn property_get(&mut self, req: &Request) -> Outcome {
        let sqe = req.sqe.as_bytes();
        let attrib = sqe.get(40).copied().unwrap_or(0) & 0x7;
        let offset = le32(sqe, 44);
        let Some(cntlid) = self.q.as_ref().map(|q| q.cntlid) else {
            return Status::CMD_SEQ_ERROR.into();
        };
        let value = match (offset, attrib) {
            (CAP, 1) => self.cap(),
            (VS, 0) => u64::from(VERSION),
            (CC, 0) | (CSTS, 0) => {
                let mut st = self.shared.lock();
                let Some(c) = st.controllers.get_mut(&cntlid) else {
                    return Status::INTERNAL.into();
                };
                if offset == CC {
                    u64::from(c.cc)
                } else {
                    if c.ready_polls_left > 0 {
                        c.ready_polls_left -= 1;
                        if c.ready_polls_left == 0 {
                            c.csts |= csts::RDY;
                        }
                    }
                    u64::from(c.csts)
                }
            }
            _ => return Status::INVALID_FIELD.into(),
        };
        Completion {
            dw0: value as u32,
            dw1: (value >> 32) as u32,
            ..Completion::ok()
        }
        .into()
    }

    fn property_set(&mut self, req: &Request) -> Outcome {
        let sqe = req.sqe.as_bytes();
        let attrib = sqe.get(40).copied().unwrap_or(0) & 0x7;
        let offset = le32(sqe, 44);
        let value = le64(sqe, 48) as u32;
        if (offset, attrib) != (CC, 0) {
            return Status::INVALID_FIELD.into();
        }
        let Some(cntlid) = self.q.as_ref().map(|q| q.cntlid) else {
            return Status::CMD_SEQ_ERROR.into();
        };
        let ready_polls = self.shared.config.ready_delay_polls;
        let mut st = self.shared.lock();
        let Some(c) = st.controllers.get_mut(&cntlid) else {
            return Status::INTERNAL.into();
        };
        let was_enabled = c.cc & cc::EN != 0;
        let enable = value & cc::EN != 0;
        if enable && !was_enabled {
            let css = (value >> 4) & 0x7;
            let mps = (value >> 7) & 0xf;
            let ams = (value >> 11) & 0x7;
            let iosqes = (value >> 16) & 0xf;
            let iocqes = (value >> 20) & 0xf;
            let io_ok = c.is_discovery() || (iosqes == 6 && iocqes == 4);
            if css != 0 || mps != 0 || ams != 0 || !io_ok {
                c.csts = csts::CFS;
            } else if ready_polls == 0 {
                c.csts = csts::RDY;
            } else {
                c.csts = 0;
                c.ready_polls_left = ready_polls;
            }
        } else if !enable && was_enabled {
            c.csts = 0;
            c.ready_polls_left = 0;
        }
        let shn = value & cc::SHN_MASK;
        c.csts &= !csts::SHST_MASK;
        if shn != 0 && enable {
            c.csts |= csts::SHST_COMPLETE;
        }
        c.cc = value;
        Completion::ok().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nqn_field_rules() {
        let mut f = [0u8; 256];
        assert_eq!(nqn(&f), None);
        f[..5].copy_from_slice(b"nqn.x");
        assert_eq!(nqn(&f).as_deref(), Some("nqn.x"));
        f[2] = b' ';
        assert_eq!(nqn(&f), None);
        let full = [b'a'; 256];
        assert_eq!(nqn(&full), None, "no NUL");
        let mut long = [b'a'; 256];
        long[224] = 0;
        assert_eq!(nqn(&long), None, "too long");
    }

    #[test]
    fn little_endian_helpers_are_bounded() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(le16(&b, 0), 0x0201);
        assert_eq!(le32(&b, 4), 0x0807_0605);
        assert_eq!(le64(&b, 0), 0x0807_0605_0403_0201);
        assert_eq!(le32(&b, 6), 0);
    }
}
