/*
 * test_tls.c — the TLS dissector against real OpenSSL handshakes and
 * hand-built records.
 *
 * Real handshakes come from tests/tls_fixture.c and are fed in every split a
 * capture could produce: whole flights, one byte at a time, sizes that cut
 * record headers, random sizes.  What the dissector reports is checked
 * against what OpenSSL says it negotiated and against the DER the fixture
 * made.  Hand-built records (struct tb below) cover what OpenSSL will not
 * send: SSLv2 hellos, known JA3 inputs, and malformed lengths.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "dissect/tls_aead.h"
#include "tests/tls_fixture.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* How a transcript is cut into feeds: {chunk, seed} as in tlsfx_replay. */
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

static void make_handshake(const struct tlsfx_opts *o, struct tlsfx_transcript *t)
{
	struct tlsfx_pair pair;

	cr_assert(tlsfx_pair_init(&pair, pki, o), "contexts");
	cr_assert(tlsfx_handshake(&pair, o, NULL, t), "handshake ran");
	cr_assert_lt(t->n_flights, TLSFX_MAX_FLIGHTS);
	tlsfx_pair_free(&pair);
}

static bool is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (int i = 0; i < 32; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static void assert_blob_der(const struct tls_blob *b, X509 *x, const char *what)
{
	uint8_t *der;
	int n = tlsfx_der(x, &der);

	cr_assert_gt(n, 0);
	cr_assert_eq(b->len, (uint32_t)n, "%s: length %u, sent %d", what, b->len, n);
	cr_assert(memcmp(b->data, der, (size_t)n) == 0, "%s: DER differs from what was sent", what);
	OPENSSL_free(der);
}

static void assert_blob_name(const struct tls_blob *b, X509 *x, const char *what)
{
	uint8_t *der;
	int n = tlsfx_name_der(x, &der);

	cr_assert_gt(n, 0);
	cr_assert_eq(b->len, (uint32_t)n, "%s: length %u, expected %d", what, b->len, n);
	cr_assert(memcmp(b->data, der, (size_t)n) == 0, "%s: name DER differs", what);
	OPENSSL_free(der);
}

/* Everything that must not depend on how the bytes were cut. */
static void assert_same_session(const struct tls_session *a, const struct tls_session *b)
{
	cr_assert_eq(a->status, b->status);
	cr_assert_eq(a->version, b->version);
	cr_assert_eq(a->cipher, b->cipher);
	cr_assert_str_eq(a->ja3, b->ja3);
	cr_assert_str_eq(a->ja3s, b->ja3s);
	cr_assert_str_eq(a->sni, b->sni);
	cr_assert_eq(a->resumed, b->resumed);
	cr_assert_eq(a->server_chain.n, b->server_chain.n);
	for (unsigned i = 0; i < a->server_chain.n; i++) {
		cr_assert_eq(a->server_chain.certs[i].len, b->server_chain.certs[i].len);
		cr_assert(memcmp(a->server_chain.certs[i].data, b->server_chain.certs[i].data,
				 a->server_chain.certs[i].len) == 0);
	}
	cr_assert_eq(a->client_chain.present, b->client_chain.present);
	cr_assert_eq(a->client_chain.n, b->client_chain.n);
	for (unsigned i = 0; i < a->client_chain.n; i++) {
		cr_assert_eq(a->client_chain.certs[i].len, b->client_chain.certs[i].len);
		cr_assert(memcmp(a->client_chain.certs[i].data, b->client_chain.certs[i].data,
				 a->client_chain.certs[i].len) == 0);
	}
	cr_assert_eq(a->n_ca_names, b->n_ca_names);
	cr_assert_eq(a->n_alerts, b->n_alerts);
	cr_assert_eq(a->certificates_visible, b->certificates_visible);
	cr_assert_eq(a->decrypted, b->decrypted);
	cr_assert_eq(a->decrypt_error, b->decrypt_error);
	cr_assert_str_eq(a->alpn_selected, b->alpn_selected);
}

/* Replays t under every split; returns the conn of the first (whole flights)
 * after checking the others agree with it and ended with `verdict`. */
static struct tls_conn *replay_all_splits_keys(const struct tlsfx_transcript *t,
					       enum tls_verdict verdict, const struct kl_store *keys)
{
	struct tls_conn *first = NULL;

	for (size_t i = 0; i < N_SPLITS; i++) {
		struct tls_conn *c = tls_conn_new_with_keys(keys);
		enum tls_verdict v;

		cr_assert_not_null(c);
		v = tlsfx_replay(c, t, splits[i].chunk, splits[i].seed, 1000);
		cr_assert_eq(v, verdict, "split %zu/%u: verdict %d, expected %d (reason %s)",
			     splits[i].chunk, splits[i].seed, v, verdict,
			     tls_session(c)->reason ? tls_session(c)->reason : "-");
		if (!first) {
			first = c;
			continue;
		}
		assert_same_session(tls_session(first), tls_session(c));
		tls_conn_free(c);
	}
	return first;
}

static struct tls_conn *replay_all_splits(const struct tlsfx_transcript *t, enum tls_verdict verdict)
{
	return replay_all_splits_keys(t, verdict, NULL);
}

/* A byte builder for hand-made records, with length prefixes patched in. */
struct tb {
	uint8_t b[1 << 16];
	size_t n;
};

static void tb_u8(struct tb *t, unsigned v) { t->b[t->n++] = (uint8_t)v; }
static void tb_u16(struct tb *t, unsigned v) { tb_u8(t, v >> 8); tb_u8(t, v); }
static void tb_u24(struct tb *t, unsigned v) { tb_u8(t, v >> 16); tb_u16(t, v & 0xffff); }
static void tb_bytes(struct tb *t, const void *p, size_t n) { memcpy(t->b + t->n, p, n); t->n += n; }

/* Opens a length prefix of `width` bytes; tb_close() fills it in. */
static size_t tb_open(struct tb *t, unsigned width)
{
	size_t at = t->n;
	for (unsigned i = 0; i < width; i++)
		tb_u8(t, 0);
	return at | (size_t)width << 56;
}

static void tb_close(struct tb *t, size_t mark)
{
	unsigned width = (unsigned)(mark >> 56);
	size_t at = mark & (((size_t)1 << 56) - 1);
	size_t len = t->n - at - width;

	for (unsigned i = 0; i < width; i++)
		t->b[at + i] = (uint8_t)(len >> (8 * (width - 1 - i)));
}

/* Wraps bytes [from, n) of t into one TLS record of `type` in place. */
static void tb_record(struct tb *out, unsigned type, const struct tb *body)
{
	tb_u8(out, type);
	tb_u16(out, 0x0303);
	tb_u16(out, (unsigned)body->n);
	tb_bytes(out, body->b, body->n);
}

static const uint8_t zero_random[32];

/* ClientHello: TLS 1.2, ciphers with a GREASE value, extensions chosen so
 * that the JA3 text is known: see tls_ja3/known_client_hello. */
static void tb_client_hello(struct tb *hs)
{
	size_t msg, v, e, l, l2;

	tb_u8(hs, TLS_HS_CLIENT_HELLO);
	msg = tb_open(hs, 3);
	tb_u16(hs, 0x0303);
	tb_bytes(hs, zero_random, 32);
	tb_u8(hs, 0);                                   /* session id */
	v = tb_open(hs, 2);
	tb_u16(hs, 0x0a0a);                             /* GREASE */
	tb_u16(hs, 0xc02f);
	tb_u16(hs, 0x009c);
	tb_u16(hs, 0x00ff);
	tb_close(hs, v);
	tb_u8(hs, 1);
	tb_u8(hs, 0);                                   /* null compression */
	e = tb_open(hs, 2);
	tb_u16(hs, 0x1a1a);                             /* GREASE extension */
	tb_u16(hs, 0);
	tb_u16(hs, 0);                                  /* server_name */
	l = tb_open(hs, 2);
	l2 = tb_open(hs, 2);
	tb_u8(hs, 0);
	v = tb_open(hs, 2);
	tb_bytes(hs, "lync.example.com", 16);
	tb_close(hs, v);
	tb_close(hs, l2);
	tb_close(hs, l);
	tb_u16(hs, 10);                                 /* supported_groups */
	l = tb_open(hs, 2);
	v = tb_open(hs, 2);
	tb_u16(hs, 0x2a2a);
	tb_u16(hs, 29);
	tb_u16(hs, 23);
	tb_close(hs, v);
	tb_close(hs, l);
	tb_u16(hs, 11);                                 /* ec_point_formats */
	l = tb_open(hs, 2);
	tb_u8(hs, 1);
	tb_u8(hs, 0);
	tb_close(hs, l);
	tb_u16(hs, 16);                                 /* ALPN */
	l = tb_open(hs, 2);
	v = tb_open(hs, 2);
	tb_u8(hs, 2);
	tb_bytes(hs, "h2", 2);
	tb_u8(hs, 8);
	tb_bytes(hs, "http/1.1", 8);
	tb_close(hs, v);
	tb_close(hs, l);
	tb_u16(hs, 35);                                 /* session_ticket, empty */
	tb_u16(hs, 0);
	tb_u16(hs, 13);                                 /* signature_algorithms */
	l = tb_open(hs, 2);
	v = tb_open(hs, 2);
	tb_u16(hs, 0x0403);
	tb_u16(hs, 0x0804);
	tb_close(hs, v);
	tb_close(hs, l);
	tb_close(hs, e);
	tb_close(hs, msg);
}

/* JA3 of tb_client_hello(), written out by hand from the values above. */
static const char known_ja3_text[] = "771,49199-156-255,0-10-11-16-35-13,29-23,0";

static void tb_server_hello(struct tb *hs, uint16_t cipher)
{
	size_t msg;
	uint8_t random[32];

	memset(random, 0x42, sizeof(random));
	tb_u8(hs, TLS_HS_SERVER_HELLO);
	msg = tb_open(hs, 3);
	tb_u16(hs, 0x0303);
	tb_bytes(hs, random, 32);
	tb_u8(hs, 0);
	tb_u16(hs, cipher);
	tb_u8(hs, 0);
	tb_close(hs, msg);
}

/* A Certificate message of n entries, entry i being `lens[i]` bytes of 0x30. */
static void tb_certificate(struct tb *hs, unsigned n, const unsigned *lens)
{
	size_t msg, list;

	tb_u8(hs, TLS_HS_CERTIFICATE);
	msg = tb_open(hs, 3);
	list = tb_open(hs, 3);
	for (unsigned i = 0; i < n; i++) {
		tb_u24(hs, lens[i]);
		for (unsigned k = 0; k < lens[i]; k++)
			tb_u8(hs, k == 0 ? 0x30 : (uint8_t)(i + k));
	}
	tb_close(hs, list);
	tb_close(hs, msg);
}

static void md5_hex(const char *text, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD *m = EVP_MD_fetch(NULL, "MD5", NULL);

	cr_assert_not_null(m);
	cr_assert_eq(EVP_Digest(text, strlen(text), md, &len, m, NULL), 1);
	EVP_MD_free(m);
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Feeds a client flight and a server flight of hand-built records. */
static struct tls_conn *feed_pair(const struct tb *client, const struct tb *server,
				  enum tls_verdict *v)
{
	struct tls_conn *c = tls_conn_new();

	cr_assert_not_null(c);
	*v = tls_feed(c, TLS_FROM_CLIENT, client->b, client->n, 10);
	if (*v == TLS_CONTINUE && server)
		*v = tls_feed(c, TLS_FROM_SERVER, server->b, server->n, 20);
	return c;
}

/* ------------------------------------------------------------------ */
/* Full handshakes                                                     */

TestSuite(tls_handshake, .init = pki_setup, .fini = pki_teardown);

Test(tls_handshake, tls12_chain_of_three_in_every_split)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
		.send_chain = true, .sni = "server.example",
		.alpn = alpn, .alpn_len = sizeof(alpn) - 1,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);

	cr_assert(tls_is_tls(c));
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	cr_assert_null(s->preamble);
	cr_assert(s->have_client_hello && s->have_server_hello);
	cr_assert_eq(s->version, 0x0303);
	cr_assert_eq(s->version, t.version);
	cr_assert_eq(s->cipher, t.cipher);
	cr_assert(memcmp(s->client_random, t.client_random, 32) == 0);
	cr_assert_str_eq(s->sni, "server.example");
	cr_assert_eq(s->n_alpn, 2);
	cr_assert_str_eq(s->alpn[0], "h2");
	cr_assert_str_eq(s->alpn[1], "http/1.1");
	cr_assert(is_hex32(s->ja3), "ja3 '%s'", s->ja3);
	cr_assert(is_hex32(s->ja3s), "ja3s '%s'", s->ja3s);
	cr_assert(!s->resumed);
	cr_assert(s->certificates_visible);
	cr_assert(s->server_chain.present && !s->server_chain.truncated);
	cr_assert_eq(s->server_chain.n, 3);
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "leaf");
	assert_blob_der(&s->server_chain.certs[1], pki->inter, "intermediate");
	assert_blob_der(&s->server_chain.certs[2], pki->root, "root");
	cr_assert(!s->client_chain.present);
	cr_assert(!s->certificate_request);
	cr_assert_eq(s->n_alerts, 0);
	cr_assert(s->ccs_seen[0] && s->ccs_seen[1]);
	/* Whole flights: feed 0 is the ClientHello at ts 1000, feed 1 the
	 * server's flight with the Certificate. */
	cr_assert_eq(s->ts_us, 1000);
	cr_assert_eq(s->server_chain.ts_us, 1001);
	cr_assert_eq(s->bytes[0] + s->bytes[1], t.len[0] + t.len[1]);
	tls_conn_free(c);

	/* The same ClientHello gives the same JA3 every time. */
	{
		struct tlsfx_transcript t2;
		struct tls_conn *c2 = tls_conn_new();

		tlsfx_transcript_init(&t2);
		make_handshake(&o, &t2);
		tlsfx_replay(c2, &t2, 0, 0, 0);
		c = tls_conn_new();
		tlsfx_replay(c, &t, 0, 0, 0);
		cr_assert_str_eq(tls_session(c)->ja3, tls_session(c2)->ja3);
		tls_conn_free(c);
		tls_conn_free(c2);
		tlsfx_transcript_free(&t2);
	}
	tlsfx_transcript_free(&t);
}

