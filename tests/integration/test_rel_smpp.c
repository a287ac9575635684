/*
 * test_rel_smpp.c: a carrier bind under faults (issue 13). A post by
 * alice fans out to N followers over one [smpp carrier] link into the
 * simulated SMSC while the SMSC throttles, says its queue is full, drops
 * the connection mid-window, leaves answers out, and while pigeond and
 * then pigeon-smpp are SIGKILLed. Each phase checks that every follower
 * got the post (nothing lost) and counts the duplicates two ways: what
 * the SMSC accepted more than once per recipient (its received.jsonl),
 * and pigeond's counter maybe_duplicated (a send whose answer never came);
 * both bounded by the window per fault. MO posts delivered around the
 * kills are applied exactly once.
 *
 * make test: N = 500. PIGEON_REL_LONG=1 (make test-reliability): N = 5000.
 * Each phase prints a "REL|" line for tests/reliability/table; its
 * "duplicated" column is "accepted twice by the SMSC / maybe_duplicated".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define ALICE	"+212663099001"
#define BOB	"+212663099002"
#define WINDOW	10
#define AHEAD	4	/* the bind's default `ahead` */
#define WAIT_MS	600000

static struct h_gateway g;
static struct h_smsc smsc;
static int n_followers;

static long
count(const char *sql, const char *param)
{
	const char *params[] = { param };
	return h_db_long(g.db, sql, param ? 1 : 0, params);
}

static long
counter(const char *name)
{
	return count("SELECT coalesce((SELECT value FROM counters WHERE name = $1), 0)",
	    name);
}

/* The post's id, once alice's text made it; 0 before. */
static long
post_id(const char *text)
{
	return count("SELECT coalesce(max(p.id), 0) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.phone = '" ALICE "' AND p.text = $1", text);
}

struct sent_arg {
	char	 pid[32];
	long	 want;
	long	 got;
};

static int
sent_reached(void *arg)
{
	struct sent_arg *s = arg;

	s->got = count("SELECT count(*) FROM outbox WHERE post_id = $1::bigint "
	    "AND state IN ('sent', 'delivered')", s->pid);
	if (s->got >= s->want)
		return 1;
	h_sleep_ms(100);
	return 0;
}

/* Alice posts text over the SMSC; returns the post's id once the fan-out
 * rows exist. */
static long
post(const char *text)
{
	long id = 0, t0 = h_now_ms();

	ck_assert_int_eq(h_smsc_deliver(&smsc, ALICE, text, NULL), 0);
	while ((id = post_id(text)) == 0 && h_now_ms() - t0 < 60000)
		h_sleep_ms(100);
	ck_assert_msg(id > 0, "the post \"%s\" was not made", text);
	return id;
}

/* Waits until the post's fan-out is sent (state sent) past want rows. */
static void
wait_sent(long pid, long want, int timeout_ms)
{
	struct sent_arg s = { .want = want };

	snprintf(s.pid, sizeof(s.pid), "%ld", pid);
	ck_assert_msg(h_wait_for(sent_reached, &s, timeout_ms) == 0,
	    "post %ld: %ld of %ld sent", pid, s.got, want);
}

/*
 * What reached the phones: the submits the SMSC accepted whose text is the
 * fan-out's, per follower. *distinct: followers who got it; *extra: the
 * copies beyond the first.
 */
static void
accepted(const char *text, long *distinct, long *extra)
{
	json_t *subs = h_smsc_submits(&smsc), *r;
	int *per = calloc(n_followers, sizeof(*per));
	size_t i;

	*distinct = *extra = 0;
	json_array_foreach(subs, i, r) {
		const char *d = json_string_value(json_object_get(r, "dest"));
		const char *t = json_string_value(json_object_get(r, "short_message"));
		json_t *st = json_object_get(r, "status");
		if (d == NULL || t == NULL || strcmp(t, text) != 0 ||
		    !json_is_integer(st) || json_integer_value(st) != 0 ||
		    strncmp(d, "2126630", 7) != 0)
			continue;
		int k = atoi(d + 7);
		if (k >= 0 && k < n_followers)
			per[k]++;
	}
	for (int k = 0; k < n_followers; k++) {
		*distinct += per[k] > 0;
		*extra += per[k] > 1 ? per[k] - 1 : 0;
	}
	free(per);
	json_decref(subs);
}

