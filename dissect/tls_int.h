/*
 * tls_int.h — what the files of the TLS dissector share, and nothing
 * outside dissect/ sees (dissect/tls.h is the one public header).
 *
 * The dissector is split by layer, bottom up:
 *
 *   tls_detect.c    is this flow TLS, and where does it start: a hello at
 *                   byte 0, else the walk over the recogniser table
 *   tls_preamble.c  the recogniser table: one entry per cleartext preamble
 *                   (STARTTLS, SSLRequest, CONNECT, SOCKS, ...) with its
 *                   match and skip functions beside what it recognises
 *   tls_rdp.c       the RDP entry's functions (X.224 before TLS)
 *   tls_ovpn.c      the OpenVPN entry's functions, and the carrier that
 *                   unwraps the records from its control channel
 *   tls_record.c    the record layer: framing (tls_take), alerts,
 *                   ChangeCipherSpec, TLS 1.3 records opened with tls_aead
 *   tls_handshake.c handshake messages framed out of the records' bodies and
 *                   handed to their parsers
 *   tls_hello.c     ClientHello, ServerHello, EncryptedExtensions: parsed
 *                   into structs of reader views, then acted on; the one
 *                   extension walk (tls_parse_extensions)
 *   tls_cert.c      Certificate and CertificateRequest
 *   tls_ja3.c       JA3 and JA3S from what the extension walk recorded
 *   tls.c           the public interface: conns, feed, gap, end
 */
#ifndef CERTTRACE_TLS_INT_H
#define CERTTRACE_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissect/tls.h"
#include "dissect/tls_aead.h"
#include "lib/buf.h"
#include "lib/reader.h"

/* Extension code points (IANA "TLS ExtensionType Values"). */
enum {
	TLS_EXT_SERVER_NAME = 0,
	TLS_EXT_SUPPORTED_GROUPS = 10,
	TLS_EXT_EC_POINT_FORMATS = 11,
	TLS_EXT_SIGNATURE_ALGORITHMS = 13,
	TLS_EXT_ALPN = 16,
	TLS_EXT_SESSION_TICKET = 35,
	TLS_EXT_PRE_SHARED_KEY = 41,
	TLS_EXT_EARLY_DATA = 42,
	TLS_EXT_SUPPORTED_VERSIONS = 43,
	TLS_EXT_CERTIFICATE_AUTHORITIES = 47,
};

#define TLS_VERSION_SSL2        0x0002
#define TLS_VERSION_SSL3        0x0300
#define TLS_VERSION_TLS12       0x0303
#define TLS_VERSION_TLS13       0x0304
#define TLS_CT_HEARTBEAT        24
#define TLS_RECORD_HDR_BYTES    5
#define TLS_SSL2_HDR_BYTES      2
#define TLS_HS_HDR_BYTES        4
/* RFC 5246 6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes. */
#define TLS_MAX_RECORD_BYTES    (16384 + 2048)
/* Smallest ClientHello/ServerHello body: version, random, empty session id,
 * one cipher (suite list for a ClientHello), compression. */
#define TLS_MIN_HELLO_BYTES     38
/* A pseudo handshake type for the body of an SSLv2-compatible ClientHello. */
#define TLS_HS_SSL2_CLIENT_HELLO 0x100

/* ------------------------------------------------------------------ */
/* The framing helper (tls_record.c)                                   */

/*
 * A unit of `need` bytes (a record header, a handshake header, a message,
 * a protected record) may arrive in pieces.  tls_take() takes what it can
 * of it from *in.  A unit that lies whole in *in while nothing of it was
 * gathered is handed out in place; otherwise its bytes are copied (through
 * rd_copy) to `store`, which has room for `need` bytes, and *have counts
 * them.  Returns how many bytes are still needed: 0 means *unit reads the
 * whole unit and *have is back to 0; anything else means all of *in was
 * taken.  `store` may be NULL only when the unit is whole in *in.
 */
