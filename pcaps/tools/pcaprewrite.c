/*
 * pcaprewrite.c — the capture rewrites pcaps/make-pcaps.sh needs and tcpdump cannot do.
 *
 *   pcaprewrite [--vlan ID | --qinq OUTER,INNER | --reorder PORT | --cut PORT |
 *                --erspan2 SESSION | --erspan3 SESSION | --vxlan VNI | --geneve VNI] IN OUT
 *
 *   --vlan ID            insert an 802.1Q tag (TPID 0x8100) into every Ethernet frame
 *   --qinq OUTER,INNER   insert an 802.1ad service tag (TPID 0x88a8) and an 802.1Q tag
 *   --reorder PORT       the first data flight sent from TCP port PORT (the server's
 *                        ServerHello..ServerHelloDone segments) is delivered in reverse
 *                        order, and the segment that now arrives first is retransmitted
 *                        after the flight: out of order plus a duplicate
 *   --cut PORT           the capture ends with the first data segment sent from PORT
 *                        (ServerHello and the start of the Certificate message)
 *
 * Mirrored traffic as a capture box receives it (every Ethernet frame wrapped whole, in
 * an outer Ethernet + IPv4 192.0.2.1 -> 192.0.2.2 packet with a correct checksum):
 *   --erspan2 SESSION    GRE with sequence numbers, protocol 0x88BE, an ERSPAN type II
 *                        header (a Cisco switch's remote SPAN session)
 *   --erspan3 SESSION    GRE with sequence numbers, protocol 0x22EB, an ERSPAN type III
 *                        header with a 100 us timestamp and the O bit set, then the
 *                        8-byte platform-specific subheader (platform id 3)
 *   --vxlan VNI          UDP to 4789, VXLAN header (AWS VPC Traffic Mirroring)
 *   --geneve VNI         UDP to 6081, Geneve with one 8-byte option and protocol
 *                        0x6558 (an AWS Gateway Load Balancer)
 *
 * Two ideas: the whole input is read into memory first (samples are a few dozen KiB),
 * so a rewrite is a permutation of packet slots; and every header field is read through
 * a bounds-checked span, so a frame that is short or not IPv4/IPv6 over TCP is simply
 * "not a TCP segment" and copied through unchanged.  Reordered packets take the
 * timestamps of the slots they land in, so time still runs forward.
 *
 * Build: cc -std=gnu11 -O2 -Wall -Wextra -o pcaprewrite pcaprewrite.c -lpcap
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_VLAN		0x8100	/* IEEE 802.1Q C-tag */
#define ETHERTYPE_QINQ		0x88a8	/* IEEE 802.1ad S-tag */
#define ETH_ADDRS_LEN		12	/* destination + source MAC */
#define VLAN_TAG_LEN		4
#define SLL_HDR_LEN		16
#define SLL2_HDR_LEN		20
#define IPPROTO_TCP_NUM		6
#define IPV6_HDR_LEN		40
#define TCP_MIN_HDR_LEN		20

struct packet {
	struct pcap_pkthdr hdr;
	u_char *data;
};

struct capture {
	int dlt;
	int snaplen;
	struct packet *pkts;
	size_t npkts;
};

/* A bounded view of bytes: reads either succeed entirely or fail and move nothing. */
struct span {
	const u_char *p;
	size_t len;
};

static bool span_skip(struct span *s, size_t n)
{
	if (s->len < n)
		return false;
	s->p += n;
	s->len -= n;
	return true;
}

static bool span_u8_at(const struct span *s, size_t off, uint8_t *v)
{
	if (off >= s->len)
		return false;
	*v = s->p[off];
	return true;
}

static bool span_u16_at(const struct span *s, size_t off, uint16_t *v)
{
	if (off > s->len || s->len - off < 2)
		return false;
	*v = (uint16_t)(s->p[off] << 8 | s->p[off + 1]);
	return true;
}

/* What --reorder and --cut need to know about a TCP segment. */
struct segment {
	uint8_t addrs[32];	/* source then destination address */
	size_t addr_len;	/* 4 (IPv4) or 16 (IPv6) per address */
	uint16_t sport, dport;
	size_t payload_len;
};

