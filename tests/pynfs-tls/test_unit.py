#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests for tests/pynfs-tls, printed as TAP lines for tests/check.

  python3 tests/pynfs-tls/test_unit.py [-v] [unit|e2e]

unit: XDR, RPC call/reply encoding, record marking, the AUTH_TLS probe and
      NFS encodings, byte for byte.
e2e:  the conformance suite (testserver.py) against the scriptable peer
      (peer.py) over loopback, in the peer's well-behaved mode and in each
      misbehaving mode, with certificates made at run time by openssl in a
      temporary directory.  The peer's backend is a tiny RPC responder in
      this process (the host has no nfsd).
"""

import glob
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import certs  # noqa: E402
import nfs  # noqa: E402
import rpc  # noqa: E402
import tlsio  # noqa: E402

VERBOSE = "-v" in sys.argv


# ---------------------------------------------------------------------------
# Unit tests

class XDRTest(unittest.TestCase):
    def test_primitives_round_trip(self):
        p = rpc.Packer()
        p.pack_uint(0xDEADBEEF)
        p.pack_int(-2)
        p.pack_bool(True)
        p.pack_uhyper(1 << 40)
        p.pack_opaque(b"abcde")
        p.pack_string("xy")
        p.pack_fopaque(3, b"\1\2\3")
        p.pack_array([1, 2], p.pack_uint)
        buf = p.get_buffer()
        self.assertEqual(len(buf) % 4, 0)
        u = rpc.Unpacker(buf)
        self.assertEqual(u.unpack_uint(), 0xDEADBEEF)
        self.assertEqual(u.unpack_int(), -2)
        self.assertTrue(u.unpack_bool())
        self.assertEqual(u.unpack_uhyper(), 1 << 40)
        self.assertEqual(u.unpack_opaque(), b"abcde")
        self.assertEqual(u.unpack_string(), b"xy")
        self.assertEqual(u.unpack_fopaque(3), b"\1\2\3")
        self.assertEqual(u.unpack_array(u.unpack_uint), [1, 2])
        u.done()

    def test_opaque_padding_bytes(self):
        p = rpc.Packer()
        p.pack_opaque(b"abcde")
        self.assertEqual(p.get_buffer(), b"\0\0\0\5abcde\0\0\0")

    def test_truncated_opaque_is_an_error(self):
        with self.assertRaisesRegex(rpc.XDRError, "truncated"):
            rpc.Unpacker(b"\0\0\0\x08abcd").unpack_opaque()

    def test_nonzero_padding_is_an_error(self):
        with self.assertRaisesRegex(rpc.XDRError, "padding"):
            rpc.Unpacker(b"\0\0\0\1a\1\0\0").unpack_opaque()
        lax = rpc.Unpacker(b"\0\0\0\1a\1\0\0", strict_padding=False)
        self.assertEqual(lax.unpack_opaque(), b"a")

    def test_limits(self):
        with self.assertRaises(rpc.XDRError):
            rpc.Packer().pack_uint(-1)
        with self.assertRaises(rpc.XDRError):
            rpc.Packer().pack_opaque(b"x" * 401, rpc.MAX_AUTH_BYTES)
        with self.assertRaisesRegex(rpc.XDRError, "exceeds"):
            rpc.Unpacker(b"\0\0\1\x91").unpack_opaque(rpc.MAX_AUTH_BYTES)
        with self.assertRaisesRegex(rpc.XDRError, "cannot fit"):
            rpc.Unpacker(b"\x7f\0\0\0").unpack_array(lambda: 0)

    def test_trailing_bytes_detected(self):
        u = rpc.Unpacker(b"\0\0\0\1\0")
        u.unpack_uint()
        with self.assertRaisesRegex(rpc.XDRError, "unexpected"):
            u.done()


class RPCTest(unittest.TestCase):
    def test_probe_bytes(self):
        # RFC 9289 4.1: NULL, cred AUTH_TLS with empty body, verf AUTH_NONE empty.
        want = struct.pack(">10I", 0x1234, 0, 2, 100003, 4, 0, 7, 0, 0, 0)
        self.assertEqual(rpc.encode_probe(0x1234, 100003, 4), want)
        call = rpc.decode_call(want)
        self.assertTrue(rpc.is_probe(call))
        self.assertEqual(call.cred, rpc.TLS_CRED)
        self.assertEqual(call.args, b"")

    def test_non_null_with_auth_tls_is_not_a_probe(self):
        call = rpc.decode_call(rpc.encode_call(1, 100003, 4, 1, b"", rpc.TLS_CRED))
        self.assertFalse(rpc.is_probe(call))

    def test_starttls_reply_bytes(self):
        want = struct.pack(">6I", 9, 1, 0, 0, 8, 0)
        want = want[:20] + b"STARTTLS" + struct.pack(">I", 0)
        got = rpc.encode_probe_reply(9)
        self.assertEqual(got, want)
        r = rpc.decode_reply(got)
        self.assertEqual(rpc.probe_verdict(r)[0], "starttls")
        self.assertEqual(r.results, b"")

    def test_probe_verdicts(self):
        no_tls = rpc.decode_reply(rpc.encode_probe_reply(1, starttls=False))
        self.assertEqual(rpc.probe_verdict(no_tls)[0], "no-tls")
        denied = rpc.decode_reply(rpc.encode_reply_denied(1, rpc.AUTH_ERROR, rpc.AUTH_BADCRED))
        self.assertEqual(rpc.probe_verdict(denied)[0], "no-tls")
        for verf in (rpc.OpaqueAuth(rpc.AUTH_NONE, b"STARTSSL"),
                     rpc.OpaqueAuth(rpc.AUTH_SYS, b"STARTTLS"),
                     rpc.OpaqueAuth(rpc.AUTH_NONE, b"STARTTLS\0\0\0\0")):
            r = rpc.decode_reply(rpc.encode_reply_accepted(1, rpc.SUCCESS, b"", verf))
            self.assertEqual(rpc.probe_verdict(r)[0], "malformed", verf)
        # STARTTLS with accept_stat other than SUCCESS still means "start TLS".
        r = rpc.decode_reply(rpc.encode_reply_accepted(1, rpc.PROG_MISMATCH, b"",
                                                       rpc.STARTTLS_VERF, (2, 3)))
        self.assertEqual(rpc.probe_verdict(r)[0], "starttls")
        self.assertEqual(r.mismatch, (2, 3))

    def test_denied_reply(self):
        r = rpc.decode_reply(rpc.encode_reply_denied(5, rpc.AUTH_ERROR, rpc.AUTH_BADCRED))
        self.assertEqual((r.reply_stat, r.reject_stat, r.auth_stat),
                         (rpc.MSG_DENIED, rpc.AUTH_ERROR, rpc.AUTH_BADCRED))
        self.assertIn("AUTH_BADCRED", r.describe())
        r = rpc.decode_reply(rpc.encode_reply_denied(5, rpc.RPC_MISMATCH))
        self.assertEqual(r.mismatch, (2, 2))

    def test_auth_sys(self):
        a = rpc.auth_sys(uid=1000, gid=100, gids=[4, 5], machine="m", stamp=7)
        self.assertEqual(a.flavor, rpc.AUTH_SYS)
        self.assertEqual(a.body, struct.pack(">II", 7, 1) + b"m\0\0\0" +
                         struct.pack(">5I", 1000, 100, 2, 4, 5))

    def test_malformed_messages(self):
        with self.assertRaisesRegex(rpc.RPCError, "not REPLY"):
            rpc.decode_reply(rpc.encode_probe(1, 1, 1))
        with self.assertRaisesRegex(rpc.RPCError, "not CALL"):
            rpc.decode_call(rpc.encode_probe_reply(1))
        with self.assertRaises(rpc.RPCError):
            rpc.decode_reply(b"\0\0\0\1\0\0\0\1\0\0\0\7")
        with self.assertRaisesRegex(rpc.RPCError, "unexpected"):
            rpc.decode_reply(rpc.encode_reply_denied(1) + b"\0\0\0\0")
        with self.assertRaisesRegex(rpc.RPCError, "too short"):
            rpc.msg_type(b"\0\0")


class RecordTest(unittest.TestCase):
    def test_single_fragment(self):
        self.assertEqual(rpc.frame(b"abcd"), b"\x80\0\0\4abcd")

    def test_multi_fragment_and_last_bit(self):
        data = rpc.frame(b"abcdefgh", [0, 3, 5])
        self.assertEqual(data, b"\0\0\0\0" + b"\0\0\0\3abc" + b"\x80\0\0\5defgh")
        r = rpc.RecordReader()
        r.feed(data)
        self.assertEqual(r.next_record(), b"abcdefgh")
        self.assertIsNone(r.next_record())
        self.assertEqual(r.fragments_seen, 3)

    def test_sizes_must_add_up(self):
        with self.assertRaises(rpc.RecordError):
            rpc.frame(b"abc", [1, 1])

    def test_byte_at_a_time_and_several_records(self):
        stream = rpc.frame(b"one!", [2, 2]) + rpc.frame(b"") + rpc.frame(b"three...")
        r = rpc.RecordReader()
        got = []
        for i in range(len(stream)):
            r.feed(stream[i:i + 1])
            while True:
                rec = r.next_record()
                if rec is None:
                    break
                got.append(rec)
        self.assertEqual(got, [b"one!", b"", b"three..."])
        self.assertEqual(r.pending(), 0)

    def test_oversized_record_rejected(self):
        r = rpc.RecordReader(max_record=1024)
        with self.assertRaisesRegex(rpc.RecordError, "more than 1024"):
            r.feed(struct.pack(">I", 0x80000000 | 2048))
        # A TLS ClientHello read as record marking is a huge fragment.
        with self.assertRaises(rpc.RecordError):
            rpc.RecordReader().feed(b"\x16\x03\x01\x02\x00")

    def test_reply_before_garbage_is_kept(self):
        # A reply and, in the same read, a TLS alert (the agent's answer to
        # bytes it could not take for a ClientHello): the reply first.
        r = rpc.RecordReader()
        r.feed(rpc.frame(b"reply...") + b"\x15\x03\x03\x00\x02\x02\x32")
        self.assertEqual(r.next_record(), b"reply...")
        with self.assertRaisesRegex(rpc.RecordError, "0x15030300"):
            r.next_record()
        with self.assertRaises(rpc.RecordError):
            r.feed(b"more")

    def test_take_buffer_keeps_the_tls_bytes(self):
        r = rpc.RecordReader()
        r.feed(rpc.frame(b"prob") + b"\x16\x03")
        self.assertEqual(r.next_record(), b"prob")
        self.assertEqual(r.take_buffer(), b"\x16\x03")
        self.assertEqual(r.pending(), 0)


class NFSTest(unittest.TestCase):
    def test_compound_bytes(self):
        ops = [nfs.putrootfh(), nfs.lookup("srv"), nfs.getattr4([1, 33])]
        got = nfs.encode_compound(ops, tag="t", minorversion=0)
        want = (b"\0\0\0\1t\0\0\0" + struct.pack(">II", 0, 3) + struct.pack(">I", 24) +
                struct.pack(">II", 15, 3) + b"srv\0" +
                struct.pack(">IIII", 9, 2, 1 << 1, 1 << 1))
        self.assertEqual(got, want)

    def test_bitmap(self):
        self.assertEqual(nfs.bitmap([1, 8, 33]), [(1 << 1) | (1 << 8), 1 << 1])
        self.assertEqual(nfs.bitmap_attrs([(1 << 1) | (1 << 8), 1 << 1]), [1, 8, 33])

    def test_decode_compound(self):
        p = rpc.Packer()
        p.pack_uint(0)
        p.pack_string("t")
        p.pack_uint(3)
        p.pack_uint(nfs.OP_PUTROOTFH)
        p.pack_uint(0)
        p.pack_uint(nfs.OP_GETFH)
        p.pack_uint(0)
        p.pack_opaque(b"\1" * 12)
        p.pack_uint(nfs.OP_GETATTR)
        p.pack_uint(0)
        p.pack_array(nfs.bitmap([nfs.FATTR4_TYPE, nfs.FATTR4_FSID]), p.pack_uint)
        p.pack_opaque(struct.pack(">IQQ", nfs.NF4DIR, 5, 6))
        res = nfs.decode_compound(p.get_buffer())
        self.assertEqual(res.status, nfs.NFS4_OK)
        self.assertEqual(res.resok(nfs.OP_GETFH), b"\1" * 12)
        self.assertEqual(res.resok(nfs.OP_GETATTR),
                         {nfs.FATTR4_TYPE: nfs.NF4DIR, nfs.FATTR4_FSID: (5, 6)})

    def test_decode_compound_stops_at_error(self):
        p = rpc.Packer()
        for v in (nfs.NFS4ERR_WRONGSEC,):
            p.pack_uint(v)
        p.pack_string("")
        p.pack_uint(2)
        p.pack_uint(nfs.OP_PUTROOTFH)
        p.pack_uint(0)
        p.pack_uint(nfs.OP_LOOKUP)
        p.pack_uint(nfs.NFS4ERR_WRONGSEC)
        res = nfs.decode_compound(p.get_buffer())
        self.assertEqual(res.failed_op(), nfs.OP_LOOKUP)
        self.assertIn("NFS4ERR_WRONGSEC", res.describe())

    def test_open_encode_and_decode(self):
        op = nfs.open_create(0, 0x1122334455667788, b"ow", "f", mode=0o600)
        self.assertEqual(op.num, nfs.OP_OPEN)
        self.assertEqual(op.args, struct.pack(">IIIQ", 0, 3, 0, 0x1122334455667788) +
                         b"\0\0\0\2ow\0\0" + struct.pack(">IIIIIII", 1, 0, 2, 0, 2, 4, 0o600) +
                         struct.pack(">II", 0, 1) + b"f\0\0\0")
        p = rpc.Packer()
        p.pack_uint(0)
        p.pack_string("")
        p.pack_uint(1)
        p.pack_uint(nfs.OP_OPEN)
        p.pack_uint(0)
        p.pack_uint(1)
        p.pack_fopaque(12, b"S" * 12)                   # stateid
        p.pack_raw(struct.pack(">IQQ", 1, 10, 11))      # change_info4
        p.pack_uint(2)                                  # rflags: CONFIRM
        p.pack_array([0, 2], p.pack_uint)               # attrset
        p.pack_uint(0)                                  # OPEN_DELEGATE_NONE
        res = nfs.decode_compound(p.get_buffer()).resok(nfs.OP_OPEN)
        self.assertEqual(res["stateid"], (1, b"S" * 12))
        self.assertEqual(res["cinfo"], (True, 10, 11))
        self.assertEqual(res["rflags"], 2)

    def test_setclientid_and_io_ops(self):
        op = nfs.setclientid(b"V" * 8, b"id")
        self.assertEqual(op.args, b"V" * 8 + b"\0\0\0\2id\0\0" +
                         struct.pack(">I", 0x40000000) + b"\0\0\0\3tcp\0" +
                         b"\0\0\0\x0b0.0.0.0.0.0\0" + struct.pack(">I", 1))
        sid = (3, b"x" * 12)
        self.assertEqual(nfs.write(sid, 8, b"abc").args, struct.pack(">I", 3) + b"x" * 12 +
                         struct.pack(">QII", 8, 2, 3) + b"abc\0")
        self.assertEqual(nfs.close(4, sid).args, struct.pack(">II", 4, 3) + b"x" * 12)

    def test_v41_session_ops(self):
        self.assertEqual(nfs.exchange_id(b"v" * 8, b"me").args,
                         b"v" * 8 + b"\0\0\0\2me\0\0" + struct.pack(">III", 0x10000, 0, 0))
        cs = nfs.create_session(7, 1).args
        self.assertEqual(cs[:16], struct.pack(">QII", 7, 1, 2))
        self.assertEqual(len(cs), 16 + 2 * 28 + 12)
        self.assertEqual(cs[-12:], struct.pack(">III", nfs.CB_PROGRAM, 1, rpc.AUTH_NONE))
        self.assertEqual(nfs.sequence(b"s" * 16, 5).args,
                         b"s" * 16 + struct.pack(">IIII", 5, 0, 0, 0))
        p = rpc.Packer()
        p.pack_uint(0)
        p.pack_string("")
        p.pack_uint(1)
        p.pack_uint(nfs.OP_CREATE_SESSION)
        p.pack_uint(0)
        p.pack_fopaque(16, b"S" * 16)
        p.pack_raw(struct.pack(">II", 1, 2))
        for _ in range(2):
            p.pack_raw(struct.pack(">6I", 0, 1, 2, 3, 4, 5))
            p.pack_array([], p.pack_uint)
        res = nfs.decode_compound(p.get_buffer()).resok(nfs.OP_CREATE_SESSION)
        self.assertEqual((res["sessionid"], res["flags"]), (b"S" * 16, 2))
        self.assertEqual(res["back"], [0, 1, 2, 3, 4, 5, []])

    def test_mnt_and_getport(self):
        p = rpc.Packer()
        p.pack_uint(0)
        p.pack_opaque(b"fh")
        p.pack_array([1, 390003], p.pack_int)
        self.assertEqual(nfs.decode_mnt(p.get_buffer()), (0, b"fh", [1, 390003]))
        self.assertEqual(nfs.decode_mnt(b"\0\0\0\x0d"), (13, None, []))
        self.assertEqual(nfs.decode_getport(b"\0\0\x4e\x2b"), 20011)
        call = rpc.decode_call(nfs.getport_call(3, nfs.MOUNT_PROGRAM, 3))
        self.assertEqual(call.args, struct.pack(">4I", 100005, 3, 6, 0))


class HostPortTest(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(tlsio.parse_hostport("h"), ("h", 2049))
        self.assertEqual(tlsio.parse_hostport("h:1"), ("h", 1))
        self.assertEqual(tlsio.parse_hostport("[fd00::1]:20"), ("fd00::1", 20))
        self.assertEqual(tlsio.parse_hostport("fd00::1"), ("fd00::1", 2049))
        for bad in ("h:x", "[::1", ":1", "h:99999"):
            with self.assertRaises(ValueError, msg=bad):
                tlsio.parse_hostport(bad)


class TAPResult(unittest.TextTestResult):
    def addSuccess(self, t):
        print("ok - unit %s" % t.id().split(".", 1)[1])

    def addFailure(self, t, err):
        super().addFailure(t, err)
        print("not ok - unit %s: %s" % (t.id().split(".", 1)[1], err[1]))

    addError = addFailure

    def addSkip(self, t, reason):
        print("ok - unit %s # SKIP %s" % (t.id().split(".", 1)[1], reason))


def run_unit():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(stream=open(os.devnull, "w"), resultclass=TAPResult,
                                  verbosity=0).run(suite)
    for t, tb in res.failures + res.errors:
        print("# %s\n# %s" % (t.id(), tb.replace("\n", "\n# ")))
    return len(res.failures) + len(res.errors)


# ---------------------------------------------------------------------------
# End to end: testserver.py against peer.py

class FakeBackend:
    """Answers NULL with SUCCESS and everything else with PROC_UNAVAIL."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.calls = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(s,), daemon=True).start()

    def _conn(self, s):
        r = rpc.RecordReader()
        with s:
            while True:
                try:
                    d = s.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                r.feed(d)
                while True:
                    m = r.next_record()
                    if m is None:
                        break
                    c = rpc.decode_call(m)
                    self.calls += 1
                    st = rpc.SUCCESS if c.proc == 0 else rpc.PROC_UNAVAIL
                    s.sendall(rpc.frame(rpc.encode_reply_accepted(c.xid, st)))


