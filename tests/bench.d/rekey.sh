#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What bounded key use (RFC 8446 5.5) costs: NFSv4.2 over xprtsec=tls with
# the default key limits (sunrpc.tls_key_max_records = 2^23, _bytes =
# 2^37) against a tiny byte limit (1 MiB: a rekey, that is a reconnect and
# a fresh handshake, every MiB each way), side by side in one VM run,
# medians of three interleaved rounds.  Printed (no assertions):
#   - write and read MiB/s under both limits;
#   - rekeys traced (sunrpc:rpc_tls_rekey) per tiny-limit round, and what
#     one costs: (time under the tiny limit - time under the default) /
#     rekeys;
#   - the average record size the traced transports saw (bytes / records),
#     which says which default limit a long copy reaches first: a rekey
#     every min(2^37 bytes, 2^23 records x that size);
#   - the cost at the default: one rekey's time over the time a copy at
#     the default's measured rate takes to reach the limit, in parts per
#     million of throughput.
# The copies are read back and compared: a wrong byte fails the bench.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh
MB=${RPCTLS_BENCH_MB:-32}
work=$(mktemp -d /tmp/rekey-bench.XXXXXX)
S=/sys/module/sunrpc/parameters
T=/sys/kernel/tracing
DEF_RECORDS=$(cat $S/tls_key_max_records)
DEF_BYTES=$(cat $S/tls_key_max_bytes)
TINY=$((1 << 20))

fail() {
	echo "rekey bench: $*" >&2
	echo "$DEF_BYTES" >$S/tls_key_max_bytes
	umount /mnt/rekey 2>/dev/null
	tlshd_stop_all
	nfsd_stop
	exit 1
}

tls_hosts_up "$work/pki" || fail "$HOSTS_WHY"
mkdir -p /mnt/rekey
head -c "${MB}M" /dev/urandom >"$work/bench.bin"
echo 8192 >$T/buffer_size_kb
echo 1 >$T/events/sunrpc/rpc_tls_rekey/enable

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# run LIMIT: one write and one read-back of the file; WNS RNS (ns), REKEYS
run() {
	local t0 t1
	echo >$T/trace
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/rekey ||
		fail "mount"
	echo "$1" >$S/tls_key_max_bytes || fail "tls_key_max_bytes=$1 refused"
	t0=$(now)
	dd if="$work/bench.bin" of=/mnt/rekey/r.bin bs=1M conv=fsync status=none || fail "write"
	t1=$(now)
	WNS=$((t1 - t0))
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(now)
	cmp -s "$work/bench.bin" /mnt/rekey/r.bin || fail "limit $1: read back differs"
	t1=$(now)
	RNS=$((t1 - t0))
	echo "$DEF_BYTES" >$S/tls_key_max_bytes
	REKEYS=$(grep -c "rpc_tls_rekey:" $T/trace)
	grep "rpc_tls_rekey:" $T/trace >>"$work/rekeys.trace"
	rm -f /mnt/rekey/r.bin
	umount /mnt/rekey
}

# warm-up: the first mount of a boot pays for things neither side should
run "$DEF_BYTES"
: >"$work/rekeys.trace"
declare -A X
for _ in 1 2 3; do
	run "$DEF_BYTES"
	X[def-W]+="$WNS " X[def-R]+="$RNS " X[def-K]+="$REKEYS "
	run "$TINY"
	X[tiny-W]+="$WNS " X[tiny-R]+="$RNS " X[tiny-K]+="$REKEYS "
done
med() { printf '%s\n' ${X[$1]} | median; }
DW=$(med def-W) DR=$(med def-R) DK=$(med def-K)
TW=$(med tiny-W) TR=$(med tiny-R) TK=$(med tiny-K)
[ "$DK" = 0 ] || fail "$DK rekeys under the default limits"
[ "$TK" -ge $((MB / 2)) ] || fail "only $TK rekeys under a 1 MiB limit for $MB MiB each way"

# MiB/s x100 from ns
rate() { echo $(( MB * 100000000000 / $1 )); }
fmt() { local v=$1 s=; [ "$v" -lt 0 ] && s=- v=$((-v)); printf '%s%d.%02d' "$s" $((v / 100)) $((v % 100)); }
# the average record each way, from the rekeys' counters (bytes / records)
REC=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "=")
		if (kv[1] == "records_tx" || kv[1] == "records_rx") r += kv[2]
		if (kv[1] == "bytes_tx" || kv[1] == "bytes_rx") b += kv[2] } }
	END { if (r) printf "%d\n", b / r; else print 0 }' "$work/rekeys.trace")
[ "$REC" -gt 0 ] || fail "no record counts in the rekey trace"
# one rekey, in microseconds: the extra time of write + read over the rekeys
PER_US=$(( ((TW + TR) - (DW + DR)) / 1000 / TK ))
# the default limit in bytes: whichever of the two a copy reaches first
LIMIT=$(( DEF_RECORDS * REC < DEF_BYTES ? DEF_RECORDS * REC : DEF_BYTES ))
# seconds to reach it at the default's write rate, and the cost in ppm
WRATE=$(rate "$DW")
REACH_S=$(( LIMIT / 1048576 * 100 / WRATE ))
PPM=$(( PER_US * 1000000 / (REACH_S * 1000000 + PER_US) ))

echo "rekey: $MB MiB written and read back over NFSv4.2 xprtsec=tls, medians of 3 interleaved rounds"
printf '  %-28s %10s %10s %8s\n' "" "default" "1 MiB" "ratio"
printf '  %-28s %10s %10s %8s\n' "write MiB/s" "$(fmt "$WRATE")" "$(fmt "$(rate "$TW")")" \
	"$(fmt $(( $(rate "$TW") * 100 / WRATE )))"
printf '  %-28s %10s %10s %8s\n' "read MiB/s" "$(fmt "$(rate "$DR")")" "$(fmt "$(rate "$TR")")" \
	"$(fmt $(( $(rate "$TR") * 100 / $(rate "$DR") )))"
printf '  %-28s %10s %10s\n' "rekeys per round" "$DK" "$TK"
echo "  one rekey (reconnect + handshake) costs $((PER_US / 1000)) ms of copy time"
echo "  average record: $REC bytes, so the default limits rekey every $((LIMIT >> 30)) GiB" \
	"(2^23 records x $REC B vs 2^37 B)"
echo "  at the default's $(fmt "$WRATE") MiB/s that is one rekey every $REACH_S s:" \
	"cost $PPM ppm of throughput"
echo 0 >$T/events/sunrpc/rpc_tls_rekey/enable
tlshd_stop_all
nfsd_stop
