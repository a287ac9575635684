/*
 * test_smpp.c: the shortcode end to end over a carrier bind (issue 13): a
 * real pigeond with no modem and one [smpp carrier] link to the simulated
 * SMSC (tests/smsc), phones texting 40404 through the SMSC, asserting what
 * the SMSC received for each phone, receipts turning messages delivered
 * or undelivered, and the bind as operators see it. One gateway serves
 * every test (each uses its own phones).
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

#define WAIT_MS	60000
#define TOKEN	"smpp-token-0123456789abcdef0123456789"

static struct h_gateway g;
static struct h_smsc smsc;
static char *section;
static const char *pigeon_conf =
    "timezone = UTC\npost_max = 160\nfanout_parts_gsm = 2\n";

static int nmodems;	/* simulated modems beside the bind (setup_bank) */
static const char *smsc_args = "--ids hex";	/* the simulator's options */

/* A gateway named name with one [smpp carrier] bind of that window; bind:
 * its `bind` line, or "". */
static void
setup_window(const char *name, int window, const char *bind)
{
	char extra[256], sname[64];

	memset(&g, 0, sizeof(g));
	memset(&smsc, 0, sizeof(smsc));
	snprintf(sname, sizeof(sname), "%s-smsc", name);
	h_smsc_start(&smsc, sname, smsc_args);
	snprintf(extra, sizeof(extra), "source_ton = 3\nsource_npi = 0\n"
	    "window = %d\nhealth_seconds = 1\n%s", window, bind);
	section = h_smsc_section(&smsc, "carrier", extra);
	g.smpp_extra = section;
	g.nsmpp = 1;
	g.extra_config = (char *)pigeon_conf;
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, name, nmodems);
}

static void
setup_bind(const char *name, const char *bind)
{
	setup_window(name, 10, bind);
}

static void
setup(void)
{
	setup_bind("smpp_e2e", "");
}

static void
setup_split(void)
{
	setup_bind("smpp_split", "bind = transmitter+receiver\nreport = no\n");
}

/* Long texts in message_payload, and a daily budget of 3 SMS parts. */
static void
setup_payload(void)
{
	pigeon_conf = "timezone = UTC\nlink_budget_day = 3\n";
	setup_bind("smpp_payload", "long = payload\n");
}

static void
setup_outage(void)
{
	setup_bind("smpp_outage", "");
}

/* A modem beside the bind, as `make run` has them. */
static void
setup_bank(void)
{
	nmodems = 1;
	setup_bind("smpp_bank", "");
	nmodems = 0;
}

static struct h_gateway g2;	/* a second host (setup_account_hosts) */
static char *section2;

/* Two binds of one SMSC account ([smpp orange] and [smpp orange2]: the
 * same host, port and system_id), as docs/carrier.md has them: on one
 * pigeond, or (hosts) orange2 on a second one sharing the database, each
 * bind then taking the phones of its routes. */
static void
setup_account_on(int hosts)
{
	char extra[256], *one, *two;

	memset(&g, 0, sizeof(g));
	memset(&g2, 0, sizeof(g2));
	memset(&smsc, 0, sizeof(smsc));
	h_smsc_start(&smsc, hosts ? "smpp_account_hosts-smsc" : "smpp_account-smsc",
	    "--ids hex");
	/* system_type: how the simulator tells the two binds apart (its
	 * deliver and receipts via, fault lose_answer); no part of the
	 * account. */
	snprintf(extra, sizeof(extra), "source_ton = 3\nsource_npi = 0\n"
	    "health_seconds = 1\nsystem_type = orange\n%s",
	    hosts ? "routes = +21266110030\n" : "");
	one = h_smsc_section(&smsc, "orange", extra);
	snprintf(extra, sizeof(extra), "source_ton = 3\nsource_npi = 0\n"
	    "health_seconds = 1\nsystem_type = orange2\n%s",
	    hosts ? "routes = +21266110031\n" : "");
	two = h_smsc_section(&smsc, "orange2", extra);
	g.extra_config = g2.extra_config = (char *)pigeon_conf;
	g.http_extra = g2.http_extra = "token = " TOKEN "\n";
	if (!hosts) {
		ck_assert(asprintf(&section, "%s\n%s", one, two) != -1);
		free(one);
		free(two);
		g.smpp_extra = section;
		g.nsmpp = 2;
		h_gateway_start(&g, "smpp_account", 0);
		return;
	}
	section = one;
	section2 = two;
	g.smpp_extra = section;
	g.nsmpp = 1;
	h_gateway_start(&g, "smpp_account_a", 0);
	g2.smpp_extra = section2;
	g2.nsmpp = 1;
	h_gateway_start_on(&g2, "smpp_account_b", 0, g.conninfo);
	h_wait_modem(&g, "orange2", "online", WAIT_MS);
}

static void
setup_account(void)
{
	setup_account_on(0);
}

static void
setup_account_hosts(void)
{
	setup_account_on(1);
}

static void
teardown(void)
{
	if (g2.smpp_extra != NULL) {
		h_gateway_stop(&g2);
		free(section2);
		section2 = NULL;
		memset(&g2, 0, sizeof(g2));
	}
	h_gateway_stop(&g);
	h_smsc_stop(&smsc);
	free(section);
}

#define TEXT(from, text) ck_assert_int_eq(h_smsc_deliver(&smsc, (from), (text), NULL), 0)
#define TEXT_OPTS(from, text, opts) \
	ck_assert_int_eq(h_smsc_deliver(&smsc, (from), (text), (opts)), 0)
#define GETS(to, needle) ck_assert_msg(h_smsc_wait_received(&smsc, (to), (needle), \
	WAIT_MS) == 0, "%s never received \"%s\"; got:\n%s", (to), (needle), \
	h_smsc_received(&smsc, (to)))

static int
mo_answered(void *arg)
{
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	int done = json_integer_value(json_object_get(st, "pending_mo")) == 0;

	(void)arg;
	json_decref(st);
	if (!done)
		h_sleep_ms(50);
	return done;
}

/* Nothing left: every MO answered (so committed), nothing due to send. */
static void
settle(void)
{
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the SMSC still has MO messages unanswered");
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
}

static int
count_of(const char *to, const char *needle)
{
	char *all = h_smsc_received(&smsc, to);
	int n = h_count_lines(all, needle);

	free(all);
	return n;
}

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

/* The id of the outbox row to `to` whose text is text; 0 if none. */
static long
outbox_id(const char *to, const char *text)
{
	const char *params[] = { to, text };
	return h_db_long(g.db, "SELECT coalesce(max(id), 0) FROM outbox "
	    "WHERE recipient = $1 AND text = $2", 2, params);
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

/* The message ids the SMSC gave the parts of outbox row id. */
static json_t *
message_ids(long id)
{
	char sid[32];
	const char *params[] = { sid };

	snprintf(sid, sizeof(sid), "%ld", id);
	char *v = h_db_value(g.db, "SELECT coalesce(json_agg(message_id ORDER BY seq), "
	    "'[]') FROM outbox_parts WHERE outbox_id = $1::bigint", 1, params);
	json_t *a = json_loads(v ? v : "[]", 0, NULL);
	free(v);
	return a;
}

/* GET /api/messages/ID, parsed. */
static json_t *
api_message(long id)
{
	char path[64], *body = NULL;
	json_t *m;

	snprintf(path, sizeof(path), "/api/messages/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "GET", path, TOKEN, NULL, &body), 200);
	m = json_loads(body, 0, NULL);
	ck_assert_msg(m != NULL, "GET %s: %s", path, body);
	free(body);
	return m;
}

static void
assert_api_state(long id, const char *state)
{
	char path[64], *body = NULL;
	json_t *m;

	snprintf(path, sizeof(path), "/api/messages/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "GET", path, TOKEN, NULL, &body), 200);
	m = json_loads(body, 0, NULL);
	ck_assert_msg(m != NULL, "GET %s: %s", path, body);
	ck_assert_str_eq(json_string_value(json_object_get(m, "state")), state);
	json_decref(m);
	free(body);
}

START_TEST(test_receipts)
{
	const char *e = "+212661100007", *f = "+212661100008";
	char opts[256];
	size_t i;
	json_t *v;

	TEXT(e, "JOIN eve1");
	GETS(e, "@eve1");
	TEXT(f, "JOIN fred1");
	GETS(f, "@fred1");
	TEXT(f, "FOLLOW eve1");
	GETS(f, "You now follow @eve1");
	TEXT(e, "A receipt will say this one arrived");
	TEXT(e, "And this one will never arrive");
	GETS(f, "@eve1: A receipt will say this one arrived");
	GETS(f, "@eve1: And this one will never arrive");
	long ok = outbox_id(f, "@eve1: A receipt will say this one arrived");
	long ko = outbox_id(f, "@eve1: And this one will never arrive");
	ck_assert(ok > 0 && ko > 0);
	h_wait_outbox(&g, ok, "sent", WAIT_MS);
	h_wait_outbox(&g, ko, "sent", WAIT_MS);
	assert_api_state(ok, "sent");

	/* Hex ids in submit_sm_resp, decimal in the receipt's text. */
	json_t *ids = message_ids(ok);
	ck_assert_int_eq(json_array_size(ids), 1);
	json_array_foreach(ids, i, v) {
		snprintf(opts, sizeof(opts), "%s --text-id decimal", json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	/* The same base, a failure. */
	ids = message_ids(ko);
	ck_assert_int_eq(json_array_size(ids), 1);
	json_array_foreach(ids, i, v) {
		snprintf(opts, sizeof(opts), "%s --stat UNDELIV --err 005",
		    json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	h_wait_outbox(&g, ok, "delivered", WAIT_MS);
	h_wait_outbox(&g, ko, "undelivered", WAIT_MS);
	assert_api_state(ok, "delivered");
	assert_api_state(ko, "undelivered");
	/* Each receipt answered (after its commit) and matched to its message. */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM status_reports "
	    "WHERE outbox_id IS NOT NULL AND modem = 'carrier'", 0, NULL), 2);
	settle();
}
END_TEST

/*
 * An SMSC's intermediate notification (ENROUTE, ACCEPTD) that comes after
 * a part's final receipt (a redelivery after a session drop, or two
 * sessions racing) no longer undoes it: part 1 DELIVRD, part 1 ENROUTE,
 * part 2 DELIVRD is a delivered message. (Part 1 went back to pending and
 * the message stayed sent for ever.)
 */
START_TEST(test_receipt_pending_after_final)
{
	const char *to = "+212661100081";
	char body[512], *resp = NULL, opts[128];
	static const char text[] = "Two parts: the first is confirmed, then an "
	    "intermediate notice comes for it late, and the second is confirmed. "
	    "Pigeon must call the whole message delivered all the same, as it was.";

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	long id = 0;
	for (int i = 0; i < 200 && id == 0; i++) {
		if ((id = outbox_id(to, text)) == 0)
			h_sleep_ms(50);
	}
	ck_assert_int_gt(id, 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 2);
	const char *first = json_string_value(json_array_get(ids, 0));
	const char *second = json_string_value(json_array_get(ids, 1));

	snprintf(opts, sizeof(opts), "%s", first);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	snprintf(opts, sizeof(opts), "%s --stat ENROUTE", first);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	/* Both of the first part's are in before the second part's comes. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports "
	    "WHERE message_id = $1 AND outbox_id IS NOT NULL", first, "2", WAIT_MS), 0);
	snprintf(opts, sizeof(opts), "%s", second);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	json_decref(ids);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");
}
END_TEST

/* A message to `to` through the API: its outbox id once sent. */
static long
api_send(const char *to, const char *text)
{
	char body[512], *resp = NULL;
	long id = 0;

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	for (int i = 0; i < 200 && id == 0; i++) {
		if ((id = outbox_id(to, text)) == 0)
			h_sleep_ms(50);
	}
	ck_assert_int_gt(id, 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	return id;
}

/*
 * Receipts whose stat word is the SMSC's own (stat:FAILED) or the
 * state's number (stat:2): the first a final failure, the second
 * delivered. Before, both were taken for "still tried" and their
 * messages stayed sent for good.
 */
START_TEST(test_receipt_stat_of_its_own)
{
	static const struct { const char *to, *stat, *state; } c[] = {
		{ "+212661100084", "FAILED", "undelivered" },
		{ "+212661100085", "2", "delivered" },
	};
	char opts[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		long id = api_send(c[i].to, "The clinic in Ouarzazate opens at nine");
		h_wait_outbox(&g, id, "sent", WAIT_MS);
		json_t *ids = message_ids(id);
		ck_assert_int_eq(json_array_size(ids), 1);
		snprintf(opts, sizeof(opts), "%s --stat %s",
		    json_string_value(json_array_get(ids, 0)), c[i].stat);
		json_decref(ids);
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
		h_wait_outbox(&g, id, c[i].state, WAIT_MS);
	}
}
END_TEST

/*
 * Receipts whose id is only in receipted_message_id (message_state 2, an
 * empty short_message), to one phone: the two parts' receipts sent back
 * to back, then two messages' receipts one after the other. Each is its
 * own receipt: the second was taken for a copy of the first (back to
 * back) or a duplicate (later), and its message stayed sent.
 */
START_TEST(test_receipts_tlv_only)
{
	const char *to = "+212661100082";
	char req[512];
	static const char text[] = "Two parts, their receipts with no text at all: "
	    "the ids come in the receipted_message_id TLV alone, and both "
	    "arrive at once, as a carrier sends them for a long message's parts.";

	long id = api_send(to, text);
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 2);
	snprintf(req, sizeof(req), "{\"cmd\":\"receipts\",\"ids\":[\"%s\",\"%s\"],"
	    "\"tlv_only\":true}", json_string_value(json_array_get(ids, 0)),
	    json_string_value(json_array_get(ids, 1)));
	json_decref(ids);
	json_t *r = h_smsc_ctl(&smsc, req);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");

	long two[2] = { api_send(to, "The first of two, its receipt in a TLV"),
	    api_send(to, "The second of two, its receipt in a TLV") };
	for (int i = 0; i < 2; i++) {
		ids = message_ids(two[i]);
		snprintf(req, sizeof(req), "%s --tlv-only",
		    json_string_value(json_array_get(ids, 0)));
		json_decref(ids);
		ck_assert_int_eq(h_smsc_receipts(&smsc, req), 0);
		h_wait_outbox(&g, two[i], "delivered", WAIT_MS);
	}
	assert_api_state(two[1], "delivered");
	settle();
}
END_TEST

/* An SMSC whose message ids are UUIDs (Jasmin): the receipt names the
 * id with its dashes, and it matches (its keys were cut down to hex
 * digits only, and no receipt of such an SMSC ever did). */
START_TEST(test_receipts_uuid_ids)
{
	const char *e = "+212661100031", *f = "+212661100032";
	char opts[256];
	size_t i;
	json_t *v;

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"ids\":\"uuid\"}"));
	TEXT(e, "JOIN uuid1");
	GETS(e, "@uuid1");
	TEXT(f, "JOIN uuid2");
	GETS(f, "@uuid2");
	TEXT(f, "FOLLOW uuid1");
	GETS(f, "You now follow @uuid1");
	TEXT(e, "Ids with dashes");
	GETS(f, "@uuid1: Ids with dashes");
	long id = outbox_id(f, "@uuid1: Ids with dashes");
	ck_assert(id > 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 1);
	json_array_foreach(ids, i, v) {
		ck_assert_msg(strchr(json_string_value(v), '-') != NULL,
		    "not a UUID: %s", json_string_value(v));
		snprintf(opts, sizeof(opts), "%s", json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"ids\":\"hex\"}"));
	settle();
}
END_TEST

/* Receipts sent the moment a submit is taken, as some SMSCs do, here even
 * before the submit's answer (answers held 200 ms): before pigeond has
 * the message id, let alone committed it. Each still matches, and none is
 * left counted as unmatched. */
START_TEST(test_receipts_at_once)
{
	long first = 0, id = 0;
	char to[32], sfirst[32];
	long unmatched0 = h_db_long(g.db, "SELECT reports_unmatched FROM modems "
	    "WHERE name = 'carrier'", 0, NULL);

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":200}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"auto_receipt\":\"DELIVRD\"}"));
	for (int i = 0; i < 40; i++) {
		snprintf(to, sizeof(to), "+2126611002%02d", i);
		id = h_outbox_add(&g, to, "A receipt on the heels of its submit", 1);
		if (first == 0)
			first = id;
	}
	snprintf(sfirst, sizeof(sfirst), "%ld", first);
	ck_assert_msg(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE id >= $1::bigint "
	    "AND state = 'delivered'", sfirst, "40", WAIT_MS) == 0,
	    "%ld of 40 delivered", h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "id >= $1::bigint AND state = 'delivered'", 1, (const char *const[]){ sfirst }));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM status_reports WHERE "
	    "outbox_id >= $1::bigint", 1, (const char *const[]){ sfirst }), 40);
	ck_assert_int_eq(h_db_long(g.db, "SELECT reports_unmatched FROM modems "
	    "WHERE name = 'carrier'", 0, NULL), unmatched0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"config\",\"auto_receipt\":\"\"}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":0}"));
}
END_TEST

