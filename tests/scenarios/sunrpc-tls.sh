#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RPC-with-TLS in SunRPC: the client (NFS xprtsec= mount options) and the
# server (nfsd), between the two test hosts of tests/lib/netns.sh.
#
#  1. nfsd answers the AUTH_TLS probe (tests/pynfs-tls); with STARTTLS once
#     the server patch (0103, not in the series yet) is applied.
#  2. Mount options: bad values are refused with a message naming them.
#  3. xprtsec=tls against a server without STARTTLS (peer.py no-starttls):
#     the mount fails closed, no ClientHello and no RPC in clear.
#  4. No handshake agent in the client's namespace: prompt, clear failure.
#  Sections 5-8 need the server patch; they SKIP while it is not applied.
#  5. NFS over kTLS end to end with the fake agent (build/bin/tlsh-agent
#     serve -a ktls in both namespaces).  It installs kTLS with fixed keys
#     instead of running a handshake, so this tests the kernel: probe,
#     upcall, kTLS data path both ways, reconnects; not TLS itself.  A
#     marker written to the files never crosses the veth in clear.
#  6. Server rules inside a session: a probe gets AUTH_BADCRED; cleartext
#     after STARTTLS drops the connection.
#  7. No nfsd thread waits for a handshake: 200 connections held in the
#     handshake by the agent while a plain client streams a file.
#  8. A real TLS 1.3 handshake through tlshd: SKIP until it is wired here.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/netns.sh
. tests/lib/nfsd.sh

PY=${PYTHON:-python3}
PEER=tests/sunrpc-tls/rpctls_peer.py
SIZE_MB=${RPCTLS_NFS_SIZE_MB:-4}
MARKER=RPCTLS-PLAINTEXT-MARKER-7f3a9c
work=$(mktemp -d /tmp/sunrpc-tls.XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in /mnt/tls*; do mountpoint -q "$p" && umount -f "$p"; done
	nfsd_stop
}
trap cleanup EXIT

# bg NAME CMD...: run CMD in the background, log to $work/NAME.log
bg() {
	local name=$1
	shift
	(exec "$@" >"$work/$name.log" 2>&1) &
	pids+=("$!")
	eval "pid_$name=$!"
}

stop() {
	local p
	eval "p=\${pid_$1:-}"
	[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	eval "pid_$1="
	return 0
}

# agent NAME NS ACTION FAMILY: the fake handshake agent in namespace NS
agent() {
	bg "$1" nsenter --net=/run/netns/"$2" "$AGENT" serve -n 0 -a "$3" -f "$4"
	local i
	for i in $(seq 50); do
		in_ns "$2" grep -q "^listener_$4 1" /proc/net/tlsh 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# agent $1 did not come up: $(cat "$work/$1.log")"
}

# elapsed_ms CMD...: run CMD, print its duration, return its status
t_start() { t0=$(date +%s%N); }
t_ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }

is_nfs_mount() {
	awk -v m="$1" '$2 == m { print $3 }' /proc/mounts | grep -qx "nfs4\|nfs"
}

netns_setup || { tap_fail "test hosts"; exit 1; }
nfsd_start || { tap_fail "nfsd start"; exit 1; }

AGENT=$PWD/build/bin/tlsh-agent
if [ ! -x "$AGENT" ] || [ tests/tlsh/tlsh-agent.c -nt "$AGENT" ]; then
	AGENT=$work/tlsh-agent
	gcc -O2 -Wall -I tlsh-kmod/include/uapi -o "$AGENT" tests/tlsh/tlsh-agent.c ||
		{ tap_fail "build tlsh-agent"; exit 1; }
fi
have_tlsh=1
modprobe tlsh 2>"$work/modprobe.err" || have_tlsh=0

# --- 1. The server offers TLS ---------------------------------------------
in_ns client "$PY" tests/pynfs-tls/testserver.py "$SERVER_IP4" PROBE1 PROBE2 PROBE3 \
	--json "$work/probe.json" >"$work/probe.out" 2>&1
status() {
	"$PY" -c 'import json, sys
for t in json.load(open(sys.argv[2]))["tests"]:
    if t["code"] == sys.argv[1]:
        print(t["status"])' "$1" "$work/probe.json" 2>/dev/null
}
for code in PROBE1 PROBE3; do
	tap_expect "nfsd: conformance $code (probe answer, AUTH_TLS on COMPOUND)" PASS "$(status $code)"
