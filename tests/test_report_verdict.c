/*
 * test_report_verdict.c — issue 16's verdict: which servers are phone-facing
 * and why, the pool's server-to-server peers, public roots with and without
 * --phone-roots, expires-soon and --at at their boundaries, the snaplen, and
 * the exit status of a run that could not check what the rules need.
 *
 * The shape is the seed's: an FE pool on 10.0.0.5:5061 (pool01.contoso.com,
 * sip.contoso.com, from "Issuing CA"), phones at 10.0.0.20, servers they
 * use on 10.0.0.6 and up; a PC at 10.0.0.99 that never signs in to the FE.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

static const char *const FE_NAMES[] = { "pool01.contoso.com", "sip.contoso.com", NULL };

static EVP_PKEY *ca_key, *other_key, *key;
static X509 *ca, *other, *fe;

static void setup(void)
{
	ca_key = pki_key(PKI_EC, 256);
	other_key = pki_key(PKI_EC, 256);
	key = pki_key(PKI_EC, 256);
	ca = rep_ca("Issuing CA", ca_key, NULL, NULL);
	other = rep_ca("Unrelated Web CA", other_key, NULL, NULL);
	fe = rep_leaf("pool01.contoso.com", key, ca, ca_key, FE_NAMES);
}

static void teardown(void)
{
	X509_free(fe);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(key);
}

TestSuite(rep_facing, .init = setup, .fini = teardown);
TestSuite(rep_peers, .init = setup, .fini = teardown);
TestSuite(rep_roots, .init = setup, .fini = teardown);
TestSuite(rep_expiry, .init = setup, .fini = teardown);
TestSuite(rep_verdict, .init = setup, .fini = teardown);

static void feed_fe(struct rep_run *run, const char *phone)
{
	rep_run_feed(run, phone, "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
}

/* A leaf from the unrelated CA with these names. */
static X509 *web_leaf(const char *const *dns)
{
	return rep_leaf(dns[0], key, other, other_key, dns);
}

static json_t *server(const struct rep_run *run, const char *ip, unsigned port)
{
	json_t *s = rep_run_server(run, ip, port);
	cr_assert_not_null(s, "no server event for %s:%u", ip, port);
	return s;
}

static bool facing(const struct rep_run *run, const char *ip, unsigned port)
{
	json_t *f = json_object_get(server(run, ip, port), "phone_facing");
	cr_assert(json_is_boolean(f));
	return json_is_true(f);
}

static const char *str_of(json_t *o, const char *field)
{
	const char *v = json_string_value(json_object_get(o, field));
	cr_assert_not_null(v, "no string \"%s\"", field);
	return v;
}

static const char *role(const struct rep_run *run, const char *ip, unsigned port)
{
	return str_of(server(run, ip, port), "role");
}

/* ---- phone-facing ---------------------------------------------------------------- */

Test(rep_facing, a_phone_of_the_pool_using_a_server_in_its_domain_makes_it_phone_facing)
{
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "apps.contoso.com", NULL });

	rep_run_start(&run, NULL);
	feed_fe(&run, "10.0.0.20");
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "apps.contoso.com", (X509 *[]){ leaf, other, NULL }));
	rep_run_finish(&run);
	json_t *s = server(&run, "10.0.0.6", 443);
	cr_assert(facing(&run, "10.0.0.6", 443));
	cr_assert_str_eq(str_of(s, "role"), "other", "no Exchange name: the role stays");
	cr_assert_str_eq(str_of(s, "phone_facing_reason"),
			 "yes: Lync clients use it (10.0.0.20; they sign in to FE "
			 "pool01.contoso.com 10.0.0.5:5061) and SNI apps.contoso.com lies in the FE "
			 "pool's domain contoso.com");
	json_t *pc = json_object_get(s, "phone_clients");
	cr_assert_eq(json_array_size(pc), 1);
	cr_assert_str_eq(json_string_value(json_array_get(pc, 0)), "10.0.0.20");
	/* judged by the phone trust model like Exchange, whatever its name */
	json_t *f = rep_run_finding(&run, "issuer-mismatch", "apps.contoso.com");
	cr_assert_not_null(f, "a phone-facing chain from another CA is a mismatch");
	cr_assert(strstr(str_of(f, "remedy"), "reissue this server's certificate"),
		  "not Exchange: no Exchange cmdlet to reissue it: %s", str_of(f, "remedy"));
	/* the FE itself is a Lync server, judged as one */
	cr_assert_not(facing(&run, "10.0.0.5", 5061));
	cr_assert_str_eq(str_of(server(&run, "10.0.0.5", 5061), "phone_facing_reason"),
			 "no: a Lync server (lync-fe), judged as one");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_facing, a_server_only_a_pc_off_the_pool_uses_is_not_phone_facing)
{
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "intranet.contoso.com", NULL });

	rep_run_start(&run, NULL);
	feed_fe(&run, "10.0.0.20");
	rep_run_feed(&run, "10.0.0.99", "10.0.0.6", 443,
		     rep_session(T_2012, "intranet.contoso.com", (X509 *[]){ leaf, other, NULL }));
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_not(facing(&run, "10.0.0.6", 443));
	cr_assert_str_eq(str_of(server(&run, "10.0.0.6", 443), "phone_facing_reason"),
			 "no: none of its clients speaks TLS to a Lync FE on 5061");
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_facing, a_phone_browsing_outside_the_pools_domains_is_not_phone_facing)
{
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "www.fabrikam.com", "fabrikam.com", NULL });

	rep_run_start(&run, NULL);
	feed_fe(&run, "10.0.0.20");
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "www.fabrikam.com", (X509 *[]){ leaf, other, NULL }));
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_not(facing(&run, "10.0.0.6", 443));
	cr_assert_str_eq(str_of(server(&run, "10.0.0.6", 443), "phone_facing_reason"),
			 "no: Lync clients use it (10.0.0.20), but its names (www.fabrikam.com, "
			 "fabrikam.com) lie outside the FE pool's domains (contoso.com)");
	cr_assert_eq(json_array_size(json_object_get(server(&run, "10.0.0.6", 443),
						     "phone_clients")), 0);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_facing, the_fe_pool_itself_is_not_phone_facing_by_address_or_by_certificate)
{
	struct rep_run run;

	rep_run_start(&run, NULL);
	feed_fe(&run, "10.0.0.20");
	/* the FE's own web services: same address */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 8080,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	/* another address presenting the pool certificate (a load balancer) */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.15", 8080,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	rep_run_finish(&run);
	cr_assert_not(facing(&run, "10.0.0.5", 8080));
	cr_assert_str_eq(str_of(server(&run, "10.0.0.5", 8080), "phone_facing_reason"),
			 "no: it is the FE pool itself (the address of FE 10.0.0.5:5061)");
	cr_assert_not(facing(&run, "10.0.0.15", 8080));
	cr_assert_str_eq(str_of(server(&run, "10.0.0.15", 8080), "phone_facing_reason"),
			 "no: it is the FE pool itself (the certificate of FE 10.0.0.5:5061)");
	rep_run_free(&run);
}

