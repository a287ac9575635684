/*
 * Issue 17: the audience statistics are read from counts that the writes
 * keep (db/functions/69_audience.sql), so that a statistics request never
 * passes over the followers or the inbox. Whatever the writes, the figures
 * must stay those of the rows themselves. The test writes the rows as the
 * bench does (bulk SQL: 300 followers on four networks in four languages,
 * their SMS over ten days, some before they joined, follow events moved
 * back in time), then changes them the ways the service does: a language
 * changed, follows undone and made again one by one, new SMS moving a
 * follower's hour to a later day, a follower erased by the operator's API,
 * a number range added (its network's name 101 bytes of French and
 * Arabic), and the service's time zone changed to one of a
 * quarter-hour offset (Asia/Kathmandu, +05:45); last, the counts are
 * emptied and marked unfilled, as in a database from before them, and
 * filled again by the next start. After each step the
 * statistics, read by the operator's API for 7 and for 30 days, equal
 * what the rows say (computed here by a pass over them): the followers
 * and their days, the language and network groups, each active hour
 * shown, and the "other" of the hidden hours, each person once; the CSV
 * export has the same groups, their keys whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"audience-token-0123456789abcdef01234567"

static struct h_gateway g;

/* Runs a literal statement, with at most one parameter ($1). */
static void
db_run(const char *sql, const char *param)
{
	const char *params[1] = { param };
	PGresult *r = PQexecParams(g.db, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(g.db));
	PQclear(r);
}

static json_t *
stats(int days)
{
	char path[96], *resp = NULL;

	snprintf(path, sizeof(path), "/api/accounts/biz/stats?days=%d", days);
	int code = h_http(g.http_port, "GET", path, TOKEN, NULL, &resp);
	ck_assert_msg(code == 200, "%s: %d %s", path, code, resp ? resp : "");
	json_t *o = json_loads(resp, 0, NULL);
	ck_assert_msg(o != NULL, "%s", resp);
	free(resp);
	return o;
}

/* What the rows say, by a pass over them: $1 days. */
#define TRUTH \
	"WITH a AS (SELECT id FROM accounts WHERE handle = 'biz'), " \
	"z AS (SELECT pigeon_setting('timezone') AS tz), " \
	"w AS (SELECT z.tz, (now() AT TIME ZONE z.tz)::date AS today, " \
	"      (now() AT TIME ZONE z.tz)::date - ($1::int - 1) AS day0 FROM z), " \
	"fol AS (SELECT ac.* FROM follows f JOIN accounts ac ON ac.id = f.follower, a " \
	"        WHERE f.followee = a.id) " \
	"SELECT jsonb_build_object(" \
	" 'followers', (SELECT count(*) FROM fol)," \
	" 'languages', pigeon_biz_buckets((SELECT coalesce(jsonb_agg(jsonb_build_object(" \
	"     'key', x.lang, 'people', x.n)), '[]') FROM (SELECT lang, count(*) AS n " \
	"     FROM fol GROUP BY 1) x), 5)," \
	" 'networks', pigeon_biz_buckets((SELECT coalesce(jsonb_agg(jsonb_build_object(" \
	"     'key', x.net, 'people', x.n)), '[]') FROM (SELECT pigeon_number_network(phone) " \
	"     AS net, count(*) AS n FROM fol GROUP BY 1) x), 5)" \
	"     || '{\"approximate\": true}'," \
	" 'days', (SELECT jsonb_agg(jsonb_build_array(to_char(d, 'YYYY-MM-DD'), " \
	"     (SELECT count(*) FROM follow_events e, a WHERE e.followee = a.id " \
	"       AND e.delta > 0 AND (e.at AT TIME ZONE w.tz)::date = d::date), " \
	"     (SELECT count(*) FROM follow_events e, a WHERE e.followee = a.id " \
	"       AND e.delta < 0 AND (e.at AT TIME ZONE w.tz)::date = d::date)) ORDER BY d) " \
	"     FROM w, generate_series(w.day0, w.today, interval '1 day') d)," \
	" 'hours', (SELECT coalesce(jsonb_object_agg(x.h, x.n), '{}') FROM (" \
	"     SELECT extract(hour FROM m.received_at AT TIME ZONE w.tz)::int AS h, " \
	"            count(DISTINCT m.sender) AS n " \
	"       FROM inbox_messages m JOIN fol ON fol.phone = m.sender, w " \
	"      WHERE m.received_at >= w.day0::timestamp AT TIME ZONE w.tz GROUP BY 1) x)," \
	" 'hours_total', (SELECT count(DISTINCT m.sender) FROM inbox_messages m " \
	"     JOIN fol ON fol.phone = m.sender, w " \
	"     WHERE m.received_at >= w.day0::timestamp AT TIME ZONE w.tz))::text"

