#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host tests of the mount helper and status command (mount-helper/):
# option parsing, the AUTH_TLS probe and the TLS diagnosis against
# tests/pynfs-tls/peer.py on loopback, the mount(8) helper flow with a
# stand-in mount.nfs, per-mount keys, rpctls status on fixture /proc files,
# make install/uninstall into a DESTDIR.  No NFS is needed on the host.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/tap.sh"
. "$REPO/tests/lib/bg.sh"
. "$REPO/tests/lib/fuzz.sh"
BUILD=${BUILD:-$REPO/build}
R=$BUILD/bin/rpctls
PEER=$REPO/tests/pynfs-tls/peer.py
T=$(mktemp -d /tmp/rpctls-mh.XXXXXX)
PIDS=()
cleanup() {
	bg_stop_all
	rm -rf "$T"
}
trap cleanup EXIT

make -s -C "$REPO/mount-helper" BUILD="$BUILD" >"$T/build.log" 2>&1 ||
	{ tap_fail "build: $(tail -3 "$T/build.log")"; exit 1; }
tap_ok "build"

# --- fuzzing: every parser of what a server or the kernel sends -------------
# libFuzzer with AddressSanitizer and UBSan, from seeds that include the
# inputs that found bugs (a verifier length that wrapped the COMPOUND
# reply offset); bounded runs with a fixed seed.
fuzz_suite "$REPO/mount-helper" "$BUILD" "$T/corpus" replies:300000

# check NAME WANT_RC REGEX CMD...: exit status and output (one regex)
check() {
	local name=$1 want=$2 re=$3 out rc
	shift 3
	out=$(timeout 60 "$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" = "$want" ] && grep -Eq -- "$re" <<<"$out"; then
		tap_ok "$name"
	else
		tap_fail "$name: exit $rc (want $want), output does not match /$re/"
		printf '%s\n' "$out" | tail -n 8 | sed 's/^/#   /'
	fi
}

# --- option parsing --------------------------------------------------------
check "opts-tls-passed" 0 "passed on: rw,vers=4.2,port=2050,xprtsec=tls$" \
	"$R" options rw,vers=4.2,xprtsec=tls,port=2050
check "opts-mtls-files-become-serials" 0 \
	"passed on: hard,xprtsec=mtls,cert_serial=1001,privkey_serial=1002$" \
	"$R" options xprtsec=mtls,tlscert=/c.pem,tlskey=/k.pem,hard
check "opts-auto-plain-drops-xprtsec" 0 "passed on: hard$" \
	"$R" options xprtsec=auto,hard none
check "opts-auto-tls" 0 "passed on: hard,xprtsec=tls$" \
	"$R" options xprtsec=auto,hard tls
check "opts-bad-value" 32 "'xprtsec=bogus': xprtsec= takes none, tls, mtls or auto" \
	"$R" options xprtsec=bogus
check "opts-cert-without-key" 32 "tlscert= given without tlskey=" \
	"$R" options xprtsec=mtls,tlscert=/c.pem
check "opts-cert-with-tls" 32 "tlscert= needs xprtsec=mtls" \
	"$R" options xprtsec=tls,tlscert=/c,tlskey=/k
check "opts-conflict" 32 "'xprtsec=mtls' conflicts with xprtsec=tls" \
	"$R" options xprtsec=tls,xprtsec=mtls
check "opts-udp" 32 "xprtsec=tls needs TCP" "$R" options xprtsec=tls,proto=udp
check "opts-serials-and-files" 32 "give one of them" \
	"$R" options xprtsec=mtls,tlscert=/c,tlskey=/k,cert_serial=5
check "opts-bad-port" 32 "'port=99999'" "$R" options port=99999,xprtsec=tls

check "probe-bad-port" 1 "--port 'x': not a port number" "$R" probe --port x localhost
check "probe-bad-timeout" 1 "--timeout '0': seconds" "$R" probe --timeout 0 localhost

# --- a PKI, a backend, peers ------------------------------------------------
if ! python3 "$REPO/tests/pynfs-tls/certs.py" "$T/pki" --server-name localhost \
	--server-ip 127.0.0.1 >"$T/certs.log" 2>&1; then
	tap_fail "pki: $(tail -2 "$T/certs.log")"
	exit 1
