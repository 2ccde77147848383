/*
 * test_capture.c — decode of every link type, the flow table and TCP
 * reassembly, on frames built in memory (tests/pktbuild.c).
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "tests/pktbuild.h"

/* ---- decode ------------------------------------------------------------- */

static enum cap_decode_result decode_spec(const struct pkt_tcp_spec *s, struct cap_pkt *out,
					  const char **why, uint8_t *buf, size_t cap)
{
	size_t n = pkt_tcp(s, buf, cap);
	cr_assert(n > 0);
	static struct cap_frame fr;
	fr = (struct cap_frame){ .ts_us = 1, .caplen = (uint32_t)n, .len = (uint32_t)n, .data = buf };
	return cap_decode(pkt_dlt(s->link), &fr, out, why);
}

static void check_link(enum pkt_link link, int ipv)
{
	uint8_t buf[2048];
	struct cap_pkt p;
	const char *why;
	struct pkt_tcp_spec s = {
		.link = link, .ipv = ipv,
		.src = ipv == 4 ? "127.0.40.1" : "fd00::40:1",
		.dst = ipv == 4 ? "127.0.20.1" : "fd00::20:1",
		.sport = 50855, .dport = 443, .seq = 1000, .ack = 7, .flags = TCP_ACK | TCP_PSH,
		.payload = "hello", .len = 5,
	};
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_TCP, "link %d v%d: %s", link, ipv, why ? why : "");
	cr_assert_eq(p.ipv, ipv);
	cr_assert_eq(p.sport, 50855);
	cr_assert_eq(p.dport, 443);
	cr_assert_eq(p.seq, 1000);
	cr_assert_eq(p.ack, 7);
	cr_assert_eq(p.payload_len, 5);
	cr_assert_eq(p.payload_wire_len, 5);
	cr_assert(memcmp(p.payload, "hello", 5) == 0);
	cr_assert_eq(p.l3[0] >> 4, ipv);
	cr_assert_eq(p.l3_len, (ipv == 4 ? 20u : 40u) + 20u + 5u);
	if (ipv == 4)
		cr_assert(p.src[0] == 127 && p.src[2] == 40 && p.dst[2] == 20);
}

Test(cap_decode, every_link_type_ipv4_and_ipv6)
{
	enum pkt_link links[] = { PKT_ETH, PKT_ETH_VLAN, PKT_ETH_QINQ, PKT_SLL, PKT_SLL2,
				  PKT_NULL_LE, PKT_NULL_BE, PKT_LOOP, PKT_RAW, PKT_ETH_PPPOE,
				  PKT_ETH_MPLS };
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		check_link(links[i], 4);
		check_link(links[i], 6);
	}
}

Test(cap_decode, ipv4_options_tcp_options_and_ipv6_extension_headers)
{
	uint8_t buf[2048];
	struct cap_pkt p;
	const char *why;
	struct pkt_tcp_spec s = { .link = PKT_ETH, .ipv = 4, .src = "127.0.0.1", .dst = "127.0.0.2",
				  .sport = 1, .dport = 5061, .payload = "abc", .len = 3,
				  .ip_options_bytes = 8, .tcp_options_bytes = 12 };
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_TCP);
	cr_assert_eq(p.payload_len, 3);
	cr_assert(memcmp(p.payload, "abc", 3) == 0);
	s.ipv = 6; s.src = "::1"; s.dst = "::1"; s.ip_options_bytes = 0; s.v6_ext_headers = 1;
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_TCP, "%s", why ? why : "");
	cr_assert_eq(p.dport, 5061);
	cr_assert(memcmp(p.payload, "abc", 3) == 0);
}

Test(cap_decode, six_in_four_tunnel_names_the_inner_flow)
{
	uint8_t buf[2048];
	struct cap_pkt p;
	const char *why;
	struct pkt_tcp_spec s = { .link = PKT_ETH, .ipv = 6, .src = "2001:db8::1", .dst = "2001:db8::2",
				  .sport = 40000, .dport = 443, .payload = "x", .len = 1, .tunnel_6in4 = 1 };
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_TCP);
	cr_assert_eq(p.ipv, 6);
	cr_assert_eq(p.src[0], 0x20);
	cr_assert_eq(p.dport, 443);
}

Test(cap_decode, payload_length_comes_from_ip_not_caplen)
{
	uint8_t buf[2048];
	struct cap_pkt p;
	const char *why;
	char data[100];
	memset(data, 'z', sizeof data);
	struct pkt_tcp_spec s = { .link = PKT_ETH, .ipv = 4, .src = "127.0.0.1", .dst = "127.0.0.2",
				  .sport = 1, .dport = 443, .payload = data, .len = 100 };
	size_t n = pkt_tcp(&s, buf, sizeof buf);
	/* snaplen cut 40 bytes off */
	struct cap_frame fr = { .caplen = (uint32_t)n - 40, .len = (uint32_t)n, .data = buf };
	cr_assert_eq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_TCP);
	cr_assert_eq(p.payload_len, 60);
	cr_assert_eq(p.payload_wire_len, 100);
	/* Ethernet padding after the IP packet is not payload */
	memset(buf + n, 0xee, 20);
	fr.caplen = (uint32_t)n + 20;
	cr_assert_eq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_TCP);
	cr_assert_eq(p.payload_len, 100);
}

