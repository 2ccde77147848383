#!/bin/bash
# make-pcaps.sh — regenerate every sample capture in pcaps/ from scratch, with real TLS
# software (openssl s_server / s_client) talking inside a private network namespace
# while tcpdump records it.
#
# Two ideas a reader needs:
#  - The PKI is stable: keys live in pcaps/pki/ and are generated only when missing;
#    certificates are re-signed every run with `openssl ca`, fixed serials and fixed
#    validity dates, so the same keys give byte-identical certificates.  Timestamps and
#    TLS randoms change from run to run; the findings certtrace gives do not.
#  - Nothing leaves the namespace: every role has its own loopback-range address on
#    the namespace's lo (MTU 1500, so a certificate chain spans several segments as on
#    Ethernet), and a per-destination "src" on the local route makes each client
#    connect from its own address (phones from 127.0.40.x, FE to FE from 127.0.10.2).
#    Rewrites tcpdump cannot do (VLAN tags, reorder, cut) are done by
#    pcaps/tools/pcaprewrite.c, built into a temporary directory.
#
# Usage: sudo pcaps/make-pcaps.sh [SAMPLE ...]    (no argument: all samples)
# Needs (Debian): openssl, tcpdump, iproute2, wireshark-common (editcap), gcc,
# libpcap-dev, python3 (the tiny SMTP server for the STARTTLS sample).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
PROG=make-pcaps.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "$PROG: needs root to create a network namespace and capture in it; run: sudo $0 $*" >&2
	exit 1
fi
for tool in openssl tcpdump ip editcap cc python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$PROG: '$tool' not found; install: apt-get install openssl tcpdump iproute2 wireshark-common gcc libpcap-dev python3" >&2
		exit 1
	fi
done

