/*
 * text.c — the report for a person at a terminal.
 *
 * Three parts, in the order an admin reads them: the servers grouped by
 * role, each with how its role and its phone-facing relation were decided
 * (the header line names the Lync clients that make it phone-facing), the
 * chains it presented, or why none was checked; then the findings, most
 * severe first, each with its evidence, what clients will show and what to
 * run; then one line with the verdict, which says what was not checked.
 * Colour only when opt.color (certtrace.c decides: a terminal, NO_COLOR
 * unset).  With -v, one line per handshake as it arrives.
 */
#include <string.h>

#include "lib/buf.h"
#include "report/rep_int.h"

#define C_RESET  "\033[0m"
#define C_BOLD   "\033[1m"
#define C_RED    "\033[1;31m"
#define C_YELLOW "\033[33m"
#define C_CYAN   "\033[36m"
#define C_GREEN  "\033[32m"
#define C_DIM    "\033[2m"

static const char *col(const struct rep *r, const char *code)
{
	return r->opt.color ? code : "";
}

static const char *sev_colour(const struct rep *r, enum rep_severity s)
{
	return col(r, s == REP_CRITICAL ? C_RED : s == REP_WARNING ? C_YELLOW : C_CYAN);
}

void rep_text_handshake(struct rep *r, struct rep_server *s, const struct rep_handshake *h)
{
	char ts[40], addr[300];

	if (!r->out)
		return;
	rep_iso_us(h->ts_us, ts, sizeof(ts));
	fprintf(r->out, "%s %s -> %s %s sni=%s %s%s%s\n", ts, h->client.ip,
		rep_server_addr(s, addr, sizeof(addr)),
		h->server_hello ? tls_version_name(h->version) : "-",
		h->sni && h->sni[0] ? h->sni : "-", rep_role_name(s->role),
		h->resumed ? " resumed" : "",
		h->server_chain.n ? "" : h->certificates_visible ? "" : " certificates-hidden");
	fflush(r->out);
}

static void print_cert(struct rep *r, const struct rep_cert *c, unsigned i, bool leaf)
{
	const struct x509_info *xi = c->xi;
	FILE *o = r->out;

	if (!xi->parsed) {
		fprintf(o, "      %u unparsable certificate (SHA-1 %s): %s\n", i, xi->sha1_hex,
			xi->error);
		return;
	}
	fprintf(o, "      %u %s%s%s\n", i, col(r, C_BOLD), xi->subject, col(r, C_RESET));
	fprintf(o, "          issuer      %s%s\n", xi->issuer,
		xi->self_signed ? " (self-signed)" : "");
	fprintf(o, "          valid       %s .. %s\n", xi->not_before_iso, xi->not_after_iso);
	fprintf(o, "          key         %s %d%s%s, %s\n", xi->key_type, xi->key_bits,
		xi->key_curve[0] ? " " : "", xi->key_curve, xi->signature_algorithm);
	fprintf(o, "          thumbprint  %s\n", xi->thumbprint);
	if (leaf && xi->n_san) {
		fprintf(o, "          names      ");
		for (size_t k = 0; k < xi->n_san; k++)
			fprintf(o, " %s", xi->san[k]);
		fputc('\n', o);
	}
}

static void print_seen(FILE *o, const char *indent, const struct rep_seen *seen)
{
	char a[40], b[40];

	if (!seen->count) {
		fprintf(o, "%shandshakes: none (from a file)\n", indent);
		return;
	}
	rep_iso_us(seen->first_us, a, sizeof(a));
	rep_iso_us(seen->last_us, b, sizeof(b));
	fprintf(o, "%shandshakes: %llu, %s .. %s\n", indent, (unsigned long long)seen->count, a, b);
}

