#!/bin/sh
# Runs the Criterion binary; under the sanitizers a report anywhere in its
# output fails the run, because Criterion counts a test as passed even when
# LeakSanitizer reported a leak in the forked child that ran it.
set -u
bin=$1 sanitize=${2:-0}
log=$(mktemp)
"$bin" --jobs 2 > "$log" 2>&1
rc=$?
cat "$log"
if [ "$sanitize" = 1 ] && grep -Eq 'LeakSanitizer|AddressSanitizer|runtime error:' "$log"; then
	echo "unit: sanitizer reports above: failing the run" >&2
	rc=1
fi
rm -f "$log"
# tests/test_dpi.c reads a few captures from the corpus and skips without it.
corpus=${CERTTRACE_CORPUS:-../shared/corpus/real}
if [ ! -d "$corpus" ]; then
	if [ -n "${CERTTRACE_REQUIRE_SHARED:-}" ]; then
		echo "unit: $corpus not found, and CERTTRACE_REQUIRE_SHARED is set (CI)" >&2
		exit 2
	fi
	echo "unit: the corpus tests skipped: $corpus not found (CI has it)"
fi
exit $rc
