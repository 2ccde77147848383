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
# Where the samples go: pcaps/ itself, or CT_OUT (tests/regen.sh uses a
# temporary folder to check that a new run gives the same findings).
OUT=${CT_OUT:-$HERE}
mkdir -p "$OUT"
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
	key cas01 2048
	key mail 2048
	key intranet 2048
	key fabrikam 2048
	key public-root 2048
	key public-ca 2048
	key edge 2048
	key mediation 2048

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

	# Exchange's own self-signed certificate (New-ExchangeCertificate's default on a new
	# CAS): the machine name only, no CRL distribution point.
	sign cas01-selfsigned cas01 self ext_exchange_selfsigned \
		5C0A5E1F5E1F5E1F5E1F5E1F5E1F5E01 20250910100505Z 20300910100505Z sha256 \
		"/CN=CAS01" "DNS:CAS01,DNS:cas01.contoso.com"
	# A CAS named mail.contoso.com only, enrolled from the look-alike CA.
	sign mail-lookalike mail lookalike-ca ext_server \
		1A00000051A11A11A11A11 20250910100505Z 20450910100505Z sha256 \
		"/CN=mail.contoso.com" "DNS:mail.contoso.com" "$la_crl"
	# An intranet web server of the other hierarchy, and a web server outside contoso.com:
	# neither is a server the phones use, so neither may be judged by the phone trust model.
	sign intranet intranet lookalike-ca ext_server \
		1A00000061E7E7E7E7E7E7 20250910100505Z 20450910100505Z sha256 \
		"/CN=intranet.contoso.com" "DNS:intranet.contoso.com" "$la_crl"

	# A made-up "public" hierarchy, standing in for a commercial CA whose root is in the
	# system store (and perhaps in the phones' firmware list).
	sign public-root public-root self ext_root \
		7E57000000000000000000000000A001 20100101000000Z 20490101000000Z sha256 \
		"/C=US/O=Example Trust Services/CN=Example Public Root CA"
	ISSUER_KEY[public-root]=public-root
	sign public-ca public-ca public-root ext_issuing \
		7E57000000000000000000000000B001 20200101000000Z 20450101000000Z sha256 \
		"/C=US/O=Example Trust Services/CN=Example TLS Issuing CA 2020" "" \
		http://crl.example-trust.test/issuing2020.crl
	ISSUER_KEY[public-ca]=public-ca
	sign fabrikam fabrikam public-ca ext_server \
		7E57000000000000000000000000C001 20250910100505Z 20450910100505Z sha256 \
		"/CN=www.fabrikam.com" "DNS:www.fabrikam.com,DNS:fabrikam.com" \
		http://crl.example-trust.test/issuing2020.crl
	# Exchange with a certificate from the public CA: the most common configuration.
	sign exchange-public mail public-ca ext_server \
		7E57000000000000000000000000C002 20250910100505Z 20450910100505Z sha256 \
		"/CN=mail.contoso.com" "DNS:mail.contoso.com,DNS:autodiscover.contoso.com" \
		http://crl.example-trust.test/issuing2020.crl

	# CAS certificates about to expire.  The expires-soon sample's timestamps are moved
	# to EXPIRY_NOW (below), so "10 days left" and "45 days left" stay true forever.
	sign casarray-10days casarray issuing-ca ext_server \
		6100000021DA7E0000000010 20250910100505Z 20300311120000Z sha256 \
		"/CN=casarray.contoso.com" "$cas_san" "$fe_crl"
	sign cas02-45days mail issuing-ca ext_server \
		6100000022DA7E0000000045 20250910100505Z 20300415120000Z sha256 \
		"/CN=cas02.contoso.com" "DNS:cas02.contoso.com,DNS:mail.contoso.com" "$fe_crl"

	# Server-to-server peers of the FE pool on 5061: the Edge's internal side and a
	# Mediation server, each with its own certificate from the pool's CA.
	sign edge-int edge issuing-ca ext_server \
		6100000031ED6E0000000001 20250106100505Z 20450106100505Z sha256 \
		"/CN=edgeint.contoso.com" "DNS:edgeint.contoso.com,DNS:edge01-int.contoso.com" "$fe_crl"
	sign mediation mediation issuing-ca ext_server \
		6100000032AED1A000000001 20250106100505Z 20450106100505Z sha256 \
		"/CN=med01.contoso.com" "DNS:med01.contoso.com" "$fe_crl"

	# Trust files for clients.  A phone trusts only the CA that issued its FE pool
	# certificate; clients use it with -partial_chain, so that CA alone is the anchor.
	cp "$PKI/issuing-ca.pem" "$WORK/phone-trust.pem"
	cat "$PKI/issuing-ca.pem" "$PKI/contoso-root.pem" >"$WORK/contoso-cas.pem"
	# A phone whose firmware carries the public root.
	cat "$PKI/issuing-ca.pem" "$PKI/public-root.pem" >"$WORK/phone-public-trust.pem"
	# Every CA of the samples: a client that verifies but is no phone.
	cat "$PKI/issuing-ca.pem" "$PKI/contoso-root.pem" "$PKI/lookalike-ca.pem" \
		"$PKI/dc01-root.pem" "$PKI/public-ca.pem" "$PKI/public-root.pem" >"$WORK/all-cas.pem"
}

