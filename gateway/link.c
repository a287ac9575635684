/*
 * link.c: the lifecycle of a link, a worker process that reaches phones
 * (a GSM modem through pigeon-modem today; an SMPP bind is the same kind
 * of thing with a wider window). Every link's state, its host lock and
 * the operator's wish are written here and nowhere else: the other files
 * send events (link_event) and read the fields. docs/architecture.md has
 * the state diagram.
 *
 *   supervisor.c  spawned, ready, worker error, exited
 *   hostlock.c    lock trying, held, elsewhere, lost
 *   api_modems.c  enable, disable, drain (the operator)
 *   reload.c      added, removed, reconfigured, enable/disable/drain
 *   scheduler.c   send started, sent, send failed
 *   main.c        stop (SIGTERM)
 *   (timer)       restart: the backoff after an exit ran out
 *
 * A link is driven only while this host holds its lock: no process is
 * started without it, no send is handed over and no SMS deleted.
 * Operator actions let the sends in flight finish first: only an idle
 * channel is closed (link_settle). The set of links (made, set aside,
 * taken back, freed) is linkset.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "linkint.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define STABLE_SECONDS	60	/* a process that lived this long restarts fast */
#define FAILS_OFFLINE	5	/* temporary send failures in a row: restart it */

/* The state reason of a link no host has any more: pigeon_api_send
 * (db/functions/62_send.sql) refuses a send "via" a link left so. */
#define REMOVED_REASON	"removed from the configuration"

static void link_try_spawn(struct link *);

const char *
link_state_name(enum link_state st)
{
	switch (st) {
	case LINK_STARTING:	return "starting";
	case LINK_ONLINE:	return "online";
	case LINK_OFFLINE:	return "offline";
	case LINK_DISABLED:	return "disabled";
	case LINK_DRAINING:	return "draining";
	case LINK_ELSEWHERE:	return "elsewhere";
	}
	return "unknown";
}

const char *
link_lock_name(const struct link *l)
{
	switch (l->lock) {
	case LOCK_HELD:		return "held";
	case LOCK_ELSEWHERE:	return "elsewhere";
	case LOCK_NONE:
	case LOCK_TRYING:	break;
	}
	return "waiting";
}

static int states_recording;	/* pigeon_modem_state calls in flight */

static void
state_recorded(PGresult *res, void *arg)
{
	states_recording--;
	if (res != NULL && !store_ok(res))
		log_warnx("database: recording modem state: %s", store_error(res));
	/* A stop waits for the last "offline: pigeond stopped" to be written:
	 * a row left online would say so for ever once its section is gone. */
	if (env.draining)
		pigeond_check_drained();
}

/*
 * A bind's SMSC account, "SYSTEM_ID@HOST:PORT" (the host in lower case),
 * malloc'd: the database matches a receipt to a part sent by any bind of
 * the same account (modems.account, pigeon_account_links), since an SMSC
 * delivers receipts to any receiver bound with the account's system_id,
 * and delivers again what it saw unanswered to any of them too: a
 * receipt's dedupe key names it (reports.c). NULL for a modem: its
 * reports and SMS are its own. Never the password.
 */
char *
link_account(const struct link *l)
{
	const struct modem_conf *c = l->conf;
	char *s, *host;

	if (l->kind != LINK_SMPP || c == NULL || c->host == NULL ||
	    c->system_id == NULL)
		return NULL;
	if (asprintf(&s, "%s@%s:%d", c->system_id, c->host, c->port) == -1)
		return NULL;
	for (host = strrchr(s, '@') + 1; *host != '\0'; host++)
		*host = (char)tolower((unsigned char)*host);
	return s;
}

static json_t *
link_account_json(const struct link *l)
{
	char *s = link_account(l);
	json_t *j = s != NULL ? json_string(s) : NULL;

	free(s);
	return j != NULL ? j : json_null();
}

