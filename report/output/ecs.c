/*
 * ecs.c — --format ecs: the report as Elastic Common Schema 9.4 documents,
 * one compact JSON object per line, through the streaming writer of
 * lib/json.h (no tree is built).
 *
 * Documents, in the order jsonl writes its events:
 *   - one per handshake, as it arrives: event.kind "event", dataset
 *     "certtrace.tls"; client.*, server.*, network.*, tls.* with the leaf's
 *     details in tls.server.x509.* (and tls.client.x509.* for mutual TLS);
 *   - one per server at the end: event.kind "asset", dataset
 *     "certtrace.server" (role, phone-facing, each chain's trust);
 *   - one per finding: event.kind "alert", dataset "certtrace.finding",
 *     rule.name = the finding's code, event.severity by ecs_severity();
 *   - one per --phone-log error: dataset "certtrace.phone_error";
 *   - the summary last: event.kind "metric", dataset "certtrace.summary".
 *
 * Two ideas:
 *  1. A field ECS defines goes where ECS puts it, with ECS's type (the
 *     names and types are checked against ECS's fields.csv by tests/ecs.py);
 *     what ECS has no field for goes under "certtrace.", with the names of
 *     the jsonl contract.  No field is written as null: absent is unknown.
 *  2. A document stands alone (ECS has no "certificate" event to refer
 *     to), so each handshake carries its leaf's details; the DER itself
 *     (tls.server/client.certificate_chain, base64, the whole chain) only
 *     when the chain holds a certificate whose DER no earlier document of
 *     the run carried -- jsonl's rule for its "certificate" events, kept in
 *     the same flag -- so a million handshakes with one chain do not repeat
 *     it, while every certificate's bytes are in the output once.
 *
 * @timestamp: a handshake's capture time; a finding's first handshake; a
 * server's last; the summary (and phone errors, whose logged time has no
 * zone) the last capture time of the run, or the wall clock when no
 * handshake was seen.  A document over the writer's line cap is dropped
 * with one line on stderr.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/sha.h>

#include "lib/buf.h"
#include "lib/json.h"
#include "report/output/ecs_int.h"
#include "report/rep_int.h"

#define ECS_VERSION "9.4.0"

struct rep_ecs {
	struct jw w;                   /* the line, reused */
};

void rep_ecs_free(struct rep *r)
{
	if (!r->ecs)
		return;
	jw_free(&r->ecs->w);
	free(r->ecs);
	r->ecs = NULL;
}

/* The writer, made on first use; NULL when out of memory. */
static struct jw *ecs_open(struct rep *r)
{
	if (!r->ecs) {
		r->ecs = calloc(1, sizeof(*r->ecs));
		if (!r->ecs)
			return NULL;
		jw_init(&r->ecs->w, 0);
	}
	jw_reset(&r->ecs->w);
	return &r->ecs->w;
}

static void ecs_emit(struct rep *r, struct jw *w)
{
	rep_jw_send(r, w);
}

/* ---- small pieces ------------------------------------------------------------------ */

/* "@timestamp" and "ecs", then "event" left open for the caller's members. */
static void doc_open(struct jw *w, uint64_t ts_us, const char *kind, const char *type,
		     const char *dataset)
{
	jw_object_open(w);
	jw_kv_time_us(w, "@timestamp", ts_us);
	jw_kv_object_open(w, "ecs");
	jw_kv_str(w, "version", ECS_VERSION);
	jw_object_close(w);
	jw_kv_object_open(w, "event");
	jw_kv_str(w, "kind", kind);
	jw_kv_array_open(w, "category");
	jw_str(w, "network");
	jw_array_close(w);
	jw_kv_array_open(w, "type");
	jw_str(w, type);
	if (!strcmp(type, "connection"))
		jw_str(w, "protocol");
	jw_array_close(w);
	jw_kv_str(w, "module", "certtrace");
	jw_kv_str(w, "dataset", dataset);
}

