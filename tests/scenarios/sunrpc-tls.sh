#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RPC-with-TLS in the SunRPC client (NFS xprtsec= mount options) against
# nfsd, with real TLS 1.3 handshakes by tlshd in both test hosts
# (tests/lib/netns.sh, tests/lib/tlshd.sh); certificates made at test time.
#
#  1. nfsd answers the AUTH_TLS probe with STARTTLS (tests/pynfs-tls).
#  2. Mount options: bad values are refused with a message naming them.
#  3. No handshake agent in the client's namespace: prompt, clear failure.
#  4. A server without STARTTLS (peer.py no-starttls relaying to nfsd): the
#     mount fails closed, no ClientHello and no RPC in clear.
#  5. The matrix: NFSv4.2, 4.1, 4.0 and 3, each with xprtsec=tls and mtls;
#     IPv4 and IPv6, by name and by address (iPAddress SAN); nconnect=4 with
#     every connection under kTLS.  Each mount writes a file, the page cache
#     is dropped so the read-back crosses the wire, checksums compared on
#     both ends.  Trimmed to keep VM time short: 8 mounts cover every
#     version x policy pair and every family x name/address pair once (not
#     the full 32-mount product); files of 2 MiB (8 MiB for nconnect=4).
#     tcpdump on the server's veth: a marker written to every file never
#     crosses the wire in clear; a control capture of an xprtsec=none
#     mount does show it.
#  6. NFSv4.1 backchannel inside the TLS session: a delegation recall
#     (CB_RECALL) reaches the client over its only, kTLS, connection.
#  7. Refused with clear errors, promptly: untrusted CA, wrong name,
#     expired server certificate, a server that demands a client
#     certificate from an xprtsec=tls client, a handshake that never
#     completes (ETIMEDOUT after the 20 s handshake timeout).
#  8. Hard mount, long copy: the client's agent is killed, the server ends
#     the session (close_notify) mid-copy, reconnects fail until the agent
#     is back, then probe + handshake again and the copy completes intact.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh

SIZE_MB=${RPCTLS_NFS_SIZE_MB:-2}
MARKER=RPCTLS-PLAINTEXT-MARKER-7f3a9c
work=$(mktemp -d /tmp/sunrpc-tls.XXXXXX)
PIDS=()
DUMP=

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done	# peers too
	for p in /mnt/tls*; do mountpoint -q "$p" && umount -f "$p"; done
	tlshd_stop_all
	nfsd_stop
}
trap cleanup EXIT

# dump PCAP: capture the server's NFS traffic into PCAP until 'bg_stop "$DUMP"'
dump() {
	bg server "$work/dump.log" tcpdump -i veth-s -U -s 0 -w "$1" tcp port 2049
	DUMP=$BG
	until_true 10 log_has "$work/dump.log" "listening on"
}

netns_setup || { tap_fail "test hosts"; exit 1; }
nfsd_start || { tap_fail "nfsd start"; exit 1; }
tlshd_pki "$work/pki" || { tap_fail "test certificates"; exit 1; }
modprobe tlsh 2>"$work/modprobe.err" || { tap_fail "modprobe tlsh: $(cat "$work/modprobe.err")"; exit 1; }

# --- 1. The server offers TLS ---------------------------------------------
in_ns client "$PY" tests/pynfs-tls/testserver.py "$SERVER_IP4" PROBE1 PROBE2 PROBE3 \
	--json "$work/probe.json" >"$work/probe.out" 2>&1
tap_expect "nfsd: conformance PROBE1 (probe answer)" PASS "$(conformance PROBE1 "$work/probe.json")"
tap_expect "nfsd: conformance PROBE2 (STARTTLS offered)" PASS "$(conformance PROBE2 "$work/probe.json")"
tap_expect "nfsd: conformance PROBE3 (AUTH_TLS on COMPOUND refused)" PASS "$(conformance PROBE3 "$work/probe.json")"

# --- 2. Mount options -----------------------------------------------------
mkdir -p /mnt/tls /mnt/tls2
# badopt NAME OPTIONS MESSAGE: the mount fails and the kernel says MESSAGE
badopt() {
	dmesg -C
	if in_ns client mount -t nfs4 -o "$2" "server.test:$NFSD_EXPORT" /mnt/tls 2>/dev/null; then
		umount /mnt/tls
		tap_fail "$1: the mount succeeded"
	elif dmesg | grep -qF "$3"; then
		tap_ok "$1"
	else
		tap_fail "$1: no '$3' in the kernel log: $(dmesg | tail -2)"
	fi
}
badopt "xprtsec=bogus is refused by name" vers=4.2,xprtsec=bogus "xprtsec=bogus: not none, tls or mtls"
badopt "cert_serial= without mtls is refused" vers=4.2,xprtsec=tls,cert_serial=5,privkey_serial=6 \
	"cert_serial= and privkey_serial= need xprtsec=mtls"