Test(cap_decode, lies_and_fragments_are_reported_not_crashed_on)
{
	uint8_t buf[2048];
	struct cap_pkt p;
	const char *why;
	struct pkt_tcp_spec s = { .link = PKT_ETH, .ipv = 4, .src = "127.0.0.1", .dst = "127.0.0.2",
				  .sport = 1, .dport = 443, .payload = "abcd", .len = 4 };
	s.ip_len_delta = -30;        /* total length shorter than the headers */
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_MALFORMED);
	cr_assert_not_null(why);
	s.ip_len_delta = 0;
	s.tcp_hlen_override = 12;
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_MALFORMED);
	cr_assert_str_eq(why, "TCP header length under 20 bytes");
	s.tcp_hlen_override = 0;
	s.fragment = 1;
	cr_assert_eq(decode_spec(&s, &p, &why, buf, sizeof buf), CAP_FRAGMENT);
	s.fragment = 0;
	/* every truncation of a good frame: never a crash, never TCP past the cut */
	size_t n = pkt_tcp(&s, buf, sizeof buf);
	for (size_t cut = 0; cut < 54; cut++) {
		struct cap_frame fr = { .caplen = (uint32_t)cut, .len = (uint32_t)n, .data = buf };
		cr_assert_neq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_TCP, "cut %zu", cut);
	}
	/* IPv6 payload length that lies: longer than the packet is a cut, not TCP data */
	struct pkt_tcp_spec s6 = s;
	s6.ipv = 6; s6.src = "::1"; s6.dst = "::1"; s6.ip_len_delta = 1000;
	cr_assert_eq(decode_spec(&s6, &p, &why, buf, sizeof buf), CAP_TCP);
	cr_assert_eq(p.payload_len, 4);
	cr_assert_eq(p.payload_wire_len, 1004);
}

/* ---- flow table and reassembly ------------------------------------------ */

struct rec {
	char data[2][65536];
	size_t n[2];
	uint64_t gaps[2];
	int closes;
	enum flow_close_reason last_close;
	char server_ip[46];
	uint16_t server_port;
	size_t done_after;           /* say DONE once this many client bytes came */
	int packets_seen;
	uint32_t cut_packets, cut_snaplen;   /* flow_cut_packets at close */
};

static enum flow_verdict rec_packet(void *ctx, struct flow *f, enum flow_dir d, const struct cap_pkt *p)
{
	struct rec *r = ctx;
	r->packets_seen++;
	return FLOW_MORE;
}

static enum flow_verdict rec_data(void *ctx, struct flow *f, enum flow_dir d, const uint8_t *p,
				  size_t n, uint64_t ts)
{
	struct rec *r = ctx;
	cr_assert(r->n[d] + n <= sizeof r->data[d]);
	memcpy(r->data[d] + r->n[d], p, n);
	r->n[d] += n;
	flow_endpoint(f, FLOW_FROM_SERVER, r->server_ip, sizeof r->server_ip, &r->server_port);
	if (r->done_after && r->n[FLOW_FROM_CLIENT] >= r->done_after)
		return FLOW_DONE;
	return FLOW_MORE;
}

static enum flow_verdict rec_gap(void *ctx, struct flow *f, enum flow_dir d, uint64_t missing, uint64_t ts)
{
	struct rec *r = ctx;
	r->gaps[d] += missing;
	/* a visible marker in the stream, so tests see where the gap fell */
	r->data[d][r->n[d]++] = '#';
	return FLOW_MORE;
}

static void rec_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct rec *r = ctx;
	r->closes++;
	r->last_close = why;
	r->cut_packets = flow_cut_packets(f, &r->cut_snaplen);
}

static struct flow_table *table(struct rec *r, uint32_t max_flows)
{
	memset(r, 0, sizeof *r);
	struct flow_consumer c = { r, rec_packet, rec_data, rec_gap, rec_close };
	struct flow_options o;
	flow_options_default(&o);
	if (max_flows)
		o.max_flows = max_flows;
	return flow_table_new(&o, &c);
}

/* The packet s describes, at ts, through the table. */
static void feed_spec(struct flow_table *t, const struct pkt_tcp_spec *s, uint64_t ts)
{
	static uint8_t buf[4096];
	size_t n = pkt_tcp(s, buf, sizeof buf);
	struct cap_frame fr = { .ts_us = ts, .caplen = (uint32_t)n, .len = (uint32_t)n, .data = buf };
	struct cap_pkt p;
	const char *why;
	cr_assert_eq(cap_decode(DLT_RAW, &fr, &p, &why), CAP_TCP);
	flow_table_packet(t, &p);
}

