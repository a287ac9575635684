/*
 * metrics.c: GET /metrics in the Prometheus text format (version 0.0.4).
 * What this pigeond knows (database connection, modem states and health)
 * comes from memory; counts come from one database function per scrape.
 * While the database is down the scrape still answers, with
 * pigeon_database_up 0 and the in-memory metrics only, so that an alert
 * can fire on it. While it is up but slow (a lock, a long checkpoint) or
 * its query fails, the scrape answers within METRICS_WAIT_S with the
 * in-memory metrics and the last figures it read, if any: it answered a
 * 503 JSON after 10 s, past Prometheus's default scrape timeout, and
 * pigeon_database_up and pigeon_modem_up were lost with the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

/* pigeon_metrics() reads counters kept by triggers (70_retention.sql),
 * not whole tables; still, a result serves scrapes for a while. */
#define METRICS_CACHE_S	10
/* A scrape waits this long for the database, well under Prometheus's
 * default scrape_timeout (10 s). */
#define METRICS_WAIT_S	4
#define SLOW_LOG_MS	60000	/* "answered without the database", at most this often */

static json_t *cached;
static time_t cached_at;	/* CLOCK_MONOTONIC seconds */

static const char *in_states[] = { "new", "done", "ignored", "error", NULL };
static const char *out_states[] = { "queued", "sending", "sent", "failed", "expired",
    "delivered", "undelivered", "cancelled", NULL };
static const char *modem_states[] = { "starting", "online", "offline", "disabled",
    "draining", "elsewhere", NULL };
static const char *class_names[] = { "reply", "operator", "fanout" };

/* The cache's age reads the monotonic clock: with time() a wall clock
 * stepped back an hour kept the first answer for that hour. */
static time_t
metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
str_is(json_t *v, const char *s)
{
	const char *x = json_string_value(v);
	return x && strcmp(x, s) == 0;
}

static double
num(json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : 0;
}

static void
by_state(struct evbuffer *b, const char *name, const char *help, const char **states,
    json_t *counts)
{
	head(b, name, "gauge", help);
	for (int i = 0; states[i]; i++)
		evbuffer_add_printf(b, "%s{state=\"%s\"} %.0f\n", name, states[i],
		    num(json_object_get(counts, states[i])));
}

/* A per-modem metric from its database row, when the row has the key. */
static void
modem_metric(struct evbuffer *b, json_t *modems, const char *name, const char *type,
    const char *help, const char *key)
{
	const char *mname;
	json_t *row, *v;
	int first = 1;

	json_object_foreach(modems, mname, row) {
		if (!json_is_number(v = json_object_get(row, key)))
			continue;
		if (first)
			head(b, name, type, help);
		first = 0;
		evbuffer_add_printf(b, "%s{modem=\"%s\"} %.0f\n", name, mname,
		    json_number_value(v));
	}
}

/*
 * Each link's series from its /api/modems row (api_modems_merge): its
 * radio, its counters, its window in use, and a bind's figures from its
 * worker's last health poll (its counters count from the worker's start).
 */
static const struct {
	const char *name, *type, *help, *key;
} per_link[] = {
	{ "pigeon_modem_signal_percent", "gauge",
	  "Signal strength at the last health poll.", "signal_percent" },
	{ "pigeon_modem_signal_dbm", "gauge",
	  "Signal strength in dBm at the last health poll.", "signal_dbm" },
	{ "pigeon_modem_sms_sent_total", "counter",
	  "SMS sent through the modem.", "sms_sent" },
	{ "pigeon_modem_sms_failed_total", "counter",
	  "Sends that failed on the modem.", "sms_failed" },
	{ "pigeon_modem_sms_received_total", "counter",
	  "SMS parts read from the modem.", "sms_in" },
	{ "pigeon_modem_sms_corrupt_total", "counter",
	  "SMS the modem stored that libgammu could not decode (kept, deleted).",
	  "sms_corrupt" },
	{ "pigeon_modem_sms_damaged_total", "counter",
	  "SMS stored without a field the database cannot hold (time zone).",
	  "sms_damaged" },
	{ "pigeon_link_window", "gauge",
	  "Sends the link may have at once (a bind: its SMPP window).", "window" },
	{ "pigeon_link_in_flight", "gauge",
	  "Sends the link's worker has now.", "in_flight" },
	{ "pigeon_bind_submits_unanswered", "gauge",
	  "submit_sm the SMSC had not answered, at the last health poll.",
	  "submits_unanswered" },
	{ "pigeon_bind_submits_per_second", "gauge",
	  "submit_sm a second between the last two health polls.",
	  "submits_per_second" },
	{ "pigeon_bind_submitted_total", "counter",
	  "submit_sm sent by the bind's worker.", "submitted" },
	{ "pigeon_bind_throttled_total", "counter",
	  "submit_sm the SMSC answered throttled or queue full.", "throttled" },
	{ "pigeon_bind_timeouts_total", "counter",
	  "submit_sm left unanswered past response_timeout.", "timeouts" },
	{ "pigeon_bind_reconnects_total", "counter",
	  "Sessions of the bind that ended (lost, refused, not connected), each "
	  "tried again.", "reconnects" },
	{ "pigeon_bind_receipts_yielded_total", "counter",
	  "Receipts stored late, the bind's sends filling its window first "
	  "(receipts_yield).", "receipts_yielded" },
};

