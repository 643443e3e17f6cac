# SPDX-License-Identifier: GPL-2.0
"""A tiny cleartext RPC server behind tests/pynfs-tls/peer.py for the
mount-helper host tests: NULL answers SUCCESS; any other procedure (an
NFSv4 COMPOUND) answers SUCCESS with COMPOUND status STATUS.  STATUS
"hostile-verifier" answers every COMPOUND with a verifier length of
0xFFFFFFE8, which once wrapped the helper's reply offset (a hostile server).

    python3 backend.py PORTFILE [STATUS|hostile-verifier]
"""
import socket
import struct
import sys
import threading

hostile = len(sys.argv) > 2 and sys.argv[2] == "hostile-verifier"
status = int(sys.argv[2]) if len(sys.argv) > 2 and not hostile else 0
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
import os  # noqa: E402
os.rename(sys.argv[1] + ".tmp", sys.argv[1])


def rd(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def conn(s):
    try:
        while True:
            m = b""
            while True:
                h, = struct.unpack(">I", rd(s, 4))
                m += rd(s, h & 0x7fffffff)
                if h & 0x80000000:
                    break
            xid, _, _, prog, vers, proc = struct.unpack(">6I", m[:24])
            body = b"" if proc == 0 else struct.pack(">III", status, 0, 0)
            r = struct.pack(">6I", xid, 1, 0, 0, 0, 0) + body
            if hostile and proc != 0:
                r = struct.pack(">7I", xid, 1, 0, 0, 0xFFFFFFE8, 0, 0)
            s.sendall(struct.pack(">I", 0x80000000 | len(r)) + r)
    except (EOFError, OSError, struct.error):
        s.close()


while True:
    c, _ = ls.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
