/*
 * rep_int.h — what the report's own files share; nothing outside report/
 * (and its tests) includes this.
 *
 * The model: every distinct certificate is one struct rep_cert (keyed by
 * SHA-256, holding one x509_info reference); every server (ip, port) is one
 * struct rep_server with its SNI names, clients and distinct chains (arrays
 * of rep_cert pointers); findings are keyed by (code, server, certificate)
 * so a problem seen in a million handshakes is one finding with a count.
 * Nothing here holds a rep_handshake: what a handshake taught us is copied
 * out in rep_handshake() and the record is the caller's again.
 */
#ifndef CERTTRACE_REP_INT_H
#define CERTTRACE_REP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "report/model/x509.h"
#include "lib/tls_iana.h"
#include "report/util.h"
#include "report/report.h"

#define REP_MAX_SNI        64    /* SNI names kept per server */
#define REP_MAX_CLIENTS    256   /* distinct client addresses kept per server */
#define REP_MAX_CHAINS     16    /* distinct chains kept per server */
#define REP_MAX_SAMPLES    5     /* handshakes kept as evidence */
#define REP_FINDING_CERTS  6
#define REP_FINDING_NAMES  8
#define REP_FINDING_FACTS  10
#define REP_FACT_MAX_BYTES (64 * 1024)   /* one fact's text */
#define REP_MAX_CLIENT_LEAVES 8  /* distinct client certificates kept per server */
#define REP_MAX_PHONE_CLIENTS 16 /* the Lync clients named as making it phone-facing */

/* ---- when something was seen --------------------------------------------- */

struct rep_sample {
	uint64_t ts_us;
	struct rep_endpoint client;
};

struct rep_seen {
	uint64_t count;
	uint64_t first_us, last_us;
	unsigned n_samples;
	struct rep_sample samples[REP_MAX_SAMPLES];
};

void rep_seen_add(struct rep_seen *s, uint64_t ts_us, const struct rep_endpoint *client);
void rep_seen_merge(struct rep_seen *dst, const struct rep_seen *src);

/* ---- inventory ------------------------------------------------------------ */

struct rep_cert {
	const struct x509_info *xi;    /* our own reference */
	unsigned idx;                  /* order of first sight */
	bool on_wire;                  /* seen in a handshake, not only in a file */
	bool announced;                /* jsonl "certificate" event written */
	bool exported;                 /* --export-certs done (or failed) */
};

struct rep_chain {
	unsigned n;
	struct rep_cert *certs[REP_MAX_CHAIN];   /* in the order sent */
	bool truncated;
	struct rep_seen seen;

	/* Filled by the trust rules at rep_finish (Exchange and phone-facing
	 * chains only).  trust_unknown: it ends in a public root of the system
	 * store and no --phone-roots says whether the phones carry it. */
	bool trust_checked;
	bool trusted;
	bool trust_unknown;
	char trust_method[192];
	char verify_error[160];
	int ca_idx;                    /* issuing CA identity (rules.c), -1 none */
};

struct rep_server {
	unsigned idx;                  /* order of first sight */
	struct rep_endpoint ep;        /* ip "" for a --cert pseudo-server */
	char *file;                    /* --cert FILE, else NULL */

	enum rep_role role;
	bool role_explicit;            /* --role or --cert decided: nothing overrides */
	char role_reason[512];

	/* The phone-facing relation (facing.c, at rep_finish): Lync clients use
	 * it and its names lie in the FE pool's domains. */
	bool phone_facing;
	char facing_reason[512];       /* how it was decided, either way */
	unsigned n_phone_clients;
	const char *phone_clients[REP_MAX_PHONE_CLIENTS];   /* borrowed from clients */
	bool phone_clients_more;

	/* Mutual TLS (facing.c tells the pool's peers by it): the distinct
	 * client certificates presented to it, and how many full handshakes
	 * showed no client certificate. */
	unsigned n_client_leaves;
	struct { struct rep_cert *leaf; char ip[46]; } client_leaves[REP_MAX_CLIENT_LEAVES];
	uint64_t without_client_cert;

	unsigned n_sni;
	char *sni[REP_MAX_SNI];
	bool sni_more;

	unsigned n_clients;
	char **clients;                /* up to REP_MAX_CLIENTS ip strings */
	bool clients_more;