NS=ct-pcaps-$$
WORK=$(mktemp -d /tmp/ct-pcaps.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	if [ -n "${CT_KEEP_WORK:-}" ]; then log "work files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------------------
# PKI
# ---------------------------------------------------------------------------

# key NAME BITS: an RSA key pcaps/pki/NAME.key, generated only if missing.
key() {
	local f=$PKI/$1.key
	if [ ! -s "$f" ]; then
		log "generating $1.key (RSA $2)"
		openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$f"
	fi
}

# sign NAME KEY ISSUER EXT SERIAL START END MD SUBJ [SAN] [CRL]
# Writes pcaps/pki/NAME.pem.  ISSUER is "self" or the NAME of the signing CA (whose key
# is pki/ISSUER_KEY: the CA's certificate NAME and key name may differ, see below).
sign() {
	local name=$1 keyname=$2 issuer=$3 ext=$4 serial=$5 start=$6 end=$7 md=$8 subj=$9
	local san=${10:-DNS:unused} crl=${11:-http://pki.contoso.com/crl/contoso-root.crl}
	local db=$WORK/ca-$name
	rm -rf "$db" && mkdir -p "$db"
	: >"$db/index.txt"
	echo "$serial" >"$db/serial"
	export CT_CADIR=$db CT_SAN=$san CT_CRL=$crl
	openssl req -new -config "$PKI/ca.cnf" -key "$PKI/$keyname.key" \
		-subj "$subj" -out "$db/req.pem"
	local signer=()
	if [ "$issuer" = self ]; then
		signer=(-selfsign -keyfile "$PKI/$keyname.key")
	else
		signer=(-cert "$PKI/$issuer.pem" -keyfile "$PKI/${ISSUER_KEY[$issuer]}.key")
	fi
	openssl ca -batch -notext -preserveDN \
		-config "$PKI/ca.cnf" "${signer[@]}" -in "$db/req.pem" -subj "$subj" \
		-extensions "$ext" -md "$md" -startdate "$start" -enddate "$end" \
		-out "$PKI/$name.pem" 2>"$db/ca.log" || { cat "$db/ca.log" >&2; die "signing $name failed"; }
}

declare -A ISSUER_KEY

make_pki() {
	mkdir -p "$PKI"
	key contoso-root 2048
	key issuing-ca 2048
	key issuing-ca-rekeyed 2048
	key dc01-root 2048
	key lookalike-ca 2048
	key lyncpool 2048
	key fe02 2048
	key casarray-1024 1024
	key casarray 2048

	local fe_san=DNS:lyncpool.contoso.com,DNS:fe01.contoso.com,DNS:sip.contoso.com,DNS:lyncdiscoverinternal.contoso.com
	local fe02_san=DNS:lyncpool.contoso.com,DNS:fe02.contoso.com,DNS:sip.contoso.com,DNS:lyncdiscoverinternal.contoso.com
	local cas_san=DNS:casarray.contoso.com,DNS:cas01.contoso.com,DNS:autodiscover.contoso.com
	local fe_crl=http://pki.contoso.com/crl/issuing.crl
	local la_crl=http://dc01.contoso.com/CertEnroll/Issuing-CA%20for%20contoso.crl

	# The hierarchy that issues the Lync FE pool certificate.
	sign contoso-root contoso-root self ext_root \
		1D4F7C1E6B2A9A8E4C5D3B2A1F0E9D8C 20100115090000Z 20490115090000Z sha256 \
		"/DC=com/DC=contoso/CN=Contoso Root CA"
	ISSUER_KEY[contoso-root]=contoso-root
	# The comma is part of the CN value ("CN=Issuing CA for contoso\,com" in RFC 2253).
	sign issuing-ca issuing-ca contoso-root ext_issuing \
		6100000002A3C8D4E5F60718 20110301120000Z 20470301120000Z sha256 \
		"/CN=Issuing CA for contoso,com"
	ISSUER_KEY[issuing-ca]=issuing-ca
	# The same CA renewed with a new key pair: same DN, other key (AD CS "renew with new key").
	sign issuing-ca-rekeyed issuing-ca-rekeyed contoso-root ext_issuing \
		6100000007B19E2F3A4B5C6D 20190301120000Z 20470301120000Z sha256 \
		"/CN=Issuing CA for contoso,com"
	ISSUER_KEY[issuing-ca-rekeyed]=issuing-ca-rekeyed

	# A second, unrelated AD CS hierarchy that issued the Exchange CAS certificate, with an
	# issuing CA whose name a person confuses with the one above.
	sign dc01-root dc01-root self ext_root \
		3B9E0C7A51D24F8E96A1C2D3E4F50617 20100601080000Z 20490601080000Z sha256 \
		"/DC=com/DC=contoso/CN=contoso-DC01-CA"
	ISSUER_KEY[dc01-root]=dc01-root
	sign lookalike-ca lookalike-ca dc01-root ext_issuing \
		1A00000003E7F0C2D4B6A8 20110601080000Z 20470601080000Z sha256 \
		"/DC=com/DC=contoso/CN=Issuing-CA for contoso" "" \
		http://dc01.contoso.com/CertEnroll/contoso-DC01-CA.crl
	ISSUER_KEY[lookalike-ca]=lookalike-ca

	# Leaves.  Validity runs to the 2040s so regenerated captures keep their findings;
	# the one expired certificate has the fixed 2012-2014 dates of the story's trace.
	sign lyncpool lyncpool issuing-ca ext_server \
		6100000011F2E3D4C5B6A798 20250106100505Z 20450106100505Z sha256 \
		"/CN=lyncpool.contoso.com" "$fe_san" "$fe_crl"
	sign fe02 fe02 issuing-ca ext_server \
		6100000012A1B2C3D4E5F607 20250106101010Z 20450106101010Z sha256 \
		"/CN=lyncpool.contoso.com" "$fe02_san" "$fe_crl"
	# fe02 with a certificate from the look-alike CA: a pool whose members disagree.
	sign fe02-lookalike fe02 lookalike-ca ext_server \
		1A0000004E1D2C3B4A5968 20250106101010Z 20450106101010Z sha256 \
		"/CN=lyncpool.contoso.com" "$fe02_san" "$la_crl"
	# The seed: 1024-bit, SHA-1, from the look-alike CA (serial and time of day from the story).
	sign casarray-seed casarray-1024 lookalike-ca ext_server \
		13AA5BA43EEE21820C 20250808153618Z 20450808153618Z sha1 \
		"/CN=casarray.contoso.com" "$cas_san" "$la_crl"
	# The fix: re-issued from the FE pool's issuing CA, 2048-bit, SHA-256.
	sign casarray casarray issuing-ca ext_server \
		6100000019C0FFEE0A0B0C0D 20250910100505Z 20450910100505Z sha256 \
		"/CN=casarray.contoso.com" "$cas_san" "$fe_crl"
	# From the re-keyed CA: same issuer DN as the FE's CA, other key.
	sign casarray-rekeyed casarray issuing-ca-rekeyed ext_server \
		610000001A5EED5EED5EED01 20250910100505Z 20450910100505Z sha256 \
		"/CN=casarray.contoso.com" "$cas_san" "$fe_crl"
	# The FE pool certificate of 2012, expired (dates from the story's network trace).
	sign lyncpool-2012 lyncpool issuing-ca ext_server \
		6100000001D5C3A1E2F30415 20120910100505Z 20140910100505Z sha256 \
		"/CN=lyncpool.contoso.com" "$fe_san" "$fe_crl"

	# Trust files for clients.  A phone trusts only the CA that issued its FE pool
	# certificate; clients use it with -partial_chain, so that CA alone is the anchor.
	cp "$PKI/issuing-ca.pem" "$WORK/phone-trust.pem"
	cat "$PKI/issuing-ca.pem" "$PKI/contoso-root.pem" >"$WORK/contoso-cas.pem"
}

# ---------------------------------------------------------------------------
# The namespace, servers, clients, capture
# ---------------------------------------------------------------------------

# Addresses per role, all on the namespace's lo.
FE1=127.0.10.1 FE2=127.0.10.2 CAS=127.0.20.1 EDGE=127.0.30.1
PHONE1=127.0.40.1 PHONE2=127.0.40.2 PHONE3=127.0.40.3
FE1_6=fd00::10:1 CAS_6=fd00::20:1 PHONE1_6=fd00::40:1

nsx() { ip netns exec "$NS" "$@"; }

ns_up() {
	local a
	ip netns add "$NS"
	# MTU 1500 and no segmentation offload: the capture then shows the segments an
	# Ethernet link would carry, not 64 KiB loopback super-packets.
	ip -n "$NS" link set lo mtu 1500 gso_max_size 1500 gso_max_segs 1 up
	for a in $FE1 $FE2 $CAS $EDGE $PHONE1 $PHONE2 $PHONE3; do
		ip -n "$NS" addr add "$a/32" dev lo
	done
	for a in $FE1_6 $CAS_6 $PHONE1_6; do
		ip -n "$NS" addr add "$a/128" dev lo nodad
	done
}

# from SRC DST: connections to the local address DST now come from SRC.  For a local
# destination the kernel takes the source address from the local route's "src".
from() {
	local src=$1 dst=$2
	case $dst in
	*:*)
		ip -n "$NS" -6 route del local "$dst" table local 2>/dev/null || true
		ip -n "$NS" -6 route add local "$dst" dev lo table local proto kernel metric 0 src "$src"
		;;
	*)
		ip -n "$NS" route replace local "$dst" dev lo table local proto kernel scope host src "$src"
		;;
	esac
}

