/*
 * Issue 14, items 2, 3 and 8: hostile phones. Forged second lines in the
 * copies of a post, DM and profile; the per-recipient daily ceiling on
 * every path; two auto-responding phones that follow each other; the
 * per-link daily budget in /metrics; empty SMS. One gateway serves every
 * test (each uses its own phones), through simulated modems and a real
 * pigeond and PostgreSQL. Also: one phone's flood does not hold another
 * phone's command behind it (a gateway of its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS	60000
#define NMODEMS	3
#define TOKEN	"hostile-phone-test-token-0123456789"
#define CEILING	8	/* recipient_day */
#define ROUNDS	3	/* loop_rounds */

static struct h_gateway g;
static const char config[] =
    "timezone = UTC\nlimit_minute = 30\nrecipient_day = 8\nloop_rounds = 3\n";
/* test_link_budget's own gateway: 2 parts a link a day. */
#define BUDGET	2
static const char config_budget[] =
    "timezone = UTC\nlimit_minute = 30\nlink_budget_day = 2\n";
/* test_flood's: no sender limit, so that each SMS of the flood is a post. */
#define FLOOD	"3000"	/* SMS, twelve fetches (commands.c, FETCH_MAX 250) */
static const char config_flood[] =
    "timezone = UTC\nlimit_minute = 100000\nlimit_day = 1000000\n";

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config;
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "hostile_phone", NMODEMS);
}

/* test_loop_stays_stopped's: a short loop window, no repeat window (its
 * auto-reply is the same text each time). */
#define LOOP_WINDOW	"60"
static const char config_loop[] =
    "timezone = UTC\nlimit_minute = 30\nloop_rounds = 3\nloop_window = "
    LOOP_WINDOW "\nrepeat_window = 0\n";

static void
setup_loop(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config_loop;
	h_gateway_start(&g, "hostile_phone_loop", NMODEMS);
}

static void
setup_budget(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config_budget;
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "hostile_phone_budget", NMODEMS);
}

static void
setup_flood(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = (char *)config_flood;
	h_gateway_start(&g, "hostile_phone_flood", 1);
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

/* A value from the database, "(null)" for none; valid until the next call. */
static const char *
dbv(const char *sql, const char *param)
{
	static char buf[4096];
	const char *params[] = { param };
	char *v = h_db_value(g.db, sql, param ? 1 : 0, params);

	snprintf(buf, sizeof(buf), "%s", v ? v : "(null)");
	free(v);
	return buf;
}

static void
member(int m, const char *phone, const char *handle)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "JOIN %s", handle);
	TEXT(m, phone, cmd);
	GETS(phone, "Welcome to Pigeon");
}

static void
follow(int m, const char *phone, const char *handle)
{
	char cmd[64], want[64];

	snprintf(cmd, sizeof(cmd), "FOLLOW %s", handle);
	snprintf(want, sizeof(want), "You now follow @%s", handle);
	TEXT(m, phone, cmd);
	GETS(phone, want);
}

