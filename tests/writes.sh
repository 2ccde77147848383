#!/bin/sh
# make test-writes: no silent loss.  Every output certtrace writes -- stdout in
# each format, -o FILE, -w FILE, --export-certs and its index.tsv,
# --debug-flows, --help -- that cannot be written gives exit 2 and one line on
# stderr naming the file and the error, even when the run raised findings
# (1) or was inconclusive (3).  /dev/full fails every write with ENOSPC; a
# 64 KiB tmpfs filled up (root, in a private mount namespace) does the same
# for --export-certs.  Also: -o writes what stdout would have, appends, and
# creates the file 0640.
set -u
bin=$(readlink -f "${1:-./certtrace}")
here=$(cd "$(dirname "$0")/.." && pwd)
seed=$here/pcaps/seed-issuer-mismatch.pcap      # findings: exit 1
hidden=$here/pcaps/tls13.pcap                   # inconclusive: exit 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "writes: ok   $*"; }
no() { fail=$((fail + 1)); echo "writes: FAIL $*"; }

# expect NAME WANT_RC PATTERN: the last run ($rc, $tmp/err) exited WANT_RC and
# said exactly one line on stderr, matching PATTERN (grep -E).
expect() {
	lines=$(wc -l < "$tmp/err")
	if [ "$rc" = "$2" ] && [ "$lines" = 1 ] && grep -Eq -- "$3" "$tmp/err"; then
		ok "$1: exit $rc, $(cat "$tmp/err")"
	else
		no "$1: exit $rc (want $2), $lines stderr lines (want 1 matching '$3'):"
		sed 's/^/    /' "$tmp/err"
	fi
}

formats="text jsonl dot"
"$bin" -r "$seed" --format ecs > /dev/null 2>&1
if [ $? != 2 ]; then formats="$formats ecs"
else echo "writes: SKIP --format ecs: this build does not take it"; fi

# The runs below fail only for the output: each reads fine to /dev/null.
"$bin" -r "$seed" > /dev/null 2> "$tmp/err"; rc=$?
[ "$rc" = 1 ] && [ ! -s "$tmp/err" ] && ok "the seed to /dev/null: exit 1 (findings), nothing said" ||
	no "the seed to /dev/null: exit $rc, $(cat "$tmp/err")"

for f in $formats; do
	"$bin" -r "$seed" --format "$f" > /dev/full 2> "$tmp/err"; rc=$?
	expect "--format $f > /dev/full (findings raised)" 2 \
		'^certtrace: stdout: cannot write the report: No space left on device$'
	"$bin" -r "$seed" --format "$f" -o /dev/full > /dev/null 2> "$tmp/err"; rc=$?
	expect "--format $f -o /dev/full" 2 \
		'^certtrace: -o /dev/full: cannot write the report: No space left on device$'
done
"$bin" -r "$hidden" --format jsonl > /dev/full 2> "$tmp/err"; rc=$?
expect "inconclusive run (3) > /dev/full" 2 '^certtrace: stdout: cannot write the report: '
"$bin" -r "$hidden" --format jsonl > /dev/null 2>&1; rc=$?
[ "$rc" = 3 ] && ok "the same run to /dev/null: exit 3" || no "inconclusive run: exit $rc, want 3"

"$bin" -r "$seed" -w /dev/full > /dev/null 2> "$tmp/err"; rc=$?
expect "-w /dev/full" 2 '^certtrace: -w /dev/full: cannot write the packets: No space left on device$'
"$bin" -r "$seed" -w /dev/full -o /dev/full 2> "$tmp/err"; rc=$?
if [ "$rc" = 2 ] && [ "$(wc -l < "$tmp/err")" = 2 ] && grep -q '^certtrace: -w /dev/full:' "$tmp/err" &&
   grep -q '^certtrace: -o /dev/full:' "$tmp/err"; then ok "-w and -o both full: exit 2, one line each"
else no "-w and -o both full: exit $rc:"; cat "$tmp/err"; fi
"$bin" -r "$seed" --debug-flows > /dev/full 2> "$tmp/err"; rc=$?
expect "--debug-flows > /dev/full" 2 '^certtrace: stdout: cannot write the flow figures: No space left'
"$bin" --help > /dev/full 2> "$tmp/err"; rc=$?
expect "--help > /dev/full" 2 '^certtrace: stdout: No space left on device$'
"$bin" -r "$seed" -o "$tmp/no/such/dir/out.jsonl" > /dev/null 2> "$tmp/err"; rc=$?
expect "-o into a missing folder" 2 "^certtrace: -o $tmp/no/such/dir/out.jsonl: No such file or directory$"

