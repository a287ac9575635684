/*
 * Business accounts, issue 17 (items 1 and 2).
 *
 * stats: an operator makes @shop and @rival business accounts and issues
 * each a key. Ten phones join and follow @shop by SMS (five on a Maroc
 * Telecom range in French, four on Orange in English, one on inwi in
 * Arabic), an eleventh tracks a word. @shop posts with its key; the
 * simulated phones receive the copies and the test sends each copy's
 * delivery report (two "not delivered"). The statistics, read with @shop's
 * key, then show for that post exactly what the phones received and the
 * reports said, by follow and by tracking; the under-5 rule shows the
 * groups of 5 and never a group of 4 (merged into "other", itself shown
 * only from 5 people); a follower leaving shows in the day's figures.
 * @shop's key is refused @rival's data (403); a revoked key is refused
 * (401); a browser gets a Basic challenge and reads the page with the key
 * as password; no answer holds a phone number.
 *
 * schedule: a post with send_at a few seconds after the database's now()
 * has not left before that time and leaves then (the database's clock is
 * the one that counts); one an hour ahead stays; one cancelled never
 * leaves. pigeonctl's audience, key, keys, revoke, schedule and
 * business commands do the same over the API.
 *
 * posts: what pigeon_biz_post makes of an API post's text, as of a post
 * by SMS: a blank one is refused, post_max counts the line that goes
 * out, and the fan-out takes the cap of parts of the text's coding; a
 * word tracked by API is the word TRACK takes by SMS, digest or not.
 *
 * revoke: revoking a key cancels the posts it scheduled that are still
 * waiting (and only those), and says how many.
 *
 * erase: a member erased while a business function runs for them
 * (a post scheduled with their key, a key issued or revoked, the janitor
 * with their post due): no deadlock, and nothing of theirs is left.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"business-token-0123456789abcdef01234567"
#define SHOP	"+212661000200"
#define RIVAL	"+212661000201"
#define TRACKER	"+212661000399"
#define POST	"Promo couscous ce soir a 20 DH"
#define NFOL	10
#define WAIT_MS	90000

static struct h_gateway g;
static const char *fol[NFOL] = {
	"+212661000301", "+212661000302", "+212661000303", "+212661000304",
	"+212661000305",			/* Maroc Telecom (0661), fr */
	"+212663000301", "+212663000302", "+212663000303", "+212663000304",
						/* Orange (0663), en */
	"+212600000301",			/* inwi (0600), LANG ar */
};

static char *
req(const char *method, const char *path, const char *token, const char *body,
    int want)
{
	char *resp = NULL;
	int code = h_http(g.http_port, method, path, token, body, &resp);
	ck_assert_msg(code == want, "%s %s: %d, not %d (%s)", method, path, code, want,
	    resp ? resp : "");
	ck_assert_msg(resp == NULL || strstr(resp, "+212") == NULL, "%s %s: a phone "
	    "number in %s", method, path, resp);
	return resp;
}

static json_t *
jreq(const char *method, const char *path, const char *token, const char *body,
    int want)
{
	char *resp = req(method, path, token, body, want);
	json_t *o = resp ? json_loads(resp, 0, NULL) : NULL;
	ck_assert_msg(o != NULL, "%s %s: not JSON: %s", method, path, resp ? resp : "");
	free(resp);
	return o;
}

static long
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "%s is not a number", key);
	return (long)json_integer_value(v);
}

/* Marks handle as business and issues a key; the key (malloc). */
static char *
business(const char *handle)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/users/%s/keys", handle);
	json_decref(jreq("POST", path, TOKEN, NULL, 409));	/* not business yet */
	snprintf(path, sizeof(path), "/api/users/%s/business", handle);
	json_t *o = jreq("POST", path, TOKEN, NULL, 200);
	ck_assert(json_is_true(json_object_get(o, "business")));
	json_decref(o);
	snprintf(path, sizeof(path), "/api/users/%s/keys?label=test", handle);
	o = jreq("POST", path, TOKEN, NULL, 201);
	const char *k = json_string_value(json_object_get(o, "key"));
	ck_assert_msg(k && strncmp(k, "pk_", 3) == 0, "no key");
	char *key = strdup(k);
	/* Only its hash is kept. */
	const char *params[] = { key + strlen(key) - 64 };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM api_keys "
	    "WHERE hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')", 1, params), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM api_keys WHERE hash = $1",
	    1, params), 0);
	json_decref(o);
	return key;
}

/* The copy of POST that modem m sent to `to` (its sent log), or NULL. */
static json_t *
sent_to(int m, const char *to)
{
	char *path = NULL, *data;
	json_t *hit = NULL;

	ck_assert_int_ge(asprintf(&path, "%s/sent.jsonl", g.sim_dir[m]), 0);
	data = h_read_file(path);
	free(path);
	for (char *line = data ? strtok(data, "\n") : NULL; line && !hit;
	    line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);
		const char *t = json_string_value(json_object_get(o, "to"));
		const char *text = json_string_value(json_object_get(o, "text"));
		if (t && text && strcmp(t, to) == 0 && strstr(text, POST))
			hit = json_incref(o);
		json_decref(o);
	}
	free(data);
	return hit;
}

/* The phone's copy gets a report: status 0 delivered, 70 not delivered. */
static void
report(const char *to, int status)
{
	json_t *s = NULL;
	int m;

	for (m = 0; m < g.nmodems && s == NULL; m++)
		s = sent_to(m, to);
	ck_assert_msg(s != NULL, "%s did not receive the post", to);
	json_t *ref;
	size_t k;
	json_array_foreach(json_object_get(s, "refs"), k, ref) {
		char mr[16], st[8];
		snprintf(mr, sizeof(mr), "%lld", (long long)json_integer_value(ref));
		snprintf(st, sizeof(st), "%d", status);
		char *argv[] = { (char *)h_bin("pigeon-modemsim"), "report",
		    g.sim_dir[m - 1], (char *)to, mr, st, NULL };
		ck_assert_int_eq(h_exec(NULL, argv), 0);
	}
	json_decref(s);
}

static const char *shop_key;

struct want {
	long delivered, undelivered;
};

static int
reports_counted(void *p)
{
	struct want *w = p;
	char *resp = NULL;
	int ok = 0;

	if (h_http(g.http_port, "GET", "/api/accounts/shop/stats", shop_key, NULL,
	    &resp) == 200) {
		json_t *o = json_loads(resp, 0, NULL);
		json_t *r = json_array_get(json_object_get(o, "reach"), 0);
		ok = json_integer_value(json_object_get(r, "delivered")) == w->delivered &&
		    json_integer_value(json_object_get(r, "undelivered")) == w->undelivered &&
		    json_integer_value(json_object_get(r, "pending")) == 0;
		json_decref(o);
	}
	free(resp);
	return ok;
}

/* Every group of a breakdown has 5 people or more, "other" too. */
static void
assert_no_small_group(json_t *br, const char *what)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(br, "buckets"), i, e)
		ck_assert_msg(num(e, "people") >= 5, "%s: a group of %ld", what,
		    num(e, "people"));
	json_t *o = json_object_get(br, "other");
	ck_assert_msg(json_is_null(o) || json_integer_value(o) >= 5, "%s: other %lld",
	    what, (long long)json_integer_value(o));
}

