/*
 * scheduler.c: outbox rows to modems.
 *
 * It claims as many due rows as there are idle online modems (FOR UPDATE
 * SKIP LOCKED, with a lease, highest priority first), hands each to a
 * modem, and records the outcome. It wakes on NOTIFY pigeon_outbox, when a
 * modem becomes free, and on a slow timer for retries and expired leases.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

#define TICK_MS		2000	/* retries come due between NOTIFYs */
#define RECLAIM_TICKS	15	/* expired leases are looked for every 30 s */
#define MAX_ATTEMPTS	"5"

/* An outcome to record; kept until the database has it. */
struct outcome {
	TAILQ_ENTRY(outcome) entry;
	const char	*sql;
	int		 nparams;
	char		*params[5];
};
TAILQ_HEAD(outcome_list, outcome);

static struct outcome_list outcomes = TAILQ_HEAD_INITIALIZER(outcomes);
static int recording;		/* outcomes in flight */
static int claiming;
static int again;
static int first_up = 1;
static unsigned ticks;
static struct event *ev_tick;
static struct modem *last_used;

static const char SQL_SENT[] = "SELECT pigeon_outbox_sent($1, $2, $3, $4::integer[])";
static const char SQL_FAILED[] = "SELECT pigeon_outbox_failed($1, $2, $3, $4, $5)";
static const char SQL_RELEASE[] =
    "UPDATE outbox SET state = 'queued', lease_until = NULL, attempts = attempts - 1 "
    "WHERE id = $1 AND state = 'sending'";

static void outcomes_flush(void);

static void
outcome_free(struct outcome *o)
{
	for (int i = 0; i < o->nparams; i++)
		free(o->params[i]);
	free(o);
}

static void
outcome_recorded(PGresult *res, void *arg)
{
	struct outcome *o = arg;

	recording--;
	if (res == NULL) {
		/* Unknown; the statements are idempotent, so say it again. */
		TAILQ_INSERT_HEAD(&outcomes, o, entry);
		return;
	}
	if (!store_ok(res))
		log_warnx("outbox %s: cannot record the outcome: %s", o->params[0],
		    store_error(res));
	outcome_free(o);
	scheduler_kick();
	if (env.draining)
		pigeond_check_drained();
}

static void
outcome_add(const char *sql, int nparams, const char *const *params)
{
	struct outcome *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return;
	o->sql = sql;
	o->nparams = nparams;
	for (int i = 0; i < nparams; i++)
		o->params[i] = params[i] ? strdup(params[i]) : NULL;
	TAILQ_INSERT_TAIL(&outcomes, o, entry);
	outcomes_flush();
}

static void
outcomes_flush(void)
{
	struct outcome *o;

	while (store_is_up(env.store) && (o = TAILQ_FIRST(&outcomes)) != NULL) {
		TAILQ_REMOVE(&outcomes, o, entry);
		if (store_query(env.store, o->sql, o->nparams,
		    (const char *const *)o->params, outcome_recorded, o) == -1) {
			TAILQ_INSERT_HEAD(&outcomes, o, entry);
			return;
		}
		recording++;
	}
}

/* The next idle online modem after the one used last, round robin. */
static struct modem *
pick_modem(void)
{
	struct modem *m = last_used ? TAILQ_NEXT(last_used, entry) : NULL;
	size_t n = 0;

	for (;; m = TAILQ_NEXT(m, entry)) {
		if (m == NULL)
			m = TAILQ_FIRST(&env.modems);
		if (m == NULL || n++ > env.conf.nmodems)
			return NULL;
		if (m->state == MODEM_ONLINE && m->sending == 0 && m->bev != NULL)
			return last_used = m;
	}
}

static int
idle_modems(void)
{
	struct modem *m;
	int n = 0;
	TAILQ_FOREACH(m, &env.modems, entry)
		if (m->state == MODEM_ONLINE && m->sending == 0 && m->bev != NULL)
			n++;
	return n;
}

static void
claimed(PGresult *res, void *arg)
{
	int asked = (int)(intptr_t)arg;
	int n;

	claiming = 0;
	if (res == NULL)
		return;
	if (!store_ok(res)) {
		log_warnx("outbox: claim failed: %s", store_error(res));
		return;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *id = PQgetvalue(res, i, 0);
		struct modem *m = pick_modem();
		int max_parts = PQgetisnull(res, i, 4) ? 0 : atoi(PQgetvalue(res, i, 4));
		const char *more = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
		if (m == NULL || modem_send(m, strtoll(id, NULL, 10),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), max_parts, more) == -1) {
			/* The modem went away since the claim: put it back. */
			const char *params[] = { id };
			outcome_add(SQL_RELEASE, 1, params);
			continue;
		}
		log_debug("outbox %s: to %s via %s", id, PQgetvalue(res, i, 1), m->name);
	}
	if (n == asked || again) {
		again = 0;
		scheduler_kick();
	}
}

void
scheduler_kick(void)
{
	char n[16], lease[16];
	int idle;

	if (claiming) {
		again = 1;
		return;
	}
	if (env.draining || !store_is_up(env.store))
		return;
	outcomes_flush();
	if ((idle = idle_modems()) == 0)
		return;
	snprintf(n, sizeof(n), "%d", idle);
	snprintf(lease, sizeof(lease), "%d", env.conf.lease_seconds);
	const char *params[] = { env.conf.hostname, n, lease };
	if (store_query(env.store, "SELECT * FROM pigeon_outbox_claim($1, $2, $3)",
	    3, params, claimed, (void *)(intptr_t)idle) == 0)
		claiming = 1;
}

