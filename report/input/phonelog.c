/*
 * phonelog.c — --phone-log: what a Lync Phone Edition device wrote down,
 * joined with what the wire showed.
 *
 * The input is a CELog exported to text, one UCD_LOG line per record:
 *
 *   0:01:43.840.224 : Raw data 206 (char), UCD_LOG_ERROR: 10/19/2012|14:50:27
 *   Aries: 10/19/2012|14:50:27.850 4EC0006:5250012 ERROR :: WebServices::
 *   CSoapTransport::ExecuteSoapOperation: Insecure server. errorCode=12045,
 *   status=014C0220, hr=80f10043
 *
 * Two things are taken from it.  The Exchange Web Services endpoints the
 * phone learned by Autodiscover ("InternalEwsUrl is https://...") make the
 * servers with those names `exchange` (roles.c reads them).  The
 * errors -- a line with a WinINet "errorCode=", or a failing "hr=" -- become
 * phone errors; the lines right after one that carry the same hr add to it
 * (the url usually comes two lines later, from WebRequestImpl), so one
 * failure that the phone logs four times is one error.  At rep_finish each
 * error is tied to the finding on the server of its url that explains it.
 *
 * The log is untrusted text: every line is looked at through a (pointer,
 * length) span, at most PHONE_MAX_LINE_BYTES of it; values are copied only
 * after they were checked character by character (digits, hex, host names,
 * URL characters) and into buffers of known size.  A line with a NUL byte,
 * an over-long line, a marker with a malformed value or text that is not a
 * log record at all is counted as not understood and skipped.  A UTF-16LE
 * export (Notepad's "Unicode") is read by dropping its zero high bytes.
 */
#define _GNU_SOURCE             /* memmem */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/rep_int.h"

#define PHONE_MAX_LOG_BYTES   (256u * 1024 * 1024)   /* one --phone-log file */
#define PHONE_MAX_LINE_BYTES  4096  /* a UCD_LOG record is a few hundred */
#define PHONE_MAX_URL_BYTES   2048
#define PHONE_MAX_TEXT_BYTES  160
#define PHONE_ATTACH_LINES    16    /* follow-up lines of one failure */
#define PHONE_MAX_ERRORS      100000
#define PHONE_MAX_EWS         256

struct span {
	const char *p;
	size_t n;
};

static struct span span_from(struct span s, const char *at)
{
	return (struct span){ at, s.n - (size_t)(at - s.p) };
}

static const char *span_find(struct span s, const char *needle)
{
	return memmem(s.p, s.n, needle, strlen(needle));
}

/* The last occurrence of needle that starts before limit. */
static const char *span_find_last(struct span s, const char *limit, const char *needle)
{
	const char *best = NULL, *at;
	struct span rest = s;

	while ((at = span_find(rest, needle)) && at < limit) {
		best = at;
		rest = span_from(s, at + 1);
	}
	return best;
}

/* ---- the codes a phone logs ------------------------------------------------------- */

struct phone_code {
	uint32_t value;
	const char *name;
	const char *meaning;
	enum rep_phone_class cls;
};

/* WinINet (wininet.h) and WinHTTP (winhttp.h) share the 12000 range; where
 * they differ both names are given. */
