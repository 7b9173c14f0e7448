//! Get Log Page and the consistent discovery-log read (protocol reference §3.3, §3.4, §3.6;
//! compat §5.5).

use super::{AdminCommand, AdminError, AdminTransport, DataPhase, opcode};
use crate::spec::disclog::{
    DiscoveryLog, DiscoveryLogHeader, ENTRY_SIZE, HEADER_READ_LEN, HEADER_SIZE, LID_DISCOVERY,
    decode_entries,
};

/// Largest single Get Log Page transfer, whatever the transport allows (libnvme's
/// `NVME_LOG_PAGE_PDU_SIZE`).
pub const LOG_PAGE_CHUNK: usize = 4096;

/// Largest Log Specific Parameter (7 bits in NVMe 2.x).
pub const LSP_MAX: u8 = 0x7f;

/// Builds the Get Log Page submission for one transfer of `len` bytes (a non-zero multiple
/// of 4) at byte `offset`.
pub fn get_log_page_command(lid: u8, lsp: u8, offset: u64, len: usize, rae: bool) -> AdminCommand {
    // NUMD is a 0's based dword count split over CDW10 (NUMDL) and CDW11 (NUMDU).
    let numd = u32::try_from(len / 4).unwrap_or(u32::MAX).saturating_sub(1);
    AdminCommand {
        opcode: opcode::GET_LOG_PAGE,
        cdw10: u32::from(lid)
            | (u32::from(lsp & LSP_MAX) << 8)
            | (u32::from(rae) << 15)
            | ((numd & 0xffff) << 16),
        cdw11: numd >> 16,
        // LPOL / LPOU: the byte offset split into dwords (truncation intended).
        cdw12: offset as u32,
        cdw13: (offset >> 32) as u32,
        ..AdminCommand::default()
    }
}

fn invalid(msg: String) -> AdminError {
    AdminError::InvalidData(msg)
}

fn bad_request(msg: String) -> AdminError {
    AdminError::InvalidArgument(msg)
}

/// NSID meaning "the controller and all its namespaces" (controller-scoped logs like SMART).
pub const NSID_ALL: u32 = 0xffff_ffff;

/// Reads `buf.len()` bytes of log page `lid` starting at byte `offset`.
///
/// The read is split into commands of `min(t.max_transfer(), 4096)` bytes (rounded down to
/// whole dwords). Every command but the last sets RAE, so a pending asynchronous event is
/// only cleared (when `rae` is false) once the whole range has been read. `offset` and the
/// length must be dword multiples; the length must be non-zero.
pub async fn get_log_page<T: AdminTransport>(
    t: &mut T,
    lid: u8,
    lsp: u8,
    offset: u64,
    buf: &mut [u8],
    rae: bool,
) -> Result<(), AdminError> {
    // Discovery logs are controller-scoped and read with NSID 0, as libnvme does.
    get_log_page_nsid(t, 0, lid, lsp, offset, buf, rae).await
}

/// [`get_log_page`] for a given NSID (e.g. [`NSID_ALL`] for the SMART log).
pub async fn get_log_page_nsid<T: AdminTransport>(
    t: &mut T,
    nsid: u32,
    lid: u8,
    lsp: u8,
    offset: u64,
    buf: &mut [u8],
    rae: bool,
) -> Result<(), AdminError> {
    if lsp > LSP_MAX {
        return Err(bad_request(format!(
            "log page {lid:#04x}: LSP {lsp:#x} does not fit in 7 bits"
        )));
    }
    if !offset.is_multiple_of(4) {
        return Err(bad_request(format!(
            "log page {lid:#04x}: offset {offset} is not dword aligned"
        )));
    }
    if buf.is_empty() || !buf.len().is_multiple_of(4) {
        return Err(bad_request(format!(
            "log page {lid:#04x}: length {} is not a non-zero multiple of 4",
            buf.len()
        )));
    }
    if u64::try_from(buf.len())
        .ok()
        .and_then(|len| offset.checked_add(len))
        .is_none()
    {
        return Err(bad_request(format!(
            "log page {lid:#04x}: offset {offset} + length {} overflows",
            buf.len()
        )));
    }
    let chunk = t.max_transfer().min(LOG_PAGE_CHUNK) & !3;
    if chunk == 0 {
        return Err(bad_request(format!(
            "transport maximum transfer {} is below one dword",
            t.max_transfer()
        )));
    }
    let total = buf.len();
    let mut done = 0usize;
    for piece in buf.chunks_mut(chunk) {
        let len = piece.len();
        // Cannot overflow: offset + total was checked above.
        let chunk_offset = offset + done as u64;
        let last = done + len == total;
        let cmd = AdminCommand {
            nsid,
            ..get_log_page_command(lid, lsp, chunk_offset, len, if last { rae } else { true })
        };
        t.submit(&cmd, DataPhase::FromController(piece)).await?;
        done += len;
    }
    Ok(())
}

