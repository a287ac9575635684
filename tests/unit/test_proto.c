/* proto.c: the modem channel's line framing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "unit.h"

#include "proto.h"

START_TEST(test_lines_across_reads)
{
	struct linebuf lb;
	int toolong;
	linebuf_init(&lb);
#define APPEND(text) ck_assert_int_eq(linebuf_append(&lb, text, strlen(text)), 0)
	APPEND("{\"type\":\"re");
	ck_assert_ptr_null(linebuf_next(&lb, &toolong));
	APPEND("ady\"}\n{\"a\":1}\n{\"b\"");
	ck_assert_str_eq(linebuf_next(&lb, &toolong), "{\"type\":\"ready\"}");
	ck_assert_str_eq(linebuf_next(&lb, &toolong), "{\"a\":1}");
	ck_assert_ptr_null(linebuf_next(&lb, &toolong));
	ck_assert_int_eq(toolong, 0);
	APPEND(":2}\n\n");
	ck_assert_str_eq(linebuf_next(&lb, &toolong), "{\"b\":2}");
	ck_assert_str_eq(linebuf_next(&lb, &toolong), "");
	ck_assert_ptr_null(linebuf_next(&lb, &toolong));
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_too_long_line_dropped)
{
	struct linebuf lb;
	int toolong, seen = 0;
	size_t chunk = 64 * 1024;
	char *junk = malloc(chunk);
	memset(junk, 'x', chunk);
	linebuf_init(&lb);
	/* Five times the limit without a newline, then a good line. */
	for (size_t sent = 0; sent < 5 * (size_t)PROTO_MAX_LINE; sent += chunk) {
		ck_assert_int_eq(linebuf_append(&lb, junk, chunk), 0);
		ck_assert_ptr_null(linebuf_next(&lb, &toolong));
		seen |= toolong;
	}
	ck_assert_int_eq(seen, 1);
	/* Memory stays bounded while discarding. */
	ck_assert_uint_le(lb.cap, 2 * (size_t)PROTO_MAX_LINE + chunk);
	ck_assert_int_eq(linebuf_append(&lb, "tail\n{\"ok\":true}\n", 17), 0);
	char *line = linebuf_next(&lb, &toolong);
	ck_assert_str_eq(line, "{\"ok\":true}");
	linebuf_free(&lb);
	free(junk);
}
END_TEST

START_TEST(test_read_from_pipe)
{
	struct linebuf lb;
	int fds[2], toolong;
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(proto_write_all(fds[1], "one\ntwo\n", 8), 0);
	close(fds[1]);
	linebuf_init(&lb);
	ck_assert_int_eq(linebuf_read(&lb, fds[0]), 8);
	ck_assert_str_eq(linebuf_next(&lb, &toolong), "one");
	ck_assert_str_eq(linebuf_next(&lb, &toolong), "two");
	ck_assert_int_eq(linebuf_read(&lb, fds[0]), 0);	/* end of file */
	close(fds[0]);
	linebuf_free(&lb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("linebuf");
	tcase_add_test(tc, test_lines_across_reads);
	tcase_add_test(tc, test_too_long_line_dropped);
	tcase_add_test(tc, test_read_from_pipe);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
