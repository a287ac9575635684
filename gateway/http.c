/*
 * http.c: the HTTP listener, on evhttp in the daemon's loop: routing,
 * the bearer token, request bodies, JSON answers, the status page's static
 * files, and the life of a request that waits for the database (api.h).
 * The API has its own database connection (a second struct store), so
 * that a slow read never delays the SMS pipeline's queries.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api.h"
#include "embedded.h"
#include "fold.h"
#include "httpguard.h"
#include "httphead.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"
#include "web.h"

#define WEB_DIR		"gateway/web/"
/* Beyond this evhttp itself says 413. Bodies without the token are
 * refused before they are read (httpguard.c); this bounds the rest. */
#define EVHTTP_MAX_BODY	(64 * 1024)

/* PUBLIC: anyone; BUSINESS: the handler asks api_biz_auth (an operator
 * token or the account's business key); otherwise a token with that
 * scope (or admin). */
enum auth { PUBLIC, READ, SEND, ADMIN, BUSINESS };

struct route {
	enum evhttp_cmd_type method;	/* GET also answers HEAD */
	const char	*pattern;	/* '*' matches one path segment */
	enum auth	 auth;
	int		 json_body;	/* a POST whose body must be a JSON object */
	void		(*handler)(struct api_req *);
};

static void http_healthz(struct api_req *);
static void http_static(struct api_req *);

