#!/usr/bin/env bash
# Builds libnvme 3's own ownership-registry writer (nvme-cli's libnvme/src/nvme/registry.c,
# with shared/fs-util.c and fs-util-linux.c for shr_mkdir_p and shr_mkstemp) from source,
# with two small stub headers in place of the rest of libnvme, into a program that writes
# a registry entry exactly as libnvme does, for differential tests of our writer
# (libnvme-rs kernel::registry).
#
# Usage:
#   libnvme-registry-writer.sh build OUTDIR
#       compile OUTDIR/libnvme-registry-harness
#   libnvme-registry-writer.sh run OUTDIR REGISTRY_DIR DEVICE [OWNER]
#       libnvmf_registry_create_instance(ctx, N, OWNER) for DEVICE nvmeN, what libnvme's
#       connect does for an owned connection (without OWNER: a NULL owner, an entry with
#       only a seqnum)
#   libnvme-registry-writer.sh update OUTDIR REGISTRY_DIR DEVICE ATTR [VALUE]
#       libnvmf_registry_update(ctx, DEVICE, ATTR, VALUE), libnvme's public attribute
#       writer (without VALUE: NULL, which removes ATTR)
#
# REGISTRY_DIR must end in "/registry": registry.c takes the directory from the global
# context's test sandbox, <ctx->test_base_dir>/registry (registry_dir()), and the harness
# sets test_base_dir to REGISTRY_DIR without that last component.
#
# The uevent sequence number: registry.c opens the fixed path /sys/kernel/uevent_seqnum.
# The harness compiles registry.c (unmodified) in one translation unit after a function-like
# macro that routes its open() calls through a wrapper; with $LIBNVME_UEVENT_SEQNUM set, the
# wrapper opens that file instead of /sys/kernel/uevent_seqnum (a missing file: no seqnum,
# as when sysfs is unreadable) and every other path unchanged. If $LIBNVME_UEVENT_SEQNUM is
# set and a create never opened /sys/kernel/uevent_seqnum the harness fails (exit 3): the
# source no longer reads the counter the way the harness redirects.
#
# Output: "ok" (exit 0) or "err -ERRNO" (exit 1) with libnvme's return value; usage errors
# exit 2.
#
# Sources: by default the copies in tests/vendor/nvme-cli (nvme-cli e117ee68, see its
# README); or a checked-out nvme-cli tree $NVME_CLI_SRC; or a git directory $LIBNVME_GIT_DIR,
# read with `git show $LIBNVME_REV:<path>` (LIBNVME_REV defaults to HEAD).
# Exit status 77 with "SKIPPED: <why>" on stdout when gcc or the sources are missing.
set -euo pipefail

# shellcheck source=tests/scripts/nvme-cli-sources.sh
source "$(dirname "${BASH_SOURCE[0]}")/nvme-cli-sources.sh"

check_tools() {
    check_sources libnvme/src/nvme/registry.c
}

# Writes the sources and stubs under $1.
prepare() {
    local b=$1
    rm -rf "$b/src" "$b/inc"
    mkdir -p "$b/src" "$b/inc/shared" "$b/inc/nvme"
    local f
    # registry.c's "quoted" includes resolve next to it first, so it is compiled from a
    # directory that holds only these and the stubs below (never a full tree's private.h).
    for f in registry.c registry.h cleanup.h; do
        fetch "libnvme/src/nvme/$f" "$b/src/$f"
    done
    fetch libnvme/src/nvme/mem.h "$b/inc/nvme/mem.h"
    for f in fs-util.c fs-util-linux.c fs-util.h io-util.h cleanup-util.h \
        compiler-attributes-util.h; do
        fetch "shared/$f" "$b/inc/shared/$f"
    done

    # Stubs for the two libnvme headers registry.c includes whose real versions pull in all
    # of libnvme: the global context with the one member registry.c reads (private.h), and
    # the declarations of the two internal entry points (as in private-fabrics.h).
    cat >"$b/src/private.h" <<'EOF'
#pragma once
struct libnvme_global_ctx {
	char *test_base_dir;	/* the registry is <test_base_dir>/registry */
};
EOF
    cat >"$b/src/private-fabrics.h" <<'EOF'
#pragma once
struct libnvme_global_ctx;
int libnvmf_registry_create_instance(struct libnvme_global_ctx *ctx,
				     int instance, const char *owner);
int libnvmf_registry_delete_instance(struct libnvme_global_ctx *ctx,
				     int instance);
EOF

    # One translation unit with registry.c, so its static helpers (valid_device) are
    # callable and its open() calls can be routed through harness_open().
    cat >"$b/src/harness.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define HARNESS_KERNEL_SEQNUM "/sys/kernel/uevent_seqnum"

static int harness_seqnum_redirected;

/* open(), with the kernel's uevent counter read from $LIBNVME_UEVENT_SEQNUM when set. */
static int harness_open(const char *path, int flags, ...)
{
	const char *alt = getenv("LIBNVME_UEVENT_SEQNUM");
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (alt && path && !strcmp(path, HARNESS_KERNEL_SEQNUM)) {
		harness_seqnum_redirected = 1;
		path = alt;
	}
	return open(path, flags, mode);
}

#define open(...) harness_open(__VA_ARGS__)
#include "registry.c"
#undef open

static int usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s create REGISTRY_DIR DEVICE [OWNER]\n"
		"       %s update REGISTRY_DIR DEVICE ATTR [VALUE]\n"
		"REGISTRY_DIR must end in /registry\n", argv0, argv0);
	return 2;
}

