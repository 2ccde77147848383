/*
 * rules.h — from the model to findings.  rules.c decides when a finding is
 * raised (with trust.c for CA identities and the phone trust model, and
 * changed.c against --baseline); evidence.c keeps each finding once per
 * (code, server, certificate) with its evidence; findings.c is the table
 * that defines every code and gives a finding its words; verdict.c says
 * at the end what could not be checked, the verdict and the exit status.
 */
#ifndef CERTTRACE_REP_RULES_H
#define CERTTRACE_REP_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "report/model/model.h"

#define REP_FINDING_CERTS  6
#define REP_FINDING_NAMES  8
#define REP_FINDING_FACTS  10
#define REP_FACT_MAX_BYTES (64 * 1024)   /* one fact's text */

/* ---- the findings table (findings.c) ------------------------------------------------------------- */

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
	RC_CERTIFICATE_CHANGED,        /* against --baseline (changed.c) */
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
	enum rep_severity severity;    /* its row's, set with the words */
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

/* The finding's severity, message, symptom and remedy, from its row. */
void rep_finding_describe(struct rep_finding *f);
const char *rep_severity_name(enum rep_severity s);

/* ---- rules.c, changed.c ---------------------------------------------------- */

/* The rules of one handshake, as it arrives. */
void rep_rules_handshake(struct rep *r, struct rep_server *s, struct rep_cert **certs,
			 unsigned n, const struct rep_handshake *h);
/* The rules of the whole picture, then every finding's words, sorted. */
void rep_rules_finish(struct rep *r);
/* The whole-picture rules alone (roles refined, phone-facing, chain
 * properties, CA identities, the phone trust model), over the model as it
 * is now: rep_rules_finish's first part, and live.c's provisional pass. */
void rep_rules_whole(struct rep *r);
/* The rules on one certificate's own properties (weak-key, weak-signature,
 * pss-signature, self-signed, missing-server-auth-eku, missing-crl-dp): true
 * when `code` holds for xi; leaf: it is its chain's first; ms: its server is
 * a Lync or Exchange one (rep_server_relevant).  false for any other code. */
bool rep_cert_rule(enum rep_code code, const struct x509_info *xi, bool leaf, bool ms);
/* certificate-changed against --baseline */
void rep_changed_rules(struct rep *r);

/* ---- verdict.c ------------------------------------------------------------- */

enum rep_verdict { REP_VERDICT_CLEAN, REP_VERDICT_FINDINGS, REP_VERDICT_INCONCLUSIVE };
struct buf;

/* At rep_finish after the rules: which servers were not checked and why,
 * the verdict, and the exit status (r->status). */
void rep_verdict_decide(struct rep *r);
const char *rep_verdict_name(enum rep_verdict v);
/* Why the run is inconclusive, appended to b; nothing for another verdict. */
void rep_verdict_reason(const struct rep *r, struct buf *b);
/* The trust rules need its chain: Lync FE, Exchange or phone-facing. */
bool rep_server_needed(const struct rep_server *s);

/* ---- evidence.c ------------------------------------------------------------ */

/* The finding of (code, server, certificate), made on first use. */
struct rep_finding *rep_finding_get(struct rep *r, enum rep_code code,
				    struct rep_server *s, struct rep_cert *cert);
void rep_finding_add_cert(struct rep_finding *f, struct rep_cert *c);
/* the chain's handshakes count for the finding (f may be NULL) */
void rep_finding_add_chain(struct rep_finding *f, const struct rep_chain *c);
void rep_finding_add_name(struct rep_finding *f, const char *name);
void rep_finding_set_fact(struct rep_finding *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *rep_finding_fact(const struct rep_finding *f, const char *key);
void rep_findings_sort(struct rep *r);
void rep_findings_free(struct rep *r);

#endif