/*
 * The end of a phase: every follower got text, the duplicates the SMSC
 * took bounded by per_fault, the possible ones pigeond counted by
 * counted_per_fault (per fault); prints the REL| line.
 */
static void
phase_end_bound(const char *scenario, const char *faults, int nfaults, long pid,
    const char *text, long maybe0, long t0, int per_fault, int counted_per_fault)
{
	long distinct, extra, maybe;

	wait_sent(pid, n_followers, WAIT_MS);
	/* The last answers are in the record before pigeond records them. */
	accepted(text, &distinct, &extra);
	maybe = counter("maybe_duplicated") - maybe0;
	fprintf(stderr, "REL|%s|%s|%d|%ld|%ld|%ld / %ld|%.1f s\n", scenario, faults,
	    n_followers, distinct, n_followers - distinct, extra, maybe,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(distinct, n_followers);
	char sp[32];
	snprintf(sp, sizeof(sp), "%ld", pid);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE post_id = $1::bigint "
	    "AND state NOT IN ('sent', 'delivered')", sp), 0);
	ck_assert_msg(extra <= (long)nfaults * per_fault, "%s: %ld duplicates for %d "
	    "faults (window %d)", scenario, extra, nfaults, WINDOW);
	/* Every copy the SMSC took twice was counted as a possible one. */
	ck_assert_msg(maybe >= extra, "%s: %ld duplicates, %ld counted", scenario,
	    extra, maybe);
	ck_assert_msg(maybe <= (long)nfaults * counted_per_fault, "%s: maybe_duplicated %ld for "
	    "%d faults (window %d)", scenario, maybe, nfaults, WINDOW);
}

static void
phase_end(const char *scenario, const char *faults, int nfaults, long pid,
    const char *text, long maybe0, long t0)
{
	phase_end_bound(scenario, faults, nfaults, pid, text, maybe0, t0, WINDOW, WINDOW);
}

static void
setup(void)
{
	char *section, n[16];

	n_followers = getenv("PIGEON_REL_LONG") ? 5000 : 500;
	memset(&g, 0, sizeof(g));
	memset(&smsc, 0, sizeof(smsc));
	h_smsc_start(&smsc, "rel-smpp-smsc", NULL);
	section = h_smsc_section(&smsc, "carrier",
	    "window = 10\nresponse_timeout = 2\nenquire_link = 5\nreport = no\n");
	g.smpp_extra = section;
	g.nsmpp = 1;
	/* Fan-outs of 100 followers a transaction: every phase's post goes
	 * out while its later chunks are still being made. */
	g.extra_config = "timezone = UTC\nlimit_minute = 1000\n"
	    "limit_day = 100000\nfanout_chunk = 100\n";
	h_gateway_start(&g, "rel_smpp", 0);
	free(section);
	g.smpp_extra = NULL;	/* freed: the config is written, not rewritten */
	snprintf(n, sizeof(n), "%d", n_followers);
	/* alice, bob and the followers, straight into the tables. */
	count("WITH a AS (INSERT INTO accounts (phone, handle, lang) VALUES "
	    "('" ALICE "', 'alice', 'en'), ('" BOB "', 'bob', 'en') RETURNING id) "
	    "SELECT count(*) FROM a", NULL);
	ck_assert_int_eq(count("WITH a AS (INSERT INTO accounts (phone, handle, lang) "
	    "SELECT '+2126630' || lpad(i::text, 5, '0'), 'f' || i, 'en' "
	    "FROM generate_series(0, $1::int - 1) i RETURNING id) SELECT count(*) FROM a",
	    n), n_followers);
	ck_assert_int_eq(count("WITH f AS (INSERT INTO follows (followee, follower) "
	    "SELECT (SELECT id FROM accounts WHERE handle = 'alice'), id FROM accounts "
	    "WHERE handle LIKE 'f%' RETURNING 1) SELECT count(*) FROM f", NULL),
	    n_followers);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
	h_smsc_stop(&smsc);
}

static void
fault(const char *fmt, const char *arg)
{
	char buf[200];

	snprintf(buf, sizeof(buf), fmt, arg);
	json_decref(h_smsc_ctl(&smsc, "%s", buf));
}

