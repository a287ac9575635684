/*
 * reports.c: delivery reports. A status-report SMS read from a modem
 * (an `sms` event with status_report true) is stored and matched to the
 * part it reports on by pigeon_report_store: modem, message reference,
 * recipient, sent within report_window seconds. Like inbound SMS, it is
 * deleted from the modem only after the statement that stored it has
 * committed (a durable query: store.h), and stored once (a dedupe key) if
 * it is read again. A report that matches nothing is kept and counted,
 * never dropped. An SMPP bind's receipts (reports_receipt) take the same
 * path, matched by the SMSC's message id instead of the reference.
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
		log_info("modem %s: delivery report for %s: %s", r->modem->name,
		    r->params[1], PQgetvalue(res, 0, 0));
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

static const char SQL_RECEIPT[] =
    "SELECT pigeon_report_receipt($1, $2, $3, $4::text[], $5::integer, $6, $7, $8)";

/*
 * An SMPP receipt (pigeon-smpp's `report`): stored and matched by the
 * SMSC's message id, then acknowledged to the SMSC (`delete`: the worker
 * answers the deliver_sm only then), like a modem's status report.
 */
void
reports_receipt(struct link *l, json_t *msg)
{
	json_t *keys = json_object_get(msg, "keys"), *k;
	const char *recipient = json_string_value(json_object_get(msg, "recipient"));
	const char *mid = json_string_value(json_object_get(msg, "message_id"));
	const char *stat = json_string_value(json_object_get(msg, "stat"));
	const char *err = json_string_value(json_object_get(msg, "err"));
	const char *key = json_string_value(json_object_get(msg, "key"));
	char norm[NUMBER_MAX], status[8], *keys_text = NULL, *dedupe = NULL;
	size_t i, len = 2;
	struct report *r;

	if (key == NULL || !json_is_array(keys)) {
		log_warnx("modem %s: receipt without key or keys, ignored", l->name);
		return;
	}
	/* A text[] literal of the keys: they are hex and decimal digits, so
	 * no quoting is needed; anything else is left out. */
	json_array_foreach(keys, i, k)
		len += json_string_length(k) + 1;
	if ((keys_text = malloc(len)) == NULL)
		return;
	strcpy(keys_text, "{");
	json_array_foreach(keys, i, k) {
		const char *v = json_string_value(k);
		if (v == NULL || *v == '\0' || strspn(v, "0123456789abcdefABCDEF") != strlen(v))
			continue;
		if (keys_text[1] != '\0')
			strcat(keys_text, ",");
		strcat(keys_text, v);
	}
	strcat(keys_text, "}");
	if (number_normalize(recipient ? recipient : "", env.conf.country, norm,
	    sizeof(norm)) == NUMBER_INVALID)
		snprintf(norm, sizeof(norm), "%.*s", (int)sizeof(norm) - 1,
		    recipient ? recipient : "");
	/* delivered: 0; final but not delivered: 64; not final yet: 32. */
	snprintf(status, sizeof(status), "%d",
	    json_is_true(json_object_get(msg, "delivered")) ? 0 :
	    json_is_true(json_object_get(msg, "final")) ? 64 : 32);
	if (asprintf(&dedupe, "%s|%s", l->name, key) == -1)
		dedupe = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL || dedupe == NULL) {
		free(r);
		free(keys_text);
		free(dedupe);
		return;
	}
	r->modem = l;
	r->generation = l->generation;
	r->folder = (int)json_integer_value(json_object_get(msg, "folder"));
	r->location = (int)json_integer_value(json_object_get(msg, "location"));
	r->params[0] = strdup(l->name);
	r->params[1] = strdup(norm);
	r->params[2] = mid ? strdup(mid) : NULL;
	r->params[3] = keys_text;
	r->params[4] = strdup(status);
	r->params[5] = stat ? strdup(stat) : NULL;
	r->params[6] = err ? strdup(err) : NULL;
	r->params[7] = dedupe;
	if (r->params[0] == NULL || r->params[1] == NULL || r->params[4] == NULL ||
	    store_durable(env.store, SQL_RECEIPT, REPORT_PARAMS,
	    (const char *const *)r->params, report_stored, r) == -1) {
		report_free(r);
		return;
	}
	in_flight++;
}
