/*
 * pipeline.h -- a flow's way from the flow table to a handshake record: the
 * flow consumer that feeds our TLS dissector and nDPI, and at the flow's
 * close makes the report's record of it.
 *
 * One pipeline per flow table: certtrace has one, or with --threads one per
 * worker (workers.c), each with its own table, its own nDPI module (nDPI's
 * is not shared between threads) and the run's key store (read only while
 * workers run).  What a pipeline makes goes to its emit function; nothing
 * here touches the report.
 */
#ifndef CERTTRACE_PIPELINE_H
#define CERTTRACE_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"
#include "dissect/dpi.h"
#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "report/report.h"

/* Live --keylog: flows whose TLS 1.3 secrets may still come (each keeps up
 * to 2 x TLS13_KEY_WAIT_BYTES, so 128 MiB at the cap).  Past it a new one
 * does not wait: its certificates stay hidden, as without a key log. */
#define PIPE_MAX_KEY_WAITS 1024

/* Where in the capture a record was made, so that records made by several
 * workers can be put back in the order one pipeline would have made them
 * (workers.c).  seq is the flow_clock number of the packet being handled, or
 * of the one before which flows were expired, UINT64_MAX at the end; then
 * flows closed by a FIN or RST (their list is expired first) before idle
 * ones, each list in flow_seq() order; records made while one packet is
 * handled are in the order they were made (n). */
enum pipe_phase { PIPE_AT_CLOSING = 0, PIPE_AT_IDLE = 1, PIPE_AT_PACKET = 2 };
struct pipe_pos {
	uint64_t seq;
	enum pipe_phase phase;
	uint64_t n;               /* flow_seq(), or the count within a packet */
};

struct pipe_record {
	struct rep_handshake h;
	struct tls_conn *tls;     /* holds what h points into (NULL once moved) */
	char app[DPI_APP_LEN];    /* h.app points here (before a move) */
	struct pipe_pos pos;
	struct pipe_record *next;
};

struct pipe;
/* r is lent for the call (it is on the pipeline's stack): to keep it,
 * pipe_record_move() it. */
typedef void (*pipe_emit_fn)(void *user, struct pipe_record *r);

struct pipe_options {
	struct dpi *dpi;          /* NULL: no nDPI (--no-dpi) */
	bool dpi_check;           /* nDPI on every flow, misses counted */
	struct kl_store *keys;    /* may be NULL */
	bool keys_follow;         /* live --keylog: TLS 1.3 flows may wait */
	int verbose;
	pipe_emit_fn emit;
	void *user;
};

struct pipe_counters {
	uint64_t handshakes;
	uint64_t dpi_detection_misses;   /* nDPI says TLS, we found no handshake */
	uint64_t dpi_disagreements;      /* on the server leaf */
};

struct pipe *pipe_new(const struct pipe_options *o);
void pipe_free(struct pipe *p);
/* The consumer to give flow_table_new() (its ctx is p). */
const struct flow_consumer *pipe_consumer(struct pipe *p);
/* The table the consumer was given to, for pipe_retry_keys(). */
void pipe_set_flows(struct pipe *p, struct flow_table *flows);
/* What the next records are made at: the caller says before it hands the
 * table packet seq, or (sweep) before it expires flows ahead of packet seq
 * or finishes the table (seq UINT64_MAX). */
void pipe_at(struct pipe *p, uint64_t seq, bool sweep);
const struct pipe_counters *pipe_counters(const struct pipe *p);
/* Live --keylog: new secrets were read; the flows waiting try again, and
 * those they settle are closed (their records emitted) at once. */
void pipe_retry_keys(struct pipe *p);

/* A copy of r on the heap in one block, with every string and DER block it
 * points to (the session is freed: r holds nothing after), for
 * pipe_record_release(m, true) later; NULL when out of memory (r stays as
 * it was).  nDPI's risk names are its static strings and stay shared. */
struct pipe_record *pipe_record_move(struct pipe_record *r);
/* Frees what r holds (its session) and, if it came from pipe_record_move(), r. */
void pipe_record_release(struct pipe_record *r, bool heap);

#endif
