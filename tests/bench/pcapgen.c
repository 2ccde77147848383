/*
 * pcapgen.c — the large captures `make bench` measures, made from a small
 * real one (libpcap only).
 *
 *   pcapgen replicate SEED OUT COPIES SPAN_S
 *       COPIES copies of SEED (a capture of real openssl clients and servers,
 *       Ethernet/IPv4), copy k starting k * SPAN_S / COPIES seconds after the
 *       first, merged in time order.  In copy k every client address (the
 *       sender of a SYN) becomes 10.(k >> 8).(k & 255).(client index), so
 *       each copy's flows are new 5-tuples; the servers keep theirs, as on a
 *       busy Front End.  Ports, sequence numbers and payloads are unchanged.
 *   pcapgen flood OUT FLOWS [--no-data]
 *       FLOWS SYN-flood-shaped flows, all inside 300 s (so all concurrent for
 *       a flow table with the default idle timeout): SYN, SYN-ACK, and one
 *       small client data packet that is not a ClientHello.  Clients come
 *       from sequential addresses and ports, the worst case for a weak hash.
 *
 * Two ideas: the output is a pure function of the input and the arguments
 * (so two runs give byte-identical files), and checksums stay right (IPv4
 * header recomputed, TCP adjusted by RFC 1624 for the new address) so no
 * tool under test sees a packet it would treat differently from the seed's.
 *
 * Build: cc -O2 -o pcapgen pcapgen.c -lpcap
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HDR_LEN       14
#define ETHERTYPE_IPV4    0x0800
#define IPV4_MIN_HDR_LEN  20
#define TCP_MIN_HDR_LEN   20
#define TCP_FLAG_SYN      0x02
#define TCP_FLAG_ACK      0x10
#define TCP_FLAG_PSH      0x08
#define SNAPLEN           262144
#define BULK_FLOW_BYTES   (64 * 1024)   /* a seed flow this big counts as bulk */
#define MAX_CLIENT_ADDRS  255

struct pkt {
	struct pcap_pkthdr hdr;
	uint8_t *data;
	int client_at;            /* offset of the client address to rewrite, or -1 */
	int ip_off, tcp_off;      /* -1 when not IPv4/TCP */
	int client_index;         /* which client address (1-based) */
};

struct seed {
	struct pkt *p;
	size_t n, cap;
	uint32_t client_addr[MAX_CLIENT_ADDRS];
	int n_client_addrs;
};

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void ipv4_checksum(uint8_t *ip, unsigned hlen)
{
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, hlen, 0)));
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for each 16-bit word changed. */
static void csum_adjust(uint8_t *csum, const uint8_t old[4], const uint8_t new[4])
{
	uint32_t s = (uint16_t)~be16(csum);
	for (int i = 0; i < 4; i += 2) {
		s += (uint16_t)~be16(old + i);
		s += be16(new + i);
	}
	put16(csum, (uint16_t)~fold(s));
}

/* ---- replicate --------------------------------------------------------- */

static int seed_client(struct seed *s, const uint8_t addr[4])
{
	uint32_t a = (uint32_t)addr[0] << 24 | addr[1] << 16 | addr[2] << 8 | addr[3];
	for (int i = 0; i < s->n_client_addrs; i++)
		if (s->client_addr[i] == a)
			return i + 1;
	return 0;
}

struct endpoint { uint8_t addr[4]; uint16_t port; };

