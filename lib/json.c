/*
 * json.c — the streaming JSON writer and the field tables of json.h.
 *
 * Two ideas:
 *  1. Every token goes straight into the line buffer.  A string reserves
 *     its worst case first (6 bytes out per byte in, plus the quotes), then
 *     validates and escapes in the same pass, 8 plain bytes at a time (a
 *     tail of 1 to 7 bytes, and so every short name, is judged as one word
 *     too: the per-byte loop only runs next to a byte that needs escaping);
 *     a byte that turns out not to be valid UTF-8 rewinds to the opening quote
 *     and writes jstr()'s '?' form instead, in the room already reserved.
 *     Only a string whose worst case would not fit under the line cap (or a
 *     long one, whose worst case would waste memory) is measured exactly
 *     first, so the cap refuses a line only when its real bytes pass it.
 *  2. The writer knows where it is (a stack of bits: array or object, has a
 *     member yet) so it places the commas itself and refuses calls out of
 *     order with a sticky error, rather than printing broken JSON.
 *
 * The reader half of the field tables runs on jansson's parser: reading is
 * not on the hot path, and jansson's parser is strict and well tested.
 */
#include "lib/json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Strings longer than this are measured before they are reserved. */
#define JW_ESC_FAST_MAX 4096

/* ---- errors ------------------------------------------------------------------------ */

static bool jw_fail(struct jw *w, enum jw_error e, const char *what)
{
	if (w->err != JW_OK)
		return false;
	w->err = e;
	switch (e) {
	case JW_OK:
		break;
	case JW_ENOMEM:
		snprintf(w->msg, sizeof w->msg, "out of memory writing a JSON line");
		break;
	case JW_OVER_CAP:
		snprintf(w->msg, sizeof w->msg, "the JSON line would pass its cap of %zu bytes",
			 w->out.max_bytes);
		break;
	case JW_TOO_DEEP:
		snprintf(w->msg, sizeof w->msg, "JSON nested deeper than %d containers",
			 JW_MAX_DEPTH);
		break;
	case JW_MISUSE:
		snprintf(w->msg, sizeof w->msg, "JSON writer misuse: %s", what);
		break;
	}
	return false;
}

static bool jw_misuse(struct jw *w, const char *what)
{
	return jw_fail(w, JW_MISUSE, what);
}

const char *jw_strerror(const struct jw *w)
{
	return w->err == JW_OK ? "no error" : w->msg;
}

/* ---- the line ---------------------------------------------------------------------- */

void jw_init(struct jw *w, size_t max_line_bytes)
{
	memset(w, 0, sizeof *w);
	buf_init(&w->out, max_line_bytes ? max_line_bytes : JW_MAX_LINE_BYTES);
}

void jw_free(struct jw *w)
{
	size_t max = w->out.max_bytes;
	buf_free(&w->out);
	jw_init(w, max);
}

void jw_reset(struct jw *w)
{
	buf_reset(&w->out);
	w->depth = 0;
	w->is_array = w->has_items = 0;
	w->after_key = w->done = w->ended = false;
	w->err = JW_OK;
	w->msg[0] = '\0';
}

/* Room for n more bytes at the end of the line; NULL (and the sticky error)
 * when they would pass the cap or memory runs out.  The common case, room
 * already allocated, is decided here without a call. */
static inline char *jw_room(struct jw *w, size_t n)
{
	struct buf *b = &w->out;

	if (b->data && n < b->cap - b->len)
		return b->data + b->len;
	char *p = buf_reserve(b, n);
	if (!p)
		jw_fail(w, b->err == BUF_OVER_CAP ? JW_OVER_CAP : JW_ENOMEM, NULL);
	return p;
}

/* The bytes up to end were written into the room. */
static inline void jw_commit(struct jw *w, char *end)
{
	w->out.len = (size_t)(end - w->out.data);
	*end = '\0';
}

/* Before a value: -1 when it may not come now, else whether a ',' goes first. */
static inline int jw_begin(struct jw *w)
{
	if (w->err != JW_OK)
		return -1;
	if (w->depth == 0) {
		if (w->done) {
			jw_misuse(w, "a second value on one line");
			return -1;
		}
		return 0;
	}
	uint32_t bit = 1u << (w->depth - 1);
	if (w->is_array & bit) {
		int comma = (w->has_items & bit) != 0;
		w->has_items |= bit;
		return comma;
	}
	if (!w->after_key) {
		jw_misuse(w, "a value in an object without a key");
		return -1;
	}
	w->after_key = false;
	return 0;
}

