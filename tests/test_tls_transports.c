/*
 * test_tls_transports.c — TLS that does not start at byte 0 of the stream,
 * on input built in memory around real OpenSSL handshakes:
 *
 *  - RDP: the X.224 Connection Request/Confirm exchange (TPKT), with and
 *    without a cookie or routing token, selecting SSL, HYBRID, RDSTLS or
 *    HYBRID_EX; refused for standard RDP security and negotiation failure;
 *  - OpenVPN: the records carried in P_CONTROL_V1 packets of the TCP
 *    control channel, without and with tls-auth HMACs of several sizes,
 *    with ACKs, retransmissions and packets cut anywhere; tls-crypt and a
 *    lost control message.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dissect/tls_int.h"
#include "tests/tls_fixture.h"

static const struct { size_t chunk; unsigned seed; } splits[] = {
	{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 7, 0 }, { 100, 0 },
	{ 16, 1 }, { 64, 2 }, { 300, 3 }, { 1500, 4 },
};
#define N_SPLITS (sizeof(splits) / sizeof(splits[0]))

static struct tlsfx_pki *pki;

static void pki_setup(void)
{
	pki = tlsfx_pki_new();
	cr_assert_not_null(pki, "fixture PKI");
}

static void pki_teardown(void)
{
	tlsfx_pki_free(pki);
	pki = NULL;
}

/* A TLS 1.2 handshake whose server sends leaf, intermediate and root. */
static void make_handshake(struct tlsfx_transcript *t)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .send_chain = true,
	};
	struct tlsfx_pair pair;

	cr_assert(tlsfx_pair_init(&pair, pki, &o), "contexts");
	cr_assert(tlsfx_handshake(&pair, &o, NULL, t), "handshake ran");
	tlsfx_pair_free(&pair);
}

static void assert_chain_of_three(const struct tls_session *s)
{
	X509 *want[3] = { pki->leaf, pki->inter, pki->root };

	cr_assert_eq(s->server_chain.n, 3, "chain of %u", s->server_chain.n);
	for (int i = 0; i < 3; i++) {
		uint8_t *der;
		int n = tlsfx_der(want[i], &der);

		cr_assert_eq(s->server_chain.certs[i].len, (uint32_t)n);
		cr_assert(memcmp(s->server_chain.certs[i].data, der, (size_t)n) == 0);
		OPENSSL_free(der);
	}
}

/* Replays t in every split: each must end with `verdict` and the same
 * status, preamble and chain.  Returns the first conn. */
static struct tls_conn *replay(const struct tlsfx_transcript *t, enum tls_verdict verdict)
{
	struct tls_conn *first = NULL;

	for (size_t i = 0; i < N_SPLITS; i++) {
		struct tls_conn *c = tls_conn_new();
		enum tls_verdict v = tlsfx_replay(c, t, splits[i].chunk, splits[i].seed, 1000);
		const struct tls_session *s = tls_session(c);

		cr_assert_eq(v, verdict, "split %zu/%u: verdict %d, expected %d (%s)",
			     splits[i].chunk, splits[i].seed, v, verdict, s->reason ? s->reason : "-");
		if (!first) {
			first = c;
			continue;
		}
		cr_assert_eq(s->status, tls_session(first)->status);
		cr_assert_eq(s->preamble, tls_session(first)->preamble);
		cr_assert_eq(s->server_chain.n, tls_session(first)->server_chain.n);
		for (unsigned k = 0; k < s->server_chain.n; k++)
			cr_assert(s->server_chain.certs[k].len ==
				  tls_session(first)->server_chain.certs[k].len &&
				  !memcmp(s->server_chain.certs[k].data,
					  tls_session(first)->server_chain.certs[k].data,
					  s->server_chain.certs[k].len));
		tls_conn_free(c);
	}
	return first;
}

/* ------------------------------------------------------------------ */
/* RDP                                                                 */

struct bytes {
	uint8_t b[4096];
	size_t n;
};

