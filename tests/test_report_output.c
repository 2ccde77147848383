/*
 * test_report_output.c — what leaves the report: the jsonl contract field by
 * field, the text and dot renderers, roles and how they were decided, and
 * the exit status for each --fail-on level.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>

#include "report/output/jsonl_fields.h"
#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

static EVP_PKEY *fe_ca_key, *cas_ca_key, *key;
static X509 *fe_ca, *cas_ca, *fe, *cas;

/* The seed: FE from one CA, the CAS array from a look-alike other. */
static void setup(void)
{
	fe_ca_key = pki_key(PKI_EC, 256);
	cas_ca_key = pki_key(PKI_EC, 256);
	key = pki_key(PKI_EC, 256);
	fe_ca = rep_ca("Issuing CA for contoso,com", fe_ca_key, NULL, NULL);
	cas_ca = pki_cert(&(struct pki_spec){
		.subject = {{"DC", "com"}, {"DC", "contoso"}, {"CN", "Issuing-CA for contoso"}},
		.key = cas_ca_key, .ca = true,
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	fe = rep_leaf("pool01.contoso.com", key, fe_ca, fe_ca_key,
		      (const char *[]){ "pool01.contoso.com", NULL });
	cas = rep_leaf("casarray.contoso.com", key, cas_ca, cas_ca_key,
		       (const char *[]){ "casarray.contoso.com", "cas01.contoso.com",
					 "autodiscover.contoso.com", NULL });
}

static void teardown(void)
{
	X509_free(fe);
	X509_free(cas);
	X509_free(fe_ca);
	X509_free(cas_ca);
	EVP_PKEY_free(fe_ca_key);
	EVP_PKEY_free(cas_ca_key);
	EVP_PKEY_free(key);
}

static void feed_seed(struct rep_run *run)
{
	struct rep_handshake *t = rep_session(T_2012, "pool01.contoso.com",
					      (X509 *[]){ fe, fe_ca, NULL });
	t->alpn[0] = "sip";
	t->n_alpn = 1;
	rep_run_feed(run, "10.0.0.20", "10.0.0.5", 5061, t);
	rep_run_feed(run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012 + 636000, "casarray.contoso.com",
				 (X509 *[]){ cas, cas_ca, NULL }));
}

TestSuite(rep_jsonl, .init = setup, .fini = teardown);
TestSuite(rep_render, .init = setup, .fini = teardown);
TestSuite(rep_roles, .init = setup, .fini = teardown);
TestSuite(rep_exit, .init = setup, .fini = teardown);

static void assert_keys(json_t *o, const char *const *keys)
{
	for (unsigned i = 0; keys[i]; i++)
		cr_assert(json_object_get(o, keys[i]) != NULL, "missing \"%s\" in %s", keys[i],
			  json_string_value(json_object_get(o, "event")));
}

Test(rep_jsonl, every_event_carries_the_contract_fields)
{
	struct rep_run run;

	rep_run_start(&run, NULL);
	feed_seed(&run);
	rep_run_finish(&run);

	json_t *tls = rep_run_event(&run, "tls", 0);
	cr_assert_not_null(tls);
	assert_keys(tls, (const char *[]){ "ts", "client", "server", "version", "cipher", "sni",
		"alpn", "ja3", "ja3s", "resumed", "certificates_visible", "server_chain",
		"client_chain", "acceptable_cas", "alerts", "role", "app", NULL });
	cr_assert_str_eq(json_string_value(json_object_get(tls, "ts")), "2012-10-19T14:50:27.214000Z");
	cr_assert_str_eq(json_string_value(json_object_get(tls, "version")), "TLS 1.2");
	cr_assert_str_eq(json_string_value(json_object_get(tls, "cipher")),
			 "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	cr_assert_str_eq(json_string_value(json_object_get(tls, "role")), "lync-fe");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(tls, "client"), "ip")),
			 "10.0.0.20");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(tls, "server"), "port")), 5061);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(tls, "alpn"), 0)), "sip");
	cr_assert(json_is_null(json_object_get(tls, "app")));
	json_t *chain = json_object_get(tls, "server_chain");
	cr_assert_eq(json_array_size(chain), 2);
	assert_keys(json_array_get(chain, 0), (const char *[]){ "sha1", "subject", "issuer", NULL });
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(chain, 1), "subject")),
			 "CN=Issuing CA for contoso\\,com");

	/* each certificate announced once, before the first tls event naming it */
	size_t i;
	json_t *e;
	unsigned certs = 0;
	json_array_foreach(run.events, i, e) {
		const char *ev = json_string_value(json_object_get(e, "event"));
		if (!strcmp(ev, "certificate")) {
			certs++;
			assert_keys(e, (const char *[]){ "sha1", "sha256", "thumbprint", "subject",
				"issuer", "serial", "not_before", "not_after", "key_type", "key_bits",
				"signature_algorithm", "san", "ski", "aki", "is_ca", "eku", "crl_dp",
				NULL });
			const char *sha1 = json_string_value(json_object_get(e, "sha1"));
			for (size_t j = 0; j < i; j++) {
				json_t *t = json_array_get(run.events, j);
				json_t *sc = json_object_get(t, "server_chain");
				for (size_t k = 0; k < json_array_size(sc); k++)
					cr_assert_str_neq(json_string_value(json_object_get(
						json_array_get(sc, k), "sha1")), sha1,
						"certificate after a tls event naming it");
			}
		}
	}
	cr_assert_eq(certs, 4);

	json_t *f = rep_run_event(&run, "finding", 0);
	assert_keys(f, (const char *[]){ "code", "severity", "server", "message", "symptom",
		"remedy", "evidence", NULL });
	assert_keys(json_object_get(f, "server"), (const char *[]){ "ip", "port", "name", "role", NULL });
	assert_keys(json_object_get(f, "evidence"), (const char *[]){ "certificates", "handshakes", NULL });
	json_t *c0 = json_array_get(json_object_get(json_object_get(f, "evidence"), "certificates"), 0);
	assert_keys(c0, (const char *[]){ "sha1", "thumbprint", "subject", "issuer", NULL });

	json_t *last = json_array_get(run.events, json_array_size(run.events) - 1);
	cr_assert_str_eq(json_string_value(json_object_get(last, "event")), "summary");
	assert_keys(last, (const char *[]){ "packets", "bytes", "flows", "handshakes",
		"certificates", "findings", NULL });
	cr_assert_eq(json_integer_value(json_object_get(last, "handshakes")), 2);
	cr_assert_eq(json_integer_value(json_object_get(last, "certificates")), 4);
	json_t *fs = json_object_get(last, "findings");
	cr_assert_eq(json_integer_value(json_object_get(fs, "critical")), 1);
	cr_assert_eq(json_integer_value(json_object_get(fs, "warning")), 1);
	cr_assert_null(json_object_get(last, "kernel_dropped"), "not live: no kernel counters");
	rep_run_free(&run);
}