/*
 * What the SMSC said of a message it did not deliver is what the desk
 * reads: its stat and err in the history, last_error and pigeonctl
 * status, and the part's TP-Status the nearest one (EXPIRED: 70,
 * validity period expired). Every failure was "part 1: not delivered
 * (status 64)", a remote procedure error, whatever the receipt said.
 * Undelivered all the same (the reach and STATS count them so).
 */
START_TEST(test_receipt_outcomes_told)
{
	static const struct {
		const char *stat, *err;
		int tp;
	} cases[] = {
		{ "EXPIRED", "001", 70 }, { "UNDELIV", "005", 64 },
		{ "REJECTD", "011", 99 }, { "DELETED", "002", 72 },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	char opts[128], to[32], want[96], sid[24], *out = NULL, *st;
	long id[N];
	size_t i, k;
	json_t *ids, *v;

	for (i = 0; i < N; i++) {
		snprintf(to, sizeof(to), "+2126611004%02zu", i);
		id[i] = h_outbox_add(&g, to, "Your appointment is at ten", 1);
	}
	for (i = 0; i < N; i++) {
		h_wait_outbox(&g, id[i], "sent", WAIT_MS);
		ids = message_ids(id[i]);
		ck_assert_int_eq(json_array_size(ids), 1);
		json_array_foreach(ids, k, v) {
			snprintf(opts, sizeof(opts), "%s --stat %s --err %s",
			    json_string_value(v), cases[i].stat, cases[i].err);
			ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
		}
		json_decref(ids);
	}
	for (i = 0; i < N; i++) {
		h_wait_outbox(&g, id[i], "undelivered", WAIT_MS);
		snprintf(want, sizeof(want), "part 1: not delivered: %s, err %s "
		    "(status %d)", cases[i].stat, cases[i].err, cases[i].tp);
		st = h_outbox_col(&g, id[i], "last_error");
		ck_assert_msg(strcmp(st, want) == 0, "%s: last_error %s", cases[i].stat, st);
		free(st);
		json_t *m = api_message(id[i]), *h = json_object_get(m, "history");
		const char *last = json_string_value(json_object_get(json_array_get(h,
		    json_array_size(h) - 1), "detail"));
		ck_assert_msg(last && strcmp(last, want) == 0, "history: %s", last);
		json_decref(m);
		snprintf(sid, sizeof(sid), "%ld", id[i]);
		ck_assert_int_eq(h_db_long(g.db, "SELECT status FROM outbox_parts WHERE "
		    "outbox_id = $1::bigint AND seq = 1", 1, (const char *const[]){ sid }),
		    cases[i].tp);
		ck_assert_int_eq(h_run(&out, "%s -c '%s' status %ld 2>&1",
		    h_bin("pigeonctl"), g.config, id[i]), 0);
		ck_assert_msg(strstr(out, want) != NULL, "%s", out);
		free(out);
	}

	/* A receipt that settles nothing (UNKNOWN: the SMSC still tries) is
	 * not in the history, which has the changes, but in the reports:
	 * the message stays sent, and the desk sees why. */
	long u = h_outbox_add(&g, "+212661100409", "Your appointment is at ten", 1);
	h_wait_outbox(&g, u, "sent", WAIT_MS);
	ids = message_ids(u);
	json_array_foreach(ids, k, v) {
		snprintf(opts, sizeof(opts), "%s --stat UNKNOWN --err 000",
		    json_string_value(v));
		ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	}
	json_decref(ids);
	snprintf(sid, sizeof(sid), "%ld", u);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM status_reports WHERE "
	    "outbox_id = $1::bigint", sid, "1", WAIT_MS), 0);
	json_t *m = api_message(u), *r = json_array_get(json_object_get(m, "reports"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "state")), "sent");
	ck_assert_str_eq(json_string_value(json_object_get(r, "stat")) ?: "", "UNKNOWN");
	ck_assert_str_eq(json_string_value(json_object_get(r, "err")) ?: "", "000");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "status")), 32);
	json_decref(m);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' status %ld 2>&1", h_bin("pigeonctl"),
	    g.config, u), 0);
	ck_assert_msg(strstr(out, "UNKNOWN err 000") != NULL, "%s", out);
	free(out);
}
END_TEST

/* A batch of receipts for the probe parts FIRST..LAST, in batches of PER
 * (one call of pigeon_report_receipts each, as pigeond sends them): how
 * many the function answered 'delivered'. */
static long
probe_receipts(int first, int last, int per)
{
	char a[16], b[16], c[16];
	const char *params[] = { a, b, c };

	snprintf(a, sizeof(a), "%d", first);
	snprintf(b, sizeof(b), "%d", last);
	snprintf(c, sizeof(c), "%d", per);
	return h_db_long(g.db, "SELECT count(*) FROM ("
	    "SELECT pigeon_report_receipts(jsonb_agg(jsonb_build_object("
	    "'link', 'probe', 'recipient', '+2126620' || lpad(i::text, 5, '0'), "
	    "'message_id', to_hex(7000000 + i), 'keys', jsonb_build_array("
	    "to_hex(7000000 + i), (7000000 + i)::text), 'status', 0, "
	    "'dedupe', 'probe-' || i))) AS r "
	    "FROM generate_series($1::integer, $2::integer) i GROUP BY i / $3::integer) s "
	    "WHERE r = 'delivered'", 3, params);
}

/* Rows of outbox_parts read so far in this transaction. */
static long
parts_read(void)
{
	return h_db_long(g.db, "SELECT idx_tup_fetch + seq_tup_read "
	    "FROM pg_stat_xact_user_tables WHERE relname = 'outbox_parts'", 0, NULL);
}

/*
 * A receipt reads the part its message id names, not the link's parts,
 * whatever the planner believed when it planned the statements. That is
 * at its worst during a fan-out: outbox_parts was analyzed before it (here:
 * empty), the receipts function's statements were planned and kept while
 * the link had few parts (here: 60), and thousands came since (here:
 * 3,000). Planned then, the lookup by message id and the parts' update
 * read the link's parts for each receipt or batch (644,960 and 33,160 rows
 * for these 200 receipts; a core spent for a minute after a fan-out of
 * 100,000). Counted by PostgreSQL's statistics of the transaction, which
 * is rolled back: pigeond never sees these rows.
 */
START_TEST(test_receipts_read_their_part)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "DELETE FROM outbox_parts");
	h_db_exec(g.db, "ANALYZE outbox_parts");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "SELECT 900000000 + i, '+2126620' || lpad(i::text, 5, '0'), 'probe', "
	    "'sent', 'probe', 1, now() FROM generate_series(1, 3060) i");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "SELECT 900000000 + i, 1, 'probe', to_hex(7000000 + i), "
	    "'+2126620' || lpad(i::text, 5, '0') FROM generate_series(1, 60) i");
	/* Six calls: past the five custom plans, the statements keep a plan
	 * made for 60 parts. */
	long early = probe_receipts(1, 60, 10);
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "SELECT 900000000 + i, 1, 'probe', to_hex(7000000 + i), "
	    "'+2126620' || lpad(i::text, 5, '0') FROM generate_series(61, 3060) i");
	long read0 = parts_read();
	long delivered = probe_receipts(2861, 3060, 20);
	long read = parts_read() - read0;
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_int_eq(early, 60);
	ck_assert_int_eq(delivered, 200);
	ck_assert_msg(read <= 200 * 20, "200 receipts read %ld parts of outbox_parts "
	    "(at most 20 each expected; the link has 3,060)", read);
}
END_TEST

/*
 * A receipt names its message by an id that may be read in hex or in
 * decimal (its keys): "10" is also 16, and "16" may be another message's
 * id on the same link. The receipt goes to the part whose id it gave as
 * written and whose phone it names, never to the newest part one of its
 * readings meets: before, A's receipt delivered B, and a receipt that
 * came before its outcome settled both A and B when their outcomes came
 * in one batch. Rolled back: pigeond never sees these rows.
 */