# wait_for FILE PATTERN WHAT: until PATTERN shows in FILE (5 s at most).
wait_for() {
	local i
	for i in $(seq 1 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$1" >&2 || true
	die "timed out waiting for $3"
}

CAPTURE_PID=
# capture_start FILE [tcpdump options]: tcpdump on the namespace's lo (by default);
# returns once tcpdump has its socket open, so no packet of the scenario is missed.
capture_start() {
	local out=$1
	shift
	local opts=("$@")
	[ ${#opts[@]} -gt 0 ] || opts=(-i lo)
	ip netns exec "$NS" tcpdump "${opts[@]}" -s 0 -U --immediate-mode -Z root -n -w "$out" \
		2>"$WORK/tcpdump.log" &
	CAPTURE_PID=$!
	PIDS+=("$CAPTURE_PID")
	wait_for "$WORK/tcpdump.log" "listening on" tcpdump
}

capture_stop() {
	# Let the last FIN/ACKs through the stack before tcpdump stops.
	sleep 0.3
	kill -INT "$CAPTURE_PID"
	wait "$CAPTURE_PID" || die "tcpdump failed: $(cat "$WORK/tcpdump.log")"
	grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" ||
		die "tcpdump dropped packets: $(cat "$WORK/tcpdump.log")"
}

SERVERS=()
NSERVER=0
# Background processes are started with `ip netns exec` directly (it execs), so $! is
# the process itself and the exit trap can stop it.
# server ADDR:PORT NACCEPT CERT CHAIN|- KEY [s_server options]: an openssl s_server
# that exits after NACCEPT connections.  CHAIN "-" sends the leaf alone.
server() {
	local accept=$1 naccept=$2 cert=$3 chain=$4 key=$5
	shift 5
	local chainopt=()
	[ "$chain" = - ] || chainopt=(-cert_chain "$PKI/$chain.pem")
	NSERVER=$((NSERVER + 1))
	local slog=$WORK/server$NSERVER.log
	# -no-CA*: no trust store, so OpenSSL cannot build a chain on its own; the chain
	# sent is exactly CERT + CHAIN.
	# -www: answer HTTP, never read stdin (s_server ends a connection at EOF on stdin).
	ip netns exec "$NS" openssl s_server -www -accept "$accept" -naccept "$naccept" \
		-cert "$PKI/$cert.pem" -key "$PKI/$key.key" "${chainopt[@]}" \
		-no-CAfile -no-CApath -no-CAstore "$@" </dev/null >"$slog" 2>&1 &
	SERVERS+=($!)
	PIDS+=($!)
	wait_for "$slog" '^ACCEPT' "s_server on $accept"
}

# servers_done: every server has served its connections and exited.
servers_done() {
	local pid i
	for pid in "${SERVERS[@]}"; do
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null && die "a server (pid $pid) still waits for a connection"
		wait "$pid" 2>/dev/null || true
	done
	SERVERS=()
}

# client EXPECT SRC ADDR:PORT SNI [s_client options]: one TLS connection with
# openssl s_client from SRC.  EXPECT: "ok" (handshake completes and the chain verifies),
# "reject" (the client sends a fatal alert about the certificate and gives up),
# "any" (handshake completes; the client does not enforce verification).
NCLIENT=0
client() {
	local expect=$1 src=$2 connect=$3 sni=$4
	shift 4
	local host=${connect%:*}
	host=${host#[}
	host=${host%]}
	from "$src" "$host"
	NCLIENT=$((NCLIENT + 1))
	local clog=$WORK/client$NCLIENT.log
	local rc=0
	nsx openssl s_client -connect "$connect" -servername "$sni" "$@" \
		</dev/null >"$clog" 2>&1 || rc=$?
	case $expect in
	ok)
		[ $rc -eq 0 ] && grep -q 'Verify return code: 0 (ok)' "$clog" ||
			{ cat "$clog" >&2; die "client $src -> $connect ($sni) should have verified"; }
		;;
	reject)
		[ $rc -ne 0 ] && grep -q 'verify error' "$clog" ||
			{ cat "$clog" >&2; die "client $src -> $connect ($sni) should have rejected the certificate"; }
		;;
	any)
		[ $rc -eq 0 ] && grep -q '^Server certificate' "$clog" ||
			{ cat "$clog" >&2; die "client $src -> $connect ($sni) should have completed"; }
		;;
	esac
}

