/*
 * dpi.c — nDPI 4.2 as a classifier of a flow's first packets.
 *
 * Three ideas:
 *
 * 1. nDPI state lives only while a flow is being classified.  A struct
 *    ndpi_flow_struct is 688 bytes in nDPI 4.2 (sizeof, and
 *    ndpi_detection_get_sizeof_ndpi_flow_struct() agrees), and its TLS
 *    dissector keeps a reassembly buffer of its own besides.  dpi_packet()
 *    feeds packets while nDPI has not named the flow, or has named it but
 *    ndpi_extra_dissection_possible() still wants more (a TLS flow: only
 *    to its ServerHello, unless dpi_new() was asked for the certificate),
 *    at most DPI_MAX_PACKETS of them; then freeze() copies out everything
 *    certtrace reports and frees the nDPI flow.  So a flow costs nDPI
 *    memory for a few packets, and a finished flow none (dpi_live_flows()).
 *    nDPI's TLS buffer starts at 2 KiB and grows by what it is fed; nDPI
 *    4.2 takes at most 12 packets after naming a TLS flow, so it holds at
 *    most about 12 segments (17 KiB at a 1400-byte MSS; a test pins it).
 *
 * 2. nDPI is asked only what someone will read.  Its first packet is its
 *    dearest (on a flow it cannot name, every dissector runs: 3.2 µs a flow
 *    on the 1 M-flow flood, where the rest of certtrace spends 0.9 µs), so
 *    dpi_hold() keeps a copy of that packet (at most DPI_HOLD_MAX_BYTES, all
 *    copies together at most DPI_HOLD_TOTAL_MAX_BYTES) and nDPI state is made only when a packet is really fed: the next
 *    dpi_packet() or dpi_flow_finish() feeds the held one first, in its
 *    place, so nDPI sees exactly the packets it would have; dpi_flow_free()
 *    alone drops it, and nDPI never ran on the flow.
 *
 * 3. What is read from struct ndpi_flow_struct is read carefully.
 *    flow->protos is a union: tls_quic is valid only when nDPI's TLS (or
 *    QUIC) dissector owned the flow, so it is read only when the master or
 *    application protocol says TLS.  Strings nDPI allocated are copied with
 *    a bound.
 *
 * nDPI decides packet direction itself (from the addresses and ports);
 * from_client only tells whose certificate nDPI fingerprinted.  Giving up never guesses by port: certtrace
 * recognises TLS by content, and a "TLS" that only means "port 443" would
 * make every non-TLS flow on 443 look like a detection miss.
 */
#include "dissect/dpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi_api.h>

#include "dissect/dpi_share.h"

struct dpi {
	struct ndpi_detection_module_struct *mod;
	bool certificates;             /* TLS: on to the Certificate (dpi_new) */
	bool copied;                   /* mod is a copy of another dpi's (dpi_new_like) */
	struct dpi_counters c;
};

struct dpi_flow {
	struct ndpi_flow_struct *nf;   /* NULL before the first packet fed and once frozen */
	struct dpi_result r;
	/* dpi_hold(): the first packet, not yet given to nDPI. */
	uint8_t *held;
	unsigned short held_len;
	bool held_from_client;
	uint64_t held_ts_us;
};

static struct dpi *make_dpi(bool certificates, const struct dpi *lender, char *err,
			    size_t errlen)
{
	struct dpi *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory for the nDPI context");
		return NULL;
	}
	d->certificates = certificates;
	if (lender && (d->mod = dpi_mod_copy(lender->mod))) {
		d->copied = true;
		return d;
	}
	d->mod = ndpi_init_detection_module(ndpi_no_prefs);
	if (!d->mod) {
		snprintf(err, errlen, "nDPI %s: cannot initialise the detection module",
			 ndpi_revision());
		free(d);
		return NULL;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(d->mod, &all);
	ndpi_finalize_initialization(d->mod);
	return d;
}