Test(tls_handshake, tls10_single_certificate)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_VERSION, .max_version = TLS1_VERSION,
		.cipher_list = "ALL:@SECLEVEL=0",
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done, "TLS 1.0 handshake");
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert_eq(s->version, 0x0301);
	cr_assert_str_eq(tls_version_name(s->version), "TLS 1.0");
	cr_assert_eq(s->cipher, t.cipher);
	cr_assert_eq(s->server_chain.n, 1);
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "leaf");
	cr_assert(s->certificates_visible);
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_handshake, tls13_hides_certificates_and_ends_at_server_hello)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION,
		.send_chain = true, .sni = "server.example",
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;
	char buf[64];

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert_eq(s->version, 0x0304);
	cr_assert_eq(s->server_version, 0x0303, "legacy_version stays 1.2");
	cr_assert_eq(s->cipher, t.cipher);
	cr_assert_str_eq(tls_cipher_name(s->cipher, buf, sizeof(buf)), "TLS_AES_256_GCM_SHA384");
	cr_assert(!s->certificates_visible);
	cr_assert(!s->server_chain.present);
	cr_assert(!s->resumed);
	cr_assert(!s->hello_retry_request);
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_handshake, tls13_hello_retry_request_then_server_hello)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION,
		.client_groups = "X25519:P-256", .server_groups = "P-256",
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert(s->hello_retry_request);
	cr_assert(s->have_server_hello, "the real ServerHello after the retry");
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	cr_assert_eq(s->version, 0x0304);
	cr_assert_eq(s->cipher, t.cipher);
	cr_assert(s->ccs_seen[TLS_FROM_CLIENT], "the client's compatibility ChangeCipherSpec");
	cr_assert(memcmp(s->client_random, t.client_random, 32) == 0, "the first ClientHello is kept");
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_handshake, server_refuses_old_client_with_protocol_version)
{
	struct tlsfx_opts o = {
		.max_version = TLS1_VERSION, .server_min_version = TLS1_2_VERSION,
		.cipher_list = "ALL:@SECLEVEL=0",
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(!t.client_done && !t.server_done);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert(!s->have_server_hello);
	cr_assert_eq(s->n_alerts, 1);
	cr_assert_eq(s->alerts[0].from, TLS_FROM_SERVER);
	cr_assert_eq(s->alerts[0].level, 2);
	cr_assert_str_eq(tls_alert_name(s->alerts[0].description), "protocol_version");
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_handshake, unidirectional_server_capture_yields_the_chain)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t, server_only;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	tlsfx_transcript_init(&server_only);
	make_handshake(&o, &t);
	for (unsigned i = 0; i < t.n_flights; i++)
		if (t.flights[i].dir == TLS_FROM_SERVER)
			tlsfx_add(&server_only, TLS_FROM_SERVER, t.data[1] + t.flights[i].off, t.flights[i].len);
	c = replay_all_splits(&server_only, TLS_CONTINUE);
	s = tls_session(c);
	cr_assert(tls_is_tls(c));
	cr_assert(!s->have_client_hello);
	cr_assert(s->have_server_hello);
	cr_assert_eq(s->server_chain.n, 3);
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "leaf");
	cr_assert(s->ccs_seen[1]);
	tls_end(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	tls_conn_free(c);
	tlsfx_transcript_free(&server_only);
	tlsfx_transcript_free(&t);
}

/* ------------------------------------------------------------------ */
/* Client certificates                                                 */

TestSuite(tls_mutual, .init = pki_setup, .fini = pki_teardown);

Test(tls_mutual, client_chain_and_acceptable_ca_names)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
		.request_client_cert = true, .client_cert = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert(s->certificate_request);
	cr_assert_eq(s->n_ca_names, 2);
	assert_blob_name(&s->ca_names[0], pki->client_ca, "first CA name");
	assert_blob_name(&s->ca_names[1], pki->root, "second CA name");
	cr_assert(s->client_chain.present);
	cr_assert_eq(s->client_chain.n, 1);
	assert_blob_der(&s->client_chain.certs[0], pki->client, "client leaf");
	cr_assert_eq(s->server_chain.n, 1);
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "server leaf");
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_mutual, tls10_certificate_request_has_no_signature_algorithms)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_VERSION, .max_version = TLS1_VERSION,
		.cipher_list = "ALL:@SECLEVEL=0",
		.request_client_cert = true, .client_cert = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->version, 0x0301);
	cr_assert_eq(s->n_ca_names, 2);
	assert_blob_name(&s->ca_names[0], pki->client_ca, "first CA name");
	assert_blob_name(&s->ca_names[1], pki->root, "second CA name");
	cr_assert_eq(s->client_chain.n, 1);
	assert_blob_der(&s->client_chain.certs[0], pki->client, "client leaf");
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_mutual, client_without_certificate_sends_an_empty_chain)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
		.request_client_cert = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert(s->certificate_request);
	cr_assert(s->client_chain.present);
	cr_assert_eq(s->client_chain.n, 0);
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

