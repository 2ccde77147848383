/*
 * tls_record.c — the record layer: records framed out of one direction's
 * stream, alerts and ChangeCipherSpec acted on, handshake bytes handed up
 * (tls_handshake.c), and TLS 1.3 protected records opened with a key log's
 * secrets (tls_aead.h).
 *
 * Framing: every unit that may arrive in pieces — a 5-byte record header
 * (2 bytes for an SSLv2-compatible ClientHello), a 4-byte handshake header,
 * a message, a protected record, a certificate, an OpenVPN packet — goes
 * through one helper, tls_take(),
 * which hands the unit out in place when it is whole in the input and
 * gathers it otherwise, saying how many bytes it still needs.
 *
 * TLS 1.3 with a key log: after the ServerHello each direction whose
 * handshake traffic secret is known opens its protected records (whole
 * records only: one cut by a feed boundary is gathered in a per-direction
 * buffer first), strips the inner content type, and hands the plaintext to
 * the same handshake message stream as a cleartext record, so messages
 * spanning records, or records holding several messages, are reassembled
 * as before.  A record whose tag does not verify ends the dissection with
 * decrypt_error set: nothing it holds is parsed.
 *
 * The dissection ends here when both directions are past ChangeCipherSpec
 * or at a fatal alert in clear.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dissect/keylog.h"
#include "dissect/tls_int.h"

/* ------------------------------------------------------------------ */
/* Framing                                                             */

size_t tls_take(struct reader *in, size_t need, uint8_t *store, uint32_t *have,
		struct reader *unit)
{
	size_t k;

	if (tls_take_in_place(in, need, *have)) {
		rd_sub(in, need, unit);
		return 0;
	}
	k = need - *have;
	if (k > rd_left(in))
		k = rd_left(in);
	rd_copy(in, store + *have, k);
	*have += (uint32_t)k;
	if (*have < need)
		return need - *have;
	*have = 0;
	rd_init(unit, store, need);
	return 0;
}

bool tls_buf_put(struct buf *b, struct reader *r, size_t n)
{
	uint8_t *dst;

	if (rd_left(r) < n || !(dst = buf_reserve(b, n)))
		return false;
	rd_copy(r, dst, n);
	buf_commit(b, n);
	return true;
}

/* ------------------------------------------------------------------ */
/* Alerts and ChangeCipherSpec                                         */

static void tls_add_alert(struct tls_conn *c, int dir, uint8_t level, uint8_t desc,
			  bool encrypted, uint64_t ts)
{
	struct tls_session *s = &c->s;

	if (s->n_alerts < TLS_MAX_ALERTS) {
		struct tls_alert *a = &s->alerts[s->n_alerts++];
		a->from = (uint8_t)dir;
		a->level = level;
		a->description = desc;
		a->encrypted = encrypted;
		a->ts_us = ts;
	}
	if (!encrypted && level == TLS_ALERT_LEVEL_FATAL)
		tls_finish(c, TLS_ST_COMPLETE, NULL);
}

/* Alert bytes in order: a level and a description, possibly split. */
static void tls_alert_bytes(struct tls_conn *c, int dir, struct reader body, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	uint8_t b;

	while (!c->finished && rd_u8(&body, &b)) {
		if (sd->alert_half) {
			sd->alert_half = false;
			tls_add_alert(c, dir, sd->alert_carry, b, false, ts);
		} else {
			sd->alert_carry = b;
			sd->alert_half = true;
		}
	}
}

static void tls_change_cipher_spec(struct tls_conn *c, int dir)
{
	struct tls_session *s = &c->s;
	struct tls_side *sd = &c->side[dir];

	s->ccs_seen[dir] = true;
	if (c->tls13)
		return;         /* RFC 8446 5: never a change of keys in TLS 1.3 */
	/*
	 * TLS 1.3 middlebox compatibility (RFC 8446 D.4) sends a dummy
	 * ChangeCipherSpec that changes nothing: a client offering 1.3 sends it
	 * before its second ClientHello or after an early-data ClientHello; a
	 * server right after a HelloRetryRequest.  Before the final ServerHello
	 * such a record does not mean encryption.
	 */
	if (!c->final_server_hello &&
	    ((dir == TLS_FROM_CLIENT && c->client_offered_tls13) ||
	     (dir == TLS_FROM_SERVER && s->hello_retry_request)))
		return;
	sd->encrypted = true;
	if (dir == TLS_FROM_SERVER && c->final_server_hello &&
	    !sd->saw_certificate && !sd->saw_hello_done) {
		/* Abbreviated handshake: ServerHello, [NewSessionTicket], CCS. */
		s->resumed = true;
		s->certificates_visible = false;
	}
	if (c->side[TLS_FROM_CLIENT].encrypted && c->side[TLS_FROM_SERVER].encrypted)
		tls_finish(c, TLS_ST_COMPLETE, NULL);
}

/* ------------------------------------------------------------------ */
/* TLS 1.3 protected records                                           */

