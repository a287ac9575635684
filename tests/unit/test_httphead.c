/* httphead.c (what httpguard.c reads of a request head before its body)
 * and modemmsg.c's check of each worker message type. */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <jansson.h>

#include "unit.h"

#include "api_body.h"
#include "httphead.h"
#include "modemmsg.h"

#define HEAD(s) http_head_parse(s, strlen(s), &h)

START_TEST(test_head)
{
	struct http_head h;

	ck_assert_int_eq(HEAD("POST /api/messages HTTP/1.1\r\nHost: x\r\n"
	    "content-length: 60000\r\nAuthorization: Bearer  tok en\r\n\r\n"), 0);
	ck_assert_int_eq(h.content_length, 60000);
	ck_assert_str_eq(h.bearer, "tok en");
	ck_assert_int_eq(h.chunked, 0);
	/* Two lengths: the larger; a huge one is clamped, not overflowed. */
	ck_assert_int_eq(HEAD("POST / HTTP/1.1\nContent-Length: 5\nContent-Length: "
	    "99999999999999999999999999\nTransfer-Encoding: chunked\n\n"), 0);
	ck_assert_int_eq(h.content_length, HTTP_HEAD_BIG);
	ck_assert_int_eq(h.chunked, 1);
	ck_assert_str_eq(h.bearer, "");
	/* Not complete yet; a length without digits is flagged. */
	ck_assert_int_eq(HEAD("GET / HTTP/1.1\r\nHost: x\r\n"), -1);
	ck_assert_int_eq(HEAD("GET / HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\n"), 0);
	ck_assert_int_eq(h.bad, 1);
}
END_TEST

START_TEST(test_routes_and_params)
{
	char *arg;
	long long n;

	ck_assert_int_eq(http_route_match("/api/users/*/posts", "/api/users/alice/posts", &arg), 1);
	ck_assert_str_eq(arg, "alice");
	free(arg);
	ck_assert_int_eq(http_route_match("/api/users/*", "/api/users/alice/posts", &arg), 0);
	ck_assert_ptr_null(arg);
	ck_assert_int_eq(http_route_match("/api/users/*", "/api/users/", &arg), 0);
	ck_assert_int_eq(http_param_int("50", 1, 500, &n), 0);
	ck_assert_int_eq(n, 50);
	ck_assert_int_eq(http_param_int("501", 1, 500, &n), -1);
	ck_assert_int_eq(http_param_int("5x", 1, 500, &n), -1);
	ck_assert_int_eq(http_param_int("99999999999999999999", 1, 500, &n), -1);
}
END_TEST

static int
check(const char *line)
{
	char err[128];
	json_t *msg;
	const char *type = modem_msg_decode(line, strlen(line), &msg, err, sizeof(err));
	int rc = type ? modem_msg_check(type, msg, err, sizeof(err)) : -2;
	json_decref(msg);
	return rc;
}

START_TEST(test_worker_messages)
{
	ck_assert_int_eq(check("{\"type\":\"sms\",\"folder\":1,\"location\":3,\"sender\":\"x\","
	    "\"text\":\"a\",\"time\":null,\"udh\":{\"ref\":7,\"total\":2,\"seq\":1}}"), 0);
	ck_assert_int_eq(check("{\"type\":\"sms\",\"folder\":1}"), -1);
	ck_assert_int_eq(check("{\"type\":\"sms\",\"location\":3,\"udh\":{\"seq\":-1}}"), -1);
	ck_assert_int_eq(check("{\"type\":\"sms\",\"location\":3,\"ref\":256}"), -1);
	ck_assert_int_eq(check("{\"type\":\"sent\",\"id\":4,\"refs\":[1,2]}"), 0);
	/* An SMSC's message ids are strings; a modem without a reference says -1. */
	ck_assert_int_eq(check("{\"type\":\"sent\",\"id\":4,\"refs\":[\"3a000001\"]}"), 0);
	ck_assert_int_eq(check("{\"type\":\"sent\",\"id\":4,\"refs\":[-1]}"), 0);
	ck_assert_int_eq(check("{\"type\":\"sent\",\"id\":4,\"refs\":[{}]}"), -1);
	ck_assert_int_eq(check("{\"type\":\"sent\",\"id\":4,\"refs\":[256]}"), -1);
	ck_assert_int_eq(check("{\"type\":\"sent\",\"id\":\"4\"}"), -1);
	ck_assert_int_eq(check("{\"type\":\"send_failed\",\"id\":4,\"temporary\":1}"), -1);
	ck_assert_int_eq(check("{\"type\":\"health\",\"signal_percent\":300}"), -1);
	ck_assert_int_eq(check("{\"type\":\"deleted\",\"location\":3}"), 0);
	ck_assert_int_eq(check("{\"type\":\"delete_failed\"}"), -1);
	ck_assert_int_eq(check("{\"type\":\"ready\",\"x\":[]}"), 0);
	ck_assert_int_eq(check("{\"type\":\"pong\"}"), 0);
	ck_assert_int_eq(check("{\"type\":\"error\",\"stage\":3}"), -1);
	ck_assert_int_eq(check("{\"type\":\"reboot\"}"), -1);
}
END_TEST

