/*
 * pktbuild.c — frames and pcap files for the tests (see pktbuild.h).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "tests/pktbuild.h"

static uint8_t *put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; return p + 2; }
static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
	return p + 4;
}

int pkt_dlt(enum pkt_link link)
{
	switch (link) {
	case PKT_SLL: return DLT_LINUX_SLL;
	case PKT_SLL2: return DLT_LINUX_SLL2;
	case PKT_NULL_LE: case PKT_NULL_BE: return DLT_NULL;
	case PKT_LOOP: return DLT_LOOP;
	case PKT_RAW: return DLT_RAW;
	default: return DLT_EN10MB;
	}
}

static size_t tcp_segment(const struct pkt_tcp_spec *s, uint8_t *p)
{
	int hlen = 20 + s->tcp_options_bytes;
	uint8_t *q = p;
	q = put16(q, s->sport);
	q = put16(q, s->dport);
	q = put32(q, s->seq);
	q = put32(q, s->ack);
	int off = s->tcp_hlen_override ? s->tcp_hlen_override : hlen;
	*q++ = (uint8_t)((off / 4) << 4);
	*q++ = s->flags;
	q = put16(q, 65535);
	q = put16(q, 0);
	q = put16(q, 0);
	for (int i = 0; i < s->tcp_options_bytes; i++)
		*q++ = i + 1 == s->tcp_options_bytes ? 0 : 1;   /* NOPs, then EOL */
	if (s->len)
		memcpy(q, s->payload, s->len);
	return (size_t)hlen + s->len;
}

static size_t ipv4(const struct pkt_tcp_spec *s, uint8_t *p, uint8_t proto,
		   const uint8_t *inner, size_t inner_len, const char *src, const char *dst)
{
	int hlen = 20 + s->ip_options_bytes;
	uint8_t *q = p;
	*q++ = (uint8_t)(0x40 | (hlen / 4));
	*q++ = 0;
	q = put16(q, (uint16_t)(hlen + (int)inner_len + s->ip_len_delta));
	q = put16(q, 1);
	q = put16(q, s->fragment ? 0x2000 : 0x4000);
	*q++ = 64;
	*q++ = proto;
	q = put16(q, 0);
	inet_pton(AF_INET, src, q); q += 4;
	inet_pton(AF_INET, dst, q); q += 4;
	memset(q, 1, (size_t)s->ip_options_bytes);   /* NOP options */
	q += s->ip_options_bytes;
	memmove(q, inner, inner_len);
	return (size_t)hlen + inner_len;
}

static size_t ipv6(const struct pkt_tcp_spec *s, uint8_t *p, const uint8_t *tcp, size_t tcp_len)
{
	uint8_t *q = p;
	size_t ext = s->v6_ext_headers ? 16 : 0;
	q = put32(q, 0x60000000);
	q = put16(q, (uint16_t)(tcp_len + ext + (size_t)s->ip_len_delta));
	*q++ = s->v6_ext_headers ? 0 : 6;      /* hop-by-hop first */
	*q++ = 64;
	inet_pton(AF_INET6, s->src, q); q += 16;
	inet_pton(AF_INET6, s->dst, q); q += 16;
	if (s->v6_ext_headers) {
		/* hop-by-hop (8 bytes, PadN) -> destination options (8) -> TCP */
		*q++ = 60; *q++ = 0; *q++ = 1; *q++ = 4; memset(q, 0, 4); q += 4;
		*q++ = 6; *q++ = 0; *q++ = 1; *q++ = 4; memset(q, 0, 4); q += 4;
	}
	memmove(q, tcp, tcp_len);
	return 40 + ext + tcp_len;
}

