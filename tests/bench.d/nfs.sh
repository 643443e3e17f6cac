#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# NFS throughput between the test hosts and the guest's crypto ceiling, in the
# same VM run.  Under qemu TCG crypto is ~100x slower than on the host, so TLS
# figures are only meaningful as ratios against the ceiling measured here.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/nfsd.sh
set -e
MB=${RPCTLS_BENCH_MB:-64}

netns_setup
nfsd_start >/dev/null
mkdir -p /mnt/bench
head -c "${MB}M" /dev/urandom >/tmp/bench.bin

# bench_mount LABEL OPTIONS: sequential write then read (after remount) in MiB/s.
bench_mount() {
	local label=$1 opts=$2 w0 w1 r0 r1 c0 c1
	in_ns client mount -t nfs4 -o "$opts" "server.test:$NFSD_EXPORT" /mnt/bench
	c0=$(awk '{print $1}' /proc/uptime)
	w0=$(date +%s%N)
	dd if=/tmp/bench.bin of=/mnt/bench/b.bin bs=1M conv=fsync status=none
	w1=$(date +%s%N)
	umount /mnt/bench
	in_ns client mount -t nfs4 -o "$opts" "server.test:$NFSD_EXPORT" /mnt/bench
	r0=$(date +%s%N)
	cat /mnt/bench/b.bin >/dev/null
	r1=$(date +%s%N)
	rm -f /mnt/bench/b.bin
	umount /mnt/bench
	W=$(( MB * 1000000000 / (w1 - w0) ))
	R=$(( MB * 1000000000 / (r1 - r0) ))
	printf '%-12s write %5d MiB/s   read %5d MiB/s\n' "$label" "$W" "$R"
}

echo "NFSv4.2, ${MB} MiB sequential, qemu $( [ -e /dev/kvm ] && echo maybe-kvm || echo TCG ), $(nproc) vCPUs"
bench_mount plaintext vers=4.2
echo "guest crypto ceiling (gnutls-cli --benchmark-ciphers, one core):"
timeout 120 gnutls-cli --benchmark-ciphers 2>&1 | grep -E '^ *(AES-128-GCM|AES-256-GCM|CHACHA20-POLY1305) ' | sed 's/^/  /' || true
echo "xprtsec=tls: not measured: RPC-with-TLS has not landed in this kernel yet"
nfsd_stop
