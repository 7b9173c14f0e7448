//! Where the repository and the binaries built from it are, and the rule for system tools a
//! test needs: missing is `SKIPPED`, or a failure under `STAS_REQUIRE_SYSTEM_TESTS=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_owned()
}

/// The directory holding the workspace's binaries, seen from an integration test binary
/// (which runs from `target/<profile>/deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_owned()
}

/// Whether `tool` is on PATH; if not, prints `SKIPPED` (or panics when system tests are
/// required).
pub fn have_tool(tool: &str) -> bool {
    if Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    assert_ne!(
        std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref(),
        Ok("1"),
        "{tool} missing and STAS_REQUIRE_SYSTEM_TESTS=1"
    );
    println!("SKIPPED: {tool} is not installed");
    false
}