/* Find the network layer: the ethertype and the bytes after the link header. */
static bool link_layer(int dlt, struct span *s, uint16_t *ethertype)
{
	switch (dlt) {
	case DLT_EN10MB:
		if (!span_u16_at(s, ETH_ADDRS_LEN, ethertype) || !span_skip(s, ETH_ADDRS_LEN + 2))
			return false;
		while (*ethertype == ETHERTYPE_VLAN || *ethertype == ETHERTYPE_QINQ) {
			if (!span_u16_at(s, 2, ethertype) || !span_skip(s, VLAN_TAG_LEN))
				return false;
		}
		return true;
	case DLT_LINUX_SLL:
		return span_u16_at(s, 14, ethertype) && span_skip(s, SLL_HDR_LEN);
	case DLT_LINUX_SLL2:
		return span_u16_at(s, 0, ethertype) && span_skip(s, SLL2_HDR_LEN);
	default:
		return false;
	}
}

/* Decode a TCP segment over IPv4 or IPv6 (no IPv6 extension headers: ours have none). */
static bool tcp_segment(int dlt, const struct packet *pkt, struct segment *seg)
{
	struct span s = { pkt->data, pkt->hdr.caplen };
	uint16_t ethertype, ip_len, sport, dport;
	uint8_t b, proto;
	size_t ip_hdr_len, l4_len;

	if (!link_layer(dlt, &s, &ethertype))
		return false;
	if (ethertype == ETHERTYPE_IPV4) {
		if (!span_u8_at(&s, 0, &b) || b >> 4 != 4)
			return false;
		ip_hdr_len = (size_t)(b & 0x0f) * 4;
		if (ip_hdr_len < 20 || !span_u16_at(&s, 2, &ip_len) ||
		    !span_u8_at(&s, 9, &proto) || proto != IPPROTO_TCP_NUM ||
		    ip_len < ip_hdr_len || s.len < ip_hdr_len)
			return false;
		seg->addr_len = 4;
		memcpy(seg->addrs, s.p + 12, 8);
		l4_len = ip_len - ip_hdr_len;
	} else if (ethertype == ETHERTYPE_IPV6) {
		if (!span_u8_at(&s, 0, &b) || b >> 4 != 6 ||
		    !span_u16_at(&s, 4, &ip_len) ||
		    !span_u8_at(&s, 6, &proto) || proto != IPPROTO_TCP_NUM ||
		    s.len < IPV6_HDR_LEN)
			return false;
		ip_hdr_len = IPV6_HDR_LEN;
		seg->addr_len = 16;
		memcpy(seg->addrs, s.p + 8, 32);
		l4_len = ip_len;
	} else {
		return false;
	}
	if (!span_skip(&s, ip_hdr_len))
		return false;
	if (!span_u16_at(&s, 0, &sport) || !span_u16_at(&s, 2, &dport) ||
	    !span_u8_at(&s, 12, &b))
		return false;
	size_t tcp_hdr_len = (size_t)(b >> 4) * 4;
	if (tcp_hdr_len < TCP_MIN_HDR_LEN || l4_len < tcp_hdr_len)
		return false;
	seg->sport = sport;
	seg->dport = dport;
	seg->payload_len = l4_len - tcp_hdr_len;
	return true;
}

static bool same_direction(const struct segment *a, const struct segment *b)
{
	return a->addr_len == b->addr_len && a->sport == b->sport && a->dport == b->dport &&
	       memcmp(a->addrs, b->addrs, 2 * a->addr_len) == 0;
}

static bool reverse_direction(const struct segment *a, const struct segment *b)
{
	size_t n = a->addr_len;

	return n == b->addr_len && a->sport == b->dport && a->dport == b->sport &&
	       memcmp(a->addrs, b->addrs + n, n) == 0 && memcmp(a->addrs + n, b->addrs, n) == 0;
}

