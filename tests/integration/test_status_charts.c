/*
 * The status page's charts (issue 16) in headless Chromium, in French:
 * SMS per hour over 24 h and per day over 30 days (sent, delivered,
 * failed, received), the queue's depth and each link's throughput and
 * signal from the samples, the age of the oldest queued message. The
 * numbers are read back from the SVG's data attributes; `make screenshots`
 * keeps the screenshot as tests/integration/screenshots/status-fr.png.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"charts-token-0123456789abcdef0123456789"

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "status_charts", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* The browser's time zone (TZ); NULL: the test's. */
static const char *browser_tz;

static int
chromium_fr(char **out, const char *args, const char *url)
{
	char *profile = h_tmpdir("chromium-profile-fr");
	int rc = h_run(out, "%s%s%sLANGUAGE=fr LANG=fr_FR.UTF-8 timeout 90 chromium --headless "
	    "--no-sandbox --disable-gpu --disable-quic --no-first-run "
	    "--disable-background-networking --disable-component-update --disable-sync "
	    "--disable-dev-shm-usage --lang=fr-FR --accept-lang=fr-FR "
	    "--user-data-dir='%s' --virtual-time-budget=8000 %s '%s' 2>/dev/null",
	    browser_tz ? "TZ=" : "", browser_tz ? browser_tz : "", browser_tz ? " " : "",
	    profile, args, url);
	h_run(NULL, "rm -rf '%s'", profile);
	free(profile);
	return rc;
}

static void
sql(const char *q)
{
	PGresult *r = PQexec(g.db, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q, PQerrorMessage(g.db));
	PQclear(r);
}

static void
assert_has(const char *dom, const char *needle)
{
	ck_assert_msg(strstr(dom, needle) != NULL, "no %s in the page", needle);
}

