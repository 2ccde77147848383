/*
 * tls.h — the TLS handshake dissector: reassembled stream bytes in,
 * handshake facts out.
 *
 * The capture room hands each direction's bytes, in order, to tls_feed().
 * The dissector recognises TLS by content (a ClientHello at the start of the
 * client's bytes, or after a cleartext STARTTLS/CONNECT/SOCKS/RDP preamble,
 * or inside OpenVPN's control channel, within the first TLS_DETECT_WINDOW
 * bytes), parses records and handshake messages
 * through the bounded reader (lib/reader.h), and fills a struct tls_session.
 * It knows nothing of packets, Lync or Exchange.
 *
 * Memory: a conn holds, per direction, at most one incomplete message it
 * parses whole (TLS_MAX_MSG_BYTES) or one incomplete certificate
 * (TLS_MAX_CERT_BYTES): a Certificate message, up to the 2^24 - 1 bytes
 * the protocol allows, is read certificate by certificate as it arrives
 * and never buffered whole.  DER of certificates is copied out once.  The
 * caps are listed with their values below; at any of them the dissection
 * stops with status TRUNCATED and a reason "... over the N KiB cap", never
 * MALFORMED: the input may be valid, certtrace chose not to hold it.
 *
 * TLS 1.3 hides everything after the ServerHello.  A conn made with
 * tls_conn_new_with_keys() looks the ClientHello random up in a key log
 * (dissect/keylog.h); with the handshake traffic secrets there, it opens
 * the encrypted handshake records of both directions up to each Finished
 * (dissect/tls_aead.h) and parses EncryptedExtensions, CertificateRequest
 * and Certificate as it would in clear.  A protected record costs one more
 * buffer of 16 KiB per direction while the handshake lasts.
 *
 * A live capture follows its key log as it grows, so the secrets of a
 * handshake may come after its records.  A conn told to wait
 * (tls_conn_wait_for_keys) that finds no secrets at the ServerHello keeps
 * each direction's bytes from there, whole records and all
 * (TLS13_KEY_WAIT_BYTES each, for at most TLS13_KEY_WAIT_US of capture
 * time), and tls_retry_keys() replays them once the store has the secrets.
 * Past either cap, at a gap, or when the flow ends without them, it ends
 * as it would have without a key log: certificates hidden.
 */
#ifndef CERTTRACE_TLS_H
#define CERTTRACE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/tls_iana.h"   /* versions, cipher suites, alerts: numbers and names */

/* RFC 5246 / 8446 names. */
enum {
	TLS_CT_CHANGE_CIPHER_SPEC = 20,
	TLS_CT_ALERT = 21,
	TLS_CT_HANDSHAKE = 22,
	TLS_CT_APPLICATION_DATA = 23,
};

enum {
	TLS_HS_HELLO_REQUEST = 0,
	TLS_HS_CLIENT_HELLO = 1,
	TLS_HS_SERVER_HELLO = 2,
	TLS_HS_NEW_SESSION_TICKET = 4,
	TLS_HS_ENCRYPTED_EXTENSIONS = 8,
	TLS_HS_CERTIFICATE = 11,
	TLS_HS_SERVER_KEY_EXCHANGE = 12,
	TLS_HS_CERTIFICATE_REQUEST = 13,
	TLS_HS_SERVER_HELLO_DONE = 14,
	TLS_HS_CERTIFICATE_VERIFY = 15,
	TLS_HS_CLIENT_KEY_EXCHANGE = 16,
	TLS_HS_FINISHED = 20,
	TLS_HS_CERTIFICATE_STATUS = 22,
};

/*
 * Caps.  Each bounds what one conn (or, the last, the whole process) holds;
 * what happens at each is said beside it.
 */
/* Bytes held per direction while no TLS is recognised (a preamble is
 * looked for in them).  Past it: that direction stops being searched; a
 * flow with no TLS found by then is TLS_NOT_TLS. */
