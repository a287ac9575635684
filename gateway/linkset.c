/*
 * linkset.c: this host's links as a set (link.c is each link's state
 * machine). Made from the configuration at start; a link SIGHUP removed
 * is set aside once its process is gone (inbound parts and reports may
 * still point at it) and still shown, disabled, by /metrics and /healthz
 * until it is dropped: forgotten, or another host's now (a janitor job
 * asks the database); its section put back takes it back. Also what the
 * set does at each connection to the database, at the stop and at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "joblog.h"
#include "linkint.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define ASIDE_CHECK_MS	5000	/* links set aside: forgotten, or moved? */
#define RENEW_MS	5000	/* held sends' leases looked at this often */

/* Removed links: inbound parts and reports may still point at them. */
static struct link_list removed = TAILQ_HEAD_INITIALIZER(removed);
static int checking;		/* pigeon_modems_aside_gone in flight */

struct link *
link_find(const char *name)
{
	struct link *l;
	TAILQ_FOREACH(l, &env.links, entry)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

/* A removed link whose process is gone: kept aside, as inbound parts and
 * reports may still point at it; still shown (disabled) by /metrics and
 * /healthz, and taken back when its section comes back. */
void
link_set_aside(struct link *l)
{
	hostlock_release(l);
	l->lock = LOCK_NONE;
	TAILQ_REMOVE(&env.links, l, entry);
	TAILQ_INSERT_TAIL(&removed, l, entry);
}

/*
 * A modem sends one SMS at a time (the AT commands are a dialogue). A
 * bind is handed `ahead` times its SMPP window (4 by default): its worker
 * submits a window of them and queues the rest, so that the SMSC's window
 * stays full while pigeond's next claim and the last outcomes' commit
 * run, and each statement carries many rows (the fan-out's speed grows
 * with it: docs/carrier.md). A send's slot frees only when its outcome is
 * committed (scheduler.c counts `recording`), so a crash of pigeond
 * leaves at most this many sends whose outcome the database lacks: the
 * bound on what it can send twice.
 */
int
link_window(const struct modem_conf *conf)
{
	return conf->kind == CONF_SMPP && conf->window > 1 ?
	    conf->window * (conf->ahead > 0 ? conf->ahead : 1) : 1;
}

/*
 * Sets l up for conf: what a link starts with, for link_new and
 * link_take_back alike, so that a field added to struct link starts the
 * same in both. l is zeroed but for what outlives a removal
 * (link_take_back), its rate limit among them (resized here, its recent
 * sends kept). -1 (out of memory): l's conf, sends and rate as they were.
 */
static int
link_setup(struct link *l, const struct modem_conf *conf)
{
	if ((l->conf = config_modem_copy(conf)) == NULL)
		return -1;
	l->window = link_window(l->conf);
	if ((l->sends = calloc(l->window, sizeof(*l->sends))) == NULL ||
	    ratelimit_init(&l->rate, l->conf) == -1) {
		free(l->sends);
		l->sends = NULL;
		config_modem_free(l->conf);
		l->conf = NULL;
		return -1;
	}
	l->name = l->conf->name;
	l->kind = conf->kind == CONF_SMPP ? LINK_SMPP : LINK_MODEM;
	l->want = !conf->enabled ? LINK_DISABLED : conf->drain ? LINK_DRAINING :
	    LINK_ONLINE;
	/* Its first state, recorded by LEV_START. */
	l->state = l->want == LINK_DISABLED ? LINK_DISABLED : LINK_OFFLINE;
	if (l->want != LINK_ONLINE)
		snprintf(l->want_by, sizeof(l->want_by), "%s", link_conf_wish(NULL, conf));
	if (l->state == LINK_DISABLED)
		snprintf(l->reason, sizeof(l->reason), "%s", l->want_by);
	l->backoff_ms = RESTART_MIN_MS;
	l->budget_left = -1;
	return 0;
}

int
link_take_back(const struct modem_conf *conf, struct link **taken)
{
	struct link *l, n;

	TAILQ_FOREACH(l, &removed, entry)
		if (strcmp(l->name, conf->name) == 0)
			break;
	if (l == NULL)
		return 0;
	/*
	 * What outlives its removal: its timer (made for this struct), its
	 * rate limit's recent sends, the outcomes the scheduler still
	 * records, and its generation: the inbound parts, reports and PIN
	 * answers of its earlier workers compare theirs with it, so it
	 * counts on (started at 0 again, a new worker had the number of an
	 * old one, and an SMS of the old SIM, stored late, deleted its
	 * location on the new one). Its counters too, unless it was dropped
	 * meanwhile (forgotten, or another host's): then it is a new link.
	 */
	memset(&n, 0, sizeof(n));
	n.ev_restart = l->ev_restart;
	n.rate = l->rate;
	n.recording = l->recording;
	n.generation = l->generation;
	if (!l->dropped) {
		n.spawned = l->spawned;
		n.restarts = l->restarts;
		n.reconnects = l->reconnects;
		n.sms_sent = l->sms_sent;
		n.sms_failed = l->sms_failed;
		n.receipts_yielded = l->receipts_yielded;
	}
	if (link_setup(&n, conf) == -1)
		return -1;
	TAILQ_REMOVE(&removed, l, entry);
	watchdog_stop(l);
	json_decref(l->info);
	json_decref(l->health);
	config_modem_free(l->conf);
	free(l->sends);
	*l = n;
	TAILQ_INSERT_TAIL(&env.links, l, entry);
	*taken = l;
	return 1;
}

const struct link_list *
link_set_aside_list(void)
{
	return &removed;
}

void
link_forgotten(const char *name)
{
	struct link *l;

	TAILQ_FOREACH(l, &removed, entry)
		if (strcmp(l->name, name) == 0)
			l->dropped = 1;
}

static void
aside_checked(PGresult *res, void *arg)
{
	static struct joblog check_log = JOBLOG_INIT("modems: checking the links "
	    "set aside");
	struct link *l;

	checking = 0;
	if (joblog_result(&check_log, res) == -1)
		return;
	for (int i = 0; i < PQntuples(res); i++)
		TAILQ_FOREACH(l, &removed, entry) {
			if (l->dropped || strcmp(l->name, PQgetvalue(res, i, 0)) != 0)
				continue;
			l->dropped = 1;
			if (*PQgetvalue(res, i, 1) == '\0')
				log_info("modem %s: forgotten; it leaves /metrics and "
				    "/healthz", l->name);
			else
				log_info("modem %s: %s has it now; it leaves /metrics "
				    "and /healthz", l->name, PQgetvalue(res, i, 1));
		}
}

/*
 * Janitor job: the links set aside here, still shown (disabled) by
 * /metrics and /healthz, that are not this host's any more, forgotten
 * through any host or taken by another (pigeon_modems_aside_gone), are
 * dropped from both. Nothing is read while none is shown.
 */
static void
link_aside_check(void)
{
	struct link *l;
	json_t *names;
	char *s;

	if (checking || !store_is_up(env.store) || (names = json_array()) == NULL)
		return;
	TAILQ_FOREACH(l, &removed, entry)
		if (!l->dropped)
			json_array_append_new(names, json_string(l->name));
	if (json_array_size(names) > 0 && (s = json_dumps(names, JSON_COMPACT)) != NULL) {
		const char *params[] = { env.conf.hostname, s };
		if (store_query(env.store, "SELECT * FROM pigeon_modems_aside_gone($1, "
		    "ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))", 2, params,
		    aside_checked, NULL) == 0)
			checking = 1;
		free(s);
	}
	json_decref(names);
}

struct link *
link_new(const struct modem_conf *conf)
{
	struct link *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	if ((l->ev_restart = evtimer_new(env.base, link_on_restart, l)) == NULL ||
	    link_setup(l, conf) == -1) {
		if (l->ev_restart != NULL)
			event_free(l->ev_restart);
		free(l);
		return NULL;
	}
	return l;
}

static void
link_free(struct link *l)
{
	supervisor_kill(l);
	watchdog_stop(l);
	event_free(l->ev_restart);
	json_decref(l->info);
	json_decref(l->health);
	ratelimit_free(&l->rate);
	config_modem_free(l->conf);
	free(l->sends);
	free(l);
}

/*
 * The leases of the sends a live worker still holds, renewed a third of
 * the way in: a bind its SMSC throttles for minutes (each pause up to
 * 16 s, its rate halved each time) holds what it was handed past any
 * lease, and pigeon_outbox_reclaim put those rows back in the queue:
 * another link sent them while the worker still had them to send. A
 * host that dies renews nothing, and its leases run out as before.
 */
static void
leases_renewed(PGresult *res, void *arg)
{
	(void)arg;
	if (res != NULL && !store_ok(res))
		log_warnx("outbox: renewing the leases of sends held: %s",
		    store_error(res));
}

static void
link_leases_renew(void)
{
	int64_t now = pigeon_now_ms(), third = env.conf.lease_seconds * 1000L / 3;
	json_t *ids = json_array(), *claims = json_array();
	struct link *l;
	char lease[16], *a = NULL, *b = NULL;

	TAILQ_FOREACH(l, &env.links, entry) {
		if (l->pid == 0 || l->bev == NULL)
			continue;
		for (int i = 0; i < l->inflight; i++) {
			struct link_send *s = &l->sends[i];
			if (now - s->renewed < third || s->claim[0] == '\0')
				continue;
			json_array_append_new(ids, json_integer(s->id));
			json_array_append_new(claims, json_string(s->claim));
			s->renewed = now;
		}
	}
	if (json_array_size(ids) > 0 && store_is_up(env.store) &&
	    (a = json_dumps(ids, JSON_COMPACT)) != NULL &&
	    (b = json_dumps(claims, JSON_COMPACT)) != NULL) {
		snprintf(lease, sizeof(lease), "%d", env.conf.lease_seconds);
		const char *params[] = { env.conf.hostname, a, b, lease };
		store_query(env.store, "SELECT pigeon_outbox_renew($1, "
		    "ARRAY(SELECT jsonb_array_elements_text($2::jsonb)::bigint), "
		    "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)::bigint), "
		    "$4::integer)", 4, params, leases_renewed, NULL);
	}
	free(a);
	free(b);
	json_decref(ids);
	json_decref(claims);
}

int
link_init(void)
{
	TAILQ_INIT(&env.links);
	if (janitor_add("modems: the links set aside, another host's now?",
	    ASIDE_CHECK_MS, link_aside_check) == -1 ||
	    janitor_add("outbox: the leases of sends still held", RENEW_MS,
	    link_leases_renew) == -1)
		return -1;
	for (size_t i = 0; i < env.conf.nmodems; i++) {
		struct link *l = link_new(&env.conf.modems[i]);
		if (l == NULL)
			return -1;
		TAILQ_INSERT_TAIL(&env.links, l, entry);
	}
	return 0;
}

void
link_start_all(void)
{
	struct link *l;
	TAILQ_FOREACH(l, &env.links, entry)
		link_event(l, LEV_START, "");
}

static void
set_aside_done(PGresult *res, void *arg)
{
	if (res == NULL)
		return;		/* tried again at the next connection */
	if (!store_ok(res)) {
		log_warnx("database: setting aside the links not in the configuration: %s",
		    store_error(res));
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		log_info("modem %s: not in the configuration any more: "
		    "removed from the configuration", PQgetvalue(res, i, 0));
}

/* The database is back (or reached at start): record every link's current
 * state, and set aside this host's rows of links no longer in its file
 * (pigeon_modems_set_aside: a restart without their sections). */
void
link_db_up(void)
{
	struct link *l;
	json_t *names = json_array();
	char *s;

	TAILQ_FOREACH(l, &env.links, entry) {
		link_record(l);
		json_array_append_new(names, json_string(l->name));
	}
	if ((s = json_dumps(names, JSON_COMPACT)) != NULL) {
		const char *params[] = { env.conf.hostname, s };
		store_query(env.store, "SELECT * FROM pigeon_modems_set_aside($1, "
		    "ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))", 2, params,
		    set_aside_done, NULL);
		free(s);
	}
	json_decref(names);
}

/* SIGTERM, once only the workers are left: closing their channels makes
 * them exit. */
void
link_stop_all(void)
{
	struct link *l;
	TAILQ_FOREACH(l, &env.links, entry)
		link_event(l, LEV_STOP, "");
}

int
link_busy(void)
{
	struct link *l;
	TAILQ_FOREACH(l, &env.links, entry)
		if (l->pid > 0)
			return 1;
	return 0;
}

/* 1 while a link has a send in flight (its outcome comes from its worker). */
int
link_sending(void)
{
	struct link *l;
	TAILQ_FOREACH(l, &env.links, entry)
		if (l->inflight > 0)
			return 1;
	return 0;
}

void
link_free_all(void)
{
	struct link *l;
	while ((l = TAILQ_FIRST(&env.links)) != NULL) {
		TAILQ_REMOVE(&env.links, l, entry);
		link_free(l);
	}
	while ((l = TAILQ_FIRST(&removed)) != NULL) {
		TAILQ_REMOVE(&removed, l, entry);
		link_free(l);
	}
}
