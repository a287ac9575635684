/*
 * Issue 15: the [retention] section, the SIM PIN keys of a modem section,
 * and rate-limit windows rebuilt from the database's hourly counts
 * (ratelimit_restore), counted in parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "unit.h"

#include "config.h"
#include "pigeond.h"

struct pigeond env;	/* pigeond.h declares it; ratelimit.c does not use it */

static int
load(const char *text, struct pigeon_conf *conf, char *err, size_t errlen)
{
	char path[64] = "/tmp/pigeon-test-i15.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, 0600);
	close(fd);
	int rc = config_load(path, conf, err, errlen);
	unlink(path);
	return rc;
}

#define BASE "[database]\nconninfo = dbname=x\n\n"

START_TEST(test_retention_keys)
{
	struct pigeon_conf c;
	char err[512] = "";

	ck_assert_msg(load(BASE, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.retention.inbox_days, 90);
	ck_assert_int_eq(c.retention.outbox_days, 90);
	ck_assert_int_eq(c.retention.follow_events_days, 400);
	ck_assert_int_eq(c.retention.batch, 1000);
	config_free(&c);

	ck_assert_msg(load(BASE "[retention]\noutbox_days = 0\nwebhooks_days = 7\n", &c, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.retention.outbox_days, 0);
	ck_assert_int_eq(c.retention.webhooks_days, 7);
	ck_assert_int_eq(c.retention.status_reports_days, 30);
	config_free(&c);

	ck_assert_int_eq(load(BASE "[retention]\ninbox_days = 1\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":5: [retention] inbox_days: 1 day is too short") != NULL,
	    "%s", err);
	ck_assert_int_eq(load(BASE "[retention]\ninbox_days = soon\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[retention] inbox_days: 'soon' is not a number from 0 "
	    "to 36500") != NULL, "%s", err);
	ck_assert_int_eq(load(BASE "[retention]\nposts_days = 9\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[retention] posts_days: unknown key") != NULL, "%s", err);
	ck_assert_int_eq(load(BASE "[retention]\n[retention]\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "section given twice") != NULL, "%s", err);
}
END_TEST

START_TEST(test_pin_keys)
{
	struct pigeon_conf c;
	char err[512] = "", text[512], pinfile[64] = "/tmp/pigeon-test-pin.XXXXXX";
	int fd;

	ck_assert_msg(load(BASE "[modem a]\ndevice = /dev/null\npin = 0042\n", &c, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.modems[0].pin, "0042");
	struct modem_conf *copy = config_modem_copy(&c.modems[0]);
	ck_assert_str_eq(copy->pin, "0042");
	free(copy->pin);
	copy->pin = strdup("1234");
	ck_assert_int_eq(config_modem_needs_restart(copy, &c.modems[0]), 1);
	config_modem_free(copy);
	config_free(&c);

	ck_assert_int_eq(load(BASE "[modem a]\ndevice = /dev/null\npin = 12\n", &c, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":6: [modem a] pin: a SIM PIN is 4 to 8 digits") != NULL,
	    "%s", err);

	fd = mkstemp(pinfile);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "98765\n", 6), 6);
	fchmod(fd, 0600);
	close(fd);
	snprintf(text, sizeof(text), BASE "[modem a]\ndevice = /dev/null\npin_file = %s\n",
	    pinfile);
	ck_assert_msg(load(text, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.modems[0].pin, "98765");
	config_free(&c);
	chmod(pinfile, 0644);
	ck_assert_int_eq(load(text, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "others can read or change it") != NULL, "%s", err);
	snprintf(text, sizeof(text), BASE "[modem a]\ndevice = /dev/null\npin = 1234\n"
	    "pin_file = %s\n", pinfile);
	ck_assert_int_eq(load(text, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "give pin or pin_file, not both") != NULL, "%s", err);
	unlink(pinfile);
	snprintf(text, sizeof(text), BASE "[modem a]\ndevice = /dev/null\npin_file = %s\n",
	    pinfile);
	ck_assert_int_eq(load(text, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_restore)
{
	struct modem_conf c = { .rate_min = 6, .rate_hour = 10, .rate_day = 20 };
	struct ratelimit r = { 0 };
	int64_t t = 100000000;

	ck_assert_int_eq(ratelimit_init(&r, &c), 0);
	/* A 10-part message fills the hour. */
	ratelimit_record_parts(&r, t, 10);
	ck_assert(!ratelimit_allows(&r, &c, t + 3599999));
	ck_assert(ratelimit_allows(&r, &c, t + 3600000));
	ratelimit_free(&r);

	/* After a restart: 8 parts 2 h ago, 9 parts 30 min ago (last send). */
	ck_assert_int_eq(ratelimit_init(&r, &c), 0);
	int64_t ago[] = { 7200000, 1800000 }, parts[] = { 8, 9 };
	ck_assert_int_eq(ratelimit_restore(&r, t, ago, parts, 2), 1);
	ck_assert(ratelimit_allows(&r, &c, t));		/* 9 of 10 this hour */
	ratelimit_record_parts(&r, t, 1);
	ck_assert(!ratelimit_allows(&r, &c, t + 1000));	/* 10 of 10 */
	/* The hour frees at 30 min; the day holds 18 until 22 h from now. */
	ck_assert(ratelimit_allows(&r, &c, t + 1800000));
	ratelimit_record_parts(&r, t + 1800000, 2);
	ck_assert(!ratelimit_allows(&r, &c, t + 1800001));	/* 20 of 20 a day */
	/* A ring that knows more than the database keeps what it knows. */
	int64_t ago1[] = { 0 }, parts1[] = { 3 };
	ck_assert_int_eq(ratelimit_restore(&r, t + 1800001, ago1, parts1, 1), 0);
	ratelimit_free(&r);

	/* More than the ring holds: only the most recent count. */
	ck_assert_int_eq(ratelimit_init(&r, &c), 0);
	int64_t ago2[] = { 80000000, 60000 }, parts2[] = { 50, 5 };
	ck_assert_int_eq(ratelimit_restore(&r, t, ago2, parts2, 2), 1);
	ck_assert(!ratelimit_allows(&r, &c, t));		/* the day: 20 of 20 */
	ck_assert(ratelimit_allows(&r, &c, t + 86400000 - 80000000 + 1));
	ratelimit_free(&r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("issue15");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, test_retention_keys);
	tcase_add_test(tc, test_pin_keys);
	tcase_add_test(tc, test_restore);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
