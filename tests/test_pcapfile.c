/*
 * test_pcapfile.c — the capture file reader (capture/pcapfile.c through
 * cap_open_offline): every pcapng block kind, sections and interfaces, time
 * resolutions, the pcap variants, stdin, and where a damaged or cut file
 * stops; files built in memory (tests/pktbuild.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "tests/pktbuild.h"

#define MAX_SEEN 64

struct seen {
	unsigned n;
	struct { int dlt; uint64_t ts; uint32_t caplen, len, snaplen, iface; uint8_t first; } f[MAX_SEEN];
	char log[256];              /* F for a frame, S for a secrets block, in order */
	uint32_t secrets_type;
	char secrets[64];
};

static void on_frame(void *user, const struct cap_frame *fr)
{
	struct seen *s = user;
	cr_assert(s->n < MAX_SEEN);
	s->f[s->n].dlt = fr->dlt;
	s->f[s->n].ts = fr->ts_us;
	s->f[s->n].caplen = fr->caplen;
	s->f[s->n].len = fr->len;
	s->f[s->n].snaplen = fr->snaplen;
	s->f[s->n].iface = fr->iface;
	s->f[s->n].first = fr->caplen ? fr->data[0] : 0;
	cr_assert_eq(fr->hdr->caplen, fr->caplen, "the pcap header for -w agrees");
	cr_assert_eq((uint64_t)fr->hdr->ts.tv_sec * 1000000 + (uint64_t)fr->hdr->ts.tv_usec, fr->ts_us);
	s->n++;
	strcat(s->log, "F");
}

static void on_secrets(void *user, uint32_t type, const uint8_t *p, size_t n)
{
	struct seen *s = user;
	s->secrets_type = type;
	cr_assert(n < sizeof s->secrets);
	memcpy(s->secrets, p, n);
	s->secrets[n] = 0;
	strcat(s->log, "S");
}

static char *tmp_file(void)
{
	char *p = strdup("/tmp/ct-pcapfile-XXXXXX");
	int fd = mkstemp(p);
	cr_assert(fd >= 0);
	close(fd);
	return p;
}

/* Reads path to its end; returns cap_next_batch's last answer (-1 or -2). */
static int read_all(const char *path, struct seen *s, char *msg, size_t msglen)
{
	char err[512];
	memset(s, 0, sizeof *s);
	struct cap_offline_options o = { .secrets = on_secrets, .user = s };
	struct cap_source *src = cap_open_offline_with(path, &o, err, sizeof err);
	cr_assert_not_null(src, "%s", err);
	int rc;
	while ((rc = cap_next_batch(src, 3, on_frame, s)) > 0)
		;
	msg[0] = 0;
	if (rc == -2)
		snprintf(msg, msglen, "%s", cap_error(src));
	else if (cap_truncated(src))
		snprintf(msg, msglen, "%s", cap_truncated(src));
	cap_close(src);
	return rc;
}

