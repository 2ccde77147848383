/*
 * output.h — what leaves the report: the renderers (text for a person,
 * jsonl for pipelines, ecs for Elastic, dot for a picture) and --export-certs.  They read
 * the model and the findings; nothing reads them back.
 */
#ifndef CERTTRACE_REP_OUTPUT_H
#define CERTTRACE_REP_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "report/model/model.h"

/* ---- --export-certs (export.c) --------------------------------------------- */

/* dirfd: opt.export_dir already open (rep_export_dir_open), or -1 to open it */
bool rep_export_open(struct rep *r, int dirfd, char *err, size_t errlen);
void rep_export_cert(struct rep *r, struct rep_cert *c);
void rep_export_index(struct rep *r);
void rep_export_close(struct rep *r);

/* ---- the renderers (text.c, jsonl.c, dot.c) --------------------------------- */
void rep_jsonl_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h,
			 struct rep_cert **server_certs, unsigned n_server,
			 struct rep_cert **client_certs, unsigned n_client);
void rep_jsonl_finish(struct rep *r, const struct rep_capture_stats *st);
/* Live (report/live.c): one "finding" line, the shape rep_jsonl_finish
 * writes, with the finding's words as they are now; one "stats" line. */
struct rep_finding;
struct rep_live_stats;
void rep_jsonl_finding(struct rep *r, const struct rep_finding *f);
void rep_jsonl_stats(struct rep *r, const struct rep_live_stats *st, uint64_t findings);
void rep_text_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h);
void rep_text_finish(struct rep *r, const struct rep_capture_stats *st);
void rep_dot_finish(struct rep *r);
/* A line of the report could not be made or written: said once on stderr
 * (why: the reason); nothing more is written, and the run's status becomes
 * 2 (rep_finish, rep_writes_ok). */
void rep_output_fail(struct rep *r, const char *why);
/* The line w holds, ended and written to the report's stream, for jsonl and
 * ecs alike; w emptied for the next.  A line that cannot be made or written
 * goes to rep_output_fail(), and after a failure nothing more is sent, so
 * the output is a whole prefix of the report (as lib/sink.h keeps files). */
struct jw;
void rep_jw_send(struct rep *r, struct jw *w);
/* Members both JSON formats write the same way (jsonl.c): a rep_seen's
 * handshake_count, first_seen, last_seen; and a server's state, from
 * role_reason to not_checked (phone-facing, clients, counts, the "chains"
 * array).  nulls (jsonl): an unknown value is written as null and an empty
 * list as []; without (ecs, which has no nulls) both are left out, and an
 * unknown trust says trust_unknown. */
struct rep_seen;
struct rep_server;
void rep_jw_seen(struct jw *w, const struct rep_seen *seen, bool nulls);
void rep_jw_server_state(struct jw *w, const struct rep_server *s, bool nulls);
/* A live stats event's counters (jsonl's "stats" event, ecs's certtrace.stats). */
void rep_jw_stats_members(struct jw *w, const struct rep *r, const struct rep_live_stats *st,
			  uint64_t findings);

/* ---- --format ecs (ecs.c): the jsonl events as Elastic Common Schema ---------- */
struct rep_endpoint;
struct rep_finding;
void rep_ecs_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h,
		       struct rep_cert **server_certs, unsigned n_server,
		       struct rep_cert **client_certs, unsigned n_client);
/* One finding's alert document (rep_ecs_finish writes them all). */
void rep_ecs_finding(struct rep *r, const struct rep_finding *f);
void rep_ecs_stats(struct rep *r, const struct rep_live_stats *st, uint64_t findings);
void rep_ecs_finish(struct rep *r, const struct rep_capture_stats *st);
void rep_ecs_free(struct rep *r);
/* network.community_id (Community ID v1, seed 0) of a flow: "1:" and 28
 * base64 characters into out (31 bytes with the NUL); false when an
 * address does not parse or out is too small. */
bool rep_ecs_community_id(const struct rep_endpoint *a, const struct rep_endpoint *b,
			  uint8_t proto, char *out, size_t len);

#endif
