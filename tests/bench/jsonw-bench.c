/*
 * jsonw-bench.c — `make bench-json`: one "tls" event, shaped as
 * report/output/jsonl.c writes it (27 members: two endpoint objects, a
 * chain of 3 certificates with sha1/subject/issuer, an alert, arrays of
 * strings, nulls), written N times three ways:
 *
 *   jansson      the tree built as jsonl.c built it before lib/json.h (jstr(),
 *                json_pack for endpoints and alerts, rep_iso_us for times),
 *                json_dumpb(JSON_COMPACT | JSON_ENSURE_ASCII) into a reused
 *                buffer, json_decref
 *   jw           lib/json.h, the same members by hand
 *   jw table     lib/json.h, jw_write_fields over a struct and its table
 *
 * It first checks that the three lines are the same bytes (else it says so
 * and exits 1), then prints CPU ns per event, the median of RUNS runs.
 *
 * Then the report itself: rep_handshake() over a TLS 1.2 handshake with a
 * two-certificate chain (pcaps/pki's lyncpool and issuing CA; run from the
 * top of the tree), the report writing jsonl to /dev/null, and again with
 * --format text (which prints nothing per handshake).  The difference is
 * what one "tls" event costs in the report, its fwrite included.  The
 * bench uses only report.h, so the same source built against an older
 * libcerttrace.a measures that one (how the before/after figures of the
 * jsonl rewrite were taken).
 *
 *   jsonw-bench [RUNS [EVENTS]]       defaults 7 and 200000 (jansson: EVENTS/10)
 */
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "report/report.h"
#include "report/util.h"

/* ---- the event --------------------------------------------------------------------- */

struct b_endpoint {
	char ip[46];
	uint16_t port;
};

struct b_cert {
	char sha1[41];
	const char *subject, *issuer;
};

struct b_alert {
	uint64_t ts_us;
	char from[8];
	char level[12];
	const char *description;
};

struct b_event {
	uint64_t ts_us;
	struct b_endpoint client, server;
	char version[16];
	char cipher[96];
	char sni[256];
	char alpn[8][64];
	unsigned n_alpn;
	char ja3[33], ja3s[33];
	bool resumed, certificates_visible;
	struct b_cert chain[3];
	unsigned n_chain;
	bool chain_truncated;
	uint64_t chain_ts;
	struct b_cert client_chain[1];
	unsigned n_client_chain;
	char **cas;
	unsigned n_cas;
	struct b_alert alerts[8];
	unsigned n_alerts;
	char role[16];
	const char *app;
	char status[16];
	const char *reason, *preamble;
	char **risks;
	unsigned n_risks;
};

static char *risk_list[] = { "Known Proto on Non Std Port" };

static void make_event(struct b_event *e)
{
	memset(e, 0, sizeof *e);
	e->ts_us = 1350658227214000ull;
	str_copy(e->client.ip, sizeof e->client.ip, "10.20.30.145");
	e->client.port = 50123;
	str_copy(e->server.ip, sizeof e->server.ip, "10.20.1.11");
	e->server.port = 443;
	str_copy(e->version, sizeof e->version, "TLS 1.2");
	str_copy(e->cipher, sizeof e->cipher, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	str_copy(e->sni, sizeof e->sni, "autodiscover.contoso.com");
	str_copy(e->alpn[0], sizeof e->alpn[0], "h2");
	str_copy(e->alpn[1], sizeof e->alpn[1], "http/1.1");
	e->n_alpn = 2;
	str_copy(e->ja3, sizeof e->ja3, "6734f37431670b3ab4292b8f60f29984");
	str_copy(e->ja3s, sizeof e->ja3s, "ccc514751b175866924439bdbb5bba34");
	e->certificates_visible = true;
	static const char *names[] = {
		"CN=autodiscover.contoso.com,OU=Messaging,O=Contoso Ltd,L=Redmond,ST=Washington,C=US",
		"CN=Contoso Issuing CA 02,DC=corp,DC=contoso,DC=com",
		"CN=Contoso Root CA,DC=corp,DC=contoso,DC=com",
	};
	static const char *sha1[] = {
		"0d4f7c1a9b2e3f4a5b6c7d8e9f00112233445566",
		"8a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
		"f1e2d3c4b5a6978877665544332211ffeeddccbb",
	};
	for (int i = 0; i < 3; i++) {
		str_copy(e->chain[i].sha1, sizeof e->chain[i].sha1, sha1[i]);
		e->chain[i].subject = names[i];
		e->chain[i].issuer = names[i < 2 ? i + 1 : 2];
	}
	e->n_chain = 3;
	e->chain_ts = 1350658227231000ull;
	e->alerts[0].ts_us = 1350658227240000ull;
	str_copy(e->alerts[0].from, sizeof e->alerts[0].from, "client");
	str_copy(e->alerts[0].level, sizeof e->alerts[0].level, "fatal");
	e->alerts[0].description = "unknown_ca";
	e->n_alerts = 1;
	str_copy(e->role, sizeof e->role, "exchange");
	e->app = "TLS.Microsoft365";
	str_copy(e->status, sizeof e->status, "complete");
	e->risks = risk_list;
	e->n_risks = 1;
}

/* ---- jansson, as jsonl.c used it ------------------------------------------------- */

static json_t *jstr(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_string(s);
	if (v)
		return v;
	char *copy = strdup(s);
	if (!copy)
		return json_null();
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v ? v : json_null();
}

static json_t *jstr_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

static json_t *jtime(uint64_t ts_us)
{
	char buf[40];
	rep_iso_us(ts_us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *jendpoint(const struct b_endpoint *ep)
{
	return json_pack("{s:o,s:i}", "ip", jstr(ep->ip), "port", (json_int_t)ep->port);
}

static json_t *chain_array(const struct b_cert *c, unsigned n)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}", "sha1", jstr(c[i].sha1),
						   "subject", jstr(c[i].subject),
						   "issuer", jstr(c[i].issuer)));
	return a;
}

