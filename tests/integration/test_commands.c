/*
 * The shortcode language end to end: every command, as phones text it to
 * simulated modems, through a real pigeond and PostgreSQL, asserting the
 * SMS each phone receives. One gateway serves each test case (each test
 * uses its own phones); the quiet-hours test restarts pigeond and runs
 * last in its case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define WAIT_MS	60000
#define NMODEMS	3

static struct h_gateway g;
static const char config_utc[] =
    "post_max = 160\nfanout_parts_gsm = 2\ntimezone = UTC\nlimit_minute = 10\n";
static char config_later[256];

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config_utc;
	h_gateway_start(&g, "commands", NMODEMS);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

#define TEXT(m, from, text) ck_assert_int_eq(h_text(&g, (m), (from), (text)), 0)
#define GETS(to, needle) ck_assert_msg(h_wait_received(&g, (to), (needle), WAIT_MS) == 0, \
	"%s never received \"%s\"; got:\n%s", (to), (needle), h_received(&g, (to)))

static void
settle(void)
{
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
}

static int
count_of(const char *to, const char *needle)
{
	return h_received_matching(&g, to, needle);
}

static int
counted(void *arg)
{
	const char **a = arg;
	return count_of(a[0], a[1]) >= atoi(a[2]);
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

/* The coding ("gsm", "ucs2") of the SMS to `to` whose text is exactly text. */
static const char *
sent_coding(const char *to, const char *text)
{
	static char found_buf[16];
	char *found = NULL;

	for (int i = 0; i < g.nmodems && found == NULL; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/sent.jsonl", g.sim_dir[i]);
		char *data = h_read_file(path);
		for (char *l = data ? strtok(data, "\n") : NULL; l && !found;
		    l = strtok(NULL, "\n")) {
			json_t *o = json_loads(l, 0, NULL);
			const char *t = json_string_value(json_object_get(o, "text"));
			const char *r = json_string_value(json_object_get(o, "to"));
			if (t && r && strcmp(r, to) == 0 && strcmp(t, text) == 0)
				found = strncpy(found_buf, json_string_value(json_object_get(o,
				    "coding")), sizeof(found_buf) - 1);
			json_decref(o);
		}
		free(data);
	}
	return found;
}

/* A value from the database, "(null)" for none; valid until the next call. */
static const char *
dbv(const char *sql, int nparams, const char *const *params)
{
	static char buf[4096];
	char *v = h_db_value(g.db, sql, nparams, params);

	snprintf(buf, sizeof(buf), "%s", v ? v : "(null)");
	free(v);
	return buf;
}

static void
join(int m, const char *phone, const char *cmd, const char *welcome)
{
	TEXT(m, phone, cmd);
	GETS(phone, welcome);
}

START_TEST(test_join_help_lang)
{
	const char *a = "+212661000101", *k = "+212661000102";

	TEXT(0, a, "JOIN stop");
	GETS(a, "Sorry, @stop is a command word.");
	join(0, a, "SIGNUP amina1", "Welcome to Pigeon, @amina1!");
	TEXT(1, a, "JOIN other");
	GETS(a, "You are already on Pigeon as @amina1.");
	TEXT(1, a, "HELP");
	GETS(a, "Pigeon: JOIN name, FOLLOW/LEAVE name");
	GETS(a, "Words: TRACK word sends you every post with it");
	TEXT(2, a, "LANG fr");
	GETS(a, "Les réponses seront désormais en français.");
	TEXT(2, a, "aide");
	GETS(a, "Pigeon : INSCRIPTION nom");
	GETS(a, "NOM, BIO, LANGUE, SUPPRIMER, ARRET");	/* LANGUE, SUPPRIMER were left out */
	TEXT(0, a, "QUITTER");
	GETS(a, "Pour ne plus recevoir aucun SMS, envoyez ARRET.");
	TEXT(0, a, "LANGUE arabe");
	GETS(a, "ستصلك الردود بالعربية.");
	TEXT(1, a, "؟");
	GETS(a, "تسجيل، تابع");
	GETS(a, "تفعيل/تعطيل");	/* ON/OFF, NAME and BIO were left out */
	GETS(a, "اسم، نبذة، نوم");
	/* Arabic keyword: Arabic replies for a new member. */
	join(1, k, "تسجيل @Karim1", "مرحبا @karim1!");
	ck_assert_str_eq(dbv("SELECT lang FROM accounts WHERE handle = 'karim1'",
	    0, NULL), "ar");
}
END_TEST

/* Politeness words are no names: each of these made an account
 * (@please, @svp, @3afak, @daba) that could never be renamed. */