Test(rep_facing, the_pools_domains_are_the_parents_of_the_fe_certificate_names)
{
	struct rep_run run;
	X509 *deep = web_leaf((const char *[]){ "ews.emea.contoso.com", NULL });
	X509 *top = web_leaf((const char *[]){ "contoso.com", NULL });

	rep_run_start(&run, NULL);
	feed_fe(&run, "10.0.0.20");
	/* a name under contoso.com, however deep, lies in it */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "ews.emea.contoso.com", (X509 *[]){ deep, other, NULL }));
	/* the parent domain itself is not "in" it */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.7", 443,
		     rep_session(T_2012, "contoso.com", (X509 *[]){ top, other, NULL }));
	rep_run_finish(&run);
	cr_assert(facing(&run, "10.0.0.6", 443));
	cr_assert_str_eq(role(&run, "10.0.0.6", 443), "exchange", "ews is an Exchange name");
	cr_assert_str_eq(str_of(server(&run, "10.0.0.6", 443), "role_reason"),
			 "SNI ews.emea.contoso.com, an Exchange name, on a phone-facing server");
	cr_assert_not(facing(&run, "10.0.0.7", 443));
	rep_run_free(&run);
	X509_free(deep);
	X509_free(top);
}

Test(rep_facing, without_an_fe_certificate_the_names_clients_asked_the_fe_for_give_the_domains)
{
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "mail.contoso.com", NULL });

	rep_run_start(&run, NULL);
	struct rep_handshake *t13 = rep_session(T_2012, "pool01.contoso.com", NULL);
	t13->version = TLS_VERSION_1_3;
	t13->certificates_visible = false;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061, t13);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "mail.contoso.com", (X509 *[]){ leaf, other, NULL }));
	rep_run_finish(&run);
	cr_assert(facing(&run, "10.0.0.6", 443));
	cr_assert_str_eq(role(&run, "10.0.0.6", 443), "exchange");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_facing, a_cas_name_alone_does_not_make_exchange)
{
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "mail.fabrikam.com", NULL });

	rep_run_start(&run, NULL);
	feed_fe(&run, "10.0.0.20");
	rep_run_feed(&run, "10.0.0.99", "10.0.0.6", 443,
		     rep_session(T_2012, "mail.fabrikam.com", (X509 *[]){ leaf, other, NULL }));
	rep_run_feed(&run, "10.0.0.20", "10.0.0.7", 443,
		     rep_session(T_2012, "mail.fabrikam.com", (X509 *[]){ leaf, other, NULL }));
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_str_eq(role(&run, "10.0.0.6", 443), "other");
	cr_assert_str_eq(role(&run, "10.0.0.7", 443), "other");
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_facing, exchange_names_are_first_labels)
{
	static const char *const yes[] = {
		"autodiscover.contoso.com", "mail.contoso.com", "OWA.contoso.com",
		"outlook.contoso.com", "webmail.contoso.com", "casarray.contoso.com",
		"cas01.contoso.com", "ews.contoso.com", "exchange.contoso.com",
	};
	static const char *const no[] = {
		"contoso.com", "mailbox.contoso.com", "www.mail.contoso.com", "mail",
		"exchange2.contoso.com", "intranet.contoso.com", "",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(rep_is_exchange_name(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(rep_is_exchange_name(no[i]), "%s", no[i]);
}

Test(rep_facing, a_lync_server_as_client_is_not_a_lync_client)
{
	struct rep_run run;
	X509 *fe2 = rep_leaf("pool01.contoso.com", key, ca, ca_key,
			     (const char *[]){ "pool01.contoso.com", "fe02.contoso.com", NULL });
	X509 *leaf = web_leaf((const char *[]){ "apps.contoso.com", NULL });

	rep_run_start(&run, NULL);
	/* fe02 signs in to fe01 on 5061 (server-to-server), then fetches apps */
	rep_run_feed(&run, "10.0.0.7", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	rep_run_feed(&run, "10.0.0.5", "10.0.0.7", 5061,
		     rep_session(T_2012, "fe02.contoso.com", (X509 *[]){ fe2, ca, NULL }));
	rep_run_feed(&run, "10.0.0.7", "10.0.0.6", 443,
		     rep_session(T_2012, "apps.contoso.com", (X509 *[]){ leaf, other, NULL }));
	rep_run_finish(&run);
	cr_assert_not(facing(&run, "10.0.0.6", 443));
	rep_run_free(&run);
	X509_free(fe2);
	X509_free(leaf);
}

Test(rep_facing, role_other_given_by_the_admin_is_not_judged_as_phone_facing)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL, .n_roles = 1 };
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "apps.contoso.com", NULL });

	snprintf(opt.roles[0].name, sizeof(opt.roles[0].name), "apps.contoso.com");
	opt.roles[0].role = ROLE_OTHER;
	rep_run_start(&run, &opt);
	feed_fe(&run, "10.0.0.20");
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "apps.contoso.com", (X509 *[]){ leaf, other, NULL }));
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_not(facing(&run, "10.0.0.6", 443));
	cr_assert_str_eq(str_of(server(&run, "10.0.0.6", 443), "phone_facing_reason"),
			 "no: --role apps.contoso.com=other (SNI apps.contoso.com) says it is other");
	rep_run_free(&run);
	X509_free(leaf);
}

