#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The SunRPC client's TLS connections beyond a mount's first one, and bad
# peers after the handshake, with tlshd in both test hosts
# (tests/lib/tlshd.sh) and nfsd as the server:
#
#  1. Cleartext after the handshake: peer.py (plaintext-after-handshake, on
#     its first connection only) answers the mount's first call in clear on
#     the TLS connection.  The client takes none of it: kTLS rejects the
#     record, the kernel names it, the connection is closed and the next
#     one (probe + handshake again) carries the mount.  No RPC fails.
#  2. A server that selects no ALPN, as mainline's tlshd and FreeBSD's
#     rpc.tlsservd do (peer.py no-alpn): by default the mount works over TLS,
#     and the agent logs and the kernel counts alpn=none; with alpn.required
#     in the client's tlshd.conf the mount fails closed, promptly, and the
#     kernel says why.
#  3. Soft mounts honour timeo/retrans when the handshake cannot happen:
#     with the client's agent gone and the connection cut (ss -K), a read
#     fails with EIO within the mount's timeouts instead of hanging; with
#     the agent back, the next read works.
#  4. Session trunking (v4.1, max_connect=2): a mount of the server's second
#     address joins the first mount's client as a second transport, under
#     TLS too (handshake with the first mount's server name); a plaintext
#     mount of that address is never trunked into the TLS client.
#  5. pNFS: nfsd's flexfile layout makes nfsd itself the data server, over
#     NFSv3.  The data-server connection of an xprtsec=tls mount is TLS:
#     WRITEs and READs cross it, checksums match, and a marker written to
#     the file never crosses the wire in clear.
#  6. NFSv4.0 callbacks are new connections from nfsd to the client, with
#     nothing to secure them: a v4.0 client over TLS gets no callback
#     channel, so no delegations, and nfsd never connects back (capture of
#     SYNs from the server); a plaintext v4.0 client does get a delegation.
#  7. mtls mounts of one server with different identities (the agent's own
#     certificate, and a per-mount cert_serial=/privkey_serial= one) never
#     share a connection; two mounts with the same identity share one.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh

# tap_run keeps the comment lines of passing tests: the figures
export TAP_VERBOSE=1
SERVER_IP4B=192.0.2.11
MARKER=RPCTLS-PLAINTEXT-MARKER-c41d07
work=$(mktemp -d /tmp/sunrpc-tls-paths.XXXXXX)

cleanup() {
	local p
	bg_stop_all	# tcpdump, peer.py
	for p in /mnt/tls /mnt/tls2 /mnt/tls3; do mountpoint -q "$p" && umount -f "$p"; done
	tlshd_stop_all
	nfsd_stop
	mountpoint -q "$work/sys" && umount "$work/sys"
}
trap cleanup EXIT

# peer ARGS...: peer.py in the server on port 20049, relaying to nfsd;
# its log is $work/peer.log
peer() { peer_py_start peer 20049 "$@"; }
peer_stop() { peer_py_stop peer; }
# no_clear_rpc: peer.py saw no RPC in clear from the client
no_clear_rpc() {
	! grep -q "conn [0-9]*: cleartext-rpc" "$work/peer.log" ||
		{ echo "the client sent an RPC in clear"; return 1; }
}
peer_events() { grep -o "conn [0-9]*: [a-z-]*" "$work/peer.log" | sort | uniq -c | tr -s ' \n' ' '; }

# conns ADDR: established client connections to ADDR port 2049, and how
# many of them carry kTLS (ss -i shows the tcp-ulp-tls ULP)
conns() { in_ns client ss -Htn state established dst "$1:2049" | wc -l; }
tls_conns() { in_ns client ss -Htni state established dst "$1:2049" | grep -c "tcp-ulp-tls"; }
no_conns() { [ "$(conns "$SERVER_IP4")" = 0 ] && [ "$(conns "$SERVER_IP4B")" = 0 ]; }
conns_are() { [ "$(conns "$1")" = "$2" ]; }

# proc3 OP: the client's NFSv3 call count for OP (read or write)
proc3() {
	awk -v op="$1" '$1 == "proc3" { print (op == "read") ? $9 : $10 }' /proc/net/rpc/nfs
}

