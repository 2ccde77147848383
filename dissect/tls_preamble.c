/*
 * tls_preamble.c — the recogniser table: the cleartext preambles after
 * which a flow turns to TLS, one entry per protocol.
 *
 * An entry is {name, match, skip} (as OpenBSD tcpdump keeps wg_match() next
 * to wg_print()): match() looks at what both directions sent so far and
 * answers NO (not this protocol: the walk asks the next entry), MORE (this
 * protocol, or it may still become it: wait for more bytes), YES (this
 * protocol, and TLS follows) or NOT_TLS (this protocol, going on without
 * TLS: the flow is dropped at once, which is what makes most non-TLS flows
 * cost one look).  After YES, skip() says where each direction's scan for
 * its first TLS record starts.  tls_detect() walks the table in order and
 * the first answer other than NO decides, so an entry earlier in the table
 * claims its bytes first (LDAP's 0x30 before the text protocols, for one).
 * Adding a preamble is adding its two functions here and one entry below.
 *
 * Two entries keep their functions in files of their own, beside the
 * protocol they read: RDP (tls_rdp.c) and OpenVPN (tls_ovpn.c).  OpenVPN
 * is no preamble but a framing below TLS; its entry is recognised the same
 * way and names a carrier, the framing the record layer then reads
 * through, instead of a place where the records start on the stream.
 *
 * Every function reads the held bytes through lib/reader.h.  Recognisers
 * that must remember something between feeds (the client's STARTTLS-like
 * command, how much the server had said by then) keep it in the conn's
 * struct tls_preamble_state.
 */
#include <string.h>

#include "dissect/tls_int.h"

/* ------------------------------------------------------------------ */
/* Reading held bytes                                                  */

