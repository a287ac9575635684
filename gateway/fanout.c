/*
 * fanout.c: the rest of a post's fan-out. A post's own transaction makes
 * the copies of its first fanout_chunk followers and leaves the others to
 * the table fanouts (db/migrations/0021_fanout_chunks.sql); here pigeond
 * makes them a chunk a transaction (pigeon_fanout_step), one after the
 * other, until none is left. So the first copies can be claimed and sent
 * while the rest are still being made, and a restart resumes after the
 * last chunk committed.
 *
 * The chunks have a connection of their own: the main one claims and
 * records what the links send, and must not wait behind a chunk. A step
 * is asked when pigeon_post leaves a fan-out (NOTIFY pigeon_fanout), when
 * the database comes up, and every FANOUT_MS (another host's fan-out,
 * left when it stopped); one step is in flight at a time, and a step that
 * did some work asks for the next at once.
 */
#include <stdlib.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define FANOUT_MS	5000

static struct store *fo_store;
static int running;
static int again;	/* kicked while a step was in flight */
static struct joblog fanout_log = JOBLOG_INIT("fanout");

static void
fanout_done(PGresult *res, void *arg)
{
	running = 0;
	/* res NULL, the connection lost: rolled back, the next tick asks. */
	if (joblog_result(&fanout_log, res) == -1)
		return;
	if (PQntuples(res) != 1) {
		log_warnx("fanout: %d rows where one was expected", PQntuples(res));
		return;
	}
	if (*PQgetvalue(res, 0, 0) == 't' || again)
		fanout_kick();
}

/* The chunks' connection is up (again): what was asked meanwhile goes. */
static void
fanout_store_state(int up, void *arg)
{
	if (up)
		fanout_kick();
}

void
fanout_kick(void)
{
	again = running;
	if (running || env.draining || !store_is_up(env.store) || !env.settings_sent)
		return;
	/* Never on the main connection: fanout_store_state asks again once
	 * this one is up. */
	if (pigeond_store(&fo_store, "fanout", fanout_store_state) == env.store)
		return;
	if (store_query(fo_store, "SELECT pigeon_fanout_step()", 0, NULL,
	    fanout_done, NULL) == 0)
		running = 1;
}

int
fanout_init(void)
{
	return janitor_add("fanout: the rest of posts' fan-outs", FANOUT_MS,
	    fanout_kick);
}

void
fanout_free(void)
{
	store_free(fo_store);	/* completes its query with NULL */
	fo_store = NULL;
}