static void put(struct bytes *x, const void *p, size_t n)
{
	if (n)
		memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void put8(struct bytes *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void put16(struct bytes *x, unsigned v) { put8(x, v >> 8); put8(x, v); }
static void put16le(struct bytes *x, unsigned v) { put8(x, v); put8(x, v >> 8); }
static void put32(struct bytes *x, uint32_t v) { put16(x, v >> 16); put16(x, v & 0xffff); }
static void put32le(struct bytes *x, uint32_t v) { put16le(x, v & 0xffff); put16le(x, v >> 16); }

/* TPKT + X.224 TPDU of `code` around `var` (the variable part). */
static void rdp_tpdu(struct bytes *out, uint8_t code, const struct bytes *var)
{
	size_t len = 4 + 7 + var->n;

	put8(out, 3);
	put8(out, 0);
	put16(out, (unsigned)len);
	put8(out, (uint8_t)(len - 5));          /* LI */
	put8(out, code);
	put16(out, 0);                          /* DST-REF */
	put16(out, code == 0xd0 ? 0x1234 : 0);  /* SRC-REF */
	put8(out, 0);                           /* class 0 */
	put(out, var->b, var->n);
}

/* A Connection Request: optional token line, then RDP_NEG_REQ. */
static void rdp_request(struct bytes *out, const char *token, uint32_t protocols)
{
	struct bytes var = { .n = 0 };

	if (token)
		put(&var, token, strlen(token));
	put8(&var, 0x01);                       /* TYPE_RDP_NEG_REQ */
	put8(&var, 0);
	put16le(&var, 8);
	put32le(&var, protocols);
	rdp_tpdu(out, 0xe0, &var);
}

/* A Connection Confirm: RDP_NEG_RSP (type 2) or FAILURE (3), or nothing. */
static void rdp_confirm(struct bytes *out, int type, uint32_t value)
{
	struct bytes var = { .n = 0 };

	if (type) {
		put8(&var, (uint8_t)type);
		put8(&var, 0x1f);
		put16le(&var, 8);
		put32le(&var, value);
	}
	rdp_tpdu(out, 0xd0, &var);
}

#define PROTOCOL_SSL       0x1
#define PROTOCOL_HYBRID    0x2
#define PROTOCOL_RDSTLS    0x4
#define PROTOCOL_HYBRID_EX 0x8

static void rdp_case(const char *token, uint32_t requested, uint32_t selected)
{
	struct tlsfx_transcript t;
	struct bytes cr = { .n = 0 }, cc = { .n = 0 };
	struct tls_conn *c;

	rdp_request(&cr, token, requested);
	rdp_confirm(&cc, 2, selected);
	tlsfx_transcript_init(&t);
	tlsfx_add(&t, TLS_FROM_CLIENT, cr.b, cr.n);
	tlsfx_add(&t, TLS_FROM_SERVER, cc.b, cc.n);
	make_handshake(&t);
	c = replay(&t, TLS_DONE);
	cr_assert(tls_is_tls(c));
	cr_assert_str_eq(tls_session(c)->preamble, "RDP");
	cr_assert_eq(tls_session(c)->status, TLS_ST_COMPLETE);
	assert_chain_of_three(tls_session(c));
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

TestSuite(rdp, .init = pki_setup, .fini = pki_teardown);

Test(rdp, mstshash_cookie_selecting_ssl)
{
	rdp_case("Cookie: mstshash=AWAKECODI\r\n", PROTOCOL_SSL | PROTOCOL_HYBRID, PROTOCOL_SSL);
}

Test(rdp, no_cookie_selecting_hybrid)
{
	rdp_case(NULL, PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX, PROTOCOL_HYBRID);
}

Test(rdp, routing_token_selecting_hybrid_ex)
{
	rdp_case("Cookie: msts=3640205228.15629.0000\r\n", 0xb, PROTOCOL_HYBRID_EX);
}

Test(rdp, rdstls_is_tls_too)
{
	rdp_case("Cookie: mstshash=user\r\n", PROTOCOL_RDSTLS | PROTOCOL_SSL, PROTOCOL_RDSTLS);
}

/* The one RDP entry of the recogniser table, asked directly. */
static enum tls_match rdp_ask(const struct bytes *cr, const struct bytes *cc, uint32_t from[2])
{
	const struct tls_recogniser *r = NULL;
	struct tls_preamble_state st = { .cmd = TLS_CMD_NONE };
	struct tls_held h;
	enum tls_match m;

	for (size_t i = 0; i < tls_n_recognisers; i++)
		if (!strcmp(tls_recognisers[i].name, "RDP"))
			r = &tls_recognisers[i];
	cr_assert_not_null(r);
	rd_init(&h.c, cr->b, cr->n);
	rd_init(&h.s, cc ? cc->b : NULL, cc ? cc->n : 0);
	h.c_text = tls_text_len(h.c);
	h.st = &st;
	h.cmd_scan = TLS_PRE_UNSCANNED;
	m = r->match(&h);
	if (m == TLS_MATCH_YES)
		r->skip(&h, from);
	return m;
}

Test(rdp, recogniser_matched_refused_and_waiting)
{
	struct bytes cr = { .n = 0 }, cc = { .n = 0 }, part = { .n = 0 }, other = { .n = 0 };
	uint32_t from[2] = { 0, 0 };

	rdp_request(&cr, "Cookie: mstshash=x\r\n", PROTOCOL_SSL);
	/* Waiting: the request a byte at a time, then no answer yet. */
	for (size_t k = 1; k < cr.n; k++) {
		part.n = 0;
		put(&part, cr.b, k);
		cr_assert_eq(rdp_ask(&part, NULL, from), TLS_MATCH_MORE, "%zu bytes", k);
	}
	cr_assert_eq(rdp_ask(&cr, NULL, from), TLS_MATCH_MORE);
	rdp_confirm(&cc, 2, PROTOCOL_SSL);
	part.n = 0;
	put(&part, cc.b, cc.n - 1);
	cr_assert_eq(rdp_ask(&cr, &part, from), TLS_MATCH_MORE);
	cr_assert_eq(rdp_ask(&cr, &cc, from), TLS_MATCH_YES);
	cr_assert_eq(from[TLS_FROM_CLIENT], cr.n);
	cr_assert_eq(from[TLS_FROM_SERVER], cc.n);

	/* Refused: standard RDP security, negotiation failure, no RDP_NEG_RSP. */
	cc.n = 0;
	rdp_confirm(&cc, 2, 0);
	cr_assert_eq(rdp_ask(&cr, &cc, from), TLS_MATCH_NOT_TLS);
	cc.n = 0;
	rdp_confirm(&cc, 3, 5);                 /* SSL_NOT_ALLOWED_BY_SERVER */
	cr_assert_eq(rdp_ask(&cr, &cc, from), TLS_MATCH_NOT_TLS);
	cc.n = 0;
	rdp_confirm(&cc, 0, 0);
	cr_assert_eq(rdp_ask(&cr, &cc, from), TLS_MATCH_NOT_TLS);

	/* Not RDP: another TPKT payload, a bad LI, a token without its CR LF. */
	other.n = 0;
	put(&other, cr.b, cr.n);
	other.b[5] = 0xf0;                      /* DT, not CR */
	cr_assert_eq(rdp_ask(&other, NULL, from), TLS_MATCH_NO);
	other.b[5] = 0xe0;
	other.b[4] = 7;
	cr_assert_eq(rdp_ask(&other, NULL, from), TLS_MATCH_NO);
	other.n = 0;
	rdp_request(&other, "Cookie: mstshash=x", PROTOCOL_SSL);
	cr_assert_eq(rdp_ask(&other, NULL, from), TLS_MATCH_NO);
	other.n = 0;
	put(&other, "\x03\x01", 2);             /* TPKT reserved byte not 0 */
	cr_assert_eq(rdp_ask(&other, NULL, from), TLS_MATCH_NO);
}

Test(rdp, standard_rdp_security_is_dropped_at_the_confirm)
{
	struct bytes cr = { .n = 0 }, cc = { .n = 0 };
	struct tls_conn *c = tls_conn_new();

	rdp_request(&cr, NULL, PROTOCOL_SSL);
	rdp_confirm(&cc, 2, 0);
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, cr.b, cr.n, 1), TLS_CONTINUE);
	cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, cc.b, cc.n, 2), TLS_NOT_TLS);
	cr_assert(!tls_is_tls(c));
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* OpenVPN                                                             */

