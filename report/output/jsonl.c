/*
 * jsonl.c — the JSON-lines contract (DESIGN.md), through lib/json.h's
 * streaming writer.
 *
 * One compact object per line.  Order: a "certificate" event for every
 * certificate the first time it is named, then the "tls" event naming it;
 * at the end one "server" event per server (the inventory, with roles as
 * finally decided -- an addition to the contract), the "finding" events,
 * a "phone_error" event per error of a --phone-log, and "summary" last.
 * A "certificate" event carries the DER ("der", base64) so that --events
 * can rebuild the certificates of an earlier run.
 *
 * Two ideas a reader needs:
 *  - No tree, no allocation per event.  Each event is written member by
 *    member into the report's one jw line buffer (r->jw), which grows to the
 *    longest line once and is reused; emit() hands the line to stdio in one
 *    fwrite.  The bytes are those jansson's json_dumpb(JSON_COMPACT |
 *    JSON_ENSURE_ASCII) printed when this file built a tree per event
 *    (lib/json.h says how, tests/test_json.c checks it against jansson), so
 *    a string that is not valid UTF-8 still comes out with its bad bytes as
 *    '?' rather than losing the field, and times are rep_iso_us()'s text
 *    for every uint64_t.  Members shared with the --events reader are
 *    spelled once, in jsonl_fields.c.
 *  - Every line is checked.  A line the writer refuses (over its cap) or
 *    stdio cannot take is said once on stderr with the reason, nothing
 *    more is written, and the run exits 2 (rep_finish, rep_writes_ok):
 *    output that cannot be written is an error (DESIGN.md "Exit status"),
 *    not a shorter report.  (certtrace's own streams are lib/sink.h's,
 *    which check and say their write(2)s themselves; stdio then never
 *    fails here, and only the writer's own refusals are said by this file.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/json.h"
#include "report/output/jsonl_fields.h"
#include "report/rep_int.h"

/* ---- the line -------------------------------------------------------------------------- */

void rep_output_fail(struct rep *r, const char *why)
{
	if (r->out_failed)
		return;
	r->out_failed = true;
	fprintf(stderr, "certtrace: cannot write the report: %s\n", why);
}

void rep_jw_send(struct rep *r, struct jw *w)
{
	size_t n;
	const char *line = jw_line_end(w, &n);

	if (!line) {
		rep_output_fail(r, jw_strerror(w));
	} else if (r->out && !r->out_failed) {
		errno = 0;
		if (fwrite(line, 1, n, r->out) != n)
			rep_output_fail(r, errno ? strerror(errno) : "short write");
		/* Live, each event goes out as it happens; reading a file, stdio's
		 * buffer saves a write per line (rep_finish flushes at the end). */
		else if (r->opt.flush_lines && fflush(r->out))
			rep_output_fail(r, strerror(errno));
	}
	jw_reset(w);
}

static void emit(struct rep *r)
{
	rep_jw_send(r, &r->jw);
}

/* ---- values ---------------------------------------------------------------------------- */

static void kv_endpoint(struct jw *w, const char *k, const struct rep_endpoint *ep)
{
	jw_key(w, k);
	jw_write_fields(w, rep_jf_endpoint.fields, rep_jf_endpoint.n, ep);
}

/* The certificate itself, base64 without line breaks: --events rebuilds
 * full certificates from it in a later run. */
static void kv_der(struct jw *w, const struct x509_info *xi)
{
	jw_key(w, "der");
	if (!xi->der || !xi->der_len || xi->der_len > INT32_MAX / 2)
		jw_null(w);
	else
		jw_base64(w, xi->der, xi->der_len);
}

/* subject and issuer of a certificate named in another event: null when
 * it could not be parsed. */
static void kv_names(struct jw *w, const struct x509_info *xi)
{
	jw_kv_str(w, "subject", xi->parsed ? xi->subject : NULL);
	jw_kv_str(w, "issuer", xi->parsed ? xi->issuer : NULL);
}

/* ---- "certificate" --------------------------------------------------------------------- */

