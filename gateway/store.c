/* store.c: libpq in the libevent loop. See store.h for the contract. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "store.h"

#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	30000
/* A cancel request not handled by then: the connection is dropped. */
#define CANCEL_WAIT_MS	5000

/* TCP defaults when the conninfo sets none (store_connect). */
#define STORE_KEEPALIVES_IDLE		"10"
#define STORE_KEEPALIVES_INTERVAL	"5"
#define STORE_KEEPALIVES_COUNT		"3"
#define STORE_TCP_USER_TIMEOUT		"30000"
/* Each session's settings (store_connect says why each). */
#define STORE_OPTIONS	"-c search_path=public,pg_temp -c jit=off " \
	"-c client_connection_check_interval=2000"

enum store_state {
	STORE_DOWN,		/* waiting for the reconnect timer */
	STORE_CONNECTING,	/* PQconnectPoll in progress */
	STORE_SETUP,		/* connected; the owner runs its set-up queries */
	STORE_UP,		/* open to every caller */
};

struct query {
	TAILQ_ENTRY(query) entry;
	char		*sql;
	int		 nparams;
	char		**params;
	int		 script;	/* several statements, no parameters */
	int		 durable;	/* sent again after a lost connection */
	int		 dropped;	/* cancelled before it was sent: never is */
	store_result_cb	 cb;
	void		*arg;
};
TAILQ_HEAD(query_list, query);

struct store {
	struct event_base *base;
	char		*conninfo;
	char		*appname;	/* fallback_application_name, or NULL */
	int		 utc;		/* the session's TimeZone is UTC */
	PGconn		*conn;
	enum store_state state;
	struct event	*ev_sock;	/* read, persistent, while connected */
	struct event	*ev_write;	/* one-shot while output is pending */
	struct event	*ev_poll;	/* one-shot during PQconnectPoll */
	struct event	*ev_retry;
	struct event	*ev_fail;	/* a send failed: reset on the next turn */
	char		*fail_why;
	int		 backoff_ms;
	unsigned	 reconnects;
	int		 ever_up;
	struct query_list queue;	/* head is in flight when busy */
	struct query_list held;		/* durable queries waiting for the connection */
	size_t		 ndurable;	/* durable queries not answered yet */
	int		 busy;
	PGresult	*pending;	/* result kept until the NULL terminator */
	pid_t		 cancel_pid;	/* the cancel request's helper (store_cancel) */
	struct event	*ev_cancel;	/* its pipe, while the request is under way */
	store_connect_cb on_connect;
	store_state_cb	 on_state;
	store_notify_cb	 on_notify;
	void		*cb_arg;
};

static void store_connect(struct store *);
static void store_pump(struct store *);
static void store_on_socket(evutil_socket_t, short, void *);

static void
store_on_retry(evutil_socket_t fd, short what, void *arg)
{
	store_connect(arg);
}

static void
store_on_fail(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;

	if (s->conn != NULL)
		store_reset(s, s->fail_why ? s->fail_why : "cannot send");
}

struct store *
store_new(struct event_base *base, const char *conninfo)
{
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->base = base;
	s->conninfo = strdup(conninfo);
	TAILQ_INIT(&s->queue);
	TAILQ_INIT(&s->held);
	s->backoff_ms = BACKOFF_MIN_MS;
	s->ev_retry = evtimer_new(base, store_on_retry, s);
	s->ev_fail = event_new(base, -1, 0, store_on_fail, s);
	if (s->conninfo == NULL || s->ev_retry == NULL || s->ev_fail == NULL) {
		store_free(s);
		return NULL;
	}
	return s;
}

void
store_set_callbacks(struct store *s, store_connect_cb c, store_state_cb st,
    store_notify_cb n, void *arg)
{
	s->on_connect = c;
	s->on_state = st;
	s->on_notify = n;
	s->cb_arg = arg;
}

int
store_is_up(const struct store *s)
{
	return s->state == STORE_UP;
}

unsigned
store_reconnects(const struct store *s)
{
	return s->reconnects;
}

size_t
store_durable_pending(const struct store *s)
{
	return s->ndurable;
}

static void
query_free(struct query *q)
{
	for (int i = 0; i < q->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q->sql);
	free(q);
}

static void
store_close_events(struct store *s)
{
	if (s->ev_sock) {
		event_free(s->ev_sock);
		s->ev_sock = NULL;
	}
	if (s->ev_write) {
		event_free(s->ev_write);
		s->ev_write = NULL;
	}
	if (s->ev_poll) {
		event_free(s->ev_poll);
		s->ev_poll = NULL;
	}
}

