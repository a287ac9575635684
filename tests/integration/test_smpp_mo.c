/*
 * test_smpp_mo.c: deliveries (MO) over a carrier bind that pigeond could
 * not store or acknowledge at once, or that the SMSC delivered again; the
 * answer from the number texted beside a modem; and the parts of long
 * messages: in message_payload, across an outage, billed when a part
 * failed.
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

/* Long texts in message_payload, and a daily budget of 3 SMS parts. */
static void
setup_payload(void)
{
	pigeon_conf = "timezone = UTC\nlink_budget_day = 3\n";
	setup_bind("smpp_payload", "long = payload\n");
}

static void
setup_outage(void)
{
	setup_bind("smpp_outage", "");
}

/* A modem beside the bind, as `make run` has them. */
static void
setup_bank(void)
{
	nmodems = 1;
	setup_bind("smpp_bank", "");
	nmodems = 0;
}

/*
 * long = payload sends a text of three SMS parts in one submit_sm; the
 * carrier splits it and bills three. The daily budget counted one (the
 * submit), so a bind could send three times its budget of long texts.
 * It counts the parts now: 3 of link_budget_day 3, the alert at 80% up,
 * and the bind's budget spent.
 */
START_TEST(test_payload_counts_its_parts)
{
	char text[400], body[512], *resp = NULL, *metrics = NULL;
	const char *to = "+212600000951";
	int found = 0;

	for (size_t i = 0; i < 399; i++)
		text[i] = "abcdefghij"[i % 10];
	text[399] = '\0';
	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	GETS(to, text);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND state IN ('sent', 'delivered')", to, "1", WAIT_MS), 0);

	/* One submit_sm carried it whole. */
	json_t *subs = h_smsc_submits(&smsc), *r;
	size_t i;
	int n = 0;
	json_array_foreach(subs, i, r)
		if (strcmp(json_string_value(json_object_get(r, "dest")) ?: "",
		    to + 1) == 0) {
			n++;
			ck_assert_str_eq(json_string_value(json_object_get(r,
			    "message_payload")) ?: "", text);
		}
	json_decref(subs);
	ck_assert_int_eq(n, 1);

	/* The desk sees what it cost: 1 part (one submit_sm), 3 SMS billed.
	 * (It read "parts 1" everywhere, the 3 only in the database.) */
	long id = outbox_id(to, text);
	char path[1024], *out = NULL;
	json_t *m = api_message(id);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "parts")), 1);
	ck_assert_msg(json_integer_value(json_object_get(m, "segments")) == 3,
	    "segments: %lld", (long long)json_integer_value(json_object_get(m,
	    "segments")));
	json_decref(m);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' status %ld 2>&1", h_bin("pigeonctl"),
	    g.config, id), 0);
	ck_assert_msg(strstr(out, "parts      1, billed as 3 SMS") != NULL, "%s", out);
	free(out);

	for (int tries = 0; tries < 100 && !found; tries++) {
		free(metrics);
		metrics = NULL;
		if (h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &metrics) == 200 &&
		    metrics != NULL)
			found = strstr(metrics, "pigeon_link_parts_today{modem=\"carrier\"} 3\n")
			    != NULL;
		if (!found)
			h_sleep_ms(100);
	}
	ck_assert_msg(found, "/metrics says: %.200s", metrics && strstr(metrics,
	    "pigeon_link_parts_today{") ? strstr(metrics, "pigeon_link_parts_today{") :
	    "no pigeon_link_parts_today");
	ck_assert_ptr_nonnull(strstr(metrics, "pigeon_link_budget_alert{modem=\"carrier\"} 1\n"));
	free(metrics);
	char *log;
	snprintf(path, sizeof(path), "%s/pigeond.log", g.dir);
	log = h_read_file(path);
	ck_assert_int_eq(log ? h_count_lines(log, "modem carrier: its daily budget "
	    "(link_budget_day) is spent") : 0, 1);
	free(log);
}
END_TEST