/* A SYN from 127.0.40.1:sport to 127.0.20.1:443. */
static void syn_from(struct flow_table *t, uint16_t sport, uint64_t ts_us)
{
	struct pkt_tcp_spec s = { .link = PKT_RAW, .ipv = 4, .src = "127.0.40.1",
				  .dst = "127.0.20.1", .sport = sport, .dport = 443, .seq = 1,
				  .flags = TCP_SYN };
	feed_spec(t, &s, ts_us);
}

/* One segment from client (c=1) or server (c=0) of 127.0.40.1:50000 <-> 127.0.20.1:443 */
static void seg(struct flow_table *t, int from_client, uint32_t seq, uint8_t flags,
		const char *payload, uint64_t ts)
{
	size_t len = payload ? strlen(payload) : 0;
	struct pkt_tcp_spec s = {
		.link = PKT_RAW, .ipv = 4,
		.src = from_client ? "127.0.40.1" : "127.0.20.1",
		.dst = from_client ? "127.0.20.1" : "127.0.40.1",
		.sport = from_client ? 50000 : 443, .dport = from_client ? 443 : 50000,
		.seq = seq, .flags = flags, .payload = payload, .len = len,
	};
	feed_spec(t, &s, ts);
}

static void seg_ack(struct flow_table *t, int from_client, uint32_t seq, uint32_t ack, uint64_t ts)
{
	struct pkt_tcp_spec s = {
		.link = PKT_RAW, .ipv = 4,
		.src = from_client ? "127.0.40.1" : "127.0.20.1",
		.dst = from_client ? "127.0.20.1" : "127.0.40.1",
		.sport = from_client ? 50000 : 443, .dport = from_client ? 443 : 50000,
		.seq = seq, .ack = ack, .flags = TCP_ACK,
	};
	feed_spec(t, &s, ts);
}

Test(reasm, delivers_in_order_segments_and_knows_the_server_from_the_syn)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 0, 900, TCP_SYN | TCP_ACK, NULL, 2);
	seg(t, 1, 101, TCP_ACK, "GET ", 3);
	seg(t, 1, 105, TCP_ACK, "/", 4);
	seg(t, 0, 901, TCP_ACK, "200", 5);
	cr_assert_eq(r.n[FLOW_FROM_CLIENT], 5);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "GET /", 5) == 0);
	cr_assert(memcmp(r.data[FLOW_FROM_SERVER], "200", 3) == 0);
	cr_assert_str_eq(r.server_ip, "127.0.20.1");
	cr_assert_eq(r.server_port, 443);
	cr_assert_eq(flow_table_counters(t)->syn_missed, 0);
	flow_table_free(t);
	cr_assert_eq(r.closes, 1);
	cr_assert_eq(r.last_close, FLOW_CLOSE_END);
}

Test(reasm, delivers_out_of_order_segments_in_order)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 1, 107, TCP_ACK, "CCC", 2);
	seg(t, 1, 104, TCP_ACK, "BBB", 3);
	cr_assert_eq(r.n[FLOW_FROM_CLIENT], 0);
	seg(t, 1, 101, TCP_ACK, "AAA", 4);
	cr_assert_eq(r.n[FLOW_FROM_CLIENT], 9);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "AAABBBCCC", 9) == 0);
	cr_assert_eq(flow_table_counters(t)->ooo_segments, 2);
	cr_assert_eq(flow_table_counters(t)->buffered_bytes, 0);
	flow_table_free(t);
}

Test(reasm, first_copy_wins_on_duplicates_and_overlaps)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 1, 101, TCP_ACK, "AAAA", 2);
	seg(t, 1, 101, TCP_ACK, "XXXX", 3);     /* retransmission, other bytes */
	seg(t, 1, 103, TCP_ACK, "YYBB", 4);     /* overlaps the last two */
	seg(t, 1, 111, TCP_ACK, "DD", 5);       /* ahead */
	seg(t, 1, 111, TCP_ACK, "ZZ", 6);       /* duplicate of a buffered one */
	seg(t, 1, 107, TCP_ACK, "CCCC", 7);
	cr_assert_eq(r.n[FLOW_FROM_CLIENT], 12);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "AAAABBCCCCDD", 12) == 0, "%.12s", r.data[0]);
	cr_assert_eq(flow_table_counters(t)->retransmitted_bytes, 4 + 2 + 2);
	flow_table_free(t);
}

Test(reasm, sequence_numbers_wrap_around)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 0xfffffffc, TCP_SYN, NULL, 1);
	seg(t, 1, 0x00000001, TCP_ACK, "CD", 2);   /* after the wrap, early */
	seg(t, 1, 0xfffffffd, TCP_ACK, "AB", 3);
	seg(t, 1, 0xffffffff, TCP_ACK, "xy", 4);   /* crosses 2^32 */
	cr_assert_eq(r.n[FLOW_FROM_CLIENT], 6);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "ABxyCD", 6) == 0);
	flow_table_free(t);
}

