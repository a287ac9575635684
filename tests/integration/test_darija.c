/*
 * Issue 19, end to end: Moroccan phones text the way Moroccans text.
 * A stranger is answered in the script they wrote in; Arabic synonyms
 * work; a member writing Darija in Latin letters (Arabizi) joins, follows,
 * asks for help, gets, leaves and stops in Darija and is answered from the
 * darija catalog; ordinary Darija sentences near a keyword stay posts.
 * One gateway (language = fr, as in Morocco) serves every test; each test
 * uses its own phones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS	60000
#define NMODEMS	2

static struct h_gateway g;

#define TEXT(m, from, text) ck_assert_int_eq(h_text(&g, (m), (from), (text)), 0)
#define GETS(to, needle) ck_assert_msg(h_wait_received(&g, (to), (needle), WAIT_MS) == 0, \
	"%s never received \"%s\"; got:\n%s", (to), (needle), h_received(&g, (to)))

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = "timezone = UTC\nlimit_minute = 30\n";
	h_gateway_start(&g, "darija", NMODEMS);
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

static int
counted(void *arg)
{
	const char **a = arg;

	return h_received_matching(&g, a[0], a[1]) >= atoi(a[2]);
}

/* Waits until to has received n SMS containing needle. */
static void
wait_count(const char *to, const char *needle, int n)
{
	char num[16];
	const char *a[] = { to, needle, num };

	snprintf(num, sizeof(num), "%d", n);
	ck_assert_msg(h_wait_for(counted, a, WAIT_MS) == 0, "%s: fewer than %d \"%s\"",
	    to, n, needle);
}

/* The language of the account of phone, "(none)" without one. */
static char *
lang_of(const char *phone)
{
	const char *params[] = { phone };
	char *v = h_db_value(g.db, "SELECT lang FROM accounts WHERE phone = $1",
	    1, params);

	return v != NULL ? v : strdup("(none)");
}

/* Strangers: Arabic letters get Arabic, Latin letters the configured
 * French, or the language of a Latin keyword (Darija here). */
START_TEST(test_stranger_script)
{
	const char *ar = "+212662000101", *fr = "+212662000102",
	    *dj = "+212662000103", *ask = "+212662000104", *nj = "+212662000105";
	char *l;

	/* Before issue 19 this got the French hint. */
	TEXT(0, ar, "السلام عليكم، كيف نسجل؟");
	GETS(ar, "مرحبا بك في Pigeon! للتسجيل أرسل تسجيل واسما");
	TEXT(1, fr, "salam, kifach ndir?");
	GETS(fr, "Bienvenue sur Pigeon ! Pour vous inscrire, envoyez INSCRIPTION");
	TEXT(0, dj, "tbe3 karim");
	GETS(dj, "Mar7ba f Pigeon! Bach tsejjel, sift TSEJJEL w smiya");
	/* "؟" alone is HELP: Arabic, whatever the keyword table says. */
	TEXT(1, ask, "؟");
	GETS(ask, "تسجيل، تابع/اترك");
	/* انضم, the everyday "join", was a post: now it joins, in Arabic. */
	TEXT(0, nj, "انضم @nadia19");
	GETS(nj, "مرحبا @nadia19!");
	l = lang_of(nj);
	ck_assert_str_eq(l, "ar");
	free(l);
	/* "cancel the subscription": a STOP, not a post. */
	TEXT(1, nj, "إلغاء الاشتراك");
	GETS(nj, "لن تصلك رسائل من Pigeon. أرسل START للعودة.");
	settle();
	ck_assert_int_eq(h_received_count(&g, ar), 1);
	ck_assert_int_eq(h_received_count(&g, fr), 1);
	ck_assert_int_eq(h_received_count(&g, dj), 1);
}
END_TEST

/* A member in Arabizi: joins, follows, help, get, leave, stop, all in
 * Darija; LANG switches catalogs; loose keywords and Darija sentences
 * stay posts. */