static json_t *str_array(char *const *v, unsigned n)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

static json_t *tls_jansson(const struct b_event *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string("tls"));
	json_object_set_new(o, "ts", jtime(t->ts_us));
	json_object_set_new(o, "client", jendpoint(&t->client));
	json_object_set_new(o, "server", jendpoint(&t->server));
	json_object_set_new(o, "version", jstr(t->version));
	json_object_set_new(o, "cipher", jstr(t->cipher));
	json_object_set_new(o, "sni", jstr_or_null(t->sni));
	json_t *alpn = json_array();
	for (unsigned i = 0; alpn && i < t->n_alpn; i++)
		json_array_append_new(alpn, jstr(t->alpn[i]));
	json_object_set_new(o, "alpn", alpn);
	json_object_set_new(o, "ja3", jstr_or_null(t->ja3));
	json_object_set_new(o, "ja3s", jstr_or_null(t->ja3s));
	json_object_set_new(o, "resumed", json_boolean(t->resumed));
	json_object_set_new(o, "certificates_visible", json_boolean(t->certificates_visible));
	json_object_set_new(o, "server_chain", chain_array(t->chain, t->n_chain));
	json_object_set_new(o, "server_chain_truncated", json_boolean(t->chain_truncated));
	json_object_set_new(o, "server_chain_ts", t->chain_ts ? jtime(t->chain_ts) : json_null());
	json_object_set_new(o, "client_chain", chain_array(t->client_chain, t->n_client_chain));
	json_object_set_new(o, "acceptable_cas", str_array(t->cas, t->n_cas));
	json_t *alerts = json_array();
	for (unsigned i = 0; alerts && i < t->n_alerts; i++) {
		const struct b_alert *a = &t->alerts[i];
		json_array_append_new(alerts, json_pack("{s:o,s:s,s:s,s:o}", "ts", jtime(a->ts_us),
							"from", a->from, "level", a->level,
							"description", jstr(a->description)));
	}
	json_object_set_new(o, "alerts", alerts);
	json_object_set_new(o, "role", json_string(t->role));
	json_object_set_new(o, "app", jstr_or_null(t->app));
	json_object_set_new(o, "status", json_string(t->status));
	json_object_set_new(o, "reason", jstr_or_null(t->reason));
	json_object_set_new(o, "preamble", jstr_or_null(t->preamble));
	json_object_set_new(o, "dpi_risks", str_array(t->risks, t->n_risks));
	return o;
}

/* The jansson jsonl.c's emit(), without the fwrite: the line in a reused buffer. */
static size_t emit_jansson(json_t *obj, char **line, size_t *cap)
{
	const size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII;
	size_t n = json_dumpb(obj, *line, *cap, flags);
	if (n + 1 > *cap) {
		size_t c = (n + 1) * 2;
		char *b = realloc(*line, c);
		if (!b)
			abort();
		*line = b;
		*cap = c;
		n = json_dumpb(obj, *line, *cap, flags);
	}
	(*line)[n] = '\n';
	json_decref(obj);
	return n + 1;
}

/* ---- the writer, by hand ----------------------------------------------------------- */

