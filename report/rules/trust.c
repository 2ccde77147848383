/*
 * trust.c — CA identities and the phone trust model: issuer-mismatch,
 * public-root-unverified, same-dn-different-key, lookalike-ca-name and
 * pool-issuer-split.
 *
 * The phone trust model (Lync Phone Edition): a phone trusts the CA that
 * issued its FE pool's certificate, the CA certificates the FE sent, the
 * CAs added with New-CsWebTrustedCACertificate (--trust), and the public
 * roots of its firmware (--phone-roots).  It judges the chains of Exchange
 * and of phone-facing servers (model/facing.c), whatever their names.
 * A CA is its name AND its key: the leaf's authority key identifier
 * against the CA's subject key identifier (or the SHA-1 of its public key),
 * never the name alone -- the seed's two CAs had names a person could not
 * tell apart.
 *
 * Each Exchange chain is then checked in one of two ways, and the finding
 * says which:
 *   - "verified with OpenSSL against the FE chain": whenever CA certificates
 *     are known (sent by an FE, found elsewhere on the wire by name and key,
 *     or --trust), X509_verify_cert() with those as the trusted store, the
 *     rest of the Exchange chain as untrusted, X509_V_FLAG_PARTIAL_CHAIN (an
 *     issuing CA is an anchor; phones need no root above it) and the time
 *     of the capture.  Only issuer errors count (verify_cb below): an
 *     expired or wrong-purpose certificate has its own finding and must not
 *     pass for a different CA.
 *   - "issuer name and key identifier compared": for FE CAs known only from
 *     a leaf (the FE sent no CA certificate), the Exchange leaf's issuer
 *     name and AKI against the FE leaf's.
 *
 * A chain none of that verifies is issuer-mismatch -- unless no
 * --phone-roots was given and it verifies to a root of the system store
 * (OpenSSL's default paths, SSL_CERT_FILE and SSL_CERT_DIR apply; loaded
 * once per run, the first time a chain needs it): whether the phones carry
 * a public root is their firmware's business, which we do not know, so that
 * is public-root-unverified, naming the root.  With --phone-roots the
 * answer is known: a root not in that file is a mismatch.
 *
 * A pool split between CAs (two FE servers, two issuing CAs): a phone trusts
 * the CA of the FE it signs in to, so a chain trusted by the union of the FE
 * CAs is checked again against each FE CA alone ("verified with OpenSSL
 * against each FE CA's chain"); failing for one is an issuer-mismatch that
 * names that CA and its FE server.
 *
 * Verdict for an Exchange chain through another intermediate under the FE's
 * root: the phone trusts the FE's chain as the FE sent it.  If the FE sent
 * its root, that root is a trust anchor and an Exchange chain that reaches
 * it (its intermediates sent, or seen on the wire) verifies: no
 * issuer-mismatch.  If only the FE's issuing CA is known, the other
 * intermediate leads nowhere the phone knows: issuer-mismatch.
 *
 * The CA-pair rules (same-dn-different-key, lookalike-ca-name) need both
 * CAs to issue servers that matter (Lync, Exchange, phone-facing): two CAs
 * of a desktop's web browsing are nobody's finding.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "report/rep_int.h"
#include "report/rules/trust.h"

/* ---- CA identities ----------------------------------------------------------------- */

struct rep_ca {
	X509_NAME *name;               /* borrowed from a leaf */
	const char *name_str;          /* RFC 2253 */
	char keyid[129];               /* "" unknown */
#include "lib/buf.h"
	struct rep_cert *cert;         /* the CA certificate, when known */
	bool relevant;                 /* issues a Lync/Exchange server certificate */
	bool self_signed_leaf;         /* a self-signed leaf is its own "CA" */
	bool fe;                       /* issues an FE pool certificate */
	struct rep_server *server;     /* a server it issued (a relevant one first) */
	struct rep_cert *leaf;
	unsigned n_chains;
};

static void key_id_of_cert(const struct x509_info *xi, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (xi->ski[0]) {
		snprintf(out, len, "%s", xi->ski);
		return;
	}
	out[0] = '\0';
	/* RFC 5280 method 1, what Windows CAs and OpenSSL put in the SKI */
	if (xi->x509 && X509_pubkey_digest(xi->x509, EVP_sha1(), md, &n) == 1) {
		for (unsigned i = 0; i < n && 2 * i + 2 < len; i++)
			snprintf(out + 2 * i, len - 2 * i, "%02x", md[i]);
	}
	ERR_clear_error();
}

