/*
 * x509.c — certificate details through OpenSSL, each certificate parsed
 * once (the cache that sees to that is x509_cache.c).
 *
 * Every string that leaves this file is safe to print and to put in JSON.
 * Certificates off the wire are hostile: a DN or a dNSName may carry a NUL
 * ("www.bank.com\0.evil.com"), control bytes or invalid UTF-8.  Such bytes
 * are escaped as \XX (backslash itself as \5C), never truncated, so a name
 * with a NUL never compares equal to the name it imitates.  A certificate
 * OpenSSL refuses is still returned, with its hashes and OpenSSL's reason,
 * and the OpenSSL error queue is left empty.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* SHA256_Init & co.: x509_der_sha256() */

#include "report/model/x509.h"
#include "report/model/x509_entry.h"
#include "lib/buf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

/* One string taken from a certificate, at most (a certificate comes off the
 * wire or out of a file of a few MiB; escaping triples a byte at worst). */
#define X509_MAX_STRING_BYTES (64u * 1024 * 1024)

/* Collects strings while parsing; remembers an allocation failure. */
struct x509_parse {
	struct x509_info *xi;
	bool oom;
};

/* ---------------------------------------------------------------- strings */

static void hex_encode(const uint8_t *p, size_t n, char *out, size_t out_len,
		       bool upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *digits = upper ? up : lo;
	size_t i;

	if (out_len == 0)
		return;
	/* Keeps whole bytes only: a truncated id never ends in half a byte. */
	if (n > (out_len - 1) / 2)
		n = (out_len - 1) / 2;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Length of the valid UTF-8 sequence at p (shortest form, no surrogates,
 * at most U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Valid UTF-8 without NUL: what a C string and a JSON string both carry. */
static bool text_is_safe(const uint8_t *p, size_t n)
{
	size_t k;

	while (n > 0) {
		if (p[0] == 0 || (k = utf8_seq_len(p, n)) == 0)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

/* A string made here, or NULL with ps->oom when the buffer failed. */
static char *take(struct x509_parse *ps, struct buf *b)
{
	char *s = buf_take(b);

	if (!s)
		ps->oom = true;
	return s;
}

/* Bytes from a certificate as a printable C string: valid UTF-8 is kept,
 * control bytes, DEL, backslash and invalid UTF-8 become \XX.  malloc'd. */
static char *escape_bytes(struct x509_parse *ps, const uint8_t *p, size_t n)
{
	struct buf b = BUF_INIT(X509_MAX_STRING_BYTES);
	size_t k;

	while (n > 0) {
		k = utf8_seq_len(p, n);
		if (k == 0 || p[0] < 0x20 || p[0] == 0x7f || p[0] == '\\') {
			buf_putc(&b, '\\');
			buf_hex(&b, p, 1, true);
			k = 1;
		} else {
			buf_append(&b, p, k);
		}
		p += k;
		n -= k;
	}
	return take(ps, &b);
}

static char *escape_asn1(struct x509_parse *ps, const ASN1_STRING *s)
{
	return escape_bytes(ps, ASN1_STRING_get0_data(s),
			    (size_t)ASN1_STRING_length(s));
}

static char *dup_str(struct x509_parse *ps, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ps->oom = true;
	return d;
}

/* "DNS:" + value, consuming value (which may be NULL after an OOM). */
static char *prefixed(struct x509_parse *ps, const char *prefix, char *value)
{
	char *out;

	if (!value)
		return NULL;
	out = str_printf("%s%s", prefix, value);
	if (!out)
		ps->oom = true;
	free(value);
	return out;
}

/* A list of strings is allocated once, for as many as the extension holds
 * (max): it never grows. */
static bool list_new(struct x509_parse *ps, char ***v, size_t max)
{
	if (!max)
		return false;
	*v = calloc(max, sizeof(**v));
	if (!*v)
		ps->oom = true;
	return *v != NULL;
}

static void list_push(char **v, size_t *n, char *s)
{
	if (s)
		v[(*n)++] = s;
}

static void list_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An OID by OpenSSL's short name when it has one, else dotted. */
static void oid_name(const ASN1_OBJECT *obj, char *buf, size_t len)
{
	int nid = OBJ_obj2nid(obj);

	if (nid != NID_undef && OBJ_nid2sn(nid))
		snprintf(buf, len, "%s", OBJ_nid2sn(nid));
	else if (OBJ_obj2txt(buf, (int)len, obj, 1) <= 0)
		snprintf(buf, len, "unknown");
}

/* RFC 2253, UTF-8 rather than \XX for non-ASCII (people read these names,
 * and a look-alike CA name is the point of the tool).  When OpenSSL cannot
 * decode a string (invalid UTF-8 in a UTF8String, a lone surrogate in a
 * BMPString), the name is printed again byte by byte with every byte above
 * 0x7f escaped, which is plain ASCII.  ESC_CTRL makes a NUL "\00". */
static char *name_print(const X509_NAME *name, unsigned long flags)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (!bio)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, flags) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		if (n >= 0 && text_is_safe((const uint8_t *)data, (size_t)n)) {
			/* An empty Name prints nothing: the BIO has no buffer
			 * (data is NULL), and nothing is appended then. */
			struct buf b = BUF_INIT(X509_MAX_STRING_BYTES);
			if (n > 0)
				buf_append(&b, data, (size_t)n);
			out = buf_take(&b);
		}
	}
	BIO_free(bio);
	return out;
}

static char *name_string(const X509_NAME *name)
{
	static const unsigned long readable =
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	static const unsigned long bytewise =
		(XN_FLAG_RFC2253 & ~ASN1_STRFLGS_UTF8_CONVERT) |
		ASN1_STRFLGS_IGNORE_TYPE;
	char *s;

	if (!name)
		return strdup("");
	s = name_print(name, readable);
	if (!s)
		s = name_print(name, bytewise);
	if (!s)
		s = strdup("<unparsable name>");
	ERR_clear_error();
	return s;
}

char *x509_name_der_to_string(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_NAME *name = NULL;
	char *s;

	if (der && len > 0 && len <= LONG_MAX)
		name = d2i_X509_NAME(NULL, &p, (long)len);
	s = name ? name_string(name) : strdup("<unparsable name>");
	X509_NAME_free(name);
	ERR_clear_error();
	return s;
}

void x509_time_iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (len == 0)
		return;
	if (!gmtime_r(&t, &tm)) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
		 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ------------------------------------------------------------- the fields */

static void note(struct x509_info *xi, const char *what)
{
	size_t used = strlen(xi->error);

	snprintf(xi->error + used, sizeof(xi->error) - used, "%s%s",
		 used ? "; " : "", what);
}

static void parse_serial(struct x509_info *xi, const X509 *x)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	const uint8_t *p = ASN1_STRING_get0_data(s);
	size_t n = (size_t)ASN1_STRING_length(s), max_bytes;
	char *o = xi->serial;

	if (ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER)
		*o++ = '-';
	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0) {
		str_copy(o, sizeof(xi->serial) - (size_t)(o - xi->serial), "00");
		return;
	}
	/* RFC 5280 caps serials at 20 octets; broken ones can be longer.
	 * Keep what fits and mark the cut with "..". */
	max_bytes = (sizeof(xi->serial) - 1 - (size_t)(o - xi->serial) - 2) / 2;
	if (n > max_bytes) {
		hex_encode(p, max_bytes, o, 2 * max_bytes + 1, false);
		str_copy(o + 2 * max_bytes, 3, "..");
		return;
	}
	hex_encode(p, n, o, sizeof(xi->serial) - (size_t)(o - xi->serial), false);
}

