/*
 * workers.c -- certtrace --threads: N workers, each owning the flows whose
 * (inner) 5-tuple hashes to it, and the merge that puts their handshake
 * records back in the order one flow table makes them.
 *
 * Files.  The calling thread is the reader: it reads (capture/pcapfile.c),
 * decodes (a tunnel's inner 5-tuple is what keys a flow, so it must),
 * keeps the capture clock and hashes each TCP packet, symmetrically in its
 * two endpoints, to the worker that owns its flow, and hands it over as the
 * decoded packet, pointing into the read buffer: no packet byte is copied.
 * So the read buffers come from a pool here (W_MAX_CHUNKS of them) and one
 * is read into again only once every worker has handled every packet in it.
 * Each second of capture time every worker gets a tick, at the packet one
 * flow table would have expired its flows at, so each expires the same
 * flows then.  The reader is the one stage everyone waits for, so it does
 * little more than read, decode and hash; but it is one of the N threads,
 * not an extra one: worker 0 is run by the reader itself, batch by batch,
 * and owns the share of the flows that evens the reader's load with the
 * other workers' (reader_share()), so N threads keep N cores busy rather
 * than N + 1 threads taking turns on them.  With many threads that share
 * is none and the reader only reads.
 *
 * (Measured on the way here, busy-FE capture, 2 cores: copying each packet
 * into the worker's batch cost about 25 % more CPU than one thread, and
 * every worker reading the whole file itself about 35 %; passing decoded
 * packets into shared buffers costs the least.  Then the reader as a third
 * thread beside two workers against the reader owning 27 % of the flows
 * beside one worker: medians of 5, interleaved, with nDPI, 1.22 s against
 * 1.04 s, and 0.89 s against 0.82 s in another run; --threads 1 1.54 s
 * and 1.05 s.)
 *
 * A worker's records go out after each batch with the batch's `through`:
 * the last packet the reader had handed to any worker when it sent the
 * batch, so the worker has nothing more to say about anything up to there.
 * The merge delivers, in struct pipe_pos order, each record at or before
 * the smallest `through` of all workers: the order one table makes them
 * in, so the report and every output are the same whatever the number of
 * workers.  Reading a file, worker 1 runs the merge, and so the report,
 * after each of its batches (and at the end until every worker is done):
 * on the reader it was a third of the reader's time on the busy-FE
 * capture (the report's SHA-256 of each certificate, its rules, the JSON),
 * and the reader is the stage everyone waits for (two threads, --no-dpi,
 * medians of 3: 0.39 s with the merge on the reader, 0.25 s on worker 1).
 *
 * Live.  No packet crosses a thread: worker i reads its own capture handle,
 * which the kernel's PACKET_FANOUT gives its share of the flows; the
 * calling thread merges in the order records come and keeps the timers.
 *
 * Each worker has its own flow table, pipeline and nDPI module (nDPI's
 * packet state is in the module; the tables it only reads are not: the
 * other workers' modules are copies of the first worker's that search its
 * tables, dpi_new_like, so it is freed last).  The key store is shared:
 * workers only read it, and a pcapng Decryption Secrets Block is added
 * while they wait (workers_sync), at the same place in the file as for
 * one table.
 *
 * What differs with the number of workers, only at the caps: the flow cap
 * is shared (a worker that finds it reached evicts its own longest-idle
 * flow, not the capture's), the reassembly budget is split between the
 * workers, and the TLS buffer budget (dissect/) is taken in whatever order
 * they ask.
 */
#define _GNU_SOURCE 1               /* sched_getaffinity, CPU_COUNT */
#include "workers.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Small, so that what the reader wrote is still in a cache when the
 * worker reads it: a worker has at most batches x W_BATCH_ITEMS packets
 * waiting, and the reader is at most that far ahead of the slowest.  A
 * batch is 32 KiB, and every one is written in turn, so the queues'
 * memory is what they can hold: W_BATCHES_MAX a worker, fewer with more
 * workers so that all of them together hold at most W_BATCHES_ALL (2 MiB),
 * but never fewer than W_BATCHES_MIN (queue_batches()). */
#define W_BATCH_ITEMS 256             /* packets and ticks in one batch */
#define W_BATCHES_MAX 16
#define W_BATCHES_MIN 4
#define W_BATCHES_ALL 64
#define W_CHUNK_BYTES (1u << 20)      /* a read buffer, as pcapfile.c reads */
#define W_MAX_CHUNKS 16               /* so at most 16 MiB (more only for a
				       * record over 1 MiB) */
