/*
 * tls_fixture.c — in-memory OpenSSL handshakes recorded per direction.
 *
 * Keys are P-256 (fast to make); certificates are X.509 v3 signed with
 * ECDSA-SHA256, made here with the OpenSSL API, so the tests need no files.
 * Each handshake runs both SSL objects over memory BIO pairs: after every
 * step, whatever one side wrote is appended to that direction's transcript
 * as one flight and handed to the other side, which is the order a capture
 * would show.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tests/tls_fixture.h"

static EVP_PKEY *tlsfx_key(void)
{
	return EVP_EC_gen("P-256");
}

static bool tlsfx_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A certificate for `cn` with key `key`, signed by issuer (self if NULL). */
static X509 *tlsfx_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
			bool ca, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (!x || !name)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"certtrace tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600);
	X509_set_pubkey(x, key);
	if (!tlsfx_add_ext(x, issuer ? issuer : x, NID_basic_constraints,
			   ca ? "critical,CA:TRUE" : "CA:FALSE"))
		goto fail;
	if (ca && !tlsfx_add_ext(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign"))
		goto fail;
	if (!ca) {
		char san[300];
		snprintf(san, sizeof(san), "DNS:%s", cn);
		if (!tlsfx_add_ext(x, issuer ? issuer : x, NID_subject_alt_name, san))
			goto fail;
	}
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

struct tlsfx_pki *tlsfx_pki_new(void)
{
	struct tlsfx_pki *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->root_key = tlsfx_key();
	k->inter_key = tlsfx_key();
	k->leaf_key = tlsfx_key();
	k->client_ca_key = tlsfx_key();
	k->client_key = tlsfx_key();
	k->other_key = tlsfx_key();
	if (!k->root_key || !k->inter_key || !k->leaf_key || !k->client_ca_key ||
	    !k->client_key || !k->other_key)
		goto fail;
	k->root = tlsfx_cert("Test Root CA", k->root_key, NULL, NULL, true, 1);
	k->inter = tlsfx_cert("Test Issuing CA", k->inter_key, k->root, k->root_key, true, 2);
	k->leaf = tlsfx_cert("server.example", k->leaf_key, k->inter, k->inter_key, false, 3);
	k->client_ca = tlsfx_cert("Test Client CA", k->client_ca_key, NULL, NULL, true, 4);
	k->client = tlsfx_cert("phone.example", k->client_key, k->client_ca, k->client_ca_key, false, 5);
	k->other = tlsfx_cert("Test Root CA (another)", k->other_key, NULL, NULL, true, 6);
	if (!k->root || !k->inter || !k->leaf || !k->client_ca || !k->client || !k->other)
		goto fail;
	return k;
fail:
	tlsfx_pki_free(k);
	return NULL;
}

void tlsfx_pki_free(struct tlsfx_pki *k)
{
	if (!k)
		return;
	X509_free(k->root);
	X509_free(k->inter);
	X509_free(k->leaf);
	X509_free(k->client_ca);
	X509_free(k->client);
	X509_free(k->other);
	EVP_PKEY_free(k->root_key);
	EVP_PKEY_free(k->inter_key);
	EVP_PKEY_free(k->leaf_key);
	EVP_PKEY_free(k->client_ca_key);
	EVP_PKEY_free(k->client_key);
	EVP_PKEY_free(k->other_key);
	free(k);
}

int tlsfx_der(X509 *x, uint8_t **out)
{
	*out = NULL;
	return i2d_X509(x, out);
}

int tlsfx_name_der(X509 *x, uint8_t **out)
{
	*out = NULL;
	return i2d_X509_NAME(X509_get_subject_name(x), out);
}

static int tlsfx_accept_any(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

/* OpenSSL's keylog callback: each line into the handshake's transcript. */
static void tlsfx_keylog(const SSL *ssl, const char *line)
{
	struct tlsfx_transcript *t = SSL_get_app_data(ssl);
	size_t n = strlen(line);

	if (!t)
		return;
	if (t->keylog_len + n + 2 > t->keylog_cap) {
		size_t cap = t->keylog_cap ? t->keylog_cap : 1024;
		while (cap < t->keylog_len + n + 2)
			cap *= 2;
		t->keylog = realloc(t->keylog, cap);
		if (!t->keylog)
			abort();        /* the test machine is out of memory */
		t->keylog_cap = cap;
	}
	memcpy(t->keylog + t->keylog_len, line, n);
	t->keylog_len += n;
	t->keylog[t->keylog_len++] = '\n';
	t->keylog[t->keylog_len] = '\0';
}

/* The server's ALPN choice: the client's first protocol. */
static int tlsfx_alpn_first(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			    const unsigned char *in, unsigned int inlen, void *arg)
{
	if (inlen < 1 || in[0] == 0 || in[0] > inlen - 1)
		return SSL_TLSEXT_ERR_NOACK;
	*out = in + 1;
	*outlen = in[0];
	return SSL_TLSEXT_ERR_OK;
}

bool tlsfx_pair_init(struct tlsfx_pair *pair, struct tlsfx_pki *pki, const struct tlsfx_opts *o)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	SSL_CTX *s = SSL_CTX_new(TLS_server_method());

	pair->client = c;
	pair->server = s;
	if (!c || !s)
		goto fail;
	SSL_CTX_set_security_level(c, 0);
	SSL_CTX_set_security_level(s, 0);
	if (o->min_version) {
		SSL_CTX_set_min_proto_version(c, o->min_version);
		SSL_CTX_set_min_proto_version(s, o->min_version);
	}
	if (o->max_version) {
		SSL_CTX_set_max_proto_version(c, o->max_version);
		SSL_CTX_set_max_proto_version(s, o->max_version);
	}
	if (o->server_min_version)
		SSL_CTX_set_min_proto_version(s, o->server_min_version);
	if (o->client_groups && !SSL_CTX_set1_groups_list(c, o->client_groups))
		goto fail;
	if (o->server_groups && !SSL_CTX_set1_groups_list(s, o->server_groups))
		goto fail;
	if (o->cipher_list && (!SSL_CTX_set_cipher_list(c, o->cipher_list) ||
			       !SSL_CTX_set_cipher_list(s, o->cipher_list)))
		goto fail;
	if (o->ciphersuites && (!SSL_CTX_set_ciphersuites(c, o->ciphersuites) ||
				!SSL_CTX_set_ciphersuites(s, o->ciphersuites)))
		goto fail;
	if (o->server_selects_alpn)
		SSL_CTX_set_alpn_select_cb(s, tlsfx_alpn_first, NULL);
	SSL_CTX_set_keylog_callback(c, tlsfx_keylog);
	if (SSL_CTX_use_certificate(s, pki->leaf) != 1 || SSL_CTX_use_PrivateKey(s, pki->leaf_key) != 1)
		goto fail;
	if (o->send_chain) {
		/* add0 takes ownership: hand over references of our own. */
		X509_up_ref(pki->inter);
		X509_up_ref(pki->root);
		SSL_CTX_add0_chain_cert(s, pki->inter);
		SSL_CTX_add0_chain_cert(s, pki->root);
	}
	SSL_CTX_set_session_id_context(s, (const unsigned char *)"tlsfx", 5);
	if (o->no_tickets)
		SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
	if (o->request_client_cert) {
		STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();

		sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(pki->client_ca)));
		sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(pki->root)));
		SSL_CTX_set_client_CA_list(s, names);
		SSL_CTX_set_verify(s, SSL_VERIFY_PEER, tlsfx_accept_any);
	}
	if (o->client_cert &&
	    (SSL_CTX_use_certificate(c, pki->client) != 1 || SSL_CTX_use_PrivateKey(c, pki->client_key) != 1))
		goto fail;
	if (o->client_verifies) {
		X509_STORE *store = SSL_CTX_get_cert_store(c);

		X509_STORE_add_cert(store, pki->other);
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	}
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
	return true;
