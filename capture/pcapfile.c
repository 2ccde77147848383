/*
 * pcapfile.c — capture files read by our own reader: classic pcap and pcapng,
 * record by record and block by block, every header through the bounded
 * reader.
 *
 * Why not libpcap: it refuses a pcapng file whose interfaces have different
 * link types (Ethernet and Linux cooked in one file, as a capture on several
 * interfaces gives) at the first packet of the second, it skips Decryption
 * Secrets Blocks, and it cannot tell a file that ends inside its last record
 * from one that is damaged in the middle.  pcap is read here too: one path
 * for both formats, measured faster than libpcap's on a 1 GiB file.
 *
 * Formats as libpcap and Wireshark read them:
 * - pcap: micro- and nanosecond magics, both byte orders, Kuznetzov's
 *   modified format (magic 0xa1b2cd34, 24-byte record headers, snaplen + 14
 *   on Ethernet), the swapped caplen/len of versions before 2.3 and 543.0; a
 *   record longer than the file's snaplen (but under 256 KiB) is cut to it.
 * - pcapng: several sections (each SHB with its own byte order; a new one
 *   forgets the interfaces), several interfaces each with its link type,
 *   snaplen, if_tsresol (a power of 10 or of 2) and if_tsoffset; Enhanced,
 *   Simple (interface 0; captured length = min(original length, snaplen);
 *   no timestamp, so the previous packet's) and the obsolete Packet Blocks;
 *   Decryption Secrets Blocks handed to the caller as they come; every other
 *   block skipped by its length.
 *
 * Two ideas a reader needs:
 * - One buffer, read(2) in large pieces, records parsed in place: a frame's
 *   bytes point into the buffer and stay valid until the next pf_next, so no
 *   packet is copied.  A record or block longer than the buffer grows it, up
 *   to PF_MAX_BLOCK_BYTES; a length above the limits is damage, not a reason
 *   to allocate.  Works on a pipe (stdin): nothing seeks.
 * - End versus damage.  The file ending inside a record whose header is
 *   plausible is PF_TRUNCATED (a capture copied while it was written: a
 *   warning); a header that cannot be right (a length over the limit, a
 *   pcapng block whose trailing length differs from its leading one, a
 *   packet naming an interface the section lacks) is PF_ERROR, with the
 *   packet number and byte offset where reading stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture/pcapfile.h"
#include "lib/reader.h"

#define PF_READ_BYTES (1u << 20)

enum {
	PCAP_MAGIC_US = 0xa1b2c3d4u, PCAP_MAGIC_NS = 0xa1b23c4du,
	PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34u,
	PCAP_FILE_HEADER_BYTES = 24, PCAP_RECORD_BYTES = 16, PCAP_KUZNETZOV_RECORD_BYTES = 24,
	PCAPNG_SHB = 0x0a0d0d0au, PCAPNG_IDB = 1, PCAPNG_PB = 2, PCAPNG_SPB = 3,
	PCAPNG_EPB = 6, PCAPNG_DSB = 10,
	PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4du,
	PCAPNG_OPT_ENDOFOPT = 0, PCAPNG_IF_TSRESOL = 9, PCAPNG_IF_TSOFFSET = 14,
	LINKTYPE_RAW = 101,       /* the file's number for DLT_RAW */
	LINKTYPE_MASK = 0x03ffffff,  /* the upper bits hold the FCS length */
};

enum lengths_swapped { NOT_SWAPPED, SWAPPED, MAYBE_SWAPPED };

struct pf_iface {
	int dlt;
	uint32_t snaplen;         /* 0: none */
	bool pow2;                /* if_tsresol: units of 2^-exp s, else 10^-exp s */
	uint8_t exp;
	int64_t tsoffset_s;
};

struct pcapfile {
	int fd;
	uint8_t *buf;
	size_t cap, start, end;   /* buf[start, end) is read and not consumed */
	uint64_t buf_off;         /* the file offset of buf[0] */
	bool eof;
	int read_errno;