/* Two look-alike CAs: a finding only when both issue servers that matter. */
Test(rep_facing, a_ca_pair_needs_both_cas_to_issue_servers_that_matter)
{
	X509 *look = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "Issuing-CA"}}, .key = other_key, .ca = true,
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER });
	X509 *leaf = rep_leaf("apps.contoso.com", key, look, other_key,
			      (const char *[]){ "apps.contoso.com", NULL });

	for (unsigned phone = 0; phone < 2; phone++) {
		struct rep_run run;
		rep_run_start(&run, NULL);
		feed_fe(&run, "10.0.0.20");
		rep_run_feed(&run, phone ? "10.0.0.20" : "10.0.0.99", "10.0.0.6", 443,
			     rep_session(T_2012, "apps.contoso.com", (X509 *[]){ leaf, look, NULL }));
		rep_run_finish(&run);
		cr_assert_eq(rep_run_count(&run, "lookalike-ca-name"), phone, "%s",
			     phone ? "phone-facing: the look-alike matters"
			     : "a PC's web server: nobody's business");
		rep_run_free(&run);
	}
	X509_free(leaf);
	X509_free(look);
}

/* ---- peers on 5061 -------------------------------------------------------------- */

/* A client handshake presenting its own certificate (mutual TLS). */
static struct rep_handshake *mtls(const char *sni, X509 *server_leaf, X509 *client_leaf)
{
	struct rep_handshake *t = rep_session(T_2012, sni, (X509 *[]){ server_leaf, ca, NULL });
	size_t len;

	t->client_chain.certs[0].data = pki_der(client_leaf, &len);
	t->client_chain.certs[0].len = len;
	t->client_chain.n = 1;
	t->client_chain.present = true;
	return t;
}