enum {
	P_CONTROL_HARD_RESET_CLIENT_V2 = 7, P_CONTROL_HARD_RESET_SERVER_V2 = 8,
	P_CONTROL_V1 = 4, P_ACK_V1 = 5, P_DATA_V2 = 9, P_CONTROL_HARD_RESET_CLIENT_V3 = 10,
};

struct ovpn_side {
	uint8_t sid[8];
	uint32_t next_id;               /* message packet-id */
	uint32_t replay_id;             /* tls-auth packet_id */
	uint32_t to_ack;                /* the peer's ids not yet acked */
	uint32_t acks[8];
};

struct ovpn_flow {
	unsigned hmac;                  /* 0: no tls-auth */
	struct ovpn_side side[2];
	struct tlsfx_transcript out;
};

/* One packet of `dir`: opcode, session, [HMAC, replay id, time], acks,
 * [message id], payload. */
static void ovpn_packet(struct ovpn_flow *f, int dir, unsigned opcode, const uint8_t *p,
			size_t n, bool resend)
{
	static struct bytes pk;
	struct ovpn_side *me = &f->side[dir], *peer = &f->side[!dir];
	size_t len_at;

	pk.n = 0;
	len_at = pk.n;
	put16(&pk, 0);
	put8(&pk, opcode << 3);
	put(&pk, me->sid, 8);
	if (f->hmac) {
		for (unsigned i = 0; i < f->hmac; i++)
			put8(&pk, 0x80 + ((i * 37 + dir) & 0x7f));      /* no zero bytes */
		put32(&pk, ++me->replay_id);
		put32(&pk, 0x5e3e7b98);
	}
	put8(&pk, me->to_ack);
	for (unsigned i = 0; i < me->to_ack; i++)
		put32(&pk, me->acks[i]);
	if (me->to_ack)
		put(&pk, peer->sid, 8);
	me->to_ack = 0;
	if (opcode != P_ACK_V1) {
		uint32_t id = resend ? me->next_id - 1 : me->next_id++;

		put32(&pk, id);
		if (!resend && peer->to_ack < 8)
			peer->acks[peer->to_ack++] = id;
	}
	put(&pk, p, n);
	pk.b[len_at] = (uint8_t)((pk.n - 2) >> 8);
	pk.b[len_at + 1] = (uint8_t)(pk.n - 2);
	tlsfx_add(&f->out, dir, pk.b, pk.n);
}

