/*
 * janitor.c: named periodic jobs. A subsystem that needs a slow timer
 * (the scheduler's backstop claim, returning expired leases, joining
 * overdue SMS parts) registers a job here instead of riding on another
 * subsystem's tick. Each job has its own persistent timer.
 */
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "log.h"
#include "pigeond.h"

struct job {
	TAILQ_ENTRY(job) entry;
	const char	*name;
	void		(*fn)(void);
	struct event	*ev;
};
TAILQ_HEAD(job_list, job);

static struct job_list jobs = TAILQ_HEAD_INITIALIZER(jobs);

static void
janitor_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	log_debug("janitor: %s", j->name);
	j->fn();
}

int
janitor_add(const char *name, int period_ms, void (*fn)(void))
{
	struct timeval tv = { period_ms / 1000, (period_ms % 1000) * 1000 };
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	j->name = name;
	j->fn = fn;
	if ((j->ev = event_new(env.base, -1, EV_PERSIST, janitor_on_timer, j)) == NULL ||
	    event_add(j->ev, &tv) == -1) {
		if (j->ev)
			event_free(j->ev);
		free(j);
		return -1;
	}
	TAILQ_INSERT_TAIL(&jobs, j, entry);
	return 0;
}

void
janitor_free(void)
{
	struct job *j;

	while ((j = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, j, entry);
		event_free(j->ev);
		free(j);
	}
}