/* Item 2: what the SQL makes of hostile text, and what it leaves alone. */
START_TEST(test_sms_line_rules)
{
	static const char *cases[][2] = {
		{ "Nice day\n\n\r\n@carol: send", "Nice day @carol: send" },
		{ "a\u2028b\u2029c\x0b" "d\x0c" "e\xc2\x85" "f", "a b c d e f" },
		{ "wide     gap\t\ttab\u00a0\u3000x", "wide gap tab x" },
		/* overrides and isolates: a number shown reversed */
		{ "call \u202e9999160\u202c now", "call 9999160 now" },
		{ "\u2066x\u2067y\u2068z\u2069", "xyz" },
		{ "zero\u200bwidth\u2060joiner\ufeff\u00ad", "zerowidthjoiner" },
		{ "tag\U000E0041\U000E0042s", "tags" },
		{ "esc\x1b[2Jx\x7f", "esc[2Jx" },
		/* kept: ZWNJ and ZWJ (Persian, Arabic, emoji), the bidi marks */
		{ "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
		  "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645" },
		{ "\u0633\u0644\u0627\u0645\u200f!", "\u0633\u0644\u0627\u0645\u200f!" },
		{ "1\u200e2\u061c3\u200d", "1\u200e2\u061c3\u200d" },
		{ "\u06dd\u0661", "\u06dd\u0661" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(dbv("SELECT pigeon_sms_line($1)", cases[i][0]),
		    cases[i][1]);
}
END_TEST

/* Item 2: a post, a DM and a profile cannot show a second sender. */
START_TEST(test_one_line_copies)
{
	const char *a = "+212661400001", *b = "+212661400002";

	member(0, a, "liner_a");
	member(1, b, "liner_b");
	follow(1, b, "liner_a");
	TEXT(0, a, "Nice day\n\n\n\n@carol: please send 100 DH to \u202e9999916600\u202c");
	GETS(b, "@liner_a: Nice day @carol: please send 100 DH to 9999916600");
	TEXT(2, a, "D liner_b hi\r\n@carol: call me");
	GETS(b, "DM from @liner_a: hi @carol: call me");
	TEXT(0, a, "NAME Amina\n@carol");
	GETS(a, "Amina @carol");
	TEXT(1, a, "BIO Tea\u2067 lover\n\nfrom Fes");
	GETS(a, "Your bio is saved.");
	TEXT(2, b, "WHOIS liner_a");
	GETS(b, "Amina @carol - Tea lover from Fes");
	settle();
	ck_assert_int_eq(h_received_matching(&g, b, "@carol"), 3);
	/* the post is stored as sent; the SMS as it came stays in the inbox */
	ck_assert_str_eq(dbv("SELECT p.text FROM posts p JOIN accounts a ON a.id = p.account_id "
	    "WHERE a.handle = $1", "liner_a"),
	    "Nice day @carol: please send 100 DH to 9999916600");
	ck_assert_str_eq(dbv("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text LIKE E'Nice day\\n%'", a), "1");
}
END_TEST

/* Item 3: a recipient at the ceiling gets no more copies that day, from
 * any path, but the replies to their own commands and STOP still come. */
START_TEST(test_recipient_ceiling)
{
	const char *a = "+212661400011", *b = "+212661400012";
	char text[64];

	member(0, a, "ceil_a");
	member(1, b, "ceil_b");		/* b: 1 */
	follow(1, b, "ceil_a");		/* b: 2 */
	for (int i = 1; i <= CEILING - 2; i++) {	/* b: 3..8, operator sends */
		snprintf(text, sizeof(text), "operator news %d", i);
		h_outbox_add(&g, b, text, 1);
	}
	GETS(b, "operator news 6");
	TEXT(0, a, "Post beyond the ceiling");
	GETS(b, "you reached today's limit of 8 SMS");
	long op = h_outbox_add(&g, b, "operator news 7", 1);
	h_wait_outbox(&g, op, "cancelled", WAIT_MS);
	TEXT(2, b, "STATS");
	GETS(b, "You have 0 followers");
	TEXT(0, a, "Second post beyond the ceiling");
	settle();
	ck_assert_int_eq(h_received_matching(&g, b, "beyond the ceiling"), 0);
	ck_assert_int_eq(h_received_matching(&g, b, "operator news 7"), 0);
	ck_assert_int_eq(h_received_matching(&g, b, "today's limit"), 1);
	ck_assert_str_eq(dbv("SELECT count(*) FROM outbox WHERE recipient = $1 AND "
	    "state = 'cancelled' AND last_error = 'recipient daily ceiling of 8 SMS reached'",
	    b), "3");
	TEXT(1, b, "STOP");
	GETS(b, "You will get no more SMS from Pigeon.");
	settle();
	ck_assert_str_eq(dbv("SELECT state FROM outbox WHERE recipient = $1 "
	    "AND reply_key = 'stopped'", b), "sent");
}
END_TEST

/* How many fan-out copies of `from`'s posts `to` has received. */
static int
copies(const char *to, const char *from)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "@%s: ", from);
	return h_received_matching(&g, to, needle);
}

/* Item 3: two phones that answer every SMS by themselves and follow
 * each other. Each answers every copy it gets, until nothing comes for
 * a while or the test's deadline. */