static int read_capture(const char *path, struct capture *cap)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	size_t cap_slots = 0;
	int rc;

	pcap_t *p = pcap_open_offline(path, errbuf);
	if (!p) {
		fprintf(stderr, "pcaprewrite: %s\n", errbuf);
		return -1;
	}
	cap->dlt = pcap_datalink(p);
	cap->snaplen = pcap_snapshot(p);
	while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
		if (cap->npkts == cap_slots) {
			cap_slots = cap_slots ? 2 * cap_slots : 256;
			struct packet *n = realloc(cap->pkts, cap_slots * sizeof(*n));
			if (!n) {
				fprintf(stderr, "pcaprewrite: out of memory reading %s\n", path);
				pcap_close(p);
				return -1;
			}
			cap->pkts = n;
		}
		struct packet *pkt = &cap->pkts[cap->npkts];
		pkt->hdr = *hdr;
		pkt->data = malloc(hdr->caplen ? hdr->caplen : 1);
		if (!pkt->data) {
			fprintf(stderr, "pcaprewrite: out of memory reading %s\n", path);
			pcap_close(p);
			return -1;
		}
		memcpy(pkt->data, data, hdr->caplen);
		cap->npkts++;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcaprewrite: %s: %s\n", path, pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_close(p);
	return 0;
}

static void free_capture(struct capture *cap)
{
	for (size_t i = 0; i < cap->npkts; i++)
		free(cap->pkts[i].data);
	free(cap->pkts);
}

/* Insert tags (each 4 bytes: TPID, TCI) after the MAC addresses of every frame. */
static int add_tags(struct capture *cap, const uint16_t *tpids, const uint16_t *vids, size_t ntags)
{
	size_t add = ntags * VLAN_TAG_LEN;

	if (cap->dlt != DLT_EN10MB) {
		fprintf(stderr, "pcaprewrite: VLAN tags need an Ethernet capture (link type %s)\n",
			pcap_datalink_val_to_name(cap->dlt));
		return -1;
	}
	for (size_t i = 0; i < cap->npkts; i++) {
		struct packet *pkt = &cap->pkts[i];
		if (pkt->hdr.caplen < ETH_ADDRS_LEN || pkt->hdr.caplen > UINT32_MAX - add)
			continue;
		u_char *n = malloc(pkt->hdr.caplen + add);
		if (!n) {
			fprintf(stderr, "pcaprewrite: out of memory\n");
			return -1;
		}
		memcpy(n, pkt->data, ETH_ADDRS_LEN);
		for (size_t t = 0; t < ntags; t++) {
			u_char *tag = n + ETH_ADDRS_LEN + t * VLAN_TAG_LEN;
			tag[0] = (u_char)(tpids[t] >> 8);
			tag[1] = (u_char)tpids[t];
			tag[2] = (u_char)(vids[t] >> 8);	/* PCP 0, DEI 0 */
			tag[3] = (u_char)vids[t];
		}
		memcpy(n + ETH_ADDRS_LEN + add, pkt->data + ETH_ADDRS_LEN,
		       pkt->hdr.caplen - ETH_ADDRS_LEN);
		free(pkt->data);
		pkt->data = n;
		pkt->hdr.caplen += (uint32_t)add;
		pkt->hdr.len += (uint32_t)add;
	}
	if (cap->snaplen < INT_MAX - (int)add)
		cap->snaplen += (int)add;
	return 0;
}

/* Index of the first packet that carries TCP payload from PORT, or npkts. */
static size_t first_data_from(const struct capture *cap, uint16_t port, struct segment *seg)
{
	for (size_t i = 0; i < cap->npkts; i++) {
		if (tcp_segment(cap->dlt, &cap->pkts[i], seg) && seg->sport == port &&
		    seg->payload_len > 0)
			return i;
	}
	return cap->npkts;
}

static int cut_after_first(struct capture *cap, uint16_t port)
{
	struct segment seg;
	size_t first = first_data_from(cap, port, &seg);

	if (first == cap->npkts) {
		fprintf(stderr, "pcaprewrite: no TCP data from port %u\n", port);
		return -1;
	}
	for (size_t i = first + 1; i < cap->npkts; i++)
		free(cap->pkts[i].data);
	cap->npkts = first + 1;
	return 0;
}

/*
 * The flight: data segments of the first flow from PORT, in that direction, until the
 * other side sends data.  Their slots get the segments in reverse order; then the
 * segment that now comes first is sent again right after the last slot.
 */