/* After a scalar value. */
static inline void jw_end(struct jw *w)
{
	if (w->depth == 0)
		w->done = true;
}

const char *jw_line_end(struct jw *w, size_t *len)
{
	if (w->err != JW_OK)
		return NULL;
	if (w->depth) {
		jw_misuse(w, "the line ended with a container open");
		return NULL;
	}
	if (!w->done) {
		jw_misuse(w, "the line ended before its value");
		return NULL;
	}
	if (w->ended) {
		jw_misuse(w, "the line was ended twice");
		return NULL;
	}
	char *o = jw_room(w, 1);
	if (!o)
		return NULL;
	*o++ = '\n';
	jw_commit(w, o);
	w->ended = true;
	*len = w->out.len;
	return w->out.data;
}

/* ---- containers -------------------------------------------------------------------- */

static bool jw_open(struct jw *w, bool array)
{
	int comma = jw_begin(w);
	if (comma < 0)
		return false;
	if (w->depth >= JW_MAX_DEPTH)
		return jw_fail(w, JW_TOO_DEEP, NULL);
	char *o = jw_room(w, 2);
	if (!o)
		return false;
	if (comma)
		*o++ = ',';
	*o++ = array ? '[' : '{';
	jw_commit(w, o);
	uint32_t bit = 1u << w->depth;
	if (array)
		w->is_array |= bit;
	else
		w->is_array &= ~bit;
	w->has_items &= ~bit;
	w->depth++;
	return true;
}

static bool jw_close(struct jw *w, bool array)
{
	if (w->err != JW_OK)
		return false;
	if (!w->depth)
		return jw_misuse(w, "a close with nothing open");
	uint32_t bit = 1u << (w->depth - 1);
	if (((w->is_array & bit) != 0) != array)
		return jw_misuse(w, array ? "an array closed where an object is open"
				 : "an object closed where an array is open");
	if (w->after_key)
		return jw_misuse(w, "an object closed after a key, before its value");
	char *o = jw_room(w, 1);
	if (!o)
		return false;
	*o++ = array ? ']' : '}';
	jw_commit(w, o);
	if (--w->depth == 0)
		w->done = true;
	return true;
}

bool jw_object_open(struct jw *w) { return jw_open(w, false); }
bool jw_object_close(struct jw *w) { return jw_close(w, false); }
bool jw_array_open(struct jw *w) { return jw_open(w, true); }
bool jw_array_close(struct jw *w) { return jw_close(w, true); }

/* ---- strings ----------------------------------------------------------------------- */

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* What a byte needs in a string: 0 as it is, 'u' \u00XX, 'm' the lead of a
 * multi-byte sequence (or a stray byte >= 0x80), else the letter after the
 * backslash. */
static const unsigned char esc_class[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
	[0x80 ... 0xff] = 'm',
};

/* Whether any of the 8 bytes of x needs more than a copy: < 0x20, '"',
 * '\\' or >= 0x80 (exact for "any", the classic has-zero-byte tests). */
static inline bool word_special(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
	uint64_t t = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | x;
	return (t & highs) != 0;
}

/* The last r (1..7) bytes of a string at p as the low bytes of a word, the
 * rest filled with 'A' (plain): read with loads that stay inside p[0..r),
 * so a short string or a string's tail is judged as one word too. */
static inline uint64_t load_tail(const uint8_t *p, size_t r)
{
	uint64_t x;
	if (r >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + r - 4, 4);
		x = lo | (uint64_t)hi << (8 * (r - 4));         /* the overlap is the same bytes */
	} else {
		x = p[0] | (uint64_t)p[r >> 1] << (8 * (r >> 1)) | (uint64_t)p[r - 1] << (8 * (r - 1));
	}
	return x | 0x4141414141414141ull << (8 * r);
}

/* One UTF-8 sequence at s (n bytes left, s[0] >= 0x80), as jansson's
 * utf8_check_first/utf8_check_full judge it: its length and code point, or
 * 0 when it is not valid. */
static inline size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	size_t len;
	uint32_t v;

	if (c < 0xc2 || c > 0xf4)              /* continuation, overlong 2-byte lead, > U+10FFFF */
		return 0;
	if (c < 0xe0) {
		len = 2;
		v = c & 0x1f;
	} else if (c < 0xf0) {
		len = 3;
		v = c & 0x0f;
	} else {
		len = 4;
		v = c & 0x07;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (len == 3 && v < 0x800) || (len == 4 && v < 0x10000))
		return 0;
	*cp = v;
	return len;
}