Test(rep_jsonl, alerts_and_acceptable_cas_are_named)
{
	struct rep_run run;
	struct rep_handshake *t = rep_session(T_2012, "pool01.contoso.com",
					      (X509 *[]){ fe, fe_ca, NULL });
	unsigned char *dn = NULL;
	int dnlen = i2d_X509_NAME(X509_get_subject_name(fe_ca), &dn);

	cr_assert(dnlen > 0);
	t->ca_names[0].data = dn;
	t->ca_names[0].len = (size_t)dnlen;
	t->n_ca_names = 1;
	t->alerts[0] = (struct rep_hs_alert){ .from_client = true, .level = TLS_ALERT_LEVEL_FATAL,
					      .description = TLS_ALERT_UNKNOWN_CA,
					      .ts_us = T_2012 + 5000 };
	t->alerts[1] = (struct rep_hs_alert){ .from_client = false, .encrypted = true };
	t->n_alerts = 2;
	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061, t);
	rep_run_finish(&run);
	json_t *tls = rep_run_event(&run, "tls", 0);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(tls, "acceptable_cas"), 0)),
			 "CN=Issuing CA for contoso\\,com");
	json_t *a = json_array_get(json_object_get(tls, "alerts"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(a, "from")), "client");
	cr_assert_str_eq(json_string_value(json_object_get(a, "level")), "fatal");
	cr_assert_str_eq(json_string_value(json_object_get(a, "description")), "unknown_ca");
	rep_run_free(&run);            /* frees t, not the name we lent it */
	OPENSSL_free(dn);
}

