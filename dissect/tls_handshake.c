/*
 * tls_handshake.c — handshake messages framed out of the handshake stream
 * (the bodies of handshake records, clear or opened), and handed to their
 * parsers; the caps on what a conn holds while a message is incomplete.
 *
 * Parse in place, buffer only what is incomplete.  A message (its 4-byte
 * header, then its body) goes through tls_take(): one that lies whole in
 * the record body is parsed right there; only a message cut by a record or
 * packet boundary is copied, into one per-direction buffer (struct buf)
 * that grows to the largest message seen and is reused.  Three kinds of
 * message:
 *
 *  - kept: the hellos, CertificateRequest, EncryptedExtensions — parsed
 *    whole, so capped at TLS_MAX_MSG_BYTES (above what the protocol lets
 *    any of them be);
 *  - streamed: Certificate, up to the 2^24 - 1 bytes its length can say,
 *    read as it arrives by tls_cert.c, which holds at most one certificate;
 *  - counted past: everything else (ServerKeyExchange, ClientKeyExchange,
 *    ...), never copied, whatever its length.
 *
 * The bytes buffered for messages and certificates not yet whole count
 * against one budget shared by the whole process (TLS_MAX_BUFFERED_BYTES),
 * so many flows each holding a large certificate half-sent cannot add up
 * to more than that.  At any cap the dissection stops TRUNCATED with a
 * reason that says "over the N KiB cap": the input may be valid, we chose
 * not to hold it.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "dissect/tls_int.h"

/* ------------------------------------------------------------------ */
/* The process-wide budget and the caps                                */

static _Atomic size_t tls_buffered_bytes;
static _Atomic size_t tls_buffered_max = TLS_MAX_BUFFERED_BYTES;

bool tls_budget_take(size_t n)
{
	size_t max = atomic_load(&tls_buffered_max);
	size_t cur = atomic_load(&tls_buffered_bytes);

	do {
		if (n > max || cur > max - n)
			return false;
	} while (!atomic_compare_exchange_weak(&tls_buffered_bytes, &cur, cur + n));
	return true;
}

void tls_budget_give(size_t n)
{
	atomic_fetch_sub(&tls_buffered_bytes, n);
}

size_t tls_budget_max(void)
{
	return atomic_load(&tls_buffered_max);
}

size_t tls_budget_used(void)
{
	return atomic_load(&tls_buffered_bytes);
}

void tls_budget_set_max(size_t max_bytes)
{
	atomic_store(&tls_buffered_max, max_bytes ? max_bytes : TLS_MAX_BUFFERED_BYTES);
}

void tls_over_cap(struct tls_conn *c, int dir, const char *what, uint64_t size,
		  uint64_t cap_bytes, const char *whose_cap)
{
	snprintf(c->reason_buf, sizeof(c->reason_buf), "%s's %s of %llu bytes is over the %llu KiB cap%s",
		 tls_dir_name(dir), what, (unsigned long long)size,
		 (unsigned long long)(cap_bytes / 1024), whose_cap);
	tls_cut_certificate(c, dir);
	tls_finish(c, TLS_ST_TRUNCATED, c->reason_buf);
}