# -o: the bytes stdout gets, appended run after run, a new file 0640.
"$bin" -r "$seed" --format jsonl > "$tmp/stdout.jsonl" 2>/dev/null
(umask 022; "$bin" -r "$seed" --format jsonl -o "$tmp/out.jsonl" > "$tmp/o.stdout" 2>/dev/null); rc=$?
if [ "$rc" = 1 ] && cmp -s "$tmp/stdout.jsonl" "$tmp/out.jsonl" && [ ! -s "$tmp/o.stdout" ] &&
   [ "$(stat -c %a "$tmp/out.jsonl")" = 640 ]; then ok "-o FILE: exit 1, stdout's bytes, nothing on stdout, mode 0640"
else no "-o FILE: exit $rc, mode $(stat -c %a "$tmp/out.jsonl"), cmp: $(cmp "$tmp/stdout.jsonl" "$tmp/out.jsonl" 2>&1)"; fi
"$bin" -r "$seed" --format jsonl -o "$tmp/out.jsonl" 2>/dev/null
cat "$tmp/stdout.jsonl" "$tmp/stdout.jsonl" > "$tmp/twice.jsonl"
cmp -s "$tmp/twice.jsonl" "$tmp/out.jsonl" && ok "-o FILE appends: a second run follows the first" ||
	no "-o FILE did not append"
"$bin" -r "$seed" --format jsonl -o - 2>/dev/null | cmp -s - "$tmp/stdout.jsonl" &&
	ok "-o - is stdout" || no "-o - is not stdout"
"$bin" -r "$seed" -o "$tmp/dflt" 2>/dev/null
head -c 1 "$tmp/dflt" | grep -q '{' && ok "-o FILE defaults to jsonl, whatever stdout is" ||
	no "-o FILE default format: $(head -c 60 "$tmp/dflt")"
(umask 022; "$bin" -r "$seed" -w "$tmp/saved.pcap" > /dev/null 2>&1)
"$bin" -r "$tmp/saved.pcap" --format jsonl > "$tmp/back.jsonl" 2>/dev/null
[ "$(stat -c %a "$tmp/saved.pcap")" = 640 ] && grep -q '"event":"tls"' "$tmp/back.jsonl" &&
	ok "-w FILE: 0640, read back with -r" || no "-w FILE: mode $(stat -c %a "$tmp/saved.pcap") or unreadable"

# --export-certs: index.tsv that cannot be renamed into place (a folder holds
# its name), then (root) a full file system.
mkdir -p "$tmp/certs/index.tsv"
"$bin" -r "$seed" --export-certs "$tmp/certs" > /dev/null 2> "$tmp/err"; rc=$?
expect "--export-certs: index.tsv cannot be written" 2 \
	"^certtrace: --export-certs: cannot write $tmp/certs/index.tsv: Is a directory$"
if [ "$(id -u)" != 0 ]; then
	echo "writes: SKIP --export-certs on a full tmpfs: needs root (mount)"
elif ! command -v unshare >/dev/null 2>&1; then
	echo "writes: SKIP --export-certs on a full tmpfs: no unshare"
else
	mkdir "$tmp/full"
	# A mount namespace of our own: the tmpfs is gone with the shell.
	unshare -m sh -c '
		mount -t tmpfs -o size=64k certtrace-full "$1" || exit 99
		dd if=/dev/zero of="$1/fill" bs=4k count=64 2>/dev/null
		"$2" -r "$3" --export-certs "$1/certs" > /dev/null 2> "$4"
	' sh "$tmp/full" "$bin" "$seed" "$tmp/err"
	rc=$?
	if [ "$rc" = 99 ]; then
		echo "writes: SKIP --export-certs on a full tmpfs: cannot mount one"
	else
		expect "--export-certs on a full tmpfs (findings raised)" 2 \
			"^certtrace: --export-certs: cannot write $tmp/full/certs/[0-9a-f]{40}\\.(pem|cer): No space left on device$"
	fi
fi

echo "writes: $pass passed, $fail failed"
[ "$fail" = 0 ]
