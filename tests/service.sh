#!/bin/sh
# make test-unitfile: the service files as make install puts them.
#   make install DESTDIR: the files and their modes; ExecStart names BINDIR; a
#     second install keeps an edited /etc/default/certtrace
#   systemd-analyze verify: nothing to say about the installed unit (run on a
#     copy whose ExecStart is the installed binary under DESTDIR, with MANPATH
#     there so Documentation=man:certtrace(1) is checked too); it does speak up
#     about a unit with a misspelled directive, so silence means something
#   systemd-analyze security --offline: exposure at most 1.2
#   systemd-sysusers --root: the user certtrace, a system user without a shell
#   logrotate (paths and owner moved into a temporary directory): rotates every
#     *.jsonl, creates the new file 0640, runs postrotate once, delays compression
#   systemctl knows the options postrotate spells (--kill-whom, --signal)
#   root only: the unit's capability set (AmbientCapabilities=) is enough for
#     certtrace, as an unprivileged user with no new privileges, to capture a
#     handshake on lo, and nothing less is (the same without it fails, exit 2)
# None of this needs systemd as PID 1.  Each tool that is missing skips its
# part with one line.
set -u
bin=$(readlink -f "${1:-./certtrace}")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { echo "service: FAIL: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok; else no "$1"; fi; }

# --- make install --------------------------------------------------------
root=$tmp/root
if ! make -C "$here" --no-print-directory -s install DESTDIR="$root" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	no "make install DESTDIR=$root"
fi
unit=$root/usr/local/lib/systemd/system/certtrace@.service
(cd "$root" && find . -type f -printf '%m %p\n' | sort) > "$tmp/files"
cat > "$tmp/files.want" <<'EOF'
644 ./etc/default/certtrace
644 ./etc/logrotate.d/certtrace
644 ./usr/local/lib/systemd/system/certtrace@.service
644 ./usr/local/lib/sysusers.d/certtrace.conf
644 ./usr/local/share/bash-completion/completions/certtrace
644 ./usr/local/share/man/man1/certtrace.1
755 ./usr/local/bin/certtrace
EOF
check "make install: the files and modes" 'diff -u "$tmp/files.want" "$tmp/files"'
check "make install: the unit differs from contrib/ only in ExecStart's path" \
	'[ "$(diff "$here/contrib/certtrace@.service" "$unit" | grep "^[<>]" | sed "s/ -i %i.*//")" = "$(printf "< ExecStart=/usr/bin/certtrace\n> ExecStart=/usr/local/bin/certtrace")" ]'
echo 'CERTTRACE_OPTS="--role 10.0.0.21=exchange"' > "$root/etc/default/certtrace"
make -C "$here" --no-print-directory -s install DESTDIR="$root" >/dev/null 2>&1
check "make install again keeps an edited /etc/default/certtrace" \
	'[ "$(cat "$root/etc/default/certtrace")" = "CERTTRACE_OPTS=\"--role 10.0.0.21=exchange\"" ]'

# --- systemd-analyze -----------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$tmp/units"
	sed "s|^ExecStart=/usr/local/bin/certtrace |ExecStart=$root/usr/local/bin/certtrace |" "$unit" \
		> "$tmp/units/certtrace@eth0.service"
	MANPATH=$root/usr/local/share/man systemd-analyze verify "$tmp/units/certtrace@eth0.service" \
		> "$tmp/verify.out" 2>&1
	rc=$?
	check "systemd-analyze verify: exit 0 and no output (got $rc: $(cat "$tmp/verify.out"))" \
		'[ "$rc" = 0 ] && [ ! -s "$tmp/verify.out" ]'
	sed 's/^ProtectHome=/ProtectHomes=/' "$tmp/units/certtrace@eth0.service" > "$tmp/units/certtrace@eth1.service"
	MANPATH=$root/usr/local/share/man systemd-analyze verify "$tmp/units/certtrace@eth1.service" \
		> "$tmp/verify-bad.out" 2>&1
	check "systemd-analyze verify names a misspelled directive" 'grep -q ProtectHomes "$tmp/verify-bad.out"'
	systemd-analyze security --offline=yes --threshold=12 "$tmp/units/certtrace@eth0.service" \
		> "$tmp/security.out" 2>&1
	rc=$?
	echo "service: $(grep -o 'Overall exposure level.*' "$tmp/security.out")"
	check "systemd-analyze security: exposure at most 1.2 (exit $rc)" '[ "$rc" = 0 ]'
else
	echo "service: SKIP: systemd-analyze not installed (verify, security)"
fi

if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers --root="$root" >"$tmp/sysusers.out" 2>&1 || cat "$tmp/sysusers.out"
	line=$(grep '^certtrace:' "$root/etc/passwd" 2>/dev/null)
	uid=$(echo "$line" | cut -d: -f3)
	check "systemd-sysusers: the user certtrace (got \"$line\")" \
		'[ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] &&
		 [ "$(echo "$line" | cut -d: -f6-)" = "/nonexistent:/usr/sbin/nologin" ] &&
		 grep -q "^certtrace:x:$(echo "$line" | cut -d: -f4):" "$root/etc/group"'
else
	echo "service: SKIP: systemd-sysusers not installed"
fi

# --- logrotate -------------------------------------------------------------
snippet=$root/etc/logrotate.d/certtrace
if command -v logrotate >/dev/null 2>&1; then
	log=$tmp/log
	mkdir -p "$log"
	# The same rules over a temporary directory, owned by whoever runs the
	# test, and a postrotate that counts its runs instead of signalling.
	sed -e "s|^/var/log/certtrace/|$log/|" \
	    -e "s|create 0640 certtrace certtrace|create 0640 $(id -un) $(id -gn)|" \
	    -e "/^\tpostrotate/,/^\tendscript/c\\
	postrotate\\
		echo ran >> $tmp/postrotate\\
	endscript" "$snippet" > "$tmp/logrotate.conf"
	check "logrotate: the snippet names /var/log/certtrace/*.jsonl and certtrace's create" \
		'grep -q "^/var/log/certtrace/\*\.jsonl {" "$snippet" && grep -q "create 0640 certtrace certtrace" "$snippet" &&
		 grep -q "^$log/\*\.jsonl {" "$tmp/logrotate.conf" && ! grep -q systemctl "$tmp/logrotate.conf"'
	echo '{"event":"tls","n":1}' > "$log/eth0.jsonl"
	echo '{"event":"tls","n":2}' > "$log/eth1.jsonl"
	echo 'not rotated' > "$log/notes.txt"
	logrotate -f -s "$tmp/state" "$tmp/logrotate.conf" > "$tmp/logrotate.out" 2>&1
	rc=$?
	check "logrotate: exit 0 ($(cat "$tmp/logrotate.out"))" '[ "$rc" = 0 ]'
	check "logrotate: each jsonl renamed to .1, the new one empty and 0640" \
		'[ "$(cat "$log/eth0.jsonl.1")" = "{\"event\":\"tls\",\"n\":1}" ] &&
		 [ "$(cat "$log/eth1.jsonl.1")" = "{\"event\":\"tls\",\"n\":2}" ] &&
		 [ ! -s "$log/eth0.jsonl" ] && [ "$(stat -c %a "$log/eth0.jsonl")" = 640 ] &&
		 [ ! -s "$log/eth1.jsonl" ] && [ "$(stat -c %a "$log/eth1.jsonl")" = 640 ]'
	check "logrotate: other files left alone" '[ "$(ls "$log" | grep -c notes)" = 1 ]'
	check "logrotate: postrotate ran once for both files (sharedscripts)" \
		'[ "$(cat "$tmp/postrotate")" = ran ]'
	echo '{"event":"tls","n":3}' > "$log/eth0.jsonl"
	logrotate -f -s "$tmp/state" "$tmp/logrotate.conf" >/dev/null 2>&1
	check "logrotate: a second rotation compresses only the older file (delaycompress)" \
		'[ "$(cat "$log/eth0.jsonl.1")" = "{\"event\":\"tls\",\"n\":3}" ] &&
		 [ "$(gzip -dc "$log/eth0.jsonl.2.gz")" = "{\"event\":\"tls\",\"n\":1}" ]'
else
	echo "service: SKIP: logrotate not installed"
fi
if command -v systemctl >/dev/null 2>&1; then
	opts=$(grep -o -- '--[a-z-]*' "$snippet" | sort -u)
	for o in $opts; do
		check "systemctl knows $o (the postrotate's spelling)" 'systemctl --help | grep -q -- "$o="'
	done
	check "postrotate spells --kill-whom and --signal" '[ "$(echo $opts)" = "--kill-whom --signal" ]'
else
	echo "service: SKIP: systemctl not installed"
fi

# --- the capability set, live on lo --------------------------------------
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit")
bound=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
check "the unit grants CAP_NET_RAW and bounds itself to it" '[ "$caps" = CAP_NET_RAW ] && [ "$bound" = CAP_NET_RAW ]'
if [ "$(id -u)" != 0 ]; then
	echo "service: SKIP: capture with the unit's capabilities needs root"
elif ! command -v openssl >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1; then
	echo "service: SKIP: openssl or setpriv not installed"
else
	pki=$here/pcaps/pki
	mkdir -p "$tmp/pub" && chmod 755 "$tmp" "$tmp/pub"
	cp "$bin" "$tmp/pub/certtrace" && chmod 755 "$tmp/pub/certtrace"
	port=$((20000 + $$ % 20000))
	openssl s_server -quiet -accept "127.0.0.1:$port" -naccept 20 \
		-cert "$pki/lyncpool.pem" -key "$pki/lyncpool.key" -tls1_2 >/dev/null 2>&1 &
	pids="$pids $!"
	setcap=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/^cap_//; s/ cap_/,+/g')
	# As the unit runs it: another uid, only the unit's capabilities (ambient,
	# so they survive the exec; bounding set cut to them), no new privileges.
	priv() {
		setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs \
			--inh-caps="-all$1" --ambient-caps="-all$1" --bounding-set="-all$1" \
			timeout 20 "$tmp/pub/certtrace" -i lo -c 1 --format jsonl --fail-on never \
			"tcp port $port" > "$tmp/pub/live$2.jsonl" 2> "$tmp/pub/live$2.err"
	}
	priv ",+$setcap" 1 &
	cpid=$!
	pids="$pids $cpid"
	for _ in $(seq 100); do
		[ -e "/proc/$cpid" ] || break
		echo | timeout 5 openssl s_client -connect "127.0.0.1:$port" \
			-servername lyncpool.contoso.com >/dev/null 2>&1
		sleep 0.2
		grep -q '"event":"tls"' "$tmp/pub/live1.jsonl" 2>/dev/null && break
	done
	wait "$cpid"
	rc=$?
	check "with $caps only, as uid 65534: exit 0 (got $rc: $(cat "$tmp/pub/live1.err"))" '[ "$rc" = 0 ]'
	check "with $caps only: the handshake on lo and the FE certificate in the jsonl" \
		'python3 - "$tmp/pub/live1.jsonl" "$port" <<'"'"'PY'"'"'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tls = [e for e in ev if e["event"] == "tls"]
certs = [e for e in ev if e["event"] == "certificate"]
assert tls and tls[0]["server"]["port"] == int(sys.argv[2]), tls
assert any(c.get("subject") == "CN=lyncpool.contoso.com" for c in certs), certs
assert [e for e in ev if e["event"] == "summary"][0]["handshakes"] >= 1
PY'
	priv "" 0
	rc=$?
	check "with no capability: exit 2 and a reason (got $rc: $(cat "$tmp/pub/live0.err"))" \
		'[ "$rc" = 2 ] && grep -qi "permi" "$tmp/pub/live0.err"'
fi

echo "service: $pass passed, $fail failed"
[ "$fail" = 0 ]
