/*
 * test_smpp_receipts.c: receipts over a carrier bind (issue 13) turning
 * messages delivered or undelivered, whatever shape the SMSC gives them
 * (hex or decimal ids, UUIDs, TLVs only, ahead of the submit's answer),
 * what the desk reads of them, and pigeon_report_receipts on its own.
 * One gateway serves each test case (each test uses its own phones).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "h_smpp.h"

START_TEST(test_receipts)
{
	const char *e = "+212661100007", *f = "+212661100008";
	char opts[256];
	size_t i;
	json_t *v;

	TEXT(e, "JOIN eve1");
	GETS(e, "@eve1");
	TEXT(f, "JOIN fred1");
	GETS(f, "@fred1");
	TEXT(f, "FOLLOW eve1");
	GETS(f, "You now follow @eve1");
	TEXT(e, "A receipt will say this one arrived");
	TEXT(e, "And this one will never arrive");
	GETS(f, "@eve1: A receipt will say this one arrived");
	GETS(f, "@eve1: And this one will never arrive");
	long ok = outbox_id(f, "@eve1: A receipt will say this one arrived");
	long ko = outbox_id(f, "@eve1: And this one will never arrive");
	ck_assert(ok > 0 && ko > 0);
	h_wait_outbox(&g, ok, "sent", WAIT_MS);
	h_wait_outbox(&g, ko, "sent", WAIT_MS);
	assert_api_state(ok, "sent");

	/* Hex ids in submit_sm_resp, decimal in the receipt's text. */
	json_t *ids = message_ids(ok);
	ck_assert_int_eq(json_array_size(ids), 1);
	json_array_foreach(ids, i, v) {
		snprintf(opts, sizeof(opts), "%s --text-id decimal", json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	/* The same base, a failure. */
	ids = message_ids(ko);
	ck_assert_int_eq(json_array_size(ids), 1);
	json_array_foreach(ids, i, v) {
		snprintf(opts, sizeof(opts), "%s --stat UNDELIV --err 005",
		    json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	h_wait_outbox(&g, ok, "delivered", WAIT_MS);
	h_wait_outbox(&g, ko, "undelivered", WAIT_MS);
	assert_api_state(ok, "delivered");
	assert_api_state(ko, "undelivered");
	/* Each receipt answered (after its commit) and matched to its message. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM status_reports "
	    "WHERE outbox_id IS NOT NULL AND modem = 'carrier'", 0, NULL), 2);
	settle();
}
END_TEST

/*
 * An SMSC's intermediate notification (ENROUTE, ACCEPTD) that comes after
 * a part's final receipt (a redelivery after a session drop, or two
 * sessions racing) no longer undoes it: part 1 DELIVRD, part 1 ENROUTE,
 * part 2 DELIVRD is a delivered message. (Part 1 went back to pending and
 * the message stayed sent for ever.)
 */
START_TEST(test_receipt_pending_after_final)
{
	const char *to = "+212661100081";
	char body[512], *resp = NULL, opts[128];
	static const char text[] = "Two parts: the first is confirmed, then an "
	    "intermediate notice comes for it late, and the second is confirmed. "
	    "Pigeon must call the whole message delivered all the same, as it was.";

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	long id = 0;
	for (int i = 0; i < 200 && id == 0; i++) {
		if ((id = outbox_id(to, text)) == 0)
			h_sleep_ms(50);
	}
	ck_assert_int_gt(id, 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 2);
	const char *first = json_string_value(json_array_get(ids, 0));
	const char *second = json_string_value(json_array_get(ids, 1));

	snprintf(opts, sizeof(opts), "%s", first);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	snprintf(opts, sizeof(opts), "%s --stat ENROUTE", first);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	/* Both of the first part's are in before the second part's comes. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports "
	    "WHERE message_id = $1 AND outbox_id IS NOT NULL", first, "2", WAIT_MS), 0);
	snprintf(opts, sizeof(opts), "%s", second);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	json_decref(ids);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");
}
END_TEST

/*
 * Receipts whose stat word is the SMSC's own (stat:FAILED) or the
 * state's number (stat:2): the first a final failure, the second
 * delivered. Before, both were taken for "still tried" and their
 * messages stayed sent for good.
 */
START_TEST(test_receipt_stat_of_its_own)
{
	static const struct { const char *to, *stat, *state; } c[] = {
		{ "+212661100084", "FAILED", "undelivered" },
		{ "+212661100085", "2", "delivered" },
	};
	char opts[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long id = api_send(c[i].to, "The clinic in Ouarzazate opens at nine");
		h_wait_outbox(&g, id, "sent", WAIT_MS);
		json_t *ids = message_ids(id);
		ck_assert_int_eq(json_array_size(ids), 1);
		snprintf(opts, sizeof(opts), "%s --stat %s",
		    json_string_value(json_array_get(ids, 0)), c[i].stat);
		json_decref(ids);
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
		h_wait_outbox(&g, id, c[i].state, WAIT_MS);
	}
}
END_TEST

/*
 * Receipts whose id is only in receipted_message_id (message_state 2, an
 * empty short_message), to one phone: the two parts' receipts sent back
 * to back, then two messages' receipts one after the other. Each is its
 * own receipt: the second was taken for a copy of the first (back to
 * back) or a duplicate (later), and its message stayed sent.
 */
START_TEST(test_receipts_tlv_only)
{
	const char *to = "+212661100082";
	char req[512];
	static const char text[] = "Two parts, their receipts with no text at all: "
	    "the ids come in the receipted_message_id TLV alone, and both "
	    "arrive at once, as a carrier sends them for a long message's parts.";

	long id = api_send(to, text);
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 2);
	snprintf(req, sizeof(req), "{\"cmd\":\"receipts\",\"ids\":[\"%s\",\"%s\"],"
	    "\"tlv_only\":true}", json_string_value(json_array_get(ids, 0)),
	    json_string_value(json_array_get(ids, 1)));
	json_decref(ids);
	json_t *r = h_smsc_ctl(&smsc, req);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");

	long two[2] = { api_send(to, "The first of two, its receipt in a TLV"),
	    api_send(to, "The second of two, its receipt in a TLV") };
	for (int i = 0; i < 2; i++) {
		ids = message_ids(two[i]);
		snprintf(req, sizeof(req), "%s --tlv-only",
		    json_string_value(json_array_get(ids, 0)));
		json_decref(ids);
		ck_assert_int_eq(h_smsc_receipts(&smsc, req), 0);
		h_wait_outbox(&g, two[i], "delivered", WAIT_MS);
	}
	assert_api_state(two[1], "delivered");
	settle();
}
END_TEST

/* An SMSC whose message ids are UUIDs (Jasmin): the receipt names the
 * id with its dashes, and it matches (its keys were cut down to hex
 * digits only, and no receipt of such an SMSC ever did). */
START_TEST(test_receipts_uuid_ids)
{
	const char *e = "+212661100031", *f = "+212661100032";
	char opts[256];
	size_t i;
	json_t *v;

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"ids\":\"uuid\"}"));
	TEXT(e, "JOIN uuid1");
	GETS(e, "@uuid1");
	TEXT(f, "JOIN uuid2");
	GETS(f, "@uuid2");
	TEXT(f, "FOLLOW uuid1");
	GETS(f, "You now follow @uuid1");
	TEXT(e, "Ids with dashes");
	GETS(f, "@uuid1: Ids with dashes");
	long id = outbox_id(f, "@uuid1: Ids with dashes");
	ck_assert(id > 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 1);
	json_array_foreach(ids, i, v) {
		ck_assert_msg(strchr(json_string_value(v), '-') != NULL,
		    "not a UUID: %s", json_string_value(v));
		snprintf(opts, sizeof(opts), "%s", json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"ids\":\"hex\"}"));
	settle();
}
END_TEST

/* The simulator's count of deliver_sm sent (receipts, again or not). */
static long long
delivers_sent(void)
{
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	long long n = json_integer_value(json_object_get(json_object_get(st,
	    "counts"), "deliver_sm"));

	json_decref(st);
	return n;
}

/* 40 messages queued in one statement: the scheduler claims them at once
 * (a fan-out's chunk). The first one's id. */
static long
queue_40(const char *prefix, const char *text)
{
	const char *params[] = { prefix, text };
	long first = h_db_long(g.db, "WITH i AS (INSERT INTO outbox "
	    "(recipient, text, class) SELECT $1 || lpad(n::text, 2, '0'), $2, 1 "
	    "FROM generate_series(0, 39) n RETURNING id) SELECT min(id) FROM i",
	    2, params);

	h_db_long(g.db, "SELECT 1 FROM pg_notify('pigeon_outbox', '')", 0, NULL);
	return first;
}

/* All 40 from first on delivered, each by one receipt, none unmatched. */
static void
assert_40_delivered(long first, long unmatched0)
{
	char sfirst[32];

	snprintf(sfirst, sizeof(sfirst), "%ld", first);
	ck_assert_msg(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE id >= $1::bigint "
	    "AND state = 'delivered'", sfirst, "40", WAIT_MS) == 0,
	    "%ld of 40 delivered", h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "id >= $1::bigint AND state = 'delivered'", 1, (const char *const[]){ sfirst }));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM status_reports WHERE "
	    "outbox_id >= $1::bigint", 1, (const char *const[]){ sfirst }), 40);
	ck_assert_int_eq(h_db_long(g.db, "SELECT reports_unmatched FROM modems "
	    "WHERE name = 'carrier'", 0, NULL), unmatched0);
}