Test(reasm, gap_that_never_fills_is_reported_at_the_end)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 1, 101, TCP_ACK, "AA", 2);
	seg(t, 1, 113, TCP_ACK, "ZZ", 3);         /* 10 bytes lost */
	cr_assert_eq(r.gaps[FLOW_FROM_CLIENT], 0);
	flow_table_finish(t);
	cr_assert_eq(r.gaps[FLOW_FROM_CLIENT], 10);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "AA#ZZ", 5) == 0);
	cr_assert_eq(flow_table_counters(t)->gaps, 1);
	flow_table_free(t);
}

Test(reasm, gap_is_reported_when_the_peer_acks_past_it)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 0, 500, TCP_SYN | TCP_ACK, NULL, 1);
	seg(t, 0, 501, TCP_ACK, "S1", 2);
	seg(t, 0, 513, TCP_ACK, "S3", 3);         /* S2 (10 bytes) lost by the capture */
	seg_ack(t, 1, 101, 515, 4);               /* but the client got it */
	cr_assert_eq(r.gaps[FLOW_FROM_SERVER], 10);
	cr_assert(memcmp(r.data[FLOW_FROM_SERVER], "S1#S3", 5) == 0);
	flow_table_free(t);
}

Test(reasm, out_of_order_buffer_is_capped_per_direction)
{
	struct rec r;
	memset(&r, 0, sizeof r);
	struct flow_consumer c = { &r, NULL, rec_data, rec_gap, rec_close };
	struct flow_options o;
	flow_options_default(&o);
	o.max_dir_buffer_bytes = 8;
	struct flow_table *t = flow_table_new(&o, &c);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 1, 121, TCP_ACK, "aaaa", 2);
	seg(t, 1, 125, TCP_ACK, "bbbb", 3);
	cr_assert_eq(flow_table_counters(t)->buffered_bytes, 8);
	seg(t, 1, 129, TCP_ACK, "cccc", 4);       /* over the cap: skip the hole */
	cr_assert_eq(r.gaps[FLOW_FROM_CLIENT], 20);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "#aaaabbbbcccc", 13) == 0);
	cr_assert_eq(flow_table_counters(t)->buffered_bytes, 0);
	flow_table_free(t);
}

Test(reasm, snaplen_cut_segment_becomes_a_gap)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	uint8_t buf[512];
	struct pkt_tcp_spec s = { .link = PKT_RAW, .ipv = 4, .src = "127.0.40.1", .dst = "127.0.20.1",
				  .sport = 50000, .dport = 443, .seq = 101, .flags = TCP_ACK,
				  .payload = "0123456789", .len = 10 };
	size_t n = pkt_tcp(&s, buf, sizeof buf);
	struct cap_frame fr = { .ts_us = 2, .caplen = (uint32_t)n - 6, .len = (uint32_t)n, .data = buf,
				.snaplen = (uint32_t)n - 6 };
	struct cap_pkt p;
	const char *why;
	cr_assert_eq(cap_decode(DLT_RAW, &fr, &p, &why), CAP_TCP);
	flow_table_packet(t, &p);
	seg(t, 1, 111, TCP_ACK, "next", 3);
	cr_assert_eq(r.gaps[FLOW_FROM_CLIENT], 6);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "0123#next", 9) == 0);
	flow_table_finish(t);
	cr_assert_eq(r.closes, 1);
	cr_assert_eq(r.cut_packets, 1, "the consumer can tell the snaplen cut this flow");
	cr_assert_eq(r.cut_snaplen, n - 6, "and names the interface's snaplen");
	flow_table_free(t);
}

Test(flow, a_segment_short_on_the_wire_is_not_counted_as_cut_by_the_snaplen)
{
	/* The frame holds all it had (caplen == len) but the IP header says more:
	 * a mirror session's truncation or a lie, not the capture's snaplen. */
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	uint8_t buf[512];
	struct pkt_tcp_spec s = { .link = PKT_RAW, .ipv = 4, .src = "127.0.40.1", .dst = "127.0.20.1",
				  .sport = 50000, .dport = 443, .seq = 101, .flags = TCP_ACK,
				  .payload = "0123456789", .len = 10 };
	size_t n = pkt_tcp(&s, buf, sizeof buf);
	struct cap_frame fr = { .ts_us = 2, .caplen = (uint32_t)n - 6, .len = (uint32_t)n - 6,
				.data = buf, .snaplen = 65535 };
	struct cap_pkt p;
	const char *why;
	cr_assert_eq(cap_decode(DLT_RAW, &fr, &p, &why), CAP_TCP);
	flow_table_packet(t, &p);
	seg(t, 1, 111, TCP_ACK, "next", 3);
	flow_table_finish(t);
	cr_assert_eq(r.gaps[FLOW_FROM_CLIENT], 6, "still a gap");
	cr_assert_eq(r.cut_packets, 0);
	cr_assert_eq(r.cut_snaplen, 0);
	flow_table_free(t);
}

Test(flow, picks_up_a_connection_whose_syn_was_not_captured)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	/* server speaks first from port 443 to an ephemeral port */
	seg(t, 0, 7000, TCP_ACK, "srv", 1);
	seg(t, 1, 3000, TCP_ACK, "cli", 2);
	cr_assert(memcmp(r.data[FLOW_FROM_SERVER], "srv", 3) == 0);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "cli", 3) == 0);
	cr_assert_str_eq(r.server_ip, "127.0.20.1");
	cr_assert_eq(flow_table_counters(t)->syn_missed, 1);
	flow_table_free(t);
}