/* n bytes at p equal s, ignoring ASCII case (the C locale's strncasecmp). */
static bool pre_ieq(const uint8_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t a = p[i], b = (uint8_t)s[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

/* r starts with s, ignoring case. */
static bool pre_has_prefix(struct reader r, const char *s)
{
	size_t k = strlen(s);
	const uint8_t *p;

	return rd_bytes(&r, k, &p) && pre_ieq(p, s, k);
}

/* r is s, ignoring case. */
static bool pre_line_is(struct reader r, const char *s)
{
	return rd_left(&r) == strlen(s) && pre_has_prefix(r, s);
}

/* r can still become s: the bytes there so far agree with its start. */
static bool pre_may_be(struct reader r, const char *s)
{
	size_t k = strlen(s), n = rd_left(&r) < k ? rd_left(&r) : k;
	const uint8_t *p;

	return rd_bytes(&r, n, &p) && pre_ieq(p, s, n);
}

/* The same for binary bytes. */
static bool pre_may_be_bytes(struct reader r, const uint8_t *s, size_t k)
{
	return rd_starts_with(&r, s, rd_left(&r) < k ? rd_left(&r) : k);
}

/* Where s first occurs in r (exact bytes). */
static bool pre_find(struct reader r, const char *s, size_t *at)
{
	size_t k = strlen(s), base = 0, i;

	while (rd_find(&r, (uint8_t)s[0], &i)) {
		rd_skip(&r, i);
		if (rd_starts_with(&r, s, k)) {
			*at = base + i;
			return true;
		}
		rd_skip(&r, 1);
		base += i + 1;
	}
	return false;
}

/* The next complete line of *text: *line without its end ("\n", and any
 * '\r' and spaces before it), *text moved past it.  false: no '\n'. */
static bool pre_next_line(struct reader *text, struct reader *line)
{
	size_t at, n;
	uint8_t last;

	if (!rd_find(text, '\n', &at))
		return false;
	rd_sub(text, at, line);
	rd_skip(text, 1);
	n = rd_left(line);
	while (n && rd_peek_u8(line, n - 1, &last) && (last == '\r' || last == ' '))
		n--;
	rd_init(line, rd_ptr(line), n);
	return true;
}

/* Offset of `at` (a reader into the bytes of `all`) from all's start. */
static uint32_t pre_off(const struct reader *all, const struct reader *at)
{
	return (uint32_t)(rd_ptr(at) - rd_ptr(all));
}

/* The client's leading text (what a line-based peer sends before TLS). */
static struct reader pre_client_text(const struct tls_held *h)
{
	struct reader c = h->c, text = { NULL, 0 };

	rd_sub(&c, h->c_text, &text);
	return text;
}

/* A MySQL server greeting: a packet header (length, sequence 0) and
 * protocol version 10. */
static bool pre_mysql_greeting(struct reader s)
{
	uint8_t seq, proto;

	return rd_skip(&s, 3) && rd_u8(&s, &seq) && seq == 0 && rd_u8(&s, &proto) && proto == 0x0a;
}

/* ------------------------------------------------------------------ */
/* Server-side only: a banner, then the server's TLS                   */

/* After a cleartext preamble the TLS must follow: what does not look like
 * it is this protocol going on without TLS, not "maybe TLS later". */
static enum tls_match tls_after_text(enum tls_match m)
{
	return m == TLS_MATCH_YES || m == TLS_MATCH_MORE ? m : TLS_MATCH_NOT_TLS;
}

/*
 * Server-first protocols whose banner may precede STARTTLS or SSL.  With
 * no client bytes at all (a capture of the server's side only), text ending
 * in a complete line followed by a ServerHello is TLS after a preamble.
 */
static enum tls_match server_banner_match(struct tls_held *h)
{
	struct reader s = h->s, rest;
	size_t sn = rd_left(&s), tlen;
	uint8_t last, b3;

	if (rd_left(&h->c))
		return TLS_MATCH_NO;
	if (sn == 0 || tls_sig_server(s) == TLS_MATCH_MORE)
		return TLS_MATCH_MORE;
	if (pre_mysql_greeting(s))
		return TLS_MATCH_MORE;          /* its client speaks next */
	if (sn < 4 || (sn == 4 && rd_peek_u8(&s, 3, &b3) && b3 == 0))
		return TLS_MATCH_MORE;          /* may still be that greeting */
	if (pre_may_be(s, "SSH-") || pre_may_be(s, "HTTP/"))
		return TLS_MATCH_NOT_TLS;
	tlen = tls_text_len(s);
	if (tlen == sn)
		return TLS_MATCH_MORE;
	if (tlen == 0 || !rd_peek_u8(&s, tlen - 1, &last) || last != '\n')
		return TLS_MATCH_NOT_TLS;
	rest = s;
	rd_skip(&rest, tlen);
	return tls_after_text(tls_sig_server(rest));
}

static void server_banner_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = 0;
	from[TLS_FROM_SERVER] = (uint32_t)tls_text_len(h->s);
}

/* ------------------------------------------------------------------ */
/* PostgreSQL SSLRequest                                               */

/* Int32 length 8, Int32 80877103; the server answers 'S' (TLS follows)
 * or 'N' (no TLS) in one byte. */
static const uint8_t pgsql_ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

static enum tls_match pgsql_match(struct tls_held *h)
{
	uint8_t answer;

	if (!rd_left(&h->c) || !pre_may_be_bytes(h->c, pgsql_ssl_request, 8))
		return TLS_MATCH_NO;
	if (rd_left(&h->c) < 8 || !rd_peek_u8(&h->s, 0, &answer))
		return TLS_MATCH_MORE;
	return answer == 'S' ? TLS_MATCH_YES : TLS_MATCH_NOT_TLS;
}

static void pgsql_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = 8;
	from[TLS_FROM_SERVER] = 1;
}

/* ------------------------------------------------------------------ */
/* MySQL SSL request                                                   */

/* The server's greeting (protocol 10), then the client's first packet
 * (sequence 1) with CLIENT_SSL set in its capability flags is the SSL
 * request; TLS follows both packets.  Lengths are 3 bytes little-endian. */
#define MYSQL_CLIENT_SSL 0x0800

static enum tls_match mysql_match(struct tls_held *h)
{
	struct reader c = h->c;
	uint32_t len, caps;
	uint8_t seq;

	if (!pre_mysql_greeting(h->s))
		return TLS_MATCH_NO;
	if (!rd_le(&c, 3, &len) || !rd_u8(&c, &seq) || !rd_le(&c, 4, &caps))
		return TLS_MATCH_MORE;
	if (seq != 1 || !(caps & MYSQL_CLIENT_SSL))
		return TLS_MATCH_NOT_TLS;
	return TLS_MATCH_YES;
}

static void mysql_skip(const struct tls_held *h, uint32_t from[2])
{
	struct reader c = h->c, s = h->s;
	uint32_t clen = 0, glen = 0;

	rd_le(&c, 3, &clen);
	rd_le(&s, 3, &glen);
	from[TLS_FROM_CLIENT] = 4 + clen;
	from[TLS_FROM_SERVER] = 4 + glen;
}

