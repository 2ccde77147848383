/*
 * events.c — earlier runs' jsonl output as input: --events replays their
 * handshakes into this report, --baseline compares this run with one.
 *
 * --events: every "certificate" event carries its DER ("der", base64), so
 * a "tls" event can be turned back into the handshake it describes (the
 * server chain as DER, SNI, version, alerts, ...) and handed to
 * rep_handshake() as if it had just been captured.  The inventory, roles
 * and every rule then run over all the runs together: the findings are
 * those of one run over all the captures (pool-issuer-split between two
 * FE servers seen from two capture points).  --cert pseudo-servers come
 * back from their "server" events; the runs' "summary" counters are added
 * to this run's.  What jsonl does not carry is not replayed: the DER of
 * CertificateRequest CA names (acceptable_cas), TLS randoms and session ids.
 *
 * --baseline: the servers of an earlier run (address, port, the leaf
 * certificates they presented and who issued them) are kept as plain
 * text, never interned: a certificate of the baseline must not change what
 * the trust rules decide about this run.  At the end, rep_baseline_rules()
 * reports certificate-changed for a server that presents a leaf the
 * baseline did not have (saying whether the issuing CA changed too), that
 * is new, or that is gone.
 *
 * Input is untrusted text: lines longer than EVENTS_MAX_LINE_BYTES, lines
 * that are not JSON objects and events with fields of the wrong type are
 * counted and skipped; certificates whose DER does not hash to their sha1
 * are dropped.
 */
#define _GNU_SOURCE             /* timegm */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "report/rep_int.h"

#define EVENTS_MAX_LINE_BYTES (8u * 1024 * 1024)
#define EVENTS_MAX_DER_BYTES  (1u * 1024 * 1024)
#define REPLAY_UNASSIGNED_ALERT 255    /* IANA "TLS Alerts": 122-255 unassigned */

/* ---- reading jsonl ----------------------------------------------------------------- */

typedef void (*event_fn)(void *ctx, json_t *ev);

struct line_stats {
	uint64_t lines, bad;
};

/* One whole line: counted, parsed, handed to fn if it is an event. */
static void one_line(const struct buf *line, bool too_long, event_fn fn, void *ctx,
		     struct line_stats *ls)
{
	if (too_long) {
		ls->lines++;
		ls->bad++;
		return;
	}
	if (!buf_len(line))
		return;
	ls->lines++;
	json_error_t je;
	json_t *ev = json_loadb(buf_str(line), buf_len(line), JSON_REJECT_DUPLICATES, &je);
	if (json_is_object(ev) && json_is_string(json_object_get(ev, "event")))
		fn(ctx, ev);
	else
		ls->bad++;
	json_decref(ev);
}

static bool each_event_fp(FILE *f, const char *path, event_fn fn, void *ctx,
			  struct line_stats *ls, char *err, size_t errlen);

/* Calls fn for each line that is a JSON object with a string "event";
 * f when the caller opened the file ("-" is stdin), else path is opened. */
static bool each_event(FILE *f, const char *path, event_fn fn, void *ctx,
		       struct line_stats *ls, char *err, size_t errlen)
{
	bool ok;