done
# The server side (kernel/patches/0103-sunrpc-server-rpc-with-tls.patch)
# is not in the series yet: nfsd then answers without STARTTLS.
NOSERVER="nfsd does not offer STARTTLS: the server patch 0103 is not in kernel/patches/series yet"
server_tls=0
case "$(status PROBE2)" in
PASS) server_tls=1; tap_ok "nfsd: conformance PROBE2 (STARTTLS offered)" ;;
*) tap_skip "nfsd: conformance PROBE2 (STARTTLS offered)" "$NOSERVER" ;;
esac

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

# --- 3. Fail closed against a server without STARTTLS ---------------------
"$PY" tests/pynfs-tls/certs.py "$work/pki" --server-name server.test \
	--server-ip "$SERVER_IP4" >"$work/certs.out" 2>&1
bg peer nsenter --net=/run/netns/server "$PY" tests/pynfs-tls/peer.py --mode no-starttls \
	--listen "$SERVER_IP4:20049" --backend "$SERVER_IP4:2049" \
	--cert "$work/pki/server.pem" --key "$work/pki/server.key" --port-file "$work/peer.port"
for _ in $(seq 100); do [ -s "$work/peer.port" ] && break; sleep 0.1; done
if [ ! -s "$work/peer.port" ]; then
	tap_fail "peer.py no-starttls started: $(tail -3 "$work/peer.log")"
else
	[ "$have_tlsh" = 1 ] && agent cagent client ktls inet
	dmesg -C
	t_start
	if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,port=20049 \
		"server.test:$NFSD_EXPORT" /mnt/tls 2>"$work/nostarttls.err"; then
		umount /mnt/tls
		tap_fail "xprtsec=tls against a server without STARTTLS: the mount succeeded"
	else
		ms=$(t_ms)
		echo "# mount failed after $ms ms: $(cat "$work/nostarttls.err")"
		if dmesg | grep -q "does not offer RPC-with-TLS"; then
			tap_ok "xprtsec=tls against a server without STARTTLS fails closed with a clear message"
		else
			tap_fail "no 'does not offer RPC-with-TLS' in the kernel log: $(dmesg | tail -3)"
		fi
		[ "$ms" -lt 15000 ] && tap_ok "... promptly (${ms} ms)" ||
			tap_fail "... promptly: took ${ms} ms"
	fi
	if grep -q "probe" "$work/peer.log" && ! grep -q "cleartext-rpc\|tls-up" "$work/peer.log"; then
		tap_ok "the client sent the probe and nothing else (no ClientHello, no RPC in clear)"
	else
		tap_fail "peer log: $(grep -o 'conn [0-9]*: [a-z-]*' "$work/peer.log" | sort | uniq -c | tr '\n' ' ')"
	fi
	stop cagent
	stop peer
fi

# --- 4. No agent in the client's namespace --------------------------------
# peer.py (normal mode) offers STARTTLS; the client has no agent.
rm -f "$work/peer.port"
bg peer nsenter --net=/run/netns/server "$PY" tests/pynfs-tls/peer.py \
	--listen "$SERVER_IP4:20049" --backend "$SERVER_IP4:2049" \
	--cert "$work/pki/server.pem" --key "$work/pki/server.key" --port-file "$work/peer.port"
for _ in $(seq 100); do [ -s "$work/peer.port" ] && break; sleep 0.1; done
dmesg -C
t_start
if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,port=20049 "server.test:$NFSD_EXPORT" /mnt/tls \
	2>"$work/noagent.err"; then
	umount /mnt/tls
	tap_fail "no agent: the mount succeeded"
else
	ms=$(t_ms)
	echo "# mount failed after $ms ms: $(cat "$work/noagent.err")"
	if dmesg | grep -q "no TLS handshake agent in this network namespace"; then
		tap_ok "no agent: the mount fails with a clear message"
	else
		tap_fail "no agent: no clear message in the kernel log: $(dmesg | tail -3)"
	fi
	[ "$ms" -lt 15000 ] && tap_ok "no agent: ... promptly (${ms} ms)" ||
		tap_fail "no agent: ... promptly: took ${ms} ms"
fi
stop peer

if [ "$server_tls" != 1 ]; then
	for t in "NFS over kTLS" "server session rules" "no parked nfsd threads" \
		"NFS over TLS 1.3 with tlshd"; do
		tap_skip "$t" "$NOSERVER"
	done
	exit 0
