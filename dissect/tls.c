/*
 * tls.c — the TLS handshake dissector's public interface (dissect/tls.h):
 * conns, and the stream of each direction handed to the layer it is in.
 *
 * A direction is in one of four modes: HOLD (nothing recognised yet: its
 * bytes are held while tls_detect.c decides), SEEK (a preamble was
 * recognised: held bytes are scanned for the first record), RECORDS (the
 * record layer, tls_record.c, which hands handshake bytes to
 * tls_handshake.c and the messages to tls_hello.c and tls_cert.c) and IDLE
 * (nothing more of interest).  A direction in RECORDS whose TLS rides in
 * another protocol's framing (OpenVPN) reads through its carrier
 * (tls_ovpn.c) first.  tls_int.h says which file holds what.
 *
 * The dissection ends (TLS_DONE) when both directions are past
 * ChangeCipherSpec, when a TLS 1.3 ServerHello is seen and there are no
 * secrets for it (everything after it is encrypted), when both TLS 1.3
 * Finished messages were read with the secrets, at a fatal alert, at a gap
 * inside the handshake, or at a malformed length.  Times: session.ts_us is
 * the capture time of the first handshake record; chain.ts_us that of the
 * feed carrying the first byte of the Certificate message.  tls_end() with
 * the handshake unfinished gives TRUNCATED even if only a ClientHello was
 * seen (the report can tell that case by have_server_hello); the exception
 * is a capture holding only one direction whose side went past
 * ChangeCipherSpec: that is COMPLETE.
 *
 * Memory: the only allocations per handshake are the held bytes while
 * detecting, one message buffer per direction for a message cut by a
 * boundary, the certificate being gathered, a record buffer per direction
 * for TLS 1.3 with keys, an OpenVPN packet buffer, the DER copied out of
 * Certificate/CertificateRequest, and the MD5 contexts; all but the DER go
 * at tls_finish(), so a finished flow costs its session.  The caps on them
 * are in tls.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dissect/tls_int.h"

const char *tls_dir_name(int dir)
{
	return dir == TLS_FROM_CLIENT ? "client" : "server";
}

const char *tls_hs_name(unsigned type)
{
	switch (type) {
	case TLS_HS_HELLO_REQUEST: return "HelloRequest";
	case TLS_HS_CLIENT_HELLO: return "ClientHello";
	case TLS_HS_SERVER_HELLO: return "ServerHello";
	case TLS_HS_NEW_SESSION_TICKET: return "NewSessionTicket";
	case TLS_HS_ENCRYPTED_EXTENSIONS: return "EncryptedExtensions";
	case TLS_HS_CERTIFICATE: return "Certificate message";
	case TLS_HS_SERVER_KEY_EXCHANGE: return "ServerKeyExchange";
	case TLS_HS_CERTIFICATE_REQUEST: return "CertificateRequest";
	case TLS_HS_SERVER_HELLO_DONE: return "ServerHelloDone";
	case TLS_HS_CERTIFICATE_VERIFY: return "CertificateVerify";
	case TLS_HS_CLIENT_KEY_EXCHANGE: return "ClientKeyExchange";
	case TLS_HS_FINISHED: return "Finished";
	case TLS_HS_CERTIFICATE_STATUS: return "CertificateStatus";
	case TLS_HS_SSL2_CLIENT_HELLO: return "SSLv2 ClientHello";
	}
	return "handshake message";
}

bool tls_is_tls13(uint16_t version)
{
	return version == TLS_VERSION_TLS13 || (version & 0xff00) == 0x7f00;
}

/* ------------------------------------------------------------------ */
/* Ending the dissection                                               */

void tls_side_release(struct tls_side *sd)
{
	buf_free(&sd->hold);
	buf_free(&sd->pending);
	tls_msg_release(sd);
	tls_ovpn_release(sd);
	free(sd->rec_buf);
	sd->rec_buf = NULL;
	tls_aead_free(&sd->aead);
}