/* ------------------------------------------------------------------ */
/* Alerts                                                              */

TestSuite(tls_alert, .init = pki_setup, .fini = pki_teardown);

Test(tls_alert, client_rejects_server_certificate_with_unknown_ca)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
		.send_chain = true, .client_verifies = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(!t.client_done, "the client must refuse");
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert_eq(s->n_alerts, 1);
	cr_assert_eq(s->alerts[0].from, TLS_FROM_CLIENT);
	cr_assert_eq(s->alerts[0].level, 2);
	cr_assert_eq(s->alerts[0].description, 48);
	cr_assert(!s->alerts[0].encrypted);
	cr_assert_str_eq(tls_alert_name(s->alerts[0].description), "unknown_ca");
	cr_assert_gt(s->alerts[0].ts_us, s->server_chain.ts_us);
	cr_assert_eq(s->server_chain.n, 3);
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

Test(tls_alert, alert_after_change_cipher_spec_is_encrypted)
{
	struct tb client = { .n = 0 }, server = { .n = 0 }, hs = { .n = 0 };
	static const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	static const uint8_t enc_alert[] = { 21, 3, 3, 0, 26, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
					     14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26 };
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;

	tb_client_hello(&hs);
	tb_record(&client, TLS_CT_HANDSHAKE, &hs);
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	tb_record(&server, TLS_CT_HANDSHAKE, &hs);
	c = feed_pair(&client, &server, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, ccs, sizeof(ccs), 30), TLS_CONTINUE);
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, enc_alert, sizeof(enc_alert), 40), TLS_CONTINUE);
	s = tls_session(c);
	cr_assert_eq(s->n_alerts, 1);
	cr_assert(s->alerts[0].encrypted);
	cr_assert_eq(s->alerts[0].level, 0);
	cr_assert_eq(s->alerts[0].ts_us, 40);
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* Resumption                                                          */

TestSuite(tls_resume, .init = pki_setup, .fini = pki_teardown);

static void resume_case(struct tlsfx_opts *o)
{
	struct tlsfx_pair pair;
	struct tlsfx_transcript first, second;
	struct tls_conn *c;
	const struct tls_session *s;

	cr_assert(tlsfx_pair_init(&pair, pki, o));
	tlsfx_transcript_init(&first);
	tlsfx_transcript_init(&second);
	cr_assert(tlsfx_handshake(&pair, o, NULL, &first));
	cr_assert_not_null(first.session);
	cr_assert(tlsfx_handshake(&pair, o, first.session, &second));
	cr_assert(second.reused, "OpenSSL did not resume");

	c = replay_all_splits(&first, TLS_DONE);
	cr_assert(!tls_session(c)->resumed);
	tls_conn_free(c);

	c = replay_all_splits(&second, TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert(s->resumed);
	cr_assert(!s->certificates_visible);
	cr_assert(!s->server_chain.present);
	cr_assert_eq(s->cipher, second.cipher);
	tls_conn_free(c);
	tlsfx_transcript_free(&first);
	tlsfx_transcript_free(&second);
	tlsfx_pair_free(&pair);
}

Test(tls_resume, tls12_session_ticket)
{
	struct tlsfx_opts o = { .min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION };

	resume_case(&o);
}

Test(tls_resume, tls12_session_id)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .no_tickets = true,
	};

	resume_case(&o);
}

Test(tls_resume, tls13_pre_shared_key)
{
	struct tlsfx_opts o = { .min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION };

	resume_case(&o);
}

/* ------------------------------------------------------------------ */
/* JA3                                                                 */

TestSuite(tls_ja3);

Test(tls_ja3, known_client_hello)
{
	struct tb client = { .n = 0 }, server = { .n = 0 }, hs = { .n = 0 };
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;
	char want[33];

	tb_client_hello(&hs);
	tb_record(&client, TLS_CT_HANDSHAKE, &hs);
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	tb_record(&server, TLS_CT_HANDSHAKE, &hs);
	c = feed_pair(&client, &server, &v);
	s = tls_session(c);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert(s->have_client_hello);
	md5_hex(known_ja3_text, want);
	cr_assert_str_eq(s->ja3, want, "JA3 of \"%s\"", known_ja3_text);
	md5_hex("771,49199,", want);
	cr_assert_str_eq(s->ja3s, want);
	cr_assert_str_eq(s->sni, "lync.example.com");
	cr_assert_eq(s->n_alpn, 2);
	cr_assert_eq(s->cipher, 0xc02f);
	cr_assert(!s->client_offered_ticket, "an empty session_ticket offers nothing");
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* SSLv2-compatible ClientHello                                        */

TestSuite(tls_sslv2);

Test(tls_sslv2, compatible_client_hello_then_tls_server)
{
	struct tb client = { .n = 0 }, server = { .n = 0 }, hs = { .n = 0 };
	size_t body;
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;
	char want[33];
	static const unsigned lens[] = { 40 };

	/* 2-byte header, msg_type 1, version 3.1, specs 3 x 3 bytes, no
	 * session id, 16-byte challenge. */
	tb_u16(&client, 0);
	body = client.n;
	tb_u8(&client, 1);
	tb_u16(&client, 0x0301);
	tb_u16(&client, 9);
	tb_u16(&client, 0);
	tb_u16(&client, 16);
	tb_bytes(&client, "\x00\x00\x2f" "\x07\x00\xc0" "\x00\x00\x35", 9);
	for (int i = 0; i < 16; i++)
		tb_u8(&client, 0xa0 + i);
	client.b[0] = (uint8_t)(0x80 | (client.n - body) >> 8);
	client.b[1] = (uint8_t)(client.n - body);

	tb_server_hello(&hs, 0x002f);
	tb_certificate(&hs, 1, lens);
	tb_u8(&hs, TLS_HS_SERVER_HELLO_DONE);
	tb_u24(&hs, 0);
	tb_record(&server, TLS_CT_HANDSHAKE, &hs);

	for (size_t chunk = 1; chunk <= client.n; chunk += client.n - 1) {
		c = tls_conn_new();
		for (size_t off = 0; off < client.n; off += chunk)
			v = tls_feed(c, TLS_FROM_CLIENT, client.b + off,
				     off + chunk > client.n ? client.n - off : chunk, 1);
		v = tls_feed(c, TLS_FROM_SERVER, server.b, server.n, 2);
		s = tls_session(c);
		cr_assert_eq(v, TLS_CONTINUE, "reason %s", s->reason ? s->reason : "-");
		cr_assert(tls_is_tls(c));
		cr_assert(s->sslv2_client_hello);
		cr_assert(s->have_client_hello);
		cr_assert_eq(s->client_version, 0x0301);
		cr_assert_eq(s->client_random[15], 0, "challenge is right-aligned");
		cr_assert_eq(s->client_random[16], 0xa0);
		/* The SSLv2-only spec 0x0700c0 is not a TLS suite: left out. */
		md5_hex("769,47-53,,,", want);
		cr_assert_str_eq(s->ja3, want);
		cr_assert_eq(s->server_chain.n, 1);
		cr_assert_eq(s->server_chain.certs[0].len, 40);
		tls_conn_free(c);
	}
}

/* ------------------------------------------------------------------ */
/* SSL 3.0 (OpenSSL 3 cannot speak it: hand-built)                     */

TestSuite(tls_ssl3);

static void tb_record_v(struct tb *out, unsigned type, uint16_t version, const struct tb *body)
{
	tb_u8(out, type);
	tb_u16(out, version);
	tb_u16(out, (unsigned)body->n);
	tb_bytes(out, body->b, body->n);
}

Test(tls_ssl3, full_handshake_in_ssl3_records)
{
	struct tb client = { .n = 0 }, server = { .n = 0 }, hs = { .n = 0 };
	static const unsigned lens[] = { 300, 200 };
	static const uint8_t ccs[] = { 20, 3, 0, 0, 1, 1 };
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;
	size_t msg, list;

	/* ClientHello without extensions, as SSL 3.0 clients send it. */
	tb_u8(&hs, TLS_HS_CLIENT_HELLO);
	msg = tb_open(&hs, 3);
	tb_u16(&hs, 0x0300);
	tb_bytes(&hs, zero_random, 32);
	tb_u8(&hs, 0);
	list = tb_open(&hs, 2);
	tb_u16(&hs, 0x0005);
	tb_u16(&hs, 0x000a);
	tb_close(&hs, list);
	tb_u8(&hs, 1);
	tb_u8(&hs, 0);
	tb_close(&hs, msg);
	tb_record_v(&client, TLS_CT_HANDSHAKE, 0x0300, &hs);

	hs.n = 0;
	tb_u8(&hs, TLS_HS_SERVER_HELLO);
	msg = tb_open(&hs, 3);
	tb_u16(&hs, 0x0300);
	tb_bytes(&hs, zero_random, 32);
	tb_u8(&hs, 0);
	tb_u16(&hs, 0x0005);
	tb_u8(&hs, 0);
	tb_close(&hs, msg);
	tb_certificate(&hs, 2, lens);
	tb_u8(&hs, TLS_HS_SERVER_HELLO_DONE);
	tb_u24(&hs, 0);
	tb_record_v(&server, TLS_CT_HANDSHAKE, 0x0300, &hs);

	c = feed_pair(&client, &server, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, ccs, sizeof(ccs), 30), TLS_CONTINUE);
	cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, ccs, sizeof(ccs), 40), TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert_str_eq(tls_version_name(s->version), "SSL 3.0");
	cr_assert_eq(s->cipher, 0x0005);
	cr_assert(!s->resumed);
	cr_assert(s->certificates_visible);
	cr_assert_eq(s->server_chain.n, 2);
	cr_assert_eq(s->server_chain.certs[1].len, 200);
	{
		char want[33];
		md5_hex("768,5-10,,,", want);
		cr_assert_str_eq(s->ja3, want);
		md5_hex("768,5,", want);
		cr_assert_str_eq(s->ja3s, want);
	}
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* Cleartext preambles                                                 */

