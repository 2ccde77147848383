/*
 * fanout_check.c — tests/fanout.sh's capture side: two live handles in one
 * PACKET_FANOUT group on an interface, and a third handle outside the group
 * that sees every packet, as the reference.
 *
 *   fanout-check IFACE FILTER READY_FILE MIN_FLOWS [report]
 *
 * Opens the three handles (filter FILTER on each), joins the two to a group
 * the kernel picks (cap_new_fanout, cap_join_fanout), checks that the kernel
 * refuses a second join and a handle on another interface (lo) in the same
 * group, creates READY_FILE, and reads until SIGTERM or SIGINT, then half a
 * second more (TPACKET_V3 hands a partly filled block over after its 100 ms
 * timeout).  Then it checks, one "fanout: ok|FAIL" line each:
 *   - the frames of the two group handles together are the reference's
 *     frames, each once (compared as multisets of the frames' bytes' hash);
 *   - every TCP connection (the 5-tuple, either direction) is on one handle,
 *     and has packets both ways;
 *   - at least MIN_FLOWS connections, and each handle has some;
 *     with "report", whole connections and both handles used are said
 *     ("fanout: info"), not checked: for traffic the kernel is known to
 *     deal apart (a tunnel it hashes by the outer header, capture.h);
 *   - each handle's kernel counters count its own packets: received equals
 *     the frames it delivered, nothing dropped, and the group's counters
 *     added with cap_stats_add() equal the reference's.
 * Exit 0 when every check held, 1 when one failed, 2 when it could not run.
 * At most MAX_RECORDS frames per handle are kept (the test sends a few
 * thousand); past that the run fails rather than judge on part of them.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"

#define MAX_RECORDS 1000000u
#define NHANDLES 3               /* 0: reference, 1 and 2: the group */