Test(flow, consumer_done_leaves_a_flow_that_costs_one_lookup)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	r.done_after = 3;
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 1, 101, TCP_ACK, "abc", 2);
	cr_assert_eq(r.closes, 1);
	cr_assert_eq(r.last_close, FLOW_CLOSE_DONE);
	cr_assert_eq(flow_table_counters(t)->consumers_live, 0);
	int before = r.packets_seen;
	seg(t, 1, 104, TCP_ACK, "def", 3);
	seg(t, 1, 107, TCP_ACK, "ghi", 4);
	cr_assert_eq(r.n[FLOW_FROM_CLIENT], 3);
	cr_assert_eq(r.packets_seen, before);
	cr_assert_eq(flow_table_counters(t)->done_packets, 2);
	cr_assert_eq(flow_table_counters(t)->active, 1);
	seg(t, 1, 110, TCP_ACK | TCP_FIN, NULL, 5);
	seg(t, 0, 900, TCP_ACK | TCP_FIN, NULL, 6);
	/* closed: it lingers two seconds of capture time, then goes */
	cr_assert_eq(flow_table_counters(t)->active, 1);
	flow_table_expire(t, 6 + 2100000);
	cr_assert_eq(flow_table_counters(t)->active, 0);
	cr_assert_eq(flow_table_counters(t)->closed, 1);
	flow_table_free(t);
	cr_assert_eq(r.closes, 1);
}

Test(flow, data_in_flight_after_a_reset_still_reaches_the_consumer)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 0, 900, TCP_SYN | TCP_ACK, NULL, 2);
	seg(t, 1, 101, TCP_ACK, "hello", 3);
	seg(t, 1, 106, TCP_RST, NULL, 4);         /* the client gives up ... */
	seg(t, 0, 901, TCP_ACK, "cert", 5);       /* ... the server's flight was on its way */
	seg(t, 0, 905, TCP_ACK, "ificate", 6);
	cr_assert(memcmp(r.data[FLOW_FROM_SERVER], "certificate", 11) == 0);
	cr_assert_eq(flow_table_counters(t)->flows, 1);
	cr_assert_eq(r.closes, 0);
	flow_table_expire(t, 7 + 2100000);
	cr_assert_eq(r.closes, 1);
	cr_assert_eq(r.last_close, FLOW_CLOSE_FIN);
	flow_table_free(t);
}

Test(flow, a_new_syn_on_a_closed_tuple_starts_a_new_flow)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1);
	seg(t, 1, 101, TCP_ACK, "one", 2);
	seg(t, 1, 104, TCP_RST, NULL, 3);
	seg(t, 1, 100, TCP_SYN, NULL, 4);         /* same ISN: a retransmission */
	cr_assert_eq(flow_table_counters(t)->flows, 1);
	seg(t, 1, 5000, TCP_SYN, NULL, 5);        /* new ISN: a new connection */
	seg(t, 1, 5001, TCP_ACK, "two", 6);
	cr_assert_eq(flow_table_counters(t)->flows, 2);
	cr_assert_eq(r.closes, 1);
	cr_assert(memcmp(r.data[FLOW_FROM_CLIENT], "onetwo", 6) == 0);
	flow_table_free(t);
}

Test(flow, idle_flows_expire_by_capture_time)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	seg(t, 1, 100, TCP_SYN, NULL, 1000000);
	seg(t, 1, 101, TCP_ACK, "a", 2000000);
	cr_assert_eq(flow_table_counters(t)->active, 1);
	flow_table_expire(t, 2000000 + 299000000);
	cr_assert_eq(flow_table_counters(t)->active, 1);
	flow_table_expire(t, 2000000 + 301000000);
	cr_assert_eq(flow_table_counters(t)->active, 0);
	cr_assert_eq(flow_table_counters(t)->expired, 1);
	cr_assert_eq(r.last_close, FLOW_CLOSE_IDLE);
	flow_table_free(t);
}

Test(flow, hard_cap_evicts_the_longest_idle_flow)
{
	struct rec r;
	struct flow_table *t = table(&r, 100);
	for (int i = 0; i < 1000; i++)
		syn_from(t, (uint16_t)(10000 + i), (uint64_t)i);
	const struct flow_counters *c = flow_table_counters(t);
	cr_assert_eq(c->active, 100);
	cr_assert_eq(c->flows, 1000);
	cr_assert_eq(c->evicted, 900);
	cr_assert_eq(c->consumers_live, 0);
	flow_table_free(t);
}

/* Two workers' tables under one cap of 4: a table that reaches the end of the
 * capture first must not leave room for the other, which is still before it. */