static uint64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* The last capture time of the run, or now when nothing was captured. */
static uint64_t run_time_us(const struct rep *r)
{
	uint64_t t = 0;

	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		if (s->seen.count && s->seen.last_us > t)
			t = s->seen.last_us;
	}
	return t ? t : now_us();
}

/*
 * Community ID v1 (the flow hash Zeek, Suricata and Elastic share as
 * network.community_id): base64 of SHA-1 over seed (0), the two addresses
 * and ports ordered so that both directions hash alike, the protocol and a
 * zero byte; "1:" in front.  false when an address does not parse.
 */
bool rep_ecs_community_id(const struct rep_endpoint *a, const struct rep_endpoint *b,
			  uint8_t proto, char *out, size_t len)
{
	uint8_t ia[16], ib[16], msg[2 + 16 + 16 + 2 + 2 + 2], md[SHA_DIGEST_LENGTH];
	size_t alen = 4, n = 0;
	uint16_t pa = a->port, pb = b->port;

	if (inet_pton(AF_INET, a->ip, ia) == 1) {
		if (inet_pton(AF_INET, b->ip, ib) != 1)
			return false;
	} else if (inet_pton(AF_INET6, a->ip, ia) == 1 && inet_pton(AF_INET6, b->ip, ib) == 1) {
		alen = 16;
	} else {
		return false;
	}
	int c = memcmp(ia, ib, alen);
	const uint8_t *x = ia, *y = ib;
	if (c > 0 || (c == 0 && pa > pb)) {
		x = ib;
		y = ia;
		uint16_t t = pa;
		pa = pb;
		pb = t;
	}
	msg[n++] = 0;                  /* seed, 16 bits */
	msg[n++] = 0;
	memcpy(msg + n, x, alen);
	n += alen;
	memcpy(msg + n, y, alen);
	n += alen;
	msg[n++] = proto;
	msg[n++] = 0;
	msg[n++] = (uint8_t)(pa >> 8);
	msg[n++] = (uint8_t)pa;
	msg[n++] = (uint8_t)(pb >> 8);
	msg[n++] = (uint8_t)pb;
	SHA1(msg, n, md);
	/* 20 bytes are 28 base64 characters; "1:" and the NUL make 31. */
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (len < 31)
		return false;
	char *o = out;
	*o++ = '1';
	*o++ = ':';
	for (size_t i = 0; i < sizeof(md); i += 3) {
		uint32_t v = (uint32_t)md[i] << 16;
		size_t k = sizeof(md) - i;
		if (k > 1)
			v |= (uint32_t)md[i + 1] << 8;
		if (k > 2)
			v |= md[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = k > 1 ? b64[v >> 6 & 63] : '=';
		*o++ = k > 2 ? b64[v & 63] : '=';
	}
	*o = '\0';
	return true;
}

/* ip, port, address; domain when known. */
static void endpoint_members(struct jw *w, const struct rep_endpoint *ep, const char *domain)
{
	if (ep->ip[0]) {
		jw_kv_str(w, "address", ep->ip);
		jw_kv_str(w, "ip", ep->ip);
		jw_kv_uint(w, "port", ep->port);
	}
	kv_str_if(w, "domain", domain);
}

/* "server": {...} of a server of the inventory (a --cert file has no address). */
static void server_object(struct jw *w, const struct rep_server *s)
{
	jw_kv_object_open(w, "server");
	if (!s->file)
		endpoint_members(w, &s->ep, rep_server_name(s));
	else
		kv_str_if(w, "domain", rep_server_name(s));
	jw_object_close(w);
}

/* "related": addresses, host names and certificate hashes, for pivoting. */
static void related_object(struct jw *w, const char *ip1, const char *ip2, const char *host,
			   struct rep_cert *const *certs, unsigned n)
{
	jw_kv_object_open(w, "related");
	if ((ip1 && *ip1) || (ip2 && *ip2)) {
		jw_kv_array_open(w, "ip");
		if (ip1 && *ip1)
			jw_str(w, ip1);
		if (ip2 && *ip2 && (!ip1 || strcmp(ip1, ip2)))
			jw_str(w, ip2);
		jw_array_close(w);
	}
	if (host && *host) {
		jw_kv_array_open(w, "hosts");
		jw_str(w, host);
		jw_array_close(w);
	}
	if (n) {
		jw_kv_array_open(w, "hash");
		for (unsigned i = 0; i < n; i++) {
			jw_str(w, certs[i]->xi->sha1_hex);
			jw_str(w, certs[i]->xi->sha256_hex);
		}
		jw_array_close(w);
	}
	jw_object_close(w);
}

/* ---- handshakes ------------------------------------------------------------------------ */

static const char *status_name(enum rep_hs_status st)
{
	switch (st) {
	case REP_HS_IN_PROGRESS: return "in progress";
	case REP_HS_COMPLETE: return "complete";
	case REP_HS_TRUNCATED: return "truncated";
	case REP_HS_MALFORMED: return "malformed";
	}
	return "?";
}

static bool fatal_alert(const struct rep_handshake *h)
{
	for (unsigned i = 0; i < h->n_alerts && i < REP_MAX_ALERTS; i++)
		if (!h->alerts[i].encrypted && h->alerts[i].level == TLS_ALERT_LEVEL_FATAL)
			return true;
	return false;
}

/* tls.version "1.2" and tls.version_protocol "tls" from "TLS 1.2" / "SSL 3.0". */
static void version_members(struct jw *w, uint16_t version)
{
	const char *name = tls_version_name(version);
	const char *sp = strchr(name, ' ');

	if (!sp || sp - name != 3 || !isdigit((unsigned char)sp[1]))
		return;
	size_t n = strspn(sp + 1, "0123456789.");
	jw_key(w, "version");
	jw_strn(w, sp + 1, n);
	jw_kv_str(w, "version_protocol", !strncmp(name, "SSL", 3) ? "ssl" : "tls");
}

void rep_ecs_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h,
		       struct rep_cert **server_certs, unsigned n_server,
		       struct rep_cert **client_certs, unsigned n_client)
{
	struct jw *w = ecs_open(r);
	char buf[96];

