/*
 * workers.h -- certtrace --threads: flows split between worker threads by a
 * symmetric hash of their (inner) 5-tuple, each worker with its own flow
 * table and pipeline (pipeline.h), and the handshake records put back in the
 * order one thread would have made them before the report sees them.
 *
 * Files: the calling thread reads, decodes and hashes (workers_packet);
 * worker 1's thread merges and delivers.  Live: each worker reads its own
 * capture handle (the kernel's PACKET_FANOUT splits the traffic), and the
 * calling thread only merges (workers_merge) and keeps the timers.
 */
#ifndef CERTTRACE_WORKERS_H
#define CERTTRACE_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"
#include "pipeline.h"

#define WORKERS_MAX 64
#define WORKERS_DEFAULT_MAX 16

/* --threads' default: the cores this process may run on (its CPU affinity,
 * so taskset and cgroup cpusets count), at most WORKERS_DEFAULT_MAX. */
unsigned workers_default(void);

struct workers;

struct workers_options {
	unsigned n;                    /* 2 .. WORKERS_MAX */
	struct flow_options flows;     /* max_flows is for all workers together;
					* the buffer budget is split between them */
	bool dpi;                      /* an nDPI module per worker */
	struct pipe_options pipe;      /* dpi, emit and user are the workers' */
	/* Records, in order; lent for the call (their worker frees them).
	 * Files: on worker 1's thread, never while workers_sync() holds the
	 * workers; live: on the thread that calls workers_merge(). */
	pipe_emit_fn deliver;
	void *user;
	/* Live: worker i reads live[i] (NULL for files). */
	struct cap_source **live;
};

/* NULL with a reason in err; nothing runs yet for files, the live workers
 * start reading at once. */
struct workers *workers_new(const struct workers_options *o, char *err, size_t errlen);

/* Files, on the reading thread.  The read buffers for a file's source:
 * its frames stay valid while workers still hold packets from them. */
void workers_source_options(struct workers *ws, struct cap_offline_options *oo);
/* One decoded TCP packet (CAP_TCP) to the worker that owns its flow.  May
 * wait for that worker (its queue is bounded). */
void workers_packet(struct workers *ws, const struct cap_pkt *p);
/* What was handed out goes to the workers now (at the end of a read
 * batch), so their progress, and the merge, do not lag behind. */
void workers_flush(struct workers *ws);
/* Waits until every worker has handled everything handed out, so the
 * caller may change what they read (the key store). */
void workers_sync(struct workers *ws);
/* End of input: every worker closes its flows; returns once every record
 * has been delivered. */
void workers_finish(struct workers *ws);

/* Live: delivers every record that has come; waits up to wait_ms (0: not
 * at all) for some when there are none.  False once a live worker has
 * stopped on a read error (workers_error).  Files: nothing to do (worker
 * 1 delivers), true. */
bool workers_merge(struct workers *w, int wait_ms);
const char *workers_error(const struct workers *w);
/* Live: workers stop reading (from a signal handler too), and are joined. */
void workers_break(struct workers *w);
void workers_stop(struct workers *w);

/* The sums over the workers, as of their last published batch. */
struct workers_counters {
	struct flow_counters flows;
	struct pipe_counters pipe;
	/* Live: what the workers' decode counted, and their handles' kernel
	 * counters, summed. */
	struct cap_frame_counts frames;
	struct cap_stats cap;
};
void workers_counters(struct workers *w, struct workers_counters *c);

void workers_free(struct workers *w);

#endif
