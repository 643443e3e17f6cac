#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interop: rpctls against a stock Debian 13 host, both ways (host-side
# suite; tests/pair boots the two VMs and tests/pair/net.sh draws the wire).
#
#   our VM: this repo's 6.1 kernel,    stock peer: Debian 13's own 6.12 kernel,
#   tlshd, nfsd + rpctls-exports       ktls-utils' tlshd, nfs-utils 2.8 nfsd
#
# 1. Our client -> stock server: xprtsec=tls (v4.2, v4.1, v3) and mtls;
#    refused with their causes: plaintext on a TLS export, anonymous TLS on
#    an mtls export, a server certificate we do not trust.
# 2. Stock client -> our server: the same, refusals judged by our export
#    policy and counted in /proc/fs/nfsd/tls.
# 3. The conformance suite (tests/pynfs-tls) against the stock server (with
#    a 15 s patience: two emulated VMs on two cores answer slowly): a
#    report per test (build/test-logs/interop-conformance.*), each outcome
#    compared with what mainline is known to do (tests/interop/stock-expected).
# 4. A FreeBSD-style peer (TLS 1.3, x.509, no ALPN): peer.py as the server
#    for our client, the suite (--no-alpn) as the client of our server.
# Each working cell writes a file laced with a marker, drops the page cache,
# reads it back over the wire and compares checksums on both ends; a capture
# of port 2049 must show TLS and no marker in clear.  Figures (mount time,
# MiB/s) go to build/test-logs/interop-matrix.md, which make interop-readme
# copies into README.md.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/pair/lib.sh

SIZE=${RPCTLS_INTEROP_MB:-4}
# the stock peer's handshake agent: ktls-utils' (as shipped), or ours in
# its place (RPCTLS_INTEROP_STOCK_AGENT=rpctls: tlshd over mainline's
# netlink upcall); such a run writes its matrix and conformance report
# to files of their own (-rpctls), the README's stay ktls-utils'
AGENT=${RPCTLS_INTEROP_STOCK_AGENT:-ktls-utils}
SUF=""
[ "$AGENT" = ktls-utils ] || SUF=-$AGENT
BIG=${RPCTLS_INTEROP_BIG_MB:-32}
LOGS=build/test-logs
MATRIX=$LOGS/interop-matrix$SUF.md
CONF=$LOGS/interop-conformance$SUF
mkdir -p "$LOGS"
ROWS=()
trap 'pair_stop' EXIT

# cell SIDE NAME SRC OPTS MB: run tests/interop/cell.sh on SIDE's client;
# its key=value output lands in $C (an associative array) and $LOGS/pair/
declare -A C
cell() {
	local side=$1 name=$2 src=$3 opts=$4 mb=$5 out k v args
	args=$(printf '%q ' "$name" "$src" "$opts" "$mb")
	if [ "$side" = ours ]; then
		out=$(pair_run ours -t 600 "bash tests/interop/cell.sh $args client mv-client")
	else
		out=$(pair_run peer -t 600 "bash tests/interop/cell.sh $args '' \$(. tests/pair/net.sh; pair_net_nic)")
	fi
	printf '%s\n' "$out" >"$LOGS/pair/cell-$name.txt"
	C=()
	while IFS='=' read -r k v; do
		case "$k" in
		kernel:*) C[kernel]+="${k#kernel: }=$v; " ;;
		conn:* | '') ;;
		*) C[$k]=$v ;;
		esac
	done <<<"$out"
}

# server_sha SIDE FILE: the server's own checksum of a file the cell wrote
server_sha() {
	if [ "$1" = ours ]; then pair_run ours "bash tests/interop/ours.sh sha $2"
	else pair_run peer "bash tests/interop/stock.sh sha $2"; fi
}

