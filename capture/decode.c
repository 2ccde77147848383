/*
 * decode.c — from a link-layer frame to a TCP segment, through the bounded
 * reader.
 *
 * Link types: Ethernet (with any stack of 802.1Q / 802.1ad tags, Cisco
 * MetaData (SGT) headers, PPPoE sessions and MPLS labels), Linux cooked v1
 * and v2, BSD NULL/LOOP, raw IP.  IP: v4 with options, v6 with its
 * extension-header chain; IP in IP (6in4, 4in4, 4in6, 6in6) is followed here,
 * GRE, ERSPAN and the UDP tunnels in tunnel.c, to the innermost TCP.
 *
 * Two decisions worth knowing:
 * - The payload length comes from the IP header's length, never from caplen:
 *   when the snaplen cut a segment, payload_len < payload_wire_len and the
 *   flow table reports the missing bytes as a gap.
 * - IP fragments are counted and skipped, not reassembled.  TCP sets DF and
 *   relies on path-MTU discovery, so fragmented TCP is rare in practice, and
 *   reassembling it would add per-packet buffering for almost no gain.  The
 *   summary counts them so a capture where it matters is not silent.
 */
#include <netinet/in.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/decode.h"
#include "lib/reader.h"

enum { MAX_TAG_HOPS = 16 };

static const char *const encap_names[CAP_ENCAP_COUNT] = {
	[CAP_ENCAP_IP_IN_IP] = "ip_in_ip",
	[CAP_ENCAP_GRE] = "gre",
	[CAP_ENCAP_ERSPAN_I] = "erspan_i",
	[CAP_ENCAP_ERSPAN_II] = "erspan_ii",
	[CAP_ENCAP_ERSPAN_III] = "erspan_iii",
	[CAP_ENCAP_VXLAN] = "vxlan",
	[CAP_ENCAP_GENEVE] = "geneve",
	[CAP_ENCAP_GTP_U] = "gtp_u",
	[CAP_ENCAP_CISCO_METADATA] = "cisco_metadata",
};

const char *cap_encap_name(enum cap_encap e)
{
	return (unsigned)e < CAP_ENCAP_COUNT ? encap_names[e] : "unknown";
}

void cap_encap_count(struct cap_encap_counts *c, uint16_t encaps)
{
	for (unsigned i = 0; encaps && i < CAP_ENCAP_COUNT; i++, encaps >>= 1)
		c->packets[i] += encaps & 1;
}

enum cap_decode_result dec_malformed(const char **why, const char *reason)
{
	*why = reason;
	return CAP_MALFORMED;
}

enum cap_decode_result dec_ppp(struct reader *r, unsigned depth, struct cap_pkt *out,
			       const char **why)
{
	uint8_t b0, b1;
	uint16_t proto;
	/* Address and control (0xff 0x03) unless compressed away (RFC 1661 6.6). */
	if (rd_peek_u8(r, 0, &b0) && rd_peek_u8(r, 1, &b1) && b0 == 0xff && b1 == 0x03)
		rd_skip(r, 2);
	if (!rd_peek_u8(r, 0, &b0))
		return dec_malformed(why, "PPP header cut short");
	if (b0 & 1) {             /* protocol field compression: one byte */
		rd_skip(r, 1);
		proto = b0;
	} else if (!rd_u16(r, &proto)) {
		return dec_malformed(why, "PPP header cut short");
	}
	if (proto == PPP_IPV4 || proto == PPP_IPV6)
		return dec_ip(r, depth, out, why);
	return CAP_NOT_TCP;
}

/* An ethertype-dispatched payload: tags, Cisco MetaData, PPPoE and MPLS are
 * peeled here. */