static void parse_time(struct x509_info *xi, const ASN1_TIME *t, time_t *out,
		       char *iso, size_t iso_len, const char *which)
{
	struct tm tm;
	char msg[48];

	memset(&tm, 0, sizeof(tm));
	/* ASN1_TIME_to_tm(NULL) means "now": never let that happen. */
	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		*out = 0;
		iso[0] = '\0';
		snprintf(msg, sizeof(msg), "unreadable %s", which);
		note(xi, msg);
		return;
	}
	*out = timegm(&tm);
	x509_time_iso(*out, iso, iso_len);
}

static const char *key_type_of_nid(int nid)
{
	switch (nid) {
	case NID_rsaEncryption:		return "RSA";
	case NID_rsassaPss:		return "RSASSA-PSS";
	case NID_X9_62_id_ecPublicKey:	return "EC";
	case NID_ED25519:		return "Ed25519";
	case NID_ED448:			return "Ed448";
	case NID_dsa:			return "DSA";
	case NID_X25519:		return "X25519";
	case NID_X448:			return "X448";
	case NID_dhKeyAgreement:	return "DH";
	default:			return NULL;
	}
}

/* Type from the SPKI's algorithm OID, so that a key OpenSSL cannot load
 * (ML-DSA in 3.0, a broken RSA modulus) still says what it claims to be;
 * bits and curve only when OpenSSL could load it. */