/* --events reads a "tls" event back into the record it was written from:
 * the event the second run writes is the first run's, field by field (but
 * acceptable_cas, whose DER jsonl does not carry), odd values included. */
Test(rep_jsonl, replayed_tls_events_are_the_events_written)
{
	struct rep_run first, second;
	char path[] = "/tmp/certtrace-replay-XXXXXX";
	char err[256] = "";
	int fd = mkstemp(path);
	struct rep_handshake *t = rep_session(T_2012, "pool01.contoso.com",
					      (X509 *[]){ fe, fe_ca, NULL });

	cr_assert(fd >= 0);
	t->cipher = 0x0a0a;                    /* GREASE: not in the IANA table */
	t->alpn[0] = "sip";
	t->alpn[1] = "h2";
	t->n_alpn = 2;
	t->ja3s = "fedcba9876543210fedcba9876543210";
	t->status = REP_HS_TRUNCATED;
	t->reason = "capture ended inside the Certificate message";
	t->preamble = "SMTP STARTTLS";
	t->server_chain.truncated = true;
	t->alerts[0] = (struct rep_hs_alert){ .from_client = true, .level = TLS_ALERT_LEVEL_FATAL,
					      .description = 200, .ts_us = T_2012 + 5000 };
	t->alerts[1] = (struct rep_hs_alert){ .encrypted = true, .ts_us = T_2012 + 6000 };
	t->alerts[2] = (struct rep_hs_alert){ .level = TLS_ALERT_LEVEL_WARNING,
					      .description = TLS_ALERT_UNKNOWN_CA,
					      .ts_us = T_2012 + 7000 };
	t->n_alerts = 3;
	t->app = "TLS.Microsoft";
	t->risks[0] = "Self-signed Certificate";
	t->n_risks = 1;
	struct rep_handshake *t13 = rep_session(T_2012 + 1, "", NULL);
	t13->version = TLS_VERSION_1_3;
	t13->cipher = 0x1302;
	t13->certificates_visible = false;
	t13->decrypt_error = "the key log's secrets do not open it";
	t13->snaplen_cut_packets = 4;          /* the capture's snaplen cut it */
	t13->snaplen = 96;
	rep_run_start(&first, NULL);
	rep_run_feed(&first, "10.0.0.20", "10.0.0.5", 5061, t);
	rep_run_feed(&first, "10.0.0.21", "10.0.0.9", 443, t13);
	rep_run_finish(&first);
	cr_assert_eq(write(fd, first.buf, first.len), (ssize_t)first.len);
	close(fd);

	rep_run_start(&second, NULL);
	cr_assert(rep_replay_events(second.r, path, err, sizeof(err)), "%s", err);
	rep_run_finish(&second);
	unlink(path);
	for (unsigned i = 0; i < 2; i++) {
		json_t *a = json_deep_copy(rep_run_event(&first, "tls", i));
		json_t *b = json_deep_copy(rep_run_event(&second, "tls", i));
		cr_assert_not_null(a);
		cr_assert_not_null(b);
		json_object_del(a, "acceptable_cas");
		json_object_del(b, "acceptable_cas");
		char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);
		cr_assert_str_eq(sb, sa);
		free(sa);
		free(sb);
		json_decref(a);
		json_decref(b);
	}
	cr_assert_eq(json_integer_value(json_object_get(rep_run_event(&second, "tls", 1),
							"snaplen_cut_packets")), 4);
	cr_assert_not_null(rep_run_finding(&second, "handshake-truncated", NULL),
			   "the replayed snaplen judges it again");
	json_t *alerts = json_object_get(rep_run_event(&second, "tls", 0), "alerts");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(alerts, 0),
							   "description")), "unknown");
	cr_assert_str_eq(json_string_value(json_object_get(rep_run_event(&second, "tls", 0),
							   "cipher")), "unknown (0x0a0a)");
	rep_run_free(&first);
	rep_run_free(&second);
}

