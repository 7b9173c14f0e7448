//! The host-wide NVMe-oF exclusion list of libnvme 3 (`/etc/nvme/exclusions.conf` and
//! `/etc/nvme/exclusions.conf.d/*.conf`), read and matched as libnvme does (nvme-stas 3.x
//! spec §2), so every connection manager on a host skips the same controllers.
//!
//! * Only `exclusion = key=val;key=val` lines inside an `[exclusions]` section count; `#`
//!   lines are comments; a malformed section header ends the section (fail-safe).
//! * Keys, one spelling each: `transport traddr trsvcid nqn host-traddr host-iface hostnqn
//!   hostid`. An entry with an unknown key, a bare token, an empty value, an address that is
//!   not one for its transport, or no field at all matches nothing.
//! * A connection is excluded when every field the entry sets equals the connection's
//!   (a field the connection lacks does not match). Addresses compare as IP addresses for
//!   tcp/rdma (or as exact text), case-insensitively for fc; the rest exactly.
//! * The files are read on every check: an entry added by `nvme exclusion add` or
//!   `nvme disconnect -x` takes effect on the next connect attempt. A missing or unreadable
//!   list excludes nothing.

use std::fs;
use std::path::PathBuf;

use crate::trid::{IpLiteral, Transport, TransportId, ip_addr_eq};

/// Where libnvme keeps the list.
pub const DEFAULT_DIR: &str = "/etc/nvme";
/// The hand-edited list, under the directory.
pub const MAIN_FILE: &str = "exclusions.conf";
/// Managed drop-in lists (`<name>.conf`), under the directory.
pub const DROPIN_DIR: &str = "exclusions.conf.d";
/// Bytes read from one list file (libnvme caps a list at 1 MiB).
const FILE_MAX: u64 = 1 << 20;
/// Longest line libnvme reads in one piece.
const LINE_MAX: usize = 4095;

/// One parsed entry: the fields it sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// `transport`.
    pub transport: Option<String>,
    /// `traddr` (canonical IP text for tcp/rdma).
    pub traddr: Option<String>,
    /// `trsvcid`.
    pub trsvcid: Option<String>,
    /// `nqn`: the subsystem NQN.
    pub nqn: Option<String>,
    /// `host-traddr` (canonical IP text for tcp/rdma).
    pub host_traddr: Option<String>,
    /// `host-iface`.
    pub host_iface: Option<String>,
    /// `hostnqn`.
    pub hostnqn: Option<String>,
    /// `hostid`.
    pub hostid: Option<String>,
}

/// Why an entry matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// A token without `=`.
    #[error("{0:?} has no '='")]
    BareToken(String),
    /// `key=` with nothing after it.
    #[error("empty value for {0:?}")]
    EmptyValue(String),
    /// A key libnvme does not know.
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    /// An address that is not one for the entry's transport.
    #[error("{0:?} is not a valid address for transport {1}")]
    BadAddress(String, String),
    /// No field at all.
    #[error("the entry sets no field")]
    Empty,
}

impl Entry {
    /// Parses `key=val;key=val` strictly, as libnvme's `libnvmf_tid_parse_strict` (empty
    /// tokens from `;;` or a trailing `;` are skipped; a repeated key keeps the last value),
    /// then canonicalises the addresses for tcp/rdma and fc.
    pub fn parse(text: &str) -> Result<Entry, EntryError> {
        let mut e = Entry::default();
        for token in text.split(';') {
            let Some((key, val)) = token.split_once('=') else {
                if token.trim().is_empty() {
                    continue;
                }
                return Err(EntryError::BareToken(token.trim().to_owned()));
            };
            let (key, val) = (key.trim(), val.trim());
            if val.is_empty() {
                return Err(EntryError::EmptyValue(key.to_owned()));
            }
            let slot = match key {
                "transport" => &mut e.transport,
                "traddr" => &mut e.traddr,
                "trsvcid" => &mut e.trsvcid,
                "nqn" => &mut e.nqn,
                "host-traddr" => &mut e.host_traddr,
                "host-iface" => &mut e.host_iface,
                "hostnqn" => &mut e.hostnqn,
                "hostid" => &mut e.hostid,
                other => return Err(EntryError::UnknownKey(other.to_owned())),
            };
            *slot = Some(val.to_owned());
        }
        if e == Entry::default() {
            return Err(EntryError::Empty);
        }
        e.sanitize()?;
        Ok(e)
    }

