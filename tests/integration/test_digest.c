/*
 * Issue 17, item 4: TRACK word DIGEST [hour], end to end. Phones text
 * simulated modems; a real pigeond and PostgreSQL apply the commands; the
 * test asserts what each phone receives. The database runs on a cluster
 * of its own under libfaketime (as test_rel_clock.c), so that the test
 * moves PostgreSQL's now() to the digest hour: the digest's hour, its day
 * and the posts it counts all follow the database's clock. A second
 * pigeond (no modems) shares the database: two hosts run the job.
 *
 * A watcher digests two words at the hour two hours ahead; five posts
 * with them arrive (one by the watcher, not counted) and none comes to
 * the watcher; the clock moves two hours on and exactly one SMS comes,
 * with the count and the three posts of the most-followed authors, in
 * one SMS; a watcher whose word had no post gets nothing. pigeond
 * restarts and the digest is made due again (as if the job's advance had
 * been lost, or a second host ran it): still one SMS. A new hour chosen
 * the same day, with a new post, sends no second digest that day (the
 * key on member and day). TRACK word alone brings the word back post by
 * post.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS		60000
#define NMODEMS		2
#define EXTRA		"timezone = UTC\nlimit_minute = 30\n"

/* g has the modems; g2 is a second host on the same database without
 * modems: both run the digest job, only g sends. */
static struct h_gateway g, g2;
static struct h_clock clk;	/* the database's clock */

#define TEXT(m, from, text) ck_assert_int_eq(h_text(&g, (m), (from), (text)), 0)
#define GETS(to, needle) ck_assert_msg(h_wait_received(&g, (to), (needle), WAIT_MS) == 0, \
	"%s never received \"%s\"; got:\n%s", (to), (needle), h_received(&g, (to)))

static void
setup(void)
{
	char *out = h_clock_cluster_start(&clk, "digest", 0);

	memset(&g, 0, sizeof(g));
	g.extra_config = EXTRA;
	h_gateway_start_on(&g, "digest", NMODEMS, out);
	memset(&g2, 0, sizeof(g2));
	g2.extra_config = EXTRA;
	g2.modem_prefix = "b";
	h_gateway_start_on(&g2, "digest_b", 0, out);
	free(out);
}

static void
teardown(void)
{
	if (g2.dir)
		h_gateway_stop(&g2);
	if (g.dir)
		h_gateway_stop(&g);
	h_clock_cluster_destroy(&clk);
}

static void
settle(void)
{
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
}

static long
digests_to(const char *phone)
{
	const char *params[] = { phone };
	return h_db_long(g.db, "SELECT count(*) FROM outbox WHERE reply_key = 'digest' "
	    "AND recipient = $1", 1, params);
}

#define LONG_POST "Couscous ce soir chez moi, venez nombreux avec vos amis et vos " \
	"familles, il y aura aussi du the a la menthe et des cornes de gazelle"

