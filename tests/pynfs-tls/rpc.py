# SPDX-License-Identifier: GPL-2.0
"""XDR, ONC RPC (RFC 5531), record marking and the AUTH_TLS probe (RFC 9289).

Written once and shared by the conformance suite (testserver.py), the
scriptable peer (peer.py) and the unit tests (test_unit.py).  Python standard
library only.

  Packer / Unpacker          XDR (RFC 4506) primitives
  encode_call / decode_call  RPC call messages
  encode_reply_* / decode_reply
  frame / RecordReader       record marking (RFC 5531 section 11)
  encode_probe / is_probe / probe_verdict
                             the AUTH_TLS probe of RFC 9289 section 4.1
"""

import struct

# RPC message types and reply states (RFC 5531 section 9)
CALL, REPLY = 0, 1
MSG_ACCEPTED, MSG_DENIED = 0, 1
SUCCESS, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, \
    SYSTEM_ERR = range(6)
RPC_MISMATCH, AUTH_ERROR = 0, 1
AUTH_OK, AUTH_BADCRED, AUTH_REJECTEDCRED, AUTH_BADVERF, AUTH_REJECTEDVERF, \
    AUTH_TOOWEAK, AUTH_INVALIDRESP, AUTH_FAILED = range(8)

# Authentication flavors
AUTH_NONE, AUTH_SYS, AUTH_SHORT, AUTH_DH = 0, 1, 2, 3
RPCSEC_GSS = 6
AUTH_TLS = 7

RPC_VERSION = 2
MAX_AUTH_BYTES = 400
STARTTLS = b"STARTTLS"

ACCEPT_STAT_NAMES = {
    SUCCESS: "SUCCESS", PROG_UNAVAIL: "PROG_UNAVAIL",
    PROG_MISMATCH: "PROG_MISMATCH", PROC_UNAVAIL: "PROC_UNAVAIL",
    GARBAGE_ARGS: "GARBAGE_ARGS", SYSTEM_ERR: "SYSTEM_ERR",
}
AUTH_STAT_NAMES = {
    AUTH_OK: "AUTH_OK", AUTH_BADCRED: "AUTH_BADCRED",
    AUTH_REJECTEDCRED: "AUTH_REJECTEDCRED", AUTH_BADVERF: "AUTH_BADVERF",
    AUTH_REJECTEDVERF: "AUTH_REJECTEDVERF", AUTH_TOOWEAK: "AUTH_TOOWEAK",
    AUTH_INVALIDRESP: "AUTH_INVALIDRESP", AUTH_FAILED: "AUTH_FAILED",
    13: "RPCSEC_GSS_CREDPROBLEM", 14: "RPCSEC_GSS_CTXPROBLEM",
}
FLAVOR_NAMES = {AUTH_NONE: "AUTH_NONE", AUTH_SYS: "AUTH_SYS",
                AUTH_SHORT: "AUTH_SHORT", AUTH_DH: "AUTH_DH",
                RPCSEC_GSS: "RPCSEC_GSS", AUTH_TLS: "AUTH_TLS"}


class XDRError(ValueError):
    """Malformed or truncated XDR data."""


class RPCError(ValueError):
    """A message that is not a well-formed RPC message."""


class RecordError(ValueError):
    """Broken record marking (e.g. a record larger than allowed)."""


def _pad(n):
    return (4 - n % 4) % 4