/*
 * Receipts give way to a bind's sends (receipts_yield, 30 s by default):
 * 40 messages claimed at once onto a window of 10 whose answers the SMSC
 * holds 200 ms, a receipt sent with each submit. The bind has a window's
 * worth unsettled while its receipts come, so they wait (a batch a
 * second) and /api/modems counts them; every message is delivered all
 * the same, each receipt answered once (the SMSC delivered none again),
 * none left unmatched. Without the yield the count stayed at 0.
 */
START_TEST(test_receipts_yield_to_sends)
{
	long unmatched0 = h_db_long(g.db, "SELECT reports_unmatched FROM modems "
	    "WHERE name = 'carrier'", 0, NULL);
	long long yielded0 = carrier_counter("receipts_yielded");
	long long sent0 = delivers_sent();

	ck_assert_int_ge(yielded0, 0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":200}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"auto_receipt\":\"DELIVRD\"}"));
	long first = queue_40("+2126611004", "A receipt behind a busy window");
	assert_40_delivered(first, unmatched0);
	ck_assert_int_eq(delivers_sent() - sent0, 40);
	long long yielded = carrier_counter("receipts_yielded") - yielded0;
	ck_assert_msg(yielded >= 1 && yielded <= 40, "%lld receipts yielded", yielded);
	/* The same count in /metrics. */
	char *body = NULL, want[96];
	snprintf(want, sizeof(want), "\npigeon_bind_receipts_yielded_total"
	    "{modem=\"carrier\"} %lld\n", yielded0 + yielded);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_msg(strstr(body, want) != NULL, "no %s in %s", want + 1, body);
	free(body);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"auto_receipt\":\"\"}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":0}"));
}
END_TEST

