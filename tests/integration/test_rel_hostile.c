/*
 * Issue 7, hostile input: a modem process that writes garbage and hostile
 * SMS on its channel, a flood from one number, and hostile HTTP requests.
 * Each is stored or refused with a clear error, and pigeond never crashes
 * (h_gateway_stop fails the test on a sanitizer report, and every step
 * ends by checking that pigeond still answers).
 *
 * The modem is tests/reliability/fake-modem as [pigeon] modem_program: it
 * writes prepared lines straight into pigeond's side of the channel, which
 * no simulator can make a real pigeon-modem write, and thousands of SMS in
 * seconds. PIGEON_REL_LONG=1 (make test-reliability) floods 10,000 SMS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"rel-token-0123456789abcdef0123456789"
#define ALICE	"+212661000001"
#define CAROL	"+212661000003"
#define FLOOD	"+212661000099"
#define WAIT_MS	120000

static struct h_gateway g;
static char *lines_path;
static int nflood;
static int location = 100;

static void
sms(FILE *f, const char *sender, const char *text_json, const char *extra)
{
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
	    "\"smsc\":\"+212600000000\",\"coding\":\"gsm\",\"class\":-1,"
	    "\"text\":%s%s}\n", location++, sender, text_json, extra ? extra : "");
}

/* What the fake modem writes once after ready: each case and the flood. */
static void
write_lines(const char *path)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	sms(f, ALICE, "\"JOIN alice\"", NULL);
	sms(f, CAROL, "\"STOP\"", NULL);
	/* Garbage: not JSON, invalid UTF-8, not an object, bad types. */
	fputs("\x01\x02 garbage \xff\xfe\n", f);
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
	    "\"text\":\"bad \xff\xfe utf-8\"}\n", location++, "+212661000010");
	fputs("[1,2,3]\n\"sms\"\n{}\n{\"type\":5}\n{\"type\":\"sms\"}\n", f);
	fputs("{\"type\":\"sms\",\"folder\":\"x\",\"location\":null,\"text\":7}\n", f);
	fputs("{\"type\":\"sent\",\"id\":999999}\n{\"type\":\"send_failed\",\"id\":-1}\n", f);
	fputs("{\"type\":\"health\",\"signal_percent\":\"lots\",\"registration\":7}\n", f);
	fputs("{\"type\":\"error\",\"stage\":null}\n{\"type\":\"deleted\"}\n", f);
	/* Hostile SMS that are stored: what the worker makes of bad bytes
	 * (U+FFFD), a NUL, 8-bit data (hex), empty, one part claiming 255. */
	sms(f, "+212661000011", "\"bad \\ufffd utf-8\"", NULL);
	sms(f, "+212661000012", "\"nul \\u0000 inside\"", NULL);
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"+212661000013\","
	    "\"coding\":\"8bit\",\"text\":\"00ff10fe7f80\"}\n", location++);
	sms(f, "+212661000014", "\"\"", NULL);
	sms(f, "+212661000015", "\"part 1 of 255\"",
	    ",\"udh\":{\"ref\":7,\"total\":255,\"seq\":1}");
	sms(f, "+212661000016", "\"absurd udh\"",
	    ",\"udh\":{\"ref\":-5,\"total\":100000,\"seq\":0}");
	sms(f, ALICE, "\"'); DROP TABLE inbox_messages; -- $1 %s \\\\x00\"", NULL);
	/* A 10 KB sender, a missing one. */
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"", location++);
	for (int i = 0; i < 10000; i++)
		fputc('9', f);
	fputs("\",\"text\":\"long sender\"}\n", f);
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"text\":\"no sender\"}\n",
	    location++);
	/* The flood: distinct texts (identical SMS without a time are one). */
	for (int i = 0; i < nflood; i++) {
		char t[64];
		snprintf(t, sizeof(t), "\"flood %d\"", i);
		sms(f, FLOOD, t, NULL);
	}
	/* Last, 300 KiB without an end of line: over PROTO_MAX_LINE, pigeond
	 * stops the worker (and starts a new one) rather than buffer it. */
	for (int i = 0; i < 300 * 1024; i++)
		fputc('A', f);
	fputc('\n', f);
	fclose(f);
}

