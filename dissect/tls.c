/*
 * tls.c — the TLS handshake dissector: detection, record layer, handshake
 * messages, JA3/JA3S.
 *
 * Two ideas carry the file.
 *
 * 1. Parse in place, buffer only what is incomplete.  Each direction runs a
 *    small state machine over the stream: record header (5 bytes, or 2 for
 *    an SSLv2-compatible ClientHello), record body, and inside handshake
 *    records the handshake messages.  A message that lies whole in the
 *    caller's buffer is parsed right there through the bounded reader;
 *    only a message cut by a record or packet boundary is copied, into one
 *    per-direction buffer that grows to the largest message seen (capped at
 *    TLS_MAX_MSG_BYTES) and is reused.  Messages we have no use for
 *    (ServerKeyExchange, ClientKeyExchange, ...) are counted past, never
 *    copied.  The only allocations per handshake are that buffer, the DER
 *    copied out of Certificate/CertificateRequest, and the MD5 context.
 *
 * 2. Recognise TLS by content, cheaply.  A flow whose client starts with a
 *    ClientHello record (or whose server starts with a ServerHello, for
 *    one-sided captures) goes straight to the record layer with no copy.
 *    Anything else is held (at most TLS_DETECT_WINDOW bytes per direction)
 *    while a few recognisers look for a cleartext preamble we know ends in
 *    TLS: a STARTTLS-like command answered by the server, a PostgreSQL
 *    SSLRequest, a MySQL SSL request, HTTP CONNECT, SOCKS 4/4a/5, or any
 *    client text whose last complete line is followed by a ClientHello.  Once one
 *    is recognised, each direction is scanned for the 11 bytes a TLS record
 *    carrying a ClientHello (ServerHello, or a server alert) must start with,
 *    and the record layer starts there.  Binary junk, HTTP requests and the
 *    like are refused on their first bytes, so most non-TLS flows cost one
 *    look.
 *
 * 3. TLS 1.3 with a key log: after the ServerHello each direction whose
 *    handshake traffic secret is known opens its protected records
 *    (whole records only: one cut by a feed boundary is gathered in a
 *    per-direction buffer first), strips the inner content type, and hands
 *    the plaintext to the same handshake message stream as a cleartext
 *    record, so messages spanning records, or records holding several
 *    messages, are reassembled as before.  A record whose tag does not
 *    verify ends the dissection with decrypt_error set: nothing it holds is
 *    parsed.
 *
 * The dissection ends (TLS_DONE) when both directions are past
 * ChangeCipherSpec, when a TLS 1.3 ServerHello is seen and there are no
 * secrets for it (everything after it is encrypted), when both TLS 1.3
 * Finished messages were read with the secrets, at a fatal alert, at a gap
 * inside the handshake, or at a malformed length.  Times: session.ts_us is the capture time of the first
 * handshake record; chain.ts_us that of the feed carrying the first byte of
 * the Certificate message.  tls_end() with the handshake unfinished gives
 * TRUNCATED even if only a ClientHello was seen (the report can tell that
 * case by have_server_hello); the exception is a capture holding only one
 * direction whose side went past ChangeCipherSpec: that is COMPLETE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "dissect/tls_aead.h"
#include "lib/reader.h"

/* RFC 8446 4.1.3: the random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
static const uint8_t tls_hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02,
	0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* Extension code points (IANA "TLS ExtensionType Values"). */
enum {
	TLS_EXT_SERVER_NAME = 0,
	TLS_EXT_SUPPORTED_GROUPS = 10,
	TLS_EXT_EC_POINT_FORMATS = 11,
	TLS_EXT_SIGNATURE_ALGORITHMS = 13,
	TLS_EXT_ALPN = 16,
	TLS_EXT_SESSION_TICKET = 35,
	TLS_EXT_PRE_SHARED_KEY = 41,
	TLS_EXT_EARLY_DATA = 42,
	TLS_EXT_SUPPORTED_VERSIONS = 43,
	TLS_EXT_CERTIFICATE_AUTHORITIES = 47,
};

#define TLS_VERSION_SSL2        0x0002
#define TLS_VERSION_SSL3        0x0300
#define TLS_VERSION_TLS12       0x0303
#define TLS_VERSION_TLS13       0x0304
#define TLS_CT_HEARTBEAT        24
#define TLS_RECORD_HDR_BYTES    5
#define TLS_SSL2_HDR_BYTES      2
#define TLS_HS_HDR_BYTES        4
/* RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes. */
#define TLS_MAX_RECORD_BYTES    (16384 + 2048)
/* Smallest ClientHello/ServerHello body: version, random, empty session id,
 * one cipher (suite list for a ClientHello), compression. */
#define TLS_MIN_HELLO_BYTES     38
/* Bytes of the stream that identify a TLS record carrying a hello. */
#define TLS_HELLO_SIG_BYTES     11
#define TLS_SSL2_SIG_BYTES      5
#define TLS_ALERT_SIG_BYTES     6
/* A pseudo handshake type for the body of an SSLv2-compatible ClientHello. */
#define TLS_HS_SSL2_CLIENT_HELLO 0x100

enum tls_side_mode {
	TLS_SIDE_HOLD = 0,      /* nothing recognised yet: bytes are held */
	TLS_SIDE_SEEK,          /* preamble known: held bytes scanned for a record */
	TLS_SIDE_RECORDS,       /* in the record layer */
	TLS_SIDE_IDLE,          /* nothing more of interest in this direction */
};

/* Cleartext preambles recognised before TLS. */
enum tls_cmd {
	TLS_CMD_NONE = 0,
	TLS_CMD_STARTTLS,       /* SMTP or IRC: told apart by the answer */
	TLS_CMD_IMAP,           /* "<tag> STARTTLS" */
	TLS_CMD_POP3,           /* "STLS" */
	TLS_CMD_FTP,            /* "AUTH TLS" / "AUTH SSL" */
	TLS_CMD_XMPP,           /* <starttls xmlns=.../> */
	TLS_CMD_LDAP,           /* ExtendedRequest 1.3.6.1.4.1.1466.20037 */
};

struct tls_side {
	enum tls_side_mode mode;

	/* Held cleartext while detecting, then scanned from seek_from. */
	uint8_t *hold;
	uint32_t hold_len, hold_cap, seek_from;

	/* Record layer. */
	bool any_record;                /* a record header was read */
	uint8_t hdr[TLS_RECORD_HDR_BYTES];
	uint8_t hdr_have;
	bool in_record;
	uint8_t rec_type;
	uint16_t rec_version;
	bool rec_ssl2;
	uint32_t rec_left;
	bool encrypted;                 /* past ChangeCipherSpec */
	uint8_t alert_carry;
	bool alert_half;

	/* Handshake messages. */
	uint8_t msg_hdr[TLS_HS_HDR_BYTES];
	uint8_t msg_hdr_have;
	bool in_msg;
	bool msg_keep;                  /* copied for parsing (else counted past) */
	unsigned msg_type;
	uint32_t msg_len, msg_have;
	uint64_t msg_ts;
	uint8_t *msg;
	uint32_t msg_cap;

	bool saw_certificate;
	bool saw_hello_done;

	/* TLS 1.3 protected handshake records, with a key log's secret. */
	bool decrypting;
	bool hs_done;                   /* its Finished was read (or no secret) */
	bool opened_any;                /* a record of this side opened */
	struct tls_aead aead;
	uint8_t aad[TLS_RECORD_HDR_BYTES];   /* the record header: additional data */
	uint8_t *rec_buf;               /* a record cut by feeds, then its plaintext */
	uint32_t rec_have;
};

struct tls_conn {
	struct tls_session s;
	struct tls_side side[2];
	bool tls;                       /* a handshake was recognised */
	bool not_tls;
	bool finished;
	bool have_ts;
	bool final_server_hello;        /* a ServerHello that is not an HRR */
	bool client_offered_tls13;
	bool client_early_data;         /* ClientHello offered 0-RTT data */
	bool tls13;                     /* the final ServerHello chose TLS 1.3 */
	const struct kl_store *keys;    /* key log, or NULL */
	uint16_t record_version[2];     /* of the latest record per direction */

	/* Preamble detection: the client's command, where it ends, and how
	 * much the server had said when it was seen (its answer comes after). */
	enum tls_cmd cmd;
	uint32_t cmd_end;
	uint32_t srv_mark;
	char imap_tag[32];

	char reason_buf[128];
};

static const char *tls_dir_name(int dir)
{
	return dir == TLS_FROM_CLIENT ? "client" : "server";
}

static const char *tls_hs_name(unsigned type)
{
	switch (type) {
	case TLS_HS_HELLO_REQUEST: return "HelloRequest";
	case TLS_HS_CLIENT_HELLO: return "ClientHello";
	case TLS_HS_SERVER_HELLO: return "ServerHello";
	case TLS_HS_NEW_SESSION_TICKET: return "NewSessionTicket";
	case TLS_HS_ENCRYPTED_EXTENSIONS: return "EncryptedExtensions";
	case TLS_HS_CERTIFICATE: return "Certificate message";
	case TLS_HS_SERVER_KEY_EXCHANGE: return "ServerKeyExchange";
	case TLS_HS_CERTIFICATE_REQUEST: return "CertificateRequest";
	case TLS_HS_SERVER_HELLO_DONE: return "ServerHelloDone";
	case TLS_HS_CERTIFICATE_VERIFY: return "CertificateVerify";
	case TLS_HS_CLIENT_KEY_EXCHANGE: return "ClientKeyExchange";
	case TLS_HS_FINISHED: return "Finished";
	case TLS_HS_CERTIFICATE_STATUS: return "CertificateStatus";
	case TLS_HS_SSL2_CLIENT_HELLO: return "SSLv2 ClientHello";
	}
	return "handshake message";
}

static bool tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static bool tls_is_tls13(uint16_t version)
{
	return version == TLS_VERSION_TLS13 || (version & 0xff00) == 0x7f00;
}