static int
json_id(json_t *msg, char *buf, size_t len)
{
	json_t *id = json_object_get(msg, "id");
	if (!json_is_integer(id))
		return -1;
	snprintf(buf, len, "%lld", (long long)json_integer_value(id));
	return 0;
}

/* Checks that a worker's outcome is about the send it was given. */
static int
outcome_matches(struct modem *m, json_t *msg, char *id, size_t idlen)
{
	if (json_id(msg, id, idlen) == -1 || m->sending == 0 ||
	    strtoll(id, NULL, 10) != m->sending) {
		log_warnx("modem %s: outcome for a send it was not given (%s), ignored",
		    m->name, json_id(msg, id, idlen) == 0 ? id : "no id");
		return 0;
	}
	m->sending = 0;
	return 1;
}

void
scheduler_sent(struct modem *m, json_t *msg)
{
	char id[32], parts[16];
	json_t *refs = json_object_get(msg, "refs");
	char *refs_text;

	if (!outcome_matches(m, msg, id, sizeof(id)))
		return;
	snprintf(parts, sizeof(parts), "%lld",
	    (long long)json_integer_value(json_object_get(msg, "parts")));
	/* A JSON list of integers is also a PostgreSQL array once [] become {}. */
	refs_text = json_is_array(refs) ? json_dumps(refs, JSON_COMPACT) : strdup("[]");
	if (refs_text != NULL) {
		size_t len = strlen(refs_text);
		refs_text[0] = '{';
		refs_text[len - 1] = '}';
	}
	const char *params[] = { id, m->name, parts, refs_text ? refs_text : "{}" };
	log_info("outbox %s: sent via %s in %s part(s)", id, m->name, parts);
	outcome_add(SQL_SENT, 4, params);
	free(refs_text);
	scheduler_kick();
}

void
scheduler_send_failed(struct modem *m, json_t *msg)
{
	char id[32];
	const char *err = json_string_value(json_object_get(msg, "error"));
	int temporary = json_is_true(json_object_get(msg, "temporary"));

	if (!outcome_matches(m, msg, id, sizeof(id)))
		return;
	log_warnx("outbox %s: %s failure via %s: %s", id,
	    temporary ? "temporary" : "permanent", m->name, err ? err : "no reason given");
	const char *params[] = { id, m->name, err ? err : "send failed",
	    temporary ? "true" : "false", MAX_ATTEMPTS };
	outcome_add(SQL_FAILED, 5, params);
	scheduler_kick();
}

/*
 * The process died with a send in flight: the SMS may or may not have left.
 * Sending again can duplicate it; not sending can lose it. We send again.
 */
void
scheduler_modem_lost(struct modem *m, const char *why)
{
	char id[32], reason[200];

	snprintf(id, sizeof(id), "%lld", (long long)m->sending);
	snprintf(reason, sizeof(reason), "modem %s: %s during the send", m->name, why);
	log_warnx("outbox %s: %s; it will be sent again", id, reason);
	const char *params[] = { id, m->name, reason, "true", MAX_ATTEMPTS };
	outcome_add(SQL_FAILED, 5, params);
	m->sending = 0;
}

static void
reclaimed(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("outbox: returning expired leases: %s", store_error(res));
	else if (res != NULL && PQntuples(res) > 0 && atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("outbox: %s message(s) back in the queue", PQgetvalue(res, 0, 0));
}

static void
scheduler_on_tick(evutil_socket_t fd, short what, void *arg)
{
	if (!store_is_up(env.store))
		return;
	if (first_up) {
		/* What this host was sending when it stopped goes back at once. */
		const char *params[] = { env.conf.hostname };
		first_up = 0;
		store_query(env.store,
		    "WITH r AS (UPDATE outbox SET state = 'queued', lease_until = NULL, "
		    "last_error = 'pigeond restarted during the send' "
		    "WHERE state = 'sending' AND host = $1 RETURNING 1) "
		    "SELECT count(*) FROM r", 1, params, reclaimed, NULL);
	}
	if (++ticks % RECLAIM_TICKS == 0)
		store_query(env.store, "SELECT pigeon_outbox_reclaim()", 0, NULL,
		    reclaimed, NULL);
	if (ticks % RECLAIM_TICKS == 1)
		commands_expire();
	outcomes_flush();
	scheduler_kick();
}

int
scheduler_init(void)
{
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };
	ev_tick = event_new(env.base, -1, EV_PERSIST, scheduler_on_tick, NULL);
	if (ev_tick == NULL)
		return -1;
	return event_add(ev_tick, &tv);
}

/* Runs the first tick now: called when the database comes up. */
void
scheduler_db_up(void)
{
	scheduler_on_tick(-1, 0, NULL);
}

int
scheduler_busy(void)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry)
		if (m->sending)
			return 1;
	return claiming || recording || !TAILQ_EMPTY(&outcomes);
}

void
scheduler_free(void)
{
	struct outcome *o;
	while ((o = TAILQ_FIRST(&outcomes)) != NULL) {
		TAILQ_REMOVE(&outcomes, o, entry);
		outcome_free(o);
	}
	if (ev_tick) {
		event_free(ev_tick);
		ev_tick = NULL;
	}
}
