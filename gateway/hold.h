/*
 * hold.c: writes the database refuses for a reason of its own (its data
 * disk full, a shutdown: store_error_transient) are held by their owner
 * (outcomes.c, inbound.c, reports.c) and tried again every HOLD_MS. This
 * is what the three share: the timer that calls the owner back, and the
 * log, one line when it begins, one a minute while it lasts, one when it
 * is over. /healthz and /metrics read hold_active (db_writes_refused).
 */
#ifndef PIGEON_HOLD_H
#define PIGEON_HOLD_H

#include <stdint.h>

#include <libpq-fe.h>

#define HOLD_MS		1000	/* held writes go again after this */

struct event;

struct hold {
	void		(*again)(void);	/* the owner writes what it holds */
	struct event	*ev;
	int64_t		 since;		/* ms: the first refusal; 0: none held */
	int64_t		 logged;	/* ms: the last line */
};

/* res refused `what` ("inbox: cannot store 3 SMS parts, left on the
 * modems"): logged (at most once a minute) and h->again called after
 * HOLD_MS, unless it already is to be. */
void	 hold_refused(struct hold *, const PGresult *res, const char *what);
/* A write went through and nothing is held any more: "what, N s after
 * the first refusal" when something was. */
void	 hold_over(struct hold *, const char *what);
/* h->again after HOLD_MS once more (it could not take them all). */
void	 hold_later(struct hold *);
int	 hold_active(const struct hold *);	/* from a refusal to hold_over */
int	 hold_waiting(const struct hold *);	/* h->again not called yet */
void	 hold_free(struct hold *);

#endif