badopt "cert_serial= without privkey_serial= is refused" vers=4.2,xprtsec=mtls,cert_serial=5 \
	"cert_serial= and privkey_serial= go together"
if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=none "server.test:$NFSD_EXPORT" /mnt/tls &&
	is_nfs_mount /mnt/tls; then
	tap_ok "xprtsec=none mounts in clear"
	umount /mnt/tls
else
	tap_fail "xprtsec=none mounts in clear"
fi

# failmount NAME OPTS SRC LOGPATTERN MAXMS: the mount fails within MAXMS and
# the kernel log matches LOGPATTERN
# MAX is for the test kernel; RPCTLS_TIME_SCALE multiplies it on a slower
# one (tests/tlsh/debug-vm.sh: KASAN and lockdep under TCG)
failmount() {
	local name=$1 opts=$2 src=$3 pat=$4 max=$(($5 * ${RPCTLS_TIME_SCALE:-1})) ms
	dmesg -C
	t_start
	if in_ns client mount -t nfs4 -o "$opts" "$src" /mnt/tls 2>"$work/fail.err"; then
		umount /mnt/tls
		tap_fail "$name: the mount succeeded"
		return
	fi
	ms=$(t_ms)
	echo "# $name: mount failed after $ms ms: $(cat "$work/fail.err")"
	dmesg | grep -E "RPC:|NFS:|nfs:" | tail -3 | sed 's/^/#   kernel: /'
	if [ "$pat" = - ]; then
		dmesg | tail -4 | sed 's/^/#   dmesg: /'
	fi
	if [ "$pat" != - ] && ! dmesg | grep -Eq "$pat"; then
		tap_fail "$name: no '$pat' in the kernel log"
	elif [ "$ms" -gt "$max" ]; then
		tap_fail "$name: took $ms ms (limit $max)"
	else
		tap_ok "$name ($ms ms)"
	fi
}

# --- 3. No agent in the client's namespace --------------------------------
tlshd_start server "$TLSHD_DIR/server.conf" || { tap_fail "tlshd in the server"; exit 1; }
failmount "no agent in the client's namespace: clear failure" vers=4.2,xprtsec=tls \
	"server.test:$NFSD_EXPORT" "no TLS handshake agent in this network namespace" 10000
tlshd_start client "$TLSHD_DIR/client.conf" || { tap_fail "tlshd in the client"; exit 1; }

# --- 4. Fail closed against a server without STARTTLS ---------------------
if peer_py_start nostarttls 20049 --mode no-starttls; then
	failmount "server without STARTTLS: fails closed with a clear message" \
		vers=4.2,xprtsec=tls,port=20049 "server.test:$NFSD_EXPORT" \
		"does not offer RPC-with-TLS" 10000
	if grep -q ": probe" "$work/nostarttls.log" &&
		! grep -q "cleartext-rpc\|tls-up\|stall" "$work/nostarttls.log"; then
		tap_ok "the client sent the probe and nothing else (no ClientHello, no RPC in clear)"
	else
		tap_fail "peer log: $(grep -o 'conn [0-9]*: [a-z-]*' "$work/nostarttls.log" |
			sort | uniq -c | tr '\n' ' ')"
	fi
	peer_py_stop nostarttls
else
	tap_fail "peer.py no-starttls started"
fi

# --- 5. The matrix ----------------------------------------------------------
head -c "$((SIZE_MB << 20))" /dev/urandom >"$work/payload"
for _ in $(seq 64); do echo "$MARKER"; done >>"$work/payload"
head -c "$((8 << 20))" /dev/urandom >"$work/payload8"
for _ in $(seq 64); do echo "$MARKER"; done >>"$work/payload8"

dump "$work/tls.pcap" || tap_fail "tcpdump on the server's veth started"

