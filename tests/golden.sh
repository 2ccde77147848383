#!/bin/sh
# make test-golden / make golden: certtrace --format jsonl on every sample
# capture in pcaps/, compared with pcaps/expected/NAME.jsonl.
#
# A sample may carry extra options in pcaps/NAME.args (one line, e.g.
# "--keylog pcaps/x.keylog") and environment in pcaps/NAME.env (VAR=VALUE
# lines, e.g. SSL_CERT_FILE=pcaps/pki/public-root.pem).  A sample judged in
# several ways has variants: pcaps/NAME@VARIANT.args and/or NAME@VARIANT.env,
# each run on pcaps/NAME.pcap(ng) and compared with expected/NAME@VARIANT.jsonl
# (the base run's .args/.env do not apply to a variant).
# The summary line of each output holds the exit status, so it is pinned too.
# Each is run with --threads 1, 2 (the reader owns about a quarter of the
# flows, one worker thread the rest) and 3 (two worker threads, more than
# this machine's 2 cores), and all must give the expected output byte for
# byte: the output does not depend on the number of workers.
# With --update the expected files are rewritten (from --threads 1): review
# the diff like code.
set -eu
bin=${1:-./certtrace}
update=${2:-}
dir=pcaps
mkdir -p "$dir/expected"
pass=0 fail=0

# run_one CAPTURE NAME: NAME is the sample or NAME@VARIANT.
run_one() {
	f=$1 name=$2
	args=""
	[ -f "$dir/$name.args" ] && args=$(cat "$dir/$name.args")
	envs=""
	[ -f "$dir/$name.env" ] && envs=$(grep -v '^#' "$dir/$name.env" | tr '\n' ' ')
	exp="$dir/expected/$name.jsonl"
	out=$(mktemp)
	threads="1 2 3"
	[ "$update" = "--update" ] && threads=1
	for t in $threads; do
		# shellcheck disable=SC2086
		env $envs "$bin" -r "$f" --format jsonl -q --threads "$t" $args > "$out" \
			2>/dev/null || true
		if [ "$update" = "--update" ]; then
			cp "$out" "$exp"
			echo "golden: wrote $exp"
		elif [ ! -f "$exp" ]; then
			echo "golden: $name: no expected output (make golden writes it)"
			fail=$((fail + 1))
		elif cmp -s "$out" "$exp"; then
			pass=$((pass + 1))
		else
			echo "golden: $name (--threads $t): output differs from $exp:"
			diff "$exp" "$out" | head -20
			fail=$((fail + 1))
		fi
	done
	rm -f "$out"
}

for f in "$dir"/*.pcap "$dir"/*.pcapng; do
	[ -e "$f" ] || continue
	name=$(basename "$f"); name=${name%.*}
	run_one "$f" "$name"
	for v in "$dir/$name"@*.args "$dir/$name"@*.env; do
		[ -e "$v" ] || continue
		vname=$(basename "$v"); vname=${vname%.*}
		# a variant with both files is run once, from its .args
		case $v in *.env) [ -e "$dir/$vname.args" ] && continue ;; esac
		run_one "$f" "$vname"
	done
done
[ "$update" = "--update" ] && exit 0
echo "golden: $pass passed, $fail failed (every sample with --threads 1, 2 and 3)"
[ "$fail" -eq 0 ]
