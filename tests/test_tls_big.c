/*
 * test_tls_big.c — big handshake messages and the caps (dissect/tls.h):
 * a Certificate message is read certificate by certificate however long it
 * is, one certificate or one chain over its cap stops the dissection with
 * a reason that names the cap, a kept message over its cap likewise,
 * messages we do not read have no cap, and the bytes gathered for
 * certificates not yet whole are bounded for the whole process.  Flights
 * are built in memory, split into 16 KiB records, and fed in many sizes.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dissect/tls_int.h"

/* A growable byte string for flights of megabytes. */
struct big {
	uint8_t *b;
	size_t n, cap;
};

static void big_put(struct big *x, const void *p, size_t n)
{
	if (x->n + n > x->cap) {
		x->cap = (x->n + n) * 2;
		x->b = realloc(x->b, x->cap);
		cr_assert_not_null(x->b);
	}
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void big_u8(struct big *x, unsigned v) { uint8_t b = (uint8_t)v; big_put(x, &b, 1); }
static void big_u16(struct big *x, unsigned v) { big_u8(x, v >> 8); big_u8(x, v); }
static void big_u24(struct big *x, uint32_t v) { big_u8(x, v >> 16); big_u16(x, v & 0xffff); }

/* Handshake messages go into hs; records() cuts them into 16 KiB records. */
static void records(struct big *out, const struct big *hs)
{
	for (size_t off = 0; off < hs->n; off += 16384) {
		size_t n = hs->n - off < 16384 ? hs->n - off : 16384;

		big_u8(out, TLS_CT_HANDSHAKE);
		big_u16(out, 0x0303);
		big_u16(out, (unsigned)n);
		big_put(out, hs->b + off, n);
	}
}

static void client_hello(struct big *hs)
{
	static const uint8_t random[32];

	big_u8(hs, TLS_HS_CLIENT_HELLO);
	big_u24(hs, 2 + 32 + 1 + 4 + 2);
	big_u16(hs, 0x0303);
	big_put(hs, random, 32);
	big_u8(hs, 0);
	big_u16(hs, 2);
	big_u16(hs, 0x002f);
	big_u8(hs, 1);
	big_u8(hs, 0);
}

static void server_hello(struct big *hs)
{
	uint8_t random[32];

	memset(random, 0x42, sizeof(random));
	big_u8(hs, TLS_HS_SERVER_HELLO);
	big_u24(hs, 2 + 32 + 1 + 2 + 1);
	big_u16(hs, 0x0303);
	big_put(hs, random, 32);
	big_u8(hs, 0);
	big_u16(hs, 0x002f);
	big_u8(hs, 0);
}

/* Certificate i's byte k: DER-looking, different per certificate. */
static uint8_t cert_byte(unsigned i, size_t k)
{
	return k == 0 ? 0x30 : (uint8_t)(k * 7 + i * 13 + (k >> 8));
}

/* A Certificate message of n entries of lens[i] bytes. */
static void certificate(struct big *hs, unsigned n, const uint32_t *lens)
{
	uint64_t list = 0;

	for (unsigned i = 0; i < n; i++)
		list += 3 + lens[i];
	big_u8(hs, TLS_HS_CERTIFICATE);
	big_u24(hs, (uint32_t)(3 + list));
	big_u24(hs, (uint32_t)list);
	for (unsigned i = 0; i < n; i++) {
		big_u24(hs, lens[i]);
		for (size_t k = 0; k < lens[i]; k++)
			big_u8(hs, cert_byte(i, k));
	}
}

/* The client's hello record, then the server's flight fed `chunk` bytes
 * at a time (0: whole) until the verdict is not CONTINUE or `stop_at`
 * bytes went in. */
static struct tls_conn *run(const struct big *server, size_t chunk, size_t stop_at,
			    enum tls_verdict *v)
{
	struct big hs = { 0 }, client = { 0 };
	struct tls_conn *c = tls_conn_new();
	size_t end = stop_at && stop_at < server->n ? stop_at : server->n;

	client_hello(&hs);
	records(&client, &hs);
	*v = tls_feed(c, TLS_FROM_CLIENT, client.b, client.n, 1);
	cr_assert_eq(*v, TLS_CONTINUE);
	if (!chunk)
		chunk = end;
	for (size_t off = 0; off < end && *v == TLS_CONTINUE; off += chunk)
		*v = tls_feed(c, TLS_FROM_SERVER, server->b + off,
			      off + chunk > end ? end - off : chunk, 2);
	free(hs.b);
	free(client.b);
	return c;
}

static void assert_cert(const struct tls_chain *ch, unsigned i, uint32_t len)
{
	cr_assert_eq(ch->certs[i].len, len, "certificate %u: %u bytes, sent %u", i,
		     ch->certs[i].len, len);
	for (size_t k = 0; k < len; k++)
		if (ch->certs[i].data[k] != cert_byte(i, k))
			cr_assert_fail("certificate %u differs at byte %zu", i, k);
}

/* A server flight: ServerHello, then a Certificate of n entries. */
static void flight(struct big *server, unsigned n, const uint32_t *lens)
{
	struct big hs = { 0 };

	server_hello(&hs);
	certificate(&hs, n, lens);
	records(server, &hs);
	free(hs.b);
}

TestSuite(tls_big);

Test(tls_big, certificate_of_340_kb_comes_out_whole_in_every_split)
{
	/* As in zeek's tls-fragmented-handshake: a 339,629-byte Certificate
	 * message, here one large certificate and a small one. */
	static const uint32_t lens[] = { 339629 - 3 - 3 - 3 - 1000, 1000 };
	static const size_t chunks[] = { 0, 1, 7, 1000, 1448, 16389, 65536 };
	struct big server = { 0 };

	flight(&server, 2, lens);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		enum tls_verdict v;
		struct tls_conn *c = run(&server, chunks[i], 0, &v);
		const struct tls_session *s = tls_session(c);

		cr_assert_eq(v, TLS_CONTINUE, "chunk %zu: %s", chunks[i], s->reason ? s->reason : "-");
		cr_assert(s->server_chain.present);
		cr_assert(!s->server_chain.truncated);
		cr_assert_eq(s->server_chain.n, 2);
		assert_cert(&s->server_chain, 0, lens[0]);
		assert_cert(&s->server_chain, 1, lens[1]);
		/* Nothing held for the certificates once whole; at most the
		 * small buffer a ServerHello cut by the feeds needed. */
		cr_assert_leq(tls_budget_used(), 64, "%zu bytes held", tls_budget_used());
		tls_conn_free(c);
	}
	free(server.b);
}

