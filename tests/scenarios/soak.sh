#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The soak (issue 16): NFS over TLS for RPCTLS_SOAK_MIN minutes (default
# 10) under a mixed workload, with chaos RPCTLS_SOAK_CHAOS_S seconds
# (default 30) after the end of the last one (an agent restart or a rekey
# window takes a few seconds itself: 16 events in 10 minutes under TCG).  make soak runs it (tests/suites-soak); not in make check.
#
# Three clients in the client host, all xprtsec=tls, hard: NFSv3
# (proto=tcp, nolock: its locks stay local, lockd's NLM is not RPC-with-
# TLS), NFSv4.1 with nconnect=4, NFSv4.2.  tlshd in both hosts, nfsd with
# nfsdcld.  On each mount tests/faults/soak-load.py writes files of known
# checksum (O_DIRECT, fsync), reads them back (O_DIRECT), renames, locks
# (POSIX, F_SETLKW) and deletes, counting every error and mismatch.
#
# Chaos, in turn: the client's agent restarted, a connection kill on the
# client side (ss -K), a forced rekey, the server's agent restarted, a
# kill on the server side, a forced rekey.  A forced rekey sets the key
# use limits to their minimum (sunrpc.tls_key_max_records 16,
# tls_key_max_bytes 1 MiB) for RPCTLS_SOAK_REKEY_S seconds (default 8),
# then back to the defaults: the bytes minimum alone is more than the
# paced workload moves per connection in a few seconds, the records one
# makes every busy connection rekey.
#
# Pass: no error and no mismatch in any workload; every forced rekey
# traced (sunrpc:rpc_tls_rekey); tlshd's RSS flat after warm-up (below);
# the counters balanced at the end: nothing in flight or queued in either
# host's /proc/net/tlsh, the kernel's succeeded equal to the handshakes
# the agent logged as ok, nfsd's upcalls equal to its sessions + failed +
# timedout + aborted + noagent, and the server host's upcall requests
# equal to nfsd's upcalls less noagent; no WARN/BUG/lockdep in dmesg;
# every connection kTLS at the end (secured_again); the marker never in
# clear in a capture of the whole soak.
#
# RSS: VmRSS of each agent every RPCTLS_SOAK_RSS_S seconds (default 5).
# Agent restarts are part of the chaos, so each agent process is judged
# over its own life: its warm value is its first sample RSS_WARM_S (20)
# seconds after its first handshake (a fresh agent grows by about 1.8 MiB
# with its first handshakes: GnuTLS's set-up, the workers' stacks and
# arenas);
# it fails when the minimum of its last third of samples is more than
# RSS_MARGIN_KIB (1024) above that.  Why 1 MiB: after warm-up the agent's
# RSS moves only with malloc's arenas and page granularity: a forced
# rekey reconnects every connection at once, more workers are busy at the
# peak and their arenas keep what they grew (about 200-400 KiB seen in
# short runs), while the GnuTLS session and certificate buffers of each
# handshake are freed and reused.  A leak per handshake grows with the
# handshakes of a life (70-130 in a 3-minute life here), and the output
# prints the smallest per-handshake leak the margin would catch (about
# 8-15 KiB; a GnuTLS session alone is larger).  Lives with fewer than
# 6 samples after warm-up are printed, not judged.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh
. tests/faults/lib.sh

MIN=${RPCTLS_SOAK_MIN:-10}
CHAOS_S=${RPCTLS_SOAK_CHAOS_S:-30}
REKEY_S=${RPCTLS_SOAK_REKEY_S:-8}
RSS_S=${RPCTLS_SOAK_RSS_S:-5}
RSS_WARM_S=20
RSS_MARGIN_KIB=1024
work=$(mktemp -d /tmp/soak.XXXXXX)
T=/sys/kernel/tracing
S=/sys/module/sunrpc/parameters
SRV="server.test:$NFSD_EXPORT"
CLIENTS=(v3 v41 v42)
# shellcheck disable=SC2054 # commas inside mount options
declare -A OPTS=(
	[v3]=vers=3,proto=tcp,mountproto=tcp,nolock,xprtsec=tls,hard
	[v41]=vers=4.1,nconnect=4,xprtsec=tls,hard
	[v42]=vers=4.2,xprtsec=tls,hard
)
declare -A LOAD_PID SUMMARY CHAOS

