/*
 * supervisor.c: one pigeon-modem process per configured modem, started
 * with fork+exec and a socketpair on its fd 3, restarted with backoff when
 * it exits, and its messages dispatched to inbound, reports and the
 * scheduler. It owns the modem state machine (modem_set_state is the one
 * place a state changes); modemctl.c decides what each modem should be
 * doing (operator, SIGHUP, host lock) and calls the functions below.
 *
 * A modem is driven only while this host holds its lock (hostlock.c): no
 * process is started without it, no send is handed over and no SMS is
 * deleted while it is not held.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "modemmsg.h"
#include "pigeond.h"
#include "proto.h"
#include "store.h"

#define RESTART_MIN_MS	1000
#define STABLE_SECONDS	60	/* a process that lived this long restarts fast */
#define FAILS_OFFLINE	5	/* temporary send failures in a row: restart it */

/* Removed modems: inbound parts and reports may still point at them. */
static struct modem_list removed = TAILQ_HEAD_INITIALIZER(removed);

const char *
modem_state_name(enum modem_state st)
{
	switch (st) {
	case MODEM_STARTING:	return "starting";
	case MODEM_ONLINE:	return "online";
	case MODEM_OFFLINE:	return "offline";
	case MODEM_DISABLED:	return "disabled";
	case MODEM_DRAINING:	return "draining";
	case MODEM_ELSEWHERE:	return "elsewhere";
	}
	return "unknown";
}

static void
modem_state_done(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("database: recording modem state: %s", store_error(res));
}

/* Writes the modem's state (and identification, if any) to the database. */
void
modem_record(struct modem *m)
{
	char *info = NULL;
	json_t *extra = m->info ? json_deep_copy(m->info) : json_object();

	/* The row is the lock holder's: another host may own this name. */
	if (!store_is_up(env.store) ||
	    (m->lock != LOCK_HELD && m->state != MODEM_ELSEWHERE)) {
		json_decref(extra);
		return;
	}
	/* Going offline because pigeond stops is not the modem's error. */
	if (m->state == MODEM_OFFLINE && m->reason[0] && !env.draining)
		json_object_set_new(extra, "error", json_string(m->reason));
	json_object_set_new(extra, "pid", m->pid > 0 ? json_integer(m->pid) : json_null());
	json_object_set_new(extra, "restarts", json_integer(m->restarts));
	info = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
	const char *params[] = { m->name, env.conf.hostname,
	    modem_state_name(m->state), m->reason, info };
	store_query(env.store,
	    "SELECT pigeon_modem_state($1, $2, $3, $4, $5::jsonb)", 5, params,
	    modem_state_done, NULL);
	free(info);
}

/* The one place a modem changes state; it logs and records the change. */
void
modem_set_state(struct modem *m, enum modem_state st, const char *reason)
{
	int changed = m->state != st || strcmp(m->reason, reason) != 0;

	if (!changed)
		return;
	if (m->state != st)
		log_info("modem %s: %s -> %s%s%s", m->name, modem_state_name(m->state),
		    modem_state_name(st), reason[0] ? ": " : "", reason);
	m->state = st;
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
	modem_record(m);
	if (st == MODEM_ONLINE)
		scheduler_kick();
}

struct modem *
modem_find(const char *name)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

int
modem_idle(const struct modem *m)
{
	return m->state == MODEM_ONLINE && m->want == MODEM_ONLINE &&
	    m->sending == 0 && m->bev != NULL && !m->respawn &&
	    m->lock == LOCK_HELD;
}

static int
modem_write(struct modem *m, json_t *msg)
{
	char *line;
	int rc = -1;

	if (m->bev == NULL) {
		json_decref(msg);
		return -1;
	}
	line = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (line == NULL)
		return -1;
	if (bufferevent_write(m->bev, line, strlen(line)) == 0 &&
	    bufferevent_write(m->bev, "\n", 1) == 0)
		rc = 0;
	free(line);
	return rc;
}

