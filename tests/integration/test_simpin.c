/*
 * Issue 15, item 2: SIMs that ask for their PIN. The right PIN brings the
 * modem online; a wrong one is entered once and never again (not by a
 * restarted worker, not by a restarted pigeond) until the configured PIN
 * changes, the modem showing offline with the reason; a blocked SIM (PUK)
 * says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include <check.h>

#include "harness.h"

/* The simulator's count of wrong PINs on modem i. */
static int
sim_pin_wrong(struct h_gateway *g, int i)
{
	char *out = NULL, *p;
	int n = -1;
	char *const argv[] = { (char *)h_bin("pigeon-modemsim"), "status", g->sim_dir[i], NULL };

	if (h_exec(&out, argv) == 0 && out && (p = strstr(out, "\"pin_wrong\"")) != NULL)
		n = atoi(p + strlen("\"pin_wrong\"") + 1 + (p[12] == ' '));
	free(out);
	return n;
}

START_TEST(test_sim_pin)
{
	struct h_gateway g;

	memset(&g, 0, sizeof(g));
	g.start_no_wait = 1;
	/* Disabled until their SIMs are locked, so no worker connects before. */
	g.modem_extra[0] = "pin = 1234\nenabled = no\n";
	g.modem_extra[1] = "pin = 4321\nenabled = no\n";
	g.modem_extra[2] = "pin = 1234\nenabled = no\n";
	h_gateway_start(&g, "simpin", 3);
	/* Its signals are watched once it says it starts: a SIGHUP before
	 * that would end it. */
	char *log = NULL;
	ck_assert_int_ge(asprintf(&log, "%s/pigeond.log", g.dir), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "starting pigeond", 60000), 0);
	free(log);
	ck_assert_int_eq(h_sim_fault(&g, 0, "pin 1234"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 1, "pin 1234"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 2, "puk 1"), 0);
	g.modem_extra[0] = "pin = 1234\n";
	g.modem_extra[1] = "pin = 4321\n";
	g.modem_extra[2] = "pin = 1234\n";
	h_gateway_reload(&g);

	/* The right PIN: online, entered once, and the SIM sends. */
	h_wait_modem(&g, "sim0", "online", 60000);
	ck_assert_int_eq(sim_pin_wrong(&g, 0), 0);
	long id = h_outbox_add(&g, "+212600000777", "after the PIN", 1);
	h_wait_outbox(&g, id, "sent", 60000);
	ck_assert_int_eq(h_received_matching(&g, "+212600000777", "after the PIN"), 1);

	/* A wrong PIN: offline with the reason, entered once. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) > 0 FROM modem_history "
	    "WHERE modem = $1 AND state = 'offline' AND reason LIKE '%the SIM refused the PIN%'",
	    "sim1", "t", 60000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT pin_refused <> '' FROM modems WHERE name = $1",
	    "sim1", "t", 30000), 0);
	/* Its worker is restarted, and the PIN is not given again. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT restarts >= 2 FROM modems WHERE name = $1",
	    "sim1", "t", 90000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state = 'offline' AND state_reason LIKE "
	    "'%refused the configured PIN; it is not entered again%' FROM modems "
	    "WHERE name = $1", "sim1", "t", 30000), 0);
	ck_assert_int_eq(sim_pin_wrong(&g, 1), 1);

	/* A blocked SIM says so. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT state = 'offline' AND state_reason LIKE "
	    "'%SIM blocked (PUK required)%' FROM modems WHERE name = $1", "sim2", "t",
	    60000), 0);

	/* A restarted pigeond does not try the refused PIN either: two more
	 * starts of the worker later, still one wrong PIN. */
	long n0 = h_db_long(g.db, "SELECT count(*) FROM modem_history WHERE modem = 'sim1'",
	    0, NULL);
	h_stop(g.pigeond, SIGTERM, H_STOP_MS);
	h_pigeond_start(&g);
	char more[32];
	snprintf(more, sizeof(more), "%ld", n0 + 4);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) >= $1::bigint FROM modem_history "
	    "WHERE modem = 'sim1'", more, "t", 90000), 0);
	ck_assert_int_eq(sim_pin_wrong(&g, 1), 1);

	/* The PIN corrected: entered, online. */
	g.modem_extra[1] = "pin = 1234\n";
	g.modem_extra[2] = "pin = 1234\nenabled = no\n";
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim1", "online", 60000);
	ck_assert_int_eq(sim_pin_wrong(&g, 1), 1);
	h_gateway_stop(&g);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("simpin");
	TCase *tc = tcase_create("pin");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_sim_pin);
	suite_add_tcase(s, tc);
	return h_main(s);
}
