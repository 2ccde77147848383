#!/bin/sh
# wrap-samples.sh — the samples derived from the seed capture by rewriting it, not by
# capturing again: the ways mirrored traffic reaches a capture box, a pcapng file with
# two interfaces of different link types, and a file cut while it was being written.
#
#   pcaps/tools/wrap-samples.sh            (from the repository root; no root needed)
#
#   seed-erspan3.pcap        seed-issuer-mismatch.pcap as a Cisco switch's remote SPAN
#                            sends it: GRE with sequence numbers, ERSPAN type III with
#                            the platform-specific subheader, session 7
#   seed-vxlan.pcap          the same through AWS VPC Traffic Mirroring: VXLAN, VNI 5001
#   seed-geneve.pcap         the same from an AWS Gateway Load Balancer: Geneve with an
#                            option, VNI 77, protocol 0x6558
#   seed-two-interfaces.pcapng  the FE handshakes (5061) of seed-issuer-mismatch.pcap,
#                            Ethernet, and the CAS handshakes (443) of sll2.pcap, Linux
#                            cooked v2, merged into one pcapng with two interfaces (a
#                            capture on eth0 and "any"); libpcap stops at the first SLL2
#                            packet, so without our reader the CAS is never seen
#   seed-cut-while-written.pcap  the seed with its last 40 bytes missing: the file ends
#                            inside its last record, as a capture copied while tcpdump
#                            was still writing it
#
# Needs: cc, libpcap-dev (pcaprewrite), wireshark-common (mergecap), tshark.
# The output is a pure function of the inputs (the pcapng file's section header names
# the mergecap version; nothing certtrace reads).
set -eu
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -std=gnu11 -O2 -Wall -Wextra -o "$work/pcaprewrite" pcaps/tools/pcaprewrite.c -lpcap
seed=pcaps/seed-issuer-mismatch.pcap

"$work/pcaprewrite" --erspan3 7 "$seed" pcaps/seed-erspan3.pcap
"$work/pcaprewrite" --vxlan 5001 "$seed" pcaps/seed-vxlan.pcap
"$work/pcaprewrite" --geneve 77 "$seed" pcaps/seed-geneve.pcap

tshark -r "$seed" -Y 'tcp.port == 5061' -F pcap -w "$work/fe.pcap" 2>/dev/null
tshark -r pcaps/sll2.pcap -Y 'tcp.port == 443' -F pcap -w "$work/cas.pcap" 2>/dev/null
mergecap -F pcapng -w pcaps/seed-two-interfaces.pcapng "$work/fe.pcap" "$work/cas.pcap"

size=$(wc -c < "$seed")
head -c $((size - 40)) "$seed" > pcaps/seed-cut-while-written.pcap

for f in seed-erspan3.pcap seed-vxlan.pcap seed-geneve.pcap seed-two-interfaces.pcapng \
	 seed-cut-while-written.pcap; do
	echo "wrap-samples: wrote pcaps/$f"
done
