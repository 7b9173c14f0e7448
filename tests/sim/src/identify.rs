//! Identify data structures and small log pages the controllers return.

use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
use libnvme_rs::spec::identify::{
    CTRATT_TBKAS, LPA_EXTENDED_DATA, OAES_DISCOVERY_LOG_CHANGE, OFCS_DISCONNECT,
    RawIdentifyController, SGLS_SAOS, cntrltype,
};
use zerocopy::{FromZeros, IntoBytes};

use crate::config::SimConfig;
use crate::state::{Controller, Namespace, Subsystem};

/// Identify data size.
pub(crate) const SIZE: usize = 4096;
/// NVMe version reported in VS and Identify VER (2.0.0).
pub(crate) const VERSION: u32 = 0x0002_0000;
/// OAES bit 8: Namespace Attribute notices (accepted in AEC on I/O controllers).
pub(crate) const OAES_NS_ATTR: u32 = 1 << 8;

fn put_padded(dst: &mut [u8], s: &str) {
    dst.fill(b' ');
    let n = s.len().min(dst.len());
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

fn put_nul(dst: &mut [u8], s: &str) {
    dst.fill(0);
    let n = s.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// AEC bits a controller accepts in Set Features.
pub(crate) fn supported_aens(cfg: &SimConfig, ctrl: &Controller) -> u32 {
    if ctrl.is_discovery() {
        if cfg.discovery.aen_supported {
            OAES_DISCOVERY_LOG_CHANGE
        } else {
            0
        }
    } else {
        OAES_NS_ATTR
    }
}

/// Identify Controller (CNS 1) for a discovery or I/O controller.
pub(crate) fn controller(cfg: &SimConfig, ctrl: &Controller) -> Vec<u8> {
    let mut id = RawIdentifyController::new_zeroed();
    put_padded(&mut id.sn, &cfg.serial);
    put_padded(&mut id.mn, &cfg.model);
    put_padded(&mut id.fr, &cfg.firmware);
    id.rab = 6;
    id.mdts = cfg.mdts;
    id.cntlid.set(ctrl.cntlid);
    id.ver.set(VERSION);
    id.oaes.set(supported_aens(cfg, ctrl));
    let mut ctratt = 1; // 128-bit host identifier
    if cfg.traffic_based_keep_alive {
        ctratt |= CTRATT_TBKAS;
    }
    id.ctratt.set(ctratt);
    id.aerl = 3;
    id.lpa = LPA_EXTENDED_DATA;
    id.kas.set(10);
    id.sqes = 0x66;
    id.cqes = 0x44;
    id.maxcmd.set(cfg.mqes.saturating_add(1));
    id.sgls.set(1 | SGLS_SAOS);
    id.iorcsz.set(1);
    id.msdbd = 1;
    match &ctrl.subsystem {
        None => {
            id.cntrltype = cntrltype::DISCOVERY;
            id.dctype = cfg.discovery.dctype.value();
            let nqn = cfg
                .discovery
                .unique_nqn
                .as_deref()
                .unwrap_or(WELL_KNOWN_DISC_NQN);
            put_nul(&mut id.subnqn, nqn);
            id.ioccsz.set(4);
        }
        Some(sub) => {
            id.cntrltype = cntrltype::IO;
            id.cmic = 0x03;
            id.nn
                .set(sub.namespaces.keys().next_back().copied().unwrap_or(0));
            // Dataset Management and Write Zeroes.
            id.oncs.set((1 << 2) | (1 << 3));
            id.vwc = 1;
            put_nul(&mut id.subnqn, &sub.config.nqn);
            id.ioccsz.set(sub.ioccsz());
            id.ofcs.set(OFCS_DISCONNECT);
        }
    }
    id.as_bytes().to_vec()
}

/// NGUID of a namespace: stable per subsystem NQN and NSID.
fn nguid(subnqn: &str, nsid: u32) -> [u8; 16] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in subnqn.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&h.to_be_bytes());
    out[12..].copy_from_slice(&nsid.to_be_bytes());
    out
}

