/*
 * jsonl.c — the JSON-lines contract (DESIGN.md), through jansson.
 *
 * One compact object per line, flushed at once, so a pipeline sees each
 * handshake as it happens.  Order: a "certificate" event for every
 * certificate the first time it is named, then the "tls" event naming it;
 * at the end one "server" event per server (the inventory, with roles as
 * finally decided -- an addition to the contract), the "finding" events,
 * a "phone_error" event per error of a --phone-log, and "summary" last.
 * A "certificate" event carries the DER ("der", base64) so that --events
 * can rebuild the certificates of an earlier run.
 *
 * Every string we print is already safe (x509.c escapes hostile bytes; SNI
 * is printable ASCII), but jansson refuses invalid UTF-8 outright, so
 * jstr() degrades such a string to '?' bytes rather than losing the field.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "lib/buf.h"
#include "report/rep_int.h"

static json_t *jstr(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_string(s);
	if (v)
		return v;
	char *copy = str_dup(s);
	if (!copy)
		return json_null();
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v ? v : json_null();
}

static json_t *jstr_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

static json_t *jstr_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

static json_t *jtime(uint64_t ts_us)
{
	char buf[40];

	rep_iso_us(ts_us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *jendpoint(const struct rep_endpoint *ep)
{
	return json_pack("{s:o,s:i}", "ip", jstr(ep->ip), "port", (json_int_t)ep->port);
}

/* One line: serialised into a reused buffer and written with one fwrite
 * (json_dumpf writes token by token, which costs more than building). */
static void emit(struct rep *r, json_t *obj)
{
	const size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII;

	if (!obj)
		return;
	size_t n = json_dumpb(obj, r->line, r->line_cap, flags);
	if (n + 1 > r->line_cap) {
		size_t cap = (n + 1) * 2;
		char *b = realloc(r->line, cap);
		if (b) {
			r->line = b;
			r->line_cap = cap;
			n = json_dumpb(obj, r->line, r->line_cap, flags);
		}
	}
	if (r->out && n && n + 1 <= r->line_cap) {
		r->line[n] = '\n';
		fwrite(r->line, 1, n + 1, r->out);
		/* Live, each event goes out as it happens; reading a file, stdio's
		 * buffer saves a write per line (rep_finish flushes at the end). */
		if (r->opt.flush_lines)
			fflush(r->out);
	}
	json_decref(obj);
}

/* The certificate itself, base64 without line breaks: --events rebuilds
 * full certificates from it in a later run. */
static json_t *jder(const struct x509_info *xi)
{
	if (!xi->der || !xi->der_len || xi->der_len > INT32_MAX / 2)
		return json_null();
	size_t cap = 4 * ((xi->der_len + 2) / 3) + 1;
	unsigned char *b = malloc(cap);
	if (!b)
		return json_null();
	EVP_EncodeBlock(b, xi->der, (int)xi->der_len);
	json_t *v = json_string((const char *)b);
	free(b);
	return v ? v : json_null();
}

static json_t *cert_event(const struct x509_info *xi)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "event", json_string("certificate"));
	json_object_set_new(o, "sha1", jstr(xi->sha1_hex));
	json_object_set_new(o, "sha256", jstr(xi->sha256_hex));
	json_object_set_new(o, "thumbprint", jstr(xi->thumbprint));
	json_object_set_new(o, "der", jder(xi));
	if (!xi->parsed) {
		json_object_set_new(o, "error", jstr(xi->error[0] ? xi->error : "unparsable"));
		return o;
	}
	json_object_set_new(o, "subject", jstr(xi->subject));
	json_object_set_new(o, "issuer", jstr(xi->issuer));
	json_object_set_new(o, "serial", jstr(xi->serial));
	json_object_set_new(o, "not_before", jstr(xi->not_before_iso));
	json_object_set_new(o, "not_after", jstr(xi->not_after_iso));
	json_object_set_new(o, "key_type", jstr(xi->key_type));
	json_object_set_new(o, "key_bits", json_integer(xi->key_bits));
	if (xi->key_curve[0])
		json_object_set_new(o, "key_curve", jstr(xi->key_curve));
	json_object_set_new(o, "signature_algorithm", jstr(xi->signature_algorithm));
	json_object_set_new(o, "san", jstr_array(xi->san, xi->n_san));
	json_object_set_new(o, "ski", jstr_or_null(xi->ski));
	json_object_set_new(o, "aki", jstr_or_null(xi->aki));
	json_object_set_new(o, "is_ca", json_boolean(xi->is_ca));
	json_object_set_new(o, "self_signed", json_boolean(xi->self_signed));
	json_object_set_new(o, "eku", jstr_array(xi->eku, xi->n_eku));
	json_object_set_new(o, "crl_dp", jstr_array(xi->crl_dp, xi->n_crl_dp));
	return o;
}

