/*
 * webhook.c: each new post, and each deletion of one, POSTed as JSON to the
 * URLs of [http] webhooks.
 *
 * Triggers on posts queue one delivery per post, event and URL in
 * PostgreSQL (webhook_deliveries) and NOTIFY pigeon_webhook. Each URL of
 * [http] webhooks has its own queue here: one delivery in flight per URL,
 * claimed with a lease, in order (one waiting for its retry holds the
 * URL's later ones: pigeon_webhook_claim_urls), so a slow or dead
 * receiver delays only its own deliveries. Each retry goes at its time
 * (on_tick). Clients' dlr_url callbacks have one queue per receiver
 * (scheme, host and port: URLs that differ in their path or query share
 * it), and at most [http] dlr_connections of those queues have a delivery
 * (a connection) in flight at once; the others' callbacks wait in the
 * database for a free one, the queue that waited longest first, and
 * receivers whose last delivery failed hold half of them at most (once
 * tried, a client's receivers that never answer leave the other half to
 * the others' callbacks). A
 * delivery has a total deadline ([http] webhook_seconds: connect, send,
 * answer, however slowly the bytes come) and the answer's body is not
 * kept (at most 64 KB are read, webhook_post.c, then the connection is
 * dropped). 2xx is done; anything else is retried with backoff
 * (pigeon_webhook_failed) until the delivery is a day old. A delivery can
 * reach a receiver twice (a lost answer, a host that died mid-POST): the
 * body and X-Pigeon-Delivery carry the delivery id. With [http]
 * webhook_secret, X-Pigeon-Signature signs the timestamp and the body
 * (HMAC-SHA256, docs/api.md says how to check it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"
#include "webhook_post.h"

#define WEBHOOK_MAX_BACKOFF_S	"300"
#define WEBHOOK_MAX_AGE_S	"86400"
#define WEBHOOK_POLL_S		30	/* backstop for lost NOTIFYs */
#define WEBHOOK_REST_MS		900	/* rest after a failure, under the 1 s tick */


/* A text[] literal being built. */
struct strbuf {
	char		*s;
	size_t		 len, cap;
	int		 failed;	/* out of memory */
};

/*
 * A queue: a configured URL, or a receiver of clients' callbacks (the
 * scheme://host:port of their dlr_urls). At most one delivery in flight.
 */
struct target {
	TAILQ_ENTRY(target) entry;
	char		*url;		/* the URL, or the receiver */
	char		*urls;		/* a configured URL's: a text[] literal */
	struct delivery	*d;		/* in flight, or NULL */
	int		 claiming, recording, again;
	int		 dlr;		/* a receiver of clients' dlr_urls */
	int		 listed;	/* in the latest list of receivers waiting */
	int		 slot;		/* holds one of [http] dlr_connections */
	int		 slot_failing;	/* ... as one of the failing receivers */
	int		 failing;	/* its last delivery failed */
	int		 waiting;	/* would claim: waits for a slot */
	unsigned long long turn;	/* when it last had a slot */
	long long	 rest_until;	/* CLOCK_MONOTONIC ms: no claim before */
	long long	 retry_at;	/* CLOCK_MONOTONIC ms: its failed delivery's
					 * retry is due (0: none) */
};

static TAILQ_HEAD(, target) targets = TAILQ_HEAD_INITIALIZER(targets);
static struct evdns_base *dns;
static struct event *ev_tick;
static long long tick_when;	/* CLOCK_MONOTONIC ms ev_tick is set for (0: unset) */
static long long ask_at;	/* CLOCK_MONOTONIC ms of the next pigeon_webhook_next_due */
static char *urls_array;	/* the configured URLs as a text[] literal */
static int nurls, targets_set, listing;
static int stopped;		/* webhook_free ran */
static int slots_used;		/* receivers claiming or delivering */
static int slots_failing;	/* of them, those whose last delivery failed */
static unsigned long long turns;

