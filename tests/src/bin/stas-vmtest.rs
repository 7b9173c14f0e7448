//! The vm tier runner. `stas-vmtest [--filter NAME[,NAME...]] [--out DIR]` boots the 6.12 kernel under
//! virtme-ng and runs the scenarios inside it (`stas-vmtest guest ...` is the in-VM half);
//! `--bench` runs the in-VM benchmarks instead and prints their figures.
//!
//! Exit status: 0 all passed, 1 a scenario failed, 77 skipped (a tool is missing) unless
//! `STAS_REQUIRE_SYSTEM_TESTS=1`, which turns a skip into a failure.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use stas_tests::vm::{self, host};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let guest = args.peek().is_some_and(|a| a == "guest");
    if guest {
        args.next();
    }
    let mut filter = None;
    let mut out = None;
    let mut list = false;
    let mut bench = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--filter" => filter = args.next(),
            "--out" => out = args.next().map(PathBuf::from),
            "--list" => list = true,
            "--bench" => bench = true,
            other => {
                eprintln!("stas-vmtest: unknown argument {other:?}");
                eprintln!("usage: stas-vmtest [--list] [--bench] [--filter NAME] [--out DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let scenarios = if bench {
        vm::bench_scenarios()
    } else {
        vm::all_scenarios()
    };
    if list {
        for s in &scenarios {
            println!("{}", s.name);
        }
        return ExitCode::SUCCESS;
    }
    if guest {
        let Some(out) = out else {
            eprintln!("stas-vmtest guest: --out is required");
            return ExitCode::from(2);
        };
        return match vm::guest::run(&out, filter.as_deref(), &scenarios) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stas-vmtest guest: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let expected: Vec<&str> = scenarios
        .iter()
        .map(|s| s.name)
        .filter(|n| {
            filter
                .as_deref()
                .is_none_or(|f| f.split(',').any(|f| n.contains(f)))
        })
        .collect();
    let out_dir = out
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/vm-results"));
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("stas-vmtest: cannot find own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = host::HostOptions {
        filter,
        out_dir,
        bench,
        timeout: Duration::from_secs(
            std::env::var("STAS_VM_TIMEOUT_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1200),
        ),
    };
    match host::run(&exe, &expected, &opts) {
        host::TierOutcome::Passed => ExitCode::SUCCESS,
        host::TierOutcome::Failed => ExitCode::FAILURE,
        host::TierOutcome::Skipped(why) => {
            println!("SKIPPED: vm tier: {why}");
            if std::env::var("STAS_REQUIRE_SYSTEM_TESTS").is_ok_and(|v| v == "1") {
                println!("vm tier: STAS_REQUIRE_SYSTEM_TESTS=1 makes a skip a failure");
                ExitCode::FAILURE
            } else {
                ExitCode::from(77)
            }
        }
    }
}
