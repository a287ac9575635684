/*
 * The HTTP API on a running gateway: every route's success and its errors
 * (400, 401, 404, 413), /metrics checked by promtool, 503 when the
 * database does not answer within 10 s (maybe done, or not run), and 503
 * while PostgreSQL is stopped, with recovery once it is back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"s3cret-token-0123456789abcdef0123456789"
#define CAROL	"+212661000003"
#define WAIT_MS	60000

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "api", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* A request with the token; the body parsed as JSON into *out when asked. */
static int
call(const char *method, const char *path, const char *body, json_t **out)
{
	char *resp = NULL;
	int code = h_http(g.http_port, method, path, TOKEN, body, &resp);
	if (out)
		*out = resp ? json_loads(resp, JSON_DECODE_ANY, NULL) : NULL;
	free(resp);
	return code;
}

/* The answer is {"error": "..."} with the code. */
static void
assert_error(int code, const char *method, const char *path, const char *token,
    const char *body)
{
	char *resp = NULL;
	int got = h_http(g.http_port, method, path, token, body, &resp);
	json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
	ck_assert_msg(got == code, "%s %s: %d, not %d (%s)", method, path, got, code,
	    resp ? resp : "");
	ck_assert_msg(json_is_string(json_object_get(j, "error")),
	    "%s %s: no {\"error\"} in %s", method, path, resp ? resp : "");
	json_decref(j);
	free(resp);
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

struct state_arg {
	long long id;
	const char *want;
};

static int
message_in_state(void *p)
{
	struct state_arg *a = p;
	char path[64];
	json_t *j = NULL;
	snprintf(path, sizeof(path), "/api/messages/%lld", a->id);
	int ok = call("GET", path, NULL, &j) == 200 && strcmp(str(j, "state"), a->want) == 0;
	json_decref(j);
	return ok;
}

START_TEST(test_auth_and_errors)
{
	json_t *j = NULL;

	/* Public: health, the status page and its files. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL), 200);
	char *page = NULL;
	ck_assert_int_eq(h_http(g.http_port, "GET", "/", NULL, NULL, &page), 200);
	ck_assert_ptr_nonnull(strstr(page, "<title>Pigeon status</title>"));
	free(page);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/app.js", NULL, NULL, NULL), 200);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/style.css", NULL, NULL, NULL), 200);

	/* Operator routes: no token, a wrong one, a truncated one. */
	assert_error(401, "GET", "/api/modems", NULL, NULL);
	assert_error(401, "GET", "/api/modems", "wrong", NULL);
	assert_error(401, "GET", "/api/modems", "s3cret-toke", NULL);
	assert_error(401, "GET", "/metrics", NULL, NULL);
	assert_error(401, "POST", "/api/messages", NULL, "{\"to\":\"" CAROL "\",\"text\":\"x\"}");
	assert_error(401, "POST", "/api/posts", NULL, "{\"user\":\"a\",\"text\":\"x\"}");
	assert_error(401, "POST", "/api/modems/sim0/disable", "nope", NULL);
	assert_error(401, "GET", "/api/messages/1", NULL, NULL);

	/* Unknown routes and things. */
	assert_error(404, "GET", "/nope", NULL, NULL);
	assert_error(404, "GET", "/api/messages/999999", TOKEN, NULL);
	assert_error(404, "GET", "/api/users/nobody", NULL, NULL);
	assert_error(404, "GET", "/api/users/nobody/posts", NULL, NULL);
	assert_error(404, "GET", "/users/nobody.atom", NULL, NULL);
	assert_error(404, "POST", "/api/modems/nosuch/enable", TOKEN, NULL);
	assert_error(404, "POST", "/api/posts", TOKEN, "{\"user\":\"nobody\",\"text\":\"x\"}");
	assert_error(405, "POST", "/api/modems", TOKEN, "{}");
	assert_error(405, "PUT", "/api/messages/1", TOKEN, NULL);

	/* Bad JSON and bad fields. */
	assert_error(400, "POST", "/api/messages", TOKEN, "{\"to\": ");
	assert_error(400, "POST", "/api/messages", TOKEN, "[1, 2]");
	assert_error(400, "POST", "/api/messages", TOKEN, "");
	assert_error(400, "POST", "/api/messages", TOKEN, "{\"to\":\"" CAROL "\"}");
	assert_error(400, "POST", "/api/messages", TOKEN, "{\"to\":\"hello\",\"text\":\"x\"}");
	assert_error(400, "POST", "/api/messages", TOKEN, "{\"to\":\"" CAROL "\",\"text\":\"\"}");
	assert_error(400, "POST", "/api/messages", TOKEN, "{\"to\":12,\"text\":\"x\"}");
	assert_error(400, "GET", "/api/messages/abc", TOKEN, NULL);
	assert_error(400, "GET", "/api/messages?status=lost", TOKEN, NULL);
	assert_error(400, "GET", "/api/messages?limit=0", TOKEN, NULL);
	assert_error(400, "GET", "/api/messages?before=x", TOKEN, NULL);
	assert_error(400, "POST", "/api/posts", TOKEN, "{\"user\":\"bad handle!\",\"text\":\"x\"}");
	assert_error(400, "POST", "/api/posts", TOKEN, "{\"user\":\"alice\"}");

	/* Bodies are capped. */
	char *big = malloc(60000);	/* over 56,192, under evhttp's 64 KiB */
	memset(big, 'a', 59999);
	big[59999] = '\0';
	memcpy(big, "{\"to\":\"", 7);
	assert_error(413, "POST", "/api/messages", TOKEN, big);
	free(big);

	/* Nothing of that reached the queue. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox", 0, NULL), 0);

	ck_assert_int_eq(call("GET", "/api/modems", NULL, &j), 200);
	json_t *m = json_array_get(json_object_get(j, "modems"), 0);
	ck_assert_str_eq(str(m, "name"), "sim0");
	ck_assert_str_eq(str(m, "state"), "online");
	json_decref(j);
}
END_TEST

START_TEST(test_send_status_search)
{
	json_t *j = NULL, *h;
	size_t i;
	char path[128];

	/* A national number is normalized; the message is sent by the modem. */
	ck_assert_int_eq(call("POST", "/api/messages",
	    "{\"to\":\"06 61 00 00 03\",\"text\":\"Bonjour de l'opérateur\"}", &j), 202);
	long long id = json_integer_value(json_object_get(j, "id"));
	ck_assert_int_gt(id, 0);
	json_decref(j);
	ck_assert_int_eq(h_wait_received(&g, CAROL, "Bonjour de l'opérateur", WAIT_MS), 0);
	struct state_arg a = { id, "sent" };
	ck_assert_int_eq(h_wait_for(message_in_state, &a, WAIT_MS), 0);

	snprintf(path, sizeof(path), "/api/messages/%lld", id);
	ck_assert_int_eq(call("GET", path, NULL, &j), 200);
	ck_assert_str_eq(str(j, "to"), CAROL);
	ck_assert_str_eq(str(j, "modem"), "sim0");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "class")), 1);
	int saw_sending = 0, saw_sent = 0;
	json_array_foreach(json_object_get(j, "history"), i, h) {
		saw_sending |= strcmp(str(h, "state"), "sending") == 0;
		saw_sent |= strcmp(str(h, "state"), "sent") == 0;
	}
	ck_assert(saw_sending && saw_sent);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "history"), 0), "state"), "queued");
	json_decref(j);

	/* A phone that said STOP gets nothing: 403. */
	PQclear(PQexec(g.db, "INSERT INTO optouts (phone) VALUES ('+212661000004')"));
	assert_error(403, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661000004\",\"text\":\"promo\"}");

	/* Two more, then search and page. */
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"" CAROL "\",\"text\":\"two\"}", NULL), 202);
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"+212661000005\",\"text\":\"three\"}", NULL), 202);
	ck_assert_int_eq(call("GET", "/api/messages?to=0661000003&limit=1", NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "messages")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "messages"), 0), "text"), "two");
	long long next = json_integer_value(json_object_get(j, "next_before"));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/messages?to=%%2B212661000003&limit=1&before=%lld", next);
	ck_assert_int_eq(call("GET", path, NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "messages")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(
	    json_array_get(json_object_get(j, "messages"), 0), "id")), id);
	/* A full last page says it is the last: no next page to fetch empty. */
	ck_assert(json_is_null(json_object_get(j, "next_before")));
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/messages?status=sent", NULL, &j), 200);
	ck_assert_int_ge(json_array_size(json_object_get(j, "messages")), 1);
	json_decref(j);
	/* The number in Arabic-Indic digits (٠٦٦١٠٠٠٠٠٣) is the same number;
	 * a name is no recipient (it listed nothing). */
	ck_assert_int_eq(call("GET", "/api/messages?to=%D9%A0%D9%A6%D9%A6%D9%A1%D9%A0"
	    "%D9%A0%D9%A0%D9%A0%D9%A0%D9%A3&limit=1", NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "messages")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "messages"), 0), "text"), "two");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/messages?to=hello", NULL, NULL), 400);
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"٠٦٦١٠٠٠٠٠٣\","
	    "\"text\":\"four\"}", NULL), 202);
	/* A number one digit short, queued before its length was checked (a
	 * send now refuses it), is still found in the forms it was given. */
	h_outbox_add(&g, "+2126610000", "one digit short", 1);
	ck_assert_int_eq(call("GET", "/api/messages?to=06610000", NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "messages")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "messages"), 0), "text"),
	    "one digit short");
	json_decref(j);
}
END_TEST

