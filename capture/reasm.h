/*
 * reasm.h — TCP reassembly of one direction (private to capture/).
 */
#ifndef CERTTRACE_REASM_H
#define CERTTRACE_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/capture.h"

struct reasm_seg;

struct reasm_dir {
	uint32_t next_seq;        /* the next byte the consumer expects */
	bool started;
	uint32_t ooo_bytes;       /* buffered out-of-order bytes */
	struct reasm_seg *ooo;    /* sorted by sequence, relative to next_seq */
};

/* Limits and counters shared by every direction of a table. */
struct reasm_budget {
	uint32_t max_dir_bytes;
	uint64_t max_total_bytes;
	uint64_t used_bytes, peak_bytes;
	uint64_t gaps, gap_bytes, ooo_segments, retransmitted_bytes;
};

/* Where reassembled bytes go.  A DONE from either callback stops delivery. */
struct reasm_sink {
	enum flow_verdict (*data)(void *ctx, const uint8_t *p, size_t n);
	enum flow_verdict (*gap)(void *ctx, uint64_t missing);
	void *ctx;
};

/* The direction's initial sequence number, from its SYN. */
void reasm_syn(struct reasm_dir *d, uint32_t isn);

/* One segment: `present` bytes at p of the `wire` bytes it carried. */
enum flow_verdict reasm_segment(struct reasm_dir *d, struct reasm_budget *b,
				uint32_t seq, const uint8_t *p, uint32_t present,
				uint32_t wire, const struct reasm_sink *s);

/* The peer acknowledged up to `ack`: a hole below buffered data that the
 * peer received was lost by the capture, so report it now. */
enum flow_verdict reasm_peer_ack(struct reasm_dir *d, struct reasm_budget *b,
				 uint32_t ack, const struct reasm_sink *s);

/* No more segments: deliver what is buffered, with gaps for the holes. */
enum flow_verdict reasm_flush(struct reasm_dir *d, struct reasm_budget *b,
			      const struct reasm_sink *s);

/* Drop everything buffered (the consumer lost interest). */
void reasm_release(struct reasm_dir *d, struct reasm_budget *b);

#endif
