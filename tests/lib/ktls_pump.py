#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Pump bytes through one TCP connection, in the clear or through kTLS.

  ktls_pump.py recv --listen ADDR:PORT --mib N [--tls] [--port-file F]
  ktls_pump.py send --to ADDR:PORT --mib N [--tls]

The receiver prints "MiB/s X" when N MiB have arrived, timed from the
moment it told the sender to start (one byte back) to the last byte.  With
--tls both ends install kTLS keys for TLS 1.3 AES-256-GCM (the cipher the
agents negotiate) with TCP_ULP "tls" and TLS_TX / TLS_RX, without a
handshake: the key is a fixed test value, the point is the cost of the
kernel's record layer, encrypting at the sender and decrypting at the
receiver, on the same path as NFS traffic.  tests/bench.d/nfs-tls.sh runs it
both ways to derive the crypto ceiling for NFS over TLS.
"""

import argparse
import socket
import struct
import sys
import time

SOL_TLS = 282
TCP_ULP = 31
TLS_TX, TLS_RX = 1, 2
TLS_1_3_VERSION = 0x0304
TLS_CIPHER_AES_GCM_256 = 52
CHUNK = 256 << 10


def crypto_info():
    """struct tls12_crypto_info_aes_gcm_256 (include/uapi/linux/tls.h)"""
    return struct.pack("=HH8s32s4s8s", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256,
                       bytes(range(8)), bytes(range(32, 64)), b"salt", bytes(8))


def ktls(sock, direction):
    sock.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls")
    sock.setsockopt(SOL_TLS, direction, crypto_info())


def addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def recv(args):
    family = socket.AF_INET6 if ":" in addr(args.listen)[0] else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(addr(args.listen))
    lsock.listen(1)
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write("%d\n" % lsock.getsockname()[1])
    conn, _ = lsock.accept()
    if args.tls:
        ktls(conn, TLS_RX)
    want = args.mib << 20
    buf = bytearray(1 << 20)
    got = 0
    t0 = time.monotonic()
    conn.sendall(b"g")
    while got < want:
        n = conn.recv_into(buf)
        if n == 0:
            sys.exit("ktls_pump: sender closed after %d of %d bytes" % (got, want))
        got += n
    dt = time.monotonic() - t0
    conn.sendall(b"d")
    print("MiB/s %.2f" % (args.mib / dt))


def send(args):
    sock = socket.create_connection(addr(args.to))
    if args.tls:
        ktls(sock, TLS_TX)
    if sock.recv(1) != b"g":
        sys.exit("ktls_pump: no start signal")
    chunk = bytes(CHUNK)
    left = args.mib << 20
    while left > 0:
        n = min(left, CHUNK)
        sock.sendall(chunk[:n])
        left -= n
    sock.recv(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("role", choices=("recv", "send"))
    ap.add_argument("--listen", default="0.0.0.0:0")
    ap.add_argument("--to")
    ap.add_argument("--mib", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--port-file")
    args = ap.parse_args()
    if args.role == "recv":
        recv(args)
    else:
        if not args.to:
            ap.error("send needs --to")
        send(args)


if __name__ == "__main__":
    main()