TestSuite(tls_preamble, .init = pki_setup, .fini = pki_teardown);

static void preamble_case(void (*pre)(struct tlsfx_transcript *), const char *name)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	pre(&t);
	make_handshake(&o, &t);
	c = replay_all_splits(&t, TLS_DONE);
	s = tls_session(c);
	cr_assert(tls_is_tls(c));
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "%s: reason %s", name, s->reason ? s->reason : "-");
	cr_assert_not_null(s->preamble, "%s: no preamble", name);
	cr_assert_str_eq(s->preamble, name);
	cr_assert_eq(s->server_chain.n, 3);
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "leaf");
	cr_assert(s->have_client_hello);
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

static void pre_smtp(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_SERVER, "220 mail.example.com ESMTP ready\r\n");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "EHLO phone.example.com\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "250-mail.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "STARTTLS\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "220 2.0.0 Ready to start TLS\r\n");
}

static void pre_imap(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_SERVER, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "a001 CAPABILITY\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "* CAPABILITY IMAP4rev1 STARTTLS\r\na001 OK done\r\n");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "a002 STARTTLS\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "a002 OK Begin TLS negotiation now\r\n");
}

static void pre_pop3(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_SERVER, "+OK POP3 ready\r\n");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "STLS\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "+OK Begin TLS\r\n");
}

static void pre_ftp(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_SERVER, "220 FTP ready\r\n");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "AUTH TLS\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "234 AUTH TLS OK.\r\n");
}

static void pre_irc(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_CLIENT, "CAP LS\r\nSTARTTLS\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, ":irc.example.net CAP * LS :tls\r\n"
		      ":irc.example.net 670 * :STARTTLS successful, proceed with TLS handshake\r\n");
}

static void pre_xmpp(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_CLIENT, "<?xml version='1.0'?><stream:stream to='example.com' "
		      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
	tlsfx_add_str(t, TLS_FROM_SERVER, "<?xml version='1.0'?><stream:stream from='example.com' id='1' "
		      "version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
		      "<required/></starttls></stream:features>");
	tlsfx_add_str(t, TLS_FROM_CLIENT, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	tlsfx_add_str(t, TLS_FROM_SERVER, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
}

static void pre_ldap(struct tlsfx_transcript *t)
{
	/* LDAPMessage { messageID 1, extendedReq { requestName [0] OID } } */
	static const char oid[] = "1.3.6.1.4.1.1466.20037";
	uint8_t req[64] = { 0x30, 0, 0x02, 0x01, 0x01, 0x77, 0, 0x80, (uint8_t)(sizeof(oid) - 1) };
	size_t n = 9;
	static const uint8_t resp[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00,
					0x04, 0x00, 0x04, 0x00 };

	memcpy(req + n, oid, sizeof(oid) - 1);
	n += sizeof(oid) - 1;
	req[1] = (uint8_t)(n - 2);
	req[6] = (uint8_t)(n - 7);
	tlsfx_add(t, TLS_FROM_CLIENT, req, n);
	tlsfx_add(t, TLS_FROM_SERVER, resp, sizeof(resp));
}

static void pre_pgsql(struct tlsfx_transcript *t)
{
	static const uint8_t ssl_request[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

	tlsfx_add(t, TLS_FROM_CLIENT, ssl_request, sizeof(ssl_request));
	tlsfx_add(t, TLS_FROM_SERVER, "S", 1);
}

static void pre_mysql(struct tlsfx_transcript *t)
{
	uint8_t greeting[64] = { 0, 0, 0, 0, 0x0a };
	uint8_t ssl_request[36] = { 32, 0, 0, 1, 0x0d, 0xaa, 0x0f, 0x00 };   /* CLIENT_SSL set */
	size_t n = 5;

	memcpy(greeting + n, "8.0.36\0", 7);
	n += 7;
	memset(greeting + n, 0x11, 20);
	n += 20;
	greeting[0] = (uint8_t)(n - 4);
	tlsfx_add(t, TLS_FROM_SERVER, greeting, n);
	tlsfx_add(t, TLS_FROM_CLIENT, ssl_request, sizeof(ssl_request));
}

static void pre_connect(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_CLIENT, "CONNECT server.example:443 HTTP/1.1\r\nHost: server.example:443\r\n\r\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n");
}

static void pre_socks5(struct tlsfx_transcript *t)
{
	static const uint8_t hello[] = { 5, 1, 0 }, choice[] = { 5, 0 };
	static const uint8_t req[] = { 5, 1, 0, 3, 14, 's', 'e', 'r', 'v', 'e', 'r', '.', 'e', 'x', 'a',
				       'm', 'p', 'l', 'e', 0x01, 0xbb };
	static const uint8_t rep[] = { 5, 0, 0, 1, 10, 0, 0, 1, 0x01, 0xbb };

	tlsfx_add(t, TLS_FROM_CLIENT, hello, sizeof(hello));
	tlsfx_add(t, TLS_FROM_SERVER, choice, sizeof(choice));
	tlsfx_add(t, TLS_FROM_CLIENT, req, sizeof(req));
	tlsfx_add(t, TLS_FROM_SERVER, rep, sizeof(rep));
}

static void pre_socks4a(struct tlsfx_transcript *t)
{
	static const uint8_t req[] = { 4, 1, 0x01, 0xbb, 0, 0, 0, 1, 'u', 0,
				       's', 'e', 'r', 'v', 'e', 'r', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	static const uint8_t rep[] = { 0, 0x5a, 0, 0, 0, 0, 0, 0 };

	tlsfx_add(t, TLS_FROM_CLIENT, req, sizeof(req));
	tlsfx_add(t, TLS_FROM_SERVER, rep, sizeof(rep));
}

static void pre_banners(struct tlsfx_transcript *t)
{
	tlsfx_add_str(t, TLS_FROM_CLIENT, "NXSH-8.10.1\n");
	tlsfx_add_str(t, TLS_FROM_SERVER, "NXD-8.10.1\n");
}

Test(tls_preamble, smtp_starttls) { preamble_case(pre_smtp, "SMTP STARTTLS"); }
Test(tls_preamble, imap_starttls) { preamble_case(pre_imap, "IMAP STARTTLS"); }
Test(tls_preamble, pop3_stls) { preamble_case(pre_pop3, "POP3 STLS"); }
Test(tls_preamble, ftp_auth_tls) { preamble_case(pre_ftp, "FTP AUTH TLS"); }
Test(tls_preamble, irc_starttls) { preamble_case(pre_irc, "IRC STARTTLS"); }
Test(tls_preamble, xmpp_starttls) { preamble_case(pre_xmpp, "XMPP STARTTLS"); }
Test(tls_preamble, ldap_starttls) { preamble_case(pre_ldap, "LDAP StartTLS"); }
Test(tls_preamble, postgresql_sslrequest) { preamble_case(pre_pgsql, "PostgreSQL SSLRequest"); }
Test(tls_preamble, mysql_ssl_request) { preamble_case(pre_mysql, "MySQL SSL"); }
Test(tls_preamble, http_connect) { preamble_case(pre_connect, "HTTP CONNECT"); }
Test(tls_preamble, socks5) { preamble_case(pre_socks5, "SOCKS5"); }
Test(tls_preamble, socks4a) { preamble_case(pre_socks4a, "SOCKS4a"); }
Test(tls_preamble, any_text_then_client_hello) { preamble_case(pre_banners, "cleartext preamble"); }

Test(tls_preamble, server_side_only_starttls_capture)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t, server_only;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	tlsfx_transcript_init(&server_only);
	pre_smtp(&t);
	make_handshake(&o, &t);
	for (unsigned i = 0; i < t.n_flights; i++)
		if (t.flights[i].dir == TLS_FROM_SERVER)
			tlsfx_add(&server_only, TLS_FROM_SERVER, t.data[1] + t.flights[i].off, t.flights[i].len);
	c = replay_all_splits(&server_only, TLS_CONTINUE);
	s = tls_session(c);
	cr_assert(tls_is_tls(c));
	cr_assert_str_eq(s->preamble, "cleartext preamble");
	cr_assert_eq(s->server_chain.n, 3);
	assert_blob_der(&s->server_chain.certs[2], pki->root, "root");
	tls_end(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	tls_conn_free(c);
	tlsfx_transcript_free(&server_only);
	tlsfx_transcript_free(&t);
}

Test(tls_preamble, refused_starttls_is_not_tls)
{
	struct tls_conn *c = tls_conn_new();
	static const char junk[] = "hello, this is plain text\r\n";
	enum tls_verdict v = TLS_CONTINUE;

	tls_feed(c, TLS_FROM_SERVER, (const uint8_t *)"220 mail ESMTP\r\n", 16, 1);
	tls_feed(c, TLS_FROM_CLIENT, (const uint8_t *)"STARTTLS\r\n", 10, 2);
	tls_feed(c, TLS_FROM_SERVER, (const uint8_t *)"454 TLS not available\r\n", 23, 3);
	for (int i = 0; i < 2000 && v == TLS_CONTINUE; i++)
		v = tls_feed(c, TLS_FROM_CLIENT, (const uint8_t *)junk, sizeof(junk) - 1, 4 + i);
	cr_assert_eq(v, TLS_NOT_TLS);
	cr_assert(!tls_is_tls(c));
	cr_assert_leq(tls_session(c)->bytes[0], TLS_DETECT_WINDOW + sizeof(junk));
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* Not TLS: refused at once                                            */

TestSuite(tls_detect);

Test(tls_detect, http_request_is_refused_on_its_first_bytes)
{
	struct tls_conn *c = tls_conn_new();
	static const char req[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, (const uint8_t *)req, sizeof(req) - 1, 1), TLS_NOT_TLS);
	cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17, 2), TLS_NOT_TLS);
	cr_assert(!tls_is_tls(c));
	tls_end(c);
	cr_assert_eq(tls_session(c)->status, TLS_ST_IN_PROGRESS);
	tls_conn_free(c);
}

Test(tls_detect, binary_junk_is_refused)
{
	struct tls_conn *c = tls_conn_new();
	static const uint8_t junk[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x09, 0, 0, 1, 0 };

	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, junk, sizeof(junk), 1), TLS_NOT_TLS);
	tls_conn_free(c);
	c = tls_conn_new();
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, (const uint8_t *)"\x01\x02\x03\x00\xff", 5, 1), TLS_NOT_TLS);
	tls_conn_free(c);
	c = tls_conn_new();
	cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, (const uint8_t *)"SSH-2.0-OpenSSH_9.2\r\n", 21, 1),
		     TLS_NOT_TLS);
	tls_conn_free(c);
}