static void cert_event(struct rep *r, const struct x509_info *xi)
{
	struct jw *w = &r->jw;

	jw_object_open(w);
	jw_kv_str(w, "event", "certificate");
	jw_kv_str(w, "sha1", xi->sha1_hex);
	jw_kv_str(w, "sha256", xi->sha256_hex);
	jw_kv_str(w, "thumbprint", xi->thumbprint);
	kv_der(w, xi);
	if (!xi->parsed) {
		jw_kv_str(w, "error", xi->error[0] ? xi->error : "unparsable");
	} else {
		jw_kv_str(w, "subject", xi->subject);
		jw_kv_str(w, "issuer", xi->issuer);
		jw_kv_str(w, "serial", xi->serial);
		jw_kv_str(w, "not_before", xi->not_before_iso);
		jw_kv_str(w, "not_after", xi->not_after_iso);
		jw_kv_str(w, "key_type", xi->key_type);
		jw_kv_int(w, "key_bits", xi->key_bits);
		if (xi->key_curve[0])
			jw_kv_str(w, "key_curve", xi->key_curve);
		jw_kv_str(w, "signature_algorithm", xi->signature_algorithm);
		jw_kv_strs(w, "san", xi->san, xi->n_san);
		jw_kv_str_or_null(w, "ski", xi->ski);
		jw_kv_str_or_null(w, "aki", xi->aki);
		jw_kv_bool(w, "is_ca", xi->is_ca);
		jw_kv_bool(w, "self_signed", xi->self_signed);
		jw_kv_strs(w, "eku", xi->eku, xi->n_eku);
		jw_kv_strs(w, "crl_dp", xi->crl_dp, xi->n_crl_dp);
	}
	jw_object_close(w);
	emit(r);
}

static void announce(struct rep *r, struct rep_cert *c)
{
	if (c->announced)
		return;
	c->announced = true;
	cert_event(r, c->xi);
}

/* ---- "tls" ----------------------------------------------------------------------------- */

static void kv_chain(struct jw *w, const char *k, struct rep_cert **certs, unsigned n)
{
	jw_kv_array_open(w, k);
	for (unsigned i = 0; i < n; i++) {
		const struct x509_info *xi = certs[i]->xi;
		jw_object_open(w);
		jw_kv_str(w, "sha1", xi->sha1_hex);
		kv_names(w, xi);
		jw_object_close(w);
	}
	jw_array_close(w);
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

static const char *alert_level_name(const struct rep_hs_alert *a)
{
	if (a->encrypted)
		return "encrypted";
	return a->level == TLS_ALERT_LEVEL_FATAL ? "fatal"
	       : a->level == TLS_ALERT_LEVEL_WARNING ? "warning" : "unknown";
}

/* CertificateRequest's CA names as text.  x509_name_der_to_string
 * allocates; only mutual-TLS handshakes carry names, so the tls events that
 * allocate are those. */
static void kv_acceptable_cas(struct jw *w, const struct rep_handshake *h)
{
	jw_kv_array_open(w, "acceptable_cas");
	for (unsigned i = 0; i < h->n_ca_names && i < REP_MAX_CA_NAMES; i++) {
		char *dn = x509_name_der_to_string(h->ca_names[i].data, h->ca_names[i].len);
		jw_str(w, dn ? dn : "<unparsable name>");
		free(dn);
	}
	jw_array_close(w);
}

static void kv_alerts(struct jw *w, const struct rep_handshake *h)
{
	jw_kv_array_open(w, "alerts");
	for (unsigned i = 0; i < h->n_alerts && i < REP_MAX_ALERTS; i++) {
		const struct rep_hs_alert *a = &h->alerts[i];
		jw_object_open(w);
		jw_kv_time_us(w, "ts", a->ts_us);
		jw_kv_str(w, "from", a->from_client ? "client" : "server");
		jw_kv_str(w, "level", alert_level_name(a));
		jw_kv_str(w, "description", a->encrypted ? NULL : tls_alert_name(a->description));
		jw_object_close(w);
	}
	jw_array_close(w);
}

void rep_jsonl_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h,
			 struct rep_cert **server_certs, unsigned n_server,
			 struct rep_cert **client_certs, unsigned n_client)
{
	struct jw *w = &r->jw;
	char buf[96];

