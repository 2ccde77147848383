/*
 * test_malformed.c — hostile and broken captures: each damage sits in a file
 * next to one good TLS 1.2 handshake, and the good handshake must still come
 * out with its whole chain.  No crash, bounded memory, a clear message.
 *
 * The good handshake is real: tests/tls_fixture.c runs OpenSSL's client and
 * server in memory, and its flights are written as TCP segments with
 * tests/pktbuild.c.  The files go to /tmp and are read two ways: in-process
 * through the capture room and the dissector (what each flow ended as, the
 * decoder's reasons), and through the certtrace binary ($CERTTRACE, set by
 * the Makefile) for exit status, stderr and the jsonl report.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <openssl/sha.h>

#include "capture/capture.h"
#include "dissect/tls.h"
#include "tests/pktbuild.h"
#include "tests/tls_fixture.h"

#define GOOD_CLIENT "10.1.0.1"
#define GOOD_SERVER "10.1.0.2"
#define GOOD_CPORT 50001
#define GOOD_SPORT 443
#define GOOD_SNI "autodiscover.contoso.com"
#define TS0 1700000000000000ull
#define MSS 1448

/* ---- the good handshake -------------------------------------------------- */

struct good {
	struct tlsfx_pki *pki;
	struct tlsfx_transcript t;
	uint8_t *leaf_der;
	int leaf_len;
};

static struct good *good_new(void)
{
	struct good *g = calloc(1, sizeof *g);
	cr_assert(g);
	g->pki = tlsfx_pki_new();
	cr_assert(g->pki, "test PKI");
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
		.send_chain = true, .sni = GOOD_SNI,
	};
	struct tlsfx_pair pair;
	cr_assert(tlsfx_pair_init(&pair, g->pki, &o));
	tlsfx_transcript_init(&g->t);
	cr_assert(tlsfx_handshake(&pair, &o, NULL, &g->t));
	cr_assert(g->t.client_done && g->t.server_done, "the fixture handshake completes");
	tlsfx_pair_free(&pair);
	g->leaf_len = tlsfx_der(g->pki->leaf, &g->leaf_der);
	cr_assert(g->leaf_len > 0);
	return g;
}

static void good_free(struct good *g)
{
	OPENSSL_free(g->leaf_der);
	tlsfx_transcript_free(&g->t);
	tlsfx_pki_free(g->pki);
	free(g);
}

/* ---- writing TCP flows --------------------------------------------------- */

struct tcpw {
	FILE *f;
	uint64_t ts;
	const char *cip, *sip;
	uint16_t cport, sport;
	uint32_t seq[2];             /* next sequence number, by enum tls_dir */
	struct pkt_tcp_spec tmpl;    /* link, damage knobs for every segment */
};

static uint8_t frame_buf[70000];

static void seg(struct tcpw *w, int dir, uint8_t flags, const void *p, size_t n)
{
	struct pkt_tcp_spec s = w->tmpl;
	if (!s.ipv)
		s.ipv = 4;
	s.src = dir == TLS_FROM_CLIENT ? w->cip : w->sip;
	s.dst = dir == TLS_FROM_CLIENT ? w->sip : w->cip;
	s.sport = dir == TLS_FROM_CLIENT ? w->cport : w->sport;
	s.dport = dir == TLS_FROM_CLIENT ? w->sport : w->cport;
	s.seq = w->seq[dir];
	s.ack = w->seq[!dir];
	s.flags = flags;
	s.payload = p;
	s.len = n;
	size_t fl = pkt_tcp(&s, frame_buf, sizeof frame_buf);
	cr_assert(fl > 0);
	pcapw_write(w->f, w->ts++, frame_buf, (uint32_t)fl, (uint32_t)fl);
	w->seq[dir] += (uint32_t)n + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
}

static void tcp_open(struct tcpw *w, FILE *f, uint64_t ts, const char *cip, uint16_t cport,
		     const char *sip, uint16_t sport)
{
	memset(w, 0, sizeof *w);
	*w = (struct tcpw){ .f = f, .ts = ts, .cip = cip, .sip = sip, .cport = cport,
			    .sport = sport, .seq = { 1000, 500000 } };
	w->tmpl.ipv = strchr(cip, ':') ? 6 : 4;
	seg(w, TLS_FROM_CLIENT, TCP_SYN, NULL, 0);
	seg(w, TLS_FROM_SERVER, TCP_SYN | TCP_ACK, NULL, 0);
	seg(w, TLS_FROM_CLIENT, TCP_ACK, NULL, 0);
}

static void tcp_send(struct tcpw *w, int dir, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = n < MSS ? n : MSS;
		seg(w, dir, TCP_ACK | TCP_PSH, p, k);
		p += k;
		n -= k;
	}
}

static void tcp_close(struct tcpw *w)
{
	seg(w, TLS_FROM_CLIENT, TCP_FIN | TCP_ACK, NULL, 0);
	seg(w, TLS_FROM_SERVER, TCP_FIN | TCP_ACK, NULL, 0);
	seg(w, TLS_FROM_CLIENT, TCP_ACK, NULL, 0);
}

/* The good handshake as one TCP connection, on the given link type. */
static void good_write_link(FILE *f, const struct good *g, uint64_t ts, enum pkt_link link)
{
	struct tcpw w;
	tcp_open(&w, f, ts, GOOD_CLIENT, GOOD_CPORT, GOOD_SERVER, GOOD_SPORT);
	w.tmpl.link = link;
	for (unsigned i = 0; i < g->t.n_flights; i++) {
		const struct tlsfx_flight *fl = &g->t.flights[i];
		tcp_send(&w, fl->dir, g->t.data[fl->dir] + fl->off, fl->len);
	}
	tcp_close(&w);
}

