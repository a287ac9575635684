/*
 * httpguard.c: what keeps the HTTP listener, and so pigeond, alive under
 * hostile clients (issue 14, item 9). evhttp alone has no connection cap,
 * only an inactivity timeout (a byte every few seconds keeps a connection
 * for ever), reads a whole body before any handler can look at the token,
 * and its listener, when accept() fails with EMFILE, logs and retries at
 * once: a core spinning and the log filling while no descriptor is left
 * to restart a modem worker. So:
 *
 * - every connection is seen as it is accepted (evhttp_set_bevcb: we make
 *   its bufferevent, and find its evhttp_connection through the callbacks
 *   evhttp puts on it) and counted, in all and per client address; over a
 *   cap it is closed at once, and at the total cap the listener pauses;
 * - each connection has a deadline: one request's head and body, or the
 *   writing of an answer, within [http] request_seconds, else it is
 *   closed (the time a handler waits for the database does not count);
 * - a request head that announces a body (over HG_UNAUTH_BODY bytes or
 *   chunked) without the right bearer token (http.c's token_ok: one of
 *   the operators', or one shaped as a business key) closes the
 *   connection before the body is read;
 * - accept() errors pause the listener with backoff and are logged once
 *   per HG_LOG_EVERY_S with a count;
 * - the cap is lowered to fit RLIMIT_NOFILE less a reserve for modem
 *   workers, the database and webhooks;
 * - public routes are rate-limited per client address (token buckets).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "httpguard.h"
#include "httphead.h"
#include "log.h"
#include "pigeond.h"

#define HG_UNAUTH_BODY		1024	/* body bytes allowed without the token */
#define HG_HEAD_MAX		(16 * 1024)	/* evhttp's own header cap */
#define HG_LOG_EVERY_S		10
#define HG_BACKOFF_MIN_MS	100
#define HG_BACKOFF_MAX_MS	2000
#define HG_FD_RESERVE		64	/* database, webhooks, logs, spare */
#define HG_DLR_IN_RESERVE	32	/* [http] dlr_connections it holds */
#define HG_FD_PER_MODEM		8	/* a worker's channel, its restart */
#define HG_MIN_CONNS		8	/* clients let in, however low the limit */
#define HG_ADDRS_MAX		4096	/* addresses remembered for rate limits */

struct hg_addr {
	TAILQ_ENTRY(hg_addr) entry;
	char		 ip[HTTP_CLIENT_KEY];	/* http_client_key */
	int		 conns;
	double		 public_tokens, search_tokens;
	int64_t		 at_ms;		/* when the buckets were last filled */
};

struct hg_conn {
	TAILQ_ENTRY(hg_conn) entry;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;	/* NULL until adopted */
	struct evbuffer_cb_entry *watch;	/* on the input buffer */
	struct hg_addr	*addr;
	struct event	*ev;		/* adoption, then the deadline */
	int		 busy;		/* requests with the router, unanswered */
	int		 at_head;	/* the next bytes begin a request */
	int		 searched;	/* the buffer's bytes searched for its end */
	int		 refuse;	/* close at the next turn of the loop */
};

