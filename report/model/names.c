/*
 * names.c — comparing names: a host against a certificate (RFC 6125), a
 * host:port against a server (its SNI, address or certificate), and two CA
 * names against a person's eye.
 *
 * Host names (RFC 6125 section 6.4): DNS SANs are used when present, the
 * subject CN only when there are none.  A wildcard is accepted only as the
 * whole left-most label ("*.contoso.com"), matches exactly one non-empty
 * label, and needs at least two labels after it; "f*.contoso.com" and
 * "*.com" match nothing.  Comparison is case-insensitive, a trailing dot
 * on the host is ignored.
 *
 * Look-alike CA names.  The seed's two CAs were "CN=Issuing CA for
 * contoso,com" and "CN=Issuing-CA for contoso,DC=contoso,DC=com": different
 * CAs a person reads as one.  A name is normalised to its words: every
 * attribute value except C, lowercased, split at anything that is not a
 * letter or digit (so punctuation, whitespace, "DC=contoso,DC=com" vs
 * "contoso.com" and RFC 2253 vs Windows order all vanish).  Two different
 * names look alike when
 *   (a) their word sets are equal, or
 *   (b) their CNs normalise to the same words (certificate dialogs show the
 *       CN alone: "Issued by: Contoso Issuing CA"), or
 *   (c) their CNs, letters and digits only, are equal ("IssuingCA" vs
 *       "Issuing CA"), or are at least 12 characters and within edit
 *       distance 2 ("Contoso Issueing CA"); in both cases the digits in the
 *       CNs must be the same sequence and the other words equal.
 * Numbered siblings of one family ("R3"/"R10", "Amazon RSA 2048 M01"/"M02",
 * "GTS CA 1C3"/"GTS Root R1") are not flagged: their digits differ, which a
 * person reading the name does notice.  Whether two CAs matter to each other
 * (they issue Lync or Exchange servers) is the caller's business.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>

#include "report/rep_int.h"

/* ---- host names ------------------------------------------------------------ */

static size_t host_len(const char *host)
{
	size_t n = strlen(host);

	return (n > 1 && host[n - 1] == '.') ? n - 1 : n;
}

bool rep_host_matches(const char *pattern, const char *host)
{
	size_t hn = host_len(host), pn = strlen(pattern);

	if (!pn || !hn)
		return false;
	if (pattern[0] != '*')
		return !strchr(pattern, '*') && pn == hn && !strncasecmp(pattern, host, hn);

	/* "*." + at least "a.b"; nothing else may be a wildcard */
	const char *rest = pattern + 1;
	if (*rest != '.' || strchr(rest, '*') || !strchr(rest + 1, '.') || rest[1] == '.')
		return false;
	const char *dot = memchr(host, '.', hn);
	if (!dot || dot == host)
		return false;          /* the wildcard must cover one non-empty label */
	size_t tail = hn - (size_t)(dot - host);
	return tail == strlen(rest) && !strncasecmp(dot, rest, tail);
}

bool rep_cert_matches_host(const struct x509_info *xi, const char *host)
{
	if (!xi->parsed)
		return false;
	if (xi->n_dns) {
		for (size_t i = 0; i < xi->n_dns; i++)
			if (rep_host_matches(xi->dns[i], host))
				return true;
		return false;
	}
	return xi->cn && rep_host_matches(xi->cn, host);
}

/* ---- addresses and servers ------------------------------------------------------- */

/* Compare textual IPs by value ("fd00::1" is "fd00:0::1"); a host name is
 * never the same as an address. */
bool rep_same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
	return false;
}

/* The server answers for host:port when a client asked it for that name,
 * it has that address, or its leaf certificate carries the name. */
const char *rep_server_is_host(const struct rep_server *s, const char *host, uint16_t port,
			       char *why, size_t len)
{
	if (s->file || s->ep.port != port || !host[0])
		return NULL;
	for (unsigned i = 0; i < s->n_sni; i++) {
		if (!strcasecmp(s->sni[i], host)) {
			snprintf(why, len, "SNI %s", s->sni[i]);
			return why;
		}
	}
	if (rep_same_ip(host, s->ep.ip)) {
		snprintf(why, len, "address %s", host);
		return why;
	}
	for (unsigned i = 0; i < s->n_chains; i++) {
		const struct rep_chain *c = s->chains[i];
		if (c->n && rep_cert_matches_host(c->certs[0]->xi, host)) {
			snprintf(why, len, "certificate name %s", host);
			return why;
		}
	}
	return NULL;
}

/* ---- CA names ---------------------------------------------------------------- */

#define NAME_MAX_WORDS 64

struct name_words {
	unsigned n;
	char *w[NAME_MAX_WORDS];
	char cn[256];                  /* CN words joined by one space */
	char cn_squashed[256];         /* CN letters and digits only */
	char digits[64];               /* the CN's digits, in order */
};

static void words_free(struct name_words *nw)
{
	for (unsigned i = 0; i < nw->n; i++)
		free(nw->w[i]);
	nw->n = 0;
}

static bool words_has(const struct name_words *nw, const char *w)
{
	for (unsigned i = 0; i < nw->n; i++)
		if (!strcmp(nw->w[i], w))
			return true;
	return false;
}

static void str_append(char *dst, size_t len, const char *s)
{
	size_t n = strlen(dst);

	if (n + 1 < len)
		snprintf(dst + n, len - n, "%s", s);
}