# roundtrip TYPE OPTS SRC [PAYLOAD]: mount, write, drop caches, read back
roundtrip() {
	local type=$1 opts=$2 src=$3 payload=${4:-$work/payload} mnt=/mnt/tls f want got sec r0 r1
	sec=$(echo "$opts" | grep -o 'xprtsec=[a-z]*')
	want=$(sha256sum <"$payload" | cut -d' ' -f1)
	f=rt-$RANDOM.bin
	t_start
	in_ns client mount -t "$type" -o "$opts" "$src" "$mnt" || { echo "mount failed"; return 1; }
	echo "# mounted in $(t_ms) ms"
	is_nfs_mount "$mnt" || { echo "$mnt is not an NFS mount"; return 1; }
	if [ "$sec" = xprtsec=none ]; then
		# none is the default: shown in neither place (as in mainline)
		! grep " $mnt " /proc/mounts | grep -q "xprtsec=" ||
			{ echo "/proc/mounts: $(grep " $mnt " /proc/mounts)"; return 1; }
	else
		grep " $mnt " /proc/mounts | grep -q "$sec" ||
			{ echo "/proc/mounts lacks $sec: $(grep " $mnt " /proc/mounts)"; return 1; }
		grep -A2 "mounted on $mnt " /proc/self/mountstats | grep -q "$sec" ||
			{ echo "mountstats lacks $sec"; return 1; }
	fi
	dd if="$payload" of="$mnt/$f" bs=1M conv=fsync status=none || { echo "write failed"; return 1; }
	got=$(sha256sum <"$NFSD_EXPORT/$f" | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "the server's copy differs"; return 1; }
	sync
	echo 3 >/proc/sys/vm/drop_caches
	r0=$(nfs_reads "$mnt")
	got=$(sha256sum <"$mnt/$f" | cut -d' ' -f1)
	r1=$(nfs_reads "$mnt")
	[ "$got" = "$want" ] || { echo "read back differs: $got"; return 1; }
	[ "${r1:-0}" -gt "${r0:-0}" ] || { echo "no READ crossed the wire ($r0 -> $r1)"; return 1; }
	echo "# read back with $((r1 - r0)) READs"
	[ -z "$ROUNDTRIP_HOOK" ] || $ROUNDTRIP_HOOK "$mnt" || return 1
	rm -f "$mnt/$f"
	umount "$mnt"
}

# nconnect_check MNT: four connections to the server, each one kTLS
nconnect_check() {
	local n tls
	n=$(in_ns client ss -Htn state established dst "$SERVER_IP4:2049" | wc -l)
	tls=$(in_ns client awk '$1 == "TlsCurrTxSw" { print $2 }' /proc/net/tls_stat)
	echo "# nconnect=4: $n connections, TlsCurrTxSw $tls"
	in_ns client ss -Htni state established dst "$SERVER_IP4:2049" |
		grep -o "tcp-ulp-tls.*" | sort | uniq -c | sed 's/^/#   /'
	[ "$n" = 4 ] || { echo "want 4 connections, got $n"; return 1; }
	[ "$tls" = 4 ] || { echo "want 4 kTLS sessions, got $tls"; return 1; }
	[ "$(in_ns client ss -Htni state established dst "$SERVER_IP4:2049" |
		grep -c "tcp-ulp-tls")" = 4 ] || { echo "ss does not show tcp-ulp-tls on all 4"; return 1; }
	# the transports say so themselves (debugfs), each after its handshake
	grep -h "^tls:" /sys/kernel/debug/sunrpc/rpc_xprt/*/info | sed 's/^/#   debugfs: /'
	[ "$(grep -l "^tls:   secured handshakes=[1-9]" /sys/kernel/debug/sunrpc/rpc_xprt/*/info |
		wc -l)" = 4 ] || { echo "debugfs: want 4 secured transports"; return 1; }
}

hs0=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
dmesg -C
for ev in probe_sent starttls handshake_requested handshake_done connected; do
	echo 1 >/sys/kernel/tracing/events/sunrpc/rpc_tls_$ev/enable
done
echo >/sys/kernel/tracing/trace
ROUNDTRIP_HOOK=nconnect_check tap_run "v4.2 tls, IPv4 by name, nconnect=4 (each connection kTLS), 8 MiB" \
	roundtrip nfs4 vers=4.2,xprtsec=tls,nconnect=4 "server.test:$NFSD_EXPORT" "$work/payload8"
tap_run "v4.2 mtls, IPv6 by address" \
	roundtrip nfs4 vers=4.2,xprtsec=mtls "[$SERVER_IP6]:$NFSD_EXPORT"
tap_run "v4.1 tls, IPv4 by address" \
	roundtrip nfs4 vers=4.1,xprtsec=tls "$SERVER_IP4:$NFSD_EXPORT"
