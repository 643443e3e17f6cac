#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The reconnect storm (issue 16): nfsd restarted under 100 client
# connections at once, with TLS and, in the same VM run, in plaintext.
#
# RPCTLS_STORM_N (default 100) connections: NFSv3 mounts (proto=tcp,
# mountproto=tcp, nolock, hard) with nconnect=RPCTLS_STORM_NCONNECT
# (default 2), each mount to its own server address: secondary addresses
# 198.51.100.1.. on the server's veth, a subnet of their own, and
# 198.51.100.254 on the client's (v3 has no trunking detection, so every
# address is a transport of its own; v4 would merge them).  The server's
# certificate names every address, and tlshd checks at most 64 names of
# a certificate (MAX_SANS in tlshd/policy.c): hence 50 addresses with two
# connections each rather than 100 with one.  tests/lib/storm_probe.py
# writes one O_DIRECT 4 KiB block on each mount every 0.2 s (a thread
# per mount; nconnect sends them round-robin over the mount's
# connections) and logs each completion.  The storm: rpc.nfsd 0, 2 s,
# rpc.nfsd 8.  Printed (no assertions on times), TLS beside plain and
# TLS/plain:
#   - time from the restart (rpc.nfsd 8) to every mount's I/O again: the
#     largest over the mounts, and the median
#   - time from the restart until all N connections are established
#     again (kTLS in the TLS round), polled with ss every 0.5 s
#   - the server agent's handshakes in the storm: how many, per second
#     (handshakes logged after the restart / the storm's duration: the
#     later of every mount's I/O again and every connection back), and
#     the median of their duration_ms
# The bench fails when a probe saw an error or read back other data than
# it wrote, when the mounts are not N connections, or when in the TLS round
# a connection is not kTLS (ss: tcp-ulp-tls), before or after the storm.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/nfsd.sh
. tests/lib/tlshd.sh
N=${RPCTLS_STORM_N:-100}
NC=${RPCTLS_STORM_NCONNECT:-2}
A=$((N / NC))
NET=198.51.100
work=$(mktemp -d /tmp/storm.XXXXXX)
PIDS=()

cleanup() {
	local p
	touch "$work/stop"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in $(awk '$2 ~ "^/mnt/storm/" { print $2 }' /proc/mounts); do umount -f "$p" 2>/dev/null; done
	tlshd_stop_all
	nfsd_stop
}
trap cleanup EXIT
fail() { echo "storm bench: $*" >&2; exit 1; }
[ "$NC" -ge 1 ] && [ "$NC" -le 16 ] && [ $((A * NC)) = "$N" ] && [ "$A" -ge 1 ] && [ "$A" -le 64 ] ||
	fail "RPCTLS_STORM_N ($N) must be RPCTLS_STORM_NCONNECT ($NC, 1..16) times 1..64 addresses"

netns_setup || fail "test hosts"
for i in $(seq "$A"); do
	in_ns server ip addr add "$NET.$i/24" dev veth-s || fail "server address $NET.$i"
done
in_ns client ip addr add "$NET.254/24" dev veth-c || fail "client address $NET.254"
until_ping() { in_ns client ping -c1 -W1 -q "$NET.$A" >/dev/null 2>&1; }
for _ in $(seq 50); do until_ping && break; sleep 0.1; done
until_ping || fail "no route to $NET.$A"
nfsd_start >/dev/null || fail "nfsd"
tlshd_pki "$work/pki" || fail "certificates"
# a server certificate for every address (tlshd takes no wildcard names)
{
	echo 'cn = "server.test"'
	echo 'serial = 201'
	for i in $(seq "$A"); do echo "ip_address = \"$NET.$i\""; done
	echo 'tls_www_server'
	echo 'signing_key'
	echo 'expiration_days = 2'
} >"$work/storm.tmpl"
certtool --generate-certificate --load-privkey "$TLSHD_DIR/server.key" \
	--load-ca-certificate "$TLSHD_DIR/ca.pem" --load-ca-privkey "$TLSHD_DIR/ca.key" \
	--template "$work/storm.tmpl" --outfile "$TLSHD_DIR/storm.pem" >"$work/certtool.log" 2>&1 ||
	fail "certtool: $(tail -2 "$work/certtool.log")"
