/*
 * tls_detect.c — is this flow TLS, and where does TLS start in each
 * direction.
 *
 * Recognise TLS by content, cheaply.  A flow whose client starts with a
 * ClientHello record (or whose server starts with a ServerHello, for
 * one-sided captures) goes straight to the record layer with no copy.
 * Anything else is held (at most TLS_DETECT_WINDOW bytes per direction, in
 * a struct buf) while tls_detect() walks the recogniser table
 * (tls_preamble.c) for a cleartext preamble we know ends in TLS.  Once one
 * says YES, each direction is scanned from where its skip() says for the
 * 11 bytes a TLS record carrying a ClientHello (ServerHello, or a server
 * alert) must start with, and the record layer starts there; after an
 * entry with a carrier (OpenVPN) the record layer starts at once, reading
 * through the carrier, which knows where the records are.  Binary junk,
 * HTTP requests and the like are refused on their first bytes, so most
 * non-TLS flows cost one look.
 *
 * The signatures below read the record's first bytes through the reader
 * one field at a time: each field that is there must be right (else NO);
 * a field not yet there means MORE.
 */
#include "dissect/tls_int.h"

/* ------------------------------------------------------------------ */
/* Signatures of a record's first bytes                                */

/* A protocol version from 3.0 (SSL 3.0) to 3.4 (TLS 1.3's number):
 * its two bytes. */
static enum tls_match tls_sig_version(struct reader *r)
{
	uint8_t major, minor;

	if (!rd_u8(r, &major))
		return TLS_MATCH_MORE;
	if (major != 3)
		return TLS_MATCH_NO;
	if (!rd_u8(r, &minor))
		return TLS_MATCH_MORE;
	return minor <= 4 ? TLS_MATCH_YES : TLS_MATCH_NO;
}

/* A record header's first three bytes: content type `want` and a version
 * tls_sig_version() takes. */
static enum tls_match tls_sig_record_head(struct reader *r, uint8_t want)
{
	uint8_t type;

	if (!rd_u8(r, &type))
		return TLS_MATCH_MORE;
	if (type != want)
		return TLS_MATCH_NO;
	return tls_sig_version(r);
}

/* A TLS record carrying a hello of `hs_type`: content type, version,
 * record length, handshake type and length, and the hello's own version. */
static enum tls_match tls_sig_hello(struct reader r, uint8_t hs_type)
{
	uint8_t msg_type;
	uint16_t rec_len;
	uint32_t hs_len;
	enum tls_match m = tls_sig_record_head(&r, TLS_CT_HANDSHAKE);

	if (m != TLS_MATCH_YES)
		return m;
	if (!rd_u16(&r, &rec_len))
		return TLS_MATCH_MORE;
	if (rec_len < TLS_HS_HDR_BYTES || rec_len > TLS_MAX_RECORD_BYTES)
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &msg_type))
		return TLS_MATCH_MORE;
	if (msg_type != hs_type)
		return TLS_MATCH_NO;
	if (!rd_u24(&r, &hs_len))
		return TLS_MATCH_MORE;
	if (hs_len < TLS_MIN_HELLO_BYTES || hs_len > TLS_MAX_MSG_BYTES)
		return TLS_MATCH_NO;
	/* Consistent: the hello fits the record, or spans records that are
	 * not absurdly small. */
	if (hs_len + TLS_HS_HDR_BYTES > rec_len && rec_len < 64)
		return TLS_MATCH_NO;
	return tls_sig_version(&r);
}

/* A cleartext alert record: a server may refuse with one instead of a
 * hello.  Content type 21, version 3.0-3.4, length 2, level 1 or 2. */
static enum tls_match tls_sig_alert(struct reader r)
{
	uint8_t len_hi, len_lo, level;
	enum tls_match m = tls_sig_record_head(&r, TLS_CT_ALERT);

	if (m != TLS_MATCH_YES)
		return m;
	/* The length a byte at a time: its high byte is wrong before the low
	 * one is there. */
	if (!rd_u8(&r, &len_hi))
		return TLS_MATCH_MORE;
	if (len_hi != 0)
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &len_lo))
		return TLS_MATCH_MORE;
	if (len_lo != 2)
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &level))
		return TLS_MATCH_MORE;
	return level == TLS_ALERT_LEVEL_WARNING || level == TLS_ALERT_LEVEL_FATAL
		? TLS_MATCH_YES : TLS_MATCH_NO;
}

enum tls_match tls_sig_ssl2(struct reader r)
{
	uint8_t b0, b1, type;
	uint16_t version;

