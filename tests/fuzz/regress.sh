#!/bin/sh
# Replays tests/fuzz/regressions/<target>/* through each target's plain
# driver (make fuzz-regress).  A target without saved inputs is skipped.
set -u
dir=$1
shift
rc=0
for t in "$@"; do
	in=tests/fuzz/regressions/$t
	if [ ! -d "$in" ] || [ -z "$(ls -A "$in" 2>/dev/null)" ]; then
		echo "fuzz-regress: $t: no saved inputs"
		continue
	fi
	"$dir/regress_$t" "$in" || { echo "fuzz-regress: $t: FAILED" >&2; rc=1; }
done
exit $rc