static int reorder_flight(struct capture *cap, uint16_t port)
{
	struct segment first, seg;
	size_t start = first_data_from(cap, port, &first);
	size_t *slots = NULL, nslots = 0;
	int ret = -1;

	if (start == cap->npkts) {
		fprintf(stderr, "pcaprewrite: no TCP data from port %u\n", port);
		return -1;
	}
	slots = calloc(cap->npkts, sizeof(*slots));
	if (!slots) {
		fprintf(stderr, "pcaprewrite: out of memory\n");
		return -1;
	}
	for (size_t i = start; i < cap->npkts; i++) {
		if (!tcp_segment(cap->dlt, &cap->pkts[i], &seg) || seg.payload_len == 0)
			continue;
		if (same_direction(&first, &seg))
			slots[nslots++] = i;
		else if (reverse_direction(&first, &seg))
			break;
	}
	if (nslots < 2) {
		fprintf(stderr, "pcaprewrite: the flight from port %u is one segment; nothing to reorder\n",
			port);
		goto out;
	}

	struct packet *moved = malloc(nslots * sizeof(*moved));
	struct packet *grown = realloc(cap->pkts, (cap->npkts + 1) * sizeof(*grown));
	if (!moved || !grown) {
		free(moved);
		if (grown)
			cap->pkts = grown;
		fprintf(stderr, "pcaprewrite: out of memory\n");
		goto out;
	}
	cap->pkts = grown;
	for (size_t k = 0; k < nslots; k++)
		moved[k] = cap->pkts[slots[k]];
	for (size_t k = 0; k < nslots; k++) {
		struct packet p = moved[nslots - 1 - k];
		p.hdr.ts = moved[k].hdr.ts;
		cap->pkts[slots[k]] = p;
	}

	/* The retransmission: a copy of what is now in the first slot, after the last one. */
	struct packet dup = cap->pkts[slots[0]];
	dup.hdr.ts = cap->pkts[slots[nslots - 1]].hdr.ts;
	dup.data = malloc(dup.hdr.caplen ? dup.hdr.caplen : 1);
	if (!dup.data) {
		free(moved);
		fprintf(stderr, "pcaprewrite: out of memory\n");
		goto out;
	}
	memcpy(dup.data, cap->pkts[slots[0]].data, dup.hdr.caplen);
	size_t at = slots[nslots - 1] + 1;
	memmove(&cap->pkts[at + 1], &cap->pkts[at], (cap->npkts - at) * sizeof(*cap->pkts));
	cap->pkts[at] = dup;
	cap->npkts++;
	free(moved);
	ret = 0;
out:
	free(slots);
	return ret;
}

static int write_capture(const char *path, const struct capture *cap)
{
	pcap_t *dead = pcap_open_dead(cap->dlt, cap->snaplen);
	if (!dead) {
		fprintf(stderr, "pcaprewrite: pcap_open_dead failed\n");
		return -1;
	}
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	if (!d) {
		fprintf(stderr, "pcaprewrite: %s: %s\n", path, pcap_geterr(dead));
		pcap_close(dead);
		return -1;
	}
	for (size_t i = 0; i < cap->npkts; i++)
		pcap_dump((u_char *)d, &cap->pkts[i].hdr, cap->pkts[i].data);
	int rc = pcap_dump_flush(d);
	if (rc != 0)
		fprintf(stderr, "pcaprewrite: %s: %s\n", path, strerror(errno));
	pcap_dump_close(d);
	pcap_close(dead);
	return rc == 0 ? 0 : -1;
}

/* ---- wrapping for mirrored traffic ---------------------------------------------- */

enum wrap { WRAP_ERSPAN2, WRAP_ERSPAN3, WRAP_VXLAN, WRAP_GENEVE };

static u_char *put16(u_char *q, uint16_t v)
{
	q[0] = (u_char)(v >> 8);
	q[1] = (u_char)v;
	return q + 2;
}

static u_char *put32(u_char *q, uint32_t v)
{
	q = put16(q, (uint16_t)(v >> 16));
	return put16(q, (uint16_t)v);
}

