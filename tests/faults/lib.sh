# SPDX-License-Identifier: GPL-2.0
# Helpers for the fault suite and the soak (source in the guest after
# netns.sh, nfsd.sh, tlshd.sh, tap.sh and bg.sh; $work is a scratch dir).
#
#   cld_start / cld_stop         nfsdcld in the server host, so that nfsd
#                                records its clients and they can reclaim
#                                their state after a restart (nfsd refuses
#                                legacy and UMH tracking outside init_net)
#   server_reboot [SEC]          the server host torn down and rebuilt: off
#                                the network at once, agent and nfsd
#                                stopped, netns and veth deleted,
#                                SEC seconds down, then all of it back
#   copy_start NAME MNT MB [ARGS] tests/faults/writer.py into MNT/NAME.bin,
#                                O_DIRECT, at most $FAULTS_RATE MiB/s (so
#                                that the fault meets a running copy),
#                                progress in $work/NAME.prog
#   copy_bytes NAME              bytes written so far
#   copy_wait NAME BYTES SEC     until NAME has written BYTES
#   copy_end NAME SEC            wait for the writer; COPY_LINE its verdict
#   copy_check NAME MNT          writer done, server's and client's copies
#                                (read back over the wire) match its sha256;
#                                LOST the bytes that differ or are missing
#   resume_ms NAME TIME          ms from TIME until NAME's next completed
#                                write (-1: none after TIME)
#   max_gap_ms NAME              the longest pause between two completed
#                                writes of NAME
#   cap_stop                     end the running capture now; cap_end NAME
#                                checks it later, even with another running
#   cap_start NAME / cap_end NAME  capture on the server's veth (port 2049
#                                and 20049); CLEAR "marker M calls C" from
#                                pcap-summary.py: the marker in clear and
#                                RPC calls other than NULL in clear (from
#                                pcap-scan.py, by segment, when the former
#                                runs out of memory; neither: a failure)
#   secured_again PORT           every client connection to the server's
#                                PORT is kTLS, and nfsd lists the client's
#                                connections as tls or mtls (PORT 2049)
#   agent_busy NS                the agent in NS holds a handshake
#   now                          seconds since the epoch, with decimals
#   row NAME FAULT MS LOST CLEAR  a line of the result table

FAULTS_MARKER=${FAULTS_MARKER:-RPCTLS-FAULTS-MARKER-5b1e}
FAULTS_RATE=${RPCTLS_FAULTS_RATE:-2}
FAULTS_PIPEFS=/run/faults-pipefs
declare -A COPY_PID
ROWS=()

now() { date +%s.%N | cut -c1-14; }

cld_start() {
	mkdir -p "$FAULTS_PIPEFS" /var/lib/nfs/nfsdcld
	mountpoint -q "$FAULTS_PIPEFS" ||
		in_ns server mount -t rpc_pipefs rpc_pipefs "$FAULTS_PIPEFS" || return 1
	# nsenter itself, not in_ns in a subshell: $! must be nfsdcld's pid
	# (nsenter execs it), or cld_stop kills the subshell and nfsdcld lives
	# on, holding the pipefs mount and with it the namespace
	nsenter --net=/run/netns/server nfsdcld -F -p "$FAULTS_PIPEFS" -s /var/lib/nfs/nfsdcld \
		>>"$work/nfsdcld.log" 2>&1 &
	CLD_PID=$!
	PIDS+=("$CLD_PID")
	# ready when it watches the pipefs with inotify (it opens nfsd/cld
	# once nfsd makes it); nfsd started before that finds no tracker
	# ("Unable to initialize client recovery tracking! (-22)"), which a
	# fixed sleep let happen on a loaded host
	until_true 20 bash -c "ls -l /proc/$CLD_PID/fd 2>/dev/null | grep -q inotify" || {
		echo "nfsdcld not watching $FAULTS_PIPEFS after 20 s: $(tail -2 "$work/nfsdcld.log")" >&2
		return 1
	}
}

cld_stop() {
	[ -z "${CLD_PID:-}" ] || { kill "$CLD_PID" 2>/dev/null; wait "$CLD_PID" 2>/dev/null; }
	CLD_PID=
	mountpoint -q "$FAULTS_PIPEFS" || return 0
	# a pipefs mount left behind pins the server's namespace
	umount "$FAULTS_PIPEFS" 2>/dev/null || {
		echo "cld_stop: $FAULTS_PIPEFS busy: $(fuser -vm "$FAULTS_PIPEFS" 2>&1 | tail -n +2 | tr -s ' \n' ' ')" >&2
		return 1
	}
}

