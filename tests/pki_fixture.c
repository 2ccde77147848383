/*
 * pki_fixture.c — keys and certificates for tests, built in memory.
 *
 * Every extension is built from its ASN.1 structure rather than from
 * OpenSSL's config-string syntax, so a test gets exactly the bytes it asked
 * for (a URI with a comma stays one URI, an identifier is the one given).
 * See pki_fixture.h for the defaults.  Errors fail the running test.
 */
#include "tests/pki_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

static uint64_t pki_next_serial = 1000;

/* Fails the running test with what OpenSSL said last. */
#define pki_fail(what)                                                        \
	do {                                                                  \
		char ssl_[160] = "";                                          \
		unsigned long e_ = ERR_get_error();                           \
		if (e_)                                                       \
			ERR_error_string_n(e_, ssl_, sizeof(ssl_));           \
		ERR_clear_error();                                            \
		cr_assert_fail("pki fixture: %s: %s", what, ssl_);            \
	} while (0)

EVP_PKEY *pki_key(enum pki_key_type type, int bits)
{
	EVP_PKEY *k = NULL;
	const char *curve;

	switch (type) {
	case PKI_RSA:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case PKI_EC:
		curve = bits == 384 ? "P-384" : bits == 521 ? "P-521" : "P-256";
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
		break;
	case PKI_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case PKI_ED448:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
		break;
	}
	if (!k)
		pki_fail("key generation");
	return k;
}

time_t pki_time(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
		.tm_hour = hour, .tm_min = min, .tm_sec = sec,
	};

	return timegm(&tm);
}

/* SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2). */
static void key_id(const EVP_PKEY *key, uint8_t out[20])
{
	X509_PUBKEY *xpk = NULL;
	const unsigned char *bits;
	int len;

	if (!X509_PUBKEY_set(&xpk, (EVP_PKEY *)key) ||
	    !X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) ||
	    !EVP_Digest(bits, (size_t)len, out, NULL, EVP_sha1(), NULL))
		pki_fail("key identifier");
	X509_PUBKEY_free(xpk);
}

void pki_key_id_hex(const EVP_PKEY *key, char out[41])
{
	uint8_t id[20];
	int i;

	key_id(key, id);
	for (i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static ASN1_OCTET_STRING *octets(const uint8_t *p, long len)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

	if (!os || !ASN1_OCTET_STRING_set(os, p, (int)len))
		pki_fail("octet string");
	return os;
}

static ASN1_OCTET_STRING *octets_hex(const char *hex)
{
	long len;
	unsigned char *buf = OPENSSL_hexstr2buf(hex, &len);
	ASN1_OCTET_STRING *os;

	if (!buf)
		pki_fail("hex identifier");
	os = octets(buf, len);
	OPENSSL_free(buf);
	return os;
}

static void add_ext(X509 *x, int nid, void *value, int crit)
{
	if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1)
		pki_fail(OBJ_nid2sn(nid));
}

static void set_serial(X509 *x, const struct pki_spec *s)
{
	BIGNUM *bn = NULL;

	if (s->serial_hex) {
		if (!BN_hex2bn(&bn, s->serial_hex) ||
		    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
			pki_fail("serial");
		BN_free(bn);
		return;
	}
	if (!ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
				     s->serial ? s->serial : pki_next_serial++))
		pki_fail("serial");
}

static void set_subject(X509 *x, const struct pki_spec *s)
{
	X509_NAME *name = X509_get_subject_name(x);
	const struct pki_rdn *r;
	int i;

	for (i = 0; i < PKI_MAX_RDN && s->subject[i].field; i++) {
		r = &s->subject[i];
		if (!X509_NAME_add_entry_by_txt(name, r->field,
				r->asn1_type ? r->asn1_type : MBSTRING_UTF8,
				(const unsigned char *)r->value,
				r->value_len ? (int)r->value_len : -1, -1, 0))
			pki_fail(r->field);
	}
}

static void push_ia5(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (!gn || !ia5 || !ASN1_STRING_set(ia5, value, -1))
		pki_fail(value);
	GENERAL_NAME_set0_value(gn, type, ia5);
	sk_GENERAL_NAME_push(gens, gn);
}

