/*
 * keylog.h — TLS secrets from an NSS key log (SSLKEYLOGFILE), keyed by the
 * ClientHello random.
 *
 * The format is what OpenSSL's keylog callback, curl, NSS and browsers
 * write: one secret per line, "LABEL <64 hex client_random> <hex secret>",
 * '#' comments, LF or CRLF.  Only the TLS 1.3 handshake traffic secrets are
 * kept (they are all it takes to read the server's and the client's
 * encrypted Certificate messages); the other labels are recognised and
 * counted, not stored.  Anything else on a line is counted as garbage and
 * skipped: a key log is often the concatenation of several programs' logs.
 *
 * Memory: at most KL_MAX_SESSIONS sessions (about 150 bytes each, so some
 * 40 MiB at the cap); lines for sessions past the cap are counted as dropped.
 */
#ifndef CERTTRACE_KEYLOG_H
#define CERTTRACE_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KL_RANDOM_BYTES     32
#define KL_MAX_SECRET_BYTES 48            /* SHA-384, the longest TLS 1.3 hash */
#define KL_MAX_SESSIONS     (256 * 1024)
#define KL_MAX_LINE_BYTES   1024          /* longer lines are garbage */
#define KL_MAX_DSB_BYTES    (16 * 1024 * 1024)   /* one pcapng Decryption Secrets Block */

struct kl_secret {
	uint8_t len;                   /* 0: not in the log */
	uint8_t b[KL_MAX_SECRET_BYTES];
};

/* What the log holds for one ClientHello random. */
struct kl_secrets {
	struct kl_secret client_hs;    /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
	struct kl_secret server_hs;    /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
};

struct kl_stats {
	uint64_t lines;                /* every line, comments and blanks included */
	uint64_t used;                 /* handshake traffic secrets stored */
	uint64_t unused;               /* recognised labels we have no use for */
	uint64_t garbage;              /* not a key log line (or a bad length) */
	uint64_t dropped;              /* over KL_MAX_SESSIONS */
	uint64_t sessions;             /* distinct client randoms stored */
	uint64_t dsb;                  /* pcapng Decryption Secrets Blocks read */
};

struct kl_store;

struct kl_store *kl_store_new(void);
void kl_store_free(struct kl_store *s);

/* Adds the lines of a key log held in memory (a last line without a
 * newline counts).  Never fails: bad lines are counted as garbage. */
void kl_add_text(struct kl_store *s, const void *p, size_t n);

/* Adds a key log file.  false with a one-line reason when it cannot be read. */
bool kl_load_file(struct kl_store *s, const char *path, char *err, size_t err_len);
/* The same from a file already open (certtrace -Z opens its inputs before it
 * drops privileges); path names it in messages.  f stays open. */
bool kl_load_fp(struct kl_store *s, FILE *f, const char *path, char *err, size_t err_len);

/* Adds the NSS key log text of a pcapng Decryption Secrets Block (secrets
 * type "TLSK", as `editcap --inject-secrets tls,keys.txt` writes it); the
 * capture reader hands those blocks over as it meets them.  Counted in dsb. */
void kl_add_dsb(struct kl_store *s, const void *p, size_t n);

/* A key log followed as it grows (a live capture), from a file already open:
 * each kl_follow_poll() reads the whole lines appended since the last (a
 * line still being written waits for its newline; one of KL_READ_BYTES with
 * none is garbage).  A file that got shorter was truncated: it is read again
 * from its start.  A path that now names another file was rotated: the old
 * one is read to its end, then the new one is opened by path and read from
 * its start (after -Z that may be refused: said once, the old one is kept).
 * Re-read lines overwrite the same secrets, which is harmless. */
#define KL_READ_BYTES (64 * 1024)
struct kl_follow;
/* Takes f over (closed by kl_follow_free); NULL when out of memory. */
struct kl_follow *kl_follow_new(FILE *f, const char *path);
/* Secrets added to s by this poll; -1 after a read error, said in err
 * (the follow goes on at the next poll). */
long kl_follow_poll(struct kl_follow *f, struct kl_store *s, char *err, size_t err_len);
void kl_follow_free(struct kl_follow *f);

/* The secrets logged for this ClientHello random, or NULL. */
const struct kl_secrets *kl_find(const struct kl_store *s, const uint8_t random[KL_RANDOM_BYTES]);

const struct kl_stats *kl_stats(const struct kl_store *s);

#endif