size_t pkt_tcp(const struct pkt_tcp_spec *s, uint8_t *buf, size_t cap)
{
	uint8_t tcp[70000], ip[70100];
	size_t tl = tcp_segment(s, tcp), il;
	if (s->ipv == 6) {
		il = ipv6(s, ip, tcp, tl);
		if (s->tunnel_6in4) {
			uint8_t in[70100];
			memcpy(in, ip, il);
			struct pkt_tcp_spec outer = *s;
			outer.ip_options_bytes = 0;
			outer.ip_len_delta = 0;
			outer.fragment = 0;
			il = ipv4(&outer, ip, 41, in, il, "192.0.2.1", "192.0.2.2");
		}
	} else {
		il = ipv4(s, ip, 6, tcp, tl, s->src, s->dst);
	}
	uint16_t etype = s->ipv == 6 && !s->tunnel_6in4 ? 0x86dd : 0x0800;
	uint8_t *q = buf;
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	switch (s->link) {
	case PKT_ETH: case PKT_ETH_VLAN: case PKT_ETH_QINQ: case PKT_ETH_PPPOE: case PKT_ETH_MPLS:
		memcpy(q, macs, 12); q += 12;
		if (s->link == PKT_ETH_QINQ) { q = put16(q, 0x88a8); q = put16(q, 100); }
		if (s->link == PKT_ETH_VLAN || s->link == PKT_ETH_QINQ) { q = put16(q, 0x8100); q = put16(q, 42); }
		if (s->link == PKT_ETH_PPPOE) {
			q = put16(q, 0x8864); *q++ = 0x11; *q++ = 0; q = put16(q, 1);
			q = put16(q, (uint16_t)(il + 2)); q = put16(q, etype == 0x0800 ? 0x21 : 0x57);
			break;
		}
		if (s->link == PKT_ETH_MPLS) { q = put16(q, 0x8847); q = put32(q, (16u << 12) | 0x100 | 64); break; }
		q = put16(q, etype);
		break;
	case PKT_SLL:
		q = put16(q, 0); q = put16(q, 1); q = put16(q, 6);
		memcpy(q, macs, 8); q += 8; q = put16(q, etype);
		break;
	case PKT_SLL2:
		q = put16(q, etype); q = put16(q, 0); q = put32(q, 1); q = put16(q, 1);
		*q++ = 0; *q++ = 6; memcpy(q, macs, 8); q += 8;
		break;
	case PKT_NULL_LE: {
		uint32_t fam = s->ipv == 6 ? 30 : 2;
		*q++ = (uint8_t)fam; *q++ = 0; *q++ = 0; *q++ = 0;
		break;
	}
	case PKT_NULL_BE: case PKT_LOOP:
		q = put32(q, s->ipv == 6 ? 24 : 2);
		break;
	case PKT_RAW:
		break;
	}
	size_t hl = (size_t)(q - buf);
	if (hl + il > cap)
		return 0;
	memcpy(q, ip, il);
	return hl + il;
}

/* The outer IPv4 header of a tunnel packet, its length fields from `body`. */
static uint8_t *outer_ipv4(uint8_t *q, uint8_t proto, size_t body)
{
	*q++ = 0x45; *q++ = 0;
	q = put16(q, (uint16_t)(20 + body));
	q = put16(q, 7); q = put16(q, 0x4000);
	*q++ = 64; *q++ = proto;
	q = put16(q, 0);
	q = put32(q, 0xc0000201);            /* 192.0.2.1: the switch or VTEP */
	q = put32(q, 0xc0000202);            /* 192.0.2.2: the capture box */
	return q;
}

