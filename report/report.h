/*
 * report.h — from handshakes to the answer: inventory of servers, roles,
 * the phone trust rules, findings with their fix, and the renderers.
 *
 * The report never touches packets nor the dissector's structs: it takes
 * one struct rep_handshake per TLS handshake -- its own record of what it
 * reads, which certtrace.c fills from the dissector's session and --events
 * from a jsonl "tls" event -- and, at the end, the capture counters.
 * Certificates are parsed through the x509 cache (report/model/x509.h), once each.
 *
 * jsonl: "tls" (and the "certificate" events it names, first) are written
 * as handshakes arrive; "finding" and "summary" at rep_finish().  ecs
 * (report/output/ecs.c) writes the same as Elastic Common Schema documents.
 * With opt.live (a live capture) each finding is also written as soon as a
 * handshake raises it, and rep_live_stats() writes "stats" events
 * (report/live.c says which findings can be known live).
 */
#ifndef CERTTRACE_REPORT_H
#define CERTTRACE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>


enum rep_format { REP_TEXT, REP_JSONL, REP_DOT, REP_ECS };
enum rep_severity { REP_INFO = 0, REP_WARNING = 1, REP_CRITICAL = 2, REP_NEVER = 3 };
/* ROLE_LYNC_PEER: a server the FE pool talks to on 5061 with mutual TLS that
 * is not one of the pool (a Mediation server, another pool); ROLE_LYNC_EDGE
 * is such a peer whose names say edge. */
enum rep_role { ROLE_UNKNOWN = 0, ROLE_LYNC_FE, ROLE_LYNC_EDGE, ROLE_LYNC_PEER, ROLE_EXCHANGE,
		ROLE_OTHER };

#define REP_MAX_ROLE_RULES 64
#define REP_MAX_TRUST      64
#define REP_MAX_CERTS      64
#define REP_MAX_PHONE_LOGS 64
#define REP_WARN_DAYS_DEFAULT 30

struct rep_role_rule {
	char name[256];          /* IP, IP:PORT, or host name / glob over SNI and SAN */
	enum rep_role role;
};

struct rep_options {
	enum rep_format format;
	enum rep_severity fail_on;     /* exit 1 at or above; REP_NEVER: never */
	bool color;                    /* text on a terminal, NO_COLOR unset */
	int verbose;                   /* -v count; -1 for -q */
	unsigned n_roles;
	struct rep_role_rule roles[REP_MAX_ROLE_RULES];
	unsigned n_trust;
	const char *trust_files[REP_MAX_TRUST];   /* --trust FILE.pem */
	unsigned n_phone_roots;
	const char *phone_root_files[REP_MAX_TRUST];  /* --phone-roots FILE.pem: the
							* phones' built-in public roots */
	bool warn_days_given;          /* --warn-days N, else REP_WARN_DAYS_DEFAULT */
	unsigned warn_days;            /* expires-soon within; 0 never */
	bool at_given;                 /* --at TIME: validity judged then, */
	uint64_t at_us;                /* not at each handshake's capture time */
	unsigned n_certs;
	struct { enum rep_role role; const char *file; } certs[REP_MAX_CERTS];  /* --cert */
	const char *export_dir;        /* --export-certs */
	bool flush_lines;              /* jsonl: flush every line (live capture, so
					* `certtrace -i eth0 --format jsonl | jq` is live) */
	unsigned n_phone_logs;
	const char *phone_logs[REP_MAX_PHONE_LOGS];   /* --phone-log FILE */
	const char *baseline;          /* --baseline FILE.jsonl */
	bool live;                     /* a live capture: findings written as raised
					* (jsonl, text; report/live.c) */
};

struct rep_endpoint {
	char ip[46];                   /* text form, v4 or v6 */
	uint16_t port;
};

#define REP_MAX_CHAIN      32    /* certificates of one chain */
#define REP_MAX_ALPN       8
#define REP_MAX_CA_NAMES   64    /* CertificateRequest DNs */
#define REP_MAX_ALERTS     8
#define REP_MAX_RISKS      16    /* nDPI risk names */