static const struct phone_code win32_codes[] = {
	{ 12002, "ERROR_INTERNET_TIMEOUT", "the request timed out", PHONE_NONE },
	{ 12007, "ERROR_INTERNET_NAME_NOT_RESOLVED", "the server name could not be resolved (DNS)", PHONE_NONE },
	{ 12029, "ERROR_INTERNET_CANNOT_CONNECT", "the TCP connection to the server failed", PHONE_NONE },
	{ 12030, "ERROR_INTERNET_CONNECTION_ABORTED", "the connection with the server was ended", PHONE_CHANNEL },
	{ 12031, "ERROR_INTERNET_CONNECTION_RESET", "the connection with the server was reset", PHONE_CHANNEL },
	{ 12037, "ERROR_INTERNET_SEC_CERT_DATE_INVALID",
	  "the server certificate has expired or is not yet valid", PHONE_DATE },
	{ 12038, "ERROR_INTERNET_SEC_CERT_CN_INVALID",
	  "the host name in the url is not among the certificate's names", PHONE_NAME },
	{ 12044, "ERROR_INTERNET_CLIENT_AUTH_CERT_NEEDED",
	  "the server asked for a client certificate", PHONE_NONE },
	{ 12045, "ERROR_INTERNET_INVALID_CA",
	  "the certificate chain ends in a CA the device does not trust (a Lync phone trusts the "
	  "CA that issued its FE pool's certificate, a fixed list of public roots and the CAs "
	  "added with New-CsWebTrustedCACertificate)", PHONE_UNTRUSTED },
	{ 12055, "ERROR_INTERNET_SEC_CERT_ERRORS", "the server certificate has errors", PHONE_CERT },
	{ 12056, "ERROR_INTERNET_SEC_CERT_NO_REV",
	  "the certificate's revocation status could not be checked", PHONE_REVOCATION },
	{ 12057, "ERROR_INTERNET_SEC_CERT_REV_FAILED",
	  "the revocation check failed (no reachable CRL distribution point)", PHONE_REVOCATION },
	{ 12157, "ERROR_INTERNET_SECURITY_CHANNEL_ERROR",
	  "the TLS channel could not be set up (SChannel error)", PHONE_CHANNEL },
	{ 12169, "ERROR_INTERNET_SEC_INVALID_CERT", "the server certificate is invalid", PHONE_CERT },
	{ 12170, "ERROR_INTERNET_SEC_CERT_REVOKED", "the server certificate has been revoked", PHONE_NONE },
	{ 12175, "ERROR_WINHTTP_SECURE_FAILURE (WinINet: ERROR_INTERNET_DECODING_FAILED)",
	  "WinHTTP: one or more errors in the server certificate; WinINet: content decoding failed",
	  PHONE_CERT },
	{ 12179, "ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE",
	  "the certificate is not valid for server authentication", PHONE_WRONG_USAGE },
};

/* HRESULTs of certificate trouble (winerror.h); HRESULT_FROM_WIN32 of the
 * codes above (0x8007xxxx) is looked up there. */
static const struct phone_code hresults[] = {
	{ 0x80004005, "E_FAIL", "unspecified failure", PHONE_NONE },
	{ 0x80070005, "E_ACCESSDENIED", "access denied", PHONE_NONE },
	{ 0x80090322, "SEC_E_WRONG_PRINCIPAL", "the target name does not match the certificate", PHONE_NAME },
	{ 0x80090325, "SEC_E_UNTRUSTED_ROOT", "the certificate chain was issued by an untrusted authority", PHONE_UNTRUSTED },
	{ 0x80090326, "SEC_E_ILLEGAL_MESSAGE", "the peer sent a TLS message that could not be understood", PHONE_CHANNEL },
	{ 0x80090327, "SEC_E_CERT_UNKNOWN", "an unknown error occurred while processing the certificate", PHONE_CERT },
	{ 0x80090328, "SEC_E_CERT_EXPIRED", "the received certificate has expired", PHONE_DATE },
	{ 0x80090349, "SEC_E_CERT_WRONG_USAGE", "the certificate is not valid for the requested usage", PHONE_WRONG_USAGE },
	{ 0x80092012, "CRYPT_E_NO_REVOCATION_CHECK", "the revocation function could not check revocation", PHONE_REVOCATION },
	{ 0x80092013, "CRYPT_E_REVOCATION_OFFLINE", "the revocation server was offline", PHONE_REVOCATION },
	{ 0x800b0101, "CERT_E_EXPIRED", "a certificate in the chain is outside its validity period", PHONE_DATE },
	{ 0x800b0109, "CERT_E_UNTRUSTEDROOT", "the chain ends in a root that is not trusted", PHONE_UNTRUSTED },
	{ 0x800b010a, "CERT_E_CHAINING", "the chain could not be built to a trusted root", PHONE_UNTRUSTED },
	{ 0x800b010f, "CERT_E_CN_NO_MATCH", "the certificate's name does not match the host", PHONE_NAME },
	{ 0x800b0110, "CERT_E_WRONG_USAGE", "the certificate is not valid for the requested usage", PHONE_WRONG_USAGE },
};

