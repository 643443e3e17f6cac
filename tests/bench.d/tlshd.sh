#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tlshd: client handshakes through the AF_TLSH upcall versus the same GnuTLS
# handshakes done in-process, side by side in one VM run
# (tlshd/bench/hsbench.c says what each path does), then tlshd's memory:
# idle, and per handshake in flight (N handshakes stalled on a silent peer).
#
#   +------------- netns "client" --------------+    +--- netns "server" ---+
#   | tlshd-hsbench --in-process GnuTLS---------------> gnutls-serv :4433    |
#   |      \--debugfs--> tlsh_test --TCP-------------->                      |
#   |                       \--AF_TLSH--> tlshd     |    | silent peer :4434 |
#   +-------------------------------------------+    +----------------------+
#
# Environment: RPCTLS_BENCH_HS (handshakes per path and level, 200),
# RPCTLS_BENCH_J (concurrency levels, "1,8"), RPCTLS_BENCH_STALLED (100).
cd "$(dirname "$0")/../.." || exit 1
if [ "${TLSHD_BENCH_KEYRING:-}" != 1 ]; then
	export TLSHD_BENCH_KEYRING=1
	exec keyctl session - "$0" "$@"
fi
. tests/lib/netns.sh
. tests/lib/bg.sh
. tests/lib/tlshd.sh
set -e
HS=${RPCTLS_BENCH_HS:-200}
J=${RPCTLS_BENCH_J:-1,8}
STALLED=${RPCTLS_BENCH_STALLED:-100}
D=/tmp/tlshd-bench
DBG=/sys/kernel/debug/tlsh_test
PIDS=()
cleanup() {
	local p
	tlshd_stop_all
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
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
tlsh_stat() { in_ns client awk -v k="$1" '$1 == k { print $2 }' /proc/net/tlsh; }

# nsenter execs the program, so $! is its pid (in_ns in the background
# would be a subshell)
nsenter --net=/run/netns/server gnutls-serv -p 4433 --x509cafile "$C/ca.pem" --x509keyfile "$C/server.key" \
	--x509certfile "$C/server.pem" --alpn sunrpc >"$D/gnutls-serv.log" 2>&1 &
PIDS+=($!)
until_true 20 grep -q 'IPv4 .*done' "$D/gnutls-serv.log"
tlshd_start client "$D/bench.conf"
PID=${TLSHD_PID[client]}
sleep 1
read -r idle_rss idle_dirty <<<"$(mem "$PID")"

echo "tlshd handshake benchmark: client_anon to gnutls-serv (ECDSA P-256 chain, CRL checked)," \
	"qemu $(grep -q hypervisor /proc/cpuinfo && echo guest), $(nproc) vCPUs"
in_ns client build/bin/tlshd-hsbench --peername server.test --ca "$C/ca.pem" --crl "$C/crl.pem" \
	-n "$HS" -j "$J" -r 10 192.0.2.1 4433 | tee "$D/hsbench.out" | grep -v '^result '
echo "  ratio: upcall / in-process for handshakes/s, in-process / upcall for latency" \
	"(1.00 = equal; target >= 0.80)"
echo "  what differs: the upcall path adds the kernel's request queue and AF_TLSH accept," \
	"tlshd's parameter getsockopts, the peer certificate stored as a key, the audit log line," \
	"the result report and the kernel's done callback; both verify the same chain, name and CRL" \
	"and both install kTLS"
sleep 2	# tlshd trims its heap after a second with nothing in flight
read -r warm_rss warm_dirty <<<"$(mem "$PID")"

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
	echo "tlshd memory (smaps_rollup; RSS includes shared library code, Private_Dirty is tlshd's own):"
	printf '  %-44s RSS %6d KiB   Private_Dirty %6d KiB\n' \
		"idle, just started" "$idle_rss" "$idle_dirty" \
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
grep -q '^result .*failed=0$' "$D/hsbench.out" || { echo "some handshakes failed" >&2; exit 1; }
