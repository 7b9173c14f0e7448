//! The `controller=` / `exclude=` grammar (compat spec §1.4, §1.5) and exclusion matching.
//!
//! Tokenisation: the value is split on `;` (surrounding whitespace stripped, empty tokens
//! skipped) and each token on its **first** `=` (deliberate fix 1: upstream drops any token
//! with a second `=`, which loses padded DH-HMAC-CHAP secrets). Keys are case-sensitive;
//! later duplicates win (keeping the first position, as a Python dict); `nqn` becomes
//! `subsysnqn`.
//!
//! Entries that can never form a controller identity are dropped at load time with a warning
//! (upstream drops them silently at every reconcile). FC and loop entries are kept
//! (deliberate fix 4: upstream forces their `trsvcid` empty and then drops them for it).
//! An invalid per-controller override is dropped with a warning so that the `[Global]` value
//! applies (deliberate fix 5: upstream substitutes the built-in default). An empty exclusion
//! is ignored with a warning (deliberate fix 3: upstream excludes everything).
//!
//! Host-name resolution and the ip-family filter are in [`resolve`].

pub mod resolve;

use std::collections::HashMap;
use std::path::Path;

use libnvme_rs::spec::WELL_KNOWN_DISC_NQN;
use libnvme_rs::trid::{RDMA_DEFAULT_TRSVCID, TCP_DEFAULT_TRSVCID, Transport, TransportId};

use super::options::value::{self, Checked, py_bool};
use super::options::{ConnectParams, Daemon, Diagnostic, IpFamily, Level};

/// Keys of the seven identity fields, as written in a `controller=` line.
pub const TID_KEYS: [&str; 7] = [
    "transport",
    "traddr",
    "trsvcid",
    "subsysnqn",
    "host-traddr",
    "host-iface",
    "host-nqn",
];

/// Result of splitting one `controller=`/`exclude=` value into `key=value` tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Pairs in order of first appearance; a later duplicate replaced the value in place.
    pub pairs: Vec<(String, String)>,
    /// Tokens that were dropped: no `=`, or an empty key.
    pub rejected: Vec<String>,
}

/// Splits a value on `;` and each token on its first `=` (see the module docs).
pub fn tokenize(text: &str) -> Tokens {
    let mut out = Tokens::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    for token in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        match token.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                dict_insert(&mut out.pairs, &mut index, k.trim(), v.trim());
            }
            _ => out.rejected.push(token.to_owned()),
        }
    }
    out
}

/// Python-dict insertion: replace in place if present, else append.
fn dict_insert(
    pairs: &mut Vec<(String, String)>,
    index: &mut HashMap<String, usize>,
    key: &str,
    value: &str,
) {
    match index.get(key) {
        Some(&i) => value.clone_into(&mut pairs[i].1),
        None => {
            index.insert(key.to_owned(), pairs.len());
            pairs.push((key.to_owned(), value.to_owned()));
        }
    }
}

/// Deduplicates pairs (later wins, first position kept) and renames `nqn` to `subsysnqn`
/// (`cid['subsysnqn'] = cid.pop('nqn')`: `nqn` wins over an explicit `subsysnqn`).
pub fn normalize(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut index = HashMap::new();
    for (k, v) in pairs {
        dict_insert(&mut out, &mut index, &k, &v);
    }
    if let Some(pos) = out.iter().position(|(k, _)| k == "nqn") {
        let (_, nqn) = out.remove(pos);
        match out.iter_mut().find(|(k, _)| k == "subsysnqn") {
            Some(entry) => entry.1 = nqn,
            None => out.push(("subsysnqn".to_owned(), nqn)),
        }
    }
    out
}

/// Where a `controller=`/`exclude=` item came from, for diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct ItemContext<'a> {
    /// The daemon whose rules apply.
    pub daemon: Daemon,
    /// The configuration file.
    pub file: &'a Path,
    /// The line of the key.
    pub line: Option<usize>,
    /// The option name (`controller`, `exclude` or the deprecated `blacklist`).
    pub option: &'a str,
}

