/*
 * tls_cert.c — Certificate and CertificateRequest messages: the chains and
 * the acceptable CA names, as DER copied out of the message.
 *
 * A Certificate message may be as long as its 3-byte length says (2^24 - 1
 * bytes, a chain of a few large certificates or one with ten thousand
 * names).  It is never buffered whole: it is read as it arrives, field by
 * field, and each certificate is copied out (rd_stow, or gathered straight
 * into the blob the session keeps) the moment its last byte is there.  So
 * what a direction holds for a message in progress is at most one
 * certificate, itself capped (TLS_MAX_CERT_BYTES), the DER of a chain is
 * capped as a whole (TLS_MAX_CHAIN_BYTES), and the bytes gathered for
 * certificates not yet whole count against the process-wide budget
 * (TLS_MAX_BUFFERED_BYTES).  Lengths are checked when they are read,
 * against what the message and the list have left, so a malformed message
 * is refused as soon as it shows it.
 *
 * A message cut by a gap or by the end of the capture keeps the
 * certificates that arrived whole and its chain is marked truncated; so is
 * one stopped at a cap, with a reason that says which cap.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dissect/tls_int.h"

static bool tls_blob_copy(struct tls_blob *b, struct reader r)
{
	size_t n;

	if (!rd_stow(&r, &b->data, &n))
		return false;
	b->len = (uint32_t)n;
	return true;
}

static struct tls_chain *tls_chain_of(struct tls_conn *c, int dir)
{
	return dir == TLS_FROM_SERVER ? &c->s.server_chain : &c->s.client_chain;
}

/* ------------------------------------------------------------------ */
/* Certificate                                                         */

/*
 * certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1> (RFC 5246 7.4.2; SSL 3.0
 * is the same).  TLS 1.3 (RFC 8446 4.4.2) puts a certificate_request_context
 * <0..2^8-1> first and follows each cert_data<1..2^24-1> with its
 * extensions<0..2^16-1>.  The steps, in the order they are read:
 */
enum {
	CS_CONTEXT_LEN,                 /* 1.3: u8 */
	CS_CONTEXT,                     /* 1.3: counted past */
	CS_LIST_LEN,                    /* u24 */
	CS_ENTRY_LEN,                   /* u24 */
	CS_ENTRY,                       /* DER, copied out */
	CS_EXT_LEN,                     /* 1.3: u16 */
	CS_EXT,                         /* 1.3: counted past */
	CS_DONE,
};

void tls_cert_release(struct tls_side *sd)
{
	struct tls_cert_stream *cs = &sd->cert;

	if (cs->blob) {
		free(cs->blob);
		tls_budget_give(cs->blob_len);
		cs->blob = NULL;
	}
	cs->active = false;
}

/* A malformed message: what arrived whole stays, the rest is refused. */
static void tls_cert_malformed(struct tls_conn *c, int dir, const char *why)
{
	tls_cert_release(&c->side[dir]);
	tls_malformed(c, why);
}

static uint64_t tls_chain_bytes(const struct tls_chain *ch)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < ch->n; i++)
		n += ch->certs[i].len;
	return n;
}

/* Moves to `step`, checking first that its field fits what is left. */
static bool tls_cert_step(struct tls_conn *c, int dir, uint8_t step)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;

	cs->step = step;
	cs->field_have = 0;
	switch (step) {
	case CS_CONTEXT_LEN:
		if (cs->msg_left < 1) {
			tls_cert_malformed(c, dir, "Certificate: request context overruns the message");
			return false;
		}
		break;
	case CS_LIST_LEN:
		if (cs->msg_left < 3) {
			tls_cert_malformed(c, dir, "Certificate: message shorter than its list length");
			return false;
		}
		break;
	case CS_ENTRY_LEN:
		if (cs->list_left == 0) {
			cs->step = CS_DONE;
		} else if (cs->list_left < 3) {
			tls_cert_malformed(c, dir, "Certificate: an entry overruns the list");
			return false;
		}
		break;
	case CS_EXT_LEN:
		if (cs->list_left < 2) {
			tls_cert_malformed(c, dir, "Certificate: an entry's extensions overrun the list");
			return false;
		}
		break;
	}
	return true;
}

