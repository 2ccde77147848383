/*
 * capture.h — the capture room: packet sources, link/IP/TCP decode, the flow
 * table and TCP reassembly.  It hands each TCP direction's bytes, in
 * sequence order, to a consumer; it does not know TLS exists.
 *
 *   source ──packet──▶ cap_decode ──▶ flow table ──bytes──▶ consumer
 *
 * Memory: a flow costs a fixed 104-byte slot for its whole life; its
 * reassembly state and the consumer's per-flow state exist only while the
 * consumer is interested (see reasm.c and flow.c for the caps).
 */
#ifndef CERTTRACE_CAPTURE_H
#define CERTTRACE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

/* ---- sources ------------------------------------------------------------ */

struct cap_frame {                /* one packet as the source delivered it */
	uint64_t ts_us;           /* capture time, microseconds since 1970 */
	uint32_t caplen;          /* bytes present */
	uint32_t len;             /* bytes on the wire */
	const uint8_t *data;
	const struct pcap_pkthdr *hdr;   /* for pcap_dump (-w) */
	int dlt;                  /* link type of the interface it came from: a
				   * pcapng file may hold several (DLT_ values) */
	uint32_t snaplen;         /* that interface's snaplen, 0 if none is set */
	uint32_t iface;           /* pcapng interface id; 0 for pcap and live */
};

struct cap_live_options {
	const char *iface;
	const char *filter;       /* BPF expression, NULL for none */
	int snaplen;              /* default 262144 */
	bool promisc;             /* default true, -p turns it off */
	int buffer_kib;           /* -B, default 65536 */
};

struct cap_stats {
	bool live;
	uint64_t received, dropped, ifdropped;   /* pcap_stats, live only */
	uint64_t file_bytes, file_offset;        /* offline progress */
	uint64_t frames;                         /* offline: packets read so far */
};

typedef void (*cap_frame_fn)(void *user, const struct cap_frame *f);

/* pcapng Decryption Secrets Block: secrets_type (CAP_SECRETS_TLS_KEYLOG for
 * an NSS key log) and its bytes, valid during the call.  A file's DSBs are
 * handed over as the reader meets them, so before the packets after them
 * (editcap --inject-secrets writes them before the first packet). */
#define CAP_SECRETS_TLS_KEYLOG 0x544c534bu   /* "TLSK" */
typedef void (*cap_secrets_fn)(void *user, uint32_t secrets_type, const uint8_t *p,
			       size_t n);

struct cap_offline_options {
	cap_secrets_fn secrets;   /* NULL: DSBs are skipped */
	void *user;
	/* Where the reader's buffers come from (certtrace --threads, whose
	 * workers read frames after the reader has moved on): buf_get returns
	 * one of at least *size bytes and says its size in *size (NULL: out of
	 * memory), and a buffer the reader has read past goes to buf_put, so
	 * the frames in it stay valid until the owner reuses it.  NULL: the
	 * reader's own buffer, and a frame is valid during the call only. */
	uint8_t *(*buf_get)(void *buf_user, size_t *size);
	void (*buf_put)(void *buf_user, uint8_t *buf);
	void *buf_user;
};

struct cap_source;

/* path "-" is standard input.  pcap (micro- and nanosecond, both byte orders,
 * the modified formats libpcap reads) and pcapng are read by our own reader
 * (pcapfile.c).  NULL with a one-line reason in err (naming the file and, for
 * a refused link type, its name). */
struct cap_source *cap_open_offline(const char *path, char *err, size_t errlen);
struct cap_source *cap_open_offline_with(const char *path, const struct cap_offline_options *o,
					 char *err, size_t errlen);
/* The same from a descriptor already open (certtrace -Z opens every input
 * before it drops privileges, and parses none before): the source takes fd
 * over, closing it even when it fails; 0 is standard input.  path names it in
 * messages. */
struct cap_source *cap_open_offline_fd(int fd, const char *path,
				       const struct cap_offline_options *o,
				       char *err, size_t errlen);