/* ------------------------------------------------------------------ */
/* Ending the dissection                                               */

static void tls_side_release(struct tls_side *sd)
{
	free(sd->hold);
	sd->hold = NULL;
	sd->hold_len = sd->hold_cap = 0;
	free(sd->msg);
	sd->msg = NULL;
	sd->msg_cap = 0;
	free(sd->rec_buf);
	sd->rec_buf = NULL;
	tls_aead_free(&sd->aead);
}

/* The handshake is over for us: keep the session, drop the buffers so a
 * finished flow costs only its session. */
static void tls_finish(struct tls_conn *c, enum tls_status st, const char *reason)
{
	if (c->finished)
		return;
	c->finished = true;
	c->s.status = st;
	if (reason)
		c->s.reason = reason;
	tls_side_release(&c->side[0]);
	tls_side_release(&c->side[1]);
}

static void tls_malformed(struct tls_conn *c, const char *reason)
{
	tls_finish(c, TLS_ST_MALFORMED, reason);
}

static void tls_check_complete(struct tls_conn *c)
{
	if (c->side[TLS_FROM_CLIENT].encrypted && c->side[TLS_FROM_SERVER].encrypted)
		tls_finish(c, TLS_ST_COMPLETE, NULL);
}

/* ------------------------------------------------------------------ */
/* JA3 / JA3S: the text is streamed into MD5, never built whole.       */

struct tls_md5_text {
	EVP_MD_CTX *ctx;
	bool ok;
	size_t len;
	char buf[256];
};

/* MD5 is fetched from the provider once per process: a fetch per
 * ClientHello was half the cost of JA3 (measured with perf on the bench
 * capture).  Kept for the life of the process, like OpenSSL's own tables. */
static EVP_MD *tls_md5_md(void)
{
	static EVP_MD *md;

	if (!md)
		md = EVP_MD_fetch(NULL, "MD5", NULL);
	return md;
}

static void tls_md5_begin(struct tls_md5_text *t)
{
	EVP_MD *md = tls_md5_md();

	t->len = 0;
	t->ctx = EVP_MD_CTX_new();
	t->ok = md && t->ctx && EVP_DigestInit_ex(t->ctx, md, NULL) == 1;
}

static void tls_md5_flush(struct tls_md5_text *t)
{
	if (t->ok && t->len && EVP_DigestUpdate(t->ctx, t->buf, t->len) != 1)
		t->ok = false;
	t->len = 0;
}

static void tls_md5_putc(struct tls_md5_text *t, char ch)
{
	if (t->len == sizeof(t->buf))
		tls_md5_flush(t);
	t->buf[t->len++] = ch;
}

/* Decimal by hand: snprintf was half the cost of a whole handshake. */
static void tls_md5_putu(struct tls_md5_text *t, unsigned v)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		tls_md5_putc(t, digits[--n]);
}

/* A '-' separated list of big-endian values of `width` bytes, GREASE left
 * out when asked (JA3 does, JA3S does not). */
static void tls_md5_putlist(struct tls_md5_text *t, struct reader list, unsigned width,
			    bool skip_grease)
{
	bool first = true;
	uint32_t v;

	while (rd_be(&list, width, &v)) {
		if (skip_grease && width == 2 && tls_is_grease((uint16_t)v))
			continue;
		if (!first)
			tls_md5_putc(t, '-');
		tls_md5_putu(t, v);
		first = false;
	}
}

static void tls_md5_end(struct tls_md5_text *t, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	tls_md5_flush(t);
	out[0] = '\0';
	if (t->ok && EVP_DigestFinal_ex(t->ctx, md, &md_len) == 1 && md_len == 16) {
		static const char hex[] = "0123456789abcdef";

		for (unsigned i = 0; i < 16; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 15];
		}
		out[32] = '\0';
	}
	EVP_MD_CTX_free(t->ctx);
	t->ctx = NULL;
}

/* ------------------------------------------------------------------ */
/* ClientHello                                                         */

