//! `stafctl`'s readable forms: `ls` as a tree (discovery controller → its log page entries
//! → the I/O controller stacd connected for each), `dlp` and `adlp` as tables.

use staslib::ctl::table::{key_values, or_dash, table};
use staslib::ctl::{StrDict, get, get_str};
use staslib::pprint::PyValue;

/// Columns of a log page entry table.
const DLPE_COLUMNS: [&str; 9] = [
    "subtype", "trtype", "adrfam", "traddr", "trsvcid", "subnqn", "portid", "cntlid", "treq",
];

fn dlpe_row(e: &PyValue) -> Vec<String> {
    DLPE_COLUMNS
        .iter()
        .map(|k| or_dash(&get_str(e, k)))
        .collect()
}

/// A table of log page entries (`dlp`), or a line saying there are none.
pub fn dlpe_table(entries: &[PyValue], indent: &str) -> String {
    if entries.is_empty() {
        return format!("{indent}no log page entries\n");
    }
    let headers: Vec<String> = DLPE_COLUMNS.iter().map(|c| c.to_uppercase()).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = entries.iter().map(dlpe_row).collect();
    table(&headers, &rows, indent)
}

/// `dlp`: the entries of one DC.
pub fn dlp(entries: &[StrDict]) -> String {
    let entries: Vec<PyValue> = entries
        .iter()
        .map(staslib::ctl::client::dict_value)
        .collect();
    dlpe_table(&entries, "")
}

fn list(v: Option<&PyValue>) -> &[PyValue] {
    match v {
        Some(PyValue::List(l)) => l,
        _ => &[],
    }
}

/// One line naming a discovery controller: `tcp 10.0.0.1:8009 <subsysnqn> [host…] nvme0`.
pub fn dc_line(dc: &PyValue) -> String {
    let mut l = format!(
        "{} {}:{} {}",
        get_str(dc, "transport"),
        get_str(dc, "traddr"),
        or_dash(&get_str(dc, "trsvcid")),
        get_str(dc, "subsysnqn")
    );
    for k in ["host-traddr", "host-iface"] {
        let v = get_str(dc, k);
        if !v.is_empty() {
            l.push_str(&format!(" {k}={v}"));
        }
    }
    let device = get_str(dc, "device");
    l.push_str(&format!(
        "  {}",
        if device.is_empty() { "nvme?" } else { &device }
    ));
    match get_str(dc, "connected").as_str() {
        "True" => l.push_str(" connected"),
        "False" => l.push_str(" not connected"),
        _ => {}
    }
    let origin = get_str(dc, "origin");
    if !origin.is_empty() {
        l.push_str(&format!(" ({origin})"));
    }
    l
}

/// `adlp`: each DC then its entries.
pub fn adlp(all: &PyValue) -> String {
    let dcs = list(Some(all));
    if dcs.is_empty() {
        return "no discovery controllers\n".to_owned();
    }
    let mut out = String::new();
    for item in dcs {
        let dc = get(item, "discovery-controller")
            .cloned()
            .unwrap_or(PyValue::None);
        out.push_str(&dc_line(&dc));
        out.push('\n');
        out.push_str(&dlpe_table(list(get(item, "log-pages")), "  "));
    }
    out
}

/// The I/O controller stacd has for a log page entry of a DC, if any.
fn ioc_for<'a>(entry: &PyValue, dc: &PyValue, iocs: &'a [StrDict]) -> Option<&'a StrDict> {
    let host_nqn = get_str(dc, "host-nqn");
    iocs.iter().find(|i| {
        let g = |k: &str| i.get(k).map_or("", String::as_str);
        g("transport") == get_str(entry, "trtype")
            && g("traddr") == get_str(entry, "traddr")
            && g("trsvcid") == get_str(entry, "trsvcid")
            && g("subsysnqn") == get_str(entry, "subnqn")
            && (host_nqn.is_empty() || g("host-nqn") == host_nqn)
    })
}

