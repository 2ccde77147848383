#!/bin/bash
# live-rate.sh — can certtrace capture live at about 1 Gbit/s of mostly bulk TLS
# without kernel drops?
#
#   sudo tests/bench/live-rate.sh ./certtrace [CAPTURE]
#
# Two network namespaces joined by a veth pair: tcpreplay (Debian's tcpreplay) injects
# CAPTURE (default: the busy-FE capture of make-captures.sh) into one end at MBPS
# (default 1000; TOPSPEED=1 for as fast as it goes), and `certtrace -i` captures on the
# other end.  tcpreplay only puts frames on the wire: their addresses (the loopback
# range and 10/8 of the capture) do not matter, the capture end sees every frame before
# its IP layer would drop them.  Nothing leaves the namespaces.
# Prints tcpreplay's own account of the rate it reached and certtrace's summary:
# packets, handshakes, kernel_received, kernel_dropped (pcap_stats).
# Variables: MBPS, TOPSPEED, BUFFER_KIB (certtrace -B, default its own), THREADS
# (certtrace --threads, default its own: the CPUs), BENCH_DIR, LOOPS.
set -uo pipefail

PROG=live-rate.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(readlink -f "${1:?usage: live-rate.sh ./certtrace [CAPTURE]}")
BENCH_DIR=${BENCH_DIR:-/var/tmp/certtrace-bench}
CAP=${2:-}
MBPS=${MBPS:-1000}
LOOPS=${LOOPS:-1}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "needs root (network namespaces)"; exit 2; }
if ! command -v tcpreplay >/dev/null 2>&1; then
	log "installing tcpreplay"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tcpreplay \
		>/dev/null 2>&1 || { log "needs tcpreplay (apt-get install tcpreplay)"; exit 2; }
fi
if [ -z "$CAP" ]; then
	CAP=$(BENCH_DIR=$BENCH_DIR FLOOD_FLOWS=0 "$HERE/make-captures.sh" | head -1) || exit 2
fi
[ -s "$CAP" ] || { log "$CAP: missing"; exit 2; }

tag=$$
rep=ct-rep-$tag cap=ct-cap-$tag
work=$(mktemp -d /tmp/ct-live-rate.XXXXXX)
cpid=
. "$(dirname "$0")/../netns.sh"
cleanup() {
	ct_netns_end "$cpid" "$rep" "$cap"
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

ct_veth_pair "$rep" "vr$tag" "$cap" "vc$tag" || { log "cannot create namespaces and a veth pair"; exit 2; }

opts=(-i "vc$tag" --format jsonl --fail-on never -q)
[ -n "${BUFFER_KIB:-}" ] && opts+=(-B "$BUFFER_KIB")
[ -n "${THREADS:-}" ] && opts+=(--threads "$THREADS")
# Every TCP frame, not only the default TLS ports.
ip netns exec "$cap" "$BIN" "${opts[@]}" tcp >"$work/live.jsonl" 2>"$work/live.err" &
cpid=$!
sleep 1
kill -0 "$cpid" 2>/dev/null || { log "certtrace did not start: $(cat "$work/live.err")"; exit 2; }

rate=(--mbps="$MBPS")
[ -n "${TOPSPEED:-}" ] && rate=(--topspeed)
log "replaying $(basename "$CAP") into vr$tag (${rate[*]}, $LOOPS loop(s))"
ip netns exec "$rep" tcpreplay -i "vr$tag" "${rate[@]}" --loop="$LOOPS" "$CAP" >"$work/replay.log" 2>&1 ||
	{ log "tcpreplay failed: $(tail -3 "$work/replay.log")"; exit 2; }
sleep 2
kill -INT "$cpid"
wait "$cpid"
cpid=

echo "tcpreplay:"
grep -E 'Actual|Rated|Flows|Statistics|Successful|Failed|Retried' "$work/replay.log" | sed 's/^/  /'
python3 - "$work/live.jsonl" <<'PY'
import json, sys
s = {}
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "summary":
        s = e
keys = ["packets", "bytes", "flows", "handshakes", "kernel_received", "kernel_dropped",
        "kernel_ifdropped"]
print("certtrace -i: " + ", ".join(f"{k} {s.get(k, '-')}" for k in keys))
dropped = s.get("kernel_dropped")
print("kernel drops: " + ("none" if dropped == 0 else str(dropped)))
sys.exit(0 if dropped == 0 else 1)
PY
