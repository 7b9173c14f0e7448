//! Model of `/sys/class/nvme*` (compat spec §5.1 step 5, §5.2; protocol reference §5.3).
//!
//! Rooted at any directory ([`SysfsRoot::new`]) so tests build fake trees. Reads are blocking
//! but cheap (sysfs attributes). Each attribute read is capped at [`ATTR_MAX`] bytes and must
//! be UTF-8; a failing attribute is recorded in [`ControllerInfo::attr_errors`] and treated as
//! absent instead of failing the whole controller (attributes of a controller being deleted
//! can fail individually).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::adopt::KernelConnection;
use crate::spec::WELL_KNOWN_DISC_NQN;

/// Largest attribute accepted (sysfs values never exceed one page).
pub const ATTR_MAX: usize = 4096;

/// sysfs errors.
#[derive(Debug, thiserror::Error)]
pub enum SysfsError {
    /// Reading an attribute or listing a directory failed.
    #[error("cannot read {path}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The attribute exceeds [`ATTR_MAX`] bytes.
    #[error("{path} is larger than {ATTR_MAX} bytes")]
    Oversized {
        /// The attribute file.
        path: PathBuf,
    },
    /// The attribute is not UTF-8.
    #[error("{path} is not valid UTF-8")]
    NotUtf8 {
        /// The attribute file.
        path: PathBuf,
    },
    /// A controller name that is not `nvme<N>`.
    #[error("invalid controller name {0:?}")]
    InvalidName(String),
}

/// `nvme<N>` → `N` (digits only, no sign, no leading `+`).
pub fn parse_controller_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("nvme")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads one attribute: `Ok(None)` if the file is missing or its trimmed value is empty.
pub fn read_attr(path: &Path) -> Result<Option<String>, SysfsError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SysfsError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut buf = Vec::with_capacity(256);
    // One byte more than allowed tells "exactly at the cap" from "over the cap".
    file.take(ATTR_MAX as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|source| SysfsError::Io {
            path: path.to_owned(),
            source,
        })?;
    if buf.len() > ATTR_MAX {
        return Err(SysfsError::Oversized {
            path: path.to_owned(),
        });
    }
    let s = String::from_utf8(buf).map_err(|_| SysfsError::NotUtf8 {
        path: path.to_owned(),
    })?;
    let v = s.trim();
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

/// The parsed `address` attribute: `traddr=..,trsvcid=..[,host_traddr=..][,host_iface=..]
/// [,src_addr=..]`. Keys are present only when set; PCIe controllers hold a bare PCI address
/// (kept in `raw`, all keys `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Target address.
    pub traddr: Option<String>,
    /// Target port.
    pub trsvcid: Option<String>,
    /// Host address given at connect time.
    pub host_traddr: Option<String>,
    /// Host interface given at connect time.
    pub host_iface: Option<String>,
    /// Actual source address (tcp, kernel ≥ 6.1, only while the admin queue is live).
    pub src_addr: Option<String>,
    /// The attribute as read (trimmed).
    pub raw: String,
}

impl Address {
    /// Parses the attribute text. Unknown keys and tokens without `=` are ignored; empty
    /// values and `none` count as absent.
    pub fn parse(text: &str) -> Self {
        let raw = text.trim();
        let mut a = Address {
            raw: raw.to_owned(),
            ..Address::default()
        };
        for tok in raw.split([',', '\n']) {
            let Some((k, v)) = tok.split_once('=') else {
                continue;
            };
            let v = v.trim();
            if v.is_empty() || v == "none" {
                continue;
            }
            let slot = match k.trim() {
                "traddr" => &mut a.traddr,
                "trsvcid" => &mut a.trsvcid,
                "host_traddr" => &mut a.host_traddr,
                "host_iface" => &mut a.host_iface,
                "src_addr" => &mut a.src_addr,
                _ => continue,
            };
            *slot = Some(v.to_owned());
        }
        a
    }
}

/// A namespace child of a controller directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NamespaceEntry {
    /// Entry name in the controller directory (`nvme0c0n1` or `nvme0n1`).
    pub name: String,
    /// The block device users see: `nvmeXnZ` (the multipath head for `nvmeXcYnZ`).
    pub block_device: String,
}

/// `nvmeXcYnZ` → `nvmeXnZ`, `nvmeXnY` → itself; anything else → `None`.
pub fn namespace_block_device(entry: &str) -> Option<String> {
    let rest = entry.strip_prefix("nvme")?;
    let (subsys, rest) = split_digits(rest)?;
    if let Some(rest) = rest.strip_prefix('c') {
        let (_ctrl, rest) = split_digits(rest)?;
        let (nsid, tail) = split_digits(rest.strip_prefix('n')?)?;
        tail.is_empty().then(|| format!("nvme{subsys}n{nsid}"))
    } else {
        let (_nsid, tail) = split_digits(rest.strip_prefix('n')?)?;
        tail.is_empty().then(|| entry.to_owned())
    }
}

