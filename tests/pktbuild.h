/*
 * pktbuild.h — build link/IP/TCP frames and pcap files in memory for tests.
 *
 * pkt_tcp() writes one TCP segment with the chosen encapsulation into a
 * buffer; pcapw_* writes classic pcap files record by record (also with
 * deliberate damage, for the malformed-input tests).
 */
#ifndef CERTTRACE_TESTS_PKTBUILD_H
#define CERTTRACE_TESTS_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pkt_link {
	PKT_ETH, PKT_ETH_VLAN, PKT_ETH_QINQ, PKT_SLL, PKT_SLL2, PKT_NULL_LE,
	PKT_NULL_BE, PKT_LOOP, PKT_RAW, PKT_ETH_PPPOE, PKT_ETH_MPLS,
};

struct pkt_tcp_spec {
	enum pkt_link link;
	int ipv;                    /* 4 or 6 */
	const char *src, *dst;      /* textual addresses */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const void *payload;
	size_t len;
	int ip_options_bytes;       /* IPv4 options (multiple of 4) */
	int tcp_options_bytes;      /* TCP options (multiple of 4) */
	int v6_ext_headers;         /* hop-by-hop + destination options */
	int ip_len_delta;           /* added to the IP length field: lies */
	int tcp_hlen_override;      /* data offset in bytes if non-zero */
	int fragment;               /* set MF on an IPv4 packet */
	int tunnel_6in4;            /* wrap the IPv6 packet in IPv4 proto 41 */
};

/* Returns the frame length written into buf (at most cap). */
size_t pkt_tcp(const struct pkt_tcp_spec *s, uint8_t *buf, size_t cap);
int pkt_dlt(enum pkt_link link);

/* Classic pcap writer. */
FILE *pcapw_open(const char *path, int dlt, uint32_t snaplen);
void pcapw_write(FILE *f, uint64_t ts_us, const uint8_t *data, uint32_t caplen,
		 uint32_t len);
void pcapw_close(FILE *f);

#endif
