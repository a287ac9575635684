/*
 * Search, issue 8: members post by SMS in French, Arabic and English;
 * GET /api/search, without a token, finds French posts by accent-less
 * words (ete finds été), Arabic posts by a word with or without its
 * article, newest first, paged with before/limit; SQL and regex
 * characters are only text; no phone number is ever in an answer; a
 * query without a word, or a bad limit/before, is a 400.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"search-token-0123456789abcdef0123456789"
#define ALICE	"+212661000021"
#define KARIM	"+212661000022"
#define BOB	"+212661000023"
#define WAIT_MS	60000
#define NPOSTS	6

static struct h_gateway g;
/* Post ids by the order they were texted. */
static long post_id[NPOSTS];

static const struct { int modem; const char *from, *text; } posts[NPOSTS] = {
	{ 0, ALICE, "L'été arrive à Marrakech #couscous" },
	{ 1, KARIM, "أكلنا الكسكس اليوم في مراكش" },
	{ 0, BOB, "Summer is here, great couscous" },
	{ 1, ALICE, "Un ETE tres chaud, 100% soleil" },
	{ 0, KARIM, "كسكس بالخضر" },
	{ 1, ALICE, "Été 2026: la fête du couscousier" },
};

/* Queries and the posts they find (indexes into posts[], newest first). */
static const struct { const char *q, *want; } matches[] = {
	/* Accents and case folded both ways. */
	{ "ete", "5,3,0" },
	{ "Été", "5,3,0" },
	{ "ÉTÉ marrakech", "0" },
	/* Whole words: couscousier is not couscous; a hashtag is its word
	 * too, and #couscous asks for the hashtag only. */
	{ "couscous", "2,0" },
	{ "#couscous", "0" },
	{ "summer", "2" },
	{ "nothing-like-this", "" },
	/* Arabic: a word finds it with or without the article. */
	{ "كسكس", "4,1" },
	{ "الكسكس", "4,1" },
	{ "مراكش", "1" },
}, odd[] = {
	/* SQL and pattern characters are separators: the words around them
	 * are searched, nothing else. */
	{ "' OR 1=1 --", "" },
	{ "couscous' OR '1'='1", "" },
	{ "ete.*", "5,3,0" },
	{ "%ete%", "5,3,0" },
	{ "100%", "3" },
	{ "ete\\", "5,3,0" },
	{ "soleil); DROP TABLE posts; --", "" },
};

/* Requests answered 400, with a word of the error. */
static const struct { const char *q, *extra, *error; } bad[] = {
	/* Only such characters: no word to search for, never every post. */
	{ ".*", NULL, "no word" },
	{ "%", NULL, "no word" },
	{ "\\", NULL, "no word" },
	{ "'--", NULL, "no word" },
	{ "   ", NULL, "no word" },
	{ "", NULL, "q" },
	{ "ete", "limit=0", "limit" },
	{ "ete", "limit=51", "limit" },
	{ "ete", "limit=abc", "limit" },
	{ "ete", "before=-4", "before" },
	{ "ete", "before=x", "before" },
};

/* %-encodes s for a query string (malloc). */
static char *
encode(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return out;
}

/* GET /api/search?q=Q&extra without a token: the status code, the body
 * parsed in *out; no answer ever holds a phone number. */
static int
search(const char *q, const char *extra, json_t **out)
{
	char *eq = encode(q), *path = NULL, *resp = NULL;

	ck_assert_int_ge(asprintf(&path, "/api/search?q=%s%s%s", eq,
	    extra ? "&" : "", extra ? extra : ""), 0);
	int code = h_http(g.http_port, "GET", path, NULL, NULL, &resp);
	ck_assert_msg(resp != NULL, "%s: no answer", path);
	ck_assert_msg(strstr(resp, "+212") == NULL && strstr(resp, "66100002") == NULL,
	    "%s: a phone number in %s", path, resp);
	*out = json_loads(resp, 0, NULL);
	ck_assert_msg(*out != NULL, "%s: not JSON: %s", path, resp);
	free(resp);
	free(path);
	free(eq);
	return code;
}

/* The ids of a 200 answer's posts, as indexes into posts[] ("3,0"), and
 * its next_before in *next (0 when null). */