static uint16_t ipv4_checksum(const u_char *h, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The headers in front of one mirrored frame: outer Ethernet, IPv4, GRE or UDP,
 * the encapsulation's own header.  Returns their length. */
static size_t wrap_headers(enum wrap w, uint32_t id, uint32_t seq, const struct pcap_pkthdr *h,
			   u_char *out)
{
	static const u_char macs[ETH_ADDRS_LEN] = { 0x02, 0, 0, 0, 0xc0, 0x02,    /* collector */
						    0x02, 0, 0, 0, 0xc0, 0x01 };  /* switch */
	u_char tun[48], *t = tun;
	bool udp = w == WRAP_VXLAN || w == WRAP_GENEVE;
	uint16_t dport = w == WRAP_VXLAN ? 4789 : 6081;

	switch (w) {
	case WRAP_ERSPAN2:
		t = put16(t, 0x1000);                   /* GRE: S (sequence number) */
		t = put16(t, 0x88be);
		t = put32(t, seq);
		t = put16(t, 0x1000);                   /* Ver 1, VLAN 0 */
		t = put16(t, (uint16_t)(id & 0x3ff));   /* COS 0, En 0, T 0, session */
		t = put32(t, 0);                        /* reserved, index */
		break;
	case WRAP_ERSPAN3: {
		uint32_t ts100 = (uint32_t)(((uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec) / 100u);
		t = put16(t, 0x1000);
		t = put16(t, 0x22eb);
		t = put32(t, seq);
		t = put16(t, 0x2000);                   /* Ver 2, VLAN 0 */
		t = put16(t, (uint16_t)(id & 0x3ff));   /* COS 0, BSO 0, T 0, session */
		t = put32(t, ts100);                    /* timestamp, 100 us granularity */
		t = put16(t, 0);                        /* SGT */
		t = put16(t, 0x0001);                   /* P 0, FT 0 (Ethernet), HW 0, D 0, Gra 00, O 1 */
		t = put32(t, 3u << 26);                 /* platform id 3, port id 0 */
		t = put32(t, (uint32_t)h->ts.tv_sec);   /* timestamp seconds */
		break;
	}
	case WRAP_VXLAN:
		*t++ = 0x08; *t++ = 0; *t++ = 0; *t++ = 0;   /* I flag */
		t = put32(t, id << 8);
		break;
	case WRAP_GENEVE:
		*t++ = 2;                               /* Ver 0, option length 2 words */
		*t++ = 0;
		t = put16(t, 0x6558);
		t = put32(t, id << 8);
		t = put16(t, 0x0108);                   /* option class (Amazon) */
		*t++ = 0x01;                            /* type */
		*t++ = 1;                               /* length: 1 word */
		t = put32(t, 0x5eed0001);
		break;
	}
	size_t tl = (size_t)(t - tun), ul = udp ? 8 : 0;
	uint32_t ip_len = (uint32_t)(20 + ul + tl + h->len);
	u_char *q = out;
	memcpy(q, macs, ETH_ADDRS_LEN);
	q += ETH_ADDRS_LEN;
	q = put16(q, ETHERTYPE_IPV4);
	u_char *ip = q;
	*q++ = 0x45;
	*q++ = 0;
	q = put16(q, (uint16_t)(ip_len > 0xffff ? 0xffff : ip_len));
	q = put16(q, (uint16_t)seq);
	q = put16(q, 0x4000);                           /* DF */
	*q++ = 64;
	*q++ = udp ? 17 : 47;
	q = put16(q, 0);
	q = put32(q, 0xc0000201);                       /* 192.0.2.1 */
	q = put32(q, 0xc0000202);                       /* 192.0.2.2 */
	put16(ip + 10, ipv4_checksum(ip, 20));
	if (udp) {
		q = put16(q, (uint16_t)(49152 + (id & 0x3fff)));
		q = put16(q, dport);
		q = put16(q, (uint16_t)(ul + tl + h->len));
		q = put16(q, 0);                        /* no checksum (IPv4) */
	}
	memcpy(q, tun, tl);
	q += tl;
	return (size_t)(q - out);
}

static int wrap_all(struct capture *cap, enum wrap w, uint32_t id)
{
	u_char hdr[128];
	size_t extra = 0;

	if (cap->dlt != DLT_EN10MB) {
		fprintf(stderr, "pcaprewrite: mirroring wraps Ethernet frames (link type %s)\n",
			pcap_datalink_val_to_name(cap->dlt));
		return -1;
	}
	for (size_t i = 0; i < cap->npkts; i++) {
		struct packet *pkt = &cap->pkts[i];
		size_t hl = wrap_headers(w, id, (uint32_t)i + 1, &pkt->hdr, hdr);
		if (pkt->hdr.caplen > UINT32_MAX - hl)
			continue;
		u_char *n = malloc(pkt->hdr.caplen + hl);
		if (!n) {
			fprintf(stderr, "pcaprewrite: out of memory\n");
			return -1;
		}
		memcpy(n, hdr, hl);
		memcpy(n + hl, pkt->data, pkt->hdr.caplen);
		free(pkt->data);
		pkt->data = n;
		pkt->hdr.caplen += (uint32_t)hl;
		pkt->hdr.len += (uint32_t)hl;
		extra = hl;
	}
	if (cap->snaplen < INT_MAX - (int)extra)
		cap->snaplen += (int)extra;
	return 0;
}

static bool parse_u16(const char *s, unsigned max, uint16_t *v)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n > max)
		return false;
	*v = (uint16_t)n;
	return true;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pcaprewrite [--vlan ID | --qinq OUTER,INNER | --reorder PORT | --cut PORT |\n"
		"                    --erspan2 SESSION | --erspan3 SESSION | --vxlan VNI | --geneve VNI] IN OUT\n");
}