bool tls13_keys_start(struct tls_conn *c)
{
	struct tls_session *s = &c->s;
	const struct kl_secrets *k;
	const char *cipher, *digest;
	size_t key_len, hash_len;

	if (!c->keys || !s->have_client_hello || s->sslv2_client_hello ||
	    s->version != TLS_VERSION_TLS13 || !(k = kl_find(c->keys, s->client_random)))
		return false;
	if (!k->server_hs.len && !k->client_hs.len)
		return false;
	if (!tls_aead_suite(s->cipher, &cipher, &key_len, &digest, &hash_len)) {
		s->decrypt_error = "the key log has this TLS 1.3 handshake's secrets, but its "
				   "cipher suite cannot be decrypted here (AES-GCM and "
				   "ChaCha20-Poly1305 only)";
		return false;
	}
	for (int dir = 0; dir < 2; dir++) {
		struct tls_side *sd = &c->side[dir];
		const struct kl_secret *sec = dir == TLS_FROM_SERVER ? &k->server_hs : &k->client_hs;

		if (!sec->len) {
			sd->hs_done = true;
			sd->mode = TLS_SIDE_IDLE;
			continue;
		}
		if (!tls_aead_init(&sd->aead, s->cipher, sec->b, sec->len)) {
			s->decrypt_error = sec->len != hash_len
				? "TLS 1.3 handshake did not decrypt: the key log's secret is not as "
				  "long as the cipher suite's hash (wrong key log?)"
				: "TLS 1.3 handshake keys could not be set up (OpenSSL)";
			tls_aead_free(&c->side[0].aead);
			tls_aead_free(&c->side[1].aead);
			return false;
		}
		sd->decrypting = true;
	}
	return true;
}

bool tls13_may_wait(const struct tls_conn *c)
{
	const struct tls_session *s = &c->s;
	const struct kl_secrets *k;

	if (!c->may_wait_keys || !c->keys || !s->have_client_hello || s->sslv2_client_hello ||
	    s->version != TLS_VERSION_TLS13 || s->decrypt_error)
		return false;
	k = kl_find(c->keys, s->client_random);
	return !k || (!k->server_hs.len && !k->client_hs.len);
}

/* Waiting for secrets: the rest of this feed is kept as it came. */
static void tls13_keep(struct tls_conn *c, int dir, struct reader *in, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];

	if (!buf_len(&sd->pending))
		sd->pending_ts = ts;
	if (ts > sd->pending_ts + TLS13_KEY_WAIT_US ||
	    buf_len(&sd->pending) + rd_left(in) > TLS13_KEY_WAIT_BYTES ||
	    !tls_buf_put(&sd->pending, in, rd_left(in))) {
		tls_give_up_keys(c);    /* as without a key log: hidden */
		return;
	}
}

/*
 * A piece of a TLS 1.3 protected record.  Once the record is whole (in
 * place, or gathered in rec_buf), it is opened into rec_buf: the plaintext
 * is TLSInnerPlaintext — content, the real content type, zero padding.
 */
