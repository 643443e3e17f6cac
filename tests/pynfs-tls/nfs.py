# SPDX-License-Identifier: GPL-2.0
"""The NFS pieces the conformance tests need, over rpc.py.

  NFSv4.0 COMPOUND (RFC 7530): PUTROOTFH, PUTFH, GETFH, GETATTR, LOOKUP
  NFSv3 (RFC 1813): NULL, GETATTR
  MOUNT v3 (RFC 1813 appendix I): MNT, UMNT
  portmapper v2 (RFC 1833): GETPORT
"""

import functools
import struct

import rpc

NFS_PROGRAM, MOUNT_PROGRAM, PMAP_PROGRAM = 100003, 100005, 100000
IPPROTO_TCP = 6

# NFSv4 operations and status codes used here
OP_CLOSE, OP_GETATTR, OP_GETFH, OP_LOOKUP, OP_OPEN, OP_OPEN_CONFIRM = 4, 9, 10, 15, 18, 20
OP_PUTFH, OP_PUTROOTFH, OP_READ, OP_REMOVE, OP_SETCLIENTID = 22, 24, 25, 28, 35
OP_SETCLIENTID_CONFIRM, OP_WRITE = 36, 38
OP_SECINFO = 33
RPCSEC_GSS = 6
OP_EXCHANGE_ID, OP_CREATE_SESSION, OP_DESTROY_SESSION, OP_SEQUENCE = 42, 43, 44, 53
OP_DESTROY_CLIENTID, OP_DELEGRETURN, OP_RECLAIM_COMPLETE = 57, 8, 58
CREATE_SESSION4_FLAG_CONN_BACK_CHAN = 0x2
CB_PROGRAM = 0x40000000
OP_NAMES = {OP_CLOSE: "CLOSE", OP_GETATTR: "GETATTR", OP_GETFH: "GETFH",
            OP_LOOKUP: "LOOKUP", OP_OPEN: "OPEN", OP_OPEN_CONFIRM: "OPEN_CONFIRM",
            OP_PUTFH: "PUTFH", OP_PUTROOTFH: "PUTROOTFH", OP_READ: "READ",
            OP_REMOVE: "REMOVE", OP_SETCLIENTID: "SETCLIENTID",
            OP_SETCLIENTID_CONFIRM: "SETCLIENTID_CONFIRM", OP_WRITE: "WRITE",
            OP_EXCHANGE_ID: "EXCHANGE_ID", OP_CREATE_SESSION: "CREATE_SESSION",
            OP_DESTROY_SESSION: "DESTROY_SESSION", OP_SEQUENCE: "SEQUENCE",
            OP_DESTROY_CLIENTID: "DESTROY_CLIENTID", OP_DELEGRETURN: "DELEGRETURN",
            OP_RECLAIM_COMPLETE: "RECLAIM_COMPLETE", OP_SECINFO: "SECINFO"}
NFS4_OK = 0
_ERRS = """PERM 1 NOENT 2 IO 5 NXIO 6 ACCESS 13 EXIST 17 XDEV 18 NOTDIR 20 ISDIR 21
INVAL 22 FBIG 27 NOSPC 28 ROFS 30 MLINK 31 NAMETOOLONG 63 NOTEMPTY 66 DQUOT 69
STALE 70 BADHANDLE 10001 BAD_COOKIE 10003 NOTSUPP 10004 TOOSMALL 10005
SERVERFAULT 10006 BADTYPE 10007 DELAY 10008 SAME 10009 DENIED 10010 EXPIRED 10011
LOCKED 10012 GRACE 10013 FHEXPIRED 10014 SHARE_DENIED 10015 WRONGSEC 10016
CLID_INUSE 10017 RESOURCE 10018 MOVED 10019 NOFILEHANDLE 10020
MINOR_VERS_MISMATCH 10021 STALE_CLIENTID 10022 STALE_STATEID 10023
OLD_STATEID 10024 BAD_STATEID 10025 BAD_SEQID 10026 NOT_SAME 10027
LOCK_RANGE 10028 SYMLINK 10029 RESTOREFH 10030 LEASE_MOVED 10031
ATTRNOTSUPP 10032 NO_GRACE 10033 RECLAIM_BAD 10034 RECLAIM_CONFLICT 10035
BADXDR 10036 LOCKS_HELD 10037 OPENMODE 10038 BADOWNER 10039 BADCHAR 10040
BADNAME 10041 BAD_RANGE 10042 LOCK_NOTSUPP 10043 OP_ILLEGAL 10044""".split()
NFS4ERR_NAMES = {int(n): "NFS4ERR_" + e for e, n in zip(_ERRS[::2], _ERRS[1::2])}
NFS4ERR_NAMES[0] = "NFS4_OK"
NFS4ERR_WRONGSEC = 10016
NFS4ERR_DELAY, NFS4ERR_GRACE = 10008, 10013
NFS4ERR_MINOR_VERS_MISMATCH = 10021

