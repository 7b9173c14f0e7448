#!/usr/bin/env bash
# Builds libnvme's own INI connection-configuration reader (nvme-cli's
# libnvme/src/nvme/config-ini.c + config-resolve.c, shared/ini-util.c, parse-util.c, ccan
# list) from source, with a few stubs in place of the rest of libnvme, into a small program
# that loads a configuration (main file + <main>.d/) and prints the resolved result in the
# canonical text form staslib's conn_ini differential test renders for the same input.
#
# Usage:
#   libnvme-ini-diff.sh build OUTDIR          compile OUTDIR/libnvme-ini-harness
#   libnvme-ini-diff.sh self-test OUTDIR      build, then run libnvme's tests/config-ini.c
#                                             against the same stubbed build (must pass)
#   libnvme-ini-diff.sh run OUTDIR ROOT MAIN  print libnvme's view of MAIN (paths relative
#                                             to ROOT)
#   libnvme-ini-diff.sh MAIN                  build in a temporary directory and print
#
# Sources: by default the copies in tests/vendor/nvme-cli (nvme-cli e117ee68, see its
# README); or a checked-out nvme-cli tree $NVME_CLI_SRC; or a git directory $LIBNVME_GIT_DIR,
# read with `git show $LIBNVME_REV:<path>` (LIBNVME_REV defaults to HEAD).
# Exit status 77 with "SKIPPED: <why>" on stdout when gcc or the sources are missing.
#
# Output: "W <file>:<line>" per libnvme warning and "E <file>[:<line>]" per error message
# (locations only, the texts differ), "conn ..." per resolved connection with its
# parameters (sorted; integers in decimal, booleans true/false, resets as <reset>), the
# discovered-controller scopes, then "result ok" or "result error".
set -euo pipefail

# shellcheck source=tests/scripts/nvme-cli-sources.sh
source "$(dirname "${BASH_SOURCE[0]}")/nvme-cli-sources.sh"

# Lists the files of nvme-cli directory $1.
list() {
    if [[ -n ${NVME_CLI_SRC:-} ]]; then
        (cd "$NVME_CLI_SRC" && ls "$1" | sed "s|^|$1/|")
    else
        git -C "$src_git" ls-tree --name-only "$rev" "$1/"
    fi
}

check_tools() {
    check_sources libnvme/src/nvme/config-ini.c
}