	for (unsigned i = 0; i < n_server; i++)
		announce(r, server_certs[i]);
	for (unsigned i = 0; i < n_client; i++)
		announce(r, client_certs[i]);

	jw_object_open(w);
	jw_kv_str(w, "event", "tls");
	jw_kv_time_us(w, "ts", h->ts_us);
	kv_endpoint(w, "client", &h->client);
	kv_endpoint(w, "server", &h->server);
	jw_kv_str(w, "version", h->server_hello ? tls_version_name(h->version) : NULL);
	jw_kv_str(w, "cipher", h->server_hello ? tls_cipher_name(h->cipher, buf, sizeof(buf))
					       : NULL);
	jw_kv_str_or_null(w, "sni", h->sni);
	jw_kv_array_open(w, "alpn");
	for (unsigned i = 0; i < h->n_alpn && i < REP_MAX_ALPN; i++)
		jw_str(w, h->alpn[i]);
	jw_array_close(w);
	jw_kv_str_or_null(w, "ja3", h->ja3);
	jw_kv_str_or_null(w, "ja3s", h->ja3s);
	jw_kv_bool(w, "resumed", h->resumed);
	jw_kv_bool(w, "certificates_visible", h->certificates_visible);
	if (h->server_hello && h->version == TLS_VERSION_1_3) {
		/* Only TLS 1.3 hides certificates: whether a key log opened them. */
		jw_kv_bool(w, "decrypted", h->decrypted);
		jw_kv_str_or_null(w, "decrypt_error", h->decrypt_error);
	}
	if (h->snaplen_cut_packets) {
		/* Only when the capture's snaplen cut this flow (--events reads them back). */
		jw_kv_uint(w, "snaplen_cut_packets", h->snaplen_cut_packets);
		jw_kv_uint(w, "snaplen", h->snaplen);
	}
	kv_chain(w, "server_chain", server_certs, n_server);
	jw_kv_bool(w, "server_chain_truncated", h->server_chain.truncated);
	if (h->server_chain.present && h->server_chain.ts_us)
		jw_kv_time_us(w, "server_chain_ts", h->server_chain.ts_us);
	else
		jw_kv_null(w, "server_chain_ts");
	kv_chain(w, "client_chain", client_certs, n_client);
	kv_acceptable_cas(w, h);
	kv_alerts(w, h);
	jw_kv_str(w, "role", rep_role_name(s->role));
	jw_kv_str_or_null(w, "app", h->app);
	jw_kv_str(w, "status", status_name(h->status));
	jw_kv_str_or_null(w, "reason", h->reason);
	jw_kv_str_or_null(w, "preamble", h->preamble);
	jw_kv_array_open(w, "dpi_risks");
	for (unsigned i = 0; i < h->n_risks && i < REP_MAX_RISKS; i++)
		jw_str(w, h->risks[i]);
	jw_array_close(w);
	jw_object_close(w);
	emit(r);
}

/* ---- "server", "finding", "phone_error" ------------------------------------------------ */

/* The members that name a server, into an object already open. */
static void server_ref_members(struct jw *w, const struct rep_server *s)
{
	if (s->file) {
		jw_kv_null(w, "ip");
		jw_kv_null(w, "port");
		jw_kv_str(w, "file", s->file);
	} else {
		jw_kv_str(w, "ip", s->ep.ip);
		jw_kv_uint(w, "port", s->ep.port);
	}
	jw_kv_str(w, "name", rep_server_name(s));
	jw_kv_str(w, "role", rep_role_name(s->role));
}

static void kv_server_ref(struct jw *w, const char *k, const struct rep_server *s)
{
	jw_kv_object_open(w, k);
	server_ref_members(w, s);
	jw_object_close(w);
}