/* A part an SMSC accepted without a message id keeps none: it was '0',
 * so every such part, whoever it went to, met a receipt of an id 0. */
START_TEST(test_empty_message_id)
{
	char *v = h_db_value(g.db, "SELECT (pigeon_message_id('') IS NULL)::text || ' ' || "
	    "pigeon_message_id('000') || ' ' || pigeon_message_id('00A1F')", 0, NULL);
	ck_assert_str_eq(v, "true 0 a1f");
	free(v);
}
END_TEST

/*
 * A receipt left unmatched two days ago (its part's id never recorded)
 * and a new part to another phone given the same id (the SMSC restarted
 * and counts from 1 again): the new message stays sent. Before, its
 * outcome matched the old receipt: undelivered at once, for good.
 * Rolled back: pigeond never sees these rows.
 */
START_TEST(test_receipt_old_unmatched_not_taken)
{
	h_db_exec(g.db, "BEGIN");
	free(h_db_value(g.db, "SELECT pigeon_report_receipts('["
	    "{\"link\": \"probe\", \"recipient\": \"+212662100031\", \"message_id\": \"4711\", "
	    "\"keys\": [\"4711\"], \"status\": 64, \"stat\": \"UNDELIV\", \"dedupe\": \"probe-o1\"}]')",
	    0, NULL));
	h_db_exec(g.db, "UPDATE status_reports SET received_at = now() - interval '2 days' "
	    "WHERE dedupe = 'probe-o1'");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (910000031, '+212662100032', 'probe o', 'sending', 'probe', 1)");
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000031, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"4711\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *st = h_db_value(g.db, "SELECT state FROM outbox WHERE id = 910000031", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(st, "sent");
	free(st);
}
END_TEST

/*
 * An UNDELIV then a DELIVRD for one part in one batch: the last word,
 * delivered, and one callback's worth of change. Before, the message
 * went delivered, then undelivered in the same commit (the failed
 * receipt was applied after the part had taken the later one).
 * Rolled back: pigeond never sees these rows.
 */
START_TEST(test_receipts_last_word_in_a_batch)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000021, '+212662100021', 'probe u', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000021, 1, 'probe', '7001', '+212662100021')");
	free(h_db_value(g.db, "SELECT pigeon_report_receipts('["
	    "{\"link\": \"probe\", \"recipient\": \"+212662100021\", \"message_id\": \"7001\", "
	    "\"keys\": [\"7001\"], \"status\": 64, \"stat\": \"UNDELIV\", \"dedupe\": \"probe-u1\"}, "
	    "{\"link\": \"probe\", \"recipient\": \"+212662100021\", \"message_id\": \"7001\", "
	    "\"keys\": [\"7001\"], \"status\": 0, \"stat\": \"DELIVRD\", \"dedupe\": \"probe-u2\"}]')",
	    0, NULL));
	/* Its state, and how often its history says undelivered. */
	char *st = h_db_value(g.db, "SELECT state || ' ' || (SELECT count(*) FROM "
	    "outbox_history h WHERE h.outbox_id = o.id AND h.state = 'undelivered') "
	    "FROM outbox o WHERE id = 910000021", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_ptr_nonnull(st);
	ck_assert_msg(strcmp(st, "delivered 0") == 0, "%s", st);
	free(st);
}
END_TEST

START_TEST(test_receipt_ids_read_two_ways)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000001, '+212662100001', 'probe a', 'sent', 'probe', 1, now()), "
	    "(910000002, '+212662100002', 'probe b', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000001, 1, 'probe', '10', '+212662100001'), "
	    "(910000002, 1, 'probe', '16', '+212662100002')");
	char *r = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": \"probe\", "
	    "\"recipient\": \"+212662100001\", \"message_id\": \"10\", "
	    "\"keys\": [\"10\", \"16\"], \"status\": 0, \"dedupe\": \"probe-a\"}]')",
	    0, NULL);
	char *a = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000001, 910000002)", 0, NULL);

	/* The receipt first, then both outcomes in one batch. */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (910000003, '+212662100003', 'probe c', 'sending', 'probe', 1), "
	    "(910000004, '+212662100004', 'probe d', 'sending', 'probe', 1)");
	char *early = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe\", \"recipient\": \"+212662100003\", \"message_id\": \"20\", "
	    "\"keys\": [\"20\", \"32\"], \"status\": 0, \"dedupe\": \"probe-c\"}]')",
	    0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000003, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"20\"], \"report\": true}, "
	    "{\"id\": 910000004, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"32\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *c = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000003, 910000004)", 0, NULL);

	/*
	 * Never another phone's part. The receipt of "18" to ...05 comes
	 * before its submit's outcome is recorded; "18" read in the other
	 * base is 0x12, the id of a message to ...06 sent earlier: it was
	 * matched to that one, which was taken for delivered, and its own
	 * stayed sent for good. The outcome of "24" to ...07 (0x18 is 24)
	 * must not take the receipt of "18" either.
	 */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000006, '+212662100006', 'probe f', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000006, 1, 'probe', '12', '+212662100006')");
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (910000005, '+212662100005', 'probe e', 'sending', 'probe', 1), "
	    "(910000007, '+212662100007', 'probe g', 'sending', 'probe', 1)");
	char *other = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe\", \"recipient\": \"+212662100005\", \"message_id\": \"18\", "
	    "\"keys\": [\"18\", \"12\", \"24\"], \"status\": 0, \"dedupe\": \"probe-e\"}]')",
	    0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000007, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"24\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *before = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000005, 910000006, 910000007)", 0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 910000005, \"link\": \"probe\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"18\"], \"report\": true}]', 5, 60, 86400)", 0, NULL));
	char *after = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000005, 910000006, 910000007)", 0, NULL);
	/* The id as written still names its part, whatever phone the receipt
	 * gives: an SMSC that swaps the addresses writes the sender's. */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (910000008, '+212662100008', 'probe h', 'sent', 'probe', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (910000008, 1, 'probe', '30', '+212662100008')");
	char *swapped = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe\", \"recipient\": \"+212522000000\", \"message_id\": \"30\", "
	    "\"keys\": [\"30\", \"1e\", \"48\"], \"status\": 0, \"dedupe\": \"probe-h\"}]')",
	    0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(r, "delivered");
	ck_assert_str_eq(a, "delivered sent");
	ck_assert_str_eq(early, "unmatched");
	ck_assert_str_eq(c, "delivered sent");
	ck_assert_str_eq(other, "unmatched");
	ck_assert_str_eq(before, "sending sent sent");
	ck_assert_str_eq(after, "delivered sent sent");
	ck_assert_str_eq(swapped, "delivered");
	free(swapped);
	free(r);
	free(a);
	free(early);
	free(c);
	free(other);
	free(before);
	free(after);
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

/* A counter of the carrier's row of GET /api/modems; -1 without one. */
static long long
carrier_counter(const char *name)
{
	char *body = NULL;
	json_t *all, *m, *v;
	size_t i;
	long long n = -1;

	if (h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body) == 200 &&
	    (all = json_loads(body, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(all, "modems"), i, m)
			if (strcmp(json_string_value(json_object_get(m, "name")),
			    "carrier") == 0 && json_is_integer(v = json_object_get(m, name)))
				n = json_integer_value(v);
		json_decref(all);
	}
	free(body);
	return n;
}

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

/* Fields of the carrier's row of GET /api/modems, joined by '|' (malloc;
 * NULL when there is no such row; a missing field is ""). */
static char *
carrier_fields(const char *const *keys, size_t nkeys)
{
	char *body = NULL, *out = NULL;
	json_t *all, *m;
	size_t i, k;

	if (h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body) == 200 &&
	    (all = json_loads(body, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(all, "modems"), i, m) {
			if (strcmp(json_string_value(json_object_get(m, "name")),
			    "carrier") != 0)
				continue;
			for (k = 0; k < nkeys; k++) {
				const char *v = json_string_value(json_object_get(m, keys[k]));
				char *prev = out;
				out = h_strf("%s%s%s", prev ? prev : "", k ? "|" : "", v ? v : "");
				free(prev);
			}
		}
		json_decref(all);
	}
	free(body);
	return out;
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

/*
 * long = payload sends a text of three SMS parts in one submit_sm; the
 * carrier splits it and bills three. The daily budget counted one (the
 * submit), so a bind could send three times its budget of long texts.
 * It counts the parts now: 3 of link_budget_day 3, the alert at 80% up,
 * and the bind's budget spent.
 */
START_TEST(test_payload_counts_its_parts)
{
	char text[400], body[512], *resp = NULL, *metrics = NULL;
	const char *to = "+212600000951";
	int found = 0;

	for (size_t i = 0; i < 399; i++)
		text[i] = "abcdefghij"[i % 10];
	text[399] = '\0';
	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	GETS(to, text);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND state IN ('sent', 'delivered')", to, "1", WAIT_MS), 0);

	/* One submit_sm carried it whole. */
	json_t *subs = h_smsc_submits(&smsc), *r;
	size_t i;
	int n = 0;
	json_array_foreach(subs, i, r)
		if (strcmp(json_string_value(json_object_get(r, "dest")) ?: "",
		    to + 1) == 0) {
			n++;
			ck_assert_str_eq(json_string_value(json_object_get(r,
			    "message_payload")) ?: "", text);
		}
	json_decref(subs);
	ck_assert_int_eq(n, 1);

	/* The desk sees what it cost: 1 part (one submit_sm), 3 SMS billed.
	 * (It read "parts 1" everywhere, the 3 only in the database.) */
	long id = outbox_id(to, text);
	char path[1024], *out = NULL;
	json_t *m = api_message(id);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "parts")), 1);
	ck_assert_msg(json_integer_value(json_object_get(m, "segments")) == 3,
	    "segments: %lld", (long long)json_integer_value(json_object_get(m,
	    "segments")));
	json_decref(m);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' status %ld 2>&1", h_bin("pigeonctl"),
	    g.config, id), 0);
	ck_assert_msg(strstr(out, "parts      1, billed as 3 SMS") != NULL, "%s", out);
	free(out);

	for (int tries = 0; tries < 100 && !found; tries++) {
		free(metrics);
		metrics = NULL;
		if (h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &metrics) == 200 &&
		    metrics != NULL)
			found = strstr(metrics, "pigeon_link_parts_today{modem=\"carrier\"} 3\n")
			    != NULL;
		if (!found)
			h_sleep_ms(100);
	}
	ck_assert_msg(found, "/metrics says: %.200s", metrics && strstr(metrics,
	    "pigeon_link_parts_today{") ? strstr(metrics, "pigeon_link_parts_today{") :
	    "no pigeon_link_parts_today");
	ck_assert_ptr_nonnull(strstr(metrics, "pigeon_link_budget_alert{modem=\"carrier\"} 1\n"));
	free(metrics);
	char *log;
	snprintf(path, sizeof(path), "%s/pigeond.log", g.dir);
	log = h_read_file(path);
	ck_assert_int_eq(log ? h_count_lines(log, "modem carrier: its daily budget "
	    "(link_budget_day) is spent") : 0, 1);
	free(log);
}
END_TEST

/*
 * Over SMPP the parts of a long SMS carry no network time stamp: their
 * arrival does not split them (an SMSC delivers by its own queue). Part
 * 1, the bind dropped and back, part 2, with part 1 put 5 minutes back:
 * one message, whole. (Split at 2 minutes of arrival, it was two SMS:
 * part 1 processed alone after concat_timeout, part 2 kept and never
 * applied.)
 */
static const char apart_text[] = "Le marche de Derb Omar ouvre plus tard demain "
    "matin a cause des travaux sur la route principale, venez apres dix heures "
    "et passez par la rue laterale, merci a tous et bonne soiree!";

START_TEST(test_parts_across_an_outage)
{
	const char *p = "+212661100071";
	const char *ps[] = { p };

	TEXT(p, "JOIN apart1");
	GETS(p, "@apart1");
	TEXT_OPTS(p, apart_text, "--ref 201 --only 1");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE "
	    "sender_norm = $1 AND concat_ref = 201", p, "1", WAIT_MS), 0);
	/* Answered before the drop (else the SMSC delivers it again, and
	 * the copy of a part put 5 minutes back is a new part). */
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the SMSC still has MO messages unanswered");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\"}"));
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) > 0 FROM modem_history WHERE "
	    "modem = $1 AND state <> 'online' AND at > now() - interval '1 minute'",
	    "carrier", "t", WAIT_MS), 0);
	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	/* It came 5 minutes ago (within concat_timeout). */
	ck_assert_int_eq(h_db_long(g.db, "WITH u AS (UPDATE inbox_parts SET received_at = "
	    "received_at - interval '5 minutes' WHERE sender_norm = $1 AND "
	    "concat_ref = 201 AND message_id IS NULL RETURNING 1) SELECT count(*) FROM u",
	    1, ps), 1);
	TEXT_OPTS(p, apart_text, "--ref 201 --only 2");
	/* One message of both parts (the post is longer than this gateway's
	 * post_max: its reply says so, about the whole text). */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND parts = 2 AND complete AND state <> 'new' AND "
	    "text LIKE 'Le marche%bonne soiree!'", p, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts WHERE "
	    "sender_norm = $1 AND message_id IS NULL", 1, ps), 0);
}
END_TEST

