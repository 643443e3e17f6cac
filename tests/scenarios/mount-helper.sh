#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The mount helper in place (inside the VM): rpctls-mount installed as
# /sbin/mount.nfs* by make install (the real ones diverted), plain NFS
# mounts and an fstab entry with mount -a through it, xprtsec=auto (no
# agent, a TLS server, a plaintext-only server) with its syslog lines,
# tls/mtls mounts through tlshd with a per-mount certificate, rpctls status
# against the known state, and each failure the helper names: no agent, no
# STARTTLS (peer.py), untrusted, expired, name mismatch, client certificate
# required, WRONGSEC (nfsd's per-export policy) both ways.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh
R=build/bin/rpctls

# --- install into the guest's (overlay) root ---------------------------------
if make -s -C mount-helper install >/tmp/install.log 2>&1 &&
	[ "$(readlink /sbin/mount.nfs)" = /usr/sbin/rpctls-mount ] &&
	[ -x /sbin/mount.nfs.real ] && [ "$(readlink -f /sbin/umount.nfs4)" = /usr/sbin/rpctls ] && [ "$(readlink -f /sbin/mount.nfs4)" = /usr/sbin/rpctls ]; then
	tap_ok "installed as /sbin/mount.nfs, the real one diverted"
else
	tap_fail "install: $(tail -3 /tmp/install.log)"
	exit 1
fi

