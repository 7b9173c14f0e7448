//! What the differential tests against libnvme's own code share: building a harness with
//! one of the `tests/scripts/libnvme-*.sh` tools, and the skip rule when it cannot be built.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Prints `SKIPPED: why`, or panics when `STAS_REQUIRE_SYSTEM_TESTS=1` (CI).
pub fn skip_or_fail(why: &str) {
    if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref() == Ok("1") {
        panic!("{why} and STAS_REQUIRE_SYSTEM_TESTS=1");
    }
    println!("SKIPPED: {why}");
}

/// A harness built by `tests/scripts/<tool>` into a temporary directory.
pub struct Harness {
    /// The tool (`bash <script> run <build> ...` runs the harness).
    pub script: PathBuf,
    /// Its build directory.
    pub build: tempfile::TempDir,
}

impl Harness {
    /// Builds with `<tool> build DIR`; `None` (after [`skip_or_fail`]) when the tool says
    /// it cannot (exit 77).
    pub fn build(tool: &str) -> Option<Self> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/scripts")
            .join(tool);
        let build = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(&script)
            .arg("build")
            .arg(build.path())
            .output()
            .unwrap();
        if out.status.code() == Some(77) {
            skip_or_fail(
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .trim_start_matches("SKIPPED: "),
            );
            return None;
        }
        assert!(out.status.success(), "{tool} build: {out:?}");
        Some(Self { script, build })
    }

    /// `bash <tool> <verb> <build dir>`, ready for more arguments.
    pub fn command(&self, verb: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg(&self.script).arg(verb).arg(self.build.path());
        c
    }
}