fi
P=$T/pki
start_backend() { # STATUS -> $BPORT
	rm -f "$T/bport"
	python3 "$REPO/tests/mount-helper/backend.py" "$T/bport" "$1" &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$T/bport" ] && break; sleep 0.05; done
	BPORT=$(cat "$T/bport")
}
start_peer() { # MODE CERT [ARGS] -> $PORT
	local mode=$1 cert=$2
	shift 2
	rm -f "$T/pport"
	python3 "$PEER" --backend "127.0.0.1:$BPORT" --mode "$mode" \
		--cert "$P/$cert.pem" --key "$P/$cert.key" --timeout 5 \
		--port-file "$T/pport" "$@" >>"$T/peer.log" 2>&1 &
	PEERPID=$!
	PIDS+=($PEERPID)
	for _ in $(seq 200); do [ -s "$T/pport" ] && break; sleep 0.05; done
	PORT=$(cat "$T/pport")
}
stop_peer() { kill "$PEERPID" 2>/dev/null; wait "$PEERPID" 2>/dev/null; }
start_backend 0

# --- probe (RFC 9289 4.1) ----------------------------------------------------
start_peer normal server
check "probe-starttls" 0 "^probe: STARTTLS" "$R" probe --probe-only --port "$PORT" 127.0.0.1
stop_peer
start_peer no-starttls server
check "probe-no-starttls" 32 "^probe: no STARTTLS: .*without STARTTLS" \
	"$R" probe --probe-only --port "$PORT" 127.0.0.1
check "diag-no-starttls" 32 "^verdict: no-starttls: server 127.0.0.1" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
stop_peer
start_peer wrong-verifier server
check "probe-wrong-verifier" 32 "^probe: no STARTTLS: .*8 bytes" \
	"$R" probe --probe-only --port "$PORT" 127.0.0.1
stop_peer

# --- TLS diagnosis ----------------------------------------------------------
start_peer normal untrusted
check "diag-untrusted" 32 "^verdict: untrusted: .*not trusted: it does not chain to a CA in $P/ca.pem" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
stop_peer
start_peer normal expired
check "diag-expired" 32 "^verdict: expired: the server certificate .* has expired" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
stop_peer
start_peer normal wrongname
check "diag-name-mismatch-ip" 32 "^verdict: name-mismatch: .*does not match the name '127.0.0.1' checked.*iPAddress" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
check "diag-name-mismatch-dns" 32 "^verdict: name-mismatch: .*does not match the name 'localhost' checked.*dNSName" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" localhost
stop_peer
# rpctls probe verifies as tlshd does (tlshd/policy.c).  These servers
# passed the probe's own GnuTLS checks ("verdict: ok") while tlshd refused
# them: a name only in the subject CN (GnuTLS falls back to the CN, tlshd
# never does), and a certificate that tlshd's x509.crl revokes.
python3 -c "import sys; sys.path.insert(0, sys.argv[1]); import certs; \
certs.CertDir(sys.argv[2]).issue('cnonly', 'localhost'); \
certs.CertDir(sys.argv[2]).issue('revoked', 'localhost', ('localhost',), ('127.0.0.1',))" \
	"$REPO/tests/pynfs-tls" "$P" >>"$T/certs.log" 2>&1 &&
	(cd "$P" && openssl ca -batch -config ca.cnf -keyfile ca.key -cert ca.pem -revoke revoked.pem &&
	 openssl ca -batch -config ca.cnf -keyfile ca.key -cert ca.pem -gencrl -crldays 30 -out crl.pem) \
	>>"$T/certs.log" 2>&1 || tap_fail "pki: cnonly/revoked: $(tail -2 "$T/certs.log")"
start_peer normal cnonly
check "diag-name-only-in-cn-refused-as-by-tlshd" 32 \
	"^verdict: name-mismatch: the server certificate \(CN=localhost\) does not match the name 'localhost' checked \(certificate names \(none\) do not match.*no CN" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" localhost
