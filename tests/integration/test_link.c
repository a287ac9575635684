/*
 * Issue 12: what the link lifecycle and the outbox's one writer promise,
 * as an operator sees it: the modem's received count moves as SMS arrive
 * (it stayed 0), a drained modem finishes its send before it says it is
 * drained, and a script cannot move an outbox row backwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"link-test-token-0123456789abcdefghij"
#define ALICE	"+212661000001"
#define BOB	"+212661000002"
#define WAIT_MS	60000

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "link", 2);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* sms_in of modem name in GET /api/modems, or -1. */
static long
api_received(const char *name)
{
	char *body = NULL;
	long n = -1;
	json_t *root, *v;
	size_t i;

	if (h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body) != 200) {
		free(body);
		return -1;
	}
	root = json_loads(body, 0, NULL);
	free(body);
	json_array_foreach(json_object_get(root, "modems"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0 &&
		    json_is_integer(json_object_get(v, "sms_in")))
			n = (long)json_integer_value(json_object_get(v, "sms_in"));
	json_decref(root);
	return n;
}

struct want_received { const char *name; long n; };

static int
received_is(void *arg)
{
	struct want_received *w = arg;
	return api_received(w->name) == w->n;
}

START_TEST(test_received_counter_moves)
{
	struct want_received w0 = { "sim0", 3 }, w1 = { "sim1", 1 };
	char *metrics = NULL;

	ck_assert_int_eq(api_received("sim0"), 0);
	ck_assert_int_eq(h_text(&g, 0, ALICE, "JOIN alice"), 0);
	ck_assert_int_eq(h_text(&g, 0, ALICE, "Salam"), 0);
	ck_assert_int_eq(h_text(&g, 0, BOB, "JOIN bob"), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_for(received_is, &w0, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_for(received_is, &w1, WAIT_MS), 0);
	/* The same figure on /metrics, per modem. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &metrics), 200);
	ck_assert_ptr_nonnull(strstr(metrics,
	    "pigeon_modem_sms_received_total{modem=\"sim0\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(metrics,
	    "pigeon_modem_sms_received_total{modem=\"sim1\"} 1\n"));
	free(metrics);
}
END_TEST

static void
state_is(long id, const char *want)
{
	char *st = h_outbox_col(&g, id, "state");
	ck_assert_str_eq(st, want);
	free(st);
}

START_TEST(test_drain_finishes_its_send)
{
	long id;

	/* sim0 only: its send takes 4 s, and it is drained meanwhile. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim1/disable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-delay 4000"), 0);
	id = h_outbox_add(&g, BOB, "slow one", 1);
	h_wait_outbox(&g, id, "sending", WAIT_MS);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/drain",
	    TOKEN, "", NULL), 200);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state_reason FROM modems WHERE name = $1",
	    "sim0", "drained by the operator; finishing its sends", WAIT_MS), 0);
	/* The send completes, and only then is the modem simply drained. */
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state_reason FROM modems WHERE name = $1",
	    "sim0", "drained by the operator", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "slow one", WAIT_MS), 0);
	/* Drained: it takes no new send. */
	id = h_outbox_add(&g, BOB, "not now", 1);
	ck_assert_int_eq(h_gateway_settle(&g, 3000), -1);
	state_is(id, "queued");
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable",
	    TOKEN, "", NULL), 200);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
}
END_TEST

START_TEST(test_outbox_transitions_enforced)
{
	PGresult *res;
	char ids[32];
	long id = h_outbox_add(&g, BOB, "once", 1);

	h_wait_outbox(&g, id, "sent", WAIT_MS);
	snprintf(ids, sizeof(ids), "%ld", id);
	const char *params[] = { ids };
	/* A script putting a sent message back in the queue is refused. */
	res = PQexecParams(g.db, "UPDATE outbox SET state = 'queued' WHERE id = $1",
	    1, NULL, params, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	ck_assert_ptr_nonnull(strstr(PQresultErrorMessage(res),
	    "sent -> queued is not an allowed transition"));
	PQclear(res);
	state_is(id, "sent");
	/* Its history shows each step once: queued rows are inserted, then
	 * claimed and sent. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox_history "
	    "WHERE outbox_id = $1", 1, params), 2);
}
END_TEST

/* Issue 14, item 12: no PL/pgSQL function of pigeond's takes the
 * caller's search_path (another role's schema or a temporary one could
 * stand in for its tables). */
START_TEST(test_functions_search_path)
{
	ck_assert_int_gt(h_db_long(g.db, "SELECT count(*) FROM pg_proc p "
	    "JOIN pg_language l ON l.oid = p.prolang "
	    "WHERE p.proname LIKE 'pigeon\\_%' AND l.lanname = 'plpgsql'", 0, NULL), 50);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM pg_proc p "
	    "JOIN pg_language l ON l.oid = p.prolang "
	    "WHERE p.proname LIKE 'pigeon\\_%' AND l.lanname = 'plpgsql' "
	    "AND NOT coalesce(array_to_string(p.proconfig, ',') "
	    "LIKE '%search_path=public, pg_temp%', false)", 0, NULL), 0);
}
END_TEST

/*
 * Issue 13, item 9: two SMS to one phone leave in the order they were
 * queued, even when the first goes by a slow modem and another modem is
 * free. sim0 is routed for the recipient (so it takes the first) and
 * answers each send after 4 s; sim1 is idle and fast.
 */
static void
setup_order(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	g.modem_extra[0] = "routes = +2126\n";
	h_gateway_start(&g, "link_order", 2);
}

START_TEST(test_order_per_phone)
{
	char *got;
	long first, second;

	ck_assert_int_eq(h_sim_fault(&g, 0, "send-delay 4000"), 0);
	first = h_outbox_add(&g, BOB, "first of two", 0);
	second = h_outbox_add(&g, BOB, "second of two", 0);
	h_wait_outbox(&g, second, "sent", WAIT_MS);
	state_is(first, "sent");
	got = h_received(&g, BOB);
	ck_assert_str_eq(got, "first of two\nsecond of two\n");
	free(got);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("link");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_received_counter_moves);
	tcase_add_test(tc, test_drain_finishes_its_send);
	tcase_add_test(tc, test_outbox_transitions_enforced);
	tcase_add_test(tc, test_functions_search_path);
	suite_add_tcase(s, tc);
	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup_order, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_order_per_phone);
	suite_add_tcase(s, tc);
	return h_main(s);
}
