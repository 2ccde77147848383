/*
 * test_x509.c — report/model/x509: every field of struct x509_info, hostile DER,
 * and the cache, on certificates the PKI fixture builds for each test.
 *
 * Expected hashes are computed here with EVP_Digest, independently of the
 * code under test (what `openssl x509 -fingerprint` prints, without colons).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "report/model/x509.h"
#include "tests/pki_fixture.h"

static void hex_of(const uint8_t *p, size_t n, char *out, bool upper)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, upper ? "%02X" : "%02x", p[i]);
	out[2 * n] = '\0';
}

/* The hash fields of xi against EVP digests of der. */
static void assert_hashes(const struct x509_info *xi, const uint8_t *der,
			  size_t len)
{
	uint8_t d1[20], d256[32];
	char h1[41], h1u[41], h256[65];

	cr_assert(EVP_Digest(der, len, d1, NULL, EVP_sha1(), NULL));
	cr_assert(EVP_Digest(der, len, d256, NULL, EVP_sha256(), NULL));
	hex_of(d1, 20, h1, false);
	hex_of(d1, 20, h1u, true);
	hex_of(d256, 32, h256, false);
	cr_assert_str_eq(xi->sha1_hex, h1);
	cr_assert_str_eq(xi->sha256_hex, h256);
	cr_assert_str_eq(xi->thumbprint, h1u);
	cr_assert_arr_eq(xi->sha1, d1, 20);
	cr_assert_arr_eq(xi->sha256, d256, 32);
	cr_assert_eq(xi->der_len, len);
	cr_assert(len == 0 || memcmp(xi->der, der, len) == 0);
}

/* Strings that end up in JSON must be accepted by jansson as they are. */
static void assert_json_safe(const char *s)
{
	json_t *j = json_string(s);

	cr_assert_not_null(j, "not valid UTF-8 for JSON: %s", s);
	json_decref(j);
}

/* A contoso-like CA and the keys the tests share. */
struct pki {
	EVP_PKEY *ca_key;
	X509 *ca;
};

static struct pki make_ca(void)
{
	struct pki p;

	p.ca_key = pki_key(PKI_RSA, 2048);
	p.ca = pki_cert(&(struct pki_spec){
		.subject = {{"DC", "com"}, {"DC", "contoso"}, {"CN", "contoso-CA"}},
		.key = p.ca_key, .ca = true, .serial = 1,
	});
	return p;
}

static void free_ca(struct pki *p)
{
	X509_free(p->ca);
	EVP_PKEY_free(p->ca_key);
}

/* ------------------------------------------------------------ all fields */