void rep_jw_seen(struct jw *w, const struct rep_seen *seen, bool nulls)
{
	jw_kv_uint(w, "handshake_count", seen->count);
	if (seen->count) {
		jw_kv_time_us(w, "first_seen", seen->first_us);
		jw_kv_time_us(w, "last_seen", seen->last_us);
	} else if (nulls) {
		jw_kv_null(w, "first_seen");
		jw_kv_null(w, "last_seen");
	}
}

static void chains_member(struct jw *w, const struct rep_server *s, bool nulls)
{
	jw_kv_array_open(w, "chains");
	for (unsigned i = 0; i < s->n_chains; i++) {
		const struct rep_chain *c = s->chains[i];
		jw_object_open(w);
		jw_kv_array_open(w, "certificates");
		for (unsigned j = 0; j < c->n; j++)
			jw_str(w, c->certs[j]->xi->sha1_hex);
		jw_array_close(w);
		jw_kv_bool(w, "truncated", c->truncated);
		rep_jw_seen(w, &c->seen, nulls);
		if (c->trust_checked) {
			/* unknown: a public root the phones may or may not carry */
			if (nulls) {
				jw_key(w, "trusted_by_phones");
				if (c->trust_unknown)
					jw_null(w);
				else
					jw_bool(w, c->trusted);
				jw_kv_str(w, "trust_method", c->trust_method);
			} else {
				if (!c->trust_unknown)
					jw_kv_bool(w, "trusted_by_phones", c->trusted);
				jw_kv_bool(w, "trust_unknown", c->trust_unknown);
				if (*c->trust_method)
					jw_kv_str(w, "trust_method", c->trust_method);
			}
		}
		jw_object_close(w);
	}
	jw_array_close(w);
}

/* A string member: with nulls as it is (NULL: null); without, left out
 * when NULL or empty. */
static void str_member(struct jw *w, const char *k, const char *s, bool nulls)
{
	if (nulls || (s && *s))
		jw_kv_str(w, k, s);
}

/* An array of strings: with nulls always there ([]); without, left out
 * when empty. */
static void strs_member(struct jw *w, const char *k, char *const *v, size_t n, bool nulls)
{
	if (nulls || n)
		jw_kv_strs(w, k, v, n);
}

void rep_jw_server_state(struct jw *w, const struct rep_server *s, bool nulls)
{
	str_member(w, "role_reason", s->role_reason, nulls);
	jw_kv_bool(w, "phone_facing", s->phone_facing);
	str_member(w, "phone_facing_reason", s->facing_reason, nulls);
	strs_member(w, "phone_clients", (char *const *)s->phone_clients, s->n_phone_clients,
		    nulls);
	if (s->baseline_only)
		jw_kv_bool(w, "baseline_only", true);
	strs_member(w, "sni", s->sni, s->n_sni, nulls);
	strs_member(w, "clients", s->clients, s->n_clients, nulls);
	jw_kv_bool(w, "clients_truncated", s->clients_more);
	rep_jw_seen(w, &s->seen, nulls);
	jw_kv_uint(w, "resumed", s->resumed);
	jw_kv_uint(w, "hidden", s->hidden);
	chains_member(w, s, nulls);
	if (nulls)
		jw_kv_str_or_null(w, "not_checked", s->not_checked);
	else
		str_member(w, "not_checked", s->not_checked, false);
}

static void server_event(struct rep *r, const struct rep_server *s)
{
	struct jw *w = &r->jw;

	jw_object_open(w);
	jw_kv_str(w, "event", "server");
	server_ref_members(w, s);
	rep_jw_server_state(w, s, true);
	jw_object_close(w);
	emit(r);
}

/* The finding's facts are written after the fixed evidence members; no
 * fact key is one of those names (rules/evidence.c keeps one value per
 * key), so no member is written twice. */
