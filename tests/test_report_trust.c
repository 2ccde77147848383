/*
 * test_report_trust.c — the phone trust model: which Exchange chains a Lync
 * phone accepts, decided by CA name AND key, with OpenSSL when the CA
 * certificates are known and by identity when only leaves were sent.
 *
 * The shape of every test is the seed's: an FE pool on 10.0.0.5:5061, an
 * Exchange CAS on 10.0.0.6:443 whose certificate carries
 * autodiscover.contoso.com, phones at 10.0.0.20.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

static const char *const FE_NAMES[] = { "pool01.contoso.com", "sip.contoso.com", NULL };
static const char *const CAS_NAMES[] = { "casarray.contoso.com", "autodiscover.contoso.com", NULL };

struct pki {
	EVP_PKEY *root_key, *ca_key, *other_key, *fe_key, *cas_key;
	X509 *root, *ca, *other, *fe, *cas;
};

/* root -> "Issuing CA" -> FE leaf; a second CA "Other CA" under its own key. */
static void pki_make(struct pki *p, const char *other_cn)
{
	memset(p, 0, sizeof(*p));
	p->root_key = pki_key(PKI_EC, 256);
	p->ca_key = pki_key(PKI_EC, 256);
	p->other_key = pki_key(PKI_EC, 256);
	p->fe_key = pki_key(PKI_EC, 256);
	p->cas_key = pki_key(PKI_EC, 256);
	p->root = rep_ca("Contoso Root", p->root_key, NULL, NULL);
	p->ca = rep_ca("Issuing CA", p->ca_key, p->root, p->root_key);
	if (other_cn)      /* a self-signed CA of its own */
		p->other = rep_ca(other_cn, p->other_key, NULL, NULL);
	p->fe = rep_leaf("pool01.contoso.com", p->fe_key, p->ca, p->ca_key, FE_NAMES);
}

static void pki_free(struct pki *p)
{
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->other_key);
	EVP_PKEY_free(p->fe_key);
	EVP_PKEY_free(p->cas_key);
	X509_free(p->root);
	X509_free(p->ca);
	X509_free(p->other);
	X509_free(p->fe);
	X509_free(p->cas);
}

static void feed_fe(struct rep_run *run, X509 *const *chain)
{
	rep_run_feed(run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", chain));
}

static void feed_cas(struct rep_run *run, X509 *const *chain)
{
	rep_run_feed(run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012 + 600000, "casarray.contoso.com", chain));
}

static const char *chain_method(const struct rep_run *run)
{
	json_t *s = rep_run_server(run, "10.0.0.6", 443);
	cr_assert_not_null(s);
	json_t *c = json_array_get(json_object_get(s, "chains"), 0);
	return json_string_value(json_object_get(c, "trust_method"));
}

static bool chain_trusted(const struct rep_run *run)
{
	json_t *s = rep_run_server(run, "10.0.0.6", 443);
	json_t *c = json_array_get(json_object_get(s, "chains"), 0);
	cr_assert(json_is_boolean(json_object_get(c, "trusted_by_phones")));
	return json_is_true(json_object_get(c, "trusted_by_phones"));
}

Test(rep_trust, exchange_from_the_fe_pools_ca_is_trusted)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, NULL);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.ca, p.ca_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert(chain_trusted(&run));
	cr_assert_str_eq(chain_method(&run), "verified with OpenSSL against the FE chain");
	rep_run_free(&run);
	pki_free(&p);
}

