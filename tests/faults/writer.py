#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write a file of known content and log every step, for fault tests.

  writer.py --out FILE --size MIB [--chunk KIB] [--direct] [--seed N]
            [--marker STRING] [--progress FILE] [--lock FILE] [--verify]
            [--rate MIB_PER_S]

The content is pseudo-random from --seed, with --marker at the start of
every chunk (so that a packet capture can look for it in clear).  Each
completed write() appends "TIME BYTES" to --progress (TIME: seconds since
the epoch, float), so a test can tell when I/O stopped and resumed around
a fault.  --direct opens the file O_DIRECT: every write() is one round of
RPCs that returns only once the server has the data, so the progress log
follows the wire.  --lock FILE holds a POSIX write lock on FILE (created)
from start to end, so that a server restart has a lock to reclaim.
--rate paces the writes (the average since the start stays at or below
it), so that a copy is still running when a test injects its fault.
--verify reads the file back at the end (through the page cache unless
--direct) and compares.

The last line on stdout is "done bytes=N sha256=HEX seconds=S", or
"error errno=N (NAME: TEXT) op=OP offset=N after=S" with exit status 3
when the application saw an error: the errno it saw, where and when.
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


def chunks(args):
    rnd = random.Random(args.seed)
    marker = args.marker.encode()
    left = args.size << 20
    while left:
        n = min(left, args.chunk << 10)
        data = rnd.randbytes(n)
        if marker and n > len(marker):
            data = marker + data[len(marker):]
        left -= n
        yield data


def fail(op, e, offset, t0):
    name = errno.errorcode.get(e.errno, "?")
    print("error errno=%d (%s: %s) op=%s offset=%d after=%.3f"
          % (e.errno, name, e.strerror, op, offset, time.time() - t0), flush=True)
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, required=True, help="MiB")
    ap.add_argument("--chunk", type=int, default=256, help="KiB per write (default 256)")
    ap.add_argument("--direct", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--marker", default="")
    ap.add_argument("--progress")
    ap.add_argument("--lock")
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--rate", type=float, default=0, help="MiB/s at most (default: no limit)")
    args = ap.parse_args()
    if args.size <= 0 or args.chunk <= 0 or args.rate < 0 or (args.direct and args.chunk % 4):
        ap.error("--size and --chunk must be positive (--chunk a multiple of 4 KiB "
                 "with --direct)")

    t0 = time.time()
    # paced by the monotonic clock: a test that moves the wall clock (a
    # certificate's expiry) must not turn the pacing into a burst
    m0 = time.monotonic()
    prog = open(args.progress, "a", buffering=1) if args.progress else None
    lockfd = None
    if args.lock:
        try:
            lockfd = os.open(args.lock, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.lockf(lockfd, fcntl.LOCK_EX)
        except OSError as e:
            fail("lock", e, 0, t0)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    if args.direct:
        flags |= os.O_DIRECT
    try:
        fd = os.open(args.out, flags, 0o644)
    except OSError as e:
        fail("open", e, 0, t0)
    buf = mmap.mmap(-1, args.chunk << 10)       # page aligned, for O_DIRECT
    h = hashlib.sha256()
    off = 0
    for data in chunks(args):
        h.update(data)
        buf[:len(data)] = data
        view = memoryview(buf)[:len(data)]
        done = 0
        while done < len(data):
            try:
                n = os.write(fd, view[done:])
            except OSError as e:
                fail("write", e, off + done, t0)
            done += n
        view.release()
        off += len(data)
        if prog:
            prog.write("%.3f %d\n" % (time.time(), off))
        if args.rate > 0:
            ahead = off / (args.rate * (1 << 20)) - (time.monotonic() - m0)
            if ahead > 0:
                time.sleep(ahead)
    try:
        os.fsync(fd)
    except OSError as e:
        fail("fsync", e, off, t0)
    try:
        os.close(fd)
    except OSError as e:
        fail("close", e, off, t0)
    if args.verify:
        v = hashlib.sha256()
        try:
            with open(args.out, "rb", buffering=0) as f:
                while True:
                    d = f.read(1 << 20)
                    if not d:
                        break
                    v.update(d)
        except OSError as e:
            fail("read", e, 0, t0)
        if v.hexdigest() != h.hexdigest():
            print("error errno=0 (EBADMSG: read back differs: %s) op=verify offset=0 after=%.3f"
                  % (v.hexdigest(), time.time() - t0), flush=True)
            sys.exit(3)
    if lockfd is not None:
        try:
            fcntl.lockf(lockfd, fcntl.LOCK_UN)
            os.close(lockfd)
        except OSError as e:
            fail("unlock", e, off, t0)
    print("done bytes=%d sha256=%s seconds=%.3f" % (off, h.hexdigest(), time.time() - t0),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