static void finding_event(struct rep *r, const struct rep_finding *f)
{
	const struct rep_finding_def *def = &rep_finding_defs[f->code];
	struct jw *w = &r->jw;

	jw_object_open(w);
	jw_kv_str(w, "event", "finding");
	jw_kv_str(w, "code", def->name);
	jw_kv_str(w, "severity", rep_severity_name(f->severity));
	kv_server_ref(w, "server", f->server);
	jw_kv_str(w, "message", f->message);
	jw_kv_str(w, "symptom", f->symptom);
	jw_kv_str(w, "remedy", f->remedy);
	jw_kv_object_open(w, "evidence");
	jw_kv_array_open(w, "certificates");
	for (unsigned i = 0; i < f->n_certs; i++) {
		const struct x509_info *xi = f->certs[i]->xi;
		jw_object_open(w);
		jw_kv_str(w, "sha1", xi->sha1_hex);
		jw_kv_str(w, "thumbprint", xi->thumbprint);
		kv_names(w, xi);
		jw_object_close(w);
	}
	jw_array_close(w);
	jw_kv_array_open(w, "handshakes");
	for (unsigned i = 0; i < f->seen.n_samples; i++) {
		const struct rep_sample *x = &f->seen.samples[i];
		jw_object_open(w);
		jw_kv_time_us(w, "ts", x->ts_us);
		kv_endpoint(w, "client", &x->client);
		jw_object_close(w);
	}
	jw_array_close(w);
	rep_jw_seen(w, &f->seen, true);
	if (f->n_names)
		jw_kv_strs(w, def->evidence_names ? def->evidence_names : "names", f->names,
			f->n_names);
	for (unsigned i = 0; i < f->n_facts; i++)
		jw_kv_str(w, f->facts[i].key, f->facts[i].value);
	jw_object_close(w);
	jw_object_close(w);
	emit(r);
}

/* --phone-log: one event per error, with the finding that explains it. */
static void phone_error_event(struct rep *r, const struct rep_phone_error *e)
{
	struct jw *w = &r->jw;
	struct rep_phone_words pw;

	rep_phone_describe(e, &pw);
	jw_object_open(w);
	jw_kv_str(w, "event", "phone_error");
	jw_kv_str_or_null(w, "ts", e->ts);
	jw_kv_str(w, "code", pw.code);
	jw_kv_str(w, "name", pw.name);
	jw_kv_str(w, "meaning", pw.meaning);
	jw_kv_str_or_null(w, "text", e->text);
	jw_kv_str_or_null(w, "hr", pw.hr);
	if (pw.hr[0]) {
		jw_kv_str(w, "hr_name", pw.hr_name);
		jw_kv_str(w, "hr_meaning", pw.hr_meaning);
	}
	jw_kv_str_or_null(w, "url", e->url);
	jw_kv_str_or_null(w, "host", e->host);
	if (e->url)
		jw_kv_uint(w, "port", e->port);
	else
		jw_kv_null(w, "port");
	jw_kv_str(w, "file", e->file);
	jw_kv_uint(w, "line", e->line);
	if (e->explained_by) {
		const struct rep_finding *f = e->explained_by;
		jw_kv_object_open(w, "explained_by");
		jw_kv_str(w, "code", rep_finding_defs[f->code].name);
		jw_kv_str(w, "severity", rep_severity_name(f->severity));
		kv_server_ref(w, "server", f->server);
		jw_kv_str(w, "via", e->via);
		jw_object_close(w);
	} else {
		jw_kv_null(w, "explained_by");
	}
	jw_object_close(w);
	emit(r);
}

/* ---- "summary" ------------------------------------------------------------------------- */

static void kv_encapsulations(struct jw *w, const struct rep_capture_stats *st)
{
	bool any = false;

	for (unsigned i = 0; i < st->n_encaps; i++)
		any |= st->encaps[i].packets != 0;
	if (!any)
		return;
	jw_kv_object_open(w, "encapsulations");
	for (unsigned i = 0; i < st->n_encaps; i++)
		if (st->encaps[i].packets)
			jw_kv_uint(w, st->encaps[i].name, st->encaps[i].packets);
	jw_object_close(w);
}

static void kv_phone_log(struct jw *w, const struct rep *r)
{
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

static void kv_not_checked(struct jw *w, const struct rep *r)
{
	jw_kv_array_open(w, "not_checked");
	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		if (!s->not_checked[0])
			continue;
		jw_object_open(w);
		server_ref_members(w, s);
		jw_kv_bool(w, "phone_facing", s->phone_facing);
		jw_kv_bool(w, "needed", rep_server_needed(s));
		jw_kv_str(w, "reason", s->not_checked);
		jw_object_close(w);
	}
	jw_array_close(w);
}

