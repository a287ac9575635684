/*
 * webhook.c: each new post POSTed as JSON to the URLs of [http] webhooks.
 *
 * A trigger on posts queues one delivery per post and URL in PostgreSQL
 * (webhook_deliveries) and NOTIFYs pigeon_webhook. This file claims due
 * deliveries with a lease, POSTs them with evhttp's client in the loop,
 * and records the outcome: 2xx is done; anything else is retried with
 * backoff (pigeon_webhook_failed) until the delivery is a day old. A
 * delivery can reach a receiver twice (a lost answer, a host that died
 * mid-POST): the body and X-Pigeon-Delivery carry the delivery id.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "log.h"
#include "pigeond.h"
#include "store.h"

#define WEBHOOK_BATCH		8	/* POSTs in flight at most */
#define WEBHOOK_TIMEOUT_S	10
#define WEBHOOK_LEASE_S		"60"
#define WEBHOOK_MAX_BACKOFF_S	"300"
#define WEBHOOK_MAX_AGE_S	"86400"
#define WEBHOOK_POLL_S		30	/* backstop for lost NOTIFYs */

struct delivery {
	TAILQ_ENTRY(delivery) entry;
	int64_t		 id;
	char		 idstr[24];
	struct evhttp_connection *conn;
	char		*url;
	char		 error[128];	/* why it failed; empty when done */
};
TAILQ_HEAD(delivery_list, delivery);

static struct delivery_list inflight = TAILQ_HEAD_INITIALIZER(inflight);
static struct evdns_base *dns;
static struct event *ev_tick;
static char *urls_array;	/* the configured URLs as a text[] literal */
static int nurls;
static int claiming, recording, again, targets_set;

static void webhook_claim(void);

static void
delivery_free(struct delivery *d)
{
	free(d->url);
	free(d);
}

static void
tick_in(int seconds)
{
	struct timeval tv = { seconds, 0 };
	struct timeval left;

	/* Keep an earlier wake-up that is already set. */
	if (evtimer_pending(ev_tick, &left)) {
		struct timeval now, when;
		event_base_gettimeofday_cached(env.base, &now);
		timeradd(&now, &tv, &when);
		if (timercmp(&left, &when, <))
			return;
	}
	evtimer_add(ev_tick, &tv);
}

static void
outcome_recorded(PGresult *res, void *arg)
{
	recording--;
	if (res && store_ok(res) && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		/* pigeon_webhook_failed: seconds until the retry. */
		int wait = atoi(PQgetvalue(res, 0, 0));
		tick_in(wait < 1 ? 1 : wait);
	} else if (res && !store_ok(res)) {
		log_warnx("webhook: recording an outcome: %s", store_error(res));
	}
	if (TAILQ_EMPTY(&inflight) && recording == 0)
		webhook_claim();
}

static void
delivery_record(struct delivery *d)
{
	if (d->error[0] == '\0') {
		const char *params[] = { d->idstr };
		if (store_query(env.store, "SELECT pigeon_webhook_done($1)", 1, params,
		    outcome_recorded, NULL) == 0)
			recording++;
	} else {
		const char *params[] = { d->idstr, d->error, WEBHOOK_MAX_BACKOFF_S,
		    WEBHOOK_MAX_AGE_S };
		log_info("webhook: delivery %s to %s failed: %s", d->idstr, d->url, d->error);
		if (store_query(env.store,
		    "SELECT pigeon_webhook_failed($1, $2, $3, $4)", 4, params,
		    outcome_recorded, NULL) == 0)
			recording++;
	}
	/* When the database is down the lease gives the delivery back. */
}

static void
delivery_done(struct evhttp_request *req, void *arg)
{
	struct delivery *d = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	if (code >= 200 && code < 300) {
		log_debug("webhook: delivery %s to %s: %d", d->idstr, d->url, code);
	} else if (code == 0) {
		snprintf(d->error, sizeof(d->error),
		    "no answer (connection refused, reset or timed out)");
	} else {
		snprintf(d->error, sizeof(d->error), "HTTP %d", code);
	}
	TAILQ_REMOVE(&inflight, d, entry);
	/* The connection frees itself once this request is complete. */
	delivery_record(d);
	delivery_free(d);
	if (TAILQ_EMPTY(&inflight) && recording == 0)
		webhook_claim();
}