static const uint8_t pkt[64] = { 0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

/* ---- pcapng ------------------------------------------------------------- */

Test(pcapng, interfaces_of_different_link_types_each_with_its_own_snaplen_and_time)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 1, 65535, -1, 0, 0);             /* Ethernet, µs by default */
	pngw_idb(&w, 113, 96, 9, 0, 0);               /* Linux cooked, ns */
	pngw_idb(&w, 101, 0, 0x80 | 20, 1, 100);      /* raw IP, 2^-20 s, +100 s */
	pngw_idb(&w, 276, 1500, 3, 1, -5);            /* SLL2, ms, -5 s */
	pngw_epb(&w, 0, 1500000000123456ull, pkt, 10, 10);
	pngw_epb(&w, 1, 1500000000123456789ull, pkt, 60, 200);
	pngw_epb(&w, 2, (1500000000ull << 20) | (1u << 19), pkt, 20, 20);   /* .5 s */
	pngw_epb(&w, 3, 1500000000250ull, pkt, 5, 5);
	char *path = tmp_file();
	pngw_save(&w, path);

	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.n, 4);
	cr_assert_eq(s.f[0].dlt, DLT_EN10MB);
	cr_assert_eq(s.f[0].ts, 1500000000123456ull);
	cr_assert_eq(s.f[0].snaplen, 65535);
	cr_assert_eq(s.f[1].dlt, DLT_LINUX_SLL);
	cr_assert_eq(s.f[1].ts, 1500000000123456ull, "nanoseconds truncated to µs");
	cr_assert_eq(s.f[1].snaplen, 96);
	cr_assert_eq(s.f[1].caplen, 60);
	cr_assert_eq(s.f[1].len, 200);
	cr_assert_eq(s.f[1].iface, 1);
	cr_assert_eq(s.f[2].dlt, DLT_RAW, "LINKTYPE_RAW 101 is DLT_RAW");
	cr_assert_eq(s.f[2].ts, 1500000100500000ull, "2^-20 s units, then if_tsoffset");
	cr_assert_eq(s.f[2].snaplen, 0);
	cr_assert_eq(s.f[3].dlt, DLT_LINUX_SLL2);
	cr_assert_eq(s.f[3].ts, (1500000000ull - 5) * 1000000 + 250000, "ms, and a negative offset");
	unlink(path);
	free(path);
}

Test(pcapng, an_if_tsoffset_past_any_clock_saturates_instead_of_overflowing)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 1, 0, -1, 1, INT64_MAX);
	pngw_idb(&w, 1, 0, 0x80 | 63, 1, INT64_MIN);
	pngw_epb(&w, 0, 5, pkt, 10, 10);
	pngw_epb(&w, 1, UINT64_MAX, pkt, 10, 10);
	char *path = tmp_file();
	pngw_save(&w, path);
	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.f[0].ts, UINT64_MAX);
	cr_assert_eq(s.f[1].ts, 0);
	unlink(path);
	free(path);
}

Test(pcapng, a_new_section_in_the_other_byte_order_resets_the_interfaces)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_idb(&w, 113, 65535, -1, 0, 0);
	pngw_epb(&w, 1, 1000000, pkt, 10, 10);
	pngw_shb(&w, 1);                               /* big-endian section */
	pngw_idb(&w, 101, 128, 6, 0, 0);
	pngw_epb(&w, 0, 2000000, pkt, 10, 10);
	pngw_epb(&w, 1, 3000000, pkt, 10, 10);         /* this section has one interface */
	char *path = tmp_file();
	pngw_save(&w, path);

	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -2);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.f[0].dlt, DLT_LINUX_SLL);
	cr_assert_eq(s.f[1].dlt, DLT_RAW, "interface 0 is the new section's");
	cr_assert_eq(s.f[1].ts, 2000000);
	cr_assert_eq(s.f[1].snaplen, 128);
	cr_assert(strstr(msg, path) && strstr(msg, "packet 3 at byte") &&
		  strstr(msg, "names interface 1, and its section describes 1"), "%s", msg);
	unlink(path);
	free(path);
}

Test(pcapng, simple_packet_block_uses_interface_0_and_its_snaplen)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 1);
	pngw_idb(&w, 1, 40, -1, 0, 0);
	pngw_spb(&w, pkt, 30, 30);                     /* before any timestamp: 0 */
	pngw_epb(&w, 0, 7000000, pkt, 40, 40);
	pngw_spb(&w, pkt, 40, 64);                     /* cut to the snaplen */
	char *path = tmp_file();
	pngw_save(&w, path);

	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.f[0].caplen, 30);
	cr_assert_eq(s.f[0].ts, 0);
	cr_assert_eq(s.f[2].caplen, 40, "min(original length, snaplen)");
	cr_assert_eq(s.f[2].len, 64);
	cr_assert_eq(s.f[2].ts, 7000000, "an SPB has no timestamp: the previous packet's");
	cr_assert_eq(s.f[2].first, 0xaa);
	unlink(path);
	free(path);

	/* An SPB holding less than min(original length, snaplen) lies. */
	w = (struct pngw){ 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 1, 0, -1, 0, 0);
	pngw_spb(&w, pkt, 20, 60);
	path = tmp_file();
	pngw_save(&w, path);
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -2);
	cr_assert(strstr(msg, "packet 1 at byte 60") && strstr(msg, "runs past the block"), "%s", msg);
	unlink(path);
	free(path);
}