# works CLIENT-SIDE SERVER-SIDE NAME SRC OPTS MB WANT-XPRTSEC PEER ROLE MODE
works() {
	local cs=$1 ss=$2 name=$3 src=$4 opts=$5 mb=$6 want=$7 peer=$8 role=$9 mode=${10}
	local why="" sha
	cell "$cs" "$name" "$src" "$opts" "$mb"
	if [ "${C[mount]:-}" != ok ]; then
		why="mount failed (rc ${C[mount_rc]:-?}): ${C[mount_err]:-} ${C[kernel]:-}"
	elif [ "${C[xprtsec]:-}" != "$want" ]; then
		why="mounted with xprtsec=${C[xprtsec]:-none}, want $want"
	elif [ -z "${C[sha_read]:-}" ] || [ "${C[sha_read]}" != "${C[sha_written]}" ]; then
		why="read back ${C[sha_read]:-nothing}, wrote ${C[sha_written]:-?} ${C[io_err]:-}"
	else
		sha=$(server_sha "$ss" "${src##*:}/${C[file]}" 2>&1)
		[ "$sha" = "${C[sha_written]}" ] || why="the server's copy differs: $sha"
	fi
	# On the wire: TLS, and nothing in clear but NULL calls (the AUTH_TLS
	# probe; for NFSv3 also mount.nfs's NULL ping of the NFS port).
	if [ -z "$why" ] && [ "$want" != none ]; then
		if [ "${C[tls_connections]:-0}" -lt 1 ]; then
			why="capture: no TLS connection"
		elif [ "${C[clear_calls_not_null]:-1}" != 0 ]; then
			why="capture: ${C[clear_calls_not_null]:-?} RPC calls other than NULL in clear"
		elif [ "${C[marker_in_tls]:-1}" != 0 ] || [ "${C[marker_in_plain]:-1}" != 0 ]; then
			why="capture: the marker crossed the wire in clear"
		fi
	fi
	if [ -z "$why" ]; then
		tap_ok "$name: $peer $role, $mode: ${mb} MiB intact both ends, TLS only on the wire (mount ${C[mount_ms]} ms, write ${C[write_mibs]} MiB/s, read ${C[read_mibs]} MiB/s)"
		ROWS+=("| $peer | $role | $mode | works | ${C[mount_ms]} ms | ${C[write_mibs]} / ${C[read_mibs]} MiB/s ($mb MiB) |")
	else
		tap_fail "$name: $peer $role, $mode: $why"
		ROWS+=("| $peer | $role | $mode | **FAILED**: ${why:0:80} | | |")
	fi
}

# refused CLIENT-SIDE NAME SRC OPTS REGEX PEER ROLE MODE EXPECTED: the mount
# must fail, and REGEX must match its error or the kernel's log of the cell
refused() {
	local cs=$1 name=$2 src=$3 opts=$4 re=$5 peer=$6 role=$7 mode=$8 exp=$9
	cell "$cs" "$name" "$src" "$opts" 1
	local all="${C[mount_err]:-} ${C[kernel]:-}"
	if [ "${C[mount]:-}" = ok ]; then
		tap_fail "$name: $peer $role, $mode: mounted, want refused ($exp)"
		ROWS+=("| $peer | $role | $mode | **not refused** | | |")
	elif grep -Eq -- "$re" <<<"$all"; then
		tap_ok "$name: $peer $role, $mode: refused: $exp (${C[mount_ms]} ms)"
		ROWS+=("| $peer | $role | $mode | refused: $exp | ${C[mount_ms]} ms | |")
	else
		tap_fail "$name: $peer $role, $mode: refused, but not with /$re/: $all"
		ROWS+=("| $peer | $role | $mode | **refused, wrong cause** | | |")
	fi
	[ "${C[marker_in_plain]:-0}" = 0 ] || tap_fail "$name: the marker crossed the wire in clear"
}

# --- the pair ---------------------------------------------------------------------
t0=$SECONDS
if ! pair_start; then
	tap_fail "interop pair: both VMs up"
	exit 1
fi
tap_ok "interop pair up in $((SECONDS - t0)) s: stock peer $(pair_peer_versions | tr '\n' ' ')"
bash tests/interop/mkcerts.sh "$PAIR_XFER/pki" >/dev/null || { tap_fail "PKI"; exit 1; }
pair_run peer "bash tests/interop/stock.sh nfsd-start" >"$LOGS/pair/stock-nfsd.txt" 2>&1 ||
	{ tap_fail "stock nfsd: $(tail -n 3 "$LOGS/pair/stock-nfsd.txt")"; exit 1; }
pair_run peer "bash tests/interop/stock.sh tlshd-start $AGENT" ||
	{ tap_fail "stock tlshd ($AGENT)"; exit 1; }
pair_run ours "bash tests/interop/ours.sh server-start" >"$LOGS/pair/ours-server.txt" 2>&1 ||
	{ tap_fail "our nfsd and tlshd: $(tail -n 3 "$LOGS/pair/ours-server.txt")"; exit 1; }
pair_run ours "bash tests/interop/ours.sh client-start" || { tap_fail "our client tlshd"; exit 1; }
tap_ok "both servers and all four agents started"

