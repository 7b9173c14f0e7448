//! Reader for the INI dialect upstream nvme-stas gets from Python's `configparser`
//! (compat spec §1.2), keeping file and line of every value.
//!
//! Upstream builds `ConfigParser(default_section=None, allow_no_value=True,
//! delimiters=('='), interpolation=None, strict=False, dict_type=OrderedMultisetDict)`
//! and reads the file with `config.read()`. [`parse`] reproduces CPython 3.11's
//! `RawConfigParser._read` line for line, including the side effects of the multiset
//! dict, so that a file means the same thing to both implementations. The behaviours that
//! follow from that, some of them surprising, are:
//!
//! * Lines end at `\n`, `\r\n` or a lone `\r` (Python's universal newlines).
//! * "Whitespace" is Python's `str.isspace()`, which includes `\x1c`..`\x1f` (unlike
//!   Rust's `char::is_whitespace`). Indentation is counted in characters.
//! * A line whose stripped text starts with `#` or `;` is a comment, and is skipped
//!   without ending the value being read: an indented line after it still continues it.
//! * Section header: the stripped line starts with `[` and has a `]` somewhere after a
//!   non-empty name; the name runs to the *last* `]` and is not stripped, and anything
//!   after that `]` is ignored (`[a]b] x` is section `a]b`). `[]` and `[Global` are not
//!   headers but value-less options.
//! * Option: the key runs to the *first* `=`; without `=` the line is a value-less key.
//!   Keys are lower-cased with full Unicode lowering (as `str.lower()`).
//! * A line indented deeper than the last key or header line, while an option is being
//!   read, continues that option's value even if it looks like a header or `key=value`.
//! * A blank line inside an option appends an empty line to it; trailing empty lines of
//!   an option are removed only at the very end of the file, across all its occurrences.
//!   So `a=1`, blank, `a=2` gives the items `1`, `` (empty), `2`, while a trailing `a=`
//!   after `a=1` vanishes (`a=1` then `a=` reads as just `1`).
//! * A value-less key discards every earlier value of that option; a later value for it,
//!   or an indented continuation line after it, makes upstream raise `AttributeError`
//!   ([`IniError::ValueAfterValuelessOption`], [`IniError::ValuelessOptionContinued`]).
//! * A line starting with `=` (empty key) makes the whole file fail, but only after all of
//!   it was read ([`IniError::EmptyOptionName`], configparser's `ParsingError`).
//! * A byte-order mark is an ordinary character: a file starting with one has no section
//!   header ([`IniError::MissingSectionHeader`]).
//!
//! The only deliberate difference: input over [`MAX_INPUT_BYTES`] is refused. Lines of any
//! length are accepted; the parser is linear in the input size.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest configuration accepted. Real files are a few KiB; the bound keeps a runaway
/// file (or a device node given as config file) from exhausting memory.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

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
    /// Blank lines that followed it count as empty continuation lines (so it may end with
    /// `\n`) unless they were trailing for the whole option.
    pub value: Option<String>,
    pub origin: Origin,
}

impl IniValue {
    /// The list items this occurrence contributes upstream (one per physical line).
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.value
            .as_deref()
            .into_iter()
            .flat_map(|v| v.split('\n'))
    }
}

/// All occurrences of one option within a section (repeats accumulate, in file order).
///
/// A value-less occurrence replaces all earlier ones (upstream's dict stores `None`), so
/// if any value is `None` it is the only one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniOption {
    /// Lower-cased option name (configparser's `optionxform`).
    pub key: String,
    pub values: Vec<IniValue>,
}

