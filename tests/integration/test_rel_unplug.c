/*
 * Issue 7: a modem unplugged mid-send (pigeon-modemsim's unplug fault while
 * a slow send is in progress, real pigeon-modem and libgammu). The
 * message's outcome is settled: sent again on the other modem or, once the
 * modem is back, confirmed; never lost, and at most one duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define CAROL	"+212661000003"
#define WAIT_MS	90000

static struct h_gateway g;
static long msg_id;

static int
has_modem(void *p)
{
	char *v = h_outbox_col(&g, msg_id, "modem");
	int ok = v[0] != '\0';
	free(v);
	return ok;
}

START_TEST(test_unplug_mid_send)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = "retry_seconds = 1\nwatchdog_seconds = 3\n";
	h_gateway_start(&g, "rel_unplug", 2);
	/* Both modems are slow: whichever takes the send, it is in it long
	 * enough for the test to pull it out. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-delay 4000"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 1, "send-delay 4000"), 0);
	long id = h_outbox_add(&g, CAROL, "unplugged mid-send", 1);
	h_wait_outbox(&g, id, "sending", WAIT_MS);
	msg_id = id;
	ck_assert_int_eq(h_wait_for(has_modem, NULL, 10000), 0);
	char *via = h_outbox_col(&g, id, "modem");
	int m = strcmp(via, "sim0") == 0 ? 0 : 1;
	ck_assert_int_eq(h_sim_fault(&g, 1 - m, "send-delay 0"), 0);
	ck_assert_int_eq(h_sim_fault(&g, m, "unplug 1"), 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	ck_assert_int_eq(h_wait_received(&g, CAROL, "unplugged mid-send", WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, m, "unplug 0"), 0);
	ck_assert_int_eq(h_sim_fault(&g, m, "send-delay 0"), 0);
	h_wait_modem(&g, via, "online", WAIT_MS);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	int got = h_received_count(&g, CAROL);
	char *now = h_outbox_col(&g, id, "modem");
	fprintf(stderr, "REL|modem unplugged mid-send|unplug on %s|1|1|0|%d|-\n", via, got - 1);
	ck_assert_int_ge(got, 1);
	ck_assert_int_le(got, 2);
	free(now);
	free(via);
	h_gateway_stop(&g);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_unplug");
	TCase *tc = tcase_create("unplug");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_unplug_mid_send);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
