/*
 * outcomes.c: the scheduler's outcomes (sent, failed, released...) to
 * the database in batches, on a connection of their own.
 *
 * Outcomes are recorded in batches: those that arrive while a statement
 * is in flight go together in the next one (one commit for hundreds of
 * SMPP answers; a lone modem's outcome still goes at once).
 *
 * Outcomes have a connection of their own (the main one until it is up):
 * on the main one, the claims waited behind them and they behind the
 * claims, and a bind's window ran dry meanwhile. A claim and an outcome
 * never touch the same row at once: a row's outcome comes only after its
 * claim has committed. A batch lost with that connection is sent again
 * at once, in its place (the next waits for it), on the main connection
 * while that one is down; on the main one, a batch is a durable query
 * (store.h), kept until the database has it. Held on its own connection
 * instead, it waited for that one to come back, and every send behind
 * it with it, however long (test_rel_smpp test_outcomes_connection_lost);
 * meanwhile the main connection returned the rows at their lease's end
 * and sent them again. The statement is the same whichever connection
 * has it: a batch applied twice changes nothing the second time, since
 * each outcome names its claim ("claim", the claiming transaction's id),
 * and a row released or failed by the first and claimed again since is
 * another claim (test_smpp test_outcome_names_its_claim).
 *
 * A statement that fails for a reason of the database's own (its disk
 * full, a shutdown, a deadlock: store_error_transient) says nothing about
 * the outcomes: they are held, and the held ones go again, before the
 * next ones, every HOLD_MS until the database takes them. Dropped, an
 * outcome `sent` left its row `sending` until the lease ran out, and the
 * row went out again: 17 duplicates in a run whose data disk filled
 * during a fan-out (test_crash test_outcome_disk_full). Meanwhile this
 * host returns no expired leases (scheduler.c): the rows of its held
 * outcomes are among them. Only an error of the outcome's own statement
 * (a constraint its data breaks) drops it, logged, once it failed alone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "hold.h"
#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define BATCH_MAX	1000
static json_t *pending;		/* outcomes waiting for the next statement */
static int recording;		/* outcomes not yet answered, batch included */
static int flushing;		/* a batch statement in flight */
static struct event *ev_flush;
static struct store *out_store;
static int out_closing;		/* scheduler_free: lost batches stay lost */
static json_t *held;		/* refused by the database for now */
static void outcomes_again(void);
static struct hold out_hold = { outcomes_again, NULL, 0, 0 };

static const char SQL_OUTCOMES[] =
    "SELECT pigeon_outbox_outcomes($1::jsonb, $2, $3, $4)";

/* One statement of outcomes in flight. */
struct outcomes {
	json_t	*list;
	int	 batch;		/* the batch (else one outcome sent alone) */
	int	 own;		/* on out_store: lost with it, sent again */
};

static void outcomes_flush(void);
static int outcomes_send(json_t *list, int batch);

/*
 * A link's send slot frees when its outcome is committed, not when the
 * worker answers (link.c, `ahead`): outcomes a link gave and the
 * database does not have yet count against its window.
 */
static void
outcome_settled(json_t *o)
{
	const char *name = json_string_value(json_object_get(o, "link"));
	const char *what = json_string_value(json_object_get(o, "outcome"));
	struct link *l;

	if (name == NULL || what == NULL || strcmp(what, "released") == 0 ||
	    (l = link_find(name)) == NULL || l->recording == 0)
		return;
	l->recording--;
}

static void
outcomes_settled(json_t *list)
{
	size_t i;
	json_t *o;

	json_array_foreach(list, i, o)
		outcome_settled(o);
}

/*
 * The database refused list for a reason of its own: its outcomes wait
 * (still counted in recording and their links' windows) and go again
 * after HOLD_MS, with the held ones (hold.c).
 */
static void
outcomes_hold(json_t *list, const PGresult *res)
{
	char what[96];
	size_t n = json_array_size(list);

	if (held == NULL)
		held = json_array();
	if (held == NULL || json_array_extend(held, list) == -1) {
		/* Out of memory: the lease returns the rows. */
		log_warnx("outbox: out of memory holding %zu outcome(s); their "
		    "leases return them", n);
		outcomes_settled(list);
		recording -= (int)n;
		return;
	}
	snprintf(what, sizeof(what), "outbox: cannot record %zu outcome(s)",
	    json_array_size(held));
	hold_refused(&out_hold, res, what);
}

/* The held outcomes go first in the next statement. */
static void
outcomes_again(void)
{
	if (held == NULL || json_array_size(held) == 0)
		return;
	if (pending != NULL && json_array_extend(held, pending) == -1) {
		hold_later(&out_hold);	/* out of memory: later */
		return;
	}
	json_decref(pending);
	pending = held;
	held = NULL;
	outcomes_flush();
}

