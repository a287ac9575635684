/*
 * supervisor.c: one pigeon-modem process per configured modem, started
 * with fork+exec and a socketpair on its fd 3, restarted with backoff when
 * it exits, and its messages dispatched to inbound and the scheduler.
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
#include "pigeond.h"
#include "proto.h"
#include "store.h"

#define RESTART_MIN_MS	1000
#define RESTART_MAX_MS	60000
#define STABLE_SECONDS	60	/* a process that lived this long restarts fast */

static void modem_spawn(struct modem *);

const char *
modem_state_name(enum modem_state st)
{
	switch (st) {
	case MODEM_STARTING:	return "starting";
	case MODEM_ONLINE:	return "online";
	case MODEM_OFFLINE:	return "offline";
	case MODEM_DISABLED:	return "disabled";
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
static void
modem_record(struct modem *m)
{
	char *info = NULL;
	json_t *extra = m->info ? json_deep_copy(m->info) : json_object();

	if (!store_is_up(env.store)) {
		json_decref(extra);
		return;
	}
	if (m->state == MODEM_OFFLINE && m->reason[0])
		json_object_set_new(extra, "error", json_string(m->reason));
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
static void
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

int
modem_send(struct modem *m, int64_t id, const char *to, const char *text,
    int max_parts, const char *more)
{
	json_t *msg;

	if (m->state != MODEM_ONLINE || m->sending)
		return -1;
	msg = json_pack("{s:s, s:I, s:s, s:s}", "type", "send",
	    "id", (json_int_t)id, "to", to, "text", text);
	if (max_parts > 0)
		json_object_set_new(msg, "max_parts", json_integer(max_parts));
	if (more != NULL)
		json_object_set_new(msg, "more", json_string(more));
	if (modem_write(m, msg) == -1)
		return -1;
	m->sending = id;
	return 0;
}

int
modem_delete(struct modem *m, unsigned generation, int folder, int location)
{
	/* A later process re-reports what an earlier one left undeleted. */
	if (m->generation != generation)
		return -1;
	return modem_write(m, json_pack("{s:s, s:i, s:i}", "type", "delete",
	    "folder", folder, "location", location));
}

static void
modem_handle(struct modem *m, const char *line)
{
	json_error_t jerr;
	json_t *msg = json_loads(line, 0, &jerr);
	const char *type;

	if (msg == NULL || !json_is_object(msg) ||
	    (type = json_string_value(json_object_get(msg, "type"))) == NULL) {
		log_warnx("modem %s: bad message from the worker (%s), ignored",
		    m->name, msg ? "no type" : jerr.text);
		json_decref(msg);
		return;
	}
	if (strcmp(type, "sms") == 0) {
		inbound_sms(m, msg);
	} else if (strcmp(type, "sent") == 0) {
		scheduler_sent(m, msg);
	} else if (strcmp(type, "send_failed") == 0) {
		scheduler_send_failed(m, msg);
	} else if (strcmp(type, "ready") == 0) {
		json_decref(m->info);
		m->info = json_deep_copy(msg);
		json_object_del(m->info, "type");
		log_info("modem %s: %s %s, IMEI %s", m->name,
		    json_string_value(json_object_get(msg, "manufacturer")),
		    json_string_value(json_object_get(msg, "model")),
		    json_string_value(json_object_get(msg, "imei")));
		modem_set_state(m, MODEM_ONLINE, "");
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

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len > PROTO_MAX_LINE)
			log_warnx("modem %s: message of %zu bytes dropped", m->name, len);
		else
			modem_handle(m, line);
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
modem_close_channel(struct modem *m)
{
	if (m->bev) {
		bufferevent_free(m->bev);
		m->bev = NULL;
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
	if (!env.draining && m->pid == 0 && m->conf->enabled)
		modem_spawn(m);
}

static void
modem_spawn(struct modem *m)
{
	int sv[2];
	pid_t pid;
	char *argv[3];
	char title[64];

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
	m->generation++;
	m->started_at = time(NULL);
	m->sending = 0;
	log_debug("modem %s: started process %d", m->name, (int)pid);
	modem_set_state(m, MODEM_STARTING, "");

	modem_write(m, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}",
	    "type", "config", "name", m->name, "device", m->conf->device,
	    "connection", m->conf->connection, "model", m->conf->model,
	    "logfile", m->conf->logfile, "logformat", m->conf->logformat,
	    "smsc", m->conf->smsc, "poll_ms", m->conf->poll_ms));
	return;
retry:
	modem_set_state(m, MODEM_OFFLINE, "cannot start the modem process");
	struct timeval tv = { m->backoff_ms / 1000, (m->backoff_ms % 1000) * 1000 };
	evtimer_add(m->ev_restart, &tv);
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
	m->pid = 0;
	if (m->sending)
		scheduler_modem_lost(m, why);
	m->sending = 0;

	if (env.draining) {
		modem_set_state(m, MODEM_OFFLINE, "pigeond stopped");
		return;
	}
	if (m->state == MODEM_ONLINE && time(NULL) - m->started_at >= STABLE_SECONDS)
		m->backoff_ms = RESTART_MIN_MS;
	/* Keep the worker's own explanation (e.g. cannot connect) if it gave one. */
	if (m->state != MODEM_OFFLINE || m->reason[0] == '\0')
		modem_set_state(m, MODEM_OFFLINE, why);
	log_info("modem %s: %s; restarting in %d ms", m->name, why, m->backoff_ms);
	struct timeval tv = { m->backoff_ms / 1000, (m->backoff_ms % 1000) * 1000 };
	evtimer_add(m->ev_restart, &tv);
	m->backoff_ms *= 2;
	if (m->backoff_ms > RESTART_MAX_MS)
		m->backoff_ms = RESTART_MAX_MS;
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

int
supervisor_init(void)
{
	TAILQ_INIT(&env.modems);
	for (size_t i = 0; i < env.conf.nmodems; i++) {
		struct modem *m = calloc(1, sizeof(*m));
		if (m == NULL)
			return -1;
		m->conf = &env.conf.modems[i];
		m->name = m->conf->name;
		m->state = m->conf->enabled ? MODEM_OFFLINE : MODEM_DISABLED;
		m->backoff_ms = RESTART_MIN_MS;
		m->ev_restart = evtimer_new(env.base, modem_on_restart, m);
		if (m->ev_restart == NULL) {
			free(m);
			return -1;
		}
		TAILQ_INSERT_TAIL(&env.modems, m, entry);
	}
	return 0;
}

void
supervisor_start(void)
{
	struct modem *m;
	TAILQ_FOREACH(m, &env.modems, entry)
		if (m->conf->enabled)
			modem_spawn(m);
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
		modem_close_channel(m);
		if (m->pid > 0) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, NULL, 0);
		}
		event_free(m->ev_restart);
		json_decref(m->info);
		free(m);
	}
}