struct cap_source *cap_open_live(const struct cap_live_options *o, char *err,
				 size_t errlen, char *warn, size_t warnlen);

/* A live source waits at most this long for packets in cap_next_batch(),
 * so the caller's timers run on an idle link (source.c). */
#define CAP_LIVE_WAKE_MS 100

/* Up to `max` frames to fn.  Returns the number delivered (0: none ready on a
 * live source within CAP_LIVE_WAKE_MS), -1 at the end of a file (cap_truncated says whether it ended
 * inside its last record), -2 when the file cannot be read on (cap_error names
 * the file, the packet number and the byte offset where reading stopped). */
int cap_next_batch(struct cap_source *s, int max, cap_frame_fn fn, void *user);
void cap_break(struct cap_source *s);      /* safe from a signal handler */
void cap_get_stats(struct cap_source *s, struct cap_stats *st);
/* Live stats of one handle: received and dropped count only the packets the
 * kernel handed to this handle's socket (PACKET_STATISTICS is per socket), so
 * the handles of a fanout group add up to the interface's traffic.
 * ifdropped is the interface's own drop counter, the same whichever handle
 * reads it.  cap_stats_add() adds `one` into `sum` that way: received and
 * dropped summed, ifdropped the largest (not summed). */
void cap_stats_add(struct cap_stats *sum, const struct cap_stats *one);

/* Several live handles on one interface, each given its share of the
 * packets by the kernel (Linux PACKET_FANOUT, mode PACKET_FANOUT_HASH with
 * PACKET_FANOUT_FLAG_DEFRAG): open each handle with cap_open_live() as
 * usual, then join every one to the same group, one thread per handle.  A
 * handle that joins nothing is the single-handle capture, unchanged.
 *
 * cap_new_fanout() joins s to a new group whose id the kernel picks among
 * the ids no group in this network namespace uses, and writes it to *group;
 * cap_join_fanout() joins s to group `group`: call it with that id for the
 * other handles.  (An id of the caller's own choosing, e.g. from getpid(),
 * works too, but two captures in one network namespace whose ids meet, such
 * as containers sharing the host's network with their own pid spaces, join
 * one group and silently split the traffic between them; the kernel's pick
 * cannot meet a group that exists.)  Both: false with a one-line reason in
 * err (not Linux, not a live source, the kernel refused: a group of that id
 * exists on another interface or with other settings, or is full at 256
 * members, or the handle is in a group already).
 *
 * Which handle gets a packet: the kernel's symmetric flow hash
 * (__skb_get_hash_symmetric: the flow dissector's addresses and ports,
 * sorted, so both directions of a TCP connection give the same hash) modulo
 * the number of members.  Hence:
 *  - Join every handle before traffic matters.  The member count is in the
 *    modulo: while the group grows (or when a handle closes early) flows are
 *    dealt again and a connection can be seen in pieces.  And a handle
 *    receives everything on the interface between its activation (in
 *    cap_open_live) and its join, so packets of that moment reach it and the
 *    group both: a few duplicated packets at start, of flows already running.
 *  - Every handle needs the same capture filter: the kernel picks the
 *    handle first and runs only that handle's filter.
 *  - IPv4 fragments are reassembled by the kernel before the hash (DEFRAG),
 *    so a fragmented datagram reaches one handle whole: the handles see the
 *    datagram where a single handle would see its fragments.
 *  - The hash is over the headers the kernel's flow dissector reads: IP in
 *    IP and plain GRE (IP, or Ethernet 0x6558, inside) are followed to the
 *    inner IP header and ports (from the kernel's source: this machine's
 *    kernel has neither, untested); ERSPAN (GRE 0x88BE, 0x22EB), VXLAN,
 *    Geneve and GTP-U are not, and are dealt by their OUTER header.  Known
 *    limit: a feed whose two directions arrive with different outer
 *    headers splits connections between handles, each handle seeing half
 *    of a handshake: ERSPAN from two sensors, one per side; and VXLAN
 *    between Linux ends, which pick the outer UDP source port from the
 *    sender's own flow hash, so it differs by direction (tests/fanout.sh:
 *    about half of 64 VXLAN connections split).  And one sensor's ERSPAN
 *    feed has one outer address pair and no ports: all to one handle.
 *  - IPv6 flow labels: older kernels' symmetric hash stopped at a non-zero
 *    flow label (FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL) and dealt the packet by
 *    its address pair alone, all connections between two hosts to one
 *    handle.  On 6.18 tests/fanout.sh finds IPv6 connections dealt by their
 *    ports as IPv4's are, and whole, with labels both ways and with one side
 *    sending label 0.
 * The assignment is the kernel's, seeded at boot: not the same from one
 * boot to the next, nor the same as any hash of certtrace's own. */
