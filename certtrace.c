/*
 * certtrace.c — the command: options and wiring, nothing else.
 *
 *   source ─▶ cap_decode ─▶ flow table ─▶ tls_feed ─▶ rep_handshake ─▶ rep_finish
 *
 * Each TCP flow gets a TLS dissector when its first payload arrives; when the
 * dissector is done (or the flow ends) its session record goes to the report
 * and the dissector is freed, so only flows in their handshake hold memory.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "capture/capture.h"
#include "dissect/dpi.h"
#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "report/report.h"

#define CERTTRACE_VERSION "0.1.0"
#define MAX_FILES 256
#define MAX_EVENTS 256
#define BATCH 4096

struct options {
	const char *files[MAX_FILES];
	unsigned n_files;
	const char *events[MAX_EVENTS];  /* --events: earlier runs' jsonl */
	unsigned n_events;
	const char *keylogs[MAX_FILES];  /* --keylog: SSLKEYLOGFILEs */
	unsigned n_keylogs;
	const char *iface;
	const char *filter;
	char *filter_owned;
	const char *ports;
	struct rep_options rep;
	bool format_given;
	uint64_t count;                /* -c: stop after N handshakes */
	double duration_s;
	int buffer_kib;
	bool no_promisc;
	bool list_ifaces;
	uint32_t max_flows;
	bool debug_flows;
	int verbose;
	const char *write_file;        /* -w */
	const char *user;              /* -Z */
	bool no_dpi;
};

/* What a flow in its handshake holds: our dissector and nDPI's state. */
struct flow_state {
	struct tls_conn *tls;
	struct dpi_flow *dpi;
	bool dpi_tried;
};

struct run {
	struct options *o;
	struct flow_table *flows;
	struct rep *rep;
	struct dpi *dpi;               /* NULL with --no-dpi */
	struct kl_store *keys;         /* --keylog and pcapng secrets */
	int dlt;
	struct rep_capture_stats st;
	struct cap_encap_counts encaps;
	char truncated_file[256];      /* the first input cut inside its last record */
	uint64_t handshakes;
	uint64_t malformed;
	const char *first_malformed;
	pcap_dumper_t *dump;           /* -w */
	int dump_dlt;
	bool status_line;              /* a terminal on stderr, not -q */
	struct timespec last_status;
	struct cap_source *src;        /* being read, for progress */
	struct timespec started;
};

static volatile sig_atomic_t stop_requested;
static struct cap_source *live_source;

static void usage(FILE *f)
{
	fputs(
"usage: certtrace -r FILE [-r FILE ...] [options]\n"
"       certtrace -i IFACE [options] [BPF expression]\n"
"       certtrace -D\n"
"\n"
"Passive TLS certificate inspector: reassembles TCP, dissects TLS handshakes,\n"
"parses every certificate chain and reports trust problems between Lync /\n"
"Skype for Business Front End pools and the Exchange servers their phones use.\n"
"\n"
"input:\n"
"  -r FILE              read a pcap or pcapng file (\"-\" is stdin); repeatable\n"
"  -i IFACE             capture live (\"any\" for all interfaces)\n"
"  BPF expression       live capture filter (default: TCP on --ports)\n"
"  --ports LIST         default live filter ports (443,444,4443,5061,5062,5063,8057,8058)\n"
"  -c N                 stop after N handshakes\n"
"  --duration SEC       stop after SEC seconds of live capture\n"
"  -B KiB               live capture buffer (default 65536)\n"
"  -p                   not promiscuous\n"
"  -D                   list interfaces\n"
"  --max-flows N        flow-table cap, oldest idle evicted (default 1000000)\n"
"  --no-dpi             skip nDPI classification (app names, risks)\n"
"  --keylog FILE        an SSLKEYLOGFILE (NSS key log): TLS 1.3 certificates\n"
"                       become visible; repeatable (a pcapng file's own\n"
"                       Decryption Secrets Blocks are read as well)\n"
"\n"
"what servers are:\n"
"  --role NAME=ROLE     NAME: IP, IP:PORT, or host name/glob over SNI and SAN;\n"
"                       ROLE: lync-fe, lync-edge, exchange, other\n"
"  --trust FILE.pem     CA certificates phones also trust (New-CsWebTrustedCACertificate)\n"
"  --cert ROLE=FILE     a server certificate exported from a server (PEM or DER)\n"
"  --phone-log FILE     a Lync Phone Edition log (CELog/UCD_LOG lines as text): its\n"
"                       EWS urls make those servers exchange, and its errors\n"
"                       (errorCode=12045, hr=...) are tied to the findings that\n"
"                       explain them; repeatable\n"
"\n"
"several runs:\n"
"  --events FILE.jsonl  also report over an earlier run's jsonl output (\"-\" is\n"
"                       stdin); repeat it for each run (several capture points);\n"
"                       combines with -r and -i\n"
"  --baseline FILE.jsonl  compare with an earlier run's jsonl: certificate-changed\n"
"                       for a server whose certificate or issuing CA differs, or\n"
"                       that appeared or disappeared\n"
"\n"
"output:\n"
"  --format FMT         text, jsonl or dot (default: text on a terminal, else jsonl)\n"
"  --fail-on SEV        exit 1 on findings at or above critical|warning|info, or never\n"
"                       (default critical)\n"
"  --export-certs DIR   write every certificate seen to DIR as <sha1>.pem and\n"
"                       <sha1>.cer (DER, for Windows), and DIR/index.tsv\n"
"  -w FILE              save the handshake packets of every flow (not the bulk) to FILE\n"
"  -Z USER              drop privileges to USER after opening the interface\n"
"                       (started as root without -Z, certtrace parses the network\n"
"                       as root: use -Z on a shared server)\n"
"  --debug-flows        print per-flow TCP reassembly figures instead of a report\n"
"  -q, -v               quieter, more detail\n"
"  -h, --help           this text\n"
"  --version            print the version\n"
"\n"
"exit status: 0 no finding at or above --fail-on, 1 findings, 2 bad usage or\n"
"unreadable input.\n", f);
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "certtrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (certtrace --help)\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_severity(const char *s, enum rep_severity *out)
{
	static const struct { const char *name; enum rep_severity sev; } t[] = {
		{ "critical", REP_CRITICAL }, { "warning", REP_WARNING },
		{ "info", REP_INFO }, { "never", REP_NEVER },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].sev;
			return true;
		}
	return false;
}