Test(pcapng, obsolete_packet_block)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_idb(&w, 0, 65535, -1, 0, 0);
	pngw_pb(&w, 1, 42000000, pkt, 12, 14);
	char *path = tmp_file();
	pngw_save(&w, path);
	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.f[0].dlt, DLT_NULL);
	cr_assert_eq(s.f[0].iface, 1);
	cr_assert_eq(s.f[0].ts, 42000000);
	cr_assert_eq(s.f[0].caplen, 12);
	cr_assert_eq(s.f[0].len, 14);
	unlink(path);
	free(path);
}

Test(pcapng, secrets_blocks_reach_the_callback_before_the_packets_after_them)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 1);
	pngw_dsb(&w, CAP_SECRETS_TLS_KEYLOG, "CLIENT_RANDOM a b\n", 18);   /* before the IDB */
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_epb(&w, 0, 1, pkt, 10, 10);
	pngw_dsb(&w, 0x57474b4c, "WireGuard", 9);
	pngw_epb(&w, 0, 2, pkt, 10, 10);
	char *path = tmp_file();
	pngw_save(&w, path);
	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_str_eq(s.log, "SFSF");
	cr_assert_eq(s.secrets_type, 0x57474b4c, "every secrets type is handed over; the caller picks");
	cr_assert_str_eq(s.secrets, "WireGuard");
	unlink(path);
	free(path);

	/* The first one, seen at open, is the TLS key log. */
	w = (struct pngw){ 0 };
	pngw_shb(&w, 0);
	pngw_dsb(&w, CAP_SECRETS_TLS_KEYLOG, "CLIENT_RANDOM a b\n", 18);
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	path = tmp_file();
	pngw_save(&w, path);
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_str_eq(s.log, "S");
	cr_assert_eq(s.secrets_type, CAP_SECRETS_TLS_KEYLOG);
	cr_assert_str_eq(s.secrets, "CLIENT_RANDOM a b\n");
	unlink(path);
	free(path);
}

Test(pcapng, unknown_and_unused_blocks_are_skipped)
{
	struct pngw w = { 0 };
	uint8_t body[20] = { 1, 2, 3 };
	pngw_shb(&w, 0);
	pngw_block(&w, 4, body, 7);                    /* Name Resolution Block */
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_block(&w, 5, body, 20);                   /* Interface Statistics Block */
	pngw_epb(&w, 0, 5, pkt, 10, 10);
	pngw_block(&w, 0x00000bad, body, 9);           /* custom block */
	pngw_block(&w, 0x12345678, body, 0);           /* unknown, empty */
	pngw_epb(&w, 0, 6, pkt, 10, 10);
	char *path = tmp_file();
	pngw_save(&w, path);
	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.f[1].ts, 6);
	unlink(path);
	free(path);
}

/* The same small file, one 32-bit word at byte `at` overwritten. */
static void damaged(uint32_t at, uint32_t value, int expect, const char *want)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 0);                               /* 28 bytes */
	pngw_idb(&w, 1, 65535, -1, 0, 0);              /* 32: 28..59 */
	pngw_epb(&w, 0, 1, pkt, 10, 10);               /* 44: 60..103 */
	pngw_epb(&w, 0, 2, pkt, 10, 10);               /* 44: 104..147 */
	memcpy(w.b + at, &value, 4);
	char *path = tmp_file();
	pngw_save(&w, path);
	struct seen s;
	char msg[512];
	cr_assert_eq(read_all(path, &s, msg, sizeof msg), expect, "%u: %s", at, msg);
	cr_assert(strstr(msg, path) && strstr(msg, want), "%u: %s", at, msg);
	cr_assert_eq(s.n, 1, "the packet before the damage is read");
	unlink(path);
	free(path);
}

