/*
 * rep_int.h — the report as a whole: struct rep and the headers of its four
 * parts.  Nothing outside report/ (and its tests) includes this.
 *
 *   model/   what is known: certificates, servers, roles      model/model.h
 *   rules/   what is wrong: the rules and the findings table   rules/rules.h
 *   input/   --events, --baseline, --phone-log, cert files     input/input.h
 *   output/  text, jsonl, ecs, dot, --export-certs             output/output.h
 *
 * Data goes one way: inputs fill the model, rules read it and record
 * findings, outputs render both; report.c is the front door that runs them
 * in that order.
 */
#ifndef CERTTRACE_REP_INT_H
#define CERTTRACE_REP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/json.h"
#include "lib/tls_iana.h"
#include "report/input/input.h"
#include "report/live.h"
#include "report/model/model.h"
#include "report/output/output.h"
#include "report/report.h"
#include "report/rules/rules.h"
#include "report/util.h"

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
	struct jw jw;                  /* jsonl: the line being written, reused */
	bool out_failed;               /* a jsonl line could not be made or written (said
	                                  once): nothing more is; rep_writes_ok false */
	struct rep_ecs *ecs;           /* ecs: its line writer, made on first use */
	bool export_warned;
	int export_fd;                 /* --export-certs directory, -1 none */
	struct rep_phonelog phone;     /* --phone-log */
	struct rep_baseline *baseline; /* --baseline */
	struct rep_capture_stats replayed;  /* --events: the runs' own counters */
	unsigned baseline_only_servers;
	bool finished;
	unsigned n_by_severity[3];
	enum rep_verdict verdict;      /* rules/verdict.c */
	bool nothing_checked;          /* no chain of any server was checked */
	unsigned n_not_checked, n_needed_not_checked;
	struct rep_live *live;         /* opt.live: live.c's state, else NULL */
};

#endif