static const char *build_port_filter(const char *ports, char **owned)
{
	size_t cap = strlen(ports) * 10 + 32;
	char *f = malloc(cap);
	if (!f)
		return NULL;
	strcpy(f, "tcp and (");
	const char *p = ports;
	bool first = true;
	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v <= 0 || v > 65535 || (*end && *end != ',')) {
			free(f);
			return NULL;
		}
		size_t l = strlen(f);
		snprintf(f + l, cap - l, "%sport %ld", first ? "" : " or ", v);
		first = false;
		p = *end ? end + 1 : end;
	}
	strcat(f, ")");
	*owned = f;
	return f;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_PORTS = 256, OPT_ROLE, OPT_TRUST, OPT_CERT, OPT_FORMAT, OPT_FAIL_ON,
		OPT_EXPORT, OPT_DURATION, OPT_MAX_FLOWS, OPT_DEBUG_FLOWS, OPT_VERSION,
		OPT_NO_DPI, OPT_PHONE_LOG, OPT_EVENTS, OPT_BASELINE, OPT_KEYLOG,
	};
	static const struct option longopts[] = {
		{ "ports", required_argument, 0, OPT_PORTS },
		{ "role", required_argument, 0, OPT_ROLE },
		{ "trust", required_argument, 0, OPT_TRUST },
		{ "cert", required_argument, 0, OPT_CERT },
		{ "format", required_argument, 0, OPT_FORMAT },
		{ "fail-on", required_argument, 0, OPT_FAIL_ON },
		{ "export-certs", required_argument, 0, OPT_EXPORT },
		{ "duration", required_argument, 0, OPT_DURATION },
		{ "max-flows", required_argument, 0, OPT_MAX_FLOWS },
		{ "debug-flows", no_argument, 0, OPT_DEBUG_FLOWS },
		{ "no-dpi", no_argument, 0, OPT_NO_DPI },
		{ "phone-log", required_argument, 0, OPT_PHONE_LOG },
		{ "events", required_argument, 0, OPT_EVENTS },
		{ "baseline", required_argument, 0, OPT_BASELINE },
		{ "keylog", required_argument, 0, OPT_KEYLOG },
		{ "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, OPT_VERSION },
		{ 0, 0, 0, 0 },
	};
	uint64_t v;
	int c;

	o->rep.fail_on = REP_CRITICAL;
	o->ports = "443,444,4443,5061,5062,5063,8057,8058";
	o->max_flows = 1000000;
	/* '+': stop at the first non-option, like tcpdump's filter expression. */
	while ((c = getopt_long(argc, argv, "+r:i:c:B:pDqvhw:Z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (o->n_files == MAX_FILES)
				return die_usage("too many -r files (at most %s)", "256");
			o->files[o->n_files++] = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 'c':
			if (!parse_u64(optarg, &v) || v == 0)
				return die_usage("-c wants a positive count, not \"%s\"", optarg);
			o->count = v;
			break;
		case 'B':
			if (!parse_u64(optarg, &v) || v == 0 || v > INT_MAX / 1024)
				return die_usage("-B wants a buffer size in KiB, not \"%s\"", optarg);
			o->buffer_kib = (int)v;
			break;
		case 'p':
			o->no_promisc = true;
			break;
		case 'w':
			o->write_file = optarg;
			break;
		case 'Z':
			o->user = optarg;
			break;
		case 'D':
			o->list_ifaces = true;
			break;
		case 'q':
			o->verbose = -1;
			break;
		case 'v':
			if (o->verbose >= 0)
				o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("certtrace %s (%s, %s)\n", CERTTRACE_VERSION,
			       pcap_lib_version(), OpenSSL_version(OPENSSL_VERSION));
			exit(0);
		case OPT_PORTS:
			o->ports = optarg;
			break;
		case OPT_ROLE: {
			if (o->rep.n_roles == REP_MAX_ROLE_RULES)
				return die_usage("too many --role rules (%s)", optarg);
			const char *eq = strrchr(optarg, '=');
			struct rep_role_rule *r = &o->rep.roles[o->rep.n_roles];
			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof r->name ||
			    !rep_role_parse(eq + 1, &r->role))
				return die_usage("--role wants NAME=ROLE with ROLE one of "
						 "lync-fe, lync-edge, exchange, other, not \"%s\"", optarg);
			memcpy(r->name, optarg, (size_t)(eq - optarg));
			r->name[eq - optarg] = 0;
			o->rep.n_roles++;
			break;
		}
		case OPT_TRUST:
			if (o->rep.n_trust == REP_MAX_TRUST)
				return die_usage("too many --trust files (%s)", optarg);
			o->rep.trust_files[o->rep.n_trust++] = optarg;
			break;
		case OPT_CERT: {
			if (o->rep.n_certs == REP_MAX_CERTS)
				return die_usage("too many --cert files (%s)", optarg);
			char *eq = strchr(optarg, '=');
			enum rep_role role;
			if (!eq)
				return die_usage("--cert wants ROLE=FILE, not \"%s\"", optarg);
			*eq = 0;
			bool ok = rep_role_parse(optarg, &role);
			*eq = '=';
			if (!ok || !eq[1])
				return die_usage("--cert wants ROLE=FILE with ROLE one of "
						 "lync-fe, lync-edge, exchange, other, not \"%s\"", optarg);
			o->rep.certs[o->rep.n_certs].role = role;
			o->rep.certs[o->rep.n_certs].file = eq + 1;
			o->rep.n_certs++;
			break;
		}
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				o->rep.format = REP_TEXT;
			else if (strcmp(optarg, "jsonl") == 0)
				o->rep.format = REP_JSONL;
			else if (strcmp(optarg, "dot") == 0)
				o->rep.format = REP_DOT;
			else
				return die_usage("--format wants text, jsonl or dot, not \"%s\"", optarg);
			o->format_given = true;
			break;
		case OPT_FAIL_ON:
			if (!parse_severity(optarg, &o->rep.fail_on))
				return die_usage("--fail-on wants critical, warning, info or never, "
						 "not \"%s\"", optarg);
			break;
		case OPT_EXPORT:
			o->rep.export_dir = optarg;
			break;
		case OPT_DURATION: {
			char *end;
			o->duration_s = strtod(optarg, &end);
			if (end == optarg || *end || o->duration_s <= 0)
				return die_usage("--duration wants seconds, not \"%s\"", optarg);
			break;
		}
		case OPT_MAX_FLOWS:
			if (!parse_u64(optarg, &v) || v == 0 || v > 100000000)
				return die_usage("--max-flows wants 1 to 100000000, not \"%s\"", optarg);
			o->max_flows = (uint32_t)v;
			break;
		case OPT_DEBUG_FLOWS:
			o->debug_flows = true;
			break;
		case OPT_NO_DPI:
			o->no_dpi = true;
			break;
		case OPT_PHONE_LOG:
			if (o->rep.n_phone_logs == REP_MAX_PHONE_LOGS)
				return die_usage("too many --phone-log files (%s)", optarg);
			o->rep.phone_logs[o->rep.n_phone_logs++] = optarg;
			break;
		case OPT_EVENTS:
			if (o->n_events == MAX_EVENTS)
				return die_usage("too many --events files (at most %s)", "256");
			o->events[o->n_events++] = optarg;
			break;
		case OPT_BASELINE:
			if (o->rep.baseline)
				return die_usage("give one --baseline, not several (%s)", optarg);
			o->rep.baseline = optarg;
			break;
		case OPT_KEYLOG:
			if (o->n_keylogs == MAX_FILES)
				return die_usage("too many --keylog files (at most %s)", "256");
			o->keylogs[o->n_keylogs++] = optarg;
			break;
		default:
			/* getopt has said what was wrong. */
			fprintf(stderr, "certtrace: certtrace --help lists the options\n");
			return 2;
		}
	}
	if (optind < argc) {
		/* The rest is a BPF expression, as in tcpdump. */
		size_t len = 1;
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		o->filter_owned = calloc(1, len);
		if (!o->filter_owned)
			return 2;
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(o->filter_owned, " ");
			strcat(o->filter_owned, argv[i]);
		}
		o->filter = o->filter_owned;
		if (!o->iface)
			return die_usage("a capture filter (\"%s\") only applies to -i; "
					 "certtrace reads every TCP flow of a file", o->filter);
	}
	if (!o->list_ifaces && !o->iface && o->n_files == 0 && o->n_events == 0)
		return die_usage("nothing to read: give -r FILE, -i IFACE or --events FILE%s", "");
	if (o->n_events && o->debug_flows)
		return die_usage("--debug-flows reads captures, not --events%s", "");
	if (o->iface && o->n_files)
		return die_usage("give -r or -i, not both%s", "");
	o->rep.verbose = o->verbose;
	if (!o->format_given)
		o->rep.format = isatty(STDOUT_FILENO) ? REP_TEXT : REP_JSONL;
	const char *nc = getenv("NO_COLOR");
	o->rep.color = o->rep.format == REP_TEXT && isatty(STDOUT_FILENO) && !(nc && *nc);
	o->rep.flush_lines = o->iface != NULL;
	return 0;
}

