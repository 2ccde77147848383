/*
 * keylog.c — the NSS key log reader and the store of TLS 1.3 handshake
 * secrets, keyed by ClientHello random.
 *
 * A line is cut into whitespace-separated fields through the bounded
 * reader; the label decides what the fields must be.  A line that lies
 * whole in the caller's bytes is parsed in place; only a line cut by a
 * read boundary is copied into one carry buffer of KL_MAX_LINE_BYTES (a
 * longer line is garbage by definition: the longest real one is under 200
 * bytes).  The store is a chained hash table of the 32-byte randoms,
 * doubled when it holds as many sessions as buckets, capped at
 * KL_MAX_SESSIONS.  A later line for the same random and label wins, as
 * it does in Wireshark.
 *
 * A followed key log (kl_follow_*, a live capture) is read by whole lines
 * from the offset where the last poll stopped, so it needs no carry: a
 * line still being written is read again, whole, at a later poll.
 *
 * pcapng Decryption Secrets Blocks hold the same text; the capture reader
 * (capture/pcapfile.c) finds them and hands their bytes to kl_add_dsb().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dissect/keylog.h"
#include "lib/buf.h"
#include "lib/reader.h"

#define KL_MIN_BUCKETS          64

enum kl_use { KL_USE_NONE, KL_USE_CLIENT_HS, KL_USE_SERVER_HS };

static const struct {
	const char *label;
	enum kl_use use;
} kl_labels[] = {
	{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET", KL_USE_CLIENT_HS },
	{ "SERVER_HANDSHAKE_TRAFFIC_SECRET", KL_USE_SERVER_HS },
	/* Recognised, not needed to see certificates. */
	{ "CLIENT_RANDOM", KL_USE_NONE },            /* TLS <= 1.2 master secret */
	{ "RSA", KL_USE_NONE },                      /* RSA premaster, by encrypted prefix */
	{ "CLIENT_EARLY_TRAFFIC_SECRET", KL_USE_NONE },
	{ "EARLY_EXPORTER_SECRET", KL_USE_NONE },
	{ "EARLY_EXPORTER_MASTER_SECRET", KL_USE_NONE },
	{ "CLIENT_TRAFFIC_SECRET_0", KL_USE_NONE },
	{ "SERVER_TRAFFIC_SECRET_0", KL_USE_NONE },
	{ "EXPORTER_SECRET", KL_USE_NONE },
	{ "ECH_SECRET", KL_USE_NONE },
	{ "ECH_CONFIG", KL_USE_NONE },
};

struct kl_entry {
	struct kl_entry *next;
	uint8_t random[KL_RANDOM_BYTES];
	struct kl_secrets sec;
};

struct kl_store {
	struct kl_entry **buckets;
	size_t n_buckets;               /* a power of two, or 0 before the first */
	struct kl_stats st;

	/* A line cut by a read boundary. */
	uint8_t carry[KL_MAX_LINE_BYTES];
	size_t carry_len;
	bool carry_long;                /* the line outgrew the carry: garbage */
};

/* FNV-1a over the whole random: the lookup key comes off the wire. */
static size_t kl_hash(const uint8_t *random)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < KL_RANDOM_BYTES; i++) {
		h ^= random[i];
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ (h >> 32));
}

struct kl_store *kl_store_new(void)
{
	return calloc(1, sizeof(struct kl_store));
}

void kl_store_free(struct kl_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct kl_entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->buckets);
	free(s);
}

static struct kl_entry *kl_lookup(const struct kl_store *s, const uint8_t *random)
{
	struct kl_entry *e;

	if (!s->n_buckets)
		return NULL;
	for (e = s->buckets[kl_hash(random) & (s->n_buckets - 1)]; e; e = e->next)
		if (memcmp(e->random, random, KL_RANDOM_BYTES) == 0)
			return e;
	return NULL;
}