static void add_san(X509 *x, const struct pki_spec *s)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn;
	ASN1_OCTET_STRING *ip;
	int i;

	for (i = 0; i < PKI_MAX_LIST && s->dns[i]; i++)
		push_ia5(gens, GEN_DNS, s->dns[i]);
	for (i = 0; i < PKI_MAX_LIST && s->ip[i]; i++) {
		gn = GENERAL_NAME_new();
		ip = a2i_IPADDRESS(s->ip[i]);
		if (!gn || !ip)
			pki_fail("iPAddress");
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		sk_GENERAL_NAME_push(gens, gn);
	}
	for (i = 0; i < PKI_MAX_LIST && s->email[i]; i++)
		push_ia5(gens, GEN_EMAIL, s->email[i]);
	for (i = 0; i < PKI_MAX_LIST && s->uri[i]; i++)
		push_ia5(gens, GEN_URI, s->uri[i]);
	if (sk_GENERAL_NAME_num(gens) > 0)
		add_ext(x, NID_subject_alt_name, gens, 0);
	GENERAL_NAMES_free(gens);
}

static void add_eku(X509 *x, const struct pki_spec *s)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_OBJECT *obj;
	int i;

	for (i = 0; i < PKI_MAX_LIST && s->eku[i]; i++) {
		obj = OBJ_txt2obj(s->eku[i], 0);
		if (!obj)
			pki_fail(s->eku[i]);
		sk_ASN1_OBJECT_push(eku, obj);
	}
	if (sk_ASN1_OBJECT_num(eku) > 0)
		add_ext(x, NID_ext_key_usage, eku, 0);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

static void add_crl_dp(X509 *x, const char *uri)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (!dps || !dp || !gn || !ia5 || !ASN1_STRING_set(ia5, uri, -1) ||
	    !(dp->distpoint = DIST_POINT_NAME_new()) ||
	    !(dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()))
		pki_fail("crlDistributionPoints");
	GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
	dp->distpoint->type = 0;	/* fullName */
	sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn);
	sk_DIST_POINT_push(dps, dp);
	add_ext(x, NID_crl_distribution_points, dps, 0);
	CRL_DIST_POINTS_free(dps);
}

static void add_key_ids(X509 *x, const struct pki_spec *s, EVP_PKEY *signer)
{
	const ASN1_OCTET_STRING *issuer_ski;
	ASN1_OCTET_STRING *os;
	AUTHORITY_KEYID *akid;
	uint8_t id[20];

	if (!s->no_ski) {
		if (s->ski_hex) {
			os = octets_hex(s->ski_hex);
		} else {
			key_id(s->key, id);
			os = octets(id, sizeof(id));
		}
		add_ext(x, NID_subject_key_identifier, os, 0);
		ASN1_OCTET_STRING_free(os);
	}
	if (s->no_aki)
		return;
	if (s->aki_hex) {
		os = octets_hex(s->aki_hex);
	} else if (s->issuer &&
		   (issuer_ski = X509_get0_subject_key_id(s->issuer))) {
		os = ASN1_OCTET_STRING_dup(issuer_ski);
	} else {
		key_id(signer, id);
		os = octets(id, sizeof(id));
	}
	akid = AUTHORITY_KEYID_new();
	if (!akid || !os)
		pki_fail("authorityKeyIdentifier");
	akid->keyid = os;
	add_ext(x, NID_authority_key_identifier, akid, 0);
	AUTHORITY_KEYID_free(akid);
}

/* Puts another algorithm OID on the key, keeping its bits: a key OpenSSL
 * will refuse to load once the certificate goes through DER. */
static void relabel_key(X509 *x, const char *oid)
{
	X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	const unsigned char *bits;
	unsigned char *copy;
	int len;

	if (!obj || !X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) ||
	    !(copy = OPENSSL_memdup(bits, (size_t)len)) ||
	    !X509_PUBKEY_set0_param(xpk, obj, V_ASN1_UNDEF, NULL, copy, len))
		pki_fail("spki_oid");
}