START_TEST(test_users_posts_feed)
{
	json_t *j = NULL;
	char *body = NULL;

	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, bio, lang) VALUES "
	    "('+212661000001', 'alice', 'Alice <A>', 'I & my pigeons', 'en'), "
	    "('+212661000002', 'bob', '', '', 'fr')"));
	PQclear(PQexec(g.db, "INSERT INTO follows (followee, follower) SELECT a.id, b.id "
	    "FROM accounts a, accounts b WHERE a.handle = 'alice' AND b.handle = 'bob'"));

	ck_assert_int_eq(call("POST", "/api/posts",
	    "{\"user\":\"@Alice\",\"text\":\"Posted from the web\"}", &j), 201);
	ck_assert_int_gt(json_integer_value(json_object_get(j, "id")), 0);
	json_decref(j);
	/* Fanned out like a texted post. */
	ck_assert_int_eq(h_wait_received(&g, "+212661000002",
	    "@alice: Posted from the web", WAIT_MS), 0);

	char longtext[300];
	memset(longtext, 'x', 200);
	longtext[200] = '\0';
	char *req = NULL;
	ck_assert_int_ge(asprintf(&req, "{\"user\":\"alice\",\"text\":\"%s\"}", longtext), 0);
	assert_error(400, "POST", "/api/posts", TOKEN, req);
	free(req);

	/* Public reads: no token, never a phone number. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/alice", NULL, NULL, &body), 200);
	ck_assert_ptr_null(strstr(body, "+2126"));
	j = json_loads(body, 0, NULL);
	ck_assert_str_eq(str(j, "handle"), "alice");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "followers")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "posts")), 1);
	json_decref(j);
	free(body);

	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/alice/posts", NULL, NULL, &body), 200);
	ck_assert_ptr_null(strstr(body, "+2126"));
	ck_assert_ptr_nonnull(strstr(body, "Posted from the web"));
	free(body);

	ck_assert_int_eq(h_http(g.http_port, "GET", "/users/alice.atom", NULL, NULL, &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
	ck_assert_ptr_nonnull(strstr(body, "<content type=\"text\">Posted from the web</content>"));
	ck_assert_ptr_nonnull(strstr(body, "Alice &lt;A&gt;"));
	ck_assert_ptr_nonnull(strstr(body, "I &amp; my pigeons"));
	ck_assert_ptr_null(strstr(body, "+2126"));
	/* Without [http] public_url, its links are the address asked. */
	char self[96];
	snprintf(self, sizeof(self), "<link rel=\"self\" href=\"http://127.0.0.1:%d/users/"
	    "alice.atom\"/>", g.http_port);
	ck_assert_msg(strstr(body, self) != NULL, "no %s in %s", self, body);
	/* xmllint, when present, says it is well-formed. */
	char *dir = h_tmpdir("api-feed"), *file = NULL, *out = NULL;
	ck_assert_int_ge(asprintf(&file, "%s/alice.atom", dir), 0);
	h_write_file(file, body);
	int rc = h_run(&out, "command -v xmllint >/dev/null || exit 0; xmllint --noout '%s' 2>&1",
	    file);
	ck_assert_msg(rc == 0, "atom feed not well-formed: %s", out);
	free(out);
	free(file);
	free(dir);
	free(body);
}
END_TEST