static void announce(struct rep *r, struct rep_cert *c)
{
	if (c->announced)
		return;
	c->announced = true;
	emit(r, cert_event(c->xi));
}

static json_t *cert_ref(const struct rep_cert *c)
{
	const struct x509_info *xi = c->xi;

	return json_pack("{s:o,s:o,s:o}", "sha1", jstr(xi->sha1_hex),
			 "subject", xi->parsed ? jstr(xi->subject) : json_null(),
			 "issuer", xi->parsed ? jstr(xi->issuer) : json_null());
}

static json_t *chain_array(struct rep_cert **certs, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, cert_ref(certs[i]));
	return a;
}

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

void rep_jsonl_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h,
			 struct rep_cert **server_certs, unsigned n_server,
			 struct rep_cert **client_certs, unsigned n_client)
{
	char buf[96];

	for (unsigned i = 0; i < n_server; i++)
		announce(r, server_certs[i]);
	for (unsigned i = 0; i < n_client; i++)
		announce(r, client_certs[i]);

	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "event", json_string("tls"));
	json_object_set_new(o, "ts", jtime(h->ts_us));
	json_object_set_new(o, "client", jendpoint(&h->client));
	json_object_set_new(o, "server", jendpoint(&h->server));
	json_object_set_new(o, "version", h->server_hello
			    ? jstr(tls_version_name(h->version)) : json_null());
	json_object_set_new(o, "cipher", h->server_hello
			    ? jstr(tls_cipher_name(h->cipher, buf, sizeof(buf))) : json_null());
	json_object_set_new(o, "sni", jstr_or_null(h->sni));
	json_t *alpn = json_array();
	for (unsigned i = 0; alpn && i < h->n_alpn && i < REP_MAX_ALPN; i++)
		json_array_append_new(alpn, jstr(h->alpn[i]));
	json_object_set_new(o, "alpn", alpn);
	json_object_set_new(o, "ja3", jstr_or_null(h->ja3));
	json_object_set_new(o, "ja3s", jstr_or_null(h->ja3s));
	json_object_set_new(o, "resumed", json_boolean(h->resumed));
	json_object_set_new(o, "certificates_visible", json_boolean(h->certificates_visible));
	if (h->server_hello && h->version == TLS_VERSION_1_3) {
		/* Only TLS 1.3 hides certificates: whether a key log opened them. */
		json_object_set_new(o, "decrypted", json_boolean(h->decrypted));
		json_object_set_new(o, "decrypt_error", jstr_or_null(h->decrypt_error));
	}
	if (h->snaplen_cut_packets) {
		/* Only when the capture's snaplen cut this flow (--events reads them back). */
		json_object_set_new(o, "snaplen_cut_packets", json_integer(h->snaplen_cut_packets));
		json_object_set_new(o, "snaplen", json_integer(h->snaplen));
	}
	json_object_set_new(o, "server_chain", chain_array(server_certs, n_server));
	json_object_set_new(o, "server_chain_truncated", json_boolean(h->server_chain.truncated));
	json_object_set_new(o, "server_chain_ts", h->server_chain.present && h->server_chain.ts_us
			    ? jtime(h->server_chain.ts_us) : json_null());
	json_object_set_new(o, "client_chain", chain_array(client_certs, n_client));
	json_t *cas = json_array();
	for (unsigned i = 0; cas && i < h->n_ca_names && i < REP_MAX_CA_NAMES; i++) {
		char *dn = x509_name_der_to_string(h->ca_names[i].data, h->ca_names[i].len);
		json_array_append_new(cas, jstr(dn ? dn : "<unparsable name>"));
		free(dn);
	}
	json_object_set_new(o, "acceptable_cas", cas);
	json_t *alerts = json_array();
	for (unsigned i = 0; alerts && i < h->n_alerts && i < REP_MAX_ALERTS; i++) {
		const struct rep_hs_alert *a = &h->alerts[i];
		json_t *ao = json_pack("{s:o,s:s,s:s,s:o}", "ts", jtime(a->ts_us),
				       "from", a->from_client ? "client" : "server",
				       "level", a->encrypted ? "encrypted" :
				       a->level == TLS_ALERT_LEVEL_FATAL ? "fatal" :
				       a->level == TLS_ALERT_LEVEL_WARNING ? "warning" : "unknown",
				       "description", a->encrypted ? json_null()
				       : jstr(tls_alert_name(a->description)));
		if (ao)
			json_array_append_new(alerts, ao);
	}
	json_object_set_new(o, "alerts", alerts);
	json_object_set_new(o, "role", json_string(rep_role_name(s->role)));
	json_object_set_new(o, "app", jstr_or_null(h->app));
	json_object_set_new(o, "status", json_string(status_name(h->status)));
	json_object_set_new(o, "reason", jstr_or_null(h->reason));
	json_object_set_new(o, "preamble", jstr_or_null(h->preamble));
	json_t *risks = json_array();
	for (unsigned i = 0; risks && i < h->n_risks && i < REP_MAX_RISKS; i++)
		json_array_append_new(risks, jstr(h->risks[i]));
	json_object_set_new(o, "dpi_risks", risks);
	emit(r, o);
}