/* An entry's length is known: check it, then copy or start gathering. */
static bool tls_cert_entry(struct tls_conn *c, int dir, uint32_t len)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;
	struct tls_chain *ch = tls_chain_of(c, dir);

	if (len > cs->list_left) {
		tls_cert_malformed(c, dir, "Certificate: an entry overruns the list");
		return false;
	}
	if (len == 0) {
		tls_cert_malformed(c, dir, "zero-length certificate");
		return false;
	}
	if (ch->n == TLS_MAX_CHAIN) {
		tls_cert_malformed(c, dir, "more than 32 certificates in a chain");
		return false;
	}
	if (len > TLS_MAX_CERT_BYTES) {
		tls_over_cap(c, dir, "certificate", len, TLS_MAX_CERT_BYTES, "");
		return false;
	}
	if (tls_chain_bytes(ch) + len > TLS_MAX_CHAIN_BYTES) {
		tls_over_cap(c, dir, "certificate chain", tls_chain_bytes(ch) + len,
			     TLS_MAX_CHAIN_BYTES, "");
		return false;
	}
	cs->blob_len = len;
	cs->blob_have = 0;
	cs->step = CS_ENTRY;
	return true;
}

/* The entry is whole in `der`: the chain has one more certificate. */
static bool tls_cert_add(struct tls_conn *c, int dir, struct tls_blob der)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;
	struct tls_chain *ch = tls_chain_of(c, dir);

	ch->certs[ch->n++] = der;
	cs->list_left -= der.len;
	return tls_cert_step(c, dir, c->tls13 ? CS_EXT_LEN : CS_ENTRY_LEN);
}

/* Bytes of the entry being read; false when the stream stopped. */
static bool tls_cert_entry_bytes(struct tls_conn *c, int dir, struct reader *in)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;
	struct tls_blob der;
	struct reader unit;

	if (!cs->blob && tls_take_in_place(in, cs->blob_len, 0)) {
		rd_sub(in, cs->blob_len, &unit);
		if (!tls_blob_copy(&der, unit)) {
			tls_cert_malformed(c, dir, "out of memory copying a certificate");
			return false;
		}
		return tls_cert_add(c, dir, der);
	}
	if (!cs->blob) {
		if (!tls_budget_take(cs->blob_len)) {
			tls_over_cap(c, dir, "certificate", cs->blob_len, tls_budget_max(),
				     " on bytes buffered by all flows");
			return false;
		}
		if (!(cs->blob = malloc(cs->blob_len))) {
			tls_budget_give(cs->blob_len);
			tls_cert_malformed(c, dir, "out of memory copying a certificate");
			return false;
		}
	}
	if (tls_take(in, cs->blob_len, cs->blob, &cs->blob_have, &unit))
		return true;            /* all of `in` went into the blob */
	der.data = cs->blob;
	der.len = cs->blob_len;
	cs->blob = NULL;
	tls_budget_give(cs->blob_len);
	return tls_cert_add(c, dir, der);
}

void tls_cert_begin(struct tls_conn *c, int dir, uint32_t msg_len, uint64_t ts)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;
	struct tls_chain *ch = tls_chain_of(c, dir);

	cs->active = true;
	cs->skip = ch->present;         /* a second chain in clear: keep the first */
	cs->msg_left = msg_len;
	cs->blob = NULL;
	if (cs->skip)
		return;
	ch->present = true;
	ch->ts_us = ts;
	tls_cert_step(c, dir, c->tls13 ? CS_CONTEXT_LEN : CS_LIST_LEN);
}

void tls_cert_data(struct tls_conn *c, int dir, struct reader in)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;
	struct reader field;
	uint32_t v = 0, before;

	if (!cs->active || cs->skip)
		return;
	while (rd_left(&in) && cs->active && !c->finished) {
		before = (uint32_t)rd_left(&in);
		switch (cs->step) {
		case CS_CONTEXT_LEN:
		case CS_LIST_LEN:
		case CS_ENTRY_LEN:
		case CS_EXT_LEN: {
			static const uint8_t width[] = {
				[CS_CONTEXT_LEN] = 1, [CS_LIST_LEN] = 3, [CS_ENTRY_LEN] = 3,
				[CS_EXT_LEN] = 2,
			};
			uint8_t step = cs->step;

			if (tls_take(&in, width[step], cs->field, &cs->field_have, &field))
				break;
			rd_be(&field, width[step], &v);
			cs->msg_left -= before - (uint32_t)rd_left(&in);
			before = (uint32_t)rd_left(&in);
			if (step == CS_CONTEXT_LEN) {
				if (v > cs->msg_left) {
					tls_cert_malformed(c, dir, "Certificate: request context "
							   "overruns the message");
					return;
				}
				cs->skip_left = v;
				cs->step = CS_CONTEXT;
				if (v == 0)
					tls_cert_step(c, dir, CS_LIST_LEN);
			} else if (step == CS_LIST_LEN) {
				if (v != cs->msg_left) {
					tls_cert_malformed(c, dir, "Certificate: list length does not "
							   "match the message");
					return;
				}
				cs->list_left = v;
				tls_cert_step(c, dir, CS_ENTRY_LEN);
			} else if (step == CS_ENTRY_LEN) {
				cs->list_left -= 3;
				tls_cert_entry(c, dir, v);
			} else {
				cs->list_left -= 2;
				if (v > cs->list_left) {
					tls_cert_malformed(c, dir, "Certificate: an entry's extensions "
							   "overrun the list");
					return;
				}
				cs->skip_left = v;
				cs->step = CS_EXT;
				if (v == 0)
					tls_cert_step(c, dir, CS_ENTRY_LEN);
			}
			break;
		}
		case CS_CONTEXT:
		case CS_EXT: {
			size_t k = rd_left(&in) < cs->skip_left ? rd_left(&in) : cs->skip_left;

			rd_skip(&in, k);
			cs->skip_left -= (uint32_t)k;
			if (cs->step == CS_EXT)
				cs->list_left -= (uint32_t)k;
			if (cs->skip_left == 0)
				tls_cert_step(c, dir, cs->step == CS_CONTEXT ? CS_LIST_LEN : CS_ENTRY_LEN);
			break;
		}
		case CS_ENTRY:
			tls_cert_entry_bytes(c, dir, &in);
			break;
		case CS_DONE:
			/* The list length matched the message: nothing is left. */
			rd_skip(&in, rd_left(&in));
			break;
		}
		cs->msg_left -= before - (uint32_t)rd_left(&in);
	}
}

