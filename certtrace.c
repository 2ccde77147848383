/*
 * certtrace.c — the command: options and wiring, nothing else.
 *
 *   source ─▶ cap_decode ─▶ flow table ─▶ tls_feed ─▶ rep_handshake ─▶ rep_finish
 *
 * Each TCP flow gets a TLS dissector when its first payload arrives; when the
 * dissector is done (or the flow ends) its session record goes to the report
 * and the dissector is freed, so only flows in their handshake hold memory.
 *
 * Two ideas shape main():
 *  1. Open, drop, then parse (OpenBSD tcpdump).  main is five steps: parse
 *     the options, open every input (the interface, every file the options
 *     name, the -o and -w files and the --export-certs folder), drop
 *     privileges (-Z),
 *     run (build the parsers over the open handles and read), finish.  Not
 *     one byte of the wire or of a file is parsed before step 3, so with -Z
 *     only the unprivileged user ever parses, and root-only files still work.
 *  2. One way out.  Whatever step stops the run, cleanup() frees what the
 *     steps made (everything lives in struct run), so an error path cannot
 *     leak or forget a handle.  Before it, close_outputs() closes each output
 *     and checks it: every byte the report and -w write goes through a
 *     lib/sink stream that checks write(2), so a failed write anywhere makes
 *     the exit status 2 (said once, with the file's name, when it failed).
 *     SIGHUP only sets a flag; the read loops call run_reopen().
 *
 * The options are one table (opts[] below): getopt's arguments and the
 * --help text are both generated from it, so they cannot disagree.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "capture/capture.h"
#include "dissect/dpi.h"
#include "dissect/keylog.h"
#include "dissect/tls.h"
#include "pipeline.h"
#include "workers.h"
#include "lib/buf.h"
#include "lib/sink.h"
#include "report/report.h"

#define CERTTRACE_VERSION "0.1.0"
#define MAX_FILES 256
#define MAX_EVENTS 256
#define BATCH 4096
#define DEFAULT_PORTS "443,444,4443,5061,5062,5063,8057,8058"
#define DEFAULT_MAX_FLOWS 1000000
#define DEFAULT_STATS_S 60
#define MAX_FILTER_BYTES (64 * 1024)
#define XSTR(x) STR(x)
#define STR(x) #x

/* parse_options: go on with the run, or exit with this status. */
#define GO_ON (-1)

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
	double stats_s;                /* --stats: live stats events, 0 off */
	bool stats_given;
	int buffer_kib;
	bool no_promisc;
	bool list_ifaces;
	uint32_t max_flows;
	unsigned threads;              /* --threads; 0: workers_default() */
	bool debug_flows;
	int verbose;
	const char *write_file;        /* -w */
	const char *output;            /* -o, --output; NULL: stdout */
	const char *user;              /* -Z */
	bool no_dpi;
	bool dpi_check;                /* --dpi-check: nDPI on every flow, misses counted */
	bool exit_now;                 /* --help, --version: done, exit 0 */
};

/* Every handle opened before -Z drops privileges; each is NULL (-1) again
 * once the code that reads it has taken it over or closed it. */
struct inputs {
	FILE *files[MAX_FILES];        /* -r, in order ("-": stdin) */
	int files_errno[MAX_FILES];    /* why -r i did not open, said at its turn */
	FILE *keylogs[MAX_FILES];      /* --keylog */
	FILE *events[MAX_EVENTS];      /* --events ("-": stdin) */
	struct rep_inputs rep;         /* --trust, --cert, --phone-log, --baseline,
					* --export-certs */
	struct sink *report;           /* -o FILE, or stdout: every format, --debug-flows */
	struct sink *packets;          /* -w; its stream is the dumper's */
	struct cap_source *live[WORKERS_MAX];   /* -i: one handle per worker */
	unsigned n_live;
};

/* -Z: who to become, looked up while /etc/passwd is still ours to read. */
struct user {
	char *name;
	uid_t uid;
	gid_t gid;
};