struct dpi *dpi_new(bool certificates, char *err, size_t errlen)
{
	return make_dpi(certificates, NULL, err, errlen);
}

struct dpi *dpi_new_like(const struct dpi *first, char *err, size_t errlen)
{
	return make_dpi(first->certificates, first, err, errlen);
}

bool dpi_shares_tables(const struct dpi *d)
{
	return d->copied;
}

void dpi_free(struct dpi *d)
{
	if (!d)
		return;
	if (d->copied)
		dpi_mod_copy_free(d->mod);
	else
		ndpi_exit_detection_module(d->mod);
	free(d);
}

struct dpi_flow *dpi_flow_new(struct dpi *d)
{
	struct dpi_flow *f = calloc(1, sizeof *f);
	if (!f)
		d->c.alloc_failures++;
	return f;
}

/* nDPI's own state, at the first packet it is given.  false when out of
 * memory: the flow is then frozen unclassified (counted). */
static bool start_ndpi(struct dpi *d, struct dpi_flow *f)
{
	/* nDPI wants a zeroed flow; ndpi_flow_malloc does not zero it. */
	f->nf = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
	if (!f->nf) {
		d->c.alloc_failures++;
		f->r.done = true;
		return false;
	}
	memset(f->nf, 0, SIZEOF_FLOW_STRUCT);
	d->c.flows++;
	d->c.live++;
	if (d->c.live > d->c.peak_live)
		d->c.peak_live = d->c.live;
	return true;
}

static bool is_tls_proto(uint16_t id)
{
	return id == NDPI_PROTOCOL_TLS || id == NDPI_PROTOCOL_DTLS ||
	       id == NDPI_PROTOCOL_MAIL_SMTPS || id == NDPI_PROTOCOL_MAIL_IMAPS ||
	       id == NDPI_PROTOCOL_MAIL_POPS;
}

static bool is_starttls_proto(uint16_t id)
{
	return id == NDPI_PROTOCOL_MAIL_SMTP || id == NDPI_PROTOCOL_MAIL_IMAP ||
	       id == NDPI_PROTOCOL_MAIL_POP || id == NDPI_PROTOCOL_FTP_CONTROL;
}

static char *copy_dn(const char *s)
{
	if (!s || !*s)
		return NULL;
	return strndup(s, DPI_DN_MAX_BYTES);
}

/* nDPI has named a TLS flow and read its ServerHello (JA3S, the cipher:
 * nDPI's weak-cipher and old-version risks are in).  protos.tls_quic is
 * read only once a TLS protocol is named (it is a union). */
static bool tls_hellos_read(const struct ndpi_flow_struct *nf, ndpi_protocol proto)
{
	return (is_tls_proto(proto.master_protocol) || is_tls_proto(proto.app_protocol)) &&
	       nf->protos.tls_quic.ja3_server[0] != '\0';
}