/* ------------------------------------------------------------------ */
/* SOCKS4 and SOCKS4a                                                  */

/*
 * VN=4 CD=1|2 DSTPORT DSTIP USERID NUL, and for 4a (DSTIP 0.0.0.x, x != 0)
 * HOST NUL; the reply is 8 bytes, VN=0 CD=0x5a when granted.  YES from
 * socks4_request(): the request is whole, ending at *end.
 */
static enum tls_match socks4_request(struct reader c, bool *is_4a, uint32_t *end)
{
	struct reader all = c, ip;
	uint8_t vn, cd, b;
	size_t at;

	if (!rd_u8(&c, &vn) || vn != 4)
		return TLS_MATCH_NO;
	if (!rd_u8(&c, &cd))
		return TLS_MATCH_MORE;
	if (cd != 1 && cd != 2)
		return TLS_MATCH_NO;
	if (!rd_skip(&c, 2) || !rd_sub(&c, 4, &ip) || !rd_find(&c, 0, &at))
		return TLS_MATCH_MORE;
	rd_skip(&c, at + 1);
	*is_4a = rd_starts_with(&ip, "\0\0\0", 3) && rd_peek_u8(&ip, 3, &b) && b != 0;
	if (*is_4a) {
		if (!rd_find(&c, 0, &at))
			return TLS_MATCH_MORE;
		rd_skip(&c, at + 1);
	}
	*end = pre_off(&all, &c);
	return TLS_MATCH_YES;
}

static enum tls_match socks4_reply(const struct tls_held *h)
{
	struct reader s = h->s;
	uint8_t vn, cd;

	if (!rd_u8(&s, &vn) || !rd_u8(&s, &cd))
		return TLS_MATCH_MORE;
	return vn == 0 && cd == 0x5a ? TLS_MATCH_YES : TLS_MATCH_NOT_TLS;
}

static enum tls_match socks4a_match(struct tls_held *h)
{
	enum tls_match m;
	bool is_4a;
	uint32_t end;

	if ((m = socks4_request(h->c, &is_4a, &end)) != TLS_MATCH_YES)
		return m;
	return is_4a ? socks4_reply(h) : TLS_MATCH_NO;
}

static enum tls_match socks4_match(struct tls_held *h)
{
	enum tls_match m;
	bool is_4a;
	uint32_t end;

	if ((m = socks4_request(h->c, &is_4a, &end)) != TLS_MATCH_YES)
		return m;
	return is_4a ? TLS_MATCH_NO : socks4_reply(h);
}

static void socks4_skip(const struct tls_held *h, uint32_t from[2])
{
	bool is_4a;

	socks4_request(h->c, &is_4a, &from[TLS_FROM_CLIENT]);
	from[TLS_FROM_SERVER] = 8;
}

/* ------------------------------------------------------------------ */
/* SOCKS5                                                              */

/* VER=5 NMETHODS METHODS; the server picks a method (0xff: none
 * acceptable).  Authentication and the CONNECT exchange follow and are
 * left to the scan for the first record. */
static enum tls_match socks5_match(struct tls_held *h)
{
	struct reader c = h->c, s = h->s;
	uint8_t ver, n_methods, method;

	if (!rd_u8(&c, &ver) || ver != 5)
		return TLS_MATCH_NO;
	if (!rd_u8(&c, &n_methods) || !rd_skip(&c, n_methods))
		return TLS_MATCH_MORE;
	if (n_methods == 0)
		return TLS_MATCH_NOT_TLS;
	if (!rd_u8(&s, &ver) || !rd_u8(&s, &method))
		return TLS_MATCH_MORE;
	return ver == 5 && method != 0xff ? TLS_MATCH_YES : TLS_MATCH_NOT_TLS;
}

static void socks5_skip(const struct tls_held *h, uint32_t from[2])
{
	uint8_t n_methods = 0;

	rd_peek_u8(&h->c, 1, &n_methods);
	from[TLS_FROM_CLIENT] = 2u + n_methods;
	from[TLS_FROM_SERVER] = 2;
}

/* ------------------------------------------------------------------ */
/* LDAP StartTLS                                                       */

