/*
 * rep_fixture.h — driving the report in tests: hand-built handshake
 * records (struct rep_handshake with DER from the PKI fixture) in, the
 * jsonl output parsed back with jansson, and lookups over the events.
 *
 *	struct rep_run run;
 *	rep_run_start(&run, NULL);                 // default options, jsonl
 *	struct rep_handshake *t = rep_session(T_2012, "casarray.contoso.com",
 *					      (X509 *[]){ leaf, ca, NULL });
 *	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443, t);
 *	rep_run_finish(&run);                      // parses every line
 *	json_t *f = rep_run_finding(&run, "issuer-mismatch", NULL);
 *	rep_run_free(&run);
 */
#ifndef CERTTRACE_REP_FIXTURE_H
#define CERTTRACE_REP_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "lib/tls_iana.h"
#include "report/report.h"

/* 2012-10-19T14:50:27.214000Z, the seed's phone log. */
#define T_2012 UINT64_C(1350658227214000)

struct rep_run {
	struct rep_options opt;
	struct rep *r;
	char *buf;
	size_t len;
	FILE *out;
	json_t *events;                /* every line, parsed */
	int status;
	unsigned n_sessions;
	struct rep_handshake *sessions[64];
};

/* opt NULL: jsonl, fail on critical. */
void rep_run_start(struct rep_run *run, const struct rep_options *opt);
/* A complete TLS 1.2 handshake at ts_us with this SNI ("" none) and server
 * chain (NULL-terminated, may be empty); the run frees it, or
 * rep_session_free() does: the record and every DER of its chains. */
struct rep_handshake *rep_session(uint64_t ts_us, const char *sni, X509 *const *chain);
void rep_session_free(struct rep_handshake *t);
/* Sets the record's endpoints (client port 50855) and hands it over. */
void rep_run_feed(struct rep_run *run, const char *client_ip, const char *server_ip,
		  uint16_t port, struct rep_handshake *t);
int rep_run_finish(struct rep_run *run);
void rep_run_free(struct rep_run *run);

/* Events of one kind; findings with a code (and server name, or NULL). */
json_t *rep_run_event(const struct rep_run *run, const char *event, unsigned nth);
json_t *rep_run_finding(const struct rep_run *run, const char *code, const char *server_name);
unsigned rep_run_count(const struct rep_run *run, const char *code);
/* The final "server" event of ip:port (port 0: the --cert pseudo-server). */
json_t *rep_run_server(const struct rep_run *run, const char *ip, unsigned port);

/* A CA or a server certificate, valid 2010-01-01 .. 2040-01-01 so T_2012
 * and today are both inside. */
#define REP_NOT_BEFORE ((time_t)1262304000)
#define REP_NOT_AFTER  ((time_t)2208988800)
X509 *rep_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key);
/* Leaf with serverAuth, a CRL DP and these DNS names (NULL-terminated). */
X509 *rep_leaf(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
	       const char *const *dns);

#endif