Test(rep_jsonl, live_summary_has_kernel_counters)
{
	struct rep_run run;
	struct rep_capture_stats st = { .live = true, .kernel_received = 10, .kernel_dropped = 3 };

	rep_run_start(&run, NULL);
	/* no handshake: nothing was checked, which is not a clean bill */
	cr_assert_eq(rep_finish(run.r, &st), 3);
	fflush(run.out);
	cr_assert(strstr(run.buf, "\"verdict\":\"inconclusive\""));
	cr_assert(strstr(run.buf, "\"kernel_received\":10"));
	cr_assert(strstr(run.buf, "\"kernel_dropped\":3"));
	rep_run_free(&run);
}

/* Times are rep_iso_us()'s text for any uint64_t, years past 9999 too (a
 * pcapng timestamp can say anything): jw_time_us's calendar against
 * gmtime_r's, which cannot fail below year 2^31. */
Test(rep_jsonl, far_times_are_written_as_rep_iso_us_writes_them)
{
	const uint64_t ts[] = { UINT64_C(253402300799999999), UINT64_C(253402300800000000),
				UINT64_C(4000000000000000000), UINT64_MAX };

	for (unsigned i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		struct rep_run run;
		char want[40];
		rep_run_start(&run, NULL);
		rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
			     rep_session(ts[i], "pool01.contoso.com", (X509 *[]){ fe, fe_ca, NULL }));
		rep_run_finish(&run);
		rep_iso_us(ts[i], want, sizeof(want));
		cr_assert_str_eq(json_string_value(json_object_get(rep_run_event(&run, "tls", 0),
								   "ts")), want);
		rep_run_free(&run);
	}
}

/* The field tables the writer and --events share hold what the reader
 * assumes: summary counters are all uint64_t members. */
Test(rep_jsonl, summary_counter_tables_are_all_u64)
{
	const struct jw_table *t[] = { &rep_jf_capture_head, &rep_jf_capture_tail };

	for (unsigned i = 0; i < 2; i++)
		for (size_t j = 0; j < t[i]->n; j++)
			cr_assert_eq(t[i]->fields[j].kind, JW_U64, "%s", t[i]->fields[j].name);
	cr_assert_eq(rep_jf_endpoint.n, 2);
}

/* --events adds every counter of the earlier run's summary to this run's:
 * each counter the tables name, written and read through the same table. */
Test(rep_jsonl, replayed_summary_adds_every_capture_counter)
{
	const struct jw_table *t[] = { &rep_jf_capture_head, &rep_jf_capture_tail };
	struct rep_capture_stats st = { 0 }, none = { 0 };
	struct rep_run first, second;
	char path[] = "/tmp/certtrace-replay-XXXXXX";
	char err[256] = "";
	uint64_t v = 1;
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	for (unsigned i = 0; i < 2; i++)
		for (size_t j = 0; j < t[i]->n; j++)
			*(uint64_t *)(void *)((char *)&st + t[i]->fields[j].off) = v++ * 1000;
	rep_run_start(&first, NULL);
	rep_finish(first.r, &st);
	fflush(first.out);
	cr_assert_eq(write(fd, first.buf, first.len), (ssize_t)first.len);
	close(fd);
	/* -q: a run with no "tls" events is worth a warning, not here */
	rep_run_start(&second, &(struct rep_options){ .format = REP_JSONL,
						      .fail_on = REP_CRITICAL, .verbose = -1 });
	cr_assert(rep_replay_events(second.r, path, err, sizeof(err)), "%s", err);
	rep_finish(second.r, &none);
	fflush(second.out);
	unlink(path);
	const char *sum = strstr(second.buf, "{\"event\":\"summary\"");
	cr_assert_not_null(sum);
	v = 1;
	for (unsigned i = 0; i < 2; i++) {
		for (size_t j = 0; j < t[i]->n; j++) {
			char want[96];
			snprintf(want, sizeof(want), "\"%s\":%llu,", t[i]->fields[j].name,
				 (unsigned long long)(v++ * 1000));
			cr_assert(strstr(sum, want), "%s not in %s", want, sum);
		}
	}
	rep_run_free(&first);
	rep_run_free(&second);
}