/* An LDAPMessage SEQUENCE (0x30) whose ExtendedRequest names
 * 1.3.6.1.4.1.1466.20037 (RFC 4511 4.14); the server's response is left to
 * the scan for its first record. */
static const char ldap_starttls_oid[] = "1.3.6.1.4.1.1466.20037";

static enum tls_match ldap_match(struct tls_held *h)
{
	struct tls_preamble_state *st = h->st;
	uint8_t tag;
	size_t at;

	if (!rd_peek_u8(&h->c, 0, &tag) || tag != 0x30)
		return TLS_MATCH_NO;
	if (st->cmd != TLS_CMD_LDAP) {
		if (!pre_find(h->c, ldap_starttls_oid, &at))
			return TLS_MATCH_MORE;
		st->cmd = TLS_CMD_LDAP;
		st->cmd_end = (uint32_t)(at + strlen(ldap_starttls_oid));
		st->srv_mark = (uint32_t)rd_left(&h->s);
	}
	return rd_left(&h->s) > st->srv_mark ? TLS_MATCH_YES : TLS_MATCH_MORE;
}

static void command_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = h->st->cmd_end;
	from[TLS_FROM_SERVER] = h->st->srv_mark;
}

/* ------------------------------------------------------------------ */
/* Text in clear that never turns to TLS                               */

/* HTTP requests and SSH: a client that starts so is not doing TLS. */
static enum tls_match plain_request_match(struct tls_held *h)
{
	static const char *const plain[] = {
		"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "TRACE ",
		"SSH-",
	};
	struct reader text = pre_client_text(h);

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (pre_has_prefix(text, plain[i]))
			return TLS_MATCH_NOT_TLS;
	return TLS_MATCH_NO;
}

/* ------------------------------------------------------------------ */
/* HTTP CONNECT                                                        */

/* TLS after the request's headers and after those of a 2xx answer. */
static enum tls_match connect_request(const struct tls_held *h, uint32_t *cfrom)
{
	struct reader text = pre_client_text(h);
	size_t at;

	if (!h->c_text || !pre_may_be(text, "CONNECT "))
		return TLS_MATCH_NO;
	if (!pre_find(text, "\r\n\r\n", &at))
		return h->c_text < rd_left(&h->c) ? TLS_MATCH_NOT_TLS : TLS_MATCH_MORE;
	*cfrom = (uint32_t)at + 4;
	return TLS_MATCH_YES;
}

/* "HTTP/1.x 2.." then the end of the answer's headers. */
static enum tls_match connect_answer(const struct tls_held *h, uint32_t *sfrom)
{
	struct reader s = h->s, line, from_line;
	size_t at;
	uint8_t sp, digit;

	while (from_line = s, pre_next_line(&s, &line)) {
		if (rd_left(&line) >= 12 && pre_has_prefix(line, "HTTP/1.") &&
		    rd_peek_u8(&line, 8, &sp) && sp == ' ' && rd_peek_u8(&line, 9, &digit) &&
		    digit == '2') {
			if (!pre_find(from_line, "\r\n\r\n", &at))
				return TLS_MATCH_MORE;
			*sfrom = pre_off(&h->s, &from_line) + (uint32_t)at + 4;
			return TLS_MATCH_YES;
		}
	}
	return TLS_MATCH_MORE;
}

static enum tls_match connect_match(struct tls_held *h)
{
	enum tls_match m;
	uint32_t cfrom, sfrom;

	if ((m = connect_request(h, &cfrom)) != TLS_MATCH_YES)
		return m;
	return connect_answer(h, &sfrom);
}

static void connect_skip(const struct tls_held *h, uint32_t from[2])
{
	connect_request(h, &from[TLS_FROM_CLIENT]);
	connect_answer(h, &from[TLS_FROM_SERVER]);
}

/* ------------------------------------------------------------------ */
/* STARTTLS and friends: the client's command, then the server's yes   */

/* What the scan of the client's lines found, beyond a command. */
enum {
	PRE_CMD_UNSCANNED = TLS_PRE_UNSCANNED,
	PRE_CMD_CLEAR = -2,             /* SMTP went on in clear */
	PRE_CMD_XMPP_CUT = -3,          /* "<starttls" unclosed, binary follows */
	PRE_CMD_XMPP_WAIT = -4,         /* "<starttls" unclosed, text so far */
};

