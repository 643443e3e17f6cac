#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# AF_TLSH, the TLS handshake upcall, end to end in the VM: tlsh.ko, the
# test consumer tlsh_test.ko (debugfs) and the fake agent
# build/bin/tlsh-agent (tests/tlsh/tlsh-agent.c).
#
#   +----------------------------- netns per block ------------------------------+
#   |  tlsh_test (kernel consumer)  --TCP-->  tlsh-agent peer (user, kTLS, echo)  |
#   |        | request                                                            |
#   |        v                                                                    |
#   |  AF_TLSH listener  <--accept/getsockopt/setsockopt--  tlsh-agent serve      |
#   +-----------------------------------------------------------------------------+
#
# Each block runs in a fresh network namespace, so the counters in its
# /proc/net/tlsh start at zero and are checked by exact value.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/netns.sh
. tests/lib/bg.sh
. tests/lib/tlsh_test.sh

AGENT=$PWD/build/bin/tlsh-agent
TRACE=/sys/kernel/tracing
LOGS=/tmp/tlsh-logs
mkdir -p "$LOGS"
PIDS=()

cleanup() { bg_stop_all KILL; }
trap cleanup EXIT

# The agent is built on the host (make); build it here if it is missing.
if [ ! -x "$AGENT" ] || [ tests/tlsh/tlsh-agent.c -nt "$AGENT" ]; then
	AGENT=/tmp/tlsh-agent
	gcc -O2 -Wall -I tlsh-kmod/include/uapi -o "$AGENT" tests/tlsh/tlsh-agent.c ||
		{ tap_fail "build tlsh-agent"; exit 1; }
fi

