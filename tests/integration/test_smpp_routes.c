/*
 * test_smpp_routes.c: a carrier bind with routes (+2126619) beside a
 * modem: the carrier's refusals (a number it does not reach, a source
 * address it refuses), its throttles and pauses, and where its routed
 * messages go meanwhile. One gateway serves the test case (each test
 * uses its own phones).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "h_smpp.h"

/*
 * A bind with routes (+2126619) beside a modem: the carrier's refusals
 * and throttles, and where its routed messages go meanwhile.
 */
static void
setup_routes(void)
{
	const char *was = pigeon_conf;

	nmodems = 1;
	pigeon_conf = "timezone = UTC\nretry_seconds = 1\n";
	setup_bind("smpp_routes", "routes = +2126619\n");
	pigeon_conf = was;
	nmodems = 0;
}

/* POST /api/messages {to, text}: its outbox id, at once. */
static long
api_queue(const char *to, const char *text)
{
	char *body = NULL, *req = h_strf("{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	json_t *r;
	long id;

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, req,
	    &body), 202);
	r = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(r);
	id = (long)json_integer_value(json_object_get(r, "id"));
	ck_assert_int_gt(id, 0);
	json_decref(r);
	free(body);
	free(req);
	return id;
}

static void
outbox_col_is(long id, const char *col, const char *want)
{
	char *v = h_outbox_col(&g, id, col);

	ck_assert_msg(strcmp(v, want) == 0, "outbox %ld %s: %s, not %s", id, col,
	    v, want);
	free(v);
}

/*
 * "Invalid destination" from one carrier (a ported or off-net number)
 * says nothing of the other links: the message goes by the modem, the
 * carrier in its failed links. Before, the bind's refusal failed it for
 * good ("permanent: ...", failed_modems {}) with the modem idle. With no
 * other link left (the modem disabled) it fails, permanent, with the
 * SMSC's reason.
 */
START_TEST(test_refused_tried_elsewhere)
{
	const char *to = "+212661999002", *alone = "+212661999003";
	long id;

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":11}"));
	id = api_queue(to, "to a ported number");
	ck_assert_msg(h_wait_received(&g, to, "to a ported number", WAIT_MS) == 0,
	    "outbox %ld is %s: %s", id, h_outbox_col(&g, id, "state"),
	    h_outbox_col(&g, id, "last_error"));
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	outbox_col_is(id, "modem", "sim0");
	outbox_col_is(id, "failed_modems", "{carrier}");
	ck_assert_int_eq(count_of(to, ""), 0);
	const char *params[] = { h_strf("%ld", id) };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox_history "
	    "WHERE outbox_id = $1 AND state = 'queued' AND modem = 'carrier' "
	    "AND detail = 'refused by carrier: part 1/1: command_status 0x0b: "
	    "invalid destination address'", 1, params), 1);
	free((char *)params[0]);

	/* No other link left: failed, with the SMSC's reason. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":11}"));
	id = api_queue(alone, "nowhere else");
	h_wait_outbox(&g, id, "failed", WAIT_MS);
	outbox_col_is(id, "last_error", "permanent: part 1/1: command_status 0x0b: "
	    "invalid destination address");
	outbox_col_is(id, "failed_modems", "{carrier}");
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
}
END_TEST

/*
 * A link left that cannot send now (another host's, offline): the message
 * refused by the carrier waits for it, and is not handed to the carrier
 * again, nor claimed and released over and over for it (the claim skips
 * a row that every link able to send now refused). It leaves once a link
 * that has not refused it comes back (the modem enabled).
 */
START_TEST(test_refused_waits_for_a_link_left)
{
	const char *to = "+212661999004";
	long id;

	PQclear(PQexec(g.db, "INSERT INTO modems (name, host, state, kind) "
	    "VALUES ('ghost', 'ghost-host', 'offline', 'smpp')"));
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":11}"));
	id = api_queue(to, "waits for its link");
	char *sid = h_strf("%ld", id);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state || ' ' || last_error FROM outbox "
	    "WHERE id = $1::bigint", sid, "queued refused by carrier: part 1/1: "
	    "command_status 0x0b: invalid destination address", WAIT_MS), 0);
	/* Due for a second (retry_seconds 1), then two claims that found
	 * nothing more to send. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT next_attempt_at < now() - "
	    "interval '1 second' FROM outbox WHERE id = $1::bigint", sid, "t",
	    WAIT_MS), 0);
	h_wait_scheduler_caught_up(&g, TOKEN, 2, WAIT_MS);
	const char *params[] = { sid };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox_history "
	    "WHERE outbox_id = $1::bigint AND state = 'sending'", 1, params), 1);
	outbox_col_is(id, "state", "queued");
	json_t *subs = h_smsc_submits(&smsc), *r;
	size_t i;
	int n = 0;
	json_array_foreach(subs, i, r)
		n += strcmp(json_string_value(json_object_get(r, "dest")), to + 1) == 0;
	json_decref(subs);
	ck_assert_int_eq(n, 1);

	/* A link that has not refused it is back: it goes. */
	PQclear(PQexec(g.db, "DELETE FROM modems WHERE name = 'ghost'"));
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable",
	    TOKEN, "", NULL), 200);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	outbox_col_is(id, "modem", "sim0");
	ck_assert_int_eq(h_wait_received(&g, to, "waits for its link", WAIT_MS), 0);
	free(sid);
}
END_TEST

/* Five recipients in a row the carrier does not reach (0x0b: ported
 * numbers, as a fan-out may meet) go by the modem, and the bind, which is
 * fine, stays online. Before, it was taken offline and restarted. */