# server.test by name over IPv6: the name resolves to the v6 address too
echo "$SERVER_IP6	server.test" >>/etc/hosts
tap_run "v4.1 mtls, IPv6 by name" \
	roundtrip nfs4 vers=4.1,xprtsec=mtls,proto=tcp6 "server.test:$NFSD_EXPORT"
tap_run "v3 mtls, IPv6 by name" \
	roundtrip nfs vers=3,xprtsec=mtls,proto=tcp6,mountproto=tcp6,nolock "server.test:$NFSD_EXPORT"
sed -i "/^$SERVER_IP6\tserver.test\$/d" /etc/hosts
tap_run "v4.0 tls, IPv6 by address" \
	roundtrip nfs4 vers=4.0,xprtsec=tls "[$SERVER_IP6]:$NFSD_EXPORT"
tap_run "v4.0 mtls, IPv4 by name" \
	roundtrip nfs4 vers=4.0,xprtsec=mtls "server.test:$NFSD_EXPORT"
tap_run "v3 tls, IPv4 by address" \
	roundtrip nfs vers=3,xprtsec=tls,proto=tcp,mountproto=tcp,nolock "$SERVER_IP4:$NFSD_EXPORT"
hs1=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
echo 0 >/sys/kernel/tracing/events/sunrpc/enable
missing=
for ev in probe_sent starttls handshake_requested handshake_done connected; do
	n=$(grep -c "rpc_tls_$ev:" /sys/kernel/tracing/trace)
	echo "# tracepoint sunrpc:rpc_tls_$ev: $n"
	[ "$n" -gt 0 ] || missing="$missing $ev"
done
grep -m1 "rpc_tls_handshake_done:" /sys/kernel/tracing/trace | sed 's/^ */#   /'
[ -z "$missing" ] && tap_ok "tracepoints: probe sent, STARTTLS, handshake requested, done, secured" ||
	tap_fail "tracepoints that never fired:$missing"
n=$(dmesg | grep -c "RPC: xprtsec=m\?tls session with server")
dmesg | grep -m2 "RPC: xprtsec=" | sed 's/^/#   /'
[ "$n" -ge 11 ] && tap_ok "one audit line per secured connection in the kernel log ($n)" ||
	tap_fail "audit lines: want >= 11, got $n"
mtls=$(grep -c 'type=server-x509 result=ok.*subject=".*client\.test' "$TLSHD_DIR/tlshd-server.log")
echo "# client handshakes: $((hs1 - hs0)); server handshakes that verified client.test: $mtls"
grep "result=" "$TLSHD_DIR/tlshd-client.log" | awk '{ for (i = 1; i <= NF; i++)
	if ($i ~ /^(version|cipher|alpn)=/) printf "%s ", $i; print "" }' | sort | uniq -c | sed 's/^/#   /'
[ "$((hs1 - hs0))" -ge 11 ] && tap_ok "every connection ran a TLS handshake ($((hs1 - hs0)))" ||
	tap_fail "client handshakes: want >= 11, got $((hs1 - hs0))"
[ "$mtls" -ge 4 ] && tap_ok "mtls mounts presented the client certificate ($mtls)" ||
	tap_fail "mtls: want >= 4 server handshakes that verified client.test, got $mtls"
sleep 1
bg_stop "$DUMP"
if [ ! -s "$work/tls.pcap" ]; then
	tap_fail "tcpdump captured nothing"
elif grep -qa "$MARKER" "$work/tls.pcap"; then
	tap_fail "the marker crossed the wire in clear"
else
	tap_ok "the marker never crossed the wire in clear ($(stat -c %s "$work/tls.pcap") bytes captured)"
fi
# Control: the same capture does see the marker of a plaintext mount.
dump "$work/plain.pcap" || tap_fail "tcpdump on the server's veth started (control)"
tap_run "control: v4.2 xprtsec=none round trip" \
	roundtrip nfs4 vers=4.2,xprtsec=none "server.test:$NFSD_EXPORT"
sleep 1
bg_stop "$DUMP"
grep -qa "$MARKER" "$work/plain.pcap" && tap_ok "control: a plaintext mount shows the marker on the wire" ||
	tap_fail "control: the marker of a plaintext mount was not captured"