struct run {
	struct options *o;
	struct inputs in;
	struct user user;
	struct flow_consumer consumer;
	struct flow_table *flows;
	struct cap_debug *dbg;         /* --debug-flows */
	struct rep *rep;
	struct dpi *dpi;               /* NULL with --no-dpi */
	struct pipe *pipe;             /* the flow consumer (pipeline.c) */
	struct workers *workers;       /* --threads over 1: instead of flows and pipe */
	unsigned n_workers;
	struct kl_store *keys;         /* --keylog and pcapng secrets */
	struct kl_follow *follow[MAX_FILES];   /* live --keylog, followed as it grows */
	bool follow_said[MAX_FILES];   /* its read error was said */
	int dlt;
	struct rep_capture_stats st;
	struct cap_frame_counts frames;   /* decoded here (live --threads: the workers') */
	char truncated_file[256];      /* the first input cut inside its last record */
	/* Records reported: by the merging worker's thread with --threads,
	 * read by the status line on this one. */
	_Atomic uint64_t handshakes;
	unsigned files_opened;         /* -r files that are captures */
	pcap_dumper_t *dump;           /* -w */
	int dump_dlt;                  /* the -w header's link type, snaplen and */
	int dump_snaplen;              /* time stamp precision, for a new file */
	int dump_precision;            /* after SIGHUP */
	bool status_line;              /* a terminal on stderr, not -q */
	struct timespec last_status;
	double next_stats_s;           /* --stats: seconds since `started` */
	struct cap_source *src;        /* being read, for progress */
	struct timespec started;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;   /* SIGHUP: run_reopen() acts */
static struct cap_source *live_source;

static void run_reopen(struct run *run);

/* ---- the options: one table for the parser and --help ------------------- */

enum opt_kind {
	OPT_FLAG,                      /* sets the bool at .field */
	OPT_STRING,                    /* sets the const char * at .field */
	OPT_CALL,                      /* .call checks and stores the argument */
};

struct opt {
	const char *section;           /* --help heading before this row, or NULL */
	char letter;                   /* -x, or 0 */
	const char *name;              /* --name, or NULL; neither: a help-only row */
	const char *arg;               /* the argument in --help; NULL: takes none */
	enum opt_kind kind;
	size_t field;                  /* offsetof(struct options, ...) */
	bool (*call)(struct options *o, const char *arg);   /* false: said why */
	const char *help;              /* its --help text; NULL: shares the next row's */
};

/* Each ends at .call, so the row's next initializer is its help text. */
#define FLAG(f)   .kind = OPT_FLAG, .field = offsetof(struct options, f), .call = NULL
#define STRING(f) .kind = OPT_STRING, .field = offsetof(struct options, f), .call = NULL
#define CALL(fn)  .kind = OPT_CALL, .field = 0, .call = (fn)

static bool bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool bad_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("certtrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (certtrace --help)\n", stderr);
	return false;
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

static bool add_path(const char **v, unsigned *n, unsigned max, const char *what,
		     const char *arg)
{
	if (*n == max)
		return bad_usage("too many %s files (at most %u)", what, max);
	v[(*n)++] = arg;
	return true;
}

static bool opt_file(struct options *o, const char *arg)
{
	return add_path(o->files, &o->n_files, MAX_FILES, "-r", arg);
}

static bool opt_keylog(struct options *o, const char *arg)
{
	return add_path(o->keylogs, &o->n_keylogs, MAX_FILES, "--keylog", arg);
}

static bool opt_events(struct options *o, const char *arg)
{
	return add_path(o->events, &o->n_events, MAX_EVENTS, "--events", arg);
}

static bool opt_trust(struct options *o, const char *arg)
{
	return add_path(o->rep.trust_files, &o->rep.n_trust, REP_MAX_TRUST, "--trust", arg);
}

static bool opt_phone_roots(struct options *o, const char *arg)
{
	return add_path(o->rep.phone_root_files, &o->rep.n_phone_roots, REP_MAX_TRUST,
			"--phone-roots", arg);
}

static bool opt_warn_days(struct options *o, const char *arg)
{
	uint64_t v;
	if (!parse_u64(arg, &v) || v > 36500)
		return bad_usage("--warn-days wants 0 to 36500 days, not \"%s\"", arg);
	o->rep.warn_days = (unsigned)v;
	o->rep.warn_days_given = true;
	return true;
}

static bool opt_at(struct options *o, const char *arg)
{
	if (!rep_parse_at(arg, &o->rep.at_us))
		return bad_usage("--at wants an ISO 8601 time such as 2030-03-20T00:00:00Z, "
				 "or now, not \"%s\"", arg);
	o->rep.at_given = true;
	return true;
}

static bool opt_phone_log(struct options *o, const char *arg)
{
	return add_path(o->rep.phone_logs, &o->rep.n_phone_logs, REP_MAX_PHONE_LOGS,
			"--phone-log", arg);
}

static bool opt_baseline(struct options *o, const char *arg)
{
	if (o->rep.baseline)
		return bad_usage("give one --baseline, not several (%s)", arg);
	o->rep.baseline = arg;
	return true;
}

static bool opt_count(struct options *o, const char *arg)
{
	uint64_t v;
	if (!parse_u64(arg, &v) || v == 0)
		return bad_usage("-c wants a positive count, not \"%s\"", arg);
	o->count = v;
	return true;
}

static bool opt_buffer(struct options *o, const char *arg)
{
	uint64_t v;
	if (!parse_u64(arg, &v) || v == 0 || v > INT_MAX / 1024)
		return bad_usage("-B wants a buffer size in KiB, not \"%s\"", arg);
	o->buffer_kib = (int)v;
	return true;
}

static bool opt_max_flows(struct options *o, const char *arg)
{
	uint64_t v;
	if (!parse_u64(arg, &v) || v == 0 || v > 100000000)
		return bad_usage("--max-flows wants 1 to 100000000, not \"%s\"", arg);
	o->max_flows = (uint32_t)v;
	return true;
}

static bool opt_threads(struct options *o, const char *arg)
{
	uint64_t v;
	if (!parse_u64(arg, &v) || v == 0 || v > WORKERS_MAX)
		return bad_usage("--threads wants 1 to %d, not \"%s\"", WORKERS_MAX, arg);
	o->threads = (unsigned)v;
	return true;
}

static bool opt_duration(struct options *o, const char *arg)
{
	char *end;
	o->duration_s = strtod(arg, &end);
	if (end == arg || *end || o->duration_s <= 0)
		return bad_usage("--duration wants seconds, not \"%s\"", arg);
	return true;
}

static bool opt_stats(struct options *o, const char *arg)
{
	char *end;
	o->stats_s = strtod(arg, &end);
	if (end == arg || *end || !(o->stats_s >= 0) || o->stats_s > 86400 * 365)
		return bad_usage("--stats wants seconds (0: no stats events), not \"%s\"", arg);
	o->stats_given = true;
	return true;
}

static bool opt_quiet(struct options *o, const char *arg)
{
	o->verbose = -1;
	return true;
}

static bool opt_verbose(struct options *o, const char *arg)
{
	if (o->verbose >= 0)
		o->verbose++;
	return true;
}

static bool opt_role(struct options *o, const char *arg)
{
	if (o->rep.n_roles == REP_MAX_ROLE_RULES)
		return bad_usage("too many --role rules (%s)", arg);
	const char *eq = strrchr(arg, '=');
	struct rep_role_rule *r = &o->rep.roles[o->rep.n_roles];
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof r->name ||
	    !rep_role_parse(eq + 1, &r->role))
		return bad_usage("--role wants NAME=ROLE with ROLE one of "
				 "lync-fe, lync-edge, lync-peer, exchange, other, not \"%s\"", arg);
	snprintf(r->name, sizeof r->name, "%.*s", (int)(eq - arg), arg);
	o->rep.n_roles++;
	return true;
}

static bool opt_cert(struct options *o, const char *arg)
{
	if (o->rep.n_certs == REP_MAX_CERTS)
		return bad_usage("too many --cert files (%s)", arg);
	const char *eq = strchr(arg, '=');
	char role_name[32];
	enum rep_role role;
	if (!eq)
		return bad_usage("--cert wants ROLE=FILE, not \"%s\"", arg);
	snprintf(role_name, sizeof role_name, "%.*s", (int)(eq - arg), arg);
	if ((size_t)(eq - arg) >= sizeof role_name || !rep_role_parse(role_name, &role) || !eq[1])
		return bad_usage("--cert wants ROLE=FILE with ROLE one of "
				 "lync-fe, lync-edge, exchange, other, not \"%s\"", arg);
	o->rep.certs[o->rep.n_certs].role = role;
	o->rep.certs[o->rep.n_certs].file = eq + 1;
	o->rep.n_certs++;
	return true;
}

static bool opt_format(struct options *o, const char *arg)
{
	static const struct { const char *name; enum rep_format format; } t[] = {
		{ "text", REP_TEXT }, { "jsonl", REP_JSONL }, { "dot", REP_DOT },
		{ "ecs", REP_ECS },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(arg, t[i].name) == 0) {
			o->rep.format = t[i].format;
			o->format_given = true;
			return true;
		}
	return bad_usage("--format wants text, jsonl, ecs or dot, not \"%s\"", arg);
}

static bool opt_fail_on(struct options *o, const char *arg)
{
	static const struct { const char *name; enum rep_severity sev; } t[] = {
		{ "critical", REP_CRITICAL }, { "warning", REP_WARNING },
		{ "info", REP_INFO }, { "never", REP_NEVER },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(arg, t[i].name) == 0) {
			o->rep.fail_on = t[i].sev;
			return true;
		}
	return bad_usage("--fail-on wants critical, warning, info or never, not \"%s\"", arg);
}

static void usage(FILE *f);

static bool opt_help(struct options *o, const char *arg)
{
	usage(stdout);
	o->exit_now = true;
	return true;
}

static bool opt_version(struct options *o, const char *arg)
{
	printf("certtrace %s (%s, %s)\n", CERTTRACE_VERSION, pcap_lib_version(),
	       OpenSSL_version(OPENSSL_VERSION));
	o->exit_now = true;
	return true;
}