impl ItemContext<'_> {
    fn warn(&self, diags: &mut Vec<Diagnostic>, message: String) {
        diags.push(Diagnostic {
            level: Level::Warning,
            file: self.file.to_owned(),
            line: self.line,
            message: format!(
                "File:{} [Controllers]: {} - {message}",
                self.file.display(),
                self.option
            ),
        });
    }

    fn warn_rejected(&self, diags: &mut Vec<Diagnostic>, rejected: &[String]) {
        for token in rejected {
            self.warn(
                diags,
                format!(
                    "Token {} ignored: expected key=value",
                    value::py_repr(token)
                ),
            );
        }
    }
}

/// A configured controller (`controller=` line), typed.
///
/// `trsvcid` is already defaulted (tcp `8009`, rdma `4420`, fc/loop empty) and, for stafd,
/// an absent `subsysnqn` is the well-known discovery NQN.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerEntry {
    /// Transport.
    pub transport: Transport,
    /// Target address: IP literal or host name (tcp/rdma), WWNN/WWPN (fc), may be empty (loop).
    pub traddr: String,
    /// Target port after defaulting.
    pub trsvcid: String,
    /// Subsystem NQN.
    pub subsysnqn: String,
    /// Host source address.
    pub host_traddr: String,
    /// Host interface (before `ignore-iface` is applied, see [`ControllerEntry::tid`]).
    pub host_iface: String,
    /// Per-controller host NQN; `None` means the system host NQN.
    pub host_nqn: Option<String>,
    /// `dhchap-secret`.
    pub dhchap_secret: Option<String>,
    /// `dhchap-ctrl-secret`.
    pub dhchap_ctrl_secret: Option<String>,
    /// Kernel connect settings only the 3.x connection file has (TLS, `fast-io-fail-tmo`,
    /// `tos`, `duplicate-connect`); 2.x `controller=` lines leave them unset.
    pub v3: V3Params,
    /// Valid overrides of `[Global]` connect options.
    pub overrides: ConnectParams,
    /// Every other key, verbatim, in order (unknown keys and the per-controller keys that
    /// have no effect: `tron`, `pleo`, `ip-family`, `ignore-iface`).
    pub extra: Vec<(String, String)>,
    /// All pairs as written (after deduplication and the `nqn` rename), verbatim.
    pub params: Vec<(String, String)>,
    /// Line of the `controller=` key.
    pub line: Option<usize>,
}

/// What a path of the 3.x connection file can set that a 2.x `controller=` line cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V3Params {
    /// `tls`, `concat`, `keyring`, `tls-key`, `tls-key-identity`.
    pub tls: libnvme_rs::controller::TlsParams,
    /// `fast-io-fail-tmo` (seconds; negative values are libnvme's "unset").
    pub fast_io_fail_tmo: Option<u32>,
    /// `tos`.
    pub tos: Option<i32>,
    /// `duplicate-connect`.
    pub duplicate_connect: bool,
}

impl V3Params {
    /// Copies these into the controller interface's parameters.
    pub fn apply(&self, p: &mut libnvme_rs::controller::ConnectParams) {
        p.tls = self.tls.clone();
        p.fast_io_fail_tmo = self.fast_io_fail_tmo;
        p.tos = self.tos;
        p.duplicate_connect = self.duplicate_connect;
    }
}

/// The per-controller override keys that map to [`ConnectParams`].
const OVERRIDE_KEYS: [&str; 10] = [
    "kato",
    "queue-size",
    "reconnect-delay",
    "ctrl-loss-tmo",
    "nr-io-queues",
    "nr-write-queues",
    "nr-poll-queues",
    "hdr-digest",
    "data-digest",
    "disable-sqflow",
];

/// `[Global]` keys that upstream validates in a controller line but never uses there.
const UNUSED_GLOBAL_KEYS: [&str; 4] = ["tron", "pleo", "ip-family", "ignore-iface"];

