#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host tests for tlshd (no kTLS on the host):
#   - tlshd-unit: configuration parser, peer-name matcher, the netlink
#     upcall's messages (crafted good and malformed), the status table;
#   - the libFuzzer targets for the config and netlink parsers, bounded
#     (when clang is there);
#   - tlshd-nltest: the netlink upcall end to end against a fake kernel;
#   - tlshd's handshake engine with the kTLS hand-off disabled by the
#     internal test seam, against gnutls-serv/gnutls-cli and Python's ssl
#     (OpenSSL), and against itself: every mode, every failure status;
#   - tlshd's command line on bad configurations.
# Runs in a private session keyring so that test keys vanish afterwards.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD

# shellcheck source=../lib/tap.sh
. tests/lib/tap.sh
# shellcheck source=../lib/tlshd.sh
. tests/lib/tlshd.sh
# shellcheck source=../lib/bg.sh
. tests/lib/bg.sh
tlshd_keyring "$@"

B=$REPO/build/bin
HS=$B/tlshd-hstest
T=$(mktemp -d /tmp/tlshd-host.XXXXXX)
C=$T/certs
PIDS=()
cleanup() {
	bg_stop_all
	rm -rf "$T"
}
trap cleanup EXIT

for f in tlshd tlshd-hstest tlshd-unit tlshd-nltest; do
	[ -x "$B/$f" ] || { tap_fail "build: $B/$f missing (run make userspace)"; exit 1; }
done

# --- unit tests (they read the test certificates too) -------------------------
# tlshd-unit prints its own result lines and exits 1 when one failed (those
# are counted already); anything else -- a crash, an abort, a run that stops
# before its last line -- would silently drop the cases after it.
tlshd/tests/mkcerts.sh "$C" || { tap_fail "mkcerts.sh failed"; exit 1; }
mkdir -p "$T/nl-corpus" "$T/unit"
TLSHD_NL_CORPUS=$T/nl-corpus "$B/tlshd-unit" "$T/unit" "$C" >"$T/unit.out" 2>&1
rc=$?
cat "$T/unit.out"
if [ $rc -gt 1 ]; then
	tap_fail "tlshd-unit: died with exit status $rc$( [ $rc -gt 128 ] && echo " (signal $((rc - 128)))"): the cases after the last line above did not run"
elif ! tail -n 1 "$T/unit.out" | grep -q '^# tlshd-unit: [0-9]* cases, [0-9]* failed$'; then
	tap_fail "tlshd-unit: no summary line: it stopped early (exit $rc)"
fi

# --- fuzzer ------------------------------------------------------------------
if command -v clang >/dev/null; then
	if out=$(make -s -C tlshd BUILD="$REPO/build" fuzz 2>&1); then
		mkdir -p "$T/corpus"
		cp tlshd/tests/fuzz-corpus/* "$T/corpus/" 2>/dev/null
		if out=$("$B/tlshd-fuzz-config" -runs=200000 -max_len=2048 \
			-seed=1 "$T/corpus" 2>&1); then
			tap_ok "fuzz: config parser, 200000 runs, no crash or leak"
		else
			tap_fail "fuzz: config parser crashed"
			printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
		fi
		if out=$("$B/tlshd-fuzz-netlink" -runs=1000000 -max_len=2048 \
			-seed=1 -timeout=10 "$T/nl-corpus" 2>&1); then
			tap_ok "fuzz: netlink parsers, 1000000 runs from $(ls "$T/nl-corpus" | wc -l) crafted seeds, no crash or leak"
		else
			tap_fail "fuzz: netlink parsers crashed"
			printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
		fi
	else
		tap_fail "fuzz: build failed"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
else
	tap_skip "fuzz: config and netlink parsers" "clang not installed"
fi

# --- configurations -----------------------------------------------------------

# --- the netlink upcall against a fake kernel (tests/nltest.c) ----------------
"$B/tlshd-nltest" "$C" 2>"$T/nltest.log"
rc=$?
[ $rc -le 1 ] || tap_fail "tlshd-nltest: exit $rc: $(tail -n 3 "$T/nltest.log")"
# the same with one worker and with four, and under the sanitizers
for w in 1 4; do
	out=$("$B/tlshd-nltest" "$C" $w 2>&1)
	rc=$?
	n=$(grep -c '^ok - ' <<<"$out")
	if [ $rc -eq 0 ] && ! grep -q '^not ok' <<<"$out"; then
		tap_ok "tlshd-nltest with $w worker(s): all $n cases pass"
	else
		tap_fail "tlshd-nltest with $w worker(s)"
		grep '^not ok' <<<"$out" | sed 's/^/#   /'
	fi
done
# sanitized NAME BINARY WORKERS REPORT: tlshd-nltest built with a sanitizer
# passes every case and the sanitizer reports nothing (REPORT: an ERE)
sanitized() {
	local out rc
	out=$("$2" "$C" "$3" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && ! grep -qE "$4" <<<"$out"; then
		tap_ok "$1"
	else
		tap_fail "$1: exit $rc"
		grep -A12 -E "$4|^not ok" <<<"$out" | head -n 40 | sed 's/^/#   /'
	fi
}
if command -v clang >/dev/null; then
	if out=$(make -s -C tlshd BUILD="$REPO/build" sanitize 2>&1); then
		sanitized "tlshd-nltest under ThreadSanitizer, 4 workers: no data race" \
			"$B/tlshd-nltest-tsan" 4 'WARNING: ThreadSanitizer'
		sanitized "tlshd-nltest under AddressSanitizer, UBSan, LeakSanitizer: clean" \
			"$B/tlshd-nltest-asan" 3 'ERROR: (Address|Leak)Sanitizer|runtime error'
	else
		tap_fail "sanitize: build failed"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
else
	tap_skip "tlshd-nltest under the sanitizers" "clang not installed"
fi
# the causes, as tlshd logged them
nl_log() { # name pattern
	if grep -q "$2" "$T/nltest.log"; then
		tap_ok "$1"
	else
		tap_fail "$1: no log line '$2'"
		grep -v 'handshake req=' "$T/nltest.log" | tail -n 8 | sed 's/^/#   /'
	fi
}
nl_log "netlink e2e log: a request with an unknown attribute is refused, naming it" \
	'error: netlink: refusing the request on fd [0-9]*: unknown attribute 12 (the kernel'"'"'s handshake protocol is newer'
nl_log "netlink e2e log: a request without MESSAGE_TYPE is refused, naming it" \
	'error: netlink: refusing the request on fd [0-9]*: no MESSAGE_TYPE'
nl_log "netlink e2e log: a UDP socket is refused, naming the transport" \
	'type=client-anon result=fail status=EPROTONOSUPPORT .*reason="socket type 2 protocol 17: tlshd serves TLS over TCP only"'
nl_log "netlink e2e log: DONE refused by the kernel is named" \
	'warning: netlink: the kernel did not take DONE for fd [0-9]*: Device or resource busy'
nl_log "netlink e2e log: a CRL changed on disk is read for the next handshake" \
	'x509.crl .*/live-crl.pem changed on disk: credentials read again for the next handshakes'