# Clients: a Lync phone trusts only the CA that issued its FE pool certificate
# (-partial_chain makes that CA the trust anchor), checks the name, and refuses
# what does not verify, like WinINet does.  Phones speak TLS 1.0.
WEAK=(-cipher 'DEFAULT:@SECLEVEL=0')
phone() {
	local expect=$1 src=$2 connect=$3 sni=$4
	shift 4
	client "$expect" "$src" "$connect" "$sni" -tls1 "${WEAK[@]}" \
		-CAfile "$WORK/phone-trust.pem" -partial_chain \
		-verify_hostname "$sni" -verify_return_error "$@"
}

# A client that looks at the certificate but does not enforce (a user clicking on).
lenient() {
	local src=$1 connect=$2 sni=$3
	shift 3
	client any "$src" "$connect" "$sni" -CAfile "$WORK/contoso-cas.pem" "$@"
}

# ---------------------------------------------------------------------------
# Rewrites
# ---------------------------------------------------------------------------

REWRITE=$WORK/pcaprewrite
build_rewrite() {
	[ -x "$REWRITE" ] && return 0
	cc -std=gnu11 -O2 -Wall -Wextra -o "$REWRITE" "$HERE/tools/pcaprewrite.c" -lpcap ||
		die "cannot build tools/pcaprewrite.c (needs gcc and libpcap-dev)"
}

