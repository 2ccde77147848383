/*
 * test_report_live.c — report/live.c: the dedup set (once per code, server
 * and certificate, capped), and a live report writing each finding as the
 * handshake that raises it arrives, once, before the final report.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

TestSuite(rep_live);

static const uint8_t sha_a[32] = { 0xaa };
static const uint8_t sha_b[32] = { 0xbb };

Test(rep_live, a_key_is_new_once_then_seen)
{
	struct rep_live_set s;
	rep_live_set_init(&s, 16);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, sha_a), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, sha_a), REP_LIVE_SEEN);
	cr_assert_eq(rep_live_set_size(&s), 1);
	rep_live_set_free(&s);
}

Test(rep_live, code_server_and_certificate_each_make_a_new_key)
{
	struct rep_live_set s;
	rep_live_set_init(&s, 16);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, sha_a), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_NAME_MISMATCH, 3, sha_a), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 4, sha_a), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, sha_b), REP_LIVE_NEW);
	/* A finding about the server alone is its own key. */
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, NULL), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, NULL), REP_LIVE_SEEN);
	cr_assert_eq(rep_live_set_size(&s), 5);
	rep_live_set_free(&s);
}

Test(rep_live, at_the_cap_new_keys_are_refused_and_counted_old_ones_still_seen)
{
	struct rep_live_set s;
	rep_live_set_init(&s, 2);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 1, sha_a), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 2, sha_a), REP_LIVE_NEW);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 3, sha_a), REP_LIVE_FULL);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 4, sha_a), REP_LIVE_FULL);
	cr_assert_eq(rep_live_set_add(&s, RC_EXPIRED, 1, sha_a), REP_LIVE_SEEN);
	cr_assert_eq(s.over_cap, 2);
	cr_assert_eq(rep_live_set_size(&s), 2);
	rep_live_set_free(&s);
}

/* The "finding" lines written so far, before rep_finish. */
static unsigned lines_so_far(struct rep_run *run, const char *code)
{
	unsigned n = 0;
	fflush(run->out);
	for (const char *p = run->buf; p && (p = strstr(p, "\"event\":\"finding\"")); p++) {
		const char *nl = strchr(p, '\n');
		char want[64];
		snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
		const char *c = strstr(p, want);
		n += c && (!nl || c < nl);
	}
	return n;
}

Test(rep_live, a_finding_is_written_when_raised_once_per_server_and_certificate)
{
	EVP_PKEY *k = pki_key(PKI_EC, 256);
	X509 *ca = rep_ca("Contoso Issuing CA", k, NULL, NULL);
	X509 *leaf = rep_leaf("web.contoso.com", k, ca, k, (const char *[]){ "web.contoso.com", NULL });
	struct rep_options o = { .format = REP_JSONL, .fail_on = REP_NEVER, .live = true };
	struct rep_run run;

	rep_run_start(&run, &o);
	cr_assert_eq(lines_so_far(&run, "name-mismatch"), 0);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "other.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	cr_assert_eq(lines_so_far(&run, "name-mismatch"), 1, "written at the handshake");
	rep_run_feed(&run, "10.0.0.21", "10.0.0.9", 443,
		     rep_session(T_2012 + 1, "third.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	cr_assert_eq(lines_so_far(&run, "name-mismatch"), 1, "the same server and certificate");
	rep_run_feed(&run, "10.0.0.20", "10.0.0.10", 443,
		     rep_session(T_2012 + 2, "other.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	cr_assert_eq(lines_so_far(&run, "name-mismatch"), 2, "another server");
	rep_run_finish(&run);
	/* Two live lines, then the final report's two. */
	cr_assert_eq(rep_run_count(&run, "name-mismatch"), 4);
	json_t *last = rep_run_event(&run, "summary", 0);
	cr_assert_not_null(last);
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(k);
}

Test(rep_live, a_certificate_rule_that_needs_no_role_is_written_live)
{
	EVP_PKEY *ca_key = pki_key(PKI_EC, 256), *weak = pki_key(PKI_RSA, 1024);
	X509 *ca = rep_ca("Contoso Issuing CA", ca_key, NULL, NULL);
	X509 *leaf = rep_leaf("web.contoso.com", weak, ca, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });
	struct rep_options o = { .format = REP_JSONL, .fail_on = REP_NEVER, .live = true };
	struct rep_run run;

	rep_run_start(&run, &o);
	for (int i = 0; i < 3; i++)
		rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
			     rep_session(T_2012 + i, "web.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	cr_assert_eq(lines_so_far(&run, "weak-key"), 1);
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "weak-key"), 2, "the live line and the final one");
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(weak);
}

Test(rep_live, offline_findings_wait_for_the_end)
{
	EVP_PKEY *k = pki_key(PKI_EC, 256);
	X509 *ca = rep_ca("Contoso Issuing CA", k, NULL, NULL);
	X509 *leaf = rep_leaf("web.contoso.com", k, ca, k, (const char *[]){ "web.contoso.com", NULL });
	struct rep_run run;

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "other.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	cr_assert_eq(lines_so_far(&run, "name-mismatch"), 0);
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "name-mismatch"), 1);
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(k);
}

