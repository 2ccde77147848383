/*
 * test_field_phonelog.c — --phone-log: the seed's own CELog lines, the ways
 * an exported log goes wrong (CRLF, UTF-16, no url, other codes, garbage,
 * over-long lines, NUL bytes), and the join with the findings: the EWS url
 * makes its server exchange, and each error names the finding that
 * explains it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "report/rep_int.h"
#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

#define HDR(ms, level) "0:01:43.840.224 : Raw data 206 (char), UCD_LOG_" level ": " \
	"10/19/2012|14:50:27 Aries: 10/19/2012|14:50:27." ms " 4EC0006:5250012 " level " :: "

/* The seed's lines, as the blog post shows them. */
static const char seed_log[] =
	HDR("214", "INFO") "NAutoDiscover::DnsAutodiscoverTask::ParseSoapResponse: InternalEwsUrl is "
	"https://casarray.contoso.com/EWS/Exchange.asmx\n"
	HDR("215", "INFO") "NAutoDiscover::DnsAutodiscoverTask::ParseSoapResponse: ExternalEwsUrl is "
	"https://autodiscover.contoso.com/EWS/Exchange.asmx\n"
	HDR("850", "ERROR") "WebServices::CSoapTransport::ExecuteSoapOperation: Insecure server. "
	"errorCode=12045, status=014C0220, hr=80f10043\n"
	HDR("851", "ERROR") "WebServices::CSoapTransport::SendSoapRequest: ExecuteSoapOperation "
	"failed. status=014C0220, hr=80f10043\n"
	HDR("851", "INFO") "WebServices::WebRequestImpl::ExecuteCommon: after SendSoapRequest. "
	"hr=0x80f10043, url=https://casarray.contoso.com/EWS/Exchange.asmx\n"
	HDR("851", "INFO") "WebServices::CSoapTransport::GetHttpHeaderInfoFromHandle: "
	"hSoapHandle=014C0220, headerInfo=013E2708\n"
	HDR("852", "INFO") "WebServices::CSoapTransportStatus::~CSoapTransportStatus: status=014C0220\n"
	HDR("853", "ERROR") "WebServices::WebRequestImpl::ExecuteCommon: Could not execute SOAP "
	"request. hr=0x80f10043\n";

static void parse(struct rep_phonelog *pl, const char *text, size_t len)
{
	memset(pl, 0, sizeof(*pl));
	rep_phonelog_parse(pl, "phone.log", (const uint8_t *)text, len);
}

static const struct rep_phone_error *error_at(const struct rep_phonelog *pl, size_t i)
{
	cr_assert(i < pl->errors.n, "only %zu errors", pl->errors.n);
	return pl->errors.v[i];
}

static void assert_seed(const struct rep_phonelog *pl)
{
	struct rep_phone_words w;

	cr_assert_eq(pl->lines, 8);
	cr_assert_eq(pl->not_understood, 0);
	cr_assert_eq(pl->ews.n, 2);
	const struct rep_phone_ews *in = pl->ews.v[0], *ex = pl->ews.v[1];
	cr_assert_str_eq(in->which, "InternalEwsUrl");
	cr_assert_str_eq(in->host, "casarray.contoso.com");
	cr_assert_eq(in->port, 443);
	cr_assert_str_eq(ex->which, "ExternalEwsUrl");
	cr_assert_str_eq(ex->host, "autodiscover.contoso.com");
	/* Four lines of one failure are one error. */
	cr_assert_eq(pl->errors.n, 1);
	const struct rep_phone_error *e = error_at(pl, 0);
	cr_assert_str_eq(e->ts, "10/19/2012 14:50:27.850");
	cr_assert_eq(e->win32, 12045);
	cr_assert_eq(e->hr, 0x80f10043u);
	cr_assert_str_eq(e->text, "Insecure server");
	cr_assert_str_eq(e->url, "https://casarray.contoso.com/EWS/Exchange.asmx");
	cr_assert_str_eq(e->host, "casarray.contoso.com");
	cr_assert_eq(e->line, 3);
	cr_assert_eq(e->last_line, 8);
	rep_phone_describe(e, &w);
	cr_assert_str_eq(w.code, "12045");
	cr_assert_str_eq(w.name, "ERROR_INTERNET_INVALID_CA");
	cr_assert_str_eq(w.hr, "0x80f10043");
	cr_assert_str_eq(w.hr_name, "unknown");
	cr_assert(strstr(w.hr_meaning, "facility 0x0f1") != NULL, "%s", w.hr_meaning);
}