/* Completes a query: its callback, then it is gone. */
static void
query_done(struct store *s, struct query *q, PGresult *res)
{
	if (q->durable)
		s->ndurable--;
	if (q->cb)
		q->cb(res, q->arg);
	query_free(q);
}

/*
 * The connection is lost: every queued query's outcome is unknown. Plain
 * ones complete with NULL; durable ones wait, in order, to be sent again
 * (with keep_durable), or complete with NULL too (the store is freed).
 */
static void
store_fail_queue(struct store *s, int keep_durable)
{
	struct query *q;

	if (s->pending) {
		PQclear(s->pending);
		s->pending = NULL;
	}
	s->busy = 0;
	while ((q = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, q, entry);
		if (q->durable && keep_durable)
			TAILQ_INSERT_TAIL(&s->held, q, entry);
		else
			query_done(s, q, NULL);
	}
	while (!keep_durable && (q = TAILQ_FIRST(&s->held)) != NULL) {
		TAILQ_REMOVE(&s->held, q, entry);
		query_done(s, q, NULL);
	}
}

/*
 * The cancel request's helper is let go: its connection is gone, or its
 * answer read. One still running is killed: its end of the pipe still
 * open, it has not exited, and so not been reaped (SIGCHLD is handled
 * in the loop, not here): the pid is still its own.
 */
static void
cancel_forget(struct store *s)
{
	char buf[64];
	ssize_t n;
	int fd;

	if (s->ev_cancel == NULL)
		return;
	fd = event_get_fd(s->ev_cancel);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n == -1 && errno == EAGAIN)
		kill(s->cancel_pid, SIGKILL);
	/* pigeond's SIGCHLD reaps it if it has not ended yet. */
	waitpid(s->cancel_pid, NULL, WNOHANG);
	event_free(s->ev_cancel);
	s->ev_cancel = NULL;
	close(fd);
	s->cancel_pid = 0;
}

void
store_reset(struct store *s, const char *why)
{
	int was_up = s->state == STORE_UP;

	/* Each connection says its own (their application_name, as
	 * pg_stat_activity shows them): one line a connection and attempt. */
	log_warnx("database (%s): %s; reconnecting in %d ms",
	    s->appname ? s->appname : "pigeond", why, s->backoff_ms);
	event_del(s->ev_fail);
	free(s->fail_why);
	s->fail_why = NULL;
	store_close_events(s);
	cancel_forget(s);
	if (s->conn) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	s->state = STORE_DOWN;
	store_fail_queue(s, 1);
	struct timeval tv = { s->backoff_ms / 1000, (s->backoff_ms % 1000) * 1000 };
	evtimer_add(s->ev_retry, &tv);
	s->backoff_ms *= 2;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	if (was_up && s->on_state)
		s->on_state(0, s->cb_arg);
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	store_close_events(s);
	cancel_forget(s);
	if (s->ev_retry)
		event_free(s->ev_retry);
	if (s->ev_fail)
		event_free(s->ev_fail);
	free(s->fail_why);
	s->on_state = NULL;
	store_fail_queue(s, 0);
	if (s->conn)
		PQfinish(s->conn);
	free(s->conninfo);
	free(s->appname);
	free(s);
}

static void
store_role_connected(struct store *s, void *arg)
{
	store_setup_done(s);
}

struct store *
store_open_role(struct event_base *base, const char *conninfo,
    const char *hostname, const char *role, store_state_cb on_state, int utc)
{
	struct store *s = store_new(base, conninfo);
	char app[128];

	if (s == NULL)
		return NULL;
	snprintf(app, sizeof(app), "pigeond %s %s", hostname, role);
	store_set_callbacks(s, store_role_connected, on_state, NULL, NULL);
	if (store_set_name(s, app) == -1) {
		store_free(s);
		return NULL;
	}
	s->utc = utc;
	store_start(s);
	return s;
}

size_t
store_queued(const struct store *s)
{
	const struct query *q;
	size_t n = 0;

	TAILQ_FOREACH(q, &s->queue, entry)
		n += !q->dropped;
	return n;
}

int
store_set_name(struct store *s, const char *application_name)
{
	free(s->appname);
	s->appname = strdup(application_name);
	return s->appname == NULL ? -1 : 0;
}

static void
store_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	int r = PQflush(s->conn);
	if (r == -1)
		store_reset(s, store_one_line(PQerrorMessage(s->conn)));
	else if (r == 1)
		event_add(s->ev_write, NULL);
}

