#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Mutual-TLS handshakes with nfsd in a loop (issue 15 finding 4).

    hsloop.py HOST --count N --ca CA --cert CERT --key KEY [--parallel P]

Each round: connect to port 2049, AUTH_TLS probe, TLS 1.3 handshake with
the client certificate, one NFS NULL call inside TLS, close.  P rounds run
at once.  Prints "# COUNT x REASON" for the rounds that failed, then
"rounds=N ok=K failed=F seconds=S"; exits 0 when every round succeeded.
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pynfs-tls"))
import nfs  # noqa: E402
import rpc  # noqa: E402
import tlsio  # noqa: E402


def one(args, ctx, xid):
    """None on success, else why it failed."""
    try:
        c = tlsio.Conn.connect(args.host, 2049, timeout=30)
    except (ConnectionError, OSError) as e:
        return "connect: %s" % e
    try:
        r = c.call(rpc.encode_probe(xid, nfs.NFS_PROGRAM, 4))
        if rpc.probe_verdict(r)[0] != "starttls":
            return "probe: %s" % r.describe()
        c.start_tls(ctx, server_hostname=args.host, timeout=30)
        r = c.call(rpc.encode_call(xid + 1, nfs.NFS_PROGRAM, 4, 0))
        if r.reply_stat == rpc.MSG_ACCEPTED and r.accept_stat == rpc.SUCCESS:
            return None
        return "NULL: %s" % r.describe()
    except (tlsio.Closed, tlsio.HandshakeError) as e:
        return "%s: %s %s" % (type(e).__name__, e.how, e.detail)
    except (rpc.RPCError, OSError) as e:
        return "%s: %s" % (type(e).__name__, e)
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    ctx = tlsio.client_context(cafile=args.ca, certfile=args.cert, keyfile=args.key)
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0, "next": 0}
    reasons = {}

    def worker():
        while True:
            with lock:
                if counts["next"] >= args.count:
                    return
                i = counts["next"]
                counts["next"] += 1
            why = one(args, ctx, 0x10000 + 2 * i)
            with lock:
                counts["failed" if why else "ok"] += 1
                if why:
                    reasons[why] = reasons.get(why, 0) + 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for why, n in sorted(reasons.items(), key=lambda x: -x[1]):
        print("# %d x %s" % (n, why))
    print("rounds=%d ok=%d failed=%d seconds=%.1f"
          % (args.count, counts["ok"], counts["failed"], time.monotonic() - t0))
    sys.exit(0 if counts["failed"] == 0 else 1)


if __name__ == "__main__":
    main()
