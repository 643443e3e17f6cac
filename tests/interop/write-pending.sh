#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Does a stock Debian 13 NFS client hang the way ours did before patch 0017?
# (host-side, on the tests/pair harness, like tests/interop/run.sh)
#
# Fault case 4d (tests/scenarios/faults.sh, rst-full) with the stock peer as
# the client of our server: the peer's tcp_wmem capped at "4096 16384 65536",
# a hard vers=4.2,xprtsec=tls mount of rpctls.test:/srv/tls (ktls-utils'
# tlshd), an O_DIRECT dd of RPCTLS_WP_MB MiB (48) to it; once the copy runs,
# a blackhole route to the peer in our server's netns (the server's ACKs go
# nowhere), until the peer's TLS transport waits for write space (bit 0x800
# of its state in SunRPC's debugfs, which Debian's and our kernels have);
# then `ss -K` of the peer's connection on the peer,
# the peer's tcp_wmem restored, the blackhole dropped.  For up to
# RPCTLS_WP_OBSERVE_S seconds (120) after that it watches the copy: a
# sampler in the client VM records every 10 s of its own clock the
# transports' states, the stacks of tasks in tls_sk_proto_close or
# wait_on_pending_writer, the new handshakes in the client's tlshd log,
# the bytes copied.  Verdict (last line of the stock
# part), exit status:
#   stock 6.12 client: recovered in N ms                          0
#   stock 6.12 client: HANG reproduced (xprtiod in wait_on_pending_writer,
#     xprt state 0x...)                                          1
#   precondition not met: ...                                    2
# Then (RPCTLS_WP_REVERSE=1, the default) the same steps with our VM's
# client (patch 0017) against the stock server: it must recover; if it does
# not, the exit status is 1 whatever the stock client did.
#
# Logs: RPCTLS_WP_LOGDIR (build/test-logs/write-pending): steps.txt,
# samples-*.txt, stacks and dmesg of each client, the pair's consoles.
#
# The same file runs in the VMs (`write-pending.sh vm CMD ...`, with WP_NS
# naming the network namespace to act in, empty for the VM's own).
set -u
cd "$(dirname "$0")/../.." || exit 1

W=/run/wp
WP_NS=${WP_NS:-}
CAP_WMEM="4096 16384 65536"

# --- in a VM ---------------------------------------------------------------------
ns_run() { if [ -n "$WP_NS" ]; then nsenter --net=/run/netns/"$WP_NS" "$@"; else "$@"; fi; }
now_ns() { date +%s%N; }

dd_pid() {
	local w
	w=$(cat $W/dd.wrapper 2>/dev/null) || return 1
	pgrep -P "$w" -x dd
}

# bytes the copy has written (the O_DIRECT file offset of dd's output)
copy_bytes() {
	local p
	if [ -f $W/dd.done ]; then
		read -r rc _ <$W/dd.done
		if [ "$rc" = 0 ]; then echo $(($(cat $W/mb) << 20)); else echo "-1"; fi
		return
	fi
	p=$(dd_pid) && awk '$1 == "pos:" { print $2 }' "/proc/$p/fdinfo/1" 2>/dev/null && return
	echo 0
}

# "NAME:STATE" of each SunRPC transport to SERVER
xprt_states() {
	local f a s
	for f in /sys/kernel/debug/sunrpc/rpc_xprt/*/info; do
		[ -f "$f" ] || continue
		a=$(awk '$1 == "addr:" { print $2 }' "$f" 2>/dev/null)
		[ "$a" = "$1" ] || continue
		s=$(awk '$1 == "state:" { print $2 }' "$f")
		printf '%s:%s ' "$(basename "$(dirname "$f")")" "$s"
	done
}

# the transport waits for write space: bit 11 of a state
nospace() {
	local x s
	for x in $(xprt_states "$1"); do
		s=${x##*:}
		[ -n "$s" ] && (( s & 0x800 )) && return 0
	done
	return 1
}

# tasks whose kernel stack is in kTLS's close: one line each, and the full
# stacks appended to $W/stacks.txt
stuck() {
	local f p s comm st
	# one grep over every stack: a loop of cat per task takes 20 s under TCG
	grep -lE 'tls_sk_proto_close|wait_on_pending_writer' /proc/[0-9]*/stack 2>/dev/null |
	while read -r f; do
		p=${f%/stack}
		s=$(cat "$f" 2>/dev/null) || continue
		comm=$(cat "$p/comm" 2>/dev/null)
		st=$(awk '$1 == "State:" { print $2 }' "$p/status" 2>/dev/null)
		echo "stuck=${p#/proc/} $comm $st $(sed -n 's/^\[<[^>]*>\] \([^+ ]*\).*/\1/p' <<<"$s" | head -n 8 | paste -sd'<')"
		printf '=== %s pid %s %s (%s)\n%s\n' "$(date +%T)" "${p#/proc/}" "$comm" "$st" "$s" >>$W/stacks.txt
	done
}

