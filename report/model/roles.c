/*
 * roles.c — which server is a Lync Front End, which is Exchange, and why.
 *
 * The order of evidence, strongest first:
 *   1. --role NAME=ROLE: IP:PORT, then IP, then a host name or glob
 *      (fnmatch, case-insensitive) over the SNI names clients asked for and
 *      the DNS names on the server's certificates.  First rule of the most
 *      specific kind wins.
 *   2. --phone-log: a server that an EWS url of a phone's log names (SNI,
 *      address or certificate name, and the url's port) is exchange.
 *   3. TCP 5061 (SIP over TLS) is lync-fe.
 *   4. On 443/444/4443, an SNI autodiscover.* is exchange, then a
 *      certificate DNS name autodiscover.* (Exchange certificates carry it
 *      even when clients ask for casarray.contoso.com, as in the seed).
 *   5. At the end, in the order rules.c runs them: everything decided
 *      again (rep_roles_decide_all); a 5061 server the pool talks to with
 *      mutual TLS under other names is a peer, lync-edge or lync-peer
 *      (facing.c); an HTTPS server on those ports that presents the
 *      certificate of a Lync FE (its web services) is lync-fe, else one that
 *      presents an Exchange server's certificate is exchange
 *      (rep_roles_refine); last, a phone-facing server with an Exchange name
 *      (mail, owa, casarray, ...) is exchange (facing.c).
 * Everything else is "other".  Each decision keeps a reason in words, e.g.
 * "SAN autodiscover.contoso.com", because the report must say how it knew.
 *
 * rep_role_decide() runs whenever a server shows a new SNI name or a new
 * chain, so the "role" of a jsonl "tls" event is the role at that moment;
 * the refinement at the end may still change it.
 */
#define _GNU_SOURCE             /* FNM_CASEFOLD */

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/rep_int.h"

static const char *const role_names[] = {
	[ROLE_UNKNOWN] = "unknown",
	[ROLE_LYNC_FE] = "lync-fe",
	[ROLE_LYNC_EDGE] = "lync-edge",
	[ROLE_LYNC_PEER] = "lync-peer",
	[ROLE_EXCHANGE] = "exchange",
	[ROLE_OTHER] = "other",
};

const char *rep_role_name(enum rep_role role)
{
	if ((unsigned)role < sizeof(role_names) / sizeof(role_names[0]))
		return role_names[role];
	return "unknown";
}

bool rep_role_parse(const char *s, enum rep_role *out)
{
	for (unsigned i = ROLE_LYNC_FE; i <= ROLE_OTHER; i++) {
		if (!strcasecmp(s, role_names[i])) {
			*out = (enum rep_role)i;
			return true;
		}
	}
	return false;
}

bool rep_role_is_lync(enum rep_role role)
{
	return role == ROLE_LYNC_FE || role == ROLE_LYNC_EDGE || role == ROLE_LYNC_PEER;
}

bool rep_role_is_ms(enum rep_role role)
{
	return rep_role_is_lync(role) || role == ROLE_EXCHANGE;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* "10.0.0.1:443" or "[2001:db8::1]:443" into ip and port. */
static bool split_ip_port(const char *s, char *ip, size_t iplen, uint16_t *port)
{
	const char *colon, *ip_start = s, *ip_end;

	if (*s == '[') {
		ip_end = strchr(s, ']');
		if (!ip_end || ip_end[1] != ':')
			return false;
		ip_start = s + 1;
		colon = ip_end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)   /* bare IPv6 has many */
			return false;
		ip_end = colon;
	}
	size_t n = (size_t)(ip_end - ip_start);
	if (n == 0 || n >= iplen)
		return false;
	memcpy(ip, ip_start, n);
	ip[n] = '\0';
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || p == 0 || p > 65535 || !is_ip(ip))
		return false;
	*port = (uint16_t)p;
	return true;
}