#define W_LIVE_BATCH 4096             /* frames a live worker reads at a time */

enum w_kind { W_PKT = 1, W_TICK, W_FINISH };

/* 128 bytes, two cache lines: every one crosses from the reader's core to
 * the worker's.  Of the frame a worker reads only whether the snaplen cut
 * it (capture/flow.c), so only that travels: caplen, len and snaplen. */
struct w_item {
	uint32_t kind;            /* enum w_kind */
	uint32_t caplen;
	uint64_t seq, now_us;
	struct cap_pkt p;         /* points into a pool chunk; frame is NULL */
	uint32_t len, snaplen;
};

static_assert(sizeof(struct w_item) == 128, "a w_item is two cache lines");

struct w_batch {
	struct w_item items[W_BATCH_ITEMS];
	struct w_batch *next;
	uint64_t through;
	unsigned n;
};

/* A read buffer: being read into, or waiting for the workers to be done
 * with packets up to last_seq. */
struct w_chunk {
	uint8_t *data;
	size_t size;
	bool reading;
	uint64_t last_seq;
};

struct worker {
	struct workers *ws;
	unsigned id;
	pthread_t th;
	bool started;
	bool in_reader;           /* files: worker 0, run by the reader itself */
	bool merges;              /* files: worker 1, which runs the merge too */
	struct flow_table *flows;
	struct pipe *pipe;
	struct dpi *dpi;

	/* Batches from the reader: under mx. */
	pthread_mutex_t mx;
	pthread_cond_t can_take, can_give;
	struct w_batch *q_head, *q_tail, *spare;
	uint64_t pushed, handled;

	/* The reader's. */
	struct w_batch *cur;
	uint64_t given_through;

	/* The worker's own. */
	struct cap_source *src;        /* live: its handle */
	struct pipe_record *made, **made_tail;
	struct cap_frame_counts l_frames;   /* live: its decode's */

	/* Published, under workers.mx.  back: records the merge has delivered,
	 * freed by the worker, whose allocator they came from (freeing a
	 * session's many blocks from another thread costs more). */
	struct pipe_record *out, **out_tail, *back;
	uint64_t out_through;
	bool finished;
	struct flow_counters fc;
	struct pipe_counters pc;
	struct cap_frame_counts frames;
	struct cap_stats cs;

	double cpu_s;                  /* the thread's own CPU time, at its end */

	/* The merge's. */
	struct pipe_record *m, **m_tail;
	uint64_t m_through;
	bool m_finished;
};

struct workers {
	struct workers_options o;
	unsigned n;
	struct worker *w;
	pthread_mutex_t mx;
	pthread_cond_t published;
	uint64_t events;               /* publications: under mx */
	uint64_t seen;                 /* the merge's */
	_Atomic uint64_t active;       /* flows of all tables: the shared cap */
	struct dpi *dpi_lender;        /* the first worker's: the others search its
					* tables (dpi_new_like), so it goes last */
	/* The reader's. */
	struct flow_clock clock;
	uint32_t reader_share;         /* of 2^32: the flows worker 0 (the reader) owns */
	uint64_t dispatched;           /* the last packet handed to a worker */
	unsigned batches;              /* in a worker's queue (queue_batches()) */
	struct w_chunk chunks[W_MAX_CHUNKS];
	unsigned n_chunks;
	bool live;
	atomic_bool stop;
	bool failed;
	char error[512];
};

/* ---- the reader's side --------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* The same for both directions of a flow: the endpoints are combined by
 * xor, which does not care which is which, then mixed.  Reading a file,
 * worker 0 is the reader and owns reader_share of the flows; the threads
 * the rest, evenly. */
static unsigned owner(const struct workers *ws, const struct cap_pkt *p)
{
	uint64_t a[2], b[2];
	memcpy(a, p->src, 16);
	memcpy(b, p->dst, 16);
	uint64_t h = (a[0] ^ b[0]) ^ mix64(a[1] ^ b[1]) ^ ((uint64_t)(p->sport ^ p->dport) << 48 |
						    (uint64_t)p->ipv << 40);
	h = mix64(h);
	if (!ws->w[0].in_reader)
		return (unsigned)(h % ws->n);
	if ((uint32_t)(h >> 32) < ws->reader_share)
		return 0;
	return 1 + (unsigned)((uint32_t)h % (ws->n - 1));
}