/* Output that cannot be written is an error (DESIGN.md, exit status 2),
 * said once however many lines fail. */
/* stderr into a temporary file while a test runs; what was said. */
struct said {
	FILE *f;
	int saved_fd;
	char text[512];
};

static void said_start(struct said *x)
{
	x->f = tmpfile();
	cr_assert_not_null(x->f);
	fflush(stderr);
	x->saved_fd = dup(STDERR_FILENO);
	cr_assert(x->saved_fd >= 0);
	cr_assert(dup2(fileno(x->f), STDERR_FILENO) >= 0);
}

static const char *said_end(struct said *x)
{
	fflush(stderr);
	dup2(x->saved_fd, STDERR_FILENO);
	close(x->saved_fd);
	rewind(x->f);
	size_t n = fread(x->text, 1, sizeof(x->text) - 1, x->f);
	x->text[n] = '\0';
	fclose(x->f);
	return x->text;
}

Test(rep_jsonl, a_full_output_is_said_once_and_the_status_is_2)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_NEVER,
				   .flush_lines = true };
	FILE *full = fopen("/dev/full", "w");
	char err[256] = "";
	struct said said;

	cr_assert_not_null(full);
	struct rep *r = rep_new(&opt, full, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	said_start(&said);
	for (unsigned i = 0; i < 3; i++) {
		struct rep_handshake *t = rep_session(T_2012 + i, "pool01.contoso.com",
						      (X509 *[]){ fe, fe_ca, NULL });
		snprintf(t->client.ip, sizeof(t->client.ip), "10.0.0.20");
		snprintf(t->server.ip, sizeof(t->server.ip), "10.0.0.5");
		t->server.port = 5061;
		rep_handshake(r, t);
		rep_session_free(t);
		cr_assert(!rep_writes_ok(r));
	}
	int status = rep_finish(r, NULL);
	const char *text = said_end(&said);
	rep_free(r);
	fclose(full);
	cr_assert_eq(status, 2, "fail_on never, yet the output was lost");
	cr_assert_str_eq(text, "certtrace: cannot write the report: No space left on device\n");
}

