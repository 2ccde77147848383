#!/bin/bash
# make-captures.sh — the large captures `make bench` measures, built under $BENCH_DIR
# (default /var/tmp/certtrace-bench: outside the repository; never commit them).
#
#   busy-fe-<SIZE_MB>M.pcap  a busy Front End's day: TLS 1.2 handshakes with chains
#                            (FE pool on 5061, Exchange CAS on 443), TLS 1.2 resumptions,
#                            TLS 1.3 handshakes (certificates hidden) and bulk downloads,
#                            about 70 % of the bytes bulk
#   flood-<FLOWS>.pcap       FLOWS SYN-flood-shaped flows (SYN, SYN-ACK, one small data
#                            packet that is not a ClientHello), all concurrent
#
# Two ideas a reader needs:
#  - Real TLS, replicated.  One seed capture (seed.pcap) is made by real openssl
#    s_server/s_client inside a private network namespace, recorded by tcpdump on its
#    lo (MTU 1500, no segmentation offload, as pcaps/make-pcaps.sh does, so the
#    segments are the ones Ethernet would carry).  pcapgen (tests/bench/pcapgen.c)
#    then writes as many time-shifted copies as the size asks, each with its own client
#    addresses, merged in time order.
#  - Reproducible.  The seed is made once and kept; everything derived from it is a
#    pure function of the seed and the parameters (same bytes every run).  Remaking the
#    seed (REBUILD_SEED=1) changes the TLS randoms and timings, not the make-up.
#
# Usage: sudo tests/bench/make-captures.sh            (1 GiB capture and 1 M-flow flood)
#        sudo SMALL=1 tests/bench/make-captures.sh    (~100 MB capture, for quick runs)
# Variables: BENCH_DIR, SIZE_MB (default 1024, SMALL=1: 100), FLOOD_FLOWS (1000000),
#   SPAN_S (seconds the busy capture spans, default 600), ROUNDS (seed rounds, 5),
#   BULK_KB (one bulk download, default 300), REBUILD_SEED=1, FORCE=1 (remake outputs).
# Prints the paths of the captures it made or found, one per line, on stdout.
# Needs (Debian): openssl, tcpdump, iproute2, gcc, libpcap-dev.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PKI=$ROOT/pcaps/pki
PROG=make-captures.sh

BENCH_DIR=${BENCH_DIR:-/var/tmp/certtrace-bench}
if [ -n "${SMALL:-}" ]; then SIZE_MB=${SIZE_MB:-100}; else SIZE_MB=${SIZE_MB:-1024}; fi
FLOOD_FLOWS=${FLOOD_FLOWS:-1000000}
SPAN_S=${SPAN_S:-600}
ROUNDS=${ROUNDS:-5}
BULK_KB=${BULK_KB:-300}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "$*"; exit 1; }

