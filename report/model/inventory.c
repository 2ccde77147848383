/*
 * inventory.c — what the report remembers: certificates, servers, chains,
 * SNI names and clients; per server, why handshakes showed no whole chain
 * (the verdict's "not checked") and the client certificates of mutual TLS
 * (the pool's peers).
 *
 * Memory is bounded by what is distinct, never by the number of handshakes:
 * a certificate is one rep_cert however often it is sent, a server keeps at
 * most REP_MAX_CHAINS distinct chains, REP_MAX_SNI names and REP_MAX_CLIENTS
 * client addresses and REP_MAX_CLIENT_LEAVES client certificates (beyond
 * that it only counts), and a rep_seen keeps the
 * first REP_MAX_SAMPLES handshakes as evidence plus a count and a time range.
 *
 * Certificates come through the x509 cache (parsed once); we take our own
 * x509_ref() so the cache may evict freely.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/rep_int.h"

/* ---- seen ---------------------------------------------------------------------- */

void rep_seen_add(struct rep_seen *s, uint64_t ts_us, const struct rep_endpoint *client)
{
	if (!s->count || ts_us < s->first_us)
		s->first_us = ts_us;
	if (!s->count || ts_us > s->last_us)
		s->last_us = ts_us;
	s->count++;
	if (s->n_samples < REP_MAX_SAMPLES) {
		struct rep_sample *x = &s->samples[s->n_samples++];
		x->ts_us = ts_us;
		if (client)
			x->client = *client;
		else
			memset(&x->client, 0, sizeof(x->client));
	}
}

void rep_seen_merge(struct rep_seen *dst, const struct rep_seen *src)
{
	if (!src->count)
		return;
	if (!dst->count || src->first_us < dst->first_us)
		dst->first_us = src->first_us;
	if (!dst->count || src->last_us > dst->last_us)
		dst->last_us = src->last_us;
	dst->count += src->count;
	for (unsigned i = 0; i < src->n_samples && dst->n_samples < REP_MAX_SAMPLES; i++)
		dst->samples[dst->n_samples++] = src->samples[i];
}

/* ---- certificates --------------------------------------------------------------- */

struct rep_cert *rep_cert_adopt(struct rep *r, const struct x509_info *xi)
{
	struct rep_cert *c = rep_map_get(&r->certs, xi->sha256, sizeof(xi->sha256));

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->xi = x509_ref(xi);
	c->idx = (unsigned)r->cert_list.n;
	if (!rep_vec_push(&r->cert_list, c))
		goto fail;
	if (!rep_map_put(&r->certs, xi->sha256, sizeof(xi->sha256), c)) {
		rep_vec_pop(&r->cert_list);
		goto fail;
	}
	return c;
fail:
	x509_unref(c->xi);
	free(c);
	return NULL;
}

struct rep_cert *rep_cert_intern(struct rep *r, const uint8_t *der, size_t len)
{
	const struct x509_info *xi = x509_cache_get(r->cache, der, len, NULL);

	return xi ? rep_cert_adopt(r, xi) : NULL;
}

/* ---- servers ---------------------------------------------------------------------- */

static struct rep_server *rep_server_insert(struct rep *r, const char *key, size_t klen)
{
	struct rep_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->idx = (unsigned)r->server_list.n;
	s->role = ROLE_UNKNOWN;
	if (!rep_vec_push(&r->server_list, s)) {
		free(s);
		return NULL;
	}
	if (!rep_map_put(&r->servers, key, klen, s)) {
		rep_vec_pop(&r->server_list);
		free(s);
		return NULL;
	}
	return s;
}

