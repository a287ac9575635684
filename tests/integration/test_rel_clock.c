/*
 * Issue 18, item 6: the database's clock steps, under dispatch. Every rule
 * of the send queue reads PostgreSQL's now() (docs/reliability.md, "Which
 * clock each rule reads"): due times, leases, validity. The test runs a
 * cluster of its own under libfaketime (LD_PRELOAD; FAKETIME_TIMESTAMP_FILE
 * is read at every call, so the test moves the server's clock while it
 * runs; the monotonic clock is left alone) and steps it:
 *
 * - back an hour while 200 queued messages go out, for 15 s, then forward
 *   again (the clock corrected);
 * - forward a day while 200 go out.
 *
 * pigeond's own clocks are not moved: its rate windows and timers read the
 * host's monotonic clock, which a step of the wall clock does not move.
 *
 * Printed as REL| rows; asserted: every message ends sent or, with its
 * reason, expired (none stays queued or leased), a message is sent twice
 * only when it was on a radio at the step (one per modem), and the queue
 * does not stand still behind the clock stepped back (it did for the
 * length of the step, until pigeon_clock_check, 39_clock.sql).
 *
 * The "rules" cases step the clock over midnight and into the next night
 * for quiet hours and the trackers' daily cap; the "limits" cases step it
 * back an hour under a sender's limit, a reply cap and a long SMS waiting
 * for its parts; the "host" case steps pigeond's own wall clock back
 * under /metrics, and the "webhook" case runs it 10 minutes ahead under
 * a receiver checking the signature's t= (below).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>

#include "harness.h"

#define NMODEMS		2
#define RULES_TOKEN	"clock-token-0123456789abcdef0123456789"

static struct h_gateway g;
static char *fake_dir;
static struct h_clock clk;	/* the server's clock */
static int n_out;

static long
count(const char *sql)
{
	return h_db_long(g.db, sql, 0, NULL);
}

/* The rules tcase's config, appended to [pigeon]; its first clock. */
static const char *rules_extra;
static long rules_clock;

static void
setup(void)
{
	char cwd[1024], *out = NULL;
	static char extra[1400];

	n_out = getenv("PIGEON_REL_LONG") ? 600 : 200;
	fake_dir = h_tmpdir("clock-fake");
	setenv("PIGEON_FAKE_DIR", fake_dir, 1);
	/* A backlog that outlasts the 30 s passes over leases and validity. */
	setenv("PIGEON_FAKE_SEND_MS", "600", 1);
	out = h_clock_cluster_start(&clk, "clock", rules_clock);

	memset(&g, 0, sizeof(g));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nlease_seconds = 5\n"
	    "limit_minute = 100000\nlimit_day = 1000000\nwatchdog_seconds = 3\n%s", cwd,
	    rules_extra ? rules_extra : "");
	g.extra_config = extra;
	if (rules_extra)
		g.http_extra = "token = " RULES_TOKEN "\n";
	h_gateway_start_on(&g, "rel_clock", NMODEMS, out);
	free(out);
}

static void
teardown(void)
{
	if (g.dir)
		h_gateway_stop(&g);
	h_clock_cluster_destroy(&clk);
	unsetenv("PIGEON_FAKE_DIR");
	unsetenv("PIGEON_FAKE_SEND_MS");
	free(fake_dir);
	fake_dir = NULL;
}

static long
queue(const char *prefix, int n)
{
	char ns[16];
	snprintf(ns, sizeof(ns), "%d", n);
	const char *params[] = { ns, prefix };
	long first_id = h_db_long(g.db,
	    "WITH i AS (INSERT INTO outbox (recipient, text, class) "
	    "SELECT '+212' || $2 || lpad(k::text, 6, '0'), 'clock ' || k, 1::smallint "
	    "FROM generate_series(1, $1::int) k RETURNING id) SELECT min(id) FROM i",
	    2, params);
	ck_assert_int_gt(first_id, 0);
	h_db_long(g.db, "SELECT 1 FROM pg_notify('pigeon_outbox', '')", 0, NULL);
	return first_id;
}

struct reach {
	const char *sql;
	const char *param;
	long want;
	long got;
};

static int
reached(void *p)
{
	struct reach *a = p;
	const char *params[] = { a->param };
	a->got = h_db_long(g.db, a->sql, a->param ? 1 : 0, params);
	return a->got >= a->want;
}

