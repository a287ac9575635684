/* httphead.c: request-head and route parsing for http.c (pure; fuzzed). */
#ifndef PIGEON_HTTPHEAD_H
#define PIGEON_HTTPHEAD_H

#include <stddef.h>
#include <netinet/in.h>	/* INET6_ADDRSTRLEN */

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

/* What a client's address counts as for the rate limits and the
 * connections per address: an IPv4 address, or an IPv6 one's /64
 * ("2001:db8:1:2::/64"); "?" for another family. */
#define HTTP_CLIENT_KEY	(INET6_ADDRSTRLEN + 4)
struct sockaddr;
void	 http_client_key(const struct sockaddr *, char *out, size_t len);

#endif
