/*
 * util.c — see util.h.  The map chains its entries per bucket and doubles
 * the buckets when there are as many entries as buckets; the array of
 * pointers and the file reader grow through a capped struct buf.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
