//! Value checks of the typed configuration: upstream's text checks, converters, range and
//! list checks (compat spec §1.2), Python `int()` syntax and Python `repr()` for the quoted
//! values in warning texts.

use std::collections::BTreeSet;

use libnvme_rs::trid::Transport;

use super::{DisconnectScope, IpFamily};
use crate::conf::timespan::parse_timespan;

/// Why a value was rejected; each variant renders one of upstream's warning texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `Text check found invalid value "<v>"`.
    Text,
    /// `Data converter found invalid value "<v>"`.
    Converter,
    /// `"<value>" is not within range <min>..<max>`.
    Range { value: i64, min: i64, max: i64 },
}

impl Failure {
    /// The part of the warning after `<option> - `, without the trailing consequence.
    /// `shown` is the value as upstream prints it (a Python list repr for file values).
    pub(crate) fn describe(&self, shown: &str) -> String {
        match self {
            Failure::Text => format!("Text check found invalid value \"{shown}\""),
            Failure::Converter => format!("Data converter found invalid value \"{shown}\""),
            Failure::Range { value, min, max } => {
                format!("\"{value}\" is not within range {min}..{max}")
            }
        }
    }
}

/// Result of one check: a value, or the failure that makes the caller fall back.
pub(crate) type Checked<T> = Result<T, Failure>;

/// The first check stage an option has: a bare key (no value) fails there (deliberate fix 2:
/// upstream crashes on a bare key of an option with a text check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstStage {
    Text,
    Converter,
}

impl FirstStage {
    pub(crate) fn failure(self) -> Failure {
        match self {
            FirstStage::Text => Failure::Text,
            FirstStage::Converter => Failure::Converter,
        }
    }
}

/// `true`/`false`, case-insensitive (text check, then `== "true"`).
pub(crate) fn check_bool(text: &str) -> Checked<bool> {
    match text.to_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Failure::Text),
    }
}

/// `enabled`/`disabled`, case-insensitive.
pub(crate) fn check_enabled(text: &str) -> Checked<bool> {
    match text.to_lowercase().as_str() {
        "enabled" => Ok(true),
        "disabled" => Ok(false),
        _ => Err(Failure::Text),
    }
}

/// `auto`, `kernel` or `native`, case-insensitive.
pub(crate) fn check_backend(text: &str) -> Checked<super::BackendChoice> {
    super::BackendChoice::parse(text).ok_or(Failure::Text)
}

/// An integer in Python `int()` syntax, no range.
pub(crate) fn check_int(text: &str) -> Checked<i64> {
    python_int(text).ok_or(Failure::Converter)
}

/// `queue-size`: an integer within 16..1024.
pub(crate) fn check_queue_size(text: &str) -> Checked<i64> {
    let value = check_int(text)?;
    if (16..=1024).contains(&value) {
        Ok(value)
    } else {
        Err(Failure::Range {
            value,
            min: 16,
            max: 1024,
        })
    }
}

/// `ip-family`: exactly one of four spellings, case-sensitive.
pub(crate) fn check_ip_family(text: &str) -> Checked<IpFamily> {
    match text {
        "ipv4" => Ok(IpFamily::IPV4),
        "ipv6" => Ok(IpFamily::IPV6),
        "ipv4+ipv6" | "ipv6+ipv4" => Ok(IpFamily::BOTH),
        _ => Err(Failure::Text),
    }
}

/// `disconnect-scope`, case-sensitive.
pub(crate) fn check_disconnect_scope(text: &str) -> Checked<DisconnectScope> {
    DisconnectScope::parse(text).ok_or(Failure::Text)
}

/// `connect-attempts-on-ncc`: an integer; `1` is silently raised to `2`.
pub(crate) fn check_ncc(text: &str) -> Checked<i64> {
    let value = check_int(text)?;
    Ok(if value == 1 { 2 } else { value })
}

/// `zeroconf-connections-persistence`: a time span in seconds. Upstream has no text check and
/// keeps an unparsable value as "null" (which later crashes); here it is a converter failure
/// and the default is used.
pub(crate) fn check_timespan(text: &str) -> Checked<f64> {
    match parse_timespan(text) {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(Failure::Converter),
    }
}

/// `disconnect-trtypes`: `+`-joined items, each checked against `tcp`, `rdma`, `fc`
/// (case-sensitive). Returns the valid set and the rejected items in input order
/// (duplicates collapsed); an empty valid set means "use the default".
pub(crate) fn check_trtypes(text: &str) -> (BTreeSet<Transport>, Vec<String>) {
    let mut valid = BTreeSet::new();
    let mut invalid: Vec<String> = Vec::new();
    for item in text.split('+') {
        match item {
            "tcp" => {
                valid.insert(Transport::Tcp);
            }
            "rdma" => {
                valid.insert(Transport::Rdma);
            }
            "fc" => {
                valid.insert(Transport::Fc);
            }
            other => {
                if !invalid.iter().any(|i| i == other) {
                    invalid.push(other.to_owned());
                }
            }
        }
    }
    (valid, invalid)
}