START_TEST(test_modem_actions)
{
	json_t *j = NULL;

	ck_assert_int_eq(call("POST", "/api/modems/sim0/disable", NULL, &j), 200);
	/* Its process stops after the answer: the state it goes to is
	 * "becomes", "state" is the state when answered. */
	ck_assert_str_eq(str(j, "becomes"), "disabled");
	ck_assert(json_is_integer(json_object_get(j, "in_flight")));
	json_decref(j);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM modems WHERE name = $1", "sim0",
	    "disabled", WAIT_MS), 0);
	ck_assert_int_eq(call("GET", "/api/modems", NULL, &j), 200);
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "modems"), 0), "state"), "disabled");
	json_decref(j);

	ck_assert_int_eq(call("POST", "/api/modems/sim0/enable", NULL, &j), 200);
	json_decref(j);
	ck_assert_int_eq(h_gateway_wait_online(&g, 1, WAIT_MS), 0);

	ck_assert_int_eq(call("POST", "/api/modems/sim0/drain", NULL, &j), 200);
	ck_assert_str_eq(str(j, "state"), "draining");
	ck_assert_str_eq(str(j, "becomes"), "draining");
	json_decref(j);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM modems WHERE name = $1", "sim0",
	    "draining", WAIT_MS), 0);
	ck_assert_int_eq(call("POST", "/api/modems/sim0/enable", NULL, &j), 200);
	json_decref(j);
	ck_assert_int_eq(h_gateway_wait_online(&g, 1, WAIT_MS), 0);
}
END_TEST

