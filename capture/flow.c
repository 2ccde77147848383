/*
 * flow.c — the flow table: TCP connections keyed by their 5-tuple, in both
 * directions, with no allocation per packet.
 *
 * Slots live in chunks of FLOW_CHUNK and are linked by 32-bit indices (0
 * means none) for the hash chains and for one LRU list ordered by the
 * packet that last touched a flow (flow_clock).  Idle expiry pops the LRU
 * head by the capture clock; the hard cap
 * (max_flows) evicts the same head, the longest-idle flow, and counts it.
 *
 * A flow's life, and what it costs:
 *   NEW     seen, no payload yet (a SYN flood stays here): the slot only.
 *   ACTIVE  payload seen and the consumer still interested: plus a
 *           struct flow_active (reassembly of both directions) and the
 *           consumer's own per-flow state.
 *   DONE    the consumer said it is finished: back to the slot only; each
 *           later packet is one hash lookup.
 * FIN in both directions or RST moves the flow to a closing list where it
 * lingers FLOW_LINGER_US (2 s) of capture time for segments still in flight,
 * then it is removed; a SYN with a new ISN on the same 5-tuple starts a new
 * flow at once.
 *
 * Which side is the server: the SYN's receiver, the SYN-ACK's sender; when
 * the capture started mid-conversation (no SYN), a well-known port, else the
 * lower port.  Such flows are picked up, not dropped: reassembly starts at
 * the first byte seen.
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/reasm.h"

#define FLOW_CHUNK_SHIFT 16
#define FLOW_CHUNK (1u << FLOW_CHUNK_SHIFT)
#define FLOW_LINGER_US (2ull * 1000000)   /* a closed flow stays this long */

enum flow_state { FS_FREE = 0, FS_NEW, FS_ACTIVE, FS_DONE };

enum {
	FF_SYN_SEEN = 0x01,       /* roles decided by SYN / SYN-ACK */
	FF_FIN0 = 0x02,           /* FIN from endpoint 0 */
	FF_FIN1 = 0x04,
	FF_ISN0 = 0x08,           /* isn[0] valid */
	FF_ISN1 = 0x10,
	FF_CLOSING = 0x20,        /* FIN both ways or RST: on the closing list */
};

struct flow_active {
	struct reasm_dir dir[2];  /* by enum flow_dir */
	uint32_t cut_packets;     /* segments the snaplen cut (flow_cut_packets) */
	uint32_t cut_snaplen;     /* the snaplen of the interface of the last one */
	void *user;
	struct flow_active *next_free;
};

struct flow {
	uint8_t addr[2][16];      /* endpoint 0 sorts before endpoint 1 */
	uint16_t port[2];
	uint8_t ipv;
	uint8_t state;
	uint8_t server;           /* which endpoint is the server */
	uint8_t flags;
	uint32_t isn[2];          /* by endpoint, from SYNs seen before payload */
	uint32_t hnext;           /* hash chain */
	uint32_t lprev, lnext;    /* LRU list, oldest first */
	uint64_t first_us, last_us;
	/* The capture clock and packet number when the flow last moved on its
	 * list: lists are in this order, whichever packets the table sees. */
	uint64_t touch_us, touch_seq;
	struct flow_active *act;
};

struct flow_list {
	uint32_t head, tail;
};

struct flow_table {
	struct flow_options opt;
	struct flow_consumer c;
	struct flow **chunks;
	uint32_t n_chunks, max_chunks;
	uint32_t free_head;       /* free slots, chained by hnext */
	uint32_t next_unused;     /* slots never used: 1.. */
	uint32_t *buckets;
	uint32_t n_buckets;       /* a power of two */
	struct flow_list lru;     /* open flows, least recently active first */
	struct flow_list closing; /* closed flows lingering, oldest close first */
	struct flow_clock clock;  /* flow_table_packet()'s own */
	_Atomic uint64_t *shared_active;   /* flow_table_share_cap() */
	struct flow_active *act_free;
	struct reasm_budget budget;
	struct flow_counters cnt;
	/* The flow and direction being delivered, for the reassembly sink. */
	struct flow *cur;
	enum flow_dir cur_dir;
	uint64_t cur_ts;
};

