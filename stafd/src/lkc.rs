//! The last-known state (compat §4.17, deliberate fix 11): JSON under the runtime
//! directory, written after every reconcile and at stop, read at start so cached log pages
//! are served before the first new fetch. A missing, empty or unreadable file is "no
//! state"; upstream's pickle (`last-known-config.pickle`) is never read.

use std::io;
use std::path::{Path, PathBuf};

use libnvme_rs::trid::{Transport, TransportId};
use serde_json::{Value, json};
use staslib::dlpe::DlpeDict;

use crate::core::Origin;
use crate::state::DcState;

/// File name inside the runtime directory.
pub const FILE_NAME: &str = "last-known-config.json";
const FORMAT: &str = "stafd-last-known-state-1";
/// Upper bound on the file size we read (a corrupt or hostile file cannot exhaust memory).
const MAX_BYTES: u64 = 64 << 20;

/// One DC as remembered.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    /// Identity.
    pub tid: TransportId,
    /// Origin.
    pub origin: Origin,
    /// Identity extras.
    pub extras: Vec<(String, String)>,
    /// Cached log page.
    pub log_pages: Vec<DlpeDict>,
    /// The `controller=` pairs of a DC added over D-Bus.
    pub runtime: Option<Vec<(String, String)>>,
}

/// The path of the state file in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Serialises the DCs.
pub fn to_json<'a>(dcs: impl IntoIterator<Item = &'a DcState>) -> String {
    let dcs: Vec<Value> = dcs
        .into_iter()
        .map(|dc| {
            let t = &dc.tid;
            json!({
                "transport": t.transport().as_str(),
                "traddr": t.traddr(),
                "trsvcid": t.trsvcid(),
                "subsysnqn": t.subsysnqn(),
                "host-traddr": t.host_traddr(),
                "host-iface": t.host_iface(),
                "host-nqn": t.host_nqn(),
                "origin": dc.origin.as_str(),
                "extras": dc.extras,
                "runtime": dc.runtime,
                "log-pages": dc.log_pages.iter().map(|d| {
                    d.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>()
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "format": FORMAT, "dcs": dcs }).to_string()
}

/// Parses a state file's text; anything malformed yields `Err` with a reason.
pub fn from_json(text: &str) -> Result<Vec<Remembered>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err("unknown format".into());
    }
    let dcs = v.get("dcs").and_then(Value::as_array).ok_or("no dcs")?;
    dcs.iter().map(remembered).collect()
}

fn remembered(v: &Value) -> Result<Remembered, String> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or(format!("missing {k}"))
    };
    let transport: Transport = s("transport")?.parse().map_err(|e| format!("{e}"))?;
    let tid = TransportId::new(transport, s("traddr")?, s("trsvcid")?, s("subsysnqn")?)
        .with_host_traddr(s("host-traddr")?)
        .with_host_iface(s("host-iface")?)
        .with_host_nqn(s("host-nqn")?);
    let origin = Origin::parse(s("origin")?).ok_or("bad origin")?;
    let extras = serde_json::from_value(v.get("extras").cloned().unwrap_or(json!([])))
        .map_err(|e| e.to_string())?;
    let log_pages = v
        .get("log-pages")
        .and_then(Value::as_array)
        .ok_or("missing log-pages")?
        .iter()
        .map(|d| {
            let d = d.as_object().ok_or("log page entry is not an object")?;
            Ok(staslib::dlpe::from_pairs(|k| {
                d.get(k).and_then(Value::as_str)
            }))
        })
        .collect::<Result<Vec<DlpeDict>, String>>()?;
    // Cached entries are served again: they pass the same check as fresh ones.
    let log_pages = log_pages
        .into_iter()
        .filter(|d| staslib::dlpe::check_fabrics_safe(d).is_ok())
        .collect();
    let runtime = match v.get("runtime") {
        None | Some(Value::Null) => None,
        Some(r) => Some(serde_json::from_value(r.clone()).map_err(|e| e.to_string())?),
    };
    Ok(Remembered {
        tid,
        origin,
        extras,
        log_pages,
        runtime,
    })
}

/// Reads the state; `Ok(empty)` when there is none.
pub fn load(path: &Path) -> Result<Vec<Remembered>, String> {
    match staslib::service::state_file::read_bounded(path, MAX_BYTES) {
        Ok(Some(text)) => from_json(&text),
        Ok(None) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes the state atomically; creates the directory.
pub fn save(path: &Path, text: &str) -> io::Result<()> {
    staslib::service::state_file::write_atomic(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_malformed_files() {
        let tid = TransportId::new_discovery(Transport::Tcp, "10.0.0.1", "", "")
            .with_host_iface("eth0")
            .with_host_nqn("nqn.host");
        let mut dc = DcState::new(
            tid.clone(),
            Origin::Referral,
            vec![("kato".into(), "30".into())],
        );
        dc.log_pages = vec![vec![
            ("trtype", "tcp".into()),
            ("traddr", "10.0.0.9".into()),
            ("trsvcid", "4420".into()),
            ("subnqn", "nqn.io".into()),
            ("subtype", "nvme".into()),
        ]];
        let text = to_json([&dc]);
        let back = from_json(&text).unwrap();
        assert_eq!(
            back,
            vec![Remembered {
                tid,
                origin: Origin::Referral,
                extras: vec![("kato".into(), "30".into())],
                log_pages: dc.log_pages.clone(),
                runtime: None,
            }]
        );
        for bad in [
            "",
            "{",
            "[]",
            r#"{"format":"x","dcs":[]}"#,
            r#"{"format":"stafd-last-known-state-1","dcs":[{"transport":"walmart"}]}"#,
        ] {
            assert!(from_json(bad).is_err(), "{bad:?}");
        }
        // An injected entry in a tampered file is not served.
        let tampered = text.replace("10.0.0.9", "10.0.0.9,hostnqn=evil");
        assert!(from_json(&tampered).unwrap()[0].log_pages.is_empty());
    }
}
