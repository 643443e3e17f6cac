# SPDX-License-Identifier: GPL-2.0
# Background commands in a test host, and polling (source in the guest,
# after netns.sh; the caller keeps PIDS=() and kills them on exit).
#
#   bg NS LOG CMD...       run CMD in netns NS in the background; $BG is the
#                          command's own pid (nsenter execs it), $BGLOG its
#                          log; the pid is added to PIDS
#   until_true SEC CMD...  poll CMD every 0.1 s until it succeeds or SEC
#                          seconds pass; returns CMD's last status

bg() {
	local ns=$1
	BGLOG=$2
	shift 2
	nsenter --net=/run/netns/"$ns" "$@" >"$BGLOG" 2>&1 &
	BG=$!
	PIDS+=("$BG")
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