static void parse_key(struct x509_info *xi, X509 *x)
{
	X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
	ASN1_OBJECT *alg = NULL;
	EVP_PKEY *pk;
	const char *name;

	if (xpk && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) && alg) {
		name = key_type_of_nid(OBJ_obj2nid(alg));
		if (name)
			snprintf(xi->key_type, sizeof(xi->key_type), "%s", name);
		else
			oid_name(alg, xi->key_type, sizeof(xi->key_type));
	} else {
		snprintf(xi->key_type, sizeof(xi->key_type), "unknown");
	}

	pk = X509_get0_pubkey(x);	/* NULL when it cannot be decoded */
	if (!pk)
		return;
	xi->key_bits = EVP_PKEY_get_bits(pk);
	if (xi->key_bits < 0)
		xi->key_bits = 0;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
					    xi->key_curve,
					    sizeof(xi->key_curve), NULL))
		xi->key_curve[0] = '\0';	/* explicit parameters */
}

static void parse_signature(struct x509_info *xi, X509 *x)
{
	int sig_nid = X509_get_signature_nid(x);
	int md_nid = NID_undef, pk_nid = NID_undef, secbits;
	uint32_t flags;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;

	if (sig_nid != NID_undef && OBJ_nid2ln(sig_nid)) {
		snprintf(xi->signature_algorithm,
			 sizeof(xi->signature_algorithm), "%s",
			 OBJ_nid2ln(sig_nid));
	} else {
		X509_get0_signature(NULL, &alg, x);
		if (alg)
			X509_ALGOR_get0(&obj, NULL, NULL, alg);
		if (!obj || OBJ_obj2txt(xi->signature_algorithm,
					sizeof(xi->signature_algorithm),
					obj, 1) <= 0)
			snprintf(xi->signature_algorithm,
				 sizeof(xi->signature_algorithm), "unknown");
	}
	xi->sig_pss = sig_nid == NID_rsassaPss;

	/* The signature info reads the digest out of PSS parameters too; when
	 * OpenSSL cannot make sense of them, the OID table still knows the
	 * digest of the classic algorithms. */
	if (!X509_get_signature_info(x, &md_nid, &pk_nid, &secbits, &flags) &&
	    !OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid))
		md_nid = NID_undef;
	if (md_nid != NID_undef && OBJ_nid2ln(md_nid))	/* "sha256", "md5" */
		snprintf(xi->signature_hash, sizeof(xi->signature_hash), "%s",
			 OBJ_nid2ln(md_nid));
	xi->sig_sha1 = md_nid == NID_sha1;
	xi->sig_md5 = md_nid == NID_md5 || md_nid == NID_md4 ||
		      md_nid == NID_md2;
}

