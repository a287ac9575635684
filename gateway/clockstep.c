/*
 * clockstep.c: the database server's clock stepped back (issue 18).
 *
 * Every rule about time reads the server's now() (docs/reliability.md).
 * A step back of that clock left every message queued before it due that
 * much later: the queue stood still for the length of the step (an hour
 * for an hour). Every few seconds pigeon_clock_check (db/functions/
 * 39_clock.sql) compares now() with the latest it saw and, after a step
 * back, brings what was timed relative to the old clock back to the new
 * one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define CLOCKSTEP_MS	5000

static void
clockstep_checked(PGresult *res, void *arg)
{
	static struct joblog check_log = JOBLOG_INIT("clock: checking the database clock");

	if (joblog_result(&check_log, res) == -1)
		return;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		log_warnx("clock: the database server's clock stepped back; %s queued "
		    "message(s), webhook deliveries and waiting SMS parts brought back to it",
		    PQgetvalue(res, 0, 0));
}

static void
clockstep_check(void)
{
	char lease[16];
	const char *params[] = { lease };

	if (!store_is_up(env.store))
		return;
	snprintf(lease, sizeof(lease), "%d", env.conf.lease_seconds);
	store_query(env.store, "SELECT pigeon_clock_check($1)", 1, params,
	    clockstep_checked, NULL);
}

int
clockstep_init(void)
{
	return janitor_add("clock: the database clock stepped back?", CLOCKSTEP_MS,
	    clockstep_check);
}
