/*
 * The operator's support desk: users phone in with complaints and the
 * desk has pigeonctl and the API. It sees whether a phone, member or
 * not, said STOP, since when and how, and records a STOP for a phone
 * that asks by other means without sending it anything (only the phone
 * lifts it); it finds a member by its phone; an admin token sees a
 * suspended member; and the inbox's result says when a reply was not
 * queued (opted out, reply cap) rather than that it was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"desk-token-0123456789abcdef0123456789ab"
#define READER	"desk-reader-0123456789abcdef0123456789a"
#define WAIT_MS	60000

#define ALICE	"+212661000500"
#define DAVE	"+212661000501"
#define NEVER	"+212661000503"	/* never texted the service */
#define ERIN	"+212661000504"
#define SAMI	"+212661000505"	/* texted STOP, never joined */
#define FRANK	"+212661000506"
#define CAROL	"+212661000507"

static struct h_gateway g;
static char http_extra[512];

static void
setup(void)
{
	char *file = h_secret_file("desk", "tokens", "dash read " READER "\n");

	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token = " TOKEN "\ntokens_file = %s\n",
	    file);
	g.http_extra = http_extra;
	/* Three replies an hour to a phone: FRANK reaches it. */
	g.extra_config = "reply_cap_hour = 3\n";
	h_gateway_start(&g, "desk", 1);
	h_join(&g, 0, ALICE, "alice", WAIT_MS);
	free(file);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

#define ctl(out, args)	h_pigeonctl(&g, (out), (args))

/* pigeonctl --json ARGS as JSON (the command must succeed). */
static json_t *
ctl_json(const char *args)
{
	char *out = NULL, *cmd = h_strf("--json %s", args);
	ck_assert_msg(ctl(&out, cmd) == 0, "pigeonctl %s: %s", args, out);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_msg(j != NULL, "pigeonctl %s: not JSON: %s", args, out);
	free(out);
	free(cmd);
	return j;
}

static const char *
jstr(json_t *j, const char *path1, const char *path2)
{
	json_t *v = json_object_get(j, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_is_string(v) ? json_string_value(v) : "(none)";
}

/*
 * A member who texted STOP: the desk sees it (export said updates_on and
 * sms true, nothing about the STOP), by handle or by phone in any form.
 */
START_TEST(test_stopped_member_seen)
{
	char *out = NULL;

	h_join(&g, 0, DAVE, "dave", WAIT_MS);
	ck_assert_int_eq(h_text(&g, 0, DAVE, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_text(&g, 0, DAVE, "STOP"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    DAVE, "1", WAIT_MS), 0);

	/* export shows the STOP, by handle and by phone. */
	json_t *j = ctl_json("export dave");
	ck_assert_str_eq(jstr(j, "optout", "how"), "sms");
	ck_assert_str_ne(jstr(j, "optout", "since"), "(none)");
	json_decref(j);
	j = ctl_json("export +212661000501");
	ck_assert_str_eq(jstr(j, "account", "handle"), "dave");
	json_decref(j);
	j = ctl_json("export '0661 000-501'");
	ck_assert_str_eq(jstr(j, "account", "handle"), "dave");
	json_decref(j);

	/* phone: member, STOP, how, in national form too. */
	ck_assert_int_eq(ctl(&out, "phone 0661000501"), 0);
	ck_assert_msg(strstr(out, DAVE ": member @dave") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "opted out (STOP) since") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "texted STOP") != NULL, "%s", out);
	free(out);
	/* users by phone: the same member (never its phone shown). */
	ck_assert_int_eq(ctl(&out, "users 0661000501"), 0);
	ck_assert_msg(strstr(out, "@dave") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "661000501") == NULL, "%s", out);
	free(out);
	/* A phone no member has, by phone. */
	ck_assert_int_eq(ctl(&out, "export " NEVER), 1);
	ck_assert_msg(strstr(out, "no member has the phone") != NULL, "%s", out);
	free(out);

	/* A phone is private: admin scope only, never on a public route. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/phones/" DAVE, NULL, NULL,
	    NULL), 401);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/phones/" DAVE, READER, NULL,
	    NULL), 403);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/%2B212661000501", NULL,
	    NULL, NULL), 404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/dave", NULL, NULL, &out),
	    200);
	ck_assert_ptr_null(strstr(out, "661000501"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/phones/hello", TOKEN, NULL,
	    NULL), 400);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/phones/06610005", TOKEN, NULL,
	    &out), 400);
	ck_assert_msg(strstr(out, "9 digits") != NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * The desk records a STOP for a phone that asked by calling, member or
 * not: nothing is sent to it (suspend sent one more SMS, and a stranger
 * could not be silenced at all), and only the phone lifts it.
 */
