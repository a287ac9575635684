/*
 * Issue 7: a host owns its modems through a session advisory lock
 * (gateway/hostlock.c). Real pigeond, pigeon-modem and pigeon-modemsim.
 *
 * Two hosts configure the same modem name x0 (a mistake), each with a
 * simulator of its own: only the lock holder (A) drives it; B says so in
 * its log, /healthz and the modems row, never connects to its simulator,
 * and an SMS on B's SIM waits there. A is SIGKILLed: B takes x0 over,
 * ingests that SMS once and sends through it. A restarted waits in turn.
 *
 * Then PostgreSQL is restarted (immediate, then fast) under B: its modem
 * is paused (no send handed over, no SMS deleted while down), and resumes
 * only once B holds the lock again; nothing is lost or sent twice.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

static struct h_gateway a, b;

static const char *
host(struct h_gateway *g)
{
	return strrchr(g->dir, '/') + 1;
}

static char *
log_path(struct h_gateway *g)
{
	static char path[2][1024];
	static int k;
	k = !k;
	snprintf(path[k], sizeof(path[k]), "%s/pigeond.log", g->dir);
	return path[k];
}

static char *
log_text(struct h_gateway *g)
{
	char *t = h_read_file(log_path(g));
	return t ? t : strdup("");
}

static long
inbox_count(struct h_gateway *g, const char *text)
{
	return h_db_long(g->db, "SELECT count(*) FROM inbox_parts WHERE text = $1",
	    1, (const char *const[]){ text });
}

struct health_arg {
	struct h_gateway *g;
	const char *needle;
};

static int
health_shows(void *p)
{
	struct health_arg *h = p;
	char *body = NULL;
	h_http_get(h->g->http_port, "/healthz", &body);
	int found = body != NULL && strstr(body, h->needle) != NULL;
	free(body);
	return found;
}

struct sent_arg {
	struct h_gateway *g;
	int n;
};

static int
sim_sent(void *p)
{
	struct sent_arg *s = p;
	return h_sim_sent_count(s->g, 0) >= s->n;
}

static void
setup(void)
{
	static char extra[] = "lease_seconds = 10\n";
	static char http_extra[] = "token = hostlock-token-0123456789abcdef0123456789\n";

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.modem_prefix = b.modem_prefix = "x";
	a.extra_config = b.extra_config = extra;
	a.http_extra = b.http_extra = http_extra;
	h_gateway_start(&a, "hostlock_a", 1);
	b.start_no_wait = 1;
	h_gateway_start_on(&b, "hostlock_b", 1, a.conninfo);
}

static void
teardown(void)
{
	h_gateway_stop(&b);
	h_gateway_stop(&a);
}

START_TEST(test_same_modem_on_two_hosts)
{
	char want[256], *log;
	long t0, t_start = h_now_ms();

	/* B sees that A owns x0 and does not drive it. */
	snprintf(want, sizeof(want), "modem x0 is owned by another host (pigeond %s, "
	    "backend pid", host(&a));
	ck_assert_int_eq(h_wait_file_contains(log_path(&b), want, 30000), 0);
	struct health_arg ha = { &b, "{\"name\":\"x0\",\"state\":\"elsewhere\"" };
	ck_assert_int_eq(h_wait_for(health_shows, &ha, 10000), 0);
	snprintf(want, sizeof(want), "%s online %s", host(&a), host(&b));
	ck_assert_int_eq(h_wait_db(&a, "SELECT host || ' ' || state || ' ' || waiting_host "
	    "FROM modems WHERE name = $1", "x0", want, 10000), 0);
	/* What pigeonctl shows on each host. */
	char *out = NULL;
	ck_assert_int_eq(h_run(&out, "%s -c '%s' modems 2>&1", h_bin("pigeonctl"),
	    b.config), 0);
	ck_assert_ptr_nonnull(strstr(out, "elsewhere"));
	ck_assert_ptr_nonnull(strstr(out, "owned by another host"));
	free(out);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' modems 2>&1", h_bin("pigeonctl"),
	    a.config), 0);
	snprintf(want, sizeof(want), "also configured on host %s, which waits", host(&b));
	ck_assert_msg(strstr(out, want) != NULL, "pigeonctl on A: %s", out);
	free(out);
	/* The key operators look for in pg_locks: held by A's connection. */
	snprintf(want, sizeof(want), "pigeond %s", host(&a));
	ck_assert_int_eq(h_wait_db(&a, "SELECT a.application_name FROM pg_locks l "
	    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
	    "AND l.classid = 1346979653 AND l.objid = hashtext($1)::oid "
	    "AND l.objsubid = 2 AND l.granted AND a.datname = current_database()",
	    "x0", want, 10000), 0);

	/* An SMS to A's x0 is stored once and deleted; one on B's SIM waits. */
	ck_assert_int_eq(h_text(&a, 0, "+212661100001", "hello via A"), 0);
	ck_assert_int_eq(h_text(&b, 0, "+212661100002", "waiting on B"), 0);
	ck_assert_int_eq(h_wait_db(&a, "SELECT count(*) FROM inbox_parts WHERE text = $1",
	    "hello via A", "1", 30000), 0);
	ck_assert_int_eq(h_gateway_settle(&a, 30000), 0);
	ck_assert_int_eq(h_stored_count(&a, 0), 0);
	ck_assert_int_eq(h_stored_count(&b, 0), 1);
	ck_assert_int_eq(inbox_count(&a, "waiting on B"), 0);
	log = log_text(&b);
	ck_assert_ptr_null(strstr(log, "pigeon-modem[x0]: connecting"));
	free(log);

	/* A dies: its connection ends, PostgreSQL drops its lock, B takes x0. */
	h_stop(a.pigeond, SIGKILL, 1000);
	a.pigeond = 0;
	t0 = h_now_ms();
	snprintf(want, sizeof(want), "%s online ", host(&b));
	ck_assert_int_eq(h_wait_db(&b, "SELECT host || ' ' || state || ' ' || waiting_host "
	    "FROM modems WHERE name = $1", "x0", want, 30000), 0);
	long took = h_now_ms() - t0;
	ck_assert_int_eq(h_wait_db(&b, "SELECT count(*) FROM inbox_parts WHERE text = $1",
	    "waiting on B", "1", 30000), 0);
	long id = h_outbox_add(&b, "+212661100003", "sent after the takeover", 0);
	h_wait_outbox(&b, id, "sent", 30000);
	ck_assert_int_eq(h_wait_received(&b, "+212661100003", "sent after the takeover",
	    10000), 0);
	ck_assert_int_eq(h_gateway_settle(&b, 30000), 0);
	ck_assert_int_eq(h_stored_count(&b, 0), 0);
	ck_assert_int_eq(inbox_count(&b, "waiting on B"), 1);
	ck_assert_int_eq(inbox_count(&b, "hello via A"), 1);
	fprintf(stderr, "rel: hostlock: B online with x0 %.1f s after A's SIGKILL\n",
	    took / 1000.0);
	fprintf(stderr, "REL|one modem name on two hosts|owner SIGKILL|2|%ld|%ld|0|%.1f s\n",
	    inbox_count(&b, "waiting on B") + inbox_count(&b, "hello via A"),
	    2 - inbox_count(&b, "waiting on B") - inbox_count(&b, "hello via A"),
	    (h_now_ms() - t_start) / 1000.0);

	/* A back: now A waits, and the row stays B's. */
	unlink(log_path(&a));
	h_pigeond_start(&a);
	snprintf(want, sizeof(want), "modem x0 is owned by another host (pigeond %s, ",
	    host(&b));
	ck_assert_int_eq(h_wait_file_contains(log_path(&a), want, 30000), 0);
	snprintf(want, sizeof(want), "%s online %s", host(&b), host(&a));
	ck_assert_int_eq(h_wait_db(&b, "SELECT host || ' ' || state || ' ' || waiting_host "
	    "FROM modems WHERE name = $1", "x0", want, 10000), 0);
	/* Out of the way: B alone for the database restarts. */
	int status = h_stop(a.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	a.pigeond = 0;
}
END_TEST