enum cap_decode_result dec_ethertype(struct reader *r, uint16_t type, unsigned depth,
				     struct cap_pkt *out, const char **why)
{
	for (unsigned hops = 0; hops < MAX_TAG_HOPS; hops++) {
		switch (type) {
		case ETH_IPV4:
		case ETH_IPV6:
			return dec_ip(r, depth, out, why);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (!rd_skip(r, 2) || !rd_u16(r, &type))
				return dec_malformed(why, "VLAN tag cut short");
			continue;
		case ETH_CISCO_METADATA: {
			/* Cisco TrustSec: version, length (in 4-byte option words;
			 * 1 for the SGT option, Wireshark's packet-cmd.c), the
			 * options, then the next ethertype. */
			uint8_t version, words;
			if (!rd_u8(r, &version) || !rd_u8(r, &words) || !rd_skip(r, words * 4u) ||
			    !rd_u16(r, &type))
				return dec_malformed(why, "Cisco MetaData header cut short");
			out->encaps |= 1u << CAP_ENCAP_CISCO_METADATA;
			continue;
		}
		case ETH_PPPOE_SESSION:
			if (!rd_skip(r, 6))
				return dec_malformed(why, "PPPoE header cut short");
			return dec_ppp(r, depth, out, why);
		case ETH_MPLS:
		case ETH_MPLS_MC: {
			uint32_t label;
			do {
				if (!rd_u32(r, &label))
					return dec_malformed(why, "MPLS label stack cut short");
			} while (!(label & 0x100));
			return dec_ip(r, depth, out, why);
		}
		default:
			return CAP_NOT_TCP;
		}
	}
	return dec_malformed(why, "too many VLAN tags");
}

enum cap_decode_result dec_ethernet(struct reader *r, unsigned depth, struct cap_pkt *out,
				    const char **why)
{
	uint16_t type;
	if (!rd_skip(r, 12) || !rd_u16(r, &type))
		return dec_malformed(why, "Ethernet header cut short");
	if (type < 0x0600)        /* 802.3 length field: LLC, not IP */
		return CAP_NOT_TCP;
	return dec_ethertype(r, type, depth, out, why);
}

static enum cap_decode_result decode_tcp(struct reader *r, uint32_t wire_len,
					 struct cap_pkt *out, const char **why)
{
	struct reader tcp = *r;
	uint16_t sport, dport, win;
	uint32_t seq, ack;
	uint8_t off, flags;

	if (!rd_u16(&tcp, &sport) || !rd_u16(&tcp, &dport) || !rd_u32(&tcp, &seq) ||
	    !rd_u32(&tcp, &ack) || !rd_u8(&tcp, &off) || !rd_u8(&tcp, &flags) ||
	    !rd_u16(&tcp, &win))
		return dec_malformed(why, "TCP header cut short");
	unsigned hlen = (off >> 4) * 4u;
	if (hlen < 20)
		return dec_malformed(why, "TCP header length under 20 bytes");
	if (hlen > wire_len)
		return dec_malformed(why, "TCP header longer than the IP payload");
	/* Options are not needed (no window scaling or SACK logic here), but
	 * they must be present in the capture for the payload to start. */
	if (!rd_skip(r, hlen))
		return dec_malformed(why, "TCP options cut short");
	out->sport = sport;
	out->dport = dport;
	out->seq = seq;
	out->ack = ack;
	out->tcp_flags = flags;
	out->payload_wire_len = wire_len - hlen;
	out->payload = rd_ptr(r);
	out->payload_len = rd_left(r) < out->payload_wire_len ? (uint32_t)rd_left(r)
							       : out->payload_wire_len;
	return CAP_TCP;
}

/* Dispatch on the next protocol after an IP header; `len` is the payload's
 * length per the IP header. */
static enum cap_decode_result decode_l4(struct reader *r, uint8_t proto, uint32_t len,
					unsigned depth, struct cap_pkt *out,
					const char **why)
{
	struct reader payload = *r;
	/* The IP length is the truth; the capture may hold less (snaplen) or
	 * more (Ethernet padding). */
	if (rd_left(&payload) > len)
		payload.len = len;
	switch (proto) {
	case IPPROTO_TCP:
		return decode_tcp(&payload, len, out, why);
	case IPPROTO_UDP:
		return dec_udp(&payload, len, depth, out, why);
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		if (depth >= DEC_MAX_TUNNEL_DEPTH)
			return dec_malformed(why, "tunnels nested deeper than 8 levels");
		out->encaps |= 1u << CAP_ENCAP_IP_IN_IP;
		return dec_ip(&payload, depth + 1, out, why);
	case IPPROTO_GRE:
		return dec_gre(&payload, depth, out, why);
	default:
		return CAP_NOT_TCP;
	}
}

