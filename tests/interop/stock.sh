#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The stock Debian 13 peer's side of the interop suite; runs inside the peer
# VM (tests/pair) with Debian's own programs only:
#
#   stock.sh tlshd-start [ktls-utils|rpctls]   the handshake agent, config below
#   stock.sh tlshd-stop
#   stock.sh nfsd-start                        nfsd with the exports below
#   stock.sh nfsd-stop
#   stock.sh sha FILE                          sha256 of FILE
#
#   /srv/tls    xprtsec=tls:mtls    (each export its own tmpfs: nfsd switches
#   /srv/mtls   xprtsec=mtls         exports, and so policies, only at mount
#   /srv/plain  (default: any)       points)
#
# tlshd's configuration (/run/pair/stock-tlshd.conf) is what an admin
# following Debian's README.Debian writes: the server presents stock.pem and
# verifies clients against ca.pem; the client verifies servers against
# ca.pem and presents stock-client.pem when a mount asks for mtls.
set -u
PKI=/run/pair/pki
CONF=/run/pair/stock-tlshd.conf
LOG=/run/pair/stock-tlshd.log
OPTS=rw,no_root_squash,insecure,no_subtree_check

# tlshd PID holds a generic netlink socket: it has opened the handshake
# family (it joins the "tlshd" group right after; /proc/net/netlink shows
# only the first 32 groups, so the join itself cannot be seen there).
tlshd_listening() {
	local inodes
	inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p')
	[ -n "$inodes" ] || return 1
	awk -v list=" $(echo $inodes) " 'NR > 1 && $2 == 16 && index(list, " " $10 " ") { f = 1 }
		END { exit !f }' /proc/net/netlink
}

tlshd_start() {
	local which=${1:-ktls-utils} bin pid
	cat >"$CONF" <<EOF
[debug]
loglevel=1
tls=0
nl=0

[authenticate]
keyrings=.nfs;.nfsd

[authenticate.client]
x509.truststore=$PKI/ca.pem
x509.certificate=$PKI/stock-client.pem
x509.private_key=$PKI/stock-client.key

[authenticate.server]
x509.truststore=$PKI/ca.pem
x509.certificate=$PKI/stock.pem
x509.private_key=$PKI/stock.key
EOF
	case $which in
	ktls-utils) bin=/usr/sbin/tlshd ;;
	rpctls) bin=$PWD/build/bin/tlshd ;;
	*) echo "stock.sh: unknown agent $which" >&2; return 2 ;;
	esac
	modprobe tls 2>/dev/null
	echo "=== $(date +%T) start $which ($bin)" >>"$LOG"
	"$bin" -s -c "$CONF" >>"$LOG" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >/run/stock-tlshd.pid
	for _ in $(seq 100); do
		tlshd_listening "$pid" && { sleep 0.2; echo "tlshd ($which) pid $pid listening"; return 0; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "stock.sh: $which tlshd did not join the handshake group: $(tail -n 5 "$LOG")" >&2
	return 1
}

tlshd_stop() {
	local pid
	pid=$(cat /run/stock-tlshd.pid 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f /run/stock-tlshd.pid
}

nfsd_start() {
	local e
	for e in tls mtls plain; do
		mkdir -p /srv/$e
		mountpoint -q /srv/$e || mount -t tmpfs -o size=256m tmpfs /srv/$e
		chmod 0777 /srv/$e
	done
	cat >/etc/exports <<EOF
/srv/tls   *($OPTS,fsid=11,xprtsec=tls:mtls)
/srv/mtls  *($OPTS,fsid=12,xprtsec=mtls)
/srv/plain *($OPTS,fsid=13)
EOF
	mkdir -p /var/lib/nfs/v4recovery /run/rpcbind
	mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd || return 1
	rpcbind -w || return 1
	exportfs -ra || return 1
	rpc.mountd || return 1
	echo 10 >/proc/fs/nfsd/nfsv4leasetime
	echo 10 >/proc/fs/nfsd/nfsv4gracetime
	echo 10 >/proc/sys/fs/nfs/nlm_grace_period 2>/dev/null
	rpc.nfsd 8 || return 1
	for _ in $(seq 100); do
		bash -c 'exec 3<>/dev/tcp/127.0.0.1/2049' 2>/dev/null && { exportfs -v; return 0; }
		sleep 0.1
	done
	echo "stock.sh: nfsd does not answer on 2049" >&2
	return 1
}

nfsd_stop() {
	rpc.nfsd 0 2>/dev/null
	exportfs -ua 2>/dev/null
	pkill -x rpc.mountd
	pkill -x rpcbind
	return 0
}

cmd=${1:?usage: stock.sh tlshd-start|tlshd-stop|nfsd-start|nfsd-stop|sha ...}
shift
case $cmd in
tlshd-start) tlshd_start "$@" ;;
tlshd-stop) tlshd_stop ;;
nfsd-start) nfsd_start ;;
nfsd-stop) nfsd_stop ;;
sha) sha256sum <"$1" | cut -d" " -f1 ;;
*) echo "stock.sh: unknown command $cmd" >&2; exit 2 ;;
esac
