/*
 * dpi.h — nDPI classification of a flow's first packets: the application
 * name, nDPI's flow risks, and a second opinion on the server's leaf
 * certificate.
 *
 * One nDPI detection module per thread (dpi_new, then dpi_new_like for
 * the others, copies that share the first's tables).  A flow gets nDPI
 * state (struct ndpi_flow_struct, 688 bytes in nDPI 4.2, plus whatever
 * nDPI's TLS reassembly buffers) only while it is being classified: from
 * the first packet given to dpi_packet() until it returns false.  Then the
 * result is frozen into struct dpi_result and the nDPI state is freed at
 * once; the flow keeps only the result until dpi_flow_free().
 * dpi_live_flows() counts the nDPI objects alive, so a test (or the
 * summary) can show that finished flows hold none.
 *
 * What nDPI costs is its first packet: on a flow it cannot name it runs
 * every dissector (about 3 µs in nDPI 4.2).  So a caller that only wants
 * nDPI's view of some flows (certtrace: those that turn out to be TLS) can
 * dpi_hold() a flow's first packet, a copy, and decide later: the next
 * dpi_packet() or dpi_flow_finish() gives it to nDPI first, in its place;
 * dpi_flow_free() without either drops it unread, and nDPI never ran.
 */
#ifndef CERTTRACE_DPI_H
#define CERTTRACE_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

/* Packets with payload of one flow nDPI sees at most (both directions; bare
 * ACKs are not given to nDPI and do not count).  A TLS 1.2 handshake with a
 * full chain takes 3 to 8 (2.5 on average over the busy-FE bench
 * capture's TLS 1.2, 1.3 and resumed flows); some protocols want a dozen or
 * two.  At the bound the result is frozen and nDPI's state freed: a flow
 * nDPI has not named is given up (ndpi_detection_giveup, which certtrace
 * lets guess nothing: app stays ""), a named one keeps its name and
 * whatever nDPI read of its certificate by then. */
#define DPI_MAX_PACKETS     32
#define DPI_APP_LEN         64    /* "TLS.Microsoft365": master.app */
#define DPI_MAX_RISKS       16    /* as many as struct rep_handshake keeps */
#define DPI_HOST_LEN        80    /* nDPI's host_server_name (SNI for TLS) */
#define DPI_DN_MAX_BYTES    1024  /* longest DN text copied out of nDPI */
/* Longest first packet dpi_hold() copies (IP header to the end of the
 * payload: any Ethernet MTU's).  A longer one (a capture made with
 * segmentation offload) is not held: dpi_hold() says no and the caller
 * gives it to nDPI at once.  A flow holds at most this, only until its
 * second packet with payload or its end. */
#define DPI_HOLD_MAX_BYTES  2048
/* All flows' held copies together (flows that sent one packet and wait,
 * undecided, for their idle timeout add up).  Past it dpi_hold() says no
 * and first packets go to nDPI at once, as with --dpi-check: nDPI's own
 * state per flow instead of the copy, and its CPU time on the flow. */
#define DPI_HOLD_TOTAL_MAX_BYTES (32u * 1024 * 1024)

struct dpi_result {
	bool done;                     /* classification over: the rest is final */
	bool given_up;                 /* nDPI had to be asked (ndpi_detection_giveup) */
	uint16_t master_protocol;      /* nDPI protocol ids, NDPI_PROTOCOL_UNKNOWN = 0 */
	uint16_t app_protocol;
	char app[DPI_APP_LEN];         /* ndpi_protocol2name(), "" when unknown */
	bool starttls;                 /* nDPI saw STARTTLS in SMTP, POP or FTP */

	uint64_t risk;                 /* nDPI's bitmask of ndpi_risk_enum */
	unsigned n_risks;
	const char *risks[DPI_MAX_RISKS];   /* ndpi_risk2str(): static strings */

	char host[DPI_HOST_LEN];       /* SNI / host name as nDPI read it */

	/* From nDPI's TLS dissector: the first certificate of the first
	 * Certificate message it parsed (the server's leaf, unless the capture
	 * shows only the client's Certificate). */
	bool have_sha1;
	bool cert_from_client;         /* that message came from the client */
	uint8_t sha1[20];              /* SHA-1 of that certificate's DER */
	char *issuer, *subject;        /* nDPI's DN text ("C=US, O=x, CN=y"), or NULL */

	uint32_t packets;              /* packets given to nDPI */
};

struct dpi_counters {
	uint64_t flows;                /* flows that got nDPI state */
	uint64_t live;                 /* nDPI flow objects allocated now */
	uint64_t peak_live;
	uint64_t packets;              /* packets given to nDPI */
	uint64_t classified;           /* nDPI named the flow on its own */
	uint64_t given_up;             /* detection given up (at the packet bound or at close) */
	uint64_t unknown;              /* still unknown after giving up */
	uint64_t peak_tls_buffer_bytes;/* largest TLS reassembly buffer nDPI grew */
	uint64_t held;                 /* first packets dpi_hold() copied */
	uint64_t held_live;            /* copies held now */
	uint64_t held_bytes;           /* their bytes now, at most DPI_HOLD_TOTAL_MAX_BYTES */
	uint64_t peak_held_bytes;
	uint64_t dropped_held;         /* freed unread: nDPI never ran on the flow */
	uint64_t alloc_failures;
};

