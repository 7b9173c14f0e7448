//! Reader of libnvme 3's INI connection configuration, as nvme-stas 3.x reads
//! `/etc/nvme/nvme-stas.conf` plus `/etc/nvme/nvme-stas.conf.d/*.conf` (3.x spec §3).
//!
//! [`read`] loads a main file and its drop-in directory into one [`ConnConfig`]: typed,
//! fully resolved, every path carrying its own [`Settings`]; [`parse`] does the same from
//! bytes already in memory. Any problem refuses the whole configuration with a
//! [`ConnConfError`] naming file and line (a daemon keeps its last good one); what is
//! ignored comes back as [`Warning`]s with file and line.
//!
//! # Rules (libnvme at nvme-cli `e117ee68`: `libnvme/src/nvme/config-ini.c`,
//! `config-resolve.c`, `shared/ini-util.c`, `shared/parse-util.c`)
//!
//! * **Lines** (`ini-util.c` `parse_lines`, `ini_line`): split at `\n` only; trimmed of C
//!   white space (so CRLF works). Blank lines and lines starting with `#` are skipped; there
//!   are **no inline comments** (`keep-alive-tmo = 30 # note` is an invalid integer: libnvme
//!   refuses its own `nvme-fabrics.conf.sample` for that reason). `[name]` is a section (the
//!   first `]` ends it; the name is trimmed and must not be blank; nothing may follow).
//!   `key = value` splits at the first `=`. Anything else is an error, in any section.
//! * **Files** (`ini-util.c` `shr_ini_parse_file`, `config-resolve.c`
//!   `libnvmf_config_load`): the main file and `<main>.d/`; each may be missing (both
//!   missing = no connections). A drop-in is a name ending in `.conf` other than `.conf`
//!   itself (hidden files included), read in byte order (`alphasort` in the C locale). A
//!   directory or device where a file is expected, an unreadable drop-in directory, a file
//!   over 1 MiB ([`MAX_FILE_BYTES`]) or with a NUL byte is an error.
//! * **Sections** (`config-ini.c` `enter_section`, exact case): `[Host]` at most once per
//!   file (a second is an error); `[Discovery Controller Defaults]` and
//!   `[I/O Controller Defaults]` (a repeat in one file merges, with a warning);
//!   repeatable `[Discovery Controller]` (`nqn` defaults to
//!   `nqn.2014-08.org.nvmexpress.discovery`) and `[Subsystem]` (`nqn` required). Unknown
//!   sections are ignored with everything in them (one warning). A key before any section
//!   is an error.
//! * **Keys** (`keys[]`, `conf_kv`, exact case, one spelling each). Unknown keys are
//!   ignored with a warning. A known key in the wrong section is an error:
//!   - tunables `nr-io-queues nr-write-queues nr-poll-queues queue-size keep-alive-tmo
//!     reconnect-delay ctrl-loss-tmo fast-io-fail-tmo tos duplicate-connect disable-sqflow
//!     hdr-digest data-digest`: every section and path lines;
//!   - security `tls concat tls-key tls-key-identity keyring kxchap-secret
//!     kxchap-ctrl-secret`: every section, never on a path line;
//!   - `persistent = no|auto|force` (case-insensitive): `[Discovery Controller Defaults]`,
//!     `[Discovery Controller]` and a DC's path line only;
//!   - `hostnqn hostid hostsymname`: `[Host]` only; `nqn`, `controller`: endpoint sections.
//! * **Values** (`libnvmf_key_check_value`, `check_int`, `shr_parse_bool`): an empty value
//!   is the reset form for every parameter key. Integers are C `strtol` base 0 (`0x1E`,
//!   `030`, `-1`), whole string, within `int`. Booleans `1 yes y true t on` / `0 no n false
//!   f off`, case-insensitive. NQNs (`nqn_valid`): `nqn.yyyy-mm.` + non-empty rest, month
//!   01–12, printable ASCII, ≤ 223 bytes; `nqn =` is an error, `hostnqn =` a reset.
//!   `hostid` (`hostid_valid`): a non-zero UUID.
//! * **Path lines** (`add_path`): `;`-separated `key=value` tokens, trimmed; empty tokens
//!   skipped; a token without `=` or with an empty key, an empty or repeated addressing key,
//!   an unknown key, a security key, `persistent` under `[Subsystem]`, or an identity key
//!   is an error; `transport` and `traddr` are required; tunables (and `key=` resets) are
//!   per-path overrides. Host names in `traddr` are kept as written.
//! * **Personas** (`check_personas`): a drop-in's `[Host]` must set `hostnqn`; one
//!   `hostnqn` in the `[Host]` of two files is an error (whatever the `hostid`s); one
//!   `hostid` under two different `hostnqn`s is an error.
//! * **Precedence** (`build_base`, `resolve_path`): path line > endpoint section > the
//!   file's own `[Host]` > the file's type defaults over the main file's > kernel default.
//!   A file's `[Host]` (identity and parameters) applies to that file only: a drop-in
//!   without `[Host]` connects with the default identity, not the main file's `[Host]`.
//!   A reset (`key =`) at any level wins over lower levels and means "kernel default"
//!   (`None` here; [`Settings::origin`] still says where).
//! * **Discovered controllers**: a DC's [`Endpoint::discovered_defaults`] (libnvme
//!   `dlp_dc_params`/`dlp_ioc_params`) and [`ConnConfig::runtime_defaults`] for those with
//!   no configured origin (`top_dc_params`/`top_ioc_params`).
//!
//! # Where libnvme's source and spec §3 differ (we follow the source)
//!
//! * `persistent` outside the DC places is an **error**, not ignored (`conf_kv` falls
//!   through to "is not valid in this section"; libnvme's tests `persistent in [I/O
//!   Controller Defaults]`, `… in [Subsystem]`, `… as a [Subsystem] per-path override`).
//! * Security keys are also accepted in both `*Defaults` sections, not only in `[Host]` and
//!   endpoint sections (`conf_kv` routes `LIBNVMF_KEY_SECURITY` to any section).
//! * Tunables are accepted in `[Host]` too (the `[Host]` rung of the cascade).
//! * `hostnqn` without `hostid` is **not** an error (PR #4040 is not in the source); we warn
//!   ([`WarningKind::NoHostId`]), as CONFIG.md's "tier 2" suggests. The error the source
//!   has instead: a drop-in `[Host]` without `hostnqn`, and one `hostid` for two personas.
//! * Runtime controllers get the main file's type defaults **plus the main file's `[Host]`
//!   parameters** (`build_base(files[0], files[0])`), not the type defaults only; those found
//!   through a configured DC get that DC's file scope.
//! * §4's "unset or unknown `persistent` means auto": an unknown value never gets that far,
//!   the parser refuses it (`check_persistent`); unset is `None` here, for the daemon to read
//!   as `auto`.
//!
//! # Deliberate differences from libnvme (stricter; each has a test)
//!
//! * Strings that reach a `/dev/nvme-fabrics` option are checked so they cannot inject
//!   options: `traddr`, `trsvcid`, `host-traddr`, `keyring`, `nqn`, `hostnqn` with
//!   [`libnvme_rs::trid::check_field`] (printable ASCII, no `,` `=`), `host-iface` must be
//!   a valid interface name, secrets must be printable ASCII without `,` or white space
//!   (`=` allowed for base64 padding), at most [`MAX_SECRET_BYTES`]. Free text
//!   (`hostsymname`, `tls-key-identity`) must be printable ASCII. libnvme checks none of
//!   these when reading.
//! * `transport` must be `tcp`, `rdma`, `fc` or `loop` (libnvme defers to the connect).
//! * `hostid` must be in the kernel's strict UUID form; libnvme's `sscanf` also accepts,
//!   for instance, trailing text after the 32 hex digits.
//! * Lines other than comments are limited to [`MAX_LINE_BYTES`]; at most
//!   [`MAX_DROPIN_FILES`] drop-ins. libnvme has no such limits.
//! * Extra warnings: an endpoint without any `controller =` line, a `[Host]` without
//!   `hostid`.
//! * Errors and warnings never hold a secret, nor input text that looks like one
//!   (`DHHC-1:`, `NVMeTLSkey-1:`), in `Display` or `Debug`; quoted input is truncated.
//!
//! # Differential test
//!
//! `tests/scripts/libnvme-ini-diff.sh` builds libnvme's own reader from nvme-cli's sources
//! (the git mirror, or `NVME_CLI_SRC`) with gcc and a few stubs, checks the build with
//! libnvme's `tests/config-ini.c`, and prints its resolved view of a configuration; the
//! test `tests::differential` compares both readers on the hand-written corpus and on
//! generated configurations, and confirms each deliberate difference above.