/* Receipts sent the moment a submit is taken, as some SMSCs do, here even
 * before the submit's answer (answers held 200 ms): before pigeond has
 * the message id, let alone committed it. Each still matches, and none is
 * left counted as unmatched. Its bind's receipts do not yield to its
 * sends, which would store them after the outcomes: none is counted as
 * having waited. Run on a bind with receipts_yield = 0 (setup_first),
 * and on one paced by a `rate` (setup_paced), whose receipts never
 * yield: its pace is not the database's. */
START_TEST(test_receipts_at_once)
{
	long unmatched0 = h_db_long(g.db, "SELECT reports_unmatched FROM modems "
	    "WHERE name = 'carrier'", 0, NULL);

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":200}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"auto_receipt\":\"DELIVRD\"}"));
	long first = queue_40("+2126611002", "A receipt on the heels of its submit");
	assert_40_delivered(first, unmatched0);
	ck_assert_int_eq(carrier_counter("receipts_yielded"), 0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"auto_receipt\":\"\"}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":0}"));
}
END_TEST

/*
 * What the SMSC said of a message it did not deliver is what the desk
 * reads: its stat and err in the history, last_error and pigeonctl
 * status, and the part's TP-Status the nearest one (EXPIRED: 70,
 * validity period expired). Every failure was "part 1: not delivered
 * (status 64)", a remote procedure error, whatever the receipt said.
 * Undelivered all the same (the reach and STATS count them so).
 */
