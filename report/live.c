/*
 * live.c — a live capture speaks as it goes: each finding is written as
 * soon as the evidence of a handshake raises it, and a stats event every
 * --stats seconds; the full report is still written at the end.
 *
 * What is written live, once per (code, server, certificate) -- the key of
 * the dedup set below, the same key the findings table uses:
 *  - every finding of the per-handshake rules (rules.c rep_rules_handshake:
 *    client-rejected-certificate, handshake-failed, expired, not-yet-valid,
 *    expires-soon, name-mismatch, certificates-hidden, resumed-no-cert,
 *    handshake-truncated), the first time the rules make it;
 *  - the certificate-property rules that need no role (weak-key,
 *    weak-signature, self-signed, missing-server-auth-eku), over each chain
 *    as it is seen.  They are evaluated on a scratch finding: the real one
 *    is made at the end as before, so its evidence counts every chain once.
 *  - the whole-picture rules (issuer-mismatch, same-dn-different-key,
 *    lookalike-ca-name, pool-issuer-split, public-root-unverified,
 *    pss-signature, missing-crl-dp, chain-incomplete) are provisional until
 *    the end: roles, the phone-facing relation and the FE pool's CA can
 *    change with a later handshake.  rep_live_tick() runs them over the
 *    model as it is (rules.c rep_rules_whole) into a findings table of its
 *    own, writes the findings not written yet, then throws that table away
 *    and puts back what the pass changed in the model (roles, phone-facing,
 *    chains' trust), so the final report is computed as if no pass had run.
 *    A pass runs when handshakes came since the last, at most once a second,
 *    and at most 1/20 of the time (the next waits 20 times as long as the
 *    last took), so a large inventory costs at most 5 % of a core.  A
 *    finding such a pass writes can be one the end does not confirm (a
 *    server later found to be the pool's peer); the final report is the
 *    verdict.
 * Only at the end: certificate-changed (against --baseline: a server that
 * disappeared is only known then).
 *
 * A live line is the finding as known then: its words, its role and its
 * evidence (count, samples) are those of the moment; the final report's
 * "finding" line has them all.  In jsonl it has the final line's shape
 * (consumers that keep the last line per code, server and certificate get
 * the final one); in text it is one line on the report's stream, written
 * under the status line on a terminal; dot has no live lines.
 *
 * The dedup set is capped at REP_LIVE_MAX_KEYS keys (live.h): past it a new
 * finding is no longer written live, one line on stderr says so once, and
 * the final report is complete as ever.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report/rep_int.h"

struct rep_live {
	struct rep_live_set written;
	size_t cursor;                 /* finding_list[0..cursor) considered */
	uint64_t raised;               /* findings written live */
	bool cap_said;
	uint64_t pass_handshakes;      /* r->handshakes at the last whole pass */
	uint64_t next_pass_us;         /* rep_live_tick's clock */
};

/* What a whole pass changes in a server, put back after it. */
struct live_saved {
	enum rep_role role;
	bool role_explicit;
	char role_reason[512];
	bool phone_facing;
	char facing_reason[512];
	unsigned n_phone_clients;
	const char *phone_clients[REP_MAX_PHONE_CLIENTS];
	bool phone_clients_more;
};

/* ---- the dedup set ------------------------------------------------------------------ */

#define LIVE_KEY_BYTES (1 + sizeof(unsigned) + 32)

void rep_live_set_init(struct rep_live_set *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->cap = cap;
}

enum rep_live_add rep_live_set_add(struct rep_live_set *s, enum rep_code code,
				   unsigned server_idx, const uint8_t *sha256)
{
	uint8_t key[LIVE_KEY_BYTES];

	memset(key, 0, sizeof(key));
	key[0] = (uint8_t)code;
	memcpy(key + 1, &server_idx, sizeof(unsigned));
	if (sha256)
		memcpy(key + 1 + sizeof(unsigned), sha256, 32);
	if (rep_map_get(&s->keys, key, sizeof(key)))
		return REP_LIVE_SEEN;
	if (s->keys.n >= s->cap || !rep_map_put(&s->keys, key, sizeof(key), (void *)1)) {
		s->over_cap++;
		return REP_LIVE_FULL;
	}
	return REP_LIVE_NEW;
}

size_t rep_live_set_size(const struct rep_live_set *s)
{
	return s->keys.n;
}