stop_peer
printf '[authenticate.client]\nx509.truststore = %s\nx509.crl = %s\n' "$P/ca.pem" "$P/crl.pem" >"$T/tlshd-crl.conf"
start_peer normal revoked
check "diag-revoked-by-tlshds-crl" 32 "^verdict: revoked: the server certificate .* is revoked \(revoked\)" \
	env RPCTLS_TLSHD_CONF="$T/tlshd-crl.conf" "$R" probe --port "$PORT" localhost
check "diag-revoked-cert-ok-without-crl" 0 "^verdict: ok: .*verified against $P/ca.pem\)" \
	env RPCTLS_TLSHD_CONF=/nonexistent "$R" probe --ca "$P/ca.pem" --port "$PORT" localhost
stop_peer
start_peer normal server --client-ca "$P/ca.pem" --client-auth required
check "diag-needs-client-cert" 32 "^verdict: needs-client-cert: the server requires a client certificate" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
stop_peer
start_peer wrong-alpn server
check "diag-alpn" 32 "^verdict: alpn: " "$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
stop_peer
start_peer tls12-only server
check "diag-tls12" 32 "^verdict: tls-version: " "$R" probe --ca "$P/ca.pem" --port "$PORT" 127.0.0.1
stop_peer
# WRONGSEC: a plaintext server whose export answers NFS4ERR_WRONGSEC
start_backend 10016
start_peer no-starttls server
check "diag-wrongsec" 32 "^verdict: wrongsec: the export /srv/export refuses plaintext transports: .*NFS4ERR_WRONGSEC" \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" --export /srv/export 127.0.0.1
stop_peer
# A hostile server: a verifier length that once wrapped the reply offset
# (the helper read 4 GiB past its buffer and died with SIGSEGV).
start_backend hostile-verifier
start_peer no-starttls server
check "diag-hostile-verifier-length" 32 "^verdict: no-starttls: " \
	"$R" probe --ca "$P/ca.pem" --port "$PORT" --export /srv/export 127.0.0.1
stop_peer
start_backend 0
# A good server: handshake + NULL over TLS.  (peer.py drains what came in
# the same read as the client's Finished: an RPC sent right after the
# handshake is answered, and a timeout here is a failure of our own.)
start_peer normal server
out=$(timeout 30 "$R" probe --timeout 3 --ca "$P/ca.pem" --port "$PORT" 127.0.0.1 2>&1)
if grep -q "^verdict: ok: .*TLS1.3.*ALPN sunrpc" <<<"$out"; then
	tap_ok "diag-ok"
else
	tap_fail "diag-ok: $out"
fi
stop_peer

# --- the mount(8) helper with a stand-in mount.nfs ----------------------------
# stands in for the real mount.nfs: logs argv[0] (mount.nfs dispatches on
# it) and the arguments, exits $FAKE_RC
FAKE=$T/mount.nfs.real
cat >"$T/fake.c" <<'EOS'
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	FILE *f = fopen(getenv("FAKE_LOG"), "w");
	int i;

	fputs(basename(argv[0]), f);
	for (i = 1; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fputc('\n', f);
	fclose(f);
	return getenv("FAKE_RC") ? atoi(getenv("FAKE_RC")) : 0;
}
EOS
gcc -o "$FAKE" "$T/fake.c" || { tap_fail "fake mount.nfs: gcc failed"; exit 1; }
mkdir -p "$T/proc/net" "$T/mnt" "$T/run"
printf 'requests 0\nlistener_inet 1\nlistener_inet6 0\n' >"$T/proc/net/tlsh"
: >"$T/proc/self-mountinfo"
export RPCTLS_MOUNT_NFS=$FAKE RPCTLS_PROC=$T/proc RPCTLS_RUNDIR=$T/run \
	RPCTLS_SKIP_KERNEL_CHECK=1 FAKE_LOG=$T/fake.log RPCTLS_TLSHD_CONF=$T/tlshd.conf
printf '[authenticate.client]\nx509.truststore = %s\n' "$P/ca.pem" >"$T/tlshd.conf"
ln -sf rpctls "$BUILD/bin/mount.nfs4"
M4=$BUILD/bin/mount.nfs4

