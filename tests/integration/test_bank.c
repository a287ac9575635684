/*
 * The modem bank, issue 4: routing and failover, unplug and replug,
 * temporary and permanent send failures, and the watchdog (also when
 * SIGHUP lowers watchdog_seconds). Real pigeond,
 * PostgreSQL and three simulated modems; what is asserted is what an
 * operator sees in the database and what the phones receive.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS	60000
#define TOKEN	"bank-token-0123456789abcdef0123456789"

static struct h_gateway g;

/* Sends one SMS and returns the modem it went out through (malloc). */
static char *
send_one(const char *to, const char *text)
{
	long id = h_outbox_add(&g, to, text, 1);

	ck_assert_int_gt(id, 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	ck_assert_int_eq(h_wait_received(&g, to, text, WAIT_MS), 0);
	return h_outbox_col(&g, id, "modem");
}

static void
start(const char *name)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = "retry_seconds = 1\nwatchdog_seconds = 3\nmax_attempts = 3\n";
	/* A simulated send is answered at once (or after a send-delay of
	 * 3 s): a modem gone silent is given up on after 8 s, not 30. */
	g.modem_extra[0] = "routes = +21266\nhealth_seconds = 2\nsend_wait_seconds = 8\n";
	g.modem_extra[1] = "routes = +21267 +21270\nhealth_seconds = 2\n"
	    "send_wait_seconds = 8\n";
	g.modem_extra[2] = "health_seconds = 2\nsend_wait_seconds = 8\n";
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, name, 3);
}

START_TEST(test_routes_failover_replug)
{
	char to[32], text[64], *via;

	start("bank_routes");
	/* Routed while healthy: one at a time, so the routed one is idle. */
	for (int i = 0; i < 3; i++) {
		snprintf(to, sizeof(to), "+2126610000%02d", i);
		snprintf(text, sizeof(text), "routed %d", i);
		via = send_one(to, text);
		ck_assert_str_eq(via, "sim0");
		free(via);
	}
	via = send_one("+212671000001", "to the other operator");
	ck_assert_str_eq(via, "sim1");
	free(via);

	/* Unplugged: its messages go through the others. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "unplug 1"), 0);
	h_wait_modem(&g, "sim0", "offline", WAIT_MS);
	for (int i = 0; i < 2; i++) {
		snprintf(to, sizeof(to), "+2126610001%02d", i);
		snprintf(text, sizeof(text), "failover %d", i);
		via = send_one(to, text);
		ck_assert_str_ne(via, "sim0");
		free(via);
	}

	/* Replugged: back online by itself, and routed again. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "unplug 0"), 0);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
	via = send_one("+212661000200", "welcome back");
	ck_assert_str_eq(via, "sim0");
	free(via);
	ck_assert_int_ge(h_db_long(g.db, "SELECT restarts FROM modems WHERE name = 'sim0'",
	    0, NULL), 1);
	ck_assert_int_ge(h_db_long(g.db, "SELECT count(*) FROM modem_history "
	    "WHERE modem = 'sim0' AND state = 'offline'", 0, NULL), 1);

	/* Health polling: signal and registration are stored. */
	ck_assert_int_eq(h_sim_fault(&g, 2, "signal 10"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 2, "network 5"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT registration || ' ' || signal_percent "
	    "FROM modems WHERE name = $1", "sim2", "roaming 30", WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, 2, "network 3"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT registration FROM modems WHERE name = $1",
	    "sim2", "denied", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM modems WHERE imsi <> '' "
	    "AND health_at IS NOT NULL", 0, NULL), 3);
	h_gateway_stop(&g);
}
END_TEST

/* Entry i of a message's history as GET /api/messages/ID shows it:
 * its state, its link (NULL: null) and its detail (NULL: null, else a
 * part of it). */
static void
assert_history(json_t *history, size_t i, const char *state, const char *modem,
    const char *detail)
{
	json_t *e = json_array_get(history, i);
	const char *m = json_string_value(json_object_get(e, "modem"));
	const char *d = json_string_value(json_object_get(e, "detail"));
	char *text = json_dumps(e, JSON_COMPACT);

	ck_assert_msg(e != NULL, "no history entry %zu", i);
	ck_assert_msg(strcmp(json_string_value(json_object_get(e, "state")), state) == 0 &&
	    (modem ? m && strcmp(m, modem) == 0 : m == NULL) &&
	    (detail ? d && strstr(d, detail) : d == NULL),
	    "history entry %zu is %s, not %s via %s (%s)", i, text, state,
	    modem ? modem : "null", detail ? detail : "no detail");
	free(text);
}