static void summary_event(struct rep *r, const struct rep_capture_stats *st)
{
	struct jw *w = &r->jw;

	jw_object_open(w);
	jw_kv_str(w, "event", "summary");
	jw_write_members(w, rep_jf_capture_head.fields, rep_jf_capture_head.n, st);
	jw_kv_uint(w, "handshakes", r->handshakes);
	jw_kv_uint(w, "servers", rep_servers_seen(r));
	jw_kv_uint(w, "certificates", r->wire_certs);
	jw_kv_object_open(w, "findings");
	jw_kv_uint(w, "critical", r->n_by_severity[REP_CRITICAL]);
	jw_kv_uint(w, "warning", r->n_by_severity[REP_WARNING]);
	jw_kv_uint(w, "info", r->n_by_severity[REP_INFO]);
	jw_object_close(w);
	jw_write_members(w, rep_jf_capture_tail.fields, rep_jf_capture_tail.n, st);
	kv_encapsulations(w, st);
	if (st->truncated_file)
		jw_kv_str(w, "truncated_file", st->truncated_file);
	if (st->live) {
		jw_kv_uint(w, "kernel_received", st->kernel_received);
		jw_kv_uint(w, "kernel_dropped", st->kernel_dropped);
		jw_kv_uint(w, "kernel_ifdropped", st->kernel_ifdropped);
	}
	if (r->phone.files)
		kv_phone_log(w, r);
	jw_kv_str(w, "verdict", rep_verdict_name(r->verdict));
	struct buf why = BUF_INIT(4096);
	rep_verdict_reason(r, &why);
	jw_kv_str_or_null(w, "verdict_reason", buf_str(&why));
	buf_free(&why);
	kv_not_checked(w, r);
	/* A line already lost makes the run's status 2 (rep_finish). */
	jw_kv_int(w, "exit_status", r->out_failed ? 2 : r->status);
	jw_object_close(w);
	emit(r);
}

void rep_jsonl_finish(struct rep *r, const struct rep_capture_stats *st)
{
	for (size_t i = 0; i < r->server_list.n; i++)
		server_event(r, r->server_list.v[i]);
	for (size_t i = 0; i < r->finding_list.n; i++)
		finding_event(r, r->finding_list.v[i]);
	for (size_t i = 0; i < r->phone.errors.n; i++)
		phone_error_event(r, r->phone.errors.v[i]);
	summary_event(r, st);
}

/* ---- live (report/live.c) ---------------------------------------------------- */

void rep_jsonl_finding(struct rep *r, const struct rep_finding *f)
{
	finding_event(r, f);
}

void rep_jw_stats_members(struct jw *w, const struct rep *r, const struct rep_live_stats *st,
			  uint64_t findings)
{
	jw_kv_uint(w, "packets", st->packets);
	jw_kv_uint(w, "bytes", st->bytes);
	if (st->kernel) {
		jw_kv_uint(w, "kernel_received", st->kernel_received);
		jw_kv_uint(w, "kernel_dropped", st->kernel_dropped);
		jw_kv_uint(w, "kernel_ifdropped", st->kernel_ifdropped);
	}
	jw_kv_uint(w, "flows_active", st->flows_active);
	jw_kv_uint(w, "flows", st->flows_total);
	jw_kv_uint(w, "handshakes", r->handshakes);
	jw_kv_uint(w, "servers", rep_servers_seen(r));
	jw_kv_uint(w, "certificates", r->wire_certs);
	jw_kv_uint(w, "findings", findings);
}

void rep_jsonl_stats(struct rep *r, const struct rep_live_stats *st, uint64_t findings)
{
	struct jw *w = &r->jw;

	jw_object_open(w);
	jw_kv_str(w, "event", "stats");
	jw_kv_time_us(w, "ts", st->ts_us);
	rep_jw_stats_members(w, r, st, findings);
	jw_object_close(w);
	emit(r);
}