/*
 * Over SMPP the parts of a long SMS carry no network time stamp: their
 * arrival does not split them (an SMSC delivers by its own queue). Part
 * 1, the bind dropped and back, part 2, with part 1 put 5 minutes back:
 * one message, whole. (Split at 2 minutes of arrival, it was two SMS:
 * part 1 processed alone after concat_timeout, part 2 kept and never
 * applied.)
 */
static const char apart_text[] = "Le marche de Derb Omar ouvre plus tard demain "
    "matin a cause des travaux sur la route principale, venez apres dix heures "
    "et passez par la rue laterale, merci a tous et bonne soiree!";

START_TEST(test_parts_across_an_outage)
{
	const char *p = "+212661100071";
	const char *ps[] = { p };

	TEXT(p, "JOIN apart1");
	GETS(p, "@apart1");
	TEXT_OPTS(p, apart_text, "--ref 201 --only 1");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE "
	    "sender_norm = $1 AND concat_ref = 201", p, "1", WAIT_MS), 0);
	/* Answered before the drop (else the SMSC delivers it again, and
	 * the copy of a part put 5 minutes back is a new part). */
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the SMSC still has MO messages unanswered");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\"}"));
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) > 0 FROM modem_history WHERE "
	    "modem = $1 AND state <> 'online' AND at > now() - interval '1 minute'",
	    "carrier", "t", WAIT_MS), 0);
	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	/* It came 5 minutes ago (within concat_timeout). */
	ck_assert_int_eq(h_db_long(g.db, "WITH u AS (UPDATE inbox_parts SET received_at = "
	    "received_at - interval '5 minutes' WHERE sender_norm = $1 AND "
	    "concat_ref = 201 AND message_id IS NULL RETURNING 1) SELECT count(*) FROM u",
	    1, ps), 1);
	TEXT_OPTS(p, apart_text, "--ref 201 --only 2");
	/* One message of both parts (the post is longer than this gateway's
	 * post_max: its reply says so, about the whole text). */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND parts = 2 AND complete AND state <> 'new' AND "
	    "text LIKE 'Le marche%bonne soiree!'", p, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts WHERE "
	    "sender_norm = $1 AND message_id IS NULL", 1, ps), 0);
}
END_TEST

static void
setup_failed_parts(void)
{
	/* One submit at a time: a fault lands on part 2. */
	setup_window("smpp_failed_parts", 1, "");
}

/* pigeon_link_parts_today of the bind as /metrics shows it (0: absent). */
static long
bind_parts_today(void)
{
	return h_metric(&g, TOKEN, "pigeon_link_parts_today{modem=\"carrier\"}", 0);
}

static int
bind_counts_accepted(void *arg)
{
	(void)arg;
	if (bind_parts_today() == h_smsc_resps(&smsc, "submit_sm", 0))
		return 1;
	h_sleep_ms(100);
	return 0;
}

/*
 * A long message (405 characters of letters, 3 parts) sent to `to`
 * through the API, whose part 2 the SMSC refuses with status while part
 * 1's answer is held; returns once the message is in `state` (its state
 * and attempts: "failed/1").
 */
static void
part_two_refused(const char *to, const char *letters, int status, const char *state)
{
	char text[406], body[512], fault[96], *resp = NULL;
	long long n0 = h_smsc_count(&smsc, "submit_sm");

	for (int i = 0; i < 405; i++)
		text[i] = letters[i % 10];
	text[405] = '\0';
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":1500}"));
	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	/* Part 1 is at the SMSC, its answer held: part 2 comes after it. */
	h_smsc_wait_count(&smsc, "submit_sm", n0 + 1, WAIT_MS);
	snprintf(fault, sizeof(fault), "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":%d}", status);
	json_decref(h_smsc_ctl(&smsc, fault));
	ck_assert_int_eq(h_wait_db(&g, "SELECT state || '/' || attempts FROM outbox "
	    "WHERE recipient = $1 ORDER BY id DESC LIMIT 1", to, state, WAIT_MS), 0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":0}"));
}