static const struct phone_code *lookup(const struct phone_code *t, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return &t[i];
	return NULL;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct phone_code *win32_code(uint32_t v)
{
	return lookup(win32_codes, N_OF(win32_codes), v);
}

static const struct phone_code *hresult_code(uint32_t hr)
{
	const struct phone_code *c = lookup(hresults, N_OF(hresults), hr);

	if (!c && (hr & 0xffff0000u) == 0x80070000u)    /* HRESULT_FROM_WIN32 */
		c = win32_code(hr & 0xffffu);
	return c;
}

void rep_phone_describe(const struct rep_phone_error *e, struct rep_phone_words *w)
{
	const struct phone_code *c = e->win32 ? win32_code(e->win32) : NULL;
	const struct phone_code *h = e->hr ? hresult_code(e->hr) : NULL;

	memset(w, 0, sizeof(*w));
	if (e->win32)
		snprintf(w->code, sizeof(w->code), "%u", (unsigned)e->win32);
	else
		snprintf(w->code, sizeof(w->code), "0x%08x", (unsigned)e->hr);
	if (e->hr)
		snprintf(w->hr, sizeof(w->hr), "0x%08x", (unsigned)e->hr);
	const struct phone_code *main = e->win32 ? c : h;
	w->name = main ? main->name : "unknown";
	w->meaning = main ? main->meaning : "unknown";
	if (e->hr) {
		w->hr_name = h ? h->name : "unknown";
		if (h)
			snprintf(w->hr_meaning, sizeof(w->hr_meaning), "%s", h->meaning);
		else
			snprintf(w->hr_meaning, sizeof(w->hr_meaning),
				 "unknown (facility 0x%03x, code 0x%04x; not in winerror.h)",
				 (unsigned)((e->hr >> 16) & 0x7ff), (unsigned)(e->hr & 0xffff));
	}
}

static enum rep_phone_class error_class(const struct rep_phone_error *e)
{
	const struct phone_code *c = e->win32 ? win32_code(e->win32) : NULL;

	if (c && c->cls != PHONE_NONE)
		return c->cls;
	c = e->hr ? hresult_code(e->hr) : NULL;
	return c ? c->cls : PHONE_NONE;
}

/* ---- small exact parsers over a span ---------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static size_t count_digits(const char *p, const char *end, size_t max)
{
	size_t n = 0;

	while (p + n < end && n <= max && is_digit(p[n]))
		n++;
	return n;
}

/* "10/19/2012|14:50:27.850" (or a space for the bar, 1-2 digit month, day
 * and hour, up to 6 fraction digits) at p; its length or 0. */
static size_t match_stamp(const char *p, const char *end, bool *fraction)
{
	const char *q = p;
	size_t d;

	*fraction = false;
	if ((d = count_digits(q, end, 2)) < 1 || d > 2 || (q += d) >= end || *q++ != '/')
		return 0;
	if ((d = count_digits(q, end, 2)) < 1 || d > 2 || (q += d) >= end || *q++ != '/')
		return 0;
	if ((d = count_digits(q, end, 4)) != 4 || (q += d) >= end || (*q != '|' && *q != ' '))
		return 0;
	q++;
	if ((d = count_digits(q, end, 2)) < 1 || d > 2 || (q += d) >= end || *q++ != ':')
		return 0;
	if ((d = count_digits(q, end, 2)) != 2 || (q += d) >= end || *q++ != ':')
		return 0;
	if ((d = count_digits(q, end, 2)) != 2)
		return 0;
	q += d;
	if (q < end && *q == '.' && (d = count_digits(q + 1, end, 6)) >= 1 && d <= 6) {
		q += 1 + d;
		*fraction = true;
	}
	if (q < end && is_digit(*q))
		return 0;
	return (size_t)(q - p);
}

/* The record's own time: the one with a fraction (the "Aries:" stamp) if
 * any, else the last; copied with the bar as a space. */
static bool find_stamp(struct span s, char *out, size_t outlen)
{
	const char *end = s.p + s.n, *best = NULL;
	size_t best_len = 0;
	bool best_frac = false;

	for (const char *p = s.p; p < end; p++) {
		bool frac;
		size_t n;
		if (!is_digit(*p) || (p > s.p && is_digit(p[-1])))
			continue;
		if (!(n = match_stamp(p, end, &frac)))
			continue;
		if (!best || frac || !best_frac) {
			best = p;
			best_len = n;
			best_frac = frac;
		}
		p += n - 1;
	}
	if (!best || best_len >= outlen)
		return false;
	for (size_t i = 0; i < best_len; i++)
		out[i] = best[i] == '|' ? ' ' : best[i];
	out[best_len] = '\0';
	return true;
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* "hr=0x80f10043" or "hr=80f10043" right after the marker. */
static bool parse_hr(const char *p, const char *end, uint32_t *out)
{
	uint32_t v = 0;
	size_t n = 0;

	if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	while (p + n < end && is_hex(p[n])) {
		if (n == 8)
			return false;
		char c = p[n];
		v = v << 4 | (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
		n++;
	}
	if (!n || (p + n < end && word_char(p[n])))
		return false;
	*out = v;
	return true;
}

static bool parse_decimal(const char *p, const char *end, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	while (p + n < end && is_digit(p[n])) {
		if (n == 10)
			return false;
		v = v * 10 + (uint64_t)(p[n] - '0');
		n++;
	}
	if (!n || v > UINT32_MAX || (p + n < end && word_char(p[n])))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

static bool url_char(char c)
{
	return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\'' && c != '<' && c != '>';
}

/* An http(s) url at p: its text, host (lowercase, IPv6 without brackets)
 * and port.  false when what follows is not one. */
static bool parse_url(const char *p, const char *end, char **url, char *host, size_t hostlen,
		      uint16_t *port)
{
	const char *q = p;
	uint16_t dflt;

	if (end - q >= 8 && !strncasecmp(q, "https://", 8)) {
		q += 8;
		dflt = 443;
	} else if (end - q >= 7 && !strncasecmp(q, "http://", 7)) {
		q += 7;
		dflt = 80;
	} else {
		return false;
	}
	const char *h = q, *h_end;
	if (q < end && *q == '[') {
		h = ++q;
		while (q < end && (is_hex(*q) || *q == ':' || *q == '.'))
			q++;
		if (q >= end || *q != ']')
			return false;
		h_end = q++;
	} else {
		while (q < end && host_char(*q))
			q++;
		h_end = q;
	}
	size_t hn = (size_t)(h_end - h);
	if (!hn || hn >= hostlen || hn > 253)
		return false;
	for (size_t i = 0; i < hn; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[hn] = '\0';
	while (hn > 1 && host[hn - 1] == '.')
		host[--hn] = '\0';
	*port = dflt;
	if (q < end && *q == ':') {
		uint32_t v;
		const char *ds = ++q;
		while (q < end && is_digit(*q))
			q++;
		if (q == ds || q - ds > 5 || !parse_decimal(ds, q, &v) || !v || v > 65535)
			return false;
		*port = (uint16_t)v;
	}
	if (q < end && *q != '/' && *q != '?' && url_char(*q))
		return false;
	while (q < end && url_char(*q))
		q++;
	size_t n = (size_t)(q - p);
	if (n > PHONE_MAX_URL_BYTES)
		return false;
	*url = strndup(p, n);
	return *url != NULL;
}

/* The phrase a record gives before a marker: "Insecure server" out of
 * "...::ExecuteSoapOperation: Insecure server. errorCode=". */
static char *phrase_before(struct span msg, const char *marker)
{
	const char *start = span_find_last(msg, marker, ": ");
	const char *p = start ? start + 2 : msg.p, *e = marker;

	while (e > p && (e[-1] == ' ' || e[-1] == '.' || e[-1] == ',' || e[-1] == ';'))
		e--;
	while (p < e && *p == ' ')
		p++;
	size_t n = (size_t)(e - p);
	if (!n)
		return NULL;
	if (n > PHONE_MAX_TEXT_BYTES)
		n = PHONE_MAX_TEXT_BYTES;
	struct buf t = BUF_INIT(PHONE_MAX_TEXT_BYTES);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		buf_putc(&t, c < 0x20 || c >= 0x7f ? '?' : (char)c);
	}
	return buf_take(&t);
}

/* ---- records ------------------------------------------------------------------------ */

struct phone_parse {
	struct rep_phonelog *pl;
	const char *file;
	unsigned line;
	struct rep_phone_error *open;  /* the failure later lines may add to */
};

static void error_free(struct rep_phone_error *e)
{
	if (!e)
		return;
	free(e->text);
	free(e->url);
	free(e);
}

static bool add_ews(struct phone_parse *pp, const char *which, const char *at, const char *end)
{
	struct rep_phone_ews *w = calloc(1, sizeof(*w));

	if (!w)
		return false;
	if (!parse_url(at, end, &w->url, w->host, sizeof(w->host), &w->port)) {
		free(w);
		return false;
	}
	for (size_t i = 0; i < pp->pl->ews.n; i++) {
		const struct rep_phone_ews *x = pp->pl->ews.v[i];
		if (x->file == pp->file && x->which == which && !strcmp(x->url, w->url)) {
			free(w->url);
			free(w);
			return true;           /* logged again at each sign-in */
		}
	}
	w->file = pp->file;
	w->which = which;
	if (pp->pl->ews.n >= PHONE_MAX_EWS || !rep_vec_push(&pp->pl->ews, w)) {
		free(w->url);
		free(w);
	}
	return true;
}

static struct rep_phone_error *new_error(struct phone_parse *pp, const char *ts)
{
	if (pp->pl->errors.n >= PHONE_MAX_ERRORS) {
		pp->pl->errors_dropped++;
		return NULL;
	}
	struct rep_phone_error *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->file = pp->file;
	e->line = e->last_line = pp->line;
	snprintf(e->ts, sizeof(e->ts), "%s", ts);
	if (!rep_vec_push(&pp->pl->errors, e)) {
		free(e);
		return NULL;
	}
	return e;
}

/* A url on a line that belongs to e, if e has none yet. */
static bool take_url(struct rep_phone_error *e, struct span line)
{
	const char *u = span_find(line, "url=");

	if (!u)
		return true;
	char *url;
	char host[256];
	uint16_t port;
	if (!parse_url(u + 4, line.p + line.n, &url, host, sizeof(host), &port))
		return false;
	if (e && !e->url) {
		e->url = url;
		memcpy(e->host, host, sizeof(e->host));
		e->port = port;
	} else {
		free(url);
	}
	return true;
}

/* One line (no newline, no NUL).  false: not understood. */
static bool parse_line(struct phone_parse *pp, struct span line)
{
	const char *end = line.p + line.n;
	char ts[32] = "";
	bool header = find_stamp(line, ts, sizeof(ts)) || span_find(line, "UCD_LOG_") ||
		      span_find(line, " :: ");
	const char *sep = span_find(line, " :: ");
	struct span msg = sep ? span_from(line, sep + 4) : line;
	const char *at;
	bool known = false;

	if ((at = span_find(msg, "InternalEwsUrl is ")))
		return add_ews(pp, "InternalEwsUrl", at + 18, end);
	if ((at = span_find(msg, "ExternalEwsUrl is ")))
		return add_ews(pp, "ExternalEwsUrl", at + 18, end);

	uint32_t hr = 0, code = 0;
	const char *hr_at = span_find(msg, "hr=");
	bool has_hr = hr_at && (hr_at == msg.p || !word_char(hr_at[-1]));
	if (has_hr && !parse_hr(hr_at + 3, end, &hr))
		return false;
	if ((at = span_find(msg, "errorCode="))) {
		if (!parse_decimal(at + 10, end, &code))
			return false;
		struct rep_phone_error *e = new_error(pp, ts);
		if (e) {
			e->win32 = code;
			e->hr = hr;
			e->text = phrase_before(msg, at);
		}
		pp->open = e;
		return take_url(e, msg);
	}
	if (has_hr) {
		struct rep_phone_error *o = pp->open;
		if (o && o->file == pp->file && pp->line - o->last_line <= PHONE_ATTACH_LINES &&
		    o->hr == hr) {
			o->last_line = pp->line;
			return take_url(o, msg);
		}
		if (hr & 0x80000000u) {        /* FAILED(hr) */
			struct rep_phone_error *e = new_error(pp, ts);
			if (e) {
				e->hr = hr;
				e->text = phrase_before(msg, hr_at);
			}
			pp->open = e;
			return take_url(e, msg);
		}
		known = true;
	}
	return header || known;
}

static bool blank(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (!isspace((unsigned char)s.p[i]))
			return false;
	return true;
}

/* UTF-16LE text (a BOM, or zero bytes in every odd place) as 8-bit: the
 * low byte of each unit, '?' for anything beyond Latin-1.  NULL: not
 * UTF-16 (or out of memory; then the bytes are read as they are). */
static uint8_t *from_utf16le(const uint8_t *buf, size_t len, size_t *out_len)
{
	size_t start = 0;

	if (len >= 2 && buf[0] == 0xff && buf[1] == 0xfe)
		start = 2;
	else if (!(len >= 4 && buf[0] && !buf[1] && buf[2] && !buf[3]))
		return NULL;
	uint8_t *o = malloc(len / 2 + 1);
	if (!o)
		return NULL;
	size_t n = 0;
	for (size_t i = start; i + 1 < len; i += 2)
		o[n++] = buf[i + 1] ? '?' : buf[i];
	*out_len = n;
	return o;
}

bool rep_phonelog_read(struct rep_phonelog *pl, FILE *f, const char *file, char *err,
		       size_t errlen)
{
	size_t len;
	uint8_t *data = f ? rep_read_stream(f, file, PHONE_MAX_LOG_BYTES, &len, err, errlen)
			  : rep_read_file(file, PHONE_MAX_LOG_BYTES, &len, err, errlen);

	if (!data)
		return false;
	rep_phonelog_parse(pl, file, data, len);
	free(data);
	return true;
}

void rep_phonelog_parse(struct rep_phonelog *pl, const char *file, const uint8_t *buf, size_t len)
{
	struct phone_parse pp = { .pl = pl, .file = file };
	size_t n16;
	uint8_t *wide = from_utf16le(buf, len, &n16);

	if (wide) {
		buf = wide;
		len = n16;
	}
	pl->files++;
	for (size_t off = 0; off < len;) {
		const uint8_t *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		struct span line = { (const char *)buf + off, n };

		off += n + (nl ? 1 : 0);
		pp.line++;
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		if (blank(line))
			continue;
		pl->lines++;
		if (line.n > PHONE_MAX_LINE_BYTES || memchr(line.p, '\0', line.n) ||
		    !parse_line(&pp, line))
			pl->not_understood++;
	}
	free(wide);
}

void rep_phonelog_free(struct rep_phonelog *pl)
{
	for (size_t i = 0; i < pl->errors.n; i++)
		error_free(pl->errors.v[i]);
	for (size_t i = 0; i < pl->ews.n; i++) {
		struct rep_phone_ews *w = pl->ews.v[i];
		free(w->url);
		free(w);
	}
	rep_vec_clear(&pl->errors);
	rep_vec_clear(&pl->ews);
}

/* ---- against the inventory ----------------------------------------------------------- */

const struct rep_server *rep_phone_ews_server(const struct rep *r, const struct rep_phone_ews *w)
{
	char why[300];

	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		if (!s->baseline_only && rep_server_is_host(s, w->host, w->port, why, sizeof(why)))
			return s;
	}
	return NULL;
}

/* Is s one of the servers this error is about?  With a url: the server of
 * its host and port.  Without: the EWS servers of the same log, else any
 * Exchange server. */
static bool error_names_server(const struct rep *r, const struct rep_phone_error *e,
			       const struct rep_server *s, bool any_ews_seen)
{
	char why[300];

	if (s->baseline_only)
		return false;
	if (e->host[0])
		return rep_server_is_host(s, e->host, e->port, why, sizeof(why)) != NULL;
	if (any_ews_seen) {
		for (size_t i = 0; i < r->phone.ews.n; i++) {
			const struct rep_phone_ews *w = r->phone.ews.v[i];
			if (w->file == e->file && rep_server_is_host(s, w->host, w->port, why, sizeof(why)))
				return true;
		}
		return false;
	}
	return s->role == ROLE_EXCHANGE;
}

/* The first finding that explains e: the findings table ranks, per class of
 * error, the codes that explain it (the likeliest first); the first code in
 * that order with a finding on a server the error is about wins. */
static struct rep_finding *explaining(const struct rep *r, const struct rep_phone_error *e,
				      enum rep_phone_class cls, bool any_ews_seen)
{
	for (unsigned rank = 1; cls != PHONE_NONE && rank <= RC_COUNT; rank++) {
		for (unsigned c = 0; c < RC_COUNT; c++) {
			if (rep_finding_defs[c].explains[cls] != rank)
				continue;
			for (size_t j = 0; j < r->finding_list.n; j++) {
				struct rep_finding *f = r->finding_list.v[j];
				if (f->code == c && error_names_server(r, e, f->server, any_ews_seen))
					return f;
			}
		}
	}
	return NULL;
}

void rep_phone_explain(struct rep *r)
{
	for (size_t i = 0; i < r->phone.errors.n; i++) {
		struct rep_phone_error *e = r->phone.errors.v[i];
		bool any_ews_seen = false;

		e->via = e->host[0] ? "url" : NULL;
		for (size_t k = 0; !e->host[0] && k < r->phone.ews.n; k++) {
			const struct rep_phone_ews *w = r->phone.ews.v[k];
			if (w->file == e->file && rep_phone_ews_server(r, w))
				any_ews_seen = true;
		}
		if (!e->host[0])
			e->via = any_ews_seen ? "the log's EWS urls" : "the Exchange servers";
		e->explained_by = explaining(r, e, error_class(e), any_ews_seen);
	}
}
