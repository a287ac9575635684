/*
 * ratelimit.c: per-modem send limits (`rate = 6/min 300/hour 2000/day`)
 * over sliding windows, so that no 60 s (3600 s, 86400 s) span ever holds
 * more sends than allowed. A ring keeps the times of the last K sends,
 * K the largest limit: a window is full when the limit-th most recent send
 * is inside it. Times are monotonic and are recorded when the worker says
 * the send is done, after the network took it, so that pigeond's windows
 * are never shorter than the ones a phone bill would show.
 */
#include <stdlib.h>
#include <time.h>

#include "pigeond.h"

#define RATE_MAX_RING	100000

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
	if (cap > RATE_MAX_RING)
		cap = RATE_MAX_RING;
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
	return !window_full(r, c->rate_min, 60000, now) &&
	    !window_full(r, c->rate_hour, 3600000, now) &&
	    !window_full(r, c->rate_day, 86400000, now);
}

void
ratelimit_record(struct ratelimit *r, int64_t now)
{
	if (r->cap == 0)
		return;
	r->at[r->head] = now;
	r->head = (r->head + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
}