/*
 * Issue 14: what was dropped or stopped on purpose (the counters table:
 * rate_limited, reply_capped, held_expired, recipient_capped,
 * loop_stopped), and
 * each link's parts of today against link_budget_day, with an alert gauge
 * at 80% of it.
 */
static void
caps(struct evbuffer *b, json_t *c)
{
	const char *k;
	json_t *v;
	double budget = num(json_object_get(c, "budget"));

	head(b, "pigeon_dropped_total", "counter",
	    "SMS and messages dropped or stopped on purpose, by reason.");
	json_object_foreach(json_object_get(c, "counters"), k, v)
		evbuffer_add_printf(b, "pigeon_dropped_total{reason=\"%s\"} %.0f\n", k,
		    num(v));
	head(b, "pigeon_link_throttled_total", "counter",
	    "Sends an SMSC asked to slow down for (throttled, queue full): "
	    "retried, not failures.");
	evbuffer_add_printf(b, "pigeon_link_throttled_total %.0f\n",
	    num(json_object_get(c, "throttled")));
	head(b, "pigeon_maybe_duplicated_total", "counter",
	    "Sends whose answer never came, tried again: each may have "
	    "reached its phone twice.");
	evbuffer_add_printf(b, "pigeon_maybe_duplicated_total %.0f\n",
	    num(json_object_get(c, "maybe_duplicated")));
	head(b, "pigeon_link_parts_today", "gauge",
	    "SMS parts sent today (service time zone) by each link.");
	json_object_foreach(json_object_get(c, "links"), k, v)
		evbuffer_add_printf(b, "pigeon_link_parts_today{modem=\"%s\"} %.0f\n", k,
		    num(v));
	if (budget <= 0)
		return;
	head(b, "pigeon_link_budget_day", "gauge",
	    "Parts a link may send a day (link_budget_day).");
	evbuffer_add_printf(b, "pigeon_link_budget_day %.0f\n", budget);
	head(b, "pigeon_link_budget_alerts_total", "counter",
	    "Times a link crossed 80% of its daily budget.");
	evbuffer_add_printf(b, "pigeon_link_budget_alerts_total %.0f\n",
	    num(json_object_get(c, "alerts")));
	head(b, "pigeon_link_budget_alert", "gauge",
	    "1 when a link has spent 80% of its daily budget.");
	json_object_foreach(json_object_get(c, "links"), k, v)
		evbuffer_add_printf(b, "pigeon_link_budget_alert{modem=\"%s\"} %d\n", k,
		    num(v) >= budget * 0.8);
}

static void
series_restarts(struct evbuffer *b, const struct link *m)
{
	evbuffer_add_printf(b, "pigeon_modem_restarts_total{modem=\"%s\"} %u\n",
	    m->name, m->restarts);
}

static void
series_up(struct evbuffer *b, const struct link *m)
{
	evbuffer_add_printf(b, "pigeon_modem_up{modem=\"%s\"} %d\n", m->name,
	    m->state == LINK_ONLINE && m->lock == LOCK_HELD);
}

static void
series_paused(struct evbuffer *b, const struct link *m)
{
	evbuffer_add_printf(b, "pigeon_link_paused{modem=\"%s\"} %d\n", m->name,
	    link_paused_ms(m) > 0);
}

static void
series_state(struct evbuffer *b, const struct link *m)
{
	for (int s = 0; modem_states[s]; s++)
		evbuffer_add_printf(b, "pigeon_modem_state{modem=\"%s\",state=\"%s\"} %d\n",
		    m->name, modem_states[s],
		    strcmp(link_state_name(m->state), modem_states[s]) == 0);
}