Test(pcapng, a_block_length_that_lies_is_an_error_with_the_file_offset)
{
	damaged(104 + 4, 45, -2, "block at byte 104 (after packet 1): its length 45 is under 12 or not a multiple of 4");
	damaged(104 + 40, 40, -2, "block at byte 104 (after packet 1): its trailing length 40 differs from its leading length 44");
	damaged(104 + 4, 0x7ffffff0, -2, "over the 33554432-byte limit");
	damaged(104 + 20, 100, -2, "packet 2 at byte 104: its captured length runs past the block");
	/* A length still under the limit but past the end: the file was cut. */
	damaged(104 + 4, 4096, -1, "truncated: the file ends inside its last record (at byte 104, 44 of 4096 bytes there)");
}

Test(pcapng, a_file_cut_inside_its_last_block_is_a_warning)
{
	struct pngw w = { 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_epb(&w, 0, 1, pkt, 10, 10);
	pngw_epb(&w, 0, 2, pkt, 10, 10);
	char *path = tmp_file();
	pngw_save(&w, path);
	for (off_t cut = 147; cut > 104; cut -= 7) {     /* shrinking: truncate() never extends */
		cr_assert_eq(truncate(path, cut), 0);
		struct seen s;
		char msg[512];
		cr_assert_eq(read_all(path, &s, msg, sizeof msg), -1, "cut %lld: %s", (long long)cut, msg);
		cr_assert_eq(s.n, 1);
		cr_assert(strstr(msg, "truncated") && strstr(msg, "at byte 104") &&
			  strstr(msg, "covers the 1 packets before it"), "cut %lld: %s", (long long)cut, msg);
	}
	unlink(path);
	free(path);
}

Test(pcapng, refused_at_open_without_an_interface_or_with_a_packet_before_it)
{
	char err[512];
	struct pngw w = { 0 };
	pngw_shb(&w, 0);
	char *path = tmp_file();
	pngw_save(&w, path);
	cr_assert_null(cap_open_offline(path, err, sizeof err));
	cr_assert(strstr(err, "not a readable pcap or pcapng file: no Interface Description Block"), "%s", err);

	w = (struct pngw){ 0 };
	pngw_shb(&w, 1);
	pngw_epb(&w, 0, 1, pkt, 10, 10);
	pngw_save(&w, path);
	cr_assert_null(cap_open_offline(path, err, sizeof err));
	cr_assert(strstr(err, "a packet before any Interface Description Block at byte 28"), "%s", err);

	w = (struct pngw){ 0 };
	pngw_shb(&w, 0);
	pngw_idb(&w, 147, 65535, -1, 0, 0);            /* LINKTYPE_USER0 */
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_save(&w, path);
	cr_assert_null(cap_open_offline(path, err, sizeof err));
	cr_assert(strstr(err, "link type") && strstr(err, "not supported"), "%s", err);
	unlink(path);
	free(path);
}

/* ---- classic pcap ------------------------------------------------------- */

struct pcapraw {
	uint8_t b[4096];
	size_t n;
	int be;
};

static void raw32(struct pcapraw *p, uint32_t v)
{
	uint8_t *q = p->b + p->n;
	if (p->be) {
		q[0] = (uint8_t)(v >> 24); q[1] = (uint8_t)(v >> 16); q[2] = (uint8_t)(v >> 8); q[3] = (uint8_t)v;
	} else {
		q[0] = (uint8_t)v; q[1] = (uint8_t)(v >> 8); q[2] = (uint8_t)(v >> 16); q[3] = (uint8_t)(v >> 24);
	}
	p->n += 4;
}

static void raw_header(struct pcapraw *p, int be, uint32_t magic, uint16_t major, uint16_t minor,
		       uint32_t snaplen, uint32_t linktype)
{
	p->n = 0;
	p->be = be;
	raw32(p, magic);
	raw32(p, be ? (uint32_t)major << 16 | minor : (uint32_t)minor << 16 | major);
	raw32(p, 0);
	raw32(p, 0);
	raw32(p, snaplen);
	raw32(p, linktype);
}

static void raw_record(struct pcapraw *p, uint32_t sec, uint32_t frac, uint32_t caplen,
		       uint32_t len, size_t extra_header, size_t data)
{
	raw32(p, sec);
	raw32(p, frac);
	raw32(p, caplen);
	raw32(p, len);
	memset(p->b + p->n, 0, extra_header);
	p->n += extra_header;
	memcpy(p->b + p->n, pkt, data);
	p->n += data;
}

static int read_raw(const struct pcapraw *p, struct seen *s, char *msg, size_t msglen)
{
	char *path = tmp_file();
	FILE *f = fopen(path, "wb");
	fwrite(p->b, 1, p->n, f);
	fclose(f);
	int rc = read_all(path, s, msg, msglen);
	unlink(path);
	free(path);
	return rc;
}

Test(pcap, micro_and_nanosecond_in_both_byte_orders)
{
	for (int be = 0; be < 2; be++)
		for (int ns = 0; ns < 2; ns++) {
			struct pcapraw p;
			raw_header(&p, be, ns ? 0xa1b23c4d : 0xa1b2c3d4, 2, 4, 65535, 1);
			raw_record(&p, 1700000000, ns ? 123456789 : 123456, 10, 60, 0, 10);
			raw_record(&p, 1700000001, 0, 10, 10, 0, 10);
			struct seen s;
			char msg[512];
			cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1, "%s", msg);
			cr_assert_eq(s.n, 2, "be %d ns %d", be, ns);
			cr_assert_eq(s.f[0].ts, 1700000000123456ull, "be %d ns %d", be, ns);
			cr_assert_eq(s.f[0].caplen, 10);
			cr_assert_eq(s.f[0].len, 60);
			cr_assert_eq(s.f[0].snaplen, 65535);
			cr_assert_eq(s.f[0].dlt, DLT_EN10MB);
			cr_assert_eq(s.f[0].first, 0xaa);
			cr_assert_eq(s.f[1].ts, 1700000001000000ull);
		}
}