limits_default() {
	echo 8388608 >$S/tls_key_max_records
	echo 137438953472 >$S/tls_key_max_bytes
}

cleanup() {
	local p
	touch "$work/stop"
	limits_default 2>/dev/null
	for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	for p in $(awk '$2 ~ "^/mnt/soak-" { print $2 }' /proc/mounts); do umount -f "$p" 2>/dev/null; done
	tlshd_stop_all
	nfsd_stop
	cld_stop
}
trap cleanup EXIT

fatal() { tap_fail "$*"; exit 1; }

# agent_up SIDE: (re)start SIDE's agent, note the pid for the RSS samples
agent_up() {
	tlshd_start "$1" "$TLSHD_DIR/$1.conf" || return 1
	echo "$(now) ${TLSHD_PID[$1]}" >>"$work/pids-$1"
}

# rss_sample: a line "TIME SIDE PID KIB HANDSHAKES" per live agent (its
# pid as agent_up last noted it)
rss_sample() {
	local side pid kib
	for side in client server; do
		pid=$(tail -n1 "$work/pids-$side" 2>/dev/null | cut -d' ' -f2)
		[ -n "$pid" ] || continue
		kib=$(awk '$1 == "VmRSS:" { print $2 }' /proc/"$pid"/status 2>/dev/null)
		[ -z "$kib" ] || echo "$(now) $side $pid $kib $(handshakes_ok $side)" >>"$work/rss"
	done
}

# The whole soak is captured on the server's veth in files of 16 MB,
# each scanned (tests/faults/pcap-scan.py, constant memory) and deleted
# once tcpdump has moved on to the next: pcap-summary.py, which
# reassembles the streams in memory, needs about 45 times a capture's
# size and the soak's is hundreds of MiB.
soakcap_start() {
	mkdir -p "$work/cap"
	: >"$work/scan.out"
	nsenter --net=/run/netns/server tcpdump -i veth-s -U -s 0 -C 16 -Z root -w "$work/cap/soak.pcap" \
		tcp port 2049 or tcp port 20049 >"$work/tcpdump.log" 2>&1 &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	until_true 5 grep -q "listening on" "$work/tcpdump.log"
}
# soakcap_scan [all]: scan and delete the finished files (all: every file)
soakcap_scan() {
	local files
	# shellcheck disable=SC2207 # the guest has no /dev/fd for <(...)
	files=($(ls "$work/cap" | sort -V))
	[ "${1:-}" = all ] || files=("${files[@]:0:${#files[@]}-1}")
	[ ${#files[@]} -gt 0 ] || return 0
	(cd "$work/cap" && python3 "$OLDPWD/tests/faults/pcap-scan.py" --marker "$FAULTS_MARKER" "${files[@]}") \
		>>"$work/scan.out" 2>&1 || echo "scan-failed" >>"$work/scan.out"
	(cd "$work/cap" && rm -f "${files[@]}")
}
scan_total() {
	awk -v k="$1" '/^scan:/ { for (i = 2; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }' "$work/scan.out"
}
# the scanner's positive control: one segment in clear to port 20049 with
# an NFS WRITE call header and the marker; it must count exactly one each
cap_control() {
	in_ns server python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 20049)); s.listen(1); c, _ = s.accept()
while c.recv(65536): pass' "$SERVER_IP4" &
	local lp=$!
	sleep 0.5
	in_ns client python3 -c 'import socket, struct, sys
body = struct.pack("!6I", 1, 0, 2, 100003, 4, 1) + sys.argv[2].encode()
c = socket.create_connection((sys.argv[1], 20049))
c.sendall(struct.pack("!I", 0x80000000 | len(body)) + body); c.close()' "$SERVER_IP4" "$FAULTS_MARKER"
	wait $lp
}

