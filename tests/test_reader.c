/*
 * test_reader.c — every function of the bounded reader (lib/reader.h) and of
 * the capped buffer (lib/buf.h), on good input and on input one byte short:
 * a call either consumes exactly what it promised or fails and moves nothing.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/reader.h"

static const uint8_t bytes[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

#define ASSERT_UNMOVED(r, start, n) do { \
		cr_assert_eq(rd_ptr(&(r)), (start)); \
		cr_assert_eq(rd_left(&(r)), (n)); \
	} while (0)

Test(reader, skip_consumes_exactly_or_nothing)
{
	struct reader r;
	rd_init(&r, bytes, 3);
	cr_assert(!rd_skip(&r, 4));
	ASSERT_UNMOVED(r, bytes, 3);
	cr_assert(rd_skip(&r, 3));
	cr_assert_eq(rd_left(&r), 0);
	cr_assert(rd_skip(&r, 0));
}

Test(reader, bytes_and_sub_vouch_for_the_length)
{
	struct reader r, sub;
	const uint8_t *p;
	rd_init(&r, bytes, sizeof bytes);
	cr_assert(!rd_bytes(&r, 9, &p));
	ASSERT_UNMOVED(r, bytes, 8);
	cr_assert(rd_bytes(&r, 2, &p));
	cr_assert_eq(p, bytes);
	cr_assert(!rd_sub(&r, 7, &sub));
	ASSERT_UNMOVED(r, bytes + 2, 6);
	cr_assert(rd_sub(&r, 6, &sub));
	cr_assert_eq(rd_ptr(&sub), bytes + 2);
	cr_assert_eq(rd_left(&sub), 6);
	cr_assert_eq(rd_left(&r), 0);
}

Test(reader, big_endian_integers)
{
	struct reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	rd_init(&r, bytes, sizeof bytes);
	cr_assert(rd_u8(&r, &u8));
	cr_assert_eq(u8, 0x01);
	cr_assert(rd_u16(&r, &u16));
	cr_assert_eq(u16, 0x0203);
	cr_assert(rd_u24(&r, &u32));
	cr_assert_eq(u32, 0x040506);
	cr_assert(!rd_u32(&r, &u32));          /* two bytes left */
	ASSERT_UNMOVED(r, bytes + 6, 2);
	cr_assert(!rd_u24(&r, &u32));
	cr_assert(rd_u16(&r, &u16));
	cr_assert_eq(u16, 0x0708);
	cr_assert(!rd_u8(&r, &u8));
	cr_assert(!rd_u16(&r, &u16));

	rd_init(&r, bytes, 4);
	cr_assert(rd_u32(&r, &u32));
	cr_assert_eq(u32, 0x01020304);
	rd_init(&r, bytes, 3);
	cr_assert(rd_be(&r, 3, &u32));
	cr_assert_eq(u32, 0x010203);
}

Test(reader, little_endian_integers)
{
	struct reader r;
	uint32_t v;
	rd_init(&r, bytes, sizeof bytes);
	cr_assert(rd_le(&r, 2, &v));
	cr_assert_eq(v, 0x0201);
	cr_assert(rd_le(&r, 4, &v));
	cr_assert_eq(v, 0x06050403);
	cr_assert(!rd_le(&r, 4, &v));
	ASSERT_UNMOVED(r, bytes + 6, 2);
}

Test(reader, peek_reads_without_moving)
{
	struct reader r;
	uint8_t v = 0;
	rd_init(&r, bytes, 3);
	cr_assert(rd_peek_u8(&r, 2, &v));
	cr_assert_eq(v, 0x03);
	cr_assert(!rd_peek_u8(&r, 3, &v));
	ASSERT_UNMOVED(r, bytes, 3);
}

Test(reader, prefixed_fails_without_consuming_the_prefix)
{
	static const uint8_t in[] = { 0x00, 0x03, 'a', 'b', 'c', 0x05, 'x' };
	struct reader r, out;
	rd_init(&r, in, sizeof in);
	cr_assert(rd_u16_prefixed(&r, &out));
	cr_assert(rd_mem_equal(&out, "abc", 3));
	/* 0x05 promises five bytes, one is there */
	cr_assert(!rd_u8_prefixed(&r, &out));
	ASSERT_UNMOVED(r, in + 5, 2);

	static const uint8_t in24[] = { 0x00, 0x00, 0x02, 'h', 'i', 0x00, 0x00, 0x09 };
	rd_init(&r, in24, sizeof in24);
	cr_assert(rd_u24_prefixed(&r, &out));
	cr_assert(rd_mem_equal(&out, "hi", 2));
	cr_assert(!rd_u24_prefixed(&r, &out));
	ASSERT_UNMOVED(r, in24 + 5, 3);
	cr_assert(rd_prefixed(&r, 2, &out));   /* 0x0000: an empty body */
	cr_assert_eq(rd_left(&out), 0);
	cr_assert(!rd_u8_prefixed(&r, &out));  /* 0x09, nothing after it */
	ASSERT_UNMOVED(r, in24 + 7, 1);
}