bool cap_new_fanout(struct cap_source *s, uint16_t *group, char *err, size_t errlen);
bool cap_join_fanout(struct cap_source *s, uint16_t group, char *err, size_t errlen);
bool cap_in_fanout(const struct cap_source *s);   /* joined a group */

/* The link type of the first interface (of a pcapng file: each frame says its own). */
int cap_linktype(const struct cap_source *s);
pcap_t *cap_pcap(struct cap_source *s);     /* for pcap_dump_open (-w) */
const char *cap_name(const struct cap_source *s);
const char *cap_error(const struct cap_source *s);
/* After -1: a one-line warning when the file ended inside its last record (a
 * capture copied while it was being written), else NULL. */
const char *cap_truncated(const struct cap_source *s);
void cap_close(struct cap_source *s);

bool cap_linktype_supported(int dlt);

/* ---- decode ------------------------------------------------------------- */

/* Tunnels and mirror encapsulations decode.c peels, as the summary names
 * them (cap_encap_name).  VLAN tags, MPLS and PPPoE are link framing, not
 * counted here. */
enum cap_encap {
	CAP_ENCAP_IP_IN_IP,       /* 4in4, 6in4, 4in6, 6in6 */
	CAP_ENCAP_GRE,            /* GRE (RFC 2784/2890) with IP, PPP or Ethernet (0x6558) inside */
	CAP_ENCAP_ERSPAN_I,       /* GRE 0x88BE without a sequence number: no header */
	CAP_ENCAP_ERSPAN_II,      /* GRE 0x88BE, 8-byte ERSPAN header */
	CAP_ENCAP_ERSPAN_III,     /* GRE 0x22EB, 12-byte header (+8 with the O bit) */
	CAP_ENCAP_VXLAN,          /* UDP 4789 (RFC 7348) */
	CAP_ENCAP_GENEVE,         /* UDP 6081 (RFC 8926) */
	CAP_ENCAP_GTP_U,          /* UDP 2152, G-PDU (3GPP TS 29.281) */
	CAP_ENCAP_CISCO_METADATA, /* ethertype 0x8909, Cisco TrustSec SGT */
	CAP_ENCAP_COUNT
};

struct cap_encap_counts {         /* packets that went through each kind */
	uint64_t packets[CAP_ENCAP_COUNT];
};

const char *cap_encap_name(enum cap_encap e);   /* "vxlan", "erspan_iii", ... */
/* Adds one packet's cap_pkt.encaps to the counts (each kind once per packet). */
void cap_encap_count(struct cap_encap_counts *c, uint16_t encaps);

struct cap_pkt {                  /* a decoded TCP segment */
	uint64_t ts_us;
	uint8_t ipv;              /* 4 or 6 */
	uint8_t src[16], dst[16]; /* v4 in the first 4 bytes, rest zero */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	const uint8_t *payload;
	uint32_t payload_len;     /* bytes present in the capture */
	uint32_t payload_wire_len;/* bytes the IP header says the segment carries */
	const uint8_t *l3;        /* the innermost IP header (for nDPI) */
	uint32_t l3_len;          /* IP bytes present, at most the IP length */
	uint16_t encaps;          /* 1 << enum cap_encap for each kind peeled; set
				   * whatever cap_decode returns */
	const struct cap_frame *frame;
};