static void good_write(FILE *f, const struct good *g, uint64_t ts)
{
	good_write_link(f, g, ts, PKT_ETH);
}

/* The first client flight: a real ClientHello, so a damaged flow is TLS. */
static void client_hello(struct tcpw *w, const struct good *g)
{
	const struct tlsfx_flight *fl = &g->t.flights[0];
	cr_assert_eq(fl->dir, TLS_FROM_CLIENT);
	tcp_send(w, TLS_FROM_CLIENT, g->t.data[TLS_FROM_CLIENT] + fl->off, fl->len);
}

/* ---- TLS bytes for damaged flows ----------------------------------------- */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_be(struct bytes *b, uint32_t v, int n)
{
	uint8_t x[4];
	for (int i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(b, x, (size_t)n);
}

/* Handshake bytes cut into TLS 1.2 handshake records of at most 2^14. */
static void put_records(struct bytes *out, const uint8_t *hs, size_t n)
{
	while (n > 0) {
		size_t k = n < 16384 ? n : 16384;
		put_be(out, TLS_CT_HANDSHAKE, 1);
		put_be(out, 0x0303, 2);
		put_be(out, (uint32_t)k, 2);
		put(out, hs, k);
		hs += k;
		n -= k;
	}
}

static void server_hello(struct bytes *hs)
{
	uint8_t random[32];
	memset(random, 0x5a, sizeof random);
	put_be(hs, TLS_HS_SERVER_HELLO, 1);
	put_be(hs, 2 + 32 + 1 + 2 + 1, 3);
	put_be(hs, 0x0303, 2);
	put(hs, random, 32);
	put_be(hs, 0, 1);             /* session id */
	put_be(hs, 0xc02f, 2);        /* TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
	put_be(hs, 0, 1);             /* compression */
}

/* ---- running the pipeline in-process ------------------------------------- */

#define MF_MAX_HS 16

struct mf_hs {
	char server[46];
	uint16_t sport;
	enum tls_status status;
	char reason[128];
	char sni[256];
	unsigned chain_n;
	bool leaf_is_good;           /* first certificate == the fixture's leaf */
	bool chain_nonempty_certs;   /* every certificate has bytes */
};

struct mf_result {
	bool opened;
	char open_err[1024];
	int dlt;
	uint64_t frames, malformed, not_tcp;
	char first_why[256];
	bool read_error;
	bool truncated;          /* ended inside its last record: a warning */
	char read_err[1024];
	unsigned n_hs;
	struct mf_hs hs[MF_MAX_HS];
	struct flow_counters fc;
	const struct good *good;
	struct flow_table *flows;
};

static struct tls_conn *mf_conn(struct flow *f)
{
	struct tls_conn *c = flow_user(f);
	if (!c) {
		c = tls_conn_new();
		flow_set_user(f, c);
	}
	return c;
}

static enum flow_verdict mf_data(void *ctx, struct flow *f, enum flow_dir d,
				 const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct tls_conn *c = mf_conn(f);
	if (!c)
		return FLOW_DONE;
	return tls_feed(c, (enum tls_dir)d, p, n, ts_us) == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

static enum flow_verdict mf_gap(void *ctx, struct flow *f, enum flow_dir d,
				uint64_t missing, uint64_t ts_us)
{
	struct tls_conn *c = mf_conn(f);
	if (!c)
		return FLOW_DONE;
	return tls_gap(c, (enum tls_dir)d, missing) == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

static void mf_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct mf_result *r = ctx;
	struct tls_conn *c = flow_user(f);
	if (!c)
		return;
	tls_end(c);
	if (tls_is_tls(c) && r->n_hs < MF_MAX_HS) {
		const struct tls_session *s = tls_session(c);
		struct mf_hs *h = &r->hs[r->n_hs++];
		flow_endpoint(f, FLOW_FROM_SERVER, h->server, sizeof h->server, &h->sport);
		h->status = s->status;
		snprintf(h->reason, sizeof h->reason, "%s", s->reason ? s->reason : "");
		snprintf(h->sni, sizeof h->sni, "%s", s->sni);
		h->chain_n = s->server_chain.n;
		h->chain_nonempty_certs = true;
		for (unsigned i = 0; i < s->server_chain.n; i++)
			if (!s->server_chain.certs[i].len)
				h->chain_nonempty_certs = false;
		const struct good *g = r->good;
		h->leaf_is_good = g && s->server_chain.n > 0 &&
				  s->server_chain.certs[0].len == (uint32_t)g->leaf_len &&
				  !memcmp(s->server_chain.certs[0].data, g->leaf_der, (size_t)g->leaf_len);
	}
	tls_conn_free(c);
	flow_set_user(f, NULL);
}

static void mf_frame(void *user, const struct cap_frame *fr)
{
	struct mf_result *r = user;
	struct cap_pkt p;
	const char *why = NULL;
	r->frames++;
	switch (cap_decode(fr->dlt, fr, &p, &why)) {
	case CAP_TCP:
		flow_table_packet(r->flows, &p);
		break;
	case CAP_MALFORMED:
		r->malformed++;
		cr_assert(why && *why, "a malformed packet says why");
		if (!r->first_why[0])
			snprintf(r->first_why, sizeof r->first_why, "%s", why);
		break;
	default:
		r->not_tcp++;
		break;
	}
}

static void mf_run(const char *path, const struct good *g, uint32_t max_flows,
		   struct mf_result *r)
{
	memset(r, 0, sizeof *r);
	r->good = g;
	struct cap_source *src = cap_open_offline(path, r->open_err, sizeof r->open_err);
	if (!src)
		return;
	r->opened = true;
	r->dlt = cap_linktype(src);
	struct flow_consumer c = { r, NULL, mf_data, mf_gap, mf_close };
	struct flow_options fo;
	flow_options_default(&fo);
	if (max_flows)
		fo.max_flows = max_flows;
	r->flows = flow_table_new(&fo, &c);
	cr_assert(r->flows);
	int n;
	while ((n = cap_next_batch(src, 1024, mf_frame, r)) >= 0)
		;
	if (n == -2) {
		r->read_error = true;
		snprintf(r->read_err, sizeof r->read_err, "%s", cap_error(src));
	} else if (cap_truncated(src)) {
		r->truncated = true;
		snprintf(r->read_err, sizeof r->read_err, "%s", cap_truncated(src));
	}
	cap_close(src);
	flow_table_finish(r->flows);
	r->fc = *flow_table_counters(r->flows);
	flow_table_free(r->flows);
	r->flows = NULL;
}

static const struct mf_hs *mf_find(const struct mf_result *r, const char *server, uint16_t port)
{
	for (unsigned i = 0; i < r->n_hs; i++)
		if (!strcmp(r->hs[i].server, server) && r->hs[i].sport == port)
			return &r->hs[i];
	return NULL;
}

static void assert_good_reported(const struct mf_result *r)
{
	const struct mf_hs *h = mf_find(r, GOOD_SERVER, GOOD_SPORT);
	cr_assert(h, "the good handshake next to the damage is reported (%u handshakes)", r->n_hs);
	cr_assert_eq(h->status, TLS_ST_COMPLETE, "good handshake: status %d (%s)", h->status, h->reason);
	cr_assert_eq(h->chain_n, 3, "good handshake: leaf, intermediate and root");
	cr_assert(h->leaf_is_good, "good handshake: its leaf is the fixture's");
	cr_assert_str_eq(h->sni, GOOD_SNI);
}

/* ---- running the binary -------------------------------------------------- */

struct mf_exec {
	int status;                  /* exit status, or 128 + signal */
	char *out, *err;             /* malloc'd, NUL-terminated */
	long maxrss_kib;
	double seconds;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "%s: %s", path, strerror(errno));
	struct bytes b = { 0 };
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		put(&b, buf, n);
	put(&b, "", 1);
	fclose(f);
	return (char *)b.p;
}

static const char *certtrace_path(void)
{
	const char *p = getenv("CERTTRACE");
	if (!p || access(p, X_OK) != 0)
		cr_skip_test("CERTTRACE is not set to the built binary (make unit sets it)");
	return p;
}

/* Runs certtrace with argv (argv[0] ignored), stdout and stderr captured. */
static void mf_exec(char *const argv[], struct mf_exec *x)
{
	char out[] = "/tmp/certtrace-mf-out-XXXXXX", err[] = "/tmp/certtrace-mf-err-XXXXXX";
	const char *bin = certtrace_path();
	int fo = mkstemp(out), fe = mkstemp(err);
	cr_assert(fo >= 0 && fe >= 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(bin, argv);
		_exit(127);
	}
	int st;
	struct rusage ru;
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fo);
	close(fe);
	x->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	x->maxrss_kib = ru.ru_maxrss;
	x->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	x->out = slurp(out);
	x->err = slurp(err);
	unlink(out);
	unlink(err);
}