Test(rep_trust, exchange_from_another_ca_is_issuer_mismatch_naming_its_thumbprint)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, "Other CA");
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	struct x509_info *other = pki_info(p.other);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, p.root, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, p.other, NULL });
	cr_assert_eq(rep_run_finish(&run), 1);

	json_t *f = rep_run_finding(&run, "issuer-mismatch", "casarray.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(f, "severity")), "critical");
	const char *remedy = json_string_value(json_object_get(f, "remedy"));
	cr_assert(strstr(remedy, other->thumbprint), "remedy lacks the CA thumbprint: %s", remedy);
	cr_assert(strstr(remedy, "New-CsWebTrustedCACertificate -Thumbprint"));
	cr_assert(strstr(remedy, "Set-CsWebServiceConfiguration -Identity global -TrustedCACerts @{Add=$ca}"));
	cr_assert(strstr(remedy, "CN=Issuing CA"), "remedy names the FE pool's CA: %s", remedy);
	const char *symptom = json_string_value(json_object_get(f, "symptom"));
	cr_assert(strstr(symptom, "12045") && strstr(symptom, "Insecure server"));
	json_t *ev = json_object_get(f, "evidence");
	/* no public root of the system store either: a mismatch, and it says so */
	cr_assert_str_eq(json_string_value(json_object_get(ev, "method")),
			 "verified with OpenSSL against the FE chain and the system store");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "issuing_ca")), "CN=Other CA");
	cr_assert_eq(json_integer_value(json_object_get(ev, "handshake_count")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(
		json_array_get(json_object_get(ev, "handshakes"), 0), "ts")),
		"2012-10-19T14:50:27.814000Z");
	json_t *c0 = json_array_get(json_object_get(ev, "certificates"), 0);
	struct x509_info *cas = pki_info(p.cas);
	cr_assert_str_eq(json_string_value(json_object_get(c0, "thumbprint")), cas->thumbprint);
	cr_assert_not(chain_trusted(&run));
	x509_unref(cas);
	x509_unref(other);
	rep_run_free(&run);
	pki_free(&p);
}

Test(rep_trust, unknown_ca_certificate_remedy_says_how_to_find_the_thumbprint)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, "Other CA");
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	rep_run_finish(&run);
	json_t *f = rep_run_finding(&run, "issuer-mismatch", NULL);
	cr_assert_not_null(f);
	const char *remedy = json_string_value(json_object_get(f, "remedy"));
	cr_assert(strstr(remedy, "Get-ExchangeCertificate | Format-List Issuer,Thumbprint"));
	cr_assert(strstr(remedy, "-like '*Other CA*'"), "%s", remedy);
	rep_run_free(&run);
	pki_free(&p);
}

Test(rep_trust, fe_leaf_only_compares_issuer_name_and_key_identifier)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, NULL);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.ca, p.ca_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert(chain_trusted(&run));
	cr_assert_str_eq(chain_method(&run), "issuer name and key identifier compared");
	rep_run_free(&run);
	pki_free(&p);
}

/* Same CA name, another key: by name they are one CA, by key two. */
static void same_name_other_key(bool fe_sends_ca)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, NULL);
	p.other = rep_ca("Issuing CA", p.other_key, p.root, p.root_key);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	if (fe_sends_ca)
		feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	else
		feed_fe(&run, (X509 *[]){ p.fe, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	rep_run_finish(&run);
	json_t *f = rep_run_finding(&run, "issuer-mismatch", "casarray.contoso.com");
	cr_assert_not_null(f, "the same issuer name must not pass for the same CA");
	cr_assert_str_eq(chain_method(&run), fe_sends_ca
			 ? "verified with OpenSSL against the FE chain and the system store"
			 : "issuer name and key identifier compared; verified with OpenSSL "
			   "against the system store");
	json_t *d = rep_run_finding(&run, "same-dn-different-key", NULL);
	cr_assert_not_null(d);
	cr_assert_str_eq(json_string_value(json_object_get(d, "severity")), "critical");
	json_t *ev = json_object_get(d, "evidence");
	char fe_id[41], other_id[41];
	pki_key_id_hex(p.ca_key, fe_id);
	pki_key_id_hex(p.other_key, other_id);
	const char *k1 = json_string_value(json_object_get(ev, "issuing_ca_key_id"));
	const char *k2 = json_string_value(json_object_get(ev, "other_ca_key_id"));
	cr_assert((!strcmp(k1, fe_id) && !strcmp(k2, other_id)) ||
		  (!strcmp(k1, other_id) && !strcmp(k2, fe_id)));
	/* a same-name pair is not also a look-alike pair */
	cr_assert_eq(rep_run_count(&run, "lookalike-ca-name"), 0);
	rep_run_free(&run);
	pki_free(&p);
}

Test(rep_trust, same_name_different_key_is_decided_by_key_with_openssl)
{
	same_name_other_key(true);
}

Test(rep_trust, same_name_different_key_is_decided_by_key_identifier)
{
	same_name_other_key(false);
}

/* The documented verdict: phones trust the FE chain as sent. */
Test(rep_trust, other_intermediate_under_the_fe_root_is_trusted_when_the_fe_sent_its_root)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, NULL);
	p.other = rep_ca("Second Issuing CA", p.other_key, p.root, p.root_key);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, p.root, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, p.other, NULL });
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert(chain_trusted(&run));
	rep_run_free(&run);
	pki_free(&p);
}

