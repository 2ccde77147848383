/*
 * test_report_util.c — the report's small tools: the array of pointers and
 * the option-file reader, on good and bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "report/util.h"

TestSuite(rep_util);

Test(rep_util, vec_keeps_the_order_and_pop_undoes_a_push)
{
	struct rep_vec a = { 0 };
	int x[1000];

	for (int i = 0; i < 1000; i++)
		cr_assert(rep_vec_push(&a, &x[i]));
	cr_assert_eq(a.n, 1000);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(a.v[i], &x[i]);
	rep_vec_pop(&a);
	cr_assert_eq(a.n, 999);
	cr_assert(rep_vec_push(&a, &x[0]));
	cr_assert_eq(a.v[999], &x[0]);
	rep_vec_clear(&a);
	cr_assert_eq(a.n, 0);
	rep_vec_pop(&a);                       /* nothing to take back: no harm */
	cr_assert_eq(a.n, 0);
}

static char *temp_file(const void *data, size_t len)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/certtrace-util-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(rep_util, read_file_reads_every_byte_and_ends_with_a_nul)
{
	size_t n = 40000, len = 0;
	uint8_t *data = malloc(n);
	char err[256] = "";

	cr_assert_not_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7);
	char *path = temp_file(data, n);
	uint8_t *got = rep_read_file(path, 1u << 20, &len, err, sizeof(err));
	cr_assert_not_null(got, "%s", err);
	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(got, data, n), 0);
	cr_assert_eq(got[n], 0);
	free(got);
	unlink(path);
	free(data);
}

Test(rep_util, read_file_refuses_a_file_at_the_cap_and_a_missing_one)
{
	static const char text[64] = "0123456789";
	size_t len = 0;
	char err[256] = "";

	char *path = temp_file(text, 64);
	cr_assert_null(rep_read_file(path, 64, &len, err, sizeof(err)));
	cr_assert(strstr(err, "larger than"), "%s", err);
	uint8_t *got = rep_read_file(path, 65, &len, err, sizeof(err));
	cr_assert_not_null(got);
	cr_assert_eq(len, 64);
	free(got);
	unlink(path);
	cr_assert_null(rep_read_file(path, 65, &len, err, sizeof(err)));
	cr_assert(strstr(err, "No such file"), "%s", err);
}