class Packer:
    """XDR encoder: call pack_* in order, then get_buffer()."""

    def __init__(self):
        self._parts = []

    def get_buffer(self):
        return b"".join(self._parts)

    def pack_uint(self, v):
        if not 0 <= v <= 0xFFFFFFFF:
            raise XDRError("unsigned int out of range: %r" % (v,))
        self._parts.append(struct.pack(">I", v))

    def pack_int(self, v):
        if not -0x80000000 <= v <= 0x7FFFFFFF:
            raise XDRError("int out of range: %r" % (v,))
        self._parts.append(struct.pack(">i", v))

    def pack_enum(self, v):
        self.pack_int(v)

    def pack_bool(self, v):
        self.pack_uint(1 if v else 0)

    def pack_uhyper(self, v):
        if not 0 <= v <= 0xFFFFFFFFFFFFFFFF:
            raise XDRError("unsigned hyper out of range: %r" % (v,))
        self._parts.append(struct.pack(">Q", v))

    def pack_hyper(self, v):
        self._parts.append(struct.pack(">q", v))

    def pack_fopaque(self, n, data):
        """Fixed-length opaque of exactly n bytes."""
        if len(data) != n:
            raise XDRError("fixed opaque wants %d bytes, got %d" % (n, len(data)))
        self._parts.append(bytes(data) + b"\0" * _pad(n))

    def pack_opaque(self, data, maxlen=None):
        """Variable-length opaque."""
        data = bytes(data)
        if maxlen is not None and len(data) > maxlen:
            raise XDRError("opaque of %d bytes exceeds limit %d" % (len(data), maxlen))
        self.pack_uint(len(data))
        self._parts.append(data + b"\0" * _pad(len(data)))

    def pack_string(self, s, maxlen=None):
        self.pack_opaque(s.encode() if isinstance(s, str) else s, maxlen)

    def pack_array(self, items, pack_item):
        self.pack_uint(len(items))
        for item in items:
            pack_item(item)

    def pack_raw(self, data):
        """Bytes that are already XDR encoded (must be a multiple of 4)."""
        if len(data) % 4:
            raise XDRError("raw XDR data of %d bytes is not 4-byte aligned" % len(data))
        self._parts.append(bytes(data))


class Unpacker:
    """XDR decoder over a bytes object.

    strict_padding=False accepts non-zero padding bytes, which RFC 4506
    forbids but some senders leave (Linux 6.1's nfsd after a COMPOUND tag).
    """

    def __init__(self, data, strict_padding=True):
        self._data = bytes(data)
        self._pos = 0
        self.strict_padding = strict_padding

    def get_position(self):
        return self._pos

    def remaining(self):
        return len(self._data) - self._pos

    def get_rest(self):
        rest = self._data[self._pos:]
        self._pos = len(self._data)
        return rest

    def done(self):
        if self._pos != len(self._data):
            raise XDRError("%d unexpected bytes after the end of the message"
                           % (len(self._data) - self._pos))

    def _take(self, n, what):
        if n < 0 or self._pos + n > len(self._data):
            raise XDRError("truncated %s: need %d bytes at offset %d, have %d"
                           % (what, n, self._pos, len(self._data) - self._pos))
        b = self._data[self._pos:self._pos + n]
        self._pos += n
        return b

    def unpack_uint(self):
        return struct.unpack(">I", self._take(4, "unsigned int"))[0]

    def unpack_int(self):
        return struct.unpack(">i", self._take(4, "int"))[0]

    unpack_enum = unpack_int

    def unpack_bool(self):
        v = self.unpack_uint()
        if v > 1:
            raise XDRError("bool with value %d" % v)
        return bool(v)

    def unpack_uhyper(self):
        return struct.unpack(">Q", self._take(8, "unsigned hyper"))[0]

    def unpack_hyper(self):
        return struct.unpack(">q", self._take(8, "hyper"))[0]

    def unpack_fopaque(self, n):
        data = self._take(n, "fixed opaque")
        pad = self._take(_pad(n), "opaque padding")
        if self.strict_padding and pad.strip(b"\0"):
            raise XDRError("non-zero XDR padding")
        return data

    def unpack_opaque(self, maxlen=None):
        n = self.unpack_uint()
        if maxlen is not None and n > maxlen:
            raise XDRError("opaque length %d exceeds limit %d" % (n, maxlen))
        return self.unpack_fopaque(n)

    def unpack_string(self, maxlen=None):
        return self.unpack_opaque(maxlen)

    def unpack_array(self, unpack_item, maxlen=None):
        n = self.unpack_uint()
        if maxlen is not None and n > maxlen:
            raise XDRError("array of %d elements exceeds limit %d" % (n, maxlen))
        if n > self.remaining():
            raise XDRError("array of %d elements cannot fit in %d bytes"
                           % (n, self.remaining()))
        return [unpack_item() for _ in range(n)]