#define TLS_DETECT_WINDOW   (16 * 1024)
/* One ClientHello, ServerHello, CertificateRequest or EncryptedExtensions,
 * which are parsed whole (the protocol keeps each under 132 KiB).  Past
 * it: TRUNCATED, "... over the 256 KiB cap".  Other messages have no cap:
 * Certificate is streamed, the rest are counted past unread. */
#define TLS_MAX_MSG_BYTES   (256 * 1024)
/* One certificate of a Certificate message (the zeek corpus has a valid
 * one of 339,000 bytes, with 10,000 names).  Past it: TRUNCATED, the
 * certificates before it kept, the chain marked truncated,
 * "... over the 1024 KiB cap". */
#define TLS_MAX_CERT_BYTES  (1024 * 1024)
/* The DER of one chain together.  Past it: as for one certificate. */
#define TLS_MAX_CHAIN_BYTES (4 * 1024 * 1024)
/* Certificates in one chain.  Past it: MALFORMED (the protocol sets no
 * limit, but no real chain comes near it; said "more than 32 ..."). */
#define TLS_MAX_CHAIN       32
/* Bytes held by all conns of the process together for messages and
 * certificates not yet whole (the conns of every worker thread share it).
 * Past it: the conn that needed more stops TRUNCATED, "... over the
 * 262144 KiB cap on bytes buffered by all flows"; the others go on. */
#define TLS_MAX_BUFFERED_BYTES (256u * 1024 * 1024)
/* Bytes of one direction kept while a TLS 1.3 conn waits for its secrets
 * (tls_retry_keys), and how long (capture time) from the first one kept.
 * Past either: the conn stops waiting, its certificates stay hidden. */
#define TLS13_KEY_WAIT_BYTES (64 * 1024)
#define TLS13_KEY_WAIT_US    (10ull * 1000000)
#define TLS_MAX_ALERTS      8             /* alerts kept; later ones dropped */
#define TLS_MAX_ALPN        8             /* ClientHello ALPN names kept */
#define TLS_MAX_CA_NAMES    64            /* CertificateRequest DNs kept */

struct kl_store;

enum tls_dir { TLS_FROM_CLIENT = 0, TLS_FROM_SERVER = 1 };

/* What tls_feed()/tls_gap() tell the flow table. */
enum tls_verdict {
	TLS_CONTINUE = 0,  /* keep feeding this flow */
	TLS_DONE,          /* handshake over (or dissection ended): stop */
	TLS_NOT_TLS,       /* no handshake in the detection window: drop */
};

/* How the handshake record ended. */
enum tls_status {
	TLS_ST_IN_PROGRESS = 0,
	TLS_ST_COMPLETE,     /* both sides past ChangeCipherSpec, or TLS 1.3 keys in use */
	TLS_ST_TRUNCATED,    /* input ended or a gap fell inside the handshake,
			      * or a cap (above) stopped it; see reason */
	TLS_ST_MALFORMED,    /* a length or field that cannot be; see reason */
};

struct tls_blob {                      /* bytes copied off the wire */
	uint8_t *data;
	uint32_t len;
};

struct tls_chain {
	bool present;                  /* a Certificate message was seen */
	bool truncated;                /* it was cut by a gap or the end */
	unsigned n;
	struct tls_blob certs[TLS_MAX_CHAIN];   /* DER, in the order sent */
	uint64_t ts_us;                /* capture time of the message */
};

struct tls_alert {
	uint8_t from;                  /* enum tls_dir */
	uint8_t level;                 /* 1 warning, 2 fatal; 0 if encrypted */
	uint8_t description;           /* IANA alert number */
	bool encrypted;                /* sent after ChangeCipherSpec: unreadable */
	uint64_t ts_us;
};

struct tls_session {
	uint64_t ts_us;                /* capture time of the ClientHello (or first record) */
	enum tls_status status;
	const char *reason;            /* when MALFORMED/TRUNCATED: a static string or
					* text held by the conn (valid until
					* tls_conn_free(); copy it to keep it) */

