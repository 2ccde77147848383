/*
 * test_sink.c — lib/sink: every write checked, the failure said once and
 * sticky, and a reopen that loses nothing and keeps the stream.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sink.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/certtrace-sink-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static char *path_in(const char *name)
{
	static char p[4][128];
	static unsigned k;
	char *s = p[k++ % 4];
	snprintf(s, sizeof p[0], "%s/%s", dir, name);
	return s;
}

static void expect_file(const char *path, const char *want)
{
	char got[256] = "";
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing", path);
	size_t n = fread(got, 1, sizeof got - 1, f);
	got[n] = 0;
	fclose(f);
	cr_expect_str_eq(got, want, "%s", path);
}

static struct sink *open_or_fail(const char *path, enum sink_open how)
{
	char err[256];
	struct sink *s = sink_open(path, how, path, "the report", err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	return s;
}

TestSuite(sink, .init = make_dir, .fini = remove_dir);

Test(sink, writes_what_stdio_is_given_appends_and_makes_0640)
{
	mode_t old = umask(022);
	const char *p = path_in("out");
	struct sink *s = open_or_fail(p, SINK_APPEND);
	fprintf(sink_fp(s), "one %d\n", 1);
	cr_expect(sink_close(s));
	s = open_or_fail(p, SINK_APPEND);
	fputs("two\n", sink_fp(s));
	cr_expect(sink_close(s));
	umask(old);
	expect_file(p, "one 1\ntwo\n");
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640);
}

Test(sink, truncate_starts_the_file_again)
{
	const char *p = path_in("saved");
	struct sink *s = open_or_fail(p, SINK_TRUNCATE);
	fputs("old contents\n", sink_fp(s));
	cr_expect(sink_close(s));
	s = open_or_fail(p, SINK_TRUNCATE);
	fputs("new\n", sink_fp(s));
	cr_expect(sink_close(s));
	expect_file(p, "new\n");
}

Test(sink, a_full_disk_is_said_once_and_sticks, .init = cr_redirect_stderr)
{
	make_dir();
	char err[256];
	struct sink *s = sink_open("/dev/full", SINK_APPEND, "-o /dev/full", "the report", err,
				   sizeof err);
	cr_assert_not_null(s, "%s", err);
	for (int i = 0; i < 10000; i++)
		fprintf(sink_fp(s), "line %d of a report that does not fit\n", i);
	cr_expect_not(sink_flush(s));
	cr_expect_not(sink_ok(s));
	cr_expect_not(sink_close(s));
	fflush(stderr);
	cr_expect_stderr_eq_str("certtrace: -o /dev/full: cannot write the report: "
				"No space left on device\n");
}

Test(sink, reopen_after_a_move_loses_nothing_and_keeps_the_stream)
{
	const char *p = path_in("out.jsonl"), *moved = path_in("out.jsonl.1");
	struct sink *s = open_or_fail(p, SINK_APPEND);
	FILE *f = sink_fp(s);
	fputs("before\n", f);                  /* still in stdio's buffer */
	cr_expect_not(sink_moved(s));
	cr_assert_eq(rename(p, moved), 0);
	cr_expect(sink_moved(s));
	cr_expect(sink_reopen(s));
	cr_expect_eq(sink_fp(s), f, "the writers' stream stays the same");
	expect_file(moved, "before\n");
	fputs("after\n", f);
	cr_expect(sink_close(s));
	expect_file(p, "after\n");
}

Test(sink, a_reopen_that_cannot_open_keeps_the_old_file, .init = cr_redirect_stderr)
{
	make_dir();
	char sub[128], gone[160];
	snprintf(sub, sizeof sub, "%s/logs", dir);
	snprintf(gone, sizeof gone, "%s/logs.old", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	const char *p = path_in("logs/out");
	struct sink *s = open_or_fail(p, SINK_APPEND);
	fputs("a\n", sink_fp(s));
	cr_assert_eq(rename(sub, gone), 0);   /* the folder went: open(2) fails */
	cr_expect_not(sink_reopen(s));
	fputs("b\n", sink_fp(s));
	cr_expect(sink_close(s), "nothing was lost");
	char kept[192];
	snprintf(kept, sizeof kept, "%s/out", gone);
	expect_file(kept, "a\nb\n");
	fflush(stderr);
	char want[512];
	snprintf(want, sizeof want, "certtrace: %s: cannot reopen it: No such file or directory; "
		 "the report still goes to the file it had open\n", p);
	cr_expect_stderr_eq_str(want);
}

Test(sink, a_stream_closed_by_its_user_is_made_again_over_the_same_file)
{
	const char *p = path_in("saved.pcap");
	struct sink *s = open_or_fail(p, SINK_TRUNCATE);
	fputs("header\n", sink_fp(s));
	fclose(sink_fp(s));                    /* as pcap_dump_close() does */
	fputs("more\n", sink_fp(s));
	cr_expect(sink_close(s));
	expect_file(p, "header\nmore\n");
}

Test(sink, stdout_is_never_moved_nor_reopened)
{
	char err[64];
	struct sink *s = sink_open("-", SINK_APPEND, "stdout", "the report", err, sizeof err);
	cr_assert_not_null(s);
	cr_expect_not(sink_moved(s));
	cr_expect_not(sink_reopen(s));
	cr_expect(sink_close(s));
}