    /// libnvme's `tid_sanitize_addr`: fc addresses get their first `,` turned into `:` and
    /// must be `nn-0x…:pn-0x…`; tcp/rdma addresses must be IP literals and are canonicalised.
    fn sanitize(&mut self) -> Result<(), EntryError> {
        let transport = self.transport.clone().unwrap_or_default();
        for addr in [&mut self.traddr, &mut self.host_traddr]
            .into_iter()
            .flatten()
        {
            match transport.as_str() {
                "fc" => {
                    *addr = addr.replacen(',', ":", 1);
                    if !fc_wwn_valid(addr) {
                        return Err(EntryError::BadAddress(addr.clone(), transport.clone()));
                    }
                }
                "tcp" | "rdma" => {
                    let ip = IpLiteral::parse(addr)
                        .ok_or_else(|| EntryError::BadAddress(addr.clone(), transport.clone()))?;
                    *addr = ip.to_string();
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether the entry covers `conn` (see the module documentation).
    pub fn matches(&self, conn: &Connection<'_>) -> bool {
        let exact = |want: &Option<String>, have: &str| {
            want.as_deref()
                .is_none_or(|w| !have.is_empty() && w == have)
        };
        let addr = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| {
                !have.is_empty()
                    && if conn.transport == "fc" {
                        w.eq_ignore_ascii_case(have)
                    } else {
                        ip_addr_eq(w, have) || w == have
                    }
            })
        };
        exact(&self.transport, conn.transport)
            && addr(&self.traddr, conn.traddr)
            && exact(&self.trsvcid, conn.trsvcid)
            && exact(&self.nqn, conn.nqn)
            && addr(&self.host_traddr, conn.host_traddr)
            && exact(&self.host_iface, conn.host_iface)
            && exact(&self.hostnqn, conn.hostnqn)
            && exact(&self.hostid, conn.hostid)
    }
}

/// `nn-0x<1–16 hex>:pn-0x<1–16 hex>`, nothing after.
fn fc_wwn_valid(s: &str) -> bool {
    let hex = |h: &str| (1..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit());
    s.strip_prefix("nn-0x")
        .and_then(|rest| rest.split_once(":pn-0x"))
        .is_some_and(|(nn, pn)| hex(nn) && hex(pn))
}

/// The connection checked against the list; empty strings are fields it lacks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Connection<'a> {
    /// Transport name (`tcp`, `rdma`, `fc`, `loop`).
    pub transport: &'a str,
    /// Target address.
    pub traddr: &'a str,
    /// Target service (port).
    pub trsvcid: &'a str,
    /// Subsystem NQN.
    pub nqn: &'a str,
    /// Host address.
    pub host_traddr: &'a str,
    /// Host interface.
    pub host_iface: &'a str,
    /// Host NQN.
    pub hostnqn: &'a str,
    /// Host ID.
    pub hostid: &'a str,
}

impl<'a> Connection<'a> {
    /// A transport ID with the host identity it connects with (`hostnqn` is used when the
    /// ID names none).
    pub fn of(tid: &'a TransportId, hostnqn: &'a str, hostid: &'a str) -> Self {
        Connection {
            transport: transport_name(tid.transport()),
            traddr: tid.traddr(),
            trsvcid: tid.trsvcid(),
            nqn: tid.subsysnqn(),
            host_traddr: tid.host_traddr(),
            host_iface: tid.host_iface(),
            hostnqn: if tid.host_nqn().is_empty() {
                hostnqn
            } else {
                tid.host_nqn()
            },
            hostid,
        }
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Rdma => "rdma",
        Transport::Fc => "fc",
        Transport::Loop => "loop",
    }
}

/// The `exclusion =` values inside `[exclusions]` sections of one list's text, with their
/// 1-based line numbers.
pub fn entries(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut in_section = false;
    for (i, raw) in text.lines().enumerate() {
        // libnvme reads a line in pieces of at most 4095 bytes; longer lines are junk here.
        if raw.len() > LINE_MAX {
            continue;
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            in_section = rest
                .split_once(']')
                .is_some_and(|(name, _)| name.trim() == "exclusions");
            continue;
        }
        let Some((key, val)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "exclusion" && in_section {
            out.push((i + 1, val.trim()));
        }
    }
    out
}

/// Where an exclusion came from, for the log line that says why a connection was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The list file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The entry as written.
    pub entry: String,
}

impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} (exclusion = {})",
            self.file.display(),
            self.line,
            self.entry
        )
    }
}

/// The list under one directory (`/etc/nvme` on a host; anywhere in tests).
#[derive(Debug, Clone)]
pub struct ExclusionList {
    dir: PathBuf,
}

impl Default for ExclusionList {
    fn default() -> Self {
        Self::new(DEFAULT_DIR)
    }
}

impl ExclusionList {
    /// The list kept under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The list files in the order libnvme consults them: the main file, then the drop-ins
    /// (named `<name>.conf`, sorted here so that the answer never depends on directory order).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = vec![self.dir.join(MAIN_FILE)];
        let mut dropins: Vec<PathBuf> = fs::read_dir(self.dir.join(DROPIN_DIR))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "conf")
                    && p.file_stem().is_some_and(|s| !s.is_empty())
            })
            .collect();
        dropins.sort();
        out.extend(dropins);
        out
    }

    /// The first entry that excludes `conn`, reading the files now; `None` when nothing does
    /// (or the list is missing or unreadable).
    pub fn find(&self, conn: &Connection<'_>) -> Option<Match> {
        self.files().into_iter().find_map(|file| {
            let bytes = super::read_bounded(&file, FILE_MAX).ok()?;
            let text = String::from_utf8_lossy(&bytes);
            entries(&text).into_iter().find_map(|(line, entry)| {
                Entry::parse(entry)
                    .is_ok_and(|e| e.matches(conn))
                    .then(|| Match {
                        file: file.clone(),
                        line,
                        entry: entry.to_owned(),
                    })
            })
        })
    }
}

#[cfg(test)]
mod tests;