netns_setup || { tap_fail "test hosts"; exit 1; }
# the server's second address, for session trunking (in server.pem's SAN)
in_ns server ip addr add "$SERVER_IP4B/24" dev veth-s
nfsd_start || { tap_fail "nfsd start"; exit 1; }
tlshd_pki "$work/pki" || { tap_fail "test certificates"; exit 1; }
tlshd_start server "$TLSHD_DIR/server.conf" || { tap_fail "tlshd in the server"; exit 1; }
tlshd_start client "$TLSHD_DIR/client.conf" || { tap_fail "tlshd in the client"; exit 1; }
mkdir -p /mnt/tls /mnt/tls2 /mnt/tls3

# --- 1. Cleartext after the handshake ----------------------------------------
cleartext_after_handshake() {
	local ms
	peer --mode plaintext-after-handshake --misbehave-count 1 || return 1
	dmesg -C
	t_start
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,port=20049 \
		"server.test:$NFSD_EXPORT" /mnt/tls || { echo "mount failed: $(peer_events)"; return 1; }
	ms=$(t_ms)
	echo "# mounted in $ms ms; peer: $(peer_events)"
	dmesg | grep -E "RPC:|nfs:" | sed 's/^/#   kernel: /'
	is_nfs_mount /mnt/tls || { echo "/mnt/tls is not an NFS mount"; return 1; }
	nfs_write_check /mnt/tls cleartext.txt "written over TLS" || return 1
	umount /mnt/tls
	peer_stop
	grep -q "conn 1: cleartext-reply" "$work/peer.log" ||
		{ echo "peer.py sent no reply in clear on its first connection"; return 1; }
	grep -q "conn 2: tls-up" "$work/peer.log" || { echo "no second TLS connection"; return 1; }
	no_clear_rpc || return 1
	dmesg | grep -q "RPC: bad TLS input from server server.test" ||
		{ echo "the kernel did not name the bad input"; return 1; }
	! dmesg | grep -q "RPC call returned error" ||
		{ echo "an RPC failed on the bad input instead of being retried"; return 1; }
}
tap_run "cleartext after the handshake: refused, reconnect with a new handshake, mount over TLS" \
	cleartext_after_handshake
peer_stop

# --- 2. No ALPN from the server ----------------------------------------------
alpn_none() { in_ns client awk '$1 == "alpn_none" { print $2 }' /proc/net/tlsh; }
no_alpn_interop() {
	local n0
	peer --mode no-alpn || return 1
	n0=$(alpn_none)
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,port=20049,retry=0 \
		"server.test:$NFSD_EXPORT" /mnt/tls 2>"$work/noalpn.err" ||
		{ echo "mount failed: $(cat "$work/noalpn.err"); peer: $(peer_events)"; return 1; }
	is_nfs_mount /mnt/tls || { echo "/mnt/tls is not an NFS mount"; return 1; }
	nfs_write_check /mnt/tls noalpn.txt "written without ALPN" || return 1
	umount /mnt/tls
	peer_stop
	[ "$(alpn_none)" -gt "$n0" ] ||
		{ echo "/proc/net/tlsh alpn_none did not count it ($n0 -> $(alpn_none))"; return 1; }
	grep ' handshake req=' "$TLSHD_DIR/tlshd-client.log" | tail -n 1 |
		grep -q 'type=client-anon result=ok .* alpn=none ' ||
		{ echo "tlshd's audit line does not say alpn=none"; return 1; }
	grep -q "conn 1: tls-up" "$work/peer.log" || { echo "peer.py saw no TLS session"; return 1; }
	no_clear_rpc || return 1
	echo "# alpn_none $n0 -> $(alpn_none)"
}
tap_run "server selecting no ALPN (FreeBSD-style): mount over TLS, counted as alpn_none" \
	no_alpn_interop
peer_stop

no_alpn() {
	local ms
	peer --mode no-alpn || return 1
	dmesg -C
	t_start
	if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,port=20049,retry=0 \
		"server.test:$NFSD_EXPORT" /mnt/tls 2>"$work/noalpn.err"; then
		umount /mnt/tls
		echo "the mount succeeded"
		return 1
	fi
	ms=$(t_ms)
	echo "# failed after $ms ms: $(cat "$work/noalpn.err"); peer: $(peer_events)"
	dmesg | grep "RPC:" | tail -2 | sed 's/^/#   kernel: /'
	dmesg | grep -q 'TLS handshake with server server.test failed: -93 (the peer cannot do what RFC 9289 requires' ||
		{ echo "the kernel did not name the missing ALPN"; return 1; }
	no_clear_rpc || return 1
	grep -q 'reason="peer negotiated no ALPN and alpn.required is set"' \
		"$TLSHD_DIR/tlshd-client.log" || { echo "tlshd did not name alpn.required"; return 1; }
	[ "$ms" -le 10000 ] || { echo "took $ms ms"; return 1; }
}
# tap_run runs its command in a subshell: the agents change out here.
printf '%s\n' '[authenticate]' 'alpn.required = true' |
	cat "$TLSHD_DIR/client.conf" - >"$work/client-strict.conf"