/* One GeneralName as OpenSSL's config syntax prints it ("DNS:", "IP:"...). */
static char *general_name(struct x509_parse *ps, const GENERAL_NAME *gn)
{
	char buf[INET6_ADDRSTRLEN + 8], oid[80];
	const ASN1_OCTET_STRING *ip;
	const uint8_t *p;
	int type;
	void *val = GENERAL_NAME_get0_value(gn, &type);

	switch (type) {
	case GEN_DNS:
		return prefixed(ps, "DNS:", escape_asn1(ps, val));
	case GEN_EMAIL:
		return prefixed(ps, "email:", escape_asn1(ps, val));
	case GEN_URI:
		return prefixed(ps, "URI:", escape_asn1(ps, val));
	case GEN_IPADD:
		ip = val;
		p = ASN1_STRING_get0_data(ip);
		if (ASN1_STRING_length(ip) == 4 &&
		    inet_ntop(AF_INET, p, buf, sizeof(buf)))
			return prefixed(ps, "IP:", dup_str(ps, buf));
		if (ASN1_STRING_length(ip) == 16 &&
		    inet_ntop(AF_INET6, p, buf, sizeof(buf)))
			return prefixed(ps, "IP:", dup_str(ps, buf));
		/* Not an address (or an address+mask from a name constraint):
		 * show the bytes. */
		{
			struct buf hex = BUF_INIT(X509_MAX_STRING_BYTES);

			buf_putc(&hex, '#');
			buf_hex(&hex, p, (size_t)ASN1_STRING_length(ip), false);
			return prefixed(ps, "IP:", take(ps, &hex));
		}
	case GEN_DIRNAME: {
		char *s = name_string(val);

		if (!s)
			ps->oom = true;
		return prefixed(ps, "DirName:", s);
	}
	case GEN_RID:
		oid_name(val, oid, sizeof(oid));
		return prefixed(ps, "RID:", dup_str(ps, oid));
	case GEN_OTHERNAME: {
		const OTHERNAME *on = val;

		if (OBJ_obj2nid(on->type_id) == NID_ms_upn && on->value &&
		    on->value->type == V_ASN1_UTF8STRING)
			return prefixed(ps, "othername:UPN:",
					escape_asn1(ps, on->value->value.utf8string));
		oid_name(on->type_id, oid, sizeof(oid));
		return prefixed(ps, "othername:", dup_str(ps, oid));
	}
	case GEN_X400:
		return dup_str(ps, "X400Name:<unsupported>");
	case GEN_EDIPARTY:
		return dup_str(ps, "EdiPartyName:<unsupported>");
	default:
		return dup_str(ps, "<unknown name type>");
	}
}

static void parse_san(struct x509_parse *ps, X509 *x)
{
	struct x509_info *xi = ps->xi;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, n = sk_GENERAL_NAME_num(gens);

	if (!list_new(ps, &xi->san, n > 0 ? (size_t)n : 0) ||
	    !list_new(ps, &xi->dns, (size_t)n))
		n = 0;
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		int type;
		void *val = GENERAL_NAME_get0_value(gn, &type);

		list_push(xi->san, &xi->n_san, general_name(ps, gn));
		if (type == GEN_DNS) {
			char *d = escape_asn1(ps, val), *c;

			for (c = d; c && *c; c++)
				*c = (char)tolower((unsigned char)*c);
			list_push(xi->dns, &xi->n_dns, d);
		}
	}
	GENERAL_NAMES_free(gens);
}

static void parse_cn(struct x509_parse *ps, X509 *x)
{
	const X509_NAME *name = X509_get_subject_name(x);
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *data;
	unsigned char *utf8 = NULL;
	int i, last = -1, n;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, last)) >= 0)
		last = i;
	if (last < 0)
		return;
	e = X509_NAME_get_entry(name, last);
	data = X509_NAME_ENTRY_get_data(e);
	n = ASN1_STRING_to_UTF8(&utf8, data);
	if (n >= 0)
		ps->xi->cn = escape_bytes(ps, utf8, (size_t)n);
	else
		ps->xi->cn = escape_asn1(ps, data);	/* undecodable: raw bytes */
	OPENSSL_free(utf8);
}