Test(rep_peers, the_edge_and_a_mediation_server_are_peers_the_pool_stays_fe)
{
	struct rep_run run;
	X509 *edge = rep_leaf("edgeint.contoso.com", key, ca, ca_key,
			      (const char *[]){ "edgeint.contoso.com", "edge01-int.contoso.com", NULL });
	X509 *med = rep_leaf("med01.contoso.com", key, ca, ca_key,
			     (const char *[]){ "med01.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.5", "10.0.0.30", 5061, mtls("edgeint.contoso.com", edge, fe));
	rep_run_feed(&run, "10.0.0.5", "10.0.0.31", 5061, mtls("med01.contoso.com", med, fe));
	rep_run_feed(&run, "10.0.0.30", "10.0.0.5", 5061, mtls("pool01.contoso.com", fe, edge));
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert_null(rep_run_event(&run, "finding", 0), "peers, not findings");
	cr_assert_str_eq(role(&run, "10.0.0.30", 5061), "lync-edge");
	cr_assert(strstr(str_of(server(&run, "10.0.0.30", 5061), "role_reason"),
			 "its client 10.0.0.5 presented CN=pool01.contoso.com"));
	cr_assert(strstr(str_of(server(&run, "10.0.0.30", 5061), "role_reason"),
			 "its names say edge (edgeint.contoso.com)"));
	cr_assert_str_eq(role(&run, "10.0.0.31", 5061), "lync-peer");
	cr_assert_str_eq(role(&run, "10.0.0.5", 5061), "lync-fe");
	cr_assert(strstr(str_of(server(&run, "10.0.0.5", 5061), "role_reason"),
			 "is the pool's peer edgeint.contoso.com (10.0.0.30:5061), not an FE server"));
	rep_run_free(&run);
	X509_free(edge);
	X509_free(med);
}

Test(rep_peers, two_fe_servers_of_one_pool_stay_fe)
{
	struct rep_run run;
	X509 *fe2 = rep_leaf("pool01.contoso.com", key, ca, ca_key,
			     (const char *[]){ "pool01.contoso.com", "fe02.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.7", "10.0.0.5", 5061, mtls("pool01.contoso.com", fe, fe2));
	rep_run_feed(&run, "10.0.0.5", "10.0.0.7", 5061, mtls("fe02.contoso.com", fe2, fe));
	rep_run_finish(&run);
	cr_assert_str_eq(role(&run, "10.0.0.5", 5061), "lync-fe");
	cr_assert_str_eq(role(&run, "10.0.0.7", 5061), "lync-fe");
	cr_assert(strstr(str_of(server(&run, "10.0.0.7", 5061), "role_reason"), "the same pool"));
	rep_run_free(&run);
	X509_free(fe2);
}

Test(rep_peers, phones_signing_in_without_a_certificate_anchor_the_pool)
{
	struct rep_run run;
	X509 *med = rep_leaf("med01.contoso.com", key, ca, ca_key,
			     (const char *[]){ "med01.contoso.com", NULL });

	/* FE and Mediation server both ways: nothing in the names says which
	 * is the pool, the phones do */
	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.5", "10.0.0.31", 5061, mtls("med01.contoso.com", med, fe));
	rep_run_feed(&run, "10.0.0.31", "10.0.0.5", 5061, mtls("pool01.contoso.com", fe, med));
	feed_fe(&run, "10.0.0.20");
	rep_run_finish(&run);
	cr_assert_str_eq(role(&run, "10.0.0.5", 5061), "lync-fe");
	cr_assert(strstr(str_of(server(&run, "10.0.0.5", 5061), "role_reason"),
			 "clients sign in to it without a client certificate"));
	cr_assert_str_eq(role(&run, "10.0.0.31", 5061), "lync-peer");
	rep_run_free(&run);
	X509_free(med);
}

Test(rep_peers, a_cycle_nothing_decides_stays_fe_and_says_so)
{
	struct rep_run run;
	X509 *med = rep_leaf("med01.contoso.com", key, ca, ca_key,
			     (const char *[]){ "med01.contoso.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.5", "10.0.0.31", 5061, mtls("med01.contoso.com", med, fe));
	rep_run_feed(&run, "10.0.0.31", "10.0.0.5", 5061, mtls("pool01.contoso.com", fe, med));
	rep_run_finish(&run);
	cr_assert_str_eq(role(&run, "10.0.0.5", 5061), "lync-fe");
	cr_assert_str_eq(role(&run, "10.0.0.31", 5061), "lync-fe");
	cr_assert(strstr(str_of(server(&run, "10.0.0.31", 5061), "role_reason"),
			 "nothing tells which is the pool (say it with --role)"));
	rep_run_free(&run);
	X509_free(med);
}

Test(rep_peers, role_option_names_a_peer_and_lync_peer_parses)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL, .n_roles = 1 };
	struct rep_run run;
	X509 *med = rep_leaf("med01.contoso.com", key, ca, ca_key,
			     (const char *[]){ "med01.contoso.com", NULL });
	enum rep_role r;

	cr_assert(rep_role_parse("lync-peer", &r) && r == ROLE_LYNC_PEER);
	cr_assert_str_eq(rep_role_name(ROLE_LYNC_PEER), "lync-peer");
	snprintf(opt.roles[0].name, sizeof(opt.roles[0].name), "10.0.0.31");
	opt.roles[0].role = ROLE_LYNC_PEER;
	rep_run_start(&run, &opt);
	rep_run_feed(&run, "10.0.0.5", "10.0.0.31", 5061, mtls("med01.contoso.com", med, fe));
	rep_run_feed(&run, "10.0.0.31", "10.0.0.5", 5061, mtls("pool01.contoso.com", fe, med));
	rep_run_finish(&run);
	cr_assert_str_eq(role(&run, "10.0.0.31", 5061), "lync-peer");
	cr_assert_str_eq(role(&run, "10.0.0.5", 5061), "lync-fe", "its peer's role decides it");
	rep_run_free(&run);
	X509_free(med);
}

/* ---- public roots ---------------------------------------------------------------- */

struct public_pki {
	EVP_PKEY *root_key, *ica_key, *other_root_key;
	X509 *root, *ica, *leaf, *other_root;
	char root_pem[32], other_pem[32];
};

/* "Public Root" -> "Public Issuing CA" -> mail.contoso.com; and a second,
 * unrelated root.  SSL_CERT_FILE names the first root, SSL_CERT_DIR an
 * empty folder: the test's "system store". */
static void public_make(struct public_pki *p)
{
	memset(p, 0, sizeof(*p));
	p->root_key = pki_key(PKI_EC, 256);
	p->ica_key = pki_key(PKI_EC, 256);
	p->other_root_key = pki_key(PKI_EC, 256);
	p->root = rep_ca("Public Root", p->root_key, NULL, NULL);
	p->ica = rep_ca("Public Issuing CA", p->ica_key, p->root, p->root_key);
	p->leaf = rep_leaf("mail.contoso.com", key, p->ica, p->ica_key,
			   (const char *[]){ "mail.contoso.com", "autodiscover.contoso.com", NULL });
	p->other_root = rep_ca("Other Public Root", p->other_root_key, NULL, NULL);
	snprintf(p->root_pem, sizeof(p->root_pem), "/tmp/ct-root-XXXXXX");
	snprintf(p->other_pem, sizeof(p->other_pem), "/tmp/ct-root-XXXXXX");
	int fd = mkstemp(p->root_pem);
	cr_assert(fd >= 0);
	close(fd);
	fd = mkstemp(p->other_pem);
	cr_assert(fd >= 0);
	close(fd);
	pki_write_pem(p->root_pem, p->root, NULL);
	pki_write_pem(p->other_pem, p->other_root, NULL);
	setenv("SSL_CERT_FILE", p->root_pem, 1);
	setenv("SSL_CERT_DIR", "/nonexistent", 1);
}

static void public_free(struct public_pki *p)
{
	unlink(p->root_pem);
	unlink(p->other_pem);
	X509_free(p->root);
	X509_free(p->ica);
	X509_free(p->leaf);
	X509_free(p->other_root);
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->ica_key);
	EVP_PKEY_free(p->other_root_key);
}

static void run_public(struct rep_run *run, const struct public_pki *p, const char *phone_roots)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };

	if (phone_roots)
		opt.phone_root_files[opt.n_phone_roots++] = phone_roots;
	rep_run_start(run, &opt);
	feed_fe(run, "10.0.0.20");
	rep_run_feed(run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "mail.contoso.com", (X509 *[]){ p->leaf, p->ica, NULL }));
	rep_run_finish(run);
}

static json_t *chain0(const struct rep_run *run)
{
	return json_array_get(json_object_get(server(run, "10.0.0.6", 443), "chains"), 0);
}