tlsh_field() { in_ns "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/tlsh; }
nfsd_field() { awk -v n="$1" '$1 == n { print $2 }' /proc/fs/nfsd/tls; }
handshakes_ok() { grep -c "result=ok" "$TLSHD_DIR/tlshd-$1.log"; }
rekeys() { grep -c "rpc_tls_rekey:.*reason=${1:-}" $T/trace; }

# --- set-up ---------------------------------------------------------------
netns_setup || fatal "test hosts"
NFSD_PRE_START=cld_start nfsd_start || fatal "nfsd start: $(tail -3 "$work/nfsdcld.log")"
tlshd_pki "$work/pki" || fatal "test certificates"
modprobe tlsh || fatal "modprobe tlsh"
agent_up server || fatal "tlshd in the server"
agent_up client || fatal "tlshd in the client"
echo 8192 >$T/buffer_size_kb
echo 1 >$T/events/sunrpc/rpc_tls_rekey/enable || fatal "tracepoint sunrpc:rpc_tls_rekey"
echo >$T/trace
limits_default
dmesg_mark=soak-start-$$
echo "$dmesg_mark" >/dev/kmsg

for c in "${CLIENTS[@]}"; do
	t=nfs4; [ "$c" = v3 ] && t=nfs
	mkdir -p /mnt/soak-$c
	in_ns client mount -t $t -o "${OPTS[$c]}" "$SRV" /mnt/soak-$c ||
		fatal "mount $c (${OPTS[$c]}): $(dmesg | grep 'RPC:' | tail -n1)"
	is_nfs_mount /mnt/soak-$c || fatal "/mnt/soak-$c is not an NFS mount"
done
tap_ok "three TLS mounts: ${OPTS[*]}"
soakcap_start || fatal "capture: $(cat "$work/tcpdump.log")"
cap_control || fatal "the capture's positive control (a clear segment to port 20049)"

for c in "${CLIENTS[@]}"; do
	python3 tests/faults/soak-load.py --dir /mnt/soak-$c/load-$c --stop "$work/stop" \
		--seed "$c" --marker "$FAULTS_MARKER" --progress "$work/$c.prog" >"$work/$c.out" 2>&1 &
	LOAD_PID[$c]=$!
	PIDS+=("$!")
done

# --- the soak --------------------------------------------------------------
KINDS=(agent-client kill-client rekey agent-server kill-server rekey)
for k in agent-client agent-server kill-client kill-server rekey; do CHAOS[$k]=0; done
REKEY_FAILED=
chaos() {
	local kind=$1 r0
	CHAOS[$kind]=$((CHAOS[$kind] + 1))
	echo "# $(date +%T) chaos $kind (handshakes ok so far: client $(handshakes_ok client), server $(handshakes_ok server))" >>"$work/chaos"
	case $kind in
	agent-*)
		tlshd_stop "${kind#agent-}"
		agent_up "${kind#agent-}" || echo "# $(date +%T) $kind: agent did not come back" >>"$work/chaos" ;;
	kill-client) echo "#   killed $(in_ns client ss -HK state established dst "$SERVER_IP4:2049" | wc -l) connections" >>"$work/chaos" ;;
	kill-server) echo "#   killed $(in_ns server ss -HK state established sport = :2049 | wc -l) connections" >>"$work/chaos" ;;
	rekey)
		r0=$(rekeys)
		echo 16 >$S/tls_key_max_records
		echo 1048576 >$S/tls_key_max_bytes
		REKEY_END=$((SECONDS + REKEY_S))
		REKEY_R0=$r0 ;;
	esac
}

t_start
end=$((SECONDS + MIN * 60))
next_chaos=$((SECONDS + CHAOS_S))
next_rss=$SECONDS
# RSS samples in a loop of their own: a chaos event takes seconds here and
# more than a minute on the debug kernel, where samples taken between
# events left no agent life long enough to judge
(while :; do rss_sample; sleep "$RSS_S"; done) &
RSS_PID=$!
PIDS+=("$RSS_PID")
REKEY_END=
i=0
while [ $SECONDS -lt $end ]; do
	if [ -n "$REKEY_END" ] && [ $SECONDS -ge "$REKEY_END" ]; then
		limits_default
		n=$(( $(rekeys) - REKEY_R0 ))
		echo "# $(date +%T) rekey window closed: $n rekeys traced" >>"$work/chaos"
		[ "$n" -ge 1 ] || REKEY_FAILED="${REKEY_FAILED:+$REKEY_FAILED, }window ${CHAOS[rekey]}"
		REKEY_END=
	fi
	if [ $SECONDS -ge $next_chaos ] && [ -z "$REKEY_END" ]; then
		chaos "${KINDS[i % ${#KINDS[@]}]}"
		i=$((i + 1))
		next_chaos=$((SECONDS + CHAOS_S))
	fi
	if [ $SECONDS -ge $next_rss ]; then
		soakcap_scan
		next_rss=$((next_rss + RSS_S))
	fi
	for c in "${CLIENTS[@]}"; do
		kill -0 "${LOAD_PID[$c]}" 2>/dev/null || fatal "workload $c ended early: $(tail -n2 "$work/$c.out")"
	done
	sleep 1
