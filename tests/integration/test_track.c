/*
 * TRACK, UNTRACK, TRACKS, SEARCH and STATS by SMS (issue 8), end to end:
 * phones text simulated modems, a real pigeond and PostgreSQL apply the
 * commands, and the test asserts what each phone receives. One gateway
 * serves each test case; each step uses its own phones and words. The modems
 * ask for delivery reports and the simulator's SMSC answers at once, so
 * STATS can count deliveries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS	60000
#define NMODEMS	2
#define TOKEN	"track-test-token-0123456789abcdefghij"

static struct h_gateway g;

#define TEXT(m, from, text) ck_assert_int_eq(h_text(&g, (m), (from), (text)), 0)
#define GETS(to, needle) ck_assert_msg(h_wait_received(&g, (to), (needle), WAIT_MS) == 0, \
	"%s never received \"%s\"; got:\n%s", (to), (needle), h_received(&g, (to)))

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = "timezone = UTC\ntrack_max = 3\ntrack_day = 3\n"
	    "limit_minute = 30\n";
	g.http_extra = "token = " TOKEN "\n";
	g.modem_extra[0] = "report = yes\n";
	g.modem_extra[1] = "report = yes\n";
	h_gateway_start(&g, "track", NMODEMS);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

static void
settle(void)
{
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
}

/* Case, accents, hashtags and punctuation fold; a longer word is another
 * word; a follower who tracks a word of the post gets it once. */
START_TEST(test_track_matching)
{
	const char *alice = "+212661100001", *bob = "+212661100002",
	    *carol = "+212661100003";

	h_join(&g, 0, alice, "alice8", WAIT_MS);
	h_join(&g, 1, bob, "bob8", WAIT_MS);
	h_join(&g, 0, carol, "carol8", WAIT_MS);
	TEXT(1, bob, "TRACK couscous");
	GETS(bob, "You will get every post with couscous. UNTRACK stops it.");
	TEXT(0, carol, "FOLLOW alice8");
	GETS(carol, "You now follow @alice8");
	TEXT(0, carol, "surveiller Couscous!");
	GETS(carol, "You will get every post with Couscous.");
	/* The author's own word never comes back to her. */
	TEXT(0, alice, "TRACK couscous");
	GETS(alice, "You will get every post with couscous");
	TEXT(1, bob, "TRACK couscous");
	GETS(bob, "You already track couscous.");

	h_post(&g, 0, alice, "Couscous ce soir chez moi", WAIT_MS);
	h_post(&g, 0, alice, "J'adore le #couscous", WAIT_MS);
	h_post(&g, 0, alice, "COUSCOUS!", WAIT_MS);
	h_post(&g, 0, alice, "Un couscousier neuf", WAIT_MS);
	GETS(bob, "@alice8: Couscous ce soir chez moi");
	GETS(bob, "@alice8: J'adore le #couscous");
	GETS(bob, "@alice8: COUSCOUS!");
	GETS(carol, "@alice8: Un couscousier neuf");
	settle();
	/* Decided rule (docs/commands.md): words match whole. */
	ck_assert_int_eq(h_received_matching(&g, bob, "couscousier"), 0);
	/* The follower who tracks the word: one SMS per post, as follower. */
	ck_assert_int_eq(h_received_matching(&g, carol, "@alice8: Couscous ce soir"), 1);
	ck_assert_int_eq(h_received_matching(&g, carol, "@alice8: J'adore"), 1);
	ck_assert_int_eq(h_received_matching(&g, carol, "@alice8: COUSCOUS!"), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox o JOIN accounts a "
	    "ON a.phone = o.recipient WHERE a.handle = 'carol8' AND o.via = 'follow'",
	    0, NULL), 4);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "recipient = '+212661100002' AND via = 'track'", 0, NULL), 3);
	ck_assert_int_eq(h_received_matching(&g, alice, "@alice8:"), 0);

	/* TRACKS lists; UNTRACK stops. */
	TEXT(1, bob, "TRACKS");
	GETS(bob, "You track: couscous");
	TEXT(1, bob, "UNTRACK #couscous");
	GETS(bob, "You were not tracking #couscous.");
	TEXT(1, bob, "untrack couscous");
	GETS(bob, "You will no longer get posts with couscous.");
	h_post(&g, 0, alice, "couscous again", WAIT_MS);
	GETS(carol, "@alice8: couscous again");
	settle();
	ck_assert_int_eq(h_received_matching(&g, bob, "couscous again"), 0);
	TEXT(1, bob, "TRACKS");
	GETS(bob, "You track no words.");
}
END_TEST