/// Splits a non-empty leading run of ASCII digits off `s`.
fn split_digits(s: &str) -> Option<(&str, &str)> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// Snapshot of `/sys/class/nvme/nvmeN`. Missing, empty, unreadable or invalid attributes are
/// `None`; failures (not mere absence) are listed in `attr_errors`.
#[derive(Debug, Default)]
pub struct ControllerInfo {
    /// Device name, `nvmeN`.
    pub name: String,
    /// Instance number N.
    pub instance: u32,
    /// `state` (live, connecting, resetting, deleting, dead, ...).
    pub state: Option<String>,
    /// `transport` (tcp, rdma, fc, loop, pcie).
    pub transport: Option<String>,
    /// Parsed `address`.
    pub address: Option<Address>,
    /// `subsysnqn`.
    pub subsysnqn: Option<String>,
    /// `hostnqn`.
    pub hostnqn: Option<String>,
    /// `hostid`.
    pub hostid: Option<String>,
    /// `cntrltype` (io / discovery / admin, ≥ 5.18).
    pub cntrltype: Option<String>,
    /// `dctype` (none / ddc / cdc, ≥ 5.18).
    pub dctype: Option<String>,
    /// `model`.
    pub model: Option<String>,
    /// `serial`.
    pub serial: Option<String>,
    /// `firmware_rev`.
    pub firmware_rev: Option<String>,
    /// `cntlid`.
    pub cntlid: Option<u16>,
    /// `queue_count`.
    pub queue_count: Option<u32>,
    /// `kato` (keep-alive timeout, seconds).
    pub kato: Option<u32>,
    /// Namespace children, sorted by entry name.
    pub namespaces: Vec<NamespaceEntry>,
    /// Attributes that exist but could not be read or parsed.
    pub attr_errors: Vec<SysfsError>,
}

impl ControllerInfo {
    /// Whether the controller has child devices (namespaces) — the pre-5.18 IOC hint.
    pub fn has_children(&self) -> bool {
        !self.namespaces.is_empty()
    }

    /// Whether this is a discovery controller: the kernel's `cntrltype` when it has one
    /// (5.18+); otherwise upstream's heuristic (§4.12 step 2, §9.5): well-known subsysnqn, or
    /// no children. Deliberately not upstream's "no children" alone when `cntrltype` says
    /// `io`: an I/O controller has no namespaces until the kernel has scanned them, and in
    /// that window a DC search on the same address and port would adopt it.
    pub fn is_discovery_controller(&self) -> bool {
        match self.cntrltype.as_deref() {
            Some("discovery") => true,
            Some("io") => false,
            _ if self.not_identified_yet() => false,
            _ => self.subsysnqn.as_deref() == Some(WELL_KNOWN_DISC_NQN) || !self.has_children(),
        }
    }

    /// Whether this is an I/O controller: `cntrltype` when the kernel has it, otherwise
    /// upstream's heuristic (has children).
    pub fn is_io_controller(&self) -> bool {
        match self.cntrltype.as_deref() {
            Some("io") => true,
            Some("discovery") => false,
            _ if self.not_identified_yet() => false,
            _ => self.has_children(),
        }
    }

    /// A controller whose first connect is still under way: the kernel shows `reserved`
    /// until Identify has filled in the type, so it is neither kind yet (the heuristic would
    /// call a brand-new I/O controller a DC, and a DC search on its port would adopt it).
    fn not_identified_yet(&self) -> bool {
        self.cntrltype.as_deref() == Some("reserved")
            && matches!(self.state.as_deref(), Some("new" | "connecting"))
    }

    /// The kernel-side identity used for adoption matching ([`crate::kernel::adopt::matches_existing`]).
    /// Absent values and `none` become `""`.
    pub fn connection(&self) -> KernelConnection {
        let s = |v: &Option<String>| {
            v.as_deref()
                .filter(|v| *v != "none")
                .unwrap_or("")
                .to_owned()
        };
        let a = self.address.clone().unwrap_or_default();
        KernelConnection {
            transport: s(&self.transport),
            traddr: s(&a.traddr),
            trsvcid: s(&a.trsvcid),
            subsysnqn: s(&self.subsysnqn),
            host_traddr: s(&a.host_traddr),
            host_iface: s(&a.host_iface),
            host_nqn: s(&self.hostnqn),
            src_addr: s(&a.src_addr),
        }
    }
}