static enum cap_decode_result decode_ipv4(struct reader *r, unsigned depth,
					  struct cap_pkt *out, const char **why)
{
	struct reader ip = *r;
	uint8_t vihl, tos, ttl, proto;
	uint16_t total, id, frag, csum;
	const uint8_t *src, *dst;

	out->l3 = rd_ptr(r);
	out->l3_len = (uint32_t)rd_left(r);
	if (!rd_u8(&ip, &vihl) || !rd_u8(&ip, &tos) || !rd_u16(&ip, &total) ||
	    !rd_u16(&ip, &id) || !rd_u16(&ip, &frag) || !rd_u8(&ip, &ttl) ||
	    !rd_u8(&ip, &proto) || !rd_u16(&ip, &csum) || !rd_bytes(&ip, 4, &src) ||
	    !rd_bytes(&ip, 4, &dst))
		return dec_malformed(why, "IPv4 header cut short");
	unsigned hlen = (vihl & 0x0f) * 4u;
	if (hlen < 20)
		return dec_malformed(why, "IPv4 header length under 20 bytes");
	if (total < hlen)
		return dec_malformed(why, "IPv4 total length shorter than its header");
	if (!rd_skip(r, hlen))
		return dec_malformed(why, "IPv4 options cut short");
	/* TSO-captured packets carry total length 0: trust the capture then. */
	uint32_t len = total ? total - hlen : (uint32_t)rd_left(r);
	if (total && out->l3_len > total)
		out->l3_len = total;
	if (frag & 0x3fff)            /* MF set or a non-zero offset */
		return CAP_FRAGMENT;
	/* Written at every level of a tunnel: the innermost header names the flow. */
	memset(out->src, 0, sizeof out->src);
	memset(out->dst, 0, sizeof out->dst);
	memcpy(out->src, src, 4);
	memcpy(out->dst, dst, 4);
	out->ipv = 4;
	return decode_l4(r, proto, len, depth, out, why);
}

static enum cap_decode_result decode_ipv6(struct reader *r, unsigned depth,
					  struct cap_pkt *out, const char **why)
{
	uint32_t vtcfl;
	uint16_t plen;
	uint8_t next, hops;
	const uint8_t *src, *dst;

	out->l3 = rd_ptr(r);
	out->l3_len = (uint32_t)rd_left(r);
	if (!rd_u32(r, &vtcfl) || !rd_u16(r, &plen) || !rd_u8(r, &next) ||
	    !rd_u8(r, &hops) || !rd_bytes(r, 16, &src) || !rd_bytes(r, 16, &dst))
		return dec_malformed(why, "IPv6 header cut short");
	memcpy(out->src, src, 16);
	memcpy(out->dst, dst, 16);
	out->ipv = 6;
	/* Jumbograms (payload length 0 with a hop-by-hop option) fall back to
	 * what was captured. */
	uint32_t len = plen ? plen : (uint32_t)rd_left(r);
	if (plen && out->l3_len > 40u + plen)
		out->l3_len = 40u + plen;
	for (unsigned i = 0; i < 16; i++) {
		uint8_t nh, elen;
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH: {
			if (!rd_peek_u8(r, 0, &nh) || !rd_peek_u8(r, 1, &elen))
				return dec_malformed(why, "IPv6 extension header cut short");
			size_t ext = next == IPPROTO_AH ? (elen + 2u) * 4u : (elen + 1u) * 8u;
			if (ext > len || !rd_skip(r, ext))
				return dec_malformed(why, "IPv6 extension header longer than the packet");
			len -= (uint32_t)ext;
			next = nh;
			continue;
		}
		case IPPROTO_FRAGMENT: {
			uint16_t offm;
			if (!rd_u8(r, &nh) || !rd_skip(r, 1) || !rd_u16(r, &offm) ||
			    !rd_skip(r, 4) || len < 8)
				return dec_malformed(why, "IPv6 fragment header cut short");
			len -= 8;
			/* An atomic fragment (offset 0, no M bit) is whole. */
			if ((offm & 0xfff9) != 0)
				return CAP_FRAGMENT;
			next = nh;
			continue;
		}
		case IPPROTO_NONE:
			return CAP_NOT_TCP;
		default:
			return decode_l4(r, next, len, depth, out, why);
		}
	}
	return dec_malformed(why, "IPv6 extension header chain too long");
}

