# SPDX-License-Identifier: GPL-2.0
# tlshd in the test hosts (source in the guest, after netns.sh):
#
#   tlshd_pki DIR              throw-away CA and certificates (tlshd/tests/mkcerts.sh)
#                              plus DIR/client.conf and DIR/server.conf
#   tlshd_conf FILE SECTION KEY=VALUE...
#                              a tlshd.conf with one section (e.g.
#                              authenticate.client) and these keys
#   tlshd_start NS [CONF]      start build/bin/tlshd in namespace NS (default
#                              conf: DIR/NS.conf), log to DIR/tlshd-NS.log,
#                              wait until it listens; pid in TLSHD_PID[NS];
#                              $TLSHD_ARGS (e.g. "-w 1") goes on its command line
#   tlshd_listening NS [0|1]   does an agent listen for AF_INET in NS (1, the
#                              default), or does none (0)?
#   tlshd_stop NS              stop it (SIGTERM, then wait)
#   tlshd_stop_all             stop every agent started here
#
# Keys for the agents (also on the host, without netns.sh):
#   tlshd_keyring "$@"         first thing in a script: run it again in a
#                              session keyring of its own, so that the keys
#                              it adds are possessed by it and the agents it
#                              starts, and vanish afterwards
#   hex2bin HEX                the bytes (a PSK from mkcerts.sh's psk.hex)
#
# server.conf presents server.pem and trusts ca.pem for client certificates;
# client.conf trusts ca.pem and presents client.pem when the kernel asks for
# mutual TLS without per-mount serials.

TLSHD_DIR=
declare -A TLSHD_PID

tlshd_pki() {
	TLSHD_DIR=$1
	mkdir -p "$TLSHD_DIR"
	if ! bash tlshd/tests/mkcerts.sh "$TLSHD_DIR" >"$TLSHD_DIR/mkcerts.log" 2>&1; then
		echo "tlshd_pki: mkcerts.sh failed: $(tail -2 "$TLSHD_DIR/mkcerts.log")" >&2
		return 1
	fi
	tlshd_conf "$TLSHD_DIR/client.conf" authenticate.client "x509.truststore=$TLSHD_DIR/ca.pem" \
		"x509.certificate=$TLSHD_DIR/client.pem" "x509.private_key=$TLSHD_DIR/client.key"
	tlshd_conf "$TLSHD_DIR/server.conf" authenticate.server "x509.truststore=$TLSHD_DIR/ca.pem" \
		"x509.certificate=$TLSHD_DIR/server.pem" "x509.private_key=$TLSHD_DIR/server.key"
}

tlshd_conf() {
	local f=$1 kv
	echo "[$2]" >"$f"
	shift 2
	for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}" >>"$f"; done
}

tlshd_keyring() {
	[ "${RPCTLS_TEST_KEYRING:-}" != 1 ] || return 0
	export RPCTLS_TEST_KEYRING=1
	exec keyctl session - "$0" "$@"
}

hex2bin() { python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$1"; }

tlshd_listening() {
	[ "$(in_ns "$1" awk '$1 == "listener_inet" { print $2 }' /proc/net/tlsh 2>/dev/null)" = "${2:-1}" ]
}

tlshd_start() {
	local ns=$1 conf=${2:-$TLSHD_DIR/$1.conf}

	modprobe tlsh 2>/dev/null
	# shellcheck disable=SC2086
	nsenter --net=/run/netns/"$ns" build/bin/tlshd -s -c "$conf" ${TLSHD_ARGS:-} \
		>>"$TLSHD_DIR/tlshd-$ns.log" 2>&1 &
	TLSHD_PID[$ns]=$!
	for _ in $(seq 100); do
		tlshd_listening "$ns" && return 0
		kill -0 "${TLSHD_PID[$ns]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "tlshd_start $ns: not listening: $(tail -3 "$TLSHD_DIR/tlshd-$ns.log")" >&2
	return 1
}

tlshd_stop() {
	local pid=${TLSHD_PID[$1]}

	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "TLSHD_PID[$1]"
	for _ in $(seq 50); do
		tlshd_listening "$1" || return 0
		sleep 0.1
	done
}

tlshd_stop_all() {
	local ns

	for ns in "${!TLSHD_PID[@]}"; do
		tlshd_stop "$ns"
	done
}
