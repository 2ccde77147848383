/*
 * tls_handshake.c — handshake messages framed out of the handshake stream
 * (the bodies of handshake records, clear or opened), and handed to their
 * parsers.
 *
 * Parse in place, buffer only what is incomplete.  A message (its 4-byte
 * header, then its body) goes through tls_take(): one that lies whole in
 * the record body is parsed right there; only a message cut by a record or
 * packet boundary is copied, into one per-direction buffer (struct buf,
 * capped at TLS_MAX_MSG_BYTES) that grows to the largest message seen and
 * is reused.  Messages we have no use for (ServerKeyExchange,
 * ClientKeyExchange, ...) are counted past, never copied.
 */
#include <stdio.h>

#include "dissect/tls_int.h"

/* Whether a message is worth copying when it is not whole in the input. */
static bool tls_msg_wanted(const struct tls_conn *c, int dir, unsigned type)
{
	switch (type) {
	case TLS_HS_CLIENT_HELLO:
		return dir == TLS_FROM_CLIENT && !c->s.have_client_hello;
	case TLS_HS_SERVER_HELLO:
		return dir == TLS_FROM_SERVER;
	case TLS_HS_CERTIFICATE:
		return true;
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
	case TLS_HS_CERTIFICATE:
		tls_certificate_msg(c, dir, body, ts, false);
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

	if (len > TLS_MAX_MSG_BYTES) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s's %s of %u bytes exceeds the %u-byte limit",
			 tls_dir_name(dir), tls_hs_name(type), len, TLS_MAX_MSG_BYTES);
		tls_malformed(c, c->reason_buf);
		return false;
	}
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
	sd->msg_keep = tls_msg_wanted(c, dir, type);
	sd->msg_store = NULL;
	return true;
}

void tls_msg_take(struct tls_conn *c, int dir, struct reader *in)
{
	struct tls_side *sd = &c->side[dir];
	struct reader body;

	if (!sd->msg_keep) {
		size_t want = sd->msg_len - sd->msg_have;
		size_t take = rd_left(in) < want ? rd_left(in) : want;

		rd_skip(in, take);
		sd->msg_have += (uint32_t)take;
		if (sd->msg_have == sd->msg_len) {
			sd->in_msg = false;
			tls_msg_end(c, dir, sd->msg_type);
		}
		return;
	}
	if (!sd->msg_store && !tls_take_in_place(in, sd->msg_len, sd->msg_have)) {
		buf_reset(&sd->msg);
		sd->msg_store = buf_reserve(&sd->msg, sd->msg_len);
		if (!sd->msg_store) {
			tls_malformed(c, "out of memory buffering a handshake message");
			return;
		}
	}
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
	struct reader body = { NULL, 0 };

	if (!sd->in_msg || sd->msg_type != TLS_HS_CERTIFICATE || !sd->msg_keep)
		return;
	if (sd->msg_store)
		rd_init(&body, sd->msg_store, sd->msg_have);
	tls_certificate_msg(c, dir, body, sd->msg_ts, true);
	sd->in_msg = false;
}
