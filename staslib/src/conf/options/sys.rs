//! `sys.conf` `[Host]` (compat spec §1.7): where the host NQN, host ID, host key and
//! symbolic name come from. Reading the identity files is left to
//! [`libnvme_rs::host::HostSources`]; unknown sections and options are not reported, as
//! upstream.

use std::path::{Path, PathBuf};

use libnvme_rs::host::{HostSources, resolve_value};

use super::load::{ConfFormat, parse_raw, read_raw};
use super::raw::single_value;
use super::{Diagnostic, Level, RawConfig};

/// One `[Host]` value as written (a literal or `file://PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostValue {
    /// The text.
    pub value: String,
    /// Its line, when known.
    pub line: Option<usize>,
}

/// The `[Host]` section of `sys.conf`. `None` = absent (the `/etc/nvme` default file applies
/// to `nqn`, `id` and `key`; `symname` stays undefined).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SysConfig {
    /// The file.
    pub file: PathBuf,
    /// `nqn`.
    pub nqn: Option<HostValue>,
    /// `id`.
    pub id: Option<HostValue>,
    /// `key`.
    pub key: Option<HostValue>,
    /// `symname`.
    pub symname: Option<HostValue>,
}

impl SysConfig {
    /// Reads `path` (missing = all defaults). Never fails; problems become diagnostics.
    pub fn load(path: &Path) -> (Self, Vec<Diagnostic>) {
        let read = read_raw(path);
        Self::finish(read.raw, read.diagnostics)
    }

    /// Parses `text` as if read from `path` (INI or TOML by extension).
    pub fn parse(text: &str, path: &Path) -> (Self, Vec<Diagnostic>) {
        let read = parse_raw(text, path, ConfFormat::from_path(path));
        Self::finish(read.raw, read.diagnostics)
    }

    fn finish(raw: RawConfig, mut diags: Vec<Diagnostic>) -> (Self, Vec<Diagnostic>) {
        let (cfg, more) = Self::from_raw(&raw);
        diags.extend(more);
        (cfg, diags)
    }

    /// Extracts `[Host]`. A bare key is a warning and counts as absent (upstream crashes).
    pub fn from_raw(raw: &RawConfig) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut get = |option: &str| {
            let sv = single_value(raw.get_all("Host", option))?;
            match sv.text {
                Some(t) => Some(HostValue {
                    value: t.to_owned(),
                    line: sv.line,
                }),
                None => {
                    diags.push(Diagnostic {
                        level: Level::Warning,
                        file: raw.file.clone(),
                        line: sv.line,
                        message: format!(
                            "File:{} [Host]: {option} - No value given. Default will be used",
                            raw.file.display()
                        ),
                    });
                    None
                }
            }
        };
        let cfg = SysConfig {
            file: raw.file.clone(),
            nqn: get("nqn"),
            id: get("id"),
            key: get("key"),
            symname: get("symname"),
        };
        (cfg, diags)
    }

    /// The identity sources for [`HostSources`], defaults from `etc_nvme`.
    pub fn host_sources(&self, etc_nvme: &Path) -> HostSources {
        let v = |h: &Option<HostValue>| h.as_ref().map(|h| h.value.clone());
        HostSources {
            etc_nvme: etc_nvme.to_owned(),
            nqn: v(&self.nqn),
            id: v(&self.id),
            key: v(&self.key),
        }
    }

    /// The symbolic name (`file://` resolved). `Err` carries upstream's WARNING text.
    pub fn resolve_symname(&self) -> Result<Option<String>, String> {
        match &self.symname {
            None => Ok(None),
            Some(h) => resolve_value(&h.value).map_err(|e| {
                format!("Error reading host symbolic name (will remain undefined): {e}")
            }),
        }
    }
}