START_TEST(test_metrics_and_status)
{
	char *body = NULL, *path, *out = NULL;
	json_t *j = NULL;

	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "pigeon_database_up 1"));
	ck_assert_ptr_nonnull(strstr(body, "pigeon_modem_up{modem=\"sim0\"} 1"));
	ck_assert_ptr_nonnull(strstr(body, "pigeon_queue_depth{state=\"queued\",class=\"fanout\"}"));
	ck_assert_ptr_nonnull(strstr(body, "pigeon_delivery_report_latency_seconds_bucket{le=\"+Inf\"}"));
	ck_assert_ptr_nonnull(strstr(body, "pigeon_database_reconnects_total 0"));
	/* Nothing queued: the scheduler catches up at each look (its tick). */
	ck_assert_ptr_nonnull(strstr(body, "\npigeon_scheduler_caught_up_total "));
	h_wait_scheduler_caught_up(&g, TOKEN, 1, 10000);
	path = h_tmpdir("api-metrics");
	char *file = NULL;
	ck_assert_int_ge(asprintf(&file, "%s/metrics.txt", path), 0);
	h_write_file(file, body);
	int rc = h_run(&out, "promtool check metrics < '%s' 2>&1", file);
	ck_assert_msg(rc == 0, "promtool check metrics: %s", out);
	free(out);
	free(file);
	free(path);
	free(body);

	ck_assert_int_eq(call("GET", "/api/status", NULL, &j), 200);
	ck_assert(json_is_array(json_object_get(j, "modems")));
	ck_assert(json_is_array(json_object_get(j, "queue")));
	ck_assert(json_is_array(json_object_get(j, "failures")));
	json_decref(j);
}
END_TEST

static long long t_ms;

/* Sends a request and hangs up without reading the answer. */
static void
request_and_leave(const char *path)
{
	struct sockaddr_in sa = { 0 };
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_port = htons(g.http_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nAuthorization: Bearer " TOKEN
	    "\r\n\r\n", path);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	/* Gone once pigeond's query for it waits on the test's lock
	 * (pg_locks is read live; pg_stat_activity would be read once in
	 * the test's transaction). */
	ck_assert_int_eq(h_wait_db(&g, "SELECT (count(*) > 0)::text FROM pg_locks "
	    "WHERE NOT granted AND relation = 'outbox'::regclass AND database = "
	    "(SELECT oid FROM pg_database WHERE datname = current_database())",
	    NULL, "true", 10000), 0);
	close(fd);
}

START_TEST(test_slow_database)
{
	/* A lock holds every query on outbox: the API answers 503 in time,
	 * and requests whose client left are let go without harm. */
	PQclear(PQexec(g.db, "BEGIN"));
	PQclear(PQexec(g.db, "LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"));
	request_and_leave("/api/messages/1");
	long t0 = h_now_ms();
	assert_error(503, "GET", "/api/messages/1", TOKEN, NULL);
	long took = h_now_ms() - t0;
	fprintf(stderr, "test_api: a stuck query answered 503 after %ld ms\n", took);
	ck_assert_int_ge(took, 9000);
	ck_assert_int_lt(took, 15000);
	PQclear(PQexec(g.db, "COMMIT"));
	ck_assert_int_eq(call("GET", "/api/messages?limit=1", NULL, NULL), 200);
}
END_TEST

/* The API's connection does not wait for a lock. */
static int
api_waits_for_no_lock(void *unused)
{
	/* The test's transaction holds the lock: its view of the
	 * activity is taken once per transaction, but for this. */
	PQclear(PQexec(g.db, "SELECT pg_stat_clear_snapshot()"));
	return h_db_long(g.db, "SELECT count(*) FROM pg_stat_activity "
	    "WHERE datname = current_database() AND wait_event_type = 'Lock' "
	    "AND application_name LIKE '% api'", 0, NULL) == 0;
}

/*
 * A write the database did not answer within 10 s is answered 503, and its
 * statement cancelled: the message is not queued once the lock is gone
 * (an integrator retries a 503, and the SMS went twice). The answer says
 * it may have been done, and the next request is answered as before.
 */