static inline char *put_u4(char *o, uint32_t v)
{
	o[0] = '\\';
	o[1] = 'u';
	o[2] = hex_upper[v >> 12 & 15];
	o[3] = hex_upper[v >> 8 & 15];
	o[4] = hex_upper[v >> 4 & 15];
	o[5] = hex_upper[v & 15];
	return o + 6;
}

/* s as a quoted JSON string at o (room for what it needs; limit is the end
 * of the memory o may scribble on); the end, or NULL when s is not valid
 * UTF-8. */
static char *escape_utf8(char *o, const char *limit, const uint8_t *s, size_t n)
{
	size_t i = 0;

	*o++ = '"';
	for (;;) {
		/* runs of plain bytes: 8 at a time, then one at a time */
		while (n - i >= 8) {
			uint64_t x;
			memcpy(&x, s + i, 8);
			if (word_special(x))
				break;
			memcpy(o, &x, 8);
			o += 8;
			i += 8;
		}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* the tail as one word: stored whole, the filler past the end */
		if (i < n && n - i < 8 && limit - o >= 8) {
			uint64_t x = load_tail(s + i, n - i);
			if (!word_special(x)) {
				memcpy(o, &x, 8);
				o += n - i;
				break;
			}
		}
#endif
		while (i < n && esc_class[s[i]] == 0)
			*o++ = (char)s[i++];
		if (i == n)
			break;
		/* one byte that is not plain */
		uint8_t c = s[i];
		unsigned char k = esc_class[c];
		if (k == 'u') {
			o = put_u4(o, c);
			i++;
		} else if (k != 'm') {
			*o++ = '\\';
			*o++ = (char)k;
			i++;
		} else {
			uint32_t cp;
			size_t len = utf8_decode(s + i, n - i, &cp);
			if (!len)
				return NULL;
			if (cp < 0x10000) {
				o = put_u4(o, cp);
			} else {
				cp -= 0x10000;
				o = put_u4(o, 0xd800 | cp >> 10);
				o = put_u4(o, 0xdc00 | (cp & 0x3ff));
			}
			i += len;
		}
	}
	*o++ = '"';
	return o;
}

/* jstr()'s form of a string jansson refused: bytes >= 0x80 or < 0x20 as
 * '?', then escaped (only '"' and '\\' are left to escape).  Room 2n + 2. */
static char *escape_fallback(char *o, const uint8_t *s, size_t n)
{
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c >= 0x80 || c < 0x20) {
			*o++ = '?';
		} else {
			if (c == '"' || c == '\\')
				*o++ = '\\';
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	return o;
}

/* The exact length escape_utf8 writes, or, when s is not valid UTF-8 (valid
 * false), the length escape_fallback writes.  For long strings only. */
static size_t escaped_len(const uint8_t *s, size_t n, bool *valid)
{
	size_t out = 2;

	for (size_t i = 0; i < n; ) {
		unsigned char k = esc_class[s[i]];
		uint32_t cp;
		size_t len = 1;
		if (k == 0)
			out++;
		else if (k == 'u')
			out += 6;
		else if (k != 'm')
			out += 2;
		else if ((len = utf8_decode(s + i, n - i, &cp)))
			out += cp < 0x10000 ? 6 : 12;
		else
			goto fallback;
		i += len;
	}
	*valid = true;
	return out;
fallback:
	*valid = false;
	out = 2;
	for (size_t i = 0; i < n; i++)
		out += s[i] == '"' || s[i] == '\\' ? 2 : 1;
	return out;
}

/* A string (or, key, a member's name and its ':'), after a ',' if comma. */
static bool put_string(struct jw *w, int comma, const uint8_t *s, size_t n, bool key)
{
	size_t extra = (size_t)comma + key;
	size_t left = w->out.max_bytes - w->out.len;
	char *o;

	if (n <= JW_ESC_FAST_MAX && 6 * n + 2 + extra <= left) {
		o = jw_room(w, 6 * n + 2 + extra);
	} else {
		bool valid;
		size_t need = escaped_len(s, n, &valid);
		if (!valid && key)
			return jw_misuse(w, "a key that is not valid UTF-8");
		o = need <= left && extra <= left - need ? jw_room(w, need + extra) : NULL;
		if (!o && w->err == JW_OK)
			jw_fail(w, JW_OVER_CAP, NULL);
	}
	if (!o)
		return false;
	if (comma)
		*o++ = ',';
	char *end = escape_utf8(o, w->out.data + w->out.cap, s, n);
	if (!end) {
		if (key)
			return jw_misuse(w, "a key that is not valid UTF-8");
		end = escape_fallback(o, s, n);
	}
	if (key)
		*end++ = ':';
	jw_commit(w, end);
	return true;
}

