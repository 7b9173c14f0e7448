//! Host identity: host NQN, host ID and DH-HMAC-CHAP host key (compat spec §1.7).
//!
//! Values come from `/etc/stas/sys.conf` `[Host]` (`nqn`, `id`, `key`; the caller parses that
//! file) or, when absent, from `<etc_nvme>/hostnqn`, `hostid`, `hostkey`. A value of the form
//! `file://PATH` is read from PATH. Files yield **only the first whitespace-delimited token of
//! their first line**; an empty first line means "undefined".
//!
//! Error texts are upstream's exit messages. Where upstream appends the OS error
//! (`...: <OS error>`) it is the `#[source]` here, so a reporter joining the chain with `": "`
//! prints the upstream line.
//!
//! Deliberate divergences: an empty host NQN or host ID is an error (upstream goes on with
//! "undefined" and crashes later), and any read failure of those files is reported, not only
//! "file not found". The 223 limit is checked in bytes (the NVMe field size).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::spec::NQN_MAX_LEN;

/// Default directory of the host identity files.
pub const DEFAULT_ETC_NVME: &str = "/etc/nvme";

/// Longest first line read from an identity file; longer lines are cut (the first token of
/// any sane file is far shorter).
const LINE_MAX: u64 = 64 * 1024;

/// Host identity errors.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The host NQN file (default or `file://`) could not be read.
    #[error("Error reading mandatory Host NQN (see stasadm --help)")]
    HostNqnRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The host NQN is empty.
    #[error("Error Host NQN is undefined (see stasadm --help)")]
    HostNqnUndefined,
    /// The host NQN does not start with `nqn.`.
    #[error("Error Host NQN \"{0}\" should start with \"nqn.\"")]
    HostNqnPrefix(String),
    /// The host NQN exceeds 223 bytes.
    #[error("Error Host NQN is too long ({0} chars, max 223 per NVMe spec)")]
    HostNqnTooLong(usize),
    /// The host ID file could not be read.
    #[error("Error reading mandatory Host ID (see stasadm --help)")]
    HostIdRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The host ID is empty.
    #[error("Error Host ID is undefined (see stasadm --help)")]
    HostIdUndefined,
    /// The host ID is not a UUID, which the Connect command's 16-byte HOSTID needs.
    #[error("Error Host ID \"{0}\" is not a UUID")]
    HostIdNotUuid(String),
    /// The host key file exists but could not be read (a missing one is just "no key").
    #[error("Error reading Host key")]
    HostKeyRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// The host's NVMe identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    /// Host NQN (starts with `nqn.`, ≤ 223 bytes).
    pub hostnqn: String,
    /// Host ID (not format-checked, as upstream; the kernel wants a UUID).
    pub hostid: String,
    /// DH-HMAC-CHAP host key, if any.
    pub hostkey: Option<String>,
}

/// Where the identity comes from: the `/etc/nvme` directory and the optional sys.conf
/// `[Host]` overrides (`None` = option absent, so the default file is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSources {
    /// Directory holding `hostnqn`, `hostid`, `hostkey`.
    pub etc_nvme: PathBuf,
    /// `[Host] nqn` value (literal or `file://PATH`).
    pub nqn: Option<String>,
    /// `[Host] id` value.
    pub id: Option<String>,
    /// `[Host] key` value.
    pub key: Option<String>,
}

impl Default for HostSources {
    fn default() -> Self {
        Self::new(DEFAULT_ETC_NVME)
    }
}

/// Where a value was looked up; the path is used in error reports.
enum Source<'a> {
    Literal(&'a str),
    File(PathBuf),
}

impl HostSources {
    /// Defaults only, from `etc_nvme`.
    pub fn new(etc_nvme: impl Into<PathBuf>) -> Self {
        HostSources {
            etc_nvme: etc_nvme.into(),
            nqn: None,
            id: None,
            key: None,
        }
    }

