/*
 * scheduler.c: outbox rows to modems.
 *
 * It claims as many due rows as there are modems that can send now (online,
 * idle, within their rate limits), highest priority first with a share kept
 * for each class (pigeon_outbox_claim), and gives each row a modem: one
 * the message has not failed on, then one routed for its recipient, then
 * the one that has waited longest. It records the outcome: a temporary
 * failure comes back after an exponential backoff and prefers another
 * modem, a permanent one fails at once, the attempts and the validity
 * period are bounded. It wakes on NOTIFY pigeon_outbox, when a modem
 * becomes free, and on a slow timer for retries, expiry and expired leases.
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

/* An outcome to record; kept until the database has it. */
struct outcome {
	TAILQ_ENTRY(outcome) entry;
	const char	*sql;
	int		 nparams;
	char		*params[7];
};
TAILQ_HEAD(outcome_list, outcome);

static struct outcome_list outcomes = TAILQ_HEAD_INITIALIZER(outcomes);
static int recording;		/* outcomes in flight */
static int claiming;
static int again;
static int first_up = 1;
static unsigned ticks;
static struct event *ev_tick;

static const char SQL_SENT[] =
    "SELECT pigeon_outbox_sent($1, $2, $3, $4::integer[], $5)";
static const char SQL_FAILED[] =
    "SELECT pigeon_outbox_failed($1, $2, $3, $4, $5, $6, $7)";
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

/* A modem that can take a send now, rate limits included. */
static int
modem_can_send(const struct modem *m, int64_t now)
{
	return modem_idle(m) && ratelimit_allows(&m->rate, m->conf, now);
}

static int
able_modems(void)
{
	struct modem *m;
	int64_t now = pigeon_now_ms();
	int n = 0;
	TAILQ_FOREACH(m, &env.modems, entry)
		if (modem_can_send(m, now))
			n++;
	return n;
}

static int
routed(const struct modem *m, const char *recipient)
{
	for (int i = 0; i < m->conf->nroutes; i++)
		if (strncmp(recipient, m->conf->route[i],
		    strlen(m->conf->route[i])) == 0)
			return 1;
	return 0;
}

/* failed is PostgreSQL's text of a text[]: {a,b} (names need no quotes). */
static int
failed_on(const struct modem *m, const char *failed)
{
	size_t n = strlen(m->name);
	const char *p = failed;

	while (p != NULL && *p != '\0') {
		p += strspn(p, "{,\"");
		if (strncmp(p, m->name, n) == 0 && strchr(",}\"", p[n]) != NULL)
			return 1;
		p = strpbrk(p, ",");
	}
	return 0;
}

/*
 * The modem for one row, among those that can send now: one the message
 * has not failed on, then one routed for its recipient (a preference:
 * numbers are ported), then the least recently used. With only_routed, a
 * routed modem or none.
 */
static struct modem *
pick_modem(const char *recipient, const char *failed, int only_routed, int64_t now)
{
	struct modem *m, *best = NULL;
	int best_score = -1;

	TAILQ_FOREACH(m, &env.modems, entry) {
		if (!modem_can_send(m, now))
			continue;
		int r = routed(m, recipient);
		if (only_routed && !r)
			continue;
		int score = (failed_on(m, failed) ? 0 : 2) + r;
		if (score > best_score || (score == best_score &&
		    m->send_started < best->send_started)) {
			best = m;
			best_score = score;
		}
	}
	return best;
}

static void
dispatch(PGresult *res, int i, struct modem *m)
{
	const char *id = PQgetvalue(res, i, 0);
	int max_parts = PQgetisnull(res, i, 4) ? 0 : atoi(PQgetvalue(res, i, 4));
	const char *more = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);

	if (m == NULL || modem_send(m, strtoll(id, NULL, 10),
	    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), max_parts, more) == -1) {
		/* No modem can take it after all: put it back. */
		const char *params[] = { id };
		outcome_add(SQL_RELEASE, 1, params);
		return;
	}
	log_debug("outbox %s: to %s via %s (attempt %s)", id, PQgetvalue(res, i, 1),
	    m->name, PQgetvalue(res, i, 7));
}

static void
claimed(PGresult *res, void *arg)
{
	int asked = (int)(intptr_t)arg;
	int64_t now = pigeon_now_ms();
	char *done;
	int n;

	claiming = 0;
	if (res == NULL)
		return;
	if (!store_ok(res)) {
		log_warnx("outbox: claim failed: %s", store_error(res));
		return;
	}
	n = PQntuples(res);
	if ((done = calloc(n > 0 ? n : 1, 1)) == NULL)
		return;
	/* Rows with an idle routed modem first, so that others do not take it. */
	for (int i = 0; i < n; i++) {
		struct modem *m = pick_modem(PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 6), 1, now);
		if (m != NULL && !failed_on(m, PQgetvalue(res, i, 6))) {
			dispatch(res, i, m);
			done[i] = 1;
		}
	}
	for (int i = 0; i < n; i++)
		if (!done[i])
			dispatch(res, i, pick_modem(PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 6), 0, now));
	free(done);
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
	if ((idle = able_modems()) == 0)
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

static void
record_failure(const char *id, struct modem *m, const char *err, int temporary)
{
	char attempts[16], retry[16], validity[16];

	snprintf(attempts, sizeof(attempts), "%d", env.conf.max_attempts);
	snprintf(retry, sizeof(retry), "%d", env.conf.retry_seconds);
	snprintf(validity, sizeof(validity), "%d", env.conf.validity);
	const char *params[] = { id, m->name, err, temporary ? "true" : "false",
	    attempts, retry, validity };
	outcome_add(SQL_FAILED, 7, params);
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
	const char *params[] = { id, m->name, parts, refs_text ? refs_text : "{}",
	    m->conf->report ? "true" : "false" };
	log_info("outbox %s: sent via %s in %s part(s)", id, m->name, parts);
	ratelimit_record(&m->rate, pigeon_now_ms());
	m->sms_sent++;
	m->fails_in_row = 0;
	outcome_add(SQL_SENT, 5, params);
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
	/* Parts that went out count against the modem's limits. */
	if (json_integer_value(json_object_get(msg, "parts_sent")) > 0)
		ratelimit_record(&m->rate, pigeon_now_ms());
	m->sms_failed++;
	record_failure(id, m, err ? err : "send failed", temporary);
	if (temporary)
		modem_send_failed(m, err ? err : "send failed");
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
	/* It may have gone out: count it against the modem's limits. */
	ratelimit_record(&m->rate, pigeon_now_ms());
	record_failure(id, m, reason, 1);
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
expired(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("outbox: expiring old messages: %s", store_error(res));
	else if (res != NULL && PQntuples(res) > 0 && atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("outbox: %s message(s) expired unsent", PQgetvalue(res, 0, 0));
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
	if (++ticks % RECLAIM_TICKS == 0) {
		char validity[16];
		snprintf(validity, sizeof(validity), "%d", env.conf.validity);
		const char *params[] = { validity };
		store_query(env.store, "SELECT pigeon_outbox_reclaim()", 0, NULL,
		    reclaimed, NULL);
		store_query(env.store, "SELECT pigeon_outbox_expire($1)", 1, params,
		    expired, NULL);
	}
	reports_kick();
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