static void
setup_failed_parts(void)
{
	/* One submit at a time: a fault lands on part 2. */
	setup_window("smpp_failed_parts", 1, "");
}

/* pigeon_link_parts_today of the bind as /metrics shows it (0: absent). */
static long
bind_parts_today(void)
{
	return h_metric(&g, TOKEN, "pigeon_link_parts_today{modem=\"carrier\"}", 0);
}

static int
bind_counts_accepted(void *arg)
{
	(void)arg;
	if (bind_parts_today() == h_smsc_resps(&smsc, "submit_sm", 0))
		return 1;
	h_sleep_ms(100);
	return 0;
}

/*
 * A long message (405 characters of letters, 3 parts) sent to `to`
 * through the API, whose part 2 the SMSC refuses with status while part
 * 1's answer is held; returns once the message is in `state` (its state
 * and attempts: "failed/1").
 */
static void
part_two_refused(const char *to, const char *letters, int status, const char *state)
{
	char text[406], body[512], fault[96], *resp = NULL;
	long long n0 = h_smsc_count(&smsc, "submit_sm");

	for (int i = 0; i < 405; i++)
		text[i] = letters[i % 10];
	text[405] = '\0';
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":1500}"));
	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	/* Part 1 is at the SMSC, its answer held: part 2 comes after it. */
	h_smsc_wait_count(&smsc, "submit_sm", n0 + 1, WAIT_MS);
	snprintf(fault, sizeof(fault), "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":%d}", status);
	json_decref(h_smsc_ctl(&smsc, fault));
	ck_assert_int_eq(h_wait_db(&g, "SELECT state || '/' || attempts FROM outbox "
	    "WHERE recipient = $1 ORDER BY id DESC LIMIT 1", to, state, WAIT_MS), 0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":0}"));
}

/*
 * The carrier bills each part it accepted: a long message whose part 2
 * of 3 was refused for good (invalid destination) after its part 1 was
 * accepted is billed that part. The bind's parts of the day counted
 * nothing (the message never was sent whole).
 */
START_TEST(test_failed_parts_billed)
{
	part_two_refused("+212600000961", "abcdefghij", 11, "failed/1");
	ck_assert_int_eq(h_smsc_resps(&smsc, "submit_sm", 0), 1);
	ck_assert_msg(h_wait_for(bind_counts_accepted, NULL, 10000) == 0,
	    "parts today %ld, the SMSC accepted %ld", bind_parts_today(),
	    h_smsc_resps(&smsc, "submit_sm", 0));
}
END_TEST

/* The same with part 1 accepted without a message id (as some SMSCs
 * do): billed all the same. Before, only parts with an id were. */
START_TEST(test_failed_parts_billed_without_id)
{
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"raw_id\","
	    "\"hex\":\"\",\"count\":1}"));
	part_two_refused("+212600000963", "uvwxyzabcd", 11, "failed/1");
	ck_assert_msg(h_wait_for(bind_counts_accepted, NULL, 10000) == 0,
	    "parts today %ld, the SMSC accepted %ld", bind_parts_today(),
	    h_smsc_resps(&smsc, "submit_sm", 0));
}
END_TEST

/*
 * The same refusal for a while (0x64, temporary): the message goes back
 * to the queue and is sent again whole, its part 1 reaching the phone a
 * second time. That is counted in maybe_duplicated, as a send whose
 * answer was lost is. Before, it was not.
 */
START_TEST(test_failed_parts_resent_counted)
{
	long maybe = h_db_long(g.db, "SELECT coalesce((SELECT value FROM counters "
	    "WHERE name = 'maybe_duplicated'), 0)", 0, NULL);

	part_two_refused("+212600000962", "klmnopqrst", 100, "queued/1");
	ck_assert_int_eq(h_db_long(g.db, "SELECT value FROM counters WHERE "
	    "name = 'maybe_duplicated'", 0, NULL), maybe + 1);
}
END_TEST

static void
setup_release(void)
{
	setup_bind("smpp_release", "");
}

/* How many deliver_sm_resp the SMSC recorded with that status. */
static long
resps_with_status(long status)
{
	return h_smsc_resps(&smsc, "deliver_sm_resp", status);
}


/*
 * An MO the database refuses to store: pigeond tells the worker
 * (`release`), which answers the deliver_sm ESME_RX_T_APPN at once, and
 * the SMSC delivers it again until it is stored; then it is applied,
 * once. Before, pigeond dropped it without a word and the deliver_sm
 * stayed unanswered at the worker for good: the SMSC never sent it again
 * (its copies on that session joined to it), and the member's FOLLOW was
 * lost.
 */
START_TEST(test_mo_store_failed_released)
{
	const char *a = "+212661300001", *b = "+212661300002";

	TEXT(a, "JOIN relamina");
	GETS(a, "@relamina");
	TEXT(b, "JOIN relbob");
	GETS(b, "@relbob");
	settle();
	h_db_exec(g.db, "ALTER TABLE inbox_parts ADD CONSTRAINT test_refuse "
	    "CHECK (text <> 'FOLLOW relamina') NOT VALID");
	TEXT(b, "FOLLOW relamina");
	int released = h_smsc_wait_resps(&smsc, "deliver_sm_resp", 0x64, 2, 20000);
	h_db_exec(g.db, "ALTER TABLE inbox_parts DROP CONSTRAINT test_refuse");
	ck_assert_msg(released == 0, "the MO pigeond could not store was not "
	    "answered ESME_RX_T_APPN (twice: delivered again) by the worker");
	GETS(b, "You now follow @relamina");
	settle();
	ck_assert_int_eq(count_of(b, "You now follow @relamina"), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE text = 'FOLLOW relamina'", 0, NULL), 1);
}
END_TEST

/* Lets the gateway's database take new connections again (or not). */
static void
allow_connections(int yes)
{
	const char *params[] = { yes ? "true" : "false" };

	ck_assert_int_eq(h_db_long(g.db, "WITH d AS (UPDATE pg_database SET "
	    "datallowconn = $1::boolean WHERE datname = current_database() "
	    "RETURNING 1) SELECT count(*) FROM d", 1, params), 1);
}

/*
 * An MO, text from `from`, stored while pigeond's main connection (the
 * one that holds the link's lock) is gone and cannot come back: the
 * store is held in its statement by holding the link's row
 * (pigeon_inbox_store locks it first) while that connection is
 * terminated, then let go; it commits on the inbox's own connection.
 * then(arg), when given, runs while the lock is still away; new
 * connections are allowed again after it.
 */
static void
store_while_lock_away(const char *from, const char *text, void (*then)(void *),
    void *arg)
{
	PGconn *lk = h_db_connect(g.conninfo);
	char *waiting = NULL, *holder = NULL;
	int paused = -1, stored = -1;

	PQclear(PQexec(lk, "BEGIN"));
	PQclear(PQexec(lk, "SELECT 1 FROM modems WHERE name = 'carrier' FOR UPDATE"));
	TEXT(from, text);
	for (long w0 = h_now_ms(); waiting == NULL && h_now_ms() - w0 < 20000; ) {
		waiting = h_db_value(g.db, "SELECT pid::text FROM pg_stat_activity "
		    "WHERE datname = current_database() AND application_name "
		    "LIKE 'pigeond % inbox' AND wait_event_type = 'Lock'", 0, NULL);
		if (waiting == NULL)
			h_sleep_ms(20);
	}
	if (waiting != NULL)
		holder = h_db_value(g.db, "SELECT pid::text FROM pg_locks "
		    "WHERE locktype = 'advisory' AND classid = 1346979653::oid "
		    "AND database = (SELECT oid FROM pg_database WHERE datname = "
		    "current_database()) AND granted LIMIT 1", 0, NULL);
	if (holder != NULL) {
		const char *bp[] = { holder };
		allow_connections(0);
		ck_assert_int_eq(h_db_long(g.db, "SELECT pg_terminate_backend("
		    "$1::integer)::int", 1, bp), 1);
		char *log = h_strf("%s/pigeond.log", g.dir);
		paused = h_wait_file_contains(log, "paused (no send, no delete)", 20000);
		free(log);
		PQclear(PQexec(lk, "ROLLBACK"));
		stored = h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE text = $1",
		    text, "1", 20000);
		if (then != NULL)
			then(arg);
		allow_connections(1);
	} else {
		PQclear(PQexec(lk, "ROLLBACK"));
	}
	PQfinish(lk);
	ck_assert_msg(waiting != NULL, "the inbox's store never waited for the link's row");
	ck_assert_msg(holder != NULL, "no connection holds the link's lock");
	free(waiting);
	free(holder);
	ck_assert_int_eq(paused, 0);
	ck_assert_msg(stored == 0, "the MO was not stored while the lock was away");
}

/*
 * An MO committed while pigeond's main connection (the one that holds
 * the link's lock) is gone: the inbox's own connection commits it, and
 * the ack is held, not dropped, until the lock is held again, then the
 * deliver_sm is answered. Before, the refused delete was never sent
 * again: the deliver_sm stayed unanswered at the worker for good (a
 * modem's SMS on its SIM until a later worker).
 */
START_TEST(test_mo_ack_after_lock_back)
{
	const char *a = "+212661300003";

	TEXT(a, "JOIN rellock");
	GETS(a, "@rellock");
	settle();
	long before = resps_with_status(0);
	store_while_lock_away(a, "a post while the lock is away", NULL, NULL);
	ck_assert_msg(h_wait_for(mo_answered, NULL, 30000) == 0,
	    "the MO committed while the lock was away is still unanswered");
	ck_assert_int_eq(resps_with_status(0), before + 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE text = 'a post while the lock is away'", 0, NULL), 1);
}
END_TEST

/* A gateway whose worker answers a delivery ESME_RX_T_APPN after 3 s
 * without pigeond's answer, not 5 minutes (PIGEON_SMPP_ACK_WAIT_MS,
 * smpp/main.c). */
static void
setup_redeliver(void)
{
	setenv("PIGEON_SMPP_ACK_WAIT_MS", "3000", 1);
	setup_bind("smpp_redeliver", "");
	unsetenv("PIGEON_SMPP_ACK_WAIT_MS");
}

/* The SMSC's counter name (its `status`). */
static long
smsc_count(const char *name)
{
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	long n = json_integer_value(json_object_get(json_object_get(st, "counts"),
	    name));

	json_decref(st);
	return n;
}

/* The SMSC has sent at least *arg deliver_sm (its counter). */
static int
delivered_reached(void *arg)
{
	if (smsc_count("deliver_sm") >= *(long *)arg)
		return 1;
	h_sleep_ms(50);		/* each look asks the simulator */
	return 0;
}

/* While the lock is still away past the worker's wait: ESME_RX_T_APPN,
 * and the SMSC delivers it again on the same session. */
struct again_arg {
	long again;		/* ESME_RX_T_APPN answers to wait for */
	long delivered;		/* deliver_sm the SMSC has sent by then */
	int answered, redelivered;
};

static void
answered_and_redelivered(void *p)
{
	struct again_arg *a = p;

	a->answered = h_smsc_wait_resps(&smsc, "deliver_sm_resp", 0x64, a->again, 20000);
	a->redelivered = h_wait_for(delivered_reached, &a->delivered, 20000);
}

/*
 * A lock outage longer than the worker's wait: the MO is stored and
 * committed (on the inbox's connection), its acknowledgement is held for
 * the lock, the worker answers the deliver_sm ESME_RX_T_APPN once its
 * wait runs out, and the SMSC delivers it again on the same session (the
 * link never went down). The post reaches the follower once. Before, the
 * redelivery was stored as a new SMS (the store took one for a
 * redelivery only when the link had gone down since the first copy):
 * the post published twice.
 */
START_TEST(test_mo_answered_again_stored_once)
{
	const char *a = "+212661300011", *b = "+212661300012";
	const char *post = "Souk el had opens at nine tomorrow, bring bags";
	const char *pp[] = { post };

	TEXT(a, "JOIN againamina");
	GETS(a, "@againamina");
	TEXT(b, "JOIN againbob");
	GETS(b, "@againbob");
	TEXT(b, "FOLLOW againamina");
	GETS(b, "You now follow @againamina");
	settle();
	struct again_arg w = { resps_with_status(0x64) + 1,
	    smsc_count("deliver_sm") + 2, -1, -1 };
	store_while_lock_away(a, post, answered_and_redelivered, &w);
	ck_assert_msg(w.answered == 0, "the worker never answered the held MO "
	    "ESME_RX_T_APPN");
	ck_assert_msg(w.redelivered == 0, "the SMSC did not deliver it again");
	ck_assert_msg(h_wait_for(mo_answered, NULL, 30000) == 0,
	    "the MO delivered again is still unanswered");
	GETS(b, post);
	settle();
	ck_assert_msg(count_of(b, post) == 1, "the follower got the post %d "
	    "times:\n%s", count_of(b, post), h_smsc_received(&smsc, b));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE text = $1", 1, pp), 1);
}
END_TEST

/* pigeon_inbox_store of one SMPP part of carrier's (an alphanumeric
 * sender: nothing is answered), key and text as given, flagged a
 * redelivery or not: how many parts it stored. */
static long
store_part(const char *key, const char *text, int redelivery)
{
	json_t *p = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}]",
	    "modem", "carrier", "sender", "PROMOSHOP", "sender_norm", "PROMOSHOP",
	    "sender_kind", "alpha", "smsc", "carrier", "coding", "gsm",
	    "text", text, "link_key", key);
	char *arg;

	if (redelivery)
		json_object_set_new(json_array_get(p, 0), "redelivery", json_true());
	arg = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	const char *params[] = { arg };
	long n = h_db_long(g.db, "SELECT pigeon_inbox_store($1::jsonb)", 1, params);
	free(arg);
	return n;
}