/*
 * The carrier bills each part it accepted: a long message whose part 2
 * of 3 was refused for good (invalid destination) after its part 1 was
 * accepted is billed that part. The bind's parts of the day counted
 * nothing (the message never was sent whole).
 */
START_TEST(test_failed_parts_billed)
{
	part_two_refused("+212600000961", "abcdefghij", 11, "failed/1");
	ck_assert_int_eq(h_smsc_resps(&smsc, "submit_sm", 0), 1);
	ck_assert_msg(h_wait_for(bind_counts_accepted, NULL, 10000) == 0,
	    "parts today %ld, the SMSC accepted %ld", bind_parts_today(),
	    h_smsc_resps(&smsc, "submit_sm", 0));
}
END_TEST

/* The same with part 1 accepted without a message id (as some SMSCs
 * do): billed all the same. Before, only parts with an id were. */
START_TEST(test_failed_parts_billed_without_id)
{
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"raw_id\","
	    "\"hex\":\"\",\"count\":1}"));
	part_two_refused("+212600000963", "uvwxyzabcd", 11, "failed/1");
	ck_assert_msg(h_wait_for(bind_counts_accepted, NULL, 10000) == 0,
	    "parts today %ld, the SMSC accepted %ld", bind_parts_today(),
	    h_smsc_resps(&smsc, "submit_sm", 0));
}
END_TEST

/*
 * The same refusal for a while (0x64, temporary): the message goes back
 * to the queue and is sent again whole, its part 1 reaching the phone a
 * second time. That is counted in maybe_duplicated, as a send whose
 * answer was lost is. Before, it was not.
 */
START_TEST(test_failed_parts_resent_counted)
{
	long maybe = h_db_long(g.db, "SELECT coalesce((SELECT value FROM counters "
	    "WHERE name = 'maybe_duplicated'), 0)", 0, NULL);

	part_two_refused("+212600000962", "klmnopqrst", 100, "queued/1");
	ck_assert_int_eq(h_db_long(g.db, "SELECT value FROM counters WHERE "
	    "name = 'maybe_duplicated'", 0, NULL), maybe + 1);
}
END_TEST

static void
setup_release(void)
{
	setup_bind("smpp_release", "");
}

/* How many deliver_sm_resp the SMSC recorded with that status. */
static long
resps_with_status(long status)
{
	return h_smsc_resps(&smsc, "deliver_sm_resp", status);
}


/*
 * An MO the database refuses to store: pigeond tells the worker
 * (`release`), which answers the deliver_sm ESME_RX_T_APPN at once, and
 * the SMSC delivers it again until it is stored; then it is applied,
 * once. Before, pigeond dropped it without a word and the deliver_sm
 * stayed unanswered at the worker for good: the SMSC never sent it again
 * (its copies on that session joined to it), and the member's FOLLOW was
 * lost.
 */
