/*
 * model.h — what the report knows: every distinct certificate is one
 * struct rep_cert (keyed by SHA-256, holding one x509_info reference);
 * every server (ip, port) is one struct rep_server with its SNI names,
 * clients and distinct chains (arrays of rep_cert pointers), its role and
 * how that was decided.  Nothing here holds a rep_handshake: what a
 * handshake taught us is copied out in rep_handshake() and the record is
 * the caller's again.
 *
 *   inventory.c  certificates, servers, chains, clients, when things were seen
 *   roles.c      lync-fe, lync-edge, lync-peer, exchange or other, and why
 *   facing.c     the pool's server-to-server peers; which servers are phone-facing
 *   names.c      host names against certificates and servers, CA look-alikes
 *   x509.c       certificate details through OpenSSL, parsed once (x509.h)
 */
#ifndef CERTTRACE_REP_MODEL_H
#define CERTTRACE_REP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "report/model/x509.h"
#include "report/report.h"

#define REP_MAX_SNI        64    /* SNI names kept per server */
#define REP_MAX_CLIENTS    256   /* distinct client addresses kept per server */
#define REP_MAX_CHAINS     16    /* distinct chains kept per server */
#define REP_MAX_SAMPLES    5     /* handshakes kept as evidence */
#define REP_MAX_CLIENT_LEAVES 8  /* distinct client certificates kept per server */
#define REP_MAX_PHONE_CLIENTS 16 /* the Lync clients named as making it phone-facing */

struct rep;

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

/* ---- certificates and servers ------------------------------------------------------------ */

struct rep_cert {
	const struct x509_info *xi;    /* our own reference */
	unsigned idx;                  /* order of first sight */
	bool on_wire;                  /* seen in a handshake, not only in a file */
	bool announced;                /* jsonl "certificate" event written; ecs: its
					* DER in a certificate_chain */
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
	char not_checked[400];         /* rules/verdict.c: why no chain of it was checked;
					* "" checked */
};

/* ---- inventory.c ----------------------------------------------------------- */

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

/* Display name: first SNI, else the leaf's first DNS name or CN, else "". */
const char *rep_server_name(const struct rep_server *s);
/* "10.0.0.5:5061", "[2001:db8::1]:443" or "file cas.pem" */
const char *rep_server_addr(const struct rep_server *s, char *buf, size_t len);
/* "ip|port": the key of a server's address (in this run's map and in
 * --baseline's); its length. */
size_t rep_server_key(const struct rep_endpoint *ep, char *key, size_t len);
/* Servers of this run (not those only --baseline knows). */
size_t rep_servers_seen(const struct rep *r);
/* The capture's snaplen cut this handshake before its server certificates
 * were seen whole (handshake-truncated, never hidden). */
bool rep_hs_cut(const struct rep_handshake *h);
/* What one handshake adds to its server beyond chains and names: why it
 * showed no whole chain, and the client certificate of mutual TLS. */
void rep_server_count_handshake(struct rep_server *s, const struct rep_handshake *h,
				unsigned n_server_certs, struct rep_cert *client_leaf);

/* ---- roles.c --------------------------------------------------------------- */

enum rep_rule_kind { RULE_IP_PORT, RULE_IP, RULE_NAME };

struct rep_rule {
	enum rep_rule_kind kind;
	char ip[46];
	uint16_t port;
	const char *pattern;           /* RULE_NAME: points into opt.roles[] */
	const char *text;              /* as given */
	enum rep_role role;
};


bool rep_rules_parse(struct rep *r, char *err, size_t errlen);
/* Decide from --role, the port, SNI and SAN names; the cheap per-handshake part. */
void rep_role_decide(struct rep *r, struct rep_server *s);
/* At the end, with every name known (rules.c runs them in this order):
 * decide every server again, then -- after facing.c's peers -- let
 * certificates shared with an FE or Exchange server decide, then facing.c's
 * phone-facing relation. */
void rep_roles_decide_all(struct rep *r);
void rep_roles_refine(struct rep *r);
bool rep_role_is_ms(enum rep_role role);   /* lync-fe, lync-edge, lync-peer, exchange */
bool rep_role_is_lync(enum rep_role role); /* lync-fe, lync-edge, lync-peer */

/* ---- facing.c -------------------------------------------------------------- */

/* At the end (rules.c): the pool's server-to-server peers on 5061, after
 * rep_roles_decide_all; which servers are phone-facing (and Exchange by an
 * Exchange name), after rep_roles_refine. */
void rep_peers_decide(struct rep *r);
void rep_facing_decide(struct rep *r);
/* "autodiscover", or a CAS name -- "mail", "owa", "outlook", "webmail",
 * "casarray", "cas*", "ews", "exchange" -- as the first label of a host. */
bool rep_is_exchange_name(const char *host);
/* Judged by the phone trust model: Exchange or phone-facing. */
bool rep_server_phone_judged(const struct rep_server *s);
/* Its CA matters to the CA-pair rules: a Lync or Exchange server, or phone-facing. */
bool rep_server_relevant(const struct rep_server *s);

/* ---- names.c --------------------------------------------------------------- */

bool rep_host_matches(const char *pattern, const char *host);
bool rep_cert_matches_host(const struct x509_info *xi, const char *host);
/* The normalised form of a CA name (lowercase words, DC= folded), malloc'd. */
char *rep_name_normalise(const X509_NAME *name);
/* Would a person confuse these two (different) names?  why gets the reason. */
bool rep_names_lookalike(const X509_NAME *a, const X509_NAME *b, char *why, size_t len);
/* Compare textual IPs by value; a host name is never an address. */
bool rep_same_ip(const char *a, const char *b);
/* How host:port names server s ("SNI x", "address x", "certificate name x"
 * into why), or NULL when it does not. */
const char *rep_server_is_host(const struct rep_server *s, const char *host, uint16_t port,
			       char *why, size_t len);

#endif