	if (!rd_u8(&r, &b0))
		return TLS_MATCH_MORE;
	if (!(b0 & 0x80))
		return TLS_MATCH_NO;
	if (!rd_u8(&r, &b1) || !rd_u8(&r, &type))
		return TLS_MATCH_MORE;
	if (type != TLS_HS_CLIENT_HELLO)
		return TLS_MATCH_NO;
	if (!rd_u16(&r, &version))
		return TLS_MATCH_MORE;
	/* Record length: msg_type and four u16 fields, one cipher spec, a
	 * 16-byte challenge at least. */
	if ((((uint32_t)(b0 & 0x7f) << 8) | b1) < 9 + 3 + 16)
		return TLS_MATCH_NO;
	if (version == TLS_VERSION_SSL2 ||
	    (version >= TLS_VERSION_SSL3 && version <= TLS_VERSION_TLS13))
		return TLS_MATCH_YES;
	return TLS_MATCH_NO;
}

enum tls_match tls_sig_client(struct reader r)
{
	return tls_sig_hello(r, TLS_HS_CLIENT_HELLO);
}

enum tls_match tls_sig_server(struct reader r)
{
	enum tls_match a = tls_sig_hello(r, TLS_HS_SERVER_HELLO);
	enum tls_match b = tls_sig_alert(r);

	if (a == TLS_MATCH_YES || b == TLS_MATCH_YES)
		return TLS_MATCH_YES;
	if (a == TLS_MATCH_MORE || b == TLS_MATCH_MORE)
		return TLS_MATCH_MORE;
	return TLS_MATCH_NO;
}

size_t tls_text_len(struct reader r)
{
	const uint8_t *p = rd_ptr(&r);
	size_t n = rd_left(&r);

	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			return i;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Starting the record layer                                           */

/* Hands the held bytes from `off` on to the record layer (through the
 * direction's carrier, when it has one). */
static void tls_start_records(struct tls_conn *c, int dir, uint32_t off, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct buf held = sd->hold;

	buf_init(&sd->hold, TLS_DETECT_WINDOW);
	sd->mode = TLS_SIDE_RECORDS;
	c->tls = true;
	if (off < buf_len(&held)) {
		if (sd->carrier == TLS_CARRIER_OPENVPN)
			tls_ovpn_feed(c, dir, buf_bytes(&held) + off, buf_len(&held) - off, ts);
		else
			tls_records(c, dir, buf_bytes(&held) + off, buf_len(&held) - off, ts);
	}
	buf_free(&held);
}

/* Scans the held bytes of a side in SEEK mode for its first record. */
static void tls_seek(struct tls_conn *c, int dir, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir];
	struct reader all, at;
	uint32_t i = sd->seek_from;
	uint8_t b;

	rd_init(&all, buf_bytes(&sd->hold), buf_len(&sd->hold));
	while (rd_peek_u8(&all, i, &b)) {
		enum tls_match sig;

		if (dir == TLS_FROM_CLIENT ? b != TLS_CT_HANDSHAKE
					   : b != TLS_CT_HANDSHAKE && b != TLS_CT_ALERT) {
			i++;
			continue;
		}
		at = all;
		rd_skip(&at, i);
		sig = dir == TLS_FROM_CLIENT ? tls_sig_client(at) : tls_sig_server(at);
		if (sig == TLS_MATCH_YES) {
			tls_start_records(c, dir, i, ts);
			return;
		}
		if (sig == TLS_MATCH_MORE)
			break;
		i++;
	}
	sd->seek_from = i;
}

/* ------------------------------------------------------------------ */
/* The walk                                                            */

enum tls_det {
	TLS_DET_MORE,
	TLS_DET_NOT,
	TLS_DET_CLIENT,         /* ClientHello (or SSLv2 hello) at client byte 0 */
	TLS_DET_SERVER,         /* ServerHello / alert at server byte 0 */
	TLS_DET_PREAMBLE,       /* preamble named; scan from from[] */
};

static enum tls_det tls_detect(struct tls_conn *c, uint32_t from[2],
			       const struct tls_recogniser **entry)
{
	struct tls_held h;
	uint8_t first = 0;

	rd_init(&h.c, buf_bytes(&c->side[TLS_FROM_CLIENT].hold),
		buf_len(&c->side[TLS_FROM_CLIENT].hold));
	rd_init(&h.s, buf_bytes(&c->side[TLS_FROM_SERVER].hold),
		buf_len(&c->side[TLS_FROM_SERVER].hold));
	h.st = &c->pre;
	h.cmd_scan = TLS_PRE_UNSCANNED;
	from[0] = from[1] = 0;

	/* TLS at byte 0: no preamble. */
	if (rd_peek_u8(&h.c, 0, &first)) {
		enum tls_match sig = first & 0x80 ? tls_sig_ssl2(h.c) : tls_sig_client(h.c);

		if (sig == TLS_MATCH_YES)
			return TLS_DET_CLIENT;
		if (sig == TLS_MATCH_MORE)
			return TLS_DET_MORE;
	}
	if (rd_left(&h.s) && tls_sig_server(h.s) == TLS_MATCH_YES)
		return TLS_DET_SERVER;
	/* A handshake record that is no hello: nothing else can follow it. */
	if (rd_left(&h.c) && first == TLS_CT_HANDSHAKE)
		return TLS_DET_NOT;

	h.c_text = tls_text_len(h.c);
	for (size_t i = 0; i < tls_n_recognisers; i++) {
		const struct tls_recogniser *r = &tls_recognisers[i];

		switch (r->match(&h)) {
		case TLS_MATCH_NO:
			continue;
		case TLS_MATCH_MORE:
			return TLS_DET_MORE;
		case TLS_MATCH_NOT_TLS:
			return TLS_DET_NOT;
		case TLS_MATCH_YES:
			c->s.preamble = r->name;
			r->skip(&h, from);
			*entry = r;
			return TLS_DET_PREAMBLE;
		}
	}
	return TLS_DET_NOT;
}