static void sign(X509 *x, const struct pki_spec *s, EVP_PKEY *signer)
{
	EVP_MD_CTX *mctx;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md;
	int id = EVP_PKEY_get_base_id(signer);

	if (s->sig == PKI_SIG_PSS_SHA256) {
		mctx = EVP_MD_CTX_new();
		if (!mctx ||
		    EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, signer) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
		    X509_sign_ctx(x, mctx) <= 0)
			pki_fail("RSASSA-PSS signature");
		EVP_MD_CTX_free(mctx);
		return;
	}
	switch (s->sig) {
	case PKI_SIG_SHA1:	md = EVP_sha1(); break;
	case PKI_SIG_MD5:	md = EVP_md5(); break;
	case PKI_SIG_SHA384:	md = EVP_sha384(); break;
	default:		md = EVP_sha256(); break;
	}
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		md = NULL;	/* EdDSA hashes internally */
	if (X509_sign(x, signer, md) <= 0)
		pki_fail("signature");
}

X509 *pki_cert(const struct pki_spec *s)
{
	EVP_PKEY *signer = s->issuer_key ? s->issuer_key : s->key;
	BASIC_CONSTRAINTS *bc;
	time_t nb = s->not_before, na = s->not_after;
	X509 *x;

	if (!s->key)
		pki_fail("pki_spec.key is required");
	if (s->issuer && !s->issuer_key)
		pki_fail("pki_spec.issuer needs issuer_key");
	if (!(x = X509_new()) || !X509_set_version(x, X509_VERSION_3))
		pki_fail("X509_new");
	set_serial(x, s);
	set_subject(x, s);
	if (!X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer)
					       : X509_get_subject_name(x)))
		pki_fail("issuer name");
	if (nb == 0 && na == 0) {
		nb = PKI_DEFAULT_NOT_BEFORE;
		na = PKI_DEFAULT_NOT_AFTER;
	}
	if (!ASN1_TIME_set(X509_getm_notBefore(x), nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), na))
		pki_fail("validity");
	if (!X509_set_pubkey(x, s->key))
		pki_fail("public key");
	if (s->spki_oid)
		relabel_key(x, s->spki_oid);

	bc = BASIC_CONSTRAINTS_new();
	if (!bc)
		pki_fail("basicConstraints");
	bc->ca = s->ca ? 0xff : 0;
	add_ext(x, NID_basic_constraints, bc, s->ca);
	BASIC_CONSTRAINTS_free(bc);
	add_key_ids(x, s, signer);
	add_san(x, s);
	add_eku(x, s);
	if (s->crl_dp)
		add_crl_dp(x, s->crl_dp);

	sign(x, s, signer);
	return x;
}

uint8_t *pki_der(const X509 *x, size_t *len)
{
	int n = i2d_X509(x, NULL);
	uint8_t *buf, *p;

	if (n <= 0 || !(buf = malloc((size_t)n)))
		pki_fail("i2d_X509");
	p = buf;
	if (i2d_X509(x, &p) != n)
		pki_fail("i2d_X509");
	*len = (size_t)n;
	return buf;
}

char *pki_pem(const X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (!bio || !PEM_write_bio_X509(bio, x))
		pki_fail("PEM_write_bio_X509");
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || !(out = malloc((size_t)n + 1)))
		pki_fail("PEM buffer");
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

void pki_write_pem(const char *path, const X509 *first, ...)
{
	FILE *f = fopen(path, "w");
	const X509 *x;
	va_list ap;

	if (!f)
		cr_assert_fail("pki fixture: cannot write %s", path);
	va_start(ap, first);
	for (x = first; x; x = va_arg(ap, const X509 *))
		if (!PEM_write_X509(f, x))
			pki_fail(path);
	va_end(ap);
	if (fclose(f) != 0)
		cr_assert_fail("pki fixture: cannot write %s", path);
}

void pki_write_der(const char *path, const X509 *x)
{
	size_t len;
	uint8_t *der = pki_der(x, &len);
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(der, 1, len, f) != len || fclose(f) != 0)
		cr_assert_fail("pki fixture: cannot write %s", path);
	free(der);
}

struct x509_info *pki_info(const X509 *x)
{
	size_t len;
	uint8_t *der = pki_der(x, &len);
	struct x509_info *xi = x509_info_from_der(der, len);

	free(der);
	if (!xi)
		cr_assert_fail("pki fixture: x509_info_from_der ran out of memory");
	return xi;
}
