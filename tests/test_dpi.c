/*
 * test_dpi.c — nDPI classification (dissect/dpi.c) on TCP flows built in
 * memory and on a corpus capture.
 *
 * The TLS flows are real: an OpenSSL client and server shake hands through
 * memory BIOs (TLS 1.2, so the certificate is in the clear), and each flight
 * of bytes becomes TCP segments framed by tests/pktbuild.c and decoded by
 * cap_decode, as a capture would deliver them.  The certificate comes from
 * tests/pki_fixture.c, so the test knows the SHA-1 nDPI must report.
 */
#define _GNU_SOURCE 1               /* nftw */
#include <criterion/criterion.h>
#include <malloc.h>
#ifdef __SANITIZE_ADDRESS__
/* sanitizer/allocator_interface.h comes with clang, not with gcc's libasan */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "capture/capture.h"
#include "dissect/dpi.h"
#include <ndpi_api.h>               /* set_ndpi_malloc: the read-only test */
#include "dissect/tls.h"
#include "tests/pki_fixture.h"
#include "tests/pktbuild.h"

static struct dpi *new_dpi(void)
{
	char err[256] = "";
	struct dpi *d = dpi_new(true, err, sizeof err);
	cr_assert(d, "dpi_new: %s", err);
	return d;
}

/* ---- a TCP connection in memory ---------------------------------------- */

typedef void (*pkt_fn)(void *ctx, const struct cap_pkt *p, enum flow_dir dir);

struct tconn {
	int ipv;
	const char *ip[2];             /* [FLOW_FROM_CLIENT] client, [1] server */
	uint16_t port[2];
	uint32_t seq[2];               /* next sequence number per sender */
	uint64_t ts_us;
	pkt_fn fn;
	void *ctx;
};

static void tconn_init(struct tconn *c, int ipv, pkt_fn fn, void *ctx)
{
	*c = (struct tconn){
		.ipv = ipv,
		.ip = { ipv == 4 ? "192.0.2.50" : "2001:db8::50",
			ipv == 4 ? "192.0.2.10" : "2001:db8::10" },
		.port = { 50123, 5061 },
		.seq = { 1000, 900000 },
		.ts_us = 1700000000000000ull,
		.fn = fn, .ctx = ctx,
	};
}

/* One segment from `dir`, decoded as a capture would give it. */
static void tconn_segment(struct tconn *c, enum flow_dir dir, uint8_t flags,
			  const uint8_t *data, size_t len)
{
	static uint8_t frame[70000];
	struct pkt_tcp_spec s = {
		.link = PKT_ETH, .ipv = c->ipv,
		.src = c->ip[dir], .dst = c->ip[1 - dir],
		.sport = c->port[dir], .dport = c->port[1 - dir],
		.seq = c->seq[dir], .ack = (flags & TCP_ACK) ? c->seq[1 - dir] : 0,
		.flags = flags, .payload = data, .len = len,
	};
	size_t n = pkt_tcp(&s, frame, sizeof frame);
	cr_assert(n > 0);
	c->ts_us += 1000;
	struct cap_frame fr = { .ts_us = c->ts_us, .caplen = (uint32_t)n, .len = (uint32_t)n,
				.data = frame };
	struct cap_pkt p;
	const char *why = NULL;
	cr_assert_eq(cap_decode(DLT_EN10MB, &fr, &p, &why), CAP_TCP, "%s", why ? why : "");
	c->seq[dir] += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
	c->fn(c->ctx, &p, dir);
}

static void tconn_handshake(struct tconn *c)
{
	tconn_segment(c, FLOW_FROM_CLIENT, TCP_SYN, NULL, 0);
	tconn_segment(c, FLOW_FROM_SERVER, TCP_SYN | TCP_ACK, NULL, 0);
	tconn_segment(c, FLOW_FROM_CLIENT, TCP_ACK, NULL, 0);
}

/* Bytes from `dir` in segments of at most 1400 bytes, each ACKed. */
static void tconn_send(struct tconn *c, enum flow_dir dir, const uint8_t *data, size_t len)
{
	while (len) {
		size_t n = len < 1400 ? len : 1400;
		tconn_segment(c, dir, TCP_ACK | TCP_PSH, data, n);
		tconn_segment(c, 1 - dir, TCP_ACK, NULL, 0);
		data += n;
		len -= n;
	}
}

/* ---- a TLS 1.2 handshake through memory BIOs ---------------------------- */

#define MAX_FLIGHTS 16

struct tls_capture {
	unsigned n;
	struct { enum flow_dir dir; uint8_t *data; size_t len; } flight[MAX_FLIGHTS];
	uint8_t leaf_sha1[20];
};

static void take_flight(struct tls_capture *t, BIO *from, enum flow_dir dir, BIO *to)
{
	size_t len = (size_t)BIO_pending(from);
	if (!len)
		return;
	cr_assert_lt(t->n, MAX_FLIGHTS);
	uint8_t *buf = malloc(len);
	cr_assert(buf);
	cr_assert_eq(BIO_read(from, buf, (int)len), (int)len);
	cr_assert_eq(BIO_write(to, buf, (int)len), (int)len);
	t->flight[t->n].dir = dir;
	t->flight[t->n].data = buf;
	t->flight[t->n].len = len;
	t->n++;
}

/* Leaf "CN=lync.contoso.com" issued by a CA named ca_subject; the server
 * sends leaf and CA. */