static const struct opt opts[] = {
	{ "input", 'r', NULL, "FILE", CALL(opt_file),
	  "read a pcap or pcapng file (\"-\" is stdin); repeatable" },
	{ NULL, 'i', NULL, "IFACE", STRING(iface), "capture live (\"any\" for all interfaces)" },
	{ NULL, 0, NULL, "BPF expression", .help = "live capture filter (default: TCP on --ports)" },
	{ NULL, 0, "ports", "LIST", STRING(ports),
	  "default live filter ports (" DEFAULT_PORTS ")" },
	{ NULL, 'c', NULL, "N", CALL(opt_count), "stop after N handshakes" },
	{ NULL, 0, "duration", "SEC", CALL(opt_duration), "stop after SEC seconds of live capture" },
	{ NULL, 0, "stats", "SEC", CALL(opt_stats),
	  "live: a stats event every SEC seconds (packets, kernel\n"
	  "drops, flows, handshakes, findings so far; jsonl: a \"stats\"\n"
	  "line, text: a line on stderr); default 60, 0 none;\n"
	  "ignored with -r" },
	{ NULL, 'B', NULL, "KiB", CALL(opt_buffer), "live capture buffer (default 65536)" },
	{ NULL, 'p', NULL, NULL, FLAG(no_promisc), "not promiscuous" },
	{ NULL, 'D', NULL, NULL, FLAG(list_ifaces), "list interfaces" },
	{ NULL, 0, "max-flows", "N", CALL(opt_max_flows),
	  "flow-table cap, oldest idle evicted (default " XSTR(DEFAULT_MAX_FLOWS) ")" },
	{ NULL, 0, "threads", "N", CALL(opt_threads),
	  "workers, flows split between them by their addresses\n"
	  "(default: the cores certtrace may use, at most "
	  XSTR(WORKERS_DEFAULT_MAX) ", and\n"
	  "for files one per 8 MiB of capture, 16 MiB with --no-dpi);\n"
	  "the output is the same for any N; -c, -w, --debug-flows\n"
	  "and a live --keylog use one" },
	{ NULL, 0, "no-dpi", NULL, FLAG(no_dpi), "skip nDPI classification (app names, risks)" },
	{ NULL, 0, "dpi-check", NULL, FLAG(dpi_check),
	  "nDPI on every flow, not only TLS ones, and each TLS flow\n"
	  "on to its certificate: count the flows nDPI calls TLS where\n"
	  "certtrace found no handshake (dpi_detection_misses) and the\n"
	  "server leaves the two read differently (dpi_disagreements);\n"
	  "adds nDPI's certificate risks; slower" },
	{ NULL, 0, "keylog", "FILE", CALL(opt_keylog),
	  "an SSLKEYLOGFILE (NSS key log): TLS 1.3 certificates\n"
	  "become visible; repeatable (a pcapng file's own\n"
	  "Decryption Secrets Blocks are read as well)" },

	{ "what servers are", 0, "role", "NAME=ROLE", CALL(opt_role),
	  "NAME: IP, IP:PORT, or host name/glob over SNI and SAN;\n"
	  "ROLE: lync-fe, lync-edge, lync-peer, exchange, other" },
	{ NULL, 0, "trust", "FILE.pem", CALL(opt_trust),
	  "CA certificates phones also trust (New-CsWebTrustedCACertificate)" },
	{ NULL, 0, "phone-roots", "FILE.pem", CALL(opt_phone_roots),
	  "the public roots built into the phones' firmware: a chain\n"
	  "to one is trusted, to another root issuer-mismatch; without\n"
	  "it a root of the system store gives public-root-unverified" },
	{ NULL, 0, "warn-days", "N", CALL(opt_warn_days),
	  "expires-soon for a certificate expiring within N days\n"
	  "(default 30; 0 never)" },
	{ NULL, 0, "at", "TIME", CALL(opt_at),
	  "judge validity at TIME (ISO 8601, 2030-03-20T00:00:00Z) or\n"
	  "now, instead of each handshake's capture time" },
	{ NULL, 0, "cert", "ROLE=FILE", CALL(opt_cert),
	  "a server certificate exported from a server (PEM or DER)" },
	{ NULL, 0, "phone-log", "FILE", CALL(opt_phone_log),
	  "a Lync Phone Edition log (CELog/UCD_LOG lines as text): its\n"
	  "EWS urls make those servers exchange, and its errors\n"
	  "(errorCode=12045, hr=...) are tied to the findings that\n"
	  "explain them; repeatable" },

	{ "several runs", 0, "events", "FILE.jsonl", CALL(opt_events),
	  "also report over an earlier run's jsonl output (\"-\" is\n"
	  "stdin); repeat it for each run (several capture points);\n"
	  "combines with -r and -i" },
	{ NULL, 0, "baseline", "FILE.jsonl", CALL(opt_baseline),
	  "compare with an earlier run's jsonl: certificate-changed\n"
	  "for a server whose certificate or issuing CA differs, or\n"
	  "that appeared or disappeared" },

	{ "output", 0, "format", "FMT", CALL(opt_format),
	  "text, jsonl, ecs or dot (default: text on a terminal, else\n"
	  "jsonl); ecs: Elastic Common Schema documents, one a line" },
	{ NULL, 'o', "output", "FILE", STRING(output),
	  "write the report (any format) to FILE instead of stdout,\n"
	  "appended, created 0640; SIGHUP reopens it (and -w) for\n"
	  "logrotate" },
	{ NULL, 0, "fail-on", "SEV", CALL(opt_fail_on),
	  "exit 1 on findings at or above critical|warning|info, or never\n"
	  "(default critical)" },
	{ NULL, 0, "export-certs", "DIR", STRING(rep.export_dir),
	  "write every certificate seen to DIR as <sha1>.pem and\n"
	  "<sha1>.cer (DER, for Windows), and DIR/index.tsv" },
	{ NULL, 'w', NULL, "FILE", STRING(write_file),
	  "save the handshake packets of every flow (not the bulk) to\n"
	  "FILE (created 0640); SIGHUP starts a new pcap file there\n"
	  "once it has been moved away" },
	{ NULL, 'Z', NULL, "USER", STRING(user),
	  "drop privileges to USER once the interface and every\n"
	  "file given are open, before any of them is parsed\n"
	  "(started as root without -Z, certtrace parses the network\n"
	  "as root: use -Z on a shared server)" },
	{ NULL, 0, "debug-flows", NULL, FLAG(debug_flows),
	  "print per-flow TCP reassembly figures instead of a report" },
	{ NULL, 'q', NULL, NULL, CALL(opt_quiet), NULL },
	{ NULL, 'v', NULL, NULL, CALL(opt_verbose), "quieter, more detail" },
	{ NULL, 'h', "help", NULL, CALL(opt_help), "this text" },
	{ NULL, 0, "version", NULL, CALL(opt_version), "print the version" },
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static const char usage_head[] =
"usage: certtrace -r FILE [-r FILE ...] [options]\n"
"       certtrace -i IFACE [options] [BPF expression]\n"
"       certtrace -D\n"
"\n"
"Passive TLS certificate inspector: reassembles TCP, dissects TLS handshakes,\n"
"parses every certificate chain and reports trust problems between Lync /\n"
"Skype for Business Front End pools and the Exchange servers their phones use.\n";

static const char usage_tail[] =
"\n"
"exit status: 1 a finding at or above --fail-on; else 3 inconclusive: no chain\n"
"could be checked, or a Lync FE, Exchange or phone-facing server could not\n"
"(hidden, truncated, resumed only, cut by the snaplen); else 0: checked, and\n"
"fine.  2: bad usage, unreadable input, or output that could not be written\n"
"(stdout, -o, -w, --export-certs; said in one line on stderr), even when\n"
"there are findings.  --fail-on never gives 0 whenever there is no error.\n";

/* "-r FILE", "--ports LIST", "-h, --help", or a help-only row's text. */
static void opt_shown(struct buf *b, const struct opt *r)
{
	if (r->letter)
		buf_printf(b, "-%c%s", r->letter, r->name ? ", " : "");
	if (r->name)
		buf_printf(b, "--%s", r->name);
	if (r->arg)
		buf_printf(b, "%s%s", r->letter || r->name ? " " : "", r->arg);
}

/* One option's lines of --help: the rows that share it ("-q, -v"), then its
 * text, continuation lines under the text's column. */
static void usage_entry(FILE *f, size_t last)
{
	enum { TEXT_COLUMN = 23 };
	struct buf b = BUF_INIT(256);
	size_t first = last;
	while (first > 0 && !opts[first - 1].help)
		first--;
	for (size_t i = first; i <= last; i++) {
		if (i > first)
			buf_puts(&b, ", ");
		opt_shown(&b, &opts[i]);
	}
	int w = fprintf(f, "  %s", buf_str(&b));
	fprintf(f, "%*s", w < TEXT_COLUMN - 2 ? TEXT_COLUMN - w : 2, "");
	for (const char *p = opts[last].help; *p; p++) {
		fputc(*p, f);
		if (*p == '\n')
			fprintf(f, "%*s", TEXT_COLUMN, "");
	}
	fputc('\n', f);
	buf_free(&b);
}

static void usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].section)
			fprintf(f, "\n%s:\n", opts[i].section);
		if (opts[i].help)
			usage_entry(f, i);
	}
	fputs(usage_tail, f);
}