/* The client line that asks for TLS, if this is one. */
static enum tls_cmd pre_text_command(struct reader line, struct tls_preamble_state *st,
				     const struct reader *all)
{
	struct reader rest = line, tag = { NULL, 0 };
	size_t at;

	if (pre_line_is(line, "STARTTLS"))
		return TLS_CMD_STARTTLS;
	if (pre_line_is(line, "STLS"))
		return TLS_CMD_POP3;
	if (pre_line_is(line, "AUTH TLS") || pre_line_is(line, "AUTH SSL") ||
	    pre_line_is(line, "AUTH TLS-C") || pre_line_is(line, "AUTH TLS-P"))
		return TLS_CMD_FTP;
	/* IMAP: "<tag> STARTTLS", the tag 1 to 31 bytes. */
	if (rd_find(&rest, ' ', &at) && at > 0 && at < 32) {
		rd_sub(&rest, at, &tag);
		rd_skip(&rest, 1);
		if (pre_line_is(rest, "STARTTLS")) {
			st->tag_off = pre_off(all, &tag);
			st->tag_len = (uint32_t)at;
			return TLS_CMD_IMAP;
		}
	}
	return TLS_CMD_NONE;
}

/*
 * The client's command, found once and remembered with where it ends and
 * how much the server had said by then; a negative PRE_CMD_ value when the
 * lines say something else.  Scanned at most once per walk.
 */
static int pre_command(struct tls_held *h)
{
	struct tls_preamble_state *st = h->st;
	struct reader text, line;
	size_t at;
	uint8_t b;

	if (h->cmd_scan != PRE_CMD_UNSCANNED)
		return h->cmd_scan;
	if (st->cmd != TLS_CMD_NONE || !h->c_text)
		return h->cmd_scan = (int)st->cmd;
	text = pre_client_text(h);
	while (pre_next_line(&text, &line)) {
		enum tls_cmd cmd = pre_text_command(line, st, &h->c);

		if (pre_has_prefix(line, "MAIL FROM:") || pre_line_is(line, "DATA"))
			return h->cmd_scan = PRE_CMD_CLEAR;
		if (cmd != TLS_CMD_NONE) {
			st->cmd = cmd;
			st->cmd_end = pre_off(&h->c, &text);
			st->srv_mark = (uint32_t)rd_left(&h->s);
			return h->cmd_scan = (int)cmd;
		}
	}
	text = pre_client_text(h);
	if (pre_find(text, "<starttls", &at)) {
		rd_skip(&text, at);
		if (!rd_find(&text, '>', &at))
			return h->cmd_scan = h->c_text < rd_left(&h->c) ? PRE_CMD_XMPP_CUT
								    : PRE_CMD_XMPP_WAIT;
		rd_skip(&text, at);
		rd_u8(&text, &b);
		st->cmd = TLS_CMD_XMPP;
		st->cmd_end = pre_off(&h->c, &text);
		st->srv_mark = (uint32_t)rd_left(&h->s);
	}
	return h->cmd_scan = (int)st->cmd;
}

/* The server's bytes after srv_mark, where its answer is. */
static bool pre_answer_bytes(const struct tls_held *h, struct reader *s)
{
	*s = h->s;
	return rd_left(s) > h->st->srv_mark && rd_skip(s, h->st->srv_mark);
}

/* The first complete line of the answer that `is_yes` accepts: *sfrom just
 * past it.  Returns is_yes's nonzero answer, or 0. */
static int pre_answer_line(const struct tls_held *h, int (*is_yes)(const struct tls_held *,
								  struct reader),
			   uint32_t *sfrom)
{
	struct reader s, line;
	int yes;

	if (!pre_answer_bytes(h, &s))
		return 0;
	while (pre_next_line(&s, &line)) {
		if ((yes = is_yes(h, line))) {
			*sfrom = pre_off(&h->s, &s);
			return yes;
		}
	}
	return 0;
}

/* SMTP (RFC 3207) answers STARTTLS with 220; IRC (IRCv3 tls) with
 * RPL_STARTTLS 670, after an optional ":prefix ".  Both clients say
 * "STARTTLS": the first answering line tells them apart. */
enum { STARTTLS_SMTP = 1, STARTTLS_IRC = 2 };