Test(rep_roots, a_system_root_without_phone_roots_is_public_root_unverified)
{
	struct public_pki p;
	struct rep_run run;

	public_make(&p);
	struct x509_info *root = pki_info(p.root);
	run_public(&run, &p, NULL);
	cr_assert_eq(run.status, 0, "a warning, not a failure at --fail-on critical");
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0, "not a guess either way");
	json_t *f = rep_run_finding(&run, "public-root-unverified", "mail.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(str_of(f, "severity"), "warning");
	const char *msg = str_of(f, "message");
	cr_assert(strstr(msg, "CN=Public Root") && strstr(msg, root->thumbprint), "%s", msg);
	cr_assert(strstr(msg, "only if their firmware's list of public roots carries that root"));
	const char *remedy = str_of(f, "remedy");
	char want[160];
	snprintf(want, sizeof(want), "New-CsWebTrustedCACertificate -Thumbprint %s -CAStore "
		 "ThirdPartyRootCA", root->thumbprint);
	cr_assert(strstr(remedy, want), "%s", remedy);
	cr_assert(strstr(remedy, "Set-CsWebServiceConfiguration -Identity global -TrustedCACerts @{Add=$ca}"));
	cr_assert(strstr(remedy, "--phone-roots"));
	json_t *ev = json_object_get(f, "evidence");
	cr_assert_str_eq(str_of(ev, "method"), "verified with OpenSSL against the system store");
	cr_assert_str_eq(str_of(ev, "root_thumbprint"), root->thumbprint);
	cr_assert(json_is_null(json_object_get(chain0(&run), "trusted_by_phones")),
		  "nobody knows whether the phones trust it");
	/* the store was loaded once, for the run */
	cr_assert(run.r->system_store_tried);
	cr_assert_not_null(run.r->system_store);
	x509_unref(root);
	rep_run_free(&run);
	public_free(&p);
}

Test(rep_roots, a_root_in_phone_roots_is_trusted)
{
	struct public_pki p;
	struct rep_run run;

	public_make(&p);
	run_public(&run, &p, p.root_pem);
	cr_assert_eq(run.status, 0);
	cr_assert_eq(rep_run_count(&run, "public-root-unverified"), 0);
	cr_assert_eq(rep_run_count(&run, "issuer-mismatch"), 0);
	cr_assert(json_is_true(json_object_get(chain0(&run), "trusted_by_phones")));
	cr_assert_str_eq(str_of(chain0(&run), "trust_method"),
			 "verified with OpenSSL against a --phone-roots root");
	cr_assert_not(run.r->system_store_tried, "--phone-roots answers: no system store");
	rep_run_free(&run);
	public_free(&p);
}

Test(rep_roots, another_root_than_phone_roots_is_issuer_mismatch)
{
	struct public_pki p;
	struct rep_run run;

	public_make(&p);
	run_public(&run, &p, p.other_pem);
	cr_assert_eq(run.status, 1);
	cr_assert_eq(rep_run_count(&run, "public-root-unverified"), 0);
	json_t *f = rep_run_finding(&run, "issuer-mismatch", "mail.contoso.com");
	cr_assert_not_null(f);
	cr_assert(strstr(str_of(f, "message"), "nor to a --phone-roots root"));
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "method"),
			 "verified with OpenSSL against the FE chain and the --phone-roots roots");
	cr_assert(json_is_false(json_object_get(chain0(&run), "trusted_by_phones")));
	rep_run_free(&run);
	public_free(&p);
}

Test(rep_roots, a_root_not_in_the_system_store_is_issuer_mismatch)
{
	struct public_pki p;
	struct rep_run run;

	public_make(&p);
	setenv("SSL_CERT_FILE", p.other_pem, 1);
	run_public(&run, &p, NULL);
	cr_assert_eq(rep_run_count(&run, "public-root-unverified"), 0);
	json_t *f = rep_run_finding(&run, "issuer-mismatch", "mail.contoso.com");
	cr_assert_not_null(f);
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "method"),
			 "verified with OpenSSL against the FE chain and the system store");
	rep_run_free(&run);
	public_free(&p);
}

