/*
 * x509_cache.c — each certificate parsed once: DER -> x509_info, keyed by
 * the SHA-256 of the DER, least recently used evicted beyond max_entries.
 *
 * The cache is the hot path.  A busy server sends the same chain on every
 * handshake, so x509_cache_get() does only what a repeat occurrence needs:
 * a SHA-256 of the DER (the key), one bucket walk and an LRU relink.  No
 * allocation: OpenSSL 3.0 allocates a fresh provider context on every
 * EVP_DigestInit (measured: one malloc per call even on a reused
 * EVP_MD_CTX), so the key is computed with the low-level SHA256_* on the
 * stack, which allocates nothing (x509_der_sha256).  Entries are reference
 * counted; eviction only drops the cache's own reference.
 */
#include <stdlib.h>
#include <string.h>

#include "report/model/x509.h"
#include "report/model/x509_entry.h"

struct x509_cache {
	size_t max_entries;
	size_t count;
	uint64_t parses;
	size_t n_buckets;		/* power of two */
	struct x509_entry **buckets;
	struct x509_entry lru;		/* sentinel: lru.next newest, lru.prev oldest */
};

struct x509_cache *x509_cache_new(size_t max_entries)
{
	struct x509_cache *c = calloc(1, sizeof(*c));
	size_t nb = 16;

	if (!c)
		return NULL;
	if (max_entries == 0)
		max_entries = X509_CACHE_DEFAULT_ENTRIES;
	/* About one entry per bucket when full; beyond a million entries the
	 * chains just grow a little longer. */
	while (nb < max_entries && nb < (1u << 20))
		nb <<= 1;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->n_buckets = nb;
	c->max_entries = max_entries;
	c->lru.next = c->lru.prev = &c->lru;
	return c;
}

void x509_cache_free(struct x509_cache *c)
{
	struct x509_entry *e, *next;

	if (!c)
		return;
	for (e = c->lru.next; e != &c->lru; e = next) {
		next = e->next;
		x509_unref(&e->info);
	}
	free(c->buckets);
	free(c);
}

static size_t bucket_of(const struct x509_cache *c, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));	/* SHA-256 bits are already uniform */
	return (size_t)(h & (c->n_buckets - 1));
}

static void lru_unlink(struct x509_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push_front(struct x509_cache *c, struct x509_entry *e)
{
	e->prev = &c->lru;
	e->next = c->lru.next;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void evict_oldest(struct x509_cache *c)
{
	struct x509_entry *old = c->lru.prev, **pp;

	for (pp = &c->buckets[bucket_of(c, old->info.sha256)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == old) {
			*pp = old->hnext;
			break;
		}
	}
	lru_unlink(old);
	c->count--;
	x509_unref(&old->info);	/* others may still hold it */
}

const struct x509_info *x509_cache_get(struct x509_cache *c, const uint8_t *der,
				       size_t len, bool *is_new)
{
	uint8_t key[32];
	struct x509_entry *e;
	size_t b;

	if (is_new)
		*is_new = false;
	if (!der)
		len = 0;
	x509_der_sha256(der, len, key);
	b = bucket_of(c, key);
	for (e = c->buckets[b]; e; e = e->hnext) {
		if (e->info.der_len == len &&
		    memcmp(e->info.sha256, key, sizeof(key)) == 0) {
			lru_unlink(e);
			lru_push_front(c, e);
			return &e->info;
		}
	}

	e = x509_entry_new(der, len, key);
	if (!e)
		return NULL;
	c->parses++;
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	lru_push_front(c, e);
	c->count++;
	while (c->count > c->max_entries)
		evict_oldest(c);
	if (is_new)
		*is_new = true;
	return &e->info;
}

size_t x509_cache_count(const struct x509_cache *c)
{
	return c->count;
}

uint64_t x509_cache_parses(const struct x509_cache *c)
{
	return c->parses;
}
