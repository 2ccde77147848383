/*
 * json.h — a streaming JSON writer for the jsonl contract, and field tables
 * that define an event once for both the writer and the reader.
 *
 * The writer (in the spirit of Suricata's JsonBuilder) appends tokens to
 * one reused, capped buffer: open/key/value/close, strings escaped once as
 * they are copied, no tree built, nothing allocated per event once the
 * buffer has grown to the largest line.  Its output is, byte for byte,
 * what jansson's json_dumpb(..., JSON_COMPACT | JSON_ENSURE_ASCII) prints
 * for the same document built with json_string()/json_integer()/...:
 *  - strings: \" \\ \b \f \n \r \t, other bytes < 0x20 as \u00XX, every
 *    code point above 0x7F as \uXXXX (uppercase hex, as jansson writes it),
 *    above U+FFFF as a UTF-16 surrogate pair; '/' and 0x7F as they are;
 *  - a string that is not valid UTF-8 (jansson's json_string() refuses it:
 *    bad lead or continuation bytes, overlong forms, UTF-16 surrogates,
 *    code points above U+10FFFF, truncated sequences) is written as the
 *    jansson-era jsonl.c's jstr() degraded it: every byte >= 0x80 or
 *    < 0x20 becomes '?', the rest escaped as above;
 *  - integers as jansson's "%lld" (jw_uint prints the true unsigned value,
 *    the same as jansson for every value up to INT64_MAX);
 *  - "," and ":" with no spaces, keys in the order written.
 * tests/test_json.c checks this against jansson itself, on fixed cases and
 * on thousands of random strings and documents.
 *
 * Errors are sticky, as in lib/buf.h: after the first failure (a line over
 * the cap, nesting over JW_MAX_DEPTH, memory, or a call out of order such
 * as a value in an object without a key) every later call does nothing
 * and returns false, so an event is written without a check per field and
 * the caller checks once, at jw_line_end(), and says jw_strerror().
 *
 * Usage, one event per line:
 *
 *	jw_object_open(w);
 *	jw_kv_str(w, "event", "tls");
 *	jw_kv_time_us(w, "ts", t->ts_us);
 *	jw_key(w, "alpn"); jw_array_open(w); ... jw_array_close(w);
 *	jw_object_close(w);
 *	size_t n;
 *	const char *line = jw_line_end(w, &n);     -- with its '\n'
 *	if (line) fwrite(line, 1, n, out); else warn("%s", jw_strerror(w));
 *	jw_reset(w);
 */
#ifndef CERTTRACE_JSON_H
#define CERTTRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/buf.h"

/*
 * The cap on one line, its '\n' included.  A "certificate" event carries
 * the DER in base64: a TLS Certificate message may be 2^24 - 1 bytes, so one
 * DER is under 16 MiB and its base64 under 22.4 MiB; the other fields come
 * from the same DER.  32 MiB holds the largest certificate TLS can carry
 * with room for its names, while a runaway line still stops.  (Today the
 * dissector keeps handshake messages to 256 KiB, TLS_MAX_MSG_BYTES.)
 */
#define JW_MAX_LINE_BYTES (32u * 1024 * 1024)
/* Containers open at once.  The contract's deepest event has 3 levels. */
#define JW_MAX_DEPTH      32

enum jw_error {
	JW_OK = 0,
	JW_ENOMEM,                    /* an allocation failed */
	JW_OVER_CAP,                  /* the line would pass its cap */
	JW_TOO_DEEP,                  /* more than JW_MAX_DEPTH containers open */
	JW_MISUSE,                    /* calls out of order; msg says which */
};

struct jw {
	struct buf out;               /* the line; max_bytes is the line cap */
	unsigned depth;               /* containers open */
	uint32_t is_array;            /* bit d: container d (0 = outermost) is an array */
	uint32_t has_items;           /* bit d: container d has a member already */
	bool after_key;               /* a key was written; its value is due */
	bool done;                    /* the line's one top-level value is complete */
	bool ended;                   /* jw_line_end() added the '\n' */
	enum jw_error err;            /* sticky until jw_reset() */
	char msg[112];                /* the error, for a person */
};

/* max_line_bytes 0: JW_MAX_LINE_BYTES. */
void jw_init(struct jw *w, size_t max_line_bytes);
void jw_free(struct jw *w);
/* Empties the line and clears the error; the memory stays for the next. */
void jw_reset(struct jw *w);