/* How the dissector's record of the handshake ended. */
enum rep_hs_status {
	REP_HS_IN_PROGRESS = 0,
	REP_HS_COMPLETE,
	REP_HS_TRUNCATED,              /* input ended or a gap fell inside the handshake */
	REP_HS_MALFORMED,
};

struct rep_der {                       /* bytes of a certificate or a DER Name */
	const uint8_t *data;
	size_t len;
};

struct rep_hs_chain {
	bool present;                  /* a Certificate message was seen */
	bool truncated;                /* it was cut by a gap or the end */
	uint64_t ts_us;                /* capture time of the message, 0 unknown */
	unsigned n;
	struct rep_der certs[REP_MAX_CHAIN];   /* DER, in the order sent */
};

struct rep_hs_alert {
	bool from_client;
	bool encrypted;                /* sent after ChangeCipherSpec: unreadable */
	uint8_t level;                 /* TLS_ALERT_LEVEL_* (lib/tls_iana.h); 0 unknown */
	uint8_t description;           /* IANA alert number */
	uint64_t ts_us;
};

/* One handshake as the report reads it.  Everything is borrowed for the
 * length of the rep_handshake() call; strings may be NULL (none). */
struct rep_handshake {
	struct rep_endpoint client, server;
	uint64_t ts_us;                /* capture time of the ClientHello */
	enum rep_hs_status status;
	const char *reason;            /* why truncated or malformed */
	const char *preamble;          /* "SMTP STARTTLS", "HTTP CONNECT", ... */

	const char *sni;               /* printable ASCII */
	unsigned n_alpn;
	const char *alpn[REP_MAX_ALPN];
	const char *ja3, *ja3s;        /* MD5 hex */
	const char *alpn_selected;     /* the server's ALPN choice, or NULL */

	bool server_hello;             /* version and cipher were seen */
	uint16_t version;              /* negotiated, IANA number (lib/tls_iana.h) */
	uint16_t cipher;
	bool resumed;                  /* abbreviated handshake: no Certificate */
	bool certificates_visible;     /* false for TLS 1.3 without keys */
	bool decrypted;                /* TLS 1.3 opened with a key log */
	const char *decrypt_error;     /* the key log had secrets that did not open it */
	uint32_t snaplen_cut_packets;  /* segments of this flow the capture's snaplen cut */
	uint32_t snaplen;              /* that snaplen, 0 when the file names none */

	struct rep_hs_chain server_chain, client_chain;
	unsigned n_ca_names;
	struct rep_der ca_names[REP_MAX_CA_NAMES];   /* CertificateRequest */
	unsigned n_alerts;
	struct rep_hs_alert alerts[REP_MAX_ALERTS];

	const char *app;               /* nDPI's name */
	unsigned n_risks;
	const char *risks[REP_MAX_RISKS];
};

/* Counters only the capture side knows, for the summary. */
struct rep_capture_stats {
	uint64_t packets, bytes, flows, tcp_flows;
	uint64_t truncated_packets, skipped_packets, fragments_skipped;
	uint64_t evicted_flows, gaps;
	bool live;
	uint64_t kernel_received, kernel_dropped, kernel_ifdropped;
	uint64_t dpi_detection_misses;
	uint64_t dpi_disagreements;
	/* Packets per tunnel or mirror encapsulation, by the capture's names
	 * ("vxlan", "erspan_iii", ...): the summary's "encapsulations" object,
	 * non-zero ones only. */
	unsigned n_encaps;
	struct { const char *name; uint64_t packets; } encaps[16];
	const char *truncated_file;    /* the first input that ended inside its last record */
};

struct rep;

/* NULL with a one-line reason in err when an option file cannot be read. */
struct rep *rep_new(const struct rep_options *opt, FILE *out, char *err, size_t errlen);

/* The files the options name, already open: certtrace -Z opens every input
 * before it drops privileges and parses none before.  Index i is the i-th
 * path of rep_options (the path still names it in messages and output); NULL
 * (-1 for the folder) is opened by path as rep_new() does.  The handles stay
 * the caller's: rep_new_opened() reads the files and keeps its own copy of
 * the folder's descriptor. */