void tls_cert_end(struct tls_conn *c, int dir)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;
	bool whole = cs->active && !cs->skip && cs->step == CS_DONE;

	tls_cert_release(&c->side[dir]);
	/* Read with the key log's secrets: the chain is there to be checked. */
	if (whole && c->tls13 && dir == TLS_FROM_SERVER)
		c->s.certificates_visible = true;
}

void tls_cert_cut(struct tls_conn *c, int dir)
{
	struct tls_cert_stream *cs = &c->side[dir].cert;

	if (cs->active && !cs->skip)
		tls_chain_of(c, dir)->truncated = true;
	tls_cert_release(&c->side[dir]);
}

/* certificate_authorities<0..2^16-1> of DistinguishedName<1..2^16-1>: the
 * same list in TLS 1.0-1.2 CertificateRequest and the TLS 1.3 extension. */
static void tls_add_ca_names(struct tls_conn *c, struct reader cas)
{
	struct tls_session *s = &c->s;
	struct reader dn;

	while (rd_left(&cas)) {
		if (!rd_u16_prefixed(&cas, &dn)) {
			tls_malformed(c, "CertificateRequest: a name overruns the list");
			return;
		}
		if (rd_left(&dn) == 0 || s->n_ca_names == TLS_MAX_CA_NAMES)
			continue;
		if (!tls_blob_copy(&s->ca_names[s->n_ca_names], dn)) {
			tls_malformed(c, "out of memory copying a CA name");
			return;
		}
		s->n_ca_names++;
	}
}

/* TLS 1.3 CertificateRequest (RFC 8446 4.3.2): certificate_request_context
 * <0..2^8-1>, extensions<2..2^16-1>; the CA names are in the
 * certificate_authorities extension. */
static void tls13_certificate_request(struct tls_conn *c, struct reader body)
{
	struct reader context, exts, cas;
	struct tls_ext authorities;
	const struct tls_ext_want want[] = {
		{ TLS_EXT_CERTIFICATE_AUTHORITIES, &authorities },
	};

	c->s.certificate_request = true;
	if (!rd_u8_prefixed(&body, &context) || !rd_u16_prefixed(&body, &exts) || rd_left(&body)) {
		tls_malformed(c, "CertificateRequest: a field overruns the message");
		return;
	}
	if (!tls_parse_extensions(exts, want, 1, NULL)) {
		tls_malformed(c, "CertificateRequest: an extension overruns the extension block");
		return;
	}
	if (!authorities.present)
		return;
	if (!rd_u16_prefixed(&authorities.body, &cas)) {
		tls_malformed(c, "CertificateRequest: certificate_authorities overruns its extension");
		return;
	}
	tls_add_ca_names(c, cas);
}

/* TLS 1.0-1.2 CertificateRequest: certificate_types<1..2^8-1>,
 * [1.2: supported_signature_algorithms<2..2^16-2>], certificate_authorities. */
void tls_certificate_request_msg(struct tls_conn *c, struct reader body)
{
	struct tls_session *s = &c->s;
	struct reader types, algs, cas;
	uint16_t version = s->have_server_hello ? s->version : c->record_version[TLS_FROM_SERVER];

	if (c->tls13) {
		tls13_certificate_request(c, body);
		return;
	}
	s->certificate_request = true;
	if (!rd_u8_prefixed(&body, &types) ||
	    (version >= TLS_VERSION_TLS12 && !rd_u16_prefixed(&body, &algs)) ||
	    !rd_u16_prefixed(&body, &cas)) {
		tls_malformed(c, "CertificateRequest: a field overruns the message");
		return;
	}
	tls_add_ca_names(c, cas);
}
