# SPDX-License-Identifier: GPL-2.0
# Background commands in a test host, polling and timing (source after
# netns.sh; PIDS holds the background commands, bg_stop_all ends them: call
# it from the suite's cleanup).
#
#   bg NS LOG CMD...       run CMD in netns NS in the background; $BG is the
#                          command's own pid (nsenter execs it), $BGLOG its
#                          log; the pid is added to PIDS
#   bg_stop PID [SIGNAL]   stop a command started with bg and its children
#                          (SIGTERM, or SIGNAL, e.g. KILL), then wait for it
#   bg_stop_all [SIGNAL]   stop every command in PIDS and wait for them
#   until_true SEC CMD...  poll CMD every 0.1 s until it succeeds or SEC
#                          seconds pass; returns CMD's last status.  Use it
#                          instead of a fixed sleep wherever a state is
#                          awaited (a listener, a log line, a counter, a mount)
#   log_has LOG PATTERN    does LOG have a line matching PATTERN (grep)?
#   log_count_gt LOG PATTERN N
#                          more than N lines of LOG match PATTERN (a line
#                          written since a count taken before)
#   t_start, t_ms          start a stopwatch; milliseconds since t_start

PIDS=()

bg() {
	local ns=$1
	BGLOG=$2
	shift 2
	nsenter --net=/run/netns/"$ns" "$@" >"$BGLOG" 2>&1 &
	BG=$!
	PIDS+=("$BG")
}

bg_stop() {
	[ -n "$1" ] || return 0
	pkill -"${2:-TERM}" -P "$1" 2>/dev/null
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

bg_stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill -"${1:-TERM}" "$p" 2>/dev/null; done
	[ ${#PIDS[@]} -eq 0 ] || wait "${PIDS[@]}" 2>/dev/null
	return 0
}

until_true() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

log_has() { grep -q -- "$2" "$1"; }
log_count_gt() { [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -gt "$3" ]; }

t_start() { t0=$(date +%s%N); }
t_ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