/* Writes the link's state (and identification, if any) to the database. */
void
link_record(struct link *l)
{
	char *info;
	json_t *extra;

	/* The row is the lock holder's: another host may own this name. */
	if (!store_is_up(env.store) ||
	    (l->lock != LOCK_HELD && l->state != LINK_ELSEWHERE))
		return;
	extra = l->info ? json_deep_copy(l->info) : json_object();
	/* Going offline because pigeond stops is not the modem's error. */
	if (l->state == LINK_OFFLINE && l->reason[0] && !env.draining)
		json_object_set_new(extra, "error", json_string(l->reason));
	json_object_set_new(extra, "pid", l->pid > 0 ? json_integer(l->pid) : json_null());
	json_object_set_new(extra, "restarts", json_integer(l->restarts));
	json_object_set_new(extra, "kind", json_string(l->kind == LINK_SMPP ?
	    "smpp" : "modem"));
	json_object_set_new(extra, "account", link_account_json(l));
	info = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
	const char *params[] = { l->name, env.conf.hostname,
	    link_state_name(l->state), l->reason, info };
	if (store_query(env.store,
	    "SELECT pigeon_modem_state($1, $2, $3, $4, $5::jsonb)", 5, params,
	    state_recorded, NULL) == 0)
		states_recording++;
	free(info);
}

/*
 * A session of the link lost alone (a bind's receiver), its state
 * unchanged: not a state, but the answers on it may be lost all the same,
 * which the inbox's store reads in modem_history (20_inbox.sql). Counted
 * with the states, so that a stop waits for it too.
 */
void
link_record_loss(struct link *l, const char *session, const char *why)
{
	if (!store_is_up(env.store) || l->lock != LOCK_HELD)
		return;
	const char *params[] = { l->name, session, why };
	if (store_query(env.store, "SELECT pigeon_modem_session_lost($1, $2, $3)",
	    3, params, state_recorded, NULL) == 0)
		states_recording++;
}

/* Changes the state (or only its reason), logs and records it. */
static void
link_set_state(struct link *l, enum link_state st, const char *reason)
{
	if (l->state == st && strcmp(l->reason, reason) == 0)
		return;
	if (l->state != st)
		log_info("modem %s: %s -> %s%s%s", l->name, link_state_name(l->state),
		    link_state_name(st), reason[0] ? ": " : "", reason);
	l->state = st;
	snprintf(l->reason, sizeof(l->reason), "%s", reason);
	link_record(l);
	if (st == LINK_ONLINE)
		scheduler_kick();
}

int
link_can_send(const struct link *l)
{
	return l->state == LINK_ONLINE && l->want == LINK_ONLINE &&
	    l->inflight + l->recording < l->window && l->bev != NULL && !l->respawn &&
	    l->lock == LOCK_HELD && !link_paused_ms(l);
}

/*
 * The ms left of a bind's pause (its SMSC answered throttled or queue
 * full: its worker submits nothing meanwhile), 0 when it is not paused.
 * A send handed to it then waited there, a routed one for every pause
 * of a bind that throttled for minutes, while the other links were idle.
 */
int64_t
link_paused_ms(const struct link *l)
{
	int64_t left = l->paused_until - pigeon_now_ms();

	return l->paused_until != 0 && left > 0 ? left : 0;
}

/* The next restart's wait: twice this one's, up to restart_max_seconds. */
static void
link_backoff_double(struct link *l)
{
	l->backoff_ms *= 2;
	if (l->backoff_ms > env.conf.restart_max_seconds * 1000)
		l->backoff_ms = env.conf.restart_max_seconds * 1000;
}

static void
link_restart_later(struct link *l, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(l->ev_restart, &tv);
}

void
link_on_restart(evutil_socket_t fd, short what, void *arg)
{
	link_event(arg, LEV_RESTART, "");
}

/* Starts the process now, with the shortest backoff. */
static void
link_start_now(struct link *l)
{
	evtimer_del(l->ev_restart);
	l->backoff_ms = RESTART_MIN_MS;
	link_try_spawn(l);
}

/* Waits, shown as "elsewhere", while another host holds the lock. */
static void
link_wait_elsewhere(struct link *l)
{
	char reason[256];

	if (l->want == LINK_DISABLED)
		return;
	snprintf(reason, sizeof(reason), "owned by another host (%s)", l->lock_holder);
	if (l->pid == 0)
		evtimer_del(l->ev_restart);
	link_set_state(l, LINK_ELSEWHERE, reason);
	link_settle(l);
}