static void mf_exec_free(struct mf_exec *x)
{
	free(x->out);
	free(x->err);
}

/* The jsonl "tls" event of the good handshake, with its three certificates. */
static void assert_good_in_jsonl(const char *out)
{
	const char *line = out;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char *l = strndup(line, n);
		bool hit = strstr(l, "\"event\":\"tls\"") && strstr(l, "\"" GOOD_SERVER "\"") &&
			   strstr(l, GOOD_SNI);
		if (hit) {
			unsigned shas = 0;
			const char *chain = strstr(l, "\"server_chain\"");
			for (const char *q = chain; q && (q = strstr(q, "\"sha1\"")); q++)
				shas++;
			free(l);
			/* client_chain is empty: the sha1s after server_chain are its own */
			cr_assert(chain, "the good handshake's tls event has a server_chain");
			cr_assert_eq(shas, 3, "the good handshake's chain has 3 certificates in jsonl");
			return;
		}
		free(l);
		line = end ? end + 1 : NULL;
	}
	cr_assert_fail("no jsonl tls event for the good handshake in:\n%s", out);
}

static char *tmp_path(const char *what)
{
	char *p;
	cr_assert(asprintf(&p, "/tmp/certtrace-malformed-%d-%s", (int)getpid(), what) > 0);
	return p;
}

static FILE *pcap_new(const char *path)
{
	FILE *f = pcapw_open(path, DLT_EN10MB, 262144);
	cr_assert(f, "%s: %s", path, strerror(errno));
	return f;
}

/* ---- the capture file itself ----------------------------------------------- */

Test(malformed_file, truncated_global_header_is_refused_with_a_reason)
{
	char *path = tmp_path("short-header.pcap");
	FILE *f = pcap_new(path);
	fclose(f);
	cr_assert_eq(truncate(path, 10), 0);
	struct mf_result r;
	mf_run(path, NULL, 0, &r);
	cr_assert_not(r.opened);
	cr_assert(strstr(r.open_err, path) && strstr(r.open_err, "not a readable pcap"),
		  "names the file and what is wrong: %s", r.open_err);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", NULL }, &x);
	cr_assert_eq(x.status, 2, "unreadable input exits 2 (%d): %s", x.status, x.err);
	cr_assert(strstr(x.err, "certtrace: ") && strstr(x.err, path), "stderr: %s", x.err);
	mf_exec_free(&x);
	unlink(path);
	free(path);
}