size_t pkt_wrap(enum pkt_wrap w, const uint8_t *frame, size_t n, uint8_t *out, size_t cap)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 0x0b };
	uint8_t hdr[128], *q = hdr;
	uint16_t inner_type = n >= 14 ? (uint16_t)(frame[12] << 8 | frame[13]) : 0;
	const uint8_t *inner = frame;
	size_t inner_len = n;
	bool l3 = w == PKT_WRAP_GRE_IP || w == PKT_WRAP_ERSPAN_III_IP || w == PKT_WRAP_PPTP ||
		  w == PKT_WRAP_GENEVE_IP || w == PKT_WRAP_GTP_U || w == PKT_WRAP_GTP_U_EXT;

	if (n < 14 || n + sizeof hdr > cap)
		return 0;
	if (w == PKT_WRAP_CMD) {
		memcpy(out, frame, 12);
		uint8_t *o = out + 12;
		o = put16(o, 0x8909); *o++ = 1; *o++ = 1; o = put16(o, 0x0001); o = put16(o, 2);
		memcpy(o, frame + 12, n - 12);
		return n + 8;
	}
	if (l3) {
		inner = frame + 14;
		inner_len = n - 14;
	}
	/* The tunnel header, into tun[]; then the outer headers around it. */
	uint8_t tun[64], *t = tun;
	bool udp = false;
	uint16_t dport = 0;
	switch (w) {
	case PKT_WRAP_GRE_IP:
		t = put16(t, 0); t = put16(t, inner_type);
		break;
	case PKT_WRAP_GRE_TEB:
		t = put16(t, 0x2000); t = put16(t, 0x6558); t = put32(t, 0x00123400);
		break;
	case PKT_WRAP_ERSPAN_I:
		t = put16(t, 0); t = put16(t, 0x88be);
		break;
	case PKT_WRAP_ERSPAN_II:
		t = put16(t, 0x1000); t = put16(t, 0x88be); t = put32(t, 17);
		t = put16(t, 0x1000 | 100); t = put16(t, 0x0800 | 42); t = put32(t, 5);
		break;
	case PKT_WRAP_ERSPAN_III:
	case PKT_WRAP_ERSPAN_III_PLATFORM:
	case PKT_WRAP_ERSPAN_III_IP:
		t = put16(t, 0x1000); t = put16(t, 0x22eb); t = put32(t, 17);
		t = put16(t, 0x2000 | 100); t = put16(t, 42); t = put32(t, 123456789);
		t = put16(t, 2);      /* SGT */
		t = put16(t, (uint16_t)((w == PKT_WRAP_ERSPAN_III_IP ? 2u : 0u) << 10 | 1u << 4 |
					(w == PKT_WRAP_ERSPAN_III_PLATFORM ? 1u : 0u)));
		if (w == PKT_WRAP_ERSPAN_III_PLATFORM) {
			t = put32(t, 0x0c000000); t = put32(t, 0x11223344);   /* platform id 3 */
		}
		break;
	case PKT_WRAP_PPTP:
		t = put16(t, 0x3081); t = put16(t, 0x880b);
		t = put16(t, (uint16_t)(inner_len + 4)); t = put16(t, 7);   /* length, call id */
		t = put32(t, 1); t = put32(t, 0);                             /* seq, ack */
		*t++ = 0xff; *t++ = 0x03;
		t = put16(t, inner_type == 0x86dd ? 0x0057 : 0x0021);
		break;
	case PKT_WRAP_VXLAN:
		udp = true; dport = 4789;
		*t++ = 0x08; *t++ = 0; *t++ = 0; *t++ = 0; t = put32(t, 5001u << 8);
		break;
	case PKT_WRAP_GENEVE:
		udp = true; dport = 6081;
		*t++ = 2; *t++ = 0; t = put16(t, 0x6558); t = put32(t, 77u << 8);
		t = put16(t, 0x0108); *t++ = 0x01; *t++ = 1; t = put32(t, 0xdeadbeef);  /* one option */
		break;
	case PKT_WRAP_GENEVE_IP:
		udp = true; dport = 6081;
		*t++ = 0; *t++ = 0; t = put16(t, inner_type); t = put32(t, 77u << 8);
		break;
	case PKT_WRAP_GTP_U:
		udp = true; dport = 2152;
		*t++ = 0x30; *t++ = 0xff; t = put16(t, (uint16_t)inner_len); t = put32(t, 0x1234);
		break;
	case PKT_WRAP_GTP_U_EXT:
		udp = true; dport = 2152;
		/* E and S: seq, N-PDU, next type 0x85 (PDU session container,
		 * 4 bytes), then 0x40 (UDP port, 4 bytes), then none. */
		*t++ = 0x36; *t++ = 0xff; t = put16(t, (uint16_t)(inner_len + 12)); t = put32(t, 0x1234);
		t = put16(t, 9); *t++ = 0; *t++ = 0x85;
		*t++ = 1; *t++ = 0x10; *t++ = 0x09; *t++ = 0x40;
		*t++ = 1; t = put16(t, 2152); *t++ = 0;
		break;
	case PKT_WRAP_CMD:
		break;
	}
	size_t tl = (size_t)(t - tun);
	memcpy(q, macs, 12); q += 12;
	q = put16(q, 0x0800);
	q = outer_ipv4(q, udp ? 17 : 47, (udp ? 8 : 0) + tl + inner_len);
	if (udp) {
		q = put16(q, 49152); q = put16(q, dport);
		q = put16(q, (uint16_t)(8 + tl + inner_len)); q = put16(q, 0);
	}
	memcpy(q, tun, tl); q += tl;
	size_t hl = (size_t)(q - hdr);
	if (hl + inner_len > cap)
		return 0;
	memmove(out + hl, inner, inner_len);
	memcpy(out, hdr, hl);
	return hl + inner_len;
}

FILE *pcapw_open(const char *path, int dlt, uint32_t snaplen)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return NULL;
	uint32_t h[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, snaplen, (uint32_t)dlt };
	memcpy(&h[1], (uint16_t[2]){ 2, 4 }, 4);
	fwrite(h, sizeof h, 1, f);
	return f;
}

void pcapw_write(FILE *f, uint64_t ts_us, const uint8_t *data, uint32_t caplen, uint32_t len)
{
	uint32_t r[4] = { (uint32_t)(ts_us / 1000000), (uint32_t)(ts_us % 1000000), caplen, len };
	fwrite(r, sizeof r, 1, f);
	fwrite(data, 1, caplen, f);
}

void pcapw_close(FILE *f)
{
	fclose(f);
}

/* ---- pcapng ------------------------------------------------------------- */