/* The same for text, which prints through stdio: found at the end. */
Test(rep_render, a_full_output_gives_status_2_for_text_too)
{
	struct rep_options opt = { .format = REP_TEXT, .fail_on = REP_NEVER };
	FILE *full = fopen("/dev/full", "w");
	char err[256] = "";
	struct said said;

	cr_assert_not_null(full);
	struct rep *r = rep_new(&opt, full, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	said_start(&said);
	int status = rep_finish(r, NULL);
	const char *text = said_end(&said);
	rep_free(r);
	fclose(full);
	cr_assert_eq(status, 2);
	cr_assert_str_eq(text, "certtrace: cannot write the report: No space left on device\n");
}

static char *render(enum rep_format format, bool color)
{
	struct rep_options opt = { .format = format, .fail_on = REP_CRITICAL, .color = color };
	struct rep_run run;

	rep_run_start(&run, &opt);
	feed_seed(&run);
	rep_run_finish(&run);
	char *out = strdup(run.buf);
	rep_run_free(&run);
	return out;
}

Test(rep_render, text_lists_servers_by_role_then_findings_then_a_verdict)
{
	char *s = render(REP_TEXT, false);
	char *fe_at = strstr(s, "lync-fe\n"), *ex_at = strstr(s, "exchange\n");
	char *findings = strstr(s, "findings\n"), *verdict = strstr(s, "verdict: 1 critical, 1 warning");

	cr_assert(fe_at && ex_at && findings && verdict, "%s", s);
	cr_assert(fe_at < ex_at && ex_at < findings && findings < verdict);
	cr_assert(strstr(s, "role lync-fe: port 5061"));
	cr_assert(strstr(s, "role exchange: SAN autodiscover.contoso.com"));
	cr_assert(strstr(s, "issuer-mismatch"));
	cr_assert(strstr(s, "New-CsWebTrustedCACertificate"));
	cr_assert(strstr(s, "phones do NOT trust it"));
	cr_assert_null(strchr(s, '\033'), "no colour unless asked");
	free(s);
	s = render(REP_TEXT, true);
	cr_assert_not_null(strstr(s, "\033[1;31m"));
	free(s);
}

Test(rep_render, dot_draws_the_mismatch_red_and_renders)
{
	char *s = render(REP_DOT, false);

	cr_assert(strstr(s, "digraph certtrace {"));
	cr_assert(strstr(s, "color=red"), "%s", s);
	cr_assert(strstr(s, "cluster_"));
	cr_assert(strstr(s, "look-alike names"));
	if (access("/usr/bin/dot", X_OK) == 0) {
		char path[] = "/tmp/rep_dot_XXXXXX";
		int fd = mkstemp(path);
		cr_assert(fd >= 0);
		cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
		close(fd);
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "dot -Tsvg %s >/dev/null 2>&1", path);
		cr_assert_eq(system(cmd), 0, "dot -Tsvg refused the output");
		unlink(path);
	}
	free(s);
}

static const char *role_of(const struct rep_run *run, const char *ip, unsigned port,
			   const char **reason)
{
	json_t *s = rep_run_server(run, ip, port);
	cr_assert_not_null(s, "no server %s:%u", ip, port);
	*reason = json_string_value(json_object_get(s, "role_reason"));
	return json_string_value(json_object_get(s, "role"));
}

Test(rep_roles, port_sni_and_san_decide_and_say_how)
{
	struct rep_run run;
	const char *why;
	X509 *mail = rep_leaf("mail.contoso.com", key, cas_ca, cas_ca_key,
			      (const char *[]){ "mail.contoso.com", NULL });

	rep_run_start(&run, NULL);
	feed_seed(&run);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.7", 443,
		     rep_session(T_2012, "autodiscover.contoso.com", (X509 *[]){ mail, NULL }));
	/* autodiscover off the HTTPS ports: not Exchange by the port rules, but
	 * the phone 10.0.0.20 uses it in contoso.com: phone-facing, and its
	 * Exchange name makes it exchange */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.8", 8443,
		     rep_session(T_2012, "autodiscover.contoso.com", (X509 *[]){ mail, NULL }));
	/* the same off the HTTPS ports, used by a PC that never signs in to the FE */
	rep_run_feed(&run, "10.0.0.99", "10.0.0.10", 8443,
		     rep_session(T_2012, "autodiscover.contoso.com", (X509 *[]){ mail, NULL }));
	/* shares the certificate of 10.0.0.7, asked by another name */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 444,
		     rep_session(T_2012, "mail.contoso.com", (X509 *[]){ mail, NULL }));
	/* the FE's web services carry the pool certificate */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 4443,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, fe_ca, NULL }));
	rep_run_finish(&run);
	cr_assert_str_eq(role_of(&run, "10.0.0.5", 5061, &why), "lync-fe");
	cr_assert_str_eq(why, "port 5061 (SIP over TLS)");
	cr_assert_str_eq(role_of(&run, "10.0.0.6", 443, &why), "exchange");
	cr_assert_str_eq(why, "SAN autodiscover.contoso.com");
	cr_assert_str_eq(role_of(&run, "10.0.0.7", 443, &why), "exchange");
	cr_assert_str_eq(why, "SNI autodiscover.contoso.com");
	cr_assert_str_eq(role_of(&run, "10.0.0.8", 8443, &why), "exchange");
	cr_assert_str_eq(why, "SNI autodiscover.contoso.com, an Exchange name, on a phone-facing server");
	cr_assert_str_eq(role_of(&run, "10.0.0.10", 8443, &why), "other");
	cr_assert_str_eq(why, "no rule matched (port 8443)");
	cr_assert_str_eq(role_of(&run, "10.0.0.9", 444, &why), "exchange");
	cr_assert(strstr(why, "with exchange server 10.0.0.7:443"), "%s", why);
	cr_assert_str_eq(role_of(&run, "10.0.0.5", 4443, &why), "lync-fe");
	cr_assert(strstr(why, "with lync-fe server 10.0.0.5:5061"), "%s", why);
	rep_run_free(&run);
	X509_free(mail);
}

