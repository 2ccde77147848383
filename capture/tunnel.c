/*
 * tunnel.c — the ways one packet travels inside another to reach a capture
 * box: GRE (with IP, PPP or a whole Ethernet frame inside), ERSPAN types I, II
 * and III (a switch's remote SPAN of an FE server's port), VXLAN (AWS VPC
 * Traffic Mirroring, Azure virtual network TAP), Geneve (AWS Gateway Load
 * Balancer) and GTP-U (mobile core).  Each decoder checks its header, notes
 * the kind in cap_pkt.encaps and hands the inner frame back to decode.c, so
 * tunnels nest in any order; the flow is keyed by the innermost 5-tuple.
 *
 * Two decisions worth knowing:
 * - UDP tunnels are recognised by their IANA destination port (4789, 6081,
 *   2152) and then by their header: a datagram to such a port whose header
 *   is not the tunnel's (wrong version, VXLAN without its I flag, a GTP
 *   message that is not a G-PDU) is "not TCP", not malformed, because other
 *   software uses those ports too.  A header that is the tunnel's but lies or
 *   is cut short is malformed, with a reason.
 * - Nesting is capped at DEC_MAX_TUNNEL_DEPTH (8) tunnels: real mirror set-ups
 *   nest two or three (ERSPAN of a VXLAN underlay); past eight the packet is
 *   malformed, so a crafted packet cannot make the decoder recurse at will.
 */
#include "capture/decode.h"

enum {
	/* GRE flags and version (RFC 2784, RFC 2890; RFC 2637 for version 1). */
	GRE_CHECKSUM = 0x8000, GRE_ROUTING = 0x4000, GRE_KEY = 0x2000, GRE_SEQ = 0x1000,
	GRE_ACK = 0x0080, GRE_VERSION = 0x0007,
	ERSPAN_II_VERSION = 1, ERSPAN_III_VERSION = 2,
	ERSPAN_III_FT_ETHERNET = 0, ERSPAN_III_FT_IP = 2,
	ERSPAN_III_PLATFORM_SUBHEADER_BYTES = 8,
	UDP_PORT_VXLAN = 4789, UDP_PORT_GENEVE = 6081, UDP_PORT_GTP_U = 2152,
	VXLAN_FLAG_I = 0x08,      /* the VNI is valid: set in every VXLAN packet */
	GTP_VERSION_1 = 1, GTP_FLAG_PT = 0x10, GTP_FLAG_E = 0x04, GTP_FLAGS_OPTIONAL = 0x07,
	GTP_MSG_G_PDU = 0xff, GTP_MAX_EXTENSIONS = 16,
};

static enum cap_decode_result too_deep(unsigned depth, const char **why)
{
	if (depth < DEC_MAX_TUNNEL_DEPTH)
		return CAP_TCP;
	return dec_malformed(why, "tunnels nested deeper than 8 levels");
}

/* ERSPAN type II (draft-foschiano-erspan-03, 4.1): Ver(4)=1 VLAN(12),
 * COS(3) En(2) T(1) Session ID(10), Reserved(12) Index(20); then the
 * mirrored Ethernet frame. */
static enum cap_decode_result erspan_ii(struct reader *r, unsigned depth, struct cap_pkt *out,
					const char **why)
{
	uint16_t ver_vlan;
	if (!rd_u16(r, &ver_vlan) || !rd_skip(r, 6))
		return dec_malformed(why, "ERSPAN type II header cut short");
	if (ver_vlan >> 12 != ERSPAN_II_VERSION)
		return dec_malformed(why, "ERSPAN type II header with another version");
	out->encaps |= 1u << CAP_ENCAP_ERSPAN_II;
	return dec_ethernet(r, depth + 1, out, why);
}

/* ERSPAN type III (draft-foschiano-erspan-03, 4.2): Ver(4)=2 VLAN(12),
 * COS(3) BSO(2) T(1) Session ID(10), Timestamp(32), SGT(16),
 * P(1) FT(5) HW ID(6) D(1) Gra(2) O(1); with O an 8-byte platform-specific
 * subheader follows.  FT says whether an Ethernet frame or an IP packet. */
