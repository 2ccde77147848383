/*
 * rules.c — the rules: from the inventory to findings.
 *
 * Two kinds of rule.  Those that depend on one handshake (alerts, validity
 * at that handshake's capture time or --at, expires-soon within
 * --warn-days, SNI against the certificate, TLS 1.3 hiding the chain,
 * resumption, a truncated Certificate message, the capture's snaplen
 * cutting the handshake) run in rep_handshake().  Those that need the
 * whole picture run once in rep_finish(), in this order: roles are refined
 * (with the pool's peers and the phone-facing relation), each chain's own
 * properties (key, signature, EKU, CRL DP, self-signed, chain-incomplete;
 * the CRL DP and PSS rules for Lync, Exchange and phone-facing servers)
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
#include <stdlib.h>
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

/* The capture's snaplen cut this handshake before its certificates were
 * seen whole: say so, with the snaplen, rather than "hidden" or a gap. */
static void snaplen_truncated(struct rep *r, struct rep_server *s, struct rep_cert *leaf,
			      uint64_t ts_us, const struct rep_handshake *h)
{
	struct rep_finding *f = rep_finding_get(r, RC_HANDSHAKE_TRUNCATED, s, leaf);

	if (!f)
		return;
	rep_seen_add(&f->seen, ts_us, &h->client);
	if (h->reason)
		rep_finding_add_name(f, h->reason);
	const char *prev = rep_finding_fact(f, "snaplen_cut_packets");
	unsigned long long total = (prev ? strtoull(prev, NULL, 10) : 0) + h->snaplen_cut_packets;
	rep_finding_set_fact(f, "snaplen_cut_packets", "%llu", total);
	if (h->snaplen)
		rep_finding_set_fact(f, "snaplen", "%u", h->snaplen);
}

/* Validity at the moment of this handshake, never the wall clock (an old
 * capture is judged as the clients of that day saw it), or at --at.
 * expires-soon: the first certificate of the chain to expire, when it does
 * within --warn-days of that moment. */
static void validity_rules(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			   unsigned n, uint64_t cert_us, const struct rep_handshake *h)
{
	uint64_t judged_us = r->opt.at_given ? r->opt.at_us : cert_us;
	time_t when = (time_t)(judged_us / 1000000);
	unsigned warn_days = r->opt.warn_days_given ? r->opt.warn_days : REP_WARN_DAYS_DEFAULT;
	struct rep_cert *soonest = NULL;
	char at[40], judged[80];

	rep_iso_us(judged_us, at, sizeof(at));
	snprintf(judged, sizeof(judged), "%s%s%s", r->opt.at_given ? "" : "the handshake of ", at,
		 r->opt.at_given ? " (--at)" : "");
	for (unsigned i = 0; i < n; i++) {
		const struct x509_info *xi = certs[i]->xi;
		enum rep_code code = RC_COUNT;
		if (!xi->parsed)
			continue;
		if (when > xi->not_after)
			code = RC_EXPIRED;
		else if (when < xi->not_before)
			code = RC_NOT_YET_VALID;
		else if (warn_days && (int64_t)xi->not_after - (int64_t)when <= (int64_t)warn_days * 86400 &&
			 (!soonest || xi->not_after < soonest->xi->not_after))
			soonest = certs[i];
		if (code == RC_COUNT)
			continue;
		struct rep_finding *f = rep_finding_get(r, code, s, certs[i]);
		if (!f)
			continue;
		rep_seen_add(&f->seen, cert_us, &h->client);
		if (r->opt.at_given)
			rep_finding_set_fact(f, "judged_at", "%s", judged);
	}
	if (!soonest)
		return;
	struct rep_finding *f = rep_finding_get(r, RC_EXPIRES_SOON, s, soonest);
	if (!f)
		return;
	int64_t left_s = (int64_t)soonest->xi->not_after - (int64_t)when;
	rep_seen_add(&f->seen, cert_us, &h->client);
	rep_finding_set_fact(f, "days_left", "%lld", (long long)((left_s + 86399) / 86400));
	rep_finding_set_fact(f, "warn_days", "%u", warn_days);
	rep_finding_set_fact(f, "judged_at", "%s", judged);
	rep_finding_set_fact(f, "not_after", "%s", soonest->xi->not_after_iso);
	bool leaf = soonest == certs[0];
	rep_finding_set_fact(f, "which", "%s", leaf ? "leaf" : soonest->xi->is_ca ? "CA" : "intermediate");
}