static bool handle(struct worker *w, struct w_batch *b);
static void publish(struct worker *w, uint64_t through, bool finished);
static void merge_files(struct workers *ws, int wait_ms);
static bool all_finished(struct workers *ws);

static void push(struct worker *w, uint64_t through)
{
	struct w_batch *b = w->cur;
	w->cur = NULL;
	b->through = through;
	b->next = NULL;
	w->given_through = through;
	if (w->in_reader) {
		/* Handled here and now: nothing to queue, nobody to wake. */
		bool finished = handle(w, b);
		publish(w, finished ? UINT64_MAX : through, finished);
		b->next = w->spare;
		w->spare = b;
		w->pushed++;
		w->handled++;
		return;
	}
	pthread_mutex_lock(&w->mx);
	if (w->q_tail)
		w->q_tail->next = b;
	else
		w->q_head = b;
	w->q_tail = b;
	w->pushed++;
	pthread_cond_signal(&w->can_take);
	pthread_mutex_unlock(&w->mx);
}

static void take_spare(struct worker *w)
{
	pthread_mutex_lock(&w->mx);
	while (!w->spare)
		pthread_cond_wait(&w->can_give, &w->mx);
	w->cur = w->spare;
	w->spare = w->cur->next;
	pthread_mutex_unlock(&w->mx);
	w->cur->n = 0;
	w->cur->next = NULL;
}

static struct w_item *item(struct worker *w, enum w_kind kind, uint64_t seq, uint64_t now_us)
{
	if (w->cur && w->cur->n == W_BATCH_ITEMS)
		push(w, w->ws->dispatched);
	if (!w->cur)
		take_spare(w);
	struct w_item *it = &w->cur->items[w->cur->n++];
	it->kind = kind;
	it->seq = seq;
	it->now_us = now_us;
	return it;
}

void workers_packet(struct workers *ws, const struct cap_pkt *p)
{
	bool due = flow_clock_tick(&ws->clock, p->ts_us);
	uint64_t seq = ws->clock.seq, now = ws->clock.now_us;
	if (due)
		for (unsigned i = 0; i < ws->n; i++)
			item(&ws->w[i], W_TICK, seq, now);
	struct w_item *it = item(&ws->w[owner(ws, p)], W_PKT, seq, now);
	it->p = *p;
	it->p.frame = NULL;
	it->caplen = p->frame ? p->frame->caplen : 0;
	it->len = p->frame ? p->frame->len : 0;
	it->snaplen = p->frame ? p->frame->snaplen : 0;
	ws->dispatched = seq;
}

void workers_flush(struct workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		if (!w->cur && w->given_through == ws->dispatched)
			continue;
		if (!w->cur)
			take_spare(w);
		push(w, ws->dispatched);
	}
}

void workers_sync(struct workers *ws)
{
	workers_flush(ws);
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		pthread_mutex_lock(&w->mx);
		while (w->handled != w->pushed)
			pthread_cond_wait(&w->can_give, &w->mx);
		pthread_mutex_unlock(&w->mx);
	}
}

/* ---- the read buffers ---------------------------------------------------- */

/* The packets every worker has handled: all up to this one. */
static uint64_t handled_by_all(struct workers *ws)
{
	uint64_t t = UINT64_MAX;
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].out_through < t)
			t = ws->w[i].out_through;
	return t;
}

static uint8_t *chunk_get(void *user, size_t *size)
{
	struct workers *ws = user;
	size_t want = *size > W_CHUNK_BYTES ? *size : W_CHUNK_BYTES;
	for (;;) {
		pthread_mutex_lock(&ws->mx);
		uint64_t done = handled_by_all(ws);
		pthread_mutex_unlock(&ws->mx);
		struct w_chunk *c = NULL;
		for (unsigned i = 0; i < ws->n_chunks && !c; i++)
			if (!ws->chunks[i].reading && ws->chunks[i].last_seq <= done)
				c = &ws->chunks[i];
		if (!c && ws->n_chunks < W_MAX_CHUNKS)
			c = &ws->chunks[ws->n_chunks++];
		if (c) {
			if (c->size < want) {
				free(c->data);
				c->size = 0;
				if (!(c->data = malloc(want)))
					return NULL;
				c->size = want;
			}
			c->reading = true;
			*size = c->size;
			return c->data;
		}
		/* Every buffer still holds packets a worker has not handled:
		 * send what waits here, and wait for one to be done. */
		workers_flush(ws);
		pthread_mutex_lock(&ws->mx);
		if (handled_by_all(ws) == done)
			pthread_cond_wait(&ws->published, &ws->mx);
		pthread_mutex_unlock(&ws->mx);
	}
}