nl_log "netlink e2e log: a certificate that does not parse leaves the last good one, said" \
	'error: \[authenticate.server\] x509.certificate .*/live-server.pem changed on disk but does not load, keeping the credentials read before'
nl_log "netlink e2e log: the audit line of a netlink request" \
	'handshake req=[0-9]* peer=127.0.0.1 name=localhost type=client-anon result=ok status=0 version=TLS1.3'

conf() { # name, then lines
	local f=$T/$1.conf
	shift
	printf '%s\n' "$@" > "$f"
}
conf client '[authenticate.client]' "x509.truststore = $C/ca.pem" "x509.crl = $C/crl.pem" \
	"x509.certificate = $C/client.pem" "x509.private_key = $C/client.key"
conf client-nocert '[authenticate.client]' "x509.truststore = $C/ca.pem"
conf client-systrust '[authenticate.client]'
conf client-eku '[authenticate.client]' "x509.truststore = $C/ca.pem" 'x509.require_eku = true'
conf client-alpn '[authenticate.client]' "x509.truststore = $C/ca.pem" 'alpn.required = true'
conf server '[authenticate.server]' "x509.truststore = $C/ca.pem" "x509.crl = $C/crl.pem" \
	"x509.certificate = $C/server.pem" "x509.private_key = $C/server.key"
conf server-eku '[authenticate.server]' "x509.truststore = $C/ca.pem" "x509.crl = $C/crl.pem" \
	"x509.certificate = $C/server.pem" "x509.private_key = $C/server.key" 'x509.require_eku = yes'
conf server-alpn '[authenticate]' 'alpn.required = yes' '[authenticate.server]' \
	"x509.truststore = $C/ca.pem" "x509.certificate = $C/server.pem" \
	"x509.private_key = $C/server.key"
# [authenticate.server]'s own alpn.required overrides [authenticate]'s
conf server-alpn-off '[authenticate]' 'alpn.required = yes' '[authenticate.server]' \
	"x509.truststore = $C/ca.pem" "x509.certificate = $C/server.pem" \
	"x509.private_key = $C/server.key" 'alpn.required = no'
cat "$T/client.conf" "$T/server.conf" > "$T/both.conf"

PSKHEX=$(cat "$C/psk.hex")
PSK=$(hex2bin "$PSKHEX" | keyctl padd user nfs-client-1 @s)
WRONG=$(hex2bin "00$PSKHEX" | head -c 32 | keyctl padd user nfs-client-2 @s)
UNKNOWN=$(hex2bin "$PSKHEX" | keyctl padd user nobody-knows-me @s)
CERT=$(keyctl padd user tlshd-test-cert @s < "$C/client.der")
KEY=$(keyctl padd user tlshd-test-key @s < "$C/client.key.der")
printf 'nfs-client-1:%s\n' "$PSKHEX" > "$T/psk.passwd"
# the server side of the wrong-PSK case: same identity, other key
printf 'nfs-client-2:%s\n' "$PSKHEX" >> "$T/psk.passwd"

# gnutls-serv --echo answers whole lines
MSG=$'ping over tls\n'