size_t rep_server_key(const struct rep_endpoint *ep, char *key, size_t len)
{
	int n = snprintf(key, len, "%s|%u", ep->ip, (unsigned)ep->port);

	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

struct rep_server *rep_server_get(struct rep *r, const struct rep_endpoint *ep)
{
	char key[64];
	size_t klen = rep_server_key(ep, key, sizeof(key));
	struct rep_server *s = rep_map_get(&r->servers, key, klen);

	if (s)
		return s;
	s = rep_server_insert(r, key, klen);
	if (s)
		s->ep = *ep;
	return s;
}

struct rep_server *rep_server_from_file(struct rep *r, const char *file)
{
	char *key = str_printf("file|%s", file);
	struct rep_server *s = NULL;

	if (!key)
		return NULL;
	s = rep_map_get(&r->servers, key, strlen(key));
	if (!s) {
		s = rep_server_insert(r, key, strlen(key));
		if (s && !(s->file = str_dup(file)))
			s = NULL;          /* stays in the list; freed with it */
	}
	free(key);
	return s;
}

struct rep_chain *rep_server_chain(struct rep *r, struct rep_server *s,
				   struct rep_cert **certs, unsigned n, bool truncated)
{
	for (unsigned i = 0; i < s->n_chains; i++) {
		struct rep_chain *c = s->chains[i];
		if (c->n == n && c->truncated == truncated &&
		    !memcmp(c->certs, certs, n * sizeof(*certs)))
			return c;
	}
	if (s->n_chains == REP_MAX_CHAINS) {
		s->chains_dropped++;
		return NULL;
	}
	struct rep_chain *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->n = n;
	memcpy(c->certs, certs, n * sizeof(*certs));
	c->truncated = truncated;
	s->chains[s->n_chains++] = c;
	return c;
}

bool rep_server_add_sni(struct rep_server *s, const char *sni)
{
	for (unsigned i = 0; i < s->n_sni; i++)
		if (!strcasecmp(s->sni[i], sni))
			return false;
	if (s->n_sni == REP_MAX_SNI) {
		s->sni_more = true;
		return false;
	}
	char *d = str_dup(sni);
	if (!d)
		return false;
	s->sni[s->n_sni++] = d;
	return true;
}

void rep_server_add_client(struct rep *r, struct rep_server *s, const char *ip)
{
	char key[64];
	int klen = snprintf(key, sizeof(key), "%u|%s", s->idx, ip);

	if (rep_map_get(&r->clients, key, (size_t)klen))
		return;
	if (s->n_clients == REP_MAX_CLIENTS) {
		/* Tracking stops here so memory stays bounded by servers. */
		s->clients_more = true;
		return;
	}
	if (!s->clients) {
		s->clients = calloc(REP_MAX_CLIENTS, sizeof(*s->clients));
		if (!s->clients)
			return;
	}
	char *d = str_dup(ip);
	if (!d)
		return;
	if (!rep_map_put(&r->clients, key, (size_t)klen, (void *)1)) {
		free(d);
		return;
	}
	s->clients[s->n_clients++] = d;
}

bool rep_hs_cut(const struct rep_handshake *h)
{
	return h->snaplen_cut_packets && !h->resumed &&
	       (!h->server_chain.present || h->server_chain.truncated || !h->certificates_visible);
}

/* Why this handshake showed no whole server chain, counted for the
 * server's "not checked" reason (rules/verdict.c). */
static void count_without_chain(struct rep_server *s, const struct rep_handshake *h, unsigned ns)
{
	if (h->resumed) {
		s->resumed++;
	} else if (rep_hs_cut(h)) {
		s->cut++;
		s->cut_packets += h->snaplen_cut_packets;
		s->cut_snaplen = h->snaplen;
	} else if (h->server_hello && h->version == TLS_VERSION_1_3 && !h->certificates_visible) {
		s->hidden++;
	} else if (!ns && (h->status == REP_HS_TRUNCATED || h->server_chain.truncated)) {
		s->truncated++;
	} else if (!ns) {
		s->no_certificate++;
	}
}

/* Mutual TLS: the client's certificate, for telling the pool's peers. */
static void add_client_leaf(struct rep_server *s, struct rep_cert *leaf, const char *ip)
{
	for (unsigned i = 0; i < s->n_client_leaves; i++)
		if (s->client_leaves[i].leaf == leaf)
			return;
	if (s->n_client_leaves == REP_MAX_CLIENT_LEAVES)
		return;
	s->client_leaves[s->n_client_leaves].leaf = leaf;
	str_copy(s->client_leaves[s->n_client_leaves].ip,
		 sizeof(s->client_leaves[0].ip), ip);
	s->n_client_leaves++;
}

void rep_server_count_handshake(struct rep_server *s, const struct rep_handshake *h,
				unsigned n_server_certs, struct rep_cert *client_leaf)
{
	count_without_chain(s, h, n_server_certs);
	if (client_leaf)
		add_client_leaf(s, client_leaf, h->client.ip);
	else if (n_server_certs && h->certificates_visible && !h->resumed)
		s->without_client_cert++;
}

/* The name a person knows the server by: its certificate's CN when clients
 * asked for it (casarray.contoso.com, not the autodiscover alias the first
 * client happened to use), else the first name a client asked for, else
 * the certificate's own names. */
const char *rep_server_name(const struct rep_server *s)
{
	for (unsigned i = 0; i < s->n_chains && s->n_sni; i++) {
		const struct x509_info *xi = s->chains[i]->n ? s->chains[i]->certs[0]->xi : NULL;
		if (!xi || !xi->parsed || !xi->cn)
			continue;
		for (unsigned j = 0; j < s->n_sni; j++)
			if (strcasecmp(s->sni[j], xi->cn) == 0)
				return s->sni[j];
	}
	if (s->n_sni)
		return s->sni[0];
	for (unsigned i = 0; i < s->n_chains; i++) {
		const struct x509_info *xi = s->chains[i]->n ? s->chains[i]->certs[0]->xi : NULL;
		if (!xi || !xi->parsed)
			continue;
		if (xi->cn && *xi->cn)
			return xi->cn;
		if (xi->n_dns)
			return xi->dns[0];
	}
	return "";
}

const char *rep_server_addr(const struct rep_server *s, char *buf, size_t len)
{
	if (s->file)
		snprintf(buf, len, "file %s", s->file);
	else if (strchr(s->ep.ip, ':'))
		snprintf(buf, len, "[%s]:%u", s->ep.ip, (unsigned)s->ep.port);
	else
		snprintf(buf, len, "%s:%u", s->ep.ip, (unsigned)s->ep.port);
	return buf;
}

size_t rep_servers_seen(const struct rep *r)
{
	return r->server_list.n - r->baseline_only_servers;
}

void rep_inventory_free(struct rep *r)
{
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; j < s->n_sni; j++)
			free(s->sni[j]);
		for (unsigned j = 0; j < s->n_clients; j++)
			free(s->clients[j]);
		free(s->clients);
		for (unsigned j = 0; j < s->n_chains; j++)
			free(s->chains[j]);
		free(s->file);
		free(s);
	}
	rep_vec_clear(&r->server_list);
	rep_map_clear(&r->servers);
	rep_map_clear(&r->clients);
	for (size_t i = 0; i < r->cert_list.n; i++) {
		struct rep_cert *c = r->cert_list.v[i];
		x509_unref(c->xi);
		free(c);
	}
	rep_vec_clear(&r->cert_list);
	rep_map_clear(&r->certs);
	rep_vec_clear(&r->trust);        /* its entries were in cert_list */
}
