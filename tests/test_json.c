/*
 * test_json.c — the streaming JSON writer (lib/json.h) against jansson
 * itself, and the field tables' round trip.
 *
 * The writer promises the bytes report/output/jsonl.c printed, when it
 * built jansson trees, from json_dumpb(..., JSON_COMPACT | JSON_ENSURE_ASCII)
 * of the same values, with jstr()'s '?' fallback for strings jansson
 * refuses.  So every test here builds the jansson value that way (ref_jstr
 * below is its jstr()), dumps it, and compares with the writer's line byte
 * for byte: fixed tricky strings, thousands of random byte strings (valid and invalid
 * UTF-8, control bytes, 4-byte sequences, overlongs, encoded surrogates),
 * integers, times, hex, base64, and random nested documents.  The random
 * inputs come from a fixed seed, so a failure repeats; JSON_TEST_SEED in the
 * environment tries another.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/json.h"
#include "report/rep_int.h"

/* ---- what jsonl.c did with jansson --------------------------------------------------- */

/* The jansson jsonl.c's jstr(), for a string of n bytes (json_stringn: a C
 * string is the case without NUL bytes). */
static json_t *ref_jstrn(const char *s, size_t n)
{
	if (!s)
		return json_null();
	json_t *v = json_stringn(s, n);
	if (v)
		return v;
	char *copy = malloc(n + 1);
	cr_assert(copy);
	memcpy(copy, s, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80 || (unsigned char)copy[i] < 0x20)
			copy[i] = '?';
	v = json_stringn(copy, n);
	free(copy);
	cr_assert(v);
	return v;
}

static json_t *ref_jstr(const char *s)
{
	return s ? ref_jstrn(s, strlen(s)) : json_null();
}

/* json_dumpb as the jansson jsonl.c's emit() calls it; malloc'd, NUL-terminated. */
static char *ref_dump(json_t *v)
{
	const size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII;
	size_t n = json_dumpb(v, NULL, 0, flags);
	cr_assert(n > 0);
	char *b = malloc(n + 1);
	cr_assert(b);
	cr_assert_eq(json_dumpb(v, b, n, flags), n);
	b[n] = '\0';
	json_decref(v);
	return b;
}

/* The writer's line without its '\n', malloc'd. */
static char *jw_take_line(struct jw *w)
{
	size_t n;
	const char *line = jw_line_end(w, &n);
	cr_assert(line, "writer failed: %s", jw_strerror(w));
	cr_assert(n >= 1 && line[n - 1] == '\n');
	cr_assert_eq(strlen(line), n, "a NUL inside the line");
	char *s = malloc(n);
	cr_assert(s);
	memcpy(s, line, n - 1);
	s[n - 1] = '\0';
	jw_reset(w);
	return s;
}

static void hexdump(char *out, size_t outlen, const uint8_t *p, size_t n)
{
	struct buf b = BUF_INIT(outlen - 1);
	buf_hex(&b, p, n > (outlen - 1) / 2 ? (outlen - 1) / 2 : n, false);
	snprintf(out, outlen, "%s", buf_str(&b));
	buf_free(&b);
}

/* ["s"] through jansson and through the writer. */
static void check_string(const uint8_t *s, size_t n)
{
	struct jw w;
	jw_init(&w, 0);
	json_t *a = json_array();
	json_array_append_new(a, ref_jstrn((const char *)s, n));
	char *want = ref_dump(a);
	jw_array_open(&w);
	jw_strn(&w, (const char *)s, n);
	jw_array_close(&w);
	char *got = jw_take_line(&w);
	char in[200];
	hexdump(in, sizeof in, s, n);
	cr_assert_str_eq(got, want, "input %s (%zu bytes)", in, n);
	free(want);
	free(got);

	/* and as a C string through jw_str / jstr, when it is one */
	if (!memchr(s, 0, n)) {
		char *c = malloc(n + 1);
		cr_assert(c);
		memcpy(c, s, n);
		c[n] = '\0';
		a = json_array();
		json_array_append_new(a, ref_jstr(c));
		want = ref_dump(a);
		jw_array_open(&w);
		jw_str(&w, c);
		jw_array_close(&w);
		got = jw_take_line(&w);
		cr_assert_str_eq(got, want, "C string %s", in);
		free(want);
		free(got);
		free(c);
	}
	jw_free(&w);
}

/* ---- a repeatable random source -------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(void)
{
	const char *e = getenv("JSON_TEST_SEED");
	rng_state = e ? strtoull(e, NULL, 0) : 0x6a09e667f3bcc908ull;
	if (!rng_state)
		rng_state = 1;
}

static uint64_t rng(void)
{
	uint64_t x = rng_state;            /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned rng_below(unsigned n) { return (unsigned)(rng() % n); }

/* A code point encoded in UTF-8, valid or (the point of the exercise) not:
 * surrogates, overlong forms and values past U+10FFFF encoded anyway. */
static size_t put_utf8(uint8_t *o, uint32_t cp, unsigned len)
{
	switch (len) {
	case 1: o[0] = (uint8_t)cp; return 1;
	case 2: o[0] = (uint8_t)(0xc0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3f)); return 2;
	case 3: o[0] = (uint8_t)(0xe0 | cp >> 12); o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f)); return 3;
	default: o[0] = (uint8_t)(0xf0 | (cp >> 18 & 0x07)); o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)); o[3] = (uint8_t)(0x80 | (cp & 0x3f));
		return 4;
	}
}

