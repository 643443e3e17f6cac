# SPDX-License-Identifier: GPL-2.0
# The interop pair's network, sourced in both VMs (tests/pair/*-stage2):
#
#   +-------------------- our VM (rpctls kernel) -----------------+
#   | netns "server"            netns "client"                    |
#   |  rpctls.test               rpctls-client.test               |     +--- stock peer VM ---+
#   |  198.51.100.1              198.51.100.3                     |     |  stock.test         |
#   |  2001:db8:5e::1            2001:db8:5e::3                   |     |  198.51.100.2       |
#   |  mv-server (macvlan)       mv-client (macvlan)              |     |  2001:db8:5e::2     |
#   |        \______________ eth0 ______________/                 |     |  eth0               |
#   +---------------------------|---------------------------------+     +---------|-----------+
#                               +---- qemu UDP socket pair on the host's loopback -+
#
# (plus the usual veth pair between "server" and "client", tests/lib/netns.sh).
# Names come from /etc/hosts only, in both VMs.

PAIR_OURS_IP4=198.51.100.1
PAIR_STOCK_IP4=198.51.100.2
PAIR_OURSC_IP4=198.51.100.3
PAIR_OURS_IP6=2001:db8:5e::1
PAIR_STOCK_IP6=2001:db8:5e::2
PAIR_OURSC_IP6=2001:db8:5e::3

# The VM's one virtio NIC (its name differs between kernels).
pair_net_nic() {
	local d
	for d in /sys/class/net/*; do
		[ "$(readlink -f "$d/device/driver" 2>/dev/null | xargs -r basename)" = virtio_net ] &&
			{ basename "$d"; return 0; }
	done
	echo "pair_net_nic: no virtio_net interface" >&2
	return 1
}

pair_net_hosts() {
	grep -q stock.test /etc/hosts 2>/dev/null && return 0
	cat >>/etc/hosts <<HOSTS
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
$PAIR_OURS_IP4	rpctls.test
$PAIR_STOCK_IP4	stock.test
$PAIR_OURSC_IP4	rpctls-client.test
$PAIR_OURS_IP6	rpctls6.test
$PAIR_STOCK_IP6	stock6.test
$PAIR_OURSC_IP6	rpctls-client6.test
HOSTS
	: >/etc/resolv.conf
	if [ -f /etc/nsswitch.conf ]; then
		sed -i -e 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf
	else
		echo 'hosts: files' >/etc/nsswitch.conf
	fi
}

# pair_net_up DEV IP4 IP6: addresses on DEV, up, loopback up.
pair_net_up() {
	ip link set lo up
	ip addr add "$2/24" dev "$1"
	ip -6 addr add "$3/64" dev "$1" nodad
	ip link set "$1" up
}