Test(x509_fields, rsa_leaf_chained_to_ca_has_every_field)
{
	struct pki p = make_ca();
	EVP_PKEY *key = pki_key(PKI_RSA, 2048);
	char key_hex[41], ca_key_hex[41];
	time_t nb = pki_time(2012, 9, 10, 10, 5, 5);
	time_t na = pki_time(2014, 9, 10, 10, 5, 5);
	X509 *leaf = pki_cert(&(struct pki_spec){
		.subject = {{"DC", "com"}, {"DC", "contoso"},
			    {"CN", "mail.contoso.com"}},
		.key = key, .issuer = p.ca, .issuer_key = p.ca_key,
		.serial = 0x1234abcd,
		.not_before = nb, .not_after = na,
		.dns = {"Mail.Contoso.com", "autodiscover.contoso.com"},
		.ip = {"192.0.2.10", "2001:db8::10"},
		.eku = {"serverAuth", "clientAuth"},
		.crl_dp = "http://pki.contoso.com/CertEnroll/contoso-CA.crl",
	});
	size_t len;
	uint8_t *der = pki_der(leaf, &len);
	struct x509_info *xi = x509_info_from_der(der, len);

	cr_assert_not_null(xi);
	cr_assert(xi->parsed);
	cr_assert_str_empty(xi->error);
	cr_assert_not_null(xi->x509);
	cr_assert_eq(xi->refs, 1);
	assert_hashes(xi, der, len);

	cr_assert_str_eq(xi->subject, "CN=mail.contoso.com,DC=contoso,DC=com");
	cr_assert_str_eq(xi->issuer, "CN=contoso-CA,DC=contoso,DC=com");
	cr_assert_str_eq(xi->cn, "mail.contoso.com");
	cr_assert_str_eq(xi->serial, "1234abcd");
	cr_assert_eq(xi->not_before, nb);
	cr_assert_eq(xi->not_after, na);
	cr_assert_str_eq(xi->not_before_iso, "2012-09-10T10:05:05Z");
	cr_assert_str_eq(xi->not_after_iso, "2014-09-10T10:05:05Z");

	cr_assert_str_eq(xi->key_type, "RSA");
	cr_assert_str_empty(xi->key_curve);
	cr_assert_eq(xi->key_bits, 2048);
	cr_assert_str_eq(xi->signature_algorithm, "sha256WithRSAEncryption");
	cr_assert_str_eq(xi->signature_hash, "sha256");
	cr_assert_not(xi->sig_pss);
	cr_assert_not(xi->sig_sha1);
	cr_assert_not(xi->sig_md5);

	cr_assert_eq(xi->n_san, 4);
	cr_assert_str_eq(xi->san[0], "DNS:Mail.Contoso.com");
	cr_assert_str_eq(xi->san[1], "DNS:autodiscover.contoso.com");
	cr_assert_str_eq(xi->san[2], "IP:192.0.2.10");
	cr_assert_str_eq(xi->san[3], "IP:2001:db8::10");
	cr_assert_eq(xi->n_dns, 2);
	cr_assert_str_eq(xi->dns[0], "mail.contoso.com");
	cr_assert_str_eq(xi->dns[1], "autodiscover.contoso.com");

	pki_key_id_hex(key, key_hex);
	pki_key_id_hex(p.ca_key, ca_key_hex);
	cr_assert_str_eq(xi->ski, key_hex);
	cr_assert_str_eq(xi->aki, ca_key_hex);

	cr_assert_not(xi->is_ca);
	cr_assert_not(xi->self_issued);
	cr_assert_not(xi->self_signed);
	cr_assert(xi->has_eku);
	cr_assert(xi->eku_server_auth);
	cr_assert(xi->eku_client_auth);
	cr_assert_eq(xi->n_eku, 2);
	cr_assert_str_eq(xi->eku[0], "serverAuth");
	cr_assert_str_eq(xi->eku[1], "clientAuth");
	cr_assert_eq(xi->n_crl_dp, 1);
	cr_assert_str_eq(xi->crl_dp[0],
			 "http://pki.contoso.com/CertEnroll/contoso-CA.crl");
	cr_assert_eq(ERR_peek_error(), 0, "OpenSSL error queue left non-empty");

	x509_unref(xi);
	free(der);
	X509_free(leaf);
	EVP_PKEY_free(key);
	free_ca(&p);
}

Test(x509_fields, ca_is_ca_self_issued_and_self_signed)
{
	struct pki p = make_ca();
	struct x509_info *xi = pki_info(p.ca);
	char ca_key_hex[41];

	cr_assert(xi->parsed);
	cr_assert(xi->is_ca);
	cr_assert(xi->self_issued);
	cr_assert(xi->self_signed);
	cr_assert_str_eq(xi->serial, "01");
	cr_assert_not(xi->has_eku);
	cr_assert_not(xi->eku_server_auth);
	cr_assert_eq(xi->n_san, 0);
	cr_assert_eq(xi->n_crl_dp, 0);
	pki_key_id_hex(p.ca_key, ca_key_hex);
	cr_assert_str_eq(xi->ski, ca_key_hex);
	cr_assert_str_eq(xi->aki, ca_key_hex);
	cr_assert_str_eq(xi->not_before_iso, "2024-01-01T00:00:00Z");
	cr_assert_str_eq(xi->not_after_iso, "2034-01-01T00:00:00Z");
	x509_unref(xi);
	free_ca(&p);
}

Test(x509_fields, thumbprint_is_uppercase_sha1_of_der)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "lyncpool.contoso.com"}}, .key = key });
	size_t len, i;
	uint8_t *der = pki_der(x, &len);
	struct x509_info *xi = x509_info_from_der(der, len);

	assert_hashes(xi, der, len);
	cr_assert_eq(strlen(xi->thumbprint), 40);
	for (i = 0; i < 40; i++)
		cr_assert_eq(xi->thumbprint[i],
			     (char)toupper((unsigned char)xi->sha1_hex[i]));
	x509_unref(xi);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_fields, no_ski_no_aki_leave_them_empty)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "a"}}, .key = key, .no_ski = true,
		.no_aki = true });
	struct x509_info *xi = pki_info(x);

	cr_assert_str_empty(xi->ski);
	cr_assert_str_empty(xi->aki);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* -------------------------------------------------------------- key kinds */