Test(malformed_file, bad_magic_is_refused_and_the_next_file_still_read)
{
	struct good *g = good_new();
	char *bad = tmp_path("bad-magic.pcap"), *ok = tmp_path("good.pcap");
	FILE *f = fopen(bad, "wb");
	uint32_t hdr[6] = { 0xdeadbeef, 0x00040002, 0, 0, 65535, 1 };
	fwrite(hdr, sizeof hdr, 1, f);
	fwrite("garbage after the header", 1, 24, f);
	fclose(f);
	f = pcap_new(ok);
	good_write(f, g, TS0);
	pcapw_close(f);

	struct mf_result r;
	mf_run(bad, g, 0, &r);
	cr_assert_not(r.opened);
	cr_assert(strstr(r.open_err, "not a readable pcap"), "%s", r.open_err);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", bad, "-r", ok, "--format", "jsonl",
			    "--fail-on", "never", NULL }, &x);
	cr_assert_eq(x.status, 2, "one unreadable input makes the run exit 2: %s", x.err);
	cr_assert(strstr(x.err, bad), "stderr names the bad file: %s", x.err);
	assert_good_in_jsonl(x.out);
	mf_exec_free(&x);
	unlink(bad);
	unlink(ok);
	free(bad);
	free(ok);
	good_free(g);
}

Test(malformed_file, record_longer_than_the_file_keeps_what_was_read)
{
	struct good *g = good_new();
	char *path = tmp_path("cut-record.pcap");
	FILE *f = pcap_new(path);
	good_write(f, g, TS0);
	/* A record header promising 1000 bytes, then the file ends after 10. */
	uint32_t rec[4] = { (uint32_t)(TS0 / 1000000) + 10, 0, 1000, 1000 };
	fwrite(rec, sizeof rec, 1, f);
	fwrite("0123456789", 1, 10, f);
	pcapw_close(f);

	struct mf_result r;
	mf_run(path, g, 0, &r);
	cr_assert(r.opened);
	cr_assert(r.truncated && !r.read_error, "the cut record is a warning, not an error");
	cr_assert(strstr(r.read_err, path) && strstr(r.read_err, "truncated"), "%s", r.read_err);
	assert_good_reported(&r);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", "--fail-on", "never",
			    NULL }, &x);
	cr_assert_eq(x.status, 0, "a cut-off last record is not a failed run (%d): %s",
		     x.status, x.err);
	cr_assert(strstr(x.err, "truncated"), "stderr says the file is cut: %s", x.err);
	assert_good_in_jsonl(x.out);
	mf_exec_free(&x);
	unlink(path);
	free(path);
	good_free(g);
}

/* A record header that cannot be right in the middle of the file (as in
 * suricata-verify bug-1450-04, where one record holds 2 bytes less than it
 * says, so the next header is read 2 bytes early): reading stops there, the
 * report covers what came before, stderr names the packet and the byte
 * offset, and the run exits 2 -- it is not a cut-off last record. */
Test(malformed_file, damaged_record_mid_file_exits_2_naming_packet_and_offset)
{
	struct good *g = good_new();
	char *path = tmp_path("damaged.pcap");
	FILE *f = pcap_new(path);
	good_write(f, g, TS0);
	fflush(f);
	long at = ftell(f);
	uint32_t rec[4] = { 1928287540u, 4325376u, 4325376u, 0 };
	fwrite(rec, sizeof rec, 1, f);
	uint8_t rest[600] = { 0 };
	fwrite(rest, 1, sizeof rest, f);
	pcapw_close(f);

	struct mf_result r;
	mf_run(path, g, 0, &r);
	cr_assert(r.opened && r.read_error && !r.truncated);
	char want[128];
	snprintf(want, sizeof want, "packet %llu at byte %ld", (unsigned long long)r.frames + 1, at);
	cr_assert(strstr(r.read_err, path) && strstr(r.read_err, want) &&
		  strstr(r.read_err, "4325376"), "names file, packet and offset: %s", r.read_err);
	assert_good_reported(&r);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", "--fail-on", "never",
			    NULL }, &x);
	cr_assert_eq(x.status, 2, "a damaged file is an error (%d): %s", x.status, x.err);
	cr_assert(strstr(x.err, path) && strstr(x.err, want), "stderr: %s", x.err);
	assert_good_in_jsonl(x.out);
	mf_exec_free(&x);
	unlink(path);
	free(path);
	good_free(g);
}

Test(malformed_file, caplen_zero_records_are_skipped)
{
	struct good *g = good_new();
	char *path = tmp_path("caplen0.pcap");
	FILE *f = pcap_new(path);
	for (int i = 0; i < 5; i++)
		pcapw_write(f, TS0 + (uint64_t)i, frame_buf, 0, 60);
	good_write(f, g, TS0 + 10);
	for (int i = 0; i < 5; i++)
		pcapw_write(f, TS0 + 100 + (uint64_t)i, frame_buf, 0, 1514);
	pcapw_close(f);

	struct mf_result r;
	mf_run(path, g, 0, &r);
	cr_assert(r.opened && !r.read_error, "%s", r.read_err);
	cr_assert_eq(r.malformed, 10, "every empty record is skipped as malformed");
	assert_good_reported(&r);
	unlink(path);
	free(path);
	good_free(g);
}

