/*
 * test_tunnel.c — tunnels and mirror encapsulations (capture/tunnel.c and the
 * Cisco MetaData tag in decode.c) on frames built in memory: each kind alone,
 * nested, cut short, lying, and the depth cap.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "capture/capture.h"
#include "tests/pktbuild.h"

static uint8_t frame[4096], wrapped[4096];

/* The inner segment: phone 127.0.40.1:50855 -> CAS 127.0.20.1:443, "hello". */
static size_t inner_frame(int ipv, uint8_t *buf, size_t cap)
{
	struct pkt_tcp_spec s = {
		.link = PKT_ETH, .ipv = ipv,
		.src = ipv == 4 ? "127.0.40.1" : "fd00::40:1",
		.dst = ipv == 4 ? "127.0.20.1" : "fd00::20:1",
		.sport = 50855, .dport = 443, .seq = 1000, .ack = 7, .flags = TCP_ACK | TCP_PSH,
		.payload = "hello", .len = 5,
	};
	size_t n = pkt_tcp(&s, buf, cap);
	cr_assert(n > 0);
	return n;
}

static enum cap_decode_result decode(const uint8_t *p, size_t n, struct cap_pkt *out,
				     const char **why)
{
	static struct cap_frame fr;
	fr = (struct cap_frame){ .ts_us = 1, .caplen = (uint32_t)n, .len = (uint32_t)n, .data = p };
	return cap_decode(DLT_EN10MB, &fr, out, why);
}

static void assert_inner_flow(const struct cap_pkt *p, int ipv)
{
	cr_assert_eq(p->ipv, ipv);
	cr_assert_eq(p->sport, 50855);
	cr_assert_eq(p->dport, 443);
	cr_assert_eq(p->seq, 1000);
	cr_assert_eq(p->payload_len, 5);
	cr_assert_eq(p->payload_wire_len, 5);
	cr_assert(memcmp(p->payload, "hello", 5) == 0);
	cr_assert_eq(p->l3[0] >> 4, ipv, "l3 is the innermost IP header (for nDPI)");
	if (ipv == 4)
		cr_assert(p->src[0] == 127 && p->src[2] == 40 && p->dst[2] == 20,
			  "the flow key is the inner address, not 192.0.2.x");
	else
		cr_assert(p->src[0] == 0xfd && p->src[13] == 0x40 && p->dst[13] == 0x20);
}

static void check_wrap(enum pkt_wrap w, enum cap_encap kind, int ipv)
{
	size_t n = inner_frame(ipv, frame, sizeof frame);
	size_t m = pkt_wrap(w, frame, n, wrapped, sizeof wrapped);
	struct cap_pkt p;
	const char *why;
	cr_assert(m > n);
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_TCP, "wrap %d v%d: %s", w, ipv,
		     why ? why : "");
	assert_inner_flow(&p, ipv);
	cr_assert_eq(p.encaps, 1u << kind, "wrap %d: encaps %#x", w, p.encaps);
}

Test(tunnel, each_encapsulation_alone_gives_the_inner_flow)
{
	static const struct { enum pkt_wrap w; enum cap_encap kind; } cases[] = {
		{ PKT_WRAP_GRE_IP, CAP_ENCAP_GRE },
		{ PKT_WRAP_GRE_TEB, CAP_ENCAP_GRE },
		{ PKT_WRAP_PPTP, CAP_ENCAP_GRE },
		{ PKT_WRAP_ERSPAN_I, CAP_ENCAP_ERSPAN_I },
		{ PKT_WRAP_ERSPAN_II, CAP_ENCAP_ERSPAN_II },
		{ PKT_WRAP_ERSPAN_III, CAP_ENCAP_ERSPAN_III },
		{ PKT_WRAP_ERSPAN_III_PLATFORM, CAP_ENCAP_ERSPAN_III },
		{ PKT_WRAP_ERSPAN_III_IP, CAP_ENCAP_ERSPAN_III },
		{ PKT_WRAP_VXLAN, CAP_ENCAP_VXLAN },
		{ PKT_WRAP_GENEVE, CAP_ENCAP_GENEVE },
		{ PKT_WRAP_GENEVE_IP, CAP_ENCAP_GENEVE },
		{ PKT_WRAP_GTP_U, CAP_ENCAP_GTP_U },
		{ PKT_WRAP_GTP_U_EXT, CAP_ENCAP_GTP_U },
		{ PKT_WRAP_CMD, CAP_ENCAP_CISCO_METADATA },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		check_wrap(cases[i].w, cases[i].kind, 4);
		check_wrap(cases[i].w, cases[i].kind, 6);
	}
}