START_TEST(test_arabizi_member)
{
	const char *d = "+212662000201", *k = "+212662000202", *s = "+212662000203";
	const char *params[] = { d };
	char *l;

	TEXT(1, k, "tsejjel karim19");
	GETS(k, "Mar7ba bik f Pigeon, @karim19!");
	TEXT(0, d, "Sejjelni @Dounia19");
	GETS(d, "Mar7ba bik f Pigeon, @dounia19!");
	l = lang_of(d);
	ck_assert_str_eq(l, "darija");
	free(l);
	TEXT(0, d, "tba3 karim19");
	GETS(d, "Daba katbe3 @karim19: ghadi iwslek kolchi li kaynechr f SMS.");
	h_post(&g, 1, k, "Salam lkhout, lyoum kayn lmatch", WAIT_MS);
	GETS(d, "@karim19: Salam lkhout, lyoum kayn lmatch");
	TEXT(0, d, "3awenni");
	GETS(d, "Pigeon: TSEJJEL smiya, TBE3/7IYED smiya");
	TEXT(0, d, "jib karim19");	/* the post again, as GET's reply */
	wait_count(d, "@karim19: Salam lkhout, lyoum kayn lmatch", 2);
	TEXT(0, d, "jib @nobody19x");
	GETS(d, "Ma kayn 7ta wa7ed smito @nobody19x f Pigeon.");
	TEXT(0, d, "tbe3");
	GETS(d, "Bach ttbe3 chi wa7ed, sift TBE3 w smito");

	/* LANG both ways: French, then Darija again. */
	TEXT(0, d, "LANGUE fr");
	GETS(d, "Les réponses seront désormais en français.");
	TEXT(0, d, "lang darja");
	GETS(d, "Men daba, ghadi njawbouk b darija.");

	/* Ordinary Darija near a keyword: posts, not commands. "tbe3 lmatch"
	 * is a post as nobody is @lmatch; "safi" is "OK", never a STOP. */
	h_post(&g, 0, d, "tbe3 lmatch", WAIT_MS);
	h_post(&g, 0, d, "safi", WAIT_MS);
	h_post(&g, 0, d, "baraka llahou fik", WAIT_MS);
	h_post(&g, 0, d, "w9ef m3aya", WAIT_MS);

	TEXT(0, d, "7iyed karim19");
	GETS(d, "Ma b9itich katbe3 @karim19.");
	TEXT(1, s, "JOIN sara19");
	GETS(s, "Welcome to Pigeon, @sara19!");
	TEXT(1, d, "tbe3 @sara19 3afak");	/* was a post: "3afak" made a third word */
	GETS(d, "Daba katbe3 @sara19");

	TEXT(0, d, "baraka 3afak");
	GETS(d, "Ma ghadi iwslek 7ta SMS men Pigeon. Sift START bach trje3.");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM optouts WHERE phone = $1",
	    1, params), 1);
	h_post(&g, 1, s, "sara posts while dounia is away", WAIT_MS);
	settle();
	ck_assert_int_eq(h_received_matching(&g, d, "away"), 0);
	TEXT(0, d, "rje3");
	GETS(d, "Mar7ba bik men jdid!");
	h_post(&g, 1, s, "sara posts again", WAIT_MS);
	GETS(d, "@sara19: sara posts again");
	/* The posts were published, and none of the four went out as a command. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.phone = $1", 1, params), 4);
}
END_TEST

/* Arabic in presentation forms (U+FE70..U+FEFC: the shaped letters and
 * lam-alef ligatures some phones send): commands as in the base letters.
 * STOP, FOLLOW and HELP were published as posts, and JOIN got the hint;
 * a post in these forms is found by a search in the base letters. */
START_TEST(test_presentation_forms)
{
	const char *o = "+212662000701", *k = "+212662000702",
	    *j = "+212662000703";
	const char *params[] = { o };
	const char *q[] = { "\u0633\u0644\u0627\u0645", o };	/* سلام */

	TEXT(1, k, "JOIN karim31");
	GETS(k, "Welcome to Pigeon, @karim31!");
	TEXT(0, o, "\u062A\u0633\u062C\u064A\u0644 omar31");	/* تسجيل */
	GETS(o, "\u0645\u0631\u062D\u0628\u0627 @omar31!");		/* مرحبا */
	TEXT(0, o, "\uFE97\uFE8E\uFE91\uFECA karim31");		/* تابع */
	GETS(o, "\u0623\u0646\u062A \u062A\u062A\u0627\u0628\u0639 @karim31");
	h_post(&g, 1, k, "karim31 posts", WAIT_MS);
	GETS(o, "@karim31: karim31 posts");
	TEXT(0, o, "\uFEE3\uFEB4\uFE8E\uFECB\uFEAA\uFE93");		/* مساعدة */
	GETS(o, "\u062A\u0633\u062C\u064A\u0644\u060C \u062A\u0627\u0628\u0639");
	/* سلام, with its lam-alef ligature: a post, found as سلام */
	h_post(&g, 0, o, "\uFEB3\uFEFC\uFEE1 omar31", WAIT_MS);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.phone = $2 "
	    "AND p.terms @> pigeon_query_terms($1)", 2, q), 1);
	TEXT(0, o, "\uFE97\uFEEE\uFED7\uFED2");			/* توقف */
	GETS(o, "\u0644\u0646 \u062A\u0635\u0644\u0643 \u0631\u0633\u0627\u0626\u0644");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM optouts WHERE phone = $1",
	    1, params), 1);
	h_post(&g, 1, k, "karim31 posts to nobody", WAIT_MS);
	settle();
	ck_assert_int_eq(h_received_matching(&g, o, "nobody"), 0);
	/* A stranger's JOIN in these forms joins (it got the join hint). */
	TEXT(1, j, "\uFE97\uFEB4\uFEA0\uFEF4\uFEDE nour31");	/* تسجيل */
	GETS(j, "\u0645\u0631\u062D\u0628\u0627 @nour31!");
	/* The one post, and no command published. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.phone = $1", 1, params), 1);
}
END_TEST

/* Posts of the member whose phone is phone. */
static long
posts_of(const char *phone)
{
	const char *params[] = { phone };

	return h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.phone = $1", 1, params);
}