static void
count_sends(long first_id, long n, long *distinct, long *total)
{
	int *seen = calloc((size_t)n, sizeof(int));
	*distinct = *total = 0;
	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		h_fake_sends(fake_dir, name, first_id, n, seen);
	}
	for (long i = 0; i < n; i++) {
		*total += seen[i];
		*distinct += seen[i] > 0;
	}
	free(seen);
}

#define DONE_SQL "SELECT count(*) FROM outbox WHERE id >= $1::bigint " \
	"AND state IN ('sent', 'delivered', 'expired', 'failed')"
#define SENT_SQL "SELECT count(*) FROM outbox WHERE id >= $1::bigint " \
	"AND state IN ('sent', 'delivered')"

/* Every message of the run is sent or expired with its reason; prints
 * the REL| row. */
static void
finish(const char *scenario, const char *faults, long first_id, long t0)
{
	char first[32];
	snprintf(first, sizeof(first), "%ld", first_id);
	struct reach done = { DONE_SQL, first, n_out, 0 };
	ck_assert_int_eq(h_wait_for(reached, &done, 300000), 0);
	const char *params[] = { first };
	long expired = h_db_long(g.db, "SELECT count(*) FROM outbox WHERE id >= $1::bigint "
	    "AND state = 'expired' AND last_error LIKE 'not sent within its validity%'",
	    1, params);
	long distinct, total;
	count_sends(first_id, n_out, &distinct, &total);
	/* Expired with its reason is not lost: it shows in the faults column. */
	fprintf(stderr, "REL|%s|%s%s%.0ld%s|%d|%ld|%ld|%ld|%.1f s\n", scenario, faults,
	    expired ? ", " : "", expired, expired ? " expired" : "", n_out, distinct,
	    n_out - distinct - expired, total - distinct, (h_now_ms() - t0) / 1000.0);
	fprintf(stderr, "rel: %s: %ld sent, %ld expired (validity), %ld sent twice\n",
	    scenario, distinct, expired, total - distinct);
	/* Not sent means expired, with the reason. */
	ck_assert_int_eq(distinct + expired, n_out);
	ck_assert_int_le(total - distinct, NMODEMS);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE state IN "
	    "('queued', 'sending') AND text LIKE 'clock %'"), 0);
}

START_TEST(test_clock_back_an_hour)
{
	long first_id = queue("667", n_out);
	char first[32];
	snprintf(first, sizeof(first), "%ld", first_id);
	struct reach some = { SENT_SQL, first, n_out / 5, 0 };
	ck_assert_int_eq(h_wait_for(reached, &some, 120000), 0);
	h_clock_set(&clk, "-1h");
	long t_step = h_now_ms();
	const char *params[] = { first };
	long at_step = h_db_long(g.db, SENT_SQL, 1, params);
	/* Not a wait for a condition: the fault's length, 15 s behind (the
	 * REL row and docs/reliability.md report the scenario so); the queue
	 * stood still for all of it before. */
	h_sleep_ms(15000);
	long after = h_db_long(g.db, SENT_SQL, 1, params);
	h_clock_set(&clk, "+0");
	long t_fix = h_now_ms();
	fprintf(stderr, "rel: clock back 1 h: %ld sent at the step, %ld sent in the 15 s "
	    "behind (of %d)\n", at_step, after - at_step, n_out);
	/* The time column: from the clock put right to everything done. */
	finish("DB clock back 1 h mid-dispatch", "-1 h for 15 s", first_id, t_fix);
	/* The queue kept going behind the clock (pigeon_clock_check): more
	 * than the sends on the radios at the step. It stood still before. */
	ck_assert_msg(after - at_step > 2 * NMODEMS, "the queue stood still behind the "
	    "clock stepped back: %ld sent in 15 s", after - at_step);
	fprintf(stderr, "rel: clock back 1 h: all done %.1f s after the clock was right "
	    "again (%.1f s after the step)\n", (h_now_ms() - t_fix) / 1000.0,
	    (h_now_ms() - t_step) / 1000.0);
}
END_TEST

