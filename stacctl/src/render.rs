//! `stacctl`'s readable `ls`: one row per I/O controller, its device and state first.

use staslib::ctl::StrDict;
use staslib::ctl::table::{key_values, or_dash, table};

const HEADERS: [&str; 8] = [
    "DEVICE",
    "STATE",
    "TRANSPORT",
    "TRADDR",
    "TRSVCID",
    "SUBSYSNQN",
    "HOST-TRADDR",
    "HOST-IFACE",
];

/// The state column: `connected`, or `connecting` while stacd retries.
fn state(c: &StrDict) -> &'static str {
    match c.get("connected").map(String::as_str) {
        Some("True") => "connected",
        Some(_) => "connecting",
        None => "-",
    }
}

/// The readable `ls` of `list_controllers(True)`; `detailed` adds every key below each row.
pub fn ls(controllers: &[StrDict], detailed: bool) -> String {
    if controllers.is_empty() {
        return "no I/O controllers\n".to_owned();
    }
    let g = |c: &StrDict, k: &str| or_dash(c.get(k).map_or("", String::as_str));
    let rows: Vec<Vec<String>> = controllers
        .iter()
        .map(|c| {
            let device = c.get("device").map_or("", String::as_str);
            vec![
                if device.is_empty() || device == "nvme?" {
                    "-".to_owned()
                } else {
                    format!("/dev/{device}")
                },
                state(c).to_owned(),
                g(c, "transport"),
                g(c, "traddr"),
                g(c, "trsvcid"),
                g(c, "subsysnqn"),
                g(c, "host-traddr"),
                g(c, "host-iface"),
            ]
        })
        .collect();
    if !detailed {
        return table(&HEADERS, &rows, "");
    }
    let mut out = String::new();
    for (c, row) in controllers.iter().zip(&rows) {
        out.push_str(&table(&HEADERS, std::slice::from_ref(row), ""));
        let pairs: Vec<(String, String)> = c.iter().map(|(k, v)| (k.clone(), or_dash(v))).collect();
        out.push_str(&key_values(&pairs, "  "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_device_and_state() {
        let c: StrDict = [
            ("transport", "tcp"),
            ("traddr", "10.0.0.2"),
            ("trsvcid", "4420"),
            ("subsysnqn", "nqn.a"),
            ("device", "nvme1"),
            ("connected", "True"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut d = c.clone();
        d.insert("device".into(), "nvme?".into());
        d.insert("connected".into(), "False".into());
        assert_eq!(
            ls(&[c, d], false),
            "DEVICE      STATE       TRANSPORT  TRADDR    TRSVCID  SUBSYSNQN  HOST-TRADDR  HOST-IFACE\n\
             /dev/nvme1  connected   tcp        10.0.0.2  4420     nqn.a      -            -\n\
             -           connecting  tcp        10.0.0.2  4420     nqn.a      -            -\n"
        );
        assert_eq!(ls(&[], true), "no I/O controllers\n");
    }
}
