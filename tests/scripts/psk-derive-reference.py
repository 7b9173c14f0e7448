#!/usr/bin/env python3
"""Independent restatement (hmac/hashlib only) of libnvme's NVMe/TCP TLS PSK derivation.

Reads `derive` requests in the format of libnvme-psk-vectors.sh on stdin
(derive HOSTNQN SUBSYSNQN VERSION HMAC CONFIGURED_KEY_HEX COMPAT, TAB-separated) and prints
`ok IDENTITY TLS_PSK_HEX` per line, as libnvme's crypto.c computes them when it succeeds:
RFC 5869 HKDF (no salt) with the RFC 8446 HkdfLabel as info, the output length always the
configured key's length. It does not restate libnvme's error cases; compare only the lines
the harness answers with `ok`.
"""
import base64
import hashlib
import hmac as hmac_mod
import struct
import sys

HASH = {1: hashlib.sha256, 2: hashlib.sha384}


def hkdf(md, ikm, info, length):
    prk = hmac_mod.new(b"\0" * md().digest_size, ikm, md).digest()  # HKDF-Extract(0, IKM)
    okm, t, i = b"", b"", 1
    while len(okm) < length:  # HKDF-Expand
        t = hmac_mod.new(prk, t + info + bytes([i]), md).digest()
        okm, i = okm + t, i + 1
    return okm[:length]


def label_info(label, context, length, compat):
    if compat:  # *_compat(): little-endian length, no length prefixes
        return struct.pack("<H", length) + b"tls13 " + label + context
    # RFC 8446 7.1 HkdfLabel: uint16 length, opaque label<7..255>, opaque context<0..255>
    lab = b"tls13 " + label
    return struct.pack(">H", length) + bytes([len(lab)]) + lab + bytes([len(context)]) + context


def derive(hostnqn, subsysnqn, version, hmac, key, compat):
    n = len(key)
    h, s = hostnqn.encode(), subsysnqn.encode()
    # derive_retained_key(): hmac 0 uses the configured key as it is
    retained = key if hmac == 0 else hkdf(HASH[hmac], key, label_info(b"HostNQN", h, n, compat), n)
    cipher = hmac if hmac else {32: 1, 48: 2}[n]  # default_hmac()
    if version == 0:
        identity = "NVMe0R%02d %s %s" % (cipher, hostnqn, subsysnqn)
        context = identity.encode()
    else:  # derive_psk_digest(): HMAC over "<hostnqn> <subsysnqn> NVMe-over-Fabrics"
        mac = hmac_mod.new(retained, h + b" " + s + b" NVMe-over-Fabrics", HASH[cipher]).digest()
        digest = base64.b64encode(mac).decode()
        identity = "NVMe1R%02d %s %s %s" % (cipher, hostnqn, subsysnqn, digest)
        context = ("%02d %s" % (cipher, digest)).encode()
    psk = hkdf(HASH[cipher], retained, label_info(b"nvme-tls-psk", context, n, compat), n)
    return identity, psk


for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if f[0] != "derive":
        continue
    ident, psk = derive(f[1], f[2], int(f[3]), int(f[4]), bytes.fromhex(f[5]), f[6] == "1")
    print("ok\t%s\t%s" % (ident, psk.hex()))