/* Arabic words (the article is part of the word), French accents,
 * #hashtags only when asked, @mentions, STOP and the limit on words. */
START_TEST(test_track_languages)
{
	const char *dan = "+212661100011", *eve = "+212661100012",
	    *fay = "+212661100013", *gus = "+212661100014", *hal = "+212661100015";

	TEXT(0, dan, "تسجيل dan8");
	GETS(dan, "@dan8");
	TEXT(1, eve, "INSCRIPTION eve8");
	GETS(eve, "@eve8");
	h_join(&g, 0, fay, "fay8", WAIT_MS);
	h_join(&g, 1, gus, "gus8", WAIT_MS);
	TEXT(0, dan, "تتبع كسكس");
	GETS(dan, "ستصلك منشورات كسكس");
	/* "at 8 in the evening": this was published as a post. */
	TEXT(0, dan, "تتبع طاجين ملخص على الساعة ٨ مساء");
	GETS(dan, "يصلك يوميا على 20:00 عدد منشورات طاجين");
	TEXT(1, eve, "SURVEILLER ete");
	GETS(eve, "Vous aurez tout message avec ete.");
	TEXT(1, eve, "TRACK #Maroc");
	GETS(eve, "Vous aurez tout message avec #Maroc.");
	TEXT(1, eve, "TRACK @dan8");
	GETS(eve, "Vous aurez tout message avec @dan8.");
	TEXT(1, eve, "TRACK rabat");
	GETS(eve, "Vous surveillez 3 mots, le maximum.");
	TEXT(1, eve, "TRACK x");
	GETS(eve, "Pour recevoir chaque message contenant un mot, envoyez SURVEILLER");
	TEXT(0, gus, "TRACK ete");
	GETS(gus, "You will get every post with ete");
	TEXT(0, gus, "STOP");
	GETS(gus, "You will get no more SMS from Pigeon.");
	/* Tamazight in Tifinagh (migration 0027: its letters were
	 * separators, and TRACK took no word of it). */
	h_join(&g, 0, hal, "hal8", WAIT_MS);
	TEXT(0, hal, "TRACK ⴰⵣⵓⵍ");
	GETS(hal, "You will get every post with ⴰⵣⵓⵍ");
	/* A word of 20 Arabic letters: each reply that names it is one SMS
	 * (UCS-2, 70 characters); they took two. */
	TEXT(0, hal, "TRACK كسكسكسكسكسكسكسكسكسكس");
	GETS(hal, "You will get every post with كسكسكسكسكسكسكسكسكسكس");
	TEXT(0, hal, "TRACK كسكسكسكسكسكسكسكسكسكس DIGEST");
	GETS(hal, "of posts with كسكسكسكسكسكسكسكسكسكس");
	TEXT(0, hal, "UNTRACK كسكسكسكسكسكسكسكسكسكس");
	GETS(hal, "You will no longer get posts with كسكسكسكسكسكسكسكسكسكس");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND text LIKE '%كسكسكسكسكسكسكسكسكسكس%' AND parts = 1", hal, "3", WAIT_MS), 0);

	h_post(&g, 1, fay, "أحب الكسكس المغربي", WAIT_MS);
	h_post(&g, 1, fay, "Quel été à Rabat", WAIT_MS);
	h_post(&g, 1, fay, "Le Maroc gagne", WAIT_MS);
	h_post(&g, 1, fay, "Allez le #Maroc", WAIT_MS);
	h_post(&g, 1, fay, "Bravo @dan8 !", WAIT_MS);
	h_post(&g, 1, fay, "ⴰⵣⵓⵍ ⴰⵎⴷⴷⴰⴽⴽⵯⵍ", WAIT_MS);
	GETS(dan, "@fay8: أحب الكسكس المغربي");
	GETS(eve, "@fay8: Quel été à Rabat");
	GETS(eve, "@fay8: Allez le #Maroc");
	GETS(eve, "@fay8: Bravo @dan8 !");
	GETS(hal, "@fay8: ⴰⵣⵓⵍ ⴰⵎⴷⴷⴰⴽⴽⵯⵍ");
	settle();
	ck_assert_int_eq(h_received_matching(&g, eve, "Le Maroc gagne"), 0);
	ck_assert_int_eq(h_received_matching(&g, eve, "الكسكس"), 0);
	ck_assert_int_eq(h_received_matching(&g, dan, "@fay8: Quel"), 0);
	/* STOP wins over tracking: the confirmation only after it. */
	ck_assert_int_eq(h_received_matching(&g, gus, "@fay8"), 0);
}
END_TEST