# ---------------------------------------------------------------------------
# RPC messages

class OpaqueAuth:
    """opaque_auth: a flavor and up to 400 bytes of body."""

    __slots__ = ("flavor", "body")

    def __init__(self, flavor=AUTH_NONE, body=b""):
        self.flavor = flavor
        self.body = bytes(body)

    def pack(self, p):
        p.pack_enum(self.flavor)
        p.pack_opaque(self.body, MAX_AUTH_BYTES)

    @classmethod
    def unpack(cls, u):
        flavor = u.unpack_enum()
        return cls(flavor, u.unpack_opaque(MAX_AUTH_BYTES))

    def __eq__(self, other):
        return (isinstance(other, OpaqueAuth) and self.flavor == other.flavor
                and self.body == other.body)

    def __repr__(self):
        return "OpaqueAuth(%s, %r)" % (FLAVOR_NAMES.get(self.flavor, self.flavor),
                                       self.body)


NULL_AUTH = OpaqueAuth(AUTH_NONE, b"")
TLS_CRED = OpaqueAuth(AUTH_TLS, b"")
STARTTLS_VERF = OpaqueAuth(AUTH_NONE, STARTTLS)


def auth_sys(uid=0, gid=0, gids=(), machine="pynfs-tls", stamp=0):
    """An AUTH_SYS credential (RFC 5531 appendix A)."""
    p = Packer()
    p.pack_uint(stamp)
    p.pack_string(machine, 255)
    p.pack_uint(uid)
    p.pack_uint(gid)
    p.pack_array(list(gids), p.pack_uint)
    return OpaqueAuth(AUTH_SYS, p.get_buffer())


class Call:
    """A decoded RPC call."""

    def __init__(self, xid, prog, vers, proc, cred, verf, args, rpcvers=RPC_VERSION):
        self.xid, self.prog, self.vers, self.proc = xid, prog, vers, proc
        self.cred, self.verf, self.args, self.rpcvers = cred, verf, args, rpcvers

    def __repr__(self):
        return "Call(xid=%#x, prog=%d, vers=%d, proc=%d, cred=%r)" % (
            self.xid, self.prog, self.vers, self.proc, self.cred)


class Reply:
    """A decoded RPC reply.  Fields that do not apply are None."""

    def __init__(self, xid):
        self.xid = xid
        self.reply_stat = None
        self.verf = None          # accepted replies
        self.accept_stat = None
        self.results = b""        # SUCCESS: the procedure's result bytes
        self.mismatch = None      # (low, high) for PROG_MISMATCH/RPC_MISMATCH
        self.reject_stat = None   # denied replies
        self.auth_stat = None

    def describe(self):
        if self.reply_stat == MSG_ACCEPTED:
            s = "MSG_ACCEPTED %s, verifier %s %r" % (
                ACCEPT_STAT_NAMES.get(self.accept_stat, self.accept_stat),
                FLAVOR_NAMES.get(self.verf.flavor, self.verf.flavor), self.verf.body)
            if self.accept_stat == SUCCESS:
                s += ", %d result bytes" % len(self.results)
            return s
        if self.reject_stat == AUTH_ERROR:
            name = AUTH_STAT_NAMES.get(self.auth_stat, self.auth_stat)
            return "MSG_DENIED AUTH_ERROR %s" % name
        return "MSG_DENIED RPC_MISMATCH %r" % (self.mismatch,)

    __repr__ = describe


def encode_call(xid, prog, vers, proc, args=b"", cred=NULL_AUTH, verf=NULL_AUTH,
                rpcvers=RPC_VERSION):
    p = Packer()
    p.pack_uint(xid)
    p.pack_enum(CALL)
    p.pack_uint(rpcvers)
    p.pack_uint(prog)
    p.pack_uint(vers)
    p.pack_uint(proc)
    cred.pack(p)
    verf.pack(p)
    p.pack_raw(args)
    return p.get_buffer()