/* The reader is past it: free once the workers have handled its packets
 * (all handed out by now, so numbered up to `dispatched`). */
static void chunk_put(void *user, uint8_t *buf)
{
	struct workers *ws = user;
	for (unsigned i = 0; i < ws->n_chunks; i++)
		if (ws->chunks[i].data == buf) {
			ws->chunks[i].reading = false;
			ws->chunks[i].last_seq = ws->dispatched;
		}
}

void workers_source_options(struct workers *ws, struct cap_offline_options *oo)
{
	oo->buf_get = chunk_get;
	oo->buf_put = chunk_put;
	oo->buf_user = ws;
}

/* ---- a worker ------------------------------------------------------------ */

static void release_all(struct pipe_record *r)
{
	for (struct pipe_record *next; r; r = next) {
		next = r->next;
		pipe_record_release(r, true);
	}
}

static void collect(void *user, struct pipe_record *r)
{
	struct worker *w = user;
	struct pipe_record *m = pipe_record_move(r);
	if (!m) {
		fprintf(stderr, "certtrace: out of memory: the handshake of %s:%u is lost\n",
			r->h.server.ip, r->h.server.port);
		return;
	}
	*w->made_tail = m;
	w->made_tail = &m->next;
}

/* The records made so far, and the counters, for the merge. */
static void publish(struct worker *w, uint64_t through, bool finished)
{
	struct workers *ws = w->ws;
	const struct flow_counters *fc = flow_table_counters(w->flows);
	struct cap_stats cs = { 0 };
	if (w->src)
		cap_get_stats(w->src, &cs);
	pthread_mutex_lock(&ws->mx);
	struct pipe_record *back = w->back;
	w->back = NULL;
	if (w->made) {
		*w->out_tail = w->made;
		w->out_tail = w->made_tail;
	}
	w->made = NULL;
	w->made_tail = &w->made;
	w->out_through = through;
	w->finished = finished;
	w->fc = *fc;
	w->pc = *pipe_counters(w->pipe);
	w->frames = w->l_frames;
	if (w->src)
		w->cs = cs;
	ws->events++;
	pthread_cond_broadcast(&ws->published);
	pthread_mutex_unlock(&ws->mx);
	release_all(back);
}

static double thread_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static bool handle(struct worker *w, struct w_batch *b)
{
	bool finished = false;
	for (unsigned i = 0; i < b->n; i++) {
		struct w_item *it = &b->items[i];
		switch (it->kind) {
		case W_PKT: {
			struct cap_frame fr = { .ts_us = it->p.ts_us, .caplen = it->caplen,
						.len = it->len, .snaplen = it->snaplen };
			it->p.frame = &fr;
			pipe_at(w->pipe, it->seq, false);
			flow_table_packet_at(w->flows, &it->p, it->seq, it->now_us);
			break;
		}
		case W_TICK:
			pipe_at(w->pipe, it->seq, true);
			flow_table_expire(w->flows, it->now_us);
			break;
		case W_FINISH:
			pipe_at(w->pipe, UINT64_MAX, true);
			flow_table_finish(w->flows);
			finished = true;
			break;
		}
	}
	return finished;
}

static void *work_files(void *arg)
{
	struct worker *w = arg;
	for (bool finished = false; !finished;) {
		pthread_mutex_lock(&w->mx);
		while (!w->q_head)
			pthread_cond_wait(&w->can_take, &w->mx);
		struct w_batch *b = w->q_head;
		if (!(w->q_head = b->next))
			w->q_tail = NULL;
		pthread_mutex_unlock(&w->mx);

		finished = handle(w, b);
		publish(w, finished ? UINT64_MAX : b->through, finished);
		if (w->merges) {
			merge_files(w->ws, 0);
			/* The others' last records: until every worker is done
			 * (or the workers are being torn down after a failed
			 * start, when some never ran). */
			while (finished && !all_finished(w->ws) && !atomic_load(&w->ws->stop))
				merge_files(w->ws, 100);
		}

		pthread_mutex_lock(&w->mx);
		b->next = w->spare;
		w->spare = b;
		w->handled++;
		pthread_cond_broadcast(&w->can_give);
		pthread_mutex_unlock(&w->mx);
	}
	w->cpu_s = thread_cpu_s();
	return NULL;
}