/* The breakdown is exactly one group key:n and other (-1: not shown). */
static void
assert_groups(json_t *br, const char *key, long n, long other)
{
	json_t *b = json_object_get(br, "buckets");

	if (key == NULL) {
		ck_assert_int_eq(json_array_size(b), 0);
	} else {
		ck_assert_int_eq(json_array_size(b), 1);
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(b, 0), "key")),
		    key);
		ck_assert_int_eq(num(json_array_get(b, 0), "people"), n);
	}
	if (other < 0)
		ck_assert(json_is_null(json_object_get(br, "other")));
	else
		ck_assert_int_eq(num(br, "other"), other);
}

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	for (int i = 0; i < 3; i++)
		g.modem_extra[i] = "report = yes\n";
	h_gateway_start(&g, "business", 3);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

static void
join(int modem, const char *phone, const char *handle)
{
	char text[40];

	snprintf(text, sizeof(text), "JOIN %s", handle);
	ck_assert_int_eq(h_text(&g, modem, phone, text), 0);
}

START_TEST(test_business_stats)
{
	struct want w = { 0, 0 };
	char *resp;

	join(0, SHOP, "shop");
	join(1, RIVAL, "rival");
	join(2, TRACKER, "trk");
	ck_assert_int_eq(h_wait_received(&g, SHOP, "@shop", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, RIVAL, "@rival", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, TRACKER, "@trk", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 2, TRACKER, "TRACK couscous"), 0);
	/* JOIN makes an English account, INSCRIPTION a French one. */
	for (int i = 0; i < NFOL; i++) {
		char text[32];
		snprintf(text, sizeof(text), "%s fan%d", i < 5 ? "INSCRIPTION" : "JOIN", i);
		ck_assert_int_eq(h_text(&g, i % 3, fol[i], text), 0);
	}
	for (int i = 0; i < NFOL; i++) {
		ck_assert_int_eq(h_wait_received(&g, fol[i], "@fan", WAIT_MS), 0);
		ck_assert_int_eq(h_text(&g, i % 3, fol[i], "FOLLOW shop"), 0);
	}
	ck_assert_int_eq(h_text(&g, 1, fol[9], "LANG ar"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "10",
	    WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT string_agg(lang, ',' ORDER BY phone) FROM "
	    "accounts WHERE phone LIKE '+2126__00030_'", NULL,
	    "ar,fr,fr,fr,fr,fr,en,en,en,en", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM tracks", NULL, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);

	/* The operator's side: business, keys. */
	char *shop = business("shop"), *rival = business("rival");
	shop_key = shop;
	json_t *o = jreq("GET", "/api/users/shop/keys", TOKEN, NULL, 200);
	ck_assert_int_eq(json_array_size(json_object_get(o, "keys")), 1);
	resp = json_dumps(o, 0);
	ck_assert_msg(strstr(resp, shop + 40) == NULL, "a key's secret listed");
	free(resp);
	json_decref(o);
	/* A key is not an operator token, nor the other way round. */
	json_decref(jreq("GET", "/api/users/shop/keys", shop, NULL, 401));
	json_decref(jreq("GET", "/api/accounts/fan0/stats", TOKEN, NULL, 404));

	/* The reports from now on are the test's. @shop posts with its key. */
	for (int i = 0; i < g.nmodems; i++)
		ck_assert_int_eq(h_sim_fault(&g, i, "report -1"), 0);
	o = jreq("POST", "/api/posts", shop, "{\"user\": \"shop\", \"text\": \"" POST "\"}",
	    201);
	json_decref(o);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE post_id IS NOT NULL "
	    "AND state NOT IN ('queued', 'sending')", NULL, "11", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);

	/* What each phone got; the first two copies are reported not delivered. */
	for (int i = 0; i < NFOL; i++) {
		ck_assert_int_eq(h_received_matching(&g, fol[i], POST), 1);
		report(fol[i], i < 2 ? 70 : 0);
		if (i < 2)
			w.undelivered++;
		else
			w.delivered++;
	}
	ck_assert_int_eq(h_received_matching(&g, TRACKER, POST), 1);
	report(TRACKER, 0);
	w.delivered++;
	ck_assert_int_eq(h_received_matching(&g, SHOP, POST), 0);
	ck_assert_int_eq(h_wait_for(reports_counted, &w, WAIT_MS), 0);

	json_t *st = jreq("GET", "/api/accounts/shop/stats?days=7", shop, NULL, 200);
	ck_assert_int_eq(num(st, "followers"), NFOL);
	ck_assert_int_eq(num(st, "posts"), 1);
	json_t *p = json_array_get(json_object_get(st, "reach"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "text")), POST);
	ck_assert_int_eq(num(p, "queued"), NFOL + 1);
	ck_assert_int_eq(num(p, "sent"), NFOL + 1);
	ck_assert_int_eq(num(p, "delivered"), w.delivered);
	ck_assert_int_eq(num(p, "undelivered"), w.undelivered);
	ck_assert_int_eq(num(p, "failed"), 0);
	ck_assert_int_eq(num(p, "pending"), 0);
	ck_assert(json_real_value(json_object_get(p, "share_delivered")) > 0.81 &&
	    json_real_value(json_object_get(p, "share_delivered")) < 0.82);	/* 9/11 */
	json_t *f = json_object_get(json_object_get(p, "via"), "follow");
	json_t *t = json_object_get(json_object_get(p, "via"), "track");
	ck_assert_int_eq(num(f, "queued"), NFOL);
	ck_assert_int_eq(num(f, "delivered"), NFOL - 2);
	ck_assert_int_eq(num(f, "undelivered"), 2);
	ck_assert_int_eq(num(t, "queued"), 1);
	ck_assert_int_eq(num(t, "delivered"), 1);

	/* Followers per day: today gained 10. */
	json_t *days = json_object_get(st, "followers_by_day");
	ck_assert_int_eq(json_array_size(days), 7);
	json_t *today = json_array_get(days, 6);
	ck_assert_int_eq(num(today, "gained"), NFOL);
	ck_assert_int_eq(num(today, "lost"), 0);
	ck_assert_int_eq(num(today, "followers"), NFOL);
	ck_assert_int_eq(num(json_array_get(days, 5), "followers"), 0);

	/* The under-5 rule: fr 5 shown, en 4 and ar 1 only as "other" (5);
	 * Maroc Telecom 5 shown, Orange 4 and inwi 1 as "other" (5). */
	assert_groups(json_object_get(st, "languages"), "fr", 5, 5);
	assert_groups(json_object_get(st, "networks"), "Maroc Telecom", 5, 5);
	ck_assert(json_is_true(json_object_get(json_object_get(st, "networks"),
	    "approximate")));
	/* Active hours: every follower texted today; exact when in one hour. */
	json_t *hours = json_object_get(st, "active_hours");
	assert_no_small_group(hours, "active_hours");
	char *one = h_db_value(g.db, "SELECT count(DISTINCT extract(hour FROM received_at "
	    "AT TIME ZONE pigeon_setting('timezone'))) || ' ' || extract(hour FROM "
	    "max(received_at) AT TIME ZONE pigeon_setting('timezone')) FROM inbox_messages "
	    "WHERE sender LIKE '+2126__00030_'", 0, NULL);
	if (strncmp(one, "1 ", 2) == 0) {
		json_t *b = json_object_get(hours, "buckets");
		ck_assert_int_eq(json_array_size(b), 1);
		ck_assert_int_eq(num(json_array_get(b, 0), "hour"), atoi(one + 2));
		ck_assert_int_eq(num(json_array_get(b, 0), "people"), NFOL);
		ck_assert_int_eq(num(hours, "best_hour"), atoi(one + 2));
	}
	free(one);
	json_decref(st);

	/* CSV and the page: the same figures; never a group of 4. */
	resp = req("GET", "/api/accounts/shop/stats?format=csv", shop, NULL, 200);
	ck_assert_msg(strncmp(resp, "section,key,metric,value\r\n", 26) == 0, "%s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nlanguages,fr,people,5\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nlanguages,other,people,5\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nnetworks,Maroc Telecom,people,5\r\n"));
	ck_assert_ptr_null(strstr(resp, "languages,en"));
	ck_assert_ptr_null(strstr(resp, "Orange"));
	ck_assert_ptr_nonnull(strstr(resp, ",undelivered,2\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, ",track.delivered,1\r\n"));
	free(resp);
	resp = req("GET", "/api/accounts/shop/stats?format=html", shop, NULL, 200);
	ck_assert_ptr_nonnull(strstr(resp, "<h1>Audience of @shop</h1>"));
	ck_assert_ptr_nonnull(strstr(resp, "Networks (approximate)"));
	ck_assert_ptr_null(strstr(resp, "<script"));
	ck_assert_ptr_null(strstr(resp, "Orange"));
	free(resp);
	/* A browser: no credentials, a Basic challenge; the key as password. */
	char *out = NULL;
	ck_assert_int_eq(h_run(&out, "curl -s -i 'http://127.0.0.1:%d/api/accounts/shop/"
	    "stats?format=html'", g.http_port), 0);
	ck_assert_msg(strstr(out, " 401 ") && strstr(out, "WWW-Authenticate: Basic"), "%s", out);
	free(out);
	ck_assert_int_eq(h_run(&out, "curl -s -u 'shop:%s' 'http://127.0.0.1:%d/api/accounts/"
	    "shop/stats?format=html'", shop, g.http_port), 0);
	ck_assert_msg(strstr(out, "<h1>Audience of @shop</h1>") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(h_run(&out, "curl -s -o /dev/null -w '%%{http_code}' -u 'shop:%s' "
	    "'http://127.0.0.1:%d/api/accounts/rival/stats?format=html'", shop, g.http_port), 0);
	ck_assert_str_eq(out, "403");
	free(out);
	/* Basic credentials of padding alone, or padding inside: a 401. Before,
	 * "====" (three zero bytes, all padding) made the length -1 and the
	 * decoder wrote before its buffer (pigeond aborted under ASan). */
	static const char *const pads[] = { "====", "========", "YWJj====",
	    "YQ==YQ==", "=", "YQ=a" };
	for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		ck_assert_int_eq(h_run(&out, "curl -s -o /dev/null -w '%%{http_code}' "
		    "-H 'Authorization: Basic %s' 'http://127.0.0.1:%d/api/accounts/shop/"
		    "stats'", pads[i], g.http_port), 0);
		ck_assert_msg(strcmp(out, "401") == 0, "Basic %s: %s", pads[i], out);
		free(out);
	}

	/* Scope: @shop's key and @rival's data. */
	json_decref(jreq("GET", "/api/accounts/rival/stats", shop, NULL, 403));
	json_decref(jreq("GET", "/api/accounts/rival/tracks", shop, NULL, 403));
	json_decref(jreq("GET", "/api/accounts/rival/scheduled", shop, NULL, 403));
	json_decref(jreq("POST", "/api/posts", shop,
	    "{\"user\": \"rival\", \"text\": \"not mine\"}", 403));
	json_decref(jreq("GET", "/api/accounts/shop/stats", rival, NULL, 403));
	json_decref(jreq("GET", "/api/accounts/shop/stats", NULL, NULL, 401));
	char bad[128];
	snprintf(bad, sizeof(bad), "%s", shop);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	json_decref(jreq("GET", "/api/accounts/shop/stats", bad, NULL, 401));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE text = 'not mine'",
	    0, NULL), 0);
	/* The operator reads any business account's figures. */
	json_decref(jreq("GET", "/api/accounts/rival/stats", TOKEN, NULL, 200));

	/* Tracked words with the key. */
	json_decref(jreq("POST", "/api/accounts/shop/tracks", shop,
	    "{\"word\": \"#Tajine\"}", 201));
	o = jreq("GET", "/api/accounts/shop/tracks", shop, NULL, 200);
	ck_assert_int_eq(json_array_size(json_object_get(o, "tracks")), 1);
	json_decref(o);
	o = jreq("DELETE", "/api/accounts/shop/tracks/%23tajine", shop, NULL, 200);
	ck_assert(json_is_true(json_object_get(o, "removed")));
	json_decref(o);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM tracks t JOIN accounts a "
	    "ON a.id = t.account_id WHERE a.handle = 'shop'", 0, NULL), 0);

	/* A follower leaves (inwi, ar): Orange 4 alone would be "other" under
	 * 5, so Maroc Telecom's 5 join it; the same for the languages. */
	ck_assert_int_eq(h_text(&g, 0, fol[9], "LEAVE shop"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "9", WAIT_MS), 0);
	st = jreq("GET", "/api/accounts/shop/stats?days=7", shop, NULL, 200);
	today = json_array_get(json_object_get(st, "followers_by_day"), 6);
	ck_assert_int_eq(num(today, "gained"), NFOL);
	ck_assert_int_eq(num(today, "lost"), 1);
	ck_assert_int_eq(num(today, "net"), NFOL - 1);
	ck_assert_int_eq(num(today, "followers"), NFOL - 1);
	assert_groups(json_object_get(st, "languages"), NULL, 0, 9);
	assert_groups(json_object_get(st, "networks"), NULL, 0, 9);
	assert_no_small_group(json_object_get(st, "active_hours"), "active_hours");
	json_decref(st);

	/* Revoked: refused at once. Not business any more: every key too. */
	o = jreq("GET", "/api/users/rival/keys", TOKEN, NULL, 200);
	char path[96];
	snprintf(path, sizeof(path), "/api/users/rival/keys/%ld",
	    num(json_array_get(json_object_get(o, "keys"), 0), "id"));
	json_decref(o);
	json_decref(jreq("GET", "/api/accounts/rival/tracks", rival, NULL, 200));
	json_decref(jreq("DELETE", path, TOKEN, NULL, 200));
	json_decref(jreq("GET", "/api/accounts/rival/tracks", rival, NULL, 401));
	json_decref(jreq("DELETE", "/api/users/shop/business", TOKEN, NULL, 200));
	json_decref(jreq("GET", "/api/accounts/shop/stats", shop, NULL, 401));
	free(shop);
	free(rival);
}
END_TEST