Test(phonelog, seed_lines_give_two_ews_urls_and_one_error_with_its_url)
{
	struct rep_phonelog pl;

	parse(&pl, seed_log, strlen(seed_log));
	assert_seed(&pl);
	rep_phonelog_free(&pl);
}

Test(phonelog, crlf_line_ends_parse_the_same)
{
	struct rep_phonelog pl;
	char *crlf = malloc(2 * sizeof(seed_log));
	size_t n = 0;

	cr_assert_not_null(crlf);
	for (const char *p = seed_log; *p; p++) {
		if (*p == '\n')
			crlf[n++] = '\r';
		crlf[n++] = *p;
	}
	parse(&pl, crlf, n);
	assert_seed(&pl);
	rep_phonelog_free(&pl);
	free(crlf);
}

Test(phonelog, utf16le_export_parses_the_same)
{
	struct rep_phonelog pl;
	size_t len = strlen(seed_log);
	uint8_t *wide = malloc(2 + 2 * len);

	cr_assert_not_null(wide);
	wide[0] = 0xff;
	wide[1] = 0xfe;
	for (size_t i = 0; i < len; i++) {
		wide[2 + 2 * i] = (uint8_t)seed_log[i];
		wide[3 + 2 * i] = 0;
	}
	memset(&pl, 0, sizeof(pl));
	rep_phonelog_parse(&pl, "phone.log", wide, 2 + 2 * len);
	assert_seed(&pl);
	rep_phonelog_free(&pl);
	free(wide);
}

Test(phonelog, error_without_url_keeps_no_host)
{
	static const char log[] =
		HDR("850", "ERROR") "WebServices::CSoapTransport::ExecuteSoapOperation: Insecure "
		"server. errorCode=12045, status=014C0220, hr=80f10043\n"
		HDR("853", "ERROR") "WebServices::WebRequestImpl::ExecuteCommon: Could not execute "
		"SOAP request. hr=0x80f10043\n";
	struct rep_phonelog pl;

	parse(&pl, log, strlen(log));
	cr_assert_eq(pl.errors.n, 1);
	cr_assert_null(error_at(&pl, 0)->url);
	cr_assert_str_eq(error_at(&pl, 0)->host, "");
	cr_assert_eq(pl.not_understood, 0);
	rep_phonelog_free(&pl);
}

