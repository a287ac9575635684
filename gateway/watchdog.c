/*
 * watchdog.c: is each modem process alive, and how is its modem?
 *
 * Every watchdog_seconds / 3 pigeond pings each worker (a SIGHUP that
 * changes watchdog_seconds changes the pace at once). A worker handles
 * lines only between libgammu calls, so a send in progress delays its
 * answers: 0.7 s per part plus up to send_wait_seconds (30) for the
 * network's answer to each part (docs/modem-protocol.md, "Details"). A
 * worker heard from neither in watchdog_seconds, nor within that
 * allowance for its send, is hung: it is killed, and the supervisor
 * settles its send (back to the queue) and restarts it with backoff
 * like any process that died.
 *
 * The worker's `health` messages (signal, registration, operator, battery,
 * IMSI) are kept on struct modem for /healthz and stored in `modems`.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

#define PART_ALLOWANCE_MS(m)	(700 + (m)->conf->send_wait_seconds * 1000)
/* Connecting blocks the worker: the AT driver alone takes 3.4 s, and a
 * modem that does not answer makes libgammu try for longer. */
#define CONNECT_ALLOWANCE_MS	60000

static void
watchdog_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct link *m = arg;
	int64_t now = pigeon_now_ms(), since = m->last_heard, allow;

	/* Looks a pace apart, but this one came much later: pigeond itself
	 * did not run meanwhile (stopped, a paused machine, swapped out), and
	 * the workers' answers wait unread in their channels. Killed at once,
	 * every healthy worker was restarted when pigeond ran again. Their
	 * silence counts from now. */
	int64_t pace = (int64_t)env.conf.watchdog_seconds * 1000 / 3;
	int64_t gap = m->watch_tick > 0 ? now - m->watch_tick : 0;
	m->watch_tick = now;
	if (m->pid <= 0)
		return;
	if (gap > 2 * pace + 1000) {
		log_warnx("modem %s: pigeond did not run for %lld s; its process's "
		    "silence counts from now", m->name, (long long)(gap / 1000));
		m->watch_from = now;
	}
	/* A worker pinged at an older, slower pace could not have answered
	 * more often than it was asked. */
	if (m->watch_from > since)
		since = m->watch_from;
	allow = (int64_t)env.conf.watchdog_seconds * 1000;
	if (m->bev == NULL) {
		/* Its channel is closed: a worker that does not exit is hung. */
		if (now - since > allow) {
			log_warnx("modem %s: process did not exit; killing it", m->name);
			m->stop_asked = 1;
			kill(m->pid, SIGKILL);
		}
		return;
	}
	if (m->state == LINK_STARTING)
		allow += CONNECT_ALLOWANCE_MS;
	/* Each send in flight may take its parts' time: the last handed
	 * over counts from when it was. */
	for (int i = 0; i < m->inflight; i++) {
		if (m->sends[i].started > since)
			since = m->sends[i].started;
		allow += (int64_t)m->sends[i].parts * PART_ALLOWANCE_MS(m);
	}
	if (now - since > allow) {
		log_warnx("modem %s: no answer from its process for %lld s; killing it",
		    m->name, (long long)((now - since) / 1000));
		m->stop_asked = 1;
		kill(m->pid, SIGKILL);
		return;
	}
	json_t *ping = json_pack("{s:s, s:I}", "type", "ping", "seq",
	    (json_int_t)++m->ping_seq);
	char *line = json_dumps(ping, JSON_COMPACT);
	json_decref(ping);
	if (line != NULL) {
		bufferevent_write(m->bev, line, strlen(line));
		bufferevent_write(m->bev, "\n", 1);
		free(line);
	}
}

void
watchdog_start(struct link *m)
{
	int ms = env.conf.watchdog_seconds * 1000 / 3;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	m->watch_tick = 0;	/* a new pace, or a new process: no look to compare */
	if (m->ev_watch == NULL)
		m->ev_watch = event_new(env.base, -1, EV_PERSIST, watchdog_on_timer, m);
	if (m->ev_watch != NULL)
		event_add(m->ev_watch, &tv);
}