	bool ng;
	bool be;                  /* big-endian headers */
	/* pcap */
	bool nsec;
	size_t rec_bytes;
	enum lengths_swapped swapped;
	uint32_t snaplen;
	int dlt;
	/* pcapng: the current section's interfaces */
	struct pf_iface *ifaces;
	size_t n_ifaces, cap_ifaces;
	bool have_iface;          /* the first interface (of the file) is known */

	uint64_t packets;
	uint64_t last_ts_us;
	struct pcap_pkthdr hdr;
	cap_secrets_fn secrets;
	void *user;
	uint8_t *(*buf_get)(void *buf_user, size_t *size);   /* cap_offline_options */
	void (*buf_put)(void *buf_user, uint8_t *buf);
	void *buf_user;
	char name[256];
	char msg[512];            /* the last PF_ERROR or PF_TRUNCATED, in full */
	char why[200];            /* its reason alone */
};

/* ---- the buffer ------------------------------------------------------- */

static uint64_t offset_now(const struct pcapfile *f) { return f->buf_off + f->start; }
static size_t avail(const struct pcapfile *f) { return f->end - f->start; }

/* Makes n bytes available at buf + start.  false at the end of the file
 * (f->eof) or on a read error (f->read_errno) before that many came. */
static bool need(struct pcapfile *f, size_t n)
{
	if (avail(f) >= n)
		return true;
	if (f->eof || f->read_errno)
		return false;
	if (f->start + n > f->cap && f->buf_get) {
		/* Frames in the old buffer may still be read: a new one gets
		 * the part not consumed yet. */
		size_t size = n > PF_READ_BYTES ? n : PF_READ_BYTES;
		uint8_t *b = f->buf_get(f->buf_user, &size);
		if (!b) {
			f->read_errno = ENOMEM;
			return false;
		}
		memcpy(b, f->buf + f->start, avail(f));
		f->buf_put(f->buf_user, f->buf);
		f->buf = b;
		f->cap = size;
		f->buf_off += f->start;
		f->end -= f->start;
		f->start = 0;
	}
	if (f->start + n > f->cap) {
		memmove(f->buf, f->buf + f->start, avail(f));
		f->buf_off += f->start;
		f->end -= f->start;
		f->start = 0;
	}
	if (n > f->cap) {
		size_t c = f->cap * 2 > n ? f->cap * 2 : n;
		uint8_t *b = realloc(f->buf, c);
		if (!b) {
			f->read_errno = ENOMEM;
			return false;
		}
		f->buf = b;
		f->cap = c;
	}
	while (avail(f) < n) {
		ssize_t r = read(f->fd, f->buf + f->end, f->cap - f->end);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			f->read_errno = errno;
			return false;
		}
		if (r == 0) {
			f->eof = true;
			return false;
		}
		f->end += (size_t)r;
	}
	return true;
}

static bool rd32(struct reader *r, bool be, uint32_t *v)
{
	return be ? rd_u32(r, v) : rd_le(r, 4, v);
}

static bool rd16(struct reader *r, bool be, uint16_t *v)
{
	uint32_t x;
	if (!(be ? rd_be(r, 2, &x) : rd_le(r, 2, &x)))
		return false;
	*v = (uint16_t)x;
	return true;
}

static bool rd64(struct reader *r, bool be, uint64_t *v)
{
	uint32_t a, b;
	struct reader save = *r;
	if (!rd32(r, be, &a) || !rd32(r, be, &b)) {
		*r = save;
		return false;
	}
	*v = be ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
	return true;
}

static int linktype_to_dlt(uint32_t lt)
{
	lt &= LINKTYPE_MASK;
	return lt == LINKTYPE_RAW ? DLT_RAW : (int)lt;
}

/* ---- messages --------------------------------------------------------- */