START_TEST(test_desk_optout)
{
	char *out = NULL;

	/* A phone that never texted: known to be nothing. */
	ck_assert_int_eq(ctl(&out, "phone " NEVER), 0);
	ck_assert_msg(strstr(out, NEVER ": not a member") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "not opted out") != NULL, "%s", out);
	free(out);
	/* A read token may not. */
	ck_assert_int_eq(h_run(&out, "%s -c '%s' -t " READER " optout " NEVER " 2>&1",
	    h_bin("pigeonctl"), g.config), 1);
	free(out);
	ck_assert_int_eq(ctl(&out, "optout '+212 661 000 503'"), 0);
	ck_assert_msg(strstr(out, NEVER " opted out; nothing was sent") != NULL, "%s", out);
	free(out);
	json_t *j = ctl_json("phone " NEVER);
	ck_assert_str_eq(jstr(j, "optout", "how"), "operator");
	ck_assert_str_eq(jstr(j, "optout", "by"), "admin");
	ck_assert(json_is_null(json_object_get(j, "member")));
	json_decref(j);
	/* Twice: the first record stays. */
	ck_assert_int_eq(ctl(&out, "optout " NEVER), 0);
	ck_assert_msg(strstr(out, "already opted out since") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "recorded by the operator (token admin)") != NULL, "%s",
	    out);
	free(out);
	/* Nothing goes to it: an operator's send is refused. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" NEVER "\",\"text\":\"hello\"}", NULL), 403);

	/* A member, with a message waiting for it: no SMS at all, the
	 * waiting one cancelled as after a texted STOP. */
	h_join(&g, 0, ERIN, "erin", WAIT_MS);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	int before = h_received_count(&g, ERIN);
	const char *e[] = { ERIN };
	char *id = h_db_value(g.db, "INSERT INTO outbox (recipient, text, class, "
	    "next_attempt_at) VALUES ($1, 'tomorrow''s news', 1, "
	    "now() + interval '3 seconds') RETURNING id", 1, e);
	ck_assert_int_eq(ctl(&out, "optout " ERIN), 0);
	free(out);
	h_wait_outbox(&g, atol(id), "cancelled", WAIT_MS);
	free(id);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_count(&g, ERIN), before);
	j = ctl_json("export erin");
	ck_assert_str_eq(jstr(j, "optout", "how"), "operator");
	json_decref(j);

	/* No route lifts it: the phone does, by START. */
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/phones/" ERIN "/optout", TOKEN,
	    NULL, NULL), 405);
	ck_assert_int_eq(h_text(&g, 0, ERIN, "START"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    ERIN, "0", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, "phone " ERIN), 0);
	ck_assert_msg(strstr(out, "not opted out") != NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * A reply not queued is not said to be sent: a stranger who said STOP
 * got "not a member: join hint sent" on every message, with no outbox
 * row; a member past reply_cap_hour "left @alice" with no reply.
 */
START_TEST(test_result_no_reply)
{
	ck_assert_int_eq(h_text(&g, 0, SAMI, "STOP"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    SAMI, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, SAMI, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT result FROM inbox_messages WHERE "
	    "sender = $1 AND text = 'FOLLOW alice' AND state <> 'new'", SAMI,
	    "not a member (no reply: opted out)", WAIT_MS), 0);
	char *out = NULL;
	ck_assert_int_eq(ctl(&out, "inbox -f " SAMI), 0);
	ck_assert_msg(strstr(out, "join hint sent") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "no reply: opted out") != NULL, "%s", out);
	free(out);
	/* Only the STOP's confirmation went to it. */
	const char *p[] = { SAMI };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = $1",
	    1, p), 1);

	/* Three replies an hour: the welcome, FOLLOW's, HELP's first; its
	 * second and LEAVE's are not queued. */
	h_join(&g, 0, FRANK, "frank", WAIT_MS);
	ck_assert_int_eq(h_text(&g, 0, FRANK, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT result FROM inbox_messages WHERE "
	    "sender = $1 AND text = 'FOLLOW alice' AND state <> 'new'", FRANK,
	    "follows @alice", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, FRANK, "HELP"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT result FROM inbox_messages WHERE "
	    "sender = $1 AND text = 'HELP' AND state <> 'new'", FRANK,
	    "help (a reply not sent: reply cap reached)", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, FRANK, "LEAVE alice"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT result FROM inbox_messages WHERE "
	    "sender = $1 AND text = 'LEAVE alice' AND state <> 'new'", FRANK,
	    "left @alice (no reply: reply cap reached)", WAIT_MS), 0);
	const char *f[] = { FRANK };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = $1",
	    1, f), 3);
}
END_TEST

