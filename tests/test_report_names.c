/*
 * test_report_names.c — look-alike CA names: the seed's pair must be
 * flagged, numbered siblings of public CA families must not, and a capture
 * of public web traffic must not produce look-alike noise at all.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/x509.h>

#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

/* An X509_NAME from "C=US", "O=...", "CN=..." pairs, most significant first. */
static X509_NAME *name_of(const char *const *rdns)
{
	X509_NAME *n = X509_NAME_new();

	cr_assert_not_null(n);
	for (unsigned i = 0; rdns[i]; i += 2)
		cr_assert(X509_NAME_add_entry_by_txt(n, rdns[i], MBSTRING_UTF8,
						     (const unsigned char *)rdns[i + 1], -1, -1, 0));
	return n;
}

static bool alike(const char *const *a, const char *const *b)
{
	X509_NAME *x = name_of(a), *y = name_of(b);
	char why[200] = "";
	bool r = rep_names_lookalike(x, y, why, sizeof(why));

	X509_NAME_free(x);
	X509_NAME_free(y);
	return r;
}

#define N(...) ((const char *const[]){ __VA_ARGS__, NULL })

Test(rep_names, the_seeds_two_issuing_cas_look_alike)
{
	cr_assert(alike(N("CN", "Issuing CA for contoso,com"),
			N("DC", "com", "DC", "contoso", "CN", "Issuing-CA for contoso")));
}

Test(rep_names, punctuation_case_spacing_and_order_do_not_matter)
{
	cr_assert(alike(N("O", "Contoso", "CN", "Contoso Issuing CA"),
			N("CN", "contoso  issuing-ca", "O", "Contoso")));
	cr_assert(alike(N("CN", "Contoso Issuing CA"), N("CN", "ContosoIssuing CA")));
	cr_assert(alike(N("CN", "Contoso Issuing CA"), N("CN", "Contoso Issueing CA")));
	cr_assert(alike(N("CN", "Contoso Issuing CA"),
			N("DC", "com", "DC", "contoso", "CN", "Contoso Issuing CA")));
}

Test(rep_names, the_same_name_is_not_a_lookalike)
{
	cr_assert_not(alike(N("CN", "Contoso Issuing CA"), N("CN", "Contoso Issuing CA")));
}

Test(rep_names, public_ca_families_are_not_lookalikes)
{
	cr_assert_not(alike(N("C", "US", "O", "Let's Encrypt", "CN", "R3"),
			    N("C", "US", "O", "Let's Encrypt", "CN", "R10")));
	cr_assert_not(alike(N("C", "US", "O", "DigiCert Inc", "CN", "DigiCert TLS RSA SHA256 2020 CA1"),
			    N("C", "US", "O", "DigiCert Inc", "OU", "www.digicert.com",
			      "CN", "DigiCert Global Root CA")));
	cr_assert_not(alike(N("C", "US", "O", "Google Trust Services LLC", "CN", "GTS CA 1C3"),
			    N("C", "US", "O", "Google Trust Services LLC", "CN", "GTS Root R1")));
	cr_assert_not(alike(N("C", "US", "O", "Amazon", "CN", "Amazon RSA 2048 M01"),
			    N("C", "US", "O", "Amazon", "CN", "Amazon RSA 2048 M02")));
	cr_assert_not(alike(N("C", "GB", "O", "Sectigo Limited", "CN", "Sectigo RSA Domain Validation Secure Server CA"),
			    N("C", "GB", "O", "Sectigo Limited", "CN", "Sectigo RSA Organization Validation Secure Server CA")));
	cr_assert_not(alike(N("C", "US", "O", "DigiCert Inc", "CN", "DigiCert Global Root G2"),
			    N("C", "US", "O", "DigiCert Inc", "CN", "DigiCert Global Root G3")));
	cr_assert_not(alike(N("C", "GB", "O", "COMODO CA Limited", "CN", "COMODO RSA Certification Authority"),
			    N("C", "GB", "O", "COMODO CA Limited", "CN", "COMODO ECC Certification Authority")));
	cr_assert_not(alike(N("C", "US", "O", "Microsoft Corporation", "CN", "Microsoft Azure RSA TLS Issuing CA 03"),
			    N("C", "US", "O", "Microsoft Corporation", "CN", "Microsoft Azure RSA TLS Issuing CA 04")));
}

