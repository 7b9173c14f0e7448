//! The format-neutral form of a configuration file that both the INI reader and the TOML
//! loader produce, and from which the typed configuration is built.

use std::path::{Path, PathBuf};

use crate::conf::ini::IniDocument;

/// A whole file: sections in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// The file the values came from (used in every diagnostic).
    pub file: PathBuf,
    /// Sections; repeated headers are already merged.
    pub sections: Vec<RawSection>,
}

/// One section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    /// Case-sensitive name.
    pub name: String,
    /// Line of the (first) header, if known.
    pub line: Option<usize>,
    /// Options in order of first appearance.
    pub options: Vec<RawOption>,
}

/// All occurrences of one option in a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOption {
    /// Lower-cased option name.
    pub key: String,
    /// Occurrences in file order.
    pub values: Vec<RawValue>,
}

/// One occurrence of an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue {
    /// Line of the key, if known.
    pub line: Option<usize>,
    /// The value.
    pub kind: RawKind,
}

/// What an occurrence holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawKind {
    /// A key without `=` (INI `allow_no_value`).
    Bare,
    /// Text; INI continuation lines are joined with `\n`.
    Text(String),
    /// Structured `key = value` pairs (a TOML table standing for a `controller=`/`exclude=`
    /// line), in order.
    Pairs(Vec<(String, String)>),
}

impl RawConfig {
    /// An empty configuration for `file` (all defaults).
    pub fn empty(file: &Path) -> Self {
        RawConfig {
            file: file.to_owned(),
            sections: Vec::new(),
        }
    }

    /// Converts a parsed INI document.
    pub fn from_ini(doc: &IniDocument, file: &Path) -> Self {
        let sections = doc
            .sections
            .iter()
            .map(|s| RawSection {
                name: s.name.clone(),
                line: Some(s.origin.line),
                options: s
                    .options
                    .iter()
                    .map(|o| RawOption {
                        key: o.key.to_lowercase(),
                        values: o
                            .values
                            .iter()
                            .map(|v| RawValue {
                                line: Some(v.origin.line),
                                kind: match &v.value {
                                    None => RawKind::Bare,
                                    Some(t) => RawKind::Text(t.clone()),
                                },
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        RawConfig {
            file: file.to_owned(),
            sections,
        }
    }

    /// The section named `name` (case-sensitive).
    pub fn section(&self, name: &str) -> Option<&RawSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every occurrence of `key` in `section`, in file order.
    pub fn get_all(&self, section: &str, key: &str) -> &[RawValue] {
        self.section(section)
            .and_then(|s| s.options.iter().find(|o| o.key == key))
            .map_or(&[], |o| o.values.as_slice())
    }
}

/// The effective text of a single-valued option, configparser-style: the last occurrence
/// counts, and of a multi-line value only its last physical line.
pub(crate) struct SingleValue<'a> {
    /// The text used (`None` for a bare key or a structured value).
    pub text: Option<&'a str>,
    /// Line of the occurrence used.
    pub line: Option<usize>,
    values: &'a [RawValue],
}

impl SingleValue<'_> {
    /// What upstream prints as `<v>`: the Python list of the physical lines accumulated since
    /// the last bare occurrence (a bare key resets configparser's multiset list), or `None`.
    pub(crate) fn shown(&self) -> String {
        if self.text.is_none() {
            return "None".to_owned();
        }
        let start = self
            .values
            .iter()
            .rposition(|v| !matches!(v.kind, RawKind::Text(_)))
            .map_or(0, |i| i + 1);
        super::value::py_list_repr(self.values[start..].iter().flat_map(|v| match &v.kind {
            RawKind::Text(t) => t.split('\n').map(Some).collect::<Vec<_>>(),
            _ => Vec::new(),
        }))
    }
}

/// See [`SingleValue`]; `None` when the option is absent.
pub(crate) fn single_value(values: &[RawValue]) -> Option<SingleValue<'_>> {
    let last = values.last()?;
    let text = match &last.kind {
        RawKind::Text(t) => Some(t.rsplit('\n').next().unwrap_or("")),
        RawKind::Bare | RawKind::Pairs(_) => None,
    };
    Some(SingleValue {
        text,
        line: last.line,
        values,
    })
}