Test(x509_keys, ec_p256_names_its_curve)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "ec.contoso.com"}}, .key = key });
	struct x509_info *xi = pki_info(x);

	cr_assert_str_eq(xi->key_type, "EC");
	cr_assert_str_eq(xi->key_curve, "prime256v1");
	cr_assert_eq(xi->key_bits, 256);
	cr_assert_str_eq(xi->signature_algorithm, "ecdsa-with-SHA256");
	cr_assert_str_eq(xi->signature_hash, "sha256");
	cr_assert(xi->self_signed);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_keys, ec_p384_with_sha384)
{
	EVP_PKEY *key = pki_key(PKI_EC, 384);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "ec384"}}, .key = key, .sig = PKI_SIG_SHA384 });
	struct x509_info *xi = pki_info(x);

	cr_assert_str_eq(xi->key_curve, "secp384r1");
	cr_assert_eq(xi->key_bits, 384);
	cr_assert_str_eq(xi->signature_algorithm, "ecdsa-with-SHA384");
	cr_assert_str_eq(xi->signature_hash, "sha384");
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_keys, ed25519_and_ed448)
{
	EVP_PKEY *k25519 = pki_key(PKI_ED25519, 0);
	EVP_PKEY *k448 = pki_key(PKI_ED448, 0);
	X509 *a = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "ed25519"}}, .key = k25519 });
	X509 *b = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "ed448"}}, .key = k448 });
	struct x509_info *xa = pki_info(a), *xb = pki_info(b);

	cr_assert_str_eq(xa->key_type, "Ed25519");
	cr_assert_eq(xa->key_bits, EVP_PKEY_get_bits(k25519));
	cr_assert_str_eq(xa->signature_algorithm, "ED25519");
	cr_assert_str_empty(xa->signature_hash);
	cr_assert(xa->self_signed);
	cr_assert_str_eq(xb->key_type, "Ed448");
	cr_assert_eq(xb->key_bits, EVP_PKEY_get_bits(k448));
	cr_assert(xb->self_signed);
	cr_assert_not(xa->sig_sha1 || xa->sig_md5 || xa->sig_pss);
	x509_unref(xa);
	x509_unref(xb);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(k25519);
	EVP_PKEY_free(k448);
}

/* Like the ML-DSA-44 certificate in zeek's ml-dsa-44-cert.pcap: OpenSSL 3.0
 * cannot load the key, the rest of the certificate must still be there. */
Test(x509_keys, unknown_key_algorithm_keeps_the_rest)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	EVP_PKEY *ca_key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"C", "US"}, {"O", "PQC-Test"},
			    {"CN", "ml-dsa.example.com"}},
		.key = key, .issuer_key = ca_key,
		.spki_oid = "2.16.840.1.101.3.4.3.17",
		.dns = {"ml-dsa.example.com"} });
	struct x509_info *xi = pki_info(x);

	cr_assert(xi->parsed);
	cr_assert_str_eq(xi->key_type, "2.16.840.1.101.3.4.3.17");
	cr_assert_eq(xi->key_bits, 0);
	cr_assert_str_empty(xi->key_curve);
	cr_assert_str_eq(xi->subject, "CN=ml-dsa.example.com,O=PQC-Test,C=US");
	cr_assert_eq(xi->n_dns, 1);
	cr_assert(xi->self_issued);
	cr_assert_not(xi->self_signed);
	cr_assert_eq(ERR_peek_error(), 0);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

/* ------------------------------------------------------------- signatures */

Test(x509_sig, sha1_signed_is_flagged)
{
	EVP_PKEY *key = pki_key(PKI_RSA, 1024);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "old"}}, .key = key, .sig = PKI_SIG_SHA1 });
	struct x509_info *xi = pki_info(x);

	cr_assert_str_eq(xi->signature_algorithm, "sha1WithRSAEncryption");
	cr_assert_str_eq(xi->signature_hash, "sha1");
	cr_assert(xi->sig_sha1);
	cr_assert_not(xi->sig_md5);
	cr_assert_eq(xi->key_bits, 1024);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_sig, md5_signed_is_flagged)
{
	EVP_PKEY *key = pki_key(PKI_RSA, 1024);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "older"}}, .key = key, .sig = PKI_SIG_MD5 });
	struct x509_info *xi = pki_info(x);

	cr_assert_str_eq(xi->signature_algorithm, "md5WithRSAEncryption");
	cr_assert_str_eq(xi->signature_hash, "md5");
	cr_assert(xi->sig_md5);
	cr_assert_not(xi->sig_sha1);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_sig, rsassa_pss_is_flagged_with_its_hash)
{
	struct pki p = make_ca();
	EVP_PKEY *key = pki_key(PKI_RSA, 2048);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "pss.contoso.com"}}, .key = key,
		.issuer = p.ca, .issuer_key = p.ca_key,
		.sig = PKI_SIG_PSS_SHA256 });
	struct x509_info *xi = pki_info(x);

	cr_assert(xi->sig_pss);
	cr_assert_str_eq(xi->signature_algorithm, "rsassaPss");
	cr_assert_str_eq(xi->signature_hash, "sha256");
	cr_assert_not(xi->sig_sha1);
	cr_assert_not(xi->sig_md5);
	cr_assert_str_eq(xi->key_type, "RSA");
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
	free_ca(&p);
}