rm -f "$T/fake.log"
"$M4" srv:/x "$T/mnt" -v -o rw,hard >/dev/null 2>&1
tap_expect "helper-plain-passthrough" "mount.nfs4 srv:/x $T/mnt -v -o rw,hard" \
	"$(cat "$T/fake.log" 2>/dev/null)"
start_peer normal server
rm -f "$T/fake.log"
check "helper-tls-mounts" 0 "" "$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=tls,port=$PORT"
tap_expect "helper-tls-options" "mount.nfs4 127.0.0.1:/srv/export $T/mnt -o port=$PORT,xprtsec=tls" \
	"$(cat "$T/fake.log" 2>/dev/null)"
rm -f "$T/fake.log"
check "helper-auto-chooses-tls" 0 "xprtsec=auto: tls: server 127.0.0.1 port [0-9]+: the server answered the AUTH_TLS probe with STARTTLS" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=auto,port=$PORT"
tap_expect "helper-auto-tls-options" "mount.nfs4 127.0.0.1:/srv/export $T/mnt -o port=$PORT,xprtsec=tls" \
	"$(cat "$T/fake.log" 2>/dev/null)"
printf 'requests 0\nlistener_inet 0\nlistener_inet6 0\n' >"$T/proc/net/tlsh"
rm -f "$T/fake.log"
check "helper-no-agent" 32 "no TLS handshake agent listens in this network namespace for IPv4 \(listener_inet 0" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=tls,port=$PORT"
tap_expect "helper-no-agent-no-mount" "no" "$([ -e "$T/fake.log" ] && echo yes || echo no)"
check "helper-auto-no-agent-plaintext" 0 "xprtsec=auto: plaintext although the server offers TLS, because no TLS handshake agent listens" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=auto,port=$PORT"
tap_expect "helper-auto-no-agent-options" "mount.nfs4 127.0.0.1:/srv/export $T/mnt -o port=$PORT" \
	"$(cat "$T/fake.log" 2>/dev/null)"
rm "$T/proc/net/tlsh"
check "helper-no-tlsh-module" 32 "no TLS handshake upcall in this kernel: $T/proc/net/tlsh" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=tls,port=$PORT"
printf 'requests 0\nlistener_inet 1\nlistener_inet6 1\n' >"$T/proc/net/tlsh"
stop_peer
start_peer no-starttls server
rm -f "$T/fake.log"
# strict modes leave the probe to the kernel, which fails closed (FAKE_RC)
FAKE_RC=32 check "helper-strict-explains-plain-server" 32 "cause: server 127.0.0.1 \(127.0.0.1 port $PORT\) does not offer RPC-with-TLS" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=mtls,port=$PORT"
tap_expect "helper-strict-options" "mount.nfs4 127.0.0.1:/srv/export $T/mnt -o port=$PORT,xprtsec=mtls" \
	"$(cat "$T/fake.log" 2>/dev/null)"
check "helper-auto-chooses-plaintext" 0 "xprtsec=auto: plaintext: .*without STARTTLS" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=auto,port=$PORT"
tap_expect "helper-auto-plain-options" "mount.nfs4 127.0.0.1:/srv/export $T/mnt -o port=$PORT" \
	"$(cat "$T/fake.log" 2>/dev/null)"
stop_peer
# the kernel says no; the helper finds out why
start_peer normal untrusted
FAKE_RC=32 check "helper-explains-untrusted" 32 "cause: the server certificate .* is not trusted" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=tls,port=$PORT"
stop_peer
start_peer normal wrongname
FAKE_RC=32 check "helper-explains-name" 32 "cause: .*does not match the name '127.0.0.1' checked" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=tls,port=$PORT"
stop_peer
start_peer normal server --client-ca "$P/ca.pem" --client-auth required
FAKE_RC=32 check "helper-explains-client-cert" 32 "cause: the server requires a client certificate" \
	"$M4" 127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=tls,port=$PORT"