Test(reader, copy_copies_exactly_or_nothing)
{
	struct reader r;
	uint8_t dst[8];
	memset(dst, 0xee, sizeof dst);
	rd_init(&r, bytes, 4);
	cr_assert(!rd_copy(&r, dst, 5));
	ASSERT_UNMOVED(r, bytes, 4);
	cr_assert_eq(dst[0], 0xee);
	cr_assert(rd_copy(&r, dst, 3));
	cr_assert_arr_eq(dst, bytes, 3);
	cr_assert_eq(dst[3], 0xee);
	cr_assert(rd_copy(&r, dst, 0));
	cr_assert_eq(rd_left(&r), 1);
}

Test(reader, copy_rest_refuses_what_does_not_fit)
{
	struct reader r;
	uint8_t dst[4];
	size_t n = 99;
	rd_init(&r, bytes, 5);
	cr_assert(!rd_copy_rest(&r, dst, sizeof dst, &n));
	ASSERT_UNMOVED(r, bytes, 5);
	cr_assert_eq(n, 99);
	cr_assert(rd_skip(&r, 1));
	cr_assert(rd_copy_rest(&r, dst, sizeof dst, &n));
	cr_assert_eq(n, 4);
	cr_assert_arr_eq(dst, bytes + 1, 4);
	cr_assert_eq(rd_left(&r), 0);
}

Test(reader, stow_makes_an_owned_copy)
{
	struct reader r;
	uint8_t *d;
	size_t n;
	rd_init(&r, bytes, 5);
	cr_assert(rd_skip(&r, 2));
	cr_assert(rd_stow(&r, &d, &n));
	cr_assert_eq(n, 3);
	cr_assert_neq(d, bytes + 2);
	cr_assert_arr_eq(d, bytes + 2, 3);
	cr_assert_eq(rd_left(&r), 0);
	free(d);
	cr_assert(rd_stow(&r, &d, &n));        /* empty: NULL, 0 */
	cr_assert_null(d);
	cr_assert_eq(n, 0);
}

Test(reader, mem_equal_and_starts_with_consume_nothing)
{
	struct reader r;
	rd_init(&r, "STARTTLS\r\n", 10);
	cr_assert(rd_starts_with(&r, "START", 5));
	cr_assert(!rd_starts_with(&r, "STARTTLS\r\n+", 11));
	cr_assert(!rd_mem_equal(&r, "STARTTLS", 8));
	cr_assert(rd_mem_equal(&r, "STARTTLS\r\n", 10));
	cr_assert(rd_starts_with(&r, "", 0));
	ASSERT_UNMOVED(r, (const uint8_t *)r.p, 10);
	struct reader e;
	rd_init(&e, NULL, 0);
	cr_assert(rd_mem_equal(&e, "", 0));
	cr_assert(!rd_starts_with(&e, "a", 1));
}

Test(reader, find_gives_the_offset_of_a_byte)
{
	struct reader r;
	size_t at = 99;
	rd_init(&r, "EHLO x\r\nSTARTTLS", 16);
	cr_assert(rd_find(&r, '\n', &at));
	cr_assert_eq(at, 7);
	cr_assert(!rd_find(&r, '\0', &at));
	cr_assert_eq(at, 7);
	struct reader e;
	rd_init(&e, NULL, 0);
	cr_assert(!rd_find(&e, 'x', &at));
}

/* ---- buf ----------------------------------------------------------------- */

Test(buf, appends_and_stays_a_c_string)
{
	struct buf b = BUF_INIT(1024);
	cr_assert_str_eq(buf_str(&b), "");
	cr_assert(buf_puts(&b, "CN="));
	cr_assert(buf_append(&b, "contoso", 7));
	cr_assert(buf_putc(&b, ','));
	cr_assert(buf_printf(&b, "DC=%s %d", "com", 42));
	cr_assert_str_eq(buf_str(&b), "CN=contoso,DC=com 42");
	cr_assert_eq(buf_len(&b), 20);
	cr_assert(buf_ok(&b));
	buf_free(&b);
}