/* ------------------------------------------------------------ self-signed */

Test(x509_self, self_signed_leaf)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "exch01.contoso.local"}}, .key = key,
		.dns = {"exch01.contoso.local"}, .eku = {"serverAuth"} });
	struct x509_info *xi = pki_info(x);

	cr_assert_not(xi->is_ca);
	cr_assert(xi->self_issued);
	cr_assert(xi->self_signed);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_self, self_issued_with_another_key_is_not_self_signed)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	EVP_PKEY *other = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "contoso-CA"}}, .key = key,
		.issuer_key = other, .ca = true });
	struct x509_info *xi = pki_info(x);

	cr_assert(xi->self_issued);
	cr_assert_not(xi->self_signed);
	cr_assert_eq(ERR_peek_error(), 0, "failed verify left an error queued");
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* ------------------------------------------------------------------ times */

Test(x509_time, before_1970_as_utctime)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	time_t nb = pki_time(1960, 6, 15, 12, 0, 1);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "old"}}, .key = key,
		.not_before = nb, .not_after = pki_time(1969, 12, 31, 23, 59, 59) });
	struct x509_info *xi = pki_info(x);

	cr_assert_eq(ASN1_STRING_type(X509_get0_notBefore(xi->x509)),
		     V_ASN1_UTCTIME);
	cr_assert_lt(xi->not_before, 0);
	cr_assert_eq(xi->not_before, nb);
	cr_assert_eq(xi->not_after, -1);
	cr_assert_str_eq(xi->not_before_iso, "1960-06-15T12:00:01Z");
	cr_assert_str_eq(xi->not_after_iso, "1969-12-31T23:59:59Z");
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_time, before_1950_and_after_2050_as_generalizedtime)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "forever"}}, .key = key,
		.not_before = pki_time(1901, 1, 1, 0, 0, 0),
		.not_after = pki_time(9999, 12, 31, 23, 59, 59) });
	X509 *y = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "2051"}}, .key = key,
		.not_before = pki_time(2038, 1, 19, 3, 14, 8),
		.not_after = pki_time(2051, 3, 1, 0, 0, 0) });
	struct x509_info *xi = pki_info(x), *yi = pki_info(y);

	cr_assert_eq(ASN1_STRING_type(X509_get0_notBefore(xi->x509)),
		     V_ASN1_GENERALIZEDTIME);
	cr_assert_eq(ASN1_STRING_type(X509_get0_notAfter(xi->x509)),
		     V_ASN1_GENERALIZEDTIME);
	cr_assert_str_eq(xi->not_before_iso, "1901-01-01T00:00:00Z");
	cr_assert_str_eq(xi->not_after_iso, "9999-12-31T23:59:59Z");
	cr_assert_eq(xi->not_after, (time_t)253402300799LL);
	cr_assert_eq(yi->not_before, (time_t)2147483648LL);
	cr_assert_str_eq(yi->not_before_iso, "2038-01-19T03:14:08Z");
	cr_assert_eq(ASN1_STRING_type(X509_get0_notAfter(yi->x509)),
		     V_ASN1_GENERALIZEDTIME);
	cr_assert_str_eq(yi->not_after_iso, "2051-03-01T00:00:00Z");
	cr_assert_eq(yi->not_after, pki_time(2051, 3, 1, 0, 0, 0));
	x509_unref(xi);
	x509_unref(yi);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(key);
}

