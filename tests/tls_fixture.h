/*
 * tls_fixture.h — real TLS handshakes, in memory, for the dissector's tests.
 *
 * The fixture makes a small PKI with the OpenSSL API (root CA, intermediate
 * CA, server leaf; a client CA and client leaf; an unrelated CA), runs an
 * OpenSSL client and server against each other over memory BIOs, and records
 * what each side wrote, per direction and in the order of the flights, the
 * way a capture would see it.  tlsfx_replay() then feeds a transcript to the
 * dissector in chunks of a chosen size: whole flights, one byte at a time,
 * fixed sizes that split record headers, or random sizes.  The client's
 * key log (what SSLKEYLOGFILE would hold) is kept with the transcript.
 */
#ifndef CERTTRACE_TLS_FIXTURE_H
#define CERTTRACE_TLS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dissect/tls.h"

struct tlsfx_pki {
	EVP_PKEY *root_key, *inter_key, *leaf_key;
	X509 *root, *inter, *leaf;          /* server chain: leaf <- inter <- root */
	EVP_PKEY *client_ca_key, *client_key;
	X509 *client_ca, *client;           /* client leaf <- client CA */
	EVP_PKEY *other_key;
	X509 *other;                        /* a CA that issued nothing here */
};

#define TLSFX_MAX_FLIGHTS 128

struct tlsfx_flight {
	enum tls_dir dir;
	size_t off, len;                    /* in data[dir] */
};

struct tlsfx_transcript {
	uint8_t *data[2];
	size_t len[2], cap[2];
	struct tlsfx_flight flights[TLSFX_MAX_FLIGHTS];
	unsigned n_flights;
	bool client_done, server_done;      /* handshake finished on each side */
	SSL_SESSION *session;               /* the client's, for resumption */
	/* What OpenSSL's client says was negotiated (when client_done). */
	uint16_t version, cipher;
	bool reused;
	uint8_t client_random[32];
	/* The client's NSS key log lines, '\n'-terminated (OpenSSL's keylog
	 * callback), for every handshake run into this transcript. */
	char *keylog;
	size_t keylog_len, keylog_cap;
};

struct tlsfx_opts {
	int min_version, max_version;       /* TLS1_VERSION ... TLS1_3_VERSION; 0: any */
	bool send_chain;                    /* server sends leaf, inter and root */
	bool request_client_cert;           /* server: CertificateRequest with CA names */
	bool client_cert;                   /* client answers with its certificate */
	bool client_verifies;               /* client checks the server against `other` */
	const char *sni;
	const unsigned char *alpn;          /* wire format */
	unsigned alpn_len;
	const char *cipher_list;            /* TLS <= 1.2 ciphers, OpenSSL names */
	bool no_tickets;                    /* resume by session id, not ticket */
	const char *client_groups;          /* key share groups, first gets a share */
	const char *server_groups;          /* a mismatch forces a HelloRetryRequest */
	int server_min_version;             /* server only: refuse older clients */
	const char *ciphersuites;           /* TLS 1.3 suites, OpenSSL names */
	bool server_selects_alpn;           /* server picks the client's first ALPN */
};

struct tlsfx_pair {
	SSL_CTX *client, *server;
};

struct tlsfx_pki *tlsfx_pki_new(void);
void tlsfx_pki_free(struct tlsfx_pki *pki);

/* DER of a certificate or of a name; caller frees with OPENSSL_free(). */
int tlsfx_der(X509 *x, uint8_t **out);
int tlsfx_name_der(X509 *x, uint8_t **out);

bool tlsfx_pair_init(struct tlsfx_pair *pair, struct tlsfx_pki *pki, const struct tlsfx_opts *o);
void tlsfx_pair_free(struct tlsfx_pair *pair);

void tlsfx_transcript_init(struct tlsfx_transcript *t);
void tlsfx_transcript_free(struct tlsfx_transcript *t);
/* Appends a flight (e.g. a cleartext preamble) to the transcript. */
void tlsfx_add(struct tlsfx_transcript *t, enum tls_dir dir, const void *p, size_t n);
void tlsfx_add_str(struct tlsfx_transcript *t, enum tls_dir dir, const char *s);

/* Runs one handshake (resuming `resume` if not NULL), appending its flights
 * to t.  True when the exchange ran to its end (success or a sent alert). */
bool tlsfx_handshake(struct tlsfx_pair *pair, const struct tlsfx_opts *o,
		     SSL_SESSION *resume, struct tlsfx_transcript *t);

/*
 * Feeds the transcript to c flight by flight, each flight cut into chunks:
 * chunk 0 = whole flights; chunk N = N bytes at a time; with seed != 0,
 * random sizes from 1 to N.  Feed k has capture time ts0 + k.  Stops at the
 * first verdict other than TLS_CONTINUE and returns it.
 */
enum tls_verdict tlsfx_replay(struct tls_conn *c, const struct tlsfx_transcript *t,
			      size_t chunk, unsigned seed, uint64_t ts0);

#endif
