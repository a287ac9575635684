/* httpguard.c: connection caps, deadlines, early refusals and rate limits
 * of the HTTP listener (issue 14, item 9). Called by http.c only. */
#ifndef PIGEON_HTTPGUARD_H
#define PIGEON_HTTPGUARD_H

#include <stddef.h>

#include <event2/http.h>

/* After the listener is bound: takes over its accept errors and sees every
 * new connection. token_check says whether a bearer token is the right one. */
int	 httpguard_start(struct evhttp *, struct evhttp_bound_socket *,
	    int (*token_check)(const char *), char *err, size_t errlen);
/* A complete request goes to the router / its answer is about to be sent
 * (done may add Connection: close to it: the next request, pipelined,
 * is refused). */
void	 httpguard_request_start(struct evhttp_request *);
void	 httpguard_request_done(struct evhttp_request *);
/* 1 when the client address of req may make one more public request
 * (search: one more /api/search); 0 when over [http] public_rate/search_rate,
 * with *retry_s the seconds until it may (Retry-After). */
int	 httpguard_rate_allows(struct evhttp_request *, int search, int *retry_s);
/* Before evhttp_free / after it (connections evhttp never handed over). */
void	 httpguard_stop(void);
void	 httpguard_free(void);

#endif
