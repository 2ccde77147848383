#!/bin/sh
# make test-threads: how many workers --threads' default gives a file.  A
# worker costs its start, so a file gets at most one per 8 MiB of capture
# (16 MiB with --no-dpi), whatever the cores; a pipe has no size and gets
# the cores.  The capture here is the seed's handshake followed by filler
# UDP datagrams up to a size, written by the script itself; the CPUs come
# from taskset, so the checks that want two skip on a one-CPU machine and
# say so.
set -u
bin=$(readlink -f "${1:-./certtrace}")
here=$(cd "$(dirname "$0")/.." && pwd)
seed=$here/pcaps/seed-issuer-mismatch.pcap
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "threads: ok   $*"; }
no() { fail=$((fail + 1)); echo "threads: FAIL $*"; }

# pad OUT MIB: the seed, then 1400-byte UDP datagrams to about MIB MiB.
pad() {
	python3 - "$seed" "$1" "$2" <<'EOF'
import struct, sys
src, out, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
assert data[:4] == b'\xd4\xc3\xb2\xa1' and struct.unpack('<I', data[20:24])[0] == 1
payload = bytes(1400)
udp = struct.pack('>HHHH', 40000, 40001, 8 + len(payload), 0) + payload
ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                 bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])) + udp
frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b'\x08\x00' + ip
with open(out, 'wb') as f:
    f.write(data)
    n, ts = len(data), 1700000000
    while n < mib << 20:
        f.write(struct.pack('<IIII', ts, 0, len(frame), len(frame)) + frame)
        n += 16 + len(frame)
EOF
}

# workers FILE ARGS...: how many workers the run used (-v: "worker 1 and the
# merge" from two on, none with one); the -v lines in $tmp/err.
workers() {
	f=$1; shift
	taskset -c "$cpus" "$bin" -v -r "$f" --format jsonl --fail-on never "$@" \
		> "$tmp/out" 2> "$tmp/err"
	n=$(grep -c '^certtrace: worker [0-9]' "$tmp/err")
	[ "$n" = 0 ] && n=1
	echo "$n"
}

cpus=0
[ "$(nproc)" -ge 2 ] && cpus=0,1

pad "$tmp/small.pcap" 1
n=$(workers "$tmp/small.pcap")
if [ "$n" = 1 ] && grep -q 'MiB of capture: 1 worker' "$tmp/err"; then
	ok "a 1 MiB file: one worker, and -v says why"
elif [ "$cpus" = 0 ] && [ "$n" = 1 ]; then
	ok "a 1 MiB file: one worker (one CPU)"
else
	no "a 1 MiB file: $n workers"; sed 's/^/    /' "$tmp/err"
fi
"$bin" -r "$tmp/small.pcap" --format jsonl --fail-on never --threads 1 > "$tmp/one"
cmp -s "$tmp/out" "$tmp/one" && ok "a 1 MiB file: the output is --threads 1's" ||
	no "a 1 MiB file: the output differs from --threads 1's"

if [ "$cpus" = 0 ]; then
	echo "threads: SKIP the checks that want two CPUs: this machine lets certtrace use one"
else
	pad "$tmp/big.pcap" 50
	n=$(workers "$tmp/big.pcap")
	[ "$n" = 2 ] && ! grep -q 'MiB of capture' "$tmp/err" &&
		ok "a 50 MiB file on two CPUs: two workers" ||
		{ no "a 50 MiB file on two CPUs: $n workers"; sed 's/^/    /' "$tmp/err"; }
	hs() { grep -o '"event":"summary".*"handshakes":[0-9]*' "$1" | sed 's/.*://'; }
	want=$(hs "$tmp/one")
	"$bin" -r "$tmp/big.pcap" --format jsonl --fail-on never --threads 1 > "$tmp/one"
	cmp -s "$tmp/out" "$tmp/one" && [ -n "$want" ] && [ "$(hs "$tmp/out")" = "$want" ] &&
		ok "a 50 MiB file: the seed's $want handshakes, the output --threads 1's" ||
		no "a 50 MiB file: not --threads 1's output, or not the seed's $want handshakes"

	pad "$tmp/mid.pcap" 10
	n=$(workers "$tmp/mid.pcap")
	[ "$n" = 2 ] && ok "a 10 MiB file with nDPI: two workers" ||
		no "a 10 MiB file with nDPI: $n workers"
	n=$(workers "$tmp/mid.pcap" --no-dpi)
	[ "$n" = 1 ] && grep -q 'MiB of capture: 1 worker' "$tmp/err" &&
		ok "a 10 MiB file with --no-dpi: one worker, and -v says why" ||
		no "a 10 MiB file with --no-dpi: $n workers"
	n=$(workers "$tmp/mid.pcap" --no-dpi --threads 2)
	[ "$n" = 2 ] && ok "a 10 MiB file with --no-dpi --threads 2: two workers, as asked" ||
		no "a 10 MiB file with --no-dpi --threads 2: $n workers"

	taskset -c "$cpus" "$bin" -v -r - --format jsonl --fail-on never \
		< "$tmp/small.pcap" > /dev/null 2> "$tmp/err"
	grep -q '^certtrace: worker 1' "$tmp/err" && ! grep -q 'MiB of capture' "$tmp/err" &&
		ok "a pipe (-r -) has no size: a worker per CPU" ||
		{ no "a pipe (-r -): not a worker per CPU"; sed 's/^/    /' "$tmp/err"; }
fi

echo "threads: $pass passed, $fail failed"
[ "$fail" = 0 ]