# per-mount identity: keys in a keyring, recorded, dropped at umount
rm -f "$T/fake.log"
if keyctl show @u >/dev/null 2>&1; then
	check "helper-tlscert-mounts" 0 "" "$M4" 127.0.0.1:/srv/export "$T/mnt" \
		-o "xprtsec=mtls,port=$PORT,tlscert=$P/client.pem,tlskey=$P/client.key"
	cs=$(sed -n 's/.*cert_serial=\([0-9]*\).*/\1/p' "$T/fake.log")
	ks=$(sed -n 's/.*privkey_serial=\([0-9]*\).*/\1/p' "$T/fake.log")
	if [ -n "$cs" ] && keyctl pipe "$cs" 2>/dev/null | grep -q "BEGIN CERTIFICATE" &&
		keyctl describe "$ks" 2>/dev/null | grep -q "user: rpctls:key:$T/mnt" ; then
		tap_ok "keys-loaded"
	else
		tap_fail "keys-loaded: cert_serial '$cs' privkey_serial '$ks': $(keyctl describe "$ks" 2>&1)"
	fi
	perm=$(keyctl rdescribe "$ks" 2>/dev/null | cut -d';' -f4)
	tap_expect "keys-owner-only" "3f0b0000" "$perm"
	tap_expect "keys-recorded" "mountpoint $T/mnt" "$(head -1 "$T/run/"*mnt 2>/dev/null)"
	ln -sf rpctls "$BUILD/bin/umount.nfs4"
	"$BUILD/bin/umount.nfs4" "$T/mnt" >/dev/null 2>&1
	tap_expect "umount-passthrough-args" "umount.nfs4 $T/mnt" "$(cat "$T/fake.log")"
	if keyctl describe "$ks" >/dev/null 2>&1 || ls "$T/run/"*mnt >/dev/null 2>&1; then
		tap_fail "umount-drops-keys: key $ks or its record still there"
	else
		tap_ok "umount-drops-keys"
	fi
	rm -f "$BUILD/bin/umount.nfs4"
	check "tlscert-bad-file" 32 "tlscert=$P/ca.key: not a PEM certificate" "$M4" \
		127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=mtls,port=$PORT,tlscert=$P/ca.key,tlskey=$P/client.key"
	check "tlscert-key-mismatch" 32 "tlskey=$P/server.key does not belong to tlscert=$P/client.pem" "$M4" \
		127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=mtls,port=$PORT,tlscert=$P/client.pem,tlskey=$P/server.key"
	check "tlscert-missing-file" 32 "cannot read /nonexistent.pem: No such file" "$M4" \
		127.0.0.1:/srv/export "$T/mnt" -o "xprtsec=mtls,port=$PORT,tlscert=/nonexistent.pem,tlskey=$P/client.key"
	# a failed mount leaves no keys behind
	FAKE_RC=32 "$M4" 127.0.0.1:/srv/export "$T/mnt" \
		-o "xprtsec=mtls,port=$PORT,tlscert=$P/client.pem,tlskey=$P/client.key" >/dev/null 2>&1
	ks=$(sed -n 's/.*privkey_serial=\([0-9]*\).*/\1/p' "$T/fake.log")
	if [ -n "$ks" ] && ! keyctl describe "$ks" >/dev/null 2>&1 && ! ls "$T/run/"*mnt >/dev/null 2>&1; then
		tap_ok "failed-mount-drops-keys"
	else
		tap_fail "failed-mount-drops-keys: key '$ks' or its record still there"
	fi
else
	tap_skip "keys-loaded" "no kernel keyring on this host (keyctl show @u fails)"
fi
stop_peer
rm -f "$M4"
unset RPCTLS_MOUNT_NFS RPCTLS_SKIP_KERNEL_CHECK

# --- rpctls status on fixtures -------------------------------------------------
F=$T/fx
mkdir -p "$F/self/ns" "$F/net" "$F/4242/ns" "$F/4242/net"
cat >"$F/self/mountinfo" <<'EOS'
21 1 0:20 / / rw - ext4 /dev/vda rw
40 21 0:40 / /mnt/tls rw,relatime - nfs4 192.0.2.1:/srv/export rw,vers=4.2,rsize=1048576,hard,proto=tcp,timeo=600,xprtsec=tls,addr=192.0.2.1,clientaddr=192.0.2.2
41 21 0:41 / /mnt/with\040space rw,relatime - nfs 192.0.2.1:/srv/plain rw,vers=3,proto=tcp,addr=192.0.2.1
42 21 0:42 / /mnt/m rw,relatime - nfs4 server.test:/srv/export rw,vers=4.2,xprtsec=mtls,cert_serial=11,privkey_serial=12,addr=192.0.2.1
EOS
cat >"$F/self/mountstats" <<'EOS'
device /dev/vda mounted on / with fstype ext4
device 192.0.2.1:/srv/export mounted on /mnt/tls with fstype nfs4 statvers=1.1
	opts:	rw,vers=4.2
	xprt:	tcp 875 1 3 0 0 120 120 0 120 0 2 0 0
