/*
 * pipeline.c -- the flow consumer: our TLS dissector and nDPI on each flow,
 * and at its close the report's record of its handshake.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "handshake_record.h"

/* What a flow in its handshake holds: our dissector and nDPI's state. */
struct flow_state {
	struct tls_conn *tls;
	struct dpi_flow *dpi;
	bool dpi_tried;
	/* On pipe.key_waits while its TLS 1.3 secrets may still come. */
	struct flow *flow;
	struct flow_state *wait_prev, *wait_next;
	bool waiting;
};

struct pipe {
	struct pipe_options o;
	struct flow_consumer consumer;
	struct flow_table *flows;
	struct flow_state *key_waits;  /* flows waiting for secrets (PIPE_MAX_KEY_WAITS) */
	unsigned n_key_waits;
	struct pipe_pos at;
	bool sweep;
	struct pipe_counters cnt;
};

static enum flow_verdict tls_verdict(enum tls_verdict v)
{
	return v == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

static struct flow_state *state_of(struct flow *f)
{
	struct flow_state *s = flow_user(f);
	if (!s && (s = calloc(1, sizeof *s)))
		flow_set_user(f, s);
	return s;
}

static struct tls_conn *conn_of(struct pipe *p, struct flow *f)
{
	struct flow_state *s = state_of(f);
	if (s && !s->tls && (s->tls = tls_conn_new_with_keys(p->o.keys)) && p->o.keys_follow)
		tls_conn_wait_for_keys(s->tls);
	return s ? s->tls : NULL;
}

static void key_wait_unlink(struct pipe *p, struct flow_state *s)
{
	if (!s->waiting)
		return;
	if (s->wait_prev)
		s->wait_prev->wait_next = s->wait_next;
	else
		p->key_waits = s->wait_next;
	if (s->wait_next)
		s->wait_next->wait_prev = s->wait_prev;
	s->wait_prev = s->wait_next = NULL;
	s->waiting = false;
	p->n_key_waits--;
}

/* A TLS 1.3 flow whose secrets are not in the key log yet waits on
 * pipe.key_waits for pipe_retry_keys(); past PIPE_MAX_KEY_WAITS it gives up. */
static enum tls_verdict key_wait(struct pipe *p, struct flow *f, enum tls_verdict v)
{
	struct flow_state *s = flow_user(f);
	if (!s || s->waiting || !tls_awaiting_keys(s->tls))
		return v;
	if (p->n_key_waits >= PIPE_MAX_KEY_WAITS)
		return tls_give_up_keys(s->tls);
	s->flow = f;
	s->waiting = true;
	s->wait_next = p->key_waits;
	if (p->key_waits)
		p->key_waits->wait_prev = s;
	p->key_waits = s;
	p->n_key_waits++;
	return v;
}

void pipe_retry_keys(struct pipe *p)
{
	for (struct flow_state *s = p->key_waits, *next; s; s = next) {
		next = s->wait_next;
		enum tls_verdict v = tls_retry_keys(s->tls);
		if (tls_awaiting_keys(s->tls))
			continue;
		key_wait_unlink(p, s);
		if (v != TLS_CONTINUE)
			flow_table_done(p->flows, s->flow);   /* on_close frees s */
	}
}

/* nDPI sees the first packets of every flow with payload (the flow table
 * only calls this from the first payload on); it never ends the flow.
 * Without --dpi-check only a TLS flow's nDPI result is used (app,
 * dpi_risks), and nDPI's first packet of a flow is its dearest, so that
 * packet is held (a copy, dpi_hold) until the flow shows whether it
 * matters: at its next packet it is still in its handshake (TLS, or not
 * yet decided) and nDPI gets both; a flow our dissector refuses at once
 * (on_close, not TLS) never reaches nDPI. */
static enum flow_verdict on_packet(void *ctx, struct flow *f, enum flow_dir d,
				   const struct cap_pkt *pkt)
{
	struct pipe *p = ctx;
	struct flow_state *s = state_of(f);
	if (!s)
		return FLOW_MORE;
	if (!s->dpi_tried) {
		s->dpi = dpi_flow_new(p->o.dpi);
		s->dpi_tried = true;
		if (s->dpi && !p->o.dpi_check &&
		    dpi_hold(p->o.dpi, s->dpi, pkt, d == FLOW_FROM_CLIENT))
			return FLOW_MORE;
	}
	if (s->dpi && !dpi_result(s->dpi)->done)
		dpi_packet(p->o.dpi, s->dpi, pkt, d == FLOW_FROM_CLIENT);
	return FLOW_MORE;
}

static enum flow_verdict on_data(void *ctx, struct flow *f, enum flow_dir d,
				 const uint8_t *b, size_t n, uint64_t ts_us)
{
	struct tls_conn *c = conn_of(ctx, f);
	if (!c)
		return FLOW_DONE;
	return tls_verdict(key_wait(ctx, f, tls_feed(c, d == FLOW_FROM_CLIENT ? TLS_FROM_CLIENT
								: TLS_FROM_SERVER, b, n, ts_us)));
}

static enum flow_verdict on_gap(void *ctx, struct flow *f, enum flow_dir d,
				uint64_t missing, uint64_t ts_us)
{
	struct tls_conn *c = conn_of(ctx, f);
	if (!c)
		return FLOW_DONE;
	return tls_verdict(tls_gap(c, d == FLOW_FROM_CLIENT ? TLS_FROM_CLIENT : TLS_FROM_SERVER,
				   missing));
}

/* Second opinion, with --dpi-check (without it nDPI stops at the
 * ServerHello and reads a leaf only when it shares the ServerHello's
 * packet: a count that would depend on segmentation): nDPI's server leaf
 * against ours, by SHA-1 (nDPI drops DC= components from DNs, so names
 * cannot be compared). */
static void compare_with_dpi(struct pipe *p, const struct dpi_result *dr,
			     const struct tls_session *ts, const struct rep_endpoint *server)
{
	uint8_t ours[20];
	const uint8_t *ours_p = NULL;
	/* Nothing to compare unless nDPI read a server leaf: skip the hash. */
	if (!dpi_leaf(dr, NULL, NULL, NULL))
		return;
	if (ts->server_chain.n) {
		SHA1(ts->server_chain.certs[0].data, ts->server_chain.certs[0].len, ours);
		ours_p = ours;
	}
	if (!dpi_disagrees(dr, NULL, NULL, ours_p))
		return;
	p->cnt.dpi_disagreements++;
	if (p->o.verbose > 0)
		fprintf(stderr, "certtrace: nDPI and certtrace disagree on the leaf of %s:%u\n",
			server->ip, server->port);
}

/* Where this close falls, for the order of records made by several workers. */
static struct pipe_pos pos_of(struct pipe *p, const struct flow *f)
{
	struct pipe_pos pos = p->at;
	if (p->sweep) {
		pos.phase = flow_closing(f) ? PIPE_AT_CLOSING : PIPE_AT_IDLE;
		pos.n = flow_seq(f);
	} else {
		p->at.n++;
	}
	return pos;
}

static void emit(struct pipe *p, struct flow *f, struct flow_state *s,
		 const struct dpi_result *dr)
{
	const struct tls_session *ts = tls_session(s->tls);
	struct pipe_record r = { .tls = s->tls, .pos = pos_of(p, f) };
	struct rep_handshake *h = &r.h;

	handshake_record(ts, h);
	h->snaplen_cut_packets = flow_cut_packets(f, &h->snaplen);
	flow_endpoint(f, FLOW_FROM_CLIENT, h->client.ip, sizeof h->client.ip, &h->client.port);
	flow_endpoint(f, FLOW_FROM_SERVER, h->server.ip, sizeof h->server.ip, &h->server.port);
	if (dr) {
		if (dr->app[0]) {
			snprintf(r.app, sizeof r.app, "%s", dr->app);
			h->app = r.app;
		}
		h->n_risks = dr->n_risks;   /* nDPI's static strings */
		memcpy(h->risks, dr->risks, dr->n_risks * sizeof h->risks[0]);
		if (p->o.dpi_check)
			compare_with_dpi(p, dr, ts, &h->server);
	}
	p->cnt.handshakes++;
	s->tls = NULL;                 /* the record's now */
	p->o.emit(p->o.user, &r);
	pipe_record_release(&r, false);   /* unless emit moved it */
}

static void on_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct pipe *p = ctx;
	struct flow_state *s = flow_user(f);
	if (!s)
		return;
	key_wait_unlink(p, s);
	if (s->tls) {
		tls_retry_keys(s->tls);        /* the last tick's secrets, if any */
		tls_end(s->tls);
	}
	bool is_tls = s->tls && tls_is_tls(s->tls);
	const struct dpi_result *dr = NULL;
	/* Not TLS and no --dpi-check: nothing would read nDPI's answer, so it
	 * is not asked (a held first packet is dropped unread). */
	if (s->dpi && (is_tls || p->o.dpi_check)) {
		dpi_flow_finish(p->o.dpi, s->dpi);
		dr = dpi_result(s->dpi);
	}
	if (is_tls) {
		emit(p, f, s, dr);
	} else if (dr && dpi_is_tls_family(dr)) {
		/* nDPI calls it TLS and we found no handshake: a detection miss. */
		p->cnt.dpi_detection_misses++;
		if (p->o.verbose > 0) {
			char ip[46];
			uint16_t port;
			flow_endpoint(f, FLOW_FROM_SERVER, ip, sizeof ip, &port);
			fprintf(stderr, "certtrace: nDPI says %s on %s:%u, no TLS handshake found\n",
				dr->app, ip, port);
		}
	}
	if (s->dpi)
		dpi_flow_free(p->o.dpi, s->dpi);
	tls_conn_free(s->tls);
	free(s);
	flow_set_user(f, NULL);
}

