/*
 * x509.h — certificate details through OpenSSL, each certificate parsed once.
 *
 * x509_cache_get() takes DER off the wire, hashes it (SHA-256 is the cache
 * key), and returns the parsed details.  A certificate OpenSSL cannot parse
 * is still returned, with its hashes and OpenSSL's reason in `error`.
 * Entries are reference counted: the cache holds one reference and drops it
 * when it evicts (least recently used, beyond max_entries); whoever keeps a
 * pointer past the next x509_cache_get() takes its own with x509_ref().
 */
#ifndef CERTTRACE_X509_H
#define CERTTRACE_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#define X509_CACHE_DEFAULT_ENTRIES 65536

struct x509_info {
	unsigned refs;
	uint8_t *der;
	size_t der_len;
	uint8_t sha1[20];
	uint8_t sha256[32];
	char sha1_hex[41];             /* lowercase */
	char sha256_hex[65];           /* lowercase */
	char thumbprint[41];           /* uppercase SHA-1, as Windows shows it */

	bool parsed;
	char error[160];               /* OpenSSL's reason when !parsed; when parsed,
	                                  "" or a note ("12 bytes after the
	                                  certificate ignored", "unreadable notAfter") */
	X509 *x509;                    /* NULL when !parsed */

	char *subject;                 /* RFC 2253 */
	char *issuer;                  /* RFC 2253 */
	char serial[130];              /* lowercase hex, no separators */
	time_t not_before, not_after;  /* UTC seconds (may be < 0 or > 2038) */
	char not_before_iso[32];       /* "2012-09-10T10:05:05Z" */
	char not_after_iso[32];
	char key_type[64];             /* "RSA", "EC", "Ed25519", "DSA", ..., else the
	                                  SPKI OID's short name or dotted OID
	                                  ("2.16.840.1.101.3.4.3.17"), key_bits 0 */
	char key_curve[32];            /* "prime256v1" for EC, else "" */
	int key_bits;
	char signature_algorithm[64];  /* OpenSSL long name, e.g. "sha1WithRSAEncryption" */
	char signature_hash[32];       /* its digest ("sha256", also from PSS
	                                  parameters), "" when none or unknown */
	bool sig_pss;                  /* RSASSA-PSS */
	bool sig_sha1;                 /* SHA-1 digest */
	bool sig_md5;                  /* MD5 (or MD2/MD4) digest */

	size_t n_san;
	char **san;                    /* "DNS:host" / "IP:1.2.3.4" entries, as OpenSSL prints */
	size_t n_dns;
	char **dns;                    /* DNS SAN values only, lowercase */
	char *cn;                      /* subject CN (last one), or NULL */
	/* Strings taken from the certificate (san, dns, cn, crl_dp) are valid
	 * UTF-8: NUL, control bytes, backslash and invalid UTF-8 are escaped as
	 * \XX, never truncated.  subject/issuer are RFC 2253 with UTF-8 kept. */
	char ski[129];                 /* lowercase hex or "" */
	char aki[129];                 /* lowercase hex key id or "" */
	bool is_ca;                    /* basicConstraints cA */
	bool self_issued;              /* subject == issuer (X509_NAME_cmp) */
	bool self_signed;              /* and its own key verifies its signature */
	bool has_eku;                  /* an EKU extension is present */
	bool eku_server_auth;          /* EKU lists serverAuth or anyExtendedKeyUsage;
	                                  false without EKU (see has_eku) */
	bool eku_client_auth;          /* likewise clientAuth */
	size_t n_eku;
	char **eku;                    /* "serverAuth", "clientAuth", or dotted OID */
	size_t n_crl_dp;
	char **crl_dp;                 /* URIs */
};

struct x509_cache;

struct x509_cache *x509_cache_new(size_t max_entries);
void x509_cache_free(struct x509_cache *c);

/* Borrowed pointer, valid until the next call on the cache unless x509_ref()'d.
 * *is_new (may be NULL) says whether this DER was seen for the first time.
 * NULL only when out of memory.  max_entries 0 means the default. */
const struct x509_info *x509_cache_get(struct x509_cache *c, const uint8_t *der,
				       size_t len, bool *is_new);
size_t x509_cache_count(const struct x509_cache *c);
uint64_t x509_cache_parses(const struct x509_cache *c);   /* parses done */

/* Parse without a cache: a new reference the caller frees with x509_unref();
 * NULL only when out of memory. */
struct x509_info *x509_info_from_der(const uint8_t *der, size_t len);

const struct x509_info *x509_ref(const struct x509_info *xi);
void x509_unref(const struct x509_info *xi);

/* A DER X.509 Name (CertificateRequest's CA list) as RFC 2253, malloc'd;
 * "<unparsable name>" when OpenSSL refuses it. */
char *x509_name_der_to_string(const uint8_t *der, size_t len);

/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" of seconds; works past 2038 and before 1970. */
void x509_time_iso(time_t t, char *buf, size_t len);

#endif
