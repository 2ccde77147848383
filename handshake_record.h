/*
 * handshake_record.h -- from the dissector's session to the report's record.
 */
#ifndef CERTTRACE_HANDSHAKE_RECORD_H
#define CERTTRACE_HANDSHAKE_RECORD_H

#include "dissect/tls.h"
#include "report/report.h"

/* Fills h from t, up to the report's caps (REP_MAX_CHAIN, REP_MAX_ALPN,
 * REP_MAX_CA_NAMES, REP_MAX_ALERTS: what is over them is not copied).
 * h borrows t's bytes and strings, so t must outlive every use of h (the
 * rep_handshake() call).  Leaves the fields the session does not hold
 * (addresses, app, role) as the caller set them. */
void handshake_record(const struct tls_session *t, struct rep_handshake *h);

#endif
