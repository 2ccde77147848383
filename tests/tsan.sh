#!/bin/sh
# make test-tsan: certtrace built with ThreadSanitizer (SANITIZE=thread),
# with --threads 2 and 3, over every sample in pcaps/ (through the golden suite,
# so the output is checked too), every capture of the corpora, and the live
# suite (which runs two workers on two fanout handles; root, skips without).
# Any data race ends the run with exit 66 and ThreadSanitizer's report.
set -u
bin=${1:-build-tsan/certtrace}
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
fail=0
sh tests/golden.sh "$bin" || fail=1
n=0
for corpus in ../shared/corpus/real ../shared/corpus2/real; do
	if [ ! -d "$corpus" ]; then
		echo "tsan: skipped: $corpus not found (CI has it)"
		continue
	fi
	for f in $(find "$corpus" -name '*.pcap' -o -name '*.pcapng' | sort); do
		# 2: the reader owns flows beside one worker thread; 3: two
		# worker threads share the cap and the key store.
		t=$((2 + n % 2))
		"$bin" -r "$f" --threads $t --dpi-check --format jsonl -q --fail-on never \
			> /dev/null 2> /tmp/certtrace-tsan.$$
		if [ $? -eq 66 ]; then
			echo "tsan: FAIL $f:"
			head -60 /tmp/certtrace-tsan.$$
			fail=1
		fi
		n=$((n + 1))
	done
done
rm -f /tmp/certtrace-tsan.$$
echo "tsan: $n corpus captures, each with --threads 2 or 3: $([ $fail -eq 0 ] && echo 'no data race' || echo 'RACES above')"
sh tests/live.sh "$bin" || fail=1
exit $fail
