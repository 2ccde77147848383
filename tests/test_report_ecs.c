/*
 * test_report_ecs.c — --format ecs: network.community_id against the
 * Community ID spec's vectors, and the documents of a two-server run (the
 * seed's shape) field by field.  tests/ecs.py checks every field's name and
 * type against ECS's fields.csv over all the samples.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

static struct rep_endpoint ep(const char *ip, uint16_t port)
{
	struct rep_endpoint e = { .port = port };

	snprintf(e.ip, sizeof(e.ip), "%s", ip);
	return e;
}

Test(rep_ecs, community_id_matches_the_spec_and_both_directions)
{
	struct rep_endpoint a = ep("1.2.3.4", 1122), b = ep("5.6.7.8", 3344);
	char id[64], back[64];

	/* The spec's (and Zeek's) vectors for this flow, TCP and UDP. */
	cr_assert(rep_ecs_community_id(&a, &b, 6, id, sizeof(id)));
	cr_assert_str_eq(id, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
	cr_assert(rep_ecs_community_id(&a, &b, 17, id, sizeof(id)));
	cr_assert_str_eq(id, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
	cr_assert(rep_ecs_community_id(&b, &a, 17, back, sizeof(back)));
	cr_assert_str_eq(back, id);

	struct rep_endpoint c = ep("2001:db8::1", 1122), d = ep("2001:db8::2", 443);
	cr_assert(rep_ecs_community_id(&c, &d, 6, id, sizeof(id)));
	cr_assert(rep_ecs_community_id(&d, &c, 6, back, sizeof(back)));
	cr_assert_str_eq(id, back);
	cr_assert_eq(strlen(id), 30);

	cr_assert_not(rep_ecs_community_id(&a, &c, 6, id, sizeof(id)), "v4 with v6");
	struct rep_endpoint bad = ep("not an address", 1);
	cr_assert_not(rep_ecs_community_id(&bad, &a, 6, id, sizeof(id)));
	cr_assert_not(rep_ecs_community_id(&a, &b, 6, id, 30), "no room for the NUL");
}

/* ---- a run ------------------------------------------------------------------------- */

static EVP_PKEY *fe_ca_key, *cas_ca_key, *key;
static X509 *fe_ca, *cas_ca, *fe, *cas;

static void setup(void)
{
	fe_ca_key = pki_key(PKI_EC, 256);
	cas_ca_key = pki_key(PKI_EC, 256);
	key = pki_key(PKI_EC, 256);
	fe_ca = rep_ca("Issuing CA for contoso,com", fe_ca_key, NULL, NULL);
	cas_ca = rep_ca("Other CA", cas_ca_key, NULL, NULL);
	fe = rep_leaf("pool01.contoso.com", key, fe_ca, fe_ca_key,
		      (const char *[]){ "pool01.contoso.com", NULL });
	cas = rep_leaf("casarray.contoso.com", key, cas_ca, cas_ca_key,
		       (const char *[]){ "casarray.contoso.com", "autodiscover.contoso.com", NULL });
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

TestSuite(rep_ecs_run, .init = setup, .fini = teardown);

/* Every line of the run's output, parsed. */
static json_t *docs_of(const struct rep_run *run)
{
	json_t *docs = json_array();
	const char *line = run->buf, *nl;

	while (line && *line) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl, "last line without a newline");
		json_error_t e;
		json_t *j = json_loadb(line, (size_t)(nl - line), 0, &e);
		cr_assert_not_null(j, "not JSON (%s): %.*s", e.text, (int)(nl - line), line);
		json_array_append_new(docs, j);
		line = nl + 1;
	}
	return docs;
}

/* A member by dotted path ("tls.server.x509.subject.common_name"). */
static json_t *at(json_t *o, const char *path)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf, *dot; o && p; p = dot) {
		dot = strchr(p, '.');
		if (dot)
			*dot++ = '\0';
		o = json_object_get(o, p);
	}
	return o;
}

static const char *str_at(json_t *o, const char *path)
{
	return json_string_value(at(o, path));
}

/* The nth document of a dataset. */
static json_t *doc(json_t *docs, const char *dataset, unsigned nth)
{
	size_t i;
	json_t *d;

	json_array_foreach(docs, i, d) {
		const char *ds = str_at(d, "event.dataset");
		if (ds && !strcmp(ds, dataset) && nth-- == 0)
			return d;
	}
	return NULL;
}