/* Doubles the table; on allocation failure the old one stays (just longer chains). */
static void kl_grow(struct kl_store *s)
{
	size_t n = s->n_buckets ? s->n_buckets * 2 : KL_MIN_BUCKETS;
	struct kl_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct kl_entry *e = s->buckets[i], *next;

		for (; e; e = next) {
			size_t at = kl_hash(e->random) & (n - 1);

			next = e->next;
			e->next = b[at];
			b[at] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = n;
}

static struct kl_entry *kl_insert(struct kl_store *s, const uint8_t *random)
{
	struct kl_entry *e = kl_lookup(s, random);
	size_t at;

	if (e)
		return e;
	if (s->st.sessions >= KL_MAX_SESSIONS)
		return NULL;
	if (s->st.sessions >= s->n_buckets)
		kl_grow(s);
	if (!s->n_buckets || !(e = calloc(1, sizeof(*e))))
		return NULL;
	memcpy(e->random, random, KL_RANDOM_BYTES);
	at = kl_hash(random) & (s->n_buckets - 1);
	e->next = s->buckets[at];
	s->buckets[at] = e;
	s->st.sessions++;
	return e;
}

const struct kl_secrets *kl_find(const struct kl_store *s, const uint8_t random[KL_RANDOM_BYTES])
{
	const struct kl_entry *e = s ? kl_lookup(s, random) : NULL;

	return e ? &e->sec : NULL;
}

const struct kl_stats *kl_stats(const struct kl_store *s)
{
	return &s->st;
}

/* ------------------------------------------------------------------ */
/* Lines                                                               */

static bool kl_is_space(uint8_t b)
{
	return b == ' ' || b == '\t' || b == '\r';
}

/* The next run of non-blank bytes, after any blanks; false at the end. */
static bool kl_field(struct reader *line, struct reader *field)
{
	uint8_t b;
	size_t n = 0;

	while (rd_peek_u8(line, 0, &b) && kl_is_space(b))
		rd_skip(line, 1);
	while (rd_peek_u8(line, n, &b) && !kl_is_space(b))
		n++;
	return n && rd_sub(line, n, field);
}

static int kl_nibble(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	return -1;
}

/* Hex text to bytes; false unless all of it is hex and fits `max` (out may
 * be NULL to check only). */
static bool kl_hex(struct reader field, uint8_t *out, size_t max, size_t *n)
{
	uint8_t hi, lo;
	size_t k = 0;

	if (rd_left(&field) % 2 || rd_left(&field) / 2 > max)
		return false;
	while (rd_u8(&field, &hi) && rd_u8(&field, &lo)) {
		int h = kl_nibble(hi), l = kl_nibble(lo);

		if (h < 0 || l < 0)
			return false;
		if (out)
			out[k] = (uint8_t)(h << 4 | l);
		k++;
	}
	*n = k;
	return true;
}

static bool kl_label_is(struct reader label, const char *name)
{
	size_t n = strlen(name);

	return rd_left(&label) == n && memcmp(rd_ptr(&label), name, n) == 0;
}

static void kl_parse_line(struct kl_store *s, struct reader line)
{
	struct reader label, random_hex, secret_hex, extra;
	uint8_t random[KL_RANDOM_BYTES], secret[KL_MAX_SECRET_BYTES];
	size_t random_len, secret_len;
	struct kl_entry *e;
	struct kl_secret *slot;
	uint8_t b = 0;
	size_t i;

	s->st.lines++;
	if (!kl_field(&line, &label))
		return;                 /* blank */
	if (rd_peek_u8(&label, 0, &b) && b == '#')
		return;
	if (!kl_field(&line, &random_hex) || !kl_field(&line, &secret_hex) ||
	    kl_field(&line, &extra)) {
		s->st.garbage++;
		return;
	}
	for (i = 0; i < sizeof(kl_labels) / sizeof(kl_labels[0]); i++)
		if (kl_label_is(label, kl_labels[i].label))
			break;
	if (i == sizeof(kl_labels) / sizeof(kl_labels[0])) {
		s->st.garbage++;
		return;
	}
	if (kl_labels[i].use == KL_USE_NONE) {
		/* Some shape checking, so a mangled line is not called "unused". */
		if (kl_hex(random_hex, NULL, SIZE_MAX, &random_len) &&
		    kl_hex(secret_hex, NULL, SIZE_MAX, &secret_len) && random_len && secret_len)
			s->st.unused++;
		else
			s->st.garbage++;
		return;
	}
	/* TLS 1.3 secrets are as long as the suite's hash: SHA-256 or SHA-384. */
	if (!kl_hex(random_hex, random, sizeof(random), &random_len) ||
	    random_len != KL_RANDOM_BYTES ||
	    !kl_hex(secret_hex, secret, sizeof(secret), &secret_len) ||
	    (secret_len != 32 && secret_len != 48)) {
		s->st.garbage++;
		return;
	}
	if (!(e = kl_insert(s, random))) {
		s->st.dropped++;
		return;
	}
	slot = kl_labels[i].use == KL_USE_CLIENT_HS ? &e->sec.client_hs : &e->sec.server_hs;
	memcpy(slot->b, secret, secret_len);
	slot->len = (uint8_t)secret_len;
	s->st.used++;
}

/* Bytes of a key log, in order; a line cut at the end waits in the carry. */
static void kl_feed(struct kl_store *s, const uint8_t *p, size_t n)
{
	struct reader in, line;

	rd_init(&in, p, n);
	while (rd_left(&in)) {
		const uint8_t *nl = memchr(rd_ptr(&in), '\n', rd_left(&in));
		size_t len = nl ? (size_t)(nl - rd_ptr(&in)) : rd_left(&in);
		struct reader piece;

		if (!rd_sub(&in, len, &piece))
			return;
		if (!nl || s->carry_len || s->carry_long) {
			if (s->carry_long || len > sizeof(s->carry) - s->carry_len) {
				s->carry_long = true;
			} else {
				rd_copy(&piece, s->carry + s->carry_len, len);
				s->carry_len += len;
			}
			if (!nl)
				return;
			if (s->carry_long) {
				s->st.lines++;
				s->st.garbage++;
			} else {
				rd_init(&line, s->carry, s->carry_len);
				kl_parse_line(s, line);
			}
			s->carry_len = 0;
			s->carry_long = false;
		} else {
			kl_parse_line(s, piece);
		}
		rd_skip(&in, 1);        /* the newline */
	}
}

/* The last line, when the text does not end in a newline. */
static void kl_feed_end(struct kl_store *s)
{
	static const uint8_t nl = '\n';

	if (s->carry_len || s->carry_long)
		kl_feed(s, &nl, 1);
}

void kl_add_text(struct kl_store *s, const void *p, size_t n)
{
	kl_feed(s, p, n);
	kl_feed_end(s);
}

bool kl_load_file(struct kl_store *s, const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "rb");
	bool ok;

	if (!f) {
		snprintf(err, err_len, "--keylog %s: %s", path, strerror(errno));
		return false;
	}
	ok = kl_load_fp(s, f, path, err, err_len);
	fclose(f);
	return ok;
}

