/*
 * rules.c — the rules: from the inventory to findings.
 *
 * Two kinds of rule.  Those that depend on one handshake (alerts, validity
 * at that handshake's capture time, SNI against the certificate, TLS 1.3
 * hiding the chain, resumption, a truncated Certificate message) run in
 * rep_handshake().  Those that need the whole picture run once in
 * rep_finish(), in this order: roles are refined, each chain's own
 * properties (key, signature, EKU, CRL DP, self-signed, chain-incomplete)
 * are checked here, then trust.c's CA identities and the phone trust model,
 * then certificate-changed against --baseline (changed.c).  All of them
 * record through evidence.c; the findings table (findings.c) gives each its
 * words at the end.
 *
 * chain-incomplete: the chain sent does not end in a self-signed
 * certificate, and either its last certificate is not a CA and is not
 * issued by a root we know (a leaf alone: the main case), or its last
 * certificate's issuer is a CA we know to be an intermediate (seen on the
 * wire or in --trust/--cert) that the server should have sent.  A chain
 * ending in an intermediate whose issuer we have never seen is taken to end
 * below a root the client has (TLS allows leaving the root out).
 */
#include <string.h>
#include <time.h>

#include "report/rep_int.h"
#include "report/rules/trust.h"

/* ---- per handshake ----------------------------------------------------------------- */

/* IANA alert numbers a client sends when it does not accept a certificate. */
static bool is_certificate_alert(uint8_t d)
{
	switch (d) {
	case TLS_ALERT_BAD_CERTIFICATE:
	case TLS_ALERT_UNSUPPORTED_CERTIFICATE:
	case TLS_ALERT_CERTIFICATE_REVOKED:
	case TLS_ALERT_CERTIFICATE_EXPIRED:
	case TLS_ALERT_CERTIFICATE_UNKNOWN:
	case TLS_ALERT_UNKNOWN_CA:
		return true;
	}
	return false;
}

static void note(struct rep *r, enum rep_code code, struct rep_server *s, struct rep_cert *cert,
		 uint64_t ts_us, const struct rep_endpoint *client, const char *name)
{
	struct rep_finding *f = rep_finding_get(r, code, s, cert);

	if (!f)
		return;
	rep_seen_add(&f->seen, ts_us, client);
	if (name)
		rep_finding_add_name(f, name);
}

static void alert_rules(struct rep *r, struct rep_server *s, struct rep_cert *leaf,
			const struct rep_handshake *h)
{
	for (unsigned i = 0; i < h->n_alerts && i < REP_MAX_ALERTS; i++) {
		const struct rep_hs_alert *a = &h->alerts[i];
		char what[96];

		if (a->encrypted || a->level != TLS_ALERT_LEVEL_FATAL)
			continue;
		snprintf(what, sizeof(what), "%s %s", a->from_client ? "client" : "server",
			 tls_alert_name(a->description));
		bool after_cert = h->server_chain.present && a->ts_us >= h->server_chain.ts_us;
		if (a->from_client && after_cert && is_certificate_alert(a->description))
			note(r, RC_CLIENT_REJECTED_CERTIFICATE, s, leaf, a->ts_us, &h->client, what);
		else
			note(r, RC_HANDSHAKE_FAILED, s, leaf, a->ts_us, &h->client, what);
		s->failed++;
		return;                /* a fatal alert ends the connection */
	}
}

void rep_rules_handshake(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			 unsigned n, const struct rep_handshake *h)
{
	struct rep_cert *leaf = n ? certs[0] : NULL;
	uint64_t cert_us = h->server_chain.ts_us ? h->server_chain.ts_us : h->ts_us;

	if (h->resumed)
		note(r, RC_RESUMED_NO_CERT, s, NULL, h->ts_us, &h->client, NULL);
	else if (h->version == TLS_VERSION_1_3 && !h->certificates_visible)
		note(r, RC_CERTIFICATES_HIDDEN, s, NULL, h->ts_us, &h->client, h->decrypt_error);
	if (h->status == REP_HS_TRUNCATED && h->server_chain.truncated)
		note(r, RC_HANDSHAKE_TRUNCATED, s, leaf, cert_us, &h->client, h->reason);
	alert_rules(r, s, leaf, h);

	/* Validity at the moment of this handshake, never the wall clock: an
	 * old capture is judged as the clients of that day saw it. */
	time_t when = (time_t)(cert_us / 1000000);
	for (unsigned i = 0; i < n; i++) {
		const struct x509_info *xi = certs[i]->xi;
		if (!xi->parsed)
			continue;
		if (when > xi->not_after)
			note(r, RC_EXPIRED, s, certs[i], cert_us, &h->client, NULL);
		else if (when < xi->not_before)
			note(r, RC_NOT_YET_VALID, s, certs[i], cert_us, &h->client, NULL);
	}
	if (leaf && leaf->xi->parsed && h->sni && h->sni[0] && !rep_cert_matches_host(leaf->xi, h->sni))
		note(r, RC_NAME_MISMATCH, s, leaf, cert_us, &h->client, h->sni);
}