START_TEST(test_unreached_leave_bind_online)
{
	static const char *const to[] = { "+212661999031", "+212661999032",
	    "+212661999033", "+212661999034", "+212661999035" };

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	long offline = h_db_long(g.db, "SELECT count(*) FROM modem_history WHERE "
	    "modem = 'carrier' AND state = 'offline'", 0, NULL);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":5,\"status\":11}"));
	for (int i = 0; i < 5; i++)
		api_queue(to[i], "ported away");
	for (int i = 0; i < 5; i++)
		ck_assert_msg(h_wait_received(&g, to[i], "ported away", WAIT_MS) == 0,
		    "%s never received it", to[i]);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE "
	    "recipient LIKE '+2126619990__' AND text = 'ported away' AND state = 'sent' "
	    "AND modem = 'sim0' AND refused_by = '{carrier}'", NULL, "5", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM modem_history WHERE "
	    "modem = 'carrier' AND state = 'offline'", 0, NULL), offline);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
}
END_TEST

/*
 * A bind whose every submit_sm is refused for a reason of its own (its
 * source address, 0x0A) is taken offline and restarted after five in a
 * row, as for temporary failures, its reason in its history; each
 * message goes by the modem. Before, such refusals counted for nothing:
 * it stayed online, and failed its share of the messages for good.
 */
START_TEST(test_refusing_bind_restarted)
{
	static const char *const to[] = { "+212661999011", "+212661999012",
	    "+212661999013", "+212661999014", "+212661999015" };

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":100000,\"status\":10}"));
	for (int i = 0; i < 5; i++)
		api_queue(to[i], "from the bank");
	for (int i = 0; i < 5; i++)
		ck_assert_msg(h_wait_received(&g, to[i], "from the bank", WAIT_MS) == 0,
		    "%s never received it", to[i]);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history "
	    "WHERE modem = 'carrier' AND state = 'offline' AND reason = "
	    "'5 sends in a row failed, the last: part 1/1: command_status 0x0a: "
	    "invalid source address'", NULL, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE "
	    "recipient LIKE '+2126619990__' AND text = 'from the bank' "
	    "AND state = 'sent' AND modem = 'sim0'", NULL, "5", WAIT_MS), 0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	h_wait_modem(&g, "carrier", "online", WAIT_MS);
}
END_TEST

/* The carrier's paused_reason in GET /api/modems is arg. */
static int
carrier_paused(void *arg)
{
	static const char *const keys[] = { "paused_reason" };
	char *r = carrier_fields(keys, 1);
	int ok = r != NULL && strcmp(r, arg) == 0;

	free(r);
	if (!ok)
		h_sleep_ms(50);
	return ok;
}

static int
paused_metric_is(void *arg)
{
	int ok = h_metric(&g, TOKEN, "pigeon_link_paused{modem=\"carrier\"}", -1) ==
	    (long)(intptr_t)arg;

	if (!ok)
		h_sleep_ms(50);
	return ok;
}

/*
 * A bind whose SMSC answers queue full to every submit_sm pauses its
 * submits (up to 16 s); pigeond hands it nothing meanwhile, so its routed
 * messages go by the modem, and /api/modems and /metrics say it is
 * paused. Throttles are never the message's failure. Before, each came
 * back to the routed bind a second later, for minutes, the modem idle.
 */
START_TEST(test_paused_bind_sends_elsewhere)
{
	static const char *const to[] = { "+212661999021", "+212661999022",
	    "+212661999023" };
	long id[3];

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"qfull\","
	    "\"count\":100000}"));
	for (int i = 0; i < 3; i++)
		id[i] = api_queue(to[i], "while the carrier is full");
	/* Seen while the routed messages still come back to it. */
	ck_assert_msg(h_wait_for(carrier_paused, "message queue full", WAIT_MS) == 0,
	    "the carrier never showed its pause");
	ck_assert_msg(h_wait_for(paused_metric_is, (void *)(intptr_t)1, WAIT_MS) == 0,
	    "pigeon_link_paused never said 1");
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(h_wait_received(&g, to[i], "while the carrier is full",
		    WAIT_MS) == 0, "%s never received it: outbox %ld %s, %s", to[i],
		    id[i], h_outbox_col(&g, id[i], "state"),
		    h_outbox_col(&g, id[i], "last_error"));
		h_wait_outbox(&g, id[i], "sent", WAIT_MS);
		outbox_col_is(id[i], "failed_modems", "{}");
	}
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	/* The pause over, it takes sends again. */
	ck_assert_msg(h_wait_for(paused_metric_is, (void *)(intptr_t)0, WAIT_MS) == 0,
	    "pigeon_link_paused stayed 1");
	long back = api_queue("+212661999024", "the carrier again");
	h_wait_outbox(&g, back, "sent", WAIT_MS);
	outbox_col_is(back, "modem", "carrier");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_routes");
	/* A routed bind beside a modem: refusals and throttles. */
	TCase *tc = tcase_create("smpp_routes");

	tcase_set_timeout(tc, 400);
	tcase_add_unchecked_fixture(tc, setup_routes, teardown);
	tcase_add_test(tc, test_refused_tried_elsewhere);
	tcase_add_test(tc, test_refused_waits_for_a_link_left);
	tcase_add_test(tc, test_unreached_leave_bind_online);
	tcase_add_test(tc, test_refusing_bind_restarted);
	tcase_add_test(tc, test_paused_bind_sends_elsewhere);
	suite_add_tcase(s, tc);
	return h_main(s);
}
