//! Line classification, as libnvme's `shared/ini-util.c` (`parse_lines`, `ini_line`).

use super::keys::c_trim;

/// What one line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line<'a> {
    /// Blank, or a comment (`#` first after trimming; there are no inline comments).
    Skip,
    /// `[name]`, the name trimmed.
    Section(&'a str),
    /// `key = value`, split at the first `=`, both trimmed (the value may be empty).
    KeyValue(&'a str, &'a str),
    /// Anything else, trimmed.
    Junk(&'a str),
}

/// Classifies one line (without its `\n`).
pub(super) fn classify(raw: &str) -> Line<'_> {
    let s = c_trim(raw);
    if s.is_empty() || s.starts_with('#') {
        return Line::Skip;
    }
    if let Some(rest) = s.strip_prefix('[') {
        // The first ']' closes the name; the name must not be blank and nothing may follow.
        return match rest.split_once(']') {
            Some((name, after)) if !c_trim(name).is_empty() && c_trim(after).is_empty() => {
                Line::Section(c_trim(name))
            }
            _ => Line::Junk(s),
        };
    }
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Line::KeyValue(c_trim(key), c_trim(value)),
        _ => Line::Junk(s),
    }
}