/*
 * A worker's `sent` whose message id pigeond cannot take (longer than 64
 * bytes), or a `report` with such a key: the rest is taken, that part
 * without its id, that key left out. (Ignored whole, the send stayed
 * unsettled and was sent again at each lease's end; the receipt was
 * delivered again for ever.)
 */
START_TEST(test_worker_message_repaired)
{
	char long_id[80], line[512], note[160];
	json_t *msg;
	const char *type;

	memset(long_id, 'e', 65);
	long_id[65] = '\0';
	snprintf(line, sizeof(line), "{\"type\":\"sent\",\"id\":4,\"parts\":2,"
	    "\"refs\":[\"3a000001\",\"%s\"],\"keys\":[\"3a000001\",\"%s\"]}",
	    long_id, long_id);
	ck_assert_int_eq(check(line), -1);
	type = modem_msg_decode(line, strlen(line), &msg, note, sizeof(note));
	ck_assert_str_eq(type, "sent");
	ck_assert_int_eq(modem_msg_repair(msg, note, sizeof(note)), 2);
	ck_assert_msg(strstr(note, "1 of its refs and 1 of its keys") != NULL, "%s", note);
	ck_assert_int_eq(modem_msg_check(type, msg, note, sizeof(note)), 0);
	ck_assert_int_eq(json_array_size(json_object_get(msg, "refs")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(msg, "refs"), 0)),
	    "3a000001");
	ck_assert(json_is_null(json_array_get(json_object_get(msg, "refs"), 1)));
	ck_assert_int_eq(json_array_size(json_object_get(msg, "keys")), 1);
	json_decref(msg);

	snprintf(line, sizeof(line), "{\"type\":\"report\",\"location\":1,"
	    "\"key\":\"smpp:1\",\"keys\":[\"%s\",7]}", long_id);
	ck_assert_int_eq(check(line), -1);
	type = modem_msg_decode(line, strlen(line), &msg, note, sizeof(note));
	ck_assert_int_eq(modem_msg_repair(msg, note, sizeof(note)), 2);
	ck_assert_int_eq(modem_msg_check(type, msg, note, sizeof(note)), 0);
	ck_assert_int_eq(json_array_size(json_object_get(msg, "keys")), 0);
	json_decref(msg);

	/* A whole message: nothing to repair. */
	snprintf(line, sizeof(line), "{\"type\":\"sent\",\"id\":4,\"refs\":[1,-1]}");
	type = modem_msg_decode(line, strlen(line), &msg, note, sizeof(note));
	ck_assert_int_eq(modem_msg_repair(msg, note, sizeof(note)), 0);
	json_decref(msg);
}
END_TEST

/* What a client counts as for the limits: an IPv6 address by its /64
 * (one subscriber's block, whatever address of it the client takes), a
 * mapped IPv4 address as the IPv4 one. */