static void print_server(struct rep *r, const struct rep_server *s)
{
	FILE *o = r->out;
	char addr[300];
	const char *name = rep_server_name(s);

	fprintf(o, "  %s%s%s%s%s  role %s: %s", col(r, C_BOLD), *name ? name : "",
		*name ? "  " : "", rep_server_addr(s, addr, sizeof(addr)), col(r, C_RESET),
		rep_role_name(s->role), s->role_reason);
	if (s->phone_facing) {
		fprintf(o, "; phone-facing for");
		for (unsigned i = 0; i < s->n_phone_clients; i++)
			fprintf(o, "%s %s", i ? "," : "", s->phone_clients[i]);
		fprintf(o, "%s", s->phone_clients_more ? ", ..." : "");
	}
	fputc('\n', o);
	if (s->facing_reason[0])
		fprintf(o, "    phone-facing: %s\n", s->facing_reason);
	if (s->not_checked[0])
		fprintf(o, "    %snot checked%s: %s\n", col(r, C_YELLOW), col(r, C_RESET),
			s->not_checked);
	if (s->n_sni) {
		fprintf(o, "    SNI:");
		for (unsigned i = 0; i < s->n_sni; i++)
			fprintf(o, " %s", s->sni[i]);
		fprintf(o, "%s\n", s->sni_more ? " ..." : "");
	}
	if (s->n_clients) {
		fprintf(o, "    clients: %u%s:", s->n_clients, s->clients_more ? "+" : "");
		for (unsigned i = 0; i < s->n_clients && i < 8; i++)
			fprintf(o, " %s", s->clients[i]);
		fprintf(o, "%s\n", s->n_clients > 8 ? " ..." : "");
	}
	if (s->baseline_only)
		fprintf(o, "    handshakes: none in this run (known from --baseline)\n");
	else if (!s->file)
		print_seen(o, "    ", &s->seen);
	if ((s->resumed || s->hidden || s->cut) && !s->not_checked[0])
		fprintf(o, "    without certificates: %llu resumed, %llu TLS 1.3 hidden, %llu cut "
			"by the snaplen\n", (unsigned long long)s->resumed,
			(unsigned long long)s->hidden, (unsigned long long)s->cut);
	for (unsigned i = 0; i < s->n_chains; i++) {
		const struct rep_chain *c = s->chains[i];
		fprintf(o, "    chain %u of %u%s, %llu handshake%s", i + 1, s->n_chains,
			c->truncated ? " (truncated)" : "", (unsigned long long)c->seen.count,
			c->seen.count == 1 ? "" : "s");
		if (c->trust_checked)
			fprintf(o, "; phones %s%s%s (%s)",
				col(r, c->trust_unknown ? C_YELLOW : c->trusted ? C_GREEN : C_RED),
				c->trust_unknown ? "trust it only if their firmware carries its root"
				: c->trusted ? "trust it" : "do NOT trust it", col(r, C_RESET),
				c->trust_method);
		fprintf(o, "\n");
		for (unsigned j = 0; j < c->n; j++)
			print_cert(r, c->certs[j], j, j == 0);
	}
	if (s->chains_dropped)
		fprintf(o, "    (%llu handshakes with further chains not kept)\n",
			(unsigned long long)s->chains_dropped);
}

static void print_indented(FILE *o, const char *indent, const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(o, "%s%.*s\n", indent, (int)n, p);
		p = nl ? nl + 1 : NULL;
	}
}

static void print_finding(struct rep *r, const struct rep_finding *f)
{
	FILE *o = r->out;
	char addr[300];
	const char *name = rep_server_name(f->server);

	fprintf(o, "%s%-8s%s %s%s%s  %s %s%s%s\n", sev_colour(r, f->severity),
		rep_severity_name(f->severity), col(r, C_RESET), col(r, C_BOLD),
		rep_finding_defs[f->code].name, col(r, C_RESET), rep_role_name(f->server->role), name,
		*name ? " " : "", rep_server_addr(f->server, addr, sizeof(addr)));
	print_indented(o, "  ", f->message);
	if (f->seen.count) {
		char a[40], b[40];
		rep_iso_us(f->seen.first_us, a, sizeof(a));
		rep_iso_us(f->seen.last_us, b, sizeof(b));
		fprintf(o, "  %sseen in %llu handshake%s, %s .. %s%s\n", col(r, C_DIM),
			(unsigned long long)f->seen.count, f->seen.count == 1 ? "" : "s", a, b,
			col(r, C_RESET));
	}
	for (unsigned i = 0; i < f->n_certs; i++) {
		const struct x509_info *xi = f->certs[i]->xi;
		fprintf(o, "  %scertificate %s  %s%s%s%s\n", col(r, C_DIM), xi->thumbprint,
			xi->parsed ? xi->subject : "(unparsable)", xi->parsed ? " issued by " : "",
			xi->parsed ? xi->issuer : "", col(r, C_RESET));
	}
	fprintf(o, "  symptom: %s\n", f->symptom ? f->symptom : "");
	fprintf(o, "  remedy:\n");
	print_indented(o, "    ", f->remedy);
	fputc('\n', o);
}

