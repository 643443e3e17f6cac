#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test VM itself: the right kernel, kTLS and NFS available, a writable
# overlay root, no network device, the two test hosts reachable by name.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/netns.sh

rel=$(uname -r)
case "$rel" in 6.1.*) tap_ok "kernel is 6.1 ($rel)" ;; *) tap_fail "kernel is 6.1: got $rel" ;; esac
ulp=$(cat /proc/sys/net/ipv4/tcp_available_ulp)
case " $ulp " in *" tls "*) tap_ok "kTLS ULP available" ;; *) tap_fail "kTLS ULP available: '$ulp'" ;; esac
for fs in nfs nfs4 nfsd; do
	if grep -qw "$fs" /proc/filesystems; then tap_ok "filesystem $fs"; else tap_fail "filesystem $fs missing"; fi
done
tap_run "root overlay is writable" bash -c 'echo x >/etc/rpctls-probe && rm /etc/rpctls-probe'
tap_run "host checkout is visible at the same path" test -f "$PWD/tests/vm/run"
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
tap_expect "no network device but loopback" "lo " "$links"
tap_run "modules directory for $rel" test -d "/lib/modules/$rel"
tap_run "test hosts set up" netns_setup
tap_run "server.test resolves from /etc/hosts" bash -c '[ "$(getent hosts server.test | cut -d" " -f1)" = 192.0.2.1 ]'
tap_run "client reaches server over IPv4 by name" in_ns client ping -c1 -W2 -q server.test
tap_run "client reaches server over IPv6" in_ns client ping -6 -c1 -W2 -q "$SERVER_IP6"
tap_done
