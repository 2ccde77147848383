/*
 * sink.c — checked, reopenable output files (the two ideas are in sink.h).
 *
 * The stream is a fopencookie() stream over the sink: cookie_write() is the
 * one place a byte leaves for the file, so it is the one place a write is
 * checked; cookie_close() only forgets the stream, the descriptor stays
 * the sink's until sink_reopen_end() or sink_close().
 */
#define _GNU_SOURCE
#include "lib/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/buf.h"

struct sink {
	FILE *fp;                      /* the stream; NULL until sink_fp() or after a close */
	int fd;                        /* the file open now */
	int next_fd;                   /* sink_reopen_begin()'s, until _end(); -1 none */
	bool is_stdout;                /* "-": never closed nor reopened */
	bool tty;                      /* line-buffered, as stdio does for a terminal */
	int flags;                     /* open(2) flags, for the reopen */
	int err;                       /* the file open now: its first write errno, sticky */
	bool lost;                     /* a write has failed, in any file of this run */
	char *path, *label, *what;
};

void sink_fail(struct sink *s, int e)
{
	if (!s || s->err)
		return;
	s->err = e ? e : EIO;
	s->lost = true;
	fprintf(stderr, "certtrace: %s: cannot write %s: %s\n", s->label, s->what,
		e ? strerror(e) : "a write failed");
}

static ssize_t cookie_write(void *cookie, const char *p, size_t n)
{
	struct sink *s = cookie;
	size_t done = 0;

	while (!s->err && done < n) {
		ssize_t k = write(s->fd, p + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			sink_fail(s, k < 0 ? errno : EIO);
			break;
		}
		done += (size_t)k;
	}
	/* All of it, even what was dropped: the loss is said and sticky, and a
	 * short count would only make stdio try the same bytes again. */
	return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
	struct sink *s = cookie;
	s->fp = NULL;
	return 0;
}

static int open_path(const struct sink *s)
{
	int fd;
	do
		fd = open(s->path, s->flags, SINK_MODE);
	while (fd < 0 && errno == EINTR);
	return fd;
}

struct sink *sink_open(const char *path, enum sink_open how, const char *label,
		       const char *what, char *err, size_t errlen)
{
	struct sink *s = calloc(1, sizeof *s);
	if (s)
		s->fd = s->next_fd = -1;
	if (!s || !(s->label = str_dup(label)) || !(s->what = str_dup(what)) ||
	    !(s->path = str_dup(path))) {
		snprintf(err, errlen, "%s: out of memory", label);
		sink_close(s);
		return NULL;
	}
	s->flags = O_WRONLY | O_CREAT | O_CLOEXEC | (how == SINK_APPEND ? O_APPEND : O_TRUNC);
	s->is_stdout = strcmp(path, "-") == 0;
	s->fd = s->is_stdout ? STDOUT_FILENO : open_path(s);
	if (s->fd < 0) {
		snprintf(err, errlen, "%s: %s", label, strerror(errno));
		sink_close(s);
		return NULL;
	}
	s->tty = isatty(s->fd);
	return s;
}

FILE *sink_fp(struct sink *s)
{
	if (s->fp)
		return s->fp;
	cookie_io_functions_t io = { .read = NULL, .write = cookie_write, .seek = NULL,
				     .close = cookie_close };
	if (!(s->fp = fopencookie(s, "w", io))) {
		sink_fail(s, errno);
		return NULL;
	}
	if (s->tty)
		setvbuf(s->fp, NULL, _IOLBF, 0);
	return s->fp;
}

bool sink_flush(struct sink *s)
{
	if (s->fp && fflush(s->fp) != 0)
		sink_fail(s, errno);
	return !s->err;
}

bool sink_moved(const struct sink *s)
{
	struct stat now, open_file;
	if (s->is_stdout)
		return false;
	if (stat(s->path, &now) != 0 || fstat(s->fd, &open_file) != 0)
		return true;
	return now.st_dev != open_file.st_dev || now.st_ino != open_file.st_ino;
}

bool sink_reopen_begin(struct sink *s)
{
	if (s->is_stdout)
		return false;
	if (s->next_fd >= 0)
		return true;
	s->next_fd = open_path(s);
	if (s->next_fd < 0)
		fprintf(stderr, "certtrace: %s: cannot reopen it: %s; %s still goes to the "
			"file it had open\n", s->label, strerror(errno), s->what);
	return s->next_fd >= 0;
}

void sink_reopen_end(struct sink *s)
{
	if (s->next_fd < 0)
		return;
	/* What the stream holds belongs to the old file. */
	sink_flush(s);
	if (close(s->fd) != 0)
		sink_fail(s, errno);
	s->fd = s->next_fd;
	s->next_fd = -1;
	s->err = 0;                    /* a new file: its writes are checked afresh */
	s->tty = isatty(s->fd);
}

bool sink_reopen(struct sink *s)
{
	if (!sink_reopen_begin(s))
		return false;
	sink_reopen_end(s);
	return true;
}

bool sink_ok(const struct sink *s)
{
	return !s || !s->lost;
}

bool sink_close(struct sink *s)
{
	if (!s)
		return true;
	if (s->fp) {
		sink_flush(s);
		fclose(s->fp);        /* cookie_close: nothing left to write */
	}
	if (s->next_fd >= 0)
		close(s->next_fd);
	if (s->fd >= 0 && !s->is_stdout && close(s->fd) != 0)
		sink_fail(s, errno);
	bool ok = !s->lost;
	free(s->path);
	free(s->label);
	free(s->what);
	free(s);
	return ok;
}