bool jw_keyn(struct jw *w, const char *name, size_t len)
{
	if (w->err != JW_OK)
		return false;
	uint32_t bit = w->depth ? 1u << (w->depth - 1) : 0;
	if (!w->depth || (w->is_array & bit))
		return jw_misuse(w, "a key outside an object");
	if (w->after_key)
		return jw_misuse(w, "a key where the value of the last is due");
	int comma = (w->has_items & bit) != 0;
	w->has_items |= bit;
	if (!put_string(w, comma, (const uint8_t *)name, len, true))
		return false;
	w->after_key = true;
	return true;
}

bool jw_strn(struct jw *w, const char *s, size_t len)
{
	int comma = jw_begin(w);
	if (comma < 0 || !put_string(w, comma, (const uint8_t *)s, len, false))
		return false;
	jw_end(w);
	return true;
}

bool jw_str_or_null(struct jw *w, const char *s)
{
	return s && *s ? jw_strn(w, s, strlen(s)) : jw_null(w);
}

/* ---- other values ------------------------------------------------------------------ */

/* A value of at most n bytes: its room, after the ',' when one is due. */
static char *jw_value_room(struct jw *w, size_t n)
{
	int comma = jw_begin(w);
	if (comma < 0)
		return NULL;
	if (n > w->out.max_bytes) {
		jw_fail(w, JW_OVER_CAP, NULL);
		return NULL;
	}
	char *o = jw_room(w, n + (size_t)comma);
	if (o && comma)
		*o++ = ',';
	return o;
}

static bool jw_value_done(struct jw *w, char *end)
{
	jw_commit(w, end);
	jw_end(w);
	return true;
}

static char *put_u64(char *o, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(o, tmp + i, sizeof tmp - i);
	return o + (sizeof tmp - i);
}

bool jw_uint(struct jw *w, uint64_t v)
{
	char *o = jw_value_room(w, 20);
	return o && jw_value_done(w, put_u64(o, v));
}

bool jw_int(struct jw *w, int64_t v)
{
	char *o = jw_value_room(w, 20);
	if (!o)
		return false;
	if (v < 0) {
		*o++ = '-';
		o = put_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		o = put_u64(o, (uint64_t)v);
	}
	return jw_value_done(w, o);
}

static bool jw_word(struct jw *w, const char *word, size_t n)
{
	char *o = jw_value_room(w, n);
	if (!o)
		return false;
	memcpy(o, word, n);
	return jw_value_done(w, o + n);
}

bool jw_bool(struct jw *w, bool v)
{
	return v ? jw_word(w, "true", 4) : jw_word(w, "false", 5);
}

bool jw_null(struct jw *w)
{
	return jw_word(w, "null", 4);
}

bool jw_raw(struct jw *w, const char *json, size_t len)
{
	return jw_word(w, json, len);
}

bool jw_hex(struct jw *w, const uint8_t *p, size_t n)
{
	char *o = n <= SIZE_MAX / 2 - 2 ? jw_value_room(w, 2 * n + 2) : NULL;
	if (!o)
		return n <= SIZE_MAX / 2 - 2 ? false : jw_fail(w, JW_OVER_CAP, NULL);
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		*o++ = hex_lower[p[i] >> 4];
		*o++ = hex_lower[p[i] & 15];
	}
	*o++ = '"';
	return jw_value_done(w, o);
}

