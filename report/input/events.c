/*
 * events.c — --events: earlier runs' jsonl output replayed into this one.
 *
 * Every "certificate" event carries its DER ("der", base64), so a "tls"
 * event can be turned back into the handshake record it was written from
 * (the server chain as DER, SNI, version, alerts, ...) and handed to
 * rep_handshake() as if it had just been captured.  The inventory, roles
 * and every rule then run over all the runs together: the findings are
 * those of one run over all the captures (pool-issuer-split between two
 * FE servers seen from two capture points).  --cert pseudo-servers come
 * back from their "server" events; the runs' "summary" counters are added
 * to this run's.  What jsonl does not carry is not replayed: the DER of
 * CertificateRequest CA names (acceptable_cas).
 *
 * Lines that are not certtrace events and events with fields of the wrong
 * type are counted and skipped; certificates whose DER does not hash to
 * their sha1 are dropped.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "report/output/jsonl_fields.h"
#include "report/rep_int.h"

#define EVENTS_MAX_DER_BYTES  (1u * 1024 * 1024)
#define REPLAY_UNASSIGNED_ALERT 255    /* IANA "TLS Alerts": 122-255 unassigned */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Strict base64 (padding required); malloc'd bytes or NULL. */
static uint8_t *b64_decode(const char *s, size_t *out_len)
{
	size_t n = strlen(s);

	if (!n || n % 4 || n / 4 * 3 > EVENTS_MAX_DER_BYTES)
		return NULL;
	uint8_t *o = malloc(n / 4 * 3);
	if (!o)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int j = 0; j < 4; j++)
			v[j] = b64_value((unsigned char)s[i + j]);
		bool last = i + 4 == n;
		int pad = (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=');
		if (v[0] < 0 || v[1] < 0 || (!last && pad) || (pad < 2 && v[2] < 0) ||
		    (pad < 1 && v[3] < 0) || (s[i + 2] == '=' && s[i + 3] != '=')) {
			free(o);
			return NULL;
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)(pad < 2 ? v[2] : 0) << 6 | (uint32_t)(pad < 1 ? v[3] : 0);
		o[k++] = (uint8_t)(x >> 16);
		if (pad < 2)
			o[k++] = (uint8_t)(x >> 8);
		if (pad < 1)
			o[k++] = (uint8_t)x;
	}
	*out_len = k;
	return o;
}

struct replay {
	struct rep *r;
	const char *path;
	struct rep_map certs;          /* sha1 hex -> rep_cert */
	uint64_t no_der, bad_der, missing_certs, bad_events, handshakes;
};

static void replay_certificate(struct replay *rp, json_t *ev)
{
	const char *sha1 = rep_jstr(ev, "sha1"), *der64 = rep_jstr(ev, "der");
	uint8_t md[SHA_DIGEST_LENGTH];
	char hex[41];
	size_t len;

	if (!rep_is_sha1_hex(sha1)) {
		rp->bad_events++;
		return;
	}
	if (!der64) {
		rp->no_der++;
		return;
	}
	uint8_t *der = b64_decode(der64, &len);
	if (!der) {
		rp->bad_der++;
		return;
	}
	SHA1(der, len, md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, sha1)) {
		rp->bad_der++;
		free(der);
		return;
	}
	struct rep_cert *c = rep_cert_intern(rp->r, der, len);
	free(der);
	if (c && !rep_map_get(&rp->certs, sha1, 40))
		rep_map_put(&rp->certs, sha1, 40, c);
}

static void fill_chain(struct replay *rp, json_t *arr, struct rep_hs_chain *ch, uint64_t ts_us)
{
	size_t i;
	json_t *v;

	ch->ts_us = ts_us;
	ch->present = json_array_size(arr) > 0;
	json_array_foreach(arr, i, v) {
		const char *sha1 = rep_jstr(v, "sha1");
		struct rep_cert *c = rep_is_sha1_hex(sha1) ? rep_map_get(&rp->certs, sha1, 40) : NULL;
		if (!c) {
			rp->missing_certs++;
			continue;
		}
		if (ch->n < REP_MAX_CHAIN) {
			ch->certs[ch->n].data = c->xi->der;
			ch->certs[ch->n].len = c->xi->der_len;
			ch->n++;
		}
	}
}

static enum rep_hs_status status_code(const char *s)
{
	if (s && !strcmp(s, "complete"))
		return REP_HS_COMPLETE;
	if (s && !strcmp(s, "truncated"))
		return REP_HS_TRUNCATED;
	if (s && !strcmp(s, "malformed"))
		return REP_HS_MALFORMED;
	return REP_HS_IN_PROGRESS;
}

