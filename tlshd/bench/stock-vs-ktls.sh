#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The same server-side handshake load on a stock kernel (mainline's
# netlink upcall) with ktls-utils' tlshd and with ours (a worker per vCPU,
# and one), side by side: clients opening RPC-with-TLS connections to nfsd,
# J at once (tlshd/bench/rpcload.c: probe, STARTTLS, handshake, one NULL
# inside TLS); and the reference, the same TLS handshakes against an
# in-process GnuTLS server on as many threads (tlshd-hsbench --serve).
# Runs as root inside the stock Debian 13 VM from the checkout:
#
#   tlshd/bench/stock-vs-ktls.sh CERTDIR      (tlshd/tests/mkcerts.sh output)
#
#   +------ netns "client" ------+      +----------- netns "server" -----------+
#   | tlshd-rpcload, J at once ----------> nfsd (80 threads), tls export      |
#   +----------------------------+      |   \--netlink--> the agent under test |
#                                       |        (its own cgroup)              |
#                                       +--------------------------------------+
#
# The variants take turns in ROUNDS rounds (their order reversed each round),
# N connections per level and round, so that a busy host slows both alike.
# Per agent: connections served per second, median and 99th percentile
# latency (first connect to the NULL reply), reconnects (the kernel
# refuses a request when the agent has not accepted the ones before: its
# handshake_submit_err tracepoint, -EAGAIN; the client reconnects after
# 100 ms, as an NFS client would, so each connection is served in the
# end); memory idle and at peak (the
# agent's cgroup, page cache dropped before each start so that each agent
# pays for the library pages it touches; and RSS/PSS summed over its
# processes, sampled ten times a second, which misses short-lived forked
# children); CPU per connection served (the cgroup's usage, children
# included).
#
# Environment: RPCTLS_BENCH_STOCK_N (connections per level and round, 32),
# RPCTLS_BENCH_STOCK_J ("1,8,64"), RPCTLS_BENCH_STOCK_ROUNDS (3).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/bg.sh
. tests/lib/nfsd.sh
. tests/lib/tlshd.sh
tlshd_keyring "$@"
set -e
CERTS=${1:?usage: stock-vs-ktls.sh CERTDIR}
N=${RPCTLS_BENCH_STOCK_N:-32}
J=${RPCTLS_BENCH_STOCK_J:-1,8,64}
ROUNDS=${RPCTLS_BENCH_STOCK_ROUNDS:-3}
W=/tmp/tlshd-stock-bench
OURS=$PWD/build/bin/tlshd
KTLS=/usr/sbin/tlshd
LOAD=$PWD/build/bin/tlshd-rpcload
CG=/sys/fs/cgroup
TR=/sys/kernel/tracing
rm -rf "$W"
mkdir -p "$W"
cleanup() {
	local a
	for a in ours ours1 ktls inproc inproc1; do
		[ -w "$CG/agent-$a/cgroup.kill" ] && echo 1 >"$CG/agent-$a/cgroup.kill"
	done
	nfsd_stop 2>/dev/null || true
}
trap cleanup EXIT
for f in "$OURS" "$KTLS" "$LOAD" "$PWD/build/bin/tlshd-hsbench"; do
	[ -x "$f" ] || { echo "stock-vs-ktls: missing $f" >&2; exit 1; }
done