	const char *preamble;          /* "SMTP STARTTLS", "IMAP STARTTLS", "POP3 STLS",
					* "FTP AUTH TLS", "IRC STARTTLS", "XMPP STARTTLS",
					* "LDAP StartTLS", "PostgreSQL SSLRequest",
					* "MySQL SSL", "HTTP CONNECT", "SOCKS4",
					* "SOCKS4a", "SOCKS5", "RDP" (after the X.224
					* Connection Request/Confirm), "OpenVPN" (the
					* records ride in its TCP control channel),
					* "cleartext preamble" (other text, then a
					* ClientHello), or NULL */

	/* ClientHello */
	bool have_client_hello;
	bool sslv2_client_hello;       /* SSLv2-compatible record format */
	uint16_t client_version;       /* legacy_version */
	uint8_t client_random[32];
	uint8_t client_session_id[32];
	uint8_t client_session_id_len;
	bool client_offered_ticket;    /* non-empty session_ticket or pre_shared_key */
	char sni[256];                 /* server_name host_name, printable ASCII only */
	unsigned n_alpn;
	char alpn[TLS_MAX_ALPN][64];
	char ja3[33];                  /* lowercase MD5 hex, "" if no ClientHello */

	/* ServerHello */
	bool have_server_hello;
	uint16_t server_version;       /* legacy_version */
	uint16_t version;              /* negotiated (supported_versions wins) */
	uint16_t cipher;               /* IANA code point */
	uint8_t server_session_id[32];
	uint8_t server_session_id_len;
	bool hello_retry_request;
	char ja3s[33];

	bool resumed;                  /* abbreviated handshake: no Certificate */
	bool certificates_visible;     /* false for TLS 1.3 without keys */

	/* TLS 1.3 with a key log */
	bool decrypted;                /* a handshake record was opened with its secrets */
	const char *decrypt_error;     /* static text: the key log had secrets for this
					* handshake but a record did not open with them
					* (or the suite is one we cannot open); NULL else */
	char alpn_selected[64];        /* the server's ALPN choice (ServerHello in
					* TLS <= 1.2, EncryptedExtensions in 1.3), "" if none */

	struct tls_chain server_chain;
	struct tls_chain client_chain;

	bool certificate_request;      /* server asked for a client certificate */
	unsigned n_ca_names;
	struct tls_blob ca_names[TLS_MAX_CA_NAMES];   /* DER X.509 Names */

	unsigned n_alerts;
	struct tls_alert alerts[TLS_MAX_ALERTS];

	bool ccs_seen[2];              /* ChangeCipherSpec per direction */
	uint64_t bytes[2];             /* stream bytes fed per direction */
};

struct tls_conn;

struct tls_conn *tls_conn_new(void);
/* The same, reading TLS 1.3 handshakes whose secrets `keys` holds (NULL:
 * none).  The store must outlive the conn; it is only read. */
struct tls_conn *tls_conn_new_with_keys(const struct kl_store *keys);
void tls_conn_free(struct tls_conn *c);
/* A live key log: wait for this conn's TLS 1.3 secrets if they are not in
 * the store at its ServerHello (see the top). */
void tls_conn_wait_for_keys(struct tls_conn *c);
/* Waiting for secrets the store does not have yet. */
bool tls_awaiting_keys(const struct tls_conn *c);
/* The store may have them now: if so, the kept bytes are read with them.
 * TLS_CONTINUE while still waiting or still in the handshake. */
enum tls_verdict tls_retry_keys(struct tls_conn *c);
/* Stop waiting: the certificates stay hidden (TLS_DONE). */
enum tls_verdict tls_give_up_keys(struct tls_conn *c);

/* Bytes of one direction, contiguous and in order, at capture time ts_us. */
enum tls_verdict tls_feed(struct tls_conn *c, enum tls_dir dir,
			  const uint8_t *p, size_t n, uint64_t ts_us);

/* `missing` bytes of one direction were never captured. */
enum tls_verdict tls_gap(struct tls_conn *c, enum tls_dir dir, uint64_t missing);

/* No more bytes will come (FIN, RST, expiry, end of input): settle the status. */
void tls_end(struct tls_conn *c);

/* True once a TLS handshake was recognised on this flow. */
bool tls_is_tls(const struct tls_conn *c);

const struct tls_session *tls_session(const struct tls_conn *c);

#endif
