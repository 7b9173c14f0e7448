//! The key table (libnvme `config-ini.c` `keys[]`, one spelling per key) and the value
//! checks: libnvme's (`check_int`, `shr_parse_bool`, `_libnvmf_persistent_from_str`,
//! `nqn_valid`, `hostid_valid`) plus ours for every string that reaches a
//! `/dev/nvme-fabrics` option string.

use std::str::FromStr;

use libnvme_rs::admin::dim::SYMNAME_MAX_LEN;
use libnvme_rs::kernel::options::{is_uuid, is_valid_ifname};
use libnvme_rs::trid::{MAX_NQN, MAX_TRADDR, MAX_TRSVCID, TidError, Transport, check_field};

use super::error::{ErrorKind, input_text};
use super::model::{Persistent, Secret};

/// Longest secret (`tls-key`, `kxchap-*`) accepted. A DH-HMAC-CHAP secret of the largest
/// (64-byte) key is about 100 characters; the bound leaves room and keeps the option string
/// well under the kernel's page.
pub const MAX_SECRET_BYTES: usize = 512;
/// Longest free-text value accepted (`keyring`, `tls-key-identity`).
pub const MAX_TEXT_BYTES: usize = 1024;

/// Where a key may be written (libnvme `enum libnvmf_key_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Any section, and per path.
    Tunable,
    /// `[Discovery Controller Defaults]`, `[Discovery Controller]`, a DC's path line.
    DcTunable,
    /// Any section, never per path.
    Security,
    /// `[Host]` only.
    Identity,
    /// Endpoint sections only (`nqn`).
    Nqn,
    /// Endpoint sections only (`controller`, repeatable).
    Controller,
}

/// How a key's value is checked (libnvme `enum libnvmf_key_type`; strings split in two so
/// that secrets are never kept or shown as plain text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Int,
    Bool,
    Persistent,
    Text,
    Secret,
}

/// One entry of the key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyInfo {
    pub name: &'static str,
    pub ty: Type,
    pub class: Class,
}

const fn key(name: &'static str, ty: Type, class: Class) -> KeyInfo {
    KeyInfo { name, ty, class }
}

/// libnvme's `keys[]`, in its order.
pub(super) const KEYS: &[KeyInfo] = &[
    key("nr-io-queues", Type::Int, Class::Tunable),
    key("nr-write-queues", Type::Int, Class::Tunable),
    key("nr-poll-queues", Type::Int, Class::Tunable),
    key("queue-size", Type::Int, Class::Tunable),
    key("keep-alive-tmo", Type::Int, Class::Tunable),
    key("reconnect-delay", Type::Int, Class::Tunable),
    key("ctrl-loss-tmo", Type::Int, Class::Tunable),
    key("fast-io-fail-tmo", Type::Int, Class::Tunable),
    key("tos", Type::Int, Class::Tunable),
    key("duplicate-connect", Type::Bool, Class::Tunable),
    key("disable-sqflow", Type::Bool, Class::Tunable),
    key("hdr-digest", Type::Bool, Class::Tunable),
    key("data-digest", Type::Bool, Class::Tunable),
    key("persistent", Type::Persistent, Class::DcTunable),
    key("tls", Type::Bool, Class::Security),
    key("concat", Type::Bool, Class::Security),
    key("tls-key", Type::Secret, Class::Security),
    key("tls-key-identity", Type::Text, Class::Security),
    key("keyring", Type::Text, Class::Security),
    key("kxchap-secret", Type::Secret, Class::Security),
    key("kxchap-ctrl-secret", Type::Secret, Class::Security),
    key("hostnqn", Type::Text, Class::Identity),
    key("hostid", Type::Text, Class::Identity),
    key("hostsymname", Type::Text, Class::Identity),
    key("nqn", Type::Text, Class::Nqn),
    key("controller", Type::Text, Class::Controller),
];

/// The table entry for `name` (exact, case-sensitive), as `libnvmf_key_lookup`.
pub(super) fn lookup(name: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.name == name)
}

/// A checked parameter value; `Reset` is the empty form `key =`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Reset,
    Int(i32),
    Bool(bool),
    Persistent(Persistent),
    Text(String),
    Secret(Secret),
}

/// libnvme's `libnvmf_key_check_value` for a parameter key, plus our string checks.
pub(super) fn check_value(key: &KeyInfo, text: &str) -> Result<Value, ErrorKind> {
    if text.is_empty() {
        return Ok(Value::Reset);
    }
    let invalid = || ErrorKind::InvalidValue {
        key: key.name,
        value: if key.ty == Type::Secret {
            "<redacted>".to_owned()
        } else {
            input_text(text)
        },
    };
    // "A value must survive a round trip through a line-based file."
    if text.contains(['\n', '\r']) {
        return Err(invalid());
    }
    match key.ty {
        Type::Int => parse_c_int(text).map(Value::Int).ok_or_else(invalid),
        Type::Bool => parse_bool(text).map(Value::Bool).ok_or_else(invalid),
        Type::Persistent => parse_persistent(text)
            .map(Value::Persistent)
            .ok_or_else(invalid),
        Type::Secret => {
            check_secret(key.name, text)?;
            Ok(Value::Secret(Secret::new(text.to_owned())))
        }
        Type::Text => {
            match key.name {
                "keyring" => option_field(key.name, text, MAX_TEXT_BYTES)?,
                _ => check_printable(key.name, text, MAX_TEXT_BYTES)?,
            }
            Ok(Value::Text(text.to_owned()))
        }
    }
}