# ---------------------------------------------------------------------------
# The namespace, servers, clients, capture
# ---------------------------------------------------------------------------

# Addresses per role, all on the namespace's lo.
FE1=127.0.10.1 FE2=127.0.10.2 MED=127.0.10.5 CAS=127.0.20.1 CAS2=127.0.20.2 CAS3=127.0.20.3
EDGE=127.0.30.1 PHONE1=127.0.40.1 PHONE2=127.0.40.2 PHONE3=127.0.40.3 PC=127.0.50.1
INTRANET=127.0.60.1 FABRIKAM=127.0.60.2
FE1_6=fd00::10:1 CAS_6=fd00::20:1 PHONE1_6=fd00::40:1 PHONE2_6=fd00::40:2

nsx() { ip netns exec "$NS" "$@"; }

ns_up() {
	local a
	ip netns add "$NS"
	# MTU 1500 and no segmentation offload: the capture then shows the segments an
	# Ethernet link would carry, not 64 KiB loopback super-packets.
	ip -n "$NS" link set lo mtu 1500 gso_max_size 1500 gso_max_segs 1 up
	for a in $FE1 $FE2 $MED $CAS $CAS2 $CAS3 $EDGE $PHONE1 $PHONE2 $PHONE3 $PC \
		$INTRANET $FABRIKAM; do
		ip -n "$NS" addr add "$a/32" dev lo
	done
	for a in $FE1_6 $CAS_6 $PHONE1_6 $PHONE2_6; do
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
	ip netns exec "$NS" tcpdump "${opts[@]}" -s 0 -B 32768 -U --immediate-mode -Z root -n -w "$out" \
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
# "any" (handshake completes; the client does not enforce verification),
# "resumed" (an abbreviated handshake resuming the session given with -sess_in).
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
	resumed)
		[ $rc -eq 0 ] && grep -q '^Reused, ' "$clog" ||
			{ cat "$clog" >&2; die "client $src -> $connect ($sni) should have resumed its session"; }
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

# missing-intermediate: the CAS sends its leaf without the issuing CA.
scenario_missing_intermediate() {
	server "$CAS:443" 1 casarray - casarray
	lenient "$PHONE3" "$CAS:443" autodiscover.contoso.com -tls1_2
	servers_done
}

# expired: the FE pool still presents its 2012-2014 certificate.
scenario_expired() {
	server "$FE1:5061" 1 lyncpool-2012 issuing-ca lyncpool
	lenient "$PHONE1" "$FE1:5061" lyncpool.contoso.com -tls1_2
	servers_done
}

# name-mismatch: the client asks for mail.contoso.com, which the CAS certificate lacks.
scenario_name_mismatch() {
	server "$CAS:443" 1 casarray issuing-ca casarray
	lenient "$PHONE3" "$CAS:443" mail.contoso.com -tls1_2
	servers_done
}