START_TEST(test_autoresponder_loop)
{
	const char *a = "+212661400021", *b = "+212661400022";
	int answered_a = 0, answered_b = 0, posts;
	long deadline;
	char *body = NULL, *log, reply[96];

	member(0, a, "loop_a");
	member(1, b, "loop_b");
	follow(0, a, "loop_b");
	follow(1, b, "loop_a");
	TEXT(0, a, "Hello everyone, first post");
	deadline = h_now_ms() + 90000;
	for (long quiet_since = h_now_ms(); h_now_ms() < deadline; h_sleep_ms(200)) {
		int ca = copies(a, "loop_b"), cb = copies(b, "loop_a");
		/* Each answer with its time, as auto-responders do: the same
		 * text to the loop detector, not the same post (repeat_window). */
		if (ca > answered_a) {
			snprintf(reply, sizeof(reply), "Auto-reply (14:%02d): I am driving, "
			    "I will call you back.", ca);
			TEXT(0, a, reply);
			answered_a = ca;
			quiet_since = h_now_ms();
		}
		if (cb > answered_b) {
			snprintf(reply, sizeof(reply), "Absent until Monday (auto reply %d)", cb);
			TEXT(1, b, reply);
			answered_b = cb;
			quiet_since = h_now_ms();
		}
		posts = atoi(dbv("SELECT count(*) FROM posts p JOIN accounts a "
		    "ON a.id = p.account_id WHERE a.handle IN ('loop_a', 'loop_b')", NULL));
		ck_assert_msg(posts <= 2 * ROUNDS + 2, "the loop goes on: %d posts", posts);
		if (h_now_ms() - quiet_since > 8000 && h_gateway_settle(&g, 1) == 0)
			break;
	}
	ck_assert_msg(h_now_ms() < deadline, "the loop did not stop");
	/* loop_a's first post and three rounds each; loop_b's fourth is stopped */
	ck_assert_int_le(copies(a, "loop_b"), ROUNDS);
	ck_assert_int_le(copies(b, "loop_a"), ROUNDS + 1);
	ck_assert_str_eq(dbv("SELECT result FROM inbox_messages WHERE result LIKE "
	    "'auto-responder loop%' ORDER BY id LIMIT 1", NULL),
	    "auto-responder loop between @loop_b and @loop_a: post not made");
	/* the operator sees it: a log line and a counter in /metrics */
	log = NULL;
	ck_assert_int_ge(asprintf(&log, "%s/pigeond.log", g.dir), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "auto-responder loop between @loop_b", WAIT_MS), 0);
	free(log);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_msg(strstr(body, "pigeon_dropped_total{reason=\"loop_stopped\"} 1") != NULL,
	    "%s", body);
	free(body);
}
END_TEST

/*
 * A loop found stays stopped. botty follows alice and answers each copy
 * of her posts with the same auto-reply, a post carol (who follows
 * botty) gets. Counting only the posts made let the fifth answer through
 * once the first had left loop_window: 3 made, 1 stopped, 3 made, 1
 * stopped, and carol got 6 of 8. Now every answer after the third is
 * stopped; another text of botty's still goes.
 *
 * The window is read on the database's clock, half a window apart each
 * way: the fourth answer comes half a window after the first (the first
 * three still in it: stopped), the fifth once the first has left it (by
 * the posts made, 2 in it; the fourth, stopped, half a window old).
 * Rounds 6 seconds apart against a 20 s window left 2 s of slack to a
 * loaded machine.
 */
#define LOOP_ROUNDS	8
/* botty's first answer is older than $1 seconds, by the database's clock. */
#define FIRST_OLDER	"SELECT now() - min(p.created_at) > make_interval(secs => " \
	"$1::int) FROM posts p JOIN accounts a ON a.id = p.account_id " \
	"WHERE a.handle = 'botty'"
