/*
 * The modem bank under load, issue 4: a fan-out of 200 spread over four
 * modems while one is unplugged in the middle (a reply queued behind it
 * goes first), a fifth limited to 3/min that never sends more, then
 * disabling, draining and removing modems through the config file and
 * SIGHUP, without a restart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define WAIT_MS		60000
#define QUEUE		200
#define LIMITED		4	/* the modem with rate = 3/min */
#define LIST_TOKEN	"bank-volume-token-0123456789abcdef0123"

static struct h_gateway g;

/* Times (seconds) of the SMS modem i sent, from its simulator's log. */
static int
sent_times(int modem, time_t *out, int max)
{
	char path[1024];
	int n = 0;

	snprintf(path, sizeof(path), "%s/sent.jsonl", g.sim_dir[modem]);
	char *data = h_read_file(path);
	for (char *line = data ? strtok(data, "\n") : NULL; line && n < max;
	    line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);
		const char *t = json_string_value(json_object_get(o, "time"));
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		if (t && strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
			out[n++] = timegm(&tm);
		json_decref(o);
	}
	free(data);
	return n;
}

/* The most sends of modem i within any 59 s (times are whole seconds). */
static int
max_per_minute(int modem)
{
	time_t t[512];
	int n = sent_times(modem, t, 512), best = 0;

	for (int i = 0; i < n; i++) {
		int c = 0;
		for (int j = 0; j < n; j++)
			if (t[j] >= t[i] && t[j] - t[i] < 59)
				c++;
		if (c > best)
			best = c;
	}
	return best;
}

struct sent_arg {
	int modem, n;
};

static int
sent_at_least(void *p)
{
	struct sent_arg *a = p;
	return h_sim_sent_count(&g, a->modem) >= a->n;
}

START_TEST(test_queue_rate_unplug)
{
	memset(&g, 0, sizeof(g));
	/* The unplugged modem is tried again at least every 2 s (not up to
	 * 60 s): its replug is seen that much sooner. A worker that the
	 * unplug leaves hung in a send is killed after 5 s + 0.7 s + 8 s
	 * (not 30 s + 0.7 s + 30 s): a simulated send is answered at once. */
	g.extra_config = "retry_seconds = 1\nrestart_max_seconds = 2\nwatchdog_seconds = 5\n";
	for (int i = 0; i < 5; i++)
		g.modem_extra[i] = "send_wait_seconds = 8\n";
	g.modem_extra[LIMITED] = "rate = 3/min 100/hour\nsend_wait_seconds = 8\n";
	h_gateway_start(&g, "bank_volume", 5);

	/* A fan-out of 200, inserted at once. */
	ck_assert_int_eq(h_db_long(g.db, "WITH i AS (INSERT INTO outbox (recipient, text, class) "
	    "SELECT '+2126620' || lpad(n::text, 5, '0'), 'bulk ' || n, 2 "
	    "FROM generate_series(1, 200) n RETURNING 1) "
	    "SELECT count(*) FROM i, pg_notify('pigeon_outbox', '')", 0, NULL), QUEUE);

	/* sim3 is unplugged during the run: the rest goes through the others. */
	struct sent_arg a = { 3, 8 };
	ck_assert_int_eq(h_wait_for(sent_at_least, &a, WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, 3, "unplug 1"), 0);
	int sim3_then = h_sim_sent_count(&g, 3);

	/* A reply (class 0) queued behind the fan-out goes out first. */
	long reply = h_outbox_add(&g, "+212664000001", "a reply jumps the queue", 0);
	h_wait_outbox(&g, reply, "sent", 15000);
	ck_assert_int_gt(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE class = 2 "
	    "AND state = 'queued'", 0, NULL), 50);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE state = 'sent' "
	    "AND class = 2", NULL, "200", 180000), 0);
	/* All five were used; the limited one never above 3 a minute. */
	for (int i = 0; i < 5; i++)
		ck_assert_msg(h_sim_sent_count(&g, i) > 0, "sim%d sent nothing", i);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(DISTINCT modem) FROM outbox "
	    "WHERE class = 2", 0, NULL), 5);
	ck_assert_int_le(max_per_minute(LIMITED), 3);
	ck_assert_int_le(h_sim_sent_count(&g, 3), sim3_then + 1);
	/* Every phone got its SMS (at least once: an unplug can repeat one). */
	ck_assert_int_ge(h_sim_sent_count(&g, 0) + h_sim_sent_count(&g, 1) +
	    h_sim_sent_count(&g, 2) + h_sim_sent_count(&g, 3) +
	    h_sim_sent_count(&g, 4), QUEUE + 1);
	ck_assert_int_eq(h_received_count(&g, "+212662000001"), 1);
	ck_assert_int_eq(h_received_count(&g, "+212662000200"), 1);

	/* Replugged: online again by itself. */
	ck_assert_int_eq(h_sim_fault(&g, 3, "unplug 0"), 0);
	h_wait_modem(&g, "sim3", "online", WAIT_MS);
	/* Retried every 2 s at most (restart_max_seconds). */
	char log[1024], *text;
	snprintf(log, sizeof(log), "%s/pigeond.log", g.dir);
	text = h_read_file(log);
	ck_assert_ptr_nonnull(strstr(text, "sim3: process exited with status 1; "
	    "restarting in 2000 ms"));
	ck_assert_ptr_null(strstr(text, "restarting in 4000 ms"));
	free(text);
	h_gateway_stop(&g);
}
END_TEST