START_TEST(test_join_filler)
{
	const char *p = "+212661000111";
	const char *pp[] = { p };

	TEXT(0, p, "JOIN please");
	GETS(p, "To sign up, text JOIN and a name");
	TEXT(1, p, "Inscription svp");
	GETS(p, "Pour vous inscrire, envoyez INSCRIPTION et un nom");
	TEXT(2, p, "tsejjel 3afak");
	GETS(p, "Bach tsejjel, sift TSEJJEL w smiya");
	TEXT(0, p, "sejjelni daba");
	wait_count(p, "Bach tsejjel, sift TSEJJEL w smiya", 2);
	ck_assert_str_eq(dbv("SELECT count(*) FROM accounts WHERE phone = $1", 1, pp),
	    "0");
	join(1, p, "JOIN amina_p", "Welcome to Pigeon, @amina_p!");
}
END_TEST

START_TEST(test_follow_leave_on_off)
{
	const char *b = "+212661000201", *c = "+212661000202", *d = "+212661000203";

	join(0, b, "JOIN bob1", "@bob1");
	join(1, c, "JOIN carol1", "@carol1");
	TEXT(1, c, "FOLLOW @Bob1");
	GETS(c, "You now follow @bob1");
	TEXT(0, b, "post one");
	GETS(c, "@bob1: post one");
	TEXT(1, c, "OFF bob1");
	GETS(c, "You will not get @bob1's posts by SMS.");
	TEXT(0, b, "post two");
	settle();
	TEXT(1, c, "ON bob1");
	GETS(c, "You will get @bob1's posts by SMS.");
	TEXT(0, b, "post three");
	GETS(c, "@bob1: post three");
	TEXT(1, c, "OFF");
	GETS(c, "Your SMS updates are off.");
	TEXT(0, b, "post four");
	settle();
	TEXT(1, c, "ON");
	GETS(c, "Your SMS updates are on.");
	TEXT(0, b, "post five");
	GETS(c, "@bob1: post five");
	/* START after OFF: its reply says the updates are on again, and
	 * they are (they stayed off). Another member: carol's messages are
	 * near the sender's limit of 10 a minute. */
	join(1, d, "JOIN dora1", "@dora1");
	TEXT(1, d, "FOLLOW bob1");
	GETS(d, "You now follow @bob1");
	TEXT(1, d, "OFF");
	GETS(d, "Your SMS updates are off.");
	TEXT(1, d, "START");
	GETS(d, "Welcome back! Your SMS updates are on again.");
	TEXT(0, b, "post five and a half");
	GETS(d, "@bob1: post five and a half");
	/* "On verra": ON with a word nobody is called is a post. */
	TEXT(1, c, "On verra");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'carol1' AND p.text = 'On verra'", NULL,
	    "1", WAIT_MS), 0);
	TEXT(1, c, "LEAVE bob1");
	GETS(c, "You no longer follow @bob1.");
	TEXT(0, b, "post six");
	TEXT(1, c, "L bob1");
	GETS(c, "You were not following @bob1.");
	settle();
	ck_assert_int_eq(count_of(c, "post two"), 0);
	ck_assert_int_eq(count_of(c, "post four"), 0);
	ck_assert_int_eq(count_of(c, "post six"), 0);
	ck_assert_int_eq(h_received_count(&g, b), 1);	/* bob: his welcome only */
}
END_TEST

/* "OFF @bobb": the '@' shows a handle was meant. It was published as a
 * post, "@alice2: OFF @bobb" to her followers, and she got no reply. */
START_TEST(test_on_off_at_typo)
{
	const char *a = "+212661000211", *f = "+212661000212";

	join(0, a, "JOIN alice2", "@alice2");
	join(1, f, "JOIN fay2", "@fay2");
	TEXT(1, f, "FOLLOW alice2");
	GETS(f, "You now follow @alice2");
	TEXT(0, a, "OFF @bobb");
	GETS(a, "There is nobody called @bobb on Pigeon.");
	TEXT(0, a, "on @Bobb");
	wait_count(a, "There is nobody called @bobb on Pigeon.", 2);
	/* Without the '@' it still cannot be told from "On verra". */
	TEXT(0, a, "OFF bobb");
	GETS(f, "@alice2: OFF bobb");
	/* A politeness word is no handle, nor counts after one: these
	 * were posts to alice2's followers (nobody is called svp). */
	TEXT(1, f, "OFF @alice2 svp");
	GETS(f, "You will not get @alice2's posts by SMS.");
	TEXT(1, f, "FOLLOW alice2 svp");
	wait_count(f, "You now follow @alice2", 2);
	TEXT(0, a, "OFF svp");
	GETS(a, "Your SMS updates are off.");
	TEXT(0, a, "ON please");
	GETS(a, "Your SMS updates are on.");
	settle();
	ck_assert_int_eq(count_of(f, "@bobb"), 0);
	ck_assert_int_eq(count_of(f, "svp"), 0);
	ck_assert_int_eq(count_of(f, "please"), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'alice2'", 0, NULL), 1);
}
END_TEST

START_TEST(test_post_rules)
{
	const char *d = "+212661000301", *e = "+212661000302";
	char post[200], want[220];

	join(0, d, "JOIN dave1", "@dave1");
	join(1, e, "JOIN erin1", "@erin1");
	TEXT(1, e, "F dave1");
	GETS(e, "You now follow @dave1");

	/* 160 GSM-7 characters arrive whole as "@dave1: " + the post. */
	for (int i = 0; i < 160; i++)
		post[i] = "abcdefghij"[i % 10];
	memcpy(post + 150, "0123456789", 10);
	post[160] = '\0';
	snprintf(want, sizeof(want), "@dave1: %s\n", post);
	TEXT(0, d, post);
	GETS(e, want);
	want[strlen(want) - 1] = '\0';
	ck_assert_int_eq(h_wait_db(&g, "SELECT parts FROM outbox WHERE text = $1", want,
	    "2", WAIT_MS), 0);
	ck_assert_str_eq(sent_coding(e, want), "gsm");

	/* 161 is refused, nothing posted. */
	post[160] = 'X';
	post[161] = '\0';
	TEXT(0, d, post);
	GETS(d, "Your post has 161 characters; the limit is 160. Nothing was posted.");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE length(text) = 161",
	    0, NULL), 0);

	/* French with ê and ç, and Arabic: intact, in UCS-2. */
	TEXT(2, d, "Ça va être une très belle fête, garçon !");
	GETS(e, "@dave1: Ça va être une très belle fête, garçon !\n");
	ck_assert_str_eq(sent_coding(e, "@dave1: Ça va être une très belle fête, garçon !"), "ucs2");
	TEXT(2, d, "مرحبا بالجميع، هذه أول رسالة لي");
	GETS(e, "@dave1: مرحبا بالجميع، هذه أول رسالة لي\n");
	ck_assert_str_eq(sent_coding(e, "@dave1: مرحبا بالجميع، هذه أول رسالة لي"), "ucs2");
}
END_TEST

