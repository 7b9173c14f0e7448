//! What stacd reads from stafd (compat §2.8): `get_all_log_pages(true)`, a JSON string, turned
//! into each DC's host side and its log page. The text comes from another process: it is
//! bounded and validated, and a malformed answer is an error, never "no log pages".

use serde_json::Value;
use staslib::dlpe::{self, DlpeDict};

use crate::core::ReportingDc;

/// Largest answer accepted (a D-Bus message is at most 128 MiB; 10,000 entries of JSON are
/// about 3 MiB).
pub const MAX_JSON: usize = 64 << 20;

/// Parses `get_all_log_pages(true)`.
pub fn parse_all_log_pages(text: &str) -> Result<Vec<(ReportingDc, Vec<DlpeDict>)>, String> {
    if text.len() > MAX_JSON {
        return Err(format!("answer of {} bytes is too large", text.len()));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = v.as_array().ok_or("not a JSON array")?;
    items
        .iter()
        .map(|item| {
            let dc = item
                .get("discovery-controller")
                .and_then(Value::as_object)
                .ok_or("element without a discovery-controller object")?;
            let s = |k: &str| dc.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let reporting = ReportingDc {
                host_traddr: s("host-traddr"),
                host_iface: s("host-iface"),
                host_nqn: staslib::dbus::host_nqn_of(|k| dc.get(k).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_owned(),
            };
            let pages = item
                .get("log-pages")
                .and_then(Value::as_array)
                .ok_or("element without a log-pages array")?
                .iter()
                .map(|e| {
                    let e = e.as_object().ok_or("log page entry is not an object")?;
                    Ok(dlpe::from_pairs(|k| e.get(k).and_then(Value::as_str)))
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((reporting, pages))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stafds_answer_and_refuses_garbage() {
        let text = r#"[{"discovery-controller": {"traddr": "10.0.0.1", "trsvcid": "8009", "transport": "tcp", "subsysnqn": "nqn.2014-08.org.nvmexpress.discovery", "host-iface": "eth0", "host-traddr": "", "host-nqn": "nqn.h", "device": "nvme0"}, "log-pages": [{"trtype": "tcp", "adrfam": "ipv4", "traddr": "10.0.0.2", "trsvcid": "4420", "subnqn": "nqn.io", "subtype": "nvme", "treq": "not specified", "tsas": "{'sectype': 'none'}", "portid": "1", "cntlid": "65535", "asqsz": "32", "eflags": "0", "bogus": "x"}]}, {"discovery-controller": {"traddr": "10.0.0.9"}, "log-pages": []}]"#;
        let got = parse_all_log_pages(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].0,
            ReportingDc {
                host_traddr: "".into(),
                host_iface: "eth0".into(),
                host_nqn: "nqn.h".into()
            }
        );
        assert_eq!(got[0].1[0].len(), 12, "unknown keys dropped");
        assert_eq!(dlpe::get(&got[0].1[0], "subnqn"), Some("nqn.io"));
        assert!(got[1].1.is_empty());
        for bad in [
            "",
            "{}",
            "[1]",
            r#"[{"log-pages": []}]"#,
            r#"[{"discovery-controller": {}}]"#,
            r#"[{"discovery-controller": {}, "log-pages": [1]}]"#,
        ] {
            assert!(parse_all_log_pages(bad).is_err(), "{bad:?}");
        }
        assert!(parse_all_log_pages(&" ".repeat(MAX_JSON + 1)).is_err());
    }

    /// An nvme-stas 3.x stafd (or ours on the 3.x layout) says `hostnqn` and libnvme's words.
    #[test]
    fn reads_the_3x_spelling() {
        let text = r#"[{"discovery-controller": {"traddr": "10.0.0.1", "trsvcid": "8009", "transport": "tcp", "subsysnqn": "nqn.2014-08.org.nvmexpress.discovery", "host-iface": "", "host-traddr": "", "hostnqn": "nqn.h3", "device": "nvme0"}, "log-pages": [{"trtype": "tcp", "adrfam": "ipv4", "traddr": "10.0.0.2", "trsvcid": "4420", "subnqn": "nqn.io", "subtype": "nvme subsystem", "treq": "not specified, sq flow control disable supported", "portid": "1", "cntlid": "65535", "asqsz": "32", "eflags": "0"}, {"trtype": "tcp", "adrfam": "ipv4", "traddr": "10.0.0.3", "trsvcid": "8009", "subnqn": "nqn.2014-08.org.nvmexpress.discovery", "subtype": "discovery subsystem referral", "treq": "required", "portid": "2", "cntlid": "65535", "asqsz": "32", "eflags": "0"}]}]"#;
        let got = parse_all_log_pages(text).unwrap();
        assert_eq!(got[0].0.host_nqn, "nqn.h3");
        let e = &got[0].1;
        assert_eq!(dlpe::get(&e[0], "subtype"), Some("nvme"));
        assert_eq!(dlpe::get(&e[0], "treq"), Some("disable sqflow"));
        assert_eq!(dlpe::get(&e[1], "subtype"), Some("referral"));
        assert_eq!(dlpe::tid(&e[0]).unwrap().subsysnqn(), "nqn.io");
        assert!(
            dlpe::tid(&e[1]).is_ok(),
            "a referral in 3.x words is still a controller"
        );
    }
}
