/*
 * test_report_keylog.c — what the report makes of TLS 1.3 handshakes read
 * (or not) with a key log: the same rules as for any visible chain, the
 * "decrypted"/"decrypt_error" fields of TLS 1.3 "tls" events, and a
 * certificates-hidden finding that says when the key log was the wrong one.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "tests/rep_fixture.h"

static EVP_PKEY *ca_key, *key;
static X509 *ca;

static void setup(void)
{
	ca_key = EVP_EC_gen("P-256");
	key = EVP_EC_gen("P-256");
	cr_assert(ca_key && key);
	ca = rep_ca("Issuing CA for contoso,com", ca_key, NULL, NULL);
	cr_assert_not_null(ca);
}

static void teardown(void)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
}

TestSuite(rep_keylog, .init = setup, .fini = teardown);

Test(rep_keylog, decrypted_tls13_chain_is_checked_like_any_other)
{
	struct rep_run run;
	X509 *leaf = rep_leaf("mail.contoso.com", key, ca, ca_key,
			      (const char *[]){ "mail.contoso.com", NULL });

	rep_run_start(&run, NULL);
	struct rep_handshake *t = rep_session(T_2012, "autodiscover.contoso.com",
					      (X509 *[]){ leaf, ca, NULL });
	t->version = TLS_VERSION_1_3;
	t->decrypted = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443, t);
	struct rep_handshake *t12 = rep_session(T_2012, "mail.contoso.com", (X509 *[]){ leaf, ca, NULL });
	rep_run_feed(&run, "10.0.0.21", "10.0.0.9", 443, t12);
	rep_run_finish(&run);

	cr_assert_eq(rep_run_count(&run, "certificates-hidden"), 0);
	cr_assert_not_null(rep_run_finding(&run, "name-mismatch", NULL),
			   "the decrypted chain went through the rules");
	json_t *ev = rep_run_event(&run, "tls", 0);
	cr_assert(json_is_true(json_object_get(ev, "certificates_visible")));
	cr_assert(json_is_true(json_object_get(ev, "decrypted")));
	cr_assert(json_is_null(json_object_get(ev, "decrypt_error")));
	cr_assert_eq(json_array_size(json_object_get(ev, "server_chain")), 2);
	ev = rep_run_event(&run, "tls", 1);
	cr_assert_null(json_object_get(ev, "decrypted"), "TLS 1.2 events do not carry it");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_keylog, wrong_key_log_is_named_in_the_hidden_finding)
{
	static const char why[] =
		"TLS 1.3 handshake did not decrypt with the key log's secrets (wrong key log?)";
	struct rep_run run;

	rep_run_start(&run, NULL);
	struct rep_handshake *t = rep_session(T_2012, "autodiscover.contoso.com", NULL);
	t->version = TLS_VERSION_1_3;
	t->certificates_visible = false;
	t->decrypt_error = why;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.9", 443, t);
	rep_run_finish(&run);

	json_t *ev = rep_run_event(&run, "tls", 0);
	cr_assert(json_is_false(json_object_get(ev, "decrypted")));
	cr_assert_str_eq(json_string_value(json_object_get(ev, "decrypt_error")), why);
	json_t *f = rep_run_finding(&run, "certificates-hidden", NULL);
	cr_assert_not_null(f);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(f, "evidence"), "reasons"), 0)), why);
	cr_assert(strstr(json_string_value(json_object_get(f, "message")), "wrong key log"));
	cr_assert(strstr(json_string_value(json_object_get(f, "remedy")), "this very capture"));
	rep_run_free(&run);
}