Test(x509_time, iso_formatting_around_the_edges)
{
	char buf[32];

	x509_time_iso(0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	x509_time_iso(-1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1969-12-31T23:59:59Z");
	x509_time_iso((time_t)2147483647LL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2038-01-19T03:14:07Z");
	x509_time_iso((time_t)4102444800LL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2100-01-01T00:00:00Z");
}

/* ----------------------------------------------------------------- serial */

static void assert_serial(EVP_PKEY *key, const char *in, const char *want)
{
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "s"}}, .key = key, .serial_hex = in });
	struct x509_info *xi = pki_info(x);

	cr_assert(xi->parsed, "serial %s: %s", in, xi->error);
	cr_assert_str_eq(xi->serial, want, "serial %s", in);
	x509_unref(xi);
	X509_free(x);
}

Test(x509_serial, lowercase_hex_in_whole_bytes)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	char big[201], want[130];

	assert_serial(key, "0", "00");
	assert_serial(key, "F", "0f");
	assert_serial(key, "80", "80");		/* DER pads it with 00 */
	assert_serial(key, "00FF", "ff");
	assert_serial(key, "-5", "-05");	/* broken, but seen */
	assert_serial(key, "12001F1FB8029FC1BD6355ECB20000001F1FB8",
		      "12001f1fb8029fc1bd6355ecb20000001f1fb8");
	/* A 100-byte serial: whole bytes that fit, then "..". */
	memset(big, 'A', 200);
	big[200] = '\0';
	memset(want, 'a', 126);
	strcpy(want + 126, "..");
	assert_serial(key, big, want);
	EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------ names */

/* suricata-verify tls-issuer-zero: "Microsoft RSA TL\0 CA 01". */
Test(x509_names, nul_byte_is_escaped_not_truncated)
{
	static const char cn[] = "Microsoft RSA TL\0 CA 01";
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"C", "US"}, {"O", "Microsoft Corporation"},
			    {"CN", cn, sizeof(cn) - 1, V_ASN1_PRINTABLESTRING}},
		.key = key });
	struct x509_info *xi = pki_info(x);

	cr_assert(xi->parsed);
	cr_assert_str_eq(xi->subject,
		"CN=Microsoft RSA TL\\00 CA 01,O=Microsoft Corporation,C=US");
	cr_assert_str_eq(xi->issuer, xi->subject);
	cr_assert_str_eq(xi->cn, "Microsoft RSA TL\\00 CA 01");
	assert_json_safe(xi->subject);
	assert_json_safe(xi->cn);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* Replaces the first `from` in buf with `to` (same length): for DER that
 * the fixture cannot build because OpenSSL refuses to encode it. */
static void patch(uint8_t *buf, size_t len, const char *from, const char *to,
		  size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, from, n) == 0) {
			memcpy(buf + i, to, n);
			return;
		}
	}
	cr_assert_fail("patch: pattern not found");
}

Test(x509_names, utf8_and_bmpstring_print_as_utf8)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	/* "Ωmega" as BMPString: 03A9 006D 0065 0067 0061 */
	static const char bmp[] = "\x03\xa9\x00m\x00" "e\x00g\x00" "a";
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"O", "Contoso Ünïcode"},
			    {"OU", bmp, sizeof(bmp) - 1, V_ASN1_BMPSTRING},
			    {"CN", "ok"}},
		.key = key });
	struct x509_info *xi = pki_info(x);

	cr_assert_str_eq(xi->subject, "CN=ok,OU=Ωmega,O=Contoso Ünïcode");
	cr_assert_str_eq(xi->cn, "ok");
	assert_json_safe(xi->subject);
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* OpenSSL 3.0 refuses a name with invalid UTF-8 in a UTF8String outright
 * (it canonicalises names while decoding): the certificate comes back
 * unparsed, with that reason. */
Test(x509_names, invalid_utf8string_is_unparsable_with_reason)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "badQQutf8"}}, .key = key });
	size_t len;
	uint8_t *der = pki_der(x, &len);
	struct x509_info *xi;

	patch(der, len, "badQQ", "bad\xff\xfe", 5);
	xi = x509_info_from_der(der, len);
	cr_assert_not(xi->parsed);
	cr_assert(strstr(xi->error, "utf8"), "%s", xi->error);
	assert_hashes(xi, der, len);
	cr_assert_eq(ERR_peek_error(), 0);
	x509_unref(xi);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* A BMPString holding a lone surrogate is not text.  OpenSSL 3.0 refuses
 * it while decoding; should a later one let it through, the name must
 * still come out JSON-safe (printed byte by byte, escaped). */