/* The followers active (by the rows) in the hours not in shown ($2). */
#define OTHER \
	"WITH z AS (SELECT pigeon_setting('timezone') AS tz), " \
	"w AS (SELECT z.tz, (now() AT TIME ZONE z.tz)::date - ($1::int - 1) AS day0 FROM z) " \
	"SELECT count(DISTINCT m.sender) FROM inbox_messages m " \
	"  JOIN accounts ac ON ac.phone = m.sender " \
	"  JOIN follows f ON f.follower = ac.id " \
	"  JOIN accounts b ON b.id = f.followee AND b.handle = 'biz', w " \
	" WHERE m.received_at >= w.day0::timestamp AT TIME ZONE w.tz " \
	"   AND NOT extract(hour FROM m.received_at AT TIME ZONE w.tz)::int = ANY ($2::int[])"

/*
 * The CSV export has the JSON's groups, each key whole: a network's name
 * longer than 63 bytes was cut there, inside a UTF-8 character, so that
 * the file was not UTF-8 and the key matched nothing in the JSON.
 */
static void
check_csv(int days, const char *step, json_t *st)
{
	char path[96], *resp = NULL;
	const char *keys[] = { "languages", "networks" };
	json_t *e;
	size_t i;

	snprintf(path, sizeof(path), "/api/accounts/biz/stats?days=%d&format=csv", days);
	int code = h_http(g.http_port, "GET", path, TOKEN, NULL, &resp);
	ck_assert_msg(code == 200, "%s: %d %s", path, code, resp ? resp : "");
	json_t *utf8 = json_string(resp);	/* NULL when not UTF-8 */
	ck_assert_msg(utf8 != NULL, "%s, %d days: the CSV is not UTF-8", step, days);
	json_decref(utf8);
	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(json_object_get(st, keys[k]), "buckets"),
		    i, e) {
			char *line = h_strf("\r\n%s,%s,people,%lld\r\n", keys[k],
			    json_string_value(json_object_get(e, "key")),
			    (long long)json_integer_value(json_object_get(e, "people")));
			ck_assert_msg(strstr(resp, line) != NULL, "%s, %d days: no line %s in %s",
			    step, days, line, resp);
			free(line);
		}
	free(resp);
}