static void tls_copy_printable(char *dst, size_t dst_len, struct reader name)
{
	const uint8_t *p;
	size_t n = rd_left(&name);

	dst[0] = '\0';
	if (n == 0 || n >= dst_len || !rd_bytes(&name, n, &p))
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

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

static void tls_parse_client_hello(struct tls_conn *c, struct reader body)
{
	struct tls_session *s = &c->s;
	struct reader sid, suites, comp, exts, walk, ext;
	struct reader groups = { NULL, 0 }, formats = { NULL, 0 };
	const uint8_t *random;
	uint16_t version, type;
	struct tls_md5_text t;

	if (!rd_u16(&body, &version) || !rd_bytes(&body, 32, &random) ||
	    !rd_u8_prefixed(&body, &sid) || rd_left(&sid) > 32 ||
	    !rd_u16_prefixed(&body, &suites) || rd_left(&suites) % 2 ||
	    !rd_u8_prefixed(&body, &comp)) {
		tls_malformed(c, "ClientHello: a field overruns the message");
		return;
	}
	rd_init(&exts, NULL, 0);
	if (rd_left(&body) && (!rd_u16_prefixed(&body, &exts) || rd_left(&body))) {
		tls_malformed(c, "ClientHello: extensions length does not match the message");
		return;
	}
	walk = exts;
	while (rd_left(&walk)) {
		if (!rd_u16(&walk, &type) || !rd_u16_prefixed(&walk, &ext)) {
			tls_malformed(c, "ClientHello: an extension overruns the extension block");
			return;
		}
		switch (type) {
		case TLS_EXT_SERVER_NAME:
			tls_client_sni(s, ext);
			break;
		case TLS_EXT_ALPN:
			tls_client_alpn(s, ext);
			break;
		case TLS_EXT_SUPPORTED_VERSIONS:
			c->client_offered_tls13 = tls_client_versions(ext);
			break;
		case TLS_EXT_SUPPORTED_GROUPS:
			rd_u16_prefixed(&ext, &groups);
			break;
		case TLS_EXT_EC_POINT_FORMATS:
			rd_u8_prefixed(&ext, &formats);
			break;
		case TLS_EXT_SESSION_TICKET:
			if (rd_left(&ext))
				s->client_offered_ticket = true;
			break;
		case TLS_EXT_PRE_SHARED_KEY:
			s->client_offered_ticket = true;
			break;
		case TLS_EXT_EARLY_DATA:
			c->client_early_data = true;
			break;
		}
	}

	s->have_client_hello = true;
	s->client_version = version;
	memcpy(s->client_random, random, 32);
	s->client_session_id_len = (uint8_t)rd_left(&sid);
	memcpy(s->client_session_id, rd_ptr(&sid), rd_left(&sid));

	/* JA3: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats */
	tls_md5_begin(&t);
	tls_md5_putu(&t, version);
	tls_md5_putc(&t, ',');
	tls_md5_putlist(&t, suites, 2, true);
	tls_md5_putc(&t, ',');
	walk = exts;
	for (bool first = true; rd_u16(&walk, &type) && rd_u16_prefixed(&walk, &ext);) {
		if (tls_is_grease(type))
			continue;
		if (!first)
			tls_md5_putc(&t, '-');
		tls_md5_putu(&t, type);
		first = false;
	}
	tls_md5_putc(&t, ',');
	tls_md5_putlist(&t, groups, 2, true);
	tls_md5_putc(&t, ',');
	tls_md5_putlist(&t, formats, 1, true);
	tls_md5_end(&t, s->ja3);
}

/*
 * SSLv2-compatible ClientHello (RFC 5246 appendix E.2): version,
 * cipher_spec_length, session_id_length, challenge_length, then the three
 * vectors.  Cipher specs are 3 bytes; those whose first byte is 0 are TLS
 * suites and go into the JA3 text, which otherwise has empty extension,
 * curve and point format fields.  The challenge is the random, right-aligned.
 */
static void tls_parse_ssl2_hello(struct tls_conn *c, struct reader body)
{
	struct tls_session *s = &c->s;
	struct reader specs, sid, chal;
	uint8_t type;
	uint16_t version, specs_len, sid_len, chal_len;
	struct tls_md5_text t;
	bool first = true;

	if (!rd_u8(&body, &type) || type != TLS_HS_CLIENT_HELLO ||
	    !rd_u16(&body, &version) || !rd_u16(&body, &specs_len) ||
	    !rd_u16(&body, &sid_len) || !rd_u16(&body, &chal_len) ||
	    specs_len % 3 || sid_len > 32 || chal_len < 16 || chal_len > 32 ||
	    !rd_sub(&body, specs_len, &specs) || !rd_sub(&body, sid_len, &sid) ||
	    !rd_sub(&body, chal_len, &chal)) {
		tls_malformed(c, "SSLv2 ClientHello: a field overruns the record");
		return;
	}
	s->have_client_hello = true;
	s->sslv2_client_hello = true;
	s->client_version = version;
	memset(s->client_random, 0, sizeof(s->client_random));
	memcpy(s->client_random + 32 - chal_len, rd_ptr(&chal), chal_len);
	s->client_session_id_len = (uint8_t)sid_len;
	memcpy(s->client_session_id, rd_ptr(&sid), sid_len);

	tls_md5_begin(&t);
	tls_md5_putu(&t, version);
	tls_md5_putc(&t, ',');
	for (uint32_t spec; rd_u24(&specs, &spec);) {
		if (spec > 0xffff || tls_is_grease((uint16_t)spec))
			continue;
		if (!first)
			tls_md5_putc(&t, '-');
		tls_md5_putu(&t, spec);
		first = false;
	}
	tls_md5_putc(&t, ',');
	tls_md5_putc(&t, ',');
	tls_md5_putc(&t, ',');
	tls_md5_end(&t, s->ja3);
}

/* ------------------------------------------------------------------ */
/* ServerHello                                                         */

/* ALPN in a ServerHello or EncryptedExtensions: a list of exactly one name. */
static void tls_server_alpn(struct tls_session *s, struct reader ext)
{
	struct reader list, name;

	if (rd_u16_prefixed(&ext, &list) && rd_u8_prefixed(&list, &name))
		tls_copy_printable(s->alpn_selected, sizeof(s->alpn_selected), name);
}

/*
 * The final ServerHello chose TLS 1.3: key both directions from the key
 * log if it has this ClientHello's secrets.  A direction without a secret
 * is left alone (done).  false: nothing to decrypt, the dissection ends.
 */
static bool tls13_start(struct tls_conn *c)
{
	struct tls_session *s = &c->s;
	const struct kl_secrets *k;
	const char *cipher, *digest;
	size_t key_len, hash_len;

	if (!c->keys || !s->have_client_hello || s->sslv2_client_hello ||
	    s->version != TLS_VERSION_TLS13 || !(k = kl_find(c->keys, s->client_random)))
		return false;
	if (!k->server_hs.len && !k->client_hs.len)
		return false;
	if (!tls_aead_suite(s->cipher, &cipher, &key_len, &digest, &hash_len)) {
		s->decrypt_error = "the key log has this TLS 1.3 handshake's secrets, but its "
				   "cipher suite cannot be decrypted here (AES-GCM and "
				   "ChaCha20-Poly1305 only)";
		return false;
	}
	for (int dir = 0; dir < 2; dir++) {
		struct tls_side *sd = &c->side[dir];
		const struct kl_secret *sec = dir == TLS_FROM_SERVER ? &k->server_hs : &k->client_hs;

		if (!sec->len) {
			sd->hs_done = true;
			sd->mode = TLS_SIDE_IDLE;
			continue;
		}
		if (!tls_aead_init(&sd->aead, s->cipher, sec->b, sec->len)) {
			s->decrypt_error = sec->len != hash_len
				? "TLS 1.3 handshake did not decrypt: the key log's secret is not as "
				  "long as the cipher suite's hash (wrong key log?)"
				: "TLS 1.3 handshake keys could not be set up (OpenSSL)";
			tls_aead_free(&c->side[0].aead);
			tls_aead_free(&c->side[1].aead);
			return false;
		}
		sd->decrypting = true;
	}
	return true;
}

static void tls_parse_server_hello(struct tls_conn *c, struct reader body)
{
	struct tls_session *s = &c->s;
	struct reader sid, exts, walk, ext;
	const uint8_t *random;
	uint16_t legacy, cipher, type, selected = 0;
	uint8_t compression;
	bool psk = false, hrr;
	struct tls_md5_text t;

	if (!rd_u16(&body, &legacy) || !rd_bytes(&body, 32, &random) ||
	    !rd_u8_prefixed(&body, &sid) || rd_left(&sid) > 32 ||
	    !rd_u16(&body, &cipher) || !rd_u8(&body, &compression)) {
		tls_malformed(c, "ServerHello: a field overruns the message");
		return;
	}
	rd_init(&exts, NULL, 0);
	if (rd_left(&body) && (!rd_u16_prefixed(&body, &exts) || rd_left(&body))) {
		tls_malformed(c, "ServerHello: extensions length does not match the message");
		return;
	}
	walk = exts;
	while (rd_left(&walk)) {
		if (!rd_u16(&walk, &type) || !rd_u16_prefixed(&walk, &ext)) {
			tls_malformed(c, "ServerHello: an extension overruns the extension block");
			return;
		}
		if (type == TLS_EXT_SUPPORTED_VERSIONS)
			rd_u16(&ext, &selected);
		else if (type == TLS_EXT_PRE_SHARED_KEY)
			psk = true;
		else if (type == TLS_EXT_ALPN)
			tls_server_alpn(s, ext);
	}

	hrr = memcmp(random, tls_hrr_random, 32) == 0;
	s->server_version = legacy;
	s->version = selected ? selected : legacy;
	s->cipher = cipher;
	s->server_session_id_len = (uint8_t)rd_left(&sid);
	memcpy(s->server_session_id, rd_ptr(&sid), rd_left(&sid));

	tls_md5_begin(&t);
	tls_md5_putu(&t, legacy);
	tls_md5_putc(&t, ',');
	tls_md5_putu(&t, cipher);
	tls_md5_putc(&t, ',');
	walk = exts;
	for (bool first = true; rd_u16(&walk, &type) && rd_u16_prefixed(&walk, &ext);) {
		if (!first)
			tls_md5_putc(&t, '-');
		tls_md5_putu(&t, type);
		first = false;
	}
	tls_md5_end(&t, s->ja3s);

	if (hrr) {
		/* The real ServerHello follows the client's second ClientHello. */
		s->hello_retry_request = true;
		return;
	}
	s->have_server_hello = true;
	c->final_server_hello = true;
	if (tls_is_tls13(s->version)) {
		s->resumed = psk;
		s->certificates_visible = false;
		c->tls13 = true;
		if (!tls13_start(c))
			tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	/* TLS <= 1.2 session-id resumption: the server echoes the id offered. */
	if (s->client_session_id_len && s->client_session_id_len == s->server_session_id_len &&
	    memcmp(s->client_session_id, s->server_session_id, s->client_session_id_len) == 0)
		s->resumed = true;
	s->certificates_visible = !s->resumed;
}

/* ------------------------------------------------------------------ */
/* Certificate and CertificateRequest                                  */

static bool tls_blob_copy(struct tls_blob *b, struct reader *r)
{
	size_t n = rd_left(r);

	b->data = malloc(n ? n : 1);
	if (!b->data)
		return false;
	memcpy(b->data, rd_ptr(r), n);
	b->len = (uint32_t)n;
	return true;
}

/*
 * certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1> (RFC 5246 7.4.2; SSL 3.0
 * is the same).  TLS 1.3 (RFC 8446 4.4.2) puts a certificate_request_context
 * <0..2^8-1> first and follows each cert_data<1..2^24-1> with its
 * extensions<0..2^16-1>.  `partial` is set when the message was cut by a gap
 * or by the end of the capture: the certificates that arrived whole are kept.
 */
static void tls_parse_certificate(struct tls_conn *c, int dir, struct reader body,
				  uint64_t ts, bool partial)
{
	struct tls_chain *ch = dir == TLS_FROM_SERVER ? &c->s.server_chain : &c->s.client_chain;
	struct reader list, cert, context, exts;
	uint32_t list_len;

	if (ch->present)        /* a second chain in clear: keep the first */
		return;
	ch->present = true;
	ch->truncated = partial;
	ch->ts_us = ts;
	if (c->tls13 && !rd_u8_prefixed(&body, &context)) {
		if (!partial)
			tls_malformed(c, "Certificate: request context overruns the message");
		return;
	}
	if (!rd_u24(&body, &list_len)) {
		if (!partial)
			tls_malformed(c, "Certificate: message shorter than its list length");
		return;
	}
	if (!partial && list_len != rd_left(&body)) {
		tls_malformed(c, "Certificate: list length does not match the message");
		return;
	}
	if (partial && list_len < rd_left(&body))
		body.len = list_len;
	list = body;
	while (rd_left(&list)) {
		if (!rd_u24_prefixed(&list, &cert)) {
			if (!partial)
				tls_malformed(c, "Certificate: an entry overruns the list");
			return;
		}
		if (rd_left(&cert) == 0) {
			tls_malformed(c, "zero-length certificate");
			return;
		}
		if (ch->n == TLS_MAX_CHAIN) {
			tls_malformed(c, "more than 32 certificates in a chain");
			return;
		}
		if (!tls_blob_copy(&ch->certs[ch->n], &cert)) {
			tls_malformed(c, "out of memory copying a certificate");
			return;
		}
		ch->n++;
		if (c->tls13 && !rd_u16_prefixed(&list, &exts)) {
			if (!partial)
				tls_malformed(c, "Certificate: an entry's extensions overrun the list");
			return;
		}
	}
	/* Read with the key log's secrets: the chain is there to be checked. */
	if (c->tls13 && dir == TLS_FROM_SERVER && !partial)
		c->s.certificates_visible = true;
}

/* certificate_authorities<0..2^16-1> of DistinguishedName<1..2^16-1>: the
 * same list in TLS 1.0-1.2 CertificateRequest and the TLS 1.3 extension. */
static void tls_add_ca_names(struct tls_conn *c, struct reader cas)
{
	struct tls_session *s = &c->s;
	struct reader dn;

	while (rd_left(&cas)) {
		if (!rd_u16_prefixed(&cas, &dn)) {
			tls_malformed(c, "CertificateRequest: a name overruns the list");
			return;
		}
		if (rd_left(&dn) == 0 || s->n_ca_names == TLS_MAX_CA_NAMES)
			continue;
		if (!tls_blob_copy(&s->ca_names[s->n_ca_names], &dn)) {
			tls_malformed(c, "out of memory copying a CA name");
			return;
		}
		s->n_ca_names++;
	}
}

/* TLS 1.3 CertificateRequest (RFC 8446 4.3.2): certificate_request_context
 * <0..2^8-1>, extensions<2..2^16-1>; the CA names are in the
 * certificate_authorities extension. */
static void tls13_parse_certificate_request(struct tls_conn *c, struct reader body)
{
	struct reader context, exts, ext, cas;
	uint16_t type;

	c->s.certificate_request = true;
	if (!rd_u8_prefixed(&body, &context) || !rd_u16_prefixed(&body, &exts) || rd_left(&body)) {
		tls_malformed(c, "CertificateRequest: a field overruns the message");
		return;
	}
	while (rd_left(&exts) && !c->finished) {
		if (!rd_u16(&exts, &type) || !rd_u16_prefixed(&exts, &ext)) {
			tls_malformed(c, "CertificateRequest: an extension overruns the extension block");
			return;
		}
		if (type != TLS_EXT_CERTIFICATE_AUTHORITIES)
			continue;
		if (!rd_u16_prefixed(&ext, &cas)) {
			tls_malformed(c, "CertificateRequest: certificate_authorities overruns its extension");
			return;
		}
		tls_add_ca_names(c, cas);
	}
}

/* TLS 1.0-1.2 CertificateRequest: certificate_types<1..2^8-1>,
 * [1.2: supported_signature_algorithms<2..2^16-2>], certificate_authorities. */
static void tls_parse_certificate_request(struct tls_conn *c, struct reader body)
{
	struct tls_session *s = &c->s;
	struct reader types, algs, cas;
	uint16_t version = s->have_server_hello ? s->version : c->record_version[TLS_FROM_SERVER];

	if (c->tls13) {
		tls13_parse_certificate_request(c, body);
		return;
	}
	s->certificate_request = true;
	if (!rd_u8_prefixed(&body, &types) ||
	    (version >= TLS_VERSION_TLS12 && !rd_u16_prefixed(&body, &algs)) ||
	    !rd_u16_prefixed(&body, &cas)) {
		tls_malformed(c, "CertificateRequest: a field overruns the message");
		return;
	}
	tls_add_ca_names(c, cas);
}

/* TLS 1.3 EncryptedExtensions (RFC 8446 4.3.1): extensions<0..2^16-1>; the
 * server's ALPN choice is there. */
static void tls_parse_encrypted_extensions(struct tls_conn *c, struct reader body)
{
	struct reader exts, ext;
	uint16_t type;

	if (!rd_u16_prefixed(&body, &exts) || rd_left(&body)) {
		tls_malformed(c, "EncryptedExtensions: extensions length does not match the message");
		return;
	}
	while (rd_left(&exts)) {
		if (!rd_u16(&exts, &type) || !rd_u16_prefixed(&exts, &ext)) {
			tls_malformed(c, "EncryptedExtensions: an extension overruns the extension block");
			return;
		}
		if (type == TLS_EXT_ALPN)
			tls_server_alpn(&c->s, ext);
	}
}

/* ------------------------------------------------------------------ */
/* Handshake message stream                                            */

/* Whether a message is worth copying when it is not whole in the input. */
static bool tls_msg_wanted(const struct tls_conn *c, int dir, unsigned type)
{
	switch (type) {
	case TLS_HS_CLIENT_HELLO:
		return dir == TLS_FROM_CLIENT && !c->s.have_client_hello;
	case TLS_HS_SERVER_HELLO:
		return dir == TLS_FROM_SERVER;
	case TLS_HS_CERTIFICATE:
		return true;
	case TLS_HS_CERTIFICATE_REQUEST:
		return dir == TLS_FROM_SERVER;
	case TLS_HS_ENCRYPTED_EXTENSIONS:
		return dir == TLS_FROM_SERVER && c->tls13;
	case TLS_HS_SSL2_CLIENT_HELLO:
		return true;
	}
	return false;
}

static void tls_msg_parse(struct tls_conn *c, int dir, unsigned type,
			  const uint8_t *p, uint32_t len, uint64_t ts)
{
	struct reader body;

	rd_init(&body, p, len);
	switch (type) {
	case TLS_HS_CLIENT_HELLO:
		tls_parse_client_hello(c, body);
		break;
	case TLS_HS_SSL2_CLIENT_HELLO:
		tls_parse_ssl2_hello(c, body);
		break;
	case TLS_HS_SERVER_HELLO:
		tls_parse_server_hello(c, body);
		break;
	case TLS_HS_CERTIFICATE:
		tls_parse_certificate(c, dir, body, ts, false);
		break;
	case TLS_HS_CERTIFICATE_REQUEST:
		tls_parse_certificate_request(c, body);
		break;
	case TLS_HS_ENCRYPTED_EXTENSIONS:
		tls_parse_encrypted_extensions(c, body);
		break;
	}
}

/*
 * A message is over (parsed or counted past).  A TLS 1.3 Finished read with
 * the secrets ends that direction's handshake: what follows is under the
 * application traffic keys, which we neither have nor need.
 */
static void tls_msg_end(struct tls_conn *c, int dir, unsigned type)
{
	struct tls_side *sd = &c->side[dir];

	if (c->finished || !sd->decrypting || type != TLS_HS_FINISHED)
		return;
	sd->hs_done = true;
	sd->mode = TLS_SIDE_IDLE;
	if (c->side[TLS_FROM_CLIENT].hs_done && c->side[TLS_FROM_SERVER].hs_done)
		tls_finish(c, TLS_ST_COMPLETE, NULL);
}

/* What the header alone tells, for every message type. */
static void tls_msg_begin(struct tls_conn *c, int dir, unsigned type)
{
	struct tls_side *sd = &c->side[dir];

	if (dir != TLS_FROM_SERVER)
		return;
	if (type == TLS_HS_CERTIFICATE)
		sd->saw_certificate = true;
	else if (type == TLS_HS_SERVER_HELLO_DONE)
		sd->saw_hello_done = true;
}

/* Starts a message of `len` bytes; false if it cannot be (too long). */
static bool tls_msg_open(struct tls_conn *c, int dir, unsigned type, uint32_t len, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];

	if (len > TLS_MAX_MSG_BYTES) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s's %s of %u bytes exceeds the %u-byte limit",
			 tls_dir_name(dir), tls_hs_name(type), len, TLS_MAX_MSG_BYTES);
		tls_malformed(c, c->reason_buf);
		return false;
	}
	tls_msg_begin(c, dir, type);
	sd->in_msg = true;
	sd->msg_type = type;
	sd->msg_len = len;
	sd->msg_have = 0;
	sd->msg_ts = ts;
	sd->msg_keep = tls_msg_wanted(c, dir, type);
	return true;
}