/* ---- the TLS consumer of the flow table -------------------------------- */

static enum flow_verdict tls_verdict(enum tls_verdict v)
{
	return v == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

static struct flow_state *state_of(struct flow *f)
{
	struct flow_state *s = flow_user(f);
	if (!s && (s = calloc(1, sizeof *s)))
		flow_set_user(f, s);
	return s;
}

static struct tls_conn *conn_of(struct run *run, struct flow *f)
{
	struct flow_state *s = state_of(f);
	if (s && !s->tls)
		s->tls = tls_conn_new_with_keys(run->keys);
	return s ? s->tls : NULL;
}

/* nDPI sees the first packets of every flow with payload (the flow table
 * only calls this from the first payload on); it never ends the flow. */
static enum flow_verdict on_packet(void *ctx, struct flow *f, enum flow_dir d,
				   const struct cap_pkt *p)
{
	struct run *run = ctx;
	struct flow_state *s = state_of(f);
	if (!s)
		return FLOW_MORE;
	if (!s->dpi_tried) {
		s->dpi = dpi_flow_new(run->dpi);
		s->dpi_tried = true;
	}
	if (s->dpi && !dpi_result(s->dpi)->done)
		dpi_packet(run->dpi, s->dpi, p, d == FLOW_FROM_CLIENT);
	return FLOW_MORE;
}

static enum flow_verdict on_data(void *ctx, struct flow *f, enum flow_dir d,
				 const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct tls_conn *c = conn_of(ctx, f);
	if (!c)
		return FLOW_DONE;
	return tls_verdict(tls_feed(c, d == FLOW_FROM_CLIENT ? TLS_FROM_CLIENT : TLS_FROM_SERVER,
				    p, n, ts_us));
}

static enum flow_verdict on_gap(void *ctx, struct flow *f, enum flow_dir d,
				uint64_t missing, uint64_t ts_us)
{
	struct tls_conn *c = conn_of(ctx, f);
	if (!c)
		return FLOW_DONE;
	return tls_verdict(tls_gap(c, d == FLOW_FROM_CLIENT ? TLS_FROM_CLIENT : TLS_FROM_SERVER,
				   missing));
}

/* Second opinion: nDPI's server leaf against ours, by SHA-1 (nDPI drops DC=
 * components from DNs, so names cannot be compared). */
static void compare_with_dpi(struct run *run, const struct dpi_result *dr,
			     const struct tls_session *ts, const struct rep_endpoint *server)
{
	uint8_t ours[20];
	const uint8_t *ours_p = NULL;
	/* Nothing to compare unless nDPI read a server leaf: skip the hash. */
	if (!dpi_leaf(dr, NULL, NULL, NULL))
		return;
	if (ts->server_chain.n) {
		SHA1(ts->server_chain.certs[0].data, ts->server_chain.certs[0].len, ours);
		ours_p = ours;
	}
	if (!dpi_disagrees(dr, NULL, NULL, ours_p))
		return;
	run->st.dpi_disagreements++;
	if (run->o->verbose > 0)
		fprintf(stderr, "certtrace: nDPI and certtrace disagree on the leaf of %s:%u\n",
			server->ip, server->port);
}

/* The report's record of a handshake, from the dissector's session: the
 * one place that knows both structs.  It borrows from t, which outlives
 * the rep_handshake() call. */
static void handshake_record(const struct tls_session *t, struct rep_handshake *h)
{
	const struct tls_chain *from[2] = { &t->server_chain, &t->client_chain };
	struct rep_hs_chain *to[2] = { &h->server_chain, &h->client_chain };

	h->ts_us = t->ts_us;
	h->status = t->status == TLS_ST_COMPLETE ? REP_HS_COMPLETE
		    : t->status == TLS_ST_TRUNCATED ? REP_HS_TRUNCATED
		    : t->status == TLS_ST_MALFORMED ? REP_HS_MALFORMED : REP_HS_IN_PROGRESS;
	h->reason = t->reason;
	h->preamble = t->preamble;
	h->sni = t->sni;
	for (unsigned i = 0; i < t->n_alpn && i < REP_MAX_ALPN; i++)
		h->alpn[h->n_alpn++] = t->alpn[i];
	h->ja3 = t->ja3;
	h->ja3s = t->ja3s;
	h->server_hello = t->have_server_hello;
	h->version = t->version;
	h->cipher = t->cipher;
	h->resumed = t->resumed;
	h->certificates_visible = t->certificates_visible;
	h->decrypted = t->decrypted;
	h->decrypt_error = t->decrypt_error;
	for (unsigned k = 0; k < 2; k++) {
		to[k]->present = from[k]->present;
		to[k]->truncated = from[k]->truncated;
		to[k]->ts_us = from[k]->ts_us;
		for (unsigned i = 0; i < from[k]->n && i < REP_MAX_CHAIN; i++)
			to[k]->certs[to[k]->n++] = (struct rep_der){ from[k]->certs[i].data,
								     from[k]->certs[i].len };
	}
	for (unsigned i = 0; i < t->n_ca_names && i < REP_MAX_CA_NAMES; i++)
		h->ca_names[h->n_ca_names++] = (struct rep_der){ t->ca_names[i].data,
								 t->ca_names[i].len };
	for (unsigned i = 0; i < t->n_alerts && i < REP_MAX_ALERTS; i++) {
		const struct tls_alert *a = &t->alerts[i];
		h->alerts[h->n_alerts++] = (struct rep_hs_alert){
			.from_client = a->from == TLS_FROM_CLIENT, .encrypted = a->encrypted,
			.level = a->level, .description = a->description, .ts_us = a->ts_us,
		};
	}
}

static void on_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct run *run = ctx;
	struct flow_state *s = flow_user(f);
	if (!s)
		return;
	const struct dpi_result *dr = NULL;
	if (s->dpi) {
		dpi_flow_finish(run->dpi, s->dpi);
		dr = dpi_result(s->dpi);
	}
	if (s->tls)
		tls_end(s->tls);
	if (s->tls && tls_is_tls(s->tls)) {
		const struct tls_session *ts = tls_session(s->tls);
		struct rep_handshake h = { 0 };
		handshake_record(ts, &h);
		flow_endpoint(f, FLOW_FROM_CLIENT, h.client.ip, sizeof h.client.ip, &h.client.port);
		flow_endpoint(f, FLOW_FROM_SERVER, h.server.ip, sizeof h.server.ip, &h.server.port);
		if (dr) {
			if (dr->app[0])
				h.app = dr->app;
			h.n_risks = dr->n_risks;
			memcpy(h.risks, dr->risks, dr->n_risks * sizeof h.risks[0]);
		}
		rep_handshake(run->rep, &h);
		if (dr)
			compare_with_dpi(run, dr, ts, &h.server);
		run->handshakes++;
		if (run->o->count && run->handshakes >= run->o->count) {
			stop_requested = 1;
			if (live_source)
				cap_break(live_source);
		}
	} else if (dr && dpi_is_tls_family(dr)) {
		/* nDPI calls it TLS and we found no handshake: a detection miss. */
		run->st.dpi_detection_misses++;
		if (run->o->verbose > 0) {
			char ip[46];
			uint16_t port;
			flow_endpoint(f, FLOW_FROM_SERVER, ip, sizeof ip, &port);
			fprintf(stderr, "certtrace: nDPI says %s on %s:%u, no TLS handshake found\n",
				dr->app, ip, port);
		}
	}
	if (s->dpi)
		dpi_flow_free(run->dpi, s->dpi);
	tls_conn_free(s->tls);
	free(s);
	flow_set_user(f, NULL);
}