/* ---- per chain ------------------------------------------------------------------------ */

static bool weak_key(const struct x509_info *xi)
{
	if (!strcmp(xi->key_type, "RSA") || !strcmp(xi->key_type, "RSA-PSS") ||
	    !strcmp(xi->key_type, "DSA"))
		return xi->key_bits > 0 && xi->key_bits < 2048;
	if (!strcmp(xi->key_type, "EC"))
		return xi->key_bits > 0 && xi->key_bits < 224;
	return false;
}

static void chain_incomplete(struct rep_trust *rr, struct rep_server *s, struct rep_chain *c)
{
	if (c->truncated || !c->n)
		return;
	struct rep_cert *last = c->certs[c->n - 1];
	const struct x509_info *xi = last->xi;
	if (!xi->parsed || xi->self_signed)
		return;
	struct rep_cert *issuer = rep_trust_issuer(rr, xi);
	if (!xi->is_ca) {
		if (issuer && issuer->xi->self_signed)
			return;    /* two-tier PKI: the leaf hangs off a root we know */
	} else if (!issuer || issuer->xi->self_signed) {
		return;            /* ends below a root the client is expected to have */
	}
	struct rep_finding *f = rep_finding_get(rr->r, RC_CHAIN_INCOMPLETE, s, c->certs[0]);
	if (!f)
		return;
	rep_finding_add_chain(f, c);
	rep_finding_add_cert(f, last);
	rep_finding_add_cert(f, issuer);
	rep_finding_set_fact(f, "certificates_sent", "%u", c->n);
	rep_finding_set_fact(f, "missing_issuer", "%s", xi->issuer);
}

static void chain_rules(struct rep_trust *rr, struct rep_server *s, struct rep_chain *c)
{
	struct rep *r = rr->r;
	bool ms = rep_role_is_ms(s->role);

	for (unsigned i = 0; i < c->n; i++) {
		struct rep_cert *cert = c->certs[i];
		const struct x509_info *xi = cert->xi;
		struct rep_finding *f;

		if (!xi->parsed)
			continue;
		if (weak_key(xi) && (f = rep_finding_get(r, RC_WEAK_KEY, s, cert)))
			rep_finding_add_chain(f, c);
		/* A self-signed certificate's own signature is never what a client
		 * relies on (it is trusted as it is): its hash does not matter. */
		if ((xi->sig_sha1 || xi->sig_md5) && !xi->self_signed &&
		    (f = rep_finding_get(r, RC_WEAK_SIGNATURE, s, cert)))
			rep_finding_add_chain(f, c);
		if (ms && xi->sig_pss && !xi->self_signed && (f = rep_finding_get(r, RC_PSS_SIGNATURE, s, cert)))
			rep_finding_add_chain(f, c);
	}

	struct rep_cert *leaf = c->n ? c->certs[0] : NULL;
	if (!leaf || !leaf->xi->parsed)
		return;
	const struct x509_info *xi = leaf->xi;
	struct rep_finding *f;
	if (xi->self_signed && (f = rep_finding_get(r, RC_SELF_SIGNED, s, leaf)))
		rep_finding_add_chain(f, c);
	if (xi->has_eku && !xi->eku_server_auth &&
	    (f = rep_finding_get(r, RC_MISSING_SERVER_AUTH_EKU, s, leaf)))
		rep_finding_add_chain(f, c);
	if (ms && !xi->self_signed && !xi->n_crl_dp &&
	    (f = rep_finding_get(r, RC_MISSING_CRL_DP, s, leaf)))
		rep_finding_add_chain(f, c);
	chain_incomplete(rr, s, c);
}


void rep_rules_finish(struct rep *r)
{
	struct rep_trust t;

	rep_roles_refine(r);
	rep_trust_init(&t, r);
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; j < s->n_chains; j++)
			chain_rules(&t, s, s->chains[j]);
	}
	rep_trust_rules(&t);
	rep_changed_rules(r);

	for (size_t i = 0; i < r->finding_list.n; i++)
		rep_finding_describe(r->finding_list.v[i]);
	rep_findings_sort(r);
	rep_trust_free(&t);
}