static void on_live_frame(void *user, const struct cap_frame *fr)
{
	struct worker *w = user;
	struct cap_pkt p;
	const char *why;
	enum cap_decode_result dr = cap_decode_counted(&w->l_frames, fr, &p, &why);
	if (dr == CAP_TCP)
		flow_table_packet(w->flows, &p);
	else if (dr == CAP_MALFORMED && w->ws->o.pipe.verbose > 0)
		fprintf(stderr, "certtrace: packet %llu skipped: %s\n",
			(unsigned long long)w->l_frames.packets, why);
}

static void *work_live(void *arg)
{
	struct worker *w = arg;
	struct workers *ws = w->ws;
	while (!atomic_load(&ws->stop)) {
		int n = cap_next_batch(w->src, W_LIVE_BATCH, on_live_frame, w);
		if (n == -2) {
			pthread_mutex_lock(&ws->mx);
			if (!ws->failed)
				snprintf(ws->error, sizeof ws->error, "%s", cap_error(w->src));
			ws->failed = true;
			pthread_mutex_unlock(&ws->mx);
			break;
		}
		/* Capture time stands still when nothing arrives: the wall
		 * clock closes lingering flows so their events appear. */
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		flow_table_expire(w->flows, (uint64_t)rt.tv_sec * 1000000u +
					    (uint64_t)rt.tv_nsec / 1000u);
		publish(w, 0, false);
	}
	flow_table_finish(w->flows);
	publish(w, UINT64_MAX, true);
	w->cpu_s = thread_cpu_s();
	return NULL;
}

/* ---- the merge ----------------------------------------------------------- */

static int pos_cmp(const struct pipe_pos *a, const struct pipe_pos *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return 0;
}

/* The record to the report; it goes back to its worker to be freed. */
static void deliver(struct workers *ws, struct worker *w, struct pipe_record **back)
{
	struct pipe_record *r = w->m;
	if (!(w->m = r->next))
		w->m_tail = &w->m;
	ws->o.deliver(ws->o.user, r);
	r->next = *back;
	*back = r;
}

static void give_back(struct workers *ws, struct pipe_record **back)
{
	pthread_mutex_lock(&ws->mx);
	for (unsigned i = 0; i < ws->n; i++) {
		if (!back[i])
			continue;
		struct pipe_record *last = back[i];
		while (last->next)
			last = last->next;
		last->next = ws->w[i].back;
		ws->w[i].back = back[i];
		back[i] = NULL;
	}
	pthread_mutex_unlock(&ws->mx);
}

/* What the workers published, to the merge's lists; false once a live
 * worker has failed.  With wait_ms, waits that long for something new. */
static bool take_published(struct workers *ws, int wait_ms)
{
	pthread_mutex_lock(&ws->mx);
	if (ws->events == ws->seen && wait_ms > 0) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&ws->published, &ws->mx, &until);
	}
	ws->seen = ws->events;
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		if (w->out) {
			*w->m_tail = w->out;
			w->m_tail = w->out_tail;
		}
		w->out = NULL;
		w->out_tail = &w->out;
		w->m_through = w->out_through;
		w->m_finished = w->finished;
	}
	bool ok = !ws->failed;
	pthread_mutex_unlock(&ws->mx);
	return ok;
}

/* Files, on the merging worker's thread: every record whose place is
 * known, in order, after waiting up to wait_ms for news if there was none. */
static void merge_files(struct workers *ws, int wait_ms)
{
	take_published(ws, wait_ms);
	struct pipe_record *back[WORKERS_MAX] = { 0 };
	uint64_t through = UINT64_MAX;
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].m_through < through)
			through = ws->w[i].m_through;
	for (;;) {
		struct worker *best = NULL;
		for (unsigned i = 0; i < ws->n; i++) {
			struct worker *w = &ws->w[i];
			if (w->m && w->m->pos.seq <= through &&
			    (!best || pos_cmp(&w->m->pos, &best->m->pos) < 0))
				best = w;
		}
		if (!best)
			break;
		deliver(ws, best, &back[best->id]);
	}
	give_back(ws, back);
}

