/*
 * fuzz_names.c — libFuzzer target: the report's name comparisons
 * (report/model/names.c): CA name normalisation, the look-alike test, and host
 * names against patterns and certificates.
 *
 * Input: up to four parts separated by NUL bytes:
 *	name A \0 name B \0 pattern \0 host
 * A name is entries separated by '\n', each "FIELD=value" or
 * "FIELD:T=value"; FIELD is a short name (CN, DC, O, OU, C, ...) or a
 * dotted OID, T stores the value's bytes raw, unchecked, as a hostile
 * encoder would: b BMPString, u UTF8String, p PrintableString, i IA5String,
 * t T61String, v UniversalString; the same letter in upper case takes the
 * value as hex digits (for NULs and other bytes the text form cannot hold).
 * Without T the value must be valid UTF-8 (OpenSSL picks the string type).
 * An entry without '=' is a CN.
 * The names also go through DER and back, the way they arrive off the wire.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "report/rep_int.h"

#define FUZZ_NAMES_MAX_ENTRIES 32

static int string_type(char t)
{
	switch (t | 0x20) {
	case 'b': return V_ASN1_BMPSTRING;
	case 'u': return V_ASN1_UTF8STRING;
	case 'p': return V_ASN1_PRINTABLESTRING;
	case 'i': return V_ASN1_IA5STRING;
	case 't': return V_ASN1_T61STRING;
	case 'v': return V_ASN1_UNIVERSALSTRING;
	default:  return MBSTRING_UTF8;
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void add_entry(X509_NAME *name, const char *e, size_t len)
{
	unsigned char raw[512];
	bool hex = false;
	const char *eq = memchr(e, '=', len);
	char field[64] = "CN";
	int type = MBSTRING_UTF8;
	const char *val = e;
	size_t vlen = len;

	if (eq) {
		size_t flen = (size_t)(eq - e);
		const char *colon = memchr(e, ':', flen);
		if (colon && colon + 2 == eq) {
			type = string_type(colon[1]);
			hex = colon[1] >= 'A' && colon[1] <= 'Z' && type != MBSTRING_UTF8;
			flen = (size_t)(colon - e);
		}
		if (flen == 0 || flen >= sizeof field)
			return;
		memcpy(field, e, flen);
		field[flen] = 0;
		val = eq + 1;
		vlen = len - (size_t)(val - e);
	}
	if (vlen > 1024)
		return;
	if (hex) {
		size_t n = 0;
		for (size_t i = 0; i + 1 < vlen && n < sizeof raw; i += 2) {
			int hi = hex_digit(val[i]), lo = hex_digit(val[i + 1]);
			if (hi < 0 || lo < 0)
				return;
			raw[n++] = (unsigned char)(hi << 4 | lo);
		}
		val = (const char *)raw;
		vlen = n;
	}
	/* Refusals (an unknown field, invalid UTF-8) are part of the input
	 * space: the entry is left out, as a DER decoder would refuse it. */
	X509_NAME_add_entry_by_txt(name, field, type, (const unsigned char *)val,
				   (int)vlen, -1, 0);
}

static X509_NAME *build_name(const uint8_t *p, size_t len)
{
	X509_NAME *name = X509_NAME_new();
	if (!name)
		return NULL;
	unsigned n = 0;
	while (len > 0 && n < FUZZ_NAMES_MAX_ENTRIES) {
		const uint8_t *nl = memchr(p, '\n', len);
		size_t el = nl ? (size_t)(nl - p) : len;
		if (el)
			add_entry(name, (const char *)p, el);
		n++;
		if (!nl)
			break;
		len -= el + 1;
		p = nl + 1;
	}
	/* Through DER, as a CertificateRequest or certificate carries it. */
	unsigned char *der = NULL;
	int dl = i2d_X509_NAME(name, &der);
	X509_NAME_free(name);
	if (dl <= 0)
		return NULL;
	const unsigned char *q = der;
	name = d2i_X509_NAME(NULL, &q, dl);
	OPENSSL_free(der);
	return name;
}

static char *part_str(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = 0;
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4] = { 0 };
	size_t plen[4] = { 0 };
	unsigned np = 0;
	const uint8_t *p = data;
	size_t left = size;

	while (np < 4) {
		const uint8_t *z = left ? memchr(p, 0, left) : NULL;
		size_t l = z ? (size_t)(z - p) : left;
		part[np] = p;
		plen[np] = l;
		np++;
		if (!z)
			break;
		p = z + 1;
		left -= l + 1;
	}

	X509_NAME *a = build_name(part[0], plen[0]);
	X509_NAME *b = np > 1 ? build_name(part[1], plen[1]) : NULL;
	volatile size_t sink = 0;
	if (a) {
		char *na = rep_name_normalise(a);
		if (na) {
			sink += strlen(na);
			free(na);
		}
	}
	if (a && b) {
		char why[256];
		why[0] = 0;
		bool ab = rep_names_lookalike(a, b, why, sizeof why);
		sink += strlen(why);
		char why2[8];
		bool ba = rep_names_lookalike(b, a, why2, sizeof why2);
		/* Confusion is symmetric; a tiny why buffer must not change it. */
		if (ab != ba)
			abort();
		/* The same name is never its own look-alike. */
		if (rep_names_lookalike(a, a, NULL, 0))
			abort();
	}

	if (np > 2) {
		char *pattern = part_str(part[2], plen[2]);
		char *host = part_str(np > 3 ? part[3] : part[2], np > 3 ? plen[3] : plen[2]);
		if (pattern && host) {
			sink += rep_host_matches(pattern, host);
			/* A certificate as x509.c fills it: DNS SANs, then the CN. */
			char *dns[1] = { pattern };
			struct x509_info xi = { .parsed = true, .n_dns = 1, .dns = dns };
			if (rep_cert_matches_host(&xi, host) != rep_host_matches(pattern, host))
				abort();
			xi.n_dns = 0;
			xi.cn = pattern;
			sink += rep_cert_matches_host(&xi, host);
		}
		free(pattern);
		free(host);
	}
	X509_NAME_free(a);
	X509_NAME_free(b);
	(void)sink;
	return 0;
}
