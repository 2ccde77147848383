/*
 * touch.h — read every field of a TLS session record, blobs to their last
 * byte, so ASan sees any out-of-bounds or stale pointer the dissector left
 * (fuzz_tls, fuzz_tls13).  Fixed-size strings must end inside their arrays
 * and counts must stay within their caps: abort() otherwise.
 */
#ifndef CERTTRACE_FUZZ_TOUCH_H
#define CERTTRACE_FUZZ_TOUCH_H

#include <stdlib.h>
#include <string.h>

#include "dissect/tls.h"

static inline size_t touch_blob(const struct tls_blob *b)
{
	size_t sum = 0;
	for (uint32_t i = 0; i < b->len; i++)
		sum += b->data[i];
	return sum;
}

static inline size_t touch_chain(const struct tls_chain *c)
{
	size_t sum = c->present + c->truncated;
	if (c->n > TLS_MAX_CHAIN)
		abort();
	for (unsigned i = 0; i < c->n; i++)
		sum += touch_blob(&c->certs[i]);
	return sum;
}

static inline size_t touch_session(const struct tls_session *s)
{
	char buf[64];
	size_t sum = s->status + (s->reason ? strlen(s->reason) : 0) +
		     (s->preamble ? strlen(s->preamble) : 0);
	sum += strnlen(s->sni, sizeof s->sni) + strnlen(s->ja3, sizeof s->ja3) +
	       strnlen(s->ja3s, sizeof s->ja3s);
	/* Fixed-size strings must be terminated inside their arrays. */
	if (strnlen(s->sni, sizeof s->sni) == sizeof s->sni ||
	    strnlen(s->ja3, sizeof s->ja3) == sizeof s->ja3 ||
	    strnlen(s->ja3s, sizeof s->ja3s) == sizeof s->ja3s)
		abort();
	if (s->n_alpn > TLS_MAX_ALPN || s->n_ca_names > TLS_MAX_CA_NAMES ||
	    s->n_alerts > TLS_MAX_ALERTS)
		abort();
	for (unsigned i = 0; i < s->n_alpn; i++) {
		if (strnlen(s->alpn[i], sizeof s->alpn[i]) == sizeof s->alpn[i])
			abort();
		sum += strlen(s->alpn[i]);
	}
	sum += strlen(tls_version_name(s->version)) + strlen(tls_version_name(s->client_version));
	sum += strlen(tls_cipher_name(s->cipher, buf, sizeof buf));
	sum += touch_chain(&s->server_chain) + touch_chain(&s->client_chain);
	for (unsigned i = 0; i < s->n_ca_names; i++)
		sum += touch_blob(&s->ca_names[i]);
	for (unsigned i = 0; i < s->n_alerts; i++)
		sum += strlen(tls_alert_name(s->alerts[i].description));
	return sum;
}

#endif