    fn source<'a>(&self, value: &'a Option<String>, default_file: &str) -> Source<'a> {
        match value.as_deref() {
            Some(v) => match v.strip_prefix("file://") {
                Some(path) => Source::File(PathBuf::from(path)),
                None => Source::Literal(v),
            },
            None => Source::File(self.etc_nvme.join(default_file)),
        }
    }

    /// The validated host NQN. Re-reads files on every call (upstream re-reads `file://`
    /// targets and default files each time the value is needed).
    pub fn hostnqn(&self) -> Result<String, HostError> {
        let value = match self.source(&self.nqn, "hostnqn") {
            Source::Literal(v) => non_empty(v),
            Source::File(path) => {
                read_first_token(&path).map_err(|source| HostError::HostNqnRead { path, source })?
            }
        };
        let value = value.ok_or(HostError::HostNqnUndefined)?;
        validate_hostnqn(&value)?;
        Ok(value)
    }

    /// The host ID (no format check, as upstream).
    pub fn hostid(&self) -> Result<String, HostError> {
        let value = match self.source(&self.id, "hostid") {
            Source::Literal(v) => non_empty(v),
            Source::File(path) => {
                read_first_token(&path).map_err(|source| HostError::HostIdRead { path, source })?
            }
        };
        value.ok_or(HostError::HostIdUndefined)
    }

    /// The host key: `Ok(None)` when unset, empty or the file is missing.
    pub fn hostkey(&self) -> Result<Option<String>, HostError> {
        match self.source(&self.key, "hostkey") {
            Source::Literal(v) => Ok(non_empty(v)),
            Source::File(path) => match read_first_token(&path) {
                Ok(v) => Ok(v),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(HostError::HostKeyRead { path, source }),
            },
        }
    }

    /// All three, host NQN first (the order upstream fails in).
    pub fn load(&self) -> Result<HostIdentity, HostError> {
        Ok(HostIdentity {
            hostnqn: self.hostnqn()?,
            hostid: self.hostid()?,
            hostkey: self.hostkey()?,
        })
    }
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

/// Checks the `nqn.` prefix, then the length, in upstream's order.
pub fn validate_hostnqn(nqn: &str) -> Result<(), HostError> {
    if !nqn.starts_with("nqn.") {
        return Err(HostError::HostNqnPrefix(nqn.to_owned()));
    }
    if nqn.len() > NQN_MAX_LEN {
        return Err(HostError::HostNqnTooLong(nqn.len()));
    }
    Ok(())
}

/// The first whitespace-delimited token of the first line of `path`; `None` if that line
/// has no token. Non-UTF-8 content is an `InvalidData` error.
pub fn read_first_token(path: &Path) -> io::Result<Option<String>> {
    let file = File::open(path)?;
    let mut line = String::new();
    BufReader::new(file.take(LINE_MAX)).read_line(&mut line)?;
    Ok(line.split_whitespace().next().map(str::to_owned))
}

/// Resolves a configuration value: `file://PATH` → first token of PATH's first line (see
/// [`read_first_token`]); anything else is returned as is (`None` if empty).
pub fn resolve_value(value: &str) -> io::Result<Option<String>> {
    match value.strip_prefix("file://") {
        Some(path) => read_first_token(Path::new(path)),
        None => Ok(non_empty(value)),
    }
}

// ---------------------------------------------------------------------------------------------
// Host NQN / host ID generation (`stasadm hostnqn` / `hostid`, compat spec §3.4)
// ---------------------------------------------------------------------------------------------

/// Prefix of a UUID-based host NQN (NVMe Base Specification, "UUID-based NQN" format).
pub const UUID_NQN_PREFIX: &str = "nqn.2014-08.org.nvmexpress:uuid:";

/// HMAC key upstream uses to derive the host NQN's UUID from the machine ID.
pub const NQN_APP_KEY: &[u8] = b"$nvmexpress.org$";