bool jw_base64(struct jw *w, const uint8_t *p, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = n <= SIZE_MAX / 2 ? jw_value_room(w, (n + 2) / 3 * 4 + 2) : NULL;
	if (!o)
		return n <= SIZE_MAX / 2 ? false : jw_fail(w, JW_OVER_CAP, NULL);
	size_t i = 0;
	*o++ = '"';
	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		o[0] = b64[v >> 18];
		o[1] = b64[v >> 12 & 63];
		o[2] = b64[v >> 6 & 63];
		o[3] = b64[v & 63];
		o += 4;
	}
	if (n - i) {
		uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
		o[0] = b64[v >> 18];
		o[1] = b64[v >> 12 & 63];
		o[2] = n - i == 2 ? b64[v >> 6 & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	*o++ = '"';
	return jw_value_done(w, o);
}

/* ---- time -------------------------------------------------------------------------- */

/* Days since 1970-01-01 to a date, and back (H. Hinnant's algorithms, for
 * the proleptic Gregorian calendar gmtime uses). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static inline char *put_2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" unquoted, as rep_iso_us()'s snprintf of
 * gmtime_r prints it ("%04d": a year past 9999 gets all its digits). */
static char *put_time(char *o, uint64_t ts_us)
{
	uint64_t secs = ts_us / 1000000;
	unsigned us = (unsigned)(ts_us % 1000000);
	unsigned sod = (unsigned)(secs % 86400);
	int64_t y;
	unsigned m, d;

	civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
	if (y < 10000) {
		o = put_2(o, (unsigned)y / 100);
		o = put_2(o, (unsigned)y % 100);
	} else {
		o = put_u64(o, (uint64_t)y);
	}
	*o++ = '-';
	o = put_2(o, m);
	*o++ = '-';
	o = put_2(o, d);
	*o++ = 'T';
	o = put_2(o, sod / 3600);
	*o++ = ':';
	o = put_2(o, sod / 60 % 60);
	*o++ = ':';
	o = put_2(o, sod % 60);
	*o++ = '.';
	o = put_2(o, us / 10000);
	o = put_2(o, us / 100 % 100);
	o = put_2(o, us % 100);
	*o++ = 'Z';
	return o;
}

bool jw_time_us(struct jw *w, uint64_t ts_us)
{
	char *o = jw_value_room(w, 40);
	if (!o)
		return false;
	*o++ = '"';
	o = put_time(o, ts_us);
	*o++ = '"';
	return jw_value_done(w, o);
}

bool jr_parse_time_us(const char *s, uint64_t *ts_us)
{
	unsigned v[7] = { 0 };
	static const char seps[] = "--T::.Z";
	static const unsigned widths[] = { 2, 2, 2, 2, 2, 6 };
	const char *p = s;
	uint64_t y = 0;
	int ydigits = 0;

	while (*p >= '0' && *p <= '9' && ydigits < 7) {
		y = y * 10 + (uint64_t)(*p++ - '0');
		ydigits++;
	}
	if (ydigits < 4 || ydigits > 6 || *p++ != seps[0])
		return false;
	for (int f = 0; f < 6; f++) {
		for (unsigned k = 0; k < widths[f]; k++) {
			if (*p < '0' || *p > '9')
				return false;
			v[f] = v[f] * 10 + (unsigned)(*p++ - '0');
		}
		if (*p++ != seps[f + 1])
			return false;
	}
	if (*p || y < 1970 || v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 31 ||
	    v[2] > 23 || v[3] > 59 || v[4] > 59)
		return false;
	int64_t days = days_from_civil((int64_t)y, v[0], v[1]);
	uint64_t secs = (uint64_t)days * 86400 + v[2] * 3600u + v[3] * 60u + v[4];
	if (days < 0 || secs > (UINT64_MAX - v[5]) / 1000000)
		return false;
	uint64_t t = secs * 1000000 + v[5];
	/* Only the one spelling jw_time_us writes: no 31 April, no "01970". */
	char again[40];
	*put_time(again, t) = '\0';
	if (strcmp(again, s))
		return false;
	*ts_us = t;
	return true;
}

/* ---- field tables: writing --------------------------------------------------------- */

static uint64_t get_count(const void *rec, const struct jw_field *f)
{
	const char *p = (const char *)rec + f->count_off;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (f->count_size) {
	case 1: memcpy(&v8, p, 1); return v8;
	case 2: memcpy(&v16, p, 2); return v16;
	case 4: memcpy(&v32, p, 4); return v32;
	case 8: memcpy(&v64, p, 8); return v64;
	}
	return 0;
}

static void set_count(void *rec, const struct jw_field *f, uint64_t v)
{
	char *p = (char *)rec + f->count_off;
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (f->count_size) {
	case 1: memcpy(p, &v8, 1); break;
	case 2: memcpy(p, &v16, 2); break;
	case 4: memcpy(p, &v32, 4); break;
	case 8: memcpy(p, &v, 8); break;
	}
}

/* Elements to write: the count, at most max. */
static size_t elem_count(const void *rec, const struct jw_field *f)
{
	uint64_t n = get_count(rec, f);
	if (f->max && n > f->max)
		n = f->max;
	return (size_t)n;
}

static uint64_t get_uint(const void *p, enum jw_kind kind)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (kind) {
	case JW_U16: memcpy(&v16, p, 2); return v16;
	case JW_U32: memcpy(&v32, p, 4); return v32;
	default: memcpy(&v64, p, 8); return v64;
	}
}