void rep_live_set_free(struct rep_live_set *s)
{
	rep_map_clear(&s->keys);
}

/* ---- writing a finding -------------------------------------------------------------- */

bool rep_live_open(struct rep *r)
{
	if (!r->opt.live || r->opt.format == REP_DOT)
		return true;
	if (!(r->live = calloc(1, sizeof(*r->live))))
		return false;
	rep_live_set_init(&r->live->written, REP_LIVE_MAX_KEYS);
	return true;
}

/* One text line: severity, code, server, the message. */
static void text_line(struct rep *r, const struct rep_finding *f)
{
	const struct rep_server *s = f->server;
	char where[128];

	if (s->file)
		snprintf(where, sizeof(where), "%s", s->file);
	else
		snprintf(where, sizeof(where), "%s:%u", s->ep.ip, s->ep.port);
	/* On a terminal the status line (stderr) is the last line: clear it,
	 * and it is drawn again under this one. */
	fprintf(r->out, "%slive finding: %s %s on %s (%s): %s\n",
		isatty(fileno(r->out)) ? "\r\033[K" : "", rep_severity_name(f->severity),
		rep_finding_defs[f->code].name, where, rep_server_name(s),
		f->message ? f->message : rep_finding_defs[f->code].title);
	fflush(r->out);
}

static void write_finding(struct rep *r, struct rep_finding *f)
{
	struct rep_live *L = r->live;

	switch (rep_live_set_add(&L->written, f->code, f->server->idx,
				 f->cert ? f->cert->xi->sha256 : NULL)) {
	case REP_LIVE_SEEN:
		return;
	case REP_LIVE_FULL:
		if (!L->cap_said && r->opt.verbose >= 0)
			fprintf(stderr, "certtrace: %u findings written live: later ones only in "
				"the final report\n", REP_LIVE_MAX_KEYS);
		L->cap_said = true;
		return;
	case REP_LIVE_NEW:
		break;
	}
	rep_finding_describe(f);
	if (r->out) {
		if (r->opt.format == REP_JSONL)
			rep_jsonl_finding(r, f);
		else if (r->opt.format == REP_ECS)
			rep_ecs_finding(r, f);
		else if (r->opt.format == REP_TEXT)
			text_line(r, f);
	}
	L->raised++;
}

/* A certificate-property rule over one certificate of a chain just seen:
 * written from a scratch finding, which is then dropped. */
static void cert_rule(struct rep *r, enum rep_code code, struct rep_server *s,
		      struct rep_cert *c, const struct rep_chain *chain)
{
	struct rep_finding f = { .code = code, .server = s, .cert = c, .n_certs = 1 };

	f.certs[0] = c;
	if (chain)
		rep_seen_merge(&f.seen, &chain->seen);
	write_finding(r, &f);
	free(f.message);
	free(f.symptom);
	free(f.remedy);
}

/* The chain of s that holds exactly these certificates, for its evidence. */
static const struct rep_chain *chain_of(const struct rep_server *s, struct rep_cert **certs,
					unsigned n)
{
	for (unsigned i = 0; i < s->n_chains; i++) {
		const struct rep_chain *c = s->chains[i];
		if (c->n == n && !memcmp(c->certs, certs, n * sizeof(*certs)))
			return c;
	}
	return NULL;
}

void rep_live_handshake(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			unsigned n)
{
	static const enum rep_code no_role[] = {
		RC_WEAK_KEY, RC_WEAK_SIGNATURE, RC_SELF_SIGNED, RC_MISSING_SERVER_AUTH_EKU,
	};
	struct rep_live *L = r->live;

	if (!L)
		return;
	for (; L->cursor < r->finding_list.n; L->cursor++)
		write_finding(r, r->finding_list.v[L->cursor]);
	const struct rep_chain *chain = n ? chain_of(s, certs, n) : NULL;
	for (size_t k = 0; k < sizeof(no_role) / sizeof(no_role[0]); k++)
		for (unsigned i = 0; i < n; i++)
			if (rep_cert_rule(no_role[k], certs[i]->xi, i == 0, false))
				cert_rule(r, no_role[k], s, certs[i], chain);
}

/* ---- the provisional whole pass ----------------------------------------------------- */

