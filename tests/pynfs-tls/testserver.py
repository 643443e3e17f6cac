#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""RFC 9289 (RPC-with-TLS) conformance tests for an NFS server.

  python3 tests/pynfs-tls/testserver.py HOST[:PORT] [options] [CODE|FLAG ...]

Every test has a code (PROBE1, TLS2, ALPN3, REC2, MTLS4, V4TLS1 ...), flags
(probe, tls, alpn, record, mtls, v4, v3, policy, all) and the RFC 9289
section it checks.  A test whose prerequisite did not pass is reported as
OMIT.  Tests that need TLS FAIL when the server does not offer STARTTLS, or
are SKIPped with --allow-no-tls.  See README.md in this directory.
"""

import argparse
import json
import os
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import certs  # noqa: E402
import nfs  # noqa: E402
import rpc  # noqa: E402
import tlsio  # noqa: E402
from tlsio import Closed, HandshakeError  # noqa: E402

PASS, FAIL, WARN, OMIT, SKIP = "PASS", "FAIL", "WARN", "OMIT", "SKIP"
NO_TLS = "server does not offer STARTTLS (server TLS not landed)"
NFS3ERR_PERM, NFS3ERR_ACCES = 1, 13


class Outcome(Exception):
    status = None

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Fail(Outcome):
    status = FAIL


class Warn(Outcome):
    status = WARN


class Skip(Outcome):
    status = SKIP


class Test:
    def __init__(self, code, fn, flags, section, deps, needs_tls):
        self.code, self.fn, self.section = code, fn, section
        self.flags = set(flags.split()) | {"all"}
        self.deps = list(deps)
        self.needs_tls = needs_tls
        self.doc = (fn.__doc__ or "").strip().splitlines()[0]
        self.status, self.reason, self.duration = None, "", 0.0


TESTS = []


def test(code, flags, section, deps=(), tls=False):
    def deco(fn):
        TESTS.append(Test(code, fn, flags, section, deps, tls))
        return fn
    return deco


# ---------------------------------------------------------------------------
# The environment the tests run in

class Env:
    def __init__(self, args):
        self.args = args
        self.host, self.port = tlsio.parse_hostport(args.server, 2049)
        self.timeout = args.timeout
        self.privileged = os.geteuid() == 0 and not args.no_reserved_port
        self._xid = int(time.time()) & 0xFFFFFF
        self.state = {}
        self.no_tls = None
        self.tmp = None

    def xid(self):
        self._xid = (self._xid + 1) & 0xFFFFFFFF
        return self._xid

    def tmpdir(self):
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="pynfs-tls.")
        return self.tmp.name

    def connect(self, port=None):
        return tlsio.Conn.connect(self.host, port or self.port, self.timeout, self.privileged)

    def null(self, cred=rpc.NULL_AUTH, vers=None):
        return rpc.encode_call(self.xid(), nfs.NFS_PROGRAM, vers or self.args.vers, 0,
                               b"", cred)

    def probe_msg(self):
        return rpc.encode_probe(self.xid(), nfs.NFS_PROGRAM, self.args.vers)

    def ctx(self, alpn=None, cert=True, **kw):
        """The default client context: TLS 1.3, ALPN sunrpc (none with
        --no-alpn), --ca, --cert."""
        if alpn is None:
            alpn = () if self.args.no_alpn else (tlsio.ALPN_SUNRPC,)
        kw.setdefault("cafile", self.args.ca)
        if cert and self.args.cert:
            kw.setdefault("certfile", self.args.cert)
            kw.setdefault("keyfile", self.args.key)
        kw.setdefault("psk", self.args.psk)
        return tlsio.client_context(alpn=alpn, **kw)

    def probe(self, c):
        """Probe on c; return the reply.  Fail on anything but a reply."""
        try:
            return c.call(self.probe_msg())
        except Closed as e:
            raise Fail("no reply to the AUTH_TLS probe: %s" % e) from None
        except rpc.RPCError as e:
            raise Fail("bad reply to the AUTH_TLS probe: %s" % e) from None

    def starttls_conn(self):
        """A fresh connection whose probe was answered with STARTTLS."""
        c = self.connect()
        verdict, detail = rpc.probe_verdict(self.probe(c))
        if verdict != "starttls":
            c.close()
            raise Fail("probe not answered with STARTTLS: " + detail)
        return c

    def tls_conn(self, ctx=None, hostname=None):
        """Probe, STARTTLS and handshake; Fail if any step fails."""
        c = self.starttls_conn()
        try:
            c.start_tls(ctx or self.ctx(), server_hostname=hostname or self.server_name())
        except HandshakeError as e:
            c.close()
            raise Fail(str(e)) from None
        return c

    def server_name(self):
        return self.args.server_name or self.host

    def rpc(self, c, msg, what="RPC"):
        """Call and require MSG_ACCEPTED SUCCESS; return the reply."""
        try:
            r = c.call(msg)
        except Closed as e:
            raise Fail("%s: no reply (%s)" % (what, e)) from None
        except rpc.RPCError as e:
            raise Fail("%s: %s" % (what, e)) from None
        if r.reply_stat != rpc.MSG_ACCEPTED or r.accept_stat != rpc.SUCCESS:
            raise Fail("%s: %s" % (what, r.describe()))
        return r

    def compound(self, c, ops, what="COMPOUND", minor=0):
        r = self.rpc(c, nfs.compound_call(self.xid(), ops, minorversion=minor), what)
        try:
            return nfs.decode_compound(r.results)
        except rpc.RPCError as e:
            raise Fail("%s: %s" % (what, e)) from None

    def refused(self, ctx, hostname=None, starttls_conn=None):
        """Try a TLS session with ctx and one NULL RPC over it.

        Returns (True, how) when the server refused the session (handshake
        failure, alert, or the connection dropped before the RPC was
        answered), (False, how) when the RPC was answered, and None with the
        reason when the server neither answered nor closed in time.
        """
        c = starttls_conn or self.starttls_conn()
        try:
            try:
                c.start_tls(ctx, server_hostname=hostname or self.server_name())
            except HandshakeError as e:
                if e.how == "timeout":
                    return None, "handshake stalled: %s" % e
                return True, str(e)
            try:
                r = c.call(self.null())
            except Closed as e:
                if e.how == "timeout":
                    return None, "no reply and no close within %.1f s" % self.timeout
                return True, "session ended after the handshake: %s" % e
            return False, "handshake done (%s), NULL answered: %s" % (
                c.describe_tls(), r.describe())
        finally:
            c.close()


def _expect_refused(env, ctx, what, hostname=None):
    ok, how = env.refused(ctx, hostname)
    if ok is None:
        raise Warn("%s: server did not refuse clearly: %s" % (what, how))
    if not ok:
        raise Fail("%s was accepted: %s" % (what, how))
    return "refused: " + how


# ---------------------------------------------------------------------------
# Probe (RFC 9289 section 4.1)

@test("PROBE1", "probe", "4.1")
def t_probe_format(env):
    """The AUTH_TLS probe gets a well-formed answer"""
    with env.connect() as c:
        r = env.probe(c)
    verdict, detail = rpc.probe_verdict(r)
    env.state["probe"] = (verdict, detail, r)
    if verdict == "malformed":
        raise Fail(detail)
    if r.reply_stat == rpc.MSG_DENIED:
        return "server does not know AUTH_TLS: " + detail
    if r.accept_stat != rpc.SUCCESS:
        raise Warn("accept_stat is not SUCCESS: " + detail)
    if r.results:
        raise Fail("NULL result is not empty: " + detail)
    return detail


@test("PROBE2", "probe", "4.1", deps=["PROBE1"])
def t_probe_starttls(env):
    """The server offers RPC-with-TLS: verifier AUTH_NONE "STARTTLS\""""
    verdict, detail, _ = env.state["probe"]
    if verdict != "starttls":
        env.no_tls = detail
        if env.args.allow_no_tls:
            raise Skip("%s: %s" % (NO_TLS, detail))
        raise Fail("server does not offer STARTTLS: %s" % detail)
    return detail


