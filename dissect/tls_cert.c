/*
 * tls_cert.c — Certificate and CertificateRequest messages: the chains and
 * the acceptable CA names, as DER copied out of the message.
 *
 * The DER is copied once, with rd_stow(), into blobs the session owns until
 * tls_conn_free().  A message cut by a gap or by the end of the capture is
 * parsed as far as it goes: the certificates that arrived whole are kept
 * and the chain is marked truncated.
 */
#include "dissect/tls_int.h"

static bool tls_blob_copy(struct tls_blob *b, struct reader r)
{
	size_t n;

	if (!rd_stow(&r, &b->data, &n))
		return false;
	b->len = (uint32_t)n;
	return true;
}

/*
 * certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1> (RFC 5246 7.4.2; SSL 3.0
 * is the same).  TLS 1.3 (RFC 8446 4.4.2) puts a certificate_request_context
 * <0..2^8-1> first and follows each cert_data<1..2^24-1> with its
 * extensions<0..2^16-1>.
 */
void tls_certificate_msg(struct tls_conn *c, int dir, struct reader body, uint64_t ts,
			 bool partial)
{
	struct tls_chain *ch = dir == TLS_FROM_SERVER ? &c->s.server_chain : &c->s.client_chain;
	struct reader list, cert, context, exts;
	uint32_t list_len;

	if (ch->present)        /* a second chain in clear: keep the first */
		return;
	ch->present = true;
	ch->truncated = partial;
	ch->ts_us = ts;
	if (c->tls13 && !rd_u8_prefixed(&body, &context)) {
		if (!partial)
			tls_malformed(c, "Certificate: request context overruns the message");
		return;
	}
	if (!rd_u24(&body, &list_len)) {
		if (!partial)
			tls_malformed(c, "Certificate: message shorter than its list length");
		return;
	}
	if (!partial && list_len != rd_left(&body)) {
		tls_malformed(c, "Certificate: list length does not match the message");
		return;
	}
	list = body;
	if (partial && list_len < rd_left(&body))
		rd_sub(&body, list_len, &list);
	while (rd_left(&list)) {
		if (!rd_u24_prefixed(&list, &cert)) {
			if (!partial)
				tls_malformed(c, "Certificate: an entry overruns the list");
			return;
		}
		if (rd_left(&cert) == 0) {
			tls_malformed(c, "zero-length certificate");
			return;
		}
		if (ch->n == TLS_MAX_CHAIN) {
			tls_malformed(c, "more than 32 certificates in a chain");
			return;
		}
		if (!tls_blob_copy(&ch->certs[ch->n], cert)) {
			tls_malformed(c, "out of memory copying a certificate");
			return;
		}
		ch->n++;
		if (c->tls13 && !rd_u16_prefixed(&list, &exts)) {
			if (!partial)
				tls_malformed(c, "Certificate: an entry's extensions overrun the list");
			return;
		}
	}
	/* Read with the key log's secrets: the chain is there to be checked. */
	if (c->tls13 && dir == TLS_FROM_SERVER && !partial)
		c->s.certificates_visible = true;
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