START_TEST(test_mo_store_failed_released)
{
	const char *a = "+212661300001", *b = "+212661300002";

	TEXT(a, "JOIN relamina");
	GETS(a, "@relamina");
	TEXT(b, "JOIN relbob");
	GETS(b, "@relbob");
	settle();
	h_db_exec(g.db, "ALTER TABLE inbox_parts ADD CONSTRAINT test_refuse "
	    "CHECK (text <> 'FOLLOW relamina') NOT VALID");
	TEXT(b, "FOLLOW relamina");
	int released = h_smsc_wait_resps(&smsc, "deliver_sm_resp", 0x64, 2, 20000);
	h_db_exec(g.db, "ALTER TABLE inbox_parts DROP CONSTRAINT test_refuse");
	ck_assert_msg(released == 0, "the MO pigeond could not store was not "
	    "answered ESME_RX_T_APPN (twice: delivered again) by the worker");
	GETS(b, "You now follow @relamina");
	settle();
	ck_assert_int_eq(count_of(b, "You now follow @relamina"), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE text = 'FOLLOW relamina'", 0, NULL), 1);
}
END_TEST

/*
 * An MO, text from `from`, stored while pigeond's main connection (the
 * one that holds the link's lock) is gone and cannot come back: the
 * store is held in its statement by holding the link's row
 * (pigeon_inbox_store locks it first) while that connection is
 * terminated, then let go; it commits on the inbox's own connection.
 * then(arg), when given, runs while the lock is still away; new
 * connections are allowed again after it.
 */
static void
store_while_lock_away(const char *from, const char *text, void (*then)(void *),
    void *arg)
{
	PGconn *lk = h_db_connect(g.conninfo);
	char *waiting = NULL, *holder = NULL;
	int paused = -1, stored = -1;

	PQclear(PQexec(lk, "BEGIN"));
	PQclear(PQexec(lk, "SELECT 1 FROM modems WHERE name = 'carrier' FOR UPDATE"));
	TEXT(from, text);
	for (long w0 = h_now_ms(); waiting == NULL && h_now_ms() - w0 < 20000; ) {
		waiting = h_db_value(g.db, "SELECT pid::text FROM pg_stat_activity "
		    "WHERE datname = current_database() AND application_name "
		    "LIKE 'pigeond % inbox' AND wait_event_type = 'Lock'", 0, NULL);
		if (waiting == NULL)
			h_sleep_ms(20);
	}
	if (waiting != NULL)
		holder = h_db_value(g.db, "SELECT pid::text FROM pg_locks "
		    "WHERE locktype = 'advisory' AND classid = 1346979653::oid "
		    "AND database = (SELECT oid FROM pg_database WHERE datname = "
		    "current_database()) AND granted LIMIT 1", 0, NULL);
	if (holder != NULL) {
		const char *bp[] = { holder };
		allow_connections(0);
		ck_assert_int_eq(h_db_long(g.db, "SELECT pg_terminate_backend("
		    "$1::integer)::int", 1, bp), 1);
		char *log = h_strf("%s/pigeond.log", g.dir);
		paused = h_wait_file_contains(log, "paused (no send, no delete)", 20000);
		free(log);
		PQclear(PQexec(lk, "ROLLBACK"));
		stored = h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE text = $1",
		    text, "1", 20000);
		if (then != NULL)
			then(arg);
		allow_connections(1);
	} else {
		PQclear(PQexec(lk, "ROLLBACK"));
	}
	PQfinish(lk);
	ck_assert_msg(waiting != NULL, "the inbox's store never waited for the link's row");
	ck_assert_msg(holder != NULL, "no connection holds the link's lock");
	free(waiting);
	free(holder);
	ck_assert_int_eq(paused, 0);
	ck_assert_msg(stored == 0, "the MO was not stored while the lock was away");
}

/*
 * An MO committed while pigeond's main connection (the one that holds
 * the link's lock) is gone: the inbox's own connection commits it, and
 * the ack is held, not dropped, until the lock is held again, then the
 * deliver_sm is answered. Before, the refused delete was never sent
 * again: the deliver_sm stayed unanswered at the worker for good (a
 * modem's SMS on its SIM until a later worker).
 */
