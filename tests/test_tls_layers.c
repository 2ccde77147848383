/*
 * test_tls_layers.c — the TLS dissector's inner layers, through its private
 * header (dissect/tls_int.h), on input built in memory:
 *
 *  - every entry of the recogniser table: its protocol matched (and where
 *    its skip() puts each direction's TLS), refused (another protocol: NO;
 *    its own protocol going on in clear: NOT_TLS), and waiting for more;
 *  - the walk over the table as tls_feed() runs it: order decides;
 *  - the framing helper tls_take(): in place, in pieces, back to back;
 *  - the one extension walk: wanted bodies, the recorded type list past its
 *    inline part, overruns; and JA3 built from that record.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "dissect/tls_int.h"

/* ------------------------------------------------------------------ */
/* Recognisers                                                         */

/* The first bytes of a ClientHello record (what tls_sig_client wants). */
static const uint8_t hello_sig[11] = {
	0x16, 0x03, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00, 0x7c, 0x03, 0x03,
};
/* And of a ServerHello record. */
static const uint8_t server_hello_sig[11] = {
	0x16, 0x03, 0x03, 0x00, 0x50, 0x02, 0x00, 0x00, 0x4c, 0x03, 0x03,
};

static const struct tls_recogniser *entry(const char *name, unsigned nth)
{
	for (size_t i = 0; i < tls_n_recognisers; i++)
		if (!strcmp(tls_recognisers[i].name, name) && nth-- == 0)
			return &tls_recognisers[i];
	cr_assert_fail("no recogniser named %s", name);
	return NULL;
}

/* One flow's held bytes, built up feed by feed as the dissector holds them. */
struct flow_bytes {
	uint8_t c[4096], s[4096];
	size_t cn, sn;
	struct tls_preamble_state st;
};

static void fb_add(struct flow_bytes *f, int dir, const void *p, size_t n)
{
	if (dir == TLS_FROM_CLIENT) {
		memcpy(f->c + f->cn, p, n);
		f->cn += n;
	} else {
		memcpy(f->s + f->sn, p, n);
		f->sn += n;
	}
}

static void fb_str(struct flow_bytes *f, int dir, const char *s)
{
	fb_add(f, dir, s, strlen(s));
}

/* Asks one entry about the bytes so far, as one step of the walk does. */
static enum tls_match ask(const struct tls_recogniser *r, struct flow_bytes *f, uint32_t from[2])
{
	struct tls_held h;
	enum tls_match m;

	rd_init(&h.c, f->c, f->cn);
	rd_init(&h.s, f->s, f->sn);
	h.c_text = tls_text_len(h.c);
	h.st = &f->st;
	h.cmd_scan = TLS_PRE_UNSCANNED;
	m = r->match(&h);
	if (m == TLS_MATCH_YES && from) {
		cr_assert_not_null(r->skip, "%s said YES without a skip", r->name);
		from[0] = from[1] = 0xffffffff;
		r->skip(&h, from);
	}
	return m;
}

static void expect(const char *name, unsigned nth, struct flow_bytes *f, enum tls_match want)
{
	uint32_t from[2];
	enum tls_match m = ask(entry(name, nth), f, from);

	cr_assert_eq(m, want, "%s: answered %d, expected %d", name, m, want);
}

static void expect_yes(const char *name, unsigned nth, struct flow_bytes *f, uint32_t cfrom,
		       uint32_t sfrom)
{
	uint32_t from[2];
	enum tls_match m = ask(entry(name, nth), f, from);

	cr_assert_eq(m, TLS_MATCH_YES, "%s: answered %d", name, m);
	cr_assert_eq(from[TLS_FROM_CLIENT], cfrom, "%s: client TLS at %u, expected %u", name,
		     from[TLS_FROM_CLIENT], cfrom);
	cr_assert_eq(from[TLS_FROM_SERVER], sfrom, "%s: server TLS at %u, expected %u", name,
		     from[TLS_FROM_SERVER], sfrom);
}

TestSuite(tls_recogniser);

Test(tls_recogniser, table_names_are_the_documented_preambles)
{
	/* tls.h lists these as the values of tls_session.preamble. */
	static const char *const documented[] = {
		"SMTP STARTTLS", "IMAP STARTTLS", "POP3 STLS", "FTP AUTH TLS", "IRC STARTTLS",
		"XMPP STARTTLS", "LDAP StartTLS", "PostgreSQL SSLRequest", "MySQL SSL",
		"HTTP CONNECT", "SOCKS4", "SOCKS4a", "SOCKS5", "cleartext preamble",
	};

	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
		cr_assert_not_null(entry(documented[i], 0));
	for (size_t i = 0; i < tls_n_recognisers; i++)
		cr_assert(tls_recognisers[i].skip || !strcmp(tls_recognisers[i].name,
							      "HTTP or SSH in clear"),
			  "%s can say YES, so it has a skip", tls_recognisers[i].name);
}

