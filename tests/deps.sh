#!/bin/bash
# Install with apt what the build and the tests need.  Quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential bc bison flex libelf-dev libssl-dev cpio kmod ccache rsync
	xz-utils git patch qemu-system-x86 iproute2 procps psmisc tcpdump python3
	libgnutls28-dev gnutls-bin libkeyutils-dev keyutils libmnl-dev libtirpc-dev openssl softhsm2
	nfs-kernel-server nfs-common rpcbind util-linux iputils-ping clang strace
	debootstrap e2fsprogs sparse"
KVER=$(cat kernel/VERSION)

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
have=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || true)
[ "$have" = "$KVER" ] || missing="$missing linux-source-6.1=$KVER"

if [ -n "$missing" ]; then
	echo "  DEPS    installing:$missing"
	[ "$(id -u)" = 0 ] || { echo "deps: need root to install:$missing" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null ||
		{ echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
fi
# The host's own NFS services are not ours to run; the VM starts its own.
mkdir -p /var/cache/rpctls/ccache
