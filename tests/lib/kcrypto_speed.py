#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Time the kernel's AES-256-GCM, the implementation kTLS uses, on one CPU.

  kcrypto_speed.py [--mib N]

Through AF_ALG ("aead", "gcm(aes)", 32-byte key, 16-byte tag), the crypto
API picks the same highest-priority gcm(aes) driver that kTLS allocates for
an AES-256-GCM session.  N MiB are encrypted, then decrypted, in records of
16 KiB with 13 bytes of associated data (a TLS 1.3 record's shape).
Prints "encrypt MiB/s X" and "decrypt MiB/s Y" and the driver's name.
Needs CONFIG_CRYPTO_USER_API_AEAD.
"""

import argparse
import socket
import sys
import time

RECORD = 16 << 10
AAD = bytes(13)
TAG = 16


def driver():
    """The driver name /proc/crypto lists first for gcm(aes)."""
    name = cur = None
    try:
        with open("/proc/crypto") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "name":
                    cur = v
                elif k == "driver" and cur == "gcm(aes)" and name is None:
                    name = v
    except OSError:
        pass
    return name or "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, default=16)
    args = ap.parse_args()
    try:
        alg = socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET, 0)
        alg.bind(("aead", "gcm(aes)"))
    except OSError as e:
        sys.exit("kcrypto_speed: AF_ALG aead gcm(aes): %s (CONFIG_CRYPTO_USER_API_AEAD?)" % e)
    alg.setsockopt(socket.SOL_ALG, socket.ALG_SET_KEY, bytes(range(32)))
    alg.setsockopt(socket.SOL_ALG, socket.ALG_SET_AEAD_AUTHSIZE, None, TAG)
    op, _ = alg.accept()
    iv = bytes(12)
    plain = AAD + bytes(RECORD)
    n = (args.mib << 20) // RECORD

    t0 = time.monotonic()
    for _ in range(n):
        op.sendmsg_afalg([plain], op=socket.ALG_OP_ENCRYPT, iv=iv, assoclen=len(AAD))
        sealed = op.recv(len(plain) + TAG)
    enc = time.monotonic() - t0
    if len(sealed) != len(plain) + TAG:
        sys.exit("kcrypto_speed: encrypt returned %d bytes" % len(sealed))

    t0 = time.monotonic()
    for _ in range(n):
        op.sendmsg_afalg([sealed], op=socket.ALG_OP_DECRYPT, iv=iv, assoclen=len(AAD))
        opened = op.recv(len(plain))
    dec = time.monotonic() - t0
    if opened[len(AAD):] != plain[len(AAD):]:
        sys.exit("kcrypto_speed: decrypt does not give the plaintext back")

    mib = n * RECORD / (1 << 20)
    print("driver %s" % driver())
    print("encrypt MiB/s %.2f" % (mib / enc))
    print("decrypt MiB/s %.2f" % (mib / dec))


if __name__ == "__main__":
    main()