/* An alert's description back to its number.  "unknown" is what we print
 * for a number the IANA table lacks: such an alert is kept, as one more
 * unassigned number, so the rules see it as the first run did. */
static bool alert_code(const char *name, uint8_t *d)
{
	if (tls_alert_code(name, d))
		return true;
	if (name && !strcmp(name, TLS_IANA_UNKNOWN)) {
		*d = REPLAY_UNASSIGNED_ALERT;
		return true;
	}
	*d = 0;
	return false;
}

/* The strings the dissector would have handed over: printable ASCII, cut
 * to the dissector's sizes. */
struct replay_text {
	char sni[256];
	char alpn[REP_MAX_ALPN][64];
	char ja3[33], ja3s[33];
};

static void replay_alerts(struct rep_handshake *h, json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (h->n_alerts == REP_MAX_ALERTS)
			break;
		struct rep_hs_alert *a = &h->alerts[h->n_alerts];
		const char *level = rep_jstr(v, "level"), *from = rep_jstr(v, "from");
		bool known = alert_code(rep_jstr(v, "description"), &a->description);
		a->from_client = from && !strcmp(from, "client");
		a->encrypted = level && !strcmp(level, "encrypted");
		a->level = level && !strcmp(level, "fatal") ? TLS_ALERT_LEVEL_FATAL
			   : level && !strcmp(level, "warning") ? TLS_ALERT_LEVEL_WARNING : 0;
		if (!rep_iso_parse(rep_jstr(v, "ts"), &a->ts_us))
			a->ts_us = h->server_chain.ts_us > h->ts_us ? h->server_chain.ts_us : h->ts_us;
		if (a->encrypted || known)
			h->n_alerts++;
	}
}

static void replay_tls(struct replay *rp, json_t *ev)
{
	struct rep_handshake h = { 0 };
	struct replay_text txt;
	size_t i;
	json_t *v;

	if (!rep_iso_parse(rep_jstr(ev, "ts"), &h.ts_us) ||
	    !rep_jendpoint(json_object_get(ev, "client"), &h.client) ||
	    !rep_jendpoint(json_object_get(ev, "server"), &h.server)) {
		rp->bad_events++;
		return;
	}
	h.status = status_code(rep_jstr(ev, "status"));
	h.reason = rep_jstr(ev, "reason");
	h.preamble = rep_jstr(ev, "preamble");
	rep_copy_printable(txt.sni, sizeof(txt.sni), rep_jstr(ev, "sni"));
	h.sni = txt.sni;
	json_array_foreach(json_object_get(ev, "alpn"), i, v) {
		if (h.n_alpn < REP_MAX_ALPN && json_is_string(v)) {
			rep_copy_printable(txt.alpn[h.n_alpn], sizeof(txt.alpn[0]), json_string_value(v));
			h.alpn[h.n_alpn] = txt.alpn[h.n_alpn];
			h.n_alpn++;
		}
	}
	rep_copy_printable(txt.ja3, sizeof(txt.ja3), rep_jstr(ev, "ja3"));
	rep_copy_printable(txt.ja3s, sizeof(txt.ja3s), rep_jstr(ev, "ja3s"));
	h.ja3 = txt.ja3;
	h.ja3s = txt.ja3s;
	h.server_hello = tls_version_code(rep_jstr(ev, "version"), &h.version);
	/* A name we do not know was a number we did not know either: 0, as
	 * before this run. */
	if (!tls_cipher_code(rep_jstr(ev, "cipher"), &h.cipher))
		h.cipher = 0;
	h.resumed = json_is_true(json_object_get(ev, "resumed"));
	h.certificates_visible = json_is_true(json_object_get(ev, "certificates_visible"));
	h.decrypted = json_is_true(json_object_get(ev, "decrypted"));
	h.decrypt_error = rep_jstr(ev, "decrypt_error");
	json_t *cut = json_object_get(ev, "snaplen_cut_packets");
	json_t *snaplen = json_object_get(ev, "snaplen");
	if (json_is_integer(cut) && json_integer_value(cut) > 0 &&
	    json_integer_value(cut) <= UINT32_MAX) {
		h.snaplen_cut_packets = (uint32_t)json_integer_value(cut);
		if (json_is_integer(snaplen) && json_integer_value(snaplen) >= 0 &&
		    json_integer_value(snaplen) <= UINT32_MAX)
			h.snaplen = (uint32_t)json_integer_value(snaplen);
	}
	fill_chain(rp, json_object_get(ev, "server_chain"), &h.server_chain, h.ts_us);
	fill_chain(rp, json_object_get(ev, "client_chain"), &h.client_chain, h.ts_us);
	uint64_t cert_us;
	if (rep_iso_parse(rep_jstr(ev, "server_chain_ts"), &cert_us))
		h.server_chain.ts_us = cert_us;
	if (json_is_true(json_object_get(ev, "server_chain_truncated"))) {
		h.server_chain.present = true;
		h.server_chain.truncated = true;
	}
	replay_alerts(&h, json_object_get(ev, "alerts"));
	h.app = rep_jstr(ev, "app");
	json_array_foreach(json_object_get(ev, "dpi_risks"), i, v) {
		if (h.n_risks < REP_MAX_RISKS && json_is_string(v))
			h.risks[h.n_risks++] = json_string_value(v);
	}
	rep_handshake(rp->r, &h);
	rp->handshakes++;
}