static inline bool jw_ok(const struct jw *w) { return w->err == JW_OK; }
/* "no error", or what went wrong ("the JSON line would pass its cap of
 * 33554432 bytes", "JSON writer misuse: a value in an object without a key"). */
const char *jw_strerror(const struct jw *w);

/* Ends the line: the top-level value must be complete (every container
 * closed).  Appends '\n' and returns the line and its length, '\n'
 * included; NULL after an error.  The line stays valid until jw_reset(). */
const char *jw_line_end(struct jw *w, size_t *len);

bool jw_object_open(struct jw *w);
bool jw_object_close(struct jw *w);
bool jw_array_open(struct jw *w);
bool jw_array_close(struct jw *w);

/* A member's name, in an object; the value follows.  The name is escaped
 * as a string is; a name that is not valid UTF-8 is a misuse (jansson's
 * json_object_set would drop the member).  Names are not checked for
 * duplicates: jansson would keep the first position and the last value. */
bool jw_keyn(struct jw *w, const char *name, size_t len);
static inline bool jw_key(struct jw *w, const char *name)
{
	return jw_keyn(w, name, strlen(name));
}

/* Values. */
bool jw_strn(struct jw *w, const char *s, size_t len);   /* NUL bytes as \u0000 */
bool jw_str_or_null(struct jw *w, const char *s);          /* NULL or "": null */
bool jw_uint(struct jw *w, uint64_t v);
bool jw_int(struct jw *w, int64_t v);
bool jw_bool(struct jw *w, bool v);
bool jw_null(struct jw *w);
/* Text that is already one JSON value (the caller vouches for it). */
bool jw_raw(struct jw *w, const char *json, size_t len);
/* Bytes as a string of lowercase hex. */
bool jw_hex(struct jw *w, const uint8_t *p, size_t n);
/* Bytes as a string of base64 (RFC 4648 alphabet, '=' padding, no line
 * breaks): what OpenSSL's EVP_EncodeBlock gives (a certificate's "der"). */
bool jw_base64(struct jw *w, const uint8_t *p, size_t n);
/* Microseconds since the epoch as "2013-04-02T14:50:27.214000Z" (UTC), the
 * format of report's rep_iso_us(); years past 9999 get more digits. */
bool jw_time_us(struct jw *w, uint64_t ts_us);

/* A C string; NULL: null. */
static inline bool jw_str(struct jw *w, const char *s)
{
	return s ? jw_strn(w, s, strlen(s)) : jw_null(w);
}

/* A member: the name, then the value. */
static inline bool jw_kv_str(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	return jw_str(w, s);
}
static inline bool jw_kv_str_or_null(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	return jw_str_or_null(w, s);
}
static inline bool jw_kv_uint(struct jw *w, const char *k, uint64_t v)
{
	jw_key(w, k);
	return jw_uint(w, v);
}
static inline bool jw_kv_int(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	return jw_int(w, v);
}
static inline bool jw_kv_bool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	return jw_bool(w, v);
}
static inline bool jw_kv_null(struct jw *w, const char *k)
{
	jw_key(w, k);
	return jw_null(w);
}
static inline bool jw_kv_time_us(struct jw *w, const char *k, uint64_t ts_us)
{
	jw_key(w, k);
	return jw_time_us(w, ts_us);
}
static inline bool jw_kv_object_open(struct jw *w, const char *k)
{
	jw_key(w, k);
	return jw_object_open(w);
}
static inline bool jw_kv_array_open(struct jw *w, const char *k)
{
	jw_key(w, k);
	return jw_array_open(w);
}
/* A member holding an array of n C strings (empty: []). */
static inline bool jw_kv_strs(struct jw *w, const char *k, char *const *v, size_t n)
{
	jw_kv_array_open(w, k);
	for (size_t i = 0; i < n; i++)
		jw_str(w, v[i]);
	return jw_array_close(w);
}

/* ---- field tables ------------------------------------------------------------------ */

/*
 * One table per event type (or sub-object) lists its members in order:
 * {json name, kind, where in the C struct, flags}.  jw_write_fields() walks
 * it to write a struct as an object; jr_read_fields() walks the same table
 * to fill the struct from an object jansson parsed.  A field added to the
 * table is written and read; none can be written and forgotten by the
 * reader.  Tables are built with the JWF_ macros below, e.g.
 *
 *	static const struct jw_field endpoint_fields[] = {
 *		JWF_CHARS(struct ep, ip, "ip", 0),
 *		JWF_U16(struct ep, port, "port", 0),
 *	};
 *	static const struct jw_table endpoint_table = JW_TABLE(endpoint_fields);
 */