Test(rep_roots, an_unreadable_phone_roots_file_is_a_one_line_reason)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	char err[256] = "";

	opt.phone_root_files[opt.n_phone_roots++] = "/nonexistent/roots.pem";
	cr_assert_null(rep_new(&opt, stdout, err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/roots.pem"), "%s", err);
	cr_assert_null(strchr(err, '\n'));
}

/* ---- expires-soon and --at ------------------------------------------------------- */

#define T_CAPTURE ((uint64_t)pki_time(2030, 3, 1, 12, 0, 0) * 1000000)

static X509 *leaf_until(time_t not_after)
{
	return pki_cert(&(struct pki_spec){
		.subject = {{"CN", "casarray.contoso.com"}}, .key = key, .issuer = ca,
		.issuer_key = ca_key, .dns = {"casarray.contoso.com", "autodiscover.contoso.com"},
		.eku = {"serverAuth"}, .crl_dp = "http://pki.contoso.com/ca.crl",
		.not_before = REP_NOT_BEFORE, .not_after = not_after });
}

/* One handshake to casarray at T_CAPTURE; the rest from opt. */
static void run_expiry(struct rep_run *run, struct rep_options *opt, X509 *const *chain)
{
	struct rep_options dflt = { .format = REP_JSONL, .fail_on = REP_CRITICAL };

	rep_run_start(run, opt ? opt : &dflt);
	rep_run_feed(run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_CAPTURE, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	struct rep_handshake *t = rep_session(T_CAPTURE, "casarray.contoso.com", chain);
	t->server_chain.ts_us = T_CAPTURE;        /* exactly the capture time */
	rep_run_feed(run, "10.0.0.20", "10.0.0.6", 443, t);
	rep_run_finish(run);
}

Test(rep_expiry, thirty_days_left_is_soon_a_second_more_is_not)
{
	time_t at = (time_t)(T_CAPTURE / 1000000);
	X509 *edge = leaf_until(at + 30 * 86400);
	X509 *beyond = leaf_until(at + 30 * 86400 + 1);
	struct rep_run run;

	run_expiry(&run, NULL, (X509 *[]){ edge, ca, NULL });
	json_t *f = rep_run_finding(&run, "expires-soon", "casarray.contoso.com");
	cr_assert_not_null(f, "30 days left with the default --warn-days 30");
	cr_assert_str_eq(str_of(f, "severity"), "warning");
	json_t *ev = json_object_get(f, "evidence");
	cr_assert_str_eq(str_of(ev, "days_left"), "30");
	cr_assert_str_eq(str_of(ev, "which"), "leaf");
	const char *msg = str_of(f, "message");
	cr_assert(strstr(msg, "it expires on 2030-03-31T12:00:00Z, 30 days after the handshake of "
			 "2030-03-01T12:00:00.000000Z, within --warn-days 30"), "%s", msg);
	cr_assert(strstr(str_of(f, "symptom"), "12037"));
	cr_assert(strstr(str_of(f, "remedy"), "New-ExchangeCertificate"));
	cr_assert(strstr(str_of(f, "remedy"), "Enable-ExchangeCertificate"));
	cr_assert(strstr(str_of(f, "remedy"), "before 2030-03-31T12:00:00Z"));
	cr_assert_eq(run.status, 0);
	rep_run_free(&run);

	run_expiry(&run, NULL, (X509 *[]){ beyond, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 0);
	rep_run_free(&run);
	X509_free(edge);
	X509_free(beyond);
}

Test(rep_expiry, the_last_second_is_soon_the_next_is_expired)
{
	time_t at = (time_t)(T_CAPTURE / 1000000);
	X509 *now = leaf_until(at);
	X509 *past = leaf_until(at - 1);
	struct rep_run run;

	run_expiry(&run, NULL, (X509 *[]){ now, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expired"), 0);
	json_t *f = rep_run_finding(&run, "expires-soon", NULL);
	cr_assert_not_null(f);
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "days_left"), "0");
	rep_run_free(&run);

	run_expiry(&run, NULL, (X509 *[]){ past, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expired"), 1);
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 0);
	rep_run_free(&run);
	X509_free(now);
	X509_free(past);
}

Test(rep_expiry, the_first_certificate_to_expire_is_named_intermediate_too)
{
	time_t at = (time_t)(T_CAPTURE / 1000000);
	EVP_PKEY *ika = pki_key(PKI_EC, 256);
	X509 *ica = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "Short-lived Issuing CA"}}, .key = ika, .issuer = ca,
		.issuer_key = ca_key, .ca = true, .not_before = REP_NOT_BEFORE,
		.not_after = at + 5 * 86400 + 3600 });
	X509 *leaf = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "casarray.contoso.com"}}, .key = key, .issuer = ica,
		.issuer_key = ika, .dns = {"casarray.contoso.com", "autodiscover.contoso.com"},
		.eku = {"serverAuth"}, .crl_dp = "http://pki.contoso.com/ca.crl",
		.not_before = REP_NOT_BEFORE, .not_after = at + 20 * 86400 });
	struct rep_run run;

	run_expiry(&run, NULL, (X509 *[]){ leaf, ica, NULL });
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 1, "one finding per server and chain");
	json_t *f = rep_run_finding(&run, "expires-soon", NULL);
	struct x509_info *xi = pki_info(ica);
	json_t *c0 = json_array_get(json_object_get(json_object_get(f, "evidence"), "certificates"), 0);
	cr_assert_str_eq(str_of(c0, "thumbprint"), xi->thumbprint, "the CA expires first");
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "days_left"), "6",
			 "5 days and an hour: in the 6th day");
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "which"), "CA");
	cr_assert(strstr(str_of(f, "remedy"), "Renew the CA certificate CN=Short-lived Issuing CA"));
	x509_unref(xi);
	rep_run_free(&run);
	X509_free(leaf);
	X509_free(ica);
	EVP_PKEY_free(ika);
}

Test(rep_expiry, warn_days_widens_and_zero_turns_it_off)
{
	time_t at = (time_t)(T_CAPTURE / 1000000);
	X509 *leaf = leaf_until(at + 45 * 86400);
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL,
				   .warn_days_given = true, .warn_days = 60 };
	struct rep_run run;

	run_expiry(&run, NULL, (X509 *[]){ leaf, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 0, "45 days: not within 30");
	rep_run_free(&run);
	run_expiry(&run, &opt, (X509 *[]){ leaf, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 1, "45 days: within 60");
	cr_assert_str_eq(str_of(json_object_get(rep_run_finding(&run, "expires-soon", NULL),
						"evidence"), "warn_days"), "60");
	rep_run_free(&run);
	opt.warn_days = 0;
	run_expiry(&run, &opt, (X509 *[]){ leaf, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 0, "--warn-days 0: never");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_expiry, at_judges_validity_then_instead_of_at_capture_time)
{
	time_t at = (time_t)(T_CAPTURE / 1000000);
	X509 *soon = leaf_until(at + 10 * 86400);
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_CRITICAL, .at_given = true };
	struct rep_run run;

	cr_assert(rep_parse_at("2030-03-20T00:00:00Z", &opt.at_us));
	run_expiry(&run, &opt, (X509 *[]){ soon, ca, NULL });
	cr_assert_eq(rep_run_count(&run, "expires-soon"), 0);
	json_t *f = rep_run_finding(&run, "expired", "casarray.contoso.com");
	cr_assert_not_null(f, "expired by 2030-03-20 although valid at the capture");
	cr_assert(strstr(str_of(f, "message"), "had expired on 2030-03-11T12:00:00Z at "
			 "2030-03-20T00:00:00.000000Z (--at)"), "%s", str_of(f, "message"));
	cr_assert_eq(run.status, 1);
	rep_run_free(&run);

	cr_assert(rep_parse_at("2030-03-05T12:00:00Z", &opt.at_us));
	run_expiry(&run, &opt, (X509 *[]){ soon, ca, NULL });
	f = rep_run_finding(&run, "expires-soon", NULL);
	cr_assert_not_null(f);
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "days_left"), "6");
	cr_assert(strstr(str_of(f, "message"), "after 2030-03-05T12:00:00.000000Z (--at)"));
	rep_run_free(&run);

	cr_assert(rep_parse_at("2009-06-01T00:00:00Z", &opt.at_us));
	run_expiry(&run, &opt, (X509 *[]){ soon, ca, NULL });
	cr_assert_not_null(rep_run_finding(&run, "not-yet-valid", "casarray.contoso.com"));
	rep_run_free(&run);
	X509_free(soon);
}

