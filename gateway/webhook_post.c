/*
 * webhook_post.c: one webhook delivery on the wire (webhook.c claims it
 * and records its outcome): the POST of its JSON body, signed
 * (X-Pigeon-Signature, HMAC-SHA256 with the key of its kind), with a
 * total deadline ([http] webhook_seconds: connect, send, answer, however
 * slowly the bytes come), the answer's status kept and its body read and
 * dropped (at most WEBHOOK_MAX_ANSWER bytes: a receiver answering 100 MiB
 * holds no memory). Over, it calls webhook_delivery_end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "pigeond.h"
#include "webhook_post.h"

#define WEBHOOK_MAX_ANSWER	(64 * 1024)	/* answer body bytes read at most */

static void
conn_free_later(evutil_socket_t fd, short what, void *arg)
{
	evhttp_connection_free(arg);
}

static void
delivery_done(struct evhttp_request *req, void *arg)
{
	struct delivery *d = arg;
	/* After WEBHOOK_MAX_ANSWER bytes evhttp drops the connection and req
	 * is NULL; the status line had come by then. */
	int code = req ? evhttp_request_get_response_code(req) : d->code;

	if (code >= 200 && code < 300) {
		log_debug("webhook: delivery %s to %s: %d", d->idstr, d->url, code);
	} else if (code == 0) {
		snprintf(d->error, sizeof(d->error),
		    "no answer (connection refused, reset or timed out)");
	} else {
		snprintf(d->error, sizeof(d->error), "HTTP %d", code);
	}
	evtimer_del(d->deadline);
	/* Not inside its own callback: the connection is freed next turn. */
	if (event_base_once(env.base, -1, EV_TIMEOUT, conn_free_later, d->conn, NULL) == -1)
		log_warnx("webhook: cannot free a connection (leaked)");
	d->conn = NULL;
	webhook_delivery_end(d);
}

static void
delivery_out_of_time(evutil_socket_t fd, short what, void *arg)
{
	struct delivery *d = arg;

	snprintf(d->error, sizeof(d->error), "no complete answer within %d s",
	    env.conf.http_webhook_seconds);
	/* Frees the request without calling delivery_done. */
	evhttp_connection_free(d->conn);
	d->conn = NULL;
	webhook_delivery_end(d);
}

static int
answer_head(struct evhttp_request *req, void *arg)
{
	struct delivery *d = arg;
	d->code = evhttp_request_get_response_code(req);
	return 0;
}

/* The answer's body is read and dropped as it comes. */
static void
answer_chunk(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/*
 * The key of a delivery's signature: a client's callback (event
 * message.state) is signed with [http] dlr_secret when set, so that a
 * client checking its callbacks does not hold the key of the operator's
 * own webhooks (with it, it could sign a post of its own making to them);
 * else, and for the operator's webhooks, with webhook_secret. NULL or ""
 * when unsigned.
 */
static const char *
secret_for(const char *event)
{
	if (event != NULL && strcmp(event, "message.state") == 0 &&
	    env.conf.http_dlr_secret && *env.conf.http_dlr_secret)
		return env.conf.http_dlr_secret;
	return env.conf.http_webhook_secret;
}

/*
 * X-Pigeon-Signature: t=UNIX,v1=hex(HMAC-SHA256(secret, "UNIX." + body)).
 * UNIX is the database's clock at the claim, as every other rule reads
 * (docs/reliability.md): receivers refuse a t= minutes off their clock
 * (docs/api.md), and a host clock that far off had every delivery of
 * the host refused. The host's clock only when the functions are of
 * before (at is 0).
 */
static int
sign(const char *secret, const char *body, long long at, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char ts[24], *msg = NULL;

	snprintf(ts, sizeof(ts), "%lld", at > 0 ? at : (long long)time(NULL));
	if (asprintf(&msg, "%s.%s", ts, body) == -1)
		return -1;
	unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)msg, strlen(msg), mac, &maclen);
	free(msg);
	if (ok == NULL)
		return -1;
	size_t n = (size_t)snprintf(out, outlen, "t=%s,v1=", ts);
	for (unsigned int i = 0; i < maclen && n + 2 < outlen; i++, n += 2)
		snprintf(out + n, outlen - n, "%02x", mac[i]);
	return 0;
}

void
webhook_post_start(struct delivery *d, const char *body, const char *event,
    struct evdns_base *dns)
{
	const char *secret = secret_for(event);
	struct evhttp_uri *uri = evhttp_uri_parse(d->url);
	struct evhttp_request *req = NULL;
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	int port = uri ? evhttp_uri_get_port(uri) : -1;
	char target[2048], hosthdr[300], sig[200];
	struct timeval tv = { env.conf.http_webhook_seconds, 0 };

	*d->live = d;
	if (uri == NULL || host == NULL || evhttp_uri_get_scheme(uri) == NULL ||
	    strcmp(evhttp_uri_get_scheme(uri), "http") != 0) {
		snprintf(d->error, sizeof(d->error), "not an http:// URL");
		goto fail;
	}
	if (port == -1)
		port = 80;
	snprintf(target, sizeof(target), "%s%s%s", path && *path ? path : "/",
	    query ? "?" : "", query ? query : "");
	snprintf(hosthdr, sizeof(hosthdr), "%s:%d", host, port);
	d->deadline = evtimer_new(env.base, delivery_out_of_time, d);
	d->conn = d->deadline ?
	    evhttp_connection_base_new(env.base, dns, host, (unsigned short)port) : NULL;
	req = d->conn ? evhttp_request_new(delivery_done, d) : NULL;
	if (req == NULL) {
		snprintf(d->error, sizeof(d->error), "out of memory");
		goto fail;
	}
	evhttp_connection_set_timeout(d->conn, env.conf.http_webhook_seconds);
	evhttp_connection_set_max_body_size(d->conn, WEBHOOK_MAX_ANSWER);
	evhttp_connection_set_max_headers_size(d->conn, 16 * 1024);
	evhttp_request_set_header_cb(req, answer_head);
	evhttp_request_set_chunked_cb(req, answer_chunk);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", hosthdr);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "pigeond");
	evhttp_add_header(h, "X-Pigeon-Delivery", d->idstr);
	evhttp_add_header(h, "Connection", "close");
	if (secret && *secret) {
		if (sign(secret, body, d->signed_at, sig, sizeof(sig)) == -1) {
			evhttp_request_free(req);
			snprintf(d->error, sizeof(d->error), "cannot sign the body");
			goto fail;
		}
		evhttp_add_header(h, "X-Pigeon-Signature", sig);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	struct delivery **live = d->live;
	int rc = evhttp_make_request(d->conn, req, EVHTTP_REQ_POST, target);
	if (*live == NULL) {
		/* A connect that fails at once (a route withdrawn, a blackhole:
		 * test_rel_webhook) calls delivery_done from inside
		 * evhttp_make_request: d is recorded and freed already. */
		evhttp_uri_free(uri);
		return;
	}
	if (rc == -1) {
		/* evhttp_make_request freed req. */
		snprintf(d->error, sizeof(d->error), "cannot send the request");
		goto fail;
	}
	evtimer_add(d->deadline, &tv);
	evhttp_uri_free(uri);
	return;
fail:
	if (d->conn)
		evhttp_connection_free(d->conn);
	d->conn = NULL;
	if (uri)
		evhttp_uri_free(uri);
	webhook_delivery_end(d);
}