static unsigned utf8_len_of(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* One random character of some kind. */
static size_t rand_char(uint8_t *o)
{
	uint32_t cp;
	switch (rng_below(12)) {
	case 0: o[0] = (uint8_t)rng_below(0x20); return 1;                  /* control */
	case 1: o[0] = "\"\\/\x7f"[rng_below(4)]; return 1;
	case 2: o[0] = (uint8_t)rng(); return 1;                            /* any byte */
	case 3: cp = 0x80 + rng_below(0x780); return put_utf8(o, cp, 2);
	case 4: cp = 0x800 + rng_below(0xf800); return put_utf8(o, cp, 3);  /* incl. surrogates */
	case 5: cp = 0xd800 + rng_below(0x800); return put_utf8(o, cp, 3);  /* a surrogate */
	case 6: cp = 0x10000 + rng_below(0x100000); return put_utf8(o, cp, 4);
	case 7: cp = 0x110000 + rng_below(0x30000); return put_utf8(o, cp, 4);  /* too big */
	case 8: cp = rng_below(0x10000);                                    /* overlong */
		return put_utf8(o, cp, utf8_len_of(cp) + 1 + rng_below(4 - utf8_len_of(cp)));
	case 9: o[0] = (uint8_t)(0x80 + rng_below(0x40)); return 1;          /* stray continuation */
	case 10: cp = 0x10000 + rng_below(0x100000);                        /* truncated */
		put_utf8(o, cp, 4);
		return 1 + rng_below(3);
	default: o[0] = (uint8_t)(0x20 + rng_below(0x5f)); return 1;        /* printable */
	}
}

/* A random string, mostly text with a hostile character here and there;
 * valid says whether to keep only valid UTF-8 (then no NUL either). */
static size_t rand_string(uint8_t *o, size_t cap, bool valid)
{
	size_t n = 0, want = rng_below(8) == 0 ? rng_below((unsigned)cap - 4) : rng_below(40);
	unsigned hostile = rng_below(4);
	while (n + 4 < cap && n < want) {
		uint8_t c[4];
		size_t k;
		if (rng_below(8) < hostile) {
			k = rand_char(c);
		} else {
			c[0] = (uint8_t)(0x20 + rng_below(0x5f));
			k = 1;
		}
		if (valid) {
			json_t *t = json_stringn((const char *)c, k);
			bool ok = t && !memchr(c, 0, k);
			json_decref(t);
			if (!ok)
				continue;
		}
		memcpy(o + n, c, k);
		n += k;
	}
	return n;
}

/* ---- strings ----------------------------------------------------------------------- */

struct bytes {
	const char *s;
	size_t n;
};
#define B(lit) { lit, sizeof(lit) - 1 }

static const struct bytes tricky[] = {
	B(""), B("a"), B("plain ASCII, with spaces / slashes / and 0x7f \x7f"),
	B("\"\\"), B("\b\f\n\r\t"), B("\x01\x02\x1f\x0b\x0e"), B("\0"), B("a\0b"),
	B("CN=Contoso Root CA,DC=contoso,DC=com"), B("</script>"),
	B("\xc2\x80"), B("\xc3\xa9t\xc3\xa9"), B("\xdf\xbf"), B("\xe0\xa0\x80"),
	B("\xe2\x82\xac"), B("\xef\xbf\xbd"), B("\xef\xbf\xbf"), B("\xef\xbb\xbf BOM"),
	B("\xf0\x90\x80\x80"), B("\xf0\x9f\x98\x80"), B("\xf4\x8f\xbf\xbf"),
	B("\xed\x9f\xbf"),                                        /* U+D7FF, valid */
	B("\xee\x80\x80"),                                        /* U+E000, valid */
	/* refused by jansson: */
	B("\x80"), B("\xbf"), B("\xc0\x80"), B("\xc1\xbf"), B("\xe0\x80\x80"), B("\xe0\x9f\xbf"),
	B("\xf0\x80\x80\x80"), B("\xf0\x8f\xbf\xbf"), B("\xed\xa0\x80"), B("\xed\xbf\xbf"),
	B("\xed\xa0\xbd\xed\xb8\x80"),                            /* a surrogate pair, CESU-8 */
	B("\xf4\x90\x80\x80"), B("\xf5\x80\x80\x80"), B("\xf8\x88\x80\x80\x80"), B("\xfe"), B("\xff"),
	B("\xe2\x82"), B("abc\xe2"), B("\xc3"), B("\xc3\x28"), B("\xe2\x28\xa1"),
	B("ok \"quoted\" then \xff bad \\ and \x01 control"),
	B("\xc3\xa9 valid then \x80"), B("12345678\x80" "2345678"), B("1234567\xc3\xa9" "89"),
};

Test(json_writer, escapes_tricky_strings_as_jansson_does)
{
	for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++)
		check_string((const uint8_t *)tricky[i].s, tricky[i].n);
}

Test(json_writer, writes_the_escapes_jansson_writes)
{
	/* The knowledge the differential test relies on, spelled out. */
	static const struct { struct bytes in; const char *out; } cases[] = {
		{ B("\x01"), "[\"\\u0001\"]" },
		{ B("\x1f"), "[\"\\u001F\"]" },          /* uppercase, as jansson */
		{ B("\x7f/"), "[\"\x7f/\"]" },           /* neither escaped */
		{ B("\xc3\xa9"), "[\"\\u00E9\"]" },
		{ B("\xf0\x9f\x98\x80"), "[\"\\uD83D\\uDE00\"]" },
		{ B("\0"), "[\"\\u0000\"]" },
		{ B("\xc0\x80"), "[\"??\"]" },            /* overlong NUL: jstr()'s fallback */
		{ B("\xed\xa0\x80"), "[\"???\"]" },       /* a surrogate */
		{ B("a\"\xff\x01"), "[\"a\\\"??\"]" },    /* the fallback still escapes '"' */
	};
	struct jw w;
	jw_init(&w, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		jw_array_open(&w);
		jw_strn(&w, cases[i].in.s, cases[i].in.n);
		jw_array_close(&w);
		char *got = jw_take_line(&w);
		cr_assert_str_eq(got, cases[i].out);
		free(got);
	}
	jw_free(&w);
}

Test(json_writer, random_byte_strings_match_jansson)
{
	uint8_t s[700];
	unsigned valid = 0, refused = 0;

	rng_seed();
	for (int i = 0; i < 6000; i++) {
		size_t n = rand_string(s, sizeof s, false);
		json_t *t = json_stringn((const char *)s, n);
		if (t)
			valid++;
		else
			refused++;
		json_decref(t);
		check_string(s, n);
	}
	/* Both of jansson's answers were exercised, many times each. */
	cr_assert_gt(valid, 1000, "%u valid", valid);
	cr_assert_gt(refused, 1000, "%u refused", refused);
}