Test(x509_names, lone_surrogate_in_bmpstring_stays_json_safe)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	static const char bmp[] = "\x00Q\x00Q\x00x";
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", bmp, sizeof(bmp) - 1, V_ASN1_BMPSTRING}},
		.key = key });
	size_t len;
	uint8_t *der = pki_der(x, &len);
	struct x509_info *xi;

	patch(der, len, "\x00Q\x00Q", "\xd8\x00\x00Q", 4);
	xi = x509_info_from_der(der, len);
	if (xi->parsed) {
		assert_json_safe(xi->subject);
		assert_json_safe(xi->cn);
	} else {
		cr_assert_str_not_empty(xi->error);
	}
	cr_assert_eq(ERR_peek_error(), 0);
	x509_unref(xi);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* The 2009 NUL-prefix attack: a CA signs "www.bank.com\0.evil.com" for
 * evil.com; C code comparing up to the NUL sees www.bank.com.  The NUL must
 * survive as an escape, so the name matches nothing real. */
Test(x509_names, nul_in_dnsname_is_escaped)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "www.bank.comQ.evil.com"}}, .key = key,
		.dns = {"WWW.Bank.comQ.evil.com"} });
	size_t len;
	uint8_t *der = pki_der(x, &len);
	struct x509_info *xi;

	/* Issuer CN, subject CN, then the SAN, in DER order. */
	patch(der, len, "comQ.evil", "com\0.evil", 9);
	patch(der, len, "comQ.evil", "com\0.evil", 9);
	patch(der, len, "comQ.evil", "com\0.evil", 9);
	xi = x509_info_from_der(der, len);
	cr_assert(xi->parsed, "%s", xi->error);
	cr_assert_eq(xi->n_san, 1);
	cr_assert_str_eq(xi->san[0], "DNS:WWW.Bank.com\\00.evil.com");
	cr_assert_str_eq(xi->dns[0], "www.bank.com\\00.evil.com");
	cr_assert_str_eq(xi->cn, "www.bank.com\\00.evil.com");
	cr_assert_str_eq(xi->subject, "CN=www.bank.com\\00.evil.com");
	x509_unref(xi);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_names, email_and_uri_sans)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "sip"}}, .key = key,
		.dns = {"sip.contoso.com"}, .ip = {"::1"},
		.email = {"admin@contoso.com"},
		.uri = {"sip:pool01.contoso.com"} });
	struct x509_info *xi = pki_info(x);

	cr_assert_eq(xi->n_san, 4);
	cr_assert_str_eq(xi->san[0], "DNS:sip.contoso.com");
	cr_assert_str_eq(xi->san[1], "IP:::1");
	cr_assert_str_eq(xi->san[2], "email:admin@contoso.com");
	cr_assert_str_eq(xi->san[3], "URI:sip:pool01.contoso.com");
	cr_assert_eq(xi->n_dns, 1, "dns[] holds DNS names only");
	x509_unref(xi);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_names, cn_is_the_last_one)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "Users"}, {"CN", "lync.contoso.com"}},
		.key = key });
	X509 *none = pki_cert(&(struct pki_spec){
		.subject = {{"O", "no cn"}}, .key = key });
	struct x509_info *xi = pki_info(x), *ni = pki_info(none);

	cr_assert_str_eq(xi->cn, "lync.contoso.com");
	cr_assert_null(ni->cn);
	x509_unref(xi);
	x509_unref(ni);
	X509_free(x);
	X509_free(none);
	EVP_PKEY_free(key);
}

Test(x509_names, name_der_to_string)
{
	struct pki p = make_ca();
	unsigned char *der = NULL;
	int len = i2d_X509_NAME(X509_get_subject_name(p.ca), &der);
	static const uint8_t junk[] = { 0x30, 0x05, 0x31, 0x03, 0x30, 0x01 };
	char *s;

	cr_assert_gt(len, 0);
	s = x509_name_der_to_string(der, (size_t)len);
	cr_assert_str_eq(s, "CN=contoso-CA,DC=contoso,DC=com");
	free(s);
	s = x509_name_der_to_string(junk, sizeof(junk));
	cr_assert_str_eq(s, "<unparsable name>");
	free(s);
	s = x509_name_der_to_string(NULL, 0);
	cr_assert_str_eq(s, "<unparsable name>");
	free(s);
	cr_assert_eq(ERR_peek_error(), 0);
	OPENSSL_free(der);
	free_ca(&p);
}

/* -------------------------------------------------------------------- EKU */

