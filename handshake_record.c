/*
 * handshake_record.c -- the report's record of a handshake, made from the
 * dissector's session.
 *
 * The one unit that knows both dissect/tls.h's struct tls_session and
 * report/report.h's struct rep_handshake: the library keeps the two apart
 * (report/ never includes dissect/), and the command (certtrace.c) and the
 * pipeline fuzzer (tests/fuzz/fuzz_pcap.c) both link this file.
 */
#include "handshake_record.h"

void handshake_record(const struct tls_session *t, struct rep_handshake *h)
{
	const struct tls_chain *from[2] = { &t->server_chain, &t->client_chain };
	struct rep_hs_chain *to[2] = { &h->server_chain, &h->client_chain };

	h->ts_us = t->ts_us;
	h->status = t->status == TLS_ST_COMPLETE ? REP_HS_COMPLETE
		    : t->status == TLS_ST_TRUNCATED ? REP_HS_TRUNCATED
		    : t->status == TLS_ST_MALFORMED ? REP_HS_MALFORMED : REP_HS_IN_PROGRESS;
	h->reason = t->reason;
	h->preamble = t->preamble;
	h->sni = t->sni;
	for (unsigned i = 0; i < t->n_alpn && i < REP_MAX_ALPN; i++)
		h->alpn[h->n_alpn++] = t->alpn[i];
	h->ja3 = t->ja3;
	h->ja3s = t->ja3s;
	h->alpn_selected = t->alpn_selected[0] ? t->alpn_selected : NULL;
	h->server_hello = t->have_server_hello;
	h->version = t->version;
	h->cipher = t->cipher;
	h->resumed = t->resumed;
	h->certificates_visible = t->certificates_visible;
	h->decrypted = t->decrypted;
	h->decrypt_error = t->decrypt_error;
	for (unsigned k = 0; k < 2; k++) {
		to[k]->present = from[k]->present;
		to[k]->truncated = from[k]->truncated;
		to[k]->ts_us = from[k]->ts_us;
		for (unsigned i = 0; i < from[k]->n && i < REP_MAX_CHAIN; i++)
			to[k]->certs[to[k]->n++] = (struct rep_der){ from[k]->certs[i].data,
								     from[k]->certs[i].len };
	}
	for (unsigned i = 0; i < t->n_ca_names && i < REP_MAX_CA_NAMES; i++)
		h->ca_names[h->n_ca_names++] = (struct rep_der){ t->ca_names[i].data,
								 t->ca_names[i].len };
	for (unsigned i = 0; i < t->n_alerts && i < REP_MAX_ALERTS; i++) {
		const struct tls_alert *a = &t->alerts[i];
		h->alerts[h->n_alerts++] = (struct rep_hs_alert){
			.from_client = a->from == TLS_FROM_CLIENT, .encrypted = a->encrypted,
			.level = a->level, .description = a->description, .ts_us = a->ts_us,
		};
	}
}