/// Identify Namespace (CNS 0); all zeros for an inactive NSID.
pub(crate) fn namespace(sub: &Subsystem, nsid: u32) -> Vec<u8> {
    let mut b = vec![0u8; SIZE];
    let Some(ns) = sub.namespaces.get(&nsid) else {
        return b;
    };
    let blocks = ns.config.blocks.to_le_bytes();
    b[0..8].copy_from_slice(&blocks);
    b[8..16].copy_from_slice(&blocks);
    b[16..24].copy_from_slice(&blocks);
    // NLBAF 0 (one format), FLBAS 0, NMIC shared.
    b[30] = 1;
    b[104..120].copy_from_slice(&nguid(&sub.config.nqn, nsid));
    // LBAF0: MS 0, LBADS, RP 0.
    b[130] = ns.config.lbads;
    b
}

/// Active Namespace ID list (CNS 2): NSIDs above `start`, ascending, at most 1024.
pub(crate) fn active_ns_list(sub: &Subsystem, start: u32) -> Vec<u8> {
    let mut b = vec![0u8; SIZE];
    let ids = sub
        .namespaces
        .keys()
        .filter(|&&id| id > start)
        .take(SIZE / 4);
    for (slot, id) in b.chunks_exact_mut(4).zip(ids) {
        slot.copy_from_slice(&id.to_le_bytes());
    }
    b
}

/// Namespace Identification Descriptor list (CNS 3): NGUID and CSI.
pub(crate) fn ns_id_descriptors(sub: &Subsystem, ns: &Namespace) -> Vec<u8> {
    let mut b = vec![0u8; SIZE];
    b[0] = 2; // NIDT NGUID
    b[1] = 16;
    b[4..20].copy_from_slice(&nguid(&sub.config.nqn, ns.config.nsid));
    b[20] = 4; // NIDT CSI
    b[21] = 1;
    b[24] = 0; // NVM command set
    b
}

/// Supported Log Pages (LID 0): LSUPP for each listed LID.
pub(crate) fn supported_log_pages(lids: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    for &lid in lids {
        let i = usize::from(lid) * 4;
        b[i] = 1;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SubsystemConfig;
    use libnvme_rs::spec::identify::IdentifyController;
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::Arc;

    fn ctrl(sub: Option<Arc<Subsystem>>) -> Controller {
        Controller {
            cntlid: 7,
            subsystem: sub,
            subnqn: String::new(),
            hostnqn: String::new(),
            hostid: [0; 16],
            kato_ms: 0,
            cc: 0,
            csts: 0,
            ready_polls_left: 0,
            aen_enabled: 0,
            aen_masked: 0,
            events: VecDeque::new(),
            admin_conn: 1,
            io_queues: BTreeMap::new(),
        }
    }

    #[test]
    fn discovery_identify_decodes() {
        let mut cfg = SimConfig::default();
        cfg.discovery.dctype = crate::config::DcType::Cdc;
        cfg.discovery.unique_nqn = Some("nqn.2024-01.io.example:dc".into());
        let id = IdentifyController::decode(&controller(&cfg, &ctrl(None))).unwrap();
        assert!(id.is_discovery_controller());
        assert_eq!(id.dctype_name(), "cdc");
        assert!(id.discovery_log_change_notices());
        assert_eq!(id.subnqn, "nqn.2024-01.io.example:dc");
        assert_eq!(
            (id.cntlid, id.mn.as_str(), id.sn.as_str()),
            (7, "nvme-sim", "nvmesim0001")
        );
    }

    #[test]
    fn io_identify_and_namespace() {
        let mut sc = SubsystemConfig::new("nqn.2024-01.io.example:sub");
        sc.inline_data_size = 0;
        let sub = Arc::new(Subsystem::new(sc));
        let id = IdentifyController::decode(&controller(
            &SimConfig::default(),
            &ctrl(Some(sub.clone())),
        ))
        .unwrap();
        assert_eq!(id.cntrltype_name(), "io");
        assert_eq!((id.nn, id.ioccsz), (1, 4));
        assert!(id.disconnect_supported());
        let ns = namespace(&sub, 1);
        assert_eq!(u64::from_le_bytes(ns[0..8].try_into().unwrap()), 16384);
        assert_eq!(ns[130], 12);
        assert!(namespace(&sub, 2).iter().all(|&b| b == 0));
        let list = active_ns_list(&sub, 0);
        assert_eq!(&list[..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(active_ns_list(&sub, 1).iter().all(|&b| b == 0));
    }
}