static json_t *server_ref(const struct rep_server *s)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (s->file) {
		json_object_set_new(o, "ip", json_null());
		json_object_set_new(o, "port", json_null());
		json_object_set_new(o, "file", jstr(s->file));
	} else {
		json_object_set_new(o, "ip", jstr(s->ep.ip));
		json_object_set_new(o, "port", json_integer(s->ep.port));
	}
	json_object_set_new(o, "name", jstr(rep_server_name(s)));
	json_object_set_new(o, "role", json_string(rep_role_name(s->role)));
	return o;
}

static json_t *seen_fields(json_t *o, const struct rep_seen *seen)
{
	json_object_set_new(o, "handshake_count", json_integer((json_int_t)seen->count));
	json_object_set_new(o, "first_seen", seen->count ? jtime(seen->first_us) : json_null());
	json_object_set_new(o, "last_seen", seen->count ? jtime(seen->last_us) : json_null());
	return o;
}

static json_t *server_event(const struct rep_server *s)
{
	json_t *o = server_ref(s);

	if (!o)
		return NULL;
	json_object_set_new(o, "role_reason", jstr(s->role_reason));
	json_object_set_new(o, "phone_facing", json_boolean(s->phone_facing));
	json_object_set_new(o, "phone_facing_reason", jstr(s->facing_reason));
	json_object_set_new(o, "phone_clients",
			    jstr_array((char *const *)s->phone_clients, s->n_phone_clients));
	if (s->baseline_only)
		json_object_set_new(o, "baseline_only", json_true());
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string("server"));
	json_object_update(ev, o);
	json_decref(o);
	json_object_set_new(ev, "sni", jstr_array(s->sni, s->n_sni));
	json_object_set_new(ev, "clients", jstr_array(s->clients, s->n_clients));
	json_object_set_new(ev, "clients_truncated", json_boolean(s->clients_more));
	seen_fields(ev, &s->seen);
	json_object_set_new(ev, "resumed", json_integer((json_int_t)s->resumed));
	json_object_set_new(ev, "hidden", json_integer((json_int_t)s->hidden));
	json_t *chains = json_array();
	for (unsigned i = 0; chains && i < s->n_chains; i++) {
		const struct rep_chain *c = s->chains[i];
		json_t *co = json_object();
		json_t *certs = json_array();
		for (unsigned j = 0; certs && j < c->n; j++)
			json_array_append_new(certs, jstr(c->certs[j]->xi->sha1_hex));
		json_object_set_new(co, "certificates", certs);
		json_object_set_new(co, "truncated", json_boolean(c->truncated));
		seen_fields(co, &c->seen);
		if (c->trust_checked) {
			/* null: a public root the phones may or may not carry */
			json_object_set_new(co, "trusted_by_phones", c->trust_unknown ? json_null()
					    : json_boolean(c->trusted));
			json_object_set_new(co, "trust_method", jstr(c->trust_method));
		}
		json_array_append_new(chains, co);
	}
	json_object_set_new(ev, "chains", chains);
	json_object_set_new(ev, "not_checked", jstr_or_null(s->not_checked));
	return ev;
}