static bool read_seed(const char *path, struct seed *s)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc) {
		fprintf(stderr, "pcapgen: %s\n", err);
		return false;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "pcapgen: %s: link type %d, want Ethernet (tcpdump -i lo)\n",
			path, pcap_datalink(pc));
		pcap_close(pc);
		return false;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 1024;
			s->p = realloc(s->p, s->cap * sizeof *s->p);
			if (!s->p)
				return false;
		}
		struct pkt *p = &s->p[s->n++];
		p->hdr = *h;
		p->data = malloc(h->caplen ? h->caplen : 1);
		if (!p->data)
			return false;
		memcpy(p->data, d, h->caplen);
		p->ip_off = p->tcp_off = p->client_at = -1;
		p->client_index = 0;
		if (h->caplen >= ETH_HDR_LEN + IPV4_MIN_HDR_LEN &&
		    be16(d + 12) == ETHERTYPE_IPV4 && (d[ETH_HDR_LEN] >> 4) == 4 &&
		    d[ETH_HDR_LEN + 9] == 6) {
			unsigned ihl = (d[ETH_HDR_LEN] & 0x0f) * 4u;
			if (ihl >= IPV4_MIN_HDR_LEN && h->caplen >= ETH_HDR_LEN + ihl + TCP_MIN_HDR_LEN) {
				p->ip_off = ETH_HDR_LEN;
				p->tcp_off = ETH_HDR_LEN + (int)ihl;
			}
		}
	}
	pcap_close(pc);
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcapgen: %s: read error\n", path);
		return false;
	}

	/* Clients: the senders of SYNs without ACK. */
	struct endpoint *cl = NULL;
	size_t ncl = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct pkt *p = &s->p[i];
		if (p->tcp_off < 0)
			continue;
		uint8_t fl = p->data[p->tcp_off + 13];
		if ((fl & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
			continue;
		cl = realloc(cl, (ncl + 1) * sizeof *cl);
		if (!cl)
			return false;
		memcpy(cl[ncl].addr, p->data + p->ip_off + 12, 4);
		cl[ncl].port = be16(p->data + p->tcp_off);
		ncl++;
		if (!seed_client(s, cl[ncl - 1].addr)) {
			if (s->n_client_addrs == MAX_CLIENT_ADDRS) {
				fprintf(stderr, "pcapgen: more than %d client addresses\n",
					MAX_CLIENT_ADDRS);
				return false;
			}
			const uint8_t *a = cl[ncl - 1].addr;
			s->client_addr[s->n_client_addrs++] =
				(uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
		}
	}
	/* Each packet: which of its addresses is the client's. */
	for (size_t i = 0; i < s->n; i++) {
		struct pkt *p = &s->p[i];
		if (p->tcp_off < 0)
			continue;
		for (int side = 0; side < 2; side++) {
			const uint8_t *a = p->data + p->ip_off + 12 + 4 * side;
			uint16_t port = be16(p->data + p->tcp_off + 2 * side);
			for (size_t c = 0; c < ncl; c++)
				if (cl[c].port == port && memcmp(cl[c].addr, a, 4) == 0) {
					p->client_at = p->ip_off + 12 + 4 * side;
					p->client_index = seed_client(s, a);
					break;
				}
			if (p->client_at >= 0)
				break;
		}
	}

	/* The seed's make-up, for the script's log. */
	uint64_t total = 0, bulk = 0;
	for (size_t c = 0; c < ncl; c++) {
		uint64_t b = 0;
		for (size_t i = 0; i < s->n; i++) {
			struct pkt *p = &s->p[i];
			if (p->client_at < 0 || memcmp(p->data + p->client_at, cl[c].addr, 4))
				continue;
			uint16_t port = be16(p->data + p->tcp_off +
					     (p->client_at == p->ip_off + 12 ? 0 : 2));
			if (port == cl[c].port)
				b += p->hdr.len;
		}
		total += b;
		if (b >= BULK_FLOW_BYTES)
			bulk += b;
	}
	fprintf(stderr, "pcapgen: seed %s: %zu packets, %zu connections from %d client "
		"addresses, %.0f %% of the bytes in bulk flows (>= %d KiB)\n", path, s->n, ncl,
		s->n_client_addrs, total ? 100.0 * (double)bulk / (double)total : 0.0,
		BULK_FLOW_BYTES / 1024);
	free(cl);
	return true;
}

static uint64_t ts_us(const struct pcap_pkthdr *h)
{
	return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

struct heap_item { uint64_t t; uint32_t copy, idx; };

static void heap_push(struct heap_item *h, size_t *n, struct heap_item it)
{
	size_t i = (*n)++;
	while (i) {
		size_t up = (i - 1) / 2;
		if (h[up].t < it.t || (h[up].t == it.t && h[up].copy <= it.copy))
			break;
		h[i] = h[up];
		i = up;
	}
	h[i] = it;
}

static struct heap_item heap_pop(struct heap_item *h, size_t *n)
{
	struct heap_item top = h[0], last = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, m = l;
		if (l >= *n)
			break;
		if (l + 1 < *n && (h[l + 1].t < h[l].t ||
				   (h[l + 1].t == h[l].t && h[l + 1].copy < h[l].copy)))
			m = l + 1;
		if (last.t < h[m].t || (last.t == h[m].t && last.copy <= h[m].copy))
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = last;
	return top;
}

static int replicate(const char *in, const char *out, unsigned long copies, double span_s)
{
	struct seed s = { 0 };
	if (!read_seed(in, &s))
		return 1;
	if (s.n == 0 || copies == 0 || copies > 65536) {
		fprintf(stderr, "pcapgen: empty seed, or copies not in 1..65536\n");
		return 1;
	}
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	pcap_dumper_t *dump = pcap_dump_open(dead, out);
	if (!dump) {
		fprintf(stderr, "pcapgen: %s: %s\n", out, pcap_geterr(dead));
		return 1;
	}
	uint64_t spacing = (uint64_t)(span_s * 1e6 / (double)copies);
	struct heap_item *heap = malloc(copies * sizeof *heap);
	uint8_t *buf = malloc(SNAPLEN);
	if (!heap || !buf)
		return 1;
	size_t hn = 0;
	for (uint32_t k = 0; k < copies; k++)
		heap_push(heap, &hn, (struct heap_item){ ts_us(&s.p[0].hdr) + k * spacing, k, 0 });
	uint64_t written = 0, bytes = 0;
	while (hn) {
		struct heap_item it = heap_pop(heap, &hn);
		const struct pkt *p = &s.p[it.idx];
		struct pcap_pkthdr h = p->hdr;
		h.ts.tv_sec = (time_t)(it.t / 1000000u);
		h.ts.tv_usec = (suseconds_t)(it.t % 1000000u);
		const uint8_t *data = p->data;
		if (p->client_at >= 0) {
			memcpy(buf, p->data, p->hdr.caplen);
			uint8_t old[4], new[4] = { 10, (uint8_t)(it.copy >> 8),
						   (uint8_t)it.copy, (uint8_t)p->client_index };
			memcpy(old, buf + p->client_at, 4);
			memcpy(buf + p->client_at, new, 4);
			ipv4_checksum(buf + p->ip_off, (unsigned)(p->tcp_off - p->ip_off));
			if ((uint32_t)p->tcp_off + 18 <= p->hdr.caplen)
				csum_adjust(buf + p->tcp_off + 16, old, new);
			data = buf;
		}
		pcap_dump((u_char *)dump, &h, data);
		written++;
		bytes += h.len;
		if (it.idx + 1 < s.n)
			heap_push(heap, &hn, (struct heap_item){
				ts_us(&s.p[it.idx + 1].hdr) + it.copy * spacing,
				it.copy, it.idx + 1 });
	}
	pcap_dump_close(dump);
	pcap_close(dead);
	fprintf(stderr, "pcapgen: %s: %llu packets, %.1f MB, %lu copies %.3f s apart\n", out,
		(unsigned long long)written, (double)bytes / 1e6, copies, (double)spacing / 1e6);
	for (size_t i = 0; i < s.n; i++)
		free(s.p[i].data);
	free(s.p);
	free(heap);
	free(buf);
	return 0;
}

/* ---- flood ------------------------------------------------------------- */

static size_t tcp_frame(uint8_t *f, const uint8_t src[4], const uint8_t dst[4],
			uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			uint8_t flags, const uint8_t *payload, size_t plen)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	memcpy(f, macs, 12);
	put16(f + 12, ETHERTYPE_IPV4);
	uint8_t *ip = f + ETH_HDR_LEN, *tcp = ip + IPV4_MIN_HDR_LEN;
	memset(ip, 0, IPV4_MIN_HDR_LEN + TCP_MIN_HDR_LEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IPV4_MIN_HDR_LEN + TCP_MIN_HDR_LEN + plen));
	put16(ip + 6, 0x4000);            /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	ipv4_checksum(ip, IPV4_MIN_HDR_LEN);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put16(tcp + 4, (uint16_t)(seq >> 16));
	put16(tcp + 6, (uint16_t)seq);
	put16(tcp + 8, (uint16_t)(ack >> 16));
	put16(tcp + 10, (uint16_t)ack);
	tcp[12] = (TCP_MIN_HDR_LEN / 4) << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	memcpy(tcp + TCP_MIN_HDR_LEN, payload, plen);
	uint32_t s = sum16(ip + 12, 8, 0) + 6 + TCP_MIN_HDR_LEN + (uint32_t)plen;
	s = sum16(tcp, TCP_MIN_HDR_LEN + plen, s);
	put16(tcp + 16, (uint16_t)~fold(s));
	return ETH_HDR_LEN + IPV4_MIN_HDR_LEN + TCP_MIN_HDR_LEN + plen;
}