/* Bytes of the message open in `sd`, taken from `in`: parsed in place when
 * the whole message is there, else copied (wanted) or counted (not). */
static void tls_msg_take(struct tls_conn *c, int dir, struct reader *in)
{
	struct tls_side *sd = &c->side[dir];
	uint32_t want = sd->msg_len - sd->msg_have;
	size_t take = rd_left(in) < want ? rd_left(in) : want;
	const uint8_t *p;

	if (!sd->msg_keep) {
		rd_skip(in, take);
		sd->msg_have += (uint32_t)take;
	} else if (sd->msg_have == 0 && take == want) {
		if (!rd_bytes(in, take, &p))
			return;
		sd->in_msg = false;
		tls_msg_parse(c, dir, sd->msg_type, p, sd->msg_len, sd->msg_ts);
		tls_msg_end(c, dir, sd->msg_type);
		return;
	} else {
		if (sd->msg_cap < sd->msg_len) {
			uint8_t *m = realloc(sd->msg, sd->msg_len);
			if (!m) {
				tls_malformed(c, "out of memory buffering a handshake message");
				return;
			}
			sd->msg = m;
			sd->msg_cap = sd->msg_len;
		}
		if (!rd_bytes(in, take, &p))
			return;
		memcpy(sd->msg + sd->msg_have, p, take);
		sd->msg_have += (uint32_t)take;
	}
	if (sd->msg_have == sd->msg_len) {
		sd->in_msg = false;
		if (sd->msg_keep)
			tls_msg_parse(c, dir, sd->msg_type, sd->msg, sd->msg_len, sd->msg_ts);
		tls_msg_end(c, dir, sd->msg_type);
	}
}

/* A piece of the handshake stream (the bodies of handshake records). */
static void tls_hs_data(struct tls_conn *c, int dir, struct reader in, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader hdr;
	uint8_t type;
	uint32_t len;

	while (rd_left(&in) && !c->finished && !sd->hs_done) {
		if (sd->in_msg) {
			tls_msg_take(c, dir, &in);
			continue;
		}
		if (sd->msg_hdr_have == 0 && rd_left(&in) >= TLS_HS_HDR_BYTES) {
			rd_sub(&in, TLS_HS_HDR_BYTES, &hdr);
		} else {
			const uint8_t *p;
			size_t n = TLS_HS_HDR_BYTES - sd->msg_hdr_have;

			if (n > rd_left(&in))
				n = rd_left(&in);
			if (!rd_bytes(&in, n, &p))
				return;
			memcpy(sd->msg_hdr + sd->msg_hdr_have, p, n);
			sd->msg_hdr_have += (uint8_t)n;
			if (sd->msg_hdr_have < TLS_HS_HDR_BYTES)
				return;
			sd->msg_hdr_have = 0;
			rd_init(&hdr, sd->msg_hdr, TLS_HS_HDR_BYTES);
		}
		rd_u8(&hdr, &type);
		rd_u24(&hdr, &len);
		if (!tls_msg_open(c, dir, type, len, ts))
			return;
		tls_msg_take(c, dir, &in);   /* also closes empty messages */
	}
}

/* ------------------------------------------------------------------ */
/* Record layer                                                        */

static void tls_add_alert(struct tls_conn *c, int dir, uint8_t level, uint8_t desc,
			  bool encrypted, uint64_t ts)
{
	struct tls_session *s = &c->s;

	if (s->n_alerts < TLS_MAX_ALERTS) {
		struct tls_alert *a = &s->alerts[s->n_alerts++];
		a->from = (uint8_t)dir;
		a->level = level;
		a->description = desc;
		a->encrypted = encrypted;
		a->ts_us = ts;
	}
	if (!encrypted && level == TLS_ALERT_LEVEL_FATAL)
		tls_finish(c, TLS_ST_COMPLETE, NULL);
}

static void tls_change_cipher_spec(struct tls_conn *c, int dir)
{
	struct tls_session *s = &c->s;
	struct tls_side *sd = &c->side[dir];

	s->ccs_seen[dir] = true;
	if (c->tls13)
		return;         /* RFC 8446 5: never a change of keys in TLS 1.3 */
	/*
	 * TLS 1.3 middlebox compatibility (RFC 8446 D.4) sends a dummy
	 * ChangeCipherSpec that changes nothing: a client offering 1.3 sends it
	 * before its second ClientHello or after an early-data ClientHello; a
	 * server right after a HelloRetryRequest.  Before the final ServerHello
	 * such a record does not mean encryption.
	 */
	if (!c->final_server_hello &&
	    ((dir == TLS_FROM_CLIENT && c->client_offered_tls13) ||
	     (dir == TLS_FROM_SERVER && s->hello_retry_request)))
		return;
	sd->encrypted = true;
	if (dir == TLS_FROM_SERVER && c->final_server_hello &&
	    !sd->saw_certificate && !sd->saw_hello_done) {
		/* Abbreviated handshake: ServerHello, [NewSessionTicket], CCS. */
		s->resumed = true;
		s->certificates_visible = false;
	}
	tls_check_complete(c);
}

