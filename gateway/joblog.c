/* joblog.c: a periodic job's failures, logged without a flood (joblog.h). */
#include <stdio.h>
#include <string.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define JOBLOG_EVERY_MS	60000	/* the same error again: a line at most this often */
#define REFUSED_FOR_MS	60000	/* a refusal counts this long without another */

static struct joblog *failed_once;	/* jobs that failed at least once */

int
joblog_refusal(const PGresult *res)
{
	const char *st;

	if (res == NULL || store_ok(res) ||
	    (st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return 0;
	/* The database refusing every write for now: its disk full (53100),
	 * an I/O error (class 58), shutting down (57P0x), read-only (25006).
	 * Not the rest of store_error_transient's: the connection's (08: the
	 * database is down, not refusing), a statement's bad luck (40001,
	 * 40P01) or its own size (53200 out of memory, 53400 a limit): one
	 * heavy job would turn /healthz 503 for a minute. */
	return strcmp(st, "53100") == 0 || strncmp(st, "58", 2) == 0 ||
	    strncmp(st, "57P0", 4) == 0 || strcmp(st, "25006") == 0;
}

static void
joblog_recovered(struct joblog *j, int64_t now)
{
	if (j->since == 0)
		return;
	log_info("%s: works again, %.1f s after the first failure (%u in a row)",
	    j->what, (now - j->since) / 1000.0, j->failures);
	j->since = 0;
	j->failures = 0;
	j->unlogged = 0;
	j->code[0] = '\0';
}

int
joblog_result(struct joblog *j, const PGresult *res)
{
	int64_t now = pigeon_now_ms();
	const char *st;

	if (res == NULL)
		return -1;
	if (store_ok(res)) {
		j->refused = 0;
		joblog_recovered(j, now);
		return 0;
	}
	if (!j->listed) {
		j->next = failed_once;
		failed_once = j;
		j->listed = 1;
	}
	j->refused = joblog_refusal(res) ? now : 0;
	st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (st == NULL)
		st = "";
	if (j->since == 0)
		j->since = now;
	j->failures++;
	if (strcmp(j->code, st) != 0) {
		/* The first of a run, or another error than the last logged. */
		log_warnx("%s: %s", j->what, store_error(res));
		snprintf(j->code, sizeof(j->code), "%s", st);
		j->logged = now;
		j->unlogged = 0;
	} else if (now - j->logged >= JOBLOG_EVERY_MS) {
		log_warnx("%s: %s (%u time(s) more in %.0f s)", j->what,
		    store_error(res), j->unlogged, (now - j->logged) / 1000.0);
		j->logged = now;
		j->unlogged = 0;
	} else {
		j->unlogged++;
	}
	return -1;
}

int
joblog_refusing(void)
{
	int64_t now = pigeon_now_ms();

	for (struct joblog *j = failed_once; j != NULL; j = j->next)
		if (j->refused != 0 && now - j->refused < REFUSED_FOR_MS)
			return 1;
	return 0;
}