int main(int argc, char **argv)
{
	struct capture cap = { 0 };
	uint16_t tpids[2], vids[2], port = 0;
	char outer[8];
	int rc;

	if (argc != 5) {
		usage();
		return 2;
	}
	const char *op = argv[1], *arg = argv[2], *in = argv[3], *out = argv[4];
	bool ok;
	if (strcmp(op, "--vlan") == 0) {
		ok = parse_u16(arg, 4094, &vids[0]);
	} else if (strcmp(op, "--qinq") == 0) {
		const char *comma = strchr(arg, ',');
		size_t n = comma ? (size_t)(comma - arg) : 0;
		ok = comma && n > 0 && n < sizeof(outer);
		if (ok) {
			memcpy(outer, arg, n);
			outer[n] = '\0';
			ok = parse_u16(outer, 4094, &vids[0]) && parse_u16(comma + 1, 4094, &vids[1]);
		}
	} else if (strcmp(op, "--reorder") == 0 || strcmp(op, "--cut") == 0 ||
		   strcmp(op, "--vxlan") == 0 || strcmp(op, "--geneve") == 0) {
		ok = parse_u16(arg, 65535, &port);
	} else if (strcmp(op, "--erspan2") == 0 || strcmp(op, "--erspan3") == 0) {
		ok = parse_u16(arg, 1023, &port);     /* a 10-bit session id */
	} else {
		ok = false;
	}
	if (!ok) {
		usage();
		return 2;
	}

	if (read_capture(in, &cap) != 0) {
		free_capture(&cap);
		return 1;
	}
	if (strcmp(op, "--vlan") == 0) {
		tpids[0] = ETHERTYPE_VLAN;
		rc = add_tags(&cap, tpids, vids, 1);
	} else if (strcmp(op, "--qinq") == 0) {
		tpids[0] = ETHERTYPE_QINQ;
		tpids[1] = ETHERTYPE_VLAN;
		rc = add_tags(&cap, tpids, vids, 2);
	} else if (strcmp(op, "--reorder") == 0) {
		rc = reorder_flight(&cap, port);
	} else if (strcmp(op, "--erspan2") == 0) {
		rc = wrap_all(&cap, WRAP_ERSPAN2, port);
	} else if (strcmp(op, "--erspan3") == 0) {
		rc = wrap_all(&cap, WRAP_ERSPAN3, port);
	} else if (strcmp(op, "--vxlan") == 0) {
		rc = wrap_all(&cap, WRAP_VXLAN, port);
	} else if (strcmp(op, "--geneve") == 0) {
		rc = wrap_all(&cap, WRAP_GENEVE, port);
	} else {
		rc = cut_after_first(&cap, port);
	}
	if (rc == 0)
		rc = write_capture(out, &cap);
	free_capture(&cap);
	return rc == 0 ? 0 : 1;
}