struct pipe *pipe_new(const struct pipe_options *o)
{
	struct pipe *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->o = *o;
	p->consumer = (struct flow_consumer){ p, o->dpi ? on_packet : NULL, on_data, on_gap,
					      on_close };
	p->at.phase = PIPE_AT_PACKET;
	return p;
}

void pipe_free(struct pipe *p)
{
	free(p);
}

const struct flow_consumer *pipe_consumer(struct pipe *p) { return &p->consumer; }
void pipe_set_flows(struct pipe *p, struct flow_table *flows) { p->flows = flows; }
const struct pipe_counters *pipe_counters(const struct pipe *p) { return &p->cnt; }

void pipe_at(struct pipe *p, uint64_t seq, bool sweep)
{
	p->at = (struct pipe_pos){ seq, sweep ? PIPE_AT_CLOSING : PIPE_AT_PACKET, 0 };
	p->sweep = sweep;
}

/* A string or DER block a record points to: its size, and with *at set it
 * is copied there and pointed to there. */
static size_t move_str(const char **p, uint8_t **at)
{
	if (!*p)
		return 0;
	size_t n = strlen(*p) + 1;
	if (*at) {
		memcpy(*at, *p, n);
		*p = (const char *)*at;
		*at += n;
	}
	return n;
}

static size_t move_der(struct rep_der *d, uint8_t **at)
{
	if (d->len && *at) {
		memcpy(*at, d->data, d->len);
		d->data = *at;
		*at += d->len;
	}
	return d->len;
}