static void tls12_handshake_ca(struct tls_capture *t, const struct pki_rdn *ca_subject)
{
	memset(t, 0, sizeof *t);
	EVP_PKEY *ca_key = pki_key(PKI_EC, 256), *key = pki_key(PKI_EC, 256);
	struct pki_spec ca_spec = { .key = ca_key, .ca = true };
	for (int i = 0; i < PKI_MAX_RDN && ca_subject[i].field; i++)
		ca_spec.subject[i] = ca_subject[i];
	X509 *ca = pki_cert(&ca_spec);
	X509 *leaf = pki_cert(&(struct pki_spec){
		.subject = {{"CN", "lync.contoso.com"}},
		.key = key, .issuer = ca, .issuer_key = ca_key,
		.dns = {"lync.contoso.com"}, .eku = {"serverAuth"},
	});
	size_t der_len;
	uint8_t *der = pki_der(leaf, &der_len);
	SHA1(der, der_len, t->leaf_sha1);
	free(der);

	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	cr_assert(sctx && cctx);
	cr_assert(SSL_CTX_use_certificate(sctx, leaf) == 1);
	cr_assert(SSL_CTX_use_PrivateKey(sctx, key) == 1);
	cr_assert(SSL_CTX_add1_chain_cert(sctx, ca) == 1);
	SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION);
	SSL *srv = SSL_new(sctx), *cli = SSL_new(cctx);
	BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
	BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
	SSL_set_bio(cli, c_in, c_out);
	SSL_set_bio(srv, s_in, s_out);
	SSL_set_connect_state(cli);
	SSL_set_accept_state(srv);
	SSL_set_tlsext_host_name(cli, "lync.contoso.com");

	for (int round = 0; round < 8; round++) {
		SSL_do_handshake(cli);
		take_flight(t, c_out, FLOW_FROM_CLIENT, s_in);
		SSL_do_handshake(srv);
		take_flight(t, s_out, FLOW_FROM_SERVER, c_in);
		if (SSL_is_init_finished(cli) && SSL_is_init_finished(srv))
			break;
	}
	cr_assert(SSL_is_init_finished(cli) && SSL_is_init_finished(srv),
		  "the in-memory TLS handshake did not finish");
	cr_assert_geq(t->n, 4);

	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

/* Issuer "C=US, O=Contoso, CN=Contoso Issuing CA". */
static void tls12_handshake(struct tls_capture *t)
{
	tls12_handshake_ca(t, (const struct pki_rdn[]){
		{ .field = "C", .value = "US" }, { .field = "O", .value = "Contoso" },
		{ .field = "CN", .value = "Contoso Issuing CA" }, { .field = NULL } });
}

static void tls_capture_free(struct tls_capture *t)
{
	for (unsigned i = 0; i < t->n; i++)
		free(t->flight[i].data);
}

/* ---- feeding one flow straight into dpi -------------------------------- */

struct feeder {
	struct dpi *d;
	struct dpi_flow *f;
	bool wants_more;
	unsigned fed;
	size_t live_after_freeze;      /* dpi_live_flows() right when dpi_packet said no */
};

/* What the lead's packet callback does: state at the first payload packet,
 * packets while dpi wants them. */
static void feed(void *ctx, const struct cap_pkt *p, enum flow_dir dir)
{
	struct feeder *fd = ctx;
	if (!fd->f) {
		if (!p->payload_wire_len)
			return;
		fd->f = dpi_flow_new(fd->d);
		cr_assert(fd->f);
		fd->wants_more = true;
	}
	if (!fd->wants_more)
		return;
	fd->fed++;
	fd->wants_more = dpi_packet(fd->d, fd->f, p, dir == FLOW_FROM_CLIENT);
	if (!fd->wants_more)
		fd->live_after_freeze = dpi_live_flows(fd->d);
}

static void feed_tls(struct feeder *fd, int ipv, struct tls_capture *t)
{
	struct tconn c;
	tconn_init(&c, ipv, feed, fd);
	tconn_handshake(&c);
	for (unsigned i = 0; i < t->n; i++)
		tconn_send(&c, t->flight[i].dir, t->flight[i].data, t->flight[i].len);
}

Test(dpi, tls12_flow_is_tls_with_the_leaf_nDPI_saw_and_frees_at_once)
{
	struct tls_capture t;
	tls12_handshake(&t);
	for (int ipv = 4; ipv <= 6; ipv += 2) {
		struct feeder fd = { .d = new_dpi() };
		feed_tls(&fd, ipv, &t);
		cr_assert(fd.f);
		cr_assert_not(fd.wants_more, "v%d: dpi still wants packets after the handshake", ipv);
		cr_assert_eq(fd.live_after_freeze, 0, "v%d: nDPI state outlived the classification", ipv);

		const struct dpi_result *r = dpi_result(fd.f);
		cr_assert(r->done);
		cr_assert_not(r->given_up);
		cr_assert_str_eq(r->app, "TLS");
		cr_assert(dpi_is_tls_family(r));
		cr_assert_str_eq(r->host, "lync.contoso.com");
		cr_assert_leq(r->packets, DPI_MAX_PACKETS);

		const char *issuer, *subject;
		const uint8_t *sha1;
		cr_assert(dpi_leaf(r, &issuer, &subject, &sha1));
		cr_assert(memcmp(sha1, t.leaf_sha1, 20) == 0, "nDPI fingerprinted another certificate");
		cr_assert_str_eq(subject, "CN=lync.contoso.com");
		cr_assert_str_eq(issuer, "C=US, O=Contoso, CN=Contoso Issuing CA");
		cr_assert_not(dpi_disagrees(r, "CN=Contoso Issuing CA,O=Contoso,C=US",
					    "CN=lync.contoso.com", t.leaf_sha1));

		/* Port 5061 carries SIP, not HTTPS: nDPI says so as a risk. */
		bool not_https = false;
		for (unsigned i = 0; i < r->n_risks; i++)
			not_https |= strcmp(r->risks[i], "TLS (probably) Not Carrying HTTPS") == 0;
		cr_assert(not_https, "risks: %u", r->n_risks);
		cr_assert(r->risk & (1ull << 15));   /* NDPI_TLS_NOT_CARRYING_HTTPS */

		const struct dpi_counters *k = dpi_counters(fd.d);
		cr_assert_eq(k->flows, 1);
		cr_assert_eq(k->classified, 1);
		cr_assert_eq(k->given_up, 0);
		cr_assert_eq(k->packets, r->packets);
		dpi_flow_free(fd.d, fd.f);
		cr_assert_eq(dpi_live_flows(fd.d), 0);
		dpi_free(fd.d);
	}
	tls_capture_free(&t);
}

