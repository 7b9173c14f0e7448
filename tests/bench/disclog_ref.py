#!/usr/bin/env python3
"""Reference for the 10,000-entry discovery log decode benchmark: the work the Python
nvme-stas does per log page once libnvme hands it the raw entries -- unpack each 1024-byte
entry and build the string dictionary it caches and serves over D-Bus (compat spec 2.5).
Same page shape as libnvme-rs/benches/disclog.rs."""
import struct
import time

N = 10_000
TRTYPE = {0: 'unspecified', 1: 'rdma', 2: 'fc', 3: 'tcp', 254: 'loop'}
ADRFAM = {0: 'pci', 1: 'ipv4', 2: 'ipv6', 3: 'infiniband', 4: 'fc'}
SUBTYPE = {1: 'referral', 2: 'nvme', 3: 'discovery'}
TREQ = {0: 'not specified', 1: 'required', 2: 'not required', 4: 'disable sqflow'}


def page():
    out = bytearray(struct.pack('<QQH', 7, N, 0).ljust(1024, b'\0'))
    for i in range(N):
        e = bytearray(1024)
        struct.pack_into('<BBBBHHHH', e, 0, 3, 1, 2, 0, i % 16, 0xFFFF, 32, 0)
        e[32:36] = b'4420'
        nqn = f'nqn.2014-08.com.example:array-{i:05}'.encode()
        e[256:256 + len(nqn)] = nqn
        addr = f'10.{i // 65536}.{(i // 256) % 256}.{i % 256}'.encode()
        e[512:512 + len(addr)] = addr
        out += e
    return bytes(out)


def text(raw):
    return raw.split(b'\0', 1)[0].decode('ascii').strip()


def decode(buf):
    genctr, numrec, recfmt = struct.unpack_from('<QQH', buf, 0)
    entries = []
    for i in range(numrec):
        o = 1024 + 1024 * i
        trtype, adrfam, subtype, treq, portid, cntlid, asqsz, eflags = \
            struct.unpack_from('<BBBBHHHH', buf, o)
        entries.append({
            'trtype': TRTYPE.get(trtype, str(trtype)),
            'adrfam': ADRFAM.get(adrfam, str(adrfam)),
            'traddr': text(buf[o + 512:o + 768]),
            'trsvcid': text(buf[o + 32:o + 64]),
            'subnqn': text(buf[o + 256:o + 512]),
            'subtype': SUBTYPE.get(subtype, str(subtype)),
            'treq': TREQ.get(treq, str(treq)),
            'tsas': "{'sectype': 'none'}",
            'portid': str(portid), 'cntlid': str(cntlid),
            'asqsz': str(asqsz), 'eflags': str(eflags),
        })
    return entries


def main():
    buf = page()
    runs = []
    for _ in range(20):
        t0 = time.perf_counter()
        decode(buf)
        runs.append(time.perf_counter() - t0)
    runs.sort()
    print(f'python reference decode of {N} entries: median {runs[len(runs) // 2] * 1e3:.2f} ms, '
          f'min {runs[0] * 1e3:.2f} ms')


if __name__ == '__main__':
    main()
