#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tlshd: client handshakes through the AF_TLSH upcall versus the same GnuTLS
# handshakes done in-process, side by side in one VM run
# (tlshd/bench/hsbench.c says what each path does), at 1, 8 and 64 in
# flight, twice: tlshd with one worker against in-process on one thread,
# then tlshd with a worker per vCPU against in-process on as many threads.
# Then tlshd's memory: idle, and per handshake in flight (N handshakes
# stalled on a silent peer).
#
#   +------------- netns "client" --------------+    +--- netns "server" ----------+
#   | tlshd-hsbench --in-process GnuTLS---------------> tlshd-hsbench --serve :4433 |
#   |      \--debugfs--> tlsh_test --TCP-------------->   (a thread per vCPU)       |
#   |                       \--AF_TLSH--> tlshd     |    | silent peer :4434         |
#   +-------------------------------------------+    +-----------------------------+
#
# Environment: RPCTLS_BENCH_HS (handshakes per path and level, 200),
# RPCTLS_BENCH_J (concurrency levels, "1,8,64"), RPCTLS_BENCH_STALLED (100).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/bg.sh
. tests/lib/tlshd.sh
tlshd_keyring "$@"
set -e
HS=${RPCTLS_BENCH_HS:-200}
J=${RPCTLS_BENCH_J:-1,8,64}
STALLED=${RPCTLS_BENCH_STALLED:-100}
NCPU=$(nproc)
D=/tmp/tlshd-bench
DBG=/sys/kernel/debug/tlsh_test
PIDS=()
cleanup() {
	tlshd_stop_all
	bg_stop_all
}
trap cleanup EXIT

for f in build/bin/tlshd build/bin/tlshd-hsbench; do
	[ -x "$f" ] || { echo "tlshd bench: missing $f (make userspace)" >&2; exit 1; }
done
modprobe tls
modprobe tlsh_test
netns_setup
tlshd_pki "$D"
C=$D
printf '%s\n' '[authenticate.client]' "x509.truststore = $C/ca.pem" "x509.crl = $C/crl.pem" \
	>"$D/bench.conf"

# mem PID: "rss_kib private_dirty_kib" from smaps_rollup (anonymous and
# written pages; RSS also counts the shared libraries' code pages in use)
mem() {
	awk '$1 == "Rss:" { r = $2 } $1 == "Private_Dirty:" { d = $2 } END { print r, d }' \
		"/proc/$1/smaps_rollup"
}
# cpu_ms PID: user + system time so far
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }
tlsh_stat() { in_ns client awk -v k="$1" '$1 == k { print $2 }' /proc/net/tlsh; }

# the peer: a thread per vCPU, so that it is not what limits the figures
# (nsenter execs the program, so $! is its pid)
nsenter --net=/run/netns/server build/bin/tlshd-hsbench --serve 4433 --cert "$C/server.pem" \
	--key "$C/server.key" --threads "$NCPU" >"$D/serve.log" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
until_true 20 grep -q '^serving' "$D/serve.log"

echo "tlshd handshake benchmark: client_anon to a TLS 1.3 peer (ECDSA P-256 chain, CRL checked)," \
	"qemu $(grep -q hypervisor /proc/cpuinfo && echo guest), $NCPU vCPUs"