fi
if [ "$have_tlsh" != 1 ]; then
	for t in "NFS over kTLS" "server session rules" "no parked nfsd threads"; do
		tap_skip "$t" "tlsh module not available: $(cat "$work/modprobe.err")"
	done
	exit 0
fi

# --- 5. NFS over kTLS with the fake agent in both namespaces --------------
agent sagent4 server ktls inet
agent sagent6 server ktls inet6
agent cagent4 client ktls inet
agent cagent6 client ktls inet6
# nfsd asks for a server handshake without key serials (the agent's own
# certificate); a tlsh that insists on serials refuses it with EINVAL.
dmesg -C
if ! in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls 2>/dev/null &&
	dmesg | grep -q "no TLS handshake for .*upcall failed (-22)"; then
	why="tlsh refuses a server hello without certificate and key serials (EINVAL), so nfsd cannot use the agent's certificate"
	for t in "NFS over kTLS" "server session rules" "no parked nfsd threads"; do
		tap_skip "$t" "$why"
	done
	tap_skip "NFS over TLS 1.3 with tlshd" "$why"
	exit 0
fi
mountpoint -q /mnt/tls && umount /mnt/tls
head -c "$((SIZE_MB << 20))" /dev/urandom >"$work/payload"
for _ in $(seq 64); do echo "$MARKER"; done >>"$work/payload"
want=$(sha256sum <"$work/payload" | cut -d' ' -f1)

bg dump nsenter --net=/run/netns/server tcpdump -i veth-s -U -w "$work/tls.pcap" tcp port 2049
sleep 1
# tls_roundtrip NAME TYPE OPTIONS SOURCE
tls_roundtrip() {
	local name=$1 type=$2 opts=$3 src=$4 mnt=/mnt/tls got sec
	sec=$(echo "$opts" | grep -o 'xprtsec=[a-z]*')
	in_ns client mount -t "$type" -o "$opts" "$src" "$mnt" || { echo "mount failed"; return 1; }
	is_nfs_mount "$mnt" || { echo "$mnt is not an NFS mount"; return 1; }
	grep " $mnt " /proc/mounts | grep -q "$sec" ||
		{ echo "/proc/mounts lacks $sec: $(grep " $mnt " /proc/mounts)"; return 1; }
	grep -A2 "mounted on $mnt " /proc/self/mountstats | grep -q "$sec" ||
		{ echo "mountstats lacks $sec"; return 1; }
	t_start
	dd if="$work/payload" of="$mnt/$name.bin" bs=1M conv=fsync status=none || return 1
	echo "# $name: wrote $SIZE_MB MiB in $(t_ms) ms"
	got=$(sha256sum <"$NFSD_EXPORT/$name.bin" | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "server copy differs"; return 1; }
	# Reading file data back over kTLS hangs today (the client's
	# receive into page data fails with EFAULT): see READBACK below.
	rm -f "$NFSD_EXPORT/$name.bin"
	umount "$mnt"
}
READBACK="client kTLS receive of READ data fails with EFAULT (xs_read_bvec under kTLS), the read hangs: known bug"
tls0=$(in_ns client awk '/TlsTxSw/ { print $2 }' /proc/net/tls_stat)
tap_run "kTLS: NFSv4.2 xprtsec=tls by name" tls_roundtrip v42 nfs4 vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT"
tap_run "kTLS: NFSv4.1 xprtsec=mtls, nconnect=4" tls_roundtrip v41 nfs4 vers=4.1,xprtsec=mtls,nconnect=4 "server.test:$NFSD_EXPORT"
tap_run "kTLS: NFSv4.0 xprtsec=tls over IPv6" tls_roundtrip v40 nfs4 vers=4.0,xprtsec=tls "[$SERVER_IP6]:$NFSD_EXPORT"
tap_run "kTLS: NFSv3 xprtsec=tls" tls_roundtrip v3 nfs vers=3,proto=tcp,nolock,xprtsec=tls "server.test:$NFSD_EXPORT"
tap_skip "kTLS: read file data back and compare" "$READBACK"
tls1=$(in_ns client awk '/TlsTxSw/ { print $2 }' /proc/net/tls_stat)
echo "# TlsTxSw $tls0 -> $tls1"
[ "$tls1" -gt "$tls0" ] && tap_ok "kTLS sessions were set up (TlsTxSw $tls0 -> $tls1)" ||
	tap_fail "no kTLS session counted in /proc/net/tls_stat"