Test(tls_detect, client_hello_header_split_waits_for_more)
{
	struct tb client = { .n = 0 }, hs = { .n = 0 };
	struct tls_conn *c = tls_conn_new();

	tb_client_hello(&hs);
	tb_record(&client, TLS_CT_HANDSHAKE, &hs);
	for (size_t i = 0; i < client.n; i++)
		cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, client.b + i, 1, i), TLS_CONTINUE);
	cr_assert(tls_is_tls(c));
	cr_assert(tls_session(c)->have_client_hello);
	cr_assert_eq(tls_session(c)->ts_us, 10, "time of the feed that made the record recognisable");
	tls_end(c);
	cr_assert_eq(tls_session(c)->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(tls_session(c)->reason, "capture ended inside the handshake");
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* Malformed and truncated input                                       */

TestSuite(tls_malformed);

/* A ClientHello, then a server flight holding hs (built by the caller). */
static struct tls_conn *server_flight(const struct tb *hs, enum tls_verdict *v, size_t chunk)
{
	struct tb client = { .n = 0 }, ch = { .n = 0 };
	static struct tb server;
	struct tls_conn *c;
	size_t off = 0;

	tb_client_hello(&ch);
	tb_record(&client, TLS_CT_HANDSHAKE, &ch);
	/* Split the handshake stream into records of at most 16 KiB. */
	server.n = 0;
	while (off < hs->n) {
		size_t n = hs->n - off > 16384 ? 16384 : hs->n - off;
		tb_u8(&server, TLS_CT_HANDSHAKE);
		tb_u16(&server, 0x0303);
		tb_u16(&server, (unsigned)n);
		tb_bytes(&server, hs->b + off, n);
		off += n;
	}
	c = tls_conn_new();
	*v = tls_feed(c, TLS_FROM_CLIENT, client.b, client.n, 1);
	cr_assert_eq(*v, TLS_CONTINUE);
	for (off = 0; off < server.n && *v == TLS_CONTINUE; off += chunk)
		*v = tls_feed(c, TLS_FROM_SERVER, server.b + off,
			      off + chunk > server.n ? server.n - off : chunk, 2);
	return c;
}

Test(tls_malformed, zero_length_certificate_keeps_what_was_parsed)
{
	static struct tb hs;
	static const unsigned lens[] = { 100, 0, 50 };
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;

	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	tb_certificate(&hs, 3, lens);
	for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
		c = server_flight(&hs, &v, chunk);
		s = tls_session(c);
		cr_assert_eq(v, TLS_DONE);
		cr_assert_eq(s->status, TLS_ST_MALFORMED);
		cr_assert_str_eq(s->reason, "zero-length certificate");
		cr_assert(s->server_chain.present);
		cr_assert_eq(s->server_chain.n, 1);
		cr_assert_eq(s->server_chain.certs[0].len, 100);
		tls_conn_free(c);
	}
}

Test(tls_malformed, thirty_three_certificates)
{
	static struct tb hs;
	unsigned lens[33];
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;

	for (int i = 0; i < 33; i++)
		lens[i] = 20 + i;
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	tb_certificate(&hs, 32, lens);
	c = server_flight(&hs, &v, 1000);
	s = tls_session(c);
	cr_assert_eq(v, TLS_CONTINUE, "32 certificates are fine");
	cr_assert_eq(s->server_chain.n, 32);
	tls_conn_free(c);

	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	tb_certificate(&hs, 33, lens);
	c = server_flight(&hs, &v, 1000);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_MALFORMED);
	cr_assert_str_eq(s->reason, "more than 32 certificates in a chain");
	cr_assert_eq(s->server_chain.n, 32);
	cr_assert_eq(s->server_chain.certs[31].len, 20 + 31);
	tls_conn_free(c);
}

Test(tls_malformed, sixteen_mib_length_prefix)
{
	static struct tb hs;
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;

	/* A Certificate message of 2^24 - 1 bytes is what the protocol
	 * allows, so it is read; its first certificate claims 16 MiB - 7,
	 * over the per-certificate cap: that stops it, before any of it is
	 * held, with a reason that names the cap (not "malformed"). */
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	tb_u8(&hs, TLS_HS_CERTIFICATE);
	tb_u24(&hs, 0xffffff);                  /* 16 MiB - 1 */
	tb_u24(&hs, 0xfffffc);
	tb_u24(&hs, 0xfffff9);
	tb_bytes(&hs, "\x30\x82", 2);
	c = server_flight(&hs, &v, 1);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason,
			 "server's certificate of 16777209 bytes is over the 1024 KiB cap");
	cr_assert(s->server_chain.present);
	cr_assert(s->server_chain.truncated);
	cr_assert_eq(s->server_chain.n, 0);
	tls_conn_free(c);
}

Test(tls_malformed, lengths_that_overrun)
{
	static struct tb hs;
	static const unsigned lens[] = { 60, 70 };
	struct tls_conn *c;
	enum tls_verdict v;
	const struct tls_session *s;
	size_t at;

	/* Certificate entry claiming more than its list holds. */
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	at = hs.n;
	tb_certificate(&hs, 2, lens);
	hs.b[at + 4 + 3 + 3 + 60 + 2] += 5;     /* second entry's length low byte */
	c = server_flight(&hs, &v, 7);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_MALFORMED);
	cr_assert_str_eq(s->reason, "Certificate: an entry overruns the list");
	cr_assert_eq(s->server_chain.n, 1);
	tls_conn_free(c);

	/* Certificate list length disagreeing with the message. */
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	at = hs.n;
	tb_certificate(&hs, 2, lens);
	hs.b[at + 4 + 2] -= 1;
	c = server_flight(&hs, &v, 7);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_str_eq(tls_session(c)->reason, "Certificate: list length does not match the message");
	tls_conn_free(c);

	/* ServerHello whose session id runs past the message. */
	hs.n = 0;
	tb_server_hello(&hs, 0xc02f);
	hs.b[4 + 2 + 32] = 32;
	c = server_flight(&hs, &v, 3);
	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(tls_session(c)->status, TLS_ST_MALFORMED);
	cr_assert_str_eq(tls_session(c)->reason, "ServerHello: a field overruns the message");
	tls_conn_free(c);

	/* ClientHello whose cipher suite length runs past the message. */
	{
		struct tb client = { .n = 0 }, ch = { .n = 0 };

		tb_client_hello(&ch);
		ch.b[4 + 2 + 32 + 1] = 0x40;
		tb_record(&client, TLS_CT_HANDSHAKE, &ch);
		c = tls_conn_new();
		cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, client.b, client.n, 1), TLS_DONE);
		cr_assert_eq(tls_session(c)->status, TLS_ST_MALFORMED);
		cr_assert_str_eq(tls_session(c)->reason, "ClientHello: a field overruns the message");
		tls_conn_free(c);
	}

	/* Not a record header after a good ClientHello. */
	{
		struct tb client = { .n = 0 }, ch = { .n = 0 };

		tb_client_hello(&ch);
		tb_record(&client, TLS_CT_HANDSHAKE, &ch);
		tb_bytes(&client, "GET / HTTP/1.1\r\n", 16);
		c = tls_conn_new();
		cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, client.b, client.n, 1), TLS_DONE);
		cr_assert_eq(tls_session(c)->status, TLS_ST_MALFORMED);
		cr_assert_not_null(strstr(tls_session(c)->reason, "not a TLS record header"));
		tls_conn_free(c);
	}
}

TestSuite(tls_truncated, .init = pki_setup, .fini = pki_teardown);