cp "$CERTS"/*.pem "$CERTS"/*.key "$W/"
chmod 0600 "$W"/*.key
# one file both agents read: ktls-utils' keys, ours the same
tlshd_conf "$W/server.conf" authenticate.server "x509.truststore=$W/ca.pem" \
	"x509.certificate=$W/server.pem" "x509.private_key=$W/server.key"
modprobe -a tls nfsd nfsv4 2>/dev/null || true
netns_setup
nfsd_start "rw,no_root_squash,insecure,no_subtree_check,fsid=1,xprtsec=tls"
# mainline parks an nfsd thread per handshake: enough for J of them
in_ns server rpc.nfsd --no-udp 80
mountpoint -q "$CG" || mount -t cgroup2 none "$CG"
echo "+memory +cpu" >"$CG/cgroup.subtree_control"
tracing=0
if mountpoint -q "$TR" || mount -t tracefs tracefs "$TR" 2>/dev/null; then
	echo 1 >"$TR/events/handshake/handshake_submit/enable"
	echo 1 >"$TR/events/handshake/handshake_submit_err/enable"
	echo 8192 >"$TR/buffer_size_kb"
	tracing=1
fi

# procs_mem AGENT: "rss_kib pss_kib" summed over the agent's processes
procs_mem() {
	local p a b r=0 s=0
	for p in $(cat "$CG/agent-$1/cgroup.procs"); do
		read -r a b < <(awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { s = $2 } END { print r + 0, s + 0 }' \
			"/proc/$p/smaps_rollup" 2>/dev/null || echo 0 0)
		r=$((r + ${a:-0}))
		s=$((s + ${b:-0}))
	done
	echo "$r $s"
}
cpu_us() { awk '$1 == "usage_usec" { print $2 }' "$CG/agent-$1/cpu.stat"; }
cg_empty() { [ -z "$(cat "$CG/agent-$1/cgroup.procs")" ]; }
NCPU=$(nproc)
HSB=$PWD/build/bin/tlshd-hsbench
# The variants: ours with a worker per vCPU and with one, ktls-utils, and
# the in-process reference (a GnuTLS server on as many threads, no nfsd:
# what the handshakes cost without an upcall) on NCPU threads and on one.
VARIANTS="ours ours1 ktls inproc inproc1"
declare -A CMD=([ours]="$OURS -s -c $W/server.conf -w $NCPU" [ours1]="$OURS -s -c $W/server.conf -w 1"
	[ktls]="$KTLS -s -c $W/server.conf"
	[inproc]="$HSB --serve 4433 --cert $W/server.pem --key $W/server.key --threads $NCPU"
	[inproc1]="$HSB --serve 4433 --cert $W/server.pem --key $W/server.key --threads 1")
declare -A CPU SUBMIT REFUSED IDLE

# turn AGENT: start it in its cgroup, the load, stop it
turn() {
	local a=$1 cg=$CG/agent-$1 spid c0 i
	mkdir -p "$cg"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	[ $tracing = 0 ] || echo >"$TR/trace"
	# shellcheck disable=SC2086
	bash -c "echo \$\$ >$cg/cgroup.procs; exec nsenter --net=/run/netns/server ${CMD[$a]}" \
		>>"$W/agent-$a.log" 2>&1 &
	disown	# cgroup.kill ends it, no job notice
	# ready: ours and the reference say so; ktls-utils has joined the
	# group once it sleeps
	for i in $(seq 100); do
		case $a in
		ours*) [ "$(grep -c 'ready (config' "$W/agent-$a.log")" -ge "$2" ] && break ;;
		inproc*) [ "$(grep -c '^serving' "$W/agent-$a.log")" -ge "$2" ] && break ;;
		*) [ -n "$(cat "$cg/cgroup.procs")" ] && sleep 2 && break ;;
		esac
		sleep 0.1
	done
	sleep 1
	if [ -z "${IDLE[$a]:-}" ]; then
		IDLE[$a]="$(procs_mem "$a") $(cat "$cg/memory.current")"
	fi
	# the reference: TLS alone, to its own port; the agents: through nfsd
	local target=(192.0.2.1)
	case $a in inproc*) target=(--tls-only 192.0.2.1 4433) ;; esac
	# one connection first, not counted: code and data paged in
	in_ns client "$LOAD" --ca "$W/ca.pem" --name server.test -n 1 -j 1 --retry 100 \
		"${target[@]}" >/dev/null || true
	( while :; do procs_mem "$a"; sleep 0.1; done ) >>"$W/samples-$a" &
	spid=$!
	c0=$(cpu_us "$a")
	[ $tracing = 0 ] || echo >"$TR/trace"
	in_ns client "$LOAD" --ca "$W/ca.pem" --name server.test -n "$N" -j "$J" --retry 100 \
		--dump "$W/dump-$a" "${target[@]}" >>"$W/load-$a.txt" || true
	CPU[$a]=$(( ${CPU[$a]:-0} + $(cpu_us "$a") - c0 ))
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	if [ $tracing = 1 ]; then
		SUBMIT[$a]=$(( ${SUBMIT[$a]:-0} + $(grep -c 'handshake_submit:' "$TR/trace" || true) ))
		REFUSED[$a]=$(( ${REFUSED[$a]:-0} + $(grep -c 'handshake_submit_err:.*err=-11' "$TR/trace" || true) ))
	fi
	echo 1 >"$cg/cgroup.kill"
	until_true 20 cg_empty "$a"
}

echo "tlshd side by side on $(uname -r): ours ($("$OURS" --version)) and ktls-utils" \
	"$(dpkg-query -W -f '${Version}' ktls-utils 2>/dev/null), $NCPU vCPUs;" \
	"$N connections per level and round, $ROUNDS rounds, levels $J"
for r in $(seq "$ROUNDS"); do
	# the order turns round each time
	order=$(tr ' ' '\n' <<<"$VARIANTS")
	[ $((r % 2)) = 1 ] || order=$(tac <<<"$order")
	for a in $order; do turn "$a" "$r"; done
	echo "  round $r of $ROUNDS done"
done

# per level and agent: served/s over the time the level ran, latencies
summary() { # agent level
	awk -v j="$2" '$1 == "lat" && $2 == j { print $3 }' "$W/dump-$1" | sort -n >"$W/lat"
	local ok fail secs rec
	ok=$(wc -l <"$W/lat")
	fail=$(awk -v j="$2" '$1 == "fail" && $2 == j' "$W/dump-$1" | wc -l)
	secs=$(sed -n "s/^result j=$2 .*secs=\\([0-9.]*\\).*/\\1/p" "$W/load-$1.txt" | awk '{ s += $1 } END { print s }')
	rec=$(sed -n "s/^result j=$2 .*reconnects=\\([0-9]*\\).*/\\1/p" "$W/load-$1.txt" | awk '{ s += $1 } END { print s + 0 }')
	awk -v ok="$ok" -v fail="$fail" -v secs="$secs" -v a="$1" -v j="$2" -v rec="$rec" '
		{ v[NR] = $1 }
		END {
			m = NR ? v[int((NR + 1) / 2)] : 0
			k = int(0.99 * NR + 0.999999); if (k < 1) k = 1
			rate = secs > 0 ? ok / secs : 0
			p99 = NR ? v[k] : 0
			printf "  %-9s %-6s %9.2f %10.0f %10.0f %6d %6d %10d\n", j, a, rate, m, p99, ok, fail, rec
		}' "$W/lat"
}
echo "connections (probe, STARTTLS, handshake, NULL in TLS):"
printf '  %-9s %-6s %9s %10s %10s %6s %6s %10s\n' "in flight" agent "conn/s" "median ms" "p99 ms" served failed reconnects
for j in $(tr , ' ' <<<"$J"); do
	for a in $VARIANTS; do summary "$a" "$j"; done