def msg_type(msg):
    """CALL or REPLY for a raw RPC message; raises RPCError when too short."""
    if len(msg) < 8:
        raise RPCError("RPC message of %d bytes is too short" % len(msg))
    return struct.unpack(">I", msg[4:8])[0]


def decode_call(msg):
    try:
        u = Unpacker(msg)
        xid = u.unpack_uint()
        mtype = u.unpack_enum()
        if mtype != CALL:
            raise RPCError("message type %d is not CALL" % mtype)
        rpcvers = u.unpack_uint()
        prog, vers, proc = u.unpack_uint(), u.unpack_uint(), u.unpack_uint()
        cred = OpaqueAuth.unpack(u)
        verf = OpaqueAuth.unpack(u)
        return Call(xid, prog, vers, proc, cred, verf, u.get_rest(), rpcvers)
    except XDRError as e:
        raise RPCError("malformed RPC call: %s" % e) from None


def encode_reply_accepted(xid, accept_stat=SUCCESS, results=b"", verf=NULL_AUTH,
                          mismatch=(0, 0)):
    p = Packer()
    p.pack_uint(xid)
    p.pack_enum(REPLY)
    p.pack_enum(MSG_ACCEPTED)
    verf.pack(p)
    p.pack_enum(accept_stat)
    if accept_stat == SUCCESS:
        p.pack_raw(results)
    elif accept_stat == PROG_MISMATCH:
        p.pack_uint(mismatch[0])
        p.pack_uint(mismatch[1])
    return p.get_buffer()


def encode_reply_denied(xid, reject_stat=AUTH_ERROR, auth_stat=AUTH_BADCRED,
                        mismatch=(RPC_VERSION, RPC_VERSION)):
    p = Packer()
    p.pack_uint(xid)
    p.pack_enum(REPLY)
    p.pack_enum(MSG_DENIED)
    p.pack_enum(reject_stat)
    if reject_stat == RPC_MISMATCH:
        p.pack_uint(mismatch[0])
        p.pack_uint(mismatch[1])
    else:
        p.pack_enum(auth_stat)
    return p.get_buffer()


def decode_reply(msg):
    try:
        u = Unpacker(msg)
        r = Reply(u.unpack_uint())
        mtype = u.unpack_enum()
        if mtype != REPLY:
            raise RPCError("message type %d is not REPLY" % mtype)
        r.reply_stat = u.unpack_enum()
        if r.reply_stat == MSG_ACCEPTED:
            r.verf = OpaqueAuth.unpack(u)
            r.accept_stat = u.unpack_enum()
            if r.accept_stat == SUCCESS:
                r.results = u.get_rest()
            elif r.accept_stat == PROG_MISMATCH:
                r.mismatch = (u.unpack_uint(), u.unpack_uint())
        elif r.reply_stat == MSG_DENIED:
            r.reject_stat = u.unpack_enum()
            if r.reject_stat == RPC_MISMATCH:
                r.mismatch = (u.unpack_uint(), u.unpack_uint())
            elif r.reject_stat == AUTH_ERROR:
                r.auth_stat = u.unpack_enum()
            else:
                raise RPCError("unknown reject_stat %d" % r.reject_stat)
        else:
            raise RPCError("unknown reply_stat %d" % r.reply_stat)
        if r.accept_stat != SUCCESS:
            u.done()
        return r
    except XDRError as e:
        raise RPCError("malformed RPC reply: %s" % e) from None


# ---------------------------------------------------------------------------
# The AUTH_TLS probe (RFC 9289 section 4.1)

def encode_probe(xid, prog, vers):
    """A NULL call with an empty AUTH_TLS credential and an AUTH_NONE verifier."""
    return encode_call(xid, prog, vers, 0, b"", TLS_CRED, NULL_AUTH)


def is_probe(call):
    return call.proc == 0 and call.cred.flavor == AUTH_TLS


def encode_probe_reply(xid, starttls=True):
    """The reply of a server that offers TLS (starttls) or does not."""
    return encode_reply_accepted(xid, SUCCESS, b"",
                                 STARTTLS_VERF if starttls else NULL_AUTH)