enum cap_decode_result dec_ip(struct reader *r, unsigned depth, struct cap_pkt *out,
			      const char **why)
{
	uint8_t v;
	if (!rd_peek_u8(r, 0, &v))
		return dec_malformed(why, "IP header missing");
	switch (v >> 4) {
	case 4:
		return decode_ipv4(r, depth, out, why);
	case 6:
		return decode_ipv6(r, depth, out, why);
	default:
		return dec_malformed(why, "IP version is neither 4 nor 6");
	}
}

enum cap_decode_result cap_decode(int dlt, const struct cap_frame *fr,
				  struct cap_pkt *out, const char **why)
{
	struct reader r;
	uint16_t type;
	uint32_t family;

	*why = NULL;
	out->ts_us = fr->ts_us;
	out->frame = fr;
	out->encaps = 0;
	rd_init(&r, fr->data, fr->caplen);
	switch (dlt) {
	case DLT_EN10MB:
		return dec_ethernet(&r, 0, out, why);
	case DLT_LINUX_SLL:
		if (!rd_skip(&r, 14) || !rd_u16(&r, &type))
			return dec_malformed(why, "Linux cooked header cut short");
		return dec_ethertype(&r, type, 0, out, why);
	case DLT_LINUX_SLL2:
		if (!rd_u16(&r, &type) || !rd_skip(&r, 18))
			return dec_malformed(why, "Linux cooked v2 header cut short");
		return dec_ethertype(&r, type, 0, out, why);
	case DLT_NULL:
	case DLT_LOOP:
		/* DLT_NULL's family is in the writer's byte order, DLT_LOOP's
		 * in network order: accept either by value. */
		if (!rd_le(&r, 4, &family))
			return dec_malformed(why, "loopback header cut short");
		if (family > 0xffff)
			family = __builtin_bswap32(family);
		switch (family) {
		case 2:                   /* AF_INET everywhere */
			return dec_ip(&r, 0, out, why);
		case 10: case 24: case 28: case 30:   /* AF_INET6: Linux, BSDs, macOS */
			return dec_ip(&r, 0, out, why);
		default:
			return CAP_NOT_TCP;
		}
	case DLT_RAW:
	case 14:
	case DLT_IPV4:
	case DLT_IPV6:
		return dec_ip(&r, 0, out, why);
	default:
		return dec_malformed(why, "unsupported link type");
	}
}

enum cap_decode_result cap_decode_counted(struct cap_frame_counts *c, const struct cap_frame *fr,
					  struct cap_pkt *out, const char **why)
{
	c->packets++;
	c->bytes += fr->len;
	if (fr->caplen < fr->len)
		c->truncated++;
	enum cap_decode_result dr = cap_decode(fr->dlt, fr, out, why);
	cap_encap_count(&c->encaps, out->encaps);
	switch (dr) {
	case CAP_FRAGMENT:
		c->fragments++;
		break;
	case CAP_MALFORMED:
		c->malformed++;
		if (!c->first_malformed)
			c->first_malformed = *why;
		break;
	case CAP_TCP:
	case CAP_NOT_TCP:
		break;
	}
	return dr;
}

void cap_frame_counts_add(struct cap_frame_counts *sum, const struct cap_frame_counts *one)
{
	sum->packets += one->packets;
	sum->bytes += one->bytes;
	sum->truncated += one->truncated;
	sum->fragments += one->fragments;
	sum->malformed += one->malformed;
	if (!sum->first_malformed)
		sum->first_malformed = one->first_malformed;
	for (unsigned k = 0; k < CAP_ENCAP_COUNT; k++)
		sum->encaps.packets[k] += one->encaps.packets[k];
}
