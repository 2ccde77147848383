/*
 * reasm.c — TCP reassembly of one direction.
 *
 * In-order bytes go to the consumer straight from the packet buffer; only a
 * segment that arrives ahead of a hole is copied, into a list sorted by
 * sequence number.  Sequence numbers are compared as signed 32-bit
 * differences, so wrap-around at 2^32 needs no special case.
 *
 * Retransmissions and overlaps: the first copy delivered wins.  Bytes at or
 * below next_seq were already handed over and are skipped in any later
 * segment; among buffered segments the lower sequence number is delivered
 * first and the overlapping part of the next one is trimmed.
 *
 * Holes: a hole is reported to the consumer as a gap (i) when the peer's ACK
 * shows it received bytes beyond the hole that the capture never saw,
 * (ii) when this direction's buffer would pass its cap (max_dir_bytes,
 * default 256 KiB) or the table's (max_total_bytes), and (iii) at the end
 * of the flow.  So memory per direction and per process is bounded, and a
 * lost segment costs one "gap" instead of stalling the flow forever.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/reasm.h"

struct reasm_seg {
	struct reasm_seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void reasm_syn(struct reasm_dir *d, uint32_t isn)
{
	if (d->started)
		return;
	d->next_seq = isn + 1;
	d->started = true;
}

static void seg_free(struct reasm_dir *d, struct reasm_budget *b, struct reasm_seg *g)
{
	d->ooo_bytes -= g->len;
	b->used_bytes -= g->len;
	free(g);
}

/* Hand over the in-order part of [seq, seq+len) and advance. */
static enum flow_verdict deliver(struct reasm_dir *d, struct reasm_budget *b,
				 uint32_t seq, const uint8_t *p, uint32_t len,
				 const struct reasm_sink *s)
{
	int32_t off = seq_diff(seq, d->next_seq);
	if (off > 0)
		return FLOW_MORE;         /* not in order: caller's bug, ignore */
	/* How far behind, in unsigned arithmetic: -off overflows when the
	 * segment is exactly 2^31 behind (off == INT32_MIN). */
	uint32_t skip = d->next_seq - seq;
	if (skip >= len) {
		b->retransmitted_bytes += len;
		return FLOW_MORE;
	}
	b->retransmitted_bytes += skip;
	d->next_seq += len - skip;
	return s->data(s->ctx, p + skip, len - skip);
}

/* Deliver buffered segments that the stream has caught up with. */
static enum flow_verdict drain(struct reasm_dir *d, struct reasm_budget *b,
			       const struct reasm_sink *s)
{
	while (d->ooo && seq_diff(d->ooo->seq, d->next_seq) <= 0) {
		struct reasm_seg *g = d->ooo;
		d->ooo = g->next;
		enum flow_verdict v = deliver(d, b, g->seq, g->data, g->len, s);
		seg_free(d, b, g);
		if (v == FLOW_DONE)
			return v;
	}
	return FLOW_MORE;
}

/* Give up on the hole before the first buffered segment. */
static enum flow_verdict skip_hole(struct reasm_dir *d, struct reasm_budget *b,
				   const struct reasm_sink *s)
{
	if (!d->ooo)
		return FLOW_MORE;
	int32_t hole = seq_diff(d->ooo->seq, d->next_seq);
	if (hole > 0) {
		b->gaps++;
		b->gap_bytes += (uint32_t)hole;
		d->next_seq = d->ooo->seq;
		if (s->gap(s->ctx, (uint32_t)hole) == FLOW_DONE)
			return FLOW_DONE;
	}
	return drain(d, b, s);
}

static void buffer_segment(struct reasm_dir *d, struct reasm_budget *b, uint32_t seq,
			   const uint8_t *p, uint32_t len)
{
	struct reasm_seg **at = &d->ooo;
	/* After equal sequence numbers: the first copy stays first. */
	while (*at && seq_diff((*at)->seq, seq) <= 0) {
		if ((*at)->seq == seq && (*at)->len >= len) {
			b->retransmitted_bytes += len;
			return;
		}
		at = &(*at)->next;
	}
	struct reasm_seg *g = malloc(sizeof *g + len);
	if (!g)
		return;                   /* counted as a gap when the hole is skipped */
	g->seq = seq;
	g->len = len;
	memcpy(g->data, p, len);
	g->next = *at;
	*at = g;
	d->ooo_bytes += len;
	b->used_bytes += len;
	if (b->used_bytes > b->peak_bytes)
		b->peak_bytes = b->used_bytes;
	b->ooo_segments++;
}

enum flow_verdict reasm_segment(struct reasm_dir *d, struct reasm_budget *b,
				uint32_t seq, const uint8_t *p, uint32_t present,
				uint32_t wire, const struct reasm_sink *s)
{
	if (wire == 0)
		return FLOW_MORE;
	if (!d->started) {
		/* Picked up mid-stream: the first byte we see starts the stream. */
		d->next_seq = seq;
		d->started = true;
	}
	int32_t off = seq_diff(seq, d->next_seq);
	if (off > 0) {
		/* Ahead of a hole.  Make room first if the caps say so. */
		while (d->ooo && (d->ooo_bytes + present > b->max_dir_bytes ||
				  b->used_bytes + present > b->max_total_bytes)) {
			if (skip_hole(d, b, s) == FLOW_DONE)
				return FLOW_DONE;
			off = seq_diff(seq, d->next_seq);
			if (off <= 0)
				break;
		}
		if (off > 0) {
			if (present + d->ooo_bytes <= b->max_dir_bytes &&
			    b->used_bytes + present <= b->max_total_bytes) {
				buffer_segment(d, b, seq, p, present);
				return FLOW_MORE;
			}
			/* Larger than the whole buffer: skip the hole to it. */
			b->gaps++;
			b->gap_bytes += (uint32_t)off;
			d->next_seq = seq;
			if (s->gap(s->ctx, (uint32_t)off) == FLOW_DONE)
				return FLOW_DONE;
		}
	}
	if (deliver(d, b, seq, p, present, s) == FLOW_DONE)
		return FLOW_DONE;
	if (present < wire) {
		/* The snaplen cut this segment: its tail is a gap. */
		int32_t end = seq_diff(seq + wire, d->next_seq);
		if (end > 0) {
			b->gaps++;
			b->gap_bytes += (uint32_t)end;
			d->next_seq += (uint32_t)end;
			if (s->gap(s->ctx, (uint32_t)end) == FLOW_DONE)
				return FLOW_DONE;
		}
	}
	return drain(d, b, s);
}

enum flow_verdict reasm_peer_ack(struct reasm_dir *d, struct reasm_budget *b,
				 uint32_t ack, const struct reasm_sink *s)
{
	/* The peer has bytes past the start of our first buffered segment:
	 * it received the hole, the capture did not. */
	while (d->started && d->ooo && seq_diff(ack, d->ooo->seq) > 0)
		if (skip_hole(d, b, s) == FLOW_DONE)
			return FLOW_DONE;
	return FLOW_MORE;
}

enum flow_verdict reasm_flush(struct reasm_dir *d, struct reasm_budget *b,
			      const struct reasm_sink *s)
{
	while (d->ooo)
		if (skip_hole(d, b, s) == FLOW_DONE)
			return FLOW_DONE;
	return FLOW_MORE;
}

void reasm_release(struct reasm_dir *d, struct reasm_budget *b)
{
	while (d->ooo) {
		struct reasm_seg *g = d->ooo;
		d->ooo = g->next;
		seg_free(d, b, g);
	}
}