void rep_rules_handshake(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			 unsigned n, const struct rep_handshake *h)
{
	struct rep_cert *leaf = n ? certs[0] : NULL;
	uint64_t cert_us = h->server_chain.ts_us ? h->server_chain.ts_us : h->ts_us;
	bool cut = rep_hs_cut(h);

	if (h->resumed)
		note(r, RC_RESUMED_NO_CERT, s, NULL, h->ts_us, &h->client, NULL);
	else if (cut)
		snaplen_truncated(r, s, leaf, cert_us, h);
	else if (h->version == TLS_VERSION_1_3 && !h->certificates_visible)
		note(r, RC_CERTIFICATES_HIDDEN, s, NULL, h->ts_us, &h->client, h->decrypt_error);
	if (!cut && h->status == REP_HS_TRUNCATED && h->server_chain.truncated)
		note(r, RC_HANDSHAKE_TRUNCATED, s, leaf, cert_us, &h->client, h->reason);
	alert_rules(r, s, leaf, h);
	validity_rules(r, s, certs, n, cert_us, h);
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

bool rep_cert_rule(enum rep_code code, const struct x509_info *xi, bool leaf, bool ms)
{
	if (!xi->parsed)
		return false;
	switch (code) {
	case RC_WEAK_KEY:
		return weak_key(xi);
	case RC_WEAK_SIGNATURE:
		/* A self-signed certificate's own signature is never what a client
		 * relies on (it is trusted as it is): its hash does not matter. */
		return (xi->sig_sha1 || xi->sig_md5) && !xi->self_signed;
	case RC_PSS_SIGNATURE:
		return ms && xi->sig_pss && !xi->self_signed;
	case RC_SELF_SIGNED:
		return leaf && xi->self_signed;
	case RC_MISSING_SERVER_AUTH_EKU:
		return leaf && xi->has_eku && !xi->eku_server_auth;
	case RC_MISSING_CRL_DP:
		return leaf && ms && !xi->n_crl_dp;
	default:
		return false;
	}
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
	static const enum rep_code codes[] = {
		RC_WEAK_KEY, RC_WEAK_SIGNATURE, RC_PSS_SIGNATURE,
		RC_SELF_SIGNED, RC_MISSING_SERVER_AUTH_EKU, RC_MISSING_CRL_DP,
	};
	struct rep *r = rr->r;
	bool ms = rep_server_relevant(s);

	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
		for (unsigned i = 0; i < c->n; i++) {
			struct rep_finding *f;
			if (rep_cert_rule(codes[k], c->certs[i]->xi, i == 0, ms) &&
			    (f = rep_finding_get(r, codes[k], s, c->certs[i])))
				rep_finding_add_chain(f, c);
		}
	if (c->n && c->certs[0]->xi->parsed)
		chain_incomplete(rr, s, c);
}


void rep_rules_whole(struct rep *r)
{
	struct rep_trust t;

	rep_roles_decide_all(r);
	rep_peers_decide(r);
	rep_roles_refine(r);
	rep_facing_decide(r);
	rep_trust_init(&t, r);
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; j < s->n_chains; j++)
			chain_rules(&t, s, s->chains[j]);
	}
	rep_trust_rules(&t);
	rep_trust_free(&t);
}

void rep_rules_finish(struct rep *r)
{
	rep_rules_whole(r);
	rep_changed_rules(r);
	for (size_t i = 0; i < r->finding_list.n; i++)
		rep_finding_describe(r->finding_list.v[i]);
	rep_findings_sort(r);
}
