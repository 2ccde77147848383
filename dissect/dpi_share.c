/*
 * dpi_share.c — one copy of nDPI's IP address table for all the workers.
 *
 * Each worker needs a detection module of its own (nDPI 4.2 keeps the
 * packet being dissected inside the module), and most of a module is one
 * table: protocols_ptree, the patricia tree that maps nDPI's 58,450 address
 * ranges (Microsoft, Google, Amazon...) to protocols.  It is 4.7 MB of the
 * module's 5.5 MB heap, the same in every module, and nothing writes to it
 * once ndpi_finalize_initialization() has run: in libndpi 4.2 only
 * ndpi_init_detection_module(), ndpi_handle_rule() (a protocols file),
 * ndpi_load_ipv4_ptree() and ndpi_load_ip_category() insert into a tree,
 * none of which certtrace calls after that; a packet only searches it
 * (ndpi_network_ptree_match, ndpi_patricia_search_best2: a walk with a
 * stack of its own, no store into the tree, no counter).  So a second
 * module gives its own tree back and searches the first's; at 8 threads
 * that is 33 MB less.  nDPI 4.8 made this official (a global context shared
 * by modules); 4.2 has no API for it.
 *
 * That table is in struct ndpi_detection_module_struct, which nDPI declares
 * only for its own compilation (NDPI_LIB_COMPILATION).  This file is the one
 * place certtrace reads it, and it does so only when the library running is
 * the API version certtrace was built against (the struct's layout comes
 * from that version's header); otherwise every module keeps its own table,
 * which costs memory and nothing else.
 */
#define NDPI_LIB_COMPILATION
#include <ndpi_api.h>

#include "dissect/dpi_share.h"

bool dpi_mod_borrow_ip_table(struct ndpi_detection_module_struct *to,
			     const struct ndpi_detection_module_struct *from)
{
	if (ndpi_get_api_version() != NDPI_API_VERSION || !from->protocols_ptree ||
	    !to->protocols_ptree)
		return false;
	ndpi_patricia_destroy(to->protocols_ptree, NULL);
	to->protocols_ptree = from->protocols_ptree;
	return true;
}

void dpi_mod_return_ip_table(struct ndpi_detection_module_struct *m)
{
	m->protocols_ptree = NULL;     /* ndpi_exit_detection_module skips NULL */
}
