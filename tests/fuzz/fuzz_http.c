/*
 * libFuzzer target: the HTTP parsing that sees a client's bytes before any
 * handler: the request-head scan httpguard.c runs before evhttp reads a
 * body (gateway/httphead.c), the route patterns of http.c with the path
 * decoding evhttp does, the query string (evhttp_parse_query_str, as
 * http.c calls it) and the integer parameters of the api_*.c handlers.
 * The first byte picks what the rest is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* http.c's route patterns. */
static const char *const patterns[] = { "/healthz", "/", "/index.html",
	"/metrics", "/api/status", "/api/modems", "/api/modems/*/enable",
	"/api/modems/*/disable", "/api/modems/*/drain", "/api/messages",
	"/api/messages/*", "/api/users/*", "/api/users/*/posts",
	"/api/users/*/stats", "/api/search", "/api/posts", "/users/*" };

static void
fuzz_head(const char *s, size_t len)
{
	struct http_head h;

	if (http_head_parse(s, len, &h) == 0) {
		if (strlen(h.bearer) >= sizeof(h.bearer) || h.content_length > HTTP_HEAD_BIG ||
		    h.content_length < -1)
			abort();
	}
}

static void
fuzz_path(const char *s)
{
	char *decoded = evhttp_uridecode(s, 0, NULL);

	if (decoded == NULL)
		return;
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		char *arg = NULL;
		int m = http_route_match(patterns[i], decoded, &arg);
		if (!m && arg != NULL)
			abort();
		if (m && strchr(patterns[i], '*') && (arg == NULL || *arg == '\0' ||
		    strchr(arg, '/') != NULL))
			abort();
		free(arg);
	}
	free(decoded);
}

static void
fuzz_query(const char *s)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	long long n;

	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(s, &q) == 0) {
		TAILQ_FOREACH(kv, &q, next) {
			if (http_param_int(kv->value, 1, 500, &n) == 0 && (n < 1 || n > 500))
				abort();
			if (http_param_int(kv->value, -(1LL << 62), 1LL << 62, &n) == 0 &&
			    (n < -(1LL << 62) || n > (1LL << 62)))
				abort();
		}
	}
	evhttp_clear_headers(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		/* Exact length, no NUL after it: the scan must stay inside. */
		fuzz_head(s, size - 1);
		break;
	case 1:
		fuzz_path(s);
		break;
	default:
		fuzz_query(s);
		break;
	}
	free(s);
	return 0;
}
