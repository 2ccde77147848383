/*
 * trust.h — what rules.c asks of trust.c: the CA identities of the whole
 * inventory, the issuer of a certificate among the CAs we know, and the
 * rules that need them (the phone trust model, CAs across servers).
 * Private to rules/.
 */
#ifndef CERTTRACE_REP_TRUST_H
#define CERTTRACE_REP_TRUST_H

#include <openssl/x509.h>

#include "report/rep_int.h"

struct rep_trust {
	struct rep *r;
	struct rep_vec cas;            /* struct rep_ca */
	struct rep_vec ca_certs;       /* rep_cert: every CA certificate we know */
	X509_STORE *store;             /* what a phone trusts */
	unsigned n_store;
	struct rep_vec fe_nocert;      /* rep_ca of FEs whose CA certificate is unknown */
	struct rep_vec fe_cas;         /* rep_ca of every FE */
	struct rep_server *fe_server;  /* an FE, for the evidence */
};

/* Every chain's issuing CA identity (rep_chain.ca_idx) and every CA
 * certificate we know. */
void rep_trust_init(struct rep_trust *t, struct rep *r);
/* The CA certificate we know that issued xi (name, key id and signature). */
struct rep_cert *rep_trust_issuer(const struct rep_trust *t, const struct x509_info *xi);
/* issuer-mismatch, public-root-unverified, same-dn-different-key,
 * lookalike-ca-name, pool-issuer-split */
void rep_trust_rules(struct rep_trust *t);
void rep_trust_free(struct rep_trust *t);

#endif