START_TEST(test_receipt_outcomes_told)
{
	static const struct {
		const char *stat, *err;
		int tp;
	} cases[] = {
		{ "EXPIRED", "001", 70 }, { "UNDELIV", "005", 64 },
		{ "REJECTD", "011", 99 }, { "DELETED", "002", 72 },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	char opts[128], to[32], want[96], sid[24], *out = NULL, *st;
	long id[N];
	size_t i, k;
	json_t *ids, *v;

	for (i = 0; i < N; i++) {
		snprintf(to, sizeof(to), "+2126611004%02zu", i);
		id[i] = h_outbox_add(&g, to, "Your appointment is at ten", 1);
	}
	for (i = 0; i < N; i++) {
		h_wait_outbox(&g, id[i], "sent", WAIT_MS);
		ids = message_ids(id[i]);
		ck_assert_int_eq(json_array_size(ids), 1);
		json_array_foreach(ids, k, v) {
			snprintf(opts, sizeof(opts), "%s --stat %s --err %s",
			    json_string_value(v), cases[i].stat, cases[i].err);
			ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
		}
		json_decref(ids);
	}
	for (i = 0; i < N; i++) {
		h_wait_outbox(&g, id[i], "undelivered", WAIT_MS);
		snprintf(want, sizeof(want), "part 1: not delivered: %s, err %s "
		    "(status %d)", cases[i].stat, cases[i].err, cases[i].tp);
		st = h_outbox_col(&g, id[i], "last_error");
		ck_assert_msg(strcmp(st, want) == 0, "%s: last_error %s", cases[i].stat, st);
		free(st);
		json_t *m = api_message(id[i]), *h = json_object_get(m, "history");
		const char *last = json_string_value(json_object_get(json_array_get(h,
		    json_array_size(h) - 1), "detail"));
		ck_assert_msg(last && strcmp(last, want) == 0, "history: %s", last);
		json_decref(m);
		snprintf(sid, sizeof(sid), "%ld", id[i]);
		ck_assert_int_eq(h_db_long(g.db, "SELECT status FROM outbox_parts WHERE "
		    "outbox_id = $1::bigint AND seq = 1", 1, (const char *const[]){ sid }),
		    cases[i].tp);
		ck_assert_int_eq(h_run(&out, "%s -c '%s' status %ld 2>&1",
		    h_bin("pigeonctl"), g.config, id[i]), 0);
		ck_assert_msg(strstr(out, want) != NULL, "%s", out);
		free(out);
	}

	/* A receipt that settles nothing (UNKNOWN: the SMSC still tries) is
	 * not in the history, which has the changes, but in the reports:
	 * the message stays sent, and the desk sees why. */
	long u = h_outbox_add(&g, "+212661100409", "Your appointment is at ten", 1);
	h_wait_outbox(&g, u, "sent", WAIT_MS);
	ids = message_ids(u);
	json_array_foreach(ids, k, v) {
		snprintf(opts, sizeof(opts), "%s --stat UNKNOWN --err 000",
		    json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	snprintf(sid, sizeof(sid), "%ld", u);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports WHERE "
	    "outbox_id = $1::bigint", sid, "1", WAIT_MS), 0);
	json_t *m = api_message(u), *r = json_array_get(json_object_get(m, "reports"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "state")), "sent");
	ck_assert_str_eq(json_string_value(json_object_get(r, "stat")) ?: "", "UNKNOWN");
	ck_assert_str_eq(json_string_value(json_object_get(r, "err")) ?: "", "000");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "status")), 32);
	json_decref(m);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' status %ld 2>&1", h_bin("pigeonctl"),
	    g.config, u), 0);
	ck_assert_msg(strstr(out, "UNKNOWN err 000") != NULL, "%s", out);
	free(out);
}
END_TEST

