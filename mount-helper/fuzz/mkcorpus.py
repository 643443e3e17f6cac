#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Seed inputs for the helper's fuzzer: DIR/replies for rpctls-fuzz-replies
(fuzz_replies.c); one well-formed input per parser and the hostile ones that
found bugs.  Usage: mkcorpus.py DIR.  The first byte of each file picks the
parser.  (rpctls-exports/fuzz/mkcorpus.py seeds rpctls-exports' fuzzer.)"""
import os
import struct
import sys

top = sys.argv[1]
d = os.path.join(top, "replies")
os.makedirs(d, exist_ok=True)
XID = 0x12345678


def put(name, sel, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([sel]) + data)


def rpc_reply(verf_flavor, verf, accept=0, rest=b""):
    pad = b"\0" * (-len(verf) % 4)
    return struct.pack(">IIIII", XID, 1, 0, verf_flavor, len(verf)) + verf + pad + \
        struct.pack(">I", accept) + rest


# 0: NFSv4 COMPOUND replies
put("nfs4-ok", 0, rpc_reply(0, b"", 0, struct.pack(">I", 0)))
put("nfs4-wrongsec", 0, rpc_reply(0, b"", 0, struct.pack(">I", 10016)))
put("nfs4-verifier", 0, rpc_reply(6, b"12345678", 0, struct.pack(">I", 0)))
put("nfs4-denied", 0, struct.pack(">IIII", XID, 1, 1, 1))
# a verifier length that wrapped the offset past the reply (finding 5)
put("nfs4-hostile-vlen", 0, struct.pack(">IIIIIII", XID, 1, 0, 0, 0xFFFFFFE8, 0, 0))
put("nfs4-vlen-past-end", 0, struct.pack(">IIIIIII", XID, 1, 0, 0, 400, 0, 0))
# 1: AUTH_TLS probe replies
put("probe-starttls", 1, rpc_reply(0, b"STARTTLS", 0))
put("probe-none", 1, rpc_reply(0, b"", 0))
put("probe-denied", 1, struct.pack(">IIII", XID, 1, 1, 1))
put("probe-short", 1, struct.pack(">III", XID, 1, 0))
# 2: mountstats
put("mountstats", 2, b"device proc mounted on /proc with fstype proc\n"
    b"device srv:/e mounted on /mnt/x with fstype nfs4 statvers=1.1\n"
    b"\topts:\trw,vers=4.2,xprtsec=tls\n"
    b"\txprt:\ttcp 870 0 2 0 1 42 42 0 42 0 2 0 0\n")
put("mountstats-escaped", 2, b"device a mounted on /mnt/\\040x with fstype nfs\n"
    b"device b mounted on with fstype nfs\n\txprt:\ttcp\n")
# 3: sock_diag dump
def rta(t, payload):
    ln = 4 + len(payload)
    return struct.pack("=HH", ln, t) + payload + b"\0" * (-ln % 4)


tls = rta(1, struct.pack("=H", 0x0304)) + rta(2, struct.pack("=H", 52)) + \
    rta(3, struct.pack("=H", 1)) + rta(4, struct.pack("=H", 1))
ulp = rta(1, b"tls\0") + rta(2, tls)
msg = struct.pack("=BBBB", 2, 1, 0, 0) + struct.pack(">HH", 870, 2049) + \
    bytes(16) + bytes([192, 0, 2, 1]) + bytes(12) + struct.pack("=IQ", 0, 0) + \
    struct.pack("=IIIII", 0, 0, 0, 0, 1234)
body = msg + rta(19, ulp)
nl = struct.pack("=IHHII", 16 + len(body), 20, 2, 1, 0) + body
done = struct.pack("=IHHII", 20, 3, 2, 1, 0) + struct.pack("=i", 0)
put("sockdiag", 3, nl + done)
put("sockdiag-short", 3, struct.pack("=IHHII", 20, 20, 2, 1, 0) + b"\0\0\0\0")