/// Validates an override value; `Ok(rendering)` is upstream's Python rendering of the
/// converted value (as it appears in the D-Bus identity dict).
fn check_override(key: &str, text: &str, params: &mut ConnectParams) -> Checked<String> {
    let int = |v: i64| v.to_string();
    Ok(match key {
        "kato" => int(*params.kato.insert(value::check_int(text)?)),
        "queue-size" => int(*params.queue_size.insert(value::check_queue_size(text)?)),
        "reconnect-delay" => int(*params.reconnect_delay.insert(value::check_int(text)?)),
        "ctrl-loss-tmo" => int(*params.ctrl_loss_tmo.insert(value::check_int(text)?)),
        "nr-io-queues" => int(*params.nr_io_queues.insert(value::check_int(text)?)),
        "nr-write-queues" => int(*params.nr_write_queues.insert(value::check_int(text)?)),
        "nr-poll-queues" => int(*params.nr_poll_queues.insert(value::check_int(text)?)),
        "hdr-digest" => py_bool(*params.hdr_digest.insert(value::check_bool(text)?)).to_owned(),
        "data-digest" => py_bool(*params.data_digest.insert(value::check_bool(text)?)).to_owned(),
        "disable-sqflow" => {
            py_bool(*params.disable_sqflow.insert(value::check_bool(text)?)).to_owned()
        }
        "tron" | "ignore-iface" => py_bool(value::check_bool(text)?).to_owned(),
        "pleo" => py_bool(value::check_enabled(text)?).to_owned(),
        "ip-family" => match value::check_ip_family(text)? {
            IpFamily {
                ipv4: true,
                ipv6: true,
            } => "(4, 6)".to_owned(),
            IpFamily { ipv4: true, .. } => "(4,)".to_owned(),
            _ => "(6,)".to_owned(),
        },
        _ => text.to_owned(),
    })
}

impl ControllerEntry {
    /// Parses one `controller=` item (one physical line of the value).
    pub fn parse(ctx: &ItemContext<'_>, text: &str) -> (Option<Self>, Vec<Diagnostic>) {
        let tokens = tokenize(text);
        let mut diags = Vec::new();
        ctx.warn_rejected(&mut diags, &tokens.rejected);
        let entry = Self::from_pairs_into(ctx, tokens.pairs, &mut diags);
        (entry, diags)
    }

    /// Builds an entry from structured pairs (a TOML table); same rules as [`Self::parse`].
    pub fn from_pairs(
        ctx: &ItemContext<'_>,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> (Option<Self>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let entry = Self::from_pairs_into(ctx, pairs, &mut diags);
        (entry, diags)
    }

    fn from_pairs_into(
        ctx: &ItemContext<'_>,
        pairs: impl IntoIterator<Item = (String, String)>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let params = normalize(pairs);
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };

        let transport = match get("transport").unwrap_or("") {
            "" => {
                ctx.warn(diags, "Entry ignored: no transport".to_owned());
                return None;
            }
            t => match t.parse::<Transport>() {
                Ok(t) => t,
                Err(e) => {
                    ctx.warn(diags, format!("{e}: entry ignored"));
                    return None;
                }
            },
        };
        let traddr = get("traddr").unwrap_or("").to_owned();
        if traddr.is_empty() && transport != Transport::Loop {
            ctx.warn(diags, "Entry ignored: no traddr".to_owned());
            return None;
        }
        let written_port = get("trsvcid").unwrap_or("");
        let trsvcid = match transport {
            Transport::Tcp | Transport::Rdma if !written_port.is_empty() => written_port,
            Transport::Tcp => TCP_DEFAULT_TRSVCID,
            Transport::Rdma => RDMA_DEFAULT_TRSVCID,
            Transport::Fc | Transport::Loop => {
                if !written_port.is_empty() {
                    ctx.warn(
                        diags,
                        format!(
                            "trsvcid {} ignored: transport {transport} has no port",
                            value::py_repr(written_port)
                        ),
                    );
                }
                ""
            }
        }
        .to_owned();
        let subsysnqn = match (get("subsysnqn").unwrap_or(""), ctx.daemon) {
            ("", Daemon::Stafd) => WELL_KNOWN_DISC_NQN.to_owned(),
            ("", Daemon::Stacd) => {
                ctx.warn(
                    diags,
                    "Entry ignored: no subsysnqn (mandatory for I/O controllers)".to_owned(),
                );
                return None;
            }
            (nqn, _) => nqn.to_owned(),
        };

        let mut overrides = ConnectParams::default();
        let mut extra = Vec::new();
        for (key, text) in &params {
            let key = key.as_str();
            if TID_KEYS.contains(&key) || key == "dhchap-secret" || key == "dhchap-ctrl-secret" {
                continue;
            }
            if OVERRIDE_KEYS.contains(&key) {
                if let Err(failure) = check_override(key, text, &mut overrides) {
                    ctx.warn(
                        diags,
                        format!(
                            "{key}: {}. The [Global] value will be used",
                            failure.describe(text)
                        ),
                    );
                }
                continue;
            }
            if UNUSED_GLOBAL_KEYS.contains(&key) {
                let why = match check_override(key, text, &mut overrides) {
                    Ok(_) => String::new(),
                    Err(failure) => format!("{}. ", failure.describe(text)),
                };
                ctx.warn(
                    diags,
                    format!("{key}: {why}Ignored: no effect in a controller entry"),
                );
            }
            extra.push((key.to_owned(), text.clone()));
        }

