/*
 * ratedb.c: a link's rate-limit counts from the database. The carrier
 * counts a SIM's SMS whether or not pigeond restarted, so when this host
 * takes a link's lock (at start, after a reconnect, or from another host)
 * it reads the parts the link sent in the last day (link_hour_counts,
 * kept by a trigger on each move into 'sent') and puts them back into the
 * link's sliding windows (ratelimit.c). The link takes no send meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

#define RATEDB_HOURS_MAX	32	/* rows of pigeon_link_rate_load: 25 hours */

static void
ratedb_loaded(PGresult *res, void *arg)
{
	char *name = arg;
	struct link *l = link_find(name);
	int64_t ago[RATEDB_HOURS_MAX], parts[RATEDB_HOURS_MAX];
	int n = 0;

	free(name);
	if (l == NULL)
		return;		/* removed from the configuration meanwhile */
	l->rate.loading = 0;
	if (res == NULL || !store_ok(res)) {
		/* Sends wait for the database anyway; the next hold reads again. */
		if (res != NULL)
			log_warnx("modem %s: reading its rate counts: %s", l->name,
			    store_error(res));
		return;
	}
	for (int i = 0; i < PQntuples(res) && n < RATEDB_HOURS_MAX; i++, n++) {
		ago[n] = atoll(PQgetvalue(res, i, 0));
		parts[n] = atoll(PQgetvalue(res, i, 1));
	}
	if (ratelimit_restore(&l->rate, pigeon_now_ms(), ago, parts, n))
		log_info("modem %s: rate limits resume from the database's counts",
		    l->name);
	scheduler_kick();
}

void
ratedb_load(struct link *l)
{
	const char *params[1] = { l->name };
	char *name;

	if (l->rate.cap == 0 || l->rate.loading)
		return;
	if ((name = strdup(l->name)) == NULL)
		return;
	if (store_query(env.store, "SELECT ago_ms, parts FROM pigeon_link_rate_load($1)",
	    1, params, ratedb_loaded, name) == -1) {
		free(name);
		return;
	}
	l->rate.loading = 1;
}
