//! The subcommands `stafctl` and `stacctl` run the same way: `tron`/`troff`, `status`,
//! `stats`, `add`, `remove`, `monitor`.

use std::collections::HashMap;

use super::client::{Client, ControllerId, dict_value};
use super::error::CtlError;
use super::format::{Format, emit, machine_text};
use super::status::{ControllerStatus, assemble};
use super::table::{or_dash, table};
use crate::cli::{AddArgs, ControllerArgs};
use crate::pprint::PyValue;

/// Prints `v` in `format`, or `readable` for the readable form.
pub fn print(
    format: Format,
    v: &PyValue,
    readable: impl FnOnce() -> String,
) -> Result<(), CtlError> {
    let text = machine_text(format, v).unwrap_or_else(readable);
    emit(&text)?;
    Ok(())
}

/// `tron` / `troff`: sets the flag, reads it back, prints `tron = True` (upstream's line;
/// `{"tron": true}` with `--json`).
pub async fn tron(client: &Client, on: bool, format: Format) -> Result<(), CtlError> {
    let what = if on { "tron" } else { "troff" };
    let now = client.set_tron(on, what).await?;
    let line = format!("tron = {}\n", if now { "True" } else { "False" });
    match format {
        Format::Json => emit(&super::format::json_text(&PyValue::dict([(
            "tron",
            PyValue::Bool(now),
        )])))?,
        _ => emit(&line)?,
    }
    Ok(())
}

/// `status` data: `process_info()` plus every controller's details, (stafd) log pages, and
/// `controller_info()`.
pub async fn status_value(client: &Client, with_log_pages: bool) -> Result<PyValue, CtlError> {
    let info = client.process_info().await?;
    let mut controllers = Vec::new();
    for details in client.list_controllers(true).await? {
        let id = ControllerId::of_dict(&details);
        let log_pages = if with_log_pages {
            Some(client.get_log_pages(&id).await?)
        } else {
            None
        };
        let info = client.controller_info(&id).await?;
        controllers.push(ControllerStatus {
            details,
            log_pages,
            info,
        });
    }
    Ok(assemble(info, controllers))
}

/// `status`.
pub async fn status(client: &Client, with_log_pages: bool, format: Format) -> Result<(), CtlError> {
    let v = status_value(client, with_log_pages).await?;
    print(format, &v, || {
        super::status::readable(client.daemon().prog(), &v)
    })
}

/// Columns of the readable `stats` table: identity first, then the counters, the error last.
pub fn stats_columns(rows: &[Vec<(String, PyValue)>]) -> Vec<String> {
    const FIRST: [&str; 6] = [
        "device",
        "connected",
        "transport",
        "traddr",
        "trsvcid",
        "subsysnqn",
    ];
    const HIDDEN: [&str; 5] = [
        "host-traddr",
        "host-iface",
        "host-nqn",
        "last-error",
        "last-error-time-usec",
    ];
    let mut cols: Vec<String> = FIRST.iter().map(|s| (*s).to_owned()).collect();
    let mut rest: Vec<String> = rows
        .iter()
        .flat_map(|r| r.iter().map(|(k, _)| k.clone()))
        .filter(|k| !FIRST.contains(&k.as_str()) && !HIDDEN.contains(&k.as_str()))
        .collect();
    rest.sort();
    rest.dedup();
    cols.extend(rest);
    cols.push("last-error".to_owned());
    cols
}

/// The readable `stats` table.
pub fn stats_table(rows: &[Vec<(String, PyValue)>]) -> String {
    if rows.is_empty() {
        return "no controllers\n".to_owned();
    }
    let cols = stats_columns(rows);
    let headers: Vec<String> = cols.iter().map(|c| c.to_uppercase()).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| match r.iter().find(|(k, _)| k == c) {
                    Some((_, v)) => super::plain(v),
                    None => "-".to_owned(),
                })
                .collect()
        })
        .collect();
    table(&headers, &body, "")
}

/// `stats`: `Controllers1.List`.
pub async fn stats(client: &Client, format: Format) -> Result<(), CtlError> {
    let rows = client.stats().await?;
    let v = PyValue::List(rows.iter().map(|r| PyValue::Dict(r.clone())).collect());
    print(format, &v, || stats_table(&rows))
}

