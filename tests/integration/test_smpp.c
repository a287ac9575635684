/*
 * test_smpp.c: the shortcode end to end over a carrier bind (issue 13): a
 * real pigeond with no modem and one [smpp carrier] link to the simulated
 * SMSC (tests/smsc), phones texting 40404 through the SMSC in English,
 * French and Arabic, asserting what the SMSC received for each phone; the
 * claims and outcomes of the queue, fan-outs, and the bind as operators
 * see it. One gateway serves every test (each uses its own phones).
 * The other SMPP tests: test_smpp_receipts.c, test_smpp_mo.c,
 * test_smpp_account.c, test_smpp_links.c and test_smpp_routes.c; their
 * fixtures and shared helpers are in h_smpp.c.
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

/* The submit_sm records for `to` whose text (parts joined) contains
 * needle: how many parts, their data_coding and esm_class. */
static void
parts_of(const char *to, const char *needle, int *nparts, int *coding, int *esm)
{
	json_t *subs = h_smsc_submits(&smsc), *r;
	char joined[4096] = "";
	size_t i;

	*nparts = 0;
	json_array_foreach(subs, i, r) {
		const char *d = json_string_value(json_object_get(r, "dest"));
		if (d == NULL || strcmp(d, to + 1) != 0)
			continue;
		json_t *c = json_object_get(r, "concat");
		long seq = json_is_object(c) ? json_integer_value(json_object_get(c, "seq")) : 1;
		if (seq == 1)
			joined[0] = '\0';
		strncat(joined, json_string_value(json_object_get(r, "short_message")),
		    sizeof(joined) - strlen(joined) - 1);
		if (strstr(joined, needle) != NULL) {
			*nparts = json_is_object(c) ?
			    (int)json_integer_value(json_object_get(c, "total")) : 1;
			*coding = (int)json_integer_value(json_object_get(r, "data_coding"));
			*esm = (int)json_integer_value(json_object_get(r, "esm_class"));
			break;
		}
	}
	json_decref(subs);
}

START_TEST(test_english)
{
	const char *a = "+212661100001", *b = "+212661100002";

	TEXT(a, "JOIN amina1");
	GETS(a, "Welcome to Pigeon, @amina1!");
	TEXT(b, "JOIN bob1");
	GETS(b, "@bob1");
	TEXT(b, "FOLLOW amina1");
	GETS(b, "You now follow @amina1");
	TEXT(a, "Hello from the shortcode");
	GETS(b, "@amina1: Hello from the shortcode\n");
	TEXT(a, "D bob1 see you at 6");
	GETS(b, "DM from @amina1: see you at 6\n");
	TEXT(b, "STOP");
	GETS(b, "You will get no more SMS from Pigeon. Text START to come back.");
	TEXT(a, "posted after the stop");
	settle();
	ck_assert_int_eq(count_of(b, "posted after the stop"), 0);
	ck_assert_int_eq(count_of(b, "Hello from the shortcode"), 1);
	/* START, then STOP again within a minute: the same text over the
	 * bind, a new SMS (not the SMSC delivering the first one again: the
	 * link never went down), so applied. It was dropped as a duplicate
	 * of the first STOP, and @amina1's posts came back. */
	TEXT(b, "START");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    b, "0", WAIT_MS), 0);
	TEXT(b, "STOP");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    b, "1", WAIT_MS), 0);
	TEXT(a, "posted after the second stop");
	settle();
	ck_assert_int_eq(count_of(b, "posted after the second stop"), 0);
	/* The shortcode as the carrier said: TON 3, NPI 0. */
	json_t *subs = h_smsc_submits(&smsc);
	json_t *s0 = json_array_get(subs, 0);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "source")), "40404");
	ck_assert_int_eq(json_integer_value(json_object_get(s0, "source_ton")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(s0, "source_npi")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(s0, "registered_delivery")), 1);
	json_decref(subs);
	/* Every member's MO came in over the bind. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE handle "
	    "IN ('amina1', 'bob1')", 0, NULL), 2);
}
END_TEST

START_TEST(test_french)
{
	const char *c = "+212661100003", *d = "+212661100004";
	int n, coding, esm;

	TEXT(c, "INSCRIPTION claire1");
	GETS(c, "Bienvenue sur Pigeon, @claire1 !");
	TEXT(d, "INSCRIPTION denis1");
	GETS(d, "Bienvenue sur Pigeon, @denis1 !");
	TEXT(d, "SUIVRE claire1");
	GETS(d, "Vous suivez @claire1");
	TEXT(c, "Ça va être une très belle fête, garçon !");
	GETS(d, "@claire1: Ça va être une très belle fête, garçon !\n");
	parts_of(d, "très belle fête", &n, &coding, &esm);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(coding, 8);	/* ç is not GSM-7: UCS-2 */
	TEXT(c, "MP denis1 à demain au marché");
	GETS(d, "MP de @claire1 : à demain au marché\n");
	TEXT(d, "ARRET");
	GETS(d, "Vous ne recevrez plus de SMS de Pigeon.");
	TEXT(c, "encore un message");
	settle();
	ck_assert_int_eq(count_of(d, "encore un message"), 0);
}
END_TEST

