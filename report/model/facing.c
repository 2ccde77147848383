/*
 * facing.c — whom the FE pool talks to, and which servers its phones use.
 *
 * Two ideas, decided once at rep_finish (rules.c calls in, around roles.c's
 * refinement) when every handshake is known; each leaves its reason in
 * words on the server.
 *
 * 1. Peers on 5061.  FE servers talk to each other, to the Edge's internal
 *    side and to Mediation servers on 5061 with mutual TLS, the client
 *    presenting its own server certificate.  A 5061 server S has a peer
 *    edge from X when a client presented to S a certificate that X, another
 *    5061 server, presents, and that certificate shares no name with S's:
 *    X is of another pool than S (FE servers of one pool share the pool's
 *    name).  Which side is the pool is decided from anchors, then
 *    propagated until nothing changes:
 *      - a server with no such edge, one that Lync clients use without a
 *        client certificate (phones and desktop clients sign in that way),
 *        or --role lync-fe, is of the pool;
 *      - a server whose names say edge and that has such an edge, or
 *        --role lync-edge / lync-peer, is a peer;
 *      - a server with an edge from a pool server is a peer; one whose
 *        edges all come from peers is of the pool.
 *    A peer is lync-edge when a name of it has "edge" in its first label,
 *    else lync-peer.  A cycle no anchor decides stays lync-fe and says so.
 *
 * 2. Phone-facing.  A client that speaks TLS to a Lync FE on 5061 and is
 *    not itself a Lync server is a Lync client (a phone or a desktop
 *    client).  The FE pool's domains are the parent domains of the names
 *    on the FE certificates (contoso.com for lyncpool.contoso.com; the SNI
 *    names clients asked the FE for when no FE certificate was seen).  A
 *    server a Lync client uses, whose SNI or certificate names lie in those
 *    domains, is phone-facing -- unless it is the FE pool itself (an FE's
 *    address, or a certificate an FE presents).  Lync servers are judged as
 *    what they are, and --role other says a server is none of the phones'
 *    business.  A phone-facing server with an Exchange name (autodiscover,
 *    or a CAS name: mail, owa, outlook, webmail, casarray, cas*, ews,
 *    exchange as the first label) is exchange on any port; a CAS name
 *    alone is not enough (roles.c gives exchange for autodiscover on the
 *    HTTPS ports only), or a desktop client's visit to mail.example.org
 *    would be judged by the phone trust model.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "report/rep_int.h"

#define MAX_DOMAINS 16
#define REASON_BYTES 4096         /* a reason, at most; the server keeps 512 */

/* ---- names ---------------------------------------------------------------------- */

/* The first label of host, lowercased, into buf; false when there is none. */
static bool first_label(const char *host, char *buf, size_t len)
{
	size_t i = 0;

	for (; host[i] && host[i] != '.' && i + 1 < len; i++)
		buf[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
	buf[i] = '\0';
	return i > 0 && host[i] == '.';
}

bool rep_is_exchange_name(const char *host)
{
	static const char *const exact[] = {
		"autodiscover", "mail", "owa", "outlook", "webmail", "casarray", "ews", "exchange",
	};
	char label[64];

	if (!first_label(host, label, sizeof(label)))
		return false;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(label, exact[i]))
			return true;
	return !strncmp(label, "cas", 3);
}

static bool says_edge(const char *host)
{
	char label[64];

	first_label(host, label, sizeof(label));
	return strstr(label, "edge") != NULL;
}

/* The names of a leaf a host is matched with: its DNS SANs, else its CN. */
static size_t leaf_names(const struct x509_info *xi, const char *const **names, const char **cn)
{
	if (!xi || !xi->parsed)
		return 0;
	if (xi->n_dns) {
		*names = (const char *const *)xi->dns;
		return xi->n_dns;
	}
	if (xi->cn && *xi->cn) {
		*cn = xi->cn;
		*names = cn;
		return 1;
	}
	return 0;
}

