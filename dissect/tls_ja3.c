/*
 * tls_ja3.c — JA3 and JA3S fingerprints of the hellos.
 *
 * JA3 is the MD5 of "SSLVersion,Ciphers,Extensions,EllipticCurves,
 * EllipticCurvePointFormats" (decimal values, '-' within a field, GREASE
 * left out); JA3S of "SSLVersion,Cipher,Extensions" (GREASE kept).  Both
 * are built from what the hello's one extension walk recorded (the type
 * list and views of supported_groups and ec_point_formats): nothing here
 * walks an extension block again.
 *
 * The text is streamed into MD5 through a small buffer, never built whole,
 * and numbers are written by hand: snprintf was half the cost of a whole
 * handshake, and a fetch of MD5 per ClientHello half the cost of JA3
 * (measured with perf on the bench capture), so MD5 is fetched once per
 * process and kept, like OpenSSL's own tables.
 */
#include <pthread.h>
#include <openssl/evp.h>

#include "dissect/tls_int.h"

bool tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

struct tls_md5_text {
	EVP_MD_CTX *ctx;
	bool ok;
	size_t len;
	char buf[256];
};

/* Fetched once for the process (certtrace --threads: from any worker). */
static EVP_MD *tls_md5;
static pthread_once_t tls_md5_once = PTHREAD_ONCE_INIT;

static void tls_md5_fetch(void)
{
	tls_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

static EVP_MD *tls_md5_md(void)
{
	pthread_once(&tls_md5_once, tls_md5_fetch);
	return tls_md5;
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

/* A '-' separated list of big-endian values of `width` bytes; GREASE
 * (a 2-byte notion) left out when asked. */
static void tls_md5_putlist(struct tls_md5_text *t, struct reader list, unsigned width,
			    bool skip_grease, bool *first)
{
	uint32_t v;

	while (rd_be(&list, width, &v)) {
		if (skip_grease && width == 2 && tls_is_grease((uint16_t)v))
			continue;
		if (!*first)
			tls_md5_putc(t, '-');
		tls_md5_putu(t, v);
		*first = false;
	}
}

static void tls_md5_list(struct tls_md5_text *t, struct reader list, unsigned width,
			 bool skip_grease)
{
	bool first = true;

	tls_md5_putlist(t, list, width, skip_grease, &first);
}

/* The extension types the walk recorded, in the order sent. */
static void tls_md5_types(struct tls_md5_text *t, const struct tls_ext_types *types,
			  bool skip_grease)
{
	struct reader first, rest;
	bool none_yet = true;

	tls_ext_types_readers(types, &first, &rest);
	tls_md5_putlist(t, first, 2, skip_grease, &none_yet);
	tls_md5_putlist(t, rest, 2, skip_grease, &none_yet);
	if (!buf_ok(&types->rest))
		t->ok = false;          /* a type was lost: no fingerprint */
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

/* The list inside an extension whose body is one length-prefixed list;
 * empty when the body is not that. */
static struct reader tls_ext_list(const struct tls_ext *e, unsigned width)
{
	struct reader body = e->body, list = { NULL, 0 };

	if (e->present)
		rd_prefixed(&body, width, &list);
	return list;
}

/*
 * An SSLv2-compatible ClientHello (RFC 5246 E.2) has 3-byte cipher specs:
 * those whose first byte is 0 are TLS suites and go into the text, which
 * has empty extension, curve and point format fields.
 */
static void tls_ja3_ssl2(struct tls_md5_text *t, struct reader specs)
{
	bool first = true;

	for (uint32_t spec; rd_u24(&specs, &spec);) {
		if (spec > 0xffff || tls_is_grease((uint16_t)spec))
			continue;
		if (!first)
			tls_md5_putc(t, '-');
		tls_md5_putu(t, spec);
		first = false;
	}
	tls_md5_putc(t, ',');
	tls_md5_putc(t, ',');
	tls_md5_putc(t, ',');
}

void tls_ja3(const struct tls_client_hello *ch, char out[33])
{
	struct tls_md5_text t;

	tls_md5_begin(&t);
	tls_md5_putu(&t, ch->version);
	tls_md5_putc(&t, ',');
	if (ch->sslv2) {
		tls_ja3_ssl2(&t, ch->cipher_suites);
	} else {
		tls_md5_list(&t, ch->cipher_suites, 2, true);
		tls_md5_putc(&t, ',');
		tls_md5_types(&t, &ch->types, true);
		tls_md5_putc(&t, ',');
		tls_md5_list(&t, tls_ext_list(&ch->supported_groups, 2), 2, true);
		tls_md5_putc(&t, ',');
		tls_md5_list(&t, tls_ext_list(&ch->ec_point_formats, 1), 1, true);
	}
	tls_md5_end(&t, out);
}

void tls_ja3s(const struct tls_server_hello *sh, char out[33])
{
	struct tls_md5_text t;

	tls_md5_begin(&t);
	tls_md5_putu(&t, sh->legacy_version);
	tls_md5_putc(&t, ',');
	tls_md5_putu(&t, sh->cipher);
	tls_md5_putc(&t, ',');
	tls_md5_types(&t, &sh->types, false);
	tls_md5_end(&t, out);
}
