/*
 * reports.c: delivery reports. A status-report SMS read from a modem
 * (an `sms` event with status_report true) is stored and matched to the
 * part it reports on by pigeon_report_store: modem, message reference,
 * recipient, sent within report_window seconds. Like inbound SMS, it is
 * deleted from the modem only after the statement that stored it has
 * committed (a durable query: store.h), and stored once (a dedupe key) if
 * it is read again. A report that matches nothing is kept and counted,
 * never dropped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "number.h"
#include "pigeond.h"
#include "store.h"

#define REPORT_PARAMS	8

/* What the answer needs: where the report lies, to delete it. */
struct report {
	struct link	*modem;
	unsigned	 generation;	/* of the process that read it */
	int		 folder, location;
	char		*params[REPORT_PARAMS];
};

static int in_flight;

static const char SQL_REPORT[] =
    "SELECT pigeon_report_store($1, $2, $3::integer, $4::integer, "
    "$5::timestamptz, $6::timestamptz, $7, $8::integer)";

/* ISO 8601 as the worker writes it (2026-11-26T07:45:00+01:00), or NULL. */
static const char *
report_time(json_t *v)
{
	const char *t = json_string_value(v);

	if (t == NULL || strlen(t) < 19 || strlen(t) > 32)
		return NULL;
	for (const char *p = t; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr("-:T+Z.", *p))
			return NULL;
	return t;
}

static void
report_free(struct report *r)
{
	for (int i = 0; i < REPORT_PARAMS; i++)
		free(r->params[i]);
	free(r);
}

/* A durable query (store.h): res is NULL only when pigeond stops. */
static void
report_stored(PGresult *res, void *arg)
{
	struct report *r = arg;

	in_flight--;
	if (res == NULL) {
		/* pigeond stops: the report stays on the modem. */
	} else if (!store_ok(res)) {
		/* Left on the modem; a later worker reports it again. */
		log_warnx("modem %s: cannot store the status report at location %d: %s",
		    r->modem->name, r->location, store_error(res));
	} else {
		log_info("modem %s: status report for reference %s to %s (status %s): %s",
		    r->modem->name, r->params[2], r->params[1], r->params[3],
		    PQgetvalue(res, 0, 0));
		supervisor_delete(r->modem, r->generation, r->folder, r->location);
	}
	report_free(r);
	if (env.draining)
		pigeond_check_drained();
}

void
reports_sms(struct link *m, json_t *msg)
{
	json_t *folder = json_object_get(msg, "folder");
	json_t *location = json_object_get(msg, "location");
	json_t *ref = json_object_get(msg, "ref");
	json_t *status = json_object_get(msg, "delivery_status");
	const char *sender = json_string_value(json_object_get(msg, "sender"));
	const char *smsc_time = report_time(json_object_get(msg, "time"));
	const char *discharge = report_time(json_object_get(msg, "discharge_time"));
	char norm[NUMBER_MAX], buf[64], window[16], *key;
	struct report *r;

	if (!json_is_integer(folder) || !json_is_integer(location)) {
		log_warnx("modem %s: status report without folder or location, ignored",
		    m->name);
		return;
	}
	if (!json_is_integer(ref) || !json_is_integer(status) ||
	    json_integer_value(ref) < 0 || json_integer_value(ref) > 255 ||
	    json_integer_value(status) < 0 || json_integer_value(status) > 255) {
		/* Still stored, so it is counted: as reference -1, unmatched. */
		log_warnx("modem %s: status report at %lld without a valid reference "
		    "or status", m->name, (long long)json_integer_value(location));
	}
	if (number_normalize(sender ? sender : "", env.conf.country, norm,
	    sizeof(norm)) == NUMBER_INVALID)
		snprintf(norm, sizeof(norm), "%.*s", (int)sizeof(norm) - 1,
		    sender ? sender : "");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->modem = m;
	r->generation = m->generation;
	r->folder = (int)json_integer_value(folder);
	r->location = (int)json_integer_value(location);
	r->params[0] = strdup(m->name);
	r->params[1] = strdup(norm);
	snprintf(buf, sizeof(buf), "%lld", json_is_integer(ref) &&
	    json_integer_value(ref) >= 0 && json_integer_value(ref) <= 255 ?
	    (long long)json_integer_value(ref) : -1LL);
	r->params[2] = strdup(buf);
	snprintf(buf, sizeof(buf), "%lld", json_is_integer(status) ?
	    (long long)json_integer_value(status) & 0xff : 255LL);
	r->params[3] = strdup(buf);
	r->params[4] = smsc_time ? strdup(smsc_time) : NULL;
	r->params[5] = discharge ? strdup(discharge) : NULL;
	if (asprintf(&key, "%s|%s|%s|%s|%s|%s", m->name, norm, r->params[2],
	    r->params[3], smsc_time ? smsc_time : "", discharge ? discharge : "") == -1)
		key = NULL;
	r->params[6] = key;
	snprintf(window, sizeof(window), "%d", env.conf.report_window);
	r->params[7] = strdup(window);
	if (!r->params[0] || !r->params[1] || !r->params[2] || !r->params[3] ||
	    !r->params[6] || !r->params[7]) {
		report_free(r);
		return;
	}
	/* The dedupe key makes a second try safe. */
	if (store_durable(env.store, SQL_REPORT, REPORT_PARAMS,
	    (const char *const *)r->params, report_stored, r) == -1) {
		report_free(r);
		return;
	}
	in_flight++;
}

int
reports_busy(void)
{
	return in_flight > 0 && store_is_up(env.store);
}
