//! Fuzzes the NVMe/TCP PDU codec: framing and strict decoding of arbitrary bytes under a
//! few negotiated settings, then re-encoding whatever decodes.
//!
//! Input layout: byte 0 selects an extra negotiated setting (digest bits, CPDA, HPDA), the
//! rest is the received stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use libnvme_rs::tcp::{
    Bytes, Limits, Negotiated, Pdu, PduType, decode, decode_bytes, encode, encode_head, peek_header,
};

const LIMITS: Limits = Limits::new(64 * 1024);

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else {
        return;
    };
    let settings = [
        Negotiated::default(),
        Negotiated {
            hdgst: true,
            ddgst: true,
            cpda: 0,
            hpda: 0,
        },
        Negotiated {
            hdgst: true,
            ddgst: false,
            cpda: 31,
            hpda: 1,
        },
        Negotiated {
            hdgst: sel & 1 != 0,
            ddgst: sel & 2 != 0,
            cpda: (sel >> 2) & 0x7,
            hpda: sel >> 5,
        },
    ];
    for neg in &settings {
        check(stream, neg);
    }
    // A stream of several PDUs: keep framing while each one decodes.
    let mut rest = stream;
    while let Ok(Some(info)) = peek_header(rest, &LIMITS) {
        let Some(next) = rest.get(info.frame_len()..) else {
            break;
        };
        if decode(rest, &settings[0], &LIMITS).is_err() {
            break;
        }
        rest = next;
    }
});

fn check(bytes: &[u8], neg: &Negotiated) {
    let info = match peek_header(bytes, &LIMITS) {
        Ok(Some(info)) => info,
        Ok(None) => {
            assert!(bytes.len() < 8);
            assert!(decode(bytes, neg, &LIMITS).is_err());
            return;
        }
        Err(e) => {
            assert_eq!(decode(bytes, neg, &LIMITS).as_ref(), Err(&e));
            let _ = (e.fes(), e.fei(), e.is_fatal(), e.term_req(bytes));
            return;
        }
    };
    assert!(info.plen <= LIMITS.max_plen);
    assert_eq!(info.hlen, info.pdu_type.hlen());

    let copied = decode(bytes, neg, &LIMITS);
    let shared = bytes
        .get(..info.frame_len())
        .map(|frame| decode_bytes(&Bytes::copy_from_slice(frame), neg, &LIMITS));
    if let Some(shared) = &shared {
        assert_eq!(&copied, shared);
    }
    let pdu = match copied {
        Ok(pdu) => pdu,
        Err(e) => {
            let _ = e.term_req(bytes.get(..usize::from(info.hlen)).unwrap_or(bytes));
            return;
        }
    };
    assert_eq!(pdu.pdu_type(), info.pdu_type);
    let max_data = match info.pdu_type {
        PduType::H2CTermReq | PduType::C2HTermReq => 128,
        _ => LIMITS.max_data as usize,
    };
    assert!(pdu.data().len() <= max_data);

    // Whatever decodes re-encodes, and the canonical encoding decodes to the same value.
    // It may pad more than the sender did (PDO is rounded up), hence the looser limit.
    let again = encode(&pdu, neg).expect("a decoded PDU re-encodes");
    let head = encode_head(&pdu, neg).expect("a decoded PDU re-encodes");
    assert_eq!(head.plen() as usize, again.len());
    assert!(again.len() <= info.frame_len() + 256);
    let relaxed = Limits {
        max_plen: LIMITS.max_plen + 256,
        ..LIMITS
    };
    let redecoded: Pdu = decode(&again, neg, &relaxed).expect("canonical encoding decodes");
    assert_eq!(redecoded, pdu);
    assert_eq!(encode(&redecoded, neg).ok(), Some(again));
}