/* The daily cap: track_day (3) tracking SMS, then one warning, then
 * nothing more from tracking that day; following is not capped. */
START_TEST(test_track_daily_cap)
{
	const char *hal = "+212661100021", *ivy = "+212661100022";

	h_join(&g, 0, hal, "hal8", WAIT_MS);
	h_join(&g, 1, ivy, "ivy8", WAIT_MS);
	TEXT(1, ivy, "TRACK olive");
	GETS(ivy, "You will get every post with olive");
	h_post(&g, 0, hal, "olive one", WAIT_MS);
	h_post(&g, 0, hal, "olive two", WAIT_MS);
	h_post(&g, 0, hal, "olive three", WAIT_MS);
	h_post(&g, 0, hal, "olive four", WAIT_MS);
	h_post(&g, 0, hal, "olive five", WAIT_MS);
	GETS(ivy, "@hal8: olive one");
	GETS(ivy, "@hal8: olive two");
	GETS(ivy, "@hal8: olive three");
	GETS(ivy, "You got 3 tracking SMS today, the most a day.");
	settle();
	ck_assert_int_eq(h_received_matching(&g, ivy, "olive four"), 0);
	ck_assert_int_eq(h_received_matching(&g, ivy, "olive five"), 0);
	ck_assert_int_eq(h_received_matching(&g, ivy, "tracking SMS today"), 1);
	/* Following is not capped. */
	TEXT(1, ivy, "FOLLOW hal8");
	GETS(ivy, "You now follow @hal8");
	h_post(&g, 0, hal, "olive six", WAIT_MS);
	GETS(ivy, "@hal8: olive six");
}
END_TEST

/* Both modems drained (1) or enabled again (0). */
static void
links_drained(int drained)
{
	const char *path[] = { drained ? "/api/modems/sim0/drain" : "/api/modems/sim0/enable",
	    drained ? "/api/modems/sim1/drain" : "/api/modems/sim1/enable" };

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(h_http(g.http_port, "POST", path[i], TOKEN, "", NULL), 200);
		ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modems WHERE name = $1 "
		    "AND state_reason LIKE 'drained%'", i ? "sim1" : "sim0",
		    drained ? "1" : "0", WAIT_MS), 0);
	}
}

/* The cap's warning comes after the copy that reached the cap, also when
 * the copies wait behind others (here: links drained while the posts are
 * made, as a fan-out's queue would hold them). It was a reply, and a
 * phone's messages keep their order within a class only: the tracker
 * read "You got 3 tracking SMS today" before any of the three. */
START_TEST(test_track_cap_after_its_copy)
{
	const char *jo = "+212661100051", *kay = "+212661100052";

	h_join(&g, 0, jo, "jo9", WAIT_MS);
	h_join(&g, 1, kay, "kay9", WAIT_MS);
	TEXT(1, kay, "TRACK datte");
	GETS(kay, "You will get every post with datte");
	settle();
	links_drained(1);
	h_post(&g, 0, jo, "datte one", WAIT_MS);
	h_post(&g, 0, jo, "datte two", WAIT_MS);
	h_post(&g, 0, jo, "datte three", WAIT_MS);
	links_drained(0);
	GETS(kay, "You got 3 tracking SMS today, the most a day.");
	GETS(kay, "@jo9: datte three");
	char *got = h_received(&g, kay);
	const char *third = strstr(got, "@jo9: datte three"),
	    *warning = strstr(got, "You got 3 tracking SMS today");
	ck_assert_msg(third != NULL && warning != NULL && third < warning,
	    "the warning came before the third copy:\n%s", got);
	free(got);
}
END_TEST

/* A tracking copy cancelled with its post (removed by the operator while
 * it waited) gives back its place in the day's cap, and the cap's warning
 * queued with it goes: the tracker was told "You got 3 tracking SMS
 * today" after two, and got no third that day. */
