/*
 * buf.c — the capped growable buffer of buf.h.
 *
 * Every path that adds bytes goes through buf_grow(), which is the one place
 * that checks the cap and the one place that allocates; a failure there sets
 * the sticky error and changes nothing else.
 */
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max_bytes)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max_bytes = max_bytes;
	b->err = BUF_OK;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max_bytes);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
	b->err = BUF_OK;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* Makes room for n more bytes plus the NUL. */
static bool buf_grow(struct buf *b, size_t n)
{
	if (b->err != BUF_OK)
		return false;
	if (n > b->max_bytes || b->len > b->max_bytes - n) {
		b->err = BUF_OVER_CAP;
		return false;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max_bytes + 1)
		cap = b->max_bytes + 1;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->err = BUF_ENOMEM;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

bool buf_append(struct buf *b, const void *p, size_t n)
{
	if (!buf_grow(b, n))
		return false;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

bool buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

bool buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

bool buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	char small[256];

	va_copy(aq, ap);
	int n = vsnprintf(small, sizeof small, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->err = BUF_ENOMEM;
		return false;
	}
	if ((size_t)n < sizeof small)
		return buf_append(b, small, (size_t)n);
	if (!buf_grow(b, (size_t)n))
		return false;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return true;
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool ok = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ok;
}

bool buf_hex(struct buf *b, const uint8_t *p, size_t n, bool upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *digits = upper ? up : lo;
	if (n > SIZE_MAX / 2 || !buf_grow(b, 2 * n))
		return false;
	char *o = b->data + b->len;
	for (size_t i = 0; i < n; i++) {
		*o++ = digits[p[i] >> 4];
		*o++ = digits[p[i] & 15];
	}
	b->len += 2 * n;
	b->data[b->len] = '\0';
	return true;
}

void *buf_reserve(struct buf *b, size_t n)
{
	if (!buf_grow(b, n))
		return NULL;
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	/* n was reserved: len + n + 1 <= cap */
	b->len += n;
	b->data[b->len] = '\0';
}

char *buf_take(struct buf *b)
{
	char *s;
	if (b->err != BUF_OK) {
		buf_free(b);
		return NULL;
	}
	if (!b->data) {
		s = malloc(1);
		if (s)
			s[0] = '\0';
		return s;
	}
	s = b->data;
	buf_init(b, b->max_bytes);
	return s;
}

const char *buf_strerror(const struct buf *b)
{
	switch (b->err) {
	case BUF_OK:
		return "no error";
	case BUF_ENOMEM:
		return "out of memory";
	case BUF_OVER_CAP:
		return "over the cap";
	}
	return "unknown error";
}

char *str_printf(const char *fmt, ...)
{
	struct buf b = BUF_INIT(SIZE_MAX / 2);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_take(&b);
}

char *str_dup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

bool str_copy(char *dst, size_t dstlen, const char *s)
{
	if (dstlen == 0)
		return false;
	size_t n = strlen(s);
	bool fits = n < dstlen;
	if (!fits)
		n = dstlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return fits;
}