/* 120 Arabic letters: two UCS-2 parts each way. */
static const char arabic_post[] =
    "السلام عليكم، هذا منشور طويل عن سوق الحمام في المدينة القديمة "
    "يصل إلى كل المتابعين عبر الرمز القصير بدون أي مشكلة";

START_TEST(test_arabic_concatenated)
{
	const char *k = "+212661100005", *l = "+212661100006";
	char want[1200];
	int n, coding, esm;

	TEXT(k, "تسجيل @Karim1");
	GETS(k, "مرحبا @karim1!");
	TEXT(l, "تسجيل layla1");
	GETS(l, "مرحبا @layla1!");
	TEXT(l, "تابع karim1");
	GETS(l, "أنت تتابع @karim1");

	/* A long Arabic MO in UDH parts, last part first. */
	TEXT_OPTS(k, arabic_post, "--concat udh --reverse");
	snprintf(want, sizeof(want), "@karim1: %s\n", arabic_post);
	GETS(l, want);
	/* ... which leaves as a long fan-out in UDH parts, UCS-2. */
	parts_of(l, arabic_post, &n, &coding, &esm);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(coding, 8);
	ck_assert_int_eq(esm & 0x40, 0x40);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'karim1'", 0, NULL), 1);

	/* The same length in SAR parts (another text: not a duplicate). */
	char sar[1024];
	snprintf(sar, sizeof(sar), "%s!", arabic_post);
	TEXT_OPTS(k, sar, "--concat sar --ref 301");
	snprintf(want, sizeof(want), "@karim1: %s\n", sar);
	GETS(l, want);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'karim1'", 0, NULL), 2);

	TEXT(k, "راسل layla1 نلتقي غدا");
	GETS(l, "رسالة من @karim1: نلتقي غدا\n");
	TEXT(l, "توقف");
	GETS(l, "لن تصلك رسائل من Pigeon.");
	TEXT(k, "منشور بعد التوقف");
	settle();
	ck_assert_int_eq(count_of(l, "منشور بعد التوقف"), 0);
}
END_TEST

/*
 * An outcome names the claim it is the outcome of (outbox.claim, the
 * claiming transaction's id): a batch whose answer was lost is sent again,
 * and by then the row may have been released, claimed again and handed to
 * a link. Applied to that new claim, the old "released" put the row back
 * in the queue while a link sent it (a duplicate nobody counted), and an
 * old "sent" recorded another send's message ids. The lease's end does
 * not name it: a clock stepped back moves it (pigeon_clock_check), and the
 * claim's outcome still counts. Rolled back: pigeond never sees these rows.
 */
START_TEST(test_outcome_names_its_claim)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts, "
	    "lease_until, claim) VALUES (910000011, '+212662100011', 'probe', 'sending', "
	    "'probe', 1, now() + interval '2 minutes', 42)");
	/* Outcomes of an older claim of the row (41). */
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes(jsonb_build_array("
	    "jsonb_build_object('id', 910000011, 'link', 'probe', 'outcome', 'released', "
	    "'claim', '41'), "
	    "jsonb_build_object('id', 910000011, 'link', 'probe', 'outcome', 'failed', "
	    "'error', 'x', 'temporary', true, 'claim', '41'), "
	    "jsonb_build_object('id', 910000011, 'link', 'probe', 'outcome', 'sent', "
	    "'parts', 1, 'ids', jsonb_build_array('99'), 'report', true, "
	    "'claim', '41')), 5, 60, 86400)", 0, NULL));
	char *after_stale = h_db_value(g.db, "SELECT state || ' ' || attempts || ' ' || "
	    "(SELECT count(*) FROM outbox_parts WHERE outbox_id = 910000011) "
	    "FROM outbox WHERE id = 910000011", 0, NULL);
	/* The clock stepped back: the lease is brought back to it. */
	h_db_exec(g.db, "UPDATE outbox SET lease_until = now() + interval '1 minute' "
	    "WHERE id = 910000011");
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes(jsonb_build_array("
	    "jsonb_build_object('id', 910000011, 'link', 'probe', 'outcome', 'sent', "
	    "'parts', 1, 'ids', jsonb_build_array('98'), 'report', true, "
	    "'claim', '42')), 5, 60, 86400)", 0, NULL));
	char *after = h_db_value(g.db, "SELECT state || ' ' || (SELECT string_agg("
	    "message_id, ',') FROM outbox_parts WHERE outbox_id = 910000011) "
	    "FROM outbox WHERE id = 910000011", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(after_stale, "sending 1 0");
	ck_assert_str_eq(after, "sent 98");
	free(after_stale);
	free(after);
}
END_TEST