START_TEST(test_digest_daily)
{
	const char *alice = "+212661700001", *bob = "+212661700002",
	    *carol = "+212661700003", *dan = "+212661700004",
	    *eve = "+212661700005", *gus = "+212661700006",
	    *hal = "+212661700007";
	char cmd[80], want[160], step[16];
	/* The digest hour: two hours ahead of the database's clock (UTC), or
	 * three when that is 23:00, so that the hour after it (a change of
	 * hour, below) falls on the same day. */
	long h2 = h_db_long(g.db, "SELECT extract(hour FROM now() AT TIME ZONE 'UTC' "
	    "+ interval '2 hours')::int", 0, NULL);
	long lead = h2 == 23 ? 3 : 2, hour = (h2 + lead - 2) % 24;

	h_join(&g, 0, alice, "alice9", WAIT_MS);
	h_join(&g, 1, bob, "bob9", WAIT_MS);
	h_join(&g, 0, carol, "carol9", WAIT_MS);
	h_join(&g, 1, dan, "dan9", WAIT_MS);
	h_join(&g, 0, eve, "eve9", WAIT_MS);
	h_join(&g, 1, gus, "gus9", WAIT_MS);
	h_join(&g, 0, hal, "hal9", WAIT_MS);
	/* Followers make the top: alice 2, bob 1, carol none. */
	TEXT(0, eve, "FOLLOW alice9");
	GETS(eve, "You now follow @alice9");
	TEXT(0, eve, "FOLLOW bob9");
	GETS(eve, "You now follow @bob9");
	TEXT(1, gus, "FOLLOW alice9");
	GETS(gus, "You now follow @alice9");

	snprintf(cmd, sizeof(cmd), "TRACK couscous DIGEST %ldh", hour);
	TEXT(1, dan, cmd);
	snprintf(want, sizeof(want), "Daily SMS at %ld:00: count and top 3 of posts "
	    "with couscous", hour);
	GETS(dan, want);
	/* French, no hour: the member's hour stays. */
	TEXT(1, dan, "surveiller tajine résumé");
	snprintf(want, sizeof(want), "Daily SMS at %ld:00: count and top 3 of posts "
	    "with tajine", hour);
	GETS(dan, want);
	snprintf(cmd, sizeof(cmd), "تتبع zzwordnobodyuses ملخص %ld", hour);
	TEXT(0, hal, cmd);
	GETS(hal, "zzwordnobodyuses");
	TEXT(1, dan, "TRACKS");
	snprintf(want, sizeof(want), "You track, once a day at %ld:00: couscous, tajine", hour);
	GETS(dan, want);

	h_post(&g, 0, alice, LONG_POST, WAIT_MS);
	h_post(&g, 1, bob, "Le couscous de maman", WAIT_MS);
	h_post(&g, 0, carol, "couscous royal", WAIT_MS);
	h_post(&g, 1, dan, "couscous chez moi", WAIT_MS);	/* the watcher's own: not counted */
	h_post(&g, 0, alice, "tajine ou couscous?", WAIT_MS);
	h_post(&g, 1, bob, "Rien a voir", WAIT_MS);
	GETS(eve, "@alice9: tajine ou couscous?");
	GETS(gus, "@alice9: tajine ou couscous?");
	settle();
	/* A digested word sends nothing post by post. */
	ck_assert_int_eq(h_received_matching(&g, dan, "@alice9"), 0);
	ck_assert_int_eq(h_received_matching(&g, dan, "@bob9"), 0);
	ck_assert_int_eq(h_received_matching(&g, dan, "@carol9"), 0);
	ck_assert_int_eq(digests_to(dan), 0);

	/* The digest hour comes: one SMS, the count and the top 3. */
	snprintf(step, sizeof(step), "+%ldh", lead);
	h_clock_set(&clk, step);
	GETS(dan, "Digest couscous, tajine, posts: 4. @alice9: tajine ou couscous? / "
	    "@alice9: Couscous ce soir chez moi, venez");
	GETS(dan, "venez nombreux avec vos... / @bob9: Le couscous de maman");
	ck_assert_int_eq(h_wait_db(&g, "SELECT result FROM track_digests d JOIN accounts a "
	    "ON a.id = d.account_id WHERE a.handle = $1", "hal9", "no posts", WAIT_MS), 0);
	settle();
	ck_assert_int_eq(h_received_matching(&g, dan, "Digest"), 1);
	ck_assert_int_eq(h_received_matching(&g, dan, "@carol9"), 0);
	ck_assert_int_eq(digests_to(dan), 1);
	{
		const char *params[] = { dan };
		char *parts = h_db_value(g.db, "SELECT parts::text FROM outbox WHERE "
		    "reply_key = 'digest' AND recipient = $1", 1, params);
		ck_assert_str_eq(parts, "1");
		free(parts);
	}
	/* No post, no digest. */
	ck_assert_int_eq(digests_to(hal), 0);
	ck_assert_int_eq(h_received_matching(&g, hal, "Digest"), 0);

	/* A restart, and the digest due again as if its advance were lost
	 * (or a second host ran it late): the day's key holds. */
	h_gateway_restart(&g, EXTRA);
	h_db_long(g.db, "WITH u AS (UPDATE accounts SET digest_at = now() - interval "
	    "'1 minute' WHERE handle IN ('dan9', 'hal9') RETURNING 1) SELECT count(*) "
	    "FROM u", 0, NULL);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM accounts WHERE handle IN "
	    "('dan9', 'hal9') AND digest_at > now()", NULL, "2", WAIT_MS), 0);
	settle();
	ck_assert_int_eq(h_received_matching(&g, dan, "Digest"), 1);
	ck_assert_int_eq(digests_to(dan), 1);
	ck_assert_int_eq(digests_to(hal), 0);

	/* A new hour the same day, a new post, and that hour comes: today's
	 * digest went already, so none. */
	snprintf(cmd, sizeof(cmd), "TRACK couscous DIGEST %ld", hour + 1);
	TEXT(1, dan, cmd);
	snprintf(want, sizeof(want), "Daily SMS at %ld:00: count and top 3 of posts "
	    "with couscous", hour + 1);
	GETS(dan, want);
	h_post(&g, 0, alice, "couscous encore", WAIT_MS);
	snprintf(step, sizeof(step), "+%ldh", lead + 1);
	h_clock_set(&clk, step);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM accounts WHERE handle = $1 "
	    "AND digest_at > now()", "dan9", "1", WAIT_MS), 0);
	settle();
	ck_assert_int_eq(h_received_matching(&g, dan, "Digest"), 1);
	ck_assert_int_eq(h_received_matching(&g, dan, "couscous encore"), 0);
	ck_assert_int_eq(digests_to(dan), 1);

	/* TRACK word alone: post by post again. */
	TEXT(1, dan, "TRACK tajine");
	GETS(dan, "You will get every post with tajine.");
	TEXT(1, dan, "TRACKS");
	snprintf(want, sizeof(want), "You track: tajine. Once a day at %ld:00: couscous",
	    hour + 1);
	GETS(dan, want);
	h_post(&g, 0, carol, "tajine express", WAIT_MS);
	GETS(dan, "@carol9: tajine express");

	/* The layout when the SMS needs UCS-2 (Arabic, or French with ê):
	 * 70 characters, the three authors always named. */
	{
		char *ar = h_db_value(g.db, "SELECT pigeon_digest_text('ar', 'كسكس', 4, "
		    "ARRAY['alice9', 'bob9', 'carol9'], ARRAY['كسكس اليوم في البيت مع "
		    "العائلة', 'أحب الكسكس', 'كسكس بالخضر'])", 0, NULL);
		char *fr = h_db_value(g.db, "SELECT pigeon_digest_text('fr', 'été', 2, "
		    "ARRAY['alice9', 'bob9'], ARRAY['La fête de l''été à Rabat, venez "
		    "tous avec vos amis ce soir', 'Plage!'])", 0, NULL);
		const char *params[] = { ar };
		ck_assert_int_eq(h_db_long(g.db, "SELECT length($1)", 1, params), 70);
		ck_assert_ptr_nonnull(strstr(ar, "ملخص كسكس، المنشورات: 4. @alice9: "));
		ck_assert_ptr_nonnull(strstr(ar, " / @bob9: "));
		ck_assert_ptr_nonnull(strstr(ar, " / @carol9: "));
		params[0] = fr;
		ck_assert_int_le(h_db_long(g.db, "SELECT length($1)", 1, params), 70);
		ck_assert_str_eq(fr, "Résumé été, messages : 2. @alice9: La fête de l'été "
		    "à… / @bob9: Plage!");
		free(ar);
		free(fr);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("digest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_digest_daily);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