static void
link_try_spawn(struct link *l)
{
	/* Driven only while this host holds its lock: hostlock.c starts it. */
	if (l->lock != LOCK_HELD) {
		if (l->lock == LOCK_ELSEWHERE)
			link_wait_elsewhere(l);
		else
			link_set_state(l, LINK_OFFLINE,
			    "waiting for the database to take its lock");
		return;
	}
	if (supervisor_spawn(l) == -1) {
		/* As a worker that crashes at once (out of descriptors, of
		 * processes): with backoff, the reason stored with its errno. */
		char reason[160];
		snprintf(reason, sizeof(reason), "cannot start the modem process: %s",
		    strerror(errno));
		link_set_state(l, LINK_OFFLINE, reason);
		log_info("modem %s: %s; retrying in %d ms", l->name, reason, l->backoff_ms);
		link_restart_later(l, l->backoff_ms);
		link_backoff_double(l);
	}
}

/*
 * What a reload's enabled and drain ask of a link, as its reason says it:
 * the key that asked (was: its section before, NULL at start). A change
 * from the file must not read "by the operator" (the API's own words).
 */
const char *
link_conf_wish(const struct modem_conf *was, const struct modem_conf *c)
{
	if (!c->enabled)
		return "enabled = no in the configuration";
	if (c->drain)
		return "drain = yes in the configuration";
	return was != NULL && !was->enabled ? "enabled = yes in the configuration" :
	    "drain = no in the configuration";
}

/* A draining link's reason: who drained it, and whether sends finish. */
static const char *
drain_reason(const struct link *l, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", l->want_by[0] ? l->want_by :
	    "drained by the operator", l->inflight > 0 ?
	    "; finishing its sends" : "", l->part_down[0] ? "; " : "", l->part_down);
	return buf;
}

/* The wish of an enable, disable or drain event: its reason, or the
 * operator's words for it when it gave none. */
static void
link_wish(struct link *l, enum link_state want, const char *why)
{
	l->want = want;
	snprintf(l->want_by, sizeof(l->want_by), "%s", why[0] ? why :
	    want == LINK_DISABLED ? "disabled by the operator" :
	    want == LINK_DRAINING ? "drained by the operator" :
	    "enabled by the operator");
}

/*
 * Brings the process in line with the operator's wish once it is idle: a
 * disabled, removed or reconfigured link's channel is closed (its worker
 * exits and supervisor.c reports the exit).
 */
void
link_settle(struct link *l)
{
	char buf[512];

	/* Draining shows at once; the sends in flight still complete. */
	if (l->want == LINK_DRAINING &&
	    (l->state == LINK_ONLINE || l->state == LINK_DRAINING))
		link_set_state(l, LINK_DRAINING, drain_reason(l, buf, sizeof(buf)));
	if (l->inflight > 0 || l->bev == NULL)
		return;
	if (l->want == LINK_DISABLED || l->respawn || l->lock == LOCK_ELSEWHERE) {
		log_info("modem %s: stopping its process (%s)", l->name,
		    l->removed ? "removed" : l->respawn ? "configuration changed" :
		    l->want == LINK_DISABLED ? "disabled" : "another host owns it");
		supervisor_stop(l);
	}
}

/*
 * crashed: the worker died of a signal or a non-zero status without
 * pigeond asking it to stop. Unless it said why first (its error, a
 * warning of its own, left the link offline with that reason), that is a
 * warning (journalctl -p warning); a stop pigeond asked for is info.
 */