Test(x509_eku, none_any_and_unknown)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *none = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "none"}}, .key = key });
	X509 *any = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "any"}}, .key = key,
		.eku = {"anyExtendedKeyUsage"} });
	X509 *client = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "client"}}, .key = key,
		.eku = {"clientAuth", "1.2.3.4.5.6"} });
	struct x509_info *ni = pki_info(none), *ai = pki_info(any),
			 *ci = pki_info(client);

	cr_assert_not(ni->has_eku);
	cr_assert_not(ni->eku_server_auth);
	cr_assert_eq(ni->n_eku, 0);
	cr_assert(ai->has_eku);
	cr_assert(ai->eku_server_auth);
	cr_assert(ai->eku_client_auth);
	cr_assert_str_eq(ai->eku[0], "anyExtendedKeyUsage");
	cr_assert(ci->has_eku);
	cr_assert_not(ci->eku_server_auth);
	cr_assert(ci->eku_client_auth);
	cr_assert_eq(ci->n_eku, 2);
	cr_assert_str_eq(ci->eku[1], "1.2.3.4.5.6");
	x509_unref(ni);
	x509_unref(ai);
	x509_unref(ci);
	X509_free(none);
	X509_free(any);
	X509_free(client);
	EVP_PKEY_free(key);
}

/* ------------------------------------------------------------ hostile DER */

static void assert_unparsed(const uint8_t *der, size_t len)
{
	struct x509_info *xi = x509_info_from_der(der, len);

	cr_assert_not_null(xi);
	cr_assert_not(xi->parsed);
	cr_assert_null(xi->x509);
	cr_assert_str_not_empty(xi->error);
	cr_assert_null(xi->subject);
	cr_assert_eq(xi->n_san, 0);
	assert_hashes(xi, der, len);
	cr_assert_eq(ERR_peek_error(), 0, "error queue leaked");
	x509_unref(xi);
}

Test(x509_bad, garbage_is_kept_with_a_reason)
{
	static const uint8_t junk[] = "this is not a certificate at all";
	struct x509_info *xi;

	assert_unparsed(junk, sizeof(junk) - 1);
	xi = x509_info_from_der(junk, sizeof(junk) - 1);
	/* OpenSSL's own words, e.g. "error:...:asn1 encoding routines::..." */
	cr_assert(strstr(xi->error, "asn1") || strstr(xi->error, "not a"),
		  "%s", xi->error);
	x509_unref(xi);
}

Test(x509_bad, empty_input)
{
	struct x509_info *xi = x509_info_from_der(NULL, 0);

	assert_unparsed((const uint8_t *)"", 0);
	cr_assert_not(xi->parsed);
	cr_assert_str_eq(xi->sha1_hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	x509_unref(xi);
}

Test(x509_bad, every_truncation_fails_cleanly)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "t"}}, .key = key, .dns = {"t.example"},
		.eku = {"serverAuth"}, .crl_dp = "http://c/x.crl" });
	size_t len, cut;
	uint8_t *der = pki_der(x, &len);

	for (cut = 0; cut < len; cut++)
		assert_unparsed(der, cut);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* Flip every byte in turn: whatever OpenSSL makes of it, no crash, no leak,
 * no error left queued, and every string JSON-safe. */
Test(x509_bad, every_byte_flipped_is_survived)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){
		.subject = {{"DC", "com"}, {"CN", "f"}}, .key = key,
		.dns = {"f.example"}, .ip = {"2001:db8::1"},
		.eku = {"serverAuth"}, .crl_dp = "http://c/x.crl" });
	size_t len, i, j;
	uint8_t *der = pki_der(x, &len);
	struct x509_info *xi;

	for (i = 0; i < len; i++) {
		der[i] ^= 0xff;
		xi = x509_info_from_der(der, len);
		cr_assert_not_null(xi);
		cr_assert_eq(ERR_peek_error(), 0, "byte %zu", i);
		if (xi->parsed) {
			assert_json_safe(xi->subject);
			assert_json_safe(xi->issuer);
			for (j = 0; j < xi->n_san; j++)
				assert_json_safe(xi->san[j]);
		} else {
			cr_assert_str_not_empty(xi->error);
		}
		x509_unref(xi);
		der[i] ^= 0xff;
	}
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_bad, trailing_bytes_are_noted)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){ .subject = {{"CN", "t"}}, .key = key });
	size_t len;
	uint8_t *der = pki_der(x, &len), *more = malloc(len + 3);
	struct x509_info *xi;

	memcpy(more, der, len);
	memcpy(more + len, "\0\0\0", 3);
	xi = x509_info_from_der(more, len + 3);
	cr_assert(xi->parsed);
	cr_assert_str_eq(xi->error, "3 bytes after the certificate ignored");
	assert_hashes(xi, more, len + 3);
	x509_unref(xi);
	free(more);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------ cache */

