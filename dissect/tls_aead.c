/*
 * tls_aead.c — TLS 1.3 traffic keys and record opening on OpenSSL 3.
 *
 * HKDF-Expand-Label is HKDF-Expand (EVP_KDF "HKDF", mode EXPAND_ONLY) with
 * the secret as PRK and the HkdfLabel struct as info; no HKDF-Extract is
 * needed because a key log already holds the traffic secrets.  The
 * per-record nonce is write_iv XOR the 64-bit sequence number left-padded
 * to the IV's length (RFC 8446 5.3).  The cipher context is keyed once and
 * only its IV is reset per record.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "dissect/tls_aead.h"
#include "lib/reader.h"

bool tls_hkdf_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
			   const char *label, const uint8_t *context, size_t context_len,
			   uint8_t *out, size_t out_len)
{
	static const char prefix[] = "tls13 ";
	size_t label_len = sizeof(prefix) - 1 + strlen(label);
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	bool ok;

	/* struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } */
	if (out_len > 0xffff || label_len > 255 || context_len > 255)
		return false;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)label_len;
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	n += sizeof(prefix) - 1;
	memcpy(info + n, label, label_len - (sizeof(prefix) - 1));
	n += label_len - (sizeof(prefix) - 1);
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;

	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	ok = kctx && EVP_KDF_derive(kctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok;
}

bool tls_aead_suite(uint16_t suite, const char **cipher, size_t *key_len,
		    const char **digest, size_t *hash_len)
{
	switch (suite) {
	case 0x1301:            /* TLS_AES_128_GCM_SHA256 */
		*cipher = "AES-128-GCM";
		*key_len = 16;
		*digest = "SHA256";
		*hash_len = 32;
		return true;
	case 0x1302:            /* TLS_AES_256_GCM_SHA384 */
		*cipher = "AES-256-GCM";
		*key_len = 32;
		*digest = "SHA384";
		*hash_len = 48;
		return true;
	case 0x1303:            /* TLS_CHACHA20_POLY1305_SHA256 */
		*cipher = "ChaCha20-Poly1305";
		*key_len = 32;
		*digest = "SHA256";
		*hash_len = 32;
		return true;
	}
	return false;
}

bool tls_aead_init(struct tls_aead *a, uint16_t suite, const uint8_t *secret, size_t secret_len)
{
	const char *cipher_name, *digest;
	size_t key_len, hash_len;
	uint8_t key[TLS_AEAD_MAX_KEY_BYTES];
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	bool ok = false;

	memset(a, 0, sizeof(*a));
	if (!tls_aead_suite(suite, &cipher_name, &key_len, &digest, &hash_len) ||
	    secret_len != hash_len)
		return false;
	if (!tls_hkdf_expand_label(digest, secret, secret_len, "key", NULL, 0, key, key_len) ||
	    !tls_hkdf_expand_label(digest, secret, secret_len, "iv", NULL, 0, a->iv, sizeof(a->iv)))
		goto out;
	cipher = EVP_CIPHER_fetch(NULL, cipher_name, NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx || EVP_DecryptInit_ex2(ctx, cipher, key, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, TLS_AEAD_IV_BYTES, NULL) != 1)
		goto out;
	a->ctx = ctx;
	ctx = NULL;
	ok = true;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	return ok;
}

bool tls_aead_open(struct tls_aead *a, const uint8_t hdr[5], const uint8_t *in, size_t n,
		   uint8_t *out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = a->ctx;
	uint8_t nonce[TLS_AEAD_IV_BYTES], tag[TLS_AEAD_TAG_BYTES];
	size_t body = n - TLS_AEAD_TAG_BYTES;
	int len = 0, fin = 0;
	struct reader rec;

	if (!ctx || n < TLS_AEAD_TAG_BYTES || n > TLS13_MAX_CIPHERTEXT_BYTES)
		return false;
	memcpy(nonce, a->iv, sizeof(nonce));
	for (int i = 0; i < 8; i++)
		nonce[TLS_AEAD_IV_BYTES - 1 - i] ^= (uint8_t)(a->seq >> (8 * i));
	rd_init(&rec, in, n);                   /* the tag, before `out` may overwrite it */
	rd_skip(&rec, body);
	rd_copy(&rec, tag, sizeof(tag));
	if (EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, hdr, 5) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &len, in, (int)body) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + len, &fin) != 1)
		return false;
	*out_len = (size_t)len + (size_t)fin;
	a->seq++;
	return true;
}

void tls_aead_free(struct tls_aead *a)
{
	EVP_CIPHER_CTX_free(a->ctx);
	a->ctx = NULL;
}