Test(malformed_file, snaplen_1_cuts_every_packet_and_the_next_file_is_read)
{
	struct good *g = good_new();
	char *cut = tmp_path("snaplen1.pcap"), *ok = tmp_path("good.pcap");
	/* A capture taken with -s 1: the good handshake, one byte per packet. */
	char *full = tmp_path("full.pcap");
	FILE *f = pcap_new(full);
	good_write(f, g, TS0);
	pcapw_close(f);
	FILE *in = fopen(full, "rb");
	FILE *out = pcapw_open(cut, DLT_EN10MB, 1);
	cr_assert(in && out);
	uint8_t hdr[24], rec[16], data[70000];
	cr_assert_eq(fread(hdr, 1, 24, in), 24);
	unsigned records = 0;
	while (fread(rec, 1, 16, in) == 16) {
		uint32_t caplen, len;
		memcpy(&caplen, rec + 8, 4);
		memcpy(&len, rec + 12, 4);
		cr_assert_eq(fread(data, 1, caplen, in), caplen);
		uint64_t ts;
		uint32_t sec, usec;
		memcpy(&sec, rec, 4);
		memcpy(&usec, rec + 4, 4);
		ts = (uint64_t)sec * 1000000 + usec;
		pcapw_write(out, ts, data, 1, len);
		records++;
	}
	fclose(in);
	pcapw_close(out);
	f = pcap_new(ok);
	good_write(f, g, TS0);
	pcapw_close(f);

	struct mf_result r;
	mf_run(cut, g, 0, &r);
	cr_assert(r.opened && !r.read_error);
	cr_assert_eq(r.frames, records);
	cr_assert_eq(r.malformed, records, "every 1-byte packet is malformed, with a reason");
	cr_assert_eq(r.n_hs, 0);
	cr_assert_eq(r.fc.flows, 0);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", cut, "-r", ok, "--format", "jsonl",
			    "--fail-on", "never", NULL }, &x);
	cr_assert_eq(x.status, 0, "%s", x.err);
	cr_assert(strstr(x.err, "skipped as malformed"), "stderr counts the skipped packets: %s",
		  x.err);
	assert_good_in_jsonl(x.out);
	mf_exec_free(&x);
	unlink(cut);
	unlink(ok);
	unlink(full);
	free(cut);
	free(ok);
	free(full);
	good_free(g);
}

Test(malformed_file, link_type_12345_is_refused_by_name)
{
	struct good *g = good_new();
	char *bad = tmp_path("dlt12345.pcap"), *ok = tmp_path("good.pcap");
	FILE *f = pcapw_open(bad, 12345, 65535);
	cr_assert(f);
	good_write(f, g, TS0);
	pcapw_close(f);
	f = pcap_new(ok);
	good_write(f, g, TS0);
	pcapw_close(f);

	struct mf_result r;
	mf_run(bad, g, 0, &r);
	cr_assert_not(r.opened);
	cr_assert(strstr(r.open_err, "link type") && strstr(r.open_err, "12345") &&
		  strstr(r.open_err, "not supported"), "%s", r.open_err);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", bad, "-r", ok, "--format", "jsonl",
			    "--fail-on", "never", NULL }, &x);
	cr_assert_eq(x.status, 2, "%s", x.err);
	cr_assert(strstr(x.err, "12345"), "stderr names the link type: %s", x.err);
	assert_good_in_jsonl(x.out);
	mf_exec_free(&x);
	unlink(bad);
	unlink(ok);
	free(bad);
	free(ok);
	good_free(g);
}

/* ---- headers that lie ------------------------------------------------------- */

/* A flow whose data segments all carry `damage`, next to the good one. */
static void lying_headers(const struct pkt_tcp_spec *damage, const char *what,
			  struct mf_result *r, struct good *g)
{
	char *path = tmp_path(what);
	FILE *f = pcap_new(path);
	struct tcpw w;
	tcp_open(&w, f, TS0, "10.2.0.1", 40000, "10.2.0.2", 443);
	w.tmpl = *damage;
	client_hello(&w, g);
	good_write(f, g, TS0 + 1000);
	pcapw_close(f);
	mf_run(path, g, 0, r);
	cr_assert(r->opened && !r->read_error, "%s", r->read_err);
	assert_good_reported(r);
	unlink(path);
	free(path);
}

Test(malformed_headers, ip_length_longer_than_the_frame)
{
	struct good *g = good_new();
	struct mf_result r;
	lying_headers(&(struct pkt_tcp_spec){ .ip_len_delta = 3000 }, "iplen-long.pcap", &r, g);
	/* A truncated capture and a lying length look the same: either the
	 * decoder refuses the packet with a reason, or it takes only what is
	 * present and the flow sees a gap. */
	cr_assert(r.malformed > 0 || r.fc.gaps > 0 || mf_find(&r, "10.2.0.2", 443),
		  "the lie is noticed");
	if (r.malformed)
		cr_assert(r.first_why[0]);
	good_free(g);
}

Test(malformed_headers, ip_length_shorter_than_the_headers)
{
	struct good *g = good_new();
	struct mf_result r;
	/* IP total length 30: under its own header plus TCP's. */
	size_t ch = g->t.flights[0].len;
	cr_assert_lt(ch, MSS, "the ClientHello fits one segment");
	lying_headers(&(struct pkt_tcp_spec){ .ip_len_delta = -(int)(10 + ch) }, "iplen-short.pcap",
		      &r, g);
	cr_assert(r.malformed > 0, "an IP length under the headers is malformed");
	cr_assert(r.first_why[0]);
	cr_assert_null(mf_find(&r, "10.2.0.2", 443), "no bytes of the lying flow reach TLS");
	good_free(g);
}

Test(malformed_headers, ipv6_payload_length_lies)
{
	struct good *g = good_new();
	struct mf_result r;
	char *path = tmp_path("v6len.pcap");
	FILE *f = pcap_new(path);
	struct tcpw w;
	tcp_open(&w, f, TS0, "fd00::1", 40000, "fd00::2", 443);
	/* Payload length 10: under the TCP header. */
	w.tmpl = (struct pkt_tcp_spec){ .ipv = 6, .ip_len_delta = -(int)(10 + g->t.flights[0].len) };
	client_hello(&w, g);
	good_write(f, g, TS0 + 1000);
	pcapw_close(f);
	mf_run(path, g, 0, &r);
	cr_assert(r.opened);
	cr_assert(r.malformed > 0, "a v6 payload length under the TCP header is malformed");
	assert_good_reported(&r);
	unlink(path);
	free(path);
	good_free(g);
}