Test(rep_ecs_run, handshake_finding_server_and_summary_documents)
{
	struct rep_options opt = { .format = REP_ECS, .fail_on = REP_CRITICAL };
	struct rep_run run;

	rep_run_start(&run, &opt);
	struct rep_handshake *t = rep_session(T_2012, "pool01.contoso.com",
					      (X509 *[]){ fe, fe_ca, NULL });
	t->alpn[0] = "sip";
	t->n_alpn = 1;
	t->alpn_selected = "sip";
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061, t);
	for (unsigned i = 0; i < 2; i++)
		rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
			     rep_session(T_2012 + 636000 + i, "casarray.contoso.com",
					 (X509 *[]){ cas, cas_ca, NULL }));
	rep_run_finish(&run);
	json_t *docs = docs_of(&run);

	json_t *h = doc(docs, "certtrace.tls", 0);
	cr_assert_not_null(h);
	cr_assert_str_eq(str_at(h, "@timestamp"), "2012-10-19T14:50:27.214000Z");
	cr_assert_str_eq(str_at(h, "ecs.version"), "9.4.0");
	cr_assert_str_eq(str_at(h, "event.kind"), "event");
	cr_assert_str_eq(json_string_value(json_array_get(at(h, "event.category"), 0)), "network");
	cr_assert_str_eq(str_at(h, "client.ip"), "10.0.0.20");
	cr_assert_eq(json_integer_value(at(h, "server.port")), 5061);
	cr_assert_str_eq(str_at(h, "server.domain"), "pool01.contoso.com");
	cr_assert_str_eq(str_at(h, "network.transport"), "tcp");
	cr_assert_str_eq(str_at(h, "network.type"), "ipv4");
	cr_assert_str_eq(str_at(h, "tls.version"), "1.2");
	cr_assert_str_eq(str_at(h, "tls.version_protocol"), "tls");
	cr_assert_str_eq(str_at(h, "tls.next_protocol"), "sip");
	cr_assert(json_is_true(at(h, "tls.established")));
	cr_assert(json_is_false(at(h, "tls.resumed")));
	cr_assert_str_eq(str_at(h, "tls.client.server_name"), "pool01.contoso.com");
	cr_assert_str_eq(json_string_value(json_array_get(at(h,
		"tls.server.x509.subject.common_name"), 0)), "pool01.contoso.com");
	cr_assert_str_eq(json_string_value(json_array_get(at(h,
		"tls.server.x509.alternative_names"), 0)), "pool01.contoso.com");
	cr_assert_str_eq(str_at(h, "tls.server.x509.public_key_algorithm"), "EC");
	cr_assert_str_eq(str_at(h, "tls.server.x509.public_key_curve"), "prime256v1");
	cr_assert_str_eq(str_at(h, "tls.server.x509.version_number"), "3");
	cr_assert_eq(strlen(str_at(h, "tls.server.hash.sha256")), 64);
	cr_assert_eq(json_array_size(at(h, "tls.server.certificate_chain")), 2);
	cr_assert_str_eq(str_at(h, "certtrace.role"), "lync-fe");

	/* The CAS chain's DER once, on its first handshake. */
	json_t *h2 = doc(docs, "certtrace.tls", 1), *h3 = doc(docs, "certtrace.tls", 2);
	cr_assert_not_null(at(h2, "tls.server.certificate_chain"));
	cr_assert_null(at(h3, "tls.server.certificate_chain"));
	cr_assert_str_eq(str_at(h3, "tls.server.hash.sha1"), str_at(h2, "tls.server.hash.sha1"));
	cr_assert_null(at(h3, "tls.next_protocol"));

	json_t *f = NULL;
	for (unsigned i = 0; (f = doc(docs, "certtrace.finding", i)); i++)
		if (!strcmp(str_at(f, "rule.name"), "issuer-mismatch"))
			break;
	cr_assert_not_null(f, "an issuer-mismatch alert");
	cr_assert_str_eq(str_at(f, "event.kind"), "alert");
	cr_assert_eq(json_integer_value(at(f, "event.severity")), 73);
	cr_assert_str_eq(str_at(f, "rule.category"), "trust");
	cr_assert_str_eq(str_at(f, "server.ip"), "10.0.0.6");
	cr_assert_not_null(str_at(f, "message"));
	cr_assert_str_eq(str_at(f, "certtrace.finding.severity"), "critical");
	cr_assert_not_null(str_at(f, "certtrace.finding.remedy"));
	cr_assert_not_null(str_at(f, "tls.server.hash.sha1"));

	json_t *s = doc(docs, "certtrace.server", 1);
	cr_assert_str_eq(str_at(s, "event.kind"), "asset");
	cr_assert_str_eq(str_at(s, "certtrace.server.role"), "exchange");
	json_t *chain = json_array_get(at(s, "certtrace.server.chains"), 0);
	cr_assert(json_is_false(json_object_get(chain, "trusted_by_phones")));

	json_t *last = json_array_get(docs, json_array_size(docs) - 1);
	cr_assert_str_eq(str_at(last, "event.dataset"), "certtrace.summary");
	cr_assert_str_eq(str_at(last, "event.kind"), "metric");
	cr_assert_str_eq(str_at(last, "certtrace.summary.verdict"), "findings");
	cr_assert_eq(json_integer_value(at(last, "certtrace.summary.handshakes")), 3);
	cr_assert_eq(json_integer_value(at(last, "certtrace.summary.exit_status")), 1);
	cr_assert_str_eq(str_at(last, "@timestamp"), "2012-10-19T14:50:27.850001Z");

	json_decref(docs);
	rep_run_free(&run);
}