	if (!w)
		return;
	bool ok = h->status == REP_HS_COMPLETE && !fatal_alert(h);
	doc_open(w, h->ts_us, "event", "connection", "certtrace.tls");
	jw_kv_str(w, "action", "tls-handshake");
	jw_kv_str(w, "outcome", fatal_alert(h) || h->status == REP_HS_MALFORMED ? "failure"
		  : ok ? "success" : "unknown");
	jw_object_close(w);

	jw_kv_object_open(w, "client");
	endpoint_members(w, &h->client, NULL);
	jw_object_close(w);
	jw_kv_object_open(w, "server");
	endpoint_members(w, &h->server, h->sni);
	jw_object_close(w);

	jw_kv_object_open(w, "network");
	jw_kv_str(w, "transport", "tcp");
	if (h->server.ip[0])
		jw_kv_str(w, "type", strchr(h->server.ip, ':') ? "ipv6" : "ipv4");
	jw_kv_str(w, "protocol", "tls");
	jw_kv_str(w, "iana_number", "6");
	if (rep_ecs_community_id(&h->client, &h->server, 6, buf, sizeof(buf)))
		jw_kv_str(w, "community_id", buf);
	jw_object_close(w);

	jw_kv_object_open(w, "tls");
	if (h->server_hello) {
		version_members(w, h->version);
		jw_kv_str(w, "cipher", tls_cipher_name(h->cipher, buf, sizeof(buf)));
	}
	jw_kv_bool(w, "established", ok);
	jw_kv_bool(w, "resumed", h->resumed);
	kv_str_if(w, "next_protocol", h->alpn_selected);
	jw_kv_object_open(w, "client");
	kv_str_if(w, "server_name", h->sni);
	kv_str_if(w, "ja3", h->ja3);
	ecs_leaf_members(w, client_certs, n_client, ecs_der_due(client_certs, n_client));
	jw_object_close(w);
	jw_kv_object_open(w, "server");
	kv_str_if(w, "ja3s", h->ja3s);
	ecs_leaf_members(w, server_certs, n_server, ecs_der_due(server_certs, n_server));
	jw_object_close(w);
	jw_object_close(w);