# Writes the sources and stubs under $1.
prepare() {
    local b=$1
    rm -rf "$b/src" "$b/inc"
    mkdir -p "$b/src" "$b/inc/shared" "$b/inc/nvme" "$b/inc/ccan"
    local f
    for f in config-ini.c config-resolve.c config-ini.h; do
        fetch "libnvme/src/nvme/$f" "$b/src/$f"
    done
    cp "$b/src/config-ini.h" "$b/inc/nvme/config-ini.h"
    fetch libnvme/src/nvme/config.h "$b/inc/nvme/config.h"
    for f in ini-util.c ini-util.h parse-util.c parse-util.h string-util.h \
        compiler-attributes-util.h assert-util.h; do
        fetch "shared/$f" "$b/inc/shared/$f"
    done
    local d
    for d in array_size build_assert check_type container_of str list; do
        for f in $(list "ccan/ccan/$d" | grep -E '\.h$'); do
            fetch "$f" "$b/inc/ccan/$d/$(basename "$f")"
        done
    done

    # Stubs for the parts of libnvme the reader includes but does not need.
    cat >"$b/src/lib.h" <<'EOF'
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <shared/string-util.h>
struct libnvme_global_ctx { int unused; };
#define LIBNVME_LOG_ERR 3
#define LIBNVME_LOG_WARN 4
void libnvme_msg(struct libnvme_global_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
EOF
    cat >"$b/src/private-fabrics.h" <<'EOF'
#pragma once
enum libnvmf_persistent {
	LIBNVMF_PERSISTENT_UNSET = 0,
	LIBNVMF_PERSISTENT_NO = 1,
	LIBNVMF_PERSISTENT_AUTO = 2,
	LIBNVMF_PERSISTENT_FORCE = 3,
};
int _libnvmf_persistent_from_str(const char *str, enum libnvmf_persistent *val);
EOF
    cat >"$b/src/util.h" <<'EOF'
#pragma once
#include <nvme/nvme-types-fabrics.h>
int libnvme_uuid_from_string(const char *str, unsigned char uuid[NVME_UUID_LEN]);
EOF
    cat >"$b/src/cleanup.h" <<'EOF'
#pragma once
#include <stdlib.h>
static inline void stub_freep(void *p) { free(*(void **)p); }
#define __cleanup_free __attribute__((cleanup(stub_freep)))
EOF
    cat >"$b/inc/nvme/nvme-types-fabrics.h" <<'EOF'
#pragma once
#define NVME_UUID_LEN 16
#define NVME_DISC_SUBSYS_NAME "nqn.2014-08.org.nvmexpress.discovery"
#define NVMF_NQN_SIZE 223
EOF
    cat >"$b/inc/nvme/lib.h" <<'EOF'
#pragma once
struct libnvme_global_ctx;
struct libnvme_global_ctx *libnvme_create_global_ctx(void);
void libnvme_free_global_ctx(struct libnvme_global_ctx *ctx);
EOF

    # libnvme_msg, libnvme_uuid_from_string and _libnvmf_persistent_from_str (the latter
    # two restate libnvme's util.c and fabrics.c), then the harness's main().
    cat >"$b/src/stubs.c" <<'EOF'
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lib.h"
#include "private-fabrics.h"
#include "util.h"

const char *harness_root = "";
char harness_msgs[64][1024];
int harness_nmsgs;

const char *harness_rel(const char *path)
{
	size_t n = strlen(harness_root);

	if (path && n && !strncmp(path, harness_root, n) && path[n] == '/')
		return path + n + 1;
	return path ? path : "-";
}

/* Only the location ("file:line" or "file") is kept; the texts differ by design. */
void libnvme_msg(struct libnvme_global_ctx *ctx, int level, const char *fmt, ...)
{
	char buf[1024], *sep;
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "libnvme: %s", buf);
	sep = strstr(buf, ": ");
	if (sep)
		*sep = '\0';
	if (harness_nmsgs < 64)
		snprintf(harness_msgs[harness_nmsgs++], sizeof(harness_msgs[0]),
			 "%c %s", level == LIBNVME_LOG_ERR ? 'E' : 'W',
			 harness_rel(buf));
}

int libnvme_uuid_from_string(const char *str, unsigned char uuid[NVME_UUID_LEN])
{
	int n = sscanf(str,
		   "%02hhx%02hhx%02hhx%02hhx-%02hhx%02hhx-%02hhx%02hhx-"
		   "%02hhx%02hhx-%02hhx%02hhx%02hhx%02hhx%02hhx%02hhx",
		   &uuid[0], &uuid[1], &uuid[2], &uuid[3], &uuid[4], &uuid[5],
		   &uuid[6], &uuid[7], &uuid[8], &uuid[9], &uuid[10], &uuid[11],
		   &uuid[12], &uuid[13], &uuid[14], &uuid[15]);

	return n != NVME_UUID_LEN ? -EINVAL : 0;
}

int _libnvmf_persistent_from_str(const char *str, enum libnvmf_persistent *val)
{
	if (!str || !val)
		return -EINVAL;
	if (!strcasecmp(str, "no"))
		*val = LIBNVMF_PERSISTENT_NO;
	else if (!strcasecmp(str, "auto"))
		*val = LIBNVMF_PERSISTENT_AUTO;
	else if (!strcasecmp(str, "force"))
		*val = LIBNVMF_PERSISTENT_FORCE;
	else
		return -EINVAL;
	return 0;
}

/* For libnvme's own tests/config-ini.c (self-test). */
struct libnvme_global_ctx *libnvme_create_global_ctx(void)
{
	return calloc(1, sizeof(struct libnvme_global_ctx));
}

void libnvme_free_global_ctx(struct libnvme_global_ctx *ctx)
{
	free(ctx);
}

void shr_assert_fail(const char *file, int line, const char *cond)
{
	fprintf(stderr, "assertion failed at %s:%d: %s\n", file, line, cond);
	abort();
}
EOF
    cat >"$b/src/harness.c" <<'EOF'
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shared/parse-util.h>

#include "config-ini.h"
#include "lib.h"

extern const char *harness_root;
extern char harness_msgs[64][1024];
extern int harness_nmsgs;
const char *harness_rel(const char *path);

struct kvs {
	int n;
	char kv[64][600];
};

static void collect(const char *key, const char *value, void *user_data)
{
	const struct libnvmf_key *k = libnvmf_key_lookup(key);
	struct kvs *s = user_data;
	char norm[512];
	bool b;
	int i;

	if (s->n >= 64)
		return;
	if (!*value)
		snprintf(norm, sizeof(norm), "<reset>");
	else if (k && k->type == LIBNVMF_KEY_INT)
		snprintf(norm, sizeof(norm), "%ld", strtol(value, NULL, 0));
	else if (k && k->type == LIBNVMF_KEY_BOOL)
		snprintf(norm, sizeof(norm), "%s",
			 !shr_parse_bool(value, &b) && b ? "true" : "false");
	else if (k && k->type == LIBNVMF_KEY_STRENUM) {
		snprintf(norm, sizeof(norm), "%s", value);
		for (i = 0; norm[i]; i++)
			norm[i] = tolower((unsigned char)norm[i]);
	} else
		snprintf(norm, sizeof(norm), "%s", value);
	snprintf(s->kv[s->n++], sizeof(s->kv[0]), "%s=%s", key, norm);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void print_params(const char *label, const struct libnvmf_params *p)
{
	struct kvs s = { 0 };
	int i;

	libnvmf_params_for_each(p, collect, &s);
	qsort(s.kv, s.n, sizeof(s.kv[0]), cmp);
	printf("%s", label);
	for (i = 0; i < s.n; i++)
		printf(" %s", s.kv[i]);
	printf("\n");
}

#define S(x) ((x) ? (x) : "-")

int main(int argc, char **argv)
{
	struct libnvme_global_ctx ctx = { 0 };
	struct libnvmf_config *conf = NULL;
	struct libnvmf_config_conn *c;
	int ret, i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s ROOT MAIN-FILE\n", argv[0]);
		return 2;
	}
	harness_root = argv[1];
	ret = libnvmf_config_load(&ctx, argv[2], &conf);
	if (ret) {
		for (i = 0; i < harness_nmsgs; i++)
			if (harness_msgs[i][0] == 'E')
				printf("%s\n", harness_msgs[i]);
		printf("result error\n");
		return 0;
	}
	for (i = 0; i < harness_nmsgs; i++)
		printf("%s\n", harness_msgs[i]);
	list_for_each(&conf->conns, c, entry) {
		printf("conn %s %s:%u %s %s %s %s %s %s %s %s %s\n",
		       c->is_dc ? "dc" : "ioc", harness_rel(c->source), c->line,
		       c->transport, c->traddr, S(c->trsvcid),
		       S(c->host_traddr), S(c->host_iface), c->subsysnqn,
		       S(c->hostnqn), S(c->hostid), S(c->hostsymname));
		print_params("  params", c->params);
		if (c->is_dc) {
			print_params("  dlp_dc", c->dlp_dc_params);
			print_params("  dlp_ioc", c->dlp_ioc_params);
		}
	}
	print_params("top_dc", conf->top_dc_params);
	print_params("top_ioc", conf->top_ioc_params);
	printf("result ok\n");
	libnvmf_config_free(conf);
	return 0;
}
EOF
}