Test(rep_names, normalised_form_folds_dc_components_and_case)
{
	X509_NAME *n = name_of(N("DC", "com", "DC", "contoso", "CN", "Issuing-CA for contoso"));
	char *s = rep_name_normalise(n);

	cr_assert_str_eq(s, "ca com contoso for issuing");
	free(s);
	X509_NAME_free(n);
}

/* The seed, end to end: FE and Exchange under the two look-alike CAs. */
Test(rep_names, seed_pair_on_fe_and_exchange_is_flagged)
{
	struct rep_run run;
	EVP_PKEY *k1 = pki_key(PKI_EC, 256), *k2 = pki_key(PKI_EC, 256), *k = pki_key(PKI_EC, 256);
	X509 *ca1 = pki_cert(&(struct pki_spec){ .subject = {{"CN", "Issuing CA for contoso,com"}},
		.key = k1, .ca = true, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *ca2 = pki_cert(&(struct pki_spec){
		.subject = {{"DC", "com"}, {"DC", "contoso"}, {"CN", "Issuing-CA for contoso"}},
		.key = k2, .ca = true, .not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *fe = rep_leaf("pool01.contoso.com", k, ca1, k1, (const char *[]){ "pool01.contoso.com", NULL });
	X509 *cas = rep_leaf("casarray.contoso.com", k, ca2, k2,
			     (const char *[]){ "casarray.contoso.com", "autodiscover.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca1, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "casarray.contoso.com", (X509 *[]){ cas, NULL }));
	rep_run_finish(&run);
	json_t *f = rep_run_finding(&run, "lookalike-ca-name", "casarray.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_object_get(f, "severity")), "warning");
	json_t *ev = json_object_get(f, "evidence");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "issuing_ca")),
			 "CN=Issuing-CA for contoso,DC=contoso,DC=com");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "other_ca")),
			 "CN=Issuing CA for contoso\\,com");
	cr_assert_not_null(rep_run_finding(&run, "issuer-mismatch", "casarray.contoso.com"));
	rep_run_free(&run);
	X509_free(fe);
	X509_free(cas);
	X509_free(ca1);
	X509_free(ca2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

/* Public web traffic: look-alike CAs that issue no Lync/Exchange server. */
Test(rep_names, no_lookalike_noise_between_unrelated_servers)
{
	struct rep_run run;
	EVP_PKEY *k1 = pki_key(PKI_EC, 256), *k2 = pki_key(PKI_EC, 256), *k = pki_key(PKI_EC, 256);
	X509 *ca1 = rep_ca("Example Issuing CA", k1, NULL, NULL);
	X509 *ca2 = rep_ca("Example-Issuing CA", k2, NULL, NULL);
	X509 *a = rep_leaf("a.example.com", k, ca1, k1, (const char *[]){ "a.example.com", NULL });
	X509 *b = rep_leaf("b.example.com", k, ca2, k2, (const char *[]){ "b.example.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "192.0.2.1", 443,
		     rep_session(T_2012, "a.example.com", (X509 *[]){ a, ca1, NULL }));
	rep_run_feed(&run, "10.0.0.20", "192.0.2.2", 443,
		     rep_session(T_2012, "b.example.com", (X509 *[]){ b, ca2, NULL }));
	rep_run_finish(&run);
	cr_assert_eq(rep_run_count(&run, "lookalike-ca-name"), 0);
	rep_run_free(&run);
	X509_free(a);
	X509_free(b);
	X509_free(ca1);
	X509_free(ca2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}