	unsigned n_chains;
	struct rep_chain *chains[REP_MAX_CHAINS];
	uint64_t chains_dropped;       /* handshakes whose chain did not fit */

	struct rep_seen seen;          /* every handshake */
	uint64_t resumed, hidden, failed;
	/* Handshakes whose server certificates were not seen whole: cut by the
	 * capture's snaplen (cut_packets segments, cut_snaplen the last snaplen
	 * named), lost to another gap or the end of the capture, or ended
	 * before any Certificate message. */
	uint64_t cut, cut_packets, truncated, no_certificate;
	uint32_t cut_snaplen;
	bool baseline_only;            /* in --baseline, not seen in this run */
	char not_checked[400];         /* verdict.c: why no chain of it was checked; "" checked */
};

/* Display name: first SNI, else the leaf's first DNS name or CN, else "". */
const char *rep_server_name(const struct rep_server *s);
bool rep_same_ip(const char *a, const char *b);
/* "10.0.0.5:5061", "[2001:db8::1]:443" or "file cas.pem" */
const char *rep_server_addr(const struct rep_server *s, char *buf, size_t len);

/* ---- findings ------------------------------------------------------------- */

enum rep_code {
	RC_ISSUER_MISMATCH,
	RC_SAME_DN_DIFFERENT_KEY,
	RC_LOOKALIKE_CA_NAME,
	RC_CLIENT_REJECTED_CERTIFICATE,
	RC_HANDSHAKE_FAILED,
	RC_EXPIRED,
	RC_NOT_YET_VALID,
	RC_NAME_MISMATCH,
	RC_CHAIN_INCOMPLETE,
	RC_POOL_ISSUER_SPLIT,
	RC_WEAK_KEY,
	RC_WEAK_SIGNATURE,
	RC_SELF_SIGNED,
	RC_CERTIFICATES_HIDDEN,
	RC_RESUMED_NO_CERT,
	RC_HANDSHAKE_TRUNCATED,
	RC_MISSING_SERVER_AUTH_EKU,
	RC_MISSING_CRL_DP,
	RC_CERTIFICATE_CHANGED,        /* against --baseline (events.c) */
	RC_PSS_SIGNATURE,
	RC_EXPIRES_SOON,
	RC_PUBLIC_ROOT_UNVERIFIED,
	RC_COUNT
};

/* What kind of failure a phone logged (phonelog.c classifies its codes). */
enum rep_phone_class {
	PHONE_NONE, PHONE_UNTRUSTED, PHONE_NAME, PHONE_DATE, PHONE_REVOCATION,
	PHONE_WRONG_USAGE, PHONE_CERT, PHONE_CHANNEL, PHONE_CLASSES
};

struct rep_finding;
struct rep_say;                        /* what the words start from (findings.c) */
/* One of a finding's texts, malloc'd (NULL when out of memory). */
typedef char *rep_words_fn(const struct rep_finding *f, const struct rep_say *say);

/* A row of the findings table (findings.c): everything that defines a code. */
struct rep_finding_def {
	const char *name;              /* "issuer-mismatch" */
	enum rep_severity severity;
	const char *title;             /* a few words: what is wrong */
	rep_words_fn *describe;        /* the message: one sentence a person can act on */
	rep_words_fn *symptom;         /* what clients show; NULL: symptom_text */
	rep_words_fn *remedy;          /* what to run; NULL: remedy_text */
	const char *symptom_text, *remedy_text;
	const char *evidence_names;    /* jsonl evidence key of its names; NULL "names" */
	unsigned char explains[PHONE_CLASSES];   /* rank among the findings that explain
						  * a phone error of that class, 1 first;
						  * 0 does not */
};
extern const struct rep_finding_def rep_finding_defs[RC_COUNT];

struct rep_fact {
	const char *key;               /* static */
	char *value;
};

struct rep_finding {
	unsigned order;
	enum rep_code code;
	enum rep_severity severity;
	struct rep_server *server;
	struct rep_cert *cert;         /* what it is about; NULL: the server */
	unsigned n_certs;              /* evidence; cert (if any) first */
	struct rep_cert *certs[REP_FINDING_CERTS];
	unsigned n_names;              /* SNI names, alerts: what varied */
	char *names[REP_FINDING_NAMES];
	bool names_more;
	unsigned n_facts;
	struct rep_fact facts[REP_FINDING_FACTS];
	struct rep_seen seen;
	char *message, *symptom, *remedy;   /* written at rep_finish */
};