Test(tls_big, many_certificates_past_the_message_cap)
{
	uint32_t lens[20];
	struct big server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;

	for (int i = 0; i < 20; i++)
		lens[i] = 20000 + i;            /* 400 KB, over TLS_MAX_MSG_BYTES */
	flight(&server, 20, lens);
	c = run(&server, 1448, 0, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_session(c)->server_chain.n, 20);
	for (unsigned i = 0; i < 20; i++)
		assert_cert(&tls_session(c)->server_chain, i, lens[i]);
	tls_conn_free(c);
	free(server.b);
}

Test(tls_big, certificate_at_the_cap_is_read_one_over_it_is_not)
{
	uint32_t at[] = { 100, TLS_MAX_CERT_BYTES }, over[] = { 100, TLS_MAX_CERT_BYTES + 1 };
	struct big server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;
	const struct tls_session *s;

	flight(&server, 2, at);
	c = run(&server, 5000, 0, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_session(c)->server_chain.n, 2);
	assert_cert(&tls_session(c)->server_chain, 1, TLS_MAX_CERT_BYTES);
	tls_conn_free(c);

	server.n = 0;
	flight(&server, 2, over);
	c = run(&server, 5000, 0, &v);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason, "server's certificate of 1048577 bytes is over the 1024 KiB cap");
	cr_assert(s->server_chain.truncated);
	cr_assert_eq(s->server_chain.n, 1, "the certificate before it is kept");
	assert_cert(&s->server_chain, 0, 100);
	cr_assert_eq(tls_budget_used(), 0, "the big one was never gathered");
	tls_conn_free(c);
	free(server.b);
}

Test(tls_big, chain_over_its_cap)
{
	uint32_t lens[5] = { 900000, 900000, 900000, 900000, 900000 };
	struct big server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;
	const struct tls_session *s;

	flight(&server, 5, lens);
	c = run(&server, 65536, 0, &v);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason,
			 "server's certificate chain of 4500000 bytes is over the 4096 KiB cap");
	cr_assert_eq(s->server_chain.n, 4);
	cr_assert(s->server_chain.truncated);
	tls_conn_free(c);
	free(server.b);
}