START_TEST(test_charts_in_french)
{
	char url[256], *dom = NULL, *out = NULL;

	/* Three sent two hours ago (one delivered), one sent three days ago,
	 * one failure an hour ago, two received three hours ago. */
	sql("INSERT INTO outbox (recipient, text, class, state, sent_at, delivered_at, modem) "
	    "VALUES ('+212661000501', 'a', 1, 'sent', now() - interval '2 hours', NULL, 'sim0'), "
	    "('+212661000502', 'b', 1, 'sent', now() - interval '2 hours', NULL, 'sim0'), "
	    "('+212661000503', 'c', 1, 'delivered', now() - interval '2 hours', "
	    " now() - interval '2 hours', 'sim0'), "
	    "('+212661000504', 'd', 1, 'sent', now() - interval '3 days', NULL, 'sim0')");
	sql("INSERT INTO outbox_history (outbox_id, state, at) SELECT id, 'failed', "
	    "now() - interval '1 hour' FROM outbox WHERE recipient = '+212661000501'");
	sql("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, state, "
	    "received_at) VALUES ('sim0', '+212661000505', 'e164', 'x', 1, 'done', "
	    "now() - interval '3 hours'), ('sim0', '+212661000506', 'e164', 'y', 1, "
	    "'ignored', now() - interval '3 hours')");
	/* Waiting five minutes for a link that does not exist: the oldest. */
	sql("INSERT INTO outbox (recipient, text, class, via_link, created_at, next_attempt_at) "
	    "VALUES ('+212661000507', 'stuck', 1, 'nowhere', now() - interval '5 minutes', "
	    "now() - interval '5 minutes')");
	/* Samples as the janitor job writes them, then one from it now. */
	sql("INSERT INTO status_samples (at, link, queued, sending, oldest_s) VALUES "
	    "(now() - interval '30 minutes', '', 5, 0, 0), "
	    "(now() - interval '20 minutes', '', 7, 1, 0)");
	sql("INSERT INTO status_samples (at, link, signal_percent, sms_sent) VALUES "
	    "(now() - interval '30 minutes', 'sim0', 60, 10), "
	    "(now() - interval '20 minutes', 'sim0', 70, 14)");
	sql("SELECT pigeon_status_sample()");
	/* Another host's janitor 10 s later (their minutes are their own):
	 * no second sample in that minute. */
	sql("UPDATE status_samples SET at = at - interval '10 seconds' "
	    "WHERE at > now() - interval '1 minute'");
	sql("SELECT pigeon_status_sample()");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM status_samples "
	    "WHERE at > now() - interval '1 minute' AND link = 'sim0'", 0, NULL), 1);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/#token=%s", g.http_port, TOKEN);
	ck_assert_int_eq(chromium_fr(&dom, "--dump-dom", url), 0);
	/* French, from the browser's language. */
	assert_has(dom, "<html lang=\"fr\"");
	assert_has(dom, "SMS par heure, dernières 24 h");
	assert_has(dom, "Graphiques");
	assert_has(dom, "profondeur de la file 1");
	assert_has(dom, "base de données disponible");
	/* Per hour over 24 h, per day over 30 days: the totals. */
	char *hourly = strstr(dom, "data-chart=\"hourly\"");
	char *daily = strstr(dom, "data-chart=\"daily\"");
	ck_assert_ptr_nonnull(hourly);
	ck_assert_ptr_nonnull(daily);
	ck_assert_msg(strstr(hourly, "data-series=\"sent\" data-total=\"3\"") &&
	    strstr(hourly, "data-series=\"sent\" data-total=\"3\"") < daily,
	    "hourly sent total is not 3");
	ck_assert_msg(strstr(hourly, "data-series=\"delivered\" data-total=\"1\"") < daily,
	    "hourly delivered");
	ck_assert_msg(strstr(hourly, "data-series=\"failed\" data-total=\"1\"") < daily,
	    "hourly failed");
	ck_assert_msg(strstr(hourly, "data-series=\"received\" data-total=\"2\"") < daily,
	    "hourly received");
	assert_has(daily, "data-series=\"sent\" data-total=\"4\"");
	/* Bars carry their values: the bucket of two hours ago has 3 sent. */
	assert_has(dom, "data-series=\"sent\" data-value=\"3\"");
	/* Queue depth over time, the links' sparklines, the oldest message. */
	assert_has(dom, "data-chart=\"queue\"");
	assert_has(dom, "data-values=\"5 7 ");
	assert_has(dom, "data-chart=\"link-sim0\"");
	assert_has(dom, "data-chart=\"signal-sim0\"");
	assert_has(dom, "data-values=\"0 4 ");	/* 14 - 10 sent between samples */
	assert_has(dom, "data-values=\"60 70 ");
	assert_has(dom, "Plus ancien message en attente : ");
	char *oldest = strstr(dom, "id=\"oldest\" data-seconds=\"");
	ck_assert_ptr_nonnull(oldest);
	long secs = atol(oldest + strlen("id=\"oldest\" data-seconds=\""));
	ck_assert_msg(secs >= 290 && secs < 600, "oldest is %ld s", secs);
	free(dom);

	/* The screenshot (kept with the tests by `make screenshots`). */
	char *shot = h_screenshot_path(g.dir, "status-fr.png"), *args = NULL;
	ck_assert_int_ge(asprintf(&args, "--window-size=1280,1400 --screenshot='%s'", shot), 0);
	ck_assert_int_eq(chromium_fr(&out, args, url), 0);
	ck_assert_int_eq(h_run(NULL, "test -s '%s'", shot), 0);
	fprintf(stderr, "status page screenshot (French): %s\n", shot);
	free(args);
	free(out);
	free(shot);
}
END_TEST

/* The daily bars are the service's days: the last starts at midnight in
 * [pigeon] timezone (it started at midnight UTC: 14 hours off here). */