enum jw_kind {
	JW_CONST,                     /* no member: a fixed string ("event":"tls"); the
	                                 reader requires it */
	JW_CHARS,                     /* char m[size]: a C string kept in the struct */
	JW_STRING,                    /* char *: NULL is null; the reader strdup()s */
	JW_BOOL,                      /* bool */
	JW_U16, JW_U32, JW_U64,       /* uint16_t, uint32_t, uint64_t */
	JW_TIME_US,                   /* uint64_t microseconds, as jw_time_us */
	JW_STRINGS,                   /* char **m (or char m[max][size] with JW_INLINE)
	                                 and a count member: an array of strings */
	JW_OBJECT,                    /* an embedded struct, described by sub */
	JW_RECORDS,                   /* struct *m (or struct m[max] with JW_INLINE) and
	                                 a count member: an array of sub objects */
	JW_HEX,                       /* uint8_t m[size], all of it, or the first
	                                 count bytes when a count member is named */
	JW_CUSTOM,                    /* the write/read/release callbacks */
};

/* Flags. */
#define JW_NULL_EMPTY 0x1u            /* "" / NULL / 0 / no elements written as null;
	                                 null read back as empty */
#define JW_OMIT_EMPTY 0x2u            /* not written when empty (or false); absent
	                                 read as empty */
#define JW_INLINE     0x4u            /* JW_STRINGS, JW_RECORDS: a fixed array in the
	                                 struct, not a pointer */

struct jw_field;
struct json_t;                        /* jansson's, for the reader */

struct jw_table {
	const struct jw_field *fields;
	size_t n;
};
#define JW_TABLE(arr) { (arr), sizeof(arr) / sizeof((arr)[0]) }

/* JW_CUSTOM: write one value (the name is written already); read the
 * member's value (never NULL: an absent member is refused first, unless
 * JW_OMIT_EMPTY or `when` allow it) into the struct, false with a reason in
 * err; release what read allocated (may be NULL). */
typedef bool (*jw_write_fn)(struct jw *w, const void *rec, const struct jw_field *f);
typedef bool (*jr_read_fn)(const struct json_t *v, void *rec, const struct jw_field *f,
			   char *err, size_t errlen);
typedef void (*jr_release_fn)(void *rec, const struct jw_field *f);

struct jw_field {
	const char *name;
	enum jw_kind kind;
	unsigned flags;
	size_t off;                   /* offsetof the member */
	size_t size;                  /* CHARS: sizeof the array; inline STRINGS: sizeof
	                                 one string; RECORDS: sizeof one element; HEX:
	                                 sizeof the byte array */
	size_t count_off;             /* STRINGS, RECORDS, counted HEX: offsetof the count */
	unsigned count_size;          /* sizeof the count: 1, 2, 4 or 8; 0 none */
	size_t max;                   /* STRINGS, RECORDS: most elements written or read */
	const struct jw_table *sub;   /* OBJECT, RECORDS */
	const char *text;             /* CONST */
	/* NULL, or: the member is written only when when(rec), and may be
	 * absent when read (e.g. "decrypted" only for TLS 1.3). */
	bool (*when)(const void *rec);
	jw_write_fn write;            /* CUSTOM */
	jr_read_fn read;
	jr_release_fn release;
	const void *arg;              /* CUSTOM: for the callbacks */
};

#define JW_SIZEOF_(type, m) sizeof(((type *)0)->m)
#define JW_ELEMS_(type, m) (sizeof(((type *)0)->m) / sizeof(((type *)0)->m[0]))

#define JWF_CONST(name_, text_) \
	{ .name = (name_), .kind = JW_CONST, .text = (text_) }
#define JWF_CHARS(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_CHARS, .flags = (fl), .off = offsetof(type, m), \
	  .size = JW_SIZEOF_(type, m) }