Test(x509_cache, same_der_ten_thousand_times_is_parsed_once)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){ .subject = {{"CN", "c"}}, .key = key });
	size_t len;
	uint8_t *der = pki_der(x, &len);
	struct x509_cache *c = x509_cache_new(16);
	const struct x509_info *first, *xi;
	bool is_new;
	int i;

	first = x509_cache_get(c, der, len, &is_new);
	cr_assert(is_new);
	cr_assert(first->parsed);
	for (i = 1; i < 10000; i++) {
		xi = x509_cache_get(c, der, len, &is_new);
		cr_assert_eq(xi, first);
		cr_assert_not(is_new);
	}
	cr_assert_eq(x509_cache_parses(c), 1);
	cr_assert_eq(x509_cache_count(c), 1);
	cr_assert_eq(first->refs, 1);
	x509_cache_free(c);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(x509_cache, unparsable_der_is_cached_too)
{
	static const uint8_t junk[] = { 0x30, 0x82, 0x01 };
	struct x509_cache *c = x509_cache_new(4);
	const struct x509_info *a = x509_cache_get(c, junk, sizeof(junk), NULL);
	const struct x509_info *b = x509_cache_get(c, junk, sizeof(junk), NULL);

	cr_assert_eq(a, b);
	cr_assert_not(a->parsed);
	cr_assert_eq(x509_cache_parses(c), 1);
	x509_cache_free(c);
}

Test(x509_cache, lru_evicts_oldest_and_held_references_survive)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *xs[3];
	uint8_t *der[3];
	size_t len[3];
	const struct x509_info *a, *held;
	struct x509_cache *c = x509_cache_new(2);
	bool is_new;
	int i;

	for (i = 0; i < 3; i++) {
		char cn[16];

		snprintf(cn, sizeof(cn), "n%d", i);
		xs[i] = pki_cert(&(struct pki_spec){
			.subject = {{"CN", cn}}, .key = key });
		der[i] = pki_der(xs[i], &len[i]);
	}

	/* A, B; touch A; C evicts B (least recently used), not A. */
	a = x509_cache_get(c, der[0], len[0], NULL);
	x509_cache_get(c, der[1], len[1], NULL);
	cr_assert_eq(x509_cache_get(c, der[0], len[0], &is_new), a);
	cr_assert_not(is_new);
	x509_cache_get(c, der[2], len[2], &is_new);
	cr_assert(is_new);
	cr_assert_eq(x509_cache_count(c), 2);
	x509_cache_get(c, der[0], len[0], &is_new);
	cr_assert_not(is_new, "A was used more recently than B");
	cr_assert_eq(x509_cache_parses(c), 3);

	/* Hold A, then push it out with B and C: it stays readable. */
	held = x509_ref(a);
	cr_assert_eq(held->refs, 2);
	x509_cache_get(c, der[1], len[1], &is_new);
	cr_assert(is_new, "B was evicted, so it is parsed again");
	x509_cache_get(c, der[2], len[2], NULL);
	cr_assert_eq(x509_cache_count(c), 2);
	cr_assert_eq(held->refs, 1, "the cache dropped its reference");
	cr_assert_str_eq(held->subject, "CN=n0");
	cr_assert_str_eq(held->cn, "n0");
	x509_cache_get(c, der[0], len[0], &is_new);
	cr_assert(is_new);
	cr_assert_eq(x509_cache_parses(c), 6);
	x509_unref(held);

	x509_cache_free(c);
	for (i = 0; i < 3; i++) {
		free(der[i]);
		X509_free(xs[i]);
	}
	EVP_PKEY_free(key);
}

Test(x509_cache, held_reference_outlives_the_cache)
{
	EVP_PKEY *key = pki_key(PKI_EC, 256);
	X509 *x = pki_cert(&(struct pki_spec){ .subject = {{"CN", "h"}}, .key = key });
	size_t len;
	uint8_t *der = pki_der(x, &len);
	struct x509_cache *c = x509_cache_new(0);	/* default size */
	const struct x509_info *held =
		x509_ref(x509_cache_get(c, der, len, NULL));

	x509_cache_free(c);
	cr_assert_str_eq(held->cn, "h");
	x509_unref(held);
	free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}
