//! The TOML form of the daemon configuration (`--conf-file x.toml`).
//!
//! Same sections and option names as the INI files, as tables; option names are
//! case-insensitive, section names case-sensitive. Scalars are turned into the text the INI
//! form would hold (`true` → `true`, `30` → `30`; for the `enabled`/`disabled` options `pleo`
//! and `zeroconf` a boolean becomes `enabled`/`disabled`), so validation and diagnostics are
//! exactly those of the INI form, with line numbers from the TOML spans. An array stands for
//! a repeated key. Controllers and exclusions are tables or `key=value;` strings:
//!
//! ```toml
//! [Global]
//! kato = 30
//! ip-family = "ipv4"
//!
//! ["Service Discovery"]
//! zeroconf = true
//!
//! [[Controllers.controller]]
//! transport = "tcp"
//! traddr = "10.0.0.1"
//! dhchap-secret = "DHHC-1:00:...=:"
//!
//! [Controllers]
//! exclude = [{ transport = "tcp", traddr = "10.0.0.9" }, "host-iface=eth1"]
//! ```

use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::conf::options::{
    CONTROLLERS, Diagnostic, Level, RawConfig, RawKind, RawOption, RawSection, RawValue,
    SERVICE_DISCOVERY,
};

/// Byte offset → 1-based line.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    fn line(&self, offset: usize) -> usize {
        match self.0.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

struct Ctx<'a> {
    path: &'a Path,
    lines: Lines,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn push(&mut self, level: Level, offset: usize, message: String) {
        let line = self.lines.line(offset);
        self.diags.push(Diagnostic {
            level,
            file: self.path.to_owned(),
            line: Some(line),
            message: format!("File:{} {message}", self.path.display()),
        });
    }
}

/// Whether a TOML boolean of this option means `enabled`/`disabled`.
fn enabled_option(section: &str, option: &str) -> bool {
    matches!(
        (section, option),
        ("Global", "pleo") | (SERVICE_DISCOVERY, "zeroconf")
    )
}

/// The text of a scalar; `None` for arrays and tables.
fn scalar_text(v: &DeValue<'_>, enabled: bool) -> Option<String> {
    Some(match v {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) if i.radix() == 10 => i.as_str().to_owned(),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map_or_else(|_| i.as_str().to_owned(), |n| n.to_string()),
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Boolean(b) => match (enabled, b) {
            (true, true) => "enabled".to_owned(),
            (true, false) => "disabled".to_owned(),
            (false, b) => b.to_string(),
        },
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) | DeValue::Table(_) => return None,
    })
}

/// Parses TOML `text` (as if read from `path`) into the format-neutral form. A syntax error
/// yields an empty configuration (defaults) and an error diagnostic.
pub fn to_raw(text: &str, path: &Path) -> (RawConfig, Vec<Diagnostic>) {
    let mut ctx = Ctx {
        path,
        lines: Lines::new(text),
        diags: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let message = e.message().trim_end().replace('\n', " ");
            ctx.push(
                Level::Error,
                offset,
                format!("cannot be parsed: {message}. Defaults will be used"),
            );
            return (RawConfig::empty(path), ctx.diags);
        }
    };
    let mut raw = RawConfig::empty(path);
    for (name, value) in doc.get_ref().iter() {
        let name_str = name.get_ref().as_ref();
        let DeValue::Table(table) = value.get_ref() else {
            ctx.push(
                Level::Error,
                name.span().start,
                format!(
                    "contains an option outside any section: {}",
                    crate::conf::options::py_repr(name_str)
                ),
            );
            continue;
        };
        let mut section = RawSection {
            name: name_str.to_owned(),
            line: Some(ctx.lines.line(name.span().start)),
            options: Vec::new(),
        };
        for (key, v) in table.iter() {
            let option = key.get_ref().to_lowercase();
            let line = Some(ctx.lines.line(key.span().start));
            let list_option = name_str == CONTROLLERS;
            let enabled = enabled_option(name_str, &option);
            let items: Vec<&toml::Spanned<DeValue<'_>>> = match v.get_ref() {
                DeValue::Array(a) => a.iter().collect(),
                _ => vec![v],
            };
            let mut values = Vec::new();
            for item in items {
                let item_line = Some(ctx.lines.line(item.span().start)).or(line);
                let kind = match (item.get_ref(), list_option) {
                    (DeValue::Table(t), true) => RawKind::Pairs(pairs(&mut ctx, name_str, t)),
                    (other, _) => match scalar_text(other, enabled) {
                        Some(t) => RawKind::Text(t),
                        None => {
                            ctx.push(
                                Level::Warning,
                                item.span().start,
                                format!(
                                    "[{name_str}]: {option} - Unsupported TOML value ({}): ignored",
                                    other.type_str()
                                ),
                            );
                            continue;
                        }
                    },
                };
                values.push(RawValue {
                    line: item_line,
                    kind,
                });
            }
            if !values.is_empty() {
                section.options.push(RawOption {
                    key: option,
                    values,
                });
            }
        }
        raw.sections.push(section);
    }
    (raw, ctx.diags)
}

/// A controller/exclusion table as `key=value` pairs (keys verbatim, case-sensitive).
fn pairs(ctx: &mut Ctx<'_>, section: &str, t: &DeTable<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in t.iter() {
        let key = k.get_ref().as_ref();
        match scalar_text(v.get_ref(), false) {
            Some(text) => out.push((key.to_owned(), text)),
            None => ctx.push(
                Level::Warning,
                k.span().start,
                format!(
                    "[{section}]: {key} - Unsupported TOML value ({}): ignored",
                    v.get_ref().type_str()
                ),
            ),
        }
    }
    out
}
