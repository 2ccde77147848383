#!/bin/sh
# make test-deb (after make deb): the Debian package in DEB_DIR.
#   lintian: no error (every tag it gives is printed)
#   the files it holds, exactly, and its conffiles, dependencies, maintainer
#     scripts (systemd-sysusers at configure)
#   the packaged binary, unpacked with dpkg-deb -x, on the seed capture: the
#     issuer-mismatch finding; --version is the package's version
#   the packaged unit names /usr/bin/certtrace and passes systemd-analyze verify
#     against the unpacked binary and manual; the packaged sysusers file makes
#     the user certtrace
#   the binary is built with Debian's hardening flags (BIND_NOW, RELRO, PIE)
set -u
dir=${1:-build-deb}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { echo "deb: FAIL: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok; else no "$1"; fi; }

arch=$(dpkg --print-architecture)
set -- "$dir"/certtrace_*_"$arch".deb
deb=$1
if [ "$#" != 1 ] || [ ! -f "$deb" ]; then
	echo "deb: FAIL: no single certtrace_*_$arch.deb in $dir (make deb first)"
	exit 1
fi
changes=${deb%.deb}.changes
version=$(dpkg-deb -f "$deb" Version)
echo "deb: $deb ($version)"

# --- lintian -------------------------------------------------------------
lintian --info --display-info --pedantic --fail-on error "$changes" > "$tmp/lintian.out" 2>&1
rc=$?
grep -v 'running with root privileges' "$tmp/lintian.out" | sed 's/^/deb: lintian: /'
echo "deb: lintian: $(grep -c '^E: ' "$tmp/lintian.out") errors, $(grep -c '^W: ' "$tmp/lintian.out") warnings, $(grep -Ec '^(I|P|X): ' "$tmp/lintian.out") info/pedantic/experimental tags"
check "lintian --fail-on error: exit 0 (got $rc)" '[ "$rc" = 0 ]'

# --- contents ------------------------------------------------------------
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, $6 }' | sort -k2 > "$tmp/files"
cat > "$tmp/files.want" <<'EOF'
-rw-r--r-- ./etc/default/certtrace
-rw-r--r-- ./etc/logrotate.d/certtrace
-rw-r--r-- ./lib/systemd/system/certtrace@.service
-rwxr-xr-x ./usr/bin/certtrace
-rw-r--r-- ./usr/lib/sysusers.d/certtrace.conf
-rw-r--r-- ./usr/share/bash-completion/completions/certtrace
-rw-r--r-- ./usr/share/doc/certtrace/README.md.gz
-rw-r--r-- ./usr/share/doc/certtrace/changelog.gz
-rw-r--r-- ./usr/share/doc/certtrace/copyright
-rw-r--r-- ./usr/share/man/man1/certtrace.1.gz
EOF
check "the package holds exactly these files" 'diff -u "$tmp/files.want" "$tmp/files"'
check "every file is root's" '[ -z "$(dpkg-deb -c "$deb" | awk "\$2 != \"root/root\"")" ]'
dpkg-deb -e "$deb" "$tmp/control"
check "conffiles: /etc/default/certtrace and /etc/logrotate.d/certtrace" \
	'[ "$(sort "$tmp/control/conffiles" | tr "\n" " ")" = "/etc/default/certtrace /etc/logrotate.d/certtrace " ]'
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpcap0.8 libssl3 libndpi4.2 libjansson4 "systemd | systemd-standalone-sysusers"; do
	check "Depends names $lib (got: $depends)" 'echo "$depends" | grep -qF "$lib"'
done
check "postinst creates the user: systemd-sysusers certtrace.conf" \
	'grep -q "systemd-sysusers .*certtrace.conf" "$tmp/control/postinst"'
check "postinst, prerm, postrm are valid sh" \
	'sh -n "$tmp/control/postinst" && sh -n "$tmp/control/prerm" && sh -n "$tmp/control/postrm"'