Test(json_writer, long_strings_take_the_measured_path_and_match)
{
	/* Over JW_ESC_FAST_MAX (4096) the writer measures before reserving. */
	static uint8_t s[20000];
	rng_seed();
	for (int i = 0; i < 40; i++) {
		size_t n = 4000 + rng_below(16000);
		bool valid = i % 2 == 0;
		size_t k = 0;
		while (k < n) {
			uint8_t c[4];
			size_t m = rng_below(4) ? (c[0] = (uint8_t)(0x20 + rng_below(0x5f)), 1) : rand_char(c);
			if (valid) {
				json_t *t = json_stringn((const char *)c, m);
				bool ok = t != NULL;
				json_decref(t);
				if (!ok)
					continue;
			}
			if (k + m > sizeof s)
				break;
			memcpy(s + k, c, m);
			k += m;
		}
		check_string(s, k);
	}
}

/* ---- keys -------------------------------------------------------------------------- */

Test(json_writer, keys_are_escaped_like_strings)
{
	static const char *keys[] = { "event", "a\"b\\c", "tab\there", "\x01", "\xc3\xa9t\xc3\xa9",
				      "\xf0\x9f\x98\x80", "", "/" };
	struct jw w;
	jw_init(&w, 0);
	json_t *o = json_object();
	jw_object_open(&w);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		cr_assert_eq(json_object_set_new(o, keys[i], json_integer((json_int_t)i)), 0);
		jw_kv_int(&w, keys[i], (int64_t)i);
	}
	jw_object_close(&w);
	char *want = ref_dump(o), *got = jw_take_line(&w);
	cr_assert_str_eq(got, want);
	free(want);
	free(got);
	jw_free(&w);
}

Test(json_writer, a_key_jansson_would_refuse_is_a_misuse)
{
	json_t *o = json_object();
	cr_assert_eq(json_object_set_new(o, "bad\xff", json_true()), -1);   /* jansson drops it */
	json_decref(o);

	struct jw w;
	jw_init(&w, 0);
	jw_object_open(&w);
	cr_assert(!jw_key(&w, "bad\xff"));
	cr_assert_eq(w.err, JW_MISUSE);
	cr_assert_str_eq(jw_strerror(&w), "JSON writer misuse: a key that is not valid UTF-8");
	jw_free(&w);
}

/* ---- numbers, words, times, bytes -------------------------------------------------- */

Test(json_writer, integers_print_as_json_integer)
{
	static const int64_t fixed[] = { 0, 1, -1, 9, 10, -10, 99, 100, 65535, 65536, 4294967295,
					 INT64_MAX, INT64_MIN, INT64_MIN + 1, -9999999999 };
	struct jw w;
	jw_init(&w, 0);
	rng_seed();
	for (int i = 0; i < 2000; i++) {
		int64_t v = i < (int)(sizeof fixed / sizeof fixed[0]) ? fixed[i]
			    : (int64_t)(rng() >> rng_below(64));
		if (i % 3 == 0 && v != INT64_MIN)
			v = -v;
		json_t *a = json_array();
		json_array_append_new(a, json_integer(v));
		if (v >= 0)
			json_array_append_new(a, json_integer(v));
		char *want = ref_dump(a);
		jw_array_open(&w);
		jw_int(&w, v);
		if (v >= 0)
			jw_uint(&w, (uint64_t)v);
		jw_array_close(&w);
		char *got = jw_take_line(&w);
		cr_assert_str_eq(got, want);
		free(want);
		free(got);
	}
	/* Past INT64_MAX jansson has no integer; the writer prints the value. */
	jw_array_open(&w);
	jw_uint(&w, UINT64_MAX);
	jw_array_close(&w);
	char *got = jw_take_line(&w);
	cr_assert_str_eq(got, "[18446744073709551615]");
	free(got);
	jw_free(&w);
}

Test(json_writer, true_false_null_and_empty_containers)
{
	struct jw w;
	jw_init(&w, 0);
	json_t *o = json_pack("{s:b,s:b,s:n,s:[],s:{},s:[[],{}]}", "t", 1, "f", 0, "n", "a", "o",
			      "nest");
	char *want = ref_dump(o);
	jw_object_open(&w);
	jw_kv_bool(&w, "t", true);
	jw_kv_bool(&w, "f", false);
	jw_kv_null(&w, "n");
	jw_kv_array_open(&w, "a");
	jw_array_close(&w);
	jw_kv_object_open(&w, "o");
	jw_object_close(&w);
	jw_kv_array_open(&w, "nest");
	jw_array_open(&w);
	jw_array_close(&w);
	jw_object_open(&w);
	jw_object_close(&w);
	jw_array_close(&w);
	jw_object_close(&w);
	char *got = jw_take_line(&w);
	cr_assert_str_eq(got, want);
	cr_assert_str_eq(got, "{\"t\":true,\"f\":false,\"n\":null,\"a\":[],\"o\":{},\"nest\":[[],{}]}");
	free(want);
	free(got);
	jw_free(&w);
}

Test(json_writer, times_are_rep_iso_us)
{
	static const uint64_t fixed[] = {
		0, 999999, 1000000, 1350658227214000ull,                   /* the README's */
		951782400000000ull,                                         /* 2000-02-29 */
		951868799999999ull, 4107542400000000ull,                    /* 2100-03-01 */
		253402300799999999ull,                                      /* 9999-12-31 */
		253402300800000000ull,                                      /* 10000-01-01 */
		UINT64_MAX,
	};
	struct jw w;
	jw_init(&w, 0);
	rng_seed();
	for (int i = 0; i < 3000; i++) {
		uint64_t t = i < (int)(sizeof fixed / sizeof fixed[0]) ? fixed[i]
			     : i % 2 ? rng() % 4102444800000000ull : rng() >> rng_below(64);
		char iso[64];
		rep_iso_us(t, iso, sizeof iso);
		json_t *a = json_array();
		json_array_append_new(a, json_string(iso));
		char *want = ref_dump(a);
		jw_array_open(&w);
		jw_time_us(&w, t);
		jw_array_close(&w);
		char *got = jw_take_line(&w);
		cr_assert_str_eq(got, want, "ts_us %llu", (unsigned long long)t);
		free(want);
		free(got);

		uint64_t back = 0;
		cr_assert(jr_parse_time_us(iso, &back), "%s", iso);
		cr_assert_eq(back, t, "%s", iso);
	}
	jw_free(&w);
}