START_TEST(test_timeout_cancels_write)
{
	char *resp = NULL;
	json_t *j = NULL, *answer, *list;
	size_t i;
	int found = 0;

	PQclear(PQexec(g.db, "BEGIN"));
	PQclear(PQexec(g.db, "LOCK TABLE outbox IN EXCLUSIVE MODE"));
	int code = h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"0661000096\",\"text\":\"timeout no key\"}", &resp);
	/* Its statement no longer waits for the lock before the lock goes:
	 * the cancel, under way as the 503 left, has landed, however slowly
	 * (5 s were not always enough: it then went on, and queued the
	 * message). One still waiting at 20 s was not cancelled: pigeond
	 * may have dropped the connection instead (its cancel request got
	 * no answer within 5 s), which does not stop it. */
	int stopped = h_wait_for(api_waits_for_no_lock, NULL, 20000) == 0;
	PQclear(PQexec(g.db, "COMMIT"));
	ck_assert_msg(code == 503, "%d %s", code, resp ? resp : "");
	if (!stopped) {
		char *path = h_strf("%s/pigeond.log", g.dir), *log = h_read_file(path);
		ck_abort_msg("the API's statement still waited for the lock 20 s "
		    "after its 503: not cancelled%s", log && strstr(log,
		    "the cancel request got no answer") ? " (pigeond's cancel "
		    "request got no answer: it dropped the connection)" : "");
	}
	answer = resp ? json_loads(resp, 0, NULL) : NULL;
	free(resp);

	/* The next request on that connection gets its own answer. */
	ck_assert_int_eq(call("POST", "/api/messages",
	    "{\"to\":\"0661000096\",\"text\":\"after the timeout\"}", &j), 202);
	long long id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	char path[64];
	snprintf(path, sizeof(path), "/api/messages/%lld", id);
	ck_assert_int_eq(call("GET", path, NULL, &j), 200);
	ck_assert_str_eq(str(j, "text"), "after the timeout");
	json_decref(j);

	/* The cancelled one was never queued. */
	ck_assert_int_eq(call("GET", "/api/messages?to=0661000096", NULL, &j), 200);
	list = json_object_get(j, "messages");
	for (i = 0; i < json_array_size(list); i++) {
		const char *text = str(json_array_get(list, i), "text");
		ck_assert_msg(strcmp(text, "timeout no key") != 0,
		    "the cancelled message was queued after all");
		found += strcmp(text, "after the timeout") == 0;
	}
	ck_assert_int_eq(found, 1);
	json_decref(j);
	/* And the 503 said why, and that the message may have been queued. */
	ck_assert_ptr_nonnull(strstr(str(answer, "error"), "did not answer within 10 s"));
	ck_assert_msg(json_is_true(json_object_get(answer, "maybe_done")),
	    "no maybe_done in the 503");
	json_decref(answer);
}
END_TEST

/* 1 once pigeond's log says that a cancel request got no answer. */
static int
cancel_unanswered(void *unused)
{
	char *path = h_strf("%s/pigeond.log", g.dir), *log = h_read_file(path);
	int yes = log != NULL && strstr(log, "the cancel request got no answer") != NULL;

	free(log);
	free(path);
	return yes;
}

/* 1 once no API connection of pigeond's waits on a lock (watch: a
 * connection outside any transaction, whose view is taken anew). */
static int
no_api_lock_wait(void *watch)
{
	return h_db_long(watch, "SELECT count(*) FROM pg_stat_activity "
	    "WHERE datname = current_database() AND wait_event_type = 'Lock' "
	    "AND application_name LIKE '% api'", 0, NULL) == 0;
}

/*
 * A write answered 503 whose cancel request got no answer: pigeond drops
 * the connection, and the statement must not go on waiting for its lock
 * and queue the message once the lock goes (an integrator retries a 503:
 * the SMS went twice). PostgreSQL's postmaster, which answers cancel
 * requests, is stopped (SIGSTOP) meanwhile; its backends run on. Before,
 * the statement waited as long as the lock was held.
 */