/*
 * The store's side, by itself: a copy the worker calls a redelivery is
 * absorbed when the first copy is stored on that link within the window,
 * and stored when none is (the first's store failed, or it never
 * reached pigeond); the same key without it, the link never down, is a
 * new SMS (a second STOP after a START).
 */
START_TEST(test_store_takes_redelivery)
{
	ck_assert_int_eq(store_part("smpp:00000000000a9a01", "Soldes -50%", 0), 1);
	ck_assert_int_eq(store_part("smpp:00000000000a9a01", "Soldes -50%", 1), 0);
	ck_assert_int_eq(store_part("smpp:00000000000a9a01", "Soldes -50%", 0), 1);
	ck_assert_int_eq(store_part("smpp:00000000000a9a02", "Soldes -70%", 1), 1);
	ck_assert_int_eq(store_part("smpp:00000000000a9a02", "Soldes -70%", 1), 0);
	/* The first copy out of the window: stored. */
	h_db_exec(g.db, "UPDATE inbox_parts SET received_at = received_at - "
	    "interval '16 minutes' WHERE link_key = 'smpp:00000000000a9a02'");
	ck_assert_int_eq(store_part("smpp:00000000000a9a02", "Soldes -70%", 1), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts "
	    "WHERE sender_norm = 'PROMOSHOP'", 0, NULL), 4);
}
END_TEST

/* The id the SMSC issued (its record's) for its last message to `to`. */
static void
issued_id(const char *to, char *out, size_t size)
{
	json_t *subs = h_smsc_submits(&smsc), *r;
	size_t i;

	out[0] = '\0';
	json_array_foreach(subs, i, r) {
		const char *dest = json_string_value(json_object_get(r, "dest"));
		const char *mid = json_string_value(json_object_get(r, "message_id"));
		if (dest != NULL && mid != NULL && strcmp(dest, to + 1) == 0)
			snprintf(out, size, "%s", mid);
	}
	json_decref(subs);
	ck_assert_msg(out[0] != '\0', "no submit_sm to %s accepted", to);
}

/*
 * An SMSC whose message ids are bytes that are not UTF-8: 30 bytes of
 * 0xE9 (each was U+FFFD, 90 bytes, and pigeond ignored the `sent`: the
 * message stayed sending, was sent again at each lease's end and held a
 * send slot for good), then 60 (its receipt was ignored too, answered
 * 0x64 and delivered again for ever). Each message is sent, its id
 * written in hex, and its receipt, by the TLV or by the text, meets it.
 */
START_TEST(test_raw_message_ids)
{
	const char *to = "+212661100083";
	char hex[2 * 64 + 1], want[4 + sizeof(hex)], issued[64], opts[128];
	long id;
	json_t *ids, *r;

	for (int i = 0; i < 64; i++)
		memcpy(hex + 2 * i, "e9", 3);
	hex[60] = '\0';		/* 30 bytes */
	r = h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"raw_id\","
	    "\"hex\":\"%s\",\"count\":1}", hex);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	id = api_send(to, "An id of thirty bytes that are no text");
	snprintf(want, sizeof(want), "hex:%s", hex);
	ids = message_ids(id);
	ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), want);
	json_decref(ids);
	for (int i = 0; i < 200 && carrier_counter("unsettled") != 0; i++)
		h_sleep_ms(50);
	ck_assert_int_eq(carrier_counter("unsettled"), 0);
	issued_id(to, issued, sizeof(issued));
	snprintf(opts, sizeof(opts), "%s --tlv-only", issued);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);

	/* 60 bytes: a head in hex and a hash; the receipt names it in its
	 * text and in receipted_message_id. */
	memset(hex, 0, sizeof(hex));
	for (int i = 0; i < 60; i++)
		memcpy(hex + 2 * i, "e9", 3);
	r = h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"raw_id\","
	    "\"hex\":\"%s\",\"count\":1}", hex);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	id = api_send(to, "An id of sixty bytes that are no text");
	ids = message_ids(id);
	const char *got = json_string_value(json_array_get(ids, 0));
	ck_assert_msg(got != NULL && strncmp(got, "hex:e9e9", 8) == 0 &&
	    strchr(got, '~') != NULL && strlen(got) <= 64, "id %s", got ? got : "none");
	json_decref(ids);
	issued_id(to, issued, sizeof(issued));
	snprintf(opts, sizeof(opts), "%s --tlv", issued);	/* text and TLV */
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	assert_api_state(id, "delivered");
	settle();
}
END_TEST

/*
 * A phone is answered from the number it texted: the shortcode (the bind)
 * or a modem's long number. Replies went to whichever link had waited
 * longest, so a phone that texted 40404 twice got one answer from
 * 40404 and the next from a long number it never wrote to (where its
 * own replies then went). Two commands from each phone in a row: taking
 * turns, the links would give each phone one answer each.
 */
START_TEST(test_answered_from_the_number_texted)
{
	const char *amina = "+212661500001", *badr = "+212661500002";

	TEXT(amina, "JOIN amina");
	GETS(amina, "@amina");
	TEXT(amina, "STATS");
	GETS(amina, "You have 0 followers");
	ck_assert_int_eq(h_text(&g, 0, badr, "JOIN badr"), 0);
	ck_assert_int_eq(h_wait_received(&g, badr, "@badr", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, badr, "STATS"), 0);
	ck_assert_int_eq(h_wait_received(&g, badr, "You have 0 followers", WAIT_MS), 0);
	settle();
	ck_assert_int_eq(count_of(amina, "@amina"), 1);
	ck_assert_int_eq(count_of(amina, "You have 0 followers"), 1);
	ck_assert_int_eq(h_received_matching(&g, amina, ""), 0);
	ck_assert_int_eq(count_of(badr, ""), 0);
}
END_TEST

/*
 * An SMSC delivers a receipt to any receiver bound with the account's
 * system_id, not to the bind that sent the message (the simulator to
 * the first bound). With two sections of one account, the receipts of
 * what the other bind sent came in on the first, never matched (counted
 * in its reports_unmatched), and those messages stayed sent for ever.
 */
/* Posts 8 messages through g's API, to phones even0, odd1, even2 ...
 * odd7, the even ones via orange and the odd ones via orange2 (routes
 * are a preference: on a loaded machine one host took all eight); their
 * ids in id, and as "id,id,..." in ids. */
static void
post_eight(const char *even, const char *odd, long *id, char *ids, size_t idsz)
{
	char to[32], body[160], *resp = NULL;

	ids[0] = '\0';
	for (int i = 0; i < 8; i++) {
		snprintf(to, sizeof(to), "%s%d", i % 2 ? odd : even, i);
		snprintf(body, sizeof(body), "{\"to\":\"%s\",\"via\":\"%s\",\"text\":"
		    "\"Sent on either bind, receipted on one (%d)\"}", to,
		    i % 2 ? "orange2" : "orange", i);
		ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
		    body, &resp), 202);
		json_t *r = json_loads(resp, 0, NULL);
		id[i] = (long)json_integer_value(json_object_get(r, "id"));
		json_decref(r);
		free(resp);
		resp = NULL;
		ck_assert(id[i] > 0);
		snprintf(ids + strlen(ids), idsz - strlen(ids), "%s%ld", i ? "," : "",
		    id[i]);
	}
}

/* The 8 messages sent, by both binds, then receipted all on one: each is
 * delivered, no receipt unmatched. */
static void
assert_receipted_across(const long *id, const char *ids)
{
	const char *params[] = { ids };
	char want[64];

	for (int i = 0; i < 8; i++)
		h_wait_outbox(&g, id[i], "sent", WAIT_MS);
	/* Both binds sent some (else this shows nothing). */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(DISTINCT modem) FROM outbox "
	    "WHERE id = ANY (('{' || $1 || '}')::bigint[])", 1, params), 2);
	/* Receipts for all, on whichever bind the SMSC picks. */
	ck_assert_int_eq(h_smsc_receipts(&smsc, NULL), 0);
	for (int i = 0; i < 8; i++)
		h_wait_outbox(&g, id[i], "delivered", WAIT_MS);
	for (int i = 0; i < 8; i++)
		assert_api_state(id[i], "delivered");
	ck_assert_int_eq(h_db_long(g.db, "SELECT sum(reports_in) FROM modems "
	    "WHERE name IN ('orange', 'orange2')", 0, NULL), 8);
	ck_assert_int_eq(h_db_long(g.db, "SELECT sum(reports_unmatched) FROM modems "
	    "WHERE name IN ('orange', 'orange2')", 0, NULL), 0);
	/* The account as the pigeond of each recorded it: never the password. */
	char *acct = h_db_value(g.db, "SELECT string_agg(DISTINCT account, ' ') "
	    "FROM modems WHERE name IN ('orange', 'orange2')", 0, NULL);
	snprintf(want, sizeof(want), "pigeon@127.0.0.1:%d", smsc.port);
	ck_assert_str_eq(acct, want);
	free(acct);
}

/*
 * An SMSC delivers a receipt to any receiver bound with the account's
 * system_id, not to the bind that sent the message (the simulator to
 * the first bound). With two sections of one account, the receipts of
 * what the other bind sent came in on the first, never matched (counted
 * in its reports_unmatched), and those messages stayed sent for ever.
 */
START_TEST(test_receipts_on_another_bind)
{
	long id[8];
	char ids[256];

	post_eight("+21266110020", "+21266110020", id, ids, sizeof(ids));
	assert_receipted_across(id, ids);
	settle();
}
END_TEST

/* The SMSC loses the next answer orange gives it (fault lose_answer: its
 * session closed with the answer on it); the count of answers it lost
 * once that has happened. */
static long long
lose_orange_answer(void)
{
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"lose_answer\","
	    "\"count\":1,\"via\":\"orange\"}"));
	return h_smsc_count(&smsc, "answers_lost") + 1;
}

/* reports_in of the account's two binds together. */
static long
account_reports_in(void)
{
	return h_db_long(g.db, "SELECT sum(reports_in) FROM modems "
	    "WHERE name IN ('orange', 'orange2')", 0, NULL);
}

/*
 * An SMSC delivers again a deliver_sm whose answer it did not get, to any
 * receiver bound with the account. An MO (a DM from a to b) and a
 * receipt (of a message to c) come in on orange, are stored, and the
 * SMSC loses their answers (the connection breaks with them on it): it
 * delivers each again at once, on orange2. The DM reaches its reader
 * once, the receipt is counted once. Before, the copy of the DM was
 * mostly stored as a new SMS and the DM sent twice: orange's loss,
 * written on pigeond's main connection (or by another host), was
 * committed after the copy had been stored; the receipt was stored
 * again under orange2's name, two reports for the message and
 * reports_in counted twice. Ends with orange bound again.
 */