static bool leaves_share_a_name(const struct x509_info *a, const struct x509_info *b)
{
	const char *const *na, *const *nb;
	const char *ca, *cb;
	size_t n = leaf_names(a, &na, &ca), m = leaf_names(b, &nb, &cb);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < m; j++)
			if (!strcasecmp(na[i], nb[j]))
				return true;
	return false;
}

static const struct x509_info *chain_leaf(const struct rep_chain *c)
{
	return c->n && c->certs[0]->xi->parsed ? c->certs[0]->xi : NULL;
}

static bool presents_leaf(const struct rep_server *s, const struct rep_cert *leaf)
{
	for (unsigned i = 0; i < s->n_chains; i++)
		if (s->chains[i]->n && s->chains[i]->certs[0] == leaf)
			return true;
	return false;
}

/* A name of s (SNI first, then its certificates' names) with "edge" in its
 * first label, or NULL. */
static const char *edge_name(const struct rep_server *s)
{
	for (unsigned i = 0; i < s->n_sni; i++)
		if (says_edge(s->sni[i]))
			return s->sni[i];
	for (unsigned i = 0; i < s->n_chains; i++) {
		const char *const *names, *cn;
		size_t n = leaf_names(chain_leaf(s->chains[i]), &names, &cn);
		for (size_t j = 0; j < n; j++)
			if (says_edge(names[j]))
				return names[j];
	}
	return NULL;
}

static bool is_server(const struct rep_server *s)
{
	return !s->file && !s->baseline_only;
}

/* ---- 1. peers on 5061 ----------------------------------------------------------- */

enum side { SIDE_UNDECIDED, SIDE_POOL, SIDE_PEER };

struct peer_edge {                     /* a client of s presented x's certificate */
	struct rep_server *x;
	size_t x_node;                 /* x's index among the nodes */
	const struct rep_cert *leaf;
	const char *client;
};

struct peer_node {
	struct rep_server *s;
	enum side side;
	bool candidate;                /* decided by the port: the rules may change it */
	unsigned n_edges;
	struct peer_edge edges[REP_MAX_CLIENT_LEAVES];
	const char *anchor;            /* why it was decided without propagation */
};

static bool shares_name_with(const struct rep_server *s, const struct x509_info *xi)
{
	for (unsigned i = 0; i < s->n_chains; i++)
		if (leaves_share_a_name(chain_leaf(s->chains[i]), xi))
			return true;
	return false;
}

static void find_edges(struct peer_node *nodes, size_t n, struct peer_node *p)
{
	const struct rep_server *s = p->s;

	for (unsigned i = 0; i < s->n_client_leaves; i++) {
		const struct rep_cert *leaf = s->client_leaves[i].leaf;
		if (!leaf->xi->parsed || presents_leaf(s, leaf) || shares_name_with(s, leaf->xi))
			continue;      /* its own pool's certificate */
		for (size_t k = 0; k < n; k++) {
			struct rep_server *x = nodes[k].s;
			if (x == s || !presents_leaf(x, leaf) || p->n_edges == REP_MAX_CLIENT_LEAVES)
				continue;
			p->edges[p->n_edges++] = (struct peer_edge){ x, k, leaf, s->client_leaves[i].ip };
			break;
		}
	}
}

static void anchor_side(struct peer_node *p)
{
	const struct rep_server *s = p->s;

	if (!p->candidate) {
		p->side = s->role == ROLE_LYNC_FE ? SIDE_POOL : SIDE_PEER;
		p->anchor = "--role";
	} else if (!p->n_edges) {
		p->side = SIDE_POOL;
	} else if (s->without_client_cert) {
		p->side = SIDE_POOL;
		p->anchor = "clients sign in to it without a client certificate, as phones "
			    "and desktop clients do";
	} else if (edge_name(s)) {
		p->side = SIDE_PEER;
		p->anchor = "its names say edge";
	}
}

