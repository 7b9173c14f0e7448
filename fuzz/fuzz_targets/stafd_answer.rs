//! Fuzzes stacd's reader of stafd's `get_all_log_pages(true)` answer
//! (`staslib::dlpe::answer`): no input may panic, and wherever the text is JSON the reader
//! must agree with a reading of the whole JSON tree (what the reader replaced): same
//! elements, same host side, same entries, or an error from both.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use staslib::dlpe::answer::{ReportingDc, parse_all_log_pages};
use staslib::dlpe::{DlpeDict, from_pairs};

/// The reading of the JSON tree.
fn tree(text: &str) -> Option<Vec<(ReportingDc, Vec<DlpeDict>)>> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.as_array()?
        .iter()
        .map(|item| {
            let dc = item.get("discovery-controller")?.as_object()?;
            let s = |k: &str| dc.get(k).and_then(Value::as_str);
            let reporting = ReportingDc {
                host_traddr: s("host-traddr").unwrap_or("").to_owned(),
                host_iface: s("host-iface").unwrap_or("").to_owned(),
                host_nqn: s("host-nqn").or_else(|| s("hostnqn")).unwrap_or("").to_owned(),
            };
            let pages = item
                .get("log-pages")?
                .as_array()?
                .iter()
                .map(|e| {
                    let e = e.as_object()?;
                    Some(from_pairs(|k| e.get(k).and_then(Value::as_str)))
                })
                .collect::<Option<Vec<_>>>()?;
            Some((reporting, pages))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = parse_all_log_pages(text);
    match (ours, tree(text)) {
        (Ok(ours), Some(want)) => {
            assert_eq!(ours.len(), want.len());
            for ((dc, entries), (want_dc, want_entries)) in ours.iter().zip(&want) {
                assert_eq!(dc, want_dc);
                let got: Vec<DlpeDict> = entries
                    .iter()
                    .map(|p| p.iter().map(|(k, v)| (k, v.to_owned())).collect())
                    .collect();
                assert_eq!(&got, want_entries);
            }
        }
        (Err(_), None) => {}
        (ours, want) => panic!("reader {ours:?} but JSON tree {want:?}"),
    }
});
