/*
 * api_users.c: the public microblog: GET /api/users/HANDLE,
 * GET /api/users/HANDLE/posts, GET /users/HANDLE.atom (never a phone
 * number; an admin token sees a suspended member too); GET
 * /api/users/HANDLE/stats (with the token), the account's reach.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "api.h"
#include "atom.h"
#include "pigeond.h"

#define FEED_ENTRIES	50
#define STATS_DEFAULT_DAYS	30	/* days of followers and deliveries */
#define STATS_MAX_DAYS		366

/* A handle as in the shortcode language, with or without '@', lower-cased
 * in place; NULL if not one. Every route that takes a handle uses it. */
char *
api_handle(char *h)
{
	size_t n;

	if (h == NULL)
		return NULL;
	if (*h == '@')
		h++;
	n = strlen(h);
	if (n < 1 || n > 15)
		return NULL;
	for (char *p = h; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_')
			return NULL;
		*p = (char)tolower((unsigned char)*p);
	}
	return h;
}

static void
user_fetched(struct api_req *r, PGresult *res)
{
	json_t *u = api_json_value(res);
	if (u == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	api_reply(r, 200, u);
}

void
api_users_get(struct api_req *r)
{
	const char *h = api_handle(r->arg);
	if (h == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	const char *params[] = { h };
	/* An admin token sees a suspended member too, marked (63_desk.sql);
	 * the public and a read token do not. Never a phone. */
	if (r->scopes & API_SCOPE_ADMIN)
		api_query(r, "SELECT pigeon_desk_user($1)", 1, params, user_fetched);
	else
		api_query(r, "SELECT pigeon_api_user($1)", 1, params, user_fetched);
}

void
api_users_posts(struct api_req *r)
{
	const char *h = api_handle(r->arg);
	long long limit, before;
	char limit_s[24], before_s[24];

	if (h == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	if (api_param_int(r, "limit", 20, 1, 200, &limit) == -1 ||
	    api_param_int(r, "before", 0, 1, INT64_MAX, &before) == -1)
		return;
	snprintf(limit_s, sizeof(limit_s), "%lld", limit);
	snprintf(before_s, sizeof(before_s), "%lld", before);
	const char *params[] = { h, limit_s, before ? before_s : NULL,
	    r->scopes & API_SCOPE_ADMIN ? "true" : "false" };
	api_query(r, "SELECT pigeon_api_user_posts($1, $2, $3, $4)", 4, params,
	    user_fetched);
}

/* GET /api/users/HANDLE/stats?days=N (token): the account's audience and
 * the reach of its latest posts (pigeon_user_stats). */
void
api_users_stats(struct api_req *r)
{
	const char *h = api_handle(r->arg);
	long long days;
	char days_s[24];

	if (h == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	if (api_param_int(r, "days", STATS_DEFAULT_DAYS, 1, STATS_MAX_DAYS, &days) == -1)
		return;
	snprintf(days_s, sizeof(days_s), "%lld", days);
	const char *params[] = { h, days_s };
	api_query(r, "SELECT pigeon_user_stats($1, $2)", 2, params, user_fetched);
}

static void
feed_fetched(struct api_req *r, PGresult *res)
{
	json_t *f = api_json_value(res);
	struct evbuffer *b;

	if (f == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	/* The ids' authority is kept by the first pigeond to start on the
	 * database (migrate.c): until then, no id to give. */
	if (!json_is_string(json_object_get(f, "authority"))) {
		json_decref(f);
		api_error(r, 503, "database not ready");
		return;
	}
	b = evbuffer_new();
	if (b == NULL || atom_feed_write(b, f,
	    json_string_value(json_object_get(f, "authority")), r->base) == -1) {
		if (b)
			evbuffer_free(b);
		json_decref(f);
		api_error(r, 500, "out of memory");
		return;
	}
	json_decref(f);
	size_t len = evbuffer_get_length(b);
	api_reply_raw(r, 200, "application/atom+xml; charset=utf-8",
	    (const char *)evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

void
api_feed_atom(struct api_req *r)
{
	size_t n = strlen(r->arg);
	char limit[16];
	const char *h;

	if (n <= 5 || strcmp(r->arg + n - 5, ".atom") != 0) {
		api_error(r, 404, "no such route (feeds are /users/HANDLE.atom)");
		return;
	}
	r->arg[n - 5] = '\0';
	if ((h = api_handle(r->arg)) == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	snprintf(limit, sizeof(limit), "%d", FEED_ENTRIES);
	const char *params[] = { h, limit };
	api_query(r, "SELECT pigeon_api_feed($1, $2)", 2, params, feed_fetched);
}
