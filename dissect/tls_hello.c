/*
 * tls_hello.c — ClientHello (and its SSLv2-compatible form), ServerHello
 * (and HelloRetryRequest), TLS 1.3 EncryptedExtensions.
 *
 * Parse, then act (as BoringSSL's ssl_parse_server_hello and
 * do_read_server_hello): each message is first parsed into a struct of
 * reader views — fields, and the bodies of the extensions we want — and
 * only a message that parsed whole is acted on: the session filled in,
 * JA3/JA3S computed, resumption decided, TLS 1.3 keys started.  A malformed
 * message changes nothing but the status and its reason.
 *
 * One extension walk per message (BoringSSL's ssl_parse_extensions):
 * tls_parse_extensions() goes over the block once, driven by the list of
 * extensions the parser wants, hands out a view of each one's body, and
 * records every type in order for JA3/JA3S, which are built from that
 * record (tls_ja3.c) with no second walk.  RFC 8446 4.2 forbids a type
 * twice in one block; when it happens anyway the first is used.
 */
#include <string.h>

#include "dissect/tls_int.h"

/* RFC 8446 4.1.3: the random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
static const uint8_t tls_hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02,
	0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* ------------------------------------------------------------------ */
/* The extension walk                                                  */

/* 2^16 - 1 bytes of extensions hold at most 16383 (empty) extensions. */
#define TLS_EXT_TYPES_MAX_BYTES (2 * 16384)

void tls_ext_types_init(struct tls_ext_types *t)
{
	t->n = 0;
	buf_init(&t->rest, TLS_EXT_TYPES_MAX_BYTES);
}

void tls_ext_types_free(struct tls_ext_types *t)
{
	buf_free(&t->rest);
}

void tls_ext_types_readers(const struct tls_ext_types *t, struct reader *first,
			   struct reader *rest)
{
	unsigned n = t->n < TLS_EXT_TYPES_INLINE ? t->n : TLS_EXT_TYPES_INLINE;

	rd_init(first, t->first, 2 * (size_t)n);
	rd_init(rest, buf_bytes(&t->rest), buf_len(&t->rest));
}

/* The type's two bytes as sent, from the walk's reader. */
static void tls_ext_types_add(struct tls_ext_types *t, struct reader type)
{
	if (t->n < TLS_EXT_TYPES_INLINE)
		rd_copy(&type, t->first + 2 * t->n, 2);
	else
		tls_buf_put(&t->rest, &type, 2);   /* a failure stays in rest's error */
	t->n++;
}

bool tls_parse_extensions(struct reader block, const struct tls_ext_want *want, size_t n_want,
			  struct tls_ext_types *types)
{
	/* The wanted types below 64 as bits: most extensions of a hello are
	 * not wanted, and are then passed with one test. */
	uint64_t low = 0;
	bool high = false;