/*
 * A throttled message (its attempt given back: attempts 0) whose clock
 * stepped back an hour: its retry moves back with the step. It was taken
 * for a send timed to a wall-clock moment and waited the hour, and every
 * later message to its phone waited behind it. Rolled back.
 */
START_TEST(test_throttled_clock_back)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, class, attempts, "
	    "created_at, next_attempt_at, last_error) VALUES (910000021, '+212662100021', "
	    "'throttled before the step', 0, 0, now() + interval '1 hour' - interval '10 s', "
	    "now() + interval '1 hour' + interval '1 s', 'throttled by carrier: x')");
	h_db_exec(g.db, "UPDATE clock_high_water SET seen_at = now() + interval '1 hour'");
	free(h_db_value(g.db, "SELECT pigeon_clock_check(60)", 0, NULL));
	long due = h_db_long(g.db, "SELECT count(*) FROM outbox WHERE id = 910000021 "
	    "AND next_attempt_at <= now() + interval '5 s'", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_int_eq(due, 1);
}
END_TEST

/*
 * A copy of one part of a long SMS, come after the message was joined and
 * past the dedupe window (an SMSC delivering it again after a crash more
 * than 15 minutes on), goes with that message when the parts' wait runs
 * out: before, it was joined alone and applied, the tail of a DM posted
 * to every follower. Rolled back: pigeond never sees these rows.
 */