static long long
webhook_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->s, cap);
		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Adds url to the text[] literal b ("{" not yet written when empty):
 * quoted, its quotes and backslashes escaped. */
static void
strbuf_add_element(struct strbuf *b, const char *url)
{
	strbuf_add(b, b->len ? ",\"" : "{\"", 2);
	for (const char *p = url; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_add(b, "\\", 1);
		strbuf_add(b, p, 1);
	}
	strbuf_add(b, "\"", 1);
}

static void
target_free(struct target *t)
{
	free(t->url);
	free(t->urls);
	free(t);
}

static void
delivery_free(struct delivery *d)
{
	if (d->deadline)
		event_free(d->deadline);
	free(d->url);
	free(d);
}

static void target_claim(struct target *);

/* Whether a receiver may take a slot now: one of [http] dlr_connections
 * is free and, when its last delivery failed, not half of them are
 * held by such receivers. */
static int
slot_free_for(const struct target *t)
{
	int failing_max = env.conf.http_dlr_conns / 2;

	if (failing_max < 1)
		failing_max = 1;
	return slots_used < env.conf.http_dlr_conns &&
	    (!t->failing || slots_failing < failing_max);
}

/*
 * Gives the receivers waiting for a slot theirs, the one that has waited
 * longest first, while [http] dlr_connections allows.
 */
static void
slots_fill(void)
{
	while (!stopped && slots_used < env.conf.http_dlr_conns) {
		struct target *t, *next = NULL;
		TAILQ_FOREACH(t, &targets, entry)
			if (t->waiting && slot_free_for(t) &&
			    (next == NULL || t->turn < next->turn))
				next = t;
		if (next == NULL)
			break;
		next->waiting = 0;
		target_claim(next);
	}
}

/* A receiver's claim found nothing, or its delivery is over: its slot
 * is another's. */
static void
slot_release(struct target *t)
{
	if (!t->slot)
		return;
	t->slot = 0;
	slots_used--;
	if (t->slot_failing)
		slots_failing--;
	t->slot_failing = 0;
	slots_fill();
}

/*
 * Sets the tick for when (CLOCK_MONOTONIC ms) unless it is set for
 * earlier. A later wake-up is not lost: each tick sets the next from
 * every queue's rest and retry, the 30 s poll and the database's next
 * due delivery (on_tick). It kept the earlier one only, and a retry 2 s
 * after a failure waited for the poll behind the 1 s rest's tick.
 */
static void
tick_at(long long when)
{
	long long now = webhook_now_ms();
	struct timeval tv;

	if (ev_tick == NULL || (tick_when != 0 && tick_when <= when))
		return;
	if (when < now)
		when = now;
	tv.tv_sec = (time_t)((when - now) / 1000);
	tv.tv_usec = (suseconds_t)((when - now) % 1000 * 1000);
	evtimer_add(ev_tick, &tv);
	tick_when = when;
}

/*
 * After webhook_free, a query still in flight (pigeond stopping frees the
 * store after the webhooks, which answers each with NULL) is the last
 * holder of its target, taken off the list: the last callback frees it.
 * Before, it was freed under the callback's feet.
 */
static int
target_orphan_done(struct target *t)
{
	if (!stopped)
		return 0;
	if (!t->claiming && !t->recording)
		target_free(t);
	return 1;
}

static void
outcome_recorded(PGresult *res, void *arg)
{
	struct target *t = arg;

	t->recording = 0;
	if (target_orphan_done(t))
		return;
	if (res && store_ok(res) && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		/* pigeon_webhook_failed: seconds until the retry, counted
		 * from the database's now(), which was before this. */
		int wait = atoi(PQgetvalue(res, 0, 0));
		long long now = webhook_now_ms();
		t->retry_at = now + (wait < 1 ? 1 : wait) * 1000LL;
		tick_at(t->retry_at);
		/* The URL rests a second before its next delivery: a
		 * receiver that fails at once (a cut path refuses the
		 * connect) was tried again at once, delivery after
		 * delivery, 1,399 attempts in 60 s (test_rel_webhook). */
		t->rest_until = now + WEBHOOK_REST_MS;
		tick_at(t->rest_until);
		return;
	} else if (res && !store_ok(res)) {
		log_warnx("webhook: recording an outcome: %s", store_error(res));
	}
	target_claim(t);
}