static void png_put(struct pngw *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		size_t c = w->cap ? w->cap * 2 : 4096;
		while (c < w->n + n)
			c *= 2;
		w->b = realloc(w->b, c);
		w->cap = c;
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void png_u32(uint8_t *q, uint32_t v, int be)
{
	if (be)
		put32(q, v);
	else {
		q[0] = (uint8_t)v; q[1] = (uint8_t)(v >> 8); q[2] = (uint8_t)(v >> 16); q[3] = (uint8_t)(v >> 24);
	}
}

static void png_u16(uint8_t *q, uint16_t v, int be)
{
	if (be)
		put16(q, v);
	else {
		q[0] = (uint8_t)v; q[1] = (uint8_t)(v >> 8);
	}
}

void pngw_block(struct pngw *w, uint32_t type, const void *body, size_t n)
{
	static const uint8_t zero[4];
	size_t pad = (4 - n % 4) % 4;
	uint8_t h[8];
	png_u32(h, type, w->be);
	png_u32(h + 4, (uint32_t)(12 + n + pad), w->be);
	png_put(w, h, 8);
	png_put(w, body, n);
	png_put(w, zero, pad);
	png_put(w, h + 4, 4);
}

void pngw_shb(struct pngw *w, int be)
{
	uint8_t b[16];
	w->be = be;
	png_u32(b, 0x1a2b3c4d, be);
	png_u16(b + 4, 1, be);
	png_u16(b + 6, 0, be);
	memset(b + 8, 0xff, 8);          /* section length unknown */
	pngw_block(w, 0x0a0d0d0a, b, sizeof b);
}

void pngw_idb(struct pngw *w, uint16_t linktype, uint32_t snaplen, int tsresol,
	      int with_offset, int64_t tsoffset_s)
{
	uint8_t b[64], *q = b;
	png_u16(q, linktype, w->be); png_u16(q + 2, 0, w->be); png_u32(q + 4, snaplen, w->be);
	q += 8;
	/* an option we do not read first: if_name "eth0" */
	png_u16(q, 2, w->be); png_u16(q + 2, 4, w->be); memcpy(q + 4, "eth0", 4); q += 8;
	if (tsresol >= 0) {
		png_u16(q, 9, w->be); png_u16(q + 2, 1, w->be);
		q[4] = (uint8_t)tsresol; q[5] = q[6] = q[7] = 0; q += 8;
	}
	if (with_offset) {
		uint64_t v = (uint64_t)tsoffset_s;
		png_u16(q, 14, w->be); png_u16(q + 2, 8, w->be);
		if (w->be) {
			png_u32(q + 4, (uint32_t)(v >> 32), 1); png_u32(q + 8, (uint32_t)v, 1);
		} else {
			png_u32(q + 4, (uint32_t)v, 0); png_u32(q + 8, (uint32_t)(v >> 32), 0);
		}
		q += 12;
	}
	png_u16(q, 0, w->be); png_u16(q + 2, 0, w->be); q += 4;   /* opt_endofopt */
	pngw_block(w, 1, b, (size_t)(q - b));
}

static void packet_block(struct pngw *w, uint32_t type, uint32_t iface, uint64_t ts,
			 const uint8_t *data, uint32_t caplen, uint32_t len)
{
	size_t n = 20 + caplen;
	uint8_t *b = calloc(1, n + 4);
	if (type == 6) {
		png_u32(b, iface, w->be);
	} else {
		png_u16(b, (uint16_t)iface, w->be); png_u16(b + 2, 0, w->be);
	}
	png_u32(b + 4, (uint32_t)(ts >> 32), w->be);
	png_u32(b + 8, (uint32_t)ts, w->be);
	png_u32(b + 12, caplen, w->be);
	png_u32(b + 16, len, w->be);
	memcpy(b + 20, data, caplen);
	pngw_block(w, type, b, n);
	free(b);
}

void pngw_epb(struct pngw *w, uint32_t iface, uint64_t ts, const uint8_t *data,
	      uint32_t caplen, uint32_t len)
{
	packet_block(w, 6, iface, ts, data, caplen, len);
}

void pngw_pb(struct pngw *w, uint16_t iface, uint64_t ts, const uint8_t *data,
	     uint32_t caplen, uint32_t len)
{
	packet_block(w, 2, iface, ts, data, caplen, len);
}

void pngw_spb(struct pngw *w, const uint8_t *data, uint32_t present, uint32_t len)
{
	uint8_t *b = calloc(1, 4 + present + 4);
	png_u32(b, len, w->be);
	memcpy(b + 4, data, present);
	pngw_block(w, 3, b, 4 + present);
	free(b);
}

void pngw_dsb(struct pngw *w, uint32_t secrets_type, const void *p, size_t n)
{
	uint8_t *b = calloc(1, 8 + n + 4);
	png_u32(b, secrets_type, w->be);
	png_u32(b + 4, (uint32_t)n, w->be);
	memcpy(b + 8, p, n);
	pngw_block(w, 10, b, 8 + n);
	free(b);
}

void pngw_save(struct pngw *w, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(w->b, 1, w->n, f);
		fclose(f);
	}
	free(w->b);
	memset(w, 0, sizeof *w);
}
