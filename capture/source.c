/*
 * source.c — packet sources behind one interface: offline files (pcap and
 * pcapng, "-" for stdin) through our own reader (pcapfile.c), and live
 * interfaces through libpcap.
 *
 * A live source never blocks for long: the handle is non-blocking and
 * cap_next_batch() waits for it with poll() on pcap_get_selectable_fd(),
 * at most CAP_LIVE_WAKE_MS.  With TPACKET_V3 libpcap's own read would
 * block until the kernel retires a block, which on an idle link is never;
 * polling lets the caller's clock (stats events, live findings, key log
 * follow, --duration) run on an idle link too.  A signal ends the wait at
 * once (poll returns EINTR).
 *
 * Every timestamp downstream is in µs; each frame carries the link type and
 * snaplen of the interface it came from.  A file whose first interface has a
 * link type decode.c cannot read is refused at open, naming the link type,
 * rather than producing a run that silently sees nothing; a later pcapng
 * interface of such a type gives packets decode.c counts as malformed.
 *
 * Several live handles on one interface share its packets by flow through
 * Linux's PACKET_FANOUT (cap_join_fanout): libpcap opens and activates each
 * handle as usual, TPACKET_V3 ring and all, and the handle's socket then
 * joins the group, so the kernel hands each packet to one member.  A source
 * that joins nothing is the plain single handle, unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

#include "capture/capture.h"
#include "capture/pcapfile.h"

struct cap_source {
	pcap_t *pcap;             /* live; offline only for -w (pcap_open_dead) */
	struct pcapfile *file;    /* offline */
	int dlt;
	uint32_t snaplen;
	bool live;
	bool fanout;              /* live: joined a fanout group */
	int select_fd;            /* live: pcap_get_selectable_fd, -1 none */
	bool stop;                /* cap_break on a file */
	bool truncated;
	char name[256];
	char error[PCAP_ERRBUF_SIZE + 600];
	uint64_t file_bytes;
	cap_frame_fn fn;
	void *user;
};

static const int supported_dlts[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
	DLT_RAW, DLT_IPV4, DLT_IPV6,
#ifdef DLT_RAW_ALT
	DLT_RAW_ALT,
#endif
};

bool cap_linktype_supported(int dlt)
{
	for (size_t i = 0; i < sizeof supported_dlts / sizeof supported_dlts[0]; i++)
		if (supported_dlts[i] == dlt)
			return true;
	/* Some systems number raw IP 14 (OpenBSD) where Linux says 12. */
	return dlt == 14;
}

static const char *dlt_name(int dlt, char *buf, size_t len)
{
	const char *n = pcap_datalink_val_to_name(dlt);
	if (n)
		snprintf(buf, len, "%s (%d)", n, dlt);
	else
		snprintf(buf, len, "%d", dlt);
	return buf;
}

struct cap_source *cap_open_offline(const char *path, char *err, size_t errlen)
{
	return cap_open_offline_with(path, NULL, err, errlen);
}

struct cap_source *cap_open_offline_with(const char *path, const struct cap_offline_options *o,
					 char *err, size_t errlen)
{
	int fd = 0;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
			return NULL;
		}
	}
	return cap_open_offline_fd(fd, path, o, err, errlen);
}

struct cap_source *cap_open_offline_fd(int fd, const char *path,
				       const struct cap_offline_options *o,
				       char *err, size_t errlen)
{
	struct cap_source *s = calloc(1, sizeof *s);
	bool is_stdin = fd == 0;
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		if (!is_stdin)
			close(fd);
		return NULL;
	}
	snprintf(s->name, sizeof s->name, "%s", is_stdin ? "(stdin)" : path);
	if (!is_stdin) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			s->file_bytes = (uint64_t)st.st_size;
	}
	/* pf_open owns fd from here, on failure too */
	s->file = pf_open(fd, s->name, o, err, errlen);
	if (!s->file) {
		free(s);
		return NULL;
	}
	s->dlt = pf_linktype(s->file);
	s->snaplen = pf_snaplen(s->file);
	if (!cap_linktype_supported(s->dlt)) {
		char b[96];
		snprintf(err, errlen, "%s: link type %s is not supported (supported: "
			 "EN10MB, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW, IPV4, IPV6)",
			 s->name, dlt_name(s->dlt, b, sizeof b));
		pf_close(s->file);
		free(s);
		return NULL;
	}
	return s;
}

