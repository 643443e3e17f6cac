#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Plaintext NFS between the two test hosts: the baseline every TLS scenario
# is compared with.  NFSv4.2, v4.1, v4.0 and v3 over IPv4 and IPv6: write a
# multi-MiB file, remount, read it back, compare checksums on both sides.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/netns.sh
. tests/lib/nfsd.sh

SIZE_MB=${RPCTLS_NFS_SIZE_MB:-8}

netns_setup || { tap_fail "test hosts"; exit 1; }
nfsd_start || { tap_fail "nfsd start"; exit 1; }
head -c "${SIZE_MB}M" /dev/urandom >/tmp/payload
want=$(sha256sum </tmp/payload | cut -d' ' -f1)

# roundtrip NAME FSTYPE OPTIONS SOURCE
roundtrip() {
	local name=$1 type=$2 opts=$3 src=$4 mnt=/mnt/$1 got t0 t1
	mkdir -p "$mnt"
	in_ns client mount -t "$type" -o "$opts" "$src" "$mnt" || { echo "mount failed"; return 1; }
	# The path must really be an NFS mount, not the local directory.
	awk -v m="$mnt" '$2 == m { print $3 }' /proc/mounts | grep -qx "nfs4\|nfs" ||
		{ echo "$mnt is not an NFS mount"; return 1; }
	t0=$(date +%s%N)
	dd if=/tmp/payload of="$mnt/$name.bin" bs=1M conv=fsync status=none || return 1
	t1=$(date +%s%N)
	echo "# $name: wrote ${SIZE_MB} MiB in $(( (t1 - t0) / 1000000 )) ms"
	got=$(sha256sum <"$NFSD_EXPORT/$name.bin" | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "server copy differs"; return 1; }
	umount "$mnt" || return 1
	in_ns client mount -t "$type" -o "$opts" "$src" "$mnt" || return 1
	got=$(sha256sum <"$mnt/$name.bin" | cut -d' ' -f1)
	[ "$got" = "$want" ] || { echo "read-back differs"; return 1; }
	rm -f "$mnt/$name.bin"
	umount "$mnt"
}

for v in 4.2 4.1 4.0; do
	tap_run "NFSv$v over IPv4 by name" roundtrip "v$v-ip4" nfs4 "vers=$v" "server.test:$NFSD_EXPORT"
	tap_run "NFSv$v over IPv6 by address" roundtrip "v$v-ip6" nfs4 "vers=$v" "[$SERVER_IP6]:$NFSD_EXPORT"
done
tap_run "NFSv3 over IPv4 by name" roundtrip v3-ip4 nfs "vers=3,proto=tcp,nolock" "server.test:$NFSD_EXPORT"
tap_run "NFSv3 over IPv6 by address" roundtrip v3-ip6 nfs "vers=3,proto=tcp6,nolock" "[$SERVER_IP6]:$NFSD_EXPORT"

# xprtsec=tls is a known option now, and never yields a silent plaintext
# mount: with no handshake agent in the client's namespace (none runs in
# this scenario) the mount must fail and the kernel must say why.
mkdir -p /mnt/tls
dmesg -C
if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls 2>/tmp/tls.err; then
	umount /mnt/tls
	tap_fail "xprtsec=tls without a handshake agent fails closed: the mount succeeded"
elif dmesg | grep -q "Unknown parameter 'xprtsec'"; then
	tap_fail "xprtsec=tls without a handshake agent fails closed: the kernel does not know xprtsec"
elif dmesg | grep -q "no TLS handshake agent\|does not offer RPC-with-TLS"; then
	tap_ok "xprtsec=tls without a handshake agent fails closed"
else
	tap_fail "xprtsec=tls without a handshake agent fails closed: no reason logged: $(cat /tmp/tls.err) $(dmesg | tail -3)"
fi

nfsd_stop
tap_done