done
[ -z "$REKEY_END" ] || limits_default
kill "$RSS_PID" 2>/dev/null
wait "$RSS_PID" 2>/dev/null
rss_sample
SOAK_MS=$(t_ms)

# --- the end ---------------------------------------------------------------
touch "$work/stop"
why=
for c in "${CLIENTS[@]}"; do
	if ! until_true 300 bash -c "! kill -0 ${LOAD_PID[$c]} 2>/dev/null"; then
		why="${why:+$why; }$c: hung after the stop ($(tail -n1 "$work/$c.prog"))"
		continue
	fi
	SUMMARY[$c]=$(grep '^summary ' "$work/$c.out" | tail -n1)
	[ -n "${SUMMARY[$c]}" ] || why="${why:+$why; }$c: no summary: $(tail -n2 "$work/$c.out")"
done
sed 's/^/# /' "$work/chaos"
for c in "${CLIENTS[@]}"; do
	echo "# $c: ${SUMMARY[$c]:-none}"
	grep -E '^(error|mismatch) ' "$work/$c.out" | head -5 | sed "s/^/#   $c: /"
done
bad=
for c in "${CLIENTS[@]}"; do
	f() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"${SUMMARY[$c]}"; }
	[ -n "${SUMMARY[$c]}" ] && [ "$(f errors)" = 0 ] || bad="${bad:+$bad; }$c: errors $(f errors) ($(f errnos))"
done
[ -z "$bad$why" ] && tap_ok "no error seen by the workloads on the hard mounts in $MIN min" ||
	tap_fail "errors seen by the workloads: ${why:+$why; }$bad"
bad=
for c in "${CLIENTS[@]}"; do
	m=$(sed -n 's/.* mismatches=\([0-9]*\).*/\1/p' <<<"${SUMMARY[$c]}")
	[ "${m:-x}" = 0 ] || bad="${bad:+$bad; }$c: ${m:-?} mismatches"
	o=$(sed -n 's/^summary ops=\([0-9]*\).*/\1/p' <<<"${SUMMARY[$c]}")
	[ "${o:-0}" -gt 0 ] || bad="${bad:+$bad; }$c: no operation done"
done
[ -z "$bad" ] && tap_ok "zero checksum mismatches (every file read back as written)" ||
	tap_fail "checksums: $bad"

n=$(( CHAOS[agent-client] + CHAOS[agent-server] + CHAOS[kill-client] + CHAOS[kill-server] + CHAOS[rekey] ))
[ "${CHAOS[rekey]}" -ge 1 ] && [ "${CHAOS[kill-server]}" -ge 1 ] && [ -z "$REKEY_FAILED" ] &&
	tap_ok "chaos: $n events, every forced rekey traced ($(rekeys) rekeys)" ||
	tap_fail "chaos: $n events (the soak is too short for each kind?), rekey windows without a traced rekey: ${REKEY_FAILED:-none}"

out=$(secured_again 2049) && tap_ok "every connection kTLS at the end ($(in_ns client ss -Htn state established dst "$SERVER_IP4:2049" | wc -l) connections)" ||
	tap_fail "not every connection kTLS at the end: $out"
sleep 0.5
kill "$CAP_PID"
wait "$CAP_PID" 2>/dev/null
soakcap_scan all
grep -v '^scan:' "$work/scan.out" | head -3 | sed 's/^/# pcap-scan: /'
m=$(( $(scan_total marker_in_clear) - 1 ))
cl=$(( $(scan_total clear_calls_not_null) - 1 ))
echo "# capture: $(scan_total files) files, $(scan_total packets) packets, $(( $(scan_total payload_bytes) >> 20 )) MiB of TCP payload;" \
	"in clear (the control's one each not counted): marker $m, RPC calls other than NULL $cl"
if grep -q scan-failed "$work/scan.out" || [ "$(grep -c '^scan:' "$work/scan.out")" = 0 ]; then
	tap_fail "the capture could not be scanned: $(grep -v '^scan:' "$work/scan.out" | head -1)"
elif [ "$m" = -1 ] || [ "$cl" = -1 ]; then
	tap_fail "the scanner missed its positive control (marker $((m + 1)), calls $((cl + 1)))"