/* Whether the member holds nothing, for JW_NULL_EMPTY and JW_OMIT_EMPTY. */
static bool field_empty(const struct jw_field *f, const void *rec)
{
	const char *p = (const char *)rec + f->off;

	switch (f->kind) {
	case JW_CHARS:
		return p[0] == '\0';
	case JW_STRING: {
		const char *s;
		memcpy(&s, p, sizeof s);
		return !s || !*s;
	}
	case JW_BOOL:
		return !*(const bool *)p;
	case JW_U16: case JW_U32: case JW_U64: case JW_TIME_US:
		return get_uint(p, f->kind) == 0;
	case JW_STRINGS: case JW_RECORDS:
		return elem_count(rec, f) == 0;
	case JW_HEX:
		if (f->count_size)
			return get_count(rec, f) == 0;
		for (size_t i = 0; i < f->size; i++)
			if (p[i])
				return false;
		return true;
	case JW_CONST: case JW_OBJECT: case JW_CUSTOM:
		break;
	}
	return false;
}

static bool write_value(struct jw *w, const struct jw_field *f, const void *rec)
{
	const char *p = (const char *)rec + f->off;

	switch (f->kind) {
	case JW_CONST:
		return jw_str(w, f->text);
	case JW_CHARS:
		return jw_strn(w, p, strnlen(p, f->size));
	case JW_STRING: {
		const char *s;
		memcpy(&s, p, sizeof s);
		return jw_str(w, s);
	}
	case JW_BOOL:
		return jw_bool(w, *(const bool *)p);
	case JW_U16: case JW_U32: case JW_U64:
		return jw_uint(w, get_uint(p, f->kind));
	case JW_TIME_US:
		return jw_time_us(w, get_uint(p, JW_U64));
	case JW_STRINGS: {
		size_t n = elem_count(rec, f);
		char *const *v = NULL;
		if (!(f->flags & JW_INLINE)) {
			memcpy(&v, p, sizeof v);
			if (!v)
				n = 0;
		}
		jw_array_open(w);
		for (size_t i = 0; i < n; i++) {
			if (f->flags & JW_INLINE)
				jw_strn(w, p + i * f->size, strnlen(p + i * f->size, f->size));
			else
				jw_str(w, v[i]);
		}
		return jw_array_close(w);
	}
	case JW_OBJECT:
		return jw_write_fields(w, f->sub->fields, f->sub->n, p);
	case JW_RECORDS: {
		size_t n = elem_count(rec, f);
		const char *base = p;
		if (!(f->flags & JW_INLINE)) {
			memcpy(&base, p, sizeof base);
			if (!base)
				n = 0;
		}
		jw_array_open(w);
		for (size_t i = 0; i < n; i++)
			jw_write_fields(w, f->sub->fields, f->sub->n, base + i * f->size);
		return jw_array_close(w);
	}
	case JW_HEX: {
		size_t n = f->size;
		if (f->count_size && get_count(rec, f) < n)
			n = (size_t)get_count(rec, f);
		return jw_hex(w, (const uint8_t *)p, n);
	}
	case JW_CUSTOM:
		if (!f->write)
			return jw_misuse(w, "a custom field without a write callback");
		return f->write(w, rec, f);
	}
	return jw_misuse(w, "a field of unknown kind");
}

bool jw_write_members(struct jw *w, const struct jw_field *t, size_t n, const void *rec)
{
	for (size_t i = 0; i < n && w->err == JW_OK; i++) {
		const struct jw_field *f = &t[i];
		if (f->when && !f->when(rec))
			continue;
		bool empty = (f->flags & (JW_OMIT_EMPTY | JW_NULL_EMPTY)) && field_empty(f, rec);
		if (empty && (f->flags & JW_OMIT_EMPTY))
			continue;
		jw_key(w, f->name);
		if (empty)
			jw_null(w);
		else
			write_value(w, f, rec);
	}
	return w->err == JW_OK;
}

bool jw_write_fields(struct jw *w, const struct jw_field *t, size_t n, const void *rec)
{
	jw_object_open(w);
	jw_write_members(w, t, n, rec);
	return jw_object_close(w);
}

/* ---- field tables: reading --------------------------------------------------------- */

struct jr_ctx {
	char *err;
	size_t errlen;
	char path[192];               /* "alerts[2].from" */
	size_t plen;
};

static bool jr_fail(struct jr_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool jr_fail(struct jr_ctx *c, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (c->errlen)
		snprintf(c->err, c->errlen, "%s: %s", c->plen ? c->path : "(event)", why);
	return false;
}

/* Appends ".name" (or "name" first) or "[i]" to the path; the old length. */
static size_t jr_push(struct jr_ctx *c, const char *name, size_t index)
{
	size_t old = c->plen;
	int n = name ? snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s",
				c->plen ? "." : "", name)
		     : snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", index);
	if (n > 0)
		c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n
			   : sizeof c->path - 1 - c->plen;
	return old;
}

