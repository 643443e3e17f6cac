#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A storm of RPC-with-TLS clients against one server, all at once.

    storm.py HOST --tls N --stall M --ca CA [--port 2049] [--json FILE]

N + M TCP connections are opened together.  Each sends the AUTH_TLS probe
and waits for STARTTLS.  The N "tls" clients then run the TLS handshake
(TLS 1.3, ALPN sunrpc, the server certificate checked against CA) and make
one NFS NULL call inside TLS.  The M "stall" clients send nothing after the
STARTTLS reply, the way a slow or hostile client holds a handshake open,
and wait for the server to close the connection.

Prints one summary line and, with --json, a report: how many connections
were made, answered STARTTLS, finished the handshake, got the NULL reply,
were closed by the server during the handshake (its timeout, when the
agent cannot keep up), and how long the server took to close the stalled
ones.  Exits 0 when every client is accounted for and at least --min-ok
handshakes went through, 1 otherwise.
"""

import argparse
import asyncio
import json
import os
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "pynfs-tls"))

import rpc  # noqa: E402
import tlsio  # noqa: E402

NFS_PROGRAM = 100003


async def read_record(reader):
    """One RPC record (all fragments)."""
    out = b""
    while True:
        hdr = await reader.readexactly(4)
        (word,) = struct.unpack(">I", hdr)
        out += await reader.readexactly(word & 0x7FFFFFFF)
        if word & 0x80000000:
            return out


async def one(kind, n, args, ctx, res, start):
    await start.wait()
    if kind == "stall" and args.stall_delay:
        await asyncio.sleep(args.stall_delay)
    t0 = time.monotonic()
    r = {"kind": kind, "n": n}
    writer = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.host, args.port), args.timeout)
        r["connected"] = True
        writer.write(rpc.frame(rpc.encode_probe(n * 2 + 1, NFS_PROGRAM, 4)))
        await writer.drain()
        rep = rpc.decode_reply(await asyncio.wait_for(read_record(reader), args.timeout))
        if rpc.probe_verdict(rep)[0] != "starttls":
            r["error"] = "probe: %s" % rep.describe()
            return
        r["starttls"] = True
        if kind == "stall":
            t1 = time.monotonic()
            try:
                data = await asyncio.wait_for(reader.read(1), args.stall_wait)
                r["closed_after"] = round(time.monotonic() - t1, 2)
                if data:
                    r["error"] = "server sent data to a silent client"
            except asyncio.TimeoutError:
                r["error"] = "still open after %.0f s" % args.stall_wait
            return
        await asyncio.wait_for(writer.start_tls(ctx, server_hostname=args.server_name),
                               args.timeout)
        r["handshake_s"] = round(time.monotonic() - t0, 3)
        xid = n * 2 + 2
        writer.write(rpc.frame(rpc.encode_call(xid, NFS_PROGRAM, 4, 0)))
        await writer.drain()
        rep = rpc.decode_reply(await asyncio.wait_for(read_record(reader), args.timeout))
        if rep.xid != xid or rep.accept_stat != rpc.SUCCESS:
            r["error"] = "NULL over TLS: %s" % rep.describe()
            return
        r["null_ok"] = True
        r["total_s"] = round(time.monotonic() - t0, 3)
    except (ConnectionResetError, asyncio.IncompleteReadError, ssl.SSLEOFError) as e:
        # The server gave up on this client (its handshake timeout, under load)
        r["closed_by_server"] = round(time.monotonic() - t0, 2)
        r["error"] = "closed by the server: %s: %s" % (type(e).__name__, e)
    except (OSError, asyncio.TimeoutError, ssl.SSLError, rpc.RPCError) as e:
        r["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        res.append(r)
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                pass


async def storm(args):
    ctx = tlsio.client_context(cafile=args.ca)
    res = []
    start = asyncio.Event()
    tasks = [asyncio.create_task(one("tls", i, args, ctx, res, start))
             for i in range(args.tls)]
    tasks += [asyncio.create_task(one("stall", args.tls + i, args, ctx, res, start))
              for i in range(args.stall)]
    await asyncio.sleep(0)
    t0 = time.monotonic()
    start.set()
    await asyncio.gather(*tasks)
    return res, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=2049)
    ap.add_argument("--tls", type=int, default=100, help="clients that do the handshake")
    ap.add_argument("--stall", type=int, default=100, help="clients that stall after STARTTLS")
    ap.add_argument("--ca", required=True, help="CA certificate of the server")
    ap.add_argument("--server-name", help="name in the server certificate (default HOST)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds for each step of a tls client (default 60)")
    ap.add_argument("--stall-wait", type=float, default=60.0,
                    help="seconds a stalled client waits for the server to close")
    ap.add_argument("--stall-delay", type=float, default=0.0,
                    help="seconds the stall clients start after the tls clients (default 0)")
    ap.add_argument("--min-ok", type=int, default=None,
                    help="tls clients that must get their NULL answered (default: all)")
    ap.add_argument("--json", help="write the report here")
    args = ap.parse_args()
    args.server_name = args.server_name or args.host
    if args.min_ok is None:
        args.min_ok = args.tls
    if not os.path.isfile(args.ca):
        ap.error("no such file: %s" % args.ca)

    res, secs = asyncio.run(storm(args))
    tls = [r for r in res if r["kind"] == "tls"]
    stall = [r for r in res if r["kind"] == "stall"]
    hs = sorted(r["handshake_s"] for r in tls if "handshake_s" in r)
    closed = sorted(r["closed_after"] for r in stall if "closed_after" in r)
    summary = {
        "seconds": round(secs, 2),
        "connected": sum(1 for r in res if r.get("connected")),
        "starttls": sum(1 for r in res if r.get("starttls")),
        "tls_null_ok": sum(1 for r in tls if r.get("null_ok")),
        "tls_closed_by_server": sum(1 for r in tls if "closed_by_server" in r),
        "stall_closed": len(closed),
        "handshake_s_median": hs[len(hs) // 2] if hs else None,
        "handshake_s_max": hs[-1] if hs else None,
        "stall_closed_min_s": closed[0] if closed else None,
        "stall_closed_max_s": closed[-1] if closed else None,
        "errors": sorted({r["error"] for r in res if "error" in r})[:10],
    }
    print("storm: %d+%d clients in %.1f s: %d connected, %d STARTTLS, %d NULL over TLS "
          "(handshake median %s s, max %s s), %d handshakes closed by the server, "
          "%d stalled closed by the server after %s-%s s%s"
          % (args.tls, args.stall, secs, summary["connected"], summary["starttls"],
             summary["tls_null_ok"], summary["handshake_s_median"],
             summary["handshake_s_max"], summary["tls_closed_by_server"],
             summary["stall_closed"], summary["stall_closed_min_s"],
             summary["stall_closed_max_s"],
             "; errors: %s" % summary["errors"] if summary["errors"] else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "clients": res}, f, indent=1)
    # Every client accounted for: a tls client got its NULL answered or was
    # closed by the server (handshake timeout under load), every stalled one
    # was closed; and at least --min-ok handshakes went through.
    ok = (summary["starttls"] == args.tls + args.stall and
          summary["tls_null_ok"] + summary["tls_closed_by_server"] == args.tls and
          summary["tls_null_ok"] >= args.min_ok and
          summary["stall_closed"] == args.stall)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
