# Sourced by the libnvme-*.sh tools: where nvme-cli's (libnvme's) sources come from, and the
# checks every tool makes before compiling them.
#
# By default the copies vendored in the repository (tests/vendor/nvme-cli, see its README);
# or a checked-out nvme-cli tree $NVME_CLI_SRC; or a git directory $LIBNVME_GIT_DIR, read
# with `git show $LIBNVME_REV:<path>` (LIBNVME_REV defaults to HEAD).

skip() {
    echo "SKIPPED: $*"
    exit 77
}

if [[ -z ${LIBNVME_GIT_DIR:-} && -z ${NVME_CLI_SRC:-} ]]; then
    NVME_CLI_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../vendor/nvme-cli" && pwd)"
fi
src_git=${LIBNVME_GIT_DIR:-/work/.mirror/linux-nvme+nvme-cli/repo}
rev=${LIBNVME_REV:-HEAD}

# Copies nvme-cli file $1 to $2.
fetch() {
    mkdir -p "$(dirname "$2")"
    if [[ -n ${NVME_CLI_SRC:-} ]]; then
        cp "$NVME_CLI_SRC/$1" "$2"
    else
        git -C "$src_git" show "$rev:$1" >"$2"
    fi
}

# Skips (exit 77) unless gcc and nvme-cli's file $1 are there.
check_sources() {
    command -v gcc >/dev/null || skip "gcc not found"
    if [[ -n ${NVME_CLI_SRC:-} ]]; then
        [[ -f $NVME_CLI_SRC/$1 ]] || skip "no $1 under NVME_CLI_SRC=$NVME_CLI_SRC"
    else
        command -v git >/dev/null || skip "git not found"
        git -C "$src_git" cat-file -e "$rev:$1" 2>/dev/null ||
            skip "no nvme-cli sources with $1 at $src_git ($rev);" \
                "set LIBNVME_GIT_DIR or NVME_CLI_SRC"
    fi
}