static void w_endpoint(struct jw *w, const char *k, const struct b_endpoint *ep)
{
	jw_kv_object_open(w, k);
	jw_kv_str(w, "ip", ep->ip);
	jw_kv_uint(w, "port", ep->port);
	jw_object_close(w);
}

static void w_chain(struct jw *w, const char *k, const struct b_cert *c, unsigned n)
{
	jw_kv_array_open(w, k);
	for (unsigned i = 0; i < n; i++) {
		jw_object_open(w);
		jw_kv_str(w, "sha1", c[i].sha1);
		jw_kv_str(w, "subject", c[i].subject);
		jw_kv_str(w, "issuer", c[i].issuer);
		jw_object_close(w);
	}
	jw_array_close(w);
}

static void w_strs(struct jw *w, const char *k, char *const *v, unsigned n)
{
	jw_kv_array_open(w, k);
	for (unsigned i = 0; i < n; i++)
		jw_str(w, v[i]);
	jw_array_close(w);
}

static void tls_jw(struct jw *w, const struct b_event *t)
{
	jw_object_open(w);
	jw_kv_str(w, "event", "tls");
	jw_kv_time_us(w, "ts", t->ts_us);
	w_endpoint(w, "client", &t->client);
	w_endpoint(w, "server", &t->server);
	jw_kv_str(w, "version", t->version);
	jw_kv_str(w, "cipher", t->cipher);
	jw_kv_str_or_null(w, "sni", t->sni);
	jw_kv_array_open(w, "alpn");
	for (unsigned i = 0; i < t->n_alpn; i++)
		jw_str(w, t->alpn[i]);
	jw_array_close(w);
	jw_kv_str_or_null(w, "ja3", t->ja3);
	jw_kv_str_or_null(w, "ja3s", t->ja3s);
	jw_kv_bool(w, "resumed", t->resumed);
	jw_kv_bool(w, "certificates_visible", t->certificates_visible);
	w_chain(w, "server_chain", t->chain, t->n_chain);
	jw_kv_bool(w, "server_chain_truncated", t->chain_truncated);
	jw_key(w, "server_chain_ts");
	if (t->chain_ts)
		jw_time_us(w, t->chain_ts);
	else
		jw_null(w);
	w_chain(w, "client_chain", t->client_chain, t->n_client_chain);
	w_strs(w, "acceptable_cas", t->cas, t->n_cas);
	jw_kv_array_open(w, "alerts");
	for (unsigned i = 0; i < t->n_alerts; i++) {
		const struct b_alert *a = &t->alerts[i];
		jw_object_open(w);
		jw_kv_time_us(w, "ts", a->ts_us);
		jw_kv_str(w, "from", a->from);
		jw_kv_str(w, "level", a->level);
		jw_kv_str(w, "description", a->description);
		jw_object_close(w);
	}
	jw_array_close(w);
	jw_kv_str(w, "role", t->role);
	jw_kv_str_or_null(w, "app", t->app);
	jw_kv_str(w, "status", t->status);
	jw_kv_str_or_null(w, "reason", t->reason);
	jw_kv_str_or_null(w, "preamble", t->preamble);
	w_strs(w, "dpi_risks", t->risks, t->n_risks);
	jw_object_close(w);
}

/* ---- the writer, by table ---------------------------------------------------------- */

static const struct jw_field endpoint_fields[] = {
	JWF_CHARS(struct b_endpoint, ip, "ip", 0),
	JWF_U16(struct b_endpoint, port, "port", 0),
};
static const struct jw_table endpoint_table = JW_TABLE(endpoint_fields);

static const struct jw_field cert_fields[] = {
	JWF_CHARS(struct b_cert, sha1, "sha1", 0),
	JWF_STRING(struct b_cert, subject, "subject", 0),
	JWF_STRING(struct b_cert, issuer, "issuer", 0),
};
static const struct jw_table cert_table = JW_TABLE(cert_fields);

static const struct jw_field alert_fields[] = {
	JWF_TIME_US(struct b_alert, ts_us, "ts", 0),
	JWF_CHARS(struct b_alert, from, "from", 0),
	JWF_CHARS(struct b_alert, level, "level", 0),
	JWF_STRING(struct b_alert, description, "description", 0),
};
static const struct jw_table alert_table = JW_TABLE(alert_fields);