/* A --cert pseudo-server of the earlier run: its file, role and chain. */
static void replay_server(struct replay *rp, json_t *ev)
{
	const char *file = rep_jstr(ev, "file");
	enum rep_role role;
	size_t i, j;
	json_t *ch, *sha;

	if (!file || !rep_role_parse(rep_jstr(ev, "role") ? rep_jstr(ev, "role") : "", &role))
		return;
	struct rep_server *s = rep_server_from_file(rp->r, file);
	if (!s)
		return;
	s->role = role;
	s->role_explicit = true;
	snprintf(s->role_reason, sizeof(s->role_reason), "--cert %s=%s (from --events %s)",
		 rep_role_name(role), file, rp->path);
	json_array_foreach(json_object_get(ev, "chains"), i, ch) {
		struct rep_cert *certs[REP_MAX_CHAIN];
		unsigned n = 0;
		json_array_foreach(json_object_get(ch, "certificates"), j, sha) {
			const char *h = json_string_value(sha);
			struct rep_cert *c = rep_is_sha1_hex(h) ? rep_map_get(&rp->certs, h, 40) : NULL;
			if (c && n < REP_MAX_CHAIN)
				certs[n++] = c;
		}
		if (n)
			rep_server_chain(rp->r, s, certs, n, false);
	}
}

static uint64_t jcount(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* The counters of a table of jsonl_fields.h (all JW_U64), added: a member
 * missing or not a positive integer adds nothing. */
static void add_counts(json_t *ev, const struct jw_table *t, struct rep_capture_stats *st)
{
	for (size_t i = 0; i < t->n; i++) {
		uint64_t *p = (uint64_t *)(void *)((char *)st + t->fields[i].off);
		*p += jcount(ev, t->fields[i].name);
	}
}

static void replay_summary(struct replay *rp, json_t *ev)
{
	add_counts(ev, &rep_jf_capture_head, &rp->r->replayed);
	add_counts(ev, &rep_jf_capture_tail, &rp->r->replayed);
}

static void replay_event(void *ctx, json_t *ev)
{
	struct replay *rp = ctx;
	const char *kind = rep_jstr(ev, "event");

	if (!strcmp(kind, "certificate"))
		replay_certificate(rp, ev);
	else if (!strcmp(kind, "tls"))
		replay_tls(rp, ev);
	else if (!strcmp(kind, "server"))
		replay_server(rp, ev);
	else if (!strcmp(kind, "summary"))
		replay_summary(rp, ev);
}

bool rep_replay_events(struct rep *r, const char *path, char *err, size_t errlen)
{
	return rep_replay_events_fp(r, NULL, path, err, errlen);
}

bool rep_replay_events_fp(struct rep *r, FILE *f, const char *path, char *err, size_t errlen)
{
	struct replay rp = { .r = r, .path = path };
	struct rep_line_stats ls = { 0 };

	if (!r || r->finished) {
		snprintf(err, errlen, "%s: the report is already finished", path);
		return false;
	}
	bool ok = rep_jsonl_each_event(f, path, replay_event, &rp, &ls, err, errlen);
	if (ok && r->opt.verbose >= 0) {
		if (rp.no_der)
			fprintf(stderr, "certtrace: --events %s: %llu certificates without \"der\" "
				"(written by an older certtrace?): handshakes naming them lose those "
				"certificates\n", path, (unsigned long long)rp.no_der);
		if (rp.bad_der)
			fprintf(stderr, "certtrace: --events %s: %llu certificates whose \"der\" is "
				"not base64 of their sha1: skipped\n", path,
				(unsigned long long)rp.bad_der);
		if (ls.bad || rp.bad_events)
			fprintf(stderr, "certtrace: --events %s: %llu of %llu lines not certtrace "
				"events: skipped\n", path,
				(unsigned long long)(ls.bad + rp.bad_events),
				(unsigned long long)ls.lines);
		if (!rp.handshakes && !ls.bad)
			fprintf(stderr, "certtrace: --events %s: no \"tls\" events\n", path);
	}
	rep_map_clear(&rp.certs);
	return ok;
}

