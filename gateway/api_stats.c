/*
 * api_stats.c: a business account's audience (issue 17, item 2):
 * GET /api/accounts/HANDLE/stats?days=N&posts=N&format=json|csv|html, for
 * the account's own key or an operator token with the read scope. The
 * figures come whole from pigeon_biz_stats (db/functions/67_business.sql),
 * which applies the under-5 rule; this file only lays them out: JSON as
 * it is, CSV in long form (section,key,metric,value), and a plain HTML
 * page that needs no JavaScript.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api.h"
#include "pigeond.h"

#define STATS_DAYS	30
#define STATS_POSTS	20
#define STATS_MIN	"5"	/* the smallest group of people shown */

enum fmt { FMT_JSON, FMT_CSV, FMT_HTML };

static const char *const reach_metrics[] = { "queued", "sent", "delivered",
    "undelivered", "failed", "pending", "cancelled", NULL };

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void
csv_field(struct evbuffer *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		evbuffer_add(b, s, strlen(s));
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			evbuffer_add(b, "\"", 1);
		evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
csv_row(struct evbuffer *b, const char *section, const char *key,
    const char *metric, json_t *value)
{
	char num[64];
	const char *v = num;

	if (json_is_integer(value))
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
	else if (json_is_number(value))
		snprintf(num, sizeof(num), "%.4f", json_number_value(value));
	else if (json_is_string(value))
		v = json_string_value(value);
	else
		num[0] = '\0';
	csv_field(b, section);
	evbuffer_add(b, ",", 1);
	csv_field(b, key);
	evbuffer_add(b, ",", 1);
	csv_field(b, metric);
	evbuffer_add(b, ",", 1);
	csv_field(b, v);
	evbuffer_add(b, "\r\n", 2);
}

/* A breakdown of people: its buckets, then "other" when shown. A key
 * that is a string (a network's name, set by the operator: it may be
 * long, and French or Arabic) goes out whole, as in the JSON; it was cut
 * at 63 bytes, inside a UTF-8 character too. */
static void
csv_buckets(struct evbuffer *b, const char *section, json_t *br, const char *keyname)
{
	json_t *e;
	size_t i;
	char num[32];

	json_array_foreach(json_object_get(br, "buckets"), i, e) {
		json_t *k = json_object_get(e, keyname);
		const char *key = json_string_value(k) ? json_string_value(k) : "";
		if (json_is_integer(k)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(k));
			key = num;
		}
		csv_row(b, section, key, "people", json_object_get(e, "people"));
	}
	if (json_is_integer(json_object_get(br, "other")))
		csv_row(b, section, "other", "people", json_object_get(br, "other"));
}

static void
stats_csv(struct evbuffer *b, json_t *s)
{
	json_t *e, *via;
	size_t i;
	char key[64], metric[64];

	evbuffer_add_printf(b, "section,key,metric,value\r\n");
	csv_row(b, "summary", "", "followers", json_object_get(s, "followers"));
	csv_row(b, "summary", "", "posts", json_object_get(s, "posts"));
	csv_row(b, "summary", "", "best_hour", json_object_get(json_object_get(s,
	    "active_hours"), "best_hour"));
	json_array_foreach(json_object_get(s, "followers_by_day"), i, e) {
		const char *day = json_string_value(json_object_get(e, "day"));
		csv_row(b, "followers_by_day", day, "gained", json_object_get(e, "gained"));
		csv_row(b, "followers_by_day", day, "lost", json_object_get(e, "lost"));
		csv_row(b, "followers_by_day", day, "net", json_object_get(e, "net"));
		csv_row(b, "followers_by_day", day, "followers", json_object_get(e, "followers"));
	}
	json_array_foreach(json_object_get(s, "reach"), i, e) {
		snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(json_object_get(e, "id")));
		for (int m = 0; reach_metrics[m]; m++)
			csv_row(b, "reach", key, reach_metrics[m],
			    json_object_get(e, reach_metrics[m]));
		csv_row(b, "reach", key, "share_delivered",
		    json_object_get(e, "share_delivered"));
		for (int p = 0; p < 2; p++) {
			const char *path = p ? "track" : "follow";
			via = json_object_get(json_object_get(e, "via"), path);
			for (int m = 0; reach_metrics[m]; m++) {
				snprintf(metric, sizeof(metric), "%s.%s", path, reach_metrics[m]);
				csv_row(b, "reach", key, metric, json_object_get(via,
				    reach_metrics[m]));
			}
		}
	}
	csv_buckets(b, "active_hours", json_object_get(s, "active_hours"), "hour");
	csv_buckets(b, "languages", json_object_get(s, "languages"), "key");
	csv_buckets(b, "networks", json_object_get(s, "networks"), "key");
}

