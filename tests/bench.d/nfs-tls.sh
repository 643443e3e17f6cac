#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# NFSv4.2 over xprtsec=tls against xprtsec=none, side by side in one VM run,
# with tlshd in both test hosts.  Printed (no assertions):
#   - sequential write and read (page cache dropped) in MiB/s, and TLS/plain
#   - the crypto ceiling from the guest's own AES-GCM speed, measured in
#     this run with gnutls-cli --benchmark-ciphers on one core (it lists
#     AES-128-GCM only; tlshd negotiates AES-256-GCM, whose 14 rounds cost
#     more, so this ceiling is on the high side and TLS/ceiling on the low):
#     every byte is encrypted once and decrypted once, so if crypto simply
#     adds to the plaintext cost, time per MiB = 1/plain + 2/aes and
#     ceiling = 1 / (1/plain + 2/aes), never above plain; TLS/ceiling
#     says how close the kTLS path gets to what the emulated CPU allows
#   - CPU seconds per MiB (all CPUs, /proc/stat: user+system+irq+softirq)
#   - mount time with TLS minus without, against one handshake's duration
#     as tlshd logs it (target: <= 1.2 x one handshake)
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/nfsd.sh
. tests/lib/tlshd.sh
MB=${RPCTLS_BENCH_MB:-32}
work=$(mktemp -d /tmp/nfs-tls-bench.XXXXXX)

fail() { echo "nfs-tls bench: $*" >&2; tlshd_stop_all; nfsd_stop; exit 1; }

netns_setup || fail "test hosts"
nfsd_start >/dev/null || fail "nfsd"
tlshd_pki "$work/pki" || fail "certificates"
tlshd_start server "$TLSHD_DIR/server.conf" || fail "tlshd server"
tlshd_start client "$TLSHD_DIR/client.conf" || fail "tlshd client"
mkdir -p /mnt/bench
head -c "${MB}M" /dev/urandom >"$work/bench.bin"

now() { date +%s%N; }
# busy CPU time in centiseconds (USER_HZ), all CPUs
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
mnt() { in_ns client mount -t nfs4 -o "vers=4.2,xprtsec=$1" "server.test:$NFSD_EXPORT" /mnt/bench; }

# run SEC: sets W R (MiB/s x100), CW CR (CPU ms per MiB), M (mount ms, median of 3)
run() {
	local sec=$1 t0 t1 c0 c1 m=() i
	for i in 1 2 3; do
		t0=$(now); mnt "$sec" || fail "mount xprtsec=$sec"; t1=$(now)
		m+=($(( (t1 - t0) / 1000000 )))
		umount /mnt/bench
	done
	M=$(printf '%s\n' "${m[@]}" | sort -n | sed -n 2p)
	mnt "$sec"
	c0=$(busy); t0=$(now)
	dd if="$work/bench.bin" of=/mnt/bench/b.bin bs=1M conv=fsync status=none
	t1=$(now); c1=$(busy)
	W=$(( MB * 100000000000 / (t1 - t0) )); CW=$(( (c1 - c0) * 10 / MB ))
	sync; echo 3 >/proc/sys/vm/drop_caches
	c0=$(busy); t0=$(now)
	cat /mnt/bench/b.bin >/dev/null
	t1=$(now); c1=$(busy)
	R=$(( MB * 100000000000 / (t1 - t0) )); CR=$(( (c1 - c0) * 10 / MB ))
	cmp -s "$work/bench.bin" /mnt/bench/b.bin || fail "xprtsec=$sec: read back differs"
	rm -f /mnt/bench/b.bin
	umount /mnt/bench
}

fmt() { local v=$1 s=; [ "$v" -lt 0 ] && s=- v=$((-v)); printf '%s%d.%02d' "$s" $((v / 100)) $((v % 100)); }

# warm-up: the first mount of a boot pays for things neither side should
mnt none && umount /mnt/bench
mnt tls && umount /mnt/bench
run none; PW=$W PR=$R PCW=$CW PCR=$CR PM=$M
hs0=$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")
run tls; TW=$W TR=$R TCW=$CW TCR=$CR TM=$M
[ "$(grep -c "result=ok" "$TLSHD_DIR/tlshd-client.log")" -gt "$hs0" ] || fail "no TLS handshake logged"
HS=$(grep "result=ok" "$TLSHD_DIR/tlshd-client.log" | grep -o 'duration_ms=[0-9]*' | cut -d= -f2 |
	sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')

# guest AES-128-GCM speed, one core, in MB/s x100
AES=$(timeout 120 gnutls-cli --benchmark-ciphers 2>&1 | awk '$1 == "AES-128-GCM" {
	for (i = 2; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { v = $i; u = $(i + 1); break }
	if (u ~ /^GB/) v *= 1000; else if (u ~ /^KB/) v /= 1000
	printf "%d\n", v * 100; exit }')
[ -n "$AES" ] && [ "$AES" -gt 0 ] || fail "no AES-128-GCM figure from gnutls-cli --benchmark-ciphers"
# MB/s -> MiB/s, then ceiling = 1 / (1/plain + 2/aes), capped by plain
AESM=$(( AES * 1000000 / 1048576 ))
ceil() { local p=$1 c; c=$(( 100 * p * AESM / (100 * AESM + 200 * p) )); [ "$c" -gt "$p" ] && c=$p; echo "$c"; }
CEW=$(ceil "$PW"); CER=$(ceil "$PR")
ratio() { echo $(( $1 * 100 / $2 )); }

echo "NFSv4.2 over TLS vs plaintext, ${MB} MiB sequential, $(nproc) vCPUs, tlshd TLS 1.3 AES-256-GCM"
echo "guest AES-128-GCM (gnutls-cli, one core): $(fmt "$AESM") MiB/s"
printf '%-22s %12s %12s\n' "" write read
printf '%-22s %12s %12s\n' "plain MiB/s" "$(fmt "$PW")" "$(fmt "$PR")"
printf '%-22s %12s %12s\n' "tls MiB/s" "$(fmt "$TW")" "$(fmt "$TR")"
printf '%-22s %12s %12s\n' "ceiling MiB/s" "$(fmt "$CEW")" "$(fmt "$CER")"
printf '%-22s %12s %12s\n' "tls / plain" "$(fmt "$(ratio "$TW" "$PW")")" "$(fmt "$(ratio "$TR" "$PR")")"
printf '%-22s %12s %12s   (target >= 0.80)\n' "tls / ceiling" "$(fmt "$(ratio "$TW" "$CEW")")" \
	"$(fmt "$(ratio "$TR" "$CER")")"
printf '%-22s %12s %12s\n' "plain CPU ms/MiB" "$PCW" "$PCR"
printf '%-22s %12s %12s\n' "tls CPU ms/MiB" "$TCW" "$TCR"
echo "mount (median of 3): plain ${PM} ms, tls ${TM} ms, difference $((TM - PM)) ms;" \
	"one handshake (tlshd, median): ${HS} ms; difference / handshake:" \
	"$(fmt $(( (TM - PM) * 100 / (HS > 0 ? HS : 1) )))  (target <= 1.20)"
tlshd_stop_all
nfsd_stop