static enum pf_result fail_at(struct pcapfile *f, uint64_t at, bool packet, const char *why)
{
	snprintf(f->why, sizeof f->why, "%s at byte %llu",
		 f->read_errno ? strerror(f->read_errno) : why, (unsigned long long)at);
	if (f->read_errno && f->read_errno != ENOMEM)
		snprintf(f->msg, sizeof f->msg, "%s: read error at byte %llu (after packet %llu): %s",
			 f->name, (unsigned long long)at, (unsigned long long)f->packets,
			 strerror(f->read_errno));
	else if (packet)
		snprintf(f->msg, sizeof f->msg, "%s: packet %llu at byte %llu: %s; the file is "
			 "damaged there and the report covers the %llu packets before it",
			 f->name, (unsigned long long)f->packets + 1, (unsigned long long)at, why,
			 (unsigned long long)f->packets);
	else
		snprintf(f->msg, sizeof f->msg, "%s: block at byte %llu (after packet %llu): %s; "
			 "the file is damaged there and the report covers the packets before it",
			 f->name, (unsigned long long)at, (unsigned long long)f->packets, why);
	return PF_ERROR;
}

/* The file ended at `at` inside a record that wanted `want` bytes. */
static enum pf_result ended_inside(struct pcapfile *f, uint64_t at, uint64_t want)
{
	if (f->read_errno)
		return fail_at(f, at, true, "read error");
	snprintf(f->why, sizeof f->why, "truncated at byte %llu", (unsigned long long)at);
	snprintf(f->msg, sizeof f->msg, "%s: truncated: the file ends inside its last record "
		 "(at byte %llu, %zu of %llu bytes there), as a capture copied while it was being "
		 "written does; the report covers the %llu packets before it", f->name,
		 (unsigned long long)at, avail(f), (unsigned long long)want,
		 (unsigned long long)f->packets);
	return PF_TRUNCATED;
}

/* Nothing more: a clean end, or the end inside a header. */
static enum pf_result end_or_cut(struct pcapfile *f, size_t header)
{
	if (f->read_errno)
		return fail_at(f, offset_now(f), false, "read error");
	if (avail(f) == 0)
		return PF_END;
	return ended_inside(f, offset_now(f), header);
}

static void fill_frame(struct pcapfile *f, struct cap_frame *fr, uint64_t ts_us,
		       const uint8_t *data, uint32_t caplen, uint32_t len, int dlt,
		       uint32_t snaplen, uint32_t iface)
{
	f->packets++;
	f->last_ts_us = ts_us;
	f->hdr.ts.tv_sec = (time_t)(ts_us / 1000000);
	f->hdr.ts.tv_usec = (suseconds_t)(ts_us % 1000000);
	f->hdr.caplen = caplen;
	f->hdr.len = len;
	*fr = (struct cap_frame){
		.ts_us = ts_us, .caplen = caplen, .len = len, .data = data, .hdr = &f->hdr,
		.dlt = dlt, .snaplen = snaplen, .iface = iface,
	};
}

/* ---- classic pcap ----------------------------------------------------- */

static bool pcap_header(struct pcapfile *f, uint32_t magic_le, char *err, size_t errlen)
{
	struct reader r;
	uint16_t major, minor;
	uint32_t magic, zone, sigfigs, snaplen, linktype;

	f->be = magic_le != PCAP_MAGIC_US && magic_le != PCAP_MAGIC_NS &&
		magic_le != PCAP_MAGIC_KUZNETZOV;
	if (!need(f, PCAP_FILE_HEADER_BYTES)) {
		snprintf(err, errlen, "%s: not a readable pcap or pcapng file: truncated file header",
			 f->name);
		return false;
	}
	rd_init(&r, f->buf + f->start, PCAP_FILE_HEADER_BYTES);
	rd32(&r, f->be, &magic);
	rd16(&r, f->be, &major);
	rd16(&r, f->be, &minor);
	rd32(&r, f->be, &zone);
	rd32(&r, f->be, &sigfigs);
	rd32(&r, f->be, &snaplen);
	rd32(&r, f->be, &linktype);
	if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0))) {
		snprintf(err, errlen, "%s: not a readable pcap or pcapng file: unsupported pcap "
			 "version %u.%u", f->name, major, minor);
		return false;
	}
	f->start += PCAP_FILE_HEADER_BYTES;
	f->nsec = magic == PCAP_MAGIC_NS;
	f->rec_bytes = magic == PCAP_MAGIC_KUZNETZOV ? PCAP_KUZNETZOV_RECORD_BYTES
						      : PCAP_RECORD_BYTES;
	f->swapped = major == 543 || minor < 3 ? SWAPPED : minor == 3 ? MAYBE_SWAPPED
								      : NOT_SWAPPED;
	f->dlt = linktype_to_dlt(linktype);
	if (snaplen == 0 || snaplen > PF_MAX_PACKET_BYTES)
		snaplen = PF_MAX_PACKET_BYTES;
	/* Kuznetzov's patched libpcap captured Ethernet in cooked mode with a
	 * faked 14-byte header on top of the snaplen (libpcap does the same). */
	if (magic == PCAP_MAGIC_KUZNETZOV && f->dlt == DLT_EN10MB)
		snaplen += 14;
	f->snaplen = snaplen;
	f->have_iface = true;
	return true;
}

