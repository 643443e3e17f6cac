#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our tlshd on a stock kernel: mainline's netlink handshake upcall (Linux
# 6.5+; the Debian 13 peer VM's 6.12), serving the stock NFS client and the
# stock nfsd in place of ktls-utils' tlshd.  Runs as root inside that VM
# from the checkout (the pair harness shares it at the same path):
#
#   tests/tlshd/stock-e2e.sh CERTDIR     (CERTDIR: tlshd/tests/mkcerts.sh output)
#
#   +---------- netns "client" ----------+      +---------- netns "server" ----------+
#   | mount -o xprtsec=tls|mtls  ------------------> nfsd: /srv/export  (tls:mtls)    |
#   |   \--netlink--> our tlshd           |      |       /srv/mtls    (mtls only)    |
#   |                 (client.conf)       |      |   \--netlink--> our tlshd          |
#   +-------------------------------------+      +------------------------------------+
#
# Then ktls-utils' tlshd on one side and ours on the other, both ways.
# Each mount writes a file and reads it back through the other side; every
# check names its cause: the agent's audit line (type, status, peer
# identity, ALPN), the mount's error, the kernel's kTLS counters.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh
tlshd_keyring "$@"

CERTS=${1:?usage: stock-e2e.sh CERTDIR}
W=/tmp/tlshd-stock
TLSHD=$PWD/build/bin/tlshd
rm -rf "$W"
mkdir -p "$W"
AGENTS=()
cleanup() {
	local p
	for p in "${AGENTS[@]}"; do kill "$p" 2>/dev/null; done
	[ -z "${W:-}" ] || [ ! -d /run/pair ] || cp "$W"/*.log /run/pair/ 2>/dev/null
	wait 2>/dev/null
	in_ns client umount -f /mnt/stock 2>/dev/null
	nfsd_stop 2>/dev/null
}
trap cleanup EXIT

[ -x "$TLSHD" ] || { tap_fail "missing $TLSHD (make userspace on the host)"; exit 1; }
cp "$CERTS"/*.pem "$CERTS"/*.key "$W/" && chmod 0600 "$W"/*.key
tlshd_conf "$W/client.conf" authenticate.client "x509.truststore=$W/ca.pem" \
	"x509.certificate=$W/client.pem" "x509.private_key=$W/client.key"
tlshd_conf "$W/server.conf" authenticate.server "x509.truststore=$W/ca.pem" \
	"x509.certificate=$W/server.pem" "x509.private_key=$W/server.key"
tlshd_conf "$W/stranger.conf" authenticate.client "x509.truststore=$W/other-ca.pem"

echo "# kernel $(uname -r); $("$TLSHD" --version)"
modprobe -a tls nfsd nfsv4 2>/dev/null
tap_run "test hosts" netns_setup

# --- the upcall this kernel offers ---------------------------------------------
out=$(in_ns server "$TLSHD" -s -c "$W/server.conf" -u tlsh 2>&1)
tap_expect "no AF_TLSH here: -u tlsh refused, naming it" 1 \
	"$(grep -c 'no AF_TLSH handshake upcall' <<<"$out")"
out=$("$TLSHD" --check -c /etc/tlshd.conf 2>&1)
tap_expect "ktls-utils' installed /etc/tlshd.conf parses as is" "/etc/tlshd.conf: configuration OK" \
	"$(tail -n 1 <<<"$out")"

declare -A AGENT_PID
# agent NS CONF [ktls]: our tlshd (every upcall the kernel has), or
# ktls-utils' /usr/sbin/tlshd; the one running there before is stopped
agent() {
	local ns=$1 conf=$2 which=${3:-ours} n
	stop_agent "$ns"
	n=$(grep -c 'ready (config' "$W/tlshd-$ns.log" 2>/dev/null)
	# nsenter execs tlshd: $! is its pid
	if [ "$which" = ktls ]; then
		nsenter --net=/run/netns/"$ns" /usr/sbin/tlshd -s -c "$conf" >>"$W/ktls-$ns.log" 2>&1 &
		AGENT_PID[$ns]=$!
		sleep 2	# it says nothing when ready; it has joined the group by now
	else
		nsenter --net=/run/netns/"$ns" "$TLSHD" -s -c "$conf" >>"$W/tlshd-$ns.log" 2>&1 &
		AGENT_PID[$ns]=$!
		until_true 30 log_count_gt "$W/tlshd-$ns.log" 'ready (config' "${n:-0}"
	fi
	AGENTS+=("${AGENT_PID[$ns]}")
}
stop_agent() {
	[ -n "${AGENT_PID[$1]:-}" ] || return 0
	kill "${AGENT_PID[$1]}" 2>/dev/null
	wait "${AGENT_PID[$1]}" 2>/dev/null
	unset "AGENT_PID[$1]"
}
agent server "$W/server.conf"
agent client "$W/client.conf"
tap_run "server agent serves the netlink upcall (auto)" \
	grep -q 'ready (config .*, upcall netlink,' "$W/tlshd-server.log"
tap_run "client agent serves the netlink upcall (auto)" \
	grep -q 'ready (config .*, upcall netlink,' "$W/tlshd-client.log"

tap_run "nfsd with a tls:mtls export" nfsd_start \
	"rw,no_root_squash,insecure,no_subtree_check,fsid=1,xprtsec=tls:mtls"
# a second export, mutual TLS only, on a file system of its own
mkdir -p "$NFSD_ROOT/srv/mtls" /srv/mtls
mount -t tmpfs tmpfs "$NFSD_ROOT/srv/mtls" && mount --bind "$NFSD_ROOT/srv/mtls" /srv/mtls
chmod 0777 /srv/mtls
echo "/srv/mtls *(rw,no_root_squash,insecure,no_subtree_check,fsid=2,xprtsec=mtls)" >>/etc/exports
tap_run "an mtls-only export" in_ns server exportfs -ra

# kTLS counters are per network namespace
tls_tx() { in_ns "$1" awk '$1 == "TlsTxSw" { print $2 }' /proc/net/tls_stat; }
tls0=$(tls_tx client) stls0=$(tls_tx server)
audits() { grep -c ' handshake req=' "$W/tlshd-$1.log"; }

# mount_case NAME EXPORT OPTIONS: mount in the client, write, read back
# through the server's file system, unmount; the mount's error on failure
mount_case() {
	local name=$1 export=$2 opts=$3 marker=stock-$RANDOM-$1 out
	out=$(in_ns client bash -c '
		mkdir -p /mnt/stock
		mount -t nfs -o "$2" "server.test:$1" /mnt/stock 2>&1 || exit 1
		grep -q " /mnt/stock nfs" /proc/mounts || { echo "not an NFS mount"; exit 1; }
		echo "$3" >/mnt/stock/"$4" && sync && cat /mnt/stock/"$4"
		rc=$?; umount /mnt/stock; exit $rc' _ "$export" "$opts" "$marker" "$name.txt" 2>&1)
	LAST=$out
	if [ "$(tail -n 1 <<<"$out")" = "$marker" ] && [ "$(cat "$export/$name.txt" 2>/dev/null)" = "$marker" ]; then
		tap_ok "$name: mounted, written, read back on both sides"
	else
		tap_fail "$name: $out"
	fi
}
# audit NAME LOG PATTERN: the last handshake line of that agent says it
audit() {
	local line
	line=$(grep ' handshake req=' "$W/tlshd-$2.log" | tail -n 1)
	if grep -qE -- "$3" <<<"$line"; then
		tap_ok "$1"
	else
		tap_fail "$1: want /$3/ in: ${line:-no handshake line}"
	fi
}

mount_case "v4.2 xprtsec=tls" /srv/export vers=4.2,xprtsec=tls
audit "tls: client audit line (client-anon, server verified)" client \
	'type=client-anon result=ok status=0 version=TLS1.3 .*auth=peer-verified .*subject="CN=server.test"'
audit "tls: server audit line (server-x509, no client certificate)" server \
	'type=server-x509 result=ok status=0 .*auth=peer-anonymous peerid=0'
mount_case "v4.2 xprtsec=mtls" /srv/export vers=4.2,xprtsec=mtls
audit "mtls: client presents its certificate (client-x509)" client \
	'type=client-x509 result=ok status=0'
audit "mtls: server verified it and reported its identity" server \
	'type=server-x509 result=ok status=0 .*auth=peer-verified peerid=[1-9][0-9]* .*subject="CN=client.test"'
mount_case "v4.1 xprtsec=tls" /srv/export vers=4.1,xprtsec=tls
mount_case "v3 xprtsec=tls" /srv/export vers=3,xprtsec=tls
mount_case "mtls-only export, xprtsec=mtls" /srv/mtls vers=4.2,xprtsec=mtls

# refusals, each for its cause
n0=$(audits server)
out=$(in_ns client bash -c 'mkdir -p /mnt/stock; mount -t nfs -o vers=4.2,xprtsec=tls server.test:/srv/mtls /mnt/stock 2>&1; rc=$?; umount /mnt/stock 2>/dev/null; exit $rc')
rc=$?
if [ $rc -ne 0 ] && [ "$(audits server)" -gt "$n0" ]; then
	tap_ok "mtls-only export refused to a TLS client without a certificate (handshake ok, no peer identity: $(tail -n 1 <<<"$out"))"
else
	tap_fail "mtls-only export with xprtsec=tls: exit $rc: $out"
fi
agent client "$W/stranger.conf"
out=$(in_ns client timeout 120 bash -c 'mkdir -p /mnt/stock; mount -t nfs -o vers=4.2,xprtsec=tls,retry=0 server.test:/srv/export /mnt/stock 2>&1; rc=$?; umount /mnt/stock 2>/dev/null; exit $rc')
rc=$?
[ $rc -ne 0 ] || tap_fail "a server the client does not trust: mounted"
audit "a server the client does not trust: EACCES, the chain named" client \
	'type=client-anon result=fail status=EACCES .*reason="peer certificate: unknown issuer'

# --- against ktls-utils' tlshd on the other side (it sends no ALPN) ---------------
# ktls-utils reads the same configuration format: the same files serve it
agent client "$W/client.conf"
agent server "$W/server.conf" ktls
mount_case "our client, ktls-utils' server: xprtsec=tls" /srv/export vers=4.2,xprtsec=tls
audit "our client let a server without ALPN in, said so (alpn=none)" client \
	'type=client-anon result=ok status=0 .*alpn=none auth=peer-verified'
mount_case "our client, ktls-utils' server: mtls-only export" /srv/mtls vers=4.2,xprtsec=mtls
audit "our client presented its certificate to ktls-utils' server" client \
	'type=client-x509 result=ok status=0 .*alpn=none'
agent server "$W/server.conf"
agent client "$W/client.conf" ktls
mount_case "ktls-utils' client, our server: xprtsec=tls" /srv/export vers=4.2,xprtsec=tls
audit "our server let a client without ALPN in, said so (alpn=none)" server \
	'type=server-x509 result=ok status=0 .*alpn=none auth=peer-anonymous'
mount_case "ktls-utils' client, our server: mtls-only export" /srv/mtls vers=4.2,xprtsec=mtls
audit "our server verified ktls-utils' client certificate, reported its identity" server \
	'type=server-x509 result=ok status=0 .*alpn=none auth=peer-verified peerid=[1-9]'
stop_agent client

tls1=$(tls_tx client) stls1=$(tls_tx server)
tap_run "kTLS carried the mounts (TlsTxSw client $tls0 -> $tls1, server $stls0 -> $stls1)" \
	test "$tls1" -ge $((tls0 + 6)) -a "$stls1" -ge $((stls0 + 6))
for ns in server client; do
	if grep -q 'error:' "$W/tlshd-$ns.log"; then
		tap_fail "$ns agent logged errors"
		grep 'error:' "$W/tlshd-$ns.log" | head -n 5 | sed 's/^/#   /'
	else
		tap_ok "$ns agent logged no errors ($(audits "$ns") handshakes)"
	fi
done
tap_done
