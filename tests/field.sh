#!/bin/sh
# make test-field: the field options end to end against the built binary.
#   --events   two runs merged give the findings of one run over both captures
#   --baseline fixed.pcap's run against the seed: certificate-changed on the CAS
#   --export-certs  files open with openssl, planted symlinks are not followed
#   --phone-log the seed's log: the 12045 error explained by issuer-mismatch
#   -Z nobody  root-only inputs all read, the report as without -Z; strace: every
#              open before setuid, no read before it (root; skips without)
#   certtrace.1 renders without warnings and lists every --help option
#   exit status: 0, 1 per --fail-on, 2 with one line for input that cannot be read,
#              3 inconclusive (the snaplen took every chain), 0 for it with
#              --fail-on never; one line for a bad --at, --warn-days, --phone-roots
set -u
bin=${1:-./certtrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
no() { echo "field: FAIL: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok; else no "$1"; fi; }

seed=pcaps/seed-issuer-mismatch.pcap
split=pcaps/pool-issuer-split.pcapng
cas_leaf=90705ff60e76fbf27a17ecd369d082e971b13ad7   # the seed's CAS certificate

# jq-free: the findings as "code severity ip port role" lines, sorted.
findings() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "finding":
        s = e["server"]
        print(e["code"], e["severity"], s["ip"], s["port"], s["role"])
' "$1" | sort
}
events_without() {
	python3 -c '
import json, sys
drop = set(sys.argv[2].split(","))
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] in drop:
        continue
    e.pop("acceptable_cas", None)
    print(json.dumps(e, sort_keys=True))
' "$1" "$2"
}

# ---- --events ---------------------------------------------------------------------
"$bin" -r $seed --format jsonl -q > "$tmp/a.jsonl"
"$bin" -r $split --format jsonl -q > "$tmp/b.jsonl"
"$bin" -r $seed -r $split --format jsonl -q > "$tmp/one.jsonl"
"$bin" --events "$tmp/a.jsonl" --events "$tmp/b.jsonl" --format jsonl -q > "$tmp/merged.jsonl"
findings "$tmp/one.jsonl" > "$tmp/one.f"
findings "$tmp/merged.jsonl" > "$tmp/merged.f"
check "--events a b finds what -r a -r b finds" 'cmp -s "$tmp/one.f" "$tmp/merged.f"'
check "the merge shows the pool split across the two captures" \
	'grep -q "^pool-issuer-split warning 127.0.10.2 5061 lync-fe$" "$tmp/merged.f"'
check "--events a b: every event as -r a -r b (but acceptable_cas)" \
	'events_without "$tmp/one.jsonl" summary > "$tmp/one.e" &&
	 events_without "$tmp/merged.jsonl" summary > "$tmp/merged.e" && cmp -s "$tmp/one.e" "$tmp/merged.e"'
check "--events adds the runs' packet counts" \
	'[ "$(tail -1 "$tmp/one.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"packets\"])")" = \
	   "$(tail -1 "$tmp/merged.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"packets\"])")" ]'