/// Snapshot of `/sys/class/nvme-subsystem/nvme-subsysK`.
#[derive(Debug, Default)]
pub struct SubsystemInfo {
    /// Directory name, `nvme-subsysK`.
    pub name: String,
    /// `subsysnqn`.
    pub subsysnqn: Option<String>,
    /// `subsystype` (nvm / discovery).
    pub subsystype: Option<String>,
    /// `model`.
    pub model: Option<String>,
    /// `serial`.
    pub serial: Option<String>,
    /// `firmware_rev`.
    pub firmware_rev: Option<String>,
    /// `iopolicy` (numa / round-robin / queue-depth).
    pub iopolicy: Option<String>,
    /// Controller links (`nvmeN`), sorted by instance.
    pub controllers: Vec<String>,
    /// Namespace heads (`nvmeKnY`), sorted by name.
    pub namespaces: Vec<String>,
    /// Attributes that exist but could not be read.
    pub attr_errors: Vec<SysfsError>,
}

/// A sysfs tree rooted at a configurable path.
#[derive(Debug, Clone)]
pub struct SysfsRoot {
    root: PathBuf,
    /// `transport` and `address` of each controller, keyed by name and checked against the
    /// inode of its `class/nvme` entry (a controller deleted and another created under the
    /// same name has a new one): the adoption search before every connect then reads only
    /// what changed, not two files per controller.
    keys: Arc<Mutex<HashMap<String, (u64, ControllerKey)>>>,
}

/// What rules a controller in or out of an adoption search, fixed for its lifetime:
/// `transport`, the target address and port from `address`, `subsysnqn` and `hostnqn`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerKey {
    /// `transport`.
    pub transport: String,
    /// `traddr` of `address`.
    pub traddr: String,
    /// `trsvcid` of `address`.
    pub trsvcid: String,
    /// `subsysnqn` (empty until the kernel has identified the controller).
    pub subsysnqn: String,
    /// `hostnqn`.
    pub host_nqn: String,
}

impl ControllerKey {
    /// Every part is known: the kernel finished identifying the controller, so the key can
    /// be kept for the controller's lifetime.
    fn complete(&self) -> bool {
        !(self.transport.is_empty()
            || self.traddr.is_empty()
            || self.subsysnqn.is_empty()
            || self.host_nqn.is_empty())
    }
}