vm_setup() { # SRC MB
	local src=$1 t0 rc
	mkdir -p $W /mnt/wp
	rm -f $W/dd.* $W/stacks.txt $W/t_*
	echo "$2" >$W/mb
	modprobe -q tls 2>/dev/null
	mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	head -c "$(($2 << 20))" /dev/urandom >$W/src.bin
	sha256sum <$W/src.bin | cut -d' ' -f1 >$W/src.sha
	dmesg | wc -l >$W/klog0
	ns_run sysctl -n net.ipv4.tcp_wmem >$W/wmem
	ns_run sysctl -qw net.ipv4.tcp_wmem="$CAP_WMEM"
	echo "tcp_wmem=$(ns_run sysctl -n net.ipv4.tcp_wmem | tr '\t' ' ') (was $(tr '\t' ' ' <$W/wmem))"
	echo "kernel=$(uname -r)"
	t0=$(now_ns)
	ns_run mount -t nfs -o vers=4.2,xprtsec=tls,hard "$src" /mnt/wp 2>$W/mount.err
	rc=$?
	echo "mount_rc=$rc mount_ms=$((($(now_ns) - t0) / 1000000))"
	if [ $rc != 0 ] || ! grep -q " /mnt/wp nfs" /proc/mounts; then
		ns_run sysctl -qw net.ipv4.tcp_wmem="$(cat $W/wmem)"
		echo "mount failed: $(tr '\n' ' ' <$W/mount.err)"
		return 1
	fi
	grep " /mnt/wp " /proc/mounts
	echo "debugfs=$([ -d /sys/kernel/debug/sunrpc/rpc_xprt ] && echo yes || echo no)"
	rm -f /mnt/wp/wp.bin
}

vm_copy_start() {
	rm -f $W/dd.done $W/dd.log
	# its own session: the agent's time limit for this command must not end it
	# shellcheck disable=SC2016
	setsid bash -c 'echo $$ >/run/wp/dd.wrapper
		dd if=/run/wp/src.bin of=/mnt/wp/wp.bin bs=1M oflag=direct status=none 2>/run/wp/dd.log
		echo "$? $(date +%s%N)" >/run/wp/dd.done.tmp && mv /run/wp/dd.done.tmp /run/wp/dd.done' \
		</dev/null >/dev/null 2>&1 &
	now_ns >$W/t_start
	for _ in $(seq 50); do dd_pid >/dev/null && break; sleep 0.1; done
	echo "dd pid $(dd_pid)"
}

vm_copy_wait() { # BYTES SECS: until the copy has written BYTES
	local end=$((SECONDS + $2)) b
	while [ $SECONDS -lt $end ]; do
		b=$(copy_bytes)
		[ "$b" -ge "$1" ] && { echo "bytes=$b"; [ ! -f $W/dd.done ]; return; }
		[ -f $W/dd.done ] && break
		sleep 0.1
	done
	echo "bytes=$(copy_bytes) done=$(cat $W/dd.done 2>/dev/null) $(cat $W/dd.log 2>/dev/null)"
	return 1
}

vm_wait_nospace() { # SERVER SECS
	local end=$((SECONDS + $2)) t0
	t0=$(now_ns)
	while [ $SECONDS -lt $end ]; do
		nospace "$1" && break
		[ -f $W/dd.done ] && break
		sleep 0.1
	done
	echo "waited_ms=$((($(now_ns) - t0) / 1000000))"
	echo "xprts=$(xprt_states "$1")"
	echo "sock=$(ns_run ss -Htnmi state established dst "$1:2049" | tr -s ' \t\n' ' ')"
	echo "bytes=$(copy_bytes)"
	[ -f $W/dd.done ] && { echo "the copy ended: $(cat $W/dd.done)"; return 1; }
	nospace "$1"
}

