#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the stock Debian 13 "trixie" peer: a root tree made by
# debootstrap from Debian's archive with unmodified packages -- Debian's
# 6.12 kernel and initramfs, ktls-utils (mainline's tlshd), nfs-utils 2.8,
# python3 -- and an ext4 image of it that tests/pair/lib.sh boots under qemu.
#
#   tests/pair/peer-build.sh [--print] [--offline]
#
# The peer lives outside the checkout, beside the ccache:
#   $PEER_CACHE/trixie-KEY/{root.img,vmlinuz,initrd.img,versions,tree/}
# KEY is a hash of this recipe and of the versions the archive offers now
# for the packages below, so a new ktls-utils or kernel in trixie gives a new
# peer, and an unchanged archive never rebuilds.  --print prints the
# directory of the peer to use (building it when missing); --offline (or an
# archive that cannot be reached) uses the newest peer already built.
#
# The host's apt sources are never touched: trixie is reached through a
# private apt configuration (for the versions) and debootstrap (for the
# tree), both with the mirror the host's own sources name.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PEER_CACHE=${PEER_CACHE:-/var/cache/rpctls/peer}
SUITE=trixie
# Unmodified stock packages; the first line is what the tests need, the rest
# is what booting and test plumbing need.
PACKAGES="linux-image-amd64 ktls-utils nfs-kernel-server nfs-common keyutils
	python3 iproute2 tcpdump initramfs-tools kmod procps psmisc iputils-ping
	e2fsprogs openssl"
# Bump when the way the peer is built changes (the key covers PACKAGES,
# peer-init and this number, not every byte of this script).
RECIPE=1
# What the key's versions are read from (the rest follows from these).
KEYPKGS="linux-image-amd64 ktls-utils nfs-kernel-server nfs-common python3"

print=0 offline=0
for a in "$@"; do
	case "$a" in
	--print) print=1 ;;
	--offline) offline=1 ;;
	*) echo "peer-build: unknown argument $a" >&2; exit 2 ;;
	esac
done
log() { [ $print = 1 ] && echo "$*" >&2 || echo "$*"; }
die() { echo "peer-build: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, image ownership)"

mkdir -p "$PEER_CACHE"
exec 9>"$PEER_CACHE/.lock"
flock 9

# The mirror the host's own apt sources use for Debian's main archive.
mirror() {
	local m
	m=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		tr ' ' '\n' | grep -v -e security -e '^$' | head -n 1 || true)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $3 !~ /security/ { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null || true)
	echo "${m:-http://deb.debian.org/debian}"
}

newest() {
	ls -1dt "$PEER_CACHE"/$SUITE-*/root.img 2>/dev/null | head -n 1 | xargs -r dirname
}

# Versions trixie offers now, through a private apt configuration.
archive_versions() {
	local d=$PEER_CACHE/apt
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb $(mirror) $SUITE main" >"$d/sources.list"
	local apt=(-o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache"
		-o Dir::State::status=/dev/null -o APT::Architecture=amd64
		-o Debug::NoLocking=true)
	timeout 300 apt-get "${apt[@]}" -q update >"$d/update.log" 2>&1 || return 1
	local p v
	for p in $KEYPKGS; do
		v=$(apt-cache "${apt[@]}" show --no-all-versions "$p" 2>/dev/null |
			sed -n 's/^Version: //p' | head -n 1)
		[ -n "$v" ] || return 1
		echo "$p $v"
	done
}

versions=""
[ $offline = 1 ] || versions=$(archive_versions) || versions=""
if [ -z "$versions" ]; then
	dir=$(newest)
	[ -n "$dir" ] || die "the $SUITE archive cannot be reached ($(tail -n 2 "$PEER_CACHE/apt/update.log" 2>/dev/null | tr '\n' ' ')) and no peer was built before"
	[ $offline = 1 ] || log "  PEER    archive unreachable: using the newest peer, $dir"
	[ $print = 1 ] && echo "$dir"
	exit 0
fi
key=$( { echo "recipe $RECIPE" $PACKAGES; cat "$REPO/tests/pair/peer-init"; echo "$versions"; } |
	sha256sum | cut -c1-12)
dir=$PEER_CACHE/$SUITE-$key
if [ -f "$dir/root.img" ]; then
	[ $print = 1 ] && echo "$dir" || log "  PEER    $dir (up to date)"
	exit 0
fi

log "  PEER    building the stock $SUITE peer in $dir (debootstrap; about 15 minutes)"
while read -r l; do log "          $l"; done <<<"$versions"
t0=$(date +%s)
# A finished debootstrap of this key is kept when a later step failed.
if [ ! -f "$dir.tmp/debootstrap.done" ]; then
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	if ! debootstrap --variant=minbase --include="$(echo $PACKAGES | tr ' ' ',')" \
		$SUITE "$dir.tmp/tree" "$(mirror)" >"$dir.tmp/debootstrap.log" 2>&1; then
		tail -n 20 "$dir.tmp/debootstrap.log" >&2
		die "debootstrap of $SUITE failed (log: $dir.tmp/debootstrap.log)"
	fi
	touch "$dir.tmp/debootstrap.done"
fi
tree=$dir.tmp/tree
# Test plumbing only: the first-stage init (tests/pair/peer-init) and no
# cached .debs.  Every package stays as Debian ships it.
install -m 0755 "$REPO/tests/pair/peer-init" "$tree/sbin/rpctls-peer-init"
rm -f "$tree"/var/cache/apt/archives/*.deb
cp "$tree"/boot/vmlinuz-* "$dir.tmp/vmlinuz"
cp "$tree"/boot/initrd.img-* "$dir.tmp/initrd.img" ||
	die "the $SUITE tree has no initramfs (initramfs-tools did not run)"
chroot "$tree" dpkg-query -W -f '${Package} ${Version}\n' \
	$(echo "$KEYPKGS" | sed 's/linux-image-amd64/linux-image-amd64 linux-image-*-amd64/') \
	2>/dev/null | grep -v '^$' >"$dir.tmp/versions" || true
ls "$tree"/lib/modules >"$dir.tmp/kernel-release"
mkfs.ext4 -q -L rpctls-peer -d "$tree" "$dir.tmp/root.img" 4G ||
	die "mkfs.ext4 -d failed"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
log "  PEER    built in $(( $(date +%s) - t0 )) s: $(tr '\n' ' ' <"$dir/versions")"
# Older peers are superseded.
for old in "$PEER_CACHE"/$SUITE-*; do
	[ "$old" = "$dir" ] || rm -rf "$old"
done
[ $print = 1 ] && echo "$dir"
exit 0