# bench W: tlshd with W workers, in-process on W threads, every level
bench() {
	local w=$1 serve0
	TLSHD_ARGS="-w $w" tlshd_start client "$D/bench.conf"
	PID=${TLSHD_PID[client]}
	sleep 1
	read -r "IDLE_RSS[$w]" "IDLE_DIRTY[$w]" <<<"$(mem "$PID")"
	echo "--- tlshd with $w worker(s), in-process on $w thread(s):"
	serve0=$(cpu_ms "$SERVE")
	in_ns client build/bin/tlshd-hsbench --peername server.test --ca "$C/ca.pem" --crl "$C/crl.pem" \
		-n "$HS" -j "$J" -r 10 --threads "$w" --agent-pid "$PID" 192.0.2.1 4433 |
		tee "$D/hsbench-$w.out" | grep -v '^result '
	PEER_CPU[$w]=$(awk -v a="$serve0" -v b="$(cpu_ms "$SERVE")" -v n="$HS" -v l="$(tr , ' ' <<<"$J" | wc -w)" \
		'BEGIN { printf "%.1f", (b - a) / (2 * n * l) }')
	grep -q '^result .*failed=0$' "$D/hsbench-$w.out" || { echo "some handshakes failed" >&2; exit 1; }
	if [ "$w" != 1 ]; then
		sleep 2	# tlshd trims its heap after a second with nothing in flight
		read -r warm_rss warm_dirty <<<"$(mem "$PID")"
	else
		tlshd_stop client
	fi
}
declare -A PEER_CPU IDLE_RSS IDLE_DIRTY
bench 1
bench "$NCPU"
field() { sed -n "s/^result j=$2 .*$3=\([0-9.]*\).*/\1/p" "$D/hsbench-$1.out"; }
echo "--- summary: handshakes/s (ratio upcall / in-process; target >= 0.80), and"
echo "    $NCPU workers against 1 (target >= 1.70 on 2 vCPUs)"
printf '  %-10s %9s %9s %6s   %9s %9s %6s   %9s %9s\n' "in flight" "tlshd 1w" "inproc 1t" ratio \
	"tlshd ${NCPU}w" "inproc ${NCPU}t" ratio "tlshd x" "inproc x"
for j in $(tr , ' ' <<<"$J"); do
	u1=$(field 1 "$j" upcall_hs_per_s) i1=$(field 1 "$j" inproc_hs_per_s)
	un=$(field "$NCPU" "$j" upcall_hs_per_s) in=$(field "$NCPU" "$j" inproc_hs_per_s)
	awk -v j="$j" -v u1="$u1" -v i1="$i1" -v un="$un" -v in_="$in" 'BEGIN {
		printf "  %-10s %9.1f %9.1f %6.2f   %9.1f %9.1f %6.2f   %9.2f %9.2f\n",
			j, u1, i1, u1 / i1, un, in_, un / in_, un / u1, in_ / i1 }'
done
c1=$(field 1 8 upcall_cpu_ms)
echo "  CPU per handshake at 8 in flight: tlshd $c1 ms (1 worker), $(field "$NCPU" 8 upcall_cpu_ms) ms" \
	"($NCPU workers); in-process $(field 1 8 inproc_cpu_ms) ms; the peer ${PEER_CPU[1]} ms"
awk -v c="$c1" -v s="${PEER_CPU[1]}" -v n="$NCPU" 'BEGIN { if (c > 0) {
	x = n * c / (c + s); if (x > n) x = n
	printf "  the peer shares the %d vCPUs: at most %.2fx for %d workers (%d x %.1f / (%.1f + %.1f))\n",
		n, x, n, n, c, c, s } }'
# The same work costs more guest CPU time when the vCPUs do not each get a
# host core (TCG vCPUs are host threads; the guest sees no steal time).
awk -v a="$(field 1 8 inproc_cpu_ms)" -v b="$(field "$NCPU" 8 inproc_cpu_ms)" -v n="$NCPU" 'BEGIN {
	if (a > 0) printf "  in-process CPU per handshake, %d threads / 1 thread: %.2f (1.00 when each vCPU has a host core of its own; more: the host is busy and the scaling figures above are the host'"'"'s, not tlshd'"'"'s)\n", n, b / a }'
echo "  what differs: the upcall path adds the kernel's request queue and AF_TLSH accept," \
	"tlshd's parameter getsockopts, the hand-off to a worker, the peer certificate stored as a key," \
	"the audit log line, the result report and the kernel's done callback; both verify the same" \
	"chain, name and CRL and both install kTLS"

# --- memory per handshake in flight: N stalled on the silent peer -------------
# silent_start / silent_stop: a peer on :4434 that completes TCP (listen
# backlog) and never answers; stopping it resets the connections, which
# ends the stalled handshakes (ECONNRESET)
silent_start() {
	nsenter --net=/run/netns/server python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 4434)); s.listen(1024); print("listening", flush=True)