/* A time the database's clock reads in `secs` seconds, ISO 8601 (malloc). */
static char *
db_time_in(int secs)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", secs);
	const char *params[] = { s };
	return h_db_value(g.db, "SELECT to_char((now() + make_interval(secs => $1::int)) "
	    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 1, params);
}

/* pigeonctl -c CONFIG ARGS: its exit code, stdout in *out. */
static int
ctl(char **out, const char *args)
{
	return h_run(out, "%s -c '%s' %s", h_bin("pigeonctl"), g.config, args);
}

static long
scheduled(const char *key, const char *text, const char *at)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"user\": \"shop\", \"text\": \"%s\", "
	    "\"send_at\": \"%s\"}", text, at);
	json_t *o = jreq("POST", "/api/posts", key, body, 202);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "scheduled");
	long id = num(o, "scheduled");
	json_decref(o);
	return id;
}

START_TEST(test_scheduled_post)
{
	const char *fan = "+212661000310";

	join(0, SHOP, "shop");
	join(1, fan, "fan");
	/* Both joined before the FOLLOW: two modems do not keep their order. */
	ck_assert_int_eq(h_wait_received(&g, SHOP, "@shop", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, fan, "@fan", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 1, fan, "FOLLOW shop"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	char *key = business("shop");

	json_decref(jreq("POST", "/api/posts", key, "{\"user\": \"shop\", \"text\": \"x\", "
	    "\"send_at\": \"tomorrow-ish\"}", 400));
	/* What PostgreSQL's time input takes but no client means: a word,
	 * a zone's name, a date that does not exist. */
	static const char *const odd[] = { "tomorrow", "epoch", "now",
	    "2026-12-04 18:00 Africa/Casablanca", "Dec 4 2026 18:00",
	    "2026-02-31T10:00:00Z", "2026-12-04T18:00:00+01:", NULL };
	for (int i = 0; odd[i]; i++) {
		char b[160];
		snprintf(b, sizeof(b), "{\"user\": \"shop\", \"text\": \"x\", "
		    "\"send_at\": \"%s\"}", odd[i]);
		json_decref(jreq("POST", "/api/posts", key, b, 400));
	}
	/* A key's body may be longer than an anonymous client's (1 KiB): it
	 * was cut, connection closed, before the key was looked at. Read,
	 * this one gets its answer about send_at. */
	char big[6000];
	snprintf(big, sizeof(big), "{\"user\": \"shop\", \"text\": \"x\", "
	    "\"send_at\": \"tomorrow-ish\"%5000s}", "");
	json_decref(jreq("POST", "/api/posts", key, big, 400));
	json_decref(jreq("POST", "/api/posts", key, "{\"user\": \"shop\", \"text\": \"x\", "
	    "\"send_at\": \"2099-01-01T00:00:00Z\"}", 400));
	/* Due in 20 s: the requests before it (and the cancel of the one
	 * due in 60 s) are made before either is due, however slowly. */
	char *at = db_time_in(20), *later = db_time_in(3600), *gone = db_time_in(60);
	long id = scheduled(key, "Flash sale now", at);
	long id_later = scheduled(key, "Flash sale later", later);
	long id_gone = scheduled(key, "Flash sale cancelled", gone);
	char path[96];
	snprintf(path, sizeof(path), "/api/accounts/shop/scheduled/%ld", id_gone);
	json_decref(jreq("DELETE", path, key, NULL, 200));
	json_decref(jreq("DELETE", path, key, NULL, 409));

	/* Before its time (by the database's clock), nothing has left. */
	char ids[24];
	snprintf(ids, sizeof(ids), "%ld", id);
	const char *params[] = { ids };
	char *v = h_db_value(g.db, "SELECT now() < s.send_at AND NOT EXISTS (SELECT 1 FROM "
	    "posts p WHERE p.account_id = s.account_id) FROM scheduled_posts s WHERE id = $1",
	    1, params);
	ck_assert_str_eq(v, "t");
	free(v);
	ck_assert_int_eq(h_received_matching(&g, fan, "Flash sale"), 0);

	/* At its time it leaves, once: not before, and about then (the
	 * janitor looks every second, on a connection a loaded machine may
	 * hold for seconds). */
	ck_assert_int_eq(h_wait_received(&g, fan, "@shop: Flash sale now", WAIT_MS), 0);
	v = h_db_value(g.db, "SELECT p.created_at >= s.send_at AND p.created_at < s.send_at "
	    "+ interval '15 s' AND s.state = 'posted' FROM scheduled_posts s JOIN posts p "
	    "ON p.id = s.post_id WHERE s.id = $1", 1, params);
	ck_assert_str_eq(v, "t");
	free(v);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, fan, "Flash sale"), 1);
	json_t *o = jreq("GET", "/api/accounts/shop/scheduled", key, NULL, 200);
	json_t *list = json_object_get(o, "scheduled");
	ck_assert_int_eq(json_array_size(list), 3);
	ck_assert_int_eq(num(json_array_get(list, 0), "id"), id_gone);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "state")),
	    "cancelled");
	ck_assert_int_eq(num(json_array_get(list, 1), "id"), id_later);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "state")),
	    "scheduled");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "state")),
	    "posted");
	json_decref(o);

	/* The operator's pigeonctl: the same routes. */
	char *out = NULL;
	ck_assert_int_eq(ctl(&out, "audience shop -d 3"), 0);
	ck_assert_msg(strstr(out, "@shop: 1 followers, 1 posts") != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, "+212"));
	free(out);
	ck_assert_int_eq(ctl(&out, "key shop second 2>/dev/null"), 0);
	ck_assert_msg(strncmp(out, "pk_", 3) == 0 && strlen(out) > 64, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, "keys shop"), 0);
	ck_assert_msg(strstr(out, "second") != NULL && strstr(out, "pk_") == NULL, "%s", out);
	free(out);
	/* Its post still scheduled (an hour ahead) is cancelled with it. */
	ck_assert_int_eq(ctl(&out, "revoke shop 1"), 0);
	ck_assert_msg(strstr(out, "; 1 scheduled post(s) of it cancelled") != NULL, "%s",
	    out);
	free(out);
	ck_assert_int_eq(ctl(&out, "revoke shop 99"), 1);
	free(out);
	json_decref(jreq("GET", "/api/accounts/shop/scheduled", key, NULL, 401));
	char *when = db_time_in(600);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "schedule shop %s 'Later by pigeonctl'", when);
	ck_assert_int_eq(ctl(&out, cmd), 0);
	ck_assert_msg(strncmp(out, "scheduled ", 10) == 0, "%s", out);
	free(out);
	free(when);
	ck_assert_int_eq(ctl(&out, "business shop off"), 0);
	free(out);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM scheduled_posts "
	    "WHERE state = 'scheduled'", 0, NULL), 0);
	free(at);
	free(later);
	free(gone);
	free(key);
}
END_TEST

