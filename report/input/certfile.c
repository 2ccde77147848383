/*
 * certfile.c — --trust and --cert files: the certificates of a PEM file
 * (all of them, in order) or of a DER file (one), interned like those off
 * the wire.  A file that holds none is an error with its name.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "report/rep_int.h"

#define CERTFILE_MAX_BYTES (16 * 1024 * 1024)   /* a --trust/--cert file, at most */

bool rep_certfile_load(struct rep *r, FILE *f, const char *path, struct rep_cert **out,
		       unsigned max, unsigned *n, char *err, size_t errlen)
{
	size_t len;
	uint8_t *data = f ? rep_read_stream(f, path, CERTFILE_MAX_BYTES, &len, err, errlen)
			  : rep_read_file(path, CERTFILE_MAX_BYTES, &len, err, errlen);
	bool ok = false;

	*n = 0;
	if (!data)
		return false;
	if (strstr((const char *)data, "-----BEGIN")) {
		BIO *bio = BIO_new_mem_buf(data, (int)len);
		X509 *x;
		while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			unsigned char *der = NULL;
			int dlen = i2d_X509(x, &der);
			X509_free(x);
			if (dlen <= 0)
				continue;
			struct rep_cert *c = rep_cert_intern(r, der, (size_t)dlen);
			OPENSSL_free(der);
			if (c && *n < max)
				out[(*n)++] = c;
		}
		BIO_free(bio);
		if (!*n)
			snprintf(err, errlen, "%s: no certificate in this PEM file", path);
	} else {
		struct rep_cert *c = rep_cert_intern(r, data, len);
		if (c && !c->xi->parsed)
			snprintf(err, errlen, "%s: not a PEM or DER certificate (%s)", path,
				 c->xi->error);
		else if (c)
			out[(*n)++] = c;
		else
			snprintf(err, errlen, "%s: out of memory", path);
	}
	ok = *n > 0;
	ERR_clear_error();
	free(data);
	return ok;
}
