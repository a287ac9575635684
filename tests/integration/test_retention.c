/*
 * Issue 15, item 8: [retention]. Rows older than their kind's days are
 * purged by pigeond's periodic job; what the retention keeps stays: the
 * rows of the last days, posts and the SMS they came from, a follow that
 * is still on, messages not yet finished. /metrics counts by state from
 * counters and shows what was purged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"retention-test-token-0123456789abcdef"

/* The result of a statement the test needs to succeed. */
static void
ok(PGconn *db, PGresult *res)
{
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
	PQclear(res);
}

/* The value of one /metrics line (name with its labels), or -1. */
static long
metric(struct h_gateway *g, const char *line)
{
	char *body = NULL, *p;
	long v = -1;

	if (h_http(g->http_port, "GET", "/metrics", TOKEN, NULL, &body) != 200) {
		free(body);
		return -1;
	}
	for (p = body; (p = strstr(p, line)) != NULL; p++)
		if ((p == body || p[-1] == '\n') && p[strlen(line)] == ' ') {
			v = strtol(p + strlen(line) + 1, NULL, 10);
			break;
		}
	free(body);
	return v;
}

START_TEST(test_purge_keeps_what_retention_keeps)
{
	struct h_gateway g;

	memset(&g, 0, sizeof(g));
	g.extra_config = "\n[retention]\ninterval_seconds = 1\nbatch = 10\n"
	    "inbox_days = 30\noutbox_days = 30\nstatus_reports_days = 30\n"
	    "webhooks_days = 30\nfollow_events_days = 30\nmodem_history_days = 30\n";
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "retention", 1);

	/*
	 * Old rows (40 days) and their recent twins (1 day), in one
	 * transaction, ids growing with time as they do: 25 old outbox rows
	 * so that the purge takes three batches of 10. The gateway's own
	 * modem history is made old too.
	 */
	ok(g.db, PQexec(g.db, "BEGIN"));
	ok(g.db, PQexec(g.db,
	    "INSERT INTO accounts (id, phone, handle, lang) VALUES"
	    " (9001, '+212600000901', 'alice', 'fr'), (9002, '+212600000902', 'bob', 'fr'),"
	    " (9003, '+212600000903', 'carol', 'fr');"
	    "INSERT INTO inbox_messages (id, modem, sender, sender_kind, text, parts, state,"
	    " received_at) VALUES"
	    " (9101, 'sim0', '+212600000901', 'e164', 'old, replied', 1, 'done', now() - interval '40 days'),"
	    " (9102, 'sim0', '+212600000901', 'e164', 'old, a post', 1, 'done', now() - interval '40 days'),"
	    " (9103, 'sim0', '+212600000901', 'e164', 'recent', 1, 'done', now() - interval '1 day'),"
	    " (9100, 'sim0', '+212600000901', 'e164', 'old, ignored', 1, 'ignored', now() - interval '40 days');"
	    "INSERT INTO inbox_parts (dedupe, modem, sender, sender_norm, sender_kind, coding,"
	    " text, received_at) VALUES"
	    " ('ret-old', 'sim0', 'x', 'x', 'alpha', 'gsm', 'old part', now() - interval '40 days'),"
	    " ('ret-new', 'sim0', 'x', 'x', 'alpha', 'gsm', 'new part', now() - interval '1 day');"
	    "INSERT INTO posts (id, account_id, text, inbox_id, created_at) VALUES"
	    " (9201, 9001, 'old, a post', 9102, now() - interval '40 days');"
	    "INSERT INTO outbox (id, recipient, text, state, reply_to, created_at,"
	    " next_attempt_at, sent_at, delivered_at, modem) VALUES"
	    " (9301, '+212600000901', 'old reply', 'delivered', 9101, now() - interval '40 days',"
	    "  now() - interval '40 days', now() - interval '40 days', now() - interval '40 days', 'sim0'),"
	    " (9302, '+212600000902', 'recent', 'delivered', NULL, now() - interval '1 day',"
	    "  now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 'sim0');"
	    "INSERT INTO outbox (id, recipient, text, state, created_at, next_attempt_at)"
	    " SELECT 9270 + i, '+212600000903', 'old ' || i, 'failed', now() - interval '40 days',"
	    "  now() - interval '40 days' FROM generate_series(1, 24) i;"
	    /* A campaign queued 40 days ago for 20 days ahead: old, not
	     * finished, more than a batch of them before the old rows that
	     * are. The purge stopped at them for good (each run read the
	     * same batch); it goes on past them. */
	    "INSERT INTO outbox (id, recipient, text, state, created_at, next_attempt_at)"
	    " SELECT 9240 + i, '+212600000903', 'campaign ' || i, 'queued',"
	    "  now() - interval '40 days', now() + interval '20 days'"
	    "  FROM generate_series(0, 11) i;"
	    /* Queued 40 days ago for a day ago (send_at), sent then: as
	     * young as its send, whatever its creation. */
	    "INSERT INTO outbox (id, recipient, text, state, created_at, next_attempt_at,"
	    " sent_at, modem) VALUES (9260, '+212600000902', 'scheduled long ago', 'sent',"
	    " now() - interval '40 days', now() - interval '1 day', now() - interval '1 day',"
	    " 'sim0');"
	    "INSERT INTO outbox_history (outbox_id, at, state) VALUES"
	    " (9301, now() - interval '40 days', 'sent'), (9302, now() - interval '1 day', 'sent');"
	    "INSERT INTO outbox_parts (outbox_id, seq, modem, ref, recipient, sent_at) VALUES"
	    " (9301, 1, 'sim0', 7, '+212600000901', now() - interval '40 days');"
	    "INSERT INTO status_reports (dedupe, modem, recipient, ref, status, received_at,"
	    " outbox_id) VALUES"
	    " ('ret-r1', 'sim0', '+212600000901', 7, 0, now() - interval '40 days', 9301),"
	    " ('ret-r2', 'sim0', '+212600000902', 8, 0, now() - interval '1 day', 9302);"
	    "INSERT INTO webhook_targets (url, active) VALUES ('http://127.0.0.1:9/x', false);"
	    "INSERT INTO webhook_deliveries (url, post_id, state, created_at) VALUES"
	    " ('http://127.0.0.1:9/x', 9201, 'done', now() - interval '40 days');"
	    "UPDATE modem_history SET at = now() - interval '40 days';"
	    "INSERT INTO modem_history (modem, at, state) VALUES"
	    " ('ghost', now() - interval '40 days', 'offline'), ('ghost', now(), 'online');"
	    /* alice followed bob and left; carol follows bob: all 40 days ago. */
	    "INSERT INTO follows (followee, follower) VALUES (9002, 9001), (9002, 9003);"
	    "DELETE FROM follows WHERE followee = 9002 AND follower = 9001;"
	    "UPDATE follow_events SET at = now() - interval '40 days' WHERE followee = 9002;"
	    /* alice's scheduled posts: posted and cancelled 40 days ago (go),
	     * made 40 days ago and posted a day ago (stays), still waiting
	     * (stays). */
	    "INSERT INTO scheduled_posts (id, account_id, text, send_at, state, post_id,"
	    " created_at, done_at) VALUES"
	    " (9501, 9001, 'sale', now() - interval '40 days', 'posted', 9201,"
	    "  now() - interval '41 days', now() - interval '40 days'),"
	    " (9502, 9001, 'called off', now() - interval '39 days', 'cancelled', NULL,"
	    "  now() - interval '41 days', now() - interval '40 days'),"
	    " (9503, 9001, 'late sale', now() - interval '1 day', 'posted', NULL,"
	    "  now() - interval '40 days', now() - interval '1 day'),"
	    " (9504, 9001, 'next sale', now() + interval '1 day', 'scheduled', NULL,"
	    "  now() - interval '1 day', NULL);"));
	ok(g.db, PQexec(g.db, "COMMIT"));

	/* The old rows go, in batches, each kind by its own days. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE id > 9270",
	    NULL, "1", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE id >= 9100",
	    NULL, "2", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follow_events WHERE followee = 9002",
	    NULL, "1", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history WHERE modem = 'ghost'",
	    NULL, "1", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM webhook_deliveries WHERE post_id = 9201",
	    NULL, "0", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports WHERE dedupe LIKE 'ret-%'",
	    NULL, "1", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE dedupe LIKE 'ret-%'",
	    NULL, "1", 30000), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT string_agg(id::text, ' ' ORDER BY id) FROM "
	    "scheduled_posts WHERE id >= 9501", NULL, "9503 9504", 30000), 0);

	/* What the retention keeps. */
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox WHERE id = 9302", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox WHERE id = 9260", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox WHERE id BETWEEN 9240 AND 9251", 0, NULL), 12);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox_history WHERE outbox_id = 9302", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox_history WHERE outbox_id = 9301", 0, NULL), 0);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox_parts WHERE outbox_id = 9301", 0, NULL), 0);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM posts WHERE id = 9201", 0, NULL), 1);
	ck_assert_int_eq(metric(&g, "pigeon_retention_purged_total{kind=\"scheduled_posts\"}"), 2);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM inbox_messages WHERE id IN (9102, 9103)", 0, NULL), 2);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM status_reports WHERE dedupe = 'ret-r2'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM inbox_parts WHERE dedupe = 'ret-new'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM follow_events WHERE followee = 9002"
	    " AND follower = 9003 AND delta = 1", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM modem_history WHERE modem = 'ghost'"
	    " AND state = 'online'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM accounts WHERE id BETWEEN 9001 AND 9003", 0, NULL), 3);

	/* /metrics: the purge counted per kind, the counts by state as the
	 * tables say, without reading them whole. */
	ck_assert_int_eq(metric(&g, "pigeon_retention_purged_total{kind=\"outbox\"}"), 25);
	ck_assert_int_eq(metric(&g, "pigeon_retention_purged_total{kind=\"inbox\"}"), 2);
	ck_assert_int_eq(metric(&g, "pigeon_retention_purged_total{kind=\"follow_events\"}"), 2);
	ck_assert_int_eq(metric(&g, "pigeon_sms_out{state=\"delivered\"}"),
	    h_db_long(g.db, "SELECT count(*) FROM outbox WHERE state = 'delivered'", 0, NULL));
	ck_assert_int_eq(metric(&g, "pigeon_sms_out{state=\"failed\"}"),
	    h_db_long(g.db, "SELECT count(*) FROM outbox WHERE state = 'failed'", 0, NULL));
	ck_assert_int_eq(metric(&g, "pigeon_sms_in{state=\"done\"}"),
	    h_db_long(g.db, "SELECT count(*) FROM inbox_messages WHERE state = 'done'", 0, NULL));
	/* Two delivered messages were counted once each and stay counted. */
	ck_assert_int_eq(metric(&g, "pigeon_delivery_report_latency_seconds_count"), 2);

	h_gateway_stop(&g);
}
END_TEST

/* [retention] at SIGHUP: modem history kept for good, then 30 days. */
START_TEST(test_retention_reload)
{
	struct h_gateway g;

	memset(&g, 0, sizeof(g));
	g.extra_config = "\n[retention]\ninterval_seconds = 1\nmodem_history_days = 0\n";
	h_gateway_start(&g, "retention_reload", 1);
	/* Old, the gateway's own rows too (ids grow with time: the walk
	 * stops at the first young row). */
	ok(g.db, PQexec(g.db, "UPDATE modem_history SET at = now() - interval '41 days'"));
	ok(g.db, PQexec(g.db, "INSERT INTO modem_history (modem, at, state) VALUES "
	    "('ghost', now() - interval '40 days', 'offline')"));
	/* (Kept for good so far: without the reload it is never purged.) */
	g.extra_config = "\n[retention]\ninterval_seconds = 1\nmodem_history_days = 30\n";
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history WHERE "
	    "modem = 'ghost'", NULL, "0", 30000), 0);
	h_gateway_stop(&g);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("purge");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_purge_keeps_what_retention_keeps);
	tcase_add_test(tc, test_retention_reload);
	suite_add_tcase(s, tc);
	return h_main(s);
}