Test(rep_trust, other_intermediate_is_a_mismatch_when_only_the_fe_issuing_ca_is_known)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, NULL);
	p.other = rep_ca("Second Issuing CA", p.other_key, p.root, p.root_key);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, p.other, NULL });
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 1);
	rep_run_free(&run);
	pki_free(&p);
}

Test(rep_trust, trust_option_turns_a_mismatch_into_no_finding)
{
	struct pki p;
	struct rep_run run;
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	char path[] = "/tmp/rep_trust_XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	close(fd);
	pki_make(&p, "Other CA");
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	pki_write_pem(path, p.other, NULL);
	opt.trust_files[opt.n_trust++] = path;
	rep_run_start(&run, &opt);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert(chain_trusted(&run));
	cr_assert_str_eq(chain_method(&run), "verified with OpenSSL against a --trust CA");
	rep_run_free(&run);
	pki_free(&p);
	unlink(path);
}

Test(rep_trust, unreadable_trust_file_is_a_one_line_reason)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	char err[256] = "";

	opt.trust_files[opt.n_trust++] = "/nonexistent/ca.pem";
	cr_assert_null(rep_new(&opt, stdout, err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/ca.pem"), "%s", err);
	cr_assert_null(strchr(err, '\n'));
}

/* An expired certificate from the right CA is "expired", not "another CA". */
Test(rep_trust, time_errors_do_not_pass_for_issuer_errors)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, NULL);
	p.cas = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "casarray.contoso.com"}},
		.key = p.cas_key, .issuer = p.ca, .issuer_key = p.ca_key,
		.dns = {"casarray.contoso.com", "autodiscover.contoso.com"},
		.eku = {"clientAuth"}, .crl_dp = "http://pki.contoso.com/ca.crl",
		.not_before = pki_time(2010, 1, 1, 0, 0, 0),
		.not_after = pki_time(2011, 1, 1, 0, 0, 0),
	});
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert_not_null(rep_run_finding(&run, "expired", "casarray.contoso.com"));
	cr_assert_not_null(rep_run_finding(&run, "missing-server-auth-eku", "casarray.contoso.com"));
	rep_run_free(&run);
	pki_free(&p);
}

