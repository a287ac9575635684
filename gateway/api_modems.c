/*
 * api_modems.c: GET /api/modems, POST /api/modems/NAME/enable|disable|drain,
 * DELETE /api/modems/NAME (a removed link forgotten),
 * and GET /api/status (what the status page and `pigeonctl queue` show).
 * A modem is what this pigeond's supervisor knows (state, reason,
 * identification, last health poll) joined with its row in the database
 * (counters, last error); modems of other hosts come from the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

/*
 * The keys of a worker's health poll that say what the process is doing
 * now: not shown once it has stopped. Its counters and radio readings
 * stay, as of health_at: what the last worker counted and measured (the
 * database keeps the readings alike), which is what an operator looks at
 * when asking why it stopped.
 */
static int
health_live(const char *key)
{
	static const char *live[] = { "bound", "submits_unanswered", "queued",
	    "rate", "submits_per_second" };

	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strcmp(key, live[i]) == 0)
			return 1;
	return 0;
}

/* db_rows: {name: modems row} (may be NULL); returns a new array. */
json_t *
api_modems_merge(json_t *db_rows)
{
	json_t *list = json_array();
	struct link *m;
	const char *name;
	json_t *row;

	TAILQ_FOREACH(m, &env.links, entry) {
		json_t *o = json_object_get(db_rows, m->name);
		o = o ? json_deep_copy(o) : json_object();
		json_object_set_new(o, "name", json_string(m->name));
		json_object_set_new(o, "host", json_string(env.conf.hostname));
		json_object_set_new(o, "local", json_true());
		json_object_set_new(o, "state", json_string(link_state_name(m->state)));
		json_object_set_new(o, "state_reason", json_string(m->reason));
		/* Whether this host holds the modem's lock (hostlock.c). */
		json_object_set_new(o, "lock", json_string(link_lock_name(m)));
		json_object_set_new(o, "sending", m->inflight > 0 ?
		    json_integer(m->sends[0].id) : json_null());
		json_object_set_new(o, "in_flight", json_integer(m->inflight));
		/* A bind's SMPP window; pigeond hands it more (link.c). */
		json_object_set_new(o, "window", json_integer(m->kind == LINK_SMPP ?
		    m->conf->window : m->window));
		json_object_set_new(o, "unsettled", json_integer(m->inflight + m->recording));
		/* A bind whose SMSC said slow down (throttled, queue full): no
		 * new send until its pause is over, the other links take them. */
		int64_t paused = link_paused_ms(m);
		if (paused > 0) {
			json_object_set_new(o, "paused_ms", json_integer(paused));
			json_object_set_new(o, "paused_reason", json_string(m->paused_why));
		}
		if (m->info)
			json_object_set(o, "info", m->info);
		/* The supervisor's latest health poll beats the stored one. */
		if (m->health) {
			const char *k;
			json_t *v;
			json_object_foreach(m->health, k, v)
				if (strcmp(k, "type") != 0 &&
				    (m->pid > 0 || !health_live(k)))
					json_object_set(o, k, v);
		}
		/* Whether a bind is bound is known at once (its ready, its
		 * session lost, its exit), not at its next poll: a bind
		 * disabled showed "bound": true for ever. */
		if (m->kind == LINK_SMPP) {
			json_object_set_new(o, "bound", json_boolean(m->bound));
			/* Its receipts stored late, its sends first
			 * (receipts_yield, reports.c). */
			json_object_set_new(o, "receipts_yielded",
			    json_integer((json_int_t)m->receipts_yielded));
		}
		json_array_append_new(list, o);
	}
	/* The rows this supervisor does not drive: another host's, or one
	 * of this host's that SIGHUP removed (gone from env.links, its row
	 * still this host's); "local" says whose it is. */
	json_object_foreach(db_rows, name, row) {
		if (link_find(name) != NULL)
			continue;
		json_t *o = json_deep_copy(row);
		const char *host = json_string_value(json_object_get(row, "host"));
		json_object_set_new(o, "local", json_boolean(host != NULL &&
		    strcmp(host, env.conf.hostname) == 0));
		json_array_append_new(list, o);
	}
	return list;
}

static void
modems_listed(struct api_req *r, PGresult *res)
{
	json_t *rows = api_json_value(res);
	api_reply(r, 200, json_pack("{s:o}", "modems", api_modems_merge(rows)));
	json_decref(rows);
}

void
api_modems_list(struct api_req *r)
{
	api_query(r, "SELECT pigeon_api_modems()", 0, NULL, modems_listed);
}

void
api_modems_action(struct api_req *r)
{
	const char *action = strrchr(r->path, '/') + 1;
	struct link *m = link_find(r->arg);
	int rc;

	if (m == NULL) {
		api_error(r, 404, "no modem %s on this host", r->arg);
		return;
	}
	if (strcmp(action, "enable") == 0)
		rc = link_event(m, LEV_ENABLE, "");
	else if (strcmp(action, "disable") == 0)
		rc = link_event(m, LEV_DISABLE, "");
	else
		rc = link_event(m, LEV_DRAIN, "");
	if (rc == -1) {
		api_error(r, 409, "modem %s is being removed", r->arg);
		return;
	}
	log_info("http: modem %s: %s by the operator", m->name, action);
	/* "state" is the state now: a disabled link's process stops after
	 * its sends in flight (its state changes when it has exited), an
	 * enabled one connects first; "becomes" is the state it goes to. */
	api_reply(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", m->name,
	    "action", action, "state", link_state_name(m->state),
	    "becomes", link_state_name(m->want), "in_flight", m->inflight));
}