# fattr4 attribute numbers decoded here (all fixed-size)
FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FSID = 1, 3, 4, 8
FATTR4_LEASE_TIME, FATTR4_FILEID, FATTR4_MODE = 10, 20, 33
NF4REG, NF4DIR = 1, 2
NF3REG, NF3DIR = 1, 2


def status4_name(st):
    return NFS4ERR_NAMES.get(st, "NFS4ERR_%d" % st)


def bitmap(attrs):
    words = [0] * (max(attrs) // 32 + 1 if attrs else 0)
    for a in attrs:
        words[a // 32] |= 1 << (a % 32)
    return words


def bitmap_attrs(words):
    return [w * 32 + b for w, word in enumerate(words) for b in range(32)
            if word & (1 << b)]


class Op:
    """One NFSv4 operation: its number and XDR-encoded arguments."""

    def __init__(self, num, args=b""):
        self.num, self.args = num, args

    def __repr__(self):
        return OP_NAMES.get(self.num, "OP%d" % self.num)


def putrootfh():
    return Op(OP_PUTROOTFH)


def putfh(fh):
    p = rpc.Packer()
    p.pack_opaque(fh, 128)
    return Op(OP_PUTFH, p.get_buffer())


def getfh():
    return Op(OP_GETFH)


def lookup(name):
    p = rpc.Packer()
    p.pack_string(name)
    return Op(OP_LOOKUP, p.get_buffer())


def secinfo(name):
    p = rpc.Packer()
    p.pack_string(name)
    return Op(OP_SECINFO, p.get_buffer())


def _decode_secinfo(u):
    """The flavors of a SECINFO result (RPCSEC_GSS entries as (6, oid, qop, service))."""
    out = []
    for _ in range(u.unpack_uint()):
        flavor = u.unpack_uint()
        if flavor == RPCSEC_GSS:
            out.append((flavor, u.unpack_opaque(), u.unpack_uint(), u.unpack_uint()))
        else:
            out.append(flavor)
    return out


def getattr4(attrs):
    p = rpc.Packer()
    p.pack_array(bitmap(attrs), p.pack_uint)
    return Op(OP_GETATTR, p.get_buffer())


def _pack_stateid(p, stateid):
    p.pack_uint(stateid[0])
    p.pack_fopaque(12, stateid[1])


def _unpack_stateid(u):
    return (u.unpack_uint(), u.unpack_fopaque(12))


def setclientid(verifier, client_id, netid="tcp", addr="0.0.0.0.0.0"):
    """SETCLIENTID with a callback address nobody listens on (no delegations)."""
    p = rpc.Packer()
    p.pack_fopaque(8, verifier)
    p.pack_opaque(client_id, 1024)
    p.pack_uint(0x40000000)         # cb_program
    p.pack_string(netid)
    p.pack_string(addr)
    p.pack_uint(1)                  # callback_ident
    return Op(OP_SETCLIENTID, p.get_buffer())


def setclientid_confirm(clientid, confirm):
    p = rpc.Packer()
    p.pack_uhyper(clientid)
    p.pack_fopaque(8, confirm)
    return Op(OP_SETCLIENTID_CONFIRM, p.get_buffer())


def open_create(seqid, clientid, owner, name, mode=0o644, access=3, create=True):
    """OPEN, deny none, CLAIM_NULL of name: by default OPEN4_CREATE UNCHECKED4
    and OPEN4_SHARE_ACCESS_BOTH (3); access 1 is READ, 2 WRITE."""
    p = rpc.Packer()
    p.pack_uint(seqid)
    p.pack_uint(access)
    p.pack_uint(0)                  # OPEN4_SHARE_DENY_NONE
    p.pack_uhyper(clientid)
    p.pack_opaque(owner, 1024)
    if create:
        p.pack_uint(1)              # OPEN4_CREATE
        p.pack_uint(0)              # UNCHECKED4
        p.pack_array(bitmap([FATTR4_MODE]), p.pack_uint)
        p.pack_opaque(struct.pack(">I", mode))
    else:
        p.pack_uint(0)              # OPEN4_NOCREATE
    p.pack_uint(0)                  # CLAIM_NULL
    p.pack_string(name)
    return Op(OP_OPEN, p.get_buffer())


def delegreturn(stateid):
    p = rpc.Packer()
    _pack_stateid(p, stateid)
    return Op(OP_DELEGRETURN, p.get_buffer())


def open_confirm(stateid, seqid):
    p = rpc.Packer()
    _pack_stateid(p, stateid)
    p.pack_uint(seqid)
    return Op(OP_OPEN_CONFIRM, p.get_buffer())


def write(stateid, offset, data, stable=2):
    p = rpc.Packer()
    _pack_stateid(p, stateid)
    p.pack_uhyper(offset)
    p.pack_uint(stable)             # FILE_SYNC4 by default
    p.pack_opaque(data)
    return Op(OP_WRITE, p.get_buffer())


def read(stateid, offset, count):
    p = rpc.Packer()
    _pack_stateid(p, stateid)
    p.pack_uhyper(offset)
    p.pack_uint(count)
    return Op(OP_READ, p.get_buffer())


def close(seqid, stateid):
    p = rpc.Packer()
    p.pack_uint(seqid)
    _pack_stateid(p, stateid)
    return Op(OP_CLOSE, p.get_buffer())


def remove(name):
    p = rpc.Packer()
    p.pack_string(name)
    return Op(OP_REMOVE, p.get_buffer())


# NFSv4.1 sessions (RFC 8881)

def exchange_id(verifier, owner):
    p = rpc.Packer()
    p.pack_fopaque(8, verifier)
    p.pack_opaque(owner, 1024)
    p.pack_uint(0x00010000)         # EXCHGID4_FLAG_USE_NON_PNFS
    p.pack_uint(0)                  # SP4_NONE
    p.pack_uint(0)                  # no client_impl_id
    return Op(OP_EXCHANGE_ID, p.get_buffer())


def _pack_channel_attrs(p, maxreq, maxresp, cached, maxops, maxreqs):
    for v in (0, maxreq, maxresp, cached, maxops, maxreqs):
        p.pack_uint(v)
    p.pack_uint(0)                  # no rdma_ird


def create_session(clientid, sequence, back_channel=True):
    """CREATE_SESSION; with back_channel the connection carries callbacks (AUTH_NONE)."""
    p = rpc.Packer()
    p.pack_uhyper(clientid)
    p.pack_uint(sequence)
    p.pack_uint(CREATE_SESSION4_FLAG_CONN_BACK_CHAN if back_channel else 0)
    _pack_channel_attrs(p, 1049620, 1049480, 7584, 16, 8)
    _pack_channel_attrs(p, 4096, 4096, 0, 2, 1)
    p.pack_uint(CB_PROGRAM)
    p.pack_uint(1)                  # one callback_sec_parms4: AUTH_NONE
    p.pack_uint(rpc.AUTH_NONE)
    return Op(OP_CREATE_SESSION, p.get_buffer())


def sequence(sessionid, seqid, slot=0):
    p = rpc.Packer()
    p.pack_fopaque(16, sessionid)
    p.pack_uint(seqid)
    p.pack_uint(slot)
    p.pack_uint(slot)               # highest slot id
    p.pack_bool(False)              # cachethis
    return Op(OP_SEQUENCE, p.get_buffer())


def reclaim_complete(one_fs=False):
    p = rpc.Packer()
    p.pack_bool(one_fs)
    return Op(OP_RECLAIM_COMPLETE, p.get_buffer())


def destroy_session(sessionid):
    p = rpc.Packer()
    p.pack_fopaque(16, sessionid)
    return Op(OP_DESTROY_SESSION, p.get_buffer())


def destroy_clientid(clientid):
    p = rpc.Packer()
    p.pack_uhyper(clientid)
    return Op(OP_DESTROY_CLIENTID, p.get_buffer())


def lookup_path(path):
    """LOOKUP operations for each component of an absolute path."""
    return [lookup(c) for c in path.split("/") if c]


def encode_compound(ops, tag="pynfs-tls-v4", minorversion=0):
    p = rpc.Packer()
    p.pack_string(tag)
    p.pack_uint(minorversion)
    p.pack_uint(len(ops))
    for op in ops:
        p.pack_uint(op.num)
        p.pack_raw(op.args)
    return p.get_buffer()


def _decode_fattr4(u):
    mask = u.unpack_array(u.unpack_uint)
    vals = rpc.Unpacker(u.unpack_opaque(), strict_padding=False)
    attrs = {}
    for a in bitmap_attrs(mask):
        if a in (FATTR4_TYPE, FATTR4_LEASE_TIME, FATTR4_MODE):
            attrs[a] = vals.unpack_uint()
        elif a in (FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID):
            attrs[a] = vals.unpack_uhyper()
        elif a == FATTR4_FSID:
            attrs[a] = (vals.unpack_uhyper(), vals.unpack_uhyper())
        else:
            raise rpc.XDRError("server returned attribute %d, which was not asked for" % a)
    vals.done()
    return attrs


def _decode_change_info(u):
    return (u.unpack_bool(), u.unpack_uhyper(), u.unpack_uhyper())


def _decode_ace(u):
    return (u.unpack_uint(), u.unpack_uint(), u.unpack_uint(), u.unpack_string())


def _decode_open(u):
    res = {"stateid": _unpack_stateid(u), "cinfo": _decode_change_info(u),
           "rflags": u.unpack_uint(), "attrset": u.unpack_array(u.unpack_uint)}
    dtype = u.unpack_uint()
    if dtype == 1:                      # OPEN_DELEGATE_READ
        res["delegation"] = ("read", _unpack_stateid(u), u.unpack_bool(), _decode_ace(u))
    elif dtype == 2:                    # OPEN_DELEGATE_WRITE
        sid, recall = _unpack_stateid(u), u.unpack_bool()
        limitby = u.unpack_uint()
        limit = u.unpack_uhyper() if limitby == 1 else (u.unpack_uint(), u.unpack_uint())
        res["delegation"] = ("write", sid, recall, limit, _decode_ace(u))
    elif dtype != 0:
        raise rpc.XDRError("unknown delegation type %d" % dtype)
    return res


def _decode_exchange_id(u):
    res = {"clientid": u.unpack_uhyper(), "sequenceid": u.unpack_uint(),
           "flags": u.unpack_uint()}
    how = u.unpack_uint()
    if how != 0:
        raise rpc.XDRError("state protection %d not asked for" % how)
    res["server_minor_id"] = u.unpack_uhyper()
    res["server_major_id"] = u.unpack_opaque(1024)
    res["server_scope"] = u.unpack_opaque(1024)
    res["impl"] = u.unpack_array(lambda: (u.unpack_string(), u.unpack_string(),
                                          u.unpack_hyper(), u.unpack_uint()), 1)
    return res


def _decode_channel_attrs(u):
    vals = [u.unpack_uint() for _ in range(6)]
    vals.append(u.unpack_array(u.unpack_uint, 1))
    return vals


def _decode_create_session(u):
    return {"sessionid": u.unpack_fopaque(16), "sequence": u.unpack_uint(),
            "flags": u.unpack_uint(), "fore": _decode_channel_attrs(u),
            "back": _decode_channel_attrs(u)}


def _decode_sequence(u):
    return {"sessionid": u.unpack_fopaque(16), "sequenceid": u.unpack_uint(),
            "slotid": u.unpack_uint(), "highest_slotid": u.unpack_uint(),
            "target_highest_slotid": u.unpack_uint(), "status_flags": u.unpack_uint()}


_RESOK = {
    OP_EXCHANGE_ID: _decode_exchange_id,
    OP_CREATE_SESSION: _decode_create_session,
    OP_SEQUENCE: _decode_sequence,
    OP_DESTROY_SESSION: lambda u: None,
    OP_DESTROY_CLIENTID: lambda u: None,
    OP_DELEGRETURN: lambda u: None,
    OP_RECLAIM_COMPLETE: lambda u: None,
    OP_SETCLIENTID: lambda u: (u.unpack_uhyper(), u.unpack_fopaque(8)),
    OP_SETCLIENTID_CONFIRM: lambda u: None,
    OP_OPEN: _decode_open,
    OP_OPEN_CONFIRM: _unpack_stateid,
    OP_CLOSE: _unpack_stateid,
    OP_WRITE: lambda u: (u.unpack_uint(), u.unpack_uint(), u.unpack_fopaque(8)),
    OP_READ: lambda u: (u.unpack_bool(), u.unpack_opaque()),
    OP_REMOVE: _decode_change_info,
    OP_PUTROOTFH: lambda u: None,
    OP_PUTFH: lambda u: None,
    OP_LOOKUP: lambda u: None,
    OP_GETFH: lambda u: u.unpack_opaque(128),
    OP_GETATTR: _decode_fattr4,
    OP_SECINFO: _decode_secinfo,
}


class CompoundResult:
    """status, tag and a list of (op, status, resok) tuples."""

    def __init__(self, status, tag, results):
        self.status, self.tag, self.results = status, tag, results

    def describe(self):
        ops = " ".join("%s:%s" % (OP_NAMES.get(o, o), status4_name(s))
                       for o, s, _ in self.results)
        return "%s [%s]" % (status4_name(self.status), ops)

    def resok(self, op):
        for o, s, r in self.results:
            if o == op and s == NFS4_OK:
                return r
        return None

    def failed_op(self):
        for o, s, _ in self.results:
            if s != NFS4_OK:
                return o
        return None


def _reply(what):
    """Decorator for a reply decoder: it is given an Unpacker over the reply
    and callers pass the bytes; malformed XDR becomes an RPCError naming the
    reply (what)."""
    def wrap(decode):
        @functools.wraps(decode)
        def decode_bytes(data):
            try:
                return decode(rpc.Unpacker(data, strict_padding=False))
            except rpc.XDRError as e:
                raise rpc.RPCError("malformed %s reply: %s" % (what, e)) from None
        return decode_bytes
    return wrap


@_reply("COMPOUND")
def decode_compound(u):
    status = u.unpack_uint()
    tag = u.unpack_string()
    n = u.unpack_uint()
    results = []
    for _ in range(n):
        op = u.unpack_uint()
        st = u.unpack_uint()
        res = None
        if st == NFS4_OK:
            if op not in _RESOK:
                raise rpc.XDRError("no decoder for the result of operation %d" % op)
            res = _RESOK[op](u)
        results.append((op, st, res))
        if st != NFS4_OK:
            break
    return CompoundResult(status, tag, results)


def compound_call(xid, ops, cred=None, minorversion=0):
    """A COMPOUND call (NFSv4.minorversion) with AUTH_SYS root by default."""
    return rpc.encode_call(xid, NFS_PROGRAM, 4, 1,
                           encode_compound(ops, minorversion=minorversion),
                           cred or rpc.auth_sys())


# ---------------------------------------------------------------------------
# NFSv3, MOUNT v3, portmapper

def v3_getattr_call(xid, fh, cred=None):
    p = rpc.Packer()
    p.pack_opaque(fh, 64)
    return rpc.encode_call(xid, NFS_PROGRAM, 3, 1, p.get_buffer(), cred or rpc.auth_sys())


@_reply("GETATTR3")
def decode_v3_getattr(u):
    """(nfsstat3, dict of attributes or None)."""
    st = u.unpack_uint()
    if st != 0:
        return st, None
    a = {"type": u.unpack_uint(), "mode": u.unpack_uint(), "nlink": u.unpack_uint(),
         "uid": u.unpack_uint(), "gid": u.unpack_uint(), "size": u.unpack_uhyper(),
         "used": u.unpack_uhyper(), "rdev": (u.unpack_uint(), u.unpack_uint()),
         "fsid": u.unpack_uhyper(), "fileid": u.unpack_uhyper()}
    for t in ("atime", "mtime", "ctime"):
        a[t] = (u.unpack_uint(), u.unpack_uint())
    u.done()
    return st, a


def _mount_call(xid, proc, path, cred):
    p = rpc.Packer()
    p.pack_string(path, 1024)
    return rpc.encode_call(xid, MOUNT_PROGRAM, 3, proc, p.get_buffer(), cred or rpc.auth_sys())


def mnt_call(xid, path, cred=None):
    return _mount_call(xid, 1, path, cred)


@_reply("MNT")
def decode_mnt(u):
    """(mountstat3, file handle or None, auth flavors)."""
    st = u.unpack_uint()
    if st != 0:
        return st, None, []
    fh = u.unpack_opaque(64)
    flavors = u.unpack_array(u.unpack_int)
    u.done()
    return st, fh, flavors


def umnt_call(xid, path, cred=None):
    return _mount_call(xid, 3, path, cred)


def getport_call(xid, prog, vers, prot=IPPROTO_TCP):
    p = rpc.Packer()
    for v in (prog, vers, prot, 0):
        p.pack_uint(v)
    return rpc.encode_call(xid, PMAP_PROGRAM, 2, 3, p.get_buffer())


@_reply("GETPORT")
def decode_getport(u):
    port = u.unpack_uint()
    u.done()
    return port