static bool same_phone_error(const struct rep_phone_error *a, const struct rep_phone_error *b)
{
	return a->file == b->file && a->win32 == b->win32 && a->hr == b->hr &&
	       a->explained_by == b->explained_by && !a->url == !b->url &&
	       (!a->url || !strcmp(a->url, b->url));
}

/* --phone-log: the EWS urls the phones were given and the server each
 * reached, then the errors (a run of the same error as one line) with the
 * finding that explains each. */
static void print_phone_log(struct rep *r)
{
	FILE *o = r->out;
	const struct rep_phonelog *pl = &r->phone;

	if (!pl->files)
		return;
	fprintf(o, "%sphone log%s: %u file%s, %llu lines (%llu not understood), %zu error%s\n",
		col(r, C_BOLD), col(r, C_RESET), pl->files, pl->files == 1 ? "" : "s",
		(unsigned long long)pl->lines, (unsigned long long)pl->not_understood,
		pl->errors.n, pl->errors.n == 1 ? "" : "s");
	for (size_t i = 0; i < pl->ews.n; i++) {
		const struct rep_phone_ews *w = pl->ews.v[i];
		const struct rep_server *s = rep_phone_ews_server(r, w);
		char addr[300];
		fprintf(o, "  %s %s: ", w->which, w->url);
		if (s)
			fprintf(o, "%s server %s\n", rep_role_name(s->role),
				rep_server_addr(s, addr, sizeof(addr)));
		else
			fprintf(o, "not seen in the capture (capture where the phones reach it)\n");
	}
	for (size_t i = 0; i < pl->errors.n;) {
		const struct rep_phone_error *e = pl->errors.v[i];
		size_t j = i + 1;
		while (j < pl->errors.n && same_phone_error(e, pl->errors.v[j]))
			j++;
		const struct rep_phone_error *last = pl->errors.v[j - 1];
		struct rep_phone_words w;
		rep_phone_describe(e, &w);
		fprintf(o, "  phone %s%s%s: %s%s%s %s", e->ts[0] ? e->ts : "(no time)",
			j - i > 1 ? " .. " : "", j - i > 1 ? last->ts : "",
			e->text ? e->text : "", e->text ? " " : "", w.code, w.name);
		if (e->url)
			fprintf(o, " on %s", e->url);
		if (j - i > 1)
			fprintf(o, " (%zu times)", j - i);
		const struct rep_finding *f = e->explained_by;
		if (f) {
			char addr[300];
			const char *name = e->host[0] ? e->host : rep_server_name(f->server);
			fprintf(o, " %s\u2190 %s%s%s on %s%s(%s)\n", sev_colour(r, f->severity),
				rep_finding_defs[f->code].name, col(r, C_RESET), "", name, *name ? " " : "",
				rep_server_addr(f->server, addr, sizeof(addr)));
		} else {
			fprintf(o, " %s\u2190 no finding explains it%s\n", col(r, C_DIM), col(r, C_RESET));
		}
		fprintf(o, "    %s%s", col(r, C_DIM), w.meaning);
		if (w.hr[0] && e->win32 && strcmp(w.hr_name, "unknown"))
			fprintf(o, "; hr %s %s: %s", w.hr, w.hr_name, w.hr_meaning);
		else if (w.hr[0] && e->win32)
			fprintf(o, "; hr %s: %s", w.hr, w.hr_meaning);
		if (!e->url)
			fprintf(o, "; no url logged%s%s", f ? ", matched on " : "", f ? e->via : "");
		fprintf(o, " [%s line %u]%s\n", e->file, e->line, col(r, C_RESET));
		i = j;
	}
	fputc('\n', o);
}

