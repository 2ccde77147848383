/*
 * fuzz_x509.c — libFuzzer target: arbitrary bytes as a DER certificate and
 * as a DER X.509 Name.
 *
 * The same input goes three ways: x509_info_from_der() (the uncached parse
 * and every field it prints), x509_cache_get() twice (a miss, then a hit
 * that must give the same entry), and x509_name_der_to_string() (the
 * CertificateRequest CA list path).  Every string field is read to its end
 * so a missing terminator or a dangling pointer shows up under ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/model/x509.h"

static size_t touch_str(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t touch_list(char **v, size_t n)
{
	size_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += touch_str(v[i]);
	return sum;
}

static size_t touch_info(const struct x509_info *xi)
{
	size_t sum = touch_str(xi->sha1_hex) + touch_str(xi->sha256_hex) +
		     touch_str(xi->thumbprint) + touch_str(xi->error);
	if (!xi->parsed)
		return sum;
	sum += touch_str(xi->subject) + touch_str(xi->issuer) + touch_str(xi->serial) +
	       touch_str(xi->not_before_iso) + touch_str(xi->not_after_iso) +
	       touch_str(xi->key_type) + touch_str(xi->key_curve) +
	       touch_str(xi->signature_algorithm) + touch_str(xi->signature_hash) +
	       touch_str(xi->cn) + touch_str(xi->ski) + touch_str(xi->aki);
	sum += touch_list(xi->san, xi->n_san) + touch_list(xi->dns, xi->n_dns) +
	       touch_list(xi->eku, xi->n_eku) + touch_list(xi->crl_dp, xi->n_crl_dp);
	return sum;
}

static struct x509_cache *cache;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile size_t sink = 0;

	struct x509_info *xi = x509_info_from_der(data, size);
	if (xi) {
		sink += touch_info(xi);
		x509_unref(xi);
	}

	/* A small cache kept across inputs, so eviction and hits are exercised
	 * the way a long capture does. */
	if (!cache)
		cache = x509_cache_new(64);
	if (cache) {
		bool is_new = false, again = true;
		const struct x509_info *a = x509_cache_get(cache, data, size, &is_new);
		if (a) {
			const struct x509_info *held = x509_ref(a);
			sink += touch_info(held);
			const struct x509_info *b = x509_cache_get(cache, data, size, &again);
			if (b && (b != held || again))
				abort();   /* the same DER must be one cache entry */
			x509_unref(held);
		}
	}

	char *name = x509_name_der_to_string(data, size);
	if (name) {
		sink += strlen(name);
		free(name);
	}
	(void)sink;
	return 0;
}