# status NAME WANT OUT: compare the status= of the first result line; a WANT
# of "0/none" or "0/sunrpc" also wants that alpn= in it.
status() {
	local name=$1 want=${2%%/*} out=$3 got alpn
	if [ "$2" != "$want" ]; then
		alpn=$(sed -n 's/^result .* alpn=\([^ ]*\).*/\1/p' <<<"$out" | head -n 1)
		if [ "$alpn" != "${2#*/}" ]; then
			tap_fail "$name: want alpn=${2#*/}, got alpn=${alpn:-no result}"
			printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
			return
		fi
	fi
	got=$(sed -n 's/^result status=\([^ ]*\).*/\1/p' <<<"$out" | head -n 1)
	if [ "$got" = "$want" ] && [ "$want" = 0 ] && grep -q ' data=' <<<"$out" &&
		! grep -q ' data=ok' <<<"$out"; then
		tap_fail "$name: handshake ok, data through the session failed"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	elif [ "$got" = "$want" ]; then
		tap_ok "$name"
	else
		tap_fail "$name: want status=$want, got ${got:-no result}"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	fi
}

# free_port: a port nobody listens on right now (other tests share the host)
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# peer_up LOG CMD...: start a peer in the background, wait until it listens.
# @PORT@ in CMD becomes a free port; one-shot peers given port 0 print
# "listening port=N" and $PORT is taken from there.
peer_up() {
	local log=$1 i p
	shift
	PORT=$(free_port)
	: > "$log"	# never read the previous peer's port line
	timeout 120 "${@//@PORT@/$PORT}" > "$log" 2>&1 &
	PIDS+=($!)
	BGPID=$!
	for i in $(seq 200); do
		p=$(sed -n 's/^listening port=\([0-9]*\).*/\1/p' "$log" 2>/dev/null)
		[ -n "$p" ] && { PORT=$p; return 0; }
		grep -qE '^listening$|IPv4 .*done' "$log" 2>/dev/null && return 0
		kill -0 $BGPID 2>/dev/null || break
		sleep 0.05
	done
	echo "# peer did not start: $*"
	sed 's/^/#   /' "$log"
	return 1
}
peer_down() { kill "$BGPID" 2>/dev/null; wait "$BGPID" 2>/dev/null; }

GSERV=(gnutls-serv --echo --noticket -p @PORT@ --x509cafile "$C/ca.pem")
gserv() { # log cert [extra gnutls-serv options...]
	local log=$1 cert=$2
	shift 2
	peer_up "$log" "${GSERV[@]}" --x509certfile "$C/$cert" --x509keyfile "$C/server.key" "$@"
}

# --- our client against gnutls-serv ----------------------------------------------
client_vs_gserv() { # name want cert "serv opts" hstest-args...
	local name=$1 want=$2 cert=$3 sopts=$4 out
	shift 4
	# shellcheck disable=SC2086
	gserv "$T/gserv.log" "$cert" $sopts || { tap_fail "$name: gnutls-serv"; return; }
	out=$("$HS" "$@" --send "$MSG" connect 127.0.0.1 "$PORT" 2>&1)
	LAST_OUT=$out
	status "$name" "$want" "$out"
	peer_down
}
client_vs_gserv "client anon vs gnutls-serv: DNS-ID" 0/sunrpc server.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n localhost
out=$(grep -c . "$T/gserv.log")
client_vs_gserv "client anon vs gnutls-serv: iPAddress SAN" 0 server.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n 127.0.0.1
client_vs_gserv "client anon: no peer name uses the connected address" 0 server.pem \
	"--alpn sunrpc" -c "$T/client.conf" -t anon
client_vs_gserv "client: intermediate chain sent by server" 0 server-chain.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n localhost
# ALPN policy: a server that answers without ALPN (as mainline's tlshd and
# FreeBSD's rpc.tlsservd do) is accepted and reported as alpn=none, unless
# alpn.required is set; one that refuses "sunrpc" is refused.
client_vs_gserv "client: server without ALPN accepted (alpn=none)" 0/none \
	server.pem "" -c "$T/client.conf" -t anon -n localhost -v
if grep -q 'result=ok .* alpn=none ' <<<"$LAST_OUT"; then
	tap_ok "client: the audit line says alpn=none"
else
	tap_fail "client: no 'alpn=none' in the audit line: $(grep 'handshake req' <<<"$LAST_OUT")"
fi
client_vs_gserv "client: alpn.required, server without ALPN refused (EPROTONOSUPPORT)" \
	EPROTONOSUPPORT server.pem "" -c "$T/client-alpn.conf" -t anon -n localhost
grep -q 'reason="peer negotiated no ALPN and alpn.required is set"' <<<"$LAST_OUT"
tap_expect "client: alpn.required refusal names the key" 0 $?
client_vs_gserv "client: alpn.required, server with ALPN sunrpc" 0/sunrpc server.pem \
	"--alpn sunrpc" -c "$T/client-alpn.conf" -t anon -n localhost
client_vs_gserv "client: server with other ALPN refused" EPROTONOSUPPORT server.pem \
	"--alpn h2 --alpn-fatal" -c "$T/client.conf" -t anon -n localhost
client_vs_gserv "client: TLS 1.2-only server refused (EPROTONOSUPPORT)" EPROTONOSUPPORT \
	server.pem "--alpn sunrpc --priority NORMAL:-VERS-ALL:+VERS-TLS1.2" \
	-c "$T/client.conf" -t anon -n localhost
client_vs_gserv "client: wrong name (EACCES)" EACCES server.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n other.test
client_vs_gserv "client: wrong address (EACCES)" EACCES server.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n 192.0.2.77
client_vs_gserv "client: unknown CA (EACCES)" EACCES stranger.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n localhost
client_vs_gserv "client: expired certificate (EACCES)" EACCES expired.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n localhost
client_vs_gserv "client: revoked certificate, CRL (EACCES)" EACCES revoked.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n localhost
client_vs_gserv "client: revoked certificate accepted without the CRL" 0 revoked.pem \
	"--alpn sunrpc" -c "$T/client-nocert.conf" -t anon -n localhost
client_vs_gserv "client: wildcard-only certificate (EACCES)" EACCES wild.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t anon -n server.test
client_vs_gserv "client: EKU required and present" 0 server.pem "--alpn sunrpc" \
	-c "$T/client-eku.conf" -t anon -n localhost
client_vs_gserv "client: EKU required and missing (EACCES)" EACCES noeku.pem "--alpn sunrpc" \
	-c "$T/client-eku.conf" -t anon -n localhost
client_vs_gserv "client: no truststore: the system store, read now, lacks the test CA (EACCES)" \
	EACCES server.pem "--alpn sunrpc" -c "$T/client-systrust.conf" -t anon -n localhost -v
if grep -q 'loaded [0-9]* CA certificates from the system trust store' <<<"$LAST_OUT"; then
	tap_ok "client: the system trust store is read by the first handshake that needs it"
elif [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then
	tap_skip "client: system trust store read on first use" "no /etc/ssl/certs/ca-certificates.crt"
else
	tap_fail "client: no 'loaded N CA certificates' line at the first handshake"
fi
client_vs_gserv "client x509 (config cert) vs gnutls-serv" 0 server.pem "--alpn sunrpc" \
	-c "$T/client.conf" -t x509 -n localhost
client_vs_gserv "client x509 (keyring serials) vs gnutls-serv" 0 server.pem "--alpn sunrpc" \
	-c "$T/client-nocert.conf" -t x509 -n localhost --cert "$CERT" --key "$KEY"
client_vs_gserv "client x509 without any certificate (ENOKEY)" ENOKEY server.pem \
	"--alpn sunrpc" -c "$T/client-nocert.conf" -t x509 -n localhost
client_vs_gserv "client x509: bad key serial (ENOKEY)" ENOKEY server.pem "--alpn sunrpc" \
	-c "$T/client-nocert.conf" -t x509 -n localhost --cert "$CERT" --key 12345

PSKPRIO="NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:+PSK"
client_vs_gserv "client psk vs gnutls-serv" 0 server.pem \
	"--alpn sunrpc --pskpasswd $T/psk.passwd --priority $PSKPRIO" \
	-c "$T/client-nocert.conf" -t psk --psk "$PSK"
client_vs_gserv "client psk: wrong key (EKEYREJECTED)" EKEYREJECTED server.pem \
	"--alpn sunrpc --pskpasswd $T/psk.passwd --priority $PSKPRIO" \
	-c "$T/client-nocert.conf" -t psk --psk "$WRONG"
client_vs_gserv "client psk: unknown identity (EKEYREJECTED)" EKEYREJECTED server.pem \
	"--alpn sunrpc --pskpasswd $T/psk.passwd --priority $PSKPRIO" \
	-c "$T/client-nocert.conf" -t psk --psk "$UNKNOWN"

# --- our client against Python ssl (OpenSSL) ---------------------------------
PY=(python3 tlshd/tests/sslpeer.py)
client_vs_py() { # name want "py opts" hstest-args...
	local name=$1 want=$2 popts=$3 out
	shift 3
	# shellcheck disable=SC2086
	peer_up "$T/py.log" "${PY[@]}" server 0 --cert "$C/server.pem" --key "$C/server.key" \
		--ca "$C/ca.pem" $popts || { tap_fail "$name: python server"; return; }
	out=$("$HS" "$@" --send "$MSG" connect 127.0.0.1 "$PORT" 2>&1)
	status "$name" "$want" "$out"
	peer_down
}
client_vs_py "client anon vs OpenSSL" 0 "" -c "$T/client.conf" -t anon -n server.test
client_vs_py "client anon vs OpenSSL sending 2 session tickets" 0 "--tickets 2" \
	-c "$T/client.conf" -t anon -n server.test
client_vs_py "client x509 vs OpenSSL requiring a client cert" 0 "--require-cert" \
	-c "$T/client.conf" -t x509 -n server.test
# TLS 1.3: the server judges the client's certificate after the client is
# done, so the client learns of the refusal only from the next read.
peer_up "$T/py.log" "${PY[@]}" server 0 --cert "$C/server.pem" --key "$C/server.key" \
	--ca "$C/ca.pem" --require-cert
out=$("$HS" -c "$T/client.conf" -t anon -n server.test --send ping connect 127.0.0.1 "$PORT" 2>&1)
if grep -q "status=0 .*data=recv-failed" <<<"$out" && grep -q "server error" "$T/py.log"; then
	tap_ok "client anon vs OpenSSL requiring a client cert: refused after the handshake"
else
	tap_fail "client anon vs OpenSSL requiring a client cert: $out / $(cat "$T/py.log")"
fi
peer_down
# An OpenSSL server with only "h2" ignores the client's "sunrpc" (no
# overlap: no ALPN extension in its answer), which on the wire is the same
# as a server without ALPN: accepted by default, refused when strict.
client_vs_py "client vs OpenSSL with ALPN h2 only: no ALPN, accepted" 0/none "--alpn h2" \
	-c "$T/client.conf" -t anon -n server.test
client_vs_py "client vs OpenSSL without ALPN (FreeBSD-style peer): accepted" 0/none \
	"--no-alpn" -c "$T/client.conf" -t anon -n server.test
client_vs_py "client, alpn.required, vs OpenSSL without ALPN (EPROTONOSUPPORT)" \
	EPROTONOSUPPORT "--no-alpn" -c "$T/client-alpn.conf" -t anon -n server.test
client_vs_py "client vs OpenSSL TLS 1.2 only (EPROTONOSUPPORT)" EPROTONOSUPPORT "--tls12" \
	-c "$T/client.conf" -t anon -n server.test

# --- broken and silent peers ----------------------------------------------------
peer_up "$T/junk.log" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); c.recv(4096); c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n" * 20)
c.close()' "@PORT@"
out=$("$HS" -c "$T/client.conf" -t anon -n localhost connect 127.0.0.1 "$PORT" 2>&1)
status "client: garbage from the server (EIO)" EIO "$out"
peer_down
peer_up "$T/silent.log" python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); time.sleep(30)' "@PORT@"
out=$("$HS" -c "$T/client.conf" -t anon -n localhost --timeout 700 connect 127.0.0.1 "$PORT" 2>&1)
status "client: silent server times out (ETIMEDOUT)" ETIMEDOUT "$out"
peer_down