static const struct route routes[] = {
	{ EVHTTP_REQ_GET,  "/healthz",			PUBLIC, 0, http_healthz },
	{ EVHTTP_REQ_GET,  "/",				PUBLIC, 0, http_static },
	{ EVHTTP_REQ_GET,  "/index.html",		PUBLIC, 0, http_static },
	{ EVHTTP_REQ_GET,  "/style.css",		PUBLIC, 0, http_static },
	{ EVHTTP_REQ_GET,  "/app.js",			PUBLIC, 0, http_static },
	{ EVHTTP_REQ_GET,  "/charts.js",		PUBLIC, 0, http_static },
	{ EVHTTP_REQ_GET,  "/metrics",			READ,   0, api_metrics },
	{ EVHTTP_REQ_GET,  "/api/status",		READ,   0, api_status },
	{ EVHTTP_REQ_GET,  "/api/modems",		READ,   0, api_modems_list },
	{ EVHTTP_REQ_POST, "/api/modems/*/enable",	ADMIN,  0, api_modems_action },
	{ EVHTTP_REQ_POST, "/api/modems/*/disable",	ADMIN,  0, api_modems_action },
	{ EVHTTP_REQ_POST, "/api/modems/*/drain",	ADMIN,  0, api_modems_action },
	{ EVHTTP_REQ_DELETE, "/api/modems/*",		ADMIN,  0, api_modems_forget },
	{ EVHTTP_REQ_GET,  "/api/messages",		READ,   0, api_messages_search },
	{ EVHTTP_REQ_POST, "/api/messages",		SEND,   1, api_messages_send },
	{ EVHTTP_REQ_GET,  "/api/messages/*",		READ,   0, api_messages_get },
	{ EVHTTP_REQ_DELETE, "/api/messages/*",		SEND,   0, api_messages_cancel },
	{ EVHTTP_REQ_GET,  "/api/inbox",		READ,   0, api_inbox_list },
	{ EVHTTP_REQ_POST, "/api/reload",		ADMIN,  0, api_reload },
	{ EVHTTP_REQ_GET,  "/api/charts",		READ,   0, api_charts },
	{ EVHTTP_REQ_GET,  "/api/tokens",		ADMIN,  0, api_tokens_list },
	{ EVHTTP_REQ_GET,  "/api/users/*",		PUBLIC, 0, api_users_get },
	{ EVHTTP_REQ_GET,  "/api/users/*/posts",	PUBLIC, 0, api_users_posts },
	{ EVHTTP_REQ_GET,  "/api/users/*/stats",	READ,   0, api_users_stats },
	{ EVHTTP_REQ_DELETE, "/api/users/*",		ADMIN,  0, api_mod_user_action },
	{ EVHTTP_REQ_POST, "/api/users/*/suspend",	ADMIN,  0, api_mod_user_action },
	{ EVHTTP_REQ_POST, "/api/users/*/restore",	ADMIN,  0, api_mod_user_action },
	{ EVHTTP_REQ_GET,  "/api/users/*/export",	ADMIN,  0, api_mod_user_action },
	{ EVHTTP_REQ_DELETE, "/api/posts/*",		ADMIN,  0, api_mod_post_remove },
	/* The support desk (api_desk.c): no DELETE, only the phone lifts a STOP. */
	{ EVHTTP_REQ_GET,  "/api/phones/*",		ADMIN,  0, api_desk_phone },
	{ EVHTTP_REQ_POST, "/api/phones/*/optout",	ADMIN,  0, api_desk_optout },
	{ EVHTTP_REQ_GET,  "/api/search",		PUBLIC, 0, api_search },
	{ EVHTTP_REQ_POST, "/api/posts",		BUSINESS, 1, api_biz_posts_create },
	{ EVHTTP_REQ_POST, "/api/users/*/business",	ADMIN,  0, api_biz_mark },
	{ EVHTTP_REQ_DELETE, "/api/users/*/business",	ADMIN,  0, api_biz_mark },
	{ EVHTTP_REQ_GET,  "/api/users/*/keys",		ADMIN,  0, api_biz_keys_list },
	{ EVHTTP_REQ_POST, "/api/users/*/keys",		ADMIN,  0, api_biz_key_issue },
	{ EVHTTP_REQ_DELETE, "/api/users/*/keys/*",	ADMIN,  0, api_biz_key_revoke },
	{ EVHTTP_REQ_GET,  "/api/accounts/*/stats",	BUSINESS, 0, api_biz_stats },
	{ EVHTTP_REQ_GET,  "/api/accounts/*/tracks",	BUSINESS, 0, api_biz_tracks },
	{ EVHTTP_REQ_POST, "/api/accounts/*/tracks",	BUSINESS, 1, api_biz_tracks },
	{ EVHTTP_REQ_DELETE, "/api/accounts/*/tracks/*", BUSINESS, 0, api_biz_tracks },
	{ EVHTTP_REQ_GET,  "/api/accounts/*/scheduled",	BUSINESS, 0, api_biz_scheduled },
	{ EVHTTP_REQ_DELETE, "/api/accounts/*/scheduled/*", BUSINESS, 0, api_biz_scheduled },
	/* The public web side (web_pages.c); /users/HANDLE.atom included. */
	{ EVHTTP_REQ_GET,  "/users/*",			PUBLIC, 0, web_user },
	{ EVHTTP_REQ_GET,  "/search",			PUBLIC, 0, web_search },
	{ EVHTTP_REQ_GET,  "/search.atom",		PUBLIC, 0, web_search },
	{ EVHTTP_REQ_GET,  "/tags/*",			PUBLIC, 0, web_tag },
	{ EVHTTP_REQ_GET,  "/directory",		PUBLIC, 0, web_directory },
};

static struct evhttp *http;
/* The API's own connection: its reads (a metrics scrape can take a second
 * on a big outbox) never hold up the SMS pipeline's queries. */
static struct store *api_store;
/*
 * The public routes' (pages, feeds, the public API, business keys without
 * an operator token) own connection, with a bounded queue: many clients,
 * each within its rate, queued without end behind one connection that the
 * operator's API and status page waited on too. Past HTTP_PUBLIC_QUEUE
 * waiting queries, a public request is answered 503 at once.
 */
static struct store *public_store;
#define HTTP_PUBLIC_QUEUE	64
static TAILQ_HEAD(, api_req) live = TAILQ_HEAD_INITIALIZER(live);

