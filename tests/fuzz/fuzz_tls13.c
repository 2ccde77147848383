/*
 * fuzz_tls13.c — libFuzzer target: the encrypted half of a TLS 1.3
 * handshake, read with a key log (dissect/tls.c, dissect/tls_aead.c).
 *
 * A fuzzer cannot forge AEAD tags, so fuzz_tls never gets past the record
 * layer of an encrypted handshake.  Here the target holds the key log: it
 * feeds a fixed ClientHello and ServerHello (TLS 1.3, TLS_AES_128_GCM_SHA256,
 * client random 0x11...), then seals each plaintext the input gives with the
 * handshake traffic keys of that key log, and feeds the records.  So the
 * input is what the dissector sees after decryption: EncryptedExtensions,
 * Certificate, CertificateRequest, CertificateVerify, Finished, in any shape.
 *
 * Input: records, each
 *	u8 flags: bit 0 direction (0 client, 1 server);
 *	          bits 1-2 inner content type: 22, 21, 23, or the next byte's value;
 *	          bit 3 flip a tag bit (must be refused, never parsed);
 *	          bit 4 feed the record in two pieces;
 *	          bits 5-7 zero padding bytes after the content type;
 *	[u8 raw content type, when bits 1-2 are 3]
 *	u16 length, then that many plaintext bytes (cut to what is left).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "dissect/tls_aead.h"
#include "tests/fuzz/touch.h"

#define SUITE 0x1301
#define KEY_BYTES 16

static struct kl_store *keys;
static uint8_t key[2][KEY_BYTES], iv[2][TLS_AEAD_IV_BYTES];   /* by enum tls_dir */

static const uint8_t secret[2][32] = {
	{ 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1,
	  0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1 },
	{ 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e,
	  0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e },
};

/* ClientHello: TLS 1.3 only, random 0x11 x 32, one suite. */
static const uint8_t client_hello[] = {
	0x16, 0x03, 0x01, 0x00, 0x36,
	0x01, 0x00, 0x00, 0x32, 0x03, 0x03,
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00,
	0x00, 0x07, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04,
};

/* ServerHello: TLS 1.3 (supported_versions), TLS_AES_128_GCM_SHA256. */
static const uint8_t server_hello[] = {
	0x16, 0x03, 0x03, 0x00, 0x32,
	0x02, 0x00, 0x00, 0x2e, 0x03, 0x03,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	0x00, 0x13, 0x01, 0x00,
	0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,
};

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void setup(void)
{
	char line[512], r[65], sc[65], ss[65];
	uint8_t random[32];

	keys = kl_store_new();
	memset(random, 0x11, sizeof random);
	hex(r, random, 32);
	hex(sc, secret[TLS_FROM_CLIENT], 32);
	hex(ss, secret[TLS_FROM_SERVER], 32);
	int n = snprintf(line, sizeof line, "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\n"
			 "SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n", r, sc, r, ss);
	kl_add_text(keys, line, (size_t)n);
	for (int d = 0; d < 2; d++)
		if (!tls_hkdf_expand_label("SHA256", secret[d], 32, "key", NULL, 0, key[d], KEY_BYTES) ||
		    !tls_hkdf_expand_label("SHA256", secret[d], 32, "iv", NULL, 0, iv[d],
					   TLS_AEAD_IV_BYTES))
			abort();
}

/* RFC 8446 5.2: header 23 03 03 len, AES-128-GCM over content || type ||
 * zeros with the header as additional data, nonce = iv ^ sequence. */
static size_t seal(int dir, uint64_t seq, const uint8_t *p, size_t n, uint8_t type,
		   unsigned padding, uint8_t *out)
{
	uint8_t nonce[TLS_AEAD_IV_BYTES];
	size_t inner = n + 1 + padding, len = inner + TLS_AEAD_TAG_BYTES;
	int outl = 0, fl = 0;

	memcpy(nonce, iv[dir], sizeof nonce);
	for (int i = 0; i < 8; i++)
		nonce[TLS_AEAD_IV_BYTES - 1 - i] ^= (uint8_t)(seq >> (8 * i));
	out[0] = 23; out[1] = 3; out[2] = 3;
	out[3] = (uint8_t)(len >> 8); out[4] = (uint8_t)len;
	uint8_t *pt = out + 5;
	memcpy(pt, p, n);
	pt[n] = type;
	memset(pt + n + 1, 0, padding);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key[dir], nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, out, 5) != 1 ||
	    EVP_EncryptUpdate(ctx, pt, &outl, pt, (int)inner) != 1 ||
	    EVP_EncryptFinal_ex(ctx, pt + outl, &fl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TLS_AEAD_TAG_BYTES, pt + inner) != 1)
		abort();
	EVP_CIPHER_CTX_free(ctx);
	return 5 + len;
}

/* An exact-size copy per feed: a read past it is ASan's to see. */
static enum tls_verdict feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return TLS_DONE;
	memcpy(copy, p, n);
	enum tls_verdict v = tls_feed(c, (enum tls_dir)dir, copy, n, ts);
	free(copy);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[3] = { 22, 21, 23 };
	static uint8_t rec[5 + 65535 + 1 + 7 + TLS_AEAD_TAG_BYTES];
	uint64_t seq[2] = { 0, 0 }, ts = 1700000000000000ull;

	if (!keys)
		setup();
	struct tls_conn *c = tls_conn_new_with_keys(keys);
	if (!c)
		return 0;
	enum tls_verdict v = feed(c, TLS_FROM_CLIENT, client_hello, sizeof client_hello, ts);
	if (v == TLS_CONTINUE)
		v = feed(c, TLS_FROM_SERVER, server_hello, sizeof server_hello, ts + 10);
	while (v == TLS_CONTINUE && size >= 3) {
		uint8_t flags = data[0];
		int dir = flags & 1;
		uint8_t type;
		size_t at = 1;
		if (((flags >> 1) & 3) == 3) {
			type = data[at++];
		} else {
			type = types[(flags >> 1) & 3];
		}
		if (size < at + 2)
			break;
		size_t n = (size_t)data[at] << 8 | data[at + 1];
		at += 2;
		if (n > size - at)
			n = size - at;
		if (n > 16384)        /* RFC 8446: a plaintext fragment is at most 2^14 */
			n = 16384;
		size_t len = seal(dir, seq[dir]++, data + at, n, type, flags >> 5, rec);
		if (flags & 8)
			rec[len - 1] ^= 1;     /* a tag that does not verify */
		ts += 1000;
		if (flags & 16) {
			size_t half = len / 2;
			v = feed(c, dir, rec, half, ts);
			if (v == TLS_CONTINUE)
				v = feed(c, dir, rec + half, len - half, ts);
		} else {
			v = feed(c, dir, rec, len, ts);
		}
		data += at + n;
		size -= at + n;
	}
	tls_end(c);
	volatile size_t sink = touch_session(tls_session(c)) + tls_is_tls(c);
	(void)sink;
	tls_conn_free(c);
	return 0;
}
