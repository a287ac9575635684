/*
 * pigeonctl_biz.c: pigeonctl's commands for business accounts (issue 17):
 * business, key, keys, revoke, schedule and audience, over the routes of
 * gateway/api_business.c and api_stats.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "pigeonctl.h"

static const char *const commands[] = { "business", "key", "keys", "revoke",
    "schedule", "audience", NULL };

int
ctl_biz_known(const char *name)
{
	for (int i = 0; commands[i]; i++)
		if (strcmp(commands[i], name) == 0)
			return 1;
	return 0;
}

/* /api/PREFIX/HANDLE/REST with the handle URL-encoded ('@' dropped). */
static void
path_of(char *path, size_t len, const char *prefix, const char *handle,
    const char *rest)
{
	char *enc = evhttp_uriencode(handle[0] == '@' ? handle + 1 : handle, -1, 0);

	snprintf(path, len, "/api/%s/%s%s", prefix, enc ? enc : "", rest);
	free(enc);
}

static int
cmd_business(const char *handle, const char *onoff)
{
	char path[256];
	int on = onoff == NULL || strcmp(onoff, "on") == 0;

	if (onoff && !on && strcmp(onoff, "off") != 0)
		usage();
	path_of(path, sizeof(path), "users", handle, "/business");
	json_t *j = api(on ? "POST" : "DELETE", path, NULL);
	if (json_out)
		print_json(j);
	else if (on)
		printf("@%s is a business account since %s\n", s(j, "handle"),
		    when(j, "business_since"));
	else
		printf("@%s is not a business account: its keys are revoked, its "
		    "scheduled posts cancelled\n", s(j, "handle"));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_key(const char *handle, const char *label)
{
	char path[512];

	path_of(path, sizeof(path), "users", handle, "/keys");
	if (label)
		add_param(path, sizeof(path), "label", label);
	json_t *j = api("POST", path, NULL);
	if (json_out) {
		print_json(j);
	} else {
		/* The key alone on stdout, for a script; the rest on stderr. */
		printf("%s\n", s(j, "key"));
		fprintf(stderr, "key %" JSON_INTEGER_FORMAT " of @%s: shown once, pigeond "
		    "keeps its hash only\n", json_integer_value(json_object_get(j, "id")),
		    s(j, "handle"));
	}
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_keys(const char *handle)
{
	char path[256];
	json_t *k;
	size_t i;

	path_of(path, sizeof(path), "users", handle, "/keys");
	json_t *j = api("GET", path, NULL);
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	printf("@%s: %s\n", s(j, "handle"), json_is_true(json_object_get(j, "business")) ?
	    "business account" : "not a business account");
	printf("%-6s %-25s %-25s  %s\n", "ID", "CREATED", "REVOKED", "LABEL");
	json_array_foreach(json_object_get(j, "keys"), i, k)
		printf("%-6" JSON_INTEGER_FORMAT " %-25s %-25s  %s\n",
		    json_integer_value(json_object_get(k, "id")), when(k, "created_at"),
		    when(k, "revoked_at"), s(k, "label"));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_revoke(const char *handle, const char *id)
{
	char path[256], rest[40];

	if (strspn(id, "0123456789") != strlen(id) || !*id || strlen(id) > 19)
		die(EXIT_USAGE, "'%s' is not a key id", id);
	snprintf(rest, sizeof(rest), "/keys/%s", id);
	path_of(path, sizeof(path), "users", handle, rest);
	json_t *j = api("DELETE", path, NULL);
	if (json_out)
		print_json(j);
	else
		printf("key %s revoked at %s; %" JSON_INTEGER_FORMAT " scheduled post(s) of "
		    "it cancelled\n", id, when(j, "revoked_at"),
		    json_integer_value(json_object_get(j, "cancelled_posts")));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_schedule(const char *handle, const char *at, const char *text)
{
	json_t *j = api("POST", "/api/posts", json_pack("{s:s, s:s, s:s}", "user",
	    handle[0] == '@' ? handle + 1 : handle, "text", text, "send_at", at));
	if (json_out)
		print_json(j);
	else if (json_object_get(j, "scheduled"))
		printf("scheduled %" JSON_INTEGER_FORMAT " for %s\n",
		    json_integer_value(json_object_get(j, "scheduled")), when(j, "send_at"));
	else	/* a time already past posts at once */
		printf("posted %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(json_object_get(j, "id")));
	json_decref(j);
	return EXIT_OK;
}

static void
print_groups(const char *title, json_t *br, const char *keyname)
{
	json_t *e;
	size_t i;

	printf("%s:", title);
	json_array_foreach(json_object_get(br, "buckets"), i, e) {
		json_t *k = json_object_get(e, keyname);
		if (json_is_integer(k))
			printf(" %02d:00=%" JSON_INTEGER_FORMAT, (int)json_integer_value(k),
			    json_integer_value(json_object_get(e, "people")));
		else
			printf(" %s=%" JSON_INTEGER_FORMAT, s(e, keyname),
			    json_integer_value(json_object_get(e, "people")));
	}
	if (json_is_integer(json_object_get(br, "other")))
		printf(" other=%" JSON_INTEGER_FORMAT,
		    json_integer_value(json_object_get(br, "other")));
	printf("\n");
}

/* The bytes of the first n characters (code points) of UTF-8 text t: a
 * post's text is shown cut between characters, never inside one. */
static int
utf8_prefix(const char *t, int n)
{
	size_t i;
	int c = 0;

	for (i = 0; t[i]; i++)
		if (((unsigned char)t[i] & 0xc0) != 0x80 && c++ == n)
			break;
	return (int)i;
}

/* A summary; --json gives every figure (CSV and HTML: the API's ?format=). */
static int
cmd_audience(const char *handle, const char *days)
{
	char path[256];
	json_t *p, *d;
	size_t i;

	path_of(path, sizeof(path), "accounts", handle, "/stats");
	if (days)
		add_param(path, sizeof(path), "days", days);
	json_t *j = api("GET", path, NULL);
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	json_t *hours = json_object_get(j, "active_hours");
	printf("@%s: %" JSON_INTEGER_FORMAT " followers, %" JSON_INTEGER_FORMAT " posts",
	    s(j, "handle"), json_integer_value(json_object_get(j, "followers")),
	    json_integer_value(json_object_get(j, "posts")));
	if (json_is_integer(json_object_get(hours, "best_hour")))
		printf(", best hour to post %02d:00",
		    (int)json_integer_value(json_object_get(hours, "best_hour")));
	printf("\n%-10s %7s %7s %7s %9s\n", "DAY", "GAINED", "LOST", "NET", "FOLLOWERS");
	json_array_foreach(json_object_get(j, "followers_by_day"), i, d)
		printf("%-10s %7" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT " %7"
		    JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT "\n", s(d, "day"),
		    json_integer_value(json_object_get(d, "gained")),
		    json_integer_value(json_object_get(d, "lost")),
		    json_integer_value(json_object_get(d, "net")),
		    json_integer_value(json_object_get(d, "followers")));
	printf("%-8s %7s %7s %9s %11s %7s  %s\n", "POST", "QUEUED", "SENT", "DELIVERED",
	    "UNDELIVERED", "SHARE", "TEXT");
	json_array_foreach(json_object_get(j, "reach"), i, p) {
		json_t *share = json_object_get(p, "share_delivered");
		const char *text = s(p, "text");
		char pct[16] = "-";	/* null: no copy was made */

		if (json_is_number(share))
			snprintf(pct, sizeof(pct), "%.1f%%", json_number_value(share) * 100);
		printf("%-8" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT " %7"
		    JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT " %11" JSON_INTEGER_FORMAT
		    " %7s  %.*s\n", json_integer_value(json_object_get(p, "id")),
		    json_integer_value(json_object_get(p, "queued")),
		    json_integer_value(json_object_get(p, "sent")),
		    json_integer_value(json_object_get(p, "delivered")),
		    json_integer_value(json_object_get(p, "undelivered")), pct,
		    utf8_prefix(text, 40), text);
	}
	print_groups("active hours", hours, "hour");
	print_groups("languages", json_object_get(j, "languages"), "key");
	print_groups("networks (approximate)", json_object_get(j, "networks"), "key");
	json_decref(j);
	return EXIT_OK;
}

int
ctl_biz(int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "business") == 0 && (argc == 2 || argc == 3))
		return cmd_business(argv[1], argc == 3 ? argv[2] : NULL);
	if (strcmp(cmd, "key") == 0 && (argc == 2 || argc == 3))
		return cmd_key(argv[1], argc == 3 ? argv[2] : NULL);
	if (strcmp(cmd, "keys") == 0 && argc == 2)
		return cmd_keys(argv[1]);
	if (strcmp(cmd, "revoke") == 0 && argc == 3)
		return cmd_revoke(argv[1], argv[2]);
	if (strcmp(cmd, "schedule") == 0 && argc == 4)
		return cmd_schedule(argv[1], argv[2], argv[3]);
	if (strcmp(cmd, "audience") == 0) {
		const char *days, *h = ctl_days_and_handle(argc, argv, &days);
		return cmd_audience(h, days);
	}
	return -1;
}