elif [ "$m" = 0 ] && [ "$cl" = 0 ] && [ "$(scan_total payload_bytes)" -gt $((1 << 20)) ]; then
	tap_ok "no marker and no RPC call in clear over the whole soak (control seen)"
else
	tap_fail "cleartext on the wire: marker $m, calls $cl, payload $(scan_total payload_bytes) bytes"
fi

# counters: every upcall request completed, the layers agree
balanced() {
	local ns
	for ns in client server; do
		[ "$(tlsh_field $ns in_flight)" = 0 ] && [ "$(tlsh_field $ns queued)" = 0 ] || return 1
	done
}
until_true 60 balanced
bad=
for ns in client server; do
	echo "# /proc/net/tlsh ($ns): $(in_ns $ns awk '$2 != 0 { printf "%s=%s ", $1, $2 }' /proc/net/tlsh)"
	[ "$(tlsh_field $ns in_flight)" = 0 ] || bad="${bad:+$bad; }$ns: in_flight $(tlsh_field $ns in_flight)"
	[ "$(tlsh_field $ns queued)" = 0 ] || bad="${bad:+$bad; }$ns: queued $(tlsh_field $ns queued)"
	[ "$(tlsh_field $ns succeeded)" = "$(handshakes_ok $ns)" ] ||
		bad="${bad:+$bad; }$ns: kernel succeeded $(tlsh_field $ns succeeded), agent logged $(handshakes_ok $ns) ok"
	[ $(( $(tlsh_field $ns accepted) - $(tlsh_field $ns requeued) )) -le "$(tlsh_field $ns requests)" ] ||
		bad="${bad:+$bad; }$ns: more accepts than requests"
done
echo "# /proc/fs/nfsd/tls: $(awk 'NF == 2 && $1 !~ /^#/ { printf "%s=%s ", $1, $2 }' /proc/fs/nfsd/tls)"
up=$(nfsd_field upcalls)
ends=$(( $(nfsd_field sessions) + $(nfsd_field failed) + $(nfsd_field timedout) + $(nfsd_field aborted) + $(nfsd_field noagent) ))
[ "$up" = "$ends" ] || bad="${bad:+$bad; }nfsd: upcalls $up, sessions+failed+timedout+aborted+noagent $ends"
[ "$(tlsh_field server requests)" = $(( up - $(nfsd_field noagent) )) ] ||
	bad="${bad:+$bad; }server: tlsh requests $(tlsh_field server requests), nfsd upcalls less noagent $(( up - $(nfsd_field noagent) ))"
[ -z "$bad" ] && tap_ok "counters balanced: nothing in flight or queued, kernel and agents agree" ||
	tap_fail "counters: $bad"

# RSS: per agent process (see the top of this file)
# a life is judged from its first sample RSS_WARM_S seconds after the
# sample that first saw a handshake of that life; the per-handshake leak
# the margin would catch is the margin over the handshakes after warm-up
rss_judge() {
	awk -v warm="$RSS_WARM_S" -v margin="$RSS_MARGIN_KIB" '
	{ key = $2 " " $3; if (!(key in first)) { first[key] = $1; hs0[key] = $5; order[++n] = key }
	  c = ++cnt[key]; t[key, c] = $1; kib[key, c] = $4; hs[key, c] = $5 }
	END {
		bad = 0; judged = 0
		for (o = 1; o <= n; o++) {
			key = order[o]; split(key, k, " "); c = cnt[key]
			w = 0; h1 = 0
			for (j = 1; j <= c; j++) {
				if (!h1 && hs[key, j] > hs0[key]) h1 = j
				if (h1 && t[key, j] - t[key, h1] >= warm) { w = j; break }
			}
			line = sprintf("rss %s pid %s: start %d KiB", k[1], k[2], kib[key, 1])
			if (!w || c - w + 1 < 6) {
				printf "%s, end %d KiB, %d samples, %d handshakes: too short a warm life to judge\n",
					line, kib[key, c], c, hs[key, c] - hs0[key]
				continue
			}
			wv = kib[key, w]
			from = w + int((c - w + 1) * 2 / 3)
			mn = -1
			for (j = from; j <= c; j++)
				if (mn < 0 || kib[key, j] < mn) mn = kib[key, j]
			h = hs[key, c] - hs[key, w]
			printf "%s, warm %d KiB (at %ds), last third min %d KiB, end %d KiB, life %ds, %d handshakes after warm-up (a leak above %d KiB each would show): %s\n",
				line, wv, t[key, w] - first[key], mn, kib[key, c], t[key, c] - first[key],
				h, h ? margin / h : margin, (mn - wv > margin) ? "GROWS" : "flat"
			if (mn - wv > margin) bad++
			judged++
		}
		if (!judged) {
			printf "NO LIFE JUDGED: no agent life had 6 samples from %d s after its first handshake on\n", warm
			exit 1
		}
		exit bad > 0
	}' "$work/rss"
}
rss_out=$(rss_judge) && rss_ok=1 || rss_ok=
sed 's/^/# /' <<<"$rss_out"
t0=$(head -n1 "$work/rss" | cut -d' ' -f1)
for side in client server; do
	echo "# rss series $side agent (seconds since the start:KiB, a new pid after each restart):"
	awk -v s="$side" -v t0="$t0" '$2 == s { if ($3 != p) printf "pid%s ", $3; p = $3
		printf "%d:%d ", $1 - t0, $4 }' "$work/rss" | xargs -n 12 | sed 's/^/#   /'