START_TEST(test_late_copy_of_a_part)
{
	h_db_exec(g.db, "BEGIN");
	char *mid = h_db_value(g.db, "INSERT INTO inbox_messages (modem, sender, "
	    "sender_kind, text, parts, state) VALUES ('carrier', '+212661100091', 'e164', "
	    "'D bob the code for the door is 4711, do not tell anyone', 2, 'done') "
	    "RETURNING id", 0, NULL);
	const char *mp[] = { mid };
	free(h_db_value(g.db, "INSERT INTO inbox_parts (dedupe, modem, sender, sender_norm, "
	    "sender_kind, coding, text, concat_ref, concat_total, concat_seq, received_at, "
	    "message_id) VALUES "
	    "('late-1', 'carrier', '+212661100091', '+212661100091', 'e164', 'gsm', "
	    "'D bob the code for the door is ', 9, 2, 1, now() - interval '40 minutes', $1), "
	    "('late-2', 'carrier', '+212661100091', '+212661100091', 'e164', 'gsm', "
	    "'4711, do not tell anyone', 9, 2, 2, now() - interval '40 minutes', $1), "
	    "('late-2-again', 'carrier', '+212661100091', '+212661100091', 'e164', 'gsm', "
	    "'4711, do not tell anyone', 9, 2, 2, now() - interval '20 minutes', NULL) "
	    "RETURNING 1", 1, mp));
	/* And a second part whose first never came (or came more than the
	 * wait before it and was applied alone): kept, not applied. */
	free(h_db_value(g.db, "INSERT INTO inbox_parts (dedupe, modem, sender, sender_norm, "
	    "sender_kind, coding, text, concat_ref, concat_total, concat_seq, received_at) "
	    "VALUES ('lone-2', 'carrier', '+212661100091', '+212661100091', 'e164', 'gsm', "
	    "'0000, and the alarm is off', 10, 2, 2, now() - interval '20 minutes') "
	    "RETURNING 1", 0, NULL));
	free(h_db_value(g.db, "SELECT pigeon_inbox_expire(600)", 0, NULL));
	long messages = h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE sender = '+212661100091'", 0, NULL);
	long with_it = h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE dedupe = 'late-2-again' AND message_id = $1::bigint", 1, mp);
	char *lone = h_db_value(g.db, "SELECT state || ': ' || result FROM inbox_messages "
	    "WHERE sender = '+212661100091' AND text = '0000, and the alarm is off'", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_int_eq(messages, 2);
	ck_assert_int_eq(with_it, 1);
	ck_assert_str_eq(lone, "ignored: parts of a long SMS without its first (1 of 2 "
	    "came): not applied");
	free(lone);
	free(mid);
}
END_TEST

/*
 * A claim from a fan-out alone is one statement: its class takes the
 * reserves of the classes that have nothing due (each statement on outbox
 * costs its planning and its triggers; a bind claims hundreds of times a
 * second). With replies due too, the fan-out still has its quarter. The
 * statements are counted by PostgreSQL (the state trigger's calls in the
 * transaction, rolled back); the probe rows are due a day ago, ahead of
 * anything the gateway queues meanwhile, and what it left queued is not
 * due in the transaction.
 */
/* Calls of outbox's state trigger (one a statement) in this transaction. */
static long
trigger_calls(void)
{
	return h_db_long(g.db, "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
	    "WHERE funcname = 'pigeon_outbox_states_changed'", 0, NULL);
}

START_TEST(test_claim_by_class)
{
	char *split;
	long taken, statements;

	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "SET LOCAL track_functions = 'pl'");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, class, next_attempt_at) "
	    "SELECT 900000000 + i, '+2126630' || lpad(i::text, 5, '0'), 'probe', 2, "
	    "now() - interval '1 day' FROM generate_series(1, 400) i");
	/* What the gateway left queued waits an hour, in this transaction. */
	h_db_exec(g.db, "UPDATE outbox SET next_attempt_at = now() + interval '1 hour' "
	    "WHERE state = 'queued' AND id < 900000000");
	statements = -trigger_calls();
	taken = h_db_long(g.db, "SELECT count(*) FROM pigeon_outbox_claim('probe', 200, 60) "
	    "WHERE id >= 900000000", 0, NULL);
	statements += trigger_calls();
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, class, next_attempt_at) "
	    "SELECT 900001000 + i, '+2126631' || lpad(i::text, 5, '0'), 'probe', 0, "
	    "now() - interval '1 day' FROM generate_series(1, 300) i");
	split = h_db_value(g.db, "SELECT count(*) FILTER (WHERE class = 0) || ',' || "
	    "count(*) FILTER (WHERE class = 2) FROM pigeon_outbox_claim('probe', 200, 60) "
	    "WHERE id >= 900000000", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_int_eq(taken, 200);
	ck_assert_msg(statements == 1, "a fan-out's claim of 200 took %ld statements "
	    "on outbox (one expected)", statements);
	ck_assert_msg(split != NULL && strcmp(split, "150,50") == 0,
	    "replies and fan-out claimed %s (150,50 expected: the fan-out keeps "
	    "its quarter)", split ? split : "nothing");
	free(split);
}
END_TEST

/*
 * A post's fan-out in chunks of fanout_chunk followers (here 2, in this
 * transaction): the post's own transaction makes the first chunk and
 * leaves the rest to pigeon_fanout_step, a chunk a call. A follower who
 * says STOP before their chunk is made gets nothing; each of the others
 * gets one copy, and nothing is left to do at the end. A post deleted
 * after its first chunk gets no more copies. Rolled back.
 */