static void
api_req_free(struct api_req *r)
{
	TAILQ_REMOVE(&live, r, entry);
	if (r->ev_timeout)
		event_free(r->ev_timeout);
	evhttp_clear_headers(&r->query);
	json_decref(r->body);
	explicit_bzero(r->biz_secret, sizeof(r->biz_secret));	/* a request abandoned */
	free((char *)r->path);
	free(r->arg);
	free(r);
}

static void
api_req_maybe_free(struct api_req *r)
{
	if (r->req == NULL && !r->pending)
		api_req_free(r);
}

/* The reason phrases libevent's table lacks (it says "Client Error"). */
static const char *
http_reason(int code)
{
	return code == 422 ? "Unprocessable Content" :
	    code == 429 ? "Too Many Requests" : NULL;
}

static void
api_send(struct api_req *r, int code, const char *content_type, const char *data,
    size_t len)
{
	struct evbuffer *out;
	struct evkeyvalq *h;

	if (r->req == NULL)
		return;
	httpguard_request_done(r->req);
	h = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (code == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"pigeon\"");
	out = evbuffer_new();
	if (out != NULL && !r->head)
		evbuffer_add(out, data, len);
	evhttp_send_reply(r->req, code, http_reason(code), out);
	if (out != NULL)
		evbuffer_free(out);
	r->req = NULL;
	if (r->ev_timeout)
		evtimer_del(r->ev_timeout);
}

void
api_reply_raw(struct api_req *r, int code, const char *content_type,
    const char *data, size_t len)
{
	api_send(r, code, content_type, data, len);
}

void
api_reply(struct api_req *r, int code, json_t *body)
{
	char *text;

	api_json_times(body);	/* PostgreSQL wrote .7688, .1 or none */
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (text == NULL) {
		static const char oom[] = "{\"error\":\"out of memory\"}\n";
		api_send(r, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (line != NULL) {
		text = line;
		text[n++] = '\n';
		text[n] = '\0';
	}
	api_send(r, code, "application/json", text, n);
	free(text);
}

void
api_error(struct api_req *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * Valid UTF-8 whatever was quoted: a client's value cut at a byte
	 * count ("%.40s") can end in half a character, and JSON refuses it
	 * (a 500, "out of memory", instead of the 400). Bytes that are not
	 * UTF-8 become '?'.
	 */
	char *e = msg + strlen(msg);
	for (char *p = msg; p < e; ) {
		uint32_t c;
		size_t n = fold_char_at(p, e, &c);
		if (c == BAD_CHAR)
			*p = '?';
		p += n;
	}
	api_reply(r, code, json_pack("{s:s}", "error", msg));
}

static void api_on_result(PGresult *, void *);

/* A request that may change something (not GET or HEAD). */
static int
api_req_writes(struct api_req *r)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(r->req);
	return cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD;
}

/*
 * A 503 whose request's statement may have run: it was sent, and its
 * answer never came (the connection lost, the wait over). A write says
 * so ("maybe_done"): retried without its idempotency_key, it may be
 * done twice.
 */
static void
api_error_unknown(struct api_req *r, const char *why)
{
	if (r->req == NULL)
		return;
	if (!api_req_writes(r)) {
		api_error(r, 503, "%s", why);
		return;
	}
	api_reply(r, 503, json_pack("{s:s, s:b}", "error", why, "maybe_done", 1));
}

/*
 * The statement is cancelled, so that it does not go on (and commit) long
 * after the client was told 503, and the connection is free for the next
 * requests. It may still have ended first: the answer says so. Freed when
 * the store completes the query.
 */
static void
api_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct api_req *r = arg;
	char why[160];

	if (r->fallback != NULL) {
		/* Its own log (metrics.c): a scrape's every 15 s. */
		if (r->pending)
			(void)store_cancel(r->public ? public_store : api_store,
			    api_on_result, r);
		r->fallback(r);
		return;
	}
	log_warnx("http: %s: the database did not answer within %d s; cancelled",
	    r->path, API_TIMEOUT_S);
	/* One still queued behind others was never sent: nothing was done. */
	if (r->pending && store_cancel(r->public ? public_store : api_store,
	    api_on_result, r) == 1) {
		api_error(r, 503, "the database did not answer within %d s; the "
		    "request was not run", API_TIMEOUT_S);
		return;
	}
	snprintf(why, sizeof(why), "the database did not answer within %d s; the "
	    "request was cancelled, but may have been done", API_TIMEOUT_S);
	api_error_unknown(r, why);
}

