//! Reader for the INI dialect upstream nvme-stas gets from Python's `configparser`
//! (compat spec §1.2), keeping file and line of every value.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a section header or value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<Path>,
    /// 1-based line number (of the key for a value; continuation lines extend it).
    pub line: usize,
}

/// One occurrence of `key = value` (or a bare `key`, whose `value` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniValue {
    /// The value as configparser returns it: stripped, continuation lines joined with `\n`.
    pub value: Option<String>,
    pub origin: Origin,
}

/// All occurrences of one option within a section (repeats accumulate, in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniOption {
    /// Lower-cased option name (configparser's `optionxform`).
    pub key: String,
    pub values: Vec<IniValue>,
}

/// A section; repeated `[Section]` headers merge into the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniSection {
    /// Case-sensitive name.
    pub name: String,
    pub origin: Origin,
    /// Options in order of first appearance.
    pub options: Vec<IniOption>,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IniDocument {
    pub sections: Vec<IniSection>,
}

/// Why a file could not be parsed at all (configparser raises; the daemons then use defaults).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    #[error("{file}:{line}: {reason}")]
    Syntax {
        file: PathBuf,
        line: usize,
        reason: String,
    },
}

impl IniDocument {
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every occurrence of `key` (case-insensitive) in `section`, in file order.
    pub fn get_all(&self, section: &str, key: &str) -> &[IniValue] {
        let key = key.to_lowercase();
        self.section(section)
            .and_then(|s| s.options.iter().find(|o| o.key == key))
            .map(|o| o.values.as_slice())
            .unwrap_or(&[])
    }

    /// The last occurrence of `key`: what single-valued options use.
    pub fn get_last(&self, section: &str, key: &str) -> Option<&IniValue> {
        self.get_all(section, key).last()
    }
}