/* getopt_long's arguments from the table: a long option's val is 256 + its
 * row, a short one's is its letter. */
static void getopt_tables(char *shorts, struct option *longs)
{
	size_t n = 0;
	*shorts++ = '+';       /* stop at the first non-option, like tcpdump's filter */
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].letter) {
			*shorts++ = opts[i].letter;
			if (opts[i].arg)
				*shorts++ = ':';
		}
		if (opts[i].name)
			longs[n++] = (struct option){ opts[i].name,
				opts[i].arg ? required_argument : no_argument, NULL, 256 + (int)i };
	}
	*shorts = 0;
	longs[n] = (struct option){ 0 };
}

static const struct opt *opt_of(int c)
{
	if (c >= 256 && (size_t)(c - 256) < N_OPTS)
		return &opts[c - 256];
	for (size_t i = 0; c != '?' && i < N_OPTS; i++)
		if (opts[i].letter == c)
			return &opts[i];
	return NULL;
}

static bool opt_apply(struct options *o, const struct opt *r, const char *arg)
{
	switch (r->kind) {
	case OPT_FLAG:
		*(bool *)((char *)o + r->field) = true;
		return true;
	case OPT_STRING:
		*(const char **)((char *)o + r->field) = arg;
		return true;
	case OPT_CALL:
		return r->call(o, arg);
	}
	return false;
}

/* The live capture's default filter: TCP on the --ports list. */
static char *port_filter(const char *ports)
{
	struct buf b = BUF_INIT(MAX_FILTER_BYTES);
	const char *p = ports;
	buf_puts(&b, "tcp and (");
	for (bool first = true; *p; first = false) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v <= 0 || v > 65535 || (*end && *end != ',')) {
			buf_free(&b);
			return NULL;
		}
		buf_printf(&b, "%sport %ld", first ? "" : " or ", v);
		p = *end ? end + 1 : end;
	}
	buf_putc(&b, ')');
	return buf_take(&b);
}

/* The words after the options, as tcpdump takes them: the live filter. */
static bool join_filter(struct options *o, int argc, char **argv, int first)
{
	struct buf b = BUF_INIT(MAX_FILTER_BYTES);
	for (int i = first; i < argc; i++) {
		if (i > first)
			buf_putc(&b, ' ');
		buf_puts(&b, argv[i]);
	}
	if (!(o->filter_owned = buf_take(&b)))
		return bad_usage("the capture filter is longer than %d bytes", MAX_FILTER_BYTES);
	o->filter = o->filter_owned;
	return true;
}

/* What the options say together; false after saying what is wrong. */
static bool check_options(struct options *o, int argc, char **argv, int first)
{
	if (first < argc) {
		if (!join_filter(o, argc, argv, first))
			return false;
		if (!o->iface)
			return bad_usage("a capture filter (\"%s\") only applies to -i; "
					 "certtrace reads every TCP flow of a file", o->filter);
	}
	if (!o->list_ifaces && !o->iface && o->n_files == 0 && o->n_events == 0)
		return bad_usage("nothing to read: give -r FILE, -i IFACE or --events FILE");
	if (o->n_events && o->debug_flows)
		return bad_usage("--debug-flows reads captures, not --events");
	if (o->iface && o->n_files)
		return bad_usage("give -r or -i, not both");
	if (o->dpi_check && o->no_dpi)
		return bad_usage("--dpi-check compares with nDPI; --no-dpi turns it off: give one");
	if (o->iface && !o->filter && !o->list_ifaces &&
	    !(o->filter = o->filter_owned = port_filter(o->ports)))
		return bad_usage("--ports wants a comma-separated list of ports, not \"%s\"",
				 o->ports);
	o->rep.verbose = o->verbose;
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;      /* -o -: stdout, as without it */
	/* -o names a file: jsonl and no colours, whatever stdout is. */
	bool tty = !o->output && isatty(STDOUT_FILENO);
	if (!o->format_given)
		o->rep.format = tty ? REP_TEXT : REP_JSONL;
	const char *nc = getenv("NO_COLOR");
	o->rep.color = o->rep.format == REP_TEXT && tty && !(nc && *nc);
	o->rep.flush_lines = o->iface != NULL;
	o->rep.live = o->iface != NULL;
	if (!o->stats_given)
		o->stats_s = DEFAULT_STATS_S;
	return true;
}

/* GO_ON, or the exit status: 0 after --help or --version, 2 for bad usage. */
static int parse_options(int argc, char **argv, struct options *o)
{
	char shorts[2 + 2 * N_OPTS];
	struct option longs[N_OPTS + 1];
	int c;

	getopt_tables(shorts, longs);
	o->rep.fail_on = REP_CRITICAL;
	o->ports = DEFAULT_PORTS;
	o->max_flows = DEFAULT_MAX_FLOWS;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct opt *r = opt_of(c);
		if (!r) {
			/* getopt has said what was wrong. */
			fprintf(stderr, "certtrace: certtrace --help lists the options\n");
			return 2;
		}
		if (!opt_apply(o, r, optarg))
			return 2;
		if (o->exit_now)
			return 0;
	}
	return check_options(o, argc, argv, optind) ? GO_ON : 2;
}

/* ---- the TLS consumer of the flow table -------------------------------- */

/* Live --keylog: what was appended since the last tick, then every flow
 * waiting for secrets tries again; one that the new secrets settle is
 * handed to the report at once. */
static void follow_keylogs(struct run *run)
{
	char err[512];
	long added = 0;
	for (unsigned i = 0; i < MAX_FILES && run->follow[i]; i++) {
		long n = kl_follow_poll(run->follow[i], run->keys, err, sizeof err);
		if (n < 0 && !run->follow_said[i])
			fprintf(stderr, "certtrace: %s\n", err);
		run->follow_said[i] = run->follow_said[i] || n < 0;
		added += n > 0 ? n : 0;
	}
	if (added)
		pipe_retry_keys(run->pipe);
}

/* One pipeline's record, straight to the report (one thread; workers.c
 * puts several workers' records in this order). */
static void on_record(void *user, struct pipe_record *r)
{
	struct run *run = user;
	rep_handshake(run->rep, &r->h);
	uint64_t n = atomic_fetch_add_explicit(&run->handshakes, 1, memory_order_relaxed) + 1;
	if (run->o->count && n >= run->o->count) {
		stop_requested = 1;
		if (live_source)
			cap_break(live_source);
	}
}