Test(rep_expiry, at_parses_iso_8601_and_now_and_refuses_the_rest)
{
	uint64_t us;

	cr_assert(rep_parse_at("2030-03-20T00:00:00Z", &us));
	cr_assert_eq(us, (uint64_t)pki_time(2030, 3, 20, 0, 0, 0) * 1000000);
	cr_assert(rep_parse_at("2030-03-20", &us));
	cr_assert_eq(us, (uint64_t)pki_time(2030, 3, 20, 0, 0, 0) * 1000000);
	cr_assert(rep_parse_at("2030-03-20T01:30+01:30", &us));
	cr_assert_eq(us, (uint64_t)pki_time(2030, 3, 20, 0, 0, 0) * 1000000);
	cr_assert(rep_parse_at("2012-10-19T14:50:27.214Z", &us));
	cr_assert_eq(us, T_2012);
	cr_assert(rep_parse_at("2024-02-29T23:59:59Z", &us), "a leap day");
	cr_assert(rep_parse_at("now", &us));
	cr_assert_gt(us, (uint64_t)pki_time(2024, 1, 1, 0, 0, 0) * 1000000);
	static const char *const bad[] = {
		"", "2030", "2030-3-20", "2030-02-30", "2023-02-29", "2030-03-20T24:00:00Z",
		"2030-03-20T00:60Z", "2030-03-20T00:00:00Q", "1969-12-31", "2030-03-20T00:00:00.Z",
		"yesterday", "2030-03-20T00:00:00Z ", "2030-13-01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(rep_parse_at(bad[i], &us), "\"%s\"", bad[i]);
}

/* ---- snaplen, not checked, exit 3 ----------------------------------------------- */

static struct rep_handshake *cut_by_snaplen(const char *sni, uint32_t packets, uint32_t snaplen)
{
	struct rep_handshake *t = rep_session(T_2012, sni, NULL);

	t->status = REP_HS_TRUNCATED;
	t->reason = "gap of 103 bytes inside the client's ClientHello";
	t->server_hello = false;
	t->certificates_visible = false;
	t->snaplen_cut_packets = packets;
	t->snaplen = snaplen;
	return t;
}

Test(rep_verdict, a_handshake_the_snaplen_cut_is_truncated_naming_the_snaplen_never_hidden)
{
	struct rep_run run;

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061, cut_by_snaplen("pool01.contoso.com", 3, 96));
	struct rep_handshake *t13 = cut_by_snaplen("casarray.contoso.com", 1, 200);
	t13->server_hello = true;
	t13->version = TLS_VERSION_1_3;          /* would be "hidden" if not cut */
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443, t13);
	cr_assert_eq(rep_run_finish(&run), 3);
	cr_assert_eq(rep_run_count(&run, "certificates-hidden"), 0);
	cr_assert_eq(rep_run_count(&run, "handshake-truncated"), 2);
	json_t *f = rep_run_finding(&run, "handshake-truncated", "pool01.contoso.com");
	cr_assert_not_null(f);
	cr_assert(strstr(str_of(f, "message"), "the capture's snaplen (96 bytes) cut 3 packets "
			 "of this handshake; capture again with -s 0"), "%s", str_of(f, "message"));
	cr_assert(strstr(str_of(f, "remedy"), "-s 0"));
	cr_assert_str_eq(str_of(json_object_get(f, "evidence"), "snaplen"), "96");
	json_t *tls = rep_run_event(&run, "tls", 0);
	cr_assert_eq(json_integer_value(json_object_get(tls, "snaplen_cut_packets")), 3);
	cr_assert_eq(json_integer_value(json_object_get(tls, "snaplen")), 96);
	cr_assert_str_eq(str_of(server(&run, "10.0.0.5", 5061), "not_checked"),
			 "1 handshake, none with a server certificate chain to check: 1 cut by "
			 "the capture's snaplen (96 bytes; 3 packets cut; capture again with -s 0)");
	rep_run_free(&run);
}

Test(rep_verdict, a_handshake_the_snaplen_did_not_cut_has_no_snaplen_fields)
{
	struct rep_run run;

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	rep_run_finish(&run);
	cr_assert_null(json_object_get(rep_run_event(&run, "tls", 0), "snaplen_cut_packets"));
	cr_assert(json_is_null(json_object_get(server(&run, "10.0.0.5", 5061), "not_checked")));
	rep_run_free(&run);
}

Test(rep_verdict, no_chain_at_all_is_inconclusive_exit_3_and_fail_on_never_exits_0)
{
	static const enum rep_severity levels[] = { REP_CRITICAL, REP_WARNING, REP_INFO, REP_NEVER };

	for (unsigned i = 0; i < 4; i++) {
		struct rep_options opt = { .format = REP_JSONL, .fail_on = levels[i] };
		struct rep_run run;
		rep_run_start(&run, &opt);
		struct rep_handshake *res = rep_session(T_2012, "pool01.contoso.com", NULL);
		res->resumed = true;
		rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061, res);
		int status = rep_run_finish(&run);
		/* resumed-no-cert is info: at --fail-on info it is a failure */
		cr_assert_eq(status, levels[i] == REP_NEVER ? 0 : levels[i] == REP_INFO ? 1 : 3,
			     "--fail-on %s", rep_severity_name(levels[i]));
		json_t *sum = rep_run_event(&run, "summary", 0);
		cr_assert_str_eq(str_of(sum, "verdict"), levels[i] == REP_INFO ? "findings"
				 : "inconclusive");
		cr_assert_eq(json_integer_value(json_object_get(sum, "exit_status")), status);
		if (levels[i] != REP_INFO) {
			cr_assert_str_eq(str_of(sum, "verdict_reason"),
					 "no certificate chain could be checked (1 handshake)");
			json_t *nc = json_array_get(json_object_get(sum, "not_checked"), 0);
			cr_assert_str_eq(str_of(nc, "reason"), "1 handshake, none with a server "
					 "certificate chain to check: 1 resumed (no certificate on the wire)");
			cr_assert(json_is_true(json_object_get(nc, "needed")));
		}
		rep_run_free(&run);
	}
}

