#!/bin/sh
# Runs each libFuzzer target for a while (make fuzz FUZZ_SECONDS=N), one at a
# time: seeds are rebuilt from the sample captures first (seeds.sh), the
# corpus grows in tests/fuzz/corpus-<target>/, crash/leak/timeout inputs land
# in <build>/artifacts/<target>/.  Prints executions and coverage per target
# and fails when any target found something.
set -u
export LC_ALL=C
build=$1 seconds=$2
shift 2
sh tests/fuzz/seeds.sh "$build" || exit 1
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
rc=0
for t in "$@"; do
	case $t in
	x509)  max_len=16384 ;;    # a certificate; big chains are fuzz_tls's
	tls)   max_len=65536 ;;    # ops and a few handshake flights
	tls13) max_len=65536 ;;    # the decrypted half of a handshake
	pcap)  max_len=131072 ;;   # a capture with a handful of handshakes
	names) max_len=1024 ;;     # two names and a host
	*)     max_len=4096 ;;
	esac
	corpus=tests/fuzz/corpus-$t
	art=$build/artifacts/$t
	mkdir -p "$corpus" "$art"
	log=$build/fuzz-$t.log
	: > "$build/.fuzz-start-$t"
	echo "fuzz: $t for ${seconds}s (max_len $max_len), log $log"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=tests/fuzz/ubsan.supp \
	"$build/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$max_len" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "$corpus" "$build/seeds-$t" > "$log" 2>&1
	st=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	found=$(find "$art" -type f -newer "$build/.fuzz-start-$t" | wc -l)
	printf '%-6s execs %-10s cov %-6s ft %-7s corpus %-6s new artifacts %s%s\n' "$t" \
		"${execs:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$corpus" | wc -l)" "$found" \
		"$([ $st -ne 0 ] && echo " (exit $st: see $log)")" >> "$summary"
	if [ $st -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
		rc=1
	fi
done
echo "fuzz: summary"
cat "$summary"
exit $rc
