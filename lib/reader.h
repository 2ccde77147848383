/*
 * reader.h — the bounded reader every byte from the wire goes through.
 *
 * A reader is a pointer and a length.  Each rd_ function either consumes
 * exactly what it promises and returns true, or returns false and leaves
 * the reader where it was.  Parsers written on it read like the RFC's
 * struct definitions and cannot run past their input: a length read from
 * the wire is only ever used through rd_bytes()/rd_sub(), which check it
 * against what is left first.  (Same idea as BoringSSL's CBS; our own.)
 *
 * Header-only, so capture/ and dissect/ share it without linking each other.
 */
#ifndef CERTTRACE_READER_H
#define CERTTRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	const uint8_t *p;
	size_t len;
};

static inline void rd_init(struct reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
}

static inline size_t rd_left(const struct reader *r) { return r->len; }
static inline const uint8_t *rd_ptr(const struct reader *r) { return r->p; }

static inline bool rd_skip(struct reader *r, size_t n)
{
	if (r->len < n)
		return false;
	r->p += n;
	r->len -= n;
	return true;
}

/* Hands out n bytes in place; the reader vouches that they exist. */
static inline bool rd_bytes(struct reader *r, size_t n, const uint8_t **out)
{
	if (r->len < n)
		return false;
	*out = r->p;
	r->p += n;
	r->len -= n;
	return true;
}

/* Splits off the next n bytes as a reader of their own. */
static inline bool rd_sub(struct reader *r, size_t n, struct reader *out)
{
	const uint8_t *p;
	if (!rd_bytes(r, n, &p))
		return false;
	rd_init(out, p, n);
	return true;
}

static inline bool rd_be(struct reader *r, unsigned n, uint32_t *out)
{
	uint32_t v = 0;
	if (r->len < n)
		return false;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | r->p[i];
	r->p += n;
	r->len -= n;
	*out = v;
	return true;
}

static inline bool rd_u8(struct reader *r, uint8_t *out)
{
	uint32_t v;
	if (!rd_be(r, 1, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

static inline bool rd_u16(struct reader *r, uint16_t *out)
{
	uint32_t v;
	if (!rd_be(r, 2, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

static inline bool rd_u24(struct reader *r, uint32_t *out) { return rd_be(r, 3, out); }
static inline bool rd_u32(struct reader *r, uint32_t *out) { return rd_be(r, 4, out); }

/* Little-endian 16/32 bits: pcap's own headers and DLT_NULL's family word. */
static inline bool rd_le(struct reader *r, unsigned n, uint32_t *out)
{
	uint32_t v = 0;
	if (r->len < n)
		return false;
	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | r->p[i];
	r->p += n;
	r->len -= n;
	*out = v;
	return true;
}

static inline bool rd_peek_u8(const struct reader *r, size_t at, uint8_t *out)
{
	if (r->len <= at)
		return false;
	*out = r->p[at];
	return true;
}

/* A length prefix of `width` bytes (1, 2 or 3) followed by that many bytes.
 * On failure nothing is consumed, not even the prefix. */
static inline bool rd_prefixed(struct reader *r, unsigned width, struct reader *out)
{
	struct reader save = *r;
	uint32_t n;
	if (!rd_be(r, width, &n) || !rd_sub(r, n, out)) {
		*r = save;
		return false;
	}
	return true;
}

static inline bool rd_u8_prefixed(struct reader *r, struct reader *out) { return rd_prefixed(r, 1, out); }
static inline bool rd_u16_prefixed(struct reader *r, struct reader *out) { return rd_prefixed(r, 2, out); }
static inline bool rd_u24_prefixed(struct reader *r, struct reader *out) { return rd_prefixed(r, 3, out); }

/* Copy-out helpers (BoringSSL's CBS_copy_bytes, CBS_stow, CBS_mem_equal):
 * the only way bytes leave a reader into memory of the caller's, so no
 * memcpy takes a pointer and a length the reader did not vouch for. */

/* Copies the next n bytes into dst and consumes them. */
static inline bool rd_copy(struct reader *r, void *dst, size_t n)
{
	const uint8_t *p;
	if (!rd_bytes(r, n, &p))
		return false;
	if (n)
		memcpy(dst, p, n);
	return true;
}

/* Copies all that is left into dst (cap bytes); false, with nothing
 * consumed, when it does not fit.  *n gets the count copied. */
static inline bool rd_copy_rest(struct reader *r, void *dst, size_t cap, size_t *n)
{
	if (r->len > cap)
		return false;
	*n = r->len;
	return rd_copy(r, dst, r->len);
}

/* A malloc'd copy of all that is left (consumed); false when memory runs out,
 * and then nothing is consumed.  An empty reader gives *out = NULL, *n = 0. */
static inline bool rd_stow(struct reader *r, uint8_t **out, size_t *n)
{
	uint8_t *d = NULL;
	if (r->len) {
		d = malloc(r->len);
		if (!d)
			return false;
		memcpy(d, r->p, r->len);
	}
	*out = d;
	*n = r->len;
	r->p += r->len;
	r->len = 0;
	return true;
}

/* True when what is left is exactly the n bytes at p; consumes nothing. */
static inline bool rd_mem_equal(const struct reader *r, const void *p, size_t n)
{
	return r->len == n && (n == 0 || memcmp(r->p, p, n) == 0);
}

/* True when what is left starts with the n bytes at p; consumes nothing. */
static inline bool rd_starts_with(const struct reader *r, const void *p, size_t n)
{
	return r->len >= n && (n == 0 || memcmp(r->p, p, n) == 0);
}

/* The offset of the first byte c in what is left, or false. */
static inline bool rd_find(const struct reader *r, uint8_t c, size_t *at)
{
	const uint8_t *q = r->len ? memchr(r->p, c, r->len) : NULL;
	if (!q)
		return false;
	*at = (size_t)(q - r->p);
	return true;
}

#endif