# Every sample replayed through its own jsonl gives its events back.
same=1
for f in pcaps/*.pcap pcaps/*.pcapng; do
	name=$(basename "$f"); name=${name%.*}
	args=""
	[ -f "pcaps/$name.args" ] && args=$(cat "pcaps/$name.args")
	# shellcheck disable=SC2086
	"$bin" -r "$f" $args --format jsonl -q > "$tmp/s.jsonl" 2>/dev/null
	"$bin" --events "$tmp/s.jsonl" $args --format jsonl -q > "$tmp/r.jsonl" 2>/dev/null
	events_without "$tmp/s.jsonl" summary > "$tmp/s.e"
	events_without "$tmp/r.jsonl" summary > "$tmp/r.e"
	cmp -s "$tmp/s.e" "$tmp/r.e" || { echo "field: $name: replay differs"; same=0; }
done
check "every sample: --events over its jsonl gives the same events" '[ $same = 1 ]'
cat "$tmp/a.jsonl" | "$bin" --events - -r $split --format jsonl -q > "$tmp/mixed.jsonl"
findings "$tmp/mixed.jsonl" > "$tmp/mixed.f"
check "--events - (stdin) with -r" 'cmp -s "$tmp/one.f" "$tmp/mixed.f"'
printf 'not json\n{"event":"tls","ts":"bad"}\n' > "$tmp/junk.jsonl"
"$bin" --events "$tmp/junk.jsonl" --format jsonl -q > /dev/null 2>&1
check "--events over junk lines exits 3 (nothing could be checked), never crashes" '[ $? -eq 3 ]'
"$bin" --events "$tmp/does-not-exist.jsonl" --format jsonl > /dev/null 2> "$tmp/err"
check "--events on a missing file exits 2" '[ $? -eq 2 ] && grep -q "does-not-exist" "$tmp/err"'

# ---- --baseline -----------------------------------------------------------------------
"$bin" -r pcaps/fixed.pcap --format jsonl -q > "$tmp/fixed.jsonl"
"$bin" -r $seed --baseline "$tmp/fixed.jsonl" --format jsonl -q > "$tmp/base.jsonl"
check "baseline fixed -> seed: certificate-changed on the CAS" \
	'findings "$tmp/base.jsonl" | grep -q "^certificate-changed warning 127.0.20.1 443 exchange$"'
check "baseline: the change is certificate and issuing CA" \
	'grep "\"certificate-changed\"" "$tmp/base.jsonl" | grep -q "\"change\":\"certificate and issuing CA\""'
check "baseline: the FE did not change" \
	'! findings "$tmp/base.jsonl" | grep -q "^certificate-changed .* 5061 "'
check "baseline: the trust rules still decide (issuer-mismatch)" \
	'findings "$tmp/base.jsonl" | grep -q "^issuer-mismatch critical 127.0.20.1 443 exchange$"'
"$bin" -r pcaps/fixed.pcap --baseline "$tmp/fixed.jsonl" --format jsonl -q --fail-on warning > "$tmp/same.jsonl"
check "baseline against itself: no finding, exit 0" '[ $? -eq 0 ] && [ -z "$(findings "$tmp/same.jsonl")" ]'
"$bin" -r pcaps/expired.pcap --baseline "$tmp/fixed.jsonl" --format jsonl -q > "$tmp/gone.jsonl"
check "baseline: a server not seen any more disappeared" \
	'grep "\"certificate-changed\"" "$tmp/gone.jsonl" | grep -q "\"change\":\"disappeared\""'
"$bin" -r $seed --baseline "$tmp/junk.jsonl" > /dev/null 2>&1
check "a baseline without servers is bad input (exit 2)" '[ $? -eq 2 ]'

# ---- --export-certs ----------------------------------------------------------------------
out="$tmp/export"
mkdir -p "$out" "$tmp/outside"
echo victim > "$tmp/outside/victim"
ln -s "$tmp/outside/victim" "$out/$cas_leaf.pem"
ln -s "$tmp/outside/victim" "$out/.$cas_leaf.cer.tmp"
ln -s "$tmp/outside/victim" "$out/index.tsv"
"$bin" -r $seed --export-certs "$out" --format jsonl -q > /dev/null
check "export: the planted symlinks' target is untouched" '[ "$(cat "$tmp/outside/victim")" = victim ]'
check "export: the planted names are now regular files" \
	'[ -f "$out/$cas_leaf.pem" ] && [ ! -L "$out/$cas_leaf.pem" ] && [ ! -L "$out/index.tsv" ]'
check "export: nothing written outside the folder" '[ "$(ls "$tmp/outside")" = victim ]'
check "export: 4 certificates as .pem and .cer, no temporary files left" \
	'[ $(ls "$out"/*.pem | wc -l) -eq 4 ] && [ $(ls "$out"/*.cer | wc -l) -eq 4 ] &&
	 [ -z "$(ls -A "$out" | grep "^\.")" ]'
good=1
for f in "$out"/*.pem; do
	name=$(basename "$f" .pem)
	fp=$(openssl x509 -in "$f" -noout -fingerprint -sha1 2>/dev/null | sed 's/.*=//; s/://g' | tr A-F a-f)
	[ "$fp" = "$name" ] || { echo "field: $f: openssl says $fp"; good=0; }
	der=$(openssl x509 -inform DER -in "$out/$name.cer" -noout -fingerprint -sha1 2>/dev/null | sed 's/.*=//; s/://g' | tr A-F a-f)
	[ "$der" = "$name" ] || { echo "field: $name.cer: openssl says $der"; good=0; }
done
check "export: every .pem and .cer opens with openssl x509 and is named by its SHA-1" '[ $good = 1 ]'
check "export: index.tsv has a header and one line per certificate" \
	'[ $(wc -l < "$out/index.tsv") -eq 5 ] && head -1 "$out/index.tsv" | grep -q "^sha1	thumbprint	subject	issuer"'
check "export: index.tsv says who sent the CAS certificate" \
	'grep "^$cas_leaf	" "$out/index.tsv" | grep -q "127.0.20.1:443"'
"$bin" -r $seed --export-certs "$tmp/outside/victim/sub" --format jsonl -q > /dev/null 2>&1
check "export into a path that cannot be a folder: exit 2" '[ $? -eq 2 ]'

# ---- --phone-log -----------------------------------------------------------------------------
"$bin" -r $seed --phone-log pcaps/seed-phone.log --format jsonl -q > "$tmp/phone.jsonl"
check "phone log: one phone_error, 12045, explained by issuer-mismatch on the CAS" \
	'[ $(grep -c "\"event\":\"phone_error\"" "$tmp/phone.jsonl") -eq 1 ] &&
	 grep "\"phone_error\"" "$tmp/phone.jsonl" | grep -q "\"code\":\"12045\"" &&
	 grep "\"phone_error\"" "$tmp/phone.jsonl" | grep -q "\"explained_by\":{\"code\":\"issuer-mismatch\",\"severity\":\"critical\",\"server\":{\"ip\":\"127.0.20.1\",\"port\":443"'
"$bin" -r $seed --phone-log pcaps/seed-phone.log --format text --fail-on never > "$tmp/phone.txt"
check "phone log: the text report ties the error to the finding" \
	'grep -q "phone 10/19/2012 14:50:27.850: Insecure server 12045 ERROR_INTERNET_INVALID_CA on https://casarray.contoso.com/EWS/Exchange.asmx .* issuer-mismatch on casarray.contoso.com (127.0.20.1:443)" "$tmp/phone.txt"'
"$bin" -r $seed --phone-log "$tmp/nope.log" > /dev/null 2>&1
check "phone log that cannot be read: exit 2" '[ $? -eq 2 ]'
head -c 200000 /dev/urandom > "$tmp/random.log"
"$bin" -r $seed --phone-log "$tmp/random.log" --format jsonl -q > "$tmp/random.jsonl" 2>&1
check "phone log of random bytes: counted, not fatal" \
	'tail -1 "$tmp/random.jsonl" | grep -q "\"not_understood\":[1-9]"'

# ---- the manual -----------------------------------------------------------------------------
if command -v groff > /dev/null 2>&1; then
	groff -man -Tutf8 -ww -z certtrace.1 > "$tmp/groff.err" 2>&1
	check "certtrace.1 renders without groff warnings" '[ $? -eq 0 ] && [ ! -s "$tmp/groff.err" ]'
	[ -s "$tmp/groff.err" ] && cat "$tmp/groff.err"
else
	echo "field: groff not installed (tests/deps.sh installs it): manual not rendered"
	fail=$((fail + 1))
fi
missing=""
for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u) $("$bin" --help | grep -o -- '^  -[a-zA-Z]' | sort -u); do
	grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" certtrace.1 || missing="$missing $opt"
done
check "certtrace.1 documents every option of --help" '[ -z "$missing" ] || { echo "field: not in certtrace.1:$missing"; false; }'
# The findings table's rows open with the code's name and its severity.
codes=$(sed -n 's/^[[:space:]]*"\([a-z-]*\)", REP_[A-Z]*,$/\1/p' report/rules/findings.c)
missing=""
for c in $codes; do
	grep -q -- "^\\.B $(echo "$c" | sed 's/-/\\\\-/g')\$" certtrace.1 || missing="$missing $c"
done
check "certtrace.1 lists every finding code" '[ -n "$codes" ] && [ -z "$missing" ] ||
	{ echo "field: codes not in certtrace.1:$missing (of $(echo $codes | wc -w) read)"; false; }'

# ---- -Z: every input opened as root, then the drop, then the parsing ---------------------
# Root-only files (0600 in a 0700 folder) that nobody could not open: with
# -Z nobody certtrace still reads them all and gives the report it gives
# without -Z; strace shows each opened before setuid and none read before it.
if [ "$(id -u)" != 0 ]; then
	echo "field: SKIP -Z tests: they need root (root-only inputs, then a drop to nobody)"
elif ! nu=$(id -u nobody 2>/dev/null); then
	echo "field: SKIP -Z tests: no user nobody"
else
	z=$(mktemp -d)          # mode 0700, owned by root
	cp $seed "$z/a.pcap"; cp pcaps/tls13.pcap "$z/b.pcap"; cp pcaps/tls13.keylog "$z/K"
	cp pcaps/pki/lookalike-ca.pem "$z/T"; cp pcaps/seed-phone.log "$z/P"
	cp pcaps/pki/fe02.pem "$z/C"; cp "$tmp/fixed.jsonl" "$z/B"; cp "$tmp/fixed.jsonl" "$z/E"
	chmod 0600 "$z"/*
	zin="$z/a.pcap $z/b.pcap $z/K $z/T $z/P $z/C $z/B $z/E"
	zargs="-r $z/a.pcap -r $z/b.pcap --keylog $z/K --trust $z/T --phone-log $z/P
	       --cert other=$z/C --baseline $z/B --events $z/E --format jsonl --fail-on never"
	# shellcheck disable=SC2086
	"$bin" $zargs --export-certs "$z/exp0" -w "$z/w0.pcap" > "$tmp/z0.jsonl" 2> "$tmp/z0.err"
	# shellcheck disable=SC2086
	"$bin" -Z nobody $zargs --export-certs "$z/exp" -w "$z/w.pcap" > "$tmp/z.jsonl" 2> "$tmp/z.err"
	zrc=$?
	python3 -c 'import os, sys
os.setgroups([]); os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))
for p in sys.argv[2:]:
    try:
        open(p).close(); print("field: nobody can open " + p); sys.exit(1)
    except OSError: pass' "$nu" $zin
	check "-Z: the inputs are root-only (nobody cannot open one)" '[ $? -eq 0 ]'
	check "-Z nobody over root-only files: exit 0, nothing on stderr" '[ $zrc -eq 0 ] && [ ! -s "$tmp/z.err" ]'
	check "-Z nobody: the same report as without -Z" 'cmp -s "$tmp/z0.jsonl" "$tmp/z.jsonl"'
	tls() { grep -c "\"event\":\"tls\"" "$1"; }
	check "-Z: both -r files, the --events and the --keylog (TLS 1.3 chain visible) read" \
		'[ "$(tls "$tmp/z.jsonl")" -eq $(($(tls "$tmp/a.jsonl") + 1 + $(tls "$tmp/fixed.jsonl"))) ] &&
		 grep "\"event\":\"tls\"" "$tmp/z.jsonl" | grep "\"version\":\"TLS 1.3\"" | grep -q "\"certificates_visible\":true"'
	check "-Z: the --trust CA read (the CAS chain verified against it)" \
		'grep -q "verified with OpenSSL against a --trust CA" "$tmp/z.jsonl" && ! findings "$tmp/z.jsonl" | grep -q "^issuer-mismatch"'
	check "-Z: the --phone-log, --cert and --baseline read" \
		'grep -q "\"event\":\"phone_error\"" "$tmp/z.jsonl" && grep -q "\"--cert other=$z/C\"" "$tmp/z.jsonl" &&
		 findings "$tmp/z.jsonl" | grep -q "^certificate-changed "'
	check "-Z: --export-certs into the folder it made (given to nobody), as without -Z" \
		'[ "$(stat -c %u "$z/exp")" = "$nu" ] && [ "$(ls "$z/exp")" = "$(ls "$z/exp0")" ] && [ -s "$z/exp/index.tsv" ]'
	"$bin" -r "$z/w.pcap" --format jsonl -q > "$tmp/zw.jsonl" 2>/dev/null
	check "-Z: the -w file (opened as root, written as nobody) holds both files' handshakes" \
		'[ "$(tls "$tmp/zw.jsonl")" -eq $(($(tls "$tmp/a.jsonl") + 1)) ] && cmp -s "$z/w.pcap" "$z/w0.pcap"'
	if command -v strace > /dev/null 2>&1; then
		# shellcheck disable=SC2086
		strace -f -qq -e trace=openat,read,pread64,setgroups,setgid,setuid,setresuid \
			-o "$tmp/z.trace" "$bin" -Z nobody $zargs --export-certs "$z/exp2" -w "$z/w2.pcap" \
			-o "$z/o2.jsonl" > /dev/null 2>&1
		# shellcheck disable=SC2086
		python3 tests/privdrop.py "$tmp/z.trace" "$nu" $zin "$z/exp2" "$z/w2.pcap" "$z/o2.jsonl" \
			> "$tmp/z.priv"
		check "-Z: strace: every input, -o, -w and --export-certs opened before setuid, none read before" \
			'[ $? -eq 0 ] || { head -20 "$tmp/z.priv"; false; }'
		check "-Z: the -o file (opened as root, written as nobody) holds the report stdout had" \
			'cmp -s "$tmp/z.jsonl" "$z/o2.jsonl"'
	else
		echo "field: strace not installed (tests/deps.sh installs it): -Z order not traced"
		fail=$((fail + 1))
	fi
	rm -rf "$z"
fi

# Exit status and reasons for input that cannot be read.
"$bin" -r "$tmp/no-such.pcap" > "$tmp/nofile.out" 2> "$tmp/nofile.err"
check "an unreadable file: exit 2, one line naming it, no report" \
	'[ $? -eq 2 ] && [ ! -s "$tmp/nofile.out" ] && grep -q "no-such.pcap: cannot open" "$tmp/nofile.err" && [ "$(wc -l < "$tmp/nofile.err")" -eq 1 ]'
"$bin" -r "$tmp/no-such.pcap" -r "$seed" --format jsonl > "$tmp/mixed.out" 2>/dev/null
rc=$?
check "one unreadable file among good ones: the report of the good ones, exit 2" \
	'[ $rc -eq 2 ] && [ "$(findings "$tmp/mixed.out" | grep -c issuer-mismatch)" -eq 1 ]'
printf 'not a capture\n' > "$tmp/text.pcap"
"$bin" -r "$tmp/text.pcap" > /dev/null 2> "$tmp/text.err"
check "a file that is not a capture: exit 2 with the reason" \
	'[ $? -eq 2 ] && grep -q "not a readable pcap or pcapng file" "$tmp/text.err"'
"$bin" -r "$seed" --format jsonl > /dev/null 2>&1
check "the seed: exit 1 (critical findings, default --fail-on)" '[ $? -eq 1 ]'
"$bin" -r pcaps/fixed.pcap --format jsonl > /dev/null 2>&1
check "fixed: exit 0" '[ $? -eq 0 ]'

# Inconclusive is not clean: exit 3, and the summary says why.
"$bin" -r pcaps/snaplen-96.pcap --format jsonl -q > "$tmp/snap.jsonl"
check "snaplen-96: exit 3, verdict inconclusive, both servers not checked" \
	'[ $? -eq 3 ] && tail -1 "$tmp/snap.jsonl" | grep -q "\"verdict\":\"inconclusive\"" &&
	 [ "$(tail -1 "$tmp/snap.jsonl" | grep -o "\"reason\":" | wc -l)" -eq 2 ]'
"$bin" -r pcaps/snaplen-96.pcap -q > /dev/null --fail-on never
check "snaplen-96 --fail-on never: exit 0" '[ $? -eq 0 ]'
"$bin" -r pcaps/snaplen-96.pcap --format text > "$tmp/snap.txt"
check "snaplen-96 text: the verdict line says what was not checked and why" \
	'grep -q "^verdict: inconclusive: no certificate chain could be checked (5 handshakes); not checked: lync-fe 127.0.10.1:5061 (2 handshakes, .*snaplen (96 bytes.*(exit 3)$" "$tmp/snap.txt"'
for bad in "--at 2030-02-30" "--at yesterday" "--warn-days -1" "--warn-days x" \
	   "--phone-roots $tmp/no-roots.pem"; do
	# shellcheck disable=SC2086
	"$bin" -r $seed $bad > "$tmp/bad.out" 2> "$tmp/bad.err"
	check "$bad: exit 2 with one line" '[ $? -eq 2 ] && [ "$(wc -l < "$tmp/bad.err")" -eq 1 ]'
done
"$bin" -r pcaps/expires-soon.pcap --at now --format jsonl -q > /dev/null
check "--at now reads" '[ $? -ne 2 ]'

echo "field: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