/* A batch of receipts for the probe parts FIRST..LAST, in batches of PER
 * (one call of pigeon_report_receipts each, as pigeond sends them): how
 * many the function answered 'delivered'. */
static long
probe_receipts(int first, int last, int per)
{
	char a[16], b[16], c[16];
	const char *params[] = { a, b, c };

	snprintf(a, sizeof(a), "%d", first);
	snprintf(b, sizeof(b), "%d", last);
	snprintf(c, sizeof(c), "%d", per);
	return h_db_long(g.db, "SELECT count(*) FROM ("
	    "SELECT pigeon_report_receipts(jsonb_agg(jsonb_build_object("
	    "'link', 'probe', 'recipient', '+2126620' || lpad(i::text, 5, '0'), "
	    "'message_id', to_hex(7000000 + i), 'keys', jsonb_build_array("
	    "to_hex(7000000 + i), (7000000 + i)::text), 'status', 0, "
	    "'dedupe', 'probe-' || i))) AS r "
	    "FROM generate_series($1::integer, $2::integer) i GROUP BY i / $3::integer) s "
	    "WHERE r = 'delivered'", 3, params);
}

/* Rows of outbox_parts read so far in this transaction. */
static long
parts_read(void)
{
	return h_db_long(g.db, "SELECT idx_tup_fetch + seq_tup_read "
	    "FROM pg_stat_xact_user_tables WHERE relname = 'outbox_parts'", 0, NULL);
}

/*
 * A receipt reads the part its message id names, not the link's parts,
 * whatever the planner believed when it planned the statements. That is
 * at its worst during a fan-out: outbox_parts was analyzed before it (here:
 * empty), the receipts function's statements were planned and kept while
 * the link had few parts (here: 60), and thousands came since (here:
 * 3,000). Planned then, the lookup by message id and the parts' update
 * read the link's parts for each receipt or batch (644,960 and 33,160 rows
 * for these 200 receipts; a core spent for a minute after a fan-out of
 * 100,000). Counted by PostgreSQL's statistics of the transaction, which
 * is rolled back: pigeond never sees these rows.
 */
START_TEST(test_receipts_read_their_part)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "DELETE FROM outbox_parts");
	h_db_exec(g.db, "ANALYZE outbox_parts");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "SELECT 900000000 + i, '+2126620' || lpad(i::text, 5, '0'), 'probe', "
	    "'sent', 'probe', 1, now() FROM generate_series(1, 3060) i");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "SELECT 900000000 + i, 1, 'probe', to_hex(7000000 + i), "
	    "'+2126620' || lpad(i::text, 5, '0') FROM generate_series(1, 60) i");
	/* Six calls: past the five custom plans, the statements keep a plan
	 * made for 60 parts. */
	long early = probe_receipts(1, 60, 10);
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "SELECT 900000000 + i, 1, 'probe', to_hex(7000000 + i), "
	    "'+2126620' || lpad(i::text, 5, '0') FROM generate_series(61, 3060) i");
	long read0 = parts_read();
	long delivered = probe_receipts(2861, 3060, 20);
	long read = parts_read() - read0;
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_int_eq(early, 60);
	ck_assert_int_eq(delivered, 200);
	ck_assert_msg(read <= 200 * 20, "200 receipts read %ld parts of outbox_parts "
	    "(at most 20 each expected; the link has 3,060)", read);
}
END_TEST