Test(rep_verdict, a_needed_server_not_checked_is_inconclusive_though_others_were)
{
	struct rep_run run;
	X509 *leaf = web_leaf((const char *[]){ "www.fabrikam.com", NULL });

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	struct rep_handshake *t13 = rep_session(T_2012, "autodiscover.contoso.com", NULL);
	t13->version = TLS_VERSION_1_3;
	t13->certificates_visible = false;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443, t13);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.7", 443,
		     rep_session(T_2012, "www.fabrikam.com", (X509 *[]){ leaf, other, NULL }));
	cr_assert_eq(rep_run_finish(&run), 3, "only info findings, and Exchange unchecked");
	json_t *sum = rep_run_event(&run, "summary", 0);
	cr_assert_str_eq(str_of(sum, "verdict"), "inconclusive");
	cr_assert_str_eq(str_of(sum, "verdict_reason"), "1 server the trust rules need (Lync FE, "
			 "Exchange, phone-facing) could not be checked");
	cr_assert_eq(json_array_size(json_object_get(sum, "not_checked")), 1);
	cr_assert_str_eq(str_of(server(&run, "10.0.0.6", 443), "not_checked"),
			 "1 handshake, none with a server certificate chain to check: 1 TLS 1.3 "
			 "with the certificates encrypted (no key log opened them)");
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_verdict, a_server_the_rules_do_not_need_unchecked_exits_0)
{
	struct rep_run run;

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, ca, NULL }));
	struct rep_handshake *res = rep_session(T_2012, "www.fabrikam.com", NULL);
	res->resumed = true;
	rep_run_feed(&run, "10.0.0.99", "10.0.0.7", 443, res);
	cr_assert_eq(rep_run_finish(&run), 0);
	json_t *sum = rep_run_event(&run, "summary", 0);
	cr_assert_str_eq(str_of(sum, "verdict"), "findings", "resumed-no-cert is a finding");
	cr_assert(json_is_null(json_object_get(sum, "verdict_reason")));
	json_t *nc = json_array_get(json_object_get(sum, "not_checked"), 0);
	cr_assert_not_null(nc, "listed all the same");
	cr_assert(json_is_false(json_object_get(nc, "needed")));
	rep_run_free(&run);
}

Test(rep_verdict, a_finding_at_fail_on_exits_1_whatever_was_not_checked)
{
	struct rep_run run;
	time_t t = (time_t)(T_2012 / 1000000);
	X509 *expired = leaf_until(t - 86400);

	rep_run_start(&run, NULL);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ expired, ca, NULL }));
	struct rep_handshake *res = rep_session(T_2012, "autodiscover.contoso.com", NULL);
	res->resumed = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443, res);
	cr_assert_eq(rep_run_finish(&run), 1);
	cr_assert_str_eq(str_of(rep_run_event(&run, "summary", 0), "verdict"), "findings");
	rep_run_free(&run);
	X509_free(expired);
}

Test(rep_verdict, text_names_the_phone_clients_and_what_was_not_checked)
{
	struct rep_options opt = { .format = REP_TEXT, .fail_on = REP_CRITICAL };
	struct rep_run run;
	X509 *leaf = rep_leaf("apps.contoso.com", key, ca, ca_key,
			      (const char *[]){ "apps.contoso.com", NULL });

	rep_run_start(&run, &opt);
	feed_fe(&run, "10.0.0.20");
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012, "apps.contoso.com", (X509 *[]){ leaf, ca, NULL }));
	rep_run_feed(&run, "10.0.0.21", "10.0.0.5", 5061, cut_by_snaplen("pool01.contoso.com", 2, 96));
	struct rep_handshake *res = rep_session(T_2012, "autodiscover.contoso.com", NULL);
	res->resumed = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.8", 443, res);
	cr_assert_eq(rep_run_finish(&run), 3);
	const char *out = run.buf;
	cr_assert(strstr(out, "apps.contoso.com  10.0.0.6:443  role other: no rule matched "
			 "(port 443); phone-facing for 10.0.0.20\n"), "%s", out);
	cr_assert(strstr(out, "    phone-facing: yes: Lync clients use it (10.0.0.20; they sign in"));
	cr_assert(strstr(out, "    not checked: 1 handshake, none with a server certificate "
			 "chain to check: 1 resumed"), "%s", out);
	cr_assert(strstr(out, "verdict: inconclusive: 1 server the trust rules need (Lync FE, "
			 "Exchange, phone-facing) could not be checked; not checked: exchange "
			 "phone-facing autodiscover.contoso.com 10.0.0.8:443 (1 handshake"), "%s", out);
	cr_assert(strstr(out, "(exit 3)\n"));
	rep_run_free(&run);
	X509_free(leaf);
}

Test(rep_verdict, text_verdict_lines_say_clean_and_what_findings_left_unchecked)
{
	struct rep_options opt = { .format = REP_TEXT, .fail_on = REP_CRITICAL };
	struct rep_run run;
	time_t t = (time_t)(T_2012 / 1000000);
	X509 *expired = leaf_until(t - 86400);

	rep_run_start(&run, &opt);
	feed_fe(&run, "10.0.0.20");
	cr_assert_eq(rep_run_finish(&run), 0);
	cr_assert(strstr(run.buf, "verdict: no findings over 1 handshake; every Lync FE, Exchange "
			 "and phone-facing server was checked\n"), "%s", run.buf);
	rep_run_free(&run);

	rep_run_start(&run, &opt);
	rep_run_feed(&run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ expired, ca, NULL }));
	struct rep_handshake *res = rep_session(T_2012, "autodiscover.contoso.com", NULL);
	res->resumed = true;
	rep_run_feed(&run, "10.0.0.20", "10.0.0.6", 443, res);
	cr_assert_eq(rep_run_finish(&run), 1);
	cr_assert(strstr(run.buf, "; 1 server the trust rules need not checked (above) (exit 1)\n"),
		  "%s", run.buf);
	rep_run_free(&run);
	X509_free(expired);
}
