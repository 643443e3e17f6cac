#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A scriptable RPC-with-TLS server for client tests, on OpenSSL (Python ssl).

  python3 tests/pynfs-tls/peer.py --backend HOST:PORT --cert FILE --key FILE
          [--listen ADDR:PORT] [--mode MODE] [--after N] [--client-ca FILE]
          [--client-auth none|optional|required] [--log FILE] [--port-file FILE]

It answers the AUTH_TLS probe with STARTTLS, runs a TLS 1.3 handshake with
ALPN "sunrpc" and relays RPC records, both ways (backchannel included), to a
plaintext RPC server such as nfsd on BACKEND.  Cleartext RPCs (no probe) are
relayed too, and logged, so a client that falls back to cleartext is caught.

Modes that misbehave on purpose (--mode):
  normal                    behave (the default)
  no-starttls               answer the probe without the STARTTLS verifier
  wrong-verifier            answer the probe with AUTH_NONE "STARTSSL"
  wrong-alpn                select ALPN "h2", which the client did not offer
  no-alpn                   answer without ALPN, accept clients without it (FreeBSD-style)
  tls12-only                refuse TLS 1.3: at most TLS 1.2
  plaintext-after-handshake send RPC replies in cleartext after the handshake
  alert-midstream           after N relayed calls (--after), send a fatal alert
  close-notify-midstream    after N relayed calls, send close_notify
  key-update-midstream      after N relayed calls, send a TLS 1.3 KeyUpdate
                            (update_requested with --request-update) and go
                            on relaying under the new key
  tickets-midstream         after N relayed calls, send NewSessionTickets
                            (--tickets, default 2) and go on relaying
  stall-handshake           read the ClientHello and never answer it
An expired or wrong-name certificate is served by giving its files to
--cert/--key; the peer says at start-up when its certificate is expired.