/*
 * Made-up keys cost a query each: an address that sends them takes from
 * the public routes' budget (public_rate, 600 a minute here), and gets 429
 * once it is spent; before, it could make the daemon check keys as fast
 * as it answered. An operator's token is not counted.
 */
START_TEST(test_made_up_keys_limited)
{
	const char *fake = "pk_1_0000000000000000000000000000000000000000000000000000000000000000";
	int code = 0, n = 0;

	/* The budget refills (10 a second) while the requests go: they come
	 * faster than that however loaded the machine, so it runs out. */
	while (n < 5000 && (code = h_http(g.http_port, "GET", "/api/accounts/shop/stats",
	    fake, NULL, NULL)) == 401)
		n++;
	ck_assert_msg(code == 429, "%d made-up keys answered 401, then %d", n, code);
	ck_assert_int_ge(n, 500);
	ck_assert_int_ne(h_http(g.http_port, "GET", "/api/accounts/shop/stats", TOKEN, NULL,
	    NULL), 429);
}
END_TEST

/* pigeon_biz_post and the janitor: posts of @shop by API, with post_max
 * 300, to one follower. */
static void
setup_posts(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	g.extra_config = "post_max = 300\n";
	h_gateway_start(&g, "business_posts", 1);
}

/* POST /api/posts of text (JSON, escapes and all) with send_at (or NULL):
 * the answer's code. */
