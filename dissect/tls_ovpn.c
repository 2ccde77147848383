/*
 * tls_ovpn.c — TLS carried in OpenVPN's TCP control channel: the
 * recogniser of such a flow and the framing the records ride in.
 *
 * OpenVPN is not a preamble after which TLS runs on the stream: every TLS
 * byte travels inside an OpenVPN packet.  Over TCP a packet is a 2-byte
 * length and then
 *
 *   opcode (5 bits) | key_id (3 bits)
 *   session_id (8)                                 control and ACK packets
 *   [HMAC (16..64), packet_id (4), net_time (4)]   only with --tls-auth
 *   ack count (1), acked message ids (4 each), [remote session_id (8)]
 *   message packet-id (4)                          not in P_ACK_V1
 *   payload                                        P_CONTROL_V1: TLS bytes
 *
 * It is recognised like any preamble, by one entry of the recogniser table
 * whose answer comes from the client's first packets: a
 * P_CONTROL_HARD_RESET_CLIENT_V1/V2 (message id 0, nothing acked yet), then
 * a P_CONTROL_V1 whose payload starts like a ClientHello record.  The
 * entry names a carrier (TLS_CARRIER_OPENVPN): from byte 0 each direction
 * goes to the record layer through tls_ovpn_feed(), which frames the
 * packets, keeps the P_CONTROL_V1 payloads of key 0 in message-id order
 * (a repeated id is a retransmission and is dropped) and hands them on as
 * one TLS stream per direction — what tshark does when it reassembles the
 * TLS records from the P_CONTROL_V1 payloads.  ACKs, data packets and
 * later keys (renegotiation) carry no handshake of ours and are passed.
 *
 * --tls-auth is detected as tshark does: the byte after the session id is
 * the ack count without it, the first HMAC byte with it; an HMAC is assumed
 * when that byte is not 0 and at most one of the four bytes there is 0.
 * tshark then takes its configured HMAC size (20, SHA-1); we take the size
 * at which the first packet's replay packet_id reads 1, trying SHA-1's
 * first, so SHA-256 and others work too and SHA-1 agrees with tshark.  The
 * size is decided once per flow, from the client's first packet.
 * tls-crypt (P_CONTROL_HARD_RESET_CLIENT_V3, or a payload that is no TLS)
 * encrypts the control channel: nothing to read, the flow is not TLS.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dissect/tls_int.h"

enum {
	P_CONTROL_HARD_RESET_CLIENT_V1 = 1,
	P_CONTROL_HARD_RESET_SERVER_V1 = 2,
	P_CONTROL_SOFT_RESET_V1 = 3,
	P_CONTROL_V1 = 4,
	P_ACK_V1 = 5,
	P_DATA_V1 = 6,
	P_CONTROL_HARD_RESET_CLIENT_V2 = 7,
	P_CONTROL_HARD_RESET_SERVER_V2 = 8,
	P_DATA_V2 = 9,
	P_CONTROL_HARD_RESET_CLIENT_V3 = 10,
	P_CONTROL_WKC_V1 = 11,
};

#define OVPN_SESSION_ID_BYTES 8
/* A client's first packet: opcode, session id, ack count, message id
 * (14), with an HMAC of up to 64 bytes, its replay id and time, and room
 * for the early-negotiation TLVs of OpenVPN 2.6. */
#define OVPN_MIN_RESET_BYTES 14
#define OVPN_MAX_RESET_BYTES 1024

struct ovpn_pkt {
	uint8_t opcode, key_id;
	struct reader session_id;
	uint8_t n_acks;
	bool has_msg_id;
	uint32_t msg_id;
	struct reader payload;
};

/* tshark's test for an HMAC where the ack count would be. */
static bool ovpn_looks_like_hmac(struct reader r)
{
	uint8_t first, b;
	int zeros = 0;

	if (!rd_peek_u8(&r, 0, &first) || first == 0)
		return false;
	for (size_t i = 0; i < 4; i++) {
		if (!rd_peek_u8(&r, i, &b))
			return false;
		zeros += b == 0;
	}
	return zeros <= 1;
}