# same-name-different-key: the CAS certificate comes from "Issuing CA for contoso,com"
# after that CA was renewed with a new key; the phone's copy of the CA has the old key.
scenario_same_name_different_key() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$CAS:443" 1 casarray-rekeyed issuing-ca-rekeyed casarray "${WEAK[@]}"
	phone ok "$PHONE1" "$FE1:5061" lyncpool.contoso.com
	phone reject "$PHONE1" "$CAS:443" casarray.contoso.com
	servers_done
}

# mtls-5061: FE to FE server-to-server MTLS.  Each server asks for a client certificate
# (CertificateRequest naming the contoso CAs) and each FE presents its own certificate.
scenario_mtls_5061() {
	local mtls=(-Verify 1 -CAfile "$WORK/contoso-cas.pem" -verify_return_error)
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${mtls[@]}"
	server "$FE2:5061" 1 fe02 issuing-ca fe02 "${mtls[@]}"
	client ok "$FE2" "$FE1:5061" fe01.contoso.com -tls1_2 \
		-cert "$PKI/fe02.pem" -key "$PKI/fe02.key" -cert_chain "$PKI/issuing-ca.pem" \
		-CAfile "$WORK/contoso-cas.pem" -verify_hostname fe01.contoso.com -verify_return_error
	client ok "$FE1" "$FE2:5061" fe02.contoso.com -tls1_2 \
		-cert "$PKI/lyncpool.pem" -key "$PKI/lyncpool.key" -cert_chain "$PKI/issuing-ca.pem" \
		-CAfile "$WORK/contoso-cas.pem" -verify_hostname fe02.contoso.com -verify_return_error
	servers_done
}

# tls13: a TLS 1.3 client; the certificates travel encrypted.  Its key log is kept.
scenario_tls13() {
	server "$CAS:443" 1 casarray issuing-ca casarray
	client ok "$PHONE3" "$CAS:443" autodiscover.contoso.com -tls1_3 \
		-CAfile "$WORK/phone-trust.pem" -partial_chain -verify_return_error \
		-keylogfile "$WORK/tls13.keylog"
	servers_done
}

# resumption: a full TLS 1.2 handshake, then the same client resumes its session.
scenario_resumption() {
	server "$CAS:443" 2 casarray issuing-ca casarray
	client ok "$PHONE3" "$CAS:443" casarray.contoso.com -tls1_2 \
		-CAfile "$WORK/phone-trust.pem" -partial_chain -sess_out "$WORK/session.pem"
	client resumed "$PHONE3" "$CAS:443" casarray.contoso.com -tls1_2 \
		-CAfile "$WORK/phone-trust.pem" -partial_chain -sess_in "$WORK/session.pem"
	servers_done
}

# pool-issuer-split: fe02 of the pool got its certificate from the look-alike CA; the
# phones signed in to fe02 refuse it.
scenario_pool_issuer_split() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$FE2:5061" 1 fe02-lookalike lookalike-ca fe02 "${WEAK[@]}"
	phone ok "$PHONE1" "$FE1:5061" lyncpool.contoso.com
	phone reject "$PHONE2" "$FE2:5061" lyncpool.contoso.com
	servers_done
}