device 192.0.2.1:/srv/plain mounted on /mnt/with\040space with fstype nfs statvers=1.1
	xprt:	tcp 900 1 1 0 0 10 10 0 10 0 2 0 0
EOS
printf 'requests 5\naccepted 5\nsucceeded 4\nfailed 1\nfailed_eacces 1\nfailed_etimedout 0\nlistener_inet 1\nlistener_inet6 0\nin_flight 0\n' >"$F/net/tlsh"
printf 'requests 0\nlistener_inet 0\nlistener_inet6 0\n' >"$F/4242/net/tlsh"
ln -s 'net:[4026531840]' "$F/self/ns/net"
ln -s 'net:[4026532999]' "$F/4242/ns/net"
out=$(RPCTLS_PROC=$F RPCTLS_RUNDIR=$T/none "$R" status 2>&1)
printf '%s\n' "$out" >"$T/status.out"
st() { # NAME REGEX
	if grep -Eq -- "$2" "$T/status.out"; then tap_ok "$1"; else
		tap_fail "$1: no /$2/ in the status output"; sed 's/^/#   /' "$T/status.out" | head -40; fi
}
st "status-tls-mount" "^  192.0.2.1:/srv/export on /mnt/tls \(nfs4, vers=4.2\)$"
st "status-tls-mode" "security mode: +xprtsec=tls \(TLS, server authenticated\)"
st "status-connections" "connections: +3 \(each one began with a TLS handshake\), transport tcp"
st "status-plain-escaped" "^  192.0.2.1:/srv/plain on /mnt/with space \(nfs, vers=3\)$"
st "status-plain-mode" "security mode: +plaintext \(no xprtsec= in the mount options\)"
st "status-mtls-serials" "client identity: cert_serial=11"
st "status-tls-version-no-conn" "TLS version: +not available \(no established connection to 192.0.2.1 port 2049"
st "status-agent-this" "^  net:\[4026531840\] \(this one\)$"
st "status-agent-counters" "listener_inet 1 listener_inet6 0 requests 5 accepted 5 succeeded 4 failed 1"
st "status-agent-failures" "failed_eacces 1$"
st "status-other-netns" "^  net:\[4026532999\]$"
st "status-other-netns-no-agent" "NOT listening"
tap_expect "status-mount-count" 3 "$(grep -c '    security mode:' "$T/status.out")"

# --- pcap-summary.py on a made-up capture -------------------------------------
# Three connections to port 2049: one plaintext (an RPC record carrying the
# marker split across two segments sent out of order), one with the probe in clear and then
# TLS records, one of which carries the marker (so the count can be seen to
# work on TLS connections too), and its reconnection from the same port.
python3 - "$T/t.pcap" <<'EOS'
import struct, sys
def frame(src, sport, dport, seq, flags, data):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + data
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                     bytes(src), bytes([192, 0, 2, 1] if src[3] == 2 else [192, 0, 2, 2])) + tcp
    return b"\x00" * 12 + b"\x08\x00" + ip