static void
api_finish_step(struct api_req *r)
{
	if (r->req != NULL && !r->pending) {
		log_warnx("http: %s: a handler gave no answer", r->path);
		api_error(r, 500, "internal error");
	}
	api_req_maybe_free(r);
}

static void
api_on_result(PGresult *res, void *arg)
{
	struct api_req *r = arg;

	r->pending = 0;
	if (r->req == NULL) {
		api_req_free(r);
		return;
	}
	if (r->fallback != NULL && !store_ok(res)) {
		if (res != NULL)
			log_warnx("http: %s: %s", r->path, store_error(res));
		r->fallback(r);
	} else if (res == NULL) {
		api_error_unknown(r, "database unavailable (connection lost)");
	} else if (!store_ok(res)) {
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* Connection and shutdown classes: the database is going away. */
		if (st && (strncmp(st, "08", 2) == 0 || strncmp(st, "57", 2) == 0)) {
			api_error(r, 503, "database unavailable");
		} else {
			log_warnx("http: %s: %s", r->path, store_error(res));
			api_error(r, 500, "internal error");
		}
	} else {
		r->cb(r, res);
	}
	api_finish_step(r);
}

int
api_query(struct api_req *r, const char *sql, int nparams,
    const char *const *params, api_result_cb cb)
{
	struct timeval tv = { r->timeout_s > 0 ? r->timeout_s : API_TIMEOUT_S, 0 };
	struct store *s = r->public ? public_store : api_store;

	if (r->req == NULL)
		return -1;
	r->cb = cb;
	if (r->public && s && store_queued(s) >= HTTP_PUBLIC_QUEUE) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Retry-After", "5");
		api_error(r, 503, "busy: too many requests waiting; try again later");
		return -1;
	}
	if (!api_db_up() || !store_is_up(s) ||
	    store_query(s, sql, nparams, params, api_on_result, r) == -1) {
		if (r->fallback != NULL)
			r->fallback(r);
		else
			api_error(r, 503, "database unavailable");
		return -1;
	}
	r->pending = 1;
	if (r->ev_timeout == NULL)
		r->ev_timeout = evtimer_new(env.base, api_on_timeout, r);
	if (r->ev_timeout)
		evtimer_add(r->ev_timeout, &tv);
	return 0;
}

/* Up once both connections are: the gateway's one has run the migrations. */
int
api_db_up(void)
{
	return api_store && store_is_up(api_store) && store_is_up(env.store);
}

/* httpguard.c: a body may be read when its token is one of ours, or has
 * a business key's shape (that needs the database: checked before the
 * request does anything; the body is still at most API_MAX_BODY). */
static int
token_matches(const char *given)
{
	unsigned scopes;
	return api_token_find(given, &scopes) != NULL || api_biz_key_shaped(given);
}

/* 1 when the request's bearer is one of the operators' tokens. */
static int
operator_bearer(struct api_req *r)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	unsigned scopes;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	for (h += 7; *h == ' '; h++)
		;
	return api_token_find(h, &scopes) != NULL;
}

/* A public route's optional operator token: its name and scopes in r
 * when the bearer is one (an admin token sees more: api_users.c), else
 * nothing, and the route answers as to anyone. */
static void
public_bearer(struct api_req *r)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	const char *name;
	unsigned scopes;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return;
	for (h += 7; *h == ' '; h++)
		;
	if ((name = api_token_find(h, &scopes)) == NULL)
		return;
	snprintf(r->token, sizeof(r->token), "%s", name);
	r->scopes = scopes;
}