Test(json_reader, time_text_is_read_only_as_written)
{
	uint64_t t = 0;
	cr_assert(jr_parse_time_us("2012-10-19T14:50:27.214000Z", &t));
	cr_assert_eq(t, 1350658227214000ull);
	static const char *bad[] = {
		"2012-10-19T14:50:27Z", "2012-10-19T14:50:27.21400Z", "2012-10-19T14:50:27.2140000Z",
		"2012-10-19 14:50:27.214000Z", "2012-10-19T14:50:27.214000", "2012-10-19T14:50:27.214000Z ",
		"2012-02-30T00:00:00.000000Z", "2013-02-29T00:00:00.000000Z", "2012-13-01T00:00:00.000000Z",
		"2012-10-19T24:00:00.000000Z", "2012-10-19T14:60:00.000000Z", "2012-10-19T14:50:60.000000Z",
		"01970-01-01T00:00:00.000000Z", "1969-12-31T23:59:59.999999Z", "+2012-10-19T14:50:27.214000Z",
		"586524-12-31T23:59:59.999999Z", "999999-01-01T00:00:00.000000Z", "", "2012",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert(!jr_parse_time_us(bad[i], &t), "%s", bad[i]);
}

Test(json_writer, hex_and_base64_match_buf_hex_and_evp_encodeblock)
{
	uint8_t in[200];
	struct jw w;
	jw_init(&w, 0);
	rng_seed();
	for (size_t n = 0; n < sizeof in; n++) {
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rng();
		unsigned char b64[4 * (sizeof in / 3 + 1) + 1];
		EVP_EncodeBlock(b64, in, (int)n);
		struct buf hex = BUF_INIT(1024);
		buf_hex(&hex, in, n, false);
		json_t *a = json_array();
		json_array_append_new(a, json_string((const char *)b64));
		json_array_append_new(a, json_string(buf_str(&hex)));
		char *want = ref_dump(a);
		jw_array_open(&w);
		jw_base64(&w, in, n);
		jw_hex(&w, in, n);
		jw_array_close(&w);
		char *got = jw_take_line(&w);
		cr_assert_str_eq(got, want, "n %zu", n);
		free(want);
		free(got);
		buf_free(&hex);
	}
	jw_free(&w);
}

/* ---- random documents -------------------------------------------------------------- */

/* One random value, written to the writer and built in jansson alike. */
static json_t *rand_value(struct jw *w, int depth)
{
	uint8_t s[200];
	size_t n;
	unsigned kind = rng_below(depth < 5 ? 13 : 11);

	switch (kind) {
	case 0: case 1: case 2:
		n = rand_string(s, sizeof s, false);
		jw_strn(w, (const char *)s, n);
		return ref_jstrn((const char *)s, n);
	case 3: {                                                   /* jstr_or_null */
		n = rng_below(3) ? rand_string(s, sizeof s, false) : 0;
		for (size_t i = 0; i < n; i++)
			if (!s[i])
				s[i] = 'z';
		s[n] = '\0';
		jw_str_or_null(w, (const char *)s);
		return n ? ref_jstr((const char *)s) : json_null();
	}
	case 4: {
		int64_t v = (int64_t)rng() >> rng_below(64);
		jw_int(w, v);
		return json_integer(v);
	}
	case 5: {
		uint64_t v = rng() >> (1 + rng_below(63));
		jw_uint(w, v);
		return json_integer((json_int_t)v);
	}
	case 6:
		if (rng_below(2)) {
			bool b = rng_below(2);
			jw_bool(w, b);
			return json_boolean(b);
		}
		jw_null(w);
		return json_null();
	case 7: {
		uint64_t t = rng() % 4102444800000000ull;
		char iso[64];
		rep_iso_us(t, iso, sizeof iso);
		jw_time_us(w, t);
		return json_string(iso);
	}
	case 8: {
		n = rng_below(40);
		for (size_t i = 0; i < n; i++)
			s[i] = (uint8_t)rng();
		struct buf hex = BUF_INIT(1024);
		buf_hex(&hex, s, n, false);
		jw_hex(w, s, n);
		json_t *v = json_string(buf_str(&hex));
		buf_free(&hex);
		return v;
	}
	case 9: {
		n = rng_below(60);
		for (size_t i = 0; i < n; i++)
			s[i] = (uint8_t)rng();
		unsigned char b64[100];
		EVP_EncodeBlock(b64, s, (int)n);
		jw_base64(w, s, n);
		return json_string((const char *)b64);
	}
	case 10: {
		n = rand_string(s, sizeof s, false);
		json_t *v = ref_jstrn((const char *)s, n);
		/* pre-escaped: what jansson itself printed for a value */
		json_t *a = json_array();
		json_array_append(a, v);
		char *text = ref_dump(a);
		jw_raw(w, text + 1, strlen(text) - 2);
		free(text);
		return v;
	}
	case 11: {
		json_t *a = json_array();
		unsigned k = rng_below(6);
		jw_array_open(w);
		for (unsigned i = 0; i < k; i++)
			json_array_append_new(a, rand_value(w, depth + 1));
		jw_array_close(w);
		return a;
	}
	default: {
		json_t *o = json_object();
		unsigned k = rng_below(6);
		jw_object_open(w);
		for (unsigned i = 0; i < k; i++) {
			/* a random valid name, made unique by its index */
			n = rand_string(s, 60, true);
			n += (size_t)snprintf((char *)s + n, sizeof s - n, "\x01%u", i);
			json_t *v;
			jw_keyn(w, (const char *)s, n);
			v = rand_value(w, depth + 1);
			cr_assert_eq(json_object_set_new(o, (const char *)s, v), 0);
		}
		jw_object_close(w);
		return o;
	}
	}
}

Test(json_writer, random_documents_match_jansson)
{
	struct jw w;
	jw_init(&w, 0);
	rng_seed();
	for (int i = 0; i < 1500; i++) {
		json_t *doc;
		if (rng_below(2)) {
			doc = json_array();
			jw_array_open(&w);
			for (unsigned k = rng_below(5); k; k--)
				json_array_append_new(doc, rand_value(&w, 1));
			jw_array_close(&w);
		} else {
			doc = json_object();
			jw_object_open(&w);
			for (unsigned k = 0, m = rng_below(8); k < m; k++) {
				char key[16];
				snprintf(key, sizeof key, "f%u", k);
				jw_key(&w, key);
				json_object_set_new(doc, key, rand_value(&w, 1));
			}
			jw_object_close(&w);
		}
		char *want = ref_dump(doc), *got = jw_take_line(&w);
		cr_assert_str_eq(got, want, "document %d", i);
		free(want);
		free(got);
	}
	jw_free(&w);
}

/* ---- the cap, the depth, misuse, reuse --------------------------------------------- */

Test(json_writer, a_line_over_its_cap_fails_and_says_so)
{
	struct jw w;
	char s[100];
	memset(s, 'x', sizeof s);

	/* ["x..."] + '\n' is the string's length + 5: 59 fills a 64-byte cap. */
	jw_init(&w, 64);
	jw_array_open(&w);
	cr_assert(jw_strn(&w, s, 59));
	jw_array_close(&w);
	size_t n;
	cr_assert(jw_line_end(&w, &n));
	cr_assert_eq(n, 64);
	jw_reset(&w);

	/* 60: the string and ']' fit (64 bytes), the '\n' does not */
	jw_array_open(&w);
	cr_assert(jw_strn(&w, s, 60));
	cr_assert(jw_array_close(&w));
	cr_assert(!jw_line_end(&w, &n));
	cr_assert_eq(w.err, JW_OVER_CAP);
	cr_assert_str_eq(jw_strerror(&w), "the JSON line would pass its cap of 64 bytes");
	jw_reset(&w);

	/* 62: the string itself does not fit; everything after fails too */
	jw_array_open(&w);
	cr_assert(!jw_strn(&w, s, 62));
	cr_assert_eq(w.err, JW_OVER_CAP);
	cr_assert_eq(w.out.len, 1, "nothing of the string was kept");
	cr_assert(!jw_array_close(&w));                 /* sticky */
	cr_assert(!jw_line_end(&w, &n));
	cr_assert_str_eq(jw_strerror(&w), "the JSON line would pass its cap of 64 bytes");

	jw_reset(&w);                                    /* and usable again */
	cr_assert(jw_ok(&w));
	jw_array_open(&w);
	jw_uint(&w, 7);
	jw_array_close(&w);
	cr_assert_str_eq(jw_line_end(&w, &n), "[7]\n");
	jw_free(&w);
}

Test(json_writer, escapes_count_against_the_cap_only_as_written)
{
	/* 40 letters and 5 control bytes: 70 bytes escaped, 75 with the
	 * brackets, quotes and '\n'; the worst case of 45 bytes (272) would not
	 * fit, so the writer measures, and refuses only what does not fit. */
	char s[45];
	memset(s, 'x', 40);
	memset(s + 40, '\x01', 5);
	struct jw w;
	size_t n;
	jw_init(&w, 75);
	jw_array_open(&w);
	cr_assert(jw_strn(&w, s, sizeof s), "%s", jw_strerror(&w));
	jw_array_close(&w);
	cr_assert(jw_line_end(&w, &n));
	cr_assert_eq(n, 75);
	jw_free(&w);
	jw_init(&w, 74);
	jw_array_open(&w);
	jw_strn(&w, s, sizeof s);
	jw_array_close(&w);
	cr_assert(!jw_line_end(&w, &n));
	cr_assert_eq(w.err, JW_OVER_CAP);
	jw_free(&w);

	/* past JW_ESC_FAST_MAX the same, at the edge */
	static char big[9000];
	memset(big, 'y', sizeof big);
	jw_init(&w, 9005);
	jw_array_open(&w);
	cr_assert(jw_strn(&w, big, 9000), "%s", jw_strerror(&w));
	jw_array_close(&w);
	cr_assert(jw_line_end(&w, &n));
	cr_assert_eq(n, 9005);
	big[0] = '\x01';                                /* 5 more bytes escaped */
	jw_reset(&w);
	jw_array_open(&w);
	cr_assert(!jw_strn(&w, big, 9000));
	cr_assert_eq(w.err, JW_OVER_CAP);
	jw_free(&w);
}

Test(json_writer, the_default_cap_is_32_mib_per_line)
{
	struct jw w;
	size_t max_der = (JW_MAX_LINE_BYTES - 3) / 4 * 3;       /* '"' + base64 + '"' + '\n' */
	uint8_t *der = calloc(max_der + 3, 1);
	cr_assert(der);
	jw_init(&w, 0);
	cr_assert(jw_base64(&w, der, max_der), "%s", jw_strerror(&w));
	size_t n;
	cr_assert(jw_line_end(&w, &n));
	cr_assert_eq(n, JW_MAX_LINE_BYTES - 1);
	jw_reset(&w);
	cr_assert(!jw_base64(&w, der, max_der + 3));
	cr_assert_str_eq(jw_strerror(&w), "the JSON line would pass its cap of 33554432 bytes");
	jw_free(&w);
	free(der);
}

Test(json_writer, nesting_stops_at_the_depth_cap)
{
	struct jw w;
	jw_init(&w, 0);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		cr_assert(jw_array_open(&w));
	cr_assert(!jw_object_open(&w));
	cr_assert_eq(w.err, JW_TOO_DEEP);
	cr_assert_str_eq(jw_strerror(&w), "JSON nested deeper than 32 containers");
	jw_reset(&w);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		cr_assert(jw_array_open(&w));
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		cr_assert(jw_array_close(&w));
	size_t n;
	cr_assert(jw_line_end(&w, &n));
	cr_assert_eq(n, 2 * JW_MAX_DEPTH + 1);
	jw_free(&w);
}

static const char *misuse_after(void (*steps)(struct jw *))
{
	static char msg[160];
	struct jw w;
	size_t n;
	jw_init(&w, 0);
	steps(&w);
	if (jw_ok(&w))
		jw_line_end(&w, &n);
	cr_assert_eq(w.err, JW_MISUSE);
	snprintf(msg, sizeof msg, "%s", jw_strerror(&w));
	jw_free(&w);
	return msg;
}

static void value_without_key(struct jw *w) { jw_object_open(w); jw_uint(w, 1); }
static void key_in_array(struct jw *w) { jw_array_open(w); jw_key(w, "k"); }
static void key_at_top(struct jw *w) { jw_key(w, "k"); }
static void two_keys(struct jw *w) { jw_object_open(w); jw_key(w, "a"); jw_key(w, "b"); }
static void wrong_close(struct jw *w) { jw_object_open(w); jw_array_close(w); }
static void wrong_close2(struct jw *w) { jw_array_open(w); jw_object_close(w); }
static void close_nothing(struct jw *w) { jw_object_close(w); }
static void close_after_key(struct jw *w) { jw_object_open(w); jw_key(w, "a"); jw_object_close(w); }
static void open_at_end(struct jw *w) { jw_object_open(w); }
static void nothing(struct jw *w) { (void)w; }
static void two_values(struct jw *w) { jw_array_open(w); jw_array_close(w); jw_null(w); }
static void ended_twice(struct jw *w)
{
	size_t n;
	jw_null(w);
	jw_line_end(w, &n);
}

Test(json_writer, calls_out_of_order_are_refused_with_a_reason)
{
	cr_assert_str_eq(misuse_after(value_without_key),
			 "JSON writer misuse: a value in an object without a key");
	cr_assert_str_eq(misuse_after(key_in_array), "JSON writer misuse: a key outside an object");
	cr_assert_str_eq(misuse_after(key_at_top), "JSON writer misuse: a key outside an object");
	cr_assert_str_eq(misuse_after(two_keys),
			 "JSON writer misuse: a key where the value of the last is due");
	cr_assert_str_eq(misuse_after(wrong_close),
			 "JSON writer misuse: an array closed where an object is open");
	cr_assert_str_eq(misuse_after(wrong_close2),
			 "JSON writer misuse: an object closed where an array is open");
	cr_assert_str_eq(misuse_after(close_nothing), "JSON writer misuse: a close with nothing open");
	cr_assert_str_eq(misuse_after(close_after_key),
			 "JSON writer misuse: an object closed after a key, before its value");
	cr_assert_str_eq(misuse_after(open_at_end),
			 "JSON writer misuse: the line ended with a container open");
	cr_assert_str_eq(misuse_after(nothing), "JSON writer misuse: the line ended before its value");
	cr_assert_str_eq(misuse_after(two_values), "JSON writer misuse: a second value on one line");
	cr_assert_str_eq(misuse_after(ended_twice), "JSON writer misuse: the line was ended twice");
}

Test(json_writer, a_grown_buffer_is_reused_without_allocating)
{
	struct jw w;
	jw_init(&w, 0);
	char *first = NULL;
	size_t cap = 0;
	for (int round = 0; round < 100; round++) {
		jw_object_open(&w);
		jw_kv_str(&w, "event", "tls");
		jw_kv_time_us(&w, "ts", 1350658227214000ull + (uint64_t)round);
		jw_kv_str(&w, "subject", "CN=lyncpool.contoso.com,OU=IT,O=Contoso,C=US");
		jw_object_close(&w);
		size_t n;
		cr_assert(jw_line_end(&w, &n));
		if (round == 0) {
			first = w.out.data;
			cap = w.out.cap;
		}
		cr_assert_eq(w.out.data, first);
		cr_assert_eq(w.out.cap, cap);
		jw_reset(&w);
	}
	jw_free(&w);
}

/* ---- field tables ------------------------------------------------------------------ */

struct t_endpoint {
	char ip[46];
	uint16_t port;
};

struct t_cert {
	uint8_t sha1[20];
	char *subject;
	char *issuer;
};

struct t_alert {
	uint64_t ts_us;
	char from[8];
	char *description;
};

enum t_status { T_COMPLETE, T_TRUNCATED };

struct t_event {
	uint64_t ts_us;
	struct t_endpoint client, server;
	uint16_t version;
	char sni[256];
	char alpn[4][16];
	unsigned n_alpn;
	char *ja3;
	bool resumed;
	bool decrypted;                   /* written for TLS 1.3 only */
	struct t_cert *chain;
	size_t n_chain;
	struct t_alert alerts[3];
	uint8_t n_alerts;
	char **risks;
	uint32_t n_risks;
	uint64_t chain_ts;                /* 0: null */
	uint8_t session_id[32];
	uint8_t session_id_len;
	uint32_t packets;
	uint64_t bytes;
	bool baseline_only;               /* omitted when false */
	enum t_status status;             /* custom: by name */
};

static const struct jw_field endpoint_fields[] = {
	JWF_CHARS(struct t_endpoint, ip, "ip", 0),
	JWF_U16(struct t_endpoint, port, "port", 0),
};
static const struct jw_table endpoint_table = JW_TABLE(endpoint_fields);

static const struct jw_field cert_fields[] = {
	JWF_HEX(struct t_cert, sha1, "sha1", 0),
	JWF_STRING(struct t_cert, subject, "subject", 0),
	JWF_STRING(struct t_cert, issuer, "issuer", 0),
};
static const struct jw_table cert_table = JW_TABLE(cert_fields);

static const struct jw_field alert_fields[] = {
	JWF_TIME_US(struct t_alert, ts_us, "ts", 0),
	JWF_CHARS(struct t_alert, from, "from", 0),
	JWF_STRING(struct t_alert, description, "description", JW_NULL_EMPTY),
};
static const struct jw_table alert_table = JW_TABLE(alert_fields);

static bool is_tls13(const void *rec)
{
	return ((const struct t_event *)rec)->version == 0x0304;
}

static bool write_status(struct jw *w, const void *rec, const struct jw_field *f)
{
	const enum t_status *st = (const void *)((const char *)rec + offsetof(struct t_event, status));
	return jw_str(w, *st == T_COMPLETE ? "complete" : "truncated");
}

static bool read_status(const json_t *v, void *rec, const struct jw_field *f, char *err,
			size_t errlen)
{
	struct t_event *e = rec;
	const char *s = json_string_value(v);
	if (s && !strcmp(s, "complete"))
		e->status = T_COMPLETE;
	else if (s && !strcmp(s, "truncated"))
		e->status = T_TRUNCATED;
	else {
		snprintf(err, errlen, "\"complete\" or \"truncated\" expected");
		return false;
	}
	return true;
}

static const struct jw_field event_fields[] = {
	JWF_CONST("event", "tls"),
	JWF_TIME_US(struct t_event, ts_us, "ts", 0),
	JWF_OBJECT(struct t_event, client, "client", &endpoint_table, 0),
	JWF_OBJECT(struct t_event, server, "server", &endpoint_table, 0),
	JWF_U16(struct t_event, version, "version", 0),
	JWF_CHARS(struct t_event, sni, "sni", JW_NULL_EMPTY),
	JWF_STRINGS_INLINE(struct t_event, alpn, n_alpn, "alpn", 0),
	JWF_STRING(struct t_event, ja3, "ja3", JW_NULL_EMPTY),
	JWF_BOOL(struct t_event, resumed, "resumed", 0),
	{ .name = "decrypted", .kind = JW_BOOL, .off = offsetof(struct t_event, decrypted),
	  .when = is_tls13 },
	JWF_RECORDS(struct t_event, chain, n_chain, 32, "server_chain", &cert_table, 0),
	JWF_RECORDS_INLINE(struct t_event, alerts, n_alerts, "alerts", &alert_table, 0),
	JWF_STRINGS(struct t_event, risks, n_risks, 16, "dpi_risks", 0),
	JWF_TIME_US(struct t_event, chain_ts, "server_chain_ts", JW_NULL_EMPTY),
	JWF_HEX_COUNTED(struct t_event, session_id, session_id_len, "session_id", JW_NULL_EMPTY),
	JWF_U32(struct t_event, packets, "packets", 0),
	JWF_U64(struct t_event, bytes, "bytes", 0),
	JWF_BOOL(struct t_event, baseline_only, "baseline_only", JW_OMIT_EMPTY),
	JWF_CUSTOM("status", write_status, read_status, NULL, NULL),
};
#define N_EVENT_FIELDS (sizeof event_fields / sizeof event_fields[0])

static void fill_event(struct t_event *e, struct t_cert *chain, char **risks)
{
	memset(e, 0, sizeof *e);
	e->ts_us = 1350658227214000ull;
	str_copy(e->client.ip, sizeof e->client.ip, "10.0.0.5");
	e->client.port = 49152;
	str_copy(e->server.ip, sizeof e->server.ip, "2001:db8::1");
	e->server.port = 5061;
	e->version = 0x0304;
	str_copy(e->sni, sizeof e->sni, "lyncpool.contoso.com");
	str_copy(e->alpn[0], sizeof e->alpn[0], "h2");
	str_copy(e->alpn[1], sizeof e->alpn[1], "http/1.1");
	e->n_alpn = 2;
	e->ja3 = "771,4865-4866,0-23,29,0";
	e->decrypted = true;
	for (int i = 0; i < 3; i++) {
		memset(chain[i].sha1, 0x11 * (i + 1), sizeof chain[i].sha1);
		chain[i].subject = i == 0 ? "CN=lyncpool.contoso.com" : i == 1 ? "CN=Contoso Issuing CA"
				   : "CN=Contoso R\xc3\xa9seau \"Root\"";
		chain[i].issuer = i == 2 ? NULL : i == 0 ? "CN=Contoso Issuing CA" : "CN=Contoso R\xc3\xa9seau \"Root\"";
	}
	e->chain = chain;
	e->n_chain = 3;
	e->alerts[0].ts_us = 1350658227300001ull;
	str_copy(e->alerts[0].from, sizeof e->alerts[0].from, "client");
	e->alerts[0].description = "unknown_ca";
	e->alerts[1].ts_us = 1350658227300002ull;
	str_copy(e->alerts[1].from, sizeof e->alerts[1].from, "server");
	e->n_alerts = 2;
	risks[0] = "Known Proto on Non Std Port";
	risks[1] = "TLS (probably) Not Carrying HTTPS\t";
	e->risks = risks;
	e->n_risks = 2;
	e->session_id[0] = 0xab;
	e->session_id[1] = 0x01;
	e->session_id_len = 2;
	e->packets = 4000000000u;
	e->bytes = 1ull << 40;
	e->status = T_TRUNCATED;
}

static const char event_line[] =
	"{\"event\":\"tls\",\"ts\":\"2012-10-19T14:50:27.214000Z\","
	"\"client\":{\"ip\":\"10.0.0.5\",\"port\":49152},\"server\":{\"ip\":\"2001:db8::1\",\"port\":5061},"
	"\"version\":772,\"sni\":\"lyncpool.contoso.com\",\"alpn\":[\"h2\",\"http/1.1\"],"
	"\"ja3\":\"771,4865-4866,0-23,29,0\",\"resumed\":false,\"decrypted\":true,"
	"\"server_chain\":[{\"sha1\":\"1111111111111111111111111111111111111111\","
	"\"subject\":\"CN=lyncpool.contoso.com\",\"issuer\":\"CN=Contoso Issuing CA\"},"
	"{\"sha1\":\"2222222222222222222222222222222222222222\",\"subject\":\"CN=Contoso Issuing CA\","
	"\"issuer\":\"CN=Contoso R\\u00E9seau \\\"Root\\\"\"},"
	"{\"sha1\":\"3333333333333333333333333333333333333333\","
	"\"subject\":\"CN=Contoso R\\u00E9seau \\\"Root\\\"\",\"issuer\":null}],"
	"\"alerts\":[{\"ts\":\"2012-10-19T14:50:27.300001Z\",\"from\":\"client\",\"description\":\"unknown_ca\"},"
	"{\"ts\":\"2012-10-19T14:50:27.300002Z\",\"from\":\"server\",\"description\":null}],"
	"\"dpi_risks\":[\"Known Proto on Non Std Port\",\"TLS (probably) Not Carrying HTTPS\\t\"],"
	"\"server_chain_ts\":null,\"session_id\":\"ab01\",\"packets\":4000000000,"
	"\"bytes\":1099511627776,\"status\":\"truncated\"}";

static char *write_event(const struct t_event *e)
{
	struct jw w;
	jw_init(&w, 0);
	cr_assert(jw_write_fields(&w, event_fields, N_EVENT_FIELDS, e), "%s", jw_strerror(&w));
	char *s = jw_take_line(&w);
	jw_free(&w);
	return s;
}

static json_t *parse(const char *s)
{
	json_error_t je;
	json_t *v = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	cr_assert(v, "%s", je.text);
	return v;
}

Test(json_fields, a_record_is_written_as_its_table_says)
{
	struct t_event e;
	struct t_cert chain[3];
	char *risks[2];
	fill_event(&e, chain, risks);
	char *line = write_event(&e);
	cr_assert_str_eq(line, event_line);
	free(line);

	/* when(): "decrypted" only for TLS 1.3; JW_OMIT_EMPTY: baseline_only only when true */
	e.version = 0x0303;
	e.baseline_only = true;
	line = write_event(&e);
	cr_assert_null(strstr(line, "\"decrypted\""));
	cr_assert_not_null(strstr(line, ",\"baseline_only\":true,\"status\""));
	free(line);
}

Test(json_fields, write_parse_read_write_gives_the_same_bytes)
{
	struct t_event e, back;
	struct t_cert chain[3];
	char *risks[2];
	char err[200];
	fill_event(&e, chain, risks);

	for (int variant = 0; variant < 4; variant++) {
		if (variant == 1) {                     /* empties: nulls and omissions */
			e.sni[0] = '\0';
			e.ja3 = NULL;
			e.n_alpn = 0;
			e.n_chain = 0;
			e.n_risks = 0;
			e.session_id_len = 0;
			e.version = 0x0303;
			e.status = T_COMPLETE;
		} else if (variant == 2) {
			e.chain_ts = 1350658227999999ull;
			e.baseline_only = true;
			e.ja3 = "";                     /* JW_NULL_EMPTY: "" goes out as null */
		} else if (variant == 3) {
			str_copy(e.sni, sizeof e.sni, "\xf0\x9f\x98\x80.example \\ \x01");
		}
		char *a = write_event(&e);
		json_t *j = parse(a);
		memset(&back, 0, sizeof back);
		cr_assert(jr_read_fields(j, event_fields, N_EVENT_FIELDS, &back, err, sizeof err),
			  "variant %d: %s", variant, err);
		char *b = write_event(&back);
		cr_assert_str_eq(b, a, "variant %d", variant);
		if (variant == 0) {
			cr_assert_str_eq(back.chain[2].subject, "CN=Contoso R\xc3\xa9seau \"Root\"");
			cr_assert_null(back.chain[2].issuer);
			cr_assert_eq(back.alerts[1].ts_us, 1350658227300002ull);
			cr_assert_eq(back.session_id_len, 2);
		}
		jr_free_fields(event_fields, N_EVENT_FIELDS, &back);
		cr_assert_null(back.chain);
		cr_assert_null(back.risks);
		json_decref(j);
		free(a);
		free(b);
	}
}

/* Reads event_line with one member changed; the reader's complaint. */
static const char *read_error(const char *key, json_t *value, bool remove)
{
	static char err[200];
	json_t *j = parse(event_line);
	json_t *target = j;
	char path[64];
	snprintf(path, sizeof path, "%s", key);
	char *dot = strchr(path, '.');
	if (dot) {
		*dot = '\0';
		target = json_object_get(j, path);
		if (json_is_array(target))
			target = json_array_get(target, 0);
		key = dot + 1;
	}
	if (remove)
		json_object_del(target, key);
	else
		json_object_set_new(target, key, value);
	struct t_event back;
	memset(&back, 0, sizeof back);
	cr_assert(!jr_read_fields(j, event_fields, N_EVENT_FIELDS, &back, err, sizeof err));
	/* a failed read leaves nothing allocated (ASan would say) and no pointers */
	cr_assert_null(back.chain);
	cr_assert_null(back.risks);
	cr_assert_null(back.ja3);
	json_decref(j);
	return err;
}

Test(json_fields, the_reader_names_what_is_wrong)
{
	cr_assert_str_eq(read_error("event", json_string("cert"), false), "event: \"tls\" expected");
	cr_assert_str_eq(read_error("ts", NULL, true), "ts: missing");
	cr_assert_str_eq(read_error("ts", json_string("2012-10-19T14:50:27Z"), false),
			 "ts: a time like 2013-04-02T14:50:27.214000Z expected");
	cr_assert_str_eq(read_error("server.port", json_integer(65536), false),
			 "server.port: an integer from 0 to 65535 expected");
	cr_assert_str_eq(read_error("server.port", json_string("5061"), false),
			 "server.port: an integer from 0 to 65535 expected");
	cr_assert_str_eq(read_error("client.ip", json_string("1234567890123456789012345678901234567890123456"),
				    false), "client.ip: a string of at most 45 bytes expected");
	cr_assert_str_eq(read_error("client", json_array(), false), "client: an object expected");
	cr_assert_str_eq(read_error("sni", json_stringn("a\0b", 3), false),
			 "sni: a string without NUL bytes expected");
	cr_assert_str_eq(read_error("alpn", json_pack("[s,s,s,s,s]", "a", "b", "c", "d", "e"), false),
			 "alpn: at most 4 elements expected, 5 found");
	cr_assert_str_eq(read_error("alpn", json_pack("[s,i]", "a", 1), false),
			 "alpn[1]: a string expected");
	cr_assert_str_eq(read_error("resumed", json_integer(0), false), "resumed: true or false expected");
	cr_assert_str_eq(read_error("server_chain.sha1", json_string("1111"), false),
			 "server_chain[0].sha1: hex of 20 bytes expected");
	cr_assert_str_eq(read_error("server_chain.sha1",
				    json_string("111111111111111111111111111111111111111g"), false),
			 "server_chain[0].sha1: hex digits expected");
	cr_assert_str_eq(read_error("server_chain.subject", json_true(), false),
			 "server_chain[0].subject: a string expected");
	cr_assert_str_eq(read_error("alerts.from", json_string("somebody"), false),
			 "alerts[0].from: a string of at most 7 bytes expected");
	cr_assert_str_eq(read_error("session_id", json_string(
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"), false),
			 "session_id: hex of at most 32 bytes expected");
	cr_assert_str_eq(read_error("packets", json_integer(-1), false),
			 "packets: an integer from 0 to 4294967295 expected");
	cr_assert_str_eq(read_error("status", json_string("done"), false),
			 "status: \"complete\" or \"truncated\" expected");
	cr_assert_str_eq(read_error("dpi_risks", json_object(), false), "dpi_risks: an array expected");
}

Test(json_fields, absent_members_that_may_be_absent_read_as_empty)
{
	char err[200];
	json_t *j = parse(event_line);
	json_object_del(j, "decrypted");                 /* when(): may be absent */
	json_object_set_new(j, "unknown_member", json_true());   /* ignored */
	struct t_event back;
	memset(&back, 0, sizeof back);
	cr_assert(jr_read_fields(j, event_fields, N_EVENT_FIELDS, &back, err, sizeof err), "%s", err);
	cr_assert(!back.decrypted);
	cr_assert(!back.baseline_only);
	cr_assert_eq(back.chain_ts, 0);
	jr_free_fields(event_fields, N_EVENT_FIELDS, &back);
	json_decref(j);
}
