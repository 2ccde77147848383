/*
 * fuzz_tls.h — the input format of fuzz_tls, shared with seedgen.c, which
 * writes real TCP streams in it.
 *
 * An input is a small program and the bytes it feeds:
 *	u8 n_ops, then n_ops ops of 3 bytes, then the stream bytes.
 * Op: byte 0: bit 0 direction (0 client, 1 server); bits 1-2 kind;
 *     bits 3-7 piece size - 1 for FUZZ_TLS_OP_PIECES;
 *     bytes 1-2: a length, big-endian.
 * Feeds take their bytes in order from what follows the ops; whatever is
 * left after the last op goes to the last op's direction in one feed.
 */
#ifndef CERTTRACE_FUZZ_TLS_H
#define CERTTRACE_FUZZ_TLS_H

enum {
	FUZZ_TLS_OP_FEED = 0,     /* tls_feed() length bytes at once */
	FUZZ_TLS_OP_FEED2 = 1,    /* the same (kept for a denser op space) */
	FUZZ_TLS_OP_PIECES = 2,   /* length bytes, in pieces of 1..32 bytes */
	FUZZ_TLS_OP_GAP = 3,      /* tls_gap() of length bytes */
};

#define FUZZ_TLS_OP_BYTES 3
#define FUZZ_TLS_MAX_OPS 255

#endif