def probe_verdict(reply):
    """Classify the reply to a probe.

    Returns (verdict, detail) where verdict is:
      "starttls"   MSG_ACCEPTED with the AUTH_NONE "STARTTLS" verifier: start TLS
      "no-tls"     a well-formed answer of a server without RPC-with-TLS
                   (MSG_ACCEPTED with an empty AUTH_NONE verifier, or MSG_DENIED)
      "malformed"  anything else: the client must not start TLS
    """
    d = reply.describe()
    if reply.reply_stat == MSG_ACCEPTED:
        if reply.verf.flavor == AUTH_NONE and reply.verf.body == STARTTLS:
            return "starttls", d
        if reply.verf.flavor == AUTH_NONE and reply.verf.body == b"":
            return "no-tls", d
        return "malformed", "verifier is not AUTH_NONE \"STARTTLS\" nor empty: " + d
    return "no-tls", d


# ---------------------------------------------------------------------------
# Record marking (RFC 5531 section 11)

LAST_FRAG = 0x80000000
MAX_FRAG = 0x7FFFFFFF


def frame(record, sizes=None):
    """Record-mark one RPC message.

    sizes: None for a single fragment, or a list of fragment sizes whose sum
    is len(record) (zero-length fragments are allowed by the RFC).
    """
    record = bytes(record)
    if sizes is None:
        sizes = [len(record)]
    if sum(sizes) != len(record):
        raise RecordError("fragment sizes %r do not add up to %d bytes"
                          % (sizes, len(record)))
    out, pos = [], 0
    for i, n in enumerate(sizes):
        if not 0 <= n <= MAX_FRAG:
            raise RecordError("fragment size %d out of range" % n)
        last = LAST_FRAG if i == len(sizes) - 1 else 0
        out.append(struct.pack(">I", last | n))
        out.append(record[pos:pos + n])
        pos += n
    return b"".join(out)


class RecordReader:
    """Incremental record-marking decoder.

    feed() bytes as they arrive, then pop complete records with next_record().
    Records larger than max_record raise RecordError (a server would drop the
    connection there).
    """

    def __init__(self, max_record=4 << 20):
        self._buf = bytearray()
        self._frags = []
        self._size = 0
        self._records = []
        self._error = None
        self.max_record = max_record
        self.fragments_seen = 0

    def feed(self, data):
        """Parse data.  Bytes that cannot be record marking (a TLS alert
        behind the last reply, say) raise RecordError once the complete
        records before them have been taken with next_record()."""
        self._buf += data
        while self._error is None and len(self._buf) >= 4:
            hdr = struct.unpack(">I", self._buf[:4])[0]
            n = hdr & MAX_FRAG
            if self._size + n > self.max_record:
                self._error = RecordError("record of more than %d bytes (fragment header %#010x)"
                                          % (self.max_record, hdr))
                break
            if len(self._buf) < 4 + n:
                break
            self._frags.append(bytes(self._buf[4:4 + n]))
            self._size += n
            del self._buf[:4 + n]
            self.fragments_seen += 1
            if hdr & LAST_FRAG:
                self._records.append(b"".join(self._frags))
                self._frags, self._size = [], 0
        if self._error is not None and not self._records:
            raise self._error

    def next_record(self):
        """The oldest complete record, or None."""
        if self._records:
            return self._records.pop(0)
        if self._error is not None:
            raise self._error
        return None

    def records(self, data=b""):
        """feed(data), then each complete record, oldest first."""
        if data:
            self.feed(data)
        while True:
            rec = self.next_record()
            if rec is None:
                return
            yield rec

    def pending(self):
        """Bytes held that do not yet form a complete record."""
        return len(self._buf) + self._size

    def take_buffer(self):
        """Remove and return the bytes not yet parsed into a fragment.

        Used when the stream switches to TLS: whatever followed the last
        record in cleartext belongs to the TLS layer.
        """
        data = bytes(self._buf)
        self._buf.clear()
        return data