server_reboot() {
	local down=${1:-2}
	# off the network at once, as a host that reboots is: the orderly
	# stops below take seconds, during which clients would go on writing
	in_ns server ip link set veth-s down
	tlshd_stop server
	nfsd_stop
	cld_stop || return 1
	# what would keep the namespace alive: processes, nfsd or pipefs mounts
	[ -z "$(ip netns pids server)" ] || {
		echo "server_reboot: still in the server namespace: $(ip netns pids server | xargs -r ps -o pid=,comm= -p | tr -s ' \n' ' ')" >&2
		return 1
	}
	grep -E " (nfsd|rpc_pipefs) " /proc/mounts | sed 's/^/# mounted: /' >&2
	# What a reboot drops and a namespace keeps: nfsd's connections, left
	# closing (FIN_WAIT1, replies and the FIN unacknowledged) by the stop.
	# Since the CVE-2024-53168 fix (stock 6.1.191) each holds a reference
	# on its namespace and retransmits to the cut-off clients until
	# tcp_orphan_retries gives up, 100-200 s later.  Kill them, as the
	# reboot would; then nothing may keep the namespace alive.
	local closing
	closing=$(in_ns server ss -Htan state fin-wait-1 state fin-wait-2 state closing state last-ack | wc -l)
	in_ns server ss -K -tan >/dev/null
	echo "# server_reboot: $closing nfsd connections still closing after the stop, killed as a reboot would ($(in_ns server ss -Htan | wc -l) TCP sockets left)"
	ip netns del server
	sleep "$down"
	# the namespace goes when its last reference does, in a work item:
	# until then the old veth pair lives on and a new one cannot take its
	# names
	if ! until_true 15 bash -c "! nsenter --net=/run/netns/client ip link show veth-c >/dev/null 2>&1"; then
		echo "server_reboot: the old server namespace still lives 15 s after its deletion, with no process, mount or connection left in it" >&2
		return 1
	fi
	echo "# server_reboot: the old server namespace went"
	ip netns add server
	in_ns server ip link set lo up
	netns_link
	# back on the network: the time to I/O again counts from here, and
	# $REBOOT_UP_HOOK (a capture) starts before any client reconnects
	REBOOT_UP=$(now)
	[ -z "${REBOOT_UP_HOOK:-}" ] || $REBOOT_UP_HOOK
	NFSD_KEEP_GRACE=1 NFSD_PRE_START=cld_start nfsd_start || return 1
	tlshd_start server "$TLSHD_DIR/server.conf"
}

copy_start() {
	local name=$1 mnt=$2 mb=$3
	shift 3
	rm -f "$work/$name.prog" "$work/$name.out" "$NFSD_EXPORT/$name.bin"
	(exec python3 tests/faults/writer.py --out "$mnt/$name.bin" --size "$mb" --direct \
		--marker "$FAULTS_MARKER" --seed "${#name}$mb" --progress "$work/$name.prog" \
		--rate "$FAULTS_RATE" "$@" >"$work/$name.out" 2>&1) &
	COPY_PID[$name]=$!
	PIDS+=("$!")
	echo "$mb" >"$work/$name.mb"
	echo "$*" >"$work/$name.args"
}

copy_bytes() {
	local b
	b=$(tail -n1 "$work/$1.prog" 2>/dev/null | cut -d' ' -f2)
	echo "${b:-0}"
}

copy_wait() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		[ "$(copy_bytes "$1")" -ge "$2" ] && return 0
		kill -0 "${COPY_PID[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	[ "$(copy_bytes "$1")" -ge "$2" ]
}

copy_end() {
	local pid=${COPY_PID[$1]} end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
	if kill -0 "$pid" 2>/dev/null; then
		COPY_LINE="hung: still running after $2 s at $(copy_bytes "$1") bytes"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	COPY_LINE=$(tail -n1 "$work/$1.out")
	case "$COPY_LINE" in done*) return 0 ;; esac
	return 1
}

copy_check() {
	local name=$1 mnt=$2 want got size mb
	LOST=?
	want=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<<"$COPY_LINE")
	[ -n "$want" ] || { echo "the application saw an error: $COPY_LINE"; return 1; }
	mb=$(cat "$work/$name.mb")
	got=$(sha256sum <"$NFSD_EXPORT/$name.bin" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		# the bytes lost: missing at the end, or different
		python3 tests/faults/writer.py --out "$work/$name.want" --size "$mb" \
			--marker "$FAULTS_MARKER" --seed "${#name}$mb" >/dev/null
		size=$(stat -c %s "$NFSD_EXPORT/$name.bin")
		LOST=$(( (mb << 20) - size + $(cmp -l "$work/$name.want" "$NFSD_EXPORT/$name.bin" 2>/dev/null | wc -l) ))
		rm -f "$work/$name.want"
		echo "the server's copy differs from what was written: $LOST bytes lost or wrong"
		return 1
	fi
	echo 3 >/proc/sys/vm/drop_caches
	got=$(sha256sum <"$mnt/$name.bin" | cut -d' ' -f1)
	[ "$got" = "$want" ] || { LOST=read; echo "read back over the wire differs"; return 1; }
	LOST=0
}

resume_ms() {
	awk -v t="$2" '$1 > t { printf "%d\n", ($1 - t) * 1000; found = 1; exit }
		END { if (!found) print -1 }' "$work/$1.prog"
}

