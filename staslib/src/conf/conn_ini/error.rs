//! Errors (the whole configuration is refused) and warnings (something was ignored).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::model::Origin;

/// Longest piece of input text quoted in a message, in characters.
const MAX_QUOTED: usize = 80;

/// Prefixes of DH-HMAC-CHAP secrets and TLS PSKs in interchange format.
const SECRET_MARKERS: [&str; 2] = ["DHHC-1:", "NVMeTLSkey-1:"];

/// Input text as kept in an error or warning: at most [`MAX_QUOTED`] characters, and
/// nothing that looks like a secret (a stray line or token holding one), so that neither
/// `Display` nor `Debug` can show one.
pub(super) fn input_text(text: &str) -> String {
    if SECRET_MARKERS.iter().any(|m| text.contains(m)) {
        return "<redacted: looks like a secret>".to_owned();
    }
    let mut s: String = text.chars().take(MAX_QUOTED).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// Text from [`input_text`], quoted and escaped for a message.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// Where an error is: a file, and the line when there is one (file-level problems such as
/// an unreadable or oversized file have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

impl From<&Origin> for Location {
    fn from(o: &Origin) -> Self {
        Location {
            file: o.file.clone(),
            line: Some(o.line),
        }
    }
}

/// Why the configuration was refused. The first problem found stops the read, as in
/// libnvme; a daemon keeps its last good configuration.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct ConnConfError {
    /// File and line.
    pub location: Location,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl ConnConfError {
    pub(super) fn at(origin: &Origin, kind: ErrorKind) -> Self {
        ConnConfError {
            location: origin.into(),
            kind,
        }
    }

    pub(super) fn file(file: &Arc<Path>, kind: ErrorKind) -> Self {
        ConnConfError {
            location: Location {
                file: file.clone(),
                line: None,
            },
            kind,
        }
    }
}

/// The problems that refuse a configuration. Secret values are never quoted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file or directory could not be read.
    #[error("cannot be read: {0}")]
    Io(io::Error),
    /// A configuration file is a directory.
    #[error("is a directory")]
    IsDirectory,
    /// A configuration file is a device, FIFO or socket.
    #[error("is not a regular file")]
    NotRegularFile,
    /// The file exceeds [`super::MAX_FILE_BYTES`].
    #[error("is {size} bytes long (at most {max})")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The file contains a NUL byte (not a text file).
    #[error("contains a NUL byte")]
    NulByte,
    /// A line exceeds [`super::MAX_LINE_BYTES`].
    #[error("line is {len} bytes long (at most {max})")]
    LineTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The drop-in directory has more than [`super::MAX_DROPIN_FILES`] `*.conf` files.
    #[error("holds {count} *.conf files (at most {max})")]
    TooManyDropIns {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A line that is neither a comment, a `[section]` nor `key = value`.
    #[error("malformed line {}", quoted(.0))]
    MalformedLine(String),
    /// `key = value` before the first section header.
    #[error("{} before any section", quoted(.0))]
    KeyBeforeSection(String),
    /// A second `[Host]` in one file.
    #[error("second [Host] section; one persona, one file")]
    SecondHost,
    /// A known key in a section where it is not allowed.
    #[error("{key:?} is not valid in [{section}]")]
    NotValidInSection {
        /// The key.
        key: &'static str,
        /// The section.
        section: &'static str,
    },
    /// A value that does not parse for its key (integer, boolean, `persistent`).
    #[error("invalid {key} value {}", quoted(.value))]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// The value as written (never a secret's).
        value: String,
    },
    /// A string that could change a `/dev/nvme-fabrics` option string or is out of bounds.
    #[error("{key}: {reason}")]
    UnsafeValue {
        /// The key.
        key: &'static str,
        /// Why (never quotes a secret).
        reason: String,
    },
    /// `nqn =` with no value.
    #[error("empty nqn")]
    EmptyNqn,
    /// An NQN that is not `nqn.yyyy-mm.<something>` in printable ASCII, ≤ 223 bytes.
    #[error("{key} {} is not a valid NQN", quoted(.value))]
    InvalidNqn {
        /// `nqn` or `hostnqn`.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// A `hostid` that is not a non-zero UUID.
    #[error("hostid {} is not a valid, non-zero UUID", quoted(.0))]
    InvalidHostId(String),
    /// A `controller =` token without `=` or with an empty key.
    #[error("malformed token {} on a controller line", quoted(.0))]
    MalformedToken(String),
    /// `traddr=` (etc.) with no value on a controller line.
    #[error("empty {0} on a controller line")]
    EmptyAddress(&'static str),
    /// An addressing key twice on one controller line.
    #[error("repeated {0} on a controller line")]
    RepeatedAddress(&'static str),
    /// An unknown key on a controller line (refused: a misspelt address must not connect
    /// somewhere else).
    #[error("unknown key {} on a controller line", quoted(.0))]
    UnknownPathKey(String),
    /// `persistent` on a `[Subsystem]`'s controller line.
    #[error("{0} is only valid for a discovery controller")]
    DcOnlyOnPath(&'static str),
    /// A security key on a controller line.
    #[error("{0} is bound to the (hostnqn, subsysnqn) pair; set it on the section, not per path")]
    SecurityOnPath(&'static str),
    /// `nqn`, `hostnqn`, `controller`… on a controller line.
    #[error("{0} does not belong on a controller line")]
    NotOnPath(&'static str),
    /// A controller line without `transport` or `traddr`.
    #[error("controller line needs transport and traddr")]
    MissingTransportOrTraddr,
    /// A transport other than tcp, rdma, fc, loop.
    #[error("unknown transport {}", quoted(.0))]
    UnknownTransport(String),
    /// A `[Subsystem]` section without `nqn =`.
    #[error("[Subsystem] without an nqn")]
    SubsystemWithoutNqn,
    /// A drop-in's `[Host]` without a `hostnqn`.
    #[error("[Host] without a hostnqn in a drop-in")]
    DropInHostWithoutHostnqn,
    /// The same `hostnqn` in the `[Host]` of two files.
    #[error("hostnqn {hostnqn} already used by the persona at {other}")]
    HostnqnReused {
        /// The NQN.
        hostnqn: String,
        /// Where it was first set.
        other: Origin,
    },
    /// The same `hostid` for two different `hostnqn`s.
    #[error(
        "hostid {hostid} already used by persona {other_hostnqn} at {other}; same hostid means same host"
    )]
    HostidReused {
        /// The host ID.
        hostid: String,
        /// The other persona's NQN.
        other_hostnqn: String,
        /// Where the other persona set the host ID.
        other: Origin,
    },
}

/// Something ignored or questionable, with file and line, for the daemon to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct Warning {
    /// Where.
    pub origin: Origin,
    /// What.
    pub kind: WarningKind,
}

/// The kinds of [`Warning`]. The first three are libnvme's own warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WarningKind {
    /// An unknown key, ignored.
    #[error("unknown key {} ignored", quoted(.0))]
    UnknownKey(String),
    /// An unknown section, ignored with all its lines.
    #[error("unknown section [{}] ignored", quoted(.0))]
    UnknownSection(String),
    /// A `*Defaults` section repeated in one file (merged, last value wins).
    #[error("repeated [{0}] section (merged)")]
    RepeatedSection(&'static str),
    /// An endpoint section without any `controller =` line (nothing to connect).
    #[error("[{0}] has no controller line; nothing to connect")]
    NoPaths(&'static str),
    /// A `[Host]` naming a `hostnqn` but no `hostid` (allowed; the kernel then picks an
    /// unstable one, or `/etc/nvme/hostid` is used for the main file).
    #[error("[Host] sets hostnqn but no hostid")]
    NoHostId,
}

impl WarningKind {
    /// Whether libnvme itself reports this warning (used by the differential test).
    pub fn is_libnvme_warning(&self) -> bool {
        matches!(
            self,
            WarningKind::UnknownKey(_)
                | WarningKind::UnknownSection(_)
                | WarningKind::RepeatedSection(_)
        )
    }
}