# matrix CLIENT SERVER TAG HOST DIRECTION: NFSv4.2, v4.1 and v3 mounts of the
# tls export with xprtsec=tls, then of the mtls export with xprtsec=mtls
matrix() {
	local mode v
	for mode in tls mtls; do
		for v in 4.2 4.1 3; do
			works "$1" "$2" "$3-v${v//./}-$mode" "$4:/srv/$mode" "vers=$v,xprtsec=$mode" \
				"$SIZE" "$mode" "$P" "$5" "NFSv$v xprtsec=$mode"
		done
	done
}

# --- 1. our client -> stock server ----------------------------------------------------
P="Debian 13 (6.12, ktls-utils 1.0)"
[ "$AGENT" = ktls-utils ] || P="Debian 13 (6.12, rpctls tlshd)"
matrix ours peer ours-stock stock.test "our client -> stock server"
works ours peer ours-stock-v42-ip "[2001:db8:5e::2]:/srv/tls" vers=4.2,xprtsec=tls "$SIZE" tls \
	"$P" "our client -> stock server" "NFSv4.2 xprtsec=tls by IPv6 address"
refused ours ours-stock-plain stock.test:/srv/tls vers=4.2 \
	'Operation not permitted|access denied|WRONGSEC' \
	"$P" "our client -> stock server" "plaintext on a tls export" "EPERM (NFS4ERR_WRONGSEC)"
refused ours ours-stock-anon-mtls stock.test:/srv/mtls vers=4.2,xprtsec=tls \
	'Operation not permitted|access denied|WRONGSEC' \
	"$P" "our client -> stock server" "xprtsec=tls on an mtls export" "EPERM (NFS4ERR_WRONGSEC)"
# A CA we do not trust: our client's agent verifies against other-ca.pem.
pair_run ours "bash tests/interop/ours.sh client-stop; TRUST=/run/pair/pki/other-ca.pem bash tests/interop/ours.sh client-start" >/dev/null
refused ours ours-stock-untrusted stock.test:/srv/tls vers=4.2,xprtsec=tls,retry=0 \
	'TLS handshake with server stock.test failed: -13' \
	"$P" "our client -> stock server" "server certificate from an untrusted CA" "EACCES (unknown issuer)"
pair_run ours "bash tests/interop/ours.sh client-stop; bash tests/interop/ours.sh client-start" >/dev/null

# --- 2. stock client -> our server ---------------------------------------------------
n_wrongsec=$(pair_run ours "bash tests/interop/ours.sh counter denied")
matrix peer ours stock-ours rpctls.test "stock client -> our server"
refused peer stock-ours-plain rpctls.test:/srv/tls vers=4.2 \
	'Operation not permitted|access denied' \
	"$P" "stock client -> our server" "plaintext on a tls export" "EPERM (NFS4ERR_WRONGSEC)"
refused peer stock-ours-anon-mtls rpctls.test:/srv/mtls vers=4.2,xprtsec=tls \
	'Operation not permitted|access denied' \
	"$P" "stock client -> our server" "xprtsec=tls on an mtls export" "EPERM (NFS4ERR_WRONGSEC)"
n=$(pair_run ours "bash tests/interop/ours.sh counter denied")
if [ -n "$n" ] && [ -n "$n_wrongsec" ] && [ "$n" -ge $((n_wrongsec + 2)) ]; then
	tap_ok "our nfsd counted the policy refusals in denied ($n_wrongsec -> $n)"
else
	tap_fail "our nfsd's denied counter: $n_wrongsec -> $n (want +2 or more)"
fi
n=$(pair_run ours "bash tests/interop/ours.sh tlsh server alpn_none")
if [ "$AGENT" != ktls-utils ]; then
	# our tlshd on the stock client offers ALPN "sunrpc"
	tap_expect "the stock client, through our tlshd, negotiated ALPN: alpn_none stays 0" 0 "${n:-?}"
elif [ "${n:-0}" -ge 4 ]; then
	tap_ok "the stock client sent no ALPN and our tlshd let it in: alpn_none $n"
else
	tap_fail "our server's /proc/net/tlsh alpn_none is ${n:-?}, want one per stock TLS mount"
fi