/* Send failures: temporary, permanent, too old, too many attempts. */
START_TEST(test_send_failures)
{
	long id;
	char *v;

	start("bank_failures");

	/* Temporary (+CMS ERROR 42, congestion) on the routed modem: retried
	 * on another one, and sent. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 42 5"), 0);
	id = h_outbox_add(&g, "+212661000010", "try again elsewhere", 1);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	v = h_outbox_col(&g, id, "modem");
	ck_assert_str_ne(v, "sim0");
	free(v);
	v = h_outbox_col(&g, id, "attempts");
	ck_assert_str_eq(v, "2");
	free(v);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox_history WHERE "
	    "state = 'queued' AND modem = 'sim0' AND detail LIKE '%congestion%'", 0, NULL), 1);
	ck_assert_int_eq(h_wait_received(&g, "+212661000010", "try again elsewhere",
	    WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 0"), 0);
	/* As the API shows it: each attempt's 'sending' names the link that
	 * took it, without the error of the attempt before. */
	char path[64], *resp = NULL;
	snprintf(path, sizeof(path), "/api/messages/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "GET", path, TOKEN, NULL, &resp), 200);
	json_t *msg = json_loads(resp, 0, NULL);
	json_t *history = json_object_get(msg, "history");
	v = h_outbox_col(&g, id, "modem");
	ck_assert_msg(json_array_size(history) == 5, "%s", resp);
	/* The retry's first (it showed sim0 and sim0's error). */
	assert_history(history, 3, "sending", v, NULL);
	assert_history(history, 4, "sent", v, NULL);
	assert_history(history, 0, "queued", NULL, NULL);
	assert_history(history, 1, "sending", "sim0", NULL);
	assert_history(history, 2, "queued", "sim0", "congestion");
	free(v);
	json_decref(msg);
	free(resp);

	/* Permanent (+CMS ERROR 1, unassigned number): failed after one try. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 1"), 0);
	id = h_outbox_add(&g, "+212661000011", "nobody has this number", 1);
	h_wait_outbox(&g, id, "failed", WAIT_MS);
	v = h_outbox_col(&g, id, "attempts");
	ck_assert_str_eq(v, "1");
	free(v);
	v = h_outbox_col(&g, id, "last_error");
	ck_assert_msg(strstr(v, "permanent") && strstr(v, "unassigned number"), "%s", v);
	free(v);
	ck_assert_int_eq(h_received_count(&g, "+212661000011"), 0);

	/* An old message waiting for a retry expires (checked every 30 s),
	 * with the reason; a message that keeps failing gives up after
	 * max_attempts; neither holds the others back. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 0"), 0);
	long old = h_db_long(g.db, "INSERT INTO outbox (recipient, text, class, created_at, "
	    "next_attempt_at) VALUES ('+212661000014', 'too late', 1, now() - interval '2 days', "
	    "now() + interval '1 hour') RETURNING id", 0, NULL);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(h_sim_fault(&g, i, "send-error 41 1"), 0);
	long stuck = h_outbox_add(&g, "+212661000012", "never goes", 1);
	h_wait_outbox(&g, stuck, "failed", WAIT_MS);
	v = h_outbox_col(&g, stuck, "last_error");
	ck_assert_msg(strstr(v, "gave up after 3 attempts") && strstr(v, "temporary failure"),
	    "%s", v);
	free(v);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(DISTINCT modem) FROM outbox_history "
	    "WHERE outbox_id = (SELECT max(id) FROM outbox WHERE recipient = '+212661000012') "
	    "AND state IN ('queued', 'failed')", 0, NULL), 3);
	id = h_outbox_add(&g, "+212661000013", "goes anyway", 1);
	h_wait_outbox(&g, id, "sent", WAIT_MS);

	h_wait_outbox(&g, old, "expired", WAIT_MS);
	v = h_outbox_col(&g, old, "last_error");
	ck_assert_msg(strstr(v, "validity") != NULL, "%s", v);
	free(v);
	/* The status's recent failures say when it failed, not when it was
	 * queued two days ago. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/status", TOKEN, NULL, &resp), 200);
	json_t *st = json_loads(resp, 0, NULL), *f;
	size_t k;
	int seen = 0;
	json_array_foreach(json_object_get(st, "failures"), k, f) {
		if (json_integer_value(json_object_get(f, "id")) != old)
			continue;
		const char *at[] = { json_string_value(json_object_get(f, "at")),
		    json_string_value(json_object_get(f, "queued_at")) };
		ck_assert_msg(at[0] && at[1], "%s", resp);
		ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) WHERE $1::timestamptz > "
		    "now() - interval '1 hour' AND $2::timestamptz < now() - interval '1 day'",
		    2, at), 1);
		seen = 1;
	}
	ck_assert_msg(seen, "not among the failures: %s", resp);
	json_decref(st);
	free(resp);
	h_gateway_stop(&g);
}
END_TEST

/* A failing modem and a hung worker are restarted. */
START_TEST(test_failing_and_hung_modems)
{
	start("bank_restarts");

	/* A modem whose sends keep failing goes offline and is restarted;
	 * what it failed goes out through the others. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 41 100"), 0);
	for (int i = 0; i < 5; i++) {
		char to[32], n[8];
		snprintf(to, sizeof(to), "+2126610003%02d", i);
		snprintf(n, sizeof(n), "%d", i + 1);
		h_outbox_add(&g, to, "sim0 is failing", 1);
		ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox_history WHERE "
		    "state = 'queued' AND modem = 'sim0' AND "
		    "outbox_id IN (SELECT id FROM outbox WHERE text = 'sim0 is failing')",
		    NULL, n, WAIT_MS), 0);
	}
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history WHERE modem = $1 "
	    "AND reason LIKE '5 sends in a row failed%'", "sim0", "1", WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 0"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE "
	    "text = 'sim0 is failing' AND state = 'sent' AND modem <> 'sim0'", NULL, "5",
	    WAIT_MS), 0);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
	/* Online again, it has no current error: the one it went offline
	 * for is in its history, not in /api/modems any more. */
	char *body = NULL;
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body), 200);
	json_t *list = json_loads(body, 0, NULL), *m;
	size_t i;
	int seen = 0;
	json_array_foreach(json_object_get(list, "modems"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "name")), "sim0") != 0)
			continue;
		seen = 1;
		ck_assert_str_eq(json_string_value(json_object_get(m, "state")), "online");
		ck_assert_msg(strcmp(json_string_value(json_object_get(m, "last_error")), "") == 0,
		    "sim0 online with last_error %s", json_string_value(json_object_get(m,
		    "last_error")));
	}
	ck_assert_int_eq(seen, 1);
	json_decref(list);
	free(body);

	/* A worker that stops answering is killed and restarted. */
	char *pid = h_db_value(g.db, "SELECT pid FROM modems WHERE name = 'sim2'", 0, NULL);
	ck_assert_ptr_nonnull(pid);
	ck_assert_int_eq(kill((pid_t)atol(pid), SIGSTOP), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history WHERE modem = $1 "
	    "AND reason LIKE '%signal 9%'", "sim2", "1", WAIT_MS), 0);
	h_wait_modem(&g, "sim2", "online", WAIT_MS);
	char *pid2 = h_db_value(g.db, "SELECT pid FROM modems WHERE name = 'sim2'", 0, NULL);
	ck_assert_str_ne(pid, pid2);
	free(pid);
	free(pid2);
	h_gateway_stop(&g);
}
END_TEST