/* Arms the events of an established connection. */
static int
store_arm(struct store *s)
{
	int fd = PQsocket(s->conn);

	store_close_events(s);
	s->ev_sock = event_new(s->base, fd, EV_READ | EV_PERSIST, store_on_socket, s);
	s->ev_write = event_new(s->base, fd, EV_WRITE, store_on_writable, s);
	if (s->ev_sock == NULL || s->ev_write == NULL)
		return -1;
	return event_add(s->ev_sock, NULL);
}

/* Server notices (e.g. "already exists, skipping") are not warnings. */
static void
store_on_notice(void *arg, const char *message)
{
	log_debug("database: %s", store_one_line(message));
}

static void
store_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	PostgresPollingStatusType st = PQconnectPoll(s->conn);
	short ev;

	switch (st) {
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		ev = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
		/* The socket may change between attempts (host lists). */
		if (s->ev_poll)
			event_free(s->ev_poll);
		s->ev_poll = event_new(s->base, PQsocket(s->conn), ev, store_on_poll, s);
		event_add(s->ev_poll, NULL);
		return;
	case PGRES_POLLING_FAILED:
		store_reset(s, store_one_line(PQerrorMessage(s->conn)));
		return;
	case PGRES_POLLING_OK:
	default:
		break;
	}
	if (PQsetnonblocking(s->conn, 1) == -1 || store_arm(s) == -1) {
		store_reset(s, "cannot set up the connection");
		return;
	}
	s->state = STORE_SETUP;
	if (s->ever_up)
		s->reconnects++;
	log_debug("database: connected");
	if (s->on_connect)
		s->on_connect(s, s->cb_arg);
	else
		store_setup_done(s);
}

static void
store_connect(struct store *s)
{
	if (s->state != STORE_DOWN)
		return;
	/*
	 * dbname with expand_dbname takes the whole conninfo (or URI). The
	 * keys before it are defaults the conninfo overrides: without them a
	 * cut (not closed) TCP path to the database is noticed only after the
	 * kernel's two hours of keepalive or its ~15 min of retransmissions,
	 * and the host would keep driving its modems that long. With them an
	 * idle connection is dropped about 25-40 s after the cut (keepalive
	 * probes from 10 s, every 5 s, 3 lost; tcp_user_timeout caps it at
	 * 30 s without an ACK), one waiting for an answer after 30 s
	 * (docs/scaling.md). They do nothing on a unix socket. The
	 * search_path default keeps another role's objects in another schema,
	 * or a temporary one, from standing in for pigeond's (the PL/pgSQL
	 * functions also set their own). JIT is off: pigeond's statements are
	 * short, and a batch's unnest() or jsonb rows make the planner's
	 * estimates large enough to compile each one (~250 ms a receipt batch,
	 * more than the statement itself; issue 13). A backend checks every
	 * 2 s that pigeond is still there while a statement runs
	 * (client_connection_check_interval, PostgreSQL 14, which pigeond's
	 * functions need): a connection dropped because its cancel got no
	 * answer (store_on_cancel) left its statement waiting on, and an API
	 * write answered 503 was committed once its lock went.
	 */
	const char *keys[] = { "keepalives", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", "options", "dbname",
	    "fallback_application_name", NULL };
	const char *values[] = { "1", STORE_KEEPALIVES_IDLE, STORE_KEEPALIVES_INTERVAL,
	    STORE_KEEPALIVES_COUNT, STORE_TCP_USER_TIMEOUT,
	    s->utc ? STORE_OPTIONS " -c TimeZone=UTC" : STORE_OPTIONS,
	    s->conninfo, s->appname, NULL };
	s->conn = PQconnectStartParams(keys, values, 1);
	if (s->conn == NULL) {
		store_reset(s, "out of memory");
		return;
	}
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		store_reset(s, store_one_line(PQerrorMessage(s->conn)));
		return;
	}
	PQsetNoticeProcessor(s->conn, store_on_notice, NULL);
	s->state = STORE_CONNECTING;
	s->ev_poll = event_new(s->base, PQsocket(s->conn), EV_WRITE, store_on_poll, s);
	event_add(s->ev_poll, NULL);
}

void
store_start(struct store *s)
{
	store_connect(s);
}