Test(malformed_headers, tcp_header_length_under_20)
{
	struct good *g = good_new();
	struct mf_result r;
	lying_headers(&(struct pkt_tcp_spec){ .tcp_hlen_override = 12 }, "tcphlen.pcap", &r, g);
	cr_assert(r.malformed > 0, "a data offset under 5 words is malformed");
	cr_assert(strstr(r.first_why, "TCP") || strstr(r.first_why, "tcp"),
		  "the reason names TCP: %s", r.first_why);
	good_free(g);
}

Test(malformed_headers, tcp_header_length_past_the_packet)
{
	struct good *g = good_new();
	struct mf_result r;
	lying_headers(&(struct pkt_tcp_spec){ .tcp_hlen_override = 60 }, "tcphlen60.pcap", &r, g);
	/* 60 bytes of "options" eat the ClientHello's first 40 bytes. */
	const struct mf_hs *h = mf_find(&r, "10.2.0.2", 443);
	cr_assert(r.malformed > 0 || !h || h->chain_n == 0);
	good_free(g);
}

/* ---- TCP and TLS that lie ----------------------------------------------------- */

Test(malformed_tcp, sequence_numbers_jumping_by_2_31)
{
	struct good *g = good_new();
	char *path = tmp_path("seqjump.pcap");
	FILE *f = pcap_new(path);
	struct tcpw w;
	tcp_open(&w, f, TS0, "10.3.0.1", 40000, "10.3.0.2", 443);
	const struct tlsfx_flight *fl = &g->t.flights[0];
	const uint8_t *ch = g->t.data[TLS_FROM_CLIENT] + fl->off;
	/* Half the ClientHello, then segments 2^31 ahead, behind, ahead again:
	 * none may make reassembly wait for (or buffer) 2 GiB. */
	tcp_send(&w, TLS_FROM_CLIENT, ch, fl->len / 2);
	for (int i = 0; i < 64; i++) {
		w.seq[TLS_FROM_CLIENT] += 0x80000000u;
		tcp_send(&w, TLS_FROM_CLIENT, ch, fl->len);
	}
	tcp_close(&w);
	good_write(f, g, TS0 + 1000);
	pcapw_close(f);

	struct mf_result r;
	mf_run(path, g, 0, &r);
	cr_assert(r.opened && !r.read_error);
	assert_good_reported(&r);
	cr_assert_leq(r.fc.peak_buffered_bytes, 256 * 1024,
		      "out-of-order bytes stay under the per-direction cap (%llu)",
		      (unsigned long long)r.fc.peak_buffered_bytes);
	const struct mf_hs *h = mf_find(&r, "10.3.0.2", 443);
	if (h)
		cr_assert_neq(h->status, TLS_ST_COMPLETE, "a half ClientHello is not a handshake");
	unlink(path);
	free(path);
	good_free(g);
}

static long maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

Test(malformed_tls, biggest_length_prefixes_do_not_allocate_them)
{
	struct good *g = good_new();
	char *path = tmp_path("hugelen.pcap");
	FILE *f = pcap_new(path);
	struct tcpw w;

	/* (a) a record header claiming 65535 bytes: over the 2^14 + 2048 limit */
	tcp_open(&w, f, TS0, "10.4.0.1", 40000, "10.4.0.2", 443);
	client_hello(&w, g);
	struct bytes b = { 0 };
	put_be(&b, TLS_CT_HANDSHAKE, 1);
	put_be(&b, 0x0303, 2);
	put_be(&b, 0xffff, 2);
	uint8_t zero[16384] = { 0 };
	put(&b, zero, sizeof zero);
	tcp_send(&w, TLS_FROM_SERVER, b.p, b.len);
	tcp_close(&w);
	free(b.p);

	/* (b) a Certificate message claiming 2^24 - 1 bytes (the most a
	 * handshake length can say), followed by 1 MiB of records */
	tcp_open(&w, f, TS0 + 100, "10.4.0.3", 40001, "10.4.0.4", 443);
	client_hello(&w, g);
	struct bytes hs = { 0 }, rec = { 0 };
	server_hello(&hs);
	put_be(&hs, TLS_HS_CERTIFICATE, 1);
	put_be(&hs, 0xffffff, 3);
	put_be(&hs, 0xfffffc, 3);
	put_be(&hs, 0xfffff9, 3);
	for (int i = 0; i < 64; i++)
		put(&hs, zero, sizeof zero);
	put_records(&rec, hs.p, hs.len);
	tcp_send(&w, TLS_FROM_SERVER, rec.p, rec.len);
	tcp_close(&w);
	free(hs.p);
	free(rec.p);

	good_write(f, g, TS0 + 1000);
	pcapw_close(f);

	long before = maxrss_kib();
	struct mf_result r;
	mf_run(path, g, 0, &r);
	long grew = maxrss_kib() - before;
	cr_assert(r.opened && !r.read_error);
	assert_good_reported(&r);
	const struct mf_hs *a = mf_find(&r, "10.4.0.2", 443), *c = mf_find(&r, "10.4.0.4", 443);
	cr_assert(a && c, "both damaged flows are TLS (their ClientHello is real)");
	cr_assert_eq(a->status, TLS_ST_MALFORMED, "record length 65535: %d %s", a->status, a->reason);
	cr_assert(a->reason[0]);
	cr_assert_neq(c->status, TLS_ST_COMPLETE);
	cr_assert(c->reason[0], "the 16 MiB message says why it stopped");
	cr_assert_eq(c->chain_n, 0);
	/* The dissector keeps at most TLS_MAX_MSG_BYTES of one message. */
	cr_assert_lt(grew, 64 * 1024, "RSS grew by %ld KiB", grew);
	unlink(path);
	free(path);
	good_free(g);
}