Test(tls_recogniser, server_banner_only_with_no_client_bytes)
{
	struct flow_bytes f = { .cn = 0 };

	expect("cleartext preamble", 0, &f, TLS_MATCH_MORE);        /* nothing yet */
	fb_str(&f, TLS_FROM_SERVER, "220 mail.example.com ESMTP\r\n");
	expect("cleartext preamble", 0, &f, TLS_MATCH_MORE);        /* text so far */
	fb_add(&f, TLS_FROM_SERVER, server_hello_sig, 5);
	expect("cleartext preamble", 0, &f, TLS_MATCH_MORE);        /* record cut */
	fb_add(&f, TLS_FROM_SERVER, server_hello_sig + 5, 6);
	expect_yes("cleartext preamble", 0, &f, 0, 28);

	struct flow_bytes ssh = { .cn = 0 };
	fb_str(&ssh, TLS_FROM_SERVER, "SSH-2.0-OpenSSH_9.2\r\n");
	expect("cleartext preamble", 0, &ssh, TLS_MATCH_NOT_TLS);

	struct flow_bytes binary = { .cn = 0 };
	fb_str(&binary, TLS_FROM_SERVER, "banner\r\nxyz");
	fb_add(&binary, TLS_FROM_SERVER, "\x01\x02", 2);
	expect("cleartext preamble", 0, &binary, TLS_MATCH_NOT_TLS);

	/* A MySQL greeting waits for its client; four bytes may become one. */
	struct flow_bytes mysql = { .cn = 0 };
	fb_add(&mysql, TLS_FROM_SERVER, "\x20\x00\x00\x00", 4);
	expect("cleartext preamble", 0, &mysql, TLS_MATCH_MORE);
	fb_add(&mysql, TLS_FROM_SERVER, "\x0a" "8.0\x00", 5);
	expect("cleartext preamble", 0, &mysql, TLS_MATCH_MORE);

	/* Any client byte: not this entry's business. */
	struct flow_bytes client = { .cn = 0 };
	fb_str(&client, TLS_FROM_CLIENT, "x");
	expect("cleartext preamble", 0, &client, TLS_MATCH_NO);
}

