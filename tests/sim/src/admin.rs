//! Admin commands of the discovery and I/O controllers (protocol reference §3).

use libnvme_rs::spec::identify::cns;
use std::time::Duration;

use bytes::Bytes;
use libnvme_rs::admin::dim::DimTask;
use libnvme_rs::spec::disclog::LID_DISCOVERY;
use tokio::time::Instant;

use crate::config::{DcType, DimMode, MAX_AERS};
use crate::conn::{Completion, Conn, Outcome, Request};
use crate::fault::CmdKey;
use crate::state::{AEN_BIT_DISC_CHANGE, DimRecord};
use crate::status::Status;
use crate::{dim, identify};

/// Admin opcodes and feature identifiers: the host library's, so the two cannot drift.
pub use libnvme_rs::admin::{fid, opcode};

/// Supported Log Pages LID.
const LID_SUPPORTED: u8 = 0x00;

/// `len` bytes of `image` from `offset`, zero-filled past its end (the length was bounded by
/// the transfer limit already); an offset past the end is Invalid Field.
fn log_slice(image: &Bytes, offset: u64, len: usize) -> Outcome {
    let Some(start) = usize::try_from(offset).ok().filter(|&o| o <= image.len()) else {
        return Status::INVALID_FIELD.into();
    };
    if let Some(end) = start.checked_add(len).filter(|&e| e <= image.len()) {
        return Completion::data(image.slice(start..end)).into();
    }
    let mut v = image.get(start..).unwrap_or_default().to_vec();
    v.resize(len, 0);
    Completion::data(v).into()
}

impl Conn {
    pub(crate) fn admin(&mut self, req: &Request) -> Outcome {
        let CmdKey::Admin(op) = req.key else {
            return Status::INVALID_OPCODE.into();
        };
        let Some(q) = &self.q else {
            return Status::CMD_SEQ_ERROR.into();
        };
        let cntlid = q.cntlid;
        let discovery = q.subsystem.is_none();
        let ready = self
            .shared
            .lock()
            .controllers
            .get(&cntlid)
            .is_some_and(|c| c.ready());
        if !ready {
            return Status::CMD_SEQ_ERROR.into();
        }
        match op {
            opcode::IDENTIFY => self.identify(req, cntlid),
            opcode::GET_LOG_PAGE => self.get_log_page(req, cntlid, discovery),
            opcode::SET_FEATURES => self.set_features(req, cntlid, discovery),
            opcode::GET_FEATURES => self.get_features(req, cntlid, discovery),
            opcode::ASYNC_EVENT_REQUEST => {
                if self.aers.len() >= MAX_AERS {
                    return Status::AER_LIMIT.into();
                }
                self.aers.push(req.sqe.cid());
                Outcome::Held
            }
            // Counted (and the timer reset) on arrival.
            opcode::KEEP_ALIVE => Completion::ok().into(),
            opcode::DISCOVERY_INFO_MGMT if discovery => self.dim(req, cntlid),
            _ => Status::INVALID_OPCODE.into(),
        }
    }

    fn identify(&mut self, req: &Request, cntlid: u16) -> Outcome {
        if req.xfer_len as usize != identify::SIZE {
            return Status::SGL_INVALID_DATA.into();
        }
        let cns = req.sqe.cdw10.get() as u8;
        let nsid = req.sqe.nsid.get();
        let st = self.shared.lock();
        let Some(ctrl) = st.controllers.get(&cntlid) else {
            return Status::INTERNAL.into();
        };
        let data = match (cns, &ctrl.subsystem) {
            (cns::CONTROLLER, _) => identify::controller(&self.shared.config, ctrl),
            (cns::NAMESPACE, Some(sub)) => {
                if nsid == 0 || nsid == u32::MAX {
                    return Status::INVALID_NS.into();
                }
                identify::namespace(sub, nsid)
            }
            (cns::ACTIVE_NAMESPACES, Some(sub)) => {
                if nsid >= 0xffff_fffe {
                    return Status::INVALID_NS.into();
                }
                identify::active_ns_list(sub, nsid)
            }
            (cns::NS_ID_DESCRIPTORS, Some(sub)) => match sub.namespaces.get(&nsid) {
                Some(ns) => identify::ns_id_descriptors(sub, ns),
                None => return Status::INVALID_NS.into(),
            },
            _ => return Status::INVALID_FIELD.into(),
        };
        Completion::data(data).into()
    }

