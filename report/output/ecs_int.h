/*
 * ecs_int.h — what ecs.c and ecs_x509.c share: the certificate members of
 * an ECS document (ecs_x509.c) and the writer's small pieces.
 */
#ifndef CERTTRACE_ECS_INT_H
#define CERTTRACE_ECS_INT_H

#include <stdbool.h>

#include "lib/json.h"
#include "report/rep_int.h"

/* A string member, left out when NULL or empty (ECS has no nulls). */
static inline void kv_str_if(struct jw *w, const char *k, const char *s)
{
	if (s && *s)
		jw_kv_str(w, k, s);
}

/* "hash": {"sha1", "sha256"} of a certificate's DER. */
void ecs_hash_object(struct jw *w, const struct x509_info *xi);
/* Whether a chain holds a certificate whose DER no earlier document
 * carried (jsonl's "announced" flag), so its certificate_chain is due;
 * marks them all written. */
bool ecs_der_due(struct rep_cert **certs, unsigned n);
/* The leaf's tls.{server,client}.* members: x509, hash, subject, issuer,
 * validity, and with with_der the whole chain as base64 DER. */
void ecs_leaf_members(struct jw *w, struct rep_cert **certs, unsigned n, bool with_der);
/* k: an array of {sha1, sha256, [thumbprint], subject, issuer} (or error
 * for a certificate OpenSSL could not parse), one per certificate. */
void ecs_cert_refs(struct jw *w, const char *k, struct rep_cert *const *certs, unsigned n,
		   bool thumbprint);

#endif