struct dpi;
struct dpi_flow;

/* The detection module (5.5 MB of heap and about 10 ms to build in nDPI
 * 4.2, 4.7 MB of it the IP address table).  NULL with a one-line reason in
 * err.
 *
 * certificates: a TLS flow is fed on past its ServerHello to its
 * Certificate message, for nDPI's reading of the server's leaf (the second
 * opinion, dpi_leaf(), and nDPI's certificate risks: self-signed, expired,
 * about to expire, validity too long, name mismatch) and the application
 * names nDPI takes from the certificate when there is no SNI.  Without it
 * a named TLS flow is done once nDPI has read the ServerHello: the app
 * name from the SNI, the hello risks (old version, weak cipher, missing
 * SNI, suspicious extensions, DGA names), and no leaf.  nDPI's certificate
 * work (its SHA-1 of the leaf, the name matching, the DN strings) was a
 * sixth of certtrace's CPU time on a busy FE capture. */
struct dpi *dpi_new(bool certificates, char *err, size_t errlen);

/* Another module for another thread, with first's options: a copy of
 * first's module that searches first's tables (IP addresses, host names,
 * ports) instead of building its own (dpi_share.c: 0.24 MB and a memcpy
 * instead of 5.5 MB and 11 ms).  first must not be dissecting while this
 * runs, and must not be freed before it.  When the nDPI library running
 * is not the one certtrace was built against, it builds a module of its
 * own (dpi_shares_tables() says which). */
struct dpi *dpi_new_like(const struct dpi *first, char *err, size_t errlen);
bool dpi_shares_tables(const struct dpi *d);

void dpi_free(struct dpi *d);

/* A flow's classification, for its first payload packet; NULL when out of
 * memory (the flow goes unclassified; counted).  nDPI's own state comes
 * with the first packet it is given. */
struct dpi_flow *dpi_flow_new(struct dpi *d);

/* Keeps a copy of the flow's first packet with payload instead of giving
 * it to nDPI now (see the top).  false, nothing kept, when it is not the
 * first, is longer than DPI_HOLD_MAX_BYTES, would take the copies past
 * DPI_HOLD_TOTAL_MAX_BYTES, or memory is short: give it to dpi_packet()
 * then. */
bool dpi_hold(struct dpi *d, struct dpi_flow *f, const struct cap_pkt *p, int from_client);

/* One packet of the flow (p->l3 is the innermost IP header), after the held
 * one if any.  Returns true while nDPI wants more packets; false once the
 * result is frozen. */
bool dpi_packet(struct dpi *d, struct dpi_flow *f, const struct cap_pkt *p, int from_client);

/* The flow ends (or its consumer loses interest): the held packet to nDPI,
 * give up if still classifying, freeze the result and free nDPI's state.
 * Idempotent.  A flow nDPI never saw is frozen unknown (app ""). */
void dpi_flow_finish(struct dpi *d, struct dpi_flow *f);

/* The result; final once r->done (dpi_flow_finish makes it so).  Valid
 * until dpi_flow_free. */
const struct dpi_result *dpi_result(const struct dpi_flow *f);

/* Releases everything, at any point of the classification. */
void dpi_flow_free(struct dpi *d, struct dpi_flow *f);

size_t dpi_live_flows(const struct dpi *d);
const struct dpi_counters *dpi_counters(const struct dpi *d);

/* nDPI says this flow carried TLS: the master or application protocol is
 * TLS, DTLS or a TLS mail protocol (SMTPS, IMAPS, POPS; nDPI 4.2 calls IMAP
 * after STARTTLS IMAPS), or nDPI saw STARTTLS in SMTP or FTP (r->starttls).
 * Protocols nDPI 4.2 does not follow into TLS (XMPP, LDAP, POP3 STLS) are
 * not TLS to it.  A port guess never counts: certtrace
 * asks nDPI to give up without guessing. */
bool dpi_is_tls_family(const struct dpi_result *r);

/* What nDPI extracted from the server's leaf certificate: pointers into r
 * (NULL when nDPI found none, or only the client's).  Returns whether nDPI
 * has the server leaf's fingerprint. */
bool dpi_leaf(const struct dpi_result *r, const char **issuer, const char **subject,
	      const uint8_t **sha1);

/* nDPI's server leaf and ours (the first certificate of our server chain)
 * differ.  Only the SHA-1 of the DER is compared: nDPI 4.2 keeps only some
 * attributes of a DN (C, ST, L, O, OU, CN...), in DER order, joined by ", "
 * and unescaped, so its text cannot be matched to RFC 2253 reliably.  False
 * when nDPI has no server leaf fingerprint; true when it has one and
 * our_sha1 is NULL (we saw no certificate where nDPI did) or different.  The
 * DNs are taken so a caller can report them side by side; not compared. */
bool dpi_disagrees(const struct dpi_result *r, const char *our_issuer,
		   const char *our_subject, const uint8_t our_sha1[20]);

#endif