static void
link_exited(struct link *l, const char *why, int crashed)
{
	int unexplained = crashed &&
	    !(l->state == LINK_OFFLINE && l->reason[0] != '\0');

	if (unexplained && (env.draining || l->removed || l->want == LINK_DISABLED ||
	    l->lock == LOCK_ELSEWHERE || l->respawn))
		log_warnx("modem %s: %s", l->name, why);
	/* The sends in flight may or may not have left: sent again. */
	for (int i = 0; i < l->inflight; i++)
		scheduler_link_lost(l, &l->sends[i], why);
	l->inflight = 0;
	if (env.draining) {
		link_set_state(l, LINK_OFFLINE, "pigeond stopped");
		return;
	}
	if (l->removed) {
		link_set_state(l, LINK_DISABLED, REMOVED_REASON);
		link_set_aside(l);
		return;
	}
	if (l->want == LINK_DISABLED) {
		link_set_state(l, LINK_DISABLED, l->want_by[0] ? l->want_by :
		    "disabled by the operator");
		return;
	}
	if (l->lock == LOCK_ELSEWHERE) {
		link_wait_elsewhere(l);
		return;
	}
	if (l->respawn) {
		log_info("modem %s: restarting with its new configuration", l->name);
		l->backoff_ms = RESTART_MIN_MS;
		link_set_state(l, LINK_OFFLINE, "restarting: configuration changed");
		link_restart_later(l, 0);
		return;
	}
	/* A process that lived a minute restarts fast, even one that said
	 * why it gave up (a fatal error, a link taken offline for its
	 * failures): its backoff was about an earlier, shorter life. */
	if (time(NULL) - l->started_at >= STABLE_SECONDS)
		l->backoff_ms = RESTART_MIN_MS;
	/* Keep the worker's own explanation (e.g. cannot connect) if it gave one. */
	if (l->state != LINK_OFFLINE || l->reason[0] == '\0')
		link_set_state(l, LINK_OFFLINE, why);
	if (unexplained)
		log_warnx("modem %s: %s; restarting in %d ms", l->name, why,
		    l->backoff_ms);
	else
		log_info("modem %s: %s; restarting in %d ms", l->name, why,
		    l->backoff_ms);
	link_restart_later(l, l->backoff_ms);
	link_backoff_double(l);
}

static void
link_lock_held(struct link *l)
{
	log_info("modem %s: this host holds its lock%s", l->name,
	    l->lock_ever ? " again; resuming" : "");
	l->lock = LOCK_HELD;
	l->lock_ever = 1;
	l->lock_holder[0] = '\0';
	ratedb_load(l);
	if (l->pid > 0 && l->state == LINK_ELSEWHERE) {
		/* Lost and regained while its worker was stopping: start afresh. */
		l->respawn = 1;
		link_set_state(l, LINK_OFFLINE, "restarting: this host holds its lock");
		link_settle(l);
		return;
	}
	/* A paused worker resumes where it was, its deletes held meanwhile
	 * sent now. */
	if (l->pid > 0 || l->want == LINK_DISABLED) {
		supervisor_lock_held(l);
		link_record(l);
		scheduler_kick();
		return;
	}
	if (!env.draining)
		link_start_now(l);
}

/* Removes id from the sends in flight, a copy in *done when not NULL; -1
 * if it was not one of them. */
static int
link_send_forget(struct link *l, int64_t id, struct link_send *done)
{
	for (int i = 0; i < l->inflight; i++) {
		if (l->sends[i].id == id) {
			if (done != NULL)
				*done = l->sends[i];
			l->sends[i] = l->sends[--l->inflight];
			return 0;
		}
	}
	return -1;
}

/*
 * A link taken offline for its failures is restarted once its last send
 * in flight settled (a bind has a window of them); 1 when it was.
 */
static int
link_restart_idle(struct link *l)
{
	if (!l->restart_idle || l->inflight > 0 || l->bev == NULL)
		return 0;
	l->restart_idle = 0;
	supervisor_stop(l);
	return 1;
}

/*
 * The transition function: every event of every link comes here. Returns
 * 0, or -1 when the event does not apply (an operator action on a removed
 * link, an outcome for a send the link was not given, no free slot).
 */
