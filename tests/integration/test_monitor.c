/*
 * What an operator's monitoring sees (Prometheus on /metrics, a probe on
 * /healthz, `journalctl -p warning` on the log) when a link's worker
 * dies, when a link is removed and added again, when a modem cannot be
 * opened and when the database is slow to answer a scrape. pigeond logs
 * here as under systemd (PIGEON_LOG_JOURNAL: each line starts with its
 * priority, <4> a warning, <6> info).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"monitor-token-0123456789abcdef012345"
#define WAIT_MS	60000

static struct h_gateway g;

static void
start(const char *name, int nmodems)
{
	memset(&g, 0, sizeof(g));
	setenv("PIGEON_LOG_JOURNAL", "1", 1);
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, name, nmodems);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
	unsetenv("PIGEON_LOG_JOURNAL");
}

/* The log so far (malloc). */
static char *
gateway_log(void)
{
	char *path = h_strf("%s/pigeond.log", g.dir);
	char *text = h_read_file(path);

	free(path);
	return text ? text : strdup("");
}

/* Lines of the log that hold both a and b. */
static int
log_lines(const char *a, const char *b)
{
	char *text = gateway_log(), *line = text, *end;
	int n = 0;

	for (; *line != '\0'; line = end + 1) {
		if ((end = strchr(line, '\n')) == NULL)
			break;
		*end = '\0';
		if (strstr(line, a) != NULL && strstr(line, b) != NULL)
			n++;
	}
	free(text);
	return n;
}

/* Fails the test (the log on stderr: too long for a message of Check's)
 * unless log_lines(a, b) is want. */
static void
assert_lines(const char *a, const char *b, int want, const char *what)
{
	int n = log_lines(a, b);

	if (n != want) {
		char *text = gateway_log();
		fprintf(stderr, "%s\n", text);
		free(text);
	}
	ck_assert_msg(n == want, "%s: %d line(s) with \"%s\" and \"%s\", not %d",
	    what, n, a, b, want);
}

struct metric_arg {
	const char *series;
	long want;
};

static int
metric_is(void *p)
{
	struct metric_arg *a = p;
	return h_metric(&g, TOKEN, a->series, -1) == a->want;
}

static void
wait_metric(const char *series, long want)
{
	struct metric_arg a = { series, want };
	ck_assert_msg(h_wait_for(metric_is, &a, WAIT_MS) == 0, "%s: %ld, not %ld",
	    series, h_metric(&g, TOKEN, series, -1), want);
}

/* Kills link name's worker (SIGKILL) and waits until it is back, its
 * restarts counted. */
static void
kill_worker(const char *name, long restarts)
{
	char *pid = h_db_value(g.db, "SELECT pid FROM modems WHERE name = $1", 1,
	    (const char *const[]){ name });
	char *series = h_strf("pigeon_modem_restarts_total{modem=\"%s\"}", name);

	ck_assert_ptr_nonnull(pid);
	ck_assert_int_eq(kill((pid_t)atol(pid), SIGKILL), 0);
	wait_metric(series, restarts);
	h_wait_modem(&g, name, "online", WAIT_MS);
	free(series);
	free(pid);
}

/*
 * A worker that dies (a crash, the OOM killer) was logged at info only:
 * `journalctl -p warning` showed nothing. It is a warning now; a stop
 * pigeond asks for (disable) stays info.
 */
START_TEST(test_worker_crash_warns)
{
	start("monitor_crash", 2);
	kill_worker("sim1", 1);
	assert_lines("<4>pigeond: modem sim1: process killed by signal 9",
	    "restarting in", 1, "the crash, a warning");
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim1/disable", TOKEN,
	    "", NULL), 200);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	assert_lines("<4>", "sim1", 1, "a stop asked for, info");
}
END_TEST

/*
 * A modem that cannot be opened: one warning per attempt
 * (docs/operator.md), where the worker's "connecting: ..." and pigeond's
 * "modem NAME: connect: ..." were two.
 */
START_TEST(test_unplugged_one_line)
{
	start("monitor_unplug", 1);
	ck_assert_int_eq(h_sim_fault(&g, 0, "unplug 1"), 0);
	h_wait_modem(&g, "sim0", "offline", WAIT_MS);
	/* Two attempts at least (the backoff: 1 s, then 2 s). */
	for (long deadline = h_now_ms() + WAIT_MS;
	    log_lines("<4>pigeond: modem sim0: connect:", "") < 2 && h_now_ms() < deadline; )
		h_sleep_ms(200);
	int attempts = log_lines("<4>pigeond: modem sim0: connect:", "");
	ck_assert_int_ge(attempts, 2);
	assert_lines("<4>", "connecting:", 0, "one warning per attempt");
	assert_lines("<4>", "exited with status", 0, "one warning per attempt");
	ck_assert_int_eq(h_sim_fault(&g, 0, "unplug 0"), 0);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
}
END_TEST

/* /healthz lists link name (with its state in the body). */
static int
healthz_lists(const char *name, const char *state)
{
	char *body = NULL, *want = h_strf("{\"name\":\"%s\",\"state\":\"%s\"", name, state);
	int code = h_http_get(g.http_port, "/healthz", &body);
	int ok = code == 200 && body != NULL && strstr(body, want) != NULL;

	free(want);
	free(body);
	return ok;
}