impl IniOption {
    /// What upstream's `config.get()` returns: `None` for a value-less key, otherwise the
    /// list of items (continuation lines are separate items).
    pub fn as_list(&self) -> Option<Vec<&str>> {
        if self.values.iter().any(|v| v.value.is_none()) {
            return None;
        }
        Some(self.values.iter().flat_map(IniValue::items).collect())
    }
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

impl IniSection {
    /// The option named `key` (case-insensitive).
    pub fn option(&self, key: &str) -> Option<&IniOption> {
        let key = key.to_lowercase();
        self.options.iter().find(|o| o.key == key)
    }
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
    /// A non-blank, non-comment line before the first section header
    /// (configparser's `MissingSectionHeaderError`).
    #[error("{file}:{line}: file contains no section header before this line")]
    MissingSectionHeader { file: PathBuf, line: usize },
    /// Lines starting with `=` (configparser's `ParsingError`, raised after the whole file
    /// was read; `lines` lists them all).
    #[error("{file}:{}: option with an empty name ({} such line(s))", lines.first().copied().unwrap_or(0), lines.len())]
    EmptyOptionName { file: PathBuf, lines: Vec<usize> },
    /// An indented continuation line after a value-less key (upstream: `AttributeError`).
    #[error("{file}:{line}: continuation line for option '{key}', which has no value")]
    ValuelessOptionContinued {
        file: PathBuf,
        line: usize,
        key: String,
    },
    /// `key=value` after a value-less `key` in the same section (upstream: `AttributeError`).
    #[error("{file}:{line}: value for option '{key}', which was given without a value before")]
    ValueAfterValuelessOption {
        file: PathBuf,
        line: usize,
        key: String,
    },
    #[error("{file}: {len} bytes exceed the limit of {limit} bytes")]
    TooLarge {
        file: PathBuf,
        len: usize,
        limit: usize,
    },
}

/// Why [`read_file`] could not produce a document.
#[derive(Debug, thiserror::Error)]
pub enum IniReadError {
    #[error("cannot read {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Upstream decodes with the (UTF-8) locale encoding and dies on invalid bytes.
    #[error("{path}:{line}: invalid UTF-8 at byte offset {offset}")]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
    },
    #[error(transparent)]
    Parse(#[from] IniError),
}

impl IniDocument {
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every occurrence of `key` (case-insensitive) in `section`, in file order.
    pub fn get_all(&self, section: &str, key: &str) -> &[IniValue] {
        self.option(section, key)
            .map(|o| o.values.as_slice())
            .unwrap_or(&[])
    }

    /// The last occurrence of `key`: what single-valued options use.
    pub fn get_last(&self, section: &str, key: &str) -> Option<&IniValue> {
        self.get_all(section, key).last()
    }

    /// The option `key` (case-insensitive) of `section`.
    pub fn option(&self, section: &str, key: &str) -> Option<&IniOption> {
        self.section(section).and_then(|s| s.option(key))
    }
}

/// Python's `str.isspace()`, which is also what `re`'s `\s` and `str.strip()` use.
pub(crate) fn py_isspace(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\x1c'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Lines as Python's text-mode file iteration yields them (universal newlines), without
/// their terminator.
fn py_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(i) = rest.find(['\n', '\r']) else {
            return Some(std::mem::take(&mut rest));
        };
        let line = &rest[..i];
        let end = if rest[i..].starts_with("\r\n") {
            i + 2
        } else {
            i + 1
        };
        rest = &rest[end..];
        Some(line)
    })
}

/// Parser state mirroring the locals of configparser's `_read`.
struct Reader {
    file: Arc<Path>,
    sections: Vec<IniSection>,
    section_index: HashMap<String, usize>,
    /// Per section: option key → index in `IniSection::options`.
    option_index: Vec<HashMap<String, usize>>,
    /// `cursect`.
    cursect: Option<usize>,
    /// `optname`, when truthy: index of the option in the current section.
    optname: Option<usize>,
    indent_level: usize,
    empty_key_lines: Vec<usize>,
}

impl Reader {
    fn path(&self) -> PathBuf {
        self.file.to_path_buf()
    }