def _badcred(c, msg):
    """Call msg on c (then closed): the reply must be AUTH_BADCRED."""
    with c:
        try:
            r = c.call(msg)
        except Closed as e:
            raise Fail("no reply: %s" % e) from None
    if r.reply_stat == rpc.MSG_DENIED and r.reject_stat == rpc.AUTH_ERROR and \
            r.auth_stat == rpc.AUTH_BADCRED:
        return r.describe()
    raise Fail("want MSG_DENIED AUTH_ERROR AUTH_BADCRED, got " + r.describe())


@test("PROBE3", "probe", "4.1")
def t_probe_nonnull(env):
    """AUTH_TLS on a non-NULL procedure is rejected with AUTH_BADCRED"""
    if env.args.vers == 4:
        msg = rpc.encode_call(env.xid(), nfs.NFS_PROGRAM, 4, 1,
                              nfs.encode_compound([nfs.putrootfh()]), rpc.TLS_CRED)
    else:
        msg = rpc.encode_call(env.xid(), nfs.NFS_PROGRAM, 3, 1, b"\0\0\0\0", rpc.TLS_CRED)
    return _badcred(env.connect(), msg)


@test("PROBE4", "probe", "4.1", deps=["TLS1"], tls=True)
def t_probe_in_tls(env):
    """A probe inside an established TLS session is rejected with AUTH_BADCRED"""
    return _badcred(env.tls_conn(), env.probe_msg())


# ---------------------------------------------------------------------------
# TLS use (sections 5, 5.1.1)

@test("TLS1", "tls", "5", deps=["PROBE2"], tls=True)
def t_tls13(env):
    """TLS 1.3 handshake after STARTTLS"""
    with env.tls_conn() as c:
        v = c.tls.version()
        d = c.describe_tls()
    if v != "TLSv1.3":
        raise Fail("negotiated %s, want TLSv1.3" % v)
    return d


@test("TLS2", "tls", "5", deps=["TLS1"], tls=True)
def t_tls12_refused(env):
    """A client that offers at most TLS 1.2 is refused"""
    ctx = env.ctx(min_version=ssl.TLSVersion.TLSv1_2, max_version=ssl.TLSVersion.TLSv1_2)
    return _expect_refused(env, ctx, "a TLS 1.2 session")


@test("TLS3", "tls", "5.1.1", deps=["REC1"], tls=True)
def t_close_notify(env):
    """The server answers the client's close_notify with its own and closes"""
    with env.tls_conn() as c:
        env.rpc(c, env.null(), "NULL over TLS")
        try:
            how = c.close_notify()
        except Closed as e:
            if e.how == "timeout":
                raise Warn("server neither answered close_notify nor closed within %.1f s"
                           % env.timeout) from None
            raise Fail("after close_notify: %s" % e) from None
        if how != "close_notify":
            raise Fail("server closed TCP without a close_notify alert")
        try:
            data = c._recv_raw(env.timeout)
        except Closed as e:
            if e.how == "timeout":
                raise Warn("server sent close_notify but kept TCP open") from None
            data = b""
        if data:
            raise Fail("server sent %d bytes after its close_notify" % len(data))
        return "close_notify answered, TCP closed"


@test("TLS4", "tls record", "5.1.1", deps=["REC1"], tls=True)
def t_cleartext_after(env):
    """Cleartext RPC after the handshake makes the server drop the connection"""
    with env.tls_conn() as c:
        env.rpc(c, env.null(), "NULL over TLS")
        c.send_raw(rpc.frame(env.null()))
        try:
            data = c.recv()
        except Closed as e:
            if e.how == "timeout":
                raise Fail("connection still open %.1f s after cleartext" % env.timeout) \
                    from None
            return "dropped: %s" % e
        raise Fail("server answered %d bytes in TLS after cleartext input" % len(data))


@test("TLS5", "tls", "4.1, 5.1.1", deps=["TLS1"], tls=True)
def t_junk_before_hello(env):
    """Data between the probe reply and the ClientHello is not answered; connection dropped"""
    with env.starttls_conn() as c:
        junk = env.null()
        c.send_raw(rpc.frame(junk))
        try:
            data = c._recv_raw(min(1.0, env.timeout))
        except Closed as e:
            if e.how != "timeout":
                return "dropped at once: %s" % e
            data = None
        if data == b"":
            return "dropped at once (TCP closed)"
        if data:
            if data[0] == 0x15:
                return "server answered with a TLS alert and should close"
            raise Fail("server answered %d bytes of cleartext to the junk" % len(data))
        try:
            c.start_tls(env.ctx(), server_hostname=env.server_name())
        except HandshakeError as e:
            return "handshake refused after the junk: %s" % e
        try:
            r = c.call(env.null())
        except Closed as e:
            return "session ended after the junk: %s" % e
        raise Warn("junk was discarded but the connection was kept (SHOULD be dropped); "
                   "RPC answered: %s" % r.describe())


# ---------------------------------------------------------------------------
# ALPN (section 5)

@test("ALPN1", "alpn", "5", deps=["TLS1"], tls=True)
def t_alpn_sunrpc(env):
    """ALPN "sunrpc" is negotiated"""
    with env.tls_conn(env.ctx(alpn=(tlsio.ALPN_SUNRPC,))) as c:
        p = c.tls.selected_alpn_protocol()
    if p != tlsio.ALPN_SUNRPC:
        raise Fail("server selected ALPN %r, want 'sunrpc'" % p)
    return "ALPN sunrpc"