START_TEST(test_fanout_in_chunks)
{
	char *post;
	long first, left, steps, copies, stopped, cancelled, after_delete;

	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "UPDATE settings SET value = '2' WHERE key = 'fanout_chunk'");
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang) SELECT '+2126640000' || i, "
	    "'chunky' || i, 'en' FROM generate_series(0, 5) i");
	h_db_exec(g.db, "INSERT INTO follows (followee, follower) SELECT a.id, f.id "
	    "FROM accounts a, accounts f WHERE a.handle = 'chunky0' "
	    "AND f.handle IN ('chunky1', 'chunky2', 'chunky3', 'chunky4', 'chunky5')");
	post = h_db_value(g.db, "SELECT pigeon_post(id, 'in chunks', NULL, false) "
	    "FROM accounts WHERE handle = 'chunky0'", 0, NULL);
	ck_assert(post != NULL);
	const char *params[] = { post };
	first = h_db_long(g.db, "SELECT count(*) FROM outbox WHERE post_id = $1::bigint",
	    1, params);
	left = h_db_long(g.db, "SELECT count(*) FROM fanouts WHERE post_id = $1::bigint",
	    1, params);
	h_db_exec(g.db, "INSERT INTO optouts (phone) VALUES ('+21266400005')");
	steps = h_db_long(g.db, "SELECT count(*) FROM generate_series(1, 10) "
	    "WHERE pigeon_fanout_step()", 0, NULL);
	copies = h_db_long(g.db, "SELECT count(DISTINCT recipient) FROM outbox "
	    "WHERE post_id = $1::bigint", 1, params);
	stopped = h_db_long(g.db, "SELECT count(*) FROM outbox WHERE post_id = $1::bigint "
	    "AND recipient = '+21266400005'", 1, params);
	left += 10 * h_db_long(g.db, "SELECT count(*) FROM fanouts", 0, NULL);
	/* A post deleted after its first chunk: no more copies are made. */
	free(post);
	post = h_db_value(g.db, "SELECT pigeon_post(id, 'deleted in chunks', NULL, false) "
	    "FROM accounts WHERE handle = 'chunky0'", 0, NULL);
	ck_assert(post != NULL);
	params[0] = post;
	h_db_exec(g.db, "UPDATE posts SET deleted_at = now() WHERE text = 'deleted in chunks'");
	cancelled = h_db_long(g.db, "SELECT pigeon_outbox_cancel_post($1::bigint, "
	    "'post deleted')", 1, params);
	h_db_long(g.db, "SELECT count(*) FROM generate_series(1, 10) "
	    "WHERE pigeon_fanout_step()", 0, NULL);
	after_delete = h_db_long(g.db, "SELECT count(*) FROM outbox "
	    "WHERE post_id = $1::bigint", 1, params);
	h_db_exec(g.db, "ROLLBACK");
	free(post);
	ck_assert_int_eq(cancelled, 2);
	ck_assert_int_eq(after_delete, 2);	/* the first chunk's, cancelled */
	ck_assert_int_eq(first, 2);
	ck_assert_int_eq(steps, 2);	/* followers 3-4, then 5 (the last) */
	ck_assert_int_eq(copies, 4);
	ck_assert_int_eq(stopped, 0);
	ck_assert_int_eq(left, 1);	/* one left after the post, none at the end */
}
END_TEST

/*
 * Two posts of one author while the first is still being fanned out, in
 * chunks of 2: the second's copies wait for the first's fan-out to end,
 * so that each follower gets the first post before the second (the
 * scheduler sends one phone's copies in id order). Made at once, the
 * second's first chunk would reach the followers of the first's later
 * chunks before the first did. Rolled back.
 */
START_TEST(test_fanout_in_post_order)
{
	long waiting, before, copies, reversed;

	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "UPDATE settings SET value = '2' WHERE key = 'fanout_chunk'");
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang) SELECT '+2126640100' || i, "
	    "'ordered' || i, 'en' FROM generate_series(0, 5) i");
	h_db_exec(g.db, "INSERT INTO follows (followee, follower) SELECT a.id, f.id "
	    "FROM accounts a, accounts f WHERE a.handle = 'ordered0' "
	    "AND f.handle LIKE 'ordered_' AND f.handle <> 'ordered0'");
	h_db_exec(g.db, "SELECT pigeon_post(id, 'first of two', NULL, false) "
	    "FROM accounts WHERE handle = 'ordered0'");
	/* A follower of the first chunk unfollows: made at once, the second
	 * post's first chunk would reach ordered3 before the first's second
	 * chunk. */
	h_db_exec(g.db, "DELETE FROM follows WHERE follower = (SELECT id FROM accounts "
	    "WHERE handle = 'ordered1')");
	h_db_exec(g.db, "SELECT pigeon_post(id, 'second of two', NULL, false) "
	    "FROM accounts WHERE handle = 'ordered0'");
	waiting = h_db_long(g.db, "SELECT count(*) FROM outbox o JOIN posts p "
	    "ON p.id = o.post_id WHERE p.text = 'second of two'", 0, NULL);
	before = h_db_long(g.db, "SELECT count(*) FROM fanouts", 0, NULL);
	h_db_long(g.db, "SELECT count(*) FROM generate_series(1, 20) "
	    "WHERE pigeon_fanout_step()", 0, NULL);
	copies = h_db_long(g.db, "SELECT count(*) FROM outbox o JOIN posts p "
	    "ON p.id = o.post_id WHERE p.text IN ('first of two', 'second of two')",
	    0, NULL);
	reversed = h_db_long(g.db, "SELECT count(*) FROM outbox a JOIN outbox b "
	    "ON b.recipient = a.recipient JOIN posts pa ON pa.id = a.post_id "
	    "JOIN posts pb ON pb.id = b.post_id WHERE pa.text = 'first of two' "
	    "AND pb.text = 'second of two' AND b.id < a.id", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_int_eq(waiting, 0);	/* nothing made while the first fans out */
	ck_assert_int_eq(before, 2);
	ck_assert_int_eq(copies, 5 + 4);	/* ordered1 left before the second */
	ck_assert_int_eq(reversed, 0);
}
END_TEST

