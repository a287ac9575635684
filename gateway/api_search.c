/*
 * api_search.c: GET /api/search?q=WORDS&before=ID&limit=N, public: the
 * posts holding every word of q, newest first, paged with before= (the
 * answer's next_before). Folding and matching are the database's
 * (pigeon_search, db/functions/65_reach.sql): q is only ever a parameter,
 * so quotes, % or regex characters are text, never SQL or a pattern.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "fold.h"
#include "pigeond.h"

#define SEARCH_MAX_Q		500	/* bytes of q; longer asks nothing useful */
#define SEARCH_DEFAULT_LIMIT	20
#define SEARCH_MAX_LIMIT	50

/* PostgreSQL refuses text that is not UTF-8: say so as a 400 first. */
static int
utf8_valid(const char *s)
{
	const char *e = s + strlen(s);
	uint32_t cp;

	while (s < e) {
		s += fold_char_at(s, e, &cp);
		if (cp == BAD_CHAR)
			return 0;
	}
	return 1;
}

static void
searched(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);
	const char *err = json_string_value(json_object_get(o, "error"));

	if (o == NULL)
		api_error(r, 500, "internal error");
	else if (err)
		api_error(r, 400, "q holds no word to search for (letters or digits)");
	else
		api_reply(r, 200, json_incref(o));
	json_decref(o);
}

void
api_search(struct api_req *r)
{
	const char *q = api_param(r, "q");
	char limit_s[24], before_s[24];
	long long limit, before;

	if (q == NULL) {
		api_error(r, 400, "q (the words to search for) is required");
		return;
	}
	if (strlen(q) > SEARCH_MAX_Q) {
		api_error(r, 400, "q is longer than %d bytes", SEARCH_MAX_Q);
		return;
	}
	if (!utf8_valid(q)) {
		api_error(r, 400, "q is not UTF-8 text");
		return;
	}
	if (api_param_int(r, "limit", SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT,
	    &limit) == -1 ||
	    api_param_int(r, "before", 0, 1, INT64_MAX, &before) == -1)
		return;
	snprintf(limit_s, sizeof(limit_s), "%lld", limit);
	snprintf(before_s, sizeof(before_s), "%lld", before);
	const char *params[] = { q, before ? before_s : NULL, limit_s };
	api_query(r, "SELECT pigeon_search($1, $2, $3)", 3, params, searched);
}