static const char *
key_of(int family, const char *addr)
{
	static char out[HTTP_CLIENT_KEY];
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		ck_assert_int_eq(inet_pton(AF_INET, addr,
		    &((struct sockaddr_in *)&ss)->sin_addr), 1);
	else if (family == AF_INET6)
		ck_assert_int_eq(inet_pton(AF_INET6, addr,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
	http_client_key((struct sockaddr *)&ss, out, sizeof(out));
	return out;
}

START_TEST(test_client_key)
{
	ck_assert_str_eq(key_of(AF_INET, "192.0.2.7"), "192.0.2.7");
	ck_assert_str_eq(key_of(AF_INET6, "2001:db8:1:2:a:b:c:d"), "2001:db8:1:2::/64");
	ck_assert_str_eq(key_of(AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:1"),
	    "2001:db8:1:2::/64");
	ck_assert_str_ne(key_of(AF_INET6, "2001:db8:1:3::1"), "2001:db8:1:2::/64");
	ck_assert_str_eq(key_of(AF_INET6, "::1"), "::/64");
	ck_assert_str_eq(key_of(AF_INET6, "::ffff:192.0.2.7"), "192.0.2.7");
	/* Two hosts of one link: two clients. */
	ck_assert_str_eq(key_of(AF_INET6, "fe80::1:2:3:4"), "fe80::1:2:3:4");
	ck_assert_str_eq(key_of(AF_INET6, "fe80::6"), "fe80::6");
	ck_assert_str_eq(key_of(AF_UNIX, ""), "?");
}
END_TEST

/* send_at (POST /api/messages and /api/posts): the shapes the docs
 * promise, and none of the words PostgreSQL's time input also takes. */
START_TEST(test_post_time_shape)
{
	static const char *const ok[] = { "2026-12-04 18:00", "2026-12-04T18:00:00",
	    "2026-12-04T18:00:00Z", "2026-12-04T18:00:00.123456+01:00",
	    "2026-12-04 18:00+01", "2026-12-04 18:00:59-0130", "2028-02-29 00:00",
	    "2026-12-06T18:00:00.000Z", "2026-12-06T19:00:00+0100", NULL };
	static const char *const bad[] = { "tomorrow", "epoch", "now", "infinity",
	    "allballs", "2026-12-04", "2026-12-04 18", "2026-02-29 10:00",
	    "2026-12-04 24:00", "2026-12-04 18:60", "2026-12-04 18:00:61",
	    "2026-12-04 18:00 Africa/Casablanca", "Dec 4 2026 18:00",
	    "2026-12-04T18:00:00+01:", "2026-12-04T18:00:00+1", "2026-12-04T18:00:00+013",
	    "2026-12-04T18:00:00.", "2026-12-04T18:00:00.1234567", " 2026-12-04 18:00",
	    "2026-12-04 18:00 ", "+2026-12-04 18:00", "1969-12-31 23:59", "", NULL };

	struct api_time t;
	char text[48];

	for (int i = 0; ok[i]; i++)
		ck_assert_msg(api_time_parse(ok[i], &t) == 0, "%s refused", ok[i]);
	for (int i = 0; bad[i]; i++)
		ck_assert_msg(api_time_parse(bad[i], &t) == -1, "%s taken", bad[i]);
	/* JavaScript's toISOString() and an offset without a colon: the
	 * same instant (Unix 1796580000). */
	ck_assert_int_eq(api_time_parse("2026-12-06T18:00:00.000Z", &t), 0);
	ck_assert_int_eq(api_time_unix(&t), 1796580000LL);
	ck_assert_int_eq(api_time_parse("2026-12-06T19:30:00.25+0130", &t), 0);
	ck_assert_int_eq(api_time_unix(&t), 1796580000LL);
	api_time_text(&t, text, sizeof(text));
	ck_assert_str_eq(text, "2026-12-06T19:30:00.250000+01:30");
	ck_assert_int_eq(api_time_parse("2026-12-06 18:00", &t), 0);
	ck_assert(!t.zoned);
	api_time_text(&t, text, sizeof(text));
	ck_assert_str_eq(text, "2026-12-06T18:00:00.000000");
}
END_TEST

/* Times answered: one format whatever PostgreSQL wrote (.7688, .1,
 * none, another zone); a member's words are never touched. */
START_TEST(test_answer_times)
{
	json_t *o = json_loads("{\"created_at\": \"2026-12-06T00:07:35.7688+00:00\", "
	    "\"text\": \"2026-12-06T00:07:35.1+00:00\", \"send_at\": "
	    "\"2026-12-06T01:07:35+01:00\", \"history\": [{\"at\": "
	    "\"2026-12-06T00:07:35.111500+00:00\", \"detail\": null}], "
	    "\"member_since\": \"2026-11-20\", \"done_at\": null}", 0, NULL);

	ck_assert_ptr_nonnull(o);
	api_json_times(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "created_at")),
	    "2026-12-06T00:07:35.768+00:00");
	ck_assert_str_eq(json_string_value(json_object_get(o, "text")),
	    "2026-12-06T00:07:35.1+00:00");
	ck_assert_str_eq(json_string_value(json_object_get(o, "send_at")),
	    "2026-12-06T00:07:35.000+00:00");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "history"), 0), "at")), "2026-12-06T00:07:35.111+00:00");
	ck_assert_str_eq(json_string_value(json_object_get(o, "member_since")), "2026-11-20");
	ck_assert(json_is_null(json_object_get(o, "done_at")));
	json_decref(o);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("httphead");
	TCase *tc = tcase_create("httphead");

	tcase_add_test(tc, test_head);
	tcase_add_test(tc, test_routes_and_params);
	tcase_add_test(tc, test_answer_times);
	tcase_add_test(tc, test_worker_messages);
	tcase_add_test(tc, test_worker_message_repaired);
	tcase_add_test(tc, test_client_key);
	tcase_add_test(tc, test_post_time_shape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}