	related_object(w, h->client.ip, h->server.ip, h->sni, server_certs, n_server);

	jw_kv_object_open(w, "certtrace");
	jw_kv_str(w, "role", rep_role_name(s->role));
	kv_str_if(w, "app", h->app);
	jw_kv_str(w, "status", status_name(h->status));
	kv_str_if(w, "reason", h->reason);
	kv_str_if(w, "preamble", h->preamble);
	if (h->server_hello)
		jw_kv_str(w, "version", tls_version_name(h->version));
	if (h->n_alpn) {
		jw_kv_array_open(w, "alpn");
		for (unsigned i = 0; i < h->n_alpn && i < REP_MAX_ALPN; i++)
			jw_str(w, h->alpn[i]);
		jw_array_close(w);
	}
	jw_kv_bool(w, "certificates_visible", h->certificates_visible);
	if (h->server_hello && h->version == TLS_VERSION_1_3) {
		jw_kv_bool(w, "decrypted", h->decrypted);
		kv_str_if(w, "decrypt_error", h->decrypt_error);
	}
	if (h->snaplen_cut_packets) {
		jw_kv_uint(w, "snaplen_cut_packets", h->snaplen_cut_packets);
		jw_kv_uint(w, "snaplen", h->snaplen);
	}
	ecs_cert_refs(w, "server_chain", server_certs, n_server, false);
	jw_kv_bool(w, "server_chain_truncated", h->server_chain.truncated);
	if (h->server_chain.present && h->server_chain.ts_us)
		jw_kv_time_us(w, "server_chain_ts", h->server_chain.ts_us);
	if (n_client)
		ecs_cert_refs(w, "client_chain", client_certs, n_client, false);
	if (h->n_ca_names) {
		jw_kv_array_open(w, "acceptable_cas");
		for (unsigned i = 0; i < h->n_ca_names && i < REP_MAX_CA_NAMES; i++) {
			char *dn = x509_name_der_to_string(h->ca_names[i].data, h->ca_names[i].len);
			jw_str(w, dn ? dn : "<unparsable name>");
			free(dn);
		}
		jw_array_close(w);
	}
	if (h->n_alerts) {
		jw_kv_array_open(w, "alerts");
		for (unsigned i = 0; i < h->n_alerts && i < REP_MAX_ALERTS; i++) {
			const struct rep_hs_alert *a = &h->alerts[i];
			jw_object_open(w);
			jw_kv_time_us(w, "ts", a->ts_us);
			jw_kv_str(w, "from", a->from_client ? "client" : "server");
			jw_kv_str(w, "level", a->encrypted ? "encrypted"
				  : a->level == TLS_ALERT_LEVEL_FATAL ? "fatal"
				  : a->level == TLS_ALERT_LEVEL_WARNING ? "warning" : "unknown");
			if (!a->encrypted)
				jw_kv_str(w, "description", tls_alert_name(a->description));
			jw_object_close(w);
		}
		jw_array_close(w);
	}
	if (h->n_risks) {
		jw_kv_array_open(w, "dpi_risks");
		for (unsigned i = 0; i < h->n_risks && i < REP_MAX_RISKS; i++)
			jw_str(w, h->risks[i]);
		jw_array_close(w);
	}
	jw_object_close(w);
	jw_object_close(w);
	ecs_emit(r, w);
}

/* ---- servers --------------------------------------------------------------------------- */