done
[ -n "$rss_ok" ] && tap_ok "tlshd RSS flat after warm-up in every agent life (margin $RSS_MARGIN_KIB KiB)" ||
	tap_fail "tlshd RSS: $(grep -E 'GROWS|NO LIFE' <<<"$rss_out" | head -2 | tr '\n' ' ')"

dmesg | sed -n "/$dmesg_mark/,\$p" | grep -E "WARNING|BUG|lockdep|hung task|Call Trace|kmemleak" | head -5 | sed 's/^/# kernel: /'
dmesg | sed -n "/$dmesg_mark/,\$p" | grep -qE "WARNING:|BUG:|possible circular|hung_task|unreferenced object" &&
	tap_fail "kernel warnings in the log" || tap_ok "no kernel WARN, BUG or lockdep report"

# --- figures ---------------------------------------------------------------
f() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${SUMMARY[$1]}"; }
echo "# soak figures: $((SOAK_MS / 1000)) s, chaos every $CHAOS_S s"
echo "# | client | options | ops | writes | reads | renames | locks | deletes | MiB written | MiB read | errors | mismatches | longest op (ms) |"
echo "# |---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in "${CLIENTS[@]}"; do
	echo "# | $c | ${OPTS[$c]} | $(sed -n 's/^summary ops=\([0-9]*\).*/\1/p' <<<"${SUMMARY[$c]}") | $(f "$c" writes) | $(f "$c" reads) |" \
		"$(f "$c" renames) | $(f "$c" locks) | $(f "$c" deletes) | $(( $(f "$c" bytes_written) >> 20 )) |" \
		"$(( $(f "$c" bytes_read) >> 20 )) | $(f "$c" errors) | $(f "$c" mismatches) | $(f "$c" max_op_ms) |"
done
echo "# chaos: client agent restarts ${CHAOS[agent-client]}, server agent restarts ${CHAOS[agent-server]}," \
	"kills client side ${CHAOS[kill-client]}, kills server side ${CHAOS[kill-server]}, forced rekeys ${CHAOS[rekey]}"
echo "# rekeys traced: $(rekeys) (records $(rekeys records), bytes $(rekeys bytes)); handshakes ok: client" \
	"$(handshakes_ok client), server $(handshakes_ok server); failed: client $(tlsh_field client failed), server $(tlsh_field server failed)"
for side in client server; do
	awk -v s="$side" '$2 == s { if (!n++) st = $4; e = $4 } END { printf "%d %d", st, e }' "$work/rss" | {
		read -r st e
		awk -v s="$side" '$2 == s && / warm [0-9]/ { for (i = 1; i <= NF; i++) {
				if ($i == "warm") v = $(i + 1)
				if ($i == "min") g = $(i + 1) - v }
				if (!lives++) w = v
				if (g > mg) mg = g }
			END { printf "%d %d %d", w, mg, lives }' <<<"$rss_out" | {
			read -r w mg lives
			echo "# rss $side agent (KiB): start $st, warm $w (its first judged life), end $e;" \
				"largest growth after warm-up in a life $mg KiB ($lives lives judged)"
		}
	}
done
for c in "${CLIENTS[@]}"; do umount /mnt/soak-$c; done
tap_done