fail:
	tlsfx_pair_free(pair);
	return false;
}

void tlsfx_pair_free(struct tlsfx_pair *pair)
{
	SSL_CTX_free(pair->client);
	SSL_CTX_free(pair->server);
	pair->client = pair->server = NULL;
}

void tlsfx_transcript_init(struct tlsfx_transcript *t)
{
	memset(t, 0, sizeof(*t));
}

void tlsfx_transcript_free(struct tlsfx_transcript *t)
{
	free(t->data[0]);
	free(t->data[1]);
	free(t->keylog);
	SSL_SESSION_free(t->session);
	memset(t, 0, sizeof(*t));
}

void tlsfx_add(struct tlsfx_transcript *t, enum tls_dir dir, const void *p, size_t n)
{
	if (n == 0 || t->n_flights == TLSFX_MAX_FLIGHTS)
		return;
	if (t->len[dir] + n > t->cap[dir]) {
		size_t cap = t->cap[dir] ? t->cap[dir] : 4096;
		while (cap < t->len[dir] + n)
			cap *= 2;
		t->data[dir] = realloc(t->data[dir], cap);
		if (!t->data[dir])
			abort();        /* the test machine is out of memory */
		t->cap[dir] = cap;
	}
	memcpy(t->data[dir] + t->len[dir], p, n);
	t->flights[t->n_flights++] = (struct tlsfx_flight){ dir, t->len[dir], n };
	t->len[dir] += n;
}

