#!/bin/sh
# make test-golden / make golden: certtrace --format jsonl on every sample
# capture in pcaps/, compared with pcaps/expected/NAME.jsonl.  A sample may
# carry extra options in pcaps/NAME.args (one line, e.g. "--keylog pcaps/x.keylog").
# With --update the expected files are rewritten: review the diff like code.
set -eu
bin=${1:-./certtrace}
update=${2:-}
dir=pcaps
mkdir -p "$dir/expected"
pass=0 fail=0
for f in "$dir"/*.pcap "$dir"/*.pcapng; do
	[ -e "$f" ] || continue
	name=$(basename "$f"); name=${name%.*}
	args=""
	[ -f "$dir/$name.args" ] && args=$(cat "$dir/$name.args")
	exp="$dir/expected/$name.jsonl"
	out=$(mktemp)
	# shellcheck disable=SC2086
	"$bin" -r "$f" --format jsonl -q $args > "$out" 2>/dev/null || true
	if [ "$update" = "--update" ]; then
		cp "$out" "$exp"
		echo "golden: wrote $exp"
	elif [ ! -f "$exp" ]; then
		echo "golden: $name: no expected output (make golden writes it)"
		fail=$((fail + 1))
	elif cmp -s "$out" "$exp"; then
		pass=$((pass + 1))
	else
		echo "golden: $name: output differs from $exp:"
		diff "$exp" "$out" | head -20
		fail=$((fail + 1))
	fi
	rm -f "$out"
done
[ "$update" = "--update" ] && exit 0
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
