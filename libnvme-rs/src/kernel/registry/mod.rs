//! libnvme 3's ownership registry (`/run/nvme/registry/nvmeN/owner`), read and written the
//! way libnvme does (nvme-stas 3.x spec §1), so connection managers on one host leave each
//! other's controllers alone.
//!
//! * One directory per fabric controller, one file per attribute; `owner` holds the owner's
//!   name and `\n`. No directory, no `owner` file or an empty one means unowned; trailing
//!   `\n`/`\r` are stripped; unknown attributes are ignored.
//! * A fresh connect records an entry as libnvme's `libnvmf_registry_create_instance`: a
//!   temporary `.nvmeN.tmp.XXXXXX` directory (0755) gets `seqnum` (the kernel's
//!   `uevent_seqnum`, best effort) and `owner`, each written to a temporary file (0644) and
//!   renamed into place with the directory fsynced; a stale `nvmeN` is renamed away to
//!   `.trash.XXXXXX` and purged; then the temporary directory is renamed to `nvmeN`.
//! * A borrowed (adopted) connection is [`Registry::claim`]ed: `owner` is written only when
//!   there is none — another owner is never overwritten — as `libnvmf_registry_update`
//!   writes it (a missing `nvmeN` made 0755 less the umask, `owner` as above).
//! * Both writers are compared with libnvme's own `registry.c` by
//!   `tests/registry_libnvme.rs`.
//! * No locks: every change is an atomic rename, as libnvme's.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where libnvme keeps the registry.
pub const DEFAULT_DIR: &str = "/run/nvme/registry";
/// The owner name nvme-stas records.
pub const STAS_OWNER: &str = "stas";
/// The kernel's uevent sequence counter, stamped into new entries.
const UEVENT_SEQNUM: &str = "/sys/kernel/uevent_seqnum";
/// Where libnvme 3 installs the udev rule that removes entries of vanished controllers.
const REGISTRY_RULES: [&str; 3] = [
    "/usr/lib/udev/rules.d/70-nvmf-registry.rules",
    "/lib/udev/rules.d/70-nvmf-registry.rules",
    "/etc/udev/rules.d/70-nvmf-registry.rules",
];
/// Bytes read from an attribute (owner names are short; this bounds a hostile file).
const ATTR_MAX: u64 = 4096;

/// The registry under one directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    seqnum_source: PathBuf,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new(DEFAULT_DIR)
    }
}

/// What [`Registry::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It was unowned; it is ours now.
    Claimed,
    /// It was already ours.
    AlreadyOurs,
    /// Someone else owns it; nothing was written.
    OwnedBy(String),
}

