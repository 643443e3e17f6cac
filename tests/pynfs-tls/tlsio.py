# SPDX-License-Identifier: GPL-2.0
"""A TCP connection that carries RPC records, in cleartext or in TLS.

TLS runs on ssl.SSLObject over memory BIOs, not on ssl.SSLSocket, so that the
tests and the peer keep the raw socket in hand: they can write cleartext
after the handshake, choose where TLS records end, and inject bytes that make
OpenSSL send a real fatal alert.  Shared by testserver.py, peer.py and
pynfs_tls.py.
"""

import ctypes
import socket
import ssl
import sys
import time

import rpc

ALPN_SUNRPC = "sunrpc"


class Closed(ConnectionError):
    """The connection ended.  how is one of:
      eof           TCP FIN without a TLS closure alert
      reset         TCP RST
      close_notify  the peer sent a TLS close_notify alert
      tls-error     a TLS alert from the peer or a TLS protocol error
      timeout       nothing arrived in time
    """

    def __init__(self, how, detail=""):
        super().__init__("%s%s" % (how, ": " + detail if detail else ""))
        self.how = how
        self.detail = detail


class HandshakeError(ConnectionError):
    """The TLS handshake failed; how is as for Closed."""

    def __init__(self, how, detail=""):
        super().__init__("TLS handshake failed: %s%s" % (how, ": " + detail if detail else ""))
        self.how = how
        self.detail = detail


