//! One file into its raw model, as libnvme's `libnvmf_conf_file_parse` (`config-ini.c`):
//! sections, keys routed by section, `controller =` lines, no precedence applied yet.

use std::path::Path;
use std::sync::Arc;

use libnvme_rs::trid::Transport;

use super::error::{ConnConfError, ErrorKind, Warning, WarningKind, input_text};
use super::keys::{
    Class, KeyInfo, Value, c_trim, check_address, check_hostid, check_nqn, check_symname,
    check_transport, check_value, lookup,
};
use super::lexer::{Line, classify};
use super::model::{ControllerKind, Origin};
use super::{MAX_FILE_BYTES, MAX_LINE_BYTES};

/// One parameter as written, with its line.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub key: &'static KeyInfo,
    pub value: Value,
    pub origin: Origin,
}

/// A parameter store: unset (absent), reset ([`Value::Reset`]) or set, in order of first
/// insertion (libnvme `struct libnvmf_params`).
#[derive(Debug, Clone, Default)]
pub(super) struct Params {
    pub entries: Vec<Entry>,
}

impl Params {
    /// Sets `key`, replacing an earlier value in place.
    pub fn set(&mut self, key: &'static KeyInfo, value: Value, origin: Origin) {
        match self.entries.iter_mut().find(|e| e.key.name == key.name) {
            Some(e) => {
                e.value = value;
                e.origin = origin;
            }
            None => self.entries.push(Entry { key, value, origin }),
        }
    }

    /// Overlays `other`: every key present there wins (libnvme `libnvmf_params_merge`).
    pub fn merge(&mut self, other: &Params) {
        for e in &other.entries {
            self.set(e.key, e.value.clone(), e.origin.clone());
        }
    }
}

/// An identity value of `[Host]`; an empty text is the reset form.
#[derive(Debug, Clone)]
pub(super) struct IdentityValue {
    pub text: String,
    pub origin: Origin,
}

impl IdentityValue {
    /// The value when it is a real one (libnvme `real_value`).
    pub fn real(v: &Option<IdentityValue>) -> Option<&IdentityValue> {
        v.as_ref().filter(|v| !v.text.is_empty())
    }
}

/// A file's `[Host]`.
#[derive(Debug, Clone)]
pub(super) struct RawHost {
    pub origin: Origin,
    pub hostnqn: Option<IdentityValue>,
    pub hostid: Option<IdentityValue>,
    pub hostsymname: Option<IdentityValue>,
    pub params: Params,
}

/// One `controller =` line.
#[derive(Debug, Clone)]
pub(super) struct RawPath {
    pub origin: Origin,
    pub transport: Transport,
    pub traddr: String,
    pub trsvcid: Option<String>,
    pub host_traddr: Option<String>,
    pub host_iface: Option<String>,
    pub overrides: Params,
}

/// One `[Discovery Controller]` or `[Subsystem]`.
#[derive(Debug, Clone)]
pub(super) struct RawEndpoint {
    pub kind: ControllerKind,
    pub origin: Origin,
    pub nqn: Option<String>,
    pub params: Params,
    pub paths: Vec<RawPath>,
}

/// One parsed file.
#[derive(Debug, Clone)]
pub(super) struct RawFile {
    pub dc_defaults: Option<Params>,
    pub ioc_defaults: Option<Params>,
    pub host: Option<RawHost>,
    pub endpoints: Vec<RawEndpoint>,
}

impl RawFile {
    pub fn empty() -> Self {
        RawFile {
            dc_defaults: None,
            ioc_defaults: None,
            host: None,
            endpoints: Vec::new(),
        }
    }

    pub fn defaults(&self, kind: ControllerKind) -> Option<&Params> {
        match kind {
            ControllerKind::Discovery => self.dc_defaults.as_ref(),
            ControllerKind::Io => self.ioc_defaults.as_ref(),
        }
    }
}

