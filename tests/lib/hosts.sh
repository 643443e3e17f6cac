# SPDX-License-Identifier: GPL-2.0
# The two test hosts with NFS over TLS, in one line: source this file from
# the top of the checkout (in the guest, or in the stock peer) for every
# library a suite of them uses:
#
#   tap.sh          result lines
#   netns.sh        the hosts "server" and "client", in_ns
#   bg.sh           background commands, polling, timing
#   nfsd.sh         nfsd in "server"
#   nfs.sh          NFS mounts in "client", the export's TLS policy
#   tlshd.sh        tlshd in either host, its certificates and keys
#   peer.sh         peer.py in "server"
#   conformance.sh  reports of tests/pynfs-tls/testserver.py
#
# $PY is the Python the suites run ($PYTHON, default python3).
#
#   tls_hosts_up DIR   both hosts, nfsd, certificates in DIR, tlshd in each
#                      host; 0, or 1 with the step that failed in $HOSTS_WHY

PY=${PYTHON:-python3}

. tests/lib/tap.sh
. tests/lib/netns.sh
. tests/lib/bg.sh
. tests/lib/nfsd.sh
. tests/lib/nfs.sh
. tests/lib/tlshd.sh
. tests/lib/peer.sh
. tests/lib/conformance.sh

tls_hosts_up() {
	HOSTS_WHY="test hosts"; netns_setup || return 1
	HOSTS_WHY=nfsd; nfsd_start >/dev/null || return 1
	HOSTS_WHY=certificates; tlshd_pki "$1" || return 1
	HOSTS_WHY="tlshd server"; tlshd_start server "$TLSHD_DIR/server.conf" || return 1
	HOSTS_WHY="tlshd client"; tlshd_start client "$TLSHD_DIR/client.conf" || return 1
	HOSTS_WHY=
}
