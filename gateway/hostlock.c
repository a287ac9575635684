/*
 * hostlock.c: a host owns its modems through PostgreSQL session advisory
 * locks, one per configured modem name (pigeon_modem_lock in
 * db/functions/50_modems.sql: key 1346979653, hashtext(name)).
 *
 * PostgreSQL releases a session's locks when its connection ends, however
 * it ends (pigeond killed, host gone, network cut once the server notices),
 * so a modem name configured on two hosts by mistake is driven by one of
 * them only, and the other takes it over when the first lets go. The lock
 * is tried, never waited for: after every (re)connect, and every few
 * seconds while not held. The answers are events of link.c, which keeps
 * the lock's state with the rest of the link's.
 *
 * While a modem's lock is not held it is not driven: link_can_send refuses
 * sends (so the scheduler claims nothing for it), supervisor_delete holds
 * deletes until it is held again (SMS wait on the SIM), and its row in
 * `modems` is left alone.
 * When the connection is lost the workers are paused, not stopped: the
 * lock cannot be re-taken before the connection is back, and a worker only
 * acts on what pigeond tells it, so stopping it would buy nothing and cost
 * libgammu's connect (3.4 s per modem) on every database blip. A worker is
 * stopped only when the lock turns out to be held by another host.
 *
 * Above the modems' locks, the host name's own (pigeon_host_lock, on the
 * main connection): two pigeond with one host name (the same config
 * started twice by mistake) would each put the other's sends in flight
 * back in the queue at their start (pigeon_outbox_reclaim_host) and send
 * them again. Nothing of this host's (modem locks, that reclaim) is done
 * before it is held. At start, a lock held elsewhere is tried again every
 * second for HOST_GRACE_S (a crashed pigeond's sessions end as soon as
 * PostgreSQL sees their sockets close), then pigeond refuses to start;
 * after a reconnect it waits, paused, as long as it takes (its own old
 * session may linger until the server notices the cut).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

#define RETRY_MS	3000	/* a lock held elsewhere is tried again this often */
#define HOST_RETRY_MS	1000	/* the host name's lock, held elsewhere */
#define HOST_GRACE_S	10	/* at start, how long it may be held elsewhere */

static struct event *ev_retry;
static struct event *ev_host_retry;
static int unwaiting;		/* pigeon_modem_unwait in flight */
static int host_held;		/* the host name's lock, on this connection */
static int host_ever;		/* held once: a refusal now is after a reconnect */
static int host_refused;	/* another pigeond has this host name: exit 1 */
static int64_t host_first_refusal;	/* ms (monotonic), at start; 0: none */
static char host_holder[256];	/* the last holder logged */

static void
unlocked(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("database: releasing a modem's lock: %s", store_error(res));
}

static void
unlock_name(const char *name)
{
	const char *params[] = { name };
	store_query(env.store, "SELECT pigeon_modem_unlock($1)", 1, params,
	    unlocked, NULL);
}

/* arg is the modem's name (malloc): it may have been removed meanwhile. */
static void
lock_tried(PGresult *res, void *arg)
{
	struct link *m = link_find(arg);
	const char *holder;
	int got = res != NULL && store_ok(res) && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	if (m == NULL || m->removed || m->lock != LOCK_TRYING) {
		/* Nobody wants it any more: let another host have it. */
		if (got && (m == NULL || m->lock != LOCK_HELD))
			unlock_name(arg);
		free(arg);
		return;
	}
	free(arg);
	if (res == NULL || !store_ok(res) || PQntuples(res) != 1) {
		if (res != NULL)
			log_warnx("modem %s: cannot take its lock: %s", m->name,
			    store_error(res));
		link_event(m, LEV_LOCK_LOST, "");
		return;
	}
	if (got) {
		link_event(m, LEV_LOCK_HELD, "");
		return;
	}
	holder = PQgetisnull(res, 0, 1) ? "a connection that just let go" :
	    PQgetvalue(res, 0, 1);
	/* One line per holder, not one per retry. */
	if (strcmp(m->lock_holder, holder) != 0)
		log_warnx("modem %s is owned by another host (%s); not starting it",
		    m->name, holder);
	link_event(m, LEV_LOCK_ELSEWHERE, holder);
}

static void
lock_try(struct link *m)
{
	char *name = strdup(m->name);
	const char *params[] = { m->name, env.conf.hostname };

	if (name == NULL)
		return;
	if (store_query(env.store, "SELECT * FROM pigeon_modem_lock($1, $2)", 2, params,
	    lock_tried, name) == -1) {
		free(name);
		return;
	}
	link_event(m, LEV_LOCK_TRYING, "");
}

static void host_try(void);

static void
host_retry_later(void)
{
	struct timeval tv = { HOST_RETRY_MS / 1000, (HOST_RETRY_MS % 1000) * 1000 };
	evtimer_add(ev_host_retry, &tv);
}

