/*
 * jsonl_in.c — reading certtrace's own jsonl back: lines, and the few kinds
 * of value its events hold (times, addresses, SHA-1s, printable strings).
 *
 * Input is untrusted text.  A line is gathered in a buffer capped at
 * REP_EVENTS_MAX_LINE_BYTES: one that does not fit is read to its end and
 * counted as bad, like a line that is not a JSON object with a string
 * "event".  Every value is checked for its type and range before use.
 */
#define _GNU_SOURCE             /* timegm */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report/input/input.h"
#include "report/output/jsonl_fields.h"

/* One whole line: counted, parsed, handed to fn if it is an event. */
static void one_line(const struct buf *line, bool too_long, rep_event_fn *fn, void *ctx,
		     struct rep_line_stats *ls)
{
	if (too_long) {
		ls->lines++;
		ls->bad++;
		return;
	}
	if (!buf_len(line))
		return;
	ls->lines++;
	json_error_t je;
	json_t *ev = json_loadb(buf_str(line), buf_len(line), JSON_REJECT_DUPLICATES, &je);
	if (json_is_object(ev) && json_is_string(json_object_get(ev, "event")))
		fn(ctx, ev);
	else
		ls->bad++;
	json_decref(ev);
}

static bool each_event_fp(FILE *f, const char *path, rep_event_fn *fn, void *ctx,
			  struct rep_line_stats *ls, char *err, size_t errlen);

bool rep_jsonl_each_event(FILE *f, const char *path, rep_event_fn *fn, void *ctx,
			  struct rep_line_stats *ls, char *err, size_t errlen)
{
	bool ok;

	if (f || !strcmp(path, "-"))
		return each_event_fp(f ? f : stdin, path, fn, ctx, ls, err, errlen);
	if (!(f = fopen(path, "rb"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	ok = each_event_fp(f, path, fn, ctx, ls, err, errlen);
	fclose(f);
	return ok;
}

static bool each_event_fp(FILE *f, const char *path, rep_event_fn *fn, void *ctx,
			  struct rep_line_stats *ls, char *err, size_t errlen)
{
	char chunk[65536];
	struct buf line = BUF_INIT(REP_EVENTS_MAX_LINE_BYTES);
	bool ok = true;

	for (;;) {
		size_t got = fread(chunk, 1, sizeof(chunk), f);
		bool eof = got == 0;
		if (eof && ferror(f)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			ok = false;
			break;
		}
		for (size_t i = 0; i < got; ) {
			const char *nl = memchr(chunk + i, '\n', got - i);
			size_t n = nl ? (size_t)(nl - (chunk + i)) : got - i;
			buf_append(&line, chunk + i, n);     /* fails for good past the cap */
			i += n + (nl ? 1 : 0);
			if (!nl)
				break;                 /* the line goes on in the next chunk */
			one_line(&line, !buf_ok(&line), fn, ctx, ls);
			buf_reset(&line);
		}
		if (eof) {
			if (buf_len(&line) || !buf_ok(&line))   /* the last line, unended */
				one_line(&line, !buf_ok(&line), fn, ctx, ls);
			break;
		}
	}
	buf_free(&line);
	return ok;
}

const char *rep_jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

bool rep_iso_parse(const char *s, uint64_t *ts_us)
{
	struct tm tm = { 0 };
	int n = 0;
	unsigned frac = 0, digits = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return false;
	const char *p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 6) {
				frac = frac * 10 + (unsigned)(*p - '0');
				digits++;
			}
	while (digits < 6) {
		frac *= 10;
		digits++;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t < 0)
		return false;
	*ts_us = (uint64_t)t * 1000000u + frac;
	return true;
}

bool rep_is_sha1_hex(const char *s)
{
	if (!s || strlen(s) != 40)
		return false;
	for (int i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The table jsonl.c writes endpoints with: the same names and ranges. */
bool rep_jendpoint(json_t *o, struct rep_endpoint *ep)
{
	struct rep_endpoint got = { 0 };

	if (!jr_read_fields(o, rep_jf_endpoint.fields, rep_jf_endpoint.n, &got, NULL, 0))
		return false;
	*ep = got;
	return true;
}

void rep_copy_printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}