/// Options of [`read_discovery_log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryLogOptions {
    /// Log Specific Parameter (see [`crate::spec::disclog::lsp`]); sent on every read.
    pub lsp: u8,
    /// Reads of the entries before giving up on a changing generation counter.
    pub max_retries: u32,
    /// Sanity bound on NUMREC, checked before allocating.
    pub max_records: u64,
    /// Keep the Discovery Log Page Change event pending (RAE=1 on the final read too).
    pub retain_aen: bool,
}

impl Default for DiscoveryLogOptions {
    fn default() -> Self {
        Self {
            lsp: 0,
            max_retries: 10,
            max_records: 16384,
            retain_aen: false,
        }
    }
}

async fn read_header<T: AdminTransport>(
    t: &mut T,
    lsp: u8,
    rae: bool,
) -> Result<DiscoveryLogHeader, AdminError> {
    let mut buf = [0u8; HEADER_READ_LEN];
    get_log_page(t, LID_DISCOVERY, lsp, 0, &mut buf, rae).await?;
    DiscoveryLogHeader::decode(&buf).map_err(|e| invalid(e.to_string()))
}

/// Reads a consistent discovery log (libnvme `nvme_discovery_log` procedure).
///
/// Header (20 bytes, RAE=1) → NUMREC × 1024 bytes at offset 1024 (RAE=1) → header again
/// with RAE = `retain_aen`. That last read is always the final command: with RAE=0 it is
/// what clears and re-arms nvmet's Discovery Log Page Change notice, so it is sent even when
/// NUMREC is 0. A changed GENCTR restarts with the new NUMREC.
pub async fn read_discovery_log<T: AdminTransport>(
    t: &mut T,
    opts: &DiscoveryLogOptions,
) -> Result<DiscoveryLog, AdminError> {
    let max_attempts = opts.max_retries.max(1);
    let mut header = read_header(t, opts.lsp, true).await?;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if header.numrec > opts.max_records {
            return Err(invalid(format!(
                "discovery log numrec {} exceeds the limit of {} records",
                header.numrec, opts.max_records
            )));
        }
        let len = usize::try_from(header.numrec)
            .ok()
            .and_then(|n| n.checked_mul(ENTRY_SIZE))
            .ok_or_else(|| invalid(format!("discovery log numrec {} too large", header.numrec)))?;
        let mut entries = vec![0u8; len];
        if len > 0 {
            get_log_page(
                t,
                LID_DISCOVERY,
                opts.lsp,
                HEADER_SIZE as u64,
                &mut entries,
                true,
            )
            .await?;
        }
        let after = read_header(t, opts.lsp, opts.retain_aen).await?;
        if after.genctr != header.genctr {
            if attempt >= max_attempts {
                return Err(AdminError::GenerationUnstable(attempt));
            }
            header = after;
            continue;
        }
        if after.numrec != header.numrec {
            return Err(AdminError::NumrecChanged {
                before: header.numrec,
                after: after.numrec,
            });
        }
        let entries =
            decode_entries(&entries, header.numrec).map_err(|e| invalid(e.to_string()))?;
        return Ok(DiscoveryLog {
            genctr: after.genctr,
            numrec: after.numrec,
            recfmt: after.recfmt,
            entries,
        });
    }
}