@test("ALPN2", "alpn", "5", deps=["ALPN1"], tls=True)
def t_alpn_choice(env):
    """Offered ["h2", "sunrpc"], the server selects "sunrpc\""""
    with env.tls_conn(env.ctx(alpn=("h2", tlsio.ALPN_SUNRPC))) as c:
        p = c.tls.selected_alpn_protocol()
    if p != tlsio.ALPN_SUNRPC:
        raise Fail("server selected ALPN %r, want 'sunrpc'" % p)
    return "ALPN sunrpc"


@test("ALPN3", "alpn", "5", deps=["TLS1"], tls=True)
def t_alpn_other(env):
    """A ClientHello whose only ALPN is "h2" is refused"""
    return _expect_refused(env, env.ctx(alpn=("h2",)), "a session with ALPN h2")


@test("ALPN4", "alpn", "5", deps=["TLS1"], tls=True)
def t_alpn_missing(env):
    """A ClientHello without ALPN is refused (WARN if accepted: interop)"""
    ok, how = env.refused(env.ctx(alpn=()))
    if ok is None:
        raise Warn("a session without ALPN: server did not refuse clearly: %s" % how)
    if ok:
        return "refused: " + how
    if env.args.alpn_strict:
        raise Fail("a session without ALPN was accepted although the server is said to "
                   "be strict (--alpn-strict): %s" % how)
    # RFC 9289 section 5 puts the MUST on the client; mainline Linux's and
    # FreeBSD's clients send no ALPN, so a server that wants to serve them
    # has to let such a ClientHello in.
    raise Warn("a session without ALPN was accepted: interop allowance for clients "
               "that send no ALPN (mainline Linux, FreeBSD); a strict server refuses it")


# ---------------------------------------------------------------------------
# Record marking, in cleartext and inside TLS (section 5.1.1)

def _null_reply_ok(env, c, xid, what):
    try:
        rep = rpc.decode_reply(c.recv_record())
    except Closed as e:
        raise Fail("%s: no reply (%s)" % (what, e)) from None
    if rep.xid != xid:
        raise Fail("%s: reply xid %#x, want %#x" % (what, rep.xid, xid))
    if rep.reply_stat != rpc.MSG_ACCEPTED or rep.accept_stat != rpc.SUCCESS:
        raise Fail("%s: %s" % (what, rep.describe()))


@test("RM1", "record", "RFC 5531 11")
def t_plain_fragments(env):
    """A NULL call in three record-marking fragments (cleartext) is answered"""
    with env.connect() as c:
        msg = env.null()
        xid = rpc.decode_call(msg).xid
        c.send(rpc.frame(msg, [4, 8, len(msg) - 12]))
        _null_reply_ok(env, c, xid, "fragmented NULL")
    return "answered"


@test("REC1", "record", "5.1.1", deps=["TLS1"], tls=True)
def t_tls_null(env):
    """A NULL call over TLS is answered"""
    with env.tls_conn() as c:
        r = env.rpc(c, env.null(), "NULL over TLS")
    return r.describe()


@test("REC2", "record", "5.1.1", deps=["REC1"], tls=True)
def t_split_records(env):
    """One RPC split across several TLS records is answered"""
    with env.tls_conn() as c:
        msg = env.null()
        xid = rpc.decode_call(msg).xid
        data = rpc.frame(msg)
        for part in (data[:2], data[2:4], data[4:17], data[17:]):
            c.send(part)        # one SSLObject.write: its own TLS record
            time.sleep(0.02)
        _null_reply_ok(env, c, xid, "NULL in 4 TLS records")
    return "answered"


@test("REC3", "record", "5.1.1", deps=["REC1"], tls=True)
def t_many_in_one(env):
    """16 RPCs in one TLS record are all answered"""
    with env.tls_conn() as c:
        msgs = [env.null() for _ in range(16)]
        want = {rpc.decode_call(m).xid for m in msgs}
        c.send(b"".join(rpc.frame(m) for m in msgs))
        got = set()
        while got != want:
            try:
                rep = rpc.decode_reply(c.recv_record())
            except Closed as e:
                raise Fail("%d of 16 replies, then %s" % (len(got), e)) from None
            if rep.accept_stat != rpc.SUCCESS:
                raise Fail("reply %#x: %s" % (rep.xid, rep.describe()))
            if rep.xid not in want:
                raise Fail("reply with unknown xid %#x" % rep.xid)
            got.add(rep.xid)
    return "16 replies"


@test("REC4", "record", "5.1.1", deps=["REC1"], tls=True)
def t_tls_fragments(env):
    """One RPC in several record-marking fragments inside TLS is answered"""
    with env.tls_conn() as c:
        msg = env.null()
        xid = rpc.decode_call(msg).xid
        c.send(rpc.frame(msg, [0, 4, 4, len(msg) - 8]))
        _null_reply_ok(env, c, xid, "NULL in 4 fragments")
    return "answered"


@test("REC5", "record", "5.1.1", deps=["REC1"], tls=True)
def t_call_with_finished(env):
    """An RPC sent in the same TCP write as the client's Finished is answered"""
    with env.starttls_conn() as c:
        msg = env.null()
        xid = rpc.decode_call(msg).xid
        try:
            c.start_tls(env.ctx(), server_hostname=env.server_name(),
                        piggyback=rpc.frame(msg))
        except HandshakeError as e:
            raise Fail(str(e)) from None
        _null_reply_ok(env, c, xid, "NULL behind the Finished")
    return "answered"


# ---------------------------------------------------------------------------
# Peer authentication (sections 4.2, 5.2)

@test("MTLS1", "mtls", "4.2", deps=["TLS1"], tls=True)
def t_cert_request(env):
    """The server requests a client certificate (CertificateRequest)"""
    ctx = env.ctx(psk=None)
    seen = tlsio.watch_handshake(ctx)
    if seen is None:
        raise Skip("this Python cannot observe TLS handshake messages")
    c = env.tls_conn(ctx)
    c.close()
    if ("read", "CERTIFICATE_REQUEST") not in seen:
        raise Fail("no CertificateRequest: the server does not ask for a peer identity")
    return "CertificateRequest received"