# --- the packaged binary -------------------------------------------------
x=$tmp/x
dpkg-deb -x "$deb" "$x"
"$x/usr/bin/certtrace" -r "$here/pcaps/seed-issuer-mismatch.pcap" --format jsonl --fail-on never \
	> "$tmp/seed.jsonl" 2> "$tmp/seed.err"
rc=$?
check "packaged certtrace on the seed: exit 0 (got $rc: $(cat "$tmp/seed.err"))" '[ "$rc" = 0 ]'
check "packaged certtrace on the seed: critical issuer-mismatch on the CAS 127.0.20.1:443" \
	'python3 - "$tmp/seed.jsonl" <<'"'"'PY'"'"'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
f = [(e["code"], e["severity"], e["server"]["ip"], e["server"]["port"], e["server"]["role"])
     for e in ev if e["event"] == "finding" and e["code"] == "issuer-mismatch"]
assert f == [("issuer-mismatch", "critical", "127.0.20.1", 443, "exchange")], f
assert ev[-1]["event"] == "summary" and ev[-1]["findings"]["critical"] == 2, ev[-1]
PY'
check "packaged certtrace --version says $version" \
	'"$x/usr/bin/certtrace" --version | grep -q "^certtrace $version "'
check "packaged manual page renders" \
	'gzip -dc "$x/usr/share/man/man1/certtrace.1.gz" | groff -man -Tutf8 -ww -z 2>&1 | [ -z "$(cat)" ]'

pkgunit=$x/lib/systemd/system/certtrace@.service
check "packaged unit: ExecStart=/usr/bin/certtrace" \
	'grep -q "^ExecStart=/usr/bin/certtrace -i %i " "$pkgunit"'
check "packaged unit: the one in contrib/" 'cmp -s "$pkgunit" "$here/contrib/certtrace@.service"'
check "packaged logrotate snippet: the one in contrib/" \
	'cmp -s "$x/etc/logrotate.d/certtrace" "$here/contrib/certtrace.logrotate"'
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$tmp/units"
	sed "s|^ExecStart=/usr/bin/certtrace |ExecStart=$x/usr/bin/certtrace |" "$pkgunit" \
		> "$tmp/units/certtrace@eth0.service"
	MANPATH=$x/usr/share/man systemd-analyze verify "$tmp/units/certtrace@eth0.service" \
		> "$tmp/verify.out" 2>&1
	rc=$?
	check "packaged unit: systemd-analyze verify exit 0, no output (got $rc: $(cat "$tmp/verify.out"))" \
		'[ "$rc" = 0 ] && [ ! -s "$tmp/verify.out" ]'
else
	echo "deb: SKIP: systemd-analyze not installed (verify of the packaged unit)"
fi
if command -v systemd-sysusers >/dev/null 2>&1; then
	mkdir -p "$x/etc"
	systemd-sysusers --root="$x" certtrace.conf > "$tmp/sysusers.out" 2>&1
	check "packaged sysusers file: systemd-sysusers makes the user certtrace ($(cat "$tmp/sysusers.out"))" \
		'grep -q "^certtrace:x:[0-9]*:[0-9]*:certtrace live capture:/nonexistent:/usr/sbin/nologin$" "$x/etc/passwd"'
else
	echo "deb: SKIP: systemd-sysusers not installed"
fi

readelf -lWd "$x/usr/bin/certtrace" > "$tmp/elf" 2>&1
check "packaged binary: PIE, GNU_RELRO, BIND_NOW (hardening=+all)" \
	'grep -q "Elf file type is DYN" "$tmp/elf" && grep -q GNU_RELRO "$tmp/elf" && grep -q "BIND_NOW" "$tmp/elf"'
check "packaged binary: stripped (symbols in the -dbgsym package)" \
	'! readelf -SW "$x/usr/bin/certtrace" | grep -q "\.symtab" && [ -f "$dir/certtrace-dbgsym_${version}_$arch.deb" ]'

echo "deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
