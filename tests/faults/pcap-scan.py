#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Scan packet captures for cleartext, packet by packet, in constant memory.

  pcap-scan.py --marker STRING FILE.pcap...

For long captures (the soak's, hundreds of MiB in rotated files) where
tests/mount-helper/pcap-summary.py, which reassembles every stream in
memory, cannot go.  Each TCP segment's payload (Ethernet, IPv4 or IPv6)
is searched for MARKER, and a payload that starts with an RPC record mark
and a CALL header (RPC version 2) of the NFS, MOUNT, NLM, NFSACL or NSM
program with a procedure other than NULL counts as a call in clear.  A
marker split across two segments is not seen; a writer that puts the
marker in every 4 KiB block (tests/faults/soak-load.py) puts thousands
of them on the wire, so cleartext data cannot go unseen.

Prints one line:
  scan: files N packets N payload_bytes N marker_in_clear N clear_calls_not_null N
Exit status: 0, or 2 for a file that is not a readable capture.
"""
import argparse
import importlib.util
import os
import struct
import sys

# the capture reader of tests/mount-helper/pcap-summary.py, shared
_spec = importlib.util.spec_from_file_location(
    "pcap_summary", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "..", "mount-helper", "pcap-summary.py"))
SUMMARY = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SUMMARY)

RPC_PROGS = {100003, 100005, 100021, 100227, 100024}


def scan(path, marker, tot):
    with open(path, "rb") as f:
        for pkt in SUMMARY.frames(f):
            tot["packets"] += 1
            payload = tcp_payload(pkt)
            if not payload:
                continue
            tot["payload_bytes"] += len(payload)
            tot["marker_in_clear"] += payload.count(marker)
            if clear_call(payload):
                tot["clear_calls_not_null"] += 1


def tcp_payload(pkt):
    if len(pkt) < 14:
        return b""
    eth = struct.unpack("!H", pkt[12:14])[0]
    ip = pkt[14:]
    if eth == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if ip[9] != 6:
            return b""
        seg = ip[ihl:total]
    elif eth == 0x86DD and len(ip) >= 40:
        if ip[6] != 6:
            return b""
        seg = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
    else:
        return b""
    if len(seg) < 20:
        return b""
    return seg[(seg[12] >> 4) * 4:]


def clear_call(p):
    if len(p) < 28:
        return False
    mark, _, mtype, rpcvers, prog, _, proc = struct.unpack("!7I", p[:28])
    return (mark & 0x80000000 and mtype == 0 and rpcvers == 2 and prog in RPC_PROGS
            and proc != 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--marker", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    tot = dict.fromkeys(("packets", "payload_bytes", "marker_in_clear",
                         "clear_calls_not_null"), 0)
    try:
        for path in args.files:
            scan(path, args.marker.encode(), tot)
    except (OSError, ValueError) as e:
        print("pcap-scan: %s" % e, file=sys.stderr)
        return 2
    print("scan: files %d %s" % (len(args.files), " ".join("%s %d" % kv for kv in tot.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