Test(phonelog, other_codes_and_hresults_have_names_or_unknown)
{
	static const char log[] =
		HDR("100", "ERROR") "X::Y: Bad name. errorCode=12038, hr=80072f06\n"
		HDR("200", "INFO") "X::Z: after SendSoapRequest. hr=0x80072f06, "
		"url=https://mail.contoso.com:4443/EWS/Exchange.asmx\n"
		HDR("300", "ERROR") "X::Y: Expired. errorCode=12037\n"
		HDR("400", "ERROR") "X::Y: Odd. errorCode=12999\n"
		HDR("500", "ERROR") "X::Y: Trust failed. hr=0x800B0109\n"
		HDR("600", "INFO") "X::Y: all is well. hr=0x00000000\n";
	struct rep_phonelog pl;
	struct rep_phone_words w;

	parse(&pl, log, strlen(log));
	cr_assert_eq(pl.not_understood, 0);
	cr_assert_eq(pl.errors.n, 4, "a success hr is no error");
	rep_phone_describe(error_at(&pl, 0), &w);
	cr_assert_str_eq(w.name, "ERROR_INTERNET_SEC_CERT_CN_INVALID");
	cr_assert_str_eq(w.hr_name, "ERROR_INTERNET_SEC_CERT_CN_INVALID", "HRESULT_FROM_WIN32");
	cr_assert_str_eq(error_at(&pl, 0)->host, "mail.contoso.com");
	cr_assert_eq(error_at(&pl, 0)->port, 4443);
	rep_phone_describe(error_at(&pl, 1), &w);
	cr_assert_str_eq(w.name, "ERROR_INTERNET_SEC_CERT_DATE_INVALID");
	cr_assert_str_eq(w.hr, "");
	rep_phone_describe(error_at(&pl, 2), &w);
	cr_assert_str_eq(w.code, "12999");
	cr_assert_str_eq(w.name, "unknown");
	cr_assert_str_eq(w.meaning, "unknown");
	rep_phone_describe(error_at(&pl, 3), &w);
	cr_assert_str_eq(w.code, "0x800b0109");
	cr_assert_str_eq(w.name, "CERT_E_UNTRUSTEDROOT");
	cr_assert_str_eq(error_at(&pl, 3)->text, "Trust failed");
	rep_phonelog_free(&pl);
}

Test(phonelog, garbage_lines_are_counted_never_fatal)
{
	static const char log[] =
		"...\n"
		"\n"
		"   \t \n"
		"this is not a log line at all\n"
		HDR("100", "ERROR") "X::Y: Broken. errorCode=12x45\n"
		HDR("100", "ERROR") "X::Y: Too big. errorCode=99999999999\n"
		HDR("100", "INFO") "X::Y: InternalEwsUrl is ftp://casarray.contoso.com/\n"
		HDR("100", "INFO") "X::Y: ExternalEwsUrl is https://host:99999/EWS\n"
		HDR("100", "ERROR") "X::Y: Bad hr. hr=0xZZ\n"
		HDR("100", "INFO") "X::Y: nothing of interest here\n"
		"\xff\xfe\x01\x1b[31m\n";
	struct rep_phonelog pl;

	parse(&pl, log, sizeof(log) - 1);
	cr_assert_eq(pl.lines, 9, "blank lines are not counted");
	cr_assert_eq(pl.not_understood, 8);
	cr_assert_eq(pl.errors.n, 0);
	cr_assert_eq(pl.ews.n, 0);
	rep_phonelog_free(&pl);
}

Test(phonelog, very_long_lines_and_nul_bytes_are_skipped)
{
	size_t big = 100000;
	char *log = malloc(big + sizeof(seed_log) + 1024);
	size_t n = 0;

	cr_assert_not_null(log);
	memcpy(log, HDR("100", "ERROR") "X::Y: ", strlen(HDR("100", "ERROR") "X::Y: "));
	n = strlen(HDR("100", "ERROR") "X::Y: ");
	memset(log + n, 'A', big);
	n += big;
	n += (size_t)sprintf(log + n, " errorCode=12045\n");
	static const char nul_line[] = HDR("100", "ERROR") "X::Y: A\0B. errorCode=12038\n";
	memcpy(log + n, nul_line, sizeof(nul_line) - 1);
	n += sizeof(nul_line) - 1;
	memcpy(log + n, seed_log, strlen(seed_log));
	n += strlen(seed_log);

	struct rep_phonelog pl;
	parse(&pl, log, n);
	cr_assert_eq(pl.not_understood, 2);
	cr_assert_eq(pl.errors.n, 1, "only the seed's error");
	cr_assert_eq(error_at(&pl, 0)->win32, 12045);
	cr_assert_eq(error_at(&pl, 0)->line, 5);
	rep_phonelog_free(&pl);
	free(log);
}

