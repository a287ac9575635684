/* hold.c: writes refused for now, tried again (hold.h). */
#include <stdio.h>
#include <sys/time.h>

#include <event2/event.h>

#include "hold.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define HOLD_LOG_MS	60000	/* "still held", at most this often */

static void
hold_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hold *h = arg;

	h->again();
}

void
hold_later(struct hold *h)
{
	struct timeval tv = { HOLD_MS / 1000, (HOLD_MS % 1000) * 1000 };

	if (h->ev == NULL && (h->ev = evtimer_new(env.base, hold_on_timer, h)) == NULL)
		log_warnx("database: out of memory for a timer; held writes are "
		    "tried again with the next write");
	else if (h->ev != NULL && !evtimer_pending(h->ev, NULL))
		evtimer_add(h->ev, &tv);
}

void
hold_refused(struct hold *h, const PGresult *res, const char *what)
{
	int64_t now = pigeon_now_ms();

	if (h->since == 0 || now - h->logged >= HOLD_LOG_MS) {
		log_warnx("%s now (%s); %s, tried again every %d ms", what,
		    store_error(res), h->since == 0 ? "held" : "still held", HOLD_MS);
		h->logged = now;
	}
	if (h->since == 0)
		h->since = now;
	hold_later(h);
}

void
hold_over(struct hold *h, const char *what)
{
	if (h->since == 0)
		return;
	log_info("%s, %.1f s after the first refusal", what,
	    (pigeon_now_ms() - h->since) / 1000.0);
	h->since = 0;
}

int
hold_active(const struct hold *h)
{
	return h->since != 0;
}

int
hold_waiting(const struct hold *h)
{
	return h->ev != NULL && evtimer_pending(h->ev, NULL);
}

void
hold_free(struct hold *h)
{
	if (h->ev != NULL)
		event_free(h->ev);
	h->ev = NULL;
	h->since = 0;
}