static int
post_code(const char *key, const char *json_text, const char *at)
{
	char *body = at ? h_strf("{\"user\": \"shop\", \"text\": \"%s\", \"send_at\": \"%s\"}",
	    json_text, at) : h_strf("{\"user\": \"shop\", \"text\": \"%s\"}", json_text);
	char *resp = NULL;
	int code = h_http(g.http_port, "POST", "/api/posts", key, body, &resp);
	free(body);
	free(resp);
	return code;
}

/* @shop and a follower; @shop's key (malloc). */
static char *
shop_and_fan(const char *fan)
{
	join(0, SHOP, "shop");
	join(0, fan, "fan");
	ck_assert_int_eq(h_wait_received(&g, SHOP, "@shop", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, fan, "@fan", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, fan, "FOLLOW shop"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	return business("shop");
}

/* The cap of parts of the copy of the post that starts with `start`. */
static long
copy_parts(const char *start)
{
	char *like = h_strf("@shop: %s%%", start);
	const char *params[] = { like };
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox o JOIN posts p "
	    "ON p.id = o.post_id WHERE o.text LIKE $1", like, "1", WAIT_MS), 0);
	long n = h_db_long(g.db, "SELECT max_parts FROM outbox WHERE text LIKE $1", 1, params);
	free(like);
	return n;
}

/*
 * A blank API post: a text of spaces or invisible characters other than
 * ASCII ones was answered 201 (or 202 with send_at) and went to every
 * follower as "@shop: "; it is a 400 now, as an empty text, and nothing
 * is posted or scheduled. post_max counts the line that goes out (as
 * by SMS), not the invisible characters removed from it.
 */
START_TEST(test_api_post_text)
{
	char *key = shop_and_fan("+212661000320");
	char *at = db_time_in(3600);

	static const char *const blank[] = { "\\u200b", "\\u00a0\\u2028", " \\u3000\\t",
	    "\\u200d", "\\u2060\\ufeff\\u00ad", "\\u202e \\u2800", NULL };
	for (int i = 0; blank[i]; i++) {
		ck_assert_msg(post_code(key, blank[i], NULL) == 400, "\"%s\" posted", blank[i]);
		ck_assert_msg(post_code(key, blank[i], at) == 400, "\"%s\" scheduled",
		    blank[i]);
	}
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM scheduled_posts", 0, NULL), 0);

	/* 300 letters and ten zero-width spaces: 300 characters go out. */
	char text[400] = "";
	for (int i = 0; i < 10; i++)
		strcat(text, "\\u200b");
	size_t n0 = strlen(text);
	memset(text + n0, 'z', 300);
	text[n0 + 300] = '\0';
	ck_assert_int_eq(post_code(key, text, NULL), 201);
	ck_assert_int_eq(post_code(key, text, at), 202);
	strcat(text, "z");
	ck_assert_int_eq(post_code(key, text, NULL), 400);
	ck_assert_int_eq(post_code(key, text, at), 400);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE length(text) = 300",
	    0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM scheduled_posts "
	    "WHERE length(text) = 300", 0, NULL), 1);
	free(at);
	free(key);
}
END_TEST

/*
 * A GSM-7 text posted through the API went to each follower in up to
 * fanout_parts_ucs2 parts (3), the same text by SMS in fanout_parts_gsm
 * (1): pigeon_biz_post passed no coding, and none means UCS-2. Now pigeond
 * asks libgammu, as for a post by SMS, at once and for send_at; a text
 * that needs UCS-2 keeps the UCS-2 cap.
 */
START_TEST(test_api_post_parts)
{
	const char *fan = "+212661000321";
	char *key = shop_and_fan(fan), gsm[300] = "", sched[300] = "", ucs2[200] = "";

	while (strlen(gsm) < 280)
		strcat(gsm, "Promo GSM ");
	gsm[286] = '\0';
	memcpy(sched, "Later", 5);
	memcpy(sched + 5, gsm + 5, 282);
	while (strlen(ucs2) < 150)
		strcat(ucs2, "Ucs2 \xc5\x9f ");	/* ş: not GSM-7 */
	ck_assert_int_eq(post_code(key, gsm, NULL), 201);
	ck_assert_int_eq(copy_parts("Promo GSM"), 1);
	ck_assert_int_eq(h_wait_received(&g, fan, "... GET shop", WAIT_MS), 0);
	ck_assert_int_eq(post_code(key, ucs2, NULL), 201);
	ck_assert_int_eq(copy_parts("Ucs2"), 3);
	char *at = db_time_in(15);	/* still ahead when the POST is read */
	ck_assert_int_eq(post_code(key, sched, at), 202);
	ck_assert_int_eq(copy_parts("Later"), 1);
	/* A row scheduled before pigeond said its coding: estimated. */
	h_db_exec(g.db, "INSERT INTO scheduled_posts (account_id, text, send_at) "
	    "SELECT id, 'Older' || repeat(' row', 70), now() FROM accounts "
	    "WHERE handle = 'shop'");
	ck_assert_int_eq(copy_parts("Older"), 1);
	/* A web form's no-break space: the copy has a plain one (the line
	 * that goes out), GSM-7, one part. Before, libgammu was asked about
	 * the text as it came: UCS-2, 3 parts. */
	char nbsp[300];
	snprintf(nbsp, sizeof(nbsp), "Nbsp\xc2\xa0%s", gsm + 10);
	ck_assert_int_eq(post_code(key, nbsp, NULL), 201);
	ck_assert_int_eq(copy_parts("Nbsp "), 1);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE post_id IS NOT NULL "
	    "AND state = 'sent'", NULL, "5", WAIT_MS), 0);
	free(at);
	free(key);
}
END_TEST