/// Default machine ID file (systemd).
pub const DEFAULT_MACHINE_ID_FILE: &str = "/etc/machine-id";
/// Default SMBIOS system UUID file (readable by root only).
pub const DEFAULT_DMI_PRODUCT_UUID_FILE: &str = "/sys/class/dmi/id/product_uuid";
/// Default device-tree partition UUID file (IBM Power LPARs).
pub const DEFAULT_DT_PARTITION_UUID_FILE: &str = "/proc/device-tree/ibm,partition-uuid";
/// Default source of random bytes for UUIDv4 generation.
pub const DEFAULT_RANDOM_SOURCE: &str = "/dev/urandom";

/// Longest prefix read from a UUID source file (they hold one short line).
const UUID_FILE_MAX: u64 = 4096;

/// Where [`derive_host_uuid`] looks, in order. Every path can be moved for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidSources {
    /// systemd machine ID (32 hex digits).
    pub machine_id: PathBuf,
    /// SMBIOS system UUID as the kernel prints it.
    pub dmi_product_uuid: PathBuf,
    /// Device-tree partition UUID.
    pub dt_partition_uuid: PathBuf,
    /// Random bytes for the UUIDv4 fallback.
    pub random: PathBuf,
}

impl Default for UuidSources {
    fn default() -> Self {
        UuidSources {
            machine_id: DEFAULT_MACHINE_ID_FILE.into(),
            dmi_product_uuid: DEFAULT_DMI_PRODUCT_UUID_FILE.into(),
            dt_partition_uuid: DEFAULT_DT_PARTITION_UUID_FILE.into(),
            random: DEFAULT_RANDOM_SOURCE.into(),
        }
    }
}

/// Which source produced a derived UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UuidOrigin {
    /// HMAC-SHA256 of the machine ID (stable across re-generation).
    MachineId,
    /// SMBIOS system UUID, byte-swapped to network order.
    DmiProductUuid,
    /// Device-tree `ibm,partition-uuid`.
    DeviceTree,
    /// Random UUIDv4 (no stable source found).
    Random,
}

/// A UUID (canonical text form) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedUuid {
    /// Canonical `8-4-4-4-12` text form.
    pub uuid: String,
    /// Its source.
    pub origin: UuidOrigin,
}

/// Why a host NQN / host ID could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The machine ID is unusable and the SMBIOS UUID is root-only (upstream's exit text).
    #[error("Permission denied. Root privileges required.")]
    RootRequired {
        /// The file that could not be read.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A source file exists but could not be read.
    #[error("Error reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The random source could not be read.
    #[error("Error reading random bytes from {path}")]
    Random {
        /// The random device.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Canonical lower-case text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) of 16 bytes.
pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses 32 hex digits (either case, nothing else) into 16 bytes.
pub fn parse_hex128(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let &[hi, lo] = pair else {
            return None;
        };
        *o = (hex_digit(hi)? << 4) | hex_digit(lo)?;
    }
    Some(out)
}

/// Parses a canonical `8-4-4-4-12` UUID (hex digits of either case) into 16 bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b.get(i) != Some(&b'-')) {
        return None;
    }
    let hex: String = s.chars().filter(|&c| c != '-').collect();
    parse_hex128(&hex)
}

/// Sets the RFC 4122 version-4 and variant bits, as Python's `uuid.UUID(bytes=…, version=4)`.
pub fn set_uuid_v4_bits(bytes: &mut [u8; 16]) {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
}

/// The host NQN UUID derived from a machine ID (32 hex digits), bit-exact with upstream:
/// `HMAC-SHA256(key = "$nvmexpress.org$", msg = 16 machine-ID bytes)[0..16]` with the v4
/// version and variant bits set. `None` if `machine_id` is not 32 hex digits.
pub fn uuid_from_machine_id(machine_id: &str) -> Option<String> {
    use hmac::{Hmac, Mac};
    let mid = parse_hex128(machine_id)?;
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(NQN_APP_KEY).ok()?;
    mac.update(&mid);
    let digest = mac.finalize().into_bytes();
    let mut bytes: [u8; 16] = digest.get(..16)?.try_into().ok()?;
    set_uuid_v4_bits(&mut bytes);
    Some(format_uuid(&bytes))
}

