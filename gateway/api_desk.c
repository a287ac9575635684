/*
 * api_desk.c: the operator's support desk, admin scope (a phone number is
 * private: never on a public route). GET /api/phones/PHONE: what the
 * service knows of a phone, member or not (its account, its STOP);
 * POST /api/phones/PHONE/optout: a STOP recorded on the phone's behalf,
 * nothing sent to it. No route lifts a STOP: only the phone does, by
 * START or JOIN. The work is in db/functions/63_desk.sql.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "log.h"
#include "number.h"
#include "pigeond.h"

/* The path's phone in E.164 (out: NUMBER_MAX bytes), in any form
 * number.c takes for the configured country; else a 400 and -1. */
static int
phone_arg(struct api_req *r, char *out)
{
	char why[96];

	if (number_normalize(r->arg, env.conf.country, out, NUMBER_MAX) == NUMBER_E164)
		return 0;
	if (number_plan_why(r->arg, env.conf.country, NULL, why, sizeof(why)))
		api_error(r, 400, "%.40s is not a phone number: %s", r->arg, why);
	else
		api_error(r, 400, "%.40s is not a phone number", r->arg);
	return -1;
}

static void
answered(struct api_req *r, PGresult *res)
{
	json_t *j = api_json_value(res);

	if (j == NULL) {
		api_error(r, 500, "no answer from the database");
		return;
	}
	api_reply(r, 200, j);
}

void
api_desk_phone(struct api_req *r)
{
	char phone[NUMBER_MAX];

	if (phone_arg(r, phone) == -1)
		return;
	const char *params[] = { phone };
	api_query(r, "SELECT pigeon_desk_phone($1)", 1, params, answered);
}

static void
opted_out(struct api_req *r, PGresult *res)
{
	json_t *j = api_json_value(res);

	if (j != NULL && json_is_false(json_object_get(j, "already")))
		log_info("http: desk: %s opted out by token %s",
		    json_string_value(json_object_get(j, "phone")), r->token);
	answered(r, res);
	json_decref(j);
}

void
api_desk_optout(struct api_req *r)
{
	char phone[NUMBER_MAX];

	if (phone_arg(r, phone) == -1)
		return;
	const char *params[] = { phone, r->token };
	api_query(r, "SELECT pigeon_desk_optout_add($1, $2)", 2, params, opted_out);
}