/* The scheduled post `id` in GET /api/accounts/shop/scheduled (the
 * operator's view): its state, and its key_id in *key (0: null). */
static char *
scheduled_state(long id, long *key)
{
	json_t *o = jreq("GET", "/api/accounts/shop/scheduled", TOKEN, NULL, 200), *e;
	char *st = NULL;
	size_t i;

	json_array_foreach(json_object_get(o, "scheduled"), i, e)
		if (num(e, "id") == id) {
			st = strdup(json_string_value(json_object_get(e, "state")));
			if (key)
				*key = json_is_integer(json_object_get(e, "key_id")) ?
				    num(e, "key_id") : 0;
		}
	json_decref(o);
	ck_assert_msg(st != NULL, "scheduled post %ld not listed", id);
	return st;
}

/* want_key: its key_id, 0 for null, -1 not checked. */
static void
assert_scheduled_state(long id, const char *want, long want_key)
{
	long key = -1;
	char *st = scheduled_state(id, &key);

	ck_assert_msg(strcmp(st, want) == 0, "scheduled post %ld is %s, not %s", id, st,
	    want);
	ck_assert_msg(want_key == -1 || key == want_key, "scheduled post %ld: key_id %ld, "
	    "not %ld", id, key, want_key);
	free(st);
}

/* POST path with body: a 400 whose error holds want. */
static void
refused(const char *path, const char *key, const char *body, const char *want)
{
	json_t *o = jreq("POST", path, key, body, 400);
	const char *e = json_string_value(json_object_get(o, "error"));
	ck_assert_msg(e && strstr(e, want), "%s: %s", body, e ? e : "");
	json_decref(o);
}

struct listed {
	const char *key, *send_at;
};

/* GET .../scheduled answers (the API's connection is back) its latest
 * post's send_at as w->send_at. */
static int
scheduled_at_is(void *p)
{
	struct listed *w = p;
	char *resp = NULL;
	int ok = 0;

	if (h_http(g.http_port, "GET", "/api/accounts/shop/scheduled", w->key, NULL,
	    &resp) == 200) {
		json_t *o = json_loads(resp, 0, NULL);
		const char *at = json_string_value(json_object_get(json_array_get(
		    json_object_get(o, "scheduled"), 0), "send_at"));
		ok = at && strcmp(at, w->send_at) == 0;
		json_decref(o);
	}
	free(resp);
	return ok;
}

/*
 * POST /api/posts and .../tracks refuse a field they do not know, by
 * name, as POST /api/messages does: a misspelt send_at ("send_time")
 * was ignored and the post went to every follower at once.
 */
START_TEST(test_api_post_fields)
{
	char *key = shop_and_fan("+212661000324");

	refused("/api/posts", key, "{\"user\": \"shop\", \"text\": \"flash sale typo\", "
	    "\"send_time\": \"2026-12-06T18:00:00+01:00\"}", "unknown field \"send_time\"");
	refused("/api/accounts/shop/tracks", key, "{\"word\": \"promo\", \"digest\": true}",
	    "unknown field \"digest\"");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM tracks", 0, NULL), 0);
	free(key);
}
END_TEST

/*
 * idempotency_key on POST /api/posts: a retry (after a timeout, a 503)
 * answers the first answer, "replayed", and posts nothing; it posted to
 * every follower twice. Another body under the key is a 422; keys are
 * the caller's (a key's, a token's), and a post's never a message's.
 */
START_TEST(test_api_post_idempotency)
{
	const char *fan = "+212661000326";
	char *key = shop_and_fan(fan);
	const char *body = "{\"user\": \"shop\", \"text\": \"Flash sale once\", "
	    "\"idempotency_key\": \"sale-1\"}";
	json_t *a = jreq("POST", "/api/posts", key, body, 201);
	json_t *b = jreq("POST", "/api/posts", key, body, 201);
	ck_assert(json_is_true(json_object_get(b, "replayed")));
	ck_assert_int_eq(num(b, "id"), num(a, "id"));
	json_decref(b);
	json_decref(jreq("POST", "/api/posts", key, "{\"user\": \"shop\", \"text\": "
	    "\"Flash sale twice\", \"idempotency_key\": \"sale-1\"}", 422));
	/* Keys are the caller's: the operator's same key is another request,
	 * and a message's key never a post's. */
	b = jreq("POST", "/api/posts", TOKEN, body, 201);
	ck_assert_ptr_null(json_object_get(b, "replayed"));
	ck_assert_int_ne(num(b, "id"), num(a, "id"));
	json_decref(b);
	b = jreq("POST", "/api/messages", TOKEN, "{\"to\": \"+212661000325\", \"text\": "
	    "\"x\", \"idempotency_key\": \"sale-1\"}", 202);
	ck_assert_ptr_null(json_object_get(b, "replayed"));
	json_decref(b);
	json_decref(a);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE text = "
	    "'Flash sale once'", 0, NULL), 2);

	/* A scheduled post's retry: the same post, at the same time. */
	char *at = db_time_in(3600);
	char *sched = h_strf("{\"user\": \"shop\", \"text\": \"Later once\", \"send_at\": "
	    "\"%s\", \"idempotency_key\": \"sale-2\"}", at);
	a = jreq("POST", "/api/posts", key, sched, 202);
	b = jreq("POST", "/api/posts", key, sched, 202);
	ck_assert(json_is_true(json_object_get(b, "replayed")));
	ck_assert_int_eq(num(b, "scheduled"), num(a, "scheduled"));
	ck_assert_str_eq(json_string_value(json_object_get(b, "send_at")),
	    json_string_value(json_object_get(a, "send_at")));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM scheduled_posts", 0, NULL), 1);
	json_decref(a);
	json_decref(b);
	free(sched);
	free(at);
	ck_assert_int_eq(h_wait_received(&g, fan, "@shop: Flash sale once", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, fan, "Flash sale once"), 2);
	free(key);
}
END_TEST

/*
 * A scheduled post's send_at is answered in UTC, as GET .../scheduled
 * lists it: it came in the service's zone (+01:00), the list said
 * +00:00. Also on a database whose TimeZone is the country's. Every
 * time with milliseconds: PostgreSQL wrote as many decimals as the time
 * had (.7688, .1115, none), which Python before 3.11 cannot read.
 */