    fn origin(&self, line: usize) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            line,
        }
    }

    fn current_option(&mut self) -> Option<&mut IniOption> {
        let (s, o) = (self.cursect?, self.optname?);
        self.sections.get_mut(s)?.options.get_mut(o)
    }

    fn line(&mut self, lineno: usize, raw: &str) -> Result<(), IniError> {
        let value = py_strip(raw);
        if value.starts_with('#') || value.starts_with(';') {
            // Full-line comment: skipped without touching any state.
            return Ok(());
        }
        if value.is_empty() {
            // empty_lines_in_values=True: a blank line is an empty line of the value.
            if let Some(opt) = self.current_option()
                && let Some(last) = opt.values.last_mut()
                && let Some(v) = last.value.as_mut()
            {
                v.push('\n');
            }
            return Ok(());
        }
        let indent = raw.chars().take_while(|&c| py_isspace(c)).count();
        if self.cursect.is_some() && self.optname.is_some() && indent > self.indent_level {
            let file = self.path();
            let Some(opt) = self.current_option() else {
                return Ok(());
            };
            let Some(last) = opt.values.last_mut() else {
                return Ok(());
            };
            match last.value.as_mut() {
                Some(v) => {
                    v.push('\n');
                    v.push_str(value);
                    Ok(())
                }
                None => Err(IniError::ValuelessOptionContinued {
                    file,
                    line: lineno,
                    key: opt.key.clone(),
                }),
            }
        } else {
            self.indent_level = indent;
            if let Some(name) = section_header(value) {
                self.enter_section(name, lineno);
                Ok(())
            } else if self.cursect.is_none() {
                Err(IniError::MissingSectionHeader {
                    file: self.path(),
                    line: lineno,
                })
            } else {
                self.option_line(value, lineno)
            }
        }
    }

    fn enter_section(&mut self, name: &str, lineno: usize) {
        let idx = match self.section_index.get(name) {
            Some(&idx) => idx,
            None => {
                let idx = self.sections.len();
                self.sections.push(IniSection {
                    name: name.to_owned(),
                    origin: self.origin(lineno),
                    options: Vec::new(),
                });
                self.option_index.push(HashMap::new());
                self.section_index.insert(name.to_owned(), idx);
                idx
            }
        };
        self.cursect = Some(idx);
        self.optname = None;
    }

    fn option_line(&mut self, value: &str, lineno: usize) -> Result<(), IniError> {
        let (key, val) = match value.split_once('=') {
            Some((k, v)) => (k.trim_end_matches(py_isspace), Some(py_strip(v))),
            None => (value, None),
        };
        if key.is_empty() {
            // configparser records a ParsingError, stores the option under '' (never
            // visible, as the read fails) and goes on with a falsy `optname`.
            self.empty_key_lines.push(lineno);
            self.optname = None;
            return Ok(());
        }
        let key = key.to_lowercase();
        let Some(s) = self.cursect else {
            return Ok(());
        };
        let occurrence = IniValue {
            value: val.map(str::to_owned),
            origin: self.origin(lineno),
        };
        let (Some(section), Some(index)) = (self.sections.get_mut(s), self.option_index.get_mut(s))
        else {
            return Ok(());
        };
        let idx = match index.get(&key) {
            None => {
                let idx = section.options.len();
                index.insert(key.clone(), idx);
                section.options.push(IniOption {
                    key,
                    values: vec![occurrence],
                });
                idx
            }
            Some(&idx) => {
                let Some(opt) = section.options.get_mut(idx) else {
                    return Ok(());
                };
                if occurrence.value.is_none() {
                    // `cursect[key] = None` replaces the accumulated list.
                    opt.values = vec![occurrence];
                } else if opt.values.last().is_some_and(|v| v.value.is_none()) {
                    // `None.extend(...)` in OrderedMultisetDict.__setitem__ (a value-less
                    // occurrence is always alone, so checking the last one suffices).
                    return Err(IniError::ValueAfterValuelessOption {
                        file: self.file.to_path_buf(),
                        line: lineno,
                        key,
                    });
                } else {
                    opt.values.push(occurrence);
                }
                idx
            }
        };
        self.optname = Some(idx);
        Ok(())
    }

    fn finish(mut self) -> Result<IniDocument, IniError> {
        for opt in self.sections.iter_mut().flat_map(|s| s.options.iter_mut()) {
            join_multiline(&mut opt.values);
        }
        if !self.empty_key_lines.is_empty() {
            return Err(IniError::EmptyOptionName {
                file: self.path(),
                lines: self.empty_key_lines,
            });
        }
        Ok(IniDocument {
            sections: self.sections,
        })
    }
}

/// `'\n'.join(values).rstrip()` over all occurrences of an option: trailing empty lines
/// go, taking whole occurrences with them, but one (possibly empty) item always remains.
fn join_multiline(values: &mut Vec<IniValue>) {
    while let Some(last) = values.last_mut() {
        let Some(v) = last.value.as_mut() else {
            return;
        };
        let kept = v.trim_end_matches('\n').len();
        v.truncate(kept);
        if v.is_empty() && values.len() > 1 {
            values.pop();
        } else {
            return;
        }
    }
}