@test("MTLS2", "mtls", "4.2, 5.2.1", deps=["TLS1"], tls=True)
def t_anonymous(env):
    """A client without a certificate: accepted or refused per --client-auth"""
    ok, how = env.refused(env.ctx(cert=False, psk=None))
    if env.args.client_auth == "required":
        if ok is None:
            raise Warn("server did not refuse clearly: " + how)
        if not ok:
            raise Fail("--client-auth required, but a client without certificate was accepted: "
                       + how)
        return "refused: " + how
    if ok:
        raise Fail("--client-auth optional, but a client without certificate was refused: "
                   + how)
    if ok is None:
        raise Fail(how)
    return "accepted: " + how


@test("MTLS3", "mtls", "4.2, 5.2.1", deps=["MTLS1"], tls=True)
def t_untrusted(env):
    """A client certificate that does not chain to the server's trust anchors is refused"""
    if not certs.have_openssl():
        raise Skip("openssl command line tool not installed (needed to make the certificate)")
    d = certs.CertDir(os.path.join(env.tmpdir(), "pki"))
    cert, key = d.self_signed("untrusted", "untrusted client")
    ok, how = env.refused(env.ctx(certfile=cert, keyfile=key, psk=None))
    if ok:
        return "refused: " + how
    if ok is None:
        raise Warn("server did not refuse clearly: " + how)
    if env.args.client_auth == "required":
        raise Fail("untrusted client certificate accepted: " + how)
    raise Warn("untrusted client certificate accepted as anonymous: " + how)


@test("MTLS4", "mtls", "4.2, 5.2.1", deps=["TLS1"], tls=True)
def t_good_cert(env):
    """A client certificate from --cert/--key is accepted"""
    if not env.args.cert:
        raise Skip("no --cert/--key given")
    ok, how = env.refused(env.ctx(psk=None))
    if ok is None:
        raise Fail(how)
    if ok:
        raise Fail("client certificate %s refused: %s" % (env.args.cert, how))
    return "accepted: " + how


@test("MTLS5", "mtls", "5.2.1", deps=["TLS1"], tls=True)
def t_server_identity(env):
    """The server certificate chains to --ca and names the server (DNS-ID or IP SAN)"""
    if not env.args.ca:
        raise Skip("no --ca given")
    ctx = env.ctx(check_hostname=True, psk=None)
    with env.starttls_conn() as c:
        try:
            c.start_tls(ctx, server_hostname=env.server_name())
        except HandshakeError as e:
            raise Fail("server certificate for %r: %s" % (env.server_name(), e)) from None
        cert = c.tls.getpeercert()
    sans = cert.get("subjectAltName", ())
    wild = [v for k, v in sans if k == "DNS" and "*" in v]
    if wild:
        raise Fail("DNS names with '*' in the server certificate: %s" % ", ".join(wild))
    return "verified for %r: %s" % (env.server_name(),
                                    ", ".join("%s:%s" % kv for kv in sans))


@test("PSK1", "mtls", "5.2.2", deps=["TLS1"], tls=True)
def t_psk(env):
    """A TLS 1.3 session authenticated with the pre-shared key from --psk carries RPC"""
    if not env.args.psk:
        if env.args.psk_unsupported:
            raise Skip("Python %d.%d has no TLS PSK support (needs 3.13)" % sys.version_info[:2])
        raise Skip("no --psk given")
    ctx = env.ctx(cafile=None, cert=False)
    seen = tlsio.watch_handshake(ctx)
    with env.tls_conn(ctx) as c:
        r = env.rpc(c, env.null(), "NULL over PSK session")
    if seen is not None and ("read", "CERTIFICATE") in seen:
        raise Fail("the server authenticated with a certificate, not with the PSK")
    return r.describe()


# ---------------------------------------------------------------------------
# NFS over cleartext and over TLS

ROOT_ATTRS = [nfs.FATTR4_TYPE, nfs.FATTR4_FSID]


def _root_compound(env, c, what):
    res = env.compound(c, [nfs.putrootfh(), nfs.getfh(), nfs.getattr4(ROOT_ATTRS)], what)
    if res.status != nfs.NFS4_OK:
        raise Fail("%s: %s" % (what, res.describe()))
    attrs = res.resok(nfs.OP_GETATTR)
    if attrs.get(nfs.FATTR4_TYPE) != nfs.NF4DIR:
        raise Fail("%s: root is not a directory: %r" % (what, attrs))
    return "root fh %d bytes, fsid %r" % (len(res.resok(nfs.OP_GETFH)),
                                          attrs.get(nfs.FATTR4_FSID))


def _lookup_compound(env, c, path, what):
    res = env.compound(c, [nfs.putrootfh()] + nfs.lookup_path(path) +
                       [nfs.getfh(), nfs.getattr4(ROOT_ATTRS)], what)
    return res


@test("V4NULL", "v4", "-")
def t_v4_null(env):
    """NFSv4 NULL in cleartext"""
    with env.connect() as c:
        return env.rpc(c, env.null(vers=4), "NFSv4 NULL").describe()


@test("V4ROOT", "v4", "-", deps=["V4NULL"])
def t_v4_root(env):
    """NFSv4.0 PUTROOTFH GETFH GETATTR in cleartext"""
    with env.connect() as c:
        return _root_compound(env, c, "COMPOUND")


@test("V4LOOKUP", "v4", "-", deps=["V4ROOT"])
def t_v4_lookup(env):
    """NFSv4.0 LOOKUP of --export in cleartext"""
    if not env.args.v4_export:
        raise Skip("no --export path given")
    with env.connect() as c:
        res = _lookup_compound(env, c, env.args.v4_export, "LOOKUP")
    if res.status != nfs.NFS4_OK:
        raise Fail("LOOKUP %s: %s" % (env.args.v4_export, res.describe()))
    return res.describe()


@test("V4TLS1", "v4", "5.1.1", deps=["REC1", "V4NULL"], tls=True)
def t_v4_tls_root(env):
    """NFSv4.0 PUTROOTFH GETFH GETATTR over TLS"""
    with env.tls_conn() as c:
        return _root_compound(env, c, "COMPOUND over TLS")


@test("V4TLS2", "v4", "5.1.1", deps=["V4TLS1"], tls=True)
def t_v4_tls_lookup(env):
    """NFSv4.0 LOOKUP of --export over TLS"""
    if not env.args.v4_export:
        raise Skip("no --export path given")
    with env.tls_conn() as c:
        res = _lookup_compound(env, c, env.args.v4_export, "LOOKUP over TLS")
    if res.status != nfs.NFS4_OK:
        raise Fail("LOOKUP %s over TLS: %s" % (env.args.v4_export, res.describe()))
    return res.describe()


def _mountd_port(env):
    with tlsio.Conn.connect(env.host, 111, env.timeout, env.privileged) as c:
        r = env.rpc(c, nfs.getport_call(env.xid(), nfs.MOUNT_PROGRAM, 3), "GETPORT mountd")
        port = nfs.decode_getport(r.results)
    if not port:
        raise Fail("mountd v3 over TCP is not registered with the portmapper")
    return port