# A TLS mount and a plain mount of the same server never share a client.
if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls &&
	in_ns client mount -t nfs4 -o vers=4.2 "server.test:$NFSD_EXPORT" /mnt/tls2; then
	o1=$(awk '$2 == "/mnt/tls" { print $4 }' /proc/mounts)
	o2=$(awk '$2 == "/mnt/tls2" { print $4 }' /proc/mounts)
	n=$(in_ns client ss -Htn state established dst "$SERVER_IP4:2049" | wc -l)
	case "$o1/$o2" in
	*xprtsec=tls*/*xprtsec=tls*) tap_fail "tls and plain mounts share an nfs_client: $o2" ;;
	*xprtsec=tls*/*) [ "$n" = 2 ] && tap_ok "tls and plain mounts of one server keep separate clients" ||
		tap_fail "tls and plain mounts: want 2 connections, got $n" ;;
	*) tap_fail "tls mount options: $o1" ;;
	esac
else
	tap_fail "tls and plain mounts of one server side by side"
fi
umount /mnt/tls2 2>/dev/null
umount /mnt/tls 2>/dev/null

# --- 6. The NFSv4.1 backchannel inside the TLS session ----------------------
no_conns() { [ -z "$(in_ns client ss -Htn state established dst "$SERVER_IP4:2049")" ]; }
# A read delegation, then a local writer on the server: nfsd recalls it
# with CB_RECALL on the client's only connection, which is kTLS.
backchannel() {
	local t=/sys/kernel/tracing n
	echo "delegated file" >"$NFSD_EXPORT/deleg.txt"
	# earlier mounts' connections go away first
	until_true 10 no_conns
	in_ns client mount -t nfs4 -o vers=4.1,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls ||
		{ echo "mount failed"; return 1; }
	echo 1 >$t/events/nfs4/nfs4_cb_recall/enable
	echo >$t/trace
	sleep 1
	exec 7</mnt/tls/deleg.txt
	until_true 4 grep -q "type: deleg" /proc/fs/nfsd/clients/*/states 2>/dev/null ||
		{ echo "nfsd granted no delegation: $(cat /proc/fs/nfsd/clients/*/states)"; exec 7<&-; umount /mnt/tls; return 1; }
	timeout 60 sh -c "echo more >>$NFSD_EXPORT/deleg.txt" || { echo "local writer stuck"; return 1; }
	exec 7<&-
	echo 0 >$t/events/nfs4/nfs4_cb_recall/enable
	n=$(in_ns client ss -Htn state established dst "$SERVER_IP4:2049" | wc -l)
	grep nfs4_cb_recall $t/trace | head -2 | sed 's/^/# /'
	umount /mnt/tls
	grep -q nfs4_cb_recall $t/trace || { echo "no CB_RECALL reached the client"; return 1; }
	[ "$n" = 1 ] || { echo "want the one kTLS connection, got $n"; return 1; }
}
tap_run "v4.1 backchannel: CB_RECALL arrives inside the TLS session" backchannel

# --- 7. Refused with clear errors -------------------------------------------
# The kernel names the failed handshake; tlshd's audit line says why.
reason() { grep "result=" "$TLSHD_DIR/tlshd-$1.log" | tail -1 | grep -o 'status=[^ ]*\|reason=.*'; }

# Untrusted CA: the client's agent trusts another CA only.
tlshd_conf "$work/other-ca.conf" authenticate.client "x509.truststore=$TLSHD_DIR/other-ca.pem"
tlshd_stop client
tlshd_start client "$work/other-ca.conf"
failmount "untrusted CA: refused" vers=4.2,xprtsec=tls,retry=0 "server.test:$NFSD_EXPORT" \
	"TLS handshake with server server.test failed: .*certificate" 10000
echo "# client agent: $(reason client)"
tlshd_stop client
tlshd_start client "$TLSHD_DIR/client.conf"

# Wrong name: a name for the server that its certificate does not carry.
echo "$SERVER_IP4	alias.test" >>/etc/hosts
failmount "wrong name: refused" vers=4.2,xprtsec=tls,retry=0 "alias.test:$NFSD_EXPORT" \
	"TLS handshake with server alias.test failed: .*certificate" 10000
echo "# client agent: $(reason client)"

# Expired server certificate
tlshd_conf "$work/expired.conf" authenticate.server "x509.truststore=$TLSHD_DIR/ca.pem" \
	"x509.certificate=$TLSHD_DIR/expired.pem" "x509.private_key=$TLSHD_DIR/server.key"
tlshd_stop server
if tlshd_start server "$work/expired.conf"; then
	failmount "expired server certificate: refused" vers=4.2,xprtsec=tls,retry=0 \
		"server.test:$NFSD_EXPORT" "TLS handshake with server server.test failed: .*certificate" 10000
	echo "# client agent: $(reason client)"