static void on_frame(void *user, const struct cap_frame *fr)
{
	struct run *run = user;
	struct cap_pkt p;
	const char *why;

	switch (cap_decode_counted(&run->frames, fr, &p, &why)) {
	case CAP_TCP:
		if (run->workers)
			workers_packet(run->workers, &p);
		else if (flow_table_packet(run->flows, &p) && run->dump && fr->dlt == run->dump_dlt)
			pcap_dump((u_char *)run->dump, fr->hdr, fr->data);
		break;
	case CAP_MALFORMED:
		if (run->o->verbose > 0)
			fprintf(stderr, "certtrace: packet %llu skipped: %s\n",
				(unsigned long long)run->frames.packets, why);
		break;
	case CAP_FRAGMENT:
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
	uint64_t packets = run->frames.packets;
	if (run->workers && run->o->iface) {
		struct workers_counters c;
		workers_counters(run->workers, &c);
		cs = c.cap;
		packets = c.frames.packets;
	} else {
		cap_get_stats(run->src, &cs);
	}
	double el = seconds_since(&run->started);
	char line[256];
	if (cs.live) {
		snprintf(line, sizeof line, "%llu packets, %llu handshakes, %llu servers, "
			 "%llu findings so far, %llu dropped",
			 (unsigned long long)packets,
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
			 (unsigned long long)atomic_load_explicit(&run->handshakes,
								  memory_order_relaxed));
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

/* The flag, and a wake-up: with no traffic a live read waits in poll(2)
 * until pcap_breakloop() (libpcap's eventfd) ends it, and capture_live()
 * goes on reading once run_reopen() has acted. */
static void on_hangup(int sig)
{
	(void)sig;
	reopen_requested = 1;
	if (live_source)
		cap_break(live_source);
}

/* How the read of src ended (n: cap_next_batch()'s last); false (said) if
 * the file is damaged. */
static bool read_ended(struct run *run, struct cap_source *src, int n)
{
	if (n == -2 && !stop_requested) {
		/* Damaged in the middle: what was read is reported, exit 2. */
		fprintf(stderr, "certtrace: %s\n", cap_error(src));
		return false;
	}
	/* A cut-off last record is common (a capture copied while being
	 * written): a warning, and what was read counts. */
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

/* Reads one source to its end (or a stop); false if it could not be read. */
static bool drain_source(struct run *run, struct cap_source *src)
{
	run->dlt = cap_linktype(src);
	run->src = src;
	for (;;) {
		int n = cap_next_batch(src, BATCH, on_frame, run);
		if (run->workers)
			workers_flush(run->workers);   /* worker 1 merges and reports */
		status_update(run, false);
		run_reopen(run);
		if (n < 0 || stop_requested)
			return read_ended(run, src, n);
	}
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

/* ---- step 2: open every input (as the user who started us) -------------- */

static FILE *open_read(const char *path, bool dash_is_stdin)
{
	return dash_is_stdin && strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
}

static void close_file(FILE **f)
{
	if (*f && *f != stdin && *f != stdout)
		fclose(*f);
	*f = NULL;
}

/* Opens n files; false after saying, as its loader would, which did not open. */
static bool open_all(const char *const *paths, unsigned n, FILE **fps, bool dash_is_stdin,
		     const char *what)
{
	for (unsigned i = 0; i < n; i++)
		if (!(fps[i] = open_read(paths[i], dash_is_stdin))) {
			fprintf(stderr, "certtrace: %s%s: %s\n", what, paths[i], strerror(errno));
			return false;
		}
	return true;
}

/* The files the options name, in the order the run reads them. */
static bool open_option_files(struct run *run)
{
	const struct options *o = run->o;
	struct rep_inputs *ri = &run->in.rep;

	if (!open_all(o->keylogs, o->n_keylogs, run->in.keylogs, false, "--keylog ") ||
	    !open_all(o->rep.trust_files, o->rep.n_trust, ri->trust, false, "") ||
	    !open_all(o->rep.phone_root_files, o->rep.n_phone_roots, ri->phone_roots, false, ""))
		return false;
	for (unsigned i = 0; i < o->rep.n_certs; i++)
		if (!open_all(&o->rep.certs[i].file, 1, &ri->certs[i], false, ""))
			return false;
	if (!open_all(o->rep.phone_logs, o->rep.n_phone_logs, ri->phone_logs, false, "") ||
	    (o->rep.baseline && !open_all(&o->rep.baseline, 1, &ri->baseline, false, "")))
		return false;
	return open_all(o->events, o->n_events, run->in.events, true, "--events ");
}

/* -o (or stdout), -w and --export-certs: created now, written by whoever
 * certtrace is then; after -Z a SIGHUP reopens -o and -w as USER. */
static bool open_outputs(struct run *run)
{
	const struct options *o = run->o;
	char err[1024], label[1024];
	bool created;

	snprintf(label, sizeof label, o->output ? "-o %s" : "stdout", o->output);
	run->in.report = sink_open(o->output ? o->output : "-", SINK_APPEND, label,
				   o->debug_flows ? "the flow figures" : "the report", err, sizeof err);
	if (!run->in.report) {
		fprintf(stderr, "certtrace: %s\n", err);
		return false;
	}

	if (o->rep.export_dir) {
		int fd = rep_export_dir_open(o->rep.export_dir, &created, err, sizeof err);
		if ((run->in.rep.export_dirfd = fd) < 0) {
			fprintf(stderr, "certtrace: %s\n", err);
			return false;
		}
		/* A folder we made is USER's: after -Z the files are made in it. */
		if (created && o->user && fchown(fd, run->user.uid, run->user.gid) != 0) {
			fprintf(stderr, "certtrace: --export-certs %s: cannot give it to %s: %s\n",
				o->rep.export_dir, o->user, strerror(errno));
			return false;
		}
	}
	if (o->write_file) {
		/* "-" is stdout, as pcap_dump_open() has it. */
		snprintf(label, sizeof label, "-w %s", o->write_file);
		run->in.packets = sink_open(o->write_file, SINK_TRUNCATE, label, "the packets",
					    err, sizeof err);
		if (!run->in.packets) {
			fprintf(stderr, "certtrace: %s\n", err);
			return false;
		}
	}
	return true;
}

/* Reading files, the default gives each worker at least this much capture.
 * A worker costs its start (a thread, its queues, a copy of the first
 * worker's nDPI module), and a second one pays for itself past about 3 MB
 * with nDPI, 20 MB without (prefixes of the busy-FE bench capture, 2
 * cores, interleaved, medians of 15 and 11, one thread / two: with nDPI
 * 1.5 MB 0.017 / 0.018 s, 3.0 MB 0.018 / 0.018 s, 6.5 MB 0.020 / 0.019 s,
 * 16 MB 0.026 / 0.024 s, 33 MB 0.038 / 0.031 s; without, 6.5 MB 0.007 /
 * 0.008 s, 16 MB 0.011 / 0.012 s, 33 MB 0.017 / 0.014 s). */
#define FILE_BYTES_PER_WORKER        (8ull << 20)
#define FILE_BYTES_PER_WORKER_NO_DPI (16ull << 20)

/* The default for -r: at most one worker per FILE_BYTES_PER_WORKER of all
 * the files together, so a trace of a few MB someone sent is read by one
 * thread however many cores the machine has.  A pipe (or stdin) has no
 * size to go by: up to n. */
static unsigned workers_for_files(const struct options *o, unsigned n)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < o->n_files; i++) {
		struct stat st;
		if (strcmp(o->files[i], "-") == 0 || stat(o->files[i], &st) != 0 ||
		    !S_ISREG(st.st_mode))
			return n;
		total += (uint64_t)st.st_size;
	}
	uint64_t per = o->no_dpi ? FILE_BYTES_PER_WORKER_NO_DPI : FILE_BYTES_PER_WORKER;
	uint64_t want = 1 + total / per;
	if (want >= n)
		return n;
	if (o->verbose > 0)
		fprintf(stderr, "certtrace: %.1f MiB of capture: %u worker%s, not %u "
			"(one per %llu MiB; --threads to choose)\n", (double)total / (1 << 20),
			(unsigned)want, want == 1 ? "" : "s", n,
			(unsigned long long)(per >> 20));
	return (unsigned)want;
}

/* --threads: how many workers read the flows.  What needs every packet in
 * one place, or a stop at an exact handshake, keeps one: -c, -w,
 * --debug-flows, a live --keylog (followed as it grows). */
static unsigned count_workers(const struct options *o)
{
	unsigned n = o->threads ? o->threads : workers_default();
	if (!o->threads && !o->iface && o->n_files)
		n = workers_for_files(o, n);
	const char *one = o->count ? "-c" : o->write_file ? "-w" :
			  o->debug_flows ? "--debug-flows" :
			  o->iface && o->n_keylogs ? "--keylog with -i" :
			  !o->iface && !o->n_files ? "--events" : NULL;
	if (n > 1 && one) {
		if (o->threads > 1 && o->verbose > 0)   /* --help says so; -v tells */
			fprintf(stderr, "certtrace: %s: one worker, not --threads %u\n", one, n);
		n = 1;
	}
	return n;
}

/* -i: a capture handle per worker, the first n_workers of them in one
 * fanout group (the kernel gives each its share of the flows); -B is the
 * total, shared out.  Where the kernel will not split the capture, one
 * handle, one worker, and a word on stderr. */
static bool open_live(struct run *run)
{
	const struct options *o = run->o;
	unsigned n = run->n_workers;
	int total_kib = o->buffer_kib > 0 ? o->buffer_kib : 65536;
	struct cap_live_options lo = {
		.iface = o->iface, .filter = o->filter, .snaplen = 262144,
		.promisc = !o->no_promisc,
		.buffer_kib = n > 1 && total_kib / (int)n >= 1024 ? total_kib / (int)n : total_kib,
	};
	char err[1024], warn[512];
	uint16_t group = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cap_source *src = cap_open_live(&lo, err, sizeof err, warn, sizeof warn);
		if (!src) {
			fprintf(stderr, "certtrace: %s\n", err);
			return false;
		}
		if (i == 0 && warn[0] && o->verbose >= 0)
			fprintf(stderr, "certtrace: %s\n", warn);
		run->in.live[run->in.n_live++] = src;
		if (n > 1 && !(i == 0 ? cap_new_fanout(src, &group, err, sizeof err)
				    : cap_join_fanout(src, group, err, sizeof err))) {
			if (o->verbose >= 0)
				fprintf(stderr, "certtrace: %s: one worker\n", err);
			while (run->in.n_live > 1)
				cap_close(run->in.live[--run->in.n_live]);
			run->n_workers = 1;
			break;
		}
	}
	return true;
}

static bool find_user(const char *name, struct user *u)
{
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		fprintf(stderr, "certtrace: -Z %s: no such user\n", name);
		return false;
	}
	if (!(u->name = str_dup(pw->pw_name))) {
		fprintf(stderr, "certtrace: -Z %s: out of memory\n", name);
		return false;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return true;
}

/* The interface first, then every file; nothing is read from any yet.  A -r
 * file that does not open is said at its turn, as the others are read. */
static bool open_inputs(struct run *run)
{
	const struct options *o = run->o;

	if (o->user && !find_user(o->user, &run->user))
		return false;
	run->n_workers = count_workers(o);
	if (o->iface && !open_live(run))
		return false;
	if (!open_option_files(run) || !open_outputs(run))
		return false;
	for (unsigned i = 0; i < o->n_files; i++)
		if (!(run->in.files[i] = open_read(o->files[i], true)))
			run->in.files_errno[i] = errno;
	return true;
}

/* ---- step 3: -Z, before the first byte is parsed (as OpenBSD tcpdump) --- */

static bool drop_privileges(const struct run *run)
{
	const char *user = run->o->user;
	const struct user *u = &run->user;

	if (!user)
		return true;
	if (initgroups(u->name, u->gid) != 0 && setgroups(0, NULL) != 0) {
		fprintf(stderr, "certtrace: -Z %s: setgroups: %s\n", user, strerror(errno));
		return false;
	}
	if (setgid(u->gid) != 0 || setuid(u->uid) != 0) {
		fprintf(stderr, "certtrace: -Z %s: cannot switch user: %s\n", user, strerror(errno));
		return false;
	}
	if (u->uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "certtrace: -Z %s: could regain root; refusing to go on\n", user);
		return false;
	}
	return true;
}

/* ---- step 4: build the parsers over the open handles, then read ---------- */

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
		if (o->iface) {
			/* Live: followed as it grows; the secrets of a handshake
			 * may come after its packets (tls_conn_wait_for_keys). */
			run->follow[i] = kl_follow_new(run->in.keylogs[i], o->keylogs[i]);
			run->in.keylogs[i] = NULL;
			if (!run->follow[i]) {
				snprintf(err, errlen, "--keylog %s: out of memory", o->keylogs[i]);
				return false;
			}
			if (kl_follow_poll(run->follow[i], run->keys, err, errlen) < 0)
				return false;
			continue;
		}
		uint64_t used = kl_stats(run->keys)->used;
		bool ok = kl_load_fp(run->keys, run->in.keylogs[i], o->keylogs[i], err, errlen);
		close_file(&run->in.keylogs[i]);
		if (!ok)
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
	if (type != CAP_SECRETS_TLS_KEYLOG || !run->keys)
		return;
	/* Workers read the store: they handle what came before the block first. */
	if (run->workers)
		workers_sync(run->workers);
	kl_add_dsb(run->keys, p, n);
}