/* Starts the POST of one claimed delivery; records a failure at once if it cannot. */
static void
delivery_start(struct delivery *d, const char *body)
{
	struct evhttp_uri *uri = evhttp_uri_parse(d->url);
	struct evhttp_request *req = NULL;
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	int port = uri ? evhttp_uri_get_port(uri) : -1;
	char target[2048], hosthdr[300];

	TAILQ_INSERT_TAIL(&inflight, d, entry);
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
	d->conn = evhttp_connection_base_new(env.base, dns, host, (unsigned short)port);
	req = d->conn ? evhttp_request_new(delivery_done, d) : NULL;
	if (req == NULL) {
		snprintf(d->error, sizeof(d->error), "out of memory");
		goto fail;
	}
	evhttp_connection_set_timeout(d->conn, WEBHOOK_TIMEOUT_S);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", hosthdr);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "pigeond");
	evhttp_add_header(h, "X-Pigeon-Delivery", d->idstr);
	evhttp_add_header(h, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	if (evhttp_make_request(d->conn, req, EVHTTP_REQ_POST, target) == -1) {
		/* evhttp_make_request freed req. */
		snprintf(d->error, sizeof(d->error), "cannot send the request");
		goto fail;
	}
	evhttp_connection_free_on_completion(d->conn);
	evhttp_uri_free(uri);
	return;
fail:
	if (d->conn)
		evhttp_connection_free(d->conn);
	d->conn = NULL;
	if (uri)
		evhttp_uri_free(uri);
	TAILQ_REMOVE(&inflight, d, entry);
	delivery_record(d);
	delivery_free(d);
}

static void
claimed(PGresult *res, void *arg)
{
	int n;

	claiming = 0;
	if (res == NULL || !store_ok(res)) {
		if (res)
			log_warnx("webhook: claim: %s", store_error(res));
		return;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct delivery *d = calloc(1, sizeof(*d));
		if (d == NULL || (d->url = strdup(PQgetvalue(res, i, 1))) == NULL) {
			free(d);
			continue;	/* the lease gives it back */
		}
		d->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(d->idstr, sizeof(d->idstr), "%lld", (long long)d->id);
		delivery_start(d, PQgetisnull(res, i, 3) ? "{}" : PQgetvalue(res, i, 3));
	}
	/* A full batch means more may be due. */
	if (n == WEBHOOK_BATCH)
		again = 1;
	if (TAILQ_EMPTY(&inflight) && recording == 0 && again)
		webhook_claim();
}

static void
webhook_claim(void)
{
	const char *params[] = { env.conf.hostname, NULL, WEBHOOK_LEASE_S };
	char batch[16];

	if (nurls == 0 || !targets_set || env.draining)
		return;
	if (claiming || recording || !TAILQ_EMPTY(&inflight)) {
		again = 1;
		return;
	}
	again = 0;
	snprintf(batch, sizeof(batch), "%d", WEBHOOK_BATCH);
	params[1] = batch;
	if (store_query(env.store, "SELECT * FROM pigeon_webhook_claim($1, $2, $3)",
	    3, params, claimed, NULL) == 0)
		claiming = 1;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { WEBHOOK_POLL_S, 0 };
	evtimer_add(ev_tick, &tv);
	webhook_claim();
}

static void
targets_done(PGresult *res, void *arg)
{
	if (res == NULL)
		return;		/* retried at the next connection */
	if (!store_ok(res)) {
		log_warnx("webhook: setting the targets: %s", store_error(res));
		return;
	}
	targets_set = 1;
	webhook_claim();
}

static void
listen_done(PGresult *res, void *arg)
{
	if (res && !store_ok(res))
		log_warnx("webhook: LISTEN: %s", store_error(res));
}

/* Checks and keeps the configured URLs; -1 with err at start-up. */
int
webhook_init(char *err, size_t errlen)
{
	const char *list = env.conf.http_webhooks ? env.conf.http_webhooks : "";
	json_t *arr = json_array();
	char *copy = strdup(list), *save = NULL;
	size_t len = 3;

	if (arr == NULL || copy == NULL) {
		snprintf(err, errlen, "webhook: out of memory");
		goto fail;
	}
	for (char *u = strtok_r(copy, " \t,", &save); u; u = strtok_r(NULL, " \t,", &save)) {
		struct evhttp_uri *uri = evhttp_uri_parse(u);
		int ok = uri && evhttp_uri_get_scheme(uri) && evhttp_uri_get_host(uri) &&
		    strcmp(evhttp_uri_get_scheme(uri), "http") == 0 &&
		    strpbrk(u, "\"\\{},") == NULL;
		if (uri)
			evhttp_uri_free(uri);
		if (!ok) {
			snprintf(err, errlen,
			    "[http] webhooks: '%s' is not an http://host[:port]/path URL", u);
			goto fail;
		}
		json_array_append_new(arr, json_string(u));
		len += strlen(u) + 3;
	}
	nurls = (int)json_array_size(arr);
	/* A text[] literal: the URLs hold no quote, backslash, brace or comma. */
	if ((urls_array = malloc(len)) == NULL) {
		snprintf(err, errlen, "webhook: out of memory");
		goto fail;
	}
	strcpy(urls_array, "{");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		strcat(urls_array, i ? ",\"" : "\"");
		strcat(urls_array, json_string_value(json_array_get(arr, i)));
		strcat(urls_array, "\"");
	}
	strcat(urls_array, "}");
	json_decref(arr);
	free(copy);
	if ((ev_tick = evtimer_new(env.base, on_tick, NULL)) == NULL) {
		snprintf(err, errlen, "webhook: out of memory");
		return -1;
	}
	if (nurls > 0) {
		dns = evdns_base_new(env.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (dns == NULL)
			dns = evdns_base_new(env.base, 0);
		log_info("webhook: each new post goes to %d URL(s)", nurls);
	}
	return 0;
fail:
	json_decref(arr);
	free(copy);
	return -1;
}

/* The database is (back) up: LISTEN again, set the targets, catch up. */
void
webhook_db_up(void)
{
	const char *params[] = { urls_array };

	if (urls_array == NULL)
		return;
	store_query(env.store, "LISTEN pigeon_webhook", 0, NULL, listen_done, NULL);
	store_query(env.store, "SELECT pigeon_webhook_targets($1::text[])", 1, params,
	    targets_done, NULL);
	if (nurls > 0)
		tick_in(WEBHOOK_POLL_S);
}

void
webhook_kick(void)
{
	webhook_claim();
}

void
webhook_free(void)
{
	struct delivery *d;

	/* Deliveries in flight keep their lease and are retried after it. */
	while ((d = TAILQ_FIRST(&inflight)) != NULL) {
		TAILQ_REMOVE(&inflight, d, entry);
		if (d->conn)
			evhttp_connection_free(d->conn);
		delivery_free(d);
	}
	if (ev_tick)
		event_free(ev_tick);
	ev_tick = NULL;
	if (dns)
		evdns_base_free(dns, 0);
	dns = NULL;
	free(urls_array);
	urls_array = NULL;
}