/// The `Controllers1.Add` parameters of `add`'s command line; `default_nqn` is the
/// subsystem NQN when `-n` is not given.
pub fn add_params(
    args: &AddArgs,
    default_nqn: Option<&str>,
) -> Result<HashMap<String, String>, CtlError> {
    let id = &args.id;
    let mut p = HashMap::new();
    p.insert("transport".to_owned(), id.transport.clone());
    p.insert("traddr".to_owned(), id.traddr.clone());
    if let Some(nqn) = id.nqn.as_deref().or(default_nqn) {
        p.insert("subsysnqn".to_owned(), nqn.to_owned());
    }
    for (k, v) in [
        ("trsvcid", &id.trsvcid),
        ("host-traddr", &id.host_traddr),
        ("host-iface", &id.host_iface),
    ] {
        if !v.is_empty() {
            p.insert(k.to_owned(), v.clone());
        }
    }
    if let Some(q) = &id.host_nqn {
        p.insert("host-nqn".to_owned(), q.clone());
    }
    for opt in &args.options {
        let Some((k, v)) = opt.split_once('=') else {
            return Err(CtlError::Usage(format!(
                "invalid value '{opt}' for '--option <key=value>': no '='"
            )));
        };
        p.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(p)
}

fn params_value(p: &HashMap<String, String>) -> PyValue {
    dict_value(&p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn redacted(p: &HashMap<String, String>) -> HashMap<String, String> {
    p.iter()
        .map(|(k, v)| {
            let v = if crate::dbus::SECRET_KEYS.contains(&k.as_str()) {
                crate::dbus::REDACTED.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// `add` (root only) with the parameters of [`add_params`].
pub async fn add(
    client: &Client,
    params: &HashMap<String, String>,
    format: Format,
) -> Result<(), CtlError> {
    client.add(params).await?;
    let shown = redacted(params);
    let v = PyValue::dict([("added", params_value(&shown))]);
    let get = |k: &str| or_dash(shown.get(k).map_or("", String::as_str));
    print(format, &v, || {
        format!(
            "added {} {} {}:{} {}\n",
            client.daemon().prog(),
            get("transport"),
            get("traddr"),
            get("trsvcid"),
            get("subsysnqn")
        )
    })
}

/// The identity `remove` asks for: host NQN defaulted from sys.conf.
pub fn remove_id(
    args: &ControllerArgs,
    default_nqn: Option<&str>,
) -> Result<ControllerId, CtlError> {
    Ok(ControllerId {
        transport: args.transport.clone(),
        traddr: args.traddr.clone(),
        trsvcid: args.trsvcid.clone(),
        subsysnqn: args
            .nqn
            .clone()
            .or_else(|| default_nqn.map(str::to_owned))
            .unwrap_or_default(),
        host_traddr: args.host_traddr.clone(),
        host_iface: args.host_iface.clone(),
        host_nqn: super::host_nqn(args.host_nqn.as_deref())?,
    })
}

/// Whether a `Controllers1.List` row is the controller `id` names (an empty `trsvcid`
/// matches any).
pub fn row_matches(row: &[(String, PyValue)], id: &ControllerId) -> bool {
    let get = |k: &str| match row.iter().find(|(key, _)| key == k) {
        Some((_, PyValue::Str(s))) => s.as_str(),
        _ => "",
    };
    get("transport") == id.transport
        && get("traddr") == id.traddr
        && (id.trsvcid.is_empty() || get("trsvcid") == id.trsvcid)
        && get("subsysnqn") == id.subsysnqn
        && get("host-traddr") == id.host_traddr
        && get("host-iface") == id.host_iface
        && get("host-nqn") == id.host_nqn
}

/// `remove` (root only) of the identity of [`remove_id`]. A refusal for a controller the
/// daemon does not have is [`CtlError::UnknownController`].
pub async fn remove(client: &Client, id: &ControllerId, format: Format) -> Result<(), CtlError> {
    if let Err(e) = client.remove(id).await {
        if let CtlError::Rejected { .. } = e
            && !client.stats().await?.iter().any(|r| row_matches(r, id))
        {
            return Err(CtlError::UnknownController {
                daemon: client.daemon().prog(),
                identity: id.to_string(),
            });
        }
        return Err(e);
    }
    let v = PyValue::dict([(
        "removed",
        PyValue::dict(
            crate::ctl::monitor::SIGNAL_ID_KEYS
                .iter()
                .zip([
                    &id.transport,
                    &id.traddr,
                    &id.trsvcid,
                    &id.subsysnqn,
                    &id.host_traddr,
                    &id.host_iface,
                    &id.host_nqn,
                ])
                .map(|(k, v)| (*k, PyValue::str(v.as_str()))),
        ),
    )]);
    print(format, &v, || {
        format!("removed {} {id}\n", client.daemon().prog())
    })
}

/// `monitor`: on the system bus, whether or not the daemons are running; `daemon` is the
/// tool's own (named when there is no bus).
pub async fn monitor(
    daemon: super::Daemon,
    format: Format,
    count: Option<u64>,
) -> Result<(), CtlError> {
    let conn = super::client::system_bus(daemon).await?;
    super::monitor::run(&conn, format, count).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_args(options: &[&str]) -> AddArgs {
        AddArgs {
            id: ControllerArgs {
                transport: "tcp".into(),
                traddr: "192.0.2.1".into(),
                trsvcid: String::new(),
                host_traddr: String::new(),
                host_iface: "eth0".into(),
                host_nqn: None,
                nqn: None,
            },
            options: options.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn add_parameters() {
        let p = add_params(
            &add_args(&["kato=30", "dhchap-secret=DHHC-1:00:a=:"]),
            Some("nqn.d"),
        )
        .unwrap();
        let mut keys: Vec<&str> = p.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "dhchap-secret",
                "host-iface",
                "kato",
                "subsysnqn",
                "traddr",
                "transport"
            ]
        );
        assert_eq!(p["dhchap-secret"], "DHHC-1:00:a=:");
        assert_eq!(redacted(&p)["dhchap-secret"], crate::dbus::REDACTED);
        let err = add_params(&add_args(&["kato"]), None).unwrap_err();
        assert_eq!(err.exit_status(), super::super::error::EXIT_USAGE);
        assert!(
            !add_params(&add_args(&[]), None)
                .unwrap()
                .contains_key("subsysnqn")
        );
    }

    #[test]
    fn stats_table_puts_identity_first_and_error_last() {
        let row = vec![
            ("aens".to_owned(), PyValue::from(3u64)),
            ("connected".to_owned(), PyValue::Bool(true)),
            ("device".to_owned(), PyValue::str("nvme1")),
            ("last-error".to_owned(), PyValue::str("")),
            ("traddr".to_owned(), PyValue::str("10.0.0.1")),
        ];
        let t = stats_table(&[row]);
        let mut lines = t.lines();
        assert_eq!(
            lines.next().unwrap(),
            "DEVICE  CONNECTED  TRANSPORT  TRADDR    TRSVCID  SUBSYSNQN  AENS  LAST-ERROR"
        );
        assert_eq!(
            lines.next().unwrap(),
            "nvme1   True       -          10.0.0.1  -        -          3     -"
        );
        assert_eq!(stats_table(&[]), "no controllers\n");
    }

    #[test]
    fn rows_match_identities() {
        let id = ControllerId {
            transport: "tcp".into(),
            traddr: "a".into(),
            subsysnqn: "n".into(),
            host_nqn: "h".into(),
            ..Default::default()
        };
        let row: Vec<(String, PyValue)> = [
            ("transport", "tcp"),
            ("traddr", "a"),
            ("trsvcid", "8009"),
            ("subsysnqn", "n"),
            ("host-nqn", "h"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), PyValue::str(v)))
        .collect();
        assert!(row_matches(&row, &id));
        assert!(!row_matches(
            &row,
            &ControllerId {
                trsvcid: "4420".into(),
                ..id.clone()
            }
        ));
        assert!(!row_matches(
            &row,
            &ControllerId {
                host_nqn: "x".into(),
                ..id
            }
        ));
    }
}