START_TEST(test_track_cap_given_back)
{
	const char *lu = "+212661100061", *mo = "+212661100062";
	char path[64];

	h_join(&g, 0, lu, "lu9", WAIT_MS);
	h_join(&g, 1, mo, "mo9", WAIT_MS);
	TEXT(1, mo, "TRACK grenade");
	GETS(mo, "You will get every post with grenade");
	h_post(&g, 0, lu, "grenade one", WAIT_MS);
	h_post(&g, 0, lu, "grenade two", WAIT_MS);
	GETS(mo, "@lu9: grenade one");
	GETS(mo, "@lu9: grenade two");
	settle();
	links_drained(1);
	h_post(&g, 0, lu, "grenade spam", WAIT_MS);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND reply_key = 'track_cap' AND state = 'queued'", mo, "1", WAIT_MS), 0);
	long id = h_db_long(g.db, "SELECT id FROM posts WHERE text = 'grenade spam'", 0, NULL);
	ck_assert_int_gt(id, 0);
	snprintf(path, sizeof(path), "/api/posts/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, TOKEN, NULL, NULL), 200);
	links_drained(0);
	h_post(&g, 0, lu, "grenade three", WAIT_MS);
	GETS(mo, "@lu9: grenade three");
	GETS(mo, "You got 3 tracking SMS today, the most a day.");
	settle();
	char *got = h_received(&g, mo);
	const char *third = strstr(got, "@lu9: grenade three"),
	    *warning = strstr(got, "You got 3 tracking SMS today");
	ck_assert_msg(third != NULL && warning != NULL && third < warning &&
	    strstr(warning + 1, "You got 3 tracking SMS today") == NULL &&
	    strstr(got, "grenade spam") == NULL, "the tracker got:\n%s", got);
	free(got);
}
END_TEST

/* SEARCH by SMS: the latest three matches, newest first, in one SMS;
 * STATS: followers and the latest post's deliveries from the reports. */
START_TEST(test_search_and_stats)
{
	const char *jon = "+212661100031", *kim = "+212661100032",
	    *lea = "+212661100033";
	char want[160];

	h_join(&g, 0, jon, "jon8", WAIT_MS);
	h_join(&g, 1, kim, "kim8", WAIT_MS);
	h_join(&g, 0, lea, "lea8", WAIT_MS);
	TEXT(1, kim, "FOLLOW jon8");
	GETS(kim, "You now follow @jon8");
	TEXT(0, lea, "FOLLOW jon8");
	GETS(lea, "You now follow @jon8");
	h_post(&g, 0, jon, "Tajine aux olives", WAIT_MS);
	h_post(&g, 0, jon, "Un bon tajine ce soir", WAIT_MS);
	h_post(&g, 0, jon, "Le TAJINE de maman", WAIT_MS);
	h_post(&g, 0, jon, "tajine encore, le dernier", WAIT_MS);
	GETS(kim, "@jon8: tajine encore, le dernier");
	GETS(lea, "@jon8: tajine encore, le dernier");
	TEXT(1, kim, "SEARCH tajine");
	GETS(kim, "Latest: @jon8: tajine encore, le dernier / @jon8: Le TAJINE "
	    "de maman / @jon8: Un bon tajine ce soir");
	ck_assert_int_eq(h_received_matching(&g, kim, "Tajine aux olives / "), 0);
	TEXT(1, kim, "CHERCHER olives tajine");
	GETS(kim, "Latest: @jon8: Tajine aux olives");
	TEXT(1, kim, "SEARCH '%' OR 1=1");
	GETS(kim, "No post found for: '%' OR 1=1");
	/* Long posts, and a character outside GSM-7 (ê: the SMS is UCS-2, 70
	 * characters): the three still share the one SMS (each was cut to
	 * 40 characters, and the SMS cut after the first and a half). */
	const char *max = "+212661100034";
	h_join(&g, 0, max, "max8", WAIT_MS);
	h_post(&g, 0, max, "harira pour la fête du quartier, venez nombreux ce soir", WAIT_MS);
	h_post(&g, 0, max, "Recette de harira: lentilles, pois chiches, tomates", WAIT_MS);
	h_post(&g, 0, max, "Une harira bien chaude après le match de ce soir", WAIT_MS);
	TEXT(1, kim, "SEARCH harira");
	GETS(kim, "Latest: @max8: ");
	char *got = h_received(&g, kim), *line = strstr(got, "Latest: @max8: ");
	int handles = 0;
	for (char *q = line; q && (q = strstr(q, "@max8")) && (!strchr(line, '\n') ||
	    q < strchr(line, '\n')); q++)
		handles++;
	ck_assert_msg(handles == 3, "SEARCH showed %d of 3 posts: %s", handles, line);
	free(got);
	/* Prices in euros and brackets: GSM-7, but each of € [ ] { } takes two
	 * septets. The reply is laid out in septets, so it reaches the phone
	 * as made (counted in characters, it was longer than one SMS and the
	 * worker cut its last post). */
	h_post(&g, 0, max, "couscous 5€ tajine 7€ harira 2€ the 5€ {menu} [soir] €€ ok "
	    "pour tous ce soir", WAIT_MS);
	h_post(&g, 0, max, "couscous royal a 9€ {promo} [midi] ~ avec les legumes du "
	    "marche frais €€", WAIT_MS);
	h_post(&g, 0, max, "couscous gratuit? non: 3€ [vendredi] {famille} | bienvenue "
	    "a tous les voisins €", WAIT_MS);
	TEXT(1, kim, "SEARCH couscous");
	GETS(kim, "Latest: @max8: couscous gratuit? ");
	char *made = h_db_value(g.db, "SELECT text FROM outbox WHERE recipient = $1 AND "
	    "text LIKE 'Latest: @max8: couscous gratuit? %' ORDER BY id DESC LIMIT 1",
	    1, &kim);
	ck_assert_ptr_nonnull(made);
	ck_assert_msg(strstr(made, " / @max8: couscous 5€") != NULL, "%s", made);
	got = h_received(&g, kim);
	ck_assert_msg(strstr(got, made) != NULL, "sent \"%s\", the phone got: %s", made, got);
	free(got);
	free(made);

	/* Both copies of the latest post delivered, by report. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox o JOIN posts p "
	    "ON p.id = o.post_id WHERE p.text = $1 AND o.state = 'delivered'",
	    "tajine encore, le dernier", "2", WAIT_MS), 0);
	TEXT(0, jon, "STATS");
	snprintf(want, sizeof(want), "You have 2 followers. Your latest post was "
	    "delivered to 2 of 2 phones.");
	GETS(jon, want);
	TEXT(0, lea, "STATS");
	GETS(lea, "You have 0 followers and no post yet.");
}
END_TEST

/* The cap's warning, reached in the member's quiet hours, waits with the
 * copies it speaks of (it was sent at once, waking the phone at night,
 * before any of them); SLEEP OFF brings all four, the warning last
 * (test_track_cap_after_its_copy). */
START_TEST(test_track_cap_quiet)
{
	const char *jay = "+212661100041", *kay = "+212661100042";
	time_t now = time(NULL);
	struct tm tm;
	char cmd[32];

	/* Two hours from this one: the test stays inside them. */
	gmtime_r(&now, &tm);
	snprintf(cmd, sizeof(cmd), "SLEEP %d %d", tm.tm_hour, (tm.tm_hour + 2) % 24);
	h_join(&g, 0, jay, "jay8", WAIT_MS);
	h_join(&g, 1, kay, "kay8", WAIT_MS);
	TEXT(1, kay, "TRACK figue");
	GETS(kay, "You will get every post with figue");
	TEXT(1, kay, cmd);
	GETS(kay, "Quiet hours from");
	h_post(&g, 0, jay, "figue un", WAIT_MS);
	h_post(&g, 0, jay, "figue deux", WAIT_MS);
	h_post(&g, 0, jay, "figue trois", WAIT_MS);
	settle();
	ck_assert_int_eq(h_received_matching(&g, kay, "@jay8: figue"), 0);
	ck_assert_int_eq(h_received_matching(&g, kay, "tracking SMS today"), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND reply_key = 'track_cap' AND state = 'queued' AND held_since IS NOT NULL "
	    "AND next_attempt_at > now() + interval '30 minutes'", 1, &kay), 1);
	TEXT(1, kay, "SLEEP OFF");
	GETS(kay, "You got 3 tracking SMS today, the most a day.");
	GETS(kay, "@jay8: figue un");
	GETS(kay, "@jay8: figue deux");
	GETS(kay, "@jay8: figue trois");
}
END_TEST

int
main(void)
{
	/* Two cases, a gateway each, that tests/run may run side by side. */
	Suite *s = suite_create("track");
	TCase *tc = tcase_create("track");
	TCase *st = tcase_create("stats");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_track_matching);
	tcase_add_test(tc, test_track_languages);
	tcase_add_test(tc, test_track_cap_after_its_copy);
	tcase_add_test(tc, test_track_cap_given_back);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(st, setup, teardown);
	tcase_set_timeout(st, 600);
	tcase_add_test(st, test_track_daily_cap);
	tcase_add_test(st, test_track_cap_quiet);
	tcase_add_test(st, test_search_and_stats);
	suite_add_tcase(s, st);
	return h_main(s);
}