START_TEST(test_cancel_unanswered_write_stops)
{
	PGconn *watch = h_db_connect(g.conninfo);
	char *resp = NULL, *stat, *p;
	long backend = h_db_long(watch, "SELECT pg_backend_pid()", 0, NULL);

	/* The postmaster: the backend's parent. */
	char *path = h_strf("/proc/%ld/stat", backend);
	stat = h_read_file(path);
	free(path);
	ck_assert_ptr_nonnull(stat);
	ck_assert_ptr_nonnull(p = strrchr(stat, ')'));
	pid_t postmaster = 0;
	ck_assert_int_eq(sscanf(p + 1, " %*c %d", &postmaster), 1);
	free(stat);
	ck_assert_int_gt(postmaster, 1);

	PQclear(PQexec(g.db, "BEGIN"));
	PQclear(PQexec(g.db, "LOCK TABLE outbox IN EXCLUSIVE MODE"));
	/* No assertion until the postmaster runs again: the next tests of
	 * the cluster need it. */
	int stopped_pm = kill(postmaster, SIGSTOP) == 0;
	int code = h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"0661000097\",\"text\":\"cancel unanswered\"}", &resp);
	int dropped = h_wait_for(cancel_unanswered, NULL, 30000) == 0;
	int gone = dropped && h_wait_for(no_api_lock_wait, watch, 20000) == 0;
	kill(postmaster, SIGCONT);
	PQclear(PQexec(g.db, "COMMIT"));
	PQfinish(watch);

	ck_assert_msg(stopped_pm, "could not stop the postmaster (pid %d)", (int)postmaster);
	ck_assert_msg(code == 503, "%d %s", code, resp ? resp : "");
	free(resp);
	ck_assert_msg(dropped, "pigeond's cancel request was answered, or it did not "
	    "drop the connection");
	ck_assert_msg(gone, "the API's statement still waited for the lock 20 s after "
	    "pigeond dropped its connection");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox "
	    "WHERE text = 'cancel unanswered'", 0, NULL), 0);
	/* pigeond connects again and answers as before. */
	json_t *j = NULL;
	long deadline = h_now_ms() + 30000;
	int after = 0;
	while ((after = call("POST", "/api/messages",
	    "{\"to\":\"0661000097\",\"text\":\"after the drop\"}", &j)) != 202 &&
	    h_now_ms() < deadline) {
		json_decref(j);
		j = NULL;
		h_sleep_ms(200);
	}
	json_decref(j);
	ck_assert_int_eq(after, 202);
}
END_TEST

/*
 * A request with the token on a connection of its own, its answer read
 * later (answer_within): requests that wait side by side in pigeond.
 */
static int
request_send(const char *method, const char *path, const char *body)
{
	struct sockaddr_in sa = { 0 };
	char req[1024];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	ck_assert_int_ne(fd, -1);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(g.http_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer " TOKEN "\r\nContent-Length: %zu\r\n\r\n%s",
	    method, path, strlen(body), body);
	ck_assert(n > 0 && (size_t)n < sizeof(req));
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	return fd;
}

/* The status of the answer on fd within ms (0: none), its body as JSON
 * in *out (NULL if none); fd is closed. */
static int
answer_within(int fd, int ms, json_t **out)
{
	char buf[4096], *start;
	size_t len = 0;
	long end = h_now_ms() + ms;
	int code = 0;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = end - h_now_ms();
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)left) != 1 ||
		    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		code = 0;
	start = strstr(buf, "\r\n\r\n");
	*out = start ? json_loads(start + 4, 0, NULL) : NULL;
	return code;
}

/* What an answer says, for a failure's message (static buffer). */
static const char *
said(json_t *j)
{
	static char buf[512];
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	snprintf(buf, sizeof(buf), "%s", text ? text : "(no JSON)");
	free(text);
	return buf;
}

#define NOT_RUN	"{\"to\":\"0661000098\",\"text\":\"queued behind it\"," \
		"\"idempotency_key\":\"notrun-1\"}"

/*
 * A write still queued behind another on the API's connection when its
 * 10 s ran out was never sent: its 503 says "the request was not run",
 * without maybe_done (docs/api.md: it did nothing), and it never runs
 * later, so that its retry with the same idempotency_key queues the
 * message once. The first statement here outlives its cancel (a trigger
 * of this test's database waits for the test's advisory lock, and takes
 * no cancel), as one busy in the server past its cancel would: the
 * request behind it is still queued at its 10 s. (Held by a lock alone,
 * the first ends at its cancel, and the second is sent then and answers
 * maybe_done, unless it came within the milliseconds a cancel takes.)
 */
