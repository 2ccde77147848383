/*
 * jsonl_fields.h — the members of the jsonl contract that both sides of
 * certtrace handle: jsonl.c writes them, --events (input/events.c,
 * input/jsonl_in.c) reads them back.  Each is spelled once, here, as a
 * lib/json.h field table over the C struct it comes from, so a member
 * renamed or added is renamed or added for the writer and the reader at
 * once.
 *
 * What is here: the endpoint object ({"ip","port"}, in "tls" events and
 * finding samples), and the summary's capture counters, which --events adds
 * to this run's.  The rest of the events are still written by hand in
 * jsonl.c (their members are computed: names from codes, nulls by
 * condition) and read by hand in events.c, which is lenient by design (it
 * takes what it can of a partial event); moving them onto tables needs the
 * reader to tolerate what jr_read_fields() refuses.
 */
#ifndef CERTTRACE_REP_JSONL_FIELDS_H
#define CERTTRACE_REP_JSONL_FIELDS_H

#include "lib/json.h"

/* struct rep_endpoint: "ip" (a string shorter than its array), "port"
 * (0 to 65535). */
extern const struct jw_table rep_jf_endpoint;

/* struct rep_capture_stats, the counters a "summary" carries and --events
 * sums: head before "handshakes", tail after "findings" (jsonl.c writes the
 * report's own counters between them).  All JW_U64. */
extern const struct jw_table rep_jf_capture_head;
extern const struct jw_table rep_jf_capture_tail;

struct rep_capture_stats;
/* to += from, for every counter of the two tables (--events: the earlier
 * runs' counters added to this one's). */
void rep_jf_add_capture_counts(struct rep_capture_stats *to,
			       const struct rep_capture_stats *from);

#endif
