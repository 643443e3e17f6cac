#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Our VM's side of the interop suite (tests/pair): the test hosts "server"
# (rpctls.test) and "client" (rpctls-client.test) of tests/pair/net.sh,
# with this repo's kernel, tlshd and rpctls-exports.
#
#   ours.sh client-start [CONF-EXTRA]   tlshd in "client": trusts ca.pem,
#                                       presents rpctls-client.pem for mtls
#   ours.sh client-stop
#   ours.sh server-start                nfsd + tlshd in "server", exports:
#       /srv/tls   xprtsec=tls:mtls   /srv/mtls  xprtsec=mtls   /srv/plain (any)
#   ours.sh server-stop
#   ours.sh sha FILE                    sha256 of FILE (exports: /srv/NAME)
#   ours.sh counter NAME                a counter from /proc/fs/nfsd/tls
#   ours.sh tlsh NS NAME                a counter from NS's /proc/net/tlsh
#   ours.sh freebsd-style-server        peer.py as FreeBSD's rpc.tlsservd would
#                                       answer (TLS 1.3, x.509, no ALPN), relaying
#                                       to nfsd; our client mounts through it
#   ours.sh freebsd-style-client        the conformance suite as a client that
#                                       sends no ALPN, against our nfsd
# The last two print result=ok, or result=fail and why.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/nfsd.sh
. tests/lib/conformance.sh
. tests/pair/net.sh
PKI=/run/pair/pki

