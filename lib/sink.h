/*
 * sink.h — an output file whose every write is checked, and that can be
 * reopened under a running capture (logrotate's create + SIGHUP).
 *
 * Two ideas:
 *  1. One checkpoint for every byte.  A sink hands out a stdio stream
 *     (sink_fp) made with fopencookie: text, jsonl, dot, the pcap dumper and
 *     --debug-flows all write through plain stdio, and stdio's every write
 *     lands in one function here that checks write(2).  The first failure
 *     is said once on stderr ("certtrace: -o FILE: cannot write the report:
 *     No space left on device") and is sticky: what follows for that file is
 *     dropped (so the file stays a clean prefix, no half line followed by
 *     later lines), and sink_ok() is false for the rest of the run (exit 2).
 *     No caller has to check a return value for the loss to be seen.
 *  2. The stream outlives the file.  sink_reopen() opens the path again
 *     first, then flushes what the stream holds into the old file, closes it
 *     and goes on in the new one: the stream pointer every writer holds
 *     stays valid, nothing written before the call is lost, and if the open
 *     fails the old file is kept (said once, nothing lost).  A stream the
 *     caller closed (pcap_dump_close closes its FILE) is made again by the
 *     next sink_fp(); the descriptor is the sink's, never the stream's.
 *
 * Files are opened O_WRONLY|O_CREAT|O_CLOEXEC, mode 0640 (before the
 * umask): a report names clients and servers, the -w file holds their
 * handshakes.  "-" is stdout, written but never closed nor reopened.
 */
#ifndef CERTTRACE_SINK_H
#define CERTTRACE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SINK_MODE 0640

enum sink_open {
	SINK_APPEND,                  /* -o: O_APPEND, what is there stays */
	SINK_TRUNCATE,                /* -w: O_TRUNC, a new pcap file */
};

struct sink;

/* path "-": stdout.  label names it in messages ("-o out.jsonl", "stdout"),
 * what says what goes there ("the report").  NULL with a one-line reason in
 * err when the file cannot be opened. */
struct sink *sink_open(const char *path, enum sink_open how, const char *label,
		       const char *what, char *err, size_t errlen);
/* The stream to write to; NULL only when it cannot be made (out of memory,
 * said, and counted as a write failure). */
FILE *sink_fp(struct sink *s);
/* fflush; false when a write to the file open now has failed. */
bool sink_flush(struct sink *s);
/* Says a failure found by someone else (pcap_dump_flush() returned -1 and
 * no write here failed: e = errno, 0 for unknown). */
void sink_fail(struct sink *s, int e);
/* false when the path still names the file open now (or for stdout):
 * reopening would change nothing. */
bool sink_moved(const struct sink *s);
/* SIGHUP, in two halves so a caller can close its own writer in between
 * (pcap_dump_close, whose new header must go to the new file):
 *   begin: open the path again; false (said why) keeps the old file.
 *   end:   flush the stream into the old file, close that, go on in the new.
 * sink_reopen() is both. */
bool sink_reopen_begin(struct sink *s);
void sink_reopen_end(struct sink *s);
bool sink_reopen(struct sink *s);
/* true when no write has failed since sink_open(), across reopens. */
bool sink_ok(const struct sink *s);
/* Flushes and closes the stream and the file, frees s; sink_ok() before
 * the free, close(2) included.  NULL is fine (true). */
bool sink_close(struct sink *s);

#endif