vm_rst() { # SERVER HANDSHAKE-LOG PATTERN
	local n
	grep -c -- "$3" "$2" 2>/dev/null >$W/hs0 || echo 0 >$W/hs0
	[ -f $W/dd.done ] && echo "copy_done_before_rst=1"
	echo "send_q=$(ns_run ss -Htn state established dst "$1:2049" | awk '{ print $2 }' | paste -sd,)"
	n=$(ns_run ss -HK state established dst "$1:2049" | wc -l)
	now_ns >$W/t_rst
	ns_run sysctl -qw net.ipv4.tcp_wmem="$(cat $W/wmem)"
	echo "killed=$n"
	echo "xprts=$(xprt_states "$1")"
	[ "$n" -ge 1 ]
}

vm_blackhole() { # add|del IP
	ns_run ip route "$1" blackhole "$2/32" && echo "blackhole $1 $2/32 ($(now_ns))"
}

# one sample's line for the host
summary() { # SAMPLE-FILE
	local f=$1
	printf 't=%sms xprts[%s] stuck[%s] handshakes+%s bytes=%s %s\n' \
		"$(sed -n 's/^t_ms=//p' "$f")" "$(sed -n 's/^xprts=//p' "$f" | sed 's/ $//')" \
		"$(sed -n 's/^stuck=//p' "$f" | cut -d' ' -f1-4 | paste -sd';')" \
		"$(sed -n 's/^new_handshakes=//p' "$f")" "$(sed -n 's/^bytes=//p' "$f")" \
		"$(grep -E '^(dd|done)=' "$f" | head -n 1 | cut -c1-100)"
}

# the observation, in the VM's own clock: t_end now, then a sample every 10 s
# (and one as soon as the copy ends) for SECS seconds; the host reads
# $W/summary.txt as it grows and $W/observe.done at the end
vm_observe() { # SERVER HANDSHAKE-LOG PATTERN SECS
	local i=0 tend next
	tend=$(now_ns)
	echo "$tend" >$W/t_end
	rm -f $W/samples.txt $W/summary.txt $W/observe.done
	while :; do
		{ echo "=== sample $i"; vm_sample "$1" "$2" "$3"; } >$W/sample.cur 2>&1
		cat $W/sample.cur >>$W/samples.txt
		summary $W/sample.cur >>$W/summary.txt
		grep -q '^done=' $W/sample.cur && break
		[ $(($(now_ns) - tend)) -ge $(($4 * 1000000000)) ] && break
		i=$((i + 1))
		next=$((tend + i * 10000000000))
		[ $i -gt $(($4 / 10)) ] && next=$((tend + $4 * 1000000000))
		while [ "$(now_ns)" -lt $next ] && [ ! -f $W/dd.done ]; do sleep 0.2; done
	done
	echo "$i" >$W/observe.done
}

vm_observe_start() { # SERVER HANDSHAKE-LOG PATTERN SECS
	rm -f $W/observe.done $W/summary.txt
	WP_NS=$WP_NS setsid bash tests/interop/write-pending.sh vm observe "$@" \
		</dev/null >$W/observe.log 2>&1 &
	for _ in $(seq 50); do [ -s $W/summary.txt ] && break; sleep 0.1; done
	head -n 1 $W/summary.txt
}

vm_observe_read() { # N: the summary lines after the first N; observe_done at the end
	tail -n +"$(($1 + 1))" $W/summary.txt 2>/dev/null
	[ -f $W/observe.done ] && echo "observe_done=1"
	return 0
}

vm_sample() { # SERVER HANDSHAKE-LOG PATTERN
	local hs p
	hs=$(grep -c -- "$3" "$2" 2>/dev/null)
	echo "t_ms=$((($(now_ns) - $(cat $W/t_end)) / 1000000))"
	echo "xprts=$(xprt_states "$1")"
	stuck
	echo "new_handshakes=$((${hs:-0} - $(cat $W/hs0)))"
	echo "bytes=$(copy_bytes)"
	if [ -f $W/dd.done ]; then
		echo "done=$(cat $W/dd.done)"
	elif p=$(dd_pid); then
		echo "dd=$(awk '$1 == "State:" { print $2 }' "/proc/$p/status") $(sed -n 's/^\[<[^>]*>\] \([^+ ]*\).*/\1/p' "/proc/$p/stack" | head -n 6 | paste -sd'<')"
	fi
	echo "conn=$(ns_run ss -Htn dst "$1:2049" | awk '{ print $1 "/" $3 }' | paste -sd,)"
	echo "rpc_tasks=$(cat /sys/kernel/debug/sunrpc/rpc_clnt/*/tasks 2>/dev/null | wc -l)"
}