size_t tls_take(struct reader *in, size_t need, uint8_t *store, uint32_t *have,
		struct reader *unit);

/* True when tls_take() would hand the unit out in place (no store needed). */
static inline bool tls_take_in_place(const struct reader *in, size_t need, uint32_t have)
{
	return have == 0 && rd_left(in) >= need;
}

/* n bytes of r appended to b through rd_copy; false (nothing consumed)
 * when they do not fit under b's cap or memory runs out. */
bool tls_buf_put(struct buf *b, struct reader *r, size_t n);

/* ------------------------------------------------------------------ */
/* Per-direction and per-connection state                              */

enum tls_side_mode {
	TLS_SIDE_HOLD = 0,      /* nothing recognised yet: bytes are held */
	TLS_SIDE_SEEK,          /* preamble known: held bytes scanned for a record */
	TLS_SIDE_RECORDS,       /* in the record layer */
	TLS_SIDE_IDLE,          /* nothing more of interest in this direction */
};

/* The client's command of a text preamble, once seen (tls_preamble.c). */
enum tls_cmd {
	TLS_CMD_NONE = 0,
	TLS_CMD_STARTTLS,       /* SMTP or IRC: told apart by the answer */
	TLS_CMD_IMAP,           /* "<tag> STARTTLS" */
	TLS_CMD_POP3,           /* "STLS" */
	TLS_CMD_FTP,            /* "AUTH TLS" / "AUTH SSL" */
	TLS_CMD_XMPP,           /* <starttls xmlns=.../> */
	TLS_CMD_LDAP,           /* ExtendedRequest 1.3.6.1.4.1.1466.20037 */
};

/* A framing the TLS records are carried in, below the record layer. */
enum tls_carrier {
	TLS_CARRIER_NONE = 0,           /* records straight on the stream */
	TLS_CARRIER_OPENVPN,            /* OpenVPN's TCP control channel */
};

/* What a recogniser remembers between the feeds of one flow. */
struct tls_preamble_state {
	enum tls_cmd cmd;
	uint32_t cmd_end;               /* client offset just past the command */
	uint32_t srv_mark;              /* server bytes held when it was seen:
					 * the answer comes after */
	uint32_t tag_off, tag_len;      /* IMAP: the command's tag, in the
					 * client's held bytes */
	uint8_t ovpn_hmac_bytes;        /* OpenVPN: tls-auth HMAC size, 0: none */
};

/* A Certificate message read as it arrives (tls_cert.c): each entry is
 * copied out when it is whole, so no more than one certificate is ever
 * gathered per direction. */
struct tls_cert_stream {
	bool active;                    /* a Certificate message is open */
	bool skip;                      /* a second chain in clear: counted past */
	uint8_t step;                   /* the field being read (tls_cert.c) */
	uint32_t msg_left;              /* message bytes not yet read */
	uint32_t list_left;             /* certificate_list bytes not yet read */
	uint8_t field[3];               /* a length field cut by a boundary */
	uint32_t field_have;
	uint32_t skip_left;             /* context or extension bytes to pass */
	uint8_t *blob;                  /* the entry being gathered, or NULL */
	uint32_t blob_len, blob_have;
};

/* OpenVPN's TCP framing of its control channel (tls_ovpn.c), per direction;
 * a packet is at most 2^16 - 1 bytes, so is its buffer. */
#define TLS_OVPN_MAX_PACKET_BYTES 65535
struct tls_ovpn {
	uint8_t len_bytes[2];
	uint32_t len_have;
	uint32_t pkt_len;               /* of the packet being read, 0: none */
	struct buf pkt;                 /* a packet cut by a boundary */
	uint8_t *pkt_store;
	uint32_t pkt_have;
	uint32_t next_msg_id;           /* message packet-id of the next payload */
};

struct tls_side {
	enum tls_side_mode mode;

	/* Held cleartext while detecting (capped at TLS_DETECT_WINDOW), then
	 * scanned from seek_from. */
	struct buf hold;
	uint32_t seek_from;