Test(tls_truncated, gap_inside_server_certificate)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;
	const struct tlsfx_flight *f;
	uint8_t *leaf;
	int leaf_len = tlsfx_der(pki->leaf, &leaf);
	size_t cut;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	/* Flight 0: ClientHello; flight 1: the server's first flight.  Keep its
	 * bytes up to the end of the leaf, lose 10 bytes, then stop. */
	f = &t.flights[1];
	cr_assert_eq(f->dir, TLS_FROM_SERVER);
	{
		uint8_t *hit = memmem(t.data[1] + f->off, f->len, leaf, (size_t)leaf_len);
		cr_assert_not_null(hit);
		cut = (size_t)(hit - (t.data[1] + f->off)) + (size_t)leaf_len + 5;
	}
	c = tls_conn_new();
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, t.data[0] + t.flights[0].off, t.flights[0].len, 1),
		     TLS_CONTINUE);
	for (size_t i = 0; i < cut; i += 100)
		cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, t.data[1] + f->off + i,
				      i + 100 > cut ? cut - i : 100, 2), TLS_CONTINUE);
	cr_assert_eq(tls_gap(c, TLS_FROM_SERVER, 10), TLS_DONE);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason, "gap of 10 bytes inside the server's Certificate message");
	cr_assert(s->server_chain.present);
	cr_assert(s->server_chain.truncated);
	cr_assert_eq(s->server_chain.n, 1, "the leaf arrived whole");
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "leaf");
	tls_end(c);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	tls_conn_free(c);
	OPENSSL_free(leaf);
	tlsfx_transcript_free(&t);
}

Test(tls_truncated, capture_ends_inside_certificate)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	c = tls_conn_new();
	tls_feed(c, TLS_FROM_CLIENT, t.data[0] + t.flights[0].off, t.flights[0].len, 1);
	tls_feed(c, TLS_FROM_SERVER, t.data[1] + t.flights[1].off, 300, 2);
	tls_end(c);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert_str_eq(s->reason, "capture ended inside the server's Certificate message");
	cr_assert(s->server_chain.truncated);
	cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, t.data[1], 1, 3), TLS_DONE);
	tls_conn_free(c);
	tlsfx_transcript_free(&t);
}

/* ------------------------------------------------------------------ */
/* IANA names                                                          */

TestSuite(tls_names);

Test(tls_names, cipher_version_and_alert_names)
{
	char buf[32];

	cr_assert_str_eq(tls_cipher_name(0xc02f, buf, sizeof(buf)), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	cr_assert_str_eq(tls_cipher_name(0x1301, buf, sizeof(buf)), "TLS_AES_128_GCM_SHA256");
	cr_assert_str_eq(tls_cipher_name(0x0005, buf, sizeof(buf)), "TLS_RSA_WITH_RC4_128_SHA");
	cr_assert_str_eq(tls_cipher_name(0x0000, buf, sizeof(buf)), "TLS_NULL_WITH_NULL_NULL");
	cr_assert_str_eq(tls_cipher_name(0xcca8, buf, sizeof(buf)), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	cr_assert_str_eq(tls_cipher_name(0x00ff, buf, sizeof(buf)), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
	cr_assert_str_eq(tls_cipher_name(0x0a0a, buf, sizeof(buf)), "unknown (0x0a0a)");
	cr_assert_str_eq(tls_version_name(0x0300), "SSL 3.0");
	cr_assert_str_eq(tls_version_name(0x0303), "TLS 1.2");
	cr_assert_str_eq(tls_version_name(0x0304), "TLS 1.3");
	cr_assert_str_eq(tls_alert_name(42), "bad_certificate");
	cr_assert_str_eq(tls_alert_name(46), "certificate_unknown");
	cr_assert_str_eq(tls_alert_name(70), "protocol_version");
	cr_assert_str_eq(tls_alert_name(40), "handshake_failure");
	cr_assert_str_eq(tls_alert_name(200), "unknown");
}

/* ------------------------------------------------------------------ */
/* TLS 1.3 read with the client's key log                              */

TestSuite(tls13_keylog, .init = pki_setup, .fini = pki_teardown);

static struct kl_store *store_of(const struct tlsfx_transcript *t)
{
	struct kl_store *k = kl_store_new();

	cr_assert_not_null(k);
	cr_assert_gt(t->keylog_len, 0, "the client logged its secrets");
	kl_add_text(k, t->keylog, t->keylog_len);
	cr_assert_eq(kl_stats(k)->garbage, 0);
	return k;
}

static void assert_server_chain_of_three(const struct tls_session *s)
{
	cr_assert(s->server_chain.present);
	cr_assert(!s->server_chain.truncated);
	cr_assert_eq(s->server_chain.n, 3);
	assert_blob_der(&s->server_chain.certs[0], pki->leaf, "leaf");
	assert_blob_der(&s->server_chain.certs[1], pki->inter, "intermediate");
	assert_blob_der(&s->server_chain.certs[2], pki->root, "root");
}

/* A full TLS 1.3 handshake with `suites`, read in every split with the
 * key log: the chain the server sent, and the suite OpenSSL chose. */
static void suite_case(const char *suites, uint16_t want_cipher)
{
	static const unsigned char alpn[] = "\x03sip\x08http/1.1";
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION,
		.send_chain = true, .sni = "server.example", .ciphersuites = suites,
		.alpn = alpn, .alpn_len = sizeof(alpn) - 1, .server_selects_alpn = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	cr_assert_eq(t.cipher, want_cipher);
	k = store_of(&t);
	c = replay_all_splits_keys(&t, TLS_DONE, k);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	cr_assert_eq(s->version, 0x0304);
	cr_assert_eq(s->cipher, want_cipher);
	cr_assert(s->decrypted);
	cr_assert_null(s->decrypt_error, "%s", s->decrypt_error);
	cr_assert(s->certificates_visible);
	cr_assert(!s->resumed);
	assert_server_chain_of_three(s);
	cr_assert(!s->certificate_request);
	cr_assert(!s->client_chain.present);
	cr_assert_str_eq(s->alpn_selected, "sip", "ALPN from EncryptedExtensions");
	cr_assert(!s->ccs_seen[TLS_FROM_SERVER] || s->status == TLS_ST_COMPLETE);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

Test(tls13_keylog, aes_128_gcm_sha256_chain_in_every_split)
{
	suite_case("TLS_AES_128_GCM_SHA256", 0x1301);
}

Test(tls13_keylog, aes_256_gcm_sha384_chain_in_every_split)
{
	suite_case("TLS_AES_256_GCM_SHA384", 0x1302);
}

Test(tls13_keylog, chacha20_poly1305_sha256_chain_in_every_split)
{
	suite_case("TLS_CHACHA20_POLY1305_SHA256", 0x1303);
}

Test(tls13_keylog, without_a_key_log_the_chain_stays_hidden)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *empty = kl_store_new();
	struct tls_conn *c;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	c = replay_all_splits_keys(&t, TLS_DONE, empty);
	cr_assert(!tls_session(c)->certificates_visible);
	cr_assert(!tls_session(c)->decrypted);
	cr_assert_null(tls_session(c)->decrypt_error);
	cr_assert(!tls_session(c)->server_chain.present);
	tls_conn_free(c);
	kl_store_free(empty);
	tlsfx_transcript_free(&t);
}

Test(tls13_keylog, mutual_tls_client_chain_and_certificate_authorities)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
		.request_client_cert = true, .client_cert = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	k = store_of(&t);
	c = replay_all_splits_keys(&t, TLS_DONE, k);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	assert_server_chain_of_three(s);
	cr_assert(s->certificate_request);
	cr_assert_eq(s->n_ca_names, 2, "certificate_authorities extension");
	assert_blob_name(&s->ca_names[0], pki->client_ca, "first CA name");
	assert_blob_name(&s->ca_names[1], pki->root, "second CA name");
	cr_assert(s->client_chain.present);
	cr_assert_eq(s->client_chain.n, 1);
	assert_blob_der(&s->client_chain.certs[0], pki->client, "client certificate");
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

Test(tls13_keylog, mutual_tls_client_without_certificate)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
		.request_client_cert = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	k = store_of(&t);
	c = replay_all_splits_keys(&t, TLS_DONE, k);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	assert_server_chain_of_three(s);
	cr_assert(s->certificate_request);
	cr_assert(s->client_chain.present, "an empty Certificate message");
	cr_assert_eq(s->client_chain.n, 0);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* The client's key share is X25519 only, the server wants P-256: a
 * HelloRetryRequest, then the real ServerHello; one client random. */
Test(tls13_keylog, hello_retry_request_then_the_real_server_hello)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
		.client_groups = "X25519:P-256", .server_groups = "P-256",
		.request_client_cert = true, .client_cert = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert(t.client_done && t.server_done);
	k = store_of(&t);
	c = replay_all_splits_keys(&t, TLS_DONE, k);
	s = tls_session(c);
	cr_assert(s->hello_retry_request);
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	cr_assert(memcmp(s->client_random, t.client_random, 32) == 0);
	cr_assert(s->certificates_visible);
	assert_server_chain_of_three(s);
	cr_assert_eq(s->client_chain.n, 1);
	assert_blob_der(&s->client_chain.certs[0], pki->client, "client certificate");
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* One byte of the server's secret changed: its first record does not
 * open; the session says why and nothing is parsed from it. */
Test(tls13_keylog, wrong_key_log_is_said_and_shows_no_chain)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;
	char *line, *secret;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	line = strstr(t.keylog, "SERVER_HANDSHAKE_TRAFFIC_SECRET ");
	cr_assert_not_null(line);
	secret = line + strlen("SERVER_HANDSHAKE_TRAFFIC_SECRET ") + 64 + 1;
	secret[5] = secret[5] == '0' ? '1' : '0';
	k = store_of(&t);
	c = replay_all_splits_keys(&t, TLS_DONE, k);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert_not_null(s->decrypt_error);
	cr_assert(strstr(s->decrypt_error, "did not decrypt") && strstr(s->decrypt_error, "wrong key log"),
		  "%s", s->decrypt_error);
	cr_assert(!s->decrypted);
	cr_assert(!s->certificates_visible);
	cr_assert(!s->server_chain.present);
	cr_assert_eq(s->server_chain.n, 0);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* Two handshakes, a key log holding only the first's lines. */
Test(tls13_keylog, key_log_without_a_session_leaves_that_one_hidden)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t1, t2;
	struct kl_store *k;
	struct tls_conn *c1, *c2;

	tlsfx_transcript_init(&t1);
	tlsfx_transcript_init(&t2);
	make_handshake(&o, &t1);
	make_handshake(&o, &t2);
	cr_assert(memcmp(t1.client_random, t2.client_random, 32) != 0);
	k = store_of(&t1);
	c1 = tls_conn_new_with_keys(k);
	c2 = tls_conn_new_with_keys(k);
	cr_assert_eq(tlsfx_replay(c1, &t1, 0, 0, 1000), TLS_DONE);
	cr_assert_eq(tlsfx_replay(c2, &t2, 0, 0, 2000), TLS_DONE);
	cr_assert(tls_session(c1)->certificates_visible);
	assert_server_chain_of_three(tls_session(c1));
	cr_assert(!tls_session(c2)->certificates_visible);
	cr_assert(!tls_session(c2)->decrypted);
	cr_assert_null(tls_session(c2)->decrypt_error, "no secrets is not a wrong key");
	cr_assert(!tls_session(c2)->server_chain.present);
	tls_conn_free(c1);
	tls_conn_free(c2);
	kl_store_free(k);
	tlsfx_transcript_free(&t1);
	tlsfx_transcript_free(&t2);
}

/* A key log with only the server's secret: the server's chain is read, the
 * client's encrypted flight is left alone. */
Test(tls13_keylog, server_secret_alone_is_enough_for_the_server_chain)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
		.request_client_cert = true, .client_cert = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k = kl_store_new();
	struct tls_conn *c;
	const struct tls_session *s;
	char *line, *end;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	line = strstr(t.keylog, "SERVER_HANDSHAKE_TRAFFIC_SECRET ");
	cr_assert_not_null(line);
	end = strchr(line, '\n');
	kl_add_text(k, line, (size_t)(end - line));
	c = tls_conn_new_with_keys(k);
	cr_assert_eq(tlsfx_replay(c, &t, 0, 0, 1000), TLS_DONE);
	s = tls_session(c);
	cr_assert(s->certificates_visible);
	assert_server_chain_of_three(s);
	cr_assert(s->certificate_request);
	cr_assert(!s->client_chain.present);
	cr_assert_null(s->decrypt_error);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* A PSK resumption: the encrypted flight opens but holds no Certificate. */
Test(tls13_keylog, resumed_session_has_no_certificate_to_show)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_pair pair;
	struct tlsfx_transcript first, t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;

	cr_assert(tlsfx_pair_init(&pair, pki, &o));
	tlsfx_transcript_init(&first);
	tlsfx_transcript_init(&t);
	cr_assert(tlsfx_handshake(&pair, &o, NULL, &first));
	cr_assert_not_null(first.session);
	cr_assert(tlsfx_handshake(&pair, &o, first.session, &t));
	cr_assert(t.reused, "OpenSSL resumed");
	k = store_of(&t);
	c = replay_all_splits_keys(&t, TLS_DONE, k);
	s = tls_session(c);
	cr_assert(s->resumed);
	cr_assert(s->decrypted);
	cr_assert_null(s->decrypt_error);
	cr_assert(!s->server_chain.present);
	cr_assert(!s->certificates_visible);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_pair_free(&pair);
	tlsfx_transcript_free(&first);
	tlsfx_transcript_free(&t);
}

/* The capture ends halfway through the server's encrypted flight. */
Test(tls13_keylog, capture_cut_inside_the_encrypted_flight_is_truncated)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;
	const struct tlsfx_flight *cf = &t.flights[0], *sf = &t.flights[1];

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert_eq(cf->dir, TLS_FROM_CLIENT);
	cr_assert_eq(sf->dir, TLS_FROM_SERVER);
	k = store_of(&t);
	c = tls_conn_new_with_keys(k);
	cr_assert_eq(tls_feed(c, TLS_FROM_CLIENT, t.data[0] + cf->off, cf->len, 1), TLS_CONTINUE);
	cr_assert_eq(tls_feed(c, TLS_FROM_SERVER, t.data[1] + sf->off, sf->len - 200, 2), TLS_CONTINUE);
	tls_end(c);
	s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_TRUNCATED);
	cr_assert(strstr(s->reason, "server's encrypted handshake") || strstr(s->reason, "Certificate"),
		  "%s", s->reason);
	cr_assert_null(s->decrypt_error);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* A record damaged after the Certificate (the server's Finished): what was
 * read from records that verified stays, and the session says the rest did
 * not open. */
Test(tls13_keylog, tampered_record_after_the_chain_ends_with_decrypt_error)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k;
	struct tls_conn *c;
	const struct tls_session *s;
	const struct tlsfx_flight *sf;
	uint8_t *p;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	k = store_of(&t);
	/* The last byte of the server's first flight is the Finished record's tag. */
	sf = &t.flights[1];
	p = t.data[TLS_FROM_SERVER] + sf->off + sf->len - 1;
	*p ^= 0x80;
	c = tls_conn_new_with_keys(k);
	cr_assert_eq(tlsfx_replay(c, &t, 0, 0, 1000), TLS_DONE);
	s = tls_session(c);
	cr_assert_not_null(s->decrypt_error);
	cr_assert(s->decrypted, "the records before it opened");
	assert_server_chain_of_three(s);
	cr_assert(s->certificates_visible, "the chain came from records that did verify");
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* A live key log: the secrets come after the records (every split). */
Test(tls13_keylog, secrets_that_come_after_the_records_open_the_kept_ones)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	for (size_t i = 0; i < N_SPLITS; i++) {
		struct kl_store *k = kl_store_new();
		struct tls_conn *c = tls_conn_new_with_keys(k);

		tls_conn_wait_for_keys(c);
		cr_assert_eq(tlsfx_replay(c, &t, splits[i].chunk, splits[i].seed, 1000), TLS_CONTINUE,
			     "split %zu: waits", splits[i].chunk);
		cr_assert(tls_awaiting_keys(c));
		cr_assert_eq(tls_retry_keys(c), TLS_CONTINUE, "nothing in the store yet");
		kl_add_text(k, t.keylog, t.keylog_len);
		cr_assert_eq(tls_retry_keys(c), TLS_DONE, "split %zu", splits[i].chunk);
		const struct tls_session *s = tls_session(c);
		cr_assert(!tls_awaiting_keys(c));
		cr_assert_eq(s->status, TLS_ST_COMPLETE, "%s", s->reason ? s->reason : "-");
		cr_assert(s->decrypted && s->certificates_visible);
		assert_server_chain_of_three(s);
		tls_conn_free(c);
		kl_store_free(k);
	}
	tlsfx_transcript_free(&t);
}