Test(buf, printf_longer_than_the_stack_buffer)
{
	struct buf b = BUF_INIT(100000);
	char big[3000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_assert(buf_printf(&b, "<%s>", big));
	cr_assert_eq(buf_len(&b), sizeof big + 1);
	cr_assert_eq(buf_str(&b)[0], '<');
	cr_assert_eq(buf_str(&b)[sizeof big], '>');
	buf_free(&b);
}

Test(buf, the_cap_fails_the_append_and_sticks)
{
	struct buf b = BUF_INIT(8);
	cr_assert(buf_puts(&b, "12345678"));       /* exactly the cap */
	cr_assert(!buf_putc(&b, '9'));
	cr_assert_eq(b.err, BUF_OVER_CAP);
	cr_assert_str_eq(buf_str(&b), "12345678"); /* unchanged */
	cr_assert(!buf_puts(&b, ""));              /* sticky, even for nothing */
	cr_assert_str_eq(buf_strerror(&b), "over the cap");
	cr_assert_null(buf_take(&b));              /* an error hands nothing over */
	cr_assert_null(b.data);

	struct buf c = BUF_INIT(4);
	cr_assert(!buf_printf(&c, "%s", "12345"));
	cr_assert_eq(buf_len(&c), 0);
	buf_reset(&c);                             /* reset clears the error */
	cr_assert(buf_ok(&c));
	cr_assert(buf_puts(&c, "1234"));
	buf_free(&c);
}

Test(buf, reset_and_truncate_keep_the_memory)
{
	struct buf b = BUF_INIT(1024);
	cr_assert(buf_puts(&b, "hello, world"));
	char *mem = b.data;
	buf_truncate(&b, 5);
	cr_assert_str_eq(buf_str(&b), "hello");
	buf_truncate(&b, 50);                      /* longer than len: nothing */
	cr_assert_eq(buf_len(&b), 5);
	buf_reset(&b);
	cr_assert_str_eq(buf_str(&b), "");
	cr_assert(buf_puts(&b, "again"));
	cr_assert_eq(b.data, mem);
	buf_free(&b);
}

Test(buf, hex_both_cases)
{
	struct buf b = BUF_INIT(64);
	static const uint8_t v[] = { 0x00, 0xab, 0x9f };
	cr_assert(buf_hex(&b, v, 3, false));
	cr_assert(buf_putc(&b, ' '));
	cr_assert(buf_hex(&b, v, 3, true));
	cr_assert_str_eq(buf_str(&b), "00ab9f 00AB9F");
	struct buf s = BUF_INIT(5);
	cr_assert(!buf_hex(&s, v, 3, false));      /* 6 digits over a cap of 5 */
	buf_free(&b);
	buf_free(&s);
}

Test(buf, reserve_then_commit)
{
	struct buf b = BUF_INIT(16);
	char *p = buf_reserve(&b, 4);
	cr_assert_not_null(p);
	memcpy(p, "abcd", 4);
	buf_commit(&b, 4);
	cr_assert_str_eq(buf_str(&b), "abcd");
	cr_assert_null(buf_reserve(&b, 13));
	cr_assert(!buf_ok(&b));
	buf_free(&b);
}

Test(buf, take_hands_over_and_empties)
{
	struct buf b = BUF_INIT(64);
	char *s = buf_take(&b);                    /* nothing appended: "" */
	cr_assert_str_eq(s, "");
	free(s);
	cr_assert(buf_puts(&b, "x"));
	s = buf_take(&b);
	cr_assert_str_eq(s, "x");
	cr_assert_null(b.data);
	cr_assert_eq(buf_len(&b), 0);
	free(s);
}

Test(str, printf_dup_copy)
{
	char *s = str_printf("%s:%u", "127.0.0.1", 5061u);
	cr_assert_str_eq(s, "127.0.0.1:5061");
	free(s);
	cr_assert_null(str_dup(NULL));
	s = str_dup("abc");
	cr_assert_str_eq(s, "abc");
	free(s);
	char d[4];
	cr_assert(str_copy(d, sizeof d, "abc"));
	cr_assert_str_eq(d, "abc");
	cr_assert(!str_copy(d, sizeof d, "abcdef"));
	cr_assert_str_eq(d, "abc");
	cr_assert(!str_copy(d, 0, "x"));
}