/* The whole exchange: resets, then each TLS flight in P_CONTROL_V1 packets
 * of at most `frag` bytes, each flight acked; `resend_every`: send every
 * so many control packets twice (a retransmission). */
static void ovpn_wrap(struct ovpn_flow *f, const struct tlsfx_transcript *t, size_t frag,
		      unsigned resend_every)
{
	unsigned count = 0;

	memcpy(f->side[0].sid, "\x50\x7a\x28\xa7\x82\x75\x78\x8d", 8);
	memcpy(f->side[1].sid, "\x9a\xd7\x47\xbe\xb2\x4d\x8a\x1b", 8);
	tlsfx_transcript_init(&f->out);
	ovpn_packet(f, TLS_FROM_CLIENT, P_CONTROL_HARD_RESET_CLIENT_V2, NULL, 0, false);
	ovpn_packet(f, TLS_FROM_SERVER, P_CONTROL_HARD_RESET_SERVER_V2, NULL, 0, false);
	ovpn_packet(f, TLS_FROM_CLIENT, P_ACK_V1, NULL, 0, false);
	for (unsigned i = 0; i < t->n_flights; i++) {
		const struct tlsfx_flight *fl = &t->flights[i];
		const uint8_t *p = t->data[fl->dir] + fl->off;

		for (size_t off = 0; off < fl->len; off += frag) {
			size_t k = fl->len - off < frag ? fl->len - off : frag;

			ovpn_packet(f, fl->dir, P_CONTROL_V1, p + off, k, false);
			if (resend_every && ++count % resend_every == 0)
				ovpn_packet(f, fl->dir, P_CONTROL_V1, p + off, k, true);
		}
		ovpn_packet(f, !fl->dir, P_ACK_V1, NULL, 0, false);
	}
	/* The data channel after the handshake. */
	ovpn_packet(f, TLS_FROM_CLIENT, P_DATA_V2, (const uint8_t *)"\x00\x00\x01\xaa\xbb", 5,
		    false);
}

