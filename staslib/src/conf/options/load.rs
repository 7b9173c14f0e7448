//! Loading a daemon configuration file: INI or TOML chosen by extension.

use std::io::{self, Read};
use std::path::Path;

use super::{Daemon, Diagnostic, Level, RawConfig, ServiceConfig};
use crate::conf::generation::Generation;
use crate::conf::{ini, toml_conf};

/// Files larger than this are not read (defaults apply, with an error).
pub const MAX_CONF_SIZE: u64 = 16 * 1024 * 1024;

/// The syntax of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfFormat {
    /// Upstream's INI dialect.
    Ini,
    /// The TOML form (`.toml` extension).
    Toml,
}

impl ConfFormat {
    /// TOML when the extension is `toml` (any case), else INI.
    pub fn from_path(path: &Path) -> Self {
        match path.extension() {
            Some(e) if e.eq_ignore_ascii_case("toml") => ConfFormat::Toml,
            _ => ConfFormat::Ini,
        }
    }
}

/// A loaded configuration and what was found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    /// The effective configuration (defaults where the file says nothing usable).
    pub config: ServiceConfig,
    /// Diagnostics, sorted by line.
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax used.
    pub format: ConfFormat,
    /// Whether the file exists (a missing file silently means "all defaults", as upstream).
    pub found: bool,
}

impl LoadedConfig {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

fn error(path: &Path, line: Option<usize>, message: String) -> Diagnostic {
    Diagnostic {
        level: Level::Error,
        file: path.to_owned(),
        line,
        message,
    }
}

/// A file read into the format-neutral form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRead {
    pub raw: RawConfig,
    pub diagnostics: Vec<Diagnostic>,
    pub format: ConfFormat,
    pub found: bool,
}

/// Reads `path` (INI or TOML by extension). A missing file is an empty configuration; an
/// unreadable or unparsable one is an empty configuration plus an error.
pub(crate) fn read_raw(path: &Path) -> RawRead {
    let format = ConfFormat::from_path(path);
    let bytes = match read_limited(path) {
        Ok(b) => b,
        Err(e) => {
            let found = e.kind() != io::ErrorKind::NotFound;
            let diagnostics = if found {
                vec![error(
                    path,
                    None,
                    format!(
                        "File:{} cannot be read: {e}. Defaults will be used",
                        path.display()
                    ),
                )]
            } else {
                Vec::new()
            };
            return RawRead {
                raw: RawConfig::empty(path),
                diagnostics,
                format,
                found,
            };
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut read = parse_raw(&text, path, format);
    if let std::borrow::Cow::Owned(_) = text {
        read.diagnostics.insert(
            0,
            Diagnostic {
                level: Level::Warning,
                file: path.to_owned(),
                line: None,
                message: format!(
                    "File:{} is not valid UTF-8; invalid bytes were replaced",
                    path.display()
                ),
            },
        );
    }
    read
}

fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    file.take(MAX_CONF_SIZE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_CONF_SIZE {
        return Err(io::Error::other(format!(
            "larger than {MAX_CONF_SIZE} bytes"
        )));
    }
    Ok(buf)
}

/// Parses `text` (as if read from `path`) into the format-neutral form.
pub(crate) fn parse_raw(text: &str, path: &Path, format: ConfFormat) -> RawRead {
    let (raw, diagnostics) = match format {
        ConfFormat::Ini => match ini::parse(text, path) {
            Ok(doc) => (RawConfig::from_ini(&doc, path), Vec::new()),
            Err(e) => {
                let (line, reason) = ini_error_parts(&e.to_string(), path);
                (
                    RawConfig::empty(path),
                    vec![error(
                        path,
                        line,
                        format!(
                            "File:{} cannot be parsed: {reason}. Defaults will be used",
                            path.display()
                        ),
                    )],
                )
            }
        },
        ConfFormat::Toml => toml_conf::to_raw(text, path),
    };
    RawRead {
        raw,
        diagnostics,
        format,
        found: true,
    }
}

/// Splits an INI error text `<file>:<line>: <reason>` (or `<file>: <reason>`).
fn ini_error_parts(text: &str, path: &Path) -> (Option<usize>, String) {
    let prefix = format!("{}:", path.display());
    let rest = text.strip_prefix(&prefix).unwrap_or(text);
    if let Some((num, reason)) = rest.split_once(':')
        && let Ok(line) = num.trim().parse::<usize>()
    {
        return (Some(line), reason.trim().to_owned());
    }
    (None, rest.trim().to_owned())
}

fn finish(daemon: Daemon, read: RawRead) -> LoadedConfig {
    finish_as(daemon, read, Generation::V2)
}

fn finish_as(daemon: Daemon, read: RawRead, generation: Generation) -> LoadedConfig {
    let (config, diags) = match generation {
        Generation::V2 => ServiceConfig::from_raw(daemon, &read.raw),
        Generation::V3 => ServiceConfig::from_raw_v3(daemon, &read.raw),
    };
    let mut diagnostics = read.diagnostics;
    diagnostics.extend(diags);
    diagnostics.sort_by_key(|d| d.line);
    LoadedConfig {
        config,
        diagnostics,
        format: read.format,
        found: read.found,
    }
}

/// Reads and validates `path` for `daemon`. Never fails: problems become diagnostics and
/// defaults apply.
pub fn load_service_config(daemon: Daemon, path: &Path) -> LoadedConfig {
    finish(daemon, read_raw(path))
}

/// Reads and validates `path` as the daemon file of `generation` (a 3.x file has 3.x's keys).
pub fn load_service_config_as(daemon: Daemon, path: &Path, generation: Generation) -> LoadedConfig {
    finish_as(daemon, read_raw(path), generation)
}

/// [`parse_service_config`] for a file of `generation`.
pub fn parse_service_config_as(
    daemon: Daemon,
    text: &str,
    path: &Path,
    generation: Generation,
) -> LoadedConfig {
    finish_as(
        daemon,
        parse_raw(text, path, ConfFormat::from_path(path)),
        generation,
    )
}

/// Validates configuration `text` (as if read from `path`) for `daemon`.
pub fn parse_service_config(
    daemon: Daemon,
    text: &str,
    path: &Path,
    format: ConfFormat,
) -> LoadedConfig {
    finish(daemon, parse_raw(text, path, format))
}