static const struct jw_field tls_fields[] = {
	JWF_CONST("event", "tls"),
	JWF_TIME_US(struct b_event, ts_us, "ts", 0),
	JWF_OBJECT(struct b_event, client, "client", &endpoint_table, 0),
	JWF_OBJECT(struct b_event, server, "server", &endpoint_table, 0),
	JWF_CHARS(struct b_event, version, "version", 0),
	JWF_CHARS(struct b_event, cipher, "cipher", 0),
	JWF_CHARS(struct b_event, sni, "sni", JW_NULL_EMPTY),
	JWF_STRINGS_INLINE(struct b_event, alpn, n_alpn, "alpn", 0),
	JWF_CHARS(struct b_event, ja3, "ja3", JW_NULL_EMPTY),
	JWF_CHARS(struct b_event, ja3s, "ja3s", JW_NULL_EMPTY),
	JWF_BOOL(struct b_event, resumed, "resumed", 0),
	JWF_BOOL(struct b_event, certificates_visible, "certificates_visible", 0),
	JWF_RECORDS_INLINE(struct b_event, chain, n_chain, "server_chain", &cert_table, 0),
	JWF_BOOL(struct b_event, chain_truncated, "server_chain_truncated", 0),
	JWF_TIME_US(struct b_event, chain_ts, "server_chain_ts", JW_NULL_EMPTY),
	JWF_RECORDS_INLINE(struct b_event, client_chain, n_client_chain, "client_chain",
			   &cert_table, 0),
	JWF_STRINGS(struct b_event, cas, n_cas, 64, "acceptable_cas", 0),
	JWF_RECORDS_INLINE(struct b_event, alerts, n_alerts, "alerts", &alert_table, 0),
	JWF_CHARS(struct b_event, role, "role", 0),
	JWF_STRING(struct b_event, app, "app", JW_NULL_EMPTY),
	JWF_CHARS(struct b_event, status, "status", 0),
	JWF_STRING(struct b_event, reason, "reason", JW_NULL_EMPTY),
	JWF_STRING(struct b_event, preamble, "preamble", JW_NULL_EMPTY),
	JWF_STRINGS(struct b_event, risks, n_risks, 16, "dpi_risks", 0),
};

/* ---- timing ------------------------------------------------------------------------ */

/* CPU time of this thread: on a shared machine, time spent waiting for a
 * core is not the writer's. */
static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum way { WAY_JANSSON, WAY_JW, WAY_TABLE };

static volatile size_t sink;

/* One line the given way; its length, the line in *out. */
static size_t one(enum way way, struct b_event *e, struct jw *w, char **line, size_t *cap,
		  const char **out)
{
	size_t n = 0;
	if (way == WAY_JANSSON) {
		n = emit_jansson(tls_jansson(e), line, cap);
		*out = *line;
		return n;
	}
	jw_reset(w);
	if (way == WAY_JW)
		tls_jw(w, e);
	else
		jw_write_fields(w, tls_fields, sizeof tls_fields / sizeof tls_fields[0], e);
	*out = jw_line_end(w, &n);
	if (!*out) {
		fprintf(stderr, "jsonw-bench: %s\n", jw_strerror(w));
		exit(1);
	}
	return n;
}

static double run(enum way way, struct b_event *e, struct jw *w, char **line, size_t *cap,
		  long events)
{
	const char *out;
	size_t total = 0;
	uint64_t ts = e->ts_us;
	double t0 = now_ns();
	for (long i = 0; i < events; i++) {
		e->ts_us = ts + (uint64_t)i;           /* a different line each time */
		total += one(way, e, w, line, cap, &out);
	}
	double t1 = now_ns();
	e->ts_us = ts;
	sink = total;
	return (t1 - t0) / (double)events;
}

/* ---- the report ------------------------------------------------------------------- */