/// C's `strtol(text, &end, 0)` accepted only when it consumes everything and the result
/// fits an `int` (libnvme `check_int`): optional leading white space and sign, then `0x`
/// hex, `0` octal or decimal digits.
pub(super) fn parse_c_int(text: &str) -> Option<i32> {
    let b = text.trim_start_matches(is_c_space).as_bytes();
    let (negative, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    let (radix, digits) = match b {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &b[2..]),
        [b'0', ..] => (8, b),
        _ => (10, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        let d = char::from(d).to_digit(radix)?;
        value = value * i64::from(radix) + i64::from(d);
        if value > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    i32::try_from(if negative { -value } else { value }).ok()
}

/// libnvme's `shr_parse_bool`: systemd's spellings, ASCII case-insensitive.
pub(super) fn parse_bool(text: &str) -> Option<bool> {
    const YES: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
    const NO: [&str; 6] = ["0", "no", "n", "false", "f", "off"];
    if YES.iter().any(|y| y.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if NO.iter().any(|n| n.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// libnvme's `_libnvmf_persistent_from_str`: `no`, `auto`, `force`, case-insensitive.
pub(super) fn parse_persistent(text: &str) -> Option<Persistent> {
    [Persistent::No, Persistent::Auto, Persistent::Force]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(text))
}

/// White space as C's `isspace` in the C locale (what libnvme's `shr_trim` strips).
pub(super) fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `shr_trim`: strips C white space at both ends.
pub(super) fn c_trim(s: &str) -> &str {
    s.trim_matches(is_c_space)
}

/// libnvme's `nqn_valid` (NVMe Base 2.3 §4.7 structure: `nqn.yyyy-mm.` with month 01–12
/// and a non-empty rest, printable ASCII, at most 223 bytes), then our check that it cannot
/// change an option string.
pub(super) fn check_nqn(key: &'static str, text: &str) -> Result<(), ErrorKind> {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let structured = !b.is_empty()
        && b.len() <= MAX_NQN
        && b.starts_with(b"nqn.")
        && (4..8).all(digit)
        && b.get(8) == Some(&b'-')
        && digit(9)
        && digit(10)
        && b.get(11) == Some(&b'.')
        && b.len() > 12
        && matches!((b[9] - b'0') * 10 + (b[10] - b'0'), 1..=12)
        && b.iter().all(|c| (0x21..=0x7e).contains(c));
    if !structured {
        return Err(ErrorKind::InvalidNqn {
            key,
            value: input_text(text),
        });
    }
    option_field(key, text, MAX_NQN)
}

/// libnvme's `hostid_valid` (a non-zero UUID), in the kernel's strict `uuid_parse` form.
pub(super) fn check_hostid(text: &str) -> Result<(), ErrorKind> {
    if is_uuid(text) && text.bytes().any(|c| c.is_ascii_hexdigit() && c != b'0') {
        Ok(())
    } else {
        Err(ErrorKind::InvalidHostId(input_text(text)))
    }
}

/// `hostsymname`: printable ASCII (spaces allowed), at most the DIM symbolic name size.
pub(super) fn check_symname(text: &str) -> Result<(), ErrorKind> {
    check_printable("hostsymname", text, SYMNAME_MAX_LEN)
}

/// The addressing fields of a `controller =` line.
pub(super) fn check_transport(text: &str) -> Result<Transport, ErrorKind> {
    Transport::from_str(text).map_err(|_| ErrorKind::UnknownTransport(input_text(text)))
}

/// `traddr`, `trsvcid`, `host-traddr`, `host-iface` (which must also be a valid interface
/// name).
pub(super) fn check_address(key: &'static str, text: &str) -> Result<(), ErrorKind> {
    match key {
        "trsvcid" => option_field(key, text, MAX_TRSVCID),
        "host-iface" => {
            option_field(key, text, MAX_TRADDR)?;
            if is_valid_ifname(text) {
                Ok(())
            } else {
                Err(ErrorKind::UnsafeValue {
                    key,
                    reason: format!("{:?} is not a valid interface name", input_text(text)),
                })
            }
        }
        _ => option_field(key, text, MAX_TRADDR),
    }
}

/// A value copied into a `/dev/nvme-fabrics` option: `libnvme_rs::trid::check_field`.
fn option_field(key: &'static str, text: &str, max: usize) -> Result<(), ErrorKind> {
    check_field(key, text, max).map_err(|e| ErrorKind::UnsafeValue {
        key,
        reason: match e {
            TidError::BadCharacter { found, .. } => {
                format!("{:?} contains {found:?}", input_text(text))
            }
            other => other.to_string(),
        },
    })
}

/// A secret copied into an option string: printable ASCII without `,` or white space; `=` is
/// allowed (base64 padding) because the kernel takes the rest of the token. Never quoted.
fn check_secret(key: &'static str, text: &str) -> Result<(), ErrorKind> {
    if text.len() > MAX_SECRET_BYTES {
        return Err(ErrorKind::UnsafeValue {
            key,
            reason: format!("is {} bytes long (at most {MAX_SECRET_BYTES})", text.len()),
        });
    }
    if let Some(pos) = text.chars().position(|c| c == ',' || !c.is_ascii_graphic()) {
        return Err(ErrorKind::UnsafeValue {
            key,
            reason: format!(
                "character {} is ',', white space, a control character or not ASCII",
                pos + 1
            ),
        });
    }
    Ok(())
}

/// Free text that never reaches an option string: printable ASCII and spaces.
fn check_printable(key: &'static str, text: &str, max: usize) -> Result<(), ErrorKind> {
    if text.len() > max {
        return Err(ErrorKind::UnsafeValue {
            key,
            reason: format!("is {} bytes long (at most {max})", text.len()),
        });
    }
    match text.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        Some(c) => Err(ErrorKind::UnsafeValue {
            key,
            reason: format!("contains {c:?} (only printable ASCII is allowed)"),
        }),
        None => Ok(()),
    }
}