START_TEST(test_queued_write_not_run)
{
	json_t *first = NULL, *second = NULL, *j = NULL;

	/* One cancel request is two SIGINTs (the postmaster signals the
	 * backend and its process group): the second may land in the inner
	 * handler or between it and the next wait, so an outer block takes
	 * that one (one block alone let it end the statement). */
	h_db_exec(g.db, "CREATE FUNCTION test_hold_outbox() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN "
	    "IF NEW.text = 'held past its cancel' THEN LOOP BEGIN LOOP BEGIN "
	    "PERFORM pg_advisory_xact_lock_shared(1413829460, 1); RETURN NEW; "
	    "EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; "
	    "EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END IF; "
	    "RETURN NEW; END $$");
	h_db_exec(g.db, "CREATE TRIGGER test_hold_outbox BEFORE INSERT ON outbox "
	    "FOR EACH ROW EXECUTE FUNCTION test_hold_outbox()");
	h_db_exec(g.db, "SELECT pg_advisory_lock(1413829460, 1)");

	int a = request_send("POST", "/api/messages",
	    "{\"to\":\"0661000097\",\"text\":\"held past its cancel\"}");
	/* The first one's statement is in the server, waiting. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM pg_locks WHERE "
	    "locktype = 'advisory' AND classid = 1413829460 AND NOT granted "
	    "AND database = (SELECT oid FROM pg_database WHERE datname = "
	    "current_database())", NULL, "1", 10000), 0);
	long t0 = h_now_ms();
	int b = request_send("POST", "/api/messages", NOT_RUN);
	int code_b = answer_within(b, 20000, &second);
	long took = h_now_ms() - t0;
	int code_a = answer_within(a, 5000, &first);
	fprintf(stderr, "test_api: the queued request answered %d after %ld ms\n",
	    code_b, took);

	/* The first was sent: it may have been done. */
	ck_assert_msg(code_a == 503, "first: %d %s", code_a, said(first));
	ck_assert_msg(json_is_true(json_object_get(first, "maybe_done")),
	    "first: no maybe_done in %s", said(first));
	/* The second waited its 10 s, and was not run. */
	ck_assert_msg(code_b == 503, "second: %d %s", code_b, said(second));
	ck_assert_int_ge(took, 9000);
	ck_assert_msg(strcmp(str(second, "error"), "the database did not answer "
	    "within 10 s; the request was not run") == 0, "second: %s", said(second));
	ck_assert_msg(json_object_get(second, "maybe_done") == NULL,
	    "second: maybe_done in %s", said(second));
	json_decref(first);
	json_decref(second);
	/* The first one's statement went on past its cancel (as this test
	 * made it), and the second waits behind it, dropped. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM pg_locks WHERE "
	    "locktype = 'advisory' AND classid = 1413829460 AND NOT granted "
	    "AND database = (SELECT oid FROM pg_database WHERE datname = "
	    "current_database())", 0, NULL), 1);

	/* Once it ends, the first is done (its maybe_done was right)... */
	h_db_exec(g.db, "SELECT pg_advisory_unlock(1413829460, 1)");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox "
	    "WHERE text = 'held past its cancel'", NULL, "1", 10000), 0);
	/* ...the connection answers the next request... */
	ck_assert_int_eq(call("POST", "/api/messages",
	    "{\"to\":\"0661000098\",\"text\":\"after the queue\"}", &j), 202);
	json_decref(j);
	/* ...and the second, before it on that connection, never ran. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox "
	    "WHERE text = 'queued behind it'", 0, NULL), 0);

	/* Its retry with the same key is done, once. */
	ck_assert_int_eq(call("POST", "/api/messages", NOT_RUN, &j), 202);
	ck_assert_msg(json_object_get(j, "replayed") == NULL, "%s", said(j));
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	ck_assert_int_gt(id, 0);
	json_decref(j);
	ck_assert_int_eq(call("POST", "/api/messages", NOT_RUN, &j), 202);
	ck_assert_msg(json_is_true(json_object_get(j, "replayed")), "%s", said(j));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), id);
	json_decref(j);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox "
	    "WHERE text = 'queued behind it'", 0, NULL), 1);

	h_db_exec(g.db, "DROP TRIGGER test_hold_outbox ON outbox");
	h_db_exec(g.db, "DROP FUNCTION test_hold_outbox()");
}
END_TEST