/* Every recipient got its SMS exactly once; *got: how many got it. */
static void
assert_each_once(int first, int n, int *got, int *dups)
{
	*got = *dups = 0;
	for (int i = first; i < first + n; i++) {
		char to[32];
		snprintf(to, sizeof(to), "+2126611002%02d", i);
		int c = h_received_count(&b, to);
		*got += c > 0;
		*dups += c > 1 ? c - 1 : 0;
	}
	for (int i = first; i < first + n; i++) {
		char to[32];
		snprintf(to, sizeof(to), "+2126611002%02d", i);
		ck_assert_msg(h_received_count(&b, to) == 1, "%s received %d SMS", to,
		    h_received_count(&b, to));
	}
}

/* After the last outage, the lock was held again before any send was
 * handed out. */
static void
assert_lock_before_sends(void)
{
	char *log = log_text(&b), *p, *down = NULL, *held, *send;

	for (p = log; (p = strstr(p, "modem(s) paused (no send, no delete)")) != NULL; p++)
		down = p;
	ck_assert_ptr_nonnull(down);
	held = strstr(down, "modem x0: this host holds its lock again; resuming");
	send = strstr(down, " via x0 (attempt");
	ck_assert_ptr_nonnull(held);
	ck_assert(send == NULL || held < send);
	free(log);
}