static TAILQ_HEAD(, hg_conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(hg_addr_list_, hg_addr) addrs = TAILQ_HEAD_INITIALIZER(addrs);
static int nconns, naddrs, max_conns;
static struct evconnlistener *listener;
static struct event *ev_resume;
static int paused_full, paused_error, backoff_ms;
static int (*token_ok)(const char *);
/* Counts of what was refused, logged at most once per HG_LOG_EVERY_S. */
static struct { long accept_errors, over_cap, timeouts, early_refusals; } said, seen;
static int64_t said_at_ms;
static int last_errno;
static int cap_now(void);
static long cap_said;

static void
hg_say(void)
{
	int64_t now = pigeon_now_ms();

	if (now - said_at_ms < HG_LOG_EVERY_S * 1000)
		return;
	if (seen.accept_errors != said.accept_errors)
		log_warnx("http: accept failed %ld times (%s); the listener pauses up "
		    "to %d ms each time", seen.accept_errors - said.accept_errors,
		    strerror(last_errno), HG_BACKOFF_MAX_MS);
	if (seen.over_cap != said.over_cap)
		log_warnx("http: %ld connections refused (max_connections %d, "
		    "max_connections_per_address %d)", seen.over_cap - said.over_cap,
		    max_conns, env.conf.http_max_conns_addr);
	if (seen.timeouts != said.timeouts)
		log_info("http: %ld connections closed after request_seconds (%d s)",
		    seen.timeouts - said.timeouts, env.conf.http_request_s);
	if (seen.early_refusals != said.early_refusals)
		log_info("http: %ld requests with a body but no valid token closed "
		    "before their body", seen.early_refusals - said.early_refusals);
	said = seen;
	said_at_ms = now;
}

static void
listener_update(void)
{
	if (listener == NULL)
		return;
	if (paused_full || paused_error)
		evconnlistener_disable(listener);
	else
		evconnlistener_enable(listener);
}

static struct hg_addr *
addr_get(const char *ip)
{
	struct hg_addr *a;

	TAILQ_FOREACH(a, &addrs, entry)
		if (strcmp(a->ip, ip) == 0) {
			/* Most recent first: the oldest idle one is evicted. */
			TAILQ_REMOVE(&addrs, a, entry);
			TAILQ_INSERT_HEAD(&addrs, a, entry);
			return a;
		}
	if (naddrs >= HG_ADDRS_MAX) {
		TAILQ_FOREACH_REVERSE(a, &addrs, hg_addr_list_, entry)
			if (a->conns == 0)
				break;
		if (a == NULL)
			return NULL;
		TAILQ_REMOVE(&addrs, a, entry);
		naddrs--;
		free(a);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->ip, sizeof(a->ip), "%s", ip);
	a->public_tokens = env.conf.http_public_rate;
	a->search_tokens = env.conf.http_search_rate;
	a->at_ms = pigeon_now_ms();
	TAILQ_INSERT_HEAD(&addrs, a, entry);
	naddrs++;
	return a;
}

static void
conn_free(struct hg_conn *c)
{
	if (c->watch)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	if (c->addr) {
		c->addr->conns--;
		nconns--;
	}
	TAILQ_REMOVE(&conns, c, entry);
	if (c->ev)
		event_free(c->ev);
	free(c);
	if (paused_full && nconns < max_conns) {
		paused_full = 0;
		listener_update();
	}
}

/* evhttp is freeing the connection. */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	conn_free(arg);
}

static void
deadline_arm(struct hg_conn *c)
{
	struct timeval tv = { env.conf.http_request_s, 0 };
	evtimer_add(c->ev, &tv);
}

/*
 * Looks for the end of the request head at the start of buf, from byte
 * old on (what is before was searched already); once it is there, 1 when
 * the request must be refused before its body: one announced (over
 * HG_UNAUTH_BODY bytes, chunked, or a length evhttp may read otherwise)
 * without the right token.
 */
static int
head_refused(struct hg_conn *c, struct evbuffer *buf, size_t old)
{
	struct http_head h;
	struct evbuffer_ptr end, from;
	size_t len;

	c->searched = 1;
	evbuffer_ptr_set(buf, &from, old, EVBUFFER_PTR_SET);
	end = evbuffer_search(buf, "\r\n\r\n", 4, &from);
	if (end.pos == -1) {
		evbuffer_ptr_set(buf, &from, old, EVBUFFER_PTR_SET);
		end = evbuffer_search(buf, "\n\n", 2, &from);
		len = end.pos == -1 ? 0 : (size_t)end.pos + 2;
	} else {
		len = (size_t)end.pos + 4;
	}
	if (len == 0) {
		if (evbuffer_get_length(buf) > HG_HEAD_MAX)
			c->at_head = 0;		/* evhttp refuses it itself */
		return 0;
	}
	if (len > HG_HEAD_MAX) {
		c->at_head = 0;
		return 0;
	}
	c->at_head = 0;
	if (http_head_parse((const char *)evbuffer_pullup(buf, (ev_ssize_t)len), len,
	    &h) == -1)
		return 0;
	/* bad: a length evhttp may read otherwise (a folded header line). */
	return (h.chunked || h.bad || h.content_length > HG_UNAUTH_BODY) &&
	    (h.bearer[0] == '\0' || token_ok == NULL || !token_ok(h.bearer));
}

/* Watches the bytes arriving on a connection for the next request head. */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct hg_conn *c = arg;
	size_t old = 0;

	if (info->n_added == 0 || !c->at_head || c->refuse)
		return;
	/*
	 * Only the bytes just added, and the last 3 before them, can hold
	 * the head's end: the rest was searched when it came (evhttp drains
	 * from the front, which orig_size has already seen). Searching the
	 * whole buffer each time cost the square of its length: a head of
	 * 15 KB of "\r", a byte at a time, took most of pigeond's thread.
	 */
	if (c->searched)
		old = info->orig_size > 3 ? info->orig_size - 3 : 0;
	if (head_refused(c, buf, old)) {
		/* Closed at the next turn of the loop, not inside evhttp's read. */
		seen.early_refusals++;
		c->refuse = 1;
		bufferevent_disable(c->bev, EV_READ);
		event_active(c->ev, EV_TIMEOUT, 1);
	}
}