/* The most parts a text can need (GSM-7 or UCS-2), for the watchdog. */
static int
parts_estimate(const char *text, int max_parts)
{
	size_t chars = 0;
	int wide = 0, parts;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			chars++;
		if (*p >= 0x80)
			wide = 1;
	}
	if (wide)
		parts = chars <= 70 ? 1 : (int)((chars + 66) / 67);
	else
		parts = chars <= 160 ? 1 : (int)((chars + 152) / 153);
	if (max_parts > 0 && parts > max_parts)
		parts = max_parts;
	return parts > 10 ? 10 : parts < 1 ? 1 : parts;
}

int
modem_send(struct modem *m, int64_t id, const char *to, const char *text,
    int max_parts, const char *more)
{
	json_t *msg;

	if (!modem_idle(m))
		return -1;
	msg = json_pack("{s:s, s:I, s:s, s:s}", "type", "send",
	    "id", (json_int_t)id, "to", to, "text", text);
	if (max_parts > 0)
		json_object_set_new(msg, "max_parts", json_integer(max_parts));
	if (more != NULL)
		json_object_set_new(msg, "more", json_string(more));
	if (m->conf->report)
		json_object_set_new(msg, "report", json_true());
	if (modem_write(m, msg) == -1)
		return -1;
	m->sending = id;
	m->send_started = pigeon_now_ms();
	m->send_parts = parts_estimate(text, max_parts);
	return 0;
}

int
modem_delete(struct modem *m, unsigned generation, int folder, int location)
{
	/* A later process re-reports what an earlier one left undeleted;
	 * without the lock the SMS waits on the SIM for its owner. */
	if (m->generation != generation || m->lock != LOCK_HELD)
		return -1;
	return modem_write(m, json_pack("{s:s, s:i, s:i}", "type", "delete",
	    "folder", folder, "location", location));
}

/* The worker exits when its channel closes; the watchdog times that. */
static void
modem_close_channel(struct modem *m)
{
	if (m->bev) {
		bufferevent_free(m->bev);
		m->bev = NULL;
		m->last_heard = pigeon_now_ms();
	}
}

/*
 * Brings the process in line with the operator's wish once it is idle:
 * a disabled, removed or reconfigured modem's channel is closed (its
 * worker exits; supervisor_reap does the rest).
 */
void
modem_settle(struct modem *m)
{
	/* Draining shows at once; the send in flight still completes. */
	if (m->want == MODEM_DRAINING && m->state == MODEM_ONLINE)
		modem_set_state(m, MODEM_DRAINING, m->sending ?
		    "drained by the operator; finishing its send" :
		    "drained by the operator");
	else if (m->want == MODEM_DRAINING && m->state == MODEM_DRAINING &&
	    !m->sending && strstr(m->reason, "finishing"))
		modem_set_state(m, MODEM_DRAINING, "drained by the operator");
	if (m->sending || m->bev == NULL)
		return;
	if (m->want == MODEM_DISABLED || m->respawn || m->lock == LOCK_ELSEWHERE) {
		log_info("modem %s: stopping its process (%s)", m->name,
		    m->removed ? "removed" : m->respawn ? "configuration changed" :
		    m->want == MODEM_DISABLED ? "disabled" : "another host owns it");
		modem_close_channel(m);
	}
}

/*
 * Sends failing one after the other on one modem (no credit, no network,
 * a wedged modem) say more about the modem than about the recipients: it
 * goes offline and its process is restarted with backoff, while the
 * retries go to the other modems.
 */
void
modem_send_failed(struct modem *m, const char *why)
{
	char reason[256];

	if (++m->fails_in_row < FAILS_OFFLINE || m->state != MODEM_ONLINE)
		return;
	snprintf(reason, sizeof(reason), "%d sends in a row failed, the last: %s",
	    m->fails_in_row, why);
	log_warnx("modem %s: %s; restarting it", m->name, reason);
	modem_set_state(m, MODEM_OFFLINE, reason);
	if (!m->sending)
		modem_close_channel(m);
}

