//! Tables from the firmware directory (`/sys/firmware/acpi/tables/NBFT*`) and the interface
//! with an HFI's MAC address (`/sys/class/net`).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{Nbft, NbftError};

/// Default directory of the firmware tables.
pub const DEFAULT_ACPI_TABLES_DIR: &str = "/sys/firmware/acpi/tables";
/// Largest table read from a file (real tables are a few KiB).
pub const MAX_TABLE_LEN: usize = 1 << 20;

/// Errors reading a table file.
#[derive(Debug, thiserror::Error)]
pub enum NbftReadError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file is larger than [`MAX_TABLE_LEN`].
    #[error("{} is larger than {MAX_TABLE_LEN} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The table is invalid.
    #[error("invalid NBFT {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: NbftError,
    },
}

/// Reads and parses one table file (at most [`MAX_TABLE_LEN`] bytes).
pub fn read_file(path: &Path) -> Result<Nbft, NbftReadError> {
    let io_err = |source| NbftReadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut data = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(MAX_TABLE_LEN as u64 + 1).read_to_end(&mut data))
        .map_err(io_err)?;
    if data.len() > MAX_TABLE_LEN {
        return Err(NbftReadError::TooLarge {
            path: path.to_owned(),
        });
    }
    Nbft::parse(&data).map_err(|source| NbftReadError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Every `NBFT*` file of `dir` (normally [`DEFAULT_ACPI_TABLES_DIR`]), sorted by name, with
/// its parse result. A missing or unreadable directory yields nothing.
pub fn read_dir(dir: &Path) -> Vec<(PathBuf, Result<Nbft, NbftReadError>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("NBFT"))
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let r = read_file(&p);
            (p, r)
        })
        .collect()
}

/// Parses `aa:bb:cc:dd:ee:ff` (either case).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.trim().split(':');
    for o in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The interface of `sys_class_net` (normally `/sys/class/net`) whose MAC is `mac`, among
/// Ethernet and loopback links (ARPHRD 1 and 772, as upstream's netlink lookup); the first
/// by name when several match.
pub fn iface_by_mac(sys_class_net: &Path, mac: &[u8; 6]) -> Option<String> {
    let mut names: Vec<String> = fs::read_dir(sys_class_net)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().find(|name| {
        let dir = sys_class_net.join(name);
        let ty = fs::read_to_string(dir.join("type")).unwrap_or_default();
        let addr = fs::read_to_string(dir.join("address")).unwrap_or_default();
        matches!(ty.trim(), "1" | "772") && parse_mac(&addr).as_ref() == Some(mac)
    })
}
