//! JSON exactly as Python's `json.dumps()` writes it with default arguments: `", "` and
//! `": "` separators, keys in insertion order, non-ASCII escaped as `\uXXXX`. The daemons'
//! JSON strings on D-Bus must be byte-compatible with upstream's.

use std::fmt::Write;

/// A JSON value with ordered objects.
#[derive(Debug, Clone, PartialEq)]
pub enum PyJson {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<PyJson>),
    /// An object, in insertion order.
    Obj(Vec<(String, PyJson)>),
}

impl PyJson {
    /// An object of strings (a controller or DLPE dictionary).
    pub fn str_dict<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        PyJson::Obj(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), PyJson::Str(v.to_owned())))
                .collect(),
        )
    }

    /// The text `json.dumps()` produces.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            PyJson::Null => out.push_str("null"),
            PyJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            PyJson::Str(s) => write_str(out, s),
            PyJson::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out);
                }
                out.push(']');
            }
            PyJson::Obj(items) => {
                out.push('{');
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_str(out, k);
                    out.push_str(": ");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_json_dumps() {
        // Expected texts are what CPython 3.11 json.dumps() prints for the same values.
        let v = PyJson::Obj(vec![
            ("tron".into(), PyJson::Bool(false)),
            ("log-level".into(), PyJson::Str("INFO".into())),
            ("symname".into(), PyJson::Null),
            (
                "a".into(),
                PyJson::Arr(vec![
                    PyJson::Str("é\"\\\n\u{1}\u{7f}😀".into()),
                    PyJson::Arr(vec![]),
                ]),
            ),
            ("o".into(), PyJson::Obj(vec![])),
        ]);
        assert_eq!(
            v.dumps(),
            r#"{"tron": false, "log-level": "INFO", "symname": null, "a": ["\u00e9\"\\\n\u0001\u007f\ud83d\ude00", []], "o": {}}"#
        );
    }
}