static void jr_pop(struct jr_ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* A JSON string as a C string: NUL bytes inside cannot be one. */
static const char *jr_cstring(struct jr_ctx *c, const json_t *v, size_t *len)
{
	if (!json_is_string(v)) {
		jr_fail(c, "a string expected");
		return NULL;
	}
	const char *s = json_string_value(v);
	*len = json_string_length(v);
	if (memchr(s, '\0', *len)) {
		jr_fail(c, "a string without NUL bytes expected");
		return NULL;
	}
	return s;
}

static bool jr_chars(struct jr_ctx *c, const json_t *v, char *dst, size_t size)
{
	size_t len;
	const char *s = jr_cstring(c, v, &len);
	if (!s)
		return false;
	if (len >= size)
		return jr_fail(c, "a string of at most %zu bytes expected", size - 1);
	memcpy(dst, s, len + 1);
	return true;
}

/* A string (or null: NULL) into a malloc'd copy. */
static bool jr_strdup(struct jr_ctx *c, const json_t *v, char **dst)
{
	size_t len;

	if (json_is_null(v)) {
		*dst = NULL;
		return true;
	}
	const char *s = jr_cstring(c, v, &len);
	if (!s)
		return false;
	if (!(*dst = str_dup(s)))
		return jr_fail(c, "out of memory");
	return true;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

static bool jr_members(struct jr_ctx *c, const json_t *obj, const struct jw_field *t, size_t n,
		       void *rec);

/* Elements of an array member: checked against max, the count set. */
static bool jr_array(struct jr_ctx *c, const json_t *v, const struct jw_field *f, size_t *n)
{
	if (!json_is_array(v))
		return jr_fail(c, "an array expected");
	*n = json_array_size(v);
	if (f->max && *n > f->max)
		return jr_fail(c, "at most %zu elements expected, %zu found", f->max, *n);
	return true;
}

static bool jr_value(struct jr_ctx *c, const json_t *v, const struct jw_field *f, void *rec)
{
	char *p = (char *)rec + f->off;

	switch (f->kind) {
	case JW_CONST:
		if (!json_is_string(v) || strcmp(json_string_value(v), f->text))
			return jr_fail(c, "\"%s\" expected", f->text);
		return true;
	case JW_CHARS:
		return jr_chars(c, v, p, f->size);
	case JW_STRING: {
		char *s;
		if (!jr_strdup(c, v, &s))
			return false;
		memcpy(p, &s, sizeof s);
		return true;
	}
	case JW_BOOL:
		if (!json_is_boolean(v))
			return jr_fail(c, "true or false expected");
		*(bool *)p = json_is_true(v);
		return true;
	case JW_U16: case JW_U32: case JW_U64: {
		uint64_t max = f->kind == JW_U16 ? UINT16_MAX : f->kind == JW_U32 ? UINT32_MAX
			       : INT64_MAX;     /* jansson reads no larger integer */
		json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
		if (x < 0 || (uint64_t)x > max)
			return jr_fail(c, "an integer from 0 to %llu expected",
				       (unsigned long long)max);
		uint16_t v16 = (uint16_t)x;
		uint32_t v32 = (uint32_t)x;
		uint64_t v64 = (uint64_t)x;
		if (f->kind == JW_U16)
			memcpy(p, &v16, 2);
		else if (f->kind == JW_U32)
			memcpy(p, &v32, 4);
		else
			memcpy(p, &v64, 8);
		return true;
	}
	case JW_TIME_US: {
		uint64_t t;
		if (!json_is_string(v) || !jr_parse_time_us(json_string_value(v), &t))
			return jr_fail(c, "a time like 2013-04-02T14:50:27.214000Z expected");
		memcpy(p, &t, sizeof t);
		return true;
	}
	case JW_STRINGS: {
		size_t n;
		if (!jr_array(c, v, f, &n))
			return false;
		char **arr = NULL;
		if (!(f->flags & JW_INLINE) && n) {
			if (!(arr = calloc(n, sizeof *arr)))
				return jr_fail(c, "out of memory");
			memcpy(p, &arr, sizeof arr);
		}
		set_count(rec, f, n);           /* so that a failure frees what was read */
		for (size_t i = 0; i < n; i++) {
			size_t old = jr_push(c, NULL, i);
			const json_t *e = json_array_get(v, i);
			bool ok = f->flags & JW_INLINE ? jr_chars(c, e, p + i * f->size, f->size)
				  : jr_strdup(c, e, &arr[i]);
			if (!ok)
				return false;
			jr_pop(c, old);
		}
		return true;
	}
	case JW_OBJECT:
		return jr_members(c, v, f->sub->fields, f->sub->n, p);
	case JW_RECORDS: {
		size_t n;
		if (!jr_array(c, v, f, &n))
			return false;
		char *base = p;
		if (!(f->flags & JW_INLINE)) {
			base = NULL;
			if (n && !(base = calloc(n, f->size)))
				return jr_fail(c, "out of memory");
			memcpy(p, &base, sizeof base);
		}
		set_count(rec, f, n);
		for (size_t i = 0; i < n; i++) {
			size_t old = jr_push(c, NULL, i);
			if (!jr_members(c, json_array_get(v, i), f->sub->fields, f->sub->n,
					base + i * f->size))
				return false;
			jr_pop(c, old);
		}
		return true;
	}
	case JW_HEX: {
		size_t len;
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		len = s ? json_string_length(v) : 0;
		if (!s || len % 2 || (f->count_size ? len / 2 > f->size : len / 2 != f->size))
			return f->count_size
			       ? jr_fail(c, "hex of at most %zu bytes expected", f->size)
			       : jr_fail(c, "hex of %zu bytes expected", f->size);
		for (size_t i = 0; i < len / 2; i++) {
			int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return jr_fail(c, "hex digits expected");
			p[i] = (char)(hi << 4 | lo);
		}
		if (f->count_size)
			set_count(rec, f, len / 2);
		return true;
	}
	case JW_CUSTOM: {
		char why[160] = "not understood";
		if (!f->read)
			return jr_fail(c, "a custom field without a read callback");
		if (!f->read(v, rec, f, why, sizeof why))
			return jr_fail(c, "%s", why);
		return true;
	}
	}
	return jr_fail(c, "a field of unknown kind");
}

static bool jr_members(struct jr_ctx *c, const json_t *obj, const struct jw_field *t, size_t n,
		       void *rec)
{
	if (!json_is_object(obj))
		return jr_fail(c, "an object expected");
	for (size_t i = 0; i < n; i++) {
		const struct jw_field *f = &t[i];
		size_t old = jr_push(c, f->name, 0);
		const json_t *v = json_object_get(obj, f->name);
		if (!v) {
			if (!(f->flags & JW_OMIT_EMPTY) && !f->when)
				return jr_fail(c, "missing");
		} else if (!(json_is_null(v) && (f->flags & JW_NULL_EMPTY) &&
			     f->kind != JW_CONST)) {
			if (!jr_value(c, v, f, rec))
				return false;
		}
		jr_pop(c, old);
	}
	return true;
}

bool jr_read_fields(const struct json_t *obj, const struct jw_field *t, size_t n, void *rec,
		    char *err, size_t errlen)
{
	struct jr_ctx c = { .err = err, .errlen = errlen };

	if (errlen)
		err[0] = '\0';
	if (jr_members(&c, obj, t, n, rec))
		return true;
	jr_free_fields(t, n, rec);
	return false;
}

void jr_free_fields(const struct jw_field *t, size_t n, void *rec)
{
	for (size_t i = 0; i < n; i++) {
		const struct jw_field *f = &t[i];
		char *p = (char *)rec + f->off;
		switch (f->kind) {
		case JW_STRING: {
			char *s;
			memcpy(&s, p, sizeof s);
			free(s);
			s = NULL;
			memcpy(p, &s, sizeof s);
			break;
		}
		case JW_STRINGS:
			if (!(f->flags & JW_INLINE)) {
				char **arr;
				memcpy(&arr, p, sizeof arr);
				size_t k = arr ? elem_count(rec, f) : 0;
				for (size_t j = 0; j < k; j++)
					free(arr[j]);
				free(arr);
				arr = NULL;
				memcpy(p, &arr, sizeof arr);
				set_count(rec, f, 0);
			}
			break;
		case JW_OBJECT:
			jr_free_fields(f->sub->fields, f->sub->n, p);
			break;
		case JW_RECORDS: {
			char *base = p;
			if (!(f->flags & JW_INLINE))
				memcpy(&base, p, sizeof base);
			size_t k = base ? elem_count(rec, f) : 0;
			for (size_t j = 0; j < k; j++)
				jr_free_fields(f->sub->fields, f->sub->n, base + j * f->size);
			if (!(f->flags & JW_INLINE)) {
				free(base);
				base = NULL;
				memcpy(p, &base, sizeof base);
				set_count(rec, f, 0);
			}
			break;
		}
		case JW_CUSTOM:
			if (f->release)
				f->release(rec, f);
			break;
		default:
			break;
		}
	}
}