/* res is NULL when pigeond stops, or when out_store lost the batch. */
static void
outcomes_recorded(PGresult *res, void *arg)
{
	struct outcomes *st = arg;
	size_t n = json_array_size(st->list), i;
	json_t *o;

	if (res == NULL && st->own && !out_closing) {
		json_t *list = st->list;
		int batch = st->batch;

		free(st);
		log_warnx("outbox: the outcomes' connection was lost with %zu "
		    "outcome(s); sending them again", n);
		if (outcomes_send(list, batch) == 0)
			return;		/* still in flight: flushing stays */
		if (batch)
			flushing = 0;
		recording -= (int)n;	/* settled by outcomes_send */
		outcomes_flush();
		scheduler_kick();
		if (env.draining)
			pigeond_check_drained();
		return;
	}

	if (st->batch)
		flushing = 0;
	if (res != NULL && store_error_transient(res) && !out_closing) {
		outcomes_hold(st->list, res);
	} else if (res != NULL && !store_ok(res) && n > 1) {
		/* Rolled back as a whole for one outcome's own error: each
		 * again by itself, so that the one at fault fails alone. */
		log_warnx("outbox: recording %zu outcomes failed (%s); one at a time",
		    n, store_error(res));
		json_array_foreach(st->list, i, o) {
			json_t *one = json_array();
			if (one != NULL && json_array_append(one, o) == 0) {
				if (outcomes_send(one, 0) == -1)
					recording--;	/* settled there */
				continue;
			}
			/* Out of memory: the lease returns the row. */
			json_decref(one);
			outcome_settled(o);
			recording--;
		}
	} else {
		if (res != NULL && !store_ok(res))
			log_warnx("outbox %lld: cannot record the outcome: %s",
			    (long long)json_integer_value(json_object_get(
			    json_array_get(st->list, 0), "id")), store_error(res));
		if (res != NULL && store_ok(res) &&
		    (held == NULL || json_array_size(held) == 0))
			hold_over(&out_hold, "outbox: the held outcomes are recorded");
		outcomes_settled(st->list);
		recording -= (int)n;
	}
	json_decref(st->list);
	free(st);
	if (res == NULL)
		return;
	outcomes_flush();
	scheduler_kick();
	if (env.draining)
		pigeond_check_drained();
}

/* One statement for list (its reference is taken); -1 when it cannot. */
static int
outcomes_send(json_t *list, int batch)
{
	char attempts[16], retry[16], validity[16], *js;
	struct outcomes *st = calloc(1, sizeof(*st));
	int rc = -1;

	js = st != NULL ? json_dumps(list, JSON_COMPACT) : NULL;
	snprintf(attempts, sizeof(attempts), "%d", env.conf.max_attempts);
	snprintf(retry, sizeof(retry), "%d", env.conf.retry_seconds);
	snprintf(validity, sizeof(validity), "%d", env.conf.validity);
	const char *params[] = { js, attempts, retry, validity };
	if (js != NULL) {
		struct store *s = pigeond_store(&out_store, "outcomes", NULL);

		st->list = list;
		st->batch = batch;
		st->own = s == out_store;
		rc = st->own ?
		    store_query(s, SQL_OUTCOMES, 4, params, outcomes_recorded, st) :
		    store_durable(s, SQL_OUTCOMES, 4, params, outcomes_recorded, st);
	}
	free(js);
	if (rc == -1) {
		log_warnx("outbox: out of memory recording %zu outcome(s); their "
		    "leases return them", json_array_size(list));
		outcomes_settled(list);
		json_decref(list);
		free(st);
	}
	return rc;
}

static void
outcomes_flush(void)
{
	json_t *list;
	size_t n;

	if (flushing || pending == NULL || json_array_size(pending) == 0)
		return;
	/* While some are held, the next ones go with them, after the
	 * pause: a database short of space is not asked at every send. */
	if (held != NULL && json_array_size(held) > 0)
		return;
	list = pending;
	pending = NULL;
	n = json_array_size(list);
	if (outcomes_send(list, 1) == 0)
		flushing = 1;
	else
		recording -= (int)n;
}

static void
outcomes_on_flush(evutil_socket_t fd, short what, void *arg)
{
	outcomes_flush();
}

void
outcomes_push(json_t *o, struct link *l)
{
	if (o == NULL)
		return;
	if (pending == NULL && (pending = json_array()) == NULL) {
		json_decref(o);
		return;
	}
	if (json_array_append_new(pending, o) == -1)
		return;
	if (l != NULL)
		l->recording++;
	recording++;
	if (json_array_size(pending) >= BATCH_MAX)
		outcomes_flush();
	/* On the next loop turn: what the same read brought goes together. */
	if (ev_flush == NULL)
		ev_flush = evtimer_new(env.base, outcomes_on_flush, NULL);
	if (ev_flush != NULL)
		event_active(ev_flush, EV_TIMEOUT, 0);
}

/* The connection now, with pigeond's others, not at the first outcome:
 * opened that late, it took a descriptor in the middle of the run
 * (test_hostile_http's EMFILE case counts them before). */
void
outcomes_connect(void)
{
	(void)pigeond_store(&out_store, "outcomes", NULL);
}

/* Outcomes given that the database does not have yet. */
int
outcomes_busy(void)
{
	return recording > 0;
}

/* 1 from the database's first refusal until the held ones are recorded. */
int
outcomes_refused(void)
{
	return hold_active(&out_hold);
}

int
db_writes_refused(void)
{
	return outcomes_refused() || inbound_refused() || reports_refused() ||
	    joblog_refusing();
}

void
outcomes_free(void)
{
	out_closing = 1;
	store_free(out_store);	/* completes its queries with NULL */
	out_store = NULL;
	json_decref(pending);
	pending = NULL;
	json_decref(held);
	held = NULL;
	hold_free(&out_hold);
	if (ev_flush != NULL) {
		event_free(ev_flush);
		ev_flush = NULL;
	}
}