bool rep_rules_parse(struct rep *r, char *err, size_t errlen)
{
	r->n_rules = 0;
	for (unsigned i = 0; i < r->opt.n_roles && i < REP_MAX_ROLE_RULES; i++) {
		const struct rep_role_rule *in = &r->opt.roles[i];
		struct rep_rule *rule = &r->rules[r->n_rules];

		memset(rule, 0, sizeof(*rule));
		rule->text = in->name;
		rule->role = in->role;
		if (!in->name[0] || in->role == ROLE_UNKNOWN) {
			snprintf(err, errlen, "--role %s: needs NAME=ROLE with ROLE lync-fe, "
				 "lync-edge, lync-peer, exchange or other", in->name);
			return false;
		}
		if (split_ip_port(in->name, rule->ip, sizeof(rule->ip), &rule->port)) {
			rule->kind = RULE_IP_PORT;
		} else if (is_ip(in->name)) {
			rule->kind = RULE_IP;
			snprintf(rule->ip, sizeof(rule->ip), "%s", in->name);
		} else {
			rule->kind = RULE_NAME;
			rule->pattern = in->name;
		}
		r->n_rules++;
	}
	return true;
}

static bool glob_match(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, FNM_CASEFOLD) == 0;
}

/* The first name of the server a host rule matches: SNI, then certificate names. */
static const char *rule_matches_name(const struct rep_rule *rule, const struct rep_server *s,
				     const char **where)
{
	for (unsigned i = 0; i < s->n_sni; i++) {
		if (glob_match(rule->pattern, s->sni[i])) {
			*where = "SNI";
			return s->sni[i];
		}
	}
	for (unsigned i = 0; i < s->n_chains; i++) {
		const struct x509_info *xi = s->chains[i]->n ? s->chains[i]->certs[0]->xi : NULL;
		if (!xi || !xi->parsed)
			continue;
		for (size_t j = 0; j < xi->n_dns; j++) {
			if (glob_match(rule->pattern, xi->dns[j])) {
				*where = "SAN";
				return xi->dns[j];
			}
		}
		if (!xi->n_dns && xi->cn && glob_match(rule->pattern, xi->cn)) {
			*where = "CN";
			return xi->cn;
		}
	}
	return NULL;
}

static bool explicit_role(struct rep *r, struct rep_server *s)
{
	static const enum rep_rule_kind order[] = { RULE_IP_PORT, RULE_IP, RULE_NAME };

	for (unsigned k = 0; k < 3; k++) {
		for (unsigned i = 0; i < r->n_rules; i++) {
			const struct rep_rule *rule = &r->rules[i];
			const char *what = NULL, *where = NULL;

			if (rule->kind != order[k])
				continue;
			if (rule->kind == RULE_NAME)
				what = rule_matches_name(rule, s, &where);
			else if (!s->file && rep_same_ip(rule->ip, s->ep.ip) &&
				 (rule->kind == RULE_IP || rule->port == s->ep.port))
				what = s->ep.ip;
			if (!what)
				continue;
			s->role = rule->role;
			s->role_explicit = true;
			if (where)
				snprintf(s->role_reason, sizeof(s->role_reason), "--role %s=%s (%s %s)",
					 rule->text, rep_role_name(rule->role), where, what);
			else
				snprintf(s->role_reason, sizeof(s->role_reason), "--role %s=%s",
					 rule->text, rep_role_name(rule->role));
			return true;
		}
	}
	return false;
}

/* A server an EWS url of a --phone-log names is exchange. */
static bool phone_log_role(struct rep *r, struct rep_server *s)
{
	char why[300];

	for (size_t i = 0; i < r->phone.ews.n; i++) {
		const struct rep_phone_ews *w = r->phone.ews.v[i];
		if (!rep_server_is_host(s, w->host, w->port, why, sizeof(why)))
			continue;
		s->role = ROLE_EXCHANGE;
		snprintf(s->role_reason, sizeof(s->role_reason), "phone log %s: %s (%s)", w->file,
			 w->which, why);
		return true;
	}
	return false;
}

static bool https_port(uint16_t port)
{
	return port == 443 || port == 444 || port == 4443;
}