static json_t *finding_event(const struct rep_finding *f)
{
	const struct rep_finding_def *def = &rep_finding_defs[f->code];
	json_t *o = json_object();
	json_t *ev = json_object();
	json_t *certs = json_array(), *hs = json_array();

	if (!o || !ev || !certs || !hs) {
		json_decref(o);
		json_decref(ev);
		json_decref(certs);
		json_decref(hs);
		return NULL;
	}
	json_object_set_new(o, "event", json_string("finding"));
	json_object_set_new(o, "code", json_string(def->name));
	json_object_set_new(o, "severity", json_string(rep_severity_name(f->severity)));
	json_object_set_new(o, "server", server_ref(f->server));
	json_object_set_new(o, "message", jstr(f->message));
	json_object_set_new(o, "symptom", jstr(f->symptom));
	json_object_set_new(o, "remedy", jstr(f->remedy));

	for (unsigned i = 0; i < f->n_certs; i++) {
		const struct x509_info *xi = f->certs[i]->xi;
		json_array_append_new(certs, json_pack("{s:o,s:o,s:o,s:o}",
			"sha1", jstr(xi->sha1_hex), "thumbprint", jstr(xi->thumbprint),
			"subject", xi->parsed ? jstr(xi->subject) : json_null(),
			"issuer", xi->parsed ? jstr(xi->issuer) : json_null()));
	}
	json_object_set_new(ev, "certificates", certs);
	for (unsigned i = 0; i < f->seen.n_samples; i++) {
		const struct rep_sample *x = &f->seen.samples[i];
		json_array_append_new(hs, json_pack("{s:o,s:o}", "ts", jtime(x->ts_us),
						    "client", jendpoint(&x->client)));
	}
	json_object_set_new(ev, "handshakes", hs);
	seen_fields(ev, &f->seen);
	if (f->n_names)
		json_object_set_new(ev, def->evidence_names ? def->evidence_names : "names",
				    jstr_array(f->names, f->n_names));
	for (unsigned i = 0; i < f->n_facts; i++)
		json_object_set_new(ev, f->facts[i].key, jstr(f->facts[i].value));
	json_object_set_new(o, "evidence", ev);
	return o;
}

/* --phone-log: one event per error, with the finding that explains it. */
static json_t *phone_error_event(const struct rep_phone_error *e)
{
	struct rep_phone_words w;
	json_t *o = json_object();

	if (!o)
		return NULL;
	rep_phone_describe(e, &w);
	json_object_set_new(o, "event", json_string("phone_error"));
	json_object_set_new(o, "ts", jstr_or_null(e->ts));
	json_object_set_new(o, "code", jstr(w.code));
	json_object_set_new(o, "name", jstr(w.name));
	json_object_set_new(o, "meaning", jstr(w.meaning));
	json_object_set_new(o, "text", jstr_or_null(e->text));
	json_object_set_new(o, "hr", jstr_or_null(w.hr));
	if (w.hr[0]) {
		json_object_set_new(o, "hr_name", jstr(w.hr_name));
		json_object_set_new(o, "hr_meaning", jstr(w.hr_meaning));
	}
	json_object_set_new(o, "url", jstr_or_null(e->url));
	json_object_set_new(o, "host", jstr_or_null(e->host));
	json_object_set_new(o, "port", e->url ? json_integer(e->port) : json_null());
	json_object_set_new(o, "file", jstr(e->file));
	json_object_set_new(o, "line", json_integer(e->line));
	if (e->explained_by) {
		const struct rep_finding *f = e->explained_by;
		json_object_set_new(o, "explained_by", json_pack("{s:s,s:s,s:o,s:o}",
			"code", rep_finding_defs[f->code].name, "severity", rep_severity_name(f->severity),
			"server", server_ref(f->server), "via", jstr(e->via)));
	} else {
		json_object_set_new(o, "explained_by", json_null());
	}
	return o;
}