static void server_doc(struct rep *r, const struct rep_server *s, uint64_t run_us)
{
	struct jw *w = ecs_open(r);

	if (!w)
		return;
	doc_open(w, s->seen.count ? s->seen.last_us : run_us, "asset", "info",
		 "certtrace.server");
	jw_kv_str(w, "action", "tls-server");
	if (s->seen.count) {
		jw_kv_time_us(w, "start", s->seen.first_us);
		jw_kv_time_us(w, "end", s->seen.last_us);
	}
	jw_object_close(w);
	server_object(w, s);
	if (s->n_chains && s->chains[0]->n) {
		jw_kv_object_open(w, "tls");
		jw_kv_object_open(w, "server");
		ecs_leaf_members(w, (struct rep_cert **)s->chains[0]->certs, s->chains[0]->n, false);
		jw_object_close(w);
		jw_object_close(w);
	}

	jw_kv_object_open(w, "certtrace");
	jw_kv_object_open(w, "server");
	kv_str_if(w, "file", s->file);
	jw_kv_str(w, "role", rep_role_name(s->role));
	rep_jw_server_state(w, s, false);
	jw_object_close(w);
	jw_object_close(w);
	jw_object_close(w);
	ecs_emit(r, w);
}

/* ---- findings -------------------------------------------------------------------------- */

/*
 * event.severity: ECS leaves the scale to the source; these are the
 * boundaries of the low / medium / high bands of Elastic's detection rules
 * (risk 21, 47, 73), so a rule over event.severity sorts certtrace's
 * findings as its own.
 */
static unsigned ecs_severity(enum rep_severity s)
{
	switch (s) {
	case REP_INFO: return 21;
	case REP_WARNING: return 47;
	case REP_CRITICAL: return 73;
	case REP_NEVER: break;
	}
	return 0;
}

/* rule.category: what a finding is about.  No default, so a new code that
 * is not placed here stops the build (-Wswitch). */
static const char *rule_category(enum rep_code code)
{
	switch (code) {
	case RC_ISSUER_MISMATCH:
	case RC_SAME_DN_DIFFERENT_KEY:
	case RC_LOOKALIKE_CA_NAME:
	case RC_POOL_ISSUER_SPLIT:
	case RC_CHAIN_INCOMPLETE:
	case RC_SELF_SIGNED:
	case RC_PUBLIC_ROOT_UNVERIFIED:
		return "trust";
	case RC_EXPIRED:
	case RC_NOT_YET_VALID:
	case RC_EXPIRES_SOON:
		return "validity";
	case RC_NAME_MISMATCH:
		return "name";
	case RC_WEAK_KEY:
	case RC_WEAK_SIGNATURE:
	case RC_PSS_SIGNATURE:
		return "cryptography";
	case RC_MISSING_SERVER_AUTH_EKU:
	case RC_MISSING_CRL_DP:
		return "certificate-profile";
	case RC_CLIENT_REJECTED_CERTIFICATE:
	case RC_HANDSHAKE_FAILED:
		return "handshake";
	case RC_CERTIFICATES_HIDDEN:
	case RC_RESUMED_NO_CERT:
	case RC_HANDSHAKE_TRUNCATED:
		return "visibility";
	case RC_CERTIFICATE_CHANGED:
		return "change";
	case RC_COUNT:
		break;
	}
	return "other";
}