START_TEST(test_throttle_and_queue_full)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	long thr0 = counter("link_throttled");
	const char *text = "@alice: rel throttled and queue full";

	/*
	 * Three windows' worth told to slow down, then as many "queue full"
	 * (the worker pauses once per window of them, doubling each time).
	 */
	char k[16];
	snprintf(k, sizeof(k), "%d", 3 * WINDOW);
	fault("{\"cmd\":\"fault\",\"kind\":\"throttle\",\"count\":%s}", k);
	long pid = post("rel throttled and queue full");
	wait_sent(pid, n_followers / 10, WAIT_MS);
	fault("{\"cmd\":\"fault\",\"kind\":\"qfull\",\"count\":%s}", k);
	phase_end("SMPP throttle + queue full", "throttle, qfull", 0, pid, text,
	    maybe0, t0);
	/* Slowed down, not failed: no attempt counted, none failed. */
	ck_assert_int_ge(counter("link_throttled") - thr0, 2 * 3 * WINDOW);
	char sp[32];
	snprintf(sp, sizeof(sp), "%ld", pid);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE post_id = $1::bigint "
	    "AND attempts > 1", sp), 0);
}
END_TEST

/*
 * The connection dropped mid-window, then an unbind from the SMSC, each
 * with `ahead` windows handed to the worker: what it had submitted is
 * "may have been sent" (an attempt), what it still held goes back to the
 * queue with no attempt charged, and the worker is not restarted: it
 * binds again by itself. Before, the held sends came to pigeond as plain
 * temporary failures while the link was still online: "5 sends in a row
 * failed" restarted the worker, and all 40 were charged an attempt and a
 * 10 s backoff (repeated drops failed messages the SMSC never saw).
 */
START_TEST(test_drop_mid_window)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	const char *text = "@alice: rel connection dropped";
	long binds = h_smsc_count(&smsc, "binds");
	char *worker = h_db_value(g.db, "SELECT pid::text FROM modems WHERE "
	    "name = 'carrier'", 0, NULL);

	ck_assert_ptr_nonnull(worker);
	/* Answers slowed so that the window is full when the line drops. */
	fault("{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":%s}", "50");
	long pid = post("rel connection dropped");
	wait_sent(pid, n_followers / 5, WAIT_MS);
	fault("{\"cmd\":\"fault\",\"kind\":\"drop\",\"after\":%s}", "5");
	h_smsc_wait_count(&smsc, "binds", binds + 1, WAIT_MS);
	wait_sent(pid, n_followers * 2 / 5, WAIT_MS);
	fault("{\"cmd\":\"fault\",\"kind\":\"unbind\"%s}", "");
	h_smsc_wait_count(&smsc, "binds", binds + 2, WAIT_MS);
	fault("{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":%s}", "0");
	phase_end("SMPP connection dropped mid-window, then unbound",
	    "1 drop, 1 unbind", 2, pid, text, maybe0, t0);
	/* The same worker throughout. */
	char *after = h_db_value(g.db, "SELECT pid::text FROM modems WHERE "
	    "name = 'carrier'", 0, NULL);
	ck_assert_msg(after != NULL && strcmp(after, worker) == 0,
	    "the worker was restarted (pid %s, then %s)", worker, after ? after : "none");
	free(after);
	free(worker);
	/* An attempt charged only to what was in flight at each fault. */
	char sp[32];
	snprintf(sp, sizeof(sp), "%ld", pid);
	long charged = count("SELECT count(*) FROM outbox WHERE post_id = $1::bigint "
	    "AND attempts > 1", sp);
	ck_assert_msg(charged <= 2 * WINDOW, "%ld sends charged an attempt for 2 "
	    "faults (window %d)", charged, WINDOW);
}
END_TEST

/* Lets the gateway's database take new connections again (or not); 0
 * when done. (ALTER DATABASE refuses to for the database it runs in.) */
static int
allow_connections(int yes)
{
	const char *params[] = { yes ? "true" : "false" };

	return h_db_long(g.db, "WITH d AS (UPDATE pg_database SET datallowconn = "
	    "$1::boolean WHERE datname = current_database() RETURNING 1) "
	    "SELECT count(*) FROM d", 1, params) == 1 ? 0 : -1;
}

/*
 * The outcomes' connection lost with a batch in its statement, and no
 * way back for it (the database takes no new connection): the batch is
 * sent again on the main connection, and the fan-out goes on to its end,
 * each copy sent once. The batch is caught in its statement by holding
 * the link's row (outcomes lock it first); the connection is then
 * terminated. Held for its own connection to come back, the batch and
 * every send behind it waited: the window full of outcomes not recorded.
 * Nothing fails the test while the row is held or the database refuses
 * connections: the cases after it need both back.
 */
