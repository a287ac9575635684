/* httphead.c: request-head and route parsing for http.c (pure; fuzzed). */
#ifndef PIGEON_HTTPHEAD_H
#define PIGEON_HTTPHEAD_H

#include <stddef.h>

#define HTTP_HEAD_BIG	(1LL << 40)	/* lengths are clamped here */

struct http_head {
	long long	 content_length;	/* the largest given; -1: none */
	int		 chunked;	/* a Transfer-Encoding: length unknown */
	int		 bad;		/* a Content-Length without digits */
	char		 bearer[256];	/* the Bearer token, "" when none */
};

/* Reads the headers of one request head (request line, headers, blank
 * line) in head[0..len); 0, or -1 when the head is not complete. */
int	 http_head_parse(const char *head, size_t len, struct http_head *);
/* Matches path against pattern ('*' = one segment); the first '*'
 * segment goes to *arg (malloc'd, NULL when none). 1 on a match. */
int	 http_route_match(const char *pattern, const char *path, char **arg);
/* A query parameter as an integer in [min, max]; 0, or -1 when not. */
int	 http_param_int(const char *v, long long min, long long max, long long *out);

#endif