/// configparser's `SECTCRE` (`\[(?P<header>.+)\]`, matched at the start): the name runs
/// to the last `]` and must not be empty.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// Parses configuration text exactly as upstream's configparser setup reads it (see the
/// module documentation); `file` is only used for [`Origin`]s and errors.
pub fn parse(text: &str, file: &Path) -> Result<IniDocument, IniError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(IniError::TooLarge {
            file: file.to_path_buf(),
            len: text.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let mut reader = Reader {
        file: Arc::from(file),
        sections: Vec::new(),
        section_index: HashMap::new(),
        option_index: Vec::new(),
        cursect: None,
        optname: None,
        indent_level: 0,
        empty_key_lines: Vec::new(),
    };
    for (i, line) in py_lines(text).enumerate() {
        reader.line(i + 1, line)?;
    }
    reader.finish()
}

/// Reads and parses a configuration file.
///
/// `Ok(None)` when the path does not exist or is not a regular file: upstream only reads
/// the file if `os.path.isfile()` says so and otherwise silently uses all defaults.
/// Unreadable files and invalid UTF-8 are errors (upstream ignores the former and crashes
/// on the latter).
pub fn read_file(path: &Path) -> Result<Option<IniDocument>, IniReadError> {
    let io_err = |error| IniReadError::Io {
        path: path.to_path_buf(),
        error,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_INPUT_BYTES).unwrap_or(u64::MAX);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(IniError::TooLarge {
            file: path.to_path_buf(),
            len: bytes.len(),
            limit: MAX_INPUT_BYTES,
        }
        .into());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = e.as_bytes().get(..offset).unwrap_or_default();
        IniReadError::NotUtf8 {
            path: path.to_path_buf(),
            line: line_of_offset(before),
            offset,
        }
    })?;
    parse(&text, path).map(Some).map_err(Into::into)
}