void tlsfx_add_str(struct tlsfx_transcript *t, enum tls_dir dir, const char *s)
{
	tlsfx_add(t, dir, s, strlen(s));
}

/* Moves what `from` wrote into the transcript and into the peer's input. */
static bool tlsfx_move(BIO *out, BIO *peer_in, struct tlsfx_transcript *t, enum tls_dir dir)
{
	uint8_t buf[65536];
	size_t total = 0;
	int n;

	while ((n = BIO_read(out, buf, sizeof(buf))) > 0) {
		tlsfx_add(t, dir, buf, (size_t)n);
		BIO_write(peer_in, buf, n);
		total += (size_t)n;
	}
	return total > 0;
}

static bool tlsfx_step(SSL *ssl, bool *done, bool *failed)
{
	int r;

	if (*done || *failed)
		return false;
	r = SSL_do_handshake(ssl);
	if (r == 1) {
		*done = true;
		return true;
	}
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return false;
	default:
		*failed = true;
		ERR_clear_error();
		return true;
	}
}

bool tlsfx_handshake(struct tlsfx_pair *pair, const struct tlsfx_opts *o,
		     SSL_SESSION *resume, struct tlsfx_transcript *t)
{
	SSL *c = SSL_new(pair->client), *s = SSL_new(pair->server);
	BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
	BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
	bool c_done = false, s_done = false, c_fail = false, s_fail = false;
	bool ok = false;

	if (!c || !s || !c_in || !c_out || !s_in || !s_out)
		goto out;
	SSL_set_bio(c, c_in, c_out);
	SSL_set_bio(s, s_in, s_out);
	c_in = c_out = s_in = s_out = NULL;
	SSL_set_app_data(c, t);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	if (o->sni)
		SSL_set_tlsext_host_name(c, o->sni);
	if (o->alpn)
		SSL_set_alpn_protos(c, o->alpn, o->alpn_len);
	if (resume)
		SSL_set_session(c, resume);

	for (int round = 0; round < 64; round++) {
		bool moved = false;

		tlsfx_step(c, &c_done, &c_fail);
		moved |= tlsfx_move(SSL_get_wbio(c), SSL_get_rbio(s), t, TLS_FROM_CLIENT);
		tlsfx_step(s, &s_done, &s_fail);
		moved |= tlsfx_move(SSL_get_wbio(s), SSL_get_rbio(c), t, TLS_FROM_SERVER);
		if (!moved && (c_done || c_fail) && (s_done || s_fail))
			break;
		if (!moved && round > 2 && !c_done && !s_done && !c_fail && !s_fail)
			break;
	}
	if (c_done) {
		/* Let the client take in TLS 1.3 tickets so the session resumes. */
		uint8_t b;
		SSL_read(c, &b, 1);
		ERR_clear_error();
		SSL_SESSION_free(t->session);
		t->session = SSL_get1_session(c);
		t->version = (uint16_t)SSL_version(c);
		t->cipher = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(c));
		t->reused = SSL_session_reused(c);
	}
	SSL_get_client_random(c, t->client_random, sizeof(t->client_random));
	t->client_done = c_done;
	t->server_done = s_done;
	ok = (c_done && s_done) || c_fail || s_fail;
	/* Closed as if by close_notify, so OpenSSL keeps the session resumable. */
	if (c_done && s_done) {
		SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	}
out:
	BIO_free(c_in);
	BIO_free(c_out);
	BIO_free(s_in);
	BIO_free(s_out);
	SSL_free(c);
	SSL_free(s);
	return ok;
}

enum tls_verdict tlsfx_replay(struct tls_conn *c, const struct tlsfx_transcript *t,
			      size_t chunk, unsigned seed, uint64_t ts0)
{
	uint64_t ts = ts0;
	uint32_t rnd = seed;

	for (unsigned i = 0; i < t->n_flights; i++) {
		const struct tlsfx_flight *f = &t->flights[i];
		const uint8_t *p = t->data[f->dir] + f->off;
		size_t left = f->len;

		while (left) {
			size_t n = chunk ? chunk : left;
			enum tls_verdict v;

			if (seed) {
				rnd = rnd * 1103515245u + 12345u;
				n = 1 + (rnd >> 8) % chunk;
			}
			if (n > left)
				n = left;
			v = tls_feed(c, f->dir, p, n, ts++);
			if (v != TLS_CONTINUE)
				return v;
			p += n;
			left -= n;
		}
	}
	return TLS_CONTINUE;
}
