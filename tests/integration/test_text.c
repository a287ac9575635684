/*
 * SMS text rules end to end: fan-out cut to its parts with "… GET h",
 * GET showing the whole post, emoji never split across parts or by a
 * cut, per-recipient reply caps, one join hint a day, quiet hours longer
 * than updates may be held. One gateway serves every test (each uses its
 * own phones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define WAIT_MS	60000
#define EMOJI	"\xf0\x9f\x98\x80"	/* U+1F600, a surrogate pair in UCS-2 */

static struct h_gateway g;
static const char config[] =
    "post_max = 400\nfanout_parts_gsm = 1\nfanout_parts_ucs2 = 2\nreply_parts = 3\n"
    "reply_cap_hour = 5\nlimit_minute = 100\ntimezone = UTC\nhold_max_age = 36000\n";

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config;
	h_gateway_start(&g, "text", 2);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

#define TEXT(m, from, text) ck_assert_int_eq(h_text(&g, (m), (from), (text)), 0)
#define GETS(to, needle) ck_assert_msg(h_wait_received(&g, (to), (needle), WAIT_MS) == 0, \
	"%s never received \"%s\"", (to), (needle))

/* One SMS as the simulators logged it: the whole message (sent.jsonl) or
 * its parts (parts.jsonl), the first whose text contains needle. */
struct logged {
	char	 text[4096];
	char	 coding[8];
	int	 parts;
};

static int
find_logged(const char *file, const char *to, const char *needle, struct logged *out)
{
	int found = 0;

	for (int i = 0; i < g.nmodems && !found; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", g.sim_dir[i], file);
		char *data = h_read_file(path);
		for (char *l = data ? strtok(data, "\n") : NULL; l && !found;
		    l = strtok(NULL, "\n")) {
			json_t *o = json_loads(l, 0, NULL);
			const char *t = json_string_value(json_object_get(o, "text"));
			const char *r = json_string_value(json_object_get(o, "to"));
			if (t && r && strcmp(r, to) == 0 && strstr(t, needle)) {
				snprintf(out->text, sizeof(out->text), "%s", t);
				snprintf(out->coding, sizeof(out->coding), "%s",
				    json_string_value(json_object_get(o, "coding")));
				out->parts = (int)json_integer_value(json_object_get(o, "parts"));
				found = 1;
			}
			json_decref(o);
		}
		free(data);
	}
	return found;
}