CFLAGS=(-std=gnu11 -D_GNU_SOURCE -O1 -w
    -Werror=implicit-function-declaration -Werror=int-conversion
    -DHAVE_STRSEP=1 -DHAVE_TYPEOF=1 -DHAVE_BUILTIN_TYPES_COMPATIBLE_P=1 -DHAVE_ISBLANK=1
    '-Dfallthrough=__attribute__((fallthrough))' '-DSYSCONFDIR="/etc"')

compile() {
    local b=$1 out=$2
    shift 2
    gcc "${CFLAGS[@]}" -I "$b/src" -I "$b/inc" \
        "$b/src/config-ini.c" "$b/src/config-resolve.c" \
        "$b/inc/shared/ini-util.c" "$b/inc/shared/parse-util.c" "$b/src/stubs.c" \
        "$@" -o "$out"
}

build() {
    local b=$1
    check_tools
    mkdir -p "$b"
    prepare "$b"
    compile "$b" "$b/libnvme-ini-harness" "$b/src/harness.c"
}

self_test() {
    local b=$1
    build "$b"
    fetch libnvme/tests/config-ini.c "$b/src/upstream-config-ini-test.c"
    compile "$b" "$b/libnvme-config-ini-test" "$b/src/upstream-config-ini-test.c"
    local out
    out=$(cd "$b" && ./libnvme-config-ini-test 2>/dev/null)
    if grep -q FAIL <<<"$out"; then
        echo "$out"
        echo "libnvme's own tests/config-ini.c fails on the stubbed build" >&2
        exit 1
    fi
    echo "libnvme tests/config-ini.c on the stubbed build: $(grep -c PASS <<<"$out") PASS, 0 FAIL"
}

case ${1:-} in
build)
    build "${2:?OUTDIR}"
    ;;
self-test)
    self_test "${2:?OUTDIR}"
    ;;
run)
    exec "${2:?OUTDIR}/libnvme-ini-harness" "${3:?ROOT}" "${4:?MAIN}"
    ;;
"" | -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    ;;
*)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    build "$tmp"
    main=$(realpath -m "$1")
    "$tmp/libnvme-ini-harness" "$(dirname "$main")" "$main"
    ;;
esac