def parse_hostport(s, default_port=2049):
    """HOST, HOST:PORT, [V6ADDR] or [V6ADDR]:PORT -> (host, port)."""
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError("unterminated '[' in address %r" % s)
        host, rest = s[1:end], s[end + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError("junk after ']' in address %r" % s)
        port = rest[1:] if rest else None
    elif s.count(":") == 1:
        host, port = s.split(":")
    else:
        host, port = s, None
    if not host:
        raise ValueError("no host in address %r" % s)
    if port is None or port == "":
        return host, default_port
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("bad port %r in address %r" % (port, s))
    return host, int(port)


class Conn:
    """One TCP connection; cleartext until start_tls()."""

    def __init__(self, sock, name=""):
        self.sock = sock
        self.name = name
        self.tls = None
        self.inbio = self.outbio = None
        self.reader = rpc.RecordReader()
        self.timeout = 5.0
        self.backchannel = []   # reverse-direction calls seen by call()

    @classmethod
    def connect(cls, host, port, timeout=5.0, privileged=False):
        last = None
        for fam, typ, proto, _, addr in socket.getaddrinfo(host, port, 0,
                                                           socket.SOCK_STREAM):
            s = socket.socket(fam, typ, proto)
            s.settimeout(timeout)
            try:
                if privileged:
                    _bind_reserved(s, fam)
                s.connect(addr)
                c = cls(s, "%s:%d" % (host, port))
                c.timeout = timeout
                return c
            except OSError as e:
                last = e
                s.close()
        raise ConnectionError("cannot connect to %s port %d: %s" % (host, port, last))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close; a TLS session first gets a close_notify (not waited for)."""
        if self.tls is not None:
            try:
                self.tls.unwrap()
            except (ssl.SSLError, ValueError):
                pass
            try:
                self._flush()
            except (Closed, OSError):
                pass
            self.tls = None
        try:
            self.sock.close()
        except OSError:
            pass

    # -- raw bytes ---------------------------------------------------------

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed("reset", str(e)) from None

    def _recv_raw(self, timeout):
        self.sock.settimeout(timeout if timeout is None else max(timeout, 0.001))
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise Closed("timeout", "nothing received in %.1f s" % timeout) from None
        except ConnectionResetError as e:
            raise Closed("reset", str(e)) from None

    def _flush(self):
        if self.outbio is not None:
            data = self.outbio.read()
            if data:
                self.send_raw(data)

    # -- TLS ----------------------------------------------------------------

    def start_tls(self, ctx, server_side=False, server_hostname=None, timeout=None,
                  initial=b"", piggyback=b""):
        """Run the TLS handshake on this connection; raises HandshakeError.

        Bytes already read past the last cleartext record, and initial, are
        the start of the TLS stream.  piggyback (application data) goes out
        in the same TCP write as the last handshake flight (the client's
        Finished).
        """
        timeout = self.timeout if timeout is None else timeout
        self.inbio, self.outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inbio, self.outbio, server_side=server_side,
                                server_hostname=server_hostname)
        leftover = self.reader.take_buffer() + initial
        if leftover:
            self.inbio.write(leftover)
        self.reader = rpc.RecordReader()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.tls.do_handshake()
                if piggyback:
                    self.tls.write(piggyback)
                self._flush()
                return
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as e:
                self._flush_after_error()
                raise HandshakeError("tls-error", _ssl_reason(e)) from None
            try:
                self._flush()
                data = self._recv_raw(deadline - time.monotonic())
            except Closed as e:
                raise HandshakeError(e.how, e.detail) from None
            if not data:
                raise HandshakeError("eof", "peer closed TCP during the handshake")
            self.inbio.write(data)

    def _flush_after_error(self):
        """Send what TLS has queued after an error (its alert, say): the
        peer may be gone already."""
        try:
            self._flush()
        except Closed:
            pass

    def send(self, data):
        """Send bytes: one TLS write (one or more TLS records) or cleartext."""
        if self.tls is None:
            self.send_raw(data)
            return
        try:
            self.tls.write(data)
        except ssl.SSLError as e:
            raise Closed("tls-error", _ssl_reason(e)) from None
        self._flush()

    def recv(self, timeout=None):
        """Some bytes; raises Closed at the end of the connection."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self.tls is None:
            data = self._recv_raw(timeout)
            if not data:
                raise Closed("eof", "peer closed TCP")
            return data
        while True:
            try:
                data = self.tls.read(65536)
                self._flush()
                if data:
                    return data
                # CPython returns b"" once the peer's close_notify arrived
                # (a bare TCP FIN raises SSLEOFError instead).
                raise Closed("close_notify", "peer sent a TLS close_notify alert")
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                raise Closed("close_notify", "peer sent a TLS close_notify alert") from None
            except ssl.SSLEOFError:
                raise Closed("eof", "peer closed TCP without close_notify") from None
            except ssl.SSLError as e:
                self._flush_after_error()
                raise Closed("tls-error", _ssl_reason(e)) from None
            self._flush()
            data = self._recv_raw(deadline - time.monotonic())
            if not data:
                self.inbio.write_eof()
            else:
                self.inbio.write(data)

    def recv_ready(self):
        """For select() loops: read once from a readable socket.

        Returns (application bytes, possibly empty; Closed or None).  When
        both are set, the bytes came before the end of the stream.
        """
        try:
            raw = self._recv_raw(self.timeout)
        except Closed as e:
            return b"", e
        if self.tls is None:
            return raw, (None if raw else Closed("eof", "peer closed TCP"))
        if raw:
            self.inbio.write(raw)
        else:
            self.inbio.write_eof()
        return self.drain()

    def drain(self):
        """Application bytes the TLS layer already holds, without reading
        the socket: what arrived in the same read as the peer's Finished,
        for instance.  Returns (bytes, Closed or None) as recv_ready."""
        out = []
        while True:
            try:
                d = self.tls.read(65536)
                if not d:       # b"": the peer's close_notify (see recv)
                    return b"".join(out), Closed("close_notify",
                                                 "peer sent a TLS close_notify alert")
                out.append(d)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                return b"".join(out), Closed("close_notify", "peer sent a TLS close_notify alert")
            except ssl.SSLEOFError:
                return b"".join(out), Closed("eof", "peer closed TCP without close_notify")
            except ssl.SSLError as e:
                self._flush_after_error()
                return b"".join(out), Closed("tls-error", _ssl_reason(e))
        try:
            self._flush()
        except Closed as e:
            return b"".join(out), e
        return b"".join(out), None

    def send_fatal_alert(self):
        """Make OpenSSL send a real fatal alert (bad_record_mac) to the peer.

        A forged application-data record is fed to the TLS layer as if the
        peer had sent it; OpenSSL cannot decrypt it, fails the session and
        writes the alert, which is then flushed to the peer.  Returns
        OpenSSL's reason.
        """
        self.inbio.write(b"\x17\x03\x03\x00\x20" + bytes(range(32)))
        try:
            self.tls.read(65536)
        except ssl.SSLError as e:
            self._flush()
            return _ssl_reason(e)
        raise RuntimeError("OpenSSL accepted a forged TLS record")

    def send_key_update(self, request_peer=False):
        """Send a TLS 1.3 KeyUpdate (RFC 8446 4.6.3) and switch our sending
        key: records written after it use the new key.  With request_peer,
        update_requested is set (the peer should answer with its own).
        Python's ssl cannot do this; OpenSSL's SSL_key_update() is reached
        through ctypes (see post_handshake below)."""
        post_handshake(self.tls, "key_update", 1 if request_peer else 0)
        self.tls.do_handshake()     # writes the KeyUpdate ...
        self._flush()               # ... to the peer

    def send_session_tickets(self, count=1):
        """Send count TLS 1.3 NewSessionTicket messages now (RFC 8446
        4.6.1), mid-stream: a harmless post-handshake message."""
        for _ in range(count):
            post_handshake(self.tls, "new_session_ticket")
        self.tls.do_handshake()
        self._flush()

    def close_notify(self, timeout=None):
        """Send close_notify and wait for the peer's.

        Returns "close_notify" when the peer answered with its own closure
        alert, "eof" when it closed TCP without one; raises Closed on other
        outcomes (timeout, reset, TLS error).  Application data that arrives
        in between is dropped.
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        try:
            self.tls.unwrap()       # sends close_notify ...
        except ssl.SSLWantReadError:
            pass                    # ... and would like to read the peer's
        except ssl.SSLError as e:
            raise Closed("tls-error", _ssl_reason(e)) from None
        self._flush()
        while True:
            try:
                if self.tls.read(65536) == b"":
                    return "close_notify"
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return "close_notify"
            except ssl.SSLEOFError:
                return "eof"
            except ssl.SSLError as e:
                raise Closed("tls-error", _ssl_reason(e)) from None
            try:
                data = self._recv_raw(deadline - time.monotonic())
            except Closed as e:
                if e.how == "reset":
                    return "eof"
                raise
            if data:
                self.inbio.write(data)
            else:
                self.inbio.write_eof()

    # -- RPC records ---------------------------------------------------------

    def send_record(self, msg, sizes=None):
        self.send(rpc.frame(msg, sizes))

    def recv_record(self, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            r = self.reader.next_record()
            if r is not None:
                return r
            self.reader.feed(self.recv(deadline - time.monotonic()))

    def call(self, msg, timeout=None):
        """Send one call, return the decoded reply with the same xid."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        xid = rpc.decode_call(msg).xid
        self.send_record(msg)
        while True:
            rep = self.recv_record(deadline - time.monotonic())
            if rpc.msg_type(rep) != rpc.REPLY:
                self.backchannel.append(rep)    # for the caller to answer
                continue
            r = rpc.decode_reply(rep)
            if r.xid == xid:
                return r

    def next_backchannel_call(self, timeout=None):
        """The next reverse-direction call (NFSv4.1 backchannel) on this connection."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not self.backchannel:
            rec = self.recv_record(deadline - time.monotonic())
            if rpc.msg_type(rec) == rpc.CALL:
                self.backchannel.append(rec)
        return rpc.decode_call(self.backchannel.pop(0))

    def describe_tls(self):
        if self.tls is None:
            return "cleartext"
        return "%s %s ALPN %r" % (self.tls.version(), self.tls.cipher()[0],
                                  self.tls.selected_alpn_protocol())


def _bind_reserved(s, fam):
    """Bind a port below 1024 (servers may insist on it for AUTH_SYS)."""
    for port in range(1023, 600, -1):
        try:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
            return
        except PermissionError:
            return          # not root: leave it to the kernel
        except OSError:
            continue


def _ssl_reason(e):
    reason = getattr(e, "reason", None)
    verify = getattr(e, "verify_message", None)
    if verify:
        return "%s (%s)" % (reason or e, verify)
    return str(reason or e)


# ---------------------------------------------------------------------------
# SSL contexts

def parse_psk(s):
    """IDENTITY:HEXKEY -> (identity, key bytes); ValueError names the problem."""
    ident, sep, hexkey = s.partition(":")
    if not sep or not ident:
        raise ValueError("--psk wants IDENTITY:HEXKEY, got %r" % s)
    try:
        key = bytes.fromhex(hexkey)
    except ValueError:
        raise ValueError("--psk key %r is not hexadecimal" % hexkey) from None
    if len(key) < 16:
        raise ValueError("--psk key has %d bytes; want at least 16" % len(key))
    return ident, key


def client_context(alpn=(ALPN_SUNRPC,), min_version=ssl.TLSVersion.TLSv1_3,
                   max_version=None, cafile=None, certfile=None, keyfile=None,
                   check_hostname=False, psk=None):
    """A TLS client context.  Without cafile the server is not verified.

    psk: (identity, key) to offer a TLS 1.3 PSK (Python 3.13+).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if psk:
        if not hasattr(ctx, "set_psk_client_callback"):
            raise ValueError("TLS PSK needs Python 3.13 or later (this is %d.%d)"
                             % sys.version_info[:2])
        ctx.set_psk_client_callback(lambda hint: psk)
    ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def server_context(certfile, keyfile, client_ca=None, client_auth="none",
                   min_version=ssl.TLSVersion.TLSv1_3, max_version=None, psk=None):
    """A TLS server context; client_auth is none, optional or required.

    psk: (identity, key) to accept TLS 1.3 PSK sessions (Python 3.13+); a
    certificate is then optional.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    if psk:
        if not hasattr(ctx, "set_psk_server_callback"):
            raise ValueError("TLS PSK needs Python 3.13 or later (this is %d.%d)"
                             % sys.version_info[:2])
        ident, key = psk
        ctx.set_psk_server_callback(lambda got: key if got == ident else b"")
    if client_auth != "none":
        if not client_ca:
            raise ValueError("client authentication %r needs a client CA file" % client_auth)
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED if client_auth == "required" else ssl.CERT_OPTIONAL
    # No session tickets: RFC 9289 forbids 0-RTT and tickets only add noise.
    ctx.num_tickets = 0
    return ctx


def watch_handshake(ctx):
    """Record the TLS handshake messages seen on ctx's connections.

    Returns a list that fills with (direction, message type name) tuples, or
    None when this Python cannot observe handshake messages.
    """
    if not hasattr(ctx, "_msg_callback"):
        return None
    seen = []

    def cb(conn, direction, version, content_type, msg_type, data):
        if content_type == ssl._TLSContentType.HANDSHAKE:
            seen.append((direction, getattr(msg_type, "name", str(msg_type))))
    ctx._msg_callback = cb
    return seen


# ---------------------------------------------------------------------------
# Server-side ALPN selection with full control (through OpenSSL directly).
#
# ssl.SSLContext.set_alpn_protocols() on a server ignores a client whose list
# does not overlap: the handshake goes on without ALPN.  RFC 9289 wants such a
# client refused, and the misbehaving peer wants to answer with a protocol the
# client never offered.  SSL_CTX_set_alpn_select_cb does both; the SSL_CTX
# pointer is read from the SSLContext object and checked before use.

SSL_TLSEXT_ERR_OK, SSL_TLSEXT_ERR_ALERT_FATAL, SSL_TLSEXT_ERR_NOACK = 0, 2, 3

_ALPN_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                            ctypes.POINTER(ctypes.c_ubyte),
                            ctypes.POINTER(ctypes.c_ubyte), ctypes.c_uint,
                            ctypes.c_void_p)


def _libssl():
    path = None
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                if "libssl.so" in line:
                    path = line.split()[-1]
                    break
    except OSError:
        pass
    if path is None:
        raise OSError("libssl is not mapped into this process")
    return ctypes.CDLL(path)


def _ssl_ctx_ptr(ctx, lib):
    if sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        raise OSError("needs a release build of CPython")
    ptr = ctypes.c_void_p.from_address(id(ctx) + 2 * ctypes.sizeof(ctypes.c_void_p)).value
    lib.SSL_CTX_get_options.restype = ctypes.c_uint64
    lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
    if not ptr or lib.SSL_CTX_get_options(ptr) != int(ctx.options):
        raise OSError("cannot locate the SSL_CTX of this SSLContext")
    return ptr


def set_alpn_select(ctx, chooser):
    """Install chooser(offered: list of bytes) as ctx's ALPN selection.

    chooser returns the protocol to answer with (bytes, which need not be one
    the client offered), b"" to answer without ALPN, or None to abort the
    handshake with a no_application_protocol alert.  Raises OSError when
    OpenSSL cannot be reached this way.
    """
    lib = _libssl()
    ptr = _ssl_ctx_ptr(ctx, lib)
    keep = {}

    def cb(ssl_, out, outlen, inp, inlen, arg):
        raw = ctypes.string_at(inp, inlen)
        offered, i = [], 0
        while i < len(raw):
            n = raw[i]
            offered.append(raw[i + 1:i + 1 + n])
            i += 1 + n
        try:
            choice = chooser(offered)
        except Exception:               # never let an exception unwind into C
            return SSL_TLSEXT_ERR_ALERT_FATAL
        if choice is None:
            return SSL_TLSEXT_ERR_ALERT_FATAL
        if choice == b"":
            return SSL_TLSEXT_ERR_NOACK
        buf = keep.setdefault(choice, ctypes.create_string_buffer(choice, len(choice)))
        out[0] = ctypes.cast(buf, ctypes.POINTER(ctypes.c_ubyte))
        outlen[0] = len(choice)
        return SSL_TLSEXT_ERR_OK

    cfunc = _ALPN_CB(cb)
    lib.SSL_CTX_set_alpn_select_cb.restype = None
    lib.SSL_CTX_set_alpn_select_cb.argtypes = [ctypes.c_void_p, _ALPN_CB, ctypes.c_void_p]
    lib.SSL_CTX_set_alpn_select_cb(ptr, cfunc, None)
    ctx._rpctls_alpn_keep = (cfunc, keep, chooser)


# ---------------------------------------------------------------------------
# TLS 1.3 post-handshake messages on demand (through OpenSSL directly).
#
# Python's ssl has no call for a KeyUpdate or an extra NewSessionTicket.
# OpenSSL has SSL_key_update() and SSL_new_session_ticket(); the SSL pointer
# is read from the ssl.SSLObject's _ssl._SSLSocket (after PyObject_HEAD and
# the weak reference to the socket, as in CPython 3.8 to 3.13) and checked
# with SSL_get_SSL_CTX() against the SSLContext's own SSL_CTX before use.

def _ssl_ptr(sslobj, lib):
    inner = getattr(sslobj, "_sslobj", None)
    if inner is None:
        raise OSError("not an ssl.SSLObject with an OpenSSL connection")
    ptr = ctypes.c_void_p.from_address(id(inner) + 3 * ctypes.sizeof(ctypes.c_void_p)).value
    ctx_ptr = _ssl_ctx_ptr(sslobj.context, lib)
    lib.SSL_get_SSL_CTX.restype = ctypes.c_void_p
    lib.SSL_get_SSL_CTX.argtypes = [ctypes.c_void_p]
    if not ptr or lib.SSL_get_SSL_CTX(ptr) != ctx_ptr:
        raise OSError("cannot locate the SSL of this SSLObject")
    return ptr


def post_handshake(sslobj, what, arg=0):
    """Queue a post-handshake message on an established TLS 1.3 session:
    what is "key_update" (arg: 1 = update_requested) or
    "new_session_ticket".  The message goes out at the next do_handshake()
    or write.  Raises OSError when OpenSSL refuses or cannot be reached."""
    lib = _libssl()
    ptr = _ssl_ptr(sslobj, lib)
    lib.SSL_version.restype = ctypes.c_int
    lib.SSL_version.argtypes = [ctypes.c_void_p]
    if lib.SSL_version(ptr) != 0x0304:
        raise OSError("%s needs TLS 1.3 (session version %#x)" % (what, lib.SSL_version(ptr)))
    if what == "key_update":
        lib.SSL_key_update.restype = ctypes.c_int
        lib.SSL_key_update.argtypes = [ctypes.c_void_p, ctypes.c_int]
        ok = lib.SSL_key_update(ptr, arg)
    elif what == "new_session_ticket":
        lib.SSL_new_session_ticket.restype = ctypes.c_int
        lib.SSL_new_session_ticket.argtypes = [ctypes.c_void_p]
        ok = lib.SSL_new_session_ticket(ptr)
    else:
        raise ValueError("unknown post-handshake message %r" % what)
    if ok != 1:
        raise OSError("OpenSSL refused %s" % what)