# agent NS CONF: build/bin/tlshd in NS, log in /run/pair/ours-tlshd-NS.log
agent() {
	local ns=$1 conf=$2 pid
	modprobe tlsh 2>/dev/null
	nsenter --net=/run/netns/"$ns" build/bin/tlshd -s -c "$conf" \
		>>"/run/pair/ours-tlshd-$ns.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"/run/ours-tlshd-$ns.pid"
	for _ in $(seq 100); do
		[ "$(in_ns "$ns" awk '$1 == "listener_inet" { print $2 }' /proc/net/tlsh)" = 1 ] &&
			{ echo "tlshd in $ns: pid $pid"; return 0; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "ours.sh: tlshd in $ns is not listening: $(tail -n 5 "/run/pair/ours-tlshd-$ns.log")" >&2
	return 1
}

agent_stop() {
	local pid
	pid=$(cat "/run/ours-tlshd-$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "/run/ours-tlshd-$1.pid"
}

client_start() {
	printf '%s\n' '[authenticate.client]' "x509.truststore = ${TRUST:-$PKI/ca.pem}" \
		"x509.certificate = $PKI/rpctls-client.pem" \
		"x509.private_key = $PKI/rpctls-client.key" "$@" >/run/pair/ours-client.conf
	agent client /run/pair/ours-client.conf
}

server_start() {
	local e
	nfsd_start || return 1
	for e in tls mtls plain; do
		mkdir -p "$NFSD_ROOT/srv/$e" "/srv/$e"
		mountpoint -q "$NFSD_ROOT/srv/$e" || mount -t tmpfs -o size=256m tmpfs "$NFSD_ROOT/srv/$e"
		mountpoint -q "/srv/$e" || mount --bind "$NFSD_ROOT/srv/$e" "/srv/$e"
		chmod 0777 "$NFSD_ROOT/srv/$e"
	done
	local o=rw,no_root_squash,insecure,no_subtree_check
	# nfs-utils 2.6.2 (Debian 12) does not know xprtsec=: rpctls-exports
	# reads the same lines and loads the policies into nfsd.
	cat >/etc/exports <<EOF
/srv/tls   *($o,fsid=21,xprtsec=tls:mtls)
/srv/mtls  *($o,fsid=22,xprtsec=mtls)
/srv/plain *($o,fsid=23)
EOF
	sed 's/,xprtsec=[a-z:]*//' /etc/exports >/etc/exports.nfs-utils
	cp /etc/exports /run/pair/ours-exports
	cp /etc/exports.nfs-utils /etc/exports
	in_ns server exportfs -ra || return 1
	in_ns server build/bin/rpctls-exports -f /run/pair/ours-exports || return 1
	printf '%s\n' '[authenticate.server]' "x509.truststore = $PKI/ca.pem" \
		"x509.certificate = $PKI/rpctls.pem" "x509.private_key = $PKI/rpctls.key" \
		>/run/pair/ours-server.conf
	agent server /run/pair/ours-server.conf
	cat /proc/fs/nfsd/xprtsec
}

alpn_none() { in_ns "$1" awk '$1 == "alpn_none" { print $2 }' /proc/net/tlsh; }
fail() { echo "result=fail $*"; exit 1; }

freebsd_style_server() {
	local n0 t0 pid
	n0=$(alpn_none client)
	rm -f /run/pair/fb-peer.port
	nsenter --net=/run/netns/server python3 tests/pynfs-tls/peer.py --mode no-alpn \
		--listen "$PAIR_OURS_IP4:20049" --backend "$PAIR_OURS_IP4:2049" \
		--cert "$PKI/rpctls.pem" --key "$PKI/rpctls.key" \
		--port-file /run/pair/fb-peer.port >/run/pair/fb-peer.log 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 100); do [ -s /run/pair/fb-peer.port ] && break; sleep 0.1; done
	[ -s /run/pair/fb-peer.port ] || fail "peer.py did not start: $(tail -n 3 /run/pair/fb-peer.log)"
	mkdir -p /mnt/fb
	t0=$(date +%s%N)
	in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls,port=20049,retry=0 \
		rpctls.test:/srv/plain /mnt/fb 2>/run/pair/fb-mount.err ||
		{ kill "$pid"; fail "mount: $(cat /run/pair/fb-mount.err)"; }
	echo "ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
	head -c 1048576 /dev/urandom >/tmp/fb.dat
	cp /tmp/fb.dat /mnt/fb/fb.dat && sync
	umount /mnt/fb
	kill "$pid"
	wait "$pid" 2>/dev/null
	cmp -s /tmp/fb.dat /srv/plain/fb.dat || fail "the server's copy differs"
	grep -q "conn [0-9]*: tls-up" /run/pair/fb-peer.log || fail "peer.py saw no TLS session"
	! grep -q "conn [0-9]*: cleartext-rpc" /run/pair/fb-peer.log || fail "an RPC went in clear"
	[ "$(alpn_none client)" -gt "$n0" ] || fail "our client's alpn_none did not count it"
	echo "result=ok"
}

freebsd_style_client() {
	local n0 code st
	n0=$(alpn_none server)
	in_ns client python3 tests/pynfs-tls/testserver.py rpctls.test --no-alpn \
		--export /srv/plain --ca "$PKI/ca.pem" --json /run/pair/fb-client.json \
		V4TLS1 V4TLS2 V41TLS V3TLS1 >/run/pair/fb-client.out 2>&1 ||
		fail "the suite failed: $(grep -E 'FAIL|OMIT' /run/pair/fb-client.out | head -n 3)"
	for code in V4TLS1 V4TLS2 V41TLS V3TLS1; do
		st=$(conformance "$code" /run/pair/fb-client.json)
		[ "$st" = PASS ] || fail "$code: $st"
	done
	[ "$(alpn_none server)" -ge $((n0 + 4)) ] || fail "our server's alpn_none: $n0 -> $(alpn_none server)"
	echo "result=ok"
}

cmd=${1:?usage: ours.sh client-start|client-stop|server-start|server-stop|sha|counter|tlsh ...}
shift
case $cmd in
client-start) client_start "$@" ;;
client-stop) agent_stop client ;;
server-start) server_start ;;
server-stop) agent_stop server; nfsd_stop ;;
sha) sha256sum <"$1" | cut -d" " -f1 ;;
counter) awk -v n="$1" '$1 == n { print $2 }' /proc/fs/nfsd/tls ;;
tlsh) in_ns "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/tlsh ;;
freebsd-style-server) freebsd_style_server ;;
freebsd-style-client) freebsd_style_client ;;
*) echo "ours.sh: unknown command $cmd" >&2; exit 2 ;;
esac
