#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tlshd through the real AF_TLSH upcall, in the VM.  The kernel consumer is
# tlsh_test.ko (debugfs); the TLS peers are gnutls-serv/gnutls-cli and
# Python's ssl (OpenSSL).  Data then flows through kTLS both ways.
#
#   +---------- netns "client" ----------+      +---------- netns "server" ----------+
#   | tlsh_test --TCP-------------------------->  gnutls-serv / sslpeer.py           |
#   |    | hello     tlshd (client.conf)  |      |  tlshd (server.conf)               |
#   |    +--AF_TLSH--^                    |      |    ^--AF_TLSH-- tlsh_test (listen) |
#   | gnutls-cli ------------------------------------------------------^             |
#   +-------------------------------------+      +------------------------------------+
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh
. tests/lib/tlsh_test.sh
# One session keyring for the script and both tlshd: they possess the keys.
tlshd_keyring "$@"

L=/tmp/tlshd-vm
C=$L/certs
HS=$PWD/build/bin/tlshd-hstest
SSLPEER=(python3 "$PWD/tlshd/tests/sslpeer.py")
rm -rf "$L"
mkdir -p "$L"
PIDS=()
cleanup() { bg_stop_all; }
trap cleanup EXIT

for f in "$PWD/build/bin/tlshd" "$HS" "$PWD/build/bin/tlshd-hsbench"; do
	[ -x "$f" ] || { tap_fail "missing $f (make userspace)"; exit 1; }
done
tap_run "modprobe tls" modprobe tls
tap_run "modprobe tlsh_test" modprobe tlsh_test
tap_run "test hosts" netns_setup
tlshd/tests/mkcerts.sh "$C" >/dev/null 2>&1 || { tap_fail "mkcerts"; exit 1; }
PSKHEX=$(cat "$C/psk.hex")
PSK=$(hex2bin "$PSKHEX" | keyctl padd user nfs-client-1 @s)
WRONG=$(hex2bin "00${PSKHEX:0:62}" | keyctl padd user nfs-client-1x @s)
CERT=$(keyctl padd user tlshd-cert @s < "$C/client.der")
KEY=$(keyctl padd user tlshd-key @s < "$C/client.key.der")
SCERT=$(keyctl padd user tlshd-server-cert @s < "$C/server.der")
SKEY=$(keyctl padd user tlshd-server-key @s < "$C/server.key.der")
RING=$(keyctl newring tlshd-psk-ring @s)
keyctl link "$PSK" "$RING"
# tlshd runs as root too, but not always as the keys' possessor
for k in $PSK $WRONG $CERT $KEY $SCERT $SKEY $RING; do keyctl setperm "$k" 0x3f3f0000; done
printf 'nfs-client-1:%s\nnfs-client-1x:%s\n' "$PSKHEX" "$PSKHEX" > "$L/psk.passwd"

tlshd_conf "$L/client.conf" authenticate.client "x509.truststore=$C/ca.pem" "x509.crl=$C/crl.pem"
tlshd_conf "$L/server.conf" authenticate.server "x509.truststore=$C/ca.pem" "x509.crl=$C/crl.pem" \
	"x509.certificate=$C/server.pem" "x509.private_key=$C/server.key"