static void close_rep_inputs(struct rep_inputs *ri)
{
	for (unsigned i = 0; i < REP_MAX_TRUST; i++) {
		close_file(&ri->trust[i]);
		close_file(&ri->phone_roots[i]);
	}
	for (unsigned i = 0; i < REP_MAX_CERTS; i++)
		close_file(&ri->certs[i]);
	for (unsigned i = 0; i < REP_MAX_PHONE_LOGS; i++)
		close_file(&ri->phone_logs[i]);
	close_file(&ri->baseline);
	if (ri->export_dirfd >= 0)
		close(ri->export_dirfd);
	ri->export_dirfd = -1;
}

/* nDPI, the report (its option files), then --events: earlier runs'
 * handshakes come before this run's captures. */
static bool setup_report(struct run *run, char *err, size_t errlen)
{
	const struct options *o = run->o;
	if (!o->no_dpi && run->n_workers == 1) {
		if (!(run->dpi = dpi_new(o->dpi_check, err, errlen))) {
			fprintf(stderr, "certtrace: %s (try --no-dpi)\n", err);
			return false;
		}
	}
	run->rep = rep_new_opened(&o->rep, &run->in.rep, sink_fp(run->in.report), err, errlen);
	close_rep_inputs(&run->in.rep);
	if (!run->rep) {
		fprintf(stderr, "certtrace: %s\n", err);
		return false;
	}
	for (unsigned i = 0; i < o->n_events; i++) {
		bool ok = rep_replay_events_fp(run->rep, run->in.events[i], o->events[i], err, errlen);
		close_file(&run->in.events[i]);
		if (!ok) {
			fprintf(stderr, "certtrace: --events %s\n", err);
			return false;
		}
	}
	return true;
}