/* Runs detection over the held bytes and acts on its outcome. */
static void tls_detect_and_start(struct tls_conn *c, uint64_t ts)
{
	struct tls_side *cs = &c->side[TLS_FROM_CLIENT], *ss = &c->side[TLS_FROM_SERVER];
	const struct tls_recogniser *entry = NULL;
	uint32_t from[2];

	switch (tls_detect(c, from, &entry)) {
	case TLS_DET_MORE:
		return;
	case TLS_DET_NOT:
		c->not_tls = true;
		tls_side_release(cs);
		tls_side_release(ss);
		return;
	case TLS_DET_CLIENT:
		tls_start_records(c, TLS_FROM_CLIENT, 0, ts);
		if (c->finished)
			return;
		if (buf_len(&ss->hold)) {
			ss->mode = TLS_SIDE_SEEK;
			tls_seek(c, TLS_FROM_SERVER, ts);
		} else {
			ss->mode = TLS_SIDE_RECORDS;
		}
		return;
	case TLS_DET_SERVER:
		/* A client whose bytes are no hello started before the capture. */
		if (buf_len(&cs->hold)) {
			tls_side_release(cs);
			cs->mode = TLS_SIDE_IDLE;
		} else {
			cs->mode = TLS_SIDE_RECORDS;
		}
		tls_start_records(c, TLS_FROM_SERVER, 0, ts);
		return;
	case TLS_DET_PREAMBLE:
		if (entry->carrier != TLS_CARRIER_NONE) {
			/* The records start where the carrier's framing does. */
			if (!tls_ovpn_start(cs) || !tls_ovpn_start(ss)) {
				c->tls = true;
				tls_malformed(c, "out of memory for the OpenVPN framing");
				return;
			}
			tls_start_records(c, TLS_FROM_CLIENT, from[TLS_FROM_CLIENT], ts);
			if (!c->finished)
				tls_start_records(c, TLS_FROM_SERVER, from[TLS_FROM_SERVER], ts);
			return;
		}
		cs->mode = TLS_SIDE_SEEK;
		cs->seek_from = from[TLS_FROM_CLIENT];
		ss->mode = TLS_SIDE_SEEK;
		ss->seek_from = from[TLS_FROM_SERVER];
		tls_seek(c, TLS_FROM_CLIENT, ts);
		if (!c->finished && ss->mode == TLS_SIDE_SEEK)
			tls_seek(c, TLS_FROM_SERVER, ts);
		return;
	}
}

void tls_detect_feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	struct tls_side *sd = &c->side[dir], *other = &c->side[!dir];
	struct reader in;

	rd_init(&in, p, n);
	if (sd->mode == TLS_SIDE_HOLD) {
		/* The common case costs no copy: a hello at byte 0 of a fresh flow. */
		if (buf_len(&sd->hold) == 0 && buf_len(&other->hold) == 0 &&
		    other->mode == TLS_SIDE_HOLD &&
		    (dir == TLS_FROM_CLIENT ? tls_sig_client(in) : tls_sig_server(in)) == TLS_MATCH_YES) {
			c->tls = true;
			sd->mode = TLS_SIDE_RECORDS;
			other->mode = TLS_SIDE_RECORDS;
			tls_records(c, dir, p, n, ts);
			return;
		}
		if (!tls_buf_put(&sd->hold, &in, n)) {
			c->not_tls = true;
			tls_side_release(sd);
			tls_side_release(other);
			return;
		}
		tls_detect_and_start(c, ts);
		return;
	}
	/* SEEK */
	if (!tls_buf_put(&sd->hold, &in, n)) {
		/* No record within the window on this side. */
		tls_side_release(sd);
		sd->mode = TLS_SIDE_IDLE;
		if (!c->tls) {
			c->not_tls = true;
			tls_side_release(other);
		}
		return;
	}
	tls_seek(c, dir, ts);
}
