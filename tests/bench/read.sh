#!/bin/bash
# read.sh — `make bench-read`: readfloor's ways of reading a capture (libpcap's fread
# path, certtrace's read(2) reader, an mmap walk with and without MAP_POPULATE), RUNS times each (default 3),
# interleaved, file in the page cache; prints the median user, sys and wall seconds and
# each mode's ratio to libpcap.  Not in make test: the machine may be shared, so one
# run of this is a measurement, noisy as such.
#
#   tests/bench/read.sh build/bench/readfloor [CAPTURE]    (default: the busy-FE capture)

set -uo pipefail
BIN=${1:?usage: read.sh readfloor [CAPTURE]}
CAP=${2:-${BENCH_DIR:-/var/tmp/certtrace-bench}/busy-fe-1024M.pcap}
RUNS=${RUNS:-3}
[ -s "$CAP" ] || { echo "read.sh: $CAP: missing (make bench builds it)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "read.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/ct-benchread.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MODES="libpcap pf mmap mmap-populate"

cat "$CAP" >/dev/null
for i in $(seq 1 "$RUNS"); do
	for m in $MODES; do
		t0=$(date +%s.%N)
		/usr/bin/time -f '%U %S' -o "$WORK/t" "$BIN" "$m" "$CAP" >"$WORK/$m.out" || exit 1
		t1=$(date +%s.%N)
		echo "$(cat "$WORK/t") $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" \
			>>"$WORK/$m.runs"
	done
done
med() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "reading $(basename "$CAP") ($(stat -c %s "$CAP") bytes), $RUNS runs, medians, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| reader | user s | sys s | user+sys s | wall s | x libpcap (user+sys) |"
echo "|---|---:|---:|---:|---:|---:|"
base=""
for m in $MODES; do
	u=$(awk '{print $1}' "$WORK/$m.runs" | med)
	s=$(awk '{print $2}' "$WORK/$m.runs" | med)
	c=$(awk '{print $1 + $2}' "$WORK/$m.runs" | med)
	w=$(awk '{print $3}' "$WORK/$m.runs" | med)
	[ -n "$base" ] || base=$c
	awk -v m="$m" -v u="$u" -v s="$s" -v c="$c" -v w="$w" -v b="$base" \
		'BEGIN {printf "| %s | %.2f | %.2f | %.2f | %.3f | %.2f |\n", m, u, s, c, w, (b > 0 ? c / b : 0)}'
done
echo
for m in $MODES; do cat "$WORK/$m.out"; done