static bool setup(struct run *run)
{
	const struct options *o = run->o;
	char err[1024];
	struct flow_options fo;

	if (!load_keylogs(run, err, sizeof err)) {
		fprintf(stderr, "certtrace: %s\n", err);
		return false;
	}
	if (!sink_fp(run->in.report))
		return false;          /* out of memory, said */
	if (o->debug_flows) {
		if (!(run->dbg = cap_debug_new(sink_fp(run->in.report), &run->consumer))) {
			fprintf(stderr, "certtrace: out of memory for --debug-flows\n");
			return false;
		}
	} else if (!setup_report(run, err, sizeof err)) {
		return false;
	}
	/* Files: the key store exists before the first packet, for the
	 * files' Decryption Secrets Blocks (on_secrets). */
	if (o->n_files && !run->keys && !(run->keys = kl_store_new())) {
		fprintf(stderr, "certtrace: out of memory\n");
		return false;
	}
	struct pipe_options po = {
		.dpi = run->dpi, .dpi_check = o->dpi_check, .keys = run->keys,
		.keys_follow = run->follow[0] != NULL, .verbose = o->verbose,
		.emit = on_record, .user = run,
	};
	flow_options_default(&fo);
	fo.max_flows = o->max_flows;
	if (run->n_workers > 1) {
		struct workers_options wo = {
			.n = run->n_workers, .flows = fo, .dpi = !o->no_dpi, .pipe = po,
			.deliver = on_record, .user = run, .live = o->iface ? run->in.live : NULL,
		};
		if (!(run->workers = workers_new(&wo, err, sizeof err))) {
			fprintf(stderr, "certtrace: %s%s\n", err, o->no_dpi ? "" : " (try --no-dpi)");
			return false;
		}
	} else {
		if (!(run->pipe = pipe_new(&po))) {
			fprintf(stderr, "certtrace: out of memory\n");
			return false;
		}
		if (!run->dbg)
			run->consumer = *pipe_consumer(run->pipe);
		if (!(run->flows = flow_table_new(&fo, &run->consumer))) {
			fprintf(stderr, "certtrace: out of memory for the flow table\n");
			return false;
		}
		pipe_set_flows(run->pipe, run->flows);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* Only with a file to reopen: otherwise a hangup ends certtrace as before. */
	if (o->output || (o->write_file && strcmp(o->write_file, "-") != 0))
		signal(SIGHUP, on_hangup);
	run->status_line = isatty(STDERR_FILENO) && o->verbose >= 0;
	clock_gettime(CLOCK_MONOTONIC, &run->started);
	return true;
}

/* -w: the file is open since step 2; its pcap header takes the link type and
 * snaplen of the first source read. */
static bool start_dump(struct run *run, struct cap_source *src)
{
	FILE *f;
	if (!run->in.packets || run->dump)
		return true;
	/* The dumper takes the sink's stream; pcap_dump_close() closes the
	 * stream, the file stays the sink's. */
	if (!(f = sink_fp(run->in.packets)))
		return false;
	run->dump = pcap_dump_fopen(cap_pcap(src), f);
	if (!run->dump) {
		fprintf(stderr, "certtrace: -w %s: %s\n", run->o->write_file,
			pcap_geterr(cap_pcap(src)));
		return false;
	}
	run->dump_dlt = cap_linktype(src);
	run->dump_snaplen = pcap_snapshot(cap_pcap(src));
	run->dump_precision = pcap_get_tstamp_precision(cap_pcap(src));
	return true;
}

/* -w: what the dumper holds, into the file; false (said) if it failed. */
static bool flush_dump(struct run *run)
{
	if (run->dump && pcap_dump_flush(run->dump) != 0)
		sink_fail(run->in.packets, errno);
	return sink_ok(run->in.packets);
}

/* -w after SIGHUP: the old file ends with every packet given so far, and a
 * new pcap file (its own header) starts at the path -- only once the file
 * has been moved away, so a stray SIGHUP never truncates the evidence. */
static void reopen_dump(struct run *run)
{
	struct sink *s = run->in.packets;
	if (!sink_moved(s) || !sink_reopen_begin(s))
		return;
	if (!run->dump) {              /* not started: the header goes to the new file */
		sink_reopen_end(s);
		return;
	}
	flush_dump(run);
	pcap_dump_close(run->dump);
	run->dump = NULL;
	sink_reopen_end(s);
	pcap_t *p = pcap_open_dead_with_tstamp_precision(run->dump_dlt, run->dump_snaplen,
							 (u_int)run->dump_precision);
	FILE *f = sink_fp(s);
	if (p && f)
		run->dump = pcap_dump_fopen(p, f);
	if (!run->dump)
		sink_fail(s, ENOMEM);
	if (p)
		pcap_close(p);
}

/* SIGHUP (logrotate's postrotate): the handler only sets the flag; the read
 * loops call this between batches.  -o is reopened whatever the path names
 * now (O_APPEND: the same file just goes on); -w only once moved. */
static void run_reopen(struct run *run)
{
	if (!reopen_requested)
		return;
	reopen_requested = 0;
	/* Reading a file with --threads a worker writes the report: it waits
	 * while the sink changes (live, this thread writes it). */
	if (run->workers && !run->o->iface)
		workers_sync(run->workers);
	if (run->o->output)
		sink_reopen(run->in.report);
	if (run->in.packets)
		reopen_dump(run);
}

/* The flow tables' and pipelines' counters: one, or the workers' sums. */
static void flow_totals(struct run *run, struct workers_counters *c)
{
	if (run->workers) {
		workers_counters(run->workers, c);
		return;
	}
	memset(c, 0, sizeof *c);
	c->flows = *flow_table_counters(run->flows);
	c->pipe = *pipe_counters(run->pipe);
}

/* Live: packets and bytes seen, and the kernel's counters: one handle's,
 * or the workers' sums. */
static void live_counters(struct run *run, struct workers_counters *c)
{
	flow_totals(run, c);
	if (run->workers)
		return;
	c->frames = run->frames;
	cap_get_stats(run->src, &c->cap);
}

/* --stats: the counters now, as a "stats" event. */
static void live_stats(struct run *run)
{
	struct workers_counters c;
	struct timespec rt;
	live_counters(run, &c);
	struct rep_live_stats ls = { .packets = c.frames.packets, .bytes = c.frames.bytes };
	clock_gettime(CLOCK_REALTIME, &rt);
	ls.ts_us = (uint64_t)rt.tv_sec * 1000000u + (uint64_t)rt.tv_nsec / 1000u;
	ls.kernel = c.cap.live;
	ls.kernel_received = c.cap.received;
	ls.kernel_dropped = c.cap.dropped;
	ls.kernel_ifdropped = c.cap.ifdropped;
	ls.flows_active = c.flows.active;
	ls.flows_total = c.flows.flows;
	rep_live_stats(run->rep, &ls);
}

/* Live, between batches: SIGHUP, the report's live tick, --stats, the
 * status line.  Returns the seconds since t0. */
static double live_timers(struct run *run, const struct timespec *t0)
{
	run_reopen(run);
	rep_live_tick(run->rep, (uint64_t)(seconds_since(t0) * 1e6));
	double el = seconds_since(t0);
	if (run->rep && run->o->stats_s > 0 && el >= run->next_stats_s) {
		live_stats(run);
		while (run->next_stats_s <= el)
			run->next_stats_s += run->o->stats_s;
	}
	status_update(run, false);
	return el;
}

/* The live loop, until a stop, -c, --duration or a read error (2).  The
 * source wakes at least every CAP_LIVE_WAKE_MS, traffic or not, so stats
 * events, the key log and idle flows are seen to on time. */
static int capture_live(struct run *run, struct cap_source *src)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run->next_stats_s = run->o->stats_s;
	while (!stop_requested) {
		int n = cap_next_batch(src, BATCH, on_frame, run);
		if (n == -2) {
			fprintf(stderr, "certtrace: %s\n", cap_error(src));
			return 2;
		}
		/* Live, -w is flushed after every batch: the file on disk is
		 * readable as it is, and a full disk is said at once. */
		flush_dump(run);
		follow_keylogs(run);
		/* Capture time stands still when nothing arrives: let the
		 * wall clock close lingering flows so their events appear. */
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		flow_table_expire(run->flows, (uint64_t)rt.tv_sec * 1000000u +
					      (uint64_t)rt.tv_nsec / 1000u);
		double el = live_timers(run, &t0);
		if (n == -1 && !stop_requested)
			continue;
		if (run->o->duration_s > 0 && el >= run->o->duration_s)
			break;
	}
	return 0;
}

/* --threads, live: the workers read their handles; this thread hands their
 * records to the report as they come, and keeps the timers. */
static int capture_workers(struct run *run)
{
	struct timespec t0;
	int status = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run->next_stats_s = run->o->stats_s;
	while (!stop_requested) {
		if (!workers_merge(run->workers, CAP_LIVE_WAKE_MS)) {
			fprintf(stderr, "certtrace: %s\n", workers_error(run->workers));
			status = 2;
			break;
		}
		double el = live_timers(run, &t0);
		if (run->o->duration_s > 0 && el >= run->o->duration_s)
			break;
	}
	workers_stop(run->workers);
	return status;
}

/* -1: -w could not be started (no report); else the status so far. */
static int run_live(struct run *run)
{
	struct cap_source *src = run->in.live[0];
	if (!start_dump(run, src))
		return -1;
	live_source = run->workers ? NULL : src;
	run->src = src;
	run->dlt = cap_linktype(src);
	int status = run->workers ? capture_workers(run) : capture_live(run, src);
	status_update(run, true);
	struct workers_counters c;
	live_counters(run, &c);
	run->st.live = true;
	run->st.kernel_received = c.cap.received;
	run->st.kernel_dropped = c.cap.dropped;
	run->st.kernel_ifdropped = c.cap.ifdropped;
	live_source = NULL;
	run->src = NULL;
	for (unsigned i = 0; i < run->in.n_live; i++)
		cap_close(run->in.live[i]);
	run->in.n_live = 0;
	return status;
}