void tls_finish(struct tls_conn *c, enum tls_status st, const char *reason)
{
	if (c->finished)
		return;
	/* A Certificate message still open (stopped by an alert, or a bad
	 * record, elsewhere): the certificates that came are a cut chain. */
	for (int dir = 0; dir < 2; dir++)
		if (c->side[dir].in_msg && c->side[dir].msg_stream)
			tls_cert_cut(c, dir);
	c->finished = true;
	c->s.status = st;
	if (reason)
		c->s.reason = reason;
	tls_side_release(&c->side[0]);
	tls_side_release(&c->side[1]);
}

void tls_malformed(struct tls_conn *c, const char *reason)
{
	tls_finish(c, TLS_ST_MALFORMED, reason);
}

/* ------------------------------------------------------------------ */
/* Interface                                                           */

struct tls_conn *tls_conn_new(void)
{
	struct tls_conn *c = calloc(1, sizeof(struct tls_conn));

	if (!c)
		return NULL;
	for (int dir = 0; dir < 2; dir++) {
		buf_init(&c->side[dir].hold, TLS_DETECT_WINDOW);
		buf_init(&c->side[dir].msg, TLS_MAX_MSG_BYTES);
		buf_init(&c->side[dir].pending, TLS13_KEY_WAIT_BYTES);
	}
	return c;
}

struct tls_conn *tls_conn_new_with_keys(const struct kl_store *keys)
{
	struct tls_conn *c = tls_conn_new();

	if (c)
		c->keys = keys;
	return c;
}

static enum tls_verdict tls_verdict_of(const struct tls_conn *c)
{
	if (c->not_tls)
		return TLS_NOT_TLS;
	return c->finished ? TLS_DONE : TLS_CONTINUE;
}

void tls_conn_wait_for_keys(struct tls_conn *c)
{
	c->may_wait_keys = true;
}

bool tls_awaiting_keys(const struct tls_conn *c)
{
	return c->await_keys && !c->finished;
}

enum tls_verdict tls_give_up_keys(struct tls_conn *c)
{
	if (c->await_keys) {
		c->await_keys = false;
		tls_finish(c, TLS_ST_COMPLETE, NULL);
	}
	return tls_verdict_of(c);
}

/* The kept bytes of each direction, server first (its flight holds the
 * certificates), read as if they came now, at the time of their first. */
enum tls_verdict tls_retry_keys(struct tls_conn *c)
{
	static const int order[2] = { TLS_FROM_SERVER, TLS_FROM_CLIENT };

	if (!tls_awaiting_keys(c) || tls13_may_wait(c))
		return tls_verdict_of(c);
	c->await_keys = false;
	if (!tls13_keys_start(c)) {
		tls_finish(c, TLS_ST_COMPLETE, NULL);
		return tls_verdict_of(c);
	}
	for (int i = 0; i < 2 && !c->finished; i++) {
		struct tls_side *sd = &c->side[order[i]];
		struct buf kept = sd->pending;

		buf_init(&sd->pending, TLS13_KEY_WAIT_BYTES);
		if (buf_len(&kept))
			tls_records(c, order[i], buf_bytes(&kept), buf_len(&kept),
				    sd->pending_ts);
		buf_free(&kept);
	}
	return tls_verdict_of(c);
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->s.server_chain.n; i++)
		free(c->s.server_chain.certs[i].data);
	for (unsigned i = 0; i < c->s.client_chain.n; i++)
		free(c->s.client_chain.certs[i].data);
	for (unsigned i = 0; i < c->s.n_ca_names; i++)
		free(c->s.ca_names[i].data);
	tls_side_release(&c->side[0]);
	tls_side_release(&c->side[1]);
	free(c);
}

