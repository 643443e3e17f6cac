#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of a pair VM's command agent (tests/pair/agent.py).

  ctl.py [--wait SECONDS] SOCKET ping
  ctl.py [--timeout SECONDS] SOCKET run -- CMD
  ctl.py SOCKET exit [RC]

"run" prints the command's output and exits with its status; "ping --wait"
retries until the agent answers or the time is up (exit 1).
"""
import argparse
import json
import socket
import sys
import time


def request(path, req, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("agent closed the channel")
            buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("op", choices=["ping", "run", "exit"])
    ap.add_argument("--wait", type=float, default=0)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()

    if a.op == "ping":
        deadline = time.monotonic() + a.wait
        while True:
            try:
                r = request(a.socket, {"op": "ping"}, 5)
                print(r["out"])
                return 0
            except (OSError, ConnectionError, ValueError):
                if time.monotonic() >= deadline:
                    return 1
                time.sleep(0.5)
    if a.op == "exit":
        rc = int(a.args[0]) if a.args else 0
        try:
            request(a.socket, {"op": "exit", "rc": rc}, 10)
        except (OSError, ConnectionError, ValueError) as e:
            print("ctl: exit: %s" % e, file=sys.stderr)
            return 1
        return 0
    cmd = " ".join(a.args)
    try:
        # The agent kills the command at --timeout; allow for its reply.
        r = request(a.socket, {"op": "run", "cmd": cmd, "timeout": a.timeout},
                    a.timeout + 30)
    except (OSError, ConnectionError, ValueError) as e:
        print("ctl: no reply from the VM's agent (%s): %s" % (a.socket, e),
              file=sys.stderr)
        return 125
    sys.stdout.write(r["out"])
    sys.stdout.flush()
    return r["rc"]


if __name__ == "__main__":
    sys.exit(main())