/* French and Darija opt-out sentences: each was published to every
 * follower, and the phone stayed subscribed, paying for SMS it no longer
 * wanted. A sentence that only starts like one stays a post. */
START_TEST(test_stop_sentences)
{
	const char *a = "+212662000301", *f = "+212662000302";

	TEXT(0, a, "INSCRIPTION arret19");
	GETS(a, "Bienvenue sur Pigeon, @arret19 !");
	TEXT(1, f, "INSCRIPTION suivi19");
	GETS(f, "Bienvenue sur Pigeon, @suivi19 !");
	TEXT(1, f, "SUIVRE arret19");
	GETS(f, "Vous suivez @arret19");

	TEXT(0, a, "Arrêtez de m'envoyer des SMS");
	GETS(a, "Vous ne recevrez plus de SMS de Pigeon. Envoyez START pour revenir.");
	TEXT(0, a, "START");
	GETS(a, "Bon retour !");
	TEXT(0, a, "Arrête de m’envoyer des messages");
	wait_count(a, "Vous ne recevrez plus de SMS", 2);
	TEXT(0, a, "START");
	wait_count(a, "Bon retour !", 2);
	TEXT(0, a, "وقفو الرسائل");
	wait_count(a, "Vous ne recevrez plus de SMS", 3);
	TEXT(0, a, "START");
	wait_count(a, "Bon retour !", 3);
	h_post(&g, 0, a, "Arrête de rêver, on a gagné", WAIT_MS);
	GETS(f, "@arret19: Arrête de rêver, on a gagné");
	settle();
	ck_assert_int_eq(h_received_matching(&g, f, "@arret19:"), 1);
	ck_assert_int_eq(posts_of(a), 1);
}
END_TEST

/* Polite commands that take no argument ("help please", "Aide svp"):
 * each was published to every follower as "@karim: help please", and
 * the member got no help. "DELETE please" deletes the latest post;
 * "supprimer tout" asks for more than DELETE does and gets its usage. */
START_TEST(test_polite_commands)
{
	const char *k = "+212662000401", *f = "+212662000402";
	const char *help = "Pigeon : INSCRIPTION nom, SUIVRE/QUITTER nom";

	TEXT(0, k, "INSCRIPTION karim20");
	GETS(k, "Bienvenue sur Pigeon, @karim20 !");
	TEXT(1, f, "INSCRIPTION nadia20");
	GETS(f, "Bienvenue sur Pigeon, @nadia20 !");
	TEXT(1, f, "SUIVRE karim20");
	GETS(f, "Vous suivez @karim20");

	TEXT(0, k, "help please");
	GETS(k, help);
	TEXT(0, k, "Aide svp");
	wait_count(k, help, 2);
	TEXT(0, k, "3awni 3afak");
	wait_count(k, help, 3);
	TEXT(0, k, "مساعدة من فضلك");
	wait_count(k, help, 4);
	TEXT(0, k, "stats please");
	GETS(k, "Vous avez 1 abonnés");

	h_post(&g, 0, k, "Ce soir, couscous chez moi", WAIT_MS);
	GETS(f, "@karim20: Ce soir, couscous chez moi");
	TEXT(0, k, "supprimer tout");
	GETS(k, "Envoyez SUPPRIMER pour effacer votre dernier message.");
	TEXT(0, k, "DELETE please");
	GETS(k, "Votre dernier message a été supprimé.");
	h_post(&g, 0, k, "help me move on Saturday", WAIT_MS);
	GETS(f, "@karim20: help me move on Saturday");
	settle();
	/* The follower got the two posts, and none of the commands. */
	ck_assert_int_eq(h_received_matching(&g, f, "@karim20:"), 2);
	ck_assert_int_eq(posts_of(k), 2);
}
END_TEST