# ---------------------------------------------------------------------------
# Scenarios: traffic only; the caller captures.
# ---------------------------------------------------------------------------

# The story: phones sign in to the FE pool fine, then refuse the Exchange CAS, whose
# certificate (1024-bit, SHA-1) comes from the look-alike "Issuing-CA for contoso".
scenario_seed() {
	local fe=${1:-$FE1} cas=${2:-$CAS} p1=${3:-$PHONE1} p2=${4:-$PHONE2}
	local fea=$fe cas_a=$cas
	case $fe in *:*) fea="[$fe]" ;; esac
	case $cas in *:*) cas_a="[$cas]" ;; esac
	server "$fea:5061" 2 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$cas_a:443" 3 casarray-seed lookalike-ca casarray-1024 -tls1 "${WEAK[@]}"
	phone ok "$p1" "$fea:5061" lyncpool.contoso.com
	phone reject "$p1" "$cas_a:443" autodiscover.contoso.com
	phone reject "$p1" "$cas_a:443" casarray.contoso.com
	phone ok "$p2" "$fea:5061" lyncpool.contoso.com
	phone reject "$p2" "$cas_a:443" casarray.contoso.com
	servers_done
}

# The fix: the CAS certificate re-issued from the FE pool's CA; everything verifies.
scenario_fixed() {
	server "$FE1:5061" 2 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$CAS:443" 3 casarray issuing-ca casarray -tls1 "${WEAK[@]}"
	phone ok "$PHONE1" "$FE1:5061" lyncpool.contoso.com
	phone ok "$PHONE1" "$CAS:443" autodiscover.contoso.com
	phone ok "$PHONE1" "$CAS:443" casarray.contoso.com
	phone ok "$PHONE2" "$FE1:5061" lyncpool.contoso.com
	phone ok "$PHONE2" "$CAS:443" casarray.contoso.com
	servers_done
}

# ---------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------

# sample NAME: capture scenario_NAME into pcaps/NAME.pcap.
sample() {
	local name=$1 scen=${2:-$1}
	log "$name.pcap"
	capture_start "$WORK/$name.pcap"
	"scenario_$scen"
	capture_stop
	mv "$WORK/$name.pcap" "$HERE/$name.pcap"
}

ALL_SAMPLES=(seed-issuer-mismatch fixed)

make_sample() {
	case $1 in
	seed-issuer-mismatch) sample seed-issuer-mismatch seed ;;
	fixed) sample fixed ;;
	*) die "unknown sample '$1' (known: ${ALL_SAMPLES[*]})" ;;
	esac
}

make_pki
ns_up
if [ $# -eq 0 ]; then
	set -- "${ALL_SAMPLES[@]}"
fi
for s in "$@"; do
	make_sample "$s"
done
log "done: $*"