static void
answer_lost_on_sibling(const char *a, const char *b, const char *c)
{
	const char *dm = "DM from @sibamina: the well in the lower village is dry";
	char opts[160];
	long long lost;

	TEXT(a, "JOIN sibamina");
	GETS(a, "@sibamina");
	TEXT(b, "JOIN sibbadr");
	GETS(b, "@sibbadr");
	TEXT(b, "FOLLOW sibamina");
	GETS(b, "You now follow @sibamina");
	settle();

	/* The MO: stored through orange, applied, delivered again on orange2. */
	lost = lose_orange_answer();
	TEXT_OPTS(a, "D sibbadr the well in the lower village is dry",
	    "--via orange --again-via orange2");
	h_smsc_wait_count(&smsc, "answers_lost", lost, WAIT_MS);
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the MO delivered again on orange2 is still unanswered");
	GETS(b, dm);
	settle();
	ck_assert_msg(count_of(b, dm) == 1, "the DM came %d times:\n%s",
	    count_of(b, dm), h_smsc_received(&smsc, b));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE text LIKE 'D sibbadr %'", 0, NULL), 1);
	h_wait_modem(&g, "orange", "online", WAIT_MS);

	/* The receipt: the same. */
	long in = account_reports_in();
	long id = api_send(c, "Your parcel waits at the post office");
	json_t *ids = message_ids(id);
	ck_assert_int_eq(json_array_size(ids), 1);
	lost = lose_orange_answer();
	snprintf(opts, sizeof(opts), "%s --via orange --again-via orange2",
	    json_string_value(json_array_get(ids, 0)));
	json_decref(ids);
	ck_assert_int_eq(h_smsc_receipts(&smsc, opts), 0);
	h_smsc_wait_count(&smsc, "answers_lost", lost, WAIT_MS);
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the receipt delivered again on orange2 is still unanswered");
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	json_t *m = api_message(id);
	ck_assert_msg(json_array_size(json_object_get(m, "reports")) == 1,
	    "GET /api/messages/%ld shows %zu reports", id,
	    json_array_size(json_object_get(m, "reports")));
	json_decref(m);
	ck_assert_int_eq(account_reports_in(), in + 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT sum(reports_unmatched) FROM modems "
	    "WHERE name IN ('orange', 'orange2')", 0, NULL), 0);
	h_wait_modem(&g, "orange", "online", WAIT_MS);
	settle();
}

START_TEST(test_answer_lost_redelivered_on_sibling)
{
	answer_lost_on_sibling("+212661100040", "+212661100041", "+212661100042");
}
END_TEST

/* The same with orange2 on another pigeond host (each bind sends to the
 * phones of its routes). */
START_TEST(test_answer_lost_redelivered_on_other_host)
{
	answer_lost_on_sibling("+212661100300", "+212661100310", "+212661100301");
}
END_TEST

/*
 * The answer to an MO is lost on the way to the SMSC (the session stays
 * up), then host A, which stored and applied it, is SIGKILLed: it writes
 * no news of its bind's end, and the SMSC delivers the MO again on
 * orange2, host B's bind. That copy is absorbed, as no host holds
 * orange's lock any more. Before, it waited its 2 s for news that no
 * one would write, and was stored and applied as a new SMS: the DM
 * queued twice.
 */
START_TEST(test_answer_lost_host_killed)
{
	const char *a = "+212661100302", *b = "+212661100311";
	const char *dm = "DM from @sibkilla: the bus to Tinghir leaves at six";
	long long lost;

	TEXT(a, "JOIN sibkilla");
	GETS(a, "@sibkilla");
	TEXT(b, "JOIN sibkillb");
	GETS(b, "@sibkillb");
	TEXT(b, "FOLLOW sibkilla");
	GETS(b, "You now follow @sibkilla");
	settle();

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"lose_answer\","
	    "\"count\":1,\"via\":\"orange\",\"keep\":true}"));
	lost = h_smsc_count(&smsc, "answers_lost") + 1;
	TEXT_OPTS(a, "D sibkillb the bus to Tinghir leaves at six",
	    "--via orange --again-via orange2");
	/* Answered by host A: stored, committed. */
	h_smsc_wait_count(&smsc, "answers_lost", lost, WAIT_MS);
	h_stop(g.pigeond, SIGKILL, 1000);
	g.pigeond = 0;
	/* Answered once stored (or absorbed): a copy held is not. */
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the MO delivered again on orange2 is still unanswered");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE text LIKE 'D sibkillb %'", 0, NULL), 1);
	/* One DM queued. Host A may have had it leased, even submitted,
	 * when it was killed: back, it sends it (again, then: counted in
	 * maybe_duplicated, the at-least-once of a send a kill cut short). */
	const char *params[] = { b };
	ck_assert_int_eq(h_wait_db(&g2, "SELECT count(*) FROM inbox_messages "
	    "WHERE state = 'new'", NULL, "0", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient "
	    "= $1 AND text LIKE 'DM from @sibkilla: %'", 1, params), 1);
	h_pigeond_start(&g);
	h_wait_modem(&g, "orange", "online", WAIT_MS);
	GETS(b, dm);
	settle();
}
END_TEST

/* Lines of host a's log that say pigeond got an SMS of `from` on orange. */
static int
orange_sms_from(const char *from)
{
	char *path = h_strf("%s/pigeond.log", g.dir), *log = h_read_file(path);
	const char *needle = "modem orange: sms at ";
	int n = 0;

	/* The line ends "from +2126...": counted by the number alone. */
	for (char *l = log; l != NULL && (l = strstr(l, needle)) != NULL; l++) {
		char *eol = strchr(l, '\n');
		char *at = strstr(l, from);
		if (at != NULL && (eol == NULL || at < eol))
			n++;
	}
	free(log);
	free(path);
	return n;
}

struct sms_seen {
	const char *from;
	int n;
};

static int
orange_sms_reached(void *arg)
{
	struct sms_seen *w = arg;

	if (orange_sms_from(w->from) >= w->n)
		return 1;
	h_sleep_ms(50);
	return 0;
}

/*
 * Host a's database goes away (its connections cut, none let in) while
 * the SMSC delivers an MO (a DM) on orange: pigeond keeps the part,
 * unstored, unanswered. The SMSC then closes its sessions; the worker
 * drops the delivery from its book, and the SMSC delivers it again on
 * orange2, host b's bind, which stores and applies it. The database
 * back, host a stored its copy too: the copy of one stored on a bind
 * seen alive, held 2 s, then stored as a new SMS: the DM queued twice.
 * Now the worker says which deliveries it dropped, and pigeond forgets
 * them: the DM is stored and queued once. What a sent after it on
 * orange is applied, after it.
 */
START_TEST(test_dropped_while_database_away)
{
	const char *a = "+212661100304", *b = "+212661100313";
	const char *text = "D sibdropb the clinic closes early on Friday";
	const char *dm = "DM from @sibdropa: the clinic closes early on Friday";
	const char *bb[] = { b };
	char *host = strrchr(g.dir, '/') + 1;
	const char *hp[] = { host };

	TEXT(a, "JOIN sibdropa");
	GETS(a, "@sibdropa");
	TEXT(b, "JOIN sibdropb");
	GETS(b, "@sibdropb");
	TEXT(b, "FOLLOW sibdropa");
	GETS(b, "You now follow @sibdropa");
	settle();
	/* Host a's database away: no connection in, its own cut. */
	allow_connections(0);
	ck_assert_int_ge(h_db_long(g.db, "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE datname = current_database() AND "
	    "application_name LIKE 'pigeond ' || $1 || '%'", 1, hp), 1);
	char *log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "paused (no send, no delete)",
	    WAIT_MS), 0);
	free(log);
	/* The DM, delivered on orange: at host a's pigeond, kept there. */
	struct sms_seen seen = { a, orange_sms_from(a) + 1 };
	TEXT_OPTS(a, text, "--via orange --again-via orange2");
	ck_assert_msg(h_wait_for(orange_sms_reached, &seen, WAIT_MS) == 0,
	    "host a's pigeond never got the DM");
	/* The SMSC closes its sessions: the DM again, on orange2. */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\"}"));
	ck_assert_int_eq(h_wait_db(&g2, "SELECT count(*) FROM outbox WHERE "
	    "recipient = $1 AND text LIKE 'DM from @sibdropa: %'", b, "1",
	    WAIT_MS), 0);
	/* The database back for host a; then a's next SMS, on orange, waits
	 * behind its DM if host a holds it (the same phone). */
	allow_connections(1);
	h_wait_modem(&g, "orange", "online", WAIT_MS);
	TEXT_OPTS(a, "D sibdropb and opens at eight on Saturday", "--via orange");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "text = 'D sibdropb and opens at eight on Saturday' AND state <> 'new'",
	    NULL, "1", WAIT_MS), 0);
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the SMSC still has MO messages unanswered");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE text LIKE 'D sibdropb the clinic %'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "recipient = $1 AND text LIKE 'DM from @sibdropa: the clinic %'", 1, bb), 1);
	GETS(b, dm);
	GETS(b, "DM from @sibdropa: and opens at eight on Saturday");
	ck_assert_msg(count_of(b, dm) == 1, "the DM came %d times:\n%s",
	    count_of(b, dm), h_smsc_received(&smsc, b));
	h_wait_modem(&g2, "orange2", "online", WAIT_MS);
}
END_TEST

/* pigeon_inbox_store_parts (p_hold) of a batch of SMPP parts from an
 * alphanumeric sender (nothing is answered), each "LINK KEY [SENDER]
 * [redelivery] [settled] [emission=E]": "STORED HELD" (HELD: the places
 * held, "-" for none). */
static char *
store_parts(int n, const char *const *parts)
{
	json_t *a = json_array();
	char *arg, *v, buf[160];

	for (int i = 0; i < n; i++) {
		char *w[5] = { NULL }, *save = NULL;
		int nw = 0;
		snprintf(buf, sizeof(buf), "%s", parts[i]);
		for (char *t = strtok_r(buf, " ", &save); t != NULL && nw < 5;
		    t = strtok_r(NULL, " ", &save))
			w[nw++] = t;
		const char *sender = nw > 2 && strncmp(w[2], "SIB", 3) == 0 ? w[2] : "SIBSHOP";
		json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "modem", w[0], "sender", sender, "sender_norm", sender,
		    "sender_kind", "alpha", "smsc", w[0], "coding", "gsm",
		    "text", "Soldes sur tout le magasin", "link_key", w[1]);
		for (int k = 2; k < nw; k++)
			if (strcmp(w[k], "redelivery") == 0 || strcmp(w[k], "settled") == 0)
				json_object_set_new(p, w[k], json_true());
			else if (strncmp(w[k], "emission=", 9) == 0)
				json_object_set_new(p, "emission", json_string(w[k] + 9));
		json_array_append_new(a, p);
	}
	arg = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	const char *params[] = { arg };
	v = h_db_value(g.db, "SELECT stored_n || ' ' || coalesce(array_to_string(held, ','), "
	    "'-') FROM pigeon_inbox_store_parts($1::jsonb, true)", 1, params);
	free(arg);
	return v;
}

static void
store_is(const char *want, int n, ...)
{
	const char *parts[8];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n && i < 8; i++)
		parts[i] = va_arg(ap, const char *);
	va_end(ap);
	char *got = store_parts(n, parts);
	ck_assert_msg(got != NULL, "storing %s...: no answer", parts[0]);
	ck_assert_msg(strcmp(got, want) == 0, "storing %s...: %s, not %s", parts[0],
	    got, want);
	free(got);
}

/*
 * The store's side: a copy of an SMPP part is judged by the binds of its
 * SMSC account. Flagged a redelivery by its worker, it is absorbed when
 * the first came in on another bind of the account (it was stored: the
 * flag compared the links), not when it came in on another account's.
 * Not flagged and its first bind not seen down since, it is held, then
 * stored when given again settled (a second STOP after a START), and
 * what its phone sent after it in the batch is held with it; its first
 * bind seen down since, or driven by no host now, it is absorbed at once.
 */