static void propagate(struct peer_node *nodes, size_t n)
{
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			struct peer_node *p = &nodes[i];
			unsigned from_peers = 0;
			bool from_pool = false;
			if (p->side != SIDE_UNDECIDED)
				continue;
			for (unsigned k = 0; k < p->n_edges; k++) {
				enum side x = nodes[p->edges[k].x_node].side;
				from_pool |= x == SIDE_POOL;
				from_peers += x == SIDE_PEER;
			}
			if (from_pool)
				p->side = SIDE_PEER;
			else if (from_peers == p->n_edges)
				p->side = SIDE_POOL;
			changed |= p->side != SIDE_UNDECIDED;
		}
	}
}

/* The first edge from a server on that side, else the first edge. */
static const struct peer_edge *edge_from(const struct peer_node *nodes, const struct peer_node *p,
					 enum side want)
{
	for (unsigned k = 0; k < p->n_edges; k++)
		if (nodes[p->edges[k].x_node].side == want)
			return &p->edges[k];
	return p->edges;
}

static void say_peer(const struct peer_node *nodes, struct peer_node *p)
{
	struct rep_server *s = p->s;
	const struct peer_edge *e = edge_from(nodes, p, SIDE_POOL);
	const char *edge = edge_name(s);
	char addr[300];

	s->role = edge ? ROLE_LYNC_EDGE : ROLE_LYNC_PEER;
	snprintf(s->role_reason, sizeof(s->role_reason),
		 "port 5061, a server-to-server peer of the pool, not one of its FE servers: "
		 "its client %s presented %s (thumbprint %s), the certificate of %s, and "
		 "this server's certificate names none of its names%s%s%s",
		 e->client, e->leaf->xi->subject, e->leaf->xi->thumbprint,
		 rep_server_addr(e->x, addr, sizeof(addr)),
		 edge ? "; its names say edge (" : "", edge ? edge : "", edge ? ")" : "");
}

static void say_pool(struct peer_node *p)
{
	struct rep_server *s = p->s;
	char addr[300];
	size_t len = strlen(s->role_reason);

	if (!p->n_edges) {
		/* Mutual TLS within the pool: say so, it is why it stays lync-fe. */
		for (unsigned i = 0; i < s->n_client_leaves; i++) {
			const struct rep_cert *leaf = s->client_leaves[i].leaf;
			if (!leaf->xi->parsed || presents_leaf(s, leaf))
				continue;
			snprintf(s->role_reason + len, sizeof(s->role_reason) - len,
				 "; its mutual-TLS client %s presented %s, which shares a name with "
				 "this server's certificate: the same pool", s->client_leaves[i].ip,
				 leaf->xi->subject);
			return;
		}
		return;
	}
	const struct peer_edge *e = p->edges;
	if (p->anchor)
		snprintf(s->role_reason + len, sizeof(s->role_reason) - len,
			 "; of the pool although %s presented %s, another pool's certificate: %s",
			 e->client, e->leaf->xi->subject, p->anchor);
	else
		snprintf(s->role_reason + len, sizeof(s->role_reason) - len,
			 "; its mutual-TLS client %s is the pool's peer %s (%s), not an FE server",
			 e->client, rep_server_name(e->x), rep_server_addr(e->x, addr, sizeof(addr)));
}

void rep_peers_decide(struct rep *r)
{
	size_t n = 0;
	struct peer_node *nodes = calloc(r->server_list.n + 1, sizeof(*nodes));

	if (!nodes)
		return;
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (!is_server(s) || s->ep.port != 5061)
			continue;
		bool candidate = !s->role_explicit && s->role == ROLE_LYNC_FE;
		if (!candidate && !(s->role_explicit && rep_role_is_lync(s->role)))
			continue;
		nodes[n++] = (struct peer_node){ .s = s, .candidate = candidate };
	}
	for (size_t i = 0; i < n; i++)
		find_edges(nodes, n, &nodes[i]);
	for (size_t i = 0; i < n; i++)
		anchor_side(&nodes[i]);
	propagate(nodes, n);
	for (size_t i = 0; i < n; i++) {
		struct peer_node *p = &nodes[i];
		if (!p->candidate)
			continue;
		if (p->side == SIDE_PEER) {
			say_peer(nodes, p);
		} else if (p->side == SIDE_POOL) {
			say_pool(p);
		} else {
			const struct peer_edge *e = p->edges;
			size_t len = strlen(p->s->role_reason);
			snprintf(p->s->role_reason + len, sizeof(p->s->role_reason) - len,
				 "; it and %s talk mutual TLS under different names, and nothing "
				 "tells which is the pool (say it with --role)", rep_server_name(e->x));
		}
	}
	free(nodes);
}

