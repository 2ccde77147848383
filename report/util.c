/*
 * util.c — see util.h.  The map chains its entries per bucket and doubles
 * the buckets when there are as many entries as buckets; the array of
 * pointers and the file reader grow through a capped struct buf.  --at's
 * ISO 8601 reader (rep_parse_at, report.h) sits with the time writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "report/util.h"

#define READ_CHUNK_BYTES 16384

/* ---- hash map -------------------------------------------------------------- */

struct rep_map_entry {
	struct rep_map_entry *next;
	uint64_t hash;
	void *val;
	size_t klen;
	uint8_t key[];
};

static uint64_t rep_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;     /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

void *rep_map_get(const struct rep_map *m, const void *key, size_t klen)
{
	if (!m->n_buckets)
		return NULL;
	uint64_t h = rep_hash(key, klen);
	for (struct rep_map_entry *e = m->buckets[h & (m->n_buckets - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen))
			return e->val;
	return NULL;
}

static bool rep_map_grow(struct rep_map *m)
{
	size_t nb = m->n_buckets ? m->n_buckets * 2 : 64;
	struct rep_map_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return false;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct rep_map_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
	return true;
}

bool rep_map_put(struct rep_map *m, const void *key, size_t klen, void *val)
{
	if (m->n >= m->n_buckets && !rep_map_grow(m))
		return false;
	struct rep_map_entry *e = malloc(sizeof(*e) + klen);
	if (!e)
		return false;
	e->hash = rep_hash(key, klen);
	e->val = val;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->next = m->buckets[e->hash & (m->n_buckets - 1)];
	m->buckets[e->hash & (m->n_buckets - 1)] = e;
	m->n++;
	return true;
}

void rep_map_clear(struct rep_map *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct rep_map_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

/* ---- array of pointers ------------------------------------------------------- */

bool rep_vec_push(struct rep_vec *a, void *p)
{
	if (!a->items.max_bytes)
		buf_init(&a->items, REP_VEC_MAX_ITEMS * sizeof(void *));
	if (!buf_append(&a->items, &p, sizeof(p))) {
		a->items.err = BUF_OK;     /* full or out of memory now, maybe not later */
		return false;
	}
	a->v = (void **)a->items.data;
	a->n++;
	return true;
}

void rep_vec_pop(struct rep_vec *a)
{
	if (a->n)
		buf_truncate(&a->items, --a->n * sizeof(void *));
}

void rep_vec_clear(struct rep_vec *a)
{
	buf_free(&a->items);
	memset(a, 0, sizeof(*a));
}

/* ---- time and files --------------------------------------------------------- */

void rep_iso_us(uint64_t ts_us, char *buf, size_t len)
{
	time_t t = (time_t)(ts_us / 1000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ts_us % 1000000));
}

/* n decimal digits at *p, moved past them; false (p unmoved) otherwise. */
static bool digits(const char **p, unsigned n, int *out)
{
	int v = 0;

	for (unsigned i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool rep_parse_at(const char *s, uint64_t *ts_us)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, off_h = 0, off_m = 0, sign = 0;
	long usec = 0;
	const char *p = s;

	if (!s)
		return false;
	if (!strcmp(s, "now")) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		*ts_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
		return true;
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.' || *p == ',') {
				long scale = 100000;
				if (*++p < '0' || *p > '9')
					return false;
				for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
					usec += scale * (*p - '0');
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (!digits(&p, 2, &off_h) || (*p == ':' && !*++p) || !digits(&p, 2, &off_m))
				return false;
		}
	}
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 ||
	    off_h > 23 || off_m > 59 || d > mdays[mo - 1] + (mo == 2 && leap_year(y)))
		return false;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	int64_t t = (int64_t)timegm(&tm) - sign * (int64_t)(off_h * 3600 + off_m * 60);
	if (t < 0)
		return false;
	*ts_us = (uint64_t)t * 1000000u + (uint64_t)usec;
	return true;
}

uint8_t *rep_read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	data = rep_read_stream(f, path, max_bytes, len, err, errlen);
	fclose(f);
	return data;
}

uint8_t *rep_read_stream(FILE *f, const char *path, size_t max_bytes, size_t *len, char *err,
			 size_t errlen)
{
	struct buf b = BUF_INIT(max_bytes);

	for (;;) {
		size_t want = max_bytes - buf_len(&b) < READ_CHUNK_BYTES
			      ? max_bytes - buf_len(&b) : READ_CHUNK_BYTES;
		if (!want) {
			snprintf(err, errlen, "%s: larger than %zu MiB", path, max_bytes >> 20);
			goto fail;
		}
		void *room = buf_reserve(&b, want);
		if (!room) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		size_t got = fread(room, 1, want, f);
		buf_commit(&b, got);
		if (got == 0) {
			if (ferror(f)) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	*len = buf_len(&b);
	return (uint8_t *)buf_take(&b);
fail:
	buf_free(&b);
	return NULL;
}