Test(phonelog, a_line_cut_at_the_end_of_the_file_is_still_read)
{
	static const char log[] = HDR("850", "ERROR") "X::Y: Insecure server. errorCode=12045";
	struct rep_phonelog pl;

	parse(&pl, log, sizeof(log) - 1);
	cr_assert_eq(pl.errors.n, 1);
	cr_assert_eq(pl.not_understood, 0);
	rep_phonelog_free(&pl);
}

/* ---- joined with the findings ---------------------------------------------------- */

static EVP_PKEY *fe_ca_key, *cas_ca_key, *key;
static X509 *fe_ca, *cas_ca, *fe, *cas;
static char log_path[64];

static void setup(void)
{
	fe_ca_key = pki_key(PKI_EC, 256);
	cas_ca_key = pki_key(PKI_EC, 256);
	key = pki_key(PKI_EC, 256);
	fe_ca = rep_ca("Issuing CA for contoso,com", fe_ca_key, NULL, NULL);
	cas_ca = rep_ca("Issuing-CA for contoso", cas_ca_key, NULL, NULL);
	fe = rep_leaf("pool01.contoso.com", key, fe_ca, fe_ca_key,
		      (const char *[]){ "pool01.contoso.com", NULL });
	/* No autodiscover name: only the phone log says this is Exchange. */
	cas = rep_leaf("casarray.contoso.com", key, cas_ca, cas_ca_key,
		       (const char *[]){ "casarray.contoso.com", "cas01.contoso.com", NULL });
	snprintf(log_path, sizeof(log_path), "/tmp/phonelog_XXXXXX");
	int fd = mkstemp(log_path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, seed_log, strlen(seed_log)), (ssize_t)strlen(seed_log));
	static const char name_error[] =
		HDR("900", "ERROR") "X::Y: Bad name. errorCode=12038, hr=80072f06\n"
		HDR("901", "INFO") "X::Z: after SendSoapRequest. hr=0x80072f06, "
		"url=https://casarray.contoso.com/EWS/Exchange.asmx\n";
	cr_assert_eq(write(fd, name_error, strlen(name_error)), (ssize_t)strlen(name_error));
	close(fd);
}

static void teardown(void)
{
	unlink(log_path);
	X509_free(fe);
	X509_free(cas);
	X509_free(fe_ca);
	X509_free(cas_ca);
	EVP_PKEY_free(fe_ca_key);
	EVP_PKEY_free(cas_ca_key);
	EVP_PKEY_free(key);
}

TestSuite(phonelog_report, .init = setup, .fini = teardown);

static void run_seed(struct rep_run *run)
{
	struct rep_options opt = { .format = REP_JSONL, .fail_on = REP_NEVER };

	opt.phone_logs[0] = log_path;
	opt.n_phone_logs = 1;
	rep_run_start(run, &opt);
	rep_run_feed(run, "10.0.0.20", "10.0.0.5", 5061,
		     rep_session(T_2012, "pool01.contoso.com", (X509 *[]){ fe, fe_ca, NULL }));
	rep_run_feed(run, "10.0.0.20", "10.0.0.6", 443,
		     rep_session(T_2012 + 636000, "casarray.contoso.com",
				 (X509 *[]){ cas, cas_ca, NULL }));
	rep_run_finish(run);
}

Test(phonelog_report, ews_url_makes_its_server_exchange)
{
	struct rep_run run;

	run_seed(&run);
	json_t *s = rep_run_server(&run, "10.0.0.6", 443);
	cr_assert_not_null(s, "%s", run.buf);
	cr_assert_str_eq(json_string_value(json_object_get(s, "role")), "exchange");
	const char *why = json_string_value(json_object_get(s, "role_reason"));
	cr_assert(strstr(why, "phone log ") && strstr(why, ": InternalEwsUrl (SNI casarray.contoso.com)"),
		  "%s", why);
	rep_run_free(&run);
}

