/*
 * Issue 15, item 7: a SIM's rate limit survives a restart of pigeond and
 * counts parts. With `rate = 3/hour`, a 2-part and a 1-part message use
 * the hour; after a restart the next message waits, and goes once the
 * limit is raised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"rate-restart-token-0123456789abcdef0123"

/* 200 GSM-7 characters: two parts. */
#define LONG_TEXT \
	"This operator message is long enough to need two parts of an SMS, " \
	"because it is well over one hundred and sixty characters of the GSM " \
	"alphabet, and so the carrier counts it twice against the SIM limit."

START_TEST(test_limits_survive_restart)
{
	struct h_gateway g;
	long a, b, c;
	char *v;

	memset(&g, 0, sizeof(g));
	g.modem_extra[0] = "rate = 3/hour\n";
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "rate_restart", 1);

	a = h_outbox_add(&g, "+212600000801", LONG_TEXT, 1);
	h_wait_outbox(&g, a, "sent", 60000);
	v = h_outbox_col(&g, a, "parts");
	ck_assert_str_eq(v, "2");
	free(v);
	b = h_outbox_add(&g, "+212600000802", "one part", 1);
	h_wait_outbox(&g, b, "sent", 60000);
	ck_assert_int_eq(h_wait_db(&g, "SELECT sum(parts) FROM link_hour_counts WHERE link = 'sim0'",
	    NULL, "3", 10000), 0);

	/* A restart: the hour is still used up. Its limiter holds the
	 * database's counts before c is queued (a check while it was still
	 * reading them, which takes no send either, would prove nothing). */
	h_gateway_restart(&g, NULL);
	char *log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_msg(h_wait_file_contains(log, "modem sim0: rate limits resume from the "
	    "database's counts", 30000) == 0, "sim0's rate counts were not read back");
	free(log);
	c = h_outbox_add(&g, "+212600000803", "must wait", 1);
	/* The scheduler caught up twice since (the second begun after c
	 * was queued): it still waits. */
	h_wait_scheduler_caught_up(&g, TOKEN, 2, 60000);
	v = h_outbox_col(&g, c, "state");
	ck_assert_str_eq(v, "queued");
	free(v);
	ck_assert_int_eq(h_received_count(&g, "+212600000803"), 0);

	/* The limit raised by a reload: it goes. */
	g.modem_extra[0] = "rate = 4/hour\n";
	h_gateway_reload(&g);
	h_wait_outbox(&g, c, "sent", 60000);
	h_gateway_stop(&g);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rate_restart");
	TCase *tc = tcase_create("restart");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_limits_survive_restart);
	suite_add_tcase(s, tc);
	return h_main(s);
}