static void
start(int flood)
{
	char cwd[1024];
	static char extra[1400];

	memset(&g, 0, sizeof(g));
	nflood = flood;
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	char *dir = h_tmpdir("hostile-fake");
	lines_path = malloc(strlen(dir) + 16);
	sprintf(lines_path, "%s/sim0.sms", dir);
	setenv("PIGEON_FAKE_DIR", dir, 1);
	free(dir);
	write_lines(lines_path);
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nconcat_timeout = 2\n", cwd);
	g.extra_config = extra;
	g.http_extra = "token = " TOKEN "\nmax_recipients = 1000\n";
	h_gateway_start(&g, "rel_hostile", 1);
}

static void
setup_lines(void)
{
	start(getenv("PIGEON_REL_LONG") ? 10000 : 1000);
}

/* The HTTP steps need no flood (a gateway still busy with one would not
 * stop within h_gateway_stop's 20 s). */
static void
setup_http(void)
{
	start(0);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
	unsetenv("PIGEON_FAKE_DIR");
	free(lines_path);
}

static long
count(const char *sql, const char *param)
{
	const char *p[] = { param };
	return h_db_long(g.db, sql, param ? 1 : 0, param ? p : NULL);
}

static void
assert_alive(void)
{
	char *body = NULL;
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/status", TOKEN, NULL, &body), 200);
	free(body);
}

START_TEST(test_hostile_modem_lines)
{
	char want[32];
	long t0 = h_now_ms();

	/* Every flood SMS is one inbox row, and everything is handled. */
	snprintf(want, sizeof(want), "%d", nflood);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE sender = $1",
	    FLOOD, want, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE state = 'new'",
	    NULL, "0", WAIT_MS), 0);
	fprintf(stderr, "rel: flood of %d SMS stored and handled in %ld ms\n", nflood,
	    h_now_ms() - t0);
	long distinct = count("SELECT count(DISTINCT text) FROM inbox_messages WHERE sender = $1",
	    FLOOD);
	fprintf(stderr, "REL|flood from one number|%d SMS, 1 sender|%d|%ld|%ld|%ld|%.1f s\n",
	    nflood, nflood, distinct, nflood - distinct,
	    count("SELECT count(*) FROM inbox_messages WHERE sender = $1", FLOOD) - distinct,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(distinct, nflood);

	/* Stored verbatim, or with U+FFFD where the bytes were not text. */
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text = 'bad ' || chr(65533) || ' utf-8'", "+212661000011"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text = 'nul ' || chr(65533) || ' inside'", "+212661000012"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text = '00ff10fe7f80'", "+212661000013"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text = ''", "+212661000014"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text = 'absurd udh'", "+212661000016"), 1);
	/* One part of 255: kept until concat_timeout, then stored incomplete. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND NOT complete AND parts = 1", "+212661000015", "1", 30000), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM posts WHERE text = $1",
	    "'); DROP TABLE inbox_messages; -- $1 %s \\x00"), 1);
	/* Invalid JSON (raw bad bytes) is refused: a real worker replaces them. */
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1",
	    "+212661000010"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text = 'long sender' "
	    "AND sender_kind = 'invalid'", NULL), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text = 'no sender'",
	    NULL), 1);
	/* The garbage line got the worker killed, and a new one started. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM modems WHERE name = 'sim0'",
	    NULL, "online", 30000), 0);
	ck_assert_int_ge(count("SELECT restarts FROM modems WHERE name = 'sim0'", NULL), 1);

	/* Garbage never reached the database nor answered a stranger's flood
	 * without bound: the flood's replies are rate limited. */
	long replies = count("SELECT count(*) FROM outbox WHERE recipient = $1", FLOOD);
	fprintf(stderr, "rel: %ld replies to a flood of %d SMS\n", replies, nflood);
	ck_assert_int_lt(replies, 20);

	/* STOP honoured: an operator's SMS to CAROL is refused. */
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" CAROL "\",\"text\":\"hi\"}", &resp), 403);
	free(resp);
	assert_alive();
}
END_TEST