ns_new() {
	ip netns del "$1" 2>/dev/null
	ip netns add "$1" && nsenter --net=/run/netns/"$1" ip link set lo up
}
# stats NS: every counter on one line
stats() {
	in_ns "$1" awk '{ printf "%s=%s ", $1, $2 }' /proc/net/tlsh
}
# block NS [PEER-OPTION...]: a fresh namespace NS (also $NS) with the echo
# peer listening on 4433 in it, log $LOGS/NS-peer
block() {
	NS=$1
	shift
	ns_new "$NS"
	bg "$NS" "$LOGS/$NS-peer" "$AGENT" peer "$@" -P 4433
	until_true 5 log_has "$LOGS/$NS-peer" listening
}
# agent LOG SERVE-ARGS...: the fake agent in $NS, log $LOGS/LOG (or the path
# LOG), waited for until it listens; its pid in $A
agent() {
	local log=$1
	shift
	[[ "$log" == /* ]] || log=$LOGS/$log
	bg "$NS" "$log" "$AGENT" serve "$@"
	A=$BG
	agent_up "$NS"
}
# agent_up NS [FAMILY]: the agent just started with bg listens
agent_up() {
	until_true 20 log_has "$BGLOG" listening &&
		tlsh_stat_is "$1" "listener_${2:-inet}" 1
}
# req_line LOG: the agent's first "req" line without its id
req_line() { sed -n 's/^req id=[0-9]* //p' "$1" | head -n 1; }
close_slots() {
	local s
	for s in "$@"; do tt "${NS:-x}" close "$s" >/dev/null; done
}

# --- modules ---
tap_run "modprobe tlsh" modprobe tlsh
tap_run "modprobe tlsh_test" modprobe tlsh_test
tap_run "/proc/net/tlsh exists" test -r /proc/net/tlsh
tap_run "debugfs control of tlsh_test" test -w "$DBG/ctl"
dmesg -c >/dev/null
echo 1 >"$TRACE/events/tlsh/enable"
echo >"$TRACE/trace"

# --- listener rules ---
NS=rules
ns_new $NS
in_ns $NS "$AGENT" rules
tap_expect "bind without CAP_NET_ADMIN in the netns's user ns: EPERM" EPERM \
	"$(unshare -U -r "$AGENT" bind inet)"
tap_expect "bind in a netns owned by the caller's own user ns" ok \
	"$(unshare -U -r -n "$AGENT" bind inet)"

# --- namespace isolation, no agent: fast failure ---
ns_new iso-a
ns_new iso-b
bg iso-a "$LOGS/iso-peer" "$AGENT" peer -P 4433
bg iso-b "$LOGS/iso-peerb" "$AGENT" peer -P 4433
bg iso-a "$LOGS/iso-agent" "$AGENT" serve -a fail -s 5 -n 1
A=$BG
agent_up iso-a
until_true 5 log_has "$LOGS/iso-peerb" listening
tap_expect "consumer in a netns without agent: connect" OK "$(tt iso-b connect 1 127.0.0.1 4433)"
t_start
tap_expect "no agent in the consumer's netns: ESRCH" "No such process" \
	"$(tt iso-b hello 1 client_anon)"
ms=$(t_ms)
# (the time includes starting bash and nsenter under the emulator)
if [ $ms -lt 3000 ]; then tap_ok "no agent fails at once (${ms} ms)"; else tap_fail "no agent fails at once: took ${ms} ms"; fi
tap_expect "no agent: done is never called" none "$(field 1 req)"
tap_expect "no agent: counted in no_agent, not in requests" "1 0" \
	"$(tlsh_stat iso-b no_agent) $(tlsh_stat iso-b requests)"
tap_expect "the other netns's agent saw nothing" 0 "$(tlsh_stat iso-a requests)"
tap_expect "consumer beside the agent: connect" OK "$(tt iso-a connect 2 127.0.0.1 4433)"
tap_expect "consumer beside the agent: queued" OK "$(tt iso-a hello 2 client_anon)"
tt iso-a wait 2 10000 >/dev/null
tap_expect "the agent of the consumer's own netns answered" "done -5" \
	"$(field 2 req) $(field 2 status)"
bg_stop "$A" KILL
NS=iso-a close_slots 1 2
ip netns del iso-a
ip netns del iso-b

# --- every handshake type's parameters round trip ---
block params
check_params() {
	local name=$1 want=$2 hello=$3 log=$LOGS/params-$1
	agent "$log" -a fail -s 5 -n 1
	tt $NS connect 3 127.0.0.1 4433 >/dev/null
	tap_expect "$name: request queued" OK "$(tt $NS hello 3 $hello)"
	tt $NS wait 3 10000 >/dev/null
	wait "$BG"
	tap_expect "$name: parameters read by the agent" "$want" "$(req_line "$log")"
	tap_expect "$name: agent's report accepted" 1 "$(grep -c 'report=OK' "$log")"
	tap_expect "$name: done with the reported EIO" "done -5 0" \
		"$(field 3 req) $(field 3 status) $(field 3 peerid)"
	tt $NS close 3 >/dev/null
}
check_params client_anon \
	"type=1 flags=0 peername=server.test cert=0 privkey=0 keyring=7 timeout=5000 prio=SECURE256:+VERS-TLS1.3 psk=-" \
	"client_anon peername=server.test keyring=7 timeout=5000 prio=SECURE256:+VERS-TLS1.3"
check_params client_x509 \
	"type=2 flags=0 peername=nfs.example.org cert=11 privkey=12 keyring=0 timeout=20000 prio=- psk=-" \
	"client_x509 peername=nfs.example.org cert=11 privkey=12"
check_params client_psk \
	"type=3 flags=0 peername=- cert=0 privkey=0 keyring=8 timeout=1234 prio=- psk=21,22,23" \
	"client_psk psk=21,22,23 keyring=8 timeout=1234"
check_params server_x509 \
	"type=4 flags=1 peername=- cert=31 privkey=32 keyring=9 timeout=20000 prio=- psk=-" \
	"server_x509 cert=31 privkey=32 keyring=9 flags=1"
check_params server_x509_agent_cert \
	"type=4 flags=0 peername=- cert=0 privkey=0 keyring=9 timeout=20000 prio=- psk=-" \
	"server_x509 keyring=9"
check_params server_psk \
	"type=5 flags=0 peername=- cert=0 privkey=0 keyring=41 timeout=20000 prio=NORMAL psk=-" \
	"server_psk keyring=41 prio=NORMAL"
tt $NS connect 3 127.0.0.1 4433 >/dev/null
tap_expect "client_x509 without a key: EINVAL" "Invalid argument" "$(tt $NS hello 3 client_x509 cert=1)"
tap_expect "client_psk without an identity: EINVAL" "Invalid argument" "$(tt $NS hello 3 client_psk)"
tap_expect "17 PSK identities: EINVAL" "Invalid argument" \
	"$(tt $NS hello 3 client_psk psk=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17)"
tap_expect "peer-cert-required on a client: EINVAL" "Invalid argument" "$(tt $NS hello 3 client_anon flags=1)"
tap_expect "a timeout over the maximum: EINVAL" "Invalid argument" "$(tt $NS hello 3 client_anon timeout=600001)"
tap_expect "server_x509 with a certificate but no key: EINVAL" "Invalid argument" \
	"$(tt $NS hello 3 server_x509 cert=1)"
tap_expect "server_x509 with a key but no certificate: EINVAL" "Invalid argument" \
	"$(tt $NS hello 3 server_x509 privkey=2)"
tt $NS close 3 >/dev/null
tap_expect "params: counters" "requests=6 accepted=6 succeeded=0 failed=6 failed_eacces=0 failed_ekeyrejected=0 failed_enokey=0 failed_eprotonosupport=0 failed_etimedout=0 failed_econnreset=0 failed_einval=0 failed_enomem=0 failed_eio=6 failed_eproto=0 failed_epipe=0 failed_other=0 timed_out=0 cancelled=0 no_agent=0 alpn_none=0 requeued=0 in_flight=0 queued=0 listener_inet=0 listener_inet6=0 " \
	"$(stats $NS)"
ip netns del $NS

# --- each failure report reaches the consumer, counted by reason ---
block fail
for e in 13:eacces 129:ekeyrejected 126:enokey 93:eprotonosupport 110:etimedout 104:econnreset 5:eio 1:other; do
	n=${e%%:*}
	agent fail-$n -a fail -s "$n" -n 1
	tt $NS connect 4 127.0.0.1 4433 >/dev/null
	tt $NS hello 4 client_anon >/dev/null
	tt $NS wait 4 10000 >/dev/null
	wait "$BG"
	tap_expect "report errno $n reaches done as -$n" "done -$n" "$(field 4 req) $(field 4 status)"
	tap_expect "report errno $n counted as failed_${e#*:}" 1 "$(tlsh_stat $NS "failed_${e#*:}")"
	tt $NS close 4 >/dev/null
done
tap_expect "failure counters" "8 8 0" "$(tlsh_stat $NS failed) $(tlsh_stat $NS requests) $(tlsh_stat $NS succeeded)"
ip netns del $NS

# --- success: kTLS installed by the agent carries data both ways ---
echo >"$TRACE/trace"
block ok -k
agent ok-agent -a ktls -p 777 -n 2
tt $NS connect 5 127.0.0.1 4433 >/dev/null
tap_expect "client hello queued" OK "$(tt $NS hello 5 client_anon peername=server.test)"
tap_expect "client hello done in time" OK "$(tt $NS wait 5 10000)"
tap_expect "client hello succeeded with the agent's peer id" "done 0 777" \
	"$(field 5 req) $(field 5 status) $(field 5 peerid)"
tap_expect "kernel sends through kTLS" OK "$(tt $NS send 5 ping-from-kernel)"
tap_expect "kernel receives through kTLS" OK "$(tt $NS recv 5 5000)"
tap_expect "the peer decrypted and echoed the data" "23 ping-from-kernel" \
	"$(field 5 rxtype) $(field 5 rx)"
tap_run "the peer saw the plaintext" log_has "$LOGS/ok-peer" "rx ping-from-kernel"
id=$(sed -n 's/^req id=\([0-9]*\) .*/\1/p' "$LOGS/ok-agent" | head -n 1)
tap_run "trace: tlsh_queued" grep -q "tlsh_queued: id=$id type=1 family=2 timeout_ms=20000" "$TRACE/trace"
tap_run "trace: tlsh_accepted" grep -q "tlsh_accepted: id=$id type=1" "$TRACE/trace"
tap_run "trace: tlsh_getsockopt of TLSH_TYPE" grep -q "tlsh_getsockopt: id=$id optname=1 err=0" "$TRACE/trace"
tap_run "trace: tlsh_report" grep -q "tlsh_report: id=$id status=0 peerid=777" "$TRACE/trace"
tap_run "trace: tlsh_done" grep -q "tlsh_done: id=$id status=0 peerid=777" "$TRACE/trace"
# server side: the kernel accepts, the agent does a server hello
tt $NS listen 6 127.0.0.1 5001 >/dev/null
bg $NS "$LOGS/ok-client" "$AGENT" client -k -P 5001 -m pong-from-user
tap_expect "kernel accepts a connection" OK "$(tt $NS accept 7 6)"
tap_expect "server hello queued" OK "$(tt $NS hello 7 server_x509 cert=1 privkey=2)"
tt $NS wait 7 10000 >/dev/null
tap_expect "server hello succeeded" "done 0 777" "$(field 7 req) $(field 7 status) $(field 7 peerid)"
tt $NS send 7 hi-from-server >/dev/null
tap_expect "server side receives through kTLS" OK "$(tt $NS recv 7 5000)"
tap_expect "server side: the client's reply" "23 pong-from-user" "$(field 7 rxtype) $(field 7 rx)"
tap_run "the client decrypted the server's data" until_true 5 log_has "$LOGS/ok-client" "rx hi-from-server"
tap_run "kTLS in use (/proc/net/tls_stat)" in_ns $NS awk '$1 == "TlsCurrTxSw" && $2 >= 2 { f = 1 } END { exit !f }' /proc/net/tls_stat
tap_expect "success counters" "2 2 2 0 0" \
	"$(tlsh_stat $NS requests) $(tlsh_stat $NS accepted) $(tlsh_stat $NS succeeded) $(tlsh_stat $NS failed) $(tlsh_stat $NS in_flight)"
NS=ok close_slots 5 6 7
ip netns del $NS

# --- a success report without kTLS is refused ---
block noktls
agent noktls-agent -a noktls -p 5 -n 1
tt $NS connect 8 127.0.0.1 4433 >/dev/null
tt $NS hello 8 client_anon >/dev/null
tt $NS wait 8 10000 >/dev/null
wait "$BG"
tap_run "the agent's fake success report gets EPROTO" log_has "$LOGS/noktls-agent" "report=EPROTO"
tap_expect "the consumer gets -EPROTO and no peer id" "done -71 0" "$(field 8 req) $(field 8 status) $(field 8 peerid)"
tap_expect "counted as failed_eproto" "1 1 0" "$(tlsh_stat $NS failed) $(tlsh_stat $NS failed_eproto) $(tlsh_stat $NS succeeded)"
NS=noktls close_slots 8
ip netns del $NS

# --- the trust anchor reaches the consumer; a failed accept() gives the
# request back; closing without a report ends at the timeout ---
block anchor -k
long=$(printf 'CN=%0200d' 0)
agent anchor-agent -a ktls -p 5 -n 2 -b -A "CN=test-CA(x509.truststore)"
tt $NS connect 15 127.0.0.1 4433 >/dev/null
t_start
tt $NS hello 15 client_x509 cert=1 privkey=2 timeout=20000 >/dev/null
tt $NS wait 15 10000 >/dev/null
ms=$(t_ms)
tap_run "an accept() with an unwritable address fails with EFAULT" \
	log_has "$LOGS/anchor-agent" "accept-badaddr=EFAULT"
tap_expect "... and the request, put back, is taken by the next accept() at once (${ms} ms)" \
	"done 0 5" "$(field 15 req) $(field 15 status) $(field 15 peerid)"
tap_expect "counters: requeued once, accepted twice, one success" "1 2 1" \
	"$(tlsh_stat $NS requeued) $(tlsh_stat $NS accepted) $(tlsh_stat $NS succeeded)"
tap_expect "the consumer gets the anchor the agent reported (TLSH_PEER_ANCHOR)" \
	"CN=test-CA(x509.truststore)" "$(field 15 anchor)"
tt $NS close 15 >/dev/null
bg_stop "$BG" KILL
agent anchor-agent2 -a ktls -p 5 -n 1 -A "$long"
tt $NS connect 16 127.0.0.1 4433 >/dev/null
tt $NS hello 16 client_anon >/dev/null
tt $NS wait 16 10000 >/dev/null
tap_expect "a longer anchor is cut to TLSH_ANCHOR_MAX - 1 bytes" 127 "$(field 16 anchor | tr -d '\n' | wc -c)"
tt $NS close 16 >/dev/null
bg_stop "$BG" KILL
# The agent closes its fd without a report: the kernel cannot tell (the fd
# is the consumer's own socket file), so the request ends at its timeout.
# (-n 2: the agent keeps its listener, whose release would end it at once
# with EPIPE.)
agent anchor-agent3 -a close -n 2
tt $NS connect 17 127.0.0.1 4433 >/dev/null
t_start
tt $NS hello 17 client_anon timeout=1500 >/dev/null
tt $NS wait 17 10000 >/dev/null
ms=$(t_ms)
tap_run "the agent closed its fd without a report" log_has "$LOGS/anchor-agent3" "closed"
tap_expect "closing without a report: -ETIMEDOUT at the request's timeout" "done -110" \
	"$(field 17 req) $(field 17 status)"
if [ $ms -ge 1400 ]; then tap_ok "... not before the timeout (${ms} ms)"; else tap_fail "... after ${ms} ms, before the 1500 ms timeout"; fi
bg_stop "$BG" KILL
NS=anchor close_slots 17
ip netns del $NS

# --- the kernel's timeout; a late report is refused ---
echo >"$TRACE/trace"
block timeout
rm -f /tmp/tlsh-gate
agent to-agent -a fail -s 5 -w /tmp/tlsh-gate -n 1
tt $NS connect 9 127.0.0.1 4433 >/dev/null
t_start
tt $NS hello 9 client_anon timeout=500 >/dev/null
tt $NS wait 9 10000 >/dev/null
ms=$(t_ms)
tap_expect "timeout: done with -ETIMEDOUT" "done -110" "$(field 9 req) $(field 9 status)"
# (not before 500 ms; the upper bound only allows for a slow debug kernel)
if [ $ms -ge 450 ] && [ $ms -lt 10000 ]; then tap_ok "timeout: after about 500 ms (${ms} ms)"; else tap_fail "timeout: after about 500 ms: ${ms} ms"; fi
touch /tmp/tlsh-gate
wait "$BG"
tap_run "timeout: the agent's late report gets ENOENT" log_has "$LOGS/to-agent" "report=ENOENT"
tap_expect "timeout: counters" "1 0 1 0" "$(tlsh_stat $NS timed_out) $(tlsh_stat $NS failed) $(tlsh_stat $NS accepted) $(tlsh_stat $NS in_flight)"
tid=$(sed -n 's/^req id=\([0-9]*\) .*/\1/p' "$LOGS/to-agent" | head -n 1)
tap_run "trace: tlsh_timed_out" grep -q "tlsh_timed_out: id=$tid type=1" "$TRACE/trace"
tap_run "trace: tlsh_done with -110" grep -q "tlsh_done: id=$tid status=-110 peerid=0" "$TRACE/trace"
NS=timeout close_slots 9
ip netns del $NS

# --- cancel: queued, and while the agent holds the socket ---
echo >"$TRACE/trace"
block cancel
agent cancel-idle -a idle
tt $NS connect 10 127.0.0.1 4433 >/dev/null
tt $NS hello 10 client_anon >/dev/null
tap_expect "a queued request" 1 "$(tlsh_stat $NS queued)"
tap_expect "cancel a queued request" OK "$(tt $NS cancel 10)"
tap_expect "cancelled: done not called, queue empty" "cancelled 1 0" \
	"$(field 10 req) $(field 10 cancel) $(tlsh_stat $NS queued)"
tap_expect "a second cancel finds nothing" "No such file or directory" "$(tt $NS cancel 10)"
bg_stop "$A" KILL
rm -f /tmp/tlsh-gate
agent cancel-agent -a fail -s 5 -w /tmp/tlsh-gate -n 1
tt $NS hello 10 client_anon >/dev/null
until_true 30 log_has "$BGLOG" "^req "
tap_expect "cancel while the agent holds the socket" OK "$(tt $NS cancel 10)"
touch /tmp/tlsh-gate
wait "$BG"
tap_run "the agent's report after the cancel gets ENOENT" log_has "$LOGS/cancel-agent" "report=ENOENT"
tap_expect "done never called after cancel" "cancelled 0" "$(field 10 req) $(field 10 status)"
tap_expect "cancel counters" "2 2 0 0 0" \
	"$(tlsh_stat $NS requests) $(tlsh_stat $NS cancelled) $(tlsh_stat $NS failed) $(tlsh_stat $NS succeeded) $(tlsh_stat $NS in_flight)"
tap_run "trace: tlsh_cancelled" grep -q "tlsh_cancelled: id=" "$TRACE/trace"
# the consumer releases its socket while the agent holds it
rm -f /tmp/tlsh-gate
agent release-agent -a fail -s 5 -w /tmp/tlsh-gate -n 1
tt $NS hello 10 client_anon >/dev/null
until_true 30 log_has "$BGLOG" "^req "
tap_expect "the consumer releases its socket while the agent holds it" OK "$(tt $NS close 10)"
tap_expect "the request outlives the consumer's release" pending "$(field 10 req)"
touch /tmp/tlsh-gate
tt $NS wait 10 30000 >/dev/null
wait "$BG"
tap_expect "done still called, socket kept alive for the agent" "closed done -5" \
	"$(field 10 state) $(field 10 req) $(field 10 status)"
tap_run "the agent's report after the consumer's release is accepted" log_has "$LOGS/release-agent" "report=OK"
ip netns del $NS

# --- the agent dies: accepted and queued requests fail with EPIPE ---
block gone
agent gone-agent -a hold -n 2
for s in 11 12 13 14; do
	tt $NS connect $s 127.0.0.1 4433 >/dev/null
	tt $NS hello $s client_anon >/dev/null
done
until_true 30 tlsh_stat_is $NS accepted 2
tap_expect "two held by the agent, two queued" "2 2 4" "$(tlsh_stat $NS accepted) $(tlsh_stat $NS queued) $(tlsh_stat $NS in_flight)"
bg_stop "$A" KILL
for s in 11 12 13 14; do tt $NS wait $s 5000 >/dev/null; done
tap_expect "agent killed: every request done with -EPIPE" "-32 -32 -32 -32" \
	"$(field 11 status) $(field 12 status) $(field 13 status) $(field 14 status)"
tap_expect "agent killed: counters" "4 4 0 0 0" \
	"$(tlsh_stat $NS failed) $(tlsh_stat $NS failed_epipe) $(tlsh_stat $NS in_flight) $(tlsh_stat $NS queued) $(tlsh_stat $NS listener_inet)"
# the listener closed with queued requests only
bg $NS "$LOGS/gone-idle" "$AGENT" serve -a idle -f inet6
A=$BG
agent_up $NS inet6
bg $NS "$LOGS/gone-peer6" "$AGENT" peer -f inet6 -P 4434
until_true 5 log_has "$LOGS/gone-peer6" listening
for s in 11 12 13; do
	tt $NS close $s >/dev/null
	tt $NS connect $s ::1 4434 >/dev/null
	tt $NS hello $s client_anon >/dev/null
done
tap_expect "three requests queued on the AF_INET6 listener" 3 "$(tlsh_stat $NS queued)"
bg_stop "$A" KILL
for s in 11 12 13; do tt $NS wait $s 5000 >/dev/null; done
tap_expect "listener closed with queued requests: all -EPIPE" "-32 -32 -32" \
	"$(field 11 status) $(field 12 status) $(field 13 status)"
tap_expect "listener closed: queue empty, nothing in flight" "0 0 7" \
	"$(tlsh_stat $NS queued) $(tlsh_stat $NS in_flight) $(tlsh_stat $NS failed_epipe)"
NS=gone close_slots 11 12 13 14
ip netns del $NS

# --- 200 requests in parallel ---
block par
agent par-agent -a ktls -p 9 -n 200
# Four writers queue 50 requests each with one write of 100 commands,
# then one write waits for all 200 (each write stays under the 4 KiB that
# bash's echo writes at once).
batch() {
	local i
	for i in $(seq "$1" "$2"); do
		echo "connect $i 127.0.0.1 4433"
		echo "hello $i client_psk psk=$i timeout=60000"
	done
}
GROUPS_PIDS=()
for g in 0 1 2 3; do
	tt $NS "$(batch $((100 + g * 50)) $((149 + g * 50)))" >"$LOGS/par-batch-$g" &
	GROUPS_PIDS+=($!)
done
wait "${GROUPS_PIDS[@]}"
tap_expect "200 requests queued by four concurrent writers" "OK OK OK OK" \
	"$(cat "$LOGS"/par-batch-[0-3] | tr '\n' ' ' | sed 's/ $//')"
tap_expect "200 parallel requests all done" OK \
	"$(tt $NS "$(for i in $(seq 100 299); do echo "wait $i 60000"; done)")"
ok=$(awk '$1 >= 100 && $1 < 300' "$DBG/slots" | grep -c 'req=done status=0 peerid=9 ')
tap_expect "200 parallel requests all succeeded" 200 "$ok"
PAR_STATS=$(stats $NS)
tap_expect "200 parallel: counters" "requests=200 accepted=200 succeeded=200 failed=0 in_flight=0 queued=0" \
	"$(for k in requests accepted succeeded failed in_flight queued; do printf '%s=%s ' $k "$(tlsh_stat $NS $k)"; done | sed 's/ $//')"
echo "# counters after the parallel test: $PAR_STATS"
tt $NS "$(for i in $(seq 100 299); do echo "close $i"; done)" >/dev/null
ip netns del $NS

# --- no leaked tlsh object (debug kernel: kmemleak), while the modules
# are loaded so that backtraces name them ---
if [ -w /sys/kernel/debug/kmemleak ]; then
	sleep 6	# kmemleak ignores objects younger than 5 s
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c -E 'tlsh|tt_' /sys/kernel/debug/kmemleak)
	tap_expect "kmemleak: no leaked object allocated by tlsh or tlsh_test" 0 "$leaks"
	[ "$leaks" = 0 ] || sed 's/^/#   /' /sys/kernel/debug/kmemleak | head -n 60
fi

# --- rmmod with requests pending ---
block rmmod
agent rmmod-agent -a hold -n 1
tt $NS connect 15 127.0.0.1 4433 >/dev/null
tt $NS hello 15 client_anon >/dev/null
tt $NS connect 16 127.0.0.1 4433 >/dev/null
tt $NS hello 16 client_anon >/dev/null
until_true 30 tlsh_stat_is $NS accepted 1
if rmmod tlsh 2>/dev/null; then tap_fail "rmmod tlsh with requests pending is refused"; else tap_ok "rmmod tlsh with requests pending is refused"; fi
tap_run "rmmod tlsh_test with requests pending (it cancels them)" rmmod tlsh_test
tap_expect "both pending requests cancelled" "2 0" "$(tlsh_stat $NS cancelled) $(tlsh_stat $NS in_flight)"
bg_stop "$A" KILL
tap_run "rmmod tlsh once the agent is gone" rmmod tlsh
tap_run "/proc/net/tlsh gone with the module" test ! -e /proc/net/tlsh
tap_expect "socket(AF_TLSH) loads tlsh.ko again" ok "$(in_ns $NS "$AGENT" bind inet)"
tap_run "tlsh is loaded" grep -q '^tlsh ' /proc/modules
ip netns del $NS

# --- the kernel log stays clean ---
bad=$(dmesg | grep -E 'WARNING|BUG|lockdep|KASAN|Oops|circular locking|refcount_t|kmemleak|general protection' || true)
tap_expect "no WARN, BUG, lockdep or KASAN report in dmesg" "" "$bad"
echo 0 >"$TRACE/events/tlsh/enable"
tap_done