/* A trailing emoticon or emoji: "FOLLOW kari3 :-)" became a post and
 * nobody was followed. A post keeps its emoji. */
START_TEST(test_trailing_emoji)
{
	const char *k = "+212661000311", *n = "+212661000312";

	join(0, k, "JOIN kari3 :-)", "Welcome to Pigeon, @kari3!");
	join(1, n, "tsejjel nour3 \xf0\x9f\x99\x8f", "@nour3");
	TEXT(1, n, "FOLLOW kari3 :-)");
	GETS(n, "Daba katbe3 @kari3");
	TEXT(1, n, "HELP \xf0\x9f\x99\x8f");
	GETS(n, "Pigeon: TSEJJEL smiya");
	TEXT(0, k, "Bonne nuit :-) \xf0\x9f\x99\x8f");
	GETS(n, "@kari3: Bonne nuit :-) \xf0\x9f\x99\x8f");
	settle();
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle IN ('kari3', 'nour3')", 0, NULL), 1);
}
END_TEST

/* Texts that show nothing: a ZWJ alone is no post (it went to every
 * follower as "@kari4: "), "D" and a soft hyphen no DM (nour4 got
 * "DM from @kari4: "), "NAME" and a ZWNJ no name. */
START_TEST(test_invisible_text)
{
	const char *k = "+212661000321", *n = "+212661000322";

	join(0, k, "JOIN kari4", "@kari4");
	join(1, n, "JOIN nour4", "@nour4");
	TEXT(1, n, "FOLLOW kari4");
	GETS(n, "You now follow @kari4");
	TEXT(0, k, "\xe2\x80\x8d");
	GETS(k, "Your message was empty.");
	TEXT(0, k, "D nour4 \xc2\xad");
	GETS(k, "To send a private message, text D");
	TEXT(0, k, "NAME \xe2\x80\x8c");
	GETS(k, "To set your name, text NAME");
	TEXT(0, k, "visible at last");
	GETS(n, "@kari4: visible at last");
	settle();
	ck_assert_int_eq(count_of(n, "DM from @kari4"), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'kari4'", 0, NULL), 1);
}
END_TEST

/* A loose keyword with a handle nobody has is a post ("tbe3 lmatch"):
 * it went out without its coding, so a GSM-7 post got the UCS-2 cap on
 * parts (3) instead of fanout_parts_gsm (2 here). */
START_TEST(test_loose_post_coding)
{
	const char *l = "+212661000341", *m = "+212661000342";
	const char *want[] = { "@lily1: tbe3 lmatch", "@lily1: Follow-up" };

	join(0, l, "JOIN lily1", "@lily1");
	join(1, m, "JOIN mona1", "@mona1");
	TEXT(1, m, "FOLLOW lily1");
	GETS(m, "You now follow @lily1");
	TEXT(0, l, "tbe3 lmatch");
	GETS(m, want[0]);
	TEXT(0, l, "Follow-up");
	GETS(m, want[1]);
	for (size_t i = 0; i < 2; i++)
		ck_assert_msg(h_wait_db(&g, "SELECT max_parts FROM outbox WHERE text = $1",
		    want[i], "2", WAIT_MS) == 0, "%s: not capped at fanout_parts_gsm",
		    want[i]);
}
END_TEST

START_TEST(test_dm)
{
	const char *e = "+212661000401", *f = "+212661000402";

	join(0, e, "JOIN eve1", "@eve1");
	join(1, f, "JOIN fred1", "@fred1");
	TEXT(1, f, "FOLLOW eve1");
	GETS(f, "You now follow @eve1");
	/* fred follows eve: eve may write to him, not the other way. */
	TEXT(0, e, "D fred1 see you at 6");
	GETS(f, "DM from @eve1: see you at 6");
	TEXT(1, f, "DM @eve1 hi there");
	GETS(f, "@eve1 does not follow you: you can only send D to your followers.");
	/* To oneself: "@eve1 does not follow you" was no answer. */
	TEXT(0, e, "D eve1 note to self");
	GETS(e, "You cannot send a message to yourself.");
	TEXT(0, e, "d nobody1 hello");
	GETS(e, "There is nobody called @nobody1 on Pigeon.");
	TEXT(0, e, "D fred1");
	GETS(e, "To send a private message, text D");
	/* Glued to the keyword: published to every follower, PIN and all. */
	TEXT(0, e, "D,fred1 my PIN is 4321");
	GETS(f, "DM from @eve1: my PIN is 4321");
	TEXT(0, e, "D\xe2\x80\x94 fred1 meet me");	/* em dash */
	GETS(f, "DM from @eve1: meet me");
	TEXT(0, e, "DM:fred1");
	wait_count(e, "To send a private message, text D", 2);
	settle();
	ck_assert_int_eq(count_of(f, "@eve1: D"), 0);
	ck_assert_int_eq(count_of(e, "hi there"), 0);
	ck_assert_int_eq(count_of(e, "note to self"), 0);
	ck_assert_int_eq(count_of(e, "does not follow you"), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle IN ('eve1', 'fred1')", 0, NULL), 0);
}
END_TEST

START_TEST(test_get_whois_stats_profile_delete)
{
	const char *gi = "+212661000501", *h = "+212661000502";
	char want[128];
	char today[16];

	join(0, gi, "JOIN gina1", "@gina1");
	join(1, h, "JOIN hank1", "@hank1");
	TEXT(1, h, "GET gina1");
	GETS(h, "@gina1 has not posted anything yet.");
	TEXT(1, h, "FOLLOW gina1");
	GETS(h, "You now follow @gina1");
	TEXT(0, gi, "NAME Gina G");
	GETS(gi, "Your name is now: Gina G");
	TEXT(0, gi, "BIO I keep pigeons");
	GETS(gi, "Your bio is saved.");
	TEXT(0, gi, "NAME abcdefghijklmnopqrstuvwxyz");
	GETS(gi, "Your name has 26 characters; the limit is 20.");
	TEXT(0, gi, "first post");
	GETS(h, "@gina1: first post");
	TEXT(0, gi, "second post");
	GETS(h, "@gina1: second post");
	TEXT(2, h, "GET @gina1");
	wait_count(h, "@gina1: second post", 2);
	/* YYYY-MM-DD and its NUL: exactly what today holds. */
	memcpy(today, dbv("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')", 0,
	    NULL), 11);
	snprintf(want, sizeof(want), "@gina1: 1 followers, 0 following, since %s. "
	    "Gina G - I keep pigeons", today);
	TEXT(2, h, "WHOIS gina1");
	GETS(h, want);
	TEXT(0, gi, "STATS");
	GETS(gi, "You have 1 followers. Your latest post was delivered to ");
	TEXT(0, gi, "DELETE");
	GETS(gi, "Your latest post was deleted.");
	TEXT(2, h, "GET gina1");
	wait_count(h, "@gina1: first post", 2);
}
END_TEST

START_TEST(test_stop_start)
{
	const char *s = "+212661000601", *t = "+212661000602";
	const char *params[] = { s };

	join(0, s, "JOIN sam1", "@sam1");
	join(1, t, "JOIN tom1", "@tom1");
	TEXT(0, s, "FOLLOW tom1");
	GETS(s, "You now follow @tom1");
	TEXT(0, s, "STOP please");
	GETS(s, "You will get no more SMS from Pigeon. Text START to come back.");
	/* Every path: a second STOP, replies, fan-out, DM, operator sends. */
	TEXT(0, s, "arrêt");
	TEXT(0, s, "HELP");
	TEXT(0, s, "FOLLOW nobody1");
	TEXT(1, t, "tom posts while sam is away");
	TEXT(1, t, "D sam1 are you there?");
	ck_assert_str_eq(dbv("SELECT pigeon_send($1, 'operator says hi', 1::smallint)",
	    1, params), "(null)");
	settle();
	ck_assert_int_eq(h_received_count(&g, s), 3);	/* welcome, follow, the confirmation */
	ck_assert_int_eq(count_of(s, "no more SMS"), 1);

	TEXT(0, s, "START");
	GETS(s, "Welcome back! Your SMS updates are on again.");
	TEXT(1, t, "tom posts again");
	GETS(s, "@tom1: tom posts again");
	ck_assert_int_eq(count_of(s, "away"), 0);
	ck_assert_int_eq(count_of(s, "are you there"), 0);

	/* Opt-outs that were published to every follower while the phone
	 * stayed subscribed. */
	TEXT(1, t, "FOLLOW sam1");
	GETS(t, "You now follow @sam1");
	TEXT(0, s, "Désabonnez-moi");
	wait_count(s, "no more SMS", 2);
	TEXT(0, s, "START");
	wait_count(s, "Welcome back!", 2);
	TEXT(0, s, "Arrêtez les SMS s'il vous plaît");
	wait_count(s, "no more SMS", 3);
	settle();
	ck_assert_int_eq(count_of(t, "@sam1:"), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'sam1'", 0, NULL), 0);
}
END_TEST

/* STOP, then JOIN: @zed was made but the welcome, and every reply
 * after it, went nowhere. A JOIN opts the phone back in, as START does. */
START_TEST(test_stop_then_join)
{
	const char *z = "+212661000611", *m = "+212661000612";
	const char *pz[] = { z }, *pm[] = { m };

	TEXT(0, z, "STOP");
	GETS(z, "You will get no more SMS from Pigeon.");
	TEXT(0, z, "JOIN zed1");
	GETS(z, "Welcome to Pigeon, @zed1!");
	ck_assert_str_eq(dbv("SELECT count(*) FROM optouts WHERE phone = $1", 1, pz), "0");
	TEXT(0, z, "STATS");
	GETS(z, "You have 0 followers and no post yet.");
	/* A member who said STOP: JOIN is a request to come back too. */
	join(1, m, "JOIN mel1", "@mel1");
	TEXT(1, m, "OFF");
	GETS(m, "Your SMS updates are off.");
	TEXT(1, m, "STOP");
	GETS(m, "You will get no more SMS from Pigeon.");
	TEXT(1, m, "JOIN mel2");
	GETS(m, "You are already on Pigeon as @mel1.");
	ck_assert_str_eq(dbv("SELECT count(*) || ' ' || bool_and(a.updates_on) FROM "
	    "accounts a WHERE a.phone = $1 AND NOT EXISTS (SELECT 1 FROM optouts o "
	    "WHERE o.phone = a.phone)", 1, pm), "1 true");
}
END_TEST

START_TEST(test_flood_limit)
{
	const char *w = "+212661000701";
	char text[32];

	join(0, w, "JOIN walt1", "@walt1");
	for (int i = 1; i <= 50; i++) {
		snprintf(text, sizeof(text), "flood %d", i);
		TEXT(i % 2, w, text);
	}
	GETS(w, "Too many messages: at most 10 a minute and 200 a day.");
	settle();
	/* JOIN and nine posts in the minute; the other 41 kept, ignored. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'walt1'", 0, NULL), 9);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = '+212661000701' AND state = 'ignored'", 0, NULL), 41);
	ck_assert_int_eq(count_of(w, "Too many messages"), 1);
	ck_assert_int_eq(h_received_count(&g, w), 2);
}
END_TEST

/* UCS-2 texts of 150 characters: three parts each. */
#define AR150	"أرسل هذا النص الطويل جدا عبر ثلاث رسائل قصيرة لنرى هل يصل كاملا وبالترتيب الصحيح إلى كل المتابعين دون أي خطأ في التجميع أو الترتيب أبدا والله"
#define FR150	"Ça, c'est un très long message en français qui doit être découpé en trois parties, arriver dans le désordre et être recollé correctement ; voilà."

START_TEST(test_concatenated_incoming)
{
	const char *x = "+212661000801", *y = "+212661000802", *z = "+212661000803";

	join(0, x, "JOIN xena1", "@xena1");
	join(0, y, "JOIN yuri1", "@yuri1");
	join(1, z, "JOIN zoe1", "@zoe1");
	/* Same reference 77 from two senders, parts out of order, one after
	 * the other on one modem; a 16-bit reference on another. */
	ck_assert_int_eq(h_deliver(&g, 0, x, AR150, "--order 3,1,2 --ref 77"), 0);
	ck_assert_int_eq(h_deliver(&g, 0, y, FR150, "--order 2,3,1 --ref 77"), 0);
	ck_assert_int_eq(h_deliver(&g, 1, z, FR150 " 16", "--order 3,1,2 --ref16 4660"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM posts p JOIN accounts a ON "
	    "a.id = p.account_id WHERE a.handle IN ('xena1', 'yuri1', 'zoe1')", NULL,
	    "3", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts WHERE concat_ref = 77",
	    0, NULL), 6);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts WHERE concat_ref = 4660",
	    0, NULL), 3);
	ck_assert_str_eq(dbv("SELECT p.text FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'xena1'", 0, NULL), AR150);
	ck_assert_str_eq(dbv("SELECT p.text FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'yuri1'", 0, NULL), FR150);
	ck_assert_str_eq(dbv("SELECT p.text FROM posts p JOIN accounts a "
	    "ON a.id = p.account_id WHERE a.handle = 'zoe1'", 0, NULL), FR150 " 16");

	/* Strictly interleaved, one part per poll, as pigeond stores them:
	 * X1 Y1 X3 Y2 X2 Y3, all with reference 99. */
	static const char *const seq[6][3] = {
		{ "x", "1", "Xa " }, { "y", "1", "Ya " }, { "x", "3", "Xc" },
		{ "y", "2", "Yb " }, { "x", "2", "Xb " }, { "y", "3", "Yc" } };
	for (int i = 0; i < 6; i++) {
		const char *from = seq[i][0][0] == 'x' ? x : y;
		char js[512];
		const char *params[] = { js };
		snprintf(js, sizeof(js), "[{\"modem\":\"sim0\",\"sender\":\"%s\","
		    "\"sender_norm\":\"%s\",\"sender_kind\":\"e164\","
		    "\"time\":\"2026-11-26T08:00:0%dZ\",\"coding\":\"gsm\","
		    "\"text\":\"%s\",\"ref\":99,\"total\":3,\"seq\":%s}]",
		    from, from, i, seq[i][2], seq[i][1]);
		ck_assert_str_eq(dbv("SELECT pigeon_inbox_store($1::jsonb)", 1, params), "1");
	}
	ck_assert_str_eq(dbv("SELECT string_agg(text, '|' ORDER BY id) FROM "
	    "inbox_messages WHERE text LIKE 'Xa%' OR text LIKE 'Ya%'", 0, NULL),
	    "Xa Xb Xc|Ya Yb Yc");
}
END_TEST

/*
 * Two hosts store the two halves of one long SMS at once, each through
 * its own link (an SMSC may spread a long SMS's parts over its binds;
 * links of one name are driven by one host, and their rows' lock already
 * kept their batches apart): each transaction saw only
 * its own part, neither joined them, and the message waited 10 minutes
 * for pigeon_inbox_expire. The second store now waits for the first to
 * commit and joins both.
 */
START_TEST(test_concatenated_two_hosts)
{
	PGconn *a = h_db_connect(g.conninfo), *b = h_db_connect(g.conninfo);
	const char *from = "+212661000960";
	char js[2][512], bpid[16];
	PGresult *res;
	long waiting = 0;

	for (int i = 0; i < 2; i++)
		snprintf(js[i], sizeof(js[i]), "[{\"modem\":\"bind-%c\",\"sender\":\"%s\","
		    "\"sender_norm\":\"%s\",\"sender_kind\":\"e164\","
		    "\"time\":\"2026-11-26T09:00:0%dZ\",\"coding\":\"gsm\","
		    "\"text\":\"%s\",\"ref\":321,\"total\":2,\"seq\":%d}]",
		    'a' + i, from, from, i, i == 0 ? "two hosts, " : "one message", i + 1);
	const char *pa[] = { js[0] }, *pb[] = { js[1] };
	PQclear(PQexec(a, "BEGIN"));
	res = PQexecParams(a, "SELECT pigeon_inbox_store($1::jsonb)", 1, NULL, pa, NULL,
	    NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
	PQclear(res);
	snprintf(bpid, sizeof(bpid), "%d", PQbackendPID(b));
	ck_assert(PQsendQueryParams(b, "SELECT pigeon_inbox_store($1::jsonb)", 1, NULL, pb,
	    NULL, NULL, 0) == 1);
	/* b either waits for a (the fix) or is done (without it). */
	for (long t0 = h_now_ms(); h_now_ms() - t0 < WAIT_MS; h_sleep_ms(10)) {
		const char *pp[] = { bpid };
		ck_assert_int_eq(PQconsumeInput(b), 1);
		if (!PQisBusy(b))
			break;
		waiting = h_db_long(g.db, "SELECT count(*) FROM pg_stat_activity WHERE "
		    "pid = $1::integer AND wait_event_type = 'Lock'", 1, pp);
		if (waiting)
			break;
	}
	PQclear(PQexec(a, "COMMIT"));
	while ((res = PQgetResult(b)) != NULL) {
		ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		    PQresultErrorMessage(res));
		PQclear(res);
	}
	const char *pf[] = { from };
	ck_assert_str_eq(dbv("SELECT coalesce(string_agg(text || ' ' || parts || ' ' || "
	    "complete, '|'), 'none') FROM inbox_messages WHERE sender = $1", 1, pf),
	    "two hosts, one message 2 true");
	PQfinish(a);
	PQfinish(b);
}
END_TEST

/*
 * A phone reuses a concatenation reference (256 values; cheap phones
 * restart their counter): long SMS A (reference 7, 2 parts) loses its
 * part 2 in the network, and minutes later by the network's time stamps
 * long SMS B comes with reference 7 too. B's part 2 completed A's part 1:
 * A1+B2 was posted, and B1 was applied alone 10 minutes later. Now the
 * parts of one SMS are those sent together (their SCTS within 2 minutes):
 * B arrives whole, in either order of its parts, and A1 waits alone for
 * concat_timeout; a B2 whose B1 is lost too is not A's tail when the wait
 * runs out.
 */
#define REUSE_A	"Ça commence ici : la tête du message A, dont la seconde partie " \
		"se perd en route. FIN-A"
#define REUSE_B	"Été comme hiver, voici le message B en entier : il doit arriver " \
		"seul et complet chez chaque abonné, même tôt."
/* What part 1 of REUSE_A holds (UCS-2: 67 characters). */
#define REUSE_A1 "Ça commence ici : la tête du message A, dont la seconde partie se p"

/* Delivers the listed parts of text from phone with reference 7 and
 * SCTS at, and waits until pigeond has stored them (n parts in all). */
static void
deliver_parts(const char *phone, const char *text, const char *at, const char *lose,
    const char *n)
{
	char opts[128];

	snprintf(opts, sizeof(opts), "--ref 7 --time %s%s%s", at, lose ? " --lose " : "",
	    lose ? lose : "");
	ck_assert_int_eq(h_deliver(&g, 0, phone, text, opts), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE "
	    "sender_norm = $1 AND concat_ref = 7", phone, n, WAIT_MS), 0);
}

START_TEST(test_concatenated_reference_reused)
{
	const char *q = "+212661000971", *r = "+212661000972", *s = "+212661000973",
	    *f = "+212661000974";
	const char *a1 = "2026-11-26T10:00:00Z", *b = "2026-11-26T10:04:00Z";

	join(0, q, "JOIN quin1", "@quin1");
	join(0, r, "JOIN rita1", "@rita1");
	join(0, s, "JOIN sami1", "@sami1");
	join(1, f, "JOIN fay1", "@fay1");
	TEXT(1, f, "FOLLOW quin1");
	GETS(f, "You now follow @quin1");
	TEXT(1, f, "FOLLOW rita1");
	GETS(f, "You now follow @rita1");
	TEXT(1, f, "FOLLOW sami1");
	GETS(f, "You now follow @sami1");

	/* A1, (A2 lost), B1, B2; then A1, B2, B1. */
	deliver_parts(q, REUSE_A, a1, "2", "1");
	deliver_parts(q, REUSE_B, b, "2", "2");
	deliver_parts(q, REUSE_B, b, "1", "3");
	deliver_parts(r, REUSE_A, a1, "2", "1");
	deliver_parts(r, REUSE_B, b, "1", "2");
	deliver_parts(r, REUSE_B, b, "2", "3");
	GETS(f, "@quin1: " REUSE_B);
	GETS(f, "@rita1: " REUSE_B);
	settle();
	for (int i = 0; i < 2; i++) {
		const char *who[] = { i == 0 ? q : r };
		ck_assert_str_eq(dbv("SELECT string_agg(text || ' ' || parts || ' ' || "
		    "complete, '|' ORDER BY id) FROM inbox_messages WHERE sender = $1 AND "
		    "text NOT LIKE 'JOIN %'", 1, who), REUSE_B " 2 true");
		/* A1 waits alone for its part 2, as a lost part's message does. */
		ck_assert_str_eq(dbv("SELECT string_agg(text, '|') FROM inbox_parts "
		    "WHERE sender_norm = $1 AND message_id IS NULL", 1, who), REUSE_A1);
	}
	ck_assert_int_eq(count_of(f, "FIN-A"), 0);
	ck_assert_int_eq(count_of(f, "la tête du"), 0);

	/* A1, (A2 lost), (B1 lost), B2: each waits, then goes alone: A1 as
	 * the incomplete message it is, B2 kept, not applied. */
	deliver_parts(s, REUSE_A, a1, "2", "1");
	deliver_parts(s, REUSE_B, b, "1", "2");
	settle();
	const char *ps[] = { s };
	ck_assert_str_eq(dbv("SELECT count(*) FROM inbox_messages WHERE sender = $1 AND "
	    "text NOT LIKE 'JOIN %'", 1, ps), "0");
	dbv("UPDATE inbox_parts SET received_at = received_at - interval '11 minutes' "
	    "WHERE sender_norm = $1 AND message_id IS NULL RETURNING id", 1, ps);
	/* pigeond's janitor (every 30 s) finds their wait over. */
	GETS(f, "@sami1: " REUSE_A1);
	settle();
	ck_assert_str_eq(dbv("SELECT string_agg(state || ' ' || parts || ' ' || complete || "
	    "' ' || text, '|' ORDER BY id) FROM inbox_messages WHERE sender = $1 AND "
	    "text NOT LIKE 'JOIN %'", 1, ps), "done 1 false " REUSE_A1 "|ignored 1 false "
	    "l et complet chez chaque abonné, même tôt.");
	ck_assert_int_eq(count_of(f, "@sami1: Été"), 0);
	ck_assert_int_eq(h_received_count(&g, f), 7);
}
END_TEST

/*
 * The hour now in UTC, and the quiet window [hour, hour + 2) around it: a
 * test begun at hh:59:59 is still inside it an hour later, its holds end
 * over 30 minutes ahead, and 12 hours later (the restart below) is outside
 * it, whichever of the two hours the clock is in by then.
 */
START_TEST(test_sleep_hold_release)
{
	const char *u = "+212661000901", *v = "+212661000902";
	time_t now = time(NULL);
	struct tm tm;
	char cmd[32], want[96];

	gmtime_r(&now, &tm);
	snprintf(cmd, sizeof(cmd), "SLEEP %d %d", tm.tm_hour, (tm.tm_hour + 2) % 24);
	snprintf(want, sizeof(want), "Quiet hours from %d:00 to %d:00", tm.tm_hour,
	    (tm.tm_hour + 2) % 24);

	join(0, u, "JOIN una1", "@una1");
	join(1, v, "JOIN vic1", "@vic1");
	TEXT(1, v, "FOLLOW una1");
	GETS(v, "You now follow @una1");
	TEXT(1, v, cmd);
	GETS(v, want);

	/* Inside the window: held, not sent. */
	TEXT(0, u, "held post one");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE text = "
	    "'@una1: held post one' AND state = 'queued' AND held_since IS NOT NULL "
	    "AND next_attempt_at > now() + interval '30 minutes'", NULL,
	    "1", WAIT_MS), 0);
	settle();
	ck_assert_int_eq(count_of(v, "held post one"), 0);
	/* Replies to commands are never held. */
	TEXT(1, v, "STATS");
	GETS(v, "You have 0 followers");

	/* SLEEP OFF releases what was held. */
	TEXT(1, v, "SLEEP OFF");
	GETS(v, "Quiet hours are off");
	GETS(v, "@una1: held post one");

	/* Held again, then too old: dropped and counted. (In lower case:
	 * not the first SMS's text, which the same phone sending within one
	 * second of the simulator's clock would be that SMS read twice.) */
	memcpy(cmd, "sleep", 5);
	TEXT(1, v, cmd);
	wait_count(v, want, 2);
	TEXT(0, u, "held post two");
	TEXT(0, u, "held post three");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE held_since "
	    "IS NOT NULL AND state = 'queued'", NULL,
	    "2", WAIT_MS), 0);
	dbv("UPDATE outbox SET created_at = now() - interval '13 hours' "
	    "WHERE text = '@una1: held post three' RETURNING id", 0, NULL);
	ck_assert_int_eq(h_db_long(g.db, "SELECT pigeon_hold_expire()", 0, NULL), 1);
	ck_assert_str_eq(dbv("SELECT state FROM outbox WHERE text = "
	    "'@una1: held post three'", 0, NULL), "expired");
	ck_assert_int_eq(h_db_long(g.db, "SELECT value FROM counters WHERE name = "
	    "'held_expired'", 0, NULL), 1);

	/* pigeond restarts in a time zone where it is 12 hours later: the
	 * window is over, the held update goes. */
	snprintf(config_later, sizeof(config_later), "post_max = 160\n"
	    "fanout_parts_gsm = 2\ntimezone = Etc/GMT-12\n");
	h_gateway_restart(&g, config_later);
	GETS(v, "@una1: held post two");
	settle();
	ck_assert_int_eq(count_of(v, "held post three"), 0);
	ck_assert_int_eq(count_of(v, "held post two"), 1);
}
END_TEST