const DC_DEFAULTS: &str = "Discovery Controller Defaults";
const IOC_DEFAULTS: &str = "I/O Controller Defaults";
const HOST: &str = "Host";
const DC: &str = "Discovery Controller";
const SUBSYSTEM: &str = "Subsystem";

/// The section being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sect {
    /// Before the first header.
    None,
    /// An unknown section: its lines are ignored.
    Ignored,
    DcDefaults,
    IocDefaults,
    Host,
    /// The last endpoint of the file.
    Dc,
    Subsystem,
}

impl Sect {
    fn name(self) -> &'static str {
        match self {
            Sect::None | Sect::Ignored => "",
            Sect::DcDefaults => DC_DEFAULTS,
            Sect::IocDefaults => IOC_DEFAULTS,
            Sect::Host => HOST,
            Sect::Dc => DC,
            Sect::Subsystem => SUBSYSTEM,
        }
    }

    fn is_endpoint(self) -> bool {
        matches!(self, Sect::Dc | Sect::Subsystem)
    }
}

/// The addressing keys of a `controller =` line, in [`RawPath`] order.
const ADDRESS_KEYS: [&str; 5] = [
    "transport",
    "traddr",
    "trsvcid",
    "host-traddr",
    "host-iface",
];

struct Parser<'w> {
    file: RawFile,
    sect: Sect,
    warnings: &'w mut Vec<Warning>,
}

/// Parses one file's bytes. Warnings are appended to `warnings`.
pub(super) fn parse_file(
    path: Arc<Path>,
    bytes: &[u8],
    warnings: &mut Vec<Warning>,
) -> Result<RawFile, ConnConfError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConnConfError::file(
            &path,
            ErrorKind::TooLarge {
                size: bytes.len() as u64,
                max: MAX_FILE_BYTES,
            },
        ));
    }
    // Embedded NUL bytes make the input ambiguous (libnvme refuses the file).
    if let Some(pos) = bytes.iter().position(|b| *b == 0) {
        let line = 1 + bytes[..pos].iter().filter(|b| **b == b'\n').count();
        let origin = Origin { file: path, line };
        return Err(ConnConfError::at(&origin, ErrorKind::NulByte));
    }
    // libnvme reads bytes; a line that is not UTF-8 is only used if it is a known key, and
    // then our checks refuse the replacement character.
    let text = String::from_utf8_lossy(bytes);
    let mut p = Parser {
        file: RawFile::empty(),
        sect: Sect::None,
        warnings,
    };
    for (index, raw) in text.split('\n').enumerate() {
        let origin = Origin {
            file: path.clone(),
            line: index + 1,
        };
        let line = classify(raw);
        if line == Line::Skip {
            continue;
        }
        if raw.len() > MAX_LINE_BYTES {
            let kind = ErrorKind::LineTooLong {
                len: raw.len(),
                max: MAX_LINE_BYTES,
            };
            return Err(ConnConfError::at(&origin, kind));
        }
        let result = match line {
            Line::Skip => Ok(()),
            Line::Section(name) => p.enter_section(name, &origin),
            Line::KeyValue(key, value) => p.key_value(key, value, &origin),
            Line::Junk(text) => Err(ErrorKind::MalformedLine(input_text(text))),
        };
        result.map_err(|kind| ConnConfError::at(&origin, kind))?;
    }
    if let Some(ep) = p
        .file
        .endpoints
        .iter()
        .find(|ep| ep.kind == ControllerKind::Io && ep.nqn.is_none())
    {
        return Err(ConnConfError::at(
            &ep.origin,
            ErrorKind::SubsystemWithoutNqn,
        ));
    }
    // Hygiene warnings of our own (libnvme gives none).
    let file = p.file;
    for ep in file.endpoints.iter().filter(|ep| ep.paths.is_empty()) {
        let section = match ep.kind {
            ControllerKind::Discovery => DC,
            ControllerKind::Io => SUBSYSTEM,
        };
        p.warnings.push(Warning {
            origin: ep.origin.clone(),
            kind: WarningKind::NoPaths(section),
        });
    }
    if let Some(host) = &file.host
        && IdentityValue::real(&host.hostnqn).is_some()
        && IdentityValue::real(&host.hostid).is_none()
    {
        p.warnings.push(Warning {
            origin: host.origin.clone(),
            kind: WarningKind::NoHostId,
        });
    }
    Ok(file)
}