/* Copies out what certtrace reports and frees nDPI's flow. */
static void freeze(struct dpi *d, struct dpi_flow *f, ndpi_protocol proto)
{
	struct ndpi_flow_struct *nf = f->nf;
	struct dpi_result *r = &f->r;

	if (proto.master_protocol == NDPI_PROTOCOL_UNKNOWN &&
	    proto.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		uint8_t guessed = 0;
		proto = ndpi_detection_giveup(d->mod, nf, 0, &guessed);
		r->given_up = true;
		d->c.given_up++;
	} else {
		d->c.classified++;
	}
	r->master_protocol = proto.master_protocol;
	r->app_protocol = proto.app_protocol;
	if (r->master_protocol || r->app_protocol)
		ndpi_protocol2name(d->mod, proto, r->app, sizeof r->app);
	else
		d->c.unknown++;

	r->risk = nf->risk;
	for (unsigned bit = 1; bit < NDPI_MAX_RISK && r->n_risks < DPI_MAX_RISKS; bit++)
		if (r->risk & ((ndpi_risk)1 << bit))
			r->risks[r->n_risks++] = ndpi_risk2str((ndpi_risk_enum)bit);

	snprintf(r->host, sizeof r->host, "%.*s", (int)sizeof nf->host_server_name,
		 nf->host_server_name);

	/* l4.tcp is ours to read: only TCP packets come here.  (IMAP after
	 * STARTTLS nDPI 4.2 calls IMAPS outright; SMTP and FTP keep their name
	 * and set auth_tls.) */
	r->starttls = (is_starttls_proto(r->master_protocol) ||
		       is_starttls_proto(r->app_protocol)) &&
		      nf->l4.tcp.ftp_imap_pop_smtp.auth_tls;

	if (is_tls_proto(r->master_protocol) || is_tls_proto(r->app_protocol)) {
		if (nf->l4.tcp.tls.fingerprint_set) {
			r->have_sha1 = true;
			memcpy(r->sha1, nf->protos.tls_quic.sha1_certificate_fingerprint,
			       sizeof r->sha1);
		}
		r->issuer = copy_dn(nf->protos.tls_quic.issuerDN);
		r->subject = copy_dn(nf->protos.tls_quic.subjectDN);
	}

	ndpi_flow_free(nf);
	f->nf = NULL;
	d->c.live--;
	r->done = true;
}

/* One packet with payload to nDPI; false once the result is frozen. */
static bool feed(struct dpi *d, struct dpi_flow *f, const uint8_t *l3, unsigned short len,
		 uint64_t ts_us, int from_client)
{
	if (!f->nf && !start_ndpi(d, f))
		return false;
	bool had_cert = f->nf->l4.tcp.tls.fingerprint_set;
	ndpi_protocol proto = ndpi_detection_process_packet(d->mod, f->nf, l3, len,
							     ts_us / 1000);
	/* nDPI fingerprints the first Certificate message it sees, whichever
	 * side sent it; remember which, so a client's certificate is never
	 * taken for the server's leaf. */
	if (!had_cert && f->nf->l4.tcp.tls.fingerprint_set)
		f->r.cert_from_client = from_client;
	f->r.packets++;
	d->c.packets++;

	bool named = proto.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
		     proto.app_protocol != NDPI_PROTOCOL_UNKNOWN;
	if (f->nf->l4.tcp.tls.message.buffer_len > d->c.peak_tls_buffer_bytes)
		d->c.peak_tls_buffer_bytes = f->nf->l4.tcp.tls.message.buffer_len;
	/* Named, nDPI may still want the certificate; but once it has used
	 * its own extra-packet allowance (12 for TLS) it looks no further, even
	 * though ndpi_extra_dissection_possible() keeps saying yes. */
	bool looking = f->nf->check_extra_packets && f->nf->extra_packets_func &&
		       ndpi_extra_dissection_possible(d->mod, f->nf);
	/* Without the certificates, a TLS flow is done at its ServerHello. */
	if (looking && named && !d->certificates && tls_hellos_read(f->nf, proto))
		looking = false;
	if ((named && !looking) || f->r.packets >= DPI_MAX_PACKETS) {
		freeze(d, f, proto);
		return false;
	}
	return true;
}

/* The held packet goes to nDPI first, in its place in the flow. */
static bool feed_held(struct dpi *d, struct dpi_flow *f)
{
	if (!f->held)
		return !f->r.done;
	uint8_t *h = f->held;
	f->held = NULL;
	d->c.held_live--;
	d->c.held_bytes -= f->held_len;
	bool more = feed(d, f, h, f->held_len, f->held_ts_us, f->held_from_client);
	free(h);
	return more;
}

/* An IP datagram's total length fits in 16 bits (jumbograms aside, which
 * nDPI cannot take either): the bound is for the type only. */
static unsigned short l3_len16(const struct cap_pkt *p)
{
	return p->l3_len > 0xffff ? 0xffff : (unsigned short)p->l3_len;
}