Test(tls_big, a_parsed_message_over_its_cap)
{
	struct big hs = { 0 }, server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;
	const struct tls_session *s;

	big_u8(&hs, TLS_HS_SERVER_HELLO);
	big_u24(&hs, 300000);
	for (int i = 0; i < 300000; i++)
		big_u8(&hs, 0);
	records(&server, &hs);
	c = run(&server, 1448, 0, &v);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason, "server's ServerHello of 300000 bytes is over the 256 KiB cap");
	cr_assert(!s->server_chain.present);
	tls_conn_free(c);
	free(hs.b);
	free(server.b);
}

Test(tls_big, unread_messages_have_no_cap_and_cost_no_buffer)
{
	static const uint32_t lens[] = { 1234 };
	struct big hs = { 0 }, server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;

	server_hello(&hs);
	big_u8(&hs, TLS_HS_SERVER_KEY_EXCHANGE);  /* 2 MiB of it, counted past */
	big_u24(&hs, 2 * 1024 * 1024);
	for (int i = 0; i < 2 * 1024 * 1024; i++)
		big_u8(&hs, (uint8_t)i);
	certificate(&hs, 1, lens);
	records(&server, &hs);
	c = run(&server, 1000, 1024 * 1024, &v);     /* in the middle of it */
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_budget_used(), 0);
	tls_conn_free(c);
	c = run(&server, 1000, 0, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_session(c)->server_chain.n, 1);
	assert_cert(&tls_session(c)->server_chain, 0, 1234);
	tls_conn_free(c);
	free(hs.b);
	free(server.b);
}

Test(tls_big, the_process_budget_is_shared_by_all_conns)
{
	static const uint32_t lens[] = { 100000 };
	struct big server = { 0 };
	enum tls_verdict v;
	struct tls_conn *a, *b;
	size_t half;

	tls_budget_set_max(150000);
	flight(&server, 1, lens);
	half = server.n - 50000;
	a = run(&server, 1448, half, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_budget_used(), 100000, "A gathers its certificate");
	b = run(&server, 1448, half, &v);
	cr_assert_eq(v, TLS_DONE, "B does not fit beside it");
	cr_assert_eq(tls_session(b)->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(tls_session(b)->reason, "server's certificate of 100000 bytes is over "
			 "the 146 KiB cap on bytes buffered by all flows");
	cr_assert(tls_session(b)->server_chain.truncated);
	cr_assert_eq(tls_budget_used(), 100000);
	/* A goes on to the end of its certificate. */
	v = tls_feed(a, TLS_FROM_SERVER, server.b + half, server.n - half, 3);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_session(a)->server_chain.n, 1);
	assert_cert(&tls_session(a)->server_chain, 0, 100000);
	cr_assert_eq(tls_budget_used(), 0);
	tls_conn_free(a);
	tls_conn_free(b);
	tls_budget_set_max(0);
	free(server.b);
}

Test(tls_big, gap_or_end_inside_a_big_certificate_keeps_the_whole_ones)
{
	static const uint32_t lens[] = { 5000, 500000 };
	struct big server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;
	const struct tls_session *s;

	flight(&server, 2, lens);
	c = run(&server, 1448, server.n - 200000, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_gt(tls_budget_used(), 0);
	cr_assert_eq(tls_gap(c, TLS_FROM_SERVER, 1448), TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason, "gap of 1448 bytes inside the server's Certificate message");
	cr_assert(s->server_chain.truncated);
	cr_assert_eq(s->server_chain.n, 1);
	assert_cert(&s->server_chain, 0, 5000);
	cr_assert_eq(tls_budget_used(), 0, "the half certificate was let go");
	tls_conn_free(c);

	c = run(&server, 1448, server.n - 200000, &v);
	tls_end(c);
	s = tls_session(c);
	cr_assert_str_eq(s->reason, "capture ended inside the server's Certificate message");
	cr_assert_eq(s->server_chain.n, 1);
	cr_assert_eq(tls_budget_used(), 0);
	tls_conn_free(c);
	free(server.b);
}

Test(tls_big, freeing_a_conn_mid_certificate_gives_the_budget_back)
{
	static const uint32_t lens[] = { 300000 };
	struct big server = { 0 };
	enum tls_verdict v;
	struct tls_conn *c;

	flight(&server, 1, lens);
	c = run(&server, 1448, 100000, &v);
	cr_assert_eq(tls_budget_used(), 300000);
	tls_conn_free(c);
	cr_assert_eq(tls_budget_used(), 0);
	free(server.b);
}