static void finding_doc(struct rep *r, const struct rep_finding *f, uint64_t run_us)
{
	const struct rep_finding_def *def = &rep_finding_defs[f->code];
	const struct rep_server *s = f->server;
	const struct rep_cert *subject = f->cert ? f->cert : f->n_certs ? f->certs[0] : NULL;
	struct jw *w = ecs_open(r);

	if (!w)
		return;
	doc_open(w, f->seen.count ? f->seen.first_us : run_us, "alert", "info",
		 "certtrace.finding");
	jw_kv_str(w, "action", "tls-finding");
	jw_kv_uint(w, "severity", ecs_severity(f->severity));
	if (f->seen.count) {
		jw_kv_time_us(w, "start", f->seen.first_us);
		jw_kv_time_us(w, "end", f->seen.last_us);
	}
	jw_object_close(w);
	kv_str_if(w, "message", f->message);
	jw_kv_object_open(w, "rule");
	jw_kv_str(w, "name", def->name);
	jw_kv_str(w, "category", rule_category(f->code));
	kv_str_if(w, "description", def->title);
	jw_kv_str(w, "ruleset", "certtrace");
	jw_object_close(w);
	if (s)
		server_object(w, s);
	if (subject) {
		/* The certificate the finding is about: the leaf, or a CA of the chain. */
		const struct x509_info *xi = subject->xi;
		jw_kv_object_open(w, "tls");
		jw_kv_object_open(w, "server");
		ecs_hash_object(w, xi);
		if (xi->parsed) {
			kv_str_if(w, "issuer", xi->issuer);
			kv_str_if(w, "not_after", xi->not_after_iso);
			kv_str_if(w, "not_before", xi->not_before_iso);
			kv_str_if(w, "subject", xi->subject);
		}
		jw_object_close(w);
		jw_object_close(w);
	}
	related_object(w, s && !s->file ? s->ep.ip : NULL, NULL, s ? rep_server_name(s) : NULL,
		       (struct rep_cert *const *)f->certs, f->n_certs);

	jw_kv_object_open(w, "certtrace");
	jw_kv_object_open(w, "finding");
	jw_kv_str(w, "code", def->name);
	jw_kv_str(w, "severity", rep_severity_name(f->severity));
	kv_str_if(w, "symptom", f->symptom);
	kv_str_if(w, "remedy", f->remedy);
	ecs_cert_refs(w, "certificates", (struct rep_cert *const *)f->certs, f->n_certs, true);
	jw_kv_array_open(w, "handshakes");
	for (unsigned i = 0; i < f->seen.n_samples; i++) {
		const struct rep_sample *x = &f->seen.samples[i];
		jw_object_open(w);
		jw_kv_time_us(w, "ts", x->ts_us);
		jw_kv_object_open(w, "client");
		jw_kv_str(w, "ip", x->client.ip);
		jw_kv_uint(w, "port", x->client.port);
		jw_object_close(w);
		jw_object_close(w);
	}
	jw_array_close(w);
	rep_jw_seen(w, &f->seen, false);
	if (f->n_names || f->n_facts) {
		jw_kv_object_open(w, "evidence");
		if (f->n_names)
			jw_kv_strs(w, def->evidence_names ? def->evidence_names : "names", f->names,
				f->n_names);
		for (unsigned i = 0; i < f->n_facts; i++)
			jw_kv_str(w, f->facts[i].key, f->facts[i].value);
		jw_object_close(w);
	}
	jw_object_close(w);
	if (s) {
		jw_kv_object_open(w, "server");
		kv_str_if(w, "file", s->file);
		jw_kv_str(w, "role", rep_role_name(s->role));
		jw_kv_bool(w, "phone_facing", s->phone_facing);
		jw_object_close(w);
	}
	jw_object_close(w);
	jw_object_close(w);
	ecs_emit(r, w);
}

/* One finding as a line: the shape of jsonl's, for findings written as they
 * are raised (live capture) as well as at the end. */
void rep_ecs_finding(struct rep *r, const struct rep_finding *f)
{
	finding_doc(r, f, f->seen.count ? f->seen.first_us : run_time_us(r));
}

/* ---- phone log errors ------------------------------------------------------------------ */