static void
modem_ready(struct modem *m, json_t *msg)
{
	json_decref(m->info);
	m->info = json_deep_copy(msg);
	json_object_del(m->info, "type");
	log_info("modem %s: %s %s, IMEI %s", m->name,
	    json_string_value(json_object_get(msg, "manufacturer")),
	    json_string_value(json_object_get(msg, "model")),
	    json_string_value(json_object_get(msg, "imei")));
	if (m->lock == LOCK_ELSEWHERE)
		return;		/* its channel is closing */
	if (m->want == MODEM_DRAINING)
		modem_set_state(m, MODEM_DRAINING, "drained by the operator");
	else
		modem_set_state(m, MODEM_ONLINE, "");
}

static void
modem_handle(struct modem *m, const char *line, size_t len)
{
	char bad[JSON_ERROR_TEXT_LENGTH];
	json_t *msg;
	const char *type = modem_msg_decode(line, len, &msg, bad, sizeof(bad));

	if (type == NULL) {
		log_warnx("modem %s: bad message from the worker (%s), ignored",
		    m->name, bad);
		return;
	}
	if (strcmp(type, "sms") == 0) {
		if (json_is_true(json_object_get(msg, "status_report")))
			reports_sms(m, msg);
		else
			inbound_sms(m, msg);
	} else if (strcmp(type, "sent") == 0) {
		scheduler_sent(m, msg);
		modem_settle(m);
	} else if (strcmp(type, "send_failed") == 0) {
		scheduler_send_failed(m, msg);
		modem_settle(m);
	} else if (strcmp(type, "ready") == 0) {
		modem_ready(m, msg);
	} else if (strcmp(type, "health") == 0) {
		watchdog_health(m, msg);
	} else if (strcmp(type, "deleted") == 0) {
		log_debug("modem %s: deleted location %lld", m->name,
		    (long long)json_integer_value(json_object_get(msg, "location")));
	} else if (strcmp(type, "delete_failed") == 0) {
		log_warnx("modem %s: cannot delete location %lld: %s", m->name,
		    (long long)json_integer_value(json_object_get(msg, "location")),
		    json_string_value(json_object_get(msg, "error")));
	} else if (strcmp(type, "error") == 0) {
		const char *stage = json_string_value(json_object_get(msg, "stage"));
		const char *err = json_string_value(json_object_get(msg, "error"));
		char why[200];
		snprintf(why, sizeof(why), "%s: %s", stage ? stage : "error",
		    err ? err : "unknown error");
		log_warnx("modem %s: %s", m->name, why);
		if (stage && (strcmp(stage, "connect") == 0 || strcmp(stage, "fatal") == 0))
			modem_set_state(m, MODEM_OFFLINE, why);
	} else if (strcmp(type, "pong") != 0) {
		log_debug("modem %s: unknown message type %s", m->name, type);
	}
	json_decref(msg);
}

static void
modem_on_read(struct bufferevent *bev, void *arg)
{
	struct modem *m = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	m->last_heard = pigeon_now_ms();
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len > PROTO_MAX_LINE)
			log_warnx("modem %s: message of %zu bytes dropped", m->name, len);
		else
			modem_handle(m, line, len);
		free(line);
		if (m->bev == NULL)
			return;
	}
	if (evbuffer_get_length(in) > PROTO_MAX_LINE) {
		log_warnx("modem %s: worker sends garbage; stopping it", m->name);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (m->pid > 0)
			kill(m->pid, SIGKILL);
	}
}

static void
modem_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct modem *m = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* The process is exiting; supervisor_reap does the rest. */
		log_debug("modem %s: channel closed", m->name);
		modem_close_channel(m);
	}
}

static void
modem_on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct modem *m = arg;
	if (!env.draining && m->pid == 0 && m->want != MODEM_DISABLED)
		modem_spawn(m);
}

static void
modem_restart_later(struct modem *m, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(m->ev_restart, &tv);
}