START_TEST(test_clock_forward_a_day)
{
	long first_id = queue("668", n_out);
	char first[32];
	snprintf(first, sizeof(first), "%ld", first_id);
	struct reach some = { SENT_SQL, first, n_out / 5, 0 };
	ck_assert_int_eq(h_wait_for(reached, &some, 120000), 0);
	h_clock_set(&clk, "+1d");
	/* The time column: from the step to everything settled. */
	finish("DB clock forward 1 day mid-dispatch", "+1 day", first_id, h_now_ms());
	h_clock_set(&clk, "+0");
}
END_TEST


/* ------------------------------------------------------------------ */
/* Quiet hours and daily caps under the stepped clock. The service's time
 * zone is UTC and day D is the UTC day that starts at rules_day, a couple
 * of days ahead of the real one, so every step lands where the test says:
 * alice posts "zebra N" through the API; trevor tracks "zebra" (a cap of
 * 3 tracking SMS a day); fatima follows alice and sleeps from 00:00 to
 * 02:00 (her copies are held to 02:00, then sent by the fake modems). */

#define HOUR	3600L
#define DAY	86400L

static long rules_day;

static void
rules_setup(void)
{
	rules_day = ((long)time(NULL) / DAY + 2) * DAY;
	rules_clock = rules_day + 30 * 60;
	/* Validity and the held updates' age outlast the day forward: what
	 * is tested is the window, not those (see the dispatch tests). */
	rules_extra = "timezone = UTC\ntrack_day = 3\nvalidity = 604800\n"
	    "hold_max_age = 604800\nrecipient_day = 0\n";
	setenv("PIGEON_FAKE_SEND_MS", "50", 1);
	setup();
	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212662000001', 'alice', 'Alice', 'en'), "
	    "('+212662000002', 'trevor', 'Trevor', 'en'), "
	    "('+212662000003', 'fatima', 'Fatima', 'en')"));
	PQclear(PQexec(g.db, "UPDATE accounts SET sleep_from = 0, sleep_to = 2 "
	    "WHERE handle = 'fatima'"));
	PQclear(PQexec(g.db, "INSERT INTO follows (followee, follower) SELECT a.id, f.id "
	    "FROM accounts a, accounts f WHERE a.handle = 'alice' AND f.handle = 'fatima'"));
	PQclear(PQexec(g.db, "INSERT INTO tracks (account_id, term, word) "
	    "SELECT id, pigeon_track_term('zebra'), 'zebra' FROM accounts "
	    "WHERE handle = 'trevor'"));
}

static void
rules_teardown(void)
{
	teardown();
	rules_extra = NULL;
	rules_clock = 0;
}

static void
post(int n)
{
	char body[96], *resp = NULL;
	snprintf(body, sizeof(body), "{\"user\":\"alice\",\"text\":\"zebra news %d\"}", n);
	int code = h_http(g.http_port, "POST", "/api/posts", RULES_TOKEN, body, &resp);
	ck_assert_msg(code == 201, "POST /api/posts: %d %s", code, resp ? resp : "");
	free(resp);
}

/* Tracking copies trevor got. */
static long
tracked(void)
{
	return count("SELECT count(*) FROM outbox WHERE recipient = '+212662000002' "
	    "AND via = 'track'");
}

/* fatima's copies in a state ('queued', 'sent'...). */
static long
fatima(const char *state)
{
	const char *params[] = { state };
	return h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = "
	    "'+212662000003' AND post_id IS NOT NULL AND state = $1", 1, params);
}

static int
fatima_sent(void *want)
{
	return fatima("sent") + fatima("delivered") >= *(long *)want;
}

/* The server's clock now, seconds since the epoch. */
static long
db_clock(void)
{
	return count("SELECT extract(epoch FROM clock_timestamp())::bigint");
}

/* Each of fatima's held copies sent at or after held_until (server
 * time), and at most slack s after it (the claim's poll); prints when. */
