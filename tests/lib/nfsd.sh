# SPDX-License-Identifier: GPL-2.0
# The in-kernel NFS server inside the "server" test host (tests/lib/netns.sh).
#
#   nfsd_start [EXPORT_OPTIONS]   export /srv/export to everyone
#   nfsd_stop
#
# Grace and lease times are cut to the minimum and the grace period is ended
# at once, so that no test waits 90 seconds for its first OPEN.  A restart
# that must let clients reclaim their state sets NFSD_KEEP_GRACE=1, and
# NFSD_PRE_START names a command run in the VM just before rpc.nfsd (e.g.
# start nfsdcld, nfsd's client tracking for a server in a network namespace).
#
# Clients mount server.test:$NFSD_EXPORT with any NFS version, and the same
# files are at $NFSD_EXPORT in the VM.  Behind that: the guest's / is an
# overlayfs, which cannot be part of an NFSv4 pseudo root, so nfs.conf's
# [exports] rootdir moves the server's export tree to a tmpfs ($NFSD_ROOT);
# $NFSD_EXPORT is bound to the exported directory inside it.

NFSD_EXPORT=/srv/export
NFSD_ROOT=/srv/nfsroot

nfsd_start() {
	local opts=${1:-rw,no_root_squash,insecure,no_subtree_check,fsid=1}
	local data=$NFSD_ROOT$NFSD_EXPORT
	mkdir -p "$NFSD_ROOT"
	mountpoint -q "$NFSD_ROOT" || mount -t tmpfs -o mode=0755 tmpfs "$NFSD_ROOT"
	mkdir -p "$data" "$NFSD_EXPORT"
	mountpoint -q "$data" || mount -t tmpfs -o size=512m tmpfs "$data"
	mountpoint -q "$NFSD_EXPORT" || mount --bind "$data" "$NFSD_EXPORT"
	chmod 0777 "$NFSD_EXPORT"
	nfsconf --set exports rootdir "$NFSD_ROOT"
	echo "$NFSD_EXPORT *($opts)" >/etc/exports

	# nfsd's control filesystem is per network namespace: mount it from
	# inside "server" before rpc.nfsd talks to it.
	mountpoint -q /proc/fs/nfsd && umount /proc/fs/nfsd
	in_ns server mount -t nfsd nfsd /proc/fs/nfsd || return 1
	in_ns server rpcbind -w || return 1
	in_ns server exportfs -ra || return 1
	in_ns server rpc.mountd --no-udp || return 1
	echo 10 >/proc/fs/nfsd/nfsv4leasetime
	echo 10 >/proc/fs/nfsd/nfsv4gracetime
	# lockd's own grace (50 s by default) would hold off delegations.
	echo 10 >/proc/sys/fs/nfs/nlm_grace_period
	[ -z "${NFSD_PRE_START:-}" ] || $NFSD_PRE_START || return 1
	in_ns server rpc.nfsd --no-udp 8 || return 1
	# Not every state accepts it (EBUSY before the first client); the short
	# grace above bounds the wait anyway.
	[ -n "${NFSD_KEEP_GRACE:-}" ] || echo Y 2>/dev/null >/proc/fs/nfsd/v4_end_grace || true
	# Ready when the server answers on 2049.
	local i
	for i in $(seq 100); do
		in_ns client bash -c "exec 3<>/dev/tcp/$SERVER_IP4/2049" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nfsd_start: nfsd does not answer on $SERVER_IP4:2049" >&2
	return 1
}

nfsd_stop() {
	in_ns server rpc.nfsd 0 2>/dev/null
	in_ns server exportfs -ua 2>/dev/null
	pkill -x rpc.mountd 2>/dev/null
	pkill -x rpcbind 2>/dev/null
	umount /proc/fs/nfsd 2>/dev/null
	return 0
}
