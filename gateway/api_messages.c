/*
 * api_messages.c: POST /api/messages (an operator's SMS, class 1, to one
 * or several recipients, with the options of docs/api.md), DELETE
 * /api/messages/ID (cancel while queued), GET /api/messages/ID (status and
 * history), GET /api/messages (search by recipient and status, newest
 * first, paged with before=), GET /api/inbox (what came in).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "number.h"
#include "pigeond.h"
#include "proto.h"

static const char *states[] = { "queued", "sending", "sent", "failed", "expired",
    "delivered", "undelivered", "cancelled", NULL };

static void
sent(struct api_req *r, PGresult *res)
{
	json_t *a = api_json_value(res), *ids = json_object_get(a, "ids");

	if (json_is_array(ids)) {
		json_t *out = json_pack("{s:O, s:s}", "ids", ids, "state", "queued");
		/* One recipient: its id alone too, as before issue 16. */
		if (out && json_array_size(ids) == 1)
			json_object_set(out, "id", json_array_get(ids, 0));
		if (out && json_is_true(json_object_get(a, "replayed")))
			json_object_set_new(out, "replayed", json_true());
		/* "via" a link no host drives now: queued, and said. */
		if (out && json_is_string(json_object_get(a, "warning")))
			json_object_set(out, "warning", json_object_get(a, "warning"));
		json_decref(a);
		/* A replay answers as the first request did: nothing new. */
		api_reply(r, 202, out);
		return;
	}
	const char *e = json_string_value(json_object_get(a, "error"));
	if (e != NULL && strcmp(e, "no_link") == 0) {
		const char *via = json_string_value(json_object_get(a, "via")) ?: "";
		if (json_is_true(json_object_get(a, "removed")))
			api_error(r, 400, "\"via\": %.64s was removed from the "
			    "configuration", via);
		else
			api_error(r, 400, "\"via\": no link named %.64s", via);
		json_decref(a);
		return;
	}
	if (e != NULL && strcmp(e, "too_far") == 0) {
		json_decref(a);
		api_error(r, 400, "\"send_at\" is more than %d days ahead",
		    API_SEND_AHEAD_S / 86400);
		return;
	}
	if (e != NULL && strcmp(e, "key_reused") == 0) {
		json_decref(a);
		api_error(r, 422, "idempotency_key was used for another request "
		    "within 24 hours; nothing was queued");
		return;
	}
	if (json_is_string(json_object_get(a, "to"))) {
		api_error(r, 403, "%s has opted out (STOP); nothing was queued",
		    json_string_value(json_object_get(a, "to")));
		json_decref(a);
		return;
	}
	json_decref(a);
	api_error(r, 500, "internal error");
}

/*
 * Whether a dlr_url's host is one the operator lets callbacks go to
 * ([http] dlr_hosts, names or addresses, compared as written; empty: any).
 * pigeond posts there signed with the webhook secret: a client that may
 * send should not make it post to the operator's own network.
 */
static int
dlr_host_allowed(const char *url)
{
	const char *list = env.conf.http_dlr_hosts;
	struct evhttp_uri *u;
	const char *host;
	int ok = 0;

	if (list == NULL || *list == '\0')
		return 1;
	if ((u = evhttp_uri_parse(url)) == NULL)
		return 0;
	if ((host = evhttp_uri_get_host(u)) != NULL && *host != '\0') {
		size_t n = strlen(host);
		for (const char *p = list; *p && !ok; ) {
			size_t len = strcspn(p, " \t,");
			ok = len == n && strncasecmp(p, host, n) == 0;
			p += len;
			p += strspn(p, " \t,");
		}
	}
	evhttp_uri_free(u);
	return ok;
}

