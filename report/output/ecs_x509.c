/*
 * ecs_x509.c — a certificate as ECS fields: x509.* (subject and issuer
 * parts, serial, validity, key, signature, alternative names), hash.*, and
 * the chain's DER in base64 when no earlier document of the run carried it.
 * ecs.c builds the documents around them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "report/output/ecs_int.h"

/* ECS wants the serial without separators, in capitals. */
static void serial_upper(struct jw *w, const char *hex)
{
	char buf[sizeof(((struct x509_info *)0)->serial)];
	size_t n = 0;

	for (; hex[n] && n + 1 < sizeof(buf); n++)
		buf[n] = (char)toupper((unsigned char)hex[n]);
	jw_strn(w, buf, n);
}

/* A Name's parts as ECS arrays: common_name, country, ... (only those present). */
static void name_parts(struct jw *w, const X509_NAME *name)
{
	static const struct { int nid; const char *key; } parts[] = {
		{ NID_commonName, "common_name" },
		{ NID_countryName, "country" },
		{ NID_localityName, "locality" },
		{ NID_organizationName, "organization" },
		{ NID_organizationalUnitName, "organizational_unit" },
		{ NID_stateOrProvinceName, "state_or_province" },
	};

	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		int i = X509_NAME_get_index_by_NID(name, parts[p].nid, -1);
		if (i < 0)
			continue;
		jw_kv_array_open(w, parts[p].key);
		for (; i >= 0; i = X509_NAME_get_index_by_NID(name, parts[p].nid, i)) {
			const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
			unsigned char *utf8 = NULL;
			int len = v ? ASN1_STRING_to_UTF8(&utf8, v) : -1;
			if (len >= 0)
				jw_strn(w, (const char *)utf8, (size_t)len);
			else
				jw_str(w, "?");
			OPENSSL_free(utf8);
		}
		jw_array_close(w);
	}
}

/* "x509": {...}, ECS's x509 field set, of a parsed certificate. */
static void x509_object(struct jw *w, const struct x509_info *xi)
{
	jw_kv_object_open(w, "x509");
	if (xi->n_san) {
		/* OpenSSL's "DNS:" and "IP:" prefixes off; other kinds keep theirs. */
		jw_kv_array_open(w, "alternative_names");
		for (size_t i = 0; i < xi->n_san; i++) {
			const char *v = xi->san[i];
			if (!strncmp(v, "DNS:", 4))
				v += 4;
			else if (!strncmp(v, "IP:", 3))
				v += 3;
			jw_str(w, v);
		}
		jw_array_close(w);
	}
	jw_kv_object_open(w, "issuer");
	jw_kv_str(w, "distinguished_name", xi->issuer);
	name_parts(w, X509_get_issuer_name(xi->x509));
	jw_object_close(w);
	kv_str_if(w, "not_after", xi->not_after_iso);
	kv_str_if(w, "not_before", xi->not_before_iso);
	kv_str_if(w, "public_key_algorithm", xi->key_type);
	kv_str_if(w, "public_key_curve", xi->key_curve);
	if (xi->key_bits > 0)
		jw_kv_uint(w, "public_key_size", (uint64_t)xi->key_bits);
	if (xi->serial[0]) {
		jw_key(w, "serial_number");
		serial_upper(w, xi->serial);
	}
	kv_str_if(w, "signature_algorithm", xi->signature_algorithm);
	jw_kv_object_open(w, "subject");
	jw_kv_str(w, "distinguished_name", xi->subject);
	name_parts(w, X509_get_subject_name(xi->x509));
	jw_object_close(w);
	char ver[24];
	snprintf(ver, sizeof(ver), "%ld", X509_get_version(xi->x509) + 1);
	jw_kv_str(w, "version_number", ver);
	jw_object_close(w);
}

void ecs_hash_object(struct jw *w, const struct x509_info *xi)
{
	jw_kv_object_open(w, "hash");
	jw_kv_str(w, "sha1", xi->sha1_hex);
	jw_kv_str(w, "sha256", xi->sha256_hex);
	jw_object_close(w);
}

/* The chain's DER is due: one of its certificates was not written yet.
 * Marks them all written. */
bool ecs_der_due(struct rep_cert **certs, unsigned n)
{
	bool due = false;

	for (unsigned i = 0; i < n; i++) {
		due |= !certs[i]->announced;
		certs[i]->announced = true;
	}
	return due;
}

/* The members of tls.server / tls.client for a chain's leaf: hashes, the
 * x509 set, the flat issuer/subject/validity ECS also has, and the chain's
 * DER when with_der. */
void ecs_leaf_members(struct jw *w, struct rep_cert **certs, unsigned n, bool with_der)
{
	if (!n)
		return;
	const struct x509_info *xi = certs[0]->xi;
	if (with_der) {
		jw_kv_array_open(w, "certificate_chain");
		for (unsigned i = 0; i < n; i++)
			jw_base64(w, certs[i]->xi->der, certs[i]->xi->der_len);
		jw_array_close(w);
	}
	ecs_hash_object(w, xi);
	if (!xi->parsed)
		return;
	kv_str_if(w, "issuer", xi->issuer);
	kv_str_if(w, "not_after", xi->not_after_iso);
	kv_str_if(w, "not_before", xi->not_before_iso);
	kv_str_if(w, "subject", xi->subject);
	x509_object(w, xi);
}

/* A certificate as certtrace names it: hashes and names (jsonl's chain entries). */
static void cert_ref(struct jw *w, const struct rep_cert *c, bool thumbprint)
{
	const struct x509_info *xi = c->xi;

	jw_object_open(w);
	jw_kv_str(w, "sha1", xi->sha1_hex);
	jw_kv_str(w, "sha256", xi->sha256_hex);
	if (thumbprint)
		jw_kv_str(w, "thumbprint", xi->thumbprint);
	if (xi->parsed) {
		jw_kv_str(w, "subject", xi->subject);
		jw_kv_str(w, "issuer", xi->issuer);
	} else {
		jw_kv_str(w, "error", xi->error[0] ? xi->error : "unparsable");
	}
	jw_object_close(w);
}

void ecs_cert_refs(struct jw *w, const char *k, struct rep_cert *const *certs, unsigned n,
		   bool thumbprint)
{
	jw_kv_array_open(w, k);
	for (unsigned i = 0; i < n; i++)
		cert_ref(w, certs[i], thumbprint);
	jw_array_close(w);
}