/*
 * A receipt names its message by an id that may be read in hex or in
 * decimal (its keys): "10" is also 16, and "16" may be another message's
 * id on the same link. The receipt goes to the part whose id it gave as
 * written and whose phone it names, never to the newest part one of its
 * readings meets: before, A's receipt delivered B, and a receipt that
 * came before its outcome settled both A and B when their outcomes came
 * in one batch. Rolled back: pigeond never sees these rows.
 */
/* A part an SMSC accepted without a message id keeps none: it was '0',
 * so every such part, whoever it went to, met a receipt of an id 0. */
START_TEST(test_empty_message_id)
{
	char *v = h_db_value(g.db, "SELECT (pigeon_message_id('') IS NULL)::text || ' ' || "
	    "pigeon_message_id('000') || ' ' || pigeon_message_id('00A1F')", 0, NULL);
	ck_assert_str_eq(v, "true 0 a1f");
	free(v);
}
END_TEST

/*
 * A receipt left unmatched two days ago (its part's id never recorded)
 * and a new part to another phone given the same id (the SMSC restarted
 * and counts from 1 again): the new message stays sent. Before, its
 * outcome matched the old receipt: undelivered at once, for good.
 * Rolled back: pigeond never sees these rows.
 */
START_TEST(test_receipt_old_unmatched_not_taken)
{
	h_db_exec(g.db, "BEGIN");
	free(h_db_value(g.db, "SELECT pigeon_report_receipts('["
	    "{\"link\": \"probe\", \"recipient\": \"+212662100031\", \"message_id\": \"4711\", "
	    "\"keys\": [\"4711\"], \"status\": 64, \"stat\": \"UNDELIV\", \"dedupe\": \"probe-o1\"}]')",
	    0, NULL));
	h_db_exec(g.db, "UPDATE status_reports SET received_at = now() - interval '2 days' "
	    "WHERE dedupe = 'probe-o1'");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (910000031, '+212662100032', 'probe o', 'sending', 'probe', 1)");
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000031, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"4711\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *st = h_db_value(g.db, "SELECT state FROM outbox WHERE id = 910000031", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(st, "sent");
	free(st);
}
END_TEST

/*
 * An UNDELIV then a DELIVRD for one part in one batch: the last word,
 * delivered, and one callback's worth of change. Before, the message
 * went delivered, then undelivered in the same commit (the failed
 * receipt was applied after the part had taken the later one).
 * Rolled back: pigeond never sees these rows.
 */
START_TEST(test_receipts_last_word_in_a_batch)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000021, '+212662100021', 'probe u', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000021, 1, 'probe', '7001', '+212662100021')");
	free(h_db_value(g.db, "SELECT pigeon_report_receipts('["
	    "{\"link\": \"probe\", \"recipient\": \"+212662100021\", \"message_id\": \"7001\", "
	    "\"keys\": [\"7001\"], \"status\": 64, \"stat\": \"UNDELIV\", \"dedupe\": \"probe-u1\"}, "
	    "{\"link\": \"probe\", \"recipient\": \"+212662100021\", \"message_id\": \"7001\", "
	    "\"keys\": [\"7001\"], \"status\": 0, \"stat\": \"DELIVRD\", \"dedupe\": \"probe-u2\"}]')",
	    0, NULL));
	/* Its state, and how often its history says undelivered. */
	char *st = h_db_value(g.db, "SELECT state || ' ' || (SELECT count(*) FROM "
	    "outbox_history h WHERE h.outbox_id = o.id AND h.state = 'undelivered') "
	    "FROM outbox o WHERE id = 910000021", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_ptr_nonnull(st);
	ck_assert_msg(strcmp(st, "delivered 0") == 0, "%s", st);
	free(st);
}
END_TEST

