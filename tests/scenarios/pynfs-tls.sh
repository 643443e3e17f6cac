#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The RFC 9289 conformance suite (tests/pynfs-tls) against this project's
# nfsd, from the "client" test host.
#
# 1. The whole suite against nfsd, which offers STARTTLS; tlshd in the
#    server namespace does its handshakes.  Every test must pass, except
#    those skipped for a reason they name.  A few TLS tests again by address.
#    ALPN4 (a ClientHello without ALPN) is a WARN naming the interop
#    allowance: tlshd lets such clients in by default.  With alpn.required
#    it must be refused (and --alpn-strict turns an acceptance into a FAIL);
#    a FreeBSD-style client (--no-alpn) gets NFS over TLS from the default.
# 2. A conformance tool must fail a server that lacks TLS: against peer.py
#    answering the probe without STARTTLS, the strict suite fails, and
#    --allow-no-tls turns the TLS tests into SKIPs.
# 3. The NFS-over-TLS tests through peer.py: the peer terminates TLS (Python
#    ssl) in the server namespace and relays to the real nfsd, so the
#    independent TLS stack is checked against real NFS replies too.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh

SUITE=tests/pynfs-tls/testserver.py
work=$(mktemp -d /tmp/pynfs-tls.XXXXXX)
PIDS=()
cleanup() {
	peer_py_stop_all
	tlshd_stop_all
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
tlshd_pki "$work/pki" || { tap_fail "certificates"; exit 1; }
tlshd_start server || { tap_fail "tlshd in the server namespace"; exit 1; }

# 1. The whole suite against nfsd, strict: nfsd offers STARTTLS and its
#    handshakes are done by tlshd in the server namespace, with the
#    certificates made above.  Every test runs and must pass: the export
#    policy tests (POL1-8) need TLS-only exports and run in nfsd-tls; PSK1
#    does not apply (nfsd asks for x.509 server handshakes only; tlshd's
#    PSK handshakes are tested in tlshd-unit and tlshd).  Neither is run
#    here to be reported as skipped.
CODES=$("$PY" "$SUITE" --list 2>/dev/null |
	awk '$1 != "PSK1" && $2 !~ /(^|,)policy(,|$)/ { print $1 }')
in_ns client "$PY" "$SUITE" server.test "${EXPORTS[@]}" \
	--ca "$work/pki/ca.pem" --cert "$work/pki/client.pem" --key "$work/pki/client.key" \
	--client-auth optional --json "$work/nfsd.json" --tap $CODES
rc=$?
tap_expect "suite against nfsd with TLS exits 0" 0 "$rc"
for code in PROBE1 PROBE2 PROBE3 PROBE4 TLS1 TLS2 TLS3 TLS4 TLS5 ALPN1 ALPN2 ALPN3 \
	RM1 REC1 REC2 REC3 REC4 REC5 MTLS1 MTLS2 MTLS3 MTLS4 MTLS5 V4NULL V4ROOT V4LOOKUP V4IO \
	V4TLS1 V4TLS2 V4TLS3 V41CB V41TLS V3NULL V3MNT V3GETATTR V3TLS1; do
	tap_expect "$code really ran and passed against nfsd" PASS "$(conformance "$code" "$work/nfsd.json")"
done
tap_expect "ALPN4 against the default (interop) tlshd: WARN" WARN "$(conformance ALPN4 "$work/nfsd.json")"
conformance ALPN4 "$work/nfsd.json" reason | grep -q "interop allowance"
tap_expect "ALPN4's warning names the interop allowance" 0 $?
# A FreeBSD-style client: no ALPN at all, NFS over TLS all the same.
n0=$(in_ns server awk '$1 == "alpn_none" { print $2 }' /proc/net/tlsh)
in_ns client "$PY" "$SUITE" server.test "${EXPORTS[@]}" --no-alpn --ca "$work/pki/ca.pem" \
	--json "$work/noalpn.json" V4TLS1 V4TLS2 V41TLS V3TLS1 >"$work/noalpn.out" 2>&1
tap_expect "--no-alpn (FreeBSD-style client): the suite exits 0" 0 $?
for code in V4TLS1 V4TLS2 V41TLS V3TLS1; do
	tap_expect "$code without ALPN" PASS "$(conformance "$code" "$work/noalpn.json")"
done
n1=$(in_ns server awk '$1 == "alpn_none" { print $2 }' /proc/net/tlsh)
[ "$n1" -ge $((n0 + 4)) ]
tap_expect "the server's /proc/net/tlsh counted the ALPN-less sessions ($n0 -> $n1)" 0 $?
# --alpn-strict against the interop default: the suite must fail ALPN4.
in_ns client "$PY" "$SUITE" server.test --ca "$work/pki/ca.pem" --alpn-strict \
	--json "$work/strict-default.json" ALPN4 >/dev/null 2>&1
tap_expect "--alpn-strict fails ALPN4 against a server that lets the client in" FAIL \
	"$(conformance ALPN4 "$work/strict-default.json")"
# tlshd with alpn.required: refused, and PASS even with --alpn-strict.
tlshd_stop server
printf '%s\n' '[authenticate]' 'alpn.required = true' |
	cat "$work/pki/server.conf" - >"$work/server-strict.conf"
tlshd_start server "$work/server-strict.conf" || tap_fail "strict tlshd in the server namespace"
in_ns client "$PY" "$SUITE" server.test --ca "$work/pki/ca.pem" --alpn-strict \
	--json "$work/strict.json" ALPN1 ALPN3 ALPN4 >"$work/strict-alpn.out" 2>&1
tap_expect "alpn.required server: ALPN1 ALPN3 ALPN4 pass --alpn-strict (exit)" 0 $?
tap_expect "alpn.required server: ALPN4 refused" PASS "$(conformance ALPN4 "$work/strict.json")"
tlshd_stop server
tlshd_start server || { tap_fail "tlshd in the server namespace (again)"; exit 1; }

# by address: the certificate's iPAddress SAN names the server
in_ns client "$PY" "$SUITE" "$SERVER_IP4" "${EXPORTS[@]}" --ca "$work/pki/ca.pem" \
	--json "$work/addr.json" PROBE2 TLS1 ALPN1 MTLS5 V4TLS1 >"$work/addr.out" 2>&1
tap_expect "TLS to nfsd by IPv4 address (iPAddress SAN) exits 0" 0 $?
tap_expect "MTLS5 by address" PASS "$(conformance MTLS5 "$work/addr.json")"
if grep -q 'type=server-x509 result=ok' "$work/pki/tlshd-server.log"; then
	tap_ok "nfsd's handshakes were done by tlshd in the server namespace"
else
	tap_fail "nfsd's handshakes were done by tlshd: $(tail -3 "$work/pki/tlshd-server.log")"
fi

# 2. Without --allow-no-tls a server without STARTTLS fails the suite:
#    peer.py answers the probe without STARTTLS.
peer_py_start nostarttls 20050 --mode no-starttls
in_ns client "$PY" "$SUITE" "$SERVER_IP4:20050" PROBE2 TLS1 REC1 --json "$work/strict.json" \
	>"$work/strict.out" 2>&1
rc=$?
tap_expect "without --allow-no-tls the suite fails a server without STARTTLS (exit)" 1 "$rc"
tap_expect "without --allow-no-tls TLS1 is FAIL" FAIL "$(conformance TLS1 "$work/strict.json")"
in_ns client "$PY" "$SUITE" "$SERVER_IP4:20050" PROBE2 TLS1 --allow-no-tls \
	--json "$work/lenient.json" >"$work/lenient.out" 2>&1
tap_expect "with --allow-no-tls TLS1 is SKIP" SKIP "$(conformance TLS1 "$work/lenient.json")"
peer_py_stop nostarttls

# 3. NFS over TLS through the peer, relaying to the real nfsd.
if ! peer_py_start peer 20049 --client-ca "$work/pki/ca.pem"; then
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
	tap_expect "$code over TLS through peer.py to nfsd" PASS "$(conformance "$code" "$work/peer.json")"
done
peer_py_stop peer
tap_expect "peer.py exits 0 on SIGTERM" 0 $?
grep -q "peer: conn -: stopped" "$work/peer.log" &&
	grep -q "backend: connected to $SERVER_IP4 port 2049" "$work/peer.log"
tap_expect "peer.py relayed to nfsd and logged its stop" 0 $?
if [ "$TAP_FAILED" -gt 0 ]; then
	sed 's/^/# /' "$work/peer-suite.out"
	tail -n 30 "$work/peer.log" | sed 's/^/# /'
fi

tap_done
