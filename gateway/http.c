/*
 * http.c: the HTTP listener, on evhttp in the daemon's loop. This version
 * serves GET /healthz: the database's and each modem's state, as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

static struct evhttp *http;

static void
http_reply_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	if (out != NULL && text != NULL) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	evhttp_send_reply(req, code, reason, out);
	if (out != NULL)
		evbuffer_free(out);
	free(text);
}

static void
http_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	http_reply_json(req, code, reason, json_pack("{s:s}", "error", msg));
}

static void
http_healthz(struct evhttp_request *req, void *arg)
{
	json_t *modems = json_array();
	struct modem *m;
	int up = store_is_up(env.store);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		http_error(req, 405, "Method Not Allowed", "use GET");
		return;
	}
	TAILQ_FOREACH(m, &env.modems, entry) {
		json_t *o = json_pack("{s:s, s:s}", "name", m->name,
		    "state", modem_state_name(m->state));
		if (m->reason[0])
			json_object_set_new(o, "reason", json_string(m->reason));
		json_array_append_new(modems, o);
	}
	http_reply_json(req, up ? 200 : 503, up ? "OK" : "Service Unavailable",
	    json_pack("{s:s, s:s, s:s, s:o}", "status", up ? "ok" : "degraded",
	    "database", up ? "up" : "down", "host", env.conf.hostname,
	    "modems", modems));
}

static void
http_fallback(struct evhttp_request *req, void *arg)
{
	http_error(req, 404, "Not Found", "no such route");
}

int
http_start(char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(env.conf.http_listen, ':');
	int port = atoi(colon + 1);

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
	evhttp_set_max_body_size(http, 64 * 1024);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD);
	evhttp_set_cb(http, "/healthz", http_healthz, NULL);
	evhttp_set_gencb(http, http_fallback, NULL);
	if (evhttp_bind_socket(http, host, (unsigned short)port) == -1) {
		snprintf(err, errlen, "http: cannot listen on %s (in use, or not an address of this host)",
		    env.conf.http_listen);
		evhttp_free(http);
		http = NULL;
		return -1;
	}
	log_info("http: listening on %s", env.conf.http_listen);
	return 0;
}

void
http_stop(void)
{
	if (http) {
		evhttp_free(http);
		http = NULL;
	}
}