# starttls-smtp: the Exchange receive connector on 25 speaks SMTP, then STARTTLS; an
# Edge Transport server (127.0.30.1) sends with openssl s_client -starttls smtp.
# openssl s_server cannot do STARTTLS, so a few lines of Python (its ssl module is
# OpenSSL too) play the server.
scenario_starttls_smtp() {
	cat "$PKI/casarray.pem" "$PKI/issuing-ca.pem" >"$WORK/casarray-chain.pem"
	cat >"$WORK/smtpd.py" <<'PY'
import socket, ssl, sys
addr, port, chain, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
print("ACCEPT", flush=True)
conn, _ = srv.accept()
f = conn.makefile("rb")
conn.sendall(b"220 cas01.contoso.com Microsoft ESMTP MAIL Service ready\r\n")
for line in f:
    cmd = line.strip().upper()
    if cmd.startswith(b"EHLO"):
        conn.sendall(b"250-cas01.contoso.com Hello\r\n250-SIZE 37748736\r\n"
                     b"250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
    elif cmd == b"STARTTLS":
        conn.sendall(b"220 2.0.0 SMTP server ready\r\n")
        break
    else:
        conn.sendall(b"500 5.3.3 Unrecognized command\r\n")
tls = ctx.wrap_socket(conn, server_side=True)
try:
    while tls.recv(4096):
        pass
except (ssl.SSLError, OSError):
    pass
tls.close()
PY
	NSERVER=$((NSERVER + 1))
	local slog=$WORK/server$NSERVER.log
	ip netns exec "$NS" python3 "$WORK/smtpd.py" "$CAS" 25 "$WORK/casarray-chain.pem" \
		"$PKI/casarray.key" </dev/null >"$slog" 2>&1 &
	SERVERS+=($!)
	PIDS+=($!)
	wait_for "$slog" '^ACCEPT' "the SMTP server on $CAS:25"
	client ok "$EDGE" "$CAS:25" cas01.contoso.com -starttls smtp -name edge01.contoso.com -tls1_2 \
		-CAfile "$WORK/contoso-cas.pem" -verify_hostname cas01.contoso.com -verify_return_error
	servers_done
}

# phone-cas01: a phone signs in to the FE, then reaches the CAS by its array name; the CAS
# still has Exchange's self-signed certificate (CAS01 only).  Only the traffic says this
# server is Exchange for the phones: a phone of the pool uses it, in the pool's domain.
scenario_phone_cas01() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$CAS2:443" 1 cas01-selfsigned - cas01 "${WEAK[@]}"
	phone ok "$PHONE1" "$FE1:5061" lyncpool.contoso.com
	phone reject "$PHONE1" "$CAS2:443" casarray.contoso.com
	servers_done
}

# phone-mail: the same with a CAS named mail.contoso.com from the look-alike CA.
scenario_phone_mail() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$CAS3:443" 1 mail-lookalike lookalike-ca mail "${WEAK[@]}"
	phone ok "$PHONE2" "$FE1:5061" lyncpool.contoso.com
	phone reject "$PHONE2" "$CAS3:443" mail.contoso.com
	servers_done
}

# not-phone-facing: a PC that never speaks to the FE reaches an intranet server of the
# other hierarchy, and a phone-side client (a desktop that also signed in to the FE)
# browses to a server outside contoso.com.  Neither server is judged as the phones'.
scenario_not_phone_facing() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$INTRANET:443" 1 intranet lookalike-ca intranet
	server "$FABRIKAM:443" 1 fabrikam public-ca fabrikam
	phone ok "$PHONE3" "$FE1:5061" lyncpool.contoso.com
	client ok "$PC" "$INTRANET:443" intranet.contoso.com -tls1_2 \
		-CAfile "$WORK/all-cas.pem" -verify_hostname intranet.contoso.com -verify_return_error
	client ok "$PHONE3" "$FABRIKAM:443" www.fabrikam.com -tls1_2 \
		-CAfile "$WORK/all-cas.pem" -verify_hostname www.fabrikam.com -verify_return_error
	servers_done
}

# exchange-public-ca: Exchange with a certificate from a public CA; the phone here has
# that root in its firmware list and accepts it.  Whether certtrace may say so depends
# on --phone-roots (the golden runs: pcaps/exchange-public-ca*.args and .env).
scenario_exchange_public_ca() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$CAS:443" 1 exchange-public public-ca mail "${WEAK[@]}"
	phone ok "$PHONE1" "$FE1:5061" lyncpool.contoso.com
	client ok "$PHONE1" "$CAS:443" autodiscover.contoso.com -tls1 "${WEAK[@]}" \
		-CAfile "$WORK/phone-public-trust.pem" -partial_chain \
		-verify_hostname autodiscover.contoso.com -verify_return_error
	servers_done
}

