#!/bin/sh
# Live capture end to end (needs root for network namespaces; skips without).
#
# Two namespaces joined by a veth pair, addresses from the loopback range
# (route_localnet lets 127/8 cross the veth; nothing leaves the namespaces):
#   ct-srv: FE pool 127.0.10.1:5061 and Exchange CAS 127.0.20.1:443 (openssl s_server)
#   ct-cli: a phone 127.0.40.1 (openssl s_client), and certtrace -i on its veth end
# Checks: chains and the issuer-mismatch finding in the jsonl; -c stops after
# N handshakes; SIGINT mid-run still prints a whole report with kernel counts;
# -w output read back with -r gives the same chains; -Z drops to another uid;
# SIGHUP after a mv of the -o and -w files goes on in new files (sighup_checks).
# findings are written before SIGINT (jsonl and text); --stats 1 gives a stats
# event on an idle link; a --keylog written during the capture opens a TLS 1.3
# handshake (s_client -keylogfile into the followed file, and secrets appended
# a second after the handshake was captured).
# Other suites use network namespaces too: the whole test runs under
# flock /tmp/certtrace-netns.lock.
set -u
if [ -z "${CT_NETNS_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	CT_NETNS_LOCKED=1 exec flock /tmp/certtrace-netns.lock sh "$0" "$@"
fi
bin=$(readlink -f "${1:-./certtrace}")
here=$(cd "$(dirname "$0")/.." && pwd)
pki=$here/pcaps/pki
if [ "$(id -u)" != 0 ]; then
	echo "live: SKIP: needs root (network namespaces); CI runs it as root"
	exit 0
fi
for t in ip openssl python3; do
	command -v $t >/dev/null 2>&1 || { echo "live: SKIP: $t not installed"; exit 0; }
done
tag=$$
srv=ct-srv-$tag cli=ct-cli-$tag
work=$(mktemp -d)
pids=""
. "$here/tests/netns.sh"
# CT_KEEP=1 keeps a copy of the work folder in /tmp/ct-live-keep (debugging).
cleanup() {
	ct_netns_end "$pids" "$srv" "$cli"
	[ -n "${CT_KEEP:-}" ] && cp -r "$work" /tmp/ct-live-keep; rm -rf "$work"
}
trap cleanup EXIT INT TERM

ct_veth_pair "$srv" "vs$tag" "$cli" "vc$tag" ||
	{ echo "live: SKIP: cannot create network namespaces and a veth pair"; exit 0; }
ip -n "$srv" addr add 127.0.10.1/16 dev "vs$tag"
ip -n "$srv" addr add 127.0.20.1/16 dev "vs$tag"
ip -n "$cli" addr add 127.0.40.1/16 dev "vc$tag"
ip -n "$cli" route add 127.0.10.0/24 dev "vc$tag" src 127.0.40.1
ip -n "$cli" route add 127.0.20.0/24 dev "vc$tag" src 127.0.40.1

cat "$pki/issuing-ca.pem" "$pki/contoso-root.pem" > "$work/fe-chain.pem"
cat "$pki/lookalike-ca.pem" > "$work/cas-chain.pem"
ip netns exec "$srv" openssl s_server -quiet -accept 127.0.10.1:5061 -naccept 100 \
	-cert "$pki/lyncpool.pem" -key "$pki/lyncpool.key" -cert_chain "$work/fe-chain.pem" \
	-tls1_2 >/dev/null 2>&1 &
pids="$pids $!"
ip netns exec "$srv" openssl s_server -quiet -accept 127.0.20.1:443 -naccept 100 \
	-cert "$pki/casarray-seed.pem" -key "$pki/casarray-1024.key" -cert_chain "$work/cas-chain.pem" \
	-cipher 'DEFAULT:@SECLEVEL=0' -tls1_2 >/dev/null 2>&1 &
pids="$pids $!"
# TLS 1.3 only, for the key log checks (4443 is in the default --ports).
ip netns exec "$srv" openssl s_server -quiet -accept 127.0.10.1:4443 -naccept 100 \
	-cert "$pki/lyncpool.pem" -key "$pki/lyncpool.key" -cert_chain "$work/fe-chain.pem" \
	-tls1_3 >/dev/null 2>&1 &
pids="$pids $!"

handshakes() {   # $1: how many rounds of FE + CAS
	i=0
	while [ "$i" -lt "$1" ]; do
		echo | ip netns exec "$cli" timeout 5 openssl s_client -connect 127.0.10.1:5061 \
			-servername lyncpool.contoso.com -CAfile "$pki/contoso-root.pem" >/dev/null 2>&1
		echo | ip netns exec "$cli" timeout 5 openssl s_client -connect 127.0.20.1:443 \
			-servername casarray.contoso.com -cipher 'DEFAULT:@SECLEVEL=0' \
			-CAfile "$pki/contoso-root.pem" -verify_return_error >/dev/null 2>&1
		i=$((i + 1))
	done
}

wait_listening() {
	for _ in $(seq 50); do
		if ip netns exec "$srv" sh -c 'cat /proc/net/tcp' | grep -q ':01BB .* 0A '; then return 0; fi
		sleep 0.1
	done
}
wait_listening
sleep 0.3

pass=0 fail=0
check() {  # name, then a python expression over `events` (list of dicts)
	name=$1 file=$2 expr=$3
	if python3 - "$file" "$expr" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = eval(sys.argv[2])
sys.exit(0 if ok else 1)
PY
	then pass=$((pass + 1)); echo "live: ok   $name"
	else fail=$((fail + 1)); echo "live: FAIL $name"; head -c 2000 "$file"; echo; fi
}

sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f; }
fe_sha1=$(sha1 "$pki/lyncpool.pem")
cas_sha1=$(sha1 "$pki/casarray-seed.pem")