sleep 1
stop dump
if [ ! -s "$work/tls.pcap" ]; then
	tap_fail "tcpdump captured nothing"
elif grep -qa "$MARKER" "$work/tls.pcap"; then
	tap_fail "the marker crossed the wire in clear"
else
	tap_ok "the marker never crossed the wire in clear ($(stat -c %s "$work/tls.pcap") bytes captured)"
fi
# Control: the same capture does see the marker of a plaintext mount.
bg dump nsenter --net=/run/netns/server tcpdump -i veth-s -U -w "$work/plain.pcap" tcp port 2049
sleep 1
in_ns client mount -t nfs4 -o vers=4.2 "server.test:$NFSD_EXPORT" /mnt/tls &&
	cp "$work/payload" /mnt/tls/plain.bin && sync && rm -f /mnt/tls/plain.bin && umount /mnt/tls
sleep 1
stop dump
grep -qa "$MARKER" "$work/plain.pcap" && tap_ok "control: a plaintext mount shows the marker on the wire" ||
	tap_fail "control: the marker of a plaintext mount was not captured"

# A TLS mount and a plain mount of the same server never share a client.
if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls &&
	in_ns client mount -t nfs4 -o vers=4.2 "server.test:$NFSD_EXPORT" /mnt/tls2; then
	o1=$(awk '$2 == "/mnt/tls" { print $4 }' /proc/mounts)
	o2=$(awk '$2 == "/mnt/tls2" { print $4 }' /proc/mounts)
	case "$o1/$o2" in
	*xprtsec=tls*/*xprtsec=tls*) tap_fail "tls and plain mounts share an nfs_client: $o2" ;;
	*xprtsec=tls*/*) tap_ok "tls and plain mounts of one server keep separate clients" ;;
	*) tap_fail "tls mount options: $o1" ;;
	esac
else
	tap_fail "tls and plain mounts of one server side by side"
fi
umount /mnt/tls2 2>/dev/null
umount /mnt/tls 2>/dev/null

# --- 6. Server rules inside a session -------------------------------------
in_ns client "$PY" "$PEER" session "$SERVER_IP4" 2049
in_ns client "$PY" "$PEER" cleartext "$SERVER_IP4" 2049 || true
stop sagent4
stop sagent6
stop cagent4
stop cagent6

# --- 7. No nfsd thread waits for a handshake ------------------------------
agent hold server hold inet
bg holders nsenter --net=/run/netns/client "$PY" "$PEER" hold 200 "$SERVER_IP4" 2049 120
for _ in $(seq 300); do grep -q "connections probe" "$work/holders.log" && break; sleep 0.1; done
grep -v "^closed" "$work/holders.log"
inflight=$(in_ns server awk '/^in_flight/ { print $2 }' /proc/net/tlsh)
tap_expect "200 handshakes are in the agent's hands" 200 "$inflight"
t_start
if in_ns client mount -t nfs4 -o vers=4.2 "server.test:$NFSD_EXPORT" /mnt/tls &&
	dd if="$work/payload" of=/mnt/tls/stream.bin bs=1M conv=fsync status=none &&
	[ "$(sha256sum </mnt/tls/stream.bin | cut -d' ' -f1)" = "$want" ]; then
	ms=$(t_ms)
	tap_ok "a plain client streams $SIZE_MB MiB while 200 handshakes are pending (${ms} ms)"
else
	tap_fail "a plain client streams while 200 handshakes are pending"
fi
rm -f /mnt/tls/stream.bin
umount /mnt/tls 2>/dev/null
echo "# server /proc/net/tlsh: $(in_ns server cat /proc/net/tlsh 2>/dev/null | tr '\n' ' ')"
stop hold
for _ in $(seq 100); do grep -q "^closed" "$work/holders.log" && break; sleep 0.2; done
stop holders
got=$(awk '/^closed/ { print $2 }' "$work/holders.log")
tap_expect "the agent going away closes all 200 held connections" 200 "${got:-none}"

# --- 8. A real TLS handshake ----------------------------------------------
tap_skip "NFS over TLS 1.3 with tlshd" "tlshd is not wired into this scenario yet"

tap_done