START_TEST(test_hostile_http)
{
	static const char *operator_routes[][2] = {
		{ "GET", "/api/status" }, { "GET", "/api/modems" },
		{ "POST", "/api/modems/sim0/enable" }, { "POST", "/api/modems/sim0/disable" },
		{ "POST", "/api/modems/sim0/drain" }, { "GET", "/api/messages" },
		{ "POST", "/api/messages" }, { "GET", "/api/messages/1" },
		{ "POST", "/api/posts" }, { "GET", "/metrics" },
	};
	const char *bad_tokens[] = { NULL, "", "rel-toke", "rel-token2", "REL-TOKEN",
	    "Bearer rel-token" };
	char *resp = NULL;

	/* No operator route works without the exact token. */
	for (size_t i = 0; i < sizeof(operator_routes) / sizeof(operator_routes[0]); i++)
		for (size_t j = 0; j < sizeof(bad_tokens) / sizeof(bad_tokens[0]); j++) {
			int code = h_http(g.http_port, operator_routes[i][0],
			    operator_routes[i][1], bad_tokens[j], "{}", &resp);
			if (code != 401 && code != 403 && code != 400)
				ck_abort_msg("%s %s with token [%s]: %d %s", operator_routes[i][0],
				    operator_routes[i][1], bad_tokens[j] ? bad_tokens[j] : "(none)",
				    code, resp ? resp : "");
			ck_assert_int_ne(code, 200);
			free(resp);
			resp = NULL;
		}

	/* Bad JSON, wrong shapes: 400 with a message. */
	const char *bodies[] = { "{", "not json", "[]", "null", "{\"to\":1,\"text\":2}",
	    "{\"to\":\"+212661000001\"}", "{\"to\":\"12\",\"text\":\"x\"}",
	    "{\"to\":\"+212661000001\",\"text\":\"\"}", "\xff\xfe{}",
	    "{\"to\":\"+212661000001\",\"text\":\"a\\u0000b\"}" };
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		int code = h_http(g.http_port, "POST", "/api/messages", TOKEN, bodies[i], &resp);
		if (code != 400)
			ck_abort_msg("body %zu: %d %s", i, code, resp ? resp : "");
		ck_assert_ptr_nonnull(strstr(resp, "error"));
		free(resp);
		resp = NULL;
	}

	/* 10 MB bodies: refused, and the daemon goes on. */
	size_t big = 10 * 1024 * 1024;
	char *body = malloc(big + 1);
	memset(body, 'x', big);
	memcpy(body, "{\"to\":\"", 7);
	body[big] = '\0';
	int code = h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp);
	fprintf(stderr, "rel: 10 MB body: %d\n", code);
	ck_assert(code == 413 || code == -1);
	free(resp);
	resp = NULL;
	code = h_http(g.http_port, "POST", "/api/messages", NULL, body, &resp);
	ck_assert(code == 413 || code == 401 || code == -1);
	free(resp);
	resp = NULL;
	/* 60 KB: over API_MAX_BODY, under evhttp's limit: 413 with a message. */
	body[60 * 1024] = '\0';
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 413);
	ck_assert_msg(strstr(resp, "the body is larger than") != NULL, "%s", resp);
	free(resp);
	resp = NULL;
	free(body);

	/* The largest send the configuration allows fits (max_recipients =
	 * 1000, each number written with its spaces, an Arabic text of 10
	 * parts as \u escapes): it was a 413 at 16 KiB. */
	size_t cap = 70 * 1024, n = 0;
	body = malloc(cap);
	n += (size_t)snprintf(body + n, cap - n, "{\"text\":\"");
	for (int i = 0; i < 670; i++)	/* 10 parts of UCS-2 */
		n += (size_t)snprintf(body + n, cap - n, "\\u0645");
	n += (size_t)snprintf(body + n, cap - n, "\",\"to\":[");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(body + n, cap - n, "%s\"+212 6 63 %02d %02d %02d\"",
		    i ? "," : "", i / 100, (i / 10) % 10, i % 10);
	n += (size_t)snprintf(body + n, cap - n, "]}");
	ck_assert_int_gt((long)n, 16 * 1024);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	json_t *j = json_loads(resp, 0, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(j, "ids")), 1000);
	json_decref(j);
	free(resp);
	resp = NULL;
	free(body);

	/* Public routes never show a phone number. */
	const char *pub[] = { "/api/users/alice", "/api/users/alice/posts",
	    "/api/users/nobody", "/", "/users/alice", "/users/alice.atom", "/healthz" };
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
		h_http(g.http_port, "GET", pub[i], NULL, NULL, &resp);
		if (resp && (strstr(resp, "+212") || strstr(resp, "0661")))
			ck_abort_msg("%s shows a phone number: %s", pub[i], resp);
		free(resp);
		resp = NULL;
	}
	assert_alive();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_hostile");
	TCase *tc = tcase_create("modem");
	tcase_add_checked_fixture(tc, setup_lines, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_hostile_modem_lines);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, setup_http, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_hostile_http);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