/* On a gateway of its own (five modems, the same limits), so that it runs
 * beside the fan-out. */
START_TEST(test_disable_drain_remove)
{
	char sname[16];
	int before[5];

	memset(&g, 0, sizeof(g));
	g.extra_config = "retry_seconds = 1\n";
	g.http_extra = "token = " LIST_TOKEN "\n";
	g.modem_extra[LIMITED] = "rate = 3/min 100/hour\n";
	h_gateway_start(&g, "bank_volume_reload", 5);

	/* Disable sim0..sim3 through the file and SIGHUP: only the limited
	 * one sends, when its minute allows. */
	for (int i = 0; i < 4; i++)
		g.modem_extra[i] = "enabled = no\n";
	h_gateway_reload(&g);
	for (int i = 0; i < 4; i++) {
		snprintf(sname, sizeof(sname), "sim%d", i);
		h_wait_modem(&g, sname, "disabled", WAIT_MS);
		before[i] = h_sim_sent_count(&g, i);
	}
	long x1 = h_outbox_add(&g, "+212663000001", "limited one", 1);
	long x2 = h_outbox_add(&g, "+212663000002", "limited two", 1);
	h_wait_outbox(&g, x1, "sent", 90000);
	h_wait_outbox(&g, x2, "sent", 90000);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(h_sim_sent_count(&g, i), before[i]);
	ck_assert_int_le(max_per_minute(LIMITED), 3);

	/* Drain: sim0 back alone, slow; drained during a send, it finishes
	 * that send and takes no other. */
	g.modem_extra[0] = NULL;
	g.modem_extra[LIMITED] = "rate = 3/min 100/hour\nenabled = no\n";
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
	h_wait_modem(&g, "sim4", "disabled", WAIT_MS);
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-delay 3000"), 0);
	long d1 = h_outbox_add(&g, "+212663000003", "finished while draining", 1);
	h_wait_outbox(&g, d1, "sending", WAIT_MS);
	g.modem_extra[0] = "drain = yes\n";
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim0", "draining", WAIT_MS);
	long d2 = h_outbox_add(&g, "+212663000004", "after the drain", 1);
	h_wait_outbox(&g, d1, "sent", WAIT_MS);
	ck_assert_int_eq(h_wait_received(&g, "+212663000003", "finished while draining",
	    WAIT_MS), 0);
	/* The scheduler caught up twice from here (the second begun after
	 * sim0's slot was free again): a draining sim0 that took sends would
	 * have taken d2 by then. */
	h_wait_scheduler_caught_up(&g, LIST_TOKEN, 2, WAIT_MS);
	h_wait_outbox(&g, d2, "queued", 1);
	ck_assert_int_eq(h_received_count(&g, "+212663000004"), 0);

	/* Enabling another modem sends it; removing sim2 from the file. */
	g.modem_extra[1] = NULL;
	g.modem_removed[2] = 1;
	h_gateway_reload(&g);
	h_wait_outbox(&g, d2, "sent", WAIT_MS);
	ck_assert_int_eq(h_received_count(&g, "+212663000004"), 1);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state_reason FROM modems WHERE name = $1",
	    "sim2", "removed from the configuration", WAIT_MS), 0);
	char *via = h_db_value(g.db, "SELECT modem FROM outbox WHERE recipient = '+212663000004'",
	    0, NULL);
	ck_assert_str_eq(via, "sim1");
	free(via);
	/* A send through the removed modem is refused, as through a name no
	 * host has (it was taken, and waited until its validity ran out). */
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", LIST_TOKEN,
	    "{\"to\":\"+212663000005\",\"text\":\"through sim2\",\"via\":\"sim2\"}",
	    &resp), 400);
	ck_assert_msg(resp && strstr(resp, "sim2 was removed from the configuration"), "%s",
	    resp ? resp : "");
	free(resp);
	ck_assert_int_ge(h_db_long(g.db, "SELECT count(*) FROM modem_history "
	    "WHERE modem = 'sim0' AND state = 'draining'", 0, NULL), 1);

	/* A file with an error is refused and changes nothing; sim2 added
	 * back starts by itself. */
	g.modem_extra[1] = "rate = 6/fortnight\n";
	h_gateway_reload(&g);
	char log[1024];
	snprintf(log, sizeof(log), "%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "keeping the running configuration",
	    WAIT_MS), 0);
	h_wait_modem(&g, "sim1", "online", 1);
	g.modem_extra[1] = NULL;
	g.modem_extra[2] = NULL;
	g.modem_removed[2] = 0;
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim2", "online", WAIT_MS);
	h_gateway_stop(&g);
}
END_TEST