void
api_messages_send(struct api_req *r)
{
	static struct api_send s;	/* 64 KB: not on the stack */
	char err[200], send_at[40];
	size_t cap = env.conf.http_max_recipients > 0 ?
	    (size_t)env.conf.http_max_recipients : 100;
	time_t now = time(NULL);

	if (api_send_check(r->body, env.conf.country, cap, (long long)now, &s,
	    err, sizeof(err)) != 0) {
		api_error(r, 400, "%s", err);
		return;
	}
	/* What no link sends: 1,000 characters of UCS-2 are 15 parts. It was
	 * taken (202), then failed ("needs 11 parts, at most 10 are sent"). */
	int parts;
	smstext_encode(s.text, strlen(s.text), &parts);
	if (parts > PROTO_MAX_PARTS) {
		api_error(r, 400, "\"text\" needs %d SMS parts; at most %d are sent "
		    "(1,530 characters of GSM-7, 670 of others)", parts, PROTO_MAX_PARTS);
		return;
	}
	/* A link that does not exist would hold the message for ever:
	 * pigeon_api_send looks for it among every host's (any host's API
	 * serves the whole gateway; this host's list named only its own). */
	if (s.dlr_url && !dlr_host_allowed(s.dlr_url)) {
		api_error(r, 400, "\"dlr_url\": its host is not one of [http] dlr_hosts");
		return;
	}
	json_t *opts = json_pack("{s:i, s:b, s:I}", "priority", s.priority,
	    "flash", s.flash, "validity_s",
	    (json_int_t)(s.validity ? s.validity : env.conf.validity));
	json_t *to = json_array();
	for (size_t i = 0; i < s.nto; i++)
		json_array_append_new(to, json_string(s.to[i]));
	if (s.has_send_at) {
		/* Zoned: the instant. Without a zone: as written, for the
		 * database to read in the service's time zone. */
		api_time_text(&s.send_at, send_at, sizeof(send_at));
		json_object_set_new(opts, s.send_at.zoned ? "send_at" : "send_at_local",
		    json_string(send_at));
	}
	if (s.via)
		json_object_set_new(opts, "via", json_string(s.via));
	if (s.dlr_url)
		json_object_set_new(opts, "dlr_url", json_string(s.dlr_url));
	/* The token's name goes on each message: a send token cancels
	 * its own only. */
	json_object_set_new(opts, "token", json_string(r->token));
	if (s.idempotency_key) {
		/* A key is the token's own: another client's same key is
		 * another request. The body's digest tells a retry from
		 * another request under a used key. */
		char digest[API_SHA256_HEX + 1];
		if (api_body_digest(r->body, digest) == -1) {
			json_decref(opts);
			api_error(r, 500, "out of memory");
			return;
		}
		json_object_set_new(opts, "idempotency_key", json_string(s.idempotency_key));
		json_object_set_new(opts, "request", json_string(digest));
	}
	char *opts_s = json_dumps(opts, JSON_COMPACT);
	char *to_s = json_dumps(to, JSON_COMPACT);
	json_decref(opts);
	json_decref(to);
	if (opts_s == NULL || to_s == NULL) {
		free(opts_s);
		free(to_s);
		api_error(r, 500, "out of memory");
		return;
	}
	const char *params[] = { to_s, s.text, opts_s };
	api_query(r, "SELECT pigeon_api_send(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)), "
	    "$2, $3::jsonb)", 3, params, sent);
	free(opts_s);
	free(to_s);
}

static void
cancelled(struct api_req *r, PGresult *res)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		api_error(r, 404, "no message %s", r->arg);
		return;
	}
	const char *st = PQgetvalue(res, 0, 0);
	if (strcmp(st, "queued") != 0) {
		api_error(r, 409, "message %s is %s: only a queued message can be "
		    "cancelled", r->arg, st);
		return;
	}
	api_reply(r, 200, json_pack("{s:I, s:s}", "id",
	    (json_int_t)strtoll(r->arg, NULL, 10), "state", "cancelled"));
}

void
api_messages_cancel(struct api_req *r)
{
	if (api_id_arg(r, "message") == -1)
		return;
	/* A send token cancels its own sends only; admin, any message. */
	const char *params[] = { r->arg,
	    r->scopes & API_SCOPE_ADMIN ? NULL : r->token };
	api_query(r, "SELECT pigeon_outbox_cancel_message($1, $2::text)", 2, params,
	    cancelled);
}

static const char *inbox_states[] = { "new", "done", "ignored", "error", NULL };