Test(phonelog_report, insecure_server_12045_is_explained_by_issuer_mismatch)
{
	struct rep_run run;

	run_seed(&run);
	json_t *e = rep_run_event(&run, "phone_error", 0);
	cr_assert_not_null(e, "%s", run.buf);
	cr_assert_str_eq(json_string_value(json_object_get(e, "ts")), "10/19/2012 14:50:27.850");
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), "12045");
	cr_assert_str_eq(json_string_value(json_object_get(e, "name")), "ERROR_INTERNET_INVALID_CA");
	cr_assert_str_eq(json_string_value(json_object_get(e, "host")), "casarray.contoso.com");
	cr_assert_str_eq(json_string_value(json_object_get(e, "url")),
			 "https://casarray.contoso.com/EWS/Exchange.asmx");
	json_t *by = json_object_get(e, "explained_by");
	cr_assert(json_is_object(by), "%s", run.buf);
	cr_assert_str_eq(json_string_value(json_object_get(by, "code")), "issuer-mismatch");
	json_t *srv = json_object_get(by, "server");
	cr_assert_str_eq(json_string_value(json_object_get(srv, "ip")), "10.0.0.6");
	cr_assert_eq(json_integer_value(json_object_get(srv, "port")), 443);
	rep_run_free(&run);
}

Test(phonelog_report, an_error_no_finding_explains_says_null)
{
	struct rep_run run;

	run_seed(&run);
	json_t *e = rep_run_event(&run, "phone_error", 1);
	cr_assert_not_null(e, "%s", run.buf);
	cr_assert_str_eq(json_string_value(json_object_get(e, "code")), "12038");
	cr_assert(json_is_null(json_object_get(e, "explained_by")),
		  "the SNI is in the SAN: no name-mismatch to blame");
	json_t *sum = rep_run_event(&run, "summary", 0);
	json_t *pl = json_object_get(sum, "phone_log");
	cr_assert_eq(json_integer_value(json_object_get(pl, "errors")), 2);
	cr_assert_eq(json_integer_value(json_object_get(pl, "explained")), 1);
	cr_assert_eq(json_integer_value(json_object_get(pl, "not_understood")), 0);
	rep_run_free(&run);
}

Test(phonelog_report, text_report_has_a_phone_log_section)
{
	struct rep_options opt = { .format = REP_TEXT, .fail_on = REP_NEVER };
	struct rep_run run;

	opt.phone_logs[0] = log_path;
	opt.n_phone_logs = 1;
	memset(&run, 0, sizeof(run));
	run.out = open_memstream(&run.buf, &run.len);
	char err[256];
	struct rep *r = rep_new(&opt, run.out, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	struct rep_handshake *a = rep_session(T_2012, "pool01.contoso.com",
					      (X509 *[]){ fe, fe_ca, NULL });
	struct rep_handshake *b = rep_session(T_2012 + 636000, "casarray.contoso.com",
					      (X509 *[]){ cas, cas_ca, NULL });
	a->client = b->client = (struct rep_endpoint){ "10.0.0.20", 50855 };
	a->server = (struct rep_endpoint){ "10.0.0.5", 5061 };
	b->server = (struct rep_endpoint){ "10.0.0.6", 443 };
	rep_handshake(r, a);
	rep_handshake(r, b);
	rep_finish(r, NULL);
	fclose(run.out);
	cr_assert(strstr(run.buf, "phone 10/19/2012 14:50:27.850: Insecure server 12045 "
			 "ERROR_INTERNET_INVALID_CA on https://casarray.contoso.com/EWS/Exchange.asmx "
			 "\u2190 issuer-mismatch on casarray.contoso.com (10.0.0.6:443)"), "%s", run.buf);
	cr_assert(strstr(run.buf, "InternalEwsUrl https://casarray.contoso.com/EWS/Exchange.asmx: "
			 "exchange server 10.0.0.6:443"), "%s", run.buf);
	rep_free(r);
	free(run.buf);
	rep_session_free(a);
	rep_session_free(b);
}