# expires-soon: two CAS servers whose certificates expire 10 and 45 days after the
# capture's (moved) time; the phones still accept both.
scenario_expires_soon() {
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${WEAK[@]}"
	server "$CAS:443" 1 casarray-10days issuing-ca casarray "${WEAK[@]}"
	server "$CAS2:443" 1 cas02-45days issuing-ca mail "${WEAK[@]}"
	phone ok "$PHONE1" "$FE1:5061" lyncpool.contoso.com
	phone ok "$PHONE1" "$CAS:443" casarray.contoso.com -attime 1898596800
	phone ok "$PHONE1" "$CAS2:443" cas02.contoso.com -attime 1898596800
	servers_done
}

# mtls-edge: the FE pool's server-to-server peers on 5061, all mutual TLS.  fe01 connects
# to the Edge's internal side and to a Mediation server, presenting the pool certificate;
# the Edge connects back to fe01 with its own.
scenario_mtls_edge() {
	local mtls=(-Verify 1 -CAfile "$WORK/contoso-cas.pem" -verify_return_error)
	server "$EDGE:5061" 1 edge-int issuing-ca edge "${mtls[@]}"
	server "$MED:5061" 1 mediation issuing-ca mediation "${mtls[@]}"
	server "$FE1:5061" 1 lyncpool issuing-ca lyncpool "${mtls[@]}"
	client ok "$FE1" "$EDGE:5061" edgeint.contoso.com -tls1_2 \
		-cert "$PKI/lyncpool.pem" -key "$PKI/lyncpool.key" -cert_chain "$PKI/issuing-ca.pem" \
		-CAfile "$WORK/contoso-cas.pem" -verify_hostname edgeint.contoso.com -verify_return_error
	client ok "$FE1" "$MED:5061" med01.contoso.com -tls1_2 \
		-cert "$PKI/lyncpool.pem" -key "$PKI/lyncpool.key" -cert_chain "$PKI/issuing-ca.pem" \
		-CAfile "$WORK/contoso-cas.pem" -verify_hostname med01.contoso.com -verify_return_error
	client ok "$EDGE" "$FE1:5061" lyncpool.contoso.com -tls1_2 \
		-cert "$PKI/edge-int.pem" -key "$PKI/edge.key" -cert_chain "$PKI/issuing-ca.pem" \
		-CAfile "$WORK/contoso-cas.pem" -verify_hostname lyncpool.contoso.com -verify_return_error
	servers_done
}

# ---------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------

# sample NAME SCENARIO [tcpdump options]: capture scenario_SCENARIO into pcaps/NAME.pcap.
sample() {
	local name=$1 scen=$2
	shift 2
	log "$name.pcap"
	capture_start "$WORK/$name.pcap" "$@"
	"scenario_$scen"
	capture_stop
	mv "$WORK/$name.pcap" "$OUT/$name.pcap"
}

# The seed scenario once more, as the input of the rewritten samples.
BASE=$WORK/base-seed.pcap
base_seed() {
	[ -s "$BASE" ] && return 0
	capture_start "$BASE"
	scenario_seed
	capture_stop
	build_rewrite
}

ALL_SAMPLES=(seed-issuer-mismatch fixed missing-intermediate expired name-mismatch
	same-name-different-key mtls-5061 tls13 resumption ipv6 sll2 vlan qinq
	pool-issuer-split out-of-order-retransmit truncated-cert starttls-smtp
	phone-cas01 phone-mail not-phone-facing exchange-public-ca expires-soon mtls-edge
	snaplen-96 snaplen-200)

# The expires-soon sample is moved to this capture time (2030-03-01T12:00:00Z), so its
# certificates have 10 and 45 days left whenever it is regenerated.
EXPIRY_NOW=1898596800