    fn get_log_page(&mut self, req: &Request, cntlid: u16, discovery: bool) -> Outcome {
        let cdw10 = req.sqe.cdw10.get();
        let lid = cdw10 as u8;
        let rae = cdw10 & (1 << 15) != 0;
        let numd = (u64::from(req.sqe.cdw11.get() & 0xffff) << 16) | u64::from(cdw10 >> 16);
        let len = (numd + 1) * 4;
        let offset = (u64::from(req.sqe.cdw13.get()) << 32) | u64::from(req.sqe.cdw12.get());
        if len != u64::from(req.xfer_len) {
            return Status::SGL_INVALID_DATA.into();
        }
        if offset & 3 != 0 {
            return Status::INVALID_FIELD.into();
        }
        let len = req.xfer_len as usize;
        let cfg = &self.shared.config;
        match lid {
            LID_DISCOVERY if discovery => {
                let mut guard = self.shared.lock();
                let st = &mut *guard;
                st.counters.log_page_reads += 1;
                // LSP: CDW10 bits 14:08.
                st.counters.last_discovery_lsp = Some(((cdw10 >> 8) & 0x7f) as u8);
                if !rae && let Some(c) = st.controllers.get_mut(&cntlid) {
                    c.aen_masked &= !(1 << AEN_BIT_DISC_CHANGE);
                }
                let out = log_slice(&st.disc.image, offset, len);
                if req.effects.unstable_genctr {
                    // Re-encoding the same entries cannot fail.
                    let _ = st.set_discovery_log(None);
                }
                out
            }
            LID_SUPPORTED if !discovery || cfg.discovery.supported_log_pages => {
                let lids: &[u8] = if discovery {
                    &[LID_SUPPORTED, LID_DISCOVERY]
                } else {
                    &[LID_SUPPORTED]
                };
                let mut image = identify::supported_log_pages(lids);
                if discovery && cfg.discovery.pleo_supported {
                    // LID-specific bits 31:16 of LID 0x70's dword: bit 1 is PLEOS.
                    image[usize::from(LID_DISCOVERY) * 4 + 2] |= 0x2;
                }
                log_slice(&Bytes::from(image), offset, len)
            }
            _ => Status::INVALID_FIELD.into(),
        }
    }

    fn set_features(&mut self, req: &Request, cntlid: u16, discovery: bool) -> Outcome {
        let fid = req.sqe.cdw10.get() as u8;
        let value = req.sqe.cdw11.get();
        let cfg = &self.shared.config;
        let mut st = self.shared.lock();
        let Some(c) = st.controllers.get_mut(&cntlid) else {
            return Status::INTERNAL.into();
        };
        match fid {
            fid::ASYNC_EVENT_CONFIG => {
                if value & !identify::supported_aens(cfg, c) != 0 {
                    return Status::INVALID_FIELD.into();
                }
                c.aen_enabled = value;
                Completion::dw0(value).into()
            }
            fid::KEEP_ALIVE_TIMER => {
                c.kato_ms = value;
                let kato = if value > 0 {
                    Some(Duration::from_millis(value.into()))
                } else if discovery {
                    cfg.discovery_kato_zero_timeout
                } else {
                    None
                };
                drop(st);
                if let Some(q) = &mut self.q {
                    q.kato = kato;
                }
                self.kato_deadline = kato.map(|k| Instant::now() + k);
                Completion::dw0(value).into()
            }
            fid::NUMBER_OF_QUEUES if !discovery => {
                let (nsqr, ncqr) = (value & 0xffff, value >> 16);
                if nsqr == 0xffff || ncqr == 0xffff {
                    return Status::INVALID_FIELD.into();
                }
                Completion::dw0(Self::queues_granted(c)).into()
            }
            _ => Status::INVALID_FIELD.into(),
        }
    }