void rep_jsonl_finish(struct rep *r, const struct rep_capture_stats *st)
{
	for (size_t i = 0; i < r->server_list.n; i++)
		emit(r, server_event(r->server_list.v[i]));
	for (size_t i = 0; i < r->finding_list.n; i++)
		emit(r, finding_event(r->finding_list.v[i]));
	for (size_t i = 0; i < r->phone.errors.n; i++)
		emit(r, phone_error_event(r->phone.errors.v[i]));

	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "event", json_string("summary"));
	json_object_set_new(o, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "flows", json_integer((json_int_t)st->flows));
	json_object_set_new(o, "tcp_flows", json_integer((json_int_t)st->tcp_flows));
	json_object_set_new(o, "handshakes", json_integer((json_int_t)r->handshakes));
	json_object_set_new(o, "servers", json_integer((json_int_t)rep_servers_seen(r)));
	json_object_set_new(o, "certificates", json_integer((json_int_t)r->wire_certs));
	json_object_set_new(o, "findings", json_pack("{s:i,s:i,s:i}",
		"critical", (json_int_t)r->n_by_severity[REP_CRITICAL],
		"warning", (json_int_t)r->n_by_severity[REP_WARNING],
		"info", (json_int_t)r->n_by_severity[REP_INFO]));
	json_object_set_new(o, "truncated_packets", json_integer((json_int_t)st->truncated_packets));
	json_object_set_new(o, "skipped_packets", json_integer((json_int_t)st->skipped_packets));
	json_object_set_new(o, "fragments_skipped", json_integer((json_int_t)st->fragments_skipped));
	json_object_set_new(o, "evicted_flows", json_integer((json_int_t)st->evicted_flows));
	json_object_set_new(o, "gaps", json_integer((json_int_t)st->gaps));
	json_object_set_new(o, "dpi_detection_misses", json_integer((json_int_t)st->dpi_detection_misses));
	json_object_set_new(o, "dpi_disagreements", json_integer((json_int_t)st->dpi_disagreements));
	json_t *enc = json_object();
	for (unsigned i = 0; enc && i < st->n_encaps; i++)
		if (st->encaps[i].packets)
			json_object_set_new(enc, st->encaps[i].name,
					    json_integer((json_int_t)st->encaps[i].packets));
	if (enc && json_object_size(enc))
		json_object_set_new(o, "encapsulations", enc);
	else
		json_decref(enc);
	if (st->truncated_file)
		json_object_set_new(o, "truncated_file", json_string(st->truncated_file));
	if (st->live) {
		json_object_set_new(o, "kernel_received", json_integer((json_int_t)st->kernel_received));
		json_object_set_new(o, "kernel_dropped", json_integer((json_int_t)st->kernel_dropped));
		json_object_set_new(o, "kernel_ifdropped", json_integer((json_int_t)st->kernel_ifdropped));
	}
	if (r->phone.files) {
		unsigned explained = 0;
		for (size_t i = 0; i < r->phone.errors.n; i++)
			explained += ((const struct rep_phone_error *)r->phone.errors.v[i])->explained_by != NULL;
		json_object_set_new(o, "phone_log", json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}",
			"files", (json_int_t)r->phone.files,
			"lines", (json_int_t)r->phone.lines,
			"not_understood", (json_int_t)r->phone.not_understood,
			"errors", (json_int_t)(r->phone.errors.n + r->phone.errors_dropped),
			"explained", (json_int_t)explained,
			"ews_urls", (json_int_t)r->phone.ews.n));
	}
	json_object_set_new(o, "verdict", json_string(rep_verdict_name(r->verdict)));
	struct buf why = BUF_INIT(4096);
	rep_verdict_reason(r, &why);
	json_object_set_new(o, "verdict_reason", jstr_or_null(buf_str(&why)));
	buf_free(&why);
	json_t *nc = json_array();
	for (size_t i = 0; nc && i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		if (!s->not_checked[0])
			continue;
		json_t *so = server_ref(s);
		json_object_set_new(so, "phone_facing", json_boolean(s->phone_facing));
		json_object_set_new(so, "needed", json_boolean(rep_server_needed(s)));
		json_object_set_new(so, "reason", jstr(s->not_checked));
		json_array_append_new(nc, so);
	}
	json_object_set_new(o, "not_checked", nc);
	json_object_set_new(o, "exit_status", json_integer(r->status));
	emit(r, o);
}

/* ---- live (report/live.c) ---------------------------------------------------- */

void rep_jsonl_finding(struct rep *r, const struct rep_finding *f)
{
	emit(r, finding_event(f));
}

void rep_jsonl_stats(struct rep *r, const struct rep_live_stats *st, uint64_t findings)
{
	json_t *o = json_object();

	if (!o)
		return;
	json_object_set_new(o, "event", json_string("stats"));
	json_object_set_new(o, "ts", jtime(st->ts_us));
	json_object_set_new(o, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	if (st->kernel) {
		json_object_set_new(o, "kernel_received", json_integer((json_int_t)st->kernel_received));
		json_object_set_new(o, "kernel_dropped", json_integer((json_int_t)st->kernel_dropped));
		json_object_set_new(o, "kernel_ifdropped", json_integer((json_int_t)st->kernel_ifdropped));
	}
	json_object_set_new(o, "flows_active", json_integer((json_int_t)st->flows_active));
	json_object_set_new(o, "flows", json_integer((json_int_t)st->flows_total));
	json_object_set_new(o, "handshakes", json_integer((json_int_t)r->handshakes));
	json_object_set_new(o, "servers", json_integer((json_int_t)rep_servers_seen(r)));
	json_object_set_new(o, "certificates", json_integer((json_int_t)r->wire_certs));
	json_object_set_new(o, "findings", json_integer((json_int_t)findings));
	emit(r, o);
}