/* ---- 2. phone-facing ------------------------------------------------------------ */

struct pool {
	struct rep_server *fe[64];     /* FE servers on 5061, the first 64 */
	size_t n_fe;
	char domains[MAX_DOMAINS][256];
	size_t n_domains;
	struct rep_map lync_servers;   /* ip_key -> (void *)1: addresses of Lync servers */
	struct rep_map lync_clients;   /* ip_key -> the FE server it signs in to */
};

/* An address as a map key: its 4 or 16 bytes (so "fd00:0::1" is "fd00::1"),
 * else the text itself. */
static size_t ip_key(const char *ip, uint8_t key[256])
{
	if (inet_pton(AF_INET, ip, key) == 1)
		return 4;
	if (inet_pton(AF_INET6, ip, key) == 1)
		return 16;
	size_t n = strlen(ip) < 255 ? strlen(ip) : 255;
	memcpy(key, ip, n);
	return n;
}

static void *ip_get(const struct rep_map *m, const char *ip)
{
	uint8_t key[256];
	size_t n = ip_key(ip, key);

	return rep_map_get(m, key, n);
}

static void ip_put(struct rep_map *m, const char *ip, void *val)
{
	uint8_t key[256];
	size_t n = ip_key(ip, key);

	if (!rep_map_get(m, key, n))
		rep_map_put(m, key, n, val);
}

static void add_domain(struct pool *p, const char *name)
{
	const char *dot = strchr(name, '.');

	if (!dot || !strchr(dot + 1, '.') || p->n_domains == MAX_DOMAINS)
		return;                /* "contoso.com" has no parent domain worth a name */
	for (size_t i = 0; i < p->n_domains; i++)
		if (!strcasecmp(p->domains[i], dot + 1))
			return;
	snprintf(p->domains[p->n_domains], sizeof(p->domains[0]), "%s", dot + 1);
	for (char *c = p->domains[p->n_domains]; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	p->n_domains++;
}

/* The FE's domain host lies in, or NULL. */
static const char *in_domains(const struct pool *p, const char *host)
{
	size_t hn = strlen(host);

	if (hn && host[hn - 1] == '.')
		hn--;
	for (size_t i = 0; i < p->n_domains; i++) {
		size_t dn = strlen(p->domains[i]);
		if (hn > dn && host[hn - dn - 1] == '.' && !strncasecmp(host + hn - dn, p->domains[i], dn))
			return p->domains[i];
	}
	return NULL;
}

static void pool_collect(struct rep *r, struct pool *p)
{
	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		if (is_server(s) && rep_role_is_lync(s->role))
			ip_put(&p->lync_servers, s->ep.ip, (void *)1);
	}
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (!is_server(s) || s->role != ROLE_LYNC_FE || s->ep.port != 5061)
			continue;
		if (p->n_fe < sizeof(p->fe) / sizeof(p->fe[0]))
			p->fe[p->n_fe++] = s;
		bool named = false;
		for (unsigned j = 0; j < s->n_chains; j++) {
			const char *const *names, *cn;
			size_t n = leaf_names(chain_leaf(s->chains[j]), &names, &cn);
			for (size_t k = 0; k < n; k++)
				add_domain(p, names[k]);
			named |= n > 0;
		}
		for (unsigned j = 0; !named && j < s->n_sni; j++)
			add_domain(p, s->sni[j]);
		for (unsigned j = 0; j < s->n_clients; j++)
			if (!ip_get(&p->lync_servers, s->clients[j]))
				ip_put(&p->lync_clients, s->clients[j], s);
	}
}