/*
 * A claim of a post's 1,500 copies from an outbox whose statistics were
 * taken while it held no open row (a vacuum of the idle queue): the claim
 * analyzes the table first, so that its per-phone check is planned for
 * the rows there are (planned for none, it read every open row for each
 * row claimed: over a minute a claim at 20,000). The next claim, planned
 * with statistics in which classes 0 and 1 have no row, reads the outbox
 * by its indexes only (its probes of those classes were planned as whole
 * scans of the table, two a claim). Rolled back (the table's estimates
 * stay, as any analysis's).
 */
START_TEST(test_claim_restats_outbox)
{
	long before, claimed, after, scans;

	h_db_exec(g.db, "VACUUM outbox");
	h_db_exec(g.db, "BEGIN");
	before = h_db_long(g.db, "SELECT reltuples::bigint FROM pg_class "
	    "WHERE oid = 'outbox_recipient_open'::regclass", 0, NULL);
	h_db_exec(g.db, "UPDATE settings SET value = '5000' WHERE key = 'fanout_chunk'");
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang) SELECT "
	    "'+2126650' || lpad(i::text, 5, '0'), 'many' || i, 'en' "
	    "FROM generate_series(0, 1500) i");
	h_db_exec(g.db, "INSERT INTO follows (followee, follower) SELECT a.id, f.id "
	    "FROM accounts a, accounts f WHERE a.handle = 'many0' "
	    "AND f.handle LIKE 'many%' AND f.handle <> 'many0'");
	h_db_exec(g.db, "SELECT pigeon_post(id, 'to many', NULL, false) "
	    "FROM accounts WHERE handle = 'many0'");
	claimed = h_db_long(g.db, "SELECT count(*) FROM pigeon_outbox_claim('restat', "
	    "300, 60, ARRAY['nowhere'])", 0, NULL);
	after = h_db_long(g.db, "SELECT reltuples::bigint FROM pg_class "
	    "WHERE oid = 'outbox_recipient_open'::regclass", 0, NULL);
	scans = h_db_long(g.db, "SELECT pg_stat_get_xact_numscans('outbox'::regclass)",
	    0, NULL);
	claimed += h_db_long(g.db, "SELECT count(*) FROM pigeon_outbox_claim('restat', "
	    "300, 60, ARRAY['nowhere'])", 0, NULL);
	scans = h_db_long(g.db, "SELECT pg_stat_get_xact_numscans('outbox'::regclass)",
	    0, NULL) - scans;
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_msg(before >= 0 && before < 50, "%ld open rows counted before",
	    before);
	ck_assert_int_eq(claimed, 600);
	ck_assert_msg(after >= 1500, "analyzed: %ld open rows counted", after);
	ck_assert_msg(scans == 0, "the second claim scanned the outbox %ld times",
	    scans);
}
END_TEST

/* A long GSM-7 reply in UDH parts (HELP is two SMS on a modem). */
START_TEST(test_long_reply)
{
	const char *h = "+212661100009";
	char post[170];
	int n, coding, esm;

	TEXT(h, "JOIN hana1");
	GETS(h, "@hana1");
	/* 160 characters arrive as one post; "@hana1: " + it needs 2 parts. */
	for (int i = 0; i < 160; i++)
		post[i] = "klmnopqrst"[i % 10];
	post[160] = '\0';
	const char *iv = "+212661100010";
	TEXT(iv, "JOIN ivan1");
	GETS(iv, "@ivan1");
	TEXT(iv, "FOLLOW hana1");
	GETS(iv, "You now follow @hana1");
	TEXT(h, post);
	GETS(iv, post);
	parts_of(iv, post, &n, &coding, &esm);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(coding, 0);
	ck_assert_int_eq(esm & 0x40, 0x40);
}
END_TEST

struct counters {
	long long submitted, mo;
};

/* The carrier's submitted and mo counters have passed those given. */
static int
counters_moved(void *arg)
{
	struct counters *c = arg;
	int moved = carrier_counter("submitted") > c->submitted &&
	    carrier_counter("mo") > c->mo;

	if (!moved)
		h_sleep_ms(100);
	return moved;
}