# the outcome: rc=, done_ms_after_end=, done_ms_after_rst=, sha_ok=
vm_result() {
	local rc t
	if [ -f $W/dd.done ]; then
		read -r rc t <$W/dd.done
		echo "rc=$rc"
		echo "done_ms_after_end=$(((t - $(cat $W/t_end)) / 1000000))"
		echo "done_ms_after_rst=$(((t - $(cat $W/t_rst)) / 1000000))"
		echo "dd_log=$(tr '\n' ' ' <$W/dd.log)"
	else
		echo "rc=running"
	fi
	echo "src_sha=$(cat $W/src.sha)"
}

vm_evidence() { # SERVER: full stacks, transports, rpc tasks, kernel log
	local f t p
	echo "--- transports"
	for f in /sys/kernel/debug/sunrpc/rpc_xprt/*/info; do
		[ -f "$f" ] && { echo "$f"; sed 's/^/    /' "$f"; }
	done
	echo "--- rpc tasks"
	for f in /sys/kernel/debug/sunrpc/rpc_clnt/*/tasks; do
		# debugfs files have no size: read them
		t=$(cat "$f" 2>/dev/null) && [ -n "$t" ] && { echo "$f"; awk '{ print "    " $0 }' <<<"$t"; }
	done
	echo "--- stacks of tasks in kTLS's close (all samples)"
	cat $W/stacks.txt 2>/dev/null
	echo "--- dd"
	if p=$(dd_pid); then cat "/proc/$p/stack"; fi
	echo "--- sockets"
	ns_run ss -tnmi dst "$1:2049"
	echo "--- kernel log"
	dmesg | tail -n +"$(($(cat $W/klog0) + 1))"
}

vm_cleanup() {
	local p
	p=$(dd_pid) && kill -9 "$p"
	ns_run sysctl -qw net.ipv4.tcp_wmem="$(cat $W/wmem 2>/dev/null || echo "4096 16384 4194304")"
	timeout 20 umount -f -l /mnt/wp 2>&1
	return 0
}

if [ "${1:-}" = vm ]; then
	cmd=$2
	shift 2
	case $cmd in
	setup) vm_setup "$@" ;;
	copy-start) vm_copy_start ;;
	copy-wait) vm_copy_wait "$@" ;;
	wait-nospace) vm_wait_nospace "$@" ;;
	rst) vm_rst "$@" ;;
	observe) vm_observe "$@" ;;
	observe-start) vm_observe_start "$@" ;;
	observe-read) vm_observe_read "$@" ;;
	samples) cat $W/samples.txt ;;
	blackhole) vm_blackhole "$@" ;;
	sample) vm_sample "$@" ;;
	result) vm_result ;;
	evidence) vm_evidence "$@" ;;
	cleanup) vm_cleanup ;;
	*) echo "write-pending.sh: unknown vm command $cmd" >&2; exit 2 ;;
	esac
	exit
fi

# --- on the host ------------------------------------------------------------------
. tests/pair/net.sh
LOGDIR=${RPCTLS_WP_LOGDIR:-$PWD/build/test-logs/write-pending}
mkdir -p "$LOGDIR"
LOGDIR=$(cd "$LOGDIR" && pwd)
PAIR_LOGDIR=$LOGDIR/pair
PAIR_VM_TIMEOUT=${PAIR_VM_TIMEOUT:-1800}
. tests/pair/lib.sh
MB=${RPCTLS_WP_MB:-48}
OBSERVE=${RPCTLS_WP_OBSERVE_S:-120}
REVERSE=${RPCTLS_WP_REVERSE:-1}
STEPS=$LOGDIR/steps.txt
: >"$STEPS"
T0=$SECONDS
trap 'cp "$PAIR_XFER"/*tlshd*.log "$LOGDIR/" 2>/dev/null; pair_stop' EXIT
trap 'exit 130' INT TERM

say() { echo "[$(date +%T) +$((SECONDS - T0))s] $*" | tee -a "$STEPS"; }
# side: run a step in a VM, its output to steps.txt; returns the step's status
side() {
	local s=$1 t=$2 out rc
	shift 2
	out=$(pair_run "$s" -t "$t" "$*" 2>&1)
	rc=$?
	printf '%s\n' "--- $s (rc $rc, ${t}s max): $*" "$out" >>"$STEPS"
	OUT=$out
	return $rc
}
val() { sed -n "s/^$1=//p" <<<"$2" | tail -n 1; }