	/* Record layer. */
	bool any_record;                /* a record header was read */
	uint8_t hdr[TLS_RECORD_HDR_BYTES];
	uint32_t hdr_have;
	bool in_record;
	uint8_t rec_type;
	uint16_t rec_version;
	bool rec_ssl2;
	uint32_t rec_len;               /* of the open record */
	uint32_t rec_left;
	bool encrypted;                 /* past ChangeCipherSpec */
	uint8_t alert_carry;
	bool alert_half;

	/* Handshake messages. */
	uint8_t msg_hdr[TLS_HS_HDR_BYTES];
	uint32_t msg_hdr_have;
	bool in_msg;
	bool msg_keep;                  /* copied for parsing (else counted past) */
	unsigned msg_type;
	uint32_t msg_len, msg_have;
	uint64_t msg_ts;
	bool msg_stream;                /* a Certificate: read as it arrives */
	struct buf msg;                 /* a kept message cut by a boundary */
	uint8_t *msg_store;             /* room for it in msg, while gathering */
	size_t msg_charged;             /* bytes of msg counted in the budget */
	struct tls_cert_stream cert;

	bool saw_certificate;
	bool saw_hello_done;

	/* TLS 1.3 protected handshake records, with a key log's secret. */
	bool decrypting;
	bool hs_done;                   /* its Finished was read (or no secret) */
	bool opened_any;                /* a record of this side opened */
	struct tls_aead aead;
	uint8_t aad[TLS_RECORD_HDR_BYTES];   /* the record header: additional data */
	uint8_t *rec_buf;               /* a record cut by feeds, then its plaintext */
	uint32_t rec_have;

	/* Waiting for TLS 1.3 secrets (tls_conn.await_keys): this side's bytes
	 * from its first record boundary after the ServerHello. */
	struct buf pending;
	uint64_t pending_ts;            /* capture time of its first byte */

	/* A framing below the records (a tls_recogniser's carrier); its
	 * state is allocated only for a flow that has one. */
	enum tls_carrier carrier;
	struct tls_ovpn *ovpn;
};

struct tls_conn {
	struct tls_session s;
	struct tls_side side[2];
	bool tls;                       /* a handshake was recognised */
	bool not_tls;
	bool finished;
	bool have_ts;
	bool final_server_hello;        /* a ServerHello that is not an HRR */
	bool client_offered_tls13;
	bool client_early_data;         /* ClientHello offered 0-RTT data */
	bool tls13;                     /* the final ServerHello chose TLS 1.3 */
	const struct kl_store *keys;    /* key log, or NULL */
	bool may_wait_keys;             /* tls_conn_wait_for_keys */
	bool await_keys;                /* TLS 1.3, no secrets yet: keeping bytes */
	uint16_t record_version[2];     /* of the latest record per direction */
	struct tls_preamble_state pre;
	char reason_buf[128];
};

/* ------------------------------------------------------------------ */
/* tls.c                                                               */

const char *tls_dir_name(int dir);
const char *tls_hs_name(unsigned type);
bool tls_is_tls13(uint16_t version);
void tls_side_release(struct tls_side *sd);
/* The handshake is over for us: keep the session, drop the buffers. */
void tls_finish(struct tls_conn *c, enum tls_status st, const char *reason);
void tls_malformed(struct tls_conn *c, const char *reason);

/* ------------------------------------------------------------------ */
/* tls_detect.c and tls_preamble.c                                     */

/* A recogniser's answer about the bytes held so far. */
enum tls_match {
	TLS_MATCH_NO = 0,       /* not this protocol: ask the next entry */
	TLS_MATCH_MORE,         /* this protocol, or may still become it: wait */
	TLS_MATCH_YES,          /* this protocol, and TLS follows: skip says where */
	TLS_MATCH_NOT_TLS,      /* this protocol, going on without TLS: drop */
};