class E2E:
    def __init__(self, tmp):
        self.tmp = tmp
        self.pki = certs.CertDir(os.path.join(tmp, "pki"))
        self.pki.make_all(("localhost",), ("127.0.0.1",))
        self.backend = FakeBackend()
        self.failed = 0
        self.n = 0

    def peer(self, mode="normal", cert="server", extra=()):
        self.n += 1
        pf = os.path.join(self.tmp, "port%d" % self.n)
        log = os.path.join(self.tmp, "peer%d.log" % self.n)
        args = [sys.executable, os.path.join(HERE, "peer.py"), "--backend",
                "127.0.0.1:%d" % self.backend.port, "--cert", self.pki.path(cert + ".pem"),
                "--key", self.pki.path(cert + ".key"), "--mode", mode, "--port-file", pf,
                "--timeout", "5"] + list(extra)
        out = open(log, "w")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(pf):
            if p.poll() is not None or time.monotonic() > deadline:
                p.kill()
                raise RuntimeError("peer.py did not start: %s" % open(log).read())
            time.sleep(0.05)
        p.port = int(open(pf).read())
        p.log = log
        return p

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            return None, open(p.log).read()
        return rc, open(p.log).read()

    def suite(self, port, tests, extra=(), tls_client=True, host="127.0.0.1"):
        js = os.path.join(self.tmp, "report%d.json" % self.n)
        args = [sys.executable, os.path.join(HERE, "testserver.py"), "%s:%d" % (host, port),
                "--json", js, "--timeout", "5", "--no-reserved-port"]
        if tls_client:
            args += ["--ca", self.pki.ca, "--server-name", "localhost"]
        p = subprocess.run(args + list(extra) + list(tests), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        st = {}
        if os.path.exists(js):
            with open(js) as f:
                st = {t["code"]: (t["status"], t["reason"]) for t in json.load(f)["tests"]}
            os.unlink(js)
        if VERBOSE:
            print("# " + p.stdout.replace("\n", "\n# "))
        return p.returncode, st, p.stdout

    def check(self, name, cond, why, output=""):
        if cond:
            print("ok - e2e %s" % name)
        else:
            self.failed += 1
            print("not ok - e2e %s: %s" % (name, why))
            for line in output.splitlines()[-30:]:
                print("#   " + line)

    def expect(self, name, mode, tests, want, rc_want, peer_extra=(), suite_extra=(),
               cert="server", log_has=()):
        """Run the suite against a peer in mode; compare statuses and log."""
        p = self.peer(mode, cert, peer_extra)
        try:
            rc, st, out = self.suite(p.port, tests, suite_extra)
        finally:
            prc, log = self.stop(p)
        bad = ["%s=%s (want %s)" % (c, st.get(c, ("missing",))[0], w)
               for c, w in want.items() if st.get(c, ("missing",))[0] != w]
        if rc != rc_want:
            bad.append("testserver exit %s (want %d)" % (rc, rc_want))
        if prc != 0:
            bad.append("peer exit %s after SIGTERM (want 0)" % prc)
        bad += ["peer log lacks %r" % s for s in log_has if s not in log]
        self.check(name, not bad, "; ".join(bad), out + "\n--- peer log\n" + log)
        return st


def _python_with_psk():
    """A Python >= 3.13 (TLS PSK support): this one, or one installed by pyenv."""
    cands = [sys.executable] + sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.*/bin/python3")), reverse=True)
    for py in cands:
        try:
            p = subprocess.run([py, "-c", "import ssl; ssl.SSLContext.set_psk_client_callback"],
                               capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if p.returncode == 0:
            return py
    return None


def run_psk(e):
    py = _python_with_psk()
    if py is None:
        print("ok - e2e psk # SKIP no Python >= 3.13 (TLS PSK) on this host")
        return
    good, bad = "id1:" + "2b" * 32, "id1:" + "2c" * 32
    n = e.n = e.n + 1
    pf = os.path.join(e.tmp, "port%d" % n)
    log = os.path.join(e.tmp, "peer%d.log" % n)
    p = subprocess.Popen([py, os.path.join(HERE, "peer.py"), "--backend",
                          "127.0.0.1:%d" % e.backend.port, "--psk", good, "--port-file", pf],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(pf) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        port = open(pf).read().strip() if os.path.exists(pf) else "0"
        ts = [py, os.path.join(HERE, "testserver.py"), "127.0.0.1:" + port,
              "--no-reserved-port", "--timeout", "5"]
        r1 = subprocess.run(ts + ["--psk", good, "PSK1", "REC3"], capture_output=True,
                            text=True, timeout=120)
        r2 = subprocess.run(ts + ["--psk", bad, "TLS1"], capture_output=True, text=True,
                            timeout=120)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
    out = open(log).read()
    e.check("psk-session", r1.returncode == 0 and "PSK identity 'id1'" in out,
            "exit %d" % r1.returncode, r1.stdout + out)
    e.check("psk-wrong-key-refused", r2.returncode == 1 and "TLS1" in r2.stdout,
            "exit %d" % r2.returncode, r2.stdout)


def _tls_null(e, port):
    """Probe, TLS and one NULL call straight through tlsio: "ok" or the error."""
    c = tlsio.Conn.connect("127.0.0.1", port, 5)
    try:
        r = c.call(rpc.encode_probe(1, nfs.NFS_PROGRAM, 4))
        if rpc.probe_verdict(r)[0] != "starttls":
            return "no STARTTLS"
        c.start_tls(tlsio.client_context(cafile=e.pki.ca), server_hostname="localhost")
        r = c.call(rpc.encode_call(2, nfs.NFS_PROGRAM, 4, 0))
        return "ok" if r.accept_stat == rpc.SUCCESS else r.describe()
    except (tlsio.Closed, tlsio.HandshakeError) as err:
        return str(err)
    finally:
        c.close()


def _tls_post_handshake(e, port, calls=3):
    """Probe, TLS and NULL calls; returns (results, handshake messages read
    after the client's Finished) so a test sees KeyUpdate / NewSessionTicket."""
    c = tlsio.Conn.connect("127.0.0.1", port, 5)
    ctx = tlsio.client_context(cafile=e.pki.ca)
    seen = tlsio.watch_handshake(ctx)
    got = []
    try:
        c.call(rpc.encode_probe(1, nfs.NFS_PROGRAM, 4))
        c.start_tls(ctx, server_hostname="localhost")
        mark = len(seen or ())
        for i in range(calls):
            r = c.call(rpc.encode_call(2 + i, nfs.NFS_PROGRAM, 4, 0))
            got.append("ok" if r.accept_stat == rpc.SUCCESS else r.describe())
        if seen is None:
            return got, None
        return got, [m for d, m in seen[mark:] if d == "read"]
    except (tlsio.Closed, tlsio.HandshakeError) as err:
        return got + [str(err)], []
    finally:
        c.close()


def _have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def run_e2e():
    if not certs.have_openssl():
        print("ok - e2e # SKIP openssl command line tool not installed")
        return 0
    with tempfile.TemporaryDirectory(prefix="pynfs-tls-test.") as tmp:
        e = E2E(tmp)
        client = ["--cert", e.pki.path("client.pem"), "--key", e.pki.path("client.key")]
        mtls_peer = ["--client-ca", e.pki.ca]
        every = ["probe", "tls", "alpn", "record", "mtls"]

        st = e.expect("normal-mode-all-pass", "normal", every,
                      {c: "PASS" for c in ("PROBE1", "PROBE2", "PROBE3", "PROBE4", "TLS1",
                                           "TLS2", "TLS3", "TLS4", "TLS5", "ALPN1", "ALPN2",
                                           "ALPN3", "ALPN4", "RM1", "REC1", "REC2", "REC3",
                                           "REC4", "REC5", "MTLS1", "MTLS2", "MTLS3", "MTLS4",
                                           "MTLS5")} | {"PSK1": "SKIP"},
                      0, mtls_peer, client,
                      log_has=("probe: answered with STARTTLS", "client offered ALPN ['h2']",
                               "NO_APPLICATION_PROTOCOL", "client sent no ALPN extension",
                               "between the STARTTLS reply and the ClientHello",
                               "CERTIFICATE_VERIFY_FAILED", "client-close-notify",
                               "client certificate commonName=rpctls test client"))
        e.check("normal-mode-no-warnings", all(s != "WARN" for s, _ in st.values()),
                "warnings: %r" % {c: r for c, (s, r) in st.items() if s == "WARN"})

        e.expect("client-auth-required", "normal", ["MTLS2", "MTLS4"],
                 {"MTLS2": "PASS", "MTLS4": "PASS"}, 0,
                 mtls_peer + ["--client-auth", "required"],
                 client + ["--client-auth", "required"])
        e.expect("no-client-cert-given", "normal", ["MTLS4"], {"MTLS4": "SKIP"}, 0)
        e.expect("server-without-client-auth", "normal", ["MTLS1"], {"MTLS1": "FAIL"}, 1)

        e.expect("no-starttls", "no-starttls", ["probe", "TLS1", "REC1"],
                 {"PROBE1": "PASS", "PROBE2": "FAIL", "PROBE3": "PASS", "TLS1": "FAIL",
                  "REC1": "FAIL"}, 1,
                 log_has=("answered without STARTTLS",))
        st = e.expect("no-starttls-allowed", "no-starttls", ["probe", "TLS1", "REC1"],
                      {"PROBE1": "PASS", "PROBE2": "SKIP", "PROBE3": "PASS", "TLS1": "SKIP",
                       "REC1": "SKIP"}, 0, suite_extra=["--allow-no-tls"])
        e.check("no-starttls-skip-reason",
                st.get("REC1", ("", ""))[1].startswith("server does not offer STARTTLS "
                                                       "(server TLS not landed)"),
                "REC1 reason %r" % (st.get("REC1"),))
        e.expect("wrong-verifier", "wrong-verifier", ["PROBE1", "TLS1"],
                 {"PROBE1": "FAIL", "TLS1": "OMIT"}, 1, log_has=("STARTSSL",))
        st = e.expect("wrong-alpn", "wrong-alpn", ["TLS1"], {"TLS1": "FAIL"}, 1)
        e.check("wrong-alpn-reason", "BAD_EXTENSION" in st.get("TLS1", ("", ""))[1],
                "TLS1 reason %r" % (st.get("TLS1"),))
        e.expect("no-alpn", "no-alpn", ["TLS1", "ALPN1"], {"TLS1": "PASS", "ALPN1": "FAIL"}, 1)
        e.expect("tls12-only", "tls12-only", ["TLS1", "TLS2"],
                 {"TLS1": "FAIL", "TLS2": "OMIT"}, 1)
        e.expect("plaintext-after-handshake", "plaintext-after-handshake", ["REC1"],
                 {"TLS1": "PASS", "REC1": "FAIL"}, 1, log_has=("sent in cleartext",))
        st = e.expect("alert-midstream", "alert-midstream", ["REC1", "REC3"],
                      {"REC1": "PASS", "REC3": "FAIL"}, 1, peer_extra=["--after", "1"],
                      log_has=("alert-sent",))
        e.check("alert-midstream-reason", "BAD_RECORD_MAC" in st.get("REC3", ("", ""))[1],
                "REC3 reason %r" % (st.get("REC3"),))
        st = e.expect("close-notify-midstream", "close-notify-midstream", ["REC1", "REC3"],
                      {"REC1": "PASS", "REC3": "FAIL"}, 1, peer_extra=["--after", "1"])
        e.check("close-notify-midstream-reason",
                "close_notify" in st.get("REC3", ("", ""))[1],
                "REC3 reason %r" % (st.get("REC3"),))
        st = e.expect("stall-handshake", "stall-handshake", ["TLS1"], {"TLS1": "FAIL"}, 1,
                      log_has=("never answered", "client-gave-up"))
        e.check("stall-handshake-reason", "timeout" in st.get("TLS1", ("", ""))[1],
                "TLS1 reason %r" % (st.get("TLS1"),))
        st = e.expect("expired-cert", "normal", ["TLS1"], {"TLS1": "FAIL"}, 1,
                      cert="expired", log_has=("(EXPIRED)",))
        e.check("expired-cert-reason", "expired" in st.get("TLS1", ("", ""))[1],
                "TLS1 reason %r" % (st.get("TLS1"),))
        st = e.expect("wrong-name-cert", "normal", ["TLS1", "MTLS5"],
                      {"TLS1": "PASS", "MTLS5": "FAIL"}, 1, cert="wrongname")
        e.check("wrong-name-cert-reason", "mismatch" in st.get("MTLS5", ("", ""))[1].lower(),
                "MTLS5 reason %r" % (st.get("MTLS5"),))

        run_psk(e)

        # --misbehave-count: the first connection gets the alert, the next is served.
        p = e.peer("alert-midstream", extra=["--after", "0", "--misbehave-count", "1"])
        try:
            got = [_tls_null(e, p.port) for _ in range(2)]
        finally:
            prc, log = e.stop(p)
        e.check("misbehave-count", got[0].startswith("tls-error") and got[1] == "ok" and
                "mode alert-midstream" in log and "mode normal" in log,
                "results %r" % got, log)

        # Post-handshake messages mid-stream: an OpenSSL client takes them
        # and keeps reading replies (the kernel client cannot take new keys).
        for mode, msg, event in (("key-update-midstream", "KEY_UPDATE", "key-update-sent"),
                                 ("tickets-midstream", "NEWSESSION_TICKET", "tickets-sent")):
            p = e.peer(mode, extra=["--after", "1"])
            try:
                got, seen = _tls_post_handshake(e, p.port)
            finally:
                prc, log = e.stop(p)
            if seen is None:
                print("ok - e2e %s # SKIP this Python cannot observe handshake messages" % mode)
                continue
            want = 2 if mode == "tickets-midstream" else 1
            e.check(mode, got == ["ok"] * 3 and seen.count(msg) == want and event in log and
                    "2 calls after the" in log,
                    "results %r, handshake messages read %r" % (got, seen), log)

        if socket.has_ipv6 and _have_ipv6_loopback():
            p = e.peer("normal", extra=["--listen", "[::1]:0"])
            try:
                rc, st, out = e.suite(p.port, ["TLS1", "REC3"], tls_client=False,
                                      host="[::1]")
            finally:
                prc, log = e.stop(p)
            e.check("ipv6-loopback", rc == 0 and st.get("REC3", ("",))[0] == "PASS" and
                    "from ::1" in log, "exit %s, statuses %r" % (rc, st), out + log)
        else:
            print("ok - e2e ipv6-loopback # SKIP no IPv6 loopback on this host")

        # Bad input gets a clear error naming the cause.
        ts = [sys.executable, os.path.join(HERE, "testserver.py")]
        p = subprocess.run(ts + ["127.0.0.1:1", "NOSUCH"], capture_output=True, text=True)
        e.check("testserver-unknown-code", p.returncode == 2 and "'NOSUCH'" in p.stderr,
                "exit %d, stderr %r" % (p.returncode, p.stderr))
        p = subprocess.run(ts + ["127.0.0.1:1", "--psk", "id:zz"], capture_output=True,
                           text=True)
        e.check("testserver-bad-psk", p.returncode == 2 and "not hexadecimal" in p.stderr,
                "exit %d, stderr %r" % (p.returncode, p.stderr))
        p = subprocess.run(ts + ["--list"], capture_output=True, text=True)
        e.check("testserver-list", p.returncode == 0 and "PROBE1" in p.stdout and
                "RFC 9289 4.1" in p.stdout, "exit %d" % p.returncode)
        p = subprocess.run([sys.executable, os.path.join(HERE, "peer.py"), "--backend",
                            "127.0.0.1:1", "--cert", "/nonexistent.pem", "--key", "k"],
                           capture_output=True, text=True)
        e.check("peer-missing-cert", p.returncode == 2 and "/nonexistent.pem" in p.stderr,
                "exit %d, stderr %r" % (p.returncode, p.stderr))
        run_pynfs_shim(e, tmp)
        e.check("backend-saw-calls", e.backend.calls > 20,
                "the fake backend saw only %d calls" % e.backend.calls)
        return e.failed


# A stand-in for pynfs's nfs4.1/testserver.py: it checks the HOST:PORT/PATH
# argument it is given and makes one NULL call through it in cleartext.
FAKE_PYNFS = r'''
import socket, struct, sys
target = sys.argv[1]
hostport, _, path = target.partition("/")
host, port = hostport.rsplit(":", 1)
assert path == "export", path
s = socket.create_connection((host, int(port)), 10)
call = struct.pack(">10I", 77, 0, 2, 100003, 4, 0, 0, 0, 0, 0)
s.sendall(struct.pack(">I", 0x80000000 | len(call)) + call)
data = b""
while len(data) < 28:
    chunk = s.recv(100)
    if not chunk:
        sys.exit("connection closed")
    data += chunk
xid, mtype, stat = struct.unpack(">III", data[4:16])
print("fake pynfs: reply xid %d type %d stat %d, args %r" % (xid, mtype, stat, sys.argv[2:]))
sys.exit(0 if (xid, mtype, stat) == (77, 1, 0) and sys.argv[2:] == ["all"] else 1)
'''


def run_pynfs_shim(e, tmp):
    shim = [sys.executable, os.path.join(HERE, "pynfs_tls.py")]
    env = dict(os.environ)
    env.pop("PYNFS_DIR", None)
    p = subprocess.run(shim + ["127.0.0.1:1", "--tap"], capture_output=True, text=True,
                       env=env)
    e.check("pynfs-shim-skips-without-PYNFS_DIR",
            p.returncode == 0 and "ok - pynfs # SKIP PYNFS_DIR is not set" in p.stdout,
            "exit %d, stdout %r" % (p.returncode, p.stdout))
    fake = os.path.join(tmp, "pynfs")
    os.makedirs(os.path.join(fake, "nfs4.1"))
    with open(os.path.join(fake, "nfs4.1", "testserver.py"), "w") as f:
        f.write(FAKE_PYNFS)
    env["PYNFS_DIR"] = fake
    peer = e.peer("normal")
    try:
        p = subprocess.run(shim + ["127.0.0.1:%d" % peer.port, "--ca", e.pki.ca,
                                   "--server-name", "localhost", "--path", "/export", "--",
                                   "all"], capture_output=True, text=True, env=env,
                           timeout=60)
    finally:
        prc, log = e.stop(peer)
    e.check("pynfs-shim-runs-pynfs-over-tls",
            p.returncode == 0 and "reply xid 77 type 1 stat 0" in p.stdout and
            "relayed over TLSv1.3" in p.stderr and "tls-up" in log,
            "exit %d, output %r %r" % (p.returncode, p.stdout, p.stderr), log)


def main():
    which = [a for a in sys.argv[1:] if a != "-v"] or ["unit", "e2e"]
    failed = 0
    if "unit" in which:
        failed += run_unit()
    if "e2e" in which:
        failed += run_e2e()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