        let opt = |k: &str| get(k).map(str::to_owned);
        Some(ControllerEntry {
            transport,
            traddr,
            trsvcid,
            subsysnqn,
            host_traddr: get("host-traddr").unwrap_or("").to_owned(),
            host_iface: get("host-iface").unwrap_or("").to_owned(),
            host_nqn: opt("host-nqn"),
            dhchap_secret: opt("dhchap-secret"),
            dhchap_ctrl_secret: opt("dhchap-ctrl-secret"),
            v3: V3Params::default(),
            overrides,
            extra,
            line: ctx.line,
            params,
        })
    }

    /// The controller identity: `system_host_nqn` unless the entry has its own `host-nqn`;
    /// no host interface when `ignore_iface` is set.
    pub fn tid(&self, system_host_nqn: &str, ignore_iface: bool) -> TransportId {
        TransportId::new(self.transport, &self.traddr, &self.trsvcid, &self.subsysnqn)
            .with_host_traddr(&self.host_traddr)
            .with_host_iface(if ignore_iface { "" } else { &self.host_iface })
            .with_host_nqn(self.host_nqn.as_deref().unwrap_or(system_host_nqn))
    }

    /// The connect parameters: each override, else the `[Global]` value.
    pub fn connect_params(&self, global: &ConnectParams) -> ConnectParams {
        self.overrides.or(global)
    }

    /// The entry's non-identity keys, verbatim (what exclusions compare besides the TID).
    pub fn extras(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.params
            .iter()
            .filter(|(k, _)| !TID_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The extra keys of upstream's D-Bus identity dict, in order: [`typed_params`] minus
    /// `transport`, `traddr`, `trsvcid`, `subsysnqn`, `host-traddr`, `host-iface`.
    /// `host-nqn` keeps its position if written; the caller sets its value.
    pub fn identity_extras(&self) -> Vec<(String, String)> {
        typed_params(&self.params)
            .into_iter()
            .filter(|(k, _)| !TID_KEYS[..6].contains(&k.as_str()))
            .collect()
    }

    /// Whether `traddr` must go through the resolver (tcp/rdma and not an IP literal).
    pub fn needs_resolution(&self) -> bool {
        self.transport.is_ip() && libnvme_rs::trid::IpLiteral::parse(&self.traddr).is_none()
    }

    /// A copy with `traddr` replaced (after host-name resolution).
    #[must_use]
    pub fn with_traddr(&self, traddr: &str) -> Self {
        let mut out = self.clone();
        traddr.clone_into(&mut out.traddr);
        if let Some(p) = out.params.iter_mut().find(|(k, _)| k == "traddr") {
            traddr.clone_into(&mut p.1);
        }
        out
    }
}

/// Upstream's `get_controllers()` dict of one line, rendered as strings: every pair in
/// order, the `[Global]` keys converted and rendered as Python prints them (`True`, `71`,
/// `(4, 6)`). Invalid overrides are left out (fix 5: the `[Global]` value applies); invalid
/// values of the keys that have no effect per controller are kept verbatim.
pub fn typed_params(params: &[(String, String)]) -> Vec<(String, String)> {
    let mut scratch = ConnectParams::default();
    params
        .iter()
        .filter_map(|(k, v)| {
            let key = k.as_str();
            if !OVERRIDE_KEYS.contains(&key) && !UNUSED_GLOBAL_KEYS.contains(&key) {
                return Some((k.clone(), v.clone()));
            }
            match check_override(key, v, &mut scratch) {
                Ok(rendered) => Some((k.clone(), rendered)),
                Err(_) if UNUSED_GLOBAL_KEYS.contains(&key) => Some((k.clone(), v.clone())),
                Err(_) => None,
            }
        })
        .collect()
}

/// An `exclude=` entry: every key present must equal the candidate's (§1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// Keys and values, `host-traddr` removed, `nqn` renamed to `subsysnqn`. Never empty.
    pub pairs: Vec<(String, String)>,
    /// Line of the `exclude=` key.
    pub line: Option<usize>,
}