START_TEST(test_outcomes_connection_lost)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	const char *text = "@alice: rel outcomes connection lost";
	PGconn *lk = h_db_connect(g.conninfo);
	char *backend = NULL;
	struct sent_arg all = { .want = n_followers };
	int refused = -1, terminated = 0, done = -1;

	/* Answers slowed, so that the fan-out is still going. */
	fault("{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":%s}", "50");
	long pid = post("rel outcomes connection lost");
	wait_sent(pid, n_followers / 10, WAIT_MS);
	PQclear(PQexec(lk, "BEGIN"));
	PQclear(PQexec(lk, "SELECT 1 FROM modems WHERE name = 'carrier' FOR UPDATE"));
	for (long w0 = h_now_ms(); backend == NULL && h_now_ms() - w0 < 60000; ) {
		backend = h_db_value(g.db, "SELECT pid::text FROM pg_stat_activity "
		    "WHERE datname = current_database() AND application_name "
		    "LIKE 'pigeond % outcomes' AND wait_event_type = 'Lock'", 0, NULL);
		if (backend == NULL)
			h_sleep_ms(20);
	}
	if (backend != NULL && (refused = allow_connections(0)) == 0) {
		const char *bp[] = { backend };
		terminated = h_db_long(g.db, "SELECT pg_terminate_backend($1::integer)::int",
		    1, bp) == 1;
	}
	PQclear(PQexec(lk, "ROLLBACK"));
	PQfinish(lk);
	fault("{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":%s}", "0");
	if (terminated) {
		snprintf(all.pid, sizeof(all.pid), "%ld", pid);
		done = h_wait_for(sent_reached, &all, 60000);
	}
	if (refused == 0)
		allow_connections(1);
	ck_assert_msg(backend != NULL, "no outcomes batch waited for the link's row");
	free(backend);
	ck_assert_int_eq(refused, 0);
	ck_assert(terminated);
	ck_assert_msg(done == 0, "%ld of %d sent with the outcomes' connection gone",
	    all.got, n_followers);
	phase_end("outcomes' connection lost", "1 batch lost", 0, pid, text, maybe0, t0);
}
END_TEST

START_TEST(test_no_answer)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	const char *text = "@alice: rel answers that never come";

	long pid = post("rel answers that never come");
	wait_sent(pid, n_followers / 5, WAIT_MS);
	/* Three submits never answered: settled after response_timeout. */
	fault("{\"cmd\":\"fault\",\"kind\":\"noanswer\",\"count\":%s}", "3");
	phase_end("SMPP answers that never come", "3 unanswered", 3, pid, text,
	    maybe0, t0);
	ck_assert_int_eq(counter("maybe_duplicated") - maybe0, 3);
}
END_TEST

struct pid_arg {
	const char *old;
};

static int
worker_respawned(void *arg)
{
	struct pid_arg *a = arg;
	char *v = h_db_value(g.db, "SELECT pid::text FROM modems WHERE name = 'carrier' "
	    "AND state = 'online'", 0, NULL);
	int ok = v != NULL && strcmp(v, a->old) != 0;

	free(v);
	if (!ok)
		h_sleep_ms(50);
	return ok;
}

/*
 * A fan-out left half made is finished by the next pigeond: the post and
 * its first two chunks are made while pigeond is down, as a post's
 * transaction and the chunks a killed pigeond had committed leave them;
 * then pigeond starts. Every follower gets the post, once.
 */
START_TEST(test_fanout_resumes)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	const char *text = "@alice: rel fan-out resumed";
	char sp[32];

	h_stop(g.pigeond, SIGKILL, 1000);
	long pid = count("SELECT pigeon_post((SELECT id FROM accounts WHERE handle = "
	    "'alice'), 'rel fan-out resumed', NULL, false)", NULL);
	ck_assert_int_gt(pid, 0);
	snprintf(sp, sizeof(sp), "%ld", pid);
	ck_assert_int_eq(count("SELECT count(*) FROM fanouts WHERE post_id = $1::bigint",
	    sp), 1);
	ck_assert_int_eq(count("SELECT pigeon_fanout_step()::integer", NULL), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE post_id = $1::bigint",
	    sp), 200);
	h_pigeond_start(&g);
	phase_end("SMPP fan-out resumed by a restart", "pigeond down mid-fan-out", 0,
	    pid, text, maybe0, t0);
	ck_assert_int_eq(count("SELECT count(*) FROM fanouts", NULL), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE post_id = $1::bigint",
	    sp), n_followers);
}
END_TEST