START_TEST(test_loop_stays_stopped)
{
	const char *al = "+212661400031", *bo = "+212661400032", *ca = "+212661400033";
	/* The auto-reply with its time, as auto-responders write it: the
	 * same text to the loop detector (digits left out), and never the
	 * same SMS twice (the same text from the same phone within one
	 * second of the simulator's clock is one SMS read twice: rounds
	 * back to back sent two so). */
	const char *busy = "je vous rappelle plus tard";
	char text[64], reply[64], n[16], half[16];

	snprintf(half, sizeof(half), "%d", atoi(LOOP_WINDOW) / 2);
	member(0, al, "alice");
	member(1, bo, "botty");
	member(2, ca, "carol");
	follow(1, bo, "alice");
	follow(2, ca, "botty");
	for (int i = 1; i <= LOOP_ROUNDS; i++) {
		if (i == 4 || i == 5)
			ck_assert_int_eq(h_wait_db(&g, FIRST_OLDER, i == 4 ? half :
			    LOOP_WINDOW, "t", 3 * atoi(LOOP_WINDOW) * 1000), 0);
		snprintf(text, sizeof(text), "Nouvelle %d du jour", i);
		TEXT(0, al, text);
		GETS(bo, text);
		snprintf(reply, sizeof(reply), "Je suis occupe (14:%02d), %s", i, busy);
		TEXT(1, bo, reply);
		snprintf(n, sizeof(n), "%d", i);
		ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages "
		    "WHERE sender = $1 AND state <> 'new' AND text LIKE 'Je suis occupe%'",
		    bo, n, WAIT_MS), 0);
	}
	TEXT(1, bo, "Match reporte a demain");
	GETS(ca, "@botty: Match reporte a demain");
	settle();
	ck_assert_int_eq(h_received_matching(&g, ca, busy), ROUNDS);
	ck_assert_str_eq(dbv("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND result = 'auto-responder loop between @botty and @alice: post not made'",
	    bo), "5");
}
END_TEST

static int
budget_alert(void *arg)
{
	char *body = NULL;
	int found;

	(void)arg;
	h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body);
	found = body != NULL && strstr(body, "pigeon_link_budget_alert{modem=\"sim0\"} 1") &&
	    strstr(body, "pigeon_link_budget_day 2") &&
	    strstr(body, "pigeon_link_budget_alerts_total ") &&
	    !strstr(body, "pigeon_link_budget_alerts_total 0\n");
	free(body);
	return found;
}

static int
spent_logged(void *arg)
{
	char path[1024], *log;
	int n;

	(void)arg;
	snprintf(path, sizeof(path), "%s/pigeond.log", g.dir);
	log = h_read_file(path);
	n = log ? h_count_lines(log, "daily budget (link_budget_day) is spent") : 0;
	free(log);
	return n == NMODEMS;
}

/* Item 3: each link's parts of the day against link_budget_day: an alert
 * gauge once 80% is spent, and no send past it. */