START_TEST(test_mo_ack_after_lock_back)
{
	const char *a = "+212661300003";

	TEXT(a, "JOIN rellock");
	GETS(a, "@rellock");
	settle();
	long before = resps_with_status(0);
	store_while_lock_away(a, "a post while the lock is away", NULL, NULL);
	ck_assert_msg(h_wait_for(mo_answered, NULL, 30000) == 0,
	    "the MO committed while the lock was away is still unanswered");
	ck_assert_int_eq(resps_with_status(0), before + 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE text = 'a post while the lock is away'", 0, NULL), 1);
}
END_TEST

/* A gateway whose worker answers a delivery ESME_RX_T_APPN after 3 s
 * without pigeond's answer, not 5 minutes (PIGEON_SMPP_ACK_WAIT_MS,
 * smpp/main.c). */
static void
setup_redeliver(void)
{
	setenv("PIGEON_SMPP_ACK_WAIT_MS", "3000", 1);
	setup_bind("smpp_redeliver", "");
	unsetenv("PIGEON_SMPP_ACK_WAIT_MS");
}

/* The SMSC's counter name (its `status`). */
static long
smsc_count(const char *name)
{
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	long n = json_integer_value(json_object_get(json_object_get(st, "counts"),
	    name));

	json_decref(st);
	return n;
}

/* The SMSC has sent at least *arg deliver_sm (its counter). */
static int
delivered_reached(void *arg)
{
	if (smsc_count("deliver_sm") >= *(long *)arg)
		return 1;
	h_sleep_ms(50);		/* each look asks the simulator */
	return 0;
}

/* While the lock is still away past the worker's wait: ESME_RX_T_APPN,
 * and the SMSC delivers it again on the same session. */
struct again_arg {
	long again;		/* ESME_RX_T_APPN answers to wait for */
	long delivered;		/* deliver_sm the SMSC has sent by then */
	int answered, redelivered;
};

static void
answered_and_redelivered(void *p)
{
	struct again_arg *a = p;

	a->answered = h_smsc_wait_resps(&smsc, "deliver_sm_resp", 0x64, a->again, 20000);
	a->redelivered = h_wait_for(delivered_reached, &a->delivered, 20000);
}

/*
 * A lock outage longer than the worker's wait: the MO is stored and
 * committed (on the inbox's connection), its acknowledgement is held for
 * the lock, the worker answers the deliver_sm ESME_RX_T_APPN once its
 * wait runs out, and the SMSC delivers it again on the same session (the
 * link never went down). The post reaches the follower once. Before, the
 * redelivery was stored as a new SMS (the store took one for a
 * redelivery only when the link had gone down since the first copy):
 * the post published twice.
 */
START_TEST(test_mo_answered_again_stored_once)
{
	const char *a = "+212661300011", *b = "+212661300012";
	const char *post = "Souk el had opens at nine tomorrow, bring bags";
	const char *pp[] = { post };

	TEXT(a, "JOIN againamina");
	GETS(a, "@againamina");
	TEXT(b, "JOIN againbob");
	GETS(b, "@againbob");
	TEXT(b, "FOLLOW againamina");
	GETS(b, "You now follow @againamina");
	settle();
	struct again_arg w = { resps_with_status(0x64) + 1,
	    smsc_count("deliver_sm") + 2, -1, -1 };
	store_while_lock_away(a, post, answered_and_redelivered, &w);
	ck_assert_msg(w.answered == 0, "the worker never answered the held MO "
	    "ESME_RX_T_APPN");
	ck_assert_msg(w.redelivered == 0, "the SMSC did not deliver it again");
	ck_assert_msg(h_wait_for(mo_answered, NULL, 30000) == 0,
	    "the MO delivered again is still unanswered");
	GETS(b, post);
	settle();
	ck_assert_msg(count_of(b, post) == 1, "the follower got the post %d "
	    "times:\n%s", count_of(b, post), h_smsc_received(&smsc, b));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE text = $1", 1, pp), 1);
}
END_TEST

/* pigeon_inbox_store of one SMPP part of carrier's (an alphanumeric
 * sender: nothing is answered), key and text as given, flagged a
 * redelivery or not: how many parts it stored. */
static long
store_part(const char *key, const char *text, int redelivery)
{
	json_t *p = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}]",
	    "modem", "carrier", "sender", "PROMOSHOP", "sender_norm", "PROMOSHOP",
	    "sender_kind", "alpha", "smsc", "carrier", "coding", "gsm",
	    "text", text, "link_key", key);
	char *arg;

	if (redelivery)
		json_object_set_new(json_array_get(p, 0), "redelivery", json_true());
	arg = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	const char *params[] = { arg };
	long n = h_db_long(g.db, "SELECT pigeon_inbox_store($1::jsonb)", 1, params);
	free(arg);
	return n;
}