else
	tap_fail "tlshd serving expired.pem started"
fi
tlshd_stop server
tlshd_start server "$TLSHD_DIR/server.conf"

# A server that demands a client certificate, from an xprtsec=tls client
if peer_py_start mtlsonly 20049 --client-ca "$TLSHD_DIR/ca.pem" --client-auth required; then
	# TLS 1.3: the client's handshake completes before the server
	# refuses it with an alert; the mount fails with EACCES (not the
	# ENOTCONN of the closed connection) and the kernel names the alert.
	failmount "server demands mtls, client has xprtsec=tls: refused promptly, alert named" \
		vers=4.2,xprtsec=tls,port=20049,retry=0 "server.test:$NFSD_EXPORT" \
		"TLS alert 2/116 \(certificate_required" 10000
	grep -q "access denied" "$work/fail.err" && tap_ok "... and mount says access denied (EACCES)" ||
		tap_fail "mount error: $(cat "$work/fail.err")"
	grep -q "handshake-failed" "$work/mtlsonly.log" &&
		tap_ok "... and the server saw no client certificate" ||
		tap_fail "peer log: $(grep -o 'conn [0-9]*: [a-z-]*' "$work/mtlsonly.log" | tr '\n' ' ')"
	peer_py_stop mtlsonly
else
	tap_fail "peer.py --client-auth required started"
fi
# (An nfsd export with xprtsec=mtls refusing an xprtsec=tls client is the
# server suite's: nfsd-tls, "mount /srv/mtls with vers=4.2,xprtsec=tls".)

# A handshake that never completes: ETIMEDOUT after the 20 s timeout
if peer_py_start stall 20049 --mode stall-handshake --stall 60; then
	failmount "handshake timeout: ETIMEDOUT" vers=4.2,xprtsec=tls,port=20049,retry=0 \
		"server.test:$NFSD_EXPORT" "TLS handshake with server server.test failed: -110" 40000
	peer_py_stop stall
else
	tap_fail "peer.py stall-handshake started"
fi

# --- 8. Agent killed and restarted during a long copy, hard mount -----------
# peer.py ends the TLS session (close_notify) after 120 relayed calls; the
# client's agent is gone by then, so reconnects fail (no agent) until it
# is restarted; the hard mount then reconnects (probe + handshake) and the
# copy completes.
head -c "$((16 << 20))" /dev/urandom >"$work/long"
want=$(sha256sum <"$work/long" | cut -d' ' -f1)
if peer_py_start restart 20049 --mode close-notify-midstream --after 120 --misbehave-count 1; then
	if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,hard,port=20049,wsize=65536 \
		"server.test:$NFSD_EXPORT" /mnt/tls; then
		hs0=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
		t_start
		bg client "$work/copy.log" dd if="$work/long" of=/mnt/tls/long.bin bs=64k conv=fsync
		copy=$BG
		tlshd_stop client
		until_true 30 log_has "$work/restart.log" close-notify-midstream
		sleep 4	# the agent stays away: the reconnects fail meanwhile
		echo "# kernel: $(dmesg | grep -E 'RPC: (no TLS|TLS)' | tail -1)"
		tlshd_start client "$TLSHD_DIR/client.conf"
		wait "$copy"
		rc=$?
		ms=$(t_ms)
		got=$(sha256sum <"$NFSD_EXPORT/long.bin" | cut -d' ' -f1)
		hs1=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
		grep -o "conn [0-9]*: [a-z-]*" "$work/restart.log" | sort | uniq -c | sed 's/^/#   /'
		if [ "$rc" = 0 ] && [ "$got" = "$want" ] && [ "$hs1" -gt "$hs0" ] &&
			grep -q "conn 2: probe" "$work/restart.log" &&
			grep -q "close-notify-midstream" "$work/restart.log"; then
			tap_ok "agent restarted during a 16 MiB copy: the copy completes intact, after probe + handshake again (${ms} ms)"
		else
			tap_fail "agent restart: dd $rc, checksum $got (want $want), handshakes $hs0 -> $hs1"
		fi
		rm -f /mnt/tls/long.bin
		umount /mnt/tls
	else
		tap_fail "agent restart: mount through peer.py"
	fi
	peer_py_stop restart
else
	tap_fail "peer.py close-notify-midstream started"
fi
tlshd_stop_all

tap_done