# --- our server against gnutls-cli and OpenSSL ---------------------------------
# server_vs CLIENT-KIND name want hstest-args -- client args...
server_vs() {
	local kind=$1 name=$2 want=$3 out hsargs=() cout
	shift 3
	while [ "$1" != -- ]; do hsargs+=("$1"); shift; done
	shift
	peer_up "$T/hs.log" "$HS" "${hsargs[@]}" --send x listen 0 ||
		{ tap_fail "$name: hstest listen"; return; }
	case $kind in
	gnutls)
		cout=$( (echo "ping over tls"; sleep 1) | timeout 20 gnutls-cli -p "$PORT" "$@" 2>&1) ;;
	py)
		cout=$(timeout 20 "${PY[@]}" client 127.0.0.1 "$PORT" "$@" 2>&1) ;;
	raw)
		cout=$(timeout 20 python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 200); c.recv(4096)' "$PORT" 2>&1) ;;
	esac
	wait "$BGPID" 2>/dev/null
	COUT=$cout
	out=$(cat "$T/hs.log")
	status "$name" "$want" "$out"
	if [ "$want" = 0 ] && [ "$kind" = gnutls ] && ! grep -q "ping over tls" <<<"$cout"; then
		tap_fail "$name: gnutls-cli did not get the echo"
		printf '%s\n' "$cout" | tail -n 10 | sed 's/^/#   /'
	fi
	if [ "$want" = 0 ] && [ "$kind" = py ] && ! grep -q "client ok .*echo=ok" <<<"$cout"; then
		tap_fail "$name: python client: $cout"
	fi
}
GCLI=(--x509cafile "$C/ca.pem" localhost)
server_vs gnutls "server x509 vs gnutls-cli" 0/sunrpc -c "$T/server.conf" -T x509 -- \
	--alpn sunrpc "${GCLI[@]}"
