/*
 * The whole path on real parts: phones text two simulated modems, pigeond
 * (with a real PostgreSQL) makes accounts, follows and posts, and the
 * follower's phone receives the post as an SMS.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define ALICE	"+212661000001"
#define BOB	"+212661000002"
#define WAIT_MS	60000

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	h_gateway_start(&g, "skeleton", 2);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

START_TEST(test_post_reaches_follower)
{
	char *got;

	/* English keyword: English replies. */
	ck_assert_int_eq(h_text(&g, 0, ALICE, "JOIN alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "Welcome to Pigeon, @alice!", WAIT_MS), 0);

	/* A French keyword from a national number: French replies to +212... */
	ck_assert_int_eq(h_text(&g, 1, "0661000002", "INSCRIPTION bob"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "Bienvenue sur Pigeon, @bob", WAIT_MS), 0);

	ck_assert_int_eq(h_text(&g, 1, BOB, "FOLLOW @Alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "Vous suivez @alice", WAIT_MS), 0);

	ck_assert_int_eq(h_text(&g, 0, ALICE, "Salam! Premier message depuis mon telephone"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB,
	    "@alice: Salam! Premier message depuis mon telephone", WAIT_MS), 0);

	/* Bob got three SMS: welcome, follow confirmation, the post. */
	got = h_received(&g, BOB);
	ck_assert_int_eq(h_received_count(&g, BOB), 3);
	free(got);
	/* Alice got her welcome only: posts are not acknowledged. */
	ck_assert_int_eq(h_received_count(&g, ALICE), 1);

	/* Every SMS is deleted from the modems once stored: after its
	 * commit, by the worker, while the post may already be on its way
	 * to Bob on the other modem (seen once in CI: still on the SIM). */
	for (int i = 0; i < 2; i++)
		ck_assert_msg(h_wait_stored(&g, i, 0, WAIT_MS) == 0,
		    "modem %d still holds %d SMS", i, h_stored_count(&g, i));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), 1);
}
END_TEST

START_TEST(test_errors_and_strangers)
{
	ck_assert_int_eq(h_text(&g, 0, ALICE, "JOIN alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "@alice", WAIT_MS), 0);

	/* A taken handle, following nobody, leaving, a stranger's post. */
	ck_assert_int_eq(h_text(&g, 1, BOB, "JOIN ALICE"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "Sorry, @alice is taken.", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "hello?"), 0);
	/* A stranger's language is the configured one, French here. */
	ck_assert_int_eq(h_wait_received(&g, BOB,
	    "Pour vous inscrire, envoyez INSCRIPTION", WAIT_MS), 0);

	ck_assert_int_eq(h_text(&g, 0, ALICE, "FOLLOW nobody"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "There is nobody called @nobody", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, ALICE, "LEAVE alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "You were not following @alice.", WAIT_MS), 0);

	/* An operator's promotion is stored and never answered. */
	ck_assert_int_eq(h_text(&g, 0, "Maroc Telecom", "Promo: 10 DH offerts"), 0);
	ck_assert_int_eq(h_text(&g, 0, ALICE, "FOLLOW"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "To follow someone, text FOLLOW", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM inbox_messages WHERE state = 'ignored'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM outbox WHERE recipient !~ '^\\+'", 0, NULL), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("skeleton");
	TCase *tc = tcase_create("path");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_post_reaches_follower);
	tcase_add_test(tc, test_errors_and_strangers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
