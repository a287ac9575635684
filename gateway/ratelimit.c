/*
 * ratelimit.c: per-modem send limits (`rate = 6/min 300/hour 2000/day`)
 * over sliding windows, so that no 60 s (3600 s, 86400 s) span ever holds
 * more sends than allowed. A ring keeps the times of the last K sends,
 * K the largest limit: a window is full when the limit-th most recent send
 * is inside it. Times are monotonic and are recorded when the worker says
 * the send is done, after the network took it, so that pigeond's windows
 * are never shorter than the ones a phone bill would show. A send counts
 * once per part: a 10-part message is 10 SMS to the carrier.
 *
 * The database keeps each link's parts per hour (70_retention.sql), so
 * that a restart does not start the windows from zero: ratedb.c loads
 * them when this host takes the link's lock, and ratelimit_restore puts
 * them back in the ring.
 */
#include <stdlib.h>
#include <time.h>

#include "pigeond.h"

int64_t
pigeon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ratelimit_init(struct ratelimit *r, const struct modem_conf *c)
{
	int cap = c->rate_min;

	if (c->rate_hour > cap)
		cap = c->rate_hour;
	if (c->rate_day > cap)
		cap = c->rate_day;
	if (cap > CONFIG_RATE_MAX)	/* conflink.c refuses more */
		cap = CONFIG_RATE_MAX;
	if (cap == r->cap)
		return 0;
	/* A new limit starts from what is known: keep the most recent sends. */
	int64_t *at = cap ? calloc(cap, sizeof(*at)) : NULL;
	if (cap && at == NULL)
		return -1;
	int keep = r->n < cap ? r->n : cap;
	for (int i = 0; i < keep; i++) {
		/* i-th most recent, stored oldest first */
		int src = (r->head - keep + i + r->cap) % r->cap;
		at[i] = r->at[src];
	}
	free(r->at);
	r->at = at;
	r->cap = cap;
	r->n = keep;
	r->head = cap ? keep % cap : 0;
	return 0;
}

void
ratelimit_free(struct ratelimit *r)
{
	free(r->at);
	r->at = NULL;
	r->cap = r->n = r->head = 0;
}

/* The time of the k-th most recent send (k >= 1), or -1 if fewer. */
static int64_t
nth_recent(const struct ratelimit *r, int k)
{
	if (k > r->n || k < 1)
		return -1;
	return r->at[(r->head - k + r->cap) % r->cap];
}

static int
window_full(const struct ratelimit *r, int limit, int64_t span_ms, int64_t now)
{
	int64_t t;

	if (limit <= 0)
		return 0;
	if (limit > r->cap)
		limit = r->cap;
	t = nth_recent(r, limit);
	return t != -1 && now - t < span_ms;
}

int
ratelimit_allows(const struct ratelimit *r, const struct modem_conf *c, int64_t now)
{
	/* Until the counts kept in the database are back, nothing goes. */
	if (r->loading)
		return 0;
	return !window_full(r, c->rate_min, 60000, now) &&
	    !window_full(r, c->rate_hour, 3600000, now) &&
	    !window_full(r, c->rate_day, 86400000, now);
}

void
ratelimit_record(struct ratelimit *r, int64_t now)
{
	ratelimit_record_parts(r, now, 1);
}

void
ratelimit_record_parts(struct ratelimit *r, int64_t now, int parts)
{
	if (r->cap == 0)
		return;
	if (parts < 1)
		parts = 1;
	if (parts > r->cap)
		parts = r->cap;
	for (int i = 0; i < parts; i++) {
		r->at[r->head] = now;
		r->head = (r->head + 1) % r->cap;
		if (r->n < r->cap)
			r->n++;
	}
}

/* Sends of the last day in the ring. */
static int
ratelimit_day(const struct ratelimit *r, int64_t now)
{
	int k = 0;

	while (k < r->n && now - nth_recent(r, k + 1) < 86400000)
		k++;
	return k;
}

int
ratelimit_restore(struct ratelimit *r, int64_t now, const int64_t *ago_ms,
    const int64_t *parts, int n)
{
	int64_t total = 0;

	for (int i = 0; i < n; i++)
		total += parts[i];
	/* What this pigeond saw itself is newer than the database's answer
	 * (an outcome not yet recorded) unless the database knows more. */
	if (r->cap == 0 || total <= ratelimit_day(r, now))
		return 0;
	r->n = r->head = 0;
	for (int i = 0; i < n; i++) {
		int64_t p = parts[i];
		/* Only the most recent cap sends matter to any window. */
		if (total - p >= r->cap) {
			total -= p;
			continue;
		}
		if (total > r->cap)
			p -= total - r->cap;
		total -= parts[i];
		ratelimit_record_parts(r, now - ago_ms[i], (int)(p > r->cap ? r->cap : p));
	}
	return 1;
}