def _compound_ok(env, c, ops, what, minor=0):
    """A COMPOUND that must succeed; GRACE and DELAY are retried for 20 s.

    ops is a list, or a function returning one for each try (for SEQUENCE,
    whose sequence id must change on a retry).
    """
    deadline = time.monotonic() + 20
    while True:
        res = env.compound(c, ops() if callable(ops) else ops, what, minor)
        if res.status == nfs.NFS4_OK:
            return res
        if res.status not in (nfs.NFS4ERR_GRACE, nfs.NFS4ERR_DELAY) or \
                time.monotonic() > deadline:
            raise Fail("%s: %s" % (what, res.describe()))
        time.sleep(1)


def _cleanup(env, c, ops, what, minorversion=0):
    """A COMPOUND that undoes a test's state: whether it works does not
    change the test's result."""
    try:
        env.compound(c, ops, what, minorversion)
    except (Fail, Closed, rpc.RPCError):
        pass


def _v4_io(env, c, how):
    """SETCLIENTID, OPEN (create), WRITE, READ, CLOSE, REMOVE in --export."""
    name = "pynfs-tls.%d.%d" % (os.getpid(), env.xid())
    res = _compound_ok(env, c, [nfs.setclientid(os.urandom(8), ("pynfs-tls " + name).encode())],
                       "SETCLIENTID " + how)
    clientid, confirm = res.resok(nfs.OP_SETCLIENTID)
    _compound_ok(env, c, [nfs.setclientid_confirm(clientid, confirm)],
                 "SETCLIENTID_CONFIRM " + how)
    dirops = [nfs.putrootfh()] + nfs.lookup_path(env.args.v4_export)
    res = _compound_ok(env, c, dirops + [nfs.open_create(0, clientid, b"owner", name),
                                         nfs.getfh()], "OPEN " + how)
    opened, fh = res.resok(nfs.OP_OPEN), res.resok(nfs.OP_GETFH)
    sid, seqid = opened["stateid"], 1
    try:
        if opened["rflags"] & 2:        # OPEN4_RESULT_CONFIRM
            res = _compound_ok(env, c, [nfs.putfh(fh), nfs.open_confirm(sid, seqid)],
                               "OPEN_CONFIRM " + how)
            sid, seqid = res.resok(nfs.OP_OPEN_CONFIRM), seqid + 1
        # 70001 bytes: several full TLS records per WRITE call and READ reply,
        # and an opaque that needs XDR padding.
        data = bytes((i * 7 + 3) & 0xFF for i in range(70001))
        res = _compound_ok(env, c, [nfs.putfh(fh), nfs.write(sid, 0, data)], "WRITE " + how)
        written = res.resok(nfs.OP_WRITE)[0]
        if written != len(data):
            raise Fail("WRITE %s: %d of %d bytes written" % (how, written, len(data)))
        got = b""
        while len(got) < len(data):
            res = _compound_ok(env, c, [nfs.putfh(fh), nfs.read(sid, len(got), len(data))],
                               "READ " + how)
            eof, chunk = res.resok(nfs.OP_READ)
            got += chunk
            if eof or not chunk:
                break
        if got != data:
            raise Fail("READ %s: got %d bytes that differ from the %d written"
                       % (how, len(got), len(data)))
        _compound_ok(env, c, [nfs.putfh(fh), nfs.close(seqid, sid)], "CLOSE " + how)
    finally:
        _cleanup(env, c, dirops + [nfs.remove(name)], "REMOVE " + how)
    return "created %s, wrote and read back %d bytes %s" % (name, len(data), how)


@test("V4IO", "v4", "-", deps=["V4LOOKUP"])
def t_v4_io(env):
    """NFSv4.0 OPEN, WRITE, READ, CLOSE of a new file in --export, in cleartext"""
    with env.connect() as c:
        return _v4_io(env, c, "in cleartext")


@test("V4TLS3", "v4", "5.1.1", deps=["V4TLS2"], tls=True)
def t_v4_tls_io(env):
    """NFSv4.0 OPEN, WRITE, READ, CLOSE of a new file in --export, over TLS"""
    with env.tls_conn() as c:
        return _v4_io(env, c, "over TLS")


def _v41_recall(env, c, how):
    """A read delegation on c (NFSv4.1 session with a back channel), then a
    conflicting OPEN from a second client: the server's CB_RECALL must arrive
    on c.  Returns the result text; cleans up its state."""
    owner = ("pynfs-tls %d.%d" % (os.getpid(), env.xid())).encode()
    name = "pynfs-tls.deleg.%d.%d" % (os.getpid(), env.xid())
    res = _compound_ok(env, c, [nfs.exchange_id(os.urandom(8), owner)],
                       "EXCHANGE_ID " + how, 1)
    eid = res.resok(nfs.OP_EXCHANGE_ID)
    res = _compound_ok(env, c, [nfs.create_session(eid["clientid"], eid["sequenceid"])],
                       "CREATE_SESSION " + how, 1)
    cs = res.resok(nfs.OP_CREATE_SESSION)
    sid, seq, cleanup = cs["sessionid"], [0], []

    def seq_ops(ops):
        seq[0] += 1
        return [nfs.sequence(sid, seq[0])] + ops

    dirops = [nfs.putrootfh()] + nfs.lookup_path(env.args.v4_export)
    try:
        if not cs["flags"] & nfs.CREATE_SESSION4_FLAG_CONN_BACK_CHAN:
            raise Warn("session made %s, but the server did not bind the connection "
                       "to the back channel" % how)
        _compound_ok(env, c, lambda: seq_ops([nfs.reclaim_complete()]), "RECLAIM_COMPLETE", 1)
        # Created read-only: no write open that would stop a read delegation.
        res = _compound_ok(env, c, lambda: seq_ops(dirops + [nfs.open_create(
            0, eid["clientid"], b"r", name, access=1), nfs.getfh()]), "OPEN create", 1)
        fh = res.resok(nfs.OP_GETFH)
        cleanup.append(dirops + [nfs.remove(name)])
        opened = res.resok(nfs.OP_OPEN)
        deleg = opened.get("delegation")
        # Servers hold delegations back for a while (Linux: during any grace
        # period, lockd's included): ask again for up to 20 s.
        deadline = time.monotonic() + 20
        while not deleg and time.monotonic() < deadline:
            _compound_ok(env, c, lambda: seq_ops([nfs.putfh(fh), nfs.close(
                0, opened["stateid"])]), "CLOSE read", 1)
            time.sleep(1)
            res = _compound_ok(env, c, lambda: seq_ops(dirops + [nfs.open_create(
                0, eid["clientid"], b"r", name, access=1, create=False)]), "OPEN read", 1)
            opened = res.resok(nfs.OP_OPEN)
            deleg = opened.get("delegation")
        cleanup.insert(0, [nfs.putfh(fh), nfs.close(0, opened["stateid"])])
        if not deleg:
            raise Warn("%s: the server granted no read delegation in 20 s, so no "
                       "backchannel call could be provoked" % how)
        cleanup.insert(0, [nfs.putfh(fh), nfs.delegreturn(deleg[1])])
        # A second client opens the file for writing: the server must recall.
        other = env.connect()
        try:
            res = env.compound(other, [nfs.setclientid(os.urandom(8), owner + b" 2")],
                               "second client SETCLIENTID")
            cid2, confirm = res.resok(nfs.OP_SETCLIENTID) or (None, None)
            if cid2 is not None:
                env.compound(other, [nfs.setclientid_confirm(cid2, confirm)], "CONFIRM")
                other.send_record(nfs.compound_call(env.xid(), dirops + [
                    nfs.open_create(0, cid2, b"w2", name, access=2, create=False)]))
            try:
                call = c.next_backchannel_call(env.timeout)
            except Closed as e:
                raise Fail("no CB_RECALL %s after a conflicting OPEN: %s" % (how, e)) from None
        finally:
            other.close()
        if call.prog != nfs.CB_PROGRAM or call.proc != 1:
            raise Fail("backchannel call prog %#x proc %d, want CB_COMPOUND (%#x, 1)"
                       % (call.prog, call.proc, nfs.CB_PROGRAM))
        return "delegation recalled: CB_COMPOUND arrived %s (%d bytes)" % (how, len(call.args))
    finally:
        for ops in cleanup:
            _cleanup(env, c, seq_ops(ops), "cleanup", 1)
        for op in (nfs.destroy_session(sid), nfs.destroy_clientid(eid["clientid"])):
            _cleanup(env, c, [op], "cleanup", 1)


