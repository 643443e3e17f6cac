#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Seed inputs for rpctls-fuzz-exports (fuzz_exports.c): DIR/exports, one
input per parser.  Usage: mkcorpus.py DIR.  The first byte of each file
picks the parser."""
import os
import sys

top = sys.argv[1]


def put(name, sel, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([sel]) + data)


# rpctls-exports: 0 exports(5) lines, 1 the kernel's table, 2 escaping
d = os.path.join(top, "exports")
os.makedirs(d, exist_ok=True)
put("lines", 0, b'/srv/a *(rw,xprtsec=tls:mtls,sync) 192.0.2.0/24(xprtsec=mtls:tls)\n'
    b'/srv/b -xprtsec=mtls client.test(rw) other(ro)\n'
    b'"/srv/with space" (xprtsec=none)\n/srv/with\\040space (xprtsec=none) # c\n'
    b'/srv/plain *(rw)\n/srv/a a(xprtsec=tls) b\n"/srv/a *(xprtsec=tls)\n')
put("kernel", 1, b"/srv/a tls:mtls\n/srv/with\\040space none\n# state: loaded\n")
put("escape", 2, b"/srv/a b\\c\t\x7f\xff")
