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

/* One more layer around an Ethernet frame, as mirrored traffic reaches a
 * capture box.  The result is again an Ethernet frame: outer MACs, IPv4
 * 192.0.2.1 -> 192.0.2.2, then GRE or UDP and the tunnel's header, then the
 * inner Ethernet frame (or, for the layer-3 tunnels, its IP packet: the
 * frame after its 14-byte header).  PKT_WRAP_CMD instead inserts a Cisco
 * MetaData header (SGT 2) after the MACs.  Wrap again to nest. */
enum pkt_wrap {
	PKT_WRAP_GRE_IP,          /* GRE 0x0800 / 0x86dd, the inner IP packet */
	PKT_WRAP_GRE_TEB,         /* GRE 0x6558 with a key (NVGRE-like) */
	PKT_WRAP_ERSPAN_I,        /* GRE 0x88be, no sequence number, no header */
	PKT_WRAP_ERSPAN_II,       /* GRE 0x88be + sequence number + 8-byte header */
	PKT_WRAP_ERSPAN_III,      /* GRE 0x22eb + sequence number + 12-byte header */
	PKT_WRAP_ERSPAN_III_PLATFORM, /* ... with the O bit and its 8-byte subheader */
	PKT_WRAP_ERSPAN_III_IP,   /* ... frame type 2: the inner IP packet */
	PKT_WRAP_PPTP,            /* enhanced GRE (version 1), PPP, the inner IP */
	PKT_WRAP_VXLAN,           /* UDP 4789 */
	PKT_WRAP_GENEVE,          /* UDP 6081, 8 bytes of options, protocol 0x6558 */
	PKT_WRAP_GENEVE_IP,       /* UDP 6081, no options, protocol 0x0800/0x86dd */
	PKT_WRAP_GTP_U,           /* UDP 2152, G-PDU, the inner IP packet */
	PKT_WRAP_GTP_U_EXT,       /* ... with sequence number and two extension headers */
	PKT_WRAP_CMD,             /* ethertype 0x8909 after the MACs */
};

/* Returns the new frame's length (0 when it does not fit in cap). */
size_t pkt_wrap(enum pkt_wrap w, const uint8_t *frame, size_t n, uint8_t *out, size_t cap);

/* Classic pcap writer. */
FILE *pcapw_open(const char *path, int dlt, uint32_t snaplen);
void pcapw_write(FILE *f, uint64_t ts_us, const uint8_t *data, uint32_t caplen,
		 uint32_t len);
void pcapw_close(FILE *f);

/* pcapng built in memory, block by block, in either byte order. */
struct pngw {
	uint8_t *b;
	size_t n, cap;
	int be;                     /* the current section's byte order */
};

void pngw_shb(struct pngw *w, int be);
/* tsresol < 0: no if_tsresol option; with_offset: if_tsoffset = tsoffset_s. */
void pngw_idb(struct pngw *w, uint16_t linktype, uint32_t snaplen, int tsresol,
	      int with_offset, int64_t tsoffset_s);
void pngw_epb(struct pngw *w, uint32_t iface, uint64_t ts, const uint8_t *data,
	      uint32_t caplen, uint32_t len);
void pngw_pb(struct pngw *w, uint16_t iface, uint64_t ts, const uint8_t *data,
	     uint32_t caplen, uint32_t len);
/* An SPB with `present` bytes of data in the block for a packet of `len`. */
void pngw_spb(struct pngw *w, const uint8_t *data, uint32_t present, uint32_t len);
void pngw_dsb(struct pngw *w, uint32_t secrets_type, const void *p, size_t n);
/* Any block: type and body (padded to 4 bytes). */
void pngw_block(struct pngw *w, uint32_t type, const void *body, size_t n);
/* Writes what was built to path; frees the buffer. */
void pngw_save(struct pngw *w, const char *path);

#endif
