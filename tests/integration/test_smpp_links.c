/*
 * test_smpp_links.c: the carrier bind as a link: a receiver lost beside
 * its transmitter, a Latin-1 SMSC, the lease, a bind refused, report at
 * reload, what operators see between health polls, and national numbers.
 * A routed bind beside a modem: test_smpp_routes.c.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "h_smpp.h"

static void
setup_split(void)
{
	setup_bind("smpp_split", "bind = transmitter+receiver\nreport = no\n");
}

/* The carrier's "state|state_reason". */
static char *
carrier_state(void)
{
	static const char *const keys[] = { "state", "state_reason" };

	return carrier_fields(keys, 2);
}

/* The carrier's "state|state_reason" starts with want; "...$": is it. */
static int
carrier_is(void *arg)
{
	const char *want = arg;
	char *st = carrier_state();
	size_t n = strlen(want);
	int ok = st != NULL && (want[n - 1] == '$' ?
	    strlen(st) == n - 1 && strncmp(st, want, n - 1) == 0 :
	    strncmp(st, want, n) == 0);

	free(st);
	if (!ok)
		h_sleep_ms(50);
	return ok;
}

/*
 * Transmitter + receiver: the receiver lost alone (and refused when it
 * binds again) leaves the bind online, its reason saying what is down,
 * and sends go on; MO waits at the SMSC and comes once the receiver is
 * back. Before, the link went offline and nothing was sent until then.
 */
START_TEST(test_receiver_lost_alone)
{
	char *body = NULL;

	TEXT("+212661100031", "JOIN split1");
	GETS("+212661100031", "@split1");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"refuse_bind\","
	    "\"count\":100000,\"mode\":\"receiver\"}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\","
	    "\"mode\":\"receiver\"}"));
	ck_assert_msg(h_wait_for(carrier_is, "online|receiver down: ", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	char *st = carrier_state();
	ck_assert_msg(strstr(st, "sending goes on") != NULL, "%s", st);
	free(st);
	/* An operator's send goes out meanwhile. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661100031\",\"text\":\"sent without a receiver\"}",
	    &body), 202);
	free(body);
	GETS("+212661100031", "sent without a receiver");
	/* A text now waits at the SMSC: no receiver to take it. (Not the
	 * first's text: the same content after a receiver lost would be
	 * the SMSC's copy of the first.) */
	TEXT("+212661100031", "join split1");
	ck_assert_int_eq(count_of("+212661100031", "already on Pigeon"), 0);
	/* Drained, then enabled: the receiver is still said down (its
	 * reason went with the drain's). */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/carrier/drain",
	    TOKEN, "", &body), 200);
	free(body);
	ck_assert_msg(h_wait_for(carrier_is, "draining|drained by the operator; "
	    "receiver down: ", WAIT_MS) == 0, "the carrier is %s", carrier_state());
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/carrier/enable",
	    TOKEN, "", &body), 200);
	free(body);
	ck_assert_msg(h_wait_for(carrier_is, "online|receiver down: ", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	/* The receiver back: the reason goes, the text comes. */
	ck_assert_msg(h_wait_for(carrier_is, "online|$", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	GETS("+212661100031", "already on Pigeon as @split1");
}
END_TEST

/*
 * Transmitter + receiver: the answer to a post is lost with the receiver
 * alone (the SMSC drops that session with the answer on it), the bind
 * sending on. The SMSC delivers the post again once the receiver is
 * back: absorbed, one post. Before, no loss was written (the link
 * stayed online), so the copy waited its 2 s and was posted again.
 */
/* phone joins as handle; nothing left unanswered. */
static void
split_member(const char *phone, const char *handle)
{
	char join[64], at[64];

	snprintf(join, sizeof(join), "JOIN %s", handle);
	snprintf(at, sizeof(at), "@%s", handle);
	TEXT(phone, join);
	GETS(phone, at);
	settle();
}

/* phone texts post; the SMSC loses the answer with the receiver that
 * carried it, and delivers the post again once a receiver is back: it
 * is stored once. */
static void
post_answer_lost(const char *phone, const char *post)
{
	const char *params[] = { post };
	long long lost;

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"lose_answer\","
	    "\"count\":1}"));
	lost = h_smsc_count(&smsc, "answers_lost") + 1;
	TEXT(phone, post);
	h_smsc_wait_count(&smsc, "answers_lost", lost, WAIT_MS);
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the post delivered again is still unanswered");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE text = $1", 1, params), 1);
}