rec = lambda b: struct.pack(">I", 0x80000000 | len(b)) + b
tls = lambda t, b: struct.pack(">BHH", t, 0x0303, len(b)) + b
c = [192, 0, 2, 2]
# a CALL of procedure 1 (COMPOUND) in clear, carrying the marker
plain = rec(struct.pack(">6I", 7, 0, 2, 100003, 4, 1) + b"MARK-ER" + b"y" * 10)
frames = [frame(c, 700, 2049, 1000, 2, b""),
          frame(c, 700, 2049, 1001 + 16, 0x18, plain[16:]),
          frame(c, 700, 2049, 1001, 0x18, plain[:16]),
          frame(c, 800, 2049, 5000, 2, b""),
          frame(c, 800, 2049, 5001, 0x18, rec(b"p" * 40) + tls(22, b"hello") + tls(23, b"..MARK-ER..")),
          frame([192, 0, 2, 1], 2049, 800, 9000, 0x18, rec(b"STARTTLS") + tls(22, b"sh") + tls(23, b"z" * 100)),
          # the RPC client reconnects from the same port: a new connection
          # 3 GB away in sequence space (its SYN sent twice)
          frame(c, 800, 2049, 3000000000, 2, b""),
          frame(c, 800, 2049, 3000000000, 2, b""),
          frame(c, 800, 2049, 3000000001, 0x18, tls(22, b"hello") + tls(23, b"MARK-ER"))]
out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for f in frames:
    out += struct.pack("<IIII", 0, 0, len(f), len(f)) + f
open(sys.argv[1], "wb").write(out)
EOS
out=$(python3 tests/mount-helper/pcap-summary.py --marker MARK-ER "$T/t.pcap" 2>&1)
tap_expect "pcap-summary-total" \
	"total: tls_connections 2 plain_connections 1 marker_in_tls 2 marker_in_plain 1 clear_calls_not_null 1 gaps 0" \
	"$(tail -1 <<<"$out")"
tap_expect "pcap-summary-tls-records" \
	"tls   192.0.2.2:800     0.0 MiB  RPC records in clear   2  TLS records    4 (handshake 2, data 2)  marker 1" \
	"$(grep '^tls' <<<"$out" | head -n 1)"
tap_expect "pcap-summary-same-port-reconnect" \
	"tls   192.0.2.2:800     0.0 MiB  RPC records in clear   0  TLS records    2 (handshake 1, data 1)  marker 1" \
	"$(grep '^tls' <<<"$out" | sed -n 2p)"
tap_expect "pcap-summary-plain-reassembled" \
	"plain 192.0.2.2:700     0.0 MiB  RPC records in clear   1  TLS records    0  marker 1" \
	"$(grep '^plain' <<<"$out")"
printf 'not a capture' >"$T/bad.pcap"
out=$(python3 tests/mount-helper/pcap-summary.py "$T/bad.pcap" 2>&1) && rc=0 || rc=$?
tap_expect "pcap-summary-refuses-garbage" "2: pcap-summary: $T/bad.pcap: shorter than a pcap header" "$rc: $out"