START_TEST(test_receipt_ids_read_two_ways)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000001, '+212662100001', 'probe a', 'sent', 'probe', 1, now()), "
	    "(910000002, '+212662100002', 'probe b', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000001, 1, 'probe', '10', '+212662100001'), "
	    "(910000002, 1, 'probe', '16', '+212662100002')");
	char *r = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": \"probe\", "
	    "\"recipient\": \"+212662100001\", \"message_id\": \"10\", "
	    "\"keys\": [\"10\", \"16\"], \"status\": 0, \"dedupe\": \"probe-a\"}]')",
	    0, NULL);
	char *a = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000001, 910000002)", 0, NULL);

	/* The receipt first, then both outcomes in one batch. */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (910000003, '+212662100003', 'probe c', 'sending', 'probe', 1), "
	    "(910000004, '+212662100004', 'probe d', 'sending', 'probe', 1)");
	char *early = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe\", \"recipient\": \"+212662100003\", \"message_id\": \"20\", "
	    "\"keys\": [\"20\", \"32\"], \"status\": 0, \"dedupe\": \"probe-c\"}]')",
	    0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000003, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"20\"], \"report\": true}, "
	    "{\"id\": 910000004, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"32\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *c = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000003, 910000004)", 0, NULL);

	/*
	 * Never another phone's part. The receipt of "18" to ...05 comes
	 * before its submit's outcome is recorded; "18" read in the other
	 * base is 0x12, the id of a message to ...06 sent earlier: it was
	 * matched to that one, which was taken for delivered, and its own
	 * stayed sent for good. The outcome of "24" to ...07 (0x18 is 24)
	 * must not take the receipt of "18" either.
	 */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000006, '+212662100006', 'probe f', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000006, 1, 'probe', '12', '+212662100006')");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (910000005, '+212662100005', 'probe e', 'sending', 'probe', 1), "
	    "(910000007, '+212662100007', 'probe g', 'sending', 'probe', 1)");
	char *other = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe\", \"recipient\": \"+212662100005\", \"message_id\": \"18\", "
	    "\"keys\": [\"18\", \"12\", \"24\"], \"status\": 0, \"dedupe\": \"probe-e\"}]')",
	    0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000007, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"24\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *before = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000005, 910000006, 910000007)", 0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000005, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"18\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *after = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000005, 910000006, 910000007)", 0, NULL);
	/* The id as written still names its part, whatever phone the receipt
	 * gives: an SMSC that swaps the addresses writes the sender's. */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000008, '+212662100008', 'probe h', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000008, 1, 'probe', '30', '+212662100008')");
	char *swapped = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe\", \"recipient\": \"+212522000000\", \"message_id\": \"30\", "
	    "\"keys\": [\"30\", \"1e\", \"48\"], \"status\": 0, \"dedupe\": \"probe-h\"}]')",
	    0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(r, "delivered");
	ck_assert_str_eq(a, "delivered sent");
	ck_assert_str_eq(early, "unmatched");
	ck_assert_str_eq(c, "delivered sent");
	ck_assert_str_eq(other, "unmatched");
	ck_assert_str_eq(before, "sending sent sent");
	ck_assert_str_eq(after, "delivered sent sent");
	ck_assert_str_eq(swapped, "delivered");
	free(swapped);
	free(r);
	free(a);
	free(early);
	free(c);
	free(other);
	free(before);
	free(after);
}
END_TEST

/* The id the SMSC issued (its record's) for its last message to `to`. */
static void
issued_id(const char *to, char *out, size_t size)
{
	json_t *subs = h_smsc_submits(&smsc), *r;
	size_t i;

	out[0] = '\0';
	json_array_foreach(subs, i, r) {
		const char *dest = json_string_value(json_object_get(r, "dest"));
		const char *mid = json_string_value(json_object_get(r, "message_id"));
		if (dest != NULL && mid != NULL && strcmp(dest, to + 1) == 0)
			snprintf(out, size, "%s", mid);
	}
	json_decref(subs);
	ck_assert_msg(out[0] != '\0', "no submit_sm to %s accepted", to);
}

