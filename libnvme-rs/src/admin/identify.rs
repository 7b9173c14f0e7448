//! Identify Controller and Supported Log Pages (protocol reference §3.2; compat §5.5-6).

use super::discovery::get_log_page;
use super::{AdminCommand, AdminError, AdminTransport, DataPhase, opcode};
use crate::spec::identify::{IDENTIFY_SIZE, IdentifyController, cns};
use crate::spec::namespace::IdentifyNamespace;

/// Log Identifier of the Supported Log Pages log.
pub const LID_SUPPORTED_LOG_PAGES: u8 = 0x00;
/// Size of the Supported Log Pages log (256 × le32).
pub const SUPPORTED_LOG_PAGES_SIZE: usize = 1024;

/// Sends Identify (CNS 1) and decodes the controller data structure.
pub async fn identify_controller<T: AdminTransport>(
    t: &mut T,
) -> Result<IdentifyController, AdminError> {
    let mut buf = vec![0u8; IDENTIFY_SIZE];
    let cmd = AdminCommand {
        opcode: opcode::IDENTIFY,
        // CNS in bits 7:0; CNTID (31:16) stays 0.
        cdw10: u32::from(cns::CONTROLLER),
        ..AdminCommand::default()
    };
    t.submit(&cmd, DataPhase::FromController(&mut buf)).await?;
    IdentifyController::decode(&buf).map_err(|e| AdminError::InvalidData(e.to_string()))
}

/// Pages of the active namespace list read at most (1024 NSIDs each).
const MAX_NS_LIST_PAGES: usize = 64;

/// Identify Namespace (CNS 0) for `nsid`; an inactive NSID decodes to all zeros.
pub async fn identify_namespace<T: AdminTransport>(
    t: &mut T,
    nsid: u32,
) -> Result<IdentifyNamespace, AdminError> {
    let mut buf = vec![0u8; IDENTIFY_SIZE];
    let cmd = AdminCommand {
        opcode: opcode::IDENTIFY,
        nsid,
        cdw10: u32::from(cns::NAMESPACE),
        ..AdminCommand::default()
    };
    t.submit(&cmd, DataPhase::FromController(&mut buf)).await?;
    IdentifyNamespace::decode(&buf).map_err(|e| AdminError::InvalidData(e.to_string()))
}

/// Active NSIDs in ascending order (CNS 2, paged by the last NSID returned); a list that is
/// not ascending is invalid data.
pub async fn active_namespaces<T: AdminTransport>(t: &mut T) -> Result<Vec<u32>, AdminError> {
    let mut out = Vec::new();
    let mut start = 0u32;
    for _ in 0..MAX_NS_LIST_PAGES {
        let mut buf = vec![0u8; IDENTIFY_SIZE];
        let cmd = AdminCommand {
            opcode: opcode::IDENTIFY,
            nsid: start,
            cdw10: u32::from(cns::ACTIVE_NAMESPACES),
            ..AdminCommand::default()
        };
        t.submit(&cmd, DataPhase::FromController(&mut buf)).await?;
        let page: Vec<u32> = buf
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .take_while(|&n| n != 0)
            .collect();
        let full = page.len() == IDENTIFY_SIZE / 4;
        if let Some(&bad) = page.iter().find(|&&n| n <= start) {
            return Err(AdminError::InvalidData(format!(
                "active namespace list not ascending after {start}: {bad}"
            )));
        }
        start = page.last().copied().unwrap_or(start);
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
    Ok(out)
}

/// The Supported Log Pages log (LID 0x00): one LID Supported and Effects dword per LID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedLogPages {
    lids: [u32; 256],
}

impl SupportedLogPages {
    /// Decodes the 1024-byte log; `None` if `buf` is shorter.
    pub fn decode(buf: &[u8]) -> Option<Self> {
        let buf = buf.get(..SUPPORTED_LOG_PAGES_SIZE)?;
        let mut lids = [0u32; 256];
        for (dst, src) in lids.iter_mut().zip(buf.chunks_exact(4)) {
            *dst = u32::from_le_bytes([src[0], src[1], src[2], src[3]]);
        }
        Some(Self { lids })
    }

    /// Builds the log from raw dwords (tests, simulators).
    pub fn from_dwords(lids: [u32; 256]) -> Self {
        Self { lids }
    }

    /// The whole dword for `lid`.
    pub fn raw(&self, lid: u8) -> u32 {
        self.lids[usize::from(lid)]
    }