static void
delivery_record(struct delivery *d)
{
	struct target *t = d->t;

	if (d->error[0] == '\0') {
		const char *params[] = { d->idstr, d->attempt };
		if (store_query(env.store, "SELECT pigeon_webhook_done($1, $2)", 2, params,
		    outcome_recorded, t) == 0)
			t->recording = 1;
	} else {
		const char *params[] = { d->idstr, d->error, WEBHOOK_MAX_BACKOFF_S,
		    WEBHOOK_MAX_AGE_S, d->attempt };
		log_info("webhook: delivery %s to %s failed: %s", d->idstr, d->url, d->error);
		if (store_query(env.store,
		    "SELECT pigeon_webhook_failed($1, $2, $3, $4, $5)", 5, params,
		    outcome_recorded, t) == 0)
			t->recording = 1;
	}
	/* When the database is down the lease gives the delivery back. */
}

/* The delivery is over (answered, failed or out of time): record it,
 * and the queue goes on. */
void
webhook_delivery_end(struct delivery *d)
{
	struct target *t = d->t;

	t->d = NULL;
	t->failing = d->error[0] != '\0';
	delivery_record(d);
	delivery_free(d);
	slot_release(t);
	if (!t->recording)
		target_claim(t);
}

static struct joblog claim_log = JOBLOG_INIT("webhook: claim");

static void
claimed(PGresult *res, void *arg)
{
	struct target *t = arg;
	struct delivery *d;

	t->claiming = 0;
	if (target_orphan_done(t))
		return;
	if (joblog_result(&claim_log, res) == -1) {
		slot_release(t);
		return;
	}
	if (PQntuples(res) == 0) {
		slot_release(t);
		if (t->again)
			target_claim(t);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->url = strdup(PQgetvalue(res, 0, 1))) == NULL) {
		free(d);
		slot_release(t);
		return;		/* the lease gives it back */
	}
	d->t = t;
	d->live = &t->d;
	snprintf(d->idstr, sizeof(d->idstr), "%s", PQgetvalue(res, 0, 0));
	snprintf(d->attempt, sizeof(d->attempt), "%s", PQgetvalue(res, 0, 2));
	/* Functions of before have no sixth column. */
	if (PQnfields(res) > 5 && !PQgetisnull(res, 0, 5))
		d->signed_at = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	webhook_post_start(d, PQgetisnull(res, 0, 3) ? "{}" : PQgetvalue(res, 0, 3),
	    PQnfields(res) > 4 && !PQgetisnull(res, 0, 4) ? PQgetvalue(res, 0, 4) : NULL,
	    dns);
}

/*
 * Claims the next due delivery of one queue, unless one is under way. A
 * receiver of clients' callbacks claims with a slot of [http]
 * dlr_connections, held until its delivery is over; with none free it
 * waits (its callbacks stay pending in the database): slots_fill claims
 * for it when one is.
 */