/* The CA certificate (anywhere we know) that issued x: name, key id and signature. */
struct rep_cert *rep_trust_issuer(const struct rep_trust *rr, const struct x509_info *xi)
{
	if (!xi->x509)
		return NULL;
	for (size_t i = 0; i < rr->ca_certs.n; i++) {
		struct rep_cert *c = rr->ca_certs.v[i];
		X509 *cx = c->xi->x509;
		if (c->xi == xi || cx == xi->x509)
			continue;
		if (X509_check_issued(cx, xi->x509) != X509_V_OK)
			continue;
		EVP_PKEY *pk = X509_get0_pubkey(cx);
		bool ok = pk && X509_verify(xi->x509, pk) == 1;
		ERR_clear_error();
		if (ok)
			return c;
	}
	return NULL;
}

static bool keyids_compatible(const char *a, const char *b)
{
	return !a[0] || !b[0] || !strcmp(a, b);
}

/* The issuing CA identity of a leaf, found or added. */
static int ca_of_leaf(struct rep_trust *rr, struct rep_server *s, struct rep_cert *leaf)
{
	const struct x509_info *xi = leaf->xi;
	X509_NAME *name = X509_get_issuer_name(xi->x509);
	struct rep_cert *issuer = xi->self_signed ? leaf : rep_trust_issuer(rr, xi);
	char keyid[129];

	if (xi->self_signed)
		key_id_of_cert(xi, keyid, sizeof(keyid));
	else if (xi->aki[0])
		snprintf(keyid, sizeof(keyid), "%s", xi->aki);
	else if (issuer)
		key_id_of_cert(issuer->xi, keyid, sizeof(keyid));
	else
		keyid[0] = '\0';

	for (size_t i = 0; i < rr->cas.n; i++) {
		struct rep_ca *ca = rr->cas.v[i];
		if (ca->self_signed_leaf != xi->self_signed || X509_NAME_cmp(ca->name, name) ||
		    !keyids_compatible(ca->keyid, keyid))
			continue;
		if (!ca->keyid[0])
			snprintf(ca->keyid, sizeof(ca->keyid), "%s", keyid);
		if (!ca->cert)
			ca->cert = issuer;
		if (rep_server_relevant(s) && !ca->relevant) {
			ca->relevant = true;
			ca->server = s;
			ca->leaf = leaf;
		}
		return (int)i;
	}
	struct rep_ca *ca = calloc(1, sizeof(*ca));
	if (!ca)
		return -1;
	ca->name = name;
	ca->name_str = xi->issuer;
	snprintf(ca->keyid, sizeof(ca->keyid), "%s", keyid);
	ca->cert = issuer;
	ca->relevant = rep_server_relevant(s);
	ca->self_signed_leaf = xi->self_signed;
	ca->server = s;
	ca->leaf = leaf;
	if (!rep_vec_push(&rr->cas, ca)) {
		free(ca);
		return -1;
	}
	return (int)rr->cas.n - 1;
}

static void collect(struct rep_trust *rr)
{
	struct rep *r = rr->r;

	for (size_t i = 0; i < r->cert_list.n; i++) {
		struct rep_cert *c = r->cert_list.v[i];
		if (c->xi && c->xi->parsed && c->xi->x509 && (c->xi->is_ca || c->xi->self_signed))
			rep_vec_push(&rr->ca_certs, c);
	}
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; j < s->n_chains; j++) {
			struct rep_chain *c = s->chains[j];
			c->ca_idx = -1;
			if (!c->n || !c->certs[0]->xi->parsed || !c->certs[0]->xi->x509)
				continue;
			c->ca_idx = ca_of_leaf(rr, s, c->certs[0]);
			if (c->ca_idx >= 0)
				((struct rep_ca *)rr->cas.v[c->ca_idx])->n_chains++;
		}
	}
}

static struct rep_ca *chain_ca(struct rep_trust *rr, const struct rep_chain *c)
{
	return c->ca_idx >= 0 ? rr->cas.v[c->ca_idx] : NULL;
}

/* ---- the phone trust model --------------------------------------------------------- */

static void store_add(struct rep_trust *rr, struct rep_cert *c)
{
	if (!c || !c->xi->x509)
		return;
	if (X509_STORE_add_cert(rr->store, c->xi->x509) == 1)
		rr->n_store++;
	ERR_clear_error();
}

