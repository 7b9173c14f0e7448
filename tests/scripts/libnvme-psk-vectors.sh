#!/usr/bin/env bash
# Builds libnvme's own NVMe/TCP TLS PSK code (nvme-cli's libnvme/src/nvme/crypto.c, OpenSSL
# branch, no keyutils; shared/base64-util.c, crc32-util.c, hex-util.c) from source, with
# two small stub headers in place of the rest of libnvme, into a filter that reads requests
# on stdin and answers each with libnvme's result, for differential tests of our PSK
# derivation and PSK interchange format code.
#
# Usage:
#   libnvme-psk-vectors.sh build OUTDIR   compile OUTDIR/libnvme-psk-harness
#   libnvme-psk-vectors.sh run OUTDIR     run it: requests on stdin, answers on stdout
#   libnvme-psk-vectors.sh [-]            build in a temporary directory, then run it
#
# Sources: by default the copies in tests/vendor/nvme-cli (nvme-cli e117ee68, see its
# README); or a checked-out nvme-cli tree $NVME_CLI_SRC; or a git directory $LIBNVME_GIT_DIR,
# read with `git show $LIBNVME_REV:<path>` (LIBNVME_REV defaults to HEAD).
# Needs gcc and the OpenSSL 3 development files (libssl-dev); exit status 77 with
# "SKIPPED: <why>" on stdout when they or the sources are missing.
#
# Requests, one a line, fields separated by one TAB (empty lines are ignored); one answer
# line each, fields TAB-separated, hex lowercase, errors as libnvme's negative errno:
#   derive HOSTNQN SUBSYSNQN VERSION HMAC CONFIGURED_KEY_HEX COMPAT(0|1)
#       derive_nvme_keys() (what libnvmf_insert_tls_key_versioned/_compat run before the
#       keyring), identity buffer of nvme_identity_len() bytes, PSK of the configured key's
#       length                                          -> ok IDENTITY TLS_PSK_HEX | err ERRNO
#   identity HOSTNQN SUBSYSNQN VERSION HMAC CONFIGURED_KEY_HEX [COMPAT(0|1)]
#       libnvmf_generate_tls_key_identity(_compat)      -> ok IDENTITY | err ERRNO
#   import INTERCHANGE_STRING
#       libnvmf_import_tls_key_versioned()              -> ok VERSION HMAC KEY_HEX | err ERRNO
#   export VERSION HMAC KEY_HEX
#       libnvmf_export_tls_key_versioned()              -> ok INTERCHANGE_STRING | err ERRNO
# A request the harness cannot parse (unknown verb, wrong field count, a number that is not
# decimal or out of the C parameter's range, odd-length or non-hex key) -> err input.
# libnvme's own messages go to stderr.
set -euo pipefail

# shellcheck source=tests/scripts/nvme-cli-sources.sh
source "$(dirname "${BASH_SOURCE[0]}")/nvme-cli-sources.sh"

check_tools() {
    check_sources libnvme/src/nvme/crypto.c
    # crypto.c uses the OpenSSL 3 API (EVP_MAC, OSSL_LIB_CTX, core_names.h).
    printf '#include <openssl/core_names.h>\n#include <openssl/kdf.h>\n#include <openssl/hmac.h>\n' |
        gcc -E -x c - >/dev/null 2>&1 ||
        skip "OpenSSL 3 development headers not found (install libssl-dev)"
}