/// The readable `ls`: `all` is `get_all_log_pages(True)`; `iocs` is stacd's
/// `list_controllers(True)`, `None` when stacd is not running.
pub fn ls_tree(all: &PyValue, iocs: Option<&[StrDict]>, detailed: bool) -> String {
    let dcs = list(Some(all));
    if dcs.is_empty() {
        return "no discovery controllers\n".to_owned();
    }
    let mut out = String::new();
    for item in dcs {
        let dc = get(item, "discovery-controller")
            .cloned()
            .unwrap_or(PyValue::None);
        out.push_str(&dc_line(&dc));
        out.push('\n');
        if detailed {
            let mut pairs = Vec::new();
            staslib::ctl::flatten(&dc, "", &mut pairs);
            out.push_str(&key_values(&pairs, "  │ "));
        }
        let entries = list(get(item, "log-pages"));
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let mut row = vec![
                    get_str(e, "subtype"),
                    get_str(e, "trtype"),
                    format!("{}:{}", get_str(e, "traddr"), get_str(e, "trsvcid")),
                    get_str(e, "subnqn"),
                ];
                if get_str(e, "subtype") == "nvme"
                    && let Some(iocs) = iocs
                {
                    row.push(match ioc_for(e, &dc, iocs) {
                        Some(i) if i.get("connected").map(String::as_str) == Some("True") => {
                            match i.get("device").map_or("", String::as_str) {
                                // The native backend has no kernel device.
                                "" | "nvme?" => "→ connected".to_owned(),
                                dev => format!("→ /dev/{dev} connected"),
                            }
                        }
                        Some(_) => "→ connecting".to_owned(),
                        None => "→ not connected".to_owned(),
                    });
                }
                row
            })
            .collect();
        let n = rows.len();
        let widths: Vec<usize> = (0..5)
            .map(|c| {
                rows.iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let branch = if i + 1 == n { "  └─ " } else { "  ├─ " };
            let mut line = branch.to_owned();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if c + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[c].saturating_sub(cell.chars().count())));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    if iocs.is_none() {
        out.push_str("(stacd is not running: I/O controller state unknown)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(pairs: &[(&str, &str)]) -> PyValue {
        PyValue::dict(pairs.iter().map(|(k, v)| (*k, PyValue::str(*v))))
    }

    fn sample() -> PyValue {
        PyValue::List(vec![PyValue::dict([
            (
                "discovery-controller",
                dict(&[
                    ("transport", "tcp"),
                    ("traddr", "10.0.0.1"),
                    ("trsvcid", "8009"),
                    ("subsysnqn", "nqn.2014-08.org.nvmexpress.discovery"),
                    ("host-nqn", "nqn.h"),
                    ("device", "nvme0"),
                    ("connected", "True"),
                    ("origin", "configured"),
                ]),
            ),
            (
                "log-pages",
                PyValue::List(vec![
                    dict(&[
                        ("subtype", "nvme"),
                        ("trtype", "tcp"),
                        ("traddr", "10.0.0.2"),
                        ("trsvcid", "4420"),
                        ("subnqn", "nqn.a"),
                    ]),
                    dict(&[
                        ("subtype", "nvme"),
                        ("trtype", "tcp"),
                        ("traddr", "10.0.0.3"),
                        ("trsvcid", "4420"),
                        ("subnqn", "nqn.bb"),
                    ]),
                ]),
            ),
        ])])
    }

    #[test]
    fn ls_tree_shows_iocs_or_says_stacd_is_absent() {
        let ioc: StrDict = [
            ("transport", "tcp"),
            ("traddr", "10.0.0.2"),
            ("trsvcid", "4420"),
            ("subsysnqn", "nqn.a"),
            ("host-nqn", "nqn.h"),
            ("device", "nvme1"),
            ("connected", "True"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = ls_tree(&sample(), Some(&[ioc]), false);
        assert_eq!(
            t,
            "tcp 10.0.0.1:8009 nqn.2014-08.org.nvmexpress.discovery  nvme0 connected (configured)\n\
             \x20 ├─ nvme  tcp  10.0.0.2:4420  nqn.a   → /dev/nvme1 connected\n\
             \x20 └─ nvme  tcp  10.0.0.3:4420  nqn.bb  → not connected\n"
        );
        let t = ls_tree(&sample(), None, true);
        assert!(t.contains("  │ origin"), "{t}");
        assert!(
            t.ends_with("(stacd is not running: I/O controller state unknown)\n"),
            "{t}"
        );
        assert_eq!(
            ls_tree(&PyValue::List(vec![]), None, false),
            "no discovery controllers\n"
        );
    }

    #[test]
    fn adlp_and_dlp_tables() {
        let t = adlp(&sample());
        assert!(
            t.contains(
                "  SUBTYPE  TRTYPE  ADRFAM  TRADDR    TRSVCID  SUBNQN  PORTID  CNTLID  TREQ\n"
            ),
            "{t}"
        );
        assert_eq!(dlp(&[]), "no log page entries\n");
    }
}