START_TEST(test_link_budget)
{
	const char *c = "+212661400031";
	char text[32];

	/* more than the links may send today */
	for (int i = 0; i < 4 * NMODEMS; i++) {
		snprintf(text, sizeof(text), "budget %d", i);
		h_outbox_add(&g, c, text, 1);
	}
	ck_assert_msg(h_wait_for(budget_alert, NULL, 30000) == 0, "no budget alert for sim0");
	ck_assert_msg(h_wait_for(spent_logged, NULL, WAIT_MS) == 0,
	    "not every link said its budget is spent");
	/* Every link spent: exactly the budget went out, the rest waits. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND state = 'sent'", c, "6", WAIT_MS), 0);
	ck_assert_str_eq(dbv("SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND state = 'queued'", c), "6");
	ck_assert_int_ge(atoi(dbv("SELECT value FROM counters WHERE name = "
	    "'link_budget_alert'", NULL)), 1);
}
END_TEST

/* Item 8: an empty or blank SMS gets at most one hint a day: the join
 * hint for a stranger, the empty-message hint for a member. */
START_TEST(test_empty_sms)
{
	const char *s = "+212661400041", *m = "+212661400042";

	TEXT(0, s, " ");
	TEXT(1, s, "  \u200b ");
	TEXT(2, s, "hello?");
	member(0, m, "empty_m");
	TEXT(1, m, " ");
	TEXT(2, m, "   ");
	TEXT(0, m, "\u2066\u2069");
	settle();
	ck_assert_int_eq(h_received_count(&g, s), 1);
	ck_assert_int_eq(h_received_matching(&g, s, "Pour vous inscrire"), 1);
	ck_assert_int_eq(h_received_matching(&g, m, "Your message was empty"), 1);
	ck_assert_int_eq(h_received_count(&g, m), 2);	/* welcome, one hint */
	ck_assert_str_eq(dbv("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND result = 'empty: hint already sent today'", m), "2");
}
END_TEST

#define FLOODER	"+212661400051"
#define LATE	"+212661400052"

/* Once the late phone's JOIN is applied: how many of the flood's SMS were
 * still waiting at that moment (one snapshot), in *p; else 0. */
static int
late_applied(void *p)
{
	const char *params[] = { FLOODER, LATE };
	char *v = h_db_value(g.db, "SELECT (SELECT count(*) FROM inbox_messages "
	    "WHERE sender = $1 AND state = 'new') FROM inbox_messages "
	    "WHERE sender = $2 AND text = 'JOIN late' AND state <> 'new'", 2, params);

	if (v != NULL)
		*(long *)p = atol(v);
	free(v);
	return v != NULL;
}

/*
 * A phone's flood: 3,000 SMS waiting in the inbox (a member's posts, as a
 * hijacked or looping phone sends them, or an SMSC repeating one sender),
 * then another phone's JOIN. The inbox was applied oldest first, 250 a
 * batch: the JOIN waited for all 3,000 (twelve batches; behind 20,000,
 * eighty). Each fetch now takes the senders in turn (pigeon_inbox_fetch):
 * the JOIN is applied in the first batch, while most of the flood still
 * waits, and the flood is then applied whole, each SMS once and in the
 * order it came.
 */
START_TEST(test_flood)
{
	const char *flooder[] = { FLOODER, FLOOD };
	long waiting = -1;

	member(0, FLOODER, "flooder");
	settle();
	/* Queued as pigeon_inbox_store makes them; nothing wakes the inbox
	 * until the late phone's SMS is stored. */
	ck_assert_int_eq(h_db_long(g.db, "WITH i AS (INSERT INTO inbox_messages "
	    "(modem, sender, sender_kind, text, parts) SELECT 'sim0', $1, 'e164', "
	    "'flood ' || n, 1 FROM generate_series(1, $2::integer) n ORDER BY n "
	    "RETURNING 1) SELECT count(*) FROM i", 2, flooder), atol(FLOOD));
	TEXT(0, LATE, "JOIN late");

	ck_assert_int_eq(h_wait_for(late_applied, &waiting, WAIT_MS), 0);
	fprintf(stderr, "flood SMS waiting when JOIN late was applied: %ld of %s\n",
	    waiting, FLOOD);
	ck_assert_msg(waiting > atol(FLOOD) / 2, "JOIN late waited for the flood: "
	    "%ld of %s SMS were left when it was applied", waiting, FLOOD);
	GETS(LATE, "Welcome to Pigeon");
	/* A batch is one transaction (its now()): the flood's SMS applied
	 * before the JOIN or with it, whatever the polling above saw. */
	ck_assert_int_le(atol(dbv("SELECT count(*) FROM inbox_messages f, "
	    "inbox_messages j WHERE f.sender = $1 AND f.text LIKE 'flood %' "
	    "AND f.processed_at <= j.processed_at AND j.text = 'JOIN late'",
	    FLOODER)), 250);

	/* Then the whole flood: each SMS one post, in the order it came. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages "
	    "WHERE sender = $1 AND state = 'new'", FLOODER, "0", WAIT_MS), 0);
	ck_assert_str_eq(dbv("SELECT count(*) || ' ' || count(DISTINCT p.text) FROM posts p "
	    "JOIN inbox_messages m ON m.id = p.inbox_id WHERE m.sender = $1 "
	    "AND m.text LIKE 'flood %'", FLOODER), FLOOD " " FLOOD);
	ck_assert_str_eq(dbv("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text LIKE 'flood %' AND state <> 'done'", FLOODER), "0");
	ck_assert_str_eq(dbv("SELECT count(*) FROM (SELECT p.inbox_id < lag(p.inbox_id) "
	    "OVER (ORDER BY p.id) AS back FROM posts p JOIN inbox_messages m "
	    "ON m.id = p.inbox_id WHERE m.sender = $1) x WHERE back", FLOODER), "0");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("hostile_phone");
	TCase *tc = tcase_create("hostile_phone");

	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sms_line_rules);
	tcase_add_test(tc, test_one_line_copies);
	tcase_add_test(tc, test_empty_sms);
	tcase_add_test(tc, test_recipient_ceiling);
	tcase_add_test(tc, test_autoresponder_loop);
	suite_add_tcase(s, tc);
	tc = tcase_create("loop");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, setup_loop, teardown);
	tcase_add_test(tc, test_loop_stays_stopped);
	suite_add_tcase(s, tc);
	tc = tcase_create("budget");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, setup_budget, teardown);
	tcase_add_test(tc, test_link_budget);
	suite_add_tcase(s, tc);
	tc = tcase_create("flood");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, setup_flood, teardown);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
