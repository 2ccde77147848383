#!/bin/bash
# run.sh — `make bench`: certtrace against a bare libpcap read loop and its peers on the
# captures make-captures.sh builds, with /usr/bin/time -v for wall and CPU time and peak
# RSS, all in the same run.
#
#   tests/bench/run.sh ./certtrace [CAPTURE ...]
#
# Without captures it runs make-captures.sh first (root for the seed; SMALL=1 for the
# ~100 MB capture).  Each tool runs RUNS times (default 3; tshark and ssldump
# SLOW_RUNS, default 1, they take minutes on 1 GiB); the table shows the median wall
# time, the median CPU time (user + sys), throughput, the largest peak RSS, and the
# ratios of wall and of CPU time to the floor (pcapfloor: a pcap_dispatch loop summing
# lengths) and, for floods, to the hash floor (the same loop hashing every 5-tuple into
# a table).  certtrace runs as jsonl and as text, with and without nDPI (and on a flood
# with --dpi-check, nDPI on every flow); with READFLOOR (make bench sets it) a row for
# certtrace's own file reader alone (tests/bench/readfloor.c pf).  Then the
# Certificate-message counts of certtrace and tshark, and certtrace's flow and eviction
# counts.
#
# The tables go to stdout and, as markdown, to BENCH_MD (default docs/bench.md) and
# into README (default the project's README.md; README= leaves it alone), between the
# two marks in its Performance section.  On a shared machine a run is noisy: the
# CPU columns are the steadier ones; quote ratios of one run, not times across runs.
#
# Tools missing from the machine are skipped with a note; as root the script installs
# them from Debian: time, tcpdump, tshark, libndpi-bin (ndpiReader), ssldump.
# Variables: RUNS, SLOW_RUNS, TIMEOUT_S (one run, default 1200), BENCH_DIR, SMALL,
#   PEERS ("tcpdump ndpiReader tshark ssldump", or fewer), BENCH_MD, README, READFLOOR.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=run.sh
BIN=$(readlink -f "${1:?usage: run.sh ./certtrace [CAPTURE ...]}")
shift
RUNS=${RUNS:-3}
SLOW_RUNS=${SLOW_RUNS:-1}
TIMEOUT_S=${TIMEOUT_S:-1200}
BENCH_DIR=${BENCH_DIR:-/var/tmp/certtrace-bench}
PEERS=${PEERS:-tcpdump ndpiReader tshark ssldump}
BENCH_MD=${BENCH_MD:-$HERE/../../docs/bench.md}
README=${README-$HERE/../../README.md}
READFLOOR=${READFLOOR:-}
export BENCH_DIR

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# --- tools --------------------------------------------------------------------
need=""
[ -x /usr/bin/time ] || need="$need time"
command -v tcpdump >/dev/null 2>&1 || need="$need tcpdump"
command -v tshark >/dev/null 2>&1 || need="$need tshark"
command -v ndpiReader >/dev/null 2>&1 || need="$need libndpi-bin"
command -v ssldump >/dev/null 2>&1 || need="$need ssldump"
if [ -n "$need" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	log "installing$need"
	export DEBIAN_FRONTEND=noninteractive
	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
		debconf-set-selections 2>/dev/null || true
	apt-get update -qq >/dev/null 2>&1
	apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
		log "apt-get install$need failed; those tools are skipped"
fi
[ -x /usr/bin/time ] || { log "needs /usr/bin/time (apt-get install time)"; exit 2; }

# --- captures -----------------------------------------------------------------
if [ $# -eq 0 ]; then
	mapfile -t CAPTURES < <("$HERE/make-captures.sh") || exit 2
else
	CAPTURES=("$@")
fi
[ ${#CAPTURES[@]} -gt 0 ] || { log "no captures"; exit 2; }
FLOOR=$BENCH_DIR/bin/pcapfloor
if [ ! -x "$FLOOR" ] || [ "$HERE/pcapfloor.c" -nt "$FLOOR" ]; then
	mkdir -p "$BENCH_DIR/bin"
	cc -std=gnu11 -O2 -o "$FLOOR" "$HERE/pcapfloor.c" -lpcap || exit 2
fi

WORK=$(mktemp -d /tmp/ct-benchrun.XXXXXX)
# certtrace's default --threads: the CPUs it may run on (at most 16).
THREADS=$(nproc)
[ "$THREADS" -gt 16 ] && THREADS=16
trap 'rm -rf "$WORK"' EXIT

# measure NAME RUNS CMD...: runs CMD (stdout to $WORK/NAME.out) and records the
# median wall seconds, the largest max RSS (KiB) and the median user + sys seconds in
# $WORK/NAME.res.
# One run of a command: its wall and CPU time and peak RSS appended to
# $WORK/NAME.runs; false if it failed or timed out.
run_once() {
	local name=$1
	shift
	local t0 t1
	t0=$(date +%s.%N)
	if ! /usr/bin/time -v -o "$WORK/$name.time" timeout "$TIMEOUT_S" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err"; then
		# certtrace exits 1 on findings; timeout exits 124.
		if grep -q 'Exit status: 124' "$WORK/$name.time" 2>/dev/null ||
		   ! grep -q 'Exit status: [01]$' "$WORK/$name.time"; then
			log "$name failed or timed out: $(tail -2 "$WORK/$name.err" | tr '\n' ' ')"
			return 1
		fi
	fi
	t1=$(date +%s.%N)
	# Wall time by the clock around the run: /usr/bin/time rounds to 10 ms.
	awk -v a="$t0" -v b="$t1" -F': ' '/User time/ {u = $2} /System time/ {s = $2}
		/Maximum resident set size/ {r = $2}
		END {printf "%.3f %.2f %d\n", b - a, u + s, r}' "$WORK/$name.time" >>"$WORK/$name.runs"
}

# NAME.res from NAME.runs: median wall, largest RSS, runs, median CPU.
summarize() {
	local name=$1 ok=$2
	if [ "$ok" = 1 ] && [ -s "$WORK/$name.runs" ]; then
		local med cmed rss n
		med=$(cut -d' ' -f1 "$WORK/$name.runs" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
		cmed=$(cut -d' ' -f2 "$WORK/$name.runs" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
		rss=$(cut -d' ' -f3 "$WORK/$name.runs" | sort -g | tail -1)
		n=$(grep -c . "$WORK/$name.runs")
		echo "$med $rss $n $cmed" >"$WORK/$name.res"
	else
		echo "- - 0 -" >"$WORK/$name.res"
	fi
	rm -f "$WORK/$name.runs"
}

measure() {
	local name=$1 runs=$2
	shift 2
	local i ok=1
	rm -f "$WORK/$name.runs"
	for i in $(seq 1 "$runs"); do
		run_once "$name" "$@" || { ok=0; break; }
	done
	summarize "$name" $ok
}

# Two commands in turn, RUNS times each (PAIR_A and PAIR_B, arrays), so that a
# change in the machine's load falls on both alike: the Workers line quotes
# the ratio of these two.
measure_pair() {
	local a=$1 b=$2 runs=$3
	local i ok=1
	rm -f "$WORK/$a.runs" "$WORK/$b.runs"
	for i in $(seq 1 "$runs"); do
		run_once "$a" "${PAIR_A[@]}" && run_once "$b" "${PAIR_B[@]}" || { ok=0; break; }
	done
	summarize "$a" $ok
	summarize "$b" $ok
}

row() {   # NAME LABEL BYTES PACKETS FLOOR_S FLOOR_CPU_S [HASH_FLOOR_S HASH_FLOOR_CPU_S]
	local name=$1 label=$2 bytes=$3 pkts=$4 floor=$5 fcpu=$6 hfloor=${7:-} hcpu=${8:-}
	read -r wall rss n cpu <"$WORK/$name.res"
	if [ "$wall" = - ]; then
		printf '| %-30s |    - |   failed |      - |        - |          - |       - |       - |       - |%s\n' \
			"$label" "${hfloor:+            - |            - |}"
		return
	fi
	awk -v l="$label" -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$bytes" \
	    -v p="$pkts" -v f="$floor" -v fc="$fcpu" -v h="$hfloor" -v hc="$hcpu" 'BEGIN {
		if (w <= 0) w = 0.005
		if (fc <= 0) fc = 0.01
		printf "| %-30s | %4d | %8.3f | %6.2f | %8.0f | %10.0f | %8.1f | %6.1fx | %6.1fx |", \
			l, n, w, c, b / w / 1e6, p / w, r / 1024, w / f, c / fc
		if (h != "") {
			if (hc <= 0) hc = 0.01
			printf " %10.1fx | %10.1fx |", w / h, c / hc
		}
		printf "\n" }'
}

certmsgs_certtrace() {   # jsonl on stdin: Certificate messages seen (server + client)
	python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "tls":
        n += bool(e.get("server_chain")) + bool(e.get("client_chain"))
print(n)'
}

summary_field() {   # FIELD, jsonl on stdin: the summary's value
	python3 -c '
import json, sys
v = "-"
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "summary":
        v = e.get(sys.argv[1], "-")
print(v)' "$1"
}

MD=$WORK/bench.md
{
echo "certtrace bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start, $RUNS runs per tool (tshark, ssldump: $SLOW_RUNS), file in the page cache; medians of wall and of CPU (user + sys) time, the largest peak RSS."
echo
echo "$($BIN --version)"
} | tee "$MD"
for cap in "${CAPTURES[@]}"; do
	[ -s "$cap" ] || { log "$cap: missing"; continue; }
	bytes=$(stat -c %s "$cap")
	cat "$cap" >/dev/null             # into the page cache
	flood=0
	case $(basename "$cap") in flood-*) flood=1 ;; esac

	measure floor "$RUNS" "$FLOOR" "$cap"
	pkts=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$WORK/floor.out")
	read -r floor_s _ _ floor_c <"$WORK/floor.res"
	measure hfloor "$RUNS" "$FLOOR" --hash "$cap"
	read -r hfloor_s _ _ hfloor_c <"$WORK/hfloor.res"
	[ -n "$READFLOOR" ] && [ -x "$READFLOOR" ] && measure pfread "$RUNS" "$READFLOOR" pf "$cap"
	PAIR_A=("$BIN" -r "$cap" --no-dpi --format jsonl --fail-on never -q)
	PAIR_B=("${PAIR_A[@]}" --threads 1)
	measure_pair nodpi nodpi1 "$RUNS"
	cp "$WORK/nodpi.out" "$WORK/nodpi.jsonl"
	PAIR_A=("$BIN" -r "$cap" --format jsonl --fail-on never -q)
	PAIR_B=("${PAIR_A[@]}" --threads 1)
	measure_pair dpi dpi1 "$RUNS"
	cp "$WORK/dpi.out" "$WORK/dpi.jsonl"
	cmp -s "$WORK/dpi.jsonl" "$WORK/dpi1.out" || log "$cap: the output of --threads 1 and $THREADS differ"
	measure textnodpi "$RUNS" "$BIN" -r "$cap" --no-dpi --format text --fail-on never -q
	measure textdpi "$RUNS" "$BIN" -r "$cap" --format text --fail-on never -q
	[ $flood = 1 ] &&
		measure dpicheck "$RUNS" "$BIN" -r "$cap" --dpi-check --format jsonl --fail-on never -q
	for peer in $PEERS; do
		case $peer in
		tcpdump)
			command -v tcpdump >/dev/null 2>&1 &&
				measure tcpdump "$RUNS" tcpdump -n -r "$cap" -w /dev/null ;;
		ndpiReader)
			command -v ndpiReader >/dev/null 2>&1 &&
				measure ndpiReader "$RUNS" ndpiReader -q -i "$cap" ;;
		tshark)
			command -v tshark >/dev/null 2>&1 &&
				measure tshark "$SLOW_RUNS" tshark -n -r "$cap" \
					-o tcp.reassemble_out_of_order:TRUE -o tcp.try_heuristic_first:TRUE \
					-Y "tls.handshake.type == 11" -T fields -e tls.handshake.certificate &&
				cp "$WORK/tshark.out" "$WORK/tshark.fields" ;;
		ssldump)
			# ssldump keeps every connection it has seen: not on the flood.
			[ $flood = 0 ] && command -v ssldump >/dev/null 2>&1 &&
				measure ssldump "$SLOW_RUNS" ssldump -n -r "$cap" ;;
		esac
	done

	{
	echo
	echo "### $(basename "$cap"): $(awk -v b="$bytes" 'BEGIN {printf "%.0f MB", b / 1e6}'), $pkts packets"
	echo
	if [ $flood = 1 ]; then
		echo "| tool                           | runs |   wall s |  cpu s |     MB/s |  packets/s |  RSS MiB | x floor | x floor cpu | x hash floor | x hash cpu |"
		echo "|--------------------------------|-----:|---------:|-------:|---------:|-----------:|---------:|--------:|------------:|-------------:|-----------:|"
	else
		echo "| tool                           | runs |   wall s |  cpu s |     MB/s |  packets/s |  RSS MiB | x floor | x floor cpu |"
		echo "|--------------------------------|-----:|---------:|-------:|---------:|-----------:|---------:|--------:|------------:|"
	fi
	hf=""
	[ $flood = 1 ] && hf="$hfloor_s $hfloor_c"
	# shellcheck disable=SC2086
	{
	row floor "pcapfloor (the libpcap floor)" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row hfloor "pcapfloor --hash" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	[ -f "$WORK/pfread.res" ] &&
		row pfread "certtrace's reader alone" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row nodpi "certtrace jsonl --no-dpi" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row nodpi1 "  the same, --threads 1" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row dpi "certtrace jsonl (nDPI)" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row dpi1 "  the same, --threads 1" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	[ -f "$WORK/dpicheck.res" ] &&
		row dpicheck "certtrace jsonl --dpi-check" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row textnodpi "certtrace text --no-dpi" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	row textdpi "certtrace text (nDPI)" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf
	for peer in $PEERS; do
		[ -f "$WORK/$peer.res" ] || continue
		case $peer in
		tcpdump) row tcpdump "tcpdump -r -w /dev/null" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf ;;
		ndpiReader) row ndpiReader "ndpiReader -i" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf ;;
		tshark) row tshark "tshark (certificates)" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf ;;
		ssldump) row ssldump "ssldump -r" "$bytes" "$pkts" "$floor_s" "$floor_c" $hf ;;
		esac
	done
	}
	echo
	ct=$(certmsgs_certtrace <"$WORK/nodpi.jsonl")
	ts=-
	[ -f "$WORK/tshark.fields" ] && ts=$(grep -c . "$WORK/tshark.fields")
	echo "Certificate messages: certtrace $ct, tshark $ts (frames with one)."
	read -r d_s _ _ _ <"$WORK/dpi.res"
	read -r d1_s _ _ _ <"$WORK/dpi1.res"
	read -r n_s _ _ _ <"$WORK/nodpi.res"
	read -r n1_s _ _ _ <"$WORK/nodpi1.res"
	echo "Workers: the certtrace rows run with the default, --threads $THREADS here, each run in turn with its --threads 1 row. --threads 1 over $THREADS, wall: jsonl with nDPI $(awk -v a="$d1_s" -v b="$d_s" 'BEGIN {printf "%.2fx", a / b}'), --no-dpi $(awk -v a="$n1_s" -v b="$n_s" 'BEGIN {printf "%.2fx", a / b}'); the output is the same."
	echo "certtrace summary: flows $(summary_field flows <"$WORK/nodpi.jsonl"), handshakes $(summary_field handshakes <"$WORK/nodpi.jsonl"), evicted $(summary_field evicted_flows <"$WORK/nodpi.jsonl"); with nDPI: evicted $(summary_field evicted_flows <"$WORK/dpi.jsonl")."
	} | tee -a "$MD"
	rm -f "$WORK"/*.res "$WORK"/*.out "$WORK"/*.jsonl "$WORK"/*.fields
done
if mkdir -p "$(dirname "$BENCH_MD")" 2>/dev/null && cp "$MD" "$BENCH_MD"; then
	log "tables written to $BENCH_MD"
else
	log "cannot write $BENCH_MD"
fi
# The README's Performance section: what is between its two marks is replaced by
# this run's tables (the text around them, the targets and their reading, is not).
BEGIN_MARK='<!-- make bench: its tables from here -->'
END_MARK='<!-- make bench: to here -->'
if [ -n "$README" ] && grep -qxF "$BEGIN_MARK" "$README" && grep -qxF "$END_MARK" "$README"; then
	awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v md="$MD" '
		$0 == b { print; while ((getline l < md) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip' "$README" >"$WORK/README.new" &&
		cat "$WORK/README.new" >"$README" &&
		log "tables written to $README" ||
		log "cannot write $README"
elif [ -n "$README" ]; then
	log "$README: no bench marks, not written"
fi