enum tls_verdict tls_feed(struct tls_conn *c, enum tls_dir dir,
			  const uint8_t *p, size_t n, uint64_t ts_us)
{
	if (c->not_tls || c->finished)
		return tls_verdict_of(c);
	if (dir != TLS_FROM_CLIENT && dir != TLS_FROM_SERVER)
		return TLS_CONTINUE;
	c->s.bytes[dir] += n;
	if (n == 0)
		return TLS_CONTINUE;

	switch (c->side[dir].mode) {
	case TLS_SIDE_RECORDS:
		if (c->side[dir].carrier == TLS_CARRIER_OPENVPN)
			tls_ovpn_feed(c, dir, p, n, ts_us);
		else
			tls_records(c, dir, p, n, ts_us);
		break;
	case TLS_SIDE_IDLE:
		break;
	case TLS_SIDE_HOLD:
	case TLS_SIDE_SEEK:
		tls_detect_feed(c, dir, p, n, ts_us);
		break;
	}
	return tls_verdict_of(c);
}

enum tls_verdict tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t missing)
{
	struct tls_side *sd;

	if (c->not_tls || c->finished)
		return tls_verdict_of(c);
	if (dir != TLS_FROM_CLIENT && dir != TLS_FROM_SERVER)
		return TLS_CONTINUE;
	sd = &c->side[dir];
	if (!c->tls) {
		/* Detection needs the first bytes whole. */
		c->not_tls = true;
		tls_side_release(&c->side[0]);
		tls_side_release(&c->side[1]);
		return TLS_NOT_TLS;
	}
	if (sd->mode == TLS_SIDE_IDLE)
		return TLS_CONTINUE;
	if (c->await_keys)
		return tls_give_up_keys(c);     /* the kept records would not frame */
	if (sd->encrypted) {
		/* Past ChangeCipherSpec nothing readable is lost, but the record
		 * boundaries are: stop reading this side. */
		sd->mode = TLS_SIDE_IDLE;
		return TLS_CONTINUE;
	}
	if (sd->in_msg)
		snprintf(c->reason_buf, sizeof(c->reason_buf), "gap of %llu bytes inside the %s's %s",
			 (unsigned long long)missing, tls_dir_name(dir), tls_hs_name(sd->msg_type));
	else
		snprintf(c->reason_buf, sizeof(c->reason_buf), "gap of %llu bytes inside the %s's handshake",
			 (unsigned long long)missing, tls_dir_name(dir));
	tls_cut_certificate(c, dir);
	tls_finish(c, TLS_ST_TRUNCATED, c->reason_buf);
	/* A malformed partial chain (zero-length entry) already said why. */
	return TLS_DONE;
}

void tls_end(struct tls_conn *c)
{
	struct tls_side *cs = &c->side[TLS_FROM_CLIENT], *ss = &c->side[TLS_FROM_SERVER];

	if (c->not_tls || c->finished)
		return;
	if (!c->tls) {
		tls_side_release(cs);
		tls_side_release(ss);
		return;
	}
	/* One-sided capture: the side we have went past ChangeCipherSpec. */
	if ((ss->encrypted && c->s.bytes[TLS_FROM_CLIENT] == 0) ||
	    (cs->encrypted && c->s.bytes[TLS_FROM_SERVER] == 0)) {
		tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	for (int dir = 0; dir < 2; dir++) {
		struct tls_side *sd = &c->side[dir];

		if (sd->in_msg && sd->msg_type == TLS_HS_CERTIFICATE) {
			snprintf(c->reason_buf, sizeof(c->reason_buf),
				 "capture ended inside the %s's Certificate message", tls_dir_name(dir));
			tls_cut_certificate(c, dir);
			tls_finish(c, TLS_ST_TRUNCATED, c->reason_buf);
			return;
		}
	}
	if (c->tls13) {
		/* Read with a key log: as without one, the handshake counts as
		 * seen once the ServerHello was, unless the server's encrypted
		 * flight (where its certificates are) was cut before its end. */
		if (ss->decrypting && !ss->hs_done)
			tls_finish(c, TLS_ST_TRUNCATED,
				   "capture ended inside the server's encrypted handshake");
		else
			tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	tls_finish(c, TLS_ST_TRUNCATED, "capture ended inside the handshake");
}

bool tls_is_tls(const struct tls_conn *c)
{
	return c->tls;
}

const struct tls_session *tls_session(const struct tls_conn *c)
{
	return &c->s;
}