static Suite *
suite(void)
{
	/* Four cases, a gateway each, that tests/run may run side by side. */
	Suite *s = suite_create("commands");
	TCase *tc = tcase_create("social");
	TCase *po = tcase_create("posts");
	TCase *acc = tcase_create("account");
	TCase *sl = tcase_create("sleep");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_join_help_lang);
	tcase_add_test(tc, test_join_filler);
	tcase_add_test(tc, test_follow_leave_on_off);
	tcase_add_test(tc, test_on_off_at_typo);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(po, setup, teardown);
	tcase_set_timeout(po, 240);
	tcase_add_test(po, test_post_rules);
	tcase_add_test(po, test_dm);
	tcase_add_test(po, test_trailing_emoji);
	tcase_add_test(po, test_invisible_text);
	tcase_add_test(po, test_loose_post_coding);
	suite_add_tcase(s, po);
	tcase_add_unchecked_fixture(acc, setup, teardown);
	tcase_set_timeout(acc, 240);
	tcase_add_test(acc, test_get_whois_stats_profile_delete);
	tcase_add_test(acc, test_stop_start);
	tcase_add_test(acc, test_stop_then_join);
	tcase_add_test(acc, test_flood_limit);
	suite_add_tcase(s, acc);
	tcase_add_unchecked_fixture(sl, setup, teardown);
	tcase_set_timeout(sl, 240);
	tcase_add_test(sl, test_concatenated_incoming);
	tcase_add_test(sl, test_concatenated_two_hosts);
	tcase_add_test(sl, test_concatenated_reference_reused);
	tcase_add_test(sl, test_sleep_hold_release);
	suite_add_tcase(s, sl);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
