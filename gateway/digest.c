/*
 * digest.c: the daily digests of tracked words (TRACK word DIGEST,
 * db/functions/37_digest.sql). A janitor job asks the database to send
 * the digests that are due; pigeon_digest_run does it all in one
 * transaction a call, and its key (member, day) lets a digest go at most
 * once a day, whatever the hosts and restarts. One call in flight; a full
 * batch asks again at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define DIGEST_MS	10000	/* a digest leaves within this of its hour */
/* Members a transaction: their rows stay locked until it commits, and a
 * post to one of them who also tracks words post by post waits on it
 * (about 20-30 ms a member with 3,000 matching posts). */
#define DIGEST_BATCH	50

static int running;
static struct joblog digest_log = JOBLOG_INIT("digest");

static void digest_run(void);

static void
digest_ran(PGresult *res, void *arg)
{
	long processed, sent;

	running = 0;
	/* res NULL, the connection lost: the next tick asks again. */
	if (joblog_result(&digest_log, res) == -1)
		return;
	if (PQntuples(res) != 1) {
		log_warnx("digest: %d rows where one was expected", PQntuples(res));
		return;
	}
	processed = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	sent = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	if (processed > 0)
		log_info("digest: %ld member(s) due, %ld digest(s) sent",
		    processed, sent);
	if (processed >= DIGEST_BATCH)
		digest_run();
}

static void
digest_run(void)
{
	char batch[16];
	const char *params[] = { batch };

	snprintf(batch, sizeof(batch), "%d", DIGEST_BATCH);
	if (running || env.draining || !store_is_up(env.store))
		return;
	if (store_query(env.store,
	    "SELECT processed, sent FROM pigeon_digest_run($1::integer)", 1,
	    params, digest_ran, NULL) == 0)
		running = 1;
}

int
digest_init(void)
{
	return janitor_add("digest: daily digests of tracked words", DIGEST_MS,
	    digest_run);
}
