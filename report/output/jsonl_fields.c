/*
 * jsonl_fields.c — the field tables of jsonl_fields.h.
 */
#include <stddef.h>

#include "report/output/jsonl_fields.h"
#include "report/report.h"

static const struct jw_field endpoint_fields[] = {
	JWF_CHARS(struct rep_endpoint, ip, "ip", 0),
	JWF_U16(struct rep_endpoint, port, "port", 0),
};
const struct jw_table rep_jf_endpoint = JW_TABLE(endpoint_fields);

static const struct jw_field capture_head_fields[] = {
	JWF_U64(struct rep_capture_stats, packets, "packets", 0),
	JWF_U64(struct rep_capture_stats, bytes, "bytes", 0),
	JWF_U64(struct rep_capture_stats, flows, "flows", 0),
	JWF_U64(struct rep_capture_stats, tcp_flows, "tcp_flows", 0),
};
const struct jw_table rep_jf_capture_head = JW_TABLE(capture_head_fields);

static const struct jw_field capture_tail_fields[] = {
	JWF_U64(struct rep_capture_stats, truncated_packets, "truncated_packets", 0),
	JWF_U64(struct rep_capture_stats, skipped_packets, "skipped_packets", 0),
	JWF_U64(struct rep_capture_stats, fragments_skipped, "fragments_skipped", 0),
	JWF_U64(struct rep_capture_stats, evicted_flows, "evicted_flows", 0),
	JWF_U64(struct rep_capture_stats, gaps, "gaps", 0),
	JWF_U64(struct rep_capture_stats, dpi_detection_misses, "dpi_detection_misses", 0),
	JWF_U64(struct rep_capture_stats, dpi_disagreements, "dpi_disagreements", 0),
};
const struct jw_table rep_jf_capture_tail = JW_TABLE(capture_tail_fields);

void rep_jf_add_capture_counts(struct rep_capture_stats *to, const struct rep_capture_stats *from)
{
	const struct jw_table *t[] = { &rep_jf_capture_head, &rep_jf_capture_tail };

	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		for (size_t i = 0; i < t[k]->n; i++) {
			size_t off = t[k]->fields[i].off;
			*(uint64_t *)(void *)((char *)to + off) +=
				*(const uint64_t *)(const void *)((const char *)from + off);
		}
	}
}
