//! `monitor`: the daemons' signals (`log_pages_changed`, `dc_removed`, and any stacd adds)
//! and their appearing on / leaving the bus (`NameOwnerChanged`), one line each as they
//! happen. The first lines say which daemons are running when monitoring starts.

use std::time::SystemTime;

use futures_util::StreamExt;
use zbus::{Connection, MatchRule, MessageStream};

use super::client::Daemon;
use super::error::CtlError;
use super::format::{Format, to_json};
use crate::pprint::{PyValue, saferepr};

/// Identity keys of `log_pages_changed`'s first seven arguments.
pub const SIGNAL_ID_KEYS: [&str; 7] = [
    "transport",
    "traddr",
    "trsvcid",
    "subsysnqn",
    "host-traddr",
    "host-iface",
    "host-nqn",
];

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it was seen.
    pub time: SystemTime,
    /// Whose it is.
    pub daemon: Daemon,
    /// `running`, `absent` (at start), `started`, `stopped`, or the signal's member name.
    pub event: String,
    /// The signal's arguments, by name.
    pub fields: Vec<(String, PyValue)>,
}

impl Event {
    /// The event as a Python/JSON dict: `time`, `daemon`, `event`, then its fields.
    pub fn value(&self) -> PyValue {
        let mut pairs = vec![
            ("time".to_owned(), PyValue::str(rfc3339(self.time))),
            ("daemon".to_owned(), PyValue::str(self.daemon.prog())),
            ("event".to_owned(), PyValue::str(&self.event)),
        ];
        pairs.extend(self.fields.iter().cloned());
        PyValue::Dict(pairs)
    }

    /// The line printed for this event in `format`.
    pub fn line(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string(&to_json(&self.value())).unwrap_or_default(),
            Format::Pprint => saferepr(&self.value()),
            Format::Readable => {
                let mut l = format!(
                    "{} {} {}",
                    rfc3339(self.time),
                    self.daemon.prog(),
                    self.event
                );
                let get = |k: &str| match self.fields.iter().find(|(f, _)| f == k) {
                    Some((_, PyValue::Str(s))) => s.clone(),
                    Some((_, v)) => saferepr(v),
                    None => String::new(),
                };
                if self.fields.iter().any(|(k, _)| k == "traddr") {
                    l.push_str(&format!(
                        " {} {}:{} {}",
                        get("transport"),
                        get("traddr"),
                        get("trsvcid"),
                        get("subsysnqn")
                    ));
                    for k in ["host-traddr", "host-iface", "host-nqn", "device"] {
                        let v = get(k);
                        if !v.is_empty() {
                            l.push_str(&format!(" {k}={v}"));
                        }
                    }
                } else {
                    for (k, v) in &self.fields {
                        let v = match v {
                            PyValue::Str(s) => s.clone(),
                            other => saferepr(other),
                        };
                        l.push_str(&format!(" {k}={v}"));
                    }
                }
                l
            }
        }
    }
}

/// The fields of a daemon signal from its body, by member name.
pub fn signal_fields(member: &str, body: &zbus::message::Body) -> Vec<(String, PyValue)> {
    if member == "log_pages_changed"
        && let Ok(args) = body.deserialize::<(
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        )>()
    {
        let (a, b, c, d, e, f, g, device) = args;
        return SIGNAL_ID_KEYS
            .iter()
            .zip([a, b, c, d, e, f, g])
            .map(|(k, v)| ((*k).to_owned(), PyValue::Str(v)))
            .chain(std::iter::once(("device".to_owned(), PyValue::Str(device))))
            .collect();
    }
    let sig = body.signature().to_string();
    if sig.is_empty() {
        Vec::new()
    } else {
        vec![("signature".to_owned(), PyValue::Str(sig))]
    }
}

/// `time` as RFC 3339 UTC with milliseconds (`2026-12-04T19:20:36.123Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let d = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

async fn stream(
    conn: &Connection,
    rule: MatchRule<'static>,
    daemon: &'static str,
) -> Result<MessageStream, CtlError> {
    MessageStream::for_match_rule(rule, conn, None)
        .await
        .map_err(|e| CtlError::from_zbus(daemon, "monitor", e))
}

fn rule_err(e: zbus::Error) -> CtlError {
    CtlError::Bus {
        daemon: "stafd",
        detail: e.to_string(),
    }
}