static void build_trust(struct rep_trust *rr)
{
	struct rep *r = rr->r;

	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (s->role != ROLE_LYNC_FE)
			continue;
		for (unsigned j = 0; j < s->n_chains; j++) {
			struct rep_chain *c = s->chains[j];
			struct rep_ca *ca = chain_ca(rr, c);
			if (!ca)
				continue;
			if (!rr->fe_server)
				rr->fe_server = s;
			if (!ca->fe) {
				ca->fe = true;
				rep_vec_push(&rr->fe_cas, ca);
			}
			/* The CA certificates the FE sent: the phone gets the same. */
			for (unsigned k = 1; k < c->n; k++) {
				const struct x509_info *xi = c->certs[k]->xi;
				if (xi->parsed && (xi->is_ca || xi->self_signed))
					store_add(rr, c->certs[k]);
			}
			if (ca->cert) {
				store_add(rr, ca->cert);
			} else {
				bool listed = false;
				for (size_t k = 0; k < rr->fe_nocert.n; k++)
					listed |= rr->fe_nocert.v[k] == ca;
				if (!listed)
					rep_vec_push(&rr->fe_nocert, ca);
			}
		}
	}
	for (size_t i = 0; i < r->trust.n; i++)
		store_add(rr, r->trust.v[i]);
	for (size_t i = 0; i < r->phone_roots.n; i++)
		store_add(rr, r->phone_roots.v[i]);
}

/* Only errors about who issued a certificate decide issuer-mismatch. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (ok)
		return 1;
	switch (X509_STORE_CTX_get_error(ctx)) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		return 0;
	default:
		return 1;          /* time, purpose, key size...: their own findings */
	}
}

/* 1 verified, 0 not (err says why), -1 could not run. */
static int verify_chain(X509_STORE *store, const struct rep_chain *c, uint64_t ts_us,
			char *err, size_t errlen, X509 **anchor, bool partial)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int result = -1;

	*anchor = NULL;
	if (!untrusted || !ctx)
		goto out;
	for (unsigned i = 1; i < c->n; i++)
		if (c->certs[i]->xi->x509 && !sk_X509_push(untrusted, c->certs[i]->xi->x509))
			goto out;
	if (X509_STORE_CTX_init(ctx, store, c->certs[0]->xi->x509, untrusted) != 1)
		goto out;
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	if (partial)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(param, (time_t)(ts_us / 1000000));
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) == 1) {
		STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
		if (chain && sk_X509_num(chain) > 0)
			*anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
		result = 1;
	} else {
		snprintf(err, errlen, "%s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		result = 0;
	}
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	ERR_clear_error();
	return result;
}

static void fe_ca_names(struct rep_trust *rr, struct buf *b);

static bool anchor_in(const struct rep_vec *certs, X509 *anchor)
{
	for (size_t i = 0; anchor && i < certs->n; i++) {
		const struct rep_cert *c = certs->v[i];
		if (c->xi->x509 && !X509_cmp(c->xi->x509, anchor))
			return true;
	}
	return false;
}

/* OpenSSL's default verify paths (SSL_CERT_FILE, SSL_CERT_DIR apply),
 * loaded once per run, the first time a chain needs them. */
static X509_STORE *system_store(struct rep *r)
{
	if (r->system_store_tried)
		return r->system_store;
	r->system_store_tried = true;
	r->system_store = X509_STORE_new();
	if (r->system_store && X509_STORE_set_default_paths(r->system_store) != 1) {
		X509_STORE_free(r->system_store);
		r->system_store = NULL;
	}
	ERR_clear_error();
	return r->system_store;
}

/* What was tried before a chain was found untrusted, in words. */
static void tried_words(struct rep *r, bool openssl, bool identity, bool system, char *buf,
			size_t len)
{
	struct buf b = BUF_INIT(1024);

	if (openssl) {
		buf_puts(&b, "verified with OpenSSL against the FE chain");
		if (r->trust.n)
			buf_puts(&b, system || r->phone_roots.n ? ", the --trust CAs" : " and the --trust CAs");
		if (r->phone_roots.n)
			buf_puts(&b, " and the --phone-roots roots");
		if (system)
			buf_puts(&b, " and the system store");
	}
	if (identity)
		buf_printf(&b, "%sissuer name and key identifier compared", openssl ? "; " : "");
	if (system && !openssl)
		buf_puts(&b, "; verified with OpenSSL against the system store");
	str_copy(buf, len, buf_str(&b));
	buf_free(&b);
}