static void
released_at(long held_until, long slack, const char *what)
{
	char lo[32], hi[32];
	snprintf(lo, sizeof(lo), "%ld", held_until);
	snprintf(hi, sizeof(hi), "%ld", held_until + slack);
	const char *params[] = { lo, hi };
	long early = h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = "
	    "'+212662000003' AND held_since IS NOT NULL "
	    "AND sent_at < to_timestamp($1::bigint)",
	    1, params);
	long late = h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = "
	    "'+212662000003' AND held_since IS NOT NULL "
	    "AND sent_at > to_timestamp($1::bigint)",
	    1, params + 1);
	long first = h_db_long(g.db, "SELECT coalesce(extract(epoch FROM min(sent_at) - "
	    "to_timestamp($1::bigint))::bigint, -1) FROM outbox WHERE recipient = "
	    "'+212662000003' AND held_since IS NOT NULL "
	    "AND sent_at >= to_timestamp($1::bigint)",
	    1, params);
	fprintf(stderr, "rel: quiet hours, %s: released %ld s after 02:00 (server "
	    "clock); %ld sent before it, %ld more than %ld s after\n", what, first, early,
	    late, slack);
	ck_assert_int_eq(early, 0);
	ck_assert_int_eq(late, 0);
}

START_TEST(test_rules_back_an_hour)
{
	long t0 = h_now_ms();
	/* D 00:30, inside fatima's window: held to D 02:00; trevor's cap. */
	for (int i = 1; i <= 4; i++)
		post(i);
	ck_assert_int_eq(tracked(), 3);
	ck_assert_int_eq(fatima("queued"), 4);

	/* Back an hour: D-1 23:30. The day's cap was spent on D: no new
	 * allowance for a day the clock left (it came back to it). */
	h_clock_at(&clk, rules_day - 30 * 60);
	post(5);
	long back = tracked();
	/* fatima is outside her window at 23:30: that copy goes now; the
	 * four held still wait for D 02:00. */
	long one = 1;
	ck_assert_int_eq(h_wait_for(fatima_sent, &one, 30000), 0);

	/* The clock put right: D 00:31. Still day D: still capped. */
	h_clock_at(&clk, rules_day + 31 * 60);
	post(6);
	long fixed = tracked();
	ck_assert_int_eq(fatima("queued"), 5);

	/* Just before D 02:00 nothing more goes; at 02:00 the held go. */
	h_clock_at(&clk, rules_day + 2 * HOUR - 8);
	/* The scheduler caught up twice at 01:59:52 or later (the second
	 * begun after the step): a copy released early is claimed by then. */
	h_wait_scheduler_caught_up(&g, RULES_TOKEN, 2, 60000);
	/* Claimed is 'sending' at once; sent comes after the modem. */
	long before = fatima("sending") + fatima("sent") + fatima("delivered");
	long checked_at = db_clock();	/* the count came before this */
	long all = 6;
	int rc = h_wait_for(fatima_sent, &all, 60000);
	long now = db_clock();
	fprintf(stderr, "rel: caps, back 1 h: trevor's tracking SMS %ld on D, %ld after "
	    "the step to D-1 23:30, %ld after the clock was put right (cap 3)\n", 3L,
	    back, fixed);
	/* in: fatima's 6 copies and trevor's 3 of day D; duplicated: a
	 * tracking SMS beyond the day's cap. */
	long out = fatima("sent") + fatima("delivered") + fixed;
	fprintf(stderr, "REL|DB clock back 1 h: quiet hours, caps|-1 h over midnight|"
	    "%d|%ld|%ld|%ld|%.1f s\n", 9, out, out < 9 ? 9 - out : 0, fixed - 3,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_msg(back == 3, "a step back over midnight gave trevor %ld more "
	    "tracking SMS (the day's cap again)", back - 3);
	ck_assert_msg(fixed == 3, "trevor's cap after the clock was put right: %ld", fixed);
	ck_assert_msg(checked_at < rules_day + 2 * HOUR, "the check before 02:00 came "
	    "%ld s after it", checked_at - rules_day - 2 * HOUR);
	ck_assert_int_eq(before, 1);
	ck_assert_int_eq(rc, 0);
	released_at(rules_day + 2 * HOUR, 10, "back 1 h");
	ck_assert_int_le(now, rules_day + 2 * HOUR + 60);
}
END_TEST

START_TEST(test_rules_forward_a_day)
{
	long t0 = h_now_ms();
	/* D 00:30: trevor's cap spent, fatima's copies held to D 02:00. */
	for (int i = 1; i <= 4; i++)
		post(i);
	ck_assert_int_eq(tracked(), 3);
	ck_assert_int_eq(fatima("queued"), 4);

	/* Forward a day: D+1 00:30, inside fatima's window again. Her copies
	 * are due by their time (D 02:00 passed) but she is asleep: held to
	 * D+1 02:00. trevor has a new day: three more, once. */
	h_clock_at(&clk, rules_day + DAY + 30 * 60);
	for (int i = 5; i <= 8; i++)
		post(i);
	long fresh = tracked() - 3;
	/* The scheduler caught up twice since (the second begun after the
	 * step and the posts): a held copy due again is claimed by then. */
	h_wait_scheduler_caught_up(&g, RULES_TOKEN, 2, 60000);
	long asleep = fatima("sending") + fatima("sent") + fatima("delivered");
	fprintf(stderr, "rel: caps, forward 1 day: trevor's tracking SMS %ld on D, %ld on "
	    "D+1 (cap 3); fatima's held copies sent inside her window: %ld\n", 3L, fresh,
	    asleep);
	ck_assert_int_eq(fresh, 3);
	ck_assert_msg(asleep == 0, "%ld held update(s) sent at 00:30 inside quiet hours "
	    "(their hold of the day before ended; the claim does not look at the window "
	    "again)", asleep);

	h_clock_at(&clk, rules_day + DAY + 2 * HOUR - 8);
	long all = 8;
	ck_assert_int_eq(h_wait_for(fatima_sent, &all, 60000), 0);
	released_at(rules_day + DAY + 2 * HOUR, 10, "forward 1 day");
	/* in: fatima's 8 copies and trevor's 3 of D and 3 of D+1. */
	long out = fatima("sent") + fatima("delivered") + tracked();
	fprintf(stderr, "REL|DB clock +1 day: quiet hours, caps|+1 day into the night|%d|%ld|%ld|"
	    "%ld|%.1f s\n", 14, out, out < 14 ? 14 - out : 0, tracked() - 6,
	    (h_now_ms() - t0) / 1000.0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pigeond's own wall clock stepped back an hour (libfaketime preloaded
 * into pigeond alone, its monotonic clock left alone): /metrics must
 * still show what changed. Its cache aged on time(), and a clock
 * stepped back kept the first answer for the hour. */

#define HOST_TOKEN	"clock-token-0123456789abcdef0123456789"

/* pigeond's clock at its start, and its [http] (NULL: the token alone). */
static const char *host_clock = "+0";
static const char *host_http;

static void
host_setup(void)
{
	char *asan = h_strf("%s:verify_asan_link_order=0",
	    getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");

	clk.clock_file = h_strf("/tmp/pigeon-clock-%d", (int)getpid());
	h_clock_set(&clk, host_clock);
	setenv("LD_PRELOAD", H_FAKETIME_LIB, 1);
	setenv("FAKETIME_TIMESTAMP_FILE", clk.clock_file, 1);
	setenv("FAKETIME_NO_CACHE", "1", 1);
	setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
	setenv("ASAN_OPTIONS", asan, 1);
	free(asan);
	memset(&g, 0, sizeof(g));
	g.http_extra = host_http ? (char *)host_http : "token = " HOST_TOKEN "\n";
	h_gateway_start(&g, "rel_clock_host", 0);
	unsetenv("LD_PRELOAD");
	unsetenv("FAKETIME_TIMESTAMP_FILE");
}

static void
host_teardown(void)
{
	if (g.dir)
		h_gateway_stop(&g);
	h_clock_cluster_destroy(&clk);	/* the clock file alone */
}

/* /metrics shows *want queued operator messages. */
static int
metrics_queued(void *want)
{
	char *body = NULL, needle[96];
	int code = h_http(g.http_port, "GET", "/metrics", HOST_TOKEN, NULL, &body);
	snprintf(needle, sizeof(needle),
	    "\npigeon_queue_depth{state=\"queued\",class=\"operator\"} %d\n", *(int *)want);
	int ok = code == 200 && body && strstr(body, needle);
	free(body);
	return ok;
}

START_TEST(test_host_clock_back_metrics)
{
	int zero = 0, one = 1;
	ck_assert_int_eq(h_wait_for(metrics_queued, &zero, 30000), 0);
	/* Cached now; then pigeond's clock an hour back and a message queued
	 * (no modem: it stays queued). */
	h_clock_set(&clk, "-1h");
	PQclear(PQexec(g.db, "INSERT INTO outbox (recipient, text, class) "
	    "VALUES ('+212663000001', 'metrics', 1)"));
	long t0 = h_now_ms();
	int rc = h_wait_for(metrics_queued, &one, 30000);
	fprintf(stderr, "rel: /metrics with pigeond's clock stepped back 1 h: the new "
	    "count %s after %.1f s (cache 10 s)\n", rc == 0 ? "shown" : "NOT shown",
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_msg(rc == 0, "/metrics served its cache for the clock's step");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Windows and waits counted back from the database's clock, stepped back
 * an hour (pigeond's real worker and a simulated modem): a sender's
 * limits and the reply caps count rolling windows, and a row stamped
 * before the step is in the server's future after it. Counted in "this
 * minute", an active member was rate limited, every SMS ignored, and her
 * replies dropped, for the length of the step. And a long SMS missing a
 * part waited concat_timeout plus the step. */

#define ALICE	"+212662000011"
#define BOB	"+212662000012"
#define CAROL	"+212662000013"

static void
limits_setup(void)
{
	char *out = h_clock_cluster_start(&clk, "clock_limits", 0);

	memset(&g, 0, sizeof(g));
	g.extra_config = "limit_minute = 10\nconcat_timeout = 30\n";
	h_gateway_start_on(&g, "rel_clock_limits", 1, out);
	free(out);
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212662000011', 'alice', 'Alice', 'en'), "
	    "('+212662000012', 'bob', 'Bob', 'en'), "
	    "('+212662000013', 'carol', 'Carol', 'en')");
}

/* Waits until sql ($1 = param) counts want or more; fails the test if
 * not within timeout_ms. */
static void
wait_count(const char *sql, const char *param, long want, int timeout_ms)
{
	struct reach r = { sql, param, want, 0 };
	ck_assert_msg(h_wait_for(reached, &r, timeout_ms) == 0, "%s ($1 = %s): %ld, "
	    "not %ld", sql, param ? param : "", r.got, want);
}

/* The clock is stepped once pigeond's clock check has seen it (every
 * 5 s: clockstep.c): a step before its first look is no step to it. */
static void
high_water_seen(void)
{
	wait_count("SELECT count(*) FROM clock_high_water", NULL, 1, 30000);
}

#define DONE_BY "SELECT count(*) FROM inbox_messages WHERE sender = $1 " \
	"AND state <> 'new'"
#define WHOIS_TO_BOB "SELECT count(*) FROM outbox WHERE recipient = " \
	"'+212662000012' AND reply_key = 'whois'"

START_TEST(test_limits_back_an_hour)
{
	/* alice: 10 SMS applied in the last 50 minutes, one every 5. bob:
	 * 15 replies in the last hour, 10 more 65 to 110 minutes ago (his
	 * caps: 20 an hour, 100 a day). */
	h_db_exec(g.db, "INSERT INTO inbox_messages (modem, sender, sender_kind, text, "
	    "parts, state, received_at) SELECT 'sim0', '+212662000011', 'e164', "
	    "'earlier ' || k, 1, 'done', now() - k * interval '5 minutes' "
	    "FROM generate_series(1, 10) k");
	h_db_exec(g.db, "INSERT INTO outbox (recipient, text, class, state, reply_key, "
	    "created_at, sent_at) SELECT '+212662000012', 'earlier', 0, 'sent', 'stats', "
	    "t, t FROM (SELECT now() - k * interval '3 minutes' AS t "
	    "FROM generate_series(1, 15) k UNION ALL SELECT now() - interval '1 hour' "
	    "- k * interval '5 minutes' FROM generate_series(1, 10) k) x");

	/* Before the step: alice's post is applied, bob is answered. */
	ck_assert_int_eq(h_text(&g, 0, ALICE, "before the step"), 0);
	ck_assert_int_eq(h_text(&g, 0, BOB, "WHOIS alice"), 0);
	wait_count(DONE_BY, ALICE, 11, 60000);
	wait_count(DONE_BY, BOB, 1, 60000);
	ck_assert_int_eq(count(WHOIS_TO_BOB), 1);

	/* The database's clock an hour back: each of those rows is in its
	 * future now. */
	high_water_seen();
	h_clock_set(&clk, "-1h");
	ck_assert_int_eq(h_text(&g, 0, ALICE, "after the step"), 0);
	/* Not the same text: the same SMS from the same phone in the same
	 * second of the simulator's clock is one SMS read twice (its dedupe
	 * key), and CI once sent both within one. */
	ck_assert_int_eq(h_text(&g, 0, BOB, "WHOIS @alice"), 0);
	wait_count(DONE_BY, ALICE, 12, 60000);
	wait_count(DONE_BY, BOB, 2, 60000);
	char *after = h_db_value(g.db, "SELECT state || ' / ' || coalesce(result, '') "
	    "FROM inbox_messages WHERE sender = '+212662000011' AND text = "
	    "'after the step'", 0, NULL);
	long whois = count(WHOIS_TO_BOB);
	fprintf(stderr, "rel: limits, back 1 h: alice's SMS after the step %s; bob's "
	    "WHOIS answered %ld of 2\n", after, whois);
	ck_assert_msg(strncmp(after, "done / post ", 12) == 0, "alice's SMS after the "
	    "step: %s (rows from before the step counted as this minute)", after);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE recipient = "
	    "'+212662000011' AND reply_key = 'rate_limited'"), 0);
	ck_assert_msg(whois == 2, "bob's WHOIS after the step was not answered (reply "
	    "capped: the hour before counted as this hour)");
	/* What bob sees. */
	ck_assert_int_eq(h_wait_received(&g, BOB, "@alice: ", 60000), 0);
	long got = 0;
	for (long deadline = h_now_ms() + 60000; h_now_ms() < deadline; h_sleep_ms(200))
		if ((got = h_received_matching(&g, BOB, "@alice: ")) >= 2)
			break;
	ck_assert_int_eq(got, 2);
	free(after);
}
END_TEST

/* A long SMS of 2 parts, the second lost: part 1 alone is applied after
 * concat_timeout (30 s here), also when the database's clock stepped
 * back an hour meanwhile (it waited an hour more). */
START_TEST(test_concat_back_an_hour)
{
	char text[400];

	snprintf(text, sizeof(text), "%s", "a long post in two parts, of which the "
	    "second is lost on the way: the first is posted alone once concat_timeout "
	    "has passed, whatever the database's clock did meanwhile, and not an hour "
	    "later than that. The end of it.");
	ck_assert_int_eq(h_deliver(&g, 0, CAROL, text, "--ref 9 --lose 2"), 0);
	wait_count("SELECT count(*) FROM inbox_parts WHERE sender_norm = $1", CAROL, 1,
	    60000);
	high_water_seen();
	long t0 = h_now_ms();
	h_clock_set(&clk, "-1h");
	struct reach joined = { "SELECT count(*) FROM inbox_messages WHERE sender = $1",
	    CAROL, 1, 0 };
	/* concat_timeout, the expiry pass (every 30 s) and the clock's check
	 * (every 5 s) are about 65 s; an hour more without the check. */
	int rc = h_wait_for(reached, &joined, 120000);
	double waited = (h_now_ms() - t0) / 1000.0;
	fprintf(stderr, "rel: concat_timeout 30 s, clock back 1 h: part 1 of 2 %s after "
	    "%.1f s\n", rc == 0 ? "applied alone" : "still waiting", waited);
	ck_assert_msg(rc == 0, "part 1 of 2 still waiting %.0f s after the step back "
	    "(concat_timeout 30 s)", waited);
	/* Not before its time either. */
	ck_assert_msg(waited >= 25, "part 1 applied %.1f s after it came", waited);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = "
	    "'+212662000013' AND complete = false AND parts = 1"), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pigeond's own wall clock ten minutes ahead (libfaketime preloaded into
 * pigeond alone): its webhooks' signatures. A receiver that follows
 * docs/api.md refuses a t= more than 5 minutes off its clock; t= was the
 * host's time(), and every delivery of that host was refused (401) for
 * its whole day of retries. */

#define HOOK_SECRET	"clock-hook-secret"
static int hook_fd = -1;
static pid_t hook_pid;
static char *hook_log;
static char hook_http[256];

/* The receiver: answers 200 when t= is within 300 s of its clock, else
 * 401; logs "CODE OFFSET" (t - its clock) a request. */
static void
hook_serve(void)
{
	for (;;) {
		int c = accept(hook_fd, NULL, NULL);
		char buf[16384];
		if (c == -1)
			continue;
		h_http_read_request(c, buf, sizeof(buf));
		char *sig = strcasestr(buf, "X-Pigeon-Signature: t=");
		long long off = sig ? strtoll(sig + 22, NULL, 10) - (long long)time(NULL) : 0;
		int code = sig && off >= -300 && off <= 300 ? 200 : 401;
		FILE *f = fopen(hook_log, "a");
		if (f != NULL) {
			fprintf(f, "%d %lld\n", code, off);
			fclose(f);
		}
		const char *answer = code == 200 ?
		    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" :
		    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if (write(c, answer, strlen(answer)) < 0)
			_exit(1);
		close(c);
	}
}

static void
hook_setup(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int one = 1;

	char *dir = h_tmpdir("clock-hook");
	hook_log = h_strf("%s/hook.log", dir);
	free(dir);
	hook_fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(hook_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(hook_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(hook_fd, 16), 0);
	getsockname(hook_fd, (struct sockaddr *)&sa, &len);
	hook_pid = fork();
	ck_assert_int_ne(hook_pid, -1);
	if (hook_pid == 0) {
		hook_serve();
		_exit(0);
	}
	snprintf(hook_http, sizeof(hook_http), "token = " HOST_TOKEN "\nwebhooks = "
	    "http://127.0.0.1:%d/hook\nwebhook_secret = " HOOK_SECRET "\n",
	    ntohs(sa.sin_port));
	host_clock = "+10m";
	host_http = hook_http;
	host_setup();
	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212662000021', 'hooked', 'Hooked', 'en')"));
}

static void
hook_teardown(void)
{
	host_teardown();
	host_clock = "+0";
	host_http = NULL;
	if (hook_pid > 0) {
		kill(hook_pid, SIGKILL);
		waitpid(hook_pid, NULL, 0);
	}
	hook_pid = 0;
	if (hook_fd != -1)
		close(hook_fd);
	hook_fd = -1;
	free(hook_log);
	hook_log = NULL;
}

static int
hook_answered(void *unused)
{
	char *s = h_read_file(hook_log);
	int ok = s != NULL && strchr(s, '\n') != NULL;
	free(s);
	return ok;
}

/* The post made (201), once /healthz says pigeond is ready (its webhook
 * targets set: a post before gets no delivery). */
static int
hook_posted(void *last)
{
	char *resp = NULL;
	if (h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL) != 200)
		return 0;
	int code = h_http(g.http_port, "POST", "/api/posts", HOST_TOKEN,
	    "{\"user\":\"hooked\",\"text\":\"signed by which clock?\"}", &resp);
	free(resp);
	*(int *)last = code;
	return code == 201;
}

START_TEST(test_host_clock_ahead_webhook)
{
	int last = 0;
	ck_assert_msg(h_wait_for(hook_posted, &last, 30000) == 0, "POST /api/posts: %d",
	    last);
	if (h_wait_for(hook_answered, NULL, 30000) != 0) {
		char *d = h_db_value(g.db, "SELECT coalesce(string_agg(state || ' ' || "
		    "attempts || ' ' || coalesce(last_error, ''), '; '), 'none') "
		    "FROM webhook_deliveries", 0, NULL);
		ck_abort_msg("no webhook came in 30 s; its deliveries: %s", d);
	}
	char *log = h_read_file(hook_log);
	int answer = 0;
	long long off = 0;
	ck_assert_int_eq(sscanf(log, "%d %lld", &answer, &off), 2);
	fprintf(stderr, "rel: webhook from a host 10 min ahead: t= %+lld s off the "
	    "receiver's clock, answered %d\n", off, answer);
	ck_assert_msg(answer == 200, "the receiver refused the webhook: its t= was %lld s "
	    "off (the host's clock)", off);
	free(log);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_clock");
	TCase *tc = tcase_create("clock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_clock_back_an_hour);
	tcase_add_test(tc, test_clock_forward_a_day);
	suite_add_tcase(s, tc);
	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, rules_setup, rules_teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_rules_back_an_hour);
	tcase_add_test(tc, test_rules_forward_a_day);
	suite_add_tcase(s, tc);
	tc = tcase_create("host");
	tcase_add_checked_fixture(tc, host_setup, host_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_host_clock_back_metrics);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, limits_setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_limits_back_an_hour);
	tcase_add_test(tc, test_concat_back_an_hour);
	suite_add_tcase(s, tc);
	tc = tcase_create("webhook");
	tcase_add_checked_fixture(tc, hook_setup, hook_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_host_clock_ahead_webhook);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