START_TEST(test_database_restarts)
{
	const int n = 6;
	long ids[6], t_start = h_now_ms();
	char want[64];
	int got, dups;

	/* Queue n sends; stop PostgreSQL (a crash) once the first went out. */
	int before = h_sim_sent_count(&b, 0);
	for (int i = 0; i < n; i++) {
		char to[32], text[64];
		snprintf(to, sizeof(to), "+2126611002%02d", i);
		snprintf(text, sizeof(text), "queued %d before the restart", i);
		ids[i] = h_outbox_add(&b, to, text, 0);
	}
	struct sent_arg first = { &b, before + 1 };
	ck_assert_int_eq(h_wait_for(sim_sent, &first, 30000), 0);
	ck_assert_int_eq(h_pg_stop_mode("immediate"), 0);
	int at_stop = h_sim_sent_count(&b, 0);
	ck_assert_int_eq(h_wait_file_contains(log_path(&b),
	    "modem(s) paused (no send, no delete)", 20000), 0);

	/* Down: an SMS is read but stays on the SIM; at most the send that was
	 * in flight completes. */
	ck_assert_int_eq(h_text(&b, 0, "+212661100010", "texted while down"), 0);
	ck_assert_int_eq(h_wait_file_contains(log_path(&b), "from +212661100010",
	    20000), 0);
	struct health_arg ha = { &b, "\"database\":\"down\"" };
	ck_assert_int_eq(h_wait_for(health_shows, &ha, 10000), 0);
	ck_assert_int_eq(h_stored_count(&b, 0), 1);
	int while_down = h_sim_sent_count(&b, 0);
	ck_assert_int_le(while_down, at_stop + 1);

	ck_assert_int_eq(h_pg_start(), 0);
	PQreset(b.db);
	for (int i = 0; i < n; i++)
		h_wait_outbox(&b, ids[i], "sent", 60000);
	ck_assert_int_eq(h_wait_db(&b, "SELECT count(*) FROM inbox_parts WHERE text = $1",
	    "texted while down", "1", 30000), 0);
	ck_assert_int_eq(h_gateway_settle(&b, 30000), 0);
	ck_assert_int_eq(h_stored_count(&b, 0), 0);
	assert_each_once(0, n, &got, &dups);
	assert_lock_before_sends();
	fprintf(stderr, "rel: hostlock: immediate restart: %d sent before the stop, "
	    "%d while down, all %d once after\n", at_stop - before,
	    while_down - at_stop, n);

	/* A fast shutdown: the same, with one send queued while down's reconnect. */
	ck_assert_int_eq(h_pg_stop_mode("fast"), 0);
	ck_assert_int_eq(h_wait_for(health_shows, &ha, 10000), 0);
	ck_assert_int_eq(h_pg_start(), 0);
	PQreset(b.db);
	long id = h_outbox_add(&b, "+212661100206", "queued after the fast restart", 0);
	h_wait_outbox(&b, id, "sent", 60000);
	assert_each_once(0, n + 1, &got, &dups);
	assert_lock_before_sends();
	fprintf(stderr, "REL|PostgreSQL restarts under a modem lock|immediate + fast|%d|%d|%d|%d|"
	    "%.1f s\n", n + 1, got, n + 1 - got, dups, (h_now_ms() - t_start) / 1000.0);
	snprintf(want, sizeof(want), "%s online ", host(&b));
	ck_assert_int_eq(h_wait_db(&b, "SELECT host || ' ' || state || ' ' || waiting_host "
	    "FROM modems WHERE name = $1", "x0", want, 10000), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_hostlock");
	TCase *tc = tcase_create("hostlock");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_same_modem_on_two_hosts);
	tcase_add_test(tc, test_database_restarts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