static int starttls_answer(const struct tls_held *h, struct reader line)
{
	size_t at;

	if (pre_has_prefix(line, "220 ") || pre_line_is(line, "220"))
		return STARTTLS_SMTP;
	if (pre_has_prefix(line, "670 "))
		return STARTTLS_IRC;
	if (rd_starts_with(&line, ":", 1) && rd_find(&line, ' ', &at)) {
		rd_skip(&line, at + 1);
		if (pre_has_prefix(line, "670 "))
			return STARTTLS_IRC;
	}
	return 0;
}

static enum tls_match smtp_match(struct tls_held *h)
{
	uint32_t sfrom;
	int cmd = pre_command(h);

	if (cmd == PRE_CMD_CLEAR)
		return TLS_MATCH_NOT_TLS;
	if (cmd != TLS_CMD_STARTTLS)
		return TLS_MATCH_NO;
	switch (pre_answer_line(h, starttls_answer, &sfrom)) {
	case STARTTLS_SMTP:
		return TLS_MATCH_YES;
	case STARTTLS_IRC:
		return TLS_MATCH_NO;
	}
	return TLS_MATCH_MORE;
}

static enum tls_match irc_match(struct tls_held *h)
{
	uint32_t sfrom;

	if (pre_command(h) != TLS_CMD_STARTTLS)
		return TLS_MATCH_NO;
	return pre_answer_line(h, starttls_answer, &sfrom) == STARTTLS_IRC ? TLS_MATCH_YES
									 : TLS_MATCH_MORE;
}

static void starttls_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = h->st->cmd_end;
	pre_answer_line(h, starttls_answer, &from[TLS_FROM_SERVER]);
}

/* IMAP (RFC 3501 6.2.1): "<tag> OK" to "<tag> STARTTLS". */
static int imap_answer(const struct tls_held *h, struct reader line)
{
	struct reader c = h->c, tag = { NULL, 0 };
	uint8_t sp;

	if (!rd_skip(&c, h->st->tag_off) || !rd_sub(&c, h->st->tag_len, &tag))
		return 0;
	if (rd_left(&line) <= (size_t)h->st->tag_len + 3 ||
	    !rd_starts_with(&line, rd_ptr(&tag), rd_left(&tag)))
		return 0;
	rd_skip(&line, rd_left(&tag));
	return rd_u8(&line, &sp) && sp == ' ' && pre_has_prefix(line, "OK");
}

/* POP3 (RFC 2595 4): "+OK" to "STLS". */
static int pop3_answer(const struct tls_held *h, struct reader line)
{
	return pre_has_prefix(line, "+OK");
}

/* FTP (RFC 4217 4): 234 to "AUTH TLS". */
static int ftp_answer(const struct tls_held *h, struct reader line)
{
	return pre_has_prefix(line, "234");
}

/* A command entry: the client's command is `want`, then a line `is_yes`
 * accepts. */
static enum tls_match pre_command_match(struct tls_held *h, enum tls_cmd want,
					int (*is_yes)(const struct tls_held *, struct reader))
{
	uint32_t sfrom;

	if (pre_command(h) != (int)want)
		return TLS_MATCH_NO;
	return pre_answer_line(h, is_yes, &sfrom) ? TLS_MATCH_YES : TLS_MATCH_MORE;
}

static enum tls_match imap_match(struct tls_held *h)
{
	return pre_command_match(h, TLS_CMD_IMAP, imap_answer);
}

static void imap_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = h->st->cmd_end;
	pre_answer_line(h, imap_answer, &from[TLS_FROM_SERVER]);
}

static enum tls_match pop3_match(struct tls_held *h)
{
	return pre_command_match(h, TLS_CMD_POP3, pop3_answer);
}

static void pop3_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = h->st->cmd_end;
	pre_answer_line(h, pop3_answer, &from[TLS_FROM_SERVER]);
}

static enum tls_match ftp_match(struct tls_held *h)
{
	return pre_command_match(h, TLS_CMD_FTP, ftp_answer);
}

static void ftp_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = h->st->cmd_end;
	pre_answer_line(h, ftp_answer, &from[TLS_FROM_SERVER]);
}

/* XMPP (RFC 6120 5.4.2): <starttls xmlns=...> answered by <proceed .../>;
 * the server's TLS starts after the tag's '>'. */
static bool xmpp_proceed(const struct tls_held *h, uint32_t *sfrom)
{
	struct reader s;
	size_t at;

	if (!pre_answer_bytes(h, &s) || !pre_find(s, "<proceed", &at))
		return false;
	rd_skip(&s, at);
	if (!rd_find(&s, '>', &at))
		return false;
	rd_skip(&s, at + 1);
	*sfrom = pre_off(&h->s, &s);
	return true;
}