static enum pf_result pcap_next_record(struct pcapfile *f, struct cap_frame *fr)
{
	struct reader r;
	uint32_t sec, frac, caplen, len;
	uint64_t at = offset_now(f);

	if (!need(f, f->rec_bytes))
		return end_or_cut(f, f->rec_bytes);
	rd_init(&r, f->buf + f->start, f->rec_bytes);
	rd32(&r, f->be, &sec);
	rd32(&r, f->be, &frac);
	rd32(&r, f->be, &caplen);
	rd32(&r, f->be, &len);
	if (f->swapped == SWAPPED || (f->swapped == MAYBE_SWAPPED && caplen > len)) {
		uint32_t t = caplen;
		caplen = len;
		len = t;
	}
	if (caplen > PF_MAX_PACKET_BYTES) {
		char why[160];
		snprintf(why, sizeof why, "its captured length %u is over the %u-byte maximum",
			 caplen, PF_MAX_PACKET_BYTES);
		return fail_at(f, at, true, why);
	}
	if (!need(f, f->rec_bytes + caplen)) {
		if (f->eof)
			return ended_inside(f, at, f->rec_bytes + caplen);
		return fail_at(f, at, true, "read error");
	}
	const uint8_t *data = f->buf + f->start + f->rec_bytes;
	f->start += f->rec_bytes + caplen;
	/* libpcap's rule: a record longer than the snaplen is cut to it. */
	if (caplen > f->snaplen)
		caplen = f->snaplen;
	uint64_t ts = (uint64_t)sec * 1000000u + (f->nsec ? frac / 1000u : frac);
	fill_frame(f, fr, ts, data, caplen, len, f->dlt, f->snaplen, 0);
	return PF_FRAME;
}

/* ---- pcapng ----------------------------------------------------------- */

static uint64_t ng_ts_us(const struct pf_iface *i, uint64_t t)
{
	unsigned __int128 us;
	if (i->pow2) {
		us = ((unsigned __int128)t * 1000000u) >> i->exp;
	} else if (i->exp <= 6) {
		uint64_t m = 1;
		for (unsigned k = i->exp; k < 6; k++)
			m *= 10;
		us = (unsigned __int128)t * m;
	} else {
		uint64_t d = 1;
		for (unsigned k = 6; k < i->exp; k++)
			d *= 10;
		us = t / d;
	}
	/* if_tsoffset is whole seconds, signed; 128 bits hold any sum. */
	__int128 all = (__int128)us + (__int128)i->tsoffset_s * 1000000;
	if (all < 0)
		return 0;
	return all > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)all;
}

