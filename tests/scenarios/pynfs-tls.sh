#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The RFC 9289 conformance suite (tests/pynfs-tls) against this project's
# nfsd, from the "client" test host.
#
# 1. The suite against nfsd at 192.0.2.1 with --allow-no-tls: the tests that
#    need no TLS (probe answer, AUTH_TLS on a non-NULL procedure, record
#    marking, NFSv4/v3 in cleartext) must run and pass; the TLS tests are
#    reported as SKIP "server does not offer STARTTLS (server TLS not
#    landed)" until nfsd offers STARTTLS.
# 2. While nfsd does not offer TLS: without --allow-no-tls the suite must
#    fail it (a conformance tool must fail a server that lacks TLS).
# 3. The NFS-over-TLS tests through peer.py: the peer terminates TLS (Python
#    ssl) in the server namespace and relays to the real nfsd, so the NFSv4
#    and NFSv3 tests over TLS run against real NFS replies.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/netns.sh
. tests/lib/nfsd.sh

PY=${PYTHON:-python3}
SUITE=tests/pynfs-tls/testserver.py
work=$(mktemp -d /tmp/pynfs-tls.XXXXXX)
peer_pid=
cleanup() {
	[ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null
	nfsd_stop
}
trap cleanup EXIT

# fsid=0: the export is the root of the NFSv4 namespace ("/" for v4,
# /srv/export for MOUNT v3), so the v4 tests do not depend on the VM's own
# root being exportable (an overlayfs root is not: mountd "Cannot export /").
# lockd's grace period (50 s by default) also holds back delegations, which
# V41CB/V41TLS need: cut it like nfsd_start cuts nfsd's.
netns_setup || { tap_fail "test hosts"; exit 1; }
echo 10 >/proc/sys/fs/nfs/nlm_grace_period
nfsd_start rw,no_root_squash,insecure,no_subtree_check,fsid=0 || { tap_fail "nfsd start"; exit 1; }
EXPORTS=(--export "$NFSD_EXPORT" --v4-export /)

# status CODE JSON: a test's status in a --json report
status() {
	"$PY" -c 'import json, sys
for t in json.load(open(sys.argv[2]))["tests"]:
    if t["code"] == sys.argv[1]:
        print(t["status"])' "$1" "$2"
}

# 1. The whole suite against nfsd.
in_ns client "$PY" "$SUITE" "$SERVER_IP4" "${EXPORTS[@]}" --allow-no-tls \
	--json "$work/nfsd.json" --tap
rc=$?
tap_expect "suite against nfsd exits 0 with --allow-no-tls" 0 "$rc"
for code in PROBE1 PROBE3 RM1 V4NULL V4ROOT V4LOOKUP V4IO V41CB V3NULL V3MNT V3GETATTR; do
	tap_expect "$code really ran and passed against nfsd" PASS "$(status "$code" "$work/nfsd.json")"
done

# 2. Without --allow-no-tls a server without STARTTLS fails the suite.
if [ "$(status PROBE2 "$work/nfsd.json")" = SKIP ]; then
	in_ns client "$PY" "$SUITE" "$SERVER_IP4" PROBE2 TLS1 REC1 --json "$work/strict.json" \
		>"$work/strict.out" 2>&1
	rc=$?
	tap_expect "without --allow-no-tls the suite fails a server without TLS (exit)" 1 "$rc"
	tap_expect "without --allow-no-tls TLS1 is FAIL" FAIL "$(status TLS1 "$work/strict.json")"
else
	tap_skip "strict mode fails a server without TLS" "nfsd offers STARTTLS now"
fi

# 3. NFS over TLS through the peer, relaying to the real nfsd.
"$PY" tests/pynfs-tls/certs.py "$work/pki" --server-name server.test \
	--server-ip "$SERVER_IP4" >"$work/certs.out" 2>&1 ||
	{ tap_fail "certificates: $(cat "$work/certs.out")"; exit 1; }
# exec: $! is then the peer itself (nsenter execs it), which gets the SIGTERM.
(exec nsenter --net=/run/netns/server "$PY" tests/pynfs-tls/peer.py \
	--listen "$SERVER_IP4:20049" --backend "$SERVER_IP4:2049" \
	--cert "$work/pki/server.pem" --key "$work/pki/server.key" \
	--client-ca "$work/pki/ca.pem" --port-file "$work/peer.port" >"$work/peer.log" 2>&1) &
peer_pid=$!
for _ in $(seq 100); do
	[ -s "$work/peer.port" ] && break
	sleep 0.1
done
if [ ! -s "$work/peer.port" ]; then
	tap_fail "peer.py started: $(tail -5 "$work/peer.log")"
	exit 1
fi
in_ns client "$PY" "$SUITE" "$SERVER_IP4:20049" "${EXPORTS[@]}" \
	--ca "$work/pki/ca.pem" --server-name server.test \
	--cert "$work/pki/client.pem" --key "$work/pki/client.key" \
	--json "$work/peer.json" V4TLS1 V4TLS2 V4TLS3 V41TLS V3TLS1 REC3 MTLS5 >"$work/peer-suite.out" 2>&1
rc=$?
tap_expect "suite through peer.py to nfsd exits 0" 0 "$rc"
for code in V4TLS1 V4TLS2 V4TLS3 V41TLS V3TLS1 REC3 MTLS5; do
	tap_expect "$code over TLS through peer.py to nfsd" PASS "$(status "$code" "$work/peer.json")"
done
kill "$peer_pid"
wait "$peer_pid"
tap_expect "peer.py exits 0 on SIGTERM" 0 $?
peer_pid=
grep -q "peer: conn -: stopped" "$work/peer.log" &&
	grep -q "backend: connected to $SERVER_IP4 port 2049" "$work/peer.log"
tap_expect "peer.py relayed to nfsd and logged its stop" 0 $?
if [ "$TAP_FAILED" -gt 0 ]; then
	sed 's/^/# /' "$work/peer-suite.out"
	tail -n 30 "$work/peer.log" | sed 's/^/# /'
fi

tap_done