static void
check(int days, const char *step)
{
	char d[16];
	snprintf(d, sizeof(d), "%d", days);
	const char *p1[] = { d };
	char *t = h_db_value(g.db, TRUTH, 1, p1);
	json_t *want = json_loads(t, 0, NULL);
	ck_assert_msg(want != NULL, "%s", t);
	free(t);
	json_t *st = stats(days);
	json_int_t total = json_integer_value(json_object_get(want, "followers"));

	ck_assert_msg(json_integer_value(json_object_get(st, "followers")) == total,
	    "%s, %d days: followers %lld, the rows %lld", step, days,
	    (long long)json_integer_value(json_object_get(st, "followers")), (long long)total);
	const char *keys[] = { "languages", "networks" };
	for (int i = 0; i < 2; i++) {
		char *a = json_dumps(json_object_get(st, keys[i]), JSON_SORT_KEYS);
		char *b = json_dumps(json_object_get(want, keys[i]), JSON_SORT_KEYS);
		ck_assert_msg(strcmp(a, b) == 0, "%s, %d days, %s: %s, the rows %s", step,
		    days, keys[i], a, b);
		free(a);
		free(b);
	}
	check_csv(days, step, st);

	/* Each day's gained and lost; the followers at its end add up to now. */
	json_t *got = json_object_get(st, "followers_by_day");
	json_t *rows = json_object_get(want, "days");
	ck_assert_int_eq(json_array_size(got), days);
	ck_assert_int_eq(json_array_size(rows), days);
	json_int_t later = 0;
	for (int i = days - 1; i >= 0; i--) {
		json_t *e = json_array_get(got, i), *r = json_array_get(rows, i);
		json_int_t gained = json_integer_value(json_array_get(r, 1));
		json_int_t lost = json_integer_value(json_array_get(r, 2));
		ck_assert_str_eq(json_string_value(json_object_get(e, "day")),
		    json_string_value(json_array_get(r, 0)));
		ck_assert_msg(json_integer_value(json_object_get(e, "gained")) == gained &&
		    json_integer_value(json_object_get(e, "lost")) == lost,
		    "%s, %d days, %s: gained %lld lost %lld, the rows %lld %lld", step, days,
		    json_string_value(json_array_get(r, 0)),
		    (long long)json_integer_value(json_object_get(e, "gained")),
		    (long long)json_integer_value(json_object_get(e, "lost")),
		    (long long)gained, (long long)lost);
		ck_assert_int_eq(json_integer_value(json_object_get(e, "followers")),
		    total - later);
		later += gained - lost;
	}

	/* Each hour shown has the people the rows have in it; "other" is the
	 * followers active in the other hours, each once, when 5 or more. */
	json_t *hours = json_object_get(st, "active_hours");
	json_t *hw = json_object_get(want, "hours"), *e;
	size_t i;
	char shown[128] = "{";
	json_array_foreach(json_object_get(hours, "buckets"), i, e) {
		char h[8];
		json_int_t hour = json_integer_value(json_object_get(e, "hour"));
		snprintf(h, sizeof(h), "%lld", (long long)hour);
		ck_assert_msg(json_integer_value(json_object_get(e, "people")) ==
		    json_integer_value(json_object_get(hw, h)), "%s, %d days, hour %s: %lld, "
		    "the rows %lld", step, days, h,
		    (long long)json_integer_value(json_object_get(e, "people")),
		    (long long)json_integer_value(json_object_get(hw, h)));
		ck_assert_int_ge(json_integer_value(json_object_get(e, "people")), 5);
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s%s",
		    i ? "," : "", h);
	}
	strcat(shown, "}");
	const char *p2[] = { d, shown };
	long other = h_db_long(g.db, OTHER, 2, p2);
	json_t *o = json_object_get(hours, "other");
	if (other >= 5)
		ck_assert_msg(json_integer_value(o) == other, "%s, %d days: other %lld, the "
		    "rows %ld", step, days, (long long)json_integer_value(o), other);
	else
		ck_assert_msg(json_is_null(o), "%s, %d days: other %lld, the rows %ld",
		    step, days, (long long)json_integer_value(o), other);
	json_decref(st);
	json_decref(want);
}

static void
check_both(const char *step)
{
	check(7, step);
	check(30, step);
	/* Folded, a count come to nothing is no row (a row a followee, hour
	 * and day stayed at 0 as its followers moved to another day). */
	free(h_db_value(g.db, "SELECT pigeon_audience_fold()", 0, NULL));
	ck_assert_msg(h_db_long(g.db, "SELECT (SELECT count(*) FROM audience_hours "
	    "WHERE people = 0) + (SELECT count(*) FROM audience_groups WHERE people = 0) "
	    "+ (SELECT count(*) FROM audience_follows WHERE gained = 0 AND lost = 0)",
	    0, NULL) == 0, "%s: rows of counts at 0 kept", step);
}