# --- make install / uninstall ------------------------------------------------
D=$T/dest
if make -s -C "$REPO" install DESTDIR="$D" PREFIX=/usr >"$T/install.log" 2>&1; then
	tap_ok "install"
	for f in usr/sbin/rpctls usr/sbin/rpctls-mount usr/share/man/man8/rpctls.8 \
		usr/share/man/man8/rpctls-mount.8 usr/share/man/man5/nfs-tls.5 \
		usr/sbin/tlshd usr/sbin/rpctls-exports usr/share/man/man8/rpctls-exports.8 \
		lib/systemd/system/rpctls-exports.service \
		lib/systemd/system/nfs-server.service.d/rpctls-exports.conf lib/modprobe.d/rpctls.conf; do
		if [ -e "$D/$f" ] || [ -L "$D/$f" ]; then tap_ok "install-$f"; else
			tap_fail "install-$f: missing"; fi
	done
	# tlshd's own pieces (tlshd/ ships them: a missing one is a failure)
	for f in tlshd.8:usr/share/man/man8/tlshd.8 tlshd.conf.5:usr/share/man/man5/tlshd.conf.5 \
		tlshd.service:lib/systemd/system/tlshd.service \
		tlshd.conf.example:usr/share/doc/rpctls/tlshd.conf.example; do
		if [ -e "$D/${f#*:}" ]; then tap_ok "install-${f#*:}"; else
			tap_fail "install-${f#*:}: missing"; fi
	done
	# The policy is loaded before the NFS server starts, which requires it
	u=$D/lib/systemd/system/rpctls-exports.service
	dropin=$D/lib/systemd/system/nfs-server.service.d/rpctls-exports.conf
	if grep -q '^Before=nfs-server.service nfs-mountd.service$' "$u" &&
		grep -q '^PartOf=nfs-server.service$' "$u" &&
		grep -q '^ExecStart=/usr/sbin/rpctls-exports$' "$u" &&
		grep -q '^Requires=rpctls-exports.service$' "$dropin" &&
		grep -q '^After=rpctls-exports.service$' "$dropin" &&
		grep -q '^options nfsd xprtsec_policy_required=Y$' "$D/lib/modprobe.d/rpctls.conf"; then
		tap_ok "install-policy-before-nfs-server: unit ordered before nfs-server, which requires it; nfsd fails closed until loaded"
	else
		tap_fail "install-policy-before-nfs-server: $(cat "$u" "$dropin" 2>&1 | grep -v '^#')"
	fi
	if command -v systemd-analyze >/dev/null; then
		sed "s|=/usr/sbin/rpctls-exports|=$BUILD/bin/rpctls-exports|" "$u" >"$T/rpctls-exports.service"
		out=$(systemd-analyze verify --man=no "$T/rpctls-exports.service" 2>&1)
		tap_expect "install-policy-unit: systemd-analyze verify finds nothing" "" "$out"
	else
		tap_skip "install-policy-unit: systemd-analyze verify" "systemd-analyze not installed"
	fi
	# every installed man page renders without warnings
	for mp in "$D"/usr/share/man/man*/*; do
		m=$(basename "$mp")
		if ! command -v man >/dev/null; then
			tap_skip "man-$m" "no man(1) on this machine"
		elif LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$mp" \
			2>"$T/man.err" >/dev/null && [ ! -s "$T/man.err" ]; then
			tap_ok "man-$m"
		else
			tap_fail "man-$m: $(head -3 "$T/man.err")"
		fi
	done
	tap_expect "install-unit-execstart" "ExecStart=/usr/sbin/tlshd" \
		"$(grep '^ExecStart=' "$D/lib/systemd/system/tlshd.service" 2>/dev/null)"
	[ -x "$D/usr/sbin/tlshd" ] && "$D/usr/sbin/tlshd" --version >/dev/null 2>&1 &&
		tap_ok "installed tlshd runs" || tap_fail "installed tlshd runs"
	"$D/usr/sbin/rpctls" options xprtsec=tls >/dev/null 2>&1 &&
		tap_ok "installed rpctls runs" || tap_fail "installed rpctls runs"
	tap_expect "install-no-mount-wrap-in-destdir" "no" \
		"$([ -e "$D/sbin/mount.nfs" ] && echo yes || echo no)"
	make -s -C "$REPO" uninstall DESTDIR="$D" PREFIX=/usr >>"$T/install.log" 2>&1
	left=$(find "$D" -type f -o -type l | sed "s|^$D||")
	tap_expect "uninstall-leaves-no-files" "" "$left"
	# another PREFIX: everything lands under it, and uninstall finds it
	if make -s -C "$REPO" install DESTDIR="$D" PREFIX=/opt/rpctls >>"$T/install.log" 2>&1; then
		tap_expect "install-prefix" "ok" "$([ -x "$D/opt/rpctls/sbin/rpctls" ] &&
			[ -x "$D/opt/rpctls/sbin/tlshd" ] && [ -f "$D/opt/rpctls/share/man/man5/nfs-tls.5" ] &&
			[ -z "$(find "$D/usr" -type f 2>/dev/null)" ] && echo ok)"
		if grep -q "^ExecStart=/opt/rpctls/sbin/tlshd" "$D/lib/systemd/system/tlshd.service"; then
			tap_ok "install-prefix-unit"
		else
			tap_fail "install-prefix-unit: $(grep ^ExecStart= "$D/lib/systemd/system/tlshd.service")"
		fi
		make -s -C "$REPO" uninstall DESTDIR="$D" PREFIX=/opt/rpctls >>"$T/install.log" 2>&1
		tap_expect "uninstall-prefix-leaves-no-files" "" "$(find "$D" -type f -o -type l | sed "s|^$D||")"
	else
		tap_fail "install-prefix: $(tail -3 "$T/install.log")"
	fi
else
	tap_fail "install: $(tail -5 "$T/install.log")"
fi

tap_done