void flow_options_default(struct flow_options *o)
{
	o->max_flows = 1000000;
	o->idle_timeout_us = 300ull * 1000000;
	o->max_dir_buffer_bytes = 256 * 1024;
	o->max_total_buffer_bytes = 256ull * 1024 * 1024;
}

static inline struct flow *slot(const struct flow_table *t, uint32_t idx)
{
	idx--;
	return &t->chunks[idx >> FLOW_CHUNK_SHIFT][idx & (FLOW_CHUNK - 1)];
}

static uint64_t hash_key(const uint8_t a[2][16], const uint16_t port[2], uint8_t ipv)
{
	/* Multiply-xorshift over 8-byte words: sequential addresses and ports
	 * spread over all buckets. */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ipv;
	uint64_t w;
	for (int e = 0; e < 2; e++)
		for (int i = 0; i < (ipv == 4 ? 1 : 2); i++) {
			if (ipv == 4) {
				uint32_t v;
				memcpy(&v, a[e], 4);
				w = v;
			} else {
				memcpy(&w, a[e] + 8 * i, 8);
			}
			h = (h ^ w) * 0xff51afd7ed558ccdull;
			h ^= h >> 32;
		}
	h = (h ^ ((uint64_t)port[0] << 16 | port[1])) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h;
}

struct flow_table *flow_table_new(const struct flow_options *o,
				  const struct flow_consumer *c)
{
	struct flow_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	if (o)
		t->opt = *o;
	else
		flow_options_default(&t->opt);
	if (t->opt.max_flows == 0)
		t->opt.max_flows = 1;
	t->c = *c;
	t->max_chunks = (t->opt.max_flows + FLOW_CHUNK - 1) / FLOW_CHUNK;
	t->chunks = calloc(t->max_chunks, sizeof *t->chunks);
	t->n_buckets = 1u << 12;
	t->buckets = calloc(t->n_buckets, sizeof *t->buckets);
	t->next_unused = 1;
	t->budget.max_dir_bytes = t->opt.max_dir_buffer_bytes;
	t->budget.max_total_bytes = t->opt.max_total_buffer_bytes;
	if (!t->chunks || !t->buckets) {
		free(t->chunks);
		free(t->buckets);
		free(t);
		return NULL;
	}
	return t;
}