Test(tunnel, nested_in_any_order_every_layer_is_noted)
{
	static const enum pkt_wrap orders[][4] = {
		{ PKT_WRAP_CMD, PKT_WRAP_VXLAN, PKT_WRAP_ERSPAN_III, PKT_WRAP_GRE_IP },
		{ PKT_WRAP_GTP_U_EXT, PKT_WRAP_GENEVE, PKT_WRAP_ERSPAN_II, PKT_WRAP_CMD },
		{ PKT_WRAP_ERSPAN_III_PLATFORM, PKT_WRAP_GRE_TEB, PKT_WRAP_VXLAN, PKT_WRAP_GTP_U },
	};
	for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
		size_t n = inner_frame(4, frame, sizeof frame);
		uint16_t want = 0;
		for (int i = 0; i < 4; i++) {
			n = pkt_wrap(orders[o][i], frame, n, wrapped, sizeof wrapped);
			cr_assert(n > 0);
			memcpy(frame, wrapped, n);
		}
		struct cap_pkt p;
		const char *why;
		cr_assert_eq(decode(frame, n, &p, &why), CAP_TCP, "order %zu: %s", o, why ? why : "");
		assert_inner_flow(&p, 4);
		switch (o) {
		case 0:
			want = 1u << CAP_ENCAP_CISCO_METADATA | 1u << CAP_ENCAP_VXLAN |
			       1u << CAP_ENCAP_ERSPAN_III | 1u << CAP_ENCAP_GRE;
			break;
		case 1:
			want = 1u << CAP_ENCAP_GTP_U | 1u << CAP_ENCAP_GENEVE |
			       1u << CAP_ENCAP_ERSPAN_II | 1u << CAP_ENCAP_CISCO_METADATA;
			break;
		default:
			want = 1u << CAP_ENCAP_ERSPAN_III | 1u << CAP_ENCAP_GRE |
			       1u << CAP_ENCAP_VXLAN | 1u << CAP_ENCAP_GTP_U;
		}
		cr_assert_eq(p.encaps, want, "order %zu: %#x", o, p.encaps);
	}
}

Test(tunnel, depth_is_capped_at_eight_tunnels)
{
	size_t n = inner_frame(4, frame, sizeof frame);
	struct cap_pkt p;
	const char *why;
	for (int i = 1; i <= 9; i++) {
		n = pkt_wrap(PKT_WRAP_GRE_TEB, frame, n, wrapped, sizeof wrapped);
		memcpy(frame, wrapped, n);
		enum cap_decode_result r = decode(frame, n, &p, &why);
		if (i <= 8) {
			cr_assert_eq(r, CAP_TCP, "%d tunnels: %s", i, why ? why : "");
		} else {
			cr_assert_eq(r, CAP_MALFORMED);
			cr_assert_str_eq(why, "tunnels nested deeper than 8 levels");
		}
	}
}