case $BENCH_DIR in
"$ROOT" | "$ROOT"/*) die "BENCH_DIR=$BENCH_DIR is inside the repository; the captures must not be committed" ;;
esac
mkdir -p "$BENCH_DIR/bin"

# The tools: pcapgen writes the captures, pcapfloor is the floor run.sh measures.
for t in pcapgen pcapfloor; do
	if [ ! -x "$BENCH_DIR/bin/$t" ] || [ "$HERE/$t.c" -nt "$BENCH_DIR/bin/$t" ]; then
		cc -std=gnu11 -O2 -Wall -Wextra -o "$BENCH_DIR/bin/$t" "$HERE/$t.c" -lpcap ||
			die "cannot build $t.c (needs gcc and libpcap-dev)"
	fi
done
GEN=$BENCH_DIR/bin/pcapgen

SEED=$BENCH_DIR/seed.pcap
BUSY=$BENCH_DIR/busy-fe-${SIZE_MB}M.pcap
FLOOD=$BENCH_DIR/flood-${FLOOD_FLOWS}.pcap

# ---------------------------------------------------------------------------
# The seed: real handshakes and downloads in a namespace.
# ---------------------------------------------------------------------------

make_seed() {
	[ "$(id -u)" -eq 0 ] || die "making the seed needs root (a network namespace); run: sudo $0"
	for tool in openssl tcpdump ip; do
		command -v "$tool" >/dev/null 2>&1 ||
			die "'$tool' not found; install: apt-get install openssl tcpdump iproute2"
	done
	NS=ct-bench-$$
	WORK=$(mktemp -d /tmp/ct-bench.XXXXXX)
	PIDS=()
	# shellcheck disable=SC2317
	cleanup_seed() {
		local p
		for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
		for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
		ip netns del "$NS" 2>/dev/null || true
		rm -rf "$WORK"
	}
	trap cleanup_seed EXIT
	trap 'exit 130' INT TERM HUP

	local fe=127.0.10.1 cas=127.0.20.1 cas13=127.0.20.2
	local phones=(127.0.40.1 127.0.40.2 127.0.40.3 127.0.40.4) bulkcli=127.0.50.1
	ip netns add "$NS"
	ip -n "$NS" link set lo mtu 1500 gso_max_size 1500 gso_max_segs 1 up
	local a
	for a in $fe $cas $cas13 "${phones[@]}" $bulkcli; do
		ip -n "$NS" addr add "$a/32" dev lo
	done
	# from SRC DST: connections to the local address DST now come from SRC.
	from() {
		ip -n "$NS" route replace local "$2" dev lo table local proto kernel scope host src "$1"
	}

	mkdir -p "$WORK/www"
	head -c 1024 /dev/zero | tr '\0' 'x' >"$WORK/www/small.txt"
	# Incompressible, fixed content: the same bytes every run.
	head -c $((BULK_KB * 1024)) /dev/zero >"$WORK/zero.bin"
	openssl enc -aes-128-ctr -pass pass:certtrace-bench -nosalt -pbkdf2 \
		-in "$WORK/zero.bin" -out "$WORK/www/bulk.bin"
	cat "$PKI/issuing-ca.pem" "$PKI/contoso-root.pem" >"$WORK/fe-chain.pem"

	# Per round: 6 FE + 2 CAS full TLS 1.2 handshakes, 3 CAS resumptions, 8 TLS 1.3,
	# 1 bulk download (TLS 1.2, full handshake).
	local n12=$((ROUNDS * 6)) ncas=$((ROUNDS * (2 + 3 + 1) + 1)) n13=$((ROUNDS * 8))
	wait_accept() {
		local i
		for i in $(seq 1 100); do
			grep -q '^ACCEPT' "$1" 2>/dev/null && return 0
			sleep 0.05
		done
		die "s_server did not start: $(cat "$1")"
	}
	srv() {   # LOG ADDR:PORT NACCEPT CERT KEY CHAINFILE [options]
		local slog=$1 accept=$2 n=$3 cert=$4 key=$5 chain=$6
		shift 6
		(cd "$WORK/www" && exec ip netns exec "$NS" openssl s_server -WWW -accept "$accept" \
			-naccept "$n" -cert "$PKI/$cert.pem" -key "$PKI/$key.key" -cert_chain "$chain" \
			-no-CAfile -no-CApath -no-CAstore "$@" </dev/null >"$slog" 2>&1) &
		PIDS+=($!)
		wait_accept "$slog"
	}
	srv "$WORK/fe.log" "$fe:5061" "$n12" lyncpool lyncpool "$WORK/fe-chain.pem" -tls1_2
	srv "$WORK/cas.log" "$cas:443" "$ncas" casarray casarray "$PKI/issuing-ca.pem" -tls1_2
	srv "$WORK/cas13.log" "$cas13:443" "$n13" casarray casarray "$PKI/issuing-ca.pem" -tls1_3

	ip netns exec "$NS" tcpdump -i lo -s 0 -B 65536 -U -n -w "$WORK/seed.pcap" \
		2>"$WORK/tcpdump.log" &
	local tpid=$!
	PIDS+=($tpid)
	local i
	for i in $(seq 1 100); do
		grep -q "listening on" "$WORK/tcpdump.log" && break
		sleep 0.05
	done

	get() {   # SRC ADDR:PORT SNI PATH [s_client options]
		local src=$1 connect=$2 sni=$3 path=$4
		shift 4
		from "$src" "${connect%:*}"
		printf 'GET /%s HTTP/1.0\r\n\r\n' "$path" |
			ip netns exec "$NS" timeout 20 openssl s_client -quiet -connect "$connect" \
				-servername "$sni" "$@" >"$WORK/got" 2>"$WORK/client.log" ||
			die "client $src -> $connect failed: $(cat "$WORK/client.log")"
		[ -s "$WORK/got" ] || die "client $src -> $connect got nothing"
	}
	local r p
	log "seed: $ROUNDS rounds of 20 connections"
	# One session to resume, from a full handshake before the rounds.
	get "${phones[0]}" "$cas:443" casarray.contoso.com small.txt -tls1_2 -sess_out "$WORK/sess.pem"
	for r in $(seq 1 "$ROUNDS"); do
		for p in 0 1 2 3 0 1; do
			get "${phones[$p]}" "$fe:5061" lyncpool.contoso.com small.txt -tls1_2
		done
		get "${phones[2]}" "$cas:443" autodiscover.contoso.com small.txt -tls1_2
		get "${phones[3]}" "$cas:443" casarray.contoso.com small.txt -tls1_2
		for p in 0 0 0; do
			get "${phones[$p]}" "$cas:443" casarray.contoso.com small.txt -tls1_2 \
				-sess_in "$WORK/sess.pem"
		done
		for p in 0 1 2 3 0 1 2 3; do
			get "${phones[$p]}" "$cas13:443" autodiscover.contoso.com small.txt -tls1_3
		done
		get "$bulkcli" "$cas:443" casarray.contoso.com bulk.bin -tls1_2
	done
	sleep 0.3
	kill -INT "$tpid"
	wait "$tpid" || die "tcpdump failed: $(cat "$WORK/tcpdump.log")"
	grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" ||
		die "tcpdump dropped packets: $(cat "$WORK/tcpdump.log")"
	mv "$WORK/seed.pcap" "$SEED"
	cleanup_seed
	trap - EXIT
}

if [ -n "${REBUILD_SEED:-}" ] || [ ! -s "$SEED" ]; then
	make_seed
	rm -f "$BENCH_DIR"/busy-fe-*M.pcap
fi

if [ -n "${FORCE:-}" ] || [ ! -s "$BUSY" ]; then
	seed_bytes=$(stat -c %s "$SEED")
	copies=$(( (SIZE_MB * 1048576 + seed_bytes / 2) / seed_bytes ))
	[ "$copies" -ge 1 ] || copies=1
	log "busy-fe: $copies copies of the seed over $SPAN_S s"
	"$GEN" replicate "$SEED" "$BUSY.tmp" "$copies" "$SPAN_S"
	mv "$BUSY.tmp" "$BUSY"
fi
echo "$BUSY"

if [ "$FLOOD_FLOWS" -gt 0 ]; then
	if [ -n "${FORCE:-}" ] || [ ! -s "$FLOOD" ]; then
		"$GEN" flood "$FLOOD.tmp" "$FLOOD_FLOWS"
		mv "$FLOOD.tmp" "$FLOOD"
	fi
	echo "$FLOOD"
fi
