/*
 * rep_fixture.c — see rep_fixture.h.  The report's output is read back the
 * way a user's pipeline reads it: line by line through jansson, so every
 * test also checks that each line is one valid JSON object.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/pki_fixture.h"
#include "tests/rep_fixture.h"

void rep_run_start(struct rep_run *run, const struct rep_options *opt)
{
	char err[256] = "";

	memset(run, 0, sizeof(*run));
	if (opt) {
		run->opt = *opt;
	} else {
		run->opt.format = REP_JSONL;
		run->opt.fail_on = REP_CRITICAL;
	}
	run->out = open_memstream(&run->buf, &run->len);
	cr_assert_not_null(run->out);
	run->r = rep_new(&run->opt, run->out, err, sizeof(err));
	cr_assert_not_null(run->r, "rep_new: %s", err);
}

/* The record and the SNI it points at, in one allocation. */
struct fixture_session {
	struct rep_handshake h;        /* first: a pointer to it is one to this */
	char sni[256];
};

struct rep_handshake *rep_session(uint64_t ts_us, const char *sni, X509 *const *chain)
{
	struct fixture_session *fs = calloc(1, sizeof(*fs));
	struct rep_handshake *t = &fs->h;

	cr_assert_not_null(fs);
	t->ts_us = ts_us;
	t->status = REP_HS_COMPLETE;
	t->server_hello = true;
	t->version = TLS_VERSION_1_2;
	t->cipher = 0xc02f;
	t->certificates_visible = true;
	snprintf(fs->sni, sizeof(fs->sni), "%s", sni ? sni : "");
	t->sni = fs->sni;
	t->ja3 = "0123456789abcdef0123456789abcdef";
	for (unsigned i = 0; chain && chain[i] && i < REP_MAX_CHAIN; i++) {
		size_t len;
		t->server_chain.certs[i].data = pki_der(chain[i], &len);
		t->server_chain.certs[i].len = len;
		t->server_chain.n = i + 1;
	}
	t->server_chain.present = t->server_chain.n > 0;
	t->server_chain.ts_us = ts_us + 1000;
	return t;
}

void rep_session_free(struct rep_handshake *t)
{
	const struct rep_hs_chain *chains[2] = { &t->server_chain, &t->client_chain };

	for (unsigned k = 0; k < 2; k++)
		for (unsigned j = 0; j < chains[k]->n; j++)
			free((void *)chains[k]->certs[j].data);
	free((struct fixture_session *)t);
}

void rep_run_feed(struct rep_run *run, const char *client_ip, const char *server_ip,
		  uint16_t port, struct rep_handshake *t)
{
	snprintf(t->client.ip, sizeof(t->client.ip), "%s", client_ip);
	t->client.port = 50855;
	snprintf(t->server.ip, sizeof(t->server.ip), "%s", server_ip);
	t->server.port = port;
	rep_handshake(run->r, t);
	cr_assert(run->n_sessions < 64);
	run->sessions[run->n_sessions++] = t;
}

int rep_run_finish(struct rep_run *run)
{
	struct rep_capture_stats st;

	memset(&st, 0, sizeof(st));
	st.packets = 100;
	st.flows = run->n_sessions;
	run->status = rep_finish(run->r, &st);
	fclose(run->out);
	run->out = NULL;
	run->events = json_array();
	if (run->opt.format != REP_JSONL)
		return run->status;
	char *line = run->buf, *nl;
	while (line && *line) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl, "last line without a newline: %s", line);
		json_error_t e;
		json_t *j = json_loadb(line, (size_t)(nl - line), 0, &e);
		cr_assert_not_null(j, "not JSON (%s): %.*s", e.text, (int)(nl - line), line);
		cr_assert(json_is_object(j));
		cr_assert(json_is_string(json_object_get(j, "event")));
		json_array_append_new(run->events, j);
		line = nl + 1;
	}
	return run->status;
}

void rep_run_free(struct rep_run *run)
{
	rep_free(run->r);
	if (run->out)
		fclose(run->out);
	free(run->buf);
	json_decref(run->events);
	for (unsigned i = 0; i < run->n_sessions; i++)
		rep_session_free(run->sessions[i]);
}

json_t *rep_run_event(const struct rep_run *run, const char *event, unsigned nth)
{
	size_t i;
	json_t *e;

	json_array_foreach(run->events, i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "event")), event) && !nth--)
			return e;
	}
	return NULL;
}

json_t *rep_run_finding(const struct rep_run *run, const char *code, const char *server_name)
{
	size_t i;
	json_t *e;

	json_array_foreach(run->events, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "event")), "finding"))
			continue;
		if (strcmp(json_string_value(json_object_get(e, "code")), code))
			continue;
		const char *name = json_string_value(json_object_get(json_object_get(e, "server"), "name"));
		if (server_name && (!name || strcmp(name, server_name)))
			continue;
		return e;
	}
	return NULL;
}

unsigned rep_run_count(const struct rep_run *run, const char *code)
{
	size_t i;
	json_t *e;
	unsigned n = 0;

	json_array_foreach(run->events, i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "event")), "finding") &&
		    !strcmp(json_string_value(json_object_get(e, "code")), code))
			n++;
	}
	return n;
}

json_t *rep_run_server(const struct rep_run *run, const char *ip, unsigned port)
{
	size_t i;
	json_t *e;

	json_array_foreach(run->events, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "event")), "server"))
			continue;
		if (!port && json_is_null(json_object_get(e, "port")))
			return e;
		const char *eip = json_string_value(json_object_get(e, "ip"));
		if (port && eip && !strcmp(eip, ip) &&
		    json_integer_value(json_object_get(e, "port")) == port)
			return e;
	}
	return NULL;
}

X509 *rep_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	return pki_cert(&(struct pki_spec){
		.subject = {{"CN", cn}},
		.key = key, .issuer = issuer, .issuer_key = issuer_key, .ca = true,
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER,
	});
}

X509 *rep_leaf(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
	       const char *const *dns)
{
	struct pki_spec spec = {
		.subject = {{"CN", cn}},
		.key = key, .issuer = issuer, .issuer_key = issuer_key,
		.eku = {"serverAuth"},
		.crl_dp = "http://pki.contoso.com/ca.crl",
		.not_before = REP_NOT_BEFORE, .not_after = REP_NOT_AFTER,
	};

	for (unsigned i = 0; dns && dns[i] && i < PKI_MAX_LIST; i++)
		spec.dns[i] = dns[i];
	return pki_cert(&spec);
}