const char *rep_finding_fact(const struct rep_finding *f, const char *key);

/* ---- --phone-log (phonelog.c) --------------------------------------------------- */

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

/* Never fails: what it cannot read is counted in not_understood.  file is
 * kept as a pointer (the option string). */
void rep_phonelog_parse(struct rep_phonelog *pl, const char *file, const uint8_t *buf,
			size_t len);
void rep_phonelog_free(struct rep_phonelog *pl);
void rep_phone_describe(const struct rep_phone_error *e, struct rep_phone_words *w);
/* roles.c: a server an EWS url names is exchange */
bool rep_phone_role(struct rep *r, struct rep_server *s);
const struct rep_server *rep_phone_ews_server(const struct rep *r, const struct rep_phone_ews *w);
/* After the rules: each error's explaining finding. */
void rep_phone_explain(struct rep *r);

/* ---- --events and --baseline (events.c) ------------------------------------------ */

struct rep_baseline;
/* f: the file already open (rep_new_opened), or NULL to open path */
bool rep_baseline_load(struct rep *r, FILE *f, const char *path, char *err, size_t errlen);
/* rules.c, at the end: certificate-changed against the baseline */
void rep_baseline_rules(struct rep *r);
void rep_baseline_free(struct rep *r);

/* ---- --export-certs (export.c) --------------------------------------------------- */

/* dirfd: opt.export_dir already open (rep_export_dir_open), or -1 to open it */
bool rep_export_open(struct rep *r, int dirfd, char *err, size_t errlen);
void rep_export_cert(struct rep *r, struct rep_cert *c);
void rep_export_index(struct rep *r);
void rep_export_close(struct rep *r);

/* ---- the report ----------------------------------------------------------- */

enum rep_verdict { REP_VERDICT_CLEAN, REP_VERDICT_FINDINGS, REP_VERDICT_INCONCLUSIVE };

enum rep_rule_kind { RULE_IP_PORT, RULE_IP, RULE_NAME };

struct rep_rule {
	enum rep_rule_kind kind;
	char ip[46];
	uint16_t port;
	const char *pattern;           /* RULE_NAME: points into opt.roles[] */
	const char *text;              /* as given */
	enum rep_role role;
};

struct rep {
	struct rep_options opt;
	FILE *out;
	struct x509_cache *cache;

	struct rep_map certs;          /* sha256 -> rep_cert */
	struct rep_vec cert_list;
	struct rep_map servers;        /* "ip|port" or "file|path" -> rep_server */
	struct rep_vec server_list;
	struct rep_map clients;        /* server idx + client ip -> (void *)1 */
	struct rep_map findings;       /* code + server idx + sha1 -> rep_finding */
	struct rep_vec finding_list;

	unsigned n_rules;
	struct rep_rule rules[REP_MAX_ROLE_RULES];
	struct rep_vec trust;          /* rep_cert from --trust files */
	struct rep_vec phone_roots;    /* rep_cert from --phone-roots files */
	X509_STORE *system_store;      /* OpenSSL's default paths, loaded once when needed */
	bool system_store_tried;

	uint64_t handshakes;
	uint64_t wire_certs;           /* distinct certificates seen on the wire */
	int status;                    /* rep_finish's answer */
	char *line;                    /* jsonl: one event, reused */
	size_t line_cap;
	bool export_warned;
	int export_fd;                 /* --export-certs directory, -1 none */
	struct rep_phonelog phone;     /* --phone-log */
	struct rep_baseline *baseline; /* --baseline */
	struct rep_capture_stats replayed;  /* --events: the runs' own counters */
	unsigned baseline_only_servers;
	bool finished;
	unsigned n_by_severity[3];
	enum rep_verdict verdict;      /* verdict.c */
	bool nothing_checked;          /* no chain of any server was checked */
	unsigned n_not_checked, n_needed_not_checked;
};