struct cap_source *cap_open_live(const struct cap_live_options *o, char *err,
				 size_t errlen, char *warn, size_t warnlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct cap_source *s = calloc(1, sizeof *s);
	if (warn && warnlen)
		warn[0] = 0;
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", o->iface);
		return NULL;
	}
	s->live = true;
	snprintf(s->name, sizeof s->name, "%s", o->iface);
	s->pcap = pcap_create(o->iface, perr);
	if (!s->pcap) {
		snprintf(err, errlen, "%s: %s", o->iface, perr);
		free(s);
		return NULL;
	}
	pcap_set_snaplen(s->pcap, o->snaplen > 0 ? o->snaplen : 262144);
	pcap_set_promisc(s->pcap, o->promisc ? 1 : 0);
	/* Not immediate mode: the kernel then hands over blocks of packets
	 * (TPACKET_V3) when a block fills or the 100 ms timeout passes, one
	 * wake-up for many packets.  Immediate mode woke us for each packet and
	 * dropped 5 % at 960 Mbit/s of bulk TLS (tests/bench/live-rate.sh);
	 * blocks keep up at 1 Gbit/s with no drops. */
	pcap_set_immediate_mode(s->pcap, 0);
	pcap_set_buffer_size(s->pcap, (o->buffer_kib > 0 ? o->buffer_kib : 65536) * 1024);
	pcap_set_timeout(s->pcap, 100);
	pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_MICRO);
	int rc = pcap_activate(s->pcap);
	if (rc < 0) {
		const char *why = pcap_geterr(s->pcap);
		const char *hint = "";
		if (rc == PCAP_ERROR_PERM_DENIED)
			hint = " (run as root or give the binary CAP_NET_RAW: setcap cap_net_raw,cap_net_admin=eip certtrace)";
		else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			hint = " (certtrace -D lists the interfaces)";
		const char *status = pcap_statustostr(rc);
		bool same = !why || !*why || strcmp(why, status) == 0;
		snprintf(err, errlen, "%s: cannot capture: %s%s%s", o->iface,
			 status, same ? "" : ": ", same ? "" : why);
		strncat(err, hint, errlen - strlen(err) - 1);
		pcap_close(s->pcap);
		free(s);
		return NULL;
	}
	if (rc > 0 && warn)
		snprintf(warn, warnlen, "%s: warning: %s: %s", o->iface,
			 pcap_statustostr(rc), pcap_geterr(s->pcap));
	s->dlt = pcap_datalink(s->pcap);
	s->snaplen = (uint32_t)pcap_snapshot(s->pcap);
	s->select_fd = pcap_get_selectable_fd(s->pcap);
	if (s->select_fd >= 0 && pcap_setnonblock(s->pcap, 1, perr) < 0)
		s->select_fd = -1;        /* blocking reads, woken by the timeout */
	if (!cap_linktype_supported(s->dlt)) {
		char b[96];
		snprintf(err, errlen, "%s: link type %s is not supported", o->iface,
			 dlt_name(s->dlt, b, sizeof b));
		pcap_close(s->pcap);
		free(s);
		return NULL;
	}
	if (o->filter && *o->filter) {
		struct bpf_program prog;
		if (pcap_compile(s->pcap, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			snprintf(err, errlen, "%s: bad capture filter \"%s\": %s", o->iface,
				 o->filter, pcap_geterr(s->pcap));
			pcap_close(s->pcap);
			free(s);
			return NULL;
		}
		rc = pcap_setfilter(s->pcap, &prog);
		pcap_freecode(&prog);
		if (rc < 0) {
			snprintf(err, errlen, "%s: cannot set filter: %s", o->iface,
				 pcap_geterr(s->pcap));
			pcap_close(s->pcap);
			free(s);
			return NULL;
		}
	}
	return s;
}

static void on_pcap(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct cap_source *s = (struct cap_source *)user;
	struct cap_frame f = {
		.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
		.caplen = h->caplen,
		.len = h->len,
		.data = bytes,
		.hdr = h,
		.dlt = s->dlt,
		.snaplen = s->snaplen,
	};
	s->fn(s->user, &f);
}

static int next_from_file(struct cap_source *s, int max, cap_frame_fn fn, void *user)
{
	int n = 0;
	if (s->stop)
		return -1;
	while (n < max) {
		struct cap_frame f;
		switch (pf_next(s->file, &f)) {
		case PF_FRAME:
			fn(user, &f);
			n++;
			if (s->stop)
				return n;
			continue;
		case PF_TRUNCATED:
			s->truncated = true;
			snprintf(s->error, sizeof s->error, "%s", pf_message(s->file));
			/* fall through */
		case PF_END:
			return n ? n : -1;
		case PF_ERROR:
			snprintf(s->error, sizeof s->error, "%s", pf_message(s->file));
			return -2;
		}
	}
	return n;
}

int cap_next_batch(struct cap_source *s, int max, cap_frame_fn fn, void *user)
{
	if (s->file)
		return next_from_file(s, max, fn, user);
	s->fn = fn;
	s->user = user;
	if (s->live && s->select_fd >= 0) {
		struct pollfd pfd = { .fd = s->select_fd, .events = POLLIN };
		int rc = poll(&pfd, 1, CAP_LIVE_WAKE_MS);
		if (rc < 0 && errno != EINTR) {
			snprintf(s->error, sizeof s->error, "%s: poll: %s", s->name, strerror(errno));
			return -2;
		}
		if (rc <= 0)
			return 0;         /* nothing yet: the caller's clock runs */
	}
	int n = pcap_dispatch(s->pcap, max, on_pcap, (u_char *)s);
	if (n == PCAP_ERROR) {
		snprintf(s->error, sizeof s->error, "%s: read error: %s", s->name,
			 pcap_geterr(s->pcap));
		return -2;
	}
	if (n == PCAP_ERROR_BREAK)
		return -1;
	if (n == 0 && !s->live)
		return -1;
	return n;
}