void
modem_spawn(struct modem *m)
{
	int sv[2];
	pid_t pid;
	char *argv[3];
	char title[64];

	/* Driven only while this host holds its lock: hostlock.c starts it. */
	if (m->lock != LOCK_HELD) {
		if (m->lock == LOCK_ELSEWHERE)
			supervisor_lock_elsewhere(m);
		else
			modem_set_state(m, MODEM_OFFLINE,
			    "waiting for the database to take its lock");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("modem %s: socketpair", m->name);
		goto retry;
	}
	pid_t parent = getpid();
	pid = fork();
	if (pid == -1) {
		log_warn("modem %s: fork", m->name);
		close(sv[0]);
		close(sv[1]);
		goto retry;
	}
	if (pid == 0) {
		/* A worker dies with pigeond, so the next one finds its modem free. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* dup2 clears close-on-exec on fd 3, and only there. */
		if (sv[1] == PROTO_FD) {
			fcntl(PROTO_FD, F_SETFD, 0);
		} else if (dup2(sv[1], PROTO_FD) == -1) {
			_exit(127);
		}
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* The modem's name in argv[0] shows in ps. */
		snprintf(title, sizeof(title), "pigeon-modem[%s]", m->name);
		argv[0] = title;
		argv[1] = env.verbose ? "-v" : NULL;
		argv[2] = NULL;
		execv(env.modem_program, argv);
		fprintf(stderr, "pigeon-modem %s: cannot run %s: %s\n", m->name,
		    env.modem_program, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	evutil_make_socket_nonblocking(sv[0]);
	m->bev = bufferevent_socket_new(env.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	if (m->bev == NULL) {
		close(sv[0]);
		kill(pid, SIGKILL);
		m->pid = pid;	/* reaped and restarted as any exit */
		return;
	}
	bufferevent_setcb(m->bev, modem_on_read, NULL, modem_on_event, m);
	bufferevent_enable(m->bev, EV_READ | EV_WRITE);
	m->pid = pid;
	if (m->generation++ > 0)
		m->restarts++;
	m->started_at = time(NULL);
	m->sending = 0;
	m->respawn = 0;
	m->fails_in_row = 0;
	m->last_heard = pigeon_now_ms();
	log_debug("modem %s: started process %d", m->name, (int)pid);
	modem_set_state(m, MODEM_STARTING, "");
	watchdog_start(m);

	modem_write(m, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i}",
	    "type", "config", "name", m->name, "device", m->conf->device,
	    "connection", m->conf->connection, "model", m->conf->model,
	    "logfile", m->conf->logfile, "logformat", m->conf->logformat,
	    "smsc", m->conf->smsc, "poll_ms", m->conf->poll_ms,
	    "health_ms", m->conf->health_seconds * 1000,
	    "send_wait_ms", m->conf->send_wait_seconds * 1000));
	return;
retry:
	modem_set_state(m, MODEM_OFFLINE, "cannot start the modem process");
	modem_restart_later(m, m->backoff_ms);
}

/* A modem process ended: settle its send, then restart it after the backoff. */
static void
modem_exited(struct modem *m, int status)
{
	char why[128];

	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "process exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "process killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "process ended");
	modem_close_channel(m);
	watchdog_stop(m);
	m->pid = 0;
	if (m->sending)
		scheduler_modem_lost(m, why);
	m->sending = 0;

	if (env.draining) {
		modem_set_state(m, MODEM_OFFLINE, "pigeond stopped");
		return;
	}
	if (m->removed) {
		modem_set_state(m, MODEM_DISABLED, "removed from the configuration");
		supervisor_set_aside(m);
		return;
	}
	if (m->want == MODEM_DISABLED) {
		modem_set_state(m, MODEM_DISABLED, "disabled by the operator");
		return;
	}
	if (m->lock == LOCK_ELSEWHERE) {
		supervisor_lock_elsewhere(m);
		return;
	}
	if (m->respawn) {
		log_info("modem %s: restarting with its new configuration", m->name);
		m->backoff_ms = RESTART_MIN_MS;
		modem_set_state(m, MODEM_OFFLINE, "restarting: configuration changed");
		modem_restart_later(m, 0);
		return;
	}
	if (m->state != MODEM_OFFLINE && time(NULL) - m->started_at >= STABLE_SECONDS)
		m->backoff_ms = RESTART_MIN_MS;
	/* Keep the worker's own explanation (e.g. cannot connect) if it gave one. */
	if (m->state != MODEM_OFFLINE || m->reason[0] == '\0')
		modem_set_state(m, MODEM_OFFLINE, why);
	log_info("modem %s: %s; restarting in %d ms", m->name, why, m->backoff_ms);
	modem_restart_later(m, m->backoff_ms);
	m->backoff_ms *= 2;
	if (m->backoff_ms > env.conf.restart_max_seconds * 1000)
		m->backoff_ms = env.conf.restart_max_seconds * 1000;
}