/* Simulator i has taken an AT+CMGS and holds its answer (send-delay):
 * the message is at the modem. */
static int
sim_sending(void *arg)
{
	char *out = NULL;
	int i = *(int *)arg;
	int sending = h_run(&out, "%s status %s", h_bin("pigeon-modemsim"),
	    g.sim_dir[i]) == 0 && strstr(out, "\"sending\":true") != NULL;

	free(out);
	if (!sending)
		h_sleep_ms(200);	/* each look runs a program (ASan) */
	return sending;
}

START_TEST(test_silent_mid_send)
{
	long id;
	char *v;
	int sim1 = 1;

	start("bank_silent");

	/* A modem that goes silent in the middle of a send: the message is
	 * not lost, it goes out through another modem. The simulator holds
	 * the send's answer 6 s (under send_wait_seconds, 8): long enough to
	 * see that the AT+CMGS is at the modem before it goes silent. */
	ck_assert_int_eq(h_sim_fault(&g, 1, "send-error 0"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 1, "send-delay 6000"), 0);
	id = h_outbox_add(&g, "+212671000020", "in flight", 1);
	h_wait_outbox(&g, id, "sending", WAIT_MS);
	ck_assert_msg(h_wait_for(sim_sending, &sim1, WAIT_MS) == 0,
	    "sim1 never had the send in progress");
	ck_assert_int_eq(h_sim_fault(&g, 1, "silent 1"), 0);
	h_wait_outbox(&g, id, "sent", 120000);
	v = h_outbox_col(&g, id, "modem");
	ck_assert_str_ne(v, "sim1");
	free(v);
	/* sim1's worker gave up after its send_wait_seconds. */
	char sid[32];
	snprintf(sid, sizeof(sid), "%ld", id);
	ck_assert_int_ge(h_db_long(g.db, "SELECT count(*) FROM outbox_history WHERE "
	    "outbox_id = $1::bigint AND modem = 'sim1' AND detail LIKE "
	    "'%no answer from the network within 8 s%'", 1, (const char *const[]){ sid }), 1);
	ck_assert_int_eq(h_wait_received(&g, "+212671000020", "in flight", WAIT_MS), 0);
	ck_assert_int_eq(h_sim_fault(&g, 1, "silent 0"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 1, "send-delay 0"), 0);
	h_wait_modem(&g, "sim1", "online", 90000);
	h_gateway_stop(&g);
}
END_TEST