void cap_break(struct cap_source *s)
{
	if (s->file)
		s->stop = true;
	else
		pcap_breakloop(s->pcap);
}

void cap_get_stats(struct cap_source *s, struct cap_stats *st)
{
	memset(st, 0, sizeof *st);
	st->live = s->live;
	if (s->live) {
		struct pcap_stat ps;
		if (pcap_stats(s->pcap, &ps) == 0) {
			st->received = ps.ps_recv;
			st->dropped = ps.ps_drop;
			st->ifdropped = ps.ps_ifdrop;
		}
	} else if (s->file) {
		st->file_bytes = s->file_bytes;
		st->file_offset = pf_offset(s->file);
		st->frames = pf_packets(s->file);
	}
}

void cap_stats_add(struct cap_stats *sum, const struct cap_stats *one)
{
	sum->live = sum->live || one->live;
	sum->received += one->received;
	sum->dropped += one->dropped;
	/* libpcap reads the interface's own drop counters (sysfs): every
	 * handle on the interface reports the same drops, so they are not
	 * added up.  Handles opened at different moments differ by what the
	 * interface dropped between: the largest is the longest view. */
	if (one->ifdropped > sum->ifdropped)
		sum->ifdropped = one->ifdropped;
}

#if defined(__linux__) && defined(PACKET_FANOUT)
/* The kernel's word for a fanout group: id in the low 16 bits, mode and
 * flags in the high 16 (packet(7)). */
static bool fanout_set(struct cap_source *s, uint16_t id, uint32_t mode, char *err,
		       size_t errlen)
{
	int fd = pcap_fileno(s->pcap);
	uint32_t arg = (uint32_t)id | mode << 16;
	if (fd < 0) {
		snprintf(err, errlen, "%s: fanout: the capture handle has no socket", s->name);
		return false;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) == 0) {
		s->fanout = true;
		return true;
	}
	switch (errno) {
	case EINVAL:
		snprintf(err, errlen, "%s: the kernel refused fanout group %u: a group of that id "
			 "exists in this network namespace on another interface or with other "
			 "settings (another capture process?)", s->name, (unsigned)id);
		break;
	case ENOSPC:
		snprintf(err, errlen, "%s: the kernel refused fanout group %u: the group is full",
			 s->name, (unsigned)id);
		break;
	case EALREADY:
		snprintf(err, errlen, "%s: the capture handle is in a fanout group already",
			 s->name);
		break;
	default:
		snprintf(err, errlen, "%s: the kernel refused fanout group %u: %s", s->name,
			 (unsigned)id, strerror(errno));
		break;
	}
	return false;
}

static bool fanout_ready(struct cap_source *s, char *err, size_t errlen)
{
	if (!s->live || !s->pcap) {
		snprintf(err, errlen, "%s: fanout needs a live capture, not a file", s->name);
		return false;
	}
	return true;
}

bool cap_join_fanout(struct cap_source *s, uint16_t group, char *err, size_t errlen)
{
	return fanout_ready(s, err, errlen) &&
	       fanout_set(s, group, PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG, err, errlen);
}

bool cap_new_fanout(struct cap_source *s, uint16_t *group, char *err, size_t errlen)
{
	if (!fanout_ready(s, err, errlen) ||
	    !fanout_set(s, 0, PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG |
			PACKET_FANOUT_FLAG_UNIQUEID, err, errlen))
		return false;
	/* The kernel picked the id: it reads back with the mode. */
	uint32_t arg = 0;
	socklen_t len = sizeof arg;
	if (getsockopt(pcap_fileno(s->pcap), SOL_PACKET, PACKET_FANOUT, &arg, &len) < 0) {
		snprintf(err, errlen, "%s: cannot read the fanout group back: %s", s->name,
			 strerror(errno));
		return false;
	}
	*group = (uint16_t)(arg & 0xffffu);
	return true;
}
#else
bool cap_join_fanout(struct cap_source *s, uint16_t group, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: several capture handles on one interface need Linux's "
		 "PACKET_FANOUT, which this system lacks", s->name);
	return false;
}

bool cap_new_fanout(struct cap_source *s, uint16_t *group, char *err, size_t errlen)
{
	return cap_join_fanout(s, 0, err, errlen);
}
#endif

bool cap_in_fanout(const struct cap_source *s) { return s->fanout; }

int cap_linktype(const struct cap_source *s) { return s->dlt; }

pcap_t *cap_pcap(struct cap_source *s)
{
	/* -w on a file: a dead handle with the first interface's link type. */
	if (!s->pcap && s->file)
		s->pcap = pcap_open_dead(s->dlt, s->snaplen ? (int)s->snaplen : 262144);
	return s->pcap;
}

const char *cap_name(const struct cap_source *s) { return s->name; }
const char *cap_error(const struct cap_source *s) { return s->error; }
const char *cap_truncated(const struct cap_source *s) { return s->truncated ? s->error : NULL; }

void cap_close(struct cap_source *s)
{
	if (!s)
		return;
	if (s->pcap)
		pcap_close(s->pcap);
	pf_close(s->file);
	free(s);
}
