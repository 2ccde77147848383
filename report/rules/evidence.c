/*
 * evidence.c — where the rules put what they found.
 *
 * One finding per (code, server, certificate): a problem seen in a million
 * handshakes is one record with a count, a time range and the first
 * handshakes as samples.  What the rules learnt goes with it -- the
 * certificates involved, the names that varied (SNI, alerts, reasons) and
 * facts by key ("issuing_ca", "fe_server") -- for the findings table's words
 * and the renderers.  Findings are listed most severe first, then by server
 * and code, in rep_findings_sort().
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report/rep_int.h"

struct rep_finding *rep_finding_get(struct rep *r, enum rep_code code,
				    struct rep_server *s, struct rep_cert *cert)
{
	uint8_t key[1 + sizeof(unsigned) + 32];

	memset(key, 0, sizeof(key));
	key[0] = (uint8_t)code;
	memcpy(key + 1, &s->idx, sizeof(unsigned));
	if (cert)
		memcpy(key + 1 + sizeof(unsigned), cert->xi->sha256, 32);
	struct rep_finding *f = rep_map_get(&r->findings, key, sizeof(key));
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->order = (unsigned)r->finding_list.n;
	f->code = code;
	f->server = s;
	f->cert = cert;
	if (cert)
		f->certs[f->n_certs++] = cert;
	if (!rep_vec_push(&r->finding_list, f)) {
		free(f);
		return NULL;
	}
	if (!rep_map_put(&r->findings, key, sizeof(key), f)) {
		rep_vec_pop(&r->finding_list);
		free(f);
		return NULL;
	}
	return f;
}

void rep_finding_add_cert(struct rep_finding *f, struct rep_cert *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < f->n_certs; i++)
		if (f->certs[i] == c)
			return;
	if (f->n_certs < REP_FINDING_CERTS)
		f->certs[f->n_certs++] = c;
}

void rep_finding_add_name(struct rep_finding *f, const char *name)
{
	for (unsigned i = 0; i < f->n_names; i++)
		if (!strcmp(f->names[i], name))
			return;
	if (f->n_names == REP_FINDING_NAMES) {
		f->names_more = true;
		return;
	}
	char *d = str_dup(name);
	if (d)
		f->names[f->n_names++] = d;
}

void rep_finding_set_fact(struct rep_finding *f, const char *key, const char *fmt, ...)
{
	struct buf b = BUF_INIT(REP_FACT_MAX_BYTES);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	char *v = buf_take(&b);
	if (!v)
		return;
	for (unsigned i = 0; i < f->n_facts; i++) {
		if (!strcmp(f->facts[i].key, key)) {
			free(f->facts[i].value);
			f->facts[i].value = v;
			return;
		}
	}
	if (f->n_facts == REP_FINDING_FACTS) {
		free(v);
		return;
	}
	f->facts[f->n_facts].key = key;
	f->facts[f->n_facts++].value = v;
}

const char *rep_finding_fact(const struct rep_finding *f, const char *key)
{
	for (unsigned i = 0; i < f->n_facts; i++)
		if (!strcmp(f->facts[i].key, key))
			return f->facts[i].value;
	return NULL;
}

static int finding_cmp(const void *a, const void *b)
{
	const struct rep_finding *x = *(struct rep_finding *const *)a;
	const struct rep_finding *y = *(struct rep_finding *const *)b;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->server->idx != y->server->idx)
		return x->server->idx < y->server->idx ? -1 : 1;
	if (x->code != y->code)
		return x->code < y->code ? -1 : 1;
	unsigned cx = x->cert ? x->cert->idx : 0, cy = y->cert ? y->cert->idx : 0;
	if (cx != cy)
		return cx < cy ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void rep_findings_sort(struct rep *r)
{
	if (r->finding_list.n > 1)
		qsort(r->finding_list.v, r->finding_list.n, sizeof(void *), finding_cmp);
}

void rep_findings_free(struct rep *r)
{
	for (size_t i = 0; i < r->finding_list.n; i++) {
		struct rep_finding *f = r->finding_list.v[i];
		for (unsigned j = 0; j < f->n_names; j++)
			free(f->names[j]);
		for (unsigned j = 0; j < f->n_facts; j++)
			free(f->facts[j].value);
		free(f->message);
		free(f->symptom);
		free(f->remedy);
		free(f);
	}
	rep_vec_clear(&r->finding_list);
	rep_map_clear(&r->findings);
}

void rep_finding_add_chain(struct rep_finding *f, const struct rep_chain *c)
{
	if (f)
		rep_seen_merge(&f->seen, &c->seen);
}
