/*
 * joblog.c: the log of a periodic job's statement (a janitor job, the
 * scheduler's claim) while it keeps failing. A database that refuses
 * every write (its data disk full, turned read-only) fails each job at
 * its pace, some every second: logged each time, that was about 80
 * warnings in 30 s for as long as it lasted. Now a job says its error
 * once, then at most once a minute how often it came again, and once
 * when the statement goes through again, as the held writes do
 * (hold.c). A job whose statement the database refuses for a reason of
 * its own also makes /healthz and /metrics say "refusing writes"
 * (db_writes_refused), until it goes through or a minute passes
 * without another refusal (a claim no link asks for any more).
 */
#ifndef PIGEON_JOBLOG_H
#define PIGEON_JOBLOG_H

#include <stdint.h>

#include <libpq-fe.h>

struct joblog {
	const char	*what;		/* "outbox: claim failed" */
	struct joblog	*next;		/* on the list of jobs that failed once */
	int		 listed;
	int64_t		 since;		/* ms: the first failure in a row; 0: none */
	int64_t		 logged;	/* ms: the last line */
	int64_t		 refused;	/* ms: the last refusal (joblog_refusal) */
	unsigned	 failures;	/* in a row */
	unsigned	 unlogged;	/* of them, not logged yet */
	char		 code[6];	/* the last SQLSTATE logged */
};

#define JOBLOG_INIT(what)	{ (what), NULL, 0, 0, 0, 0, 0, 0, "" }

/*
 * The job's statement answered res: 0 when it succeeded (after failures,
 * one line says so), -1 when it failed (the first failure of a kind is
 * logged at once, the same one again at most once a minute with a count)
 * or when res is NULL (the connection lost: the store says so; nothing
 * logged, nothing changed).
 */
int	 joblog_result(struct joblog *, const PGresult *res);
/* 1 while a job's statement is refused for a reason of the database's
 * own: db_writes_refused. */
int	 joblog_refusing(void);
/* 1 when res says the database refuses writes for now (its disk full,
 * an I/O error, shutting down, read-only). */
int	 joblog_refusal(const PGresult *res);

#endif