Test(pcap, modified_formats_as_libpcap_reads_them)
{
	struct seen s;
	char msg[512];
	struct pcapraw p;
	/* Kuznetzov's patched libpcap: 8 more bytes per record header, and an
	 * Ethernet snaplen 14 bytes larger. */
	raw_header(&p, 0, 0xa1b2cd34, 2, 4, 100, 1);
	raw_record(&p, 5, 6, 10, 10, 8, 10);
	raw_record(&p, 7, 8, 10, 10, 8, 10);
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.f[1].ts, 7000008);
	cr_assert_eq(s.f[1].snaplen, 114);
	cr_assert_eq(s.f[1].first, 0xaa);
	/* Version 2.2 wrote caplen and len the other way round. */
	raw_header(&p, 1, 0xa1b2c3d4, 2, 2, 65535, 1);
	raw_record(&p, 1, 0, 60, 10, 0, 10);
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.f[0].caplen, 10);
	cr_assert_eq(s.f[0].len, 60);
	/* 2.3: swapped only when caplen > len says so. */
	raw_header(&p, 0, 0xa1b2c3d4, 2, 3, 65535, 1);
	raw_record(&p, 1, 0, 60, 10, 0, 10);
	raw_record(&p, 1, 0, 10, 60, 0, 10);
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert(s.f[0].caplen == 10 && s.f[0].len == 60 && s.f[1].caplen == 10 && s.f[1].len == 60);
	/* The link type's upper bits carry an FCS length, not the type; 101 is raw IP. */
	raw_header(&p, 0, 0xa1b2c3d4, 2, 4, 65535, 0x14000000u | 101);
	raw_record(&p, 1, 0, 10, 10, 0, 10);
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.f[0].dlt, DLT_RAW);
	/* A record longer than the snaplen is cut to it (libpcap's rule), and
	 * the next record is still found. */
	raw_header(&p, 0, 0xa1b2c3d4, 2, 4, 8, 1);
	raw_record(&p, 1, 0, 10, 10, 0, 10);
	raw_record(&p, 2, 0, 8, 8, 0, 8);
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1, "%s", msg);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.f[0].caplen, 8);
	cr_assert_eq(s.f[1].ts, 2000000);
	/* An unknown version is refused. */
	raw_header(&p, 0, 0xa1b2c3d4, 3, 0, 65535, 1);
	char *path = tmp_file();
	FILE *f = fopen(path, "wb");
	fwrite(p.b, 1, p.n, f);
	fclose(f);
	cr_assert_null(cap_open_offline(path, msg, sizeof msg));
	cr_assert(strstr(msg, "unsupported pcap version 3.0"), "%s", msg);
	unlink(path);
	free(path);
}