Test(flow, a_shared_cap_holds_while_the_other_table_is_still_before_the_end)
{
	struct rec ra, rb;
	struct flow_table *a = table(&ra, 4), *b = table(&rb, 4);
	_Atomic uint64_t active = 0;
	flow_table_share_cap(a, &active);
	flow_table_share_cap(b, &active);
	syn_from(a, 1000, 1);
	syn_from(a, 1001, 2);
	syn_from(b, 2000, 3);
	syn_from(b, 2001, 4);
	cr_assert_eq(atomic_load(&active), 4);
	syn_from(b, 2002, 5);                     /* at the cap: b evicts its own */
	cr_assert_eq(flow_table_counters(b)->evicted, 1);
	cr_assert_eq(atomic_load(&active), 4);
	flow_table_finish(a);                     /* a's end comes first */
	syn_from(b, 2003, 6);
	cr_assert_eq(flow_table_counters(b)->evicted, 2);
	cr_assert_eq(flow_table_counters(b)->active, 2);
	flow_table_free(a);
	flow_table_free(b);
}

/* --threads: tables that each see only their share of the packets, fed
 * with the capture's clock (flow_table_packet_at) and expired together when
 * flow_clock_tick() says, close the same flows at the same places as one
 * table fed every packet; put in (packet, closing-before-idle, flow_seq)
 * order, the closes come out in the one table's order. */
struct split_close {
	uint16_t port;
	enum flow_close_reason why;
	uint64_t seq, n;
	int phase;
};
struct split_rec {
	struct split_close c[512];
	unsigned n;
	uint64_t seq, count;
	bool sweep;
};

static enum flow_verdict split_data(void *ctx, struct flow *f, enum flow_dir d,
				    const uint8_t *p, size_t n, uint64_t ts)
{
	return FLOW_MORE;
}

static enum flow_verdict split_gap(void *ctx, struct flow *f, enum flow_dir d, uint64_t m,
				   uint64_t ts)
{
	return FLOW_MORE;
}

static void split_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct split_rec *r = ctx;
	char ip[46];
	uint16_t port;
	flow_endpoint(f, FLOW_FROM_CLIENT, ip, sizeof ip, &port);
	cr_assert_lt(r->n, 512);
	struct split_close *c = &r->c[r->n++];
	c->port = port;
	c->why = why;
	c->seq = r->seq;
	c->phase = r->sweep ? (flow_closing(f) ? 0 : 1) : 2;
	c->n = r->sweep ? flow_seq(f) : r->count++;
}

static int split_cmp(const void *a, const void *b)
{
	const struct split_close *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->phase != y->phase)
		return x->phase - y->phase;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* Flow i (client port 40000 + i) opens at 7 s * i and sends; some close by
 * FIN or RST, some send again later, the rest idle out or end open.  One
 * time stamp in 13 goes back 3 s. */
static unsigned split_packets(struct cap_pkt *pk, uint8_t (*bufs)[128], unsigned max)
{
	struct { uint64_t ts; uint16_t port; int from_client; uint8_t flags; uint32_t seq; } ev[1024];
	unsigned n = 0;
	for (unsigned i = 0; i < 80; i++) {
		uint64_t t0 = (uint64_t)i * 7000000 + 1000000;
		uint16_t port = (uint16_t)(40000 + i);
		ev[n++] = (typeof(ev[0])){ t0, port, 1, TCP_SYN, 100 };
		ev[n++] = (typeof(ev[0])){ t0 + 1000, port, 0, TCP_SYN | TCP_ACK, 900 };
		ev[n++] = (typeof(ev[0])){ t0 + 2000, port, 1, TCP_ACK | TCP_PSH, 101 };
		if (i % 4 == 0) {
			ev[n++] = (typeof(ev[0])){ t0 + 3000, port, 1, TCP_FIN | TCP_ACK, 102 };
			ev[n++] = (typeof(ev[0])){ t0 + 4000, port, 0, TCP_FIN | TCP_ACK, 901 };
		} else if (i % 4 == 1) {
			ev[n++] = (typeof(ev[0])){ t0 + 5000, port, 0, TCP_RST, 901 };
		} else if (i % 4 == 2) {
			ev[n++] = (typeof(ev[0])){ t0 + (uint64_t)(i % 9) * 60000000, port, 1,
						   TCP_ACK | TCP_PSH, 102 };
		}
	}
	/* In time order, then a few stamps moved back. */
	for (unsigned a = 1; a < n; a++)
		for (unsigned b = a; b > 0 && ev[b - 1].ts > ev[b].ts; b--) {
			typeof(ev[0]) x = ev[b];
			ev[b] = ev[b - 1];
			ev[b - 1] = x;
		}
	cr_assert_leq(n, max);
	for (unsigned k = 0; k < n; k++) {
		struct pkt_tcp_spec s = {
			.link = PKT_RAW, .ipv = 4,
			.src = ev[k].from_client ? "127.0.40.1" : "127.0.20.1",
			.dst = ev[k].from_client ? "127.0.20.1" : "127.0.40.1",
			.sport = ev[k].from_client ? ev[k].port : 443,
			.dport = ev[k].from_client ? 443 : ev[k].port,
			.seq = ev[k].seq, .ack = 1, .flags = ev[k].flags,
			.payload = (ev[k].flags & TCP_PSH) ? "x" : NULL,
			.len = (ev[k].flags & TCP_PSH) ? 1 : 0,
		};
		size_t len = pkt_tcp(&s, bufs[k], 128);
		static struct cap_frame fr[1024];
		uint64_t ts = ev[k].ts - (k % 13 == 5 && ev[k].ts > 3000000 ? 3000000 : 0);
		fr[k] = (struct cap_frame){ .ts_us = ts, .caplen = (uint32_t)len, .len = (uint32_t)len,
					    .data = bufs[k] };
		const char *why;
		cr_assert_eq(cap_decode(DLT_RAW, &fr[k], &pk[k], &why), CAP_TCP);
	}
	return n;
}