mod error;
mod keys;
mod lexer;
mod model;
mod parse;
mod resolve;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{ConnConfError, ErrorKind, Location, Warning, WarningKind};
pub use keys::{MAX_SECRET_BYTES, MAX_TEXT_BYTES};
pub use model::{
    ConnConfig, ConnPath, ControllerKind, Endpoint, HostIdentity, HostSection, Origin, Persistent,
    Secret, Security, Settings, Tunables,
};

use parse::{RawFile, parse_file};

/// nvme-stas 3.x's connection configuration (its drop-ins are in `<this>.d/`).
pub const DEFAULT_CONN_CONF: &str = "/etc/nvme/nvme-stas.conf";
/// Largest file accepted (libnvme's `INI_FILE_MAX`).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Longest line other than a comment or blank line (ours; libnvme has no limit).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Most drop-in files read (ours; libnvme has no limit).
pub const MAX_DROPIN_FILES: usize = 1024;

/// The drop-in directory of `main`: its name with `.d` appended.
pub fn dropin_dir(main: &Path) -> PathBuf {
    let mut dir = OsString::from(main.as_os_str());
    dir.push(".d");
    PathBuf::from(dir)
}

/// Reads and resolves `main` and `<main>.d/*.conf`.
pub fn read(main: &Path) -> Result<ConnConfig, ConnConfError> {
    let main: Arc<Path> = Arc::from(main);
    // libnvme lists the drop-ins first: an unreadable directory fails before anything else.
    let dropins = list_dropins(&dropin_dir(&main))?;
    let main_bytes = read_file(&main, true)?;
    let mut contents = Vec::with_capacity(dropins.len());
    for path in dropins {
        let path: Arc<Path> = Arc::from(path);
        let bytes = read_file(&path, false)?.unwrap_or_default();
        contents.push((path, bytes));
    }
    let dropins: Vec<(&Path, &[u8])> = contents.iter().map(|(p, b)| (&**p, b.as_slice())).collect();
    parse(&main, main_bytes.as_deref(), &dropins)
}