/* An FE pool on 5061 and an Exchange CAS from another CA, both used by one
 * phone; `tick`: a live report that runs the provisional pass in between. */
static void pool_and_cas(struct rep_run *run, bool live, bool tick, X509 *fe, X509 *ca1, X509 *cas)
{
	struct rep_options o = { .format = REP_JSONL, .fail_on = REP_NEVER, .live = live };

	rep_run_start(run, &o);
	rep_run_feed(run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca1, NULL }));
	if (tick)
		rep_live_tick(run->r, 1000000);
	rep_run_feed(run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012 + 1, "casarray.contoso.com", (X509 *[]){ cas, NULL }));
	if (tick) {
		rep_live_tick(run->r, 1500000);
		cr_assert_eq(lines_so_far(run, "issuer-mismatch"), 0, "at most a pass a second");
		rep_live_tick(run->r, 2000000);
	}
}

/* The final report's lines: from the first "server" event on. */
static const char *final_part(const struct rep_run *run)
{
	const char *p = strstr(run->buf, "{\"event\":\"server\"");
	cr_assert_not_null(p);
	return p;
}

Test(rep_live, the_whole_picture_rules_run_provisionally_and_leave_the_end_as_it_was)
{
	EVP_PKEY *k = pki_key(PKI_EC, 256), *k1 = pki_key(PKI_EC, 256), *k2 = pki_key(PKI_EC, 256);
	X509 *ca1 = rep_ca("Contoso Issuing CA", k1, NULL, NULL);
	X509 *ca2 = rep_ca("Fabrikam Issuing CA", k2, NULL, NULL);
	X509 *fe = rep_leaf("pool01.contoso.com", k, ca1, k1, (const char *[]){ "pool01.contoso.com", NULL });
	X509 *cas = rep_leaf("casarray.contoso.com", k, ca2, k2,
			     (const char *[]){ "casarray.contoso.com", "autodiscover.contoso.com", NULL });
	struct rep_run live, plain;

	pool_and_cas(&live, true, true, fe, ca1, cas);
	cr_assert_eq(lines_so_far(&live, "issuer-mismatch"), 1, "written by the pass");
	rep_live_tick(live.r, 9000000);
	cr_assert_eq(lines_so_far(&live, "issuer-mismatch"), 1, "once, and no pass without handshakes");
	rep_run_finish(&live);
	pool_and_cas(&plain, false, false, fe, ca1, cas);
	rep_run_finish(&plain);
	cr_assert_str_eq(final_part(&live), final_part(&plain),
			 "the final report does not depend on the passes");
	cr_assert_not_null(rep_run_finding(&plain, "issuer-mismatch", "casarray.contoso.com"));
	rep_run_free(&live);
	rep_run_free(&plain);
	X509_free(fe);
	X509_free(cas);
	X509_free(ca1);
	X509_free(ca2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* --format ecs live: a finding is an alert document at its handshake, and a
 * stats event is a metric document, both before the final report. */
Test(rep_live, ecs_writes_live_alerts_and_stats_metrics)
{
	EVP_PKEY *k = pki_key(PKI_EC, 256);
	X509 *ca = rep_ca("Contoso Issuing CA", k, NULL, NULL);
	X509 *leaf = rep_leaf("web.contoso.com", k, ca, k, (const char *[]){ "web.contoso.com", NULL });
	struct rep_options o = { .format = REP_ECS, .fail_on = REP_NEVER, .live = true };
	struct rep_run run;

	rep_run_start(&run, &o);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "other.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	rep_live_stats(run.r, &(struct rep_live_stats){ .ts_us = T_2012, .packets = 7,
						       .bytes = 900, .flows_active = 1,
						       .flows_total = 1 });
	fflush(run.out);
	const char *alert = strstr(run.buf, "\"rule\":{\"name\":\"name-mismatch\"");
	const char *metric = strstr(run.buf, "\"dataset\":\"certtrace.stats\"");
	cr_assert_not_null(strstr(run.buf, "\"kind\":\"alert\""), "%s", run.buf);
	cr_assert_not_null(alert, "%s", run.buf);
	cr_assert_not_null(metric, "%s", run.buf);
	cr_assert_not_null(strstr(metric, "\"stats\":{\"packets\":7,\"bytes\":900,"), "%s", metric);
	cr_assert_null(strstr(run.buf, "certtrace.summary"), "nothing of the end yet");
	rep_run_finish(&run);
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(k);
}