/* The chain ends in a public root of the system store and nothing says
 * whether the phones' firmware carries it: public-root-unverified. */
static void public_root_finding(struct rep_trust *rr, struct rep_server *s, struct rep_chain *c,
				X509 *anchor)
{
	struct rep *r = rr->r;
	struct rep_cert *leaf = c->certs[0];
	unsigned char *der = NULL;
	int len = i2d_X509(anchor, &der);
	struct rep_cert *root = len > 0 ? rep_cert_intern(r, der, (size_t)len) : NULL;
	struct buf names = BUF_INIT(REP_FACT_MAX_BYTES);

	OPENSSL_free(der);
	ERR_clear_error();
	c->trust_unknown = true;
	snprintf(c->trust_method, sizeof(c->trust_method),
		 "verified with OpenSSL against the system store");
	struct rep_finding *f = rep_finding_get(r, RC_PUBLIC_ROOT_UNVERIFIED, s, leaf);
	if (!f)
		return;
	rep_finding_add_chain(f, c);
	for (unsigned i = 1; i < c->n; i++)
		rep_finding_add_cert(f, c->certs[i]);
	rep_finding_add_cert(f, root);
	rep_finding_set_fact(f, "method", "%s", c->trust_method);
	if (root && root->xi->parsed) {
		rep_finding_set_fact(f, "root", "%s", root->xi->subject);
		rep_finding_set_fact(f, "root_thumbprint", "%s", root->xi->thumbprint);
	}
	fe_ca_names(rr, &names);
	if (buf_len(&names))
		rep_finding_set_fact(f, "fe_issuing_ca", "%s", buf_str(&names));
	buf_free(&names);
}

static struct rep_ca *identity_match(struct rep_trust *rr, const struct x509_info *leaf)
{
	X509_NAME *issuer = X509_get_issuer_name(leaf->x509);

	for (size_t i = 0; i < rr->fe_nocert.n; i++) {
		struct rep_ca *ca = rr->fe_nocert.v[i];
		if (!X509_NAME_cmp(ca->name, issuer) && keyids_compatible(ca->keyid, leaf->aki))
			return ca;
	}
	return NULL;
}

/* The names of the FE pools' CAs, " / " between them. */
static void fe_ca_names(struct rep_trust *rr, struct buf *b)
{
	for (size_t i = 0; i < rr->fe_cas.n; i++) {
		const struct rep_ca *ca = rr->fe_cas.v[i];
		buf_printf(b, "%s%s", i ? " / " : "", ca->name_str);
	}
}

/* What the phones of one FE CA trust: that CA, the CA certificates sent in
 * the chains it issued, the --trust CAs and the --phone-roots roots. */
static X509_STORE *fe_ca_store(struct rep_trust *rr, const struct rep_ca *ca, unsigned *n)
{
	struct rep *r = rr->r;
	X509_STORE *st = X509_STORE_new();

	*n = 0;
	if (!st)
		return NULL;
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; s->role == ROLE_LYNC_FE && j < s->n_chains; j++) {
			struct rep_chain *c = s->chains[j];
			if (chain_ca(rr, c) != ca)
				continue;
			for (unsigned k = 1; k < c->n; k++) {
				const struct x509_info *xi = c->certs[k]->xi;
				if (xi->parsed && xi->x509 && (xi->is_ca || xi->self_signed) &&
				    X509_STORE_add_cert(st, xi->x509) == 1)
					(*n)++;
			}
		}
	}
	if (ca->cert && ca->cert->xi->x509 && X509_STORE_add_cert(st, ca->cert->xi->x509) == 1)
		(*n)++;
	const struct rep_vec *also[] = { &r->trust, &r->phone_roots };
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < also[k]->n; i++) {
			const struct rep_cert *t = also[k]->v[i];
			if (t->xi->x509 && X509_STORE_add_cert(st, t->xi->x509) == 1)
				(*n)++;
		}
	}
	ERR_clear_error();
	return st;
}

/* A phone trusts the CA of the FE pool it signs in to, not every FE's.  In
 * a pool split between CAs (pool-issuer-split), an Exchange chain trusted
 * by the union of the FE CAs can still fail on the phones of one of them:
 * return the first FE CA whose phones would not trust it, or NULL. */