static void ovpn_case(unsigned hmac, size_t frag, unsigned resend_every)
{
	struct tlsfx_transcript t;
	struct ovpn_flow f = { .hmac = hmac };
	struct tls_conn *c;

	tlsfx_transcript_init(&t);
	make_handshake(&t);
	ovpn_wrap(&f, &t, frag, resend_every);
	c = replay(&f.out, TLS_DONE);
	cr_assert(tls_is_tls(c));
	cr_assert_str_eq(tls_session(c)->preamble, "OpenVPN");
	cr_assert_eq(tls_session(c)->status, TLS_ST_COMPLETE, "%s",
		     tls_session(c)->reason ? tls_session(c)->reason : "-");
	cr_assert_eq(tls_session(c)->version, 0x0303);
	assert_chain_of_three(tls_session(c));
	tls_conn_free(c);
	tlsfx_transcript_free(&f.out);
	tlsfx_transcript_free(&t);
}

TestSuite(openvpn, .init = pki_setup, .fini = pki_teardown);

Test(openvpn, no_hmac_records_across_control_packets) { ovpn_case(0, 100, 0); }
Test(openvpn, tls_auth_sha1_hmac) { ovpn_case(20, 1250, 0); }
Test(openvpn, tls_auth_sha256_hmac) { ovpn_case(32, 300, 0); }
Test(openvpn, tls_auth_sha512_hmac) { ovpn_case(64, 77, 0); }
Test(openvpn, retransmitted_control_packets_count_once) { ovpn_case(0, 200, 3); }