static int
count_str(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void
join(int m, const char *phone, const char *cmd, const char *welcome)
{
	TEXT(m, phone, cmd);
	GETS(phone, welcome);
}

static void
settle(void)
{
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
}

START_TEST(test_cut_gsm_and_get)
{
	const char *a = "+212662000101", *b = "+212662000102";
	char post[400] = "", want[420];
	struct logged l;

	join(0, a, "JOIN alice", "@alice");
	join(1, b, "JOIN bob", "@bob");
	TEXT(1, b, "FOLLOW alice");
	GETS(b, "You now follow @alice");
	/* 300 GSM-7 characters: "w001 w002 ..." */
	for (int i = 1; strlen(post) < 300; i++)
		snprintf(post + strlen(post), sizeof(post) - strlen(post), "w%03d ", i);
	post[299] = '.';
	post[300] = '\0';
	TEXT(0, a, post);
	GETS(b, "... GET alice");
	ck_assert(find_logged("sent.jsonl", b, "... GET alice", &l));
	ck_assert_int_eq(l.parts, 1);
	ck_assert_str_eq(l.coding, "gsm");
	ck_assert_int_le(strlen(l.text), 160);
	ck_assert_int_ge(strlen(l.text), 140);
	/* a prefix of the post, cut after a whole word */
	ck_assert(strncmp(l.text, "@alice: w001 w002", 17) == 0);
	ck_assert(strstr(l.text, " ... GET alice") == NULL);
	*strstr(l.text, "... GET alice") = '\0';
	ck_assert(strncmp(post, l.text + 8, strlen(l.text + 8)) == 0);
	ck_assert(post[strlen(l.text + 8)] == ' ');

	/* GET gives the whole post, in up to reply_parts parts. */
	snprintf(want, sizeof(want), "@alice: %s", post);
	TEXT(1, b, "GET alice");
	GETS(b, want);
	ck_assert(find_logged("sent.jsonl", b, want, &l));
	ck_assert_str_eq(l.text, want);
	ck_assert_int_eq(l.parts, 3);
}
END_TEST

START_TEST(test_cut_ucs2_emoji)
{
	const char *a = "+212662000201", *b = "+212662000202";
	char post[1200] = "", whole[200], *p;
	struct logged l, part;
	int emoji_in_parts = 0, i;

	join(0, a, "JOIN amal", "@amal");
	join(1, b, "JOIN badr", "@badr");
	TEXT(1, b, "SUIVRE amal");
	GETS(b, "You now follow @amal");

	/* 200 characters of emoji and ç: UCS-2, more than 2 parts: cut. */
	while (strlen(post) < 200 * 2)
		strcat(post, EMOJI "ç" EMOJI " ");
	TEXT(0, a, post);
	GETS(b, "… GET amal");
	ck_assert(find_logged("sent.jsonl", b, "… GET amal", &l));
	ck_assert_int_eq(l.parts, 2);
	ck_assert_str_eq(l.coding, "ucs2");
	p = strstr(l.text, "… GET amal");
	ck_assert_ptr_nonnull(p);
	*p = '\0';
	/* The cut kept whole characters: a prefix of the post. */
	ck_assert(strncmp(l.text, "@amal: ", 7) == 0);
	ck_assert(strncmp(post, l.text + 7, strlen(l.text + 7)) == 0);
	ck_assert_int_eq(count_str(l.text, "\xef\xbf\xbd"), 0);

	/* Not cut: an emoji that would straddle parts 1 and 2 moves whole
	 * into part 2. "@amal: " (7) + ا (1) + 58 letters = 66 UTF-16 units,
	 * so the emoji's pair would be units 67 and 68 of a 67-unit part. */
	snprintf(whole, sizeof(whole), "\xd8\xa7");
	for (i = 0; i < 58; i++)
		strcat(whole, "b");
	strcat(whole, EMOJI "end");
	TEXT(0, a, whole);
	GETS(b, "end");
	ck_assert(find_logged("sent.jsonl", b, "end", &l));
	ck_assert_int_eq(l.parts, 2);
	ck_assert(strcmp(l.text + 7, whole) == 0);
	for (i = 0; i < 2; i++) {
		/* each logged part decodes to whole characters */
		ck_assert(find_logged("parts.jsonl", b, i == 0 ? "\xd8\xa7" : "end", &part));
		ck_assert_int_eq(count_str(part.text, "\xef\xbf\xbd"), 0);
		emoji_in_parts += count_str(part.text, EMOJI);
	}
	ck_assert_int_eq(emoji_in_parts, 1);
}
END_TEST

START_TEST(test_reply_cap)
{
	const char *c = "+212662000301";

	join(0, c, "JOIN carol", "@carol");
	/* An auto-responder answering every reply: five replies an hour. */
	/* Each one differs: the same text twice in one second from one
	 * phone on one modem is the same SMS read twice (the dedupe key). */
	static const char *const stats[] = { "STATS", "stats", "Stats", "STATS.",
	    "stats!", "Stats.", "STATS!", "statistiques" };
	for (int i = 0; i < 8; i++)
		TEXT(i % 2, c, stats[i]);
	settle();
	ck_assert_int_eq(h_received_count(&g, c), 5);
	ck_assert_int_eq(h_db_long(g.db, "SELECT value FROM counters WHERE name = "
	    "'reply_capped'", 0, NULL), 4);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = '+212662000301' AND command = 'stats'", 0, NULL), 8);
}
END_TEST

START_TEST(test_join_hint_once_a_day)
{
	const char *s = "+212662000401";

	TEXT(0, s, "hello?");
	GETS(s, "Pour vous inscrire, envoyez INSCRIPTION");
	TEXT(1, s, "anybody there?");
	TEXT(0, s, "FOLLOW alice");
	/* A command without its word: the hint already sent today, not the
	 * command's usage (each of them got one). */
	TEXT(1, s, "FOLLOW");
	TEXT(0, s, "SLEEP 25 7");
	settle();
	ck_assert_int_eq(h_received_count(&g, s), 1);
	/* and a short number or a name is never answered */
	TEXT(1, "40404", "JOIN shorty");
	TEXT(1, "Orange", "Bonus 100%");
	settle();
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient "
	    "IN ('40404', 'Orange')", 0, NULL), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE handle = "
	    "'shorty'", 0, NULL), 0);
}
END_TEST

