#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A mixed file workload for the soak (tests/scenarios/soak.sh).

  soak-load.py --dir DIR --stop FILE [--seed N] [--marker STRING]
               [--files N] [--max-kib N] [--pause SEC] [--progress FILE]

Until FILE exists (checked between operations), in DIR (created): writes
files of known content (pseudo-random from the seed and a counter, MARKER
at the start of every 4 KiB block, 4 KiB to MAX_KIB KiB, O_DIRECT and
fsync so that every byte crosses the wire), reads a file back (O_DIRECT)
and compares it with the SHA-256 noted when it was written, renames a
file, takes a POSIX write lock on a byte range of a file (fcntl F_SETLKW,
held for a moment, released), and deletes a file once there are FILES of
them.  Every operation that fails is counted by errno and the loop goes
on; every read that differs is counted as a mismatch.  At the end every
file left is read back once more, then the files are deleted.

--progress appends "TIME OPS ERRORS MISMATCHES" after every operation,
so that the soak can tell when I/O stalled.  The last line on stdout is

  summary ops=N writes=N reads=N renames=N locks=N deletes=N
          bytes_written=N bytes_read=N errors=N mismatches=N
          max_op_ms=N errnos=NAME:N,...|-

and the exit status is 0 only when errors and mismatches are both zero.
"""
import argparse
import errno
import fcntl
import hashlib
import mmap
import os
import random
import sys
import time

BLOCK = 4096


def content(seed, n, kib, marker):
    """The bytes of file number n: KIB KiB, MARKER at every block start."""
    rnd = random.Random("%s-%d" % (seed, n))
    data = bytearray(rnd.randbytes(kib << 10))
    if marker:
        for off in range(0, len(data), BLOCK):
            data[off:off + len(marker)] = marker
    return bytes(data)


class Load:
    def __init__(self, args):
        self.a = args
        self.rnd = random.Random(args.seed)
        self.marker = args.marker.encode()
        self.files = {}          # name -> (sha256, size)
        self.count = 0
        self.ops = {k: 0 for k in ("writes", "reads", "renames", "locks", "deletes")}
        self.bytes_w = 0
        self.bytes_r = 0
        self.errors = {}
        self.mismatches = 0
        self.max_ms = 0
        self.buf = mmap.mmap(-1, args.max_kib << 10)     # page aligned
        self.prog = open(args.progress, "a", buffering=1) if args.progress else None

    def total_ops(self):
        return sum(self.ops.values())

    def total_errors(self):
        return sum(self.errors.values())

    def error(self, op, e):
        name = errno.errorcode.get(e.errno, str(e.errno))
        self.errors[name] = self.errors.get(name, 0) + 1
        print("error op=%s errno=%d (%s: %s) at=%.3f"
              % (op, e.errno, name, e.strerror, time.time()), flush=True)

    def path(self, name):
        return os.path.join(self.a.dir, name)

    def write(self):
        self.count += 1
        name = "f%06d" % self.count
        kib = 4 * self.rnd.randint(1, self.a.max_kib // 4)
        data = content(self.a.seed, self.count, kib, self.marker)
        self.buf[:len(data)] = data
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT,
                     0o644)
        try:
            view = memoryview(self.buf)[:len(data)]
            done = 0
            while done < len(data):
                done += os.write(fd, view[done:])
            view.release()
            os.fsync(fd)
        finally:
            os.close(fd)
        self.files[name] = (hashlib.sha256(data).hexdigest(), len(data))
        self.bytes_w += len(data)

    def read(self, name=None):
        name = name or self.rnd.choice(sorted(self.files))
        want, size = self.files[name]
        fd = os.open(self.path(name), os.O_RDONLY | os.O_DIRECT)
        try:
            view = memoryview(self.buf)
            got = 0
            while got < size:
                n = os.readv(fd, [view[got:]])
                if n == 0:
                    break
                got += n
            data = bytes(view[:got])
            view.release()
        finally:
            os.close(fd)
        self.bytes_r += len(data)
        if len(data) != size or hashlib.sha256(data).hexdigest() != want:
            self.mismatches += 1
            print("mismatch file=%s want=%s bytes=%d got=%s bytes=%d at=%.3f"
                  % (name, want, size, hashlib.sha256(data).hexdigest(), len(data),
                     time.time()), flush=True)

    def rename(self):
        old = self.rnd.choice(sorted(self.files))
        self.count += 1
        new = "r%06d" % self.count
        os.rename(self.path(old), self.path(new))
        self.files[new] = self.files.pop(old)

    def lock(self):
        name = self.rnd.choice(sorted(self.files))
        fd = os.open(self.path(name), os.O_RDWR)
        try:
            start = BLOCK * self.rnd.randint(0, 3)
            fcntl.lockf(fd, fcntl.LOCK_EX, BLOCK, start)
            time.sleep(0.02)
            fcntl.lockf(fd, fcntl.LOCK_UN, BLOCK, start)
        finally:
            os.close(fd)

    def delete(self):
        name = self.rnd.choice(sorted(self.files))
        os.unlink(self.path(name))
        del self.files[name]

    def step(self):
        if len(self.files) < 2:
            op = "write"
        elif len(self.files) >= self.a.files:
            op = "delete"
        else:
            op = self.rnd.choice(("write", "write", "read", "read", "rename", "lock"))
        t = time.time()
        try:
            getattr(self, op)()
            self.ops[op + "s"] += 1
        except OSError as e:
            self.error(op, e)
            # a failed write may have left a partial file: forget nothing
            # that was verified, but do not read a half-written one back
            if op == "write":
                self.files.pop("f%06d" % self.count, None)
        ms = int((time.time() - t) * 1000)
        self.max_ms = max(self.max_ms, ms)
        if self.prog:
            self.prog.write("%.3f %d %d %d\n" % (time.time(), self.total_ops(),
                                                  self.total_errors(), self.mismatches))

    def finish(self):
        for name in sorted(self.files):
            try:
                self.read(name)
                self.ops["reads"] += 1
                os.unlink(self.path(name))
                self.ops["deletes"] += 1
            except OSError as e:
                self.error("final", e)

    def summary(self):
        errnos = ",".join("%s:%d" % kv for kv in sorted(self.errors.items())) or "-"
        print("summary ops=%d writes=%d reads=%d renames=%d locks=%d deletes=%d "
              "bytes_written=%d bytes_read=%d errors=%d mismatches=%d max_op_ms=%d errnos=%s"
              % (self.total_ops(), self.ops["writes"], self.ops["reads"], self.ops["renames"],
                 self.ops["locks"], self.ops["deletes"], self.bytes_w, self.bytes_r,
                 self.total_errors(), self.mismatches, self.max_ms, errnos), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--marker", default="")
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--max-kib", type=int, default=64)
    ap.add_argument("--pause", type=float, default=0.05)
    ap.add_argument("--progress")
    args = ap.parse_args()
    if args.max_kib < 4 or args.max_kib % 4 or args.files < 3 or len(args.marker) > BLOCK:
        ap.error("--max-kib must be a multiple of 4 (>= 4), --files >= 3")
    os.makedirs(args.dir, exist_ok=True)
    load = Load(args)
    while not os.path.exists(args.stop):
        load.step()
        time.sleep(args.pause)
    load.finish()
    load.summary()
    return 0 if load.total_errors() == 0 and load.mismatches == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