START_TEST(test_receiver_lost_with_answer)
{
	const char *post = "the road to Imlil is open again";
	const char *params[] = { post };

	split_member("+212661100036", "split2");
	post_answer_lost("+212661100036", post);
	settle();
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE text = $1",
	    1, params), 1);
}
END_TEST

/*
 * The same with the transmitter down (the bind offline, refused when it
 * binds again) and the receiver still reading: its loss is said and
 * recorded all the same. Before, the worker said nothing of a receiver
 * lost while the link was not up, and the copy was posted again.
 */
START_TEST(test_receiver_lost_sender_down)
{
	split_member("+212661100038", "split4");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"refuse_bind\","
	    "\"count\":100000,\"mode\":\"transmitter\"}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\","
	    "\"mode\":\"transmitter\"}"));
	ck_assert_msg(h_wait_for(carrier_is, "offline|", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	post_answer_lost("+212661100038", "no bus to Zagora before noon");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	ck_assert_msg(h_wait_for(carrier_is, "online|$", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	settle();
}
END_TEST

/* The same while the bind drains (it still reads MO): the loss is
 * recorded in that state too. */
START_TEST(test_receiver_lost_draining)
{
	char *body = NULL;

	split_member("+212661100037", "split3");
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/carrier/drain",
	    TOKEN, "", &body), 200);
	free(body);
	ck_assert_msg(h_wait_for(carrier_is, "draining|", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	post_answer_lost("+212661100037", "the souk of Tnine opens at dawn tomorrow");
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/carrier/enable",
	    TOKEN, "", &body), 200);
	free(body);
	ck_assert_msg(h_wait_for(carrier_is, "online|", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	settle();
}
END_TEST

/* A bind whose SMSC's default alphabet is Latin-1. */
static void
setup_latin1(void)
{
	smsc_args = "--ids hex --default-alphabet latin1";
	setup_bind("smpp_latin1", "default_alphabet = latin1\n");
}

/*
 * A post with a euro sign, GSM-7 to pigeond (capped at fanout_parts_gsm,
 * 2) but UCS-2 on a Latin-1 bind (which has no euro): the follower gets
 * it whole, in 3 UCS-2 parts (fanout_parts_ucs2). It was cut to 2 UCS-2
 * parts, its last third lost.
 */
START_TEST(test_latin1_euro_post_whole)
{
	const char *a = "+212661100073", *b = "+212661100074";
	const char *post = "Souk Had: tomatoes 4 dirhams, onions 3, mint 1 a bunch; "
	    "the Agadir ferry ticket is 12 \xe2\x82\xac this week only, ask at the "
	    "port office before Friday noon";

	TEXT(a, "JOIN latinsouk");
	GETS(a, "@latinsouk");
	TEXT(b, "JOIN latinreader");
	GETS(b, "@latinreader");
	TEXT(b, "FOLLOW latinsouk");
	GETS(b, "You now follow @latinsouk");
	/* Through the API: pigeond asks libgammu, GSM-7 (the euro is in its
	 * extension table). */
	char body[512], *resp = NULL;
	snprintf(body, sizeof(body), "{\"user\":\"latinsouk\",\"text\":\"%s\"}", post);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/posts", TOKEN, body, &resp), 201);
	free(resp);
	GETS(b, "before Friday noon");
}
END_TEST

/* A short lease: a bind throttled for longer holds sends past it. */
static void
setup_lease(void)
{
	pigeon_conf = "timezone = UTC\nlease_seconds = 18\n";
	setup_bind("smpp_lease", "response_timeout = 1\n");
}

/*
 * The SMSC throttles every submit for longer than the lease: the sends
 * the worker still holds (handed 4 windows, it waits out growing pauses)
 * keep their leases, renewed while it has them, and all go once the SMSC
 * takes them again. Before, their leases ran out after 18 s and the
 * reclaim put them back in the queue, maybe_duplicated, for another link
 * or a second copy, while the worker still had them to send.
 */
START_TEST(test_lease_renewed_while_held)
{
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"throttle\","
	    "\"count\":100000}"));
	h_db_exec(g.db, "INSERT INTO outbox (recipient, text, class) SELECT "
	    "'+2126611006' || lpad(i::text, 2, '0'), 'water cut in Derb Sultan "
	    "until ' || i || ' pm', 1 FROM generate_series(1, 40) i");
	/* A send held past its first lease, its lease renewed. */
	ck_assert_msg(h_wait_db(&g, "SELECT count(*) > 0 FROM outbox o WHERE "
	    "o.state = 'sending' AND o.lease_until > (SELECT max(h.at) FROM "
	    "outbox_history h WHERE h.outbox_id = o.id AND h.state = 'sending') "
	    "+ interval '20 seconds'", NULL, "t", WAIT_MS) == 0,
	    "no held send's lease was renewed");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	ck_assert_msg(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE text LIKE "
	    "'water cut in Derb Sultan %' AND state = 'sent'", NULL, "40", 2 * WAIT_MS) == 0,
	    "not all 40 sent");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "last_error LIKE 'lease of %'", 0, NULL), 0);
}
END_TEST

