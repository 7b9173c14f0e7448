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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;
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

    /// What a reporter walking `source()` with ": " prints.
    fn chain(e: &HostError) -> String {
        let mut s = e.to_string();
        let mut cur = e.source();
        while let Some(c) = cur {
            s.push_str(&format!(": {c}"));
            cur = c.source();
        }
        s
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