Test(tls_recogniser, postgresql_sslrequest)
{
	static const uint8_t req[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	struct flow_bytes f = { .cn = 0 }, n = { .cn = 0 }, other = { .cn = 0 };

	fb_add(&f, TLS_FROM_CLIENT, req, 5);
	expect("PostgreSQL SSLRequest", 0, &f, TLS_MATCH_MORE);
	fb_add(&f, TLS_FROM_CLIENT, req + 5, 3);
	expect("PostgreSQL SSLRequest", 0, &f, TLS_MATCH_MORE);      /* no answer yet */
	fb_str(&f, TLS_FROM_SERVER, "S");
	expect_yes("PostgreSQL SSLRequest", 0, &f, 8, 1);

	fb_add(&n, TLS_FROM_CLIENT, req, 8);
	fb_str(&n, TLS_FROM_SERVER, "N");
	expect("PostgreSQL SSLRequest", 0, &n, TLS_MATCH_NOT_TLS);

	fb_add(&other, TLS_FROM_CLIENT, "\x00\x00\x00\x09", 4);     /* a StartupMessage */
	expect("PostgreSQL SSLRequest", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, mysql_ssl_request)
{
	/* Greeting: 3-byte length 10, sequence 0, protocol 10. */
	static const uint8_t greeting[14] = { 10, 0, 0, 0, 0x0a, '8', '.', '0', 0, 1, 2, 3, 4, 5 };
	static const uint8_t ssl[8] = { 32, 0, 0, 1, 0x0d, 0x0a, 0x0f, 0x00 };   /* CLIENT_SSL */
	static const uint8_t login[8] = { 32, 0, 0, 1, 0x0d, 0x02, 0x0f, 0x00 };  /* no SSL */
	struct flow_bytes f = { .cn = 0 }, clear = { .cn = 0 }, none = { .cn = 0 };

	fb_add(&f, TLS_FROM_SERVER, greeting, sizeof(greeting));
	expect("MySQL SSL", 0, &f, TLS_MATCH_MORE);
	fb_add(&f, TLS_FROM_CLIENT, ssl, 7);
	expect("MySQL SSL", 0, &f, TLS_MATCH_MORE);
	fb_add(&f, TLS_FROM_CLIENT, ssl + 7, 1);
	expect_yes("MySQL SSL", 0, &f, 4 + 32, 4 + 10);

	fb_add(&clear, TLS_FROM_SERVER, greeting, sizeof(greeting));
	fb_add(&clear, TLS_FROM_CLIENT, login, sizeof(login));
	expect("MySQL SSL", 0, &clear, TLS_MATCH_NOT_TLS);

	fb_str(&none, TLS_FROM_SERVER, "220 hello\r\n");
	fb_add(&none, TLS_FROM_CLIENT, ssl, sizeof(ssl));
	expect("MySQL SSL", 0, &none, TLS_MATCH_NO);
}

Test(tls_recogniser, socks4_and_socks4a)
{
	static const uint8_t v4[] = { 4, 1, 0x01, 0xbb, 10, 0, 0, 1, 'b', 'o', 'b', 0 };
	static const uint8_t v4a[] = { 4, 1, 0x01, 0xbb, 0, 0, 0, 7, 0, 'h', '.', 'x', 0 };
	static const uint8_t granted[8] = { 0, 0x5a }, refused[8] = { 0, 0x5b };
	struct flow_bytes a = { .cn = 0 }, b = { .cn = 0 }, c = { .cn = 0 }, d = { .cn = 0 };

	fb_add(&a, TLS_FROM_CLIENT, v4, 1);
	expect("SOCKS4", 0, &a, TLS_MATCH_MORE);
	expect("SOCKS4a", 0, &a, TLS_MATCH_MORE);
	fb_add(&a, TLS_FROM_CLIENT, v4 + 1, sizeof(v4) - 2);        /* USERID unterminated */
	expect("SOCKS4", 0, &a, TLS_MATCH_MORE);
	fb_add(&a, TLS_FROM_CLIENT, v4 + sizeof(v4) - 1, 1);
	expect("SOCKS4a", 0, &a, TLS_MATCH_NO);                     /* a plain 4 request */
	expect("SOCKS4", 0, &a, TLS_MATCH_MORE);                    /* no reply yet */
	fb_add(&a, TLS_FROM_SERVER, granted, sizeof(granted));
	expect_yes("SOCKS4", 0, &a, sizeof(v4), 8);

	fb_add(&b, TLS_FROM_CLIENT, v4a, sizeof(v4a) - 1);          /* HOST unterminated */
	expect("SOCKS4a", 0, &b, TLS_MATCH_MORE);
	fb_add(&b, TLS_FROM_CLIENT, v4a + sizeof(v4a) - 1, 1);
	expect("SOCKS4", 0, &b, TLS_MATCH_NO);
	fb_add(&b, TLS_FROM_SERVER, granted, sizeof(granted));
	expect_yes("SOCKS4a", 0, &b, sizeof(v4a), 8);

	fb_add(&c, TLS_FROM_CLIENT, v4, sizeof(v4));
	fb_add(&c, TLS_FROM_SERVER, refused, sizeof(refused));
	expect("SOCKS4", 0, &c, TLS_MATCH_NOT_TLS);

	fb_add(&d, TLS_FROM_CLIENT, "\x04\x03", 2);                 /* no such command */
	expect("SOCKS4", 0, &d, TLS_MATCH_NO);
	expect("SOCKS4a", 0, &d, TLS_MATCH_NO);
}

Test(tls_recogniser, socks5)
{
	struct flow_bytes f = { .cn = 0 }, refused = { .cn = 0 }, none = { .cn = 0 }, other = { .cn = 0 };

	fb_add(&f, TLS_FROM_CLIENT, "\x05\x02\x00", 3);             /* 2 methods, 1 there */
	expect("SOCKS5", 0, &f, TLS_MATCH_MORE);
	fb_add(&f, TLS_FROM_CLIENT, "\x02", 1);
	expect("SOCKS5", 0, &f, TLS_MATCH_MORE);
	fb_add(&f, TLS_FROM_SERVER, "\x05\x00", 2);
	expect_yes("SOCKS5", 0, &f, 4, 2);

	fb_add(&refused, TLS_FROM_CLIENT, "\x05\x01\x00", 3);
	fb_add(&refused, TLS_FROM_SERVER, "\x05\xff", 2);
	expect("SOCKS5", 0, &refused, TLS_MATCH_NOT_TLS);

	fb_add(&none, TLS_FROM_CLIENT, "\x05\x00", 2);              /* no methods at all */
	expect("SOCKS5", 0, &none, TLS_MATCH_NOT_TLS);

	fb_add(&other, TLS_FROM_CLIENT, "\x06\x01\x00", 3);
	expect("SOCKS5", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, ldap_starttls_remembers_where_the_server_stood)
{
	static const char oid[] = "1.3.6.1.4.1.1466.20037";
	struct flow_bytes f = { .cn = 0 }, other = { .cn = 0 };

	fb_add(&f, TLS_FROM_CLIENT, "\x30\x1d\x02\x01\x01\x77\x18\x80\x16", 9);
	expect("LDAP StartTLS", 0, &f, TLS_MATCH_MORE);             /* OID not there yet */
	fb_str(&f, TLS_FROM_SERVER, "xx");                          /* said before the request */
	fb_add(&f, TLS_FROM_CLIENT, oid, sizeof(oid) - 1);
	expect("LDAP StartTLS", 0, &f, TLS_MATCH_MORE);             /* no response since */
	cr_assert_eq(f.st.cmd, TLS_CMD_LDAP);
	cr_assert_eq(f.st.srv_mark, 2);
	fb_add(&f, TLS_FROM_SERVER, "\x30\x0c", 2);
	expect_yes("LDAP StartTLS", 0, &f, 9 + 22, 2);

	fb_str(&other, TLS_FROM_CLIENT, "1.3.6");                   /* text, not a SEQUENCE */
	expect("LDAP StartTLS", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, plain_http_and_ssh_are_refused)
{
	struct flow_bytes get = { .cn = 0 }, ssh = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&get, TLS_FROM_CLIENT, "get /index.html HTTP/1.0\r\n");
	expect("HTTP or SSH in clear", 0, &get, TLS_MATCH_NOT_TLS);
	fb_str(&ssh, TLS_FROM_CLIENT, "SSH-2.0-x\r\n");
	expect("HTTP or SSH in clear", 0, &ssh, TLS_MATCH_NOT_TLS);
	fb_str(&other, TLS_FROM_CLIENT, "GE");                      /* may still be GET */
	expect("HTTP or SSH in clear", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, http_connect)
{
	static const char req[] = "CONNECT h.example:443 HTTP/1.1\r\nHost: h.example\r\n\r\n";
	static const char ok[] = "HTTP/1.1 200 Connection established\r\nVia: p\r\n\r\n";
	struct flow_bytes f = { .cn = 0 }, cut = { .cn = 0 }, no = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&f, TLS_FROM_CLIENT, "CONN");
	expect("HTTP CONNECT", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_CLIENT, req + 4);
	expect("HTTP CONNECT", 0, &f, TLS_MATCH_MORE);              /* no answer yet */
	fb_str(&f, TLS_FROM_SERVER, "HTTP/1.1 200 Connection established\r\n");
	expect("HTTP CONNECT", 0, &f, TLS_MATCH_MORE);              /* headers not ended */
	fb_str(&f, TLS_FROM_SERVER, ok + 37);
	expect_yes("HTTP CONNECT", 0, &f, sizeof(req) - 1, sizeof(ok) - 1);

	/* Binary before the request's headers end: no proxy request. */
	fb_str(&cut, TLS_FROM_CLIENT, "CONNECT h:443 HTTP/1.1\r\n");
	fb_add(&cut, TLS_FROM_CLIENT, hello_sig, sizeof(hello_sig));
	expect("HTTP CONNECT", 0, &cut, TLS_MATCH_NOT_TLS);

	/* A refusal is waited past (the window ends it). */
	fb_str(&no, TLS_FROM_CLIENT, req);
	fb_str(&no, TLS_FROM_SERVER, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
	expect("HTTP CONNECT", 0, &no, TLS_MATCH_MORE);

	fb_str(&other, TLS_FROM_CLIENT, "CAPA\r\n");
	expect("HTTP CONNECT", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, smtp_starttls)
{
	struct flow_bytes f = { .cn = 0 }, clear = { .cn = 0 }, no = { .cn = 0 };

	fb_str(&f, TLS_FROM_SERVER, "220 mx ESMTP\r\n");
	fb_str(&f, TLS_FROM_CLIENT, "EHLO me\r\n");
	expect("SMTP STARTTLS", 0, &f, TLS_MATCH_NO);               /* no command yet */
	fb_str(&f, TLS_FROM_SERVER, "250 STARTTLS\r\n");
	fb_str(&f, TLS_FROM_CLIENT, "STARTTLS\r\n");
	expect("SMTP STARTTLS", 0, &f, TLS_MATCH_MORE);
	cr_assert_eq(f.st.srv_mark, 28, "the answer is looked for after what was said");
	fb_str(&f, TLS_FROM_SERVER, "220 2.0.0 go ahead\r\n");
	expect_yes("SMTP STARTTLS", 0, &f, 19, 48);
	expect("IRC STARTTLS", 0, &f, TLS_MATCH_MORE);              /* 220 is not IRC's yes */

	fb_str(&clear, TLS_FROM_CLIENT, "HELO me\r\nMAIL FROM:<a@b>\r\n");
	expect("SMTP STARTTLS", 0, &clear, TLS_MATCH_NOT_TLS);

	fb_str(&no, TLS_FROM_CLIENT, "STARTTLS\r\n");
	fb_str(&no, TLS_FROM_SERVER, "454 TLS not available\r\n");
	expect("SMTP STARTTLS", 0, &no, TLS_MATCH_MORE);
}

Test(tls_recogniser, irc_starttls)
{
	struct flow_bytes f = { .cn = 0 }, bare = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&f, TLS_FROM_CLIENT, "CAP LS\r\nSTARTTLS\r\n");
	expect("IRC STARTTLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, ":irc.x CAP * LS :tls\r\n:irc.x 670 * :go\r\n");
	expect("SMTP STARTTLS", 0, &f, TLS_MATCH_NO);               /* 670 hands it to IRC */
	expect_yes("IRC STARTTLS", 0, &f, 18, 40);

	fb_str(&bare, TLS_FROM_CLIENT, "STARTTLS\r\n");
	expect("IRC STARTTLS", 0, &bare, TLS_MATCH_MORE);
	fb_str(&bare, TLS_FROM_SERVER, "670 * :go\r\n");
	expect_yes("IRC STARTTLS", 0, &bare, 10, 11);

	fb_str(&other, TLS_FROM_CLIENT, "STLS\r\n");
	expect("IRC STARTTLS", 0, &other, TLS_MATCH_NO);

	/* Said before the command was seen, a 670 is no answer to it. */
	struct flow_bytes early = { .cn = 0 };
	fb_str(&early, TLS_FROM_CLIENT, "STARTTLS\r\n");
	fb_str(&early, TLS_FROM_SERVER, "670 * :go\r\n");
	expect("IRC STARTTLS", 0, &early, TLS_MATCH_MORE);
}

Test(tls_recogniser, imap_starttls_answers_its_tag)
{
	struct flow_bytes f = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&f, TLS_FROM_SERVER, "* OK ready\r\n");
	fb_str(&f, TLS_FROM_CLIENT, "a1 CAPABILITY\r\na2 STARTTLS\r\n");
	expect("IMAP STARTTLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, "a1 OK done\r\n");              /* another tag */
	expect("IMAP STARTTLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, "a2 OK begin\r\n");
	expect_yes("IMAP STARTTLS", 0, &f, 28, 37);

	fb_str(&other, TLS_FROM_CLIENT, "STARTTLS\r\n");
	expect("IMAP STARTTLS", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, pop3_stls)
{
	struct flow_bytes f = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&f, TLS_FROM_SERVER, "+OK POP3\r\n");
	fb_str(&f, TLS_FROM_CLIENT, "STLS\r\n");
	expect("POP3 STLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, "-ERR later\r\n");
	expect("POP3 STLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, "+OK go\r\n");
	expect_yes("POP3 STLS", 0, &f, 6, 30);

	fb_str(&other, TLS_FROM_CLIENT, "AUTH TLS\r\n");
	expect("POP3 STLS", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, ftp_auth_tls)
{
	struct flow_bytes f = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&f, TLS_FROM_SERVER, "220 FTP\r\n");
	fb_str(&f, TLS_FROM_CLIENT, "auth ssl\r\n");
	expect("FTP AUTH TLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, "234 go\r\n");
	expect_yes("FTP AUTH TLS", 0, &f, 10, 17);

	fb_str(&other, TLS_FROM_CLIENT, "USER x\r\n");
	expect("FTP AUTH TLS", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, xmpp_starttls)
{
	static const char req[] = "<stream:stream><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
	static const char ok[] = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
	struct flow_bytes f = { .cn = 0 }, cut = { .cn = 0 }, other = { .cn = 0 };

	fb_str(&f, TLS_FROM_CLIENT, "<stream:stream><starttls xmlns");
	expect("XMPP STARTTLS", 0, &f, TLS_MATCH_MORE);             /* tag not closed */
	fb_str(&f, TLS_FROM_CLIENT, req + 30);
	expect("XMPP STARTTLS", 0, &f, TLS_MATCH_MORE);             /* no answer */
	fb_str(&f, TLS_FROM_SERVER, "<proceed xmlns");
	expect("XMPP STARTTLS", 0, &f, TLS_MATCH_MORE);
	fb_str(&f, TLS_FROM_SERVER, ok + 14);
	expect_yes("XMPP STARTTLS", 0, &f, sizeof(req) - 1, sizeof(ok) - 1);

	fb_str(&cut, TLS_FROM_CLIENT, "<starttls xmlns");
	fb_add(&cut, TLS_FROM_CLIENT, hello_sig, sizeof(hello_sig));
	expect("XMPP STARTTLS", 0, &cut, TLS_MATCH_NOT_TLS);

	fb_str(&other, TLS_FROM_CLIENT, "<stream:stream>");
	expect("XMPP STARTTLS", 0, &other, TLS_MATCH_NO);
}

Test(tls_recogniser, any_text_then_a_client_hello)
{
	struct flow_bytes f = { .cn = 0 }, partial = { .cn = 0 }, junk = { .cn = 0 },
		command = { .cn = 0 };

	fb_str(&f, TLS_FROM_CLIENT, "NXSH-8.10.1\n");
	fb_str(&f, TLS_FROM_SERVER, "NXD-8.10.1\n");
	expect("cleartext preamble", 1, &f, TLS_MATCH_MORE);        /* text so far */
	fb_add(&f, TLS_FROM_CLIENT, hello_sig, 6);
	expect("cleartext preamble", 1, &f, TLS_MATCH_MORE);        /* record cut */
	fb_add(&f, TLS_FROM_CLIENT, hello_sig + 6, 5);
	expect_yes("cleartext preamble", 1, &f, 12, 0);

	fb_str(&partial, TLS_FROM_CLIENT, "NXSH-8.10.1");           /* line not ended */
	fb_add(&partial, TLS_FROM_CLIENT, hello_sig, sizeof(hello_sig));
	expect("cleartext preamble", 1, &partial, TLS_MATCH_NOT_TLS);

	fb_str(&junk, TLS_FROM_CLIENT, "hello\r\n");
	fb_add(&junk, TLS_FROM_CLIENT, "\x01\x02\x03", 3);
	expect("cleartext preamble", 1, &junk, TLS_MATCH_NOT_TLS);

	fb_str(&command, TLS_FROM_CLIENT, "STLS\r\n");              /* POP3's to answer */
	fb_add(&command, TLS_FROM_CLIENT, hello_sig, sizeof(hello_sig));
	expect("cleartext preamble", 1, &command, TLS_MATCH_NO);
}

/* ------------------------------------------------------------------ */
/* The walk, through tls_feed()                                        */

TestSuite(tls_walk);

static struct tls_conn *walk(const char *cs, size_t cn, const char *ss, size_t sn,
			     enum tls_verdict *v)
{
	struct tls_conn *c = tls_conn_new();

	*v = TLS_CONTINUE;
	if (sn)
		*v = tls_feed(c, TLS_FROM_SERVER, (const uint8_t *)ss, sn, 1);
	if (cn && *v == TLS_CONTINUE)
		*v = tls_feed(c, TLS_FROM_CLIENT, (const uint8_t *)cs, cn, 2);
	return c;
}

Test(tls_walk, an_earlier_entry_claims_its_bytes_first)
{
	enum tls_verdict v;
	/* '0' is 0x30, LDAP's SEQUENCE tag: LDAP, earlier, waits for its OID
	 * instead of the text entries refusing the junk after the line. */
	struct tls_conn *c = walk("0 hello\n\x01\x02", 10, NULL, 0, &v);

	cr_assert_eq(v, TLS_CONTINUE);
	tls_conn_free(c);
	c = walk("1 hello\n\x01\x02", 10, NULL, 0, &v);
	cr_assert_eq(v, TLS_NOT_TLS, "the cleartext entry refuses it");
	tls_conn_free(c);
}

Test(tls_walk, yes_starts_the_scan_where_skip_says)
{
	enum tls_verdict v;
	uint8_t cbytes[64];
	size_t n = 0;
	struct tls_conn *c;

	/* PostgreSQL: client TLS at 8, server TLS at 1; the scan finds the
	 * hello right there. */
	memcpy(cbytes, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
	n = 8;
	memcpy(cbytes + n, hello_sig, sizeof(hello_sig));
	n += sizeof(hello_sig);
	c = walk((const char *)cbytes, n, "S", 1, &v);
	cr_assert_eq(v, TLS_CONTINUE);
	cr_assert(tls_is_tls(c));
	cr_assert_str_eq(tls_session(c)->preamble, "PostgreSQL SSLRequest");
	tls_conn_free(c);
}

Test(tls_walk, no_entry_claims_binary_so_it_is_not_tls)
{
	enum tls_verdict v;
	struct tls_conn *c = walk("\x07\x00\x01", 3, NULL, 0, &v);

	cr_assert_eq(v, TLS_NOT_TLS);
	cr_assert_null(tls_session(c)->preamble);
	tls_conn_free(c);
}

/* ------------------------------------------------------------------ */
/* The framing helper                                                  */

TestSuite(tls_take);

Test(tls_take, a_whole_unit_is_handed_out_in_place)
{
	static const uint8_t in_bytes[7] = { 1, 2, 3, 4, 5, 6, 7 };
	uint8_t store[5] = { 0 };
	uint32_t have = 0;
	struct reader in, unit;

	rd_init(&in, in_bytes, sizeof(in_bytes));
	cr_assert(tls_take_in_place(&in, 5, have));
	cr_assert_eq(tls_take(&in, 5, NULL, &have, &unit), 0);
	cr_assert_eq(rd_ptr(&unit), in_bytes, "no copy");
	cr_assert_eq(rd_left(&unit), 5);
	cr_assert_eq(rd_left(&in), 2);
	cr_assert_eq(have, 0);
	cr_assert_eq(store[0], 0);
}

Test(tls_take, a_cut_unit_says_how_many_bytes_it_still_needs)
{
	static const uint8_t hdr[5] = { 0x16, 0x03, 0x03, 0x01, 0x00 };
	uint8_t store[5];
	uint32_t have = 0;
	struct reader in, unit;

	rd_init(&in, hdr, 2);
	cr_assert(!tls_take_in_place(&in, 5, have));
	cr_assert_eq(tls_take(&in, 5, store, &have, &unit), 3);
	cr_assert_eq(rd_left(&in), 0, "all of the input was taken");
	cr_assert_eq(have, 2);
	rd_init(&in, hdr + 2, 0);
	cr_assert_eq(tls_take(&in, 5, store, &have, &unit), 3, "an empty piece changes nothing");
	rd_init(&in, hdr + 2, 1);
	cr_assert_eq(tls_take(&in, 5, store, &have, &unit), 2);
	rd_init(&in, hdr + 3, 2);
	cr_assert(!tls_take_in_place(&in, 5, have), "gathering goes on in the store");
	cr_assert_eq(tls_take(&in, 5, store, &have, &unit), 0);
	cr_assert_eq(have, 0);
	cr_assert_eq(rd_ptr(&unit), store);
	cr_assert(rd_mem_equal(&unit, hdr, 5));
}

Test(tls_take, the_end_of_one_unit_and_the_next_in_one_piece)
{
	static const uint8_t bytes[9] = { 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i' };
	uint8_t store[4];
	uint32_t have = 0;
	struct reader in, unit;

	rd_init(&in, bytes, 3);
	cr_assert_eq(tls_take(&in, 4, store, &have, &unit), 1);
	rd_init(&in, bytes + 3, 6);
	cr_assert_eq(tls_take(&in, 4, store, &have, &unit), 0);
	cr_assert(rd_mem_equal(&unit, "abcd", 4));
	cr_assert_eq(rd_left(&in), 5, "only the missing byte was taken");
	cr_assert_eq(tls_take(&in, 4, store, &have, &unit), 0);
	cr_assert_eq(rd_ptr(&unit), bytes + 4, "the next unit in place");
	cr_assert_eq(rd_left(&in), 1);
}

Test(tls_take, an_empty_unit_is_whole_at_once)
{
	struct reader in, unit;
	uint32_t have = 0;

	rd_init(&in, NULL, 0);
	cr_assert_eq(tls_take(&in, 0, NULL, &have, &unit), 0);
	cr_assert_eq(rd_left(&unit), 0);
}

Test(tls_take, buf_put_copies_through_the_reader_under_the_cap)
{
	struct buf b = BUF_INIT(4);
	struct reader r;

	rd_init(&r, "abcdef", 6);
	cr_assert(tls_buf_put(&b, &r, 3));
	cr_assert_eq(rd_left(&r), 3);
	cr_assert(!tls_buf_put(&b, &r, 2), "over the cap");
	cr_assert_eq(rd_left(&r), 3, "nothing consumed");
	cr_assert_str_eq(buf_str(&b), "abc");
	buf_free(&b);
	rd_init(&r, "ab", 2);
	cr_assert(!tls_buf_put(&b, &r, 3), "more than the reader holds");
	cr_assert_eq(rd_left(&r), 2);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The extension walk and JA3                                          */

TestSuite(tls_extensions);

Test(tls_extensions, one_walk_hands_out_wanted_bodies_and_records_every_type)
{
	/* type 0 (len 2 "ab"), type 0x0a0a (len 0), type 16 (len 1 "x"),
	 * type 0 again (len 1 "z"). */
	static const uint8_t block[] = {
		0x00, 0x00, 0x00, 0x02, 'a', 'b',
		0x0a, 0x0a, 0x00, 0x00,
		0x00, 0x10, 0x00, 0x01, 'x',
		0x00, 0x00, 0x00, 0x01, 'z',
	};
	struct tls_ext sni, alpn, versions;
	const struct tls_ext_want want[] = {
		{ TLS_EXT_SERVER_NAME, &sni }, { TLS_EXT_ALPN, &alpn },
		{ TLS_EXT_SUPPORTED_VERSIONS, &versions },
	};
	struct tls_ext_types types;
	struct reader r, first, rest;
	uint16_t t;

	tls_ext_types_init(&types);
	rd_init(&r, block, sizeof(block));
	cr_assert(tls_parse_extensions(r, want, 3, &types));
	cr_assert(sni.present);
	cr_assert(rd_mem_equal(&sni.body, "ab", 2), "the first of a repeated type");
	cr_assert(alpn.present);
	cr_assert(rd_mem_equal(&alpn.body, "x", 1));
	cr_assert(!versions.present);
	cr_assert_eq(types.n, 4);
	tls_ext_types_readers(&types, &first, &rest);
	cr_assert_eq(rd_left(&rest), 0);
	static const uint16_t order[] = { 0, 0x0a0a, 16, 0 };
	for (int i = 0; i < 4; i++) {
		cr_assert(rd_u16(&first, &t));
		cr_assert_eq(t, order[i]);
	}
	tls_ext_types_free(&types);

	/* An extension that overruns the block: the walk fails. */
	rd_init(&r, block, 5);
	cr_assert(!tls_parse_extensions(r, want, 3, NULL));
	rd_init(&r, block, 3);
	cr_assert(!tls_parse_extensions(r, want, 3, NULL));
}

static void md5_hex(const char *text, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD *m = EVP_MD_fetch(NULL, "MD5", NULL);

	cr_assert_eq(EVP_Digest(text, strlen(text), md, &len, m, NULL), 1);
	EVP_MD_free(m);
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

Test(tls_extensions, ja3_of_a_hello_with_more_types_than_the_inline_record)
{
	/* A ClientHello body with 100 empty extensions of types 1000..1099
	 * (and a GREASE one, left out of JA3): the record spills past its
	 * first TLS_EXT_TYPES_INLINE and JA3 still lists them all, in order. */
	static uint8_t body[2 + 32 + 1 + 4 + 2 + 2 + 4 * 101];
	static char text[8192];
	struct tls_conn *c = tls_conn_new();
	struct reader r;
	size_t n = 0, at;
	char want[33];

	body[n++] = 0x03, body[n++] = 0x03;
	n += 32;                                        /* random */
	body[n++] = 0;                                  /* session id */
	body[n++] = 0, body[n++] = 2, body[n++] = 0x00, body[n++] = 0x2f;
	body[n++] = 1, body[n++] = 0;                   /* compression */
	body[n++] = (uint8_t)((4 * 101) >> 8), body[n++] = (uint8_t)(4 * 101);
	body[n++] = 0x3a, body[n++] = 0x3a, body[n++] = 0, body[n++] = 0;
	for (unsigned i = 0; i < 100; i++) {
		body[n++] = (uint8_t)((1000 + i) >> 8);
		body[n++] = (uint8_t)(1000 + i);
		body[n++] = 0, body[n++] = 0;
	}
	cr_assert_eq(n, sizeof(body));
	at = (size_t)snprintf(text, sizeof(text), "771,47,");
	for (unsigned i = 0; i < 100; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%s%u", i ? "-" : "", 1000 + i);
	snprintf(text + at, sizeof(text) - at, ",,");
	md5_hex(text, want);

	rd_init(&r, body, n);
	tls_client_hello_msg(c, r);
	cr_assert(tls_session(c)->have_client_hello);
	cr_assert_str_eq(tls_session(c)->ja3, want, "JA3 text %s", text);
	tls_conn_free(c);
}

Test(tls_extensions, a_malformed_hello_changes_nothing_but_the_status)
{
	/* server_name with "lync.example.com", then an extension whose length
	 * runs past the block: nothing of the hello is kept. */
	static const uint8_t exts[] = {
		0x00, 0x00, 0x00, 0x15, 0x00, 0x13, 0x00, 0x00, 0x10,
		'l', 'y', 'n', 'c', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
		0x00, 0x10, 0x00, 0x09,
	};
	static uint8_t body[2 + 32 + 1 + 4 + 2 + 2 + sizeof(exts)];
	struct tls_conn *c = tls_conn_new();
	struct reader r;
	size_t n = 0;

	body[n++] = 0x03, body[n++] = 0x03;
	n += 32;
	body[n++] = 0;
	body[n++] = 0, body[n++] = 2, body[n++] = 0x00, body[n++] = 0x2f;
	body[n++] = 1, body[n++] = 0;
	body[n++] = 0, body[n++] = sizeof(exts);
	memcpy(body + n, exts, sizeof(exts));
	n += sizeof(exts);
	rd_init(&r, body, n);
	tls_client_hello_msg(c, r);
	cr_assert_eq(tls_session(c)->status, TLS_ST_MALFORMED);
	cr_assert_str_eq(tls_session(c)->reason,
			 "ClientHello: an extension overruns the extension block");
	cr_assert(!tls_session(c)->have_client_hello);
	cr_assert_str_eq(tls_session(c)->sni, "");
	cr_assert_str_eq(tls_session(c)->ja3, "");
	tls_conn_free(c);
}