static enum cap_decode_result erspan_iii(struct reader *r, unsigned depth, struct cap_pkt *out,
					 const char **why)
{
	uint16_t ver_vlan, last;
	if (!rd_u16(r, &ver_vlan) || !rd_skip(r, 8) || !rd_u16(r, &last))
		return dec_malformed(why, "ERSPAN type III header cut short");
	if (ver_vlan >> 12 != ERSPAN_III_VERSION)
		return dec_malformed(why, "ERSPAN type III header with another version");
	if ((last & 1) && !rd_skip(r, ERSPAN_III_PLATFORM_SUBHEADER_BYTES))
		return dec_malformed(why, "ERSPAN type III platform subheader cut short");
	out->encaps |= 1u << CAP_ENCAP_ERSPAN_III;
	switch ((last >> 10) & 0x1f) {
	case ERSPAN_III_FT_ETHERNET:
		return dec_ethernet(r, depth + 1, out, why);
	case ERSPAN_III_FT_IP:
		return dec_ip(r, depth + 1, out, why);
	default:
		return CAP_NOT_TCP;
	}
}

/* PPTP's enhanced GRE (RFC 2637 4.1): key (payload length, call id) always,
 * sequence and acknowledgement numbers when flagged, PPP inside. */
static enum cap_decode_result gre_v1(struct reader *r, uint16_t flags, uint16_t proto,
				     unsigned depth, struct cap_pkt *out, const char **why)
{
	if (proto != ETH_PPP || !(flags & GRE_KEY) || (flags & (GRE_CHECKSUM | GRE_ROUTING)))
		return CAP_NOT_TCP;
	size_t extra = 4 + ((flags & GRE_SEQ) ? 4 : 0) + ((flags & GRE_ACK) ? 4 : 0);
	if (!rd_skip(r, extra))
		return dec_malformed(why, "PPTP GRE header cut short");
	out->encaps |= 1u << CAP_ENCAP_GRE;
	if (!rd_left(r))
		return CAP_NOT_TCP;       /* an acknowledgement alone */
	return dec_ppp(r, depth + 1, out, why);
}

enum cap_decode_result dec_gre(struct reader *r, unsigned depth, struct cap_pkt *out,
			       const char **why)
{
	enum cap_decode_result deep = too_deep(depth, why);
	uint16_t flags, proto;

	if (deep != CAP_TCP)
		return deep;
	if (!rd_u16(r, &flags) || !rd_u16(r, &proto))
		return dec_malformed(why, "GRE header cut short");
	if ((flags & GRE_VERSION) == 1)
		return gre_v1(r, flags, proto, depth, out, why);
	/* Other versions are undefined; RFC 1701 source routing is obsolete
	 * and its variable-length routing list is never seen in practice. */
	if ((flags & GRE_VERSION) || (flags & GRE_ROUTING))
		return CAP_NOT_TCP;
	size_t extra = ((flags & GRE_CHECKSUM) ? 4 : 0) + ((flags & GRE_KEY) ? 4 : 0) +
		       ((flags & GRE_SEQ) ? 4 : 0);
	if (!rd_skip(r, extra))
		return dec_malformed(why, "GRE header cut short");
	switch (proto) {
	case ETH_ERSPAN_I_II:
		/* Type I has no ERSPAN header and no sequence number; type II
		 * always sets the sequence number bit. */
		if (!(flags & GRE_SEQ)) {
			out->encaps |= 1u << CAP_ENCAP_ERSPAN_I;
			return dec_ethernet(r, depth + 1, out, why);
		}
		return erspan_ii(r, depth, out, why);
	case ETH_ERSPAN_III:
		return erspan_iii(r, depth, out, why);
	case ETH_TEB:
		out->encaps |= 1u << CAP_ENCAP_GRE;
		return dec_ethernet(r, depth + 1, out, why);
	case ETH_PPP:
		out->encaps |= 1u << CAP_ENCAP_GRE;
		return dec_ppp(r, depth + 1, out, why);
	default:
		out->encaps |= 1u << CAP_ENCAP_GRE;
		return dec_ethertype(r, proto, depth + 1, out, why);
	}
}

/* VXLAN (RFC 7348 5): flags(8) with I set, reserved(24), VNI(24),
 * reserved(8); an Ethernet frame follows. */
static enum cap_decode_result vxlan(struct reader *r, unsigned depth, struct cap_pkt *out,
				    const char **why)
{
	uint8_t flags;
	if (!rd_u8(r, &flags) || !rd_skip(r, 7))
		return dec_malformed(why, "VXLAN header cut short");
	if (!(flags & VXLAN_FLAG_I))
		return CAP_NOT_TCP;
	out->encaps |= 1u << CAP_ENCAP_VXLAN;
	return dec_ethernet(r, depth + 1, out, why);
}

/* Geneve (RFC 8926 3.4): Ver(2)=0 Opt Len(6, in 4-byte words), O C
 * Rsvd(6), Protocol Type(16), VNI(24), Reserved(8), options; then the inner
 * packet by its protocol type (0x6558 an Ethernet frame, else an ethertype). */
