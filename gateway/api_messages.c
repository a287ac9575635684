/*
 * api_messages.c: POST /api/messages (an operator's SMS, class 1),
 * GET /api/messages/ID (status and history), GET /api/messages (search by
 * recipient and status, newest first, paged with before=).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "number.h"
#include "pigeond.h"

static const char *states[] = { "queued", "sending", "sent", "failed", "expired",
    "delivered", "undelivered", "cancelled", NULL };

static void
sent(struct api_req *r, PGresult *res)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		api_error(r, 403, "the recipient has opted out (STOP)");
		return;
	}
	api_reply(r, 202, json_pack("{s:I, s:s}", "id",
	    (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10), "state", "queued"));
}

void
api_messages_send(struct api_req *r)
{
	const char *text;
	char number[NUMBER_MAX], err[200];

	if (api_send_check(r->body, env.conf.country, number, sizeof(number), &text,
	    err, sizeof(err)) != 0) {
		api_error(r, 400, "%s", err);
		return;
	}
	const char *params[] = { number, text };
	api_query(r, "SELECT pigeon_send($1, $2, 1::smallint)", 2, params, sent);
}

static void
message_fetched(struct api_req *r, PGresult *res)
{
	json_t *m = api_json_value(res);
	if (m == NULL) {
		api_error(r, 404, "no message %s", r->arg);
		return;
	}
	api_reply(r, 200, m);
}

void
api_messages_get(struct api_req *r)
{
	char *end;
	long long id = strtoll(r->arg, &end, 10);

	if (*end != '\0' || id < 1 || end == r->arg) {
		api_error(r, 400, "a message id is a positive number");
		return;
	}
	const char *params[] = { r->arg };
	api_query(r, "SELECT pigeon_api_message($1)", 1, params, message_fetched);
}

static void
searched(struct api_req *r, PGresult *res)
{
	json_t *list = api_json_value(res);
	long long limit;
	json_t *next = json_null();

	if (!json_is_array(list)) {
		json_decref(list);
		api_error(r, 500, "internal error");
		return;
	}
	api_param_int(r, "limit", 50, 1, 500, &limit);
	if (json_array_size(list) == (size_t)limit && limit > 0)
		next = json_object_get(json_array_get(list, json_array_size(list) - 1), "id");
	api_reply(r, 200, json_pack("{s:o, s:O}", "messages", list, "next_before", next));
}

void
api_messages_search(struct api_req *r)
{
	const char *to = api_param(r, "to"), *status = api_param(r, "status");
	char number[NUMBER_MAX], limit_s[24], before_s[24];
	long long limit, before;
	int known = 0;

	if (to && number_normalize(to, env.conf.country, number, sizeof(number)) == NUMBER_INVALID) {
		api_error(r, 400, "to is not a phone number");
		return;
	}
	for (int i = 0; status && states[i]; i++)
		known |= strcmp(states[i], status) == 0;
	if (status && !known) {
		api_error(r, 400, "status is one of queued, sending, sent, failed, "
		    "expired, delivered, undelivered, cancelled");
		return;
	}
	if (api_param_int(r, "limit", 50, 1, 500, &limit) == -1 ||
	    api_param_int(r, "before", 0, 1, INT64_MAX, &before) == -1)
		return;
	snprintf(limit_s, sizeof(limit_s), "%lld", limit);
	snprintf(before_s, sizeof(before_s), "%lld", before);
	const char *params[] = { to ? number : NULL, status, limit_s,
	    before ? before_s : NULL };
	api_query(r, "SELECT pigeon_api_messages($1, $2, $3, $4)", 4, params, searched);
}