/* Letters and digits are word characters; so is every non-ASCII byte, so a
 * UTF-8 name keeps its letters. */
static bool word_char(unsigned char c)
{
	return c >= 0x80 || isalnum(c);
}

static void add_words(struct name_words *nw, const unsigned char *s, size_t len, bool is_cn)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && !word_char(s[i]))
			i++;
		size_t start = i;
		while (i < len && word_char(s[i]))
			i++;
		if (i == start)
			break;
		char w[128];
		size_t n = i - start < sizeof(w) - 1 ? i - start : sizeof(w) - 1;
		for (size_t k = 0; k < n; k++)
			w[k] = (char)tolower(s[start + k]);
		w[n] = '\0';
		if (is_cn) {
			if (nw->cn[0])
				str_append(nw->cn, sizeof(nw->cn), " ");
			str_append(nw->cn, sizeof(nw->cn), w);
			str_append(nw->cn_squashed, sizeof(nw->cn_squashed), w);
			for (size_t k = 0; k < n; k++) {
				if (isdigit((unsigned char)w[k])) {
					char d[2] = { w[k], 0 };
					str_append(nw->digits, sizeof(nw->digits), d);
				}
			}
		}
		if (nw->n < NAME_MAX_WORDS && !words_has(nw, w)) {
			char *d = str_dup(w);
			if (d)
				nw->w[nw->n++] = d;
		}
	}
}

static void name_words(const X509_NAME *name, struct name_words *nw)
{
	memset(nw, 0, sizeof(*nw));
	int count = X509_NAME_entry_count(name);

	for (int i = 0; i < count; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		unsigned char *utf8 = NULL;

		if (nid == NID_countryName)
			continue;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		if (n < 0)
			continue;
		add_words(nw, utf8, (size_t)n, nid == NID_commonName);
		OPENSSL_free(utf8);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *rep_name_normalise(const X509_NAME *name)
{
	struct name_words nw;
	struct buf out = BUF_INIT(NAME_MAX_WORDS * 128);

	name_words(name, &nw);
	qsort(nw.w, nw.n, sizeof(nw.w[0]), cmp_str);
	for (unsigned i = 0; i < nw.n; i++)
		buf_printf(&out, "%s%s", i ? " " : "", nw.w[i]);
	words_free(&nw);
	return buf_take(&out);
}

static bool same_word_sets(const struct name_words *a, const struct name_words *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (!words_has(b, a->w[i]))
			return false;
	return true;
}

/* Word sets equal once the CN's words are set aside. */
static bool same_words_besides_cn(const struct name_words *a, const struct name_words *b)
{
	struct name_words cn_a, cn_b;
	bool same = true;

	memset(&cn_a, 0, sizeof(cn_a));
	memset(&cn_b, 0, sizeof(cn_b));
	add_words(&cn_a, (const unsigned char *)a->cn, strlen(a->cn), false);
	add_words(&cn_b, (const unsigned char *)b->cn, strlen(b->cn), false);
	for (unsigned i = 0; i < a->n && same; i++)
		if (!words_has(&cn_a, a->w[i]) && !words_has(b, a->w[i]))
			same = false;
	for (unsigned i = 0; i < b->n && same; i++)
		if (!words_has(&cn_b, b->w[i]) && !words_has(a, b->w[i]))
			same = false;
	words_free(&cn_a);
	words_free(&cn_b);
	return same;
}

/* Levenshtein distance, giving up (returning limit + 1) beyond limit. */
static unsigned edit_distance(const char *a, const char *b, unsigned limit)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned row[256];

	if (na > 255 || nb > 255)
		return limit + 1;
	if ((na > nb ? na - nb : nb - na) > limit)
		return limit + 1;
	for (size_t j = 0; j <= nb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= na; i++) {
		unsigned diag = row[0], best = row[0] = (unsigned)i;
		for (size_t j = 1; j <= nb; j++) {
			unsigned up = row[j];
			unsigned v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > limit)
			return limit + 1;
	}
	return row[nb];
}

bool rep_names_lookalike(const X509_NAME *a, const X509_NAME *b, char *why, size_t len)
{
	struct name_words wa, wb;
	bool alike = false;

	if (!X509_NAME_cmp(a, b))
		return false;          /* the same name is not a look-alike */
	name_words(a, &wa);
	name_words(b, &wb);
	if (wa.n && same_word_sets(&wa, &wb)) {
		alike = true;
		snprintf(why, len, "the names differ only in punctuation, spacing, case, "
			 "order or DC= components");
	} else if (wa.cn[0] && !strcmp(wa.cn, wb.cn)) {
		alike = true;
		snprintf(why, len, "the common names read the same (\"%s\"); certificate "
			 "dialogs show only that", wa.cn);
	} else if (wa.cn_squashed[0] && !strcmp(wa.digits, wb.digits) &&
		   same_words_besides_cn(&wa, &wb)) {
		unsigned d = edit_distance(wa.cn_squashed, wb.cn_squashed, 2);
		bool long_names = strlen(wa.cn_squashed) >= 12 && strlen(wb.cn_squashed) >= 12;
		if (d == 0) {
			alike = true;
			snprintf(why, len, "the common names differ only in spacing or punctuation");
		} else if (d <= 2 && long_names) {
			alike = true;
			snprintf(why, len, "the common names differ by %u letter%s", d,
				 d == 1 ? "" : "s");
		}
	}
	words_free(&wa);
	words_free(&wb);
	return alike;
}