/* The wrapped frame cut inside its tunnel header: malformed, with a reason. */
static void check_cut(enum pkt_wrap w, size_t keep, const char *reason)
{
	size_t n = inner_frame(4, frame, sizeof frame);
	size_t m = pkt_wrap(w, frame, n, wrapped, sizeof wrapped);
	struct cap_pkt p;
	const char *why;
	cr_assert(keep < m);
	static struct cap_frame fr;
	/* The outer IP length still says the whole packet: the capture cut it. */
	fr = (struct cap_frame){ .caplen = (uint32_t)keep, .len = (uint32_t)m, .data = wrapped };
	cr_assert_eq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_MALFORMED, "wrap %d cut at %zu", w, keep);
	cr_assert_str_eq(why, reason);
}

Test(tunnel, headers_cut_short_are_malformed_with_a_reason)
{
	/* 14 Ethernet + 20 IPv4 = 34; GRE from 34, UDP from 34, tunnel from 42. */
	check_cut(PKT_WRAP_GRE_IP, 36, "GRE header cut short");
	check_cut(PKT_WRAP_GRE_TEB, 40, "GRE header cut short");
	check_cut(PKT_WRAP_ERSPAN_II, 34 + 8 + 4, "ERSPAN type II header cut short");
	check_cut(PKT_WRAP_ERSPAN_III, 34 + 8 + 10, "ERSPAN type III header cut short");
	check_cut(PKT_WRAP_ERSPAN_III_PLATFORM, 34 + 8 + 12 + 4,
		  "ERSPAN type III platform subheader cut short");
	check_cut(PKT_WRAP_PPTP, 34 + 10, "PPTP GRE header cut short");
	check_cut(PKT_WRAP_VXLAN, 42 + 5, "VXLAN header cut short");
	check_cut(PKT_WRAP_GENEVE, 42 + 6, "Geneve header cut short");
	check_cut(PKT_WRAP_GENEVE, 42 + 8 + 4, "Geneve options cut short");
	check_cut(PKT_WRAP_GTP_U, 42 + 6, "GTP-U header cut short");
	check_cut(PKT_WRAP_GTP_U_EXT, 42 + 8 + 2, "GTP-U optional fields cut short");
	check_cut(PKT_WRAP_GTP_U_EXT, 42 + 12 + 6, "GTP-U extension header cut short or empty");
	check_cut(PKT_WRAP_CMD, 12 + 2 + 3, "Cisco MetaData header cut short");
	check_cut(PKT_WRAP_ERSPAN_II, 34 + 8 + 8 + 6, "Ethernet header cut short");
}

static size_t wrap_one(enum pkt_wrap w)
{
	size_t n = inner_frame(4, frame, sizeof frame);
	size_t m = pkt_wrap(w, frame, n, wrapped, sizeof wrapped);
	cr_assert(m > 0);
	return m;
}

Test(tunnel, other_traffic_on_tunnel_ports_is_not_tcp_not_malformed)
{
	struct cap_pkt p;
	const char *why;
	/* VXLAN without its I flag (as VXLAN-GPE or another protocol on 4789). */
	size_t m = wrap_one(PKT_WRAP_VXLAN);
	wrapped[42] = 0x00;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_NOT_TCP);
	cr_assert_eq(p.encaps, 0);
	/* Geneve version 1 is not defined. */
	m = wrap_one(PKT_WRAP_GENEVE);
	wrapped[42] |= 0x40;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_NOT_TCP);
	/* GTPv2-C (version 2) on the GTP-U port, and a GTP-U echo request. */
	m = wrap_one(PKT_WRAP_GTP_U);
	wrapped[42] = 0x48;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_NOT_TCP);
	m = wrap_one(PKT_WRAP_GTP_U);
	wrapped[43] = 1;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_NOT_TCP);
	cr_assert_eq(p.encaps, 1u << CAP_ENCAP_GTP_U, "an echo still went through GTP-U");
	/* A UDP datagram to another port is plain UDP. */
	m = wrap_one(PKT_WRAP_VXLAN);
	wrapped[36] = 0; wrapped[37] = 53;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_NOT_TCP);
	/* GRE version 2 is undefined. */
	m = wrap_one(PKT_WRAP_GRE_IP);
	wrapped[35] |= 2;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_NOT_TCP);
}