void
store_setup_done(struct store *s)
{
	if (s->state != STORE_SETUP)
		return;
	s->state = STORE_UP;
	s->ever_up = 1;
	s->backoff_ms = BACKOFF_MIN_MS;
	log_info("database: ready");
	/* The owner's own first queries (host locks) go before the
	 * durable ones held since the connection was lost. */
	if (s->on_state)
		s->on_state(1, s->cb_arg);
	if (s->state == STORE_UP && !TAILQ_EMPTY(&s->held)) {
		TAILQ_CONCAT(&s->queue, &s->held, entry);
		store_pump(s);
	}
}

static int
store_enqueue(struct store *s, const char *sql, int nparams,
    const char *const *params, int script, int durable, store_result_cb cb,
    void *arg)
{
	struct query *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -1;
	q->sql = strdup(sql);
	q->nparams = nparams;
	q->script = script;
	q->durable = durable;
	q->cb = cb;
	q->arg = arg;
	if (nparams > 0)
		q->params = calloc(nparams, sizeof(char *));
	if (q->sql == NULL || (nparams > 0 && q->params == NULL)) {
		query_free(q);
		return -1;
	}
	for (int i = 0; i < nparams; i++) {
		if (params[i] && (q->params[i] = strdup(params[i])) == NULL) {
			query_free(q);
			return -1;
		}
	}
	if (durable) {
		s->ndurable++;
		if (s->state != STORE_UP) {
			TAILQ_INSERT_TAIL(&s->held, q, entry);
			return 0;
		}
	}
	TAILQ_INSERT_TAIL(&s->queue, q, entry);
	store_pump(s);
	return 0;
}

int
store_query(struct store *s, const char *sql, int nparams,
    const char *const *params, store_result_cb cb, void *arg)
{
	if (s->state != STORE_UP)
		return -1;
	return store_enqueue(s, sql, nparams, params, 0, 0, cb, arg);
}

int
store_durable(struct store *s, const char *sql, int nparams,
    const char *const *params, store_result_cb cb, void *arg)
{
	return store_enqueue(s, sql, nparams, params, 0, 1, cb, arg);
}

int
store_query_setup(struct store *s, const char *sql, int nparams,
    const char *const *params, store_result_cb cb, void *arg)
{
	if (s->state != STORE_SETUP)
		return -1;
	return store_enqueue(s, sql, nparams, params, 0, 0, cb, arg);
}

int
store_script_setup(struct store *s, const char *sql, store_result_cb cb, void *arg)
{
	if (s->state != STORE_SETUP)
		return -1;
	return store_enqueue(s, sql, 0, NULL, 1, 0, cb, arg);
}

/*
 * A send failed (the connection is gone): reset on the next loop turn,
 * never inside store_query or store_durable. Reset there, the queue's
 * callbacks ran before the call returned, and a caller that set its
 * "in flight" flag on success (scheduler.c's claiming, fanout.c's
 * running) set it after the callback had cleared it: held for good,
 * claims stopped.
 */
static void
store_reset_soon(struct store *s)
{
	if (s->fail_why == NULL)
		s->fail_why = strdup(store_one_line(PQerrorMessage(s->conn)));
	event_active(s->ev_fail, EV_TIMEOUT, 0);
}

/*
 * Sends the head of the queue when nothing is in flight, and no cancel
 * request is under way: sent later, it could stop the next statement
 * instead. Queries cancelled before they were sent complete with NULL.
 */
static void
store_pump(struct store *s)
{
	struct query *q;
	int ok;

	for (;;) {
		if (s->busy || s->ev_cancel != NULL ||
		    (s->state != STORE_UP && s->state != STORE_SETUP))
			return;
		if ((q = TAILQ_FIRST(&s->queue)) == NULL)
			return;
		if (!q->dropped)
			break;
		TAILQ_REMOVE(&s->queue, q, entry);
		query_done(s, q, NULL);
	}
	if (q->script)
		ok = PQsendQuery(s->conn, q->sql);
	else
		ok = PQsendQueryParams(s->conn, q->sql, q->nparams, NULL,
		    (const char *const *)q->params, NULL, NULL, 0);
	if (!ok) {
		store_reset_soon(s);
		return;
	}
	s->busy = 1;
	int r = PQflush(s->conn);
	if (r == -1)
		store_reset_soon(s);
	else if (r == 1)
		event_add(s->ev_write, NULL);
}