/*
 * A modem taken out of the file by one SIGHUP and put back by the next,
 * while its process still finishes a send, stays: it was set aside when
 * that process exited, "removed from the configuration", until a third
 * SIGHUP.
 */
START_TEST(test_removed_and_back)
{
	char log[1024];

	memset(&g, 0, sizeof(g));
	h_gateway_start(&g, "bank_volume_readd", 2);
	snprintf(log, sizeof(log), "%s/pigeond.log", g.dir);
	/* lease_seconds applies from the next claim on (the check of a
	 * SIGHUP's file allowed binds a longer hold for it, and the running
	 * one stayed: leases ran out under sends, sent twice). */
	g.extra_config = "lease_seconds = 900\n";
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_file_contains(log, "SIGHUP: reloading", WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, 1, "send-delay 4000"), 0);
	char *id = h_db_value(g.db, "INSERT INTO outbox (recipient, text, class, via_link) "
	    "VALUES ('+212663000011', 'through sim1', 1, 'sim1') RETURNING id", 0, NULL);
	h_wait_outbox(&g, strtol(id, NULL, 10), "sending", WAIT_MS);
	const char *ip[] = { id };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE id = $1::bigint "
	    "AND lease_until > now() + interval '600 seconds'", 1, ip), 1);
	g.modem_removed[1] = 1;
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_file_contains(log, "modem sim1: removed from the "
	    "configuration", WAIT_MS), 0);
	g.modem_removed[1] = 0;
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_file_contains(log, "modem sim1: back in the configuration",
	    WAIT_MS), 0);
	h_wait_outbox(&g, strtol(id, NULL, 10), "sent", WAIT_MS);
	/* And it takes the next one too. */
	ck_assert_int_eq(h_sim_fault(&g, 1, "send-delay 0"), 0);
	char *next = h_db_value(g.db, "INSERT INTO outbox (recipient, text, class, via_link) "
	    "VALUES ('+212663000012', 'sim1 again', 1, 'sim1') RETURNING id", 0, NULL);
	h_wait_outbox(&g, strtol(next, NULL, 10), "sent", WAIT_MS);
	h_wait_modem(&g, "sim1", "online", WAIT_MS);
	free(id);
	free(next);
	h_gateway_stop(&g);
}
END_TEST