START_TEST(test_store_redelivery_by_account)
{
	h_db_exec(g.db, "INSERT INTO modems (name, host, state, kind, account) VALUES "
	    "('sib-a1', 'h', 'disabled', 'smpp', 'sib@10.9.9.1:2775'), "
	    "('sib-a2', 'h', 'disabled', 'smpp', 'sib@10.9.9.1:2775'), "
	    "('sib-a3', 'h', 'disabled', 'smpp', 'sib@10.9.9.1:2775'), "
	    "('sib-b', 'h', 'disabled', 'smpp', 'sib@10.9.9.2:2775')");
	/* Driven by a host: this session holds their locks. */
	h_db_exec(g.db, "SELECT pg_advisory_lock(1346979653, hashtext(n)) FROM "
	    "unnest(ARRAY['sib-a1', 'sib-a2', 'sib-a3', 'sib-b']) n");
	store_is("1 -", 1, "sib-a1 smpp:000000000051b001");
	store_is("0 -", 1, "sib-a2 smpp:000000000051b001 redelivery");
	store_is("1 -", 1, "sib-b smpp:000000000051b001 redelivery");
	/* Not flagged, sib-a1 never down: held, then a new SMS. */
	store_is("1 -", 1, "sib-a1 smpp:000000000051b002");
	store_is("0 1", 1, "sib-a2 smpp:000000000051b002");
	store_is("1 -", 1, "sib-a2 smpp:000000000051b002 settled");
	/* Its phone's later part waits with it; another phone's does not. */
	store_is("1 -", 1, "sib-a3 smpp:000000000051b003");
	store_is("1 1,2", 3, "sib-a2 smpp:000000000051b003",
	    "sib-a2 smpp:000000000051b004", "sib-a2 smpp:000000000051b005 SIBOTHER");
	/* sib-a3 down since its part was stored: absorbed at once. */
	h_db_exec(g.db, "INSERT INTO modem_history (modem, state, reason) "
	    "VALUES ('sib-a3', 'offline', 'link down: probe')");
	store_is("1 -", 2, "sib-a2 smpp:000000000051b003 settled",
	    "sib-a2 smpp:000000000051b004 settled");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts WHERE "
	    "link_key = 'smpp:000000000051b003'", 0, NULL), 1);
	/* A batch given again, its commit's answer lost on the way (store.c's
	 * durable query): the same emission, absorbed at once. Before, it
	 * was held, then stored as a new SMS: applied twice. Another
	 * emission of that content is a new SMS (held, then stored). */
	store_is("1 -", 1, "sib-a1 smpp:000000000051b008 emission=r1/sib-a1/1/8");
	store_is("0 -", 1, "sib-a1 smpp:000000000051b008 emission=r1/sib-a1/1/8");
	store_is("0 -", 1, "sib-a1 smpp:000000000051b008 emission=r1/sib-a1/1/8 settled");
	store_is("0 1", 1, "sib-a1 smpp:000000000051b008 emission=r1/sib-a1/1/9");
	store_is("1 -", 1, "sib-a1 smpp:000000000051b008 emission=r1/sib-a1/1/9 settled");
	/* Copies in one batch: one SMS on the binds of an account, another
	 * account's its own. */
	store_is("2 -", 3, "sib-a1 smpp:000000000051b009 emission=r1/sib-a1/1/10",
	    "sib-a2 smpp:000000000051b009 emission=r1/sib-a2/1/3",
	    "sib-b smpp:000000000051b009 emission=r1/sib-b/1/4");
	/* A drain keeps its sessions, and 'elsewhere' is another host
	 * waiting for the link: no news of a loss, held. */
	store_is("1 -", 1, "sib-a1 smpp:000000000051b007");
	h_db_exec(g.db, "INSERT INTO modem_history (modem, state, reason) VALUES "
	    "('sib-a1', 'draining', 'drained by the operator'), "
	    "('sib-a1', 'elsewhere', 'host h2: held by pigeond h')");
	store_is("0 1", 1, "sib-a2 smpp:000000000051b007");
	/* No host drives sib-a1 any more (its pigeond killed: no news
	 * written): absorbed at once. */
	store_is("1 -", 1, "sib-a1 smpp:000000000051b006");
	h_db_exec(g.db, "SELECT pg_advisory_unlock(1346979653, hashtext('sib-a1'))");
	store_is("0 -", 1, "sib-a2 smpp:000000000051b006");
	h_db_exec(g.db, "SELECT pg_advisory_unlock(1346979653, hashtext(n)) FROM "
	    "unnest(ARRAY['sib-a2', 'sib-a3', 'sib-b']) n");
	h_db_exec(g.db, "DELETE FROM inbox_parts WHERE modem LIKE 'sib-%'");
	h_db_exec(g.db, "DELETE FROM modem_history WHERE modem LIKE 'sib-%'");
	h_db_exec(g.db, "DELETE FROM modems WHERE name LIKE 'sib-%'");
}
END_TEST

/*
 * A member's second STOP after a START, the first STOP's bind never down
 * since: the same content within the window, so held (it could be the
 * SMSC's copy of the first, the news of its loss not come yet), then
 * applied, a new SMS; what the phone sent after it waits with it. The
 * STATS sent right after that STOP is applied after it, and so never
 * answered (a stopped phone gets no SMS); let past the held STOP, it
 * was answered.
 */
START_TEST(test_held_stop_keeps_order)
{
	const char *c = "+212661100043";
	const char *cc[] = { c };

	TEXT(c, "JOIN sibcarla");
	GETS(c, "@sibcarla");
	TEXT(c, "STOP");
	GETS(c, "You will get no more SMS from Pigeon");
	TEXT(c, "START");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    c, "0", WAIT_MS), 0);
	TEXT(c, "STOP");
	TEXT(c, "STATS");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages "
	    "WHERE sender = $1 AND text = 'STATS' AND state <> 'new'", c, "1",
	    WAIT_MS), 0);
	settle();
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM optouts WHERE phone = $1",
	    1, cc), 1);
	ck_assert_msg(count_of(c, "You have 0 followers") == 0, "STATS was answered "
	    "before the STOP sent before it:\n%s", h_smsc_received(&smsc, c));
	ck_assert_int_eq(count_of(c, "You will get no more SMS from Pigeon"), 2);
}
END_TEST

/* The same with the binds on two pigeond hosts sharing the database:
 * each host records its bind's account. */
START_TEST(test_receipts_on_another_host)
{
	long id[8];
	char ids[256];

	/* Four via orange (host a), four via orange2 (host b). */
	post_eight("+21266110030", "+21266110031", id, ids, sizeof(ids));
	assert_receipted_across(id, ids);
}
END_TEST

/*
 * Message ids are unique within one account only: another carrier (another
 * host, port or system_id) may give the same id to another message, and a
 * receipt never matches that one, neither when it comes (its own part not
 * yet recorded) nor when the other carrier's outcome comes. Receipts of
 * one account match across its binds, also one that came before its
 * part's outcome. A modem has no account: its reports are its own. Rolled
 * back: pigeond never sees these rows.
 */
START_TEST(test_receipt_accounts_apart)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO modems (name, host, state, kind, account) VALUES "
	    "('probe-a1', 'h', 'online', 'smpp', 'acct@10.0.0.1:2775'), "
	    "('probe-a2', 'h', 'online', 'smpp', 'acct@10.0.0.1:2775'), "
	    "('probe-b', 'h', 'online', 'smpp', 'acct@10.0.0.2:2775'), "
	    "('probe-c', 'h', 'online', 'smpp', 'other@10.0.0.1:2775')");
	/* The same id "50", sent by a2 (account a) and by b and c (others). */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, parts, sent_at) "
	    "VALUES (920000001, '+212662200001', 'probe a', 'sent', 'probe-a2', 1, now()), "
	    "(920000002, '+212662200002', 'probe b', 'sent', 'probe-b', 1, now()), "
	    "(920000003, '+212662200003', 'probe c', 'sent', 'probe-c', 1, now())");
	h_db_exec(g.db, "INSERT INTO outbox_parts (outbox_id, seq, modem, message_id, recipient) "
	    "VALUES (920000001, 1, 'probe-a2', '50', '+212662200001'), "
	    "(920000002, 1, 'probe-b', '50', '+212662200002'), "
	    "(920000003, 1, 'probe-c', '50', '+212662200003')");
	/* Came in on a1: a2's part, whichever phone it names (here b's: were
	 * b's part a candidate, the part to the receipt's phone would win). */
	char *r = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": \"probe-a1\", "
	    "\"recipient\": \"+212662200002\", \"message_id\": \"50\", "
	    "\"keys\": [\"50\"], \"status\": 0, \"dedupe\": \"probe-acct-1\"}]')",
	    0, NULL);
	char *a = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (920000001, 920000002, 920000003)", 0, NULL);
	/* "60" comes in on a1 before any outcome; b's and c's "60" never take
	 * it, a2's does. */
	h_db_exec(g.db, "INSERT INTO outbox (id, recipient, text, state, modem, attempts) "
	    "VALUES (920000004, '+212662200004', 'probe d', 'sending', 'probe-a2', 1), "
	    "(920000005, '+212662200005', 'probe e', 'sending', 'probe-b', 1), "
	    "(920000006, '+212662200006', 'probe f', 'sending', 'probe-c', 1)");
	char *early = h_db_value(g.db, "SELECT pigeon_report_receipts('[{\"link\": "
	    "\"probe-a1\", \"recipient\": \"+212662200004\", \"message_id\": \"60\", "
	    "\"keys\": [\"60\"], \"status\": 0, \"dedupe\": \"probe-acct-2\"}]')",
	    0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 920000005, \"link\": \"probe-b\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"60\"], \"report\": true}, "
	    "{\"id\": 920000006, \"link\": \"probe-c\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"60\"], \"report\": true}]', 5, 60, 86400)",
	    0, NULL));
	char *before = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (920000004, 920000005, 920000006)", 0, NULL);
	free(h_db_value(g.db, "SELECT pigeon_outbox_outcomes('["
	    "{\"id\": 920000004, \"link\": \"probe-a2\", \"outcome\": \"sent\", "
	    "\"parts\": 1, \"ids\": [\"60\"], \"report\": true}]', 5, 60, 86400)",
	    0, NULL));
	char *after = h_db_value(g.db, "SELECT string_agg(state, ' ' ORDER BY id) FROM outbox "
	    "WHERE id IN (920000004, 920000005, 920000006)", 0, NULL);
	/* Counted on the bind it came in on: both matched in the end. */
	char *counts = h_db_value(g.db, "SELECT string_agg(name || ' ' || reports_in || ' ' "
	    "|| reports_unmatched, ', ' ORDER BY name) FROM modems "
	    "WHERE name LIKE 'probe-%'", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(r, "delivered");
	ck_assert_str_eq(a, "delivered sent sent");
	ck_assert_str_eq(early, "unmatched");
	ck_assert_str_eq(before, "sending sent sent");
	ck_assert_str_eq(after, "delivered sent sent");
	ck_assert_str_eq(counts, "probe-a1 2 0, probe-a2 0 0, probe-b 0 0, probe-c 0 0");
	free(r);
	free(a);
	free(early);
	free(before);
	free(after);
	free(counts);
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

/*
 * A bind with routes (+2126619) beside a modem: the carrier's refusals
 * and throttles, and where its routed messages go meanwhile.
 */
static void
setup_routes(void)
{
	const char *was = pigeon_conf;

	nmodems = 1;
	pigeon_conf = "timezone = UTC\nretry_seconds = 1\n";
	setup_bind("smpp_routes", "routes = +2126619\n");
	pigeon_conf = was;
	nmodems = 0;
}

/* POST /api/messages {to, text}: its outbox id, at once. */
static long
api_queue(const char *to, const char *text)
{
	char *body = NULL, *req = h_strf("{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	json_t *r;
	long id;

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, req,
	    &body), 202);
	r = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(r);
	id = (long)json_integer_value(json_object_get(r, "id"));
	ck_assert_int_gt(id, 0);
	json_decref(r);
	free(body);
	free(req);
	return id;
}

static void
outbox_col_is(long id, const char *col, const char *want)
{
	char *v = h_outbox_col(&g, id, col);

	ck_assert_msg(strcmp(v, want) == 0, "outbox %ld %s: %s, not %s", id, col,
	    v, want);
	free(v);
}

/*
 * "Invalid destination" from one carrier (a ported or off-net number)
 * says nothing of the other links: the message goes by the modem, the
 * carrier in its failed links. Before, the bind's refusal failed it for
 * good ("permanent: ...", failed_modems {}) with the modem idle. With no
 * other link left (the modem disabled) it fails, permanent, with the
 * SMSC's reason.
 */