int main(int argc, char **argv)
{
	static const char suffix[] = "/registry";
	struct libnvme_global_ctx ctx = { 0 };
	size_t len;
	int ret;

	if (argc < 4)
		return usage(argv[0]);
	len = strlen(argv[2]);
	if (len < sizeof(suffix) - 1 ||
	    strcmp(argv[2] + len - (sizeof(suffix) - 1), suffix))
		return usage(argv[0]);
	ctx.test_base_dir = strndup(argv[2], len - (sizeof(suffix) - 1));
	if (!ctx.test_base_dir)
		return 2;

	if (!strcmp(argv[1], "create") && (argc == 4 || argc == 5)) {
		if (!valid_device(argv[3]))
			return usage(argv[0]);
		ret = libnvmf_registry_create_instance(&ctx, atoi(argv[3] + 4),
						       argc == 5 ? argv[4] : NULL);
		if (getenv("LIBNVME_UEVENT_SEQNUM") && !harness_seqnum_redirected) {
			fprintf(stderr, "registry.c did not open %s: "
				"LIBNVME_UEVENT_SEQNUM was not applied\n",
				HARNESS_KERNEL_SEQNUM);
			return 3;
		}
	} else if (!strcmp(argv[1], "update") && (argc == 5 || argc == 6)) {
		ret = libnvmf_registry_update(&ctx, argv[3], argv[4],
					      argc == 6 ? argv[5] : NULL);
	} else {
		return usage(argv[0]);
	}

	free(ctx.test_base_dir);
	if (ret) {
		printf("err %d\n", ret);
		return 1;
	}
	printf("ok\n");
	return 0;
}
EOF
}

build() {
    local b=$1
    check_tools
    mkdir -p "$b"
    prepare "$b"
    # _GNU_SOURCE as nvme-cli's meson.build sets it (shr_mkstemp() then uses mkostemp());
    # RUNDIR as its default, though the sandboxed context never uses the default path.
    gcc -std=gnu11 -D_GNU_SOURCE -O1 -w \
        -Werror=implicit-function-declaration -Werror=int-conversion \
        '-DRUNDIR="/run"' \
        -I "$b/src" -I "$b/inc" \
        "$b/src/harness.c" "$b/inc/shared/fs-util.c" "$b/inc/shared/fs-util-linux.c" \
        -o "$b/libnvme-registry-harness"
}

case ${1:-} in
build)
    build "${2:?OUTDIR}"
    ;;
run)
    [[ $# -ge 4 && $# -le 5 ]] || {
        echo "usage: $0 run OUTDIR REGISTRY_DIR DEVICE [OWNER]" >&2
        exit 2
    }
    exec "$2/libnvme-registry-harness" create "${@:3}"
    ;;
update)
    [[ $# -ge 5 && $# -le 6 ]] || {
        echo "usage: $0 update OUTDIR REGISTRY_DIR DEVICE ATTR [VALUE]" >&2
        exit 2
    }
    exec "$2/libnvme-registry-harness" update "${@:3}"
    ;;
"" | -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    ;;
*)
    echo "usage: $0 build OUTDIR | run OUTDIR REGISTRY_DIR DEVICE [OWNER] |" \
        "update OUTDIR REGISTRY_DIR DEVICE ATTR [VALUE]   (see $0 --help)" >&2
    exit 2
    ;;
esac