/* What a recogniser sees: both directions' held bytes from their start. */
struct tls_held {
	struct reader c, s;             /* client's, server's bytes so far */
	size_t c_text;                  /* leading bytes of c that are text */
	struct tls_preamble_state *st;
	int cmd_scan;                   /* tls_preamble.c's scan of the client's
					 * lines, once per walk; TLS_PRE_UNSCANNED
					 * before */
};
#define TLS_PRE_UNSCANNED (-1)

struct tls_recogniser {
	const char *name;               /* tls_session.preamble on YES */
	enum tls_match (*match)(struct tls_held *h);
	/* After YES: where each direction's scan for its first record starts
	 * (offsets into c and s).  NULL for entries that only refuse. */
	void (*skip)(const struct tls_held *h, uint32_t from[2]);
	/* The framing the records come in from there: with a carrier, each
	 * direction goes to the record layer through it at once (no scan). */
	enum tls_carrier carrier;
};

extern const struct tls_recogniser tls_recognisers[];
extern const size_t tls_n_recognisers;

/* Signatures of a record's first bytes. */
enum tls_match tls_sig_client(struct reader r);   /* ClientHello record */
enum tls_match tls_sig_server(struct reader r);   /* ServerHello or alert record */
enum tls_match tls_sig_ssl2(struct reader r);     /* SSLv2-compatible ClientHello */

/* Leading bytes of r that a line-based peer may send (UTF-8 allowed). */
size_t tls_text_len(struct reader r);

/* Bytes of a direction still in HOLD or SEEK mode. */
void tls_detect_feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts);

/* ------------------------------------------------------------------ */
/* tls_record.c                                                        */

void tls_records(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts);
/* The final ServerHello chose TLS 1.3: key the directions the key log has
 * secrets for.  false: nothing to decrypt. */
bool tls13_keys_start(struct tls_conn *c);
/* No secrets for it yet, and the conn may wait for them. */
bool tls13_may_wait(const struct tls_conn *c);

/* ------------------------------------------------------------------ */
/* tls_handshake.c                                                     */

/* A piece of the handshake stream (the bodies of handshake records). */
void tls_hs_data(struct tls_conn *c, int dir, struct reader in, uint64_t ts);
/* Starts a message of `len` bytes; false if it cannot be (too long). */
bool tls_msg_open(struct tls_conn *c, int dir, unsigned type, uint32_t len, uint64_t ts);
/* Bytes of the message open on `dir`, from *in. */
void tls_msg_take(struct tls_conn *c, int dir, struct reader *in);
/* The capture stops inside a Certificate message: keep what arrived whole. */
void tls_cut_certificate(struct tls_conn *c, int dir);
/* Frees a direction's message buffer (and certificate in progress). */
void tls_msg_release(struct tls_side *sd);

/*
 * The process-wide budget (TLS_MAX_BUFFERED_BYTES) for bytes held for
 * messages and certificates not yet whole, shared by all conns of all
 * threads.  take: false, nothing taken, when n does not fit.
 */
bool tls_budget_take(size_t n);
void tls_budget_give(size_t n);
size_t tls_budget_used(void);
size_t tls_budget_max(void);
/* For tests: a smaller budget (0 puts back TLS_MAX_BUFFERED_BYTES). */
void tls_budget_set_max(size_t max_bytes);
/* Stops the dissection at a cap: TRUNCATED, with reason_buf saying
 * "... over the N KiB cap"; the chain of `dir` cut, when one is open. */
void tls_over_cap(struct tls_conn *c, int dir, const char *what, uint64_t size,
		  uint64_t cap_bytes, const char *whose_cap);

/* ------------------------------------------------------------------ */
/* tls_hello.c: hellos and extensions                                  */

struct tls_ext {
	bool present;
	struct reader body;             /* extension_data */
};

/* One entry of the list of extensions a parser wants. */
struct tls_ext_want {
	uint16_t type;
	struct tls_ext *out;
};