@test("V41CB", "v4", "-", deps=["V4LOOKUP"])
def t_v41(env):
    """NFSv4.1 backchannel in cleartext: a delegation recall arrives on the session's connection"""
    with env.connect() as c:
        return _v41_recall(env, c, "in cleartext")


@test("V41TLS", "v4", "5.1.1", deps=["V4TLS2"], tls=True)
def t_v41_tls(env):
    """NFSv4.1 backchannel over TLS: a delegation recall arrives in the same TLS session"""
    with env.tls_conn() as c:
        return _v41_recall(env, c, "over TLS")


@test("V3NULL", "v3", "-")
def t_v3_null(env):
    """NFSv3 NULL in cleartext"""
    with env.connect() as c:
        return env.rpc(c, env.null(vers=3), "NFSv3 NULL").describe()


def _v3_mnt(env, path):
    """MNT then UMNT of path in cleartext (mountd's port from the portmapper):
    (file handle, auth flavors, mountd's port)."""
    try:
        port = _mountd_port(env)
        c = tlsio.Conn.connect(env.host, port, env.timeout, env.privileged)
    except ConnectionError as e:
        raise Fail(str(e)) from None
    with c:
        r = env.rpc(c, nfs.mnt_call(env.xid(), path), "MNT")
        st, fh, flavors = nfs.decode_mnt(r.results)
        if st != 0:
            raise Fail("MNT %s: mountstat3 %d" % (path, st))
        env.rpc(c, nfs.umnt_call(env.xid(), path), "UMNT")
    return fh, flavors, port


@test("V3MNT", "v3", "-", deps=["V3NULL"])
def t_v3_mnt(env):
    """MOUNT v3 MNT of --export (portmapper on port 111) gives a file handle"""
    if not env.args.export:
        raise Skip("no --export path given")
    fh, flavors, port = _v3_mnt(env, env.args.export)
    env.state["v3fh"] = fh
    return "fh %d bytes, flavors %r (mountd port %d)" % (len(fh), flavors, port)


def _v3_getattr(env, c, what):
    r = env.rpc(c, nfs.v3_getattr_call(env.xid(), env.state["v3fh"]), what)
    st, attrs = nfs.decode_v3_getattr(r.results)
    if st != 0:
        raise Fail("%s: nfsstat3 %d" % (what, st))
    if attrs["type"] != nfs.NF3DIR:
        raise Fail("%s: export root is not a directory: type %d" % (what, attrs["type"]))
    return "directory, fsid %#x, fileid %d" % (attrs["fsid"], attrs["fileid"])


@test("V3GETATTR", "v3", "-", deps=["V3MNT"])
def t_v3_getattr(env):
    """NFSv3 GETATTR of the export root in cleartext"""
    with env.connect() as c:
        return _v3_getattr(env, c, "GETATTR")


@test("V3TLS1", "v3", "5.1.1", deps=["V3MNT", "REC1"], tls=True)
def t_v3_tls(env):
    """NFSv3 NULL and GETATTR over TLS"""
    with env.tls_conn() as c:
        env.rpc(c, env.null(vers=3), "NFSv3 NULL over TLS")
        return _v3_getattr(env, c, "GETATTR over TLS")


# ---------------------------------------------------------------------------
# Export policy

def _policy_lookup(env, c, path, what):
    """LOOKUP of path on the connection c, which is closed afterwards"""
    try:
        return _lookup_compound(env, c, path, what)
    finally:
        c.close()


def _want_wrongsec(res, path, how):
    if res.status == nfs.NFS4ERR_WRONGSEC:
        return res.describe()
    raise Fail("want NFS4ERR_WRONGSEC for %s %s, got %s" % (path, how, res.describe()))


@test("POL1", "policy", "6.1", deps=["PROBE2", "V4ROOT"], tls=True)
def t_policy_plain(env):
    """A TLS-only export (--tls-export) is refused in cleartext with NFS4ERR_WRONGSEC"""
    if not env.args.tls_export:
        raise Skip("no --tls-export path given")
    res = _policy_lookup(env, env.connect(), env.args.tls_export, "LOOKUP in cleartext")
    return _want_wrongsec(res, env.args.tls_export, "in cleartext")


@test("POL2", "policy", "6.1", deps=["V4TLS1"], tls=True)
def t_policy_tls(env):
    """The TLS-only export (--tls-export) is reachable over TLS"""
    if not env.args.tls_export:
        raise Skip("no --tls-export path given")
    res = _policy_lookup(env, env.tls_conn(), env.args.tls_export, "LOOKUP over TLS")
    if res.status != nfs.NFS4_OK:
        raise Fail("LOOKUP %s over TLS: %s" % (env.args.tls_export, res.describe()))
    env.state["tlsfh"] = res.resok(nfs.OP_GETFH)
    return res.describe()