static void
adopt(struct hg_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[HTTP_CLIENT_KEY] = "?";
	void *arg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	c->evcon = arg;
	if (c->evcon == NULL) {
		conn_free(c);	/* evhttp gave up on it already */
		return;
	}
	backoff_ms = 0;
	if (getpeername(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &sl) == 0)
		http_client_key((struct sockaddr *)&ss, ip, sizeof(ip));
	struct hg_addr *a = addr_get(ip);
	max_conns = cap_now();
	if (a == NULL || nconns >= max_conns || a->conns >= env.conf.http_max_conns_addr) {
		struct evhttp_connection *evcon = c->evcon;
		seen.over_cap++;
		conn_free(c);
		evhttp_connection_free(evcon);	/* no close callback set yet */
		hg_say();
		return;
	}
	c->addr = a;
	a->conns++;
	if (++nconns >= max_conns) {
		paused_full = 1;
		listener_update();
	}
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	deadline_arm(c);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct hg_conn *c = arg;

	if (c->evcon == NULL) {
		adopt(c);
		return;
	}
	if (c->busy > 0) {
		/* The handler's own timeout answers; freeing the connection
		 * now would free the request it holds. */
		deadline_arm(c);
		return;
	}
	if (!c->refuse)
		seen.timeouts++;
	hg_say();
	/* Runs on_close, which frees c. */
	evhttp_connection_free(c->evcon);
}

/* evhttp asks for the bufferevent of a connection it has just accepted. */
static struct bufferevent *
on_accept(struct event_base *base, void *arg)
{
	struct hg_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->bev = bufferevent_socket_new(base, -1, 0);
	c->ev = evtimer_new(base, on_event, c);
	if (c->bev == NULL || c->ev == NULL) {
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->ev)
			event_free(c->ev);
		free(c);
		return NULL;
	}
	c->at_head = 1;
	c->searched = 0;
	TAILQ_INSERT_TAIL(&conns, c, entry);
	/* evhttp sets its callbacks on the bufferevent before the loop turns. */
	event_active(c->ev, EV_TIMEOUT, 1);
	return c->bev;
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	paused_error = 0;
	listener_update();
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval tv;

	last_errno = EVUTIL_SOCKET_ERROR();
	seen.accept_errors++;
	backoff_ms = backoff_ms ? backoff_ms * 2 : HG_BACKOFF_MIN_MS;
	if (backoff_ms > HG_BACKOFF_MAX_MS)
		backoff_ms = HG_BACKOFF_MAX_MS;
	paused_error = 1;
	listener_update();
	tv.tv_sec = backoff_ms / 1000;
	tv.tv_usec = (backoff_ms % 1000) * 1000;
	evtimer_add(ev_resume, &tv);
	hg_say();
}

/* The open-file limit pigeond wants (main.c warns at start below it):
 * the reserve cap_now keeps for the links, the database and webhooks, and
 * the fewest HTTP clients it lets in. */
long
httpguard_fds_wanted(void)
{
	long n = HG_FD_RESERVE + HG_FD_PER_MODEM * (long)env.conf.nmodems + HG_MIN_CONNS;

	if (env.conf.http_dlr_conns > HG_DLR_IN_RESERVE)
		n += env.conf.http_dlr_conns - HG_DLR_IN_RESERVE;
	return n;
}

/* The connection cap: [http] max_connections, lowered to leave the
 * reserve under the open-file limit. Read again at each connection, so a
 * limit lowered while pigeond runs (prlimit) is honoured as well. */
static int
cap_now(void)
{
	struct rlimit rl;
	long room;
	int cap = env.conf.http_max_conns;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		room = (long)rl.rlim_cur - HG_FD_RESERVE -
		    HG_FD_PER_MODEM * (long)env.conf.nmodems;
		/* Clients' callbacks beyond what the reserve holds. */
		if (env.conf.http_dlr_conns > HG_DLR_IN_RESERVE)
			room -= env.conf.http_dlr_conns - HG_DLR_IN_RESERVE;
		if (room < HG_MIN_CONNS)
			room = HG_MIN_CONNS;
		if (cap > room) {
			if (cap_said != room)
				log_warnx("http: max_connections %d lowered to %ld: the "
				    "open file limit is %ld and descriptors are kept for "
				    "the modems and the database", cap, room, (long)rl.rlim_cur);
			cap_said = room;
			cap = (int)room;
		}
	}
	return cap;
}

