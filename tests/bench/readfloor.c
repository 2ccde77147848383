/*
 * readfloor.c — three ways to read a capture file, as bare loops, to decide
 * which one certtrace should use (`make bench-read`; not in make test).
 *
 *   readfloor libpcap FILE   pcap_open_offline + pcap_next_ex: libpcap's
 *                            stdio (fread) path, the floor `make bench`
 *                            measures certtrace against
 *   readfloor pf FILE        certtrace's own reader (capture/pcapfile.c):
 *                            read(2) into one 1 MiB buffer, records parsed in
 *                            place through the bounded reader, pcap and pcapng
 *   readfloor mmap FILE      the whole file mmap'd (MAP_PRIVATE,
 *                            MADV_SEQUENTIAL), classic pcap record headers and
 *                            pcapng Enhanced Packet Blocks walked through the
 *                            bounded reader (lib/reader.h), no copy at all
 *   readfloor mmap-populate FILE  the same with MAP_POPULATE: the page tables
 *                            filled at mmap time instead of one fault per
 *                            16 pages as the walk goes
 *
 * Each loop does the same per packet: counts it, adds its length, and reads
 * the first and last captured byte (a consumer reads at least the headers,
 * so the mmap loop faults in every page the others copy).  Prints one line:
 * mode, packets, bytes, and the byte sum (so nothing is optimised away).
 *
 * The mmap loop is the minimum for the comparison, not a reader: little
 * endian files only, microsecond or nanosecond pcap, pcapng with EPBs (other
 * blocks skipped by their length); it stops at the first length that does
 * not fit, and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/pcapfile.h"
#include "lib/reader.h"

struct tally {
	uint64_t packets, bytes, sum;
};

static void count(struct tally *t, const uint8_t *data, uint32_t caplen, uint32_t len)
{
	t->packets++;
	t->bytes += len;
	if (caplen)
		t->sum += data[0] + data[caplen - 1];
}

static int run_libpcap(const char *path, struct tally *t)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "readfloor: %s\n", err);
		return 2;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	int r;
	while ((r = pcap_next_ex(p, &h, &data)) == 1)
		count(t, data, h->caplen, h->len);
	if (r == PCAP_ERROR)
		fprintf(stderr, "readfloor: %s: %s\n", path, pcap_geterr(p));
	pcap_close(p);
	return r == PCAP_ERROR ? 1 : 0;
}

static int run_pf(const char *path, struct tally *t)
{
	char err[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "readfloor: %s: %s\n", path, strerror(errno));
		return 2;
	}
	struct cap_offline_options o = { 0 };
	struct pcapfile *f = pf_open(fd, path, &o, err, sizeof err);
	if (!f) {
		fprintf(stderr, "readfloor: %s\n", err);
		return 2;
	}
	struct cap_frame fr;
	enum pf_result r;
	while ((r = pf_next(f, &fr)) == PF_FRAME)
		count(t, fr.data, fr.caplen, fr.len);
	if (r != PF_END)
		fprintf(stderr, "readfloor: %s\n", pf_message(f));
	pf_close(f);
	return r == PF_ERROR ? 1 : 0;
}

static bool walk_pcap(struct reader *r, struct tally *t)
{
	uint32_t sec, frac, caplen, len;
	const uint8_t *data;
	while (rd_left(r) > 0) {
		if (!rd_le(r, 4, &sec) || !rd_le(r, 4, &frac) || !rd_le(r, 4, &caplen) ||
		    !rd_le(r, 4, &len) || caplen > PF_MAX_PACKET_BYTES ||
		    !rd_bytes(r, caplen, &data))
			return false;
		count(t, data, caplen, len);
	}
	return true;
}

static bool walk_pcapng(struct reader *r, struct tally *t)
{
	while (rd_left(r) > 0) {
		uint32_t type, total, iface, ts_hi, ts_lo, caplen, len;
		struct reader blk;
		const uint8_t *data;
		if (!rd_le(r, 4, &type) || !rd_le(r, 4, &total) || total < 12 || total % 4 ||
		    !rd_sub(r, total - 8, &blk))
			return false;
		if (type != 6)          /* not an EPB: skipped by its length */
			continue;
		if (!rd_le(&blk, 4, &iface) || !rd_le(&blk, 4, &ts_hi) ||
		    !rd_le(&blk, 4, &ts_lo) || !rd_le(&blk, 4, &caplen) ||
		    !rd_le(&blk, 4, &len) || !rd_bytes(&blk, caplen, &data))
			return false;
		count(t, data, caplen, len);
	}
	return true;
}

static int run_mmap(const char *path, struct tally *t, bool populate)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "readfloor: %s: %s\n", path, strerror(errno));
		return 2;
	}
	size_t n = (size_t)st.st_size;
	const uint8_t *map = n ? mmap(NULL, n, PROT_READ,
				      MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0) : NULL;
	close(fd);
	if (n && map == MAP_FAILED) {
		fprintf(stderr, "readfloor: %s: mmap: %s\n", path, strerror(errno));
		return 2;
	}
	if (n)
		madvise((void *)map, n, MADV_SEQUENTIAL);
	struct reader r;
	rd_init(&r, map, n);
	uint32_t magic;
	bool ok;
	if (!rd_le(&r, 4, &magic)) {
		ok = false;
	} else if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
		ok = rd_skip(&r, 20) && walk_pcap(&r, t);
	} else if (magic == 0x0a0d0d0au) {
		rd_init(&r, map, n);
		ok = walk_pcapng(&r, t);
	} else {
		fprintf(stderr, "readfloor: %s: mmap reads little-endian pcap and pcapng only\n",
			path);
		ok = false;
	}
	if (!ok)
		fprintf(stderr, "readfloor: %s: stopped at byte %zu of %zu\n", path,
			n - rd_left(&r), n);
	if (n)
		munmap((void *)map, n);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: readfloor libpcap|pf|mmap|mmap-populate FILE\n");
		return 2;
	}
	struct tally t = { 0 };
	int rc;
	if (strcmp(argv[1], "libpcap") == 0)
		rc = run_libpcap(argv[2], &t);
	else if (strcmp(argv[1], "pf") == 0)
		rc = run_pf(argv[2], &t);
	else if (strcmp(argv[1], "mmap") == 0)
		rc = run_mmap(argv[2], &t, false);
	else if (strcmp(argv[1], "mmap-populate") == 0)
		rc = run_mmap(argv[2], &t, true);
	else {
		fprintf(stderr, "readfloor: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("%s packets=%llu bytes=%llu sum=%llu\n", argv[1], (unsigned long long)t.packets,
	       (unsigned long long)t.bytes, (unsigned long long)t.sum);
	return rc;
}