/* Two health polls of one worker: its submits a second are shown. */
static int
bind_rate_shown(void *arg)
{
	(void)arg;
	if (carrier_counter("submits_per_second") >= 0)
		return 1;
	h_sleep_ms(100);
	return 0;
}

START_TEST(test_operator_view)
{
	char *body = NULL;
	json_t *all, *m, *carrier = NULL;
	size_t i;
	struct counters before = { carrier_counter("submitted"), carrier_counter("mo") };

	/* Some traffic, so that the worker's counters move: one SMS in (the
	 * JOIN), one out (its answer). */
	TEXT("+212661100011", "JOIN jamal1");
	GETS("+212661100011", "@jamal1");
	/* health_seconds = 1: a poll carries the counters to /api/modems. */
	ck_assert_msg(h_wait_for(counters_moved, &before, 20000) == 0,
	    "the carrier's counters did not move past submitted %lld, mo %lld: "
	    "submitted %lld, mo %lld", before.submitted, before.mo,
	    carrier_counter("submitted"), carrier_counter("mo"));
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body), 200);
	all = json_loads(body, 0, NULL);
	ck_assert_msg(all != NULL, "%s", body);
	json_array_foreach(json_object_get(all, "modems"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "name")), "carrier") == 0)
			carrier = m;
	ck_assert_msg(carrier != NULL, "no carrier in /api/modems: %s", body);
	ck_assert_str_eq(json_string_value(json_object_get(carrier, "state")), "online");
	ck_assert_str_eq(json_string_value(json_object_get(carrier, "kind")), "smpp");
	ck_assert_int_eq(json_integer_value(json_object_get(carrier, "window")), 10);
	ck_assert(json_is_integer(json_object_get(carrier, "in_flight")));
	ck_assert_msg(json_integer_value(json_object_get(carrier, "submitted")) >= 1,
	    "no submitted counter: %s", body);
	ck_assert(json_is_integer(json_object_get(carrier, "throttled")));
	ck_assert(json_is_integer(json_object_get(carrier, "reconnects")));
	/* (A real number, dropped by pigeond; a boolean, too.) */
	ck_assert_msg(json_is_integer(json_object_get(carrier, "rate")), "no rate: %s", body);
	ck_assert_msg(json_is_true(json_object_get(carrier, "bound")), "not bound: %s", body);
	ck_assert_msg(json_integer_value(json_object_get(carrier, "mo")) >= 1,
	    "no mo counter: %s", body);
	/* in_flight is pigeond's own count, live; the worker's poll says
	 * what the SMSC has not answered, under a name of its own (it
	 * stood for in_flight, as of the poll, up to a minute old). */
	ck_assert_msg(json_is_integer(json_object_get(carrier, "submits_unanswered")),
	    "no submits_unanswered: %s", body);
	ck_assert_msg(json_integer_value(json_object_get(carrier, "in_flight")) <=
	    json_integer_value(json_object_get(carrier, "unsettled")), "%s", body);
	json_decref(all);
	free(body);
	ck_assert_msg(h_wait_for(bind_rate_shown, NULL, 20000) == 0,
	    "no submits_per_second after two polls");
	/* pigeonctl modems: the bind's second line. */
	char *out = NULL;
	ck_assert_int_eq(h_pigeonctl(&g, &out, "modems"), 0);
	ck_assert_msg(strstr(out, "window 10, in flight ") != NULL &&
	    strstr(out, " submits/s, unanswered ") != NULL &&
	    strstr(out, ", reconnects ") != NULL, "%s", out);
	free(out);

	/* Throttles and sends that may have gone twice are counters of their
	 * own, not drops (an alert on drops fired on throttles). */
	free(h_db_value(g.db, "SELECT pigeon_count('link_throttled', 3), "
	    "pigeon_count('maybe_duplicated', 2)", 0, NULL));
	char want[2][96];
	snprintf(want[0], sizeof(want[0]), "\npigeon_link_throttled_total %ld\n",
	    h_db_long(g.db, "SELECT value FROM counters WHERE name = 'link_throttled'", 0,
	    NULL));
	snprintf(want[1], sizeof(want[1]), "\npigeon_maybe_duplicated_total %ld\n",
	    h_db_long(g.db, "SELECT value FROM counters WHERE name = 'maybe_duplicated'", 0,
	    NULL));
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_msg(strstr(body, want[0]) != NULL, "%s", body);
	ck_assert_msg(strstr(body, want[1]) != NULL, "%s", body);
	ck_assert_msg(strstr(body, "reason=\"link_throttled\"") == NULL, "%s", body);
	ck_assert_msg(strstr(body, "pigeon_modem_up{modem=\"carrier\"} 1") != NULL,
	    "%s", body);
	ck_assert_msg(strstr(body, "pigeon_modem_sms_sent_total{modem=\"carrier\"}") != NULL,
	    "%s", body);
	/* The bind's window in use and its worker's figures. */
	ck_assert_msg(strstr(body, "\npigeon_link_window{modem=\"carrier\"} 10\n") != NULL &&
	    strstr(body, "\npigeon_link_in_flight{modem=\"carrier\"} ") != NULL &&
	    strstr(body, "\npigeon_bind_submits_per_second{modem=\"carrier\"} ") != NULL &&
	    strstr(body, "\npigeon_bind_submitted_total{modem=\"carrier\"} ") != NULL &&
	    strstr(body, "\npigeon_bind_throttled_total{modem=\"carrier\"} ") != NULL &&
	    strstr(body, "\npigeon_bind_reconnects_total{modem=\"carrier\"} ") != NULL,
	    "%s", body);
	free(body);
}
END_TEST