/// Python `int(text)` for `str` input: surrounding whitespace, an optional sign, ASCII digits
/// with single `_` between digits. Values outside `i64` are rejected (Python would accept
/// them; no option can use them).
pub fn python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return None;
    }
    let mut value: i128 = 0;
    let mut prev_underscore = false;
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
                if value > i128::from(i64::MAX) + 1 {
                    return None;
                }
                prev_underscore = false;
            }
            b'_' if !prev_underscore => prev_underscore = true,
            _ => return None,
        }
    }
    let value = if negative { -value } else { value };
    i64::try_from(value).ok()
}

/// Python `repr()` of a `str`.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if py_printable(c) => out.push(c),
            c => {
                let n = u32::from(c);
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
        }
    }
    out.push(quote);
    out
}

/// Approximation of Python's `str.isprintable()` for one character: control characters,
/// separators other than the space and the common format characters are not printable.
fn py_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        u32::from(c),
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
            | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
            | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF
    )
}

/// Python `repr()` of a list of optional strings (`None` for a bare key).
pub fn py_list_repr<'a>(items: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let parts: Vec<String> = items
        .into_iter()
        .map(|i| i.map_or_else(|| "None".to_owned(), py_repr))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Python `repr()` of a set of strings, sorted for a stable output (Python's order is
/// arbitrary).
pub fn py_set_repr<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let set: BTreeSet<&str> = items.into_iter().collect();
    let parts: Vec<String> = set.into_iter().map(py_repr).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Python's rendering of a bool (`True`/`False`).
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `dc-giveup-timeout` (3.x): a systemd time span; `infinity` is −1 (forever), as
/// `zeroconf-connections-persistence` spells it.
pub(crate) fn check_systemd_timespan(text: &str) -> Checked<f64> {
    match crate::conf::timespan::parse_systemd_timespan(text) {
        Some(v) if v.is_infinite() => Ok(-1.0),
        Some(v) => Ok(v),
        None => Err(Failure::Converter),
    }
}

/// `epcsd-poll-interval-minutes` (3.x): an integer, at least 1.
pub(crate) fn check_epcsd_poll(text: &str) -> Checked<i64> {
    let value = check_int(text)?;
    if value < 1 {
        return Err(Failure::Range {
            value,
            min: 1,
            max: i64::MAX,
        });
    }
    Ok(value)
}

/// 3.x yes/no switches (`honor-fabric-zoning`): yes/no, true/false, on/off, 1/0, any case.
pub(crate) fn check_yes_no(text: &str) -> Checked<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(Failure::Text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_syntax() {
        for (s, want) in [
            ("0", Some(0)),
            ("42", Some(42)),
            (" 42 ", Some(42)),
            ("+7", Some(7)),
            ("-1", Some(-1)),
            ("007", Some(7)),
            ("1_000", Some(1000)),
            ("1__000", None),
            ("_1", None),
            ("1_", None),
            ("", None),
            ("-", None),
            ("- 1", None),
            ("1.0", None),
            ("0x10", None),
            ("abc", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("99999999999999999999999999999999999999999", None),
        ] {
            assert_eq!(python_int(s), want, "{s:?}");
        }
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("abc"), "'abc'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("a\\b"), "'a\\\\b'");
        assert_eq!(py_repr("\x01\x7f\n"), "'\\x01\\x7f\\n'");
        assert_eq!(py_repr("é"), "'é'");
        assert_eq!(py_repr("\u{a0}"), "'\\xa0'");
        assert_eq!(py_repr("\u{200b}"), "'\\u200b'");
        assert_eq!(py_list_repr([Some("abc")]), "['abc']");
        assert_eq!(py_list_repr([Some("1"), None]), "['1', None]");
        assert_eq!(py_list_repr(std::iter::empty()), "[]");
        assert_eq!(py_set_repr(["b", "a", "b"]), "{'a', 'b'}");
    }

    #[test]
    fn checks() {
        assert_eq!(check_bool("TRUE"), Ok(true));
        assert_eq!(check_bool("False"), Ok(false));
        assert_eq!(check_bool("yes"), Err(Failure::Text));
        assert_eq!(check_enabled("Enabled"), Ok(true));
        assert_eq!(check_enabled("true"), Err(Failure::Text));
        assert_eq!(check_queue_size("16"), Ok(16));
        assert_eq!(check_queue_size("1024"), Ok(1024));
        assert_eq!(
            check_queue_size("5"),
            Err(Failure::Range {
                value: 5,
                min: 16,
                max: 1024
            })
        );
        assert_eq!(check_ip_family("ipv6+ipv4"), Ok(IpFamily::BOTH));
        assert_eq!(check_ip_family("IPv4"), Err(Failure::Text));
        assert_eq!(check_ncc("1"), Ok(2));
        assert_eq!(check_ncc("-3"), Ok(-3));
        assert_eq!(check_ncc("hello"), Err(Failure::Converter));
        let (v, bad) = check_trtypes("tcp+fc+tcp+bob+ rdma+bob");
        assert_eq!(v, BTreeSet::from([Transport::Tcp, Transport::Fc]));
        assert_eq!(bad, vec!["bob".to_owned(), " rdma".to_owned()]);
        assert_eq!(
            Failure::Range {
                value: 5,
                min: 16,
                max: 1024
            }
            .describe("x"),
            "\"5\" is not within range 16..1024"
        );
    }
}