static void phone_error_doc(struct rep *r, const struct rep_phone_error *e, uint64_t run_us)
{
	struct rep_phone_words pw;
	struct jw *w = ecs_open(r);

	if (!w)
		return;
	rep_phone_describe(e, &pw);
	doc_open(w, run_us, "event", "error", "certtrace.phone_error");
	jw_kv_str(w, "action", "phone-error");
	jw_kv_str(w, "outcome", "failure");
	jw_object_close(w);
	jw_kv_object_open(w, "error");
	jw_kv_str(w, "code", pw.code);
	kv_str_if(w, "message", e->text ? e->text : pw.meaning);
	jw_object_close(w);
	if (e->url) {
		jw_kv_object_open(w, "url");
		jw_kv_str(w, "full", e->url);
		kv_str_if(w, "domain", e->host);
		jw_kv_uint(w, "port", e->port);
		jw_object_close(w);
	}
	jw_kv_object_open(w, "log");
	jw_kv_object_open(w, "file");
	jw_kv_str(w, "path", e->file);
	jw_object_close(w);
	jw_object_close(w);

	jw_kv_object_open(w, "certtrace");
	jw_kv_object_open(w, "phone_error");
	kv_str_if(w, "ts", e->ts);
	jw_kv_str(w, "name", pw.name);
	jw_kv_str(w, "meaning", pw.meaning);
	if (pw.hr[0]) {
		jw_kv_str(w, "hr", pw.hr);
		kv_str_if(w, "hr_name", pw.hr_name);
		kv_str_if(w, "hr_meaning", pw.hr_meaning);
	}
	jw_kv_uint(w, "line", e->line);
	if (e->explained_by) {
		const struct rep_finding *f = e->explained_by;
		jw_kv_object_open(w, "explained_by");
		jw_kv_str(w, "code", rep_finding_defs[f->code].name);
		jw_kv_str(w, "severity", rep_severity_name(f->severity));
		if (f->server) {
			jw_kv_object_open(w, "server");
			if (!f->server->file) {
				jw_kv_str(w, "ip", f->server->ep.ip);
				jw_kv_uint(w, "port", f->server->ep.port);
			}
			kv_str_if(w, "name", rep_server_name(f->server));
			jw_kv_str(w, "role", rep_role_name(f->server->role));
			jw_object_close(w);
		}
		kv_str_if(w, "via", e->via);
		jw_object_close(w);
	}
	jw_object_close(w);
	jw_object_close(w);
	jw_object_close(w);
	ecs_emit(r, w);
}

/* ---- the end --------------------------------------------------------------------------- */

/* Live, every --stats seconds: the jsonl "stats" event as a metric
 * document, its counters under certtrace.stats (named as in jsonl). */
void rep_ecs_stats(struct rep *r, const struct rep_live_stats *st, uint64_t findings)
{
	struct jw *w = ecs_open(r);

	if (!w)
		return;
	doc_open(w, st->ts_us, "metric", "info", "certtrace.stats");
	jw_kv_str(w, "action", "tls-stats");
	jw_object_close(w);

	jw_kv_object_open(w, "certtrace");
	jw_kv_object_open(w, "stats");
	rep_jw_stats_members(w, r, st, findings);
	jw_object_close(w);
	jw_object_close(w);
	jw_object_close(w);
	ecs_emit(r, w);
}