bool kl_load_fp(struct kl_store *s, FILE *f, const char *path, char *err, size_t err_len)
{
	uint8_t *buf;
	size_t n;
	bool ok;

	if (!(buf = malloc(KL_READ_BYTES))) {
		snprintf(err, err_len, "--keylog %s: out of memory", path);
		return false;
	}
	while ((n = fread(buf, 1, KL_READ_BYTES, f)) > 0)
		kl_feed(s, buf, n);
	kl_feed_end(s);
	ok = !ferror(f);
	if (!ok)
		snprintf(err, err_len, "--keylog %s: %s", path, strerror(errno ? errno : EIO));
	free(buf);
	return ok;
}

void kl_add_dsb(struct kl_store *s, const void *p, size_t n)
{
	kl_add_text(s, p, n);
	s->st.dsb++;
}

/* ---- following a key log as it grows --------------------------------------- */

struct kl_follow {
	int fd;
	char *path;
	off_t offset;                   /* bytes read, always after a newline */
	dev_t dev;
	ino_t ino;
	bool reopen_said;
	uint8_t *buf;
};

struct kl_follow *kl_follow_new(FILE *fp, const char *path)
{
	struct kl_follow *f = calloc(1, sizeof(*f));
	struct stat st;
	int fd = dup(fileno(fp));

	fclose(fp);
	if (!f || fd < 0 || !(f->path = str_dup(path)) || !(f->buf = malloc(KL_READ_BYTES))) {
		if (fd >= 0)
			close(fd);
		if (f) {
			free(f->path);
			free(f);
		}
		return NULL;
	}
	f->fd = fd;
	if (fstat(fd, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
	return f;
}

/* Whole lines from the offset to the end of the file descriptor. */
static bool kl_follow_read(struct kl_follow *f, struct kl_store *s, char *err, size_t err_len)
{
	for (;;) {
		ssize_t n = pread(f->fd, f->buf, KL_READ_BYTES, f->offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, err_len, "--keylog %s: %s", f->path, strerror(errno));
			return false;
		}
		if (n == 0)
			return true;
		size_t whole = (size_t)n;
		while (whole && f->buf[whole - 1] != '\n')
			whole--;
		if (!whole) {
			if (n < KL_READ_BYTES)
				return true;    /* a line being written: next poll */
			s->st.lines++;          /* no newline in KL_READ_BYTES: garbage */
			s->st.garbage++;
			whole = (size_t)n;
		}
		kl_feed(s, f->buf, whole);
		f->offset += (off_t)whole;
		if (n < KL_READ_BYTES)
			return true;
	}
}

/* The path names another file than the one open: rotated. */
static void kl_follow_rotated(struct kl_follow *f, struct kl_store *s, char *err, size_t err_len)
{
	struct stat st;

	if (stat(f->path, &st) != 0 || (st.st_dev == f->dev && st.st_ino == f->ino))
		return;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (!f->reopen_said)
			fprintf(stderr, "certtrace: --keylog %s: replaced, and the new file cannot be "
				"opened (%s): following the old one\n", f->path, strerror(errno));
		f->reopen_said = true;
		return;
	}
	kl_follow_read(f, s, err, err_len);     /* the old one's last lines */
	close(f->fd);
	f->fd = fd;
	f->offset = 0;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->reopen_said = false;
}

long kl_follow_poll(struct kl_follow *f, struct kl_store *s, char *err, size_t err_len)
{
	struct stat st;
	uint64_t used = s->st.used;

	kl_follow_rotated(f, s, err, err_len);
	if (fstat(f->fd, &st) != 0) {
		snprintf(err, err_len, "--keylog %s: %s", f->path, strerror(errno));
		return -1;
	}
	if (st.st_size < f->offset)
		f->offset = 0;                  /* truncated: read it again */
	if (st.st_size > f->offset && !kl_follow_read(f, s, err, err_len))
		return -1;
	return (long)(s->st.used - used);
}

void kl_follow_free(struct kl_follow *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f->path);
	free(f->buf);
	free(f);
}