impl Exclusion {
    /// Parses one `exclude=` item; `None` (with a warning) when nothing is left to match on.
    pub fn parse(ctx: &ItemContext<'_>, text: &str) -> (Option<Self>, Vec<Diagnostic>) {
        let tokens = tokenize(text);
        let mut diags = Vec::new();
        ctx.warn_rejected(&mut diags, &tokens.rejected);
        let ex = Self::from_pairs_into(ctx, tokens.pairs, &mut diags);
        (ex, diags)
    }

    /// Builds an exclusion from structured pairs (a TOML table).
    pub fn from_pairs(
        ctx: &ItemContext<'_>,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> (Option<Self>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let ex = Self::from_pairs_into(ctx, pairs, &mut diags);
        (ex, diags)
    }

    fn from_pairs_into(
        ctx: &ItemContext<'_>,
        pairs: impl IntoIterator<Item = (String, String)>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let mut pairs = normalize(pairs);
        let had_host_traddr = pairs.iter().any(|(k, _)| k == "host-traddr");
        pairs.retain(|(k, _)| k != "host-traddr");
        if pairs.is_empty() {
            let why = if had_host_traddr {
                "Exclusion ignored: host-traddr is not matched and nothing else is given"
            } else {
                "Empty exclusion ignored"
            };
            ctx.warn(
                diags,
                format!("{why} (upstream nvme-stas would exclude every controller)"),
            );
            return None;
        }
        Some(Exclusion {
            pairs,
            line: ctx.line,
        })
    }

    /// Whether the candidate (identity + extra keys) is excluded: every key of the exclusion
    /// must be present in the candidate with an identical string (no IP normalisation).
    pub fn matches<'a>(
        &self,
        tid: &TransportId,
        extras: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> bool {
        self.pairs.iter().all(|(key, want)| {
            let have = match key.as_str() {
                "transport" => Some(tid.transport().as_str()),
                "traddr" => Some(tid.traddr()),
                "trsvcid" => Some(tid.trsvcid()),
                "subsysnqn" => Some(tid.subsysnqn()),
                "host-traddr" => Some(tid.host_traddr()),
                "host-iface" => Some(tid.host_iface()),
                "host-nqn" => Some(tid.host_nqn()),
                other => extras
                    .clone()
                    .into_iter()
                    .filter(|(k, _)| *k == other)
                    .last()
                    .map(|(_, v)| v),
            };
            have == Some(want.as_str())
        })
    }
}

/// Whether any exclusion matches the candidate.
pub fn is_excluded<'a>(
    exclusions: &[Exclusion],
    tid: &TransportId,
    extras: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> bool {
    exclusions.iter().any(|e| e.matches(tid, extras.clone()))
}

/// Keeps the configured entries no exclusion matches (their identity built with
/// `system_host_nqn` and `ignore_iface`, extras from the line).
pub fn remove_excluded_entries(
    entries: Vec<ControllerEntry>,
    exclusions: &[Exclusion],
    system_host_nqn: &str,
    ignore_iface: bool,
) -> Vec<ControllerEntry> {
    if exclusions.is_empty() {
        return entries;
    }
    entries
        .into_iter()
        .filter(|e| {
            !is_excluded(
                exclusions,
                &e.tid(system_host_nqn, ignore_iface),
                e.extras(),
            )
        })
        .collect()
}

/// Keeps the identities no exclusion matches (discovered controllers have no extra keys).
pub fn remove_excluded_tids(tids: Vec<TransportId>, exclusions: &[Exclusion]) -> Vec<TransportId> {
    tids.into_iter()
        .filter(|t| !is_excluded(exclusions, t, std::iter::empty()))
        .collect()
}

/// Whether `key` names a secret whose value must not be shown (`dhchap-secret`,
/// `dhchap-ctrl-secret`, or any key mentioning `secret`, `key` or `psk`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_lowercase();
    k.contains("secret") || k.contains("key") || k.contains("psk")
}

/// Renders pairs back into `key=value;...` form, secrets masked when `mask` is set.
pub fn render_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, mask: bool) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| {
            if mask && is_secret_key(k) && !v.is_empty() {
                format!("{k}=********")
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests;