static void
setup_refused(void)
{
	setup_bind("smpp_refused", "");
}

/* The carrier's last_error in GET /api/modems (malloc; "" if none). */
static char *
carrier_last_error(void)
{
	static const char *const keys[] = { "last_error" };
	char *e = carrier_fields(keys, 1);

	return e ? e : strdup("");
}

/* The carrier's last_error is want (h_wait_for): the state and the last
 * error come in two writes, the drop's "link down" one perhaps last. */
static int
last_error_is(void *want)
{
	char *e = carrier_last_error();
	int same = strcmp(e, want) == 0;

	free(e);
	return same;
}

/*
 * A bind the SMSC refuses says the SMSC's command_status in its reason
 * (docs/carrier.md): the code is what the operator asks the carrier
 * about. Before, the reason was "bind: bind failed", the code lost. Bound
 * again, the refusal is no longer the bind's last error.
 */
START_TEST(test_bind_refused_says_its_code)
{
	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	/* The start counts it as a bind, and its ready line names no IMEI
	 * ("0 modem(s), 1 SMPP bind(s)"; it said "1 modem(s)" and "IMEI "). */
	char *path = h_strf("%s/pigeond.log", g.dir), *log = h_read_file(path);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, ": 0 modem(s), 1 SMPP bind(s), host ") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "modem carrier: SMPP ") != NULL &&
	    strstr(log, "IMEI") == NULL, "%s", log);
	free(log);
	free(path);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"refuse_bind\","
	    "\"count\":100000}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\"}"));
	ck_assert_msg(h_wait_for(carrier_is, "offline|bind: command_status 0x0d: bind failed$",
	    WAIT_MS) == 0, "the carrier is %s", carrier_state());
	ck_assert_msg(h_wait_for(last_error_is, "bind: command_status 0x0d: bind failed",
	    WAIT_MS) == 0, "the carrier's last error: %s", carrier_last_error());
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	ck_assert_msg(h_wait_for(carrier_is, "online|$", WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	char *e = carrier_last_error();
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "");
	free(e);
}
END_TEST

/* registered_delivery of the last submit_sm to `to`; -1 if none. */
static long
last_registered(const char *to)
{
	json_t *subs = h_smsc_submits(&smsc), *r;
	long v = -1;
	size_t i;

	json_array_foreach(subs, i, r)
		if (strcmp(json_string_value(json_object_get(r, "dest")), to + 1) == 0)
			v = json_integer_value(json_object_get(r, "registered_delivery"));
	json_decref(subs);
	return v;
}

/* `report = yes` by SIGHUP (no rebind, docs/operator.md) asks receipts
 * from the next send on. Before, the bind kept asking none until its
 * worker restarted. */
START_TEST(test_report_at_reload)
{
	char *body = NULL;

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661100032\",\"text\":\"no receipt asked\"}", &body), 202);
	free(body);
	GETS("+212661100032", "no receipt asked");
	ck_assert_int_eq(last_registered("+212661100032"), 0);
	free(section);
	section = h_smsc_section(&smsc, "carrier", "source_ton = 3\nsource_npi = 0\n"
	    "window = 10\nhealth_seconds = 1\nbind = transmitter+receiver\n"
	    "report = yes\n");
	g.smpp_extra = section;
	/* Written (and SIGHUP), then reloaded once more by the API, which
	 * answers when it is done. */
	h_gateway_reload(&g);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/reload", TOKEN, "", &body), 200);
	free(body);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661100032\",\"text\":\"a receipt asked\"}", &body), 202);
	free(body);
	GETS("+212661100032", "a receipt asked");
	ck_assert_int_eq(last_registered("+212661100032"), 1);
}
END_TEST

/* The bind's section of smpp_view and smpp_national, with extra lines. */
static const char *view_base;

static void
view_section(const char *extra)
{
	char *lines = h_strf("%s%s", view_base, extra);

	free(section);
	section = h_smsc_section(&smsc, "carrier", lines);
	g.smpp_extra = section;
	free(lines);
}