/// A device name libnvme accepts: `nvme` and digits.
pub fn valid_device(name: &str) -> bool {
    name.strip_prefix("nvme")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// An attribute name libnvme accepts: `[A-Za-z0-9_-]+`.
pub fn valid_attr(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Registry {
    /// The registry kept under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            seqnum_source: PathBuf::from(UEVENT_SEQNUM),
        }
    }

    /// Reads the uevent sequence number from `path` instead of the kernel's (tests).
    pub fn with_seqnum_source(mut self, path: impl Into<PathBuf>) -> Self {
        self.seqnum_source = path.into();
        self
    }

    /// The registry's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the registry exists: a libnvme 3 host (2.x hosts have none).
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// Whether this host uses the registry: it exists, or libnvme 3's udev rule that
    /// cleans it up is installed (the directory appears with the first owned connect).
    pub fn in_use(&self) -> bool {
        self.exists() || REGISTRY_RULES.iter().any(|r| Path::new(r).exists())
    }

    /// One attribute of `device`, trailing `\n`/`\r` stripped; `None` when the device name
    /// or attribute is invalid, the file is missing, unreadable or empty.
    pub fn attribute(&self, device: &str, attr: &str) -> Option<String> {
        if !valid_device(device) || !valid_attr(attr) {
            return None;
        }
        let mut buf = super::read_bounded(&self.dir.join(device).join(attr), ATTR_MAX).ok()?;
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        (!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned())
    }

    /// The owner of `device`, `None` when unowned.
    pub fn owner(&self, device: &str) -> Option<String> {
        self.attribute(device, "owner")
    }

    /// The owner of `device` when it is someone other than `ours` (spec §1 `protected()`,
    /// without the NBFT half, which the caller knows).
    pub fn owned_by_another(&self, device: &str, ours: &str) -> Option<String> {
        self.owner(device).filter(|o| o != ours)
    }

    /// Records a fresh connection of `device` for `owner`, replacing any stale entry
    /// (instance numbers are recycled, so an old entry is stale by definition).
    pub fn record(&self, device: &str, owner: &str) -> io::Result<()> {
        check_names(device, owner)?;
        mkdir_p(&self.dir)?;
        let tmp = self.make_temp_dir(&format!(".{device}.tmp."))?;
        let result = (|| {
            if let Some(seqnum) = read_seqnum(&self.seqnum_source) {
                // Best effort, as libnvme: a missing stamp only makes udev's REMOVE rule
                // fall back to its device-existence check.
                let _ = write_attr_atomic(&tmp, "seqnum", &seqnum);
            }
            write_attr_atomic(&tmp, "owner", owner)?;
            let final_path = self.dir.join(device);
            self.delete_atomic(&final_path);
            fs::rename(&tmp, &final_path)
        })();
        if result.is_err() {
            let _ = delete_dir(&tmp);
        }
        result
    }

    /// Claims a borrowed connection for `owner` unless another owner has it.
    pub fn claim(&self, device: &str, owner: &str) -> io::Result<Claim> {
        check_names(device, owner)?;
        match self.owner(device) {
            Some(o) if o == owner => return Ok(Claim::AlreadyOurs),
            Some(o) => return Ok(Claim::OwnedBy(o)),
            None => {}
        }
        mkdir_p(&self.dir)?;
        let dir = self.dir.join(device);
        // As libnvme's `libnvmf_registry_update`: mkdir 0755 less the umask, no chmod.
        match fs::DirBuilder::new().mode(0o755).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        write_attr_atomic(&dir, "owner", owner)?;
        Ok(Claim::Claimed)
    }

    /// Removes the entry of `device` (after our own disconnect), atomically.
    pub fn remove(&self, device: &str) -> io::Result<()> {
        if !valid_device(device) {
            return Err(invalid(format!("{device:?} is not an nvme device name")));
        }
        self.delete_atomic(&self.dir.join(device));
        Ok(())
    }

    /// Renames `path` to a hidden `.trash.XXXXXX` sibling, then purges it; missing is fine.
    fn delete_atomic(&self, path: &Path) {
        let Ok(trash) = self.make_temp_dir(".trash.") else {
            return;
        };
        if fs::rename(path, &trash).is_err() {
            let _ = fs::remove_dir(&trash);
            return;
        }
        let _ = delete_dir(&trash);
    }

    /// `mkdtemp(<dir>/<prefix>XXXXXX)` with mode 0755.
    fn make_temp_dir(&self, prefix: &str) -> io::Result<PathBuf> {
        for _ in 0..64 {
            let path = self.dir.join(format!("{prefix}{}", random_suffix()));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
                    return Ok(path);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name in the registry",
        ))
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn check_names(device: &str, owner: &str) -> io::Result<()> {
    if !valid_device(device) {
        return Err(invalid(format!("{device:?} is not an nvme device name")));
    }
    if owner.is_empty() || owner.contains(['\n', '\r', '\0']) {
        return Err(invalid(format!("{owner:?} is not an owner name")));
    }
    Ok(())
}

fn mkdir_p(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
}

/// Six characters from `[A-Za-z0-9]`, as mkstemp's `XXXXXX`. Every use creates with
/// O_EXCL (or mkdir) and retries on a collision, so the names need to vary, not to be
/// secret: std's per-call randomly keyed hasher is enough.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut n = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (0..6)
        .map(|_| {
            let c = CHARS[(n % CHARS.len() as u64) as usize];
            n /= CHARS.len() as u64;
            char::from(c)
        })
        .collect()
}

/// libnvme's `write_attr_atomic`: `<attr>.tmp.XXXXXX` created, 0644, `value\n` written,
/// renamed onto `<attr>`, the directory fsynced.
fn write_attr_atomic(dir: &Path, attr: &str, value: &str) -> io::Result<()> {
    if !valid_attr(attr) {
        return Err(invalid(format!("{attr:?} is not an attribute name")));
    }
    let final_path = dir.join(attr);
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!("{attr}.tmp.{}", random_suffix()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
        file.write_all(value.as_bytes())?;
        file.write_all(b"\n")?;
        drop(file);
        fs::rename(&tmp, &final_path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Durable rename, as libnvme (a failure here loses nothing but durability).
    let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Removes a flat entry directory and its files.
fn delete_dir(path: &Path) -> io::Result<()> {
    for e in fs::read_dir(path)?.flatten() {
        let _ = fs::remove_file(e.path());
    }
    fs::remove_dir(path)
}

fn read_seqnum(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let s = text.trim_end_matches(['\n', '\r']);
    (!s.is_empty() && s.len() < 32).then(|| s.to_owned())
}

#[cfg(test)]
mod tests;
