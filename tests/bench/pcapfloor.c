/*
 * pcapfloor.c — the floor certtrace's offline speed is measured against.
 *
 *   pcapfloor FILE           a bare libpcap read loop: pcap_dispatch in large
 *                            batches, the callback sums the lengths
 *   pcapfloor --hash FILE    the same, and every TCP segment's 5-tuple (both
 *                            directions to one key) is looked up in an
 *                            open-addressing table and inserted when new:
 *                            the least any flow tracker must do, the floor
 *                            for the SYN-flood capture
 *
 * Prints one line: packets, bytes, and with --hash the flows found.  Nothing
 * here may be cleverer than a reader would expect of a plain loop, or the
 * ratios `make bench` prints flatter the floor instead of certtrace.
 *
 * The decode is the minimum for the bench captures (Ethernet with VLAN tags,
 * Linux cooked v1/v2, raw IP; IPv4 and IPv6 without extension headers); a
 * frame it does not understand is counted and skipped, never read past.
 *
 * Build: cc -O2 -o pcapfloor pcapfloor.c -lpcap
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOOR_BATCH 65536

struct flow_key {                 /* endpoint 0 sorts before endpoint 1 */
	uint8_t addr[2][16];
	uint16_t port[2];
	uint32_t used;            /* 0: empty slot */
};

struct floor {
	int dlt;
	bool hash;
	uint64_t packets, bytes, skipped;
	struct flow_key *tab;
	uint64_t n_slots;         /* a power of two */
	uint64_t n_flows;
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Multiply-xorshift over 8-byte words: sequential addresses and ports
 * spread over the whole table. */
static uint64_t key_hash(const struct flow_key *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull, w;
	for (int i = 0; i < 4; i++) {
		memcpy(&w, (const uint8_t *)k->addr + 8 * i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h = (h ^ ((uint64_t)k->port[0] << 16 | k->port[1])) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->port[0] == b->port[0] && a->port[1] == b->port[1] &&
	       memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

static bool table_grow(struct floor *fl)
{
	uint64_t n = fl->n_slots ? fl->n_slots * 2 : 1u << 16;
	struct flow_key *t = calloc(n, sizeof *t);
	if (!t)
		return false;
	for (uint64_t i = 0; i < fl->n_slots; i++) {
		if (!fl->tab[i].used)
			continue;
		uint64_t j = key_hash(&fl->tab[i]) & (n - 1);
		while (t[j].used)
			j = (j + 1) & (n - 1);
		t[j] = fl->tab[i];
	}
	free(fl->tab);
	fl->tab = t;
	fl->n_slots = n;
	return true;
}

/* Linear probing, load kept under one half. */
static void table_touch(struct floor *fl, const struct flow_key *k)
{
	if ((fl->n_flows + 1) * 2 > fl->n_slots && !table_grow(fl))
		return;
	uint64_t j = key_hash(k) & (fl->n_slots - 1);
	while (fl->tab[j].used) {
		if (key_equal(&fl->tab[j], k))
			return;
		j = (j + 1) & (fl->n_slots - 1);
	}
	fl->tab[j] = *k;
	fl->tab[j].used = 1;
	fl->n_flows++;
}

/* The TCP 5-tuple of a frame, or false. */
static bool frame_key(int dlt, const uint8_t *p, uint32_t caplen, struct flow_key *k)
{
	uint32_t off;
	uint16_t type;
	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			return false;
		type = be16(p + 12);
		off = 14;
		while ((type == 0x8100 || type == 0x88a8) && caplen >= off + 4) {
			type = be16(p + off + 2);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return false;
		type = be16(p + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return false;
		type = be16(p);
		off = 20;
		break;
	case DLT_RAW:
		if (caplen < 1)
			return false;
		type = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
		off = 0;
		break;
	default:
		return false;
	}
	uint8_t src[16] = { 0 }, dst[16] = { 0 };
	uint32_t l4;
	if (type == 0x0800) {
		if (caplen < off + 20 || p[off + 9] != 6)
			return false;
		memcpy(src, p + off + 12, 4);
		memcpy(dst, p + off + 16, 4);
		l4 = off + (p[off] & 0x0f) * 4u;
	} else if (type == 0x86dd) {
		if (caplen < off + 40 || p[off + 6] != 6)
			return false;
		memcpy(src, p + off + 8, 16);
		memcpy(dst, p + off + 24, 16);
		l4 = off + 40;
	} else {
		return false;
	}
	if (caplen < l4 + 4)
		return false;
	uint16_t sport = be16(p + l4), dport = be16(p + l4 + 2);
	int c = memcmp(src, dst, 16);
	bool src_first = c < 0 || (c == 0 && sport <= dport);
	memcpy(k->addr[0], src_first ? src : dst, 16);
	memcpy(k->addr[1], src_first ? dst : src, 16);
	k->port[0] = src_first ? sport : dport;
	k->port[1] = src_first ? dport : sport;
	k->used = 0;
	return true;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct floor *fl = (struct floor *)user;
	fl->packets++;
	fl->bytes += h->len;
	if (!fl->hash)
		return;
	struct flow_key k;
	if (frame_key(fl->dlt, bytes, h->caplen, &k))
		table_touch(fl, &k);
	else
		fl->skipped++;
}

int main(int argc, char **argv)
{
	struct floor fl = { 0 };
	const char *path = NULL;
	bool bad = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hash") == 0)
			fl.hash = true;
		else if (!path)
			path = argv[i];
		else
			bad = true;
	}
	if (!path || bad) {
		fprintf(stderr, "usage: pcapfloor [--hash] FILE\n");
		return 2;
	}
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "pcapfloor: %s\n", err);
		return 2;
	}
	fl.dlt = pcap_datalink(p);
	int n;
	while ((n = pcap_dispatch(p, FLOOR_BATCH, on_packet, (u_char *)&fl)) > 0)
		;
	if (n == PCAP_ERROR)
		fprintf(stderr, "pcapfloor: %s: %s\n", path, pcap_geterr(p));
	pcap_close(p);
	printf("packets=%llu bytes=%llu", (unsigned long long)fl.packets,
	       (unsigned long long)fl.bytes);
	if (fl.hash)
		printf(" flows=%llu not_tcp=%llu", (unsigned long long)fl.n_flows,
		       (unsigned long long)fl.skipped);
	printf("\n");
	free(fl.tab);
	return n == PCAP_ERROR ? 1 : 0;
}