struct conn {                    /* a TCP connection, endpoints in order */
	uint8_t ipv;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

struct rec {
	uint64_t frame_hash;
	struct conn c;
	uint8_t dir;             /* 0: a to b, 1: b to a */
	uint8_t handle;
	bool tcp;
};

struct handle {
	struct cap_source *src;
	unsigned idx;
	struct rec *recs;
	size_t n, cap;
	bool overflow;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig) { stopping = 1; }

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

static int endpoint_cmp(const uint8_t *x, uint16_t px, const uint8_t *y, uint16_t py)
{
	int c = memcmp(x, y, 16);
	if (c)
		return c;
	return (px > py) - (px < py);
}

static void on_frame(void *user, const struct cap_frame *f)
{
	struct handle *h = user;
	if (h->n == h->cap) {
		size_t want = h->cap ? h->cap * 2 : 4096;
		if (want > MAX_RECORDS) {
			h->overflow = true;
			return;
		}
		struct rec *r = realloc(h->recs, want * sizeof *r);
		if (!r) {
			h->overflow = true;
			return;
		}
		h->recs = r;
		h->cap = want;
	}
	struct rec *r = &h->recs[h->n++];
	memset(r, 0, sizeof *r);
	r->frame_hash = fnv1a(f->data, f->caplen);
	r->handle = (uint8_t)h->idx;
	struct cap_pkt p;
	const char *why = NULL;
	if (cap_decode(f->dlt, f, &p, &why) != CAP_TCP)
		return;
	r->tcp = true;
	r->c.ipv = p.ipv;
	if (endpoint_cmp(p.src, p.sport, p.dst, p.dport) <= 0) {
		memcpy(r->c.a, p.src, 16), r->c.pa = p.sport;
		memcpy(r->c.b, p.dst, 16), r->c.pb = p.dport;
	} else {
		memcpy(r->c.a, p.dst, 16), r->c.pa = p.dport;
		memcpy(r->c.b, p.src, 16), r->c.pb = p.sport;
		r->dir = 1;
	}
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

static int cmp_conn(const struct conn *x, const struct conn *y)
{
	if (x->ipv != y->ipv)
		return x->ipv - y->ipv;
	int c = endpoint_cmp(x->a, x->pa, y->a, y->pa);
	return c ? c : endpoint_cmp(x->b, x->pb, y->b, y->pb);
}

static int cmp_rec_conn(const void *x, const void *y)
{
	return cmp_conn(&((const struct rec *)x)->c, &((const struct rec *)y)->c);
}

static int failures;
static bool report_only;          /* "report": say_or_check() only says */

static void vcheck(bool ok, bool say, const char *fmt, va_list ap)
{
	printf("fanout: %s ", say ? "info" : ok ? "ok  " : "FAIL");
	vprintf(fmt, ap);
	putchar('\n');
	if (!ok && !say)
		failures++;
}

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vcheck(ok, false, fmt, ap);
	va_end(ap);
}

static void say_or_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_or_check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vcheck(ok, report_only, fmt, ap);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The kernel's refusals: a second join, and a handle on another interface
 * in the same group, each false with a reason. */
static void check_refusals(struct handle *member, uint16_t group, const char *filter)
{
	char err[512] = "";
	bool joined = cap_join_fanout(member->src, group, err, sizeof err);
	check(!joined && strstr(err, "already"), "a second join is refused: %s", err);

	char warn[512];
	struct cap_live_options o = { .iface = "lo", .filter = filter, .buffer_kib = 1024 };
	struct cap_source *lo = cap_open_live(&o, err, sizeof err, warn, sizeof warn);
	if (!lo) {
		printf("fanout: skip the other-interface refusal: %s\n", err);
		return;
	}
	err[0] = 0;
	joined = cap_join_fanout(lo, group, err, sizeof err);
	check(!joined && strstr(err, "another interface"),
	      "a handle on lo cannot join the group of another interface: %s", err);
	cap_close(lo);
}

static void check_frames(struct handle *hs)
{
	size_t n_ref = hs[0].n, n_grp = hs[1].n + hs[2].n;
	uint64_t *ref = malloc((n_ref + 1) * sizeof *ref);
	uint64_t *grp = malloc((n_grp + 1) * sizeof *grp);
	if (!ref || !grp) {
		check(false, "out of memory comparing frames");
		free(ref), free(grp);
		return;
	}
	for (size_t i = 0; i < n_ref; i++)
		ref[i] = hs[0].recs[i].frame_hash;
	size_t k = 0;
	for (int h = 1; h <= 2; h++)
		for (size_t i = 0; i < hs[h].n; i++)
			grp[k++] = hs[h].recs[i].frame_hash;
	qsort(ref, n_ref, sizeof *ref, cmp_u64);
	qsort(grp, n_grp, sizeof *grp, cmp_u64);
	bool same = n_ref == n_grp && memcmp(ref, grp, n_ref * sizeof *ref) == 0;
	check(same && n_ref > 0, "every frame reached exactly one group handle: reference %zu, "
	      "handles %zu + %zu", n_ref, hs[1].n, hs[2].n);
	free(ref), free(grp);
}

static void check_connections(struct handle *hs, unsigned min_flows)
{
	size_t n = hs[1].n + hs[2].n, k = 0;
	struct rec *all = malloc((n + 1) * sizeof *all);
	if (!all) {
		check(false, "out of memory comparing connections");
		return;
	}
	for (int h = 1; h <= 2; h++)
		for (size_t i = 0; i < hs[h].n; i++)
			if (hs[h].recs[i].tcp)
				all[k++] = hs[h].recs[i];
	qsort(all, k, sizeof *all, cmp_rec_conn);
	unsigned conns[7] = { 0 }, split[7] = { 0 }, one_way = 0, per_handle[3] = { 0 };
	unsigned fam_handle[7][2] = { { 0 } };
	for (size_t i = 0; i < k;) {
		size_t j = i;
		unsigned handles = 0, dirs = 0;
		for (; j < k && cmp_conn(&all[i].c, &all[j].c) == 0; j++) {
			handles |= 1u << all[j].handle;
			dirs |= 1u << all[j].dir;
		}
		uint8_t v = all[i].c.ipv == 6 ? 6 : 4;
		conns[v]++;
		if (handles == 6)
			split[v]++;
		else {
			per_handle[handles >> 2]++;
			fam_handle[v][handles >> 2]++;
		}
		if (dirs != 3)
			one_way++;
		i = j;
	}
	for (uint8_t v = 4; v <= 6; v += 2)
		if (conns[v])
			say_or_check(split[v] == 0, "IPv%u: each connection, both directions, on one handle: "
			      "%u of %u (%u and %u)", v, conns[v] - split[v], conns[v],
			      fam_handle[v][0], fam_handle[v][1]);
	check(conns[4] + conns[6] >= min_flows, "%u connections seen, at least %u expected",
	      conns[4] + conns[6], min_flows);
	check(one_way == 0, "every connection has packets both ways (%u have not)", one_way);
	say_or_check(per_handle[0] > 0 && per_handle[1] > 0,
		     "both handles got whole connections: %u and %u", per_handle[0], per_handle[1]);
	free(all);
}

static void check_counters(struct handle *hs)
{
	struct cap_stats st[NHANDLES], sum = { 0 };
	for (int h = 0; h < NHANDLES; h++)
		cap_get_stats(hs[h].src, &st[h]);
	for (int h = 0; h < NHANDLES; h++)
		check(st[h].received == hs[h].n && st[h].dropped == 0,
		      "handle %d's kernel counters count its own frames: received %llu, dropped "
		      "%llu, delivered %zu", h, (unsigned long long)st[h].received,
		      (unsigned long long)st[h].dropped, hs[h].n);
	cap_stats_add(&sum, &st[1]);
	cap_stats_add(&sum, &st[2]);
	check(sum.received == st[0].received && sum.ifdropped == st[1].ifdropped,
	      "the group's counters add up to the reference's: %llu + %llu = %llu",
	      (unsigned long long)st[1].received, (unsigned long long)st[2].received,
	      (unsigned long long)st[0].received);
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 6 || (argc == 6 && strcmp(argv[5], "report") != 0)) {
		fprintf(stderr, "usage: fanout-check IFACE FILTER READY_FILE MIN_FLOWS [report]\n");
		return 2;
	}
	report_only = argc == 6;
	const char *iface = argv[1], *filter = argv[2], *ready = argv[3];
	unsigned min_flows = (unsigned)strtoul(argv[4], NULL, 10);
	struct handle hs[NHANDLES] = { 0 };
	char err[512], warn[512];
	struct cap_live_options o = { .iface = iface, .filter = filter, .buffer_kib = 8192 };
	for (unsigned h = 0; h < NHANDLES; h++) {
		hs[h].idx = h;
		hs[h].src = cap_open_live(&o, err, sizeof err, warn, sizeof warn);
		if (!hs[h].src) {
			fprintf(stderr, "fanout-check: %s\n", err);
			return 2;
		}
	}
	uint16_t group = 0;
	if (!cap_new_fanout(hs[1].src, &group, err, sizeof err) ||
	    !cap_join_fanout(hs[2].src, group, err, sizeof err)) {
		fprintf(stderr, "fanout-check: %s\n", err);
		return 2;
	}
	check(cap_in_fanout(hs[1].src) && cap_in_fanout(hs[2].src) && !cap_in_fanout(hs[0].src),
	      "two handles joined fanout group %u (the kernel's pick)", (unsigned)group);
	check_refusals(&hs[2], group, filter);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	FILE *rf = fopen(ready, "w");
	if (!rf) {
		fprintf(stderr, "fanout-check: %s: cannot create\n", ready);
		return 2;
	}
	fclose(rf);

	double until = 0;
	for (;;) {
		if (stopping && until == 0)
			until = now_s() + 0.5;
		if (until && now_s() > until)
			break;
		for (unsigned h = 0; h < NHANDLES; h++) {
			if (cap_next_batch(hs[h].src, 256, on_frame, &hs[h]) < -1) {
				fprintf(stderr, "fanout-check: %s\n", cap_error(hs[h].src));
				return 2;
			}
		}
	}
	for (unsigned h = 0; h < NHANDLES; h++)
		if (hs[h].overflow) {
			fprintf(stderr, "fanout-check: more than %u frames on one handle\n",
				MAX_RECORDS);
			return 2;
		}
	check_frames(hs);
	check_connections(hs, min_flows);
	check_counters(hs);
	for (unsigned h = 0; h < NHANDLES; h++) {
		cap_close(hs[h].src);
		free(hs[h].recs);
	}
	return failures ? 1 : 0;
}