/* One side captured, the other exported: --cert exchange=FILE. */
Test(rep_trust, exported_exchange_certificate_is_compared_with_the_captured_fe)
{
	struct pki p;
	struct rep_run run;
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	char path[] = "/tmp/rep_cert_XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	close(fd);
	pki_make(&p, "Other CA");
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	pki_write_der(path, p.cas);
	opt.certs[opt.n_certs].role = ROLE_EXCHANGE;
	opt.certs[opt.n_certs++].file = path;
	rep_run_start(&run, &opt);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, NULL });
	rep_run_finish(&run);
	json_t *f = rep_run_finding(&run, "issuer-mismatch", "casarray.contoso.com");
	cr_assert_not_null(f);
	json_t *srv = json_object_get(f, "server");
	cr_assert(json_is_null(json_object_get(srv, "ip")));
	cr_assert_str_eq(json_string_value(json_object_get(srv, "role")), "exchange");
	json_t *ps = rep_run_server(&run, NULL, 0);
	cr_assert_not_null(ps);
	cr_assert(strstr(json_string_value(json_object_get(ps, "role_reason")), "--cert exchange="));
	rep_run_free(&run);
	pki_free(&p);
	unlink(path);
}

/* A pool split between two CAs (pool-issuer-split): a phone trusts the CA of
 * the FE it signs in to, so an Exchange chain from one of them still fails
 * on the phones of the other, and the finding names that other CA. */
Test(rep_trust, pool_split_between_cas_fails_for_the_phones_of_the_other_ca)
{
	struct pki p;
	struct rep_run run;

	pki_make(&p, "Other CA");
	EVP_PKEY *fe2_key = pki_key(PKI_EC, 256);
	X509 *fe2 = rep_leaf("pool01.contoso.com", fe2_key, p.other, p.other_key, FE_NAMES);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, p.other, p.other_key, CAS_NAMES);
	rep_run_start(&run, NULL);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, p.root, NULL });
	rep_run_feed(&run, "10.0.0.21", "10.0.0.7", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe2, p.other, NULL }));
	feed_cas(&run, (X509 *[]){ p.cas, p.other, NULL });
	cr_assert_eq(rep_run_finish(&run), 1);

	json_t *f = rep_run_finding(&run, "issuer-mismatch", "casarray.contoso.com");
	cr_assert_not_null(f, "trusted by fe2's phones is not enough: fe1's phones fail");
	json_t *ev = json_object_get(f, "evidence");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "method")),
			 "verified with OpenSSL against each FE CA's chain");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "fe_issuing_ca")),
			 "CN=Issuing CA");
	cr_assert_eq(rep_run_count(&run, "pool-issuer-split"), 1);
	cr_assert_not(chain_trusted(&run));
	rep_run_free(&run);
	X509_free(fe2);
	EVP_PKEY_free(fe2_key);
	pki_free(&p);
}

/* Two FE CAs, and an Exchange chain that reaches both (a --trust CA that
 * every phone has): no mismatch. */
Test(rep_trust, pool_split_with_exchange_trusted_by_every_phone_is_no_mismatch)
{
	struct pki p;
	struct rep_run run;
	char path[] = "/tmp/ct-trust-XXXXXX";

	pki_make(&p, "Other CA");
	EVP_PKEY *fe2_key = pki_key(PKI_EC, 256);
	EVP_PKEY *x_key = pki_key(PKI_EC, 256);
	X509 *fe2 = rep_leaf("pool01.contoso.com", fe2_key, p.other, p.other_key, FE_NAMES);
	X509 *xca = rep_ca("Exchange CA", x_key, NULL, NULL);
	p.cas = rep_leaf("casarray.contoso.com", p.cas_key, xca, x_key, CAS_NAMES);
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	pki_write_pem(path, xca, NULL);
	struct rep_options o = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	o.trust_files[o.n_trust++] = path;
	rep_run_start(&run, &o);
	feed_fe(&run, (X509 *[]){ p.fe, p.ca, p.root, NULL });
	rep_run_feed(&run, "10.0.0.21", "10.0.0.7", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe2, p.other, NULL }));
	feed_cas(&run, (X509 *[]){ p.cas, NULL });
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert(chain_trusted(&run));
	rep_run_free(&run);
	unlink(path);
	X509_free(fe2);
	X509_free(xca);
	EVP_PKEY_free(fe2_key);
	EVP_PKEY_free(x_key);
	pki_free(&p);
}