static void
forgotten(struct api_req *r, PGresult *res)
{
	json_t *j = api_json_value(res);
	const char *err = json_string_value(json_object_get(j, "error"));

	if (j == NULL) {
		api_error(r, 500, "internal error");
	} else if (err == NULL) {
		log_info("http: modem %s: forgotten by the operator; %lld message(s) "
		    "queued via it cancelled", r->arg,
		    (long long)json_integer_value(json_object_get(j, "cancelled")));
		metrics_free();	/* its rows were in the cached scrape */
		link_forgotten(r->arg);
		api_reply(r, 200, json_incref(j));
	} else if (strcmp(err, "no_link") == 0) {
		api_error(r, 404, "no modem %s", r->arg);
	} else if (strcmp(err, "in_flight") == 0) {
		api_error(r, 409, "modem %s still has %lld send(s) in flight; "
		    "try again when their leases end", r->arg,
		    (long long)json_integer_value(json_object_get(j, "sending")));
	} else if (json_is_false(json_object_get(j, "running"))) {
		/* Its host is switched off (or was killed): no reload there
		 * can remove it. The operator says it is gone for good. */
		const char *host = json_string_value(json_object_get(j, "host"));
		api_error(r, 409, "modem %s is in the configuration of host %s, "
		    "which is not running (no pigeond of that name is connected "
		    "to the database): if %s is gone for good, forget the link "
		    "with force (pigeonctl forget --force %s; ?force=1)", r->arg,
		    host, host, r->arg);
	} else {
		api_error(r, 409, "modem %s is in the configuration of host %s "
		    "(%s): remove its section there and reload first (a host "
		    "that lost its power or network counts as running until the "
		    "database server drops its session: docs/scaling.md)", r->arg,
		    json_string_value(json_object_get(j, "host")),
		    json_string_value(json_object_get(j, "state")));
	}
	json_decref(j);
}

/*
 * DELETE /api/modems/NAME: forget a link removed from every host's
 * configuration (its row, listed "removed from the configuration" for
 * ever, leaves /api/modems, /metrics and the status page; the messages
 * still queued via it are cancelled). ?force=1: also one whose hosts are
 * not running (a host switched off for good keeps it in a file nobody
 * reloads). 50_modems.sql, pigeon_link_forget.
 */
void
api_modems_forget(struct api_req *r)
{
	const char *force = api_param(r, "force");
	const char *params[] = { r->arg, "false" };

	if (force != NULL && (strcmp(force, "1") == 0 || strcmp(force, "true") == 0))
		params[1] = "true";
	else if (force != NULL && strcmp(force, "0") != 0 && strcmp(force, "false") != 0) {
		api_error(r, 400, "force is 1 (or true) or 0 (or false)");
		return;
	}
	if (link_find(r->arg) != NULL) {
		api_error(r, 409, "modem %s is in this host's configuration: remove "
		    "its section and reload first", r->arg);
		return;
	}
	api_query(r, "SELECT pigeon_link_forget($1, $2::boolean)", 2, params, forgotten);
}

static void
status_fetched(struct api_req *r, PGresult *res)
{
	json_t *st = api_json_value(res);

	if (st == NULL) {
		api_error(r, 500, "internal error");
		return;
	}
	json_object_set_new(st, "modems",
	    api_modems_merge(json_object_get(st, "modems")));
	json_object_set_new(st, "host", json_string(env.conf.hostname));
	json_object_set_new(st, "database", json_string("up"));
	json_object_set_new(st, "database_reconnects",
	    json_integer(store_reconnects(env.store)));
	api_reply(r, 200, st);
}

void
api_status(struct api_req *r)
{
	/* "reach": the status page's latest posts (65_reach.sql). */
	api_query(r, "SELECT pigeon_api_status() || jsonb_build_object('reach', "
	    "pigeon_reach_latest(NULL, 10))", 0, NULL, status_fetched);
}

/* POST /api/reload: what SIGHUP does (reload.c), for an operator without
 * a shell on the host: a refused file is a 400 saying why (it was a 200,
 * the reason in a log that operator cannot read). */
void
api_reload(struct api_req *r)
{
	char why[1024];

	if (reload_config(why, sizeof(why)) == -1) {
		api_error(r, 400, "%s; the running configuration is kept", why);
		return;
	}
	api_reply(r, 200, json_pack("{s:b, s:s}", "reloaded", 1, "config",
	    env.config_path ? env.config_path : ""));
}

static void
charts_fetched(struct api_req *r, PGresult *res)
{
	json_t *j = api_json_value(res);

	if (j == NULL) {
		api_error(r, 500, "internal error");
		return;
	}
	api_reply(r, 200, j);
}

/* GET /api/charts: the status page's charts (db/functions/66_status.sql). */
void
api_charts(struct api_req *r)
{
	api_query(r, "SELECT pigeon_api_charts()", 0, NULL, charts_fetched);
}

static void
sampled(PGresult *res, void *arg)
{
	static struct joblog sample_log = JOBLOG_INIT("status: sampling the queue");

	(void)joblog_result(&sample_log, res);
}

/* Janitor job: the queue and each link, once a minute, for the charts. */
void
api_status_sample(void)
{
	if (store_is_up(env.store))
		store_query(env.store, "SELECT pigeon_status_sample()", 0, NULL, sampled, NULL);
}