/* The handshake with the server's first flight cut after its first record
 * (the ServerHello), so that the Certificate comes in later segments. */
static void feed_tls_hello_apart(struct feeder *fd, struct tls_capture *t)
{
	struct tconn c;
	tconn_init(&c, 4, feed, fd);
	tconn_handshake(&c);
	cr_assert_eq(t->flight[1].dir, FLOW_FROM_SERVER);
	cr_assert_gt(t->flight[1].len, 5);
	const uint8_t *sf = t->flight[1].data;
	size_t hello = 5 + ((size_t)sf[3] << 8 | sf[4]);
	cr_assert_eq(sf[5], 2, "the server's first record is not its ServerHello");
	cr_assert_lt(hello, t->flight[1].len, "the ServerHello is the whole flight");
	for (unsigned i = 0; i < t->n; i++) {
		if (i == 1) {
			tconn_send(&c, FLOW_FROM_SERVER, sf, hello);
			tconn_send(&c, FLOW_FROM_SERVER, sf + hello, t->flight[1].len - hello);
		} else {
			tconn_send(&c, t->flight[i].dir, t->flight[i].data, t->flight[i].len);
		}
	}
}

/* certtrace without --dpi-check: nDPI names the flow at the ClientHello and
 * is done at the ServerHello; its Certificate costs nDPI nothing.  With
 * --dpi-check it goes on to the leaf. */
Test(dpi, without_certificates_a_tls_flow_is_done_at_its_server_hello)
{
	struct tls_capture t;
	tls12_handshake(&t);
	char err[256] = "";
	struct dpi_result got[2];
	for (int certs = 0; certs <= 1; certs++) {
		struct feeder fd = { .d = dpi_new(certs, err, sizeof err) };
		cr_assert(fd.d, "dpi_new: %s", err);
		feed_tls_hello_apart(&fd, &t);
		cr_assert(fd.f);
		const struct dpi_result *r = dpi_result(fd.f);
		cr_assert(r->done);
		got[certs] = *r;
		const uint8_t *sha1;
		if (certs) {
			cr_assert(dpi_leaf(r, NULL, NULL, &sha1));
			cr_assert(memcmp(sha1, t.leaf_sha1, 20) == 0);
		} else {
			cr_assert_eq(r->packets, 2, "ClientHello and ServerHello: %u packets",
				     r->packets);
			cr_assert_not(dpi_leaf(r, NULL, NULL, NULL));
		}
		cr_assert_eq(dpi_live_flows(fd.d), 0);
		dpi_flow_free(fd.d, fd.f);
		dpi_free(fd.d);
	}
	/* The same name, host and hello risks either way. */
	cr_assert_str_eq(got[0].app, "TLS");
	cr_assert_str_eq(got[0].app, got[1].app);
	cr_assert_str_eq(got[0].host, "lync.contoso.com");
	cr_assert(got[0].risk & (1ull << 15));   /* NDPI_TLS_NOT_CARRYING_HTTPS */
	cr_assert_gt(got[1].packets, got[0].packets);
	tls_capture_free(&t);
}

/* As certtrace without --dpi-check: the first payload packet is held, the
 * rest go to dpi_packet. */
static void feed_holding(void *ctx, const struct cap_pkt *p, enum flow_dir dir)
{
	struct feeder *fd = ctx;
	if (!fd->f) {
		if (!p->payload_wire_len)
			return;
		fd->f = dpi_flow_new(fd->d);
		cr_assert(fd->f);
		fd->wants_more = true;
		cr_assert(dpi_hold(fd->d, fd->f, p, dir == FLOW_FROM_CLIENT));
		cr_assert_eq(dpi_live_flows(fd->d), 0, "holding must not start nDPI");
		return;
	}
	if (!fd->wants_more)
		return;
	fd->wants_more = dpi_packet(fd->d, fd->f, p, dir == FLOW_FROM_CLIENT);
}

Test(dpi, a_held_first_packet_gives_nDPI_the_same_answer)
{
	struct tls_capture t;
	tls12_handshake(&t);
	struct feeder direct = { .d = new_dpi() }, held = { .d = new_dpi() };
	feed_tls(&direct, 4, &t);
	struct tconn c;
	tconn_init(&c, 4, feed_holding, &held);
	tconn_handshake(&c);
	for (unsigned i = 0; i < t.n; i++)
		tconn_send(&c, t.flight[i].dir, t.flight[i].data, t.flight[i].len);
	const struct dpi_result *a = dpi_result(direct.f), *b = dpi_result(held.f);
	cr_assert(b->done);
	cr_assert_str_eq(b->app, a->app);
	cr_assert_str_eq(b->host, a->host);
	cr_assert_eq(b->risk, a->risk);
	cr_assert_eq(b->packets, a->packets);
	cr_assert_eq(b->have_sha1, a->have_sha1);
	cr_assert(memcmp(b->sha1, a->sha1, 20) == 0);
	const struct dpi_counters *k = dpi_counters(held.d);
	cr_assert_eq(k->held, 1);
	cr_assert_eq(k->held_live, 0);
	cr_assert_eq(k->dropped_held, 0);
	cr_assert_eq(dpi_live_flows(held.d), 0);
	dpi_flow_free(direct.d, direct.f);
	dpi_flow_free(held.d, held.f);
	dpi_free(direct.d);
	dpi_free(held.d);
	tls_capture_free(&t);
}