/* The last submit_sm record to `to` (a new reference), or NULL. */
static json_t *
last_submit(const char *to)
{
	json_t *subs = h_smsc_submits(&smsc), *r, *last = NULL;
	size_t i;

	json_array_foreach(subs, i, r)
		if (strcmp(json_string_value(json_object_get(r, "dest")) ?: "", to + 1) == 0)
			last = r;
	if (last != NULL)
		json_incref(last);
	json_decref(subs);
	return last;
}

/* An API send's flash and validity go to the SMSC (class 0 in data_coding,
 * a relative validity_period): a bind ignored both. */
START_TEST(test_flash_and_validity)
{
	const char *to = "+212661100045", *plain = "+212661100046";
	char *body = NULL, *left;
	json_t *r;

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661100045\",\"text\":\"flash news\",\"flash\":true,"
	    "\"validity\":600}", &body), 202);
	free(body);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661100046\",\"text\":\"\u0623\u062e\u0628\u0627\u0631\","
	    "\"flash\":true}", &body), 202);
	free(body);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient "
	    "IN ('+212661100045', '+212661100046') AND state IN ('sent', 'delivered')",
	    NULL, "2", WAIT_MS), 0);

	r = last_submit(to);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "data_coding")), 0x10);
	/* 600 s from when the SMSC read it (rounded up to whole seconds: the
	 * claim's time left is). */
	const char *params[2] = { json_string_value(json_object_get(r, "validity")),
	    json_string_value(json_object_get(r, "time")) };
	ck_assert_msg(params[0] != NULL && params[0][0] != '\0', "no validity");
	left = h_db_value(g.db, "SELECT round(extract(epoch FROM $1::timestamptz - "
	    "$2::timestamptz) / 10) * 10", 2, params);
	ck_assert_str_eq(left, "600");
	free(left);
	json_decref(r);

	/* UCS-2, flash, no validity: class 0 on UCS-2, [pigeon] validity's
	 * day (an API send's default). */
	r = last_submit(plain);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "data_coding")), 0x18);
	params[0] = json_string_value(json_object_get(r, "validity"));
	params[1] = json_string_value(json_object_get(r, "time"));
	left = h_db_value(g.db, "SELECT round(extract(epoch FROM $1::timestamptz - "
	    "$2::timestamptz) / 10) * 10", 2, params);
	ck_assert_str_eq(left, "86400");
	free(left);
	json_decref(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp");
	TCase *tc = tcase_create("smpp");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_english);
	tcase_add_test(tc, test_french);
	tcase_add_test(tc, test_arabic_concatenated);
	tcase_add_test(tc, test_outcome_names_its_claim);
	tcase_add_test(tc, test_throttled_clock_back);
	tcase_add_test(tc, test_late_copy_of_a_part);
	tcase_add_test(tc, test_claim_by_class);
	tcase_add_test(tc, test_fanout_in_chunks);
	tcase_add_test(tc, test_fanout_in_post_order);
	tcase_add_test(tc, test_claim_restats_outbox);
	tcase_add_test(tc, test_long_reply);
	tcase_add_test(tc, test_operator_view);
	tcase_add_test(tc, test_flash_and_validity);
	suite_add_tcase(s, tc);
	return h_main(s);
}
