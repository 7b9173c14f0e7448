//! Discovery log page of 10,000 entries (DESIGN.md target: decode ≤ 5 ms): the pure decode
//! of a whole page image, and the full read procedure (4 KiB Get Log Page chunks, header
//! re-read) over an in-memory transport.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use libnvme_rs::admin::discovery::{DiscoveryLogOptions, read_discovery_log};
use libnvme_rs::admin::{AdminCommand, AdminError, AdminTransport, DataPhase, block_on};
use libnvme_rs::spec::disclog::{DiscoveryLog, DiscoveryLogEntry};

const ENTRIES: usize = 10_000;

fn page() -> Vec<u8> {
    let entries = (0..ENTRIES)
        .map(|i| DiscoveryLogEntry {
            trtype: 3,
            adrfam: 1,
            subtype: 2,
            portid: (i % 16) as u16,
            cntlid: 0xffff,
            asqsz: 32,
            trsvcid: "4420".into(),
            subnqn: format!("nqn.2014-08.com.example:array-{i:05}"),
            traddr: format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
            ..DiscoveryLogEntry::default()
        })
        .collect();
    DiscoveryLog {
        genctr: 7,
        numrec: ENTRIES as u64,
        recfmt: 0,
        entries,
    }
    .encode()
    .expect("valid log")
}

/// Serves Get Log Page from a fixed image, as a controller would.
struct Image<'a>(&'a [u8]);

impl AdminTransport for Image<'_> {
    async fn submit(&mut self, cmd: &AdminCommand, data: DataPhase<'_>) -> Result<u32, AdminError> {
        if let DataPhase::FromController(buf) = data {
            let off = (u64::from(cmd.cdw12) | (u64::from(cmd.cdw13) << 32)) as usize;
            let src = self.0.get(off..off + buf.len()).unwrap_or(&[]);
            buf[..src.len()].copy_from_slice(src);
            buf[src.len()..].fill(0);
        }
        Ok(0)
    }
}

fn disclog(c: &mut Criterion) {
    let image = page();
    let mut g = c.benchmark_group("discovery_log_10k");
    g.throughput(Throughput::Elements(ENTRIES as u64));
    g.bench_function("decode", |b| {
        b.iter(|| DiscoveryLog::decode(black_box(&image)).expect("decodes"))
    });
    let opts = DiscoveryLogOptions::default();
    g.bench_function("read_procedure", |b| {
        b.iter(|| {
            block_on(read_discovery_log(&mut Image(black_box(&image)), &opts)).expect("reads")
        })
    });
    g.finish();
}

criterion_group!(benches, disclog);
criterion_main!(benches);