static const struct rep_ca *fe_ca_not_trusting(struct rep_trust *rr, const struct rep_chain *c,
					       uint64_t ts_us)
{
	if (rr->fe_cas.n < 2)
		return NULL;
	for (size_t i = 0; i < rr->fe_cas.n; i++) {
		const struct rep_ca *ca = rr->fe_cas.v[i];
		const struct x509_info *leaf = c->certs[0]->xi;
		unsigned n;
		char err[160];
		X509 *anchor;
		bool ok = false;

		X509_STORE *st = fe_ca_store(rr, ca, &n);
		if (st && n)
			ok = verify_chain(st, c, ts_us, err, sizeof(err), &anchor, true) == 1;
		X509_STORE_free(st);
		if (!ok && !ca->cert)
			ok = !X509_NAME_cmp(ca->name, X509_get_issuer_name(leaf->x509)) &&
			     keyids_compatible(ca->keyid, leaf->aki);
		if (!ok)
			return ca;
	}
	return NULL;
}

static void check_exchange_chain(struct rep_trust *rr, struct rep_server *s, struct rep_chain *c)
{
	struct rep *r = rr->r;
	struct rep_cert *leaf = c->n ? c->certs[0] : NULL;
	char err[160] = "";
	X509 *anchor = NULL;
	bool tried_openssl = false, tried_identity = false;

	if (!leaf || !leaf->xi->parsed || !leaf->xi->x509)
		return;
	if (!rr->n_store && !rr->fe_nocert.n)
		return;                /* no FE seen, no --trust nor --phone-roots: nothing to compare */
	c->trust_checked = true;
	/* The time matters little (time errors are not issuer errors) but it is
	 * the capture's; a --cert certificate is judged as of now. */
	uint64_t ts = c->seen.count ? c->seen.first_us : (uint64_t)time(NULL) * 1000000;

	if (rr->n_store) {
		tried_openssl = true;
		int v = verify_chain(rr->store, c, ts, err, sizeof(err), &anchor, true);
		if (v == 1) {
			c->trusted = true;
			snprintf(c->trust_method, sizeof(c->trust_method), "%s",
				 anchor_in(&r->trust, anchor)
				 ? "verified with OpenSSL against a --trust CA"
				 : anchor_in(&r->phone_roots, anchor)
				 ? "verified with OpenSSL against a --phone-roots root"
				 : "verified with OpenSSL against the FE chain");
		} else {
			snprintf(c->verify_error, sizeof(c->verify_error), "%s",
				 v == 0 ? err : "OpenSSL could not run the verification");
		}
	}
	if (!c->trusted && rr->fe_nocert.n) {
		tried_identity = true;
		if (identity_match(rr, leaf->xi)) {
			c->trusted = true;
			snprintf(c->trust_method, sizeof(c->trust_method),
				 "issuer name and key identifier compared");
		}
	}
	const struct rep_ca *split = c->trusted ? fe_ca_not_trusting(rr, c, ts) : NULL;
	if (c->trusted && !split)
		return;
	bool tried_system = false;
	if (split) {
		c->trusted = false;
		snprintf(c->trust_method, sizeof(c->trust_method),
			 "verified with OpenSSL against each FE CA's chain");
		snprintf(c->verify_error, sizeof(c->verify_error),
			 "not trusted by the phones of the FE CA %s", split->name_str);
	} else {
		/* Without --phone-roots nobody said which public roots the phones
		 * carry: a chain to a root of the system store is not a mismatch
		 * but a question.  With it, any other root is a mismatch. */
		X509_STORE *sys = r->phone_roots.n ? NULL : system_store(r);
		char sys_err[160];
		if (sys) {
			tried_system = true;
			if (verify_chain(sys, c, ts, sys_err, sizeof(sys_err), &anchor, false) == 1 &&
			    anchor) {
				public_root_finding(rr, s, c, anchor);
				return;
			}
		}
		tried_words(r, tried_openssl, tried_identity, tried_system, c->trust_method,
			    sizeof(c->trust_method));
	}

	struct rep_finding *f = rep_finding_get(r, RC_ISSUER_MISMATCH, s, leaf);
	if (!f)
		return;
	rep_finding_add_chain(f, c);
	struct rep_ca *ca = chain_ca(rr, c);
	if (ca && ca->cert && ca->cert != leaf)
		rep_finding_add_cert(f, ca->cert);
	for (size_t i = 0; i < rr->fe_cas.n; i++) {
		const struct rep_ca *fe = rr->fe_cas.v[i];
		rep_finding_add_cert(f, fe->cert ? fe->cert : fe->leaf);
	}
	struct buf names = BUF_INIT(REP_FACT_MAX_BYTES);
	if (split)
		buf_puts(&names, split->name_str);
	else
		fe_ca_names(rr, &names);
	rep_finding_set_fact(f, "method", "%s", c->trust_method);
	if (c->verify_error[0])
		rep_finding_set_fact(f, "verify_error", "%s", c->verify_error);
	rep_finding_set_fact(f, "issuing_ca", "%s", leaf->xi->issuer);
	if (ca && ca->keyid[0])
		rep_finding_set_fact(f, "issuing_ca_key_id", "%s", ca->keyid);
	/* A self-signed leaf is its own CA: trusting it means its own thumbprint. */
	if (ca && ca->cert && (ca->cert != leaf || leaf->xi->self_signed)) {
		rep_finding_set_fact(f, "issuing_ca_thumbprint", "%s", ca->cert->xi->thumbprint);
		rep_finding_set_fact(f, "issuing_ca_store", "%s",
				     ca->cert->xi->self_signed ? "TrustedRootCA" : "IntermediateCA");
	}
	if (buf_len(&names))
		rep_finding_set_fact(f, "fe_issuing_ca", "%s", buf_str(&names));
	buf_free(&names);
	if (rr->fe_cas.n) {
		const struct rep_ca *fe = split ? split : rr->fe_cas.v[0];
		if (fe->keyid[0])
			rep_finding_set_fact(f, "fe_issuing_ca_key_id", "%s", fe->keyid);
	}
	struct rep_server *fe_server = split && split->server ? split->server : rr->fe_server;
	if (fe_server) {
		char addr[300];
		const char *name = rep_server_name(fe_server);
		rep_server_addr(fe_server, addr, sizeof(addr));
		rep_finding_set_fact(f, "fe_server", "%s%s%s%s", name, *name ? " (" : "", addr,
				     *name ? ")" : "");
	}
	if (!rr->fe_cas.n)
		rep_finding_set_fact(f, "fe_issuing_ca", "none seen; only %s",
				     r->trust.n && r->phone_roots.n ? "--trust CAs and --phone-roots roots"
				     : r->trust.n ? "--trust CAs" : "--phone-roots roots");
	if (r->phone_roots.n)
		rep_finding_set_fact(f, "phone_roots", "%zu root%s from --phone-roots", r->phone_roots.n,
				     r->phone_roots.n == 1 ? "" : "s");
}