/* A bare ACK (or a SYN, FIN, RST) carries nothing nDPI classifies by;
 * feeding it would only spend the packet bound. */
static bool has_payload(const struct cap_pkt *p)
{
	return p->l3 && p->l3_len != 0 && p->payload_len != 0;
}

bool dpi_hold(struct dpi *d, struct dpi_flow *f, const struct cap_pkt *p, int from_client)
{
	if (!f || f->r.done || f->nf || f->held || f->r.packets || !has_payload(p) ||
	    p->l3_len > DPI_HOLD_MAX_BYTES ||
	    d->c.held_bytes + p->l3_len > DPI_HOLD_TOTAL_MAX_BYTES)
		return false;
	/* l3 and l3_len come from the decoder, which vouched for them. */
	if (!(f->held = malloc(p->l3_len))) {
		d->c.alloc_failures++;
		return false;
	}
	memcpy(f->held, p->l3, p->l3_len);
	f->held_len = l3_len16(p);
	f->held_ts_us = p->ts_us;
	f->held_from_client = from_client;
	d->c.held++;
	d->c.held_live++;
	d->c.held_bytes += f->held_len;
	if (d->c.held_bytes > d->c.peak_held_bytes)
		d->c.peak_held_bytes = d->c.held_bytes;
	return true;
}

bool dpi_packet(struct dpi *d, struct dpi_flow *f, const struct cap_pkt *p, int from_client)
{
	if (!f || f->r.done)
		return false;
	if (!has_payload(p))
		return true;
	if (!feed_held(d, f))
		return false;
	return feed(d, f, p->l3, l3_len16(p), p->ts_us, from_client);
}

void dpi_flow_finish(struct dpi *d, struct dpi_flow *f)
{
	if (!f || f->r.done)
		return;
	if (!feed_held(d, f) || !f->nf) {
		f->r.done = true;      /* frozen by the held packet, or never fed */
		return;
	}
	ndpi_protocol proto = {
		.master_protocol = f->nf->detected_protocol_stack[1],
		.app_protocol = f->nf->detected_protocol_stack[0],
		.category = f->nf->category,
	};
	freeze(d, f, proto);
}

const struct dpi_result *dpi_result(const struct dpi_flow *f)
{
	return &f->r;
}

void dpi_flow_free(struct dpi *d, struct dpi_flow *f)
{
	if (!f)
		return;
	if (f->nf) {
		ndpi_flow_free(f->nf);
		d->c.live--;
	}
	if (f->held) {
		free(f->held);
		d->c.held_live--;
		d->c.held_bytes -= f->held_len;
		d->c.dropped_held++;
	}
	free(f->r.issuer);
	free(f->r.subject);
	free(f);
}

size_t dpi_live_flows(const struct dpi *d)
{
	return d->c.live;
}

const struct dpi_counters *dpi_counters(const struct dpi *d)
{
	return &d->c;
}

bool dpi_is_tls_family(const struct dpi_result *r)
{
	return is_tls_proto(r->master_protocol) || is_tls_proto(r->app_protocol) ||
	       r->starttls;
}

bool dpi_leaf(const struct dpi_result *r, const char **issuer, const char **subject,
	      const uint8_t **sha1)
{
	bool server = r->have_sha1 && !r->cert_from_client;
	if (issuer)
		*issuer = server ? r->issuer : NULL;
	if (subject)
		*subject = server ? r->subject : NULL;
	if (sha1)
		*sha1 = server ? r->sha1 : NULL;
	return server;
}

bool dpi_disagrees(const struct dpi_result *r, const char *our_issuer,
		   const char *our_subject, const uint8_t our_sha1[20])
{
	if (!r->have_sha1 || r->cert_from_client)
		return false;
	return !our_sha1 || memcmp(r->sha1, our_sha1, sizeof r->sha1) != 0;
}
