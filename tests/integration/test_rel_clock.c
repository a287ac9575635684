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
 * reason, expired (none stays queued or leased), and a message is sent
 * twice only when it was on a radio at the step (one per modem). How long
 * the queue stood still behind the stepped-back clock is printed.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "harness.h"

#define NMODEMS		2
#define FAKETIME_LIB	"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

static struct h_gateway g;
static char *fake_dir, *pg_dir, *clock_file;
static int n_out;

static char *
xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return s;
}

static long
count(const char *sql)
{
	return h_db_long(g.db, sql, 0, NULL);
}

/* The server's clock, relative to the real one: "+0", "-1h", "+1d". */
static void
clock_set(const char *offset)
{
	char *tmp = xasprintf("%s.new", clock_file);
	ck_assert_int_eq(h_write_file(tmp, offset), 0);
	ck_assert_int_eq(rename(tmp, clock_file), 0);
	free(tmp);
}

static void
cluster_destroy(void)
{
	char *out = NULL;
	if (pg_dir) {
		h_run(&out, "scripts/pg destroy '%s' 2>&1", pg_dir);
		free(out);
		free(pg_dir);
		pg_dir = NULL;
	}
	if (clock_file) {
		unlink(clock_file);
		free(clock_file);
		clock_file = NULL;
	}
}

static void
setup(void)
{
	char cwd[1024], *out = NULL;
	static char extra[1400];

	n_out = getenv("PIGEON_REL_LONG") ? 600 : 200;
	ck_assert_msg(access(FAKETIME_LIB, R_OK) == 0, "libfaketime missing: run scripts/deps");
	fake_dir = h_tmpdir("clock-fake");
	setenv("PIGEON_FAKE_DIR", fake_dir, 1);
	/* A backlog that outlasts the 30 s passes over leases and validity. */
	setenv("PIGEON_FAKE_SEND_MS", "600", 1);
	/* Read by the postgres user: outside the test's tree. */
	clock_file = xasprintf("/tmp/pigeon-clock-%d", (int)getpid());
	clock_set("+0");
	chmod(clock_file, 0644);
	pg_dir = h_tmpdir("clock-pg");
	rmdir(pg_dir);
	int rc = h_run(&out, "LD_PRELOAD=%s FAKETIME_TIMESTAMP_FILE=%s FAKETIME_NO_CACHE=1 "
	    "FAKETIME_DONT_FAKE_MONOTONIC=1 scripts/pg start '%s' 2>&1", FAKETIME_LIB,
	    clock_file, pg_dir);
	ck_assert_msg(rc == 0, "scripts/pg start: %s", out ? out : "");
	out[strcspn(out, "\n")] = '\0';

	memset(&g, 0, sizeof(g));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nlease_seconds = 5\n"
	    "limit_minute = 100000\nlimit_day = 1000000\nwatchdog_seconds = 3\n", cwd);
	g.extra_config = extra;
	h_gateway_start_on(&g, "rel_clock", NMODEMS, out);
	free(out);
}

static void
teardown(void)
{
	if (g.dir)
		h_gateway_stop(&g);
	cluster_destroy();
	unsetenv("PIGEON_FAKE_DIR");
	unsetenv("PIGEON_FAKE_SEND_MS");
	free(fake_dir);
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
	clock_set("-1h");
	long t_step = h_now_ms();
	const char *params[] = { first };
	long at_step = h_db_long(g.db, SENT_SQL, 1, params);
	h_sleep_ms(15000);
	long after = h_db_long(g.db, SENT_SQL, 1, params);
	clock_set("+0");
	long t_fix = h_now_ms();
	fprintf(stderr, "rel: clock back 1 h: %ld sent at the step, %ld sent in the 15 s "
	    "behind (of %d)\n", at_step, after - at_step, n_out);
	/* The time column: from the clock put right to everything done. */
	finish("DB clock back 1 h mid-dispatch", "-1 h for 15 s", first_id, t_fix);
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
	clock_set("+1d");
	/* The time column: from the step to everything settled. */
	finish("DB clock forward 1 day mid-dispatch", "+1 day", first_id, h_now_ms());
	clock_set("+0");
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
	return s;
}

int
main(void)
{
	atexit(cluster_destroy);
	return h_main(suite());
}