/// 1-based line number of the byte after `before`, counting universal newlines.
fn line_of_offset(before: &[u8]) -> usize {
    let mut line = 1;
    let mut i = 0;
    while let Some(&b) = before.get(i) {
        if b == b'\n' || (b == b'\r' && before.get(i + 1) != Some(&b'\n')) {
            line += 1;
        }
        i += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn p(text: &str) -> Result<IniDocument, IniError> {
        parse(text, Path::new("t.conf"))
    }

    /// `(key, list | None)` per option, as upstream's dict holds them.
    type Options = Vec<(String, Option<Vec<String>>)>;

    /// The document as upstream's `{section: {key: list | None}}`.
    fn shape(doc: &IniDocument) -> Vec<(String, Options)> {
        doc.sections
            .iter()
            .map(|s| {
                let opts = s
                    .options
                    .iter()
                    .map(|o| {
                        let list = o
                            .as_list()
                            .map(|l| l.into_iter().map(str::to_owned).collect());
                        (o.key.clone(), list)
                    })
                    .collect();
                (s.name.clone(), opts)
            })
            .collect()
    }

    fn items(doc: &IniDocument, section: &str, key: &str) -> Option<Vec<String>> {
        doc.option(section, key)
            .and_then(IniOption::as_list)
            .map(|l| l.into_iter().map(str::to_owned).collect())
    }

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn spec_consequences() {
        let doc = p("[Global]\n\
             KATO = 5\n\
             ip-family : ipv4\n\
             \t# indented comment\n\
             ; comment\n\
             [Controllers]\n\
             exclude = host-iface=eth0 # x\n\
             controller=transport=tcp;traddr=fe80::1%eth0;dhchap-secret=DHHC-1:00:a=:\n\
             [Global]\n\
             kato=7\n\
             [global]\n\
             tron\n\
             [Controllers]\n\
             controller = a\n   b\n")
        .unwrap();
        assert_eq!(items(&doc, "Global", "kato"), v(&["5", "7"]));
        assert_eq!(
            doc.get_last("Global", "KATO").unwrap().value.as_deref(),
            Some("7")
        );
        assert_eq!(doc.get_last("Global", "kato").unwrap().origin.line, 10);
        assert_eq!(items(&doc, "Global", "ip-family : ipv4"), None);
        assert!(doc.option("Global", "ip-family : ipv4").is_some());
        assert_eq!(
            items(&doc, "Controllers", "exclude"),
            v(&["host-iface=eth0 # x"])
        );
        assert_eq!(
            items(&doc, "Controllers", "controller"),
            v(&[
                "transport=tcp;traddr=fe80::1%eth0;dhchap-secret=DHHC-1:00:a=:",
                "a",
                "b"
            ])
        );
        assert_eq!(doc.get_all("Controllers", "controller").len(), 2);
        assert_eq!(
            doc.get_last("Controllers", "controller")
                .unwrap()
                .value
                .as_deref(),
            Some("a\nb")
        );
        assert_eq!(
            doc.section("global").unwrap().options[0].values[0].value,
            None
        );
        let names: Vec<_> = doc.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Global", "Controllers", "global"]);
        assert_eq!(doc.section("Controllers").unwrap().origin.line, 6);
    }

    #[test]
    fn blank_lines_and_repeats() {
        // Blank line between repeats contributes an empty item.
        assert_eq!(
            items(&p("[S]\na=1\n\na=2").unwrap(), "S", "a"),
            v(&["1", "", "2"])
        );
        // A blank line then an indented line continues the value.
        assert_eq!(
            items(&p("[S]\na=1\n\n  b\n\n").unwrap(), "S", "a"),
            v(&["1", "", "b"])
        );
        // Trailing empty values vanish across occurrences...
        let doc = p("[S]\na=1\na=\n\n").unwrap();
        assert_eq!(items(&doc, "S", "a"), v(&["1"]));
        assert_eq!(doc.get_all("S", "a").len(), 1);
        // ...but one empty item always stays.
        assert_eq!(items(&p("[S]\na=\na=\n").unwrap(), "S", "a"), v(&[""]));
        assert_eq!(items(&p("[S]\na=\na=1").unwrap(), "S", "a"), v(&["", "1"]));
        // Comments neither end a value nor add an empty line.
        assert_eq!(
            items(&p("[S]\na=1\n# c\n  2").unwrap(), "S", "a"),
            v(&["1", "2"])
        );
        // A header ends the value: blank and indented lines after it are not continuations.
        let doc = p("[S]\na=1\n[S]\n\n  x=2").unwrap();
        assert_eq!(items(&doc, "S", "a"), v(&["1"]));
        assert_eq!(items(&doc, "S", "x"), v(&["2"]));
    }

    #[test]
    fn valueless_keys() {
        assert_eq!(items(&p("[S]\na=1\na").unwrap(), "S", "a"), None);
        assert!(matches!(
            p("[S]\na\na=1"),
            Err(IniError::ValueAfterValuelessOption { line: 3, .. })
        ));
        assert!(matches!(
            p("[S]\na\n  x"),
            Err(IniError::ValuelessOptionContinued { line: 3, .. })
        ));
        // Blank lines after a value-less key are ignored.
        assert_eq!(items(&p("[S]\na\n\n\na").unwrap(), "S", "a"), None);
    }

    #[test]
    fn headers_and_keys() {
        let doc =
            p(" [S]\n  a = 1 = 2 \n\tb:c\n[x] trailing\n[a]b]\n[]\n[Global\n[ sp ]\n").unwrap();
        assert_eq!(
            shape(&doc),
            vec![
                (
                    "S".to_owned(),
                    vec![("a".to_owned(), v(&["1 = 2"])), ("b:c".to_owned(), None)]
                ),
                ("x".to_owned(), vec![]),
                (
                    "a]b".to_owned(),
                    vec![("[]".to_owned(), None), ("[global".to_owned(), None)]
                ),
                (" sp ".to_owned(), vec![]),
            ]
        );
        // `[DEFAULT]` is an ordinary section.
        assert_eq!(
            items(&p("[DEFAULT]\na=1").unwrap(), "DEFAULT", "a"),
            v(&["1"])
        );
        // Indented deeper than the key: a header-looking line is a continuation.
        assert_eq!(
            items(&p("[S]\na=1\n [T]\nb").unwrap(), "S", "a"),
            v(&["1", "[T]"])
        );
        // Python's lower(), including special casing.
        assert!(p("[S]\nKEYİ=1").unwrap().section("S").unwrap().options[0].key == "keyi\u{307}");
        // Python whitespace includes \x1c..\x1f.
        assert_eq!(
            items(&p("[S]\n\x1ca\x1c=\x1c1\x1c\n").unwrap(), "S", "a"),
            v(&["1"])
        );
        // Universal newlines.
        let doc = p("[S]\r\na=1\r  b\rc").unwrap();
        assert_eq!(items(&doc, "S", "a"), v(&["1", "b"]));
        assert_eq!(doc.get_last("S", "c").unwrap().origin.line, 4);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            p("a=1\n[S]"),
            Err(IniError::MissingSectionHeader { line: 1, .. })
        ));
        assert!(matches!(
            p("# c\n\n[]\n[S]"),
            Err(IniError::MissingSectionHeader { line: 3, .. })
        ));
        assert!(matches!(
            p("\u{feff}[S]\n"),
            Err(IniError::MissingSectionHeader { line: 1, .. })
        ));
        assert_eq!(
            p("[S]\n=x\n  y\n= z"),
            Err(IniError::EmptyOptionName {
                file: "t.conf".into(),
                lines: vec![2, 4]
            })
        );
        // A fatal error later wins over the deferred ParsingError.
        assert!(matches!(
            p("[S]\n=x\na\na=1"),
            Err(IniError::ValueAfterValuelessOption { .. })
        ));
        assert_eq!(p("").unwrap(), IniDocument::default());
        assert_eq!(p("\n  \n# x\n").unwrap(), IniDocument::default());
    }

    #[test]
    fn unterminated_header() {
        assert!(matches!(
            p("[Global\n"),
            Err(IniError::MissingSectionHeader { line: 1, .. })
        ));
        let doc = p("[S]\n[Global\nkato=1").unwrap();
        assert_eq!(items(&doc, "S", "[global"), None);
        assert_eq!(items(&doc, "S", "kato"), v(&["1"]));
    }

    #[test]
    fn binary_garbage_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..200 {
            let mut bytes = Vec::new();
            for _ in 0..(round * 37 % 2000) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let b = (state >> 24) as u8;
                // Bias towards structural characters.
                bytes.push(match b % 8 {
                    0 => {
                        let structural = b"[]=#;\n\r \t";
                        structural[usize::from(b) % structural.len()]
                    }
                    _ => b,
                });
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = p(&text);
            let _ = p(&format!("[S]\n{text}"));
        }
    }

    #[test]
    fn one_mib_line() {
        let long = "x".repeat(1 << 20);
        let doc = p(&format!("[S]\nk = {long}\n   {long}\n{long}\n")).unwrap();
        let list = items(&doc, "S", "k").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].len(), 1 << 20);
        assert_eq!(items(&doc, "S", &long), None);
        let spaces = " ".repeat(1 << 20);
        let doc = p(&format!("[S]\nk=1\n{spaces}2\n{spaces}\n")).unwrap();
        assert_eq!(items(&doc, "S", "k"), v(&["1", "2"]));
    }

    #[test]
    fn key_repeated_100k_times_is_linear() {
        let mut text = String::from("[Controllers]\n");
        for i in 0..100_000 {
            text.push_str(&format!(
                "Controller = transport=tcp;traddr=10.0.{}.{}\n\n",
                i / 256,
                i % 256
            ));
        }
        let start = Instant::now();
        let doc = p(&text).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(doc.get_all("Controllers", "controller").len(), 100_000);
        // Blank lines between repeats are empty items, except the trailing one.
        assert_eq!(
            items(&doc, "Controllers", "controller").unwrap().len(),
            199_999
        );
        let mut text = String::from("[S]\n");
        for _ in 0..100_000 {
            text.push_str("[S]\nk\n");
        }
        let doc = p(&text).unwrap();
        assert_eq!(doc.get_all("S", "k").len(), 1);
    }

    #[test]
    fn too_large() {
        let text = format!("[S]\n{}", " ".repeat(MAX_INPUT_BYTES));
        assert!(matches!(p(&text), Err(IniError::TooLarge { .. })));
    }

    #[test]
    fn read_file_cases() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read_file(&dir.path().join("missing.conf"))
                .unwrap()
                .is_none()
        );
        assert!(read_file(dir.path()).unwrap().is_none());

        let good = dir.path().join("good.conf");
        std::fs::write(&good, "[Global]\nkato=5\n").unwrap();
        let doc = read_file(&good).unwrap().unwrap();
        assert_eq!(
            &*doc.get_last("Global", "kato").unwrap().origin.file,
            good.as_path()
        );

        let bad = dir.path().join("bad.conf");
        std::fs::write(&bad, b"[Global]\r\nkato=5\nx=\xff\xfe\n").unwrap();
        match read_file(&bad) {
            Err(IniReadError::NotUtf8 { line, offset, .. }) => {
                assert_eq!((line, offset), (3, 19));
            }
            other => panic!("unexpected {other:?}"),
        }

        let syntax = dir.path().join("syntax.conf");
        std::fs::write(&syntax, "kato=5\n").unwrap();
        assert!(matches!(
            read_file(&syntax),
            Err(IniReadError::Parse(IniError::MissingSectionHeader {
                line: 1,
                ..
            }))
        ));
    }
}
