# SPDX-License-Identifier: GPL-2.0
# The interop pair, driven from the host: our VM (this repo's kernel and
# tools, tests/vm/run) and a stock Debian 13 VM (tests/pair/peer-build.sh),
# joined by one virtual wire (tests/pair/net.sh draws it).  Source this file
# in a host-side scenario:
#
#   pair_start                  boot both; returns when both agents answer
#   pair_run ours|peer [-t S] CMD   run CMD (a bash string) in that VM, in the
#                               checkout; prints its output, returns its status
#   pair_peer_versions          the stock peer's package versions
#   pair_stop                   power both off, keep their consoles
#
# $PAIR_XFER is a directory both VMs see as /run/pair (read-write): PKI,
# logs and captures go there.  A VM that does not come up within
# PAIR_BOOT_TIMEOUT seconds fails pair_start with its console's tail; every
# command has a timeout (default 300 s), so nothing here can hang.
# Consoles and agent logs are kept in $PAIR_LOGDIR (build/test-logs/pair).

PAIR_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PAIR_BOOT_TIMEOUT=${PAIR_BOOT_TIMEOUT:-300}
PAIR_VM_TIMEOUT=${PAIR_VM_TIMEOUT:-3600}
PAIR_LOGDIR=${PAIR_LOGDIR:-$PAIR_REPO/build/test-logs/pair}
PAIR_RUN=
PAIR_XFER=
PAIR_PEER=
declare -A PAIR_PID

_pair_free_udp_ports() {
	python3 - <<'PY'
import socket
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

_pair_console_tail() {
	echo "--- $1 console (last 25 lines of $PAIR_RUN/$1.console) ---" >&2
	tail -n 25 "$PAIR_RUN/$1.console" 2>/dev/null | tr -d '\r' >&2
}

pair_start() {
	local p1 p2 side

	PAIR_PEER=$("$PAIR_REPO/tests/pair/peer-build.sh" --print) || return 1
	PAIR_RUN=$(mktemp -d /tmp/rpctls-pair.XXXXXX)
	PAIR_XFER=$PAIR_RUN/xfer
	mkdir -p "$PAIR_XFER" "$PAIR_LOGDIR"
	chmod 0777 "$PAIR_XFER"
	read -r p1 p2 < <(_pair_free_udp_ports)

	# Our VM: the project's kernel over the host's root, as every suite.
	VM_TIMEOUT=$PAIR_VM_TIMEOUT "$PAIR_REPO/tests/vm/run" \
		--nic "udp:$p1:$p2:52:54:00:5e:00:01" --ctl "$PAIR_RUN/ours.sock" \
		--share "pair=$PAIR_XFER" -- tests/pair/ours-stage2 \
		>"$PAIR_RUN/ours.console" 2>&1 &
	PAIR_PID[ours]=$!

	# The stock peer: Debian's kernel and initramfs, its root image with
	# every write going to a throw-away snapshot.
	timeout -k 5 "$PAIR_VM_TIMEOUT" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu max -smp "${PAIR_PEER_CPUS:-2}" \
		-m "${PAIR_PEER_MEM:-2048}" \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$PAIR_PEER/vmlinuz" -initrd "$PAIR_PEER/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw quiet panic=-1 init=/sbin/rpctls-peer-init rpctls.repo=$PAIR_REPO" \
		-drive "file=$PAIR_PEER/root.img,if=virtio,format=raw,snapshot=on" \
		-device virtio-rng-pci \
		-fsdev "local,id=repo,path=$PAIR_REPO,security_model=none,readonly=on,multidevs=remap" \
		-device virtio-9p-pci,fsdev=repo,mount_tag=repo \
		-fsdev "local,id=pair,path=$PAIR_XFER,security_model=none" \
		-device virtio-9p-pci,fsdev=pair,mount_tag=pair \
		-netdev "socket,id=n0,udp=127.0.0.1:$p1,localaddr=127.0.0.1:$p2" \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:5e:00:02 \
		-device virtio-serial-pci \
		-chardev "socket,id=ctl,path=$PAIR_RUN/peer.sock,server=on,wait=off" \
		-device virtserialport,chardev=ctl,name=rpctls.ctl \
		</dev/null >"$PAIR_RUN/peer.console" 2>&1 &
	PAIR_PID[peer]=$!

	for side in ours peer; do
		local t0=$SECONDS
		until [ -S "$PAIR_RUN/$side.sock" ] &&
			python3 "$PAIR_REPO/tests/pair/ctl.py" "$PAIR_RUN/$side.sock" ping >/dev/null 2>&1; do
			if ! kill -0 "${PAIR_PID[$side]}" 2>/dev/null; then
				echo "pair_start: the $side VM stopped while booting" >&2
				_pair_console_tail "$side"
				pair_stop
				return 1
			fi
			if [ $((SECONDS - t0)) -ge "$PAIR_BOOT_TIMEOUT" ]; then
				echo "pair_start: the $side VM did not come up within ${PAIR_BOOT_TIMEOUT}s" >&2
				_pair_console_tail "$side"
				pair_stop
				return 1
			fi
			sleep 1
		done
	done
	# The wire: each side reaches the other.
	if ! pair_run peer -t 60 "for i in \$(seq 60); do ping -c1 -W1 -q rpctls.test >/dev/null && exit 0; sleep 0.5; done; exit 1"; then
		echo "pair_start: the stock peer cannot reach our VM over the pair's wire" >&2
		pair_stop
		return 1
	fi
}

pair_run() {
	local side=$1 t=300
	shift
	if [ "${1:-}" = -t ]; then
		t=$2
		shift 2
	fi
	[ -n "$PAIR_RUN" ] || { echo "pair_run: no pair running" >&2; return 125; }
	python3 "$PAIR_REPO/tests/pair/ctl.py" --timeout "$t" "$PAIR_RUN/$side.sock" run -- "$*"
}

pair_peer_versions() {
	cat "$PAIR_PEER/versions" 2>/dev/null
}

pair_stop() {
	local side i
	[ -n "$PAIR_RUN" ] || return 0
	for side in ours peer; do
		[ -n "${PAIR_PID[$side]:-}" ] || continue
		python3 "$PAIR_REPO/tests/pair/ctl.py" "$PAIR_RUN/$side.sock" exit 0 >/dev/null 2>&1
	done
	for side in ours peer; do
		[ -n "${PAIR_PID[$side]:-}" ] || continue
		for i in $(seq 60); do
			kill -0 "${PAIR_PID[$side]}" 2>/dev/null || break
			sleep 0.5
		done
		kill "${PAIR_PID[$side]}" 2>/dev/null
		pkill -9 -f "path=$PAIR_RUN/$side.sock" 2>/dev/null
		wait "${PAIR_PID[$side]}" 2>/dev/null
		unset "PAIR_PID[$side]"
		tr -d '\r' <"$PAIR_RUN/$side.console" >"$PAIR_LOGDIR/$side.console" 2>/dev/null
	done
	cp "$PAIR_XFER"/*agent.log "$PAIR_LOGDIR/" 2>/dev/null
	rm -rf "$PAIR_RUN"
	PAIR_RUN=
}
