/*
 * fuzz_pcap.c — libFuzzer target: the whole pipeline on an arbitrary
 * capture file, wired as certtrace.c wires it.
 *
 *   memfd ─▶ cap_open_offline ─▶ cap_decode ─▶ flow table ─▶ tls_feed
 *         ─▶ rep_handshake (x509 cache, rules) ─▶ rep_finish (jsonl to /dev/null)
 *
 * The input is written to a memory file and opened by its /proc path, so
 * source.c runs exactly as for -r FILE (pcap and pcapng both).  The flow
 * table is small (FUZZ_PCAP_MAX_FLOWS) so eviction runs too; the report
 * renders jsonl, the format with the most code behind it, into /dev/null.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/capture.h"
#include "dissect/tls.h"
#include "handshake_record.h"
#include "report/report.h"

#define FUZZ_PCAP_MAX_FLOWS 64

struct fz_run {
	int dlt;
	struct flow_table *flows;
	struct rep *rep;
	struct rep_capture_stats st;
};

static struct tls_conn *conn_of(struct flow *f)
{
	struct tls_conn *c = flow_user(f);
	if (!c) {
		c = tls_conn_new();
		flow_set_user(f, c);
	}
	return c;
}

static enum flow_verdict verdict(enum tls_verdict v)
{
	return v == TLS_CONTINUE ? FLOW_MORE : FLOW_DONE;
}

static enum flow_verdict on_data(void *ctx, struct flow *f, enum flow_dir d,
				 const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct tls_conn *c = conn_of(f);
	if (!c)
		return FLOW_DONE;
	return verdict(tls_feed(c, d == FLOW_FROM_CLIENT ? TLS_FROM_CLIENT : TLS_FROM_SERVER,
				p, n, ts_us));
}

static enum flow_verdict on_gap(void *ctx, struct flow *f, enum flow_dir d,
				uint64_t missing, uint64_t ts_us)
{
	struct tls_conn *c = conn_of(f);
	if (!c)
		return FLOW_DONE;
	return verdict(tls_gap(c, d == FLOW_FROM_CLIENT ? TLS_FROM_CLIENT : TLS_FROM_SERVER,
			       missing));
}

static void on_close(void *ctx, struct flow *f, enum flow_close_reason why)
{
	struct fz_run *run = ctx;
	struct tls_conn *c = flow_user(f);
	if (!c)
		return;
	tls_end(c);
	if (tls_is_tls(c)) {
		struct rep_handshake h = { .app = "TLS" };
		handshake_record(tls_session(c), &h);
		flow_endpoint(f, FLOW_FROM_CLIENT, h.client.ip, sizeof h.client.ip, &h.client.port);
		flow_endpoint(f, FLOW_FROM_SERVER, h.server.ip, sizeof h.server.ip, &h.server.port);
		rep_handshake(run->rep, &h);
	}
	tls_conn_free(c);
	flow_set_user(f, NULL);
}

static void on_frame(void *user, const struct cap_frame *fr)
{
	struct fz_run *run = user;
	struct cap_pkt p;
	const char *why;

	run->st.packets++;
	run->st.bytes += fr->len;
	switch (cap_decode(fr->dlt, fr, &p, &why)) {
	case CAP_TCP:
		flow_table_packet(run->flows, &p);
		break;
	case CAP_MALFORMED:
		if (!why || !*why)
			abort();   /* a malformed packet always says why */
		run->st.skipped_packets++;
		break;
	default:
		break;
	}
}

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (!devnull)
		return 0;
	int fd = memfd_create("fuzz_pcap", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64], err[1024];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct cap_source *src = cap_open_offline(path, err, sizeof err);
	close(fd);
	if (!src) {
		if (!err[0])
			abort();   /* a refusal always says why */
		return 0;
	}

	struct fz_run run = { .dlt = cap_linktype(src) };
	struct rep_options ro = { .format = REP_JSONL, .fail_on = REP_CRITICAL };
	run.rep = rep_new(&ro, devnull, err, sizeof err);
	struct flow_consumer consumer = { &run, NULL, on_data, on_gap, on_close };
	struct flow_options fo;
	flow_options_default(&fo);
	fo.max_flows = FUZZ_PCAP_MAX_FLOWS;
	run.flows = run.rep ? flow_table_new(&fo, &consumer) : NULL;
	if (run.flows) {
		int n;
		while ((n = cap_next_batch(src, 256, on_frame, &run)) >= 0)
			;
		if (n == -2 && !cap_error(src)[0])
			abort();
		flow_table_finish(run.flows);
		const struct flow_counters *fc = flow_table_counters(run.flows);
		if (fc->active > FUZZ_PCAP_MAX_FLOWS || fc->peak_active > FUZZ_PCAP_MAX_FLOWS)
			abort();   /* the cap is hard */
		run.st.flows = fc->flows;
		run.st.tcp_flows = fc->flows;
		run.st.evicted_flows = fc->evicted;
		run.st.gaps = fc->gaps;
		rep_finish(run.rep, &run.st);
		flow_table_free(run.flows);
	}
	if (run.rep)
		rep_free(run.rep);
	cap_close(src);
	fflush(devnull);
	return 0;
}
