/*
 * pigeond killed (SIGKILL) after SMS were committed to the inbox and before
 * the modem deleted them: after a restart every SMS is posted exactly once.
 *
 * The window is held open reliably by the simulator's delete-error fault:
 * deletions fail, so the SMS stay on the modem after their commit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define ALICE	"+212661000001"
#define BOB	"+212661000002"
#define NPOSTS	6
#define WAIT_MS	60000

static struct h_gateway g;

static int
fault(int modem, const char *name, const char *value)
{
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "fault", g.sim_dir[modem],
	    (char *)name, (char *)value, NULL };
	return h_exec(NULL, argv);
}

struct count_arg {
	const char *sql;
	long want;
};

static int
db_count_is(void *p)
{
	struct count_arg *a = p;
	return h_db_long(g.db, a->sql, 0, NULL) == a->want;
}

static int
stored_is_zero(void *p)
{
	return h_stored_count(&g, *(int *)p) == 0;
}

START_TEST(test_kill_between_commit_and_delete)
{
	char text[64];
	int modem0 = 0;

	h_gateway_start(&g, "crash", 2);
	ck_assert_int_eq(h_text(&g, 0, ALICE, "JOIN alice"), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "JOIN bob"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "@bob", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "@alice", WAIT_MS), 0);

	/* Deletions fail from now on: committed SMS stay on modem 0. */
	ck_assert_int_eq(fault(0, "delete-error", "1"), 0);
	for (int i = 1; i <= NPOSTS; i++) {
		snprintf(text, sizeof(text), "post number %d", i);
		ck_assert_int_eq(h_text(&g, 0, ALICE, text), 0);
	}
	struct count_arg posts = { "SELECT count(*) FROM posts", NPOSTS };
	ck_assert_int_eq(h_wait_for(db_count_is, &posts, WAIT_MS), 0);
	/* Committed, yet still on the modem: the window is open. */
	ck_assert_int_eq(h_stored_count(&g, 0), NPOSTS);

	h_stop(g.pigeond, SIGKILL, 1000);
	ck_assert_int_eq(fault(0, "delete-error", "0"), 0);
	h_pigeond_start(&g);

	/* The new workers re-read every SMS; the inbox drops them; they go. */
	ck_assert_int_eq(h_wait_for(stored_is_zero, &modem0, WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), NPOSTS);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(DISTINCT text) FROM posts", 0, NULL), NPOSTS);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM inbox_parts WHERE text LIKE 'post number %'", 0, NULL),
	    NPOSTS);

	/* Bob gets every post; a send cut by the kill may come twice, no more. */
	for (int i = 1; i <= NPOSTS; i++) {
		snprintf(text, sizeof(text), "@alice: post number %d\n", i);
		ck_assert_int_eq(h_wait_received(&g, BOB, text, WAIT_MS), 0);
	}
	char *got = h_received(&g, BOB);
	int dups = h_received_count(&g, BOB) - (2 + NPOSTS);
	fprintf(stderr, "duplicates after the kill: %d\n", dups);
	ck_assert_int_le(dups, g.nmodems);
	free(got);
	h_gateway_stop(&g);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("inbox");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_kill_between_commit_and_delete);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