tlshd_stop client
tlshd_start client "$work/client-strict.conf" || tap_fail "tlshd with alpn.required in the client"
tap_run "alpn.required, server selecting no ALPN: the mount fails closed, promptly, naming ALPN" \
	no_alpn
peer_stop
tlshd_stop client
tlshd_start client "$TLSHD_DIR/client.conf" || { tap_fail "tlshd in the client (again)"; exit 1; }

# --- 3. Soft mounts: timeo/retrans bound a handshake that cannot happen --------
soft_mount() {
	local ms killed
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,soft,timeo=10,retrans=2 \
		"server.test:$NFSD_EXPORT" /mnt/tls || { echo "mount failed"; return 1; }
	echo "soft" >/mnt/tls/soft.txt && sync
	tlshd_stop client
	dmesg -C
	killed=$(in_ns client ss -HK state established dst "$SERVER_IP4:2049" | wc -l)
	[ "$killed" -ge 1 ] || { echo "ss -K cut no connection"; return 1; }
	echo 3 >/proc/sys/vm/drop_caches
	t_start
	if timeout 120 cat /mnt/tls/soft.txt >/dev/null 2>"$work/soft.err"; then
		echo "read without an agent succeeded"
		return 1
	fi
	ms=$(t_ms)
	echo "# read failed after $ms ms: $(cat "$work/soft.err")"
	dmesg | grep "RPC:" | sort | uniq -c | sed 's/^/#   kernel: /'
	grep -q "Input/output error\|Connection timed out" "$work/soft.err" ||
		{ echo "want EIO or ETIMEDOUT"; return 1; }
	[ "$ms" -le 60000 ] || { echo "took $ms ms for timeo=10,retrans=2"; return 1; }
	dmesg | grep -q "no TLS handshake agent" || { echo "no reconnect attempt logged"; return 1; }
	tlshd_start client "$TLSHD_DIR/client.conf" || return 1
	t_start
	until_true 60 grep -qx soft /mnt/tls/soft.txt 2>/dev/null ||
		{ echo "no recovery with the agent back"; return 1; }
	echo "# with the agent back, read in $(t_ms) ms"
	[ "$(tls_conns "$SERVER_IP4")" = 1 ] || { echo "the new connection is not kTLS"; return 1; }
	rm -f /mnt/tls/soft.txt
	umount /mnt/tls
}
tap_run "soft mount, no agent, connection cut: EIO within timeo/retrans, recovers with the agent" \
	soft_mount