/* One packet (without its length) read with an HMAC of hmac_bytes. */
static bool ovpn_parse(struct reader pkt, unsigned hmac_bytes, struct ovpn_pkt *out)
{
	uint8_t op;

	if (!rd_u8(&pkt, &op))
		return false;
	out->opcode = op >> 3;
	out->key_id = op & 7;
	out->n_acks = 0;
	out->has_msg_id = false;
	rd_init(&out->payload, NULL, 0);
	if (out->opcode == P_DATA_V1 || out->opcode == P_DATA_V2) {
		out->payload = pkt;
		return true;
	}
	if (!rd_sub(&pkt, OVPN_SESSION_ID_BYTES, &out->session_id))
		return false;
	if (hmac_bytes && !rd_skip(&pkt, hmac_bytes + 4 + 4))
		return false;
	if (!rd_u8(&pkt, &out->n_acks) || !rd_skip(&pkt, 4u * out->n_acks) ||
	    (out->n_acks && !rd_skip(&pkt, OVPN_SESSION_ID_BYTES)))
		return false;
	if (out->opcode != P_ACK_V1) {
		if (!rd_u32(&pkt, &out->msg_id))
			return false;
		out->has_msg_id = true;
	}
	out->payload = pkt;
	return true;
}

/* The next whole packet of *stream (its body in *pkt); false: none whole. */
static bool ovpn_next_packet(struct reader *stream, struct reader *pkt)
{
	return rd_u16_prefixed(stream, pkt);
}

/* A client's first packet read with `hmac` bytes of HMAC: a hard reset
 * that acks nothing, message id 0 (and, with an HMAC, replay id 1). */
static bool ovpn_client_reset(struct reader pkt, unsigned hmac)
{
	struct ovpn_pkt p;
	uint32_t replay_id;

	if (!ovpn_parse(pkt, hmac, &p) || p.n_acks || p.msg_id)
		return false;
	if (!hmac)
		return true;
	rd_skip(&pkt, 1 + OVPN_SESSION_ID_BYTES + hmac);
	return rd_u32(&pkt, &replay_id) && replay_id == 1;
}

/* --tls-auth or not, and the HMAC size, from the client's first packet. */
static bool ovpn_hmac_bytes(struct reader pkt, uint8_t *hmac)
{
	static const uint8_t sizes[] = { 20, 32, 16, 64, 48, 28 };
	struct reader at = pkt;

	rd_skip(&at, 1 + OVPN_SESSION_ID_BYTES);
	if (!ovpn_looks_like_hmac(at)) {
		*hmac = 0;
		return ovpn_client_reset(pkt, 0);
	}
	for (size_t i = 0; i < sizeof(sizes); i++) {
		if (ovpn_client_reset(pkt, sizes[i])) {
			*hmac = sizes[i];
			return true;
		}
	}
	return false;
}

enum tls_match tls_ovpn_match(struct tls_held *h)
{
	struct reader stream = h->c, pkt;
	struct ovpn_pkt p;
	uint16_t len;
	uint8_t b0, op;

	/* The first packet's length and opcode, a byte at a time. */
	if (!rd_peek_u8(&stream, 0, &b0))
		return TLS_MATCH_NO;
	if (b0 > OVPN_MAX_RESET_BYTES >> 8)
		return TLS_MATCH_NO;
	if (!rd_u16(&stream, &len))
		return TLS_MATCH_MORE;
	if (len < OVPN_MIN_RESET_BYTES || len > OVPN_MAX_RESET_BYTES)
		return TLS_MATCH_NO;
	if (!rd_peek_u8(&stream, 0, &op))
		return TLS_MATCH_MORE;
	if ((op & 7) != 0)
		return TLS_MATCH_NO;
	if (op >> 3 == P_CONTROL_HARD_RESET_CLIENT_V3)
		return TLS_MATCH_NOT_TLS;       /* tls-crypt-v2: all encrypted */
	if (op >> 3 != P_CONTROL_HARD_RESET_CLIENT_V1 && op >> 3 != P_CONTROL_HARD_RESET_CLIENT_V2)
		return TLS_MATCH_NO;
	stream = h->c;
	if (!ovpn_next_packet(&stream, &pkt))
		return TLS_MATCH_MORE;
	if (!ovpn_hmac_bytes(pkt, &h->st->ovpn_hmac_bytes))
		return TLS_MATCH_NO;
	/* Then the client's first TLS bytes: P_CONTROL_V1 of key 0. */
	while (ovpn_next_packet(&stream, &pkt)) {
		if (!ovpn_parse(pkt, h->st->ovpn_hmac_bytes, &p))
			return TLS_MATCH_NOT_TLS;
		if (p.opcode != P_CONTROL_V1 || p.key_id != 0)
			continue;
		/* The packet is whole, so a hello cut short is none: the
		 * control channel is encrypted (tls-crypt), or not OpenVPN's. */
		return tls_sig_client(p.payload) == TLS_MATCH_YES ? TLS_MATCH_YES
								  : TLS_MATCH_NOT_TLS;
	}
	return TLS_MATCH_MORE;
}