static enum cap_decode_result geneve(struct reader *r, unsigned depth, struct cap_pkt *out,
				     const char **why)
{
	uint8_t ver_optlen, flags;
	uint16_t proto;
	if (!rd_u8(r, &ver_optlen) || !rd_u8(r, &flags) || !rd_u16(r, &proto) || !rd_skip(r, 4))
		return dec_malformed(why, "Geneve header cut short");
	if (ver_optlen >> 6 != 0)
		return CAP_NOT_TCP;
	if (!rd_skip(r, (ver_optlen & 0x3fu) * 4u))
		return dec_malformed(why, "Geneve options cut short");
	out->encaps |= 1u << CAP_ENCAP_GENEVE;
	if (proto == ETH_TEB)
		return dec_ethernet(r, depth + 1, out, why);
	return dec_ethertype(r, proto, depth + 1, out, why);
}

/* GTP-U (3GPP TS 29.281 5.1): flags (version 1, PT 1, E S PN), message type,
 * length of what follows the first 8 bytes, TEID; with any of E S PN a
 * sequence number, an N-PDU number and a next-extension type; then extension
 * headers (length in 4-byte units, content, next type) while E says so.  A
 * G-PDU carries an IPv4 or IPv6 packet. */
static enum cap_decode_result gtp_u(struct reader *r, unsigned depth, struct cap_pkt *out,
				    const char **why)
{
	uint8_t flags, type, next = 0;
	uint16_t len;
	struct reader pdu;
	if (!rd_u8(r, &flags) || !rd_u8(r, &type) || !rd_u16(r, &len) || !rd_skip(r, 4))
		return dec_malformed(why, "GTP-U header cut short");
	if (flags >> 5 != GTP_VERSION_1 || !(flags & GTP_FLAG_PT))
		return CAP_NOT_TCP;       /* GTP' or GTPv2-C on the port */
	out->encaps |= 1u << CAP_ENCAP_GTP_U;
	if (type != GTP_MSG_G_PDU)
		return CAP_NOT_TCP;       /* echo, error indication, end marker */
	/* The length is the truth; the capture may hold less (snaplen). */
	pdu = *r;
	if (rd_left(&pdu) > len)
		pdu.len = len;
	if (flags & GTP_FLAGS_OPTIONAL) {
		if (!rd_skip(&pdu, 3) || !rd_u8(&pdu, &next))
			return dec_malformed(why, "GTP-U optional fields cut short");
		if (!(flags & GTP_FLAG_E))
			next = 0;         /* only meaningful with E */
	}
	for (unsigned i = 0; next; i++) {
		uint8_t units;
		if (i == GTP_MAX_EXTENSIONS)
			return dec_malformed(why, "GTP-U extension header chain too long");
		if (!rd_u8(&pdu, &units) || units == 0 || !rd_skip(&pdu, units * 4u - 2u) ||
		    !rd_u8(&pdu, &next))
			return dec_malformed(why, "GTP-U extension header cut short or empty");
	}
	uint8_t v;
	if (!rd_peek_u8(&pdu, 0, &v) || (v >> 4 != 4 && v >> 4 != 6))
		return CAP_NOT_TCP;       /* an empty or non-IP PDU */
	return dec_ip(&pdu, depth + 1, out, why);
}

enum cap_decode_result dec_udp(struct reader *r, uint32_t len, unsigned depth,
			       struct cap_pkt *out, const char **why)
{
	uint16_t sport, dport, ulen, csum;
	/* A UDP header we cannot read is not ours to judge: plain UDP is
	 * skipped whatever state it is in. */
	if (!rd_u16(r, &sport) || !rd_u16(r, &dport) || !rd_u16(r, &ulen) || !rd_u16(r, &csum))
		return CAP_NOT_TCP;
	if (dport != UDP_PORT_VXLAN && dport != UDP_PORT_GENEVE && dport != UDP_PORT_GTP_U)
		return CAP_NOT_TCP;
	enum cap_decode_result deep = too_deep(depth, why);
	if (deep != CAP_TCP)
		return deep;
	if (ulen < 8 || ulen > len)
		return dec_malformed(why, "UDP length outside the IP payload");
	if (rd_left(r) > ulen - 8u)
		r->len = ulen - 8u;
	switch (dport) {
	case UDP_PORT_VXLAN:
		return vxlan(r, depth, out, why);
	case UDP_PORT_GENEVE:
		return geneve(r, depth, out, why);
	default:
		return gtp_u(r, depth, out, why);
	}
}
