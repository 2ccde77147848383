/*
 * report.c — the report's front door: rep_new() loads what the options
 * name (--role rules, --trust CAs, --cert exports, phone logs, a baseline)
 * through input/, rep_handshake() folds one handshake record into the model
 * and runs the per-handshake rules, and rep_finish() runs the rest of the
 * rules and renders through output/.
 *
 * rep_handshake() copies out what it needs (certificates as x509_info
 * references, names, counters) and keeps no pointer into the record, so
 * the caller may free the flow right after.  jsonl and ecs output are
 * streamed as handshakes arrive; text and dot are written at the end, when
 * roles and findings are final.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "report/output/jsonl_fields.h"
#include "report/rep_int.h"

/* ---- option files ------------------------------------------------------------------ */

static bool load_options(struct rep *r, const struct rep_inputs *in, char *err, size_t errlen)
{
	static const struct rep_inputs none = { .export_dirfd = -1 };
	struct rep_cert *certs[REP_MAX_CHAIN];
	unsigned n;

	if (!in)
		in = &none;
	if (!rep_rules_parse(r, err, errlen))
		return false;
	for (unsigned i = 0; i < r->opt.n_trust && i < REP_MAX_TRUST; i++) {
		if (!rep_certfile_load(r, in->trust[i], r->opt.trust_files[i], certs, REP_MAX_CHAIN,
				       &n, err, errlen))
			return false;
		for (unsigned j = 0; j < n; j++)
			rep_vec_push(&r->trust, certs[j]);
	}
	for (unsigned i = 0; i < r->opt.n_phone_roots && i < REP_MAX_TRUST; i++) {
		if (!rep_certfile_load(r, in->phone_roots[i], r->opt.phone_root_files[i], certs,
				       REP_MAX_CHAIN, &n, err, errlen))
			return false;
		for (unsigned j = 0; j < n; j++)
			rep_vec_push(&r->phone_roots, certs[j]);
	}
	for (unsigned i = 0; i < r->opt.n_certs && i < REP_MAX_CERTS; i++) {
		const char *file = r->opt.certs[i].file;
		if (!file || r->opt.certs[i].role == ROLE_UNKNOWN) {
			snprintf(err, errlen, "--cert: needs ROLE=FILE");
			return false;
		}
		if (!rep_certfile_load(r, in->certs[i], file, certs, REP_MAX_CHAIN, &n, err, errlen))
			return false;
		struct rep_server *s = rep_server_from_file(r, file);
		if (!s || !rep_server_chain(r, s, certs, n, false)) {
			snprintf(err, errlen, "%s: out of memory", file);
			return false;
		}
		s->role = r->opt.certs[i].role;
		s->role_explicit = true;
		snprintf(s->role_reason, sizeof(s->role_reason), "--cert %s=%s",
			 rep_role_name(s->role), file);
	}
	for (unsigned i = 0; i < r->opt.n_phone_logs && i < REP_MAX_PHONE_LOGS; i++)
		if (!rep_phonelog_read(&r->phone, in->phone_logs[i], r->opt.phone_logs[i], err,
				       errlen))
			return false;
	if (r->opt.baseline && !rep_baseline_load(r, in->baseline, r->opt.baseline, err, errlen))
		return false;
	return rep_export_open(r, in->export_dirfd, err, errlen);
}

struct rep *rep_new(const struct rep_options *opt, FILE *out, char *err, size_t errlen)
{
	return rep_new_opened(opt, NULL, out, err, errlen);
}

void rep_inputs_init(struct rep_inputs *in)
{
	memset(in, 0, sizeof(*in));
	in->export_dirfd = -1;
}

struct rep *rep_new_opened(const struct rep_options *opt, const struct rep_inputs *in,
			   FILE *out, char *err, size_t errlen)
{
	struct rep *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->opt = *opt;
	r->out = out;
	jw_init(&r->jw, 0);
	r->export_fd = -1;
	r->cache = x509_cache_new(X509_CACHE_DEFAULT_ENTRIES);
	if (!r->cache) {
		snprintf(err, errlen, "out of memory");
		rep_free(r);
		return NULL;
	}
	if (!rep_live_open(r)) {
		snprintf(err, errlen, "out of memory");
		rep_free(r);
		return NULL;
	}
	if (!load_options(r, in, err, errlen)) {
		rep_free(r);
		return NULL;
	}
	return r;
}

/* ---- handshakes ------------------------------------------------------------------------ */