Test(malformed_tls, certificate_list_of_10000_empty_entries)
{
	struct good *g = good_new();
	char *path = tmp_path("emptycerts.pcap");
	FILE *f = pcap_new(path);
	struct tcpw w;
	tcp_open(&w, f, TS0, "10.5.0.1", 40000, "10.5.0.2", 443);
	client_hello(&w, g);
	struct bytes hs = { 0 }, rec = { 0 };
	server_hello(&hs);
	put_be(&hs, TLS_HS_CERTIFICATE, 1);
	put_be(&hs, 3 + 10000 * 3, 3);
	put_be(&hs, 10000 * 3, 3);
	for (int i = 0; i < 10000; i++)
		put_be(&hs, 0, 3);
	put_be(&hs, TLS_HS_SERVER_HELLO_DONE, 1);
	put_be(&hs, 0, 3);
	put_records(&rec, hs.p, hs.len);
	tcp_send(&w, TLS_FROM_SERVER, rec.p, rec.len);
	tcp_close(&w);
	free(hs.p);
	free(rec.p);
	good_write(f, g, TS0 + 1000);
	pcapw_close(f);

	struct mf_result r;
	mf_run(path, g, 0, &r);
	cr_assert(r.opened && !r.read_error);
	assert_good_reported(&r);
	const struct mf_hs *h = mf_find(&r, "10.5.0.2", 443);
	cr_assert(h);
	cr_assert_leq(h->chain_n, TLS_MAX_CHAIN);
	/* ASN.1Cert is <1..2^24-1>: an empty entry is malformed, or at least
	 * never handed on as a certificate. */
	cr_assert(h->status == TLS_ST_MALFORMED || h->chain_nonempty_certs,
		  "status %d (%s), %u certificates", h->status, h->reason, h->chain_n);
	if (h->status == TLS_ST_MALFORMED)
		cr_assert(h->reason[0]);

	/* And the report copes with it end to end. */
	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", "--fail-on", "never",
			    NULL }, &x);
	cr_assert_eq(x.status, 0, "%s", x.err);
	assert_good_in_jsonl(x.out);
	mf_exec_free(&x);
	unlink(path);
	free(path);
	good_free(g);
}

/* ---- floods ---------------------------------------------------------------- */

#define SYN_FLOWS 2000000u

Test(malformed_flood, two_million_syn_only_flows_stay_bounded, .timeout = 600)
{
	struct good *g = good_new();
	char *path = tmp_path("synflood.pcap");
	FILE *f = pcap_new(path);
	static char iobuf[1 << 20];
	setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
	good_write(f, g, TS0);
	/* One template SYN, its source address and port rewritten per flow;
	 * all within 300 s so none expires by idleness: only the cap helps. */
	uint8_t syn[128];
	size_t n = pkt_tcp(&(struct pkt_tcp_spec){ .ipv = 4, .src = "10.0.0.0", .dst = "10.9.9.9",
						  .sport = 1, .dport = 443, .seq = 1,
						  .flags = TCP_SYN }, syn, sizeof syn);
	cr_assert(n > 0);
	const size_t ip_src = 14 + 12, tcp_sport = 14 + 20;
	for (uint32_t i = 0; i < SYN_FLOWS; i++) {
		uint32_t host = 0x0b000000u | (i >> 4);   /* 11.x.y.z */
		syn[ip_src] = (uint8_t)(host >> 24);
		syn[ip_src + 1] = (uint8_t)(host >> 16);
		syn[ip_src + 2] = (uint8_t)(host >> 8);
		syn[ip_src + 3] = (uint8_t)host;
		uint16_t port = (uint16_t)(1024 + (i & 15));
		syn[tcp_sport] = (uint8_t)(port >> 8);
		syn[tcp_sport + 1] = (uint8_t)port;
		pcapw_write(f, TS0 + 1000000 + i / 16, syn, (uint32_t)n, (uint32_t)n);
	}
	good_write(f, g, TS0 + 200000000);
	pcapw_close(f);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", "--fail-on", "never",
			    NULL }, &x);
	cr_assert_eq(x.status, 0, "%s", x.err);
	assert_good_in_jsonl(x.out);
	const char *sum = strstr(x.out, "\"event\":\"summary\"");
	cr_assert(sum, "a summary line");
	const char *ev = strstr(sum, "\"evicted_flows\":");
	cr_assert(ev);
	unsigned long long evicted = strtoull(ev + strlen("\"evicted_flows\":"), NULL, 10);
	/* 2,000,002 flows through a table of 1,000,000: the oldest idle went. */
	cr_assert_geq(evicted, SYN_FLOWS - 1000000u, "evicted %llu", evicted);
	cr_log_info("2M SYN flows: %.1f s, peak RSS %ld MiB, %llu evicted\n", x.seconds,
		    x.maxrss_kib / 1024, evicted);
	/* A flow slot is ~100 bytes: 1M of them, plus the hash, well under
	 * 1 GiB even with the sanitizers' overhead. */
	cr_assert_lt(x.maxrss_kib, 1024 * 1024, "peak RSS %ld KiB", x.maxrss_kib);
	cr_assert_lt(x.seconds, 300.0, "took %.1f s", x.seconds);
	mf_exec_free(&x);
	unlink(path);
	free(path);
	good_free(g);
}

/* ---- what comes off the wire never names a file ------------------------------ */

