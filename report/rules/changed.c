/*
 * changed.c — certificate-changed, this run against --baseline: a server
 * that presents a leaf the baseline did not have (saying whether the
 * issuing CA changed too: name, and key identifier when both have one),
 * one that is new, and one that is gone (it joins the inventory, marked
 * baseline_only, so the finding has a server to name).
 */
#include <string.h>

#include "report/rep_int.h"

static void describe_base_cert(struct rep_finding *f, const struct rep_baseline *b,
			       const char *sha1)
{
	const struct rep_base_cert *c = rep_map_get(&b->certs, sha1, 40);

	if (!c) {
		rep_finding_set_fact(f, "baseline_certificate", "SHA-1 %s", sha1);
		return;
	}
	rep_finding_set_fact(f, "baseline_certificate", "%s (thumbprint %s)",
			     c->subject ? c->subject : "?", c->thumbprint);
	if (c->issuer)
		rep_finding_set_fact(f, "baseline_issuing_ca", "%s", c->issuer);
}

/* Did the issuing CA change?  Name, and key identifier when both have one. */
static bool same_issuer(const struct rep_base_cert *old, const struct x509_info *xi)
{
	if (!old || !old->issuer || !xi->parsed || strcmp(old->issuer, xi->issuer))
		return false;
	return !old->aki[0] || !xi->aki[0] || !strcmp(old->aki, xi->aki);
}

static bool has_leaf(const struct rep_base_server *bs, const char *sha1)
{
	for (unsigned i = 0; i < bs->n_leaves; i++)
		if (!strcmp(bs->leaves[i], sha1))
			return true;
	return false;
}

static void changed_chain(struct rep *r, const struct rep_baseline *b, struct rep_server *s,
			  const struct rep_base_server *bs, struct rep_chain *c)
{
	struct rep_cert *leaf = c->certs[0];
	const struct x509_info *xi = leaf->xi;

	if (bs && has_leaf(bs, xi->sha1_hex))
		return;
	struct rep_finding *f = rep_finding_get(r, RC_CERTIFICATE_CHANGED, s, leaf);
	if (!f)
		return;
	rep_seen_merge(&f->seen, &c->seen);
	rep_finding_set_fact(f, "baseline", "%s", b->path);
	if (xi->parsed)
		rep_finding_set_fact(f, "issuing_ca", "%s", xi->issuer);
	if (!bs) {
		rep_finding_set_fact(f, "change", "appeared");
		return;
	}
	const struct rep_base_cert *old = rep_map_get(&b->certs, bs->leaves[0], 40);
	describe_base_cert(f, b, bs->leaves[0]);
	rep_finding_set_fact(f, "change", "%s", same_issuer(old, xi)
			     ? "certificate" : "certificate and issuing CA");
}

void rep_changed_rules(struct rep *r)
{
	const struct rep_baseline *b = r->baseline;
	size_t n_now = r->server_list.n;

	if (!b)
		return;
	for (size_t i = 0; i < n_now; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (s->file || s->baseline_only)
			continue;
		char key[64];
		size_t klen = rep_server_key(&s->ep, key, sizeof(key));
		const struct rep_base_server *bs = rep_map_get(&b->servers, key, klen);
		if (bs && !bs->n_leaves)
			continue;          /* its certificates were not visible then */
		for (unsigned j = 0; j < s->n_chains; j++)
			if (s->chains[j]->n)
				changed_chain(r, b, s, bs, s->chains[j]);
	}
	for (size_t i = 0; i < b->server_list.n; i++) {
		const struct rep_base_server *bs = b->server_list.v[i];
		char key[64];
		size_t klen = rep_server_key(&bs->ep, key, sizeof(key));
		if (!bs->n_leaves || rep_map_get(&r->servers, key, klen))
			continue;
		struct rep_server *s = rep_server_get(r, &bs->ep);
		if (!s)
			continue;
		s->baseline_only = true;
		r->baseline_only_servers++;
		s->role = bs->role;
		s->role_explicit = true;
		snprintf(s->role_reason, sizeof(s->role_reason), "its role in --baseline %s",
			 b->path);
		struct rep_finding *f = rep_finding_get(r, RC_CERTIFICATE_CHANGED, s, NULL);
		if (!f)
			continue;
		rep_finding_set_fact(f, "baseline", "%s", b->path);
		if (bs->name && bs->name[0])
			rep_finding_set_fact(f, "baseline_name", "%s", bs->name);
		rep_finding_set_fact(f, "change", "disappeared");
		describe_base_cert(f, b, bs->leaves[0]);
	}
}