static void
target_claim(struct target *t)
{
	char lease[16];
	const char *params[] = { env.conf.hostname, "1", lease,
	    t->dlr ? t->url : t->urls };

	if (!targets_set || env.draining || (!t->dlr && t->urls == NULL))
		return;
	/* Resting after a failure: the tick (tick_at) claims after it.
	 * (While a configured URL's first delivery waits for its retry
	 * the claim finds nothing of it; it is still asked, on a NOTIFY:
	 * that delivery may have been cancelled, its post deleted, and
	 * the next is due.) */
	if (webhook_now_ms() < t->rest_until)
		return;
	if (t->claiming || t->recording || t->d != NULL) {
		t->again = 1;
		return;
	}
	if (t->dlr && !slot_free_for(t)) {
		t->waiting = 1;
		return;
	}
	t->again = 0;
	t->waiting = 0;
	/* The lease outlives the delivery's deadline. */
	snprintf(lease, sizeof(lease), "%d", env.conf.http_webhook_seconds + 60);
	if (t->dlr ? store_query(env.store,
	    "SELECT * FROM pigeon_webhook_claim_receiver($1, $2, $3, $4)",
	    4, params, claimed, t) : store_query(env.store,
	    "SELECT * FROM pigeon_webhook_claim_urls($1, $2, $3, $4::text[])",
	    4, params, claimed, t))
		return;
	t->claiming = 1;
	if (t->dlr) {
		t->slot = 1;
		slots_used++;
		t->slot_failing = t->failing;
		slots_failing += t->failing;
		t->turn = ++turns;
	}
}

/* Claims for every queue; receivers in the order they waited. */
static void
targets_claim(void)
{
	struct target *t;

	TAILQ_FOREACH(t, &targets, entry) {
		if (!t->dlr)
			target_claim(t);
		else if (t->claiming || t->recording || t->d != NULL)
			t->again = 1;
		else
			t->waiting = 1;
	}
	slots_fill();
}

/* A configured URL's queue (urls: {url}), or a receiver's (url: its key,
 * pigeon_url_receiver). */
static struct target *
target_add(const char *url, int dlr)
{
	struct target *t = calloc(1, sizeof(*t));
	struct strbuf b = { 0 };

	if (t == NULL || (t->url = strdup(url)) == NULL) {
		free(t);
		return NULL;
	}
	if (!dlr) {
		strbuf_add_element(&b, url);
		strbuf_add(&b, "}", 1);
		if (b.failed) {
			free(b.s);
			target_free(t);
			return NULL;
		}
		t->urls = b.s;
	}
	t->dlr = dlr;
	TAILQ_INSERT_TAIL(&targets, t, entry);
	return t;
}

/*
 * Issue 16: each receiver of clients' dlr_urls (scheme, host and port:
 * URLs that differ only in their path or query, a client's reference in
 * each, are one) with callbacks waiting gets a queue. Each had one, with a
 * connection of its own, and a client naming a receiver that never
 * answers with a new query string in each message ran pigeond out of
 * descriptors. The database groups them (pigeon_url_receiver, kept with
 * each callback): listed by one probe a receiver, a receiver's next
 * callback claimed by one index scan, however many wait behind one that
 * is down (pigeond listed every URL waiting, and claimed from all of
 * them: 160-190 ms a listing with 100,000 waiting, at every NOTIFY and
 * tick, on the connection the sends use). The queue of a receiver with
 * none waiting any more is closed.
 */
static void
dlr_receivers_listed(PGresult *res, void *arg)
{
	struct target *t, *next;

	listing = 0;
	if (res == NULL || !store_ok(res))
		return;
	TAILQ_FOREACH(t, &targets, entry)
		t->listed = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *key = PQgetvalue(res, i, 0);
		TAILQ_FOREACH(t, &targets, entry)
			if (t->dlr && strcmp(t->url, key) == 0)
				break;
		if (t == NULL && (t = target_add(key, 1)) != NULL)
			log_info("webhook: callbacks waiting for %s", key);
		if (t != NULL)
			t->listed = 1;
	}
	for (t = TAILQ_FIRST(&targets); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (!t->dlr || t->listed || t->claiming || t->recording || t->d != NULL)
			continue;
		log_info("webhook: no callbacks waiting for %s: its queue closed", t->url);
		TAILQ_REMOVE(&targets, t, entry);
		target_free(t);
	}
	if (dns == NULL && !TAILQ_EMPTY(&targets))
		dns = evdns_base_new(env.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (dns == NULL && !TAILQ_EMPTY(&targets))
		dns = evdns_base_new(env.base, 0);
	targets_claim();
}