Test(dpi, a_held_packet_is_given_to_nDPI_at_finish_or_dropped_unread_at_free)
{
	struct tls_capture t;
	tls12_handshake(&t);
	for (int finish = 0; finish <= 1; finish++) {
		struct feeder fd = { .d = new_dpi() };
		struct tconn c;
		tconn_init(&c, 4, feed_holding, &fd);
		tconn_handshake(&c);
		tconn_send(&c, FLOW_FROM_CLIENT, t.flight[0].data, t.flight[0].len);
		const struct dpi_counters *k = dpi_counters(fd.d);
		cr_assert_eq(k->held_live, 1);
		if (finish) {
			/* The ClientHello alone names the flow. */
			dpi_flow_finish(fd.d, fd.f);
			cr_assert_str_eq(dpi_result(fd.f)->app, "TLS");
			cr_assert_eq(k->flows, 1);
			cr_assert_eq(k->held_live, 0);
		}
		dpi_flow_free(fd.d, fd.f);
		cr_assert_eq(k->held_live, 0);
		cr_assert_eq(k->flows, (uint64_t)finish, "nDPI ran on a flow nobody asked about");
		cr_assert_eq(k->packets, (uint64_t)finish);
		cr_assert_eq(k->dropped_held, (uint64_t)!finish);
		cr_assert_eq(dpi_live_flows(fd.d), 0);
		dpi_free(fd.d);
	}
	tls_capture_free(&t);
}

Test(dpi, a_packet_over_the_hold_bound_or_not_the_first_is_not_held)
{
	struct dpi *d = new_dpi();
	static uint8_t big[DPI_HOLD_MAX_BYTES + 1];
	big[0] = 0x45;
	struct cap_pkt p = { .l3 = big, .l3_len = sizeof big, .payload_len = 100 };
	struct dpi_flow *f = dpi_flow_new(d);
	cr_assert_not(dpi_hold(d, f, &p, 1), "over DPI_HOLD_MAX_BYTES");
	p.l3_len = 60;
	cr_assert_not(dpi_hold(d, f, &(struct cap_pkt){ .l3 = big, .l3_len = 40 }, 1),
		      "no payload: nothing to hold");
	cr_assert(dpi_hold(d, f, &p, 1));
	cr_assert_eq(dpi_counters(d)->held_bytes, 60);
	cr_assert_not(dpi_hold(d, f, &p, 1), "one packet held at most");
	dpi_flow_free(d, f);
	cr_assert_eq(dpi_counters(d)->held_live, 0);
	cr_assert_eq(dpi_counters(d)->held_bytes, 0);
	dpi_free(d);
}

Test(dpi, held_copies_stop_at_the_total_bound)
{
	struct dpi *d = new_dpi();
	static uint8_t pkt[DPI_HOLD_MAX_BYTES];
	pkt[0] = 0x45;
	struct cap_pkt p = { .l3 = pkt, .l3_len = sizeof pkt, .payload_len = 100 };
	unsigned n = DPI_HOLD_TOTAL_MAX_BYTES / DPI_HOLD_MAX_BYTES;
	struct dpi_flow **f = calloc(n + 1, sizeof *f);
	cr_assert(f);
	for (unsigned i = 0; i <= n; i++) {
		f[i] = dpi_flow_new(d);
		cr_assert(f[i]);
		cr_assert_eq(dpi_hold(d, f[i], &p, 1), i < n, "flow %u", i);
	}
	cr_assert_eq(dpi_counters(d)->peak_held_bytes, DPI_HOLD_TOTAL_MAX_BYTES);
	dpi_flow_free(d, f[0]);
	cr_assert(dpi_hold(d, f[n], &p, 1), "room again once a copy is gone");
	for (unsigned i = 1; i <= n; i++)
		dpi_flow_free(d, f[i]);
	free(f);
	cr_assert_eq(dpi_counters(d)->held_bytes, 0);
	dpi_free(d);
}

/* Why dpi_disagrees() does not compare names: an Active Directory CA's
 * name, as Lync deployments have them, loses its DCs in nDPI's text. */
Test(dpi, nDPI_drops_domain_components_from_a_dn)
{
	struct tls_capture t;
	tls12_handshake_ca(&t, (const struct pki_rdn[]){
		{ .field = "DC", .value = "com" }, { .field = "DC", .value = "contoso" },
		{ .field = "CN", .value = "contoso-CA" }, { .field = NULL } });
	struct feeder fd = { .d = new_dpi() };
	feed_tls(&fd, 4, &t);
	const char *issuer;
	const uint8_t *sha1;
	cr_assert(dpi_leaf(dpi_result(fd.f), &issuer, NULL, &sha1));
	cr_assert_str_eq(issuer, "CN=contoso-CA");
	cr_assert(memcmp(sha1, t.leaf_sha1, 20) == 0);
	cr_assert_not(dpi_disagrees(dpi_result(fd.f), "CN=contoso-CA,DC=contoso,DC=com",
				    "CN=lync.contoso.com", t.leaf_sha1));
	dpi_flow_free(fd.d, fd.f);
	dpi_free(fd.d);
	tls_capture_free(&t);
}

Test(dpi, disagrees_compares_the_sha1_only)
{
	struct dpi_result r = { .done = true, .have_sha1 = true };
	memset(r.sha1, 0xab, 20);
	uint8_t same[20], other[20];
	memset(same, 0xab, 20);
	memset(other, 0xab, 20);
	other[19] = 0;
	cr_assert_not(dpi_disagrees(&r, "anything", "else", same));
	cr_assert(dpi_disagrees(&r, NULL, NULL, other));
	cr_assert(dpi_disagrees(&r, NULL, NULL, NULL), "nDPI saw a certificate we did not");
	r.cert_from_client = true;
	cr_assert_not(dpi_disagrees(&r, NULL, NULL, other), "a client's certificate is no leaf");
	cr_assert_not(dpi_leaf(&r, NULL, NULL, NULL));
	r.cert_from_client = false;
	r.have_sha1 = false;
	cr_assert_not(dpi_disagrees(&r, NULL, NULL, other), "nothing from nDPI, nothing to dispute");
	const uint8_t *sha1 = same;
	cr_assert_not(dpi_leaf(&r, NULL, NULL, &sha1));
	cr_assert_null(sha1);
}

