/*
 * tls_rdp.c — the recogniser of RDP, whose TLS starts after the X.224
 * connection exchange, on any port: one entry of the recogniser table
 * (tls_preamble.c), its match and skip here beside what they read.
 *
 * MS-RDPBCGR 2.2.1.1-2: a TPKT (RFC 1006: version 3, reserved, length of
 * the whole) around an X.224 Connection Request (TPDU code 0xE0, LI the
 * header's length after itself: the TPKT's less 5), then DST-REF, SRC-REF
 * and class, then optionally a "Cookie: mstshash=..." line or a routing
 * token line (both end in CR LF), an RDP_NEG_REQ (type 1, length 8) and an
 * RDP_CORRELATION_INFO.  The server's Connection Confirm (0xD0) carries
 * RDP_NEG_RSP (type 2) with the protocol it selected: every one but
 * PROTOCOL_RDP (0) — SSL, HYBRID (CredSSP), RDSTLS, HYBRID_EX — starts with
 * a TLS handshake right after the two TPKTs (MS-RDPBCGR 5.4.5).
 * RDP_NEG_FAILURE (type 3), a selection of 0 or no RDP_NEG_RSP at all is
 * standard RDP security: no TLS.
 *
 * Every byte is read through lib/reader.h; nothing here is kept between
 * feeds: both TPKTs are read again from the held bytes each time.
 */
#include "dissect/tls_int.h"

#define TPKT_VERSION                 3
#define X224_CONNECTION_REQUEST      0xe0
#define X224_CONNECTION_CONFIRM      0xd0
#define RDP_TYPE_NEG_REQ             0x01
#define RDP_TYPE_NEG_RSP             0x02
#define RDP_PROTOCOL_RDP             0x00000000

/* A TPKT holding an X.224 TPDU of `code`: YES with *x224 the TPDU after its
 * code byte and *len the TPKT's length. */
static enum tls_match rdp_tpkt(struct reader r, uint8_t code, struct reader *x224, uint16_t *len)
{
	struct reader all = r, tpkt;
	uint8_t version, reserved, li, tpdu;

	if (!rd_u8(&r, &version))
		return TLS_MATCH_MORE;
	if (version != TPKT_VERSION)
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &reserved))
		return TLS_MATCH_MORE;
	if (reserved != 0)
		return TLS_MATCH_NO;
	if (!rd_u16(&r, len))
		return TLS_MATCH_MORE;
	if (*len < 4 + 7)               /* TPKT header, then LI, code, refs, class */
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &li))
		return TLS_MATCH_MORE;
	if (li != *len - 5)
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &tpdu))
		return TLS_MATCH_MORE;
	if ((tpdu & 0xf0) != code)
		return TLS_MATCH_NO;
	if (!rd_sub(&all, *len, &tpkt))
		return TLS_MATCH_MORE;
	rd_skip(&tpkt, 4 + 2);
	*x224 = tpkt;
	return TLS_MATCH_YES;
}

/* The request's variable part: [cookie or routing token line] [RDP_NEG_REQ]. */
static bool rdp_request_ok(struct reader x224)
{
	size_t at;
	uint8_t type;

	if (!rd_skip(&x224, 5))         /* DST-REF, SRC-REF, class */
		return false;
	if (rd_starts_with(&x224, "Cookie: ", 8)) {
		uint8_t cr;

		if (!rd_find(&x224, '\n', &at) || at == 0 || !rd_peek_u8(&x224, at - 1, &cr) ||
		    cr != '\r')
			return false;
		rd_skip(&x224, at + 1);
	}
	return !rd_peek_u8(&x224, 0, &type) || type == RDP_TYPE_NEG_REQ;
}

enum tls_match tls_rdp_match(struct tls_held *h)
{
	struct reader x224, neg;
	uint16_t len;
	uint32_t selected;
	uint8_t type;
	enum tls_match m;

	if ((m = rdp_tpkt(h->c, X224_CONNECTION_REQUEST, &x224, &len)) != TLS_MATCH_YES)
		return m;
	if (!rdp_request_ok(x224))
		return TLS_MATCH_NO;
	if (!rd_left(&h->s))
		return TLS_MATCH_MORE;
	switch (rdp_tpkt(h->s, X224_CONNECTION_CONFIRM, &x224, &len)) {
	case TLS_MATCH_MORE:
		return TLS_MATCH_MORE;
	case TLS_MATCH_YES:
		break;
	default:
		return TLS_MATCH_NOT_TLS;       /* not an RDP server's answer */
	}
	/* DST-REF, SRC-REF, class; then type, flags, length (LE), protocol (LE). */
	if (!rd_skip(&x224, 5) || !rd_u8(&x224, &type) || type != RDP_TYPE_NEG_RSP ||
	    !rd_skip(&x224, 1 + 2) || !rd_sub(&x224, 4, &neg) || !rd_le(&neg, 4, &selected))
		return TLS_MATCH_NOT_TLS;
	return selected != RDP_PROTOCOL_RDP ? TLS_MATCH_YES : TLS_MATCH_NOT_TLS;
}

void tls_rdp_skip(const struct tls_held *h, uint32_t from[2])
{
	struct reader x224;
	uint16_t len = 0;

	rdp_tpkt(h->c, X224_CONNECTION_REQUEST, &x224, &len);
	from[TLS_FROM_CLIENT] = len;
	rdp_tpkt(h->s, X224_CONNECTION_CONFIRM, &x224, &len);
	from[TLS_FROM_SERVER] = len;
}

