#!/bin/sh
# make test-valgrind: the Criterion suite under valgrind (memcheck, leaks).
#
# Criterion 2.4 runs each test in a worker that BoxFort starts by exec'ing
# the test binary again, so --trace-children=yes puts every test under
# valgrind, each with its own log (--log-file=...%p).  Criterion counts a
# test as passed whatever valgrind found in its worker (the worker's exit
# status is not the test's result), so this script reads the logs: any
# "ERROR SUMMARY" above 0 (invalid reads/writes, uninitialised values,
# definite leaks) fails the run, and the offending logs are printed.
#
#	sh tests/valgrind.sh BUILD/tests/unit [criterion options, e.g. --filter 'malformed_*/*']
#
# The certtrace binary some tests run, and system tools they call (dot), are
# not traced (--trace-children-skip):
# valgrind checks the tests and the library code they call in-process, and
# the binary's timing and memory bounds (malformed_flood) stay meaningful.
# Slow (x20-50): not part of make test.  -j1 keeps it to one core; a long
# --timeout, because valgrind is slow.
set -u
bin=$1
shift
command -v valgrind >/dev/null 2>&1 || { echo "test-valgrind: valgrind not installed (apt-get install valgrind)" >&2; exit 2; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
valgrind --trace-children=yes --trace-children-skip='*/certtrace,/usr/*,/bin/*' --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=yes --num-callers=30 \
	--log-file="$logs/vg.%p" "$bin" -j1 --timeout 600 "$@"
rc=$?
bad=0
for f in "$logs"/vg.*; do
	[ -f "$f" ] || continue
	if grep -q 'ERROR SUMMARY: [1-9]' "$f"; then
		cat "$f" >&2
		bad=$((bad + 1))
	fi
done
n=$(ls "$logs" | wc -l)
echo "test-valgrind: $n processes checked, $bad with errors"
[ $bad -eq 0 ] || rc=1
[ "$n" -gt 0 ] || { echo "test-valgrind: nothing ran under valgrind" >&2; rc=1; }
exit $rc
