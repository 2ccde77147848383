/*
 * tls_iana.h — numbers and names from the IANA TLS registries, for both
 * rooms: the dissector names what it parsed, the report reasons about alert
 * numbers and reads the names back from an earlier run's jsonl.
 *
 * Every lookup is a table search both ways (lib/tls_iana.c).  A name
 * function never returns NULL: a number not in the table is TLS_IANA_UNKNOWN
 * ("unknown"), or for a cipher suite "unknown (0x1234)" in the caller's
 * buffer.  A code function takes exactly what its name function prints and
 * answers false for anything else.
 */
#ifndef CERTTRACE_TLS_IANA_H
#define CERTTRACE_TLS_IANA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_IANA_UNKNOWN "unknown"

/* ProtocolVersion values (RFC 8446 appendix D, RFC 6101, draft SSL 2.0). */
enum {
	TLS_VERSION_SSL_2_0 = 0x0002,
	TLS_VERSION_SSL_3_0 = 0x0300,
	TLS_VERSION_1_0 = 0x0301,
	TLS_VERSION_1_1 = 0x0302,
	TLS_VERSION_1_2 = 0x0303,
	TLS_VERSION_1_3 = 0x0304,
};

/* RFC 8446 6 / IANA "TLS Alerts": the ones the report reasons about;
 * tls_alert_name() has the whole table. */
enum {
	TLS_ALERT_LEVEL_WARNING = 1,
	TLS_ALERT_LEVEL_FATAL = 2,
};

enum {
	TLS_ALERT_HANDSHAKE_FAILURE = 40,
	TLS_ALERT_BAD_CERTIFICATE = 42,
	TLS_ALERT_UNSUPPORTED_CERTIFICATE = 43,
	TLS_ALERT_CERTIFICATE_REVOKED = 44,
	TLS_ALERT_CERTIFICATE_EXPIRED = 45,
	TLS_ALERT_CERTIFICATE_UNKNOWN = 46,
	TLS_ALERT_UNKNOWN_CA = 48,
	TLS_ALERT_PROTOCOL_VERSION = 70,
};

const char *tls_version_name(uint16_t version);        /* "TLS 1.2", "SSL 3.0" */
const char *tls_cipher_name(uint16_t cipher, char *buf, size_t len);
const char *tls_alert_name(uint8_t description);      /* "unknown_ca" */

/* Name -> number: false when the name is not one the function above prints
 * for a number (TLS_IANA_UNKNOWN and "TLS 1.3 (draft)" among them). */
bool tls_version_code(const char *name, uint16_t *version);
bool tls_cipher_code(const char *name, uint16_t *cipher);
bool tls_alert_code(const char *name, uint8_t *description);

#endif