make_sample() {
	case $1 in
	seed-issuer-mismatch) sample "$1" seed ;;
	fixed) sample "$1" fixed ;;
	missing-intermediate) sample "$1" missing_intermediate ;;
	expired) sample "$1" expired ;;
	name-mismatch) sample "$1" name_mismatch ;;
	same-name-different-key) sample "$1" same_name_different_key ;;
	mtls-5061) sample "$1" mtls_5061 ;;
	starttls-smtp) sample "$1" starttls_smtp ;;
	phone-cas01) sample "$1" phone_cas01 ;;
	phone-mail) sample "$1" phone_mail ;;
	not-phone-facing) sample "$1" not_phone_facing ;;
	exchange-public-ca) sample "$1" exchange_public_ca ;;
	mtls-edge) sample "$1" mtls_edge ;;
	expires-soon)
		log "expires-soon.pcap"
		capture_start "$WORK/soon.pcap"
		scenario_expires_soon
		capture_stop
		local first
		first=$(tcpdump -tt -n -r "$WORK/soon.pcap" -c 1 2>/dev/null | cut -d' ' -f1)
		editcap -t "$(awk -v a="$EXPIRY_NOW" -v b="$first" 'BEGIN { printf "%.6f", a - b }')" \
			"$WORK/soon.pcap" "$WORK/soon-moved.pcap"
		mv "$WORK/soon-moved.pcap" "$OUT/expires-soon.pcap"
		;;
	snaplen-96 | snaplen-200)
		# The seed as a capture with -s 96 or -s 200 would have it: every frame cut.
		log "$1.pcap"
		base_seed
		editcap -F pcap -s "${1#snaplen-}" "$BASE" "$WORK/$1.pcap"
		mv "$WORK/$1.pcap" "$OUT/$1.pcap"
		;;
	resumption) sample "$1" resumption ;;
	tls13)
		rm -f "$WORK/tls13.keylog"
		sample "$1" tls13
		cp "$WORK/tls13.keylog" "$OUT/tls13.keylog"
		;;
	ipv6)
		log "ipv6.pcap"
		capture_start "$WORK/ipv6.pcap"
		scenario_seed "$FE1_6" "$CAS_6" "$PHONE1_6" "$PHONE2_6"
		capture_stop
		mv "$WORK/ipv6.pcap" "$OUT/ipv6.pcap"
		;;
	sll2)
		# "any" is captured with Linux cooked headers; v2 carries the interface index.
		sample "$1" seed -i any -y LINUX_SLL2
		;;
	vlan)
		log "vlan.pcap"
		base_seed
		"$REWRITE" --vlan 100 "$BASE" "$WORK/vlan.pcap"
		mv "$WORK/vlan.pcap" "$OUT/vlan.pcap"
		;;
	qinq)
		log "qinq.pcap"
		base_seed
		"$REWRITE" --qinq 200,100 "$BASE" "$WORK/qinq.pcap"
		mv "$WORK/qinq.pcap" "$OUT/qinq.pcap"
		;;
	out-of-order-retransmit)
		log "out-of-order-retransmit.pcap"
		base_seed
		"$REWRITE" --reorder 5061 "$BASE" "$WORK/reordered-fe.pcap"
		"$REWRITE" --reorder 443 "$WORK/reordered-fe.pcap" "$WORK/ooo.pcap"
		mv "$WORK/ooo.pcap" "$OUT/out-of-order-retransmit.pcap"
		;;
	truncated-cert)
		log "truncated-cert.pcap"
		base_seed
		"$REWRITE" --cut 5061 "$BASE" "$WORK/cut.pcap"
		mv "$WORK/cut.pcap" "$OUT/truncated-cert.pcap"
		;;
	pool-issuer-split)
		# tcpdump writes pcap only; editcap turns it into pcapng with a file comment.
		log "pool-issuer-split.pcapng"
		capture_start "$WORK/pool.pcap"
		scenario_pool_issuer_split
		capture_stop
		editcap -F pcapng --capture-comment \
			"certtrace sample: fe02 of lyncpool.contoso.com has a certificate from the look-alike Issuing-CA for contoso" \
			"$WORK/pool.pcap" "$WORK/pool.pcapng"
		mv "$WORK/pool.pcapng" "$OUT/pool-issuer-split.pcapng"
		;;
	*) die "no recipe for sample '$1'" ;;
	esac
}

if [ $# -eq 0 ]; then
	set -- "${ALL_SAMPLES[@]}"
fi
for s in "$@"; do
	[[ " ${ALL_SAMPLES[*]} " == *" $s "* ]] || die "unknown sample '$s' (known: ${ALL_SAMPLES[*]})"
done
make_pki
ns_up
for s in "$@"; do
	make_sample "$s"
done
log "done: $*"
