# SPDX-License-Identifier: GPL-2.0
# NFS mounts in the client test host (source after nfsd.sh):
#
#   is_nfs_mount MNT       is MNT an NFS mount in /proc/mounts?  (A mount
#                          made in a private mount namespace vanishes: the
#                          directory would then silently be local.)
#   nfs_reads MNT          READ operations of the mount so far (mountstats)
#   nfs_write_check MNT FILE TEXT
#                          TEXT written to MNT/FILE is what the server's
#                          export holds; the file is removed again
#   xprtsec_policy POLICY  the TLS policy of nfsd's export $NFSD_EXPORT
#                          (exports(5) xprtsec=, e.g. tls:mtls) through
#                          nfsd's table /proc/fs/nfsd/xprtsec (kernel/patches
#                          0104), as rpctls-exports(8) writes it: keyed by the
#                          path nfsd sees, so written for the export and for
#                          its place under nfs.conf's rootdir

is_nfs_mount() {
	awk -v m="$1" '$2 == m { print $3 }' /proc/mounts | grep -qx "nfs4\|nfs"
}

nfs_reads() {
	awk -v m="$1" '$1 == "device" { on = ($5 == m) } on && $1 == "READ:" { print $2; exit }' \
		/proc/self/mountstats
}

nfs_write_check() {
	echo "$3" >"$1/$2" && sync || { echo "writing $1/$2 failed"; return 1; }
	[ "$(cat "$NFSD_EXPORT/$2")" = "$3" ] ||
		{ echo "the server's copy of $2 differs"; return 1; }
	rm -f "$1/$2"
}

xprtsec_policy() {
	printf '%s %s\n' "$NFSD_EXPORT" "$1" >/proc/fs/nfsd/xprtsec &&
		printf '%s %s\n' "$NFSD_ROOT$NFSD_EXPORT" "$1" >/proc/fs/nfsd/xprtsec
}