static int
authorized(struct api_req *r, enum auth need)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	const char *name;
	unsigned scopes, want = need == READ ? API_SCOPE_READ :
	    need == SEND ? API_SCOPE_SEND : API_SCOPE_ADMIN;

	if (api_tokens_count() == 0) {
		api_error(r, 401, "no token is configured ([http] token, token_file or "
		    "tokens_file)");
		return 0;
	}
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		api_error(r, 401, "missing Authorization: Bearer TOKEN");
		return 0;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if ((name = api_token_find(h, &scopes)) == NULL) {
		api_error(r, 401, "bad token");
		return 0;
	}
	/* admin has every scope. */
	if (!(scopes & (want | API_SCOPE_ADMIN))) {
		log_info("http: %s refused to token %s (no %s scope)", r->path, name,
		    need == READ ? "read" : need == SEND ? "send" : "admin");
		api_error(r, 403, "token %s has no %s scope", name,
		    need == READ ? "read" : need == SEND ? "send" : "admin");
		return 0;
	}
	log_debug("http: %s by token %s", r->path, name);
	snprintf(r->token, sizeof(r->token), "%s", name);
	r->scopes = scopes;
	return 1;
}

static int
read_body(struct api_req *r, const struct route *rt)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	char err[200];
	int code;

	if (len > API_MAX_BODY) {
		api_error(r, 413, "the body is larger than %d bytes", API_MAX_BODY);
		return -1;
	}
	if (!rt->json_body)
		return 0;
	code = api_body_parse((const char *)evbuffer_pullup(in, -1), len, &r->body,
	    err, sizeof(err));
	if (code != 0) {
		api_error(r, code, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * The start of the feeds' absolute links: [http] public_url (behind a TLS
 * proxy, https://...), else http:// and the Host header when it is a
 * plain host[:port], else http://localhost.
 */
static void
link_base(struct api_req *r)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Host");
	const char *pub = env.conf.http_public_url;

	if (pub && *pub) {
		size_t n = strlen(pub);
		while (n > 0 && pub[n - 1] == '/')
			n--;
		snprintf(r->base, sizeof(r->base), "%.*s", (int)n, pub);
		return;
	}
	snprintf(r->base, sizeof(r->base), "http://localhost");
	if (h == NULL || strlen(h) >= sizeof(r->base) - 8)
		return;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
			return;
	snprintf(r->base, sizeof(r->base), "http://%s", h);
}

/* Allow: the methods of the routes of a known path (RFC 9110: a 405
 * must say them), for a 405 and an OPTIONS. */
static void
allow_header(struct api_req *r)
{
	static const struct { enum evhttp_cmd_type cmd; const char *name; } names[] = {
		{ EVHTTP_REQ_GET, "GET, HEAD" }, { EVHTTP_REQ_POST, "POST" },
		{ EVHTTP_REQ_DELETE, "DELETE" },
	};
	char allow[64] = "";
	unsigned seen = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char *arg;
		if (!http_route_match(routes[i].pattern, r->path, &arg))
			continue;
		free(arg);
		seen |= routes[i].method;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (seen & names[i].cmd)
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
			    "%s, ", names[i].name);
	strncat(allow, "OPTIONS", sizeof(allow) - strlen(allow) - 1);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
}

