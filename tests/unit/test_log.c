/* log.c: severities journald reads, log levels, phone numbers masked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "unit.h"

#include "log.h"

/* What the calls of fn wrote to stderr (malloc). */
static char *
captured(void (*fn)(void))
{
	char path[] = "/tmp/pigeon-test-log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	static char buf[8192];

	ck_assert_int_ne(fd, -1);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	buf[n > 0 ? n : 0] = '\0';
	return strdup(buf);
}

static void
forged(void)
{
	log_warnx("http: GET %s: not found", "/tags/x\n<0>pigeond: FAKE\r\tend");
}

/* A control character from outside never starts a line of its own. */
START_TEST(test_one_line_each)
{
	setenv("PIGEON_LOG_JOURNAL", "1", 1);
	unsetenv("PIGEON_LOG_LEVEL");
	log_init("pigeond", 1, 0);
	char *out = captured(forged);
	ck_assert_str_eq(out, "<4>pigeond: http: GET /tags/x?<0>pigeond: FAKE??end: "
	    "not found\n");
	free(out);
}
END_TEST

static void
lines(void)
{
	log_errorx("config: bad");
	log_warnx("database: down");
	log_info("outbox 7: to +212661234567 and +33612345678, ref 1234567890");
	log_debug("from +212661234567");
}

START_TEST(test_journal_prefixes_and_masks)
{
	setenv("PIGEON_LOG_JOURNAL", "1", 1);
	unsetenv("PIGEON_LOG_NUMBERS");
	unsetenv("PIGEON_LOG_LEVEL");
	log_init("pigeond", 1, 0);
	char *out = captured(lines);
	ck_assert_str_eq(out,
	    "<3>pigeond: config: bad\n"
	    "<4>pigeond: database: down\n"
	    "<6>pigeond: outbox 7: to +212661***567 and +33612***678, ref 1234567890\n"
	    "<7>pigeond: from +212661234567\n");
	free(out);
}
END_TEST

START_TEST(test_levels_and_numbers)
{
	setenv("PIGEON_LOG_JOURNAL", "1", 1);
	setenv("PIGEON_LOG_LEVEL", "warning", 1);
	setenv("PIGEON_LOG_NUMBERS", "1", 1);
	log_init("pigeon-modem", 0, 0);
	char *out = captured(lines);
	ck_assert_str_eq(out, "<3>pigeon-modem: config: bad\n<4>pigeon-modem: database: down\n");
	free(out);

	ck_assert_int_eq(log_set_level("info"), 0);
	ck_assert_int_eq(log_set_level("loud"), -1);
	out = captured(lines);
	ck_assert_ptr_nonnull(strstr(out, "<6>pigeon-modem: outbox 7: to +212661234567 "));
	ck_assert_ptr_null(strstr(out, "<7>"));
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	tcase_add_test(tc, test_journal_prefixes_and_masks);
	tcase_add_test(tc, test_levels_and_numbers);
	tcase_add_test(tc, test_one_line_each);
	suite_add_tcase(s, tc);
	return unit_run_mode(s, CK_NOFORK);
}
