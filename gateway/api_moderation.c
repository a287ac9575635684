/*
 * api_moderation.c: an operator's moderation (issue 16), admin scope:
 * DELETE /api/posts/ID removes a post everywhere, POST
 * /api/users/HANDLE/suspend and /restore, GET /api/users/HANDLE/export,
 * DELETE /api/users/HANDLE erases a member's data. The work is in
 * db/functions/64_moderation.sql.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "pigeond.h"

/* The path's handle: what accounts.handle allows, else a 400. */
static int
handle_arg(struct api_req *r)
{
	size_t n = strlen(r->arg);

	if (n == 0 || n > 15 || strspn(r->arg, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n) {
		api_error(r, 400, "a handle is 1 to 15 letters, digits or _");
		return -1;
	}
	return 0;
}

/* The function's jsonb as the answer: NULL or {"error": "no_user"} is a 404. */
static void
answered(struct api_req *r, PGresult *res)
{
	json_t *j = api_json_value(res);

	if (j == NULL || json_object_get(j, "error")) {
		json_decref(j);
		api_error(r, 404, "no such %s: %s", strncmp(r->path, "/api/posts/", 11) == 0 ?
		    "post" : "user", r->arg);
		return;
	}
	log_info("http: moderation: %s %s", evhttp_request_get_command(r->req) ==
	    EVHTTP_REQ_DELETE ? "DELETE" : evhttp_request_get_command(r->req) ==
	    EVHTTP_REQ_POST ? "POST" : "GET", r->path);
	api_reply(r, 200, j);
}

void
api_mod_post_remove(struct api_req *r)
{
	if (api_id_arg(r, "post") == -1)
		return;
	const char *params[] = { r->arg };
	api_query(r, "SELECT pigeon_mod_post_remove($1)", 1, params, answered);
}

void
api_mod_user_action(struct api_req *r)
{
	const char *params[] = { r->arg };
	size_t n = strlen(r->path);

	if (handle_arg(r) == -1)
		return;
	/* The method says which route matched: DELETE /api/users/NAME is the
	 * only DELETE, and NAME may well end in "/export". */
	switch (evhttp_request_get_command(r->req)) {
	case EVHTTP_REQ_DELETE:
		api_query(r, "SELECT pigeon_mod_erase($1)", 1, params, answered);
		break;
	case EVHTTP_REQ_GET:
		api_query(r, "SELECT pigeon_mod_export($1)", 1, params, answered);
		break;
	default:
		if (n > 8 && strcmp(r->path + n - 8, "/suspend") == 0)
			api_query(r, "SELECT pigeon_mod_suspend($1)", 1, params, answered);
		else
			api_query(r, "SELECT pigeon_mod_restore($1)", 1, params, answered);
	}
}