/*
 * A link removed by SIGHUP stays in /metrics and /healthz, disabled and
 * not up, until `pigeonctl forget` (docs/operator.md): pigeon_modem_up,
 * _state and _restarts_total left at once while its database series
 * stayed. Added back, it keeps its restarts (they went 1 -> 0 without a
 * restart of pigeond, and the row's with them).
 */
START_TEST(test_removed_link_stays)
{
	start("monitor_removed", 2);
	kill_worker("sim1", 1);

	g.modem_removed[1] = 1;
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	wait_metric("pigeon_modem_state{modem=\"sim1\",state=\"disabled\"}", 1);
	ck_assert_int_eq(h_metric(&g, TOKEN, "pigeon_modem_up{modem=\"sim1\"}", -1), 0);
	ck_assert_int_eq(h_metric(&g, TOKEN, "pigeon_modem_restarts_total{modem=\"sim1\"}",
	    -1), 1);
	ck_assert(healthz_lists("sim1", "disabled"));

	g.modem_removed[1] = 0;
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim1", "online", WAIT_MS);
	wait_metric("pigeon_modem_up{modem=\"sim1\"}", 1);
	/* Its first count kept (the start after the re-add counts too). */
	ck_assert_int_ge(h_metric(&g, TOKEN, "pigeon_modem_restarts_total{modem=\"sim1\"}",
	    -1), 1);
	ck_assert_int_ge(h_db_long(g.db, "SELECT restarts FROM modems WHERE name = 'sim1'",
	    0, NULL), 1);
	ck_assert(healthz_lists("sim1", "online"));

	/* Removed again, then forgotten: gone from both. */
	g.modem_removed[1] = 1;
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/modems/sim1", TOKEN, NULL,
	    NULL), 200);
	ck_assert_int_eq(h_metric(&g, TOKEN, "pigeon_modem_up{modem=\"sim1\"}", -1), -1);
	ck_assert(!healthz_lists("sim1", "disabled"));
	ck_assert(healthz_lists("sim0", "online"));
}
END_TEST

/*
 * The database up but slow (a lock on the counters /metrics reads): the
 * scrape answered 503 JSON after 10 s, past Prometheus's default scrape
 * timeout, without pigeon_database_up or pigeon_modem_up, and the figures
 * read 10 s before unused. It answers in time, with what pigeond knows
 * and the last figures read.
 */
START_TEST(test_metrics_slow_database)
{
	PGconn *locker;
	char *body = NULL;
	long t0;
	int code;

	start("monitor_slow", 1);
	long id = h_outbox_add(&g, "+212661000041", "Counted", 1);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	wait_metric("pigeon_sms_out{state=\"sent\"}", 1);
	/*
	 * The counters locked, scrapes until one asks the database: those
	 * within METRICS_CACHE_S of the last read answer from the cache at
	 * once (their figures younger than 10 s); the first after it waits
	 * for the database, and answers without it, the figures 10 s old or
	 * more. Released before any check: a failed one left pigeond's
	 * writes waiting behind the lock, and its stop with them.
	 */
	locker = h_db_connect(g.conninfo);
	h_db_exec(locker, "BEGIN");
	h_db_exec(locker, "LOCK TABLE metric_counts IN ACCESS EXCLUSIVE MODE");
	long deadline = h_now_ms() + 40000, age = -1, took = 0;
	code = 0;
	while (age < 10 && h_now_ms() < deadline) {
		free(body);
		body = NULL;
		t0 = h_now_ms();
		code = h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body);
		took = h_now_ms() - t0;
		const char *a = body ? strstr(body, "\npigeon_metrics_database_age_seconds ") : NULL;
		age = a ? atol(a + strlen("\npigeon_metrics_database_age_seconds ")) : -1;
		if (code != 200 || a == NULL)
			break;
		if (age < 10)
			h_sleep_ms(250);
	}
	h_db_exec(locker, "ROLLBACK");
	PQfinish(locker);
	ck_assert_msg(code == 200, "%d: %s", code, body);
	ck_assert_msg(took < 8000, "answered after %ld ms", took);
	ck_assert_ptr_nonnull(strstr(body, "\npigeon_database_up 1\n"));
	ck_assert_ptr_nonnull(strstr(body, "\npigeon_modem_up{modem=\"sim0\"} 1\n"));
	/* The figures read before, with their age. */
	ck_assert_ptr_nonnull(strstr(body, "\npigeon_sms_out{state=\"sent\"} 1\n"));
	ck_assert_int_ge(age, 10);
	free(body);
	/* The lock gone: fresh figures. */
	wait_metric("pigeon_metrics_database_age_seconds", 0);
}
END_TEST

static Suite *
suite(void)
{
	const struct h_case cases[] = {
		{ "crash", test_worker_crash_warns },
		{ "unplug", test_unplugged_one_line },
		{ "removed", test_removed_link_stays },
		{ "slow", test_metrics_slow_database },
	};

	return h_suite_cases("monitor", cases, sizeof(cases) / sizeof(cases[0]),
	    NULL, teardown, 240);
}

int
main(void)
{
	return h_main(suite());
}