static void on_frame(void *user, const struct cap_frame *fr)
{
	struct run *run = user;
	struct cap_pkt p;
	const char *why;

	run->st.packets++;
	run->st.bytes += fr->len;
	if (fr->caplen < fr->len)
		run->st.truncated_packets++;
	enum cap_decode_result dr = cap_decode(fr->dlt, fr, &p, &why);
	cap_encap_count(&run->encaps, p.encaps);
	switch (dr) {
	case CAP_TCP:
		if (flow_table_packet(run->flows, &p) && run->dump && fr->dlt == run->dump_dlt)
			pcap_dump((u_char *)run->dump, fr->hdr, fr->data);
		break;
	case CAP_FRAGMENT:
		run->st.fragments_skipped++;
		break;
	case CAP_MALFORMED:
		run->malformed++;
		run->st.skipped_packets++;
		if (!run->first_malformed)
			run->first_malformed = why;
		if (run->o->verbose > 0)
			fprintf(stderr, "certtrace: packet %llu skipped: %s\n",
				(unsigned long long)run->st.packets, why);
		break;
	case CAP_NOT_TCP:
		break;
	}
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* One line on stderr, at most 4 times a second: live counters, or for a file
 * how far the read is, its rate and the time left. */
static void status_update(struct run *run, bool final)
{
	if (!run->status_line || !run->src)
		return;
	if (!final && seconds_since(&run->last_status) < 0.25)
		return;
	clock_gettime(CLOCK_MONOTONIC, &run->last_status);
	struct cap_stats cs;
	cap_get_stats(run->src, &cs);
	double el = seconds_since(&run->started);
	char line[256];
	if (cs.live) {
		snprintf(line, sizeof line, "%llu packets, %llu handshakes, %llu servers, "
			 "%llu findings so far, %llu dropped",
			 (unsigned long long)run->st.packets,
			 (unsigned long long)(run->rep ? rep_handshake_count(run->rep) : 0),
			 (unsigned long long)(run->rep ? rep_server_count(run->rep) : 0),
			 (unsigned long long)(run->rep ? rep_findings_so_far(run->rep) : 0),
			 (unsigned long long)(cs.dropped + cs.ifdropped));
	} else {
		double mb = (double)cs.file_offset / 1e6;
		double rate = el > 0 ? mb / el : 0;
		double left = cs.file_bytes > cs.file_offset ?
			      (double)(cs.file_bytes - cs.file_offset) / 1e6 : 0;
		snprintf(line, sizeof line, "%s: %.0f of %.0f MB, %.0f MB/s, %.0f s left, "
			 "%llu handshakes", cap_name(run->src), mb, (double)cs.file_bytes / 1e6,
			 rate, rate > 0 ? left / rate : 0,
			 (unsigned long long)(run->rep ? rep_handshake_count(run->rep) : 0));
	}
	fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (live_source)
		cap_break(live_source);
}

/* Reads one source to its end (or a stop); false if it could not be read. */
static bool drain_source(struct run *run, struct cap_source *src)
{
	run->dlt = cap_linktype(src);
	run->src = src;
	for (;;) {
		int n = cap_next_batch(src, BATCH, on_frame, run);
		status_update(run, false);
		if (n == -1 || stop_requested) {
			/* A cut-off last record is common (a capture copied while
			 * being written): a warning, and what was read counts. */
			if (n == -1 && cap_truncated(src)) {
				if (run->o->verbose >= 0)
					fprintf(stderr, "certtrace: warning: %s\n", cap_truncated(src));
				if (!run->truncated_file[0]) {
					snprintf(run->truncated_file, sizeof run->truncated_file, "%s",
						 cap_name(src));
					run->st.truncated_file = run->truncated_file;
				}
			}
			return true;
		}
		if (n == -2) {
			/* Damaged in the middle: what was read is reported, exit 2. */
			fprintf(stderr, "certtrace: %s\n", cap_error(src));
			return false;
		}
	}
}

/* -Z: give up root before the first packet is parsed (as OpenBSD tcpdump). */
static bool drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "certtrace: -Z %s: no such user\n", user);
		return false;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 && setgroups(0, NULL) != 0) {
		fprintf(stderr, "certtrace: -Z %s: setgroups: %s\n", user, strerror(errno));
		return false;
	}
	if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "certtrace: -Z %s: cannot switch user: %s\n", user, strerror(errno));
		return false;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "certtrace: -Z %s: could regain root; refusing to go on\n", user);
		return false;
	}
	return true;
}

