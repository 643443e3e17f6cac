#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Small I/O probes on many NFS mounts at once, for the reconnect storm.

  storm_probe.py --log FILE --stop FILE --tag TAG [--interval SEC]
                 [--server-dir DIR] MOUNT...

One thread per MOUNT: it opens MOUNT/probe-TAG-N (N: the mount's index)
O_DIRECT and, until FILE exists, pwrite()s one 4 KiB block at offset 0
every SEC seconds (default 0.2), each block naming TAG, N and a sequence
number.  Every completed write appends "TIME N SEQ" to --log, every
failed one "error TIME N ERRNO".  At the stop each file is read back
(O_DIRECT, over the wire) and, with --server-dir, also from the server's
side: both must hold the last block written.  The last line on stdout:

  probe mounts=N writes=N errors=N verified=N wrong=N

and the exit status is 0 only when errors and wrong are both zero.
"""
import argparse
import errno
import mmap
import os
import sys
import threading
import time

BLOCK = 4096


def block(tag, n, seq):
    head = ("storm probe tag=%s mount=%d seq=%d\n" % (tag, n, seq)).encode()
    return head + bytes([(seq + n) & 0xFF]) * (BLOCK - len(head))


class Probe(threading.Thread):
    def __init__(self, args, n, mnt, out, lock):
        super().__init__(daemon=True)
        self.a, self.n, self.out, self.lock = args, n, out, lock
        self.path = os.path.join(mnt, "probe-%s-%d" % (args.tag, n))
        self.name_ = "probe-%s-%d" % (args.tag, n)
        self.last = -1
        self.writes = 0
        self.errors = 0
        self.buf = mmap.mmap(-1, BLOCK)

    def log(self, line):
        with self.lock:
            self.out.write(line)

    def run(self):
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
        except OSError as e:
            self.errors += 1
            self.log("error %.3f %d %d\n" % (time.time(), self.n, e.errno))
            return
        seq = 0
        while not os.path.exists(self.a.stop):
            self.buf[:] = block(self.a.tag, self.n, seq)
            try:
                os.pwrite(fd, self.buf, 0)
                self.last = seq
                self.writes += 1
                self.log("%.3f %d %d\n" % (time.time(), self.n, seq))
            except OSError as e:
                self.errors += 1
                self.log("error %.3f %d %d\n" % (time.time(), self.n, e.errno))
            seq += 1
            time.sleep(self.a.interval)
        os.close(fd)

    def read(self, path, direct):
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECT if direct else 0))
        try:
            got = os.preadv(fd, [self.buf], 0)
        finally:
            os.close(fd)
        return bytes(self.buf[:got])

    def verify(self):
        if self.last < 0:
            return "nothing written"
        want = block(self.a.tag, self.n, self.last)
        try:
            if self.read(self.path, True) != want:
                return "read back over the wire differs from seq %d" % self.last
            if self.a.server_dir and \
               self.read(os.path.join(self.a.server_dir, self.name_), False) != want:
                return "the server's copy differs from seq %d" % self.last
        except OSError as e:
            return "read back: %s" % errno.errorcode.get(e.errno, e.errno)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--server-dir")
    ap.add_argument("mounts", nargs="+")
    args = ap.parse_args()
    out = open(args.log, "a", buffering=1)
    lock = threading.Lock()
    probes = [Probe(args, n, m, out, lock) for n, m in enumerate(args.mounts)]
    for p in probes:
        p.start()
    for p in probes:
        p.join()
    wrong = 0
    for p in probes:
        why = p.verify()
        if why:
            wrong += 1
            print("wrong mount=%d %s: %s" % (p.n, p.path, why), flush=True)
    print("probe mounts=%d writes=%d errors=%d verified=%d wrong=%d"
          % (len(probes), sum(p.writes for p in probes), sum(p.errors for p in probes),
             len(probes) - wrong, wrong), flush=True)
    return 0 if wrong == 0 and sum(p.errors for p in probes) == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