/* MO posts from bob while the kills go on: each applied exactly once. */
static int mo_sent;

static void
bob_posts(int n)
{
	char text[64];

	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "bob during the kills %d", mo_sent++);
		ck_assert_int_eq(h_smsc_deliver(&smsc, BOB, text, NULL), 0);
	}
}

START_TEST(test_kill_pigeond)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	const char *text = "@alice: rel pigeond killed";
	int kills = getenv("PIGEON_REL_LONG") ? 5 : 2;

	long pid = post("rel pigeond killed");
	for (int k = 1; k <= kills; k++) {
		wait_sent(pid, (long)n_followers * k / (kills + 1), WAIT_MS);
		bob_posts(3);
		h_stop(g.pigeond, SIGKILL, 1000);
		/* The SMSC holds what comes now until a bind answers it. */
		bob_posts(3);
		h_pigeond_start(&g);
	}
	/*
	 * A slot frees only when its outcome is committed, and pigeond hands
	 * a bind `ahead` windows (link.c): a kill leaves at most that many
	 * sends whose outcome the database lacks.
	 */
	phase_end_bound("pigeond SIGKILL during an SMPP fan-out", "pigeond SIGKILL",
	    kills, pid, text, maybe0, t0, AHEAD * WINDOW, AHEAD * WINDOW);
}
END_TEST

START_TEST(test_kill_worker)
{
	long t0 = h_now_ms(), maybe0 = counter("maybe_duplicated");
	const char *text = "@alice: rel worker killed";
	int kills = getenv("PIGEON_REL_LONG") ? 5 : 2;

	long pid = post("rel worker killed");
	for (int k = 1; k <= kills; k++) {
		wait_sent(pid, (long)n_followers * k / (kills + 1), WAIT_MS);
		char *w = h_db_value(g.db, "SELECT pid::text FROM modems WHERE "
		    "name = 'carrier'", 0, NULL);
		ck_assert_ptr_nonnull(w);
		bob_posts(2);
		kill(atoi(w), SIGKILL);
		bob_posts(2);
		struct pid_arg a = { w };
		ck_assert_int_eq(h_wait_for(worker_respawned, &a, 60000), 0);
		free(w);
	}
	/* The SMSC took at most a window twice; pigeond counts every send
	 * the worker had, those it queued beyond the window too. */
	phase_end_bound("pigeon-smpp SIGKILL during a fan-out", "worker SIGKILL",
	    kills, pid, text, maybe0, t0, WINDOW, AHEAD * WINDOW);
}
END_TEST

static int
mo_all_applied(void *arg)
{
	(void)arg;
	if (count("SELECT count(DISTINCT p.text) FROM posts p JOIN accounts a ON "
	    "a.id = p.account_id WHERE a.phone = '" BOB "'", NULL) >= mo_sent)
		return 1;
	h_sleep_ms(100);
	return 0;
}

START_TEST(test_mo_exactly_once)
{
	ck_assert_int_gt(mo_sent, 0);
	ck_assert_int_eq(h_wait_for(mo_all_applied, NULL, WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	long posts = count("SELECT count(*) FROM posts p JOIN accounts a ON "
	    "a.id = p.account_id WHERE a.phone = '" BOB "'", NULL);
	long msgs = count("SELECT count(*) FROM inbox_messages WHERE sender = '" BOB "'",
	    NULL);
	fprintf(stderr, "REL|SMPP MO during kills|pigeond + worker SIGKILL|%d|%ld|%ld|%ld|-\n",
	    mo_sent, posts, mo_sent - posts, msgs - mo_sent);
	ck_assert_int_eq(posts, mo_sent);
	ck_assert_int_eq(msgs, mo_sent);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rel_smpp");
	TCase *tc = tcase_create("rel_smpp");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 1800);
	tcase_add_test(tc, test_throttle_and_queue_full);
	tcase_add_test(tc, test_drop_mid_window);
	tcase_add_test(tc, test_no_answer);
	tcase_add_test(tc, test_outcomes_connection_lost);
	tcase_add_test(tc, test_kill_pigeond);
	tcase_add_test(tc, test_kill_worker);
	tcase_add_test(tc, test_fanout_resumes);
	tcase_add_test(tc, test_mo_exactly_once);
	suite_add_tcase(s, tc);
	return h_main(s);
}
