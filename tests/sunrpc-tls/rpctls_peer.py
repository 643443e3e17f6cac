#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw RPC-with-TLS client probes for the SunRPC server tests.

Used by tests/scenarios/sunrpc-tls.sh inside the test VM, against nfsd with
the fake handshake agent (build/bin/tlsh-agent serve -a ktls|hold), which
installs kTLS with fixed keys instead of running a TLS handshake.  This
script installs the same keys on its own socket, so it speaks kTLS records
to the server without a handshake.

  rpctls_peer.py session HOST PORT
      probe -> STARTTLS; kTLS; NFS NULL inside the session is answered;
      a probe inside the session gets MSG_DENIED AUTH_BADCRED.
  rpctls_peer.py cleartext HOST PORT
      probe -> STARTTLS; then a cleartext NULL call: no answer, and the
      server drops the connection.
  rpctls_peer.py hold N HOST PORT SECONDS
      N connections probe at once and get STARTTLS; then wait up to
      SECONDS for the server to close them; prints how many it closed.

Each check prints one TAP line (ok - / not ok - ); exit status 1 when one
failed, 2 on bad arguments.
"""

import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "pynfs-tls"))
import rpc  # noqa: E402

NFS_PROGRAM, NFS_V4 = 100003, 4
SOL_TLS, TLS_TX, TLS_RX, TCP_ULP = 282, 1, 2, 31
TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128 = 0x0303, 51

failed = 0


def tap(ok, name, why=""):
    global failed
    if ok:
        print("ok - %s" % name)
    else:
        failed += 1
        print("not ok - %s: %s" % (name, why))


def connect(host, port, timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def ktls(s):
    """The fake agent's key material (tests/tlsh/tlsh-agent.c)."""
    ci = struct.pack("<HH", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128)
    ci += b"\x22" * 8 + b"\x11" * 16 + b"\x33" * 4 + b"\x00" * 8
    s.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls")
    s.setsockopt(SOL_TLS, TLS_TX, ci)
    s.setsockopt(SOL_TLS, TLS_RX, ci)


def recv_record(s, timeout):
    """One RPC record, or None when the peer closed or nothing came."""
    rr = rpc.RecordReader()
    end = time.monotonic() + timeout
    while True:
        rec = rr.next_record()
        if rec is not None:
            return rec
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            return None
        except OSError:
            return None
        if not data:
            return None
        rr.feed(data)


def call(s, xid, cred=rpc.NULL_AUTH, proc=0, timeout=10):
    s.sendall(rpc.frame(rpc.encode_call(xid, NFS_PROGRAM, NFS_V4, proc, b"",
                                        cred, rpc.NULL_AUTH)))
    rec = recv_record(s, timeout)
    return rpc.decode_reply(rec) if rec is not None else None


def probe(s, xid=1):
    s.sendall(rpc.frame(rpc.encode_probe(xid, NFS_PROGRAM, NFS_V4)))
    rec = recv_record(s, 10)
    if rec is None:
        return "closed", "no reply"
    return rpc.probe_verdict(rpc.decode_reply(rec))


def closed_by_peer(s, timeout):
    """True when the peer closes (EOF or reset) within timeout, with no data."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            data = s.recv(4096)
        except socket.timeout:
            return False, "still open after %gs" % timeout
        except ConnectionResetError:
            return True, "reset"
        except OSError as e:
            return True, str(e)
        if not data:
            return True, "eof"
        return False, "got %d bytes" % len(data)
    return False, "still open"


def cmd_session(host, port):
    s = connect(host, port)
    verdict, d = probe(s)
    tap(verdict == "starttls", "server answers the probe with STARTTLS", d)
    if verdict != "starttls":
        return
    time.sleep(0.3)     # the agent installs kTLS on the server's socket
    ktls(s)
    r = call(s, 2)
    tap(r is not None and r.reply_stat == rpc.MSG_ACCEPTED and
        r.accept_stat == rpc.SUCCESS, "NFS NULL answered inside the session",
        r.describe() if r else "no reply")
    r = call(s, 3, cred=rpc.TLS_CRED)
    tap(r is not None and r.reply_stat == rpc.MSG_DENIED and
        r.auth_stat == rpc.AUTH_BADCRED,
        "a probe inside the session gets AUTH_BADCRED",
        r.describe() if r else "no reply")
    r = call(s, 4)
    tap(r is not None and r.accept_stat == rpc.SUCCESS,
        "the session still works after that", r.describe() if r else "no reply")
    s.close()


def cmd_cleartext(host, port):
    s = connect(host, port)
    verdict, d = probe(s)
    tap(verdict == "starttls", "server answers the probe with STARTTLS", d)
    if verdict != "starttls":
        return
    time.sleep(0.3)
    s.sendall(rpc.frame(rpc.encode_call(9, NFS_PROGRAM, NFS_V4, 0)))
    ok, why = closed_by_peer(s, 10)
    tap(ok, "cleartext after STARTTLS: no answer, connection dropped", why)
    s.close()


def cmd_hold(n, host, port, seconds):
    socks, starttls = [], 0
    t0 = time.monotonic()
    for i in range(n):
        socks.append(connect(host, port))
    for i, s in enumerate(socks):
        s.sendall(rpc.frame(rpc.encode_probe(100 + i, NFS_PROGRAM, NFS_V4)))
    for s in socks:
        rec = recv_record(s, 20)
        if rec is not None and rpc.probe_verdict(rpc.decode_reply(rec))[0] == "starttls":
            starttls += 1
    print("# %d connections probed in %.2fs" % (n, time.monotonic() - t0))
    tap(starttls == n, "%d connections probe at once and all get STARTTLS" % n,
        "%d of %d" % (starttls, n))
    sys.stdout.flush()
    # Keep them open; report how many the server closed.
    open_ = {s.fileno(): s for s in socks}
    end = time.monotonic() + seconds
    poller = select.poll()
    for fd in open_:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while open_ and time.monotonic() < end:
        for fd, _ in poller.poll(200):
            s = open_.pop(fd, None)
            if s is None:
                continue
            poller.unregister(fd)
            try:
                s.recv(4096)
            except OSError:
                pass
            s.close()
    print("closed %d" % (n - len(open_)))
    for s in open_.values():
        s.close()


def main(argv):
    try:
        if argv[1] == "session" and len(argv) == 4:
            cmd_session(argv[2], int(argv[3]))
        elif argv[1] == "cleartext" and len(argv) == 4:
            cmd_cleartext(argv[2], int(argv[3]))
        elif argv[1] == "hold" and len(argv) == 6:
            cmd_hold(int(argv[2]), argv[3], int(argv[4]), float(argv[5]))
        else:
            raise IndexError
    except (IndexError, ValueError):
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