START_TEST(test_days_are_the_service_days)
{
	char *tz = h_db_value(g.db, "SELECT value FROM settings WHERE key = 'timezone'",
	    0, NULL);
	const char *params[] = { tz };
	ck_assert_ptr_nonnull(tz);
	sql("UPDATE settings SET value = 'Pacific/Kiritimati' WHERE key = 'timezone'");
	char *v = h_db_value(g.db, "SELECT ((pigeon_api_charts()->'daily'->-1->>'t')"
	    "::timestamptz = pigeon_day_start())::text || ' ' || "
	    "(pigeon_day_start() <> date_trunc('day', now() AT TIME ZONE 'UTC') "
	    "AT TIME ZONE 'UTC')::text", 0, NULL);
	PQclear(PQexecParams(g.db, "UPDATE settings SET value = $1 WHERE key = 'timezone'",
	    1, NULL, params, NULL, NULL, 0));
	ck_assert_str_eq(v, "true true");
	free(v);

	/* Every day starts at a local midnight, across Morocco's clock
	 * changes of 2026 (+01 to +00 on 15 February, back on 22 March): on
	 * 1 April the days before 22 March began at 23:00 (a day of 24
	 * hours counted back from midnight). */
	sql("UPDATE settings SET value = 'Africa/Casablanca' WHERE key = 'timezone'");
	v = h_db_value(g.db, "SELECT count(*) FILTER (WHERE ((e->>'t')::timestamptz "
	    "AT TIME ZONE 'Africa/Casablanca')::time <> '00:00')::text || ' of ' || "
	    "count(*) FROM jsonb_array_elements(pigeon_status_buckets(interval '1 day', 60, "
	    "'2026-04-01 12:00+00')) e", 0, NULL);
	PQclear(PQexecParams(g.db, "UPDATE settings SET value = $1 WHERE key = 'timezone'",
	    1, NULL, params, NULL, NULL, 0));
	ck_assert_str_eq(v, "0 of 60");
	free(v);
	free(tz);
}
END_TEST

/* The daily bars named by the service's day (the API's "day"), in a
 * browser whose zone is behind the service's: Africa/Casablanca, the
 * browser in São Paulo. Named by their first instant there, every bar's
 * label and title said the day before. */
START_TEST(test_day_names_in_a_browser_behind)
{
	char url[256], needle[96], *dom = NULL;
	char *tz = h_db_value(g.db, "SELECT value FROM settings WHERE key = 'timezone'",
	    0, NULL);
	const char *params[] = { tz };

	sql("UPDATE settings SET value = 'Africa/Casablanca' WHERE key = 'timezone'");
	char *today = h_db_value(g.db, "SELECT to_char(now() AT TIME ZONE "
	    "'Africa/Casablanca', 'YYYY-MM-DD')", 0, NULL);
	char *first = h_db_value(g.db, "SELECT to_char((now() AT TIME ZONE "
	    "'Africa/Casablanca')::date - 29, 'MM-DD')", 0, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/#token=%s", g.http_port, TOKEN);
	browser_tz = "America/Sao_Paulo";
	int rc = chromium_fr(&dom, "--dump-dom", url);
	browser_tz = NULL;
	PQclear(PQexecParams(g.db, "UPDATE settings SET value = $1 WHERE key = 'timezone'",
	    1, NULL, params, NULL, NULL, 0));
	ck_assert_int_eq(rc, 0);
	char *daily = strstr(dom, "data-chart=\"daily\"");
	ck_assert_ptr_nonnull(daily);
	char *end = strstr(daily + 1, "data-chart=");
	if (end != NULL)
		*end = '\0';
	/* Today's bars (the last) say today; the first bar's label is the
	 * day 29 days before. */
	snprintf(needle, sizeof(needle), "<title>%s envoyés: ", today);
	ck_assert_msg(strstr(daily, needle) != NULL, "no bar titled %s (the service's "
	    "today) in the daily chart", today);
	snprintf(needle, sizeof(needle), ">%s</text>", first);
	ck_assert_msg(strstr(daily, needle) != NULL, "the first daily bar is not "
	    "labelled %s", first);
	free(today);
	free(first);
	free(tz);
	free(dom);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("status_charts");
	TCase *tc = tcase_create("chromium");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_charts_in_french);
	tcase_add_test(tc, test_days_are_the_service_days);
	tcase_add_test(tc, test_day_names_in_a_browser_behind);
	suite_add_tcase(s, tc);
	return h_main(s);
}