START_TEST(test_api_post_utc)
{
	char *key = shop_and_fan("+212661000327");

	/* Scheduled at 19:00 of UTC+1: answered as 18:00+00:00, as listed. */
	char *at = h_db_value(g.db, "SELECT to_char((now() + interval '1 hour') AT TIME ZONE "
	    "'Africa/Lagos', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+01:00\"')", 0, NULL);
	char *sched = h_strf("{\"user\": \"shop\", \"text\": \"Later\", \"send_at\": "
	    "\"%s\"}", at);
	json_t *a = jreq("POST", "/api/posts", key, sched, 202);
	const char *sa = json_string_value(json_object_get(a, "send_at"));
	ck_assert_msg(h_api_time(sa), "send_at %s", sa ? sa : "null");
	ck_assert_str_eq(sa + 19, ".000+00:00");
	json_t *l = jreq("GET", "/api/accounts/shop/scheduled", key, NULL, 200);
	json_t *s0 = json_array_get(json_object_get(l, "scheduled"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "send_at")), sa);
	/* Milliseconds always: PostgreSQL wrote .7688, .1 or none. */
	const char *ca = json_string_value(json_object_get(s0, "created_at"));
	ck_assert_msg(h_api_time(ca), "created_at %s", ca ? ca : "null");
	json_decref(l);
	/* A database whose TimeZone is the country's: still UTC, once the
	 * API's connections are made again. */
	h_db_exec(g.db, "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = "
	    "''Africa/Lagos''', current_database()); END$$");
	h_db_exec(g.db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE datname = current_database() AND (application_name LIKE "
	    "'pigeond % api' OR application_name LIKE 'pigeond % public')");
	struct listed w = { key, sa };
	ck_assert_int_eq(h_wait_for(scheduled_at_is, &w, WAIT_MS), 0);
	json_decref(a);
	free(sched);
	free(at);
	free(key);
}
END_TEST

/*
 * A key is revoked because it leaked, and the posts scheduled with it
 * went out anyway, to every follower, at their time: scheduled_posts did
 * not even say which key made a post. Now revoking a key cancels its
 * posts still waiting, in the same transaction, and says how many; the
 * account's other key's post and the operator's stay, and go out at
 * their time; the revoked key's never does, even once its time has
 * passed. Revoking again cancels nothing and keeps the first time.
 */
START_TEST(test_revoke_cancels_key_posts)
{
	const char *fan = "+212661000323";
	char *key1 = shop_and_fan(fan);
	json_t *o = jreq("POST", "/api/users/shop/keys?label=second", TOKEN, NULL, 201);
	char *key2 = strdup(json_string_value(json_object_get(o, "key")));
	long k2 = num(o, "id");
	json_decref(o);
	long k1 = strtol(key1 + 3, NULL, 10);
	ck_assert_int_ne(k1, k2);

	/* All three due at the same time: the janitor takes them in one pass
	 * (30 s out: the revocation and the checks after it come first). */
	char *at = db_time_in(30);
	long p1 = scheduled(key1, "By key one", at);
	long p2 = scheduled(key2, "By key two", at);
	long p3 = scheduled(TOKEN, "By the operator", at);
	assert_scheduled_state(p1, "scheduled", -1);

	char path[64];
	snprintf(path, sizeof(path), "/api/users/shop/keys/%ld", k1);
	o = jreq("DELETE", path, TOKEN, NULL, 200);
	/* Before its time: cancelled, the other two waiting; each listed
	 * with the key that scheduled it (none: the operator's token). */
	assert_scheduled_state(p1, "cancelled", k1);
	assert_scheduled_state(p2, "scheduled", k2);
	assert_scheduled_state(p3, "scheduled", 0);
	ck_assert_int_eq(num(o, "cancelled_posts"), 1);
	char *revoked_at = strdup(json_string_value(json_object_get(o, "revoked_at")));
	json_decref(o);
	/* The revoked key schedules nothing more. */
	ck_assert_int_eq(post_code(key1, "By key one again", at), 401);

	o = jreq("DELETE", path, TOKEN, NULL, 200);
	ck_assert_int_eq(num(o, "cancelled_posts"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(o, "revoked_at")), revoked_at);
	json_decref(o);

	/* At their time the other two go out; the revoked key's never does. */
	ck_assert_int_eq(h_wait_received(&g, fan, "@shop: By key two", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, fan, "@shop: By the operator", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, fan, "By key one"), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE text LIKE "
	    "'By key one%'", 0, NULL), 0);
	assert_scheduled_state(p1, "cancelled", k1);
	assert_scheduled_state(p2, "posted", k2);
	assert_scheduled_state(p3, "posted", 0);
	free(revoked_at);
	free(at);
	free(key2);
	free(key1);
}
END_TEST

/* @shop's digest: "digest of its word promo, digest_at set". */
#define SHOP_DIGEST "SELECT t.digest::text || ' ' || (a.digest_at IS NOT NULL)::text " \
	"FROM tracks t JOIN accounts a ON a.id = t.account_id " \
	"WHERE a.handle = 'shop' AND t.term = 'promo'"

/*
 * A word tracked with TRACK promo DIGEST by SMS, then POSTed to
 * /api/accounts/shop/tracks: the answer was "added": false and the word
 * stayed in the digest, its posts never sent as SMS. As TRACK promo by
 * SMS, it comes back post by post and no digest is due; GET shows which
 * words are digested, and at what hour. A digested word removed by API
 * leaves no digest due either, as UNTRACK by SMS.
 */
START_TEST(test_api_track_digest)
{
	const char *fan = "+212661000322";
	char *key = shop_and_fan(fan);

	ck_assert_int_eq(h_text(&g, 0, SHOP, "TRACK promo DIGEST"), 0);
	ck_assert_int_eq(h_wait_db(&g, SHOP_DIGEST, NULL, "true true", WAIT_MS), 0);
	json_t *o = jreq("GET", "/api/accounts/shop/tracks", key, NULL, 200);
	json_t *t = json_array_get(json_object_get(o, "tracks"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(t, "term")), "promo");
	ck_assert(json_is_true(json_object_get(t, "digest")));
	ck_assert_int_eq(num(o, "digest_hour"), 20);
	json_decref(o);

	o = jreq("POST", "/api/accounts/shop/tracks", key, "{\"word\": \"promo\"}", 200);
	ck_assert(json_is_false(json_object_get(o, "added")));
	ck_assert(json_is_false(json_object_get(o, "digest")));
	json_decref(o);
	ck_assert_int_eq(h_wait_db(&g, SHOP_DIGEST, NULL, "false false", 1), 0);
	o = jreq("GET", "/api/accounts/shop/tracks", key, NULL, 200);
	t = json_array_get(json_object_get(o, "tracks"), 0);
	ck_assert(json_is_false(json_object_get(t, "digest")));
	ck_assert(json_is_null(json_object_get(o, "digest_hour")));
	json_decref(o);
	ck_assert_int_eq(h_text(&g, 0, fan, "Grande promo ce soir"), 0);
	ck_assert_int_eq(h_wait_received(&g, SHOP, "@fan: Grande promo ce soir", WAIT_MS), 0);

	/* Digested again by SMS, then removed by API: no digest due. (Not
	 * the first SMS's text: the same text from the same phone in the
	 * same second of the simulator's clock is that SMS read twice.) */
	ck_assert_int_eq(h_text(&g, 0, SHOP, "track promo digest"), 0);
	ck_assert_int_eq(h_wait_db(&g, SHOP_DIGEST, NULL, "true true", WAIT_MS), 0);
	o = jreq("DELETE", "/api/accounts/shop/tracks/promo", key, NULL, 200);
	ck_assert(json_is_true(json_object_get(o, "removed")));
	json_decref(o);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE handle = 'shop' "
	    "AND digest_at IS NULL", 0, NULL), 1);
	free(key);
}
END_TEST