impl Parser<'_> {
    fn warn(&mut self, origin: &Origin, kind: WarningKind) {
        self.warnings.push(Warning {
            origin: origin.clone(),
            kind,
        });
    }

    /// libnvme `enter_section`.
    fn enter_section(&mut self, name: &str, origin: &Origin) -> Result<(), ErrorKind> {
        self.sect = match name {
            DC_DEFAULTS | IOC_DEFAULTS => {
                let (slot, static_name, sect) = if name == DC_DEFAULTS {
                    (&mut self.file.dc_defaults, DC_DEFAULTS, Sect::DcDefaults)
                } else {
                    (&mut self.file.ioc_defaults, IOC_DEFAULTS, Sect::IocDefaults)
                };
                if slot.is_some() {
                    self.warn(origin, WarningKind::RepeatedSection(static_name));
                } else {
                    *slot = Some(Params::default());
                }
                sect
            }
            HOST => {
                // A hard singleton: personas never merge.
                if self.file.host.is_some() {
                    return Err(ErrorKind::SecondHost);
                }
                self.file.host = Some(RawHost {
                    origin: origin.clone(),
                    hostnqn: None,
                    hostid: None,
                    hostsymname: None,
                    params: Params::default(),
                });
                Sect::Host
            }
            DC | SUBSYSTEM => {
                let (kind, sect) = if name == DC {
                    (ControllerKind::Discovery, Sect::Dc)
                } else {
                    (ControllerKind::Io, Sect::Subsystem)
                };
                self.file.endpoints.push(RawEndpoint {
                    kind,
                    origin: origin.clone(),
                    nqn: None,
                    params: Params::default(),
                    paths: Vec::new(),
                });
                sect
            }
            _ => {
                self.warn(origin, WarningKind::UnknownSection(input_text(name)));
                Sect::Ignored
            }
        };
        Ok(())
    }

    /// The parameter store of the current section.
    fn dest(&mut self) -> Option<&mut Params> {
        match self.sect {
            Sect::None | Sect::Ignored => None,
            Sect::DcDefaults => self.file.dc_defaults.as_mut(),
            Sect::IocDefaults => self.file.ioc_defaults.as_mut(),
            Sect::Host => self.file.host.as_mut().map(|h| &mut h.params),
            Sect::Dc | Sect::Subsystem => self.file.endpoints.last_mut().map(|e| &mut e.params),
        }
    }

    /// libnvme `conf_kv`: one `key = value`, routed by the current section.
    fn key_value(&mut self, key: &str, value: &str, origin: &Origin) -> Result<(), ErrorKind> {
        match self.sect {
            Sect::Ignored => return Ok(()),
            Sect::None => return Err(ErrorKind::KeyBeforeSection(input_text(key))),
            _ => {}
        }
        let Some(info) = lookup(key) else {
            self.warn(origin, WarningKind::UnknownKey(input_text(key)));
            return Ok(());
        };
        let not_valid = ErrorKind::NotValidInSection {
            key: info.name,
            section: self.sect.name(),
        };
        match info.class {
            Class::Controller => {
                if !self.sect.is_endpoint() {
                    return Err(not_valid);
                }
                self.add_path(value, origin)
            }
            Class::Nqn => {
                if !self.sect.is_endpoint() {
                    return Err(not_valid);
                }
                if value.is_empty() {
                    return Err(ErrorKind::EmptyNqn);
                }
                check_nqn("nqn", value)?;
                if let Some(ep) = self.file.endpoints.last_mut() {
                    ep.nqn = Some(value.to_owned());
                }
                Ok(())
            }
            Class::Identity => {
                if self.sect != Sect::Host {
                    return Err(not_valid);
                }
                if !value.is_empty() {
                    match info.name {
                        "hostnqn" => check_nqn("hostnqn", value)?,
                        "hostid" => check_hostid(value)?,
                        _ => check_symname(value)?,
                    }
                }
                if let Some(host) = self.file.host.as_mut() {
                    let slot = match info.name {
                        "hostnqn" => &mut host.hostnqn,
                        "hostid" => &mut host.hostid,
                        _ => &mut host.hostsymname,
                    };
                    *slot = Some(IdentityValue {
                        text: value.to_owned(),
                        origin: origin.clone(),
                    });
                }
                Ok(())
            }
            Class::DcTunable | Class::Tunable | Class::Security => {
                if info.class == Class::DcTunable
                    && !matches!(self.sect, Sect::Dc | Sect::DcDefaults)
                {
                    return Err(not_valid);
                }
                let value = check_value(info, value)?;
                if let Some(dest) = self.dest() {
                    dest.set(info, value, origin.clone());
                }
                Ok(())
            }
        }
    }

    /// libnvme `add_path`: one `controller =` value, `;`-separated `key=value` tokens.
    /// Unknown keys are refused: a misspelt address must not connect somewhere else.
    fn add_path(&mut self, value: &str, origin: &Origin) -> Result<(), ErrorKind> {
        let is_dc = self.sect == Sect::Dc;
        let mut addr: [Option<&str>; 5] = [None; 5];
        let mut overrides = Params::default();
        for token in value.split(';') {
            let token = c_trim(token);
            if token.is_empty() {
                continue; // ";;" and a trailing ';' are benign
            }
            let Some((key, val)) = token.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return Err(ErrorKind::MalformedToken(input_text(token)));
            };
            let (key, val) = (c_trim(key), c_trim(val));
            if let Some(slot) = ADDRESS_KEYS.iter().position(|a| *a == key) {
                if val.is_empty() {
                    return Err(ErrorKind::EmptyAddress(ADDRESS_KEYS[slot]));
                }
                if addr[slot].is_some() {
                    return Err(ErrorKind::RepeatedAddress(ADDRESS_KEYS[slot]));
                }
                addr[slot] = Some(val);
                continue;
            }
            let Some(info) = lookup(key) else {
                return Err(ErrorKind::UnknownPathKey(input_text(key)));
            };
            match info.class {
                Class::DcTunable if !is_dc => return Err(ErrorKind::DcOnlyOnPath(info.name)),
                Class::DcTunable | Class::Tunable => {
                    let value = check_value(info, val)?;
                    overrides.set(info, value, origin.clone());
                }
                Class::Security => return Err(ErrorKind::SecurityOnPath(info.name)),
                Class::Identity | Class::Nqn | Class::Controller => {
                    return Err(ErrorKind::NotOnPath(info.name));
                }
            }
        }
        let [
            Some(transport),
            Some(traddr),
            trsvcid,
            host_traddr,
            host_iface,
        ] = addr
        else {
            return Err(ErrorKind::MissingTransportOrTraddr);
        };
        // Our checks: libnvme leaves these to the connect.
        let transport = check_transport(transport)?;
        for (key, text) in ADDRESS_KEYS.iter().zip(addr).skip(1) {
            if let Some(text) = text {
                check_address(key, text)?;
            }
        }
        let path = RawPath {
            origin: origin.clone(),
            transport,
            traddr: traddr.to_owned(),
            trsvcid: trsvcid.map(str::to_owned),
            host_traddr: host_traddr.map(str::to_owned),
            host_iface: host_iface.map(str::to_owned),
            overrides,
        };
        if let Some(ep) = self.file.endpoints.last_mut() {
            ep.paths.push(path);
        }
        Ok(())
    }
}