/*
 * One series for each of this host's links: those it drives, then those
 * SIGHUP removed (disabled, not up) until dropped: forgotten (here, or
 * on another host), or another host's now (link.c's janitor job).
 */
static void
link_series(struct evbuffer *b, void (*one)(struct evbuffer *, const struct link *))
{
	const struct link *m;

	TAILQ_FOREACH(m, &env.links, entry)
		one(b, m);
	TAILQ_FOREACH(m, link_set_aside_list(), entry)
		if (!m->dropped)
			one(b, m);
}

/* db: the database's figures (NULL: none); up: the connection is up. */
static void
render(struct api_req *r, json_t *db, int up)
{
	struct evbuffer *b = evbuffer_new();
	json_t *modems = NULL;
	size_t i;

	if (b == NULL) {
		api_error(r, 500, "out of memory");
		return;
	}
	head(b, "pigeon_build_info", "gauge", "Always 1; the version label is this pigeond's.");
	evbuffer_add_printf(b, "pigeon_build_info{version=\"%s\"} 1\n", PIGEON_VERSION);
	head(b, "pigeon_database_up", "gauge", "1 when pigeond's database connection is up.");
	evbuffer_add_printf(b, "pigeon_database_up %d\n", up);
	if (db != NULL) {
		head(b, "pigeon_metrics_database_age_seconds", "gauge",
		    "How old the database's figures in this scrape are (read at most "
		    "every 10 s; older while the database is slow to answer).");
		evbuffer_add_printf(b, "pigeon_metrics_database_age_seconds %lld\n",
		    (long long)(metrics_now() - cached_at));
	}
	head(b, "pigeon_database_writes_refused", "gauge",
	    "1 while the database refuses pigeond's writes for a reason of its own "
	    "(its disk full, a shutdown): SMS, outcomes and reports are held.");
	evbuffer_add_printf(b, "pigeon_database_writes_refused %d\n",
	    db_writes_refused());
	head(b, "pigeon_database_reconnects_total", "counter",
	    "Database connections made after the first.");
	evbuffer_add_printf(b, "pigeon_database_reconnects_total %u\n",
	    store_reconnects(env.store));
	head(b, "pigeon_scheduler_caught_up_total", "counter",
	    "Times the scheduler found nothing more it could send now (a claim short "
	    "of the free slots, or no link able to send and none sending).");
	evbuffer_add_printf(b, "pigeon_scheduler_caught_up_total %lu\n",
	    scheduler_caught_up());

	/* Modems of this host as the supervisor sees them, joined with their rows. */
	if (db)
		modems = api_modems_merge(json_object_get(db, "modems"));
	head(b, "pigeon_modem_restarts_total", "counter",
	    "Worker processes started for the modem after the first.");
	link_series(b, series_restarts);
	head(b, "pigeon_modem_up", "gauge", "1 when the modem is online and takes sends.");
	link_series(b, series_up);
	head(b, "pigeon_modem_state", "gauge", "The modem's state (1 for the current one).");
	link_series(b, series_state);
	head(b, "pigeon_link_paused", "gauge", "1 while a bind's SMSC has its "
	    "submits paused (throttled, queue full): it takes no new send.");
	link_series(b, series_paused);
	if (modems) {
		json_t *local = json_object(), *o;
		json_array_foreach(modems, i, o)
			if (json_is_true(json_object_get(o, "local")))
				json_object_set(local, json_string_value(json_object_get(o, "name")), o);
		for (size_t k = 0; k < sizeof(per_link) / sizeof(per_link[0]); k++)
			modem_metric(b, local, per_link[k].name, per_link[k].type,
			    per_link[k].help, per_link[k].key);
		json_decref(local);
		json_decref(modems);
	}
	if (db == NULL)
		goto done;

	by_state(b, "pigeon_sms_in", "Incoming messages by processing state.",
	    in_states, json_object_get(db, "in"));
	by_state(b, "pigeon_sms_out", "Outgoing messages by state.",
	    out_states, json_object_get(db, "out"));

	head(b, "pigeon_queue_depth", "gauge",
	    "Outgoing messages waiting (queued) or in flight (sending), by class.");
	for (int s = 0; s < 2; s++)
		for (int c = 0; c < 3; c++) {
			double n = 0;
			json_t *q;
			json_array_foreach(json_object_get(db, "queue"), i, q)
				if (str_is(json_object_get(q, "state"),
				    s ? "sending" : "queued") &&
				    json_integer_value(json_object_get(q, "class")) == c)
					n = num(json_object_get(q, "count"));
			evbuffer_add_printf(b, "pigeon_queue_depth{state=\"%s\",class=\"%s\"} %.0f\n",
			    s ? "sending" : "queued", class_names[c], n);
		}

	head(b, "pigeon_queue_oldest_seconds", "gauge",
	    "Age of the oldest message due and still queued, by class (0: none).");
	for (int c = 0; c < 3; c++) {
		char k[16];
		snprintf(k, sizeof(k), "%d", c);
		evbuffer_add_printf(b, "pigeon_queue_oldest_seconds{class=\"%s\"} %.1f\n",
		    class_names[c], num(json_object_get(json_object_get(db, "oldest"), k)));
	}
	json_t *hw = json_object_get(db, "hooks_waiting");
	head(b, "pigeon_callback_queue_depth", "gauge",
	    "Deliveries waiting or in flight: webhooks, and dlr_url callbacks.");
	evbuffer_add_printf(b, "pigeon_callback_queue_depth{kind=\"webhook\"} %.0f\n"
	    "pigeon_callback_queue_depth{kind=\"dlr\"} %.0f\n",
	    num(json_object_get(hw, "webhook")), num(json_object_get(hw, "dlr")));

	json_t *lat = json_object_get(db, "latency"), *bucket;
	head(b, "pigeon_delivery_report_latency_seconds", "histogram",
	    "Time from sending an SMS to its delivery report.");
	json_array_foreach(json_object_get(lat, "buckets"), i, bucket)
		evbuffer_add_printf(b,
		    "pigeon_delivery_report_latency_seconds_bucket{le=\"%g\"} %.0f\n",
		    num(json_array_get(bucket, 0)), num(json_array_get(bucket, 1)));
	evbuffer_add_printf(b, "pigeon_delivery_report_latency_seconds_bucket{le=\"+Inf\"} %.0f\n"
	    "pigeon_delivery_report_latency_seconds_sum %.3f\n"
	    "pigeon_delivery_report_latency_seconds_count %.0f\n",
	    num(json_object_get(lat, "count")), num(json_object_get(lat, "sum")),
	    num(json_object_get(lat, "count")));

	static const char *wh_states[] = { "pending", "sending", "done", "failed", "cancelled",
	    NULL };
	by_state(b, "pigeon_webhook_deliveries", "Webhook deliveries by state.",
	    wh_states, json_object_get(db, "webhooks"));
	caps(b, json_object_get(db, "caps"));
	{
		const char *k;
		json_t *v;
		head(b, "pigeon_retention_purged_total", "counter",
		    "Rows deleted by the [retention] purge, by kind.");
		json_object_foreach(json_object_get(db, "purged"), k, v)
			evbuffer_add_printf(b, "pigeon_retention_purged_total{kind=\"%s\"} %.0f\n",
			    k, num(v));
	}
done:
	api_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	evbuffer_free(b);
}