/*
 * Updates held for quiet hours are dropped after hold_max_age (10 hours
 * here): SLEEP 20 9 (13 hours) used to be answered "updates will wait
 * until then" though the first three hours' would not. The reply says
 * those older than that are dropped; a window within hold_max_age (an
 * hour to spare) keeps the short reply.
 * The Arabic one is said in eight words ("from the hour 8 in the evening
 * to the hour 9 in the morning").
 */
/* The member of phone p's quiet hours, as from * 100 + to. */
static long
sleep_hours_of(const char *p)
{
	const char *params[] = { p };

	return h_db_long(g.db, "SELECT sleep_from * 100 + sleep_to FROM accounts "
	    "WHERE phone = $1", 1, params);
}

START_TEST(test_sleep_longer_than_hold)
{
	const char *en = "+212662000501", *ar = "+212662000502";

	TEXT(0, en, "JOIN sleepy5");
	GETS(en, "@sleepy5");
	TEXT(0, en, "SLEEP 23 7");	/* 8 hours, and an hour's margin: within 10 */
	GETS(en, "Quiet hours from 23:00 to 7:00: updates will wait until then.");
	TEXT(1, en, "SLEEP 20 9");
	GETS(en, "Quiet hours from 20:00 to 9:00: updates wait until then, but those "
	    "older than 10 h are dropped.");
	ck_assert_int_eq(sleep_hours_of(en), 2009);

	TEXT(0, ar, "انضم nou3sa");
	GETS(ar, "@nou3sa");
	TEXT(1, ar, "نوم من الساعة ٨ مساء الى الساعة ٩ صباحا");
	GETS(ar, "الهدوء من 20 إلى 9؛ تحذف التحديثات بعد 10 ساعة.");
	ck_assert_int_eq(sleep_hours_of(ar), 2009);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'nou3sa'", 0, NULL), 0);
}
END_TEST

/*
 * An invisible mark that changes nothing costs nothing: a 139-character
 * GSM-7 post with a left-to-right mark (U+200E) in it went to each
 * follower as UCS-2, 3 parts instead of 1. The copy leaves it out; the
 * post keeps it. A ZWJ inside an emoji sequence stays (the family stays
 * one picture), and so does a right-to-left mark in an Arabic post.
 */
#define LRM	"\xe2\x80\x8e"
#define RLM	"\xe2\x80\x8f"
#define ZWJ	"\xe2\x80\x8d"
#define FAMILY	"\xf0\x9f\x91\xa8" ZWJ "\xf0\x9f\x91\xa9" ZWJ "\xf0\x9f\x91\xa7"

START_TEST(test_invisible_marks)
{
	const char *a = "+212662000601", *b = "+212662000602";
	char post[300] = "Match ce soir a 20h: " LRM "Raja contre Wydad";
	char want[320];
	struct logged l;

	join(0, a, "JOIN lina", "@lina");
	join(1, b, "JOIN malik", "@malik");
	TEXT(1, b, "FOLLOW lina");
	GETS(b, "You now follow @lina");
	while (strlen(post) - strlen(LRM) < 139)
		strcat(post, ".");
	TEXT(0, a, post);
	GETS(b, "Raja contre Wydad");
	ck_assert(find_logged("sent.jsonl", b, "Raja contre Wydad", &l));
	ck_assert_str_eq(l.coding, "gsm");
	ck_assert_int_eq(l.parts, 1);
	ck_assert_int_eq(count_str(l.text, LRM), 0);
	ck_assert(strncmp(l.text, "@lina: Match ce soir a 20h: Raja contre Wydad", 45) == 0);
	ck_assert_int_eq(strlen(l.text), strlen("@lina: ") + 139);
	/* the post as written (web, API, GET) */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'lina' "
	    "AND strpos(p.text, U&'\\200E') > 0", 0, NULL), 1);

	/* an emoji ZWJ sequence: whole, in UCS-2 */
	TEXT(0, a, "Toute la " FAMILY " au stade " LRM "ce soir");
	GETS(b, "au stade");
	ck_assert(find_logged("sent.jsonl", b, "au stade", &l));
	ck_assert_str_eq(l.coding, "ucs2");
	ck_assert_ptr_nonnull(strstr(l.text, FAMILY));
	/* Indic letters keep their joiners: UCS-2 anyway, and ZWJ draws a
	 * half form there (न्‍न) */
	char *hindi = h_db_value(g.db, "SELECT pigeon_sms_copy(U&'\\0928\\094D\\200D\\0928 ok') "
	    "= U&'\\0928\\094D\\200D\\0928 ok'", 0, NULL);
	ck_assert_str_eq(hindi, "t");
	free(hindi);
	/* an Arabic post keeps its right-to-left mark */
	snprintf(want, sizeof(want), "@lina: \xd9\x85\xd8\xa8\xd8\xb1\xd9\x88\xd9\x83 "
	    RLM "(2-1)");
	TEXT(1, a, want + strlen("@lina: "));
	GETS(b, want);
}
END_TEST