/* A GET from address src (of 127/8), not read yet: its socket. */
static int
request_from(const char *src, const char *path)
{
	struct sockaddr_in sa = { 0 }, from = { 0 };
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ne(fd, -1);
	from.sin_family = AF_INET;
	inet_pton(AF_INET, src, &from.sin_addr);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(g.http_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

/* The status code of the answer on fd, waiting up to ms; 0 when none. */
static int
status_within(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[64];
	ssize_t n;

	if (poll(&p, 1, ms) != 1 || (n = read(fd, buf, sizeof(buf) - 1)) < 12)
		return 0;
	buf[n] = '\0';
	return atoi(buf + 9);
}

/*
 * Public requests have their own connection, and at most 64 of them wait
 * for it: many clients, each within its rate, queued without end behind
 * one connection that the operator's API waited on too. With the public
 * reads held by a lock, the operator is answered, and public requests
 * past the 64 waiting get a 503 at once.
 */
START_TEST(test_public_queue_bounded)
{
	enum { N = 72 };
	int fds[N], codes[N], busy = 0, ok = 0;
	char src[32];

	PQclear(PQexec(g.db, "BEGIN"));
	PQclear(PQexec(g.db, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"));
	for (int i = 0; i < N; i++) {
		/* 24 an address: under max_connections_per_address. */
		snprintf(src, sizeof(src), "127.0.0.%d", 21 + i / 24);
		fds[i] = request_from(src, "/api/users/alice");
		codes[i] = 0;
	}
	/* The ones past the 64 waiting are refused at once. */
	long end = h_now_ms() + 8000;
	while (busy < N - 64 && h_now_ms() < end)
		for (int i = 0; i < N; i++)
			if (codes[i] == 0 && (codes[i] = status_within(fds[i], 10)) == 503)
				busy++;
	ck_assert_int_eq(busy, N - 64);
	/* The operator's API does not wait behind them. */
	ck_assert_int_eq(call("GET", "/api/modems", NULL, NULL), 200);
	PQclear(PQexec(g.db, "COMMIT"));
	/* All are answered once the lock is gone (the 64 with 200, or 503
	 * had the lock outlived their 10 s on a very slow machine): none
	 * left hanging. */
	for (int i = 0; i < N; i++) {
		if (codes[i] == 0)
			codes[i] = status_within(fds[i], 15000);
		ok += codes[i] == 200 || codes[i] == 404 || codes[i] == 503;
		close(fds[i]);
	}
	ck_assert_int_eq(ok, N);
}
END_TEST

START_TEST(test_database_down)
{
	char *body = NULL;
	json_t *j = NULL;

	ck_assert_int_eq(h_pg_stop(), 0);
	long t0 = h_now_ms();
	assert_error(503, "GET", "/api/messages/1", TOKEN, NULL);
	assert_error(503, "POST", "/api/messages", TOKEN, "{\"to\":\"" CAROL "\",\"text\":\"x\"}");
	assert_error(503, "GET", "/api/users/alice", NULL, NULL);
	assert_error(503, "GET", "/api/modems", TOKEN, NULL);
	assert_error(503, "GET", "/api/status", TOKEN, NULL);
	assert_error(503, "GET", "/users/alice.atom", NULL, NULL);
	assert_error(503, "POST", "/api/posts", TOKEN, "{\"user\":\"alice\",\"text\":\"x\"}");
	t_ms = h_now_ms() - t0;
	ck_assert_msg(t_ms < 5000, "503s took %lld ms", t_ms);
	fprintf(stderr, "test_api: 7 requests answered 503 in %lld ms\n", t_ms);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL), 503);
	/* Metrics still answer, saying the database is down. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "pigeon_database_up 0"));
	/* Its modems are paused (their locks went with the connection): up
	 * is "online and takes sends", and they take none. */
	ck_assert_msg(strstr(body, "pigeon_modem_up{modem=\"sim0\"} 0") != NULL, "%s", body);
	free(body);

	ck_assert_int_eq(h_pg_start(), 0);
	long t1 = h_now_ms();
	int code = -1;
	while (h_now_ms() - t1 < WAIT_MS) {
		if ((code = call("GET", "/api/modems", NULL, NULL)) == 200)
			break;
		h_sleep_ms(200);
	}
	ck_assert_int_eq(code, 200);
	fprintf(stderr, "test_api: API back %ld ms after PostgreSQL started\n", h_now_ms() - t1);
	PQreset(g.db);
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"" CAROL "\",\"text\":\"after\"}", &j), 202);
	json_decref(j);
	ck_assert_int_eq(h_wait_received(&g, CAROL, "after", WAIT_MS), 0);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_ptr_null(strstr(body, "pigeon_database_reconnects_total 0"));
	free(body);
}
END_TEST

static Suite *
suite(void)
{
	/* "down" stops the shared cluster: tests/run runs it alone (Makefile's
	 * TESTS_ALONE), and the rest beside other programs. */
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("routes");
	TCase *notrun = tcase_create("notrun");
	TCase *down = tcase_create("down");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_auth_and_errors);
	tcase_add_test(tc, test_send_status_search);
	tcase_add_test(tc, test_users_posts_feed);
	tcase_add_test(tc, test_modem_actions);
	tcase_add_test(tc, test_metrics_and_status);
	tcase_add_test(tc, test_slow_database);
	tcase_add_test(tc, test_timeout_cancels_write);
	tcase_add_test(tc, test_public_queue_bounded);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(notrun, setup, teardown);
	tcase_set_timeout(notrun, 240);
	tcase_add_test(notrun, test_queued_write_not_run);
	suite_add_tcase(s, notrun);
	tcase_add_unchecked_fixture(down, setup, teardown);
	tcase_set_timeout(down, 240);
	tcase_add_test(down, test_cancel_unanswered_write_stops);
	tcase_add_test(down, test_database_down);
	suite_add_tcase(s, down);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