static void
store_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	PGnotify *n;
	PGresult *res;
	struct query *q;

	if (!PQconsumeInput(s->conn)) {
		store_reset(s, store_one_line(PQerrorMessage(s->conn)));
		return;
	}
	while ((n = PQnotifies(s->conn)) != NULL) {
		if (s->on_notify)
			s->on_notify(n->relname, n->extra, s->cb_arg);
		PQfreemem(n);
	}
	while (s->busy && !PQisBusy(s->conn)) {
		res = PQgetResult(s->conn);
		if (res != NULL) {
			/* Of several results (a script), keep the first error. */
			if (s->pending == NULL || (store_ok(s->pending) && !store_ok(res))) {
				PQclear(s->pending);
				s->pending = res;
			} else {
				PQclear(res);
			}
			continue;
		}
		q = TAILQ_FIRST(&s->queue);
		TAILQ_REMOVE(&s->queue, q, entry);
		s->busy = 0;
		res = s->pending;
		s->pending = NULL;
		query_done(s, q, res);
		PQclear(res);
		if (s->conn == NULL)	/* the callback reset the store */
			return;
		store_pump(s);
	}
	if (PQstatus(s->conn) == CONNECTION_BAD)
		store_reset(s, "connection closed by the server");
}

/*
 * The cancel request's answer, from its helper: "1" once PostgreSQL has
 * it (PQcancel returns when the server has closed the request's
 * connection, after signalling the backend), "0" and libpq's error
 * otherwise; nothing when the helper died. Without that answer within
 * CANCEL_WAIT_MS, the request may still arrive and stop whatever the
 * connection runs then: the connection is dropped instead, as when lost.
 */
static void
store_on_cancel(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	struct timeval tv = { CANCEL_WAIT_MS / 1000, (CANCEL_WAIT_MS % 1000) * 1000 };
	char msg[320];
	ssize_t n = 0;

	if (what & EV_READ) {
		n = read(fd, msg, sizeof(msg) - 1);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			event_add(s->ev_cancel, &tv);
			return;
		}
	}
	msg[n > 0 ? n : 0] = '\0';
	cancel_forget(s);
	if (n > 0 && msg[0] == '1') {
		log_debug("database: cancel request delivered");
		store_pump(s);
		return;
	}
	store_reset(s, n > 1 ? store_one_line(msg + 1) : (what & EV_TIMEOUT) ?
	    "the cancel request got no answer" : "the cancel request failed");
}

/*
 * PQcancel blocks (a connection to the server, and its close), so it
 * runs in a child: it is the one libpq call made to run in a signal
 * handler (no allocation, no lock), so the child of a fork may call it
 * before _exit. The child keeps nothing of pigeond's but the pipe.
 */
static int
cancel_start(struct store *s)
{
	struct timeval tv = { CANCEL_WAIT_MS / 1000, (CANCEL_WAIT_MS % 1000) * 1000 };
	PGcancel *c = PQgetCancel(s->conn);
	int p[2];
	pid_t pid;

	if (c == NULL)
		return -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		PQfreeCancel(c);
		return -1;
	}
	if ((pid = fork()) == 0) {
		char msg[300] = "1";

		if (p[1] != 3 && dup2(p[1], 3) == -1)
			_exit(1);
		if (close_range(4, ~0U, 0) == -1)
			for (int fd = 4; fd < 65536; fd++)
				close(fd);
		if (!PQcancel(c, msg + 1, sizeof(msg) - 1))
			msg[0] = '0';
		else
			msg[1] = '\0';
		if (write(3, msg, strlen(msg)) == -1)
			_exit(1);
		_exit(0);
	}
	PQfreeCancel(c);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		return -1;
	}
	s->cancel_pid = pid;
	if ((s->ev_cancel = event_new(s->base, p[0], EV_READ, store_on_cancel, s)) == NULL ||
	    event_add(s->ev_cancel, &tv) == -1) {
		if (s->ev_cancel != NULL)
			event_free(s->ev_cancel);
		s->ev_cancel = NULL;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, WNOHANG);
		close(p[0]);
		s->cancel_pid = 0;
		return -1;
	}
	return 0;
}

int
store_cancel(struct store *s, store_result_cb cb, void *arg)
{
	struct query *q;

	TAILQ_FOREACH(q, &s->queue, entry)
		if (q->cb == cb && q->arg == arg && !q->durable && !q->dropped)
			break;
	if (q == NULL)
		return -1;
	if (q != TAILQ_FIRST(&s->queue) || !s->busy) {
		q->dropped = 1;
		return 1;
	}
	if (s->ev_cancel != NULL)
		return 0;
	if (cancel_start(s) == -1) {
		log_warn("database: cannot send a cancel request");
		return -1;
	}
	return 0;
}
