/*
 * seedgen.c — seed inputs for the fuzz targets, cut out of real captures.
 *
 *	seedgen OUTDIR FILE.pcap...
 *
 * Runs each capture through the capture room, as certtrace does, and
 * writes what the other targets take as input:
 *	OUTDIR/seeds-tls/    each TCP flow's bytes as a fuzz_tls program
 *	                     (fuzz_tls.h): one feed per delivery, gaps as gaps
 *	OUTDIR/seeds-x509/   every certificate's DER, and its subject and
 *	                     issuer Names' DER
 *	OUTDIR/seeds-names/  pairs of issuer names of the certificates, with
 *	                     a host name and SAN pattern, as fuzz_names reads
 * A capture that cannot be read is skipped with a message; the seeds are a
 * starting point, not a test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "capture/capture.h"
#include "dissect/tls.h"
#include "report/model/x509.h"
#include "tests/fuzz/fuzz_tls.h"

#define SEED_MAX_BYTES (64 * 1024)    /* stream bytes kept per flow */
#define SEED_MAX_FLOWS 64             /* flows kept per capture */

struct seed_flow {
	struct tls_conn *tls;
	unsigned n_ops;
	uint8_t ops[FUZZ_TLS_MAX_OPS][FUZZ_TLS_OP_BYTES];
	uint8_t *bytes;
	size_t len;
};

struct seedgen {
	const char *out, *base;
	int dlt;
	unsigned flows_written, certs_written, names_written;
	struct flow_table *flows;
	char *last_issuer;            /* the previous certificate's issuer, as text */
};

static void write_file(const char *path, const void *a, size_t alen,
		       const void *b, size_t blen)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
		return;
	}
	fwrite(a, 1, alen, f);
	if (blen)
		fwrite(b, 1, blen, f);
	fclose(f);
}

static void add_op(struct seed_flow *sf, unsigned dir, unsigned kind, size_t len)
{
	while (len > 0 && sf->n_ops < FUZZ_TLS_MAX_OPS) {
		size_t l = len > 0xffff ? 0xffff : len;
		uint8_t *o = sf->ops[sf->n_ops++];
		o[0] = (uint8_t)(dir | kind << 1);
		o[1] = (uint8_t)(l >> 8);
		o[2] = (uint8_t)l;
		len -= l;
	}
}

static struct seed_flow *seed_of(struct flow *f)
{
	struct seed_flow *sf = flow_user(f);
	if (!sf) {
		sf = calloc(1, sizeof *sf);
		if (!sf)
			return NULL;
		sf->tls = tls_conn_new();
		flow_set_user(f, sf);
	}
	return sf;
}

static enum flow_verdict on_data(void *ctx, struct flow *f, enum flow_dir d,
				 const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct seed_flow *sf = seed_of(f);
	if (!sf)
		return FLOW_DONE;
	if (sf->len + n > SEED_MAX_BYTES || sf->n_ops == FUZZ_TLS_MAX_OPS)
		return FLOW_DONE;
	uint8_t *nb = realloc(sf->bytes, sf->len + n);
	if (!nb)
		return FLOW_DONE;
	sf->bytes = nb;
	memcpy(sf->bytes + sf->len, p, n);
	sf->len += n;
	add_op(sf, d, FUZZ_TLS_OP_FEED, n);
	enum tls_verdict v = sf->tls ? tls_feed(sf->tls, (enum tls_dir)d, p, n, ts_us) : TLS_DONE;
	return v == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

static enum flow_verdict on_gap(void *ctx, struct flow *f, enum flow_dir d,
				uint64_t missing, uint64_t ts_us)
{
	struct seed_flow *sf = seed_of(f);
	if (!sf)
		return FLOW_DONE;
	add_op(sf, d, FUZZ_TLS_OP_GAP, missing > 0xffff ? 0xffff : missing);
	enum tls_verdict v = sf->tls ? tls_gap(sf->tls, (enum tls_dir)d, missing) : TLS_DONE;
	return v == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

/* A Name in fuzz_names' text form: "SN=value" lines, most significant first. */
static char *name_text(const X509_NAME *name)
{
	size_t cap = 1024, len = 0;
	char *s = calloc(1, cap);
	for (int i = 0; s && i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const char *sn = OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)));
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
		if (n >= 0 && sn && len + strlen(sn) + (size_t)n + 3 < cap)
			len += (size_t)snprintf(s + len, cap - len, "%s%s=%.*s", i ? "\n" : "",
						sn, n, u);
		OPENSSL_free(u);
	}
	return s;
}

static void write_name_der(struct seedgen *g, const X509_NAME *name, const char *sha1,
			   const char *what)
{
	unsigned char *der = NULL;
	int n = i2d_X509_NAME(name, &der);
	if (n > 0) {
		char path[4096];
		snprintf(path, sizeof path, "%s/seeds-x509/%s-%s", g->out, sha1, what);
		write_file(path, der, (size_t)n, NULL, 0);
	}
	OPENSSL_free(der);
}