/* pigeon_link_parts_today of a link as /metrics shows it (0: not shown). */
static long
parts_today(const char *link)
{
	char *series = h_strf("pigeon_link_parts_today{modem=\"%s\"}", link);
	long n = h_metric(&g, TOKEN, series, 0);

	free(series);
	return n;
}

/* The parts a simulated modem handed to the network (its parts.jsonl), to
 * number (NULL: to anyone). */
static int
sim_parts(int modem, const char *number)
{
	char *path = h_strf("%s/parts.jsonl", g.sim_dir[modem]);
	char *data = h_read_file(path);
	char *needle = number ? h_strf("\"to\":\"%s\"", number) : strdup("\"to\"");
	int n = data ? h_count_lines(data, needle) : 0;

	free(path);
	free(data);
	free(needle);
	return n;
}

struct sim_count {
	int modem;
	int want;
};

static int
sim_sent_reaches(void *arg)
{
	struct sim_count *c = arg;
	int n = sim_parts(c->modem, NULL);

	if (n < c->want)
		h_sleep_ms(20);
	return n >= c->want;
}

/* Each link's parts of the day are what its phones were sent. */
static int
links_count_what_went(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		if (parts_today(name) != sim_parts(i, NULL)) {
			h_sleep_ms(200);
			return 0;
		}
	}
	return 1;
}

/* The carrier bills every part that went out: a long message whose part
 * 2 of 3 failed is billed its part 1 and then its 3 parts again, and one
 * that failed for good after its part 1 that part. The links' parts of
 * the day (the daily budget's count) counted only messages sent whole. */
START_TEST(test_failed_parts_billed)
{
	char text[406];
	long id;
	struct sim_count c = { .modem = 0 };

	start("bank_parts");
	for (int i = 0; i < 405; i++)
		text[i] = "abcdefghij"[i % 10];
	text[405] = '\0';

	/* Part 2 of 3 refused (+CMS ERROR 38, network out of order, a
	 * temporary failure): retried, all 3 parts again. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-delay 1500"), 0);
	id = h_outbox_add(&g, "+212661000050", text, 1);
	c.want = 1;
	ck_assert_msg(h_wait_for(sim_sent_reaches, &c, WAIT_MS) == 0, "part 1 never went");
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 38 1"), 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	char *v = h_outbox_col(&g, id, "parts");
	ck_assert_str_eq(v, "3");
	free(v);
	ck_assert_int_eq(sim_parts(0, "+212661000050") + sim_parts(1, "+212661000050") +
	    sim_parts(2, "+212661000050"), 4);

	/* Part 2 refused for good (+CMS ERROR 1, unassigned number). */
	id = h_outbox_add(&g, "+212661000051", text, 1);
	c.want = sim_parts(0, NULL) + 1;
	ck_assert_msg(h_wait_for(sim_sent_reaches, &c, WAIT_MS) == 0, "part 1 never went");
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 1 1"), 0);
	h_wait_outbox(&g, id, "failed", WAIT_MS);
	ck_assert_int_eq(sim_parts(0, "+212661000051"), 1);
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-delay 0"), 0);

	ck_assert_msg(h_wait_for(links_count_what_went, NULL, 10000) == 0,
	    "parts today sim0 %ld sim1 %ld sim2 %ld; the phones got %d, %d, %d",
	    parts_today("sim0"), parts_today("sim1"), parts_today("sim2"),
	    sim_parts(0, NULL), sim_parts(1, NULL), sim_parts(2, NULL));
	ck_assert_int_eq(parts_today("sim0") + parts_today("sim1") + parts_today("sim2"), 5);
	h_gateway_stop(&g);
}
END_TEST