/* Frees a direction's message buffer and gives its budget back. */
void tls_msg_release(struct tls_side *sd)
{
	buf_free(&sd->msg);
	tls_budget_give(sd->msg_charged);
	sd->msg_charged = 0;
	sd->msg_store = NULL;
	tls_cert_release(sd);
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

/* Whether a message is worth copying when it is not whole in the input. */
static bool tls_msg_wanted(const struct tls_conn *c, int dir, unsigned type)
{
	switch (type) {
	case TLS_HS_CLIENT_HELLO:
		return dir == TLS_FROM_CLIENT && !c->s.have_client_hello;
	case TLS_HS_SERVER_HELLO:
		return dir == TLS_FROM_SERVER;
	case TLS_HS_CERTIFICATE_REQUEST:
		return dir == TLS_FROM_SERVER;
	case TLS_HS_ENCRYPTED_EXTENSIONS:
		return dir == TLS_FROM_SERVER && c->tls13;
	case TLS_HS_SSL2_CLIENT_HELLO:
		return true;
	}
	return false;
}

static void tls_msg_parse(struct tls_conn *c, int dir, unsigned type, struct reader body,
			  uint64_t ts)
{
	switch (type) {
	case TLS_HS_CLIENT_HELLO:
		tls_client_hello_msg(c, body);
		break;
	case TLS_HS_SSL2_CLIENT_HELLO:
		tls_ssl2_client_hello_msg(c, body);
		break;
	case TLS_HS_SERVER_HELLO:
		tls_server_hello_msg(c, body);
		break;
	case TLS_HS_CERTIFICATE_REQUEST:
		tls_certificate_request_msg(c, body);
		break;
	case TLS_HS_ENCRYPTED_EXTENSIONS:
		tls_encrypted_extensions_msg(c, body);
		break;
	}
}

/*
 * A message is over (parsed or counted past).  A TLS 1.3 Finished read with
 * the secrets ends that direction's handshake: what follows is under the
 * application traffic keys, which we neither have nor need.
 */
static void tls_msg_end(struct tls_conn *c, int dir, unsigned type)
{
	struct tls_side *sd = &c->side[dir];

	if (c->finished || !sd->decrypting || type != TLS_HS_FINISHED)
		return;
	sd->hs_done = true;
	sd->mode = TLS_SIDE_IDLE;
	if (c->side[TLS_FROM_CLIENT].hs_done && c->side[TLS_FROM_SERVER].hs_done)
		tls_finish(c, TLS_ST_COMPLETE, NULL);
}

bool tls_msg_open(struct tls_conn *c, int dir, unsigned type, uint32_t len, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];

	/* What the header alone tells: the server's flight had these. */
	if (dir == TLS_FROM_SERVER && type == TLS_HS_CERTIFICATE)
		sd->saw_certificate = true;
	else if (dir == TLS_FROM_SERVER && type == TLS_HS_SERVER_HELLO_DONE)
		sd->saw_hello_done = true;
	sd->in_msg = true;
	sd->msg_type = type;
	sd->msg_len = len;
	sd->msg_have = 0;
	sd->msg_ts = ts;
	sd->msg_stream = type == TLS_HS_CERTIFICATE;
	sd->msg_keep = !sd->msg_stream && tls_msg_wanted(c, dir, type);
	sd->msg_store = NULL;
	if (sd->msg_keep && len > TLS_MAX_MSG_BYTES) {
		tls_over_cap(c, dir, tls_hs_name(type), len, TLS_MAX_MSG_BYTES, "");
		return false;
	}
	if (sd->msg_stream)
		tls_cert_begin(c, dir, len, ts);
	return !c->finished;
}

/* Room for the kept message in the direction's buffer, within the budget. */
static bool tls_msg_room(struct tls_conn *c, int dir)
{
	struct tls_side *sd = &c->side[dir];
	size_t grew;

	buf_reset(&sd->msg);
	sd->msg_store = buf_reserve(&sd->msg, sd->msg_len);
	if (!sd->msg_store) {
		tls_malformed(c, "out of memory buffering a handshake message");
		return false;
	}
	grew = sd->msg.cap - sd->msg_charged;
	if (grew && !tls_budget_take(grew)) {
		tls_msg_release(sd);
		tls_over_cap(c, dir, tls_hs_name(sd->msg_type), sd->msg_len,
			     tls_budget_max(), " on bytes buffered by all flows");
		return false;
	}
	sd->msg_charged += grew;
	return true;
}

void tls_msg_take(struct tls_conn *c, int dir, struct reader *in)
{
	struct tls_side *sd = &c->side[dir];
	struct reader body;

	if (!sd->msg_keep) {
		size_t want = sd->msg_len - sd->msg_have;
		size_t take = rd_left(in) < want ? rd_left(in) : want;

		rd_sub(in, take, &body);
		sd->msg_have += (uint32_t)take;
		if (sd->msg_stream)
			tls_cert_data(c, dir, body);
		if (c->finished || sd->msg_have < sd->msg_len)
			return;
		sd->in_msg = false;
		if (sd->msg_stream)
			tls_cert_end(c, dir);
		tls_msg_end(c, dir, sd->msg_type);
		return;
	}
	if (!sd->msg_store && !tls_take_in_place(in, sd->msg_len, sd->msg_have) &&
	    !tls_msg_room(c, dir))
		return;
	if (tls_take(in, sd->msg_len, sd->msg_store, &sd->msg_have, &body))
		return;
	sd->in_msg = false;
	sd->msg_store = NULL;
	tls_msg_parse(c, dir, sd->msg_type, body, sd->msg_ts);
	tls_msg_end(c, dir, sd->msg_type);
}

void tls_hs_data(struct tls_conn *c, int dir, struct reader in, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader hdr;
	uint8_t type = 0;
	uint32_t len = 0;

	while (rd_left(&in) && !c->finished && !sd->hs_done) {
		if (sd->in_msg) {
			tls_msg_take(c, dir, &in);
			continue;
		}
		if (tls_take(&in, TLS_HS_HDR_BYTES, sd->msg_hdr, &sd->msg_hdr_have, &hdr))
			return;         /* the header is cut: the rest comes later */
		rd_u8(&hdr, &type);
		rd_u24(&hdr, &len);
		if (!tls_msg_open(c, dir, type, len, ts))
			return;
		tls_msg_take(c, dir, &in);   /* also closes empty messages */
	}
}

void tls_cut_certificate(struct tls_conn *c, int dir)
{
	struct tls_side *sd = &c->side[dir];

	if (sd->in_msg && sd->msg_stream)
		tls_cert_cut(c, dir);
}