Test(dpi, tls_family_is_tls_or_a_starttls)
{
	struct dpi_result r = { .done = true };
	cr_assert_not(dpi_is_tls_family(&r));
	r.app_protocol = 91;                     /* NDPI_PROTOCOL_TLS */
	cr_assert(dpi_is_tls_family(&r));
	r.app_protocol = 219;                    /* TLS.Microsoft365 */
	r.master_protocol = 91;
	cr_assert(dpi_is_tls_family(&r));
	r = (struct dpi_result){ .done = true, .app_protocol = 51 };   /* IMAPS */
	cr_assert(dpi_is_tls_family(&r));
	r = (struct dpi_result){ .done = true, .app_protocol = 3 };    /* SMTP */
	cr_assert_not(dpi_is_tls_family(&r));
	r.starttls = true;
	cr_assert(dpi_is_tls_family(&r));
	r = (struct dpi_result){ .done = true, .app_protocol = 7 };    /* HTTP */
	cr_assert_not(dpi_is_tls_family(&r));
}

Test(dpi, unknown_payload_is_given_up_at_the_packet_bound)
{
	struct feeder fd = { .d = new_dpi() };
	struct tconn c;
	tconn_init(&c, 4, feed, &fd);
	c.port[FLOW_FROM_SERVER] = 47999;
	tconn_handshake(&c);
	/* A made-up binary protocol: a length, a counter, a fixed body. */
	uint8_t msg[40];
	for (unsigned i = 0; i < DPI_MAX_PACKETS + 8; i++) {
		for (unsigned j = 0; j < sizeof msg; j++)
			msg[j] = (uint8_t)(0x80 + ((i * 7 + j * 13) & 0x3f));
		tconn_segment(&c, i % 2 ? FLOW_FROM_SERVER : FLOW_FROM_CLIENT, TCP_ACK | TCP_PSH,
			      msg, sizeof msg);
	}
	cr_assert(fd.f);
	cr_assert_not(fd.wants_more);
	const struct dpi_result *r = dpi_result(fd.f);
	cr_assert(r->done);
	cr_assert(r->given_up, "nDPI named it %s", r->app);
	cr_assert_str_eq(r->app, "");
	cr_assert_eq(r->packets, DPI_MAX_PACKETS);
	cr_assert_eq(fd.fed, DPI_MAX_PACKETS);
	cr_assert_not(dpi_is_tls_family(r));
	cr_assert_not(dpi_leaf(r, NULL, NULL, NULL));
	cr_assert_eq(fd.live_after_freeze, 0);
	const struct dpi_counters *k = dpi_counters(fd.d);
	cr_assert_eq(k->given_up, 1);
	cr_assert_eq(k->unknown, 1);
	dpi_flow_free(fd.d, fd.f);
	dpi_free(fd.d);
}

Test(dpi, free_in_the_middle_of_classification_releases_nDPI_state)
{
	struct tls_capture t;
	tls12_handshake(&t);
	struct feeder fd = { .d = new_dpi() };
	struct tconn c;
	tconn_init(&c, 4, feed, &fd);
	tconn_handshake(&c);
	/* The ClientHello only: nDPI names TLS and waits for the certificate. */
	cr_assert_eq(t.flight[0].dir, FLOW_FROM_CLIENT);
	tconn_send(&c, FLOW_FROM_CLIENT, t.flight[0].data, t.flight[0].len);
	cr_assert(fd.wants_more);
	cr_assert_eq(dpi_live_flows(fd.d), 1);
	cr_assert_not(dpi_result(fd.f)->done);
	dpi_flow_free(fd.d, fd.f);
	cr_assert_eq(dpi_live_flows(fd.d), 0);
	dpi_free(fd.d);
	tls_capture_free(&t);
}

Test(dpi, finish_before_the_certificate_keeps_what_nDPI_knew)
{
	struct tls_capture t;
	tls12_handshake(&t);
	struct feeder fd = { .d = new_dpi() };
	struct tconn c;
	tconn_init(&c, 4, feed, &fd);
	tconn_handshake(&c);
	tconn_send(&c, FLOW_FROM_CLIENT, t.flight[0].data, t.flight[0].len);
	cr_assert(fd.wants_more);
	dpi_flow_finish(fd.d, fd.f);
	dpi_flow_finish(fd.d, fd.f);          /* idempotent */
	cr_assert_eq(dpi_live_flows(fd.d), 0);
	const struct dpi_result *r = dpi_result(fd.f);
	cr_assert(r->done);
	cr_assert_not(r->given_up);
	cr_assert_str_eq(r->app, "TLS");
	cr_assert_str_eq(r->host, "lync.contoso.com");
	cr_assert_not(dpi_leaf(r, NULL, NULL, NULL), "no certificate was sent yet");
	/* Once frozen, more packets are refused and change nothing. */
	tconn_send(&c, FLOW_FROM_SERVER, t.flight[1].data, t.flight[1].len);
	struct cap_pkt none = { .l3 = (const uint8_t *)"", .l3_len = 0 };
	cr_assert_not(dpi_packet(fd.d, fd.f, &none, 1));
	cr_assert_eq(dpi_live_flows(fd.d), 0);
	dpi_flow_free(fd.d, fd.f);
	dpi_free(fd.d);
	tls_capture_free(&t);
}

/* ---- through the flow table, wired as certtrace wires it --------------- */

struct wired {
	struct dpi *d;
	int dlt;
	struct flow_table *t;
	unsigned closed;
	unsigned tls_family;
	char app[8][DPI_APP_LEN];
	uint8_t sha1[8][20];
	bool have_sha1[8];
	bool client_cert[8];           /* nDPI fingerprinted the client's certificate */
	char subject[8][128];
};

static enum flow_verdict w_packet(void *ctx, struct flow *f, enum flow_dir d,
				  const struct cap_pkt *p)
{
	struct wired *w = ctx;
	struct dpi_flow *df = flow_user(f);
	if (!df) {
		df = dpi_flow_new(w->d);
		flow_set_user(f, df);
	}
	if (df && !dpi_result(df)->done)
		dpi_packet(w->d, df, p, d == FLOW_FROM_CLIENT);
	return FLOW_MORE;                     /* nDPI never ends the flow's dissection */
}