	if (f || !strcmp(path, "-"))
		return each_event_fp(f ? f : stdin, path, fn, ctx, ls, err, errlen);
	if (!(f = fopen(path, "rb"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	ok = each_event_fp(f, path, fn, ctx, ls, err, errlen);
	fclose(f);
	return ok;
}

static bool each_event_fp(FILE *f, const char *path, event_fn fn, void *ctx,
			  struct line_stats *ls, char *err, size_t errlen)
{
	char chunk[65536];
	struct buf line = BUF_INIT(EVENTS_MAX_LINE_BYTES);
	bool ok = true;

	for (;;) {
		size_t got = fread(chunk, 1, sizeof(chunk), f);
		bool eof = got == 0;
		if (eof && ferror(f)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			ok = false;
			break;
		}
		for (size_t i = 0; i < got; ) {
			const char *nl = memchr(chunk + i, '\n', got - i);
			size_t n = nl ? (size_t)(nl - (chunk + i)) : got - i;
			buf_append(&line, chunk + i, n);     /* fails for good past the cap */
			i += n + (nl ? 1 : 0);
			if (!nl)
				break;                 /* the line goes on in the next chunk */
			one_line(&line, !buf_ok(&line), fn, ctx, ls);
			buf_reset(&line);
		}
		if (eof) {
			if (buf_len(&line) || !buf_ok(&line))   /* the last line, unended */
				one_line(&line, !buf_ok(&line), fn, ctx, ls);
			break;
		}
	}
	buf_free(&line);
	return ok;
}

static const char *jget_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool parse_iso(const char *s, uint64_t *ts_us)
{
	struct tm tm = { 0 };
	int n = 0;
	unsigned frac = 0, digits = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return false;
	const char *p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 6) {
				frac = frac * 10 + (unsigned)(*p - '0');
				digits++;
			}
	while (digits < 6) {
		frac *= 10;
		digits++;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t < 0)
		return false;
	*ts_us = (uint64_t)t * 1000000u + frac;
	return true;
}

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

static bool is_sha1_hex(const char *s)
{
	if (!s || strlen(s) != 40)
		return false;
	for (int i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* ---- --events ---------------------------------------------------------------------- */

struct replay {
	struct rep *r;
	const char *path;
	struct rep_map certs;          /* sha1 hex -> rep_cert */
	uint64_t no_der, bad_der, missing_certs, bad_events, handshakes;
};

static void replay_certificate(struct replay *rp, json_t *ev)
{
	const char *sha1 = jget_str(ev, "sha1"), *der64 = jget_str(ev, "der");
	uint8_t md[SHA_DIGEST_LENGTH];
	char hex[41];
	size_t len;

	if (!is_sha1_hex(sha1)) {
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

static bool endpoint(json_t *o, struct rep_endpoint *ep)
{
	const char *ip = jget_str(o, "ip");
	json_t *port = json_object_get(o, "port");

	if (!ip || strlen(ip) >= sizeof(ep->ip) || !json_is_integer(port) ||
	    json_integer_value(port) < 0 || json_integer_value(port) > 65535)
		return false;
	snprintf(ep->ip, sizeof(ep->ip), "%s", ip);
	ep->port = (uint16_t)json_integer_value(port);
	return true;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static void fill_chain(struct replay *rp, json_t *arr, struct rep_hs_chain *ch, uint64_t ts_us)
{
	size_t i;
	json_t *v;

	ch->ts_us = ts_us;
	ch->present = json_array_size(arr) > 0;
	json_array_foreach(arr, i, v) {
		const char *sha1 = jget_str(v, "sha1");
		struct rep_cert *c = is_sha1_hex(sha1) ? rep_map_get(&rp->certs, sha1, 40) : NULL;
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
		const char *level = jget_str(v, "level"), *from = jget_str(v, "from");
		bool known = alert_code(jget_str(v, "description"), &a->description);
		a->from_client = from && !strcmp(from, "client");
		a->encrypted = level && !strcmp(level, "encrypted");
		a->level = level && !strcmp(level, "fatal") ? TLS_ALERT_LEVEL_FATAL
			   : level && !strcmp(level, "warning") ? TLS_ALERT_LEVEL_WARNING : 0;
		if (!parse_iso(jget_str(v, "ts"), &a->ts_us))
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

	if (!parse_iso(jget_str(ev, "ts"), &h.ts_us) ||
	    !endpoint(json_object_get(ev, "client"), &h.client) ||
	    !endpoint(json_object_get(ev, "server"), &h.server)) {
		rp->bad_events++;
		return;
	}
	h.status = status_code(jget_str(ev, "status"));
	h.reason = jget_str(ev, "reason");
	h.preamble = jget_str(ev, "preamble");
	copy_str(txt.sni, sizeof(txt.sni), jget_str(ev, "sni"));
	h.sni = txt.sni;
	json_array_foreach(json_object_get(ev, "alpn"), i, v) {
		if (h.n_alpn < REP_MAX_ALPN && json_is_string(v)) {
			copy_str(txt.alpn[h.n_alpn], sizeof(txt.alpn[0]), json_string_value(v));
			h.alpn[h.n_alpn] = txt.alpn[h.n_alpn];
			h.n_alpn++;
		}
	}
	copy_str(txt.ja3, sizeof(txt.ja3), jget_str(ev, "ja3"));
	copy_str(txt.ja3s, sizeof(txt.ja3s), jget_str(ev, "ja3s"));
	h.ja3 = txt.ja3;
	h.ja3s = txt.ja3s;
	h.server_hello = tls_version_code(jget_str(ev, "version"), &h.version);
	/* A name we do not know was a number we did not know either: 0, as
	 * before this run. */
	if (!tls_cipher_code(jget_str(ev, "cipher"), &h.cipher))
		h.cipher = 0;
	h.resumed = json_is_true(json_object_get(ev, "resumed"));
	h.certificates_visible = json_is_true(json_object_get(ev, "certificates_visible"));
	h.decrypted = json_is_true(json_object_get(ev, "decrypted"));
	h.decrypt_error = jget_str(ev, "decrypt_error");
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
	if (parse_iso(jget_str(ev, "server_chain_ts"), &cert_us))
		h.server_chain.ts_us = cert_us;
	if (json_is_true(json_object_get(ev, "server_chain_truncated"))) {
		h.server_chain.present = true;
		h.server_chain.truncated = true;
	}
	replay_alerts(&h, json_object_get(ev, "alerts"));
	h.app = jget_str(ev, "app");
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
	const char *file = jget_str(ev, "file");
	enum rep_role role;
	size_t i, j;
	json_t *ch, *sha;

	if (!file || !rep_role_parse(jget_str(ev, "role") ? jget_str(ev, "role") : "", &role))
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
			struct rep_cert *c = is_sha1_hex(h) ? rep_map_get(&rp->certs, h, 40) : NULL;
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

static void replay_summary(struct replay *rp, json_t *ev)
{
	struct rep_capture_stats *st = &rp->r->replayed;

	st->packets += jcount(ev, "packets");
	st->bytes += jcount(ev, "bytes");
	st->flows += jcount(ev, "flows");
	st->tcp_flows += jcount(ev, "tcp_flows");
	st->truncated_packets += jcount(ev, "truncated_packets");
	st->skipped_packets += jcount(ev, "skipped_packets");
	st->fragments_skipped += jcount(ev, "fragments_skipped");
	st->evicted_flows += jcount(ev, "evicted_flows");
	st->gaps += jcount(ev, "gaps");
	st->dpi_detection_misses += jcount(ev, "dpi_detection_misses");
	st->dpi_disagreements += jcount(ev, "dpi_disagreements");
}

static void replay_event(void *ctx, json_t *ev)
{
	struct replay *rp = ctx;
	const char *kind = jget_str(ev, "event");

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
	struct line_stats ls = { 0 };

	if (!r || r->finished) {
		snprintf(err, errlen, "%s: the report is already finished", path);
		return false;
	}
	bool ok = each_event(f, path, replay_event, &rp, &ls, err, errlen);
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

/* ---- --baseline --------------------------------------------------------------------- */

struct base_cert {
	char sha1[41];
	char thumbprint[41];
	char *subject, *issuer;
	char aki[129];
};

struct base_server {
	struct rep_endpoint ep;
	char *name;
	enum rep_role role;
	unsigned n_leaves;
	char leaves[REP_MAX_CHAINS][41];
};

struct rep_baseline {
	const char *path;
	struct rep_map certs;          /* sha1 -> base_cert */
	struct rep_vec cert_list;
	struct rep_map servers;        /* "ip|port" -> base_server */
	struct rep_vec server_list;
	struct line_stats ls;
};

static struct base_server *base_server_get(struct rep_baseline *b, const struct rep_endpoint *ep)
{
	char key[64];
	int klen = snprintf(key, sizeof(key), "%s|%u", ep->ip, (unsigned)ep->port);
	struct base_server *s = rep_map_get(&b->servers, key, (size_t)klen);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ep = *ep;
	if (!rep_vec_push(&b->server_list, s)) {
		free(s);
		return NULL;
	}
	if (!rep_map_put(&b->servers, key, (size_t)klen, s)) {
		rep_vec_pop(&b->server_list);
		free(s);
		return NULL;
	}
	return s;
}

static void base_add_leaf(struct base_server *s, const char *sha1)
{
	if (!is_sha1_hex(sha1))
		return;
	for (unsigned i = 0; i < s->n_leaves; i++)
		if (!strcmp(s->leaves[i], sha1))
			return;
	if (s->n_leaves < REP_MAX_CHAINS)
		memcpy(s->leaves[s->n_leaves++], sha1, 41);
}

static void baseline_event(void *ctx, json_t *ev)
{
	struct rep_baseline *b = ctx;
	const char *kind = jget_str(ev, "event");
	struct rep_endpoint ep;

	if (!strcmp(kind, "certificate")) {
		const char *sha1 = jget_str(ev, "sha1");
		if (!is_sha1_hex(sha1) || rep_map_get(&b->certs, sha1, 40))
			return;
		struct base_cert *c = calloc(1, sizeof(*c));
		if (!c)
			return;
		memcpy(c->sha1, sha1, 41);
		copy_str(c->thumbprint, sizeof(c->thumbprint), jget_str(ev, "thumbprint"));
		copy_str(c->aki, sizeof(c->aki), jget_str(ev, "aki"));
		c->subject = str_dup(jget_str(ev, "subject"));
		c->issuer = str_dup(jget_str(ev, "issuer"));
		if (!rep_vec_push(&b->cert_list, c) || !rep_map_put(&b->certs, sha1, 40, c)) {
			if (b->cert_list.n && b->cert_list.v[b->cert_list.n - 1] == c)
				rep_vec_pop(&b->cert_list);
			free(c->subject);
			free(c->issuer);
			free(c);
		}
	} else if (!strcmp(kind, "tls")) {
		json_t *chain = json_object_get(ev, "server_chain");
		if (!endpoint(json_object_get(ev, "server"), &ep) || !json_array_size(chain))
			return;
		struct base_server *s = base_server_get(b, &ep);
		if (s)
			base_add_leaf(s, jget_str(json_array_get(chain, 0), "sha1"));
	} else if (!strcmp(kind, "server")) {
		size_t i;
		json_t *ch;
		enum rep_role role;
		if (!endpoint(ev, &ep))
			return;            /* a --cert pseudo-server: no address to compare */
		struct base_server *s = base_server_get(b, &ep);
		if (!s)
			return;
		if (!s->name)
			s->name = str_dup(jget_str(ev, "name"));
		if (rep_role_parse(jget_str(ev, "role") ? jget_str(ev, "role") : "", &role))
			s->role = role;
		json_array_foreach(json_object_get(ev, "chains"), i, ch)
			base_add_leaf(s, json_string_value(json_array_get(json_object_get(ch,
								"certificates"), 0)));
	}
}

bool rep_baseline_load(struct rep *r, FILE *f, const char *path, char *err, size_t errlen)
{
	struct rep_baseline *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	b->path = path;
	r->baseline = b;
	if (!each_event(f, path, baseline_event, b, &b->ls, err, errlen))
		return false;
	if (!b->server_list.n) {
		snprintf(err, errlen, "--baseline %s: no servers in it (%llu lines, %llu not "
			 "certtrace events); give the jsonl output of a certtrace run", path,
			 (unsigned long long)b->ls.lines, (unsigned long long)b->ls.bad);
		return false;
	}
	return true;
}

void rep_baseline_free(struct rep *r)
{
	struct rep_baseline *b = r->baseline;

	if (!b)
		return;
	for (size_t i = 0; i < b->cert_list.n; i++) {
		struct base_cert *c = b->cert_list.v[i];
		free(c->subject);
		free(c->issuer);
		free(c);
	}
	for (size_t i = 0; i < b->server_list.n; i++) {
		struct base_server *s = b->server_list.v[i];
		free(s->name);
		free(s);
	}
	rep_vec_clear(&b->cert_list);
	rep_vec_clear(&b->server_list);
	rep_map_clear(&b->certs);
	rep_map_clear(&b->servers);
	free(b);
	r->baseline = NULL;
}

static void describe_base_cert(struct rep_finding *f, const struct rep_baseline *b,
			       const char *sha1)
{
	const struct base_cert *c = rep_map_get(&b->certs, sha1, 40);

	if (!c) {
		rep_finding_set_fact(f, "baseline_certificate", "SHA-1 %s", sha1);
		return;
	}
	rep_finding_set_fact(f, "baseline_certificate", "%s (thumbprint %s)",
			     c->subject ? c->subject : "?", c->thumbprint);
	if (c->issuer)
		rep_finding_set_fact(f, "baseline_issuing_ca", "%s", c->issuer);
}

/* Did the issuing CA change?  Name, and key identifier when both have one. */
static bool same_issuer(const struct base_cert *old, const struct x509_info *xi)
{
	if (!old || !old->issuer || !xi->parsed || strcmp(old->issuer, xi->issuer))
		return false;
	return !old->aki[0] || !xi->aki[0] || !strcmp(old->aki, xi->aki);
}

static bool has_leaf(const struct base_server *bs, const char *sha1)
{
	for (unsigned i = 0; i < bs->n_leaves; i++)
		if (!strcmp(bs->leaves[i], sha1))
			return true;
	return false;
}

static void changed_chain(struct rep *r, const struct rep_baseline *b, struct rep_server *s,
			  const struct base_server *bs, struct rep_chain *c)
{
	struct rep_cert *leaf = c->certs[0];
	const struct x509_info *xi = leaf->xi;

	if (bs && has_leaf(bs, xi->sha1_hex))
		return;
	struct rep_finding *f = rep_finding_get(r, RC_CERTIFICATE_CHANGED, s, leaf);
	if (!f)
		return;
	rep_seen_merge(&f->seen, &c->seen);
	rep_finding_set_fact(f, "baseline", "%s", b->path);
	if (xi->parsed)
		rep_finding_set_fact(f, "issuing_ca", "%s", xi->issuer);
	if (!bs) {
		rep_finding_set_fact(f, "change", "appeared");
		return;
	}
	const struct base_cert *old = rep_map_get(&b->certs, bs->leaves[0], 40);
	describe_base_cert(f, b, bs->leaves[0]);
	rep_finding_set_fact(f, "change", "%s", same_issuer(old, xi)
			     ? "certificate" : "certificate and issuing CA");
}

void rep_baseline_rules(struct rep *r)
{
	const struct rep_baseline *b = r->baseline;
	size_t n_now = r->server_list.n;

	if (!b)
		return;
	for (size_t i = 0; i < n_now; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (s->file || s->baseline_only)
			continue;
		char key[64];
		int klen = snprintf(key, sizeof(key), "%s|%u", s->ep.ip, (unsigned)s->ep.port);
		const struct base_server *bs = rep_map_get(&b->servers, key, (size_t)klen);
		if (bs && !bs->n_leaves)
			continue;          /* its certificates were not visible then */
		for (unsigned j = 0; j < s->n_chains; j++)
			if (s->chains[j]->n)
				changed_chain(r, b, s, bs, s->chains[j]);
	}
	for (size_t i = 0; i < b->server_list.n; i++) {
		const struct base_server *bs = b->server_list.v[i];
		char key[64];
		int klen = snprintf(key, sizeof(key), "%s|%u", bs->ep.ip, (unsigned)bs->ep.port);
		if (!bs->n_leaves || rep_map_get(&r->servers, key, (size_t)klen))
			continue;
		struct rep_server *s = rep_server_get(r, &bs->ep);
		if (!s)
			continue;
		s->baseline_only = true;
		r->baseline_only_servers++;
		s->role = bs->role;
		s->role_explicit = true;
		snprintf(s->role_reason, sizeof(s->role_reason), "its role in --baseline %s",
			 b->path);
		struct rep_finding *f = rep_finding_get(r, RC_CERTIFICATE_CHANGED, s, NULL);
		if (!f)
			continue;
		rep_finding_set_fact(f, "baseline", "%s", b->path);
		if (bs->name && bs->name[0])
			rep_finding_set_fact(f, "baseline_name", "%s", bs->name);
		rep_finding_set_fact(f, "change", "disappeared");
		describe_base_cert(f, b, bs->leaves[0]);
	}
}
