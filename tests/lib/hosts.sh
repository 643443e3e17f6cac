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

PY=${PYTHON:-python3}

. tests/lib/tap.sh
. tests/lib/netns.sh
. tests/lib/bg.sh
. tests/lib/nfsd.sh
. tests/lib/nfs.sh
. tests/lib/tlshd.sh
. tests/lib/peer.sh
. tests/lib/conformance.sh