static bool open_dump(struct run *run, struct cap_source *src)
{
	if (!run->o->write_file || run->dump)
		return true;
	run->dump = pcap_dump_open(cap_pcap(src), run->o->write_file);
	if (!run->dump) {
		fprintf(stderr, "certtrace: -w %s: %s\n", run->o->write_file,
			pcap_geterr(cap_pcap(src)));
		return false;
	}
	run->dump_dlt = cap_linktype(src);
	return true;
}

static int list_interfaces(void)
{
	pcap_if_t *all;
	char err[PCAP_ERRBUF_SIZE];
	if (pcap_findalldevs(&all, err) < 0) {
		fprintf(stderr, "certtrace: cannot list interfaces: %s\n", err);
		return 2;
	}
	int i = 1;
	for (pcap_if_t *d = all; d; d = d->next, i++)
		printf("%d.%s%s%s%s\n", i, d->name, d->description ? " (" : "",
		       d->description ? d->description : "", d->description ? ")" : "");
	pcap_freealldevs(all);
	return 0;
}

/* --keylog files into one store; false with a reason if one cannot be read. */
static bool load_keylogs(struct run *run, char *err, size_t errlen)
{
	const struct options *o = run->o;
	if (!o->n_keylogs)
		return true;
	if (!(run->keys = kl_store_new())) {
		snprintf(err, errlen, "out of memory for the key log");
		return false;
	}
	for (unsigned i = 0; i < o->n_keylogs; i++) {
		uint64_t used = kl_stats(run->keys)->used;
		if (!kl_load_file(run->keys, o->keylogs[i], err, errlen))
			return false;
		if (kl_stats(run->keys)->used == used && o->verbose >= 0)
			fprintf(stderr, "certtrace: --keylog %s: no TLS 1.3 handshake secrets in it\n",
				o->keylogs[i]);
	}
	const struct kl_stats *ks = kl_stats(run->keys);
	if (ks->dropped && o->verbose >= 0)
		fprintf(stderr, "certtrace: --keylog: %llu secrets dropped past %u sessions\n",
			(unsigned long long)ks->dropped, KL_MAX_SESSIONS);
	if (o->verbose > 0)
		fprintf(stderr, "certtrace: --keylog: %llu sessions, %llu lines not key log lines\n",
			(unsigned long long)ks->sessions, (unsigned long long)ks->garbage);
	return true;
}