Test(tunnel, headers_that_lie_are_malformed)
{
	struct cap_pkt p;
	const char *why;
	/* ERSPAN II header claiming version 2 (type III's). */
	size_t m = wrap_one(PKT_WRAP_ERSPAN_II);
	wrapped[42] = 0x20;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_MALFORMED);
	cr_assert_str_eq(why, "ERSPAN type II header with another version");
	m = wrap_one(PKT_WRAP_ERSPAN_III);
	wrapped[42] = 0x10;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_MALFORMED);
	cr_assert_str_eq(why, "ERSPAN type III header with another version");
	/* A UDP length past the IP payload. */
	m = wrap_one(PKT_WRAP_VXLAN);
	wrapped[38] = 0xff; wrapped[39] = 0xff;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_MALFORMED);
	cr_assert_str_eq(why, "UDP length outside the IP payload");
	/* A GTP-U extension header of length 0 would never end. */
	m = wrap_one(PKT_WRAP_GTP_U_EXT);
	wrapped[42 + 12] = 0;
	cr_assert_eq(decode(wrapped, m, &p, &why), CAP_MALFORMED);
	cr_assert_str_eq(why, "GTP-U extension header cut short or empty");
}

Test(tunnel, padding_after_a_g_pdu_is_not_payload)
{
	/* Padding after the G-PDU (the GTP length is the truth) is not TCP payload. */
	size_t m = wrap_one(PKT_WRAP_GTP_U);
	memset(wrapped + m, 0xee, 6);
	wrapped[16] = (uint8_t)((m + 6 - 14) >> 8); wrapped[17] = (uint8_t)(m + 6 - 14);
	wrapped[38] = (uint8_t)((m + 6 - 34) >> 8); wrapped[39] = (uint8_t)(m + 6 - 34);
	struct cap_pkt p;
	const char *why;
	cr_assert_eq(decode(wrapped, m + 6, &p, &why), CAP_TCP, "%s", why ? why : "");
	assert_inner_flow(&p, 4);
}

Test(tunnel, snaplen_cut_inner_segment_keeps_the_inner_ip_length)
{
	size_t m = wrap_one(PKT_WRAP_VXLAN);
	struct cap_pkt p;
	const char *why;
	static struct cap_frame fr;
	fr = (struct cap_frame){ .caplen = (uint32_t)m - 3, .len = (uint32_t)m, .data = wrapped };
	cr_assert_eq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_TCP);
	cr_assert_eq(p.payload_len, 2);
	cr_assert_eq(p.payload_wire_len, 5, "the inner IP header says how much the segment carried");
}

Test(tunnel, counts_and_names)
{
	struct cap_encap_counts c = { { 0 } };
	cap_encap_count(&c, 1u << CAP_ENCAP_VXLAN | 1u << CAP_ENCAP_ERSPAN_III);
	cap_encap_count(&c, 1u << CAP_ENCAP_VXLAN);
	cap_encap_count(&c, 0);
	cr_assert_eq(c.packets[CAP_ENCAP_VXLAN], 2);
	cr_assert_eq(c.packets[CAP_ENCAP_ERSPAN_III], 1);
	cr_assert_eq(c.packets[CAP_ENCAP_GRE], 0);
	cr_assert_str_eq(cap_encap_name(CAP_ENCAP_VXLAN), "vxlan");
	cr_assert_str_eq(cap_encap_name(CAP_ENCAP_ERSPAN_II), "erspan_ii");
	cr_assert_str_eq(cap_encap_name(CAP_ENCAP_GTP_U), "gtp_u");
	cr_assert_str_eq(cap_encap_name(CAP_ENCAP_CISCO_METADATA), "cisco_metadata");
	cr_assert_str_eq(cap_encap_name(CAP_ENCAP_COUNT), "unknown");
}