/*
 * Typographic punctuation in a GSM-7 post: "l’ete" (U+2019) made a
 * 138-character post 3 parts to each follower where "l'ete" was 1. The
 * copy says it in GSM-7 (’ ‘ → ', “ ” « » → ", … → ..., – — → -); the post
 * as stored and shown by the API keeps what was written. A text that is
 * UCS-2 anyway (a ç, Arabic) keeps its punctuation.
 */
START_TEST(test_typographic_punctuation)
{
	const char *a = "+212662000701", *b = "+212662000702";
	char post[300] = "Rendez-vous pour l\xe2\x80\x99" "ete \xe2\x80\x9c" "au souk\xe2\x80\x9d "
	    "\xe2\x80\x93 vite\xe2\x80\xa6 \xc2\xab" "tous\xc2\xbb \xe2\x80\x94 "
	    "\xe2\x80\x98" "ok\xe2\x80\x99 ";
	char *body = NULL;
	struct logged l;
	size_t n = 0;

	join(0, a, "JOIN nora", "@nora");
	join(1, b, "JOIN omar", "@omar");
	TEXT(1, b, "FOLLOW nora");
	GETS(b, "You now follow @nora");
	for (const char *q = post; *q != '\0'; q++)	/* characters so far */
		n += (*q & 0xc0) != 0x80;
	for (; n < 138; n++)
		strcat(post, "x");
	TEXT(0, a, post);
	GETS(b, "@nora: Rendez-vous pour l'ete \"au souk\" - vite... \"tous\" - 'ok' xx");
	ck_assert(find_logged("sent.jsonl", b, "Rendez-vous pour l'ete", &l));
	ck_assert_str_eq(l.coding, "gsm");
	ck_assert_int_eq(l.parts, 1);
	/* the post as written, on the API */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/nora/posts", NULL, NULL,
	    &body), 200);
	ck_assert_msg(strstr(body, "l\xe2\x80\x99" "ete \xe2\x80\x9c" "au souk") != NULL,
	    "%s", body);
	free(body);
	/* A DM and GET's copy of the post, the same */
	TEXT(0, a, "D omar c\xe2\x80\x99" "est bon \xe2\x80\x93 a ce soir\xe2\x80\xa6");
	GETS(b, "DM from @nora: c'est bon - a ce soir...");
	ck_assert(find_logged("sent.jsonl", b, "DM from @nora: c'est bon", &l));
	ck_assert_str_eq(l.coding, "gsm");
	TEXT(1, b, "GET nora");
	GETS(b, "@nora: Rendez-vous pour l'ete \"au souk\" - vite...");

	/* UCS-2 anyway: a ç, an Arabic text; written as they came */
	TEXT(0, a, "Le gar\xc3\xa7on dit \xe2\x80\x9c" "bravo\xe2\x80\x9d\xe2\x80\xa6");
	GETS(b, "@nora: Le gar\xc3\xa7on dit \xe2\x80\x9c" "bravo\xe2\x80\x9d\xe2\x80\xa6");
	TEXT(1, a, "\xd9\x85\xd8\xa8\xd8\xb1\xd9\x88\xd9\x83 \xc2\xab" "Raja\xc2\xbb \xe2\x80\x93 2-1");
	GETS(b, "@nora: \xd9\x85\xd8\xa8\xd8\xb1\xd9\x88\xd9\x83 \xc2\xab" "Raja\xc2\xbb \xe2\x80\x93 2-1");
}
END_TEST