static void
html_text(struct evbuffer *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': evbuffer_add_printf(b, "&lt;"); break;
		case '>': evbuffer_add_printf(b, "&gt;"); break;
		case '&': evbuffer_add_printf(b, "&amp;"); break;
		case '"': evbuffer_add_printf(b, "&quot;"); break;
		case '\'': evbuffer_add_printf(b, "&#39;"); break;
		default: evbuffer_add(b, s, 1);
		}
	}
}

static json_int_t
ival(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A table of people with a bar each, widths relative to the largest. */
static void
html_buckets(struct evbuffer *b, const char *title, const char *note, json_t *br,
    const char *keyname, const char *what)
{
	json_t *e;
	size_t i;
	json_int_t top = 1;

	evbuffer_add_printf(b, "<h2>");
	html_text(b, title);
	evbuffer_add_printf(b, "</h2>\n");
	if (note) {
		evbuffer_add_printf(b, "<p class=note>");
		html_text(b, note);
		evbuffer_add_printf(b, "</p>\n");
	}
	json_array_foreach(json_object_get(br, "buckets"), i, e)
		if (ival(e, "people") > top)
			top = ival(e, "people");
	if (ival(br, "other") > top)
		top = ival(br, "other");
	evbuffer_add_printf(b, "<table><tr><th>%s</th><th>people</th><th></th></tr>\n", what);
	json_array_foreach(json_object_get(br, "buckets"), i, e) {
		json_t *k = json_object_get(e, keyname);
		evbuffer_add_printf(b, "<tr><td>");
		if (json_is_integer(k))
			evbuffer_add_printf(b, "%02d:00", (int)json_integer_value(k));
		else
			html_text(b, json_string_value(k));
		evbuffer_add_printf(b, "</td><td class=n>%" JSON_INTEGER_FORMAT "</td>"
		    "<td><span class=bar style=\"width:%dpx\"></span></td></tr>\n",
		    ival(e, "people"), (int)(ival(e, "people") * 200 / top));
	}
	if (json_is_integer(json_object_get(br, "other")))
		evbuffer_add_printf(b, "<tr><td>other</td><td class=n>%" JSON_INTEGER_FORMAT
		    "</td><td><span class=bar style=\"width:%dpx\"></span></td></tr>\n",
		    ival(br, "other"), (int)(ival(br, "other") * 200 / top));
	if (json_array_size(json_object_get(br, "buckets")) == 0 &&
	    !json_is_integer(json_object_get(br, "other")))
		evbuffer_add_printf(b, "<tr><td colspan=3>too few people to show</td></tr>\n");
	evbuffer_add_printf(b, "</table>\n");
}

static void
stats_html(struct evbuffer *b, json_t *s)
{
	json_t *e, *hours = json_object_get(s, "active_hours");
	size_t i;
	const char *h = json_string_value(json_object_get(s, "handle"));

	evbuffer_add_printf(b, "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
	    "<meta name=viewport content=\"width=device-width\"><title>Audience of @");
	html_text(b, h);
	evbuffer_add_printf(b, "</title><style>body{font:14px sans-serif;margin:1em;"
	    "max-width:60em}table{border-collapse:collapse;margin-bottom:1em}"
	    "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
	    ".n{text-align:right}.bar{display:inline-block;height:10px;background:#4a7}"
	    ".note{color:#555}</style></head><body>\n<h1>Audience of @");
	html_text(b, h);
	evbuffer_add_printf(b, "</h1>\n<p>%" JSON_INTEGER_FORMAT " followers, %"
	    JSON_INTEGER_FORMAT " posts. The last %" JSON_INTEGER_FORMAT " days from ",
	    ival(s, "followers"), ival(s, "posts"), ival(s, "days"));
	html_text(b, json_string_value(json_object_get(s, "since")));
	evbuffer_add_printf(b, ", time zone ");
	html_text(b, json_string_value(json_object_get(s, "timezone")));
	evbuffer_add_printf(b, ". Groups of fewer than %" JSON_INTEGER_FORMAT
	    " people are merged into \"other\", or not shown.</p>\n",
	    ival(s, "min_bucket"));
	if (json_is_integer(json_object_get(hours, "best_hour")))
		evbuffer_add_printf(b, "<p><strong>Best hour to post: %02d:00</strong> "
		    "(when most of your followers text).</p>\n",
		    (int)ival(hours, "best_hour"));

	evbuffer_add_printf(b, "<h2>Followers per day</h2>\n<table><tr><th>day</th>"
	    "<th>gained</th><th>lost</th><th>net</th><th>followers</th></tr>\n");
	json_array_foreach(json_object_get(s, "followers_by_day"), i, e) {
		evbuffer_add_printf(b, "<tr><td>");
		html_text(b, json_string_value(json_object_get(e, "day")));
		evbuffer_add_printf(b, "</td><td class=n>%" JSON_INTEGER_FORMAT "</td>"
		    "<td class=n>%" JSON_INTEGER_FORMAT "</td><td class=n>%" JSON_INTEGER_FORMAT
		    "</td><td class=n>%" JSON_INTEGER_FORMAT "</td></tr>\n", ival(e, "gained"),
		    ival(e, "lost"), ival(e, "net"), ival(e, "followers"));
	}
	evbuffer_add_printf(b, "</table>\n<h2>Reach of the latest posts</h2>\n"
	    "<table><tr><th>post</th><th>queued</th><th>sent</th><th>delivered</th>"
	    "<th>undelivered</th><th>failed</th><th>pending</th><th>delivered share</th>"
	    "<th>by follow (delivered/queued)</th><th>by tracking</th></tr>\n");
	json_array_foreach(json_object_get(s, "reach"), i, e) {
		json_t *f = json_object_get(json_object_get(e, "via"), "follow");
		json_t *t = json_object_get(json_object_get(e, "via"), "track");
		json_t *share = json_object_get(e, "share_delivered");
		evbuffer_add_printf(b, "<tr><td>");
		html_text(b, json_string_value(json_object_get(e, "text")));
		evbuffer_add_printf(b, "</td>");
		for (int m = 0; m < 6; m++)
			evbuffer_add_printf(b, "<td class=n>%" JSON_INTEGER_FORMAT "</td>",
			    ival(e, reach_metrics[m]));
		if (json_is_number(share))
			evbuffer_add_printf(b, "<td class=n>%.1f%%</td>",
			    json_number_value(share) * 100);
		else
			evbuffer_add_printf(b, "<td class=n>-</td>");
		evbuffer_add_printf(b, "<td class=n>%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
		    "</td><td class=n>%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "</td></tr>\n",
		    ival(f, "delivered"), ival(f, "queued"), ival(t, "delivered"),
		    ival(t, "queued"));
	}
	evbuffer_add_printf(b, "</table>\n");
	html_buckets(b, "When your followers are active", "Followers who texted the "
	    "service in each hour of the day.", hours, "hour", "hour");
	html_buckets(b, "Languages", NULL, json_object_get(s, "languages"), "key",
	    "language");
	html_buckets(b, "Networks (approximate)", "From the number's range: a number "
	    "ported to another network keeps its range.", json_object_get(s, "networks"),
	    "key", "network");
	evbuffer_add_printf(b, "</body></html>\n");
}

static void
stats_fetched(struct api_req *r, PGresult *res)
{
	json_t *s = api_json_value(res);
	const char *f = api_param(r, "format");
	enum fmt fmt = f && strcmp(f, "csv") == 0 ? FMT_CSV :
	    f && strcmp(f, "html") == 0 ? FMT_HTML : FMT_JSON;
	struct evbuffer *b;

	if (s == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	if (json_object_get(s, "error")) {
		json_decref(s);
		api_error(r, 404, "@%s is not a business account", r->biz_handle);
		return;
	}
	if (fmt == FMT_JSON) {
		api_reply(r, 200, s);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		json_decref(s);
		api_error(r, 500, "out of memory");
		return;
	}
	if (fmt == FMT_CSV)
		stats_csv(b, s);
	else
		stats_html(b, s);
	json_decref(s);
	size_t len = evbuffer_get_length(b);
	api_reply_raw(r, 200, fmt == FMT_CSV ? "text/csv; charset=utf-8" :
	    "text/html; charset=utf-8", (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

static void
stats_allowed(struct api_req *r)
{
	long long days, posts;
	char days_s[24], posts_s[24];

	if (api_param_int(r, "days", STATS_DAYS, 1, 366, &days) == -1 ||
	    api_param_int(r, "posts", STATS_POSTS, 1, 100, &posts) == -1)
		return;
	snprintf(days_s, sizeof(days_s), "%lld", days);
	snprintf(posts_s, sizeof(posts_s), "%lld", posts);
	const char *params[] = { r->biz_handle, days_s, posts_s, STATS_MIN };
	api_query(r, "SELECT pigeon_biz_stats($1, $2, $3, $4)", 4, params,
	    stats_fetched);
}

void
api_biz_stats(struct api_req *r)
{
	const char *h = api_handle(r->arg), *f = api_param(r, "format");

	if (h == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	if (f && strcmp(f, "json") != 0 && strcmp(f, "csv") != 0 && strcmp(f, "html") != 0) {
		api_error(r, 400, "format is json, csv or html");
		return;
	}
	snprintf(r->biz_handle, sizeof(r->biz_handle), "%s", h);
	api_biz_auth(r, API_SCOPE_READ, h, stats_allowed);
}
