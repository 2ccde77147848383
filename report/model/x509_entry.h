/*
 * x509_entry.h — what x509.c and x509_cache.c share: a parsed certificate
 * is allocated with the cache's links around it, so a hit costs no
 * allocation and an info is freed by its last x509_unref() wherever it is.
 * Private to report/model/x509*.c.
 */
#ifndef CERTTRACE_X509_ENTRY_H
#define CERTTRACE_X509_ENTRY_H

#include <stdint.h>

#include "report/model/x509.h"

/* An x509_info with the cache's links; every info is allocated as one. */
struct x509_entry {
	struct x509_info info;
	struct x509_entry *hnext;	/* bucket chain */
	struct x509_entry *prev, *next;	/* LRU list, most recent at head */
};

/* Parses DER whose SHA-256 is already known: one reference; NULL only when
 * out of memory. */
struct x509_entry *x509_entry_new(const uint8_t *der, size_t len, const uint8_t sha256[32]);
/* SHA-256 of the DER with nothing allocated. */
void x509_der_sha256(const uint8_t *der, size_t len, uint8_t out[32]);

#endif