/* A gateway named name with one bind of those lines. */
static void
view_start(const char *name, const char *base)
{
	char sname[64];

	memset(&g, 0, sizeof(g));
	memset(&smsc, 0, sizeof(smsc));
	snprintf(sname, sizeof(sname), "%s-smsc", name);
	h_smsc_start(&smsc, sname, "--ids hex");
	view_base = base;
	section = NULL;
	view_section("");
	g.nsmpp = 1;
	g.extra_config = (char *)"timezone = UTC\n";
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, name, 0);
}

/* Health polls every 5 s: what /api/modems says between two is pigeond's. */
static void
setup_view(void)
{
	view_start("smpp_view", "source_ton = 3\nsource_npi = 0\nhealth_seconds = 5\n");
}

/* The carrier's row of GET /api/modems (a new reference), or NULL. */
static json_t *
carrier_row(void)
{
	char *body = NULL;
	json_t *all, *m, *row = NULL;
	size_t i;

	if (h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body) == 200 &&
	    (all = json_loads(body, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(all, "modems"), i, m)
			if (strcmp(json_string_value(json_object_get(m, "name")),
			    "carrier") == 0)
				row = json_incref(m);
		json_decref(all);
	}
	free(body);
	return row;
}

static int
carrier_bound(void *arg)
{
	json_t *row = carrier_row();
	int ok = row != NULL && json_is_true(json_object_get(row, "bound"));

	(void)arg;
	json_decref(row);
	if (!ok)
		h_sleep_ms(100);
	return ok;
}

/* The first row that shows the carrier in w->state (in w->row): what
 * one answer of /api/modems says together. */
struct row_wait {
	const char *state;
	json_t *row;
};

static int
carrier_row_in(void *arg)
{
	struct row_wait *w = arg;
	json_t *row = carrier_row();

	if (row != NULL && strcmp(json_string_value(json_object_get(row, "state")) ?: "",
	    w->state) == 0) {
		w->row = row;
		return 1;
	}
	json_decref(row);
	h_sleep_ms(20);
	return 0;
}

static void
view_action(const char *action)
{
	char *path = h_strf("/api/modems/carrier/%s", action), *body = NULL;

	ck_assert_int_eq(h_http(g.http_port, "POST", path, TOKEN, "", &body), 200);
	free(body);
	free(path);
}

#define CARRIER_IS(want) ck_assert_msg(h_wait_for(carrier_is, (want), WAIT_MS) == 0, \
	"the carrier is %s, not %s", carrier_state(), (want))

/*
 * What /api/modems says of a bind is true between its health polls: a
 * bind disabled (its worker stopped) or whose session dropped is not
 * "bound" (it said so until its next poll, and a disabled one for ever,
 * beside a frozen health_at), and a stopped worker's sends in flight and
 * rate are not shown. The reason of an enable, a disable or a drain says
 * where it came from: the file (SIGHUP) read "by the operator" too.
 */
START_TEST(test_view_between_polls)
{
	struct row_wait w = { "disabled", NULL };

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	ck_assert_msg(h_wait_for(carrier_bound, NULL, WAIT_MS) == 0, "never bound");

	view_section("enabled = no\n");
	h_gateway_reload(&g);
	ck_assert_msg(h_wait_for(carrier_row_in, &w, WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	char *text = json_dumps(w.row, JSON_COMPACT);
	ck_assert_msg(json_is_false(json_object_get(w.row, "bound")), "%s", text);
	ck_assert_msg(json_object_get(w.row, "rate") == NULL &&
	    json_object_get(w.row, "queued") == NULL, "%s", text);
	ck_assert_int_eq(json_integer_value(json_object_get(w.row, "in_flight")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(w.row, "state_reason")),
	    "enabled = no in the configuration");
	free(text);
	json_decref(w.row);

	view_section("");
	h_gateway_reload(&g);
	CARRIER_IS("online|$");
	ck_assert_msg(carrier_bound(NULL), "online, not bound");

	/* The SMSC drops the bind and refuses it: the first answer that
	 * says offline says not bound. */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"refuse_bind\","
	    "\"count\":100000}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\"}"));
	w.state = "offline";
	w.row = NULL;
	ck_assert_msg(h_wait_for(carrier_row_in, &w, WAIT_MS) == 0,
	    "the carrier is %s", carrier_state());
	text = json_dumps(w.row, JSON_COMPACT);
	ck_assert_msg(json_is_false(json_object_get(w.row, "bound")), "%s", text);
	free(text);
	json_decref(w.row);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	CARRIER_IS("online|$");

	view_action("drain");
	CARRIER_IS("draining|drained by the operator$");
	view_action("enable");
	CARRIER_IS("online|enabled by the operator$");
	view_section("drain = yes\n");
	h_gateway_reload(&g);
	CARRIER_IS("draining|drain = yes in the configuration$");
	view_section("");
	h_gateway_reload(&g);
	CARRIER_IS("online|drain = no in the configuration$");
	view_action("disable");
	CARRIER_IS("disabled|disabled by the operator$");
	view_action("enable");
	CARRIER_IS("online|$");
}
END_TEST