/* One line: why nothing can be said, every server not checked and why. */
static void print_inconclusive(struct rep *r, unsigned crit, unsigned warn, unsigned info)
{
	struct buf b = BUF_INIT(1u << 20);
	char addr[300];
	unsigned n = 0;

	rep_verdict_reason(r, &b);
	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		const char *name = rep_server_name(s);
		if (!s->not_checked[0])
			continue;
		buf_printf(&b, "%s %s%s %s%s%s (%s)", n++ ? ";" : "; not checked:",
			   rep_role_name(s->role), s->phone_facing ? " phone-facing" : "", name,
			   *name ? " " : "", rep_server_addr(s, addr, sizeof(addr)), s->not_checked);
	}
	fprintf(r->out, "%sverdict: inconclusive%s: %s; findings: %u critical, %u warning, %u info%s\n",
		col(r, C_YELLOW), col(r, C_RESET), buf_ok(&b) ? buf_str(&b) : buf_strerror(&b),
		crit, warn, info, r->status == 3 ? " (exit 3)" : "");
	buf_free(&b);
}

void rep_text_finish(struct rep *r, const struct rep_capture_stats *st)
{
	static const enum rep_role order[] = {
		ROLE_LYNC_FE, ROLE_LYNC_EDGE, ROLE_LYNC_PEER, ROLE_EXCHANGE, ROLE_OTHER,
		ROLE_UNKNOWN,
	};
	FILE *o = r->out;

	if (!o)
		return;
	fprintf(o, "%scerttrace%s: %llu handshake%s, %zu server%s, %llu certificate%s",
		col(r, C_BOLD), col(r, C_RESET), (unsigned long long)r->handshakes,
		r->handshakes == 1 ? "" : "s", (size_t)rep_servers_seen(r),
		rep_servers_seen(r) == 1 ? "" : "s",
		(unsigned long long)r->wire_certs, r->wire_certs == 1 ? "" : "s");
	if (st->packets)
		fprintf(o, " (%llu packets, %llu flows)", (unsigned long long)st->packets,
			(unsigned long long)st->flows);
	if (st->live)
		fprintf(o, "; kernel dropped %llu of %llu", (unsigned long long)st->kernel_dropped,
			(unsigned long long)st->kernel_received);
	fprintf(o, "\n\n");

	for (unsigned k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		bool heading = false;
		for (size_t i = 0; i < r->server_list.n; i++) {
			const struct rep_server *s = r->server_list.v[i];
			if (s->role != order[k])
				continue;
			if (!heading) {
				fprintf(o, "%s%s%s\n", col(r, C_BOLD), rep_role_name(order[k]),
					col(r, C_RESET));
				heading = true;
			}
			print_server(r, s);
		}
		if (heading)
			fputc('\n', o);
	}

	if (r->finding_list.n) {
		fprintf(o, "%sfindings%s\n\n", col(r, C_BOLD), col(r, C_RESET));
		for (size_t i = 0; i < r->finding_list.n; i++)
			print_finding(r, r->finding_list.v[i]);
	}

	print_phone_log(r);

	unsigned crit = r->n_by_severity[REP_CRITICAL], warn = r->n_by_severity[REP_WARNING],
		 info = r->n_by_severity[REP_INFO];
	if (r->verdict == REP_VERDICT_INCONCLUSIVE) {
		print_inconclusive(r, crit, warn, info);
		return;
	}
	if (!r->finding_list.n) {
		/* clean: nothing the trust rules need went unchecked either */
		fprintf(o, "%sverdict: no findings%s over %llu handshake%s; every Lync FE, "
			"Exchange and phone-facing server was checked\n", col(r, C_GREEN),
			col(r, C_RESET), (unsigned long long)r->handshakes,
			r->handshakes == 1 ? "" : "s");
		return;
	}
	const struct rep_finding *top = r->finding_list.v[0];
	char addr[300];
	const char *name = rep_server_name(top->server);
	char unchecked[96] = "";
	if (r->n_needed_not_checked)
		snprintf(unchecked, sizeof(unchecked), "; %u server%s the trust rules need not "
			 "checked (above)", r->n_needed_not_checked,
			 r->n_needed_not_checked == 1 ? "" : "s");
	fprintf(o, "%sverdict: %u critical, %u warning, %u info%s; first: %s on %s%s%s%s%s\n",
		sev_colour(r, top->severity), crit, warn, info, col(r, C_RESET),
		rep_finding_defs[top->code].name, name, *name ? " " : "",
		rep_server_addr(top->server, addr, sizeof(addr)), unchecked,
		r->status == 1 ? " (exit 1)" : "");
}