static void domains_words(const struct pool *p, struct buf *b)
{
	for (size_t i = 0; i < p->n_domains; i++)
		buf_printf(b, "%s%s", i ? ", " : "", p->domains[i]);
	if (!p->n_domains)
		buf_puts(b, "none: no FE certificate or SNI name was seen");
}

/* The first name of s in the pool's domains (SNI first); where says whence. */
static const char *name_in_domains(const struct pool *p, const struct rep_server *s,
				   const char **where, const char **domain)
{
	for (unsigned i = 0; i < s->n_sni; i++) {
		if ((*domain = in_domains(p, s->sni[i]))) {
			*where = "SNI";
			return s->sni[i];
		}
	}
	for (unsigned i = 0; i < s->n_chains; i++) {
		const char *const *names, *cn;
		size_t n = leaf_names(chain_leaf(s->chains[i]), &names, &cn);
		for (size_t k = 0; k < n; k++) {
			if ((*domain = in_domains(p, names[k]))) {
				*where = "certificate name";
				return names[k];
			}
		}
	}
	return NULL;
}

static void names_words(const struct rep_server *s, struct buf *b)
{
	const char *seen[6];
	unsigned n = 0;

	for (unsigned i = 0; i < s->n_sni && n < 6; i++)
		seen[n++] = s->sni[i];
	for (unsigned i = 0; i < s->n_chains && n < 6; i++) {
		const char *const *names, *cn;
		size_t m = leaf_names(chain_leaf(s->chains[i]), &names, &cn);
		for (size_t k = 0; k < m && n < 6; k++) {
			bool dup = false;
			for (unsigned j = 0; j < n && !dup; j++)
				dup = !strcasecmp(seen[j], names[k]);
			if (!dup)
				seen[n++] = names[k];
		}
	}
	for (unsigned i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? ", " : "", seen[i]);
}

/* The FE server s is the pool itself of: by address, or by certificate. */
static const struct rep_server *pool_itself(const struct pool *p, const struct rep_server *s,
					    bool *by_address)
{
	for (size_t i = 0; i < p->n_fe; i++) {
		if (rep_same_ip(p->fe[i]->ep.ip, s->ep.ip)) {
			*by_address = true;
			return p->fe[i];
		}
	}
	for (unsigned j = 0; j < s->n_chains; j++) {
		for (size_t i = 0; s->chains[j]->n && i < p->n_fe; i++) {
			if (presents_leaf(p->fe[i], s->chains[j]->certs[0])) {
				*by_address = false;
				return p->fe[i];
			}
		}
	}
	return NULL;
}

/* A phone-facing server with an Exchange name is exchange. */
static void strengthen(struct rep_server *s)
{
	const char *name = NULL, *where = "SNI";

	if (s->role_explicit || (s->role != ROLE_OTHER && s->role != ROLE_UNKNOWN))
		return;
	for (unsigned i = 0; i < s->n_sni && !name; i++)
		if (rep_is_exchange_name(s->sni[i]))
			name = s->sni[i];
	for (unsigned i = 0; i < s->n_chains && !name; i++) {
		const char *const *names, *cn;
		size_t n = leaf_names(chain_leaf(s->chains[i]), &names, &cn);
		for (size_t k = 0; k < n && !name; k++)
			if (rep_is_exchange_name(names[k])) {
				name = names[k];
				where = "certificate name";
			}
	}
	if (!name)
		return;
	s->role = ROLE_EXCHANGE;
	snprintf(s->role_reason, sizeof(s->role_reason),
		 "%s %s, an Exchange name, on a phone-facing server", where, name);
}

