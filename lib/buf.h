/*
 * buf.h — one capped, growable byte buffer (in the spirit of curl's dynbuf).
 *
 * Two ideas:
 *  1. A buffer has a hard cap (max_bytes) fixed when it is made.  An append
 *     that would take it past the cap, or a failed allocation, fails, leaves
 *     the contents as they were, and sets a sticky error: every later append
 *     fails too, so a caller can build a whole string and check once at the
 *     end (buf_ok) instead of after every step.
 *  2. The contents are always NUL-terminated (the NUL is not counted in len
 *     and never counts against the cap), so a text buffer is a C string at
 *     every moment and no caller computes a length and strcat()s into it.
 *
 * Growth doubles, so n appends cost O(n) copies; buf_reset() keeps the
 * memory, so a buffer reused per event allocates only while it grows.
 */
#ifndef CERTTRACE_BUF_H
#define CERTTRACE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum buf_error {
	BUF_OK = 0,
	BUF_ENOMEM,                   /* an allocation failed */
	BUF_OVER_CAP,                 /* the append would pass max_bytes */
};

struct buf {
	char *data;                   /* NULL until the first append */
	size_t len;                   /* bytes held, not counting the NUL */
	size_t cap;                   /* bytes allocated (NUL included) */
	size_t max_bytes;             /* len never passes this */
	enum buf_error err;           /* sticky until buf_reset() */
};

#define BUF_INIT(max) { NULL, 0, 0, (max), BUF_OK }

void buf_init(struct buf *b, size_t max_bytes);
void buf_free(struct buf *b);
/* Empties the buffer and clears the error; the memory stays for reuse. */
void buf_reset(struct buf *b);
/* Drops everything from byte `len` on (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);

bool buf_append(struct buf *b, const void *p, size_t n);
bool buf_puts(struct buf *b, const char *s);
bool buf_putc(struct buf *b, char c);
bool buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Lowercase (or uppercase) hex of n bytes. */
bool buf_hex(struct buf *b, const uint8_t *p, size_t n, bool upper);
/* Room for n more bytes at buf_end(); the caller fills them, then
 * buf_commit(b, n).  NULL (and the sticky error) when they do not fit. */
void *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);

static inline bool buf_ok(const struct buf *b) { return b->err == BUF_OK; }
static inline size_t buf_len(const struct buf *b) { return b->len; }
/* The contents as a C string; "" when nothing was appended. */
static inline const char *buf_str(const struct buf *b) { return b->data ? b->data : ""; }
static inline const uint8_t *buf_bytes(const struct buf *b)
{
	return (const uint8_t *)buf_str(b);
}

/* Hands the string over to the caller (free() it) and empties the buffer;
 * NULL when the buffer has an error (the contents are then freed).  An empty
 * buffer gives a malloc'd "". */
char *buf_take(struct buf *b);

/* Why the last append failed, for a message: "out of memory", "over the cap". */
const char *buf_strerror(const struct buf *b);

/* A malloc'd formatted string, NULL only when memory runs out: for the many
 * one-off strings the report builds.  Replaces every asprintf-and-check. */
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* strdup that takes NULL to NULL. */
char *str_dup(const char *s);
/* Copies s into dst (dstlen bytes, NUL included), cutting it if it does not
 * fit; returns false when it was cut.  The product's only strcpy. */
bool str_copy(char *dst, size_t dstlen, const char *s);

#endif