START_TEST(test_refused_tried_elsewhere)
{
	const char *to = "+212661999002", *alone = "+212661999003";
	long id;

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":11}"));
	id = api_queue(to, "to a ported number");
	ck_assert_msg(h_wait_received(&g, to, "to a ported number", WAIT_MS) == 0,
	    "outbox %ld is %s: %s", id, h_outbox_col(&g, id, "state"),
	    h_outbox_col(&g, id, "last_error"));
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	outbox_col_is(id, "modem", "sim0");
	outbox_col_is(id, "failed_modems", "{carrier}");
	ck_assert_int_eq(count_of(to, ""), 0);
	const char *params[] = { h_strf("%ld", id) };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox_history "
	    "WHERE outbox_id = $1 AND state = 'queued' AND modem = 'carrier' "
	    "AND detail = 'refused by carrier: part 1/1: command_status 0x0b: "
	    "invalid destination address'", 1, params), 1);
	free((char *)params[0]);

	/* No other link left: failed, with the SMSC's reason. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":11}"));
	id = api_queue(alone, "nowhere else");
	h_wait_outbox(&g, id, "failed", WAIT_MS);
	outbox_col_is(id, "last_error", "permanent: part 1/1: command_status 0x0b: "
	    "invalid destination address");
	outbox_col_is(id, "failed_modems", "{carrier}");
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
}
END_TEST

/*
 * A link left that cannot send now (another host's, offline): the message
 * refused by the carrier waits for it, and is not handed to the carrier
 * again, nor claimed and released over and over for it (the claim skips
 * a row that every link able to send now refused). It leaves once a link
 * that has not refused it comes back (the modem enabled).
 */
START_TEST(test_refused_waits_for_a_link_left)
{
	const char *to = "+212661999004";
	long id;

	PQclear(PQexec(g.db, "INSERT INTO modems (name, host, state, kind) "
	    "VALUES ('ghost', 'ghost-host', 'offline', 'smpp')"));
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable",
	    TOKEN, "", NULL), 200);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":1,\"status\":11}"));
	id = api_queue(to, "waits for its link");
	char *sid = h_strf("%ld", id);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state || ' ' || last_error FROM outbox "
	    "WHERE id = $1::bigint", sid, "queued refused by carrier: part 1/1: "
	    "command_status 0x0b: invalid destination address", WAIT_MS), 0);
	/* Due for a second (retry_seconds 1), then two claims that found
	 * nothing more to send. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT next_attempt_at < now() - "
	    "interval '1 second' FROM outbox WHERE id = $1::bigint", sid, "t",
	    WAIT_MS), 0);
	h_wait_scheduler_caught_up(&g, TOKEN, 2, WAIT_MS);
	const char *params[] = { sid };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox_history "
	    "WHERE outbox_id = $1::bigint AND state = 'sending'", 1, params), 1);
	outbox_col_is(id, "state", "queued");
	json_t *subs = h_smsc_submits(&smsc), *r;
	size_t i;
	int n = 0;
	json_array_foreach(subs, i, r)
		n += strcmp(json_string_value(json_object_get(r, "dest")), to + 1) == 0;
	json_decref(subs);
	ck_assert_int_eq(n, 1);

	/* A link that has not refused it is back: it goes. */
	PQclear(PQexec(g.db, "DELETE FROM modems WHERE name = 'ghost'"));
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable",
	    TOKEN, "", NULL), 200);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	outbox_col_is(id, "modem", "sim0");
	ck_assert_int_eq(h_wait_received(&g, to, "waits for its link", WAIT_MS), 0);
	free(sid);
}
END_TEST

/*
 * A bind whose every submit_sm is refused for a reason of its own (its
 * source address, 0x0A) is taken offline and restarted after five in a
 * row, as for temporary failures, its reason in its history; each
 * message goes by the modem. Before, such refusals counted for nothing:
 * it stayed online, and failed its share of the messages for good.
 */
/* Five recipients in a row the carrier does not reach (0x0b: ported
 * numbers, as a fan-out may meet) go by the modem, and the bind, which is
 * fine, stays online: it was taken offline and restarted. */
START_TEST(test_unreached_leave_bind_online)
{
	static const char *const to[] = { "+212661999031", "+212661999032",
	    "+212661999033", "+212661999034", "+212661999035" };

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	long offline = h_db_long(g.db, "SELECT count(*) FROM modem_history WHERE "
	    "modem = 'carrier' AND state = 'offline'", 0, NULL);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":5,\"status\":11}"));
	for (int i = 0; i < 5; i++)
		api_queue(to[i], "ported away");
	for (int i = 0; i < 5; i++)
		ck_assert_msg(h_wait_received(&g, to[i], "ported away", WAIT_MS) == 0,
		    "%s never received it", to[i]);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE "
	    "recipient LIKE '+2126619990__' AND text = 'ported away' AND state = 'sent' "
	    "AND modem = 'sim0' AND refused_by = '{carrier}'", NULL, "5", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM modem_history WHERE "
	    "modem = 'carrier' AND state = 'offline'", 0, NULL), offline);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
}
END_TEST

START_TEST(test_refusing_bind_restarted)
{
	static const char *const to[] = { "+212661999011", "+212661999012",
	    "+212661999013", "+212661999014", "+212661999015" };

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\","
	    "\"count\":100000,\"status\":10}"));
	for (int i = 0; i < 5; i++)
		api_queue(to[i], "from the bank");
	for (int i = 0; i < 5; i++)
		ck_assert_msg(h_wait_received(&g, to[i], "from the bank", WAIT_MS) == 0,
		    "%s never received it", to[i]);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM modem_history "
	    "WHERE modem = 'carrier' AND state = 'offline' AND reason = "
	    "'5 sends in a row failed, the last: part 1/1: command_status 0x0a: "
	    "invalid source address'", NULL, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE "
	    "recipient LIKE '+2126619990__' AND text = 'from the bank' "
	    "AND state = 'sent' AND modem = 'sim0'", NULL, "5", WAIT_MS), 0);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	h_wait_modem(&g, "carrier", "online", WAIT_MS);
}
END_TEST

/* The carrier's paused_reason in GET /api/modems is arg. */
static int
carrier_paused(void *arg)
{
	static const char *const keys[] = { "paused_reason" };
	char *r = carrier_fields(keys, 1);
	int ok = r != NULL && strcmp(r, arg) == 0;

	free(r);
	if (!ok)
		h_sleep_ms(50);
	return ok;
}

static int
paused_metric_is(void *arg)
{
	int ok = h_metric(&g, TOKEN, "pigeon_link_paused{modem=\"carrier\"}", -1) ==
	    (long)(intptr_t)arg;

	if (!ok)
		h_sleep_ms(50);
	return ok;
}

/*
 * A bind whose SMSC answers queue full to every submit_sm pauses its
 * submits (up to 16 s); pigeond hands it nothing meanwhile, so its routed
 * messages go by the modem, and /api/modems and /metrics say it is
 * paused. Throttles are never the message's failure. Before, each came
 * back to the routed bind a second later, for minutes, the modem idle.
 */
START_TEST(test_paused_bind_sends_elsewhere)
{
	static const char *const to[] = { "+212661999021", "+212661999022",
	    "+212661999023" };
	long id[3];

	h_wait_modem(&g, "carrier", "online", WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"qfull\","
	    "\"count\":100000}"));
	for (int i = 0; i < 3; i++)
		id[i] = api_queue(to[i], "while the carrier is full");
	/* Seen while the routed messages still come back to it. */
	ck_assert_msg(h_wait_for(carrier_paused, "message queue full", WAIT_MS) == 0,
	    "the carrier never showed its pause");
	ck_assert_msg(h_wait_for(paused_metric_is, (void *)(intptr_t)1, WAIT_MS) == 0,
	    "pigeon_link_paused never said 1");
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(h_wait_received(&g, to[i], "while the carrier is full",
		    WAIT_MS) == 0, "%s never received it: outbox %ld %s, %s", to[i],
		    id[i], h_outbox_col(&g, id[i], "state"),
		    h_outbox_col(&g, id[i], "last_error"));
		h_wait_outbox(&g, id[i], "sent", WAIT_MS);
		outbox_col_is(id[i], "failed_modems", "{}");
	}
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"clear\"}"));
	/* The pause over, it takes sends again. */
	ck_assert_msg(h_wait_for(paused_metric_is, (void *)(intptr_t)0, WAIT_MS) == 0,
	    "pigeon_link_paused stayed 1");
	long back = api_queue("+212661999024", "the carrier again");
	h_wait_outbox(&g, back, "sent", WAIT_MS);
	outbox_col_is(back, "modem", "carrier");
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
	tcase_add_test(tc, test_receipts);
	tcase_add_test(tc, test_receipts_uuid_ids);
	tcase_add_test(tc, test_receipt_pending_after_final);
	tcase_add_test(tc, test_receipt_stat_of_its_own);
	tcase_add_test(tc, test_receipts_at_once);
	tcase_add_test(tc, test_receipt_outcomes_told);
	tcase_add_test(tc, test_receipts_read_their_part);
	tcase_add_test(tc, test_receipt_ids_read_two_ways);
	tcase_add_test(tc, test_receipts_last_word_in_a_batch);
	tcase_add_test(tc, test_receipt_old_unmatched_not_taken);
	tcase_add_test(tc, test_empty_message_id);
	tcase_add_test(tc, test_outcome_names_its_claim);
	tcase_add_test(tc, test_throttled_clock_back);
	tcase_add_test(tc, test_late_copy_of_a_part);
	tcase_add_test(tc, test_claim_by_class);
	tcase_add_test(tc, test_fanout_in_chunks);
	tcase_add_test(tc, test_fanout_in_post_order);
	tcase_add_test(tc, test_long_reply);
	tcase_add_test(tc, test_operator_view);
	tcase_add_test(tc, test_flash_and_validity);
	suite_add_tcase(s, tc);
	/* Message ids and receipts in unusual shapes. */
	tc = tcase_create("smpp_ids");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_receipts_tlv_only);
	tcase_add_test(tc, test_raw_message_ids);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_split");
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
	tc = tcase_create("smpp_payload");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_payload, teardown);
	tcase_add_test(tc, test_payload_counts_its_parts);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_bank");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_bank, teardown);
	tcase_add_test(tc, test_answered_from_the_number_texted);
	suite_add_tcase(s, tc);
	/* A routed bind beside a modem: refusals and throttles. */
	tc = tcase_create("smpp_routes");
	tcase_set_timeout(tc, 400);
	tcase_add_unchecked_fixture(tc, setup_routes, teardown);
	tcase_add_test(tc, test_refused_tried_elsewhere);
	tcase_add_test(tc, test_refused_waits_for_a_link_left);
	tcase_add_test(tc, test_unreached_leave_bind_online);
	tcase_add_test(tc, test_refusing_bind_restarted);
	tcase_add_test(tc, test_paused_bind_sends_elsewhere);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_failed_parts");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_failed_parts, teardown);
	tcase_add_test(tc, test_failed_parts_billed);
	tcase_add_test(tc, test_failed_parts_billed_without_id);
	tcase_add_test(tc, test_failed_parts_resent_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("smpp_outage");	/* its bind is dropped */
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_outage, teardown);
	tcase_add_test(tc, test_parts_across_an_outage);
	suite_add_tcase(s, tc);
	/* Deliveries pigeond could not store, or acknowledge at once. */
	tc = tcase_create("smpp_release");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_release, teardown);
	tcase_add_test(tc, test_mo_store_failed_released);
	tcase_add_test(tc, test_mo_ack_after_lock_back);
	suite_add_tcase(s, tc);
	/* A delivery answered ESME_RX_T_APPN, delivered again: its worker's
	 * wait is 3 s. */
	tc = tcase_create("smpp_redeliver");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_redeliver, teardown);
	tcase_add_test(tc, test_mo_answered_again_stored_once);
	tcase_add_test(tc, test_store_takes_redelivery);
	suite_add_tcase(s, tc);
	/* Two binds of one SMSC account. */
	tc = tcase_create("smpp_account");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_account, teardown);
	tcase_add_test(tc, test_receipts_on_another_bind);
	tcase_add_test(tc, test_receipt_accounts_apart);
	tcase_add_test(tc, test_answer_lost_redelivered_on_sibling);
	tcase_add_test(tc, test_store_redelivery_by_account);
	tcase_add_test(tc, test_held_stop_keeps_order);
	suite_add_tcase(s, tc);
	/* The same, each bind on its own pigeond host. */
	tc = tcase_create("smpp_account_hosts");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup_account_hosts, teardown);
	tcase_add_test(tc, test_receipts_on_another_host);
	tcase_add_test(tc, test_answer_lost_redelivered_on_other_host);
	tcase_add_test(tc, test_answer_lost_host_killed);
	tcase_add_test(tc, test_dropped_while_database_away);
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
