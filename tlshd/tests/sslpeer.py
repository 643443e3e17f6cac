#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An independent TLS peer (Python ssl = OpenSSL) for tlshd's tests.

  sslpeer.py server PORT --cert C --key K [--ca CA] [--require-cert]
                         [--alpn P|--no-alpn] [--tls12] [--tickets N]
                         [--send-first MSG]
      Serves one connection: echoes one message back.  With --send-first,
      sends MSG the moment its handshake is done, in the same flight as
      its session tickets (OpenSSL writes them with the first data): the
      client's agent may still be handing keys to kTLS.  Prints
      "listening port=N", then "server ok alpn=..." or "server error ...".
  sslpeer.py client HOST PORT --ca CA --name N [--cert C --key K]
                         [--alpn P|--no-alpn] [--tls12] [--send MSG]
                         [--expect MSG]
      Sends MSG, reads until it has as many bytes as --expect (default:
      MSG echoed back).  Prints "client ok alpn=... echo=ok received=..."
      or "client error ...".
"""
import argparse
import socket
import ssl
import sys


def context(args, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server
                         else ssl.PROTOCOL_TLS_CLIENT)
    if args.tls12:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if args.ca:
        ctx.load_verify_locations(args.ca)
    if server:
        ctx.verify_mode = (ssl.CERT_REQUIRED if args.require_cert
                           else ssl.CERT_OPTIONAL if args.ca
                           else ssl.CERT_NONE)
        ctx.num_tickets = args.tickets
    if not args.no_alpn:
        ctx.set_alpn_protocols([args.alpn])
    return ctx


def serve(args):
    ctx = context(args, True)
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", args.port))
    ls.listen(1)
    print("listening port=%d" % ls.getsockname()[1], flush=True)
    ls.settimeout(60)
    conn, _ = ls.accept()
    conn.settimeout(30)
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        if args.send_first:
            tls.sendall(args.send_first.encode())
        data = tls.recv(4096)
        tls.sendall(data)
        print("server ok alpn=%s version=%s" %
              (tls.selected_alpn_protocol(), tls.version()), flush=True)
        try:
            tls.unwrap()
        except (OSError, ssl.SSLError):
            pass
    except (OSError, ssl.SSLError) as e:
        print("server error %s" % e, flush=True)
        return 1
    return 0


def connect(args):
    ctx = context(args, False)
    try:
        s = socket.create_connection((args.host, args.port), timeout=30)
        tls = ctx.wrap_socket(s, server_hostname=args.name)
        if tls.selected_alpn_protocol() != args.alpn and not args.no_alpn:
            print("client error server selected ALPN %r" %
                  tls.selected_alpn_protocol(), flush=True)
            return 1
        want = (args.send if args.expect is None else args.expect).encode()
        tls.sendall(args.send.encode())
        got = b""
        while len(got) < len(want):
            chunk = tls.recv(4096)
            if not chunk:
                break
            got += chunk
        print("client ok alpn=%s version=%s echo=%s received=%r" %
              (tls.selected_alpn_protocol(), tls.version(),
               "ok" if got == want else "mismatch", got.decode(errors="replace")),
              flush=True)
    except (OSError, ssl.SSLError) as e:
        print("client error %s" % e, flush=True)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("rest", nargs="+")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--name")
    p.add_argument("--require-cert", action="store_true")
    p.add_argument("--alpn", default="sunrpc")
    p.add_argument("--no-alpn", action="store_true")
    p.add_argument("--tls12", action="store_true")
    p.add_argument("--tickets", type=int, default=0)
    p.add_argument("--send-first")
    p.add_argument("--send", default="hello from python")
    p.add_argument("--expect")
    args = p.parse_args()
    if args.mode == "server":
        args.port = int(args.rest[0])
        return serve(args)
    args.host, args.port = args.rest[0], int(args.rest[1])
    return connect(args)


if __name__ == "__main__":
    sys.exit(main())
