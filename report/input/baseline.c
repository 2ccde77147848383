/*
 * baseline.c — --baseline: the servers of an earlier run (address, port,
 * the leaf certificates they presented and who issued them), to compare
 * this run with.  They are kept as plain text, never interned: a
 * certificate of the baseline must not change what the trust rules decide
 * about this run.  The comparison is a rule, certificate-changed
 * (rules/changed.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report/rep_int.h"

static struct rep_base_server *base_server_get(struct rep_baseline *b, const struct rep_endpoint *ep)
{
	char key[64];
	size_t klen = rep_server_key(ep, key, sizeof(key));
	struct rep_base_server *s = rep_map_get(&b->servers, key, klen);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ep = *ep;
	if (!rep_vec_push(&b->server_list, s)) {
		free(s);
		return NULL;
	}
	if (!rep_map_put(&b->servers, key, klen, s)) {
		rep_vec_pop(&b->server_list);
		free(s);
		return NULL;
	}
	return s;
}

static void base_add_leaf(struct rep_base_server *s, const char *sha1)
{
	if (!rep_is_sha1_hex(sha1))
		return;
	for (unsigned i = 0; i < s->n_leaves; i++)
		if (!strcmp(s->leaves[i], sha1))
			return;
	if (s->n_leaves < REP_MAX_CHAINS)
		memcpy(s->leaves[s->n_leaves++], sha1, 41);
}

static void baseline_event(void *ctx, json_t *ev)
{
	struct rep_baseline *b = ctx;
	const char *kind = rep_jstr(ev, "event");
	struct rep_endpoint ep;

	if (!strcmp(kind, "certificate")) {
		const char *sha1 = rep_jstr(ev, "sha1");
		if (!rep_is_sha1_hex(sha1) || rep_map_get(&b->certs, sha1, 40))
			return;
		struct rep_base_cert *c = calloc(1, sizeof(*c));
		if (!c)
			return;
		memcpy(c->sha1, sha1, 41);
		rep_copy_printable(c->thumbprint, sizeof(c->thumbprint), rep_jstr(ev, "thumbprint"));
		rep_copy_printable(c->aki, sizeof(c->aki), rep_jstr(ev, "aki"));
		c->subject = str_dup(rep_jstr(ev, "subject"));
		c->issuer = str_dup(rep_jstr(ev, "issuer"));
		if (!rep_vec_push(&b->cert_list, c) || !rep_map_put(&b->certs, sha1, 40, c)) {
			if (b->cert_list.n && b->cert_list.v[b->cert_list.n - 1] == c)
				rep_vec_pop(&b->cert_list);
			free(c->subject);
			free(c->issuer);
			free(c);
		}
	} else if (!strcmp(kind, "tls")) {
		json_t *chain = json_object_get(ev, "server_chain");
		if (!rep_jendpoint(json_object_get(ev, "server"), &ep) || !json_array_size(chain))
			return;
		struct rep_base_server *s = base_server_get(b, &ep);
		if (s)
			base_add_leaf(s, rep_jstr(json_array_get(chain, 0), "sha1"));
	} else if (!strcmp(kind, "server")) {
		size_t i;
		json_t *ch;
		enum rep_role role;
		if (!rep_jendpoint(ev, &ep))
			return;            /* a --cert pseudo-server: no address to compare */
		struct rep_base_server *s = base_server_get(b, &ep);
		if (!s)
			return;
		if (!s->name)
			s->name = str_dup(rep_jstr(ev, "name"));
		if (rep_role_parse(rep_jstr(ev, "role") ? rep_jstr(ev, "role") : "", &role))
			s->role = role;
		json_array_foreach(json_object_get(ev, "chains"), i, ch)
			base_add_leaf(s, json_string_value(json_array_get(json_object_get(ch,
								"certificates"), 0)));
	}
}

bool rep_baseline_load(struct rep *r, FILE *f, const char *path, char *err, size_t errlen)
{
	struct rep_baseline *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	b->path = path;
	r->baseline = b;
	if (!rep_jsonl_each_event(f, path, baseline_event, b, &b->ls, err, errlen))
		return false;
	if (!b->server_list.n) {
		snprintf(err, errlen, "--baseline %s: no servers in it (%llu lines, %llu not "
			 "certtrace events); give the jsonl output of a certtrace run", path,
			 (unsigned long long)b->ls.lines, (unsigned long long)b->ls.bad);
		return false;
	}
	return true;
}

void rep_baseline_free(struct rep *r)
{
	struct rep_baseline *b = r->baseline;

	if (!b)
		return;
	for (size_t i = 0; i < b->cert_list.n; i++) {
		struct rep_base_cert *c = b->cert_list.v[i];
		free(c->subject);
		free(c->issuer);
		free(c);
	}
	for (size_t i = 0; i < b->server_list.n; i++) {
		struct rep_base_server *s = b->server_list.v[i];
		free(s->name);
		free(s);
	}
	rep_vec_clear(&b->cert_list);
	rep_vec_clear(&b->server_list);
	rep_map_clear(&b->certs);
	rep_map_clear(&b->servers);
	free(b);
	r->baseline = NULL;
}

