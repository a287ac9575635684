/* ratelimit.c and the modem bank keys of config.c: `rate` and `routes`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "unit.h"

#include "config.h"
#include "pigeond.h"

struct pigeond env;	/* pigeond.h declares it; ratelimit.c does not use it */

static int
load(const char *modem_keys, struct pigeon_conf *conf, char *err, size_t errlen)
{
	char path[64] = "/tmp/pigeon-test-rate.XXXXXX", text[1024];
	int fd = mkstemp(path);

	ck_assert_int_ne(fd, -1);
	snprintf(text, sizeof(text), "[database]\nconninfo = dbname=x\n\n"
	    "[modem a]\ndevice = /dev/null\n%s\n", modem_keys);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = config_load(path, conf, err, errlen);
	unlink(path);
	return rc;
}

START_TEST(test_parse)
{
	struct pigeon_conf c;
	char err[512] = "";

	ck_assert_msg(load("routes = +21266 +21267\nrate = 6/min 300/hour 2000/day\n"
	    "report = yes\n", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.modems[0].nroutes, 2);
	ck_assert_str_eq(c.modems[0].route[1], "+21267");
	ck_assert_int_eq(c.modems[0].rate_min, 6);
	ck_assert_int_eq(c.modems[0].rate_hour, 300);
	ck_assert_int_eq(c.modems[0].rate_day, 2000);
	ck_assert_int_eq(c.modems[0].report, 1);
	ck_assert_int_eq(c.max_attempts, 5);
	struct modem_conf *copy = config_modem_copy(&c.modems[0]);
	ck_assert_ptr_nonnull(copy);
	ck_assert_str_eq(copy->route[0], "+21266");
	ck_assert_int_eq(config_modem_needs_restart(copy, &c.modems[0]), 0);
	config_modem_free(copy);
	config_free(&c);

	ck_assert_int_eq(load("rate = 6/week\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[modem a] rate: '6/week'") != NULL, "%s", err);
	ck_assert_int_eq(load("rate = 6/min 7/min\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "given twice") != NULL, "%s", err);
	ck_assert_int_eq(load("routes = 21266\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[modem a] routes: '21266'") != NULL, "%s", err);
}
END_TEST

START_TEST(test_windows)
{
	struct modem_conf c = { .rate_min = 3, .rate_hour = 5 };
	struct ratelimit r = { 0 };
	int64_t t = 1000000;

	ck_assert_int_eq(ratelimit_init(&r, &c), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert(ratelimit_allows(&r, &c, t + i * 1000));
		ratelimit_record(&r, t + i * 1000);
	}
	/* The fourth waits until the first is a minute old. */
	ck_assert(!ratelimit_allows(&r, &c, t + 59999));
	ck_assert(ratelimit_allows(&r, &c, t + 60000));
	ratelimit_record(&r, t + 60000);
	ratelimit_record(&r, t + 61000);
	/* Five in the hour: the hour is full until the first is an hour old. */
	ck_assert(!ratelimit_allows(&r, &c, t + 3000000));
	ck_assert(ratelimit_allows(&r, &c, t + 3600000));
	/* A smaller limit on reload keeps the most recent sends. */
	c.rate_hour = 0;
	ck_assert_int_eq(ratelimit_init(&r, &c), 0);
	ck_assert(!ratelimit_allows(&r, &c, t + 61500));
	ck_assert(ratelimit_allows(&r, &c, t + 120000));
	ratelimit_free(&r);
	/* No limit: always. */
	struct modem_conf none = { 0 };
	ck_assert_int_eq(ratelimit_init(&r, &none), 0);
	ratelimit_record(&r, t);
	ck_assert(ratelimit_allows(&r, &none, t));
	ratelimit_free(&r);
}
END_TEST

/* The largest limit the file takes is one the ring holds whole: the
 * CONFIG_RATE_MAX-th send of the day fills it, not one before. */
START_TEST(test_largest_limit)
{
	struct modem_conf c = { .rate_day = CONFIG_RATE_MAX };
	struct ratelimit r = { 0 };
	int64_t t = 1000000;

	ck_assert_int_eq(ratelimit_init(&r, &c), 0);
	ratelimit_record_parts(&r, t, CONFIG_RATE_MAX - 1);
	ck_assert(ratelimit_allows(&r, &c, t + 1000));
	ratelimit_record(&r, t + 1000);
	ck_assert(!ratelimit_allows(&r, &c, t + 2000));
	ck_assert(ratelimit_allows(&r, &c, t + 86400000));
	ratelimit_free(&r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_windows);
	tcase_add_test(tc, test_largest_limit);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