/// The SMBIOS system UUID as printed by the kernel (first 36 characters of `product_uuid`)
/// converted to network order the way upstream does it: the first three groups are
/// byte-swapped (characters `6,7,4,5,2,3,0,1,8,11,12,9,10,13,16,17,14,15` then `18..36`).
/// Case is kept. `None` unless the text has the UUID shape.
pub fn uuid_from_dmi_product_uuid(text: &str) -> Option<String> {
    let id: Vec<char> = text.chars().take(36).collect();
    let candidate: String = id.iter().collect();
    parse_uuid(&candidate)?;
    const ORDER: [usize; 18] = [6, 7, 4, 5, 2, 3, 0, 1, 8, 11, 12, 9, 10, 13, 16, 17, 14, 15];
    let mut out: String = ORDER.iter().filter_map(|&i| id.get(i)).collect();
    out.extend(id.get(18..)?.iter());
    Some(out)
}

/// The first `n` characters of `path`, or `Ok(None)` when the file is missing, shorter
/// than `n` characters or not UTF-8 (upstream's `read_from_file`).
fn read_first_chars(path: &Path, n: usize) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    match File::open(path) {
        Ok(f) => f.take(UUID_FILE_MAX).read_to_end(&mut buf)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let Ok(text) = std::str::from_utf8(&buf) else {
        return Ok(None);
    };
    let prefix: String = text.chars().take(n).collect();
    Ok((prefix.chars().count() == n).then_some(prefix))
}

/// A random UUIDv4 from `random` (normally `/dev/urandom`).
pub fn random_uuid_v4(random: &Path) -> Result<String, GenerateError> {
    let mut bytes = [0u8; 16];
    File::open(random)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| GenerateError::Random {
            path: random.to_owned(),
            source,
        })?;
    set_uuid_v4_bits(&mut bytes);
    Ok(format_uuid(&bytes))
}

/// The UUID of a generated host NQN, trying in order (compat spec §3.4):
/// 1. the machine ID ([`uuid_from_machine_id`]);
/// 2. the SMBIOS system UUID ([`uuid_from_dmi_product_uuid`]) — if that file exists but is
///    not readable (non-root), [`GenerateError::RootRequired`], upstream's exit;
/// 3. the device-tree partition UUID (first 36 characters, UUID-shaped);
/// 4. a random UUIDv4.
///
/// Divergences: upstream refuses to go past step 1 unless the effective UID is 0; here the
/// read itself decides (same result on real systems, where `product_uuid` is mode 0400),
/// so a non-root user on a machine without DMI still gets a UUID. Malformed contents skip to
/// the next source instead of raising.
pub fn derive_host_uuid(src: &UuidSources) -> Result<DerivedUuid, GenerateError> {
    let read = |path: &Path, n| {
        read_first_chars(path, n).map_err(|source| GenerateError::Read {
            path: path.to_owned(),
            source,
        })
    };
    if let Some(uuid) = read(&src.machine_id, 32)?
        .as_deref()
        .and_then(uuid_from_machine_id)
    {
        return Ok(DerivedUuid {
            uuid,
            origin: UuidOrigin::MachineId,
        });
    }
    let dmi = match read_first_chars(&src.dmi_product_uuid, 36) {
        Ok(v) => v,
        Err(source) if source.kind() == io::ErrorKind::PermissionDenied => {
            return Err(GenerateError::RootRequired {
                path: src.dmi_product_uuid.clone(),
                source,
            });
        }
        Err(source) => {
            return Err(GenerateError::Read {
                path: src.dmi_product_uuid.clone(),
                source,
            });
        }
    };
    if let Some(uuid) = dmi.as_deref().and_then(uuid_from_dmi_product_uuid) {
        return Ok(DerivedUuid {
            uuid,
            origin: UuidOrigin::DmiProductUuid,
        });
    }
    if let Some(uuid) = read(&src.dt_partition_uuid, 36)?.filter(|u| parse_uuid(u).is_some()) {
        return Ok(DerivedUuid {
            uuid,
            origin: UuidOrigin::DeviceTree,
        });
    }
    Ok(DerivedUuid {
        uuid: random_uuid_v4(&src.random)?,
        origin: UuidOrigin::Random,
    })
}