/// Streams events of both daemons to stdout in `format` until interrupted (SIGINT, SIGTERM),
/// stdout is closed, or `count` events have been printed after the first state lines.
pub async fn run(conn: &Connection, format: Format, count: Option<u64>) -> Result<(), CtlError> {
    let daemon_rule = |d: Daemon| -> Result<MatchRule<'static>, CtlError> {
        MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(d.bus_name())
            .path(d.path())
            .build()
            .map_err(rule_err)
    };
    let owner_rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .build()
        .map_err(rule_err)?;
    // Subscribe first, then look: nothing falls between.
    let mut staf = stream(conn, daemon_rule(Daemon::Stafd)?, "stafd").await?;
    let mut stac = stream(conn, daemon_rule(Daemon::Stacd)?, "stacd").await?;
    let mut owners = stream(conn, owner_rule, "stafd").await?;
    let dbus = zbus::fdo::DBusProxy::new(conn)
        .await
        .map_err(|e| CtlError::from_zbus("stafd", "monitor", e))?;
    for d in Daemon::ALL {
        let name = zbus::names::BusName::try_from(d.bus_name()).map_err(rule_err)?;
        let running = dbus
            .name_has_owner(name)
            .await
            .map_err(|e| CtlError::from_zbus(d.prog(), "monitor", e.into()))?;
        let event = Event {
            time: SystemTime::now(),
            daemon: d,
            event: if running { "running" } else { "absent" }.to_owned(),
            fields: Vec::new(),
        };
        if !print_event(&event, format)? {
            return Ok(());
        }
    }

    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut seen = 0u64;
    loop {
        if count.is_some_and(|c| seen >= c) {
            return Ok(());
        }
        let (daemon, msg) = tokio::select! {
            m = staf.next() => (Some(Daemon::Stafd), m),
            m = stac.next() => (Some(Daemon::Stacd), m),
            m = owners.next() => (None, m),
            _ = sigint.recv() => return Ok(()),
            _ = sigterm.recv() => return Ok(()),
        };
        let Some(Ok(msg)) = msg else {
            return Err(CtlError::Bus {
                daemon: "stafd",
                detail: "the connection to the bus was lost".into(),
            });
        };
        let event = match daemon {
            Some(d) => {
                let member = msg
                    .header()
                    .member()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default();
                let fields = signal_fields(&member, &msg.body());
                Event {
                    time: SystemTime::now(),
                    daemon: d,
                    event: member,
                    fields,
                }
            }
            None => {
                let Ok((name, old, new)) = msg.body().deserialize::<(String, String, String)>()
                else {
                    continue;
                };
                let Some(d) = Daemon::ALL.into_iter().find(|d| d.bus_name() == name) else {
                    continue;
                };
                let event = match (old.is_empty(), new.is_empty()) {
                    (true, false) => "started",
                    (false, true) => "stopped",
                    _ => "restarted",
                };
                Event {
                    time: SystemTime::now(),
                    daemon: d,
                    event: event.to_owned(),
                    fields: Vec::new(),
                }
            }
        };
        if !print_event(&event, format)? {
            return Ok(());
        }
        seen += 1;
    }
}

/// Prints one event line; `false` when stdout is closed (a reader such as `head` left),
/// which ends the monitor.
fn print_event(e: &Event, format: Format) -> Result<bool, CtlError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", e.line(format)).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_utc() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_412_036_123);
        assert_eq!(rfc3339(t), "2026-12-04T19:20:36.123Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn event_lines() {
        let e = Event {
            time: SystemTime::UNIX_EPOCH,
            daemon: Daemon::Stafd,
            event: "log_pages_changed".into(),
            fields: SIGNAL_ID_KEYS
                .iter()
                .zip(["tcp", "10.0.0.1", "8009", "nqn.x", "", "eth0", "nqn.h"])
                .map(|(k, v)| ((*k).to_owned(), PyValue::str(v)))
                .chain([("device".to_owned(), PyValue::str("nvme0"))])
                .collect(),
        };
        assert_eq!(
            e.line(Format::Readable),
            "1970-01-01T00:00:00.000Z stafd log_pages_changed tcp 10.0.0.1:8009 nqn.x host-iface=eth0 host-nqn=nqn.h device=nvme0"
        );
        let json: serde_json::Value = serde_json::from_str(&e.line(Format::Json)).unwrap();
        assert_eq!(json["event"], "log_pages_changed");
        assert_eq!(json["device"], "nvme0");
        assert_eq!(json["daemon"], "stafd");
        assert!(!e.line(Format::Json).contains('\n'));
        assert!(e.line(Format::Pprint).starts_with("{'daemon': 'stafd', "));
        let gone = Event {
            time: SystemTime::UNIX_EPOCH,
            daemon: Daemon::Stacd,
            event: "stopped".into(),
            fields: Vec::new(),
        };
        assert_eq!(
            gone.line(Format::Readable),
            "1970-01-01T00:00:00.000Z stacd stopped"
        );
    }
}
