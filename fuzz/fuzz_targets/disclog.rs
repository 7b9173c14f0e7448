//! Fuzzes the discovery log decoders and the `read_discovery_log` procedure.
//!
//! Input layout for the procedure: byte 0 picks the transport's maximum transfer, byte 1
//! the command after which the controller switches from image A to image B, the rest is
//! split in half into images A and B. The decoders see the whole input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use libnvme_rs::admin::discovery::{DiscoveryLogOptions, read_discovery_log};
use libnvme_rs::admin::{AdminCommand, AdminError, AdminTransport, DataPhase, block_on};
use libnvme_rs::spec::disclog::{
    DiscoveryLog, DiscoveryLogHeader, HEADER_SIZE, decode_entries, trtype,
};

struct Replay<'a> {
    images: [&'a [u8]; 2],
    switch_after: usize,
    max_transfer: usize,
    calls: usize,
}

impl AdminTransport for Replay<'_> {
    async fn submit(&mut self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, AdminError> {
        self.calls += 1;
        // A bounded procedure never needs this many commands; fail rather than spin.
        if self.calls > 100_000 {
            return Err(AdminError::Transport(std::io::Error::other(
                "too many commands",
            )));
        }
        let image = self.images[usize::from(self.calls > self.switch_after)];
        if let DataPhase::FromController(buf) = data {
            assert!(
                buf.len() <= self.max_transfer.max(4),
                "transfer above limit"
            );
            let offset = u64::from(cmd.cdw12) | (u64::from(cmd.cdw13) << 32);
            assert_eq!(offset % 4, 0, "unaligned log page offset");
            for (i, b) in buf.iter_mut().enumerate() {
                *b = usize::try_from(offset)
                    .ok()
                    .and_then(|o| o.checked_add(i))
                    .and_then(|o| image.get(o))
                    .copied()
                    .unwrap_or(0);
            }
        }
        Ok(0)
    }

    fn max_transfer(&self) -> usize {
        self.max_transfer
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = DiscoveryLogHeader::decode(data);
    let _ = decode_entries(data, (data.len() / 1024) as u64 + 1);
    if let Ok(header) = DiscoveryLogHeader::decode(data) {
        let _ = decode_entries(data.get(HEADER_SIZE..).unwrap_or(&[]), header.numrec);
    }
    if let Ok(log) = DiscoveryLog::decode(data) {
        assert_eq!(log.entries.len() as u64, log.numrec);
        check_round_trip(&log);
    }

    let (sel, rest) = data.split_at(data.len().min(2));
    let max_transfer = sel.first().map_or(4096, |&b| usize::from(b) * 32 + 4);
    let switch_after = sel.get(1).map_or(usize::MAX, |&b| usize::from(b));
    let (a, b) = rest.split_at(rest.len() / 2);
    let mut t = Replay {
        images: [a, b],
        switch_after,
        max_transfer,
        calls: 0,
    };
    let opts = DiscoveryLogOptions {
        max_records: 64,
        max_retries: 4,
        retain_aen: data.len() % 2 == 1,
        ..DiscoveryLogOptions::default()
    };
    if let Ok(log) = block_on(read_discovery_log(&mut t, &opts)) {
        assert!(log.numrec <= 64);
        assert_eq!(log.entries.len() as u64, log.numrec);
        check_round_trip(&log);
    }
});

/// A decoded log re-encodes and decodes to itself (FC addresses with several commas are
/// excluded: only the first separator is rewritten, as libnvme does).
fn check_round_trip(log: &DiscoveryLog) {
    if log
        .entries
        .iter()
        .any(|e| e.trtype == trtype::FC && e.traddr.contains(','))
    {
        return;
    }
    let bytes = log.encode().expect("decoded entries must re-encode");
    assert_eq!(DiscoveryLog::decode(&bytes).as_ref(), Ok(log));
}
