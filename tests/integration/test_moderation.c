/*
 * Moderation (issue 16): a post removed everywhere (search, feed, API,
 * its queued copies cancelled, webhooks told), an account suspended (what
 * it texts is not applied, it gets the notice once and nothing else) and
 * restored, a member's data exported and erased; through pigeonctl and
 * the API, admin scope only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"moderation-token-0123456789abcdef012345"
#define READER	"moderation-reader-0123456789abcdef01234"
#define WAIT_MS	60000

#define ZINEB	"+212661000401"
#define OMAR	"+212661000402"

static struct h_gateway g;
static char http_extra[512];

static void
setup(void)
{
	char *dir = h_tmpdir("moderation"), *file = NULL;
	ck_assert_int_ge(asprintf(&file, "%s/tokens", dir), 0);
	h_write_file(file, "dash read " READER "\n");
	chmod(file, 0600);
	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token = " TOKEN "\ntokens_file = %s\n",
	    file);
	g.http_extra = http_extra;
	h_gateway_start(&g, "moderation", 1);
	free(file);
	free(dir);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

static int
ctl(char **out, const char *args)
{
	return h_run(out, "%s -c '%s' %s 2>&1", h_bin("pigeonctl"), g.config, args);
}

static void
join(const char *phone, const char *handle)
{
	char text[64];
	snprintf(text, sizeof(text), "JOIN %s", handle);
	ck_assert_int_eq(h_text(&g, 0, phone, text), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM accounts WHERE handle = $1",
	    handle, "1", WAIT_MS), 0);
}

START_TEST(test_remove_post)
{
	char *out = NULL, path[64];

	join(ZINEB, "zineb");
	join(OMAR, "omar");
	ck_assert_int_eq(h_text(&g, 0, OMAR, "FOLLOW zineb"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "1",
	    WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	/* Omar's modem is off: the copy stays queued. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable", TOKEN,
	    "{}", NULL), 200);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	ck_assert_int_eq(ctl(&out, "post zineb 'flamingos over the lagoon'"), 0);
	long id = atol(out);
	free(out);
	ck_assert_int_gt(id, 0);
	char ids[24];
	snprintf(ids, sizeof(ids), "%ld", id);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE post_id = $1",
	    ids, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=flamingos", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "lagoon"));
	free(out);

	/* A read token may not; the admin may. */
	snprintf(path, sizeof(path), "/api/posts/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, READER, NULL, NULL), 403);
	snprintf(path, sizeof(path), "remove-post %ld", id);
	ck_assert_int_eq(ctl(&out, path), 0);
	ck_assert_ptr_nonnull(strstr(out, "1 queued copies cancelled"));
	free(out);
	/* Gone from search, the user's posts and the feed; copy cancelled. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=flamingos", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "lagoon"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb/posts", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "lagoon"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/users/zineb.atom", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "lagoon"));
	free(out);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE post_id = $1 "
	    "AND state = 'cancelled'", 1, (const char *[]){ ids }), 1);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable", TOKEN,
	    "{}", NULL), 200);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, OMAR, "lagoon"), 0);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/posts/99999999", TOKEN, NULL,
	    NULL), 404);
}
END_TEST

START_TEST(test_suspend_restore)
{
	char *out = NULL;
	int before = h_received_count(&g, ZINEB);	/* JOIN's welcome */

	ck_assert_int_eq(ctl(&out, "suspend @zineb"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb suspended"));
	free(out);
	ck_assert_int_eq(h_wait_received(&g, ZINEB, "suspend", WAIT_MS), 0);
	/* Twice is once: no second notice. */
	ck_assert_int_eq(ctl(&out, "suspend zineb"), 0);
	free(out);
	/* What it texts is kept and not applied; it is sent nothing. */
	ck_assert_int_eq(h_text(&g, 0, ZINEB, "this should not be posted"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state = 'ignored' AND result = 'account suspended'", ZINEB,
	    "1", WAIT_MS), 0);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" ZINEB "\",\"text\":\"operator hello\"}", NULL), 202);
	ck_assert_int_eq(h_text(&g, 0, OMAR, "@zineb are you there"), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_count(&g, ZINEB), before + 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE text LIKE "
	    "'this should not%'", 0, NULL), 0);

	/* Restored: it is served again. */
	ck_assert_int_eq(ctl(&out, "restore zineb"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb restored"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" ZINEB "\",\"text\":\"welcome back\"}", NULL), 202);
	ck_assert_int_eq(h_wait_received(&g, ZINEB, "welcome back", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, "suspend nobody"), 1);
	free(out);
}
END_TEST

START_TEST(test_export_erase)
{
	char *out = NULL;

	ck_assert_int_eq(ctl(&out, "export zineb"), 0);
	json_t *j = json_loads(out, 0, NULL);
	free(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "account"),
	    "phone")), ZINEB);
	ck_assert_int_ge(json_array_size(json_object_get(j, "posts")), 1);
	ck_assert_int_ge(json_array_size(json_object_get(j, "inbox")), 2);
	ck_assert_int_ge(json_array_size(json_object_get(j, "outbox")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(j, "followers")), 1);
	json_decref(j);

	/* Erasing is asked for in so many words. */
	ck_assert_int_eq(ctl(&out, "erase zineb"), 2);
	free(out);
	ck_assert_int_eq(ctl(&out, "erase zineb --yes"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb erased"));
	free(out);
	const char *p[] = { ZINEB };
	ck_assert_int_eq(h_db_long(g.db, "SELECT (SELECT count(*) FROM accounts WHERE "
	    "phone = $1) + (SELECT count(*) FROM inbox_messages WHERE sender = $1) + "
	    "(SELECT count(*) FROM inbox_parts WHERE sender_norm = $1) + "
	    "(SELECT count(*) FROM outbox WHERE recipient = $1) + "
	    "(SELECT count(*) FROM outbox WHERE text LIKE '%lagoon%')", 1, p), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM follows", 0, NULL), 0);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb", NULL, NULL, NULL),
	    404);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("moderation");
	TCase *tc = tcase_create("moderation");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_remove_post);
	tcase_add_test(tc, test_suspend_restore);
	tcase_add_test(tc, test_export_erase);
	suite_add_tcase(s, tc);
	return h_main(s);
}