static void parse_key_ids(struct x509_info *xi, X509 *x)
{
	ASN1_OCTET_STRING *ski = X509_get_ext_d2i(x, NID_subject_key_identifier,
						  NULL, NULL);
	AUTHORITY_KEYID *aki = X509_get_ext_d2i(x, NID_authority_key_identifier,
						NULL, NULL);

	if (ski)
		hex_encode(ASN1_STRING_get0_data(ski),
			   (size_t)ASN1_STRING_length(ski), xi->ski,
			   sizeof(xi->ski), false);
	if (aki && aki->keyid)
		hex_encode(ASN1_STRING_get0_data(aki->keyid),
			   (size_t)ASN1_STRING_length(aki->keyid), xi->aki,
			   sizeof(xi->aki), false);
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
}

/* No EKU extension: has_eku false and both flags false; a Windows client
 * takes such a certificate as good for any purpose, the report decides.
 * anyExtendedKeyUsage counts as both server and client auth. */
static void parse_eku(struct x509_parse *ps, X509 *x)
{
	struct x509_info *xi = ps->xi;
	EXTENDED_KEY_USAGE *eku;
	char buf[80];
	int i, n, nid;

	xi->has_eku = X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	n = sk_ASN1_OBJECT_num(eku);
	if (!list_new(ps, &xi->eku, n > 0 ? (size_t)n : 0))
		n = 0;
	for (i = 0; i < n; i++) {
		const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);

		nid = OBJ_obj2nid(obj);
		if (nid == NID_server_auth || nid == NID_anyExtendedKeyUsage)
			xi->eku_server_auth = true;
		if (nid == NID_client_auth || nid == NID_anyExtendedKeyUsage)
			xi->eku_client_auth = true;
		oid_name(obj, buf, sizeof(buf));
		list_push(xi->eku, &xi->n_eku, dup_str(ps, buf));
	}
	EXTENDED_KEY_USAGE_free(eku);
}

static void parse_crl_dp(struct x509_parse *ps, X509 *x)
{
	struct x509_info *xi = ps->xi;
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points,
						NULL, NULL);
	int i, j;
	size_t max = 0;

	/* relative names carry no URI */
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint && dp->distpoint->type == 0)
			max += (size_t)sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
	}
	if (!list_new(ps, &xi->crl_dp, max))
		max = 0;
	for (i = 0; max && i < sk_DIST_POINT_num(dps); i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		const GENERAL_NAMES *full;

		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		full = dp->distpoint->name.fullname;
		for (j = 0; j < sk_GENERAL_NAME_num(full); j++) {
			const GENERAL_NAME *gn = sk_GENERAL_NAME_value(full, j);
			int type;
			void *val = GENERAL_NAME_get0_value(gn, &type);

			if (type == GEN_URI)
				list_push(xi->crl_dp, &xi->n_crl_dp,
					  escape_asn1(ps, val));
		}
	}
	CRL_DIST_POINTS_free(dps);
}

static void parse_details(struct x509_parse *ps, X509 *x)
{
	struct x509_info *xi = ps->xi;
	BASIC_CONSTRAINTS *bc;
	EVP_PKEY *pk;

	xi->subject = name_string(X509_get_subject_name(x));
	xi->issuer = name_string(X509_get_issuer_name(x));
	if (!xi->subject || !xi->issuer)
		ps->oom = true;
	parse_serial(xi, x);
	parse_time(xi, X509_get0_notBefore(x), &xi->not_before,
		   xi->not_before_iso, sizeof(xi->not_before_iso), "notBefore");
	parse_time(xi, X509_get0_notAfter(x), &xi->not_after,
		   xi->not_after_iso, sizeof(xi->not_after_iso), "notAfter");
	parse_key(xi, x);
	parse_signature(xi, x);
	parse_san(ps, x);
	parse_cn(ps, x);
	parse_key_ids(xi, x);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	xi->is_ca = bc && bc->ca;
	BASIC_CONSTRAINTS_free(bc);

	parse_eku(ps, x);
	parse_crl_dp(ps, x);

	xi->self_issued = X509_NAME_cmp(X509_get_subject_name(x),
					X509_get_issuer_name(x)) == 0;
	pk = X509_get0_pubkey(x);
	xi->self_signed = xi->self_issued && pk && X509_verify(x, pk) == 1;
}