/* FILE_DAMAGED: read up to a place it cannot be read past (exit 2, the
 * report still covers what was read). */
enum file_read { FILE_READ, FILE_DAMAGED, FILE_UNREADABLE, FILE_ABORT };

/* -r file i: its pcapng secrets, then its packets. */
static enum file_read read_file(struct run *run, unsigned i)
{
	const struct options *o = run->o;
	FILE *fp = run->in.files[i];
	char err[1024];

	if (!fp) {
		fprintf(stderr, "certtrace: %s: cannot open: %s\n", o->files[i],
			strerror(run->in.files_errno[i]));
		return FILE_UNREADABLE;
	}
	run->in.files[i] = NULL;       /* the source takes it over, even if it fails */
	/* The reader works on the descriptor; nothing was read through fp. */
	int fd = fp == stdin ? 0 : dup(fileno(fp));
	if (fp != stdin)
		fclose(fp);
	if (fd < 0) {
		fprintf(stderr, "certtrace: %s: %s\n", o->files[i], strerror(errno));
		return FILE_UNREADABLE;
	}
	struct cap_offline_options oo = { .secrets = on_secrets, .user = run };
	if (run->workers)
		workers_source_options(run->workers, &oo);
	struct cap_source *src = cap_open_offline_fd(fd, o->files[i], &oo, err, sizeof err);
	if (!src) {
		fprintf(stderr, "certtrace: %s\n", err);
		return FILE_UNREADABLE;
	}
	run->files_opened++;
	if (!start_dump(run, src)) {
		cap_close(src);
		return FILE_ABORT;
	}
	if (run->dump && cap_linktype(src) != run->dump_dlt && o->verbose >= 0)
		fprintf(stderr, "certtrace: %s: link type differs from the first "
			"file's; its packets are not saved to -w\n", cap_name(src));
	bool whole = drain_source(run, src);
	status_update(run, true);
	run->src = NULL;
	cap_close(src);
	return whole ? FILE_READ : FILE_DAMAGED;
}

/* -1: -w could not be started (no report); else 2 if a file was unreadable. */
static int run_files(struct run *run)
{
	int status = 0;
	for (unsigned i = 0; i < run->o->n_files && !stop_requested; i++) {
		switch (read_file(run, i)) {
		case FILE_READ:
			break;
		case FILE_DAMAGED:
		case FILE_UNREADABLE:
			status = 2;
			break;
		case FILE_ABORT:
			return -1;
		}
	}
	return status;
}

/* ---- step 5: finish, and the one way out --------------------------------- */

static void fill_stats(struct run *run)
{
	struct workers_counters c;
	flow_totals(run, &c);
	run->st.flows = c.flows.flows;
	run->st.tcp_flows = c.flows.flows;
	run->st.evicted_flows = c.flows.evicted;
	run->st.gaps = c.flows.gaps;
	run->st.dpi_detection_misses = c.pipe.dpi_detection_misses;
	run->st.dpi_disagreements = c.pipe.dpi_disagreements;
	if (run->workers && run->o->iface)   /* the workers decoded the packets */
		run->frames = c.frames;
	run->st.packets = run->frames.packets;
	run->st.bytes = run->frames.bytes;
	run->st.truncated_packets = run->frames.truncated;
	run->st.skipped_packets = run->frames.malformed;
	run->st.fragments_skipped = run->frames.fragments;
	run->st.n_encaps = 0;
	for (unsigned i = 0; i < CAP_ENCAP_COUNT && i < sizeof run->st.encaps / sizeof run->st.encaps[0]; i++) {
		run->st.encaps[run->st.n_encaps].name = cap_encap_name((enum cap_encap)i);
		run->st.encaps[run->st.n_encaps++].packets = run->frames.encaps.packets[i];
	}
}

static int finish(struct run *run, int status)
{
	const struct options *o = run->o;
	if (run->workers)
		workers_finish(run->workers);
	else
		flow_table_finish(run->flows);
	fill_stats(run);
	if (run->frames.malformed && o->verbose >= 0)
		fprintf(stderr, "certtrace: %llu packets skipped as malformed (first: %s)\n",
			(unsigned long long)run->frames.malformed, run->frames.first_malformed);
	if (run->st.fragments_skipped && o->verbose >= 0)
		fprintf(stderr, "certtrace: %llu IP fragments skipped (not reassembled)\n",
			(unsigned long long)run->st.fragments_skipped);
	/* --debug-flows has printed its figures; with no file readable the
	 * reasons are on stderr, and no empty report follows them. */
	if (run->dbg || (o->n_files && !run->files_opened && !o->n_events))
		return status;
	int r = rep_finish(run->rep, &run->st);
	return status ? status : r;
}

/* Every output flushed and closed, each checked: a write that failed (said
 * once, when it failed) makes the exit status 2, over findings (1) and
 * inconclusive (3), since the report or the evidence is not whole. */
static int close_outputs(struct run *run, int status)
{
	bool ok = flush_dump(run);
	if (run->dump)
		pcap_dump_close(run->dump);
	run->dump = NULL;
	ok &= sink_close(run->in.packets);
	run->in.packets = NULL;
	ok &= rep_writes_ok(run->rep);
	ok &= sink_close(run->in.report);
	run->in.report = NULL;
	return ok ? status : 2;
}

static int run_certtrace(struct run *run)
{
	if (!open_inputs(run) || !drop_privileges(run) || !setup(run))
		return 2;
	int status = run->o->iface ? run_live(run) : run_files(run);
	/* No report (-w could not start): flows may still be open and write to
	 * the report stream as cleanup() closes them, so it closes the outputs
	 * after them. */
	if (status < 0)
		return 2;
	return close_outputs(run, finish(run, status));
}

/* Frees whatever the steps made, however far they got.  The flow table goes
 * first: closing a flow still open hands its handshake to the report. */
static void cleanup(struct run *run)
{
	struct inputs *in = &run->in;
	flow_table_free(run->flows);
	pipe_free(run->pipe);
	workers_free(run->workers);
	cap_debug_free(run->dbg);
	rep_free(run->rep);
	dpi_free(run->dpi);
	for (unsigned i = 0; i < MAX_FILES; i++)
		kl_follow_free(run->follow[i]);
	kl_store_free(run->keys);
	if (run->dump)
		pcap_dump_close(run->dump);
	sink_close(in->packets);
	sink_close(in->report);
	for (unsigned i = 0; i < in->n_live; i++)
		cap_close(in->live[i]);
	for (unsigned i = 0; i < MAX_FILES; i++) {
		close_file(&in->files[i]);
		close_file(&in->keylogs[i]);
	}
	for (unsigned i = 0; i < MAX_EVENTS; i++)
		close_file(&in->events[i]);
	close_rep_inputs(&in->rep);
	free(run->o->filter_owned);
	free(run->user.name);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct run run = { .o = &o };
	int status;

	rep_inputs_init(&run.in.rep);
	status = parse_options(argc, argv, &o);
	if (status == GO_ON)
		status = o.list_ifaces ? list_interfaces() : run_certtrace(&run);
	cleanup(&run);
	/* --help, --version, -D: what went to stdout is checked too. */
	errno = 0;
	bool flushed = fflush(stdout) == 0;
	int e = errno;
	if ((!flushed || ferror(stdout)) && status != 2) {
		fprintf(stderr, "certtrace: stdout: %s\n", !flushed && e ? strerror(e) : "a write failed");
		status = 2;
	}
	return status;
}
