/*
 * dot.c — the trust picture as a Graphviz digraph:
 *
 *   CA ──issued──▶ certificate ──presented by──▶ server
 *
 * Servers sit in one cluster per role, so the FE pool and the Exchange
 * servers are side by side; CAs we only know by name (their certificate was
 * never sent) are dashed boxes.  The edge from an issuer to an Exchange
 * certificate phones do not trust (issuer-mismatch) is drawn red, and two
 * CAs with look-alike names are joined by an orange dashed line.  `dot -Tsvg` renders it.
 */
#include <string.h>

#include "report/rep_int.h"

/* A double-quoted DOT string: backslash and quote escaped, newlines as \n. */
static void dot_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', o);
		if (*s == '\n')
			fputs("\\n", o);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, o);
	}
	fputc('"', o);
}

struct dot {
	struct rep *r;
	FILE *o;
	struct rep_map names;          /* issuer name -> node number + 1 */
	struct rep_map edges;          /* "from|to" -> 1 */
	unsigned n_names;
};

/* The node of a CA by name: a certificate with that subject when one was
 * sent (registered first, in rep_dot_finish), else a dashed box declared on
 * first use.  Map values: (cert index + 1) << 1 | 1, or (box id + 1) << 1. */
static void name_node(struct dot *d, const char *name, char *buf, size_t len)
{
	uintptr_t v = (uintptr_t)rep_map_get(&d->names, name, strlen(name));

	if (!v) {
		unsigned id = d->n_names++;
		v = (uintptr_t)(id + 1) << 1;
		rep_map_put(&d->names, name, strlen(name), (void *)v);
		fprintf(d->o, "  n%u [shape=box, style=dashed, label=", id);
		dot_str(d->o, name);
		fprintf(d->o, "];\n");
	}
	if (v & 1) {
		const struct rep_cert *c = d->r->cert_list.v[(v >> 1) - 1];
		snprintf(buf, len, "c%s", c->xi->sha1_hex);
	} else {
		snprintf(buf, len, "n%u", (unsigned)(v >> 1) - 1);
	}
}

static bool edge_once(struct dot *d, const char *from, const char *to)
{
	char key[200];
	int n = snprintf(key, sizeof(key), "%s|%s", from, to);

	if (rep_map_get(&d->edges, key, (size_t)n))
		return false;
	rep_map_put(&d->edges, key, (size_t)n, (void *)1);
	return true;
}

static bool mismatch(const struct rep *r, const struct rep_cert *leaf)
{
	for (size_t i = 0; i < r->finding_list.n; i++) {
		const struct rep_finding *f = r->finding_list.v[i];
		if (f->code == RC_ISSUER_MISMATCH && f->cert == leaf)
			return true;
	}
	return false;
}

static void cert_node(struct dot *d, const struct rep_cert *c)
{
	const struct x509_info *xi = c->xi;
	char label[600];

	if (xi->parsed)
		snprintf(label, sizeof(label), "%s\n%s\n%s %d", xi->cn ? xi->cn : xi->subject,
			 xi->thumbprint, xi->key_type, xi->key_bits);
	else
		snprintf(label, sizeof(label), "unparsable\n%s", xi->thumbprint);
	fprintf(d->o, "  c%s [shape=%s, label=", xi->sha1_hex, xi->is_ca ? "box" : "note");
	dot_str(d->o, label);
	fprintf(d->o, "];\n");
}

/* The node id of whoever issued chain[i]: the next certificate sent if it
 * is the issuer, else a certificate we know by that subject, else a name. */
static void issuer_id(struct dot *d, const struct rep_chain *c, unsigned i, char *buf, size_t len)
{
	const struct x509_info *xi = c->certs[i]->xi;

	for (unsigned j = 0; j < c->n; j++) {
		const struct x509_info *y = c->certs[j]->xi;
		if (j != i && y->parsed && !strcmp(y->subject, xi->issuer)) {
			snprintf(buf, len, "c%s", y->sha1_hex);
			return;
		}
	}
	name_node(d, xi->issuer, buf, len);
}

