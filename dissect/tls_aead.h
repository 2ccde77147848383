/*
 * tls_aead.h — TLS 1.3 record protection, read side: the traffic key and
 * IV from a traffic secret (RFC 8446 7.1, 7.3) and opening one protected
 * record (RFC 8446 5.2, 5.3), on OpenSSL's EVP_KDF and EVP_CIPHER.
 *
 * The dissector uses it with the handshake traffic secrets of a key log to
 * read the encrypted half of a TLS 1.3 handshake; nothing here keeps
 * application traffic keys.
 */
#ifndef CERTTRACE_TLS_AEAD_H
#define CERTTRACE_TLS_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_AEAD_IV_BYTES   12
#define TLS_AEAD_TAG_BYTES  16
#define TLS_AEAD_MAX_KEY_BYTES 32
/* RFC 8446 5.2: a TLSCiphertext fragment is at most 2^14 + 256 bytes. */
#define TLS13_MAX_CIPHERTEXT_BYTES (16384 + 256)

struct tls_aead {
	void *ctx;                      /* EVP_CIPHER_CTX, keyed */
	uint8_t iv[TLS_AEAD_IV_BYTES];  /* write_iv */
	uint64_t seq;                   /* records opened so far */
};

/*
 * RFC 8446 7.1: HKDF-Expand-Label(Secret, Label, Context, Length) with the
 * named digest ("SHA256", "SHA384"); `label` without the "tls13 " prefix.
 */
bool tls_hkdf_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
			   const char *label, const uint8_t *context, size_t context_len,
			   uint8_t *out, size_t out_len);

/* The AEAD and hash of a TLS 1.3 cipher suite we can open: false for
 * others (TLS_AES_128_CCM_SHA256 and _CCM_8 are not supported). */
bool tls_aead_suite(uint16_t suite, const char **cipher, size_t *key_len,
		    const char **digest, size_t *hash_len);

/* Keys `a` from a traffic secret: [sender]_write_key and _iv (RFC 8446
 * 7.3), sequence 0.  false for an unsupported suite, a secret whose length
 * is not the suite's hash length, or an OpenSSL failure. */
bool tls_aead_init(struct tls_aead *a, uint16_t suite, const uint8_t *secret, size_t secret_len);

/*
 * Opens one protected record: `hdr` is its 5-byte header (the additional
 * data), `in` its n bytes of encrypted_record (ciphertext, then the tag).
 * The plaintext (TLSInnerPlaintext: content, type, zero padding) goes to
 * `out` (room for n bytes; may be `in`).  false when the tag does not
 * verify; the sequence number advances only on success.
 */
bool tls_aead_open(struct tls_aead *a, const uint8_t hdr[5], const uint8_t *in, size_t n,
		   uint8_t *out, size_t *out_len);

void tls_aead_free(struct tls_aead *a);

#endif