Test(rep_roles, role_option_always_wins)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL, .n_roles = 3 };
	struct rep_run run;
	const char *why;

	snprintf(opt.roles[0].name, sizeof(opt.roles[0].name), "CASARRAY.contoso.*");
	opt.roles[0].role = ROLE_OTHER;
	snprintf(opt.roles[1].name, sizeof(opt.roles[1].name), "10.0.0.5:5061");
	opt.roles[1].role = ROLE_LYNC_EDGE;
	snprintf(opt.roles[2].name, sizeof(opt.roles[2].name), "10.0.0.7");
	opt.roles[2].role = ROLE_EXCHANGE;
	rep_run_start(&run, &opt);
	feed_seed(&run);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.7", 8443,
		     rep_session(T_2012, "mail.contoso.com", (X509 *[]){ cas, NULL }));
	rep_run_finish(&run);
	cr_assert_str_eq(role_of(&run, "10.0.0.6", 443, &why), "other");
	cr_assert_str_eq(why, "--role CASARRAY.contoso.*=other (SNI casarray.contoso.com)");
	cr_assert_str_eq(role_of(&run, "10.0.0.5", 5061, &why), "lync-edge");
	cr_assert_str_eq(why, "--role 10.0.0.5:5061=lync-edge");
	cr_assert_str_eq(role_of(&run, "10.0.0.7", 8443, &why), "exchange");
	rep_run_free(&run);
}

Test(rep_roles, names_parse_and_print)
{
	enum rep_role r;

	cr_assert(rep_role_parse("lync-fe", &r) && r == ROLE_LYNC_FE);
	cr_assert(rep_role_parse("Exchange", &r) && r == ROLE_EXCHANGE);
	cr_assert(rep_role_parse("lync-edge", &r) && r == ROLE_LYNC_EDGE);
	cr_assert(rep_role_parse("other", &r) && r == ROLE_OTHER);
	cr_assert_not(rep_role_parse("sharepoint", &r));
	cr_assert_str_eq(rep_role_name(ROLE_EXCHANGE), "exchange");
}

/* One warning-level finding (weak key) and nothing else. */
static int exit_with(enum rep_severity fail_on)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = fail_on };
	struct rep_run run;
	EVP_PKEY *k1024 = pki_key(PKI_RSA, 1024);
	X509 *weak = rep_leaf("web.contoso.com", k1024, fe_ca, fe_ca_key,
			      (const char *[]){ "web.contoso.com", NULL });

	rep_run_start(&run, &opt);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "web.contoso.com", (X509 *[]){ weak, fe_ca, NULL }));
	int status = rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "weak-key"), 1);
	rep_run_free(&run);
	X509_free(weak);
	EVP_PKEY_free(k1024);
	return status;
}

Test(rep_exit, fail_on_levels)
{
	cr_assert_eq(exit_with(REP_CRITICAL), 0);
	cr_assert_eq(exit_with(REP_WARNING), 1);
	cr_assert_eq(exit_with(REP_INFO), 1);
	cr_assert_eq(exit_with(REP_NEVER), 0);
}