tlshd_conf "$TLSHD_DIR/storm-server.conf" authenticate.server "x509.truststore=$TLSHD_DIR/ca.pem" \
	"x509.certificate=$TLSHD_DIR/storm.pem" "x509.private_key=$TLSHD_DIR/server.key"
tlshd_start server "$TLSHD_DIR/storm-server.conf" || fail "tlshd server"
tlshd_start client "$TLSHD_DIR/client.conf" || fail "tlshd client"
SLOG=$TLSHD_DIR/tlshd-server.log

median() { sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : 0 }'; }
# conns: "established kTLS" connections from the client to the N addresses
conns() {
	local all tls
	all=$(in_ns client ss -Htn state established dst "$NET.0/24" dport = :2049 | wc -l)
	tls=$(in_ns client ss -Htni state established dst "$NET.0/24" dport = :2049 | grep -c "tcp-ulp-tls")
	echo "$all $tls"
}

# round SEC: sets REC_MAX REC_MED (ms), HS HS_RATE (x100) HS_MED (ms),
# MOUNT_S, CONNS_BEFORE, CONNS_AFTER
round() {
	local sec=$1 i dirs=() t0 h0 n ok stop_t start_t pid why=
	rm -f "$work/stop"
	t0=$(date +%s)
	for i in $(seq "$A"); do
		mkdir -p "/mnt/storm/$i"
		in_ns client mount -t nfs -o "vers=3,proto=tcp,mountproto=tcp,nolock,hard,nconnect=$NC,xprtsec=$sec" \
			"$NET.$i:$NFSD_EXPORT" "/mnt/storm/$i" 2>"$work/mount.err" ||
			fail "$sec: mount $NET.$i: $(cat "$work/mount.err")"
		dirs+=("/mnt/storm/$i")
	done
	MOUNT_S=$(( $(date +%s) - t0 ))
	[ "$(grep -c " /mnt/storm/[0-9]* nfs " /proc/mounts)" = "$A" ] || fail "$sec: not $A NFS mounts"
	: >"$work/$sec.log"
	python3 tests/lib/storm_probe.py --log "$work/$sec.log" --stop "$work/stop" --tag "$sec" \
		--server-dir "$NFSD_EXPORT" "${dirs[@]}" >"$work/$sec.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	# every mount writing before the storm
	ok=
	for _ in $(seq 600); do
		[ "$(awk '!/^error/ { s[$2] = 1 } END { print length(s) }' "$work/$sec.log")" = "$A" ] && { ok=1; break; }
		sleep 0.1
	done
	[ -n "$ok" ] || fail "$sec: not every probe wrote before the storm: $(tail -n3 "$work/$sec.out")"
	# every connection of every mount in use before the storm
	for _ in $(seq 60); do [ "$(conns)" = "$N $([ "$sec" = tls ] && echo "$N" || echo 0)" ] && break; sleep 0.5; done
	CONNS_BEFORE=$(conns)
	h0=$(wc -l <"$SLOG")
	in_ns server rpc.nfsd 0 || fail "rpc.nfsd 0"
	stop_t=$(date +%s.%N)
	sleep 2
	start_t=$(date +%s.%N)
	in_ns server rpc.nfsd --no-udp 8 || fail "rpc.nfsd 8"
	# until every mount completed a write after the restart, and every
	# connection is back (kTLS in the TLS round)
	ok='' CONN_MS=''
	want="$N $([ "$sec" = tls ] && echo "$N" || echo 0)"
	for _ in $(seq 1200); do
		[ -n "$CONN_MS" ] || [ "$(conns)" != "$want" ] ||
			CONN_MS=$(awk -v a="$start_t" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }')
		n=$(awk -v t="$start_t" '!/^error/ && $1 > t { s[$2] = 1 } END { print length(s) }' "$work/$sec.log")
		[ "$n" = "$A" ] && [ -n "$CONN_MS" ] && { ok=1; break; }
		sleep 0.5
	done
	[ -n "$ok" ] || why="$n of $A mounts wrote again and connections were '$(conns)' (want '$want') after 600 s"
	# settle: a reconnect that raced the last write, then the connections
	sleep 3
	CONNS_AFTER=$(conns)
	touch "$work/stop"
	wait "$pid"
	sed -n '/^wrong /p; /^probe /p' "$work/$sec.out" | sed "s/^/#   $sec: /"
	grep -q "^probe .* errors=0 .*wrong=0" "$work/$sec.out" ||
		why="${why:+$why; }probes: $(tail -n1 "$work/$sec.out")"
	awk -v t="$start_t" '!/^error/ && $1 > t && !($2 in s) { s[$2] = ($1 - t) * 1000 }
		END { for (k in s) printf "%d\n", s[k] }' "$work/$sec.log" >"$work/$sec.rec"
	REC_MAX=$(sort -n "$work/$sec.rec" | tail -n1)
	REC_MED=$(median <"$work/$sec.rec")
	DOWN_MS=$(awk -v a="$stop_t" -v b="$start_t" 'BEGIN { printf "%d", (b - a) * 1000 }')
	tail -n +$((h0 + 1)) "$SLOG" | grep "result=ok" >"$work/$sec.hs"
	HS=$(wc -l <"$work/$sec.hs")
	STORM_MS=$(( REC_MAX > CONN_MS ? REC_MAX : CONN_MS ))
	HS_RATE=$(( STORM_MS > 0 ? HS * 100000 / STORM_MS : 0 ))
	HS_MED=$(grep -o 'duration_ms=[0-9]*' "$work/$sec.hs" | cut -d= -f2 | median)
	for i in $(seq "$A"); do umount "/mnt/storm/$i" || umount -f "/mnt/storm/$i"; done
	rm -f "$NFSD_EXPORT"/probe-"$sec"-*
	[ -z "$why" ] || fail "$sec: $why"
}