static void save_server(struct live_saved *v, const struct rep_server *s)
{
	v->role = s->role;
	v->role_explicit = s->role_explicit;
	memcpy(v->role_reason, s->role_reason, sizeof(v->role_reason));
	v->phone_facing = s->phone_facing;
	memcpy(v->facing_reason, s->facing_reason, sizeof(v->facing_reason));
	v->n_phone_clients = s->n_phone_clients;
	memcpy(v->phone_clients, s->phone_clients, sizeof(v->phone_clients));
	v->phone_clients_more = s->phone_clients_more;
}

static void restore_server(struct rep_server *s, const struct live_saved *v)
{
	s->role = v->role;
	s->role_explicit = v->role_explicit;
	memcpy(s->role_reason, v->role_reason, sizeof(s->role_reason));
	s->phone_facing = v->phone_facing;
	memcpy(s->facing_reason, v->facing_reason, sizeof(s->facing_reason));
	s->n_phone_clients = v->n_phone_clients;
	memcpy(s->phone_clients, v->phone_clients, sizeof(s->phone_clients));
	s->phone_clients_more = v->phone_clients_more;
	/* The trust rules fill these afresh at the end, from nothing. */
	for (unsigned j = 0; j < s->n_chains; j++) {
		struct rep_chain *c = s->chains[j];
		c->trust_checked = c->trusted = c->trust_unknown = false;
		c->trust_method[0] = c->verify_error[0] = 0;
		c->ca_idx = -1;
	}
}

static uint64_t mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

void rep_live_tick(struct rep *r, uint64_t now_us)
{
	struct rep_live *L = r ? r->live : NULL;

	if (!L || r->finished || r->handshakes == L->pass_handshakes || now_us < L->next_pass_us)
		return;
	uint64_t t0 = mono_us();
	size_t n = r->server_list.n;
	struct live_saved *saved = calloc(n ? n : 1, sizeof(*saved));
	if (!saved)
		return;
	for (size_t i = 0; i < n; i++)
		save_server(&saved[i], r->server_list.v[i]);
	struct rep_map real_map = r->findings;
	struct rep_vec real_list = r->finding_list;
	memset(&r->findings, 0, sizeof(r->findings));
	memset(&r->finding_list, 0, sizeof(r->finding_list));

	rep_rules_whole(r);
	for (size_t i = 0; i < r->finding_list.n; i++)
		write_finding(r, r->finding_list.v[i]);

	rep_findings_free(r);
	r->findings = real_map;
	r->finding_list = real_list;
	for (size_t i = 0; i < n; i++)
		restore_server(r->server_list.v[i], &saved[i]);
	free(saved);
	L->pass_handshakes = r->handshakes;
	uint64_t took = mono_us() - t0;
	L->next_pass_us = now_us + (took * 20 > 1000000 ? took * 20 : 1000000);
}

uint64_t rep_live_raised(const struct rep *r)
{
	return r->live ? r->live->raised : 0;
}

/* ---- stats -------------------------------------------------------------------------- */

void rep_live_stats(struct rep *r, const struct rep_live_stats *st)
{
	if (!r || r->finished)
		return;
	uint64_t findings = rep_findings_so_far(r);
	if (r->opt.format == REP_JSONL) {
		rep_jsonl_stats(r, st, findings);
		return;
	}
	if (r->opt.format == REP_ECS) {
		rep_ecs_stats(r, st, findings);
		return;
	}
	char ts[40], drops[96] = "";
	rep_iso_us(st->ts_us, ts, sizeof(ts));
	if (st->kernel)
		snprintf(drops, sizeof(drops), ", kernel: %llu received, %llu dropped",
			 (unsigned long long)st->kernel_received,
			 (unsigned long long)(st->kernel_dropped + st->kernel_ifdropped));
	fprintf(stderr, "%scerttrace: stats %s: %llu packets, %llu bytes%s, %llu flows open "
		"(%llu in all), %llu handshakes, %llu certificates, %llu findings\n",
		isatty(STDERR_FILENO) ? "\r\033[K" : "", ts,
		(unsigned long long)st->packets, (unsigned long long)st->bytes, drops,
		(unsigned long long)st->flows_active, (unsigned long long)st->flows_total,
		(unsigned long long)r->handshakes, (unsigned long long)r->wire_certs,
		(unsigned long long)findings);
}

void rep_live_free(struct rep *r)
{
	if (!r->live)
		return;
	rep_live_set_free(&r->live->written);
	free(r->live);
	r->live = NULL;
}