Test(tls13_keylog, a_conn_whose_secrets_never_come_ends_hidden)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k = kl_store_new();
	struct tls_conn *c = tls_conn_new_with_keys(k);

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	tls_conn_wait_for_keys(c);
	cr_assert_eq(tlsfx_replay(c, &t, 0, 0, 1000), TLS_CONTINUE);
	tls_end(c);
	const struct tls_session *s = tls_session(c);
	cr_assert_eq(s->status, TLS_ST_COMPLETE);
	cr_assert(!s->certificates_visible && !s->server_chain.present);
	cr_assert(!tls_awaiting_keys(c));
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

Test(tls13_keylog, without_waiting_a_conn_with_no_secrets_ends_at_the_server_hello)
{
	struct tlsfx_opts o = {
		.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .send_chain = true,
	};
	struct tlsfx_transcript t;
	struct kl_store *k = kl_store_new();
	struct tls_conn *c = tls_conn_new_with_keys(k);

	tlsfx_transcript_init(&t);
	make_handshake(&o, &t);
	cr_assert_eq(tlsfx_replay(c, &t, 0, 0, 1000), TLS_DONE);
	cr_assert(!tls_session(c)->certificates_visible);
	tls_conn_free(c);
	kl_store_free(k);
	tlsfx_transcript_free(&t);
}

/* ------------------------------------------------------------------ */
/* TLS 1.3 records sealed here: what OpenSSL never sends               */

/* The server's side of a hand-made TLS 1.3 handshake under a known
 * secret: ServerHello in clear, then records sealed with AES-128-GCM. */
struct tb13 {
	struct tb wire;
	uint8_t key[16], iv[12];
	uint64_t seq;
};

static const uint8_t tb13_secret[32] = {
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
};

static void tb13_start(struct tb13 *t)
{
	struct tb hs = { .n = 0 };
	size_t msg, exts;
	uint8_t random[32];

	memset(t, 0, sizeof(*t));
	cr_assert(tls_hkdf_expand_label("SHA256", tb13_secret, 32, "key", NULL, 0, t->key, 16));
	cr_assert(tls_hkdf_expand_label("SHA256", tb13_secret, 32, "iv", NULL, 0, t->iv, 12));
	memset(random, 0x42, sizeof(random));
	tb_u8(&hs, TLS_HS_SERVER_HELLO);
	msg = tb_open(&hs, 3);
	tb_u16(&hs, 0x0303);
	tb_bytes(&hs, random, 32);
	tb_u8(&hs, 0);
	tb_u16(&hs, 0x1301);
	tb_u8(&hs, 0);
	exts = tb_open(&hs, 2);
	tb_u16(&hs, 43);                                /* supported_versions */
	tb_u16(&hs, 2);
	tb_u16(&hs, 0x0304);
	tb_close(&hs, exts);
	tb_close(&hs, msg);
	tb_record(&t->wire, TLS_CT_HANDSHAKE, &hs);
}

