/*
 * test_report_rules.c — every finding code other than the trust model's:
 * validity at capture time, names (RFC 6125), keys and signatures, EKU and
 * CRL DP, alerts, chains, pools, and the handshakes without certificates.
 * Each test builds the one certificate the rule is about.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

static EVP_PKEY *ca_key, *key;
static X509 *ca;

static void setup(void)
{
	ca_key = pki_key(PKI_EC, 256);
	key = pki_key(PKI_EC, 256);
	ca = rep_ca("Contoso Issuing CA", ca_key, NULL, NULL);
}

static void teardown(void)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
}

/* One handshake to web.contoso.com:443 (role other) and the finished run. */
static void run_one(struct rep_run *run, uint64_t ts, const char *sni, X509 *const *chain,
		    uint16_t port)
{
	rep_run_start(run, NULL);
	rep_run_feed(run, "10.0.0.20", "10.0.0.9", port, rep_session(ts, sni, chain));
	rep_run_finish(run);
}

TestSuite(rep_rules, .init = setup, .fini = teardown);

Test(rep_rules, expired_at_capture_time_although_valid_today)
{
	struct rep_run run;
	X509 *leaf = rep_leaf("web.contoso.com", key, ca, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });
	uint64_t ts_2041 = (uint64_t)pki_time(2041, 3, 1, 12, 0, 0) * 1000000;

	run_one(&run, ts_2041, "web.contoso.com", (X509 *[]){ leaf, NULL }, 443);
	json_t *f = rep_run_finding(&run, "expired", "web.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(f, "severity")), "critical");
	cr_assert(strstr(json_string_value(json_object_get(f, "symptom")), "12037"));
	cr_assert_eq(run.status, 1);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, valid_at_capture_time_although_expired_now_is_not_flagged)
{
	struct rep_run run;
	X509 *leaf = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "casarray.contoso.com"}},
		.key = key, .issuer = ca, .issuer_key = ca_key,
		.dns = {"casarray.contoso.com"}, .eku = {"serverAuth"},
		.not_before = pki_time(2012, 8, 8, 15, 36, 18),
		.not_after = pki_time(2014, 8, 8, 15, 36, 18),
	});

	run_one(&run, T_2012, "casarray.contoso.com", (X509 *[]){ leaf, NULL }, 443);
	cr_assert_eq(rep_run_count(&run, "expired"), 0);
	cr_assert_eq(rep_run_count(&run, "not-yet-valid"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, not_yet_valid_at_capture_time)
{
	struct rep_run run;
	X509 *leaf = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "web.contoso.com"}}, .key = key, .issuer = ca,
		.issuer_key = ca_key, .dns = {"web.contoso.com"},
	});           /* fixture default: valid from 2024 */

	run_one(&run, T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL }, 443);
	cr_assert_not_null(rep_run_finding(&run, "not-yet-valid", NULL));
	cr_assert_eq(rep_run_count(&run, "expired"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, rfc6125_wildcards)
{
	cr_assert(rep_host_matches("*.contoso.com", "a.contoso.com"));
	cr_assert(rep_host_matches("*.contoso.com", "A.Contoso.COM."));
	cr_assert_not(rep_host_matches("*.contoso.com", "a.b.contoso.com"));
	cr_assert_not(rep_host_matches("*.contoso.com", "contoso.com"));
	cr_assert_not(rep_host_matches("*.contoso.com", ".contoso.com"));
	cr_assert_not(rep_host_matches("f*.contoso.com", "foo.contoso.com"));
	cr_assert_not(rep_host_matches("*oo.contoso.com", "foo.contoso.com"));
	cr_assert_not(rep_host_matches("a.*.com", "a.contoso.com"));
	cr_assert_not(rep_host_matches("*.com", "contoso.com"));
	cr_assert(rep_host_matches("mail.contoso.com", "MAIL.contoso.com"));
	cr_assert_not(rep_host_matches("mail.contoso.com", "mail.contoso.com.evil"));
}

Test(rep_rules, name_mismatch_uses_sans_not_the_cn)
{
	struct rep_run run;
	/* CN says a.b.contoso.com but the SAN is the wildcard: SAN rules */
	X509 *leaf = rep_leaf("a.b.contoso.com", key, ca, ca_key,
			      (const char *[]){ "*.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "a.contoso.com", (X509 *[]){ leaf, NULL }));
	rep_run_feed(&run, "10.0.0.21", "10.0.0.9", 443,
		     rep_session(T_2012 + 1, "a.b.contoso.com", (X509 *[]){ leaf, NULL }));
	rep_run_feed(&run, "10.0.0.22", "10.0.0.9", 443,
		     rep_session(T_2012 + 2, "contoso.com", (X509 *[]){ leaf, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "name-mismatch"), 1);
	json_t *f = rep_run_finding(&run, "name-mismatch", NULL);
	json_t *sni = json_object_get(json_object_get(f, "evidence"), "sni");
	cr_assert_eq(json_array_size(sni), 2);
	cr_assert_str_eq(json_string_value(json_array_get(sni, 0)), "a.b.contoso.com");
	cr_assert_str_eq(json_string_value(json_array_get(sni, 1)), "contoso.com");
	cr_assert(strstr(json_string_value(json_object_get(f, "symptom")), "12038"));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(f, "evidence"),
							"handshake_count")), 2);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, cn_is_used_only_without_dns_sans)
{
	struct rep_run run;
	X509 *leaf = rep_leaf("web.contoso.com", key, ca, ca_key, NULL);

	run_one(&run, T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL }, 443);
	cr_assert_eq(rep_run_count(&run, "name-mismatch"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, rsa_1024_is_a_weak_key)
{
	struct rep_run run;
	EVP_PKEY *k1024 = pki_key(PKI_RSA, 1024);
	X509 *leaf = rep_leaf("web.contoso.com", k1024, ca, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });

	run_one(&run, T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL }, 443);
	json_t *f = rep_run_finding(&run, "weak-key", NULL);
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(f, "severity")), "warning");
	cr_assert(strstr(json_string_value(json_object_get(f, "message")), "1024-bit RSA"));
	rep_run_free(&run);
	X509_free(leaf);
	EVP_PKEY_free(k1024);
}