/*
 * The erasure's lock order, played by two connections: A takes what
 * pigeon_mod_erase takes first (the account's row, FOR UPDATE), B runs
 * a business function, and A then deletes the account (whose cascade
 * deletes its keys and scheduled posts) and commits, as the erasure
 * does. Waits until B either waits for a lock or has answered; then
 * A's delete and commit must succeed (no deadlock, 40P01, on either
 * side). Whether B waited in *waited (the lock order: B waits for the
 * account before it holds a key or a scheduled post); B's answer (its
 * one value, "" for NULL; malloc).
 */
static char *
erase_race(const char *handle, const char *sql, const char *b_param, int *waited)
{
	PGconn *a = h_db_connect(g.conninfo), *b = h_db_connect(g.conninfo);
	const char *ph[] = { handle }, *pb[] = { b_param };
	char bpid[16];
	PGresult *res;
	long t0;

	h_db_exec(a, "BEGIN");
	ck_assert_int_eq(h_db_long(a, "SELECT count(*) FROM (SELECT 1 FROM accounts "
	    "WHERE handle = $1 FOR UPDATE) x", 1, ph), 1);
	snprintf(bpid, sizeof(bpid), "%d", PQbackendPID(b));
	ck_assert(PQsendQueryParams(b, sql, 1, NULL, pb, NULL, NULL, 0) == 1);
	*waited = 0;
	for (t0 = h_now_ms(); h_now_ms() - t0 < WAIT_MS; h_sleep_ms(10)) {
		const char *pp[] = { bpid };
		ck_assert(PQconsumeInput(b) == 1);
		if (!PQisBusy(b))
			break;
		if (h_db_long(g.db, "SELECT count(*) FROM pg_stat_activity WHERE "
		    "pid = $1::integer AND wait_event_type = 'Lock'", 1, pp) == 1) {
			*waited = 1;
			break;
		}
	}
	ck_assert_msg(h_now_ms() - t0 < WAIT_MS, "B neither waited nor answered");
	res = PQexecParams(a, "DELETE FROM accounts WHERE handle = $1", 1, NULL, ph,
	    NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "the erasure's delete: %s",
	    PQresultErrorMessage(res));
	PQclear(res);
	res = PQexec(a, "COMMIT");
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "the erasure's commit: %s",
	    PQresultErrorMessage(res));
	PQclear(res);
	res = PQgetResult(b);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQresultErrorMessage(res));
	char *v = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	while ((res = PQgetResult(b)) != NULL)
		PQclear(res);
	PQfinish(b);
	PQfinish(a);
	return v;
}

/* A business account `handle` on phone, and its key's id. */
static long
erase_business(const char *phone, const char *handle)
{
	char want[40];

	join(0, phone, handle);
	snprintf(want, sizeof(want), "@%s", handle);
	ck_assert_int_eq(h_wait_received(&g, phone, want, WAIT_MS), 0);
	char *key = business(handle);
	long id = strtol(key + 3, NULL, 10);
	free(key);
	return id;
}

/*
 * A member erased while their business key scheduled a post: the post
 * took the key's row (FOR SHARE) then waited for the account's (its
 * foreign key), while the erasure held the account's and its cascade
 * waited for the key's: "deadlock detected", and when the erasure was
 * the one cancelled, the erased account's post stayed scheduled. Now
 * each business function takes the account's row first, as the
 * erasure does: the post waits for the erasure, then finds no account
 * (no_user). So does a key being issued (it failed on the foreign key,
 * a 500) and a key being revoked; the janitor, holding a due post,
 * skips an account being erased rather than wait for it.
 */
START_TEST(test_erase_while_business)
{
	char id[24], *v;
	int waited;

	/* A post scheduled with the key. */
	snprintf(id, sizeof(id), "%ld", erase_business("+212661000330", "erased1"));
	v = erase_race("erased1", "SELECT pigeon_biz_post('erased1', 'Scheduled then "
	    "erased', 300, (now() + interval '1 hour')::text, 86400, false, "
	    "$1::bigint)::text", id, &waited);
	ck_assert_msg(waited, "the post did not wait for the erasure");
	ck_assert_str_eq(v, "{\"error\": \"no_user\"}");
	free(v);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM scheduled_posts", 0, NULL), 0);

	/* A key issued (pigeond hashed its secret). */
	erase_business("+212661000331", "erased2");
	v = erase_race("erased2", "SELECT pigeon_biz_key_add('erased2', $1, 'late')::text",
	    "0000000000000000000000000000000000000000000000000000000000000007", &waited);
	ck_assert_str_eq(v, "{\"error\": \"no_user\"}");
	free(v);

	/* A key revoked: it waits for the erasure, and the key is gone with
	 * the account. (Whether revoking first and erasing next deadlocked
	 * hung on the order PostgreSQL runs the account's cascades in.) */
	snprintf(id, sizeof(id), "%ld", erase_business("+212661000332", "erased3"));
	v = erase_race("erased3", "SELECT pigeon_biz_key_revoke('erased3', $1::bigint)::text",
	    id, &waited);
	ck_assert_msg(waited, "the revocation did not wait for the erasure (%s)", v);
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM api_keys", 0, NULL), 0);

	/* The janitor with a post due: run by the test, pigeond stopped (its
	 * own janitor would take the post). */
	erase_business("+212661000333", "erased4");
	ck_assert_int_eq(h_stop(g.pigeond, SIGTERM, H_STOP_MS), 0);
	g.pigeond = 0;
	h_db_exec(g.db, "INSERT INTO scheduled_posts (account_id, text, send_at) "
	    "SELECT id, 'Due then erased', now() FROM accounts WHERE handle = 'erased4'");
	v = erase_race("erased4", "SELECT pigeon_biz_post_due($1::integer)::text", "10",
	    &waited);
	ck_assert_str_eq(v, "0");
	free(v);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM scheduled_posts", 0, NULL), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("business");
	TCase *tc = tcase_create("stats");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_business_stats);
	tcase_add_test(tc, test_made_up_keys_limited);
	suite_add_tcase(s, tc);
	tc = tcase_create("schedule");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_scheduled_post);
	suite_add_tcase(s, tc);
	tc = tcase_create("posts");
	tcase_add_checked_fixture(tc, setup_posts, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_api_post_text);
	tcase_add_test(tc, test_api_post_parts);
	tcase_add_test(tc, test_api_track_digest);
	tcase_add_test(tc, test_api_post_fields);
	tcase_add_test(tc, test_api_post_idempotency);
	tcase_add_test(tc, test_api_post_utc);
	suite_add_tcase(s, tc);
	tc = tcase_create("revoke");
	tcase_add_checked_fixture(tc, setup_posts, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_revoke_cancels_key_posts);
	suite_add_tcase(s, tc);
	tc = tcase_create("erase");
	tcase_add_checked_fixture(tc, setup_posts, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_erase_while_business);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