bool workers_merge(struct workers *ws, int wait_ms)
{
	if (!ws->live)
		return true;            /* worker 1 merges; no file read fails it */
	bool ok = take_published(ws, wait_ms);
	struct pipe_record *back[WORKERS_MAX] = { 0 };
	for (unsigned i = 0; i < ws->n; i++)
		while (ws->w[i].m)
			deliver(ws, &ws->w[i], &back[i]);
	give_back(ws, back);
	return ok;
}

const char *workers_error(const struct workers *ws)
{
	return ws->failed ? ws->error : NULL;
}

static bool all_finished(struct workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (!ws->w[i].m_finished || ws->w[i].m)
			return false;
	return true;
}

static void join(struct workers *ws)
{
	bool joined = false;
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].started) {
			pthread_join(ws->w[i].th, NULL);
			ws->w[i].started = false;
			joined = true;
		}
	/* -v: where the time went, to see whether the workers or the
	 * reader (this thread) held the others up. */
	if (!joined || ws->o.pipe.verbose <= 0)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		const struct worker *w = &ws->w[i];
		if (w->in_reader)
			fprintf(stderr, "certtrace: worker %u, in the reader: %llu flows, "
				"%llu handshakes\n", i, (unsigned long long)w->fc.flows,
				(unsigned long long)w->pc.handshakes);
		else
			fprintf(stderr, "certtrace: worker %u%s: %.2f s CPU, %llu flows, "
				"%llu handshakes\n", i, w->merges ? " and the merge" : "",
				w->cpu_s, (unsigned long long)w->fc.flows,
				(unsigned long long)w->pc.handshakes);
	}
	fprintf(stderr, "certtrace: %s: %.2f s CPU so far\n",
		ws->live ? "merge and timers" : "reader", thread_cpu_s());
}

/* Files: the last batch each worker gets says the input is over. */
static void tell_finish(struct workers *ws)
{
	for (unsigned i = 0; !ws->live && i < ws->n; i++)
		if (ws->w[i].started || (ws->w[i].in_reader && !ws->w[i].finished)) {
			item(&ws->w[i], W_FINISH, UINT64_MAX, ws->clock.now_us);
			push(&ws->w[i], UINT64_MAX);
		}
}

void workers_finish(struct workers *ws)
{
	if (ws->live) {
		workers_stop(ws);
		return;
	}
	tell_finish(ws);
	join(ws);                  /* the merging worker ends once all is delivered */
}

void workers_break(struct workers *ws)
{
	atomic_store(&ws->stop, true);
	pthread_mutex_lock(&ws->mx);
	pthread_cond_broadcast(&ws->published);   /* keep_pace() */
	pthread_mutex_unlock(&ws->mx);
	for (unsigned i = 0; ws->live && i < ws->n; i++)
		if (ws->w[i].started)   /* joined ones may have their handle closed */
			cap_break(ws->w[i].src);
}

void workers_stop(struct workers *ws)
{
	workers_break(ws);
	while (!all_finished(ws))
		workers_merge(ws, 100);
	join(ws);
}

void workers_counters(struct workers *ws, struct workers_counters *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_lock(&ws->mx);
	for (unsigned i = 0; i < ws->n; i++) {
		const struct worker *w = &ws->w[i];
		struct flow_counters *f = &c->flows;
		f->packets += w->fc.packets;
		f->flows += w->fc.flows;
		f->active += w->fc.active;
		f->peak_active += w->fc.peak_active;
		f->consumers_live += w->fc.consumers_live;
		f->evicted += w->fc.evicted;
		f->expired += w->fc.expired;
		f->closed += w->fc.closed;
		f->syn_missed += w->fc.syn_missed;
		f->gaps += w->fc.gaps;
		f->gap_bytes += w->fc.gap_bytes;
		f->ooo_segments += w->fc.ooo_segments;
		f->retransmitted_bytes += w->fc.retransmitted_bytes;
		f->buffered_bytes += w->fc.buffered_bytes;
		f->peak_buffered_bytes += w->fc.peak_buffered_bytes;
		f->done_packets += w->fc.done_packets;
		c->pipe.handshakes += w->pc.handshakes;
		c->pipe.dpi_detection_misses += w->pc.dpi_detection_misses;
		c->pipe.dpi_disagreements += w->pc.dpi_disagreements;
		/* Live: each decodes its own packets (files: the reader does). */
		cap_frame_counts_add(&c->frames, &w->frames);
		cap_stats_add(&c->cap, &w->cs);
	}
	pthread_mutex_unlock(&ws->mx);
}

/* ---- making and freeing -------------------------------------------------- */