/*
 * The store's side, by itself: a copy the worker calls a redelivery is
 * absorbed when the first copy is stored on that link within the window,
 * and stored when none is (the first's store failed, or it never
 * reached pigeond); the same key without it, the link never down, is a
 * new SMS (a second STOP after a START).
 */
START_TEST(test_store_takes_redelivery)
{
	ck_assert_int_eq(store_part("smpp:00000000000a9a01", "Soldes -50%", 0), 1);
	ck_assert_int_eq(store_part("smpp:00000000000a9a01", "Soldes -50%", 1), 0);
	ck_assert_int_eq(store_part("smpp:00000000000a9a01", "Soldes -50%", 0), 1);
	ck_assert_int_eq(store_part("smpp:00000000000a9a02", "Soldes -70%", 1), 1);
	ck_assert_int_eq(store_part("smpp:00000000000a9a02", "Soldes -70%", 1), 0);
	/* The first copy out of the window: stored. */
	h_db_exec(g.db, "UPDATE inbox_parts SET received_at = received_at - "
	    "interval '16 minutes' WHERE link_key = 'smpp:00000000000a9a02'");
	ck_assert_int_eq(store_part("smpp:00000000000a9a02", "Soldes -70%", 1), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE sender_norm = 'PROMOSHOP'", 0, NULL), 4);
}
END_TEST

/*
 * A phone is answered from the number it texted: the shortcode (the bind)
 * or a modem's long number. Replies went to whichever link had waited
 * longest, so a phone that texted 40404 twice got one answer from
 * 40404 and the next from a long number it never wrote to (where its
 * own replies then went). Two commands from each phone in a row: taking
 * turns, the links would give each phone one answer each.
 */
START_TEST(test_answered_from_the_number_texted)
{
	const char *amina = "+212661500001", *badr = "+212661500002";

	TEXT(amina, "JOIN amina");
	GETS(amina, "@amina");
	TEXT(amina, "STATS");
	GETS(amina, "You have 0 followers");
	ck_assert_int_eq(h_text(&g, 0, badr, "JOIN badr"), 0);
	ck_assert_int_eq(h_wait_received(&g, badr, "@badr", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, badr, "STATS"), 0);
	ck_assert_int_eq(h_wait_received(&g, badr, "You have 0 followers", WAIT_MS), 0);
	settle();
	ck_assert_int_eq(count_of(amina, "@amina"), 1);
	ck_assert_int_eq(count_of(amina, "You have 0 followers"), 1);
	ck_assert_int_eq(h_received_matching(&g, amina, ""), 0);
	ck_assert_int_eq(count_of(badr, ""), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_mo");
	TCase *tc = tcase_create("smpp_payload");

	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_payload, teardown);
	tcase_add_test(tc, test_payload_counts_its_parts);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_bank");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_bank, teardown);
	tcase_add_test(tc, test_answered_from_the_number_texted);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_failed_parts");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_failed_parts, teardown);
	tcase_add_test(tc, test_failed_parts_billed);
	tcase_add_test(tc, test_failed_parts_billed_without_id);
	tcase_add_test(tc, test_failed_parts_resent_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_outage");	/* its bind is dropped */
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_outage, teardown);
	tcase_add_test(tc, test_parts_across_an_outage);
	suite_add_tcase(s, tc);
	/* Deliveries pigeond could not store, or acknowledge at once. */
	tc = tcase_create("smpp_release");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_release, teardown);
	tcase_add_test(tc, test_mo_store_failed_released);
	tcase_add_test(tc, test_mo_ack_after_lock_back);
	suite_add_tcase(s, tc);
	/* A delivery answered ESME_RX_T_APPN, delivered again: its worker's
	 * wait is 3 s. */
	tc = tcase_create("smpp_redeliver");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_redeliver, teardown);
	tcase_add_test(tc, test_mo_answered_again_stored_once);
	tcase_add_test(tc, test_store_takes_redelivery);
	suite_add_tcase(s, tc);
	return h_main(s);
}
