/*
 * report.c — the report's front door: rep_new() loads what the options
 * name (--trust CAs, --cert exports, --role rules), rep_handshake() folds one
 * handshake into the inventory and runs the per-handshake rules, and
 * rep_finish() runs the rest of the rules and renders.
 *
 * rep_handshake() copies out what it needs (certificates as x509_info
 * references, names, counters) and keeps no pointer into the session, so
 * the caller may free the flow right after.  jsonl output is streamed as
 * handshakes arrive; text and dot are written at the end, when roles and
 * findings are final.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "lib/buf.h"
#include "report/rep_int.h"

#define REP_MAX_FILE_BYTES (16 * 1024 * 1024)   /* a --trust/--cert file, at most */
#define REP_MAX_PHONE_LOG_BYTES (256u * 1024 * 1024)

/* ---- option files ------------------------------------------------------------------ */

/* The file rep_new_opened() was handed for this input, or NULL. */
static uint8_t *read_input(FILE *f, const char *path, size_t max_bytes, size_t *len, char *err,
			   size_t errlen)
{
	if (f)
		return rep_read_stream(f, path, max_bytes, len, err, errlen);
	return rep_read_file(path, max_bytes, len, err, errlen);
}

/* Certificates of a PEM file (all of them, in order) or a DER file (one). */
static bool load_certs(struct rep *r, FILE *f, const char *path, struct rep_cert **out,
		       unsigned max, unsigned *n, char *err, size_t errlen)
{
	size_t len;
	uint8_t *data = read_input(f, path, REP_MAX_FILE_BYTES, &len, err, errlen);
	bool ok = false;

	*n = 0;
	if (!data)
		return false;
	if (strstr((const char *)data, "-----BEGIN")) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		X509 *x;
		while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			unsigned char *der = NULL;
			int dlen = i2d_X509(x, &der);
			X509_free(x);
			if (dlen <= 0)
				continue;
			struct rep_cert *c = rep_cert_intern(r, der, (size_t)dlen);
			OPENSSL_free(der);
			if (c && *n < max)
				out[(*n)++] = c;
		}
		BIO_free(bio);
		if (!*n)
			snprintf(err, errlen, "%s: no certificate in this PEM file", path);
	} else {
		struct rep_cert *c = rep_cert_intern(r, data, len);
		if (c && !c->xi->parsed)
			snprintf(err, errlen, "%s: not a PEM or DER certificate (%s)", path,
				 c->xi->error);
		else if (c)
			out[(*n)++] = c;
		else
			snprintf(err, errlen, "%s: out of memory", path);
	}
	ok = *n > 0;
	ERR_clear_error();
	free(data);
	return ok;
}

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
		if (!load_certs(r, in->trust[i], r->opt.trust_files[i], certs, REP_MAX_CHAIN, &n,
				err, errlen))
			return false;
		for (unsigned j = 0; j < n; j++)
			rep_vec_push(&r->trust, certs[j]);
	}
	for (unsigned i = 0; i < r->opt.n_phone_roots && i < REP_MAX_TRUST; i++) {
		if (!load_certs(r, in->phone_roots[i], r->opt.phone_root_files[i], certs,
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
		if (!load_certs(r, in->certs[i], file, certs, REP_MAX_CHAIN, &n, err, errlen))
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
	for (unsigned i = 0; i < r->opt.n_phone_logs && i < REP_MAX_PHONE_LOGS; i++) {
		const char *file = r->opt.phone_logs[i];
		size_t len;
		uint8_t *data = read_input(in->phone_logs[i], file, REP_MAX_PHONE_LOG_BYTES, &len,
					   err, errlen);
		if (!data)
			return false;
		rep_phonelog_parse(&r->phone, file, data, len);
		free(data);
	}
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
	r->export_fd = -1;
	r->cache = x509_cache_new(X509_CACHE_DEFAULT_ENTRIES);
	if (!r->cache) {
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

bool rep_hs_cut(const struct rep_handshake *h)
{
	return h->snaplen_cut_packets && !h->resumed &&
	       (!h->server_chain.present || h->server_chain.truncated || !h->certificates_visible);
}

/* Why this handshake showed no whole server chain, counted for the
 * server's "not checked" reason (verdict.c). */
static void count_without_chain(struct rep_server *s, const struct rep_handshake *h, unsigned ns)
{
	if (h->resumed) {
		s->resumed++;
	} else if (rep_hs_cut(h)) {
		s->cut++;
		s->cut_packets += h->snaplen_cut_packets;
		s->cut_snaplen = h->snaplen;
	} else if (h->server_hello && h->version == TLS_VERSION_1_3 && !h->certificates_visible) {
		s->hidden++;
	} else if (!ns && (h->status == REP_HS_TRUNCATED || h->server_chain.truncated)) {
		s->truncated++;
	} else if (!ns) {
		s->no_certificate++;
	}
}

/* Mutual TLS: the client's certificate, for telling the pool's peers. */
static void add_client_leaf(struct rep_server *s, struct rep_cert *leaf, const char *ip)
{
	for (unsigned i = 0; i < s->n_client_leaves; i++)
		if (s->client_leaves[i].leaf == leaf)
			return;
	if (s->n_client_leaves == REP_MAX_CLIENT_LEAVES)
		return;
	s->client_leaves[s->n_client_leaves].leaf = leaf;
	str_copy(s->client_leaves[s->n_client_leaves].ip,
		 sizeof(s->client_leaves[0].ip), ip);
	s->n_client_leaves++;
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
	count_without_chain(s, h, ns);
	if (nc)
		add_client_leaf(s, client_certs[0], h->client.ip);
	else if (ns && h->certificates_visible && !h->resumed)
		s->without_client_cert++;
	if (changed)
		rep_role_decide(r, s);

	rep_rules_handshake(r, s, server_certs, ns, h);

	if (r->opt.format == REP_JSONL)
		rep_jsonl_handshake(r, s, h, server_certs, ns, client_certs, nc);
	else if (r->opt.format == REP_TEXT && r->opt.verbose > 0)
		rep_text_handshake(r, s, h);
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
	const struct rep_capture_stats *x = &r->replayed;
	sum.packets += x->packets;
	sum.bytes += x->bytes;
	sum.flows += x->flows;
	sum.tcp_flows += x->tcp_flows;
	sum.truncated_packets += x->truncated_packets;
	sum.skipped_packets += x->skipped_packets;
	sum.fragments_skipped += x->fragments_skipped;
	sum.evicted_flows += x->evicted_flows;
	sum.gaps += x->gaps;
	sum.dpi_detection_misses += x->dpi_detection_misses;
	sum.dpi_disagreements += x->dpi_disagreements;
	st = &sum;
	rep_rules_finish(r);
	rep_phone_explain(r);
	rep_export_index(r);
	rep_verdict_decide(r);
	switch (r->opt.format) {
	case REP_JSONL:
		rep_jsonl_finish(r, st);
		break;
	case REP_DOT:
		rep_dot_finish(r);
		break;
	case REP_TEXT:
		rep_text_finish(r, st);
		break;
	}
	if (r->out)
		fflush(r->out);
	return r->status;
}

void rep_free(struct rep *r)
{
	if (!r)
		return;
	rep_findings_free(r);
	rep_inventory_free(r);
	rep_phonelog_free(&r->phone);
	rep_baseline_free(r);
	rep_export_close(r);
	x509_cache_free(r->cache);
	rep_vec_clear(&r->phone_roots);     /* its entries were in cert_list */
	X509_STORE_free(r->system_store);
	free(r->line);
	free(r);
}

uint64_t rep_handshake_count(const struct rep *r)
{
	return r ? r->handshakes : 0;
}

uint64_t rep_server_count(const struct rep *r)
{
	return r ? r->server_list.n - r->baseline_only_servers : 0;
}

/* Findings the per-handshake rules have raised so far (alerts, validity at
 * capture time, names, hidden or truncated chains); the rules that need the
 * whole picture (issuer-mismatch, look-alikes, pool splits) run at the end. */
uint64_t rep_findings_so_far(const struct rep *r)
{
	return r ? r->finding_list.n : 0;
}
