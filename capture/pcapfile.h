/*
 * pcapfile.h — our reader of capture files, pcap and pcapng (private to
 * capture/; source.c puts it behind cap_open_offline).
 */
#ifndef CERTTRACE_PCAPFILE_H
#define CERTTRACE_PCAPFILE_H

#include "capture/capture.h"

/* The largest record or block read; a longer one is an error (the file is
 * damaged), never an allocation of what the file claims. */
#define PF_MAX_PACKET_BYTES 262144u            /* libpcap's limit for these link types */
#define PF_MAX_BLOCK_BYTES  (32u * 1024 * 1024) /* a DSB may hold 16 MiB of key log */

enum pf_result {
	PF_FRAME,       /* *fr is filled; its bytes are valid until the next pf_next */
	PF_END,         /* the file ended where a record or block would start */
	PF_TRUNCATED,   /* the file ended inside its last record: pf_message warns */
	PF_ERROR,       /* cannot read on: pf_message names packet and byte offset */
};

struct pcapfile;

/* Reads the file header (and, for pcapng, the blocks up to the first
 * interface) from fd; the reader owns fd from here unless it is 0 (stdin).
 * NULL with a one-line reason naming `name`. */
struct pcapfile *pf_open(int fd, const char *name, const struct cap_offline_options *o,
			 char *err, size_t errlen);
enum pf_result pf_next(struct pcapfile *f, struct cap_frame *fr);
const char *pf_message(const struct pcapfile *f);
int pf_linktype(const struct pcapfile *f);       /* the first interface's, a DLT_ value */
uint32_t pf_snaplen(const struct pcapfile *f);   /* the first interface's */
uint64_t pf_offset(const struct pcapfile *f);    /* bytes consumed */
uint64_t pf_packets(const struct pcapfile *f);   /* frames delivered */
void pf_close(struct pcapfile *f);

#endif
