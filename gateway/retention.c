/*
 * retention.c: the periodic purge of old rows ([retention], issue 15) and
 * the folding of the /metrics counters. A run walks the kinds one after
 * the other; each statement purges at most `batch` rows in id order and
 * is its own transaction (db/functions/70_retention.sql), and the next
 * one is sent only when the last answered, so the purge never holds a
 * lock for long nor keeps other queries from the connection.
 */
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

/* The metric deltas are folded this often: a scrape sums what is left. */
#define FOLD_MS	5000

struct kind {
	const char	*name;
	size_t		 days;		/* offset in struct retention_conf */
};

/*
 * Replies go before the SMS they answer: an inbox message is kept while
 * an outbox row names it (reply_to).
 */
static const struct kind kinds[] = {
	{ "outbox",		offsetof(struct retention_conf, outbox_days) },
	{ "inbox",		offsetof(struct retention_conf, inbox_days) },
	{ "inbox_parts",	offsetof(struct retention_conf, inbox_days) },
	{ "status_reports",	offsetof(struct retention_conf, status_reports_days) },
	{ "webhooks",		offsetof(struct retention_conf, webhooks_days) },
	{ "follow_events",	offsetof(struct retention_conf, follow_events_days) },
	{ "modem_history",	offsetof(struct retention_conf, modem_history_days) },
	{ "scheduled_posts",	offsetof(struct retention_conf, outbox_days) },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

static struct {
	int		 running;	/* a run is under way: the timer skips */
	size_t		 kind;		/* the kind being purged */
	long long	 purged;	/* rows of this kind in this run */
	int		 folding;
} run;

static void retention_step(void);

/*
 * The days a kind's rows are kept; 0 skips it. An inbox message is kept
 * at least as long as the replies to it (the outbox), so that its purge
 * does not wait on rows that are themselves kept.
 */
static int
retention_days(const struct kind *k)
{
	const struct retention_conf *r = &env.conf.retention;
	int days = *(const int *)((const char *)r + k->days);

	if (days > 0 && strcmp(k->name, "inbox") == 0)
		days = r->outbox_days == 0 ? 0 : (days > r->outbox_days ? days : r->outbox_days);
	return days;
}

static void
retention_next_kind(void)
{
	if (run.purged > 0)
		log_info("retention: purged %lld %s row(s)", run.purged, kinds[run.kind].name);
	run.purged = 0;
	run.kind++;
	retention_step();
}

static void
retention_purged(PGresult *res, void *arg)
{
	if (res == NULL) {		/* connection lost: the next run goes on */
		run.running = 0;
		return;
	}
	if (!store_ok(res) || PQntuples(res) != 1) {
		log_warnx("retention: purging %s: %s", kinds[run.kind].name, store_error(res));
		retention_next_kind();
		return;
	}
	run.purged += atoll(PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0 && !env.draining) {
		retention_step();	/* the same kind: its next batch */
		return;
	}
	retention_next_kind();
}

static void
retention_misc_done(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("retention: old rate-limit counts: %s", store_error(res));
	run.running = 0;
}

static void
retention_step(void)
{
	char days[16], batch[16];
	const char *params[3] = { NULL, days, batch };

	while (run.kind < NKINDS && retention_days(&kinds[run.kind]) == 0)
		run.kind++;
	if (env.draining) {
		run.running = 0;
		return;
	}
	if (run.kind >= NKINDS) {
		if (store_query(env.store, "SELECT pigeon_retention_misc()", 0, NULL,
		    retention_misc_done, NULL) == -1)
			run.running = 0;
		return;
	}
	params[0] = kinds[run.kind].name;
	snprintf(days, sizeof(days), "%d", retention_days(&kinds[run.kind]));
	snprintf(batch, sizeof(batch), "%d", env.conf.retention.batch);
	if (store_query(env.store, "SELECT purged, more FROM pigeon_retention_purge($1, $2, $3)",
	    3, params, retention_purged, NULL) == -1)
		run.running = 0;
}

static void
retention_tick(void)
{
	if (run.running || env.draining || !store_is_up(env.store))
		return;
	run.running = 1;
	run.kind = 0;
	run.purged = 0;
	retention_step();
}

static void
retention_folded(PGresult *res, void *arg)
{
	static struct joblog fold_log = JOBLOG_INIT("metrics: folding the counters");

	(void)joblog_result(&fold_log, res);
	run.folding = 0;
}

static void
retention_fold(void)
{
	if (run.folding || env.draining || !store_is_up(env.store))
		return;
	if (store_query(env.store, "SELECT pigeon_metric_fold()", 0, NULL,
	    retention_folded, NULL) == 0)
		run.folding = 1;
}

int
retention_init(void)
{
	if (janitor_add("retention: purge old rows",
	    env.conf.retention.interval_seconds * 1000, retention_tick) == -1 ||
	    janitor_add("metrics: fold the counters", FOLD_MS, retention_fold) == -1)
		return -1;
	return 0;
}