Test(malformed_export, export_certs_writes_only_sha1_names_inside_its_folder)
{
	struct good *g = good_new();
	/* A handshake whose SNI is a path; certificates are the fixture's. */
	struct tlsfx_opts o = {
		.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
		.send_chain = true, .sni = "../../../../tmp/certtrace-escape",
	};
	struct tlsfx_pair pair;
	struct tlsfx_transcript t;
	cr_assert(tlsfx_pair_init(&pair, g->pki, &o));
	tlsfx_transcript_init(&t);
	tlsfx_handshake(&pair, &o, NULL, &t);
	tlsfx_pair_free(&pair);

	char *path = tmp_path("export.pcap");
	char *base = tmp_path("export-base");
	char *dir;
	cr_assert(asprintf(&dir, "%s/certs", base) > 0);
	cr_assert_eq(mkdir(base, 0700), 0);
	cr_assert_eq(mkdir(dir, 0700), 0);
	FILE *f = pcap_new(path);
	struct tcpw w;
	tcp_open(&w, f, TS0, "10.6.0.1", 40000, "10.6.0.2", 443);
	for (unsigned i = 0; i < t.n_flights; i++)
		tcp_send(&w, t.flights[i].dir, t.data[t.flights[i].dir] + t.flights[i].off,
			 t.flights[i].len);
	tcp_close(&w);
	good_write(f, g, TS0 + 1000);
	pcapw_close(f);
	tlsfx_transcript_free(&t);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", "--fail-on", "never",
			    "--export-certs", dir, NULL }, &x);
	cr_assert_eq(x.status, 0, "%s", x.err);

	/* Inside: exactly the three certificates, each <40 hex>.pem (PEM) and
	 * <40 hex>.cer (DER), and index.tsv. */
	DIR *d = opendir(dir);
	cr_assert(d);
	struct dirent *e;
	unsigned files = 0;
	bool leaf_found = false;
	uint8_t sha1[20];
	char leaf_name[64];
	SHA1(g->leaf_der, (size_t)g->leaf_len, sha1);
	for (int i = 0; i < 20; i++)
		sprintf(leaf_name + 2 * i, "%02x", sha1[i]);
	strcat(leaf_name, ".pem");
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p;
		cr_assert(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
		if (!strcmp(e->d_name, "index.tsv")) {
			unlink(p);
			free(p);
			continue;
		}
		cr_assert_eq(strlen(e->d_name), 44, "file name %s", e->d_name);
		cr_assert_eq(strspn(e->d_name, "0123456789abcdef"), 40, "file name %s", e->d_name);
		if (!strcmp(e->d_name + 40, ".cer")) {
			unlink(p);
			free(p);
			continue;
		}
		files++;
		cr_assert_str_eq(e->d_name + 40, ".pem");
		if (!strcmp(e->d_name, leaf_name))
			leaf_found = true;
		char *pem = slurp(p);
		cr_assert(!strncmp(pem, "-----BEGIN CERTIFICATE-----", 27), "%s is PEM", p);
		free(pem);
		unlink(p);
		free(p);
	}
	closedir(d);
	cr_assert_eq(files, 3, "leaf, intermediate, root: %u files", files);
	cr_assert(leaf_found, "the leaf is named by the SHA-1 of its DER");
	/* Outside: nothing new next to the folder, nothing where the SNI points. */
	d = opendir(base);
	cr_assert(d);
	unsigned entries = 0;
	while ((e = readdir(d)))
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	cr_assert_eq(entries, 1, "only certs/ in %s", base);
	cr_assert_neq(access("/tmp/certtrace-escape", F_OK), 0);
	mf_exec_free(&x);
	rmdir(dir);
	rmdir(base);
	unlink(path);
	free(dir);
	free(base);
	free(path);
	good_free(g);
}

Test(malformed_export, export_certs_never_follows_a_planted_symlink)
{
	struct good *g = good_new();
	char *path = tmp_path("export-link.pcap");
	char *base = tmp_path("export-link");
	char *dir, *victim, *fresh, *pem_link, *cer_link;
	uint8_t sha1[20];
	char hex[41];
	SHA1(g->leaf_der, (size_t)g->leaf_len, sha1);
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", sha1[i]);
	cr_assert(asprintf(&dir, "%s/certs", base) > 0);
	cr_assert(asprintf(&victim, "%s/victim", base) > 0);
	cr_assert(asprintf(&fresh, "%s/fresh", base) > 0);
	cr_assert(asprintf(&pem_link, "%s/%s.pem", dir, hex) > 0);
	cr_assert(asprintf(&cer_link, "%s/%s.cer", dir, hex) > 0);
	cr_assert_eq(mkdir(base, 0700), 0);
	cr_assert_eq(mkdir(dir, 0700), 0);
	FILE *f = fopen(victim, "w");
	fputs("victim\n", f);
	fclose(f);
	/* Someone with write access to the folder plants links at the names
	 * the leaf will get: one at an existing file, one at a new path. */
	cr_assert_eq(symlink(victim, pem_link), 0);
	cr_assert_eq(symlink(fresh, cer_link), 0);
	f = pcap_new(path);
	good_write(f, g, TS0);
	pcapw_close(f);

	struct mf_exec x;
	mf_exec((char *[]){ "certtrace", "-r", path, "--format", "jsonl", "--fail-on", "never",
			    "--export-certs", dir, NULL }, &x);
	cr_assert_eq(x.status, 0, "%s", x.err);
	char *v = slurp(victim);
	cr_assert_str_eq(v, "victim\n", "the file the link pointed at is untouched");
	free(v);
	cr_assert_neq(access(fresh, F_OK), 0, "no file created where the link pointed");
	struct stat st;
	cr_assert_eq(lstat(pem_link, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "the link was replaced by the certificate itself");
	cr_assert_eq(lstat(cer_link, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	mf_exec_free(&x);

	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		char *p;
		if (e->d_name[0] == '.')
			continue;
		cr_assert(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
		unlink(p);
		free(p);
	}
	closedir(d);
	unlink(victim);
	rmdir(dir);
	rmdir(base);
	unlink(path);
	free(dir);
	free(victim);
	free(fresh);
	free(pem_link);
	free(cer_link);
	free(base);
	free(path);
	good_free(g);
}