/*
 * An admin token sees a suspended member, marked (pigeonctl users said
 * "no such user"); the public and a read token still do not.
 */
START_TEST(test_suspended_seen_by_admin)
{
	char *out = NULL;

	h_join(&g, 0, CAROL, "carol", WAIT_MS);
	ck_assert_int_eq(ctl(&out, "post carol 'carol was here'"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, "suspend carol"), 0);
	free(out);

	ck_assert_int_eq(ctl(&out, "users carol"), 0);
	ck_assert_msg(strstr(out, "@carol") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "SUSPENDED since") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "carol was here") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, "users " CAROL), 0);
	ck_assert_msg(strstr(out, "SUSPENDED since") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, "phone " CAROL), 0);
	ck_assert_msg(strstr(out, "member @carol, suspended since") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/carol", TOKEN, NULL, &out),
	    200);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_ptr_null(strstr(out, "661000507"));
	free(out);
	ck_assert_str_ne(jstr(j, "suspended_at", NULL), "(none)");
	json_decref(j);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/carol/posts", TOKEN, NULL,
	    NULL), 200);

	/* The public, a read token and the pages: as before. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/carol", NULL, NULL, NULL),
	    404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/carol", READER, NULL, NULL),
	    404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/carol/posts", READER, NULL,
	    NULL), 404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/users/carol", TOKEN, NULL, NULL), 404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/alice", NULL, NULL, &out),
	    200);
	ck_assert_ptr_null(strstr(out, "suspended_at"));
	ck_assert_ptr_null(strstr(out, "phone"));
	free(out);

	/* FOLLOW carol: the phone is told nobody is called so; the result,
	 * which the desk reads, says why. */
	ck_assert_int_eq(h_text(&g, 0, ALICE, "FOLLOW carol"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT result FROM inbox_messages WHERE "
	    "sender = $1 AND text = 'FOLLOW carol' AND state <> 'new'", ALICE,
	    "no such user @carol (suspended)", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "@carol", WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, ALICE, "suspend"), 0);
}
END_TEST

/*
 * A handle of digits that is another member's phone (a JOIN 0661000510
 * from another phone): "pigeonctl suspend 0661000510" suspended the
 * phone's owner, and erase would have erased it. Both exist: refused,
 * nobody touched; "@" names the handle.
 */
START_TEST(test_digits_both_phone_and_handle)
{
	char *out = NULL;

	h_join(&g, 0, "+212661000510", "victim", WAIT_MS);
	h_join(&g, 0, "+212661000511", "0661000510", WAIT_MS);
	ck_assert_int_eq(ctl(&out, "suspend 0661000510"), 2);
	ck_assert_msg(strstr(out, "is @victim's phone and also the handle of @0661000510")
	    != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE "
	    "handle IN ('victim', '0661000510') AND suspended_at IS NOT NULL", 0, NULL), 0);
	ck_assert_int_eq(ctl(&out, "suspend @0661000510"), 0);
	free(out);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE "
	    "handle = '0661000510' AND suspended_at IS NOT NULL", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE "
	    "handle = 'victim' AND suspended_at IS NULL", 0, NULL), 1);
	/* The phone with its country code is the phone. */
	ck_assert_int_eq(ctl(&out, "users +212661000510"), 0);
	ck_assert_msg(strstr(out, "@victim") != NULL, "%s", out);
	free(out);
}
END_TEST

/* A message held (quiet hours, a retry's backoff, a send_at) says when
 * it goes: pigeonctl status showed it as plain "queued". */
START_TEST(test_status_next_try)
{
	char *out = NULL, args[64];
	long id = h_db_long(g.db, "INSERT INTO outbox (recipient, text, class, "
	    "next_attempt_at) VALUES ('+212661000520', 'later', 1, "
	    "'2031-01-02 12:00:00+00') RETURNING id", 0, NULL);

	snprintf(args, sizeof(args), "status %ld", id);
	ck_assert_int_eq(ctl(&out, args), 0);
	ck_assert_msg(strstr(out, ": queued") != NULL && strstr(out, "next try") != NULL &&
	    strstr(out, "2031-01-02") != NULL, "%s", out);
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("desk");
	TCase *tc = tcase_create("desk");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_stopped_member_seen);
	tcase_add_test(tc, test_desk_optout);
	tcase_add_test(tc, test_result_no_reply);
	tcase_add_test(tc, test_suspended_seen_by_admin);
	tcase_add_test(tc, test_digits_both_phone_and_handle);
	tcase_add_test(tc, test_status_next_try);
	suite_add_tcase(s, tc);
	return h_main(s);
}
