/*
 * test_smpp_account.c: two binds of one SMSC account, on one pigeond or
 * on two hosts sharing the database: receipts that come in on the other
 * bind, answers lost and delivered again on the sibling, a host killed
 * or its database away, and the order of what was held.
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
#include "h_smpp.h"

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

/* Host a's latest pigeond has brought orange online: its log says so
 * after its last start. (The modems row says online from before a
 * restart: the test before restarts host a, whose new pigeond was still
 * installing its functions when this one cut its database.) */
static int
orange_driven(void *unused)
{
	char *path = h_strf("%s/pigeond.log", g.dir), *log = h_read_file(path);
	char *start = NULL, *on = NULL;
	int ok;

	(void)unused;
	for (char *l = log; l != NULL && (l = strstr(l, "starting pigeond")) != NULL; l++)
		start = l;
	for (char *l = start; l != NULL && (l = strstr(l, "modem orange: ")) != NULL; l++) {
		char *eol = strchr(l, '\n');
		char *at = strstr(l, "-> online");
		if (at != NULL && (eol == NULL || at < eol)) {
			on = l;
			break;
		}
	}
	ok = start != NULL && on != NULL;
	free(log);
	free(path);
	if (!ok)
		h_sleep_ms(50);
	return ok;
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

	ck_assert_msg(h_wait_for(orange_driven, NULL, WAIT_MS) == 0,
	    "host a's pigeond never brought orange online");
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

int
main(void)
{
	Suite *s = suite_create("smpp_account");
	/* Two binds of one SMSC account. */
	TCase *tc = tcase_create("smpp_account");

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
	return h_main(s);
}