static void
webhook_claim(void)
{
	if (targets_set && !listing && !env.draining && store_query(env.store,
	    "SELECT * FROM pigeon_webhook_dlr_receivers()", 0, NULL, dlr_receivers_listed,
	    NULL) == 0) {
		listing = 1;
		return;
	}
	targets_claim();
}

static void
next_due_done(PGresult *res, void *arg)
{
	if (stopped || res == NULL || !store_ok(res) || PQntuples(res) != 1 ||
	    PQgetisnull(res, 0, 0))
		return;
	/* Counted from the database's now(), which was before this. */
	long long due = webhook_now_ms() + atoll(PQgetvalue(res, 0, 0));
	if (due < ask_at)
		ask_at = due;
	tick_at(due);
}

/* Asks when the next delivery waiting for its time is due: one from
 * before a restart, or a retry another host left. Not at every tick (a
 * failing receiver's rests and retries come every second or so): at the
 * start, at the poll and when the time it gave comes. */
static void
next_due_ask(void)
{
	ask_at = webhook_now_ms() + WEBHOOK_POLL_S * 1000LL;
	if (targets_set && !env.draining)
		store_query(env.store, "SELECT pigeon_webhook_next_due()", 0, NULL,
		    next_due_done, NULL);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	long long now = webhook_now_ms();
	struct target *t;

	tick_when = 0;
	tick_at(now + WEBHOOK_POLL_S * 1000LL);
	TAILQ_FOREACH(t, &targets, entry) {
		if (t->retry_at > now)
			tick_at(t->retry_at);
		if (t->rest_until > now)
			tick_at(t->rest_until);
	}
	webhook_claim();
	if (now >= ask_at)
		next_due_ask();
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
	next_due_ask();
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
		if (target_add(u, 0) == NULL) {
			snprintf(err, errlen, "webhook: out of memory");
			goto fail;
		}
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
		/* Clients with send tokens check their callbacks with the
		 * key that signs them: with it they could sign posts to
		 * these URLs. */
		if (*env.conf.http_webhook_secret && !*env.conf.http_dlr_secret &&
		    *env.conf.http_tokens_file)
			log_warnx("webhook: clients' dlr_url callbacks are signed with "
			    "webhook_secret; set [http] dlr_secret unless only your own "
			    "systems hold send tokens");
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
	/* Also without configured URLs: dlr_url callbacks (issue 16). */
	tick_at(webhook_now_ms() + WEBHOOK_POLL_S * 1000LL);
}

/*
 * Whether the configured URLs are set in the database: until then a new
 * post gets no delivery (the trigger queues one for each target it finds),
 * so /healthz says "starting" (test_webhook posted in that moment of a
 * first start, and two of its three posts never went out).
 */
int
webhook_ready(void)
{
	return targets_set;
}

void
webhook_kick(void)
{
	webhook_claim();
}

void
webhook_free(void)
{
	struct target *t;

	/* Deliveries in flight keep their lease and are retried after it. */
	stopped = 1;
	while ((t = TAILQ_FIRST(&targets)) != NULL) {
		TAILQ_REMOVE(&targets, t, entry);
		if (t->d) {
			if (t->d->conn)
				evhttp_connection_free(t->d->conn);
			delivery_free(t->d);
			t->d = NULL;
		}
		if (t->claiming || t->recording)
			continue;	/* its query's callback frees it */
		target_free(t);
	}
	slots_used = slots_failing = 0;
	if (ev_tick)
		event_free(ev_tick);
	ev_tick = NULL;
	tick_when = 0;
	ask_at = 0;
	if (dns)
		evdns_base_free(dns, 0);
	dns = NULL;
	free(urls_array);
	urls_array = NULL;
	listing = 0;
}
