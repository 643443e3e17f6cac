# SPDX-License-Identifier: GPL-2.0
"""A tiny cleartext RPC server behind tests/pynfs-tls/peer.py for the
mount-helper host tests: NULL answers SUCCESS; any other procedure (an
NFSv4 COMPOUND) answers SUCCESS with COMPOUND status STATUS.  STATUS
"hostile-verifier" answers every COMPOUND with a verifier length of
0xFFFFFFE8, which once wrapped the helper's reply offset (a hostile server).

    python3 backend.py PORTFILE [STATUS|hostile-verifier]
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "pynfs-tls"))
import rpc  # noqa: E402  (record marking)

hostile = len(sys.argv) > 2 and sys.argv[2] == "hostile-verifier"
status = int(sys.argv[2]) if len(sys.argv) > 2 and not hostile else 0
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])


def reply(m):
    xid, _, _, prog, vers, proc = struct.unpack(">6I", m[:24])
    if hostile and proc != 0:
        return struct.pack(">7I", xid, 1, 0, 0, 0xFFFFFFE8, 0, 0)
    body = b"" if proc == 0 else struct.pack(">III", status, 0, 0)
    return struct.pack(">6I", xid, 1, 0, 0, 0, 0) + body


def conn(s):
    rr = rpc.RecordReader()
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
            for m in rr.records(data):
                s.sendall(rpc.frame(reply(m)))
    except (OSError, struct.error, rpc.RecordError):
        pass
    s.close()


while True:
    c, _ = ls.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
