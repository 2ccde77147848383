/*
 * live.h — the report's live side (live.c): findings written as their
 * evidence raises them, and stats events, during a live capture.  Internal
 * to report/ (rep_int.h includes it); certtrace.c sees rep_live_stats() in
 * report.h.
 */
#ifndef CERTTRACE_REP_LIVE_H
#define CERTTRACE_REP_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/rules/rules.h"
#include "report/util.h"

/* Keys of the findings already written live: about 120 bytes each, so some
 * 12 MiB at the cap.  Past it a new finding is not written live (counted in
 * over_cap, said once on stderr); the final report still has every one. */
#define REP_LIVE_MAX_KEYS 100000

struct rep_live_set {
	struct rep_map keys;           /* code + server idx + sha256 -> (void *)1 */
	size_t cap;
	uint64_t over_cap;             /* new keys refused at the cap */
};

enum rep_live_add { REP_LIVE_NEW, REP_LIVE_SEEN, REP_LIVE_FULL };

void rep_live_set_init(struct rep_live_set *s, size_t cap);
/* (code, server, certificate) -- sha256 NULL for a finding about the server
 * alone: NEW the first time (now remembered), SEEN after, FULL when it is
 * new but the set holds cap keys (or memory ran out). */
enum rep_live_add rep_live_set_add(struct rep_live_set *s, enum rep_code code,
				   unsigned server_idx, const uint8_t *sha256);
size_t rep_live_set_size(const struct rep_live_set *s);
void rep_live_set_free(struct rep_live_set *s);

struct rep;
struct rep_server;
struct rep_cert;
struct rep_handshake;

/* rep_new: opt.live and a format that has live lines (jsonl, text). */
bool rep_live_open(struct rep *r);
/* After rep_handshake() ran the per-handshake rules and wrote the
 * handshake: every finding raised so far and not yet written, and the
 * certificate-property rules that need no role, over this chain. */
void rep_live_handshake(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			unsigned n);
/* rep_live_tick (report.h): the provisional pass of the whole-picture
 * rules. */
/* Findings written live so far (the status line's count). */
uint64_t rep_live_raised(const struct rep *r);
void rep_live_free(struct rep *r);

#endif