/* The SHB's body after its byte-order magic: version, section length, options. */
static bool ng_section(struct pcapfile *f, struct reader *body, const char **why)
{
	uint16_t major, minor;
	if (!rd16(body, f->be, &major) || !rd16(body, f->be, &minor) || !rd_skip(body, 8)) {
		*why = "Section Header Block too short";
		return false;
	}
	if (major != 1) {
		*why = "Section Header Block of an unsupported pcapng version";
		return false;
	}
	f->n_ifaces = 0;          /* a new section has interfaces of its own */
	return true;
}

static bool ng_interface(struct pcapfile *f, struct reader *body, const char **why)
{
	uint16_t lt, reserved;
	uint32_t snaplen;
	struct pf_iface i = { .exp = 6 };

	if (!rd16(body, f->be, &lt) || !rd16(body, f->be, &reserved) ||
	    !rd32(body, f->be, &snaplen)) {
		*why = "Interface Description Block too short";
		return false;
	}
	i.dlt = linktype_to_dlt(lt);
	i.snaplen = snaplen;
	while (rd_left(body)) {
		uint16_t code, len;
		struct reader val;
		if (!rd16(body, f->be, &code) || !rd16(body, f->be, &len) ||
		    !rd_sub(body, len, &val) || !rd_skip(body, (4u - len % 4u) % 4u)) {
			*why = "Interface Description Block options run past the block";
			return false;
		}
		if (code == PCAPNG_OPT_ENDOFOPT)
			break;
		if (code == PCAPNG_IF_TSRESOL && len == 1) {
			uint8_t v = 0;
			rd_u8(&val, &v);
			i.pow2 = v & 0x80;
			i.exp = v & 0x7f;
			if ((i.pow2 && i.exp > 63) || (!i.pow2 && i.exp > 19)) {
				*why = "if_tsresol finer than a 64-bit timestamp can count";
				return false;
			}
		} else if (code == PCAPNG_IF_TSOFFSET && len == 8) {
			uint64_t v = 0;
			rd64(&val, f->be, &v);
			i.tsoffset_s = (int64_t)v;
		}
	}
	if (f->n_ifaces == f->cap_ifaces) {
		size_t c = f->cap_ifaces ? f->cap_ifaces * 2 : 4;
		struct pf_iface *n = realloc(f->ifaces, c * sizeof *n);
		if (!n) {
			*why = "out of memory for interfaces";
			return false;
		}
		f->ifaces = n;
		f->cap_ifaces = c;
	}
	f->ifaces[f->n_ifaces++] = i;
	if (!f->have_iface) {
		f->have_iface = true;
		f->dlt = i.dlt;
		f->snaplen = i.snaplen;
	}
	return true;
}

static const struct pf_iface *ng_iface(const struct pcapfile *f, uint32_t id, char *why,
				       size_t whylen)
{
	if (id < f->n_ifaces)
		return &f->ifaces[id];
	if (f->n_ifaces == 0) {
		snprintf(why, whylen, "a packet before any Interface Description Block");
		return NULL;
	}
	snprintf(why, whylen, "it names interface %u, and its section describes %zu", id,
		 f->n_ifaces);
	return NULL;
}

/* One block: PF_FRAME when it is a packet, PF_END/PF_TRUNCATED/PF_ERROR,
 * or (for every other block) PF_END with *again set. */
static enum pf_result ng_block(struct pcapfile *f, struct cap_frame *fr, bool *again)
{
	struct reader r, body;
	uint32_t type, total, trailing, bom;
	uint64_t at = offset_now(f);
	const char *why = NULL;
	char whybuf[160];