/// Resolves configuration text already read: the main file (`None` when it does not exist)
/// and the drop-ins in the order to apply them.
pub fn parse(
    main: &Path,
    main_bytes: Option<&[u8]>,
    dropins: &[(&Path, &[u8])],
) -> Result<ConnConfig, ConnConfError> {
    let mut warnings = Vec::new();
    let mut files = Vec::with_capacity(dropins.len() + 1);
    let mut read = Vec::with_capacity(dropins.len() + 1);
    let main: Arc<Path> = Arc::from(main);
    match main_bytes {
        Some(bytes) => {
            files.push(parse_file(main.clone(), bytes, &mut warnings)?);
            read.push(main);
        }
        None => files.push(RawFile::empty()),
    }
    for (path, bytes) in dropins {
        let path: Arc<Path> = Arc::from(*path);
        files.push(parse_file(path.clone(), bytes, &mut warnings)?);
        read.push(path);
    }
    resolve::resolve(&files, read, warnings)
}

/// The `*.conf` files of `dir` in byte order; none when `dir` does not exist.
fn list_dropins(dir: &Path) -> Result<Vec<PathBuf>, ConnConfError> {
    let dir_arc: Arc<Path> = Arc::from(dir);
    let io_error = |e| ConnConfError::file(&dir_arc, ErrorKind::Io(e));
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.map_err(io_error)?.file_name();
        // libnvme `libnvmf_conf_dropin_filter`: the last '.' is not the first byte and
        // starts ".conf".
        let bytes = name.as_bytes();
        if bytes.len() > 5 && bytes.ends_with(b".conf") {
            if names.len() == MAX_DROPIN_FILES {
                let kind = ErrorKind::TooManyDropIns {
                    count: names.len() + 1,
                    max: MAX_DROPIN_FILES,
                };
                return Err(ConnConfError::file(&dir_arc, kind));
            }
            names.push(name);
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// Reads one file, bounded; `None` when it does not exist and `missing_ok`.
fn read_file(path: &Arc<Path>, missing_ok: bool) -> Result<Option<Vec<u8>>, ConnConfError> {
    let fail = |kind| ConnConfError::file(path, kind);
    let check = |meta: &fs::Metadata| {
        if meta.is_dir() {
            Err(fail(ErrorKind::IsDirectory))
        } else if !meta.is_file() {
            Err(fail(ErrorKind::NotRegularFile))
        } else if meta.len() > MAX_FILE_BYTES {
            Err(fail(ErrorKind::TooLarge {
                size: meta.len(),
                max: MAX_FILE_BYTES,
            }))
        } else {
            Ok(())
        }
    };
    // Checked before opening, so that a FIFO is never opened.
    match fs::metadata(path) {
        Ok(meta) => check(&meta)?,
        Err(e) if missing_ok && e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(ErrorKind::Io(e))),
    }
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if missing_ok && e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(ErrorKind::Io(e))),
    };
    check(&file.metadata().map_err(|e| fail(ErrorKind::Io(e)))?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(ErrorKind::Io(e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(ErrorKind::TooLarge {
            size: bytes.len() as u64,
            max: MAX_FILE_BYTES,
        }));
    }
    Ok(Some(bytes))
}