/* A carrier that wants its country's numbers national. */
static void
setup_national(void)
{
	view_start("smpp_national", "dest_ton = 2\ndest_npi = 1\n");
}

/* dest_ton and dest_npi of the last submit_sm to dest, as "TON/NPI". */
static char *
last_dest_type(const char *dest)
{
	json_t *subs = h_smsc_submits(&smsc), *r, *last = NULL;
	size_t i;

	json_array_foreach(subs, i, r)
		if (strcmp(json_string_value(json_object_get(r, "dest")) ?: "", dest) == 0)
			last = r;
	char *t = last == NULL ? strdup("none") : h_strf("%lld/%lld",
	    (long long)json_integer_value(json_object_get(last, "dest_ton")),
	    (long long)json_integer_value(json_object_get(last, "dest_npi")));

	json_decref(subs);
	return t;
}

/*
 * dest_ton = 2: the carrier wants its country's numbers national. A
 * Moroccan phone's answers go to 0661..., TON 2; a foreign number stays
 * international (TON 1). An MO whose sender the SMSC writes nationally
 * with TON 1 (0661...: no international number starts with 0), or TON 2
 * without the trunk 0, or TON 1 with 00, is the member a modem sees,
 * +212661...: stored as +0661..., "not a phone number", it was never
 * applied. The SMSC's receipt, the national number in it, delivers.
 */
START_TEST(test_national_numbers)
{
	const char *phone = "+212661100201", *national = "0661100201";
	char *t, *body = NULL;
	const char *one[] = { phone };

	TEXT_OPTS(national, "JOIN natio1", "--ton 1 --npi 1");
	GETS(national, "Welcome to Pigeon, @natio1!");
	t = last_dest_type(national);
	ck_assert_str_eq(t, "2/1");
	free(t);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE "
	    "phone = $1 AND handle = 'natio1'", 1, one), 1);
	TEXT_OPTS("661100201", "STATS", "--ton 2 --npi 1");
	GETS(national, "You have 0 followers");
	TEXT_OPTS("00212661100201", "NAME Natio", "--ton 1 --npi 1");
	ck_assert_int_eq(h_wait_db(&g, "SELECT name FROM accounts WHERE phone = $1",
	    phone, "Natio", WAIT_MS), 0);

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+33612345678\",\"text\":\"abroad stays international\"}",
	    &body), 202);
	free(body);
	GETS("33612345678", "abroad stays international");
	t = last_dest_type("33612345678");
	ck_assert_str_eq(t, "1/1");
	free(t);

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661100202\",\"text\":\"a national receipt\"}", &body), 202);
	free(body);
	GETS("0661100202", "a national receipt");
	long id = outbox_id("+212661100202", "a national receipt");
	ck_assert(id > 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	ck_assert_int_eq(h_smsc_receipts(&smsc, NULL), 0);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_links");
	TCase *tc = tcase_create("smpp_split");

	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_split, teardown);
	tcase_add_test(tc, test_receiver_lost_alone);
	tcase_add_test(tc, test_receiver_lost_with_answer);
	tcase_add_test(tc, test_receiver_lost_draining);
	tcase_add_test(tc, test_receiver_lost_sender_down);
	tcase_add_test(tc, test_report_at_reload);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_latin1");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_latin1, teardown);
	tcase_add_test(tc, test_latin1_euro_post_whole);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_lease");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_lease, teardown);
	tcase_add_test(tc, test_lease_renewed_while_held);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_refused");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_refused, teardown);
	tcase_add_test(tc, test_bind_refused_says_its_code);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_view");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_view, teardown);
	tcase_add_test(tc, test_view_between_polls);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_national");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_national, teardown);
	tcase_add_test(tc, test_national_numbers);
	suite_add_tcase(s, tc);
	return h_main(s);
}