# Writes the sources and stubs under $1.
prepare() {
    local b=$1
    rm -rf "$b/src" "$b/inc"
    mkdir -p "$b/src" "$b/inc/shared" "$b/inc/nvme" "$b/inc/ccan/endian"
    local f
    # crypto.c's "quoted" includes resolve next to it first, so it is compiled from a
    # directory that holds only these and the stubs below (never a full tree's private.h).
    for f in crypto.c cleanup.h cleanup-linux.h; do
        fetch "libnvme/src/nvme/$f" "$b/src/$f"
    done
    fetch libnvme/src/nvme/mem.h "$b/inc/nvme/mem.h"
    for f in base64-util.c base64-util.h crc32-util.c crc32-util.h hex-util.c hex-util.h \
        cleanup-util.h fs-util.h compiler-attributes-util.h; do
        fetch "shared/$f" "$b/inc/shared/$f"
    done
    fetch ccan/ccan/endian/endian.h "$b/inc/ccan/endian/endian.h"

    # Stubs for the two libnvme headers crypto.c includes whose real versions pull in all
    # of libnvme: the few types and constants it uses (values as in libnvme's lib.h,
    # crypto.h, tree.h) and libnvme_msg().
    cat >"$b/src/libnvme.h" <<'EOF'
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
struct libnvme_global_ctx { int unused; };
enum libnvme_log_level {
	LIBNVME_LOG_ERR = 0,
	LIBNVME_LOG_WARN = 1,
	LIBNVME_LOG_INFO = 2,
	LIBNVME_LOG_DEBUG = 3,
};
enum libnvmf_hmac_alg {
	LIBNVMF_HMAC_ALG_NONE = 0,
	LIBNVMF_HMAC_ALG_SHA2_256 = 1,
	LIBNVMF_HMAC_ALG_SHA2_384 = 2,
	LIBNVMF_HMAC_ALG_SHA2_512 = 3,
};
typedef struct libnvme_ctrl *libnvme_ctrl_t;
typedef struct libnvme_host *libnvme_host_t;
typedef void (*libnvmf_scan_tls_keys_cb_t)(struct libnvme_global_ctx *ctx,
		long keyring, long key, char *desc, int desc_len, void *data);
EOF
    cat >"$b/src/private.h" <<'EOF'
#pragma once
void libnvme_msg(struct libnvme_global_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
EOF

    # The harness is one translation unit with crypto.c, so its static functions
    # (derive_nvme_keys, nvme_identity_len, ...) are callable as they are.
    cat >"$b/src/harness.c" <<'EOF'
#include "crypto.c"

#include <stdarg.h>

void libnvme_msg(struct libnvme_global_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	fprintf(stderr, "libnvme[%d]: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define MAX_FIELDS 8
#define MAX_KEY 4096

/* Decimal integer in [lo, hi], nothing else (no sign but '-', no spaces). */
static int parse_num(const char *s, long lo, long hi, long *out)
{
	const char *p = s;
	char *end;
	long v;

	if (*p == '-')
		p++;
	if (!*p)
		return -1;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Even-length hex (may be empty) into buf[MAX_KEY]. */
static int parse_hex(const char *s, unsigned char *buf, size_t *len)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > MAX_KEY)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		buf[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static void put_hex(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static struct libnvme_global_ctx harness_ctx;

/* As __nvme_insert_tls_key() (keyutils branch) does before libnvmf_update_key(). */
static void do_derive(char **f)
{
	static unsigned char configured[MAX_KEY];
	__cleanup_free unsigned char *psk = NULL;
	__cleanup_free char *identity = NULL;
	ssize_t identity_len;
	long version, hmac, compat;
	size_t key_len;
	int ret;

	if (parse_num(f[3], INT_MIN, INT_MAX, &version) ||
	    parse_num(f[4], INT_MIN, INT_MAX, &hmac) ||
	    parse_hex(f[5], configured, &key_len) ||
	    parse_num(f[6], 0, 1, &compat)) {
		printf("err\tinput\n");
		return;
	}
	identity_len = nvme_identity_len(hmac, version, f[1], f[2]);
	if (identity_len < 0) {
		printf("err\t%zd\n", identity_len);
		return;
	}
	identity = malloc(identity_len);
	psk = malloc(key_len);
	if (!identity || !psk) {
		printf("err\t%d\n", -ENOMEM);
		return;
	}
	memset(identity, 0, identity_len);
	memset(psk, 0, key_len);
	ret = derive_nvme_keys(&harness_ctx, f[1], f[2], identity, version, hmac,
			       configured, psk, key_len, compat);
	if (ret != (int)key_len) {
		printf("err\t%d\n", ret < 0 ? ret : -ENOKEY);
		return;
	}
	printf("ok\t%s\t", identity);
	put_hex(psk, key_len);
	printf("\n");
}

static void do_identity(char **f, int n)
{
	static unsigned char configured[MAX_KEY];
	__cleanup_free char *identity = NULL;
	long version, hmac, compat = 0;
	size_t key_len;
	int ret;

	if (parse_num(f[3], INT_MIN, INT_MAX, &version) ||
	    parse_num(f[4], INT_MIN, INT_MAX, &hmac) ||
	    parse_hex(f[5], configured, &key_len) ||
	    (n == 7 && parse_num(f[6], 0, 1, &compat))) {
		printf("err\tinput\n");
		return;
	}
	if (compat)
		ret = libnvmf_generate_tls_key_identity_compat(&harness_ctx, f[1], f[2],
				version, hmac, configured, key_len, &identity);
	else
		ret = libnvmf_generate_tls_key_identity(&harness_ctx, f[1], f[2],
				version, hmac, configured, key_len, &identity);
	if (ret) {
		printf("err\t%d\n", ret);
		return;
	}
	printf("ok\t%s\n", identity);
}

static void do_import(char **f)
{
	__cleanup_free unsigned char *key = NULL;
	unsigned char version, hmac;
	size_t key_len;
	int ret;

	ret = libnvmf_import_tls_key_versioned(&harness_ctx, f[1], &version, &hmac,
					       &key_len, &key);
	if (ret) {
		printf("err\t%d\n", ret);
		return;
	}
	printf("ok\t%u\t%u\t", version, hmac);
	put_hex(key, key_len);
	printf("\n");
}

static void do_export(char **f)
{
	static unsigned char key[MAX_KEY];
	__cleanup_free char *encoded = NULL;
	long version, hmac;
	size_t key_len;
	int ret;

	if (parse_num(f[1], 0, UCHAR_MAX, &version) ||
	    parse_num(f[2], 0, UCHAR_MAX, &hmac) ||
	    parse_hex(f[3], key, &key_len)) {
		printf("err\tinput\n");
		return;
	}
	ret = libnvmf_export_tls_key_versioned(&harness_ctx, version, hmac, key,
					       key_len, &encoded);
	if (ret) {
		printf("err\t%d\n", ret);
		return;
	}
	printf("ok\t%s\n", encoded);
}

int main(void)
{
	char *line = NULL, *f[MAX_FIELDS + 1];
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *p = line;
		int n = 0;

		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len)
			continue;
		if (strlen(line) != (size_t)len) { /* embedded NUL */
			printf("err\tinput\n");
			fflush(stdout);
			continue;
		}
		for (;;) {
			char *tab = strchr(p, '\t');

			if (n == MAX_FIELDS) {
				n++;
				break;
			}
			f[n++] = p;
			if (!tab)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (!strcmp(f[0], "derive") && n == 7)
			do_derive(f);
		else if (!strcmp(f[0], "identity") && (n == 6 || n == 7))
			do_identity(f, n);
		else if (!strcmp(f[0], "import") && n == 2)
			do_import(f);
		else if (!strcmp(f[0], "export") && n == 4)
			do_export(f);
		else
			printf("err\tinput\n");
		fflush(stdout);
	}
	free(line);
	return 0;
}
EOF
}

build() {
    local b=$1
    check_tools
    mkdir -p "$b"
    prepare "$b"
    local endian=-DHAVE_LITTLE_ENDIAN=1
    if gcc -dM -E -x c /dev/null | grep -q '__BYTE_ORDER__ __ORDER_BIG_ENDIAN__'; then
        endian=-DHAVE_BIG_ENDIAN=1
    fi
    # CONFIG_OPENSSL on, CONFIG_KEYUTILS off (no keyring calls); NVME_HAVE_SYS_RANDOM and
    # HAVE_{LITTLE,BIG}_ENDIAN as nvme-cli's meson.build sets them on glibc (it sets no
    # HAVE_BYTESWAP_H, so ccan/endian uses its own byte swaps there as here).
    gcc -std=gnu11 -D_GNU_SOURCE -O1 -w \
        -Werror=implicit-function-declaration -Werror=int-conversion \
        -DCONFIG_OPENSSL=1 -DNVME_HAVE_SYS_RANDOM=1 "$endian" \
        -I "$b/src" -I "$b/inc" \
        "$b/src/harness.c" "$b/inc/shared/base64-util.c" "$b/inc/shared/crc32-util.c" \
        "$b/inc/shared/hex-util.c" \
        -lcrypto -o "$b/libnvme-psk-harness"
}

case ${1:-} in
build)
    build "${2:?OUTDIR}"
    ;;
run)
    exec "${2:?OUTDIR}/libnvme-psk-harness"
    ;;
-h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    ;;
"" | -)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    build "$tmp"
    "$tmp/libnvme-psk-harness"
    ;;
*)
    echo "usage: $0 build OUTDIR | run OUTDIR | [-]   (see $0 --help)" >&2
    exit 2
    ;;
esac