START_TEST(test_audience_counts)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "audience", 1);

	/* 300 followers: Maroc Telecom (0661), Orange (0663), inwi (0600) and
	 * a range no table has (0620); fr, en, ar, and a few darija. Some
	 * texted before they joined. */
	db_run("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, "
	    "received_at, state) "
	    "SELECT 'bulk', '+2126' || (ARRAY['61', '63', '00', '20'])[1 + i % 4] || "
	    "lpad(i::text, 7, '0'), 'e164', 'early', 1, now() - interval '3 days' "
	    "- (i % 7) * interval '1 hour', 'done' FROM generate_series(0, 299, 10) i", NULL);
	db_run("INSERT INTO accounts (phone, handle, lang, created_at) VALUES "
	    "('+212661999000', 'biz', 'fr', now() - interval '60 days')", NULL);
	db_run("INSERT INTO accounts (phone, handle, lang, created_at) "
	    "SELECT '+2126' || (ARRAY['61', '63', '00', '20'])[1 + i % 4] || "
	    "lpad(i::text, 7, '0'), 'a' || i, "
	    "(ARRAY['fr', 'fr', 'en', 'ar', 'fr', 'darija'])[1 + i % 6], "
	    "now() - interval '40 days' FROM generate_series(0, 299) i", NULL);
	/* Their SMS over ten days: most between 8:00 and 22:00; a few at
	 * night (hours of 1 to 4 people: hidden). */
	db_run("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, "
	    "received_at, state) "
	    "SELECT 'bulk', '+2126' || (ARRAY['61', '63', '00', '20'])[1 + k % 4] || "
	    "lpad(k::text, 7, '0'), 'e164', 'hello', 1, "
	    "date_trunc('day', now()) - (i % 10) * interval '1 day' "
	    "+ CASE WHEN i % 97 = 0 THEN (i % 5) ELSE 8 + i % 14 END * interval '1 hour' "
	    "+ (i * 7 % 60) * interval '1 minute', 'done' "
	    "FROM generate_series(1, 1500) i, LATERAL (SELECT i * 37 % 300 AS k) kk "
	    "WHERE date_trunc('day', now()) - (i % 10) * interval '1 day' "
	    "+ CASE WHEN i % 97 = 0 THEN (i % 5) ELSE 8 + i % 14 END * interval '1 hour' < now()", NULL);
	db_run("INSERT INTO follows (followee, follower) "
	    "SELECT (SELECT id FROM accounts WHERE handle = 'biz'), id FROM accounts "
	    "WHERE handle ~ '^a[0-9]+$'", NULL);
	db_run("UPDATE follow_events SET at = now() - (id % 12) * interval '1 day' "
	    "- (id % 1440) * interval '1 minute'", NULL);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/users/biz/business", TOKEN, NULL,
	    NULL), 200);
	check_both("bulk");

	/* LANG; LEAVE and FOLLOW one by one; new SMS, some in a new hour,
	 * some moving an hour to today; one at 3:00 (a hidden hour). */
	db_run("UPDATE accounts SET lang = 'ar' WHERE handle IN ('a0', 'a1', 'a2', 'a3', 'a6')", NULL);
	for (int i = 10; i < 40; i += 3) {
		char handle[16];
		snprintf(handle, sizeof(handle), "a%d", i);
		db_run("DELETE FROM follows WHERE follower = "
		    "(SELECT id FROM accounts WHERE handle = $1)", handle);
	}
	db_run("INSERT INTO follows (followee, follower) "
	    "SELECT (SELECT id FROM accounts WHERE handle = 'biz'), id FROM accounts "
	    "WHERE handle IN ('a13', 'a19')", NULL);
	db_run("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, state) "
	    "SELECT 'one', phone, 'e164', 'now', 1, 'done' FROM accounts "
	    "WHERE handle ~ '^a[0-9]$'", NULL);
	db_run("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, "
	    "received_at, state) SELECT 'one', phone, 'e164', 'night', 1, "
	    "date_trunc('day', now() - interval '3 hours') + interval '3 hours 5 minutes', "
	    "'done' FROM accounts WHERE handle IN ('a50', 'a51')", NULL);
	check_both("changes");

	/* a60 alone at 6:00 eight days ago, then at 6:00 again lately: the
	 * first day's count for that hour comes to nothing. */
	db_run("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, "
	    "received_at, state) SELECT 'one', phone, 'e164', 'early bird', 1, "
	    "date_trunc('day', now()) - interval '8 days' + interval '6 hours 10 minutes', "
	    "'done' FROM accounts WHERE handle = $1", "a60");
	check_both("early bird");
	db_run("INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, "
	    "received_at, state) SELECT 'one', phone, 'e164', 'early bird again', 1, "
	    "date_trunc('day', now() - interval '7 hours') + interval '6 hours 10 minutes', "
	    "'done' FROM accounts WHERE handle = $1", "a60");
	check_both("early bird again");

	/* The operator erases a follower; a new range names 0620's network. */
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/users/a4", TOKEN, NULL, NULL),
	    200);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE handle = 'a4'",
	    0, NULL), 0);
	db_run("INSERT INTO number_ranges (prefix, country, network) "
	    "VALUES ('+212620', '212', $1)", "Opérateur de démonstration des numéros "
	    "mobiles du Sud-Est — شبكة الجنوب المغربي");
	check_both("erased, range");

	/* Another time zone, a quarter-hour one: the hours and days again. */
	h_gateway_restart(&g, "timezone = Asia/Kathmandu\n");
	ck_assert_int_eq(h_wait_db(&g, "SELECT tz FROM audience_state", NULL,
	    "Asia/Kathmandu", 30000), 0);
	check_both("Asia/Kathmandu");

	/* A database from before the counts (an upgrade): the first start
	 * with them fills them from the rows. */
	db_run("UPDATE audience_state SET seeded = false, tz = NULL", NULL);
	db_run("TRUNCATE audience_groups, audience_follows, audience_hours, account_hours", NULL);
	h_gateway_restart(&g, "timezone = Asia/Kathmandu\n");
	ck_assert_int_eq(h_wait_db(&g, "SELECT seeded::text || ' ' || tz FROM audience_state",
	    NULL, "true Asia/Kathmandu", 30000), 0);
	check_both("filled at start");

	/* pigeonctl audience: a post's text to its 40th character (it was cut
	 * at 40 bytes: inside the é, or at the 20th Arabic letter), and "-"
	 * for the share delivered of a post without a copy (not 0.0%). */
	const char *latin = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9 et la suite";
	const char *arabic = "\xd8\xb9\xd8\xb1\xd8\xb6 \xd8\xae\xd8\xa7\xd8\xb5 ";
	char ar[512] = "";
	while (strlen(ar) < 200)
		strcat(ar, arabic);	/* "عرض خاص " : 8 characters, 14 bytes */
	db_run("INSERT INTO posts (account_id, text) SELECT id, $1 FROM accounts "
	    "WHERE handle = 'biz'", latin);
	db_run("INSERT INTO posts (account_id, text) SELECT id, $1 FROM accounts "
	    "WHERE handle = 'biz'", ar);
	char *out = NULL;
	ck_assert_int_eq(h_run(&out, "%s -c '%s' audience biz", h_bin("pigeonctl"),
	    g.config), 0);
	json_t *utf8 = json_string(out);
	ck_assert_msg(utf8 != NULL, "pigeonctl audience: not UTF-8: %s", out);
	json_decref(utf8);
	/* latin: 39 letters and the é (2 bytes): 40 characters, 41 bytes. */
	char *want = h_strf("      -  %.41s\n", latin);
	ck_assert_msg(strstr(out, want) != NULL, "no line ending \"%s\" in %s", want, out);
	free(want);
	/* ar: five times "عرض خاص " is 40 characters, 70 bytes; then cut. */
	want = h_strf("      -  %.70s\n", ar);
	ck_assert_msg(strstr(out, want) != NULL, "no line ending \"%s\" in %s", want, out);
	free(want);
	free(out);
	h_gateway_stop(&g);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("audience");
	TCase *tc = tcase_create("counts");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_audience_counts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
