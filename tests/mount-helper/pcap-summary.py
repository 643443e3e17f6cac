#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise an NFS packet capture: what crossed the wire in clear.

    pcap-summary.py [--port 2049] [--marker STRING] [--json] FILE.pcap

Reads a libpcap file (Ethernet, IPv4/IPv6, TCP), reassembles every TCP
stream to or from PORT by sequence number and walks it record by record:
RPC record marks (RFC 5531 section 11) while the stream is in clear, TLS
records (RFC 8446 section 5.1) once a ClientHello or ServerHello starts.
Per connection (both directions, in the order the connections appear) it prints the bytes carried, the RPC
records sent in clear, the TLS records by content type (ccs:
change_cipher_spec, data: application_data), and how often MARKER occurs
in the reassembled bytes.

The last line is a total:
    total: tls_connections N plain_connections N marker_in_tls N
           marker_in_plain N clear_calls_not_null N gaps N
clear_calls_not_null counts RPC calls in clear whose procedure is not NULL
(the AUTH_TLS probe and mount.nfs's NULL ping of an NFSv3 server are NULL).
A "gap" is a hole in a reassembled stream (lost or truncated capture); the
counts of such a stream are a lower bound.
Exit status: 0, or 2 for a file that is not a readable capture.
"""
import argparse
import json
import struct
import sys

TLS_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake",
             23: "application_data"}


def frames(f):
    """Yield each Ethernet frame of the open libpcap file F, read as it
    goes (a capture is never held whole; tests/faults/pcap-scan.py uses
    this too)."""
    hdr = f.read(24)
    if len(hdr) < 24:
        raise ValueError("shorter than a pcap header")
    magic = hdr[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a libpcap file (magic %s)" % magic.hex())
    linktype = struct.unpack(endian + "I", hdr[20:24])[0]
    if linktype != 1:
        raise ValueError("link type %d, want 1 (Ethernet)" % linktype)
    rec = struct.Struct(endian + "IIII")
    while True:
        h = f.read(16)
        if len(h) < 16:
            return
        incl = rec.unpack(h)[2]
        frame = f.read(incl)
        if len(frame) < incl:
            return
        yield frame


def packets(path):
    """Yield (src, sport, dst, dport, seq, flags, payload) per TCP segment."""
    with open(path, "rb") as f:
        yield from tcp_segments(frames(f))


def tcp_segments(frames_iter):
    for frame in frames_iter:
        if len(frame) < 14:
            continue
        etype = struct.unpack(">H", frame[12:14])[0]
        ip = frame[14:]
        if etype == 0x0800 and len(ip) >= 20:
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 6:
                continue
            total = struct.unpack(">H", ip[2:4])[0]
            src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
            tcp = ip[ihl:total]
        elif etype == 0x86DD and len(ip) >= 40:
            if ip[6] != 6:
                continue
            plen = struct.unpack(">H", ip[4:6])[0]
            src, dst = v6(ip[8:24]), v6(ip[24:40])
            tcp = ip[40:40 + plen]
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        yield src, sport, dst, dport, seq, tcp[13], tcp[doff:]


def v6(b):
    words = struct.unpack(">8H", b)
    return ":".join("%x" % w for w in words)


# A hole wider than this in one direction's sequence space is not a lost
# stretch of the capture but a segment of another connection.
MAX_GAP = 64 << 20


def reassemble(segs, isn):
    """segs: [(seq, payload)]; isn: first data byte's seq or None."""
    if isn is None:
        isn = min(s for s, _ in segs)
    out = bytearray()
    gaps = 0
    for seq, payload in sorted(segs, key=lambda s: (s[0] - isn) & 0xFFFFFFFF):
        rel = (seq - isn) & 0xFFFFFFFF
        if rel > len(out) + MAX_GAP:
            # not this connection's data (a segment from before the
            # capture or the SYN): counted, not filled in
            gaps += 1
            continue
        if rel > len(out):
            gaps += 1
            out += b"\0" * (rel - len(out))
        if rel + len(payload) > len(out):
            out += payload[len(out) - rel:]
    return bytes(out), gaps


def walk(stream):
    """Split a reassembled stream into RPC-in-clear and TLS records."""
    res = {"rpc_clear": 0, "calls_not_null": 0, "tls": {}, "appdata_bytes": 0,
           "unparsed": 0}
    pos, in_tls = 0, False
    while pos < len(stream):
        if (pos + 5 <= len(stream) and stream[pos] in TLS_TYPES and
                stream[pos + 1] == 3 and stream[pos + 2] <= 4):
            n = struct.unpack(">H", stream[pos + 3:pos + 5])[0]
            name = TLS_TYPES[stream[pos]]
            res["tls"][name] = res["tls"].get(name, 0) + 1
            if stream[pos] == 23:
                res["appdata_bytes"] += n
            in_tls = True
            pos += 5 + n
        elif not in_tls and pos + 4 <= len(stream):
            n = struct.unpack(">I", stream[pos:pos + 4])[0] & 0x7FFFFFFF
            res["rpc_clear"] += 1
            body = stream[pos + 4:pos + 4 + n]
            # a CALL (msg_type 0) of any procedure but NULL (0)
            if len(body) >= 24 and struct.unpack(">I", body[4:8])[0] == 0 and \
                    struct.unpack(">I", body[20:24])[0] != 0:
                res["calls_not_null"] += 1
            pos += 4 + n
        else:
            res["unparsed"] = len(stream) - pos
            break
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=2049)
    ap.add_argument("--marker", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("pcap")
    a = ap.parse_args()
    # A flow is one direction of one connection: the 4-tuple and how many
    # SYNs it has seen (the kernel's RPC client reconnects from the same
    # port, so one 4-tuple can carry many connections, each with its own
    # sequence numbers).
    flows, isns, order, gen = {}, {}, {}, {}
    try:
        for src, sport, dst, dport, seq, flags, payload in packets(a.pcap):
            if a.port not in (sport, dport):
                continue
            tup = (src, sport, dst, dport)
            if flags & 0x02 and (seq + 1) & 0xFFFFFFFF != isns.get((tup, gen.get(tup, 0))):
                gen[tup] = gen.get(tup, -1) + 1     # a new connection's SYN (not a resend)
            g = gen.setdefault(tup, 0)
            key = (tup, g)
            client = ((src, sport) if dport == a.port else (dst, dport)) + (g,)
            order.setdefault(client, len(order))
            flows.setdefault(key, [])
            if flags & 0x02:            # SYN: data starts at seq + 1
                isns[key] = (seq + 1) & 0xFFFFFFFF
            if payload:
                flows[key].append((seq, payload))
    except (OSError, ValueError) as e:
        print("pcap-summary: %s: %s" % (a.pcap, e), file=sys.stderr)
        return 2

    marker = a.marker.encode()
    conns = {}
    for key, segs in flows.items():
        (src, sport, dst, dport), g = key
        client = ((src, sport) if dport == a.port else (dst, dport)) + (g,)
        c = conns.setdefault(client, {"tls": False, "dirs": {}})
        if not segs:
            continue
        stream, gaps = reassemble(segs, isns.get(key))
        r = walk(stream)
        r["bytes"] = len(stream)
        r["gaps"] = gaps
        r["marker"] = stream.count(marker) if marker else 0
        c["dirs"]["to-server" if dport == a.port else "to-client"] = r
        if r["tls"].get("handshake"):
            c["tls"] = True

    tot = {"tls_connections": 0, "plain_connections": 0, "marker_in_tls": 0,
           "marker_in_plain": 0, "clear_calls_not_null": 0, "gaps": 0}
    lines = []
    for (host, port, _), c in sorted(conns.items(), key=lambda kv: order[kv[0]]):
        kind = "tls" if c["tls"] else "plain"
        tot[kind + "_connections"] += 1
        rpc, recs, mark, nbytes, gaps = 0, {}, 0, 0, 0
        for r in c["dirs"].values():
            rpc += r["rpc_clear"]
            tot["clear_calls_not_null"] += r["calls_not_null"]
            mark += r["marker"]
            nbytes += r["bytes"]
            gaps += r["gaps"]
            for k, v in r["tls"].items():
                recs[k] = recs.get(k, 0) + v
        tot["marker_in_" + kind] += mark
        tot["gaps"] += gaps
        short = {"handshake": "handshake", "change_cipher_spec": "ccs",
                 "alert": "alert", "application_data": "data"}
        tls = ", ".join("%s %d" % (short[k], recs[k]) for k in
                        ("handshake", "change_cipher_spec", "alert",
                         "application_data") if k in recs)
        lines.append("%-5s %-15s %5.1f MiB  RPC records in clear %3d  TLS records %4d%s  marker %d%s" %
                     (kind, "%s:%d" % (host, port), nbytes / 1048576.0, rpc,
                      sum(recs.values()), " (%s)" % tls if tls else "", mark,
                      "  gaps %d" % gaps if gaps else ""))
    if a.json:
        print(json.dumps({"connections": lines, "total": tot}))
    else:
        for line in lines:
            print(line)
        print("total: " + " ".join("%s %d" % kv for kv in tot.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