/* The modems' restarts and pids, and whether each is online: what a
 * watchdog kill would change. */
#define WORKERS_SQL	"SELECT sum(restarts) || ' ' || string_agg(pid::text || ':' || " \
	"state, ',' ORDER BY name) FROM modems"

static char *workers_before;

/* A worker killed or restarted since workers_before was taken. */
static int
workers_changed(void *unused)
{
	char *now = h_db_value(g.db, WORKERS_SQL, 0, NULL);
	int changed = now == NULL || strcmp(now, workers_before) != 0;
	free(now);
	return changed;
}

/* A gateway of two modems with config, both workers up (workers_before). */
static void
start_watched(const char *name, const char *config)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config;	/* read only */
	h_gateway_start(&g, name, 2);
	workers_before = h_db_value(g.db, WORKERS_SQL, 0, NULL);
	ck_assert_ptr_nonnull(workers_before);
	ck_assert_msg(strstr(workers_before, ":starting") == NULL &&
	    strstr(workers_before, ":offline") == NULL, "%s", workers_before);
}

/* Still watched: sim1 stopped (SIGSTOP) is killed by the watchdog; then
 * the gateway is stopped. */
static void
still_watched(void)
{
	char *pid = h_db_value(g.db, "SELECT pid FROM modems WHERE name = 'sim1'", 0, NULL);

	ck_assert_ptr_nonnull(pid);
	ck_assert_int_eq(kill((pid_t)atol(pid), SIGSTOP), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history WHERE modem = $1 "
	    "AND reason LIKE '%signal 9%'", "sim1", "1", 30000), 0);
	free(pid);
	free(workers_before);
	workers_before = NULL;
	h_gateway_stop(&g);
}

/*
 * watchdog_seconds lowered by SIGHUP (30 -> 6): the workers were still
 * pinged every 10 s, judged silent after 6 and killed, idle and healthy,
 * about 11 s after the reload. Now their pings take the new pace at once.
 */
START_TEST(test_watchdog_lowered)
{
	/* health_seconds stays 60: no health line fills the pings' gaps. */
	start_watched("bank_watchdog", "watchdog_seconds = 30\n");

	g.extra_config = "watchdog_seconds = 6\n";
	h_gateway_reload(&g);
	char *log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "SIGHUP: reloading", WAIT_MS), 0);
	free(log);
	/* Proving an absence takes a bounded wait: 3 x the new allowance
	 * (18 s) covers the old pace's first ping gap (10 s) after the
	 * reload, when every worker was killed, and two of the new one. A
	 * kill ends the wait at once (and fails). */
	ck_assert_msg(h_wait_for(workers_changed, NULL, 18000) == -1,
	    "a worker was restarted: %s", workers_before);
	/* Still watched, at the new allowance. */
	still_watched();
}
END_TEST

/*
 * pigeond itself stopped for longer than watchdog_seconds (SIGSTOP here; a
 * paused machine, a swapped-out daemon): when it ran again, its watchdog
 * found every worker silent (their answers unread in their channels) and
 * killed them all, idle and healthy. Now their silence counts from then.
 */
START_TEST(test_watchdog_after_pigeond_stopped)
{
	start_watched("bank_frozen", "watchdog_seconds = 3\n");

	/* The fault itself: 8 s stopped, over twice the allowance. */
	ck_assert_int_eq(kill(g.pigeond, SIGSTOP), 0);
	h_sleep_ms(8000);
	ck_assert_int_eq(kill(g.pigeond, SIGCONT), 0);
	/* Proving an absence takes a bounded wait: 3 x the allowance; a kill
	 * ends it at once (and fails). */
	ck_assert_msg(h_wait_for(workers_changed, NULL, 9000) == -1,
	    "a worker was restarted: %s", workers_before);
	char *log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "pigeond did not run for", WAIT_MS), 0);
	free(log);
	still_watched();
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
	/* A case per test (each starts its own gateway): tests/run may run
	 * them side by side. */
	const struct h_case cases[] = {
		{ "routes", test_routes_failover_replug },
		{ "failures", test_send_failures },
		{ "restarts", test_failing_and_hung_modems },
		{ "silent", test_silent_mid_send },
		{ "failed_parts", test_failed_parts_billed },
		{ "watchdog_reload", test_watchdog_lowered },
		{ "watchdog_frozen", test_watchdog_after_pigeond_stopped },
	};

	return h_suite_cases("bank", cases, sizeof(cases) / sizeof(cases[0]),
	    NULL, teardown, 300);
}

int
main(void)
{
	return h_main(suite());
}