/* The database did not answer in time, or failed: what pigeond knows,
 * with the last figures read (their age says how old). */
static void
fetch_failed(struct api_req *r)
{
	static int64_t logged;
	int64_t now = pigeon_now_ms();

	if (logged == 0 || now - logged >= SLOW_LOG_MS) {
		log_warnx("http: /metrics: no answer from the database within %d s "
		    "(or an error); answered with %s (this line at most once a "
		    "minute)", METRICS_WAIT_S, cached ?
		    "its last figures" : "what pigeond knows only");
		logged = now;
	}
	render(r, cached, api_db_up());
}

static void
fetched(struct api_req *r, PGresult *res)
{
	json_t *db = api_json_value(res);

	if (db == NULL) {
		fetch_failed(r);
		return;
	}
	json_decref(cached);
	cached = json_incref(db);
	cached_at = metrics_now();
	render(r, db, 1);
	json_decref(db);
}

void
api_metrics(struct api_req *r)
{
	if (!api_db_up()) {
		render(r, NULL, 0);
		return;
	}
	/* Several scrapers within a few seconds share one query. */
	if (cached && metrics_now() - cached_at < METRICS_CACHE_S) {
		render(r, cached, 1);
		return;
	}
	r->fallback = fetch_failed;
	r->timeout_s = METRICS_WAIT_S;
	api_query(r, "SELECT pigeon_metrics()", 0, NULL, fetched);
}

void
metrics_free(void)
{
	json_decref(cached);
	cached = NULL;
}