    /// NSQA/NCQA (0's based): nvmet reports the subsystem maximum whatever was asked.
    fn queues_granted(c: &crate::state::Controller) -> u32 {
        let n = c
            .subsystem
            .as_ref()
            .map_or(1, |s| u32::from(s.config.max_io_queues.max(1)))
            - 1;
        n | (n << 16)
    }

    fn get_features(&mut self, req: &Request, cntlid: u16, discovery: bool) -> Outcome {
        let fid = req.sqe.cdw10.get() as u8;
        let st = self.shared.lock();
        let Some(c) = st.controllers.get(&cntlid) else {
            return Status::INTERNAL.into();
        };
        match fid {
            fid::ASYNC_EVENT_CONFIG => Completion::dw0(c.aen_enabled).into(),
            fid::KEEP_ALIVE_TIMER => Completion::dw0(c.kato_ms).into(),
            fid::NUMBER_OF_QUEUES if !discovery => Completion::dw0(Self::queues_granted(c)).into(),
            _ => Status::INVALID_FIELD.into(),
        }
    }

    fn dim(&mut self, req: &Request, cntlid: u16) -> Outcome {
        let cfg = &self.shared.config;
        let fail = match cfg.discovery.dim {
            DimMode::InvalidOpcode => return Status::INVALID_OPCODE.into(),
            DimMode::Auto if cfg.discovery.dctype == DcType::None => {
                return Status::INVALID_OPCODE.into();
            }
            DimMode::Auto | DimMode::Accept => None,
            DimMode::Fail(s) => Some(s),
        };
        let task = match req.sqe.cdw10.get() & 0xf {
            0 => DimTask::Register,
            1 => DimTask::Deregister,
            2 => DimTask::Update,
            _ => return Status::INVALID_FIELD.into(),
        };
        let parsed = match dim::parse(&req.data) {
            Ok(p) => p,
            Err(_) => return Status::INVALID_DISCOVERY_INFO.into(),
        };
        let mut st = self.shared.lock();
        let connect_hostnqn = st
            .controllers
            .get(&cntlid)
            .map(|c| c.hostnqn.clone())
            .unwrap_or_default();
        st.record_dim(DimRecord {
            task,
            cntlid,
            peer: self.peer,
            connect_hostnqn,
            tdl: parsed.tdl,
            entfmt: parsed.entfmt,
            etype: parsed.etype,
            portlcl: parsed.portlcl,
            ektype: parsed.ektype,
            eid: parsed.eid,
            ename: parsed.ename,
            ever: parsed.ever,
            entries: parsed.entries,
        });
        fail.map_or_else(|| Completion::ok().into(), Outcome::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(o: Outcome) -> Vec<u8> {
        match o {
            Outcome::Done(c) => {
                assert!(c.status.is_success(), "{}", c.status);
                c.data.map(|d| d.to_vec()).unwrap_or_default()
            }
            Outcome::Held => panic!("held"),
        }
    }

    fn status(o: Outcome) -> Status {
        match o {
            Outcome::Done(c) => c.status,
            Outcome::Held => panic!("held"),
        }
    }

    #[test]
    fn log_slices() {
        let img = Bytes::from((0..100u8).collect::<Vec<_>>());
        assert_eq!(data(log_slice(&img, 4, 8)), (4..12).collect::<Vec<u8>>());
        let tail = data(log_slice(&img, 96, 8));
        assert_eq!(tail, vec![96, 97, 98, 99, 0, 0, 0, 0]);
        assert_eq!(data(log_slice(&img, 100, 4)), vec![0; 4]);
        assert_eq!(status(log_slice(&img, 104, 4)), Status::INVALID_FIELD);
        assert_eq!(
            status(log_slice(&img, u64::MAX - 3, 4)),
            Status::INVALID_FIELD
        );
    }
}