static unsigned intern_chain(struct rep *r, const struct rep_hs_chain *ch, struct rep_cert **out)
{
	unsigned n = 0;

	if (!ch->present)
		return 0;
	for (unsigned i = 0; i < ch->n && i < REP_MAX_CHAIN; i++) {
		if (!ch->certs[i].data || !ch->certs[i].len)
			continue;
		struct rep_cert *c = rep_cert_intern(r, ch->certs[i].data, ch->certs[i].len);
		if (!c)
			continue;
		if (!c->on_wire) {
			c->on_wire = true;
			r->wire_certs++;
		}
		if (!c->exported)
			rep_export_cert(r, c);
		out[n++] = c;
	}
	return n;
}

void rep_handshake(struct rep *r, const struct rep_handshake *h)
{
	struct rep_cert *server_certs[REP_MAX_CHAIN], *client_certs[REP_MAX_CHAIN];

	if (!r || !h || r->finished)
		return;
	r->handshakes++;
	struct rep_server *s = rep_server_get(r, &h->server);
	if (!s)
		return;
	unsigned ns = intern_chain(r, &h->server_chain, server_certs);
	unsigned nc = intern_chain(r, &h->client_chain, client_certs);

	bool changed = s->role == ROLE_UNKNOWN;
	if (h->sni && h->sni[0] && rep_server_add_sni(s, h->sni))
		changed = true;
	if (h->client.ip[0])
		rep_server_add_client(r, s, h->client.ip);
	if (ns) {
		struct rep_chain *c = rep_server_chain(r, s, server_certs, ns,
						       h->server_chain.truncated);
		if (c) {
			if (!c->seen.count)
				changed = true;
			rep_seen_add(&c->seen, h->ts_us, &h->client);
		}
	}
	rep_seen_add(&s->seen, h->ts_us, &h->client);
	rep_server_count_handshake(s, h, ns, nc ? client_certs[0] : NULL);
	if (changed)
		rep_role_decide(r, s);

	rep_rules_handshake(r, s, server_certs, ns, h);

	if (r->opt.format == REP_JSONL)
		rep_jsonl_handshake(r, s, h, server_certs, ns, client_certs, nc);
	else if (r->opt.format == REP_ECS)
		rep_ecs_handshake(r, s, h, server_certs, ns, client_certs, nc);
	else if (r->opt.format == REP_TEXT && r->opt.verbose > 0)
		rep_text_handshake(r, s, h);
	rep_live_handshake(r, s, server_certs, ns);
}

int rep_finish(struct rep *r, const struct rep_capture_stats *st)
{
	static const struct rep_capture_stats none;

	if (!r)
		return 0;
	if (r->finished)
		return r->status;
	r->finished = true;
	if (!st)
		st = &none;
	/* --events: the earlier runs' capture counters add to this one's. */
	struct rep_capture_stats sum = *st;
	rep_jf_add_capture_counts(&sum, &r->replayed);
	st = &sum;
	rep_rules_finish(r);
	rep_phone_explain(r);
	rep_export_index(r);
	rep_verdict_decide(r);
	switch (r->opt.format) {
	case REP_JSONL:
		rep_jsonl_finish(r, st);
		break;
	case REP_ECS:
		rep_ecs_finish(r, st);
		break;
	case REP_DOT:
		rep_dot_finish(r);
		break;
	case REP_TEXT:
		rep_text_finish(r, st);
		break;
	}
	/* text and dot print with stdio: their errors show here, at the end. */
	errno = 0;
	if (r->out && (fflush(r->out) || ferror(r->out)))
		rep_output_fail(r, errno ? strerror(errno) : "write error");
	if (r->out_failed)
		r->status = 2;
	return r->status;
}

void rep_free(struct rep *r)
{
	if (!r)
		return;
	rep_live_free(r);
	rep_findings_free(r);
	rep_inventory_free(r);
	rep_phonelog_free(&r->phone);
	rep_baseline_free(r);
	rep_export_close(r);
	x509_cache_free(r->cache);
	rep_vec_clear(&r->phone_roots);     /* its entries were in cert_list */
	X509_STORE_free(r->system_store);
	jw_free(&r->jw);
	rep_ecs_free(r);
	free(r);
}

bool rep_writes_ok(const struct rep *r)
{
	return !r || (!r->export_warned && !r->out_failed);
}


uint64_t rep_handshake_count(const struct rep *r)
{
	return r ? r->handshakes : 0;
}

uint64_t rep_server_count(const struct rep *r)
{
	return r ? rep_servers_seen(r) : 0;
}

/* Findings the per-handshake rules have raised so far (alerts, validity at
 * capture time, names, hidden or truncated chains; live, also the
 * certificate properties live.c writes); the rules that need the whole
 * picture (issuer-mismatch, look-alikes, pool splits) run at the end. */
uint64_t rep_findings_so_far(const struct rep *r)
{
	if (!r)
		return 0;
	return r->live && !r->finished ? rep_live_raised(r) : r->finding_list.n;
}
