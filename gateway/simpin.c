/*
 * simpin.c: the SIM PIN, given to a worker only when its SIM asks
 * (issue 15). Three wrong PINs block a SIM until its PUK is entered, so a
 * PIN the SIM refused is never sent again, by this pigeond or another
 * one, until the configured PIN changes: the refusal is kept in the
 * modem's row (modems.pin_refused, a hash of the modem's name and the
 * PIN, which only tells whether the PIN changed) and in memory, for
 * while the database is away.
 *
 * The worker says `pin_needed` after connecting; pigeond answers `pin`
 * with the PIN, or with none and the reason, which the worker reports as
 * its connect error (the modem shows offline with it). A worker whose
 * PIN was refused says `pin_refused`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <jansson.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

/* Refusals this pigeond saw, by modem name. */
struct refusal {
	SLIST_ENTRY(refusal) entry;
	char		*name;
	char		 hash[20];
};
static SLIST_HEAD(, refusal) refusals = SLIST_HEAD_INITIALIZER(refusals);

/* A pending question: the worker that asked may be gone when it answers. */
struct ask {
	char		*name;
	unsigned	 generation;
};

/* FNV-1a over "name:pin": tells a changed PIN from the refused one. A
 * 4-digit PIN cannot be hidden by any hash; the config file holds it. */
static void
simpin_hash(const char *name, const char *pin, char out[20])
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[3] = { name, ":", pin };

	for (int i = 0; i < 3; i++)
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, 20, "%016llx", (unsigned long long)h);
}

static struct refusal *
simpin_refusal(const char *name)
{
	struct refusal *r;

	SLIST_FOREACH(r, &refusals, entry)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

static void
simpin_remember(const char *name, const char *hash)
{
	struct refusal *r = simpin_refusal(name);

	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL || (r->name = strdup(name)) == NULL) {
			free(r);
			return;
		}
		SLIST_INSERT_HEAD(&refusals, r, entry);
	}
	snprintf(r->hash, sizeof(r->hash), "%s", hash);
}

static void
simpin_reply(struct link *l, const char *pin, const char *why)
{
	json_t *m = json_pack("{s:s, s:o, s:s}", "type", "pin",
	    "pin", pin ? json_string(pin) : json_null(), "why", why ? why : "");
	char *line = m ? json_dumps(m, JSON_COMPACT) : NULL;

	json_decref(m);
	if (line == NULL || l->bev == NULL ||
	    bufferevent_write(l->bev, line, strlen(line)) == -1 ||
	    bufferevent_write(l->bev, "\n", 1) == -1)
		log_warnx("modem %s: cannot answer the worker's PIN question", l->name);
	if (line != NULL) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
}

/* Gives the PIN unless it is the one refused (db_hash, or remembered). */
static void
simpin_answer(struct link *l, const char *db_hash)
{
	char hash[20];
	struct refusal *r = simpin_refusal(l->name);

	if (*l->conf->pin == '\0') {
		simpin_reply(l, NULL, "the SIM asks for its PIN: set pin or pin_file in "
		    "[modem]");
		return;
	}
	simpin_hash(l->name, l->conf->pin, hash);
	if ((db_hash && strcmp(db_hash, hash) == 0) || (r && strcmp(r->hash, hash) == 0)) {
		simpin_reply(l, NULL, "the SIM refused the configured PIN; it is not "
		    "entered again (three wrong PINs block the SIM) until pin changes");
		return;
	}
	log_info("modem %s: entering the SIM PIN", l->name);
	simpin_reply(l, l->conf->pin, NULL);
}

static void
simpin_refused_read(PGresult *res, void *arg)
{
	struct ask *a = arg;
	struct link *l = link_find(a->name);

	if (l != NULL && l->generation == a->generation && l->bev != NULL) {
		if (res != NULL && store_ok(res) && PQntuples(res) == 1)
			simpin_answer(l, PQgetvalue(res, 0, 0));
		else
			simpin_reply(l, NULL, "the SIM asks for its PIN; the database, "
			    "which says whether that PIN was refused, cannot be read");
	}
	free(a->name);
	free(a);
}

static void
simpin_recorded(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("recording a refused SIM PIN: %s", store_error(res));
}

void
simpin_message(struct link *l, const char *type, json_t *msg)
{
	char hash[20];

	if (strcmp(type, "pin_refused") == 0) {
		if (*l->conf->pin == '\0')
			return;
		simpin_hash(l->name, l->conf->pin, hash);
		simpin_remember(l->name, hash);
		log_warnx("modem %s: the SIM refused its PIN; it will not be entered again "
		    "until pin changes in the configuration", l->name);
		const char *params[2] = { l->name, hash };
		store_durable(env.store, "SELECT pigeon_modem_pin_refuse($1, $2)", 2, params,
		    simpin_recorded, NULL);
		return;
	}
	/* pin_needed */
	struct ask *a = calloc(1, sizeof(*a));
	const char *params[1] = { l->name };
	if (a == NULL || (a->name = strdup(l->name)) == NULL) {
		free(a);
		simpin_reply(l, NULL, "out of memory");
		return;
	}
	a->generation = l->generation;
	if (*l->conf->pin == '\0' || store_query(env.store,
	    "SELECT pigeon_modem_pin_refused($1)", 1, params, simpin_refused_read, a) == -1) {
		/* No PIN to give, or no database: the memory decides. */
		free(a->name);
		free(a);
		if (*l->conf->pin != '\0' && simpin_refusal(l->name) == NULL) {
			simpin_reply(l, NULL, "the SIM asks for its PIN; the database, which "
			    "says whether that PIN was refused, is down");
			return;
		}
		simpin_answer(l, NULL);
	}
}

void
simpin_free(void)
{
	struct refusal *r;

	while ((r = SLIST_FIRST(&refusals)) != NULL) {
		SLIST_REMOVE_HEAD(&refusals, entry);
		free(r->name);
		free(r);
	}
}