void rep_dot_finish(struct rep *r)
{
	static const enum rep_role roles[] = {
		ROLE_LYNC_FE, ROLE_LYNC_EDGE, ROLE_LYNC_PEER, ROLE_EXCHANGE, ROLE_OTHER,
		ROLE_UNKNOWN,
	};
	struct dot d = { .r = r, .o = r->out };
	FILE *o = r->out;

	if (!o)
		return;
	fprintf(o, "digraph certtrace {\n  rankdir=LR;\n"
		"  node [fontname=\"Helvetica\", fontsize=10];\n"
		"  edge [fontname=\"Helvetica\", fontsize=9];\n");

	/* certificates, once each */
	for (size_t i = 0; i < r->cert_list.n; i++) {
		const struct rep_cert *c = r->cert_list.v[i];
		bool used = false;
		for (size_t k = 0; k < r->server_list.n && !used; k++) {
			const struct rep_server *s = r->server_list.v[k];
			for (unsigned j = 0; j < s->n_chains && !used; j++)
				for (unsigned m = 0; m < s->chains[j]->n && !used; m++)
					used = s->chains[j]->certs[m] == c;
		}
		if (!used)
			continue;
		cert_node(&d, c);
		const struct x509_info *xi = c->xi;
		if (xi->parsed && (xi->is_ca || xi->self_signed) &&
		    !rep_map_get(&d.names, xi->subject, strlen(xi->subject)))
			rep_map_put(&d.names, xi->subject, strlen(xi->subject),
				    (void *)(((uintptr_t)c->idx + 1) << 1 | 1));
	}

	/* servers, one cluster per role */
	for (unsigned k = 0; k < sizeof(roles) / sizeof(roles[0]); k++) {
		bool open = false;
		for (size_t i = 0; i < r->server_list.n; i++) {
			const struct rep_server *s = r->server_list.v[i];
			char addr[300], label[700];
			if (s->role != roles[k])
				continue;
			if (!open) {
				fprintf(o, "  subgraph cluster_%u {\n    label=", k);
				dot_str(o, rep_role_name(roles[k]));
				fprintf(o, ";\n    style=rounded;\n");
				open = true;
			}
			snprintf(label, sizeof(label), "%s\n%s", rep_server_name(s),
				 rep_server_addr(s, addr, sizeof(addr)));
			fprintf(o, "    s%u [shape=ellipse, label=", s->idx);
			dot_str(o, label);
			fprintf(o, "];\n");
		}
		if (open)
			fprintf(o, "  }\n");
	}

	/* issued-by and presented-by edges */
	for (size_t i = 0; i < r->server_list.n; i++) {
		const struct rep_server *s = r->server_list.v[i];
		for (unsigned j = 0; j < s->n_chains; j++) {
			const struct rep_chain *c = s->chains[j];
			for (unsigned m = 0; m < c->n; m++) {
				const struct x509_info *xi = c->certs[m]->xi;
				char from[64], to[64];
				if (!xi->parsed || xi->self_signed)
					continue;
				issuer_id(&d, c, m, from, sizeof(from));
				snprintf(to, sizeof(to), "c%s", xi->sha1_hex);
				if (!edge_once(&d, from, to))
					continue;
				if (m == 0 && mismatch(r, c->certs[0]))
					fprintf(o, "  %s -> %s [color=red, penwidth=2, fontcolor=red, "
						"label=\"issuer-mismatch\"];\n", from, to);
				else
					fprintf(o, "  %s -> %s;\n", from, to);
			}
			if (c->n) {
				char from[64], to[32];
				snprintf(from, sizeof(from), "c%s", c->certs[0]->xi->sha1_hex);
				snprintf(to, sizeof(to), "s%u", s->idx);
				if (edge_once(&d, from, to))
					fprintf(o, "  %s -> %s [style=bold];\n", from, to);
			}
		}
	}

	/* CAs a person would mix up */
	for (size_t i = 0; i < r->finding_list.n; i++) {
		const struct rep_finding *f = r->finding_list.v[i];
		const char *a = rep_finding_fact(f, "issuing_ca");
		const char *b = rep_finding_fact(f, "other_ca");
		char na[64], nb[64];
		if (f->code != RC_LOOKALIKE_CA_NAME || !a || !b)
			continue;
		name_node(&d, a, na, sizeof(na));
		name_node(&d, b, nb, sizeof(nb));
		fprintf(o, "  %s -> %s [dir=none, style=dashed, color=orange, "
			"label=\"look-alike names\"];\n", na, nb);
	}
	fprintf(o, "}\n");
	fflush(o);
	rep_map_clear(&d.names);
	rep_map_clear(&d.edges);
}