Once listening it prints "ready PORT" on stdout.  Every event is one line
"peer: conn N: EVENT: details" on stdout (and in --log FILE).  SIGTERM or
SIGINT ends it cleanly (exit 0).
"""

import argparse
import os
import selectors
import signal
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rpc  # noqa: E402
import tlsio  # noqa: E402
from tlsio import Closed, HandshakeError  # noqa: E402

MODES = ("normal", "no-starttls", "wrong-verifier", "wrong-alpn", "no-alpn",
         "tls12-only", "plaintext-after-handshake", "alert-midstream",
         "close-notify-midstream", "key-update-midstream", "tickets-midstream",
         "stall-handshake")
WRONG_VERF = rpc.OpaqueAuth(rpc.AUTH_NONE, b"STARTSSL")


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", buffering=1) if path else None

    def __call__(self, conn, event, detail=""):
        line = "peer: conn %s: %s%s" % (conn, event, ": " + detail if detail else "")
        with self.lock:
            print(line, flush=True)
            if self.f:
                self.f.write(line + "\n")


class Peer:
    def __init__(self, args):
        self.args = args
        self.log = Log(args.log)
        self.stop = threading.Event()
        self.tl = threading.local()
        self.ctx = {m: self._context(m) for m in {args.mode, "normal"}}
        self.misbehave_left = args.misbehave_count
        self.count_lock = threading.Lock()
        self.backend = tlsio.parse_hostport(args.backend, 2049)
        self.privileged = os.geteuid() == 0

    def conn_mode(self):
        """The mode of a new connection: --mode for the first --misbehave-count."""
        with self.count_lock:
            if self.misbehave_left is None:
                return self.args.mode
            if self.misbehave_left > 0:
                self.misbehave_left -= 1
                return self.args.mode
            return "normal"

    def _context(self, mode):
        a = self.args
        kw = {}
        if mode == "tls12-only":
            kw = {"min_version": ssl.TLSVersion.TLSv1_2, "max_version": ssl.TLSVersion.TLSv1_2}
        ctx = tlsio.server_context(a.cert, a.key, a.client_ca, a.client_auth, psk=a.psk, **kw)
        if a.psk:
            def psk_cb(identity):
                self.tl.psk_identity = identity
                return a.psk[1] if identity == a.psk[0] else b""
            ctx.set_psk_server_callback(psk_cb)

        def choose(offered):
            self.tl.offered = offered
            if mode == "wrong-alpn":
                return b"h2"
            if mode == "no-alpn":
                return b""
            return b"sunrpc" if b"sunrpc" in offered else None
        try:
            tlsio.set_alpn_select(ctx, choose)
        except OSError as e:
            if mode == "wrong-alpn":
                raise ValueError("mode wrong-alpn needs direct OpenSSL access: %s" % e) from None
            self.log("-", "warning", "cannot refuse clients without ALPN sunrpc: %s" % e)
            if mode != "no-alpn":
                ctx.set_alpn_protocols([tlsio.ALPN_SUNRPC])
        return ctx

    def describe_cert(self):
        if not self.args.cert:
            return "no certificate, PSK identity %r" % self.args.psk[0]
        try:
            info = ssl._ssl._test_decode_cert(self.args.cert)
        except (AttributeError, ssl.SSLError):
            return "certificate %s" % self.args.cert
        subj = ",".join("%s=%s" % kv for rdn in info.get("subject", ()) for kv in rdn)
        sans = ",".join("%s:%s" % kv for kv in info.get("subjectAltName", ()))
        s = "certificate %s subject %s SAN %s notAfter %s" % (
            self.args.cert, subj, sans or "-", info.get("notAfter"))
        if ssl.cert_time_to_seconds(info["notAfter"]) < time.time():
            s += " (EXPIRED)"
        return s

    # -- one connection -------------------------------------------------------

    def handle(self, n, sock, addr):
        c = tlsio.Conn(sock, "%s:%d" % addr[:2])
        c.timeout = self.args.timeout
        mode = self.conn_mode()
        self.log(n, "accept", "from %s, mode %s" % (c.name, mode))
        st = {"backend": None, "breader": rpc.RecordReader(), "calls": 0, "replies": 0,
              "mode": mode}
        try:
            initial = self.cleartext_phase(n, c, st)
            if initial is not None:
                self.tls_phase(n, c, st, initial)
        except Closed as e:
            self.log(n, "closed", str(e))
        except (OSError, rpc.RPCError, rpc.RecordError) as e:
            self.log(n, "error", str(e))
        finally:
            if st["backend"]:
                st["backend"].close()
            c.close()
            post = ""
            if st.get("post_sent") is not None:
                post = ", %d calls after the %s" % (
                    st["calls"] - st["post_sent"],
                    "KeyUpdate" if mode == "key-update-midstream" else "tickets")
            self.log(n, "done", "%d calls relayed, %d replies%s"
                     % (st["calls"], st["replies"], post))

    def wait_readable(self, socks, timeout=None):
        """Sockets that are readable; [] when stopping or at timeout."""
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        end = None if timeout is None else time.monotonic() + timeout
        try:
            while not self.stop.is_set():
                left = 0.5 if end is None else min(0.5, end - time.monotonic())
                if left <= 0:
                    return []
                ev = sel.select(left)
                if ev:
                    return [k.fileobj for k, _ in ev]
            return []
        finally:
            sel.close()

    def backend_conn(self, n, st):
        if st["backend"] is None:
            h, p = self.backend
            st["backend"] = tlsio.Conn.connect(h, p, self.args.timeout, self.privileged)
            self.log(n, "backend", "connected to %s port %d" % (h, p))
        return st["backend"]

    def cleartext_phase(self, n, c, st):
        """Until STARTTLS: returns the first TLS bytes, or None to close."""
        starttls_sent = False
        while True:
            ready = self.wait_readable([c.sock] + ([st["backend"].sock] if st["backend"] else []))
            if not ready:
                if self.stop.is_set():
                    self.log(n, "stop", "peer is stopping")
                return None
            if st["backend"] and st["backend"].sock in ready:
                if not self.relay_backend(n, c, st, tls=False):
                    return None
            if c.sock not in ready:
                continue
            data, closed = c.recv_ready()
            if data and c.reader.pending() == 0 and data[0] == 0x16:
                if starttls_sent:
                    return data
                self.log(n, "violation", "client sent a TLS ClientHello although the probe "
                         "was not answered with STARTTLS (RFC 9289 4.1)")
                return None
            if data and starttls_sent:
                self.log(n, "violation", "%d bytes of non-TLS data between the STARTTLS reply "
                         "and the ClientHello: discarded, connection dropped (RFC 9289 4.1)"
                         % len(data))
                return None
            for rec in c.reader.records(data):
                if self.cleartext_record(n, c, st, rec):
                    starttls_sent = True
                    if c.reader.next_record() is not None or c.reader.pending():
                        self.log(n, "violation", "client sent data after the probe without "
                                 "waiting for the reply: connection dropped")
                        return None
            if closed:
                self.log(n, "client-closed", "%s (in cleartext)" % closed)
                return None

    def cleartext_record(self, n, c, st, rec):
        """Handle one cleartext record; True when STARTTLS was answered."""
        if rpc.msg_type(rec) == rpc.REPLY:
            self.log(n, "backchannel-reply", "cleartext reply relayed to the backend")
            self.backend_conn(n, st).send_record(rec)
            return False
        call = rpc.decode_call(rec)
        if rpc.is_probe(call):
            mode = st["mode"]
            if mode == "no-starttls":
                c.send_record(rpc.encode_probe_reply(call.xid, starttls=False))
                self.log(n, "probe", "answered without STARTTLS (mode no-starttls)")
                return False
            if mode == "wrong-verifier":
                c.send_record(rpc.encode_reply_accepted(call.xid, rpc.SUCCESS, b"", WRONG_VERF))
                self.log(n, "probe", "answered with verifier AUTH_NONE \"STARTSSL\" "
                         "(mode wrong-verifier)")
                return False
            c.send_record(rpc.encode_probe_reply(call.xid, starttls=True))
            self.log(n, "probe", "answered with STARTTLS")
            return True
        if call.cred.flavor == rpc.AUTH_TLS:
            c.send_record(rpc.encode_reply_denied(call.xid, rpc.AUTH_ERROR, rpc.AUTH_BADCRED))
            self.log(n, "auth-tls-non-null", "proc %d: answered AUTH_BADCRED" % call.proc)
            return False
        if self.args.refuse_plaintext:
            self.log(n, "cleartext-rpc", "prog %d vers %d proc %d refused: connection dropped"
                     % (call.prog, call.vers, call.proc))
            raise Closed("eof", "cleartext RPC refused (--refuse-plaintext)")
        self.log(n, "cleartext-rpc", "prog %d vers %d proc %d relayed in cleartext"
                 % (call.prog, call.vers, call.proc))
        self.backend_conn(n, st).send_record(rec)
        st["calls"] += 1
        return False

    def tls_phase(self, n, c, st, initial):
        mode = st["mode"]
        if mode == "stall-handshake":
            self.log(n, "stall", "ClientHello read (%d bytes), never answered" % len(initial))
            t0 = time.monotonic()
            while self.wait_readable([c.sock], self.args.stall):
                data, closed = c.recv_ready()
                if closed:
                    self.log(n, "client-gave-up", "after %.1f s: %s"
                             % (time.monotonic() - t0, closed))
                    return
            self.log(n, "stall-ended", "after %.1f s" % (time.monotonic() - t0))
            return
        self.tl.offered = self.tl.psk_identity = None
        try:
            c.start_tls(self.ctx[mode], server_side=True, initial=initial)
        except HandshakeError as e:
            self.log(n, "handshake-failed", "%s (client offered ALPN %s)"
                     % (e, self.offered_str()))
            return
        peer_cert = c.tls.getpeercert()
        who = ("client certificate %s" % ",".join(
            "%s=%s" % kv for rdn in peer_cert.get("subject", ()) for kv in rdn)
            if peer_cert else "no client certificate")
        if self.tl.psk_identity is not None:
            who += ", PSK identity %r" % self.tl.psk_identity
        self.log(n, "tls-up", "%s, client offered ALPN %s, %s"
                 % (c.describe_tls(), self.offered_str(), who))
        if c.tls.selected_alpn_protocol() is None and mode not in (
                "no-alpn", "wrong-alpn"):
            # OpenSSL only asks the ALPN callback when the client sent ALPN.
            self.log(n, "violation", "client sent no ALPN extension (RFC 9289 5 wants "
                     "\"sunrpc\"): connection dropped")
            return
        # RPCs that came in the same read as the client's Finished are in
        # the TLS layer already: select() would never report them.
        data, closed = c.drain()
        while self.tls_input(n, c, st, data, closed):
            socks = [c.sock] + ([st["backend"].sock] if st["backend"] else [])
            ready = self.wait_readable(socks)
            if not ready:
                if self.stop.is_set():
                    self.log(n, "stop", "peer is stopping: sending close_notify")
                    self.close_notify(n, c)
                return
            if st["backend"] and st["backend"].sock in ready:
                if not self.relay_backend(n, c, st, tls=True):
                    return
            data, closed = c.recv_ready() if c.sock in ready else (b"", None)

    def tls_input(self, n, c, st, data, closed):
        """Application bytes from the client; False ends the connection."""
        for rec in c.reader.records(data):
            if not self.tls_record(n, c, st, rec):
                return False
        if closed:
            if closed.how == "close_notify":
                self.log(n, "client-close-notify", "the client ended the session")
                self.close_notify(n, c, answer=True)
            elif closed.how == "eof":
                self.log(n, "client-closed", "TCP closed without close_notify "
                         "(RFC 9289 5.1.1 wants a closure alert)")
            else:
                self.log(n, "client-closed", str(closed))
            return False
        return True

    def offered_str(self):
        o = getattr(self.tl, "offered", None)
        if o is None:
            return "(none)"
        return "[%s]" % ", ".join(repr(p.decode(errors="replace")) for p in o)

    def close_notify(self, n, c, answer=False):
        try:
            how = c.close_notify(timeout=min(self.args.timeout, 2.0))
            if answer:
                self.log(n, "close-notify-sent", "in answer to the client's")
            else:
                self.log(n, "close-notify-sent", "client answered with %s" % how)
        except Closed as e:
            self.log(n, "close-notify-sent", "then %s" % e)

    def tls_record(self, n, c, st, rec):
        """One record from the client inside TLS; False ends the connection."""
        if rpc.msg_type(rec) == rpc.REPLY:
            self.backend_conn(n, st).send_record(rec)
            self.log(n, "backchannel-reply", "relayed to the backend")
            return True
        call = rpc.decode_call(rec)
        if call.cred.flavor == rpc.AUTH_TLS:
            c.send_record(rpc.encode_reply_denied(call.xid, rpc.AUTH_ERROR, rpc.AUTH_BADCRED))
            self.log(n, "auth-tls-in-tls", "proc %d: answered AUTH_BADCRED" % call.proc)
            return True
        mode = st["mode"]
        if mode in ("alert-midstream", "close-notify-midstream") and \
                st["calls"] >= self.args.after:
            if mode == "alert-midstream":
                reason = c.send_fatal_alert()
                self.log(n, "alert-sent", "fatal alert (%s) instead of relaying call %#x "
                         "after %d calls" % (reason, call.xid, st["calls"]))
            else:
                self.log(n, "close-notify-midstream", "instead of relaying call %#x after "
                         "%d calls" % (call.xid, st["calls"]))
                self.close_notify(n, c)
            return False
        if mode in ("key-update-midstream", "tickets-midstream") and \
                st["calls"] >= self.args.after and not st.get("post_sent"):
            st["post_sent"] = st["calls"]
            if mode == "key-update-midstream":
                c.send_key_update(request_peer=self.args.request_update)
                self.log(n, "key-update-sent", "KeyUpdate (update_requested=%d) before "
                         "relaying call %#x after %d calls; replies now go under the new key"
                         % (self.args.request_update, call.xid, st["calls"]))
            else:
                c.send_session_tickets(self.args.tickets)
                self.log(n, "tickets-sent", "%d NewSessionTicket before relaying call %#x "
                         "after %d calls" % (self.args.tickets, call.xid, st["calls"]))
        self.backend_conn(n, st).send_record(rec)
        st["calls"] += 1
        if self.args.verbose:
            self.log(n, "call", "xid %#x prog %d vers %d proc %d relayed"
                     % (call.xid, call.prog, call.vers, call.proc))
        return True

    def relay_backend(self, n, c, st, tls):
        b = st["backend"]
        data, closed = b.recv_ready()
        for rec in st["breader"].records(data):
            if tls and st["mode"] == "plaintext-after-handshake":
                c.send_raw(rpc.frame(rec))
                kind = "reply" if rpc.msg_type(rec) == rpc.REPLY else "backchannel call"
                self.log(n, "cleartext-reply", "%s %#x sent in cleartext after the "
                         "handshake" % (kind, struct.unpack(">I", rec[:4])[0]))
            else:
                c.send_record(rec)
            st["replies"] += 1
        if closed:
            self.log(n, "backend-closed", str(closed))
            return False
        return True

    # -- listener -------------------------------------------------------------

    def serve(self):
        host, port = tlsio.parse_hostport(self.args.listen, 0)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(16)
        port = ls.getsockname()[1]
        self.log("-", "start", "mode %s, listening on %s port %d, backend %s port %d, %s"
                 % (self.args.mode, host, port, self.backend[0], self.backend[1],
                    self.describe_cert()))
        if self.args.port_file:
            with open(self.args.port_file + ".tmp", "w") as f:
                f.write("%d\n" % port)
            os.rename(self.args.port_file + ".tmp", self.args.port_file)
        print("ready %d" % port, flush=True)
        threads, n = [], 0
        while not self.stop.is_set():
            if not self.wait_readable([ls]):
                continue
            try:
                s, addr = ls.accept()
            except OSError:
                continue
            n += 1
            t = threading.Thread(target=self.handle, args=(n, s, addr), daemon=True)
            t.start()
            threads.append(t)
        ls.close()
        for t in threads:
            t.join(timeout=3)
        self.log("-", "stopped", "%d connections" % n)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Scriptable RPC-with-TLS server peer "
                                 "for client tests.", epilog="Modes: " + ", ".join(MODES))
    ap.add_argument("--backend", required=True, help="plaintext RPC server HOST[:PORT]")
    ap.add_argument("--cert", help="server certificate (PEM); required unless --psk")
    ap.add_argument("--key", help="server private key (PEM)")
    ap.add_argument("--psk", help="accept TLS 1.3 PSK sessions with IDENTITY:HEXKEY "
                    "(Python 3.13 or later)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="ADDR[:PORT] (default "
                    "127.0.0.1 and a free port; [::] for IPv6)")
    ap.add_argument("--mode", default="normal", choices=MODES)
    ap.add_argument("--after", type=int, default=1, help="calls relayed before "
                    "a *-midstream mode acts (default 1)")
    ap.add_argument("--request-update", type=int, choices=(0, 1), default=0,
                    help="key-update-midstream: set update_requested (default 0)")
    ap.add_argument("--tickets", type=int, default=2,
                    help="tickets-midstream: NewSessionTickets to send (default 2)")
    ap.add_argument("--misbehave-count", type=int, default=None, metavar="N",
                    help="only the first N connections use --mode, later ones are normal "
                    "(default: all), to test that a client recovers")
    ap.add_argument("--client-ca", help="CA for client certificates")
    ap.add_argument("--client-auth", choices=("none", "optional", "required"),
                    default=None, help="client certificates (default: optional with "
                    "--client-ca, else none)")
    ap.add_argument("--refuse-plaintext", action="store_true",
                    help="drop connections that send RPC in cleartext")
    ap.add_argument("--stall", type=float, default=None,
                    help="seconds stall-handshake waits (default: until the client goes)")
    ap.add_argument("--timeout", type=float, default=10.0, help="handshake and I/O timeout")
    ap.add_argument("--log", help="also append log lines to FILE")
    ap.add_argument("--port-file", help="write the listening port to FILE")
    ap.add_argument("--verbose", action="store_true", help="log every relayed call")
    args = ap.parse_args(argv)
    if args.client_auth is None:
        args.client_auth = "optional" if args.client_ca else "none"
    try:
        if bool(args.cert) != bool(args.key):
            raise ValueError("--cert and --key go together")
        if args.psk:
            args.psk = tlsio.parse_psk(args.psk)
        elif not args.cert:
            raise ValueError("--cert and --key are required (or --psk)")
        for f in (args.cert, args.key, args.client_ca):
            if f and not os.path.isfile(f):
                raise ValueError("no such file: %s" % f)
        if args.after < 0:
            raise ValueError("--after must be >= 0")
        if args.misbehave_count is not None and args.misbehave_count < 0:
            raise ValueError("--misbehave-count must be >= 0")
        peer = Peer(args)
    except (ValueError, ssl.SSLError, OSError) as e:
        print("peer.py: %s" % e, file=sys.stderr)
        return 2

    def on_signal(sig, frame):
        peer.stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        peer.serve()
    except OSError as e:
        print("peer.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