static void tls13_record(struct tls_conn *c, int dir, struct reader body, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader rec, plain;
	size_t plain_len;
	uint8_t type;

	if (!sd->rec_buf && !(sd->rec_buf = malloc(TLS13_MAX_CIPHERTEXT_BYTES))) {
		tls_malformed(c, "out of memory for a TLS 1.3 record");
		return;
	}
	/* rec_len was checked against TLS13_MAX_CIPHERTEXT_BYTES at its header. */
	if (tls_take(&body, sd->rec_len, sd->rec_buf, &sd->rec_have, &rec))
		return;
	if (!tls_aead_open(&sd->aead, sd->aad, rd_ptr(&rec), rd_left(&rec), sd->rec_buf,
			   &plain_len)) {
		/* A client that sent 0-RTT data starts with records under its
		 * early traffic secret: skip those until one opens. */
		if (dir == TLS_FROM_CLIENT && c->client_early_data && !sd->opened_any)
			return;
		c->s.decrypt_error = dir == TLS_FROM_SERVER
			? "TLS 1.3 handshake did not decrypt with the key log's secrets (wrong key log?)"
			: "the client's TLS 1.3 handshake did not decrypt with the key log's secrets "
			  "(wrong key log?)";
		tls_finish(c, TLS_ST_COMPLETE, NULL);
		return;
	}
	sd->opened_any = true;
	c->s.decrypted = true;
	while (plain_len && sd->rec_buf[plain_len - 1] == 0)
		plain_len--;
	if (plain_len == 0) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s's TLS 1.3 record has no content type", tls_dir_name(dir));
		tls_malformed(c, c->reason_buf);
		return;
	}
	type = sd->rec_buf[--plain_len];
	rd_init(&plain, sd->rec_buf, plain_len);
	switch (type) {
	case TLS_CT_HANDSHAKE:
		tls_hs_data(c, dir, plain, ts);
		break;
	case TLS_CT_ALERT:
		tls_alert_bytes(c, dir, plain, ts);
		break;
	case TLS_CT_APPLICATION_DATA:
		/* Data before a Finished: nothing more of the handshake here. */
		sd->hs_done = true;
		sd->mode = TLS_SIDE_IDLE;
		if (c->side[!dir].hs_done)
			tls_finish(c, TLS_ST_COMPLETE, NULL);
		break;
	default:
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s's TLS 1.3 record has inner content type %u", tls_dir_name(dir), type);
		tls_malformed(c, c->reason_buf);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static void tls_first_record_time(struct tls_conn *c, uint64_t ts)
{
	if (!c->have_ts) {
		c->have_ts = true;
		c->s.ts_us = ts;
	}
}

/* Validates a record header and opens the record; false if malformed. */
static bool tls_record_open(struct tls_conn *c, int dir, struct reader h, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader whole = h;
	uint16_t len = 0;
	uint8_t major;

	sd->any_record = true;
	if (sd->rec_ssl2) {
		rd_u16(&h, &len);
		sd->rec_left = len & 0x7fff;
		sd->rec_type = TLS_CT_HANDSHAKE;
		tls_first_record_time(c, ts);
		sd->in_record = true;
		return tls_msg_open(c, dir, TLS_HS_SSL2_CLIENT_HELLO, sd->rec_left, ts);
	}
	rd_u8(&h, &sd->rec_type);
	rd_u16(&h, &sd->rec_version);
	rd_u16(&h, &len);
	sd->rec_len = sd->rec_left = len;
	major = (uint8_t)(sd->rec_version >> 8);
	if (sd->rec_type < TLS_CT_CHANGE_CIPHER_SPEC || sd->rec_type > TLS_CT_HEARTBEAT ||
	    major != 3 || sd->rec_left > TLS_MAX_RECORD_BYTES) {
		snprintf(c->reason_buf, sizeof(c->reason_buf),
			 "%s sent bytes that are not a TLS record header "
			 "(%02x %02x %02x %02x %02x)",
			 tls_dir_name(dir), sd->rec_type, major, sd->rec_version & 0xff,
			 len >> 8, len & 0xff);
		tls_malformed(c, c->reason_buf);
		return false;
	}
	c->record_version[dir] = sd->rec_version;
	sd->in_record = true;
	if (sd->decrypting && sd->rec_type == TLS_CT_APPLICATION_DATA) {
		if (sd->rec_left > TLS13_MAX_CIPHERTEXT_BYTES) {
			snprintf(c->reason_buf, sizeof(c->reason_buf),
				 "%s's TLS 1.3 record of %u bytes exceeds the %u-byte limit",
				 tls_dir_name(dir), sd->rec_left, TLS13_MAX_CIPHERTEXT_BYTES);
			tls_malformed(c, c->reason_buf);
			return false;
		}
		rd_copy(&whole, sd->aad, TLS_RECORD_HDR_BYTES);
		sd->rec_have = 0;
	}
	switch (sd->rec_type) {
	case TLS_CT_HANDSHAKE:
		tls_first_record_time(c, ts);
		break;
	case TLS_CT_CHANGE_CIPHER_SPEC:
		tls_change_cipher_spec(c, dir);
		break;
	case TLS_CT_ALERT:
		if (sd->encrypted)
			tls_add_alert(c, dir, 0, 0, true, ts);
		break;
	}
	return true;
}

static void tls_record_body(struct tls_conn *c, int dir, struct reader body, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];

	if (sd->rec_ssl2) {
		if (sd->in_msg)
			tls_msg_take(c, dir, &body);
		return;
	}
	switch (sd->rec_type) {
	case TLS_CT_HANDSHAKE:
		if (!sd->encrypted)
			tls_hs_data(c, dir, body, ts);
		break;
	case TLS_CT_ALERT:
		if (!sd->encrypted)
			tls_alert_bytes(c, dir, body, ts);
		break;
	case TLS_CT_APPLICATION_DATA:
		if (sd->decrypting)
			tls13_record(c, dir, body, ts);
		break;
	}
}

void tls_records(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader in, hdr, body;

	rd_init(&in, p, n);
	while (rd_left(&in) && !c->finished && sd->mode == TLS_SIDE_RECORDS) {
		if (!sd->in_record && c->await_keys && sd->hdr_have == 0) {
			tls13_keep(c, dir, &in, ts);
			return;
		}
		if (!sd->in_record) {
			/* Only a client's first record may be SSLv2-compatible. */
			if (sd->hdr_have == 0) {
				uint8_t b0 = 0;

				rd_peek_u8(&in, 0, &b0);
				sd->rec_ssl2 = dir == TLS_FROM_CLIENT && !sd->any_record && (b0 & 0x80);
			}
			if (tls_take(&in, sd->rec_ssl2 ? TLS_SSL2_HDR_BYTES : TLS_RECORD_HDR_BYTES,
				     sd->hdr, &sd->hdr_have, &hdr))
				return;         /* the header is cut: the rest comes later */
			if (!tls_record_open(c, dir, hdr, ts))
				return;
		}
		if (sd->rec_left) {
			size_t take = rd_left(&in) < sd->rec_left ? rd_left(&in) : sd->rec_left;

			rd_sub(&in, take, &body);
			sd->rec_left -= (uint32_t)take;
			tls_record_body(c, dir, body, ts);
		}
		if (sd->rec_left == 0) {
			sd->in_record = false;
			sd->rec_ssl2 = false;
		}
	}
}
