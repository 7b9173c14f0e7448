#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer coverage instrumentation on the stable toolchain (the
# flags cargo-fuzz passes with `-s none`) and runs each for a bounded time.
# STAS_FUZZ_SECONDS (default 15) per target; crashes and leaks fail the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${STAS_FUZZ_SECONDS:-15}
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation away from build scripts and proc macros.
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --target "$target" \
    --target-dir target/fuzz
bins=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^libnvme-rs-fuzz$')
failed=0
for bin in $bins; do
    corpus="target/fuzz/corpus/$bin"
    mkdir -p "$corpus"
    # Seeds for inputs a fuzzer would take long to build up (a JSON answer with its keys).
    if [ -d "fuzz/seeds/$bin" ]; then
        cp fuzz/seeds/"$bin"/* "$corpus"/
    fi
    printf 'fuzz %-20s ' "$bin"
    if out=$("target/fuzz/$target/release/$bin" -max_total_time="$secs" -rss_limit_mb=2048 \
            -artifact_prefix="target/fuzz/artifacts-$bin-" "$corpus" 2>&1); then
        echo "ok: $(echo "$out" | grep -o 'Done [0-9]* runs' | tail -n1)"
    else
        echo "FAILED"; echo "$out" | tail -n 30; failed=1
    fi
done
exit $failed
