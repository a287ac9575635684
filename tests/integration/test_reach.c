/*
 * Reach, issue 8: a member with four followers posts; the followers'
 * phones receive it (one copy is refused by the network), the SMSC's
 * delivery reports come back (one says "not delivered"), and
 * GET /api/users/HANDLE/stats then shows for that post exactly what the
 * simulated phones received and what the reports said; followers over
 * time and delivered updates per day show today's figures; the status
 * page's data lists the post with the same figures. The stats need the
 * operator token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"reach-token-0123456789abcdef0123456789"
#define SHOP	"+212661000040"
#define NFOLLOWERS	4
#define POST	"Promo: couscous a 20 DH ce soir"
#define WAIT_MS	60000

static struct h_gateway g;
static const char *followers[NFOLLOWERS] = {
	"+212661000041", "+212661000042", "+212661000043", "+212661000044",
};
static json_t *
get(const char *path, const char *token, int want)
{
	char *resp = NULL;
	int code = h_http(g.http_port, "GET", path, token, NULL, &resp);
	ck_assert_msg(code == want, "GET %s: %d, not %d (%s)", path, code, want,
	    resp ? resp : "");
	json_t *o = resp ? json_loads(resp, 0, NULL) : NULL;
	ck_assert_msg(o != NULL, "GET %s: not JSON", path);
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

/* The post as modem i sent it to `to` (a line of its sent log), or NULL. */
static json_t *
sent_to(int modem, const char *to)
{
	char *path = NULL, *data;
	json_t *hit = NULL;

	ck_assert_int_ge(asprintf(&path, "%s/sent.jsonl", g.sim_dir[modem]), 0);
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

struct want {
	long delivered, failed;
};

/* The stats answer that counts every report. */
static int
reports_counted(void *p)
{
	struct want *w = p;
	char *resp = NULL;
	int ok = 0;

	if (h_http(g.http_port, "GET", "/api/users/shop/stats", TOKEN, NULL, &resp) == 200) {
		json_t *o = json_loads(resp, 0, NULL);
		json_t *r = json_object_get(json_array_get(json_object_get(o, "latest"), 0),
		    "reach");
		ok = json_integer_value(json_object_get(r, "delivered")) == w->delivered &&
		    json_integer_value(json_object_get(r, "failed")) == w->failed &&
		    json_integer_value(json_object_get(r, "pending")) == 0;
		json_decref(o);
	}
	free(resp);
	return ok;
}

/* The last day of a by-day series: {"day": today, key: n}. */
static long
today_of(json_t *stats, const char *series, const char *key, const char *today)
{
	json_t *days = json_object_get(stats, series);
	json_t *last = json_array_get(days, json_array_size(days) - 1);
	ck_assert_str_eq(json_string_value(json_object_get(last, "day")), today);
	return num(last, key);
}

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	g.modem_extra[0] = "report = yes\n";
	g.modem_extra[1] = "report = yes\n";
	h_gateway_start(&g, "reach", 2);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

START_TEST(test_post_reach)
{
	int received = 0, refused = 0;
	struct want w = { 0, 0 };

	ck_assert_int_eq(h_text(&g, 0, SHOP, "JOIN shop"), 0);
	ck_assert_int_eq(h_wait_received(&g, SHOP, "@shop", WAIT_MS), 0);
	for (int i = 0; i < NFOLLOWERS; i++) {
		char join[32];
		snprintf(join, sizeof(join), "JOIN fan%d", i);
		ck_assert_int_eq(h_text(&g, i % 2, followers[i], join), 0);
	}
	for (int i = 0; i < NFOLLOWERS; i++) {
		ck_assert_int_eq(h_wait_received(&g, followers[i], "@fan", WAIT_MS), 0);
		ck_assert_int_eq(h_text(&g, i % 2, followers[i], "FOLLOW shop"), 0);
	}
	for (int i = 0; i < NFOLLOWERS; i++)
		ck_assert_int_eq(h_wait_received(&g, followers[i], "@shop", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);

	/* The SMSC reports nothing by itself from now on: the test says what
	 * each report says. Modem 0 has its next send refused for good
	 * (+CMS ERROR 21, short message transfer rejected). */
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(h_sim_fault(&g, i, "report -1"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 21"), 0);

	ck_assert_int_eq(h_text(&g, 1, SHOP, POST), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE post_id IS NOT NULL "
	    "AND state NOT IN ('queued', 'sending')", NULL, "4", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);

	/* What the phones got, and the SMSC's report for each copy. */
	for (int i = 0; i < NFOLLOWERS; i++) {
		json_t *s = NULL;
		int m;
		for (m = 0; m < 2 && s == NULL; m++)
			s = sent_to(m, followers[i]);
		if (s == NULL) {
			refused++;
			continue;
		}
		received++;
		json_t *refs = json_object_get(s, "refs"), *ref;
		size_t k;
		/* The first phone that got it is reported "not delivered"
		 * (status 70: the SMSC gave up), the others delivered. */
		int status = received == 1 ? 70 : 0;
		json_array_foreach(refs, k, ref) {
			char mr[16], st[8];
			snprintf(mr, sizeof(mr), "%lld", (long long)json_integer_value(ref));
			snprintf(st, sizeof(st), "%d", status);
			char *argv[] = { (char *)h_bin("pigeon-modemsim"), "report",
			    g.sim_dir[m - 1], (char *)followers[i], mr, st, NULL };
			ck_assert_int_eq(h_exec(NULL, argv), 0);
		}
		if (status == 0)
			w.delivered++;
		else
			w.failed++;
		json_decref(s);
	}
	w.failed += refused;
	/* Modem 0 refused one copy if it took one. */
	ck_assert_int_le(refused, 1);
	ck_assert_int_eq(received + refused, NFOLLOWERS);
	ck_assert_int_eq(h_received_count(&g, SHOP), 1);

	/* Reports arrive as SMS on the modems: wait until all are counted. */
	ck_assert_int_eq(h_wait_for(reports_counted, &w, WAIT_MS), 0);

	/* Without the token, or with a wrong one: 401, and no figures. */
	json_t *o = get("/api/users/shop/stats", NULL, 401);
	ck_assert_ptr_null(json_object_get(o, "followers"));
	json_decref(o);
	json_decref(get("/api/users/shop/stats", "not-the-token", 401));
	json_decref(get("/api/users/nobody/stats", TOKEN, 404));
	json_decref(get("/api/users/shop/stats?days=0", TOKEN, 400));

	char *today = h_db_value(g.db, "SELECT to_char((now() AT TIME ZONE "
	    "pigeon_setting('timezone'))::date, 'YYYY-MM-DD')", 0, NULL);
	json_t *st = get("/api/users/shop/stats?days=7", TOKEN, 200);
	ck_assert_str_eq(json_string_value(json_object_get(st, "handle")), "shop");
	ck_assert_int_eq(num(st, "followers"), NFOLLOWERS);
	ck_assert_int_eq(num(st, "following"), 0);
	ck_assert_int_eq(num(st, "posts"), 1);
	ck_assert_int_eq(num(st, "tracks"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(st, "followers_by_day")), 7);
	ck_assert_int_eq(json_array_size(json_object_get(st, "delivered_by_day")), 7);
	ck_assert_int_eq(today_of(st, "followers_by_day", "followers", today), NFOLLOWERS);
	ck_assert_int_eq(today_of(st, "delivered_by_day", "delivered", today), w.delivered);
	/* The account is a day old: the days before count nothing. */
	ck_assert_int_eq(num(json_array_get(json_object_get(st, "followers_by_day"), 0),
	    "followers"), 0);

	/* The post's reach is what the phones and the reports said. */
	json_t *latest = json_object_get(st, "latest");
	ck_assert_int_eq(json_array_size(latest), 1);
	json_t *p = json_array_get(latest, 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "text")), POST);
	json_t *r = json_object_get(p, "reach");
	ck_assert_int_eq(num(r, "queued"), NFOLLOWERS);
	ck_assert_int_eq(num(r, "sent"), received);
	ck_assert_int_eq(num(r, "delivered"), w.delivered);
	ck_assert_int_eq(num(r, "failed"), w.failed);
	ck_assert_int_eq(num(r, "pending"), 0);
	ck_assert_int_eq(num(r, "cancelled"), 0);
	ck_assert_int_eq(w.delivered, received - 1);
	json_t *via = json_object_get(r, "via");
	ck_assert_int_eq(num(json_object_get(via, "follow"), "delivered"), w.delivered);
	ck_assert_int_eq(num(json_object_get(via, "track"), "queued"), 0);
	long post = num(p, "id");
	char *body = json_dumps(st, 0);
	for (int i = 0; i < NFOLLOWERS; i++)
		ck_assert_msg(strstr(body, followers[i] + 1) == NULL, "a phone in %s", body);
	free(body);
	json_decref(st);

	/* The status page's data: the post with the same figures. */
	st = get("/api/status", TOKEN, 200);
	p = json_array_get(json_object_get(st, "reach"), 0);
	ck_assert_int_eq(num(p, "id"), post);
	ck_assert_str_eq(json_string_value(json_object_get(p, "handle")), "shop");
	r = json_object_get(p, "reach");
	ck_assert_int_eq(num(r, "sent"), received);
	ck_assert_int_eq(num(r, "delivered"), w.delivered);
	ck_assert_int_eq(num(r, "failed"), w.failed);
	body = json_dumps(json_object_get(st, "reach"), 0);
	ck_assert_msg(strstr(body, "+212") == NULL, "a phone in %s", body);
	free(body);
	json_decref(st);

	/* A follower leaves: today's count goes down with the total. */
	ck_assert_int_eq(h_text(&g, 0, followers[0], "LEAVE shop"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "3", WAIT_MS), 0);
	st = get("/api/users/SHOP/stats", TOKEN, 200);
	ck_assert_int_eq(num(st, "followers"), NFOLLOWERS - 1);
	ck_assert_int_eq(json_array_size(json_object_get(st, "followers_by_day")), 30);
	ck_assert_int_eq(today_of(st, "followers_by_day", "followers", today), NFOLLOWERS - 1);
	json_decref(st);
	free(today);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("reach");
	TCase *tc = tcase_create("stats");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_post_reach);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