/*
 * A lowered watchdog_seconds judges silence by the new allowance at once,
 * so the pings must take the new pace at once too: a worker pinged at the
 * old one (every old / 3 s) would look silent and be killed, idle and
 * healthy (30 -> 6 killed every worker). The silence is counted from now.
 */
void
watchdog_reload(void)
{
	struct link *m;

	TAILQ_FOREACH(m, &env.links, entry) {
		if (m->ev_watch == NULL)
			continue;
		m->watch_from = pigeon_now_ms();
		watchdog_start(m);
	}
}

void
watchdog_stop(struct link *m)
{
	if (m->ev_watch != NULL) {
		event_free(m->ev_watch);
		m->ev_watch = NULL;
	}
}

static void
health_stored(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("database: recording modem health: %s", store_error(res));
}

/*
 * A bind's throughput: the submits between its worker's last two polls,
 * a second (its counters count from the worker's start: none across a
 * new worker).
 */
static void
health_throughput(const struct link *m, json_t *h)
{
	json_t *was = m->health ? json_object_get(m->health, "submitted") : NULL;
	json_t *now = json_object_get(h, "submitted");
	int64_t ms = pigeon_now_ms() - m->health_ms;

	if (!json_is_integer(was) || !json_is_integer(now) || m->health_pid != m->pid ||
	    json_integer_value(now) < json_integer_value(was) || ms <= 0)
		return;
	json_object_set_new(h, "submits_per_second", json_integer(
	    (json_integer_value(now) - json_integer_value(was)) * 1000 / ms));
}

/* Keeps the known keys of a `health` message, with sane values only. */
void
watchdog_health(struct link *m, json_t *msg)
{
	/* A modem's radio, then an SMPP bind's counters; its in_flight (the
	 * submits its SMSC has not answered) is kept as submits_unanswered,
	 * never to stand for pigeond's own (api_modems.c). */
	static const char *ints[] = { "signal_percent", "signal_dbm", "battery_percent",
	    "in_flight", "queued", "rate", "submitted", "answered",
	    "throttled", "timeouts", "reconnects", "mo", "receipts" };
	static const char *strs[] = { "registration", "operator", "operator_name", "imsi" };
	static const char *bools[] = { "bound" };	/* a bind's transmitter */
	json_t *h = json_object();
	char *text;

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *v = json_object_get(msg, ints[i]);
		if (json_is_integer(v) && (i < 3 ? json_integer_value(v) >= -200 &&
		    json_integer_value(v) <= 200 : json_integer_value(v) >= 0))
			json_object_set(h, strcmp(ints[i], "in_flight") == 0 ?
			    "submits_unanswered" : ints[i], v);
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (json_is_boolean(json_object_get(msg, bools[i])))
			json_object_set(h, bools[i], json_object_get(msg, bools[i]));
	/* The latest word on it: /api/modems shows l->bound, not this copy. */
	if (json_is_boolean(json_object_get(h, "bound")))
		m->bound = json_is_true(json_object_get(h, "bound"));
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *v = json_object_get(msg, strs[i]);
		if (json_is_string(v) && json_string_length(v) < 64 &&
		    strlen(json_string_value(v)) == json_string_length(v))
			json_object_set(h, strs[i], v);
	}
	health_throughput(m, h);
	json_decref(m->health);
	m->health = h;
	m->health_at = time(NULL);
	m->health_ms = pigeon_now_ms();
	m->health_pid = m->pid;
	const char *reg = json_string_value(json_object_get(h, "registration"));
	const char *op = json_string_value(json_object_get(h, "operator"));
	log_debug("modem %s: signal %lld%%, %s, operator %s", m->name,
	    (long long)json_integer_value(json_object_get(h, "signal_percent")),
	    reg ? reg : "?", op ? op : "?");
	/* The row is the lock holder's (hostlock.c). */
	if (!store_is_up(env.store) || m->lock != LOCK_HELD ||
	    (text = json_dumps(h, JSON_COMPACT)) == NULL)
		return;
	const char *params[] = { m->name, text };
	store_query(env.store, "SELECT pigeon_modem_health($1, $2::jsonb)", 2,
	    params, health_stored, NULL);
	free(text);
}
