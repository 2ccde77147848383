# netns.sh — sourced by tests/live.sh, tests/fanout.sh and tests/bench/live-rate.sh.
#
# ct_veth_pair NS_A DEV_A NS_B DEV_B: two network namespaces of our own joined
# by a veth pair, both ends and lo up at MTU 1500, and route_localnet on so
# addresses from the loopback range (127/8) can cross the veth: test traffic
# never uses an address outside 127/8 and never leaves the namespaces.
# Returns non-zero when the kernel refuses (no root, no netns support); the
# caller's cleanup deletes whatever was made.
# ct_netns_end PIDS NS...: the cleanup: the processes PIDS (a space-separated
# list, may be empty) killed, the namespaces deleted (their veth ends with them).
ct_netns_end() {
	for p in $1; do kill "$p" 2>/dev/null; done
	shift
	for ns in "$@"; do ip netns del "$ns" 2>/dev/null; done
}

ct_veth_pair() {
	ip netns add "$1" && ip netns add "$3" || return 1
	ip link add "$2" type veth peer name "$4" || return 1
	ip link set "$2" netns "$1" && ip link set "$4" netns "$3" || return 1
	for pair in "$1:$2" "$3:$4"; do
		ns=${pair%%:*} dev=${pair#*:}
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.route_localnet=1 \
			"net.ipv4.conf.$dev.route_localnet=1" || return 1
		ip -n "$ns" link set lo up || return 1
		ip -n "$ns" link set "$dev" mtu 1500 up || return 1
	done
}