/* ---- across CAs -------------------------------------------------------------------------- */

/* Attach a two-CA finding to the side that is not the FE pool's when there is one. */
static void ca_pair_finding(struct rep_trust *rr, enum rep_code code, struct rep_ca *a,
			    struct rep_ca *b, const char *why)
{
	struct rep_ca *on = b;

	if (b->fe && !a->fe)
		on = a;
	else if (b->server && !rep_server_relevant(b->server) && a->server &&
		 rep_server_relevant(a->server))
		on = a;
	struct rep_ca *other = on == a ? b : a;
	struct rep_finding *f = rep_finding_get(rr->r, code, on->server, on->leaf);
	if (!f)
		return;
	for (unsigned i = 0; i < on->server->n_chains; i++)
		if (on->server->chains[i]->n && on->server->chains[i]->certs[0] == on->leaf)
			rep_finding_add_chain(f, on->server->chains[i]);
	rep_finding_add_cert(f, on->cert);
	rep_finding_add_cert(f, other->leaf);
	rep_finding_add_cert(f, other->cert);
	rep_finding_set_fact(f, "issuing_ca", "%s", on->name_str);
	if (on->keyid[0])
		rep_finding_set_fact(f, "issuing_ca_key_id", "%s", on->keyid);
	rep_finding_set_fact(f, "other_ca", "%s", other->name_str);
	if (other->keyid[0])
		rep_finding_set_fact(f, "other_ca_key_id", "%s", other->keyid);
	if (other->server) {
		char addr[300];
		const char *name = rep_server_name(other->server);
		rep_finding_set_fact(f, "other_server", "%s server %s%s%s%s",
				     rep_role_name(other->server->role), name, *name ? " (" : "",
				     rep_server_addr(other->server, addr, sizeof(addr)),
				     *name ? ")" : "");
	}
	if (why)
		rep_finding_set_fact(f, "why", "%s", why);
}

