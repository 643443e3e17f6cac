#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run pynfs (or any cleartext RPC tool) over RPC-with-TLS.

  PYNFS_DIR=/path/to/pynfs python3 tests/pynfs-tls/pynfs_tls.py HOST[:PORT]
        [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]
        [--minor 0|1] [--path /EXPORT] [--tap] [-- PYNFS ARGS...]
  python3 tests/pynfs-tls/pynfs_tls.py HOST[:PORT] --proxy-only [--listen ADDR:PORT]

The transport shim is a local proxy: each cleartext connection accepted on
127.0.0.1 becomes one RPC-with-TLS connection to the server (AUTH_TLS
probe, STARTTLS, TLS 1.3 with ALPN "sunrpc"), and bytes are relayed both
ways, so the NFSv4.1 backchannel rides the same TLS session.  pynfs needs no
change: its nfs4.MINOR/testserver.py is pointed at the proxy.  Without
PYNFS_DIR the run is skipped with a message (exit 0).  NFSv4.0 callbacks
are separate connections from the server to the client and do not pass
through the shim.

--proxy-only runs just the proxy ("ready PORT" on stdout) until SIGTERM,
for any other cleartext tool.
"""

import argparse
import os
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nfs  # noqa: E402
import rpc  # noqa: E402
import tlsio  # noqa: E402
from tlsio import Closed, HandshakeError  # noqa: E402


class Proxy:
    def __init__(self, args):
        self.args = args
        self.server = tlsio.parse_hostport(args.server, 2049)
        self.ctx = tlsio.client_context(cafile=args.ca, certfile=args.cert,
                                        keyfile=args.key, check_hostname=bool(args.ca))
        self.stop = threading.Event()
        self.privileged = os.geteuid() == 0
        self.xid = 0x70000000

    def log(self, msg):
        print("pynfs_tls: %s" % msg, file=sys.stderr, flush=True)

    def open_tls(self):
        h, p = self.server
        c = tlsio.Conn.connect(h, p, self.args.timeout, self.privileged)
        self.xid += 1
        r = c.call(rpc.encode_probe(self.xid, nfs.NFS_PROGRAM, 4))
        verdict, detail = rpc.probe_verdict(r)
        if verdict != "starttls":
            c.close()
            raise ConnectionError("%s:%d does not offer STARTTLS: %s" % (h, p, detail))
        c.start_tls(self.ctx, server_hostname=self.args.server_name or h)
        if c.tls.selected_alpn_protocol() != tlsio.ALPN_SUNRPC:
            c.close()
            raise ConnectionError("server did not select ALPN sunrpc")
        return c

    def handle(self, s):
        local = tlsio.Conn(s, "local")
        try:
            remote = self.open_tls()
        except (ConnectionError, HandshakeError, Closed, rpc.RPCError) as e:
            self.log("cannot open RPC-with-TLS: %s" % e)
            local.close()
            return
        self.log("connection relayed over %s" % remote.describe_tls())
        sel = selectors.DefaultSelector()
        sel.register(local.sock, selectors.EVENT_READ, (local, remote))
        sel.register(remote.sock, selectors.EVENT_READ, (remote, local))
        try:
            while not self.stop.is_set():
                for key, _ in sel.select(0.5):
                    src, dst = key.data
                    data, closed = src.recv_ready()
                    if data:
                        dst.send(data)
                    if closed:
                        return
        except Closed as e:
            self.log("relay ended: %s" % e)
        finally:
            sel.close()
            remote.close()
            local.close()

    def serve(self, on_ready):
        host, port = tlsio.parse_hostport(self.args.listen, 0)
        ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(16)
        ls.settimeout(0.5)
        self.port = ls.getsockname()[1]
        on_ready(self.port)
        while not self.stop.is_set():
            try:
                s, _ = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            s.settimeout(None)
            threading.Thread(target=self.handle, args=(s,), daemon=True).start()
        ls.close()


def skip(args, why):
    print("pynfs over RPC-with-TLS: SKIP: %s" % why)
    if args.tap:
        print("ok - pynfs # SKIP %s" % why)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description="pynfs (or any cleartext RPC tool) over "
                                 "RPC-with-TLS through a local proxy.")
    ap.add_argument("server", help="HOST[:PORT] of the RPC-with-TLS server")
    ap.add_argument("--ca", help="CA to verify the server with (default: no verification)")
    ap.add_argument("--cert", help="client certificate (PEM)")
    ap.add_argument("--key", help="client private key (PEM)")
    ap.add_argument("--server-name", help="name to verify (default: HOST)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="proxy address (default "
                    "127.0.0.1, a free port)")
    ap.add_argument("--minor", type=int, choices=(0, 1), default=1,
                    help="pynfs suite: nfs4.0 or nfs4.1 (default 1)")
    ap.add_argument("--path", default="/", help="export path given to pynfs (default /)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--proxy-only", action="store_true",
                    help="only run the proxy until SIGTERM")
    ap.add_argument("--tap", action="store_true", help="TAP line for tests/check")
    args = ap.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        print("pynfs_tls.py: --cert and --key go together", file=sys.stderr)
        return 2

    testserver = None
    if not args.proxy_only:
        pynfs = os.environ.get("PYNFS_DIR")
        if not pynfs:
            return skip(args, "PYNFS_DIR is not set (point it at a pynfs checkout; pynfs "
                        "is not part of this repository)")
        testserver = os.path.join(pynfs, "nfs4.%d" % args.minor, "testserver.py")
        if not os.path.isfile(testserver):
            print("pynfs_tls.py: PYNFS_DIR=%s has no %s" % (pynfs, testserver),
                  file=sys.stderr)
            return 2
    try:
        proxy = Proxy(args)
    except (ValueError, OSError, ssl.SSLError) as e:
        print("pynfs_tls.py: %s" % e, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda s, f: proxy.stop.set())
    signal.signal(signal.SIGINT, lambda s, f: proxy.stop.set())

    if args.proxy_only:
        proxy.serve(lambda port: print("ready %d" % port, flush=True))
        return 0

    ready = threading.Event()
    t = threading.Thread(target=proxy.serve, args=(lambda port: ready.set(),), daemon=True)
    t.start()
    if not ready.wait(10):
        print("pynfs_tls.py: proxy did not start", file=sys.stderr)
        return 1
    target = "127.0.0.1:%d%s" % (proxy.port, args.path)
    cmd = [sys.executable, testserver, target] + extra
    print("pynfs over RPC-with-TLS: %s" % " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=os.path.dirname(testserver))
    proxy.stop.set()
    t.join(2)
    if args.tap:
        print("ok - pynfs" if rc == 0 else "not ok - pynfs: pynfs exited %d" % rc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
