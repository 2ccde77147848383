#!/bin/sh
# Live capture split across handles by the kernel (PACKET_FANOUT, capture.h's
# cap_join_fanout); needs root for network namespaces, skips without.
#
# Two namespaces joined by a veth pair (tests/netns.sh): an echo server in
# ct-fsrv on 127.0.50.1 and fd00:c7::1 port 7000, a client in ct-fcli making
# CONNS connections over IPv4 and as many over IPv6, each its own source
# port, bytes both ways.  fanout-check (tests/fanout/fanout_check.c) captures
# on the client's veth end with two handles in one group and a reference
# handle outside it, and checks each frame on exactly one handle, each
# connection (both directions) on one handle, both handles used, and the
# kernel counters per handle adding up to the reference's.
#   1. both ends label their IPv6 packets (Linux's default auto_flowlabels)
#   2. the client sends flow label 0 (auto_flowlabels=0) and the server
#      labels its packets: a hash that read the label, or stopped at it (as
#      older kernels' did), would deal the two directions apart.
#   3. the same connections inside a VXLAN tunnel between the namespaces,
#      captured on the veth (the outer UDP): the kernel hashes the outer
#      header, whose UDP source port each end picks by its own socket's hash,
#      so connections are split between the handles (capture.h's known
#      limit).  Reported ("fanout: info"), not checked, but each frame on
#      exactly one handle and the counters still are.
# Other suites use network namespaces too: the whole test runs under
# flock /tmp/certtrace-netns.lock.
set -u
if [ -z "${CT_NETNS_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	CT_NETNS_LOCKED=1 exec flock /tmp/certtrace-netns.lock sh "$0" "$@"
fi
check=$(readlink -f "${1:-build/tests/fanout-check}")
here=$(cd "$(dirname "$0")/.." && pwd)
CONNS=${CONNS:-64}
if [ "$(id -u)" != 0 ]; then
	echo "fanout: SKIP: needs root (network namespaces); CI runs it as root"
	exit 0
fi
for t in ip python3; do
	command -v $t >/dev/null 2>&1 || { echo "fanout: SKIP: $t not installed"; exit 0; }
done
[ "$(uname -s)" = Linux ] || { echo "fanout: SKIP: PACKET_FANOUT is Linux's"; exit 0; }
tag=$$
srv=ct-fsrv-$tag cli=ct-fcli-$tag
work=$(mktemp -d)
pids=""
. "$here/tests/netns.sh"
cleanup() {
	ct_netns_end "$pids" "$srv" "$cli"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

ct_veth_pair "$srv" "fs$tag" "$cli" "fc$tag" ||
	{ echo "fanout: SKIP: cannot create network namespaces and a veth pair"; exit 0; }
ip -n "$srv" addr add 127.0.50.1/16 dev "fs$tag"
ip -n "$cli" addr add 127.0.60.1/16 dev "fc$tag"
ip -n "$cli" route add 127.0.50.0/24 dev "fc$tag" src 127.0.60.1
ip -n "$srv" addr add fd00:c7::1/64 dev "fs$tag" nodad
ip -n "$cli" addr add fd00:c7::2/64 dev "fc$tag" nodad

# VXLAN (VNI 42, UDP 4789) over the veth, 127.0.70.1 and .2 inside.
vxlan=no
if ip -n "$srv" link add vx0 type vxlan id 42 local 127.0.50.1 remote 127.0.60.1 \
	dstport 4789 dev "fs$tag" 2>/dev/null &&
   ip -n "$cli" link add vx0 type vxlan id 42 local 127.0.60.1 remote 127.0.50.1 \
	dstport 4789 dev "fc$tag" 2>/dev/null; then
	ip -n "$srv" route add 127.0.60.0/24 dev "fs$tag" src 127.0.50.1
	ip -n "$srv" addr add 127.0.70.1/24 dev vx0 && ip -n "$srv" link set vx0 up &&
	ip -n "$cli" addr add 127.0.70.2/24 dev vx0 && ip -n "$cli" link set vx0 up && vxlan=yes
fi

# The echo server: every connection in its own thread, until killed.
cat > "$work/server.py" <<'PY'
import socket, sys, threading
def serve(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)
def listen(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 7000))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
for addr in sys.argv[2:]:
    threading.Thread(target=listen, args=(socket.AF_INET6, addr), daemon=True).start()
listen(socket.AF_INET, sys.argv[1])
PY
# The client: N connections to each address given, each sending and reading
# back 3 messages, so every connection has data both ways.
cat > "$work/client.py" <<'PY'
import socket, sys
n = int(sys.argv[1])
for addr in sys.argv[2:]:
    for i in range(n):
        with socket.create_connection((addr, 7000), timeout=5) as c:
            for k in range(3):
                msg = b'%d-%d ' % (i, k) * 40
                c.sendall(msg)
                got = b''
                while len(got) < len(msg):
                    got += c.recv(65536)
PY
ip netns exec "$srv" python3 "$work/server.py" 127.0.50.1 fd00:c7::1 2>"$work/server.err" &
pids="$pids $!"
if [ "$vxlan" = yes ]; then
	ip netns exec "$srv" python3 "$work/server.py" 127.0.70.1 2>>"$work/server.err" &
	pids="$pids $!"
fi
for _ in $(seq 50); do
	ip netns exec "$srv" sh -c 'cat /proc/net/tcp /proc/net/tcp6' | grep -q ':1B58 .* 0A ' && break
	sleep 0.1
done

fail=0
run() {  # $1: a name; $2: the filter; $3: the connections' count; $4: report or
	 # nothing; then the server addresses
	name=$1 filter=$2 want=$3 mode=$4
	shift 4
	rm -f "$work/ready"
	ip netns exec "$cli" "$check" "fc$tag" "$filter" "$work/ready" "$want" $mode \
		> "$work/check.out" 2> "$work/check.err" &
	cpid=$!
	pids="$pids $cpid"
	for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.05; done
	if ! ip netns exec "$cli" timeout 60 python3 "$work/client.py" "$CONNS" "$@" 2> "$work/client.err"; then
		echo "fanout: FAIL $name: the client failed"; cat "$work/client.err"; fail=$((fail + 1))
	fi
	sleep 0.3
	kill -TERM "$cpid" 2>/dev/null
	wait "$cpid"
	rc=$?
	sed "s/^fanout: \(ok  \|FAIL\|info\) /fanout: \1 $name: /" "$work/check.out"
	if [ "$rc" != 0 ]; then
		[ -s "$work/check.err" ] && sed "s/^/fanout: $name: /" "$work/check.err"
		fail=$((fail + 1))
	fi
}

run "labels both ways" "tcp port 7000" $((2 * CONNS)) "" 127.0.50.1 fd00:c7::1
ip netns exec "$cli" sysctl -qw net.ipv6.auto_flowlabels=0
run "client label 0" "tcp port 7000" $((2 * CONNS)) "" 127.0.50.1 fd00:c7::1
if [ "$vxlan" = yes ]; then
	run "vxlan" "udp port 4789" "$CONNS" report 127.0.70.1
else
	echo "fanout: skip vxlan: this kernel makes no VXLAN device"
fi

if [ "$fail" = 0 ]; then
	echo "fanout: all checks passed"
else
	echo "fanout: $fail run(s) failed"
	exit 1
fi