Test(pcap, damaged_record_versus_a_file_cut_in_its_last_record)
{
	struct seen s;
	char msg[512];
	struct pcapraw p;
	raw_header(&p, 0, 0xa1b2c3d4, 2, 4, 65535, 1);
	raw_record(&p, 1, 0, 10, 10, 0, 10);
	raw_record(&p, 1928287540u, 4325376u, 4325376u, 0, 0, 0);
	memset(p.b + p.n, 0, 600);
	p.n += 600;
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -2);
	cr_assert_eq(s.n, 1);
	cr_assert(strstr(msg, "packet 2 at byte 50: its captured length 4325376 is over the "
			 "262144-byte maximum") && strstr(msg, "covers the 1 packets before it"), "%s", msg);

	raw_header(&p, 0, 0xa1b2c3d4, 2, 4, 65535, 1);
	raw_record(&p, 1, 0, 10, 10, 0, 10);
	raw_record(&p, 2, 0, 60, 60, 0, 10);           /* the file ends 50 bytes early */
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1);
	cr_assert_eq(s.n, 1);
	cr_assert(strstr(msg, "truncated") && strstr(msg, "at byte 50, 26 of 76 bytes"), "%s", msg);

	p.n = 50 + 7;                                  /* inside the record header */
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1);
	cr_assert(strstr(msg, "truncated") && strstr(msg, "at byte 50, 7 of 16 bytes"), "%s", msg);

	p.n = 50;                                      /* a clean end */
	cr_assert_eq(read_raw(&p, &s, msg, sizeof msg), -1);
	cr_assert_str_eq(msg, "");
}

/* ---- standard input ----------------------------------------------------- */

static void read_from_stdin(const uint8_t *bytes, size_t n, struct seen *s)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert(n < 65536, "fits in the pipe: no writer process needed");
	cr_assert_eq(write(pfd[1], bytes, n), (ssize_t)n);
	close(pfd[1]);
	int saved = dup(0);
	dup2(pfd[0], 0);
	close(pfd[0]);
	char err[512];
	memset(s, 0, sizeof *s);
	struct cap_source *src = cap_open_offline("-", err, sizeof err);
	cr_assert_not_null(src, "%s", err);
	cr_assert_str_eq(cap_name(src), "(stdin)");
	while (cap_next_batch(src, 64, on_frame, s) > 0)
		;
	cap_close(src);
	dup2(saved, 0);
	close(saved);
}

Test(stdin, pcap_and_pcapng_from_a_pipe)
{
	struct seen s;
	struct pcapraw p;
	raw_header(&p, 1, 0xa1b23c4d, 2, 4, 65535, 1);
	raw_record(&p, 3, 4000, 10, 10, 0, 10);
	read_from_stdin(p.b, p.n, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.f[0].ts, 3000004);

	struct pngw w = { 0 };
	pngw_shb(&w, 1);
	pngw_idb(&w, 1, 65535, -1, 0, 0);
	pngw_idb(&w, 113, 65535, -1, 0, 0);
	pngw_epb(&w, 1, 9, pkt, 10, 10);
	pngw_epb(&w, 0, 10, pkt, 10, 10);
	read_from_stdin(w.b, w.n, &s);
	free(w.b);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.f[0].dlt, DLT_LINUX_SLL);
	cr_assert_eq(s.f[1].dlt, DLT_EN10MB);
}