static void
host_tried(PGresult *res, void *arg)
{
	const char *holder;

	if (res == NULL)
		return;		/* the connection went: tried again when it is back */
	if (!store_ok(res) || PQntuples(res) != 1) {
		log_warnx("database: cannot take this host's lock: %s", store_error(res));
		host_retry_later();
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		if (host_first_refusal != 0 || host_holder[0])
			log_info("database: this host's name is ours again (%s let go)",
			    host_holder[0] ? host_holder : "the other session");
		host_held = 1;
		host_ever = 1;
		host_first_refusal = 0;
		host_holder[0] = '\0';
		pigeond_db_ready();
		return;
	}
	holder = PQgetisnull(res, 0, 1) ? "a connection that just let go" :
	    PQgetvalue(res, 0, 1);
	if (!host_ever) {
		int64_t now = pigeon_now_ms();
		if (host_first_refusal == 0)
			host_first_refusal = now;
		if (now - host_first_refusal >= HOST_GRACE_S * 1000) {
			log_errorx("refusing to start: another pigeond with host name %s is "
			    "connected to the database (%s): each would send again what "
			    "the other has in flight. Give this one its own hostname in "
			    "[pigeon], or stop the other one", env.conf.hostname, holder);
			host_refused = 1;
			event_base_loopexit(env.base, NULL);
			return;
		}
	}
	/* One line per holder, not one per retry. */
	if (strcmp(host_holder, holder) != 0) {
		if (host_ever)
			log_warnx("database: another pigeond with host name %s holds it "
			    "(%s); this host's modems stay paused until it lets go",
			    env.conf.hostname, holder);
		else
			log_warnx("database: another pigeond with host name %s is connected "
			    "(%s); waiting up to %d s for it to go (a previous pigeond's "
			    "session ending)", env.conf.hostname, holder, HOST_GRACE_S);
		snprintf(host_holder, sizeof(host_holder), "%s", holder);
	}
	host_retry_later();
}

static void
host_try(void)
{
	const char *params[] = { env.conf.hostname };

	if (!store_is_up(env.store) || host_held || host_refused)
		return;
	store_query(env.store, "SELECT * FROM pigeon_host_lock($1)", 1, params,
	    host_tried, NULL);
}

static void
host_on_retry(evutil_socket_t fd, short what, void *arg)
{
	host_try();
}

/* 1 while this pigeond holds its host name's lock (nothing of the host's
 * before: scheduler.c's reclaim of its sends waits for it). */
int
hostlock_host_held(void)
{
	return host_held;
}

/* 1 when pigeond stopped because another one has its host name. */
int
hostlock_refused(void)
{
	return host_refused;
}

void
hostlock_kick(void)
{
	struct link *m;

	if (!store_is_up(env.store) || env.draining || !host_held)
		return;
	TAILQ_FOREACH(m, &env.links, entry)
		if (!m->removed && (m->lock == LOCK_NONE || m->lock == LOCK_ELSEWHERE))
			lock_try(m);
}

static void
hostlock_on_retry(evutil_socket_t fd, short what, void *arg)
{
	hostlock_kick();
}

int
hostlock_init(void)
{
	struct timeval tv = { RETRY_MS / 1000, (RETRY_MS % 1000) * 1000 };

	ev_retry = event_new(env.base, -1, EV_PERSIST, hostlock_on_retry, NULL);
	ev_host_retry = evtimer_new(env.base, host_on_retry, NULL);
	if (ev_retry == NULL || ev_host_retry == NULL)
		return -1;
	return event_add(ev_retry, &tv);
}

/* First on a new connection: the host name's lock, then (through
 * pigeond_db_ready) the modems', so their answers come before any claim's. */
void
hostlock_db_up(void)
{
	host_held = 0;
	evtimer_del(ev_host_retry);
	host_try();
}

/*
 * The connection is gone and PostgreSQL has dropped (or will drop) its
 * locks: nothing is driven until they are held again. A lock held
 * elsewhere stays "elsewhere" for the supervisor until it is tried again.
 */
void
hostlock_db_down(void)
{
	struct link *m;
	int paused = 0;

	host_held = 0;
	TAILQ_FOREACH(m, &env.links, entry) {
		if (m->lock == LOCK_HELD && m->pid > 0)
			paused++;
		link_event(m, LEV_LOCK_LOST, "");
	}
	if (paused > 0)
		log_warnx("database: down; %d modem(s) paused (no send, no delete) "
		    "until this host holds their locks again", paused);
}

static void
unwaited(PGresult *res, void *arg)
{
	unwaiting--;
	if (res != NULL && !store_ok(res))
		log_warnx("database: clearing a modem's waiting mark: %s", store_error(res));
	if (env.draining)
		pigeond_check_drained();
}

/* This host no longer waits for a modem another host owns. */
static void
unwait(struct link *m)
{
	const char *params[] = { m->name, env.conf.hostname };

	if (m->lock == LOCK_ELSEWHERE && store_query(env.store,
	    "SELECT pigeon_modem_unwait($1, $2)", 2, params, unwaited, NULL) == 0)
		unwaiting++;
}

/* link.c: the link leaves; it records the lock as not held. */
void
hostlock_release(struct link *m)
{
	if (m->lock == LOCK_HELD && store_is_up(env.store))
		unlock_name(m->name);
	unwait(m);
}

/* SIGTERM: the owners' rows stop saying that this host waits. */
void
hostlock_stop(void)
{
	struct link *m;
	TAILQ_FOREACH(m, &env.links, entry)
		unwait(m);
}

int
hostlock_busy(void)
{
	return unwaiting > 0;
}

void
hostlock_free(void)
{
	if (ev_retry != NULL) {
		event_free(ev_retry);
		ev_retry = NULL;
	}
	if (ev_host_retry != NULL) {
		event_free(ev_host_retry);
		ev_host_retry = NULL;
	}
}
