//! NVMe/TCP PDU codec throughput: CapsuleCmd and C2HData (4 KiB, 128 KiB), with and
//! without digests. CRC32C dominates with digests on; without them decode should be a
//! header parse plus one copy (`decode`) or none (`decode_bytes`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use libnvme_rs::admin::{AdminCommand, opcode};
use libnvme_rs::tcp::{
    Bytes, C2HData, CapsuleCmd, Limits, Negotiated, Pdu, SglDescriptor, Sqe, decode, decode_bytes,
    encode, encode_head,
};

fn cases() -> Vec<(&'static str, Pdu)> {
    let identify = AdminCommand {
        opcode: opcode::IDENTIFY,
        cdw10: 1,
        ..AdminCommand::default()
    };
    let cmd = Pdu::CapsuleCmd(CapsuleCmd {
        sqe: Sqe::from_admin(&identify, 1, SglDescriptor::transport(4096)),
        data: Bytes::new(),
    });
    let c2h = |len: usize| {
        Pdu::C2HData(C2HData {
            cccid: 1,
            datao: 0,
            last: true,
            success: false,
            data: Bytes::from((0..len).map(|i| i as u8).collect::<Vec<u8>>()),
        })
    };
    vec![
        ("capsule_cmd", cmd),
        ("c2h_data_4k", c2h(4096)),
        ("c2h_data_128k", c2h(128 * 1024)),
    ]
}

fn codec(c: &mut Criterion) {
    let limits = Limits::new(256 * 1024);
    let settings = [
        ("plain", Negotiated::default()),
        (
            "digests",
            Negotiated {
                hdgst: true,
                ddgst: true,
                ..Negotiated::default()
            },
        ),
    ];
    for (name, pdu) in cases() {
        for (neg_name, neg) in &settings {
            let wire = encode(&pdu, neg).expect("encodes");
            let frame = Bytes::from(wire.clone());
            let mut group = c.benchmark_group(format!("{name}/{neg_name}"));
            group.throughput(Throughput::Bytes(wire.len() as u64));
            group.bench_function("encode", |b| b.iter(|| encode(black_box(&pdu), neg)));
            group.bench_function("encode_head", |b| {
                b.iter(|| encode_head(black_box(&pdu), neg))
            });
            group.bench_function("decode", |b| {
                b.iter(|| decode(black_box(&wire), neg, &limits))
            });
            group.bench_function("decode_bytes", |b| {
                b.iter(|| decode_bytes(black_box(&frame), neg, &limits))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