    /// LSUPP (bit 0): the log page is supported.
    pub fn lid_supported(&self, lid: u8) -> bool {
        self.raw(lid) & 1 != 0
    }

    /// IOS (bit 1): index offset supported.
    pub fn index_offset_supported(&self, lid: u8) -> bool {
        self.raw(lid) & 2 != 0
    }

    /// LID Specific Parameter support (bits 31:16); for LID 0x70 these mirror the LSP bits
    /// (bit 0 EXTDLPES, bit 1 PLEOS, bit 2 ALLSUBES).
    pub fn lid_specific(&self, lid: u8) -> u16 {
        (self.raw(lid) >> 16) as u16
    }
}

/// Reads the Supported Log Pages log (RAE=1: it must not clear any pending event).
pub async fn supported_log_pages<T: AdminTransport>(
    t: &mut T,
) -> Result<SupportedLogPages, AdminError> {
    let mut buf = vec![0u8; SUPPORTED_LOG_PAGES_SIZE];
    get_log_page(t, LID_SUPPORTED_LOG_PAGES, 0, 0, &mut buf, true).await?;
    SupportedLogPages::decode(&buf)
        .ok_or_else(|| AdminError::InvalidData("supported log pages too short".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identify_controller(t: &mut FakeTransport) -> Result<IdentifyController, AdminError> {
        crate::admin::block_on(super::identify_controller(t))
    }

    fn supported_log_pages(t: &mut FakeTransport) -> Result<SupportedLogPages, AdminError> {
        crate::admin::block_on(super::supported_log_pages(t))
    }
    use crate::admin::discovery::fake::FakeTransport;
    use crate::spec::disclog::LID_DISCOVERY;
    use crate::spec::status::NvmeStatus;

    #[test]
    fn identify_command_and_decode() {
        let mut t = FakeTransport::with_log(0, vec![]);
        t.identify[111] = 2;
        t.identify[1806] = 2;
        t.identify[24..29].copy_from_slice(b"Linux");
        let id = identify_controller(&mut t).unwrap();
        assert_eq!(t.commands.len(), 1);
        let c = t.commands[0];
        assert_eq!((c.opcode, c.nsid, c.cdw10, c.cdw11), (0x06, 0, 1, 0));
        assert!(id.is_discovery_controller() && id.supports_dim());
        assert_eq!(id.mn, "Linux");
    }

    #[test]
    fn identify_bad_data_is_invalid() {
        let mut t = FakeTransport::with_log(0, vec![]);
        t.identify[4] = 0xff;
        assert!(matches!(
            identify_controller(&mut t),
            Err(AdminError::InvalidData(m)) if m.contains("sn")
        ));
    }

    #[test]
    fn identify_status_propagates() {
        let mut t = FakeTransport::with_log(0, vec![]);
        t.status = Some(NvmeStatus::from_passthru(0x0002));
        assert!(matches!(
            identify_controller(&mut t),
            Err(AdminError::Status(_))
        ));
    }

    #[test]
    fn supported_log_pages_reads_lid0() {
        let mut img = vec![0u8; SUPPORTED_LOG_PAGES_SIZE];
        let lid70 = usize::from(LID_DISCOVERY) * 4;
        img[lid70..lid70 + 4].copy_from_slice(&0x0007_0001u32.to_le_bytes());
        img[0..4].copy_from_slice(&1u32.to_le_bytes());
        let mut t = FakeTransport::with_log(LID_SUPPORTED_LOG_PAGES, img);
        let slp = supported_log_pages(&mut t).unwrap();
        assert_eq!(t.commands.len(), 1);
        // LID 0, RAE=1, NUMD = 255
        assert_eq!(t.commands[0].cdw10, 0x00FF_8000);
        assert!(slp.lid_supported(0x70) && slp.lid_supported(0));
        assert!(!slp.lid_supported(0x71));
        assert_eq!(slp.lid_specific(0x70), 7);
        assert!(!slp.index_offset_supported(0x70));
        assert_eq!(slp.raw(0x70), 0x0007_0001);
    }

    #[test]
    fn supported_log_pages_decode_bounds() {
        assert!(SupportedLogPages::decode(&[0u8; 1023]).is_none());
        let mut d = [0u32; 256];
        d[255] = 0xffff_0003;
        let s = SupportedLogPages::from_dwords(d);
        assert!(s.index_offset_supported(255));
        assert_eq!(s.lid_specific(255), 0xffff);
    }
}