static void write_cert(struct seedgen *g, const struct tls_blob *b, const char *sni)
{
	struct x509_info *xi = x509_info_from_der(b->data, b->len);
	if (!xi)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/seeds-x509/%s", g->out, xi->sha1_hex);
	write_file(path, b->data, b->len, NULL, 0);
	g->certs_written++;
	if (xi->parsed) {
		write_name_der(g, X509_get_subject_name(xi->x509), xi->sha1_hex, "subject");
		write_name_der(g, X509_get_issuer_name(xi->x509), xi->sha1_hex, "issuer");
		char *issuer = name_text(X509_get_issuer_name(xi->x509));
		if (issuer) {
			const char *other = g->last_issuer ? g->last_issuer : issuer;
			const char *pattern = xi->n_dns ? xi->dns[0] : (xi->cn ? xi->cn : "");
			const char *host = sni && *sni ? sni : pattern;
			char *text = NULL;
			size_t tl = strlen(issuer) + strlen(other) + strlen(pattern) + strlen(host) + 4;
			text = malloc(tl);
			if (text) {
				size_t n = 0;
				memcpy(text + n, issuer, strlen(issuer) + 1); n += strlen(issuer) + 1;
				memcpy(text + n, other, strlen(other) + 1); n += strlen(other) + 1;
				memcpy(text + n, pattern, strlen(pattern) + 1); n += strlen(pattern) + 1;
				memcpy(text + n, host, strlen(host)); n += strlen(host);
				snprintf(path, sizeof path, "%s/seeds-names/%s", g->out, xi->sha1_hex);
				write_file(path, text, n, NULL, 0);
				g->names_written++;
				free(text);
			}
			free(g->last_issuer);
			g->last_issuer = issuer;
		}
	}
	x509_unref(xi);
}

static void on_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct seedgen *g = ctx;
	struct seed_flow *sf = flow_user(f);
	if (!sf)
		return;
	if (sf->tls) {
		tls_end(sf->tls);
		const struct tls_session *s = tls_session(sf->tls);
		for (unsigned i = 0; i < s->server_chain.n; i++)
			write_cert(g, &s->server_chain.certs[i], s->sni);
		for (unsigned i = 0; i < s->client_chain.n; i++)
			write_cert(g, &s->client_chain.certs[i], s->sni);
		tls_conn_free(sf->tls);
	}
	if (sf->len && g->flows_written < SEED_MAX_FLOWS) {
		char path[4096];
		uint8_t head[1 + FUZZ_TLS_MAX_OPS * FUZZ_TLS_OP_BYTES];
		head[0] = (uint8_t)sf->n_ops;
		memcpy(head + 1, sf->ops, sf->n_ops * FUZZ_TLS_OP_BYTES);
		snprintf(path, sizeof path, "%s/seeds-tls/%s-%u", g->out, g->base, g->flows_written++);
		write_file(path, head, 1 + sf->n_ops * FUZZ_TLS_OP_BYTES, sf->bytes, sf->len);
	}
	free(sf->bytes);
	free(sf);
	flow_set_user(f, NULL);
}

static void on_frame(void *user, const struct cap_frame *fr)
{
	struct seedgen *g = user;
	struct cap_pkt p;
	const char *why;
	if (cap_decode(g->dlt, fr, &p, &why) == CAP_TCP)
		flow_table_packet(g->flows, &p);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: seedgen OUTDIR FILE.pcap...\n");
		return 2;
	}
	struct seedgen g = { .out = argv[1] };
	const char *sub[] = { "seeds-tls", "seeds-x509", "seeds-names" };
	for (size_t i = 0; i < 3; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", g.out, sub[i]);
		mkdir(g.out, 0755);
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	struct flow_consumer consumer = { &g, NULL, on_data, on_gap, on_close };
	struct flow_options fo;
	flow_options_default(&fo);
	fo.max_flows = 10000;
	for (int i = 2; i < argc; i++) {
		char err[1024];
		struct cap_source *src = cap_open_offline(argv[i], err, sizeof err);
		if (!src) {
			fprintf(stderr, "seedgen: skipped: %s\n", err);
			continue;
		}
		const char *slash = strrchr(argv[i], '/');
		g.base = slash ? slash + 1 : argv[i];
		g.dlt = cap_linktype(src);
		g.flows_written = 0;
		g.flows = flow_table_new(&fo, &consumer);
		if (!g.flows) {
			cap_close(src);
			return 1;
		}
		while (cap_next_batch(src, 1024, on_frame, &g) >= 0)
			;
		flow_table_finish(g.flows);
		flow_table_free(g.flows);
		cap_close(src);
	}
	free(g.last_issuer);
	printf("seedgen: %u certificates, %u name pairs\n", g.certs_written, g.names_written);
	return 0;
}