/*
 * An SMSC whose message ids are bytes that are not UTF-8: 30 bytes of
 * 0xE9 (each was U+FFFD, 90 bytes, and pigeond ignored the `sent`: the
 * message stayed sending, was sent again at each lease's end and held a
 * send slot for good), then 60 (its receipt was ignored too, answered
 * 0x64 and delivered again for ever). Each message is sent, its id
 * written in hex, and its receipt, by the TLV or by the text, meets it.
 */
START_TEST(test_raw_message_ids)
{
	const char *to = "+212661100083";
	char hex[2 * 64 + 1], want[4 + sizeof(hex)], issued[64], opts[128];
	long id;
	json_t *ids, *r;

	for (int i = 0; i < 64; i++)
		memcpy(hex + 2 * i, "e9", 3);
	hex[60] = '\0';		/* 30 bytes */
	r = h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"raw_id\","
	    "\"hex\":\"%s\",\"count\":1}", hex);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	id = api_send(to, "An id of thirty bytes that are no text");
	snprintf(want, sizeof(want), "hex:%s", hex);
	ids = message_ids(id);
	ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), want);
	json_decref(ids);
	for (int i = 0; i < 200 && carrier_counter("unsettled") != 0; i++)
		h_sleep_ms(50);
	ck_assert_int_eq(carrier_counter("unsettled"), 0);
	issued_id(to, issued, sizeof(issued));
	snprintf(opts, sizeof(opts), "%s --tlv-only", issued);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);

	/* 60 bytes: a head in hex and a hash; the receipt names it in its
	 * text and in receipted_message_id. */
	memset(hex, 0, sizeof(hex));
	for (int i = 0; i < 60; i++)
		memcpy(hex + 2 * i, "e9", 3);
	r = h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"raw_id\","
	    "\"hex\":\"%s\",\"count\":1}", hex);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	id = api_send(to, "An id of sixty bytes that are no text");
	ids = message_ids(id);
	const char *got = json_string_value(json_array_get(ids, 0));
	ck_assert_msg(got != NULL && strncmp(got, "hex:e9e9", 8) == 0 &&
	    strchr(got, '~') != NULL && strlen(got) <= 64, "id %s", got ? got : "none");
	json_decref(ids);
	issued_id(to, issued, sizeof(issued));
	snprintf(opts, sizeof(opts), "%s --tlv", issued);	/* text and TLV */
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");
	settle();
}
END_TEST

static void
setup_first(void)
{
	setup_bind("smpp_rcpt_first", "receipts_yield = 0\n");
}

static void
setup_paced(void)
{
	setup_bind("smpp_rcpt_paced", "rate = 100/s\n");
}

int
main(void)
{
	Suite *s = suite_create("smpp_receipts");
	TCase *tc = tcase_create("smpp_receipts");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_receipts);
	tcase_add_test(tc, test_receipts_uuid_ids);
	tcase_add_test(tc, test_receipt_pending_after_final);
	tcase_add_test(tc, test_receipt_stat_of_its_own);
	tcase_add_test(tc, test_receipts_yield_to_sends);
	tcase_add_test(tc, test_receipt_outcomes_told);
	tcase_add_test(tc, test_receipts_read_their_part);
	tcase_add_test(tc, test_receipt_ids_read_two_ways);
	tcase_add_test(tc, test_receipts_last_word_in_a_batch);
	tcase_add_test(tc, test_receipt_old_unmatched_not_taken);
	tcase_add_test(tc, test_empty_message_id);
	suite_add_tcase(s, tc);
	/* Receipts before their submits' answers, on a bind whose receipts
	 * never wait for its sends. */
	tc = tcase_create("smpp_receipts_first");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_first, teardown);
	tcase_add_test(tc, test_receipts_at_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_receipts_paced");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_paced, teardown);
	tcase_add_test(tc, test_receipts_at_once);
	suite_add_tcase(s, tc);
	/* Message ids and receipts in unusual shapes. */
	tc = tcase_create("smpp_ids");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_receipts_tlv_only);
	tcase_add_test(tc, test_raw_message_ids);
	suite_add_tcase(s, tc);
	return h_main(s);
}