server_vs gnutls "server: client without ALPN accepted (alpn=none)" 0/none \
	-c "$T/server.conf" -T x509 -- "${GCLI[@]}"
server_vs gnutls "server: alpn.required, client without ALPN refused (EPROTONOSUPPORT)" \
	EPROTONOSUPPORT -c "$T/server-alpn.conf" -T x509 -- "${GCLI[@]}"
if grep -q 'No supported application protocol could be negotiated\|alert.*120\|application protocol' <<<"$COUT"; then
	tap_ok "server: alpn.required refuses with a no_application_protocol alert"
else
	tap_fail "server: alpn.required: the client saw no no_application_protocol alert"
	printf '%s\n' "$COUT" | tail -n 8 | sed 's/^/#   /'
fi
server_vs gnutls "server: alpn.required, client with ALPN sunrpc" 0/sunrpc \
	-c "$T/server-alpn.conf" -T x509 -- --alpn sunrpc "${GCLI[@]}"
server_vs gnutls "server: [authenticate.server] alpn.required = no overrides [authenticate]" \
	0/none -c "$T/server-alpn-off.conf" -T x509 -- "${GCLI[@]}"
server_vs gnutls "server: client with other ALPN refused" EPROTONOSUPPORT \
	-c "$T/server.conf" -T x509 -- --alpn h2 "${GCLI[@]}"
server_vs gnutls "server: TLS 1.2-only client refused (EPROTONOSUPPORT)" EPROTONOSUPPORT \
	-c "$T/server.conf" -T x509 -- --alpn sunrpc --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 \
	"${GCLI[@]}"
server_vs gnutls "server mtls: client certificate verified" 0 -c "$T/server.conf" -T x509 -r -- \
	--alpn sunrpc --x509certfile "$C/client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}"
server_vs gnutls "server mtls: EKU required and present" 0 -c "$T/server-eku.conf" -T x509 -r -- \
	--alpn sunrpc --x509certfile "$C/client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}"
server_vs gnutls "server mtls: EKU required and missing (EACCES)" EACCES \
	-c "$T/server-eku.conf" -T x509 -r -- --alpn sunrpc \
	--x509certfile "$C/stranger-client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}"
server_vs gnutls "server mtls: no client certificate (EACCES)" EACCES \
	-c "$T/server.conf" -T x509 -r -- --alpn sunrpc "${GCLI[@]}"
server_vs gnutls "server: optional client certificate absent is fine" 0 \
	-c "$T/server.conf" -T x509 -- --alpn sunrpc "${GCLI[@]}"
# the alert names the cause (RFC 8446 6.2), so that the client's side can
alert_seen() {
	if grep -qi "alert.*$2" <<<"$COUT"; then
		tap_ok "$1"
	else
		tap_fail "$1: gnutls-cli saw no '$2' alert"
		printf '%s\n' "$COUT" | grep -i alert | head -n 3 | sed 's/^/#   /'
	fi
}
server_vs gnutls "server mtls: revoked client certificate (EACCES)" EACCES \
	-c "$T/server.conf" -T x509 -r -- --alpn sunrpc \
	--x509certfile "$C/revoked-client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}"
alert_seen "server mtls: a revoked client is told certificate_revoked" "revoked"
server_vs gnutls "server mtls: client certificate from unknown CA (EACCES)" EACCES \
	-c "$T/server.conf" -T x509 -r -- --alpn sunrpc \
	--x509certfile "$C/stranger-client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}"