unsigned workers_default(void)
{
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
	return n < 1 ? 1 : n > WORKERS_DEFAULT_MAX ? WORKERS_DEFAULT_MAX : (unsigned)n;
}

static bool worker_init(struct workers *ws, struct worker *w, unsigned id, char *err,
			size_t errlen)
{
	w->ws = ws;
	w->id = id;
	w->made_tail = &w->made;
	w->out_tail = &w->out;
	w->m_tail = &w->m;
	pthread_mutex_init(&w->mx, NULL);
	pthread_cond_init(&w->can_take, NULL);
	pthread_cond_init(&w->can_give, NULL);
	for (unsigned i = 0; !ws->live && i < (w->in_reader ? 1 : ws->batches); i++) {
		/* Items on cache-line boundaries: two lines each. */
		struct w_batch *b = aligned_alloc(64, (sizeof *b + 63) & ~(size_t)63);
		if (!b) {
			snprintf(err, errlen, "out of memory for worker %u", id);
			return false;
		}
		b->next = w->spare;
		w->spare = b;
	}
	/* A reader that owns no flow (reader_share() is 0) needs no nDPI. */
	bool owns = !w->in_reader || ws->reader_share > 0;
	if (ws->o.dpi && owns) {
		w->dpi = ws->dpi_lender ? dpi_new_like(ws->dpi_lender, err, errlen)
					: dpi_new(ws->o.pipe.dpi_check, err, errlen);
		if (!w->dpi)
			return false;
		if (!ws->dpi_lender)
			ws->dpi_lender = w->dpi;
	}
	struct pipe_options po = ws->o.pipe;
	po.dpi = w->dpi;
	po.emit = collect;
	po.user = w;
	if (!(w->pipe = pipe_new(&po))) {
		snprintf(err, errlen, "out of memory for worker %u", id);
		return false;
	}
	struct flow_options fo = ws->o.flows;
	fo.max_total_buffer_bytes /= ws->n;
	if (!(w->flows = flow_table_new(&fo, pipe_consumer(w->pipe)))) {
		snprintf(err, errlen, "out of memory for worker %u's flow table", id);
		return false;
	}
	flow_table_share_cap(w->flows, &ws->active);
	pipe_set_flows(w->pipe, w->flows);
	return true;
}

/* A thread would not start: those that did end (they hold no flow yet). */
static void abort_start(struct workers *ws)
{
	atomic_store(&ws->stop, true);     /* the merging worker waits for no one */
	if (ws->live)
		workers_break(ws);
	else
		tell_finish(ws);
	join(ws);
	workers_free(ws);
}

/*
 * Reading a file, the reader is one of the N threads and owns a share of
 * the flows itself, so that N threads keep N cores busy instead of N + 1
 * sharing them.  Its share is what balances its reading against the flows'
 * work: if reading, decoding and hashing the packets costs r and the flows'
 * work (with the merge and the report, on worker 1) f, then
 * r + s f = (1 - s) f / (N - 1), s = (F - (N - 1)) / (N F) with F = f / r,
 * none once the reading alone is a thread's share.  F is taken from the
 * share that gave the shortest wall time with two threads on the bench
 * captures (2 cores, medians of 3, F = 1 / (1 - 2 s)):
 *
 *              share:  0     0.1   0.2   0.3   0.4   0.5
 *   busy-FE, nDPI     0.68  0.60  0.55  0.49  0.45  0.51 s
 *   flood, nDPI       1.07  0.96  0.84  0.81  0.74  0.79 s
 *   busy-FE, --no-dpi 0.23  0.24  0.27  0.29  0.29        s
 *   flood, --no-dpi   0.95  0.86  0.75  0.70  0.72        s
 *
 * and then, finer (medians of 15 and 9, once the workers' nDPI modules
 * shared one IP table):
 *
 *              share:  0.36  0.38  0.40  0.42
 *   busy-FE, nDPI     0.480 0.469 0.477 0.484 s
 *   flood, nDPI       0.720 0.722 0.742 0.739 s
 *
 * With nDPI 0.38 is best on both (F = 4.2: 17 % of the flows with three
 * threads, 7 % with four, 1 % with five, none from six up).  Without
 * it the two disagree (busy-FE is all reading, the flood all flow-table
 * work): 0.15 (F = 1.4, none from three threads up) costs each about 8 %.
 */
