/*
 * input.h — what the report reads besides handshakes: earlier runs' jsonl
 * (--events replays them through rep_handshake(), --baseline is kept to
 * compare with), a phone's log (--phone-log), and certificate files
 * (--trust, --cert).  Every input is untrusted text: what cannot be read is
 * counted and skipped, never fatal past a clear reason.
 *
 *   jsonl_in.c   reading jsonl lines and the small values in them
 *   events.c     --events
 *   baseline.c   --baseline (certificate-changed is a rule: rules/changed.c)
 *   phonelog.c   --phone-log, and tying its errors to findings
 *   certfile.c   PEM and DER certificate files
 */
#ifndef CERTTRACE_REP_INPUT_H
#define CERTTRACE_REP_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "report/model/model.h"
#include "report/util.h"

struct rep_finding;

/* ---- jsonl (jsonl_in.c) ---------------------------------------------------- */

#define REP_EVENTS_MAX_LINE_BYTES (8u * 1024 * 1024)

typedef void rep_event_fn(void *ctx, json_t *ev);

struct rep_line_stats {
	uint64_t lines, bad;
};

/* fn for each line of f -- the file the caller opened, or NULL to open
 * path ("-" stdin) -- that is a JSON object with a string "event"; false
 * with a reason when the file cannot be read.  f stays the caller's. */
bool rep_jsonl_each_event(FILE *f, const char *path, rep_event_fn *fn, void *ctx,
			  struct rep_line_stats *ls, char *err, size_t errlen);
const char *rep_jstr(json_t *o, const char *key);        /* NULL: not a string */
bool rep_iso_parse(const char *s, uint64_t *ts_us);     /* what rep_iso_us() writes */
bool rep_is_sha1_hex(const char *s);                     /* 40 lowercase hex digits */
bool rep_jendpoint(json_t *o, struct rep_endpoint *ep);  /* {"ip","port"} */
/* src as printable ASCII ('?' for the rest), cut to len; NULL gives "". */
void rep_copy_printable(char *dst, size_t len, const char *src);

/* ---- --baseline (baseline.c) ----------------------------------------------- */

/* An earlier run, as plain text: nothing of it is interned. */
struct rep_base_cert {
	char sha1[41];
	char thumbprint[41];
	char *subject, *issuer;
	char aki[129];
};

struct rep_base_server {
	struct rep_endpoint ep;
	char *name;
	enum rep_role role;
	unsigned n_leaves;
	char leaves[REP_MAX_CHAINS][41];   /* sha1 of each leaf it presented */
};

struct rep_baseline {
	const char *path;
	struct rep_map certs;          /* sha1 -> rep_base_cert */
	struct rep_vec cert_list;
	struct rep_map servers;        /* "ip|port" -> rep_base_server */
	struct rep_vec server_list;
	struct rep_line_stats ls;
};

/* f: the file already open (rep_new_opened), or NULL to open path */
bool rep_baseline_load(struct rep *r, FILE *f, const char *path, char *err, size_t errlen);
void rep_baseline_free(struct rep *r);

/* ---- --phone-log (phonelog.c) ---------------------------------------------- */

struct rep_phone_ews {                 /* "InternalEwsUrl is https://..." */
	const char *file;              /* the --phone-log argument */
	const char *which;             /* "InternalEwsUrl" or "ExternalEwsUrl" */
	char *url;
	char host[256];                /* lowercase; an IPv6 literal without brackets */
	uint16_t port;
};

struct rep_phone_error {
	const char *file;
	unsigned line, last_line;      /* first and last line of the failure */
	char ts[32];                   /* as logged, "10/19/2012 14:50:27.850"; "" none */
	char *text;                    /* "Insecure server", or NULL */
	uint32_t win32;                /* errorCode= (WinINet/WinHTTP), 0 none */
	uint32_t hr;                   /* hr= (HRESULT), 0 none */
	char *url;                     /* NULL when no line gave one */
	char host[256];
	uint16_t port;
	/* rep_phone_explain() */
	struct rep_finding *explained_by;
	const char *via;               /* how the server was found (static) */
};

struct rep_phone_words {               /* what rep_phone_describe() says of an error */
	char code[16];                 /* "12045" or "0x80f10043" */
	const char *name, *meaning;    /* "unknown" when not known */
	char hr[16];                   /* "" when no hr */
	const char *hr_name;
	char hr_meaning[160];
};

struct rep_phonelog {
	struct rep_vec ews;            /* struct rep_phone_ews */
	struct rep_vec errors;         /* struct rep_phone_error, in log order */
	unsigned files;
	uint64_t lines, not_understood, errors_dropped;
};

/* Reads and parses one --phone-log FILE (f when already open, else NULL);
 * false with a reason when it cannot be read.  file is kept as a pointer
 * (the option string). */
bool rep_phonelog_read(struct rep_phonelog *pl, FILE *f, const char *file, char *err,
		       size_t errlen);
/* Never fails: what it cannot read is counted in not_understood. */
void rep_phonelog_parse(struct rep_phonelog *pl, const char *file, const uint8_t *buf,
			size_t len);
void rep_phonelog_free(struct rep_phonelog *pl);
void rep_phone_describe(const struct rep_phone_error *e, struct rep_phone_words *w);
const struct rep_server *rep_phone_ews_server(const struct rep *r, const struct rep_phone_ews *w);
/* After the rules: each error's explaining finding. */
void rep_phone_explain(struct rep *r);

/* ---- certificate files (certfile.c) ---------------------------------------- */

/* The certificates of a PEM file (all, in order) or a DER file (one),
 * interned; false with a reason when there is none.  f: the file already
 * open (rep_new_opened), or NULL to open path. */
bool rep_certfile_load(struct rep *r, FILE *f, const char *path, struct rep_cert **out,
		       unsigned max, unsigned *n, char *err, size_t errlen);

#endif