alert_seen "server mtls: a client from an unknown CA is told unknown_ca" "CA is unknown\|unknown.ca"
# Client certificates and the system trust store.  A private mount
# namespace puts "untrusted CA" into a stand-in for the system store, so
# stranger-client.pem plays a certificate bought from the web PKI.
conf server-nots '[authenticate.server]' "x509.certificate = $C/server.pem" \
	"x509.private_key = $C/server.key"
conf server-sys '[authenticate.server]' "x509.certificate = $C/server.pem" \
	"x509.private_key = $C/server.key" 'x509.system_trust = yes'
conf server-both '[authenticate.server]' "x509.truststore = $C/ca.pem" \
	"x509.certificate = $C/server.pem" "x509.private_key = $C/server.key" 'x509.system_trust = yes'
cat "$C/other-ca.pem" /etc/ssl/certs/ca-certificates.crt >"$T/websys.crt" 2>/dev/null
if unshare -m true 2>/dev/null; then
	HS_REAL=$HS
	HS="$T/hs-websys"
	printf '#!/bin/sh\nexec unshare -m sh -c '\''mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"'\'' %s %s "$@"\n' \
		"$T/websys.crt" "$HS_REAL" >"$HS"
	chmod +x "$HS"
	WEBCLI=(--alpn sunrpc --x509certfile "$C/stranger-client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}")
	# hs_auth WANT NAME: auth= of the server's result line
	hs_auth() {
		if grep -q "^result status=0 .*auth=$1 " "$T/hs.log"; then tap_ok "$2"
		else tap_fail "$2: $(grep '^result' "$T/hs.log")"; fi
	}
	server_vs gnutls "server, no truststore: web-PKI client certificate, handshake" 0 \
		-c "$T/server-nots.conf" -T x509 -- "${WEBCLI[@]}"
	hs_auth 0 "server, no truststore: a web-PKI client certificate is not trusted (client anonymous)"
	server_vs gnutls "server mtls, no truststore: web-PKI client refused (EACCES)" EACCES \
		-c "$T/server-nots.conf" -T x509 -r -- "${WEBCLI[@]}"
	grep -q 'has no x509.truststore (the system store authenticates clients only with x509.system_trust = true)' "$T/hs.log"
	tap_expect "server mtls, no truststore: the refusal names x509.truststore and x509.system_trust" 0 $?
	server_vs gnutls "server, x509.system_trust = yes: web-PKI client certificate verified" 0 \
		-c "$T/server-sys.conf" -T x509 -v -r -- "${WEBCLI[@]}"
	grep -q 'auth=peer-verified .*anchor="CN=untrusted CA (system trust store)"' "$T/hs.log"
	tap_expect "server, x509.system_trust = yes: the audit line names the anchor and the system store" 0 $?
	server_vs gnutls "server, truststore and system store: our CA's client verified" 0 \
		-c "$T/server-both.conf" -T x509 -v -r -- --alpn sunrpc \
		--x509certfile "$C/client.pem" --x509keyfile "$C/client.key" "${GCLI[@]}"
	grep -q 'auth=peer-verified .*anchor="CN=rpctls test CA (x509.truststore)"' "$T/hs.log"
	tap_expect "server, truststore and system store: the anchor is named as x509.truststore" 0 $?
	HS=$HS_REAL
else
	tap_skip "server: client certificates and the system trust store" \
		"cannot make a private mount namespace (unshare -m) for a stand-in system store"
fi
server_vs gnutls "server psk vs gnutls-cli" 0 -c "$T/server.conf" -T psk -- \
	--alpn sunrpc --priority "$PSKPRIO" --pskusername nfs-client-1 --pskkey "$PSKHEX" localhost
server_vs gnutls "server psk: unknown identity (EKEYREJECTED)" EKEYREJECTED \
	-c "$T/server.conf" -T psk -- --alpn sunrpc --priority "$PSKPRIO" \
	--pskusername stranger --pskkey "$PSKHEX" localhost
# A PSK identity is the client's bytes: a newline in it must not forge a
# log line, a quote must not end the field.
server_vs gnutls "server psk: hostile identity (EKEYREJECTED)" EKEYREJECTED \
	-c "$T/server.conf" -T psk -v -- --alpn sunrpc --priority "$PSKPRIO" \
	--pskusername $'evil"\nhandshake req=1 result=ok' --pskkey "$PSKHEX" localhost
if grep -qF "unknown PSK identity 'evil\\x22\\x0ahandshake req=1 result=ok'" "$T/hs.log" &&
	! grep -q '^handshake req=1 result=ok' "$T/hs.log"; then
	tap_ok "server psk: a hostile identity is escaped in the log (no forged line)"
else
	tap_fail "server psk: hostile identity in the log: $(grep -a 'PSK identity' "$T/hs.log")"
fi
server_vs gnutls "server psk: wrong key (EKEYREJECTED)" EKEYREJECTED \
	-c "$T/server.conf" -T psk -- --alpn sunrpc --priority "$PSKPRIO" \
	--pskusername nfs-client-2 --pskkey "$PSKHEX" localhost
server_vs py "server x509 vs OpenSSL client" 0 -c "$T/server.conf" -T x509 -- \
	--ca "$C/ca.pem" --name server.test
server_vs py "server mtls vs OpenSSL client" 0 -c "$T/server.conf" -T x509 -r -- \
	--ca "$C/ca.pem" --name server.test --cert "$C/client.pem" --key "$C/client.key"
