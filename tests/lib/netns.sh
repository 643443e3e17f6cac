# SPDX-License-Identifier: GPL-2.0
# Two test hosts inside the VM, as network namespaces joined by a veth pair:
#
#   +------------------------+            +------------------------+
#   | netns "server"         |            | netns "client"         |
#   |  veth-s                |<---------->|  veth-c                |
#   |  192.0.2.1/24          |            |  192.0.2.2/24          |
#   |  fd00:5e::1/64         |            |  fd00:5e::2/64         |
#   |  server.test           |            |  client.test           |
#   +------------------------+            +------------------------+
#
# Source this file in the guest and call netns_setup.  Names come from
# /etc/hosts only (the VM's nsswitch says "hosts: files"), so no lookup can
# wait on a missing DNS server.  Enter a namespace with `in_ns NS CMD...`:
# it enters only the network namespace (nsenter --net), so mounts made there
# stay visible to the rest of the VM.

SERVER_IP4=192.0.2.1
CLIENT_IP4=192.0.2.2
SERVER_IP6=fd00:5e::1
CLIENT_IP6=fd00:5e::2

in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

# netns_link: the veth pair between the two hosts, addressed and up (again
# after a host's namespace was deleted, as a server reboot does)
netns_link() {
	ip link add veth-s netns server type veth peer name veth-c netns client
	in_ns server ip addr add "$SERVER_IP4/24" dev veth-s
	in_ns client ip addr add "$CLIENT_IP4/24" dev veth-c
	in_ns server ip -6 addr add "$SERVER_IP6/64" dev veth-s nodad
	in_ns client ip -6 addr add "$CLIENT_IP6/64" dev veth-c nodad
	in_ns server ip link set veth-s up
	in_ns client ip link set veth-c up
}

netns_setup() {
	local ns
	for ns in server client; do
		ip netns del "$ns" 2>/dev/null || true
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
	done
	netns_link
	grep -q server.test /etc/hosts || cat >>/etc/hosts <<HOSTS
$SERVER_IP4	server.test server
$CLIENT_IP4	client.test client
$SERVER_IP6	server6.test
$CLIENT_IP6	client6.test
HOSTS
	# Readiness by polling, not sleeping.
	local i
	for i in $(seq 50); do
		in_ns client ping -c1 -W1 -q "$SERVER_IP4" >/dev/null 2>&1 &&
			in_ns client ping -6 -c1 -W1 -q "$SERVER_IP6" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "netns_setup: no connectivity between client and server" >&2
	return 1
}