static void decide_one(struct pool *p, struct rep_server *s)
{
	struct buf b = BUF_INIT(REASON_BYTES);
	const struct rep_server *fe = NULL;
	char addr[300];

	s->phone_facing = false;
	s->n_phone_clients = 0;
	s->phone_clients_more = false;
	if (rep_role_is_lync(s->role)) {
		buf_printf(&b, "no: a Lync server (%s), judged as one", rep_role_name(s->role));
		goto out;
	}
	if (s->role_explicit && s->role != ROLE_EXCHANGE) {
		buf_printf(&b, "no: %s says it is %s", s->role_reason, rep_role_name(s->role));
		goto out;
	}
	if (!p->n_fe) {
		buf_puts(&b, "no: no Lync FE was seen on 5061, so no client is known to be a "
			 "Lync client");
		goto out;
	}
	for (unsigned i = 0; i < s->n_clients; i++) {
		const struct rep_server *x = ip_get(&p->lync_clients, s->clients[i]);
		if (!x)
			continue;
		if (!fe)
			fe = x;
		if (s->n_phone_clients < REP_MAX_PHONE_CLIENTS)
			s->phone_clients[s->n_phone_clients++] = s->clients[i];
		else
			s->phone_clients_more = true;
	}
	if (!s->n_phone_clients) {
		buf_puts(&b, "no: none of its clients speaks TLS to a Lync FE on 5061");
		goto out;
	}
	const char *where = NULL, *domain = NULL;
	const char *name = name_in_domains(p, s, &where, &domain);
	if (!name) {
		struct buf names = BUF_INIT(REASON_BYTES);
		names_words(s, &names);
		buf_printf(&b, "no: Lync clients use it (%s%s), but ", s->phone_clients[0],
			   s->n_phone_clients > 1 ? ", ..." : "");
		if (!buf_len(&names)) {
			buf_puts(&b, "no name of it was seen (no SNI, no certificate)");
		} else {
			buf_printf(&b, "its names (%s) lie outside the FE pool's domains (",
				   buf_str(&names));
			domains_words(p, &b);
			buf_puts(&b, ")");
		}
		buf_free(&names);
		s->n_phone_clients = 0;
		s->phone_clients_more = false;
		goto out;
	}
	bool by_address = false;
	const struct rep_server *itself = pool_itself(p, s, &by_address);
	if (itself) {
		buf_printf(&b, "no: it is the FE pool itself (%s %s)",
			   by_address ? "the address of FE" : "the certificate of FE",
			   rep_server_addr(itself, addr, sizeof(addr)));
		s->n_phone_clients = 0;
		s->phone_clients_more = false;
		goto out;
	}
	s->phone_facing = true;
	buf_puts(&b, "yes: Lync clients use it (");
	for (unsigned i = 0; i < s->n_phone_clients; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", s->phone_clients[i]);
	if (s->phone_clients_more)
		buf_puts(&b, ", ...");
	const char *fe_name = rep_server_name(fe);
	buf_printf(&b, "; they sign in to FE %s%s%s) and %s %s lies in the FE pool's domain %s",
		   fe_name, *fe_name ? " " : "", rep_server_addr(fe, addr, sizeof(addr)), where,
		   name, domain);
	strengthen(s);
out:
	str_copy(s->facing_reason, sizeof(s->facing_reason),
		 buf_ok(&b) ? buf_str(&b) : buf_strerror(&b));
	buf_free(&b);
}

void rep_facing_decide(struct rep *r)
{
	struct pool p;

	memset(&p, 0, sizeof(p));
	pool_collect(r, &p);
	for (size_t i = 0; i < r->server_list.n; i++) {
		struct rep_server *s = r->server_list.v[i];
		if (s->file)
			snprintf(s->facing_reason, sizeof(s->facing_reason),
				 "no: a certificate from a file (--cert), no traffic");
		else if (s->baseline_only)
			snprintf(s->facing_reason, sizeof(s->facing_reason),
				 "no: not seen in this run (known from --baseline)");
		else
			decide_one(&p, s);
	}
	rep_map_clear(&p.lync_clients);
	rep_map_clear(&p.lync_servers);
}

bool rep_server_phone_judged(const struct rep_server *s)
{
	return s->role == ROLE_EXCHANGE || s->phone_facing;
}

bool rep_server_relevant(const struct rep_server *s)
{
	return rep_role_is_ms(s->role) || s->phone_facing;
}