max_gap_ms() {
	awk 'NR > 1 && ($1 - p) * 1000 > m { m = ($1 - p) * 1000 } { p = $1 }
		END { printf "%d\n", m }' "$work/$1.prog"
}

cap_start() {
	rm -f "$work/$1.pcap"
	nsenter --net=/run/netns/server tcpdump -i veth-s -U -s 0 -w "$work/$1.pcap" \
		tcp port 2049 or tcp port 20049 >"$work/$1.tcpdump" 2>&1 &
	CAP_PID=$!
	CAP_NAME=$1
	PIDS+=("$CAP_PID")
	until_true 5 grep -q "listening on" "$work/$1.tcpdump"
}

cap_stop() {
	[ -n "${CAP_PID:-}" ] || return 0
	sleep 0.5
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}

cap_end() {
	local m c
	# a capture stopped before (cap_stop) is only checked: the one running
	# now may be another's
	[ "${CAP_NAME:-}" != "$1" ] || cap_stop
	CLEAR="no capture"
	[ -s "$work/$1.pcap" ] || return 1
	# A summary that did not finish is no verdict.  pcap-summary.py
	# reassembles the streams in memory (about 45 times the capture): when
	# that runs out, pcap-scan.py looks at every segment in constant
	# memory instead (a marker split across two segments aside), and the
	# verdict says so.
	if ! python3 tests/mount-helper/pcap-summary.py --marker "$FAULTS_MARKER" "$work/$1.pcap" \
		>"$work/$1.pcapsum" 2>&1 ||
		! python3 tests/mount-helper/pcap-summary.py --port 20049 --marker "$FAULTS_MARKER" \
		"$work/$1.pcap" >>"$work/$1.pcapsum" 2>&1; then
		if ! python3 tests/faults/pcap-scan.py --marker "$FAULTS_MARKER" "$work/$1.pcap" \
			>"$work/$1.pcapscan" 2>&1; then
			CLEAR="pcap-summary.py failed ($(tail -n1 "$work/$1.pcapsum")), pcap-scan.py too ($(tail -n1 "$work/$1.pcapscan"))"
			return 1
		fi
		m=$(awk '/^scan:/ { for (i = 2; i < NF; i++) if ($i == "marker_in_clear") print $(i + 1) }' "$work/$1.pcapscan")
		c=$(awk '/^scan:/ { for (i = 2; i < NF; i++) if ($i == "clear_calls_not_null") print $(i + 1) }' "$work/$1.pcapscan")
		CLEAR="marker $m calls $c (by segment: pcap-summary.py $(tail -n1 "$work/$1.pcapsum" | cut -c1-40))"
		[ "$m" = 0 ] && [ "$c" = 0 ]
		return
	fi
	m=$(awk '/^total:/ { for (i = 1; i <= NF; i++) if ($i == "marker_in_plain") s += $(i + 1) } END { print s + 0 }' "$work/$1.pcapsum")
	c=$(awk '/^total:/ { for (i = 1; i <= NF; i++) if ($i == "clear_calls_not_null") s += $(i + 1) } END { print s + 0 }' "$work/$1.pcapsum")
	CLEAR="marker $m calls $c"
	[ "$m" = 0 ] && [ "$c" = 0 ]
}

secured_again() {
	local port=${1:-2049} n tls bad
	n=$(in_ns client ss -Htn state established dst "$SERVER_IP4:$port" | wc -l)
	tls=$(in_ns client ss -Htni state established dst "$SERVER_IP4:$port" | grep -c "tcp-ulp-tls")
	[ "$n" -ge 1 ] || { echo "no connection to port $port"; return 1; }
	[ "$n" = "$tls" ] || { echo "$n connections to port $port, $tls under kTLS"; return 1; }
	[ "$port" = 2049 ] || return 0
	bad=$(awk -v c="$CLIENT_IP4:" 'index($2, c) == 1 && $3 != "tls" && $3 != "mtls"' /proc/fs/nfsd/tls)
	[ -z "$bad" ] || { echo "nfsd: $bad"; return 1; }
	grep -q "^tcp $CLIENT_IP4:[0-9]* m\?tls " /proc/fs/nfsd/tls ||
		{ echo "nfsd lists no TLS connection from the client"; return 1; }
}

agent_busy() {
	in_ns "$1" awk '$1 == "in_flight" { f = $2 } $1 == "queued" { q = $2 }
		END { exit !(f - q > 0) }' /proc/net/tlsh
}

row() {
	ROWS+=("| $1 | $2 | $3 | $4 | $5 |")
	echo "# result: $1: $2: I/O again after $3 ms, bytes lost $4, cleartext $5"
}

rows_print() {
	local r
	echo "# | case | fault | time to I/O again (ms) | bytes lost | cleartext (marker / RPC calls) |"
	echo "# |---|---|---|---|---|"
	for r in "${ROWS[@]}"; do echo "# $r"; done
}