Test(rep_rules, sha1_is_weak_below_the_root_only)
{
	struct rep_run run;
	EVP_PKEY *root_key = pki_key(PKI_RSA, 2048), *int_key = pki_key(PKI_RSA, 2048);
	X509 *root = pki_cert(&(struct pki_spec){ .subject = {{"CN", "Old Root"}},
		.key = root_key, .ca = true, .sig = PKI_SIG_SHA1,
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *inter = pki_cert(&(struct pki_spec){ .subject = {{"CN", "Old Issuing CA"}},
		.key = int_key, .issuer = root, .issuer_key = root_key, .ca = true,
		.sig = PKI_SIG_SHA1, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *leaf = pki_cert(&(struct pki_spec){ .subject = {{"CN", "web.contoso.com"}},
		.key = key, .issuer = inter, .issuer_key = int_key, .dns = {"web.contoso.com"},
		.sig = PKI_SIG_SHA1, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });

	run_one(&run, T_2012, "web.contoso.com", (X509 *[]){ leaf, inter, root, NULL }, 443);
	cr_assert_eq(rep_run_count(&run, "weak-signature"), 2);
	size_t i;
	json_t *e;
	json_array_foreach(run.events, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		if (!code || strcmp(code, "weak-signature"))
			continue;
		json_t *c0 = json_array_get(json_object_get(json_object_get(e, "evidence"),
							    "certificates"), 0);
		cr_assert_str_neq(json_string_value(json_object_get(c0, "subject")), "CN=Old Root");
	}
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
}

Test(rep_rules, pss_signature_in_an_exchange_chain)
{
	struct rep_run run;
	EVP_PKEY *rsa = pki_key(PKI_RSA, 2048);
	X509 *rca = pki_cert(&(struct pki_spec){ .subject = {{"CN", "PSS CA"}}, .key = rsa,
		.ca = true, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *leaf = pki_cert(&(struct pki_spec){ .subject = {{"CN", "mail.contoso.com"}},
		.key = key, .issuer = rca, .issuer_key = rsa, .sig = PKI_SIG_PSS_SHA256,
		.dns = {"mail.contoso.com", "autodiscover.contoso.com"}, .eku = {"serverAuth"},
		.crl_dp = "http://pki.contoso.com/ca.crl",
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });

	run_one(&run, T_2012, "mail.contoso.com", (X509 *[]){ leaf, rca, NULL }, 443);
	json_t *f = rep_run_finding(&run, "pss-signature", "mail.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "server"), "role")),
			 "exchange");
	rep_run_free(&run);

	/* the same chain on a server that is neither Lync nor Exchange: no finding */
	X509 *plain = pki_cert(&(struct pki_spec){ .subject = {{"CN", "web.contoso.com"}},
		.key = key, .issuer = rca, .issuer_key = rsa, .sig = PKI_SIG_PSS_SHA256,
		.dns = {"web.contoso.com"}, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	run_one(&run, T_2012, "web.contoso.com", (X509 *[]){ plain, rca, NULL }, 443);
	cr_assert_eq(rep_run_count(&run, "pss-signature"), 0);
	rep_run_free(&run);
	X509_free(plain);
	X509_free(leaf);
	X509_free(rca);
	EVP_PKEY_free(rsa);
}

Test(rep_rules, eku_without_server_auth)
{
	struct rep_run run;
	X509 *leaf = pki_cert(&(struct pki_spec){ .subject = {{"CN", "web.contoso.com"}},
		.key = key, .issuer = ca, .issuer_key = ca_key, .dns = {"web.contoso.com"},
		.eku = {"clientAuth"}, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *noeku = pki_cert(&(struct pki_spec){ .subject = {{"CN", "web2.contoso.com"}},
		.key = key, .issuer = ca, .issuer_key = ca_key, .dns = {"web2.contoso.com"},
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.10", 443,
		     rep_session(T_2012, "web2.contoso.com", (X509 *[]){ noeku, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "missing-server-auth-eku"), 1);
	cr_assert_not_null(rep_run_finding(&run, "missing-server-auth-eku", "web.contoso.com"));
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(noeku);
}

Test(rep_rules, lync_and_exchange_certificates_need_a_crl_dp)
{
	struct rep_run run;
	X509 *leaf = pki_cert(&(struct pki_spec){ .subject = {{"CN", "pool01.contoso.com"}},
		.key = key, .issuer = ca, .issuer_key = ca_key, .dns = {"pool01.contoso.com"},
		.eku = {"serverAuth"}, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 8443,    /* role other */
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "missing-crl-dp"), 1);
	json_t *f = rep_run_finding(&run, "missing-crl-dp", NULL);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(f, "server"), "port")), 5061);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, self_signed_leaf)
{
	struct rep_run run;
	X509 *leaf = pki_cert(&(struct pki_spec){ .subject = {{"CN", "web.contoso.com"}},
		.key = key, .dns = {"web.contoso.com"}, .eku = {"serverAuth"},
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });

	run_one(&run, T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL }, 443);
	cr_assert_not_null(rep_run_finding(&run, "self-signed", NULL));
	cr_assert_eq(rep_run_count(&run, "chain-incomplete"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, leaf_alone_is_an_incomplete_chain)
{
	struct rep_run run;
	EVP_PKEY *root_key = pki_key(PKI_EC, 256);
	X509 *root = rep_ca("Contoso Root", root_key, NULL, NULL);
	X509 *inter = rep_ca("Contoso Sub CA", ca_key, root, root_key);
	X509 *leaf = rep_leaf("web.contoso.com", key, inter, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     rep_session(T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.10", 443,
		     rep_session(T_2012, "web.contoso.com", (X509 *[]){ leaf, inter, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "chain-incomplete"), 1);
	json_t *f = rep_run_finding(&run, "chain-incomplete", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "server"), "ip")),
			 "10.0.0.9");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "evidence"),
							   "missing_issuer")), "CN=Contoso Sub CA");
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(root_key);
}

static struct rep_handshake *with_alert(struct rep_handshake *t, bool from_client, uint8_t desc)
{
	t->alerts[0] = (struct rep_hs_alert){ .from_client = from_client,
					      .level = TLS_ALERT_LEVEL_FATAL, .description = desc,
					      .ts_us = t->server_chain.ts_us + 500 };
	t->n_alerts = 1;
	return t;
}

Test(rep_rules, client_rejects_the_certificate_with_unknown_ca)
{
	struct rep_run run;
	X509 *leaf = rep_leaf("web.contoso.com", key, ca, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443,
		     with_alert(rep_session(T_2012, "web.contoso.com", (X509 *[]){ leaf, ca, NULL }),
				true, TLS_ALERT_UNKNOWN_CA));
	rep_run_feed(&run, "10.0.0.21", "10.0.0.9", 443,
		     with_alert(rep_session(T_2012, "web.contoso.com", (X509 *[]){ leaf, ca, NULL }),
				false, TLS_ALERT_PROTOCOL_VERSION));
	rep_run_finish(&run);
	json_t *f = rep_run_finding(&run, "client-rejected-certificate", NULL);
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(f, "severity")), "critical");
	json_t *alerts = json_object_get(json_object_get(f, "evidence"), "alerts");
	cr_assert_str_eq(json_string_value(json_array_get(alerts, 0)), "client unknown_ca");
	cr_assert(strstr(json_string_value(json_object_get(f, "symptom")), "12045"));
	json_t *h = rep_run_finding(&run, "handshake-failed", NULL);
	cr_assert_not_null(h);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(
		json_object_get(h, "evidence"), "alerts"), 0)), "server protocol_version");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, one_finding_per_server_and_certificate_with_counts)
{
	struct rep_run run;
	EVP_PKEY *k1024 = pki_key(PKI_RSA, 1024);
	X509 *leaf = rep_leaf("web.contoso.com", k1024, ca, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });

	rep_run_start(&run, NULL);
	for (unsigned i = 0; i < 7; i++)
		rep_run_feed(&run, i % 2 ? "10.0.0.20" : "10.0.0.21", "10.0.0.9", 443,
			     rep_session(T_2012 + i * 1000000, "other.contoso.com",
					 (X509 *[]){ leaf, ca, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "name-mismatch"), 1);
	cr_assert_eq(rep_run_count(&run, "weak-key"), 1);
	json_t *ev = json_object_get(rep_run_finding(&run, "name-mismatch", NULL), "evidence");
	cr_assert_eq(json_integer_value(json_object_get(ev, "handshake_count")), 7);
	cr_assert_eq(json_array_size(json_object_get(ev, "handshakes")), REP_MAX_SAMPLES);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "first_seen")),
			 "2012-10-19T14:50:27.215000Z");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "last_seen")),
			 "2012-10-19T14:50:33.215000Z");
	json_t *srv = rep_run_server(&run, "10.0.0.9", 443);
	cr_assert_eq(json_array_size(json_object_get(srv, "clients")), 2);
	cr_assert_eq(json_array_size(json_object_get(srv, "chains")), 1);
	cr_assert_eq(json_integer_value(json_object_get(srv, "handshake_count")), 7);
	rep_run_free(&run);
	X509_free(leaf);
	EVP_PKEY_free(k1024);
}

