//! The daemons' last-known state files (deliberate fix 11): written atomically, read with a
//! size bound, a missing or empty file meaning "no state".

use std::io::{self, Read};
use std::path::Path;

/// Writes `text` to `path` through a temporary file and a rename, so a crash leaves the old
/// state or the new one, never half of one; creates the directory (deliberate fix 12).
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Reads at most `max` bytes of `path`; `Ok(None)` when it is missing or blank.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    file.take(max).read_to_string(&mut text)?;
    Ok((!text.trim().is_empty()).then_some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_and_the_edges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        assert_eq!(read_bounded(&path, 100).unwrap(), None);
        write_atomic(&path, "{\"a\": 1}").unwrap();
        assert_eq!(
            read_bounded(&path, 100).unwrap().as_deref(),
            Some("{\"a\": 1}")
        );
        assert_eq!(read_bounded(&path, 3).unwrap().as_deref(), Some("{\"a"));
        write_atomic(&path, "  \n").unwrap();
        assert_eq!(read_bounded(&path, 100).unwrap(), None);
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(read_bounded(&path, 100).is_err(), "not UTF-8");
    }
}