static void grow_buckets(struct flow_table *t)
{
	uint32_t n = t->n_buckets * 2;
	uint32_t *b = calloc(n, sizeof *b);
	if (!b)
		return;                   /* longer chains, still correct */
	for (uint32_t i = 0; i < t->n_buckets; i++) {
		uint32_t idx = t->buckets[i];
		while (idx) {
			struct flow *f = slot(t, idx);
			uint32_t next = f->hnext;
			uint32_t h = (uint32_t)hash_key(f->addr, f->port, f->ipv) & (n - 1);
			f->hnext = b[h];
			b[h] = idx;
			idx = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

static uint32_t slot_alloc(struct flow_table *t)
{
	if (t->free_head) {
		uint32_t idx = t->free_head;
		t->free_head = slot(t, idx)->hnext;
		return idx;
	}
	uint32_t idx = t->next_unused;
	uint32_t chunk = (idx - 1) >> FLOW_CHUNK_SHIFT;
	if (chunk >= t->max_chunks)
		return 0;
	if (!t->chunks[chunk]) {
		t->chunks[chunk] = calloc(FLOW_CHUNK, sizeof(struct flow));
		if (!t->chunks[chunk])
			return 0;
		t->n_chunks++;
	}
	t->next_unused++;
	return idx;
}

static void list_unlink(struct flow_table *t, struct flow_list *l, uint32_t idx)
{
	struct flow *f = slot(t, idx);
	if (f->lprev)
		slot(t, f->lprev)->lnext = f->lnext;
	else
		l->head = f->lnext;
	if (f->lnext)
		slot(t, f->lnext)->lprev = f->lprev;
	else
		l->tail = f->lprev;
	f->lprev = f->lnext = 0;
}

static void list_append(struct flow_table *t, struct flow_list *l, uint32_t idx)
{
	struct flow *f = slot(t, idx);
	f->lprev = l->tail;
	f->lnext = 0;
	if (l->tail)
		slot(t, l->tail)->lnext = idx;
	else
		l->head = idx;
	l->tail = idx;
}

static struct flow_list *list_of(struct flow_table *t, const struct flow *f)
{
	return (f->flags & FF_CLOSING) ? &t->closing : &t->lru;
}

/* ---- delivery to the consumer ------------------------------------------ */

static enum flow_verdict sink_data(void *ctx, const uint8_t *p, size_t n)
{
	struct flow_table *t = ctx;
	return t->c.data(t->c.ctx, t->cur, t->cur_dir, p, n, t->cur_ts);
}

static enum flow_verdict sink_gap(void *ctx, uint64_t missing)
{
	struct flow_table *t = ctx;
	return t->c.gap(t->c.ctx, t->cur, t->cur_dir, missing, t->cur_ts);
}

static void release_active(struct flow_table *t, struct flow *f)
{
	struct flow_active *a = f->act;
	if (!a)
		return;
	reasm_release(&a->dir[0], &t->budget);
	reasm_release(&a->dir[1], &t->budget);
	memset(a, 0, sizeof *a);
	a->next_free = t->act_free;
	t->act_free = a;
	f->act = NULL;
	t->cnt.consumers_live--;
}

/* The consumer's interest ends: flush (unless it asked to stop), tell it. */
static void end_interest(struct flow_table *t, struct flow *f, enum flow_close_reason why)
{
	if (f->state != FS_ACTIVE)
		return;
	if (why != FLOW_CLOSE_DONE) {
		struct reasm_sink s = { sink_data, sink_gap, t };
		t->cur = f;
		for (int d = 0; d < 2; d++) {
			t->cur_dir = (enum flow_dir)d;
			t->cur_ts = f->last_us;
			if (reasm_flush(&f->act->dir[d], &t->budget, &s) == FLOW_DONE) {
				why = FLOW_CLOSE_DONE;
				break;
			}
		}
	}
	t->c.close(t->c.ctx, f, why);
	release_active(t, f);
	f->state = FS_DONE;
}

/* A flow's place in a cap shared with other tables (flow_table_share_cap),
 * given back. */
static void shared_release(struct flow_table *t)
{
	if (t->shared_active)
		atomic_fetch_sub_explicit(t->shared_active, 1, memory_order_relaxed);
}

static void flow_remove(struct flow_table *t, uint32_t idx, enum flow_close_reason why)
{
	struct flow *f = slot(t, idx);
	end_interest(t, f, why);
	uint32_t h = (uint32_t)hash_key(f->addr, f->port, f->ipv) & (t->n_buckets - 1);
	uint32_t *at = &t->buckets[h];
	while (*at && *at != idx)
		at = &slot(t, *at)->hnext;
	if (*at)
		*at = f->hnext;
	list_unlink(t, list_of(t, f), idx);
	memset(f, 0, sizeof *f);
	f->hnext = t->free_head;
	t->free_head = idx;
	t->cnt.active--;
	shared_release(t);
	switch (why) {
	case FLOW_CLOSE_IDLE: t->cnt.expired++; break;
	case FLOW_CLOSE_EVICTED: t->cnt.evicted++; break;
	default: t->cnt.closed++; break;
	}
}

/* ---- lookup and creation ----------------------------------------------- */

static bool well_known_server_port(uint16_t p)
{
	static const uint16_t ports[] = {
		443, 444, 4443, 5061, 5062, 5063, 8057, 8058, 8443, 993, 995, 465,
		636, 853, 990, 989, 5223, 5222, 5269, 25, 587, 110, 143, 389, 21,
		3306, 5432, 6667, 6697, 8080, 1080, 3389, 3269,
	};
	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
		if (ports[i] == p)
			return true;
	return false;
}

static uint8_t guess_server(const struct flow *f)
{
	bool w0 = well_known_server_port(f->port[0]);
	bool w1 = well_known_server_port(f->port[1]);
	if (w0 != w1)
		return w0 ? 0 : 1;
	return f->port[0] <= f->port[1] ? 0 : 1;
}

/* Key order: endpoint 0 is the smaller (address, port). */
static void make_key(const struct cap_pkt *p, uint8_t addr[2][16], uint16_t port[2],
		     int *src_ep)
{
	int c = memcmp(p->src, p->dst, 16);
	bool src_first = c < 0 || (c == 0 && p->sport <= p->dport);
	const uint8_t *a0 = src_first ? p->src : p->dst;
	const uint8_t *a1 = src_first ? p->dst : p->src;
	memcpy(addr[0], a0, 16);
	memcpy(addr[1], a1, 16);
	port[0] = src_first ? p->sport : p->dport;
	port[1] = src_first ? p->dport : p->sport;
	*src_ep = src_first ? 0 : 1;
}

static uint32_t lookup(struct flow_table *t, const uint8_t addr[2][16],
		       const uint16_t port[2], uint8_t ipv, uint32_t *bucket)
{
	uint32_t h = (uint32_t)hash_key(addr, port, ipv) & (t->n_buckets - 1);
	*bucket = h;
	for (uint32_t idx = t->buckets[h]; idx; idx = slot(t, idx)->hnext) {
		struct flow *f = slot(t, idx);
		if (f->port[0] == port[0] && f->port[1] == port[1] && f->ipv == ipv &&
		    memcmp(f->addr, addr, sizeof f->addr) == 0)
			return idx;
	}
	return 0;
}

static void touch(struct flow *f, uint64_t seq, uint64_t now_us)
{
	f->touch_seq = seq;
	f->touch_us = now_us;
}

/*
 * Whether a new flow finds the table at its cap.  A cap shared between
 * workers' tables is reserved by the increment itself, so that two workers
 * creating at once cannot both see room for the last flow: each creation
 * that finds the count at the cap evicts one, and the count never settles
 * above it.  shared_release() gives the place back if the flow is not made.
 */
static bool reserve_at_cap(struct flow_table *t)
{
	if (t->shared_active)
		return atomic_fetch_add_explicit(t->shared_active, 1, memory_order_relaxed) >=
		       t->opt.max_flows;
	return t->cnt.active >= t->opt.max_flows;
}


static uint32_t create(struct flow_table *t, const struct cap_pkt *p,
		       const uint8_t addr[2][16], const uint16_t port[2], int src_ep,
		       uint64_t seq, uint64_t now_us)
{
	if (reserve_at_cap(t)) {
		/* Closed flows go first: they are only lingering. */
		if (t->closing.head)
			flow_remove(t, t->closing.head, FLOW_CLOSE_FIN);
		else if (t->lru.head)
			flow_remove(t, t->lru.head, FLOW_CLOSE_EVICTED);
	}
	uint32_t idx = slot_alloc(t);
	if (!idx) {
		shared_release(t);
		return 0;
	}
	if (t->cnt.active + 1 > t->n_buckets)
		grow_buckets(t);
	struct flow *f = slot(t, idx);
	memset(f, 0, sizeof *f);
	memcpy(f->addr, addr, sizeof f->addr);
	f->port[0] = port[0];
	f->port[1] = port[1];
	f->ipv = p->ipv;
	f->state = FS_NEW;
	f->first_us = f->last_us = p->ts_us;
	touch(f, seq, now_us);
	uint8_t fl = p->tcp_flags;
	if ((fl & TCP_SYN) && !(fl & TCP_ACK)) {
		f->server = (uint8_t)(1 - src_ep);
		f->flags |= FF_SYN_SEEN;
	} else if ((fl & TCP_SYN) && (fl & TCP_ACK)) {
		f->server = (uint8_t)src_ep;
		f->flags |= FF_SYN_SEEN;
	} else {
		f->server = guess_server(f);
		t->cnt.syn_missed++;
	}
	uint32_t h = (uint32_t)hash_key(f->addr, f->port, f->ipv) & (t->n_buckets - 1);
	f->hnext = t->buckets[h];
	t->buckets[h] = idx;
	list_append(t, &t->lru, idx);
	t->cnt.flows++;
	t->cnt.active++;
	if (t->cnt.active > t->cnt.peak_active)
		t->cnt.peak_active = t->cnt.active;
	return idx;
}

static struct flow_active *active_alloc(struct flow_table *t)
{
	struct flow_active *a = t->act_free;
	if (a) {
		t->act_free = a->next_free;
		a->next_free = NULL;
		return a;
	}
	return calloc(1, sizeof *a);
}

/* ---- the packet path --------------------------------------------------- */

/* FIN both ways or RST: the flow moves to the closing list and lingers for
 * FLOW_LINGER_US of capture time, so segments still in flight (a server's
 * Certificate after the client's RST is common) reach the consumer and do
 * not start a stray flow of their own. */
static void start_closing(struct flow_table *t, uint32_t idx, uint64_t seq, uint64_t now_us)
{
	struct flow *f = slot(t, idx);
	if (f->flags & FF_CLOSING)
		return;
	list_unlink(t, &t->lru, idx);
	f->flags |= FF_CLOSING;
	touch(f, seq, now_us);
	list_append(t, &t->closing, idx);
}

/* RST, or the second direction's FIN, closes the flow. */
static void note_close(struct flow_table *t, uint32_t idx, const struct cap_pkt *p, int src_ep,
		       uint64_t seq, uint64_t now_us)
{
	struct flow *f = slot(t, idx);
	if (p->tcp_flags & TCP_FIN)
		f->flags |= src_ep ? FF_FIN1 : FF_FIN0;
	if ((p->tcp_flags & TCP_RST) ||
	    (f->flags & (FF_FIN0 | FF_FIN1)) == (FF_FIN0 | FF_FIN1))
		start_closing(t, idx, seq, now_us);
}

/* A SYN that opens a new connection on a 5-tuple still in the table: the
 * old one is over.  A retransmitted SYN of this one carries the same ISN. */
static bool reuses_tuple(const struct flow *f, const struct cap_pkt *p, int src_ep)
{
	if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return false;
	if (f->state == FS_NEW && !(f->flags & FF_CLOSING))
		return false;
	return !((f->flags & (src_ep ? FF_ISN1 : FF_ISN0)) && f->isn[src_ep] == p->seq);
}

static void deliver_segment(struct flow_table *t, struct flow *f, enum flow_dir dir,
			    const struct cap_pkt *p)
{
	/* Cut by the capture's snaplen, not short on the wire or in a mirror
	 * session: the frame itself says it had more bytes than were kept. */
	if (p->payload_len < p->payload_wire_len && p->frame &&
	    p->frame->caplen < p->frame->len) {
		f->act->cut_packets++;
		f->act->cut_snaplen = p->frame->snaplen;
	}
	t->cur = f;
	t->cur_ts = p->ts_us;
	if (t->c.packet && t->c.packet(t->c.ctx, f, dir, p) == FLOW_DONE) {
		end_interest(t, f, FLOW_CLOSE_DONE);
		return;
	}
	struct reasm_sink s = { sink_data, sink_gap, t };
	if (p->tcp_flags & TCP_SYN)
		reasm_syn(&f->act->dir[dir], p->seq);
	uint32_t seq = p->seq + ((p->tcp_flags & TCP_SYN) ? 1 : 0);
	enum flow_verdict v = FLOW_MORE;
	if (p->tcp_flags & TCP_ACK) {
		t->cur_dir = (enum flow_dir)(1 - dir);
		v = reasm_peer_ack(&f->act->dir[1 - dir], &t->budget, p->ack, &s);
	}
	if (v == FLOW_MORE && p->payload_wire_len) {
		t->cur_dir = dir;
		v = reasm_segment(&f->act->dir[dir], &t->budget, seq, p->payload,
				  p->payload_len, p->payload_wire_len, &s);
	}
	if (v == FLOW_DONE)
		end_interest(t, f, FLOW_CLOSE_DONE);
}

bool flow_clock_tick(struct flow_clock *c, uint64_t ts_us)
{
	c->seq++;
	if (ts_us > c->now_us)
		c->now_us = ts_us;
	if (c->seq > 1 && c->now_us < c->expired_us + 1000000)
		return false;
	c->expired_us = c->now_us;
	return true;
}

bool flow_table_packet(struct flow_table *t, const struct cap_pkt *p)
{
	if (flow_clock_tick(&t->clock, p->ts_us))
		flow_table_expire(t, t->clock.now_us);
	return flow_table_packet_at(t, p, t->clock.seq, t->clock.now_us);
}

bool flow_table_packet_at(struct flow_table *t, const struct cap_pkt *p, uint64_t seq,
			  uint64_t now_us)
{
	uint8_t addr[2][16];
	uint16_t port[2];
	int src_ep;
	uint32_t bucket;

	t->cnt.packets++;
	make_key(p, addr, port, &src_ep);
	uint32_t idx = lookup(t, addr, port, p->ipv, &bucket);
	struct flow *f = idx ? slot(t, idx) : NULL;

	if (f && reuses_tuple(f, p, src_ep)) {
		flow_remove(t, idx, FLOW_CLOSE_FIN);
		f = NULL;
	}
	if (!f) {
		if (p->tcp_flags & TCP_RST)
			return false;     /* nothing to learn from a lone RST */
		idx = create(t, p, addr, port, src_ep, seq, now_us);
		if (!idx)
			return false;
		f = slot(t, idx);
	} else if (!(f->flags & FF_CLOSING)) {
		f->last_us = p->ts_us;
		touch(f, seq, now_us);
		list_unlink(t, &t->lru, idx);
		list_append(t, &t->lru, idx);
		if (f->state == FS_NEW && !(f->flags & FF_SYN_SEEN) &&
		    (p->tcp_flags & TCP_SYN)) {
			/* A SYN after a stray packet still tells the roles. */
			f->server = (uint8_t)((p->tcp_flags & TCP_ACK) ? src_ep : 1 - src_ep);
			f->flags |= FF_SYN_SEEN;
		}
	}

	if (f->state == FS_DONE) {
		t->cnt.done_packets++;
		note_close(t, idx, p, src_ep, seq, now_us);
		return false;
	}

	enum flow_dir dir = src_ep == f->server ? FLOW_FROM_SERVER : FLOW_FROM_CLIENT;
	if ((p->tcp_flags & TCP_SYN) && f->state == FS_NEW) {
		f->isn[src_ep] = p->seq;
		f->flags |= src_ep ? FF_ISN1 : FF_ISN0;
	}
	if (f->state == FS_NEW && p->payload_wire_len > 0) {
		f->act = active_alloc(t);
		if (!f->act)
			return false;
		f->state = FS_ACTIVE;
		t->cnt.consumers_live++;
		for (int e = 0; e < 2; e++)
			if (f->flags & (e ? FF_ISN1 : FF_ISN0)) {
				enum flow_dir d = e == f->server ? FLOW_FROM_SERVER : FLOW_FROM_CLIENT;
				reasm_syn(&f->act->dir[d], f->isn[e]);
			}
	}
	if (f->state == FS_ACTIVE)
		deliver_segment(t, f, dir, p);
	note_close(t, idx, p, src_ep, seq, now_us);
	return true;
}

void flow_table_expire(struct flow_table *t, uint64_t now_us)
{
	while (t->closing.head) {
		struct flow *f = slot(t, t->closing.head);
		if (f->touch_us + FLOW_LINGER_US >= now_us)
			break;
		flow_remove(t, t->closing.head, FLOW_CLOSE_FIN);
	}
	while (t->lru.head) {
		struct flow *f = slot(t, t->lru.head);
		if (f->touch_us + t->opt.idle_timeout_us >= now_us)
			break;
		flow_remove(t, t->lru.head, FLOW_CLOSE_IDLE);
	}
}

void flow_table_done(struct flow_table *t, struct flow *f)
{
	end_interest(t, f, FLOW_CLOSE_DONE);
}

void flow_table_finish(struct flow_table *t)
{
	/* The end of the capture ends every table's flows at one moment: a
	 * table that gets there first leaves its count in a shared cap, so the
	 * others, still handling the packets before the end, evict as one
	 * table would have instead of filling the room it frees. */
	t->shared_active = NULL;
	while (t->closing.head)
		flow_remove(t, t->closing.head, FLOW_CLOSE_FIN);
	while (t->lru.head)
		flow_remove(t, t->lru.head, FLOW_CLOSE_END);
}

const struct flow_counters *flow_table_counters(const struct flow_table *t)
{
	struct flow_table *m = (struct flow_table *)t;
	m->cnt.gaps = t->budget.gaps;
	m->cnt.gap_bytes = t->budget.gap_bytes;
	m->cnt.ooo_segments = t->budget.ooo_segments;
	m->cnt.retransmitted_bytes = t->budget.retransmitted_bytes;
	m->cnt.buffered_bytes = t->budget.used_bytes;
	m->cnt.peak_buffered_bytes = t->budget.peak_bytes;
	return &t->cnt;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	flow_table_finish(t);
	while (t->act_free) {
		struct flow_active *a = t->act_free;
		t->act_free = a->next_free;
		free(a);
	}
	for (uint32_t c = 0; c < t->max_chunks; c++)
		free(t->chunks[c]);
	free(t->chunks);
	free(t->buckets);
	free(t);
}

/* ---- what a consumer may ask ------------------------------------------- */

void *flow_user(const struct flow *f) { return f->act ? f->act->user : NULL; }

uint32_t flow_cut_packets(const struct flow *f, uint32_t *snaplen)
{
	if (snaplen)
		*snaplen = f->act ? f->act->cut_snaplen : 0;
	return f->act ? f->act->cut_packets : 0;
}

void flow_set_user(struct flow *f, void *user)
{
	if (f->act)
		f->act->user = user;
}

bool flow_syn_seen(const struct flow *f) { return f->flags & FF_SYN_SEEN; }
uint64_t flow_first_us(const struct flow *f) { return f->first_us; }
uint64_t flow_seq(const struct flow *f) { return f->touch_seq; }
bool flow_closing(const struct flow *f) { return f->flags & FF_CLOSING; }

void flow_table_share_cap(struct flow_table *t, _Atomic uint64_t *active)
{
	t->shared_active = active;
}

void flow_endpoint(const struct flow *f, enum flow_dir side, char *ip, size_t iplen,
		   uint16_t *port)
{
	int e = side == FLOW_FROM_SERVER ? f->server : 1 - f->server;
	if (f->ipv == 4)
		inet_ntop(AF_INET, f->addr[e], ip, (socklen_t)iplen);
	else
		inet_ntop(AF_INET6, f->addr[e], ip, (socklen_t)iplen);
	*port = f->port[e];
}