static void
found(json_t *o, char *buf, size_t len, long *next)
{
	json_t *list = json_object_get(o, "posts"), *p;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(list, i, p) {
		long id = (long)json_integer_value(json_object_get(p, "id"));
		int k = -1;
		for (int j = 0; j < NPOSTS; j++)
			if (post_id[j] == id)
				k = j;
		ck_assert_msg(k >= 0, "unknown post %ld", id);
		/* Each hit says who wrote what, as it was written. */
		ck_assert_str_eq(json_string_value(json_object_get(p, "text")), posts[k].text);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "handle")));
		ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "created_at")));
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "", k);
	}
	if (next)
		*next = (long)json_integer_value(json_object_get(o, "next_before"));
}

/* Searches q and checks that it finds exactly the posts want ("5,3,0");
 * returns next_before (0 when null). */
static long
expect(const char *q, const char *extra, const char *want)
{
	json_t *o;
	char got[64];
	long next;

	ck_assert_msg(search(q, extra, &o) == 200, "%s: not 200", q);
	found(o, got, sizeof(got), &next);
	ck_assert_msg(strcmp(got, want) == 0, "q=%s %s: found [%s], not [%s]", q,
	    extra ? extra : "", got, want);
	ck_assert(next != 0 || json_is_null(json_object_get(o, "next_before")));
	json_decref(o);
	return next;
}

static void
expect_400(const char *q, const char *extra, const char *needle)
{
	json_t *o;
	int code = search(q, extra, &o);
	const char *err = json_string_value(json_object_get(o, "error"));

	ck_assert_msg(code == 400, "q=%s %s: %d, not 400", q, extra ? extra : "", code);
	ck_assert_msg(err && strstr(err, needle), "q=%s: error %s", q, err ? err : "(none)");
	json_decref(o);
}

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "search", 2);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

START_TEST(test_search_posts)
{
	char sql_n[8];

	ck_assert_int_eq(h_text(&g, 0, ALICE, "INSCRIPTION alice"), 0);
	ck_assert_int_eq(h_text(&g, 1, KARIM, "تسجيل karim"), 0);
	ck_assert_int_eq(h_text(&g, 0, BOB, "JOIN bob"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "@alice", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, KARIM, "@karim", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "@bob", WAIT_MS), 0);

	/* One at a time, so that the order of the posts is the texting order. */
	for (int i = 0; i < NPOSTS; i++) {
		ck_assert_int_eq(h_text(&g, posts[i].modem, posts[i].from, posts[i].text), 0);
		snprintf(sql_n, sizeof(sql_n), "%d", i + 1);
		ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM posts", NULL, sql_n,
		    WAIT_MS), 0);
		const char *params[] = { posts[i].text };
		post_id[i] = h_db_long(g.db, "SELECT id FROM posts WHERE text = $1", 1, params);
		ck_assert_int_gt(post_id[i], i ? post_id[i - 1] : 0);
	}

	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++)
		expect(matches[i].q, NULL, matches[i].want);

	/* Paging: two, then the last one, then nothing. */
	char extra[64];
	long next = expect("ete", "limit=2", "5,3");
	ck_assert_int_eq(next, post_id[3]);
	snprintf(extra, sizeof(extra), "limit=2&before=%ld", next);
	ck_assert_int_eq(expect("ete", extra, "0"), 0);
	snprintf(extra, sizeof(extra), "before=%ld", post_id[0]);
	ck_assert_int_eq(expect("ete", extra, ""), 0);
	/* A page that ends exactly with the last match says there is no more. */
	ck_assert_int_eq(expect("ete", "limit=3", "5,3,0"), 0);

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		expect(odd[i].q, NULL, odd[i].want);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), NPOSTS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_400(bad[i].q, bad[i].extra, bad[i].error);
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search", NULL, NULL, &resp), 400);
	ck_assert_ptr_nonnull(strstr(resp, "q (the words to search for) is required"));
	free(resp);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=%C3%28", NULL, NULL, &resp), 400);
	ck_assert_ptr_nonnull(strstr(resp, "UTF-8"));
	free(resp);

	/* A deleted post (DELETE by SMS) is found no more. */
	ck_assert_int_eq(h_text(&g, 1, ALICE, "SUPPRIMER"), 0);
	ck_assert_int_eq(h_wait_received(&g, ALICE, "supprim", WAIT_MS), 0);
	expect("ete", NULL, "3,0");

	/* The token changes nothing. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=summer", TOKEN, NULL,
	    &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "Summer is here"));
	free(resp);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("search");
	TCase *tc = tcase_create("api");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_search_posts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}
