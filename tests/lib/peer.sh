# SPDX-License-Identifier: GPL-2.0
# peer.py (tests/pynfs-tls), the scriptable RPC-with-TLS server, in the
# "server" test host, relaying to nfsd (source after netns.sh, tlshd.sh and
# bg.sh):
#
#   peer_py_start NAME PORT ARGS...
#                          peer.py listening on $SERVER_IP4:PORT, relaying
#                          to $SERVER_IP4:2049, presenting $TLSHD_DIR's
#                          server.pem; ARGS are more of its options (--mode,
#                          --client-ca, ...).  Its output goes to
#                          $PEER_DIR/NAME.log (PEER_DIR defaults to $work);
#                          returns once it listens (its port file), 1 if it
#                          did not start; its pid is PEER_PID[NAME]
#   peer_py_stop NAME      SIGTERM, wait; returns peer.py's exit status
#   peer_py_stop_all       stop every peer started here

declare -A PEER_PID

peer_py_start() {
	local name=$1 port=$2 dir=${PEER_DIR:-$work}
	shift 2
	rm -f "$dir/$name.port"
	bg server "$dir/$name.log" "${PY:-python3}" tests/pynfs-tls/peer.py \
		--listen "$SERVER_IP4:$port" --backend "$SERVER_IP4:2049" \
		--cert "$TLSHD_DIR/server.pem" --key "$TLSHD_DIR/server.key" \
		--port-file "$dir/$name.port" "$@"
	PEER_PID[$name]=$BG
	until_true 30 test -s "$dir/$name.port" && return 0
	echo "# peer.py $name did not start: $(tail -3 "$dir/$name.log")"
	return 1
}

peer_py_stop() {
	local pid=${PEER_PID[$1]:-} rc

	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	unset "PEER_PID[$1]"
	return $rc
}

peer_py_stop_all() {
	local name

	for name in "${!PEER_PID[@]}"; do
		peer_py_stop "$name"
	done
	return 0
}
