/*
 * util.h — the report's own small tools: a hash map with byte-string keys,
 * a capped array of pointers, ISO 8601 times, reading a whole option file.
 * Strings are made with lib/buf.h (str_printf, str_dup, struct buf).
 */
#ifndef CERTTRACE_REP_UTIL_H
#define CERTTRACE_REP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/buf.h"

/* ---- a small hash map: byte-string keys, pointer values ------------------ */

struct rep_map_entry;
struct rep_map {
	struct rep_map_entry **buckets;
	size_t n_buckets, n;
};

void *rep_map_get(const struct rep_map *m, const void *key, size_t klen);
/* false when out of memory; the key is copied */
bool rep_map_put(struct rep_map *m, const void *key, size_t klen, void *val);
void rep_map_clear(struct rep_map *m);

/* ---- an array of pointers, at most REP_VEC_MAX_ITEMS --------------------- */

#define REP_VEC_MAX_ITEMS (1u << 24)

/* Zeroed is empty.  v[0..n) stay valid until the next push. */
struct rep_vec {
	void **v;
	size_t n;
	struct buf items;              /* the pointers' bytes; v points into it */
};

/* false when out of memory or full: nothing changes then */
bool rep_vec_push(struct rep_vec *a, void *p);
/* Takes the last pointer back (undoing a push). */
void rep_vec_pop(struct rep_vec *a);
void rep_vec_clear(struct rep_vec *a);

/* ---- time and files ------------------------------------------------------ */

void rep_iso_us(uint64_t ts_us, char *buf, size_t len);   /* ...T14:50:27.214000Z */
/* A whole file (at most max_bytes) NUL-terminated, malloc'd; NULL with err. */
uint8_t *rep_read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen);
/* The same from a file already open (left open); path names it in err. */
uint8_t *rep_read_stream(FILE *f, const char *path, size_t max_bytes, size_t *len, char *err,
			 size_t errlen);

#endif
