//! `status`: upstream's assembly of `process_info()`, `list_controllers(True)`, and per
//! controller `get_log_pages()` (stafd) and `controller_info()` (compat §3.2, §3.3), and
//! its readable form.

use super::client::{StrDict, dict_value};
use super::table::{key_values, or_dash, table};
use super::{flatten, get, get_str};
use crate::pprint::PyValue;

/// One controller of `status`: its details dict, its log pages (stafd only), and its
/// `controller_info()` JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerStatus {
    /// `list_controllers(True)` entry.
    pub details: StrDict,
    /// `get_log_pages(...)` of it (stafd), `None` for stacd.
    pub log_pages: Option<Vec<StrDict>>,
    /// `controller_info(...)`, parsed.
    pub info: PyValue,
}

/// `info['controllers'] = [...]`, each `controller['log_pages'] = ...` then
/// `controller.update(controller_info)`, as upstream's `status()` builds it.
pub fn assemble(mut info: PyValue, controllers: Vec<ControllerStatus>) -> PyValue {
    let list = controllers
        .into_iter()
        .map(|c| {
            let PyValue::Dict(mut pairs) = dict_value(&c.details) else {
                unreachable!("dict_value returns a dict")
            };
            if let Some(pages) = &c.log_pages {
                pairs.push((
                    "log_pages".into(),
                    PyValue::List(pages.iter().map(dict_value).collect()),
                ));
            }
            if let PyValue::Dict(update) = c.info {
                pairs.extend(update);
            }
            PyValue::Dict(pairs)
        })
        .collect();
    match &mut info {
        PyValue::Dict(pairs) => pairs.push(("controllers".into(), PyValue::List(list))),
        other => *other = PyValue::dict([("controllers", PyValue::List(list))]),
    }
    info
}

/// The readable `status`: process information as `key  value` lines, then a table of the
/// controllers.
pub fn readable(daemon: &str, status: &PyValue) -> String {
    let mut pairs = Vec::new();
    if let PyValue::Dict(items) = status {
        let process = PyValue::Dict(
            items
                .iter()
                .filter(|(k, _)| k != "controllers")
                .cloned()
                .collect(),
        );
        flatten(&process, "", &mut pairs);
    }
    let mut out = format!("{daemon}:\n");
    out.push_str(&key_values(&pairs, "  "));
    let controllers = match get(status, "controllers") {
        Some(PyValue::List(l)) => l.as_slice(),
        _ => &[],
    };
    out.push_str(&format!("controllers: {}\n", controllers.len()));
    if controllers.is_empty() {
        return out;
    }
    let with_pages = controllers.iter().any(|c| get(c, "log_pages").is_some());
    let mut headers = vec![
        "DEVICE",
        "CONNECTED",
        "TRANSPORT",
        "TRADDR",
        "TRSVCID",
        "SUBSYSNQN",
        "HOST-TRADDR",
        "HOST-IFACE",
        "ATTEMPTS",
    ];
    if with_pages {
        headers.push("LOG-PAGES");
    }
    let rows: Vec<Vec<String>> = controllers
        .iter()
        .map(|c| {
            let mut row = vec![
                or_dash(&get_str(c, "device")),
                or_dash(&get_str(c, "connected")),
                get_str(c, "transport"),
                get_str(c, "traddr"),
                or_dash(&get_str(c, "trsvcid")),
                get_str(c, "subsysnqn"),
                or_dash(&get_str(c, "host-traddr")),
                or_dash(&get_str(c, "host-iface")),
                or_dash(&get_str(c, "connect attempts")),
            ];
            if with_pages {
                row.push(match get(c, "log_pages") {
                    Some(PyValue::List(l)) => l.len().to_string(),
                    _ => "-".into(),
                });
            }
            row
        })
        .collect();
    out.push_str(&table(&headers, &rows, "  "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_info_overrides_details_and_log_pages_are_added() {
        let details: StrDict = [("device", "nvme0"), ("connect attempts", "0")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let info = PyValue::dict([("connect attempts", PyValue::str("1"))]);
        let v = assemble(
            PyValue::dict([("tron", PyValue::Bool(true))]),
            vec![ControllerStatus {
                details,
                log_pages: Some(vec![]),
                info,
            }],
        );
        assert_eq!(
            crate::pprint::ctl_pformat(&v),
            "{'controllers': [{'connect attempts': '1', 'device': 'nvme0', 'log_pages': []}], 'tron': True}"
        );
        let text = readable("stafd", &v);
        assert!(
            text.starts_with("stafd:\n  tron  True\ncontrollers: 1\n"),
            "{text}"
        );
        assert!(text.contains("LOG-PAGES"), "{text}");
    }
}