# --- figures: one copy of $BIG MiB each way, side by side --------------------------
FIGS=()
fig() { # client-side server-side name src opts label
	works "$1" "$2" "$3" "$4" "$5" "$BIG" "${5##*xprtsec=}" "$P" "$6" "$BIG MiB copy"
	unset 'ROWS[-1]'	# its row goes to the figures' table instead
	FIGS+=("| $6 | ${5%%,*} ${5##*,} | ${C[mount_ms]:-?} ms | ${C[write_mibs]:-?} | ${C[read_mibs]:-?} |")
}
fig ours peer fig-ours-stock stock.test:/srv/tls vers=4.2,xprtsec=tls "our client -> stock server"
fig peer ours fig-stock-ours rpctls.test:/srv/tls vers=4.2,xprtsec=tls "stock client -> our server"
fig ours ours fig-ours-ours rpctls.test:/srv/tls vers=4.2,xprtsec=tls "our client -> our server"

# --- 3. the conformance suite against the stock server ----------------------------------
pair_run ours -t 900 "nsenter --net=/run/netns/client python3 tests/pynfs-tls/testserver.py stock.test \
	--export /srv/plain --tls-export /srv/tls --mtls-export /srv/mtls --tls-export3 /srv/tls \
	--ca /run/pair/pki/ca.pem --cert /run/pair/pki/rpctls-client.pem \
	--key /run/pair/pki/rpctls-client.key --timeout 15 --json /run/pair/conformance.json" \
	>"$CONF.txt" 2>&1
cp "$PAIR_XFER/conformance.json" "$CONF.json" 2>/dev/null
# ALPN1-3 deviate because of ktls-utils' tlshd; ours selects "sunrpc"
EXPECTED=tests/interop/stock-expected
if [ "$AGENT" != ktls-utils ]; then
	EXPECTED=$LOGS/stock-expected$SUF
	grep -v '^ALPN[123] ' tests/interop/stock-expected >"$EXPECTED"
fi
if [ -s "$CONF.json" ]; then
	tap_ok "conformance suite ran against the stock server (report: $CONF.txt)"
	python3 tests/interop/judge.py "$EXPECTED" "$CONF.json" "$CONF.md"
else
	tap_fail "conformance suite against the stock server: no report: $(tail -n 5 "$CONF.txt")"
fi

# --- 4. a FreeBSD-style peer: TLS 1.3, x.509, no ALPN -------------------------------
out=$(pair_run ours -t 300 "bash tests/interop/ours.sh freebsd-style-server" 2>&1)
if grep -q '^result=ok' <<<"$out"; then
	tap_ok "FreeBSD-style server (peer.py no-alpn) -> our client: mount, data intact, alpn=none ($(grep -o 'ms=[0-9]*' <<<"$out"))"
	ROWS+=("| FreeBSD-style (peer.py, OpenSSL, no ALPN) | our client -> its server | NFSv4.2 xprtsec=tls | works (alpn=none) | | |")
else
	tap_fail "FreeBSD-style server -> our client: $out"
	ROWS+=("| FreeBSD-style (peer.py, OpenSSL, no ALPN) | our client -> its server | NFSv4.2 xprtsec=tls | **FAILED** | | |")
fi
out=$(pair_run ours -t 300 "bash tests/interop/ours.sh freebsd-style-client" 2>&1)
if grep -q '^result=ok' <<<"$out"; then
	tap_ok "FreeBSD-style client (pynfs-tls --no-alpn) -> our server: NFSv4.x and v3 over TLS"
	ROWS+=("| FreeBSD-style (pynfs-tls, OpenSSL, no ALPN) | its client -> our server | NFSv4.0/4.1/v3 over TLS | works (alpn=none) | | |")
else
	tap_fail "FreeBSD-style client -> our server: $out"
	ROWS+=("| FreeBSD-style (pynfs-tls, OpenSSL, no ALPN) | its client -> our server | NFSv4.0/4.1/v3 over TLS | **FAILED** | | |")
fi

printf '%s\n' "# Interoperability (tests/interop, $(date -u +%F))" "" \
	"Stock peer: $(pair_peer_versions | tr '\n' ',' | sed 's/,$//; s/,/, /g')" "" \
	"| peer | role | mode | result | mount | write / read |" \
	"|---|---|---|---|---|---|" "${ROWS[@]}" "" \
	"One $BIG MiB copy each way, measured in the same run (both VMs under TCG on a 2-core host," \
	"so the figures compare the directions, not real hardware; our client -> our server runs" \
	"both ends, and both TLS ends, on our VM's 2 vCPUs):" "" \
	"| direction | mount | mount time | write MiB/s | read MiB/s |" "|---|---|---|---|---|" \
	"${FIGS[@]}" >"$MATRIX"
tap_done