static void
http_dispatch(struct evhttp_request *req, void *unused)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct route *rt = NULL;
	struct api_req *r;
	int path_known = 0;
	char *decoded;
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	TAILQ_INIT(&r->query);
	TAILQ_INSERT_TAIL(&live, r, entry);
	r->req = req;
	r->head = cmd == EVHTTP_REQ_HEAD;
	httpguard_request_start(req);
	decoded = evhttp_uridecode(raw && *raw ? raw : "/", 0, NULL);
	r->path = decoded ? decoded : strdup("/");
	link_base(r);
	if (r->path == NULL || (uri && evhttp_uri_get_query(uri) &&
	    evhttp_parse_query_str(evhttp_uri_get_query(uri), &r->query) == -1)) {
		api_error(r, 400, "bad query string");
		goto done;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char *arg;
		if (!http_route_match(routes[i].pattern, r->path, &arg))
			continue;
		path_known = 1;
		if (routes[i].method == cmd ||
		    (cmd == EVHTTP_REQ_HEAD && routes[i].method == EVHTTP_REQ_GET)) {
			rt = &routes[i];
			r->arg = arg;
			break;
		}
		free(arg);
	}
	if (rt == NULL) {
		if (!path_known) {
			api_error(r, 404, "no such route");
			goto done;
		}
		allow_header(r);
		if (cmd == EVHTTP_REQ_OPTIONS)
			api_reply_raw(r, 204, "text/plain", "", 0);
		else
			api_error(r, 405, "method not allowed");
		goto done;
	}
	if (rt->auth != PUBLIC && rt->auth != BUSINESS && !authorized(r, rt->auth))
		goto done;
	if (rt->auth == PUBLIC)
		public_bearer(r);
	/* The public API, pages and feeds cost queries: a budget per client
	 * address (searches and the directory, whose queries read whole
	 * indexes, have their own, smaller one). So do the
	 * business routes, whose key is checked in the database, unless an
	 * operator's token comes with them: anyone could make the daemon
	 * check made-up keys as fast as it answers. */
	r->public = (rt->auth == PUBLIC && rt->handler != http_static &&
	    rt->handler != http_healthz) ||
	    (rt->auth == BUSINESS && !operator_bearer(r));
	int retry_s;
	if (r->public && !httpguard_rate_allows(req, rt->handler == api_search ||
	    rt->handler == web_search || rt->handler == web_tag ||
	    rt->handler == web_directory, &retry_s)) {
		char retry[16];
		snprintf(retry, sizeof(retry), "%d", retry_s);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", retry);
		api_error(r, 429, "too many requests from this address; try again later");
		goto done;
	}
	if (read_body(r, rt) == -1)
		goto done;
	rt->handler(r);
done:
	api_finish_step(r);
}

/* A link of /healthz: its state, without reasons (public). */
static json_t *
healthz_link(const struct link *m)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "name", m->name,
	    "state", link_state_name(m->state),
	    "kind", m->kind == LINK_SMPP ? "smpp" : "modem");
	/* A driver that cannot tell an alphanumeric sender from a number
	 * (docs/reliability.md, hostile input, item 1). */
	if (o != NULL && json_is_false(json_object_get(m->info, "sender_types")))
		json_object_set_new(o, "sender_types", json_string("unknown"));
	return o;
}

static void
http_healthz(struct api_req *r)
{
	json_t *modems = json_array();
	const struct link *m;
	int up = store_is_up(env.store);

	/* Public: states only. The reasons name hosts, pids and addresses;
	 * they are on the token's /api/modems. A link SIGHUP removed stays,
	 * disabled, until forgotten or another host's (as in /metrics). */
	TAILQ_FOREACH(m, &env.links, entry)
		json_array_append_new(modems, healthz_link(m));
	TAILQ_FOREACH(m, link_set_aside_list(), entry)
		if (!m->dropped)
			json_array_append_new(modems, healthz_link(m));
	/* Up, and the start's own statements done: the webhooks' targets. */
	int ready = up && webhook_ready();
	/* Up but refusing writes (its data disk full): SMS stay on the SIMs
	 * and sends wait for their outcomes; it said ok. */
	int refused = up && db_writes_refused();
	api_reply(r, ready && !refused ? 200 : 503,
	    json_pack("{s:s, s:s, s:s, s:o}", "status",
	    ready && !refused ? "ok" : up && !refused ? "starting" : "degraded",
	    "database", refused ? "refusing writes" : up ? "up" : "down",
	    "version", PIGEON_VERSION, "modems", modems));
}