Test(rep_rules, fe_pool_members_with_different_issuing_cas)
{
	struct rep_run run;
	EVP_PKEY *other_key = pki_key(PKI_EC, 256);
	X509 *other = rep_ca("Fabrikam CA", other_key, NULL, NULL);
	X509 *fe1 = rep_leaf("fe1.contoso.com", key, ca, ca_key, (const char *[]){ "fe1.contoso.com", NULL });
	X509 *fe2 = rep_leaf("fe2.contoso.com", key, ca, ca_key, (const char *[]){ "fe2.contoso.com", NULL });
	X509 *fe3 = rep_leaf("fe3.contoso.com", key, other, other_key, (const char *[]){ "fe3.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.1", 5061, rep_session(T_2012, "", (X509 *[]){ fe1, ca, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.2", 5061, rep_session(T_2012, "", (X509 *[]){ fe2, ca, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.3", 5061, rep_session(T_2012, "", (X509 *[]){ fe3, other, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "pool-issuer-split"), 1);
	json_t *f = rep_run_finding(&run, "pool-issuer-split", "fe3.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "evidence"),
							   "pool_issuing_ca")), "CN=Contoso Issuing CA");
	rep_run_free(&run);
	X509_free(fe1);
	X509_free(fe2);
	X509_free(fe3);
	X509_free(other);
	EVP_PKEY_free(other_key);
}

Test(rep_rules, handshakes_without_certificates_are_info)
{
	struct rep_run run;
	X509 *leaf = rep_leaf("web.contoso.com", key, ca, ca_key,
			      (const char *[]){ "web.contoso.com", NULL });

	rep_run_start(&run, NULL);
	struct rep_handshake *t13 = rep_session(T_2012, "web.contoso.com", NULL);
	t13->version = TLS_VERSION_1_3;
	t13->certificates_visible = false;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443, t13);
	struct rep_handshake *res = rep_session(T_2012, "web.contoso.com", NULL);
	res->resumed = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443, res);
	struct rep_handshake *cut = rep_session(T_2012, "web.contoso.com", (X509 *[]){ leaf, NULL });
	cut->status = REP_HS_TRUNCATED;
	cut->reason = "capture ended inside the Certificate message";
	cut->server_chain.truncated = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443, cut);
	cr_assert_eq(rep_run_finish(&run), 0);
	json_t *h = rep_run_finding(&run, "certificates-hidden", NULL);
	cr_assert_not_null(h);
	cr_assert_str_eq(json_string_value(json_object_get(h, "severity")), "info");
	cr_assert_not_null(rep_run_finding(&run, "resumed-no-cert", NULL));
	json_t *t = rep_run_finding(&run, "handshake-truncated", NULL);
	cr_assert_not_null(t);
	cr_assert_str_eq(json_string_value(json_object_get(t, "severity")), "warning");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_rules, unparsable_certificates_are_reported_not_fatal)
{
	struct rep_run run;
	X509 *leaf = rep_leaf("pool01.contoso.com", key, ca, ca_key,
			      (const char *[]){ "pool01.contoso.com", NULL });
	static const uint8_t junk[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00 };

	rep_run_start(&run, NULL);
	struct rep_handshake *t = rep_session(T_2012, "pool01.contoso.com", NULL);
	uint8_t *der = malloc(sizeof(junk));
	cr_assert_not_null(der);
	memcpy(der, junk, sizeof(junk));
	t->server_chain.certs[0].data = der;            /* the run frees it */
	t->server_chain.certs[0].len = sizeof(junk);
	t->server_chain.n = 1;
	t->server_chain.present = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061, t);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "autodiscover.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	rep_run_finish(&run);
	json_t *c = rep_run_event(&run, "certificate", 0);
	cr_assert_not_null(c);
	cr_assert(json_is_string(json_object_get(c, "error")));
	cr_assert_null(json_object_get(c, "subject"));
	/* the FE's issuing CA is unknown: nothing to compare the Exchange chain with */
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}
