/*
 * fuzz_tls.c — libFuzzer target: the TLS dissector fed arbitrary stream
 * bytes in arbitrary chunks, both directions, with gaps (dissect/tls.c).
 *
 * The input's first bytes are a small program (fuzz_tls.h) that chooses
 * each feed's direction and size, so the fuzzer explores record and
 * handshake headers split at every offset, and flights interleaved as a
 * capture delivers them.  Feeding stops at the first verdict other than
 * TLS_CONTINUE, as the flow table does; then tls_end() and every field of
 * the session record is read, blobs to their last byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/tls.h"
#include "tests/fuzz/fuzz_tls.h"
#include "tests/fuzz/touch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n_ops = data[0];
	size_t prog = 1 + n_ops * FUZZ_TLS_OP_BYTES;
	if (prog > size) {
		n_ops = (size - 1) / FUZZ_TLS_OP_BYTES;
		prog = 1 + n_ops * FUZZ_TLS_OP_BYTES;
	}
	const uint8_t *op = data + 1;
	const uint8_t *p = data + prog;
	size_t left = size - prog;

	struct tls_conn *c = tls_conn_new();
	if (!c)
		return 0;
	enum tls_verdict v = TLS_CONTINUE;
	enum tls_dir dir = TLS_FROM_CLIENT;
	uint64_t ts = 1700000000000000ull;
	for (size_t i = 0; i < n_ops && v == TLS_CONTINUE; i++, op += FUZZ_TLS_OP_BYTES) {
		dir = (op[0] & 1) ? TLS_FROM_SERVER : TLS_FROM_CLIENT;
		unsigned kind = (op[0] >> 1) & 3;
		size_t len = (size_t)op[1] << 8 | op[2];
		ts += 1000;
		if (kind == FUZZ_TLS_OP_GAP) {
			v = tls_gap(c, dir, len);
			continue;
		}
		if (len > left)
			len = left;
		size_t piece = kind == FUZZ_TLS_OP_PIECES ? (size_t)(op[0] >> 3) + 1 : len;
		while (len > 0 && v == TLS_CONTINUE) {
			size_t k = piece < len ? piece : len;
			/* An exact-size copy: a read past the feed is ASan's to see. */
			uint8_t *chunk = malloc(k);
			if (!chunk)
				break;
			memcpy(chunk, p, k);
			v = tls_feed(c, dir, chunk, k, ts);
			free(chunk);
			p += k;
			left -= k;
			len -= k;
		}
	}
	if (v == TLS_CONTINUE && left > 0) {
		uint8_t *chunk = malloc(left);
		if (chunk) {
			memcpy(chunk, p, left);
			v = tls_feed(c, dir, chunk, left, ts + 1000);
			free(chunk);
		}
	}
	tls_end(c);
	volatile size_t sink = touch_session(tls_session(c)) + tls_is_tls(c);
	(void)sink;
	tls_conn_free(c);
	return 0;
}
