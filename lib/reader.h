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

#endif