time.sleep(3600)' >"$D/silent.log" 2>&1 &
	SILENT=$!
	PIDS+=($SILENT)
	until_true 20 grep -q listening "$D/silent.log"
}
silent_stop() { kill "$SILENT"; wait "$SILENT" 2>/dev/null || true; }
# stall N FIRST-SLOT: N requests whose ClientHello is never answered
stall() {
	local i
	for i in $(seq "$2" $(($2 + $1 - 1))); do
		echo "connect $i 192.0.2.1 4434"
		echo "hello $i client_anon peername=server.test timeout=300000"
	done | in_ns client bash -c 'while read -r l; do
		printf "%s\n" "$l" >'"$DBG/ctl"' || { echo "stall: $l failed" >&2; exit 1; }; done' || {
		in_ns client ss -tn | head -5 >&2
		awk '$1 >= 100' "$DBG/slots" | head -5 >&2
		exit 1
	}
}
settled() { [ "$(tlsh_stat in_flight)" = "$1" ] && [ "$(tlsh_stat queued)" = 0 ]; }
closeall() {
	local i
	for i in $(seq "$2" $(($2 + $1 - 1))); do echo "close $i"; done |
		in_ns client bash -c 'while read -r l; do printf "%s\n" "$l" >'"$DBG/ctl"'; done'
}
die() {
	echo "tlshd bench: $*; /proc/net/tlsh in client:" $(in_ns client cat /proc/net/tlsh) >&2
	tail -n 3 "$D/tlshd-client.log" >&2
	exit 1
}
# warm up the stalled path's code and heap with a few, then measure
silent_start
stall 4 100
until_true 60 settled 4 || die "4 stalled handshakes did not all reach tlshd"
silent_stop
until_true 60 settled 0 || die "the stalled handshakes did not end with their peer"
closeall 4 100
sleep 1
read -r base_rss base_dirty <<<"$(mem "$PID")"
silent_start
stall "$STALLED" 100
if until_true 120 settled "$STALLED"; then
	sleep 1
	read -r st_rss st_dirty <<<"$(mem "$PID")"
	fds=$(ls "/proc/$PID/fd" | wc -l)
	echo "tlshd memory, $NCPU workers (smaps_rollup; RSS includes shared library code, Private_Dirty is tlshd's own):"
	printf '  %-44s RSS %6d KiB   Private_Dirty %6d KiB\n' \
		"idle, just started (1 worker)" "${IDLE_RSS[1]}" "${IDLE_DIRTY[1]}" \
		"idle, just started ($NCPU workers)" "${IDLE_RSS[$NCPU]}" "${IDLE_DIRTY[$NCPU]}" \
		"idle, after the benchmark" "$warm_rss" "$warm_dirty" \
		"idle, before stalling" "$base_rss" "$base_dirty" \
		"$STALLED handshakes in flight" "$st_rss" "$st_dirty"
	printf '  per handshake in flight: RSS %d KiB, Private_Dirty %d KiB (%d open fds)\n' \
		$(((st_rss - base_rss) / STALLED)) $(((st_dirty - base_dirty) / STALLED)) "$fds"
	read -r floor_rss floor_dirty <<<"$(build/bin/tlshd-hsbench --floor |
		sed -n 's/^floor rss_kib=\([0-9]*\) private_dirty_kib=\([0-9]*\)/\1 \2/p')"
	printf '  %-44s RSS %6d KiB   Private_Dirty %6d KiB\n' \
		"floor: any program after gnutls_global_init" "$floor_rss" "$floor_dirty"
	echo "  targets: idle RSS <= 4096 KiB, per handshake <= 64 KiB"
else
	echo "tlshd memory: the $STALLED stalled handshakes never all reached tlshd:" \
		"in_flight=$(tlsh_stat in_flight) queued=$(tlsh_stat queued)"
	exit 1
fi
silent_stop
until_true 60 settled 0 || die "the stalled handshakes did not end with their peer"
closeall "$STALLED" 100
sleep 2	# tlshd trims its heap after a second with nothing in flight
read -r end_rss end_dirty <<<"$(mem "$PID")"
printf '  %-44s RSS %6d KiB   Private_Dirty %6d KiB\n' "idle, after they failed (peer gone)" \
	"$end_rss" "$end_dirty"