void tls_ovpn_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = 0;
	from[TLS_FROM_SERVER] = 0;
}

/* ------------------------------------------------------------------ */
/* The carrier                                                         */

bool tls_ovpn_start(struct tls_side *sd)
{
	if (!(sd->ovpn = calloc(1, sizeof(*sd->ovpn))))
		return false;
	buf_init(&sd->ovpn->pkt, TLS_OVPN_MAX_PACKET_BYTES);
	sd->carrier = TLS_CARRIER_OPENVPN;
	return true;
}

void tls_ovpn_release(struct tls_side *sd)
{
	if (!sd->ovpn)
		return;
	buf_free(&sd->ovpn->pkt);
	free(sd->ovpn);
	sd->ovpn = NULL;
}

/* A whole packet of one direction. */
static void ovpn_packet(struct tls_conn *c, int dir, struct reader pkt, uint64_t ts)
{
	struct tls_ovpn *o = c->side[dir].ovpn;
	struct ovpn_pkt p;

	if (!ovpn_parse(pkt, c->pre.ovpn_hmac_bytes, &p)) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s sent an OpenVPN packet whose fields overrun it", tls_dir_name(dir));
		tls_malformed(c, c->reason_buf);
		return;
	}
	switch (p.opcode) {
	case P_CONTROL_HARD_RESET_CLIENT_V1:
	case P_CONTROL_HARD_RESET_SERVER_V1:
	case P_CONTROL_HARD_RESET_CLIENT_V2:
	case P_CONTROL_HARD_RESET_SERVER_V2:
	case P_CONTROL_V1:
		break;
	case P_CONTROL_SOFT_RESET_V1:
	case P_ACK_V1:
	case P_DATA_V1:
	case P_DATA_V2:
	case P_CONTROL_WKC_V1:
		return;                 /* no TLS of the first key in these */
	default:
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s sent bytes that are not an OpenVPN packet (opcode %u)",
			 tls_dir_name(dir), p.opcode);
		tls_malformed(c, c->reason_buf);
		return;
	}
	if (p.key_id != 0)
		return;                 /* a renegotiation: the first handshake is ours */
	if (p.msg_id < o->next_msg_id)
		return;                 /* sent again: the first copy counted */
	if (p.msg_id > o->next_msg_id) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "the %s's OpenVPN control message %u is missing (%u came next)",
			 tls_dir_name(dir), o->next_msg_id, p.msg_id);
		tls_cut_certificate(c, dir);
		tls_finish(c, TLS_ST_TRUNCATED, c->reason_buf);
		return;
	}
	o->next_msg_id++;
	if (p.opcode == P_CONTROL_V1 && rd_left(&p.payload))
		tls_records(c, dir, rd_ptr(&p.payload), rd_left(&p.payload), ts);
}

void tls_ovpn_feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct tls_ovpn *o = sd->ovpn;
	struct reader in, unit;

	if (!o)
		return;                 /* released: the dissection is over */
	rd_init(&in, p, n);
	while (rd_left(&in) && !c->finished && sd->mode == TLS_SIDE_RECORDS) {
		if (!o->pkt_len) {
			uint16_t len = 0;

			if (tls_take(&in, 2, o->len_bytes, &o->len_have, &unit))
				return;
			rd_u16(&unit, &len);
			if (len == 0)
				continue;
			o->pkt_len = len;
			o->pkt_have = 0;
			o->pkt_store = NULL;
		}
		if (!o->pkt_store && !tls_take_in_place(&in, o->pkt_len, o->pkt_have)) {
			buf_reset(&o->pkt);
			if (!(o->pkt_store = buf_reserve(&o->pkt, o->pkt_len))) {
				tls_malformed(c, "out of memory buffering an OpenVPN packet");
				return;
			}
		}
		if (tls_take(&in, o->pkt_len, o->pkt_store, &o->pkt_have, &unit))
			return;
		o->pkt_len = 0;
		o->pkt_store = NULL;
		ovpn_packet(c, dir, unit, ts);
	}
}