impl PartialEq for SysfsRoot {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

impl Eq for SysfsRoot {}

impl Default for SysfsRoot {
    fn default() -> Self {
        Self::new("/sys")
    }
}

impl SysfsRoot {
    /// A tree rooted at `root` (`/sys` in production).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SysfsRoot {
            root: root.into(),
            keys: Arc::default(),
        }
    }

    /// The root path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/kernel/uevent_seqnum`: the number of the last uevent the kernel sent. `None`
    /// when it cannot be read (a test tree without it).
    pub fn uevent_seqnum(&self) -> Option<u64> {
        std::fs::read_to_string(self.root.join("kernel/uevent_seqnum"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `<root>/class/nvme/<name>`.
    pub fn controller_dir(&self, name: &str) -> PathBuf {
        self.root.join("class/nvme").join(name)
    }

    /// All `nvmeN` controllers, sorted by instance. A missing `class/nvme` (module not
    /// loaded) is an empty list.
    pub fn controllers(&self) -> Result<Vec<ControllerInfo>, SysfsError> {
        Ok(self
            .controller_names()?
            .into_iter()
            .filter_map(|n| parse_controller_name(&n).map(|i| self.read_controller(i, n)))
            .collect())
    }

    /// The `nvmeN` names, sorted by instance; nothing else is read.
    pub fn controller_names(&self) -> Result<Vec<String>, SysfsError> {
        let mut names: Vec<(u32, String)> = list_dir(&self.root.join("class/nvme"))?
            .into_iter()
            .filter_map(|n| parse_controller_name(&n).map(|i| (i, n)))
            .collect();
        names.sort();
        Ok(names.into_iter().map(|(_, n)| n).collect())
    }

    /// Every controller's name and [`ControllerKey`], sorted by instance; entries whose
    /// `class/nvme` link is unchanged since the last call are not read again.
    pub fn controller_keys(&self) -> Result<Vec<(String, ControllerKey)>, SysfsError> {
        let mut keys = Vec::new();
        self.each_controller_key(|name, key| keys.push((name.to_owned(), key.clone())))?;
        Ok(keys)
    }

    /// The names of the controllers whose [`ControllerKey`] passes `keep`, sorted by
    /// instance (an adoption search: nothing is copied for the thousand that do not match).
    pub fn controller_names_where(
        &self,
        keep: impl Fn(&ControllerKey) -> bool,
    ) -> Result<Vec<String>, SysfsError> {
        let mut names = Vec::new();
        self.each_controller_key(|name, key| {
            if keep(key) {
                names.push(name.to_owned());
            }
        })?;
        Ok(names)
    }

    fn each_controller_key(
        &self,
        mut visit: impl FnMut(&str, &ControllerKey),
    ) -> Result<(), SysfsError> {
        use std::os::unix::fs::DirEntryExt;
        let dir = self.root.join("class/nvme");
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(SysfsError::Io { path: dir, source }),
        };
        let mut seen: Vec<(u32, String, u64)> = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|source| SysfsError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(i) = parse_controller_name(&name) {
                seen.push((i, name, entry.ino()));
            }
        }
        seen.sort();
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        // A set, not a scan of `seen` per entry: a thousand controllers are read before
        // each of a thousand connects.
        let present: std::collections::HashSet<&str> =
            seen.iter().map(|(_, n, _)| n.as_str()).collect();
        keys.retain(|name, _| present.contains(name.as_str()));
        for (_, name, ino) in &seen {
            match keys.get(name) {
                Some((cached, key)) if cached == ino => visit(name, key),
                _ => {
                    let key = self.read_key(name);
                    visit(name, &key);
                    // A controller still connecting has no `subsysnqn` yet: read it again
                    // next time rather than rule it out for good.
                    if key.complete() {
                        keys.insert(name.clone(), (*ino, key));
                    }
                }
            }
        }
        Ok(())
    }

    fn read_key(&self, name: &str) -> ControllerKey {
        let dir = self.controller_dir(name);
        let address = read_attr(&dir.join("address"))
            .ok()
            .flatten()
            .map(|a| Address::parse(&a))
            .unwrap_or_default();
        let attr = |a: &str| read_attr(&dir.join(a)).ok().flatten().unwrap_or_default();
        ControllerKey {
            transport: attr("transport"),
            traddr: address.traddr.unwrap_or_default(),
            trsvcid: address.trsvcid.unwrap_or_default(),
            subsysnqn: attr("subsysnqn"),
            host_nqn: attr("hostnqn"),
        }
    }

    /// One controller by name (`nvmeN`); `Ok(None)` if it does not exist.
    pub fn controller(&self, name: &str) -> Result<Option<ControllerInfo>, SysfsError> {
        let instance =
            parse_controller_name(name).ok_or_else(|| SysfsError::InvalidName(name.to_owned()))?;
        if !self.controller_dir(name).is_dir() {
            return Ok(None);
        }
        Ok(Some(self.read_controller(instance, name.to_owned())))
    }

    /// All `nvme-subsys*` entries, sorted by name.
    pub fn subsystems(&self) -> Result<Vec<SubsystemInfo>, SysfsError> {
        let dir = self.root.join("class/nvme-subsystem");
        let mut names: Vec<String> = list_dir(&dir)?
            .into_iter()
            .filter(|n| n.starts_with("nvme-subsys"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let path = dir.join(&name);
                let mut errors = Vec::new();
                let mut attr = |a: &str| collect(read_attr(&path.join(a)), &mut errors);
                let mut info = SubsystemInfo {
                    subsysnqn: attr("subsysnqn"),
                    subsystype: attr("subsystype"),
                    model: attr("model"),
                    serial: attr("serial"),
                    firmware_rev: attr("firmware_rev"),
                    iopolicy: attr("iopolicy"),
                    ..SubsystemInfo::default()
                };
                let entries = list_dir(&path)?;
                let mut ctrls: Vec<(u32, String)> = entries
                    .iter()
                    .filter_map(|n| parse_controller_name(n).map(|i| (i, n.clone())))
                    .collect();
                ctrls.sort();
                info.controllers = ctrls.into_iter().map(|(_, n)| n).collect();
                info.namespaces = entries
                    .into_iter()
                    .filter(|n| namespace_block_device(n).as_deref() == Some(n.as_str()))
                    .collect();
                info.namespaces.sort();
                info.name = name;
                info.attr_errors = errors;
                Ok(info)
            })
            .collect()
    }

    /// The subsystem that lists controller `name`, if any.
    pub fn subsystem_of(&self, name: &str) -> Result<Option<SubsystemInfo>, SysfsError> {
        Ok(self
            .subsystems()?
            .into_iter()
            .find(|s| s.controllers.iter().any(|c| c == name)))
    }

    fn read_controller(&self, instance: u32, name: String) -> ControllerInfo {
        let dir = self.controller_dir(&name);
        let mut errors = Vec::new();
        let mut attr = |a: &str| collect(read_attr(&dir.join(a)), &mut errors);
        let mut info = ControllerInfo {
            instance,
            state: attr("state"),
            transport: attr("transport"),
            address: attr("address").map(|a| Address::parse(&a)),
            subsysnqn: attr("subsysnqn"),
            hostnqn: attr("hostnqn"),
            hostid: attr("hostid"),
            cntrltype: attr("cntrltype"),
            dctype: attr("dctype"),
            model: attr("model"),
            serial: attr("serial"),
            firmware_rev: attr("firmware_rev"),
            ..ControllerInfo::default()
        };
        info.cntlid = parse_num(&dir, "cntlid", &mut errors);
        info.queue_count = parse_num(&dir, "queue_count", &mut errors);
        info.kato = parse_num(&dir, "kato", &mut errors);
        match list_dir(&dir) {
            Ok(entries) => {
                info.namespaces = entries
                    .into_iter()
                    .filter_map(|n| {
                        namespace_block_device(&n).map(|b| NamespaceEntry {
                            name: n,
                            block_device: b,
                        })
                    })
                    .collect();
                info.namespaces.sort();
            }
            Err(e) => errors.push(e),
        }
        info.name = name;
        info.attr_errors = errors;
        info
    }
}

