/*
 * dpi_share.h — nDPI modules that share what the first one built
 * (dpi_share.c says why that is safe, and how it is kept to one file).
 * For dissect/dpi.c only.
 */
#ifndef CERTTRACE_DPI_SHARE_H
#define CERTTRACE_DPI_SHARE_H

struct ndpi_detection_module_struct;

/* A module for another thread, from `from`, finalised and not dissecting
 * while this runs; it searches `from`'s tables, so `from` must outlive
 * it.  NULL when out of memory or when the nDPI library is not the
 * version certtrace was built against: build one instead. */
struct ndpi_detection_module_struct *
dpi_mod_copy(const struct ndpi_detection_module_struct *from);

/* Frees what the copy made itself (its caches, its struct), not what it
 * shares. */
void dpi_mod_copy_free(struct ndpi_detection_module_struct *m);

#endif