/* Validates a record header and opens the record; false if malformed. */
static bool tls_record_open(struct tls_conn *c, int dir, const uint8_t *h, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];

	sd->any_record = true;
	if (sd->rec_ssl2) {
		sd->rec_left = ((uint32_t)(h[0] & 0x7f) << 8) | h[1];
		sd->rec_type = TLS_CT_HANDSHAKE;
		if (!c->have_ts) {
			c->have_ts = true;
			c->s.ts_us = ts;
		}
		sd->in_record = true;
		return tls_msg_open(c, dir, TLS_HS_SSL2_CLIENT_HELLO, sd->rec_left, ts);
	}
	sd->rec_type = h[0];
	sd->rec_version = (uint16_t)(h[1] << 8 | h[2]);
	sd->rec_left = (uint32_t)(h[3] << 8 | h[4]);
	if (sd->rec_type < TLS_CT_CHANGE_CIPHER_SPEC || sd->rec_type > TLS_CT_HEARTBEAT ||
	    h[1] != 3 || sd->rec_left > TLS_MAX_RECORD_BYTES) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s sent bytes that are not a TLS record header "
			 "(%02x %02x %02x %02x %02x)",
			 tls_dir_name(dir), h[0], h[1], h[2], h[3], h[4]);
		tls_malformed(c, c->reason_buf);
		return false;
	}
	c->record_version[dir] = sd->rec_version;
	sd->in_record = true;
	if (sd->decrypting && sd->rec_type == TLS_CT_APPLICATION_DATA) {
		if (sd->rec_left > TLS13_MAX_CIPHERTEXT_BYTES) {
			snprintf(c->reason_buf, sizeof(c->reason_buf),
				 "%s's TLS 1.3 record of %u bytes exceeds the %u-byte limit",
				 tls_dir_name(dir), sd->rec_left, TLS13_MAX_CIPHERTEXT_BYTES);
			tls_malformed(c, c->reason_buf);
			return false;
		}
		memcpy(sd->aad, h, TLS_RECORD_HDR_BYTES);
		sd->rec_have = 0;
	}
	switch (sd->rec_type) {
	case TLS_CT_HANDSHAKE:
		if (!c->have_ts) {
			c->have_ts = true;
			c->s.ts_us = ts;
		}
		break;
	case TLS_CT_CHANGE_CIPHER_SPEC:
		tls_change_cipher_spec(c, dir);
		break;
	case TLS_CT_ALERT:
		if (sd->encrypted)
			tls_add_alert(c, dir, 0, 0, true, ts);
		break;
	}
	return true;
}

/* Alert bytes in order: a level and a description, possibly split. */
static void tls_alert_bytes(struct tls_conn *c, int dir, struct reader body, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	uint8_t b;

	while (!c->finished && rd_u8(&body, &b)) {
		if (sd->alert_half) {
			sd->alert_half = false;
			tls_add_alert(c, dir, sd->alert_carry, b, false, ts);
		} else {
			sd->alert_carry = b;
			sd->alert_half = true;
		}
	}
}

/*
 * A piece of a TLS 1.3 protected record (`last`: the record ends with it).
 * A record whole in the input is opened from there; otherwise its pieces
 * are gathered first.  The plaintext lands in rec_buf either way, and is
 * TLSInnerPlaintext: content, the real content type, zero padding.
 */
static void tls13_record(struct tls_conn *c, int dir, struct reader body, bool last, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	const uint8_t *in;
	size_t n = rd_left(&body), plain_len;
	struct reader plain;
	uint8_t type;

	if (!sd->rec_buf && !(sd->rec_buf = malloc(TLS13_MAX_CIPHERTEXT_BYTES))) {
		tls_malformed(c, "out of memory for a TLS 1.3 record");
		return;
	}
	if (sd->rec_have == 0 && last) {
		in = rd_ptr(&body);
	} else {
		/* rec_have + n never exceeds the record length tls_record_open
		 * checked against TLS13_MAX_CIPHERTEXT_BYTES. */
		memcpy(sd->rec_buf + sd->rec_have, rd_ptr(&body), n);
		sd->rec_have += (uint32_t)n;
		if (!last)
			return;
		in = sd->rec_buf;
		n = sd->rec_have;
		sd->rec_have = 0;
	}
	if (!tls_aead_open(&sd->aead, sd->aad, in, n, sd->rec_buf, &plain_len)) {
		/* A client that sent 0-RTT data starts with records under its
		 * early traffic secret: skip those until one opens. */
		if (dir == TLS_FROM_CLIENT && c->client_early_data && !sd->opened_any)
			return;
		c->s.decrypt_error = dir == TLS_FROM_SERVER
			? "TLS 1.3 handshake did not decrypt with the key log's secrets (wrong key log?)"
			: "the client's TLS 1.3 handshake did not decrypt with the key log's secrets "
			  "(wrong key log?)";
		tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	sd->opened_any = true;
	c->s.decrypted = true;
	while (plain_len && sd->rec_buf[plain_len - 1] == 0)
		plain_len--;
	if (plain_len == 0) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s's TLS 1.3 record has no content type", tls_dir_name(dir));
		tls_malformed(c, c->reason_buf);
		return;
	}
	type = sd->rec_buf[--plain_len];
	rd_init(&plain, sd->rec_buf, plain_len);
	switch (type) {
	case TLS_CT_HANDSHAKE:
		tls_hs_data(c, dir, plain, ts);
		break;
	case TLS_CT_ALERT:
		tls_alert_bytes(c, dir, plain, ts);
		break;
	case TLS_CT_APPLICATION_DATA:
		/* Data before a Finished: nothing more of the handshake here. */
		sd->hs_done = true;
		sd->mode = TLS_SIDE_IDLE;
		if (c->side[!dir].hs_done)
			tls_finish(c, TLS_ST_COMPLETE, NULL);
		break;
	default:
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s's TLS 1.3 record has inner content type %u", tls_dir_name(dir), type);
		tls_malformed(c, c->reason_buf);
		break;
	}
}

static void tls_record_body(struct tls_conn *c, int dir, struct reader body, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];

	switch (sd->rec_type) {
	case TLS_CT_HANDSHAKE:
		if (!sd->encrypted)
			tls_hs_data(c, dir, body, ts);
		break;
	case TLS_CT_ALERT:
		if (!sd->encrypted)
			tls_alert_bytes(c, dir, body, ts);
		break;
	case TLS_CT_APPLICATION_DATA:
		if (sd->decrypting)
			tls13_record(c, dir, body, sd->rec_left == 0, ts);
		break;
	}
}