static enum flow_verdict w_data(void *ctx, struct flow *f, enum flow_dir d,
				const uint8_t *p, size_t n, uint64_t ts_us)
{
	return FLOW_MORE;
}

static enum flow_verdict w_gap(void *ctx, struct flow *f, enum flow_dir d,
			       uint64_t missing, uint64_t ts_us)
{
	return FLOW_MORE;
}

static void w_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct wired *w = ctx;
	struct dpi_flow *df = flow_user(f);
	if (!df)
		return;
	dpi_flow_finish(w->d, df);
	const struct dpi_result *r = dpi_result(df);
	if (w->closed < 8) {
		snprintf(w->app[w->closed], sizeof w->app[0], "%s", r->app);
		const char *subject;
		const uint8_t *sha1;
		w->have_sha1[w->closed] = dpi_leaf(r, NULL, &subject, &sha1);
		w->client_cert[w->closed] = r->have_sha1 && r->cert_from_client;
		if (sha1)
			memcpy(w->sha1[w->closed], sha1, 20);
		snprintf(w->subject[w->closed], sizeof w->subject[0], "%s", subject ? subject : "");
	}
	w->tls_family += dpi_is_tls_family(r);
	w->closed++;
	dpi_flow_free(w->d, df);
	flow_set_user(f, NULL);
}

static struct flow_table *wired_table(struct wired *w)
{
	static struct flow_consumer c;
	c = (struct flow_consumer){ w, w_packet, w_data, w_gap, w_close };
	struct flow_options o;
	flow_options_default(&o);
	o.max_flows = 1024;
	w->t = flow_table_new(&o, &c);
	cr_assert(w->t);
	return w->t;
}

static void to_table(void *ctx, const struct cap_pkt *p, enum flow_dir dir)
{
	struct wired *w = ctx;
	flow_table_packet(w->t, p);
}

Test(dpi, syn_only_flows_allocate_nothing)
{
	struct wired w = { .d = new_dpi() };
	wired_table(&w);
	struct tconn c;
	for (int i = 0; i < 50; i++) {
		tconn_init(&c, 4, to_table, &w);
		c.port[FLOW_FROM_CLIENT] = (uint16_t)(40000 + i);
		tconn_segment(&c, FLOW_FROM_CLIENT, TCP_SYN, NULL, 0);
		if (i % 2)
			tconn_segment(&c, FLOW_FROM_SERVER, TCP_SYN | TCP_ACK, NULL, 0);
	}
	flow_table_finish(w.t);
	cr_assert_eq(dpi_counters(w.d)->flows, 0);
	cr_assert_eq(dpi_counters(w.d)->peak_live, 0);
	cr_assert_eq(w.closed, 0);
	flow_table_free(w.t);
	dpi_free(w.d);
}

Test(dpi, flow_table_wiring_classifies_and_holds_no_nDPI_state_after_close)
{
	struct tls_capture t;
	tls12_handshake(&t);
	struct wired w = { .d = new_dpi() };
	wired_table(&w);
	struct tconn c;
	tconn_init(&c, 4, to_table, &w);
	tconn_handshake(&c);
	for (unsigned i = 0; i < t.n; i++)
		tconn_send(&c, t.flight[i].dir, t.flight[i].data, t.flight[i].len);
	cr_assert_eq(dpi_live_flows(w.d), 0, "the handshake is over: nDPI has let go");
	cr_assert_eq(w.closed, 0, "the flow itself is still open");
	tconn_segment(&c, FLOW_FROM_CLIENT, TCP_FIN | TCP_ACK, NULL, 0);
	tconn_segment(&c, FLOW_FROM_SERVER, TCP_FIN | TCP_ACK, NULL, 0);
	/* a closed flow lingers two seconds of capture time (capture/flow.c) */
	cr_assert_eq(w.closed, 0);
	flow_table_expire(w.t, UINT64_MAX / 2);
	cr_assert_eq(w.closed, 1);
	cr_assert_str_eq(w.app[0], "TLS");
	cr_assert(w.have_sha1[0]);
	cr_assert(memcmp(w.sha1[0], t.leaf_sha1, 20) == 0);
	cr_assert_eq(w.tls_family, 1);
	flow_table_finish(w.t);
	flow_table_free(w.t);
	cr_assert_eq(dpi_counters(w.d)->flows, 1);
	dpi_free(w.d);
	tls_capture_free(&t);
}

/* ---- a real capture ----------------------------------------------------- */

static void corpus_frame(void *user, const struct cap_frame *fr)
{
	struct wired *w = user;
	struct cap_pkt p;
	const char *why;
	if (cap_decode(w->dlt, fr, &p, &why) == CAP_TCP)
		flow_table_packet(w->t, &p);
}

/* Runs one corpus capture through the wired flow table; false if absent. */
static bool run_corpus(struct wired *w, const char *name)
{
	const char *dir = getenv("CERTTRACE_CORPUS");
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/corpus/real", name);
	if (access(path, R_OK) != 0)
		return false;
	if (!w->d)
		w->d = new_dpi();
	wired_table(w);
	char err[512];
	struct cap_source *src = cap_open_offline(path, err, sizeof err);
	cr_assert(src, "%s", err);
	w->dlt = cap_linktype(src);
	while (cap_next_batch(src, 256, corpus_frame, w) >= 0)
		;
	cap_close(src);
	flow_table_finish(w->t);
	flow_table_free(w->t);
	return true;
}