Test(openvpn, lost_control_message_truncates_with_a_reason)
{
	struct tlsfx_transcript t, cut;
	struct ovpn_flow f = { .hmac = 0 };
	struct tls_conn *c;
	enum tls_verdict v;

	tlsfx_transcript_init(&t);
	make_handshake(&t);
	ovpn_wrap(&f, &t, 100, 0);
	/* Drop the server's third P_CONTROL_V1 (message id 3) on the way. */
	tlsfx_transcript_init(&cut);
	for (unsigned i = 0, n_ctl = 0; i < f.out.n_flights; i++) {
		const struct tlsfx_flight *fl = &f.out.flights[i];
		const uint8_t *p = f.out.data[fl->dir] + fl->off;

		if (fl->dir == TLS_FROM_SERVER && p[2] >> 3 == P_CONTROL_V1 && ++n_ctl == 3)
			continue;
		tlsfx_add(&cut, fl->dir, p, fl->len);
	}
	c = tls_conn_new();
	v = tlsfx_replay(c, &cut, 0, 0, 1000);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(tls_session(c)->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(tls_session(c)->reason,
			 "the server's OpenVPN control message 3 is missing (4 came next)");
	tls_conn_free(c);
	tlsfx_transcript_free(&cut);
	tlsfx_transcript_free(&f.out);
	tlsfx_transcript_free(&t);
}

/* The OpenVPN entry of the recogniser table, on the client's bytes. */
static enum tls_match ovpn_ask(const uint8_t *p, size_t n)
{
	struct tls_preamble_state st = { .cmd = TLS_CMD_NONE };
	struct tls_held h;

	rd_init(&h.c, p, n);
	rd_init(&h.s, NULL, 0);
	h.c_text = tls_text_len(h.c);
	h.st = &st;
	h.cmd_scan = TLS_PRE_UNSCANNED;
	return tls_ovpn_match(&h);
}

Test(openvpn, recogniser_matched_refused_and_waiting)
{
	struct tlsfx_transcript t;
	struct ovpn_flow f = { .hmac = 20 };
	static uint8_t client[8192];
	size_t n = 0, reset_len;

	tlsfx_transcript_init(&t);
	make_handshake(&t);
	ovpn_wrap(&f, &t, 100, 0);
	/* The client's side: reset, ACK, then its first control packet. */
	for (unsigned i = 0; i < f.out.n_flights && n < 200; i++)
		if (f.out.flights[i].dir == TLS_FROM_CLIENT) {
			memcpy(client + n, f.out.data[0] + f.out.flights[i].off, f.out.flights[i].len);
			n += f.out.flights[i].len;
		}
	reset_len = 2 + ((size_t)client[0] << 8 | client[1]);
	cr_assert_eq(reset_len, 2 + 1 + 8 + 20 + 4 + 4 + 1 + 4, "a tls-auth SHA-1 reset");
	for (size_t k = 1; k < n; k++)
		cr_assert_eq(ovpn_ask(client, k), TLS_MATCH_MORE, "%zu of %zu bytes", k, n);
	cr_assert_eq(ovpn_ask(client, n), TLS_MATCH_YES);

	/* No tls-auth: reset, then a control packet whose payload is no
	 * ClientHello (tls-crypt encrypts it): not TLS we can read. */
	static const uint8_t crypt[] = {
		0x00, 0x0e, 0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0, 0, 0, 0,
		0x00, 0x1a, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0, 0, 0, 1,
		0x9f, 0x33, 0x01, 0x42, 0xe3, 0x10, 0x77, 0x00, 0x5d, 0xc1, 0x08, 0x2a,
	};
	cr_assert_eq(ovpn_ask(crypt, 16), TLS_MATCH_MORE);
	cr_assert_eq(ovpn_ask(crypt, sizeof(crypt)), TLS_MATCH_NOT_TLS);

	/* tls-crypt-v2's reset; not OpenVPN at all. */
	uint8_t v3[64];

	memcpy(v3, client, reset_len);
	v3[2] = P_CONTROL_HARD_RESET_CLIENT_V3 << 3;
	cr_assert_eq(ovpn_ask(v3, reset_len), TLS_MATCH_NOT_TLS);
	v3[2] = P_CONTROL_V1 << 3;
	cr_assert_eq(ovpn_ask(v3, reset_len), TLS_MATCH_NO);
	v3[2] = P_CONTROL_HARD_RESET_CLIENT_V2 << 3 | 1;        /* key id 1 */
	cr_assert_eq(ovpn_ask(v3, reset_len), TLS_MATCH_NO);
	cr_assert_eq(ovpn_ask((const uint8_t *)"\x07\x00", 2), TLS_MATCH_NO);
	cr_assert_eq(ovpn_ask((const uint8_t *)"\x00\x05\x38", 3), TLS_MATCH_NO);
	cr_assert_eq(ovpn_ask((const uint8_t *)"\x00", 1), TLS_MATCH_MORE);
	tlsfx_transcript_free(&f.out);
	tlsfx_transcript_free(&t);
}
