/*
 * Delivery reports, issue 4: a report moves a message to delivered or
 * undelivered; a 3-part message is delivered only when its three parts
 * are; an unmatched report is stored and counted; reports are deleted from
 * the modem once stored. Also: a new SMS is read at once on the modem's
 * notification (+CMTI), not at the next poll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS	60000
#define CAROL	"+212661000077"

static struct h_gateway g;

static void
faults(const char *nv)
{
	for (int i = 0; i < g.nmodems; i++)
		ck_assert_int_eq(h_sim_fault(&g, i, nv), 0);
}

/* The SMSC's report for reference mr of a part sent to `to` by modem i. */
static void
inject_report(int modem, const char *to, const char *mr, int status)
{
	char st[8];
	snprintf(st, sizeof(st), "%d", status);
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "report", g.sim_dir[modem],
	    (char *)to, (char *)mr, st, NULL };
	ck_assert_int_eq(h_exec(NULL, argv), 0);
}

START_TEST(test_delivery_reports)
{
	long id;
	char *v;

	memset(&g, 0, sizeof(g));
	g.modem_extra[0] = "report = yes\n";
	g.modem_extra[1] = "report = yes\n";
	/* sim1 polls once a minute: what it reads sooner came by +CMTI. */
	g.modem_poll_ms[1] = 60000;
	h_gateway_start(&g, "bank_reports", 2);

	/* Delivered: the simulator's SMSC reports status 0 at once. */
	id = h_outbox_add(&g, "+212661000030", "did it arrive?", 1);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	v = h_outbox_col(&g, id, "(delivered_at >= sent_at)");
	ck_assert_str_eq(v, "true");
	free(v);

	/* Undelivered: status 70 (the SMSC gave up). */
	faults("report 70");
	id = h_outbox_add(&g, "+212661000031", "this one will not", 1);
	h_wait_outbox(&g, id, "undelivered", WAIT_MS);
	v = h_outbox_col(&g, id, "last_error");
	ck_assert_msg(strstr(v, "status 70") != NULL, "%s", v);
	free(v);

	/* A report after a delay: sent first, delivered later. */
	faults("report 0");
	faults("report-delay 2500");
	id = h_outbox_add(&g, "+212661000032", "slow report", 1);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	faults("report-delay 0");

	/* Three parts: delivered only when all three are. */
	faults("report -1");
	char longtext[460];
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	memcpy(longtext, "three parts ", 12);
	id = h_outbox_add(&g, "+212661000033", longtext, 1);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	char *parts = h_outbox_col(&g, id, "parts");
	ck_assert_str_eq(parts, "3");
	free(parts);
	char *modem = h_outbox_col(&g, id, "modem");
	int mi = strcmp(modem, "sim0") == 0 ? 0 : 1;
	free(modem);
	char *refs[3];
	for (int i = 0; i < 3; i++) {
		char col[32];
		snprintf(col, sizeof(col), "refs[%d]", i + 1);
		refs[i] = h_outbox_col(&g, id, col);
	}
	inject_report(mi, "+212661000033", refs[0], 0);
	inject_report(mi, "+212661000033", refs[1], 0);
	char sid[32];
	snprintf(sid, sizeof(sid), "%ld", id);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports WHERE "
	    "outbox_id = $1::bigint", sid, "2", WAIT_MS), 0);
	v = h_outbox_col(&g, id, "state");
	ck_assert_str_eq(v, "sent");
	free(v);
	inject_report(mi, "+212661000033", refs[2], 0);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	for (int i = 0; i < 3; i++)
		free(refs[i]);

	/* A report that matches nothing is stored and counted, and deleted
	 * from the modem like any other once stored. */
	inject_report(0, "+212600000999", "200", 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT reports_unmatched FROM modems WHERE name = $1",
	    "sim0", "1", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM status_reports WHERE "
	    "outbox_id IS NULL AND recipient = '+212600000999' AND ref = 200", 0, NULL), 1);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(h_wait_stored(&g, i, 0, WAIT_MS), 0);

	/* +CMTI: sim1 lists its SMS once a minute, yet JOIN is answered now. */
	faults("report 0");
	ck_assert_int_eq(h_text(&g, 1, CAROL, "JOIN carol"), 0);
	/* Well before the next listing, a minute away. */
	ck_assert_int_eq(h_wait_received(&g, CAROL, "@carol", 30000), 0);
	h_gateway_stop(&g);
}
END_TEST

static int
outcome_waits(void *unused)
{
	(void)unused;
	return h_db_long(g.db, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "datname = current_database() AND wait_event_type = 'Lock' AND "
	    "query LIKE '%pigeon_outbox_outcomes%'", 0, NULL) >= 1;
}

/*
 * A report stored before its send's outcome is committed: the outcome
 * waits behind another modem's batch (held here by a lock on that one's
 * row) while the report, stored at once on the main connection, finds
 * no part yet. It matches when the outcome comes (it stayed unmatched,
 * the message sent for good).
 */
START_TEST(test_report_before_outcome)
{
	memset(&g, 0, sizeof(g));
	g.modem_extra[0] = "report = yes\nroutes = +21266100006\n";
	g.modem_extra[1] = "routes = +21266100005\n";
	h_gateway_start(&g, "bank_report_race", 2);
	long y = h_outbox_add(&g, "+212661000050", "held outcome", 1);
	h_wait_outbox(&g, y, "sending", WAIT_MS);
	PGconn *c = h_db_connect(g.conninfo);
	char ys[32];
	snprintf(ys, sizeof(ys), "%ld", y);
	const char *params[] = { ys };
	h_db_exec(c, "BEGIN");
	free(h_db_value(c, "SELECT id FROM outbox WHERE id = $1::bigint FOR UPDATE", 1,
	    params));
	/* y's outcome batch waits for the lock, holding the outcomes' line. */
	ck_assert_int_eq(h_wait_for(outcome_waits, NULL, WAIT_MS), 0);
	long x = h_outbox_add(&g, "+212661000060", "report races me", 1);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports WHERE "
	    "recipient = '+212661000060' AND outbox_id IS NULL", NULL, "1", WAIT_MS), 0);
	h_db_exec(c, "COMMIT");
	PQfinish(c);
	h_wait_outbox(&g, y, "sent", WAIT_MS);
	h_wait_outbox(&g, x, "delivered", WAIT_MS);
	ck_assert_int_eq(h_db_long(g.db, "SELECT reports_unmatched FROM modems WHERE "
	    "name = 'sim0'", 0, NULL), 0);
	h_gateway_stop(&g);
}
END_TEST

/* A failed check leaves the test body early: stop what it started. */
static void
teardown(void)
{
	if (g.dir != NULL)
		h_gateway_stop(&g);
}

static Suite *
suite(void)
{
	Suite *s = suite_create("bank_reports");
	TCase *tc = tcase_create("reports");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_delivery_reports);
	tcase_add_test(tc, test_report_before_outcome);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