/* A certificate file's DER, malloc'd; NULL when it cannot be read. */
static uint8_t *pem_der(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

/* CPU ns per rep_handshake() of a report in this format, writing to
 * /dev/null; < 0 when the report cannot be made. */
static double report_run(enum rep_format format, const struct rep_handshake *proto, long events)
{
	struct rep_options opt = { .format = format, .fail_on = REP_NEVER, .verbose = -1 };
	struct rep_handshake h = *proto;
	char err[256];
	FILE *out = fopen("/dev/null", "w");
	if (!out)
		return -1;
	struct rep *r = rep_new(&opt, out, err, sizeof err);
	if (!r) {
		fprintf(stderr, "jsonw-bench: %s\n", err);
		fclose(out);
		return -1;
	}
	rep_handshake(r, &h);                    /* the certificates, announced once */
	double t0 = now_ns();
	for (long i = 0; i < events; i++) {
		h.ts_us = proto->ts_us + (uint64_t)i * 1000;
		h.client.port = (uint16_t)(1024 + i % 60000);
		rep_handshake(r, &h);
	}
	double t1 = now_ns();
	rep_free(r);
	fclose(out);
	return (t1 - t0) / (double)events;
}

static void bench_report(int runs, long events)
{
	static const char *files[] = { "pcaps/pki/lyncpool.pem", "pcaps/pki/issuing-ca.pem" };
	struct rep_handshake h = { 0 };
	uint8_t *der[2] = { NULL, NULL };

	for (unsigned i = 0; i < 2; i++) {
		if (!(der[i] = pem_der(files[i], &h.server_chain.certs[i].len))) {
			printf("  report: %s not readable (run from the top of the tree); skipped\n",
			       files[i]);
			free(der[0]);
			return;
		}
		h.server_chain.certs[i].data = der[i];
	}
	h.server_chain.n = 2;
	h.server_chain.present = true;
	h.server_chain.ts_us = UINT64_C(1350658227214000);
	h.ts_us = UINT64_C(1350658227214000);
	snprintf(h.client.ip, sizeof h.client.ip, "10.0.40.1");
	snprintf(h.server.ip, sizeof h.server.ip, "10.0.10.1");
	h.server.port = 5061;
	h.server_hello = true;
	h.version = 0x0303;
	h.cipher = 0xc030;
	h.status = REP_HS_COMPLETE;
	h.sni = "lyncpool.contoso.com";
	h.ja3 = "0123456789abcdef0123456789abcdef";
	h.ja3s = "fedcba9876543210fedcba9876543210";
	h.certificates_visible = true;

	double t[2][101];
	for (int r = 0; r < runs; r++) {
		t[0][r] = report_run(REP_JSONL, &h, events);
		t[1][r] = report_run(REP_TEXT, &h, events);
		if (t[0][r] < 0 || t[1][r] < 0)
			goto out;
	}
	qsort(t[0], (size_t)runs, sizeof t[0][0], cmp_double);
	qsort(t[1], (size_t)runs, sizeof t[1][0], cmp_double);
	printf("report: rep_handshake() of a TLS 1.2 handshake with a 2-certificate chain\n"
	       "  %-30s %8ld events  %9.0f ns/event\n"
	       "  %-30s %8ld events  %9.0f ns/event\n"
	       "  %-30s                  %9.0f ns/event\n",
	       "--format jsonl (> /dev/null)", events, t[0][runs / 2],
	       "--format text (no output)", events, t[1][runs / 2],
	       "one tls event (the difference)", t[0][runs / 2] - t[1][runs / 2]);
out:
	free(der[0]);
	free(der[1]);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7;
	long events = argc > 2 ? atol(argv[2]) : 200000;
	static const char *names[] = { "jansson (build + json_dumpb)", "jw (by hand)",
				       "jw table (jw_write_fields)" };
	struct b_event e;
	struct jw w;
	char *line = NULL;
	size_t cap = 0;

	if (runs < 1 || runs > 101 || events < 10) {
		fprintf(stderr, "usage: jsonw-bench [RUNS [EVENTS]]\n");
		return 2;
	}
	make_event(&e);
	jw_init(&w, 0);

	/* The three must print the same bytes. */
	const char *out;
	size_t n0 = one(WAY_JANSSON, &e, &w, &line, &cap, &out);
	char *ref = malloc(n0);
	if (!ref)
		return 1;
	memcpy(ref, out, n0);
	for (enum way way = WAY_JW; way <= WAY_TABLE; way++) {
		size_t n = one(way, &e, &w, &line, &cap, &out);
		if (n != n0 || memcmp(out, ref, n)) {
			fprintf(stderr, "jsonw-bench: %s differs from jansson:\n%.*s%.*s", names[way],
				(int)n0, ref, (int)n, out);
			return 1;
		}
	}

	printf("jsonw-bench: a tls event of %zu bytes (27 members), the same bytes all three ways;\n"
	       "median CPU ns per event of %d runs\n", n0, runs);
	for (enum way way = WAY_JANSSON; way <= WAY_TABLE; way++) {
		long ev = way == WAY_JANSSON ? events / 10 : events;
		double t[101];
		run(way, &e, &w, &line, &cap, ev / 10);  /* warm up */
		for (int r = 0; r < runs; r++)
			t[r] = run(way, &e, &w, &line, &cap, ev);
		qsort(t, (size_t)runs, sizeof t[0], cmp_double);
		printf("  %-30s %8ld events  %9.0f ns/event  (min %.0f, max %.0f)\n", names[way], ev,
		       t[runs / 2], t[0], t[runs - 1]);
	}
	bench_report(runs, events / 4);
	free(ref);
	free(line);
	jw_free(&w);
	return 0;
}