# syslog: a /dev/log reader, so the audit lines can be checked
rm -f /dev/log
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open("/tmp/syslog.ready", "w").close()
with open("/tmp/syslog", "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' &
SYSLOGPID=$!
until_true 5 test -e /tmp/syslog.ready

netns_setup || { tap_fail "test hosts"; exit 1; }
nfsd_start || { tap_fail "nfsd start"; exit 1; }
modprobe tlsh 2>/dev/null

# --- plain NFS through the helper ----------------------------------------------
plain() { # NAME TYPE OPTS
	local mnt=/mnt/$1
	mkdir -p "$mnt"
	in_ns client mount -t "$2" -o "$3" "server.test:$NFSD_EXPORT" "$mnt" || return 1
	is_nfs_mount "$mnt" || { echo "$mnt is not an NFS mount"; return 1; }
	nfs_write_check "$mnt" "$1.txt" "$1" || return 1
	in_ns client umount "$mnt"
}
tap_run "plain NFSv4.2 mount through the helper" plain v42 nfs4 vers=4.2
tap_run "plain NFSv3 mount through the helper" plain v3 nfs vers=3,proto=tcp,nolock

# --- fstab + mount -a ------------------------------------------------------------
fstab() {
	mkdir -p /mnt/fstab
	cp /etc/fstab /tmp/fstab.orig 2>/dev/null || : >/tmp/fstab.orig
	echo "server.test:$NFSD_EXPORT /mnt/fstab nfs4 vers=4.2,xprtsec=auto 0 0" >>/etc/fstab
	in_ns client mount -a -t nfs4 || return 1
	is_nfs_mount /mnt/fstab || { echo "/mnt/fstab is not an NFS mount"; return 1; }
	grep -q "/mnt/fstab with xprtsec=none\|xprtsec=auto chose plaintext" /tmp/syslog ||
		{ echo "no audit line in syslog: $(tail -3 /tmp/syslog)"; return 1; }
	$R status >/tmp/status.out 2>&1
	grep -q "server.test:$NFSD_EXPORT on /mnt/fstab (nfs4, vers=4.2)" /tmp/status.out &&
		grep -q "security mode:   plaintext" /tmp/status.out &&
		grep -q '^  net:\[[0-9]*\] "client"$' /tmp/status.out ||
		{ echo "status: $(cat /tmp/status.out)"; return 1; }
	in_ns client umount /mnt/fstab
	cp /tmp/fstab.orig /etc/fstab
}
tap_run "fstab entry with xprtsec=auto, mount -a, audit line, status" fstab
sed 's/^/# /' /tmp/status.out | head -30
grep "rpctls" /tmp/syslog | sed 's/^/# syslog: /' | head -5

# --- TLS mounts with tlshd in both hosts (kernels with RPC-with-TLS) --------------
TLSDIR=/tmp/mh-tls
TLSHD_DIR=$TLSDIR	# tests/lib/tlshd.sh: the agents' logs and default confs
# server_cert PEM: the server's agent again, presenting PEM
server_cert() {
	tlshd_stop server
	sed -i "s|^x509.certificate = .*|x509.certificate = $1|" "$TLSDIR/server.conf"
	tlshd_start server
}
tls_mount() { # NAME OPTS -> mounted at /mnt/NAME, a file written and read back
	local mnt=/mnt/$1
	mkdir -p "$mnt"
	in_ns client mount -t nfs4 -o "$2" "server.test:$NFSD_EXPORT" "$mnt" || return 1
	is_nfs_mount "$mnt" || { echo "$mnt is not an NFS mount"; return 1; }
	grep " $mnt " /proc/mounts | grep -q "xprtsec=${3:-tls}" ||
		{ echo "no xprtsec=${3:-tls} in $(grep " $mnt " /proc/mounts)"; return 1; }
	nfs_write_check "$mnt" "$1.txt" "$1" || return 1
}
tls_section() {
	mkdir -p "$TLSDIR"
	if ! bash tlshd/tests/mkcerts.sh "$TLSDIR" >"$TLSDIR/mkcerts.log" 2>&1; then
		tap_fail "TLS certificates: $(tail -2 "$TLSDIR/mkcerts.log")"
		return
	fi
	# the client's agent has no certificate: mtls mounts bring their own
	tlshd_conf "$TLSDIR/client.conf" authenticate.client "x509.truststore=$TLSDIR/ca.pem"
	tlshd_conf "$TLSDIR/server.conf" authenticate.server "x509.truststore=$TLSDIR/ca.pem" \
		"x509.certificate=$TLSDIR/server.pem" "x509.private_key=$TLSDIR/server.key"
	if ! tlshd_start client || ! tlshd_start server; then
		tap_fail "tlshd in both test hosts"
		return
	fi
	export RPCTLS_TLSHD_CONF=$TLSDIR/client.conf
	out=$(in_ns client $R probe --ca "$TLSDIR/ca.pem" --export "$NFSD_EXPORT" server.test 2>&1)
	echo "# $out"
	grep -q "^verdict: ok: the TLS handshake with server.test worked (TLS1.3, .*ALPN sunrpc" <<<"$out" &&
		tap_ok "rpctls probe: handshake, NULL and LOOKUP over TLS with nfsd" ||
		tap_fail "rpctls probe: handshake, NULL and LOOKUP over TLS with nfsd"
	tap_run "xprtsec=tls mount through the helper" tls_mount tls vers=4.2,xprtsec=tls
	$R status >/tmp/status-tls.out 2>&1
	sed 's/^/# /' /tmp/status-tls.out | head -28
	# the known state: the mount, its peer, the kTLS session the client's
	# agent logged (version, cipher), one connection, the agent's count
	local cipher lport
	cipher=$(grep -o 'type=client-[a-z0-9]* result=ok .*cipher=[^ ]*' "$TLSDIR/tlshd-client.log" |
		tail -1 | sed 's/.*cipher=//')
	lport=$(awk '$1 == "device" { on = ($5 == "/mnt/tls") } on && $1 == "xprt:" { print $3; exit }' \
		/proc/self/mountstats)
	if grep -q "security mode:   xprtsec=tls (TLS, server authenticated)" /tmp/status-tls.out &&
		grep -q "peer:            $SERVER_IP4$" /tmp/status-tls.out &&
		grep -Eq "TLS version:     TLS 1.3 \(kTLS; (local port $lport|1 of 1 connection to $SERVER_IP4 port 2049), network namespace \"client\"" /tmp/status-tls.out &&
		grep -q "cipher:          $cipher (record layer: tx sw, rx sw)" /tmp/status-tls.out &&
		grep -q "connections:     1 (each one began with a TLS handshake), transport tcp" /tmp/status-tls.out &&
		[ -n "$cipher" ] &&
		grep -A2 '"client"$' /tmp/status-tls.out | grep -Eq "requests 1 accepted 1 succeeded 1 failed 0"; then
		tap_ok "status: mode, peer, TLS 1.3, cipher $cipher, 1 connection, the client agent's 1 handshake"
	else
		tap_fail "status against the known state (cipher '$cipher' from tlshd's log, local port '$lport')"
	fi
	in_ns client umount /mnt/tls
	tap_run "xprtsec=auto chooses tls with an agent" tls_mount auto vers=4.2,xprtsec=auto
	grep -q "/mnt/auto: xprtsec=auto chose tls" /tmp/syslog &&
		tap_ok "xprtsec=auto audit line (tls)" ||
		tap_fail "xprtsec=auto audit line (tls): $(grep rpctls /tmp/syslog | tail -2)"
	in_ns client umount /mnt/auto
	# per-mount identity: the server's agent verifies the client certificate
	tap_run "xprtsec=mtls with tlscert=/tlskey=" tls_mount mtls \
		"vers=4.2,xprtsec=mtls,tlscert=$TLSDIR/client.pem,tlskey=$TLSDIR/client.key" mtls
	if grep -q 'type=server-x509 result=ok.*subject=".*client\.test' "$TLSDIR/tlshd-server.log"; then
		tap_ok "the server's agent verified the per-mount client certificate"
	else
		tap_fail "the server's agent verified the per-mount client certificate: $(tail -2 "$TLSDIR/tlshd-server.log")"
	fi
	ks=$(grep " /mnt/mtls " /proc/mounts | grep -o 'privkey_serial=[0-9]*' | cut -d= -f2)
	if [ -n "$ks" ] && keyctl describe "$ks" >/dev/null 2>&1; then
		tap_ok "per-mount key in the keyring while mounted"
	else
		tap_fail "per-mount key in the keyring while mounted: '$ks'"
	fi
	in_ns client umount /mnt/mtls
	if [ -n "$ks" ] && ! keyctl describe "$ks" >/dev/null 2>&1 &&
		[ -z "$(ls /run/rpctls/mounts 2>/dev/null)" ]; then
		tap_ok "per-mount keys dropped at umount"
	else
		tap_fail "per-mount keys dropped at umount: key $ks, records: $(ls /run/rpctls/mounts 2>&1)"
	fi
	# another name for the server, one its certificate does not carry
	echo "$SERVER_IP4 alias.test" >>/etc/hosts
	named_failure "name mismatch named (mount by a name the certificate lacks)" \
		vers=4.2,xprtsec=tls,retry=0 "alias.test:$NFSD_EXPORT" \
		"cause: .*does not match the name 'alias.test' checked.*dNSName"
	# an untrusted server certificate: the helper names it
	# stranger.pem: server.test's name and key, signed by a CA nobody trusts
	server_cert "$TLSDIR/stranger.pem"
	named_failure "untrusted server certificate named" vers=4.2,xprtsec=tls,retry=0 \
		"server.test:$NFSD_EXPORT" "cause: the server certificate .* is not trusted"
	peer_section
	wrongsec_section
	tlshd_stop_all
	unset RPCTLS_TLSHD_CONF
}

# named_failure NAME OPTS SPEC REGEX: the mount fails with exit 32 and the
# helper's "cause:" line matches REGEX
named_failure() {
	local name=$1 out rc=0
	t_start
	mkdir -p /mnt/fail
	out=$(in_ns client mount -t nfs4 -o "$2" "$3" /mnt/fail 2>&1) || rc=$?
	echo "$out" | sed 's/^/# /'
	echo "# failed after $(t_ms) ms"
	if is_nfs_mount /mnt/fail; then
		tap_fail "$name: the mount succeeded"
		in_ns client umount /mnt/fail
	elif [ "$rc" != 32 ]; then
		tap_fail "$name: exit $rc, want 32"
	elif grep -Eq "$4" <<<"$out"; then
		tap_ok "$name"
	else
		tap_fail "$name: no /$4/ in the output"
	fi
}

# peer.py (tests/pynfs-tls) in "server" on port 20049, relaying to nfsd;
# its log is $TLSDIR/peer.log
peer_start() { PEER_DIR=$TLSDIR peer_py_start peer 20049 "$@"; }
peer_stop() { peer_py_stop peer; }

peer_section() {
	# timeo/retrans: a server that ends each session right after the
	# handshake (client certificate required) otherwise keeps the kernel
	# retrying for 3 x 60 s
	local opts=vers=4.2,xprtsec=tls,port=20049,retry=0,timeo=30,retrans=1 spec=server.test:$NFSD_EXPORT
	if peer_start --mode no-starttls; then
		named_failure "server without STARTTLS named (peer.py no-starttls, port=20049)" "$opts" "$spec" \
			"cause: server server.test \($SERVER_IP4 port 20049\) does not offer RPC-with-TLS: .*without STARTTLS"
		# auto against the same plaintext-only server: plaintext, logged
		mkdir -p /mnt/autoplain
		if in_ns client mount -t nfs4 -o vers=4.2,xprtsec=auto,port=20049 "$spec" /mnt/autoplain \
			>"$TLSDIR/autoplain.out" 2>&1 && is_nfs_mount /mnt/autoplain &&
			! grep " /mnt/autoplain " /proc/mounts | grep -q xprtsec= &&
			grep -q "/mnt/autoplain: xprtsec=auto chose plaintext: server $SERVER_IP4 port 20049: .*without STARTTLS" /tmp/syslog; then
			tap_ok "xprtsec=auto against a plaintext-only server: plaintext, syslog line"
		else
			tap_fail "xprtsec=auto against a plaintext-only server: $(cat "$TLSDIR/autoplain.out") $(grep autoplain /tmp/syslog)"
		fi
		is_nfs_mount /mnt/autoplain && in_ns client umount /mnt/autoplain
	else
		tap_fail "peer.py no-starttls started"
	fi
	peer_stop
	if peer_start --cert "$TLSDIR/expired.pem"; then
		named_failure "expired server certificate named" "$opts" "$spec" \
			"cause: the server certificate \(CN=server.test\) has expired"
	else
		tap_fail "peer.py with expired.pem started"
	fi
	peer_stop
	if peer_start --client-ca "$TLSDIR/ca.pem" --client-auth required; then
		named_failure "server requiring a client certificate named" "$opts" "$spec" \
			"cause: the server requires a client certificate"
	else
		tap_fail "peer.py --client-auth required started"
	fi
	peer_stop
}

# per-export policy (kernel/patches/0014, 0015): nfsd's table in /proc/fs/nfsd/xprtsec
# (xprtsec_policy, tests/lib/nfs.sh)
wrongsec_section() {
	local spec=server.test:$NFSD_EXPORT
	# The series always has it: a kernel without it lost a patch.
	if [ ! -e /proc/fs/nfsd/xprtsec ]; then
		tap_fail "export refusing the mode named (WRONGSEC): nfsd has no /proc/fs/nfsd/xprtsec (kernel/patches/0015, the policy table, missing from this kernel)"
		return
	fi
	# the server's agent presents server.pem again (not stranger.pem)
	server_cert "$TLSDIR/server.pem"
	xprtsec_policy mtls
	named_failure "export requiring mtls refuses xprtsec=tls, named (WRONGSEC)" \
		vers=4.2,xprtsec=tls,retry=0 "$spec" \
		"cause: the export $NFSD_EXPORT refuses this security mode: LOOKUP over TLS \(without a client\) answered NFS4ERR_WRONGSEC"
	xprtsec_policy tls:mtls
	named_failure "TLS-only export refuses xprtsec=none, named (WRONGSEC)" \
		vers=4.2,xprtsec=none,retry=0 "$spec" \
		"cause: the export $NFSD_EXPORT refuses plaintext transports: LOOKUP without TLS answered NFS4ERR_WRONGSEC"
	xprtsec_policy none:tls:mtls
}

# --- xprtsec=tls|mtls: the checks before the kernel is asked ----------------------
mkdir -p /mnt/tls
out=$(in_ns client mount -t nfs4 -o vers=4.2,xprtsec=tls "server.test:$NFSD_EXPORT" /mnt/tls 2>&1)
rc=$?
if is_nfs_mount /mnt/tls; then
	tap_fail "xprtsec=tls against a plaintext nfsd must not mount"
	in_ns client umount /mnt/tls
elif grep -q "this kernel has no RPC-with-TLS: it refuses the xprtsec= mount option (kernel says: nfs4: Unknown parameter 'xprtsec')" <<<"$out"; then
	# The series always gives the client xprtsec= (0004-0008): a kernel
	# without it lost a patch, which is a failure, not a reason to skip.
	tap_expect "kernel without RPC-with-TLS: named, exit 32" 32 "$rc"
	tap_fail "xprtsec=tls|mtls mounts: this kernel's NFS client has no xprtsec= (kernel/patches/0004-0008 missing)"
elif grep -q "does not offer RPC-with-TLS: the server answered the AUTH_TLS probe without STARTTLS" <<<"$out"; then
	# The helper named it and did not mount in clear; but our nfsd always
	# answers STARTTLS (0010, 0013): a kernel where it does not lost a patch.
	tap_expect "xprtsec=tls against a server without STARTTLS: named, exit 32" 32 "$rc"
	tap_fail "xprtsec=tls|mtls mounts: this nfsd does not answer the probe with STARTTLS (kernel/patches/0010, 0013 missing)"
else
	# the kernel has RPC-with-TLS; no tlshd runs in "client"
	if grep -q "no TLS handshake agent listens in this network namespace for IPv4\|no TLS handshake upcall in this kernel" <<<"$out" &&
		[ "$rc" = 32 ]; then
		tap_ok "xprtsec=tls: no agent named"
	else
		tap_fail "xprtsec=tls: no agent named: exit $rc: $out"
	fi
	tls_section
fi
echo "# $out"

# --- uninstall puts mount.nfs back ---------------------------------------------------
if make -s -C mount-helper uninstall >/tmp/uninstall.log 2>&1 &&
	[ ! -L /sbin/mount.nfs ] && [ -x /sbin/mount.nfs ] && [ ! -e /sbin/mount.nfs.real ] &&
	[ ! -e /usr/sbin/rpctls ]; then
	tap_ok "uninstall restores /sbin/mount.nfs"
else
	tap_fail "uninstall: $(ls -l /sbin/mount.nfs* 2>&1 | tr '\n' ' ') $(tail -3 /tmp/uninstall.log)"
fi
tap_run "plain mount after uninstall" plain after nfs4 vers=4.2

kill "$SYSLOGPID" 2>/dev/null
nfsd_stop
tap_done