static enum tls_match xmpp_match(struct tls_held *h)
{
	uint32_t sfrom;

	switch (pre_command(h)) {
	case TLS_CMD_XMPP:
		return xmpp_proceed(h, &sfrom) ? TLS_MATCH_YES : TLS_MATCH_MORE;
	case PRE_CMD_XMPP_WAIT:
		return TLS_MATCH_MORE;
	case PRE_CMD_XMPP_CUT:
		return TLS_MATCH_NOT_TLS;
	}
	return TLS_MATCH_NO;
}

static void xmpp_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = h->st->cmd_end;
	xmpp_proceed(h, &from[TLS_FROM_SERVER]);
}

/* ------------------------------------------------------------------ */
/* Any other text, then a ClientHello                                  */

/*
 * Other line protocols that switch to TLS without a command we know
 * (NoMachine's "NXSH-" banner exchange, Gnutella's TLS upgrade, ...): the
 * client's text ends at a complete line and a ClientHello follows at once.
 * The server's text before it is scanned past like any preamble.
 */
static enum tls_match cleartext_match(struct tls_held *h)
{
	struct reader rest = h->c;
	uint8_t last;

	if (!h->c_text || pre_command(h) != TLS_CMD_NONE)
		return TLS_MATCH_NO;
	if (h->c_text == rd_left(&h->c))
		return TLS_MATCH_MORE;
	if (!rd_peek_u8(&h->c, h->c_text - 1, &last) || last != '\n')
		return TLS_MATCH_NOT_TLS;
	rd_skip(&rest, h->c_text);
	return tls_after_text(tls_sig_client(rest));
}

static void cleartext_skip(const struct tls_held *h, uint32_t from[2])
{
	from[TLS_FROM_CLIENT] = (uint32_t)h->c_text;
	from[TLS_FROM_SERVER] = 0;
}

/* ------------------------------------------------------------------ */
/* The table, in the order the entries are asked                       */

const struct tls_recogniser tls_recognisers[] = {
	{ "cleartext preamble", server_banner_match, server_banner_skip, TLS_CARRIER_NONE },
	{ "PostgreSQL SSLRequest", pgsql_match, pgsql_skip, TLS_CARRIER_NONE },
	{ "MySQL SSL", mysql_match, mysql_skip, TLS_CARRIER_NONE },
	{ "SOCKS4a", socks4a_match, socks4_skip, TLS_CARRIER_NONE },
	{ "SOCKS4", socks4_match, socks4_skip, TLS_CARRIER_NONE },
	{ "SOCKS5", socks5_match, socks5_skip, TLS_CARRIER_NONE },
	{ "RDP", tls_rdp_match, tls_rdp_skip, TLS_CARRIER_NONE },   /* tls_rdp.c */
	/* Not a preamble: the records ride in OpenVPN packets (tls_ovpn.c). */
	{ "OpenVPN", tls_ovpn_match, tls_ovpn_skip, TLS_CARRIER_OPENVPN },
	{ "LDAP StartTLS", ldap_match, command_skip, TLS_CARRIER_NONE },
	/* The text protocols: binary was claimed above or is refused. */
	{ "HTTP or SSH in clear", plain_request_match, NULL, TLS_CARRIER_NONE },
	{ "HTTP CONNECT", connect_match, connect_skip, TLS_CARRIER_NONE },
	{ "SMTP STARTTLS", smtp_match, starttls_skip, TLS_CARRIER_NONE },
	{ "IRC STARTTLS", irc_match, starttls_skip, TLS_CARRIER_NONE },
	{ "IMAP STARTTLS", imap_match, imap_skip, TLS_CARRIER_NONE },
	{ "POP3 STLS", pop3_match, pop3_skip, TLS_CARRIER_NONE },
	{ "FTP AUTH TLS", ftp_match, ftp_skip, TLS_CARRIER_NONE },
	{ "XMPP STARTTLS", xmpp_match, xmpp_skip, TLS_CARRIER_NONE },
	{ "cleartext preamble", cleartext_match, cleartext_skip, TLS_CARRIER_NONE },
};

const size_t tls_n_recognisers = sizeof(tls_recognisers) / sizeof(tls_recognisers[0]);
