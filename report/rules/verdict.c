/*
 * verdict.c — what the run can answer: which servers were checked, the
 * verdict, and the exit status.
 *
 * A server is checked when one of its chains has a leaf OpenSSL could parse
 * (from the wire, or from --cert).  A server seen on the wire that never
 * showed one -- every handshake cut by the capture's snaplen, TLS 1.3 with
 * the certificates encrypted, resumed, truncated, or ended before any
 * Certificate message -- is "not checked", and its reason counts those
 * handshakes.  Silence about such a server is not a clean bill: the trust
 * rules need the Lync FE, Exchange and phone-facing servers, so when one of
 * them was not checked, or no chain at all was, a run with no finding at
 * --fail-on is inconclusive (exit 3).  Exit 0 means "checked, and fine".
 *
 *   verdict       when                                              exit
 *   findings      a finding at or above --fail-on                   1
 *   inconclusive  else, nothing checked or a needed server not      3
 *   findings      else, findings below --fail-on                    0
 *   clean         else                                              0
 * --fail-on never exits 0 whatever the verdict (which is then judged
 * against critical, so it still says what a default run would).
 */
#include <string.h>

#include "lib/buf.h"
#include "report/rep_int.h"

#define REASON_BYTES 4096

const char *rep_verdict_name(enum rep_verdict v)
{
	switch (v) {
	case REP_VERDICT_CLEAN: return "clean";
	case REP_VERDICT_FINDINGS: return "findings";
	case REP_VERDICT_INCONCLUSIVE: return "inconclusive";
	}
	return "?";
}

bool rep_server_needed(const struct rep_server *s)
{
	return s->role == ROLE_LYNC_FE || s->role == ROLE_EXCHANGE || s->phone_facing;
}

static bool checked(const struct rep_server *s)
{
	for (unsigned i = 0; i < s->n_chains; i++)
		if (s->chains[i]->n && s->chains[i]->certs[0]->xi->parsed)
			return true;
	return false;
}

static void part(struct buf *b, unsigned *n, uint64_t count, const char *what)
{
	if (!count)
		return;
	buf_printf(b, "%s%llu %s", (*n)++ ? ", " : "", (unsigned long long)count, what);
}

/* "5 handshakes, none with a whole server chain: 3 cut by ..., 2 resumed" */
static void not_checked_reason(struct rep_server *s)
{
	struct buf b = BUF_INIT(REASON_BYTES);
	unsigned n = 0;
	char cut[160];

	buf_printf(&b, "%llu handshake%s, none with a server certificate chain to check: ",
		   (unsigned long long)s->seen.count, s->seen.count == 1 ? "" : "s");
	if (s->cut_snaplen)
		snprintf(cut, sizeof(cut), "cut by the capture's snaplen (%u bytes; %llu packets "
			 "cut; capture again with -s 0)", s->cut_snaplen,
			 (unsigned long long)s->cut_packets);
	else
		snprintf(cut, sizeof(cut), "cut by the capture's snaplen (%llu packets cut; "
			 "capture again with -s 0)", (unsigned long long)s->cut_packets);
	part(&b, &n, s->cut, cut);
	part(&b, &n, s->hidden, "TLS 1.3 with the certificates encrypted (no key log opened them)");
	part(&b, &n, s->resumed, "resumed (no certificate on the wire)");
	part(&b, &n, s->truncated, "truncated by a gap or the end of the capture");
	part(&b, &n, s->no_certificate, "ended before any Certificate message");
	unsigned unparsable = 0;
	for (unsigned i = 0; i < s->n_chains; i++)
		unparsable += s->chains[i]->n > 0;
	if (unparsable)
		part(&b, &n, unparsable, unparsable == 1 ? "chain whose leaf could not be parsed"
			 : "chains whose leaf could not be parsed");
	if (!n)
		buf_puts(&b, "no Certificate message");
	str_copy(s->not_checked, sizeof(s->not_checked), buf_ok(&b) ? buf_str(&b)
		 : buf_strerror(&b));
	buf_free(&b);
}

void rep_verdict_reason(const struct rep *r, struct buf *b)
{
	if (r->verdict != REP_VERDICT_INCONCLUSIVE)
		return;
	if (r->nothing_checked)
		buf_printf(b, "no certificate chain could be checked (%llu handshake%s)",
			   (unsigned long long)r->handshakes, r->handshakes == 1 ? "" : "s");
	else
		buf_printf(b, "%u server%s the trust rules need (Lync FE, Exchange, phone-facing) "
			   "could not be checked", r->n_needed_not_checked,
			   r->n_needed_not_checked == 1 ? "" : "s");
}

static bool reaches(const struct rep *r, enum rep_severity fail_on)
{
	for (size_t i = 0; i < r->finding_list.n; i++)
		if (((const struct rep_finding *)r->finding_list.v[i])->severity >= fail_on)
			return true;
	return false;
}

void rep_verdict_decide(struct rep *r)
{
	bool any_checked = false;

	memset(r->n_by_severity, 0, sizeof(r->n_by_severity));
	for (size_t i = 0; i < r->finding_list.n; i++)
		r->n_by_severity[((const struct rep_finding *)r->finding_list.v[i])->severity]++;
	r->n_not_checked = r->n_needed_not_checked = 0;
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		s->not_checked[0] = '\0';
		if (checked(s)) {
			any_checked = true;
			continue;
		}
		if (s->file || s->baseline_only || !s->seen.count)
			continue;
		not_checked_reason(s);
		r->n_not_checked++;
		r->n_needed_not_checked += rep_server_needed(s);
	}
	r->nothing_checked = !any_checked;
	bool open_question = r->nothing_checked || r->n_needed_not_checked;
	enum rep_severity judge = r->opt.fail_on == REP_NEVER ? REP_CRITICAL : r->opt.fail_on;

	if (reaches(r, judge))
		r->verdict = REP_VERDICT_FINDINGS;
	else if (open_question)
		r->verdict = REP_VERDICT_INCONCLUSIVE;
	else
		r->verdict = r->finding_list.n ? REP_VERDICT_FINDINGS : REP_VERDICT_CLEAN;

	if (r->opt.fail_on == REP_NEVER)
		r->status = 0;
	else if (reaches(r, r->opt.fail_on))
		r->status = 1;
	else
		r->status = open_question ? 3 : 0;
}
