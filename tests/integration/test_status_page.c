/*
 * The status page in headless Chromium against a running gateway: after
 * its JavaScript ran, it shows the modem, the queue and a recent failure;
 * a screenshot is saved in the test's folder (status-page.png).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"page-token-0123456789abcdef0123456789"

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "status_page", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* Runs headless Chromium on url with extra arguments; output in *out. */
static int
chromium(char **out, const char *args, const char *url)
{
	char *profile = h_tmpdir("chromium-profile");
	int rc = h_run(out, "timeout 90 chromium --headless --no-sandbox --disable-gpu "
	    "--disable-quic --no-first-run --disable-background-networking "
	    "--disable-component-update --disable-sync --disable-dev-shm-usage "
	    "--user-data-dir='%s' --virtual-time-budget=8000 %s '%s' 2>/dev/null",
	    profile, args, url);
	h_run(NULL, "rm -rf '%s'", profile);
	free(profile);
	return rc;
}

START_TEST(test_page_shows_the_bank)
{
	char url[256], *dom = NULL, *out = NULL, *shot = NULL;

	/* The SMS parts sim0 sent today, as the carrier bills them. */
	PQclear(PQexec(g.db, "INSERT INTO counters (name, value) VALUES ('link_parts/' || "
	    "to_char(now() AT TIME ZONE pigeon_setting('timezone'), 'YYYY-MM-DD') || "
	    "'/sim0', 917) ON CONFLICT (name) DO UPDATE SET value = 917"));
	/* A failure and two waiting fan-out messages to show. */
	PQclear(PQexec(g.db, "INSERT INTO outbox (recipient, text, class, state, modem, last_error) "
	    "VALUES ('+212661000007', 'x', 1, 'failed', 'sim0', '+CMS ERROR 21: rejected')"));
	PQclear(PQexec(g.db, "INSERT INTO outbox (recipient, text, class, next_attempt_at) "
	    "VALUES ('+212661000008', 'later', 2, now() + interval '1 hour'), "
	    "('+212661000009', 'later', 2, now() + interval '1 hour')"));

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/#token=%s", g.http_port, TOKEN);
	ck_assert_int_eq(chromium(&dom, "--dump-dom", url), 0);
	ck_assert_msg(strstr(dom, "<td>sim0</td>") != NULL, "no modem row in:\n%s", dom);
	ck_assert_ptr_nonnull(strstr(dom, "badge state-online\">online</span>"));
	ck_assert_ptr_nonnull(strstr(dom, "<th>Parts today</th>"));
	ck_assert_msg(strstr(strstr(dom, "<td>sim0</td>"), "<td class=\"num\">917</td>") != NULL,
	    "no parts today in the row: %.600s", strstr(dom, "<td>sim0</td>"));
	ck_assert_ptr_nonnull(strstr(dom, "database up"));
	ck_assert_ptr_nonnull(strstr(dom, "+CMS ERROR 21: rejected"));
	ck_assert_ptr_nonnull(strstr(dom, "<td>fan-out</td><td class=\"num\">2</td>"));
	ck_assert_ptr_nonnull(strstr(dom, "queue depth 2"));
	/* The token left the address bar and the login form stayed hidden. */
	ck_assert_ptr_nonnull(strstr(dom, "<form id=\"login\" hidden"));
	free(dom);

	/* Without the token the page asks for it and shows no data. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", g.http_port);
	ck_assert_int_eq(chromium(&dom, "--dump-dom", url), 0);
	ck_assert_ptr_nonnull(strstr(dom, "<form id=\"login\">"));
	ck_assert_ptr_null(strstr(dom, "<td>sim0</td>"));
	free(dom);

	/* A link disabled by the operator shows why it is disabled, not an
	 * error of before (the reason of the state first, as pigeonctl). */
	PQclear(PQexec(g.db, "UPDATE modems SET last_error = "
	    "'connect: Error opening device, it is in use' WHERE name = 'sim0'"));
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable", TOKEN,
	    NULL, &resp), 200);
	free(resp);
	h_wait_modem(&g, "sim0", "disabled", 30000);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/#token=%s", g.http_port, TOKEN);
	ck_assert_int_eq(chromium(&dom, "--dump-dom", url), 0);
	const char *sim0 = strstr(dom, "<td>sim0</td>");
	ck_assert_ptr_nonnull(sim0);
	ck_assert_msg(strstr(dom, "<td>disabled by the operator</td>") != NULL,
	    "no reason in the row: %.400s", sim0);
	ck_assert_ptr_null(strstr(dom, "Error opening device"));
	free(dom);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable", TOKEN,
	    NULL, &resp), 200);
	free(resp);
	h_wait_modem(&g, "sim0", "online", 30000);

	ck_assert_int_ge(asprintf(&shot, "%s/status-page.png", g.dir), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/#token=%s", g.http_port, TOKEN);
	char *args = NULL;
	ck_assert_int_ge(asprintf(&args, "--window-size=1280,800 --screenshot='%s'", shot), 0);
	ck_assert_int_eq(chromium(&out, args, url), 0);
	ck_assert_int_eq(h_run(NULL, "test -s '%s'", shot), 0);
	fprintf(stderr, "status page screenshot: %s\n", shot);
	free(args);
	free(out);
	free(shot);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("status_page");
	TCase *tc = tcase_create("chromium");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_page_shows_the_bank);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