# run_case TAG: fault case 4d with the client in CSIDE (netns CNS) mounting
# SRC, the server SSIDE (netns SNS) at SIP, the client at CIP.  Sets VERDICT
# and RC (0 recovered, 1 hang or failed copy, 2 precondition not met).
run_case() {
	local tag=$1 label=$2 cv sv out tend n line last ms rst_ms sha rc
	local samples=$LOGDIR/samples-$tag.txt
	cv="WP_NS=$CNS bash tests/interop/write-pending.sh vm"
	sv="WP_NS=$SNS bash tests/interop/write-pending.sh vm"
	VERDICT='' RC=''
	pre() { VERDICT="precondition not met: $label: $*"; RC=2; side "$CSIDE" 60 "$cv cleanup"; side "$SSIDE" 30 "$sv blackhole del $CIP"; }

	say "$label: mount, tcp_wmem capped at '$CAP_WMEM'"
	side "$CSIDE" 180 "$cv setup $SRC $MB" || { pre "mount: $(tail -n 1 <<<"$OUT")"; return; }
	say "  $(grep -E '^(kernel|tcp_wmem|mount_rc|debugfs)=' <<<"$OUT" | paste -sd' ')"
	grep -q '^debugfs=yes' <<<"$OUT" ||
		{ pre "no SunRPC debugfs in the client's kernel: the wait for write space cannot be seen"; return; }
	side "$CSIDE" 30 "$cv copy-start" || { pre "dd did not start"; return; }
	side "$CSIDE" 120 "$cv copy-wait $((1 << 20)) 100" || { pre "the copy did not run: $OUT"; return; }
	say "  copy of $MB MiB running ($(val bytes "$OUT") bytes written)"
	side "$SSIDE" 30 "$sv blackhole add $CIP" || { pre "blackhole: $OUT"; return; }
	say "  blackhole to $CIP in the server"
	if ! side "$CSIDE" 60 "$cv wait-nospace $SIP 30"; then
		pre "no transport waited for write space within 30 s ($(tr '\n' ' ' <<<"$OUT"))"
		return
	fi
	say "  waiting for write space after $(val waited_ms "$OUT") ms: xprts $(val xprts "$OUT"), $(val bytes "$OUT") bytes written"
	say "  socket: $(val sock "$OUT" | cut -c1-200)"
	if ! side "$CSIDE" 30 "$cv rst $SIP $HSLOG '$HSPAT'"; then
		pre "ss -K: $(tr '\n' ' ' <<<"$OUT")"
		return
	fi
	grep -q '^copy_done_before_rst=1' <<<"$OUT" && { pre "the copy ended before the RST"; return; }
	say "  ss -K: $(val killed "$OUT") connection(s) cut (send-q $(val send_q "$OUT")), xprts $(val xprts "$OUT"); tcp_wmem restored"
	side "$SSIDE" 30 "$sv blackhole del $CIP" || say "  WARNING: could not drop the blackhole: $OUT"
	side "$CSIDE" 30 "$cv observe-start $SIP $HSLOG '$HSPAT' $OBSERVE"
	tend=$SECONDS
	say "  blackhole dropped; observing for up to $OBSERVE s (a sample every 10 s in the client)"
	n=0
	while :; do
		sleep 2
		side "$CSIDE" 30 "$cv observe-read $n"
		while IFS= read -r line; do
			case "$line" in
			observe_done=1) ;;
			t=*) say "  $line"; n=$((n + 1)) ;;
			esac
		done <<<"$OUT"
		grep -q '^observe_done=1' <<<"$OUT" && break
		if [ $((SECONDS - tend)) -ge $((OBSERVE + 120)) ]; then
			say "  the sampler in the client did not end: stopping the observation"
			break
		fi
	done
	side "$CSIDE" 60 "$cv samples"
	printf '%s\n' "$OUT" >"$samples"
	# the last sample
	last=$(awk '/^=== sample/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }' <<<"$OUT")
	side "$CSIDE" 60 "$cv result"
	out=$OUT
	side "$CSIDE" 60 "$cv evidence $SIP"
	printf '%s\n' "$OUT" >"$LOGDIR/evidence-$tag.txt"
	rc=$(val rc "$out")
	if [ "$rc" = 0 ]; then
		ms=$(val done_ms_after_end "$out")
		rst_ms=$(val done_ms_after_rst "$out")
		side "$SSIDE" 60 "bash tests/interop/$SSHA $SFILE"
		sha=$(tail -n 1 <<<"$OUT")
		if [ "$sha" = "$(val src_sha "$out")" ]; then
			VERDICT="$label: recovered in $ms ms"
			RC=0
			say "  the copy ended $rst_ms ms after the RST, $ms ms after the blackhole was dropped (the client's clock, stamped by its first step after the drop); the server's copy is intact ($MB MiB, sha256 ${sha:0:12}...)"
		else
			VERDICT="$label: copy finished ($ms ms) but the server's copy differs: $sha"
			RC=1
		fi
	elif [ "$rc" = running ]; then
		local xs w
		xs=$(val xprts "$last" | tr ' ' '\n' | sed -n 's/.*:\(0x[0-9a-f]*\)$/\1/p' | sort -u | paste -sd/)
		w=$(grep '^stuck=' <<<"$last" | grep wait_on_pending_writer | head -n 1)
		if [ -n "$w" ]; then
			local who
			who=$(cut -d' ' -f2 <<<"$w")
			case "$who" in *xprtiod*) who=xprtiod ;; *) who="$who (not named xprtiod)" ;; esac
			VERDICT="$label: HANG reproduced ($who in wait_on_pending_writer, xprt state ${xs:-?})"
		else
			VERDICT="$label: HANG, but no task in wait_on_pending_writer (xprt state ${xs:-?}; see $samples)"
		fi
		RC=1
	else
		VERDICT="$label: the copy failed (dd rc $rc: $(val dd_log "$out"))"
		RC=1
	fi
	say "$VERDICT"
	side "$CSIDE" 60 "$cv cleanup"
}