static bool is_autodiscover(const char *name)
{
	return !strncasecmp(name, "autodiscover.", 13) && name[13];
}

void rep_role_decide(struct rep *r, struct rep_server *s)
{
	if (s->file)
		return;                /* --cert: the role was given with the file */
	if (s->baseline_only)
		return;                /* --baseline: the role it had there */
	s->role_explicit = false;
	if (explicit_role(r, s) || phone_log_role(r, s))
		return;
	if (s->ep.port == 5061) {
		s->role = ROLE_LYNC_FE;
		snprintf(s->role_reason, sizeof(s->role_reason), "port 5061 (SIP over TLS)");
		return;
	}
	if (https_port(s->ep.port)) {
		for (unsigned i = 0; i < s->n_sni; i++) {
			if (is_autodiscover(s->sni[i])) {
				s->role = ROLE_EXCHANGE;
				snprintf(s->role_reason, sizeof(s->role_reason), "SNI %s", s->sni[i]);
				return;
			}
		}
		for (unsigned i = 0; i < s->n_chains; i++) {
			const struct x509_info *xi = s->chains[i]->n ? s->chains[i]->certs[0]->xi : NULL;
			if (!xi || !xi->parsed)
				continue;
			for (size_t j = 0; j < xi->n_dns; j++) {
				if (is_autodiscover(xi->dns[j])) {
					s->role = ROLE_EXCHANGE;
					snprintf(s->role_reason, sizeof(s->role_reason), "SAN %s",
						 xi->dns[j]);
					return;
				}
			}
		}
	}
	s->role = ROLE_OTHER;
	snprintf(s->role_reason, sizeof(s->role_reason), "no rule matched (port %u)",
		 (unsigned)s->ep.port);
}

static bool shares_leaf(const struct rep_server *a, const struct rep_server *b,
			const struct rep_cert **which)
{
	for (unsigned i = 0; i < a->n_chains; i++) {
		if (!a->chains[i]->n)
			continue;
		for (unsigned j = 0; j < b->n_chains; j++) {
			if (b->chains[j]->n && a->chains[i]->certs[0] == b->chains[j]->certs[0]) {
				*which = a->chains[i]->certs[0];
				return true;
			}
		}
	}
	return false;
}

/* A server decided directly (not itself by sharing) with this role whose
 * leaf certificate s also presents. */
static const struct rep_server *sharer(const struct rep *r, const struct rep_server *s,
				       enum rep_role role, const struct rep_cert **leaf)
{
	for (size_t j = 0; j < r->server_list.n; j++) {
		const struct rep_server *x = r->server_list.v[j];
		if (x != s && x->role == role && strncmp(x->role_reason, "shares", 6) &&
		    shares_leaf(s, x, leaf))
			return x;
	}
	return NULL;
}

void rep_roles_decide_all(struct rep *r)
{
	for (size_t i = 0; i < r->server_list.n; i++)
		rep_role_decide(r, r->server_list.v[i]);
}

void rep_roles_refine(struct rep *r)
{
	/* Let a Lync FE's or an Exchange server's certificate pull in the
	 * HTTPS servers that present it too (an FE's web services on 443/4443
	 * carry the pool certificate).  The FE is asked first: a certificate
	 * an FE presents on 5061 is the pool's, whatever else presents it.
	 * One pass suffices: sharing is checked against servers decided
	 * directly. */
	static const enum rep_role pull[] = { ROLE_LYNC_FE, ROLE_EXCHANGE };

	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (s->role_explicit || s->role != ROLE_OTHER || !https_port(s->ep.port))
			continue;
		for (unsigned k = 0; k < 2; k++) {
			const struct rep_cert *leaf;
			const struct rep_server *x = sharer(r, s, pull[k], &leaf);
			char addr[80];
			if (!x)
				continue;
			s->role = pull[k];
			snprintf(s->role_reason, sizeof(s->role_reason),
				 "shares certificate %s with %s server %s", leaf->xi->thumbprint,
				 rep_role_name(pull[k]), rep_server_addr(x, addr, sizeof(addr)));
			break;
		}
	}
}