	for (size_t i = 0; i < n_want; i++) {
		want[i].out->present = false;
		if (want[i].type < 64)
			low |= (uint64_t)1 << want[i].type;
		else
			high = true;
	}
	while (rd_left(&block)) {
		struct reader type_bytes, body;
		uint16_t type;

		if (!rd_sub(&block, 2, &type_bytes) || !rd_u16_prefixed(&block, &body))
			return false;
		if (types)
			tls_ext_types_add(types, type_bytes);
		rd_u16(&type_bytes, &type);
		if (type < 64 ? !(low >> type & 1) : !high)
			continue;
		for (size_t i = 0; i < n_want; i++) {
			if (want[i].type == type) {
				if (!want[i].out->present) {
					want[i].out->present = true;
					want[i].out->body = body;
				}
				break;
			}
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Small fields                                                        */

/* A name copied only when it is all printable ASCII and fits. */
static void tls_copy_printable(char *dst, size_t dst_len, struct reader name)
{
	size_t n = rd_left(&name);
	const uint8_t *p = rd_ptr(&name);

	dst[0] = '\0';
	if (n == 0 || n >= dst_len)
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return;
	rd_copy(&name, dst, n);
	dst[n] = '\0';
}

/* A session id (<0..32>, checked by the parser) into the session. */
static uint8_t tls_copy_session_id(uint8_t dst[32], struct reader sid)
{
	size_t n = 0;

	rd_copy_rest(&sid, dst, 32, &n);
	return (uint8_t)n;
}

/* server_name: ServerNameList of {name_type, HostName<1..2^16-1>}. */
static void tls_client_sni(struct tls_session *s, struct reader ext)
{
	struct reader list, name;
	uint8_t type;

	if (!rd_u16_prefixed(&ext, &list))
		return;
	while (rd_u8(&list, &type) && rd_u16_prefixed(&list, &name)) {
		if (type == 0) {                /* host_name */
			tls_copy_printable(s->sni, sizeof(s->sni), name);
			return;
		}
	}
}

static void tls_client_alpn(struct tls_session *s, struct reader ext)
{
	struct reader list, name;

	if (!rd_u16_prefixed(&ext, &list))
		return;
	while (s->n_alpn < TLS_MAX_ALPN && rd_u8_prefixed(&list, &name)) {
		tls_copy_printable(s->alpn[s->n_alpn], sizeof(s->alpn[0]), name);
		if (s->alpn[s->n_alpn][0])
			s->n_alpn++;
	}
}

/* ALPN in a ServerHello or EncryptedExtensions: a list of exactly one name. */
static void tls_server_alpn(struct tls_session *s, struct reader ext)
{
	struct reader list, name;

	if (rd_u16_prefixed(&ext, &list) && rd_u8_prefixed(&list, &name))
		tls_copy_printable(s->alpn_selected, sizeof(s->alpn_selected), name);
}

static bool tls_client_versions(struct reader ext)
{
	struct reader list;
	uint16_t v;
	bool tls13 = false;

	if (!rd_u8_prefixed(&ext, &list))
		return false;
	while (rd_u16(&list, &v))
		if (tls_is_tls13(v))
			tls13 = true;
	return tls13;
}

/* ------------------------------------------------------------------ */
/* ClientHello                                                         */

/* RFC 8446 4.1.2 (and RFC 5246 7.4.1.2): legacy_version, random,
 * legacy_session_id<0..32>, cipher_suites<2..2^16-2>,
 * legacy_compression_methods<1..2^8-1>, extensions<8..2^16-1> (optional
 * before TLS 1.3).  NULL, or why it is malformed. */
static const char *tls_parse_client_hello(struct reader body, struct tls_client_hello *ch)
{
	struct reader exts = { NULL, 0 };
	const struct tls_ext_want want[] = {
		{ TLS_EXT_SERVER_NAME, &ch->server_name },
		{ TLS_EXT_ALPN, &ch->alpn },
		{ TLS_EXT_SUPPORTED_VERSIONS, &ch->supported_versions },
		{ TLS_EXT_SUPPORTED_GROUPS, &ch->supported_groups },
		{ TLS_EXT_EC_POINT_FORMATS, &ch->ec_point_formats },
		{ TLS_EXT_SESSION_TICKET, &ch->session_ticket },
		{ TLS_EXT_PRE_SHARED_KEY, &ch->pre_shared_key },
		{ TLS_EXT_EARLY_DATA, &ch->early_data },
	};

	ch->sslv2 = false;
	if (!rd_u16(&body, &ch->version) || !rd_sub(&body, 32, &ch->random) ||
	    !rd_u8_prefixed(&body, &ch->session_id) || rd_left(&ch->session_id) > 32 ||
	    !rd_u16_prefixed(&body, &ch->cipher_suites) || rd_left(&ch->cipher_suites) % 2 ||
	    !rd_u8_prefixed(&body, &ch->compression))
		return "ClientHello: a field overruns the message";
	if (rd_left(&body) && (!rd_u16_prefixed(&body, &exts) || rd_left(&body)))
		return "ClientHello: extensions length does not match the message";
	if (!tls_parse_extensions(exts, want, sizeof(want) / sizeof(want[0]), &ch->types))
		return "ClientHello: an extension overruns the extension block";
	return NULL;
}

/*
 * SSLv2-compatible ClientHello (RFC 5246 appendix E.2): msg_type, version,
 * cipher_spec_length, session_id_length, challenge_length, then the three
 * vectors.  The challenge is the random, right-aligned.
 */
static const char *tls_parse_ssl2_client_hello(struct reader body, struct tls_client_hello *ch)
{
	uint8_t type;
	uint16_t specs_len, sid_len, chal_len;

	ch->sslv2 = true;
	if (!rd_u8(&body, &type) || type != TLS_HS_CLIENT_HELLO ||
	    !rd_u16(&body, &ch->version) || !rd_u16(&body, &specs_len) ||
	    !rd_u16(&body, &sid_len) || !rd_u16(&body, &chal_len) ||
	    specs_len % 3 || sid_len > 32 || chal_len < 16 || chal_len > 32 ||
	    !rd_sub(&body, specs_len, &ch->cipher_suites) ||
	    !rd_sub(&body, sid_len, &ch->session_id) || !rd_sub(&body, chal_len, &ch->random))
		return "SSLv2 ClientHello: a field overruns the record";
	return NULL;
}

static void tls_do_client_hello(struct tls_conn *c, const struct tls_client_hello *ch)
{
	struct tls_session *s = &c->s;
	struct reader random = ch->random;

	s->have_client_hello = true;
	s->sslv2_client_hello = ch->sslv2;
	s->client_version = ch->version;
	memset(s->client_random, 0, sizeof(s->client_random));
	rd_copy(&random, s->client_random + 32 - rd_left(&random), rd_left(&random));
	s->client_session_id_len = tls_copy_session_id(s->client_session_id, ch->session_id);
	if (ch->server_name.present)
		tls_client_sni(s, ch->server_name.body);
	if (ch->alpn.present)
		tls_client_alpn(s, ch->alpn.body);
	if (ch->supported_versions.present)
		c->client_offered_tls13 = tls_client_versions(ch->supported_versions.body);
	if (ch->session_ticket.present && rd_left(&ch->session_ticket.body))
		s->client_offered_ticket = true;
	if (ch->pre_shared_key.present)
		s->client_offered_ticket = true;
	if (ch->early_data.present)
		c->client_early_data = true;
	tls_ja3(ch, s->ja3);
}

void tls_client_hello_msg(struct tls_conn *c, struct reader body)
{
	struct tls_client_hello ch;
	const char *why;

	tls_ext_types_init(&ch.types);
	if ((why = tls_parse_client_hello(body, &ch)))
		tls_malformed(c, why);
	else
		tls_do_client_hello(c, &ch);
	tls_ext_types_free(&ch.types);
}

void tls_ssl2_client_hello_msg(struct tls_conn *c, struct reader body)
{
	struct tls_client_hello ch = { .sslv2 = true };   /* no extensions */
	const char *why;

	tls_ext_types_init(&ch.types);
	if ((why = tls_parse_ssl2_client_hello(body, &ch)))
		tls_malformed(c, why);
	else
		tls_do_client_hello(c, &ch);
	tls_ext_types_free(&ch.types);
}

/* ------------------------------------------------------------------ */
/* ServerHello                                                         */

/* legacy_version, random, legacy_session_id_echo<0..32>, cipher_suite,
 * legacy_compression_method, extensions<6..2^16-1> (optional before 1.3). */
static const char *tls_parse_server_hello(struct reader body, struct tls_server_hello *sh)
{
	struct reader exts = { NULL, 0 };
	const struct tls_ext_want want[] = {
		{ TLS_EXT_SUPPORTED_VERSIONS, &sh->supported_versions },
		{ TLS_EXT_PRE_SHARED_KEY, &sh->pre_shared_key },
		{ TLS_EXT_ALPN, &sh->alpn },
	};

	if (!rd_u16(&body, &sh->legacy_version) || !rd_sub(&body, 32, &sh->random) ||
	    !rd_u8_prefixed(&body, &sh->session_id) || rd_left(&sh->session_id) > 32 ||
	    !rd_u16(&body, &sh->cipher) || !rd_u8(&body, &sh->compression))
		return "ServerHello: a field overruns the message";
	if (rd_left(&body) && (!rd_u16_prefixed(&body, &exts) || rd_left(&body)))
		return "ServerHello: extensions length does not match the message";
	if (!tls_parse_extensions(exts, want, sizeof(want) / sizeof(want[0]), &sh->types))
		return "ServerHello: an extension overruns the extension block";
	return NULL;
}

static void tls_do_server_hello(struct tls_conn *c, const struct tls_server_hello *sh)
{
	struct tls_session *s = &c->s;
	uint16_t selected = 0;

	if (sh->supported_versions.present) {
		struct reader v = sh->supported_versions.body;
		rd_u16(&v, &selected);
	}
	if (sh->alpn.present)
		tls_server_alpn(s, sh->alpn.body);
	s->server_version = sh->legacy_version;
	s->version = selected ? selected : sh->legacy_version;
	s->cipher = sh->cipher;
	s->server_session_id_len = tls_copy_session_id(s->server_session_id, sh->session_id);
	tls_ja3s(sh, s->ja3s);

	if (rd_mem_equal(&sh->random, tls_hrr_random, sizeof(tls_hrr_random))) {
		/* The real ServerHello follows the client's second ClientHello. */
		s->hello_retry_request = true;
		return;
	}
	s->have_server_hello = true;
	c->final_server_hello = true;
	if (tls_is_tls13(s->version)) {
		s->resumed = sh->pre_shared_key.present;
		s->certificates_visible = false;
		c->tls13 = true;
		if (!tls13_keys_start(c)) {
			if (tls13_may_wait(c))
				c->await_keys = true;   /* tls_records keeps the rest */
			else
				tls_finish(c, TLS_ST_COMPLETE, NULL);
		}
		return;
	}
	/* TLS <= 1.2 session-id resumption: the server echoes the id offered. */
	if (s->client_session_id_len && s->client_session_id_len == s->server_session_id_len &&
	    memcmp(s->client_session_id, s->server_session_id, s->client_session_id_len) == 0)
		s->resumed = true;
	s->certificates_visible = !s->resumed;
}

void tls_server_hello_msg(struct tls_conn *c, struct reader body)
{
	struct tls_server_hello sh;
	const char *why;

	tls_ext_types_init(&sh.types);
	if ((why = tls_parse_server_hello(body, &sh)))
		tls_malformed(c, why);
	else
		tls_do_server_hello(c, &sh);
	tls_ext_types_free(&sh.types);
}

/* ------------------------------------------------------------------ */
/* EncryptedExtensions                                                 */

/* RFC 8446 4.3.1: extensions<0..2^16-1>; the server's ALPN choice is there. */
void tls_encrypted_extensions_msg(struct tls_conn *c, struct reader body)
{
	struct reader exts;
	struct tls_ext alpn;
	const struct tls_ext_want want[] = { { TLS_EXT_ALPN, &alpn } };

	if (!rd_u16_prefixed(&body, &exts) || rd_left(&body)) {
		tls_malformed(c, "EncryptedExtensions: extensions length does not match the message");
		return;
	}
	if (!tls_parse_extensions(exts, want, 1, NULL)) {
		tls_malformed(c, "EncryptedExtensions: an extension overruns the extension block");
		return;
	}
	if (alpn.present)
		tls_server_alpn(&c->s, alpn.body);
}