fmt() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }
ratio() { [ "$2" -gt 0 ] && fmt $(( $1 * 100 / $2 )) || echo -; }

round tls
read -r TA TT <<<"$CONNS_BEFORE"
read -r TA2 TT2 <<<"$CONNS_AFTER"
T_CONN=$CONN_MS T_MAX=$REC_MAX T_MED=$REC_MED T_HS=$HS T_RATE=$HS_RATE T_HSMED=$HS_MED T_MOUNT=$MOUNT_S T_DOWN=$DOWN_MS
[ "$TA" = "$N" ] && [ "$TT" = "$N" ] || fail "tls: before the storm $TA connections, $TT kTLS; want $N"
[ "$TA2" = "$N" ] && [ "$TT2" = "$N" ] || fail "tls: after the storm $TA2 connections, $TT2 kTLS; want $N"

round none
read -r PA PT <<<"$CONNS_BEFORE"
read -r PA2 PT2 <<<"$CONNS_AFTER"
[ "$PA" = "$N" ] && [ "$PA2" = "$N" ] || fail "plain: $PA connections before the storm, $PA2 after; want $N"
[ "$PT" = 0 ] && [ "$PT2" = 0 ] || fail "plain: kTLS on an xprtsec=none connection ($PT before, $PT2 after)"

echo "Reconnect storm: nfsd restarted (rpc.nfsd 0; 2 s; rpc.nfsd 8) under $N connections: $A NFSv3 mounts" \
	"with nconnect=$NC, each to its own server address, an O_DIRECT 4 KiB write every 0.2 s on each; $(nproc) vCPUs"
echo "connections: tls $TA before / $TA2 after, kTLS $TT / $TT2; plain $PA / $PA2, kTLS $PT / $PT2"
printf '%-44s %10s %10s %10s\n' "" tls plain tls/plain
printf '%-44s %10s %10s %10s\n' "restart to every mount's I/O again, ms" "$T_MAX" "$REC_MAX" "$(ratio "$T_MAX" "$REC_MAX")"
printf '%-44s %10s %10s %10s\n' "restart to I/O again, median mount, ms" "$T_MED" "$REC_MED" "$(ratio "$T_MED" "$REC_MED")"
printf '%-44s %10s %10s %10s\n' "restart to all $N connections back, ms" "$T_CONN" "$CONN_MS" "$(ratio "$T_CONN" "$CONN_MS")"
printf '%-44s %10s %10s\n' "server agent handshakes after the restart" "$T_HS" "$HS"
printf '%-44s %10s\n' "  per second (over the later of the two above)" "$(fmt "$T_RATE")"
printf '%-44s %10s\n' "  median handshake duration_ms" "$T_HSMED"
printf '%-44s %10s %10s\n' "nfsd down (rpc.nfsd 0 returned to restart), ms" "$T_DOWN" "$DOWN_MS"
printf '%-44s %10s %10s\n' "$A mounts made in, s" "$T_MOUNT" "$MOUNT_S"
