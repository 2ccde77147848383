/*
 * decode.h — the pieces of the decoder that call each other across files
 * (private to capture/): decode.c reads link layers, IP and TCP; tunnel.c
 * reads what carries one packet inside another (GRE, ERSPAN, VXLAN, Geneve,
 * GTP-U) and hands the inner frame back to decode.c.
 *
 * `depth` counts the tunnels peeled so far; each tunnel decoder refuses to go
 * past DEC_MAX_TUNNEL_DEPTH, so a packet built to nest forever costs at most
 * that many layers and ends as malformed with a reason.
 */
#ifndef CERTTRACE_DECODE_H
#define CERTTRACE_DECODE_H

#include "capture/capture.h"
#include "lib/reader.h"

#define DEC_MAX_TUNNEL_DEPTH 8

enum {
	ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd, ETH_VLAN = 0x8100, ETH_QINQ = 0x88a8,
	ETH_QINQ_OLD = 0x9100, ETH_PPPOE_SESSION = 0x8864, ETH_MPLS = 0x8847,
	ETH_MPLS_MC = 0x8848, ETH_CISCO_METADATA = 0x8909,
	ETH_TEB = 0x6558,         /* transparent Ethernet bridging: an Ethernet frame */
	ETH_ERSPAN_I_II = 0x88be, ETH_ERSPAN_III = 0x22eb, ETH_PPP = 0x880b,
	PPP_IPV4 = 0x0021, PPP_IPV6 = 0x0057,
};

enum cap_decode_result dec_malformed(const char **why, const char *reason);

/* An Ethernet frame from its destination MAC on. */
enum cap_decode_result dec_ethernet(struct reader *r, unsigned depth, struct cap_pkt *out,
				    const char **why);
/* What follows an ethertype (tags, PPPoE, MPLS and Cisco MetaData peeled). */
enum cap_decode_result dec_ethertype(struct reader *r, uint16_t type, unsigned depth,
				     struct cap_pkt *out, const char **why);
/* An IPv4 or IPv6 packet, by its version nibble. */
enum cap_decode_result dec_ip(struct reader *r, unsigned depth, struct cap_pkt *out,
			      const char **why);
/* A PPP frame (address/control and protocol compression allowed). */
enum cap_decode_result dec_ppp(struct reader *r, unsigned depth, struct cap_pkt *out,
			       const char **why);

/* tunnel.c: a GRE packet, and a UDP datagram that may carry a tunnel. */
enum cap_decode_result dec_gre(struct reader *r, unsigned depth, struct cap_pkt *out,
			       const char **why);
enum cap_decode_result dec_udp(struct reader *r, uint32_t len, unsigned depth,
			       struct cap_pkt *out, const char **why);

#endif