/// A scripted in-memory controller for unit tests of the admin procedures.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use crate::spec::status::NvmeStatus;
    use std::collections::HashMap;

    /// Callback run after every command with the count so far; may rewrite the log images.
    pub(crate) type Hook = Box<dyn FnMut(usize, &mut HashMap<u8, Vec<u8>>) + Send>;

    /// Serves log pages and Identify from byte images and records every command.
    pub(crate) struct FakeTransport {
        pub logs: HashMap<u8, Vec<u8>>,
        pub identify: Vec<u8>,
        pub commands: Vec<AdminCommand>,
        /// Host-to-controller payloads, in order.
        pub sent: Vec<Vec<u8>>,
        pub max_transfer: usize,
        /// Fail every command with this status.
        pub status: Option<NvmeStatus>,
        /// After the given number of completed commands, replace the image of a log page.
        pub changes: Vec<(usize, u8, Vec<u8>)>,
        pub hook: Option<Hook>,
        pub dw0: u32,
    }

    impl FakeTransport {
        pub(crate) fn with_log(lid: u8, image: Vec<u8>) -> Self {
            let mut logs = HashMap::new();
            logs.insert(lid, image);
            Self {
                logs,
                identify: vec![0; 4096],
                commands: Vec::new(),
                sent: Vec::new(),
                max_transfer: 4096,
                status: None,
                changes: Vec::new(),
                hook: None,
                dw0: 0,
            }
        }

        /// RAE bit of each recorded Get Log Page.
        pub(crate) fn rae_bits(&self) -> Vec<bool> {
            self.commands
                .iter()
                .map(|c| c.cdw10 & (1 << 15) != 0)
                .collect()
        }

        /// (offset, length) of each recorded Get Log Page.
        pub(crate) fn ranges(&self) -> Vec<(u64, usize)> {
            self.commands
                .iter()
                .map(|c| {
                    let numd = (c.cdw10 >> 16) | ((c.cdw11 & 0xffff) << 16);
                    let off = u64::from(c.cdw12) | (u64::from(c.cdw13) << 32);
                    (off, (numd as usize + 1) * 4)
                })
                .collect()
        }
    }

    impl AdminTransport for FakeTransport {
        async fn submit(
            &mut self,
            cmd: &AdminCommand,
            data: DataPhase<'_>,
        ) -> Result<u32, AdminError> {
            self.commands.push(*cmd);
            if let Some(s) = self.status {
                return Err(AdminError::Status(s));
            }
            match (cmd.opcode, data) {
                (opcode::GET_LOG_PAGE, DataPhase::FromController(buf)) => {
                    let numd = (cmd.cdw10 >> 16) | ((cmd.cdw11 & 0xffff) << 16);
                    let len = (numd as usize + 1) * 4;
                    assert_eq!(len, buf.len(), "NUMD disagrees with the buffer");
                    assert!(len <= self.max_transfer, "transfer above max_transfer");
                    let off = u64::from(cmd.cdw12) | (u64::from(cmd.cdw13) << 32);
                    assert_eq!(off % 4, 0, "unaligned offset sent");
                    let lid = (cmd.cdw10 & 0xff) as u8;
                    let image = self.logs.get(&lid).cloned().unwrap_or_default();
                    for (i, b) in buf.iter_mut().enumerate() {
                        *b = usize::try_from(off)
                            .ok()
                            .and_then(|o| image.get(o + i))
                            .copied()
                            .unwrap_or(0);
                    }
                }
                (opcode::IDENTIFY, DataPhase::FromController(buf)) => {
                    let n = buf.len().min(self.identify.len());
                    buf[..n].copy_from_slice(&self.identify[..n]);
                }
                (_, DataPhase::ToController(buf)) => self.sent.push(buf.to_vec()),
                _ => {}
            }
            let done = self.commands.len();
            for (after, lid, image) in &self.changes {
                if *after == done {
                    self.logs.insert(*lid, image.clone());
                }
            }
            if let Some(hook) = self.hook.as_mut() {
                hook(done, &mut self.logs);
            }
            Ok(self.dw0)
        }

        fn max_transfer(&self) -> usize {
            self.max_transfer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeTransport;
    use super::*;

    // The procedures are async; these tests drive them to completion synchronously.
    fn get_log_page(
        t: &mut FakeTransport,
        lid: u8,
        lsp: u8,
        offset: u64,
        buf: &mut [u8],
        rae: bool,
    ) -> Result<(), AdminError> {
        crate::admin::block_on(super::get_log_page(t, lid, lsp, offset, buf, rae))
    }

    fn read_discovery_log(
        t: &mut FakeTransport,
        opts: &DiscoveryLogOptions,
    ) -> Result<DiscoveryLog, AdminError> {
        crate::admin::block_on(super::read_discovery_log(t, opts))
    }
    use crate::spec::disclog::{DiscoveryLogEntry, adrfam, subtype, trtype};
    use crate::spec::status::NvmeStatus;

    fn entry(i: usize) -> DiscoveryLogEntry {
        DiscoveryLogEntry {
            trtype: trtype::TCP,
            adrfam: adrfam::IPV4,
            subtype: subtype::NVME,
            portid: 1,
            cntlid: 0xffff,
            asqsz: 32,
            trsvcid: "4420".into(),
            subnqn: format!("nqn.2014-08.org.example:sub{i}"),
            traddr: format!("10.0.{}.{}", i / 256, i % 256),
            ..DiscoveryLogEntry::default()
        }
    }

    fn image(genctr: u64, n: usize) -> Vec<u8> {
        DiscoveryLog {
            genctr,
            numrec: n as u64,
            recfmt: 0,
            entries: (0..n).map(entry).collect(),
        }
        .encode()
        .unwrap()
    }

    fn dc(genctr: u64, n: usize) -> FakeTransport {
        FakeTransport::with_log(LID_DISCOVERY, image(genctr, n))
    }

    #[test]
    fn worked_example_cdw10() {
        let mut t = dc(1, 3);
        let mut buf = vec![0u8; 4096];
        get_log_page(&mut t, LID_DISCOVERY, 0, 0, &mut buf, true).unwrap();
        let c = t.commands[0];
        assert_eq!(c.opcode, 0x02);
        assert_eq!(c.cdw10, 0x03FF_8070);
        assert_eq!((c.cdw11, c.cdw12, c.cdw13), (0, 0, 0));

        let mut hdr = [0u8; 20];
        get_log_page(&mut t, LID_DISCOVERY, 0, 0, &mut hdr, false).unwrap();
        assert_eq!(t.commands[1].cdw10, 0x0004_0070);
        assert_eq!(DiscoveryLogHeader::decode(&hdr).unwrap().numrec, 3);
    }

    #[test]
    fn command_builder_fields() {
        let c = get_log_page_command(0x70, 0x02, 0x1_0000_1000, 8, false);
        assert_eq!(c.cdw10, 0x0001_0270);
        assert_eq!((c.cdw12, c.cdw13), (0x1000, 1));
        // NUMD above 16 bits spills into NUMDU.
        let c = get_log_page_command(0x70, 0, 0, 0x40000 * 4, true);
        assert_eq!(c.cdw10 >> 16, 0xffff);
        assert_eq!(c.cdw11, 0x3);
    }

    #[test]
    fn chunks_carry_rae_until_the_last() {
        let mut t = dc(1, 10);
        let mut buf = vec![0u8; 10 * 1024];
        get_log_page(&mut t, LID_DISCOVERY, 0, 1024, &mut buf, false).unwrap();
        assert_eq!(t.ranges(), vec![(1024, 4096), (5120, 4096), (9216, 2048)]);
        assert_eq!(t.rae_bits(), vec![true, true, false]);
        assert_eq!(&buf[..], &image(1, 10)[1024..]);
    }

    #[test]
    fn chunk_respects_small_max_transfer() {
        let mut t = dc(1, 1);
        t.max_transfer = 1002; // rounded down to 1000
        let mut buf = vec![0u8; 2048];
        get_log_page(&mut t, LID_DISCOVERY, 0, 0, &mut buf, true).unwrap();
        assert_eq!(t.ranges(), vec![(0, 1000), (1000, 1000), (2000, 48)]);
        assert_eq!(&buf[..], &image(1, 1)[..2048]);
        assert_eq!(t.rae_bits(), vec![true, true, true]);
    }

    #[test]
    fn argument_checks_send_nothing() {
        let mut t = dc(1, 1);
        let mut buf = vec![0u8; 8];
        assert!(get_log_page(&mut t, 0x70, 0, 2, &mut buf, true).is_err());
        assert!(get_log_page(&mut t, 0x70, 0x80, 0, &mut buf, true).is_err());
        assert!(get_log_page(&mut t, 0x70, 0, 0, &mut buf[..6], true).is_err());
        assert!(get_log_page(&mut t, 0x70, 0, 0, &mut [], true).is_err());
        assert!(get_log_page(&mut t, 0x70, 0, u64::MAX - 3, &mut buf, true).is_err());
        t.max_transfer = 3;
        assert!(get_log_page(&mut t, 0x70, 0, 0, &mut buf, true).is_err());
        assert!(t.commands.is_empty());
    }

    #[test]
    fn reads_120_entries_in_4k_chunks() {
        let mut t = dc(7, 120);
        let log = read_discovery_log(&mut t, &DiscoveryLogOptions::default()).unwrap();
        assert_eq!((log.genctr, log.numrec, log.entries.len()), (7, 120, 120));
        assert_eq!(log.entries[119], entry(119));
        let ranges = t.ranges();
        // header, 30 chunks of 4 entries, header
        assert_eq!(ranges.len(), 32);
        assert_eq!(ranges[0], (0, 20));
        for (k, r) in ranges[1..31].iter().enumerate() {
            assert_eq!(*r, (1024 + 4096 * k as u64, 4096));
        }
        assert_eq!(ranges[31], (0, 20));
        let rae = t.rae_bits();
        assert!(rae[..31].iter().all(|&r| r));
        assert!(!rae[31], "the final header read must clear the AEN");
        assert_eq!(t.commands[1].cdw10, 0x03FF_8070);
        assert_eq!(t.commands[31].cdw10, 0x0004_0070);
    }

    #[test]
    fn retain_aen_keeps_rae_everywhere() {
        let mut t = dc(7, 5);
        let opts = DiscoveryLogOptions {
            retain_aen: true,
            ..Default::default()
        };
        read_discovery_log(&mut t, &opts).unwrap();
        assert!(t.rae_bits().iter().all(|&r| r));
    }

    #[test]
    fn empty_log_ends_with_rae_zero_header() {
        let mut t = dc(3, 0);
        let log = read_discovery_log(&mut t, &DiscoveryLogOptions::default()).unwrap();
        assert_eq!((log.genctr, log.numrec), (3, 0));
        assert!(log.entries.is_empty());
        assert_eq!(t.ranges(), vec![(0, 20), (0, 20)]);
        assert_eq!(t.rae_bits(), vec![true, false]);
    }

    #[test]
    fn lsp_sent_on_every_read() {
        let mut t = dc(1, 2);
        let opts = DiscoveryLogOptions {
            lsp: crate::spec::disclog::lsp::PLEO,
            ..Default::default()
        };
        read_discovery_log(&mut t, &opts).unwrap();
        assert!(t.commands.iter().all(|c| (c.cdw10 >> 8) & 0x7f == 2));
    }

    #[test]
    fn genctr_change_retries_with_new_numrec() {
        let mut t = dc(1, 2);
        // The log grows to 5 entries while the first entries are read.
        t.changes.push((2, LID_DISCOVERY, image(2, 5)));
        let log = read_discovery_log(&mut t, &DiscoveryLogOptions::default()).unwrap();
        assert_eq!((log.genctr, log.numrec, log.entries.len()), (2, 5, 5));
        assert_eq!(
            t.ranges(),
            vec![
                (0, 20),
                (1024, 2048),
                (0, 20),
                (1024, 4096),
                (5120, 1024),
                (0, 20)
            ]
        );
        assert_eq!(t.rae_bits().last(), Some(&false));
    }

    #[test]
    fn genctr_shrinking_to_zero_is_fine() {
        let mut t = dc(1, 2);
        t.changes.push((2, LID_DISCOVERY, image(2, 0)));
        let log = read_discovery_log(&mut t, &DiscoveryLogOptions::default()).unwrap();
        assert_eq!((log.genctr, log.numrec), (2, 0));
        assert_eq!(t.ranges(), vec![(0, 20), (1024, 2048), (0, 20), (0, 20)]);
    }

    #[test]
    fn unstable_generation_gives_up() {
        let mut t = dc(1, 1);
        let mut generation = 1u64;
        t.hook = Some(Box::new(move |_, logs| {
            generation += 1;
            logs.insert(LID_DISCOVERY, image(generation, 1));
        }));
        let opts = DiscoveryLogOptions {
            max_retries: 3,
            ..Default::default()
        };
        match read_discovery_log(&mut t, &opts) {
            Err(AdminError::GenerationUnstable(3)) => {}
            other => panic!("{other:?}"),
        }
        // header + 3 × (entries + header)
        assert_eq!(t.commands.len(), 7);
    }

    #[test]
    fn numrec_change_without_genctr_is_an_error() {
        let mut t = dc(4, 2);
        let mut same_gen = image(4, 2);
        same_gen[8..16].copy_from_slice(&3u64.to_le_bytes());
        t.changes.push((2, LID_DISCOVERY, same_gen));
        match read_discovery_log(&mut t, &DiscoveryLogOptions::default()) {
            Err(AdminError::NumrecChanged {
                before: 2,
                after: 3,
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numrec_bound_checked_before_reading() {
        let mut img = image(1, 0);
        img[8..16].copy_from_slice(&16385u64.to_le_bytes());
        let mut t = FakeTransport::with_log(LID_DISCOVERY, img);
        match read_discovery_log(&mut t, &DiscoveryLogOptions::default()) {
            Err(AdminError::InvalidData(msg)) => assert!(msg.contains("16385"), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.commands.len(), 1);

        let mut img = image(1, 0);
        img[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        let mut t = FakeTransport::with_log(LID_DISCOVERY, img);
        assert!(matches!(
            read_discovery_log(&mut t, &DiscoveryLogOptions::default()),
            Err(AdminError::InvalidData(_))
        ));

        let mut t = dc(1, 3);
        let opts = DiscoveryLogOptions {
            max_records: 2,
            ..Default::default()
        };
        assert!(matches!(
            read_discovery_log(&mut t, &opts),
            Err(AdminError::InvalidData(_))
        ));
    }

    #[test]
    fn malformed_entry_is_invalid_data() {
        let mut img = image(1, 3);
        // entry 1, traddr byte 3 := 0xff
        img[HEADER_SIZE + ENTRY_SIZE + 512 + 3] = 0xff;
        let mut t = FakeTransport::with_log(LID_DISCOVERY, img);
        match read_discovery_log(&mut t, &DiscoveryLogOptions::default()) {
            Err(AdminError::InvalidData(msg)) => {
                assert!(msg.contains("entry 1") && msg.contains("traddr"), "{msg}")
            }
            other => panic!("{other:?}"),
        }
        // The log was still read completely, so the AEN was re-armed.
        assert_eq!(t.rae_bits().last(), Some(&false));
    }

    #[test]
    fn controller_status_propagates() {
        let mut t = dc(1, 1);
        t.status = Some(NvmeStatus::from_passthru(0x4002));
        assert!(matches!(
            read_discovery_log(&mut t, &DiscoveryLogOptions::default()),
            Err(AdminError::Status(s)) if s.sc == 2
        ));
        assert_eq!(t.commands.len(), 1);
    }
}
