#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# LSMs can mediate the handshake agent's accept() on AF_TLSH (issue 15,
# finding 6): accept() hands out the consumer's own socket file
# (proto_ops.accept_file) and must still run security_socket_accept() on
# the listener.  Only on the debug kernel (tests/suites-debug), which has
# the LSM framework and kprobe events: a kprobe counts the hook's calls
# made by the agent.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/bg.sh

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done' EXIT
T=/sys/kernel/tracing
DBG=/sys/kernel/debug/tlsh_test
AGENT=$PWD/build/bin/tlsh-agent
if [ ! -w "$T/kprobe_events" ]; then
	tap_fail "kprobe events: none in this kernel (CONFIG_KPROBE_EVENTS is in kernel/config/debug.config)"
	exit 1
fi
modprobe tlsh && modprobe tlsh_test || { tap_fail "modprobe tlsh tlsh_test"; exit 1; }
echo 'p:tlsh_lsm_accept security_socket_accept' >>"$T/kprobe_events" ||
	{ tap_fail "kprobe on security_socket_accept (CONFIG_SECURITY_NETWORK?)"; exit 1; }
echo 'p:tlsh_sys_accept __sys_accept4' >>"$T/kprobe_events" ||
	{ tap_fail "kprobe on __sys_accept4"; exit 1; }
echo 1 >"$T/events/kprobes/tlsh_lsm_accept/enable"
echo 1 >"$T/events/kprobes/tlsh_sys_accept/enable"
echo >"$T/trace"

ip netns add lsm
nsenter --net=/run/netns/lsm ip link set lo up
in_lsm() { nsenter --net=/run/netns/lsm "$@"; }
bg lsm /tmp/lsm-peer "$AGENT" peer -k -P 4433
until_true 5 grep -q listening /tmp/lsm-peer
bg lsm /tmp/lsm-agent "$AGENT" serve -a ktls -n 2
SERVE=$BG	# the peer is a tlsh-agent too: its TCP accept()s are not counted
until_true 20 grep -q listening /tmp/lsm-agent
for s in 1 2; do
	in_lsm bash -c "echo 'connect $s 127.0.0.1 4433' >$DBG/ctl && echo 'hello $s client_anon' >$DBG/ctl && echo 'wait $s 10000' >$DBG/ctl"
done
# Every accept() the serving agent made on its AF_TLSH listener (an empty
# queue's EAGAIN included, as for TCP) ran the hook; before: none did.
n=$(grep -c "tlsh-agent-$SERVE .*tlsh_lsm_accept:" "$T/trace")
a=$(grep -c "tlsh-agent-$SERVE .*tlsh_sys_accept:" "$T/trace")
[ "$a" -ge 2 ]
tap_expect "the agent called accept() on AF_TLSH at least twice ($a)" 0 $?
tap_expect "each of those accept() calls ran the LSM hook security_socket_accept" "$a" "$n"
grep -q "done" <<<"$(awk '$1 == 1 || $1 == 2' "$DBG/slots")"
tap_expect "... and both handshakes completed" 0 $?
echo 0 >"$T/events/kprobes/tlsh_lsm_accept/enable"
echo 0 >"$T/events/kprobes/tlsh_sys_accept/enable"
echo '-:tlsh_lsm_accept' >>"$T/kprobe_events"
echo '-:tlsh_sys_accept' >>"$T/kprobe_events"
for s in 1 2; do echo "close $s" >"$DBG/ctl"; done
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
ip netns del lsm
tap_done