/* inventory.c */
struct rep_cert *rep_cert_intern(struct rep *r, const uint8_t *der, size_t len);
struct rep_cert *rep_cert_adopt(struct rep *r, const struct x509_info *xi);
struct rep_server *rep_server_get(struct rep *r, const struct rep_endpoint *ep);
struct rep_server *rep_server_from_file(struct rep *r, const char *file);
/* A new chain record for these certificates, or the existing one. */
struct rep_chain *rep_server_chain(struct rep *r, struct rep_server *s,
				   struct rep_cert **certs, unsigned n, bool truncated);
bool rep_server_add_sni(struct rep_server *s, const char *sni);
void rep_server_add_client(struct rep *r, struct rep_server *s, const char *ip);
void rep_inventory_free(struct rep *r);

/* roles.c */
bool rep_rules_parse(struct rep *r, char *err, size_t errlen);
/* Decide from --role, the port, SNI and SAN names; the cheap per-handshake part. */
void rep_role_decide(struct rep *r, struct rep_server *s);
/* At the end: certificates shared with an Exchange server make Exchange. */
void rep_roles_refine(struct rep *r);
bool rep_role_is_ms(enum rep_role role);   /* lync-fe, lync-edge, lync-peer, exchange */
bool rep_role_is_lync(enum rep_role role); /* lync-fe, lync-edge, lync-peer */

/* facing.c, from rep_roles_refine: the pool's server-to-server peers on
 * 5061, then which servers are phone-facing (and Exchange by a CAS name). */
void rep_peers_decide(struct rep *r);
void rep_facing_decide(struct rep *r);
/* "autodiscover", or a CAS name -- "mail", "owa", "outlook", "webmail",
 * "casarray", "cas*", "ews", "exchange" -- as the first label of a host. */
bool rep_is_exchange_name(const char *host);
/* Judged by the phone trust model: Exchange or phone-facing. */
bool rep_server_phone_judged(const struct rep_server *s);
/* Its CA matters to the CA-pair rules: a Lync or Exchange server, or phone-facing. */
bool rep_server_relevant(const struct rep_server *s);

/* verdict.c, at rep_finish after the rules: which servers were not
 * checked and why, the verdict, and the exit status. */
void rep_verdict_decide(struct rep *r);
const char *rep_verdict_name(enum rep_verdict v);
struct buf;
/* Why it is inconclusive, appended to b; nothing for another verdict. */
void rep_verdict_reason(const struct rep *r, struct buf *b);
/* The trust rules need its chain: Lync FE, Exchange or phone-facing. */
bool rep_server_needed(const struct rep_server *s);

/* names.c */
bool rep_host_matches(const char *pattern, const char *host);
bool rep_cert_matches_host(const struct x509_info *xi, const char *host);
/* The normalised form of a CA name (lowercase words, DC= folded), malloc'd. */
char *rep_name_normalise(const X509_NAME *name);
/* Would a person confuse these two (different) names?  why gets the reason. */
bool rep_names_lookalike(const X509_NAME *a, const X509_NAME *b, char *why, size_t len);

/* rules.c */
void rep_rules_handshake(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			 unsigned n, const struct rep_handshake *h);
void rep_rules_finish(struct rep *r);
struct rep_finding *rep_finding_get(struct rep *r, enum rep_code code,
				    struct rep_server *s, struct rep_cert *cert);
void rep_finding_add_cert(struct rep_finding *f, struct rep_cert *c);
void rep_finding_add_name(struct rep_finding *f, const char *name);
void rep_finding_set_fact(struct rep_finding *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rep_findings_sort(struct rep *r);
void rep_findings_free(struct rep *r);

/* findings.c: message, symptom and remedy from the finding's row */
void rep_finding_describe(struct rep_finding *f);
const char *rep_severity_name(enum rep_severity s);

/* renderers */
void rep_jsonl_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h,
			 struct rep_cert **server_certs, unsigned n_server,
			 struct rep_cert **client_certs, unsigned n_client);
void rep_jsonl_finish(struct rep *r, const struct rep_capture_stats *st);
void rep_text_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h);
void rep_text_finish(struct rep *r, const struct rep_capture_stats *st);
void rep_dot_finish(struct rep *r);

/* report.c: the capture's snaplen cut this handshake before its server
 * certificates were seen whole (handshake-truncated, never hidden). */
bool rep_hs_cut(const struct rep_handshake *h);

#endif