static void ca_rules(struct rep_trust *rr)
{
	for (size_t i = 0; i < rr->cas.n; i++) {
		struct rep_ca *a = rr->cas.v[i];
		if (a->self_signed_leaf)
			continue;
		for (size_t j = i + 1; j < rr->cas.n; j++) {
			struct rep_ca *b = rr->cas.v[j];
			char why[200];

			/* Both CAs must issue servers that matter to Lync or its
			 * phones: a desktop's web browsing is no one's business. */
			if (b->self_signed_leaf || !(a->relevant && b->relevant))
				continue;
			if (!X509_NAME_cmp(a->name, b->name)) {
				if (a->keyid[0] && b->keyid[0] && strcmp(a->keyid, b->keyid))
					ca_pair_finding(rr, RC_SAME_DN_DIFFERENT_KEY, a, b, NULL);
			} else if (rep_names_lookalike(a->name, b->name, why, sizeof(why))) {
				ca_pair_finding(rr, RC_LOOKALIKE_CA_NAME, a, b, why);
			}
		}
	}
}

static void pool_split(struct rep_trust *rr, enum rep_role role)
{
	struct rep *r = rr->r;
	unsigned *count = calloc(rr->cas.n + 1, sizeof(*count));
	int major = -1;
	unsigned distinct = 0, total = 0;

	if (!count)
		return;
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; s->role == role && j < s->n_chains; j++) {
			int k = s->chains[j]->ca_idx;
			if (k < 0)
				continue;
			if (!count[k]++)
				distinct++;
			total++;
			if (major < 0 || count[k] > count[major])
				major = k;
		}
	}
	if (distinct < 2)
		goto out;
	struct rep_ca *pool = rr->cas.v[major];
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; s->role == role && j < s->n_chains; j++) {
			struct rep_chain *c = s->chains[j];
			if (c->ca_idx < 0 || c->ca_idx == major)
				continue;
			struct rep_ca *ca = rr->cas.v[c->ca_idx];
			struct rep_finding *f = rep_finding_get(r, RC_POOL_ISSUER_SPLIT, s, c->certs[0]);
			if (!f)
				continue;
			rep_finding_add_chain(f, c);
			rep_finding_add_cert(f, ca->cert);
			rep_finding_add_cert(f, pool->leaf);
			rep_finding_add_cert(f, pool->cert);
			rep_finding_set_fact(f, "issuing_ca", "%s", ca->name_str);
			if (ca->keyid[0])
				rep_finding_set_fact(f, "issuing_ca_key_id", "%s", ca->keyid);
			rep_finding_set_fact(f, "pool_issuing_ca", "%s", pool->name_str);
			if (pool->keyid[0])
				rep_finding_set_fact(f, "pool_issuing_ca_key_id", "%s", pool->keyid);
			rep_finding_set_fact(f, "pool_chains", "%u of %u chains", count[major], total);
		}
	}
out:
	free(count);
}

void rep_trust_init(struct rep_trust *rr, struct rep *r)
{
	memset(rr, 0, sizeof(*rr));
	rr->r = r;
	rr->store = X509_STORE_new();
	collect(rr);
}

void rep_trust_rules(struct rep_trust *rr)
{
	struct rep *r = rr->r;

	if (rr->store) {
		build_trust(rr);
		for (size_t i = 0; i < r->server_list.n; i++) {
			struct rep_server *s = r->server_list.v[i];
			for (unsigned j = 0; rep_server_phone_judged(s) && j < s->n_chains; j++)
				check_exchange_chain(rr, s, s->chains[j]);
		}
	}
	ca_rules(rr);
	pool_split(rr, ROLE_LYNC_FE);
	pool_split(rr, ROLE_LYNC_EDGE);
	pool_split(rr, ROLE_EXCHANGE);
}

void rep_trust_free(struct rep_trust *rr)
{
	X509_STORE_free(rr->store);
	for (size_t i = 0; i < rr->cas.n; i++)
		free(rr->cas.v[i]);
	rep_vec_clear(&rr->cas);
	rep_vec_clear(&rr->ca_certs);
	rep_vec_clear(&rr->fe_nocert);
	rep_vec_clear(&rr->fe_cas);
}