/* One protected record: content, its type, `pad` zero bytes. */
static void tb13_seal(struct tb13 *t, unsigned type, const uint8_t *p, size_t n, size_t pad)
{
	uint8_t inner[4096], nonce[12], hdr[5];
	size_t len = n + 1 + pad, total = len + 16;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	int out = 0;

	cr_assert(len <= sizeof(inner));
	if (n)
		memcpy(inner, p, n);
	inner[n] = (uint8_t)type;
	memset(inner + n + 1, 0, pad);
	memcpy(nonce, t->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(t->seq >> (8 * i));
	t->seq++;
	hdr[0] = TLS_CT_APPLICATION_DATA;
	hdr[1] = 3;
	hdr[2] = 3;
	hdr[3] = (uint8_t)(total >> 8);
	hdr[4] = (uint8_t)total;
	tb_bytes(&t->wire, hdr, 5);
	cr_assert(EVP_EncryptInit_ex2(ctx, aes, t->key, nonce, NULL) == 1);
	cr_assert(EVP_EncryptUpdate(ctx, NULL, &out, hdr, 5) == 1);
	cr_assert(EVP_EncryptUpdate(ctx, t->wire.b + t->wire.n, &out, inner, (int)len) == 1);
	t->wire.n += (size_t)out;
	cr_assert(EVP_EncryptFinal_ex(ctx, t->wire.b + t->wire.n, &out) == 1);
	cr_assert(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, t->wire.b + t->wire.n) == 1);
	t->wire.n += 16;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(aes);
}

/* Feeds tb_client_hello() and the server's records with a key log holding
 * only the server's secret; returns the conn after tls_end(). */
static struct tls_conn *tb13_run(const struct tb13 *t, struct kl_store **k, enum tls_verdict *v)
{
	struct tb hs = { .n = 0 }, client = { .n = 0 };
	char line[256];
	struct tls_conn *c;
	int at;

	tb_client_hello(&hs);
	tb_record(&client, TLS_CT_HANDSHAKE, &hs);
	at = snprintf(line, sizeof(line), "SERVER_HANDSHAKE_TRAFFIC_SECRET ");
	for (int i = 0; i < 32; i++)
		at += snprintf(line + at, sizeof(line) - (size_t)at, "00");
	line[at++] = ' ';
	for (int i = 0; i < 32; i++)
		at += snprintf(line + at, sizeof(line) - (size_t)at, "%02x", tb13_secret[i]);
	*k = kl_store_new();
	kl_add_text(*k, line, (size_t)at);
	cr_assert_eq(kl_stats(*k)->used, 1);
	c = tls_conn_new_with_keys(*k);
	*v = tls_feed(c, TLS_FROM_CLIENT, client.b, client.n, 10);
	cr_assert_eq(*v, TLS_CONTINUE);
	*v = tls_feed(c, TLS_FROM_SERVER, t->wire.b, t->wire.n, 20);
	tls_end(c);
	return c;
}

static void tb13_expect_malformed(const struct tb13 *t, const char *why)
{
	struct kl_store *k;
	enum tls_verdict v;
	struct tls_conn *c = tb13_run(t, &k, &v);
	const struct tls_session *s = tls_session(c);

	cr_assert_eq(v, TLS_DONE);
	cr_assert_eq(s->status, TLS_ST_MALFORMED, "status %d", s->status);
	cr_assert(s->reason && strstr(s->reason, why), "reason: %s", s->reason ? s->reason : "-");
	cr_assert(!s->certificates_visible);
	cr_assert(s->decrypted);
	tls_conn_free(c);
	kl_store_free(k);
}

TestSuite(tls13_sealed);

Test(tls13_sealed, certificate_across_records_with_padding_then_finished)
{
	struct tb13 t;
	struct tb hs = { .n = 0 };
	size_t msg, list, exts;
	uint8_t finished[4 + 32] = { TLS_HS_FINISHED, 0, 0, 32 };
	struct kl_store *k;
	enum tls_verdict v;
	struct tls_conn *c;
	const struct tls_session *s;

	tb13_start(&t);
	tb_u8(&hs, TLS_HS_ENCRYPTED_EXTENSIONS);
	msg = tb_open(&hs, 3);
	exts = tb_open(&hs, 2);
	tb_u16(&hs, 16);                                /* ALPN: "sip" */
	tb_u16(&hs, 6);
	tb_u16(&hs, 4);
	tb_u8(&hs, 3);
	tb_bytes(&hs, "sip", 3);
	tb_close(&hs, exts);
	tb_close(&hs, msg);
	tb_u8(&hs, TLS_HS_CERTIFICATE);
	msg = tb_open(&hs, 3);
	tb_u8(&hs, 0);                                  /* request context */
	list = tb_open(&hs, 3);
	for (unsigned i = 0; i < 2; i++) {
		tb_u24(&hs, 40);
		for (unsigned b = 0; b < 40; b++)
			tb_u8(&hs, b == 0 ? 0x30 : (uint8_t)(i + b));
		tb_u16(&hs, 0);                         /* no extensions */
	}
	tb_close(&hs, list);
	tb_close(&hs, msg);
	/* EncryptedExtensions and half the Certificate, then the rest with
	 * the Finished; padding on both. */
	tb13_seal(&t, TLS_CT_HANDSHAKE, hs.b, 40, 7);
	memcpy(hs.b + hs.n, finished, sizeof(finished));
	hs.n += sizeof(finished);
	tb13_seal(&t, TLS_CT_HANDSHAKE, hs.b + 40, hs.n - 40, 100);
	c = tb13_run(&t, &k, &v);
	s = tls_session(c);
	cr_assert_eq(v, TLS_DONE, "both sides done: the client has no secret");
	cr_assert_eq(s->status, TLS_ST_COMPLETE, "reason: %s", s->reason ? s->reason : "-");
	cr_assert(s->decrypted);
	cr_assert(s->certificates_visible);
	cr_assert_eq(s->server_chain.n, 2);
	cr_assert_eq(s->server_chain.certs[1].len, 40);
	cr_assert_eq(s->server_chain.certs[1].data[1], 2);
	cr_assert_str_eq(s->alpn_selected, "sip");
	tls_conn_free(c);
	kl_store_free(k);
}

Test(tls13_sealed, record_of_only_zeros_has_no_content_type)
{
	struct tb13 t;

	tb13_start(&t);
	tb13_seal(&t, 0, NULL, 0, 20);
	tb13_expect_malformed(&t, "no content type");
}

Test(tls13_sealed, unknown_inner_content_type)
{
	struct tb13 t;
	static const uint8_t junk[3] = { 1, 2, 3 };

	tb13_start(&t);
	tb13_seal(&t, 99, junk, sizeof(junk), 0);
	tb13_expect_malformed(&t, "inner content type 99");
}

Test(tls13_sealed, certificate_entry_extensions_overrun)
{
	struct tb13 t;
	struct tb hs = { .n = 0 };
	size_t msg, list;

	tb13_start(&t);
	tb_u8(&hs, TLS_HS_CERTIFICATE);
	msg = tb_open(&hs, 3);
	tb_u8(&hs, 0);
	list = tb_open(&hs, 3);
	tb_u24(&hs, 3);
	tb_bytes(&hs, "\x30\x01\x00", 3);
	tb_u16(&hs, 50);                                /* 50 bytes of extensions: none follow */
	tb_close(&hs, list);
	tb_close(&hs, msg);
	tb13_seal(&t, TLS_CT_HANDSHAKE, hs.b, hs.n, 0);
	tb13_expect_malformed(&t, "extensions overrun");
}

Test(tls13_sealed, zero_length_certificate)
{
	struct tb13 t;
	struct tb hs = { .n = 0 };
	size_t msg, list;

	tb13_start(&t);
	tb_u8(&hs, TLS_HS_CERTIFICATE);
	msg = tb_open(&hs, 3);
	tb_u8(&hs, 0);
	list = tb_open(&hs, 3);
	tb_u24(&hs, 0);
	tb_u16(&hs, 0);
	tb_close(&hs, list);
	tb_close(&hs, msg);
	tb13_seal(&t, TLS_CT_HANDSHAKE, hs.b, hs.n, 0);
	tb13_expect_malformed(&t, "zero-length certificate");
}

Test(tls13_sealed, certificate_request_authorities_overrun)
{
	struct tb13 t;
	struct tb hs = { .n = 0 };
	size_t msg, exts, ext;

	tb13_start(&t);
	tb_u8(&hs, TLS_HS_CERTIFICATE_REQUEST);
	msg = tb_open(&hs, 3);
	tb_u8(&hs, 0);
	exts = tb_open(&hs, 2);
	tb_u16(&hs, 47);                                /* certificate_authorities */
	ext = tb_open(&hs, 2);
	tb_u16(&hs, 9);                                 /* 9 bytes of names: 2 follow */
	tb_u16(&hs, 0);
	tb_close(&hs, ext);
	tb_close(&hs, exts);
	tb_close(&hs, msg);
	tb13_seal(&t, TLS_CT_HANDSHAKE, hs.b, hs.n, 0);
	tb13_expect_malformed(&t, "certificate_authorities overruns");
}