static uint32_t reader_share(unsigned n, bool dpi)
{
	const double f = dpi ? 4.2 : 1.0 / 0.7;
	double s = (f - (n - 1)) / (n * f);
	return s <= 0 ? 0 : (uint32_t)(s * 4294967296.0);
}

/*
 * Fewer batches a worker only once there are more workers than cores
 * here, where it costs no time: busy-FE capture, 2 cores, nDPI, medians of
 * 5, wall s and peak RSS for 16, 8 and 4 batches a worker:
 *
 *    2 threads  0.43 s 21 MiB   0.43 s 20 MiB   0.50 s 19 MiB
 *    3 threads  0.53 s 29 MiB   0.54 s 23 MiB   0.57 s 20 MiB
 *    8 threads  0.51 s 41 MiB   0.50 s 33 MiB   0.51 s 27 MiB
 *   16 threads  0.51 s 46 MiB   0.51 s 44 MiB   0.52 s 36 MiB
 *   64 threads  0.66 s 67 MiB   0.63 s 63 MiB   0.62 s 54 MiB
 *
 * (--no-dpi, 2 threads: 0.25, 0.26 and 0.33 s: with little work a batch,
 * a short queue leaves the reader waiting.)
 */
static unsigned queue_batches(unsigned n)
{
	unsigned b = W_BATCHES_ALL / (n - 1);  /* n - 1 queues: the reader has none */
	return b > W_BATCHES_MAX ? W_BATCHES_MAX : b < W_BATCHES_MIN ? W_BATCHES_MIN : b;
}

struct workers *workers_new(const struct workers_options *o, char *err, size_t errlen)
{
	struct workers *ws = calloc(1, sizeof *ws);
	if (!ws || o->n < 2 || o->n > WORKERS_MAX ||
	    !(ws->w = calloc(o->n, sizeof *ws->w))) {
		snprintf(err, errlen, "cannot start %u workers", o->n);
		free(ws);
		return NULL;
	}
	ws->o = *o;
	ws->n = o->n;
	ws->live = o->live != NULL;
	pthread_mutex_init(&ws->mx, NULL);
	pthread_cond_init(&ws->published, NULL);
	if (!ws->live) {
		ws->w[0].in_reader = true;
		ws->w[1].merges = true;
		ws->reader_share = reader_share(ws->n, o->dpi);
		ws->batches = queue_batches(ws->n);
	}
	for (unsigned i = 0; i < ws->n; i++) {
		ws->w[i].src = o->live ? o->live[i] : NULL;
		if (!worker_init(ws, &ws->w[i], i, err, errlen)) {
			workers_free(ws);
			return NULL;
		}
	}
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		if (w->in_reader)
			continue;
		int e = pthread_create(&w->th, NULL, ws->live ? work_live : work_files, w);
		if (e) {
			snprintf(err, errlen, "cannot start worker %u: %s", i, strerror(e));
			abort_start(ws);
			return NULL;
		}
		w->started = true;
		char name[16];         /* top -H, perf: which thread is which */
		snprintf(name, sizeof name, "certtrace/w%u", i % 100u);
		pthread_setname_np(w->th, name);
	}
	return ws;
}

void workers_free(struct workers *ws)
{
	if (!ws)
		return;
	if (ws->live)
		workers_break(ws);
	else
		tell_finish(ws);
	join(ws);
	for (unsigned i = 0; i < ws->n_chunks; i++)
		free(ws->chunks[i].data);
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		/* After workers_finish() or workers_stop() nothing is left; in
		 * the error paths what is left is not delivered. */
		flow_table_free(w->flows);
		release_all(w->made);
		release_all(w->out);
		release_all(w->m);
		release_all(w->back);
		pipe_free(w->pipe);
		if (w->dpi != ws->dpi_lender)
			dpi_free(w->dpi);
		/* Back from the worker, or never given out. */
		struct w_batch *lists[3] = { w->spare, w->q_head, w->cur };
		for (unsigned k = 0; k < 3; k++)
			for (struct w_batch *b = lists[k], *next; b; b = next) {
				next = k == 2 ? NULL : b->next;
				free(b);
			}
		pthread_mutex_destroy(&w->mx);
		pthread_cond_destroy(&w->can_take);
		pthread_cond_destroy(&w->can_give);
	}
	dpi_free(ws->dpi_lender);
	pthread_mutex_destroy(&ws->mx);
	pthread_cond_destroy(&ws->published);
	free(ws->w);
	free(ws);
}