say "write-pending: fault case 4d with the stock Debian 13 client ($MB MiB, observe $OBSERVE s); logs in $LOGDIR"
if ! pair_start; then
	echo "precondition not met: the pair did not come up (consoles in $PAIR_LOGDIR after the stop)"
	exit 2
fi
say "pair up: stock peer $(pair_peer_versions | tr '\n' ' ')"
bash tests/interop/mkcerts.sh "$PAIR_XFER/pki" >/dev/null ||
	{ echo "precondition not met: PKI"; exit 2; }
side ours 300 "bash tests/interop/ours.sh server-start" ||
	{ echo "precondition not met: our nfsd and tlshd: $(tail -n 3 <<<"$OUT")"; exit 2; }
side peer 60 "bash tests/interop/stock.sh tlshd-start ktls-utils" ||
	{ echo "precondition not met: the stock tlshd: $OUT"; exit 2; }
say "our nfsd + tlshd (server netns) and ktls-utils' tlshd on the stock peer started"

CSIDE=peer CNS='' SRC=rpctls.test:/srv/tls SIP=$PAIR_OURS_IP4 CIP=$PAIR_STOCK_IP4
SSIDE=ours SNS=server SSHA="ours.sh sha" SFILE=/srv/tls/wp.bin
HSLOG=/run/pair/stock-tlshd.log HSPAT="was successful"
run_case stock "stock 6.12 client"
STOCK_VERDICT=$VERDICT STOCK_RC=$RC

OURS_VERDICT=
if [ "$REVERSE" = 1 ]; then
	say "the reverse: our client (patch 0017) -> the stock server"
	if side peer 120 "bash tests/interop/stock.sh nfsd-start" &&
		side ours 60 "bash tests/interop/ours.sh client-start"; then
		CSIDE=ours CNS=client SRC=stock.test:/srv/tls SIP=$PAIR_STOCK_IP4 CIP=$PAIR_OURSC_IP4
		SSIDE=peer SNS='' SSHA="stock.sh sha" SFILE=/srv/tls/wp.bin
		HSLOG=/run/pair/ours-tlshd-client.log HSPAT="result=ok"
		run_case ours "our 6.1 client (0017)"
		OURS_VERDICT=$VERDICT
		[ "$RC" = 1 ] && [ "$STOCK_RC" = 0 ] && STOCK_RC=1
	else
		OURS_VERDICT="our 6.1 client (0017): not run (the stock server or our client's tlshd did not start)"
	fi
fi

say "done in $((SECONDS - T0)) s"
[ -z "$OURS_VERDICT" ] || echo "$OURS_VERDICT"
echo "$STOCK_VERDICT"
exit "$STOCK_RC"