Test(dpi, corpus_client_certificate_flow_is_tls_with_the_servers_leaf)
{
	struct wired w = { 0 };
	if (!run_corpus(&w, "zeek/client-certificate.pcap"))
		cr_skip_test("the corpus (../shared/corpus/real) is not here");

	/* One HTTPS flow; the server sends Let's Encrypt R3 / certauth.idrix.fr
	 * and later asks for a client certificate, which nDPI does not take
	 * for the server's. */
	cr_assert_eq(w.closed, 1);
	cr_assert_str_eq(w.app[0], "TLS");
	cr_assert(w.have_sha1[0]);
	static const uint8_t leaf[20] = {
		0xae, 0xae, 0x9d, 0x28, 0x72, 0x4c, 0xf5, 0x2c, 0xb8, 0x12,
		0x1c, 0x7a, 0xad, 0xa7, 0xec, 0x12, 0x78, 0x4a, 0x2a, 0x64,
	};
	cr_assert(memcmp(w.sha1[0], leaf, 20) == 0);
	cr_assert_str_eq(w.subject[0], "CN=certauth.idrix.fr");
	cr_assert_eq(dpi_live_flows(w.d), 0);
	cr_assert_eq(dpi_counters(w.d)->peak_live, 1);
	dpi_free(w.d);
}

Test(dpi, nDPI_stops_after_its_own_extra_packet_allowance_and_so_do_we)
{
	struct tls_capture t;
	tls12_handshake(&t);
	struct feeder fd = { .d = new_dpi() };
	struct tconn c;
	tconn_init(&c, 4, feed, &fd);
	tconn_handshake(&c);
	tconn_send(&c, FLOW_FROM_CLIENT, t.flight[0].data, t.flight[0].len);
	cr_assert(fd.wants_more);
	/* A Certificate message in a full 16 KiB record and more, in 1400-byte
	 * segments, each ACKed: nDPI buffers 12 segments, then stops looking. */
	static uint8_t big[24000];
	memset(big, 0x41, sizeof big);
	big[0] = TLS_CT_HANDSHAKE;
	big[1] = 3; big[2] = 3; big[3] = 0x40; big[4] = 0x00;
	big[5] = TLS_HS_CERTIFICATE;
	big[6] = 0; big[7] = 0x3f; big[8] = 0xfc;
	tconn_send(&c, FLOW_FROM_SERVER, big, sizeof big);
	cr_assert_not(fd.wants_more);
	const struct dpi_result *r = dpi_result(fd.f);
	cr_assert_eq(r->packets, 1 + 12, "ClientHello + nDPI's 12 extra packets, not %u", r->packets);
	cr_assert_not(r->given_up);
	cr_assert_str_eq(r->app, "TLS");
	cr_assert_not(dpi_leaf(r, NULL, NULL, NULL));
	cr_assert_eq(fd.live_after_freeze, 0);
	uint64_t peak = dpi_counters(fd.d)->peak_tls_buffer_bytes;
	cr_assert(peak >= 12 * 1400 && peak <= 12 * 1400 + 2048, "nDPI's TLS buffer peaked at %llu",
		  (unsigned long long)peak);
	dpi_flow_free(fd.d, fd.f);
	dpi_free(fd.d);
	tls_capture_free(&t);
}

Test(dpi, corpus_starttls_in_smtp_and_imap_is_tls_to_nDPI)
{
	struct wired w = { 0 };
	if (!run_corpus(&w, "zeek/smtp-starttls.pcap"))
		cr_skip_test("the corpus (../shared/corpus/real) is not here");
	cr_assert_eq(w.closed, 1);
	cr_assert_str_eq(w.app[0], "SMTP.Google");
	cr_assert_eq(w.tls_family, 1, "SMTP with STARTTLS carried TLS");
	dpi_free(w.d);

	w = (struct wired){ 0 };
	cr_assert(run_corpus(&w, "zeek/imap-starttls.pcap"));
	cr_assert_eq(w.closed, 1);
	cr_assert_str_eq(w.app[0], "IMAPS");
	cr_assert_eq(w.tls_family, 1);
	dpi_free(w.d);

	/* nDPI 4.2 does not follow XMPP into TLS: not a detection miss to count. */
	w = (struct wired){ 0 };
	cr_assert(run_corpus(&w, "zeek/xmpp-starttls.pcap"));
	cr_assert_eq(w.closed, 1);
	cr_assert_str_eq(w.app[0], "Jabber");
	cr_assert_eq(w.tls_family, 0);
	dpi_free(w.d);
}

Test(dpi, corpus_a_client_certificate_alone_is_not_the_servers_leaf)
{
	struct wired w = { 0 };
	if (!run_corpus(&w, "ndpi/tls_client_certificate_with_missing_server_one.pcapng"))
		cr_skip_test("the corpus (../shared/corpus/real) is not here");
	/* Two flows whose server Certificate segments were not captured; the
	 * only Certificate message on the wire is the client's. */
	cr_assert_eq(w.closed, 2);
	cr_assert_str_eq(w.app[0], "TLS");
	cr_assert_str_eq(w.app[1], "TLS.AnyDesk");
	for (int i = 0; i < 2; i++) {
		cr_assert(w.client_cert[i], "flow %d: nDPI fingerprints the client's certificate", i);
		cr_assert_not(w.have_sha1[i], "flow %d: dpi_leaf must not offer it as the server's", i);
		cr_assert_eq(w.subject[i][0], 0);
	}
	dpi_free(w.d);
}

/* A TLS 1.2 handshake to server_ip:443; the result's app. */
static void tls_app_to(struct dpi *d, const char *server_ip, char *app, size_t app_len)
{
	struct tls_capture t;
	tls12_handshake(&t);
	struct feeder fd = { .d = d };
	struct tconn c;
	tconn_init(&c, 4, feed, &fd);
	c.ip[FLOW_FROM_SERVER] = server_ip;
	c.port[FLOW_FROM_SERVER] = 443;
	tconn_handshake(&c);
	for (unsigned i = 0; i < t.n; i++)
		tconn_send(&c, t.flight[i].dir, t.flight[i].data, t.flight[i].len);
	cr_assert(fd.f && dpi_result(fd.f)->done);
	snprintf(app, app_len, "%s", dpi_result(fd.f)->app);
	dpi_flow_free(d, fd.f);
	tls_capture_free(&t);
}

/* Bytes malloc has handed out and not had back (ASan's allocator keeps
 * its own count: glibc's mallinfo2() sees none of it). */
static size_t heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd;
#endif
}

