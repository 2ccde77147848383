/*
 * dpi_share.h — nDPI modules sharing their read-only IP address table
 * (dpi_share.c says why that is safe, and how it is kept to one file).
 * For dissect/dpi.c only.
 */
#ifndef CERTTRACE_DPI_SHARE_H
#define CERTTRACE_DPI_SHARE_H

#include <stdbool.h>

struct ndpi_detection_module_struct;

/* Both modules finalised.  `to` frees its own IP table and searches
 * `from`'s, which must outlive it.  false, nothing changed, when the nDPI
 * library is not the version certtrace was built against. */
bool dpi_mod_borrow_ip_table(struct ndpi_detection_module_struct *to,
			     const struct ndpi_detection_module_struct *from);

/* Before ndpi_exit_detection_module() of a module that borrowed: the table
 * is the lender's to free. */
void dpi_mod_return_ip_table(struct ndpi_detection_module_struct *m);

#endif