Test(flow, tables_sharing_a_capture_close_what_one_table_closes_in_its_order)
{
	static struct cap_pkt pk[1024];
	static uint8_t bufs[1024][128];
	unsigned n = split_packets(pk, bufs, 1024);
	struct flow_options o;
	flow_options_default(&o);

	static struct split_rec one, parts[3];
	memset(&one, 0, sizeof one);
	struct flow_consumer c1 = { &one, NULL, split_data, split_gap, split_close };
	struct flow_table *t = flow_table_new(&o, &c1);
	for (unsigned k = 0; k < n; k++)
		flow_table_packet(t, &pk[k]);
	flow_table_finish(t);

	struct flow_table *ts[3];
	_Atomic uint64_t active = 0;
	for (int w = 0; w < 3; w++) {
		memset(&parts[w], 0, sizeof parts[w]);
		struct flow_consumer c = { &parts[w], NULL, split_data, split_gap, split_close };
		ts[w] = flow_table_new(&o, &c);
		flow_table_share_cap(ts[w], &active);
	}
	struct flow_clock clock = { 0 };
	for (unsigned k = 0; k < n; k++) {
		bool due = flow_clock_tick(&clock, pk[k].ts_us);
		for (int w = 0; due && w < 3; w++) {
			parts[w].seq = clock.seq;
			parts[w].sweep = true;
			flow_table_expire(ts[w], clock.now_us);
		}
		uint16_t port = pk[k].sport == 443 ? pk[k].dport : pk[k].sport;
		struct split_rec *r = &parts[port % 3];
		r->seq = clock.seq;
		r->sweep = false;
		r->count = 0;
		flow_table_packet_at(ts[port % 3], &pk[k], clock.seq, clock.now_us);
	}
	/* The shared count is the tables' flows; ending keeps it (the tables
	 * that end later must still see the capture's last moment full). */
	uint64_t open_flows = 0;
	for (int w = 0; w < 3; w++)
		open_flows += flow_table_counters(ts[w])->active;
	cr_assert_gt(open_flows, 0);
	cr_assert_eq(atomic_load(&active), open_flows);
	static struct split_close all[512];
	unsigned m = 0;
	for (int w = 0; w < 3; w++) {
		parts[w].seq = UINT64_MAX;
		parts[w].sweep = true;
		flow_table_finish(ts[w]);
		memcpy(all + m, parts[w].c, parts[w].n * sizeof all[0]);
		m += parts[w].n;
	}
	qsort(all, m, sizeof all[0], split_cmp);

	cr_assert_eq(m, one.n);
	cr_assert_gt(one.n, 60);       /* every kind of close happened */
	unsigned kinds[8] = { 0 };
	for (unsigned i = 0; i < m; i++) {
		cr_assert_eq(all[i].port, one.c[i].port, "close %u: port %u, one table %u", i,
			     all[i].port, one.c[i].port);
		cr_assert_eq(all[i].why, one.c[i].why);
		kinds[one.c[i].why]++;
	}
	cr_assert_gt(kinds[FLOW_CLOSE_FIN], 0);
	cr_assert_gt(kinds[FLOW_CLOSE_IDLE], 0);
	cr_assert_gt(kinds[FLOW_CLOSE_END], 0);
	cr_assert_eq(atomic_load(&active), open_flows);
	flow_table_free(t);
	for (int w = 0; w < 3; w++)
		flow_table_free(ts[w]);
}

Test(flow, the_capture_clock_ticks_once_a_second_and_never_goes_back)
{
	struct flow_clock c = { 0 };
	cr_assert(flow_clock_tick(&c, 5000000));          /* the first packet */
	cr_assert_not(flow_clock_tick(&c, 5500000));
	cr_assert_not(flow_clock_tick(&c, 2000000));      /* back: the clock stays */
	cr_assert_eq(c.now_us, 5500000);
	cr_assert(flow_clock_tick(&c, 6000000));
	cr_assert_eq(c.seq, 4);
	cr_assert_eq(c.expired_us, 6000000);
}