static void tls_records(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader in, body;

	rd_init(&in, p, n);
	while (rd_left(&in) && !c->finished && sd->mode == TLS_SIDE_RECORDS) {
		if (!sd->in_record) {
			const uint8_t *h;
			size_t need, take;

			/* Only a client's first record may be SSLv2-compatible. */
			if (sd->hdr_have == 0) {
				uint8_t b0;
				rd_peek_u8(&in, 0, &b0);
				sd->rec_ssl2 = dir == TLS_FROM_CLIENT && !sd->any_record && (b0 & 0x80);
			}
			need = sd->rec_ssl2 ? TLS_SSL2_HDR_BYTES : TLS_RECORD_HDR_BYTES;
			if (sd->hdr_have == 0 && rd_bytes(&in, need, &h)) {
				/* whole header in place */
			} else {
				take = need - sd->hdr_have;
				if (take > rd_left(&in))
					take = rd_left(&in);
				if (!rd_bytes(&in, take, &h))
					return;
				memcpy(sd->hdr + sd->hdr_have, h, take);
				sd->hdr_have += (uint8_t)take;
				if (sd->hdr_have < need)
					return;
				h = sd->hdr;
			}
			sd->hdr_have = 0;
			if (!tls_record_open(c, dir, h, ts))
				return;
		}
		if (sd->rec_left) {
			size_t take = rd_left(&in) < sd->rec_left ? rd_left(&in) : sd->rec_left;

			rd_sub(&in, take, &body);
			sd->rec_left -= (uint32_t)take;
			if (sd->rec_ssl2) {
				if (sd->in_msg)
					tls_msg_take(c, dir, &body);
			} else {
				tls_record_body(c, dir, body, ts);
			}
		}
		if (sd->rec_left == 0) {
			sd->in_record = false;
			sd->rec_ssl2 = false;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Detection: signatures of a record's first bytes                     */

enum tls_sig { TLS_SIG_NO, TLS_SIG_MORE, TLS_SIG_YES };

/* A TLS record carrying a hello of `hs_type`: content type, version,
 * record length, handshake type and length, and the hello's own version. */
static enum tls_sig tls_sig_hello(const uint8_t *p, size_t n, uint8_t hs_type)
{
	uint32_t rec_len, hs_len;

	if (n >= 1 && p[0] != TLS_CT_HANDSHAKE)
		return TLS_SIG_NO;
	if (n >= 2 && p[1] != 3)
		return TLS_SIG_NO;
	if (n >= 3 && p[2] > 4)
		return TLS_SIG_NO;
	if (n < 5)
		return TLS_SIG_MORE;
	rec_len = (uint32_t)p[3] << 8 | p[4];
	if (rec_len < TLS_HS_HDR_BYTES || rec_len > TLS_MAX_RECORD_BYTES)
		return TLS_SIG_NO;
	if (n >= 6 && p[5] != hs_type)
		return TLS_SIG_NO;
	if (n < 9)
		return TLS_SIG_MORE;
	hs_len = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
	if (hs_len < TLS_MIN_HELLO_BYTES || hs_len > TLS_MAX_MSG_BYTES)
		return TLS_SIG_NO;
	/* Consistent: the hello fits the record, or spans records that are
	 * not absurdly small. */
	if (hs_len + TLS_HS_HDR_BYTES > rec_len && rec_len < 64)
		return TLS_SIG_NO;
	if (n >= 10 && p[9] != 3)
		return TLS_SIG_NO;
	if (n < TLS_HELLO_SIG_BYTES)
		return TLS_SIG_MORE;
	return p[10] <= 4 ? TLS_SIG_YES : TLS_SIG_NO;
}

/* A cleartext alert record: a server may refuse with one instead of a hello. */
static enum tls_sig tls_sig_alert(const uint8_t *p, size_t n)
{
	static const uint8_t want[5] = { TLS_CT_ALERT, 3, 0, 0, 2 };

	for (size_t i = 0; i < n && i < TLS_ALERT_SIG_BYTES; i++) {
		if (i == 2 ? p[i] > 4 : i == 5 ? (p[i] != 1 && p[i] != 2) : p[i] != want[i])
			return TLS_SIG_NO;
	}
	return n >= TLS_ALERT_SIG_BYTES ? TLS_SIG_YES : TLS_SIG_MORE;
}

static enum tls_sig tls_sig_ssl2(const uint8_t *p, size_t n)
{
	uint16_t version;

	if (n >= 1 && !(p[0] & 0x80))
		return TLS_SIG_NO;
	if (n >= 3 && p[2] != TLS_HS_CLIENT_HELLO)
		return TLS_SIG_NO;
	if (n < TLS_SSL2_SIG_BYTES)
		return TLS_SIG_MORE;
	if ((((uint32_t)(p[0] & 0x7f) << 8) | p[1]) < 9 + 3 + 16)
		return TLS_SIG_NO;
	version = (uint16_t)(p[3] << 8 | p[4]);
	if (version == TLS_VERSION_SSL2 || (version >= TLS_VERSION_SSL3 && version <= TLS_VERSION_TLS13))
		return TLS_SIG_YES;
	return TLS_SIG_NO;
}

static enum tls_sig tls_sig_client(const uint8_t *p, size_t n)
{
	return tls_sig_hello(p, n, TLS_HS_CLIENT_HELLO);
}

static enum tls_sig tls_sig_server(const uint8_t *p, size_t n)
{
	enum tls_sig a = tls_sig_hello(p, n, TLS_HS_SERVER_HELLO);
	enum tls_sig b = tls_sig_alert(p, n);

	if (a == TLS_SIG_YES || b == TLS_SIG_YES)
		return TLS_SIG_YES;
	if (a == TLS_SIG_MORE || b == TLS_SIG_MORE)
		return TLS_SIG_MORE;
	return TLS_SIG_NO;
}

/* ------------------------------------------------------------------ */
/* Detection: held bytes                                               */

static bool tls_hold_append(struct tls_side *sd, const uint8_t *p, size_t n)
{
	struct reader in;
	const uint8_t *q;

	if (n > TLS_DETECT_WINDOW - sd->hold_len)
		return false;
	if (sd->hold_len + n > sd->hold_cap) {
		uint32_t cap = sd->hold_cap ? sd->hold_cap : 2048;
		uint8_t *h;

		while (cap < sd->hold_len + n)
			cap *= 2;
		if (cap > TLS_DETECT_WINDOW)
			cap = TLS_DETECT_WINDOW;
		h = realloc(sd->hold, cap);
		if (!h)
			return false;
		sd->hold = h;
		sd->hold_cap = cap;
	}
	rd_init(&in, p, n);
	if (!rd_bytes(&in, n, &q))
		return false;
	memcpy(sd->hold + sd->hold_len, q, n);
	sd->hold_len += (uint32_t)n;
	return true;
}

/* Hands the held bytes from `off` on to the record layer. */
static void tls_start_records(struct tls_conn *c, int dir, uint32_t off, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	uint8_t *buf = sd->hold;
	uint32_t len = sd->hold_len;

	sd->hold = NULL;
	sd->hold_len = sd->hold_cap = 0;
	sd->mode = TLS_SIDE_RECORDS;
	c->tls = true;
	if (off < len)
		tls_records(c, dir, buf + off, len - off, ts);
	free(buf);
}

/* Scans the held bytes of a side in SEEK mode for its first record. */
static void tls_seek(struct tls_conn *c, int dir, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	uint8_t first = dir == TLS_FROM_CLIENT ? TLS_CT_HANDSHAKE : 0;
	uint32_t i = sd->seek_from;

	while (i < sd->hold_len) {
		const uint8_t *p = sd->hold + i;
		size_t n = sd->hold_len - i;
		enum tls_sig sig;

		if (first ? *p != first : (*p != TLS_CT_HANDSHAKE && *p != TLS_CT_ALERT)) {
			i++;
			continue;
		}
		sig = dir == TLS_FROM_CLIENT ? tls_sig_client(p, n) : tls_sig_server(p, n);
		if (sig == TLS_SIG_YES) {
			tls_start_records(c, dir, i, ts);
			return;
		}
		if (sig == TLS_SIG_MORE)
			break;
		i++;
	}
	sd->seek_from = i;
}

/* Text protocols: how many leading bytes a line-based peer may send
 * (UTF-8 allowed).  Binary after the text is where TLS may begin. */
static size_t tls_text_len(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			return i;
	}
	return n;
}

static bool tls_has_prefix(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && strncasecmp((const char *)p, s, k) == 0;
}

/* Whether the stream can still become `s` (n bytes seen so far). */
static bool tls_may_be(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return strncasecmp((const char *)p, s, n < k ? n : k) == 0;
}

static const uint8_t *tls_find(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return p + i;
	return NULL;
}

/* A complete line of the held text starting at *off: its bounds without
 * the line end, and *off moved past it.  False when no complete line. */
static bool tls_next_line(const uint8_t *p, uint32_t n, uint32_t *off,
			  const uint8_t **line, size_t *len)
{
	const uint8_t *nl;

	if (*off >= n)
		return false;
	nl = memchr(p + *off, '\n', n - *off);
	if (!nl)
		return false;
	*line = p + *off;
	*len = (size_t)(nl - *line);
	*off = (uint32_t)(nl - p) + 1;
	while (*len && ((*line)[*len - 1] == '\r' || (*line)[*len - 1] == ' '))
		(*len)--;
	return true;
}

static bool tls_line_is(const uint8_t *line, size_t len, const char *s)
{
	return len == strlen(s) && strncasecmp((const char *)line, s, len) == 0;
}

/* The client line that asks for TLS, if this is one. */
static enum tls_cmd tls_text_command(struct tls_conn *c, const uint8_t *line, size_t len)
{
	const uint8_t *sp;

	if (tls_line_is(line, len, "STARTTLS"))
		return TLS_CMD_STARTTLS;
	if (tls_line_is(line, len, "STLS"))
		return TLS_CMD_POP3;
	if (tls_line_is(line, len, "AUTH TLS") || tls_line_is(line, len, "AUTH SSL") ||
	    tls_line_is(line, len, "AUTH TLS-C") || tls_line_is(line, len, "AUTH TLS-P"))
		return TLS_CMD_FTP;
	sp = memchr(line, ' ', len);
	if (sp && sp > line && (size_t)(sp - line) < sizeof(c->imap_tag) &&
	    tls_line_is(sp + 1, len - (size_t)(sp - line) - 1, "STARTTLS")) {
		memcpy(c->imap_tag, line, (size_t)(sp - line));
		c->imap_tag[sp - line] = '\0';
		return TLS_CMD_IMAP;
	}
	return TLS_CMD_NONE;
}

/* The server's positive answer to the command, after srv_mark: the name
 * of the preamble and where the server's TLS may start, or NULL. */
static const char *tls_text_answer(struct tls_conn *c, const uint8_t *sp, uint32_t sn,
				   uint32_t *sfrom)
{
	uint32_t off = c->srv_mark;
	const uint8_t *line, *q;
	size_t len;

	if (sn <= off)
		return NULL;
	if (c->cmd == TLS_CMD_XMPP) {
		q = tls_find(sp + off, sn - off, "<proceed");
		if (!q || !(q = memchr(q, '>', (size_t)(sp + sn - q))))
			return NULL;
		*sfrom = (uint32_t)(q - sp) + 1;
		return "XMPP STARTTLS";
	}
	while (tls_next_line(sp, sn, &off, &line, &len)) {
		*sfrom = off;
		switch (c->cmd) {
		case TLS_CMD_STARTTLS:
			if (tls_has_prefix(line, len, "220 ") || tls_line_is(line, len, "220"))
				return "SMTP STARTTLS";
			/* IRC: [":prefix "] "670" ... (RPL_STARTTLS) */
			if (tls_has_prefix(line, len, "670 "))
				return "IRC STARTTLS";
			if (len && line[0] == ':') {
				q = memchr(line, ' ', len);
				if (q && tls_has_prefix(q + 1, len - (size_t)(q + 1 - line), "670 "))
					return "IRC STARTTLS";
			}
			break;
		case TLS_CMD_IMAP: {
			size_t k = strlen(c->imap_tag);
			if (len > k + 3 && memcmp(line, c->imap_tag, k) == 0 && line[k] == ' ' &&
			    tls_has_prefix(line + k + 1, len - k - 1, "OK"))
				return "IMAP STARTTLS";
			break;
		}
		case TLS_CMD_POP3:
			if (tls_has_prefix(line, len, "+OK"))
				return "POP3 STLS";
			break;
		case TLS_CMD_FTP:
			if (tls_has_prefix(line, len, "234"))
				return "FTP AUTH TLS";
			break;
		default:
			break;
		}
	}
	return NULL;
}

enum tls_det {
	TLS_DET_MORE,
	TLS_DET_NOT,
	TLS_DET_CLIENT,         /* ClientHello (or SSLv2 hello) at client byte 0 */
	TLS_DET_SERVER,         /* ServerHello / alert at server byte 0 */
	TLS_DET_PREAMBLE,       /* c->s.preamble set; scan from cfrom / sfrom */
};

/*
 * Other line protocols that switch to TLS without a command we know
 * (NoMachine's "NXSH-" banner exchange, Gnutella's TLS upgrade, ...): the
 * client's text ends at a complete line and a ClientHello follows at once.
 * The server's text before it is scanned past like any preamble.
 */
static enum tls_det tls_text_then_hello(struct tls_conn *c, const uint8_t *cp, uint32_t cn,
					uint32_t tlen, uint32_t *cfrom, uint32_t *sfrom)
{
	if (tlen == cn)
		return TLS_DET_MORE;
	if (cp[tlen - 1] != '\n')
		return TLS_DET_NOT;
	switch (tls_sig_client(cp + tlen, cn - tlen)) {
	case TLS_SIG_MORE:
		return TLS_DET_MORE;
	case TLS_SIG_NO:
		return TLS_DET_NOT;
	case TLS_SIG_YES:
		break;
	}
	c->s.preamble = "cleartext preamble";
	*cfrom = tlen;
	*sfrom = 0;
	return TLS_DET_PREAMBLE;
}

/* Server-first protocols whose banner may precede STARTTLS or SSL.  With
 * no client bytes at all (a capture of the server's side only), text ending
 * in a complete line followed by a ServerHello is TLS after a preamble. */
static enum tls_det tls_server_banner(struct tls_conn *c, const uint8_t *sp, uint32_t sn,
				      uint32_t *sfrom)
{
	uint32_t tlen;

	if (sn >= 5 && sp[3] == 0 && sp[4] == 0x0a)
		return TLS_DET_MORE;            /* MySQL greeting, protocol 10 */
	if (sn < 5 && (sn < 4 || sp[3] == 0))
		return TLS_DET_MORE;
	if (tls_may_be(sp, sn, "SSH-") || tls_may_be(sp, sn, "HTTP/"))
		return TLS_DET_NOT;
	tlen = (uint32_t)tls_text_len(sp, sn);
	if (tlen == sn)
		return TLS_DET_MORE;
	if (tlen == 0 || sp[tlen - 1] != '\n')
		return TLS_DET_NOT;
	switch (tls_sig_server(sp + tlen, sn - tlen)) {
	case TLS_SIG_MORE:
		return TLS_DET_MORE;
	case TLS_SIG_NO:
		return TLS_DET_NOT;
	case TLS_SIG_YES:
		break;
	}
	c->s.preamble = "cleartext preamble";
	*sfrom = tlen;
	return TLS_DET_PREAMBLE;
}

/* Client requests that end any chance of TLS on the connection. */
static bool tls_plain_request(const uint8_t *cp, uint32_t cn)
{
	static const char *const http[] = {
		"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "TRACE ",
		"SSH-",
	};

	for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++)
		if (tls_has_prefix(cp, cn, http[i]))
			return true;
	return false;
}

static enum tls_det tls_detect(struct tls_conn *c, uint32_t *cfrom, uint32_t *sfrom)
{
	struct tls_side *cs = &c->side[TLS_FROM_CLIENT], *ss = &c->side[TLS_FROM_SERVER];
	const uint8_t *cp = cs->hold, *sp = ss->hold;
	uint32_t cn = cs->hold_len, sn = ss->hold_len, tlen;
	enum tls_sig sig;

	*cfrom = *sfrom = 0;
	if (cn) {
		sig = cp[0] & 0x80 ? tls_sig_ssl2(cp, cn) : tls_sig_client(cp, cn);
		if (sig == TLS_SIG_YES)
			return TLS_DET_CLIENT;
		if (sig == TLS_SIG_MORE)
			return TLS_DET_MORE;
	}
	if (sn && tls_sig_server(sp, sn) == TLS_SIG_YES)
		return TLS_DET_SERVER;
	if (cn == 0) {
		if (sn == 0 || tls_sig_server(sp, sn) == TLS_SIG_MORE)
			return TLS_DET_MORE;
		return tls_server_banner(c, sp, sn, sfrom);
	}
	if (cp[0] == TLS_CT_HANDSHAKE)
		return TLS_DET_NOT;

	/* PostgreSQL SSLRequest; the server answers 'S' (TLS follows) or 'N'. */
	{
		static const uint8_t ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
		size_t k = cn < 8 ? cn : 8;

		if (memcmp(cp, ssl_request, k) == 0) {
			if (cn < 8 || sn == 0)
				return TLS_DET_MORE;
			if (sp[0] != 'S')
				return TLS_DET_NOT;
			c->s.preamble = "PostgreSQL SSLRequest";
			*cfrom = 8;
			*sfrom = 1;
			return TLS_DET_PREAMBLE;
		}
	}

	/* MySQL: the server's greeting (protocol 10), then the client's first
	 * packet (sequence 1) with CLIENT_SSL set is the SSL request. */
	if (sn >= 5 && sp[3] == 0 && sp[4] == 0x0a) {
		uint32_t glen = sp[0] | (uint32_t)sp[1] << 8 | (uint32_t)sp[2] << 16;
		uint32_t clen, caps;

		if (cn < 8)
			return TLS_DET_MORE;
		clen = cp[0] | (uint32_t)cp[1] << 8 | (uint32_t)cp[2] << 16;
		caps = cp[4] | (uint32_t)cp[5] << 8 | (uint32_t)cp[6] << 16 | (uint32_t)cp[7] << 24;
		if (cp[3] != 1 || !(caps & 0x0800))          /* CLIENT_SSL */
			return TLS_DET_NOT;
		c->s.preamble = "MySQL SSL";
		*cfrom = 4 + clen;
		*sfrom = 4 + glen;
		return TLS_DET_PREAMBLE;
	}

	/* SOCKS4 / 4a: VN=4 CD=1|2 DSTPORT DSTIP USERID NUL [HOST NUL];
	 * the reply is 8 bytes, 0x00 0x5a when granted. */
	if (cp[0] == 4 && (cn < 2 || cp[1] == 1 || cp[1] == 2)) {
		const uint8_t *nul;
		bool socks4a;
		uint32_t end;

		if (cn < 9 || !(nul = memchr(cp + 8, 0, cn - 8)))
			return TLS_DET_MORE;
		end = (uint32_t)(nul - cp) + 1;
		socks4a = cp[4] == 0 && cp[5] == 0 && cp[6] == 0 && cp[7] != 0;
		if (socks4a) {
			if (!(nul = memchr(cp + end, 0, cn - end)))
				return TLS_DET_MORE;
			end = (uint32_t)(nul - cp) + 1;
		}
		if (sn < 2)
			return TLS_DET_MORE;
		if (sp[0] != 0 || sp[1] != 0x5a)
			return TLS_DET_NOT;
		c->s.preamble = socks4a ? "SOCKS4a" : "SOCKS4";
		*cfrom = end;
		*sfrom = 8;
		return TLS_DET_PREAMBLE;
	}

	/* SOCKS5: VER=5 NMETHODS METHODS; the server picks a method (0xff:
	 * none acceptable); authentication and the CONNECT exchange follow and
	 * are left to the scan for the first record. */
	if (cp[0] == 5) {
		if (cn < 2 || cn < 2u + cp[1])
			return TLS_DET_MORE;
		if (cp[1] == 0)
			return TLS_DET_NOT;
		if (sn < 2)
			return TLS_DET_MORE;
		if (sp[0] != 5 || sp[1] == 0xff)
			return TLS_DET_NOT;
		c->s.preamble = "SOCKS5";
		*cfrom = 2u + cp[1];
		*sfrom = 2;
		return TLS_DET_PREAMBLE;
	}

	/* LDAP StartTLS: an LDAPMessage SEQUENCE whose ExtendedRequest names
	 * 1.3.6.1.4.1.1466.20037; the server's response is left to the scan. */
	if (cp[0] == 0x30) {
		static const char oid[] = "1.3.6.1.4.1.1466.20037";
		const uint8_t *q;

		if (c->cmd != TLS_CMD_LDAP) {
			if (!(q = tls_find(cp, cn, oid)))
				return TLS_DET_MORE;
			c->cmd = TLS_CMD_LDAP;
			c->cmd_end = (uint32_t)(q - cp) + sizeof(oid) - 1;
			c->srv_mark = sn;
		}
		if (sn <= c->srv_mark)
			return TLS_DET_MORE;
		c->s.preamble = "LDAP StartTLS";
		*cfrom = c->cmd_end;
		*sfrom = c->srv_mark;
		return TLS_DET_PREAMBLE;
	}

	/* Everything else we know is text, up to where TLS would begin. */
	tlen = (uint32_t)tls_text_len(cp, cn);
	if (tlen == 0 || tls_plain_request(cp, tlen))
		return TLS_DET_NOT;

	/* HTTP CONNECT: TLS after the request's and the 2xx answer's headers. */
	if (tls_may_be(cp, tlen, "CONNECT ")) {
		uint32_t off = 0;
		const uint8_t *line, *end;
		size_t len;

		if (!(end = tls_find(cp, tlen, "\r\n\r\n")))
			return tlen < cn ? TLS_DET_NOT : TLS_DET_MORE;
		*cfrom = (uint32_t)(end - cp) + 4;
		while (tls_next_line(sp, sn, &off, &line, &len)) {
			if (len >= 12 && tls_has_prefix(line, len, "HTTP/1.") && line[8] == ' ' &&
			    line[9] == '2') {
				if (!(end = tls_find(line, (size_t)(sp + sn - line), "\r\n\r\n")))
					return TLS_DET_MORE;
				c->s.preamble = "HTTP CONNECT";
				*sfrom = (uint32_t)(end - sp) + 4;
				return TLS_DET_PREAMBLE;
			}
		}
		return TLS_DET_MORE;
	}

	/* STARTTLS and friends: the client's command, then the server's yes. */
	if (c->cmd == TLS_CMD_NONE) {
		uint32_t off = 0;
		const uint8_t *line, *q;
		size_t len;

		while (tls_next_line(cp, tlen, &off, &line, &len)) {
			enum tls_cmd cmd = tls_text_command(c, line, len);

			if (tls_has_prefix(line, len, "MAIL FROM:") || tls_line_is(line, len, "DATA"))
				return TLS_DET_NOT;   /* SMTP went on in clear */
			if (cmd != TLS_CMD_NONE) {
				c->cmd = cmd;
				c->cmd_end = off;
				c->srv_mark = sn;
				break;
			}
		}
		if (c->cmd == TLS_CMD_NONE && (q = tls_find(cp, tlen, "<starttls"))) {
			if (!(q = memchr(q, '>', (size_t)(cp + tlen - q))))
				return tlen < cn ? TLS_DET_NOT : TLS_DET_MORE;
			c->cmd = TLS_CMD_XMPP;
			c->cmd_end = (uint32_t)(q - cp) + 1;
			c->srv_mark = sn;
		}
		if (c->cmd == TLS_CMD_NONE)
			return tls_text_then_hello(c, cp, cn, tlen, cfrom, sfrom);
	}
	if (!(c->s.preamble = tls_text_answer(c, sp, sn, sfrom)))
		return TLS_DET_MORE;
	*cfrom = c->cmd_end;
	return TLS_DET_PREAMBLE;
}

/* Runs detection over the held bytes and acts on its outcome. */
static void tls_detect_and_start(struct tls_conn *c, uint64_t ts)
{
	struct tls_side *cs = &c->side[TLS_FROM_CLIENT], *ss = &c->side[TLS_FROM_SERVER];
	uint32_t cfrom, sfrom;

	switch (tls_detect(c, &cfrom, &sfrom)) {
	case TLS_DET_MORE:
		return;
	case TLS_DET_NOT:
		c->not_tls = true;
		tls_side_release(cs);
		tls_side_release(ss);
		return;
	case TLS_DET_CLIENT:
		tls_start_records(c, TLS_FROM_CLIENT, 0, ts);
		if (c->finished)
			return;
		if (ss->hold_len) {
			ss->mode = TLS_SIDE_SEEK;
			tls_seek(c, TLS_FROM_SERVER, ts);
		} else {
			ss->mode = TLS_SIDE_RECORDS;
		}
		return;
	case TLS_DET_SERVER:
		/* A client whose bytes are no hello started before the capture. */
		if (cs->hold_len) {
			tls_side_release(cs);
			cs->mode = TLS_SIDE_IDLE;
		} else {
			cs->mode = TLS_SIDE_RECORDS;
		}
		tls_start_records(c, TLS_FROM_SERVER, 0, ts);
		return;
	case TLS_DET_PREAMBLE:
		cs->mode = TLS_SIDE_SEEK;
		cs->seek_from = cfrom;
		ss->mode = TLS_SIDE_SEEK;
		ss->seek_from = sfrom;
		tls_seek(c, TLS_FROM_CLIENT, ts);
		if (!c->finished && ss->mode == TLS_SIDE_SEEK)
			tls_seek(c, TLS_FROM_SERVER, ts);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Interface                                                           */

struct tls_conn *tls_conn_new(void)
{
	return calloc(1, sizeof(struct tls_conn));
}

struct tls_conn *tls_conn_new_with_keys(const struct kl_store *keys)
{
	struct tls_conn *c = tls_conn_new();

	if (c)
		c->keys = keys;
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->s.server_chain.n; i++)
		free(c->s.server_chain.certs[i].data);
	for (unsigned i = 0; i < c->s.client_chain.n; i++)
		free(c->s.client_chain.certs[i].data);
	for (unsigned i = 0; i < c->s.n_ca_names; i++)
		free(c->s.ca_names[i].data);
	tls_side_release(&c->side[0]);
	tls_side_release(&c->side[1]);
	free(c);
}

static enum tls_verdict tls_verdict_of(const struct tls_conn *c)
{
	if (c->not_tls)
		return TLS_NOT_TLS;
	return c->finished ? TLS_DONE : TLS_CONTINUE;
}

enum tls_verdict tls_feed(struct tls_conn *c, enum tls_dir dir,
			  const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct tls_side *sd, *other;

	if (c->not_tls || c->finished)
		return tls_verdict_of(c);
	if (dir != TLS_FROM_CLIENT && dir != TLS_FROM_SERVER)
		return TLS_CONTINUE;
	sd = &c->side[dir];
	other = &c->side[!dir];
	c->s.bytes[dir] += n;
	if (n == 0)
		return TLS_CONTINUE;

	switch (sd->mode) {
	case TLS_SIDE_RECORDS:
		tls_records(c, dir, p, n, ts_us);
		break;
	case TLS_SIDE_IDLE:
		break;
	case TLS_SIDE_HOLD:
		/* The common case costs no copy: a hello at byte 0 of a fresh flow. */
		if (sd->hold_len == 0 && other->hold_len == 0 && other->mode == TLS_SIDE_HOLD &&
		    (dir == TLS_FROM_CLIENT ? tls_sig_client(p, n) : tls_sig_server(p, n)) == TLS_SIG_YES) {
			c->tls = true;
			sd->mode = TLS_SIDE_RECORDS;
			other->mode = TLS_SIDE_RECORDS;
			tls_records(c, dir, p, n, ts_us);
			break;
		}
		if (!tls_hold_append(sd, p, n)) {
			c->not_tls = true;
			tls_side_release(sd);
			tls_side_release(other);
			break;
		}
		tls_detect_and_start(c, ts_us);
		break;
	case TLS_SIDE_SEEK:
		if (!tls_hold_append(sd, p, n)) {
			/* No record within the window on this side. */
			tls_side_release(sd);
			sd->mode = TLS_SIDE_IDLE;
			if (!c->tls) {
				c->not_tls = true;
				tls_side_release(other);
			}
			break;
		}
		tls_seek(c, dir, ts_us);
		break;
	}
	return tls_verdict_of(c);
}

/* Parses what arrived of a Certificate message cut short, for the chain. */
static void tls_cut_certificate(struct tls_conn *c, int dir)
{
	struct tls_side *sd = &c->side[dir];
	struct reader body;

	if (!sd->in_msg || sd->msg_type != TLS_HS_CERTIFICATE || !sd->msg_keep)
		return;
	rd_init(&body, sd->msg, sd->msg_have);
	tls_parse_certificate(c, dir, body, sd->msg_ts, true);
	sd->in_msg = false;
}

enum tls_verdict tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t missing)
{
	struct tls_side *sd;

	if (c->not_tls || c->finished)
		return tls_verdict_of(c);
	if (dir != TLS_FROM_CLIENT && dir != TLS_FROM_SERVER)
		return TLS_CONTINUE;
	sd = &c->side[dir];
	if (!c->tls) {
		/* Detection needs the first bytes whole. */
		c->not_tls = true;
		tls_side_release(&c->side[0]);
		tls_side_release(&c->side[1]);
		return TLS_NOT_TLS;
	}
	if (sd->mode == TLS_SIDE_IDLE)
		return TLS_CONTINUE;
	if (sd->encrypted) {
		/* Past ChangeCipherSpec nothing readable is lost, but the record
		 * boundaries are: stop reading this side. */
		sd->mode = TLS_SIDE_IDLE;
		return TLS_CONTINUE;
	}
	if (sd->in_msg)
		snprintf(c->reason_buf, sizeof(c->reason_buf), "gap of %llu bytes inside the %s's %s",
			 (unsigned long long)missing, tls_dir_name(dir), tls_hs_name(sd->msg_type));
	else
		snprintf(c->reason_buf, sizeof(c->reason_buf), "gap of %llu bytes inside the %s's handshake",
			 (unsigned long long)missing, tls_dir_name(dir));
	tls_cut_certificate(c, dir);
	tls_finish(c, TLS_ST_TRUNCATED, c->reason_buf);
	/* A malformed partial chain (zero-length entry) already said why. */
	return TLS_DONE;
}

void tls_end(struct tls_conn *c)
{
	struct tls_side *cs = &c->side[TLS_FROM_CLIENT], *ss = &c->side[TLS_FROM_SERVER];

	if (c->not_tls || c->finished)
		return;
	if (!c->tls) {
		tls_side_release(cs);
		tls_side_release(ss);
		return;
	}
	/* One-sided capture: the side we have went past ChangeCipherSpec. */
	if ((ss->encrypted && c->s.bytes[TLS_FROM_CLIENT] == 0) ||
	    (cs->encrypted && c->s.bytes[TLS_FROM_SERVER] == 0)) {
		tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	for (int dir = 0; dir < 2; dir++) {
		struct tls_side *sd = &c->side[dir];

		if (sd->in_msg && sd->msg_type == TLS_HS_CERTIFICATE) {
			snprintf(c->reason_buf, sizeof(c->reason_buf),
				 "capture ended inside the %s's Certificate message", tls_dir_name(dir));
			tls_cut_certificate(c, dir);
			tls_finish(c, TLS_ST_TRUNCATED, c->reason_buf);
			return;
		}
	}
	if (c->tls13) {
		/* Read with a key log: as without one, the handshake counts as
		 * seen once the ServerHello was, unless the server's encrypted
		 * flight (where its certificates are) was cut before its end. */
		if (ss->decrypting && !ss->hs_done)
			tls_finish(c, TLS_ST_TRUNCATED,
				   "capture ended inside the server's encrypted handshake");
		else
			tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	tls_finish(c, TLS_ST_TRUNCATED, "capture ended inside the handshake");
}

bool tls_is_tls(const struct tls_conn *c)
{
	return c->tls;
}

const struct tls_session *tls_session(const struct tls_conn *c)
{
	return &c->s;
}