server_vs py "server: OpenSSL TLS 1.2 client refused (EPROTONOSUPPORT)" EPROTONOSUPPORT \
	-c "$T/server.conf" -T x509 -- --ca "$C/ca.pem" --name server.test --tls12
server_vs py "server: OpenSSL client without ALPN (FreeBSD-style) accepted" 0/none \
	-c "$T/server.conf" -T x509 -- --ca "$C/ca.pem" --name server.test --no-alpn
server_vs py "server: alpn.required, OpenSSL client without ALPN refused" EPROTONOSUPPORT \
	-c "$T/server-alpn.conf" -T x509 -- --ca "$C/ca.pem" --name server.test --no-alpn
server_vs raw "server: garbage from the client (EIO)" EIO -c "$T/server.conf" -T x509 -- 

# --- our client against our server, in one process -------------------------------
pair() { # name want-line args...
	local name=$1 want=$2 out
	shift 2
	out=$("$HS" "$@" 2>&1)
	if grep -q "$want" <<<"$out"; then
		tap_ok "$name"
	else
		tap_fail "$name: want '$want'"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/#   /'
	fi
}
pair "pair: anon" "pairs=1 ok=1" -c "$T/both.conf" -t anon -T x509 -n server.test --send hi pair 1
pair "pair: mutual x509, peer ids reported both ways" "pairs=1 ok=1" \
	-c "$T/both.conf" -t x509 -T x509 -r -n server.test --send hi pair 1