enum {
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACK = 0x10, TCP_URG = 0x20,
};

enum cap_decode_result {
	CAP_TCP = 0,          /* out is filled */
	CAP_NOT_TCP,          /* IP but another protocol, or not IP: skipped */
	CAP_FRAGMENT,         /* an IP fragment: counted and skipped (see decode.c) */
	CAP_MALFORMED,        /* a header that lies or is cut short: *why says */
};

enum cap_decode_result cap_decode(int dlt, const struct cap_frame *fr,
				  struct cap_pkt *out, const char **why);

/* What the frames decoded so far were: the run's summary counters. */
struct cap_frame_counts {
	uint64_t packets, bytes;      /* frames, and their length on the wire */
	uint64_t truncated;           /* captured shorter than on the wire */
	uint64_t fragments;           /* IP fragments, skipped */
	uint64_t malformed;           /* skipped as malformed */
	const char *first_malformed;  /* the first one's reason */
	struct cap_encap_counts encaps;
};
/* cap_decode() of fr (its own dlt) into out, counted in c. */
enum cap_decode_result cap_decode_counted(struct cap_frame_counts *c, const struct cap_frame *fr,
					  struct cap_pkt *out, const char **why);
/* Adds one's counts into sum (the first malformed reason: sum's, else one's). */
void cap_frame_counts_add(struct cap_frame_counts *sum, const struct cap_frame_counts *one);

/* ---- flow table and reassembly ----------------------------------------- */

enum flow_dir { FLOW_FROM_CLIENT = 0, FLOW_FROM_SERVER = 1 };

enum flow_verdict { FLOW_MORE = 0, FLOW_DONE = 1 };

enum flow_close_reason {
	FLOW_CLOSE_DONE,      /* the consumer said it is finished */
	FLOW_CLOSE_FIN,       /* FIN both ways, or RST */
	FLOW_CLOSE_IDLE,      /* idle longer than idle_timeout_us */
	FLOW_CLOSE_EVICTED,   /* the table was full: longest idle evicted */
	FLOW_CLOSE_END,       /* end of input */
};

struct flow;

struct flow_consumer {
	void *ctx;
	/* Every packet of a flow the consumer is still interested in, before
	 * its bytes are reassembled (nDPI, -w).  May be NULL. */
	enum flow_verdict (*packet)(void *ctx, struct flow *f, enum flow_dir d,
				    const struct cap_pkt *p);
	/* Contiguous bytes of one direction, in sequence order. */
	enum flow_verdict (*data)(void *ctx, struct flow *f, enum flow_dir d,
				  const uint8_t *p, size_t n, uint64_t ts_us);
	/* `missing` bytes of one direction will never come. */
	enum flow_verdict (*gap)(void *ctx, struct flow *f, enum flow_dir d,
				 uint64_t missing, uint64_t ts_us);
	/* The consumer's interest ends: free its per-flow state. */
	void (*close)(void *ctx, struct flow *f, enum flow_close_reason why);
};

struct flow_options {
	uint32_t max_flows;             /* hard cap, default 1,000,000 */
	uint64_t idle_timeout_us;       /* default 300 s */
	uint32_t max_dir_buffer_bytes;  /* out-of-order bytes per direction, 256 KiB */
	uint64_t max_total_buffer_bytes;/* all flows together, default 256 MiB */
};

struct flow_counters {
	uint64_t packets;             /* TCP segments given to the table */
	uint64_t flows;               /* flows created */
	uint64_t active;              /* flows in the table now */
	uint64_t peak_active;
	uint64_t consumers_live;      /* flows holding consumer state now */
	uint64_t evicted, expired, closed;
	uint64_t syn_missed;          /* flows picked up without their SYN */
	uint64_t gaps, gap_bytes;
	uint64_t ooo_segments, retransmitted_bytes;
	uint64_t buffered_bytes, peak_buffered_bytes;
	uint64_t done_packets;        /* packets of finished flows (one lookup) */
};