@test("POL3", "policy", "6.1", deps=["V4TLS1"], tls=True)
def t_policy_mtls_anon(env):
    """An mTLS-only export (--mtls-export) is refused to a TLS client without a certificate"""
    if not env.args.mtls_export:
        raise Skip("no --mtls-export path given")
    res = _policy_lookup(env, env.tls_conn(env.ctx(cert=False, psk=None)),
                         env.args.mtls_export, "LOOKUP over anonymous TLS")
    return _want_wrongsec(res, env.args.mtls_export, "over TLS without a client certificate")


@test("POL4", "policy", "6.1", deps=["V4TLS1"], tls=True)
def t_policy_mtls(env):
    """The mTLS-only export (--mtls-export) is reachable with a client certificate"""
    if not env.args.mtls_export:
        raise Skip("no --mtls-export path given")
    if not env.args.cert:
        raise Skip("no --cert/--key given")
    res = _policy_lookup(env, env.tls_conn(env.ctx(psk=None)), env.args.mtls_export,
                         "LOOKUP over mutual TLS")
    if res.status != nfs.NFS4_OK:
        raise Fail("LOOKUP %s with client certificate %s: %s"
                   % (env.args.mtls_export, env.args.cert, res.describe()))
    return res.describe()


@test("POL5", "policy", "6.1", deps=["POL1"], tls=True)
def t_policy_secinfo(env):
    """SECINFO for the TLS-only export is answered in cleartext (only its use is refused)"""
    parts = [p for p in env.args.tls_export.split("/") if p]
    with env.connect() as c:
        res = env.compound(c, [nfs.putrootfh()] + [nfs.lookup(p) for p in parts[:-1]] +
                           [nfs.secinfo(parts[-1])], "SECINFO in cleartext")
    if res.status != nfs.NFS4_OK:
        raise Fail("SECINFO %s in cleartext: %s" % (env.args.tls_export, res.describe()))
    return "flavors %r" % (res.resok(nfs.OP_SECINFO),)


@test("POL6", "policy", "6.1", deps=["POL2"], tls=True)
def t_policy_putfh(env):
    """A file handle of the TLS-only export, used in cleartext, is refused at PUTFH"""
    with env.connect() as c:
        res = env.compound(c, [nfs.putfh(env.state["tlsfh"]), nfs.getattr4(ROOT_ATTRS)],
                           "PUTFH GETATTR in cleartext")
    if res.status == nfs.NFS4ERR_WRONGSEC and res.failed_op() == nfs.OP_PUTFH:
        return res.describe()
    raise Fail("want NFS4ERR_WRONGSEC at PUTFH, got %s" % res.describe())


def _v3_tls_export_fh(env):
    """MNT of --tls-export3 (MOUNT is never protected): its file handle."""
    return _v3_mnt(env, env.args.tls_export3)[0]


@test("POL7", "policy v3", "6.1", deps=["V3MNT"], tls=True)
def t_policy_v3_plain(env):
    """NFSv3 on the TLS-only export (--tls-export3) in cleartext is refused"""
    if not env.args.tls_export3:
        raise Skip("no --tls-export3 path given")
    env.state["tlsfh3"] = fh = _v3_tls_export_fh(env)
    c = env.connect()
    try:
        r = c.call(nfs.v3_getattr_call(env.xid(), fh))
    except Closed as e:
        raise Fail("GETATTR in cleartext: no reply (%s)" % e) from None
    finally:
        c.close()
    if r.reply_stat == rpc.MSG_DENIED and r.reject_stat == rpc.AUTH_ERROR and \
            r.auth_stat == rpc.AUTH_TOOWEAK:
        return r.describe()
    # Refusing the operation instead of the RPC is just as closed: mainline
    # Linux answers NFS3ERR_ACCES for an export whose xprtsec= excludes the
    # transport (RFC 1813 allows it for "permission denied").
    if r.reply_stat == rpc.MSG_ACCEPTED and r.accept_stat == rpc.SUCCESS and \
            len(r.results) >= 4:
        st = int.from_bytes(r.results[:4], "big")
        if st in (NFS3ERR_PERM, NFS3ERR_ACCES):
            return "refused with %s (an alternative to AUTH_TOOWEAK: the operation, " \
                "not the RPC, is refused)" % ("NFS3ERR_ACCES" if st == NFS3ERR_ACCES
                                             else "NFS3ERR_PERM")
    raise Fail("want MSG_DENIED AUTH_ERROR AUTH_TOOWEAK or NFS3ERR_ACCES, got %s" % r.describe())


@test("POL8", "policy v3", "6.1", deps=["POL7", "V3TLS1"], tls=True)
def t_policy_v3_tls(env):
    """NFSv3 on the TLS-only export (--tls-export3) over TLS: GETATTR answered"""
    with env.tls_conn() as c:
        r = env.rpc(c, nfs.v3_getattr_call(env.xid(), env.state["tlsfh3"]), "GETATTR over TLS")
    st, attrs = nfs.decode_v3_getattr(r.results)
    if st != 0:
        raise Fail("GETATTR over TLS: nfsstat3 %d" % st)
    return "directory" if attrs["type"] == nfs.NF3DIR else "type %d" % attrs["type"]


# ---------------------------------------------------------------------------
# Runner

FLAGS = sorted({f for t in TESTS for f in t.flags})
BY_CODE = {t.code: t for t in TESTS}


def select(names):
    """Tests named by code or flag, plus their prerequisites.

    Returns (tests in an order where prerequisites come first, number of
    tests the command line named).
    """
    want = set()
    for n in names or ["all"]:
        if n.upper() in BY_CODE:
            want.add(n.upper())
        elif n.lower() in FLAGS:
            want |= {t.code for t in TESTS if n.lower() in t.flags}
        else:
            raise ValueError("unknown test code or flag %r (see --list)" % n)
    asked = len(want)
    order, seen = [], set()

    def visit(code, path):
        if code in seen:
            return
        if code in path:
            raise ValueError("dependency cycle: %s" % " -> ".join(path + [code]))
        for d in BY_CODE[code].deps:
            visit(d, path + [code])
        seen.add(code)
        order.append(BY_CODE[code])
    for t in TESTS:
        if t.code in want:
            visit(t.code, [])
    return order, asked