# Peer certificate keys stay out of the session keyring, which PSK lookups
# search: there, a certificate (public) would have served as a PSK.
n=$(keyctl show @s | grep -c 'user: tlshd:peer:')
tap_expect "pair: no peer certificate key lands in the session keyring (PSK lookups search it)" 0 "$n"
# One key per distinct certificate: 4000 verified handshakes as "nobody",
# whose key quota (20000 bytes) holds about 18 certificates.  With a key
# per handshake, 2560 of them went unrecorded and those peers would count
# as anonymous (an mtls client then sees WRONGSEC).
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	# nobody's own copies: the shared ones keep their modes (a private key
	# readable by others is refused), and nobody owns its key files
	Q=$T/nobody
	mkdir -p "$Q"
	cp "$C"/*.pem "$C"/*.key "$Q"/
	sed "s|$C/|$Q/|g" "$T/both.conf" >"$Q/both.conf"
	chmod 0600 "$Q"/*.key
	chown -R nobody "$Q"
	chmod 0711 "$T"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups keyctl session - \
		"$HS" -q -c "$Q/both.conf" -t x509 -T x509 -r -n server.test pair 50 --rounds 40 2>&1)
	if grep -q '^peer_keys=2 unrecorded=0$' <<<"$out" && ! grep -q 'failed=[1-9]' <<<"$out"; then
		tap_ok "pair: 4000 mutual handshakes under a 20000-byte key quota: 2 peer keys, every peer recorded"
	else
		tap_fail "pair: 4000 mutual handshakes under a small key quota: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	fi
else
	tap_skip "pair: peer keys under a small key quota" "no user 'nobody' or no setpriv(1)"
fi
# a request that names a keyring is confined to it: nobody-knows-me is not there
RING=$(keyctl newring tlshd-test-ring @s)
keyctl link "$PSK" "$RING"
pair "pair: psk" "pairs=1 ok=1" -c "$T/both.conf" -t psk -T psk --psk "$PSK" --keyring "$RING" \
	--send hi pair 1
out=$("$HS" -c "$T/both.conf" -t psk -T psk --psk "$UNKNOWN" --keyring "$RING" pair 1 2>&1)
status "pair: psk, server does not know the identity (EKEYREJECTED)" EKEYREJECTED "$out"
status "pair: psk, the server side reports EKEYREJECTED too" EKEYREJECTED \
	"$(sed -n 2p <<<"$out")"
for c in AES-128-GCM AES-256-GCM AES-128-CCM CHACHA20-POLY1305; do
	pair "pair: cipher $c" "cipher=$c data=ok" -c "$T/both.conf" -t anon -T x509 \
		-n server.test --priorities "NORMAL:-CIPHER-ALL:+$c" --send hi pair 1
done
pair "pair: 200 handshakes at once, one thread" "pairs=200 ok=200 failed=0" \
	-c "$T/both.conf" -t x509 -T x509 -r -n server.test -q pair 200

# --- tlshd command line ------------------------------------------------------------
printf '[debug]\nloglevel = 1\n\n[authenticate.client]\nx509.truststore %s\n' "$C/ca.pem" > "$T/bad.conf"
out=$("$B/tlshd" --check -c "$T/bad.conf" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "$T/bad.conf:5: expected 'key = value'" <<<"$out"; then
	tap_ok "tlshd: malformed config names file and line, exit $rc"
else
	tap_fail "tlshd: malformed config: exit $rc, '$out'"
fi
printf '[authenticate.server]\nx509.certificate = %s\nx509.private_key = %s\n' \
	"$C/server.pem" "$C/client.key" > "$T/mismatch.conf"
out=$("$B/tlshd" --check -c "$T/mismatch.conf" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "does not match the certificate" <<<"$out"; then
	tap_ok "tlshd: key that does not match the certificate is named"
else
	tap_fail "tlshd: mismatched key: exit $rc, '$out'"
fi
out=$("$B/tlshd" --check -c "$T/both.conf" 2>&1)
tap_expect "tlshd: good config passes --check" "$T/both.conf: configuration OK" "$out"
out=$("$B/tlshd" --bogus 2>&1)
rc=$?
tap_expect "tlshd: unknown option exits 2" 2 "$rc"

# ktls-utils keys tlshd does not implement: accepted, one warning each
printf '[debug]\ndelay_done = 2\n[authenticate.server]\nx509.pq.certificate = /pq.pem\nx509.pq.private_key = /pq.key\n' \
	> "$T/pq.conf"
out=$("$B/tlshd" --check -c "$T/pq.conf" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^tlshd: warning: .*ignored' <<<"$out")" = 3 ] &&
	grep -q 'x509.pq.certificate ignored: this tlshd does not present post-quantum' <<<"$out"; then
	tap_ok "tlshd --check: delay_done and x509.pq.* accepted, one warning each"
else
	tap_fail "tlshd --check with ktls-utils-only keys: exit $rc, '$out'"
fi

# --- a private key in a PKCS#11 token (SoftHSM through p11-kit) -------------------
if command -v softhsm2-util >/dev/null && command -v p11tool >/dev/null; then
	export SOFTHSM2_CONF=$T/softhsm2.conf
	mkdir -p "$T/tokens"
	echo "directories.tokendir = $T/tokens" > "$SOFTHSM2_CONF"
	softhsm2-util --init-token --free --label rpctls-test --pin 4321 --so-pin 8765 >/dev/null
	GNUTLS_PIN=4321 p11tool --login --write --load-privkey "$C/server.key" \
		--label server-key "pkcs11:token=rpctls-test" >/dev/null 2>&1
	URL="pkcs11:token=rpctls-test;object=server-key"
	conf pkcs11 '[authenticate.server]' "x509.certificate = $C/server.pem" \
		"x509.private_key = $URL;pin-value=4321" '[authenticate.client]' \
		"x509.truststore = $C/ca.pem"
	out=$("$HS" -c "$T/pkcs11.conf" -t anon -T x509 -n server.test --send hi -v pair 1 2>&1)
	if grep -q "pairs=1 ok=1" <<<"$out" && ! grep -q 4321 <<<"$out"; then
		tap_ok "pkcs11: the server's key in a token signs the handshake; the PIN is never shown"
	else
		tap_fail "pkcs11: handshake with the token's key"
		printf '%s\n' "$out" | tail -n 10 | sed 's/^/#   /'
	fi
	conf pkcs11-nopin '[authenticate.server]' "x509.certificate = $C/server.pem" \
		"x509.private_key = $URL"
	out=$("$B/tlshd" --check -c "$T/pkcs11-nopin.conf" 2>&1)
	tap_expect "pkcs11: a URL without a PIN is refused, naming the URL and the fix" 1 \
		"$(grep -c "x509.private_key $URL: Error in provided PIN. (give the PIN with pin-value= or pin-source=" <<<"$out")"
	conf pkcs11-wrong '[authenticate.server]' "x509.certificate = $C/server.pem" \
		"x509.private_key = pkcs11:token=rpctls-test;object=nothing;pin-value=4321"
	out=$("$B/tlshd" --check -c "$T/pkcs11-wrong.conf" 2>&1)
	if [ $? -ne 0 ] && grep -q 'object=nothing;pin-value=<redacted>' <<<"$out" &&
		! grep -q 4321 <<<"$out"; then
		tap_ok "pkcs11: a key not in the token is refused; the PIN is redacted"
	else
		tap_fail "pkcs11: missing object: '$out'"
	fi
	unset SOFTHSM2_CONF
else
	tap_skip "pkcs11: key in a token" "softhsm2-util or p11tool not installed"
fi
conf tpmkey '[authenticate.server]' "x509.certificate = $C/server.pem" \
	"x509.private_key = tpmkey:file=/etc/tlshd/server.tpm"
out=$("$B/tlshd" --check -c "$T/tpmkey.conf" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -qE "tpmkey:file=/etc/tlshd/server.tpm: (this GnuTLS cannot open 'tpmkey:' URLs|.+)" <<<"$out"; then
	tap_ok "tpmkey: URL handed to GnuTLS; its answer named ($(sed 's/.*server.tpm: //' <<<"$out" | head -c 60))"
else
	tap_fail "tpmkey: exit $rc, '$out'"
fi

# --- tlshd.service ------------------------------------------------------------------
# The unit as installed (man pages for Documentation=), ExecStart pointing
# at the binary just built.
if command -v systemd-analyze >/dev/null; then
	make -s -C tlshd BUILD="$REPO/build" DESTDIR="$T/root" install >/dev/null 2>&1
	sed "s|/usr/sbin/tlshd|$B/tlshd|" tlshd/tlshd.service > "$T/tlshd.service"
	man_opt=()
	command -v man >/dev/null || man_opt=(--man=no)	# Documentation= needs man
	out=$(MANPATH="$T/root/usr/share/man" systemd-analyze verify "${man_opt[@]}" \
		"$T/tlshd.service" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		tap_ok "tlshd.service: systemd-analyze verify finds nothing"
	else
		tap_fail "tlshd.service: systemd-analyze verify: exit $rc"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
	# 1.6 with systemd 252; every finding left is explained in the unit
	out=$(systemd-analyze security --offline=true "$T/tlshd.service" 2>&1)
	score=$(sed -n 's/.*Overall exposure level for tlshd.service: \([0-9.]*\).*/\1/p' <<<"$out")
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		tap_ok "tlshd.service: systemd-analyze security exposure $score (at most 2.0)"
	else
		tap_fail "tlshd.service: exposure '${score:-?}', want at most 2.0"
		grep '✗' <<<"$out" | sed 's/^/#   /'
	fi
else
	tap_skip "tlshd.service: systemd-analyze verify and security" "systemd-analyze not installed"
fi

tap_done