/* ------------------------------------------------------------ the entries */

static void entry_free(struct x509_entry *e)
{
	struct x509_info *xi = &e->info;

	X509_free(xi->x509);
	free(xi->der);
	free(xi->subject);
	free(xi->issuer);
	free(xi->cn);
	list_free(xi->san, xi->n_san);
	list_free(xi->dns, xi->n_dns);
	list_free(xi->eku, xi->n_eku);
	list_free(xi->crl_dp, xi->n_crl_dp);
	free(e);
}

/* Parses DER whose SHA-256 is already known; NULL only when out of memory. */
struct x509_entry *x509_entry_new(const uint8_t *der, size_t len, const uint8_t sha256[32])
{
	struct x509_entry *e = calloc(1, sizeof(*e));
	struct x509_parse ps = { .oom = false };
	struct x509_info *xi;
	const unsigned char *p;
	unsigned long err;
	char msg[64];

	if (!e)
		return NULL;
	xi = &e->info;
	ps.xi = xi;
	xi->refs = 1;
	xi->der = malloc(len ? len : 1);
	if (!xi->der) {
		free(e);
		return NULL;
	}
	if (len)
		memcpy(xi->der, der, len);
	xi->der_len = len;
	memcpy(xi->sha256, sha256, 32);
	if (!EVP_Digest(der, len, xi->sha1, NULL, EVP_sha1(), NULL)) {
		ERR_clear_error();
		entry_free(e);
		return NULL;
	}
	hex_encode(xi->sha1, 20, xi->sha1_hex, sizeof(xi->sha1_hex), false);
	hex_encode(xi->sha256, 32, xi->sha256_hex, sizeof(xi->sha256_hex), false);
	hex_encode(xi->sha1, 20, xi->thumbprint, sizeof(xi->thumbprint), true);

	/* Errors already queued are someone else's; ours must be first. */
	ERR_clear_error();
	if (len == 0) {
		snprintf(xi->error, sizeof(xi->error), "empty: not a certificate");
		return e;
	}
	p = der;
	if (len <= LONG_MAX)
		xi->x509 = d2i_X509(NULL, &p, (long)len);
	if (!xi->x509) {
		err = ERR_get_error();
		if (err)
			ERR_error_string_n(err, xi->error, sizeof(xi->error));
		else
			snprintf(xi->error, sizeof(xi->error), "not a certificate");
		ERR_clear_error();
		return e;
	}
	xi->parsed = true;
	if ((size_t)(p - der) < len) {
		snprintf(msg, sizeof(msg), "%zu bytes after the certificate ignored",
			 len - (size_t)(p - der));
		note(xi, msg);
	}
	parse_details(&ps, xi->x509);
	ERR_clear_error();
	if (ps.oom) {
		entry_free(e);
		return NULL;
	}
	return e;
}

/* The cache key, without allocating (x509_cache.c says why). */
void x509_der_sha256(const uint8_t *der, size_t len, uint8_t out[32])
{
	SHA256_CTX ctx;

	SHA256_Init(&ctx);
	SHA256_Update(&ctx, der, len);
	SHA256_Final(out, &ctx);
}

struct x509_info *x509_info_from_der(const uint8_t *der, size_t len)
{
	uint8_t key[32];
	struct x509_entry *e;

	if (!der)
		len = 0;
	x509_der_sha256(der, len, key);
	e = x509_entry_new(der, len, key);
	return e ? &e->info : NULL;
}

const struct x509_info *x509_ref(const struct x509_info *xi)
{
	if (xi)
		((struct x509_info *)xi)->refs++;
	return xi;
}

void x509_unref(const struct x509_info *xi)
{
	struct x509_info *m = (struct x509_info *)xi;

	if (m && --m->refs == 0)
		entry_free((struct x509_entry *)m);	/* info is the first member */
}