/* A pcapng Decryption Secrets Block, as the reader meets it: before the
 * packets after it, so their handshakes find the keys. */
static void on_secrets(void *user, uint32_t type, const uint8_t *p, size_t n)
{
	struct run *run = user;
	if (type == CAP_SECRETS_TLS_KEYLOG && run->keys)
		kl_add_dsb(run->keys, p, n);
}

static void fill_stats(struct run *run)
{
	const struct flow_counters *fc = flow_table_counters(run->flows);
	run->st.flows = fc->flows;
	run->st.tcp_flows = fc->flows;
	run->st.evicted_flows = fc->evicted;
	run->st.gaps = fc->gaps;
	run->st.n_encaps = 0;
	for (unsigned i = 0; i < CAP_ENCAP_COUNT && i < sizeof run->st.encaps / sizeof run->st.encaps[0]; i++) {
		run->st.encaps[run->st.n_encaps].name = cap_encap_name((enum cap_encap)i);
		run->st.encaps[run->st.n_encaps++].packets = run->encaps.packets[i];
	}
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc = parse_options(argc, argv, &o);
	if (rc)
		return rc;
	if (o.list_ifaces)
		return list_interfaces();

	char err[1024];
	struct run run = { .o = &o };
	if (!load_keylogs(&run, err, sizeof err)) {
		fprintf(stderr, "certtrace: %s\n", err);
		kl_store_free(run.keys);
		free(o.filter_owned);
		return 2;
	}
	struct flow_options fo;
	flow_options_default(&fo);
	fo.max_flows = o.max_flows;

	struct cap_debug *dbg = NULL;
	struct flow_consumer consumer = { &run, NULL, on_data, on_gap, on_close };
	if (o.debug_flows) {
		dbg = cap_debug_new(stdout, &consumer);
	} else {
		if (!o.no_dpi) {
			run.dpi = dpi_new(err, sizeof err);
			if (!run.dpi) {
				fprintf(stderr, "certtrace: %s (try --no-dpi)\n", err);
				return 2;
			}
			consumer.packet = on_packet;
		}
		run.rep = rep_new(&o.rep, stdout, err, sizeof err);
		if (!run.rep) {
			fprintf(stderr, "certtrace: %s\n", err);
			dpi_free(run.dpi);
			free(o.filter_owned);
			return 2;
		}
	}
	/* --events first: earlier runs' handshakes, then this run's captures. */
	for (unsigned i = 0; run.rep && i < o.n_events; i++) {
		if (!rep_replay_events(run.rep, o.events[i], err, sizeof err)) {
			fprintf(stderr, "certtrace: --events %s\n", err);
			rep_free(run.rep);
			dpi_free(run.dpi);
			free(o.filter_owned);
			return 2;
		}
	}
	run.flows = flow_table_new(&fo, &consumer);
	if (!run.flows) {
		fprintf(stderr, "certtrace: out of memory for the flow table\n");
		return 2;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	run.status_line = isatty(STDERR_FILENO) && o.verbose >= 0;
	clock_gettime(CLOCK_MONOTONIC, &run.started);

	int status = 0;
	unsigned files_opened = 0;
	if (o.iface) {
		struct cap_live_options lo = {
			.iface = o.iface, .snaplen = 262144, .promisc = !o.no_promisc,
			.buffer_kib = o.buffer_kib,
		};
		lo.filter = o.filter ? o.filter : build_port_filter(o.ports, &o.filter_owned);
		if (!lo.filter) {
			fprintf(stderr, "certtrace: --ports wants a comma-separated list of ports, "
				"not \"%s\"\n", o.ports);
			return 2;
		}
		char warn[512];
		struct cap_source *src = cap_open_live(&lo, err, sizeof err, warn, sizeof warn);
		if (!src) {
			fprintf(stderr, "certtrace: %s\n", err);
			return 2;
		}
		if (warn[0] && o.verbose >= 0)
			fprintf(stderr, "certtrace: %s\n", warn);
		if (!open_dump(&run, src) || (o.user && !drop_privileges(o.user))) {
			cap_close(src);
			return 2;
		}
		live_source = src;
		run.src = src;
		run.dlt = cap_linktype(src);
		struct timespec t0, now;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (!stop_requested) {
			int n = cap_next_batch(src, BATCH, on_frame, &run);
			if (n == -2) {
				fprintf(stderr, "certtrace: %s\n", cap_error(src));
				status = 2;
				break;
			}
			status_update(&run, false);
			/* Capture time stands still when nothing arrives: let the
			 * wall clock close lingering flows so their events appear. */
			struct timespec rt;
			clock_gettime(CLOCK_REALTIME, &rt);
			flow_table_expire(run.flows, (uint64_t)rt.tv_sec * 1000000u +
						     (uint64_t)rt.tv_nsec / 1000u);
			if (n == -1 && !stop_requested)
				continue;
			if (o.duration_s > 0) {
				clock_gettime(CLOCK_MONOTONIC, &now);
				double el = (double)(now.tv_sec - t0.tv_sec) +
					    (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
				if (el >= o.duration_s)
					break;
			}
		}
		status_update(&run, true);
		struct cap_stats cs;
		cap_get_stats(src, &cs);
		run.st.live = true;
		run.st.kernel_received = cs.received;
		run.st.kernel_dropped = cs.dropped;
		run.st.kernel_ifdropped = cs.ifdropped;
		live_source = NULL;
		run.src = NULL;
		cap_close(src);
	} else {
		/* The store exists before the first packet: dissectors keep it. */
		if (!run.keys)
			run.keys = kl_store_new();
		struct cap_offline_options oo = { on_secrets, &run };
		for (unsigned i = 0; i < o.n_files && !stop_requested; i++) {
			struct cap_source *src = cap_open_offline_with(o.files[i], &oo, err, sizeof err);
			if (!src) {
				fprintf(stderr, "certtrace: %s\n", err);
				status = 2;
				continue;
			}
			/* -Z: root only to open the first readable file. */
			if (++files_opened == 1 && o.user && !drop_privileges(o.user)) {
				cap_close(src);
				return 2;
			}
			if (!open_dump(&run, src)) {
				cap_close(src);
				return 2;
			}
			if (run.dump && cap_linktype(src) != run.dump_dlt && o.verbose >= 0)
				fprintf(stderr, "certtrace: %s: link type differs from the first "
					"file's; its packets are not saved to -w\n", cap_name(src));
			if (!drain_source(&run, src))
				status = 2;
			status_update(&run, true);
			run.src = NULL;
			cap_close(src);
		}
	}

	flow_table_finish(run.flows);
	fill_stats(&run);
	if (run.malformed && o.verbose >= 0)
		fprintf(stderr, "certtrace: %llu packets skipped as malformed (first: %s)\n",
			(unsigned long long)run.malformed, run.first_malformed);
	if (run.st.fragments_skipped && o.verbose >= 0)
		fprintf(stderr, "certtrace: %llu IP fragments skipped (not reassembled)\n",
			(unsigned long long)run.st.fragments_skipped);
	if (dbg) {
		cap_debug_free(dbg);
	} else if (o.n_files && !files_opened && !o.n_events) {
		/* Nothing could be read: the reasons are on stderr, no empty report. */
		rep_free(run.rep);
	} else {
		int r = rep_finish(run.rep, &run.st);
		if (status == 0)
			status = r;
		rep_free(run.rep);
	}
	flow_table_free(run.flows);
	dpi_free(run.dpi);
	kl_store_free(run.keys);
	if (run.dump)
		pcap_dump_close(run.dump);
	free(o.filter_owned);
	return status;
}
