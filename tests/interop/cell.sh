#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One cell of the interop matrix, on the client's side (runs in either VM of
# the pair: bash, coreutils, util-linux, tcpdump and python3 are all it needs):
#
#   cell.sh NAME SERVER:EXPORT MOUNT-OPTIONS SIZE-MB [NETNS] [DEV]
#
# Mounts, captures port 2049 on DEV, writes SIZE-MB of random data laced
# with a marker every 64 KiB (fsync'd), drops the page cache, reads the file
# back over the wire, unmounts, and summarises the capture.  Runs in network
# namespace NETNS when given (our VM), else in the VM's own.  Prints
# key=value lines for the host to judge:
#   mount=ok|failed mount_rc mount_ms mount_err fstype xprtsec
#   write_mibs read_mibs sha_written sha_read file
#   tls_connections plain_connections marker_in_tls marker_in_plain
#   clear_calls_not_null (tests/mount-helper/pcap-summary.py), conn: lines
#   kernel: new kernel log lines (RPC/NFS/TLS) while the cell ran
set -u
name=$1 src=$2 opts=$3 size=$4 ns=${5:-} dev=${6:-}
MARKER=${MARKER:-RPCTLS-INTEROP-MARKER-5e71}
mnt=/mnt/$name
out=/run/pair/cell-$name
mkdir -p "$mnt" "$out"
run() { if [ -n "$ns" ]; then nsenter --net=/run/netns/"$ns" "$@"; else "$@"; fi; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
mibs() { python3 -c 'import sys; print("%.2f" % (int(sys.argv[1]) / 1048576 / max(int(sys.argv[2]), 1) * 1000))' "$1" "$2"; }

python3 - "$out/src.dat" "$size" "$MARKER" <<'PY'
import os, sys
path, size, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
with open(path, "wb") as f:
    for _ in range(size * 16):
        f.write(marker + os.urandom(65536 - len(marker)))
PY

klog0=$(dmesg | wc -l)
cap=
if [ -n "$dev" ] && command -v tcpdump >/dev/null; then
	# not through run(): $! must be tcpdump itself (nsenter execs it)
	if [ -n "$ns" ]; then
		nsenter --net=/run/netns/"$ns" tcpdump -i "$dev" -s 0 -U -w "$out/cap.pcap" \
			tcp port 2049 2>"$out/tcpdump.err" &
	else
		tcpdump -i "$dev" -s 0 -U -w "$out/cap.pcap" tcp port 2049 2>"$out/tcpdump.err" &
	fi
	cap=$!
	for _ in $(seq 50); do grep -q 'listening on' "$out/tcpdump.err" && break; sleep 0.1; done
fi

t0=$(now_ms)
run mount -t nfs -o "$opts" "$src" "$mnt" 2>"$out/mount.err"
rc=$?
echo "mount_ms=$(( $(now_ms) - t0 ))"
echo "mount_rc=$rc"
echo "mount_err=$(tr '\n' ' ' <"$out/mount.err")"
fstype=$(awk -v m="$mnt" '$2 == m { print $3 }' /proc/mounts | tail -n 1)
if [ $rc = 0 ] && { [ "$fstype" = nfs ] || [ "$fstype" = nfs4 ]; }; then
	echo "mount=ok"
	echo "fstype=$fstype"
	echo "xprtsec=$(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts | tail -n 1 |
		tr ',' '\n' | sed -n 's/^xprtsec=//p')"
	bytes=$((size * 1048576))
	f=$mnt/$name.dat
	t0=$(now_ms)
	dd if="$out/src.dat" of="$f" bs=1M conv=fsync status=none 2>"$out/io.err"
	echo "write_mibs=$(mibs $bytes $(( $(now_ms) - t0 )))"
	echo "sha_written=$(sha256sum <"$out/src.dat" | cut -d' ' -f1)"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(now_ms)
	sha=$(dd if="$f" bs=1M status=none 2>>"$out/io.err" | sha256sum | cut -d' ' -f1)
	echo "read_mibs=$(mibs $bytes $(( $(now_ms) - t0 )))"
	echo "sha_read=$sha"
	echo "file=$name.dat"
	echo "io_err=$(tr '\n' ' ' <"$out/io.err")"
	run umount "$mnt" || run umount -f -l "$mnt"
else
	echo "mount=failed"
	[ $rc = 0 ] && run umount -f -l "$mnt" 2>/dev/null
fi
if [ -n "$cap" ]; then
	sleep 0.3
	kill -INT "$cap" 2>/dev/null
	wait "$cap" 2>/dev/null
	python3 tests/mount-helper/pcap-summary.py --marker "$MARKER" "$out/cap.pcap" \
		>"$out/pcap.txt" 2>&1
	sed '$d; s/^/conn: /' "$out/pcap.txt"
	tail -n 1 "$out/pcap.txt" | sed 's/^total: //' | tr ' ' '\n' |
		paste -d= - - | grep -v '^=$'
fi
dmesg | tail -n +"$((klog0 + 1))" | grep -i -E 'rpc|nfs|tls|handshake' | sed 's/^/kernel: /'
rm -f "$out/src.dat"
exit 0