#define JWF_STRING(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_STRING, .flags = (fl), .off = offsetof(type, m) }
#define JWF_BOOL(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_BOOL, .flags = (fl), .off = offsetof(type, m) }
#define JWF_U16(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_U16, .flags = (fl), .off = offsetof(type, m) }
#define JWF_U32(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_U32, .flags = (fl), .off = offsetof(type, m) }
#define JWF_U64(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_U64, .flags = (fl), .off = offsetof(type, m) }
#define JWF_TIME_US(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_TIME_US, .flags = (fl), .off = offsetof(type, m) }
/* char **m with count member n, at most max_ elements. */
#define JWF_STRINGS(type, m, n, max_, name_, fl) \
	{ .name = (name_), .kind = JW_STRINGS, .flags = (fl), .off = offsetof(type, m), \
	  .count_off = offsetof(type, n), .count_size = JW_SIZEOF_(type, n), .max = (max_) }
/* char m[K][L] with count member n. */
#define JWF_STRINGS_INLINE(type, m, n, name_, fl) \
	{ .name = (name_), .kind = JW_STRINGS, .flags = (fl) | JW_INLINE, \
	  .off = offsetof(type, m), .size = JW_SIZEOF_(type, m[0]), \
	  .count_off = offsetof(type, n), .count_size = JW_SIZEOF_(type, n), \
	  .max = JW_ELEMS_(type, m) }
#define JWF_OBJECT(type, m, name_, table, fl) \
	{ .name = (name_), .kind = JW_OBJECT, .flags = (fl), .off = offsetof(type, m), \
	  .sub = (table) }
/* struct x *m with count member n, at most max_ elements. */
#define JWF_RECORDS(type, m, n, max_, name_, table, fl) \
	{ .name = (name_), .kind = JW_RECORDS, .flags = (fl), .off = offsetof(type, m), \
	  .size = JW_SIZEOF_(type, m[0]), .count_off = offsetof(type, n), \
	  .count_size = JW_SIZEOF_(type, n), .max = (max_), .sub = (table) }
/* struct x m[K] with count member n. */
#define JWF_RECORDS_INLINE(type, m, n, name_, table, fl) \
	{ .name = (name_), .kind = JW_RECORDS, .flags = (fl) | JW_INLINE, \
	  .off = offsetof(type, m), .size = JW_SIZEOF_(type, m[0]), \
	  .count_off = offsetof(type, n), .count_size = JW_SIZEOF_(type, n), \
	  .max = JW_ELEMS_(type, m), .sub = (table) }
/* uint8_t m[K], all K bytes. */
#define JWF_HEX(type, m, name_, fl) \
	{ .name = (name_), .kind = JW_HEX, .flags = (fl), .off = offsetof(type, m), \
	  .size = JW_SIZEOF_(type, m) }
/* uint8_t m[K], the first n of them. */
#define JWF_HEX_COUNTED(type, m, n, name_, fl) \
	{ .name = (name_), .kind = JW_HEX, .flags = (fl), .off = offsetof(type, m), \
	  .size = JW_SIZEOF_(type, m), .count_off = offsetof(type, n), \
	  .count_size = JW_SIZEOF_(type, n) }
#define JWF_CUSTOM(name_, write_, read_, release_, arg_) \
	{ .name = (name_), .kind = JW_CUSTOM, .write = (write_), .read = (read_), \
	  .release = (release_), .arg = (arg_) }

/* Writes rec as one object: "{", the table's members in order, "}". */
bool jw_write_fields(struct jw *w, const struct jw_field *t, size_t n, const void *rec);
/* The members only, into an object the caller opened. */
bool jw_write_members(struct jw *w, const struct jw_field *t, size_t n, const void *rec);

/*
 * Fills rec (which must start zeroed) from obj, a JSON object.  Members the
 * table does not name are ignored.  A member missing (unless JW_OMIT_EMPTY
 * or `when`), of the wrong type, out of range (a port over 65535, a string
 * longer than its char array, more elements than max, hex of the wrong
 * length, a time not written the way jw_time_us writes it), or a JW_CONST
 * that differs fails with a reason naming the member's path
 * ("server.port: an integer from 0 to 65535 expected"); on failure
 * everything read so far is released.  jr_free_fields() releases what a
 * successful read allocated.
 */
bool jr_read_fields(const struct json_t *obj, const struct jw_field *t, size_t n, void *rec,
		    char *err, size_t errlen);
void jr_free_fields(const struct jw_field *t, size_t n, void *rec);

/* The time jw_time_us writes, back to microseconds; false for any other
 * text (so reading and writing again gives the same bytes). */
bool jr_parse_time_us(const char *s, uint64_t *ts_us);

#endif
