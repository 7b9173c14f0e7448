//! The three output forms of the ctl tools: readable (default), `--json`, and `--pprint`
//! (upstream's `pprint.pformat(obj, width=120)`, byte for byte).

use std::io::Write;

use crate::pprint::{PyValue, ctl_pformat};

/// `--json` / `--pprint`, accepted before or after the subcommand.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputArgs {
    /// Print JSON (stable keys, see the JSON schema shipped with the tool)
    #[arg(long = "json", global = true, conflicts_with = "pprint")]
    pub json: bool,
    /// Print upstream's Python pprint output (what nvme-stas 2.x printed)
    #[arg(long = "pprint", global = true)]
    pub pprint: bool,
}

impl OutputArgs {
    /// The chosen form.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.pprint {
            Format::Pprint
        } else {
            Format::Readable
        }
    }
}

/// An output form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables and trees for people.
    Readable,
    /// JSON, keys sorted.
    Json,
    /// Python `pprint.pformat(width=120)`.
    Pprint,
}

/// A Python value as JSON, object keys sorted (stable output).
pub fn to_json(v: &PyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        PyValue::None => J::Null,
        PyValue::Bool(b) => J::Bool(*b),
        PyValue::Int(n) => i64::try_from(*n)
            .map(J::from)
            .or_else(|_| u64::try_from(*n).map(J::from))
            .unwrap_or_else(|_| J::String(n.to_string())),
        PyValue::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        PyValue::Str(s) => J::String(s.clone()),
        PyValue::List(items) => J::Array(items.iter().map(to_json).collect()),
        PyValue::Dict(pairs) => {
            let mut sorted: Vec<&(String, PyValue)> = pairs.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            // A repeated key keeps its last value, as in Python.
            let mut map = serde_json::Map::new();
            for (k, v) in sorted {
                map.insert(k.clone(), to_json(v));
            }
            J::Object(map)
        }
    }
}

/// The `--json` text of `v` (pretty, one trailing newline).
pub fn json_text(v: &PyValue) -> String {
    let mut s = serde_json::to_string_pretty(&to_json(v)).unwrap_or_default();
    s.push('\n');
    s
}

/// The `--pprint` text of `v` (what upstream's `print(pprint.pformat(v, width=120))` writes).
pub fn pprint_text(v: &PyValue) -> String {
    let mut s = ctl_pformat(v);
    s.push('\n');
    s
}

/// Writes `text` on stdout; a closed pipe is not an error.
pub fn emit(text: &str) -> Result<(), std::io::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The text of `v` in a machine form (`Json` or `Pprint`); `None` for `Readable`.
pub fn machine_text(format: Format, v: &PyValue) -> Option<String> {
    match format {
        Format::Json => Some(json_text(v)),
        Format::Pprint => Some(pprint_text(v)),
        Format::Readable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_sorts_keys_and_keeps_types() {
        let v = PyValue::dict([
            ("b", PyValue::from(true)),
            ("a", PyValue::from(3u64)),
            ("c", PyValue::List(vec![PyValue::None, PyValue::str("x")])),
        ]);
        assert_eq!(
            serde_json::to_string(&to_json(&v)).unwrap(),
            r#"{"a":3,"b":true,"c":[null,"x"]}"#
        );
        assert_eq!(pprint_text(&v), "{'a': 3, 'b': True, 'c': [None, 'x']}\n");
    }

    #[test]
    fn formats_are_exclusive_choices() {
        let o = OutputArgs::default();
        assert_eq!(o.format(), Format::Readable);
        assert_eq!(
            OutputArgs {
                json: true,
                pprint: false
            }
            .format(),
            Format::Json
        );
        assert_eq!(
            OutputArgs {
                json: false,
                pprint: true
            }
            .format(),
            Format::Pprint
        );
        assert!(machine_text(Format::Readable, &PyValue::None).is_none());
    }
}
