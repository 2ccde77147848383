/*
 * pki_fixture.h — a throwaway PKI in memory, for tests.
 *
 * Keys, CAs and leaves described by a struct with designated initializers;
 * whatever a test does not mention has a sensible, fixed default, so the
 * certificate a test builds says exactly what the test is about:
 *
 *	EVP_PKEY *ca_key = pki_key(PKI_RSA, 2048);
 *	X509 *ca = pki_cert(&(struct pki_spec){
 *		.subject = {{"DC", "com"}, {"DC", "contoso"}, {"CN", "contoso-CA"}},
 *		.key = ca_key, .ca = true,
 *	});
 *	EVP_PKEY *key = pki_key(PKI_EC, 256);
 *	X509 *leaf = pki_cert(&(struct pki_spec){
 *		.subject = {{"CN", "mail.contoso.com"}},
 *		.key = key, .issuer = ca, .issuer_key = ca_key,
 *		.dns = {"mail.contoso.com", "autodiscover.contoso.com"},
 *		.ip = {"192.0.2.10", "2001:db8::10"},
 *		.eku = {"serverAuth", "clientAuth"},
 *		.crl_dp = "http://pki.contoso.com/contoso-CA.crl",
 *		.not_after = pki_time(2012, 9, 10, 10, 5, 5),
 *	});
 *	size_t len;
 *	uint8_t *der = pki_der(leaf, &len);        // free() it
 *	struct x509_info *xi = pki_info(leaf);     // x509_unref() it
 *
 * Defaults of a zeroed struct pki_spec:
 *	issuer NULL         self-issued (issuer name = subject); signed by
 *	                    issuer_key if set (a "self-issued, wrong key"
 *	                    certificate), else by key (self-signed)
 *	serial 0            a fresh serial per call (1000, 1001, ...)
 *	not_before/after 0  PKI_DEFAULT_NOT_BEFORE (2024-01-01) and
 *	                    PKI_DEFAULT_NOT_AFTER (2034-01-01); a time outside
 *	                    1950-2049 is written as GeneralizedTime
 *	sig 0               sha256 (RSA PKCS#1 v1.5 or ECDSA; Ed25519 signs pure)
 *	dns/ip/email/uri   no SAN (the SAN lists them in that order)
 *	eku empty           no EKU extension
 *	crl_dp NULL         no CRL distribution point
 *	ca false            basicConstraints cA=FALSE on leaves (critical on CAs)
 *	SKI/AKI             present (SHA-1 of the public key, RFC 5280 method 1;
 *	                    AKI = the issuer's SKI); no_ski/no_aki leave them out,
 *	                    ski_hex/aki_hex put other identifiers in
 *
 * The subject is a list of (field, value) in the order the certificate
 * stores them (most significant first: C or DC=com first, CN last); RFC
 * 2253 prints them reversed.  value_len lets a value carry a NUL; asn1_type
 * (V_ASN1_BMPSTRING, V_ASN1_UTF8STRING, ...) stores value's bytes raw in
 * that string type, unchecked, for hostile names.
 *
 * Nothing passed in is taken over: the caller frees keys and certificates.
 * A failure inside the fixture fails the running Criterion test with the
 * reason; the functions never return NULL.
 */
#ifndef CERTTRACE_PKI_FIXTURE_H
#define CERTTRACE_PKI_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "report/model/x509.h"

#define PKI_MAX_RDN 12
#define PKI_MAX_LIST 8
#define PKI_DEFAULT_NOT_BEFORE ((time_t)1704067200)	/* 2024-01-01T00:00:00Z */
#define PKI_DEFAULT_NOT_AFTER ((time_t)2019686400)	/* 2034-01-01T00:00:00Z */

enum pki_key_type {
	PKI_RSA,		/* bits: the modulus size */
	PKI_EC,			/* bits: 256, 384 or 521 (NIST P-curves) */
	PKI_ED25519,		/* bits ignored */
	PKI_ED448,		/* bits ignored */
};

enum pki_sig {
	PKI_SIG_SHA256 = 0,
	PKI_SIG_SHA1,
	PKI_SIG_MD5,		/* RSA signers only */
	PKI_SIG_SHA384,
	PKI_SIG_PSS_SHA256,	/* RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 */
};

struct pki_rdn {
	const char *field;	/* "CN", "DC", "O", "OU", "L", "ST", "C", or an OID */
	const char *value;
	size_t value_len;	/* 0: strlen(value) */
	int asn1_type;		/* 0: let OpenSSL choose from UTF-8 text */
};

struct pki_spec {
	struct pki_rdn subject[PKI_MAX_RDN];	/* ends at the first NULL field */
	EVP_PKEY *key;			/* the subject's key: required */
	X509 *issuer;			/* issuing CA, or NULL: self-issued */
	EVP_PKEY *issuer_key;		/* the signer; NULL: key */
	uint64_t serial;		/* 0: a fresh one */
	const char *serial_hex;		/* instead: any size, "-" for negative */
	time_t not_before, not_after;	/* both 0: the defaults */
	enum pki_sig sig;
	const char *dns[PKI_MAX_LIST];	/* SAN dNSNames */
	const char *ip[PKI_MAX_LIST];	/* SAN iPAddresses, IPv4 or IPv6 text */
	const char *email[PKI_MAX_LIST];	/* SAN rfc822Names */
	const char *uri[PKI_MAX_LIST];	/* SAN URIs */
	bool ca;
	const char *eku[PKI_MAX_LIST];	/* "serverAuth", "clientAuth",
					   "anyExtendedKeyUsage", or dotted OIDs */
	const char *crl_dp;		/* one URI */
	bool no_ski, no_aki;
	const char *ski_hex, *aki_hex;	/* other key identifiers than computed */
	const char *spki_oid;		/* relabel the public key's algorithm
					   (a key OpenSSL cannot load, like ML-DSA) */
};

/* A fresh key pair. */
EVP_PKEY *pki_key(enum pki_key_type type, int bits);

/* A signed certificate as the spec says; X509_free() it. */
X509 *pki_cert(const struct pki_spec *spec);

/* timegm() of a UTC date, for not_before/not_after (any year). */
time_t pki_time(int year, int month, int day, int hour, int min, int sec);

/* The DER, malloc'd (free()); the PEM, malloc'd and NUL-terminated. */
uint8_t *pki_der(const X509 *x, size_t *len);
char *pki_pem(const X509 *x);

/* Writes certificates to a file: PEM, one after another (a chain or a
 * --trust bundle), list ended by NULL; or one certificate as DER. */
void pki_write_pem(const char *path, const X509 *first, ...);
void pki_write_der(const char *path, const X509 *x);

/* The key identifier the fixture puts in SKI: SHA-1 of the public key bits,
 * lowercase hex (as struct x509_info prints ski/aki). */
void pki_key_id_hex(const EVP_PKEY *key, char out[41]);

/* The certificate through dissect/x509 (uncached); x509_unref() it. */
struct x509_info *pki_info(const X509 *x);

#endif