Test(rep_exit, critical_fails_every_level_but_never)
{
	static const enum rep_severity levels[] = { REP_INFO, REP_WARNING, REP_CRITICAL, REP_NEVER };

	for (unsigned i = 0; i < 4; i++) {
		struct rep_options opt = { .format = REP_JSONL, .fail_on = levels[i] };
		struct rep_run run;
		rep_run_start(&run, &opt);
		feed_seed(&run);
		cr_assert_eq(rep_run_finish(&run), levels[i] == REP_NEVER ? 0 : 1);
		rep_run_free(&run);
	}
}

Test(rep_exit, no_findings_exit_zero_even_at_info)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_INFO };
	struct rep_run run;

	rep_run_start(&run, &opt);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, fe_ca, NULL }));
	cr_assert_eq(rep_run_finish(&run), 0, "%s", run.buf);
	rep_run_free(&run);
}

TestSuite(rep_files, .init = setup, .fini = teardown);

Test(rep_files, export_certs_writes_each_certificate_once_as_pem_and_der)
{
	char dir[] = "/tmp/rep_export_XXXXXX";
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_NEVER };
	struct rep_run run;

	cr_assert_not_null(mkdtemp(dir));
	opt.export_dir = dir;
	rep_run_start(&run, &opt);
	feed_seed(&run);
	feed_seed(&run);
	rep_run_finish(&run);
	struct x509_info *xi = pki_info(cas_ca);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s.pem", dir, xi->sha1_hex);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "no %s", path);
	X509 *back = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(back);
	cr_assert_eq(X509_cmp(back, cas_ca), 0);
	X509_free(back);
	x509_unref(xi);
	rep_run_free(&run);
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "cd %s && test $(ls | wc -l) -eq 9 && test $(ls *.pem | wc -l) -eq 4 "
		 "&& test $(ls *.cer | wc -l) -eq 4 && test $(wc -l < index.tsv) -eq 5 && rm -r %s",
		 dir, dir);
	cr_assert_eq(system(cmd), 0, "expected the 4 certificates as .pem and .cer and index.tsv "
		     "in %s", dir);
}

/* The FE exported as a PEM chain, the Exchange side captured. */
Test(rep_files, cert_option_reads_a_pem_chain_as_a_pseudo_server)
{
	char path[] = "/tmp/rep_fe_XXXXXX";
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	struct rep_run run;
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	close(fd);
	pki_write_pem(path, fe, fe_ca, NULL);
	opt.certs[0].role = ROLE_LYNC_FE;
	opt.certs[0].file = path;
	opt.n_certs = 1;
	rep_run_start(&run, &opt);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "casarray.contoso.com", (X509 *[]){ cas, cas_ca, NULL }));
	cr_assert_eq(rep_run_finish(&run), 1);
	json_t *ps = rep_run_server(&run, NULL, 0);
	cr_assert_not_null(ps);
	cr_assert_str_eq(json_string_value(json_object_get(ps, "name")), "pool01.contoso.com");
	cr_assert_str_eq(json_string_value(json_object_get(ps, "role")), "lync-fe");
	json_t *c = json_array_get(json_object_get(ps, "chains"), 0);
	cr_assert_eq(json_array_size(json_object_get(c, "certificates")), 2);
	cr_assert_not_null(rep_run_finding(&run, "issuer-mismatch", "casarray.contoso.com"));
	rep_run_free(&run);
	unlink(path);
}

Test(rep_files, a_file_that_is_no_certificate_is_refused)
{
	char path[] = "/tmp/rep_junk_XXXXXX";
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	char err[256] = "";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "hello", 5), 5);
	close(fd);
	opt.certs[0].role = ROLE_EXCHANGE;
	opt.certs[0].file = path;
	opt.n_certs = 1;
	cr_assert_null(rep_new(&opt, stdout, err, sizeof(err)));
	cr_assert(strstr(err, "not a PEM or DER certificate"), "%s", err);
	unlink(path);
}