Test(flow, ipv6_flows_and_both_directions_share_one_flow)
{
	struct rec r;
	struct flow_table *t = table(&r, 0);
	uint8_t buf[512];
	const char *addrs[2] = { "fd00::40:1", "fd00::10:1" };
	for (int i = 0; i < 2; i++) {
		struct pkt_tcp_spec s = { .link = PKT_ETH, .ipv = 6, .src = addrs[i], .dst = addrs[1 - i],
					  .sport = i ? 5061 : 50001, .dport = i ? 50001 : 5061,
					  .seq = i ? 900 : 100, .flags = i ? TCP_SYN | TCP_ACK : TCP_SYN };
		size_t n = pkt_tcp(&s, buf, sizeof buf);
		struct cap_frame fr = { .ts_us = 1, .caplen = (uint32_t)n, .len = (uint32_t)n, .data = buf };
		struct cap_pkt p;
		const char *why;
		cr_assert_eq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_TCP);
		flow_table_packet(t, &p);
	}
	cr_assert_eq(flow_table_counters(t)->flows, 1);
	flow_table_free(t);
}

/* ---- sources ------------------------------------------------------------ */

static int count_frames;
static void count_frame(void *user, const struct cap_frame *f) { count_frames++; }

Test(cap_source, reads_pcap_and_refuses_what_is_not_one)
{
	char path[] = "/tmp/ct-src-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	char err[512];

	/* empty file */
	cr_assert_null(cap_open_offline(path, err, sizeof err));
	cr_assert(strstr(err, path) != NULL, "%s", err);

	/* not a capture */
	FILE *f = fopen(path, "wb");
	fputs("this is not a capture file at all, just text\n", f);
	fclose(f);
	cr_assert_null(cap_open_offline(path, err, sizeof err));
	cr_assert(strstr(err, "not a readable pcap") != NULL, "%s", err);

	/* unsupported link type, named */
	f = pcapw_open(path, 12345 & 0xfff, 65535);
	pcapw_close(f);
	cr_assert_null(cap_open_offline(path, err, sizeof err));
	cr_assert(strstr(err, "not supported") != NULL, "%s", err);

	/* a good file with two frames, the second truncated by the end of file */
	uint8_t buf[256];
	struct pkt_tcp_spec s = { .link = PKT_ETH, .ipv = 4, .src = "127.0.0.1", .dst = "127.0.0.2",
				  .sport = 1, .dport = 443, .flags = TCP_SYN };
	size_t n = pkt_tcp(&s, buf, sizeof buf);
	f = pcapw_open(path, DLT_EN10MB, 65535);
	pcapw_write(f, 1, buf, (uint32_t)n, (uint32_t)n);
	pcapw_write(f, 2, buf, (uint32_t)n, (uint32_t)n);
	pcapw_close(f);
	cr_assert(truncate(path, 24 + 16 + (off_t)n + 16 + 10) == 0);
	struct cap_source *src = cap_open_offline(path, err, sizeof err);
	cr_assert_not_null(src, "%s", err);
	cr_assert_eq(cap_linktype(src), DLT_EN10MB);
	count_frames = 0;
	int rc;
	while ((rc = cap_next_batch(src, 64, count_frame, NULL)) > 0)
		;
	cr_assert_eq(count_frames, 1);
	cr_assert_eq(rc, -1, "ending inside the last record is an end, with a warning");
	cr_assert_not_null(cap_truncated(src));
	cr_assert(strstr(cap_truncated(src), "truncated") != NULL, "%s", cap_truncated(src));
	cap_close(src);
	unlink(path);
}

/* ---- several live handles (fanout); the live side is tests/fanout.sh ---- */

Test(source, fanout_is_refused_for_a_file_with_a_reason)
{
	/* A classic pcap header alone: Ethernet, no packets. */
	static const uint8_t header[24] = {
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 4, 0, 1, 0, 0, 0,
	};
	char path[] = "/tmp/certtrace-fanout-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, header, sizeof header), (ssize_t)sizeof header);
	close(fd);
	char err[512] = "";
	struct cap_source *src = cap_open_offline(path, err, sizeof err);
	unlink(path);
	cr_assert_not_null(src, "%s", err);
	uint16_t group = 7;
	cr_assert_not(cap_join_fanout(src, 7, err, sizeof err));
	cr_assert(strncmp(err, path, strlen(path)) == 0 && strstr(err, "live"), "%s", err);
	err[0] = 0;
	cr_assert_not(cap_new_fanout(src, &group, err, sizeof err));
	cr_assert(err[0], "no reason given");
	cr_assert_eq(group, 7, "the group was written on failure");
	cr_assert_not(cap_in_fanout(src));
	cap_close(src);
}

Test(source, handles_counters_add_up_but_the_interface_drops_are_counted_once)
{
	struct cap_stats sum = { 0 };
	struct cap_stats a = { .live = true, .received = 10, .dropped = 1, .ifdropped = 5 };
	struct cap_stats b = { .live = true, .received = 32, .dropped = 2, .ifdropped = 6 };
	cap_stats_add(&sum, &a);
	cap_stats_add(&sum, &b);
	cr_assert(sum.live);
	cr_assert_eq(sum.received, 42);
	cr_assert_eq(sum.dropped, 3);
	cr_assert_eq(sum.ifdropped, 6);
}