/* Every extension type of a block, in the order sent, as the wire has them
 * (big-endian u16): the first TLS_EXT_TYPES_INLINE in place, the rest (a
 * hello of a fuzzer's making) in a capped buffer. */
#define TLS_EXT_TYPES_INLINE 64
struct tls_ext_types {
	unsigned n;
	uint8_t first[2 * TLS_EXT_TYPES_INLINE];
	struct buf rest;
};

void tls_ext_types_init(struct tls_ext_types *t);
void tls_ext_types_free(struct tls_ext_types *t);
/* The recorded types as readers of big-endian u16s: first, then rest. */
void tls_ext_types_readers(const struct tls_ext_types *t, struct reader *first,
			   struct reader *rest);

/*
 * The one walk over an extension block: extension_type, then
 * extension_data<0..2^16-1>, to the end.  Each wanted type gets a view of
 * its body (the first, when a type repeats); every type is recorded in
 * `types` when it is not NULL.  false when an extension overruns the block.
 */
bool tls_parse_extensions(struct reader block, const struct tls_ext_want *want, size_t n_want,
			  struct tls_ext_types *types);

struct tls_client_hello {
	bool sslv2;                     /* SSLv2-compatible: 3-byte cipher specs,
					 * random = the challenge (16..32 bytes) */
	uint16_t version;
	struct reader random, session_id, cipher_suites, compression;
	struct tls_ext server_name, alpn, supported_versions, supported_groups,
		ec_point_formats, session_ticket, pre_shared_key, early_data;
	struct tls_ext_types types;
};

struct tls_server_hello {
	uint16_t legacy_version;
	struct reader random, session_id;
	uint16_t cipher;
	uint8_t compression;
	struct tls_ext supported_versions, pre_shared_key, alpn;
	struct tls_ext_types types;
};

void tls_client_hello_msg(struct tls_conn *c, struct reader body);
void tls_ssl2_client_hello_msg(struct tls_conn *c, struct reader body);
void tls_server_hello_msg(struct tls_conn *c, struct reader body);
void tls_encrypted_extensions_msg(struct tls_conn *c, struct reader body);

/* ------------------------------------------------------------------ */
/* tls_cert.c                                                          */

/* A Certificate message of msg_len bytes opens, its bytes arrive (at most
 * what is left of it), it ends; or the capture cuts it (the entries that
 * arrived whole stay, the chain is marked truncated). */
void tls_cert_begin(struct tls_conn *c, int dir, uint32_t msg_len, uint64_t ts);
void tls_cert_data(struct tls_conn *c, int dir, struct reader piece);
void tls_cert_end(struct tls_conn *c, int dir);
void tls_cert_cut(struct tls_conn *c, int dir);
/* Frees an entry being gathered (its budget given back). */
void tls_cert_release(struct tls_side *sd);
void tls_certificate_request_msg(struct tls_conn *c, struct reader body);

/* ------------------------------------------------------------------ */
/* tls_rdp.c, tls_ovpn.c: recognisers that live beside their protocol  */

enum tls_match tls_rdp_match(struct tls_held *h);
void tls_rdp_skip(const struct tls_held *h, uint32_t from[2]);

enum tls_match tls_ovpn_match(struct tls_held *h);
void tls_ovpn_skip(const struct tls_held *h, uint32_t from[2]);
/* The stream of a direction whose records ride in OpenVPN packets. */
void tls_ovpn_feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts);
/* The carrier's state for a direction; false when memory runs out. */
bool tls_ovpn_start(struct tls_side *sd);
void tls_ovpn_release(struct tls_side *sd);

/* ------------------------------------------------------------------ */
/* tls_ja3.c                                                           */

bool tls_is_grease(uint16_t v);
/* Lowercase MD5 hex of the JA3 / JA3S text; "" when OpenSSL fails. */
void tls_ja3(const struct tls_client_hello *ch, char out[33]);
void tls_ja3s(const struct tls_server_hello *sh, char out[33]);

#endif