/*
 * A page of GET /api/messages or /api/inbox: the query asked for one row
 * more than `limit`, so that next_before is null on the last page (it
 * was set on a full last page, whose next page came back empty).
 */
static void
page_listed(struct api_req *r, PGresult *res)
{
	json_t *list = api_json_value(res);
	json_t *next = json_null();
	long long limit;

	if (!json_is_array(list)) {
		json_decref(list);
		api_error(r, 500, "internal error");
		return;
	}
	api_param_int(r, "limit", 50, 1, 500, &limit);
	if (limit > 0 && json_array_size(list) > (size_t)limit) {
		json_array_remove(list, (size_t)limit);	/* the one more */
		next = json_object_get(json_array_get(list, (size_t)limit - 1), "id");
	}
	api_reply(r, 200, json_pack("{s:o, s:O}", "messages", list, "next_before", next));
}

/* GET /api/inbox?from=&state=&limit=&before=: what came in, applied or not. */
void
api_inbox_list(struct api_req *r)
{
	const char *from = api_param(r, "from"), *state = api_param(r, "state");
	char number[NUMBER_MAX], why[96], limit_s[24], before_s[24];
	long long limit, before;
	int known = 0;

	/* Senders are stored as number.c reads them (E.164, a short code, a
	 * name), or as the network gave them when they are none of these.
	 * A filter that is none of these either, but for a number of a
	 * length its plan has not (stored as the network gave it), is an
	 * error: an empty list read as "nothing came from that phone". */
	int kind = from ? number_normalize(from, env.conf.country, number,
	    sizeof(number)) : 0;
	if (from && kind == NUMBER_INVALID &&
	    !number_plan_why(from, env.conf.country, NULL, why, sizeof(why))) {
		api_error(r, 400, "from is not a phone number, a short code or a "
		    "sender's name");
		return;
	}
	if (from && (kind == NUMBER_E164 || kind == NUMBER_SHORT))
		from = number;
	for (int i = 0; state && inbox_states[i]; i++)
		known |= strcmp(inbox_states[i], state) == 0;
	if (state && !known) {
		api_error(r, 400, "state is one of new, done, ignored, error");
		return;
	}
	if (api_param_int(r, "limit", 50, 1, 500, &limit) == -1 ||
	    api_param_int(r, "before", 0, 1, INT64_MAX, &before) == -1)
		return;
	snprintf(limit_s, sizeof(limit_s), "%lld", limit + 1);	/* page_listed */
	snprintf(before_s, sizeof(before_s), "%lld", before);
	const char *params[] = { from, state, limit_s, before ? before_s : NULL };
	api_query(r, "SELECT pigeon_api_inbox($1, $2, $3, $4)", 4, params, page_listed);
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
	if (api_id_arg(r, "message") == -1)
		return;
	const char *params[] = { r->arg };
	api_query(r, "SELECT pigeon_api_message($1)", 1, params, message_fetched);
}

void
api_messages_search(struct api_req *r)
{
	const char *to = api_param(r, "to"), *status = api_param(r, "status");
	char number[NUMBER_MAX], why[96], limit_s[24], before_s[24];
	long long limit, before;
	int known = 0;

	/* A name (an alphanumeric sender) is no recipient: "to=hello"
	 * listed nothing, as if no message had gone to that number. A number
	 * of a length its plan has not was queued before number.c checked:
	 * its messages are found. */
	int kind = to ? number_normalize(to, env.conf.country, number, sizeof(number)) : 0;
	if (to && kind != NUMBER_E164 && kind != NUMBER_SHORT &&
	    !number_plan_why(to, env.conf.country, number, why, sizeof(why))) {
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
	snprintf(limit_s, sizeof(limit_s), "%lld", limit + 1);	/* page_listed */
	snprintf(before_s, sizeof(before_s), "%lld", before);
	const char *params[] = { to ? number : NULL, status, limit_s,
	    before ? before_s : NULL };
	api_query(r, "SELECT pigeon_api_messages($1, $2, $3, $4)", 4, params, page_listed);
}