/* The row of modem name in GET /api/modems (caller decrefs). */
static json_t *
listed(const char *name)
{
	char *resp = NULL;
	json_t *found = NULL, *m;
	size_t i;

	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", LIST_TOKEN, NULL, &resp),
	    200);
	json_t *j = json_loads(resp, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_array_foreach(json_object_get(j, "modems"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
			found = json_incref(m);
	json_decref(j);
	free(resp);
	ck_assert_msg(found != NULL, "%s is not listed", name);
	return found;
}

/* The line of text that starts with start (malloc'd). */
static char *
line_of(const char *text, const char *start)
{
	for (const char *l = text; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, start, strlen(start)) == 0)
			return strndup(l, strcspn(l, "\n"));
	ck_abort_msg("no line starts with '%s' in: %s", start, text);
	return NULL;
}

/*
 * A modem this host's SIGHUP removed is still this host's: pigeonctl
 * modems labelled it "(other host)" and /api/modems said "local": false,
 * as its link was gone from memory. A row of another host keeps the label.
 */
START_TEST(test_removed_listed_local)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " LIST_TOKEN "\n";
	h_gateway_start(&g, "bank_volume_listed", 2);
	json_t *m = listed("sim0");
	char *here = strdup(json_string_value(json_object_get(m, "host")));
	json_decref(m);
	/* Another host's modem on the same database. */
	h_db_exec(g.db, "INSERT INTO modems (name, host, state) "
	    "VALUES ('far0', 'gw-elsewhere', 'online')");

	g.modem_removed[1] = 1;
	h_gateway_reload(&g);
	/* That state is recorded when the link is set aside (link.c), so
	 * from then on the row is the database's alone. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT state || ': ' || state_reason FROM modems "
	    "WHERE name = $1", "sim1", "disabled: removed from the configuration",
	    WAIT_MS), 0);
	m = listed("sim1");
	ck_assert_str_eq(json_string_value(json_object_get(m, "host")), here);
	ck_assert_msg(json_is_true(json_object_get(m, "local")), "sim1 not local");
	json_decref(m);
	m = listed("far0");
	ck_assert_msg(json_is_false(json_object_get(m, "local")), "far0 local");
	json_decref(m);

	char *out = NULL, *line;
	ck_assert_int_eq(h_run(&out, "%s -a 127.0.0.1:%d -t %s modems", h_bin("pigeonctl"),
	    g.http_port, LIST_TOKEN), 0);
	line = line_of(out, "sim1 ");
	ck_assert_msg(strstr(line, "removed from the configuration") != NULL &&
	    strstr(line, "(other host)") == NULL, "%s", out);
	free(line);
	line = line_of(out, "far0 ");
	ck_assert_msg(strstr(line, "(other host)") != NULL, "%s", out);
	free(line);
	free(out);
	free(here);
	h_gateway_stop(&g);
}
END_TEST

/*
 * A modem removed from the configuration stayed in /api/modems, /metrics
 * and the status page for ever ("removed from the configuration"), and
 * the messages queued `via` it waited for it until their validity ran
 * out. `pigeonctl forget` drops it, cancelling those; a link that any
 * host still has is refused. The name configured again is a new link.
 */
START_TEST(test_removed_forgotten)
{
	char *resp = NULL, *out = NULL;

	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " LIST_TOKEN "\n";
	h_gateway_start(&g, "bank_volume_forget", 2);
	h_wait_modem(&g, "sim1", "online", WAIT_MS);
	/* It sent today (its parts on /metrics) and was charted (a sample
	 * of the status page's, as pigeond takes them every few minutes). */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", LIST_TOKEN,
	    "{\"to\":\"+212663000012\",\"text\":\"sent by sim1\",\"via\":\"sim1\"}",
	    NULL), 202);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM counters "
	    "WHERE name LIKE 'link\\_parts/%/sim1'", NULL, "1", WAIT_MS), 0);
	h_db_exec(g.db, "INSERT INTO status_samples (link, signal_percent, sms_sent) "
	    "VALUES ('sim1', 80, 1)");
	h_db_exec(g.db, "INSERT INTO modems (name, host, state) "
	    "VALUES ('far0', 'gw-elsewhere', 'online')");
	/* A send waiting for sim1, disabled by the operator. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim1/disable", LIST_TOKEN,
	    NULL, NULL), 200);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", LIST_TOKEN,
	    "{\"to\":\"+212663000011\",\"text\":\"through sim1\",\"via\":\"sim1\"}",
	    &resp), 202);
	json_t *j = json_loads(resp, 0, NULL);
	long id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	free(resp);
	ck_assert_int_gt(id, 0);

	/* Still in this host's configuration, or in another host's. */
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/modems/sim1", LIST_TOKEN,
	    NULL, &resp), 409);
	ck_assert_msg(strstr(resp, "in this host's configuration") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_ne(h_run(&out, "%s -a 127.0.0.1:%d -t %s forget far0 2>&1",
	    h_bin("pigeonctl"), g.http_port, LIST_TOKEN), 0);
	ck_assert_msg(strstr(out, "in the configuration of host gw-elsewhere") != NULL,
	    "%s", out);
	free(out);

	g.modem_removed[1] = 1;
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state_reason FROM modems WHERE name = $1",
	    "sim1", "removed from the configuration", WAIT_MS), 0);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", LIST_TOKEN, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "modem=\"sim1\"") != NULL, "sim1 not in /metrics");
	free(resp);
	json_decref(listed("sim1"));

	/* A send only it may make, leased by a pigeond killed meanwhile:
	 * refused until the lease is given back. */
	h_db_exec(g.db, "UPDATE outbox SET state = 'sending', host = 'gw-killed', "
	    "lease_until = now() + interval '1 hour' WHERE via_link = 'sim1' "
	    "AND state = 'queued'");
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/modems/sim1", LIST_TOKEN,
	    NULL, &resp), 409);
	ck_assert_msg(strstr(resp, "1 send(s) in flight") != NULL, "%s", resp);
	free(resp);
	h_db_exec(g.db, "UPDATE outbox SET state = 'queued', host = NULL, "
	    "lease_until = NULL WHERE via_link = 'sim1' AND state = 'sending'");
	/* Yesterday's parts, billed by the carrier. */
	h_db_exec(g.db, "INSERT INTO counters (name, value) SELECT 'link_parts/' || "
	    "to_char((now() - interval '1 day') AT TIME ZONE pigeon_setting('timezone'), "
	    "'YYYY-MM-DD') || '/sim1', 40");
	ck_assert_int_eq(h_run(&out, "%s -a 127.0.0.1:%d -t %s forget sim1",
	    h_bin("pigeonctl"), g.http_port, LIST_TOKEN), 0);
	ck_assert_msg(strstr(out, "modem sim1: forgotten; 1 message(s) queued via it "
	    "cancelled") != NULL, "%s", out);
	free(out);
	h_wait_outbox(&g, id, "cancelled", 1);
	char *why = h_outbox_col(&g, id, "last_error");
	ck_assert_str_eq(why, "link sim1 forgotten by the operator");
	free(why);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", LIST_TOKEN, NULL, &resp),
	    200);
	ck_assert_msg(strstr(resp, "\"sim1\"") == NULL && strstr(resp, "\"sim0\"") != NULL,
	    "%s", resp);
	free(resp);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", LIST_TOKEN, NULL, &resp), 200);
	char *at = strstr(resp, "modem=\"sim1\"");
	while (at != NULL && at > resp && at[-1] != '\n')
		at--;
	ck_assert_msg(at == NULL && strstr(resp, "modem=\"sim0\"") != NULL,
	    "sim1 in /metrics, or sim0 not: %.*s", at ? (int)strcspn(at, "\n") : 0,
	    at ? at : "");
	free(resp);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/modems/sim1", LIST_TOKEN,
	    NULL, NULL), 404);
	/* Nor on the status page's charts. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM jsonb_object_keys("
	    "pigeon_api_charts()->'links') k WHERE k = 'sim1'", 0, NULL), 0);
	/* Its history stays, and its parts of the days before, to set
	 * against the carrier's bill (they went too). */
	ck_assert_int_ge(h_db_long(g.db, "SELECT count(*) FROM modem_history "
	    "WHERE modem = 'sim1' AND reason = 'forgotten by the operator'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT coalesce(sum(value), 0) FROM counters "
	    "WHERE name LIKE 'link\\_parts/%/sim1'", 0, NULL), 40);

	/* Configured again: a new link, online. */
	g.modem_removed[1] = 0;
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim1", "online", WAIT_MS);
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
	/* A case per test: tests/run may run them side by side. */
	Suite *s = suite_create("bank_volume");
	TCase *tc = tcase_create("volume");
	TCase *rl = tcase_create("reload");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 400);
	tcase_add_test(tc, test_queue_rate_unplug);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(rl, NULL, teardown);
	tcase_set_timeout(rl, 400);
	tcase_add_test(rl, test_disable_drain_remove);
	suite_add_tcase(s, rl);
	TCase *ra = tcase_create("readd");
	tcase_add_checked_fixture(ra, NULL, teardown);
	tcase_set_timeout(ra, 300);
	tcase_add_test(ra, test_removed_and_back);
	suite_add_tcase(s, ra);
	TCase *li = tcase_create("listed");
	tcase_add_checked_fixture(li, NULL, teardown);
	tcase_set_timeout(li, 300);
	tcase_add_test(li, test_removed_listed_local);
	suite_add_tcase(s, li);
	TCase *fo = tcase_create("forget");
	tcase_add_checked_fixture(fo, NULL, teardown);
	tcase_set_timeout(fo, 300);
	tcase_add_test(fo, test_removed_forgotten);
	suite_add_tcase(s, fo);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