static int flood(const char *out, unsigned long flows, bool data)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	pcap_dumper_t *dump = pcap_dump_open(dead, out);
	if (!dump) {
		fprintf(stderr, "pcapgen: %s: %s\n", out, pcap_geterr(dead));
		return 1;
	}
	/* Not TLS, not text: a first byte no TLS record or command starts with. */
	static const uint8_t junk[24] = {
		0x00, 0x00, 0x00, 0x18, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
		0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	};
	uint8_t f[128];
	const uint64_t t0 = 1700000000ull * 1000000u;
	/* All flows inside 240 s, under the default 300 s idle timeout. */
	uint64_t step = flows ? 240000000ull / flows : 1;
	if (step < 3)
		step = 3;
	for (unsigned long i = 0; i < flows; i++) {
		uint32_t c = 0x0a000000u + (uint32_t)(i >> 2);       /* 10.0.0.0 up */
		uint8_t cli[4] = { (uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8),
				   (uint8_t)c };
		uint8_t srv[4] = { 192, 0, 2, (uint8_t)(1 + (i & 3)) };
		uint16_t cport = (uint16_t)(40000 + (i & 3));
		uint32_t cseq = (uint32_t)(i * 2654435761u), sseq = ~cseq;
		uint64_t t = t0 + i * step;
		struct pcap_pkthdr h = { 0 };
		for (int k = 0; k < (data ? 3 : 2); k++) {
			size_t n;
			if (k == 0)
				n = tcp_frame(f, cli, srv, cport, 443, cseq, 0, TCP_FLAG_SYN, NULL, 0);
			else if (k == 1)
				n = tcp_frame(f, srv, cli, 443, cport, sseq, cseq + 1,
					      TCP_FLAG_SYN | TCP_FLAG_ACK, NULL, 0);
			else
				n = tcp_frame(f, cli, srv, cport, 443, cseq + 1, sseq + 1,
					      TCP_FLAG_ACK | TCP_FLAG_PSH, junk, sizeof junk);
			h.ts.tv_sec = (time_t)((t + (uint64_t)k) / 1000000u);
			h.ts.tv_usec = (suseconds_t)((t + (uint64_t)k) % 1000000u);
			h.caplen = h.len = (uint32_t)n;
			pcap_dump((u_char *)dump, &h, f);
		}
	}
	pcap_dump_close(dump);
	pcap_close(dead);
	fprintf(stderr, "pcapgen: %s: %lu flows%s\n", out, flows,
		data ? " (SYN, SYN-ACK, 24 data bytes)" : " (SYN, SYN-ACK)");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: pcapgen replicate SEED OUT COPIES SPAN_S\n"
			"       pcapgen flood OUT FLOWS [--no-data]\n");
	return 2;
}

int main(int argc, char **argv)
{
	char *end;
	if (argc == 6 && strcmp(argv[1], "replicate") == 0) {
		unsigned long copies = strtoul(argv[4], &end, 10);
		if (*end)
			return usage();
		double span = strtod(argv[5], &end);
		if (*end || span < 0)
			return usage();
		return replicate(argv[2], argv[3], copies, span);
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "flood") == 0) {
		unsigned long flows = strtoul(argv[3], &end, 10);
		if (*end || (argc == 5 && strcmp(argv[4], "--no-data") != 0))
			return usage();
		return flood(argv[2], flows, argc == 4);
	}
	return usage();
}