# --- 4. Session trunking ------------------------------------------------------
# The transports of the client whose first transport goes to $SERVER_IP4,
# one line each, "dstaddr xprtsec", from sysfs as the client's namespace
# sees it (SunRPC's sysfs entries are per network namespace)
SYSFS=$work/sys
mkdir -p "$SYSFS"
in_ns client mount -t sysfs sysfs "$SYSFS" || { tap_fail "sysfs of the client's namespace"; exit 1; }
switch_xprts() {
	local sw d
	sw=$(grep -lx "$SERVER_IP4" "$SYSFS"/kernel/sunrpc/xprt-switches/*/xprt-*/dstaddr | head -1)
	[ -n "$sw" ] || return 1
	for d in "$(dirname "$(dirname "$sw")")"/xprt-*; do
		echo "$(cat "$d/dstaddr") $(awk -F= '$1 == "xprtsec" { print $2 }' "$d/xprt_info")"
	done | sort
}
trunking() {
	local opts=vers=4.1,xprtsec=tls,max_connect=2 hs0 hs1 x
	until_true 10 no_conns
	hs0=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
	in_ns client mount -t nfs4 -o "$opts" "server.test:$NFSD_EXPORT" /mnt/tls ||
		{ echo "mount of server.test failed"; return 1; }
	in_ns client mount -t nfs4 -o "$opts" "$SERVER_IP4B:$NFSD_EXPORT" /mnt/tls2 ||
		{ echo "mount of $SERVER_IP4B failed"; return 1; }
	hs1=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
	until_true 10 conns_are "$SERVER_IP4B" 1
	x=$(switch_xprts)
	echo "# the first mount's transports: $(echo "$x" | tr '\n' ',')"
	echo "# connections: $SERVER_IP4 $(conns "$SERVER_IP4") ($(tls_conns "$SERVER_IP4") kTLS)," \
		"$SERVER_IP4B $(conns "$SERVER_IP4B") ($(tls_conns "$SERVER_IP4B") kTLS); handshakes $((hs1 - hs0))"
	grep "peer=$SERVER_IP4B " "$TLSHD_DIR/tlshd-client.log" | tail -1 | sed 's/^/#   agent: /'
	[ "$x" = "$SERVER_IP4 tls
$SERVER_IP4B tls" ] || { echo "want two TLS transports, to $SERVER_IP4 and $SERVER_IP4B"; return 1; }
	[ "$(tls_conns "$SERVER_IP4")" = 1 ] && [ "$(tls_conns "$SERVER_IP4B")" = 1 ] &&
		[ "$(conns "$SERVER_IP4B")" = 1 ] || { echo "want one kTLS connection to each address"; return 1; }
	# the trunk's handshake names the first mount's server
	grep "peer=$SERVER_IP4B " "$TLSHD_DIR/tlshd-client.log" | tail -1 |
		grep -q "name=server.test .*result=ok" || { echo "no handshake with $SERVER_IP4B as server.test"; return 1; }
	head -c $((1 << 20)) /dev/urandom >"$work/trunk"
	cp "$work/trunk" /mnt/tls2/trunk.bin && sync
	echo 3 >/proc/sys/vm/drop_caches
	cmp -s "$work/trunk" /mnt/tls/trunk.bin || { echo "read back through the other mount differs"; return 1; }
	rm -f /mnt/tls/trunk.bin
	# a plaintext mount of the second address stays out of the TLS client
	in_ns client mount -t nfs4 -o vers=4.1,max_connect=2 "$SERVER_IP4B:$NFSD_EXPORT" /mnt/tls3 ||
		{ echo "plaintext mount of $SERVER_IP4B failed"; return 1; }
	x=$(switch_xprts)
	echo "# with a plaintext mount of $SERVER_IP4B too: $(echo "$x" | tr '\n' ',')" \
		"connections to $SERVER_IP4B: $(conns "$SERVER_IP4B") ($(tls_conns "$SERVER_IP4B") kTLS)"
	umount /mnt/tls3
	[ "$x" = "$SERVER_IP4 tls
$SERVER_IP4B tls" ] || { echo "the TLS client changed: $x"; return 1; }
	umount /mnt/tls2
	umount /mnt/tls
}
tap_run "session trunking: the second address joins the TLS client as a second TLS transport" trunking

# --- 5. pNFS flexfile data server ----------------------------------------------
pnfs() {
	local want got got2 w0 w1 r0 r1 lg n dump
	until_true 10 no_conns
	echo "$NFSD_EXPORT *(rw,no_root_squash,insecure,no_subtree_check,fsid=1,pnfs)" >/etc/exports
	in_ns server exportfs -ra || { echo "exportfs -ra with pnfs failed"; return 1; }
	head -c $((2 << 20)) /dev/urandom >"$work/pnfs"
	for _ in $(seq 64); do echo "$MARKER"; done >>"$work/pnfs"
	want=$(sha256sum <"$work/pnfs" | cut -d' ' -f1)
	bg server "$work/tcpdump.log" tcpdump -i veth-s -U -s 0 -w "$work/pnfs.pcap" tcp port 2049
	dump=$BG
	until_true 10 log_has "$BGLOG" "listening on"
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls ||
		{ echo "mount failed"; return 1; }
	w0=$(proc3 write)
	dd if="$work/pnfs" of=/mnt/tls/pnfs.bin bs=1M conv=fsync status=none ||
		{ echo "write failed"; return 1; }
	w1=$(proc3 write)
	n="$(conns "$SERVER_IP4") connections ($(tls_conns "$SERVER_IP4") kTLS)"
	got=$(sha256sum <"$NFSD_EXPORT/pnfs.bin" | cut -d' ' -f1)
	sync
	echo 3 >/proc/sys/vm/drop_caches
	r0=$(proc3 read)
	got2=$(sha256sum </mnt/tls/pnfs.bin | cut -d' ' -f1)
	r1=$(proc3 read)
	lg=$(awk '$1 == "device" { on = ($5 == "/mnt/tls") } on && $1 == "LAYOUTGET:" { print $2; exit }' \
		/proc/self/mountstats)
	echo "# LAYOUTGET $lg; data server (NFSv3) WRITE $((w1 - w0)), READ $((r1 - r0)); $n"
	grep "name=$SERVER_IP4 " "$TLSHD_DIR/tlshd-client.log" | tail -1 | sed 's/^/#   agent: /'
	rm -f /mnt/tls/pnfs.bin
	umount /mnt/tls
	kill "$dump"
	wait "$dump" 2>/dev/null
	echo "$NFSD_EXPORT *(rw,no_root_squash,insecure,no_subtree_check,fsid=1)" >/etc/exports
	in_ns server exportfs -ra
	[ "${lg:-0}" -gt 0 ] || { echo "the client got no layout"; return 1; }
	[ "$((w1 - w0))" -gt 0 ] && [ "$((r1 - r0))" -gt 0 ] ||
		{ echo "no data crossed the data-server connection"; return 1; }
	[ "$got" = "$want" ] || { echo "the server's copy differs"; return 1; }
	[ "$got2" = "$want" ] || { echo "read back differs"; return 1; }
	[ "$n" = "2 connections (2 kTLS)" ] || { echo "want the MDS and the DS connection, both kTLS: $n"; return 1; }
	# the data server is named by its address in the layout
	grep "name=$SERVER_IP4 " "$TLSHD_DIR/tlshd-client.log" | grep -q "result=ok" ||
		{ echo "no handshake with the data server"; return 1; }
	[ -s "$work/pnfs.pcap" ] || { echo "no capture"; return 1; }
	! grep -qa "$MARKER" "$work/pnfs.pcap" || { echo "the marker crossed the wire in clear"; return 1; }
	echo "# capture: $(stat -c %s "$work/pnfs.pcap") bytes, marker absent"
}
tap_run "pNFS flexfile data server (NFSv3): a TLS connection too; data intact, no marker in clear" pnfs

# --- 6. NFSv4.0 callbacks never travel in clear -------------------------------
# deleg_within SEC MNT FILE: reopen FILE until nfsd shows a delegation on it
deleg_within() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt "$end" ]; do
		cat "$2/$3" >/dev/null
		exec 7<"$2/$3"
		sleep 0.5
		grep -q "type: deleg.*$3" /proc/fs/nfsd/clients/*/states 2>/dev/null && { exec 7<&-; return 0; }
		exec 7<&-
	done
	return 1
}
v40_callback() {
	local syn0 syn dump
	echo plain >"$NFSD_EXPORT/deleg40-plain.txt"
	echo tls >"$NFSD_EXPORT/deleg40-tls.txt"
	# connections the server opens to the client (SYN without ACK)
	bg server "$work/syn.log" tcpdump -i veth-s -n -l \
		"src host $SERVER_IP4 and dst host $CLIENT_IP4 and tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0"
	dump=$BG
	until_true 10 log_has "$BGLOG" "listening on"
	# control: a plaintext v4.0 mount gets a callback connection, and a delegation
	in_ns client mount -t nfs4 -o vers=4.0 "server.test:$NFSD_EXPORT" /mnt/tls3 ||
		{ echo "plaintext v4.0 mount failed"; return 1; }
	deleg_within 20 /mnt/tls3 deleg40-plain.txt ||
		{ umount /mnt/tls3; echo "control: no delegation for a plaintext v4.0 client"; return 1; }
	umount /mnt/tls3
	syn0=$(grep -c " > $CLIENT_IP4\." "$work/syn.log")
	dmesg -C
	in_ns client mount -t nfs4 -o vers=4.0,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls ||
		{ echo "TLS v4.0 mount failed"; return 1; }
	if deleg_within 8 /mnt/tls deleg40-tls.txt; then
		umount /mnt/tls
		echo "nfsd delegated to a v4.0 client over TLS"
		return 1
	fi
	[ "$(cat /mnt/tls/deleg40-tls.txt)" = tls ] || { echo "read through the mount failed"; return 1; }
	umount /mnt/tls
	kill "$dump"
	wait "$dump" 2>/dev/null
	syn=$(( $(grep -c " > $CLIENT_IP4\." "$work/syn.log") - syn0 ))
	dmesg | grep "nfsd:" | sed 's/^/#   kernel: /'
	echo "# connections opened by the server to the client: plaintext mount $syn0, TLS mount $syn"
	[ "$syn0" -ge 1 ] || { echo "control: the capture saw no callback connection"; return 1; }
	[ "$syn" = 0 ] || { echo "the server opened $syn connections to the TLS client"; return 1; }
	dmesg | grep -q "nfsd: no NFSv4.0 callback channel (so no delegations) for $CLIENT_IP4" ||
		{ echo "nfsd did not say why there is no callback"; return 1; }
}
tap_run "NFSv4.0 over TLS: no callback connection in clear (no delegations); plaintext control gets one" \
	v40_callback

# --- 7. Different identities never share a connection --------------------------
# other_identity: a second client certificate, made here, loaded as two
# "user" keys (tlshd reads them by serial); sets CS KS
other_identity() {
	local d=$work/other
	mkdir -p "$d"
	printf '%s\n' 'cn = "other.client.test"' 'serial = 201' 'dns_name = "other.client.test"' \
		'tls_www_client' 'key_purpose_oid = 1.3.6.1.5.5.7.3.33' 'signing_key' \
		'expiration_days = 2' >"$d/tmpl.cfg"
	certtool --generate-privkey --key-type ecdsa --outfile "$d/other.key" 2>/dev/null &&
		certtool --generate-certificate --load-privkey "$d/other.key" \
			--load-ca-certificate "$TLSHD_DIR/ca.pem" --load-ca-privkey "$TLSHD_DIR/ca.key" \
			--template "$d/tmpl.cfg" --outfile "$d/other.pem" 2>/dev/null || return 1
	CS=$(keyctl padd user paths:cert @u <"$d/other.pem") &&
		KS=$(keyctl padd user paths:key @u <"$d/other.key") || return 1
	keyctl setperm "$CS" 0x3f3f0000 && keyctl setperm "$KS" 0x3f3f0000
}
identities() {
	local ids n
	until_true 10 no_conns
	other_identity || { echo "could not make a second client identity"; return 1; }
	# the agent's own certificate (client.test), then the other one, twice
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=mtls "server.test:$NFSD_EXPORT" /mnt/tls &&
		in_ns client mount -t nfs4 -o "vers=4.2,xprtsec=mtls,cert_serial=$CS,privkey_serial=$KS" \
			"server.test:$NFSD_EXPORT" /mnt/tls2 &&
		in_ns client mount -t nfs4 -o "vers=4.2,xprtsec=mtls,cert_serial=$CS,privkey_serial=$KS" \
			"server.test:$NFSD_EXPORT/" /mnt/tls3 || { echo "mtls mounts failed"; return 1; }
	echo "by other.client.test" >/mnt/tls2/identity.txt && sync
	[ "$(cat /mnt/tls/identity.txt)" = "by other.client.test" ] || { echo "I/O across the mounts failed"; return 1; }
	rm -f /mnt/tls/identity.txt
	n=$(conns "$SERVER_IP4")
	ids=$(awk '$1 == "tcp" && $3 == "mtls" { print $4 }' /proc/fs/nfsd/tls | sort -u | tr '\n' ' ')
	sed -n '/^tcp /s/^/#   nfsd: /p' /proc/fs/nfsd/tls
	grep -o 'subject="[^"]*client.test"' "$TLSHD_DIR/tlshd-server.log" | sort | uniq -c | sed 's/^/#   agent: /'
	grep " /mnt/tls[23] " /proc/mounts | grep -o "xprtsec=mtls[^ ,]*\(,[a-z_]*serial=[0-9]*\)*" | sed 's/^/#   mount: /'
	umount /mnt/tls3
	umount /mnt/tls2
	umount /mnt/tls
	keyctl unlink "$CS" @u >/dev/null
	keyctl unlink "$KS" @u >/dev/null
	[ "$n" = 2 ] || { echo "want 2 connections (one per identity), got $n"; return 1; }
	[ "$(echo "$ids" | wc -w)" = 2 ] || { echo "want two peer identities at nfsd, got: $ids"; return 1; }
	grep -q 'subject="CN=other.client.test"' "$TLSHD_DIR/tlshd-server.log" ||
		{ echo "the server never saw other.client.test"; return 1; }
}
tap_run "mtls mounts with different identities: one connection each; the same identity shares one" identities

tap_done