int
httpguard_start(struct evhttp *http, struct evhttp_bound_socket *bound,
    int (*token_check)(const char *), char *err, size_t errlen)
{
	token_ok = token_check;
	max_conns = cap_now();
	listener = evhttp_bound_socket_get_listener(bound);
	ev_resume = evtimer_new(env.base, on_resume, NULL);
	if (listener == NULL || ev_resume == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	evconnlistener_set_error_cb(listener, on_accept_error);
	evhttp_set_bevcb(http, on_accept, NULL);
	return 0;
}

static struct hg_conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct hg_conn *c;

	if (evcon == NULL)
		return NULL;
	TAILQ_FOREACH(c, &conns, entry)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

void
httpguard_request_start(struct evhttp_request *req)
{
	struct hg_conn *c = conn_of(req);

	if (c)
		c->busy++;
}

void
httpguard_request_done(struct evhttp_request *req)
{
	struct hg_conn *c = conn_of(req);

	if (c == NULL)
		return;
	if (c->busy > 0)
		c->busy--;
	c->at_head = 1;
	c->searched = 0;	/* what is buffered of the next one: not yet */
	deadline_arm(c);	/* for writing the answer and the next request */
	/*
	 * The next request may be buffered already, come in the same write
	 * as this one (pipelined): on_input saw its bytes while it looked at
	 * this one's head, and no more may come. Its head is looked at now;
	 * refused, this answer is the connection's last (evhttp closes it
	 * once it is written) and nothing more is read: the body was read
	 * and answered 401.
	 */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	if (c->refuse || evbuffer_get_length(in) == 0 || !head_refused(c, in, 0))
		return;
	seen.early_refusals++;
	c->refuse = 1;
	bufferevent_disable(c->bev, EV_READ);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
}

int
httpguard_rate_allows(struct evhttp_request *req, int search, int *retry_s)
{
	struct hg_conn *c = conn_of(req);
	struct hg_addr *a = c ? c->addr : NULL;
	int64_t now = pigeon_now_ms();

	*retry_s = 1;
	if (a == NULL)
		return 1;
	double s = (double)(now - a->at_ms) / 60000.0;
	a->at_ms = now;
	a->public_tokens += s * env.conf.http_public_rate;
	if (a->public_tokens > env.conf.http_public_rate)
		a->public_tokens = env.conf.http_public_rate;
	a->search_tokens += s * env.conf.http_search_rate;
	if (a->search_tokens > env.conf.http_search_rate)
		a->search_tokens = env.conf.http_search_rate;
	if (a->public_tokens < 1 || (search && a->search_tokens < 1)) {
		/* When the emptier bucket holds a request again: a fixed 10 s
		 * was too soon with search_rate 2 (a request every 30 s). */
		double wait = 0;
		if (a->public_tokens < 1 && env.conf.http_public_rate > 0)
			wait = (1 - a->public_tokens) * 60.0 / env.conf.http_public_rate;
		if (search && a->search_tokens < 1 && env.conf.http_search_rate > 0) {
			double w = (1 - a->search_tokens) * 60.0 / env.conf.http_search_rate;
			if (w > wait)
				wait = w;
		}
		*retry_s = wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait + (wait > (int)wait);
		return 0;
	}
	a->public_tokens -= 1;
	if (search)
		a->search_tokens -= 1;
	return 1;
}

/* evhttp_free frees the listener first, then closes the connections
 * (each on_close frees its hg_conn): forget the listener before. */
void
httpguard_stop(void)
{
	if (ev_resume)
		event_free(ev_resume);
	ev_resume = NULL;
	listener = NULL;
}

/* After evhttp_free: connections it never handed over, the addresses. */
void
httpguard_free(void)
{
	struct hg_conn *c;
	struct hg_addr *a;

	while ((c = TAILQ_FIRST(&conns)) != NULL) {
		c->watch = NULL;
		c->addr = NULL;
		conn_free(c);
	}
	nconns = 0;
	while ((a = TAILQ_FIRST(&addrs)) != NULL) {
		TAILQ_REMOVE(&addrs, a, entry);
		free(a);
	}
	naddrs = 0;
}