/* A stranger's JOIN with more than a name got the French join hint,
 * telling them to do what they did, and retries got nothing (a hint a
 * day). JOIN's usage says a name is one word, in the keyword's language,
 * each time. A member's "Join us..." is still a post. */
START_TEST(test_join_words)
{
	const char *en = "+212662000501", *dj = "+212662000502",
	    *fr = "+212662000503", *mem = "+212662000504", *fo = "+212662000505";

	TEXT(0, en, "JOIN karim ali");
	GETS(en, "To sign up, text JOIN and a name: 1-15 letters, digits or _");
	/* (Not the same bytes: two SMS alike in the same second of the
	 * network's time stamp are one, its copy.) */
	TEXT(0, en, "join karim ali");
	wait_count(en, "To sign up, text JOIN and a name", 2);
	TEXT(1, dj, "tsejjel karim ali");
	GETS(dj, "Bach tsejjel, sift TSEJJEL w smiya: 1-15 7orof");
	TEXT(0, fr, "INSCRIPTION Karim Benali");
	GETS(fr, "Pour vous inscrire, envoyez INSCRIPTION et un nom : 1-15 lettres");
	TEXT(0, fr, "INSCRIPTION karim_benali");
	GETS(fr, "Bienvenue sur Pigeon, @karim_benali !");

	TEXT(0, mem, "JOIN fest21");
	GETS(mem, "Welcome to Pigeon, @fest21!");
	TEXT(1, fo, "JOIN fan21");
	GETS(fo, "Welcome to Pigeon, @fan21!");
	TEXT(1, fo, "FOLLOW fest21");
	GETS(fo, "You now follow @fest21");
	h_post(&g, 0, mem, "Join us at the festival tonight!", WAIT_MS);
	GETS(fo, "@fest21: Join us at the festival tonight!");
	settle();
	ck_assert_int_eq(h_received_count(&g, en), 2);
	ck_assert_int_eq(h_received_count(&g, dj), 1);
	ck_assert_int_eq(h_received_matching(&g, fr, "Bienvenue sur Pigeon ! Pour"), 0);
	ck_assert_int_eq(h_received_count(&g, mem), 1);	/* the welcome */
}
END_TEST

/* A list of handles ("FOLLOW @karim @nadia", "FOLLOW karim, nadia") was
 * published to every follower: FOLLOW's usage says one name a message.
 * A list of words nobody is called ("Follow us, friends") stays a post. */
START_TEST(test_handle_list)
{
	const char *a = "+212662000601", *f = "+212662000602";
	const char *usage = "Pour suivre quelqu'un, envoyez SUIVRE et son nom";

	TEXT(0, a, "INSCRIPTION liste22");
	GETS(a, "Bienvenue sur Pigeon, @liste22 !");
	TEXT(1, f, "INSCRIPTION fan22");
	GETS(f, "Bienvenue sur Pigeon, @fan22 !");
	TEXT(1, f, "SUIVRE liste22");
	GETS(f, "Vous suivez @liste22");
	TEXT(0, a, "FOLLOW @fan22 @liste22");
	GETS(a, usage);
	TEXT(0, a, "FOLLOW fan22, karim");
	wait_count(a, usage, 2);
	settle();
	ck_assert_int_eq(h_received_matching(&g, f, "@liste22:"), 0);
	ck_assert_int_eq(posts_of(a), 0);
	/* Words nobody is called, with commas: a member's post, published
	 * (it got FOLLOW's usage). */
	TEXT(0, a, "Follow us, friends");
	GETS(f, "@liste22: Follow us, friends");
	ck_assert_int_eq(posts_of(a), 1);
	ck_assert_int_eq(h_received_matching(&g, a, usage), 2);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("darija");
	TCase *tc = tcase_create("darija");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_stranger_script);
	tcase_add_test(tc, test_arabizi_member);
	tcase_add_test(tc, test_presentation_forms);
	tcase_add_test(tc, test_stop_sentences);
	tcase_add_test(tc, test_polite_commands);
	tcase_add_test(tc, test_join_words);
	tcase_add_test(tc, test_handle_list);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