/// `nqn.2014-08.org.nvmexpress:uuid:<uuid>`.
pub fn uuid_nqn(uuid: &str) -> String {
    format!("{UUID_NQN_PREFIX}{uuid}")
}

/// A generated host NQN ([`derive_host_uuid`] wrapped by [`uuid_nqn`]).
pub fn generate_hostnqn(src: &UuidSources) -> Result<String, GenerateError> {
    derive_host_uuid(src).map(|d| uuid_nqn(&d.uuid))
}

/// The UUID of a UUID-based NQN (`nqn.2014-08.org.nvmexpress:uuid:<uuid>`), lower-cased, for
/// use as the matching host ID; `None` for any other NQN.
pub fn hostid_from_nqn(nqn: &str) -> Option<String> {
    let rest = nqn.strip_prefix(UUID_NQN_PREFIX)?;
    parse_uuid(rest).map(|b| format_uuid(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const NQN: &str = "nqn.2014-08.org.nvmexpress:uuid:9aae2691-b275-4b64-8bfe-5da429a2bab9";
    const ID: &str = "9aae2691-b275-4b64-8bfe-5da429a2bab9";

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, c) in files {
            fs::write(d.path().join(n), c).unwrap();
        }
        d
    }

    fn chain(e: &HostError) -> String {
        crate::error_chain(e)
    }

    #[test]
    fn reads_default_files() {
        let d = dir_with(&[
            ("hostnqn", &format!("{NQN}\n")),
            ("hostid", &format!("  {ID} trailing words\nsecond line\n")),
            ("hostkey", "DHHC-1:00:abc=:\n"),
        ]);
        let id = HostSources::new(d.path()).load().unwrap();
        assert_eq!(
            id,
            HostIdentity {
                hostnqn: NQN.into(),
                hostid: ID.into(),
                hostkey: Some("DHHC-1:00:abc=:".into())
            }
        );
    }

    #[test]
    fn missing_hostnqn_message() {
        let d = dir_with(&[("hostid", ID)]);
        let e = HostSources::new(d.path()).load().unwrap_err();
        assert!(matches!(&e, HostError::HostNqnRead { path, .. } if path.ends_with("hostnqn")));
        assert!(
            chain(&e).starts_with(
                "Error reading mandatory Host NQN (see stasadm --help): No such file or directory"
            ),
            "{}",
            chain(&e)
        );
    }

    #[test]
    fn empty_hostnqn_is_an_error() {
        for content in ["", "\n", "   \nnqn.x\n"] {
            let d = dir_with(&[("hostnqn", content), ("hostid", ID)]);
            assert!(
                matches!(
                    HostSources::new(d.path()).hostnqn(),
                    Err(HostError::HostNqnUndefined)
                ),
                "{content:?}"
            );
        }
    }

    #[test]
    fn hostnqn_validation_messages() {
        let d = dir_with(&[("hostnqn", "bogus:nqn\n")]);
        let e = HostSources::new(d.path()).hostnqn().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"Error Host NQN "bogus:nqn" should start with "nqn.""#
        );
        let long = format!("nqn.{}", "a".repeat(220));
        let e = validate_hostnqn(&long).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error Host NQN is too long (224 chars, max 223 per NVMe spec)"
        );
        assert!(validate_hostnqn(&format!("nqn.{}", "a".repeat(219))).is_ok());
        // The prefix is checked first, as upstream.
        assert!(matches!(
            validate_hostnqn(&"x".repeat(300)),
            Err(HostError::HostNqnPrefix(_))
        ));
    }

    #[test]
    fn missing_or_empty_hostid() {
        let d = dir_with(&[("hostnqn", NQN)]);
        let e = HostSources::new(d.path()).load().unwrap_err();
        assert!(
            chain(&e).starts_with("Error reading mandatory Host ID (see stasadm --help): "),
            "{}",
            chain(&e)
        );
        let d = dir_with(&[("hostnqn", NQN), ("hostid", "\n")]);
        assert!(matches!(
            HostSources::new(d.path()).load(),
            Err(HostError::HostIdUndefined)
        ));
    }

    #[test]
    fn hostkey_optional() {
        let d = dir_with(&[("hostnqn", NQN), ("hostid", ID)]);
        assert_eq!(HostSources::new(d.path()).load().unwrap().hostkey, None);
        fs::write(d.path().join("hostkey"), "\n").unwrap();
        assert_eq!(HostSources::new(d.path()).hostkey().unwrap(), None);
        fs::create_dir(d.path().join("sub")).unwrap();
        let s = HostSources {
            key: Some(format!("file://{}", d.path().join("sub").display())),
            ..HostSources::new(d.path())
        };
        assert!(matches!(s.hostkey(), Err(HostError::HostKeyRead { .. })));
    }

    #[test]
    fn sysconf_overrides() {
        let d = dir_with(&[("alt", &format!("{NQN} x\n")), ("id-file", "abc\n")]);
        let s = HostSources {
            nqn: Some(format!("file://{}", d.path().join("alt").display())),
            id: Some(format!("file://{}", d.path().join("id-file").display())),
            key: Some("DHHC-1:01:inline:".into()),
            ..HostSources::new("/nonexistent")
        };
        assert_eq!(
            s.load().unwrap(),
            HostIdentity {
                hostnqn: NQN.into(),
                hostid: "abc".into(),
                hostkey: Some("DHHC-1:01:inline:".into())
            }
        );
        // Inline literal values are validated too.
        let s = HostSources {
            nqn: Some("not-an-nqn".into()),
            ..HostSources::new("/nonexistent")
        };
        assert!(matches!(s.hostnqn(), Err(HostError::HostNqnPrefix(_))));
        // file:///dev/null → undefined.
        let s = HostSources {
            nqn: Some("file:///dev/null".into()),
            ..HostSources::new("/nonexistent")
        };
        assert!(matches!(s.hostnqn(), Err(HostError::HostNqnUndefined)));
        // A missing file:// target for nqn / id is the mandatory-read error.
        let s = HostSources {
            nqn: Some("file:///some/non/existing/file/!@#".into()),
            id: Some("file:///some/non/existing/file/!@#".into()),
            ..HostSources::new("/nonexistent")
        };
        assert!(matches!(s.hostnqn(), Err(HostError::HostNqnRead { .. })));
        assert!(matches!(s.hostid(), Err(HostError::HostIdRead { .. })));
        // A missing key file is fine.
        let s = HostSources {
            key: Some("file:///some/non/existing/file".into()),
            ..HostSources::new("/x")
        };
        assert_eq!(s.hostkey().unwrap(), None);
    }

    #[test]
    fn resolve_value_rules() {
        let d = dir_with(&[("sym", "my host name\n"), ("bin", "\u{0}\u{ff}")]);
        assert_eq!(
            resolve_value("inline value").unwrap().as_deref(),
            Some("inline value")
        );
        assert_eq!(resolve_value("").unwrap(), None);
        let f = format!("file://{}", d.path().join("sym").display());
        assert_eq!(resolve_value(&f).unwrap().as_deref(), Some("my"));
        assert_eq!(resolve_value("file:///dev/null").unwrap(), None);
        assert_eq!(
            resolve_value("file:///no/such/file").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        fs::write(d.path().join("bin"), [0xffu8, 0xfe, b'\n']).unwrap();
        let f = format!("file://{}", d.path().join("bin").display());
        assert_eq!(
            resolve_value(&f).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn default_dir() {
        assert_eq!(HostSources::default().etc_nvme, PathBuf::from("/etc/nvme"));
    }
}

#[cfg(test)]
mod derivation_tests {
    use super::*;
    use std::fs;

    fn sources(dir: &Path) -> UuidSources {
        UuidSources {
            machine_id: dir.join("machine-id"),
            dmi_product_uuid: dir.join("product_uuid"),
            dt_partition_uuid: dir.join("partition-uuid"),
            random: "/dev/urandom".into(),
        }
    }

    #[test]
    fn machine_id_vectors() {
        assert_eq!(
            uuid_from_machine_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").as_deref(),
            Some("3da64a01-16c5-4e10-ac46-397e2372b964")
        );
        assert_eq!(
            uuid_from_machine_id("0123456789abcdef0123456789abcdef").as_deref(),
            Some("f2782346-4809-484a-9a8b-952a04b57ba4")
        );
        // Upper case is the same ID (Python's uuid.UUID accepts it).
        assert_eq!(
            uuid_from_machine_id("0123456789ABCDEF0123456789ABCDEF").as_deref(),
            Some("f2782346-4809-484a-9a8b-952a04b57ba4")
        );
        for bad in [
            "",
            "uninitialized",
            &"g".repeat(32),
            &"a".repeat(31),
            &"a".repeat(33),
        ] {
            assert_eq!(uuid_from_machine_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn derive_prefers_machine_id() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join("machine-id"),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        )
        .unwrap();
        fs::write(
            d.path().join("product_uuid"),
            "4c4c4544-0034-1036-8038-b2c04f313233\n",
        )
        .unwrap();
        let got = derive_host_uuid(&sources(d.path())).unwrap();
        assert_eq!(
            got,
            DerivedUuid {
                uuid: "3da64a01-16c5-4e10-ac46-397e2372b964".into(),
                origin: UuidOrigin::MachineId
            }
        );
        assert_eq!(
            generate_hostnqn(&sources(d.path())).unwrap(),
            "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964"
        );
    }

    #[test]
    fn dmi_byte_swap() {
        assert_eq!(
            uuid_from_dmi_product_uuid("4c4c4544-0034-1036-8038-b2c04f313233\n").as_deref(),
            Some("44454c4c-3400-3610-8038-b2c04f313233")
        );
        assert_eq!(
            uuid_from_dmi_product_uuid("00112233-4455-6677-8899-AABBCCDDEEFF").as_deref(),
            Some("33221100-5544-7766-8899-AABBCCDDEEFF")
        );
        assert_eq!(uuid_from_dmi_product_uuid("not a uuid"), None);
        assert_eq!(uuid_from_dmi_product_uuid("00112233-4455-6677-8899"), None);

        // Machine ID missing or unusable → DMI.
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("machine-id"), "uninitialized\n").unwrap();
        fs::write(
            d.path().join("product_uuid"),
            "4c4c4544-0034-1036-8038-b2c04f313233\n",
        )
        .unwrap();
        let got = derive_host_uuid(&sources(d.path())).unwrap();
        assert_eq!(got.origin, UuidOrigin::DmiProductUuid);
        assert_eq!(got.uuid, "44454c4c-3400-3610-8038-b2c04f313233");
    }

    #[test]
    fn device_tree_then_random() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join("partition-uuid"),
            "8a1b2c3d-0000-4000-8000-00000000abcd\0",
        )
        .unwrap();
        let got = derive_host_uuid(&sources(d.path())).unwrap();
        assert_eq!(
            got,
            DerivedUuid {
                uuid: "8a1b2c3d-0000-4000-8000-00000000abcd".into(),
                origin: UuidOrigin::DeviceTree
            }
        );
        // Nothing usable → random v4, different every time.
        fs::write(d.path().join("partition-uuid"), "short").unwrap();
        let a = derive_host_uuid(&sources(d.path())).unwrap();
        let b = derive_host_uuid(&sources(d.path())).unwrap();
        assert_eq!(a.origin, UuidOrigin::Random);
        assert_ne!(a.uuid, b.uuid);
        assert_is_v4(&a.uuid);
    }

    fn assert_is_v4(u: &str) {
        let b = parse_uuid(u).unwrap();
        assert_eq!(b[6] >> 4, 4, "{u}");
        assert_eq!(b[8] & 0xc0, 0x80, "{u}");
        assert_eq!(u, u.to_lowercase());
    }

    #[test]
    fn random_v4_shape_and_errors() {
        for _ in 0..32 {
            assert_is_v4(&random_uuid_v4(Path::new("/dev/urandom")).unwrap());
        }
        // All-zero source still yields the version/variant bits.
        assert_eq!(
            random_uuid_v4(Path::new("/dev/zero")).unwrap(),
            "00000000-0000-4000-8000-000000000000"
        );
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("short"), [1u8; 5]).unwrap();
        assert!(matches!(
            random_uuid_v4(&d.path().join("short")),
            Err(GenerateError::Random { .. })
        ));
    }

    #[test]
    fn unreadable_source_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        // A directory where the machine ID should be: a read error, not a silent skip.
        fs::create_dir(d.path().join("machine-id")).unwrap();
        assert!(matches!(
            derive_host_uuid(&sources(d.path())),
            Err(GenerateError::Read { .. })
        ));
    }

    #[test]
    fn root_required_message() {
        let e = GenerateError::RootRequired {
            path: DEFAULT_DMI_PRODUCT_UUID_FILE.into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            e.to_string(),
            "Permission denied. Root privileges required."
        );
    }

    #[test]
    fn uuid_text_helpers() {
        let b = parse_uuid("F2782346-4809-484A-9A8B-952A04B57BA4").unwrap();
        assert_eq!(format_uuid(&b), "f2782346-4809-484a-9a8b-952a04b57ba4");
        for bad in [
            "",
            "f2782346-4809-484a-9a8b-952a04b57ba",
            "f2782346-4809-484a-9a8b-952a04b57ba4x",
            "f27823464-809-484a-9a8b-952a04b57ba4",
            "g2782346-4809-484a-9a8b-952a04b57ba4",
            "f2782346+4809-484a-9a8b-952a04b57ba4",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_hex128("00ff00ff00ff00ff00ff00ff00ff00fF").unwrap()[1],
            0xff
        );
    }

    #[test]
    fn hostid_from_uuid_nqn() {
        assert_eq!(
            hostid_from_nqn("nqn.2014-08.org.nvmexpress:uuid:3DA64A01-16c5-4e10-ac46-397e2372b964")
                .as_deref(),
            Some("3da64a01-16c5-4e10-ac46-397e2372b964")
        );
        for nqn in [
            "nqn.1988-11.com.dell:PowerEdge.R760.1234567",
            "nqn.2014-08.org.nvmexpress:uuid:",
            "nqn.2014-08.org.nvmexpress:uuid:3da64a01-16c5-4e10-ac46-397e2372b964:extra",
            "nqn.2014-08.org.nvmexpress:UUID:3da64a01-16c5-4e10-ac46-397e2372b964",
            "",
        ] {
            assert_eq!(hostid_from_nqn(nqn), None, "{nqn:?}");
        }
        assert_eq!(
            uuid_nqn("x"),
            "nqn.2014-08.org.nvmexpress:uuid:x".to_owned()
        );
    }
}
