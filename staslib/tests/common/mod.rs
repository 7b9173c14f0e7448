//! CPython as an oracle for the differential tests: one `python3` process per batch, JSON
//! in on stdin, JSON out on stdout.

use std::io::Write;
use std::process::{Command, Stdio};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Whether python3 can be run; prints the skip notice (or fails, when system tests are
/// required) if not.
pub fn python_available() -> bool {
    match Command::new("python3").arg("--version").output() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").as_deref() == Ok("1") {
                panic!("python3 not found and STAS_REQUIRE_SYSTEM_TESTS=1");
            }
            println!("SKIPPED: python3 not found");
            false
        }
        Err(e) => panic!("cannot run python3: {e}"),
    }
}

/// Runs `script` with `input` as JSON on stdin and parses its stdout as JSON.
pub fn run_python<I: Serialize, O: DeserializeOwned>(script: &str, input: &I) -> O {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let payload = serde_json::to_vec(input).expect("input serializes");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Write from another thread: a large batch would otherwise deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(&payload));
    let output = child.wait_with_output().expect("python3 runs");
    writer
        .join()
        .expect("writer thread")
        .expect("write to python3");
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python3 prints JSON")
}