done
echo "  reconnects: the kernel refused the request (EAGAIN: too many not yet accepted by the agent)" \
	"and nfsd closed the connection; the client opened it again after 100 ms, as an NFS client" \
	"reconnects; latency counts from the first attempt"
# ratios of served connections per second, level by level
rate() { # agent level
	awk -v j="$2" '$1 == "lat" && $2 == j' "$W/dump-$1" | wc -l |
		awk -v s="$(sed -n "s/^result j=$2 .*secs=\\([0-9.]*\\).*/\\1/p" "$W/load-$1.txt" |
			awk '{ t += $1 } END { print t }')" '{ print (s > 0 ? $1 / s : 0) }'
}
ratio() { awk -v a="$(rate "$1" "$3")" -v b="$(rate "$2" "$3")" 'BEGIN { printf "%6.2f", (b > 0 ? a / b : 0) }'; }
echo "ratios of connections served per second:"
printf '  %-9s %14s %18s %18s %16s\n' "in flight" "ours / ktls" "ours / in-process" "ours ${NCPU}w / 1w" "in-process ${NCPU}t / 1t"
for j in $(tr , ' ' <<<"$J"); do
	printf '  %-9s %14s %18s %18s %16s\n' "$j" "$(ratio ours ktls "$j")" "$(ratio ours inproc "$j")" \
		"$(ratio ours ours1 "$j")" "$(ratio inproc inproc1 "$j")"
done
echo "  (ours and ktls-utils go through nfsd: probe, STARTTLS, handshake, NULL; in-process is the TLS" \
	"handshake alone, a GnuTLS server on the same number of threads: the upcall's and nfsd's cost shows in" \
	"ours / in-process; target >= 0.80)"
echo "memory and CPU (the variant's cgroup, children included):"
for a in $VARIANTS; do
	served=$(grep -c '^lat ' "$W/dump-$a" || true)
	read -r irss ipss icg <<<"${IDLE[$a]}"
	prss=$(sort -n -k1 "$W/samples-$a" | tail -n 1 | cut -d' ' -f1)
	ppss=$(sort -n -k2 "$W/samples-$a" | tail -n 1 | cut -d' ' -f2)
	printf '  %-7s idle: RSS %5d KiB, PSS %5d KiB, cgroup %5d KiB;  peak: RSS %6d KiB, PSS %6d KiB (sampled), cgroup %6d KiB;  CPU %.1f ms per connection served' \
		"$a" "$irss" "$ipss" $((icg / 1024)) "$prss" "$ppss" $(($(cat "$CG/agent-$a/memory.peak") / 1024)) \
		"$(awk -v c="${CPU[$a]}" -v n="$served" 'BEGIN { print n ? c / 1000 / n : 0 }')"
	case $a in
	inproc*) ;;
	*) [ $tracing = 0 ] || printf ';  requests queued %d, refused by the kernel %d' "${SUBMIT[$a]}" "${REFUSED[$a]}" ;;
	esac
	echo
	grep -E 'error|warning' "$W/agent-$a.log" | sort | uniq -c | sort -rn | head -n 3 | sed "s/^/    $a log: /"
done
