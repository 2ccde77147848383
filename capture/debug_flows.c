/*
 * debug_flows.c — a flow consumer that prints, per TCP flow, the bytes
 * reassembled in each direction, the gaps, and whether the SYN was seen
 * (`certtrace --debug-flows`).  Its numbers line up with tshark's
 * `-z conv,tcp` and make the reassembly testable from outside.
 */
#include <stdio.h>
#include <stdlib.h>

#include "capture/capture.h"

struct dbg_flow {
	uint64_t bytes[2], gaps[2], gap_bytes[2];
};

struct cap_debug {
	FILE *out;
	uint64_t flows;
};

static struct dbg_flow *dbg_state(struct flow *f)
{
	struct dbg_flow *s = flow_user(f);
	if (!s && (s = calloc(1, sizeof *s)))
		flow_set_user(f, s);
	return s;
}

static enum flow_verdict dbg_data(void *ctx, struct flow *f, enum flow_dir d,
				  const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct dbg_flow *s = dbg_state(f);
	if (!s)
		return FLOW_DONE;
	s->bytes[d] += n;
	return FLOW_MORE;
}

static enum flow_verdict dbg_gap(void *ctx, struct flow *f, enum flow_dir d,
				 uint64_t missing, uint64_t ts_us)
{
	struct dbg_flow *s = dbg_state(f);
	if (!s)
		return FLOW_DONE;
	s->gaps[d]++;
	s->gap_bytes[d] += missing;
	return FLOW_MORE;
}

static const char *close_name(enum flow_close_reason why)
{
	switch (why) {
	case FLOW_CLOSE_DONE: return "done";
	case FLOW_CLOSE_FIN: return "fin";
	case FLOW_CLOSE_IDLE: return "idle";
	case FLOW_CLOSE_EVICTED: return "evicted";
	default: return "end";
	}
}

static void dbg_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct cap_debug *dbg = ctx;
	struct dbg_flow *owned = flow_user(f);
	static const struct dbg_flow zero;
	const struct dbg_flow *s = owned ? owned : &zero;
	char cip[46], sip[46];
	uint16_t cport, sport;

	flow_endpoint(f, FLOW_FROM_CLIENT, cip, sizeof cip, &cport);
	flow_endpoint(f, FLOW_FROM_SERVER, sip, sizeof sip, &sport);
	fprintf(dbg->out, "flow %s:%u -> %s:%u syn=%s c2s=%llu s2c=%llu "
		"gaps=%llu/%llu gap_bytes=%llu/%llu end=%s\n",
		cip, cport, sip, sport, flow_syn_seen(f) ? "yes" : "no",
		(unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1],
		(unsigned long long)s->gaps[0], (unsigned long long)s->gaps[1],
		(unsigned long long)s->gap_bytes[0], (unsigned long long)s->gap_bytes[1],
		close_name(why));
	dbg->flows++;
	free(owned);
	flow_set_user(f, NULL);
}

struct cap_debug *cap_debug_new(FILE *out, struct flow_consumer *c)
{
	struct cap_debug *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->out = out;
	*c = (struct flow_consumer){ d, NULL, dbg_data, dbg_gap, dbg_close };
	return d;
}

void cap_debug_free(struct cap_debug *d)
{
	free(d);
}