def run_one(env, t):
    for d in t.deps:
        dt = BY_CODE[d]
        if dt.status not in (PASS, WARN):
            if t.needs_tls and env.no_tls is not None:
                if env.args.allow_no_tls:
                    return SKIP, "%s: %s" % (NO_TLS, env.no_tls)
                return FAIL, "server does not offer STARTTLS: %s" % env.no_tls
            if dt.status == SKIP:
                return SKIP, "prerequisite %s skipped: %s" % (d, dt.reason)
            return OMIT, "prerequisite %s did not pass (%s)" % (d, dt.status)
    try:
        reason = t.fn(env)
        return PASS, reason or ""
    except Outcome as o:
        return o.status, o.reason
    except (ConnectionError, OSError) as e:
        return FAIL, "network error: %s" % e
    except rpc.RPCError as e:
        return FAIL, str(e)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="RFC 9289 RPC-with-TLS conformance tests for an NFS server.",
        epilog="Flags: %s.  Use --list for the test codes." % ", ".join(FLAGS))
    ap.add_argument("server", nargs="?", help="HOST[:PORT] (port 2049 by default)")
    ap.add_argument("tests", nargs="*", metavar="CODE|FLAG",
                    help="tests to run (default: all)")
    ap.add_argument("--ca", help="CA certificate(s) to verify the server with")
    ap.add_argument("--cert", help="client certificate (PEM)")
    ap.add_argument("--key", help="client private key (PEM)")
    ap.add_argument("--psk", help="TLS 1.3 pre-shared key IDENTITY:HEX, offered in every "
                    "TLS test except MTLS1-5 (needs Python 3.13)")
    ap.add_argument("--server-name", help="name to verify in the server certificate "
                    "(default: HOST)")
    ap.add_argument("--client-auth", choices=("optional", "required"), default="optional",
                    help="the server's policy for clients without a certificate")
    ap.add_argument("--export", help="exported path for LOOKUP and MNT tests")
    ap.add_argument("--v4-export", help="the same export's path in the NFSv4 namespace "
                    "(default: --export; differs when the server has an fsid=0 root)")
    ap.add_argument("--tls-export", help="exported path that requires TLS (NFSv4 namespace)")
    ap.add_argument("--mtls-export", help="exported path that requires mutual TLS (NFSv4 "
                    "namespace)")
    ap.add_argument("--tls-export3", help="the TLS-only export's MOUNT path, for NFSv3")
    ap.add_argument("--vers", type=int, choices=(3, 4), default=4,
                    help="NFS version used for probes and NULL calls (default 4)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds to wait for any answer (default 5)")
    ap.add_argument("--alpn-strict", action="store_true",
                    help="the server is configured to require ALPN: ALPN4 then FAILs when a "
                    "ClientHello without ALPN is accepted (default: WARN, an interop allowance)")
    ap.add_argument("--no-alpn", action="store_true",
                    help="offer no ALPN in the tests' ClientHellos, as FreeBSD's and mainline "
                    "Linux's clients do (the ALPN tests still set their own)")
    ap.add_argument("--allow-no-tls", action="store_true",
                    help="report TLS tests as SKIP, not FAIL, when the server does not "
                    "offer STARTTLS")
    ap.add_argument("--no-reserved-port", action="store_true",
                    help="do not bind a source port below 1024 (default: do, as root)")
    ap.add_argument("--json", metavar="FILE", help="write a JSON report to FILE")
    ap.add_argument("--tap", action="store_true", help="end with TAP lines for tests/check")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print the reason of passed tests too")
    args = ap.parse_intermixed_args(argv)

    if args.list:
        for t in TESTS:
            print("%-10s %-11s %-20s %s" % (t.code, ",".join(sorted(t.flags - {"all"})),
                                            "RFC 9289 " + t.section if t.section[0].isdigit()
                                            else t.section, t.doc))
        return 0
    try:
        if not args.server:
            raise ValueError("no server given: HOST[:PORT]")
        if bool(args.cert) != bool(args.key):
            raise ValueError("--cert and --key go together")
        for f in (args.ca, args.cert, args.key):
            if f and not os.path.isfile(f):
                raise ValueError("no such file: %s" % f)
        if args.psk:
            args.psk = tlsio.parse_psk(args.psk)
        if args.timeout <= 0:
            raise ValueError("--timeout must be positive")
        if args.v4_export is None:
            args.v4_export = args.export
        for p in (args.export, args.v4_export, args.tls_export, args.mtls_export,
                  args.tls_export3):
            if p is not None and not p.startswith("/"):
                raise ValueError("export path %r is not absolute" % p)
        env = Env(args)
        tests, asked = select(args.tests)
        has_psk = hasattr(ssl.SSLContext, "set_psk_client_callback")
        args.psk_unsupported = bool(args.psk) and not has_psk
        if args.psk_unsupported:
            print("note: --psk needs Python 3.13; PSK1 is skipped", file=sys.stderr)
            args.psk = None
    except (ValueError, ssl.SSLError) as e:
        print("testserver.py: %s" % e, file=sys.stderr)
        return 2

    print("RFC 9289 conformance tests against %s port %d (%d tests)"
          % (env.host, env.port, len(tests)))
    start = time.monotonic()
    for t in tests:
        t0 = time.monotonic()
        t.status, t.reason = run_one(env, t)
        t.duration = time.monotonic() - t0
        print("%-10s %-66s : %s" % (t.code, t.doc, t.status))
        if t.reason and (t.status != PASS or args.verbose):
            print("%10s %s" % ("", t.reason))
        sys.stdout.flush()
    if env.tmp:
        env.tmp.cleanup()

    count = {s: sum(1 for t in tests if t.status == s) for s in (PASS, FAIL, WARN, OMIT, SKIP)}
    print("*" * 72)
    print("Command line asked for %d of %d tests (%d with prerequisites) in %.1f s"
          % (asked, len(TESTS), len(tests), time.monotonic() - start))
    print("Of those: %d Skipped, %d Failed, %d Warned, %d Omitted, %d Passed"
          % (count[SKIP], count[FAIL], count[WARN], count[OMIT], count[PASS]))

    if args.json:
        report = {"server": "%s:%d" % (env.host, env.port), "summary": count,
                  "tests": [{"code": t.code, "description": t.doc,
                             "flags": sorted(t.flags), "rfc9289_section": t.section,
                             "depends": t.deps, "status": t.status, "reason": t.reason,
                             "seconds": round(t.duration, 3)} for t in tests]}
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.tap:
        for t in tests:
            if t.status == PASS:
                print("ok - %s" % t.code)
            elif t.status == WARN:
                print("ok - %s # warning: %s" % (t.code, t.reason))
            elif t.status in (SKIP, OMIT):
                print("ok - %s # SKIP %s%s" % (t.code, "omitted: " if t.status == OMIT
                                               else "", t.reason))
            else:
                print("not ok - %s: %s" % (t.code, t.reason))
    return 1 if count[FAIL] else 0


if __name__ == "__main__":
    sys.exit(main())