struct rep_inputs {
	FILE *trust[REP_MAX_TRUST];           /* --trust */
	FILE *phone_roots[REP_MAX_TRUST];     /* --phone-roots */
	FILE *certs[REP_MAX_CERTS];           /* --cert ROLE=FILE */
	FILE *phone_logs[REP_MAX_PHONE_LOGS]; /* --phone-log */
	FILE *baseline;                       /* --baseline */
	int export_dirfd;                     /* --export-certs, from rep_export_dir_open */
};
void rep_inputs_init(struct rep_inputs *in);   /* all NULL, export_dirfd -1 */
struct rep *rep_new_opened(const struct rep_options *opt, const struct rep_inputs *in,
			   FILE *out, char *err, size_t errlen);
/* --export-certs DIR: creates it if missing (*created says so) and opens it
 * O_DIRECTORY; the descriptor, or -1 with a reason in err. */
int rep_export_dir_open(const char *dir, bool *created, char *err, size_t errlen);
void rep_handshake(struct rep *r, const struct rep_handshake *h);
/* --events: every handshake of an earlier run's jsonl output ("-" stdin),
 * as if captured now.  false with a reason when the file cannot be read;
 * lines that are not certtrace events are counted and skipped. */
bool rep_replay_events(struct rep *r, const char *path, char *err, size_t errlen);
/* The same from a file already open (left open); path names it. */
bool rep_replay_events_fp(struct rep *r, FILE *f, const char *path, char *err, size_t errlen);
/* Rules, findings, summary.  Returns the exit status: 2 when the output
 * could not be written (a line refused or lost; said once on stderr); else
 * 1 a finding at or above fail_on; else 3 inconclusive (no chain could be
 * checked at all, or a server the trust rules need -- Lync FE, Exchange,
 * phone-facing -- could not be); else 0.  fail_on REP_NEVER: 0 unless 2. */
int rep_finish(struct rep *r, const struct rep_capture_stats *st);
/* false when a file the report writes itself (--export-certs and its
 * index.tsv) could not be written, or a line of the report could not be
 * made or handed to its stream (a jsonl line over its cap; a stream that
 * failed): said once on stderr; exit 2.  The report stream's own write(2)s
 * are the caller's to check (lib/sink.h). */
bool rep_writes_ok(const struct rep *r);
void rep_free(struct rep *r);

/* A live capture's counters at one moment, for a "stats" event. */
struct rep_live_stats {
	uint64_t ts_us;                /* wall clock */
	uint64_t packets, bytes;
	bool kernel;                   /* the kernel's counts below are known */
	uint64_t kernel_received, kernel_dropped, kernel_ifdropped;
	uint64_t flows_active;         /* in the flow table now */
	uint64_t flows_total;          /* made since the start */
};
/* jsonl: one {"event":"stats",...} line on the report's stream; text: one
 * line on stderr; with the report's handshakes, certificates and findings
 * so far. */
void rep_live_stats(struct rep *r, const struct rep_live_stats *st);
/* Live: call as time passes (each wake of the capture loop), now_us on a
 * monotonic clock.  When handshakes came since the last time, at most once
 * a second, the rules
 * that need the whole picture run over what is known so far, and the
 * findings they raise that were not written yet are written (live.c). */
void rep_live_tick(struct rep *r, uint64_t now_us);

/* Live status line: what has been seen so far. */
uint64_t rep_handshake_count(const struct rep *r);
uint64_t rep_server_count(const struct rep *r);
uint64_t rep_findings_so_far(const struct rep *r);

const char *rep_role_name(enum rep_role role);
bool rep_role_parse(const char *s, enum rep_role *out);

/* --at: ISO 8601 UTC ("2030-03-20T00:00:00Z", "2030-03-20T00:00Z",
 * "2030-03-20", fractions of a second, "+01:00" offsets) or "now", to
 * microseconds since the epoch.  false for anything else. */
bool rep_parse_at(const char *s, uint64_t *ts_us);

#endif
