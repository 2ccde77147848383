/*
 * dpi_share.c — the workers' nDPI modules: one built, the others copies
 * that share everything it built.
 *
 * Each worker needs a detection module of its own: nDPI 4.2 keeps the
 * packet being dissected, the capture clock and its LRU caches inside the
 * module.  Everything else in a module is built by
 * ndpi_init_detection_module() and ndpi_finalize_initialization() and only
 * read after them: the IP address table (protocols_ptree, 58,450 ranges,
 * 4.7 MB of the module's 5.5 MB heap), the host-name automata (0.6 MB),
 * the default-port trees, the protocol names and the dissector tables.  In
 * libndpi 4.2 only init, ndpi_handle_rule() (a protocols file),
 * ndpi_load_ipv4_ptree(), ndpi_load_ip_category() and ndpi_add_*() write
 * to them, none of which certtrace calls after finalising; a packet only
 * searches them (ndpi_patricia_search_best2() and ac_automata_search()
 * store only to their own stack and arguments, ndpi_tfind() to none).
 *
 * So a second module is a copy of the first's struct (240 KB: dissector
 * tables and protocol defaults held inline) whose pointers are the
 * first's, with the per-packet state cleared: 11 ms and 5.5 MB saved per
 * worker.  tests/test_dpi.c runs every corpus capture through a copy with
 * the first module's memory write-protected, so a store into what is
 * shared faults there instead of racing here.  nDPI 4.8 made sharing
 * official (a global context given to each module); 4.2 has no API for it.
 *
 * The struct is declared only for nDPI's own compilation
 * (NDPI_LIB_COMPILATION).  This file is the one place certtrace reads it,
 * and it does so only when the library running is the API version
 * certtrace was built against and agrees on the flow struct's size;
 * otherwise dpi_mod_copy() says no and the caller builds a module of its
 * own, which costs time and memory and nothing else.
 */
#define NDPI_LIB_COMPILATION
#include <ndpi_api.h>

#include <string.h>

#include "dissect/dpi_share.h"

struct ndpi_detection_module_struct *
dpi_mod_copy(const struct ndpi_detection_module_struct *from)
{
	if (ndpi_get_api_version() != NDPI_API_VERSION ||
	    ndpi_detection_get_sizeof_ndpi_flow_struct() != sizeof(struct ndpi_flow_struct))
		return NULL;
	/* ndpi_malloc: ndpi_exit_detection_module() gives it back with ndpi_free. */
	struct ndpi_detection_module_struct *m = ndpi_malloc(sizeof *m);
	if (!m)
		return NULL;
	memcpy(m, from, sizeof *m);
	/* What a module writes as it dissects: its own from the start. */
	memset(&m->packet, 0, sizeof m->packet);
	m->ookla_cache = NULL;
	m->tinc_cache = NULL;
	m->bittorrent_cache = NULL;
	m->zoom_cache = NULL;
	m->stun_cache = NULL;
	m->tls_cert_cache = NULL;
	m->mining_cache = NULL;
	m->msteams_cache = NULL;
	return m;
}

void dpi_mod_copy_free(struct ndpi_detection_module_struct *m)
{
	if (!m)
		return;
	/* The first module's, to be freed with it: clear every pointer
	 * ndpi_exit_detection_module() frees that the copy did not make
	 * itself, and it frees the copy's own caches and struct only. */
	for (size_t i = 0; i < sizeof m->proto_defaults / sizeof m->proto_defaults[0]; i++) {
		m->proto_defaults[i].protoName = NULL;
		m->proto_defaults[i].subprotocols = NULL;
	}
	m->tcpRoot = m->udpRoot = NULL;
	m->host_automa.ac_automa = NULL;
	m->risky_domain_automa.ac_automa = NULL;
	m->tls_cert_subject_automa.ac_automa = NULL;
	m->malicious_ja3_automa.ac_automa = NULL;
	m->malicious_sha1_automa.ac_automa = NULL;
	m->host_risk_mask_automa.ac_automa = NULL;
	m->common_alpns_automa.ac_automa = NULL;
	m->trusted_issuer_dn = NULL;
	m->ip_risk_mask_ptree = NULL;
	m->custom_categories.hostnames.ac_automa = NULL;
	m->custom_categories.hostnames_shadow.ac_automa = NULL;
	m->custom_categories.ipAddresses = NULL;
	m->custom_categories.ipAddresses_shadow = NULL;
	m->protocols_ptree = NULL;
	m->mmdb_city = m->mmdb_as = NULL;
	m->mmdb_city_loaded = m->mmdb_as_loaded = 0;
	ndpi_exit_detection_module(m);
}