/// Unwraps an attribute read, recording the error. `(efault)` is the kernel's marker for an
/// attribute it could not produce; upstream reports it as empty.
fn collect(r: Result<Option<String>, SysfsError>, errors: &mut Vec<SysfsError>) -> Option<String> {
    match r {
        Ok(v) => v.filter(|v| v != "(efault)"),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn parse_num<T: std::str::FromStr>(
    dir: &Path,
    attr: &str,
    errors: &mut Vec<SysfsError>,
) -> Option<T> {
    let path = dir.join(attr);
    let v = collect(read_attr(&path), errors)?;
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            let source = io::Error::new(io::ErrorKind::InvalidData, format!("not a number: {v:?}"));
            errors.push(SysfsError::Io { path, source });
            None
        }
    }
}

/// Entry names of `dir` (non-UTF-8 names skipped); a missing directory is empty.
fn list_dir(dir: &Path) -> Result<Vec<String>, SysfsError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SysfsError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|source| SysfsError::Io {
            path: dir.to_owned(),
            source,
        })?;
        if let Ok(name) = entry.file_name().into_string() {
            out.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree(tempfile::TempDir);

    impl Tree {
        fn new() -> Self {
            Tree(tempfile::tempdir().unwrap())
        }
        fn root(&self) -> SysfsRoot {
            SysfsRoot::new(self.0.path())
        }
        fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
            let p = self.0.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        fn mkdir(&self, rel: &str) {
            fs::create_dir_all(self.0.path().join(rel)).unwrap();
        }
        fn ctrl(&self, name: &str, attrs: &[(&str, &str)]) {
            self.mkdir(&format!("class/nvme/{name}"));
            for (a, v) in attrs {
                self.write(&format!("class/nvme/{name}/{a}"), format!("{v}\n"));
            }
        }
    }

    #[test]
    fn uevent_seqnum_reads_the_number_or_nothing() {
        let t = Tree::new();
        assert_eq!(t.root().uevent_seqnum(), None, "missing");
        for (text, want) in [
            ("1423\n", Some(1423)),
            ("", None),
            ("x\n", None),
            ("-5\n", None),
        ] {
            t.write("kernel/uevent_seqnum", text);
            assert_eq!(t.root().uevent_seqnum(), want, "{text:?}");
        }
    }

    #[test]
    fn controller_keys_are_read_once_per_kernel_object() {
        let t = Tree::new();
        let addr = |a: &str| format!("traddr={a},trsvcid=4420,src_addr=10.0.0.9");
        let ids = [("subsysnqn", "nqn.io"), ("hostnqn", "nqn.host")];
        let with_ids = |attrs: &[(&'static str, &str)]| {
            let mut v: Vec<(&str, String)> =
                attrs.iter().map(|(a, v)| (*a, v.to_string())).collect();
            v.extend(ids.iter().map(|(a, v)| (*a, v.to_string())));
            v
        };
        let ctrl = |name: &str, attrs: Vec<(&str, String)>| {
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(a, v)| (*a, v.as_str())).collect();
            t.ctrl(name, &attrs);
        };
        ctrl(
            "nvme1",
            with_ids(&[("transport", "tcp"), ("address", &addr("10.0.0.1"))]),
        );
        ctrl(
            "nvme0",
            with_ids(&[("transport", "rdma"), ("address", &addr("10.0.0.2"))]),
        );
        t.mkdir("class/nvme/nvme-fabrics");
        let root = t.root();
        let key = |transport: &str, traddr: &str| ControllerKey {
            transport: transport.into(),
            traddr: traddr.into(),
            trsvcid: "4420".into(),
            subsysnqn: "nqn.io".into(),
            host_nqn: "nqn.host".into(),
        };
        let want = vec![
            ("nvme0".to_owned(), key("rdma", "10.0.0.2")),
            ("nvme1".to_owned(), key("tcp", "10.0.0.1")),
        ];
        assert_eq!(root.controller_keys().unwrap(), want);
        // The same object: its attributes are not read again.
        t.write("class/nvme/nvme1/address", addr("10.9.9.9"));
        assert_eq!(root.controller_keys().unwrap(), want);
        // Another controller under the same name (a new directory, so a new inode; the old
        // one is still around elsewhere so the number cannot be reused).
        fs::rename(
            t.0.path().join("class/nvme/nvme1"),
            t.0.path().join("old-nvme1"),
        )
        .unwrap();
        ctrl(
            "nvme1",
            with_ids(&[("transport", "tcp"), ("address", &addr("10.0.0.7"))]),
        );
        assert_eq!(
            root.controller_keys().unwrap()[1],
            ("nvme1".to_owned(), key("tcp", "10.0.0.7"))
        );
        // A controller the kernel has not identified yet (no `subsysnqn`) is read again
        // until it has been.
        t.ctrl(
            "nvme2",
            &[
                ("transport", "tcp"),
                ("address", &addr("10.0.0.3")),
                ("hostnqn", "nqn.host"),
            ],
        );
        assert_eq!(root.controller_keys().unwrap()[2].1.subsysnqn, "");
        t.write("class/nvme/nvme2/subsysnqn", "nqn.io\n");
        assert_eq!(root.controller_keys().unwrap()[2].1, key("tcp", "10.0.0.3"));
        fs::remove_dir_all(t.0.path().join("class/nvme/nvme2")).unwrap();
        // Gone controllers leave the cache.
        fs::remove_dir_all(t.0.path().join("class/nvme/nvme0")).unwrap();
        assert_eq!(root.controller_keys().unwrap().len(), 1);
        assert_eq!(root.keys.lock().unwrap().len(), 1);
    }

    #[test]
    fn controller_names() {
        assert_eq!(parse_controller_name("nvme0"), Some(0));
        assert_eq!(parse_controller_name("nvme123"), Some(123));
        for bad in [
            "nvme",
            "nvme-fabrics",
            "nvme1n1",
            "nvme+1",
            "xnvme1",
            "nvme99999999999",
            "nvme-subsys0",
        ] {
            assert_eq!(parse_controller_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn namespace_names() {
        assert_eq!(
            namespace_block_device("nvme0c0n1").as_deref(),
            Some("nvme0n1")
        );
        assert_eq!(
            namespace_block_device("nvme2c11n33").as_deref(),
            Some("nvme2n33")
        );
        assert_eq!(
            namespace_block_device("nvme3n2").as_deref(),
            Some("nvme3n2")
        );
        for bad in [
            "nvme3",
            "nvme3n",
            "nvme3c1",
            "nvme3c1n",
            "nvme3n1p1",
            "nvmecn1",
            "hwmon3",
            "nvme3c1n2x",
        ] {
            assert_eq!(namespace_block_device(bad), None, "{bad}");
        }
    }

    #[test]
    fn address_parsing() {
        let a = Address::parse(
            "traddr=192.168.1.20,trsvcid=4420,host_traddr=192.168.1.5,host_iface=eth0,src_addr=192.168.1.5\n",
        );
        assert_eq!(a.traddr.as_deref(), Some("192.168.1.20"));
        assert_eq!(a.trsvcid.as_deref(), Some("4420"));
        assert_eq!(a.host_traddr.as_deref(), Some("192.168.1.5"));
        assert_eq!(a.host_iface.as_deref(), Some("eth0"));
        assert_eq!(a.src_addr.as_deref(), Some("192.168.1.5"));
        let fc = Address::parse("traddr=nn-0x20:pn-0x10,host_traddr=nn-0x21:pn-0x11");
        assert_eq!(fc.traddr.as_deref(), Some("nn-0x20:pn-0x10"));
        assert_eq!(fc.trsvcid, None);
        let pcie = Address::parse("0000:01:00.0\n");
        assert_eq!(pcie.raw, "0000:01:00.0");
        assert_eq!(pcie.traddr, None);
        let v6 = Address::parse("traddr=fe80::1%eth0,trsvcid=none,bogus,x=y,src_addr=");
        assert_eq!(v6.traddr.as_deref(), Some("fe80::1%eth0"));
        assert_eq!(v6.trsvcid, None);
        assert_eq!(v6.src_addr, None);
    }

    #[test]
    fn read_attr_rules() {
        let t = Tree::new();
        let p = |n: &str| t.0.path().join(n);
        t.write("a", "  live \n");
        assert_eq!(read_attr(&p("a")).unwrap().as_deref(), Some("live"));
        t.write("empty", "\n");
        assert_eq!(read_attr(&p("empty")).unwrap(), None);
        assert_eq!(read_attr(&p("missing")).unwrap(), None);
        t.write("exact", vec![b'x'; ATTR_MAX]);
        assert_eq!(
            read_attr(&p("exact")).unwrap().map(|s| s.len()),
            Some(ATTR_MAX)
        );
        t.write("big", vec![b'x'; ATTR_MAX + 1]);
        assert!(matches!(
            read_attr(&p("big")),
            Err(SysfsError::Oversized { .. })
        ));
        t.write("bin", [0xffu8, 0xfe, 0x00]);
        assert!(matches!(
            read_attr(&p("bin")),
            Err(SysfsError::NotUtf8 { .. })
        ));
        t.mkdir("dir");
        assert!(matches!(read_attr(&p("dir")), Err(SysfsError::Io { .. })));
    }

    fn populate(t: &Tree) {
        t.ctrl(
            "nvme1",
            &[
                ("state", "live"),
                ("transport", "tcp"),
                (
                    "address",
                    "traddr=10.0.0.9,trsvcid=8009,host_iface=eth0,src_addr=10.0.0.2",
                ),
                ("subsysnqn", WELL_KNOWN_DISC_NQN),
                ("hostnqn", "nqn.2014-08.org.nvmexpress:uuid:1"),
                ("hostid", "4b4c4c45-0044-4d10-8039-b6c04f4c3333"),
                ("cntrltype", "discovery"),
                ("dctype", "cdc"),
                ("model", "Linux"),
                ("serial", "abc123"),
                ("firmware_rev", "6.12.0"),
                ("cntlid", "1"),
                ("queue_count", "1"),
                ("kato", "30"),
            ],
        );
        t.ctrl(
            "nvme10",
            &[
                ("state", "connecting"),
                ("transport", "tcp"),
                ("address", "traddr=10.0.0.9,trsvcid=4420"),
                ("subsysnqn", "nqn.io"),
                ("cntlid", "not-a-number"),
                ("cntrltype", "(efault)"),
            ],
        );
        t.write("class/nvme/nvme10/model", [0xffu8, b'\n']);
        t.mkdir("class/nvme/nvme10/nvme2c10n1");
        t.mkdir("class/nvme/nvme10/nvme2c10n2");
        t.mkdir("class/nvme/nvme10/hwmon3");
        t.mkdir("class/nvme/nvme10/power");
        t.ctrl(
            "nvme2",
            &[("transport", "pcie"), ("address", "0000:01:00.0")],
        );
        t.mkdir("class/nvme/nvme2/nvme0n1");
        // Not controllers.
        t.write("class/nvme/nvme-fabrics", "");
        t.mkdir("class/nvme/nvmeX");

        t.write("class/nvme-subsystem/nvme-subsys2/subsysnqn", "nqn.io\n");
        t.write("class/nvme-subsystem/nvme-subsys2/subsystype", "nvm\n");
        t.write("class/nvme-subsystem/nvme-subsys2/iopolicy", "numa\n");
        t.write("class/nvme-subsystem/nvme-subsys2/model", "Linux\n");
        t.mkdir("class/nvme-subsystem/nvme-subsys2/nvme10");
        t.mkdir("class/nvme-subsystem/nvme-subsys2/nvme3");
        t.mkdir("class/nvme-subsystem/nvme-subsys2/nvme2n1");
        t.mkdir("class/nvme-subsystem/nvme-subsys2/power");
        t.write(
            "class/nvme-subsystem/nvme-subsys0/subsysnqn",
            format!("{WELL_KNOWN_DISC_NQN}\n"),
        );
        t.write(
            "class/nvme-subsystem/nvme-subsys0/subsystype",
            "discovery\n",
        );
        t.mkdir("class/nvme-subsystem/nvme-subsys0/nvme1");
    }

    #[test]
    fn enumerates_controllers() {
        let t = Tree::new();
        populate(&t);
        let ctrls = t.root().controllers().unwrap();
        assert_eq!(
            ctrls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["nvme1", "nvme2", "nvme10"]
        );

        let dc = &ctrls[0];
        assert_eq!(dc.instance, 1);
        assert_eq!(dc.state.as_deref(), Some("live"));
        assert_eq!(dc.dctype.as_deref(), Some("cdc"));
        assert_eq!(dc.model.as_deref(), Some("Linux"));
        assert_eq!(dc.serial.as_deref(), Some("abc123"));
        assert_eq!(dc.firmware_rev.as_deref(), Some("6.12.0"));
        assert_eq!(
            dc.hostid.as_deref(),
            Some("4b4c4c45-0044-4d10-8039-b6c04f4c3333")
        );
        assert_eq!(
            (dc.cntlid, dc.queue_count, dc.kato),
            (Some(1), Some(1), Some(30))
        );
        assert!(dc.attr_errors.is_empty());
        assert!(dc.is_discovery_controller() && !dc.is_io_controller());
        let conn = dc.connection();
        assert_eq!(conn.transport, "tcp");
        assert_eq!(conn.traddr, "10.0.0.9");
        assert_eq!(conn.trsvcid, "8009");
        assert_eq!(conn.host_iface, "eth0");
        assert_eq!(conn.host_traddr, "");
        assert_eq!(conn.src_addr, "10.0.0.2");
        assert_eq!(conn.host_nqn, "nqn.2014-08.org.nvmexpress:uuid:1");
        assert_eq!(conn.subsysnqn, WELL_KNOWN_DISC_NQN);

        let io = &ctrls[2];
        assert_eq!(io.cntlid, None);
        assert_eq!(io.cntrltype, None, "(efault) is reported as absent");
        assert_eq!(io.model, None);
        assert_eq!(io.attr_errors.len(), 2, "{:?}", io.attr_errors);
        assert!(
            io.attr_errors
                .iter()
                .any(|e| matches!(e, SysfsError::NotUtf8 { .. }))
        );
        assert_eq!(
            io.namespaces,
            [
                NamespaceEntry {
                    name: "nvme2c10n1".into(),
                    block_device: "nvme2n1".into()
                },
                NamespaceEntry {
                    name: "nvme2c10n2".into(),
                    block_device: "nvme2n2".into()
                },
            ]
        );
        assert!(io.is_io_controller() && !io.is_discovery_controller());
        assert_eq!(io.hostnqn, None);
        assert_eq!(io.connection().host_nqn, "");

        let pcie = &ctrls[1];
        assert_eq!(
            pcie.address.as_ref().map(|a| a.raw.as_str()),
            Some("0000:01:00.0")
        );
        assert_eq!(pcie.namespaces[0].block_device, "nvme0n1");
    }

    #[test]
    fn heuristics_match_upstream() {
        // §9.5: children and no attributes → not a DC; no children and no attributes → DC,
        // not an IOC.
        let mut c = ControllerInfo {
            namespaces: vec![NamespaceEntry {
                name: "nvme0n1".into(),
                block_device: "nvme0n1".into(),
            }],
            ..Default::default()
        };
        assert!(!c.is_discovery_controller() && c.is_io_controller());
        c.subsysnqn = Some(WELL_KNOWN_DISC_NQN.into());
        assert!(c.is_discovery_controller());
        c.subsysnqn = None;
        c.cntrltype = Some("discovery".into());
        assert!(c.is_discovery_controller());
        let mut c = ControllerInfo::default();
        assert!(c.is_discovery_controller() && !c.is_io_controller());
        // An I/O controller before the kernel's namespace scan: cntrltype decides (a DC
        // search on the same port adopted one in the vm tier).
        c.cntrltype = Some("io".into());
        assert!(c.is_io_controller() && !c.is_discovery_controller());
        c.subsysnqn = Some(WELL_KNOWN_DISC_NQN.into());
        c.cntrltype = Some("discovery".into());
        assert!(c.is_discovery_controller() && !c.is_io_controller());
        // Still connecting, not identified: neither kind. Once live, a target that really
        // reports no type (before NVMe 1.4) falls back to the heuristic.
        let mut c = ControllerInfo {
            cntrltype: Some("reserved".into()),
            state: Some("connecting".into()),
            ..Default::default()
        };
        assert!(!c.is_discovery_controller() && !c.is_io_controller());
        c.state = Some("live".into());
        assert!(c.is_discovery_controller() && !c.is_io_controller());
    }

    #[test]
    fn lookup_by_name() {
        let t = Tree::new();
        populate(&t);
        let r = t.root();
        assert_eq!(
            r.controller("nvme10")
                .unwrap()
                .unwrap()
                .subsysnqn
                .as_deref(),
            Some("nqn.io")
        );
        assert!(r.controller("nvme7").unwrap().is_none());
        assert!(matches!(
            r.controller("../nvme1"),
            Err(SysfsError::InvalidName(_))
        ));
        assert!(matches!(
            r.controller("nvme-fabrics"),
            Err(SysfsError::InvalidName(_))
        ));
    }

    #[test]
    fn enumerates_subsystems() {
        let t = Tree::new();
        populate(&t);
        let subs = t.root().subsystems().unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].name, "nvme-subsys0");
        assert_eq!(subs[0].subsystype.as_deref(), Some("discovery"));
        assert_eq!(subs[0].controllers, ["nvme1"]);
        let s = &subs[1];
        assert_eq!(s.subsysnqn.as_deref(), Some("nqn.io"));
        assert_eq!(s.iopolicy.as_deref(), Some("numa"));
        assert_eq!(s.model.as_deref(), Some("Linux"));
        assert_eq!(s.serial, None);
        assert_eq!(s.controllers, ["nvme3", "nvme10"]);
        assert_eq!(s.namespaces, ["nvme2n1"]);
        assert_eq!(
            t.root().subsystem_of("nvme10").unwrap().map(|s| s.name),
            Some("nvme-subsys2".into())
        );
        assert!(t.root().subsystem_of("nvme9").unwrap().is_none());
    }

    #[test]
    fn empty_tree() {
        let t = Tree::new();
        assert!(t.root().controllers().unwrap().is_empty());
        assert!(t.root().subsystems().unwrap().is_empty());
        assert_eq!(SysfsRoot::default().root(), Path::new("/sys"));
        assert_eq!(
            t.root().controller_dir("nvme3"),
            t.0.path().join("class/nvme/nvme3")
        );
    }
}