/* A worker's module is a copy of the first worker's that searches its
 * tables instead of building its own (dpi_new_like): a flow nDPI names by
 * the server's address alone (the SNI is lync.contoso.com, the address
 * Microsoft's Teams range) is named the same, and the copy is a small
 * fraction of the first's heap. */
Test(dpi, a_module_made_like_another_shares_its_tables_and_names_the_same)
{
	size_t before = heap_in_use();
	struct dpi *first = new_dpi();
	size_t first_bytes = heap_in_use() - before;
	char err[256] = "";
	before = heap_in_use();
	struct dpi *second = dpi_new_like(first, err, sizeof err);
	cr_assert(second, "dpi_new_like: %s", err);
	size_t second_bytes = heap_in_use() - before;
	cr_assert(dpi_shares_tables(second));
	cr_assert_not(dpi_shares_tables(first));
	cr_assert_gt(first_bytes, 4u << 20, "the first module: %zu bytes", first_bytes);
	cr_assert_lt(second_bytes, 300u << 10, "the second module: %zu bytes", second_bytes);

	const char *ips[] = { "52.112.0.10", "13.107.6.152", "8.8.8.8", "192.0.2.10" };
	const char *want[] = { "TLS.Skype_Teams", "TLS.Microsoft365", "TLS.Google", "TLS" };
	for (unsigned i = 0; i < 4; i++) {
		char a1[DPI_APP_LEN], a2[DPI_APP_LEN];
		tls_app_to(first, ips[i], a1, sizeof a1);
		tls_app_to(second, ips[i], a2, sizeof a2);
		cr_assert_str_eq(a1, want[i], "%s", ips[i]);
		cr_assert_str_eq(a2, want[i], "%s from the shared table", ips[i]);
	}
	/* Its options are the first's: with certificates, a leaf. */
	struct tls_capture t;
	tls12_handshake(&t);
	struct feeder fd = { .d = second };
	feed_tls(&fd, 4, &t);
	cr_assert(dpi_leaf(dpi_result(fd.f), NULL, NULL, NULL));
	dpi_flow_free(second, fd.f);
	tls_capture_free(&t);
	dpi_free(second);
	dpi_free(first);
}

/* ---- what a copy shares, it only reads ---------------------------------- */

/* nDPI's allocations go here while the first module is built, so that its
 * memory can be made read-only afterwards; ndpi_free() of them is nothing
 * (the arena goes as a whole). */
static struct {
	uint8_t *base;
	size_t size, used;
} arena;

static void *arena_malloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > arena.size - arena.used)
		return NULL;
	void *p = arena.base + arena.used;
	arena.used += n;
	return p;
}

static void arena_free(void *p)
{
	if ((uint8_t *)p < arena.base || (uint8_t *)p >= arena.base + arena.size)
		free(p);
}

static struct dpi *first_dpi_in_arena(void)
{
	arena.size = 64u << 20;
	arena.base = mmap(NULL, arena.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	cr_assert(arena.base != MAP_FAILED);
	set_ndpi_malloc(arena_malloc);
	set_ndpi_free(arena_free);
	struct dpi *first = new_dpi();
	set_ndpi_malloc(NULL);             /* NULL: malloc and free again */
	set_ndpi_free(NULL);
	return first;
}

static struct wired corpus_wired;
static unsigned corpus_files;

static int each_capture(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t n = strlen(path);
	bool capture = (n > 5 && strcmp(path + n - 5, ".pcap") == 0) ||
		       (n > 7 && strcmp(path + n - 7, ".pcapng") == 0) ||
		       (n > 4 && strcmp(path + n - 4, ".cap") == 0);
	if (type != FTW_F || !capture)
		return 0;
	char err[512];
	struct cap_source *src = cap_open_offline(path, err, sizeof err);
	if (!src)
		return 0;                 /* the corpus suite says why; not this test's */
	struct wired *w = &corpus_wired;
	wired_table(w);
	w->dlt = cap_linktype(src);
	while (cap_next_batch(src, 256, corpus_frame, w) >= 0)
		;
	cap_close(src);
	flow_table_finish(w->t);
	flow_table_free(w->t);
	corpus_files++;
	return 0;
}

/* Every corpus capture through a copy of a module whose memory (its
 * struct, IP table, automata, port trees, names) is read-only: a store
 * into anything the copy shares with the first module is a fault here,
 * where in certtrace it would be a race between workers. */
Test(dpi, a_copy_writes_nothing_it_shares_on_every_corpus_capture)
{
	const char *env = getenv("CERTTRACE_CORPUS");
	const char *dirs[] = { env ? env : "../shared/corpus/real", "../shared/corpus2/real" };
	if (access(dirs[0], R_OK) != 0)
		cr_skip_test("the corpus (%s) is not here", dirs[0]);

	struct dpi *first = first_dpi_in_arena();
	cr_assert_gt(arena.used, 5u << 20, "nDPI built its module in the arena: %zu bytes",
		     arena.used);
	cr_assert_eq(mprotect(arena.base, arena.size, PROT_READ), 0);
	char err[256] = "";
	struct dpi *copy = dpi_new_like(first, err, sizeof err);
	cr_assert(copy, "dpi_new_like: %s", err);
	cr_assert(dpi_shares_tables(copy));

	corpus_wired = (struct wired){ .d = copy };
	for (unsigned i = 0; i < 2; i++)
		if (access(dirs[i], R_OK) == 0)
			cr_assert_eq(nftw(dirs[i], each_capture, 16, FTW_PHYS), 0);
	cr_assert_gt(corpus_files, 100, "%u captures", corpus_files);
	cr_assert_gt(dpi_counters(copy)->flows, 1000, "%llu flows given to nDPI",
		     (unsigned long long)dpi_counters(copy)->flows);
	cr_assert_gt(corpus_wired.tls_family, 100);
	dpi_free(copy);

	cr_assert_eq(mprotect(arena.base, arena.size, PROT_READ | PROT_WRITE), 0);
	set_ndpi_free(arena_free);
	dpi_free(first);
	set_ndpi_free(NULL);
	munmap(arena.base, arena.size);
}