static void summary_doc(struct rep *r, const struct rep_capture_stats *st, uint64_t run_us)
{
	struct jw *w = ecs_open(r);

	if (!w)
		return;
	doc_open(w, run_us, "metric", "info", "certtrace.summary");
	jw_kv_str(w, "action", "tls-summary");
	jw_kv_str(w, "outcome", r->verdict == REP_VERDICT_CLEAN ? "success"
		  : r->verdict == REP_VERDICT_FINDINGS ? "failure" : "unknown");
	jw_object_close(w);

	jw_kv_object_open(w, "certtrace");
	jw_kv_object_open(w, "summary");
	jw_kv_uint(w, "packets", st->packets);
	jw_kv_uint(w, "bytes", st->bytes);
	jw_kv_uint(w, "flows", st->flows);
	jw_kv_uint(w, "tcp_flows", st->tcp_flows);
	jw_kv_uint(w, "handshakes", r->handshakes);
	jw_kv_uint(w, "servers", rep_servers_seen(r));
	jw_kv_uint(w, "certificates", r->wire_certs);
	jw_kv_object_open(w, "findings");
	jw_kv_uint(w, "critical", r->n_by_severity[REP_CRITICAL]);
	jw_kv_uint(w, "warning", r->n_by_severity[REP_WARNING]);
	jw_kv_uint(w, "info", r->n_by_severity[REP_INFO]);
	jw_object_close(w);
	jw_kv_uint(w, "truncated_packets", st->truncated_packets);
	jw_kv_uint(w, "skipped_packets", st->skipped_packets);
	jw_kv_uint(w, "fragments_skipped", st->fragments_skipped);
	jw_kv_uint(w, "evicted_flows", st->evicted_flows);
	jw_kv_uint(w, "gaps", st->gaps);
	jw_kv_uint(w, "dpi_detection_misses", st->dpi_detection_misses);
	jw_kv_uint(w, "dpi_disagreements", st->dpi_disagreements);
	bool any_encap = false;
	for (unsigned i = 0; i < st->n_encaps; i++)
		any_encap |= st->encaps[i].packets != 0;
	if (any_encap) {
		jw_kv_object_open(w, "encapsulations");
		for (unsigned i = 0; i < st->n_encaps; i++)
			if (st->encaps[i].packets)
				jw_kv_uint(w, st->encaps[i].name, st->encaps[i].packets);
		jw_object_close(w);
	}
	kv_str_if(w, "truncated_file", st->truncated_file);
	if (st->live) {
		jw_kv_uint(w, "kernel_received", st->kernel_received);
		jw_kv_uint(w, "kernel_dropped", st->kernel_dropped);
		jw_kv_uint(w, "kernel_ifdropped", st->kernel_ifdropped);
	}
	if (r->phone.files) {
		unsigned explained = 0;
		for (size_t i = 0; i < r->phone.errors.n; i++)
			explained += ((const struct rep_phone_error *)r->phone.errors.v[i])->explained_by != NULL;
		jw_kv_object_open(w, "phone_log");
		jw_kv_uint(w, "files", r->phone.files);
		jw_kv_uint(w, "lines", r->phone.lines);
		jw_kv_uint(w, "not_understood", r->phone.not_understood);
		jw_kv_uint(w, "errors", r->phone.errors.n + r->phone.errors_dropped);
		jw_kv_uint(w, "explained", explained);
		jw_kv_uint(w, "ews_urls", r->phone.ews.n);
		jw_object_close(w);
	}
	jw_kv_str(w, "verdict", rep_verdict_name(r->verdict));
	struct buf why = BUF_INIT(4096);
	rep_verdict_reason(r, &why);
	kv_str_if(w, "verdict_reason", buf_str(&why));
	buf_free(&why);
	jw_kv_array_open(w, "not_checked");
	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		if (!s->not_checked[0])
			continue;
		jw_object_open(w);
		if (s->file) {
			jw_kv_str(w, "file", s->file);
		} else {
			jw_kv_str(w, "ip", s->ep.ip);
			jw_kv_uint(w, "port", s->ep.port);
		}
		kv_str_if(w, "name", rep_server_name(s));
		jw_kv_str(w, "role", rep_role_name(s->role));
		jw_kv_bool(w, "phone_facing", s->phone_facing);
		jw_kv_bool(w, "needed", rep_server_needed(s));
		jw_kv_str(w, "reason", s->not_checked);
		jw_object_close(w);
	}
	jw_array_close(w);
	jw_kv_int(w, "exit_status", r->status);
	jw_object_close(w);
	jw_object_close(w);
	jw_object_close(w);
	ecs_emit(r, w);
}

void rep_ecs_finish(struct rep *r, const struct rep_capture_stats *st)
{
	uint64_t run_us = run_time_us(r);

	for (size_t i = 0; i < r->server_list.n; i++)
		server_doc(r, r->server_list.v[i], run_us);
	for (size_t i = 0; i < r->finding_list.n; i++)
		finding_doc(r, r->finding_list.v[i], run_us);
	for (size_t i = 0; i < r->phone.errors.n; i++)
		phone_error_doc(r, r->phone.errors.v[i], run_us);
	summary_doc(r, st, run_us);
}
