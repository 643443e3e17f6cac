#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Command agent of a VM of the interop pair (tests/pair/lib.sh).

Runs as the last step of each VM's start-up, on a virtio-serial port named
"rpctls.ctl" that qemu exposes on the host as a unix socket.  The host sends
one JSON object per line and gets one back:

  {"op": "ping"}                       -> {"rc": 0, "out": HOSTNAME}
  {"op": "run", "cmd": S, "timeout": N} -> {"rc": RC, "out": OUTPUT}
  {"op": "exit", "rc": N}              -> {"rc": 0, "out": ""}, then exit N

"run" starts `bash -c S` in the checkout with stdout and stderr going to a
file, not a pipe, so daemons the command leaves in the background cannot
hold the reply back; past N seconds the command's process group is killed
and RC is 124.  Works with the Python of Debian 12 and of Debian 13.
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

PORT_NAME = "rpctls.ctl"
MAX_OUT = 4 << 20


def find_port():
    base = "/sys/class/virtio-ports"
    for _ in range(300):
        if os.path.isdir(base):
            for p in sorted(os.listdir(base)):
                try:
                    with open(os.path.join(base, p, "name")) as f:
                        if f.read().strip() == PORT_NAME:
                            return "/dev/" + p
                except OSError:
                    pass
        time.sleep(0.1)
    raise SystemExit("agent: no virtio port named %s" % PORT_NAME)


def run(cmd, timeout, cwd):
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(["bash", "-c", cmd], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                cwd=cwd, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            note = b""
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = 124
            note = b"\nagent: command killed after %d s\n" % timeout
        out.seek(0)
        data = out.read(MAX_OUT) + note
    return rc, data.decode("utf-8", "replace")


def main():
    cwd = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    fd = os.open(find_port(), os.O_RDWR | os.O_NONBLOCK)
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    buf = b""
    sys.stderr.write("agent: ready on %s\n" % PORT_NAME)
    sys.stderr.flush()
    while True:
        ev = poll.poll(1000)
        if not ev:
            continue
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            chunk = None
        if not chunk:
            # The host side is not connected: wait for it.
            time.sleep(0.05)
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            exit_rc = None
            try:
                req = json.loads(line)
                op = req.get("op")
                if op == "ping":
                    rc, out = 0, socket.gethostname()
                elif op == "run":
                    rc, out = run(req["cmd"], int(req.get("timeout", 600)), cwd)
                elif op == "exit":
                    rc, out, exit_rc = 0, "", int(req.get("rc", 0))
                else:
                    rc, out = 2, "agent: unknown op %r\n" % op
            except (ValueError, KeyError, TypeError) as e:
                rc, out = 2, "agent: bad request: %s\n" % e
            reply = (json.dumps({"rc": rc, "out": out}) + "\n").encode()
            while reply:
                try:
                    n = os.write(fd, reply)
                    reply = reply[n:]
                except BlockingIOError:
                    select.select([], [fd], [], 1)
            if exit_rc is not None:
                return exit_rc


if __name__ == "__main__":
    sys.exit(main())
