/*
 * httphead.c: the few facts httpguard.c needs from a request head before
 * evhttp reads the body (its length, whether it is chunked, the bearer
 * token), the query-string and path-argument parsing of the routes, and
 * what a client's address is counted as by the limits.
 * Pure functions on bytes, apart from the loop, so tests/fuzz/fuzz_http.c
 * can feed them anything.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httphead.h"

/* The value of header name on the line at p (ending at eol), or NULL. */
static const char *
header_value(const char *p, const char *eol, const char *name)
{
	size_t n = strlen(name);

	if ((size_t)(eol - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

int
http_head_parse(const char *head, size_t len, struct http_head *out)
{
	const char *p = head, *end = head + len, *eol;
	int first = 1;

	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			return -1;	/* the head is not complete */
		const char *e = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (e == p)
			return first ? -1 : 0;	/* the blank line: done */
		if (first) {
			first = 0;
			p = eol + 1;
			continue;	/* the request line */
		}
		const char *v;
		if ((v = header_value(p, e, "Content-Length")) != NULL) {
			long long n = 0;
			int digits = 0;
			for (; v < e && isdigit((unsigned char)*v); v++, digits++)
				n = n > (HTTP_HEAD_BIG / 10) ? HTTP_HEAD_BIG : n * 10 + (*v - '0');
			if (digits == 0)
				out->bad = 1;
			/* Two lengths: the larger one is what to fear. */
			if (n > out->content_length)
				out->content_length = n;
		} else if ((v = header_value(p, e, "Transfer-Encoding")) != NULL) {
			out->chunked = 1;	/* any coding: the length is unknown */
		} else if ((v = header_value(p, e, "Authorization")) != NULL) {
			if ((size_t)(e - v) > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
				v += 7;
				while (v < e && *v == ' ')
					v++;
				size_t n = (size_t)(e - v);
				if (n >= sizeof(out->bearer))
					n = sizeof(out->bearer) - 1;
				memcpy(out->bearer, v, n);
				out->bearer[n] = '\0';
				/* A NUL inside cuts the token: it cannot match then. */
			}
		}
		p = eol + 1;
	}
	return -1;
}

int
http_route_match(const char *pattern, const char *path, char **arg)
{
	*arg = NULL;
	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");
			if (n == 0)
				break;
			if (*arg == NULL && (*arg = strndup(path, n)) == NULL)
				break;
			pattern++;
			path += n;
		} else if (*pattern++ != *path++) {
			break;
		}
	}
	if (*pattern == '\0' && *path == '\0')
		return 1;
	free(*arg);
	*arg = NULL;
	return 0;
}

int
http_param_int(const char *v, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/*
 * The key of a client's budgets and connection count: an IPv4 address
 * as it is; an IPv6 one by its /64, the block a network gives one
 * subscriber or host (SLAAC, privacy addresses), so that a client cannot
 * take a new address, and a new budget, for each request; an IPv4
 * address mapped into IPv6 (a dual-stack listener) as the IPv4 address;
 * a link-local one (fe80::/10) as it is, since the whole link shares
 * its /64.
 */
void
http_client_key(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(out, len, "?");
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)) != NULL)
			snprintf(out, len, "%s", ip);
	} else if (sa->sa_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			if (inet_ntop(AF_INET, &a.s6_addr[12], ip, sizeof(ip)) != NULL)
				snprintf(out, len, "%s", ip);
			return;
		}
		/* Link-local addresses: every host of the link is in
		 * fe80::/64, each a client of its own. */
		if (IN6_IS_ADDR_LINKLOCAL(&a)) {
			if (inet_ntop(AF_INET6, &a, ip, sizeof(ip)) != NULL)
				snprintf(out, len, "%s", ip);
			return;
		}
		memset(&a.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &a, ip, sizeof(ip)) != NULL)
			snprintf(out, len, "%s/64", ip);
	}
}