	*again = false;
	if (!need(f, 8))
		return end_or_cut(f, 8);
	rd_init(&r, f->buf + f->start, 8);
	rd32(&r, f->be, &type);
	if (type == PCAPNG_SHB) {
		/* Its byte-order magic says how to read its own length. */
		if (!need(f, 12))
			return end_or_cut(f, 12);
		rd_init(&r, f->buf + f->start + 8, 4);
		rd_u32(&r, &bom);
		if (bom == PCAPNG_BYTE_ORDER_MAGIC)
			f->be = true;
		else if (__builtin_bswap32(bom) == PCAPNG_BYTE_ORDER_MAGIC)
			f->be = false;
		else
			return fail_at(f, at, false, "a Section Header Block without the byte-order magic");
	}
	rd_init(&r, f->buf + f->start + 4, 4);
	rd32(&r, f->be, &total);
	if (total < 12 || total % 4) {
		snprintf(whybuf, sizeof whybuf, "its length %u is under 12 or not a multiple of 4",
			 total);
		return fail_at(f, at, false, whybuf);
	}
	if (total > PF_MAX_BLOCK_BYTES) {
		snprintf(whybuf, sizeof whybuf, "its length %u is over the %u-byte limit", total,
			 PF_MAX_BLOCK_BYTES);
		return fail_at(f, at, false, whybuf);
	}
	if (!need(f, total)) {
		if (f->eof)
			return ended_inside(f, at, total);
		return fail_at(f, at, false, "read error");
	}
	rd_init(&r, f->buf + f->start + total - 4, 4);
	rd32(&r, f->be, &trailing);
	if (trailing != total) {
		snprintf(whybuf, sizeof whybuf, "its trailing length %u differs from its leading "
			 "length %u", trailing, total);
		return fail_at(f, at, false, whybuf);
	}
	rd_init(&body, f->buf + f->start + 8, total - 12);
	f->start += total;        /* the bytes stay in the buffer until the next need() */

	switch (type) {
	case PCAPNG_SHB:
		rd_skip(&body, 4);
		if (!ng_section(f, &body, &why))
			return fail_at(f, at, false, why);
		break;
	case PCAPNG_IDB:
		if (!ng_interface(f, &body, &why))
			return fail_at(f, at, false, why);
		break;
	case PCAPNG_EPB:
	case PCAPNG_PB: {
		uint32_t id, hi, lo, caplen, len;
		uint16_t id16, drops;
		const uint8_t *data;
		bool ok;
		if (type == PCAPNG_EPB) {
			ok = rd32(&body, f->be, &id);
		} else {
			ok = rd16(&body, f->be, &id16) && rd16(&body, f->be, &drops);
			id = id16;
		}
		if (!ok || !rd32(&body, f->be, &hi) || !rd32(&body, f->be, &lo) ||
		    !rd32(&body, f->be, &caplen) || !rd32(&body, f->be, &len))
			return fail_at(f, at, true, "a packet block too short for its fields");
		const struct pf_iface *i = ng_iface(f, id, whybuf, sizeof whybuf);
		if (!i)
			return fail_at(f, at, true, whybuf);
		if (!rd_bytes(&body, caplen, &data))
			return fail_at(f, at, true, "its captured length runs past the block");
		fill_frame(f, fr, ng_ts_us(i, (uint64_t)hi << 32 | lo), data, caplen, len, i->dlt,
			   i->snaplen, id);
		return PF_FRAME;
	}
	case PCAPNG_SPB: {
		uint32_t len;
		const uint8_t *data;
		if (!rd32(&body, f->be, &len))
			return fail_at(f, at, true, "a Simple Packet Block too short for its fields");
		const struct pf_iface *i = ng_iface(f, 0, whybuf, sizeof whybuf);
		if (!i)
			return fail_at(f, at, true, whybuf);
		uint32_t caplen = i->snaplen && i->snaplen < len ? i->snaplen : len;
		if (!rd_bytes(&body, caplen, &data))
			return fail_at(f, at, true, "its packet runs past the block");
		fill_frame(f, fr, f->last_ts_us, data, caplen, len, i->dlt, i->snaplen, 0);
		return PF_FRAME;
	}
	case PCAPNG_DSB: {
		uint32_t stype, len;
		const uint8_t *p;
		if (!rd32(&body, f->be, &stype) || !rd32(&body, f->be, &len) ||
		    !rd_bytes(&body, len, &p))
			return fail_at(f, at, false, "a Decryption Secrets Block whose secrets run past it");
		if (f->secrets)
			f->secrets(f->user, stype, p, len);
		break;
	}
	default:
		break;                /* NRB, ISB, custom and unknown blocks */
	}
	*again = true;
	return PF_END;
}

