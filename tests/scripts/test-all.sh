#!/usr/bin/env bash
# The project's one test command: installs what the tiers need (Debian, idempotent), then runs
# fmt, clippy, the unit and bus tiers, and the vm tier (real 6.12 kernel + nvmet under TCG).
#
# STAS_REQUIRE_SYSTEM_TESTS=1 (as .ci/run sets it) turns every "SKIPPED:" into a failure.
# STAS_SKIP_INSTALL=1 skips the dependency installation (for a machine already set up).
set -uo pipefail
cd "$(dirname "$0")/../.."

# nvme-cli lives in /usr/sbin and pip puts vng in the interpreter's scripts directory; neither
# is on every PATH a CI job gets.
py_scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)
export PATH="$PATH:/usr/sbin:/sbin${py_scripts:+:$py_scripts}:$HOME/.local/bin"

declare -a names=() secs=() states=()
failed=0

step() { # step NAME CMD...
    local name=$1; shift
    local t0=$SECONDS rc
    echo "=== $name"
    "$@"; rc=$?
    names+=("$name"); secs+=($((SECONDS - t0)))
    case $rc in
        0) states+=(ok) ;;
        77) if [ "${STAS_REQUIRE_SYSTEM_TESTS:-0}" = 1 ]; then states+=(FAILED-skipped); failed=1
            else states+=(skipped); fi ;;
        *) states+=(FAILED); failed=1 ;;
    esac
    echo "=== $name: ${states[-1]} in ${secs[-1]} s"
}

if [ "${STAS_SKIP_INSTALL:-0}" != 1 ]; then
    step "install dependencies" tests/scripts/install-deps.sh
fi
step "fmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "build" cargo build --workspace --all-targets --locked
step "unit + bus tiers" cargo nextest run --workspace --locked --no-fail-fast
step "man pages lint" sh -c 'mandoc -T lint -W warning man/*.[1578]'
step "fuzz (bounded)" tests/scripts/fuzz-bounded.sh
step "vm tier" cargo run --quiet --locked -p stas-tests --bin stas-vmtest

echo
echo "=== summary (seconds per step)"
ok=0
for i in "${!names[@]}"; do
    printf '  %-24s %-16s %5d s\n' "${names[$i]}" "${states[$i]}" "${secs[$i]}"
    [ "${states[$i]}" = ok ] && ok=$((ok + 1))
done
echo "steps: $ok passed, $(( ${#names[@]} - ok )) failed"
exit $failed