tls_stat() { in_ns "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/tls_stat; }
# strict_alpn NS CONF on|off: alpn.required in CONF's [authenticate], then a
# SIGHUP to that namespace's tlshd and wait for its reload line
strict_alpn() {
	local ns=$1 conf=$2 pid n
	sed -i '/^\[authenticate\]$/d; /^alpn.required/d' "$conf"
	[ "$3" = on ] && printf '%s\n' '[authenticate]' 'alpn.required = true' >>"$conf"
	[ "$ns" = client ] && pid=$TLSHD_C || pid=$TLSHD_S
	n=$(grep -c 'configuration reloaded' "$L/tlshd-$ns.log")
	kill -HUP "$pid"
	until_true 20 log_count_gt "$L/tlshd-$ns.log" 'configuration reloaded' "$n"
}

# Both agents run under strace when it is there: at the end, every system
# call they made is checked against tlshd.service's SystemCallFilter.
TRACE=0
command -v strace >/dev/null && command -v systemd-analyze >/dev/null && TRACE=1
# start_tlshd NS CONF: TPID is tlshd's pid, BG what to wait for
start_tlshd() {
	if [ $TRACE = 1 ]; then
		bg "$1" "$L/tlshd-$1.log" strace -f -qq -o "$L/strace-$1" build/bin/tlshd -s -c "$2"
		until_true 20 pgrep -P "$BG" >/dev/null
		TPID=$(pgrep -P "$BG")
	else
		bg "$1" "$L/tlshd-$1.log" build/bin/tlshd -s -c "$2"
		TPID=$BG
	fi
}
start_tlshd client "$L/client.conf"
TLSHD_C=$TPID WAIT_C=$BG
start_tlshd server "$L/server.conf"
TLSHD_S=$TPID WAIT_S=$BG
until_true 20 log_has "$L/tlshd-client.log" ready
until_true 20 log_has "$L/tlshd-server.log" ready
tap_run "tlshd started in both test hosts" log_has "$L/tlshd-server.log" ready
# In NFS writeback's path (tlshd(8), MEMORY PRESSURE): every thread an I/O
# flusher (PF_MEMALLOC_NOIO 0x80000 and PF_LOCAL_THROTTLE 0x100000 in the
# flags field of /proc/TID/stat), pages locked as they fault in (VmLck).
flushers() {
	local t n=0 all=0
	for t in /proc/"$1"/task/*/stat; do
		all=$((all + 1))
		(( ($(awk '{ sub(/^.*\) /, ""); print $7 }' "$t") & 0x180000) == 0x180000 )) && n=$((n + 1))
	done
	echo "$n of $all"
}
f=$(flushers "$TLSHD_S")
[ "${f%% *}" -ge 1 ] && [ "${f%% of *}" = "${f##* of }" ]
tap_expect "tlshd is an I/O flusher in every thread ($f)" 0 $?
lck=$(awk '$1 == "VmLck:" { print $2 }' /proc/"$TLSHD_S"/status)
[ "${lck:-0}" -gt 0 ]
tap_expect "tlshd locks its pages as they fault in (VmLck $lck KiB)" 0 $?
# and out of the OOM killer's choice: killed, it could not reconnect the
# mounts whose writeback would free memory
adj=$(cat /proc/"$TLSHD_S"/oom_score_adj)
[ "$adj" = -1000 ]
tap_expect "tlshd is out of the OOM killer's choice (oom_score_adj $adj)" 0 $?

# --- client handshakes: tlsh_test in "client", peers in "server" -------------------
# hello_case NAME WANT-STATUS PEER-CMD -- CONNECT-ADDR HELLO-ARGS...
# The peer listens on 4433 in "server"; slot 1 connects and asks for a handshake.
slot=0
HELLOS=0
hello_case() {
	local name=$1 want=$2 peer=() addr got
	shift 2
	while [ "$1" != -- ]; do peer+=("$1"); shift; done
	shift
	addr=$1
	shift
	slot=$((slot + 1))
	HELLOS=$((HELLOS + 1))
	bg server "$L/peer-$slot.log" "${peer[@]}"
	PEER=$BG
	until_true 20 log_has "$L/peer-$slot.log" 'listening\|IPv4 .*done'
	tt client connect $slot "$addr" 4433 >/dev/null
	tt client hello $slot "$@" >/dev/null
	tt client wait $slot 40000 >/dev/null
	got="$(field $slot req) $(field $slot status)"
	tap_expect "$name" "done $want" "$got"
}
# data_case NAME: slot $slot sends through kTLS, the echo comes back as data
data_case() {
	local name=$1 rx i tx0 rx0
	tx0=$(tls_stat client TlsTxSw) rx0=$(tls_stat client TlsRxSw)
	tt client send $slot "ping-through-kTLS" >/dev/null
	for i in 1 2 3 4; do
		tt client recv $slot 10000 >/dev/null
		[ "$(field $slot rxtype)" = 23 ] && break
	done
	rx=$(field $slot rx)
	if [ "$rx" = "ping-through-kTLS" ] && [ "$(field $slot rxtype)" = 23 ]; then
		tap_ok "$name: data both ways through kTLS"
	else
		tap_fail "$name: data: rxtype=$(field $slot rxtype) rx='$rx'"
	fi
	# every case's socket counts once in the namespace's totals
	[ "$(tls_stat client TlsTxSw)" -ge "$tx0" ] && [ "$(tls_stat client TlsRxSw)" -ge "$rx0" ] ||
		tap_fail "$name: tls_stat went backwards"
}
PYS=("${SSLPEER[@]}" server 4433 --cert "$C/server.pem" --key "$C/server.key" --ca "$C/ca.pem")
GS=(gnutls-serv --echo -p 4433 --x509cafile "$C/ca.pem" --x509keyfile "$C/server.key")

tx_before=$(tls_stat client TlsTxSw)
hello_case "client_anon vs OpenSSL" 0 "${PYS[@]}" -- 192.0.2.1 client_anon peername=server.test
data_case "client_anon vs OpenSSL"
bg_stop "$PEER"
if [ "$(tls_stat client TlsTxSw)" -gt "$tx_before" ] && [ "$(tls_stat client TlsRxSw)" -gt 0 ]; then
	tap_ok "kTLS TX and RX counted in /proc/net/tls_stat ($(tls_stat client TlsTxSw)/$(tls_stat client TlsRxSw))"
else
	tap_fail "kTLS counters: TlsTxSw=$(tls_stat client TlsTxSw) TlsRxSw=$(tls_stat client TlsRxSw)"
fi

hello_case "client_anon vs OpenSSL sending 2 session tickets" 0 "${PYS[@]}" --tickets 2 -- \
	192.0.2.1 client_anon peername=server.test
data_case "client_anon after NewSessionTickets (record sequence numbers)"
bg_stop "$PEER"
# The hand-off trap a stock ktls-utils server sets (GnuTLS sends tickets
# right after its Finished): tickets and application data arrive back to
# back, possibly before the agent has installed kTLS; nothing may be lost
# or mis-sequenced.
hello_case "client_anon vs OpenSSL sending tickets and data at once" 0 "${PYS[@]}" --tickets 2 \
	--send-first "data-right-behind-the-tickets" -- 192.0.2.1 client_anon peername=server.test
for i in 1 2 3 4; do
	tt client recv $slot 10000 >/dev/null
	[ "$(field $slot rxtype)" = 23 ] && break
done
tap_expect "data sent right behind the tickets arrives through kTLS" \
	"23 data-right-behind-the-tickets" "$(field $slot rxtype) $(field $slot rx)"
data_case "client_anon after tickets and early data"
bg_stop "$PEER"
hello_case "client_anon over IPv6, iPAddress SAN" 0 "${PYS[@]}" -- "$SERVER_IP6" \
	client_anon "peername=$SERVER_IP6"
data_case "client_anon over IPv6"
bg_stop "$PEER"
hello_case "client_x509 with the kernel's key serials vs OpenSSL requiring a cert" 0 \
	"${PYS[@]}" --require-cert -- 192.0.2.1 client_x509 peername=server.test cert=$CERT privkey=$KEY
data_case "client_x509"
[ "$(field $slot peerid)" -gt 0 ] && tap_ok "client_x509: peer certificate reported as key $(field $slot peerid)" ||
	tap_fail "client_x509: peerid $(field $slot peerid)"
bg_stop "$PEER"
# gnutls-serv --echo answers whole lines and tlsh_test's send cannot send a
# newline: data through kTLS per cipher is checked against OpenSSL here (the
# kernel's priority string picks the cipher; OpenSSL has no TLS 1.3 CCM by
# default) and against gnutls-serv below with tlshd-hstest --ktls.
for c in AES-128-GCM AES-256-GCM AES-128-CCM CHACHA20-POLY1305; do
	hello_case "client_anon vs gnutls-serv, $c" 0 "${GS[@]}" --x509certfile "$C/server.pem" \
		--alpn sunrpc --priority "NORMAL:-CIPHER-ALL:+$c" -- 192.0.2.1 client_anon peername=server.test
	bg_stop "$PEER"
done
for c in AES-128-GCM CHACHA20-POLY1305; do
	hello_case "client_anon vs OpenSSL, $c (kernel's priority string)" 0 "${PYS[@]}" -- \
		192.0.2.1 client_anon peername=server.test "prio=NORMAL:-CIPHER-ALL:+$c"
	data_case "client_anon vs OpenSSL, $c"
	grep ' handshake req=' "$L/tlshd-client.log" | tail -n 1 | grep -q " cipher=$c " ||
		tap_fail "client_anon vs OpenSSL: tlshd did not log cipher=$c"
	bg_stop "$PEER"
done
hello_case "client_x509 with the kernel's key serials vs gnutls-serv requiring a cert" 0 \
	"${GS[@]}" --x509certfile "$C/server.pem" --alpn sunrpc --require-client-cert -- \
	192.0.2.1 client_x509 peername=server.test cert=$CERT privkey=$KEY
bg_stop "$PEER"
tap_skip "client_psk and server_psk vs OpenSSL" "Python 3.11's ssl module has no TLS 1.3 external PSK"

hello_case "client_psk vs gnutls-serv" 0 "${GS[@]}" --x509certfile "$C/server.pem" --alpn sunrpc \
	--pskpasswd "$L/psk.passwd" --priority NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK -- 192.0.2.1 client_psk psk=$PSK
tap_expect "client_psk: the PSK is the peer identity" "$PSK" "$(field $slot peerid)"
bg_stop "$PEER"

# failures, each with its status
hello_case "wrong peer name: EACCES" -13 "${GS[@]}" --x509certfile "$C/server.pem" --alpn sunrpc -- \
	192.0.2.1 client_anon peername=other.test
bg_stop "$PEER"
hello_case "expired certificate: EACCES" -13 "${GS[@]}" --x509certfile "$C/expired.pem" --alpn sunrpc -- \
	192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "revoked certificate (CRL): EACCES" -13 "${GS[@]}" --x509certfile "$C/revoked.pem" \
	--alpn sunrpc -- 192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "unknown CA: EACCES" -13 "${GS[@]}" --x509certfile "$C/stranger.pem" --alpn sunrpc -- \
	192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
# ALPN policy: a server without ALPN (mainline's tlshd, FreeBSD) is let in,
# logged alpn=none and counted in /proc/net/tlsh; alpn.required refuses it.
n0=$(tlsh_stat client alpn_none)
hello_case "server without ALPN: accepted (interop default)" 0 "${GS[@]}" \
	--x509certfile "$C/server.pem" -- 192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "OpenSSL server without ALPN (FreeBSD-style): accepted" 0 "${PYS[@]}" --no-alpn -- \
	192.0.2.1 client_anon peername=server.test
data_case "OpenSSL server without ALPN"
bg_stop "$PEER"
tap_expect "servers without ALPN: counted in /proc/net/tlsh alpn_none" $((n0 + 2)) \
	"$(tlsh_stat client alpn_none)"
grep ' handshake req=' "$L/tlshd-client.log" | tail -n 1 | grep -q ' result=ok .* alpn=none '
tap_expect "server without ALPN: tlshd's audit line says alpn=none" 0 $?
strict_alpn client "$L/client.conf" on
hello_case "alpn.required: server without ALPN: EPROTONOSUPPORT" -93 "${GS[@]}" \
	--x509certfile "$C/server.pem" -- 192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "alpn.required: server with ALPN sunrpc" 0 "${GS[@]}" --x509certfile "$C/server.pem" \
	--alpn sunrpc -- 192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
tap_expect "alpn_none not counted for refused or sunrpc handshakes" $((n0 + 2)) \
	"$(tlsh_stat client alpn_none)"
strict_alpn client "$L/client.conf" off
hello_case "server with ALPN h2 only (alert): EPROTONOSUPPORT" -93 "${GS[@]}" \
	--x509certfile "$C/server.pem" --alpn h2 --alpn-fatal -- 192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "TLS 1.2-only server: EPROTONOSUPPORT" -93 "${GS[@]}" --x509certfile "$C/server.pem" \
	--alpn sunrpc --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 -- 192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "wrong PSK: EKEYREJECTED" -129 "${GS[@]}" --x509certfile "$C/server.pem" --alpn sunrpc \
	--pskpasswd "$L/psk.passwd" --priority NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK -- 192.0.2.1 client_psk psk=$WRONG
bg_stop "$PEER"
hello_case "garbage from the server: EIO" -5 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 4433)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); c.recv(4096); c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n" * 20); c.close()' -- \
	192.0.2.1 client_anon peername=server.test
bg_stop "$PEER"
hello_case "silent server: ETIMEDOUT" -110 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 4433)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); time.sleep(60)' -- 192.0.2.1 client_anon peername=server.test timeout=3000
bg_stop "$PEER"
if grep -q 'type=client-anon result=fail status=ETIMEDOUT' "$L/tlshd-client.log"; then
	tap_ok "tlshd logged the timeout"
else
	tap_fail "tlshd logged the timeout"
fi
kill -0 $TLSHD_C 2>/dev/null && tap_ok "tlshd carries on after the failures" ||
	tap_fail "tlshd (client) died"

# --- tlshd's own engine with kTLS, user space only (tlshd-hstest --ktls) -----------
for c in AES-128-GCM AES-256-GCM AES-128-CCM CHACHA20-POLY1305; do
	bg server "$L/gs-hs.log" "${GS[@]}" --x509certfile "$C/server.pem" --alpn sunrpc \
		--priority "NORMAL:-CIPHER-ALL:+$c"
	until_true 20 log_has "$L/gs-hs.log" 'IPv4 .*done'
	out=$(in_ns client "$HS" -c "$L/client.conf" -t anon -n server.test --ktls \
		--send $'ping via user-space kTLS\n' connect 192.0.2.1 4433 2>&1)
	tap_expect "tlshd-hstest --ktls vs gnutls-serv, $c: echo through kTLS" \
		"status=0 cipher=$c data=ok" \
		"$(grep -o 'status=[^ ]*' <<<"$out") $(grep -o 'cipher=[^ ]*' <<<"$out") $(grep -o 'data=[^ ]*' <<<"$out")"
	bg_stop "$BG"
done

# --- server handshakes: tlsh_test listens in "server", gnutls-cli/OpenSSL connect ---
# server_case NAME WANT HELLO-ARGS -- CLIENT-CMD...
server_case() {
	local name=$1 want=$2 hello=() got
	shift 2
	while [ "$1" != -- ]; do hello+=("$1"); shift; done
	shift
	slot=$((slot + 2))
	tt server listen $((slot - 1)) 192.0.2.1 2049 >/dev/null
	# The peer keeps its stdin open (gnutls-cli quits at its end) for as
	# long as the kernel side may take under load; stop ends it earlier.
	bg client "$L/cli-$slot.log" bash -c '(echo "ping-from-the-peer"; sleep 60) | "$@"' _ "$@"
	CLI=$BG
	tt server accept $slot $((slot - 1)) >/dev/null
	tt server close $((slot - 1)) >/dev/null
	tt server hello $slot "${hello[@]}" >/dev/null
	tt server wait $slot 40000 >/dev/null
	got="$(field $slot req) $(field $slot status)"
	tap_expect "$name" "done $want" "$got"
}
server_data() {
	local name=$1 i
	for i in 1 2 3; do
		tt server recv $slot 10000 >/dev/null
		[ "$(field $slot rxtype)" = 23 ] && break
	done
	tt server send $slot "pong-from-the-kernel" >/dev/null
	until_true 10 log_has "$L/cli-$slot.log" "pong-from-the-kernel"
	if [ "$(field $slot rx)" = 'ping-from-the-peer\n' ] && log_has "$L/cli-$slot.log" "pong-from-the-kernel"; then
		tap_ok "$name: data both ways through kTLS"
	else
		tap_fail "$name: rx='$(field $slot rx)' peer saw: $(tail -n 2 "$L/cli-$slot.log" | tr '\n' ' ')"
	fi
}
GC=(gnutls-cli -p 2049 --x509cafile "$C/ca.pem" --alpn sunrpc server.test)
server_case "server_x509 vs gnutls-cli" 0 server_x509 cert=$SCERT privkey=$SKEY -- "${GC[@]}"
server_data "server_x509 vs gnutls-cli"
bg_stop "$CLI"
server_case "server_x509 mutual vs gnutls-cli with a client cert" 0 server_x509 cert=$SCERT privkey=$SKEY flags=1 -- \
	"${GC[@]}" --x509certfile "$C/client.pem" --x509keyfile "$C/client.key"
server_data "server_x509 mutual"
[ "$(field $slot peerid)" -gt 0 ] && tap_ok "server_x509 mutual: client certificate reported as key $(field $slot peerid)" ||
	tap_fail "server_x509 mutual: peerid $(field $slot peerid)"
bg_stop "$CLI"
server_case "server_x509 mutual, client without a cert: EACCES" -13 server_x509 cert=$SCERT privkey=$SKEY flags=1 -- "${GC[@]}"
bg_stop "$CLI"
server_case "server_x509 mutual, revoked client cert: EACCES" -13 server_x509 cert=$SCERT privkey=$SKEY flags=1 -- \
	"${GC[@]}" --x509certfile "$C/revoked-client.pem" --x509keyfile "$C/client.key"
bg_stop "$CLI"
n0=$(tlsh_stat server alpn_none)
server_case "server_x509, client without ALPN: accepted (interop default)" 0 server_x509 \
	cert=$SCERT privkey=$SKEY -- gnutls-cli -p 2049 --x509cafile "$C/ca.pem" server.test
server_data "server_x509, client without ALPN"
bg_stop "$CLI"
tap_expect "client without ALPN: counted in the server's alpn_none" $((n0 + 1)) \
	"$(tlsh_stat server alpn_none)"
strict_alpn server "$L/server.conf" on
server_case "server_x509, alpn.required, client without ALPN: EPROTONOSUPPORT" -93 server_x509 \
	cert=$SCERT privkey=$SKEY -- gnutls-cli -p 2049 --x509cafile "$C/ca.pem" server.test
bg_stop "$CLI"
strict_alpn server "$L/server.conf" off
server_case "server_x509, client with ALPN h2 only: EPROTONOSUPPORT" -93 server_x509 \
	cert=$SCERT privkey=$SKEY -- gnutls-cli -p 2049 --x509cafile "$C/ca.pem" --alpn h2 server.test
bg_stop "$CLI"
PYC=("${SSLPEER[@]}" client 192.0.2.1 2049 --ca "$C/ca.pem" --name server.test \
	--send $'ping-from-the-peer\n' --expect pong-from-the-kernel)
server_case "server_x509 vs OpenSSL client" 0 server_x509 cert=$SCERT privkey=$SKEY -- "${PYC[@]}"
server_data "server_x509 vs OpenSSL client"
bg_stop "$CLI"
server_case "server_x509 mutual vs OpenSSL client with a cert" 0 server_x509 cert=$SCERT privkey=$SKEY \
	flags=1 -- "${PYC[@]}" --cert "$C/client.pem" --key "$C/client.key"
server_data "server_x509 mutual vs OpenSSL client"
bg_stop "$CLI"
server_case "server_x509, TLS 1.2-only client: EPROTONOSUPPORT" -93 server_x509 cert=$SCERT privkey=$SKEY -- \
	"${PYC[@]}" --tls12
bg_stop "$CLI"
server_case "server_x509, garbage from the client: EIO" -5 server_x509 cert=$SCERT privkey=$SKEY -- \
	python3 -c '
import socket
c = socket.create_connection(("192.0.2.1", 2049))
c.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 200); c.recv(4096)'
bg_stop "$CLI"
server_case "server_psk vs gnutls-cli" 0 server_psk keyring=$RING -- gnutls-cli -p 2049 --alpn sunrpc \
	--priority NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK --pskusername nfs-client-1 --pskkey "$PSKHEX" server.test
server_data "server_psk"
tap_expect "server_psk: the PSK is the peer identity" "$PSK" "$(field $slot peerid)"
bg_stop "$CLI"
server_case "server_psk, unknown identity: EKEYREJECTED" -129 server_psk keyring=$RING -- gnutls-cli -p 2049 --alpn sunrpc \
	--priority NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK --pskusername stranger --pskkey "$PSKHEX" server.test
bg_stop "$CLI"

# --- 200 handshakes at once, and a SIGHUP in the middle ------------------------------
# The peer is tlshd-hsbench --serve on a thread per vCPU: gnutls-serv serves
# one handshake at a time and closes any connection older than 30 s, so on a
# loaded host it, not tlshd, failed the last of the 200 (ECONNRESET, no
# ServerHello).
N=200
bg server "$L/serve-many.log" build/bin/tlshd-hsbench --serve 4433 --cert "$C/server.pem" \
	--key "$C/server.key" --threads "$(nproc)"
GSM=$BG
until_true 20 log_has "$L/serve-many.log" '^serving'
first=300
tap_expect "$N connections" OK "$(for i in $(seq $first $((first + N - 1))); do
	echo "connect $i 192.0.2.1 4433"; done | tt_many client)"
t_start
tap_expect "$N handshake requests queued at once" OK "$(for i in $(seq $first $((first + N - 1))); do
	echo "hello $i client_anon peername=server.test timeout=120000"; done | tt_many client)"
sleep 1	# the agent takes some of them on: the reload comes mid-flight
kill -HUP $TLSHD_C
for i in $(seq $first $((first + N - 1))); do echo "wait $i 150000"; done | tt_many client >/dev/null
ms=$(t_ms)
ok=$(awk -v a=$first -v b=$((first + N - 1)) '$1 >= a && $1 <= b && / req=done / && / status=0 /' \
	"$DBG/slots" | wc -l)
tap_expect "$N concurrent handshakes all completed (${ms} ms)" $N "$ok"
tap_run "SIGHUP reloaded the configuration with handshakes in flight" \
	log_has "$L/tlshd-client.log" "configuration reloaded"
bg_stop "$GSM"
for i in $(seq $first $((first + N - 1))); do echo "close $i"; done | tt_many client >/dev/null

# one audit line per handshake, no keys in the logs
audits=$(grep -c ' handshake req=' "$L/tlshd-client.log")
tap_expect "one audit line per client handshake" $((HELLOS + N)) "$audits"
if grep -qi "$PSKHEX" "$L"/tlshd-*.log; then tap_fail "a PSK appears in a log"; else tap_ok "no key in the logs"; fi
kill -TERM $TLSHD_C $TLSHD_S
wait $WAIT_C $WAIT_S 2>/dev/null

# --- where tlshd looks without -c: /etc/tlshd/config, else /etc/tlshd.conf --------
# (the guest's root is a throw-away overlay)
cfg_check() { # name want-exit pattern...
	local name=$1 want=$2 out rc p
	shift 2
	out=$(build/bin/tlshd --check 2>&1)
	rc=$?
	for p in "$@"; do
		grep -q -- "$p" <<<"$out" || { tap_fail "$name: no '$p' in: $out"; return; }
	done
	tap_expect "$name" "$want" "$rc"
}
mkdir -p /etc/tlshd
rm -f /etc/tlshd/config /etc/tlshd.conf
cp "$L/client.conf" /etc/tlshd.conf
cfg_check "config path: only /etc/tlshd.conf: read, with a notice to move it" 0 \
	"reading /etc/tlshd.conf; ktls-utils 1.3 and later read /etc/tlshd/config" \
	"/etc/tlshd.conf: configuration OK"
cp "$L/client.conf" /etc/tlshd/config
cfg_check "config path: both: /etc/tlshd/config read, the old one said to be ignored" 0 \
	"warning: /etc/tlshd.conf is ignored: /etc/tlshd/config is read instead" \
	"/etc/tlshd/config: configuration OK"
rm -f /etc/tlshd.conf /etc/tlshd/config
cfg_check "config path: neither: an error naming /etc/tlshd/config" 1 \
	"error: /etc/tlshd/config: No such file or directory"

# --- tlshd.service's SystemCallFilter allows every system call tlshd made ------------
# sf_expand ITEM...: system call names, systemd's @groups expanded
sf_expand() {
	local x
	for x in "$@"; do
		case $x in
		@*) sf_expand $(systemd-analyze syscall-filter "$x" | sed 1d | grep -v '^ *#' |
			awk 'NF { print $1 }') ;;
		*) echo "$x" ;;
		esac
	done
}
if [ $TRACE = 1 ]; then
	allow=() deny=()
	while IFS= read -r line; do
		line=${line#SystemCallFilter=}
		if [ "${line:0:1}" = "~" ]; then deny+=(${line:1}); else allow+=($line); fi
	done <<<"$(grep '^SystemCallFilter=' tlshd/tlshd.service)"
	sf_expand "${allow[@]}" | sort -u > "$L/sf-allow"
	sf_expand "${deny[@]}" | sort -u > "$L/sf-deny"
	comm -23 "$L/sf-allow" "$L/sf-deny" > "$L/sf-allowed"
	sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$L"/strace-* | sort -u > "$L/sf-used"
	denied=$(comm -23 "$L/sf-used" "$L/sf-allowed" | tr '\n' ' ')
	if [ ! -s "$L/sf-used" ] || [ ! -s "$L/sf-allowed" ]; then
		tap_fail "tlshd.service SystemCallFilter: no trace ($(wc -l < "$L/sf-used") calls) or no filter"
	elif [ -z "$denied" ]; then
		tap_ok "tlshd.service's SystemCallFilter allows all $(wc -l < "$L/sf-used") system calls tlshd made"
	else
		tap_fail "tlshd.service's SystemCallFilter denies system calls tlshd made: $denied"
	fi
else
	tap_skip "tlshd.service SystemCallFilter against tlshd's system calls" "needs strace and systemd-analyze"
fi
if [ "$TAP_FAILED" -gt 0 ]; then
	echo "# tlshd's failed handshakes and errors:"
	grep -h 'result=fail\|error' "$L"/tlshd-*.log | tail -n 40 | sed 's/^/#   /'
fi
tap_done