/* Every string and DER block of h: their bytes, each moved to *at if set. */
static size_t move_blocks(struct rep_handshake *h, uint8_t **at)
{
	const char **strs[] = { &h->reason, &h->preamble, &h->sni, &h->ja3, &h->ja3s,
				&h->alpn_selected, &h->decrypt_error, &h->app };
	struct rep_hs_chain *chains[2] = { &h->server_chain, &h->client_chain };
	size_t n = 0;
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		n += move_str(strs[i], at);
	for (unsigned i = 0; i < h->n_alpn; i++)
		n += move_str(&h->alpn[i], at);
	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < chains[k]->n; i++)
			n += move_der(&chains[k]->certs[i], at);
	for (unsigned i = 0; i < h->n_ca_names; i++)
		n += move_der(&h->ca_names[i], at);
	return n;
}

struct pipe_record *pipe_record_move(struct pipe_record *r)
{
	uint8_t *none = NULL;
	struct pipe_record *m = malloc(sizeof *m + move_blocks(&r->h, &none));
	if (!m)
		return NULL;
	*m = *r;
	m->next = NULL;
	m->tls = NULL;
	uint8_t *at = (uint8_t *)(m + 1);
	move_blocks(&m->h, &at);
	/* The session is not needed any more: freed here, while its bytes are
	 * still in this thread's cache. */
	tls_conn_free(r->tls);
	r->tls = NULL;
	return m;
}

void pipe_record_release(struct pipe_record *r, bool heap)
{
	if (!r)
		return;
	tls_conn_free(r->tls);
	r->tls = NULL;
	if (heap)
		free(r);
}
