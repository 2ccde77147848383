#!/bin/sh
# The sample captures are reproducible: pcaps/make-pcaps.sh run again (into
# a temporary folder) must give captures with the same findings -- the same
# (code, server) pairs -- as the committed ones' golden output.  Timestamps,
# ports and TLS randoms differ run to run; findings must not.
# Needs root (network namespaces); skips without.
set -u
bin=$(readlink -f "${1:-./certtrace}")
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "regen: SKIP: needs root (make-pcaps.sh uses a network namespace)"
	exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! CT_OUT=$out bash "$here/pcaps/make-pcaps.sh" > "$out/log" 2>&1; then
	echo "regen: FAIL: make-pcaps.sh failed:"; tail -20 "$out/log"
	echo "regen: 0 passed, 1 failed"
	exit 1
fi
pass=0 fail=0
# In .args and .env, a regenerated file (pcaps/x.keylog) is the new run's;
# the PKI (pcaps/pki/) is not regenerated and stays the committed one.
paths="s|pcaps/pki/|$here/pcaps/pki/|g; t; s|pcaps/|$out/|g"
for f in "$out"/*.pcap "$out"/*.pcapng; do
	name=$(basename "$f"); name=${name%.*}
	exp="$here/pcaps/expected/$name.jsonl"
	[ -f "$exp" ] || continue
	args=""
	[ -f "$here/pcaps/$name.args" ] && args=$(sed "$paths" "$here/pcaps/$name.args")
	envs=""
	[ -f "$here/pcaps/$name.env" ] &&
		envs=$(grep -v '^#' "$here/pcaps/$name.env" | sed "$paths" | tr '\n' ' ')
	# shellcheck disable=SC2086
	env $envs "$bin" -r "$f" --format jsonl -q $args > "$out/$name.jsonl" 2>/dev/null
	if python3 - "$exp" "$out/$name.jsonl" <<'PY'
import json, sys
def findings(p):
    return sorted({(e["code"], e["server"]["name"]) for e in map(json.loads, open(p))
                   if e["event"] == "finding"})
a, b = findings(sys.argv[1]), findings(sys.argv[2])
if a != b:
    print(f"  committed: {a}\n  new run:   {b}")
sys.exit(0 if a == b else 1)
PY
	then pass=$((pass + 1))
	else echo "regen: $name: findings differ"; fail=$((fail + 1)); fi
done
echo "regen: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