struct flow_table;

/* The capture clock a flow table goes by: packets are numbered in the order
 * they come (1, 2, ...), and the time is the latest time stamp so far (one
 * that goes back does not turn it back), so a table's lists are in the same
 * order whichever of the capture's packets it sees. */
struct flow_clock {
	uint64_t seq;             /* TCP packets so far: the last one's number */
	uint64_t now_us;
	uint64_t expired_us;      /* when flows were last expired */
};
/* One more TCP packet, with time stamp ts_us: true when flows are due to be
 * expired (flow_table_expire(t, c->now_us)) before it, once per second of
 * capture time. */
bool flow_clock_tick(struct flow_clock *c, uint64_t ts_us);

struct flow_table *flow_table_new(const struct flow_options *o,
				  const struct flow_consumer *c);
void flow_table_free(struct flow_table *t);
/* True when the packet belongs to a flow still in its handshake (the consumer
 * has not said DONE before it arrived): what -w saves. */
bool flow_table_packet(struct flow_table *t, const struct cap_pkt *p);
/* The same for a table that sees only some of the capture's packets (one
 * worker's share, certtrace --threads): p is packet `seq` of the capture's
 * clock and now_us that clock's time, and the table does not expire flows
 * itself: whoever keeps the clock calls flow_table_expire() when
 * flow_clock_tick() says, so every table expires at the same packets as one
 * table fed the whole capture would. */
bool flow_table_packet_at(struct flow_table *t, const struct cap_pkt *p, uint64_t seq,
			  uint64_t now_us);
/* Tables that share one cap (max_flows counts the flows of all of them):
 * each counts its flows in *active too, and one that finds the shared count
 * at the cap evicts its own longest-idle flow.  Set before the first packet. */
void flow_table_share_cap(struct flow_table *t, _Atomic uint64_t *active);
/* Expire flows idle at capture time now_us; called as time passes. */
void flow_table_expire(struct flow_table *t, uint64_t now_us);
/* The consumer is finished with f, outside a callback (something else than
 * the flow's bytes settled it, such as a key log line): as if a callback had
 * said FLOW_DONE, close() is called and the flow keeps only its slot. */
void flow_table_done(struct flow_table *t, struct flow *f);
/* End of input: deliver what is buffered (with gaps), close every flow. */
void flow_table_finish(struct flow_table *t);
const struct flow_counters *flow_table_counters(const struct flow_table *t);
void flow_options_default(struct flow_options *o);

/* What a consumer may ask of a flow. */
/* Segments of the flow that the capture's snaplen cut (the frame's caplen
 * under its length, and fewer payload bytes present than the IP header says),
 * counted while the consumer is interested: read it in close() to tell "cut
 * by the snaplen" from other gaps.  *snaplen (may be NULL) gets the snaplen of
 * the interface the last of them came from, 0 when the file names none. */
uint32_t flow_cut_packets(const struct flow *f, uint32_t *snaplen);
void *flow_user(const struct flow *f);
void flow_set_user(struct flow *f, void *user);
bool flow_syn_seen(const struct flow *f);
uint64_t flow_first_us(const struct flow *f);
/* The number (flow_clock) of the packet that last moved the flow on its
 * table's lists: its creation, its last packet, or the FIN or RST that closed
 * it.  Flows expire, and are closed at the end, in this order. */
uint64_t flow_seq(const struct flow *f);
/* Closed by a FIN both ways or a RST, lingering for late segments. */
bool flow_closing(const struct flow *f);
/* Endpoints as text; ip buffers of at least 46 bytes. */
void flow_endpoint(const struct flow *f, enum flow_dir side, char *ip, size_t iplen,
		   uint16_t *port);

/* --debug-flows: a consumer printing each flow's reassembly figures. */
struct cap_debug;
struct cap_debug *cap_debug_new(FILE *out, struct flow_consumer *c);
void cap_debug_free(struct cap_debug *d);

#endif