/*
 * The same post twice (a phone's resend, a double press): karim's
 * "Rendez-vous demain a 10h au souk pour le match" sent twice seconds
 * apart, with different time stamps, was posted twice and each follower
 * got it twice. Within repeat_window the same text (trimmed) is not
 * posted again, silently; the operator reads why in the inbox.
 */
/*
 * "…" is three dots in a GSM-7 copy: a 140-character post of a 15-letter
 * handle with a few of them went out cut to GSM-7's one part (its end
 * lost); it goes whole, in GSM-7, in the parts it needs.
 */
START_TEST(test_copy_longer_than_post)
{
	const char *a = "+212662000901", *b = "+212662000902";
	char post[400] = "Wait\xe2\x80\xa6 what\xe2\x80\xa6 really\xe2\x80\xa6 ";
	size_t n = 0;
	struct logged l;

	join(0, a, "JOIN abcdefghijklmno", "@abcdefghijklmno");
	join(1, b, "JOIN zed", "@zed");
	TEXT(1, b, "FOLLOW abcdefghijklmno");
	GETS(b, "You now follow @abcdefghijklmno");
	for (const char *q = post; *q != '\0'; q++)
		n += (*q & 0xc0) != 0x80;
	for (; n < 136; n++)
		strcat(post, "y");
	strcat(post, " END");
	TEXT(0, a, post);
	GETS(b, "yyy END");
	ck_assert(find_logged("sent.jsonl", b, "Wait... what...", &l));
	ck_assert_str_eq(l.coding, "gsm");
	ck_assert_int_eq(l.parts, 2);
}
END_TEST

START_TEST(test_repeated_post)
{
	const char *k = "+212662000801", *f1 = "+212662000802", *f2 = "+212662000803";
	const char *text = "Rendez-vous demain a 10h au souk pour le match";

	join(0, k, "JOIN karim", "@karim");
	join(1, f1, "JOIN farid", "@farid");
	join(0, f2, "JOIN fatima", "@fatima");
	TEXT(1, f1, "FOLLOW karim");
	GETS(f1, "You now follow @karim");
	TEXT(0, f2, "FOLLOW karim");
	GETS(f2, "You now follow @karim");
	TEXT(0, k, text);
	GETS(f1, "@karim: Rendez-vous demain");
	TEXT(1, k, text);
	TEXT(0, k, "  Rendez-vous demain a 10h au souk pour le match ");
	TEXT(1, k, "Rendez-vous demain a 11h au souk pour le match");
	GETS(f2, "@karim: Rendez-vous demain a 11h");
	settle();
	ck_assert_int_eq(h_received_matching(&g, f1, "@karim: Rendez-vous demain a 10h"), 1);
	ck_assert_int_eq(h_received_matching(&g, f2, "@karim: Rendez-vous demain a 10h"), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'karim'", 0, NULL), 2);
	/* karim is not told (a post is never confirmed): only the welcome */
	ck_assert_int_eq(h_received_count(&g, k), 1);
	/* the operator reads what happened */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = '+212662000801' AND state = 'ignored' AND result ~ "
	    "'^same text as post [0-9]+, [0-9]+ s before: not posted again$'", 0, NULL), 2);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_cut_gsm_and_get);
	tcase_add_test(tc, test_cut_ucs2_emoji);
	tcase_add_test(tc, test_reply_cap);
	tcase_add_test(tc, test_join_hint_once_a_day);
	tcase_add_test(tc, test_sleep_longer_than_hold);
	suite_add_tcase(s, tc);
	/* what a follower's copy costs (its own gateway: run it alone) */
	tc = tcase_create("cost");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_invisible_marks);
	tcase_add_test(tc, test_typographic_punctuation);
	tcase_add_test(tc, test_copy_longer_than_post);
	tcase_add_test(tc, test_repeated_post);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