int
link_step(struct link *l, const struct link_ev *ev)
{
	const char *why = ev->reason != NULL ? ev->reason : "";
	char reason[256];
	char buf[512];

	switch (ev->type) {
	case LEV_START:
		if (l->want != LINK_DISABLED)
			link_try_spawn(l);
		else
			link_record(l);
		break;
	case LEV_RESTART:
		if (!env.draining && l->pid == 0 && l->want != LINK_DISABLED)
			link_try_spawn(l);
		break;
	case LEV_SPAWNED:
		l->respawn = 0;
		l->fails_in_row = 0;
		l->paused_until = 0;
		l->restart_idle = 0;
		l->inflight = 0;
		/* A reload may have changed the window (it restarts the worker). */
		if (link_window(l->conf) != l->window) {
			struct link_send *ns = calloc(link_window(l->conf), sizeof(*ns));
			if (ns != NULL) {
				free(l->sends);
				l->sends = ns;
				l->window = link_window(l->conf);
			}
		}
		l->started_at = time(NULL);
		l->part_down[0] = '\0';
		link_set_state(l, LINK_STARTING, "");
		break;
	case LEV_READY:
		if (l->lock == LOCK_ELSEWHERE)
			break;		/* its channel is closing */
		/* A session still down is said again after this (smpp/link.c). */
		l->part_down[0] = '\0';
		if (l->want == LINK_DRAINING)
			link_set_state(l, LINK_DRAINING, drain_reason(l, buf, sizeof(buf)));
		else
			link_set_state(l, LINK_ONLINE, "");
		break;
	case LEV_WORKER_ERROR:
		link_set_state(l, LINK_OFFLINE, why);
		break;
	case LEV_PART_DOWN:
		/* Online or draining still: the reason says what is missing
		 * ("" once it is back), through a drain and an enable too (its
		 * loss is recorded apart: supervisor.c, link_session). */
		snprintf(l->part_down, sizeof(l->part_down), "%s", why);
		if (l->state == LINK_ONLINE)
			link_set_state(l, LINK_ONLINE, why);
		else if (l->state == LINK_DRAINING)
			link_set_state(l, LINK_DRAINING, drain_reason(l, buf, sizeof(buf)));
		break;
	case LEV_EXITED:
		link_exited(l, why, ev->crashed);
		break;
	case LEV_LOCK_TRYING:
		l->lock = LOCK_TRYING;
		break;
	case LEV_LOCK_HELD:
		link_lock_held(l);
		break;
	case LEV_LOCK_ELSEWHERE:
		l->lock = LOCK_ELSEWHERE;
		snprintf(l->lock_holder, sizeof(l->lock_holder), "%s", why);
		link_wait_elsewhere(l);
		break;
	case LEV_LOCK_LOST:
		/* A lock held elsewhere stays "elsewhere" until tried again. */
		if (l->lock != LOCK_ELSEWHERE)
			l->lock = LOCK_NONE;
		break;
	case LEV_ENABLE:
		if (l->removed)
			return -1;
		link_wish(l, LINK_ONLINE, why);
		if (l->pid == 0)
			link_start_now(l);
		else if (l->state == LINK_DRAINING)
			link_set_state(l, LINK_ONLINE, l->part_down[0] ? l->part_down :
			    l->want_by);
		break;
	case LEV_DISABLE:
		if (l->removed)
			return -1;
		link_wish(l, LINK_DISABLED, why);
		if (l->pid == 0) {
			evtimer_del(l->ev_restart);
			link_set_state(l, LINK_DISABLED, l->want_by);
			break;
		}
		if (l->inflight > 0)
			log_info("modem %s: disabled; stopping after the sends in flight",
			    l->name);
		link_settle(l);
		break;
	case LEV_DRAIN:
		if (l->removed)
			return -1;
		link_wish(l, LINK_DRAINING, why);
		if (l->pid == 0) {
			/* Drained but running: it still reads incoming SMS. */
			evtimer_del(l->ev_restart);
			link_try_spawn(l);
			break;
		}
		if (l->inflight > 0)
			log_info("modem %s: draining; it takes no send after those in flight",
			    l->name);
		link_settle(l);
		break;
	case LEV_REMOVE:
		log_info("modem %s: removed from the configuration", l->name);
		l->removed = 1;
		l->want = LINK_DISABLED;
		if (l->pid > 0) {
			link_settle(l);
			break;
		}
		evtimer_del(l->ev_restart);
		link_set_state(l, LINK_DISABLED, REMOVED_REASON);
		link_set_aside(l);
		break;
	case LEV_READD:
		/* Removed by a SIGHUP and back in the next one while its
		 * process finished a send: it stays (set aside when that
		 * process exited, it waited for a third SIGHUP). */
		if (!l->removed)
			return -1;
		log_info("modem %s: back in the configuration", l->name);
		l->removed = 0;
		l->want = LINK_ONLINE;
		if (l->pid == 0 && !env.draining)
			link_start_now(l);
		break;
	case LEV_RECONFIGURE:
		if (l->pid > 0) {
			l->respawn = 1;
			link_settle(l);
		}
		break;
	case LEV_SEND_STARTED:
		if (!link_can_send(l))
			return -1;
		l->sends[l->inflight].id = ev->id;
		l->sends[l->inflight].started = pigeon_now_ms();
		l->sends[l->inflight].renewed = l->sends[l->inflight].started;
		l->sends[l->inflight].parts = ev->parts;
		snprintf(l->sends[l->inflight].claim, sizeof(l->sends[0].claim), "%s",
		    ev->claim ? ev->claim : "");
		l->inflight++;
		l->last_send = l->sends[l->inflight - 1].started;
		break;
	case LEV_SENT:
		if (link_send_forget(l, ev->id, ev->done) == -1)
			return -1;
		if (link_restart_idle(l))
			break;
		l->fails_in_row = 0;
		link_settle(l);
		break;
	case LEV_SEND_FAILED:
		if (link_send_forget(l, ev->id, ev->done) == -1)
			return -1;
		/*
		 * Sends failing one after the other on one link (no credit, no
		 * network, a wedged modem) say more about the link than about
		 * the recipients: it goes offline and its process is restarted
		 * with backoff, while the retries go to the other links.
		 */
		if (link_restart_idle(l))
			break;
		/*
		 * A throttle (ESME_RTHROTTLED, ESME_RMSGQFUL) is the SMSC pacing
		 * a healthy bind: a window of them in a row is normal, not a
		 * reason to restart it. Nor are the sends a bind's lost session
		 * settles (link_lost; they come after its "link down", the link
		 * offline): one TCP drop with 40 sends handed over restarted the
		 * worker, which binds again by itself. A refusal of the bind's
		 * own (an SMPP source address or TON/NPI the carrier refuses)
		 * counts: a bind misconfigured refuses every send, and stayed
		 * online taking its share of them. One of a recipient's (an
		 * invalid destination: a ported number) does not: five of a
		 * fan-out in a row restarted a bind that was fine.
		 */
		if ((ev->temporary || ev->bind_refused) && !ev->throttled &&
		    !ev->link_lost && l->state == LINK_ONLINE &&
		    ++l->fails_in_row >= FAILS_OFFLINE) {
			snprintf(reason, sizeof(reason),
			    "%d sends in a row failed, the last: %s", l->fails_in_row, why);
			log_warnx("modem %s: %s; restarting it", l->name, reason);
			link_set_state(l, LINK_OFFLINE, reason);
			/* A bind's other sends in flight settle first. */
			l->restart_idle = 1;
			link_restart_idle(l);
			break;
		}
		link_settle(l);
		break;
	case LEV_PAUSED:
		/* Said at each pause: one per episode of throttles (smpp/submit.c),
		 * 200 ms doubling up to 16 s while they go on. */
		if (!link_paused_ms(l) && ev->ms >= 1000)
			log_info("modem %s: the SMSC says %s: no new sends for %d ms",
			    l->name, why, ev->ms);
		l->paused_until = pigeon_now_ms() + ev->ms;
		snprintf(l->paused_why, sizeof(l->paused_why), "%s", why);
		break;
	case LEV_STOP:
		evtimer_del(l->ev_restart);
		supervisor_stop(l);
		break;
	}
	return 0;
}

int
link_event(struct link *l, enum link_event type, const char *reason)
{
	struct link_ev ev = { .type = type, .reason = reason };
	return link_step(l, &ev);
}

/* 1 while links' states are being written (a stop waits for them). */
int
link_recording(void)
{
	return states_recording > 0;
}