static enum pf_result ng_next(struct pcapfile *f, struct cap_frame *fr)
{
	for (;;) {
		bool again;
		enum pf_result r = ng_block(f, fr, &again);
		if (!again)
			return r;
	}
}

/* ---- the interface ---------------------------------------------------- */

struct pcapfile *pf_open(int fd, const char *name, const struct cap_offline_options *o,
			 char *err, size_t errlen)
{
	struct pcapfile *f = calloc(1, sizeof *f);
	size_t size = PF_READ_BYTES;
	if (f && o && o->buf_get) {
		f->buf_get = o->buf_get;
		f->buf_put = o->buf_put;
		f->buf_user = o->buf_user;
	}
	if (!f || !(f->buf = f->buf_get ? f->buf_get(f->buf_user, &size) : malloc(size))) {
		snprintf(err, errlen, "%s: out of memory", name);
		free(f);
		if (fd > 0)
			close(fd);
		return NULL;
	}
	f->fd = fd;
	f->cap = size;
	snprintf(f->name, sizeof f->name, "%s", name);
	if (o) {
		f->secrets = o->secrets;
		f->user = o->user;
	}
	struct reader r;
	uint32_t magic;
	if (!need(f, 4)) {
		snprintf(err, errlen, "%s: not a readable pcap or pcapng file: %s", f->name,
			 f->read_errno ? strerror(f->read_errno)
				       : avail(f) ? "truncated file header" : "the file is empty");
		pf_close(f);
		return NULL;
	}
	rd_init(&r, f->buf + f->start, 4);
	rd_le(&r, 4, &magic);
	if (magic == PCAPNG_SHB) {
		f->ng = true;
		struct cap_frame fr;
		/* Up to the first interface: its link type is the file's, for
		 * the caller's checks; no packet can come before it. */
		while (!f->have_iface) {
			bool again;
			uint64_t at = offset_now(f);
			enum pf_result res = ng_block(f, &fr, &again);
			if (res == PF_FRAME)
				snprintf(f->why, sizeof f->why, "a packet before any Interface "
					 "Description Block, at byte %llu", (unsigned long long)at);
			else if (res == PF_END && !again)
				snprintf(f->why, sizeof f->why, "no Interface Description Block");
			if (res != PF_END || !again) {
				snprintf(err, errlen, "%s: not a readable pcap or pcapng file: %s",
					 f->name, f->why);
				pf_close(f);
				return NULL;
			}
		}
		return f;
	}
	uint32_t swapped = __builtin_bswap32(magic);
	if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS && magic != PCAP_MAGIC_KUZNETZOV &&
	    swapped != PCAP_MAGIC_US && swapped != PCAP_MAGIC_NS && swapped != PCAP_MAGIC_KUZNETZOV) {
		snprintf(err, errlen, "%s: not a readable pcap or pcapng file: unknown file format",
			 f->name);
		pf_close(f);
		return NULL;
	}
	if (!pcap_header(f, magic, err, errlen)) {
		pf_close(f);
		return NULL;
	}
	return f;
}

enum pf_result pf_next(struct pcapfile *f, struct cap_frame *fr)
{
	return f->ng ? ng_next(f, fr) : pcap_next_record(f, fr);
}

const char *pf_message(const struct pcapfile *f) { return f->msg; }
int pf_linktype(const struct pcapfile *f) { return f->dlt; }
uint32_t pf_snaplen(const struct pcapfile *f) { return f->snaplen; }
uint64_t pf_offset(const struct pcapfile *f) { return offset_now(f); }
uint64_t pf_packets(const struct pcapfile *f) { return f->packets; }

void pf_close(struct pcapfile *f)
{
	if (!f)
		return;
	if (f->fd > 0)
		close(f->fd);
	free(f->ifaces);
	if (f->buf_put)
		f->buf_put(f->buf_user, f->buf);
	else
		free(f->buf);
	free(f);
}