void
supervisor_reap(void)
{
	pid_t pid;
	int status;
	struct modem *m;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(m, &env.modems, entry)
			if (m->pid == pid)
				break;
		if (m != NULL)
			modem_exited(m, status);
	}
	if (env.draining)
		pigeond_check_drained();
}

struct modem *
modem_new(const struct modem_conf *conf)
{
	struct modem *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->conf = config_modem_copy(conf)) == NULL ||
	    ratelimit_init(&m->rate, m->conf) == -1 ||
	    (m->ev_restart = evtimer_new(env.base, modem_on_restart, m)) == NULL) {
		if (m != NULL) {
			config_modem_free(m->conf);
			ratelimit_free(&m->rate);
			free(m);
		}
		return NULL;
	}
	m->name = m->conf->name;
	m->want = !conf->enabled ? MODEM_DISABLED : conf->drain ? MODEM_DRAINING :
	    MODEM_ONLINE;
	/* Its first state, recorded by supervisor_start or the reload. */
	m->state = m->want == MODEM_DISABLED ? MODEM_DISABLED : MODEM_OFFLINE;
	if (m->state == MODEM_DISABLED)
		snprintf(m->reason, sizeof(m->reason), "enabled = no in the configuration");
	m->backoff_ms = RESTART_MIN_MS;
	return m;
}

static void
modem_free(struct modem *m)
{
	modem_close_channel(m);
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
	}
	watchdog_stop(m);
	event_free(m->ev_restart);
	json_decref(m->info);
	json_decref(m->health);
	ratelimit_free(&m->rate);
	config_modem_free(m->conf);
	free(m);
}

/* A removed modem whose process is gone: kept aside, as inbound parts
 * and reports may still point at it. */
void
supervisor_set_aside(struct modem *m)
{
	hostlock_release(m);
	TAILQ_REMOVE(&env.modems, m, entry);
	TAILQ_INSERT_TAIL(&removed, m, entry);
}

/* Starts the process now, with the shortest backoff. */
void
modem_start_now(struct modem *m)
{
	evtimer_del(m->ev_restart);
	m->backoff_ms = RESTART_MIN_MS;
	modem_spawn(m);
}

int
supervisor_init(void)
{
	TAILQ_INIT(&env.modems);
	for (size_t i = 0; i < env.conf.nmodems; i++) {
		struct modem *m = modem_new(&env.conf.modems[i]);
		if (m == NULL)
			return -1;
		TAILQ_INSERT_TAIL(&env.modems, m, entry);
	}
	return 0;
}

void
supervisor_start(void)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry) {
		if (m->want != MODEM_DISABLED)
			modem_spawn(m);
		else
			modem_record(m);
	}
}

/* The database is back: record every modem's current state. */
void
supervisor_db_up(void)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry)
		modem_record(m);
}

/* Closing a channel makes its worker exit; supervisor_reap sees it go. */
void
supervisor_stop(void)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry) {
		evtimer_del(m->ev_restart);
		modem_close_channel(m);
	}
}

int
supervisor_busy(void)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry)
		if (m->pid > 0)
			return 1;
	return 0;
}

void
supervisor_free(void)
{
	struct modem *m;
	while ((m = TAILQ_FIRST(&env.modems)) != NULL) {
		TAILQ_REMOVE(&env.modems, m, entry);
		modem_free(m);
	}
	while ((m = TAILQ_FIRST(&removed)) != NULL) {
		TAILQ_REMOVE(&removed, m, entry);
		modem_free(m);
	}
}