/* The status page: files of gateway/web/ built into pigeond. */
static void
http_static(struct api_req *r)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
	};
	const char *name = strcmp(r->path, "/") == 0 ? "index.html" : r->path + 1;
	const struct embedded_file *f;

	for (f = embedded_files; f->path; f++) {
		if (strncmp(f->path, WEB_DIR, strlen(WEB_DIR)) != 0 ||
		    strcmp(f->path + strlen(WEB_DIR), name) != 0)
			continue;
		const char *type = "application/octet-stream";
		const char *dot = strrchr(name, '.');
		for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				type = types[i].type;
		api_reply_raw(r, 200, type, f->data, f->len);
		return;
	}
	api_error(r, 404, "no such file");
}

static void
http_fallback(struct evhttp_request *req, void *arg)
{
	http_dispatch(req, arg);
}

int
http_start(char *err, size_t errlen)
{
	char host[256];
	struct evhttp_bound_socket *bound;
	const char *colon = strrchr(env.conf.http_listen, ':');
	int port = atoi(colon + 1);

	if (api_tokens_load(&env.conf, err, errlen) == -1)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - env.conf.http_listen),
	    env.conf.http_listen);
	/* [::1]:8025 */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((http = evhttp_new(env.base)) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	evhttp_set_max_body_size(http, EVHTTP_MAX_BODY);
	evhttp_set_max_headers_size(http, 16 * 1024);
	evhttp_set_timeout(http, 30);
	/* Other methods reach the router, which answers 405 in JSON. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(http, http_fallback, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, host, (unsigned short)port)) == NULL) {
		snprintf(err, errlen, "http: cannot listen on %s (in use, or not an address of this host)",
		    env.conf.http_listen);
		evhttp_free(http);
		http = NULL;
		return -1;
	}
	if (http_port_publish(bound, &port, err, errlen) == -1 ||
	    httpguard_start(http, bound, token_matches, err, errlen) == -1) {
		http_port_unpublish();
		evhttp_free(http);
		http = NULL;
		return -1;
	}
	/* The API's connections, named "pigeond HOST api" and "... public"
	 * in pg_stat_activity; every time the API answers is in UTC
	 * (docs/api.md, Times), also on a server whose TimeZone is the
	 * country's. */
	api_store = store_open_role(env.base, env.conf.conninfo, env.conf.hostname,
	    "api", NULL, 1);
	public_store = store_open_role(env.base, env.conf.conninfo,
	    env.conf.hostname, "public", NULL, 1);
	if (api_store == NULL || public_store == NULL) {
		snprintf(err, errlen, "http: out of memory");
		store_free(api_store);
		store_free(public_store);
		api_store = public_store = NULL;
		http_port_unpublish();
		evhttp_free(http);
		http = NULL;
		return -1;
	}
	/* The status page's history (issue 16). */
	if (janitor_add("status: queue and link samples", 60 * 1000, api_status_sample) == -1)
		log_warnx("http: no status samples (out of memory)");
	if (api_biz_init() == -1)
		log_warnx("http: no scheduled posts (out of memory)");
	log_info("http: listening on %.*s:%d", (int)(colon - env.conf.http_listen),
	    env.conf.http_listen, port);
	return 0;
}

void
http_stop(void)
{
	struct api_req *r, *next;

	/* evhttp_free frees the requests; those waiting for a query are
	 * freed when the store completes it. */
	for (r = TAILQ_FIRST(&live); r; r = next) {
		next = TAILQ_NEXT(r, entry);
		r->req = NULL;
		api_req_maybe_free(r);
	}
	httpguard_stop();
	http_port_unpublish();
	if (http) {
		evhttp_free(http);
		http = NULL;
	}
	httpguard_free();
	/* Completes the queries in flight with NULL: their requests are freed. */
	store_free(api_store);
	api_store = NULL;
	store_free(public_store);
	public_store = NULL;
	metrics_free();
	api_tokens_free();
}