# 1. -c 4: stops by itself after four handshakes; -w saves them; -Z nobody.
ip netns exec "$cli" "$bin" -i "vc$tag" -c 4 --format jsonl --fail-on never \
	-w "$work/saved.pcap" -Z nobody > "$work/c.jsonl" 2> "$work/c.err" &
cpid=$!
pids="$pids $cpid"
sleep 1
# Real, effective, saved and filesystem ids, and the supplementary groups.
ids=$(awk '/^Uid:/ {u=$2" "$3" "$4" "$5} /^Gid:/ {g=$2" "$3" "$4" "$5} /^Groups:/ {$1=""; gr=$0}
	END {print u "|" g "|" gr}' "/proc/$cpid/status" 2>/dev/null)
handshakes 2
for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$cpid" 2>/dev/null; then
	echo "live: FAIL -c 4 did not stop"; fail=$((fail + 1)); kill -INT "$cpid"
fi
wait "$cpid" 2>/dev/null
nu=$(id -u nobody) ng=$(id -g nobody)
want="$nu $nu $nu $nu|$ng $ng $ng $ng|"
groups=${ids##*|}
if [ "${ids%|*}|" = "$want" ] && ! echo " $groups " | grep -q ' 0 '; then
	pass=$((pass + 1)); echo "live: ok   -Z nobody runs as uid/gid $nu/$ng, no root group ($ids)"
else
	fail=$((fail + 1)); echo "live: FAIL -Z nobody: ids were '$ids', want uid $nu gid $ng"; cat "$work/c.err"
fi
check "-c 4 gives four tls events" "$work/c.jsonl" \
	"sum(e['event'] == 'tls' for e in events) == 4"
check "FE chain seen live" "$work/c.jsonl" \
	"any(e['event'] == 'tls' and e['server_chain'] and e['server_chain'][0]['sha1'] == '$fe_sha1' for e in events)"
check "CAS chain seen live" "$work/c.jsonl" \
	"any(e['event'] == 'tls' and e['server_chain'] and e['server_chain'][0]['sha1'] == '$cas_sha1' for e in events)"
check "issuer-mismatch found live" "$work/c.jsonl" \
	"any(e['event'] == 'finding' and e['code'] == 'issuer-mismatch' for e in events)"
check "summary carries kernel counts" "$work/c.jsonl" \
	"events[-1]['event'] == 'summary' and 'received' in json.dumps(events[-1])"

# 2. -w output, read back, gives the same chains.
"$bin" -r "$work/saved.pcap" --format jsonl --fail-on never > "$work/w.jsonl" 2>/dev/null
python3 - "$work/c.jsonl" "$work/w.jsonl" <<'PY' && { pass=$((pass + 1)); echo "live: ok   -w file read back gives the same chains"; } || { fail=$((fail + 1)); echo "live: FAIL -w chains differ"; }
import json, sys
def chains(p):
    return sorted(tuple(c['sha1'] for c in e['server_chain']) for e in map(json.loads, open(p)) if e['event'] == 'tls')
sys.exit(0 if chains(sys.argv[1]) == chains(sys.argv[2]) and chains(sys.argv[1]) else 1)
PY

# 3. SIGINT mid-run: the report is finished and printed.
ip netns exec "$cli" "$bin" -i "vc$tag" --format jsonl --fail-on never > "$work/i.jsonl" 2>/dev/null &
ipid=$!
pids="$pids $ipid"
sleep 1
handshakes 1
sleep 0.5
kill -INT "$ipid"
wait "$ipid"
check "SIGINT still gives handshakes, findings and a summary" "$work/i.jsonl" \
	"sum(e['event'] == 'tls' for e in events) == 2 and events[-1]['event'] == 'summary'"

# 3b. --threads 2: two capture handles in a PACKET_FANOUT group, a worker each;
# every handshake is reported once, and the kernel counters are the handles' sum.
ip netns exec "$cli" "$bin" -i "vc$tag" --threads 2 --stats 0 --format jsonl --fail-on never \
	> "$work/t.jsonl" 2> "$work/t.err" &
tpid=$!
pids="$pids $tpid"
sleep 1
nthreads=$(ls "/proc/$tpid/task" 2>/dev/null | wc -l)
handshakes 4
sleep 0.5
kill -INT "$tpid"
wait "$tpid"
if [ "$nthreads" -ge 3 ]; then
	pass=$((pass + 1)); echo "live: ok   --threads 2 runs two workers ($nthreads threads)"
else
	fail=$((fail + 1)); echo "live: FAIL --threads 2 ran $nthreads threads"; cat "$work/t.err"
fi
check "--threads 2: eight handshakes, each once" "$work/t.jsonl" \
	"sorted(e['client']['port'] for e in events if e['event'] == 'tls') == sorted(set(e['client']['port'] for e in events if e['event'] == 'tls')) and sum(e['event'] == 'tls' for e in events) == 8"
check "--threads 2: both chains, the finding, and kernel counts at least the packets" "$work/t.jsonl" \
	"any(e['event'] == 'finding' and e['code'] == 'issuer-mismatch' for e in events) and events[-1]['event'] == 'summary' and events[-1]['kernel_received'] >= events[-1]['packets'] > 0"

# 4. --duration stops by itself; a bad filter and a missing interface are clear errors.
timeout 10 ip netns exec "$cli" "$bin" -i "vc$tag" --duration 1 --format jsonl > "$work/d.jsonl" 2>/dev/null
check "--duration 1 stops and reports" "$work/d.jsonl" "events[-1]['event'] == 'summary'"
if ip netns exec "$cli" "$bin" -i "vc$tag" 'tcp and nonsense' > /dev/null 2> "$work/bpf.err"; then
	fail=$((fail + 1)); echo "live: FAIL a bad filter was accepted"
elif grep -q "bad capture filter" "$work/bpf.err"; then pass=$((pass + 1)); echo "live: ok   bad filter: $(cat "$work/bpf.err")"
else fail=$((fail + 1)); echo "live: FAIL bad filter message: $(cat "$work/bpf.err")"; fi
ip netns exec "$cli" "$bin" -i no-such-if0 > /dev/null 2> "$work/nodev.err"
rc=$?
if [ $rc = 2 ] && grep -q "no-such-if0" "$work/nodev.err"; then pass=$((pass + 1)); echo "live: ok   missing interface: $(cat "$work/nodev.err")"
else fail=$((fail + 1)); echo "live: FAIL missing interface: exit $rc: $(cat "$work/nodev.err")"; fi

# 5. Live findings and stats: a stats event within ~3 s on an idle link, then
# the phone's handshakes to the FE and the CAS (issuer-mismatch, a rule of the
# whole picture, from the provisional pass) and one whose SNI is not in the
# certificate (name-mismatch, a per-handshake rule) and whose key is 1024
# bits (weak-key, a certificate rule): all in the output before SIGINT, and
# in the final report.
ip netns exec "$cli" "$bin" -i "vc$tag" --stats 1 --format jsonl --fail-on never \
	> "$work/l.jsonl" 2> "$work/l.err" &
lpid=$!
pids="$pids $lpid"
sleep 2.5
check "--stats 1: a stats event within 2.5 s on an idle link" "$work/l.jsonl" \
	"any(e['event'] == 'stats' and 'kernel_dropped' in e and 'flows_active' in e and 'findings' in e for e in events)"
handshakes 1
echo | ip netns exec "$cli" timeout 5 openssl s_client -connect 127.0.20.1:443 \
	-servername wrong.example.net -cipher 'DEFAULT:@SECLEVEL=0' >/dev/null 2>&1
sleep 1.5
cp "$work/l.jsonl" "$work/l-before.jsonl"
check "findings written before SIGINT (issuer-mismatch, name-mismatch, weak-key)" "$work/l-before.jsonl" \
	"not any(e['event'] == 'summary' for e in events) and {'issuer-mismatch', 'name-mismatch', 'weak-key'} <= {e['code'] for e in events if e['event'] == 'finding'}"
check "a live finding line has the final shape" "$work/l-before.jsonl" \
	"all({'code','severity','server','message','symptom','remedy','evidence'} <= set(e) for e in events if e['event'] == 'finding')"
check "live findings once per code, server and certificate" "$work/l-before.jsonl" \
	"len([e for e in events if e['event'] == 'finding']) == len({(e['code'], e['server']['ip'], e['server']['port'], tuple(c['sha1'] for c in e['evidence']['certificates'][:1])) for e in events if e['event'] == 'finding'})"
kill -INT "$lpid"
wait "$lpid"
check "after SIGINT the final report follows, name-mismatch in it" "$work/l.jsonl" \
	"events[-1]['event'] == 'summary' and sum(e['event'] == 'finding' and e['code'] == 'name-mismatch' for e in events) == 2"

# Text: the finding is a line on the report's stream before the end.
ip netns exec "$cli" "$bin" -i "vc$tag" --stats 0 --format text --fail-on never \
	> "$work/t.txt" 2> "$work/t.err" &
tpid=$!
pids="$pids $tpid"
sleep 1
echo | ip netns exec "$cli" timeout 5 openssl s_client -connect 127.0.20.1:443 \
	-servername wrong.example.net -cipher 'DEFAULT:@SECLEVEL=0' >/dev/null 2>&1
sleep 1
if grep -q "live finding: critical name-mismatch on 127.0.20.1:443" "$work/t.txt"; then
	pass=$((pass + 1)); echo "live: ok   text: a live finding line before SIGINT"
else
	fail=$((fail + 1)); echo "live: FAIL text: no live finding line before SIGINT"; cat "$work/t.txt"
fi
kill -INT "$tpid"
wait "$tpid"

# 6. --keylog followed as it grows: TLS 1.3 handshakes whose secrets are
# written while certtrace runs.  (a) s_client writes them into the followed
# file as it goes; (b) they are appended a second after the handshake was
# captured, so its records wait and are replayed (the connection stays open).
: > "$work/keys.log"
ip netns exec "$cli" "$bin" -i "vc$tag" --keylog "$work/keys.log" --format jsonl \
	--fail-on never > "$work/k.jsonl" 2> "$work/k.err" &
kpid=$!
pids="$pids $kpid"
sleep 1
echo | ip netns exec "$cli" timeout 5 openssl s_client -connect 127.0.10.1:4443 -tls1_3 \
	-servername lyncpool.contoso.com -keylogfile "$work/keys.log" >/dev/null 2>&1
sleep 1
check "key log written during the capture opens a TLS 1.3 handshake" "$work/k.jsonl" \
	"any(e['event'] == 'tls' and e['version'] == 'TLS 1.3' and e['certificates_visible'] and e['server_chain'] and e['server_chain'][0]['sha1'] == '$fe_sha1' for e in events)"
(sleep 3 | ip netns exec "$cli" timeout 6 openssl s_client -connect 127.0.10.1:4443 -tls1_3 \
	-servername lyncpool.contoso.com -keylogfile "$work/late.log" >/dev/null 2>&1) &
spid=$!
sleep 1
cat "$work/late.log" >> "$work/keys.log"
sleep 1
check "secrets appended after the handshake was captured open it, before it ends" "$work/k.jsonl" \
	"sum(e['event'] == 'tls' and e['version'] == 'TLS 1.3' and e['certificates_visible'] and bool(e['server_chain']) for e in events) == 2"
wait "$spid"
kill -INT "$kpid"
wait "$kpid"
check "no TLS 1.3 handshake left hidden" "$work/k.jsonl" \
	"not any(e['event'] == 'finding' and e['code'] == 'certificates-hidden' for e in events)"
# 6. SIGHUP after a mv, as logrotate's create + postrotate do it: -o and -w
# each go on in a new file at the same path, and nothing written before the
# signal is lost.  (A block of its own, so other checks can be added above.)
sighup_checks() {
	rot=$work/rot
	mkdir -p "$rot"
	ip netns exec "$cli" "$bin" -i "vc$tag" --format jsonl --fail-on never \
		-o "$rot/out.jsonl" -w "$rot/saved.pcap" > "$rot/stdout" 2> "$rot/err" &
	hpid=$!
	pids="$pids $hpid"
	sleep 1
	# A stray SIGHUP, nothing moved: -o goes on appending to the same file,
	# -w is left alone (no second header, no truncation); checked below
	# through the files as they end.
	kill -HUP "$hpid"
	sleep 0.3
	tls_in() { grep -c '"event":"tls"' "$1" 2>/dev/null || true; }
	handshakes 1                   # FE and CAS: two tls events
	for _ in $(seq 50); do [ "$(tls_in "$rot/out.jsonl")" -ge 2 ] && break; sleep 0.1; done
	mv "$rot/out.jsonl" "$rot/out.1"
	mv "$rot/saved.pcap" "$rot/saved.1.pcap"
	kill -HUP "$hpid"
	for _ in $(seq 50); do [ -e "$rot/out.jsonl" ] && [ -e "$rot/saved.pcap" ] && break; sleep 0.1; done
	handshakes 1
	for _ in $(seq 50); do [ "$(tls_in "$rot/out.jsonl")" -ge 2 ] && break; sleep 0.1; done
	alive=no
	kill -0 "$hpid" 2>/dev/null && alive=yes
	kill -INT "$hpid"
	wait "$hpid"
	rc=$?
	if [ "$alive" = yes ] && [ "$rc" = 0 ] && [ ! -s "$rot/err" ] && [ ! -s "$rot/stdout" ]; then
		pass=$((pass + 1)); echo "live: ok   SIGHUP reopens and goes on (exit 0, nothing on stderr or stdout)"
	else
		fail=$((fail + 1)); echo "live: FAIL SIGHUP: alive after it: $alive, exit $rc: $(cat "$rot/err")"
	fi
	check "SIGHUP: the moved file holds the first handshakes, no summary" "$rot/out.1" \
		"sum(e['event'] == 'tls' for e in events) == 2 and not any(e['event'] == 'summary' for e in events)"
	check "SIGHUP: the new file holds the later handshakes and the summary" "$rot/out.jsonl" \
		"sum(e['event'] == 'tls' for e in events) == 2 and events[-1]['event'] == 'summary' and events[-1]['handshakes'] == 4"
	for f in saved.1.pcap saved.pcap; do
		"$bin" -r "$rot/$f" --format jsonl --fail-on never > "$rot/$f.jsonl" 2> "$rot/$f.err"
		check "SIGHUP: -w $f is a whole pcap of two handshakes (read back with -r)" "$rot/$f.jsonl" \
			"sum(e['event'] == 'tls' for e in events) == 2 and events[-1]['event'] == 'summary'"
		if command -v tcpdump >/dev/null 2>&1; then
			if tcpdump -r "$rot/$f" -nn > /dev/null 2> "$rot/$f.tcpdump"; then
				pass=$((pass + 1)); echo "live: ok   SIGHUP: tcpdump -r reads $f"
			else
				fail=$((fail + 1)); echo "live: FAIL SIGHUP: tcpdump -r $f: $(cat "$rot/$f.tcpdump")"
			fi
		fi
	done
	# After -Z the reopen runs as the user dropped to, as the service's does
	# (user certtrace, owner of /var/log/certtrace): a folder of that user's.
	zd=$work/zrot
	mkdir -p "$zd" && chown nobody "$zd" && chmod 755 "$work"
	ip netns exec "$cli" "$bin" -i "vc$tag" --format jsonl --fail-on never -Z nobody \
		-o "$zd/z.jsonl" > /dev/null 2> "$zd/err" &
	zpid=$!
	pids="$pids $zpid"
	sleep 1
	mv "$zd/z.jsonl" "$zd/z.1"
	kill -HUP "$zpid"
	for _ in $(seq 50); do [ -e "$zd/z.jsonl" ] && break; sleep 0.1; done
	handshakes 1
	for _ in $(seq 50); do [ "$(tls_in "$zd/z.jsonl")" -ge 2 ] && break; sleep 0.1; done
	kill -INT "$zpid"
	wait "$zpid"
	owner=$(stat -c %U "$zd/z.jsonl" 2>/dev/null)
	if [ "$owner" = nobody ] && [ ! -s "$zd/err" ]; then
		pass=$((pass + 1)); echo "live: ok   SIGHUP after -Z nobody: the new file is made as nobody"
	else
		fail=$((fail + 1)); echo "live: FAIL SIGHUP after -Z nobody: owner '$owner': $(cat "$zd/err")"
	fi
	check "SIGHUP after -Z: the new file holds the handshakes and the summary" "$zd/z.jsonl" \
		"sum(e['event'] == 'tls' for e in events) == 2 and events[-1]['event'] == 'summary'"
}
sighup_checks

echo "live: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
